"""The access policy module on its own: role permissions, the client scope as SQL, the health category,
write rights. The HTTP matrix (test_access_matrix.py) checks that the routes actually ask it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.client import Client, ClientAccessGrant, DataCategory
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.domain.policy import (
    ROLE_PERMISSIONS,
    Actor,
    Permission,
    client_scope,
    load_client,
    may_read_health,
    may_write_client,
    may_write_health,
)
from app.settings import Settings
from tests.integration.test_access_matrix import EXPECTED_PERMISSIONS

T = TypeVar("T")


def test_role_permissions_are_as_the_issue_states():
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS == EXPECTED_PERMISSIONS
    # Administrators manage staff and nothing else; interpreters get nothing from the register itself,
    # only their own assignments (calendar) and translation work.
    assert ROLE_PERMISSIONS[Role.ADMINISTRATOR] == {Permission.STAFF_MANAGE}
    assert ROLE_PERMISSIONS[Role.INTERPRETER] == {Permission.CALENDAR, Permission.TRANSLATION_WORK}
    # Only the staff manager manages staff, only the manager searches the audit log.
    holders = {p: {r for r, ps in ROLE_PERMISSIONS.items() if p in ps} for p in Permission}
    assert holders[Permission.STAFF_MANAGE] == {Role.ADMINISTRATOR}
    assert holders[Permission.AUDIT_SEARCH] == {Role.MANAGER}
    assert holders[Permission.HEALTH_WRITE] == {Role.INTEGRATION_OFFICER}
    assert holders[Permission.CLIENT_WRITE] == {Role.INTEGRATION_OFFICER}
    # Outreach (with referrals by other authorities), arrivals and guidance visits are the integration
    # officers' work; the managed list of visit topics is the managers'.
    for permission in (Permission.OUTREACH, Permission.ARRIVALS, Permission.GUIDANCE_VISITS):
        assert holders[permission] == {Role.INTEGRATION_OFFICER}, permission
    assert holders[Permission.GUIDANCE_TOPICS] == {Role.MANAGER}


def _actor(staff: Staff, organisation: Organisation, *roles: Role) -> Actor:
    return Actor(
        staff_id=staff.id,
        organisation_id=organisation.id,
        organisation_type=organisation.type,
        roles=frozenset(roles or staff.role_set),
        name=staff.full_name,
    )


class Scene:
    """Two municipalities, an employment authority, a wellbeing county and an interpreter agency."""

    def __init__(self, factory: Any, db: Session) -> None:
        self.db = db
        self.a = factory.organisation("Kunta A")
        self.b = factory.organisation("Kunta B")
        self.employment = factory.organisation("TE-palvelut E", OrganisationType.EMPLOYMENT_AUTHORITY)
        self.county = factory.organisation("Hyvinvointialue C", OrganisationType.WELLBEING_COUNTY)
        self.agency = factory.organisation("Tulkkauspalvelu P", OrganisationType.SERVICE_PROVIDER)
        self.client_a = factory.client(self.a, first_names="Aino")
        self.client_b = factory.client(self.b, first_names="Birgitta")
        self.client_b_health = factory.client(self.b, first_names="Bea")
        self.client_b_ended = factory.client(self.b, first_names="Benjamin")
        self.client_e = factory.client(self.employment, first_names="Eero")
        self.officer_b = factory.staff(self.b, Role.INTEGRATION_OFFICER)
        self.county_staff = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.other_county_staff = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.grant(self.client_b, self.county_staff, DataCategory.BASIC)
        self.grant(self.client_b_health, self.county_staff, DataCategory.HEALTH)
        ended = self.grant(self.client_b_ended, self.county_staff, DataCategory.HEALTH)
        ended.ended_at = utcnow() - timedelta(days=1)
        # A grant to a colleague opens nothing to anyone else.
        self.grant(self.client_a, self.other_county_staff, DataCategory.HEALTH)
        db.commit()
        self.factory = factory

    def grant(self, client: Client, staff: Staff, category: DataCategory) -> ClientAccessGrant:
        grant = ClientAccessGrant(
            client_id=client.id,
            staff_id=staff.id,
            category=category,
            granted_by_id=self.officer_b.id,
            reason="Monialainen yhteistyö",
        )
        self.db.add(grant)
        self.db.commit()
        return grant

    def actor(self, organisation: Organisation, *roles: Role) -> Actor:
        return _actor(self.factory.staff(organisation, *roles), organisation)

    def visible(self, actor: Actor) -> set[str]:
        names = set(self.db.scalars(select(Client.first_names).where(client_scope(actor))).all())
        self.db.rollback()
        return names


@pytest.fixture
def scene(factory, db):
    return Scene(factory, db)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("officer of A", {"Aino"}),
        ("manager of A", {"Aino"}),
        ("administrator of A", set()),
        ("administrator and officer of A", {"Aino"}),
        ("officer of the employment authority", {"Eero"}),
        ("county team member", {"Birgitta", "Bea"}),  # granted, either category; not the ended grant
        ("interpreter", set()),
        ("administrator of the county", set()),
    ],
)
def test_client_scope_selects_exactly_the_clients_the_actor_may_read(scene, who, sees):
    actors = {
        "officer of A": lambda: scene.actor(scene.a, Role.INTEGRATION_OFFICER),
        "manager of A": lambda: scene.actor(scene.a, Role.MANAGER),
        "administrator of A": lambda: scene.actor(scene.a, Role.ADMINISTRATOR),
        "administrator and officer of A": lambda: scene.actor(
            scene.a, Role.ADMINISTRATOR, Role.INTEGRATION_OFFICER
        ),
        "officer of the employment authority": lambda: scene.actor(
            scene.employment, Role.INTEGRATION_OFFICER
        ),
        "county team member": lambda: _actor(scene.county_staff, scene.county),
        "interpreter": lambda: scene.actor(scene.agency, Role.INTERPRETER),
        "administrator of the county": lambda: scene.actor(scene.county, Role.ADMINISTRATOR),
    }
    assert scene.visible(actors[who]()) == sees


def test_an_organisation_role_outside_a_client_organisation_opens_nothing(scene):
    """The admin form forbids it, but should an officer role land in a county or agency account, the
    policy still gives no organisation-wide access there."""
    assert scene.visible(scene.actor(scene.county, Role.INTEGRATION_OFFICER, Role.MANAGER)) == set()
    assert scene.visible(scene.actor(scene.agency, Role.INTEGRATION_OFFICER)) == set()


def test_write_rights_follow_the_responsible_organisation_only(scene):
    officer_a = scene.actor(scene.a, Role.INTEGRATION_OFFICER)
    manager_a = scene.actor(scene.a, Role.MANAGER)
    admin_a = scene.actor(scene.a, Role.ADMINISTRATOR)
    county = _actor(scene.county_staff, scene.county)
    assert may_write_client(officer_a, scene.client_a)
    assert may_write_health(officer_a, scene.client_a)
    for actor, client in [
        (officer_a, scene.client_b),  # another municipality's client
        (manager_a, scene.client_a),  # reads, never writes
        (admin_a, scene.client_a),
        (county, scene.client_b),  # granted to read only
    ]:
        assert not may_write_client(actor, client), (actor.roles, client.first_names)
        assert not may_write_health(actor, client), (actor.roles, client.first_names)


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_async_engine(settings.async_database_url)
        try:
            async with AsyncSession(engine) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_health_data_is_a_narrower_category(scene, settings):
    officer_a = scene.actor(scene.a, Role.INTEGRATION_OFFICER)
    manager_a = scene.actor(scene.a, Role.MANAGER)
    county = _actor(scene.county_staff, scene.county)
    colleague = _actor(scene.other_county_staff, scene.county)
    cases = [
        (officer_a, scene.client_a, True),
        (officer_a, scene.client_b, False),
        (manager_a, scene.client_a, False),  # reads the client, not their health data
        (county, scene.client_b, False),  # basic grant only
        (county, scene.client_b_health, True),  # health grant
        (county, scene.client_b_ended, False),  # the health grant has ended
        (county, scene.client_a, False),  # the colleague's grant is not theirs
        (colleague, scene.client_a, True),
    ]

    async def decide(session: AsyncSession) -> list[bool]:
        return [await may_read_health(session, actor, client) for actor, client, _ in cases]

    decided = _run(settings, decide)
    wrong = [
        (sorted(actor.roles), client.first_names, got)
        for (actor, client, expected), got in zip(cases, decided, strict=True)
        if got != expected
    ]
    assert not wrong


def test_load_client_never_returns_a_record_outside_the_scope(scene, settings):
    officer_a = scene.actor(scene.a, Role.INTEGRATION_OFFICER)
    county = _actor(scene.county_staff, scene.county)
    admin_a = scene.actor(scene.a, Role.ADMINISTRATOR)
    probes = [
        (officer_a, scene.client_a.id, "Aino"),
        (officer_a, scene.client_b.id, None),
        (officer_a, uuid.uuid4(), None),
        (county, scene.client_b.id, "Birgitta"),
        (county, scene.client_b_ended.id, None),
        (county, scene.client_a.id, None),
        (admin_a, scene.client_a.id, None),
    ]

    async def load(session: AsyncSession) -> list[str | None]:
        found = []
        for actor, client_id, _ in probes:
            client = await load_client(session, actor, client_id)
            found.append(client.first_names if client else None)
        return found

    assert _run(settings, load) == [expected for _a, _c, expected in probes]
