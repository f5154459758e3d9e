"""Issue 5's appointment flow in real browsers: an officer books an appointment with an interpreter at a
desktop; the client sees it on a phone (360×740) in the migrant app and confirms it; the officer sees the
confirmation; and the reminder goes out through the outbox as a Web Push (VAPID-signed, encrypted) to a
local push service — with no personal data in it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.appointment import AppointmentClient, ClientResponse
from app.db.base import utcnow
from app.db.client import Client
from app.db.organisation import Role, Staff
from app.db.outbox import Channel, NotificationKind, OutboxMessage, OutboxStatus, PushSubscription
from app.domain.forms import today
from app.settings import Settings
from tests.browser.conftest import LiveServer, PageProblems, wait_for_htmx
from tests.browser.me_phone import deliver_due, own_server, page_width, phone
from tests.conftest import PASSWORD, Factory
from tests.push_service import PushService

pytestmark = pytest.mark.browser

APPOINTMENT_URL = re.compile(r"/officer/appointments/([0-9a-f-]{36})$")


@pytest.fixture(scope="module")
def live_server(database_url: str, settings: Settings) -> Iterator[LiveServer]:
    """This module's own app server, without the in-process outbox worker: the test runs the worker
    pass itself (when the reminder is due) and checks what it delivered."""
    with own_server(database_url, settings, RUN_WORKER="0") as server:
        yield server


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService().start()
    yield service
    service.stop()


def sign_in_officer(page: Page, staff: Staff) -> None:
    page.goto("/officer/sign-in?lang=en")
    page.locator("#email").fill(staff.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/officer/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/officer/$"))


def personal_data_in(text: str, person: Client, officer: Staff) -> list[str]:
    values = [
        person.first_names,
        person.last_name,
        person.email or "@",
        officer.full_name,
        "Kauppakatu",
        "B 204",
        "Omar",
        "passport",
        "10:00",
        "10.00",
    ]
    return [v for v in values if v and v.lower() in text.lower()]


def test_booked_with_an_interpreter_seen_and_confirmed_on_the_phone_then_reminded(
    browser: Browser,
    base_url: str,
    context: BrowserContext,
    page: Page,
    factory: Factory,
    db: Session,
    settings: Settings,
    problems: PageProblems,
    push_service: PushService,
) -> None:
    organisation = factory.organisation("Kotokunta")
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    officer.full_name = "Aino Virtanen"
    person = factory.client(
        organisation,
        first_names="Amina",
        last_name="Hassan",
        mother_tongue="ar",
        interpreter_needed=True,
        interpreter_language="ar",
        preferred_locale="en",
    )
    # The client's phone subscribed to push notifications (what the settings page does).
    keys = push_service.subscribe(settings.vapid_public_key)
    db.add(PushSubscription(client_id=person.id, endpoint=keys.endpoint, p256dh=keys.p256dh, auth=keys.auth))
    db.commit()

    # --- the officer books, at a desktop ---
    sign_in_officer(page, officer)
    day = today() + timedelta(days=3)
    page.goto(f"/officer/appointments/new?client={person.id}")
    expect(page.locator(f"#client-{person.id}")).to_be_checked()
    page.locator("#purpose").select_option("guidance_meeting")
    page.locator("#day").fill(day.isoformat())
    wait_for_htmx(page)
    page.locator("#starts_time").fill("10:00")
    wait_for_htmx(page)
    page.locator("#ends_time").fill("11:00")
    wait_for_htmx(page)
    page.locator("#street_address").fill("Kauppakatu 1")
    page.locator("#room").fill("B 204")
    wait_for_htmx(page)
    page.locator("#what_to_bring").fill("Your passport and residence permit")
    expect(page.locator("#interpreter_language")).to_have_value("ar")  # from the client's record
    page.locator("#interpreter_mode").select_option("on_site")
    page.locator("#interpreter_name").fill("Omar Saleh")
    page.get_by_role("button", name="Book the appointment").click()
    expect(page).to_have_url(APPOINTMENT_URL)
    match = APPOINTMENT_URL.search(page.url)
    assert match
    appointment_id = match.group(1)
    expect(page.locator("#clients-section")).to_contain_text("No answer yet")

    # --- the client's phone ---
    mobile = phone(browser, base_url, problems, factory.client_session(person))
    try:
        handset = mobile.new_page()
        handset.goto("/me/appointments")
        card = handset.locator(
            "li.me-appointment", has=handset.locator(f"a[href='/me/appointments/{appointment_id}']")
        )
        expect(card).to_contain_text("Guidance")
        expect(card).to_contain_text("Kauppakatu 1")
        expect(card).to_contain_text("An interpreter is booked: Arabic, on site.")
        expect(card).to_contain_text("Waiting for your answer")
        assert page_width(handset) <= 360
        card.get_by_role("link", name="Guidance").click()
        expect(handset).to_have_url(re.compile(f"/me/appointments/{appointment_id}$"))
        expect(handset.locator("dl.facts")).to_contain_text("Your passport and residence permit")
        expect(handset.locator("dl.facts")).to_contain_text("Aino Virtanen")
        expect(handset.get_by_role("link", name="Add to my calendar")).to_have_attribute(
            "href", f"/me/appointments/{appointment_id}.ics"
        )
        assert page_width(handset) <= 360
        handset.get_by_role("button", name="I will come").click()
        expect(handset).to_have_url(re.compile(f"/me/appointments/{appointment_id}(#answer)?$"))
        expect(handset.locator("#answer")).to_contain_text("You confirmed that you will come.")
        expect(handset.get_by_role("button", name="I will come")).to_have_count(0)
    finally:
        mobile.close()

    db.expire_all()
    answer = db.scalar(select(AppointmentClient).where(AppointmentClient.client_id == person.id))
    assert answer is not None and answer.response == ClientResponse.CONFIRMED

    # --- the officer sees the confirmation ---
    page.reload()
    expect(page.locator("#clients-section")).to_contain_text("Confirmed by the client")

    # --- the reminder: queued with the booking, delivered when its time comes ---
    reminders = list(
        db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == NotificationKind.APPOINTMENT_REMINDER,
                OutboxMessage.client_id == person.id,
                OutboxMessage.channel == Channel.PUSH,
                OutboxMessage.dedupe_key.like(f"reminder:{appointment_id}:%"),
            )
        )
    )
    assert sorted(r.payload["lead_hours"] for r in reminders) == [2, 24]
    assert all(r.status == OutboxStatus.PENDING and r.next_attempt_at > utcnow() for r in reminders)
    day_before = next(r for r in reminders if r.payload["lead_hours"] == 24)
    db.execute(
        update(OutboxMessage).where(OutboxMessage.id == day_before.id).values(next_attempt_at=utcnow())
    )
    db.commit()
    deliver_due(settings)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        db.expire_all()
        if db.get(OutboxMessage, day_before.id).status == OutboxStatus.DELIVERED:  # type: ignore[union-attr]
            break
        time.sleep(0.2)
    delivered = db.get(OutboxMessage, day_before.id)
    assert delivered is not None and delivered.status == OutboxStatus.DELIVERED
    other = next(r for r in reminders if r.payload["lead_hours"] == 2)
    db.refresh(other)
    assert other.status == OutboxStatus.PENDING  # the 2-hour reminder waits for its own time

    assert push_service.rejected == []
    pushed = [r for r in push_service.received if r.payload.get("tag") == "appointment_reminder"]
    assert len(pushed) == 1, [r.payload for r in push_service.received]
    [reminder] = pushed
    assert set(reminder.payload) == {"title", "body", "url", "tag"}
    assert reminder.payload["url"] == "/me/appointments"
    assert reminder.ttl > 0 and reminder.claims["sub"] == settings.vapid_subject
    for received in push_service.received:  # the booking notice went out in the same pass
        text = json.dumps(received.payload, ensure_ascii=False)
        assert not personal_data_in(text, person, officer), text
        assert appointment_id not in text
