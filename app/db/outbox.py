"""Notifications through a transactional outbox: a row is written in the transaction of the event that
causes it; workers deliver it (push, e-mail, SMS), retry with back-off and record every attempt."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class Channel(enum.StrEnum):
    PUSH = "push"
    EMAIL = "email"
    SMS = "sms"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until claimed_until; then claimable again
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last retry
    CANCELLED = "cancelled"  # e.g. a reminder of an appointment that was moved or cancelled


class NotificationKind(enum.StrEnum):
    NEW_MESSAGE = "new_message"
    APPOINTMENT_BOOKED = "appointment_booked"
    APPOINTMENT_CHANGED = "appointment_changed"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_REMINDER = "appointment_reminder"
    STAKEHOLDER = "stakeholder_message"
    GUIDANCE_ANSWER = "guidance_answer"  # the answer to a visitor's anonymous question (knowledge base)
    REFERRAL_ACKNOWLEDGEMENT = "referral_acknowledgement"  # to another authority that referred a person


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        # What workers scan: due rows by status and time.
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    # BIGINT on PostgreSQL; SQLite numbers rows only through INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, "notification_kind"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    address: Mapped[str | None] = mapped_column(String(500))  # e-mail or phone when not the client's own
    locale: Mapped[str] = mapped_column(String(10))
    # Ids and names of what the notification is about — rendered at delivery, never logged.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Reminders wait until their time; quiet hours move a row to the end of the quiet period.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    # Idempotency: the same event never makes two rows (e.g. "reminder:<appointment>:<client>:24h").
    dedupe_key: Mapped[str | None] = mapped_column(String(200))

    attempts_log: Mapped[list[OutboxAttempt]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="OutboxAttempt.id"
    )


class OutboxAttempt(Base):
    """One delivery attempt and its result; the detail names the error, never the content."""

    __tablename__ = "outbox_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("outbox_message.id", ondelete="CASCADE"),
        index=True,
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    worker: Mapped[str] = mapped_column(String(100))
    ok: Mapped[bool]
    detail: Mapped[str | None] = mapped_column(String(300))


class ContactPreference(Versioned, Base):
    """The client's channels and quiet hours (local time, Europe/Helsinki)."""

    __tablename__ = "contact_preference"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), primary_key=True
    )
    push: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=False)
    quiet_from: Mapped[time | None]
    quiet_until: Mapped[time | None]


class PushSubscription(UUIDPrimaryKey, Base):
    """A browser's Web Push subscription (the migrant app registers it)."""

    __tablename__ = "push_subscription"

    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_failure_at: Mapped[datetime | None]
