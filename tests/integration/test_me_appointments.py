"""The migrant app's appointments (/me/appointments): the list and the details in the client's language,
the calendar file, confirming, cancelling and asking for another time (the officer sees the answer),
422 with the typed note kept, and another client's appointment answering 404 on every route."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from babel import dates
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.appointment import (
    Appointment,
    AppointmentClient,
    AppointmentPurpose,
    AppointmentStaff,
    AppointmentStatus,
    ClientResponse,
    InterpretationMode,
)
from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.client import Client
from app.db.organisation import Organisation, Role, Staff
from app.domain.forms import today
from app.i18n import LOCAL_TIME
from tests.conftest import Factory, post, sign_in, sign_in_client


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory: Factory) -> Organisation:
    return factory.organisation("Kotokunta")


@pytest.fixture
def officer(factory: Factory, home: Organisation) -> Staff:
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    person.full_name = "Aino Virtanen"
    factory.db.commit()
    return person


@pytest.fixture
def amina(factory: Factory, home: Organisation) -> Client:
    return factory.client(
        home,
        first_names="Amina",
        last_name="Hassan",
        identity_code="010190-123A",
        date_of_birth=date(1990, 1, 1),
        preferred_locale="en",
    )


@pytest.fixture
def me(client, factory: Factory, amina: Client) -> Client:
    sign_in_client(client, factory, amina)
    return amina


def book(
    db: Session,
    organisation: Organisation,
    officer: Staff,
    clients: list[Client],
    starts_at: datetime | None = None,
    **fields: Any,
) -> Appointment:
    starts_at = starts_at or (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    values: dict[str, Any] = {
        "purpose": AppointmentPurpose.GUIDANCE,
        "street_address": "Kauppakatu 1",
        "room": "B 204",
        "what_to_bring": "Passport and residence permit",
        "interpreter_language": "ar",
        "interpreter_mode": InterpretationMode.ON_SITE,
        "interpreter_name": "Omar Saleh",
        **fields,
    }
    appointment = Appointment(
        organisation_id=organisation.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=c.id) for c in clients],
        staff=[AppointmentStaff(staff_id=officer.id)],
        **values,
    )
    db.add(appointment)
    db.commit()
    return appointment


def answer_of(db: Session, appointment: Appointment, person: Client) -> AppointmentClient:
    db.expire_all()
    row = db.scalar(
        select(AppointmentClient).where(
            AppointmentClient.appointment_id == appointment.id, AppointmentClient.client_id == person.id
        )
    )
    assert row is not None
    return row


def client_events(db: Session, person: Client, object_type: str = "appointment") -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.client_id == person.id, AuditEvent.object_type == object_type)
            .order_by(AuditEvent.at)
        )
    )


def main_of(html: str) -> str:
    match = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert match
    return match.group(1)


# --- the list and the details ----------------------------------------------------------------------


def test_the_list_shows_upcoming_and_past_with_place_interpreter_and_answer(
    client, db, me, officer, home, factory
):
    soon = book(db, home, officer, [me], no_show_fee_announced_at=utcnow())
    online = book(
        db,
        home,
        officer,
        [me],
        starts_at=soon.starts_at + timedelta(days=7),
        purpose=AppointmentPurpose.REVIEW,
        street_address=None,
        room=None,
        remote_link="https://meet.example.fi/abc",
        interpreter_language=None,
        interpreter_mode=None,
        interpreter_name=None,
    )
    earlier = book(
        db, home, officer, [me], starts_at=utcnow() - timedelta(days=10), purpose=AppointmentPurpose.PLAN
    )
    someone_else = factory.client(home, first_names="Other", last_name="Person")
    theirs = book(db, home, officer, [someone_else], purpose=AppointmentPurpose.ASSESSMENT)

    response = client.get("/me/appointments")
    assert response.status_code == 200
    page = main_of(response.text)
    upcoming, past = page.split('id="past-heading"')
    assert upcoming.index(f"/me/appointments/{soon.id}") < upcoming.index(f"/me/appointments/{online.id}")
    assert f"/me/appointments/{earlier.id}" in past and str(earlier.id) not in upcoming
    assert str(theirs.id) not in page and "Assessment" not in page
    assert "Guidance" in upcoming and "Review of the plan" in upcoming and "Integration plan" in past
    assert "Kauppakatu 1" in upcoming and "room B 204" in upcoming
    assert "Online meeting" in upcoming
    assert "An interpreter is booked: Arabic, on site." in upcoming
    assert "Waiting for your answer" in upcoming
    assert "you may have to pay a fee of at most €56.70" in upcoming
    assert page.count("you may have to pay a fee") == 1  # only where it was announced
    assert 'data-listen="appointment-' in page and 'data-lang="en"' in page
    # The date in the client's language and Finnish time.
    local = soon.starts_at.astimezone(LOCAL_TIME)
    assert dates.format_date(local.date(), "full", locale="en") in upcoming
    assert "Amina" not in page and "010190-123A" not in page  # the client's own name is not needed here

    [event] = client_events(db, me)
    assert event.actor_kind == "client" and event.actor_id == me.id and event.action == "view"
    assert "response" in event.fields


def test_the_list_is_in_the_clients_language(client, db, me, officer, home):
    me.preferred_locale = "ar"
    db.commit()
    appointment = book(db, home, officer, [me])
    page = client.get("/me/appointments").text
    assert '<html lang="ar" dir="rtl">' in page
    day = appointment.starts_at.astimezone(LOCAL_TIME).date()
    assert dates.format_date(day, "full", locale="ar") in main_of(page)
    assert 'data-lang="ar"' in page


def test_the_details_say_what_to_bring_who_and_the_answer_forms(client, db, me, officer, home):
    appointment = book(db, home, officer, [me])
    response = client.get(f"/me/appointments/{appointment.id}")
    assert response.status_code == 200
    page = main_of(response.text)
    assert "<h1>Guidance" in page
    assert "Passport and residence permit" in page
    assert "Aino Virtanen" in page
    assert "An interpreter is booked: Arabic, on site." in page
    assert "Omar Saleh" not in page  # the interpreter's name is the officer's business
    assert f'href="/me/appointments/{appointment.id}.ics"' in page
    assert f'action="/me/appointments/{appointment.id}/answer"' in page
    assert ">I will come<" in page and "I cannot come" in page and "Ask for another time" in page
    assert "me-fee" not in page and "pay a fee" not in page  # not announced (a bare "fee" can be in a token)
    [event] = client_events(db, me)
    assert event.object_id == str(appointment.id) and event.actor_kind == "client"


def test_an_interpreter_not_yet_booked_and_none_needed(client, db, me, officer, home):
    asked = book(db, home, officer, [me], interpreter_name=None)
    none = book(
        db, home, officer, [me], interpreter_language=None, interpreter_mode=None, interpreter_name=None
    )
    assert (
        "An interpreter is being booked: Arabic, on site." in client.get(f"/me/appointments/{asked.id}").text
    )
    assert "No interpreter is booked." in client.get(f"/me/appointments/{none.id}").text


def test_the_fee_notice_never_shows_to_a_minor(client, db, factory, officer, home):
    young = factory.client(home, date_of_birth=today() - timedelta(days=365 * 16), preferred_locale="en")
    sign_in_client(client, factory, young)
    appointment = book(db, home, officer, [young], no_show_fee_announced_at=utcnow())
    page = main_of(client.get(f"/me/appointments/{appointment.id}").text)
    assert "me-fee" not in page and "pay a fee" not in page


# --- the calendar file -----------------------------------------------------------------------------


def test_the_calendar_file_is_an_attachment_without_personal_data(client, db, me, officer, home):
    appointment = book(db, home, officer, [me])
    response = client.get(f"/me/appointments/{appointment.id}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    local_day = appointment.starts_at.astimezone(LOCAL_TIME).date()
    assert response.headers["content-disposition"] == f'attachment; filename="kotopolku-{local_day}.ics"'
    body = response.content.decode()
    for secret in ("Amina", "Hassan", "010190-123A", "Aino Virtanen", "Omar Saleh", "/officer/"):
        assert secret not in body
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["summary"]) == "Guidance – Kotopolku"
    assert str(event["location"]) == "Kauppakatu 1, B 204"
    assert str(event["url"]).endswith(f"/me/appointments/{appointment.id}")
    assert event.decoded("dtstart") == appointment.starts_at.astimezone(UTC)
    assert "ics" in client_events(db, me)[-1].fields


# --- answers ---------------------------------------------------------------------------------------


def test_confirming_is_seen_by_the_officer(client, db, me, officer, home):
    appointment = book(db, home, officer, [me])
    response = post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "confirm", "note": "x"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/me/appointments/{appointment.id}#answer"
    row = answer_of(db, appointment, me)
    assert row.response == ClientResponse.CONFIRMED and row.responded_at and row.response_note is None
    page = main_of(client.get(f"/me/appointments/{appointment.id}").text)
    assert "You confirmed that you will come." in page
    assert ">I will come<" not in page and "I cannot come" in page  # plans change: cancelling stays open
    assert "You confirmed that you will come." in client.get("/me/appointments").text
    [event] = [e for e in client_events(db, me) if e.action == "update"]
    assert event.actor_kind == "client" and event.fields == ["response"]

    sign_in(client, officer)
    officer_page = client.get(f"/officer/appointments/{appointment.id}").text
    assert "Confirmed by the client" in officer_page


def test_cancelling_with_a_reason_removes_the_forms(client, db, me, officer, home):
    appointment = book(db, home, officer, [me])
    response = post(
        client, f"/me/appointments/{appointment.id}/answer", {"answer": "cancel", "note": "My child is ill."}
    )
    assert response.status_code == 303
    row = answer_of(db, appointment, me)
    assert row.response == ClientResponse.CANCELLED and row.response_note == "My child is ill."
    page = main_of(client.get(f"/me/appointments/{appointment.id}").text)
    assert "You cancelled this appointment." in page and "My child is ill." in page
    assert "/answer" not in page and "I cannot come" not in page
    assert "Your officer has been told." in page
    again = post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "confirm"})
    assert again.status_code == 409
    assert "You have already answered." in again.text
    assert answer_of(db, appointment, me).response == ClientResponse.CANCELLED

    sign_in(client, officer)
    officer_page = client.get(f"/officer/appointments/{appointment.id}").text
    assert "Cancelled by the client" in officer_page and "My child is ill." in officer_page


def test_cancelling_without_a_reason_is_fine(client, db, me, officer, home):
    appointment = book(db, home, officer, [me])
    assert post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "cancel"}).status_code == 303
    assert answer_of(db, appointment, me).response == ClientResponse.CANCELLED


def test_another_time_needs_a_note_and_bad_input_keeps_it(client, db, me, officer, home):
    appointment = book(db, home, officer, [me])
    url = f"/me/appointments/{appointment.id}/answer"
    empty = post(client, url, {"answer": "new_time", "note": "  "})
    assert empty.status_code == 422
    assert "Write which days and times suit you." in empty.text
    assert 'href="#new-time-note"' in empty.text and 'aria-invalid="true"' in empty.text
    assert '<details class="me-answer" open>' in empty.text

    long_note = "Mondays after 12. " * 200
    too_long = post(client, url, {"answer": "new_time", "note": long_note})
    assert too_long.status_code == 422
    assert "at most 2000 characters" in too_long.text
    assert long_note.strip() in too_long.text  # everything typed is kept

    long_reason = "I am ill. " * 250
    cancel = post(client, url, {"answer": "cancel", "note": long_reason})
    assert cancel.status_code == 422 and long_reason.strip() in cancel.text
    assert 'href="#cancel-note"' in cancel.text

    odd = post(client, url, {"answer": "maybe", "note": "x"})
    assert odd.status_code == 422 and "Choose your answer." in odd.text
    assert answer_of(db, appointment, me).response == ClientResponse.NONE

    ok = post(client, url, {"answer": "new_time", "note": "Mondays after 12."})
    assert ok.status_code == 303
    row = answer_of(db, appointment, me)
    assert row.response == ClientResponse.NEW_TIME and row.response_note == "Mondays after 12."
    assert "/answer" not in main_of(client.get(f"/me/appointments/{appointment.id}").text)


def test_after_the_officer_moves_it_the_client_answers_again(client, db, me, officer, home):
    appointment = book(db, home, officer, [me])
    post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "new_time", "note": "Fridays."})
    db.expire_all()
    moved = db.get(Appointment, appointment.id)
    assert moved is not None
    moved.starts_at += timedelta(days=2)
    moved.ends_at += timedelta(days=2)
    db.commit()
    page = main_of(client.get(f"/me/appointments/{appointment.id}").text)
    assert "You asked for another time." in page and "Fridays." in page
    assert "The appointment was changed after you answered." in page
    assert ">I will come<" in page
    assert post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "confirm"}).status_code == 303
    assert answer_of(db, appointment, me).response == ClientResponse.CONFIRMED


def test_no_answer_to_a_cancelled_or_past_appointment(client, db, me, officer, home):
    cancelled = book(db, home, officer, [me], status=AppointmentStatus.CANCELLED, cancelled_at=utcnow())
    past = book(db, home, officer, [me], starts_at=utcnow() - timedelta(days=1))
    for appointment, reason in ((cancelled, "has been cancelled"), (past, "already begun or is over")):
        page = main_of(client.get(f"/me/appointments/{appointment.id}").text)
        assert "/answer" not in page
        refused = post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "confirm"})
        assert refused.status_code == 409 and reason in refused.text
        assert answer_of(db, appointment, me).response == ClientResponse.NONE
    assert "Cancelled" in main_of(client.get(f"/me/appointments/{cancelled.id}").text)
    assert ".ics" not in main_of(client.get(f"/me/appointments/{cancelled.id}").text)


# --- only one's own --------------------------------------------------------------------------------


def test_another_clients_appointment_is_404_on_every_route(client, db, me, officer, home, factory):
    other = factory.client(home, first_names="Other", last_name="Person")
    elsewhere = factory.organisation("Muukunta")
    stranger = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    theirs = book(db, home, officer, [other])
    foreign = book(db, elsewhere, stranger, [factory.client(elsewhere)])
    for appointment in (theirs, foreign):
        for url in (f"/me/appointments/{appointment.id}", f"/me/appointments/{appointment.id}.ics"):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "Kauppakatu" not in response.text
        answer = post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "confirm"})
        assert answer.status_code == 404
    for bad in ("not-a-uuid", f"{uuid.uuid4()}", f"{uuid.uuid4()}.ics", "x.ics"):
        assert client.get(f"/me/appointments/{bad}").status_code == 404
    assert post(client, f"/me/appointments/{uuid.uuid4()}/answer", {"answer": "confirm"}).status_code == 404
    assert answer_of(db, theirs, other).response == ClientResponse.NONE
    assert client_events(db, other) == []


def test_an_appointment_of_the_clients_former_organisation_is_not_shown(
    client, db, me, officer, home, factory
):
    """After a transfer the appointments of the old organisation are no longer the client's to open
    (as on the officers' client page): the list and the page agree."""
    elsewhere = factory.organisation("Muukunta")
    stranger = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    old = book(db, elsewhere, stranger, [me])
    assert str(old.id) not in client.get("/me/appointments").text
    assert client.get(f"/me/appointments/{old.id}").status_code == 404


def test_signed_out_goes_to_sign_in(client, db, amina, officer, home):
    appointment = book(db, home, officer, [amina])
    for url in (
        "/me/appointments",
        f"/me/appointments/{appointment.id}",
        f"/me/appointments/{appointment.id}.ics",
    ):
        response = client.get(url, follow_redirects=False)
        assert response.status_code in (302, 303) and response.headers["location"] == "/me/sign-in"
    response = post(client, f"/me/appointments/{appointment.id}/answer", {"answer": "confirm"})
    assert response.status_code in (302, 303)
    assert answer_of(db, appointment, amina).response == ClientResponse.NONE
