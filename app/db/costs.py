"""Costs, the compensation rate table and compensation claims to the KEHA centre (3.4.12, §§59–71)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class CostCategory(enum.StrEnum):
    """Costs compensated on actual costs, by the section that compensates them."""

    SOCIAL_ASSISTANCE = "cost_social_assistance"  # §63, at most 1 year
    RECEPTION_PREPARATION = "cost_reception_preparation"  # §64, 4 (8) months before arrival
    SPECIAL_COSTS = "cost_special"  # §65, up to 10 years
    TRAFFICKING_VICTIM = "cost_trafficking_victim"  # §68
    UNACCOMPANIED_MINOR = "cost_unaccompanied_minor"  # §69, until 23
    INTERPRETATION = "cost_interpretation"
    OTHER = "cost_other"


class Cost(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "cost"
    __table_args__ = (
        Index("ix_cost_organisation_id_incurred_on", "organisation_id", "incurred_on"),
        Index("ix_cost_client_id_incurred_on", "client_id", "incurred_on"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    # Kept (without the client) when the client's data is deleted after the retention period.
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("client.id", ondelete="SET NULL"))
    category: Mapped[CostCategory] = mapped_column(enum_column(CostCategory, "cost_category"))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    incurred_on: Mapped[date]
    accounting_code: Mapped[str] = mapped_column(String(40))
    invoice_reference: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(400))
    # §64: why the reception was prepared more than four months before arrival (then up to eight count).
    longer_preparation_reason: Mapped[str | None] = mapped_column(String(400))
    claim_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("compensation_claim.id", ondelete="SET NULL"), index=True
    )
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class RateKind(enum.StrEnum):
    """Calculated compensation (§61, decree 872/2024), euros per year."""

    UNDER_7 = "rate_under_7"
    AGED_7_AND_OVER = "rate_7_and_over"
    FIRST_YEAR_ADULT = "rate_first_year_adult"  # added in the first year for an adult


class CompensationRate(UUIDPrimaryKey, Base):
    """Rates as dated data: a new decree adds rows, old claims keep their rates."""

    __tablename__ = "compensation_rate"
    __table_args__ = (UniqueConstraint("kind", "valid_from"),)

    kind: Mapped[RateKind] = mapped_column(enum_column(RateKind, "rate_kind"))
    valid_from: Mapped[date]
    amount_per_year: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    source: Mapped[str] = mapped_column(String(100))  # e.g. "Government decree 872/2024"


class ClaimStatus(enum.StrEnum):
    DRAFT = "claim_draft"
    SENT = "claim_sent"
    MORE_INFORMATION_REQUESTED = "claim_more_information_requested"
    DECIDED = "claim_decided"
    PAID = "claim_paid"


class CompensationClaim(UUIDPrimaryKey, Versioned, Base):
    """A claim for one period; its lines are frozen when it is sent."""

    __tablename__ = "compensation_claim"
    __table_args__ = (Index("ix_compensation_claim_organisation_id_status", "organisation_id", "status"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[ClaimStatus] = mapped_column(
        enum_column(ClaimStatus, "claim_status"), default=ClaimStatus.DRAFT
    )
    keha_reference: Mapped[str | None] = mapped_column(String(80))  # KEHA's case number
    sent_on: Mapped[date | None]
    information_requested_on: Mapped[date | None]
    information_request: Mapped[str | None] = mapped_column(Text)
    information_sent_on: Mapped[date | None]  # the requested information was sent ("sent again")
    decided_on: Mapped[date | None]
    decided_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[date | None]
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class ClaimLine(UUIDPrimaryKey, Base):
    """One line of a claim package: calculated compensation for a client, or one actual cost."""

    __tablename__ = "claim_line"

    claim_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("compensation_claim.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="SET NULL"), index=True
    )
    cost_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cost.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))  # "calculated" or a CostCategory value
    # Calculated lines: the rate kind and the consecutive days of one calendar year at one rate row, so
    # that no day is claimed twice across claims; cost lines: the cost's date in both.
    rate_kind: Mapped[RateKind | None] = mapped_column(enum_column(RateKind, "rate_kind"))
    first_day: Mapped[date | None]
    last_day: Mapped[date | None]
    activity_year: Mapped[int] = mapped_column(SmallInteger)  # §70: the claim deadline counts from its end
    days: Mapped[int | None] = mapped_column(Integer)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    basis: Mapped[str | None] = mapped_column(String(400))  # e.g. the rate kind and the window, no names
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
