"""Contracts with service providers and their attachments (service 11)."""

from __future__ import annotations

import enum
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamps, UUIDPrimaryKey, Versioned
from app.db.organisation import enum_column


class ContractKind(enum.StrEnum):
    INTERPRETATION = "interpretation_contract"
    TRAINING = "training_contract"
    HOUSING_LEASE = "housing_lease"  # flats reserved for quota refugees
    OTHER = "other_contract"


class Contract(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "contract"
    __table_args__ = (Index("ix_contract_organisation_id_ends_on", "organisation_id", "ends_on"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[ContractKind] = mapped_column(enum_column(ContractKind, "contract_kind"))
    subject: Mapped[str] = mapped_column(String(300))
    provider_name: Mapped[str] = mapped_column(String(200))
    provider_business_id: Mapped[str | None] = mapped_column(String(20))  # Finnish Y-tunnus
    provider_contact: Mapped[str | None] = mapped_column(String(400))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]  # None: until further notice
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # euros, VAT excluded
    # Remind the responsible person this many days before ends_on; reminded_on stops a second reminder.
    renewal_notice_days: Mapped[int | None] = mapped_column(Integer)
    reminded_on: Mapped[date | None]
    responsible_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # A housing lease may be for a client (quota refugees' flats).
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)


class ContractAttachment(UUIDPrimaryKey, Timestamps, Base):
    """Metadata of an uploaded file; the bytes live outside the web root under a random storage name."""

    __tablename__ = "contract_attachment"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # sanitised, for the download's name only
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
