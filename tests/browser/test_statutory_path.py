"""The statutory path in a real browser: a new client from the worklist through an assessment (saved as
you go) to an approved plan and its first review, with the worklist changing at each step; then the
plan pages on a 360 px phone and the printout in Arabic beside Finnish."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.db.organisation import Role
from app.domain.forms import today
from app.domain.rules import add_months
from tests.browser.conftest import PageProblems, wait_for_htmx
from tests.browser.test_accessibility import AXE, violations
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser


def worklist_kinds(page: Page, name: str) -> set[str]:
    """The kinds of worklist item the officer's worklist shows for a client."""
    page.goto("/officer/worklist")
    kinds = set()
    for table in page.locator("table.worklist").all():
        if table.get_by_role("link", name=name).count():
            labelled = table.get_attribute("aria-labelledby") or ""
            kinds.add(labelled.split("-", 1)[1] if "-" in labelled else labelled)
    return kinds


def too_wide(page: Page) -> list[str]:
    """The innermost elements that stick out of a phone's screen, to say what to fix."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > 361 && e.children.length === 0)
              .slice(0, 6).map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)"""
        )
    )


def test_from_a_new_client_to_an_approved_plan_and_a_review(
    context: BrowserContext, page: Page, factory: Factory, problems: PageProblems
) -> None:
    context.add_init_script(AXE)  # WCAG 2.1 AA checks on the way (DevTools injection: CSP unchanged)
    found: dict[str, list[str]] = {}
    organisation = factory.organisation("Kotokunta")
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER, email="aino@kotokunta.fi")
    person = factory.client(
        organisation,
        first_names="Amina",
        last_name="Warsame",
        known_on=today() - timedelta(days=20),
        first_permit_date=today() - timedelta(days=60),
        mother_tongue="ar",
        responsible_officer_id=officer.id,
    )
    name = person.display_name

    page.goto("/officer/sign-in?lang=en")
    page.locator("#email").fill(officer.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/officer/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/officer/$"))

    # 1. Known but not assessed: overdue against the municipality's 14-day target.
    assert worklist_kinds(page, name) == {"known_not_assessed"}
    page.get_by_role("link", name=name).first.click()
    page.get_by_role("button", name="Start an assessment").click()
    expect(page).to_have_url(re.compile(r"/officer/assessments/[0-9a-f-]{36}$"))

    found["assessment draft"] = violations(page)

    # 2. The assessment, saved as the officer goes.
    page.locator("#literacy").select_option("literate_latin")
    wait_for_htmx(page)
    expect(page.locator("#autosave-status")).to_contain_text("saved")
    for skill in ("reading", "writing", "listening", "speaking"):
        page.locator(f"#skill_fi_{skill}").select_option("A1")
    page.locator("#data_sources-client_interview").check()
    for point in ("told_service_goals", "told_planning", "told_rights_and_duties", "told_data_processing"):
        page.locator(f"#{point}").check()
    page.locator("#plan_need").check()
    page.locator("#planned_plan_date").fill(today().isoformat())
    wait_for_htmx(page)
    page.get_by_role("button", name="Complete the assessment").click()
    expect(page.locator("main")).to_contain_text("Completed")
    found["completed assessment"] = violations(page)

    # 3. Now a plan is due (section 20), and the assessment item is gone.
    assert worklist_kinds(page, name) == {"plan_due"}
    page.get_by_role("link", name=name).first.click()
    page.get_by_role("button", name="Draw up an integration plan").click()
    expect(page).to_have_url(re.compile(r"/officer/plans/[0-9a-f-]{36}$"))
    plan_url = page.url
    expect(page.locator(".notice")).to_contain_text("Before the client approves the plan")

    # 4. The plan's content; a first review within a month, so that it shows on the worklist.
    page.get_by_role("link", name="Edit the plan").click()
    found["plan form"] = violations(page)
    page.locator("#goal_text_1").fill("Työ lähihoitajana")
    page.get_by_role("button", name="Add another goal").click()
    page.locator("#goal_kind_2").select_option("plan_period")
    page.locator("#goal_type_2").select_option("language_skills_goal")
    page.locator("#goal_text_2").fill("Suomen kieli A2-tasolle")
    page.locator("#language_studies").fill("Kotoutumiskoulutus suomeksi")
    page.locator("#rationale").fill("Kielitaito on työn edellytys.")
    page.locator("#duties_explained").check()
    first_review = today() + timedelta(days=20)
    page.locator("#next_review_on").fill(first_review.isoformat())
    page.get_by_role("button", name="Save the plan").click()
    expect(page).to_have_url(plan_url)
    expect(page.locator(".notice")).to_have_count(0)

    # 5. Presented as an exact version, approved in person.
    page.get_by_role("button", name="Present this version for approval").click()
    page.locator("#method").select_option("signed_on_paper")
    page.get_by_role("button", name="Record the approval").click()
    expect(page.locator("p.status")).to_contain_text("In force")
    expect(page.locator("#approval")).to_contain_text("Signed on paper")

    for details in page.locator("main details").all():
        details.evaluate("element => { element.open = true; }")
    found["plan in force, every form open"] = violations(page)

    # 6. The worklist: no plan due any more, the first review is.
    assert worklist_kinds(page, name) == {"review_due"}
    found["worklist"] = violations(page)

    # 7. The review (section 22) moves the next one six months on at most; the worklist empties.
    page.goto(plan_url)
    page.locator("#reviews summary").click()
    page.locator("#progress").fill("Kurssi alkoi hyvin.")
    page.locator("#next_review_on").fill(add_months(today(), 5).isoformat())
    page.get_by_role("button", name="Save the review").click()
    expect(page.locator("#reviews")).to_contain_text("Kurssi alkoi hyvin.")
    assert worklist_kinds(page, name) == set()

    # 8. On a 360 px phone the plan pages fit; the printout sets Arabic right-to-left beside Finnish.
    page.set_viewport_size({"width": 360, "height": 800})
    for url in (plan_url, plan_url + "/edit", plan_url + "/print?lang=ar&finnish=true"):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{url} is {width} px wide at a 360 px viewport: {too_wide(page)}"
    arabic = page.locator("article.plan-print[lang=ar]")
    expect(arabic).to_have_attribute("dir", "rtl")
    expect(page.locator("article.plan-print[lang=fi]")).to_contain_text("Suomen kieli A2-tasolle")
    found["printout"] = violations(page)
    page.goto("/officer/programme")
    found["programme"] = violations(page)
    assert not any(found.values()), found
    problems.assert_clean()
