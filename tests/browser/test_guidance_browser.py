"""The public guidance pages (service 21) on a cheap phone (360×740) in Chromium: an anonymous visitor in
Arabic (right to left) searches, opens an article, listens to it (audio from the server: headless
Chromium has no voices) and sends a question; the article read is kept for offline reading by the
guidance service worker; axe-core finds no WCAG 2.1 AA violation on the pages on the way."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from app.db.engine import make_engine
from app.db.knowledge import GuidanceQuestion
from app.domain.starter_articles import seed_starter_articles
from app.settings import Settings
from tests.browser.conftest import PageProblems, wait_for_htmx
from tests.browser.me_phone import page_width, phone
from tests.browser.test_accessibility import AXE, violations
from tests.browser.test_officer_flow import officer, sign_in_with_password
from tests.conftest import Factory

pytestmark = pytest.mark.browser

NO_VOICES = "Object.defineProperty(speechSynthesis, 'getVoices', { value: () => [] });"
QUESTION = "هل يمكنني الحصول على بطاقة ضريبية قبل أن أبدأ العمل؟"


def seed(settings: Settings) -> None:
    """The starter articles for the only municipality, off this thread (Playwright owns its event loop)."""
    failure: list[BaseException] = []

    async def work() -> None:
        engine = make_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                assert await seed_starter_articles(session, settings=settings) == 10
        finally:
            await engine.dispose()

    def run() -> None:
        try:
            asyncio.run(work())
        except BaseException as error:  # reported in the test's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if failure:
        raise failure[0]


@pytest.fixture
def articles(base_url: str, factory: Factory, settings: Settings) -> None:
    factory.organisation("Kotokunta")
    seed(settings)


def no_violations(page: Page) -> None:
    found = violations(page)
    assert not found, found


def eventually(page: Page, predicate: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out: {predicate}"
        page.wait_for_timeout(100)


def test_an_anonymous_visitor_in_arabic_searches_listens_and_asks(
    browser: Browser, base_url: str, problems: PageProblems, articles: None, db: Session
) -> None:
    # Without a voice on the phone, the audio comes from espeak-ng; should it fail, the message says so.
    problems.allow_console_error(r"status of (503|429)")
    context = phone(browser, base_url, problems, axe=True)
    context.add_init_script(NO_VOICES)
    page = context.new_page()

    page.goto("/?lang=ar")
    page.locator(
        "a[href='/guidance/']"
    ).click()  # a whole page load: the guidance pages' scripts come with it
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("main h1")).to_be_visible()
    no_violations(page)
    assert page_width(page) <= 360

    # Search with the keyboard: the words typed without vowel marks, Enter sends the form.
    search = page.locator("#q")
    search.focus()
    page.keyboard.type("البطاقة الضريبية")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/guidance/search\?q="))
    wait_for_htmx(page)
    first = page.locator(".search-results h3 a").first
    expect(first).to_have_attribute("href", "/guidance/articles/work-and-tax-card")
    expect(first).to_have_attribute("lang", "ar")
    expect(page.locator(".search-results mark").first).to_be_visible()
    no_violations(page)
    assert page_width(page) <= 360

    first.click()
    expect(page).to_have_url(re.compile(r"/guidance/articles/work-and-tax-card$"))
    article = page.locator("article.guidance-article")
    expect(article).to_have_attribute("dir", "rtl")
    expect(article).to_have_attribute("lang", "ar")
    expect(page.locator("#article-title")).to_have_text("العمل والبطاقة الضريبية")
    no_violations(page)
    assert page_width(page) <= 360

    # Listen: the same button and script as the migrant app; the text goes to POST /speech in Arabic.
    listen = page.locator('button[data-listen="article-text"]')
    expect(listen).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/speech") and r.request.method == "POST") as answer:
        listen.click()
    response = answer.value
    sent = json.loads(response.request.post_data or "{}")
    assert sent["lang"] == "ar" and sent["ui"] == "ar" and "OmaVero" in sent["text"]
    status = page.locator('button[data-listen="article-text"] + .listen-status')
    if response.status == 200:
        assert response.headers["content-type"] == "audio/wav"
        expect(listen).to_have_attribute("data-state", "playing")
        listen.click()
        expect(listen).to_have_attribute("data-state", "idle")
    else:  # no audio here: the visitor is told so, in words a screen reader announces
        expect(status).not_to_be_empty()
        expect(status).to_have_attribute("role", "status")

    # Ask: the question in Arabic, no e-mail address; the answer language is the page's.
    page.locator("#question").fill(QUESTION)
    expect(page.locator("#language")).to_have_value("ar")
    page.locator("form.ask-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/guidance/questions/sent$"))
    expect(page.locator("main h1")).to_be_visible()
    no_violations(page)
    db.expire_all()
    (question,) = db.scalars(select(GuidanceQuestion))
    assert question.text == QUESTION and question.language == "ar" and question.email is None
    assert question.topic is not None and question.topic.value == "work_taxes"
    context.close()


def test_an_article_read_once_can_be_read_offline(
    browser: Browser, base_url: str, problems: PageProblems, articles: None
) -> None:
    problems.allow_console_error(r"ERR_INTERNET_DISCONNECTED")
    context = phone(browser, base_url, problems)
    page = context.new_page()
    page.goto("/guidance/articles/kela-basics?lang=en")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()  # now through the worker, which keeps this copy
    heading = page.locator("main h1").inner_text()
    eventually(
        page,
        "async () => { const c = await caches.open('kp-guidance-pages');"
        " return (await c.keys()).some((r) => new URL(r.url).pathname === '/guidance/articles/kela-basics'); }",
    )
    page.goto("/guidance/search?q=kela")  # never kept
    names: Any = page.evaluate("caches.keys()")
    assert not any(name.startswith("kp-pages-") for name in names)  # nothing of the migrant app's

    context.set_offline(True)
    page.goto("/guidance/articles/kela-basics")
    expect(page.locator("main h1")).to_have_text(heading)
    expect(page.locator(".offline-copy")).to_be_visible()
    page.goto("/guidance/articles/finding-housing")  # not read before: the offline page lists what is
    saved = page.locator("[data-offline-list] a")
    expect(saved).to_have_count(1)
    expect(saved).to_have_attribute("href", "/guidance/articles/kela-basics")
    saved.click()
    expect(page.locator("main h1")).to_have_text(heading)
    context.set_offline(False)
    context.close()


def test_the_editors_pages_meet_wcag_21_aa(
    browser: Browser, base_url: str, problems: PageProblems, factory: Factory, settings: Settings, db: Session
) -> None:
    """An officer answers a visitor's question and looks at an article's languages and versions."""
    staff = officer(factory)  # of Kotokunta, the only municipality: its articles are the public ones
    seed(settings)
    db.add(
        GuidanceQuestion(
            organisation_id=staff.organisation_id, language="ar", text=QUESTION, email="kysyja@example.net"
        )
    )
    db.commit()
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.add_init_script(AXE)
    context.on("console", problems.on_console)
    page = context.new_page()
    sign_in_with_password(page, staff)
    found = {}
    page.goto("/officer/articles")
    found["list"] = violations(page)
    page.locator("a[href^='/officer/articles/']", has_text="Kela").first.click()
    expect(page.locator("#texts")).to_be_visible()
    found["article"] = violations(page)
    page.locator("a[href$='/texts/so']").first.click()
    expect(page.locator("#title")).to_have_value(re.compile("Kela"))
    found["translation"] = violations(page)
    page.goto("/officer/articles/questions")
    found["questions"] = violations(page)
    page.locator("table.questions a").first.click()
    page.locator("#answer").fill("مرحبا، يمكنك الحصول على البطاقة الضريبية من مصلحة الضرائب.")
    page.locator("form[action$='/answer'] button[type=submit]").click()
    expect(page.locator("#answer-heading")).to_be_visible()
    found["answered"] = violations(page)
    assert not any(found.values()), found
    db.expire_all()
    (question,) = db.scalars(select(GuidanceQuestion))
    assert question.email is None and question.answer_emailed
    context.close()
