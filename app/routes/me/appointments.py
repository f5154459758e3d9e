"""Migrant app: appointments (see app/routes/me/__init__.py).

GET  /me/appointments                    upcoming and past appointments
GET  /me/appointments/<id>               one appointment: details, add to calendar, the answer forms
GET  /me/appointments/<id>.ics           the appointment as a calendar file (attachment)
POST /me/appointments/<id>/answer        confirm, cancel (optional reason) or ask for another time (note)

An appointment is looked up only through the signed-in client's own row on it (my_appointments.load):
anyone else's id, or a malformed one, answers 404. Every view is audited as the client's.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.domain import appointments, audit, my_appointments
from app.domain.audit import Action
from app.domain.forms import FormErrors
from app.domain.my_appointments import MyAppointment
from app.settings import Settings
from app.web import client_guard, current_client, form_of, page

GUARDS = [client_guard]


async def _audit(db: AsyncSession, client: Client, object_id: uuid.UUID | None, fields: list[str]) -> None:
    await audit.record(
        db,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="appointment",
        object_id=object_id,
        fields=fields,
    )


async def _mine_or_404(db: AsyncSession, client: Client, appointment_id: uuid.UUID | None) -> MyAppointment:
    entry = await my_appointments.load(db, client, appointment_id) if appointment_id else None
    if entry is None:
        raise NotFoundException
    return entry


@get("/me/appointments", guards=GUARDS)
async def appointments_page(request: HTMXRequest, db_session: AsyncSession) -> Template:
    client = current_client(request).client
    found = await my_appointments.listing(db_session, client)
    shown = [*found.upcoming, *found.past]
    if shown:
        await _audit(db_session, client, None, ["appointments", "place", "interpreter", "response"])
    return page(
        "me/appointments.html", me=client, section="appointments", upcoming=found.upcoming, past=found.past
    )


DETAIL_FIELDS = ["appointment", "place", "staff", "interpreter", "what_to_bring", "response"]


def _detail(
    client: Client,
    entry: MyAppointment,
    *,
    form: dict[str, Any] | None = None,
    section: str | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    """The appointment page; `section` names the answer form whose input and errors are shown again."""
    return page(
        "me/appointment.html",
        status_code=status,
        me=client,
        section="appointments",
        e=entry,
        form=form or {},
        answer_section=section,
        errors=errors or FormErrors(),
        notice=notice,
    )


@get("/me/appointments/{ref:str}", guards=GUARDS)
async def appointment_page(
    request: HTMXRequest, db_session: AsyncSession, settings: Settings, ref: str
) -> Template | Response[bytes]:
    """The appointment's page, or with `.ics` its calendar file (one path parameter for both: the
    router does not take a suffix after a parameter)."""
    client = current_client(request).client
    is_file = ref.endswith(".ics")
    entry = await _mine_or_404(db_session, client, my_appointments.parse_id(ref.removesuffix(".ics")))
    if not is_file:
        await _audit(db_session, client, entry.id, DETAIL_FIELDS)
        return _detail(client, entry)
    await _audit(db_session, client, entry.id, ["ics"])
    day = appointments.local(entry.appointment.starts_at).date().isoformat()
    return Response(
        content=my_appointments.calendar_file(entry, settings.public_url),
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="kotopolku-{day}.ics"'},
    )


@post("/me/appointments/{ref:str}/answer", guards=GUARDS)
async def answer(request: HTMXRequest, db_session: AsyncSession, ref: str) -> Template | Redirect:
    client = current_client(request).client
    entry = await _mine_or_404(db_session, client, my_appointments.parse_id(ref))
    data = await form_of(request)
    if not entry.may_answer:
        notice = my_appointments.why_not_answerable(entry)
        return _detail(client, entry, notice=notice, status=409)
    parsed = my_appointments.read_answer(data)
    if parsed.errors or parsed.response is None:
        return _detail(client, entry, form=data, section=parsed.kind, errors=parsed.errors, status=422)
    try:
        await appointments.respond(db_session, client, entry.id, parsed.response, parsed.note or None)
    except appointments.NotOnAppointment:  # cancelled in the meantime
        await db_session.rollback()
        fresh = await _mine_or_404(db_session, client, entry.id)
        return _detail(client, fresh, notice=my_appointments.why_not_answerable(fresh), status=409)
    return Redirect(f"/me/appointments/{entry.id}#answer", status_code=303)


router = Router(path="/", route_handlers=[appointments_page, appointment_page, answer])
