"""The client register (service 1): basic data, languages, family links, consents, health data, grants."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class Segment(enum.IntEnum):
    """How the client relationship starts (reference architecture 1.4)."""

    OWN_INITIATIVE = 1
    MUNICIPAL_PLACEMENT = 2
    QUOTA_REFUGEE = 3


class KnownHow(enum.StrEnum):
    """How the municipality learned of the person (§14(2): the assessment starts without delay)."""

    CLIENT_CONTACT = "client_contact"
    KELA_LIST = "kela_list"
    IMMIGRATION_SERVICE_LIST = "immigration_service_list"
    POPULATION_REGISTER = "population_register"
    AUTHORITY_REFERRAL = "authority_referral"
    MUNICIPAL_PLACEMENT = "municipal_placement"
    QUOTA_SELECTION = "quota_selection"
    EMPLOYMENT_AUTHORITY = "employment_authority"
    OTHER = "other"


class PermitType(enum.StrEnum):
    INTERNATIONAL_PROTECTION = "international_protection"
    TEMPORARY_PROTECTION = "temporary_protection"
    QUOTA_REFUGEE = "quota_refugee"
    FAMILY = "family"
    WORK = "work"
    STUDY = "study"
    EU_REGISTRATION = "eu_registration"
    RESIDENCE_CARD = "residence_card"
    TRAFFICKING_VICTIM = "trafficking_victim"
    OTHER = "other"


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class EndReason(enum.StrEnum):
    MOVED_AWAY = "moved_away"
    SERVICES_COMPLETED = "services_completed"
    EMPLOYED = "employed"
    NO_NEED = "no_need"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    OTHER = "other"


class LanguageLevel(enum.StrEnum):
    NATIVE = "native"
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


class FamilyRelation(enum.StrEnum):
    """Read as: client is <relation> of related client."""

    GUARDIAN = "guardian"
    CHILD = "child"
    SPOUSE = "spouse"


class ConsentPurpose(enum.StrEnum):
    WELLBEING_COUNTY_SHARING = "wellbeing_county_sharing"
    EMPLOYMENT_AUTHORITY_SHARING = "employment_authority_sharing"
    GUIDANCE_RECORDS = "guidance_records"
    ELECTRONIC_MESSAGES = "electronic_messages"
    FAMILY_OVERVIEW = "family_overview"
    FEEDBACK_CONTACT = "feedback_contact"


class DataCategory(enum.StrEnum):
    """What a grant opens; health data is the narrowest category (§73)."""

    BASIC = "basic"
    HEALTH = "health"


class Client(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "client"
    __table_args__ = (
        UniqueConstraint("organisation_id", "identity_code"),
        CheckConstraint("segment BETWEEN 1 AND 3", name="segment_range"),
        Index("ix_client_organisation_id_name", "organisation_id", "last_name", "first_names"),
        Index("ix_client_organisation_id_date_of_birth", "organisation_id", "date_of_birth"),
        Index("ix_client_organisation_id_phone", "organisation_id", "phone"),
        Index("ix_client_temporary_identifier", "temporary_identifier"),
        Index("ix_client_organisation_id_status_known_on", "organisation_id", "status", "known_on"),
        # Partial-name search: a trigram index on PostgreSQL, a plain one elsewhere.
        Index(
            "ix_client_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        # Reports (app/domain/reports.py): the dashboards read every client of the organisation; on
        # PostgreSQL this narrow covering index answers them without reading the wide rows.
        Index(
            "ix_client_reports",
            "organisation_id",
            "known_on",
            postgresql_include=[
                "id",
                "segment",
                "status",
                "ended_on",
                "date_of_birth",
                "mother_tongue",
                "responsible_officer_id",
                "first_permit_date",
            ],
        ),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    # The officer whose worklist the client is on; team leads see everyone's.
    responsible_officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[ClientStatus] = mapped_column(
        enum_column(ClientStatus, "client_status"), default=ClientStatus.ACTIVE
    )
    segment: Mapped[int] = mapped_column(SmallInteger)
    known_on: Mapped[date]
    known_how: Mapped[KnownHow] = mapped_column(enum_column(KnownHow, "known_how"))

    first_names: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    native_name: Mapped[str | None] = mapped_column(String(400))
    # Names folded for accent- and case-insensitive search; derived, never shown.
    search_text: Mapped[str] = mapped_column(String(1000))
    date_of_birth: Mapped[date | None]
    identity_code: Mapped[str | None] = mapped_column(String(11))
    temporary_identifier: Mapped[str | None] = mapped_column(String(40))
    citizenship: Mapped[str | None] = mapped_column(String(3))
    mother_tongue: Mapped[str | None] = mapped_column(String(12))
    interpreter_needed: Mapped[bool] = mapped_column(default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    post_office: Mapped[str | None] = mapped_column(String(100))
    municipality_of_residence: Mapped[str | None] = mapped_column(String(100))
    first_permit_date: Mapped[date | None]
    # The day the person first got a municipality of residence in Finland (population register):
    # the calculated-compensation windows (§§61–62) count from it.
    first_residence_on: Mapped[date | None]
    unaccompanied_minor: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )  # §69: costs until 23
    permit_type: Mapped[PermitType | None] = mapped_column(enum_column(PermitType, "permit_type"))
    preferred_locale: Mapped[str | None] = mapped_column(String(10))

    ended_on: Mapped[date | None]
    end_reason: Mapped[EndReason | None] = mapped_column(enum_column(EndReason, "end_reason"))
    end_note: Mapped[str | None] = mapped_column(Text)

    languages: Mapped[list[ClientLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="ClientLanguage.id", lazy="raise"
    )

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_names}"


class ClientLanguage(Base):
    __tablename__ = "client_language"
    __table_args__ = (UniqueConstraint("client_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(12))
    level: Mapped[LanguageLevel] = mapped_column(enum_column(LanguageLevel, "language_level"))


class FamilyLink(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "family_link"
    __table_args__ = (UniqueConstraint("client_id", "related_client_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    related_client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    relation: Mapped[FamilyRelation] = mapped_column(enum_column(FamilyRelation, "family_relation"))


class Consent(UUIDPrimaryKey, Versioned, Base):
    """Each decision is a row of its own, so the history of a consent stays visible."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_client_id_purpose", "client_id", "purpose", "recorded_at"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    purpose: Mapped[ConsentPurpose] = mapped_column(enum_column(ConsentPurpose, "consent_purpose"))
    given: Mapped[bool]
    decided_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(Text)


class HealthInformation(UUIDPrimaryKey, Versioned, Base):
    """Health and functional-capacity data that affects integration (§73): source and recorder kept."""

    __tablename__ = "health_information"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class ClientAccessGrant(UUIDPrimaryKey, Versioned, Base):
    """Access for a named person outside the responsible organisation (county team members).

    Created when multi-sector cooperation is accepted; ended_at set when it ends.
    """

    __tablename__ = "client_access_grant"
    __table_args__ = (Index("ix_client_access_grant_staff_id_client_id", "staff_id", "client_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    category: Mapped[DataCategory] = mapped_column(enum_column(DataCategory, "data_category"))
    granted_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(String(400))
    ended_at: Mapped[datetime | None]
    # The cooperation that granted it; ending the cooperation ends its grants.
    cooperation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("county_cooperation.id", ondelete="CASCADE"), index=True
    )
