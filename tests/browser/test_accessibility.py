"""Automated WCAG 2.1 A/AA checks (axe-core) on the pages people use, in Finnish and right-to-left Arabic.

axe finds what a machine can (names, roles, contrast, labels, landmarks, lang); keyboard and screen-reader
use are covered by the flow tests and by hand."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy.orm import Session

from app.db.auth import Passkey, StaffRecoveryCode, StaffTotp
from app.db.base import utcnow
from app.db.organisation import Organisation, Role
from app.settings import Settings
from tests.browser.conftest import INIT_SCRIPT, PageProblems, wait_for_htmx
from tests.browser.test_officer_flow import officer, sign_in_with_password
from tests.browser.test_stored_xss import Findings, load_demo, staff_cookie, walk
from tests.conftest import Factory

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text()
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Page) -> list[str]:
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


@pytest.fixture
def axe_context(context: BrowserContext) -> BrowserContext:
    # Injected by DevTools into every document, so the page's CSP (no inline scripts) stays as it is.
    context.add_init_script(AXE)
    return context


def test_public_pages_meet_wcag_21_aa(axe_context: BrowserContext, page: Page) -> None:
    found = {}
    for url in (
        "/?lang=fi",
        "/?lang=ar",
        "/me/?lang=so",
        "/accessibility?lang=fa",
        "/officer/sign-in?lang=sv",
    ):
        page.goto(url)
        found[url] = violations(page)
    assert not any(found.values()), found


def test_back_office_pages_meet_wcag_21_aa(
    axe_context: BrowserContext, page: Page, factory: Factory, problems: PageProblems
) -> None:
    staff = officer(factory)
    organisation = factory.db.get(Organisation, staff.organisation_id)
    record = factory.client(
        organisation,
        first_names="Fatima",
        last_name="Haddad",
        native_name="فاطمة حداد",
        date_of_birth=date(1990, 1, 2),
    )
    sign_in_with_password(page, staff)
    found = {}
    for url in ("/officer/", "/officer/profile", f"/officer/clients/{record.id}", "/officer/clients/new"):
        page.goto(url)
        found[url] = violations(page)

    # The client page with every section opened (each loaded by htmx into its <details>).
    page.goto(f"/officer/clients/{record.id}")
    for details in page.locator("details.on-demand").all():
        details.locator("summary").click()
    expect(page.locator("details.on-demand .section-body[aria-busy]")).to_have_count(0)
    expect(page.locator("details#retention .section-body")).to_contain_text("Holds for pending matters")
    wait_for_htmx(page)
    found["client page, every section open"] = violations(page)

    page.goto("/officer/clients")
    page.locator("#q").fill("hadd")
    page.wait_for_selector("#results table")
    found["search results"] = violations(page)

    page.goto("/officer/clients/new")
    problems.allow_console_error(
        r"status of 422 \(Unprocessable Entity\) \(http://localhost:\d+/officer/clients\)"
    )
    page.locator("#first_names").fill("Omar")
    page.locator("form.client-form button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    wait_for_htmx(page)
    found["form with errors"] = violations(page)
    assert not any(found.values()), found


def test_the_second_step_of_sign_in_meets_wcag_21_aa(
    axe_context: BrowserContext, page: Page, factory: Factory, problems: PageProblems
) -> None:
    """Every way of the second step at once (an app, a passkey and recovery codes), and with an error."""
    staff = officer(factory)
    factory.db.add(StaffTotp(staff_id=staff.id, secret="x", confirmed_at=utcnow()))
    factory.db.add(Passkey(staff_id=staff.id, credential_id=b"k" * 16, public_key=b"\0" * 32, name="Laptop"))
    factory.db.add(StaffRecoveryCode(staff_id=staff.id, code_hash="0" * 64))
    factory.db.commit()
    page.goto("/officer/sign-in?lang=en")
    page.locator("#email").fill(staff.email)
    page.locator("#password").fill("correct horse battery staple")
    page.locator("form[action='/officer/sign-in'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/officer/sign-in/code"))
    found = {"second step": violations(page)}
    problems.allow_console_error(r"status of 422")
    page.locator("#recovery_code").fill("AAAAA-AAAAA")
    page.get_by_role("button", name="Sign in with a recovery code").click()
    page.wait_for_selector("#error-summary")
    found["second step with an error"] = violations(page)
    assert not any(found.values()), found


def test_administration_pages_meet_wcag_21_aa(
    axe_context: BrowserContext, page: Page, factory: Factory
) -> None:
    organisation = factory.organisation("Ylläpitokunta")
    admin = factory.staff(organisation, Role.ADMINISTRATOR)
    page.goto("/officer/sign-in?lang=en")
    page.locator("#email").fill(admin.email)
    page.locator("#password").fill("correct horse battery staple")
    page.locator("form[action='/officer/sign-in'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/officer/$"))
    found = {}
    for url in ("/officer/admin/staff", "/officer/admin/staff/new", "/officer/admin/organisations"):
        page.goto(url)
        found[url] = violations(page)
    assert not any(found.values()), found


# Who walks the back office in the demo data, and how many pages each opens (at most two of one shape).
WALKERS = {
    "aino.virtanen@esimerkkila.fi": 80,  # integration officer
    "leena.laine@esimerkkila.fi": 40,  # team lead: reports, quality, audit log
    "admin@esimerkkila.fi": 20,
    "sari.niemi@hyvinvointialue.example.fi": 12,  # county team member
    "hassan.ali@sana.example.fi": 8,  # interpreter
}


def accessible_at_360(page: Page, findings: Findings, who: str) -> None:
    """axe's WCAG 2.1 A/AA rules, and reflow (1.4.10): nothing but a table's own region scrolls sideways."""
    wait_for_htmx(page)
    for problem in violations(page):
        findings.add(who, f"{page.url}: {problem}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > 360:
        findings.add(who, f"{page.url}: the page is {width} px wide at 360 px")


def test_every_back_office_page_a_role_reaches_meets_wcag_21_aa_on_a_phone(
    browser: Browser, base_url: str, database_url: str, settings: Settings, db: Session
) -> None:
    """Each role walks the links of the back office over the demo data (a client's plans, claims, the
    audit log, reports…) on a 360 px wide screen in Finnish."""
    load_demo(database_url, settings)
    findings = Findings()
    for email, budget in WALKERS.items():
        context = browser.new_context(
            base_url=base_url,
            viewport={"width": 360, "height": 740},
            locale="fi-FI",
            timezone_id="Europe/Helsinki",
        )
        context.expose_binding(
            "__kpReportCsp", lambda _source, report, who=email: findings.add(who, f"CSP violation {report}")
        )
        context.add_init_script(INIT_SCRIPT)  # counts htmx requests in flight, reports CSP violations
        context.add_init_script(AXE)
        context.add_cookies([staff_cookie(db, email, base_url)])
        walk(
            context.new_page(),
            base_url,
            ["/officer/"],
            ("/officer",),
            budget,
            findings,
            email,
            accessible_at_360,
        )
        context.close()
    assert sum(findings.pages.values()) >= 100, findings.pages  # the walk did reach the back office
    assert not findings.problems, "\n".join(findings.problems)
