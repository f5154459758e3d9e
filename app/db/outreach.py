"""Outreach (process 3.4.4), benefit data (etuustiedot) and referrals by another authority (service 20, §9).

Lists from Kela, the immigration service and the population register arrive as CSV files (docs/IMPORTS.md);
each row becomes or updates one outreach item per person, matched by identity code. Benefits are recorded
once — for an outreach item or a client — and reused: they drive §14 eligibility and show on the plan when
participation binds the client (§24)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class ImportSource(enum.StrEnum):
    """Who sent the list; each has its own CSV format (docs/IMPORTS.md)."""

    KELA = "kela_list"  # non-temporary social assistance, child home-care allowance
    IMMIGRATION_SERVICE = "immigration_service_list"  # international protection, trafficking victims
    POPULATION_REGISTER = "population_register"  # people who moved into the municipality


class ImportMode(enum.StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    VALID_ROWS = "valid_rows"  # the officer chose to import the valid rows and leave the rest


class OutreachImport(UUIDPrimaryKey, Base):
    """One imported file. The same file (by content hash) imported again changes nothing."""

    __tablename__ = "outreach_import"
    __table_args__ = (UniqueConstraint("organisation_id", "source", "content_sha256"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    source: Mapped[ImportSource] = mapped_column(enum_column(ImportSource, "import_source"))
    file_name: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64))
    mode: Mapped[ImportMode] = mapped_column(enum_column(ImportMode, "import_mode"))
    rows_total: Mapped[int]
    rows_imported: Mapped[int]  # new or changed outreach items
    rows_unchanged: Mapped[int]  # already known with the same data
    rows_rejected: Mapped[int]
    imported_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutreachReason(enum.StrEnum):
    """Why the person is on the list (drives §14 eligibility)."""

    SOCIAL_ASSISTANCE = "social_assistance"  # Kela: non-temporary social assistance
    HOME_CARE_ALLOWANCE = "home_care_allowance"  # Kela: child home-care allowance
    INTERNATIONAL_PROTECTION = "international_protection"  # Migri
    TRAFFICKING_VICTIM = "trafficking_victim"  # Migri: §14 three-year limit does not apply
    MOVED_IN = "moved_in"  # DVV: moved into the municipality
    AUTHORITY_REFERRAL = "authority_referral"  # service 20
    OTHER = "other"  # added by an officer


class OutreachStatus(enum.StrEnum):
    TO_REACH = "to_reach"
    REACHED = "reached"
    ASSESSMENT_BOOKED = "assessment_booked"
    DECLINED = "declined"
    NOT_ELIGIBLE = "not_eligible"
    MOVED_AWAY = "moved_away"


class OutreachItem(UUIDPrimaryKey, Versioned, Base):
    """A person the municipality should reach, one per person and organisation (matched by identity code)."""

    __tablename__ = "outreach_item"
    __table_args__ = (
        Index("ix_outreach_item_organisation_id_status", "organisation_id", "status"),
        Index(
            "uq_outreach_item_organisation_id_identity_code",
            "organisation_id",
            "identity_code",
            unique=True,
            sqlite_where=text("identity_code IS NOT NULL"),
            postgresql_where=text("identity_code IS NOT NULL"),
        ),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    # Linked when the person is (or becomes) a client; the item goes with the client's data.
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[OutreachStatus] = mapped_column(
        enum_column(OutreachStatus, "outreach_status"), default=OutreachStatus.TO_REACH
    )
    reason: Mapped[OutreachReason] = mapped_column(enum_column(OutreachReason, "outreach_reason"))
    identity_code: Mapped[str | None] = mapped_column(String(11))
    first_names: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None]
    first_permit_date: Mapped[date | None]  # §14: three years from the first residence permit
    moved_in_on: Mapped[date | None]
    language: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(16))
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    post_office: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    last_import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outreach_import.id"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


class ContactChannel(enum.StrEnum):
    PHONE = "phone"
    SMS = "sms"
    LETTER = "letter"
    EMAIL = "email"
    HOME_VISIT = "home_visit"
    THROUGH_PARTNER = "through_partner"  # e.g. a reception centre or an association


class ContactOutcome(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    MESSAGE_LEFT = "message_left"
    WRONG_CONTACT = "wrong_contact"
    DECLINED = "declined"


class OutreachContact(UUIDPrimaryKey, Base):
    """A contact attempt: channel, day and outcome."""

    __tablename__ = "outreach_contact"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outreach_item.id", ondelete="CASCADE"), index=True)
    channel: Mapped[ContactChannel] = mapped_column(enum_column(ContactChannel, "contact_channel"))
    attempted_on: Mapped[date]
    outcome: Mapped[ContactOutcome] = mapped_column(enum_column(ContactOutcome, "contact_outcome"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class BenefitType(enum.StrEnum):
    SOCIAL_ASSISTANCE = "social_assistance"  # non-temporary (toimeentulotuki, ei tilapäinen)
    UNEMPLOYMENT_BENEFIT = "unemployment_benefit"
    HOME_CARE_ALLOWANCE = "home_care_allowance"
    OTHER = "other"


class BenefitStatus(enum.StrEnum):
    RECEIVING = "receiving"
    APPLIED = "applied"


class BenefitSource(enum.StrEnum):
    IMPORT = "import"
    OFFICER = "officer"


class Benefit(UUIDPrimaryKey, Versioned, Base):
    """A benefit a person receives or has applied for, for an outreach item or a client (or both)."""

    __tablename__ = "benefit"
    __table_args__ = (
        CheckConstraint("client_id IS NOT NULL OR outreach_item_id IS NOT NULL", name="has_person"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    outreach_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("outreach_item.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[BenefitType] = mapped_column(enum_column(BenefitType, "benefit_type"))
    other_type: Mapped[str | None] = mapped_column(String(200))  # when type is other
    status: Mapped[BenefitStatus] = mapped_column(enum_column(BenefitStatus, "benefit_status"))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    source: Mapped[BenefitSource] = mapped_column(enum_column(BenefitSource, "benefit_source"))
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outreach_import.id"))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


class ReferralStatus(enum.StrEnum):
    RECEIVED = "referral_received"
    ACCEPTED = "referral_accepted"
    DECLINED = "referral_declined"


class AuthorityReferral(UUIDPrimaryKey, Versioned, Base):
    """Another authority tells the municipality of a person who needs an assessment (§9), with consent."""

    __tablename__ = "authority_referral"
    __table_args__ = (Index("ix_authority_referral_organisation_id_status", "organisation_id", "status"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))  # the municipality
    status: Mapped[ReferralStatus] = mapped_column(
        enum_column(ReferralStatus, "referral_status"), default=ReferralStatus.RECEIVED
    )
    # The referrer
    authority_name: Mapped[str] = mapped_column(String(200))
    referrer_organisation: Mapped[str | None] = mapped_column(String(200))  # unit or department
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    # The person
    first_names: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    identity_code: Mapped[str | None] = mapped_column(String(11))
    date_of_birth: Mapped[date | None]
    language: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)  # why the person needs an assessment
    consent_given: Mapped[bool]
    consent_on: Mapped[date]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The decision
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), index=True
    )
    outreach_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("outreach_item.id", ondelete="SET NULL")
    )
