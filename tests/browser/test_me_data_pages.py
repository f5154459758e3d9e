"""My data, who has viewed my data and feedback on a phone (360 × 740), in English and right-to-left
Arabic: no axe violations, nothing wider than the screen, the rating chosen with the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page

from app.db.audit import AuditEvent
from app.db.organisation import OrganisationType, Role
from tests.browser import me_phone
from tests.browser.conftest import PageProblems, wait_for_htmx
from tests.browser.test_accessibility import violations
from tests.conftest import Factory
from tests.integration.test_me_data import World, populate

pytestmark = pytest.mark.browser


@pytest.fixture
def world(db, factory: Factory) -> World:
    home = factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    world = populate(db, factory, home, officer, "Aino")
    db.add(  # an officer opened the client's page: listed under "who has viewed my data"
        AuditEvent(
            chain=1,
            seq=1_000_000,  # far above the chain head, so the server's own appends never collide
            at=datetime.now(UTC),
            actor_id=officer.id,
            actor_kind="staff",
            actor_organisation_id=home.id,
            actor_roles="integration_officer",
            action="view",
            client_id=world.client.id,
            object_type="client",
            fields=["basic"],
            prev_hash="0" * 64,
            hash="0" * 64,
        )
    )
    db.commit()
    return world


@pytest.fixture
def phone(
    browser: Browser, base_url: str, problems: PageProblems, factory: Factory, world: World
) -> Iterator[Page]:
    context = me_phone.phone(browser, base_url, problems, factory.client_session(world.client), axe=True)
    yield context.new_page()
    context.close()
    problems.assert_clean()


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0 = no sideways scrolling)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_my_data_pages_on_a_phone(phone: Page, lang: str) -> None:
    found: dict[str, list[str]] = {}
    for url in ("/me/data", "/me/data/views", "/me/feedback", "/me/feedback/thanks"):
        phone.goto(f"{url}?lang={lang}")
        assert phone.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        found[url] = violations(phone)
        assert overflow(phone) <= 0, url
    assert not any(found.values()), found


def test_feedback_with_the_keyboard_and_an_error_on_a_phone(
    phone: Page, world: World, problems: PageProblems
) -> None:
    problems.allow_console_error(r"status of 422")  # Chromium's note on the deliberate error below
    phone.goto("/me/feedback?lang=en")
    phone.get_by_role("button", name="Send feedback").click()
    wait_for_htmx(phone)
    assert phone.get_by_text("Choose what your feedback is about.").first.is_visible()
    assert not violations(phone)
    phone.get_by_label("What is your feedback about?").select_option("app")
    phone.get_by_label("4 – Good").focus()
    phone.keyboard.press("ArrowDown")  # radio groups move with the arrow keys
    assert phone.get_by_label("5 – Very good").is_checked()
    phone.get_by_label("Comment (you can leave this empty)").fill("Easy to use")
    phone.get_by_label("Send anonymously").check()
    phone.get_by_role("button", name="Send feedback").click()
    phone.wait_for_url("**/me/feedback/thanks")
    assert phone.get_by_role("heading", name="Thank you for your feedback").is_visible()
