"""Subject-access export for officers: the client's data as one JSON file and as a printable page,
audited, health only for those who may read it, answered by the responsible organisation (also after
the relationship has ended)."""

import json
from datetime import date

from sqlalchemy import select, update

from app.db.appointment import Task
from app.db.audit import AuditEvent
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientStatus,
    Consent,
    ConsentPurpose,
    DataCategory,
    EndReason,
    HealthInformation,
)
from app.db.messaging import AuthorKind, Message, Thread
from app.db.organisation import OrganisationType, Role
from app.routes.officer import subject_access
from tests.conftest import sign_in


def test_an_officer_downloads_everything_held_about_the_client_and_it_is_audited(client, factory, db):
    home = factory.organisation("Kotikunta")
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    person = factory.client(home, first_names="Amina", last_name="Yusuf")
    db.add(
        HealthInformation(client_id=person.id, text="Selkävaiva", source="Asiakas", recorded_by_id=officer.id)
    )
    db.commit()
    sign_in(client, officer)
    page = client.get(f"/officer/clients/{person.id}?lang=en")
    assert f'href="/officer/clients/{person.id}/subject-access.json"' in page.text

    response = client.get(f"/officer/clients/{person.id}/subject-access.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "Amina" not in response.headers["content-disposition"]
    data = json.loads(response.content)
    assert data["personal_details"]["first_names"] == "Amina"
    assert data["health_information"][0]["text"] == "Selkävaiva"
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "export", AuditEvent.client_id == person.id)
    )
    assert event is not None and event.actor_id == officer.id and "health_information" in event.fields


def test_a_manager_may_not_export_and_another_organisation_sees_nothing(client, factory, db):
    home = factory.organisation("Kotikunta")
    person = factory.client(home)
    manager = factory.staff(home, Role.MANAGER)
    sign_in(client, manager)
    assert client.get(f"/officer/clients/{person.id}/subject-access.json").status_code == 403
    client.cookies.clear()
    stranger = factory.staff(factory.organisation("Muukunta"), Role.INTEGRATION_OFFICER)
    sign_in(client, stranger)
    assert client.get(f"/officer/clients/{person.id}/subject-access.json").status_code == 404


# --- the printable view (issue 6) -----------------------------------------------------------------


def _rich_client(factory, db):
    home = factory.organisation("Kotikunta")
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    person = factory.client(
        home,
        first_names="Amina",
        last_name="Yusuf",
        identity_code="010180-123A",
        mother_tongue="so",
        phone="+358401234567",
    )
    thread = Thread(client_id=person.id, organisation_id=home.id, subject="Asunto")
    db.add(thread)
    db.flush()
    db.add_all(
        [
            HealthInformation(
                client_id=person.id, text="Selkävaiva", source="Asiakas", recorded_by_id=officer.id
            ),
            Consent(
                client_id=person.id,
                purpose=ConsentPurpose.GUIDANCE_RECORDS,
                given=True,
                decided_on=date(2026, 1, 5),
                recorded_by_id=officer.id,
            ),
            Message(thread_id=thread.id, author_kind=AuthorKind.CLIENT, language="so", body="Mahadsanid"),
            Task(
                organisation_id=home.id,
                title="Soita Kelaan",
                assignee_id=officer.id,
                client_id=person.id,
                created_by_id=officer.id,
            ),
        ]
    )
    db.commit()
    return home, officer, person


def test_the_printable_view_shows_everything_held_with_headings_and_tables(client, factory, db):
    _home, officer, person = _rich_client(factory, db)
    sign_in(client, officer)
    page = client.get(f"/officer/clients/{person.id}?lang=en").text
    assert f'href="/officer/clients/{person.id}/subject-access"' in page
    assert f'href="/officer/clients/{person.id}/subject-access.json"' in page

    response = client.get(f"/officer/clients/{person.id}/subject-access?lang=en")
    assert response.status_code == 200
    text = response.text
    assert "<h1>All data held about the client</h1>" in text
    for heading in ("Personal details", "Consents", "Health and functional capacity", "Assessments",
                    "Integration plans", "Appointments", "Messages", "Work on the client", "Notifications"):  # fmt: skip
        assert f">{heading}" in text, heading
    # The organisation answering and the date; the same data as the file, the identity code in full.
    assert "Kotikunta" in text and "Information as of" in text
    for value in ("Yusuf", "010180-123A", "Selkävaiva", "Mahadsanid", "Soita Kelaan", "Somali"):
        assert value in text, value
    assert '<th scope="row">' in text and '<th scope="col">' in text
    # For print: the back link and the hints are outside the printout; the navigation is hidden by CSS.
    assert 'class="no-print"' in text and 'class="main-nav"' in text
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "export", AuditEvent.client_id == person.id)
    ).all()
    assert len(events) == 1 and "health_information" in events[0].fields and events[0].actor_id == officer.id


def test_the_printable_view_follows_the_rules_of_the_export(client, factory, db):
    home, officer, person = _rich_client(factory, db)
    urls = (
        f"/officer/clients/{person.id}/subject-access",
        f"/officer/clients/{person.id}/subject-access.json",
    )
    stranger = factory.staff(factory.organisation("Muukunta"), Role.INTEGRATION_OFFICER)
    sign_in(client, stranger)
    assert [client.get(u).status_code for u in urls] == [404, 404]
    for role in (Role.MANAGER, Role.ADMINISTRATOR):
        client.cookies.clear()
        sign_in(client, factory.staff(home, role))
        assert [client.get(u).status_code for u in urls] == [403, 403]
    county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    member = factory.staff(county, Role.COUNTY_TEAM_MEMBER)
    db.add(ClientAccessGrant(client_id=person.id, staff_id=member.id, category=DataCategory.HEALTH,
                             granted_by_id=officer.id, reason="Monialainen yhteistyö"))  # fmt: skip
    db.commit()
    client.cookies.clear()
    sign_in(client, member)
    assert client.get(f"/officer/clients/{person.id}").status_code == 200  # they read the client…
    assert [client.get(u).status_code for u in urls] == [403, 403]  # …but the organisation answers
    assert not db.scalar(select(AuditEvent).where(AuditEvent.action == "export"))


def test_health_information_is_left_out_for_an_officer_who_may_not_read_it(client, factory, db, monkeypatch):
    _home, officer, person = _rich_client(factory, db)

    async def no_health(*_args):
        return False

    monkeypatch.setattr(subject_access, "may_read_health", no_health)
    sign_in(client, officer)
    page = client.get(f"/officer/clients/{person.id}/subject-access?lang=en").text
    assert "Selkävaiva" not in page and "Health information is not included" in page
    assert "Yusuf" in page
    data = json.loads(client.get(f"/officer/clients/{person.id}/subject-access.json").content)
    assert data["health_information"] == []
    for event in db.scalars(select(AuditEvent).where(AuditEvent.action == "export")):
        assert "health_information" not in event.fields


def test_an_ended_relationship_is_still_answered(client, factory, db):
    _home, officer, person = _rich_client(factory, db)
    db.execute(
        update(Client)
        .where(Client.id == person.id)
        .values(status=ClientStatus.ENDED, ended_on=date(2025, 12, 31), end_reason=EndReason.MOVED_AWAY)
    )
    db.commit()
    sign_in(client, officer)
    assert "Selkävaiva" in client.get(f"/officer/clients/{person.id}/subject-access?lang=en").text
    assert client.get(f"/officer/clients/{person.id}/subject-access.json").status_code == 200
