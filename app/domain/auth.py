"""Officer authentication: argon2id passwords, server-side sessions, sign-in rate limiting."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from zxcvbn import zxcvbn

from app.db.auth import Passkey, SignInFailure, StaffRecoveryCode, StaffSession, StaffTotp
from app.db.base import utcnow
from app.db.client_app import ClientSession
from app.db.organisation import Staff
from app.domain.policy import Actor
from app.i18n import gettext
from app.logs import security_event
from app.settings import Settings

SESSION_COOKIE = "kp_session"
# Don't write last_seen_at on every request; a minute's precision is enough for a 30-minute timeout.
TOUCH_INTERVAL = timedelta(seconds=60)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # what sign-in reads; long passphrases are welcome (ASVS 6.2.9)
# zxcvbn's score 3: "safely unguessable", about 10^8 guesses or more. It knows some 30,000 common
# passwords and words and looks at a prefix only (its own limit).
MIN_PASSWORD_SCORE = 3
_ESTIMATED_PREFIX = 72
SERVICE_WORDS = ("kotopolku",)


@cache
def hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hash_password(settings: Settings, password: str) -> str:
    return hasher(settings.argon2_time_cost, settings.argon2_memory_kib).hash(password)


def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists, so timing does not reveal accounts."""
    ph = hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
    try:
        return ph.verify(password_hash or _dummy_hash(settings), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash_for(time_cost: int, memory_kib: int) -> str:
    return hasher(time_cost, memory_kib).hash(secrets.token_urlsafe(16))


def _dummy_hash(settings: Settings) -> str:
    return _dummy_hash_for(settings.argon2_time_cost, settings.argon2_memory_kib)


def context_words(staff: Staff) -> list[str]:
    """Words a guesser knows about this person: their name, e-mail address and organisation."""
    return [staff.full_name, staff.email, staff.organisation.name if staff.organisation else ""]


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """Why a password someone chose is refused (translated), or None. Length limits only, no composition
    rules (ASVS 6.2.1, 6.2.5, 6.2.9); a common or guessable password is refused (6.2.4), and the
    person's own words (context) and the service's name count for nothing (6.2.11): they are taken out
    before the strength is estimated."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return gettext("Use at least %(count)d characters.") % {"count": MIN_PASSWORD_LENGTH}
    if len(password) > MAX_PASSWORD_LENGTH:
        return gettext("Use at most %(count)d characters.") % {"count": MAX_PASSWORD_LENGTH}
    words = {
        w for item in (*context, *SERVICE_WORDS) for w in re.split(r"\W+", item.casefold()) if len(w) >= 3
    }
    rest = password
    for word in sorted(words, key=len, reverse=True):
        rest = re.sub(re.escape(word), "", rest, flags=re.IGNORECASE)
    if (
        not rest.strip()
        or zxcvbn(rest[:_ESTIMATED_PREFIX], user_inputs=sorted(words))["score"] < MIN_PASSWORD_SCORE
    ):
        return gettext(
            "This password is too easy to guess: it is a common password, or made of your name, e-mail "
            "address or organisation. A phrase of four or more unrelated words is easy to remember."
        )
    return None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


PENDING_LIFETIME = timedelta(minutes=5)  # from a right password to the second step
PENDING = "pending-totp"  # the session's method while the second step is to come (any of them, not only TOTP)


@dataclass(frozen=True)
class SecondSteps:
    """What the person can give after the password: the app's code, a passkey, unused recovery codes."""

    app: bool
    passkey: bool
    recovery_codes: int

    @property
    def any(self) -> bool:
        return self.app or self.passkey or self.recovery_codes > 0

    @property
    def factor(self) -> bool:
        """An app or a passkey: what recovery codes are the back-up of."""
        return self.app or self.passkey


async def second_steps(db: AsyncSession, staff_id: uuid.UUID) -> SecondSteps:
    """Once a person has any of these, a password alone is never enough to sign in (ASVS 6.3.2)."""
    app = exists().where(StaffTotp.staff_id == staff_id, StaffTotp.confirmed_at.is_not(None))
    passkey = exists().where(Passkey.staff_id == staff_id)
    codes = (
        select(func.count())
        .where(StaffRecoveryCode.staff_id == staff_id, StaffRecoveryCode.used_at.is_(None))
        .scalar_subquery()
    )
    has_app, has_passkey, unused = (await db.execute(select(app, passkey, codes))).one()
    return SecondSteps(app=bool(has_app), passkey=bool(has_passkey), recovery_codes=int(unused))


async def start_session(db: AsyncSession, settings: Settings, staff: Staff, method: str) -> str:
    """A new random session; the caller replaces any cookie the browser had (no fixation). A session
    waiting for the second step lives only a few minutes."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = PENDING_LIFETIME if method == PENDING else timedelta(hours=settings.session_absolute_hours)
    db.add(
        StaffSession(
            token_hash=token_hash(token),
            staff_id=staff.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            method=method,
        )
    )
    await db.flush()
    return token


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    staff: Staff
    session: StaffSession


async def resume_session(db: AsyncSession, settings: Settings, token: str | None) -> SignedIn | None:
    """The session behind a cookie, if it is alive and its owner still active; roles read afresh."""
    if not token:
        return None
    row = (
        (
            await db.execute(
                select(StaffSession, Staff)
                .join(Staff, Staff.id == StaffSession.staff_id)
                .options(joinedload(Staff.roles))  # one query for session, person, organisation, roles
                .where(StaffSession.token_hash == token_hash(token))
            )
        )
        .unique()
        .first()
    )
    if row is None:
        return None
    session, staff = row
    now = utcnow()
    idle_limit = session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if not staff.active or now >= session.expires_at or now >= idle_limit:
        await db.delete(session)
        return None
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        session.last_seen_at = now
    actor = Actor(
        staff_id=staff.id,
        organisation_id=staff.organisation_id,
        organisation_type=staff.organisation.type,
        roles=staff.role_set,
        name=staff.full_name,
    )
    return SignedIn(actor=actor, staff=staff, session=session)


async def end_session(db: AsyncSession, token: str | None) -> None:
    if token:
        await db.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))


async def end_all_sessions(db: AsyncSession, staff_id: uuid.UUID) -> None:
    await db.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))


def session_ref(settings: Settings, session: StaffSession | ClientSession) -> str:
    """A session's name in pages and forms: keyed, so that not even the token's hash leaves the server."""
    return hmac.new(
        settings.secret_key.encode(), f"session:{session.token_hash}".encode(), hashlib.sha256
    ).hexdigest()[:32]


async def live_sessions(db: AsyncSession, settings: Settings, staff_id: uuid.UUID) -> Sequence[StaffSession]:
    """The person's sessions that can still be used (neither expired nor idle too long), the most recently
    used first (ASVS 7.5.2)."""
    now = utcnow()
    return (
        await db.scalars(
            select(StaffSession)
            .where(
                StaffSession.staff_id == staff_id,
                StaffSession.expires_at > now,
                StaffSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
            )
            .order_by(StaffSession.last_seen_at.desc(), StaffSession.created_at.desc())
        )
    ).all()


async def end_organisation_sessions(db: AsyncSession, organisation_id: uuid.UUID, keep: StaffSession) -> None:
    """Every session of the organisation's staff but `keep` (the administrator's own who asks)."""
    staff = select(Staff.id).where(Staff.organisation_id == organisation_id)
    await db.execute(
        delete(StaffSession).where(
            StaffSession.staff_id.in_(staff), StaffSession.token_hash != keep.token_hash
        )
    )


async def end_sessions(
    db: AsyncSession, settings: Settings, staff_id: uuid.UUID, keep: StaffSession, refs: Iterable[str] | None
) -> int:
    """End the person's sessions named by refs (None: all), never `keep` (the one asking). How many ended."""
    wanted = None if refs is None else set(refs)
    ended = [
        s.token_hash
        for s in await live_sessions(db, settings, staff_id)
        if s.token_hash != keep.token_hash and (wanted is None or session_ref(settings, s) in wanted)
    ]
    if ended:
        await db.execute(delete(StaffSession).where(StaffSession.token_hash.in_(ended)))
    return len(ended)


# --- rate limiting --------------------------------------------------------------------------------


def limiter_keys(
    settings: Settings, account: str | None, address: str | None
) -> tuple[str | None, str | None]:
    """Keyed hashes, so the failure table holds neither account names nor addresses."""

    def key(kind: str, value: str) -> str:
        return hmac.new(settings.secret_key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    return (
        key("account", account.strip().casefold()) if account else None,
        key("address", address) if address else None,
    )


async def retry_after(
    db: AsyncSession, settings: Settings, account_key: str | None, address_key: str | None
) -> int:
    """Seconds until another attempt is allowed; 0 when it is allowed now."""
    window = timedelta(minutes=settings.sign_in_window_minutes)
    since = utcnow() - window
    wait = 0
    for key, limit in (
        (account_key, settings.sign_in_max_failures_per_account),
        (address_key, settings.sign_in_max_failures_per_address),
    ):
        if key is None:
            continue
        count, oldest = (
            await db.execute(
                select(func.count(), func.min(SignInFailure.at)).where(
                    SignInFailure.key == key, SignInFailure.at > since
                )
            )
        ).one()
        if count >= limit and oldest is not None:
            wait = max(wait, int((oldest + window - utcnow()).total_seconds()) + 1)
    if wait:  # every caller refuses the attempt with 429 (anti-automation, ASVS 16.3.3)
        security_event(f"attempt refused by the failure limit for {wait} s")
    return wait


async def record_failure(
    db: AsyncSession, settings: Settings, account_key: str | None, address_key: str | None
) -> None:
    now = utcnow()
    for key in (account_key, address_key):
        if key:
            db.add(SignInFailure(key=key, at=now))
    # Old rows are useless; trim them here rather than in a separate job.
    await db.execute(
        delete(SignInFailure).where(
            SignInFailure.at < now - timedelta(minutes=settings.sign_in_window_minutes)
        )
    )


async def clear_failures(db: AsyncSession, account_key: str | None) -> None:
    if account_key:
        await db.execute(delete(SignInFailure).where(SignInFailure.key == account_key))


async def deactivate(db: AsyncSession, staff: Staff) -> None:
    staff.active = False
    staff.deactivated_at = utcnow()
    await end_all_sessions(db, staff.id)
