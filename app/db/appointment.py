"""Appointments and tasks (service 9), officers' calendar feeds, interpretation events (service 15)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class AppointmentPurpose(enum.StrEnum):
    ASSESSMENT = "assessment_meeting"
    PLAN = "plan_meeting"
    REVIEW = "review_meeting"
    GUIDANCE = "guidance_meeting"
    OTHER = "other_meeting"


class InterpretationMode(enum.StrEnum):
    ON_SITE = "on_site"
    PHONE = "phone"
    VIDEO = "video"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class ClientResponse(enum.StrEnum):
    """What the client answered in the migrant app."""

    NONE = "no_response"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled_by_client"
    NEW_TIME = "new_time_requested"


class Appointment(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_appointment_organisation_id_starts_at", "organisation_id", "starts_at"),
        Index("ix_appointment_interpreter_id_starts_at", "interpreter_id", "starts_at"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    purpose: Mapped[AppointmentPurpose] = mapped_column(
        enum_column(AppointmentPurpose, "appointment_purpose")
    )
    title: Mapped[str | None] = mapped_column(String(200))  # e.g. an info session's name
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    street_address: Mapped[str | None] = mapped_column(String(200))
    room: Mapped[str | None] = mapped_column(String(100))
    remote_link: Mapped[str | None] = mapped_column(String(500))
    what_to_bring: Mapped[str | None] = mapped_column(Text)
    # Interpretation: the need, and who booked the interpreter when.
    interpreter_language: Mapped[str | None] = mapped_column(String(12))
    interpreter_mode: Mapped[InterpretationMode | None] = mapped_column(
        enum_column(InterpretationMode, "interpretation_mode")
    )
    interpreter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    interpreter_name: Mapped[str | None] = mapped_column(String(200))  # an interpreter outside the system
    interpreter_booked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    interpreter_booked_at: Mapped[datetime | None]
    # §32a: a no-show fee only if announced when booking.
    no_show_fee_announced_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    client_told_of_cancellation: Mapped[bool] = mapped_column(default=False)

    clients: Mapped[list[AppointmentClient]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="AppointmentClient.id"
    )
    staff: Mapped[list[AppointmentStaff]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="AppointmentStaff.id"
    )


class AppointmentClient(Base):
    __tablename__ = "appointment_client"
    __table_args__ = (UniqueConstraint("appointment_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    response: Mapped[ClientResponse] = mapped_column(
        enum_column(ClientResponse, "client_response"), default=ClientResponse.NONE
    )
    responded_at: Mapped[datetime | None]
    response_note: Mapped[str | None] = mapped_column(Text)  # e.g. the times that suit, for a new time
    seen_by_staff_at: Mapped[datetime | None]  # the officer has seen the client's response


class AppointmentStaff(Base):
    __tablename__ = "appointment_staff"
    __table_args__ = (UniqueConstraint("appointment_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)


class Task(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "task"
    __table_args__ = (Index("ix_task_assignee_id_done_at_due_on", "assignee_id", "done_at", "due_on"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date | None]
    assignee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    done_at: Mapped[datetime | None]


class CalendarFeed(UUIDPrimaryKey, Base):
    """An officer's private iCalendar feed: the URL carries a random token; only its hash is stored."""

    __tablename__ = "calendar_feed"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class InterpretationEvent(UUIDPrimaryKey, Versioned, Base):
    """Service 15: an interpretation that took place (for follow-up, costs and compensation)."""

    __tablename__ = "interpretation_event"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(12))
    mode: Mapped[InterpretationMode] = mapped_column(enum_column(InterpretationMode, "interpretation_mode"))
    interpreter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    interpreter_name: Mapped[str | None] = mapped_column(String(200))
    occurred_on: Mapped[date]
    duration_minutes: Mapped[int]
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
