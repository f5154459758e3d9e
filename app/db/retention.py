"""Archiving and retention (service 17, §77): holds, daily job runs and anonymised statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow


class RetentionHold(UUIDPrimaryKey, Versioned, Base):
    """A pending matter (an appeal, a claim, a request for information) that keeps an ended client's
    data past the four years until it is released."""

    __tablename__ = "retention_hold"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(400))
    placed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    released_at: Mapped[datetime | None]


class JobRun(Base):
    """Daily jobs (retention, reminders, claim deadlines): whichever worker claims the row for today
    with a conditional UPDATE runs the job, so several workers run it once."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_run_on: Mapped[date | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(400))  # counts only, never personal data


class AnonymisedClient(Base):
    """What statistics keep of a client whose data was deleted: nothing that identifies the person."""

    __tablename__ = "anonymised_client"
    __table_args__ = (
        Index("ix_anonymised_client_organisation_id_ended_month", "organisation_id", "ended_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    segment: Mapped[int] = mapped_column(SmallInteger)
    known_month: Mapped[date]  # first day of the month
    ended_month: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
    age_group: Mapped[str | None] = mapped_column(String(10))  # at the end, e.g. "18-29"
    mother_tongue: Mapped[str | None] = mapped_column(String(12))
    had_assessment: Mapped[bool] = mapped_column(default=False)
    had_plan: Mapped[bool] = mapped_column(default=False)
    anonymised_at: Mapped[datetime] = mapped_column(default=utcnow)
