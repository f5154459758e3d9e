"""Multi-sector cooperation with the wellbeing services county (services 6 and 18), the staff side.

An officer of the organisation responsible for the client asks a county to take part: a reason, the
client's consent recorded (a consent row of purpose wellbeing_county_sharing; no request without it) and
whether the consent covers health data. One open request or active cooperation per client and county
(a partial unique index keeps it so under concurrent requests too). The requester may withdraw an
unanswered request.

The county team answers in its inbox. Accepting names the responsible person (a county team member of
that county) and contact details, and grants the named county staff access to that client only:
client_access_grant rows of the basic category, and of health data only when the consent covers it.
Declining needs a reason. Either side ends an active cooperation; that ends its grants, so the access is
gone on the next request (policy.client_scope checks ended_at). Answers are checked against the version
the form showed: a request answered or changed meanwhile is refused (StaleCooperation).

County staff who take part keep notes on the client (CountyNote): the four items the county adds to the
assessment (3.4.2) and contributions to the plan and its reviews. The author's organisation sees them
always, the responsible organisation only the shared ones, nobody else (policy.county_note_scope, used
wherever notes are read). Every read and change is audited, field names only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from app.db.assessment import Assessment
from app.db.base import utcnow
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientStatus,
    Consent,
    ConsentPurpose,
    DataCategory,
)
from app.db.cooperation import CooperationStatus, CountyCooperation, CountyNote, CountyNoteTopic
from app.db.organisation import Organisation, OrganisationType, Role, Staff, StaffRole
from app.db.plan import IntegrationPlan
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, choice, date_field, text
from app.domain.policy import (
    Actor,
    Permission,
    client_scope,
    county_note_scope,
    may_write_client,
    of_responsible_organisation,
)
from app.i18n import _
from app.labels import label

OPEN_STATUSES = (CooperationStatus.REQUESTED, CooperationStatus.ACCEPTED)
MAX_REASON = 2000
MAX_CONTACT = 400
MAX_NOTE = 4000
GRANT_REASON = 400  # client_access_grant.reason
INBOX_LIMIT = 200  # active cooperations listed in the inbox


class StaleCooperation(Exception):
    """The request was answered, withdrawn or ended, or otherwise changed, after the form was opened."""


class AlreadyOpen(Exception):
    """The client already has an open request or an active cooperation with this county."""


# --- what the pages show ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CooperationView:
    cooperation: CountyCooperation
    county_name: str
    requester_name: str


@dataclass(frozen=True)
class NoteView:
    note: CountyNote
    organisation_name: str
    author_name: str


@dataclass
class ClientSection:
    """The client page's cooperation section. `side` is "responsible" for the client's own organisation
    and "county" for county staff who read the client through a cooperation."""

    side: str
    cooperations: list[CooperationView]
    names: dict[uuid.UUID, str]
    notes: list[NoteView]
    counties: list[Organisation] = field(default_factory=list)
    may_request: bool = False
    may_change: bool = False  # responsible side: withdraw and end; county side: end
    taking_part: CountyCooperation | None = None  # the county member's own cooperation (the note form)
    consent_withdrawn: bool = False  # the latest sharing consent is a withdrawal while a cooperation is open
    assessments: list[Assessment] = field(default_factory=list)
    plans: list[IntegrationPlan] = field(default_factory=list)

    @property
    def topics(self) -> type[CountyNoteTopic]:
        return CountyNoteTopic

    @property
    def open_county_ids(self) -> set[uuid.UUID]:
        return {v.cooperation.county_id for v in self.cooperations if v.cooperation.status in OPEN_STATUSES}


@dataclass(frozen=True)
class InboxRow:
    cooperation: CountyCooperation
    client: Client
    requester_name: str
    has_access: bool  # the reader holds an active grant (may open the client page)


@dataclass
class Inbox:
    requests: list[InboxRow]
    active: list[InboxRow]
    more_active: bool
    names: dict[uuid.UUID, str]


async def staff_names(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    return {row.id: row.full_name for row in rows}


def names_of(cooperations: Iterable[CountyCooperation]) -> list[uuid.UUID | None]:
    return [
        person
        for c in cooperations
        for person in (c.requested_by_id, c.decided_by_id, c.responsible_staff_id, c.ended_by_id)
    ]


async def counties(db: AsyncSession) -> list[Organisation]:
    """The wellbeing services counties a request can go to."""
    return list(
        (
            await db.scalars(
                select(Organisation)
                .where(Organisation.type == OrganisationType.WELLBEING_COUNTY)
                .order_by(Organisation.name)
            )
        ).all()
    )


async def county_team(db: AsyncSession, county_id: uuid.UUID) -> list[Staff]:
    """The county's active team members: who may be named responsible or given access."""
    return list(
        (
            await db.scalars(
                select(Staff)
                .join(StaffRole, StaffRole.staff_id == Staff.id)
                .where(
                    Staff.organisation_id == county_id,
                    Staff.active.is_(True),
                    StaffRole.role == Role.COUNTY_TEAM_MEMBER,
                )
                .order_by(Staff.full_name, Staff.id)
            )
        )
        .unique()
        .all()
    )


async def _views(
    db: AsyncSession, client_id: uuid.UUID, county_id: uuid.UUID | None
) -> list[CooperationView]:
    county = aliased(Organisation)
    requester = aliased(Organisation)
    statement = (
        select(CountyCooperation, county.name, requester.name)
        .join(county, county.id == CountyCooperation.county_id)
        .join(requester, requester.id == CountyCooperation.organisation_id)
        .where(CountyCooperation.client_id == client_id)
        .order_by(CountyCooperation.requested_at.desc(), CountyCooperation.id)
    )
    if county_id is not None:
        statement = statement.where(CountyCooperation.county_id == county_id)
    return [CooperationView(row[0], row[1], row[2]) for row in await db.execute(statement)]


async def taking_part(db: AsyncSession, actor: Actor, client: Client) -> CountyCooperation | None:
    """The accepted cooperation through which this county member holds an active grant on the client."""
    if not actor.uses_grants:
        return None
    return await db.scalar(
        select(CountyCooperation)
        .join(ClientAccessGrant, ClientAccessGrant.cooperation_id == CountyCooperation.id)
        .where(
            CountyCooperation.client_id == client.id,
            CountyCooperation.county_id == actor.organisation_id,
            CountyCooperation.status == CooperationStatus.ACCEPTED,
            ClientAccessGrant.staff_id == actor.staff_id,
            ClientAccessGrant.client_id == client.id,
            ClientAccessGrant.ended_at.is_(None),
        )
        .limit(1)
    )


async def visible_notes(
    db: AsyncSession,
    actor: Actor,
    client: Client,
    *,
    assessment_id: uuid.UUID | None = None,
    plan_id: uuid.UUID | None = None,
) -> list[NoteView]:
    """The client's county notes the actor may read (policy.county_note_scope), newest first."""
    statement = (
        select(CountyNote, Organisation.name, Staff.full_name)
        .join(Client, Client.id == CountyNote.client_id)
        .join(Organisation, Organisation.id == CountyNote.organisation_id)
        .join(Staff, Staff.id == CountyNote.author_id)
        .where(CountyNote.client_id == client.id, client_scope(actor), county_note_scope(actor))
        .order_by(CountyNote.created_at.desc(), CountyNote.id)
    )
    if assessment_id is not None:
        statement = statement.where(CountyNote.assessment_id == assessment_id)
    if plan_id is not None:
        statement = statement.where(CountyNote.plan_id == plan_id)
    return [NoteView(row[0], row[1], row[2]) for row in await db.execute(statement)]


async def audit_notes_view(db: AsyncSession, actor: Actor, client: Client, notes: Sequence[NoteView]) -> None:
    if notes:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=client.id,
            object_type="county_note",
            fields=["topic", "text", "shared"],
        )


async def note_targets(db: AsyncSession, client: Client) -> tuple[list[Assessment], list[IntegrationPlan]]:
    """The client's assessments and plans, newest first: what a county note may be linked to."""
    assessments = (
        await db.scalars(
            select(Assessment).where(Assessment.client_id == client.id).order_by(Assessment.number.desc())
        )
    ).all()
    plans = (
        await db.scalars(
            select(IntegrationPlan)
            .where(IntegrationPlan.client_id == client.id)
            .order_by(IntegrationPlan.number.desc())
        )
    ).all()
    return list(assessments), list(plans)


def may_change(actor: Actor, client: Client) -> bool:
    """Withdraw a request or end a cooperation on the responsible side: the officers of the organisation
    responsible for the client, also after the client relationship ended (ending access protects it)."""
    return actor.has(Permission.CLIENT_WRITE) and of_responsible_organisation(actor, client)


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> ClientSection | None:
    """What the client page shows of this area (None: nothing). The caller has loaded the client under
    the actor's client scope. The responsible organisation sees every cooperation of the client and the
    shared notes; county staff see their own county's cooperations and their organisation's notes."""
    if of_responsible_organisation(actor, client):
        views = await _views(db, client.id, None)
        section = ClientSection(
            side="responsible",
            cooperations=views,
            names=await staff_names(db, names_of(v.cooperation for v in views)),
            notes=await visible_notes(db, actor, client),
            may_request=may_write_client(actor, client) and client.status == ClientStatus.ACTIVE,
            may_change=may_change(actor, client),
        )
        if section.may_request:
            open_ids = section.open_county_ids
            section.counties = [c for c in await counties(db) if c.id not in open_ids]
    elif actor.uses_grants:
        views = await _views(db, client.id, actor.organisation_id)
        part = await taking_part(db, actor, client)
        section = ClientSection(
            side="county",
            cooperations=views,
            names=await staff_names(db, names_of(v.cooperation for v in views)),
            notes=await visible_notes(db, actor, client),
            may_change=actor.has(Permission.COOPERATION_INBOX),
            taking_part=part,
        )
        if part is not None:
            section.assessments, section.plans = await note_targets(db, client)
    else:
        return None
    if section.open_county_ids:
        latest = await db.scalar(
            select(Consent.given)
            .where(Consent.client_id == client.id, Consent.purpose == ConsentPurpose.WELLBEING_COUNTY_SHARING)
            .order_by(Consent.recorded_at.desc(), Consent.decided_on.desc())
            .limit(1)
        )
        section.consent_withdrawn = latest is False
    if section.cooperations:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=client.id,
            object_type="county_cooperation",
            fields=["status", "reason", "share_health", "responsible_staff_id", "contact_details"],
        )
    await audit_notes_view(db, actor, client, section.notes)
    return section


# --- the responsible organisation: request, withdraw, end ------------------------------------------


@dataclass
class RequestInput:
    county_id: uuid.UUID | None = None
    reason: str | None = None
    consent_on: date | None = None
    share_health: bool = False
    errors: FormErrors = field(default_factory=FormErrors)


def read_request_form(data: Mapping[str, object], choices: Sequence[Organisation]) -> RequestInput:
    parsed = RequestInput(errors=FormErrors())
    errors = parsed.errors
    chosen = str(data.get("county_id") or "")
    found = next((c for c in choices if str(c.id) == chosen), None)
    if found is None:
        errors["county_id"] = (
            _("Choose the wellbeing services county.")
            if not chosen
            else _("Choose one of the counties in the list.")
        )
    else:
        parsed.county_id = found.id
    parsed.reason = text(data, "reason", MAX_REASON, errors)
    if not parsed.reason:
        errors["reason"] = _("Say why the county is needed for this client.")
    if not checkbox(data, "consent_given"):
        errors["consent_given"] = _(
            "The client's consent is needed before their data is shared with the county. "
            "Record the consent, or ask the client first."
        )
    parsed.consent_on = date_field(data, "consent_decided_on", errors, required=True)
    parsed.share_health = checkbox(data, "share_health")
    return parsed


async def request(db: AsyncSession, actor: Actor, client: Client, parsed: RequestInput) -> CountyCooperation:
    """Record the client's consent and send the request; AlreadyOpen when the county already has one."""
    assert parsed.county_id is not None
    assert parsed.reason
    assert parsed.consent_on is not None
    existing = await db.scalar(
        select(CountyCooperation.id).where(
            CountyCooperation.client_id == client.id,
            CountyCooperation.county_id == parsed.county_id,
            CountyCooperation.status.in_(OPEN_STATUSES),
        )
    )
    if existing is not None:
        raise AlreadyOpen
    consent = Consent(
        client_id=client.id,
        purpose=ConsentPurpose.WELLBEING_COUNTY_SHARING,
        given=True,
        decided_on=parsed.consent_on,
        recorded_by_id=actor.staff_id,
    )
    cooperation = CountyCooperation(
        client_id=client.id,
        organisation_id=client.organisation_id,
        county_id=parsed.county_id,
        status=CooperationStatus.REQUESTED,
        reason=parsed.reason,
        share_health=parsed.share_health,
        requested_by_id=actor.staff_id,
        requested_at=utcnow(),
    )
    try:
        async with db.begin_nested():  # a concurrent request to the same county may have come first
            db.add(consent)
            await db.flush()
            cooperation.consent_id = consent.id
            db.add(cooperation)
    except IntegrityError as error:
        raise AlreadyOpen from error
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="consent",
        object_id=consent.id,
        fields=["purpose", "given", "decided_on"],
    )
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="county_cooperation",
        object_id=cooperation.id,
        fields=["county_id", "reason", "consent_id", "share_health"],
    )
    return cooperation


async def load_for_client(
    db: AsyncSession, client: Client, cooperation_id: uuid.UUID
) -> CountyCooperation | None:
    """The client's cooperation by id (the caller has checked the client); None for anything else."""
    return await db.scalar(
        select(CountyCooperation).where(
            CountyCooperation.id == cooperation_id, CountyCooperation.client_id == client.id
        )
    )


def _check(cooperation: CountyCooperation, seen_version: int, status: CooperationStatus) -> None:
    if cooperation.status != status or cooperation.version != seen_version:
        raise StaleCooperation


async def _flush(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as error:  # answered by someone else between our read and our write
        raise StaleCooperation from error


async def withdraw(db: AsyncSession, actor: Actor, cooperation: CountyCooperation, seen_version: int) -> None:
    """The requester takes back a request the county has not answered."""
    _check(cooperation, seen_version, CooperationStatus.REQUESTED)
    cooperation.status = CooperationStatus.WITHDRAWN
    cooperation.ended_by_id = actor.staff_id
    cooperation.ended_at = utcnow()
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=cooperation.client_id,
        object_type="county_cooperation",
        object_id=cooperation.id,
        fields=["status", "ended_by_id", "ended_at"],
    )


def read_reason(data: Mapping[str, object], name: str, errors: FormErrors, message: str) -> str | None:
    value = text(data, name, MAX_REASON, errors)
    if not value:
        errors[name] = message
    return value


async def end(
    db: AsyncSession, actor: Actor, cooperation: CountyCooperation, seen_version: int, reason: str
) -> None:
    """End an active cooperation (either side) and with it every grant it made."""
    _check(cooperation, seen_version, CooperationStatus.ACCEPTED)
    now = utcnow()
    cooperation.status = CooperationStatus.ENDED
    cooperation.ended_by_id = actor.staff_id
    cooperation.ended_at = now
    cooperation.end_reason = reason
    grants = (
        await db.scalars(
            select(ClientAccessGrant).where(
                ClientAccessGrant.cooperation_id == cooperation.id, ClientAccessGrant.ended_at.is_(None)
            )
        )
    ).all()
    for grant in grants:
        grant.ended_at = now
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=cooperation.client_id,
        object_type="county_cooperation",
        object_id=cooperation.id,
        fields=["status", "ended_by_id", "ended_at", "end_reason"],
    )
    for grant in grants:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=cooperation.client_id,
            object_type="client_access_grant",
            object_id=grant.id,
            fields=["ended_at"],
        )


# --- the county: inbox, accept, decline --------------------------------------------------------------


async def inbox(db: AsyncSession, actor: Actor) -> Inbox:
    """Open requests to the actor's county (oldest first) and its active cooperations. The client's name
    and date of birth are shown to identify them (the client consented to the sharing); audited."""
    requester = aliased(Organisation)
    base = (
        select(CountyCooperation, Client, requester.name)
        .join(Client, Client.id == CountyCooperation.client_id)
        .join(requester, requester.id == CountyCooperation.organisation_id)
        .where(CountyCooperation.county_id == actor.organisation_id)
    )
    open_rows = (
        await db.execute(
            base.where(CountyCooperation.status == CooperationStatus.REQUESTED).order_by(
                CountyCooperation.requested_at, CountyCooperation.id
            )
        )
    ).all()
    active_rows = (
        await db.execute(
            base.where(CountyCooperation.status == CooperationStatus.ACCEPTED)
            .order_by(Client.last_name, Client.first_names, CountyCooperation.id)
            .limit(INBOX_LIMIT + 1)
        )
    ).all()
    client_ids = {row[1].id for row in active_rows}
    granted = (
        set(
            (
                await db.scalars(
                    select(ClientAccessGrant.client_id).where(
                        ClientAccessGrant.staff_id == actor.staff_id,
                        ClientAccessGrant.ended_at.is_(None),
                        ClientAccessGrant.client_id.in_(client_ids),
                    )
                )
            ).all()
        )
        if client_ids
        else set()
    )
    requests = [InboxRow(row[0], row[1], row[2], False) for row in open_rows]
    active = [InboxRow(row[0], row[1], row[2], row[1].id in granted) for row in active_rows[:INBOX_LIMIT]]
    for row in [*requests, *active]:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=row.client.id,
            object_type="county_cooperation",
            object_id=row.cooperation.id,
            fields=["first_names", "last_name", "date_of_birth", "reason", "status"],
        )
    return Inbox(
        requests=requests,
        active=active,
        more_active=len(active_rows) > INBOX_LIMIT,
        names=await staff_names(db, names_of(r.cooperation for r in [*requests, *active])),
    )


async def load_for_county(
    db: AsyncSession, actor: Actor, cooperation_id: uuid.UUID
) -> tuple[CountyCooperation, Client, str] | None:
    """A cooperation addressed to the actor's county, its client and the requester's name; None for
    another county's (the caller answers 404). The client is read through the request itself: the
    county sees who it is asked about before any grant exists."""
    if not actor.has(Permission.COOPERATION_INBOX):
        return None
    requester = aliased(Organisation)
    row = (
        await db.execute(
            select(CountyCooperation, Client, requester.name)
            .join(Client, Client.id == CountyCooperation.client_id)
            .join(requester, requester.id == CountyCooperation.organisation_id)
            .where(
                CountyCooperation.id == cooperation_id, CountyCooperation.county_id == actor.organisation_id
            )
        )
    ).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def active_grantees(db: AsyncSession, cooperation: CountyCooperation) -> list[tuple[str, DataCategory]]:
    """Who holds access through the cooperation now: (name, category)."""
    rows = await db.execute(
        select(Staff.full_name, ClientAccessGrant.category)
        .join(Staff, Staff.id == ClientAccessGrant.staff_id)
        .where(ClientAccessGrant.cooperation_id == cooperation.id, ClientAccessGrant.ended_at.is_(None))
        .order_by(Staff.full_name, ClientAccessGrant.category)
    )
    return [(row[0], row[1]) for row in rows]


@dataclass
class AcceptInput:
    responsible: Staff | None = None
    contact_details: str | None = None
    members: list[Staff] = field(default_factory=list)
    errors: FormErrors = field(default_factory=FormErrors)


def read_accept_form(
    data: Mapping[str, object], members: Sequence[str], team: Sequence[Staff]
) -> AcceptInput:
    """`members`: the repeated 'member' field. Every person named must be on the county's team."""
    parsed = AcceptInput(errors=FormErrors())
    by_id = {str(person.id): person for person in team}
    chosen = str(data.get("responsible_staff_id") or "")
    parsed.responsible = by_id.get(chosen)
    if parsed.responsible is None:
        parsed.errors["responsible_staff_id"] = (
            _("Choose the person responsible in the county.")
            if not chosen
            else _("Choose one of the county team members in the list.")
        )
    parsed.contact_details = text(data, "contact_details", MAX_CONTACT, parsed.errors)
    if not parsed.contact_details:
        parsed.errors["contact_details"] = _(
            "Give the contact details the integration officer can reach the county with."
        )
    for value in members:
        person = by_id.get(str(value))
        if person is None:
            parsed.errors["member"] = _("Choose team members from the list.")
        elif person not in parsed.members and person is not parsed.responsible:
            parsed.members.append(person)
    return parsed


async def accept(
    db: AsyncSession,
    actor: Actor,
    cooperation: CountyCooperation,
    seen_version: int,
    parsed: AcceptInput,
) -> list[ClientAccessGrant]:
    """Take part: name the responsible person and grant the named county staff access to the client."""
    assert parsed.responsible is not None
    assert parsed.contact_details
    _check(cooperation, seen_version, CooperationStatus.REQUESTED)
    cooperation.status = CooperationStatus.ACCEPTED
    cooperation.decided_by_id = actor.staff_id
    cooperation.decided_at = utcnow()
    cooperation.responsible_staff_id = parsed.responsible.id
    cooperation.contact_details = parsed.contact_details
    categories = [DataCategory.BASIC] + ([DataCategory.HEALTH] if cooperation.share_health else [])
    grants = [
        ClientAccessGrant(
            client_id=cooperation.client_id,
            staff_id=person.id,
            category=category,
            granted_by_id=actor.staff_id,
            reason=cooperation.reason[:GRANT_REASON],
            cooperation_id=cooperation.id,
        )
        for person in [parsed.responsible, *parsed.members]
        for category in categories
    ]
    db.add_all(grants)
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=cooperation.client_id,
        object_type="county_cooperation",
        object_id=cooperation.id,
        fields=["status", "decided_by_id", "decided_at", "responsible_staff_id", "contact_details"],
    )
    for grant in grants:
        await audit.record(
            db,
            Action.CREATE,
            actor=actor,
            client_id=cooperation.client_id,
            object_type="client_access_grant",
            object_id=grant.id,
            fields=["staff_id", "category", "reason", "cooperation_id"],
        )
    return grants


async def decline(
    db: AsyncSession, actor: Actor, cooperation: CountyCooperation, seen_version: int, reason: str
) -> None:
    _check(cooperation, seen_version, CooperationStatus.REQUESTED)
    cooperation.status = CooperationStatus.DECLINED
    cooperation.decided_by_id = actor.staff_id
    cooperation.decided_at = utcnow()
    cooperation.decline_reason = reason
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=cooperation.client_id,
        object_type="county_cooperation",
        object_id=cooperation.id,
        fields=["status", "decided_by_id", "decided_at", "decline_reason"],
    )


def stale_message(cooperation: CountyCooperation | None) -> str:
    """What a user is told when the request changed under their form (nothing was saved)."""
    if cooperation is None:
        return _("The request is no longer there. Nothing was saved.")
    return _(
        "Someone else answered or changed this request after you opened the page: it is now "
        "\u201c%(status)s\u201d. Nothing was saved; your input is still in the form."
    ) % {"status": label(cooperation.status)}


# --- county staff taking part: notes ------------------------------------------------------------------


@dataclass
class NoteInput:
    topic: CountyNoteTopic | None = None
    text: str | None = None
    assessment_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    shared: bool = False
    errors: FormErrors = field(default_factory=FormErrors)


def _one_of(
    data: Mapping[str, object], name: str, ids: Iterable[uuid.UUID], errors: FormErrors
) -> uuid.UUID | None:
    chosen = str(data.get(name) or "")
    if not chosen:
        return None
    found = next((i for i in ids if str(i) == chosen), None)
    if found is None:
        errors[name] = _("Choose one of the options.")
    return found


def read_note_form(
    data: Mapping[str, object], assessments: Sequence[Assessment], plans: Sequence[IntegrationPlan]
) -> NoteInput:
    parsed = NoteInput(errors=FormErrors())
    parsed.topic = choice(data, "topic", CountyNoteTopic, parsed.errors)
    parsed.text = text(data, "text", MAX_NOTE, parsed.errors)
    if not parsed.text:
        parsed.errors["text"] = _("Write the note.")
    parsed.assessment_id = _one_of(data, "assessment_id", [a.id for a in assessments], parsed.errors)
    parsed.plan_id = _one_of(data, "plan_id", [p.id for p in plans], parsed.errors)
    parsed.shared = checkbox(data, "shared")
    return parsed


async def add_note(
    db: AsyncSession, actor: Actor, client: Client, cooperation: CountyCooperation, parsed: NoteInput
) -> CountyNote:
    assert parsed.topic is not None
    assert parsed.text
    note = CountyNote(
        client_id=client.id,
        organisation_id=actor.organisation_id,
        author_id=actor.staff_id,
        cooperation_id=cooperation.id,
        assessment_id=parsed.assessment_id,
        plan_id=parsed.plan_id,
        topic=parsed.topic,
        shared=parsed.shared,
        text=parsed.text,
    )
    db.add(note)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="county_note",
        object_id=note.id,
        fields=["topic", "text", "shared"]
        + (["assessment_id"] if note.assessment_id else [])
        + (["plan_id"] if note.plan_id else []),
    )
    return note
