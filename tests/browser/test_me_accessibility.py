"""Every page of the migrant app on a 360×740 phone, in Finnish and in right-to-left Arabic: axe-core
(WCAG 2.1 A/AA) finds nothing, nothing scrolls sideways, <html lang dir> is right, every button has an
accessible name, the keyboard reaches the main navigation, and the console stays clean.

The pages come from the app's routes (scripts/ui_pages.py), so a new /me/ page is checked without being
listed here; its path parameters are filled with the ids of one client that has everything the pages
show (scripts/me_sample.py: a plan with goals and services and a version waiting for approval, an
upcoming and a past appointment, a thread with messages, a passkey, an invitation). The data is built
once per module and the pages share two browser contexts (signed in, and a visitor who opened the
invitation link), so the module stays fast; `make audit-ui` measures the same pages' weight and
Lighthouse scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db.organisation import Role
from app.settings import Settings
from scripts import me_sample
from scripts.ui_pages import UiPage, me_pages
from tests.browser import me_phone
from tests.browser.conftest import LiveServer, PageProblems, wait_for_htmx
from tests.browser.test_accessibility import violations
from tests.conftest import Factory, empty_database

pytestmark = pytest.mark.browser

LANGUAGES = {"fi": "ltr", "ar": "rtl"}
PAGES = me_pages()
# The app's own navigation on signed-in pages; a visitor's pages have only the language choice.
MAIN_NAVIGATION = {True: "nav.me-nav", False: "nav.languages"}
TAB_LIMIT = 12


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Replaces tests/conftest.py's per-test emptying: this module's data is built once (me_data)."""


@pytest.fixture(scope="module")
def me_data(engine: Engine, settings: Settings) -> me_sample.MeSample:
    """One Arabic-speaking client with a plan, appointments, messages, a passkey and an invitation."""
    empty_database(engine)
    with Session(engine, expire_on_commit=False) as db:
        factory = Factory(db, settings)
        organisation = factory.organisation("Kotokunta")
        officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
        client = factory.client(
            organisation,
            first_names="Fatima",
            last_name="Haddad",
            native_name="فاطمة حداد",
            date_of_birth=date(1990, 1, 2),
            mother_tongue="ar",
            interpreter_needed=True,
            interpreter_language="ar",
            phone="+358401234567",
            street_address="Koulukatu 3 A 4",
            postal_code="00100",
            post_office="Kotokunta",
            responsible_officer_id=officer.id,
        )
        sample = me_sample.build(db, client, officer, settings.client_session_days)
        db.commit()
    return sample


@dataclass
class Tab:
    page: Page
    problems: PageProblems


def _tab(browser: Browser, live_server: LiveServer) -> Iterator[Tab]:
    problems = PageProblems()
    context = me_phone.phone(browser, live_server.url, problems, axe=True)
    yield Tab(context.new_page(), problems)
    context.close()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, live_server: LiveServer, me_data: me_sample.MeSample) -> Iterator[Tab]:
    for tab in _tab(browser, live_server):
        tab.page.context.add_cookies(
            [{"name": "kp_me", "value": me_data.session_token, "url": live_server.url}]
        )
        yield tab


@pytest.fixture(scope="module")
def visitor(browser: Browser, live_server: LiveServer, me_data: me_sample.MeSample) -> Iterator[Tab]:
    """Not signed in; has opened the invitation link (the QR code), so the enrolment pages show."""
    for tab in _tab(browser, live_server):
        joins = [p for p in PAGES if not p.signed_in and "token" in p.parameters]
        for join in joins:
            tab.page.goto(join.url(me_data.values()))
        yield tab


def _with_lang(url: str, lang: str) -> str:
    return url + ("&" if "?" in url else "?") + f"lang={lang}"


def _nameless_buttons(page: Page) -> list[str]:
    """Buttons in the accessibility tree (what a screen reader gets) without a name."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes: list[dict[str, Any]] = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    nameless = []
    for node in nodes:
        if node.get("ignored") or node.get("role", {}).get("value") != "button":
            continue
        if not str(node.get("name", {}).get("value", "")).strip():
            nameless.append(f"backend node {node.get('backendDOMNodeId')}")
    if not nameless:
        return []
    # Name them by their HTML for the failure message.
    return (
        page.evaluate(
            """() => [...document.querySelectorAll('button, [role=button], input[type=submit], input[type=button]')]
                .filter((b) => b.offsetParent !== null && !(b.innerText || b.value || b.getAttribute('aria-label')
                                                        || b.getAttribute('aria-labelledby') || b.title || '').trim())
                .map((b) => b.outerHTML.slice(0, 160))"""
        )
        or nameless
    )


def _tab_reaches(page: Page, selector: str) -> bool:
    """From the top of a freshly loaded page, does Tab reach a link or button inside `selector`?"""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    for _ in range(TAB_LIMIT):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!(document.activeElement && document.activeElement.closest(s))", selector):
            return True
    return False


def _fresh(tab: Tab, live_server: LiveServer) -> Page:
    if live_server.process.poll() is not None:
        pytest.fail(f"the app server has exited:\n{live_server.log()}")
    tab.problems.console_errors.clear()
    tab.problems.page_errors.clear()
    tab.problems.csp_violations.clear()
    tab.problems.allowed.clear()
    return tab.page


def _phone_problems(tab: Tab, lang: str, signed_in: bool) -> dict[str, Any]:
    """What is wrong with the page on a 360 px phone in `lang`; empty when nothing is."""
    page = tab.page
    found: dict[str, Any] = {}
    html = page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]")
    if html != [lang, LANGUAGES[lang]]:
        found["<html lang dir>"] = html
    if axe := violations(page):
        found["axe"] = axe
    width = page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    if width > me_phone.PHONE["width"]:
        wide = page.evaluate(
            """(limit) => [...document.querySelectorAll('body *')]
                .filter((e) => { const r = e.getBoundingClientRect(); return r.right > limit + 0.5 || r.left < -0.5; })
                .slice(0, 5).map((e) => e.outerHTML.slice(0, 120))""",
            me_phone.PHONE["width"],
        )
        found["scrolls sideways"] = {"scrollWidth": width, "wider than the screen": wide}
    if nameless := _nameless_buttons(page):
        found["buttons without a name"] = nameless
    navigation = MAIN_NAVIGATION[signed_in]
    if page.locator(navigation).count() == 0:
        found["main navigation"] = f"no {navigation} on the page"
    elif not _tab_reaches(page, navigation):
        found["keyboard"] = f"{TAB_LIMIT} presses of Tab did not reach {navigation}"
    if problems := tab.problems.unexpected():
        found["console"] = problems
    return found


@pytest.mark.parametrize(
    ("ui_page", "lang"),
    [pytest.param(p, lang, id=f"{p.id}-{lang}") for p in PAGES for lang in LANGUAGES],
)
def test_me_page_is_accessible_on_a_phone(
    ui_page: UiPage,
    lang: str,
    me_data: me_sample.MeSample,
    signed_in: Tab,
    visitor: Tab,
    live_server: LiveServer,
) -> None:
    missing = ui_page.missing(me_data.values())
    assert not missing, (
        f"{ui_page.path} ({ui_page.handler}) has path parameters {missing} that scripts/me_sample.py "
        "has no value for: add them to MeSample.values()"
    )
    tab = signed_in if ui_page.signed_in else visitor
    page = _fresh(tab, live_server)
    url = _with_lang(ui_page.url(me_data.values()), lang)
    response = page.goto(url)
    landed = urlsplit(page.url).path
    if ui_page.signed_in:
        assert landed != "/me/sign-in", f"{url} sent a signed-in client to the sign-in page"
    if landed != urlsplit(url).path:  # a link that redirects (the invitation link → enrolment): its page
        url = _with_lang(landed, lang)
        response = page.goto(url)
    assert response is not None
    assert response.status == 200, f"{url} answered {response.status}"
    found = _phone_problems(tab, lang, ui_page.signed_in)
    assert not found, f"{url}: {found}"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_form_shown_again_with_errors_is_accessible_on_a_phone(
    lang: str, signed_in: Tab, live_server: LiveServer
) -> None:
    """The feedback form sent empty: 422, the errors named next to the fields and in a summary."""
    page = _fresh(signed_in, live_server)
    signed_in.problems.allow_console_error(r"status of 422 \(Unprocessable Entity\)")
    page.goto(_with_lang("/me/feedback", lang))
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        page.locator("form[action='/me/feedback'] button[type=submit]").click()
    assert sent.value.status == 422
    wait_for_htmx(page)
    assert page.locator(".error-summary:not([hidden])").count() > 0, "no error summary on the page"
    found = _phone_problems(signed_in, lang, signed_in=True)
    assert not found, f"/me/feedback with errors: {found}"
