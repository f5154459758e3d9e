"""Issue 5's message flow in real browsers, in Finnish and Arabic: an officer writes in Finnish to a
client who reads Arabic and has it machine-translated (a LibreTranslate-compatible server on loopback);
the client's phone (360×740, right to left) shows the Arabic text labelled as a machine translation with
the Finnish original one tap away; the client replies in Arabic; the officer marks the translation
checked, and the client's phone no longer shows the machine label."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import TextOrigin
from app.db.messaging import AuthorKind, Message, MessageTranslation, Thread
from app.db.organisation import Role, Staff
from app.settings import Settings
from tests import fake_libretranslate
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.me_phone import own_server, page_width, phone
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser

API_KEY = "browser-test-key"
FINNISH = "Tervetuloa kurssille maanantaina."
ARABIC = "مرحبا بكم في الدورة يوم الاثنين."  # what the fake server answers for FINNISH
REPLY = "شكرا، سأحضر."
THREAD_URL = re.compile(r"/officer/messages/([0-9a-f-]{36})$")


@pytest.fixture(scope="module")
def translator() -> Iterator[fake_libretranslate.FakeLibreTranslate]:
    with fake_libretranslate.serve(api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def live_server(
    database_url: str, settings: Settings, translator: fake_libretranslate.FakeLibreTranslate
) -> Iterator[LiveServer]:
    """This module's own app server, with machine translation configured to the loopback server (the
    shared live server has it off, as every installation does by default)."""
    env = {"MACHINE_TRANSLATION_URL": translator.url, "MACHINE_TRANSLATION_KEY": API_KEY, "RUN_WORKER": "0"}
    with own_server(database_url, settings, **env) as server:
        yield server


def sign_in_officer(page: Page, staff: Staff) -> None:
    page.goto("/officer/sign-in?lang=en")
    page.locator("#email").fill(staff.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/officer/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/officer/$"))


def test_a_thread_in_finnish_and_arabic_with_a_machine_translation_labelled_then_checked(
    browser: Browser,
    base_url: str,
    context: BrowserContext,
    page: Page,
    factory: Factory,
    db: Session,
    problems: PageProblems,
    translator: fake_libretranslate.FakeLibreTranslate,
) -> None:
    organisation = factory.organisation("Kotokunta")
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    person = factory.client(
        organisation, first_names="Amal", last_name="Haddad", mother_tongue="ar", preferred_locale="ar"
    )

    # --- the officer writes in Finnish and has it machine-translated into Arabic ---
    sign_in_officer(page, officer)
    page.goto(f"/officer/clients/{person.id}/threads/new")
    page.locator("#subject").fill("Kurssin alku")
    page.locator("#body").fill(FINNISH)
    expect(page.locator("#language")).to_have_value("fi")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page).to_have_url(THREAD_URL)
    match = THREAD_URL.search(page.url)
    assert match
    thread_id = match.group(1)
    [message] = db.scalars(select(Message).where(Message.thread_id == uuid.UUID(thread_id))).all()
    machine_form = page.locator(f"form[action$='/messages/{message.id}/machine-translation']")
    expect(machine_form.locator("select")).to_have_value("ar")  # the client's language
    machine_form.get_by_role("button", name="Machine-translate").click()
    translation = page.locator(f"#message-{message.id} .translation")
    expect(translation).to_contain_text(ARABIC)
    expect(translation).to_contain_text("Machine translation, not checked")
    assert any(r[1] == "/translate" and r[2]["target"] == "ar" for r in translator.requests)

    # --- the client's phone: Arabic, labelled, the Finnish original one tap away ---
    mobile = phone(browser, base_url, problems, factory.client_session(person))
    try:
        handset = mobile.new_page()
        handset.goto("/me/messages")
        expect(handset.locator("html")).to_have_attribute("dir", "rtl")
        row = handset.locator("li.me-thread", has=handset.locator(f"a[href='/me/messages/{thread_id}']"))
        expect(row.locator(".unread-tag")).to_be_visible()
        row.get_by_role("link").click()
        expect(handset).to_have_url(re.compile(f"/me/messages/{thread_id}$"))
        shown = handset.locator(f"#message-{message.id}-text")
        expect(shown).to_have_text(ARABIC)
        expect(shown).to_have_attribute("lang", "ar")
        item = handset.locator(f"#message-{message.id}")
        expect(item.locator(".flag-machine")).to_be_visible()
        original = handset.locator(f"#message-{message.id}-original")
        expect(original).to_be_hidden()
        item.locator("details.me-original > summary").click()  # one tap
        expect(original).to_be_visible()
        expect(original).to_have_text(FINNISH)
        expect(original).to_have_attribute("lang", "fi")
        assert page_width(handset) <= 360

        # The client replies in Arabic (the interface language is the default).
        expect(handset.locator("#reply-language")).to_have_value("ar")
        handset.locator("#reply-body").fill(REPLY)
        handset.locator("#reply button[type=submit]").click()
        expect(handset).to_have_url(re.compile(f"/me/messages/{thread_id}(#message-[0-9a-f-]+)?$"))
        mine = handset.locator("li.message.from-client .message-body")
        expect(mine).to_have_text(REPLY)
        expect(mine).to_have_attribute("lang", "ar")

        # --- the officer sees the reply and checks the machine translation ---
        page.reload()
        expect(page.locator("li.message.from-client")).to_contain_text(REPLY)
        translation.locator("summary", has_text="Check the machine translation").click()
        translation.get_by_role("button", name="Mark as checked").click()
        expect(page.locator(f"#message-{message.id} .translation")).to_contain_text(
            "Machine translation, checked by a person"
        )

        # --- the client's phone: the same Arabic text, no machine label any more ---
        handset.reload()
        expect(handset.locator(f"#message-{message.id}-text")).to_have_text(ARABIC)
        expect(handset.locator(f"#message-{message.id} .flag-machine")).to_have_count(0)
        expect(handset.locator(f"#message-{message.id} details.me-original")).to_have_count(1)
    finally:
        mobile.close()

    db.expire_all()
    [row_t] = db.scalars(select(MessageTranslation).where(MessageTranslation.message_id == message.id)).all()
    assert row_t.origin == TextOrigin.MACHINE and row_t.checked_by_id == officer.id
    reply = db.scalar(
        select(Message).where(
            Message.thread_id == message.thread_id, Message.author_kind == AuthorKind.CLIENT
        )
    )
    assert reply is not None and reply.language == "ar" and reply.body == REPLY
    thread = db.get(Thread, message.thread_id)
    assert thread is not None and thread.client_read_at is not None
