"""Tasks (service 9) through HTTP: my tasks with the overdue ones first, done/undone, tasks about a
client on the client page, optimistic locking, and another organisation's tasks out of reach."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db.appointment import Task
from app.db.audit import AuditEvent
from app.db.client import Client
from app.db.organisation import OrganisationType, Role
from app.domain.forms import today
from tests.conftest import post, sign_in


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)


@pytest.fixture
def elsewhere(factory):
    return factory.organisation("Toinen kunta", OrganisationType.MUNICIPALITY)


@pytest.fixture
def officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    client.get("/officer/?lang=en")
    return person


def add(client, **fields) -> uuid.UUID:
    form = [(k, str(v)) for k, v in fields.items() if k != "client_id"]
    if "client_id" in fields:
        form.append(("client_id", str(fields["client_id"])))
    response = post(client, "/officer/tasks/new", form)
    assert response.status_code == 303, response.text
    return response


def the(db, task_id) -> Task:
    db.expire_all()
    return db.get(Task, task_id)


def task_by_title(db, title) -> Task:
    db.expire_all()
    return db.scalars(select(Task).where(Task.title == title)).one()


def test_my_tasks_open_first_with_the_overdue_ones_marked(client, officer, db):
    add(
        client, title="Soita Kelaan", due_on=(today() + timedelta(days=3)).isoformat(), assignee_id=officer.id
    )
    add(
        client,
        title="Lähetä lausunto",
        due_on=(today() - timedelta(days=2)).isoformat(),
        assignee_id=officer.id,
    )
    add(client, title="Ilman päivää", assignee_id=officer.id)
    done = task_by_title(db, "Soita Kelaan")
    post(client, f"/officer/tasks/{done.id}/toggle", {"done": "1"})
    page = client.get("/officer/tasks")
    assert page.status_code == 200
    to_do = page.text.split('id="open-heading"', 1)[1].split('id="done-heading"', 1)[0]
    titles = re.findall(r'/edit">([^<]+)</a>', to_do)
    assert titles == ["Lähetä lausunto", "Ilman päivää"]  # by due date, undated last, done below
    overdue = re.search(r'<li class="is-overdue">.*?</li>', to_do, re.S).group(0)
    assert "Lähetä lausunto" in overdue and "overdue" in overdue
    assert "Soita Kelaan" in page.text.split('id="done-heading"', 1)[1]


def test_done_and_undone(client, officer, db):
    add(client, title="Tarkista asiakirjat", assignee_id=officer.id)
    task = task_by_title(db, "Tarkista asiakirjat")
    assert post(client, f"/officer/tasks/{task.id}/toggle", {"done": "1"}).status_code == 303
    first_done = the(db, task.id).done_at
    assert first_done is not None
    # A second "done" (two people clicking at once) changes nothing.
    post(client, f"/officer/tasks/{task.id}/toggle", {"done": "1"})
    assert the(db, task.id).done_at == first_done
    post(client, f"/officer/tasks/{task.id}/toggle", {"done": "0"})
    assert the(db, task.id).done_at is None


def test_a_task_for_a_colleague_about_a_client_shows_on_the_client_page(client, officer, factory, db, home):
    colleague = factory.staff(home, Role.INTEGRATION_OFFICER)
    amina = factory.client(home, first_names="Amina", last_name="Hassan")
    form = client.get(f"/officer/tasks/new?client={amina.id}")
    assert form.status_code == 200 and "Hassan, Amina" in form.text
    response = add(
        client,
        title="Varaa tulkki",
        note="Arabia, paikan päällä",
        due_on=(today() + timedelta(days=1)).isoformat(),
        assignee_id=colleague.id,
        client_id=amina.id,
        return_to="client",
    )
    assert response.headers["location"] == f"/officer/clients/{amina.id}#tasks"
    task = task_by_title(db, "Varaa tulkki")
    assert (task.assignee_id, task.client_id, task.created_by_id) == (colleague.id, amina.id, officer.id)
    created = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "task")).one()
    assert created.client_id == amina.id and "Arabia" not in str(created.fields)
    page = client.get(f"/officer/clients/{amina.id}")
    section = page.text.split('id="tasks"', 1)[1].split('id="interpretations"', 1)[0]
    assert "Varaa tulkki" in section and colleague.full_name in section
    assert f'href="/officer/tasks/new?client={amina.id}"' in section
    # The giver sees it among the tasks given to others; the colleague among their own.
    assert "Varaa tulkki" in client.get("/officer/tasks").text.split('id="given-heading"', 1)[1]
    sign_in(client, colleague)
    client.get("/officer/?lang=en")
    mine = client.get("/officer/tasks").text.split('id="open-heading"', 1)[1]
    assert "Varaa tulkki" in mine and "Hassan, Amina" in mine


def test_a_stale_edit_is_refused_with_the_input_kept(client, officer, db):
    add(client, title="Alkuperäinen", assignee_id=officer.id)
    task = task_by_title(db, "Alkuperäinen")
    stale = {"title": "Minun versioni", "assignee_id": str(officer.id), "version": str(task.version)}
    first = post(
        client,
        f"/officer/tasks/{task.id}/edit",
        {"title": "Toisen versio", "assignee_id": str(officer.id), "version": str(task.version)},
    )
    assert first.status_code == 303
    response = post(client, f"/officer/tasks/{task.id}/edit", stale)
    assert response.status_code == 409
    assert "Someone else saved this task after you opened it" in response.text
    assert "Minun versioni" in response.text and "Toisen versio" in response.text
    assert the(db, task.id).title == "Toisen versio"


def test_a_task_needs_a_title(client, officer, db):
    response = post(
        client, "/officer/tasks/new", {"title": " ", "note": "Muistiinpano", "assignee_id": str(officer.id)}
    )
    assert response.status_code == 422
    assert "Write what is to be done." in response.text and "Muistiinpano" in response.text
    assert db.scalar(select(Task)) is None


def test_another_organisations_tasks_people_and_clients_are_out_of_reach(
    client, officer, factory, db, home, elsewhere
):
    stranger = factory.staff(elsewhere, Role.INTEGRATION_OFFICER)
    secret = factory.client(elsewhere, first_names="Salainen", last_name="Asiakas")
    theirs = Task(
        organisation_id=elsewhere.id,
        title="Salainen tehtävä",
        assignee_id=stranger.id,
        created_by_id=stranger.id,
        client_id=secret.id,
    )
    db.add(theirs)
    db.commit()
    assert client.get(f"/officer/tasks/{theirs.id}/edit").status_code == 404
    for url, body in (
        (f"/officer/tasks/{theirs.id}/edit", {"title": "x", "assignee_id": str(officer.id), "version": "1"}),
        (f"/officer/tasks/{theirs.id}/toggle", {"done": "1"}),
    ):
        assert post(client, url, body).status_code == 404, url
    db.expire_all()
    assert db.get(Task, theirs.id).done_at is None and db.get(Task, theirs.id).title == "Salainen tehtävä"
    assert "Salainen" not in client.get("/officer/tasks").text
    # Nor can an own task be given to another organisation's staff or be about its client.
    assert (
        post(client, "/officer/tasks/new", {"title": "x", "assignee_id": str(stranger.id)}).status_code == 404
    )
    assert (
        post(
            client,
            "/officer/tasks/new",
            {"title": "x", "assignee_id": str(officer.id), "client_id": str(secret.id)},
        ).status_code
        == 404
    )
    assert client.get(f"/officer/tasks/new?client={secret.id}").status_code == 404
    assert db.scalars(select(Task)).all() == [db.get(Task, theirs.id)]


def test_a_task_about_a_client_moved_elsewhere_is_no_longer_shown(
    client, officer, factory, db, home, elsewhere
):
    amina = factory.client(home, first_names="Amina", last_name="Hassan")
    add(client, title="Siirtyvän asiakkaan tehtävä", assignee_id=officer.id, client_id=amina.id)
    task = task_by_title(db, "Siirtyvän asiakkaan tehtävä")
    db.get(Client, amina.id).organisation_id = elsewhere.id  # transferred to another authority
    db.commit()
    assert "Siirtyvän" not in client.get("/officer/tasks").text
    assert client.get(f"/officer/tasks/{task.id}/edit").status_code == 404


def test_a_manager_keeps_tasks_without_clients_but_does_not_write_clients(client, factory, db, home):
    amina = factory.client(home, first_names="Amina", last_name="Hassan")
    manager = factory.staff(home, Role.MANAGER)
    sign_in(client, manager)
    assert add(client, title="Tiimipalaveri", assignee_id=manager.id)
    response = post(
        client,
        "/officer/tasks/new",
        {"title": "x", "assignee_id": str(manager.id), "client_id": str(amina.id)},
    )
    assert response.status_code == 403
    assert [t.title for t in db.scalars(select(Task))] == ["Tiimipalaveri"]
