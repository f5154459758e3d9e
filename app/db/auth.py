"""Server-side sessions, passkeys, WebAuthn challenges and the sign-in failure counter."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, utcnow


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # How the session was started: "passkey", "password" (a person with no second factor), "password+totp",
    # "password+passkey" or "password+recovery" (the second step, or a first factor set up in a password
    # session), or "pending-totp" (the password is right, the second step not yet taken: any of them).
    method: Mapped[str] = mapped_column(String(20))


class StaffTotp(Base):
    """An officer's authenticator app (RFC 6238): the second step after the password."""

    __tablename__ = "staff_totp"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(300))  # the base32 secret, encrypted (app.domain.totp)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]  # set when the first code from the app is accepted
    last_step: Mapped[int | None]  # the time step of the last accepted code: each code works once


class StaffRecoveryCode(UUIDPrimaryKey, Base):
    """One of an officer's single-use recovery codes (app.domain.recovery_codes): only its argon2id hash."""

    __tablename__ = "staff_recovery_code"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))  # argon2id with a random salt, as passwords
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]  # set once, atomically, when the code is used to sign in


class Passkey(UUIDPrimaryKey, Base):
    __tablename__ = "passkey"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class WebAuthnChallenge(Base):
    """A challenge is used once: verifying deletes it, and it expires after a few minutes."""

    __tablename__ = "webauthn_challenge"

    challenge: Mapped[str] = mapped_column(String(128), primary_key=True)  # base64url
    purpose: Mapped[str] = mapped_column(String(20))  # "register", "sign_in" or "second_step"
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SignInFailure(Base):
    """Failed sign-ins by keyed hash of the account name or the address, for rate limiting."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
