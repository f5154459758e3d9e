"""Officers' authenticator apps (TOTP, RFC 6238) as the second factor after the password (ASVS 6.3.2).

The secret is stored encrypted with a key derived from SECRET_KEY (a database copy alone gives no codes),
shown once while the officer sets the app up, and confirmed by a first code. A code is accepted for the
time step before and after the current one (clock drift) and only once: the last accepted step is kept
(ASVS 6.5.1)."""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from functools import cache

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.auth import StaffTotp
from app.db.base import utcnow
from app.db.organisation import Staff
from app.settings import Settings

ISSUER = "Kotopolku"
STEP_SECONDS = 30
DIGITS = 6


@cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kotopolku staff totp").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _secret_of(settings: Settings, row: StaffTotp) -> str | None:
    try:
        return _fernet(settings.secret_key).decrypt(row.secret.encode()).decode()
    except InvalidToken:  # SECRET_KEY changed: the app must be set up again
        return None


async def _row(db: AsyncSession, staff_id: uuid.UUID) -> StaffTotp | None:
    return await db.get(StaffTotp, staff_id)


async def in_use(db: AsyncSession, staff_id: uuid.UUID) -> StaffTotp | None:
    """The person's confirmed authenticator app, if any."""
    row = await _row(db, staff_id)
    return row if row is not None and row.confirmed_at is not None else None


async def start(db: AsyncSession, settings: Settings, staff: Staff) -> tuple[str, str]:
    """A new secret for the person's app, not yet in use (replacing one not confirmed): the secret in base32
    (for typing) and the otpauth:// URI (for the QR code). A confirmed app stays until it is removed."""
    secret = pyotp.random_base32()
    row = await _row(db, staff.id)
    if row is None:
        row = StaffTotp(staff_id=staff.id)
        db.add(row)
    row.secret = _fernet(settings.secret_key).encrypt(secret.encode()).decode()
    row.created_at = utcnow()
    row.confirmed_at = None
    row.last_step = None
    await db.flush()
    return secret, _uri(secret, staff)


async def setup_in_progress(db: AsyncSession, settings: Settings, staff: Staff) -> tuple[str, str] | None:
    """The secret and URI of an app being set up (started, not yet confirmed), to show again."""
    row = await _row(db, staff.id)
    if row is None or row.confirmed_at is not None or (secret := _secret_of(settings, row)) is None:
        return None
    return secret, _uri(secret, staff)


def _uri(secret: str, staff: Staff) -> str:
    """otpauth:// for the QR code: the issuer and the person's e-mail address name the entry in the app."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=staff.email, issuer_name=ISSUER
    )


def normalise(code: str) -> str:
    """What people type: spaces and dashes (as apps show "123 456") left out."""
    return "".join(ch for ch in code if ch.isdigit())[: DIGITS + 1]


async def verify(
    db: AsyncSession, settings: Settings, staff_id: uuid.UUID, code: str, *, confirming: bool = False
) -> bool:
    """Whether the code is right for the person's app (the one being set up when confirming), now, and not
    used before; an accepted code's step is kept so that it cannot be used again."""
    row = await _row(db, staff_id)
    if row is None or (row.confirmed_at is None) != confirming:
        return False
    secret = _secret_of(settings, row)
    code = normalise(code)
    if secret is None or len(code) != DIGITS:
        return False
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now_step = int(time.time()) // STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if row.last_step is not None and step <= row.last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            row.last_step = step
            if confirming:
                row.confirmed_at = utcnow()
            await db.flush()
            return True
    return False


async def remove(db: AsyncSession, staff_id: uuid.UUID) -> bool:
    result = await db.execute(delete(StaffTotp).where(StaffTotp.staff_id == staff_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
