"""Staff administration: accounts, roles, passwords. Used by the back office and the CLI."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.organisation import Organisation, OrganisationType, Role, Staff, StaffRole
from app.domain import audit, auth
from app.domain.audit import Action
from app.domain.policy import Actor
from app.settings import Settings

# Which roles make sense in which organisation type.
ROLES_BY_ORGANISATION: dict[OrganisationType, tuple[Role, ...]] = {
    OrganisationType.MUNICIPALITY: (Role.INTEGRATION_OFFICER, Role.MANAGER, Role.ADMINISTRATOR),
    OrganisationType.EMPLOYMENT_AUTHORITY: (Role.INTEGRATION_OFFICER, Role.MANAGER, Role.ADMINISTRATOR),
    OrganisationType.WELLBEING_COUNTY: (Role.COUNTY_TEAM_MEMBER, Role.ADMINISTRATOR),
    OrganisationType.SERVICE_PROVIDER: (Role.INTERPRETER, Role.ADMINISTRATOR),
}


def generate_password() -> str:
    """A one-time password shown once to the administrator, to be replaced by a passkey."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


async def email_taken(db: AsyncSession, email: str, exclude: uuid.UUID | None = None) -> bool:
    query = select(Staff.id).where(func.lower(Staff.email) == email.casefold())
    if exclude:
        query = query.where(Staff.id != exclude)
    return (await db.scalar(query)) is not None


async def create_staff(
    db: AsyncSession,
    settings: Settings,
    *,
    organisation: Organisation,
    email: str,
    full_name: str,
    roles: Iterable[Role],
    password: str,
    actor: Actor | None = None,
    password_must_change: bool = False,
) -> Staff:
    staff = Staff(
        organisation_id=organisation.id,
        organisation=organisation,
        email=email.strip().lower(),
        full_name=full_name.strip(),
        password_hash=auth.hash_password(settings, password),
        password_must_change=password_must_change,
        active=True,
        roles=[StaffRole(role=r) for r in sorted(set(roles))],
    )
    db.add(staff)
    await db.flush()
    await audit.record(db, Action.CREATE, actor=actor, actor_kind=None if actor else "system", object_type="staff",
                       object_id=staff.id, fields=["email", "full_name", "roles", "password"])  # fmt: skip
    return staff


async def set_roles(db: AsyncSession, actor: Actor, staff: Staff, roles: Iterable[Role]) -> bool:
    wanted = set(roles)
    if wanted == staff.role_set:
        return False
    staff.roles = [r for r in staff.roles if r.role in wanted] + [
        StaffRole(role=r) for r in sorted(wanted - staff.role_set)
    ]
    await db.flush()
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="staff", object_id=staff.id, fields=["roles"]
    )
    return True


async def organisation_by_name(db: AsyncSession, name: str) -> Organisation | None:
    return await db.scalar(select(Organisation).where(Organisation.name == name))
