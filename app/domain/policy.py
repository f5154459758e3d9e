"""The access policy: the one place that decides who may see or change what (§§79–81).

Role × organisation × relationship to the client × data category. Route handlers ask it; queries are
scoped by it, so a bare id from a URL never loads another organisation's record (404, not 403).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.client import Client, ClientAccessGrant, ClientStatus, DataCategory
from app.db.cooperation import CountyNote
from app.db.organisation import OrganisationType, Role


class Permission(StrEnum):
    CLIENT_READ = "client_read"
    CLIENT_WRITE = "client_write"
    HEALTH_READ = "health_read"
    HEALTH_WRITE = "health_write"
    CLIENT_ACCESS_HISTORY = "client_access_history"
    AUDIT_SEARCH = "audit_search"
    STAFF_MANAGE = "staff_manage"
    PROGRAMME_READ = "programme_read"  # the integration programme catalogue
    PROGRAMME_MANAGE = "programme_manage"
    WORKLIST = "worklist"  # one's own deadline worklist
    TEAM_WORKLIST = "team_worklist"  # everyone's in the organisation, with counts
    CALENDAR = "calendar"  # appointments and tasks (interpreters: only their own assignments)
    MESSAGES = "messages"  # threads with clients, group messages, campaigns, templates
    TRANSLATION_WORK = "translation_work"  # translation requests and interpretation events
    COOPERATION_INBOX = "cooperation_inbox"  # county staff: requests to take part, and answering them
    CONTRACTS = "contracts"  # contracts with service providers and their attachments
    COMPENSATION = "compensation"  # costs, compensation eligibility and claims to the KEHA centre
    REPORTS = "reports"  # managers' dashboards and statistics exports
    QUALITY_MANAGE = "quality_manage"  # survey definitions
    RETENTION = "retention"  # the retention queue and the deletion record
    KNOWLEDGE_EDIT = "knowledge_edit"  # the public knowledge base: articles and visitors' questions
    OUTREACH = "outreach"  # list imports, the outreach worklist and referrals by other authorities
    ARRIVALS = "arrivals"  # quota-refugee proposals and municipal placements: preparation and reception
    GUIDANCE_VISITS = "guidance_visits"  # recording guidance and counselling visits (service 4)
    GUIDANCE_TOPICS = "guidance_topics"  # the managed list of visit topics


# What each role may do in principle; which clients it applies to is decided by client_scope().
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
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
            Permission.CALENDAR,
            Permission.MESSAGES,
            Permission.TRANSLATION_WORK,
            Permission.CONTRACTS,
            Permission.COMPENSATION,
            Permission.KNOWLEDGE_EDIT,
            Permission.OUTREACH,
            Permission.ARRIVALS,
            Permission.GUIDANCE_VISITS,
        }
    ),
    Role.MANAGER: frozenset(
        {
            Permission.GUIDANCE_TOPICS,
            Permission.KNOWLEDGE_EDIT,
            Permission.CONTRACTS,
            Permission.COMPENSATION,
            Permission.REPORTS,
            Permission.QUALITY_MANAGE,
            Permission.RETENTION,
            Permission.CLIENT_READ,
            Permission.CLIENT_ACCESS_HISTORY,
            Permission.AUDIT_SEARCH,
            Permission.PROGRAMME_READ,
            Permission.PROGRAMME_MANAGE,
            Permission.TEAM_WORKLIST,
            Permission.CALENDAR,
        }
    ),
    # Administrators manage staff but see no client data unless they also hold an officer role.
    Role.ADMINISTRATOR: frozenset({Permission.STAFF_MANAGE}),
    # County staff read only the clients they are granted, only the categories granted.
    Role.COUNTY_TEAM_MEMBER: frozenset(
        {
            Permission.CLIENT_READ,
            Permission.HEALTH_READ,
            Permission.PROGRAMME_READ,
            Permission.COOPERATION_INBOX,
        }
    ),
    # Interpreters get access per assignment (appointments); the register itself stays closed.
    Role.INTERPRETER: frozenset({Permission.CALENDAR, Permission.TRANSLATION_WORK}),
}

# Roles whose client access follows the organisation's own clients.
ORGANISATION_ROLES = frozenset({Role.INTEGRATION_OFFICER, Role.MANAGER})
CLIENT_ORGANISATION_TYPES = frozenset({OrganisationType.MUNICIPALITY, OrganisationType.EMPLOYMENT_AUTHORITY})


@dataclass(frozen=True)
class Actor:
    """The signed-in member of staff, rebuilt from the database on every request."""

    staff_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_type: OrganisationType
    roles: frozenset[Role]
    name: str

    def has(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS[role] for role in self.roles)

    @property
    def sees_own_organisation(self) -> bool:
        return bool(self.roles & ORGANISATION_ROLES) and self.organisation_type in CLIENT_ORGANISATION_TYPES

    @property
    def uses_grants(self) -> bool:
        return Role.COUNTY_TEAM_MEMBER in self.roles


def _grant_exists(actor: Actor, categories: tuple[DataCategory, ...]) -> ColumnElement[bool]:
    return exists(
        select(ClientAccessGrant.id).where(
            ClientAccessGrant.client_id == Client.id,
            ClientAccessGrant.staff_id == actor.staff_id,
            ClientAccessGrant.ended_at.is_(None),
            ClientAccessGrant.category.in_(categories),
        )
    )


def client_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the clients whose basic data the actor may read."""
    if not actor.has(Permission.CLIENT_READ):
        return false()
    clauses: list[ColumnElement[bool]] = []
    if actor.sees_own_organisation:
        clauses.append(Client.organisation_id == actor.organisation_id)
    if actor.uses_grants:
        clauses.append(_grant_exists(actor, (DataCategory.BASIC, DataCategory.HEALTH)))
    return or_(*clauses) if clauses else false()


def is_responsible(actor: Actor, client: Client) -> bool:
    """An officer of the organisation responsible for the client, whatever the state of the relationship:
    who answers a subject-access request and reopens an ended relationship."""
    return (
        actor.has(Permission.CLIENT_WRITE)
        and actor.sees_own_organisation
        and client.organisation_id == actor.organisation_id
    )


def may_write_client(actor: Actor, client: Client) -> bool:
    """Changes to the client's data. An ended relationship is read-only (§77: kept as it was for four
    years, then deleted); the writes still allowed on it ask their own rule (retention holds: may_hold)."""
    return is_responsible(actor, client) and client.status != ClientStatus.ENDED


def may_hold(actor: Actor, client: Client) -> bool:
    """Place or release a retention hold (a pending matter keeps the data past §77's four years): the
    responsible organisation's officers and managers, also — above all — on an ended relationship."""
    return (
        (actor.has(Permission.CLIENT_WRITE) or actor.has(Permission.RETENTION))
        and actor.sees_own_organisation
        and client.organisation_id == actor.organisation_id
    )


async def may_read_health(db: AsyncSession, actor: Actor, client: Client) -> bool:
    """Health and functional-capacity data: officers of the responsible organisation, or a health grant."""
    if (
        Role.INTEGRATION_OFFICER in actor.roles
        and actor.sees_own_organisation
        and client.organisation_id == actor.organisation_id
    ):
        return True
    if actor.uses_grants:
        # The same grant test that scopes the client queries, narrowed to the health category.
        granted = await db.scalar(
            select(Client.id).where(Client.id == client.id, _grant_exists(actor, (DataCategory.HEALTH,)))
        )
        return granted is not None
    return False


def may_write_health(actor: Actor, client: Client) -> bool:
    return actor.has(Permission.HEALTH_WRITE) and may_write_client(actor, client)


async def load_client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client | None:
    """The client if the actor may read them, else None (the caller answers 404)."""
    return await db.scalar(select(Client).where(Client.id == client_id, client_scope(actor)))


# --- multi-sector cooperation (issue 6) -------------------------------------------------------------


def of_responsible_organisation(actor: Actor, client: Client) -> bool:
    """Staff of the organisation responsible for the client (officers and managers), not county staff
    who read the client through a cooperation grant."""
    return actor.sees_own_organisation and client.organisation_id == actor.organisation_id


def county_note_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting the county notes the actor may read: the author's own organisation
    always; the organisation responsible for the client only the shared ones; nobody else (not another
    county, not the interpreters). Readers also scope the client (client_scope), so the notes of a
    client out of the actor's reach, e.g. after the cooperation ended, stay out of reach as well."""
    if not actor.has(Permission.CLIENT_READ):
        return false()
    own = CountyNote.organisation_id == actor.organisation_id
    if not actor.sees_own_organisation:
        return own
    client = aliased(Client)  # not correlated with a Client the reading query may join
    responsible = exists(
        select(client.id).where(
            client.id == CountyNote.client_id, client.organisation_id == actor.organisation_id
        )
    )
    return or_(own, and_(CountyNote.shared.is_(True), responsible))
