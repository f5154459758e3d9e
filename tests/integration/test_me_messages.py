"""The migrant app's messages (/me/messages): threads with an unread marker in a constant number of
queries, each message in the client's language with the original one tap away (machine translations
labelled until checked, stale ones noted, "not yet translated" otherwise), opening marks the thread
read, replies (422 keeps the text; POST/redirect/GET), and another client's thread answering 404."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.base import TextOrigin, utcnow
from app.db.client import Client, ClientLanguage, LanguageLevel
from app.db.messaging import AuthorKind, Message, MessageTranslation, Thread
from app.db.organisation import Organisation, Role, Staff
from app.domain.translations import content_hash
from tests.conftest import Factory, post, sign_in_client

FINNISH = "Tervetuloa kurssille maanantaina."
ARABIC = "مرحبا بكم في الدورة يوم الاثنين."


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory: Factory) -> Organisation:
    return factory.organisation("Kotokunta")


@pytest.fixture
def officer(factory: Factory, home: Organisation) -> Staff:
    return factory.staff(home, Role.INTEGRATION_OFFICER)


@pytest.fixture
def amal(factory: Factory, home: Organisation) -> Client:
    """Reads the app in English and Arabic (her mother tongue)."""
    return factory.client(
        home, first_names="Amal", last_name="Haddad", mother_tongue="ar", preferred_locale="en"
    )


@pytest.fixture
def me(client, factory: Factory, amal: Client) -> Client:
    sign_in_client(client, factory, amal)
    return amal


def thread_with(
    db: Session,
    person: Client,
    officer: Staff,
    subject: str = "Kurssin alku",
    body: str = FINNISH,
    language: str = "fi",
    translations: list[dict[str, Any]] | None = None,
    at: Any = None,
    read: bool = False,
) -> tuple[Thread, Message]:
    at = at or utcnow()
    thread = Thread(
        client_id=person.id,
        organisation_id=person.organisation_id,
        subject=subject,
        last_message_at=at,
        staff_read_at=at,
        client_read_at=at if read else None,
    )
    db.add(thread)
    db.flush()
    message = Message(
        thread_id=thread.id,
        author_kind=AuthorKind.STAFF,
        author_staff_id=officer.id,
        language=language,
        body=body,
        created_at=at,
        translations=[
            MessageTranslation(**{"origin": TextOrigin.MACHINE, "source_hash": content_hash(body), **t})
            for t in translations or []
        ],
    )
    db.add(message)
    db.commit()
    return thread, message


def main_of(html: str) -> str:
    match = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert match
    return match.group(1)


def article(html: str, message: Message) -> str:
    match = re.search(rf'<li[^>]*id="message-{message.id}">(.*?)</li>', html, re.S)
    assert match, f"message {message.id} not on the page"
    return match.group(1)


def events(db: Session, person: Client) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.client_id == person.id, AuditEvent.object_type.in_(("message_thread", "message"))
            )
            .order_by(AuditEvent.at)
        )
    )


# --- threads ---------------------------------------------------------------------------------------


def test_the_threads_with_subject_time_and_unread_marker(client, db, me, officer, home, factory):
    new, _m = thread_with(db, me, officer, subject="Kurssin alku")
    old, _m = thread_with(db, me, officer, subject="Asunto", at=utcnow() - timedelta(days=2), read=True)
    other = factory.client(home, first_names="Other")
    theirs, _m = thread_with(db, other, officer, subject="Toisen asia")
    page = main_of(client.get("/me/messages").text)
    assert page.index("Kurssin alku") < page.index("Asunto")  # newest first
    assert "Toisen asia" not in page and str(theirs.id) not in page
    new_row = re.search(rf'<li class="me-thread is-unread">\s*<a href="/me/messages/{new.id}">', page)
    assert new_row and page.count("unread-tag") == 1
    assert f'<li class="me-thread">\n    <a href="/me/messages/{old.id}">' in page
    assert "1 message" in page and "Last message" in page
    [view] = events(db, me)
    assert view.action == "view" and view.actor_kind == "client" and view.actor_id == me.id


def test_the_list_takes_the_same_number_of_queries_for_any_number_of_threads(client, db, me, officer):
    engine = client.app.state["alchemy"].engine_instance.sync_engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/me/messages").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    for i in range(2):
        thread_with(db, me, officer, subject=f"S{i}")
    few = queries()
    for i in range(8):
        thread_with(db, me, officer, subject=f"T{i}", read=bool(i % 2))
    assert queries() == few


def test_no_threads_yet(client, me):
    assert "You have no messages yet." in client.get("/me/messages").text


# --- a thread in the client's language -------------------------------------------------------------


def test_a_machine_translation_is_labelled_with_the_original_one_tap_away(client, db, me, officer):
    thread, message = thread_with(db, me, officer, translations=[{"language": "ar", "body": ARABIC}])
    page = main_of(client.get(f"/me/messages/{thread.id}").text)
    shown = article(page, message)
    assert f'id="message-{message.id}-text" lang="ar" dir="auto">{ARABIC}</div>' in shown
    assert "Machine translation" in shown and "It may have mistakes." in shown
    assert "<summary>Show the original</summary>" in shown
    assert f'id="message-{message.id}-original" lang="fi" dir="auto">{FINNISH}</div>' in shown
    assert shown.index(ARABIC) < shown.index("<details")  # the client's language first
    assert f'data-listen="message-{message.id}-text" data-lang="ar"' in shown
    assert f'data-listen="message-{message.id}-original" data-lang="fi"' in shown
    assert "Not yet translated" not in shown

    # A person checks it: no machine label any more.
    db.expire_all()
    row = db.scalar(select(MessageTranslation).where(MessageTranslation.message_id == message.id))
    assert row is not None
    row.checked_at = utcnow()
    row.checked_by_id = officer.id
    db.commit()
    shown = article(main_of(client.get(f"/me/messages/{thread.id}").text), message)
    assert "Machine translation" not in shown and "Translated from Finnish" in shown
    assert ARABIC in shown and FINNISH in shown


def test_the_interface_language_comes_first(client, db, me, officer):
    thread, message = thread_with(
        db,
        me,
        officer,
        translations=[
            {"language": "ar", "body": ARABIC},
            {"language": "en", "body": "Welcome to the course on Monday.", "origin": TextOrigin.OFFICER},
        ],
    )
    shown = article(client.get(f"/me/messages/{thread.id}").text, message)
    assert 'lang="en" dir="auto">Welcome to the course on Monday.</div>' in shown
    assert "Machine translation" not in shown and "Translated from Finnish" in shown
    assert ARABIC not in shown  # the original is Finnish; Arabic is another translation


def test_a_stale_translation_is_noted(client, db, me, officer):
    thread, message = thread_with(
        db,
        me,
        officer,
        translations=[{"language": "ar", "body": ARABIC, "source_hash": content_hash("older")}],
    )
    shown = article(client.get(f"/me/messages/{thread.id}").text, message)
    assert "This translation was made from an earlier text." in shown and ARABIC in shown


def test_without_a_translation_the_original_says_not_yet_translated(client, db, me, officer):
    thread, message = thread_with(db, me, officer)
    shown = article(client.get(f"/me/messages/{thread.id}").text, message)
    assert "Not yet translated" in shown and "This message is in Finnish." in shown
    assert f'lang="fi" dir="auto">{FINNISH}</div>' in shown
    assert "<details" not in shown
    assert 'data-lang="fi"' in shown


def test_a_message_in_a_language_the_client_reads_needs_nothing(client, db, me, officer, factory):
    thread, message = thread_with(db, me, officer, body="Welcome!", language="en")
    shown = article(client.get(f"/me/messages/{thread.id}").text, message)
    assert "Not yet translated" not in shown and "Machine translation" not in shown
    assert 'lang="en" dir="auto">Welcome!</div>' in shown
    # Another language the client knows well enough (B1 or better) counts too.
    db.add(ClientLanguage(client_id=me.id, language="fi", level=LanguageLevel.B1))
    db.commit()
    thread, message = thread_with(db, me, officer)
    shown = article(client.get(f"/me/messages/{thread.id}").text, message)
    assert "Not yet translated" not in shown and FINNISH in shown


def test_the_page_is_in_arabic_for_an_arabic_client(client, db, factory, home, officer):
    person = factory.client(home, preferred_locale="ar", mother_tongue="ar")
    sign_in_client(client, factory, person)
    thread, message = thread_with(db, person, officer, translations=[{"language": "ar", "body": ARABIC}])
    page = client.get(f"/me/messages/{thread.id}").text
    assert '<html lang="ar" dir="rtl">' in page
    assert f'lang="ar" dir="auto">{ARABIC}</div>' in article(page, message)


def test_opening_marks_the_thread_read(client, db, me, officer):
    thread, message = thread_with(db, me, officer)
    page = client.get(f"/me/messages/{thread.id}").text
    assert "unread-tag" in article(page, message)  # new until this visit
    db.expire_all()
    stored = db.get(Thread, thread.id)
    assert stored is not None and stored.client_read_at == message.created_at
    assert "unread-tag" not in client.get("/me/messages").text
    assert "unread-tag" not in article(client.get(f"/me/messages/{thread.id}").text, message)
    opened = [e for e in events(db, me) if e.object_id == str(thread.id)]
    assert opened and all(e.action == "view" and e.actor_kind == "client" for e in opened)


# --- replies ---------------------------------------------------------------------------------------


def test_a_reply_is_stored_in_the_chosen_language_and_redirects_back(client, db, me, officer):
    thread, _message = thread_with(db, me, officer)
    form = client.get(f"/me/messages/{thread.id}").text
    assert re.search(r'<option value="en" lang="en" selected>', form)  # the interface language
    assert '<option value="ar" lang="ar">العربية</option>' in form
    response = post(client, f"/me/messages/{thread.id}/reply", {"body": "شكرا، سأحضر.", "language": "ar"})
    assert response.status_code == 303
    db.expire_all()
    mine = db.scalar(
        select(Message).where(Message.thread_id == thread.id, Message.author_kind == AuthorKind.CLIENT)
    )
    assert mine is not None and mine.language == "ar" and mine.body == "شكرا، سأحضر."
    assert response.headers["location"] == f"/me/messages/{thread.id}#message-{mine.id}"
    shown = article(client.get(f"/me/messages/{thread.id}").text, mine)
    assert "You" in shown and 'lang="ar"' in shown and "Not yet translated" not in shown
    assert any(e.action == "create" and e.object_id == str(mine.id) for e in events(db, me))


def test_bad_replies_keep_the_text(client, db, me, officer):
    thread, _message = thread_with(db, me, officer)
    url = f"/me/messages/{thread.id}/reply"
    empty = post(client, url, {"body": "   ", "language": "en"})
    assert empty.status_code == 422 and "Write the message." in empty.text
    assert 'href="#reply-body"' in empty.text
    long_text = "A long story. " * 800
    too_long = post(client, url, {"body": long_text, "language": "en"})
    assert too_long.status_code == 422 and "at most 10000 characters" in too_long.text
    assert long_text.strip() in too_long.text
    odd = post(client, url, {"body": "Hello", "language": "xx"})
    assert (
        odd.status_code == 422
        and "Choose one of the options." in odd.text
        and ">Hello</textarea>" in odd.text
    )
    db.expire_all()
    assert db.scalar(select(Message).where(Message.author_kind == AuthorKind.CLIENT)) is None


def test_another_clients_thread_is_404(client, db, me, officer, home, factory):
    other = factory.client(home, first_names="Other")
    theirs, _message = thread_with(db, other, officer, subject="Toisen asia")
    response = client.get(f"/me/messages/{theirs.id}")
    assert response.status_code == 404 and "Toisen asia" not in response.text and FINNISH not in response.text
    assert (
        post(client, f"/me/messages/{theirs.id}/reply", {"body": "Hi", "language": "en"}).status_code == 404
    )
    assert client.get(f"/me/messages/{uuid.uuid4()}").status_code == 404
    assert client.get("/me/messages/not-a-uuid").status_code == 404
    db.expire_all()
    stored = db.get(Thread, theirs.id)
    assert stored is not None and stored.client_read_at is None
    assert db.scalar(select(Message).where(Message.author_kind == AuthorKind.CLIENT)) is None
    assert events(db, other) == []


def test_signed_out_goes_to_sign_in(client, db, amal, officer):
    thread, _message = thread_with(db, amal, officer)
    for url in ("/me/messages", f"/me/messages/{thread.id}"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code in (302, 303) and response.headers["location"] == "/me/sign-in"
    # A reply without a session is not saved; the text comes back (see the tests below).
    response = post(client, f"/me/messages/{thread.id}/reply", {"body": "Tämä ei lähde", "language": "en"})
    assert response.status_code == 401 and "Tämä ei lähde" in response.text
    assert db.scalar(select(Message.id).where(Message.body == "Tämä ei lähde")) is None


# --- nothing the client wrote is lost --------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain form", "boosted form"])
def test_a_reply_sent_after_the_relationship_ended_comes_back_to_copy(client, db, me, officer, htmx):
    """The officer ends the relationship while the client types: the session ends, nothing is saved,
    and the page gives the typed text back instead of a bare redirect to sign-in."""
    thread, _ = thread_with(db, me, officer)
    db.execute(Client.__table__.update().where(Client.id == me.id).values(status="ended"))
    db.commit()
    typed = "Kiitos, tulen maanantaina. Voinko tuoda lapseni mukaan?"
    headers = {"HX-Request": "true"} if htmx else {}
    response = post(client, f"/me/messages/{thread.id}/reply", {"body": typed}, headers=headers)
    assert response.status_code == (200 if htmx else 401)
    assert "Not sent" in response.text
    assert typed in response.text
    db.expire_all()
    assert db.scalar(select(Message.id).where(Message.body == typed)) is None


def test_without_typed_text_the_app_still_goes_to_sign_in(client, db, me, officer):
    db.execute(Client.__table__.update().where(Client.id == me.id).values(status="ended"))
    db.commit()
    response = client.get("/me/messages", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/me/sign-in"
