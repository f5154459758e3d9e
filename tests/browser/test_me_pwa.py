"""The migrant app as a PWA on a phone (360×740), in Chromium: read aloud (the phone's voice, else audio
from the server, else a plain message), the service worker's offline copies (only the signed-in client's
plan, appointments and messages; another client's go when someone else signs in; all go at sign-out),
installability, and Web Push from the settings page to a notification shown by the service worker.

Headless Chromium has no speech voices and cannot reach a real push service: the voice list is set by
an init script where a test needs it, and pushManager.subscribe() hands out a subscription of the local
push service (tests/push_service.py), which verifies VAPID and decrypts what the server sends. The
decrypted payload is then delivered to the service worker through the DevTools protocol.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.client import Client
from app.db.messaging import AuthorKind, Message, Thread
from app.db.organisation import Organisation, Role
from app.db.outbox import ContactPreference, NotificationKind, OutboxMessage, PushSubscription
from app.settings import Settings
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, PageProblems
from tests.browser.me_phone import PHONE, deliver_due, own_server, page_width, phone
from tests.conftest import Factory
from tests.push_service import PushService

pytestmark = pytest.mark.browser

ARABIC = "موعدك القادم يوم الاثنين في الساعة العاشرة صباحا."
SOMALI = "Ballanqaadkaaga xiga waa Isniinta saacadda tobnaad."
FINNISH = "Seuraava tapaaminen on maanantaina kello kymmenen."


@pytest.fixture(scope="module")
def live_server(database_url: str, settings: Settings) -> Iterator[LiveServer]:
    """This module's own server without the in-process outbox worker: a test runs the worker pass."""
    with own_server(database_url, settings, RUN_WORKER="0") as server:
        yield server


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService().start()
    yield service
    service.stop()


@pytest.fixture
def person(factory: Factory, db: Session) -> Client:
    organisation = factory.organisation("Kotokunta")
    record = factory.client(
        organisation, first_names="Amal", last_name="Haddad", mother_tongue="ar", preferred_locale="en"
    )
    db.add(ContactPreference(client_id=record.id, push=True, email=False, sms=False))
    db.commit()
    return record


def thread_with(
    db: Session, factory: Factory, person: Client, *bodies: tuple[str, str]
) -> tuple[Thread, list[Message]]:
    officer = factory.staff(_organisation(db, person), Role.INTEGRATION_OFFICER)
    now = utcnow()
    thread = Thread(
        client_id=person.id, organisation_id=person.organisation_id, subject="Ajanvaraus",
        last_message_at=now, staff_read_at=now, client_read_at=now,
    )  # fmt: skip
    db.add(thread)
    db.flush()
    messages = [
        Message(
            thread_id=thread.id,
            author_kind=AuthorKind.STAFF,
            author_staff_id=officer.id,
            language=language,
            body=body,
        )
        for language, body in bodies
    ]
    db.add_all(messages)
    db.commit()
    return thread, messages


def _organisation(db: Session, person: Client) -> Organisation:
    found = db.get(Organisation, person.organisation_id)
    assert found is not None
    return found


def listen_button(page: Page, message: Message) -> Any:
    return page.locator(f'button[data-listen="message-{message.id}-text"]')


def status_of(page: Page, message: Message) -> Any:
    return page.locator(f'button[data-listen="message-{message.id}-text"] + .listen-status')


NO_VOICES = "Object.defineProperty(speechSynthesis, 'getVoices', { value: () => [] });"


# --- read aloud -------------------------------------------------------------------------------------


def test_read_aloud_plays_server_audio_without_a_voice_and_says_plainly_when_there_is_none(
    browser: Browser, base_url: str, problems: PageProblems, factory: Factory, db: Session, person: Client
) -> None:
    thread, (arabic, somali) = thread_with(db, factory, person, ("ar", ARABIC), ("so", SOMALI))
    problems.allow_console_error(r"status of 404")  # the Somali answer, on purpose
    context = phone(browser, base_url, problems, factory.client_session(person))
    context.add_init_script(NO_VOICES)  # a phone without Arabic or Somali voices
    page = context.new_page()
    page.goto(f"/me/messages/{thread.id}")

    button = listen_button(page, arabic)
    expect(button).to_be_visible()  # me.js unhid it: it does something
    expect(button).to_have_attribute("data-lang", "ar")
    with page.expect_response(lambda r: r.url.endswith("/speech") and r.request.method == "POST") as answer:
        button.click()
    response = answer.value
    assert response.status == 200 and response.headers["content-type"] == "audio/wav"
    assert response.body()[:4] == b"RIFF"
    sent = json.loads(response.request.post_data or "{}")
    assert sent["lang"] == "ar" and sent["text"].startswith("موعدك") and sent["ui"] == "en"
    # Decoded and playing: the button now stops it; a second press stops and restores it.
    expect(button).to_have_attribute("data-state", "playing")
    expect(button).to_have_text("Stop")
    button.click()
    expect(button).to_have_attribute("data-state", "idle")
    expect(button).to_have_text("Listen")
    expect(status_of(page, arabic)).to_be_empty()

    somali_button = listen_button(page, somali)
    with page.expect_response(lambda r: r.url.endswith("/speech")) as answer:
        somali_button.click()
    assert answer.value.status == 404
    message = answer.value.json()["message"]
    status = status_of(page, somali)
    expect(status).to_have_text(message)  # "This text cannot be read aloud in this language."
    expect(status).to_have_attribute("role", "status")  # announced by screen readers
    expect(somali_button).to_have_attribute("data-state", "idle")
    assert page_width(page) <= 360


def test_read_aloud_uses_the_phones_voice_when_it_has_one(
    browser: Browser, base_url: str, problems: PageProblems, factory: Factory, db: Session, person: Client
) -> None:
    thread, (finnish,) = thread_with(db, factory, person, ("fi", FINNISH))
    context = phone(browser, base_url, problems, factory.client_session(person))
    # Voices arrive late (voiceschanged), as on real phones; speak() is recorded instead of heard.
    context.add_init_script(
        """
        (() => {
          const voices = [];
          Object.defineProperty(speechSynthesis, 'getVoices', { value: () => voices });
          setTimeout(() => {
            voices.push({ name: 'Satu', lang: 'fi-FI', localService: true, default: false, voiceURI: 'satu' });
            speechSynthesis.dispatchEvent(new Event('voiceschanged'));
          }, 300);
          window.__spoken = [];
          Object.defineProperty(speechSynthesis, 'speak', { value: (u) => { window.__spoken.push({ text: u.text, voice: u.voice && u.voice.name, lang: u.lang }); } });
          Object.defineProperty(speechSynthesis, 'cancel', { value: () => {} });
          window.SpeechSynthesisUtterance = function (text) { this.text = text; };
        })();
        """
    )
    page = context.new_page()
    page.goto(f"/me/messages/{thread.id}")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/speech") else None)
    listen_button(page, finnish).click()
    page.wait_for_function("() => window.__spoken.length > 0")
    spoken = page.evaluate("window.__spoken")
    assert " ".join(s["text"] for s in spoken) == FINNISH
    assert {s["voice"] for s in spoken} == {"Satu"} and {s["lang"] for s in spoken} == {"fi-FI"}
    expect(listen_button(page, finnish)).to_have_attribute("data-state", "playing")
    assert requests == []  # no audio from the server


# --- offline ----------------------------------------------------------------------------------------


def cache_names(page: Page) -> list[str]:
    return list(page.evaluate("caches.keys()"))


def saved_paths(page: Page) -> list[str]:
    return list(
        page.evaluate(
            """async () => {
              const out = [];
              for (const name of await caches.keys()) {
                if (!name.startsWith('kp-pages-')) continue;
                for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname);
              }
              return out.sort();
            }"""
        )
    )


def eventually(page: Page, predicate: str, timeout: float = 10.0) -> None:
    """Until the (async) function is true in the page: page.evaluate awaits its promise each time."""
    wait_for(page, lambda: bool(page.evaluate(predicate)), timeout)


def controlled(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def needs_cache_key(page: Page) -> None:
    """The page says whose offline copies the service worker may keep."""
    assert page.locator("[data-kp-cache-key]").count() == 1


def test_offline_reload_shows_the_saved_plan_and_an_unsaved_page_shows_the_offline_page(
    browser: Browser, base_url: str, problems: PageProblems, factory: Factory, person: Client
) -> None:
    problems.allow_console_error(r"ERR_INTERNET_DISCONNECTED")
    context = phone(browser, base_url, problems, factory.client_session(person))
    page = context.new_page()
    page.goto("/me/plan")
    needs_cache_key(page)
    controlled(page)
    page.reload()  # now through the worker, which keeps this copy
    heading = page.locator("main h1").inner_text()
    eventually(page, "() => caches.keys().then((names) => names.some((n) => n.startsWith('kp-pages-')))")
    page.goto("/me/settings")  # through the worker too: never kept
    page.goto("/me/data")
    assert saved_paths(page) == ["/me/plan"]

    context.set_offline(True)
    page.goto("/me/plan")
    expect(page.locator("main h1")).to_have_text(heading)
    notice = page.locator(".offline-copy")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("offline")

    # A link in the app (htmx boosts it: the worker answers that request too): not saved, so the
    # offline page, listing what can be read.
    page.locator(".me-nav a[href='/me/settings']").click()
    expect(page.locator("main h1")).to_have_text("You are offline")
    expect(page.locator("[data-offline-list] a")).to_have_count(1)
    page.goto("/me/settings")
    saved = page.locator("[data-offline-list] a")
    expect(saved).to_have_count(1)
    expect(saved).to_have_attribute("href", "/me/plan")
    expect(saved).to_have_text(heading)
    saved.click()
    expect(page.locator("main h1")).to_have_text(heading)
    context.set_offline(False)
    context.close()


def test_another_clients_copies_go_when_someone_else_signs_in_and_all_go_at_sign_out(
    browser: Browser, base_url: str, problems: PageProblems, factory: Factory, person: Client
) -> None:
    other = factory.client(
        _organisation(factory.db, person), first_names="Olli", last_name="Muu", preferred_locale="en"
    )
    context = phone(browser, base_url, problems, factory.client_session(person))
    page = context.new_page()
    page.goto("/me/")
    needs_cache_key(page)
    controlled(page)
    page.goto("/me/plan")
    page.goto("/me/appointments")
    eventually(
        page,
        "async () => { const n = await caches.keys(); const p = n.find((x) => x.startsWith('kp-pages-'));"
        " return Boolean(p) && (await (await caches.open(p)).keys()).length >= 2; }",
    )
    [first] = [n for n in cache_names(page) if n.startswith("kp-pages-")]

    # The same phone, another client signed in: Amal's copies are deleted, Olli's kept apart.
    context.add_cookies([{"name": "kp_me", "value": factory.client_session(other), "url": base_url}])
    page.goto("/me/plan")
    eventually(
        page,
        f"() => caches.keys().then((n) => !n.includes('{first}') && n.some((x) => x.startsWith('kp-pages-')))",
    )
    assert saved_paths(page) == ["/me/plan"]
    second = [n for n in cache_names(page) if n.startswith("kp-pages-")]
    assert second != [first] and len(second) == 1

    # Signing out (the settings page's form) deletes every saved page.
    page.goto("/me/settings")
    page.locator("#main form[action='/me/sign-out'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/me/sign-in"))
    eventually(page, "() => caches.keys().then((n) => !n.some((x) => x.startsWith('kp-pages-')))")
    context.close()


def test_the_app_is_installable_in_chromium(
    browser: Browser, base_url: str, problems: PageProblems, factory: Factory, person: Client, tmp_path: Any
) -> None:
    """Manifest (Arabic: right to left), icons and a service worker with a fetch handler. A profile on disk:
    Playwright's usual contexts are incognito, where Chromium never offers to install."""
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        base_url=base_url,
        viewport=PHONE,
    )
    try:
        context.add_cookies([{"name": "kp_me", "value": factory.client_session(person), "url": base_url}])
        page = context.pages[0] if context.pages else context.new_page()
        page.on("console", problems.on_console)
        page.goto("/me/?lang=ar")
        controlled(page)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [], manifest["errors"]
        parsed = json.loads(manifest["data"])
        assert parsed["lang"] == "ar" and parsed["dir"] == "rtl" and parsed["start_url"] == "/me/"
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], errors
    finally:
        context.close()


# --- push -------------------------------------------------------------------------------------------


def fake_push_manager(subscription: dict[str, Any]) -> str:
    """pushManager as the browser would have it after subscribing at the local push service."""
    return """
        (() => {
          const handed = HANDED;
          let current = null;
          const made = {
            endpoint: handed.endpoint, expirationTime: null,
            options: { userVisibleOnly: true, applicationServerKey: null },
            toJSON: () => ({ endpoint: handed.endpoint, expirationTime: null, keys: handed.keys }),
            unsubscribe: () => { current = null; return Promise.resolve(true); },
          };
          PushManager.prototype.subscribe = function (options) {
            const key = new Uint8Array(options.applicationServerKey);
            window.__kpSubscribed = {
              userVisibleOnly: options.userVisibleOnly,
              key: btoa(String.fromCharCode(...key)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, ''),
            };
            current = made;
            return Promise.resolve(made);
          };
          PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
        })();
        """.replace("HANDED", json.dumps(subscription))


def wait_for(page: Page, condition: Any, timeout: float = 10.0) -> None:
    """Poll with Playwright's own wait, so its events (DevTools ones included) keep arriving meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def queue_new_message(settings: Settings, person: Client) -> None:
    """What an officer's new message queues (app.domain.messaging._notify_new_message), off this thread."""
    import asyncio
    import threading

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.db.engine import make_engine
    from app.domain import outbox

    async def queue() -> None:
        engine = make_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                record = await session.get(Client, person.id)
                assert record is not None
                await outbox.notify_client(
                    session, record, NotificationKind.NEW_MESSAGE, {"thread_id": str(uuid.uuid4())}
                )
        finally:
            await engine.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(queue()))
    thread.start()
    thread.join(30)


def test_push_from_the_settings_page_to_a_notification(
    browser: Browser,
    base_url: str,
    problems: PageProblems,
    factory: Factory,
    db: Session,
    person: Client,
    push_service: PushService,
    settings: Settings,
) -> None:
    keys = push_service.subscribe(settings.vapid_public_key)
    handed = {"endpoint": keys.endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    context = phone(browser, base_url, problems, factory.client_session(person))
    context.grant_permissions(["notifications"], origin=base_url)
    context.add_init_script(fake_push_manager(handed))
    page = context.new_page()
    page.goto("/me/settings")
    section = page.locator("[data-push]")
    assert section.get_attribute("data-vapid-key") == settings.vapid_public_key
    turn_on = section.get_by_role("button", name="Turn on notifications")
    expect(turn_on).to_be_visible()
    expect(section.locator("[data-push-off]")).to_be_hidden()
    turn_on.click()
    expect(section.locator("[data-push-status]")).to_have_text("Notifications are now on.")
    subscribed = page.evaluate("window.__kpSubscribed")
    assert subscribed == {"userVisibleOnly": True, "key": settings.vapid_public_key}
    db.expire_all()
    [row] = db.scalars(select(PushSubscription)).all()
    assert (row.client_id, row.endpoint, row.p256dh, row.auth) == (
        person.id,
        keys.endpoint,
        keys.p256dh,
        keys.auth,
    )

    # A new message: one worker pass, and the push service decrypts a payload without personal data.
    queue_new_message(settings, person)
    counts = deliver_due(settings)
    assert counts.delivered == 1, counts
    assert push_service.rejected == []
    [received] = push_service.received
    assert received.ttl > 0 and received.payload["url"] == "/me/messages"
    text = json.dumps(received.payload, ensure_ascii=False)
    for personal in ("Amal", "Haddad", person.temporary_identifier or "-"):
        assert personal not in text

    # The browser's part: the service worker shows it (the payload delivered through DevTools).
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    wait_for(page, lambda: any(r["scopeURL"].endswith("/me/") and not r["isDeleted"] for r in registrations))
    registration = next(r for r in registrations if r["scopeURL"].endswith("/me/"))
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": base_url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(received.payload),
        },
    )
    eventually(
        page,
        "() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((n) => n.length > 0)",
    )
    shown = page.evaluate(
        "navigator.serviceWorker.ready.then((r) => r.getNotifications())"
        ".then((n) => n.map((x) => ({ title: x.title, body: x.body, url: x.data.url, tag: x.tag })))"
    )
    assert shown == [
        {"title": "Kotopolku", "body": received.payload["body"], "url": "/me/messages", "tag": "new_message"}
    ]

    # Turning off: the browser unsubscribes and the server forgets this browser.
    section.get_by_role("button", name="Turn off notifications").click()
    expect(section.locator("[data-push-status]")).to_have_text("Notifications are now off.")
    db.expire_all()
    assert db.scalars(select(PushSubscription)).all() == []
    expect(turn_on).to_be_visible()
    assert db.scalars(select(OutboxMessage)).all()  # (the delivered row stays as the record)
