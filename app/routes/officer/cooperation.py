"""Multi-sector cooperation with the wellbeing services county (services 6 and 18), the staff side.

The responsible organisation's officers ask a county to take part, withdraw an unanswered request and end
an active cooperation from the client page (the permission to change clients; the client in scope and of
their own organisation, else 404/403). The county team answers in its inbox (the cooperation-inbox
permission; a request to another county is 404). County staff who take part write notes on the client
page; anyone who may read the client reads the notes the policy shows them (county_note_scope).

Bad input shows the form again with the errors and every value kept (422); an answer to a request that
was answered or changed meanwhile is refused with the input kept and a translated message (409).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, ClientStatus
from app.db.cooperation import CountyCooperation, CountyNoteTopic
from app.domain import audit, cooperation
from app.domain.audit import Action
from app.domain.clients import page_url as client_page_url
from app.domain.cooperation import AlreadyOpen, StaleCooperation
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, Permission, load_client, may_write_client
from app.i18n import _
from app.web import form_of, requires, staff_guard

WRITE = [requires(Permission.CLIENT_WRITE)]
INBOX = [requires(Permission.COOPERATION_INBOX)]
READ = [requires(Permission.CLIENT_READ)]


def _client_url(client_id: uuid.UUID) -> str:
    return client_page_url(client_id, "cooperation")


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


# --- the responsible organisation (client page) --------------------------------------------------------


async def _writable(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


async def _client_form(
    db: AsyncSession,
    actor: Actor,
    client: Client,
    which: str,
    *,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    notice: str | None = None,
    target: CountyCooperation | None = None,
    status: int = 422,
) -> Template:
    """The request or end form again, on a page of its own, with its errors or a notice."""
    names: dict[uuid.UUID, str] = {}
    county_name = ""
    all_counties = await cooperation.counties(db)
    if target is not None:
        names = await cooperation.staff_names(db, cooperation.names_of([target]))
        county_name = next((c.name for c in all_counties if c.id == target.county_id), "")
    return Template(
        "officer/cooperation/client_form.html",
        context={
            "client": client,
            "actor": actor,
            "which": which,
            "form": form,
            "errors": errors or FormErrors(),
            "notice": notice,
            "target": target,
            "county_name": county_name,
            "names": names,
            "counties": all_counties,
            "topics": CountyNoteTopic,
            "today": today().isoformat(),
        },
        status_code=status,
    )


@post("/clients/{client_id:uuid}/cooperation", guards=WRITE)
async def request_cooperation(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable(db_session, actor, client_id)
    data = await form_of(request)
    if client.status != ClientStatus.ACTIVE:
        return await _client_form(
            db_session, actor, client, "request", form=data, status=409,
            notice=_("The client relationship has ended: no new cooperation can be requested."),
        )  # fmt: skip
    parsed = cooperation.read_request_form(data, await cooperation.counties(db_session))
    if parsed.errors:
        return await _client_form(db_session, actor, client, "request", form=data, errors=parsed.errors)
    try:
        await cooperation.request(db_session, actor, client, parsed)
    except AlreadyOpen:
        await db_session.rollback()
        client = await _writable(db_session, actor, client_id)
        errors = FormErrors(
            county_id=_(
                "This county already has an open request or an active cooperation for the client. "
                "See the cooperation section on the client page."
            )
        )
        return await _client_form(db_session, actor, client, "request", form=data, errors=errors, status=409)
    return Redirect(_client_url(client.id), status_code=303)


async def _own_cooperation(
    db: AsyncSession, actor: Actor, client_id: uuid.UUID, cooperation_id: uuid.UUID
) -> tuple[Client, CountyCooperation]:
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    if not cooperation.may_change(actor, client):
        raise PermissionDeniedException
    found = await cooperation.load_for_client(db, client, cooperation_id)
    if found is None:
        raise NotFoundException
    return client, found


@post("/clients/{client_id:uuid}/cooperation/{cooperation_id:uuid}/withdraw", guards=WRITE)
async def withdraw_request(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    cooperation_id: uuid.UUID,
) -> Template | Redirect:
    client, found = await _own_cooperation(db_session, actor, client_id, cooperation_id)
    data = await form_of(request)
    try:
        await cooperation.withdraw(db_session, actor, found, _version(data))
    except StaleCooperation:
        await db_session.rollback()
        client, found = await _own_cooperation(db_session, actor, client_id, cooperation_id)
        return await _client_form(
            db_session, actor, client, "withdraw", form=data, target=found, status=409,
            notice=cooperation.stale_message(found),
        )  # fmt: skip
    return Redirect(_client_url(client.id), status_code=303)


@post("/clients/{client_id:uuid}/cooperation/{cooperation_id:uuid}/end", guards=WRITE)
async def end_from_client(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    cooperation_id: uuid.UUID,
) -> Template | Redirect:
    client, found = await _own_cooperation(db_session, actor, client_id, cooperation_id)
    data = await form_of(request)
    errors = FormErrors()
    reason = cooperation.read_reason(data, "end_reason", errors, _("Say why the cooperation ends."))
    if errors or reason is None:
        return await _client_form(db_session, actor, client, "end", form=data, errors=errors, target=found)
    try:
        await cooperation.end(db_session, actor, found, _version(data), reason)
    except StaleCooperation:
        await db_session.rollback()
        client, found = await _own_cooperation(db_session, actor, client_id, cooperation_id)
        return await _client_form(
            db_session, actor, client, "end", form=data, target=found, status=409,
            notice=cooperation.stale_message(found),
        )  # fmt: skip
    return Redirect(_client_url(client.id), status_code=303)


# --- the county: inbox and answers ------------------------------------------------------------------


@get("/cooperation", guards=INBOX)
async def inbox_page(db_session: AsyncSession, actor: Actor) -> Template:
    found = await cooperation.inbox(db_session, actor)
    return Template("officer/cooperation/inbox.html", context={"actor": actor, "inbox": found})


async def _county_cooperation(
    db: AsyncSession, actor: Actor, cooperation_id: uuid.UUID
) -> tuple[CountyCooperation, Client, str]:
    found = await cooperation.load_for_county(db, actor, cooperation_id)
    if found is None:
        raise NotFoundException
    return found


async def _request_page(
    db: AsyncSession,
    actor: Actor,
    found: tuple[CountyCooperation, Client, str],
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    members: list[str] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    """The county's page of one request: its details, and the forms that answer or end it. `section`
    ("accept", "decline", "end") names the form whose input and errors are shown again."""
    record, client, requester_name = found
    team = await cooperation.county_team(db, record.county_id)
    accept_form = {"responsible_staff_id": str(actor.staff_id)}
    if section == "accept" and form is not None:
        accept_form = form
    return Template(
        "officer/cooperation/request.html",
        context={
            "actor": actor,
            "record": record,
            "client": client,
            "requester_name": requester_name,
            "names": await cooperation.staff_names(db, cooperation.names_of([record])),
            "team": team,
            "team_options": [(str(person.id), person.full_name) for person in team],
            "grantees": await cooperation.active_grantees(db, record),
            "has_access": await load_client(db, actor, client.id) is not None,
            "section": section,
            "accept_form": accept_form,
            "members": members if section == "accept" and members is not None else [],
            "form": form if form is not None and section != "accept" else {},
            "errors": errors or FormErrors(),
            "notice": notice,
        },
        status_code=status,
    )


@get("/cooperation/{cooperation_id:uuid}", guards=INBOX)
async def request_page(db_session: AsyncSession, actor: Actor, cooperation_id: uuid.UUID) -> Template:
    found = await _county_cooperation(db_session, actor, cooperation_id)
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=found[1].id,
        object_type="county_cooperation",
        object_id=found[0].id,
        fields=["first_names", "last_name", "date_of_birth", "reason", "status", "contact_details"],
    )
    return await _request_page(db_session, actor, found)


async def _stale(
    db: AsyncSession,
    actor: Actor,
    cooperation_id: uuid.UUID,
    section: str,
    data: dict[str, Any],
    members: list[str] | None = None,
) -> Template:
    await db.rollback()
    found = await cooperation.load_for_county(db, actor, cooperation_id)
    if found is None:
        raise NotFoundException
    return await _request_page(
        db, actor, found, section=section, form=data, members=members,
        notice=cooperation.stale_message(found[0]), status=409,
    )  # fmt: skip


@post("/cooperation/{cooperation_id:uuid}/accept", guards=INBOX)
async def accept_request(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, cooperation_id: uuid.UUID
) -> Template | Redirect:
    found = await _county_cooperation(db_session, actor, cooperation_id)
    record = found[0]
    data = await form_of(request)
    members = [str(m) for m in (await request.form()).getall("member", [])]
    parsed = cooperation.read_accept_form(
        data, members, await cooperation.county_team(db_session, record.county_id)
    )
    if parsed.errors:
        return await _request_page(
            db_session, actor, found, section="accept", form=data, members=members, errors=parsed.errors,
            status=422,
        )  # fmt: skip
    try:
        await cooperation.accept(db_session, actor, record, _version(data), parsed)
    except StaleCooperation:
        return await _stale(db_session, actor, cooperation_id, "accept", data, members)
    return Redirect(f"/officer/cooperation/{record.id}", status_code=303)


@post("/cooperation/{cooperation_id:uuid}/decline", guards=INBOX)
async def decline_request(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, cooperation_id: uuid.UUID
) -> Template | Redirect:
    found = await _county_cooperation(db_session, actor, cooperation_id)
    data = await form_of(request)
    errors = FormErrors()
    reason = cooperation.read_reason(
        data, "decline_reason", errors, _("Say why the county does not take part.")
    )
    if errors or reason is None:
        return await _request_page(
            db_session, actor, found, section="decline", form=data, errors=errors, status=422
        )
    try:
        await cooperation.decline(db_session, actor, found[0], _version(data), reason)
    except StaleCooperation:
        return await _stale(db_session, actor, cooperation_id, "decline", data)
    return Redirect("/officer/cooperation", status_code=303)


@post("/cooperation/{cooperation_id:uuid}/end", guards=INBOX)
async def end_from_county(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, cooperation_id: uuid.UUID
) -> Template | Redirect:
    found = await _county_cooperation(db_session, actor, cooperation_id)
    data = await form_of(request)
    errors = FormErrors()
    reason = cooperation.read_reason(data, "end_reason", errors, _("Say why the cooperation ends."))
    if errors or reason is None:
        return await _request_page(
            db_session, actor, found, section="end", form=data, errors=errors, status=422
        )
    try:
        await cooperation.end(db_session, actor, found[0], _version(data), reason)
    except StaleCooperation:
        return await _stale(db_session, actor, cooperation_id, "end", data)
    return Redirect(f"/officer/cooperation/{found[0].id}", status_code=303)


# --- county staff taking part: notes --------------------------------------------------------------------


@post("/clients/{client_id:uuid}/county-notes", guards=INBOX)
async def add_note(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    part = await cooperation.taking_part(db_session, actor, client)
    if part is None:  # reads the client, but not through a cooperation of their own
        raise PermissionDeniedException
    assessments, plans = await cooperation.note_targets(db_session, client)
    data = await form_of(request)
    parsed = cooperation.read_note_form(data, assessments, plans)
    if parsed.errors:
        return Template(
            "officer/cooperation/note_form.html",
            context={
                "client": client,
                "actor": actor,
                "assessments": assessments,
                "plans": plans,
                "form": data,
                "errors": parsed.errors,
                "topics": CountyNoteTopic,
            },
            status_code=422,
        )
    await cooperation.add_note(db_session, actor, client, part, parsed)
    return Redirect(_client_url(client.id), status_code=303)


@get("/clients/{client_id:uuid}/county-notes", guards=READ)
async def contributions(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    assessment_id: uuid.UUID | None = None,
    plan_id: uuid.UUID | None = None,
) -> Template:
    """The county's contributions the actor may read, for one assessment or plan (or all): a fragment
    for the assessment and plan pages (htmx), a page of its own otherwise."""
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    notes = await cooperation.visible_notes(
        db_session, actor, client, assessment_id=assessment_id, plan_id=plan_id
    )
    await cooperation.audit_notes_view(db_session, actor, client, notes)
    fragment = bool(request.htmx) and not (request.htmx and request.htmx.boosted)
    return Template(
        "officer/cooperation/_contributions.html" if fragment else "officer/cooperation/contributions.html",
        context={
            "client": client,
            "actor": actor,
            "notes": notes,
            "assessment_id": assessment_id,
            "plan_id": plan_id,
            "fragment": fragment,
        },
    )


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        request_cooperation,
        withdraw_request,
        end_from_client,
        inbox_page,
        request_page,
        accept_request,
        decline_request,
        end_from_county,
        add_note,
        contributions,
    ],
)
