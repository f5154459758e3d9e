"""Guidance and counselling visits (service 4, process 3.4.7) and their managed topic list.

Managers (the guidance-topics permission) keep the topic list at /officer/guidance-topics. Officers (the
guidance-visits permission) record visits at /officer/guidance-visits/new — anonymous, or for one of their
organisation's clients who has consented to keeping guidance records (decree 874/2024) — and list their
organisation's visits. The rules are in app.domain.guidance_visits.

Another organisation's topic, visit or client answers 404; a role without the permission 403. Bad input
shows the form again with the errors and every value kept (422); a refused identified visit (no consent)
likewise, with the ways forward. A stale save (version) or a change after the day of recording is refused
with the input kept and a translated message (409). Client searches travel in POST bodies.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client, ClientStatus, Consent
from app.db.guidance import GuidanceTopic, GuidanceVisit, VisitChannel, VisitReferral
from app.domain import audit, guidance_visits
from app.domain import clients as client_register
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, today
from app.domain.guidance_visits import DuplicateTopic, StaleTopic, StaleVisit
from app.domain.policy import Actor, Permission, may_write_client
from app.web import requires, staff_guard

VISITS = [requires(Permission.GUIDANCE_VISITS)]
TOPICS = [requires(Permission.GUIDANCE_TOPICS)]


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


async def _form_data(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """The posted form: single values, and the repeated topic and referral fields (kept in the dict as
    lists, for showing the form again)."""
    form = await request.form()
    data: dict[str, Any] = {k: form.get(k) for k in form}
    topics = [str(v) for v in form.getall("topic", [])]
    referrals = [str(v) for v in form.getall("referral", [])]
    data["topic"], data["referral"] = topics, referrals
    return data, topics, referrals


# --- topics -----------------------------------------------------------------------------------------------


async def _topic_or_404(db: AsyncSession, actor: Actor, topic_id: uuid.UUID) -> GuidanceTopic:
    topic = await guidance_visits.load_topic(db, actor, topic_id)
    if topic is None:
        raise NotFoundException
    return topic


async def _topics_page(
    db: AsyncSession,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "officer/guidance/topic_list.html",
        context={
            "actor": actor,
            "topics": await guidance_visits.topics(db, actor.organisation_id),
            "topic_name": guidance_visits.topic_name,
            "form": form or {},
            "errors": errors or FormErrors(),
            "notice": notice,
        },
        status_code=status,
    )


@get("/guidance-topics", guards=TOPICS)
async def topics_page(db_session: AsyncSession, actor: Actor) -> Template:
    return await _topics_page(db_session, actor)


@post("/guidance-topics", guards=TOPICS)
async def add_topic(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data, _t, _r = await _form_data(request)
    parsed = guidance_visits.read_topic_form(data)
    if parsed.errors:
        return await _topics_page(db_session, actor, form=data, errors=parsed.errors, status=422)
    try:
        await guidance_visits.add_topic(db_session, actor, parsed)
    except DuplicateTopic:
        errors = FormErrors(name_fi=guidance_visits.duplicate_message())
        return await _topics_page(db_session, actor, form=data, errors=errors, status=409)
    return Redirect("/officer/guidance-topics", status_code=303)


def _topic_form(
    actor: Actor,
    topic: GuidanceTopic,
    form: dict[str, Any],
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "officer/guidance/topic_form.html",
        context={
            "actor": actor,
            "topic": topic,
            "form": form,
            "errors": errors or FormErrors(),
            "notice": notice,
        },
        status_code=status,
    )


def _topic_values(topic: GuidanceTopic) -> dict[str, Any]:
    return {
        "name_fi": topic.name_fi,
        "name_sv": topic.name_sv,
        "name_en": topic.name_en,
        "version": str(topic.version),
    }


@get("/guidance-topics/{topic_id:uuid}/edit", guards=TOPICS)
async def edit_topic(db_session: AsyncSession, actor: Actor, topic_id: uuid.UUID) -> Template:
    topic = await _topic_or_404(db_session, actor, topic_id)
    return _topic_form(actor, topic, _topic_values(topic))


@post("/guidance-topics/{topic_id:uuid}", guards=TOPICS)
async def rename_topic(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, topic_id: uuid.UUID
) -> Template | Redirect:
    topic = await _topic_or_404(db_session, actor, topic_id)
    data, _t, _r = await _form_data(request)
    parsed = guidance_visits.read_topic_form(data)
    if parsed.errors:
        return _topic_form(actor, topic, data, errors=parsed.errors, status=422)
    try:
        await guidance_visits.rename_topic(db_session, actor, topic, _version(data), parsed)
    except StaleTopic:
        await db_session.rollback()
        topic = await _topic_or_404(db_session, actor, topic_id)
        form = {**data, "version": str(topic.version)}
        return _topic_form(actor, topic, form, notice=guidance_visits.stale_topic_message(), status=409)
    except DuplicateTopic:
        await db_session.rollback()
        topic = await _topic_or_404(db_session, actor, topic_id)
        errors = FormErrors(name_fi=guidance_visits.duplicate_message())
        return _topic_form(actor, topic, data, errors=errors, status=409)
    return Redirect("/officer/guidance-topics", status_code=303)


async def _topic_change(
    request: HTMXRequest, db: AsyncSession, actor: Actor, topic_id: uuid.UUID, change: str
) -> Template | Redirect:
    topic = await _topic_or_404(db, actor, topic_id)
    data, _t, _r = await _form_data(request)
    try:
        if change == "move":
            direction = str(data.get("direction") or "")
            if direction not in ("up", "down"):
                raise NotFoundException
            await guidance_visits.move_topic(db, actor, topic, _version(data), direction)
        else:
            await guidance_visits.set_active(db, actor, topic, _version(data), change == "reactivate")
    except StaleTopic:
        await db.rollback()
        return await _topics_page(db, actor, notice=guidance_visits.stale_topic_message(), status=409)
    return Redirect(f"/officer/guidance-topics#topic-{topic.id}", status_code=303)


@post("/guidance-topics/{topic_id:uuid}/move", guards=TOPICS)
async def move_topic(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, topic_id: uuid.UUID
) -> Template | Redirect:
    return await _topic_change(request, db_session, actor, topic_id, "move")


@post("/guidance-topics/{topic_id:uuid}/retire", guards=TOPICS)
async def retire_topic(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, topic_id: uuid.UUID
) -> Template | Redirect:
    return await _topic_change(request, db_session, actor, topic_id, "retire")


@post("/guidance-topics/{topic_id:uuid}/reactivate", guards=TOPICS)
async def reactivate_topic(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, topic_id: uuid.UUID
) -> Template | Redirect:
    return await _topic_change(request, db_session, actor, topic_id, "reactivate")


# --- recording a visit ------------------------------------------------------------------------------------


async def _visit_form(
    db: AsyncSession,
    actor: Actor,
    form: dict[str, Any],
    *,
    visit: GuidanceVisit | None = None,
    visit_client: Client | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    candidates: list[Client] | None = None,
    searched: bool = False,
    status: int = 200,
) -> Template:
    """The new-visit form (visit None) or the edit form. For a new visit: the clients offered (the one
    chosen in the form and the search results) with their consent, and what to do when the chosen one
    has not consented."""
    allowed = await guidance_visits.topics(db, actor.organisation_id, active_only=True)
    if visit is not None:  # the visit's own topics stay choosable, retired or not
        kept, _referrals = await guidance_visits.visit_links(db, [visit.id])
        allowed += [t for t in kept[visit.id] if t not in allowed]
    chosen: guidance_visits.ClientChoice | None = None
    choices: list[guidance_visits.ClientChoice] = []
    if visit is None:
        offered: list[Client] = []
        raw = str(form.get("client_id") or "")
        if raw:
            try:
                found = await guidance_visits.load_visit_client(db, actor, uuid.UUID(raw))
            except ValueError:
                found = None
            if found is not None:
                offered.append(found)
        offered += [c for c in candidates or [] if c.organisation_id == actor.organisation_id]
        choices = await guidance_visits.client_choices(db, offered)
        chosen = next((c for c in choices if str(c.client.id) == raw), None)
        for shown in choices:  # the names and the consent shown are the clients' data
            await audit.record(
                db, Action.VIEW, actor=actor, client_id=shown.client.id, object_type="client",
                fields=["first_names", "last_name", "date_of_birth", "consents"],
            )  # fmt: skip
    return Template(
        "officer/guidance/visit_form.html",
        context={
            "actor": actor,
            "visit": visit,
            "visit_client": visit_client,
            "form": form,
            "errors": errors or FormErrors(),
            "notice": notice,
            "topics": allowed,
            "topic_name": guidance_visits.topic_name,
            "channels": VisitChannel,
            "referrals": VisitReferral,
            "languages": i18n.language_choices(),
            "choices": choices,
            "chosen": chosen,
            "consent_problem": (
                guidance_visits.no_consent_message(chosen.consent)
                if chosen is not None and not chosen.consented and chosen.client.status == ClientStatus.ACTIVE
                else None
            ),
            "ended_problem": chosen is not None and chosen.client.status != ClientStatus.ACTIVE,
            "may_record_consent": chosen is not None and may_write_client(actor, chosen.client),
            "searched": searched,
            "found": len(candidates or []),
            "may_search_clients": actor.has(Permission.CLIENT_READ),
            "max_duration": guidance_visits.MAX_DURATION,
            "today_iso": today().isoformat(),
        },
        status_code=status,
    )


@get("/guidance-visits/new", guards=VISITS)
async def new_visit(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID | None = None) -> Template:
    form: dict[str, Any] = {"visited_on": today().isoformat(), "topic": [], "referral": []}
    if client_id is not None:
        if await guidance_visits.load_visit_client(db_session, actor, client_id) is None:
            raise NotFoundException
        form["client_id"] = str(client_id)
    return await _visit_form(db_session, actor, form)


@post("/guidance-visits/new/find-client", guards=VISITS)
async def find_client(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    """The form's client search (a POST: names never go into addresses; the search is audited)."""
    data, _t, _r = await _form_data(request)
    query = str(data.get("client_query") or "")[:100]
    found: list[Client] = []
    if actor.has(Permission.CLIENT_READ) and query.strip():
        result = await client_register.search(db_session, actor, query)
        found = [c for c in result.clients if c.organisation_id == actor.organisation_id]
    return await _visit_form(db_session, actor, data, candidates=found, searched=True)


@post("/guidance-visits", guards=VISITS)
async def create_visit(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data, topic_values, referral_values = await _form_data(request)
    allowed = await guidance_visits.topics(db_session, actor.organisation_id, active_only=True)
    parsed = guidance_visits.read_visit_form(data, topic_values, referral_values, allowed)
    errors = parsed.errors
    if data.get("save_anonymously") == "1":  # the officer chose to keep the visit without the person
        data["client_id"], data["note"], data["record_consent"] = "", "", ""
        parsed.note = None
        errors.pop("note", None)
    raw = str(data.get("client_id") or "")
    client: Client | None = None
    consent: Consent | None = None
    record_consent = False
    if raw:
        try:
            client_id = uuid.UUID(raw)
        except ValueError:
            raise NotFoundException from None
        client = await guidance_visits.load_visit_client(db_session, actor, client_id)
        if client is None:
            raise NotFoundException
        if client.status != ClientStatus.ACTIVE:
            errors["client_id"] = guidance_visits.ended_message()
        else:
            consent = await guidance_visits.latest_consent(db_session, client.id)
            if not guidance_visits.in_force(consent):
                if checkbox(data, "record_consent") and may_write_client(actor, client):
                    record_consent = True
                else:
                    errors["client_id"] = guidance_visits.no_consent_message(consent)
    elif parsed.note:
        errors["note"] = guidance_visits.anonymous_note_message()
    if errors:
        return await _visit_form(db_session, actor, data, errors=errors, status=422)
    if record_consent and client is not None:
        consent = await guidance_visits.record_consent(db_session, actor, client, today())
    visit = await guidance_visits.create_visit(db_session, actor, parsed, client, consent)
    return Redirect(f"/officer/guidance-visits/{visit.id}?saved=1", status_code=303)


# --- one visit ----------------------------------------------------------------------------------------------


async def _visit_or_404(db: AsyncSession, actor: Actor, visit_id: uuid.UUID) -> GuidanceVisit:
    visit = await guidance_visits.load_visit(db, actor, visit_id)
    if visit is None:
        raise NotFoundException
    return visit


async def _readable_client(db: AsyncSession, actor: Actor, visit: GuidanceVisit) -> Client | None:
    if visit.client_id is None:
        return None
    return await guidance_visits.load_visit_client(db, actor, visit.client_id)


async def _visit_page(
    db: AsyncSession,
    actor: Actor,
    visit: GuidanceVisit,
    *,
    notice: str | None = None,
    saved: bool = False,
    status: int = 200,
) -> Template:
    topics_of, referrals_of = await guidance_visits.visit_links(db, [visit.id])
    client = await _readable_client(db, actor, visit)
    recorder = await guidance_visits.staff_name(db, visit.recorded_by_id)
    await guidance_visits.audit_view(db, actor, [visit] if client is not None else [])
    return Template(
        "officer/guidance/visit.html",
        context={
            "actor": actor,
            "visit": visit,
            "client": client,
            "topics": topics_of[visit.id],
            "referrals": referrals_of[visit.id],
            "topic_name": guidance_visits.topic_name,
            "recorder": recorder,
            "may_change": guidance_visits.may_change(actor, visit, today()),
            "notice": notice,
            "saved": saved,
        },
        status_code=status,
    )


@get("/guidance-visits/{visit_id:uuid}", guards=VISITS)
async def visit_page(
    db_session: AsyncSession, actor: Actor, visit_id: uuid.UUID, saved: bool = False
) -> Template:
    visit = await _visit_or_404(db_session, actor, visit_id)
    return await _visit_page(db_session, actor, visit, saved=saved)


async def _changeable(db: AsyncSession, actor: Actor, visit: GuidanceVisit, *, editing: bool) -> str | None:
    """Why the actor cannot change (`editing`) or delete the visit now (None: they can). Another officer's
    visit: 403. An identified visit whose client has withdrawn their consent can only be deleted."""
    if not guidance_visits.is_recorder(actor, visit):
        raise PermissionDeniedException
    if not guidance_visits.may_change(actor, visit, today()):
        return guidance_visits.past_day_message()
    if editing and visit.client_id is not None:
        consent = await guidance_visits.latest_consent(db, visit.client_id)
        if not guidance_visits.in_force(consent):
            return guidance_visits.withdrawn_message()
    return None


@get("/guidance-visits/{visit_id:uuid}/edit", guards=VISITS)
async def edit_visit(db_session: AsyncSession, actor: Actor, visit_id: uuid.UUID) -> Template:
    visit = await _visit_or_404(db_session, actor, visit_id)
    refused = await _changeable(db_session, actor, visit, editing=True)
    if refused is not None:
        return await _visit_page(db_session, actor, visit, notice=refused, status=409)
    topics_of, referrals_of = await guidance_visits.visit_links(db_session, [visit.id])
    client = await _readable_client(db_session, actor, visit)
    await guidance_visits.audit_view(db_session, actor, [visit] if client is not None else [])
    form = guidance_visits.form_values(visit, [t.id for t in topics_of[visit.id]], referrals_of[visit.id])
    return await _visit_form(db_session, actor, form, visit=visit, visit_client=client)


@post("/guidance-visits/{visit_id:uuid}", guards=VISITS)
async def update_visit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, visit_id: uuid.UUID
) -> Template | Redirect:
    visit = await _visit_or_404(db_session, actor, visit_id)
    data, topic_values, referral_values = await _form_data(request)
    client = await _readable_client(db_session, actor, visit)
    refused = await _changeable(db_session, actor, visit, editing=True)
    if refused is not None:
        return await _visit_form(
            db_session, actor, data, visit=visit, visit_client=client, notice=refused, status=409
        )
    allowed = await guidance_visits.topics(db_session, actor.organisation_id, active_only=True)
    kept, _referrals = await guidance_visits.visit_links(db_session, [visit.id])
    allowed += [t for t in kept[visit.id] if t not in allowed]
    parsed = guidance_visits.read_visit_form(data, topic_values, referral_values, allowed)
    if visit.client_id is None and parsed.note:
        parsed.errors["note"] = guidance_visits.anonymous_note_message()
    if parsed.errors:
        return await _visit_form(
            db_session, actor, data, visit=visit, visit_client=client, errors=parsed.errors, status=422
        )
    try:
        await guidance_visits.update_visit(db_session, actor, visit, _version(data), parsed)
    except StaleVisit:
        await db_session.rollback()  # everything loaded is expired: read it again
        visit = await _visit_or_404(db_session, actor, visit_id)
        client = await _readable_client(db_session, actor, visit)
        return await _visit_form(
            db_session, actor, data, visit=visit, visit_client=client,
            notice=guidance_visits.stale_visit_message(), status=409,
        )  # fmt: skip
    return Redirect(f"/officer/guidance-visits/{visit.id}", status_code=303)


@post("/guidance-visits/{visit_id:uuid}/delete", guards=VISITS)
async def delete_visit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, visit_id: uuid.UUID
) -> Template | Redirect:
    visit = await _visit_or_404(db_session, actor, visit_id)
    data, _t, _r = await _form_data(request)
    refused = await _changeable(db_session, actor, visit, editing=False)
    if refused is not None:
        return await _visit_page(db_session, actor, visit, notice=refused, status=409)
    client_id = visit.client_id
    try:
        await guidance_visits.delete_visit(db_session, actor, visit, _version(data))
    except StaleVisit:
        await db_session.rollback()
        visit = await _visit_or_404(db_session, actor, visit_id)
        return await _visit_page(
            db_session, actor, visit, notice=guidance_visits.stale_visit_message(), status=409
        )
    if client_id is not None:
        return Redirect(client_register.page_url(client_id, "guidance-visits"), status_code=303)
    return Redirect("/officer/guidance-visits", status_code=303)


# --- the list -----------------------------------------------------------------------------------------------


@get("/guidance-visits", guards=VISITS)
async def visits_page(db_session: AsyncSession, actor: Actor, request: Request[Any, Any, Any]) -> Template:
    every_topic = await guidance_visits.topics(db_session, actor.organisation_id)
    params = {k: request.query_params.get(k) for k in ("from", "to", "channel", "topic", "whose", "page")}
    on = today()
    filters, errors, form = guidance_visits.read_list_filters(params, on, every_topic)
    found = None if errors else await guidance_visits.listing(db_session, actor, filters, on)
    return Template(
        "officer/guidance/visit_list.html",
        context={
            "actor": actor,
            "listing": found,
            "filters": filters,
            "form": form,
            "errors": errors,
            "topics": every_topic,
            "topic_name": guidance_visits.topic_name,
            "channels": VisitChannel,
            "previous_query": urlencode(filters.query(filters.page - 1)) if filters.page > 1 else None,
            "next_query": urlencode(filters.query(filters.page + 1)) if found and found.has_next else None,
        },
        status_code=422 if errors else 200,
    )


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        topics_page,
        add_topic,
        edit_topic,
        rename_topic,
        move_topic,
        retire_topic,
        reactivate_topic,
        visits_page,
        new_visit,
        find_client,
        create_visit,
        visit_page,
        edit_visit,
        update_visit,
        delete_visit,
    ],
)
