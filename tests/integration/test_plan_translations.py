"""The officer's "Translations for the client" page of a plan: each officer-written text per language the
client reads, with origin and freshness; adding and changing translations (422 keeps the text, 409 on a
stale version or a changed original), marking machine output as checked, machine translation when
configured; the access policy (another organisation's client or plan → 404, no right to change → 403)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar import Litestar
from sqlalchemy import func, select

from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.client_app import PlanTextTranslation
from app.db.organisation import Role
from app.db.plan import IntegrationPlan
from app.domain.translations import content_hash
from app.main import create_app
from app.settings import Settings
from tests import fake_libretranslate
from tests.conftest import BASE_URL, AppTestClient, post, sign_in, sign_in_client
from tests.integration.test_me_plan import GOAL_1, GOAL_2, GUIDANCE, NGO_NAME, make_plan, translate

GOAL_1_AR = "العمل كممرضة عملية"
GUIDANCE_AR = "إرشاد مرة في الشهر"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta")


@pytest.fixture
def officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


@pytest.fixture
def person(factory, home):
    return factory.client(
        home, first_names="Amal", last_name="Haddad", mother_tongue="ar", preferred_locale="ar"
    )


@pytest.fixture
def plan(db, home, officer, person) -> IntegrationPlan:
    return make_plan(db, home, officer, person)


def url(plan: IntegrationPlan, suffix: str = "") -> str:
    return f"/officer/clients/{plan.client_id}/plans/{plan.id}/translations{suffix}"


def form(plan: IntegrationPlan, key: str, source: str, **changes: str) -> dict[str, str]:
    data = {
        "source_key": key,
        "language": "ar",
        "text": GOAL_1_AR,
        "origin": "translator",
        "version": "",
        "source_hash": content_hash(source),
    }
    data.update(changes)
    return data


def rows(db) -> list[PlanTextTranslation]:
    db.expire_all()
    return list(db.scalars(select(PlanTextTranslation).order_by(PlanTextTranslation.source_key)).all())


def test_the_page_lists_each_officer_text_per_reading_language(client, officer, plan, db):
    goal_1 = plan.goals[0]
    translate(db, plan, f"goal:{goal_1.id}", "ar", GOAL_1_AR, GOAL_1)
    translate(db, plan, "guidance", "ar", GUIDANCE_AR, "Vanha ohjausteksti")
    page = client.get(url(plan))
    assert page.status_code == 200
    html = page.text
    for text in (GOAL_1, GOAL_2, GUIDANCE, NGO_NAME, "Kotoutumiskoulutus suomeksi"):
        assert text in html
    assert "Translations for the client" in html and "Arabic" in html
    assert GOAL_1_AR in html and "Translated by a translator" in html and "Up to date" in html
    guidance = html.split('id="guidance"', 1)[1].split("</section>", 1)[0]
    assert GUIDANCE_AR in guidance and "Stale – the original has changed since this translation" in guidance
    assert "Not translated yet" in html  # goal 2, the NGO service, the language studies
    assert "Translate by machine" not in html  # machine translation is off
    (seen,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert seen.client_id == plan.client_id and seen.object_id == str(plan.id)
    # The plan page's link to it is for the plan page to add; the page links back.
    assert f'href="/officer/plans/{plan.id}"' in html


def test_a_translation_is_saved_with_its_origin_and_the_source_it_was_made_from(
    client, officer, plan, person, factory, db
):
    goal_1 = plan.goals[0]
    response = post(client, url(plan), form(plan, f"goal:{goal_1.id}", GOAL_1))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == url(plan, f"#goal-{goal_1.id}-ar")
    (row,) = rows(db)
    assert (row.source_key, row.language, row.text, row.origin) == (
        f"goal:{goal_1.id}",
        "ar",
        GOAL_1_AR,
        TextOrigin.TRANSLATOR,
    )
    assert row.source_hash == content_hash(GOAL_1) and row.translated_by_id == officer.id
    assert row.checked_at is None and row.version == 1
    event = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "plan_text_translation"))
    assert event.action == "create" and event.client_id == person.id and GOAL_1_AR not in str(event.fields)
    # The client reads it in the app (the same test client also carries the client's session).
    sign_in_client(client, factory, person)
    assert GOAL_1_AR in client.get("/me/plan?lang=ar").text


def test_bad_input_shows_the_form_again_with_the_text_kept(client, officer, plan, db):
    goal_1 = plan.goals[0]
    typed = "ترجمتي التي كتبتها بعناية"
    response = post(client, url(plan), form(plan, f"goal:{goal_1.id}", GOAL_1, text=typed, origin=""))
    assert response.status_code == 422
    assert "Choose who made the translation." in response.text
    assert typed in response.text
    assert f'href="#goal-{goal_1.id}-ar-origin"' in response.text  # the error summary links to the field
    response = post(client, url(plan), form(plan, f"goal:{goal_1.id}", GOAL_1, text="  ", origin="officer"))
    assert response.status_code == 422 and "Write the translation." in response.text
    response = post(client, url(plan), form(plan, "guidance", GUIDANCE, language="fi", text=typed))
    assert response.status_code == 422 and "Choose a language other than the original" in response.text
    assert typed in response.text
    response = post(client, url(plan), form(plan, "guidance", GUIDANCE, origin="machine"))
    assert response.status_code == 422  # machine output comes only from the machine
    assert rows(db) == []


def test_a_stale_edit_is_refused_with_409_and_the_text_kept(client, officer, plan, db):
    first = post(client, url(plan), form(plan, "guidance", GUIDANCE, text=GUIDANCE_AR))
    assert first.status_code == 303
    # Another officer opened the page before that save: their form has no version (a new translation).
    mine = "نص المترجم الثاني"
    response = post(client, url(plan), form(plan, "guidance", GUIDANCE, text=mine, origin="interpreter"))
    assert response.status_code == 409
    assert "Someone saved a translation of this text into Arabic" in response.text
    assert mine in response.text and GUIDANCE_AR in response.text  # theirs in the form, the saved one shown
    assert 'name="version" value="1"' in response.text  # saving again replaces it
    (row,) = rows(db)
    assert row.text == GUIDANCE_AR
    again = post(
        client, url(plan), form(plan, "guidance", GUIDANCE, text=mine, origin="interpreter", version="1")
    )
    assert again.status_code == 303
    (row,) = rows(db)
    assert (row.text, row.origin, row.version) == (mine, TextOrigin.INTERPRETER, 2)
    stale = post(client, url(plan), form(plan, "guidance", GUIDANCE, text="قديم", version="1"))
    assert stale.status_code == 409


def test_an_original_changed_since_the_page_was_opened_is_refused(client, officer, plan, db):
    stored = db.get(IntegrationPlan, plan.id)
    stored.guidance = "Ohjaus kerran viikossa"
    db.commit()
    typed = "نص مترجم"
    response = post(client, url(plan), form(plan, "guidance", GUIDANCE, text=typed))
    assert response.status_code == 409
    assert "The original text changed after you opened the page." in response.text
    assert typed in response.text and "Ohjaus kerran viikossa" in response.text
    assert f'value="{content_hash("Ohjaus kerran viikossa")}"' in response.text
    assert rows(db) == []
    gone = post(client, url(plan), form(plan, "goal:00000000-0000-0000-0000-000000000000", "x", text=typed))
    assert gone.status_code == 409 and typed in gone.text
    assert "removed from the plan" in gone.text


def test_a_machine_translation_is_marked_as_checked(client, officer, plan, person, factory, db):
    goal_1 = plan.goals[0]
    row = translate(db, plan, f"goal:{goal_1.id}", "ar", GOAL_1_AR, GOAL_1, origin=TextOrigin.MACHINE)
    page = client.get(url(plan))
    assert "Machine translation, not checked" in page.text and "Mark as checked" in page.text
    check = {
        "source_key": f"goal:{goal_1.id}",
        "language": "ar",
        "version": str(row.version),
        "source_hash": content_hash(GOAL_1),
    }
    assert post(client, url(plan, "/check"), {**check, "version": "7"}).status_code == 409
    response = post(client, url(plan, "/check"), check)
    assert response.status_code == 303, response.text
    (row,) = rows(db)
    assert row.checked_by_id == officer.id and row.checked_at is not None
    assert row.origin == TextOrigin.MACHINE
    page = client.get(url(plan))
    assert "Machine translation, checked by a person" in page.text and "Mark as checked" not in page.text
    # Checked once: a second check is refused.
    again = post(client, url(plan, "/check"), {**check, "version": str(row.version)})
    assert again.status_code == 409
    # The client no longer sees the "not yet checked" note.
    sign_in_client(client, factory, person)
    html = client.get("/me/plan?lang=en").text
    assert GOAL_1_AR in html and "not yet checked" not in html


def test_a_human_translation_is_not_marked_as_checked(client, officer, plan, db):
    row = translate(db, plan, "guidance", "ar", GUIDANCE_AR, GUIDANCE)
    check = {
        "source_key": "guidance",
        "language": "ar",
        "version": str(row.version),
        "source_hash": content_hash(GUIDANCE),
    }
    response = post(client, url(plan, "/check"), check)
    assert response.status_code == 409
    assert rows(db)[0].checked_at is None


def test_another_organisations_officer_gets_404_and_changes_nothing(client, factory, plan, db):
    elsewhere = factory.organisation("Muukunta")
    outsider = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    sign_in(client, outsider)
    page = client.get(url(plan))
    assert page.status_code == 404 and GOAL_1 not in page.text
    for suffix, data in (
        ("", form(plan, "guidance", GUIDANCE)),
        ("/check", {"source_key": "guidance", "language": "ar", "version": "1"}),
        ("/machine", {"source_key": "guidance", "language": "ar"}),
    ):
        response = post(client, url(plan, suffix), data)
        assert response.status_code == 404, suffix
    assert rows(db) == []


def test_the_plan_must_be_the_named_clients_and_reading_is_not_enough(
    client, factory, home, officer, plan, db
):
    other = factory.client(home, first_names="Toinen", last_name="Asiakas")
    assert client.get(f"/officer/clients/{other.id}/plans/{plan.id}/translations").status_code == 404
    response = post(
        client, f"/officer/clients/{other.id}/plans/{plan.id}/translations", form(plan, "guidance", GUIDANCE)
    )
    assert response.status_code == 404
    manager = factory.staff(home, Role.MANAGER)
    sign_in(client, manager)
    assert client.get(url(plan)).status_code == 403
    assert post(client, url(plan), form(plan, "guidance", GUIDANCE)).status_code == 403
    assert rows(db) == []


# --- machine translation -----------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[fake_libretranslate.FakeLibreTranslate]:
    with fake_libretranslate.serve(api_key="test-key") as running:
        yield running


def test_machine_translation_is_off_by_default(client, officer, plan, db):
    response = post(client, url(plan, "/machine"), {**form(plan, "guidance", GUIDANCE)})
    assert response.status_code == 409 and "Machine translation is not in use." in response.text
    assert rows(db) == []


def test_translate_by_machine_saves_unchecked_machine_output(
    settings: Settings, factory, home, person, db, server
):
    configured = replace(settings, machine_translation_url=server.url, machine_translation_key="test-key")
    app: Litestar = create_app(configured)
    with AppTestClient(app, base_url=BASE_URL) as browser:
        browser.headers["Accept-Language"] = "en"
        officer = factory.staff(home, Role.INTEGRATION_OFFICER)
        sign_in(browser, officer)
        plan = make_plan(db, home, officer, person)
        page = browser.get(url(plan))
        assert "Translate by machine" in page.text
        response = post(browser, url(plan, "/machine"), form(plan, "guidance", GUIDANCE))
        assert response.status_code == 303, response.text
        (row,) = rows(db)
        assert row.origin == TextOrigin.MACHINE and row.checked_at is None and row.translated_by_id is None
        assert row.text == f"[ar] {GUIDANCE}" and row.source_hash == content_hash(GUIDANCE)
        sent = [r for r in server.requests if r[1] == "/translate"]
        assert sent and sent[-1][2]["q"] == GUIDANCE and sent[-1][2]["target"] == "ar"
        # A person's translation is never replaced by machine output.
        post(browser, url(plan), form(plan, "guidance", GUIDANCE, text=GUIDANCE_AR, version=str(row.version)))
        refused = post(browser, url(plan, "/machine"), form(plan, "guidance", GUIDANCE))
        assert refused.status_code == 422 and "by a person; it is kept" in refused.text
        (row,) = rows(db)
        assert row.text == GUIDANCE_AR and row.origin == TextOrigin.TRANSLATOR
        sign_in_client(browser, factory, person)
        assert GUIDANCE_AR in browser.get("/me/plan?lang=ar").text
    assert db.scalar(select(func.count()).select_from(PlanTextTranslation)) == 1
