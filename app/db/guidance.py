"""Initial guidance (process 3.4.6) and guidance and counselling visits (service 4, process 3.4.7)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class GuidancePlanStatus(enum.StrEnum):
    ACTIVE = "guidance_active"
    ENDED = "guidance_ended"


class GuidancePlanEndReason(enum.StrEnum):
    NO_LONGER_NEEDED = "no_longer_needed"
    INTEGRATION_PLAN_ENDED = "integration_plan_ended"
    CLIENT_ENDED = "client_ended"


class GuidancePlan(UUIDPrimaryKey, Versioned, Base):
    """Initial guidance for a client and the family members named in it (family links)."""

    __tablename__ = "guidance_plan"
    __table_args__ = (Index("ix_guidance_plan_client_id_status", "client_id", "status"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    status: Mapped[GuidancePlanStatus] = mapped_column(
        enum_column(GuidancePlanStatus, "guidance_plan_status"), default=GuidancePlanStatus.ACTIVE
    )
    includes_family: Mapped[bool] = mapped_column(default=False)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    end_reason: Mapped[GuidancePlanEndReason | None] = mapped_column(
        enum_column(GuidancePlanEndReason, "guidance_plan_end_reason")
    )
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class GuidanceTaskKind(enum.StrEnum):
    HEALTH_CHECK_REFERRAL = "health_check_referral"
    INFO_SESSION = "info_session"
    HOUSING_GUIDANCE = "housing_guidance"
    AUTHORITY_HELP = "authority_help"  # day-care or school applications, Kela, DVV, bank …
    OTHER = "other"


class GuidanceTask(UUIDPrimaryKey, Versioned, Base):
    """A task of the plan. Recurring tasks taper off: every `every_days` days until `taper_on`, then every
    `taper_every_days` days (or not at all when that is empty) until done."""

    __tablename__ = "guidance_task"
    __table_args__ = (
        CheckConstraint("every_days IS NULL OR every_days > 0", name="every_days_positive"),
        CheckConstraint("taper_every_days IS NULL OR taper_every_days > 0", name="taper_every_days_positive"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("guidance_plan.id", ondelete="CASCADE"), index=True)
    kind: Mapped[GuidanceTaskKind] = mapped_column(enum_column(GuidanceTaskKind, "guidance_task_kind"))
    description: Mapped[str] = mapped_column(Text)
    # The family member the task is for (None: the client of the plan).
    for_client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    first_due_on: Mapped[date]
    every_days: Mapped[int | None] = mapped_column(SmallInteger)  # None: once
    taper_on: Mapped[date | None]
    taper_every_days: Mapped[int | None] = mapped_column(SmallInteger)
    last_done_on: Mapped[date | None]
    completed_on: Mapped[date | None]  # no longer needed


class GuidanceTopic(UUIDPrimaryKey, Versioned, Base):
    """The managed list of visit topics (per organisation); retired topics stay for old visits."""

    __tablename__ = "guidance_topic"
    __table_args__ = (UniqueConstraint("organisation_id", "name_fi"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    name_fi: Mapped[str] = mapped_column(String(120))
    name_sv: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)


class VisitChannel(enum.StrEnum):
    WALK_IN = "walk_in"
    PHONE = "phone"
    CHAT = "chat"
    EMAIL = "email"


class VisitReferral(enum.StrEnum):
    """Where the visitor was referred."""

    KELA = "to_kela"
    EMPLOYMENT_SERVICES = "to_employment_services"
    WELLBEING_COUNTY = "to_wellbeing_county"
    POPULATION_REGISTER = "to_population_register"  # DVV
    IMMIGRATION_SERVICE = "to_immigration_service"  # Migri
    EDUCATION = "to_education"  # day care, school, language courses
    HOUSING = "to_housing"
    ORGANISATION = "to_organisation"  # an association or NGO
    OTHER = "to_other"


class GuidanceVisit(UUIDPrimaryKey, Versioned, Base):
    """A guidance or counselling contact. Identified (client_id, with the client's consent of purpose
    guidance_records: decree 874/2024) or anonymous (no client, no free text): both feed statistics."""

    __tablename__ = "guidance_visit"
    __table_args__ = (
        Index("ix_guidance_visit_organisation_id_visited_on", "organisation_id", "visited_on"),
        CheckConstraint("client_id IS NULL OR consent_id IS NOT NULL", name="identified_has_consent"),
        CheckConstraint("client_id IS NOT NULL OR note IS NULL", name="anonymous_has_no_note"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    # Kept without the link when the client's data is deleted (retention): it stays in the statistics.
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("client.id"), index=True)
    consent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consent.id", ondelete="SET NULL"))
    visited_on: Mapped[date]
    channel: Mapped[VisitChannel] = mapped_column(enum_column(VisitChannel, "visit_channel"))
    duration_minutes: Mapped[int] = mapped_column(SmallInteger)
    language: Mapped[str] = mapped_column(String(12))
    interpreter_used: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)  # identified visits only
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class GuidanceVisitTopic(Base):
    __tablename__ = "guidance_visit_topic"

    visit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("guidance_visit.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("guidance_topic.id"), primary_key=True, index=True)


class GuidanceVisitReferral(Base):
    __tablename__ = "guidance_visit_referral"

    visit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("guidance_visit.id", ondelete="CASCADE"), primary_key=True
    )
    referral: Mapped[VisitReferral] = mapped_column(
        enum_column(VisitReferral, "visit_referral"), primary_key=True
    )
