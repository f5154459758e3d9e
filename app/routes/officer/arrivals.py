"""Quota refugees (3.4.8–3.4.9), the consultation of the wellbeing services county (service 5) and municipal
placements (3.4.10–3.4.11): the staff pages.

Officers with the arrivals permission work under /officer/arrivals on their own organisation's arrivals
(another organisation's id is 404). County staff with the cooperation-inbox permission read and answer the
consultations sent to their own county under /officer/consultations (another county's is 404); they see the
anonymised summary only, never an arrival or its persons.

Bad input shows the page again with the errors and every value kept (422); a form older than the record it
changes is refused with the input kept and a translated message (409).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.arrivals import Arrival, ArrivalKind, ArrivalPerson, ArrivalRole, ArrivalStatus
from app.domain import arrivals, audit
from app.domain.arrivals import AlreadyOpen, StaleArrival, StepBlocked
from app.domain.audit import Action
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, Permission
from app.i18n import _
from app.labels import field_label, label
from app.web import form_of, requires, staff_guard

OFFICER = [requires(Permission.ARRIVALS)]
COUNTY = [requires(Permission.COOPERATION_INBOX)]


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


def _url(arrival: Arrival, anchor: str = "") -> str:
    return f"/officer/arrivals/{arrival.id}" + (f"#{anchor}" if anchor else "")


async def _arrival(db: AsyncSession, actor: Actor, arrival_id: uuid.UUID) -> Arrival:
    arrival = await arrivals.load(db, actor, arrival_id)
    if arrival is None:
        raise NotFoundException
    return arrival


# --- the list and a new arrival -----------------------------------------------------------------------


@get("/arrivals", guards=OFFICER)
async def list_page(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    kind: str | None = None,
    status: str | None = None,
) -> Template:
    filters = arrivals.read_filters(kind, status)
    rows, more = await arrivals.list_arrivals(db_session, actor, filters)
    return Template(
        "officer/arrivals/list.html",
        context={
            "actor": actor,
            "rows": rows,
            "more": more,
            "filters": filters,
            "kinds": ArrivalKind,
            "statuses": ArrivalStatus,
        },
    )


def _new_page(
    actor: Actor, kind: ArrivalKind, form: dict[str, Any], errors: FormErrors | None = None
) -> Template:
    return Template(
        "officer/arrivals/new.html",
        context={"actor": actor, "kind": kind, "form": form, "errors": errors or FormErrors()},
        status_code=422 if errors else 200,
    )


def _kind(value: object) -> ArrivalKind:
    try:
        return ArrivalKind(str(value or ""))
    except ValueError:
        return ArrivalKind.QUOTA_REFUGEES


@get("/arrivals/new", guards=OFFICER)
async def new_page(actor: Actor, kind: str | None = None) -> Template:
    return _new_page(actor, _kind(kind), {"received_on": today().isoformat()})


@post("/arrivals", guards=OFFICER)
async def create_arrival(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data = await form_of(request)
    kind = _kind(data.get("kind"))
    parsed = arrivals.read_section("proposal", data, kind)
    if parsed.errors:
        return _new_page(actor, kind, data, parsed.errors)
    arrival = await arrivals.create(db_session, actor, kind, parsed)
    return Redirect(_url(arrival, "persons"), status_code=303)


# --- the page of one arrival ------------------------------------------------------------------------------


async def _page(
    db: AsyncSession,
    actor: Actor,
    arrival: Arrival,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    """The arrival's page. `section` names the form whose input, errors and notice are shown again:
    proposal, housing, reception, handover, consultation, decision, arrived, cancel, persons or
    step:<key>."""
    view = await arrivals.page(db, actor, arrival)
    forms: dict[str, dict[str, Any]] = {
        name: arrivals.section_form(arrival, name) for name in arrivals.SECTION_FIELDS
    }
    forms["consultation"] = {"version": str(arrival.version)}
    forms["decision"] = {"version": str(arrival.version), "decision_on": today().isoformat()}
    forms["arrived"] = {"version": str(arrival.version), "arrived_on": today().isoformat()}
    forms["cancel"] = {"version": str(arrival.version)}
    steps: dict[str, dict[str, Any]] = {}
    for checklist in view.checklists:
        for step in checklist.steps:
            steps[step.step.key] = {f"done_on-{step.step.key}": today().isoformat()}
    if section and form is not None:
        if section.startswith("step:"):
            steps[section[5:]] = form
        else:
            forms[section] = {**form, "version": str(arrival.version)}  # a 409 shows the saved version
    return Template(
        "officer/arrivals/detail.html",
        context={
            "actor": actor,
            "view": view,
            "arrival": arrival,
            "sections": arrivals.SECTIONS[arrival.kind],
            "forms": forms,
            "steps": steps,
            "section": section,
            "errors": errors or FormErrors(),
            "notice": notice,
            "placement_permits": [(p.value, label(p)) for p in arrivals.PLACEMENT_PERMITS],
            "today": today().isoformat(),
        },
        status_code=status,
    )


@get("/arrivals/{arrival_id:uuid}", guards=OFFICER)
async def arrival_page(db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID) -> Template:
    arrival = await _arrival(db_session, actor, arrival_id)
    return await _page(db_session, actor, arrival)


async def _stale(
    db: AsyncSession,
    actor: Actor,
    arrival_id: uuid.UUID,
    section: str,
    data: dict[str, Any],
    notice: str | None = None,
) -> Template:
    """Nothing was saved: the page again with the reloaded arrival, the input kept and a notice (409)."""
    await db.rollback()
    arrival = await _arrival(db, actor, arrival_id)
    return await _page(
        db, actor, arrival, section=section, form=data, status=409,
        notice=notice or arrivals.stale_message(arrival),
    )  # fmt: skip


async def _save_section(
    request: HTMXRequest, db: AsyncSession, actor: Actor, arrival_id: uuid.UUID, section: str
) -> Template | Redirect:
    arrival = await _arrival(db, actor, arrival_id)
    if section not in arrivals.SECTIONS[arrival.kind]:
        raise NotFoundException
    data = await form_of(request)
    parsed = arrivals.read_section(section, data, arrival.kind)
    await arrivals.required_by_done_steps(db, arrival, parsed)
    if parsed.errors:
        if arrival.version != _version(data):  # the errors may come from an outdated form: say so too
            return await _page(
                db, actor, arrival, section=section, form=data, errors=parsed.errors, status=409,
                notice=arrivals.stale_message(arrival),
            )  # fmt: skip
        return await _page(db, actor, arrival, section=section, form=data, errors=parsed.errors, status=422)
    try:
        await arrivals.update_section(db, actor, arrival, section, _version(data), parsed)
    except StaleArrival:
        return await _stale(db, actor, arrival_id, section, data)
    return Redirect(_url(arrival, section), status_code=303)


@post("/arrivals/{arrival_id:uuid}/proposal", guards=OFFICER)
async def save_proposal(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    return await _save_section(request, db_session, actor, arrival_id, "proposal")


@post("/arrivals/{arrival_id:uuid}/housing", guards=OFFICER)
async def save_housing(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    return await _save_section(request, db_session, actor, arrival_id, "housing")


@post("/arrivals/{arrival_id:uuid}/reception", guards=OFFICER)
async def save_reception(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    return await _save_section(request, db_session, actor, arrival_id, "reception")


@post("/arrivals/{arrival_id:uuid}/handover", guards=OFFICER)
async def save_handover(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    return await _save_section(request, db_session, actor, arrival_id, "handover")


# --- persons ---------------------------------------------------------------------------------------------


def _saved_differences(person: ArrivalPerson, form: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, saved value as text) for the fields where the saved person differs from the user's input."""
    saved = arrivals.person_form(person)
    names = {"role": _("Role in the family"), "special_needs": _("Special needs")}
    return [
        (names.get(name) or field_label(name), label(person.role) if name == "role" else saved[name])
        for name in arrivals.PERSON_FIELDS
        if (saved.get(name) or "") != (form.get(name) or "")
    ]


def _person_page(
    actor: Actor,
    arrival: Arrival,
    person: ArrivalPerson | None,
    form: dict[str, Any],
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
    conflict: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "officer/arrivals/person_form.html",
        context={
            "actor": actor,
            "arrival": arrival,
            "person": person,
            "form": form,
            "errors": errors or FormErrors(),
            "notice": notice,
            "conflict": conflict,
            "roles": [(r.value, label(r)) for r in ArrivalRole],
        },
        status_code=status,
    )


def _open_or_409(
    actor: Actor, arrival: Arrival, person: ArrivalPerson | None, form: dict[str, Any]
) -> Template | None:
    if arrival.status in arrivals.OPEN:
        return None
    return _person_page(
        actor, arrival, person, form, status=409,
        notice=_("The persons can no longer be changed: the arrival is “%(status)s”. Nothing was saved.")
        % {"status": label(arrival.status)},
    )  # fmt: skip


@get("/arrivals/{arrival_id:uuid}/persons/new", guards=OFFICER)
async def new_person_page(db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID) -> Template:
    arrival = await _arrival(db_session, actor, arrival_id)
    return _person_page(actor, arrival, None, {})


@post("/arrivals/{arrival_id:uuid}/persons", guards=OFFICER)
async def add_person(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    data = await form_of(request)
    refused = _open_or_409(actor, arrival, None, data)
    if refused is not None:
        return refused
    others = await arrivals.persons_of(db_session, arrival)
    parsed = arrivals.read_person_form(data, others, arrival.kind)
    if parsed.errors:
        return _person_page(actor, arrival, None, data, errors=parsed.errors, status=422)
    await arrivals.add_person(db_session, actor, arrival, parsed)
    if data.get("another") == "on":
        return Redirect(f"/officer/arrivals/{arrival.id}/persons/new", status_code=303)
    return Redirect(_url(arrival, "persons"), status_code=303)


async def _person(db: AsyncSession, arrival: Arrival, person_id: uuid.UUID) -> ArrivalPerson:
    person = await arrivals.load_person(db, arrival, person_id)
    if person is None:
        raise NotFoundException
    return person


@get("/arrivals/{arrival_id:uuid}/persons/{person_id:uuid}", guards=OFFICER)
async def person_page(
    db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID, person_id: uuid.UUID
) -> Template:
    arrival = await _arrival(db_session, actor, arrival_id)
    person = await _person(db_session, arrival, person_id)
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=person.client_id,
        object_type="arrival_person",
        object_id=person.id,
        fields=list(arrivals.PERSON_FIELDS),
    )
    return _person_page(actor, arrival, person, arrivals.person_form(person))


@post("/arrivals/{arrival_id:uuid}/persons/{person_id:uuid}", guards=OFFICER)
async def save_person(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID, person_id: uuid.UUID
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    person = await _person(db_session, arrival, person_id)
    data = await form_of(request)
    refused = _open_or_409(actor, arrival, person, data)
    if refused is not None:
        return refused
    others = [p for p in await arrivals.persons_of(db_session, arrival) if p.id != person.id]
    parsed = arrivals.read_person_form(data, others, arrival.kind)
    if parsed.errors:
        return _person_page(actor, arrival, person, data, errors=parsed.errors, status=422)
    try:
        await arrivals.update_person(db_session, actor, arrival, person, _version(data), parsed)
    except StaleArrival:
        await db_session.rollback()
        arrival = await _arrival(db_session, actor, arrival_id)
        found = await arrivals.load_person(db_session, arrival, person_id)
        if found is None:
            return _person_page(
                actor, arrival, None, data, status=409,
                notice=_("Someone else removed this person after you opened the form. Nothing was saved."),
            )  # fmt: skip
        return _person_page(
            actor, arrival, found, {**data, "version": str(found.version)}, status=409,
            notice=_("Someone else saved changes to this person after you opened the form. Your changes have "
                     "not been saved; they are still in the form. Check the saved values below, then save again."),
            conflict=_saved_differences(found, data),
        )  # fmt: skip
    return Redirect(_url(arrival, "persons"), status_code=303)


@post("/arrivals/{arrival_id:uuid}/persons/{person_id:uuid}/remove", guards=OFFICER)
async def remove_person(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID, person_id: uuid.UUID
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    person = await _person(db_session, arrival, person_id)
    data = await form_of(request)
    try:
        await arrivals.remove_person(db_session, actor, arrival, person, _version(data))
    except StaleArrival:
        return await _stale(
            db_session, actor, arrival_id, "persons", data,
            notice=_("The person was changed by someone else, or the persons can no longer be changed. "
                     "Nothing was removed: check the persons below."),
        )  # fmt: skip
    return Redirect(_url(arrival, "persons"), status_code=303)


# --- consultation, decision, cancel -----------------------------------------------------------------


@post("/arrivals/{arrival_id:uuid}/consultations", guards=OFFICER)
async def send_consultation(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    data = await form_of(request)
    persons = await arrivals.persons_of(db_session, arrival)
    parsed = arrivals.read_consultation_form(data, await arrivals.counties(db_session), persons)
    if parsed.errors:
        return await _page(
            db_session, actor, arrival, section="consultation", form=data, errors=parsed.errors, status=422
        )
    try:
        await arrivals.send_consultation(db_session, actor, arrival, _version(data), parsed)
    except StaleArrival:
        return await _stale(db_session, actor, arrival_id, "consultation", data)
    except AlreadyOpen:
        await db_session.rollback()
        arrival = await _arrival(db_session, actor, arrival_id)
        errors = FormErrors(
            county_id=_("This county has not yet answered the earlier consultation on this arrival.")
        )
        return await _page(
            db_session, actor, arrival, section="consultation", form=data, errors=errors, status=409
        )
    return Redirect(_url(arrival, "consultation"), status_code=303)


@post("/arrivals/{arrival_id:uuid}/consultations/{consultation_id:uuid}/withdraw", guards=OFFICER)
async def withdraw_consultation(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    arrival_id: uuid.UUID,
    consultation_id: uuid.UUID,
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    consultation = await arrivals.load_consultation(db_session, arrival, consultation_id)
    if consultation is None:
        raise NotFoundException
    data = await form_of(request)
    try:
        await arrivals.withdraw_consultation(db_session, actor, consultation, _version(data))
    except StaleArrival:
        await db_session.rollback()
        arrival = await _arrival(db_session, actor, arrival_id)
        found = await arrivals.load_consultation(db_session, arrival, consultation_id)
        return await _page(
            db_session, actor, arrival, section="consultation", status=409,
            notice=arrivals.consultation_stale_message(found),
        )  # fmt: skip
    return Redirect(_url(arrival, "consultation"), status_code=303)


@post("/arrivals/{arrival_id:uuid}/decision", guards=OFFICER)
async def record_decision(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    data = await form_of(request)
    parsed = arrivals.read_decision_form(data)
    if parsed.errors:
        return await _page(
            db_session, actor, arrival, section="decision", form=data, errors=parsed.errors, status=422
        )
    try:
        await arrivals.decide(db_session, actor, arrival, _version(data), parsed)
    except StaleArrival:
        return await _stale(db_session, actor, arrival_id, "decision", data)
    return Redirect(_url(arrival, "decision"), status_code=303)


@post("/arrivals/{arrival_id:uuid}/cancel", guards=OFFICER)
async def cancel_arrival(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    data = await form_of(request)
    try:
        await arrivals.cancel(db_session, actor, arrival, _version(data))
    except StaleArrival:
        return await _stale(db_session, actor, arrival_id, "cancel", data)
    return Redirect(_url(arrival), status_code=303)


# --- checklists ---------------------------------------------------------------------------------------


def _step(arrival: Arrival, key: str) -> arrivals.Step:
    step = arrivals.steps_of(arrival.kind).get(key)
    if step is None:
        raise NotFoundException
    return step


@post("/arrivals/{arrival_id:uuid}/checklist/{key:str}", guards=OFFICER)
async def mark_step(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID, key: str
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    step = _step(arrival, key)
    data = await form_of(request)
    parsed = arrivals.read_step_form(data, key)
    if parsed.errors:
        return await _page(
            db_session, actor, arrival, section=f"step:{key}", form=data, errors=parsed.errors, status=422
        )
    try:
        await arrivals.mark_done(db_session, actor, arrival, step, parsed)
    except StepBlocked as blocked:
        errors = FormErrors({f"done_on-{key}": str(blocked)})
        return await _page(
            db_session, actor, arrival, section=f"step:{key}", form=data, errors=errors, status=422
        )
    except StaleArrival:
        return await _stale(
            db_session, actor, arrival_id, f"step:{key}", data,
            notice=_("“%(step)s” was not marked done: someone else marked it meanwhile, or the checklist is "
                     "closed. Check the checklist below.") % {"step": _(step.title)},
        )  # fmt: skip
    return Redirect(_url(arrival, f"step-{key}"), status_code=303)


@post("/arrivals/{arrival_id:uuid}/checklist/{key:str}/undo", guards=OFFICER)
async def undo_step(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID, key: str
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    step = _step(arrival, key)
    data = await form_of(request)
    try:
        item_id: uuid.UUID | None = uuid.UUID(str(data.get("item_id") or ""))
    except ValueError:
        item_id = None
    try:
        await arrivals.undo(db_session, actor, arrival, step, item_id)
    except StaleArrival:
        return await _stale(
            db_session, actor, arrival_id, f"step:{key}", {},
            notice=_("“%(step)s” was not undone: someone else changed it meanwhile, or the checklist is closed. "
                     "Check the checklist below.") % {"step": _(step.title)},
        )  # fmt: skip
    return Redirect(_url(arrival, f"step-{key}"), status_code=303)


# --- the arrival ----------------------------------------------------------------------------------------


@post("/arrivals/{arrival_id:uuid}/arrived", guards=OFFICER)
async def mark_arrived(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, arrival_id: uuid.UUID
) -> Template | Redirect:
    arrival = await _arrival(db_session, actor, arrival_id)
    data = await form_of(request)
    parsed = arrivals.read_arrived_form(data, arrival.kind)
    if not await arrivals.persons_of(db_session, arrival):
        parsed.errors["arrived_on"] = _("Add the persons first: they become clients on arrival.")
    if parsed.errors:
        return await _page(
            db_session, actor, arrival, section="arrived", form=data, errors=parsed.errors, status=422
        )
    try:
        await arrivals.mark_arrived(db_session, actor, arrival, _version(data), parsed)
    except StaleArrival:
        return await _stale(db_session, actor, arrival_id, "arrived", data)
    return Redirect(_url(arrival, "persons"), status_code=303)


# --- the county: consultations ---------------------------------------------------------------------------


@get("/consultations", guards=COUNTY)
async def county_inbox(db_session: AsyncSession, actor: Actor) -> Template:
    waiting, others = await arrivals.county_inbox(db_session, actor)
    return Template(
        "officer/arrivals/consultations.html", context={"actor": actor, "waiting": waiting, "others": others}
    )


async def _county_page(
    db: AsyncSession,
    actor: Actor,
    row: arrivals.CountyRow,
    *,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    names = await arrivals.staff_names(db, [row.consultation.answered_by_id])
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        object_type="arrival_consultation",
        object_id=row.consultation.id,
        fields=["summary", "question", "answer"],
    )
    return Template(
        "officer/arrivals/consultation.html",
        context={
            "actor": actor,
            "row": row,
            "summary": row.consultation.summary,
            "answered_by": names.get(row.consultation.answered_by_id)
            if row.consultation.answered_by_id
            else None,
            "form": form or {},
            "errors": errors or FormErrors(),
            "notice": notice,
        },
        status_code=status,
    )


async def _county_row(db: AsyncSession, actor: Actor, consultation_id: uuid.UUID) -> arrivals.CountyRow:
    row = await arrivals.load_for_county(db, actor, consultation_id)
    if row is None:
        raise NotFoundException
    return row


@get("/consultations/{consultation_id:uuid}", guards=COUNTY)
async def county_consultation(db_session: AsyncSession, actor: Actor, consultation_id: uuid.UUID) -> Template:
    row = await _county_row(db_session, actor, consultation_id)
    return await _county_page(db_session, actor, row)


@post("/consultations/{consultation_id:uuid}/answer", guards=COUNTY)
async def answer_consultation(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, consultation_id: uuid.UUID
) -> Template | Redirect:
    row = await _county_row(db_session, actor, consultation_id)
    data = await form_of(request)
    errors = FormErrors()
    comments = arrivals.read_answer(data, errors)
    if errors or comments is None:
        return await _county_page(db_session, actor, row, form=data, errors=errors, status=422)
    try:
        await arrivals.answer(db_session, actor, row.consultation, _version(data), comments)
    except StaleArrival:
        await db_session.rollback()
        row = await _county_row(db_session, actor, consultation_id)
        return await _county_page(
            db_session, actor, row, form=data, status=409,
            notice=arrivals.consultation_stale_message(row.consultation),
        )  # fmt: skip
    return Redirect(f"/officer/consultations/{row.consultation.id}", status_code=303)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        list_page,
        new_page,
        create_arrival,
        arrival_page,
        save_proposal,
        save_housing,
        save_reception,
        save_handover,
        new_person_page,
        add_person,
        person_page,
        save_person,
        remove_person,
        send_consultation,
        withdraw_consultation,
        record_decision,
        cancel_arrival,
        mark_step,
        undo_step,
        mark_arrived,
        county_inbox,
        county_consultation,
        answer_consultation,
    ],
)
