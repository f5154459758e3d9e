"""Machine translation (service 15) against a LibreTranslate-compatible server on loopback: off by
default, labelled until a person checks it, and a failing server saves nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar import Litestar
from sqlalchemy import func, select

from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.messaging import MessageTranslation
from app.db.organisation import Role
from app.domain import machine_translation
from app.domain.translations import content_hash
from app.main import create_app
from app.settings import Settings
from tests import fake_libretranslate
from tests.conftest import BASE_URL, AppTestClient, post, sign_in
from tests.integration.test_messaging import client_replies, messages_in, start_thread, translations_of

API_KEY = "test-key"


@pytest.fixture
def server() -> Iterator[fake_libretranslate.FakeLibreTranslate]:
    with fake_libretranslate.serve(api_key=API_KEY) as running:
        yield running


@pytest.fixture
def app(settings: Settings, server) -> Litestar:
    """The app with machine translation configured to the loopback server."""
    return create_app(replace(settings, machine_translation_url=server.url, machine_translation_key=API_KEY))


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def municipality(factory):
    return factory.organisation("Kotokunta")


@pytest.fixture
def officer(client, factory, municipality):
    person = factory.staff(municipality, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


@pytest.fixture
def person(factory, municipality, officer):
    return factory.client(municipality, first_names="Amal", last_name="Haddad", mother_tongue="ar")


def machine(client, thread_id, message_id, language):
    return post(
        client,
        f"/officer/messages/{thread_id}/messages/{message_id}/machine-translation",
        {"language": language},
    )


def test_machine_translation_is_off_by_default(settings, factory, municipality, server, db):
    assert Settings().machine_translation_url is None
    assert machine_translation.provider(settings) is None
    with AppTestClient(create_app(settings), base_url=BASE_URL) as plain:
        plain.headers["Accept-Language"] = "en"
        officer = factory.staff(municipality, Role.INTEGRATION_OFFICER)
        sign_in(plain, officer)
        person = factory.client(municipality, mother_tongue="ar")
        thread_id = start_thread(plain, person)
        (message,) = messages_in(db, thread_id)
        page = plain.get(f"/officer/messages/{thread_id}")
        assert page.status_code == 200
        assert "machine-translation" not in page.text and "Machine-translate" not in page.text
        refused = machine(plain, thread_id, message.id, "ar")
        assert refused.status_code == 409 and "Machine translation is not in use." in refused.text
    assert translations_of(db, message.id) == []
    assert server.requests == []  # nothing went anywhere

    async def refuse() -> None:
        await machine_translation.translate_message(None, None, settings, None, message, "ar")  # type: ignore[arg-type]

    with pytest.raises(machine_translation.MachineTranslationOff):
        asyncio.run(refuse())


def test_a_thread_in_finnish_and_arabic_machine_translated_labelled_then_checked(
    client, officer, person, factory, municipality, server, db
):
    settings = client.app.state["settings"]
    thread_id = start_thread(client, person, body="Tervetuloa kurssille maanantaina.")
    reply = client_replies(settings, person, thread_id, "شكرا، سأحضر.", "ar")
    first = messages_in(db, thread_id)[0]
    page = client.get(f"/officer/messages/{thread_id}").text
    assert "Machine-translate" in page
    assert machine(client, thread_id, first.id, "ar").status_code == 303
    assert machine(client, thread_id, reply.id, "fi").status_code == 303
    # The server got the API's request: q, source, target, format text, and the key.
    translate_calls = [body for method, path, body in server.requests if path == "/translate"]
    assert translate_calls == [
        {
            "q": "Tervetuloa kurssille maanantaina.",
            "source": "fi",
            "target": "ar",
            "format": "text",
            "api_key": API_KEY,
        },
        {"q": "شكرا، سأحضر.", "source": "ar", "target": "fi", "format": "text", "api_key": API_KEY},
    ]
    (to_arabic,) = translations_of(db, first.id)
    assert (to_arabic.language, to_arabic.body, to_arabic.origin) == (
        "ar",
        "مرحبا بكم في الدورة يوم الاثنين.",
        TextOrigin.MACHINE,
    )
    assert to_arabic.checked_at is None and to_arabic.translated_by_id is None
    assert to_arabic.source_hash == content_hash(first.body)
    (to_finnish,) = translations_of(db, reply.id)
    assert to_finnish.body == "Kiitos, tulen paikalle."
    page = client.get(f"/officer/messages/{thread_id}").text
    assert page.count("Machine translation, not checked") == 2
    # Who asked is in the log (without the text).
    asked = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "message_translation")).all()
    assert len(asked) == 2 and all(e.actor_id == officer.id and e.client_id == person.id for e in asked)
    # Checked as it is: still machine-made, but no longer "not checked".
    url = f"/officer/messages/{thread_id}/translations/{to_finnish.id}/check"
    assert post(client, url, {"version": str(to_finnish.version), "body": to_finnish.body}).status_code == 303
    (to_finnish,) = translations_of(db, reply.id)
    assert to_finnish.origin == TextOrigin.MACHINE and to_finnish.checked_by_id == officer.id
    # Checked with a correction by a colleague: now the officer's translation.
    colleague = factory.staff(municipality, Role.INTEGRATION_OFFICER)
    sign_in(client, colleague)
    url = f"/officer/messages/{thread_id}/translations/{to_arabic.id}/check"
    corrected = "أهلا بكم في الدورة يوم الاثنين."
    assert post(client, url, {"version": str(to_arabic.version), "body": corrected}).status_code == 303
    (to_arabic,) = translations_of(db, first.id)
    assert (to_arabic.body, to_arabic.origin, to_arabic.translated_by_id) == (
        corrected,
        TextOrigin.OFFICER,
        colleague.id,
    )
    assert to_arabic.checked_by_id == colleague.id and to_arabic.checked_at is not None
    page = client.get(f"/officer/messages/{thread_id}").text
    assert "Machine translation, not checked" not in page
    assert "Machine translation, checked by a person" in page and "Translated by an officer" in page
    # A person's translation is never replaced by machine output.
    again = machine(client, thread_id, first.id, "ar")
    assert again.status_code == 422 and "by a person" in again.text
    assert translations_of(db, first.id)[0].body == corrected


@pytest.mark.parametrize("failure", ["error", "garbage", "empty", "slow"])
def test_a_failing_server_gives_a_clear_message_and_saves_nothing(
    client, officer, person, server, db, monkeypatch, failure
):
    monkeypatch.setattr(machine_translation, "TIMEOUT_SECONDS", 0.5)
    server.fail = failure
    server.delay = 1.5
    thread_id = start_thread(client, person)
    (message,) = messages_in(db, thread_id)
    response = machine(client, thread_id, message.id, "ar")
    assert response.status_code == 422
    assert "Nothing was saved" in response.text
    assert translations_of(db, message.id) == []
    assert db.scalar(select(func.count()).select_from(MessageTranslation)) == 0
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.object_type == "message_translation")
        )
        == 0
    )
    # The page still works and the server is asked again next time.
    server.fail = None
    assert machine(client, thread_id, message.id, "ar").status_code == 303
    assert translations_of(db, message.id)[0].origin == TextOrigin.MACHINE


def test_a_language_the_server_does_not_offer_is_refused(client, officer, person, server, db):
    thread_id = start_thread(client, person)
    (message,) = messages_in(db, thread_id)
    response = machine(client, thread_id, message.id, "ti")  # Tigrinya: not on this server
    assert response.status_code == 422 and "does not translate" in response.text
    assert translations_of(db, message.id) == []


def test_the_provider_speaks_the_libretranslate_api(server):
    async def talk() -> tuple[dict[str, set[str]], str]:
        provider = machine_translation.LibreTranslate(server.url, API_KEY, timeout=2)
        return await provider.languages(), await provider.translate("Hei", "fi", "en")

    languages, text = asyncio.run(talk())
    assert "ar" in languages["fi"] and "fi" not in languages["fi"]
    assert text == "[en] Hei"

    async def wrong_key() -> str:
        return await machine_translation.LibreTranslate(server.url, "wrong", timeout=2).translate(
            "Hei", "fi", "en"
        )

    with pytest.raises(machine_translation.MachineTranslationError):
        asyncio.run(wrong_key())
