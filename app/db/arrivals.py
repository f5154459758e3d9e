"""Planned arrivals: quota refugees (processes 3.4.8–3.4.9, consultation service 5) and municipal
placements from a reception centre (3.4.10–3.4.11).

An arrival holds the people (family composition), the checklists of preparation, reception or move-in
support (ArrivalChecklistItem rows with the keys in app/domain/arrivals.py), and for quota refugees the
consultation of the wellbeing services county with an anonymised summary. On arrival each person becomes
a client (segment 3 or 2) from these rows, without retyping."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class ArrivalKind(enum.StrEnum):
    QUOTA_REFUGEES = "quota_refugees"  # segment 3
    MUNICIPAL_PLACEMENT = "municipal_placement"  # segment 2


class ArrivalStatus(enum.StrEnum):
    PROPOSED = "arrival_proposed"  # quota: the ELY centre's proposal received; placement: handover started
    CONSULTING = "arrival_consulting"  # quota: the county is consulted
    ACCEPTED = "arrival_accepted"  # the municipality decided to receive; preparation under way
    DECLINED = "arrival_declined"
    ARRIVED = "arrival_arrived"  # the people are clients
    CANCELLED = "arrival_cancelled"


class Arrival(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "arrival"
    __table_args__ = (Index("ix_arrival_organisation_id_kind_status", "organisation_id", "kind", "status"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[ArrivalKind] = mapped_column(enum_column(ArrivalKind, "arrival_kind"))
    status: Mapped[ArrivalStatus] = mapped_column(
        enum_column(ArrivalStatus, "arrival_status"), default=ArrivalStatus.PROPOSED
    )
    reference: Mapped[str | None] = mapped_column(String(100))  # the ELY centre's or reception centre's
    received_on: Mapped[date]  # proposal or handover request received
    # Quota refugees: the ELY centre's proposal. Placements: the reception centre handing over.
    sender: Mapped[str] = mapped_column(String(200))
    responsible_officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    # The municipality's decision (quota refugees)
    decision_on: Mapped[date | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    # Housing (preparation / move-in support)
    housing_address: Mapped[str | None] = mapped_column(String(300))
    lease_starts_on: Mapped[date | None]
    lease_ends_on: Mapped[date | None]
    earliest_arrival_on: Mapped[date | None]  # quota: sent to the ELY centre
    earliest_arrival_sent_on: Mapped[date | None]
    # Reception: arrival details from the Red Cross (quota) or the moving day (placement)
    arrives_at: Mapped[datetime | None]
    flight: Mapped[str | None] = mapped_column(String(40))
    transport: Mapped[str | None] = mapped_column(Text)
    interpreter: Mapped[str | None] = mapped_column(String(200))
    # Placements: written handover data from the reception centre, with the person's consent
    handover_consent_on: Mapped[date | None]
    handover_data: Mapped[str | None] = mapped_column(Text)
    transfer_meeting_at: Mapped[datetime | None]
    arrived_on: Mapped[date | None]
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class ArrivalRole(enum.StrEnum):
    """The person's place in the family, as the ELY centre's proposal gives it."""

    HEAD = "head_of_family"
    SPOUSE = "spouse"
    CHILD = "child"
    OTHER_RELATIVE = "other_relative"
    SINGLE = "single_adult"


class ArrivalPerson(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "arrival_person"

    arrival_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("arrival.id", ondelete="CASCADE"), index=True)
    role: Mapped[ArrivalRole] = mapped_column(enum_column(ArrivalRole, "arrival_role"))
    first_names: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    native_name: Mapped[str | None] = mapped_column(String(400))
    date_of_birth: Mapped[date | None]
    identity_code: Mapped[str | None] = mapped_column(String(11))
    temporary_identifier: Mapped[str | None] = mapped_column(String(40))
    citizenship: Mapped[str | None] = mapped_column(String(3))
    mother_tongue: Mapped[str | None] = mapped_column(String(12))
    interpreter_needed: Mapped[bool] = mapped_column(default=False)
    # Needs the reception should prepare for (e.g. accessibility): health-adjacent, not in the summary.
    special_needs: Mapped[str | None] = mapped_column(Text)
    # Set when the person becomes a client on arrival.
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("client.id", ondelete="SET NULL"), index=True
    )


class ArrivalChecklistItem(UUIDPrimaryKey, Base):
    """One step of preparation, reception or move-in support done (key from app/domain/arrivals.py)."""

    __tablename__ = "arrival_checklist_item"
    __table_args__ = (UniqueConstraint("arrival_id", "key"),)

    arrival_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("arrival.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(60))
    done_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    done_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))


class ConsultationStatus(enum.StrEnum):
    SENT = "consultation_sent"
    ANSWERED = "consultation_answered"
    WITHDRAWN = "consultation_withdrawn"


class ArrivalConsultation(UUIDPrimaryKey, Versioned, Base):
    """The municipality consults the wellbeing services county on a quota-refugee proposal.

    `summary` is the anonymised payload as sent (no names, identity codes or exact birth dates: built by
    app/domain/arrivals.anonymised_summary); the county's staff read only this, never the persons."""

    __tablename__ = "arrival_consultation"
    __table_args__ = (Index("ix_arrival_consultation_county_id_status", "county_id", "status"),)

    arrival_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("arrival.id", ondelete="CASCADE"), index=True)
    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[ConsultationStatus] = mapped_column(
        enum_column(ConsultationStatus, "consultation_status"), default=ConsultationStatus.SENT
    )
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    question: Mapped[str | None] = mapped_column(Text)
    sent_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)  # the county's comments
    answered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    answered_at: Mapped[datetime | None]
