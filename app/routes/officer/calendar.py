"""Calendar and appointments (service 9), iCalendar files and private feeds, interpretation events
(service 15).

Officers book, edit, move, cancel and delete; managers read their organisation's calendars; interpreters
see only their own assignments, with only what an assignment needs. An appointment id from a URL is
loaded under `appointments.appointment_scope` (another organisation's: 404), a client id under
`client_scope`. The private feed `/calendar/feed/<token>.ics` lives outside /officer: the random token is
its credential, only its SHA-256 is stored, and a revoked or unknown token answers the same 404.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from babel.numbers import format_currency
from litestar import Response, Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.appointment import (
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    CalendarFeed,
    ClientResponse,
    InterpretationMode,
)
from app.db.base import utcnow
from app.db.client import Client
from app.db.organisation import Staff
from app.domain import appointments, audit, clients, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, text, today
from app.domain.policy import (
    ROLE_PERMISSIONS,
    Actor,
    Permission,
    client_scope,
    is_responsible,
    load_client,
    may_write_client,
)
from app.i18n import _
from app.routes.officer import tasks as task_routes
from app.settings import Settings
from app.web import requires, staff_guard

BOOKING = [requires(Permission.CALENDAR), requires(Permission.CLIENT_WRITE)]
CHOICES = {"purposes": AppointmentPurpose, "modes": InterpretationMode, "responses": ClientResponse}
HELPERS = {"when": appointments.when, "time_range": appointments.time_range}


def _fee() -> str:
    return format_currency(rules.NO_SHOW_FEE_MAX, "EUR", locale=i18n.get_locale())


def _uuids(values: Sequence[Any]) -> list[uuid.UUID]:
    """Ids posted by the form, in order, each once; a malformed one is nobody's (404)."""
    found: list[uuid.UUID] = []
    for value in values:
        if not str(value).strip():
            continue
        try:
            parsed = uuid.UUID(str(value))
        except ValueError:
            raise NotFoundException from None
        if parsed not in found:
            found.append(parsed)
    return found


def _version(data: dict[str, Any]) -> int:
    raw = str(data.get("version") or "")
    return int(raw) if raw.isdigit() else 0


async def _appointment_or_404(db: AsyncSession, actor: Actor, appointment_id: uuid.UUID) -> Appointment:
    appointment = await appointments.load(db, actor, appointment_id)
    if appointment is None:
        raise NotFoundException
    return appointment


async def _bookable(db: AsyncSession, actor: Actor, appointment_id: uuid.UUID) -> Appointment:
    """An appointment the actor may change: of their own organisation, every visible client one the actor
    is responsible for. A client whose relationship has ended does not block cancelling the appointment
    or taking them off it (saving it with them on it is refused with the reason: check_people)."""
    appointment = await _appointment_or_404(db, actor, appointment_id)
    if appointments.as_interpreter(actor, appointment) or not appointments.may_book(actor):
        raise PermissionDeniedException
    visible = await appointments.visible_clients(db, actor, [appointment])
    if not all(is_responsible(actor, c) for c in visible.values()):
        raise PermissionDeniedException
    return appointment


async def _writable_clients(db: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID]) -> list[Client]:
    """The chosen clients in the order chosen, each in the actor's scope (else 404) and the actor's
    responsibility (else 403): one query. An ended relationship is refused with its reason (422) by
    appointments.check_people."""
    wanted = list(ids[: appointments.MAX_CLIENTS + 1])
    if not wanted:
        return []
    found = {
        c.id: c for c in await db.scalars(select(Client).where(Client.id.in_(wanted), client_scope(actor)))
    }
    if len(found) != len(wanted):
        raise NotFoundException
    if not all(is_responsible(actor, c) for c in found.values()):
        raise PermissionDeniedException
    return [found[i] for i in wanted]


async def _own_staff(db: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID]) -> list[Staff]:
    """Officers and managers of the actor's own organisation (another's id: 404)."""
    if not ids:
        return []
    choices = {s.id: s for s in await appointments.staff_choices(db, actor.organisation_id)}
    if any(i not in choices for i in ids):
        raise NotFoundException
    return [choices[i] for i in ids[: appointments.MAX_STAFF + 1]]


async def _audit_view(
    db: AsyncSession,
    actor: Actor,
    appointment: Appointment,
    client_ids: Sequence[uuid.UUID],
    fields: list[str],
) -> None:
    for client_id in client_ids:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=client_id,
            object_type="appointment",
            object_id=appointment.id,
            fields=fields,
        )


# --- the calendar ------------------------------------------------------------------------------------


def _chosen_day(value: str | None) -> date:
    return appointments.parse_day(value) or today()


@get("/calendar", guards=[requires(Permission.CALENDAR)])
async def calendar_page(
    db_session: AsyncSession,
    actor: Actor,
    day: str | None = None,
    view: str = "week",
    staff: str | None = None,
) -> Template:
    """A person's appointments for a week (Monday first) or a day, local time, as a list per day."""
    person_id = actor.staff_id
    if staff and staff != str(actor.staff_id):
        if not actor.has(Permission.TEAM_WORKLIST):  # a team lead looks at colleagues' calendars
            raise PermissionDeniedException
        try:
            person_id = uuid.UUID(staff)
        except ValueError:
            raise NotFoundException from None
    person = await db_session.scalar(
        select(Staff).where(Staff.id == person_id, Staff.organisation_id == actor.organisation_id)
    )
    if person is None:
        raise NotFoundException
    chosen = _chosen_day(day)
    view = "day" if view == "day" else "week"
    first = chosen if view == "day" else chosen - timedelta(days=chosen.weekday())
    length = 1 if view == "day" else 7
    days = await appointments.calendar(db_session, actor, person.id, first, length)
    shows_clients = any(e.clients for d in days for e in d.entries)
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        object_type="calendar",
        object_id=person.id,
        fields=["appointments", "clients"] if shows_clients else ["appointments"],
    )
    names = await appointments.staff_names(
        db_session,
        [s.staff_id for d in days for e in d.entries for s in e.appointment.staff]
        + [e.appointment.interpreter_id for d in days for e in d.entries],
    )
    colleagues = (
        await appointments.staff_choices(db_session, actor.organisation_id)
        if actor.has(Permission.TEAM_WORKLIST)
        else []
    )
    await db_session.commit()
    step = timedelta(days=length)
    return Template(
        "officer/calendar/calendar.html",
        context={
            "actor": actor,
            "person": person,
            "own": person.id == actor.staff_id,
            "days": days,
            "view": view,
            "chosen": chosen,
            "first": first,
            "last": first + timedelta(days=length - 1),
            "previous": first - step,
            "next": first + step,
            "today": today(),
            "names": names,
            "colleagues": colleagues,
            "staff_param": "" if person.id == actor.staff_id else str(person.id),
            "may_book": appointments.may_book(actor),
            **HELPERS,
        },
    )


# --- create and edit ---------------------------------------------------------------------------------


async def _form_page(
    db: AsyncSession,
    actor: Actor,
    *,
    appointment: Appointment | None,
    form: dict[str, Any],
    chosen: Sequence[Client],
    found: Sequence[Client] = (),
    staff_ids: Sequence[uuid.UUID] = (),
    errors: FormErrors | None = None,
    conflicts: Sequence[appointments.Conflict] = (),
    saved: dict[str, Any] | None = None,
    searched: bool = False,
    status: int = 200,
) -> Template:
    day = appointments.parse_day(str(form.get("day") or ""))
    return Template(
        "officer/calendar/form.html",
        context={
            "actor": actor,
            "appointment": appointment,
            "form": form,
            "chosen": chosen,
            "found": [c for c in found if c.id not in {x.id for x in chosen}],
            "searched": searched,
            "staff_ids": [str(i) for i in staff_ids],
            "staff_choices": await appointments.staff_choices(db, actor.organisation_id),
            "interpreters": await appointments.interpreter_choices(db),
            "errors": errors or FormErrors(),
            "conflicts": conflicts,
            "saved": saved,
            "fee": _fee(),
            "no_fee": appointments.under_18_on(chosen, day),
            **CHOICES,
        },
        status_code=status,
    )


@get("/appointments/new", guards=BOOKING)
async def new_appointment(
    db_session: AsyncSession, actor: Actor, client: str | None = None, day: str | None = None
) -> Template:
    if not appointments.may_book(actor):
        raise PermissionDeniedException
    chosen = await _writable_clients(db_session, actor, _uuids([client] if client else []))
    form: dict[str, Any] = {
        "day": _chosen_day(day).isoformat(),
        "starts_time": "09:00",
        "ends_time": "10:00",
    }
    needs = next((c for c in chosen if c.interpreter_needed and c.interpreter_language), None)
    if needs:
        form["interpreter_language"] = needs.interpreter_language
    if chosen:
        await audit.record(
            db_session,
            Action.VIEW,
            actor=actor,
            client_id=chosen[0].id,
            object_type="appointment",
            fields=["name", "interpreter_language"],
        )
    return await _form_page(
        db_session, actor, appointment=None, form=form, chosen=chosen, staff_ids=[actor.staff_id]
    )


async def _find(db: AsyncSession, actor: Actor, data: dict[str, Any]) -> tuple[list[Client], bool]:
    """Clients to add, from the form's search field (the search is audited like the register's)."""
    query = str(data.get("find_client") or "").strip()[
        :100
    ]  # a search, like the register's: nothing is saved
    if not (data.get("find") and query):
        return [], False
    result = await clients.search(db, actor, query)
    return [c for c in result.clients if may_write_client(actor, c)], True


def _relevant_change(
    appointment: Appointment, parsed: appointments.AppointmentInput, staff: list[Staff]
) -> bool:
    """Does the edit touch what double bookings are about (time, people, room)?"""
    v = parsed.values
    return (
        v["starts_at"] != appointment.starts_at
        or v["ends_at"] != appointment.ends_at
        or {s.id for s in staff} != {s.staff_id for s in appointment.staff}
        or v["interpreter_id"] != appointment.interpreter_id
        or (v["room"] or "").lower() != (appointment.room or "").lower()
    )


async def _read(
    request: HTMXRequest, db: AsyncSession, actor: Actor
) -> tuple[dict[str, Any], list[Client], list[Staff]]:
    form = await request.form()
    data = {k: form.get(k) for k in form}
    chosen = await _writable_clients(db, actor, _uuids(form.getall("client_id", [])))
    staff = await _own_staff(db, actor, _uuids(form.getall("staff_id", [])))
    return data, chosen, staff


@post("/appointments/new", guards=BOOKING)
async def create_appointment(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings
) -> Template | Redirect:
    if not appointments.may_book(actor):
        raise PermissionDeniedException
    data, chosen, staff = await _read(request, db_session, actor)

    async def again(**context: Any) -> Template:
        return await _form_page(
            db_session,
            actor,
            appointment=None,
            form=data,
            chosen=chosen,
            staff_ids=[s.id for s in staff],
            **context,
        )

    found, searched = await _find(db_session, actor, data)
    if searched:
        return await again(found=found, searched=True)
    parsed = appointments.read_form(data)
    await appointments.check_people(db_session, actor, parsed, chosen, staff)
    if parsed.errors:
        return await again(errors=parsed.errors, status=422)
    v = parsed.values
    warnings = await appointments.conflicts(
        db_session, actor, v["starts_at"], v["ends_at"], [s.id for s in staff], v["interpreter_id"], v["room"]
    )
    if warnings and not parsed.book_anyway:
        return await again(conflicts=warnings, status=422)
    appointment = await appointments.create(
        db_session, actor, parsed, chosen, staff, settings.reminder_lead_hours
    )
    return Redirect(f"/officer/appointments/{appointment.id}", status_code=303)


@post("/appointments/conflicts", guards=BOOKING)
async def check_conflicts(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    """The double-booking warning while the form is filled in (htmx). Staff of another organisation
    are left out; an interpreter's other assignments show only their times."""
    form = await request.form()
    data = {k: form.get(k) for k in form}
    parsed = appointments.read_form(data)
    found: list[appointments.Conflict] = []
    if parsed.values["starts_at"] and parsed.values["ends_at"] and not parsed.errors.get("ends_time"):
        own = {s.id for s in await appointments.staff_choices(db_session, actor.organisation_id)}
        try:
            staff_ids = [i for i in _uuids(form.getall("staff_id", [])) if i in own]
            exclude = _uuids([data.get("appointment_id") or ""])
        except NotFoundException:
            staff_ids, exclude = [], []
        found = await appointments.conflicts(
            db_session,
            actor,
            parsed.values["starts_at"],
            parsed.values["ends_at"],
            staff_ids,
            parsed.values["interpreter_id"],
            parsed.values["room"],
            exclude[0] if exclude else None,
        )
    return Template("officer/calendar/_conflicts.html", context={"conflicts": found, "live": True})


@get("/appointments/{appointment_id:uuid}/edit", guards=BOOKING)
async def edit_appointment(db_session: AsyncSession, actor: Actor, appointment_id: uuid.UUID) -> Template:
    appointment = await _bookable(db_session, actor, appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        raise PermissionDeniedException(_("A cancelled appointment is not changed any more."))
    visible = await appointments.visible_clients(db_session, actor, [appointment])
    chosen = [visible[r.client_id] for r in appointment.clients if r.client_id in visible]
    await _audit_view(db_session, actor, appointment, [c.id for c in chosen], ["appointment"])
    return await _form_page(
        db_session,
        actor,
        appointment=appointment,
        form=appointments.form_values(appointment),
        chosen=chosen,
        staff_ids=[s.staff_id for s in appointment.staff],
    )


@post("/appointments/{appointment_id:uuid}/edit", guards=BOOKING)
async def save_appointment(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    appointment_id: uuid.UUID,
) -> Template | Redirect:
    appointment = await _bookable(db_session, actor, appointment_id)
    data, chosen, staff = await _read(request, db_session, actor)
    staff_ids = [s.id for s in staff]

    async def again(**context: Any) -> Template:
        context.setdefault("appointment", appointment)
        return await _form_page(db_session, actor, form=data, chosen=chosen, staff_ids=staff_ids, **context)

    found, searched = await _find(db_session, actor, data)
    if searched:
        return await again(found=found, searched=True)
    parsed = appointments.read_form(data)
    await appointments.check_people(db_session, actor, parsed, chosen, staff)
    if parsed.errors:
        return await again(errors=parsed.errors, status=422)
    v = parsed.values
    if _relevant_change(appointment, parsed, staff) and not parsed.book_anyway:
        warnings = await appointments.conflicts(
            db_session,
            actor,
            v["starts_at"],
            v["ends_at"],
            staff_ids,
            v["interpreter_id"],
            v["room"],
            appointment.id,
        )
        if warnings:
            return await again(conflicts=warnings, status=422)
    visible = await appointments.visible_clients(db_session, actor, [appointment])
    try:
        await appointments.update(
            db_session,
            actor,
            appointment,
            _version(data),
            parsed,
            chosen,
            staff,
            settings.reminder_lead_hours,
            visible,
        )
    except appointments.AppointmentError as problem:
        return await again(errors=problem.errors, status=422)
    except appointments.StaleEdit:
        await db_session.rollback()
        fresh = await _bookable(db_session, actor, appointment_id)
        data["version"] = fresh.version
        message = _(
            "Someone else saved this appointment after you opened it. Your input is kept below; the saved "
            "values are shown beside the fields. Save again to keep yours."
        )
        return await again(
            appointment=fresh,
            errors=FormErrors(version=message),
            saved=appointments.form_values(fresh),
            status=409,
        )
    return Redirect(f"/officer/appointments/{appointment.id}", status_code=303)


# --- the appointment page ----------------------------------------------------------------------------


async def _page(
    db: AsyncSession,
    actor: Actor,
    appointment: Appointment,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
    unseen: set[int] | None = None,
) -> Template:
    visible = await appointments.visible_clients(db, actor, [appointment])
    interpreting = appointments.as_interpreter(actor, appointment)
    rows = [(row, visible[row.client_id]) for row in appointment.clients if row.client_id in visible]
    events = await appointments.interpretations_of(db, appointment)
    if interpreting:
        events = [
            e for e in events if e.recorded_by_id == actor.staff_id or e.interpreter_id == actor.staff_id
        ]
    names = await appointments.staff_names(
        db,
        [s.staff_id for s in appointment.staff]
        + [
            appointment.interpreter_id,
            appointment.interpreter_booked_by_id,
            appointment.created_by_id,
        ]
        + [e.interpreter_id for e in events]
        + [e.recorded_by_id for e in events],
    )
    # Cancelling and taking a client off stay possible after a relationship ended (_bookable).
    may_change = (
        not interpreting and appointments.may_book(actor) and all(is_responsible(actor, c) for _r, c in rows)
    )
    writable = may_change and all(may_write_client(actor, c) for _r, c in rows)
    may_record = actor.has(Permission.TRANSLATION_WORK) and (interpreting or writable) and bool(rows)
    context = {
        "actor": actor,
        "appointment": appointment,
        "rows": rows,
        "hidden_clients": len(appointment.clients) - len(rows),
        "interpreting": interpreting,
        "names": names,
        "events": events,
        "may_change": may_change and appointment.status == AppointmentStatus.BOOKED,
        "may_delete": may_change,
        "why_not_deletable": await appointments.why_not_deletable(db, appointment) if may_change else None,
        "may_record": may_record,
        "interpreter_options": appointments.interpreter_options(
            await appointments.interpreter_choices(db) if may_record and not interpreting else []
        ),
        "client_options": [(str(c.id), f"{c.last_name}, {c.first_names}") for _r, c in rows],
        "fee": _fee(),
        "fee_applies": {c.id: appointments.fee_may_apply(appointment, c) for _r, c in rows},
        "unseen": unseen or set(),
        "section": section,
        "form": form or {},
        "errors": errors or FormErrors(),
        "interpretation_form": (
            form
            if section == "interpretation" and form
            else appointments.interpretation_defaults(appointment)
        ),
        "local_day": appointments.local(appointment.starts_at).date(),
        **CHOICES,
        **HELPERS,
    }
    return Template("officer/calendar/detail.html", context=context, status_code=status)


@get("/appointments/{appointment_id:uuid}", guards=[requires(Permission.CALENDAR)])
async def appointment_page(db_session: AsyncSession, actor: Actor, appointment_id: uuid.UUID) -> Template:
    appointment = await _appointment_or_404(db_session, actor, appointment_id)
    visible = await appointments.visible_clients(db_session, actor, [appointment])
    interpreting = appointments.as_interpreter(actor, appointment)
    shown = [r.client_id for r in appointment.clients if r.client_id in visible]
    fields = ["time", "place", "interpretation", "name"] if interpreting else ["appointment", "responses"]
    await _audit_view(db_session, actor, appointment, shown, fields)
    unseen: set[int] = set()
    mine = (
        actor.staff_id in {s.staff_id for s in appointment.staff}
        or actor.staff_id == appointment.created_by_id
    )
    if not interpreting and mine:
        # The officers of the appointment see the clients' answers: new until now.
        unseen = {
            r.id
            for r in appointment.clients
            if r.response != ClientResponse.NONE and r.seen_by_staff_at is None
        }
        await appointments.mark_seen(db_session, appointment)
    page = await _page(db_session, actor, appointment, unseen=unseen)
    await db_session.commit()
    return page


@post("/appointments/{appointment_id:uuid}/cancel", guards=BOOKING)
async def cancel_appointment(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, appointment_id: uuid.UUID
) -> Template | Redirect:
    appointment = await _bookable(db_session, actor, appointment_id)
    data = dict((await request.form()).items())
    errors = FormErrors()
    reason = text(data, "cancel_reason", 2000, errors)
    if not reason:
        errors["cancel_reason"] = _("Write why the appointment is cancelled.")
    if errors or not reason:
        return await _page(
            db_session, actor, appointment, section="cancel", form=data, errors=errors, status=422
        )
    try:
        await appointments.cancel(
            db_session,
            actor,
            appointment,
            _version(data),
            reason,
            checkbox(data, "client_told"),
        )
    except appointments.AppointmentError as problem:
        return await _page(
            db_session, actor, appointment, section="cancel", form=data, errors=problem.errors, status=422
        )
    except appointments.StaleEdit:
        await db_session.rollback()
        fresh = await _appointment_or_404(db_session, actor, appointment_id)
        errors = FormErrors(
            cancel_reason=_(
                "Someone else changed this appointment after you opened the page. Check it and try again."
            )
        )
        return await _page(db_session, actor, fresh, section="cancel", form=data, errors=errors, status=409)
    return Redirect(f"/officer/appointments/{appointment.id}", status_code=303)


@post("/appointments/{appointment_id:uuid}/delete", guards=BOOKING)
async def delete_appointment(
    db_session: AsyncSession, actor: Actor, appointment_id: uuid.UUID
) -> Template | Redirect:
    appointment = await _bookable(db_session, actor, appointment_id)
    day = appointments.local(appointment.starts_at).date()
    try:
        await appointments.delete(db_session, actor, appointment)
    except appointments.AppointmentError as problem:
        return await _page(
            db_session, actor, appointment, section="delete", errors=problem.errors, status=422
        )
    return Redirect(f"/officer/calendar?day={day.isoformat()}", status_code=303)


@get("/appointments/{appointment_id:uuid}/ics", guards=[requires(Permission.CALENDAR)])
async def appointment_ics(
    db_session: AsyncSession, actor: Actor, settings: Settings, appointment_id: uuid.UUID
) -> Response[bytes]:
    """One appointment as an iCalendar file: no client names, no identity codes."""
    appointment = await _appointment_or_404(db_session, actor, appointment_id)
    visible = await appointments.visible_clients(db_session, actor, [appointment])
    await _audit_view(
        db_session,
        actor,
        appointment,
        [r.client_id for r in appointment.clients if r.client_id in visible],
        ["ics"],
    )
    await db_session.commit()
    body = appointments.ics(
        [(appointment, appointments.as_interpreter(actor, appointment))],
        settings.public_url,
        "Kotopolku",
        links_at=settings.office_base,
    )
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="kotopolku-{str(appointment.id)[:8]}.ics"'},
    )


# --- interpretation events (service 15) ---------------------------------------------------------------


@post("/appointments/{appointment_id:uuid}/interpretations", guards=[requires(Permission.TRANSLATION_WORK)])
async def record_interpretation(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, appointment_id: uuid.UUID
) -> Template | Redirect:
    """Record an interpretation of the appointment: its officers, or its own interpreter (as themselves)."""
    appointment = await _appointment_or_404(db_session, actor, appointment_id)
    interpreting = appointments.as_interpreter(actor, appointment)
    form = await request.form()
    data = {k: form.get(k) for k in form}
    visible = await appointments.visible_clients(db_session, actor, [appointment])
    on_it = {r.client_id for r in appointment.clients}
    client_ids = _uuids([data.get("client_id") or ""])
    client = visible.get(client_ids[0]) if client_ids and client_ids[0] in on_it else None
    if client is None:
        raise NotFoundException
    if interpreting:
        data["interpreter_id"], data["interpreter_name"] = str(actor.staff_id), ""
    elif not (appointments.may_book(actor) and may_write_client(actor, client)):
        raise PermissionDeniedException
    parsed = appointments.read_interpretation(data)
    if not parsed.errors:
        try:
            await appointments.record_interpretation(db_session, actor, client, appointment, parsed)
            return Redirect(f"/officer/appointments/{appointment.id}#interpretations", status_code=303)
        except appointments.AppointmentError as problem:
            parsed.errors.update(problem.errors)
    return await _page(
        db_session, actor, appointment, section="interpretation", form=data, errors=parsed.errors, status=422
    )


@post("/clients/{client_id:uuid}/interpretations", guards=[requires(Permission.TRANSLATION_WORK)])
async def record_client_interpretation(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    """An interpretation without an appointment in the system, from the client page."""
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    data = dict((await request.form()).items())
    parsed = appointments.read_interpretation(data)
    if not parsed.errors:
        try:
            await appointments.record_interpretation(db_session, actor, client, None, parsed)
            return Redirect(clients.page_url(client.id, "interpretations"), status_code=303)
        except appointments.AppointmentError as problem:
            parsed.errors.update(problem.errors)
    return Template(
        "officer/calendar/interpretation_form.html",
        context={
            "actor": actor,
            "client": client,
            "form": data,
            "errors": parsed.errors,
            "interpreter_options": appointments.interpreter_options(
                await appointments.interpreter_choices(db_session)
            ),
            **CHOICES,
        },
        status_code=422,
    )


# --- private calendar feeds --------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _active_feed(db: AsyncSession, staff_id: uuid.UUID) -> CalendarFeed | None:
    return await db.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.staff_id == staff_id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.created_at.desc())
        .limit(1)
    )


async def _revoke_all(db: AsyncSession, staff_id: uuid.UUID) -> int:
    result = await db.execute(
        update(CalendarFeed)
        .where(CalendarFeed.staff_id == staff_id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@get("/calendar/feed", guards=[requires(Permission.CALENDAR)])
async def feed_page(db_session: AsyncSession, actor: Actor) -> Template:
    return Template(
        "officer/calendar/feed.html",
        context={"actor": actor, "feed": await _active_feed(db_session, actor.staff_id), "url": None},
    )


@post("/calendar/feed", guards=[requires(Permission.CALENDAR)])
async def create_feed(db_session: AsyncSession, actor: Actor, settings: Settings) -> Template:
    """A new private feed address, shown once; any earlier address stops working."""
    await _revoke_all(db_session, actor.staff_id)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(staff_id=actor.staff_id, token_hash=_token_hash(token))
    db_session.add(feed)
    await db_session.flush()
    await audit.record(db_session, Action.CREATE, actor=actor, object_type="calendar_feed", object_id=feed.id)
    return Template(
        "officer/calendar/feed.html",
        context={"actor": actor, "feed": feed, "url": f"{settings.office_base}/calendar/feed/{token}.ics"},
    )


@post("/calendar/feed/revoke", guards=[requires(Permission.CALENDAR)])
async def revoke_feed(db_session: AsyncSession, actor: Actor) -> Redirect:
    if await _revoke_all(db_session, actor.staff_id):
        await audit.record(db_session, Action.DELETE, actor=actor, object_type="calendar_feed")
    return Redirect("/officer/calendar/feed", status_code=303)


@get("/calendar/feed/{token:str}", include_in_schema=False)
async def public_feed(db_session: AsyncSession, settings: Settings, token: str) -> Response[bytes]:
    """The private feed: no session, the token is the credential. Unknown, malformed, revoked, or an
    account that no longer has the calendar: the same 404."""
    if not token.endswith(".ics") or len(token) > 100:
        raise NotFoundException
    staff = await db_session.scalar(
        select(Staff)
        .join(CalendarFeed, CalendarFeed.staff_id == Staff.id)
        .where(
            CalendarFeed.token_hash == _token_hash(token.removesuffix(".ics")),
            CalendarFeed.revoked_at.is_(None),
            Staff.active.is_(True),
        )
    )
    if staff is None or not any(Permission.CALENDAR in ROLE_PERMISSIONS[r] for r in staff.role_set):
        raise NotFoundException
    if staff.locale in i18n.OFFICER_LOCALES:
        i18n.set_locale(staff.locale)
    found = await appointments.feed_appointments(db_session, staff.id)
    body = appointments.ics(
        [(a, a.interpreter_id == staff.id) for a in found],
        settings.public_url,
        "Kotopolku",
        links_at=settings.office_base,
    )
    return Response(content=body, media_type="text/calendar; charset=utf-8")


officer_router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        calendar_page,
        new_appointment,
        create_appointment,
        check_conflicts,
        appointment_page,
        edit_appointment,
        save_appointment,
        cancel_appointment,
        delete_appointment,
        appointment_ics,
        record_interpretation,
        record_client_interpretation,
        feed_page,
        create_feed,
        revoke_feed,
    ],
)

# Everything of services 9 and 15 in one registration: the back office (calendar, appointments,
# tasks) behind the session guard, and the private feed outside it.
router = Router(path="/", route_handlers=[officer_router, task_routes.router, public_feed])
