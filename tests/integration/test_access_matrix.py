"""The access-control matrix (§§79–81): every role × every back-office route × method, aimed at another
organisation's objects, must be refused — 404 where the role could act but the object is out of its
scope, 403 only where the role lacks the permission altogether — without showing the other organisation's
data and without changing the database.

The routes are read from the Litestar app itself, so a new /officer/ route fails the inventory test until
it is added to MATRIX (or, with a reason, to SESSIONLESS). Positive controls run the same requests on the
actor's own organisation's objects, so a matrix that refuses everything for the wrong reason cannot pass.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.auth import Passkey, StaffSession
from app.db.base import utcnow
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientLanguage,
    ClientStatus,
    Consent,
    DataCategory,
    FamilyLink,
    FamilyRelation,
    HealthInformation,
)
from app.db.organisation import Organisation, OrganisationType, Role, Staff, StaffRole
from app.domain.policy import Permission
from app.web import staff_guard
from tests.conftest import PASSWORD, csrf_token, post, sign_in

# --- the policy as the issue states it ------------------------------------------------------------

# What each role may do in principle (checked against app.domain.policy.ROLE_PERMISSIONS in
# test_access_policy.py); which objects it applies to is what the matrix tests.
EXPECTED_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.INTEGRATION_OFFICER: frozenset(
        {
            Permission.CLIENT_READ,
            Permission.CLIENT_WRITE,
            Permission.HEALTH_READ,
            Permission.HEALTH_WRITE,
            Permission.CLIENT_ACCESS_HISTORY,
            Permission.PROGRAMME_READ,
            Permission.PROGRAMME_MANAGE,
            Permission.WORKLIST,
        }
    ),
    Role.MANAGER: frozenset(
        {
            Permission.CLIENT_READ,
            Permission.CLIENT_ACCESS_HISTORY,
            Permission.AUDIT_SEARCH,
            Permission.PROGRAMME_READ,
            Permission.PROGRAMME_MANAGE,
            Permission.TEAM_WORKLIST,
        }
    ),
    Role.ADMINISTRATOR: frozenset({Permission.STAFF_MANAGE}),
    Role.COUNTY_TEAM_MEMBER: frozenset(
        {Permission.CLIENT_READ, Permission.HEALTH_READ, Permission.PROGRAMME_READ}
    ),
    Role.INTERPRETER: frozenset(),
}

# The organisation each role is signed in from (organisation A, from that role's point of view).
HOME_TYPE = {
    Role.INTEGRATION_OFFICER: OrganisationType.MUNICIPALITY,
    Role.MANAGER: OrganisationType.MUNICIPALITY,
    Role.ADMINISTRATOR: OrganisationType.MUNICIPALITY,
    Role.COUNTY_TEAM_MEMBER: OrganisationType.WELLBEING_COUNTY,
    Role.INTERPRETER: OrganisationType.SERVICE_PROVIDER,
}

ACTOR_NAMES = {
    Role.INTEGRATION_OFFICER: "Anna Omavirkailija",
    Role.MANAGER: "Matti Omaesihenkilö",
    Role.ADMINISTRATOR: "Aada Omaylläpitäjä",
    Role.COUNTY_TEAM_MEMBER: "Kaisa Maakuntatiimi",
    Role.INTERPRETER: "Tuomas Tulkkipalvelu",
}


def holds(role: Role, permission: Permission | None) -> bool:
    return permission is None or permission in EXPECTED_PERMISSIONS[role]


# --- the world: organisation A (the actors'), organisation B (someone else's) ----------------------


@dataclass(frozen=True)
class Target:
    """Plain values (never ORM objects) naming the objects a request is aimed at."""

    organisation_id: uuid.UUID
    client_id: uuid.UUID
    client_display: str  # "Last, First", as every page shows a client
    phone: str
    email: str
    related_identifier: str  # another client of the *actor's* organisation, for a family link
    related_client_id: uuid.UUID  # a family member of client_id in the same organisation
    staff_id: uuid.UUID
    staff_name: str
    staff_email: str
    passkey_id: uuid.UUID
    passkey_name: str
    passkey_credential: str  # base64url, as in WebAuthn options
    client_version: int = 0
    staff_version: int = 0

    def fresh(self, db: Session) -> Target:
        """The same target with the versions as saved now (forms post the version they were opened at)."""
        client_version = db.scalar(select(Client.version).where(Client.id == self.client_id)) or 0
        staff_version = db.scalar(select(Staff.version).where(Staff.id == self.staff_id)) or 0
        db.rollback()
        return dataclasses.replace(self, client_version=client_version, staff_version=staff_version)

    def nonexistent(self) -> Target:
        """Random ids: a refusal for another organisation's object must look exactly like this one."""
        return dataclasses.replace(
            self,
            client_id=uuid.uuid4(),
            related_client_id=uuid.uuid4(),
            staff_id=uuid.uuid4(),
            passkey_id=uuid.uuid4(),
        )


@dataclass(frozen=True)
class World:
    actors: dict[Role, uuid.UUID]
    emails: dict[uuid.UUID, str]
    own: Target  # organisation A's objects; the passkey is the integration officer's
    own_passkeys: dict[Role, tuple[uuid.UUID, str, str]]
    other: Target  # organisation B's objects
    other_organisation_id: uuid.UUID
    other_client_ids: tuple[uuid.UUID, ...]
    other_staff_id: uuid.UUID
    own_client_id: uuid.UUID
    other_granted_client_id: uuid.UUID  # B's second client, granted (basic) to the county actor

    def own_target(self, role: Role) -> Target:
        passkey_id, name, credential = self.own_passkeys[role]
        return dataclasses.replace(
            self.own, passkey_id=passkey_id, passkey_name=name, passkey_credential=credential
        )

    def secrets(self, role: Role) -> tuple[str, ...]:
        """Strings from organisation B's records that no response to an organisation-A actor may contain.

        None of them is ever sent in a request, so an echo of the input cannot trip the check."""
        found = (
            "Birgitta",  # B's client's first name
            "TMP-BVIERAS1",  # B's client's temporary identifier
            "Salainen terveystieto B",  # B's client's health information
            "Bertil Vierasvirkailija",  # B's officer
            self.other.staff_email,
            self.other.passkey_name,
        )
        # B's second client is granted to the county team member, and only to them.
        return found if role is Role.COUNTY_TEAM_MEMBER else (*found, "Bruno")


def _passkey(db: Session, staff_id: uuid.UUID, name: str) -> tuple[uuid.UUID, str, str]:
    credential = uuid.uuid4().bytes
    key = Passkey(staff_id=staff_id, credential_id=credential, public_key=b"\x00" * 32, name=name)
    db.add(key)
    db.commit()
    return key.id, name, base64.urlsafe_b64encode(credential).rstrip(b"=").decode()


def build_world(factory: Any, db: Session) -> World:
    home = factory.organisation("Kunta A", OrganisationType.MUNICIPALITY)
    homes = {
        OrganisationType.MUNICIPALITY: home,
        OrganisationType.WELLBEING_COUNTY: factory.organisation(
            "Hyvinvointialue C", OrganisationType.WELLBEING_COUNTY
        ),
        OrganisationType.SERVICE_PROVIDER: factory.organisation(
            "Tulkkauspalvelu P", OrganisationType.SERVICE_PROVIDER
        ),
    }
    other = factory.organisation("Kunta B", OrganisationType.MUNICIPALITY)

    actors = {}
    for role in Role:
        person = factory.staff(homes[HOME_TYPE[role]], role)
        person.full_name = ACTOR_NAMES[role]
        actors[role] = person
    colleague = factory.staff(home, Role.INTEGRATION_OFFICER, email="aleksi.kollega@kunta-a.example")
    colleague.full_name = "Aleksi Omakollega"
    officer_b = factory.staff(other, Role.INTEGRATION_OFFICER, email="bertil.vieras@kunta-b.example")
    officer_b.full_name = "Bertil Vierasvirkailija"
    db.commit()

    client_b = factory.client(
        other,
        first_names="Birgitta",
        last_name="Vieraskuntalainen",
        identity_code="131052-308T",
        temporary_identifier="TMP-BVIERAS1",
        date_of_birth=date(1952, 10, 13),
        phone="+358401234567",
        email="birgitta@example.fi",
    )
    granted_b = factory.client(other, first_names="Bruno", last_name="Vieraskuntalainen")
    client_a = factory.client(
        home,
        first_names="Aino",
        last_name="Omakuntalainen",
        date_of_birth=date(1985, 6, 15),
        phone="+358409876543",
        email="aino@example.fi",
    )
    sibling_a = factory.client(home, first_names="Aapo", last_name="Omakuntalainen")
    db.add_all(
        [
            HealthInformation(
                client_id=client_b.id,
                text="Salainen terveystieto B",
                source="B:n lääkäri",
                recorded_by_id=officer_b.id,
            ),
            HealthInformation(
                client_id=client_a.id,
                text="Oma terveystieto A",
                source="A:n lääkäri",
                recorded_by_id=colleague.id,
            ),
            FamilyLink(client_id=client_b.id, related_client_id=granted_b.id, relation=FamilyRelation.SPOUSE),
            FamilyLink(client_id=granted_b.id, related_client_id=client_b.id, relation=FamilyRelation.SPOUSE),
            ClientAccessGrant(
                client_id=granted_b.id,
                staff_id=actors[Role.COUNTY_TEAM_MEMBER].id,
                category=DataCategory.BASIC,
                granted_by_id=officer_b.id,
                reason="Monialainen yhteistyö",
            ),
        ]
    )
    db.commit()

    own_passkeys = {role: _passkey(db, actors[role].id, f"Oma avain {role.value}") for role in Role}
    b_key, b_key_name, b_credential = _passkey(db, officer_b.id, "Bertilin avain")
    ids = {
        "client_b": client_b.id,
        "granted_b": granted_b.id,
        "client_a": client_a.id,
        "sibling": sibling_a.temporary_identifier,
    }
    world = World(
        actors={role: person.id for role, person in actors.items()},
        emails={person.id: person.email for person in [*actors.values(), colleague, officer_b]},
        own=Target(
            organisation_id=home.id,
            client_id=ids["client_a"],
            client_display="Omakuntalainen, Aino",
            phone="+358409876543",
            email="aino@example.fi",
            related_identifier=str(ids["sibling"]),
            related_client_id=sibling_a.id,
            staff_id=colleague.id,
            staff_name="Aleksi Omakollega",
            staff_email="aleksi.kollega@kunta-a.example",
            passkey_id=own_passkeys[Role.INTEGRATION_OFFICER][0],
            passkey_name=own_passkeys[Role.INTEGRATION_OFFICER][1],
            passkey_credential=own_passkeys[Role.INTEGRATION_OFFICER][2],
        ),
        own_passkeys=own_passkeys,
        other=Target(
            organisation_id=other.id,
            client_id=ids["client_b"],
            client_display="Vieraskuntalainen, Birgitta",
            phone="+358401234567",
            email="birgitta@example.fi",
            related_identifier=str(ids["sibling"]),
            related_client_id=granted_b.id,
            staff_id=officer_b.id,
            staff_name="Bertil Vierasvirkailija",
            staff_email="bertil.vieras@kunta-b.example",
            passkey_id=b_key,
            passkey_name=b_key_name,
            passkey_credential=b_credential,
        ),
        other_organisation_id=other.id,
        other_client_ids=(ids["client_b"], ids["granted_b"]),
        other_staff_id=officer_b.id,
        own_client_id=ids["client_a"],
        other_granted_client_id=ids["granted_b"],
    )
    db.rollback()
    return world


def sign_in_as(client: TestClient[Litestar], world: World, role: Role) -> None:
    client.cookies.clear()  # a fresh browser: B's officer's session (if any) stays alive
    sign_in(client, _Person(world.emails[world.actors[role]]))


@dataclass(frozen=True)
class _Person:
    email: str


def b_officer_opens_their_client(client: TestClient[Litestar], world: World) -> None:
    """Organisation B's own activity, so the audit log and access history hold B's events."""
    sign_in(client, _Person(world.other.staff_email))
    assert client.get(f"/officer/clients/{world.other.client_id}").status_code == 200
    client.cookies.clear()


# --- the matrix -----------------------------------------------------------------------------------

CLIENT_FORM = {
    "segment": "2",
    "known_on": "2025-03-01",
    "known_how": "municipal_placement",
    "first_names": "Olena",
    "last_name": "Shevchenko",
    "native_name": "Олена Шевченко",
    "citizenship": "UA",
    "mother_tongue": "uk",
    "first_permit_date": "2024-09-01",
    "permit_type": "temporary_protection",
}

Body = Callable[[Target], Any]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # exactly as app.routes names it
    needs: Permission | None  # the route's permission; None: any signed-in member of staff
    other: int  # the answer, for a role holding `needs`, when aimed at organisation B's object
    own: int  # the answer when aimed at the actor's own organisation's object (positive control)
    body: Body | None = None
    json: bool = False
    query: Callable[[Target], str] | None = None
    # Text a successful answer about the target shows: present for own objects, absent for B's.
    reveals: Callable[[Target], tuple[str, ...]] = lambda t: ()
    # Tables that gain a row when the request succeeds (every other count must stay as it was).
    creates: tuple[str, ...] = ()

    @property
    def targeted(self) -> bool:
        return "{" in self.path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _client_shown(t: Target) -> tuple[str, ...]:
    return (t.client_display,)


MATRIX: list[Case] = [
    # Profile and passkeys: every member of staff, about themselves only.
    Case("GET", "/officer", None, 200, 200),
    Case("GET", "/officer/profile", None, 200, 200, reveals=lambda t: (t.passkey_name,)),
    Case(
        "POST",
        "/officer/profile/passkeys/options",
        None,
        201,  # Litestar's default for a POST handler
        201,
        json=True,
        body=lambda t: {},
        # excludeCredentials lists the signed-in person's own passkeys, never anyone else's.
        reveals=lambda t: (t.passkey_credential,),
    ),
    Case(
        "POST",
        "/officer/profile/passkeys",
        None,
        400,  # an unverifiable credential: refused before anything is stored
        400,
        json=True,
        body=lambda t: {"name": "Uusi", "credential": {"id": t.passkey_credential, "response": {}}},
    ),
    # Deleting is scoped to the signed-in person's own passkeys: another person's id is a no-op that
    # answers exactly as an unknown id does (see the report: no 404 here, but no existence oracle).
    Case("POST", "/officer/profile/passkeys/{passkey_id:uuid}/delete", None, 302, 302),
    # The client register without an id: scoped queries, never another organisation's client.
    Case("GET", "/officer/clients", Permission.CLIENT_READ, 200, 200),
    Case(
        "POST",
        "/officer/clients/search",
        Permission.CLIENT_READ,
        200,
        200,
        body=lambda t: {"q": t.client_display.split(",")[0]},
        reveals=_client_shown,
    ),
    Case("GET", "/officer/clients/new", Permission.CLIENT_WRITE, 200, 200),
    Case(
        "POST",
        "/officer/clients/duplicates",
        Permission.CLIENT_WRITE,
        200,
        200,
        body=lambda t: {**CLIENT_FORM, "phone": t.phone, "email": t.email, "client_id": ""},
        reveals=_client_shown,
    ),
    Case(
        "POST",
        "/officer/clients",
        Permission.CLIENT_WRITE,
        303,  # B's client with the same phone and e-mail is no duplicate of ours: saved in A
        422,  # our own client with the same phone and e-mail is shown as a probable duplicate
        # organisation_id is not a form field: the new client always belongs to the actor's organisation.
        body=lambda t: {
            **CLIENT_FORM,
            "phone": t.phone,
            "email": t.email,
            "organisation_id": t.organisation_id,
        },
        reveals=_client_shown,
        creates=("client",),
    ),
    # A client by id.
    Case("GET", "/officer/clients/{client_id:uuid}", Permission.CLIENT_READ, 404, 200, reveals=_client_shown),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/edit",
        Permission.CLIENT_WRITE,
        404,
        200,
        reveals=_client_shown,
    ),
    Case(
        "GET",
        "/officer/clients/{client_id:uuid}/access-history",
        Permission.CLIENT_ACCESS_HISTORY,
        404,
        200,
        reveals=_client_shown,
    ),
    # Changes to a client: these run after the reads, which look for the client's name.
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {**CLIENT_FORM, "version": str(t.client_version)},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/family",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"relation": "spouse", "related_identifier": t.related_identifier},
    ),
    Case(  # after the link above: the officer removes the link it just made (A) or B's link (refused)
        "POST",
        "/officer/clients/{client_id:uuid}/family/{related_id:uuid}/delete",
        Permission.CLIENT_WRITE,
        404,
        303,
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/consents",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {"purpose": "wellbeing_county_sharing", "given": "yes", "decided_on": "2026-01-10"},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/health",
        Permission.HEALTH_WRITE,
        404,
        303,
        body=lambda t: {"text": "Tarvitsee esteettömän tilan", "source": "Asiakkaan oma kertomus"},
    ),
    Case(
        "POST",
        "/officer/clients/{client_id:uuid}/end",
        Permission.CLIENT_WRITE,
        404,
        303,
        body=lambda t: {
            "ended_on": "2026-01-31",
            "end_reason": "moved_away",
            "version": str(t.client_version),
        },
    ),
    # The audit log, filtered by another organisation's client: B's officer's events stay invisible.
    Case(
        "GET",
        "/officer/audit",
        Permission.AUDIT_SEARCH,
        200,
        200,
        query=lambda t: f"client={t.client_id}",
    ),
    # Administration.
    Case("GET", "/officer/admin/organisations", Permission.STAFF_MANAGE, 200, 200),
    Case(
        "POST",
        "/officer/admin/organisations",
        Permission.STAFF_MANAGE,
        303,
        303,
        body=lambda t: {"name": f"Uusi kunta {uuid.uuid4().hex[:6]}", "type": "municipality", "code": ""},
        creates=("organisation",),
    ),
    Case("GET", "/officer/admin/staff/new", Permission.STAFF_MANAGE, 200, 200),
    Case(
        "GET",
        "/officer/admin/staff",
        Permission.STAFF_MANAGE,
        200,
        200,
        reveals=lambda t: (t.staff_name, t.staff_email),
    ),
    Case(
        "POST",
        "/officer/admin/staff",
        Permission.STAFF_MANAGE,
        422,  # another organisation is out of scope: refused as a form error, nothing created
        200,
        body=lambda t: {
            "email": f"uusi.{uuid.uuid4().hex[:6]}@example.fi",
            "full_name": "Uusi Henkilö",
            "organisation_id": str(t.organisation_id),
            "roles": "integration_officer",
        },
        creates=("staff", "staff_role"),
    ),
    Case(
        "GET",
        "/officer/admin/staff/{staff_id:uuid}",
        Permission.STAFF_MANAGE,
        404,
        200,
        reveals=lambda t: (t.staff_name, t.staff_email),
    ),
    # State-changing staff administration last: if it wrongly succeeds on B, nothing after it is affected.
    Case(
        "POST",
        "/officer/admin/staff/{staff_id:uuid}",
        Permission.STAFF_MANAGE,
        404,
        303,
        body=lambda t: {
            "full_name": "Muutettu Nimi",
            "roles": ["integration_officer", "manager"],
            "version": str(t.staff_version),
        },
        creates=("staff_role",),
    ),
    Case("POST", "/officer/admin/staff/{staff_id:uuid}/deactivate", Permission.STAFF_MANAGE, 404, 303),
    Case(
        "POST",
        "/officer/admin/staff/{staff_id:uuid}/reset-password",
        Permission.STAFF_MANAGE,
        404,
        200,
        reveals=lambda t: ('class="secret"',),  # the one-time password
    ),
]

# /officer/ routes that need no session, each with the reason.
SESSIONLESS: dict[tuple[str, str], str] = {
    ("GET", "/officer/sign-in"): "the sign-in page itself",
    ("POST", "/officer/sign-in"): "password sign-in: checks the credentials, rate-limited",
    ("POST", "/officer/sign-in/passkey/options"): "a passkey sign-in challenge: holds no personal data",
    ("POST", "/officer/sign-in/passkey"): "passkey sign-in: checks the assertion, rate-limited",
    ("POST", "/officer/sign-out"): "ends whatever session the cookie names; nothing to do without one",
}

# Routes outside /officer/, each with the reason it is not in the matrix.
PUBLIC_PATHS: dict[str, str] = {
    "/": "public landing page, no personal data",
    "/accessibility": "public accessibility statement",
    "/me": "placeholder for the migrants' app, no personal data",
    "/health": "liveness probe, no personal data",
    "/static/{file_path:path}": "static assets",
}
PUBLIC_PREFIXES: dict[str, str] = {
    "/schema": "Litestar's generated OpenAPI documents and viewers (route descriptions, no data)",
}

# Methods Litestar adds by itself: OPTIONS (an Allow header, no application code; behind the same
# guards, see test_unauthenticated_requests_are_sent_to_sign_in) and HEAD (static files only).
AUTOMATIC_METHODS = {"OPTIONS", "HEAD"}

PATH_PARAMETERS: dict[str, Callable[[Target], uuid.UUID]] = {
    "client_id": lambda t: t.client_id,
    "related_id": lambda t: t.related_client_id,
    "staff_id": lambda t: t.staff_id,
    "passkey_id": lambda t: t.passkey_id,
}


# --- sending and checking -------------------------------------------------------------------------


def url_for(case: Case, target: Target) -> str:
    def fill(match: re.Match[str]) -> str:
        return str(PATH_PARAMETERS[match.group(1)](target))

    url = re.sub(r"\{(\w+):\w+\}", fill, case.path)
    if url == "/officer":
        url = "/officer/"
    return url + (f"?{case.query(target)}" if case.query else "")


def send(client: TestClient[Litestar], case: Case, target: Target) -> Any:
    url = url_for(case, target)
    if case.method == "GET":
        return client.get(url, follow_redirects=False)
    body = case.body(target) if case.body else {}
    if case.json:
        headers = {"x-csrftoken": csrf_token(client), "accept": "application/json"}
        return client.post(url, json=body, headers=headers, follow_redirects=False)
    return post(client, url, body)


COUNTED = (
    Client,
    ClientLanguage,
    Consent,
    FamilyLink,
    HealthInformation,
    ClientAccessGrant,
    Organisation,
    Staff,
    StaffRole,
    Passkey,
)


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    other: dict[str, Any]  # organisation B's records, down to versions and password hashes


def snapshot(db: Session, world: World) -> Snapshot:
    counts = {m.__tablename__: db.scalar(select(func.count()).select_from(m)) or 0 for m in COUNTED}
    b_clients = world.other_client_ids
    b_staff = db.scalars(select(Staff.id).where(Staff.organisation_id == world.other_organisation_id)).all()

    def rows(statement: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in db.execute(statement).all()]

    def staff_rows(statement: Any) -> list[tuple[Any, ...]]:
        return [(*r[:-1], (r[-1] or "")[-6:]) for r in rows(statement)]  # the hash's tail is enough

    other = {
        "clients": rows(
            select(Client.id, Client.version, Client.status, Client.updated_at)
            .where(or_(Client.organisation_id == world.other_organisation_id, Client.id.in_(b_clients)))
            .order_by(Client.id)
        ),
        "languages": rows(select(ClientLanguage.id).where(ClientLanguage.client_id.in_(b_clients))),
        "consents": rows(select(Consent.id, Consent.version).where(Consent.client_id.in_(b_clients))),
        "family links": rows(
            select(FamilyLink.id, FamilyLink.version).where(
                or_(FamilyLink.client_id.in_(b_clients), FamilyLink.related_client_id.in_(b_clients))
            )
        ),
        "health information": rows(
            select(HealthInformation.id, HealthInformation.version).where(
                HealthInformation.client_id.in_(b_clients)
            )
        ),
        "grants": rows(
            select(ClientAccessGrant.id, ClientAccessGrant.version, ClientAccessGrant.ended_at).where(
                ClientAccessGrant.client_id.in_(b_clients)
            )
        ),
        "staff": rows(
            select(
                Staff.id, Staff.version, Staff.full_name, Staff.active, func.substr(Staff.password_hash, -6)
            )
            .where(Staff.organisation_id == world.other_organisation_id)
            .order_by(Staff.id)
        ),
        "roles": rows(
            select(StaffRole.staff_id, StaffRole.role)
            .where(StaffRole.staff_id.in_(b_staff))
            .order_by(StaffRole.id)
        ),
        "passkeys": rows(select(Passkey.id, Passkey.name).where(Passkey.staff_id.in_(b_staff))),
        "sessions": rows(select(StaffSession.token_hash).where(StaffSession.staff_id.in_(b_staff))),
        "audit events about B": db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                or_(
                    AuditEvent.client_id.in_(b_clients),
                    AuditEvent.object_id.in_([str(s) for s in b_staff]),
                )
            )
        ),
    }
    db.rollback()  # end the read transaction: the app writes next
    return Snapshot(counts, other)


def _row(values: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(v)[:8] if isinstance(v, uuid.UUID) else str(v) for v in values) + ")"


def _diff(before: Any, after: Any) -> str:
    """Rows gone and rows new, compactly (ids shortened), rather than two long lists."""
    if not isinstance(before, list):
        return f"{before} -> {after}"
    gone = [_row(r) for r in before if r not in after]
    new = [_row(r) for r in after if r not in before]
    return "; ".join(part for part in (f"gone {gone}" * bool(gone), f"new {new}" * bool(new)) if part)


def database_problems(before: Snapshot, after: Snapshot, allowed: tuple[str, ...]) -> list[str]:
    problems = [
        f"organisation B's {name} changed: {_diff(before.other[name], after.other[name])}"
        for name in before.other
        if before.other[name] != after.other[name]
    ]
    for table, count in before.counts.items():
        grown = after.counts[table] - count
        if grown and not (table in allowed and grown == 1):
            problems.append(f"{table}: {count} -> {after.counts[table]} rows")
    return problems


def check_refused(
    client: TestClient[Litestar], db: Session, world: World, role: Role, case: Case
) -> list[str]:
    """One role × route × method against organisation B's objects; returns what went wrong."""
    target = world.other.fresh(db)
    expected = case.other if holds(role, case.needs) else 403
    before = snapshot(db, world)
    response = send(client, case, target)
    after = snapshot(db, world)
    problems = []
    if response.status_code != expected:
        problems.append(f"answered {response.status_code}, expected {expected}")
    shown = [s for s in dict.fromkeys((*world.secrets(role), *case.reveals(target))) if s in response.text]
    if shown:
        problems.append(f"the response shows organisation B's data: {shown}")
    succeeded = response.status_code < 400
    problems += database_problems(before, after, case.creates if succeeded else ())
    if case.targeted and not problems:
        # Indistinguishable from an id that does not exist: the answer confirms nothing.
        unknown = target.nonexistent()
        probe = send(client, case, unknown)
        # The page may echo its own address (language links); that is the request's id, not knowledge.
        echoed = probe.text.replace(url_for(case, unknown), url_for(case, target))
        seen = (response.status_code, response.headers.get("location"), response.text)
        if (probe.status_code, probe.headers.get("location"), echoed) != seen:
            problems.append(f"answers differently for an unknown id ({probe.status_code}): existence leaks")
    return problems


# --- tests ----------------------------------------------------------------------------------------


def officer_routes(app: Litestar) -> dict[tuple[str, str], Any]:
    """(method, path) → handler for every /officer route, as the app itself routes them."""
    found = {}
    for route in app.routes:
        if not (route.path == "/officer" or route.path.startswith("/officer/")):
            continue
        for method, (handler, _kwargs) in route.route_handler_map.items():  # type: ignore[union-attr]
            if method not in AUTOMATIC_METHODS:
                found[(method, route.path)] = handler
    return found


def test_every_route_is_in_the_matrix_or_explicitly_allowed(app):
    routes = officer_routes(app)
    covered = {(c.method, c.path) for c in MATRIX}
    assert len(covered) == len(MATRIX), "a route is listed twice in MATRIX"
    missing = sorted(set(routes) - covered - set(SESSIONLESS))
    stale = sorted((covered | set(SESSIONLESS)) - set(routes))
    assert not missing, f"/officer routes not in the access matrix (add them to MATRIX): {missing}"
    assert not stale, f"MATRIX/SESSIONLESS name routes the app no longer has: {stale}"
    assert not covered & set(SESSIONLESS)

    # Path parameters: each has another organisation's object to substitute.
    parameters = {name for _m, path in routes for name in re.findall(r"\{(\w+):", path)}
    assert parameters <= set(PATH_PARAMETERS), (
        f"no other-organisation object for {parameters - set(PATH_PARAMETERS)}"
    )

    # Every route outside /officer is public on purpose.
    for route in app.routes:
        path = route.path
        if path == "/officer" or path.startswith("/officer/"):
            continue
        assert path in PUBLIC_PATHS or path.startswith(tuple(PUBLIC_PREFIXES)), (
            f"route {path} is neither under /officer/ (and so in the matrix) nor listed as public"
        )

    # Structure, as a second line behind the HTTP tests: every matrix route runs the session guard.
    unguarded = [
        key
        for key, handler in routes.items()
        if key not in SESSIONLESS and staff_guard not in handler.resolve_guards()
    ]
    assert not unguarded, f"/officer routes without staff_guard: {unguarded}"


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_role_is_refused_another_organisations_objects(role, client, factory, db):
    world = build_world(factory, db)
    b_officer_opens_their_client(client, world)
    sign_in_as(client, world, role)
    failures: dict[tuple[Role, str, str], list[str]] = {}
    for case in MATRIX:
        problems = check_refused(client, db, world, role, case)
        if problems:
            failures[(role, case.method, case.path)] = problems

    report = "\n".join(f"  {role.value} {m} {p}: {'; '.join(ps)}" for (_r, m, p), ps in failures.items())
    assert not failures, f"{len(failures)} of {len(MATRIX)} routes not refused as the policy says:\n{report}"


def sign_in_path(response) -> str:
    """The redirect's path; a GET carries ?next=<the page asked for> back after signing in."""
    return (response.headers.get("location") or "").split("?")[0]


def test_unauthenticated_requests_are_sent_to_sign_in(client, factory, db):
    world = build_world(factory, db)
    csrf_token(client)  # a token, so that a refusal is about the session, not CSRF
    failures = []
    for case in MATRIX:
        before = snapshot(db, world)
        response = send(client, case, world.other.fresh(db))
        after = snapshot(db, world)
        problems = database_problems(before, after, ())
        if (response.status_code, sign_in_path(response)) != (302, "/officer/sign-in"):
            problems.append(f"answered {response.status_code} {response.headers.get('location')}")
        if shown := [s for s in world.secrets(Role.INTERPRETER) if s in response.text]:
            problems.append(f"shows {shown}")
        if problems:
            failures.append(f"  {case}: {'; '.join(problems)}")
    assert not failures, "without a session:\n" + "\n".join(failures)
    # OPTIONS (Litestar's automatic answer) sits behind the same router guards.
    for path in sorted({c.path for c in MATRIX}):
        answer = client.options(
            url_for(Case("OPTIONS", path, None, 0, 0), world.other), follow_redirects=False
        )
        assert (answer.status_code, sign_in_path(answer)) == (302, "/officer/sign-in"), path


@pytest.mark.parametrize("role", [Role.INTEGRATION_OFFICER, Role.ADMINISTRATOR], ids=lambda r: r.value)
def test_the_same_requests_succeed_on_own_objects(role, client, factory, db):
    """Positive control: the matrix's requests, aimed at the actor's own organisation, go through."""
    world = build_world(factory, db)
    sign_in_as(client, world, role)
    failures = []
    for case in MATRIX:
        if not holds(role, case.needs):
            continue
        target = world.own_target(role).fresh(db)
        response = send(client, case, target)
        problems = []
        if response.status_code != case.own:
            problems.append(f"answered {response.status_code}, expected {case.own}")
        if missing := [s for s in case.reveals(target) if s not in response.text]:
            problems.append(f"does not show {missing}")
        if problems:
            failures.append(f"  {role.value} {case}: {'; '.join(problems)}")
    assert not failures, "own objects:\n" + "\n".join(failures)

    # What the successful requests did, so a 303 means the thing was really done.
    own = world.own
    if role is Role.INTEGRATION_OFFICER:
        saved = db.scalars(select(Client).where(Client.id == own.client_id)).one()
        assert saved.first_names == "Olena"
        assert saved.status == ClientStatus.ENDED
        assert (
            db.scalar(select(func.count()).select_from(Consent).where(Consent.client_id == own.client_id))
            == 1
        )
        # Linked, then unlinked again; B's link between its two clients is untouched.
        assert db.scalar(select(func.count()).select_from(FamilyLink)) == 2
        assert not db.scalar(select(FamilyLink).where(FamilyLink.client_id == own.client_id))
        health = db.scalars(
            select(HealthInformation.text).where(HealthInformation.client_id == own.client_id)
        )
        assert "Tarvitsee esteettömän tilan" in health.all()
        assert db.get(Passkey, world.own_target(role).passkey_id) is None
    else:
        colleague = db.get(Staff, own.staff_id)
        assert colleague.full_name == "Muutettu Nimi"
        assert colleague.role_set == {Role.INTEGRATION_OFFICER, Role.MANAGER}
        assert colleague.active  # deactivated, then reactivated by the password reset
        assert (
            db.scalar(select(func.count()).select_from(Staff).where(Staff.full_name == "Uusi Henkilö")) == 1
        )


def test_county_team_member_sees_a_client_only_while_granted_and_health_only_by_a_health_grant(
    client, factory, db
):
    world = build_world(factory, db)
    county = world.actors[Role.COUNTY_TEAM_MEMBER]
    b_client, b_officer = world.other.client_id, world.other_staff_id
    sign_in_as(client, world, Role.COUNTY_TEAM_MEMBER)
    page_url = f"/officer/clients/{b_client}"
    assert client.get(page_url).status_code == 404

    db.add(
        ClientAccessGrant(
            client_id=b_client,
            staff_id=county,
            category=DataCategory.BASIC,
            granted_by_id=b_officer,
            reason="Monialainen yhteistyö",
        )
    )
    db.commit()
    page = client.get(page_url)
    assert page.status_code == 200
    assert "Vieraskuntalainen, Birgitta" in page.text
    assert 'id="health"' not in page.text
    assert "Salainen terveystieto B" not in page.text
    found = post(
        client, "/officer/clients/search", {"q": "Vieraskuntalainen"}, headers={"HX-Request": "true"}
    )
    assert re.findall(r'href="/officer/clients/[0-9a-f-]+">([^<]+)</a>', found.text) == [
        "Vieraskuntalainen, Birgitta",
        "Vieraskuntalainen, Bruno",
    ]
    # Granted to read, not to write.
    assert post(client, page_url, {**CLIENT_FORM, "version": "1"}).status_code == 403
    assert client.get(f"{page_url}/access-history").status_code == 403

    db.add(
        ClientAccessGrant(
            client_id=b_client,
            staff_id=county,
            category=DataCategory.HEALTH,
            granted_by_id=b_officer,
            reason="Terveydentila vaikuttaa kotoutumiseen",
        )
    )
    db.commit()
    page = client.get(page_url)
    assert page.status_code == 200
    assert 'id="health"' in page.text
    assert "Salainen terveystieto B" in page.text
    assert post(client, f"{page_url}/health", {"text": "x", "source": "y"}).status_code == 403

    # The grant ends: the very next request no longer finds the client, as if it never existed.
    db.execute(
        update(ClientAccessGrant)
        .where(ClientAccessGrant.client_id == b_client, ClientAccessGrant.staff_id == county)
        .values(ended_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    gone = client.get(page_url)
    unknown_url = f"/officer/clients/{uuid.uuid4()}"
    unknown = client.get(unknown_url)
    assert gone.status_code == 404
    assert gone.text == unknown.text.replace(unknown_url, page_url)  # the same page but for its own address
    assert "Birgitta" not in gone.text
    # The other grant (Bruno, basic) is untouched.
    assert client.get(f"/officer/clients/{world.other_granted_client_id}").status_code == 200


def test_administrator_manages_staff_but_sees_no_client_data_without_an_officer_role(client, factory, db):
    world = build_world(factory, db)
    sign_in_as(client, world, Role.ADMINISTRATOR)
    assert client.get("/officer/clients", follow_redirects=False).status_code == 403
    assert client.get(f"/officer/clients/{world.own_client_id}", follow_redirects=False).status_code == 403
    staff = client.get("/officer/admin/staff")
    assert staff.status_code == 200
    assert "Aleksi Omakollega" in staff.text

    # With an officer role as well, the same person sees their own organisation's clients.
    home = db.get(Organisation, world.own.organisation_id)
    both = factory.staff(home, Role.ADMINISTRATOR, Role.INTEGRATION_OFFICER)
    client.cookies.clear()
    sign_in(client, both)
    assert client.get("/officer/clients").status_code == 200
    assert "Omakuntalainen, Aino" in client.get(f"/officer/clients/{world.own_client_id}").text
    assert client.get(f"/officer/clients/{world.other.client_id}").status_code == 404


def test_manager_searches_the_audit_log_and_reads_but_does_not_edit_own_clients(client, factory, db):
    world = build_world(factory, db)
    own_client = world.own_client_id
    sign_in_as(client, world, Role.INTEGRATION_OFFICER)
    assert client.get(f"/officer/clients/{own_client}").status_code == 200  # an event for the log

    sign_in_as(client, world, Role.MANAGER)
    log = client.get(f"/officer/audit?client={own_client}")
    assert log.status_code == 200
    assert "Anna Omavirkailija" in log.text
    page = client.get(f"/officer/clients/{own_client}")
    assert page.status_code == 200
    assert "Omakuntalainen, Aino" in page.text
    assert 'id="health"' not in page.text  # health data is narrower than client data
    assert "Oma terveystieto A" not in page.text
    assert client.get(f"/officer/clients/{own_client}/access-history").status_code == 200
    version = str(db.scalar(select(Client.version).where(Client.id == own_client)))
    db.rollback()
    before = snapshot(db, world)
    assert (
        post(client, f"/officer/clients/{own_client}", {**CLIENT_FORM, "version": version}).status_code == 403
    )
    assert client.get(f"/officer/clients/{own_client}/edit").status_code == 403
    assert db.scalar(select(Client.first_names).where(Client.id == own_client)) == "Aino"
    db.rollback()
    assert snapshot(db, world) == before


def _sign_in_or_stop(client: TestClient[Litestar], email: str, password: str) -> None:
    """Sign in, or stop the test: a failed sign-in is a broken set-up, not the behaviour under test."""
    csrf_token(client)
    answer = post(client, "/officer/sign-in", {"email": email, "password": password})
    if answer.status_code != 302:
        pytest.fail(f"could not sign in as {email}: {answer.status_code}")


def test_an_administrator_cannot_take_over_another_organisations_officer(client, factory, db):
    """Regression: an interpreter agency's administrator must not be able to reset municipality B's
    officer's password, sign in as that officer and read B's clients and their health data."""
    world = build_world(factory, db)
    agency = factory.organisation("Tulkkauspalvelu Q", OrganisationType.SERVICE_PROVIDER)
    admin = factory.staff(agency, Role.ADMINISTRATOR)
    _sign_in_or_stop(client, admin.email, PASSWORD)
    reset = post(client, f"/officer/admin/staff/{world.other_staff_id}/reset-password")
    shown = re.search(r"<code>([^<]+)</code>", reset.text)
    read = ""
    if shown:
        client.cookies.clear()
        _sign_in_or_stop(client, world.other.staff_email, shown.group(1))
        read = client.get(f"/officer/clients/{world.other.client_id}").text
    assert reset.status_code == 404, (
        f"reset answered {reset.status_code}; signed in with the shown password, the agency's administrator "
        f"read B's client: {'Birgitta' in read}, and their health data: {'Salainen terveystieto B' in read}"
    )
