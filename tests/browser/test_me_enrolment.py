"""The migrant app on a phone (360×740) with Chromium's virtual authenticator: the officer makes an
invitation, the phone opens its link, picks Arabic, creates a passkey, signs out and in again, and
approves the presented plan version; the officer's plan page then shows the signature verified."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select, update

from app.db.client import Client
from app.db.client_app import ClientInvitation, ClientPasskey, ClientSession
from app.db.organisation import Role, Staff
from app.db.plan import (
    ApprovalMethod,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanStatus,
    PlanVersion,
)
from app.domain.plans import content_of
from app.domain.translations import content_hash
from tests.browser import me_phone
from tests.browser.conftest import PageProblems
from tests.browser.test_accessibility import AXE, violations
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser

GOAL = "Työ lähihoitajana"


def add_virtual_authenticator(context: BrowserContext, page: Page) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


@pytest.fixture
def phone(browser: Browser, base_url: str, problems: PageProblems) -> Iterator[BrowserContext]:
    """A cheap phone, not yet signed in."""
    context = me_phone.phone(browser, base_url, problems, axe=True)
    yield context
    context.close()


def presented_plan(factory: Factory, officer: Staff, person: Client) -> IntegrationPlan:
    """A draft plan presented for the client's approval (version 1)."""
    today = date.today()  # noqa: DTZ011 - a calendar date is enough here
    plan = IntegrationPlan(
        client_id=person.id,
        organisation_id=person.organisation_id,
        number=1,
        status=PlanStatus.DRAFT,
        officer_id=officer.id,
        starts_on=today,
        ends_on=today + timedelta(days=300),
        language_studies="Kotoutumiskoulutus suomeksi",
        guidance="Ohjaus kerran kuussa",
        rationale="Kielitaito on työllistymisen edellytys.",
        duties_explained=True,
        next_review_on=today + timedelta(days=150),
        goals=[
            PlanGoal(position=0, kind=GoalKind.LONG_TERM, goal_type=GoalType.EMPLOYMENT, text=GOAL),
            PlanGoal(position=1, kind=GoalKind.PLAN_PERIOD, goal_type=GoalType.LANGUAGE_SKILLS, text="A2"),
        ],
        services=[],
        pauses=[],
    )
    factory.db.add(plan)
    factory.db.flush()
    content = content_of(plan)
    version = PlanVersion(plan_id=plan.id, number=1, content=content, content_hash=content_hash(content))
    version.created_by_id = officer.id
    factory.db.add(version)
    factory.db.commit()
    return plan


def checked(page: Page) -> None:
    """Fits a 360 px screen and has no WCAG 2.1 AA violations (axe-core)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url
    assert not violations(page), (page.url, violations(page))


def test_enrol_sign_out_sign_in_and_approve_the_plan_on_a_phone(
    context: BrowserContext, page: Page, phone: BrowserContext, factory: Factory
) -> None:
    organisation = factory.organisation("Kotokunta")
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    person = factory.client(organisation, first_names="Amina", last_name="Hassan", mother_tongue="ar")
    plan = presented_plan(factory, officer, person)

    # The officer creates an invitation on the client's page and sees it once.
    context.add_init_script(AXE)
    page.goto("/officer/sign-in?lang=en")
    page.locator("#email").fill(officer.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/officer/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/officer/$"))
    page.goto(f"/officer/clients/{person.id}")
    page.locator(f"form[action='/officer/clients/{person.id}/invitations'] button").first.click()
    expect(page.locator("#short-code")).to_have_text(re.compile(r"^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$"))
    expect(page.locator(".qr svg")).to_be_visible()
    assert not violations(page), violations(page)
    join_url = page.locator("#join-url").text_content() or ""
    assert "/me/join/" in join_url
    token = join_url.rsplit("/", 1)[1]

    # The phone opens the QR code's link: the token leaves the address bar at once.
    mobile = phone.new_page()
    add_virtual_authenticator(phone, mobile)
    mobile.goto(join_url)
    expect(mobile).to_have_url(re.compile(r"/me/enrol$"))
    assert token not in mobile.url
    assert all(token not in entry for entry in mobile.evaluate("() => [location.href, document.referrer]"))
    checked(mobile)

    # Arabic: the page turns right-to-left and the choice is saved on the profile.
    mobile.locator("button[name=language][value=ar]").click()
    expect(mobile).to_have_url(re.compile(r"/me/enrol/passkey$"))
    expect(mobile.locator("html")).to_have_attribute("dir", "rtl")
    expect(mobile.locator("html")).to_have_attribute("lang", "ar")
    checked(mobile)
    mobile.locator("[data-passkey-register] button[data-passkey-options]").click()
    expect(mobile).to_have_url(re.compile(r"/me/$"))
    expect(mobile.locator("html")).to_have_attribute("dir", "rtl")
    factory.db.expire_all()
    assert factory.db.get(Client, person.id).preferred_locale == "ar"
    assert factory.db.scalar(select(ClientInvitation.used_at)) is not None
    assert factory.db.scalar(select(ClientPasskey.client_id)) == person.id

    # Sign out (settings), then sign in again with the passkey.
    mobile.goto("/me/settings")
    checked(mobile)
    mobile.locator("#main form[action='/me/sign-out'] button").click()
    expect(mobile).to_have_url(re.compile(r"/me/sign-in$"))
    expect(mobile.locator("html")).to_have_attribute("dir", "rtl")
    assert not [c for c in phone.cookies() if c["name"].endswith("kp_me") and c["value"]]
    mobile.goto("/me/settings")
    expect(mobile).to_have_url(re.compile(r"/me/sign-in$"))
    checked(mobile)
    mobile.locator("[data-passkey-sign-in] button[data-passkey-options]").click()
    expect(mobile).to_have_url(re.compile(r"/me/$"))

    # Settings list this phone; once the sign-in's confirmation has lapsed, changing passkeys first asks
    # for the passkey again (ASVS 7.5.1).
    factory.db.execute(update(ClientSession).values(confirmed_at=None))
    factory.db.commit()
    mobile.goto("/me/settings")
    expect(mobile.locator("#signed-in li")).to_have_count(1)
    expect(mobile.locator("[data-passkey-register]")).to_have_count(0)
    checked(mobile)
    mobile.locator("#confirm [data-passkey-sign-in] button[data-passkey-options]").click()
    expect(mobile.locator("#security p.notice[role=status]")).to_be_visible()
    expect(mobile.locator("[data-passkey-register] button[data-passkey-options]")).to_be_visible()
    checked(mobile)

    # Approve the presented version with a fresh assertion.
    mobile.goto("/me/plan/approve")
    expect(mobile.locator(f"p[lang=fi]:has-text('{GOAL}')")).to_be_visible()
    checked(mobile)
    mobile.locator("[data-passkey-sign-in] button[data-passkey-options]").click()
    expect(mobile.locator("p.lead[role=status]")).to_be_visible()
    checked(mobile)
    factory.db.expire_all()
    approval = factory.db.scalar(select(PlanApproval))
    assert approval is not None and approval.method == ApprovalMethod.PASSKEY
    assert factory.db.get(IntegrationPlan, plan.id).status == PlanStatus.IN_FORCE

    # The officer's plan page: who, when, which version, and the signature verifies.
    page.goto(f"/officer/plans/{plan.id}?lang=en")
    row = page.locator("#approval tbody tr").first
    expect(row).to_contain_text("approved by Amina Hassan")
    expect(row.locator(".signature-ok")).to_have_text("signature verifies")
    page.goto(f"/officer/clients/{person.id}/app-access?lang=en")
    expect(page.locator("#passkeys tbody tr")).to_have_count(1)
    assert not violations(page), violations(page)
