"""Notification delivery through the outbox: texts per language (push and SMS free of personal data),
real e-mail to a local SMTP server (MIME parts, language, Message-ID), Web Push to a local push
service that verifies VAPID and decrypts the payload, the SMS gateway backend, retries with back-off
and failure without blocking others, lease expiry, quiet hours, the `kotopolku worker` command, the
in-process worker, and what officers see of it all."""

from __future__ import annotations

import asyncio
import email.policy
import html
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time as clock
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from gettext import NullTranslations
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller
from babel import dates
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app import i18n
from app.db.appointment import (
    Appointment,
    AppointmentClient,
    AppointmentPurpose,
    AppointmentStatus,
    InterpretationMode,
)
from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.client import Client
from app.db.engine import make_engine
from app.db.messaging import StakeholderMessage
from app.db.organisation import Organisation, Role, Staff
from app.db.outbox import (
    Channel,
    ContactPreference,
    NotificationKind,
    OutboxAttempt,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
)
from app.domain import outbox
from app.i18n import LOCAL_TIME, PUBLIC_LOCALES
from app.jobs.render import short_text, sms_text
from app.jobs.worker import Counts, Worker, WorkerOptions, retry_delay
from app.main import create_app
from app.settings import ROOT, Settings
from tests.conftest import BASE_URL, AppTestClient, Factory, post, sign_in
from tests.push_service import PushService

T = TypeVar("T")
FAST = WorkerOptions(base_delay=timedelta(seconds=60), poll_interval=0.1, send_timeout=10)
STARTS = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)  # 14:00 in Helsinki, a Friday

HX = {"HX-Request": "true"}  # as htmx asks for a section of the client page when it is opened


# --- local servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """An SMTP server's handler (aiosmtpd): keeps every message it accepts; refuses chosen recipients."""

    MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.MULTILINE | re.IGNORECASE)

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.refuse: dict[str, str] = {}  # address → SMTP reply, e.g. "550 5.1.1 No such user"
        self.delay = 0.0
        self.lock = threading.Lock()
        self.port = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:  # accepted as soon as the data is in, as a mail server queues it
            self.raw.append(envelope.content)
        if self.delay:  # ... and then takes its time to answer
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK"

    def messages(self) -> list[EmailMessage]:
        """Parsed (a method, not a property: aiosmtpd reads every attribute of its handler per connection)."""
        with self.lock:
            raw = list(self.raw)
        parsed = [message_from_bytes(r, policy=email.policy.default) for r in raw]
        return [m for m in parsed if isinstance(m, EmailMessage)]

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived (counted without parsing whole messages)."""
        with self.lock:
            raw = list(self.raw)
        return Counter(m.group(1).decode() for r in raw if (m := self.MESSAGE_ID.search(r)))

    def count(self) -> int:
        with self.lock:
            return len(self.raw)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService().start()
    yield service
    service.stop()


class Gateway:
    """A tiny SMS gateway on loopback: records each POST; answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status = 202
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gateway.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(gateway.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    yield server
    server.stop()


class RecordingSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, text: str, *, reference: str, kind: str) -> None:
        self.sent.append((to, text))


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return replace(settings, smtp_host="127.0.0.1", smtp_port=mailbox.port)


# --- helpers --------------------------------------------------------------------------------------


def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed async transaction (the way the app queues notifications)."""

    async def runner() -> T:
        engine = make_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def notify(
    settings: Settings, client_id: uuid.UUID, kind: NotificationKind, payload: dict[str, Any], **kw: Any
):
    async def work(session: AsyncSession) -> list[int]:
        client = await session.get(Client, client_id)
        assert client is not None
        return [row.id for row in await outbox.notify_client(session, client, kind, payload, **kw)]

    return in_session(settings, work)


def deliver(settings: Settings, options: WorkerOptions = FAST, *, once: bool = False, **kw: Any) -> Counts:
    """One batch (once=True) or everything due, by a worker of its own."""

    async def runner() -> Counts:
        async with Worker(settings, options=options, **kw) as worker:
            return await (worker.run_batch() if once else worker.drain())

    return asyncio.run(runner())


def row(db: Session, row_id: int) -> OutboxMessage:
    db.expire_all()
    found = db.get(OutboxMessage, row_id)
    assert found is not None
    return found


def attempts(db: Session, row_id: int) -> list[OutboxAttempt]:
    return list(
        db.scalars(select(OutboxAttempt).where(OutboxAttempt.outbox_id == row_id).order_by(OutboxAttempt.id))
    )


def email_row(db: Session, address: str, payload: dict[str, Any] | None = None) -> int:
    """A stakeholder e-mail queued to an address (as app.domain.outbox.notify_address writes it)."""
    message = OutboxMessage(
        kind=NotificationKind.STAKEHOLDER,
        channel=Channel.EMAIL,
        address=address,
        locale="fi",
        payload=payload or {},
        next_attempt_at=utcnow() - timedelta(seconds=1),
    )
    db.add(message)
    db.commit()
    return message.id


def stakeholder_message(db: Session, organisation: Organisation, officer: Staff) -> StakeholderMessage:
    message = StakeholderMessage(
        organisation_id=organisation.id,
        subject="Kevään kielikurssit",
        body="Hei,\n\nkevään kurssit alkavat maaliskuussa.",
        sent_by_id=officer.id,
    )
    db.add(message)
    db.commit()
    return message


PERSON = {
    "first_names": "Amina",
    "last_name": "Haddad",
    "native_name": "أمينة حداد",
    "email": "amina.haddad@example.net",
    "phone": "+358401234567",
}


@pytest.fixture
def scene(factory: Factory, db: Session) -> dict[str, Any]:
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    person = factory.client(organisation, preferred_locale="fi", **PERSON)
    appointment = Appointment(
        organisation_id=organisation.id,
        purpose=AppointmentPurpose.GUIDANCE,
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=1),
        street_address="Kauppakatu 1",
        room="B 204",
        interpreter_language="ar",
        interpreter_mode=InterpretationMode.ON_SITE,
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=person.id)],
    )
    db.add(appointment)
    db.commit()
    return {"organisation": organisation, "officer": officer, "client": person, "appointment": appointment}


def set_preference(db: Session, client: Client, **values: Any) -> None:
    db.add(ContactPreference(client_id=client.id, **{"push": True, "email": True, "sms": False, **values}))
    db.commit()


def subscribe(db: Session, service: PushService, client: Client, settings: Settings) -> PushSubscription:
    keys = service.subscribe(settings.vapid_public_key)
    subscription = PushSubscription(
        client_id=client.id, endpoint=keys.endpoint, p256dh=keys.p256dh, auth=keys.auth
    )
    db.add(subscription)
    db.commit()
    return subscription


def personal_data_in(text: str) -> list[str]:
    """Which of the client's personal data, or the appointment's details, appear in `text`."""
    found = [v for v in (*PERSON.values(), "Kauppakatu", "B 204", "401234567", "14:00", "14.00") if v in text]
    found += re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text)  # any e-mail address
    found += re.findall(r"\+?\d[\d \-]{6,}\d", text)  # any phone number
    return found


# --- texts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", PUBLIC_LOCALES)
def test_push_and_sms_texts_exist_for_every_kind_and_say_where_to_look(locale, settings):
    bodies = set()
    for kind in NotificationKind:
        for day in (None, "today", "tomorrow"):
            short = short_text(kind, locale, day=day)
            assert short.title == "Kotopolku" and short.body and short.path.startswith("/me/")
            assert sms_text(short, settings).endswith(settings.public_url + short.path)
            assert not personal_data_in(short.body)
            bodies.add(short.body)
    assert len(bodies) >= 7  # each kind says what happened (and a reminder when)


@pytest.mark.parametrize("locale", ["fi", "ar"])
def test_push_and_sms_sent_for_every_kind_carry_no_personal_data(locale, scene, settings, db, push_service):
    client, appointment = scene["client"], scene["appointment"]
    db.execute(update(Client).where(Client.id == client.id).values(preferred_locale=locale))
    db.commit()
    set_preference(db, client, sms=True, email=False)
    subscribe(db, push_service, client, settings)
    for kind in NotificationKind:
        notify(
            settings, client.id, kind, {"appointment_id": str(appointment.id), "thread_id": str(uuid.uuid4())}
        )
    sms = RecordingSms()
    counts = deliver(settings, sms=sms)
    kinds = len(NotificationKind)
    assert counts.delivered == 2 * kinds, counts
    assert len(push_service.received) == kinds and len(sms.sent) == kinds
    assert {to for to, _text in sms.sent} == {PERSON["phone"]}
    for _to, text in sms.sent:
        assert not personal_data_in(text.replace(settings.public_url, "")), text
    for received in push_service.received:
        assert set(received.payload) == {"title", "body", "url", "tag"}
        assert not personal_data_in(json.dumps(received.payload, ensure_ascii=False)), received.payload
    with_locale = short_text(NotificationKind.NEW_MESSAGE, locale).body
    assert with_locale in [r.payload["body"] for r in push_service.received]


def test_an_email_is_real_mime_in_the_clients_language_with_a_stable_message_id(
    scene, mail_settings, mailbox, db, monkeypatch
):
    # A catalog in which the reminder's subject and lead are translated into Finnish, so the test sees
    # which language the worker chose (it runs with the English interface locale set).
    real = i18n.translations
    finnish = {
        "Reminder: appointment on %(date)s": "Muistutus: tapaaminen %(date)s",
        "This is a reminder of your appointment.": "Tämä on muistutus tapaamisestasi.",
    }

    class Catalog(NullTranslations):
        def gettext(self, message: str) -> str:
            return finnish.get(message) or real("fi").gettext(message)

    monkeypatch.setattr(i18n, "translations", lambda code: Catalog() if code == "fi" else real(code))
    i18n.set_locale("en")
    client, appointment = scene["client"], scene["appointment"]
    swede = Factory(db, mail_settings).client(
        scene["organisation"], email="sven@example.se", preferred_locale="sv"
    )
    db.add(AppointmentClient(appointment_id=appointment.id, client_id=swede.id))
    db.commit()
    payload = {"appointment_id": str(appointment.id)}
    [row_id] = notify(mail_settings, client.id, NotificationKind.APPOINTMENT_REMINDER, payload)
    [swedish_row] = notify(mail_settings, swede.id, NotificationKind.APPOINTMENT_REMINDER, payload)
    assert deliver(mail_settings).delivered == 2

    by_to = {str(m["To"]): m for m in mailbox.messages()}
    message = by_to[PERSON["email"]]
    assert message["Subject"] == "Muistutus: tapaaminen 14.3.2031"
    assert message["Message-ID"] == f"<outbox-{row_id}@kotopolku.testserver.local>"
    assert message["From"] == mail_settings.mail_from
    assert message["Content-Language"] == "fi"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    for body in parts.values():
        assert "Tämä on muistutus tapaamisestasi." in body
        assert "14.00" in body and "perjantai 14. maaliskuuta 2031" in body  # Finnish date and time
        assert "Kauppakatu 1, B 204" in body
        assert f"{BASE_URL}/me/appointments" in body
    assert '<html lang="fi" dir="ltr">' in parts["text/html"]

    swedish = by_to["sven@example.se"]
    assert swedish["Subject"] == i18n.translations("sv").gettext("Reminder: appointment on %(date)s") % {
        "date": "2031-03-14"
    }
    assert swedish["Message-ID"] == f"<outbox-{swedish_row}@kotopolku.testserver.local>"
    assert "fredag 14 mars 2031" in swedish.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert i18n.get_locale() == "en"  # the worker did not change the caller's language
    assert row(db, row_id).status == OutboxStatus.DELIVERED and row(db, row_id).delivered_at
    [attempt] = attempts(db, row_id)
    assert attempt.ok and attempt.detail is None and attempt.worker


def test_a_new_message_email_says_where_to_read_it_but_not_what_it_says(scene, mail_settings, mailbox, db):
    notify(mail_settings, scene["client"].id, NotificationKind.NEW_MESSAGE, {"thread_id": str(uuid.uuid4())})
    deliver(mail_settings)
    [message] = mailbox.messages()
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"{BASE_URL}/me/messages" in text and not personal_data_in(text.replace(PERSON["email"], ""))


def test_stakeholder_email_goes_to_the_partners_address_with_reply_to_the_officer(
    scene, mail_settings, mailbox, db
):
    message = stakeholder_message(db, scene["organisation"], scene["officer"])
    row_id = email_row(db, "kurssit@partner.example.fi", {"stakeholder_message_id": str(message.id)})
    deliver(mail_settings)
    [sent] = mailbox.messages()
    assert sent["To"] == "kurssit@partner.example.fi" and sent["Subject"] == "Kevään kielikurssit"
    assert sent["Reply-To"] == scene["officer"].email
    assert "kevään kurssit alkavat maaliskuussa." in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert row(db, row_id).status == OutboxStatus.DELIVERED


# --- push -----------------------------------------------------------------------------------------


def test_push_is_delivered_with_vapid_and_an_encrypted_payload(scene, settings, db, push_service):
    client = scene["client"]
    set_preference(db, client, email=False)
    subscribe(db, push_service, client, settings)
    [row_id] = [
        r
        for r in notify(settings, client.id, NotificationKind.NEW_MESSAGE, {"thread_id": str(uuid.uuid4())})
        if row(db, r).channel == Channel.PUSH
    ]
    deliver(settings, sms=RecordingSms())
    assert push_service.rejected == []
    [received] = push_service.received
    assert received.payload == {
        "title": "Kotopolku",
        "body": short_text(NotificationKind.NEW_MESSAGE, "fi").body,
        "url": "/me/messages",
        "tag": "new_message",
    }
    assert received.claims["sub"] == settings.vapid_subject and received.claims["aud"] == push_service.origin
    assert received.ttl > 0 and received.urgency == "normal"
    assert row(db, row_id).status == OutboxStatus.DELIVERED


def test_a_push_signed_with_another_key_is_refused_by_the_push_service(scene, settings, db, push_service):
    """The test service really checks VAPID: a subscription made for another application server key."""
    client = scene["client"]
    keys = push_service.subscribe("BOther" + settings.vapid_public_key[6:])
    db.add(PushSubscription(client_id=client.id, endpoint=keys.endpoint, p256dh=keys.p256dh, auth=keys.auth))
    db.commit()
    set_preference(db, client, email=False)
    [row_id] = notify(settings, client.id, NotificationKind.NEW_MESSAGE, {})
    deliver(settings)
    assert push_service.received == [] and push_service.rejected[0].status == 403
    assert row(db, row_id).status == OutboxStatus.FAILED  # 403 does not get better by retrying
    assert attempts(db, row_id)[0].detail == "http 403"


def test_an_expired_push_subscription_is_removed_and_the_row_fails(scene, settings, db, push_service):
    client = scene["client"]
    set_preference(db, client, email=False)
    gone = subscribe(db, push_service, client, settings)
    push_service.subscriptions[gone.endpoint.rsplit("/", 1)[-1]].expired = True
    [row_id] = notify(settings, client.id, NotificationKind.NEW_MESSAGE, {})
    counts = deliver(settings)
    assert counts.failed == 1 and counts.retrying == 0
    assert db.scalar(select(PushSubscription).where(PushSubscription.id == gone.id)) is None
    assert row(db, row_id).status == OutboxStatus.FAILED
    [attempt] = attempts(db, row_id)
    assert not attempt.ok and attempt.detail == "http 410"


def test_push_reaches_the_devices_still_subscribed(scene, settings, db, push_service):
    client = scene["client"]
    set_preference(db, client, email=False)
    gone = subscribe(db, push_service, client, settings)
    push_service.subscriptions[gone.endpoint.rsplit("/", 1)[-1]].expired = True
    subscribe(db, push_service, client, settings)
    [row_id] = notify(settings, client.id, NotificationKind.NEW_MESSAGE, {})
    deliver(settings)
    assert len(push_service.received) == 1
    assert row(db, row_id).status == OutboxStatus.DELIVERED
    assert [a.detail for a in attempts(db, row_id)] == ["1 of 2 browsers"]
    assert len(db.scalars(select(PushSubscription)).all()) == 1  # the expired one is gone


# --- SMS ------------------------------------------------------------------------------------------


def test_sms_gateway_gets_json_with_a_bearer_token(scene, settings, db, gateway):
    sms_settings = replace(
        settings, sms_backend="http", sms_gateway_url=gateway.url, sms_gateway_token="tok-123"
    )
    client = scene["client"]
    set_preference(db, client, sms=True, email=False, push=False)
    [row_id] = notify(
        sms_settings,
        client.id,
        NotificationKind.APPOINTMENT_BOOKED,
        {"appointment_id": str(scene["appointment"].id)},
    )
    assert deliver(sms_settings).delivered == 1
    [(headers, body)] = gateway.requests
    assert headers["Authorization"] == "Bearer tok-123"
    assert headers["Content-Type"].startswith("application/json")
    assert body == {
        "to": PERSON["phone"],
        "text": sms_text(short_text(NotificationKind.APPOINTMENT_BOOKED, "fi"), sms_settings),
    }
    assert row(db, row_id).status == OutboxStatus.DELIVERED


def test_sms_gateway_errors_are_retried_later_with_the_status_recorded(scene, settings, db, gateway):
    sms_settings = replace(settings, sms_backend="http", sms_gateway_url=gateway.url)
    gateway.status = 503
    client = scene["client"]
    set_preference(db, client, sms=True, email=False, push=False)
    [row_id] = notify(sms_settings, client.id, NotificationKind.NEW_MESSAGE, {})
    before = utcnow()
    assert deliver(sms_settings).retrying == 1
    failed = row(db, row_id)
    assert failed.status == OutboxStatus.PENDING and failed.attempts == 1
    assert before + timedelta(seconds=45) <= failed.next_attempt_at <= utcnow() + timedelta(seconds=60)
    assert attempts(db, row_id)[0].detail == "http 503"


def test_sms_log_backend_names_neither_the_number_nor_the_text(scene, settings, db, caplog):
    client = scene["client"]
    set_preference(db, client, sms=True, email=False, push=False)
    notify(settings, client.id, NotificationKind.NEW_MESSAGE, {})
    with caplog.at_level(logging.INFO, logger="kotopolku.outbox"):
        assert deliver(settings).delivered == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"sms to client {client.id}: new_message" in logged
    assert not personal_data_in(logged.replace(str(client.id), ""))
    assert short_text(NotificationKind.NEW_MESSAGE, "fi").body not in logged


# --- retries, failures, leases --------------------------------------------------------------------


def test_a_failing_address_backs_off_then_fails_without_holding_up_the_others(
    scene, mail_settings, mailbox, db
):
    message = stakeholder_message(db, scene["organisation"], scene["officer"])
    payload = {"stakeholder_message_id": str(message.id)}
    mailbox.refuse["busy@partner.example.fi"] = "451 4.3.0 Try again later"
    mailbox.refuse["nobody@partner.example.fi"] = "550 5.1.1 No such user"
    good = [email_row(db, f"p{i}@partner.example.fi", payload) for i in range(4)]
    busy = email_row(db, "busy@partner.example.fi", payload)
    nobody = email_row(db, "nobody@partner.example.fi", payload)
    options = replace(FAST, max_attempts=4, base_delay=timedelta(seconds=10))

    counts = deliver(mail_settings, options, once=True)
    assert (counts.delivered, counts.retrying, counts.failed) == (4, 1, 1)
    assert sorted(str(m["To"]) for m in mailbox.messages()) == sorted(
        f"p{i}@partner.example.fi" for i in range(4)
    )
    assert all(row(db, r).status == OutboxStatus.DELIVERED for r in good)
    assert row(db, nobody).status == OutboxStatus.FAILED  # 5xx: permanent, one attempt
    assert [a.detail for a in attempts(db, nobody)] == ["smtp 550"]

    for tries in range(1, 4):
        waiting = row(db, busy)
        assert waiting.status == OutboxStatus.PENDING and waiting.attempts == tries
        last = attempts(db, busy)[-1]
        wait = (waiting.next_attempt_at - last.at).total_seconds()
        expected = 10 * 2 ** (tries - 1)
        assert 0.75 * expected - 0.01 <= wait <= expected + 0.01, (tries, wait)  # doubling, with jitter
        assert deliver(mail_settings, options).claimed == 0  # not before its time
        db.execute(update(OutboxMessage).where(OutboxMessage.id == busy).values(next_attempt_at=utcnow()))
        db.commit()
        deliver(mail_settings, options, once=True)
    gave_up = row(db, busy)
    assert gave_up.status == OutboxStatus.FAILED and gave_up.attempts == 4
    assert [a.ok for a in attempts(db, busy)] == [False] * 4
    assert {a.detail for a in attempts(db, busy)} == {"smtp 451"}
    assert len(mailbox.messages()) == 4


def test_a_hanging_mail_server_times_out_without_holding_up_text_messages(scene, mail_settings, mailbox, db):
    client = scene["client"]
    set_preference(db, client, push=False, email=True, sms=True)
    rows = notify(mail_settings, client.id, NotificationKind.NEW_MESSAGE, {})
    by_channel = {row(db, r).channel: r for r in rows}
    mailbox.delay = 3  # accepts the data, then does not answer
    sms = RecordingSms()
    started = clock.monotonic()
    counts = deliver(mail_settings, replace(FAST, send_timeout=0.5), once=True, sms=sms)
    assert clock.monotonic() - started < 2.5  # the batch did not wait for the mail server
    assert (counts.delivered, counts.retrying) == (1, 1) and len(sms.sent) == 1
    assert row(db, by_channel[Channel.SMS]).status == OutboxStatus.DELIVERED
    assert [a.detail for a in attempts(db, by_channel[Channel.EMAIL])] == ["error TimeoutError"]
    sms_at = attempts(db, by_channel[Channel.SMS])[0].at
    assert sms_at < attempts(db, by_channel[Channel.EMAIL])[0].at  # sent while the e-mail still waited


def test_back_off_doubles_and_is_capped():
    options = WorkerOptions(base_delay=timedelta(seconds=30), max_delay=timedelta(minutes=5))
    for attempts_made, full in [(0, 30), (1, 60), (2, 120), (3, 240), (4, 300), (10, 300)]:
        delay = retry_delay(attempts_made, options).total_seconds()
        assert 0.75 * full <= delay <= full


def test_an_unreachable_mail_server_is_retried(scene, settings, db):
    closed = replace(settings, smtp_host="127.0.0.1", smtp_port=free_port())
    row_id = email_row(
        db,
        "p@partner.example.fi",
        {"stakeholder_message_id": str(stakeholder_message(db, scene["organisation"], scene["officer"]).id)},
    )
    assert deliver(closed, once=True).retrying == 1
    assert attempts(db, row_id)[0].detail.startswith("error ")
    assert row(db, row_id).status == OutboxStatus.PENDING


def test_rows_of_a_worker_whose_lease_ran_out_are_taken_over(scene, mail_settings, mailbox, db):
    message = stakeholder_message(db, scene["organisation"], scene["officer"])
    payload = {"stakeholder_message_id": str(message.id)}
    dead = [email_row(db, f"dead{i}@partner.example.fi", payload) for i in range(3)]
    alive = email_row(db, "alive@partner.example.fi", payload)
    now = utcnow()
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(dead))
        .values(
            status=OutboxStatus.SENDING, claimed_by="dead-worker", claimed_until=now - timedelta(seconds=1)
        )
    )
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == alive)
        .values(
            status=OutboxStatus.SENDING, claimed_by="busy-worker", claimed_until=now + timedelta(minutes=5)
        )
    )
    db.commit()
    counts = deliver(mail_settings)
    assert counts.delivered == 3
    assert sorted(mailbox.message_ids()) == sorted(f"<outbox-{i}@kotopolku.testserver.local>" for i in dead)
    assert all(
        row(db, r).status == OutboxStatus.DELIVERED and row(db, r).claimed_by != "dead-worker" for r in dead
    )
    assert row(db, alive).status == OutboxStatus.SENDING and row(db, alive).claimed_by == "busy-worker"


def test_concurrent_workers_claim_disjoint_batches(scene, settings, db):
    for i in range(25):
        email_row(db, f"p{i}@partner.example.fi")
    options = replace(FAST, batch_size=10)

    async def claims() -> list[list[int]]:
        workers = [Worker(settings, options=options) for _ in range(3)]
        try:
            return list(await asyncio.gather(*(w.claim() for w in workers)))
        finally:
            for w in workers:
                await w.close()

    batches = asyncio.run(claims())
    claimed = [i for batch in batches for i in batch]
    assert len(claimed) == len(set(claimed)) == 25
    assert sorted(len(b) for b in batches) == [5, 10, 10]
    assert db.scalar(select(OutboxMessage.claimed_until).limit(1)) is not None


# --- preferences at delivery time -----------------------------------------------------------------


def test_quiet_hours_now_postpone_without_counting_an_attempt(scene, mail_settings, mailbox, db):
    client = scene["client"]
    [row_id] = [
        r
        for r in notify(mail_settings, client.id, NotificationKind.NEW_MESSAGE, {})
        if row(db, r).channel == Channel.EMAIL
    ]
    # The client asks for quiet hours after the notification was queued: now is inside them.
    local = datetime.now(LOCAL_TIME)
    start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    set_preference(db, client, quiet_from=start, quiet_until=end)
    counts = deliver(mail_settings)
    assert counts.postponed == 1 and counts.delivered == 0 and mailbox.messages() == []
    waiting = row(db, row_id)
    assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 0 and waiting.claimed_by is None
    assert waiting.next_attempt_at.astimezone(LOCAL_TIME).time().replace(second=0) == end
    assert attempts(db, row_id) == []


def test_a_channel_turned_off_since_queueing_is_not_used(scene, mail_settings, mailbox, db):
    client = scene["client"]
    [row_id] = notify(mail_settings, client.id, NotificationKind.NEW_MESSAGE, {})
    set_preference(db, client, email=False)
    assert deliver(mail_settings).cancelled == 1
    assert mailbox.messages() == [] and row(db, row_id).status == OutboxStatus.CANCELLED
    assert attempts(db, row_id)[0].detail == "cancelled channel_off"


def test_a_reminder_of_a_cancelled_appointment_is_not_sent(scene, mail_settings, mailbox, db):
    appointment = scene["appointment"]
    payload = {"appointment_id": str(appointment.id)}
    [row_id] = notify(mail_settings, scene["client"].id, NotificationKind.APPOINTMENT_REMINDER, payload)
    db.execute(
        update(Appointment).where(Appointment.id == appointment.id).values(status=AppointmentStatus.CANCELLED)
    )
    db.commit()
    assert deliver(mail_settings).cancelled == 1 and mailbox.messages() == []
    assert row(db, row_id).status == OutboxStatus.CANCELLED


def test_a_reminder_waits_for_its_time(scene, mail_settings, mailbox, db):
    payload = {"appointment_id": str(scene["appointment"].id)}
    later = utcnow() + timedelta(hours=3)
    [row_id] = notify(
        mail_settings,
        scene["client"].id,
        NotificationKind.APPOINTMENT_REMINDER,
        payload,
        deliver_after=later,
        dedupe_key="r:1",
    )
    assert deliver(mail_settings).claimed == 0 and mailbox.messages() == []
    db.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(next_attempt_at=utcnow()))
    db.commit()
    assert deliver(mail_settings).delivered == 1


# --- the command and the in-process worker --------------------------------------------------------


def worker_env(settings: Settings, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_URL": settings.public_url,
        "SECRET_KEY": settings.secret_key,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }
    env.pop("DEBUG", None)
    return env


def test_the_worker_command_drains_due_rows_and_exits(scene, mail_settings, mailbox, db, database_url):
    message = stakeholder_message(db, scene["organisation"], scene["officer"])
    rows = [
        email_row(db, f"p{i}@partner.example.fi", {"stakeholder_message_id": str(message.id)})
        for i in range(3)
    ]
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--once"],
        cwd=ROOT,
        env=worker_env(mail_settings, database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "3 delivered" in result.stdout
    assert len(mailbox.messages()) == 3 and all(row(db, r).status == OutboxStatus.DELIVERED for r in rows)
    assert "partner.example.fi" not in result.stdout + result.stderr  # counts, never addresses


def test_the_app_runs_a_worker_when_asked(scene, mail_settings, mailbox, db):
    message = stakeholder_message(db, scene["organisation"], scene["officer"])
    row_id = email_row(db, "p@partner.example.fi", {"stakeholder_message_id": str(message.id)})
    app = create_app(replace(mail_settings, run_worker=True))
    with AppTestClient(app, base_url=BASE_URL) as test_client:
        assert test_client.get("/health").status_code == 200
        deadline = clock.monotonic() + 15
        while not mailbox.messages() and clock.monotonic() < deadline:
            clock.sleep(0.1)
    assert len(mailbox.messages()) == 1
    assert row(db, row_id).status == OutboxStatus.DELIVERED


def test_settings_keep_the_worker_off_unless_the_environment_asks(monkeypatch):
    assert Settings().run_worker is False
    monkeypatch.delenv("RUN_WORKER", raising=False)
    assert Settings.from_env().run_worker is True
    monkeypatch.setenv("RUN_WORKER", "0")
    assert Settings.from_env().run_worker is False


# --- what officers see ----------------------------------------------------------------------------


def add_row(
    db: Session,
    client: Client,
    channel: Channel,
    status: OutboxStatus,
    *results: tuple[bool, str | None],
    **kw: Any,
) -> OutboxMessage:
    created = kw.pop("created_at", utcnow())
    message = OutboxMessage(
        kind=kw.pop("kind", NotificationKind.NEW_MESSAGE),
        channel=channel,
        client_id=client.id,
        locale="fi",
        payload={},
        status=status,
        created_at=created,
        attempts=sum(1 for ok, _d in results if not ok),
        **kw,
    )
    db.add(message)
    db.flush()
    for i, (ok, detail) in enumerate(results):
        db.add(
            OutboxAttempt(
                outbox_id=message.id, at=created + timedelta(minutes=i), worker="w1", ok=ok, detail=detail
            )
        )
    db.commit()
    return message


def test_officers_see_each_notification_and_attempt_in_plain_words(client, scene, db):
    person, officer = scene["client"], scene["officer"]
    today_at = datetime.now(LOCAL_TIME).replace(hour=14, minute=2, second=0, microsecond=0).astimezone(UTC)
    add_row(db, person, Channel.PUSH, OutboxStatus.DELIVERED, (True, None), created_at=today_at)
    add_row(
        db, person, Channel.SMS, OutboxStatus.PENDING, (False, "http 503"),
        created_at=today_at, next_attempt_at=today_at + timedelta(minutes=8),
    )  # fmt: skip
    add_row(
        db,
        person,
        Channel.EMAIL,
        OutboxStatus.FAILED,
        (False, "smtp 550"),
        created_at=today_at,
        kind=NotificationKind.APPOINTMENT_REMINDER,
    )
    add_row(
        db,
        person,
        Channel.EMAIL,
        OutboxStatus.CANCELLED,
        (False, "cancelled channel_off"),
        created_at=today_at,
    )
    sign_in(client, officer)
    assert 'id="notifications"' in client.get(f"/officer/clients/{person.id}").text  # loaded when opened
    section = html.unescape(
        client.get(f"/officer/clients/{person.id}/sections/notifications?lang=en", headers=HX).text
    )
    at = dates.format_time(today_at.astimezone(LOCAL_TIME), "short", locale="en")  # 2:02 PM
    retry = dates.format_time((today_at + timedelta(minutes=8)).astimezone(LOCAL_TIME), "short", locale="en")
    assert f"Delivered by push at {at}" in section
    assert f"Text message failed at {at}: the gateway answered 503 — retrying at {retry}" in section
    assert f"E-mail failed at {at}: the mail server answered 550 — no more attempts" in section
    assert "Not sent: the client turned this channel off" in section
    assert "Appointment reminder" in section
    assert "Push notification, E-mail" in section  # the default channels
    events = db.scalars(
        select(AuditEvent).where(
            AuditEvent.client_id == person.id, AuditEvent.object_type == "outbox_message"
        )
    ).all()
    assert [e.action for e in events] == ["view"] and events[0].actor_id == officer.id


def test_notifications_are_paged_newest_first(client, scene, db):
    person = scene["client"]
    start = utcnow() - timedelta(days=2)
    for i in range(12):
        add_row(db, person, Channel.EMAIL, OutboxStatus.DELIVERED, (True, None), created_at=start + timedelta(minutes=i),
                kind=NotificationKind.APPOINTMENT_BOOKED if i == 0 else NotificationKind.NEW_MESSAGE)  # fmt: skip
    sign_in(client, scene["officer"])
    first = client.get(f"/officer/clients/{person.id}/sections/notifications?lang=en", headers=HX).text
    assert first.count("Delivered by e-mail") == 10 and "Appointment booked" not in first
    assert f"/officer/clients/{person.id}/deliveries?page=2" in first
    second = client.get(f"/officer/clients/{person.id}/deliveries?page=2", headers={"HX-Request": "true"})
    assert second.status_code == 200
    assert second.text.count("Delivered by e-mail") == 2 and "Appointment booked" in second.text


def test_only_the_clients_own_organisation_sees_notifications(client, scene, factory, db):
    person = scene["client"]
    add_row(db, person, Channel.EMAIL, OutboxStatus.DELIVERED, (True, None))
    stranger = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, stranger)
    assert client.get(f"/officer/clients/{person.id}/deliveries").status_code == 404
    assert client.get(f"/officer/clients/{person.id}/contact-preferences").status_code == 404
    assert (
        post(client, f"/officer/clients/{person.id}/contact-preferences", {"push": "on"}).status_code == 404
    )
    assert db.get(ContactPreference, person.id) is None


def test_a_manager_sees_but_does_not_change_the_settings(client, scene, factory, db):
    manager = factory.staff(scene["organisation"], Role.MANAGER)
    sign_in(client, manager)
    page = client.get(f"/officer/clients/{scene['client'].id}?lang=en").text
    assert 'id="notifications"' in page
    section = client.get(f"/officer/clients/{scene['client'].id}/sections/notifications", headers=HX).text
    assert "How the client is notified" in section and "Change the notification settings" not in section
    assert client.get(f"/officer/clients/{scene['client'].id}/contact-preferences").status_code == 403


def checked(page: str) -> set[str]:
    return set(re.findall(r'name="(\w+)" type="checkbox" checked', page))


def test_an_officer_records_the_clients_channels_and_quiet_hours(client, scene, db):
    person = scene["client"]
    sign_in(client, scene["officer"])
    url = f"/officer/clients/{person.id}/contact-preferences"
    form = client.get(url + "?lang=en").text
    assert checked(form) == {"push", "email"}

    bad = post(
        client, url, {"push": "on", "sms": "on", "quiet_from": "21:00", "quiet_until": "", "version": "0"}
    )
    assert bad.status_code == 422
    assert 'value="21:00"' in bad.text and checked(bad.text) == {"push", "sms"}
    assert 'id="quiet_until-error"' in bad.text and 'aria-describedby="quiet_until-error"' in bad.text
    assert db.get(ContactPreference, person.id) is None

    saved = post(
        client,
        url,
        {"push": "on", "sms": "on", "quiet_from": "21:00", "quiet_until": "08:00", "version": "0"},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("#notifications")
    db.expire_all()
    preference = db.get(ContactPreference, person.id)
    assert preference is not None
    assert (preference.push, preference.email, preference.sms) == (True, False, True)
    assert (preference.quiet_from, preference.quiet_until) == (time(21), time(8))
    audit_fields = db.scalars(
        select(AuditEvent.fields).where(
            AuditEvent.object_type == "contact_preference", AuditEvent.action == "create"
        )
    ).one()
    assert set(audit_fields) == {"push", "email", "sms", "quiet_from", "quiet_until"}

    # Someone else saves in between: the second save from the old form is refused, input kept.
    assert post(client, url, {"push": "on", "version": "1"}).status_code == 303
    stale = post(client, url, {"email": "on", "quiet_from": "22:00", "quiet_until": "07:00", "version": "1"})
    assert stale.status_code == 409
    assert 'value="22:00"' in stale.text and 'name="version" value="2"' in stale.text
    db.expire_all()
    assert db.get(ContactPreference, person.id).email is False  # type: ignore[union-attr]


def test_queueing_follows_the_saved_preferences(client, scene, db, settings):
    person = scene["client"]
    sign_in(client, scene["officer"])
    url = f"/officer/clients/{person.id}/contact-preferences"
    assert post(client, url, {"sms": "on", "version": "0"}).status_code == 303
    rows = notify(settings, person.id, NotificationKind.NEW_MESSAGE, {})
    assert [row(db, r).channel for r in rows] == [Channel.SMS]
