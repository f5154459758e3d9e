"""My plan on a phone (360×740) in Arabic: right to left, translated (the programme service's Arabic text
and the officer's goal in its Arabic translation), the untranslated goal in Finnish left to right inside
it, and no sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from app.db.base import TextOrigin
from app.db.organisation import Role
from tests.browser import me_phone
from tests.browser.conftest import PageProblems
from tests.conftest import Factory
from tests.integration.test_me_plan import (
    AR_NAME,
    GOAL_1,
    GOAL_1_AR,
    GOAL_2,
    make_plan,
    programme_service,
    translate,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Browser, base_url: str, problems: PageProblems) -> Iterator[BrowserContext]:
    """A cheap phone; the app is switched to Arabic with ?lang=ar."""
    context = me_phone.phone(browser, base_url, problems)
    yield context
    context.close()


def test_my_plan_in_arabic_is_right_to_left_translated_and_fits_a_phone(
    phone: BrowserContext, base_url: str, factory: Factory, problems: PageProblems
) -> None:
    db = factory.db
    home = factory.organisation("Esimerkkilä")
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    person = factory.client(home, first_names="Amal", last_name="Haddad", mother_tongue="ar")
    plan = make_plan(db, home, officer, person, service=programme_service(db, home))
    goal_1, goal_2 = plan.goals
    translate(db, plan, f"goal:{goal_1.id}", "ar", GOAL_1_AR, GOAL_1, origin=TextOrigin.TRANSLATOR)
    phone.add_cookies([{"name": "kp_me", "value": factory.client_session(person), "url": base_url}])
    page: Page = phone.new_page()

    page.goto("/me/plan?lang=ar")
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # Translated: the programme service's Arabic name, the goal's Arabic translation.
    service = page.locator(f"#service-{plan.services[0].id}")
    assert AR_NAME in service.inner_text() and service.get_attribute("lang") == "ar"
    goal = page.locator(f"#goal-{goal_1.id}")
    assert goal.inner_text() == GOAL_1_AR
    assert goal.evaluate("e => getComputedStyle(e).direction") == "rtl"
    # The untranslated goal stays Finnish, marked as such, and runs left to right.
    untranslated = page.locator(f"#goal-{goal_2.id}")
    assert untranslated.inner_text() == GOAL_2 and untranslated.get_attribute("lang") == "fi"
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= me_phone.PHONE["width"]
    # The navigation shows where we are.
    assert page.locator('.me-nav a[aria-current="page"]').get_attribute("href") == "/me/plan"

    page.goto("/me/?lang=ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.scrollWidth") <= me_phone.PHONE["width"]
    assert page.locator('a[href="/me/plan"]').first.is_visible()
    problems.assert_clean()
