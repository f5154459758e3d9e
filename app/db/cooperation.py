"""Multi-sector cooperation with the wellbeing services county (services 6 and 18) and its system clients."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class CooperationStatus(enum.StrEnum):
    REQUESTED = "cooperation_requested"
    ACCEPTED = "cooperation_accepted"
    DECLINED = "cooperation_declined"
    WITHDRAWN = "cooperation_withdrawn"  # the requester took the request back before an answer
    ENDED = "cooperation_ended"


OPEN_CONDITION = "status IN ('cooperation_requested', 'cooperation_accepted')"


class CountyCooperation(UUIDPrimaryKey, Versioned, Base):
    """A request from the responsible organisation to a county to take part for one client.

    Accepting creates client_access_grant rows (cooperation_id = this) for the named county staff;
    ending the cooperation ends those grants, so access is gone on the next request."""

    __tablename__ = "county_cooperation"
    __table_args__ = (
        Index("ix_county_cooperation_county_id_status", "county_id", "status"),
        Index("ix_county_cooperation_client_id_status", "client_id", "status"),
        # One open request or active cooperation per client and county, also under concurrent requests.
        Index(
            "uq_county_cooperation_client_id_county_id_open",
            "client_id",
            "county_id",
            unique=True,
            sqlite_where=text(OPEN_CONDITION),
            postgresql_where=text(OPEN_CONDITION),
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))  # the requester
    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[CooperationStatus] = mapped_column(
        enum_column(CooperationStatus, "cooperation_status"), default=CooperationStatus.REQUESTED
    )
    reason: Mapped[str] = mapped_column(Text)
    # The client's consent to sharing with the county (a consent row of purpose wellbeing_county_sharing).
    consent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent.id"))
    share_health: Mapped[bool] = mapped_column(default=False)  # the consent covers health data (§73)
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)

    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    responsible_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    contact_details: Mapped[str | None] = mapped_column(String(400))

    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)


class CountyNoteTopic(enum.StrEnum):
    """The four items the multi-sector assessment adds (3.4.2), and plan and review contributions."""

    MENTAL_HEALTH = "mental_health_rehabilitation"
    EMPLOYMENT_EDUCATION = "employment_education_services"
    SOCIAL_HEALTH = "social_health_services"
    OTHER_NEEDS = "other_needs_goals"
    PLAN = "plan_contribution"
    REVIEW = "review_contribution"


class CountyNote(UUIDPrimaryKey, Versioned, Base):
    """What county staff record for a client they cooperate on. `shared` notes are part of the joint
    assessment, plan or review and visible to the responsible organisation; the others only to the
    author's own organisation (3.4.2: county staff keep what cannot be shared)."""

    __tablename__ = "county_note"
    __table_args__ = (Index("ix_county_note_client_id_organisation_id", "client_id", "organisation_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))  # the author's
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    cooperation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("county_cooperation.id", ondelete="SET NULL"), index=True
    )
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="SET NULL"), index=True
    )
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("integration_plan.id", ondelete="SET NULL"), index=True
    )
    topic: Mapped[CountyNoteTopic] = mapped_column(enum_column(CountyNoteTopic, "county_note_topic"))
    shared: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)


class ApiClient(UUIDPrimaryKey, Versioned, Base):
    """A system (the county's information system) that fetches shared data through /api/v1/ with the
    OAuth2 client-credentials grant. Only a hash of the secret is kept; the secret is shown once."""

    __tablename__ = "api_client"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    client_key: Mapped[str] = mapped_column(String(64), unique=True)  # the public client_id
    secret_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    last_used_at: Mapped[datetime | None]


class ApiAccessToken(Base):
    """A short-lived bearer token, stored as the SHA-256 of its value."""

    __tablename__ = "api_access_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_client.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
