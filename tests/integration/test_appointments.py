"""Appointments (service 9) and interpretation events (service 15) through HTTP: booking with several
clients and an interpreter, double-booking warnings, notifications and reminders in the outbox, moving,
cancelling, deleting, the clients' answers, §32a, iCalendar files and private feeds, and who sees what."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.appointment import (
    Appointment,
    AppointmentClient,
    AppointmentPurpose,
    AppointmentStaff,
    AppointmentStatus,
    CalendarFeed,
    ClientResponse,
    InterpretationEvent,
    InterpretationMode,
)
from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.client import Client
from app.db.engine import make_engine
from app.db.organisation import OrganisationType, Role
from app.db.outbox import NotificationKind, OutboxMessage, OutboxStatus
from app.domain import appointments
from app.domain.forms import today
from app.i18n import LOCAL_TIME
from tests.conftest import client_section, post, sign_in

# --- fixtures and helpers ----------------------------------------------------------------------------


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)


@pytest.fixture
def elsewhere(factory):
    return factory.organisation("Toinen kunta", OrganisationType.MUNICIPALITY)


@pytest.fixture
def provider(factory):
    return factory.organisation("Tulkkauspalvelu Oy", OrganisationType.SERVICE_PROVIDER)


@pytest.fixture
def officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    client.get("/officer/?lang=en")  # messages are asserted in English, the msgid language
    return person


@pytest.fixture
def colleague(factory, home):
    return factory.staff(home, Role.INTEGRATION_OFFICER)


@pytest.fixture
def interpreter(factory, provider):
    return factory.staff(provider, Role.INTERPRETER)


def person(factory, organisation, first="Amina", last="Hassan", **fields):
    fields.setdefault("email", f"{uuid.uuid4().hex[:8]}@example.fi")
    fields.setdefault("date_of_birth", date(1990, 5, 17))
    return factory.client(organisation, first_names=first, last_name=last, **fields)


def future_day(days: int = 7) -> date:
    return today() + timedelta(days=days)


def at(day: date, clock: str) -> datetime:
    hours, minutes = (int(x) for x in clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=LOCAL_TIME).astimezone(UTC)


def booking(clients, staff, day=None, starts="10:00", ends="11:00", **fields) -> list[tuple[str, str]]:
    form = [
        ("purpose", "guidance_meeting"),
        ("day", (day or future_day()).isoformat()),
        ("starts_time", starts),
        ("ends_time", ends),
        ("street_address", "Kauppakatu 1"),
    ]
    form += [("client_id", str(c.id)) for c in clients]
    form += [("staff_id", str(s.id)) for s in staff]
    form += [(k, str(v)) for k, v in fields.items()]
    return form


def book(client, form) -> uuid.UUID:
    response = post(client, "/officer/appointments/new", form)
    assert response.status_code == 303, response.text
    return uuid.UUID(response.headers["location"].rsplit("/", 1)[1])


def the(db, appointment_id) -> Appointment:
    db.expire_all()
    return db.scalars(select(Appointment).where(Appointment.id == appointment_id)).one()


def outbox(
    db, kind: NotificationKind | None = None, status: OutboxStatus | None = None
) -> list[OutboxMessage]:
    db.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(db.scalars(query).all())


def stored(row) -> datetime:
    value = row.next_attempt_at
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run(settings, work) -> Any:
    """Run `work(session)` on the app's own async engine (the domain API the migrant app calls)."""

    async def main() -> Any:
        engine = make_engine(settings)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(main())


def stored_appointment(db, organisation, staff, clients=(), day=None, starts="10:00", ends="11:00", **fields):
    """An appointment written directly (another organisation's, say)."""
    day = day or future_day()
    record = Appointment(
        organisation_id=organisation.id,
        purpose=fields.pop("purpose", AppointmentPurpose.GUIDANCE),
        starts_at=at(day, starts),
        ends_at=at(day, ends),
        created_by_id=staff.id,
        clients=[AppointmentClient(client_id=c.id) for c in clients],
        staff=[AppointmentStaff(staff_id=staff.id)],
        **fields,
    )
    db.add(record)
    db.commit()
    return record


# --- booking and notifications -----------------------------------------------------------------------


def test_booking_with_several_clients_and_an_interpreter(client, officer, factory, db, home, interpreter):
    amina = person(factory, home)
    omar = person(factory, home, "Omar", "Ali")
    day = future_day()
    appointment_id = book(
        client,
        booking(
            [amina, omar],
            [officer],
            day,
            room="B 204",
            what_to_bring="Oleskelulupakortti",
            interpreter_language="ar",
            interpreter_mode="on_site",
            interpreter_id=interpreter.id,
        ),
    )
    saved = the(db, appointment_id)
    assert saved.organisation_id == home.id and saved.status == AppointmentStatus.BOOKED
    assert saved.starts_at == at(day, "10:00") and saved.ends_at == at(day, "11:00")
    assert saved.interpreter_id == interpreter.id and saved.interpreter_mode == InterpretationMode.ON_SITE
    assert saved.interpreter_booked_by_id == officer.id and saved.interpreter_booked_at is not None
    assert saved.created_by_id == officer.id
    on_it = db.scalars(
        select(AppointmentClient.client_id).where(AppointmentClient.appointment_id == saved.id)
    )
    assert set(on_it) == {amina.id, omar.id}
    staff = db.scalars(select(AppointmentStaff.staff_id).where(AppointmentStaff.appointment_id == saved.id))
    assert list(staff) == [officer.id]  # the form's default is the actor; the test posted it
    # Every client's record says who booked what, by field names only.
    created = db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "appointment", AuditEvent.action == "create")
    ).all()
    assert {e.client_id for e in created} == {amina.id, omar.id}
    assert all("Oleskelulupakortti" not in str(e.fields) for e in created)
    assert "interpreter_id" in created[0].fields

    page = client.get(f"/officer/appointments/{saved.id}")
    assert page.status_code == 200
    assert "Hassan, Amina" in page.text and "Ali, Omar" in page.text
    assert interpreter.full_name in page.text and "Arabic" in page.text
    calendar = client.get(f"/officer/calendar?day={day.isoformat()}")
    assert "Amina Hassan" in calendar.text and "Guidance" in calendar.text


def test_booking_queues_the_notice_and_the_reminders(client, officer, factory, db, home):
    amina, omar = person(factory, home), person(factory, home, "Omar", "Ali")
    day = future_day()
    appointment_id = book(client, booking([amina, omar], [officer], day))
    starts = at(day, "10:00")
    booked = outbox(db, NotificationKind.APPOINTMENT_BOOKED)
    assert sorted(r.client_id for r in booked) == sorted([amina.id, omar.id])
    assert all(r.payload["appointment_id"] == str(appointment_id) for r in booked)
    reminders = outbox(db, NotificationKind.APPOINTMENT_REMINDER)
    assert len(reminders) == 4  # two clients × 24 h and 2 h (the default lead times)
    for client_row in (amina, omar):
        times = sorted(stored(r) for r in reminders if r.client_id == client_row.id)
        assert times == [starts - timedelta(hours=24), starts - timedelta(hours=2)]
    assert all(r.dedupe_key.startswith(f"reminder:{appointment_id}:") for r in reminders)
    assert all(r.status == OutboxStatus.PENDING for r in booked + reminders)


def test_a_reminder_whose_time_has_passed_is_not_queued(client, officer, factory, db, home):
    amina = person(factory, home)
    soon = (datetime.now(LOCAL_TIME) + timedelta(hours=23)).replace(second=0, microsecond=0)
    if soon.hour >= 23:  # keep the appointment within one day
        soon -= timedelta(hours=2)
    end = soon + timedelta(minutes=15)
    book(client, booking([amina], [officer], soon.date(), soon.strftime("%H:%M"), end.strftime("%H:%M")))
    reminders = outbox(db, NotificationKind.APPOINTMENT_REMINDER)
    assert [stored(r) for r in reminders] == [soon.astimezone(UTC) - timedelta(hours=2)]


def test_the_notifications_belong_to_the_transaction_of_the_booking(
    client, officer, factory, db, home, monkeypatch
):
    amina = person(factory, home)
    original = appointments._schedule_reminders

    async def fails_after_queueing(*args: Any, **kwargs: Any) -> None:
        await original(*args, **kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(appointments, "_schedule_reminders", fails_after_queueing)
    response = post(client, "/officer/appointments/new", booking([amina], [officer]))
    assert response.status_code == 500
    assert outbox(db) == []  # the notices went with the failed booking
    assert db.scalar(select(Appointment)) is None


def test_bad_input_is_shown_again_with_everything_typed_and_nothing_queued(
    client, officer, factory, db, home
):
    amina = person(factory, home)
    form = booking([amina], [officer], starts="11:00", ends="10:00", what_to_bring="Passi ja kela-kortti")
    response = post(client, "/officer/appointments/new", form)
    assert response.status_code == 422
    assert "The appointment must end after it starts." in response.text
    assert "Passi ja kela-kortti" in response.text and "Hassan, Amina" in response.text
    response = post(client, "/officer/appointments/new", booking([], [officer]))
    assert response.status_code == 422 and "Choose at least one client." in response.text
    assert db.scalar(select(Appointment)) is None and outbox(db) == []


def test_clients_are_added_by_search_on_the_form(client, officer, factory, db, home):
    amina = person(factory, home)
    omar = person(factory, home, "Omar", "Ali", temporary_identifier="TMP-OMAR0001")
    form = booking([amina], [officer], find="1", find_client="TMP-OMAR0001")
    response = post(client, "/officer/appointments/new", form)
    assert response.status_code == 200
    assert f'id="found-{omar.id}"' in response.text  # offered, not yet chosen
    assert f'id="client-{amina.id}"' in response.text  # the chosen one stays chosen
    assert db.scalar(select(Appointment)) is None


# --- double bookings ---------------------------------------------------------------------------------


def test_double_bookings_are_warned_about_and_can_be_booked_anyway(
    client, officer, colleague, factory, db, home, interpreter
):
    amina, omar = person(factory, home), person(factory, home, "Omar", "Ali")
    day = future_day()
    first = book(
        client,
        booking(
            [amina],
            [officer],
            day,
            room="B 204",
            interpreter_language="ar",
            interpreter_mode="on_site",
            interpreter_id=interpreter.id,
        ),
    )
    cases = {
        "officer": booking([omar], [officer], day, "10:30", "11:30"),
        "interpreter": booking(
            [omar],
            [colleague],
            day,
            "10:30",
            "11:30",
            interpreter_language="ar",
            interpreter_mode="phone",
            interpreter_id=interpreter.id,
        ),
        "room": booking([omar], [colleague], day, "10:30", "11:30", room="b 204"),
    }
    expected = {
        "officer": f"{officer.full_name} has another appointment",
        "interpreter": f"The interpreter {interpreter.full_name} has another assignment",
        "room": "Room B 204 is booked",
    }
    for kind, form in cases.items():
        response = post(client, "/officer/appointments/new", form)
        assert response.status_code == 422, kind
        assert expected[kind] in response.text, kind
        assert f"/officer/appointments/{first}" in response.text  # own organisation's: a link
        assert 'name="book_anyway"' in response.text
        assert db.scalar(select(Appointment).where(Appointment.id != first)) is None, kind

    # Back to back is no overlap; another room, another officer, no interpreter: no warning.
    assert book(client, booking([omar], [officer], day, "11:00", "12:00", room="B 204"))
    assert book(client, booking([omar], [colleague], day, "10:30", "11:30", room="C 1"))
    # A warning does not stop the officer who checked it.
    assert book(client, cases["officer"] + [("book_anyway", "on")])

    # While typing: the htmx check shows the same warning.
    check = post(client, "/officer/appointments/conflicts", cases["room"])
    assert check.status_code == 200 and "Room B 204 is booked" in check.text
    # A cancelled appointment blocks nothing.
    db.execute(
        Appointment.__table__.update().where(Appointment.__table__.c.id == first).values(status="cancelled")
    )
    db.commit()
    check = post(client, "/officer/appointments/conflicts", cases["interpreter"])
    assert "has another assignment" not in check.text


def test_an_interpreters_booking_elsewhere_shows_only_its_time(
    client, officer, factory, db, home, elsewhere, interpreter
):
    other_officer = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    secret = person(factory, elsewhere, "Salainen", "Asiakas")
    day = future_day()
    other = stored_appointment(
        db,
        elsewhere,
        other_officer,
        [secret],
        day,
        "10:00",
        "11:00",
        interpreter_id=interpreter.id,
        interpreter_language="ar",
        interpreter_mode=InterpretationMode.ON_SITE,
        room="B 204",
    )
    amina = person(factory, home)
    form = booking(
        [amina],
        [officer],
        day,
        "10:30",
        "11:30",
        room="B 204",
        interpreter_language="ar",
        interpreter_mode="video",
        interpreter_id=interpreter.id,
    )
    response = post(client, "/officer/appointments/new", form)
    assert response.status_code == 422
    assert f"The interpreter {interpreter.full_name} has another assignment" in response.text
    assert str(other.id) not in response.text and "Salainen" not in response.text
    assert "Room B 204 is booked" not in response.text  # another organisation's room is another room


# --- moving, editing, cancelling, deleting -----------------------------------------------------------


def edit_form(db, appointment_id, **changes) -> list[tuple[str, str]]:
    saved = the(db, appointment_id)
    values = appointments.form_values(saved)
    values.update(changes)
    clients_on = (
        changes.pop("clients", None)
        or db.scalars(
            select(AppointmentClient.client_id).where(AppointmentClient.appointment_id == appointment_id)
        ).all()
    )
    form = [(k, str(v)) for k, v in values.items() if k != "clients"]
    form += [("client_id", str(c)) for c in clients_on]
    form += [
        ("staff_id", str(s.staff_id))
        for s in db.scalars(select(AppointmentStaff).where(AppointmentStaff.appointment_id == appointment_id))
    ]
    return form


def test_moving_cancels_the_reminders_and_makes_new_ones(client, officer, factory, db, home):
    amina = person(factory, home)
    day = future_day()
    appointment_id = book(client, booking([amina], [officer], day))
    old = outbox(db, NotificationKind.APPOINTMENT_REMINDER)
    assert len(old) == 2
    new_day = day + timedelta(days=2)
    response = post(
        client,
        f"/officer/appointments/{appointment_id}/edit",
        edit_form(db, appointment_id, day=new_day.isoformat(), starts_time="13:00", ends_time="14:00"),
    )
    assert response.status_code == 303, response.text
    assert the(db, appointment_id).starts_at == at(new_day, "13:00")
    rows = outbox(db, NotificationKind.APPOINTMENT_REMINDER)
    assert {r.id: r.status for r in rows if r.id in {o.id for o in old}} == {
        o.id: OutboxStatus.CANCELLED for o in old
    }
    pending = sorted(stored(r) for r in rows if r.status == OutboxStatus.PENDING)
    assert pending == [at(new_day, "13:00") - timedelta(hours=24), at(new_day, "13:00") - timedelta(hours=2)]
    changed = outbox(db, NotificationKind.APPOINTMENT_CHANGED)
    assert [r.client_id for r in changed] == [amina.id]

    # Moved back to the first time, the reminders come back too (a used key is never reused).
    response = post(
        client,
        f"/officer/appointments/{appointment_id}/edit",
        edit_form(db, appointment_id, day=day.isoformat(), starts_time="10:00", ends_time="11:00"),
    )
    assert response.status_code == 303
    pending = sorted(
        stored(r) for r in outbox(db, NotificationKind.APPOINTMENT_REMINDER, OutboxStatus.PENDING)
    )
    assert pending == [at(day, "10:00") - timedelta(hours=24), at(day, "10:00") - timedelta(hours=2)]


def test_an_edit_that_does_not_move_keeps_the_reminders(client, officer, factory, db, home):
    amina = person(factory, home)
    appointment_id = book(client, booking([amina], [officer]))
    response = post(
        client,
        f"/officer/appointments/{appointment_id}/edit",
        edit_form(db, appointment_id, title="Infotilaisuus"),
    )
    assert response.status_code == 303
    assert len(outbox(db, NotificationKind.APPOINTMENT_REMINDER, OutboxStatus.PENDING)) == 2
    assert outbox(db, NotificationKind.APPOINTMENT_CHANGED) == []  # the title is not news to the client


def test_a_client_added_later_is_told_and_a_removed_one_is_told_it_is_off(client, officer, factory, db, home):
    amina, omar = person(factory, home), person(factory, home, "Omar", "Ali")
    appointment_id = book(client, booking([amina], [officer]))
    response = post(
        client,
        f"/officer/appointments/{appointment_id}/edit",
        edit_form(db, appointment_id, clients=[omar.id]),
    )
    assert response.status_code == 303
    assert [r.client_id for r in outbox(db, NotificationKind.APPOINTMENT_BOOKED)] == [amina.id, omar.id]
    assert [r.client_id for r in outbox(db, NotificationKind.APPOINTMENT_CANCELLED)] == [amina.id]
    pending = outbox(db, NotificationKind.APPOINTMENT_REMINDER, OutboxStatus.PENDING)
    assert {r.client_id for r in pending} == {omar.id}


def test_a_stale_edit_is_refused_with_the_input_kept(client, officer, factory, db, home):
    amina = person(factory, home)
    appointment_id = book(client, booking([amina], [officer]))
    form = edit_form(db, appointment_id, what_to_bring="Todistukset")
    # Someone else saves first.
    response = post(
        client, f"/officer/appointments/{appointment_id}/edit", edit_form(db, appointment_id, room="A 1")
    )
    assert response.status_code == 303
    response = post(client, f"/officer/appointments/{appointment_id}/edit", form)
    assert response.status_code == 409
    assert "Someone else saved this appointment after you opened it" in response.text
    assert "Todistukset" in response.text  # what was typed
    assert "A 1" in response.text  # what is saved now
    assert the(db, appointment_id).what_to_bring is None


def test_cancelling_needs_a_reason_and_tells_the_clients(client, officer, factory, db, home):
    amina = person(factory, home)
    appointment_id = book(client, booking([amina], [officer]))
    version = the(db, appointment_id).version
    response = post(client, f"/officer/appointments/{appointment_id}/cancel", {"version": version})
    assert response.status_code == 422
    assert "Write why the appointment is cancelled." in response.text
    assert the(db, appointment_id).status == AppointmentStatus.BOOKED

    response = post(
        client,
        f"/officer/appointments/{appointment_id}/cancel",
        {"version": version, "cancel_reason": "Virkailija sairastui", "client_told": "on"},
    )
    assert response.status_code == 303
    saved = the(db, appointment_id)
    assert saved.status == AppointmentStatus.CANCELLED and saved.cancelled_at is not None
    assert saved.cancel_reason == "Virkailija sairastui" and saved.client_told_of_cancellation
    assert [r.client_id for r in outbox(db, NotificationKind.APPOINTMENT_CANCELLED)] == [amina.id]
    assert outbox(db, NotificationKind.APPOINTMENT_REMINDER, OutboxStatus.PENDING) == []
    assert {r.status for r in outbox(db, NotificationKind.APPOINTMENT_BOOKED)} == {OutboxStatus.CANCELLED}
    # A cancelled appointment is not edited any more, nor cancelled twice.
    assert client.get(f"/officer/appointments/{appointment_id}/edit").status_code == 403
    again = post(
        client,
        f"/officer/appointments/{appointment_id}/cancel",
        {"version": saved.version, "cancel_reason": "x"},
    )
    assert again.status_code == 422
    assert len(outbox(db, NotificationKind.APPOINTMENT_CANCELLED)) == 1


def test_only_a_mistaken_booking_can_be_deleted(client, officer, factory, db, home):
    amina = person(factory, home)
    mistake = book(client, booking([amina], [officer]))
    response = post(client, f"/officer/appointments/{mistake}/delete", {})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Appointment, mistake) is None
    assert {r.status for r in outbox(db)} == {OutboxStatus.CANCELLED}  # nothing of it goes out
    deleted = db.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).all()
    assert [(e.client_id, e.object_id) for e in deleted] == [(amina.id, str(mistake))]

    told = book(client, booking([amina], [officer], future_day(8)))
    row = outbox(db, NotificationKind.APPOINTMENT_BOOKED, OutboxStatus.PENDING)[0]
    row.status, row.delivered_at = OutboxStatus.DELIVERED, utcnow()
    db.commit()
    response = post(client, f"/officer/appointments/{told}/delete", {})
    assert response.status_code == 422
    assert "has already been sent to a client. Cancel it instead." in response.text
    assert the(db, told) is not None


# --- the clients' answers and §32a -------------------------------------------------------------------


def test_the_officer_sees_the_clients_answers_new_until_opened(client, officer, factory, db, home, settings):
    amina, omar = person(factory, home), person(factory, home, "Omar", "Ali")
    stranger = person(factory, home, "Vieras", "Henkilö")
    day = future_day()
    appointment_id = book(client, booking([amina, omar], [officer], day))

    async def answer(session: AsyncSession) -> None:
        found = await session.get(Client, amina.id)
        await appointments.respond(
            session, found, appointment_id, ClientResponse.NEW_TIME, "Aamupäivät sopivat"
        )

    run(settings, answer)

    async def not_on_it(session: AsyncSession) -> None:
        found = await session.get(Client, stranger.id)
        with pytest.raises(appointments.NotOnAppointment):
            await appointments.respond(session, found, appointment_id, ClientResponse.CONFIRMED, None)

    run(settings, not_on_it)
    event = db.scalars(select(AuditEvent).where(AuditEvent.actor_kind == "client")).one()
    assert (event.actor_id, event.client_id, event.fields) == (
        amina.id,
        amina.id,
        ["response", "response_note"],
    )

    calendar = client.get(f"/officer/calendar?day={day.isoformat()}")
    assert "1 new answer" in calendar.text and "The client asks for another time" in calendar.text
    page = client.get(f"/officer/appointments/{appointment_id}")
    assert "The client asks for another time" in page.text and "Aamupäivät sopivat" in page.text
    assert 'class="tag new-answer"' in page.text
    db.expire_all()
    rows = {r.client_id: r for r in db.scalars(select(AppointmentClient))}
    assert rows[amina.id].seen_by_staff_at is not None and rows[omar.id].response == ClientResponse.NONE
    assert "new answer" not in client.get(f"/officer/calendar?day={day.isoformat()}").text
    assert 'class="tag new-answer"' not in client.get(f"/officer/appointments/{appointment_id}").text


def test_an_answer_to_a_cancelled_appointment_is_refused(client, officer, factory, db, home, settings):
    amina = person(factory, home)
    appointment_id = book(client, booking([amina], [officer]))
    post(client, f"/officer/appointments/{appointment_id}/cancel", {"version": "1", "cancel_reason": "x"})

    async def answer(session: AsyncSession) -> None:
        found = await session.get(Client, amina.id)
        with pytest.raises(appointments.NotOnAppointment):
            await appointments.respond(session, found, appointment_id, ClientResponse.CONFIRMED, None)

    run(settings, answer)


def test_the_no_show_fee_announcement_is_recorded(client, officer, factory, db, home):
    adult = person(factory, home)
    child = person(factory, home, "Lapsi", "Hassan", date_of_birth=today() - timedelta(days=365 * 15))
    form = client.get(f"/officer/appointments/new?client={child.id}")
    assert "€56.70" in form.text and "It never applies to clients under 18." in form.text
    assert "The fee cannot apply to:" in form.text and "Lapsi Hassan" in form.text
    announced = book(client, booking([adult, child], [officer], no_show_fee_announced="on"))
    assert the(db, announced).no_show_fee_announced_at is not None
    page = client.get(f"/officer/appointments/{announced}")
    rows = re.findall(r"<tr>.*?</tr>", page.text, re.S)
    adult_row = next(r for r in rows if "Hassan, Amina" in r)
    child_row = next(r for r in rows if "Hassan, Lapsi" in r)
    assert "May apply" in adult_row and "Never (under 18" in child_row
    silent = book(client, booking([adult], [officer], future_day(9)))
    assert the(db, silent).no_show_fee_announced_at is None
    assert "Not announced: no fee can be charged." in client.get(f"/officer/appointments/{silent}").text


# --- iCalendar ---------------------------------------------------------------------------------------


def events_of(body: bytes) -> list[Any]:
    return list(Calendar.from_ical(body).walk("VEVENT"))


def test_the_ics_file_names_no_client(client, officer, factory, db, home):
    amina = person(factory, home, identity_code="170590-123A")
    day = future_day()
    appointment_id = book(client, booking([amina], [officer], day, room="B 204", title="Hassanin perhe"))
    response = client.get(f"/officer/appointments/{appointment_id}/ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "attachment" in response.headers["content-disposition"]
    body = response.content
    for secret in (b"Amina", b"Hassan", b"170590-123A", b"Hassanin"):
        assert secret not in body
    (event,) = events_of(body)
    assert str(event["uid"]).startswith(str(appointment_id))
    assert event["dtstart"].dt == at(day, "10:00") and event["dtend"].dt == at(day, "11:00")
    assert "Kotopolku" in str(event["summary"]) and "Guidance" in str(event["summary"])
    assert "Kauppakatu 1, B 204" in str(event["location"])
    assert str(event["status"]) == "CONFIRMED" and int(event["sequence"]) == 0

    post(
        client,
        f"/officer/appointments/{appointment_id}/edit",
        edit_form(db, appointment_id, starts_time="12:00", ends_time="13:00"),
    )
    (moved,) = events_of(client.get(f"/officer/appointments/{appointment_id}/ics").content)
    assert moved["uid"] == event["uid"] and int(moved["sequence"]) > 0
    assert moved["dtstart"].dt == at(day, "12:00")

    version = the(db, appointment_id).version
    post(client, f"/officer/appointments/{appointment_id}/cancel", {"version": version, "cancel_reason": "x"})
    (cancelled,) = events_of(client.get(f"/officer/appointments/{appointment_id}/ics").content)
    assert str(cancelled["status"]) == "CANCELLED" and int(cancelled["sequence"]) > int(moved["sequence"])


def without_token(page: str) -> str:
    return re.sub(r'"x-csrftoken": "[^"]*"', "", page)


def test_the_private_feed_works_until_revoked(client, officer, factory, db, home, app):
    amina = person(factory, home)
    appointment_id = book(client, booking([amina], [officer]))
    page = post(client, "/officer/calendar/feed", {})
    assert page.status_code == 200
    url = re.search(r"<code>(http[^<]+\.ics)</code>", page.text).group(1)
    path = url.removeprefix("http://testserver.local")
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes
    stored_feed = db.scalars(select(CalendarFeed)).one()
    assert (
        stored_feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
        and token not in stored_feed.token_hash
    )
    assert token not in client.get("/officer/calendar/feed").text  # shown once

    client.cookies.clear()  # no session: the token is the credential
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    assert b"Amina" not in response.content and b"Hassan" not in response.content
    assert [str(e["uid"]).split("@")[0] for e in events_of(response.content)] == [str(appointment_id)]

    unknown = client.get(f"/calendar/feed/{'x' * 43}.ics")
    assert unknown.status_code == 404
    sign_in(client, officer)
    post(client, "/officer/calendar/feed/revoke", {})
    client.cookies.clear()
    revoked = client.get(path)
    assert revoked.status_code == 404
    # The same page either way (the address asked for appears in the language links of both).
    assert without_token(revoked.text).replace(token, "T") == without_token(unknown.text).replace(
        "x" * 43, "T"
    )
    # A new address replaces the old one.
    sign_in(client, officer)
    second = re.search(
        r"<code>http://testserver.local([^<]+)</code>", post(client, "/officer/calendar/feed", {}).text
    )
    assert client.get(second.group(1)).status_code == 200 and client.get(path).status_code == 404


# --- who sees what -----------------------------------------------------------------------------------


def test_another_organisations_appointment_is_404_and_never_shown(
    client, officer, factory, db, home, elsewhere
):
    other_officer = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    secret = person(factory, elsewhere, "Salainen", "Asiakas")
    day = future_day()
    other = stored_appointment(db, elsewhere, other_officer, [secret], day, title="Salainen tapaaminen")
    own = person(factory, home)
    before = other.version
    for url in (
        f"/officer/appointments/{other.id}",
        f"/officer/appointments/{other.id}/edit",
        f"/officer/appointments/{other.id}/ics",
    ):
        response = client.get(url)
        assert response.status_code == 404 and "Salainen" not in response.text, url
    for url, body in (
        (f"/officer/appointments/{other.id}/edit", edit_form(db, other.id)),
        (f"/officer/appointments/{other.id}/cancel", {"version": before, "cancel_reason": "x"}),
        (f"/officer/appointments/{other.id}/delete", {}),
        (f"/officer/appointments/{other.id}/interpretations", {"client_id": str(secret.id)}),
    ):
        assert post(client, url, body).status_code == 404, url
    assert the(db, other.id).version == before and the(db, other.id).status == AppointmentStatus.BOOKED
    # Another organisation's client or colleague cannot be put on an own appointment.
    assert post(client, "/officer/appointments/new", booking([own, secret], [officer])).status_code == 404
    assert post(client, "/officer/appointments/new", booking([own], [other_officer])).status_code == 404
    assert client.get(f"/officer/appointments/new?client={secret.id}").status_code == 404
    calendar = client.get(f"/officer/calendar?day={day.isoformat()}")
    assert "Salainen" not in calendar.text
    assert client.get(f"/officer/calendar?staff={other_officer.id}").status_code == 403  # not a manager
    assert db.scalars(select(Appointment)).all() == [the(db, other.id)]


def test_an_interpreter_sees_only_their_own_assignments(client, officer, factory, db, home, interpreter):
    amina = person(factory, home, identity_code="170590-123A")
    omar = person(factory, home, "Omar", "Ali")
    day = future_day()
    theirs = book(
        client,
        booking(
            [amina],
            [officer],
            day,
            interpreter_language="ar",
            interpreter_mode="phone",
            interpreter_id=interpreter.id,
            what_to_bring="Lääkärintodistus",
            title="Hassan perhe",
        ),
    )
    not_theirs = book(client, booking([omar], [officer], day, "13:00", "14:00"))
    sign_in(client, interpreter)
    client.get("/officer/?lang=en")
    calendar = client.get(f"/officer/calendar?day={day.isoformat()}")
    assert calendar.status_code == 200
    assert "Amina Hassan" in calendar.text and "Arabic" in calendar.text and "By phone" in calendar.text
    assert "Omar" not in calendar.text and "Guidance" not in calendar.text
    page = client.get(f"/officer/appointments/{theirs}")
    assert page.status_code == 200
    assert "Amina Hassan" in page.text and "Kauppakatu 1" in page.text
    for hidden in ("170590-123A", "Lääkärintodistus", "Hassan perhe", f"/officer/clients/{amina.id}"):
        assert hidden not in page.text, hidden
    assert client.get(f"/officer/appointments/{not_theirs}").status_code == 404
    assert client.get(f"/officer/appointments/{theirs}/edit").status_code == 403
    assert client.get("/officer/appointments/new").status_code == 403
    assert post(client, f"/officer/appointments/{theirs}/cancel", {"cancel_reason": "x"}).status_code == 403
    assert client.get(f"/officer/calendar?staff={officer.id}").status_code == 403
    ics = client.get(f"/officer/appointments/{theirs}/ics")
    assert ics.status_code == 200 and b"Amina" not in ics.content
    viewed = db.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == interpreter.id, AuditEvent.action == "view")
    ).all()
    assert {e.client_id for e in viewed if e.client_id} == {amina.id}

    # The interpreter records their own interpretation, as themselves.
    response = post(
        client,
        f"/officer/appointments/{theirs}/interpretations",
        {
            "client_id": str(amina.id),
            "language": "ar",
            "mode": "phone",
            "occurred_on": today().isoformat(),
            "duration_minutes": "45",
            "interpreter_name": "Joku muu",
        },
    )
    assert response.status_code == 303, response.text
    event = db.scalars(select(InterpretationEvent)).one()
    assert (event.interpreter_id, event.interpreter_name, event.recorded_by_id) == (
        interpreter.id,
        None,
        interpreter.id,
    )
    assert event.organisation_id == home.id and event.appointment_id == theirs
    bad = post(client, f"/officer/appointments/{theirs}/interpretations", {"client_id": str(omar.id)})
    assert bad.status_code == 404  # not on the appointment


def test_a_manager_reads_colleagues_calendars_of_their_own_organisation(
    client, factory, db, home, elsewhere, colleague
):
    amina = person(factory, home)
    day = future_day()
    stored_appointment(db, home, colleague, [amina], day)
    manager = factory.staff(home, Role.MANAGER)
    foreign = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    sign_in(client, manager)
    client.get("/officer/?lang=en")
    own = client.get(f"/officer/calendar?day={day.isoformat()}")
    assert own.status_code == 200 and "Amina" not in own.text
    theirs = client.get(f"/officer/calendar?day={day.isoformat()}&staff={colleague.id}")
    assert theirs.status_code == 200
    assert f"Calendar of {colleague.full_name}" in theirs.text and "Amina Hassan" in theirs.text
    assert client.get(f"/officer/calendar?staff={foreign.id}").status_code == 404
    assert client.get("/officer/calendar?staff=not-an-id").status_code == 404
    assert client.get("/officer/appointments/new").status_code == 403  # reads, does not book


def test_the_week_starts_on_monday_and_a_day_can_be_shown(client, officer, factory, db, home):
    wednesday = date(2027, 3, 3)
    page = client.get(f"/officer/calendar?day={wednesday.isoformat()}")
    assert page.status_code == 200
    days = re.findall(r'id="day-(\d{4}-\d{2}-\d{2})"', page.text)
    assert days == [(date(2027, 3, 1) + timedelta(days=i)).isoformat() for i in range(7)]
    assert 'href="/officer/calendar?day=2027-02-22&view=week"' in page.text  # previous week
    one = client.get(f"/officer/calendar?day={wednesday.isoformat()}&view=day")
    assert re.findall(r'id="day-(\d{4}-\d{2}-\d{2})"', one.text) == ["2027-03-03"]
    assert 'href="/officer/calendar?day=2027-03-04&view=day"' in one.text


# --- interpretation events ---------------------------------------------------------------------------


def test_interpretations_are_recorded_and_listed_per_client(client, officer, factory, db, home, interpreter):
    amina = person(factory, home)
    appointment_id = book(
        client,
        booking(
            [amina],
            [officer],
            today() - timedelta(days=1),
            interpreter_language="ar",
            interpreter_mode="video",
            interpreter_id=interpreter.id,
        ),
    )
    page = client.get(f"/officer/appointments/{appointment_id}")
    assert "Record the interpretation" in page.text
    assert 'name="duration_minutes" type="number" value="60"' in page.text  # prefilled from the appointment
    form = {
        "client_id": str(amina.id),
        "language": "ar",
        "mode": "video",
        "interpreter_id": str(interpreter.id),
        "occurred_on": (today() - timedelta(days=1)).isoformat(),
        "duration_minutes": "0",
    }
    response = post(client, f"/officer/appointments/{appointment_id}/interpretations", form)
    assert response.status_code == 422 and "more than 0" in response.text
    response = post(
        client, f"/officer/appointments/{appointment_id}/interpretations", {**form, "duration_minutes": "50"}
    )
    assert response.status_code == 303
    # Without an appointment, from the client page.
    response = post(
        client,
        f"/officer/clients/{amina.id}/interpretations",
        {
            "language": "so",
            "mode": "phone",
            "interpreter_name": "Tulkki Ulkopuolinen",
            "occurred_on": today().isoformat(),
            "duration_minutes": "20",
        },
    )
    assert response.status_code == 303
    events = db.scalars(select(InterpretationEvent).order_by(InterpretationEvent.duration_minutes)).all()
    assert [(e.language, e.duration_minutes, e.appointment_id) for e in events] == [
        ("so", 20, None),
        ("ar", 50, appointment_id),
    ]
    assert all(e.client_id == amina.id and e.recorded_by_id == officer.id for e in events)
    assert response.headers["location"] == f"/officer/clients/{amina.id}?open=interpretations#interpretations"
    section = client_section(client, amina.id, "interpretations").text
    assert "Tulkki Ulkopuolinen" in section and interpreter.full_name in section and "50 minutes" in section


def test_the_client_page_lists_the_appointments(client, officer, factory, db, home):
    amina = person(factory, home)
    day = future_day()
    upcoming = book(client, booking([amina], [officer], day))
    past = book(client, booking([amina], [officer], today() - timedelta(days=3)))
    page = client.get(f"/officer/clients/{amina.id}")
    assert page.status_code == 200
    assert f'href="/officer/appointments/new?client={amina.id}"' in page.text
    section = page.text.split('id="appointments"', 1)[1].split('id="tasks"', 1)[0]
    upcoming_part, past_part = section.split("Past appointments", 1)
    assert f"/officer/appointments/{upcoming}" in upcoming_part
    assert f"/officer/appointments/{past}" in past_part
