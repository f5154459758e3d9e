"""The migrant app's own records: invitations, client passkeys and sessions, feedback, translations of
officer-written plan text."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TextOrigin, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class ClientInvitation(UUIDPrimaryKey, Base):
    """An officer's invitation to the migrant app: a QR code (long secret) and a short code read aloud.

    Only hashes of the secrets are stored (app/domain/invitations.py). Single use, expires after 7 days,
    revocable."""

    __tablename__ = "client_invitation"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the QR code's link
    # The short code, e.g. "K7M-43Q-9TX": a keyed hash of its first group to find it by, and argon2id of the
    # whole code. Both are empty on invitations made before the code was stored so (their QR links work).
    short_code_lookup: Mapped[str | None] = mapped_column(String(64), index=True)
    short_code_hash: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


class ClientPasskey(UUIDPrimaryKey, Base):
    __tablename__ = "client_passkey"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class ClientSession(Base):
    """A client's signed-in phone. Like StaffSession: only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "client_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # What the session list calls the phone ("Android", "iPhone"): from the browser's description, no versions.
    device: Mapped[str | None] = mapped_column(String(40))
    # When the client last confirmed with a passkey in this session: changing passkeys or ending other
    # sessions needs a recent one (ASVS 7.5.1, 7.5.2).
    confirmed_at: Mapped[datetime | None]


class ClientWebAuthnChallenge(Base):
    """Single-use challenges of the migrant app. For plan approval the challenge is
    SHA-256(plan version content hash ‖ random nonce), so the signature binds that exact version."""

    __tablename__ = "client_webauthn_challenge"

    challenge: Mapped[str] = mapped_column(String(128), primary_key=True)  # base64url
    purpose: Mapped[str] = mapped_column(String(20))  # "enrol", "register", "sign_in", "approve_plan"
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client_invitation.id", ondelete="CASCADE")
    )
    plan_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plan_version.id", ondelete="CASCADE")
    )
    nonce: Mapped[str | None] = mapped_column(String(64))  # hex; approve_plan only
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FeedbackSubject(enum.StrEnum):
    APPOINTMENT = "appointment"
    SERVICE = "service"
    APP = "app"


class Feedback(UUIDPrimaryKey, Base):
    """A rating (1–5) and an optional comment. Anonymous feedback keeps no link to the client or to the
    exact appointment — only the organisation and what kind of thing it was about."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_organisation_id_created_at", "organisation_id", "created_at"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[FeedbackSubject] = mapped_column(enum_column(FeedbackSubject, "feedback_subject"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL")
    )
    plan_service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plan_service.id", ondelete="SET NULL")
    )
    about: Mapped[str | None] = mapped_column(
        String(40)
    )  # appointment purpose or service type, kept when anonymous
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The survey whose questions were answered (feedback_answer rows); None: the plain rating form.
    survey_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("survey.id", ondelete="SET NULL"), index=True
    )


class PlanTextTranslation(UUIDPrimaryKey, Versioned, Base):
    """A translation of officer-written plan text (a goal, the guidance, the language studies) for the
    client. source_hash is the content hash of the text it was made from: an older one is stale."""

    __tablename__ = "plan_text_translation"
    __table_args__ = (UniqueConstraint("plan_id", "source_key", "language"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integration_plan.id", ondelete="CASCADE"))
    # "goal:<PlanGoal.id>", "guidance", "language_studies", "duties_note" or "service:<PlanService.id>"
    source_key: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    origin: Mapped[TextOrigin] = mapped_column(enum_column(TextOrigin, "text_origin"))
    source_hash: Mapped[str] = mapped_column(String(64))
    translated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    translated_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    checked_at: Mapped[datetime | None]
