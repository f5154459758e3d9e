"""The client page shows what an officer needs at a glance and loads its other sections when they are
opened (app/routes/officer/client_sections.py): each from its own address, under the page's permission and
client scope, audited on its own; without JavaScript and after a section's form the page comes with it open."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.db.audit import AuditEvent
from app.db.client import Consent, ConsentPurpose, HealthInformation
from app.db.organisation import Organisation, Role
from app.domain.forms import today
from tests.conftest import client_section, post, sign_in

EN = {"Accept-Language": "en"}
ON_DEMAND = [
    "messages",
    "interpretations",
    "cooperation",
    "compensation",
    "benefits",
    "guidance-plan",
    "guidance-visits",
    "family",
    "consents",
    "notifications",
    "retention",
    "health",
]


@pytest.fixture
def officer(client, factory):
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


def client_views(db, client_id) -> list[list[str]]:
    """The fields of the client-level view events of the client, oldest first."""
    db.expire_all()
    events = db.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.client_id == client_id, AuditEvent.action == "view", AuditEvent.object_type == "client"
        )
        .order_by(AuditEvent.id)
    )
    return [sorted(e.fields) for e in events]


def test_the_page_shows_the_essentials_and_the_other_sections_closed(client, officer, factory, db):
    own = db.get(Organisation, officer.organisation_id)
    record = factory.client(own, first_names="Hodan", last_name="Ali")
    db.add(
        HealthInformation(
            client_id=record.id, text="Tarvitsee hissin", source="Lääkäri", recorded_by_id=officer.id
        )
    )
    db.commit()
    page = client.get(f"/officer/clients/{record.id}")
    assert page.status_code == 200
    for heading in (
        "basic-heading",
        "assessments-heading",
        "plans-heading",
        "appointments-heading",
        "tasks-heading",
    ):
        assert f'id="{heading}"' in page.text
    # Every other section is a closed <details> with its heading, loaded by htmx when opened, and a link
    # that opens it without JavaScript.
    found = re.findall(
        r'<details class="on-demand" id="([a-z-]+)">\s*<summary><h2 id="\1-heading">', page.text
    )
    assert found == ON_DEMAND
    for name in ON_DEMAND:
        assert f'hx-get="/officer/clients/{record.id}/sections/{name}"' in page.text
        assert f'href="/officer/clients/{record.id}?open={name}#{name}"' in page.text
    assert 'hx-trigger="toggle once from:closest details"' in page.text and 'aria-live="polite"' in page.text
    assert "Tarvitsee hissin" not in page.text  # health data only when asked for
    assert client_views(db, record.id) == [
        ["appointments", "assessments", "basic", "languages", "plans", "tasks"]
    ]


def test_each_section_loads_on_its_own_and_is_audited(client, officer, factory, db):
    own = db.get(Organisation, officer.organisation_id)
    record = factory.client(own, first_names="Hodan", last_name="Ali")
    db.add(
        HealthInformation(
            client_id=record.id, text="Tarvitsee hissin", source="Lääkäri", recorded_by_id=officer.id
        )
    )
    db.commit()
    expected = {
        "messages": "No messages with the client yet.",
        "interpretations": "No interpretations recorded.",
        "cooperation": "The wellbeing services county has not been asked to take part for this client.",
        "compensation": "No costs recorded.",
        "benefits": "No benefits recorded.",
        "guidance-plan": "No initial guidance plan in progress.",
        "guidance-visits": "No guidance visits recorded for the client.",
        "family": "No family members recorded.",
        "consents": "No consents recorded.",
        "notifications": "No notifications have been sent to the client.",
        "retention": "Holds for pending matters",
        "health": "Tarvitsee hissin",
    }
    for name, text in expected.items():
        fragment = client_section(client, record.id, name, headers=EN)
        assert fragment.status_code == 200, name
        assert text in fragment.text, name
        # Only the section: the page around it and its heading are already there.
        assert "<html" not in fragment.text and "<h2" not in fragment.text, name
        assert fragment.headers["cache-control"] == "no-store"
    views = client_views(db, record.id)
    assert views == [
        ["messages"], ["interpretations"], ["cooperation"], ["compensation"], ["benefits"], ["guidance_plan"],
        ["guidance_visits"], ["family", "family_overview"], ["consents"], ["notifications"], ["retention"],
        ["health"],
    ]  # fmt: skip
    assert all(
        e.actor_id == officer.id
        for e in db.scalars(select(AuditEvent).where(AuditEvent.client_id == record.id))
    )


def test_a_section_opened_as_a_page_or_with_the_page_works_without_javascript(client, officer, factory, db):
    own = db.get(Organisation, officer.organisation_id)
    record = factory.client(own, first_names="Hodan", last_name="Ali")
    # Without htmx (opened in a new tab, say): a page of its own.
    alone = client.get(f"/officer/clients/{record.id}/sections/consents", headers=EN)
    assert alone.status_code == 200
    assert "<h1>Ali, Hodan</h1>" in alone.text and 'id="consents-heading">Consents</h2>' in alone.text
    assert f'href="/officer/clients/{record.id}?open=consents#consents">Back to the client</a>' in alone.text

    page = client.get(f"/officer/clients/{record.id}?open=consents", headers=EN)
    assert page.status_code == 200
    assert '<details class="on-demand" id="consents" open>' in page.text
    assert "No consents recorded." in page.text and 'action="/officer/clients/' in page.text
    assert f'hx-get="/officer/clients/{record.id}/sections/consents"' not in page.text  # already there
    assert f'hx-get="/officer/clients/{record.id}/sections/family"' in page.text  # the others still closed
    # Not a section of the page (or not one this officer sees): the page as usual.
    assert client.get(f"/officer/clients/{record.id}?open=basic%22%3E").status_code == 200
    assert client_views(db, record.id) == [
        ["consents"],
        ["appointments", "assessments", "basic", "languages", "plans", "tasks"],
        ["consents"],
        ["appointments", "assessments", "basic", "languages", "plans", "tasks"],
    ]


def test_after_saving_a_sections_form_the_officer_is_back_on_the_page_with_the_section_open(
    client, officer, factory, db
):
    own = db.get(Organisation, officer.organisation_id)
    record = factory.client(own, first_names="Hodan", last_name="Ali")
    saved = post(
        client,
        f"/officer/clients/{record.id}/consents",
        {"purpose": "guidance_records", "given": "yes", "decided_on": today().isoformat()},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/officer/clients/{record.id}?open=consents#consents"
    assert (
        db.scalar(select(Consent.purpose).where(Consent.client_id == record.id))
        == ConsentPurpose.GUIDANCE_RECORDS
    )
    back = client.get(saved.headers["location"], headers=EN)
    section = back.text.split('id="consents"', 1)[1].split("</details>", 1)[0]
    assert "<td>Given</td>" in section
    assert "No consents recorded." not in section


def test_sections_of_another_organisations_client_are_not_found_and_not_audited(client, officer, factory, db):
    stranger = factory.client(factory.organisation("Muukunta"), first_names="Birgitta")
    for name in ON_DEMAND:
        response = client_section(client, stranger.id, name)
        assert response.status_code == 404, name
        assert "Birgitta" not in response.text
    assert client.get(f"/officer/clients/{stranger.id}?open=family").status_code == 404
    assert client_views(db, stranger.id) == []


def test_a_manager_and_county_staff_get_only_the_sections_they_see(client, officer, factory, db):
    own = db.get(Organisation, officer.organisation_id)
    record = factory.client(own, first_names="Hodan", last_name="Ali")
    manager = factory.staff(own, Role.MANAGER)
    client.cookies.clear()
    sign_in(client, manager)
    page = client.get(f"/officer/clients/{record.id}")
    shown = re.findall(r'<details class="on-demand" id="([a-z-]+)"', page.text)
    # No messaging permission, and health data is the integration officers' (or a health grant's).
    assert shown == [n for n in ON_DEMAND if n not in ("messages", "health")]
    assert client_section(client, record.id, "messages").status_code == 404
    assert client_section(client, record.id, "health").status_code == 404
    assert client_section(client, record.id, "retention").status_code == 200
