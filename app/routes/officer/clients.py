"""Client register (service 1): search, search-or-create, basic data, family, consents, health data.

Search terms and form input travel in POST bodies, never in URLs (which end up in logs and history).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.audit import AuditEvent
from app.db.client import (
    Client,
    ClientStatus,
    ConsentPurpose,
    EndReason,
    FamilyRelation,
    KnownHow,
    LanguageLevel,
    PermitType,
)
from app.db.organisation import Organisation, Staff
from app.domain import appointments as client_calendar
from app.domain import (
    assessments,
    audit,
    clients,
    identity_code,
    plans,
    rules,
)
from app.domain.audit import Action
from app.domain.forms import FormErrors, as_input, choice, date_field, text, today
from app.domain.policy import (
    Actor,
    Permission,
    is_responsible,
    load_client,
    may_write_client,
    may_write_health,
)
from app.i18n import _
from app.routes.officer import client_sections
from app.web import requires, staff_guard

CHOICES = {
    "known_how": KnownHow,
    "permit_type": PermitType,
    "language_levels": LanguageLevel,
    "end_reasons": EndReason,
    "relations": FamilyRelation,
    "consent_purposes": ConsentPurpose,
}


async def _form(request: HTMXRequest) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    form = await request.form()
    data = {k: form.get(k) for k in form}
    rows = list(zip(form.getall("language", []), form.getall("language_level", []), strict=False))
    return data, [(str(a), str(b)) for a, b in rows]


# What the client page shows itself (its audit event names these); the rest are client_sections.
PAGE_SECTIONS = ("basic", "languages", "assessments", "plans", "appointments", "tasks")


def _form_values(client: Client) -> dict[str, Any]:
    """The record as form input strings, for the edit form."""
    return as_input(client, clients.BASIC_FIELDS)


def _form_page(status: int = 200, **context: Any) -> Template:
    context.setdefault("errors", FormErrors())
    context.setdefault("duplicates", [])
    context.setdefault("conflict", None)
    return Template(
        template_name="officer/clients/form.html", context={**context, **CHOICES}, status_code=status
    )


def _section_page(
    name: str, client: Client, form: dict[str, Any], errors: FormErrors, status: int = 422
) -> Template:
    """A client-page section form (end, family, consent, health) shown again with its errors."""
    return Template(
        f"officer/clients/{name}.html",
        context={"client": client, "form": form, "errors": errors, **CHOICES},
        status_code=status,
    )


async def _client_or_404(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    return client


# --- search ---------------------------------------------------------------------------------------


@get("/clients", guards=[requires(Permission.CLIENT_READ)])
async def search_page(actor: Actor, transferred: bool = False) -> Template:
    return Template(
        "officer/clients/search.html", context={"result": None, "actor": actor, "transferred": transferred}
    )


@post("/clients/search", guards=[requires(Permission.CLIENT_READ)])
async def search(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    form = await request.form()
    query = str(form.get("q") or "")[:100]
    try:
        page_number = int(form.get("page") or 1)
    except ValueError:
        page_number = 1
    include_ended = form.get("include_ended") == "on"
    result = await clients.search(db_session, actor, query, page_number, include_ended)
    await db_session.commit()
    name = (
        "officer/clients/_results.html"
        if request.htmx and not request.htmx.boosted
        else "officer/clients/search.html"
    )
    return Template(name, context={"result": result, "include_ended": include_ended, "actor": actor})


# --- create ---------------------------------------------------------------------------------------


@get("/clients/new", guards=[requires(Permission.CLIENT_WRITE)])
async def new_client(actor: Actor) -> Template:
    return _form_page(form={"known_on": today().isoformat()}, client=None, actor=actor)


@post("/clients/duplicates", guards=[requires(Permission.CLIENT_WRITE)])
async def duplicates(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    data, rows = await _form(request)
    parsed = clients.read_client_form(data, rows)
    try:
        exclude = uuid.UUID(str(data["client_id"])) if data.get("client_id") else None
    except ValueError:
        exclude = None
    found = await clients.probable_duplicates(db_session, actor, parsed.values, exclude)
    await audit.record(db_session, Action.SEARCH, actor=actor, object_type="client", fields=["duplicates"])
    return Template("officer/clients/_duplicates.html", context={"duplicates": found})


@post("/clients", guards=[requires(Permission.CLIENT_WRITE)])
async def create_client(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data, rows = await _form(request)
    parsed = clients.read_client_form(data, rows)
    if await clients.identity_code_taken(
        db_session, actor.organisation_id, parsed.values.get("identity_code")
    ):
        parsed.errors["identity_code"] = _("A client with this personal identity code is already registered.")
    found = [] if parsed.errors else await clients.probable_duplicates(db_session, actor, parsed.values)
    if parsed.errors or (found and data.get("confirm_new") != "on"):
        return _form_page(
            422, form=data, languages=rows, errors=parsed.errors, duplicates=found, client=None, actor=actor
        )
    client = await clients.create(db_session, actor, parsed)
    return Redirect(f"/officer/clients/{client.id}", status_code=303)


# --- view and edit --------------------------------------------------------------------------------


@get("/clients/{client_id:uuid}", guards=[requires(Permission.CLIENT_READ)])
async def client_page(
    db_session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    open_section: Annotated[str | None, QueryParameter(name="open")] = None,
) -> Template:
    """What an officer needs at a glance; the other sections load when opened (client_sections.py), or
    come open with the page when ?open= names one (without JavaScript, and after a section's form)."""
    client = await clients.load_for_edit(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    may_write = may_write_client(actor, client)
    sections = await client_sections.visible_sections(db_session, actor, client)
    opened = next((s for s in sections if s.name == open_section), None)
    context = {
        **client_sections.base_context(actor, client),
        "sections": sections,
        "open_section": opened.name if opened else None,
        "may_export": is_responsible(actor, client),
        "deletion_due": rules.deletion_due(client.ended_on) if client.ended_on else None,
        "assessments": await assessments.for_client(db_session, client),
        "plans": await plans.for_client(db_session, client),
        "calendar": await client_calendar.for_client(db_session, client),
        "officers": await clients.officers(db_session, client.organisation_id),
        "plan_deadline": rules.plan_deadline(client.first_permit_date) if client.first_permit_date else None,
        "transfer_targets": await plans.transfer_targets(db_session, actor) if may_write else [],
        **CHOICES,
    }
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=list(PAGE_SECTIONS),
    )
    if opened is not None:
        context.update(await client_sections.load(db_session, actor, client, opened))
    await db_session.commit()
    return Template("officer/clients/detail.html", context=context)


async def _writable(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await clients.load_for_edit(db, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


@get("/clients/{client_id:uuid}/edit", guards=[requires(Permission.CLIENT_WRITE)])
async def edit_client(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template:
    client = await _writable(db_session, actor, client_id)
    languages = [(lang.language, lang.level.value) for lang in client.languages]
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=["basic", "languages"],
    )
    return _form_page(
        form={**_form_values(client), "version": client.version},
        languages=languages,
        client=client,
        actor=actor,
    )


@post("/clients/{client_id:uuid}", guards=[requires(Permission.CLIENT_WRITE)])
async def update_client(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable(db_session, actor, client_id)
    data, rows = await _form(request)
    parsed = clients.read_client_form(data, rows)
    if await clients.identity_code_taken(
        db_session, actor.organisation_id, parsed.values.get("identity_code"), client.id
    ):
        parsed.errors["identity_code"] = _("A client with this personal identity code is already registered.")
    if parsed.errors:
        return _form_page(422, form=data, languages=rows, errors=parsed.errors, client=client, actor=actor)
    try:
        seen = int(data.get("version") or 0)
    except ValueError:
        seen = 0
    try:
        await clients.update(db_session, actor, client, seen, parsed)
    except clients.StaleEdit:
        await db_session.rollback()
        fresh = await _writable(db_session, actor, client_id)
        # Keep what the user typed; show what is saved now; the next save is a conscious overwrite.
        return _form_page(
            409,
            form={**data, "version": fresh.version},
            languages=rows,
            client=fresh,
            conflict=_form_values(fresh),
            actor=actor,
        )
    return Redirect(f"/officer/clients/{client.id}", status_code=303)


@post("/clients/{client_id:uuid}/end", guards=[requires(Permission.CLIENT_WRITE)])
async def end_client(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await clients.load_for_edit(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    if not is_responsible(actor, client):  # an ended relationship is answered below, with the reason
        raise PermissionDeniedException
    form = dict((await request.form()).items())
    errors = FormErrors()
    ended_on = date_field(form, "ended_on", errors, required=True)
    reason = choice(form, "end_reason", EndReason, errors)
    note = text(form, "end_note", 2000, errors)
    if client.status == ClientStatus.ENDED:
        errors["end_reason"] = _("The client relationship has already ended.")
    if errors or ended_on is None or reason is None:
        return _section_page("end", client, form, errors, 422)
    try:
        await clients.end_relationship(
            db_session,
            actor,
            client,
            int(form.get("version") or 0),
            ended_on,
            reason,
            note,
        )
    except clients.StaleEdit:
        errors["version"] = _(
            "Someone else saved changes to this client after you opened the page. Check the details and try again."
        )
        await db_session.rollback()
        fresh = await clients.load_for_edit(db_session, actor, client_id)
        if fresh is None:
            raise NotFoundException from None
        return _section_page("end", fresh, form, errors, 409)
    return Redirect(f"/officer/clients/{client.id}", status_code=303)


@post("/clients/{client_id:uuid}/responsible", guards=[requires(Permission.CLIENT_WRITE)])
async def set_responsible(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Redirect:
    """Whose worklist the client is on: an officer of the client's own organisation, or nobody."""
    client = await _writable(db_session, actor, client_id)
    form = dict((await request.form()).items())
    officers = {str(staff.id): staff for staff in await clients.officers(db_session, client.organisation_id)}
    chosen = str(form.get("responsible_officer_id") or "")
    if chosen and chosen not in officers:
        raise NotFoundException
    await clients.set_responsible(db_session, actor, client, officers[chosen].id if chosen else None)
    return Redirect(f"/officer/clients/{client.id}#basic", status_code=303)


@post("/clients/{client_id:uuid}/family", guards=[requires(Permission.CLIENT_WRITE)])
async def add_family(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable(db_session, actor, client_id)
    form = dict((await request.form()).items())
    errors = FormErrors()
    relation = choice(form, "relation", FamilyRelation, errors)
    identifier = (text(form, "related_identifier", 40, errors) or "").upper()
    related = None
    if identifier:
        related = await db_session.scalar(
            select(Client).where(
                or_(
                    Client.identity_code == identity_code.normalise(identifier),
                    Client.temporary_identifier == identifier,
                ),
                Client.organisation_id == actor.organisation_id,
                Client.id != client.id,
            )
        )
    if related is None:
        errors["related_identifier"] = _(
            "No other client of yours has this identity code or temporary identifier."
        )
    if errors or relation is None or related is None:
        return _section_page("family_form", client, form, errors, 422)
    await clients.add_family_link(db_session, actor, client, related, relation)
    return Redirect(clients.page_url(client.id, "family"), status_code=303)


@post("/clients/{client_id:uuid}/family/{related_id:uuid}/delete", guards=[requires(Permission.CLIENT_WRITE)])
async def remove_family(
    db_session: AsyncSession, actor: Actor, client_id: uuid.UUID, related_id: uuid.UUID
) -> Redirect:
    client = await _writable(db_session, actor, client_id)
    related = await _writable(db_session, actor, related_id)
    if not await clients.remove_family_link(db_session, actor, client, related):
        raise NotFoundException
    return Redirect(clients.page_url(client.id, "family"), status_code=303)


@post("/clients/{client_id:uuid}/consents", guards=[requires(Permission.CLIENT_WRITE)])
async def add_consent(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable(db_session, actor, client_id)
    form = dict((await request.form()).items())
    errors = FormErrors()
    purpose = choice(form, "purpose", ConsentPurpose, errors)
    decided_on = date_field(form, "decided_on", errors, required=True)
    given = form.get("given")
    if given not in ("yes", "no"):
        errors["given"] = _("Choose whether the consent was given or withdrawn.")
    note = text(form, "note", 1000, errors)
    if errors or purpose is None or decided_on is None:
        return _section_page("consent_form", client, form, errors, 422)
    await clients.record_consent(db_session, actor, client, purpose, given == "yes", decided_on, note)
    return Redirect(clients.page_url(client.id, "consents"), status_code=303)


@post("/clients/{client_id:uuid}/health", guards=[requires(Permission.HEALTH_WRITE)])
async def add_health(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _client_or_404(db_session, actor, client_id)
    if not may_write_health(actor, client):
        raise NotFoundException
    form = dict((await request.form()).items())
    errors = FormErrors()
    body = text(form, "text", 4000, errors)
    source = text(form, "source", 200, errors)
    if not body:
        errors["text"] = _("Write what affects the client's integration.")
    if not source:
        errors["source"] = _("Say where the information comes from.")
    if errors or not body or not source:
        return _section_page("health_form", client, form, errors, 422)
    await clients.add_health_information(db_session, actor, client, body, source)
    return Redirect(clients.page_url(client.id, "health"), status_code=303)


@get("/clients/{client_id:uuid}/access-history", guards=[requires(Permission.CLIENT_ACCESS_HISTORY)])
async def access_history(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template:
    client = await _client_or_404(db_session, actor, client_id)
    rows = (
        await db_session.execute(
            select(AuditEvent, Staff.full_name, Organisation.name)
            .outerjoin(Staff, Staff.id == AuditEvent.actor_id)
            .outerjoin(Organisation, Organisation.id == AuditEvent.actor_organisation_id)
            .where(AuditEvent.client_id == client.id)
            .order_by(AuditEvent.id.desc())
            .limit(200)
        )
    ).all()
    await audit.record(
        db_session, Action.VIEW, actor=actor, client_id=client.id, object_type="access_history"
    )
    return Template(
        "officer/clients/access_history.html", context={"client": client, "rows": rows, "actor": actor}
    )


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        search_page,
        search,
        new_client,
        duplicates,
        create_client,
        client_page,
        edit_client,
        update_client,
        end_client,
        set_responsible,
        add_family,
        remove_family,
        add_consent,
        add_health,
        access_history,
        *client_sections.route_handlers,
    ],
)
