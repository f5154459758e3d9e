"""Invitations to the migrant app (service 14): how a client's phone gets its first passkey.

An officer creates an invitation on the client's page. It carries two secrets:

- a long token (32 random bytes, base64url) in the QR code's link `<public_url>/me/join/<token>`;
- a short code of three groups of three characters ("K7M-43Q-9TX") that can be read aloud over the
  phone. Its alphabet leaves out characters that look or sound alike (0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V).

Only hashes are stored. The token has 256 bits: SHA-256 is enough. The short code has about 41 bits, so
it is stored like a password (ASVS 6.5.2): argon2id with a random salt. To find its invitation without
trying every open one, the code's first group is also stored as HMAC-SHA-256 keyed with SECRET_KEY (the
lookup): a typed code is checked only against the few open invitations whose first group matches, and a
copy of the database without SECRET_KEY does not even tell which first groups are in use.
An invitation is single use, expires after INVITATION_LIFETIME and can be revoked; a new invitation
revokes the client's older unused ones. Every change is audit-logged with field names only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import segno
from markupsafe import Markup
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.client import Client, ClientStatus
from app.db.client_app import ClientInvitation, ClientPasskey, ClientWebAuthnChallenge
from app.domain import audit, auth, client_auth
from app.domain.audit import Action
from app.domain.auth import token_hash
from app.domain.policy import Actor
from app.settings import Settings

INVITATION_LIFETIME = timedelta(days=7)
CODE_ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
CODE_GROUPS = 3
CODE_GROUP_LENGTH = 3
CODE_LENGTH = CODE_GROUPS * CODE_GROUP_LENGTH
JOIN_PATH = "/me/join/"
# At most this many open invitations that share a first group (23³ = 12 167 groups) are checked against a
# typed code: a guard on argon2 work, far above what random codes put in one group (with ten thousand open
# invitations, the fullest group holds six or seven).
MAX_CANDIDATES = 32


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation and its secrets: shown once, never stored, never logged."""

    invitation: ClientInvitation
    token: str
    short_code: str  # formatted, e.g. "K7M-43Q-9TX"
    url: str  # the QR code's link


def new_short_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + CODE_GROUP_LENGTH] for i in range(0, len(raw), CODE_GROUP_LENGTH))


def normalise_code(value: str | None) -> str | None:
    """What the client typed, case-insensitively and without spaces or dashes; None when it cannot be a
    code at all (the caller answers the same as for a wrong code)."""
    cleaned = re.sub(r"[\s\-‐-―−_.]+", "", str(value or "")).upper()
    if len(cleaned) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in cleaned):
        return None
    return cleaned


def code_lookup(settings: Settings, code: str) -> str:
    """Keyed hash of a normalised short code's first group: where to look, not a proof of the code."""
    first_group = code[:CODE_GROUP_LENGTH]
    return hmac.new(
        settings.secret_key.encode(), f"invitation-lookup:{first_group}".encode(), hashlib.sha256
    ).hexdigest()


def join_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}{JOIN_PATH}{token}"


def qr_svg(url: str) -> Markup:
    """The QR code as inline SVG (no style attributes, so the Content-Security-Policy allows it)."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=6, border=4, dark="#000", light="#fff", title="", svgclass="qr")
    svg = svg.replace("<svg ", '<svg role="img" aria-hidden="true" focusable="false" ', 1)
    return Markup(svg)  # noqa: S704 - segno's own markup of a QR matrix, no text of ours  # nosec B704


def usable(invitation: ClientInvitation, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return invitation.used_at is None and invitation.revoked_at is None and invitation.expires_at > now


def state_of(invitation: ClientInvitation, now: datetime | None = None) -> str:
    """For the officer's list: used, revoked, expired or open."""
    now = now or utcnow()
    if invitation.used_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "open"


async def _revoke_open(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> list[uuid.UUID]:
    now = utcnow()
    revoked = (
        await db.scalars(
            update(ClientInvitation)
            .where(
                ClientInvitation.client_id == client_id,
                ClientInvitation.used_at.is_(None),
                ClientInvitation.revoked_at.is_(None),
                ClientInvitation.expires_at > now,
            )
            .values(revoked_at=now, revoked_by_id=actor.staff_id)
            .returning(ClientInvitation.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    return list(revoked)


async def create(db: AsyncSession, settings: Settings, actor: Actor, client: Client) -> IssuedInvitation:
    """A new invitation for the client; the older unused ones stop working."""
    for old_id in await _revoke_open(db, actor, client.id):
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=client.id,
            object_type="client_invitation",
            object_id=old_id,
            fields=["revoked_at", "revoked_by_id"],
        )
    token = secrets.token_urlsafe(32)
    short_code = new_short_code()
    code = normalise_code(short_code) or ""
    now = utcnow()
    invitation = ClientInvitation(
        client_id=client.id,
        token_hash=token_hash(token),
        short_code_lookup=code_lookup(settings, code),
        short_code_hash=await anyio.to_thread.run_sync(auth.hash_password, settings, code),  # argon2: slow
        created_by_id=actor.staff_id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.add(invitation)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="client_invitation",
        object_id=invitation.id,
        fields=["token_hash", "short_code_lookup", "short_code_hash", "expires_at"],
    )
    return IssuedInvitation(invitation, token, short_code, join_url(settings, token))


async def revoke(db: AsyncSession, actor: Actor, client: Client, invitation_id: uuid.UUID) -> bool:
    """Revoke one of the client's invitations; False when it is not theirs or no longer open."""
    invitation = await db.scalar(
        select(ClientInvitation).where(
            ClientInvitation.id == invitation_id, ClientInvitation.client_id == client.id
        )
    )
    if invitation is None:
        return False
    if invitation.used_at is not None or invitation.revoked_at is not None:
        return True  # nothing to do; the list shows its state
    invitation.revoked_at = utcnow()
    invitation.revoked_by_id = actor.staff_id
    await db.flush()
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="client_invitation",
        object_id=invitation.id,
        fields=["revoked_at", "revoked_by_id"],
    )
    return True


async def for_client(db: AsyncSession, client: Client, limit: int = 20) -> list[ClientInvitation]:
    return list(
        (
            await db.scalars(
                select(ClientInvitation)
                .where(ClientInvitation.client_id == client.id)
                .order_by(ClientInvitation.created_at.desc())
                .limit(limit)
            )
        ).all()
    )


async def revoke_all_passkeys(db: AsyncSession, actor: Actor, client: Client) -> int:
    """The recovery path (a lost or stolen phone): every passkey removed, every phone signed out.
    The officer then issues a new invitation. Returns how many passkeys were removed."""
    removed = list(
        (
            await db.scalars(
                delete(ClientPasskey)
                .where(ClientPasskey.client_id == client.id)
                .returning(ClientPasskey.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
    )
    await db.execute(delete(ClientWebAuthnChallenge).where(ClientWebAuthnChallenge.client_id == client.id))
    await client_auth.end_all_sessions(db, client.id)
    await audit.record(
        db,
        Action.PASSKEY_REMOVED,
        actor=actor,
        client_id=client.id,
        object_type="client_passkey",
        object_id=None,
        fields=["client_passkey", "client_session"],
    )
    return len(removed)


# --- the client's side: finding an invitation by one of its secrets ---------------------------------


async def _usable_client(db: AsyncSession, invitation: ClientInvitation | None) -> ClientInvitation | None:
    if invitation is None or not usable(invitation):
        return None
    status = await db.scalar(select(Client.status).where(Client.id == invitation.client_id))
    if status != ClientStatus.ACTIVE:
        return None
    return invitation


async def by_token(db: AsyncSession, token: str | None) -> ClientInvitation | None:
    """The open invitation behind a QR link, or None (unknown, used, revoked, expired: all the same)."""
    if not token or len(token) > 200:
        return None
    invitation = await db.scalar(
        select(ClientInvitation).where(ClientInvitation.token_hash == token_hash(token))
    )
    return await _usable_client(db, invitation)


async def by_code(db: AsyncSession, settings: Settings, value: str | None) -> ClientInvitation | None:
    """The open invitation behind a typed short code, or None."""
    code = normalise_code(value)
    if code is None:
        return None
    now = utcnow()
    candidates = (
        await db.scalars(
            select(ClientInvitation)
            .where(
                ClientInvitation.short_code_lookup == code_lookup(settings, code),
                ClientInvitation.used_at.is_(None),
                ClientInvitation.revoked_at.is_(None),
                ClientInvitation.expires_at > now,
            )
            .order_by(ClientInvitation.created_at.desc())
            .limit(MAX_CANDIDATES)
        )
    ).all()

    def match() -> ClientInvitation | None:
        if not candidates:  # the same argon2 work as a wrong code, so timing does not tell a group in use
            auth.verify_password(settings, None, code)
        return next((c for c in candidates if auth.verify_password(settings, c.short_code_hash, code)), None)

    return await _usable_client(db, await anyio.to_thread.run_sync(match))


async def by_id(db: AsyncSession, invitation_id: uuid.UUID) -> ClientInvitation | None:
    return await _usable_client(db, await db.get(ClientInvitation, invitation_id))


async def mark_used(db: AsyncSession, invitation_id: uuid.UUID) -> bool:
    """Claim the invitation for an enrolment: exactly one concurrent claim wins."""
    now = utcnow()
    claimed = await db.scalar(
        update(ClientInvitation)
        .where(
            ClientInvitation.id == invitation_id,
            ClientInvitation.used_at.is_(None),
            ClientInvitation.revoked_at.is_(None),
            ClientInvitation.expires_at > now,
        )
        .values(used_at=now)
        .returning(ClientInvitation.id)
        .execution_options(synchronize_session=False)
    )
    return claimed is not None


# --- the enrolment cookie: the invitation between the QR link and the passkey ------------------------

ENROL_COOKIE = "kp_enrol"
ENROL_LIFETIME = timedelta(minutes=30)


def enrol_ticket(settings: Settings, invitation_id: uuid.UUID) -> str:
    """A short-lived, MAC-protected reference to the invitation, so the token leaves the address bar."""
    until = int((utcnow() + ENROL_LIFETIME).timestamp())
    body = f"{invitation_id.hex}.{until}"
    mac = hmac.new(settings.secret_key.encode(), f"enrol:{body}".encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def read_enrol_ticket(settings: Settings, value: str | None) -> uuid.UUID | None:
    try:
        invitation_hex, until, mac = str(value or "").split(".")
        body = f"{invitation_hex}.{until}"
        expected = hmac.new(
            settings.secret_key.encode(), f"enrol:{body}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(mac, expected) or int(until) < utcnow().timestamp():
            return None
        return uuid.UUID(hex=invitation_hex)
    except ValueError:
        return None
