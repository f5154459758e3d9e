"""The client's own appointments in the migrant app (/me/appointments): what is shown, when an answer
may be given, reading the answer form, and the calendar file.

Everything here starts from the signed-in client: an appointment is found only through the client's
own `appointment_client` row, so another client's appointment id finds nothing (the app answers 404).
The officers' side and the answer itself are app.domain.appointments (`for_client`, `respond`, `ics`).

An answer is *current* while the appointment has not been changed since it was given
(`responded_at >= appointment.updated_at`): a client who asked for another time gets the forms back
once the officer has moved the appointment, and sees that it was changed after their answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from babel.numbers import format_currency
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import i18n
from app.db.appointment import Appointment, AppointmentClient, AppointmentStatus, ClientResponse
from app.db.base import utcnow
from app.db.client import Client
from app.domain import appointments, rules
from app.domain.forms import FormErrors
from app.i18n import _

MAX_NOTE = 2000
ANSWERS = {
    "confirm": ClientResponse.CONFIRMED,
    "cancel": ClientResponse.CANCELLED,
    "new_time": ClientResponse.NEW_TIME,
}
# Answers after which the answer forms are gone until the officer changes the appointment.
FINAL = (ClientResponse.CANCELLED, ClientResponse.NEW_TIME)


@dataclass
class MyAppointment:
    """One appointment as its client sees it."""

    appointment: Appointment
    answer: AppointmentClient  # the client's own row: response, responded_at, response_note
    staff: list[str]  # the names of the staff at the appointment
    fee_applies: bool  # §32a announced, and the client is 18 on the day
    now: datetime

    @property
    def id(self) -> uuid.UUID:
        return self.appointment.id

    @property
    def cancelled(self) -> bool:
        return self.appointment.status == AppointmentStatus.CANCELLED

    @property
    def past(self) -> bool:
        return self.appointment.ends_at <= self.now

    @property
    def started(self) -> bool:
        return self.appointment.starts_at <= self.now

    @property
    def when(self) -> str:
        return appointments.when(self.appointment)

    @property
    def interpreter(self) -> str:
        """'none', 'booked' (a named interpreter or account) or 'asked' (the need is recorded, no one yet)."""
        a = self.appointment
        if not a.interpreter_language:
            return "none"
        return "booked" if (a.interpreter_id or a.interpreter_name) else "asked"

    @property
    def answered(self) -> bool:
        return self.answer.response != ClientResponse.NONE

    @property
    def answer_current(self) -> bool:
        """The answer was given to the appointment as it is now (not changed by the officer since)."""
        given = self.answer.responded_at
        return self.answered and given is not None and given >= self.appointment.updated_at

    @property
    def changed_since_answer(self) -> bool:
        return self.answered and not self.answer_current

    @property
    def may_answer(self) -> bool:
        """Booked, not begun, and not already cancelled or moved by the client (as it is now)."""
        if self.cancelled or self.started:
            return False
        return not (self.answer_current and self.answer.response in FINAL)

    @property
    def may_confirm(self) -> bool:
        return self.may_answer and not (
            self.answer_current and self.answer.response == ClientResponse.CONFIRMED
        )

    @property
    def fee(self) -> str:
        return format_currency(rules.NO_SHOW_FEE_MAX, "EUR", locale=i18n.get_locale())


def _entry(
    appointment: Appointment, row: AppointmentClient, staff: list[str], client: Client, now: datetime
) -> MyAppointment:
    return MyAppointment(
        appointment=appointment,
        answer=row,
        staff=staff,
        fee_applies=appointments.fee_may_apply(appointment, client),
        now=now,
    )


@dataclass
class MyAppointments:
    upcoming: list[MyAppointment]
    past: list[MyAppointment]


async def listing(db: AsyncSession, client: Client) -> MyAppointments:
    """Upcoming (soonest first) and past (latest first) appointments of the client's organisation."""
    found = await appointments.for_client(db, client, tasks=False)
    now = utcnow()
    return MyAppointments(
        upcoming=[_entry(e.appointment, e.answer, e.staff, client, now) for e in found.upcoming],
        past=[_entry(e.appointment, e.answer, e.staff, client, now) for e in found.past],
    )


async def load(db: AsyncSession, client: Client, appointment_id: uuid.UUID) -> MyAppointment | None:
    """The client's own appointment (of their organisation, as on the list), or None."""
    row = (
        await db.execute(
            select(Appointment, AppointmentClient)
            .join(AppointmentClient, AppointmentClient.appointment_id == Appointment.id)
            .options(selectinload(Appointment.staff))
            .where(
                Appointment.id == appointment_id,
                AppointmentClient.client_id == client.id,
                Appointment.organisation_id == client.organisation_id,
            )
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if row is None:
        return None
    appointment, answer = row[0], row[1]
    names = await appointments.staff_names(db, [s.staff_id for s in appointment.staff])
    return _entry(appointment, answer, appointments.names_of(appointment, names), client, utcnow())


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- the answer form ---------------------------------------------------------------------------------


@dataclass
class AnswerInput:
    kind: str  # confirm, cancel or new_time ("" when the form was tampered with)
    response: ClientResponse | None
    note: str
    errors: FormErrors = field(default_factory=FormErrors)


def read_answer(data: Mapping[str, Any]) -> AnswerInput:
    """What the client answered: confirm; cancel with an optional reason; another time with a note."""
    kind = str(data.get("answer") or "")
    response = ANSWERS.get(kind)
    note = str(data.get("note") or "").replace("\r\n", "\n").strip()
    parsed = AnswerInput(kind=kind if response else "", response=response, note=note)
    if response is None:
        parsed.errors["answer"] = _("Choose your answer.")
    elif response == ClientResponse.NEW_TIME and not note:
        parsed.errors["note"] = _("Write which days and times suit you.")
    if len(note) > MAX_NOTE:
        parsed.errors["note"] = _("The text is too long: at most %(count)s characters.") % {"count": MAX_NOTE}
    if response == ClientResponse.CONFIRMED:
        parsed.note = ""  # confirming has no text field
    return parsed


def why_not_answerable(entry: MyAppointment) -> str:
    """Why no answer can be given now (a translated sentence); the caller checked `may_answer`."""
    if entry.cancelled:
        return _("This appointment has been cancelled. You do not need to answer.")
    if entry.started:
        return _("This appointment has already begun or is over. You cannot answer any more.")
    return _("You have already answered. If something has changed, write a message to your officer.")


# --- the calendar file -------------------------------------------------------------------------------


def calendar_file(entry: MyAppointment, public_url: str) -> bytes:
    """The appointment as an iCalendar file for the client's own calendar (appointments.ics: no names,
    no identity codes), linking back to the client's own page."""
    return appointments.ics(
        [(entry.appointment, False)], public_url, "Kotopolku", link_path="/me/appointments"
    )
