"""The integration programme (service 7, §13): the municipality's catalogue of services and intakes."""

from __future__ import annotations

import enum
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, TextOrigin, UUIDPrimaryKey, Versioned
from app.db.organisation import enum_column


class ServiceType(enum.StrEnum):
    CIVIC_ORIENTATION = "civic_orientation"  # multilingual, at least 70 hours (decree 576/2024)
    INTEGRATION_TRAINING = "integration_training"
    LITERACY_TRAINING = "literacy_training"
    ADULT_BASIC_EDUCATION = "adult_basic_education"
    OTHER_LANGUAGE_TRAINING = "other_language_training"
    GUIDANCE_AND_COUNSELLING = "guidance_and_counselling"
    NGO_ACTIVITY = "ngo_activity"
    OTHER_SERVICE = "other_service"


class ProgrammeService(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "programme_service"
    __table_args__ = (
        Index(
            "ix_programme_service_organisation_id_active_type", "organisation_id", "active", "service_type"
        ),
        CheckConstraint("hours IS NULL OR hours >= 0", name="hours_not_negative"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))  # whose programme
    service_type: Mapped[ServiceType] = mapped_column(enum_column(ServiceType, "service_type"))
    # The provider when it is an organisation in the system, else its name as text.
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    provider_name: Mapped[str | None] = mapped_column(String(200))
    source_language: Mapped[str] = mapped_column(String(12))  # the language the texts are written in
    remote: Mapped[bool] = mapped_column(default=False)
    place: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))  # hours of teaching
    active: Mapped[bool] = mapped_column(default=True)

    texts: Mapped[list[ProgrammeServiceText]] = relationship(
        cascade="all, delete-orphan", order_by="ProgrammeServiceText.language", lazy="raise"
    )
    languages: Mapped[list[ProgrammeServiceLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="ProgrammeServiceLanguage.language", lazy="raise"
    )
    periods: Mapped[list[ProgrammePeriod]] = relationship(
        cascade="all, delete-orphan", order_by="ProgrammePeriod.starts_on", lazy="raise"
    )


class ProgrammeServiceText(UUIDPrimaryKey, Versioned, Base):
    """A service's name, description and eligibility notes in one language.

    source_hash is the hash of the source-language text this translation was made from; when the source
    changes, a translation with an older hash is stale (flagged to editors, noted to readers)."""

    __tablename__ = "programme_service_text"
    __table_args__ = (UniqueConstraint("service_id", "language"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme_service.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    eligibility: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[TextOrigin] = mapped_column(enum_column(TextOrigin, "text_origin"))
    source_hash: Mapped[str] = mapped_column(String(64))
    edited_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


class ProgrammeServiceLanguage(Base):
    """A language in which the service is offered (teaching or guidance language)."""

    __tablename__ = "programme_service_language"
    __table_args__ = (UniqueConstraint("service_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme_service.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(12), index=True)


class ProgrammePeriod(UUIDPrimaryKey, Versioned, Base):
    """An intake or period of a service, with its capacity."""

    __tablename__ = "programme_period"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("programme_service.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    capacity: Mapped[int | None]
    language: Mapped[str | None] = mapped_column(String(12))  # teaching language of this intake
    note: Mapped[str | None] = mapped_column(String(400))
