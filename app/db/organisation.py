"""Organisations, staff and their roles."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UUIDPrimaryKey, Versioned


def enum_column(enum_class: type[enum.Enum], name: str) -> Enum:
    """Enums stored as their values in a VARCHAR with a CHECK, the same on SQLite and PostgreSQL."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=40,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class OrganisationType(enum.StrEnum):
    MUNICIPALITY = "municipality"
    EMPLOYMENT_AUTHORITY = "employment_authority"
    WELLBEING_COUNTY = "wellbeing_county"
    SERVICE_PROVIDER = "service_provider"


class Role(enum.StrEnum):
    INTEGRATION_OFFICER = "integration_officer"
    MANAGER = "manager"
    ADMINISTRATOR = "administrator"
    COUNTY_TEAM_MEMBER = "county_team_member"
    INTERPRETER = "interpreter"


class Organisation(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "organisation"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[OrganisationType] = mapped_column(enum_column(OrganisationType, "organisation_type"))
    # Statistics Finland municipality code or the business id, whichever identifies it.
    code: Mapped[str | None] = mapped_column(String(20))

    staff: Mapped[list[Staff]] = relationship(back_populates="organisation")


class Staff(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "staff"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # A password an administrator gave (a new account or a reset): good for one sign-in, after which the
    # person must choose their own before anything else (ASVS 6.4.1).
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=false())
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(back_populates="staff", lazy="joined")
    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.roles)


class StaffRole(Base):
    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("staff_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))

    staff: Mapped[Staff] = relationship(back_populates="roles")
