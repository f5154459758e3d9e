"""Messaging (service 8) and translation requests (service 15) through HTTP: threads between a client and
the team, read markers, the outbox notification without text, translations with their origin, human
translation requests, group messages and campaigns, templates with stale translations, stakeholder
e-mail, and who may see what."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.appointment import Appointment, AppointmentPurpose
from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.client import Client, ClientStatus, PermitType
from app.db.engine import make_engine
from app.db.messaging import (
    AuthorKind,
    GroupKind,
    GroupMessage,
    GroupMessageText,
    Message,
    MessageTemplate,
    MessageTemplateText,
    MessageTranslation,
    StakeholderContact,
    StakeholderMessage,
    Thread,
    TranslationRequest,
    TranslationStatus,
)
from app.db.organisation import OrganisationType, Role
from app.db.outbox import Channel, NotificationKind, OutboxMessage
from app.db.plan import IntegrationPlan, PlanService, PlanServiceKind, PlanServiceStatus
from app.db.programme import ProgrammePeriod, ProgrammeService, ProgrammeServiceText, ServiceType
from app.domain import messaging
from app.domain.translations import content_hash
from app.settings import Settings
from tests.conftest import client_section, post, sign_in

T = TypeVar("T")


def run_async(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run a domain function the way a request would: one session, committed at the end."""

    async def go() -> T:
        engine = make_engine(settings)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def client_replies(
    settings: Settings, person: Client, thread_id: uuid.UUID, body: str, language: str
) -> Message:
    async def work(session: AsyncSession) -> Message:
        found = await session.get(Client, person.id)
        assert found is not None
        return await messaging.client_reply(session, found, thread_id, body, language)

    return run_async(settings, work)


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"  # pages are asserted in English, the msgid language


@pytest.fixture
def municipality(factory):
    return factory.organisation("Kotokunta")


@pytest.fixture
def officer(client, factory, municipality):
    person = factory.staff(municipality, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


@pytest.fixture
def colleague(factory, municipality):
    return factory.staff(municipality, Role.INTEGRATION_OFFICER)


@pytest.fixture
def person(factory, municipality, officer):
    return factory.client(
        municipality,
        first_names="Amal",
        last_name="Haddad",
        email="amal@example.fi",
        mother_tongue="ar",
        responsible_officer_id=officer.id,
    )


def settings_of(client) -> Settings:
    return client.app.state["settings"]


def start_thread(client, person, subject="Kurssin alku", body="Tervetuloa kurssille maanantaina.", **extra):
    response = post(
        client,
        f"/officer/clients/{person.id}/threads",
        {"subject": subject, "body": body, "language": "fi", **extra},
    )
    assert response.status_code == 303, response.text
    return uuid.UUID(response.headers["location"].rsplit("/", 1)[1])


def messages_in(db, thread_id) -> list[Message]:
    db.expire_all()
    return list(
        db.scalars(select(Message).where(Message.thread_id == thread_id).order_by(Message.created_at))
    )


def translations_of(db, message_id) -> list[MessageTranslation]:
    db.expire_all()
    return list(db.scalars(select(MessageTranslation).where(MessageTranslation.message_id == message_id)))


# --- threads, read markers, notifications ---------------------------------------------------------


def test_an_officer_writes_to_a_client_and_the_client_is_told_without_the_text(client, officer, person, db):
    thread_id = start_thread(client, person)
    thread = db.get(Thread, thread_id)
    assert (thread.client_id, thread.organisation_id, thread.subject) == (
        person.id,
        officer.organisation_id,
        "Kurssin alku",
    )
    (message,) = messages_in(db, thread_id)
    assert message.author_kind == AuthorKind.STAFF and message.author_staff_id == officer.id
    assert (message.language, message.body) == ("fi", "Tervetuloa kurssille maanantaina.")
    # One notification per channel the client can be reached on (e-mail here), carrying only the thread.
    rows = list(db.scalars(select(OutboxMessage).where(OutboxMessage.client_id == person.id)))
    assert [(r.kind, r.channel) for r in rows] == [(NotificationKind.NEW_MESSAGE, Channel.EMAIL)]
    assert rows[0].payload == {"thread_id": str(thread_id)}
    assert rows[0].dedupe_key == f"message:{message.id}:email"
    assert "Tervetuloa" not in json.dumps(rows[0].payload) and "Kurssin" not in json.dumps(rows[0].payload)
    # Audited with the client, field names only.
    event_ = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "message_thread"))
    assert event_.action == "create" and event_.client_id == person.id
    assert "Tervetuloa" not in repr(event_.fields)
    page = client.get(f"/officer/messages/{thread_id}")
    assert page.status_code == 200
    assert "Tervetuloa kurssille maanantaina." in page.text and officer.full_name in page.text


def test_bad_input_keeps_what_was_typed(client, officer, person, db):
    response = post(
        client,
        f"/officer/clients/{person.id}/threads",
        {"subject": "", "body": "Kirjoitettu", "language": "fi"},
    )
    assert response.status_code == 422
    assert 'id="subject-error"' in response.text and "Kirjoitettu" in response.text
    too_long = post(
        client,
        f"/officer/clients/{person.id}/threads",
        {"subject": "S", "body": "x" * (messaging.MAX_BODY + 1), "language": "fi"},
    )
    assert too_long.status_code == 422 and 'id="body-error"' in too_long.text
    assert db.scalar(select(func.count()).select_from(Thread)) == 0


def test_replies_read_markers_and_the_inbox_puts_unread_first(
    client, officer, colleague, person, factory, municipality, db
):
    settings = settings_of(client)
    other = factory.client(municipality, first_names="Bo")
    first = start_thread(client, person, subject="Ensimmäinen")
    second = start_thread(client, other, subject="Toinen")
    # The team wrote last in both: nothing unread.
    inbox = client.get("/officer/messages")
    assert inbox.status_code == 200 and "Unread" not in inbox.text
    # The client answers the first thread from the migrant app.
    reply = client_replies(settings, person, first, "شكرا، سأحضر.", "ar")
    assert reply.author_kind == AuthorKind.CLIENT and reply.language == "ar"
    thread = db.get(Thread, first)
    db.refresh(thread)
    assert thread.client_read_at == reply.created_at and thread.staff_read_at < reply.created_at
    # The team writes in the second thread after that: it is the newest, but read.
    assert (
        post(client, f"/officer/messages/{second}", {"body": "Vielä yksi asia", "language": "fi"}).status_code
        == 303
    )
    inbox = client.get("/officer/messages").text
    assert inbox.index("Ensimmäinen") < inbox.index("Toinen")  # unread first, though older
    assert re.search(r'class="unread".*?Ensimmäinen', inbox, re.S)
    unread_only = client.get("/officer/messages?unread=true").text
    assert "Ensimmäinen" in unread_only and "Toinen" not in unread_only
    # Opening the thread marks it read for the team and is audited.
    sign_in(client, colleague)
    page = client.get(f"/officer/messages/{first}")
    assert "شكرا، سأحضر." in page.text
    db.refresh(thread)
    assert thread.staff_read_at == reply.created_at
    assert "Unread" not in client.get("/officer/messages").text
    views = db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "message_thread", AuditEvent.action == "view")
    ).all()
    assert any(e.client_id == person.id and e.actor_id == colleague.id for e in views)
    # The colleague answers as the team; the first officer sees the colleague's name on it.
    response = post(client, f"/officer/messages/{first}", {"body": "Hyvä, nähdään!", "language": "fi"})
    assert response.status_code == 303
    sign_in(client, officer)
    page = client.get(f"/officer/messages/{first}").text
    assert "Hyvä, nähdään!" in page and colleague.full_name in page
    assert len(messages_in(db, first)) == 3  # a reply is a new message: the earlier ones are as they were
    assert messages_in(db, first)[0].body == "Tervetuloa kurssille maanantaina."
    assert (
        db.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.client_id == person.id))
        == 2
    )
    assert second


def test_the_client_side_functions_stay_in_the_clients_own_threads(
    client, officer, person, factory, municipality, db
):
    settings = settings_of(client)
    thread_id = start_thread(client, person)
    other = factory.client(municipality, first_names="Toinen")
    with pytest.raises(messaging.ThreadNotFound):
        client_replies(settings, other, thread_id, "Hei", "fi")
    with pytest.raises(messaging.InvalidMessage) as problem:
        client_replies(settings, person, thread_id, "   ", "fi")
    assert "body" in problem.value.errors
    with pytest.raises(messaging.InvalidMessage):
        client_replies(settings, person, thread_id, "Hei", "not-a-language")

    async def read(session: AsyncSession) -> None:
        found = await session.get(Client, person.id)
        assert found is not None
        await messaging.mark_read_by_client(session, found, thread_id)

    run_async(settings, read)
    thread = db.get(Thread, thread_id)
    db.refresh(thread)
    (message,) = messages_in(db, thread_id)
    assert thread.client_read_at == message.created_at
    event_ = db.scalar(
        select(AuditEvent).where(AuditEvent.actor_kind == "client", AuditEvent.action == "view")
    )
    assert event_.client_id == person.id and event_.actor_id == person.id

    async def read_others(session: AsyncSession) -> None:
        found = await session.get(Client, other.id)
        assert found is not None
        await messaging.mark_read_by_client(session, found, thread_id)

    with pytest.raises(messaging.ThreadNotFound):
        run_async(settings, read_others)


def test_my_clients_filter(client, officer, colleague, person, factory, municipality):
    theirs = factory.client(municipality, first_names="Kollegan", responsible_officer_id=colleague.id)
    start_thread(client, person, subject="Oma asiakas")
    start_thread(client, theirs, subject="Kollegan asiakas")
    everyone = client.get("/officer/messages").text
    assert "Oma asiakas" in everyone and "Kollegan asiakas" in everyone
    mine = client.get("/officer/messages?mine=true").text
    assert "Oma asiakas" in mine and "Kollegan asiakas" not in mine


def test_the_inbox_takes_the_same_number_of_queries_for_any_number_of_threads(
    client, officer, factory, municipality
):
    engine = client.app.state["alchemy"].engine_instance.sync_engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/officer/messages").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return sum(1 for s in statements if "message_thread" in s and s.lstrip().upper().startswith("SELECT"))

    for i in range(2):
        start_thread(client, factory.client(municipality, first_names=f"A{i}"), subject=f"S{i}")
    few = queries()
    for i in range(6):
        start_thread(client, factory.client(municipality, first_names=f"B{i}"), subject=f"T{i}")
    many = queries()
    assert few == many == 1


# --- translations by hand, checks ---------------------------------------------------------------


def test_a_translation_by_hand_keeps_origin_and_source_hash_and_is_checked_by_someone_else(
    client, officer, colleague, person, db
):
    thread_id = start_thread(client, person)
    (message,) = messages_in(db, thread_id)
    url = f"/officer/messages/{thread_id}/messages/{message.id}/translations"
    missing = post(client, url, {"language": "ar", "body": "", "origin": "officer"})
    assert missing.status_code == 422 and f'id="translation-{message.id}-body-error"' in missing.text
    same = post(client, url, {"language": "fi", "body": "Sama", "origin": "officer"})
    assert same.status_code == 422
    assert post(client, url, {"language": "ar", "body": "مرحبا بكم", "origin": "officer"}).status_code == 303
    (row,) = translations_of(db, message.id)
    assert (row.language, row.body, row.origin) == ("ar", "مرحبا بكم", TextOrigin.OFFICER)
    assert row.source_hash == content_hash(message.body) and row.translated_by_id == officer.id
    page = client.get(f"/officer/messages/{thread_id}").text
    assert "Translated by an officer" in page and "مرحبا بكم" in page
    # A second translation into the same language from a form that did not know of the first: 409.
    again = post(client, url, {"language": "ar", "body": "Toinen versio", "origin": "officer"})
    assert again.status_code == 409 and "Toinen versio" in again.text
    assert translations_of(db, message.id)[0].body == "مرحبا بكم"
    # The maker does not check their own translation; a colleague does.
    check = f"/officer/messages/{thread_id}/translations/{row.id}/check"
    own = post(client, check, {"version": str(row.version), "body": row.body})
    assert own.status_code == 409 and translations_of(db, message.id)[0].checked_at is None
    sign_in(client, colleague)
    assert post(client, check, {"version": str(row.version), "body": row.body}).status_code == 303
    (row,) = translations_of(db, message.id)
    assert row.checked_by_id == colleague.id and row.checked_at is not None
    assert row.origin == TextOrigin.OFFICER  # unchanged: checked, not corrected
    # A translation made from another text is flagged stale.
    row.source_hash = content_hash("an older text")
    db.commit()
    assert "Stale – translated from an older version" in client.get(f"/officer/messages/{thread_id}").text


# --- translation requests (service 15) ------------------------------------------------------------


def test_a_human_translation_request_goes_requested_translated_checked(
    client, officer, person, factory, municipality, db
):
    settings = settings_of(client)
    thread_id = start_thread(client, person)
    reply = client_replies(settings, person, thread_id, "شكرا، سأحضر.", "ar")
    # An interpreter of a service provider, booked for one of our appointments, can be asked by name.
    agency = factory.organisation("Tulkkauspalvelu Oy", OrganisationType.SERVICE_PROVIDER)
    interpreter = factory.staff(agency, Role.INTERPRETER)
    outsider = factory.staff(agency, Role.INTERPRETER)  # never booked: not offered, sees nothing
    db.add(
        Appointment(
            organisation_id=municipality.id,
            purpose=AppointmentPurpose.GUIDANCE,
            starts_at=datetime(2030, 1, 7, 9, tzinfo=UTC),
            ends_at=datetime(2030, 1, 7, 10, tzinfo=UTC),
            interpreter_id=interpreter.id,
            created_by_id=officer.id,
        )
    )
    db.commit()
    page = client.get(f"/officer/messages/{thread_id}").text
    assert interpreter.full_name in page and outsider.full_name not in page
    url = f"/officer/messages/{thread_id}/messages/{reply.id}/translation-requests"
    refused = post(client, url, {"language": "fi", "translator_id": str(outsider.id)})
    assert refused.status_code == 422
    assert post(client, url, {"language": "fi", "translator_id": str(interpreter.id)}).status_code == 303
    twice = post(client, url, {"language": "fi", "translator_id": ""})
    assert twice.status_code == 422 and "already been asked for" in twice.text
    request = db.scalar(select(TranslationRequest))
    assert (request.status, request.source_language, request.target_language) == (
        TranslationStatus.REQUESTED,
        "ar",
        "fi",
    )
    assert request.source_text == reply.body and request.source_hash == content_hash(reply.body)
    assert request.translator_id == interpreter.id and request.requested_by_id == officer.id

    # The interpreter has no register access, but sees the request assigned to them.
    sign_in(client, interpreter)
    assert client.get(f"/officer/messages/{thread_id}").status_code == 403
    listing = client.get("/officer/translation-requests")
    assert listing.status_code == 200 and f"/officer/translation-requests/{request.id}" in listing.text
    assert "Haddad" not in listing.text  # no client names for interpreters
    page = client.get(f"/officer/translation-requests/{request.id}")
    assert page.status_code == 200 and "شكرا، سأحضر." in page.text
    viewed = db.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "translation_request", AuditEvent.action == "view")
    )
    assert viewed.actor_id == interpreter.id and viewed.client_id == person.id
    empty = post(client, f"/officer/translation-requests/{request.id}", {"body": "", "version": "1"})
    assert empty.status_code == 422
    written = post(
        client,
        f"/officer/translation-requests/{request.id}",
        {"body": "Kiitos, tulen paikalle.", "version": str(request.version)},
    )
    assert written.status_code == 303
    db.refresh(request)
    assert request.status == TranslationStatus.TRANSLATED and request.translator_id == interpreter.id
    (row,) = translations_of(db, reply.id)
    assert (row.language, row.body, row.origin) == ("fi", "Kiitos, tulen paikalle.", TextOrigin.INTERPRETER)
    assert row.translated_by_id == interpreter.id and row.source_hash == content_hash(reply.body)
    # The interpreter cannot check their own work; checking needs the messaging permission.
    assert (
        post(client, f"/officer/translation-requests/{request.id}/check", {"version": "2"}).status_code == 403
    )
    # Another interpreter of the same agency never sees it.
    sign_in(client, outsider)
    assert client.get(f"/officer/translation-requests/{request.id}").status_code == 404
    assert (
        f"/officer/translation-requests/{request.id}" not in client.get("/officer/translation-requests").text
    )

    sign_in(client, officer)
    assert "Translated by an interpreter" in client.get(f"/officer/messages/{thread_id}").text
    checked = post(
        client,
        f"/officer/translation-requests/{request.id}/check",
        {"version": str(request.version), "checked_body": "Kiitos, tulen paikalle!"},
    )
    assert checked.status_code == 303
    db.refresh(request)
    assert request.status == TranslationStatus.CHECKED and request.checked_by_id == officer.id
    (row,) = translations_of(db, reply.id)
    assert row.body == "Kiitos, tulen paikalle!" and row.checked_by_id == officer.id
    assert row.origin == TextOrigin.INTERPRETER


def test_an_unassigned_request_is_open_to_the_organisations_own_interpreters(
    client, officer, person, factory, municipality, db
):
    thread_id = start_thread(client, person)
    (message,) = messages_in(db, thread_id)
    url = f"/officer/messages/{thread_id}/messages/{message.id}/translation-requests"
    assert post(client, url, {"language": "ar", "translator_id": ""}).status_code == 303
    request = db.scalar(select(TranslationRequest))
    own = factory.staff(municipality, Role.INTERPRETER)
    stranger = factory.staff(factory.organisation("Muu kunta"), Role.INTERPRETER)
    sign_in(client, stranger)
    assert client.get(f"/officer/translation-requests/{request.id}").status_code == 404
    sign_in(client, own)
    assert client.get(f"/officer/translation-requests/{request.id}").status_code == 200
    assert (
        post(
            client,
            f"/officer/translation-requests/{request.id}",
            {"body": "مرحبا", "version": str(request.version)},
        ).status_code
        == 303
    )
    db.refresh(request)
    assert request.translator_id == own.id  # taking it records the translator


# --- group messages and campaigns ---------------------------------------------------------------


def make_intake(db, organisation, staff) -> ProgrammePeriod:
    texts = {"name": "Yhteiskuntaorientaatio", "description": "", "eligibility": ""}
    service = ProgrammeService(
        organisation_id=organisation.id,
        service_type=ServiceType.CIVIC_ORIENTATION,
        provider_name="Opisto",
        source_language="fi",
        texts=[
            ProgrammeServiceText(
                language="fi", origin=TextOrigin.ORIGINAL, source_hash=content_hash(texts), **texts
            )
        ],
        languages=[],
        periods=[ProgrammePeriod(starts_on=date(2030, 2, 1), capacity=20)],
    )
    db.add(service)
    db.commit()
    return service.periods[0]


def join_intake(db, person, organisation, staff, period, status=PlanServiceStatus.REFERRED) -> None:
    plan = IntegrationPlan(
        client_id=person.id,
        organisation_id=organisation.id,
        number=1,
        officer_id=staff.id,
        starts_on=date(2030, 1, 1),
        ends_on=date(2030, 12, 31),
    )
    db.add(plan)
    db.flush()
    db.add(
        PlanService(
            plan_id=plan.id,
            position=1,
            kind=PlanServiceKind.PROGRAMME,
            programme_service_id=period.service_id,
            period_id=period.id,
            status=status,
        )
    )
    db.commit()


GROUP_TEXT = "Orientaatio alkaa maanantaina kello 9."


def test_a_group_message_to_an_intake_in_two_languages(client, officer, factory, municipality, db):
    period = make_intake(db, municipality, officer)
    arabic = factory.client(municipality, first_names="Arabia", mother_tongue="ar", email="a@example.fi")
    finnish = factory.client(municipality, first_names="Suomi", mother_tongue="fi")
    somali = factory.client(municipality, first_names="Somali", mother_tongue="so", email="s@example.fi")
    planned = factory.client(municipality, first_names="Vasta", mother_tongue="ar")
    ended = factory.client(municipality, first_names="Päättynyt", status=ClientStatus.ENDED)
    for p in (arabic, finnish, somali, ended):
        join_intake(
            db,
            p,
            municipality,
            officer,
            period,
            PlanServiceStatus.STARTED if p is finnish else PlanServiceStatus.REFERRED,
        )
    join_intake(db, planned, municipality, officer, period, PlanServiceStatus.PLANNED)
    # Another municipality's client, even if pointed at our intake, never gets it.
    elsewhere = factory.organisation("Muu kunta")
    stranger = factory.client(elsewhere, first_names="Muu", mother_tongue="ar")
    join_intake(db, stranger, elsewhere, factory.staff(elsewhere, Role.INTEGRATION_OFFICER), period)

    form = client.get("/officer/messages/groups/new")
    assert form.status_code == 200 and "Yhteiskuntaorientaatio" in form.text
    bad = post(client, "/officer/messages/groups", {"title": "Aloitus", "source_language": "fi", "body": GROUP_TEXT,
                                                    "recipients": "intake", "period_id": str(uuid.uuid4())})  # fmt: skip
    assert bad.status_code == 422 and 'id="period_id-error"' in bad.text and GROUP_TEXT in bad.text
    response = post(client, "/officer/messages/groups", {"title": "Aloitus", "source_language": "fi", "body": GROUP_TEXT,
                                                         "recipients": "intake", "period_id": str(period.id)})  # fmt: skip
    assert response.status_code == 303, response.text
    group = db.scalar(select(GroupMessage))
    assert group.kind == GroupKind.GROUP and group.criteria == {"period_id": str(period.id)}
    base = f"/officer/messages/groups/{group.id}"
    arabic_text = "يبدأ التوجيه يوم الاثنين الساعة 9."
    assert (
        post(
            client, f"{base}/texts/ar", {"body": arabic_text, "origin": "translator", "version": ""}
        ).status_code
        == 303
    )
    page = client.get(base).text
    assert "The message goes to 3 clients." in page
    assert "Send to 3 clients" in page
    # The preview count is what the officer confirms: another number is refused and nothing is sent.
    changed = post(client, f"{base}/send", {"expected": "4"})
    assert changed.status_code == 409 and db.scalar(select(func.count()).select_from(Thread)) == 0
    assert post(client, f"{base}/send", {"expected": "3"}).status_code == 303
    db.expire_all()
    group = db.get(GroupMessage, group.id)
    assert group.sent_at is not None and group.recipient_count == 3
    threads = {t.client_id: t for t in db.scalars(select(Thread))}
    assert set(threads) == {arabic.id, finnish.id, somali.id}
    assert {t.subject for t in threads.values()} == {"Aloitus"}
    for person in (arabic, finnish, somali):
        (message,) = messages_in(db, threads[person.id].id)
        # The source text is every message's original; nothing is lost.
        assert (message.language, message.body, message.group_message_id) == ("fi", GROUP_TEXT, group.id)
    (ar_message,) = messages_in(db, threads[arabic.id].id)
    (row,) = translations_of(db, ar_message.id)
    assert (row.language, row.body, row.origin) == ("ar", arabic_text, TextOrigin.TRANSLATOR)
    assert row.source_hash == content_hash(GROUP_TEXT)
    # No Somali (and no English) text: the Somali speaker gets the source text only.
    (so_message,) = messages_in(db, threads[somali.id].id)
    assert translations_of(db, so_message.id) == []
    (fi_message,) = messages_in(db, threads[finnish.id].id)
    assert translations_of(db, fi_message.id) == []
    # Each recipient notified and the sending audited per client.
    notified = {
        r.client_id
        for r in db.scalars(select(OutboxMessage).where(OutboxMessage.kind == NotificationKind.NEW_MESSAGE))
    }
    assert notified == {arabic.id, somali.id}  # the ones with a reachable channel (e-mail)
    audited = {
        e.client_id
        for e in db.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "message_thread", AuditEvent.action == "create"
            )
        )
    }
    assert audited == {arabic.id, finnish.id, somali.id}
    # Sent once.
    again = post(client, f"{base}/send", {"expected": "3"})
    assert again.status_code == 409 and db.scalar(select(func.count()).select_from(Thread)) == 3
    assert (
        post(client, f"{base}/texts/ar", {"body": "x", "origin": "officer", "version": "1"}).status_code
        == 403
    )


def test_english_is_the_fallback_when_the_recipients_language_has_no_text(
    client, officer, factory, municipality, db
):
    period = make_intake(db, municipality, officer)
    somali = factory.client(municipality, first_names="Somali", mother_tongue="so")
    join_intake(db, somali, municipality, officer, period)
    assert post(client, "/officer/messages/groups", {"title": "T", "source_language": "fi", "body": GROUP_TEXT,
                                                     "recipients": "intake", "period_id": str(period.id)}).status_code == 303  # fmt: skip
    group = db.scalar(select(GroupMessage))
    base = f"/officer/messages/groups/{group.id}"
    assert post(client, f"{base}/texts/en", {"body": "Orientation starts on Monday at 9.", "origin": "machine", "version": ""}).status_code == 303  # fmt: skip
    page = client.get(base).text
    assert "1 recipient gets it in English or the source language" in page
    assert post(client, f"{base}/send", {"expected": "1"}).status_code == 303
    (message,) = messages_in(db, db.scalar(select(Thread.id)))
    (row,) = translations_of(db, message.id)
    assert (row.language, row.origin, row.checked_at) == (
        "en",
        TextOrigin.MACHINE,
        None,
    )  # labelled as machine


def test_a_stale_translation_blocks_sending_until_updated(client, officer, factory, municipality, db):
    period = make_intake(db, municipality, officer)
    join_intake(db, factory.client(municipality, mother_tongue="ar"), municipality, officer, period)
    post(client, "/officer/messages/groups", {"title": "T", "source_language": "fi", "body": GROUP_TEXT,
                                              "recipients": "intake", "period_id": str(period.id)})  # fmt: skip
    group = db.scalar(select(GroupMessage))
    base = f"/officer/messages/groups/{group.id}"
    post(client, f"{base}/texts/ar", {"body": "نص", "origin": "officer", "version": ""})
    db.expire_all()
    group = db.get(GroupMessage, group.id)
    changed = post(client, base, {"title": "T", "body": GROUP_TEXT + " Tervetuloa!", "recipients": "intake",
                                  "period_id": str(period.id), "version": str(group.version)})  # fmt: skip
    assert changed.status_code == 303
    page = client.get(base).text
    assert "Stale – translated from an older version" in page
    refused = post(client, f"{base}/send", {"expected": "1"})
    assert refused.status_code == 409 and "older text" in refused.text
    assert db.scalar(select(func.count()).select_from(Thread)) == 0
    text = db.scalar(select(GroupMessageText).where(GroupMessageText.language == "ar"))
    assert post(client, f"{base}/texts/ar", {"body": "نص جديد", "origin": "officer", "version": str(text.version)}).status_code == 303  # fmt: skip
    assert post(client, f"{base}/send", {"expected": "1"}).status_code == 303


def test_a_campaign_targets_a_group_by_criteria(client, officer, factory, municipality, db):
    hit = factory.client(municipality, first_names="Osuu", mother_tongue="ar", municipality_of_residence="Kotokunta",
                         permit_type=PermitType.FAMILY)  # fmt: skip
    factory.client(
        municipality, first_names="Kieli", mother_tongue="fa", municipality_of_residence="Kotokunta"
    )
    factory.client(municipality, first_names="Kunta", mother_tongue="ar", municipality_of_residence="Naapuri")
    factory.client(municipality, first_names="Loppu", mother_tongue="ar", municipality_of_residence="kotokunta",
                   status=ClientStatus.ENDED)  # fmt: skip
    nothing = post(client, "/officer/messages/groups", {"title": "Kampanja", "source_language": "fi", "body": "Tule!",
                                                         "recipients": "criteria"})  # fmt: skip
    assert nothing.status_code == 422 and "at least one criterion" in nothing.text
    response = post(client, "/officer/messages/groups", {"title": "Kampanja", "source_language": "fi", "body": "Tule!",
                                                          "recipients": "criteria", "mother_tongue": "ar",
                                                          "municipality": "KOTOKUNTA"})  # fmt: skip
    assert response.status_code == 303
    group = db.scalar(select(GroupMessage))
    assert group.kind == GroupKind.CAMPAIGN
    assert group.criteria == {"mother_tongue": "ar", "municipality": "KOTOKUNTA"}
    page = client.get(f"/officer/messages/groups/{group.id}").text
    assert "The message goes to 1 client." in page and "Arabic" in page
    assert post(client, f"/officer/messages/groups/{group.id}/send", {"expected": "1"}).status_code == 303
    assert [t.client_id for t in db.scalars(select(Thread))] == [hit.id]


def test_hand_picked_recipients_are_the_officers_own_clients(
    client, officer, colleague, person, factory, municipality, db
):
    theirs = factory.client(municipality, first_names="Kollegan", responsible_officer_id=colleague.id)
    form = client.get("/officer/messages/groups/new").text
    assert "Haddad, Amal" in form and "Kollegan" not in form
    refused = post(client, "/officer/messages/groups", [("title", "T"), ("source_language", "fi"), ("body", "Hei"),
                                                        ("recipients", "chosen"), ("client_ids", str(theirs.id))])  # fmt: skip
    assert refused.status_code == 422 and 'id="client_ids-error"' in refused.text
    ok = post(client, "/officer/messages/groups", [("title", "T"), ("source_language", "fi"), ("body", "Hei"),
                                                   ("recipients", "chosen"), ("client_ids", str(person.id)),
                                                   ("client_ids", str(theirs.id))])  # fmt: skip
    assert ok.status_code == 303
    assert db.scalar(select(GroupMessage)).criteria == {"client_ids": [str(person.id)]}


# --- templates ------------------------------------------------------------------------------------


def test_templates_with_translations_stale_flags_and_insertion(client, officer, person, db):
    bad = post(
        client,
        "/officer/messages/templates",
        {"name": "", "source_language": "fi", "body": "Teksti", "active": "on"},
    )
    assert bad.status_code == 422 and "Teksti" in bad.text
    assert post(client, "/officer/messages/templates", {"name": "Ajanvaraus", "source_language": "fi",
                                                        "body": "Muista tuoda henkilöllisyystodistus.", "active": "on"}).status_code == 303  # fmt: skip
    template = db.scalar(select(MessageTemplate))
    base = f"/officer/messages/templates/{template.id}"
    assert post(client, f"{base}/texts/ar", {"body": "تذكر إحضار بطاقة الهوية.", "origin": "translator", "version": ""}).status_code == 303  # fmt: skip
    ar = db.scalar(select(MessageTemplateText).where(MessageTemplateText.language == "ar"))
    assert (
        ar.source_hash == content_hash("Muista tuoda henkilöllisyystodistus.")
        and ar.origin == TextOrigin.TRANSLATOR
    )
    page = client.get(base).text
    assert "Stale" not in page and "Translated by a translator" in page

    # Inserting the template into a new message fills the text in the message's language.
    inserted = post(client, f"/officer/clients/{person.id}/threads",
                    {"subject": "Aika", "body": "", "language": "fi", "template_choice": str(template.id), "action": "insert"})  # fmt: skip
    assert inserted.status_code == 200 and "Muista tuoda henkilöllisyystodistus." in inserted.text
    assert f'name="template_id" value="{template.id}"' in inserted.text
    assert inserted.headers["hx-push-url"] == "false"  # the address bar stays on the form
    assert db.scalar(select(func.count()).select_from(Thread)) == 0  # inserting sends nothing
    # Sent unchanged: the template's translation into the client's language goes with it, with its origin.
    thread_id = start_thread(client, person, subject="Aika", body="Muista tuoda henkilöllisyystodistus.",
                             template_id=str(template.id))  # fmt: skip
    (message,) = messages_in(db, thread_id)
    (row,) = translations_of(db, message.id)
    assert (row.language, row.body, row.origin) == ("ar", "تذكر إحضار بطاقة الهوية.", TextOrigin.TRANSLATOR)
    # Changed before sending: no translation is attached (it would not match).
    changed = start_thread(
        client, person, subject="Aika 2", body="Muista tuoda passi.", template_id=str(template.id)
    )
    assert translations_of(db, messages_in(db, changed)[0].id) == []

    # Changing the source text makes the translation stale, flagged on the list and the template page.
    db.expire_all()
    template = db.get(MessageTemplate, template.id)
    assert post(client, base, {"name": "Ajanvaraus", "body": "Muista tuoda passi.", "active": "on",
                               "version": str(template.version)}).status_code == 303  # fmt: skip
    assert "Stale – translated from an older version" in client.get(base).text
    assert "Stale translations: Arabic" in client.get("/officer/messages/templates").text
    stale_use = start_thread(
        client, person, subject="Aika 3", body="Muista tuoda passi.", template_id=str(template.id)
    )
    assert translations_of(db, messages_in(db, stale_use)[0].id) == []  # a stale translation is not sent
    # A stale edit of the template answers 409 and keeps the text.
    conflict = post(
        client, base, {"name": "Uusi nimi", "body": "Kirjoitettu", "active": "on", "version": "1"}
    )
    assert conflict.status_code == 409 and "Kirjoitettu" in conflict.text


# --- stakeholder e-mail ---------------------------------------------------------------------------


def test_stakeholder_email_is_queued_per_contact(client, officer, factory, db):
    provider = factory.organisation("Opisto Oy", OrganisationType.SERVICE_PROVIDER)
    bad = post(client, "/officer/messages/stakeholders/contacts", {"name": "Liisa", "email": "ei-osoite", "provider_id": str(provider.id), "active": "on"})  # fmt: skip
    assert bad.status_code == 422 and 'id="email-error"' in bad.text and "Liisa" in bad.text
    for name, email in (
        ("Liisa Opettaja", "liisa@opisto.example"),
        ("Pekka Rehtori", "pekka@opisto.example"),
    ):
        response = post(client, "/officer/messages/stakeholders/contacts",
                        {"name": name, "email": email, "provider_id": str(provider.id), "active": "on"})  # fmt: skip
        assert response.status_code == 303
    liisa, pekka = db.scalars(select(StakeholderContact).order_by(StakeholderContact.name)).all()
    nobody = post(
        client,
        "/officer/messages/stakeholders/messages",
        {"subject": "Kurssi", "body": "Tiedoksi", "locale": "fi"},
    )
    assert nobody.status_code == 422 and "Tiedoksi" in nobody.text
    sent = post(client, "/officer/messages/stakeholders/messages", [("subject", "Uusi ryhmä"), ("body", "Ryhmä alkaa 1.2."),
                                                                     ("locale", "sv"), ("contact_ids", str(liisa.id)),
                                                                     ("contact_ids", str(pekka.id))])  # fmt: skip
    assert sent.status_code == 303
    message = db.scalar(select(StakeholderMessage))
    assert (message.subject, message.body, message.sent_by_id) == (
        "Uusi ryhmä",
        "Ryhmä alkaa 1.2.",
        officer.id,
    )
    assert sorted(message.recipient_ids) == sorted([str(liisa.id), str(pekka.id)])
    rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.address)).all()
    assert [(r.kind, r.channel, r.address, r.locale, r.client_id) for r in rows] == [
        (NotificationKind.STAKEHOLDER, Channel.EMAIL, "liisa@opisto.example", "sv", None),
        (NotificationKind.STAKEHOLDER, Channel.EMAIL, "pekka@opisto.example", "sv", None),
    ]
    assert all(r.payload == {"stakeholder_message_id": str(message.id)} for r in rows)
    page = client.get(f"/officer/messages/stakeholders/messages/{message.id}")
    assert page.status_code == 200 and "liisa@opisto.example" in page.text and "Waiting" in page.text
    # A contact no longer in use cannot be chosen.
    edit = post(client, f"/officer/messages/stakeholders/contacts/{pekka.id}",
                {"name": pekka.name, "email": pekka.email, "provider_id": str(provider.id), "version": str(pekka.version)})  # fmt: skip
    assert edit.status_code == 303
    only_inactive = post(client, "/officer/messages/stakeholders/messages",
                         [("subject", "S"), ("body", "B"), ("locale", "fi"), ("contact_ids", str(pekka.id))])  # fmt: skip
    assert only_inactive.status_code == 422


# --- access ---------------------------------------------------------------------------------------


def other_organisations_objects(factory, db) -> dict[str, Any]:
    """Another municipality with one of everything."""
    other = factory.organisation("Naapurikunta")
    staff = factory.staff(other, Role.INTEGRATION_OFFICER)
    stranger = factory.client(other, first_names="Vieras", email="v@example.fi")
    thread = Thread(client_id=stranger.id, organisation_id=other.id, subject="Salainen")
    db.add(thread)
    db.flush()
    message = Message(thread_id=thread.id, author_kind=AuthorKind.CLIENT, language="ar", body="سر")
    db.add(message)
    db.flush()
    translation = MessageTranslation(message_id=message.id, language="fi", body="Salaisuus",
                                     origin=TextOrigin.MACHINE, source_hash=content_hash("سر"))  # fmt: skip
    template = MessageTemplate(organisation_id=other.id, name="Vieras pohja", source_language="fi",
                               texts=[MessageTemplateText(language="fi", body="x", origin=TextOrigin.ORIGINAL,
                                                          source_hash=content_hash("x"))])  # fmt: skip
    group = GroupMessage(organisation_id=other.id, kind=GroupKind.CAMPAIGN, title="Vieras kampanja",
                         criteria={"mother_tongue": "ar"}, source_language="fi", created_by_id=staff.id,
                         texts=[GroupMessageText(language="fi", body="y", origin=TextOrigin.ORIGINAL,
                                                 source_hash=content_hash("y"))])  # fmt: skip
    contact = StakeholderContact(
        organisation_id=other.id, name="Vieras yhteys", email="x@example.fi", provider_name="P"
    )
    stakeholder = StakeholderMessage(organisation_id=other.id, subject="Vieras viesti", body="z", sent_by_id=staff.id,
                                     recipient_ids=[])  # fmt: skip
    db.add_all([translation, template, group, contact, stakeholder])
    db.flush()
    request = TranslationRequest(organisation_id=other.id, message_id=message.id, source_language="ar",
                                 target_language="fi", source_text="سر", source_hash=content_hash("سر"),
                                 requested_by_id=staff.id)  # fmt: skip
    db.add(request)
    db.commit()
    return {"client": stranger, "thread": thread, "message": message, "translation": translation, "template": template,
            "group": group, "contact": contact, "stakeholder": stakeholder, "request": request}  # fmt: skip


def test_another_organisations_objects_answer_404_and_are_never_listed(client, officer, person, factory, db):
    o = other_organisations_objects(factory, db)
    t, m = o["thread"].id, o["message"].id
    gets = [
        f"/officer/messages/{t}",
        f"/officer/clients/{o['client'].id}/threads/new",
        f"/officer/translation-requests/{o['request'].id}",
        f"/officer/messages/templates/{o['template'].id}",
        f"/officer/messages/templates/{o['template'].id}/edit",
        f"/officer/messages/templates/{o['template'].id}/texts/ar",
        f"/officer/messages/templates/{o['template'].id}/texts?language=ar",
        f"/officer/messages/groups/{o['group'].id}",
        f"/officer/messages/groups/{o['group'].id}/edit",
        f"/officer/messages/groups/{o['group'].id}/texts/ar",
        f"/officer/messages/groups/{o['group'].id}/texts?language=ar",
        f"/officer/messages/stakeholders/contacts/{o['contact'].id}/edit",
        f"/officer/messages/stakeholders/messages/{o['stakeholder'].id}",
    ]
    for url in gets:
        assert client.get(url, follow_redirects=False).status_code == 404, url
    posts = [
        (f"/officer/messages/{t}", {"body": "Hei", "language": "fi"}),
        (f"/officer/clients/{o['client'].id}/threads", {"subject": "S", "body": "Hei", "language": "fi"}),
        (
            f"/officer/messages/{t}/messages/{m}/translations",
            {"language": "en", "body": "x", "origin": "officer"},
        ),
        (f"/officer/messages/{t}/translations/{o['translation'].id}/check", {"version": "1"}),
        (f"/officer/messages/{t}/messages/{m}/machine-translation", {"language": "en"}),
        (f"/officer/messages/{t}/messages/{m}/translation-requests", {"language": "en"}),
        (f"/officer/translation-requests/{o['request'].id}", {"body": "x", "version": "1"}),
        (f"/officer/translation-requests/{o['request'].id}/check", {"version": "1"}),
        (f"/officer/messages/templates/{o['template'].id}", {"name": "n", "body": "b", "version": "1"}),
        (f"/officer/messages/templates/{o['template'].id}/texts/ar", {"body": "b", "origin": "officer"}),
        (f"/officer/messages/templates/{o['template'].id}/texts/ar/delete", {}),
        (
            f"/officer/messages/groups/{o['group'].id}",
            {"title": "t", "body": "b", "recipients": "criteria", "segment": "1"},
        ),
        (f"/officer/messages/groups/{o['group'].id}/texts/ar", {"body": "b", "origin": "officer"}),
        (f"/officer/messages/groups/{o['group'].id}/texts/ar/delete", {}),
        (f"/officer/messages/groups/{o['group'].id}/send", {"expected": "0"}),
        (f"/officer/messages/groups/{o['group'].id}/delete", {}),
        (
            f"/officer/messages/stakeholders/contacts/{o['contact'].id}",
            {"name": "n", "email": "a@b.fi", "provider_name": "p"},
        ),
        (f"/officer/messages/stakeholders/contacts/{o['contact'].id}/delete", {}),
    ]
    for url, data in posts:
        assert post(client, url, data).status_code == 404, url
    # Their objects never appear in our lists; their contacts cannot be chosen as recipients.
    start_thread(client, person)
    for url in ("/officer/messages", "/officer/messages/groups", "/officer/messages/templates",
                "/officer/messages/stakeholders", "/officer/translation-requests"):  # fmt: skip
        page = client.get(url).text
        for secret in ("Salainen", "Vieras pohja", "Vieras kampanja", "Vieras yhteys", "Vieras viesti", "سر"):
            assert secret not in page, (url, secret)
    smuggled = post(client, "/officer/messages/stakeholders/messages",
                    [("subject", "S"), ("body", "B"), ("locale", "fi"), ("contact_ids", str(o["contact"].id))])  # fmt: skip
    assert smuggled.status_code == 422
    assert db.scalar(select(func.count()).select_from(StakeholderMessage)) == 1  # theirs only
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Message).where(Message.thread_id == t)) == 1


def test_a_manager_without_the_messaging_permission_gets_403(client, factory, municipality, person, db):
    manager = factory.staff(municipality, Role.MANAGER)
    sign_in(client, manager)
    for url in ("/officer/messages", "/officer/messages/groups", "/officer/messages/templates",
                "/officer/messages/stakeholders", f"/officer/clients/{person.id}/threads/new"):  # fmt: skip
        assert client.get(url).status_code == 403, url
    assert (
        post(
            client, f"/officer/clients/{person.id}/threads", {"subject": "S", "body": "B", "language": "fi"}
        ).status_code
        == 403
    )
    assert client.get("/officer/translation-requests").status_code == 403
    page = client.get(f"/officer/clients/{person.id}")
    assert page.status_code == 200 and 'id="messages-heading"' not in page.text
    assert client_section(client, person.id, "messages").status_code == 404


def test_the_client_page_lists_the_threads(client, officer, person, db):
    assert 'id="messages-heading"' in client.get(f"/officer/clients/{person.id}").text
    page = client_section(client, person.id, "messages").text
    assert "No messages with the client yet." in page
    assert f"/officer/clients/{person.id}/threads/new" in page
    thread_id = start_thread(client, person, subject="Kurssin alku")
    page = client_section(client, person.id, "messages").text
    assert f"/officer/messages/{thread_id}" in page and "Kurssin alku" in page
    assert client.get(f"/officer/clients/{person.id}/threads/new").status_code == 200


def test_the_recipient_language_rule():
    person = Client(preferred_locale=None, mother_tongue="ti")
    assert messaging.recipient_language(person, ["fi", "ar"], "fi") == "fi"  # no Tigrinya, no English: source
    assert messaging.recipient_language(person, ["fi", "en", "ar"], "fi") == "en"
    assert messaging.recipient_language(person, ["fi", "en", "ti"], "fi") == "ti"
    person.preferred_locale = "ar"
    assert (
        messaging.recipient_language(person, ["fi", "en", "ar", "ti"], "fi") == "ar"
    )  # the app's language first
