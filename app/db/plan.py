"""Integration plan (services 3 and 12; §§16–24), its services and completions, reviews, approvals,
family overviews and transfers between the municipality and the employment authority.

Approval binds to an exact version: presenting a plan for approval freezes its content as a PlanVersion
with a SHA-256 of that content; the client approves that version (in person, or in the migrant app with
a passkey assertion whose challenge is bound to the hash).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.assessment import Cefr, LanguageSkill
from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_FORCE = "in_force"
    INTERRUPTED = "interrupted"
    ENDED = "ended"


class PlanEndReason(enum.StrEnum):
    EMPLOYMENT = "employment"
    STUDIES = "studies"
    MOVED_AWAY = "moved_away"
    TRANSFERRED = "transferred"
    PERIOD_ENDED = "period_ended"
    OTHER = "other"


class ExtensionReason(enum.StrEnum):
    """§23: the only grounds for extending plans beyond two years (by at most two more)."""

    LOW_EDUCATION = "low_education"
    MULTI_SECTOR_NEEDS = "multi_sector_needs"
    PART_TIME_HOME_CARE = "part_time_home_care_allowance"


class PauseReason(enum.StrEnum):
    """§23: a temporary pause extends the plan by its length."""

    ILLNESS = "illness"
    DISABILITY = "disability"
    PARENTAL_LEAVE = "pregnancy_parental_leave"


class GoalAttainment(enum.StrEnum):
    """Recorded for each goal when the plan ends (service quality)."""

    ACHIEVED = "goal_achieved"
    PARTLY_ACHIEVED = "goal_partly_achieved"
    NOT_ACHIEVED = "goal_not_achieved"


class GoalKind(enum.StrEnum):
    LONG_TERM = "long_term"
    PLAN_PERIOD = "plan_period"


class GoalType(enum.StrEnum):
    """§18."""

    EMPLOYMENT = "employment_goal"
    ENTREPRENEURSHIP = "entrepreneurship"
    WORKING_LIFE_READINESS = "working_life_readiness"
    UPPER_SECONDARY_EDUCATION = "upper_secondary_education"
    LANGUAGE_SKILLS = "language_skills_goal"
    OTHER_GOAL = "other_goal"


class PlanServiceKind(enum.StrEnum):
    PROGRAMME = "programme"  # from the integration programme
    NGO = "ngo"  # participation in NGO activities
    OTHER = "other_service"


class PlanServiceStatus(enum.StrEnum):
    PLANNED = "planned"
    REFERRED = "referred"
    STARTED = "started"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


class ApprovalMethod(enum.StrEnum):
    PASSKEY = "passkey_in_app"
    SIGNED_ON_PAPER = "signed_on_paper"
    ORALLY_IN_PERSON = "orally_in_person"


class ReviewKind(enum.StrEnum):
    SCHEDULED = "scheduled"
    CLIENT_REQUEST = "client_request"
    MATERIAL_CHANGE = "material_change"
    TRANSFER = "after_transfer"


class IntegrationPlan(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "integration_plan"
    __table_args__ = (
        UniqueConstraint("client_id", "number"),
        Index("ix_integration_plan_organisation_id_status", "organisation_id", "status", "next_review_on"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessment.id"), index=True)
    number: Mapped[int]  # 1 = the client's first plan (§23 counts from its start)
    status: Mapped[PlanStatus] = mapped_column(
        enum_column(PlanStatus, "plan_status"), default=PlanStatus.DRAFT
    )
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    extension_reason: Mapped[ExtensionReason | None] = mapped_column(
        enum_column(ExtensionReason, "extension_reason")
    )
    extension_justification: Mapped[str | None] = mapped_column(Text)
    under_25_self_study: Mapped[bool] = mapped_column(default=False)  # §31
    multi_sector: Mapped[bool] = mapped_column(default=False)  # the county takes part
    county_representative: Mapped[str | None] = mapped_column(String(200))
    language_studies: Mapped[str | None] = mapped_column(Text)  # Finnish/Swedish studies
    guidance: Mapped[str | None] = mapped_column(Text)
    rationale: Mapped[str | None] = mapped_column(Text)  # why the services fit the goal (§19)
    duties_explained: Mapped[bool] = mapped_column(default=False)  # §24
    duties_note: Mapped[str | None] = mapped_column(Text)
    next_review_on: Mapped[date | None]
    ended_on: Mapped[date | None]
    end_reason: Mapped[PlanEndReason | None] = mapped_column(enum_column(PlanEndReason, "plan_end_reason"))
    end_note: Mapped[str | None] = mapped_column(Text)
    goals_attained: Mapped[str | None] = mapped_column(Text)  # recorded when the plan ends

    goals: Mapped[list[PlanGoal]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="PlanGoal.position"
    )
    services: Mapped[list[PlanService]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="PlanService.position"
    )
    pauses: Mapped[list[PlanPause]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="PlanPause.starts_on"
    )


class PlanGoal(UUIDPrimaryKey, Base):
    __tablename__ = "plan_goal"

    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integration_plan.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    kind: Mapped[GoalKind] = mapped_column(enum_column(GoalKind, "goal_kind"))
    goal_type: Mapped[GoalType] = mapped_column(enum_column(GoalType, "goal_type"))
    text: Mapped[str] = mapped_column(Text)
    attainment: Mapped[GoalAttainment | None] = mapped_column(enum_column(GoalAttainment, "goal_attainment"))


class PlanService(UUIDPrimaryKey, Versioned, Base):
    """A service in the plan, and its completion data (suoritustiedot): referral, start, end."""

    __tablename__ = "plan_service"
    __table_args__ = (
        Index("ix_plan_service_status_plan_id", "status", "plan_id"),
        Index("ix_plan_service_plan_id_started_on", "plan_id", "started_on"),  # reports: first service
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integration_plan.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[PlanServiceKind] = mapped_column(enum_column(PlanServiceKind, "plan_service_kind"))
    programme_service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("programme_service.id"), index=True
    )
    period_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("programme_period.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))  # NGO activities and other services
    planned_start: Mapped[date | None]
    planned_end: Mapped[date | None]
    status: Mapped[PlanServiceStatus] = mapped_column(
        enum_column(PlanServiceStatus, "plan_service_status"), default=PlanServiceStatus.PLANNED
    )
    referred_on: Mapped[date | None]
    started_on: Mapped[date | None]
    completed_on: Mapped[date | None]
    interrupted_on: Mapped[date | None]
    interruption_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    final_tests: Mapped[list[FinalLanguageTest]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="FinalLanguageTest.id"
    )


class FinalLanguageTest(Base):
    """The final language test of integration training, one skill per row."""

    __tablename__ = "final_language_test"
    __table_args__ = (UniqueConstraint("plan_service_id", "language", "skill"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_service.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(2))
    skill: Mapped[LanguageSkill] = mapped_column(enum_column(LanguageSkill, "language_skill"))
    level: Mapped[Cefr] = mapped_column(enum_column(Cefr, "cefr"))
    tested_on: Mapped[date]


class PlanPause(UUIDPrimaryKey, Base):
    __tablename__ = "plan_pause"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integration_plan.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[PauseReason] = mapped_column(enum_column(PauseReason, "pause_reason"))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class PlanVersion(UUIDPrimaryKey, Base):
    """The plan's content frozen for approval; content_hash = SHA-256 of the canonical JSON."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integration_plan.id", ondelete="CASCADE"))
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class PlanApproval(UUIDPrimaryKey, Base):
    """Who approved which version, how, and — for passkeys — the assertion that proves it."""

    __tablename__ = "plan_approval"

    plan_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plan_version.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    method: Mapped[ApprovalMethod] = mapped_column(enum_column(ApprovalMethod, "approval_method"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))  # in person
    witness: Mapped[str | None] = mapped_column(String(200))
    # Passkey approvals (the migrant app): the signed assertion, verifiable later.
    credential_id: Mapped[bytes | None]
    authenticator_data: Mapped[bytes | None]
    client_data_json: Mapped[bytes | None]
    signature: Mapped[bytes | None]
    # The passkey's public key at the time (the passkey may be removed later) and the random nonce: the
    # WebAuthn challenge was SHA-256(bytes.fromhex(version.content_hash) + bytes.fromhex(nonce)).
    public_key: Mapped[bytes | None]
    challenge_nonce: Mapped[str | None] = mapped_column(String(64))


class PlanReview(UUIDPrimaryKey, Versioned, Base):
    """§22: at least every six months, on request or a material change; jointly when multi-sector."""

    __tablename__ = "plan_review"

    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integration_plan.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ReviewKind] = mapped_column(enum_column(ReviewKind, "review_kind"))
    held_on: Mapped[date]
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    client_took_part: Mapped[bool] = mapped_column(default=True)
    county_took_part: Mapped[bool] = mapped_column(default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(12))
    participants: Mapped[str | None] = mapped_column(String(400))
    participation: Mapped[str | None] = mapped_column(Text)  # how the client has taken part
    progress: Mapped[str | None] = mapped_column(Text)
    obstacles: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[str | None] = mapped_column(Text)
    next_review_on: Mapped[date]


class FamilyOverview(UUIDPrimaryKey, Versioned, Base):
    """The seed's family plan, now a family integration overview linking the members' own plans.

    Needs the guardians' consent (Consent, purpose family_overview); lapses when no member has a plan
    in force."""

    __tablename__ = "family_overview"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    shared_goals: Mapped[str | None] = mapped_column(Text)
    family_needs: Mapped[str | None] = mapped_column(Text)

    members: Mapped[list[FamilyOverviewMember]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="FamilyOverviewMember.id"
    )


class FamilyOverviewMember(Base):
    __tablename__ = "family_overview_member"
    __table_args__ = (UniqueConstraint("overview_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    overview_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("family_overview.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)


class ClientTransfer(UUIDPrimaryKey, Base):
    """A client moved between the municipality and the employment authority (either way).

    The receiving organisation gets the client and a review on its worklist until reviewed_at is set."""

    __tablename__ = "client_transfer"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    from_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    to_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    transferred_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    transferred_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None]
