"""Assessment of competence and integration service needs (service 2; §14, decree 869/2024).

The nine items of the initial interview are structured columns and child rows. A completed assessment
is never edited in place: an amendment is a new row (number + 1, previous_id → the one it amends) and
the one it replaces becomes SUPERSEDED, so the history stays readable.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UUIDPrimaryKey, Versioned
from app.db.organisation import enum_column


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"
    COMPLETED = "completed"
    SUPERSEDED = "superseded"  # a later amendment replaced it


class Literacy(enum.StrEnum):
    """Item 1."""

    LATIN_ALPHABET = "literate_latin"
    OTHER_SCRIPT_ONLY = "literate_other_script"
    PARTIAL = "partially_literate"
    NOT_LITERATE = "not_literate"


class Cefr(enum.StrEnum):
    """CEFR level of one skill, or none at all (item 2; final language tests)."""

    NONE = "none"
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


class LanguageSkill(enum.StrEnum):
    READING = "reading"
    WRITING = "writing"
    LISTENING = "listening"
    SPEAKING = "speaking"


class EducationLevel(enum.StrEnum):
    NONE = "no_schooling"
    PRIMARY = "primary"
    LOWER_SECONDARY = "lower_secondary"
    UPPER_SECONDARY = "upper_secondary"
    VOCATIONAL = "vocational"
    BACHELOR = "bachelor"
    MASTER = "master"
    DOCTORATE = "doctorate"


class DataSource(enum.StrEnum):
    """Where the assessment's information comes from (decree 874/2024)."""

    INTERVIEW = "client_interview"
    CLIENT_DOCUMENTS = "client_documents"
    EMPLOYMENT_AUTHORITY = "employment_authority_data"
    KELA = "kela_data"
    IMMIGRATION_SERVICE = "immigration_service_data"
    WELLBEING_COUNTY = "wellbeing_county_data"
    EDUCATION_PROVIDER = "education_provider_data"
    REFINING_MEASURE = "refining_measure"


class PlanNeed(enum.StrEnum):
    """Item 7 and the outcome."""

    NEEDED = "plan_needed"
    NOT_NEEDED = "plan_not_needed"


class RefiningMeasureType(enum.StrEnum):
    """Measures that refine the assessment, possibly by a third party (decree 869/2024 §3)."""

    LANGUAGE_LEVEL_TEST = "language_level_test"
    LITERACY_CHECK = "literacy_check"
    RECOGNITION_OF_COMPETENCE = "recognition_of_competence"
    STUDY_SKILLS = "study_skills_assessment"
    WORKING_LIFE_SKILLS = "working_life_assessment"
    OTHER_MEASURE = "other_measure"


class MeasureStatus(enum.StrEnum):
    ORDERED = "ordered"
    DONE = "done"
    CANCELLED = "cancelled"


class Assessment(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "assessment"
    __table_args__ = (
        UniqueConstraint("client_id", "number"),
        Index("ix_assessment_organisation_id_status", "organisation_id", "status"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    number: Mapped[int]  # 1, 2, … per client: an amendment is the next number
    previous_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessment.id"))
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_column(AssessmentStatus, "assessment_status"), default=AssessmentStatus.DRAFT
    )
    amendment_reason: Mapped[str | None] = mapped_column(Text)
    assessed_on: Mapped[date]  # the interview date
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    # Who took part.
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    interpreter_language: Mapped[str | None] = mapped_column(String(12))
    interpreter_name: Mapped[str | None] = mapped_column(String(200))
    county_takes_part: Mapped[bool] = mapped_column(default=False)  # the "multi-sector assessment"
    county_representative: Mapped[str | None] = mapped_column(String(200))
    other_participants: Mapped[str | None] = mapped_column(String(400))
    data_sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # DataSource values
    # The four things the client must be told (§14(2), decree 869/2024 §2).
    told_service_goals: Mapped[bool] = mapped_column(default=False)
    told_planning: Mapped[bool] = mapped_column(default=False)
    told_rights_and_duties: Mapped[bool] = mapped_column(default=False)
    told_data_processing: Mapped[bool] = mapped_column(default=False)

    # The nine items.
    literacy: Mapped[Literacy | None] = mapped_column(enum_column(Literacy, "literacy"))  # 1
    literacy_note: Mapped[str | None] = mapped_column(Text)
    language_note: Mapped[str | None] = mapped_column(Text)  # 2 (levels in assessment_language_skill)
    study_and_work_skills: Mapped[str | None] = mapped_column(Text)  # 3
    service_needs: Mapped[str | None] = mapped_column(Text)  # 4: employment and education services
    service_goals: Mapped[str | None] = mapped_column(Text)  # 4
    # 5: education and work entries are child rows
    strengths: Mapped[str | None] = mapped_column(Text)  # 6
    plan_need: Mapped[PlanNeed | None] = mapped_column(enum_column(PlanNeed, "plan_need"))  # 7 + outcome
    no_plan_reason: Mapped[str | None] = mapped_column(Text)
    life_situation: Mapped[str | None] = mapped_column(Text)  # 8
    life_situation_needs: Mapped[str | None] = mapped_column(Text)  # 8
    other_needs_and_goals: Mapped[str | None] = mapped_column(Text)  # 9

    # The county's four need areas, when it takes part.
    county_mental_health_rehabilitation: Mapped[str | None] = mapped_column(Text)
    county_employment_education: Mapped[str | None] = mapped_column(Text)
    county_social_health: Mapped[str | None] = mapped_column(Text)
    county_other: Mapped[str | None] = mapped_column(Text)

    planned_plan_date: Mapped[date | None]

    language_skills: Mapped[list[AssessmentLanguageSkill]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="AssessmentLanguageSkill.id"
    )
    education: Mapped[list[AssessmentEducation]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="AssessmentEducation.id"
    )
    work: Mapped[list[AssessmentWork]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="AssessmentWork.id"
    )


class AssessmentLanguageSkill(Base):
    """Item 2: Finnish or Swedish, one skill, one level."""

    __tablename__ = "assessment_language_skill"
    __table_args__ = (UniqueConstraint("assessment_id", "language", "skill"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(2))  # fi or sv
    skill: Mapped[LanguageSkill] = mapped_column(enum_column(LanguageSkill, "language_skill"))
    level: Mapped[Cefr] = mapped_column(enum_column(Cefr, "cefr"))


class AssessmentEducation(Base):
    """Item 5: earlier education."""

    __tablename__ = "assessment_education"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[EducationLevel] = mapped_column(enum_column(EducationLevel, "education_level"))
    field: Mapped[str | None] = mapped_column(String(200))
    years: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    country: Mapped[str | None] = mapped_column(String(3))
    completed: Mapped[bool] = mapped_column(default=True)


class AssessmentWork(Base):
    """Item 5: work experience."""

    __tablename__ = "assessment_work"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    occupation: Mapped[str] = mapped_column(String(200))
    years: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    country: Mapped[str | None] = mapped_column(String(3))


class RefiningMeasure(UUIDPrimaryKey, Versioned, Base):
    """A refining measure ordered for a client's assessment, possibly from a third party."""

    __tablename__ = "refining_measure"
    __table_args__ = (
        CheckConstraint("result_on IS NULL OR result_on >= ordered_on", name="result_after_order"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    measure_type: Mapped[RefiningMeasureType] = mapped_column(
        enum_column(RefiningMeasureType, "refining_measure_type")
    )
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    provider_name: Mapped[str | None] = mapped_column(String(200))
    ordered_on: Mapped[date]
    ordered_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[MeasureStatus] = mapped_column(
        enum_column(MeasureStatus, "measure_status"), default=MeasureStatus.ORDERED
    )
    result_on: Mapped[date | None]
    result: Mapped[str | None] = mapped_column(Text)
