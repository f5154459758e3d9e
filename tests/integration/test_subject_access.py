"""Subject-access export for officers: the client's data as one JSON file, audited, health only for
those who may read it."""

import json

from sqlalchemy import select

from app.db.audit import AuditEvent
from app.db.client import HealthInformation
from app.db.organisation import Role
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
