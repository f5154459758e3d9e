"""Initial guidance (process 3.4.6): a guidance plan of tasks for a client or a family, with a frequency that
tapers off; it ends when no longer needed, when the integration plan ends or when the client relationship
ends, and is read-only from then on. Through the access policy, audited with field names only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.audit import AuditEvent
from app.db.client import ClientAccessGrant, ClientStatus, DataCategory, FamilyLink, FamilyRelation
from app.db.guidance import (
    GuidancePlan,
    GuidancePlanEndReason,
    GuidancePlanStatus,
    GuidanceTask,
    GuidanceTaskKind,
)
from app.db.organisation import OrganisationType, Role, Staff
from app.db.plan import PlanStatus
from app.domain.forms import today
from app.domain.guidance_plans import UPCOMING_DAYS, next_due, upcoming
from app.domain.policy import Actor
from app.settings import async_database_url
from tests.conftest import client_section, post, sign_in
from tests.integration.test_me_plan import make_plan
from tests.integration.test_plans import attained, the_plan

NOTE = "Kuntapaikalle saapunut perhe, ohjaus aluksi päivittäin"
DESCRIPTION = "Lastentarhahakemuksen täyttäminen yhdessä"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


def days(n: int) -> date:
    return today() + timedelta(days=n)


class Scene:
    def __init__(self, factory, db):
        self.db = db
        self.home = factory.organisation("Kotikunta")
        self.officer = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.colleague = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.manager = factory.staff(self.home, Role.MANAGER)
        self.interpreter = factory.staff(self.home, Role.INTERPRETER)
        self.other = factory.organisation("Muukunta")
        self.stranger = factory.staff(self.other, Role.INTEGRATION_OFFICER)
        self.county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
        self.county_member = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.parent = factory.client(self.home, first_names="Amal", last_name="Haddad")
        self.child = factory.client(self.home, first_names="Yara", last_name="Haddad")
        self.unrelated = factory.client(self.home, first_names="Omar", last_name="Saleh")
        self.foreign = factory.client(self.other, first_names="Birgitta", last_name="Muukkonen")
        db.add_all(
            [
                FamilyLink(
                    client_id=self.parent.id,
                    related_client_id=self.child.id,
                    relation=FamilyRelation.GUARDIAN,
                ),
                FamilyLink(
                    client_id=self.child.id, related_client_id=self.parent.id, relation=FamilyRelation.CHILD
                ),
                ClientAccessGrant(
                    client_id=self.parent.id,
                    staff_id=self.county_member.id,
                    category=DataCategory.BASIC,
                    granted_by_id=self.officer.id,
                    reason="Monialainen yhteistyö",
                ),
            ]
        )
        db.commit()

    def plans(self, client=None) -> list[GuidancePlan]:
        self.db.expire_all()
        return list(
            self.db.scalars(
                select(GuidancePlan).where(GuidancePlan.client_id == (client or self.parent).id)
            ).all()
        )

    def task(self, task_id) -> GuidanceTask:
        self.db.expire_all()
        return self.db.get(GuidanceTask, task_id)

    def plan_row(self, client, *, starts_on=None, includes_family=False, status=GuidancePlanStatus.ACTIVE):
        plan = GuidancePlan(
            client_id=client.id,
            starts_on=starts_on or days(-30),
            includes_family=includes_family,
            status=status,
            created_by_id=self.officer.id,
        )
        if status == GuidancePlanStatus.ENDED:
            plan.ends_on = days(-1)
            plan.end_reason = GuidancePlanEndReason.NO_LONGER_NEEDED
        self.db.add(plan)
        self.db.commit()
        return plan

    def task_row(self, plan, **fields) -> GuidanceTask:
        values = {
            "kind": GuidanceTaskKind.HOUSING_GUIDANCE,
            "description": DESCRIPTION,
            "first_due_on": days(0),
        }
        values.update(fields)
        task = GuidanceTask(plan_id=plan.id, **values)
        self.db.add(task)
        self.db.commit()
        return task


@pytest.fixture
def scene(factory, db) -> Scene:
    return Scene(factory, db)


def as_(client, staff) -> None:
    client.cookies.clear()
    sign_in(client, staff)


def start(client, person, **overrides):
    data = {"starts_on": days(-10).isoformat(), "includes_family": "on", "note": NOTE}
    data.update(overrides)
    return post(client, f"/officer/clients/{person.id}/guidance-plan", data)


def task_form(**overrides) -> dict[str, str]:
    data = {
        "kind": "authority_help",
        "description": DESCRIPTION,
        "first_due_on": days(-2).isoformat(),
        "frequency": "once",
        "taper": "none",
    }
    data.update(overrides)
    return data


def add(client, plan, **overrides):
    return post(client, f"/officer/guidance-plans/{plan.id}/tasks", task_form(**overrides))


def started(client, scene: Scene, **overrides) -> GuidancePlan:
    as_(client, scene.officer)
    assert start(client, scene.parent, **overrides).status_code == 303
    (plan,) = scene.plans()
    return plan


def events(db, object_type: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type)).all())


def test_an_officer_starts_a_plan_and_the_client_page_shows_tasks_with_next_due_and_overdue(
    client, scene, db
):
    as_(client, scene.officer)
    assert (
        'id="guidance-plan-heading">Initial guidance</h2>'
        in client.get(f"/officer/clients/{scene.parent.id}").text
    )
    page = client_section(client, scene.parent.id, "guidance-plan")
    assert "Start an initial guidance plan" in page.text
    response = start(client, scene.parent)
    assert response.status_code == 303 and response.headers["location"].endswith("#guidance-plan")
    (plan,) = scene.plans()
    assert plan.status == GuidancePlanStatus.ACTIVE and plan.includes_family and plan.note == NOTE
    assert plan.starts_on == days(-10) and plan.created_by_id == scene.officer.id

    # An overdue once-task for the client, and a daily task for the child tapering off to weekly.
    assert add(client, plan).status_code == 303
    tapering = task_form(
        kind="housing_guidance",
        description="Kodin laitteet ja jätteiden lajittelu",
        for_client_id=str(scene.child.id),
        first_due_on=days(3).isoformat(),
        frequency="repeat",
        every_days="1",
        taper="less_often",
        taper_on=days(10).isoformat(),
        taper_every_days="7",
    )
    assert post(client, f"/officer/guidance-plans/{plan.id}/tasks", tapering).status_code == 303
    tasks = {t.kind: t for t in db.scalars(select(GuidanceTask).where(GuidanceTask.plan_id == plan.id))}
    housing = tasks[GuidanceTaskKind.HOUSING_GUIDANCE]
    assert housing.for_client_id == scene.child.id
    assert (housing.every_days, housing.taper_on, housing.taper_every_days) == (1, days(10), 7)
    assert tasks[GuidanceTaskKind.AUTHORITY_HELP].every_days is None

    page = client_section(client, scene.parent.id, "guidance-plan")
    assert page.status_code == 200
    assert "Help with authorities" in page.text and DESCRIPTION in page.text
    assert "Overdue" in page.text and "1 task overdue" in page.text
    assert "for Haddad, Yara" in page.text
    assert "Every day; from" in page.text and "every 7 days" in page.text
    assert "Start an initial guidance plan" not in page.text  # one at a time

    # Audited with field names only, under the client and under the family member the task is for.
    created = [e for e in events(db, "guidance_plan") if e.action == "create"]
    assert created and created[0].client_id == scene.parent.id and "note" in created[0].fields
    task_events = events(db, "guidance_task")
    assert {e.client_id for e in task_events if e.action == "create"} == {scene.parent.id, scene.child.id}
    assert {e.client_id for e in task_events if e.action == "view"} >= {scene.parent.id, scene.child.id}
    for record in events(db, "guidance_plan") + task_events:
        assert NOTE not in str(record.fields) and DESCRIPTION not in str(record.fields)


def test_a_second_active_plan_is_refused(client, scene):
    started(client, scene)
    response = start(client, scene.parent, note="Toinen")
    assert response.status_code == 409
    assert "already has an initial guidance plan in progress" in response.text
    assert "Toinen" in response.text  # the input kept
    assert len(scene.plans()) == 1


def test_bad_input_shows_the_form_again_with_the_values(client, scene):
    as_(client, scene.officer)
    response = start(client, scene.parent, starts_on="31.2.2026")
    assert response.status_code == 422 and "Enter the date as" in response.text and NOTE in response.text
    assert scene.plans() == []
    plan = started(client, scene)
    response = add(client, plan, description="", frequency="repeat", every_days="0")
    assert response.status_code == 422
    assert "Describe the task." in response.text and "from 1 to 365" in response.text
    assert 'aria-invalid="true"' in response.text


def test_tasks_for_a_family_member_only_when_linked_and_the_plan_includes_the_family(client, scene, db):
    plan = started(client, scene)
    response = add(client, plan, for_client_id=str(scene.unrelated.id))
    assert response.status_code == 422 and "family members linked to them" in response.text
    response = add(client, plan, for_client_id=str(scene.foreign.id))  # another organisation's client
    assert response.status_code == 422 and "Muukkonen" not in response.text
    response = add(client, plan, for_client_id=str(uuid.uuid4()))
    assert response.status_code == 422
    assert db.scalar(select(GuidanceTask.id)) is None
    assert add(client, plan, for_client_id=str(scene.child.id)).status_code == 303

    # A plan for the client only takes no task for a family member, even a linked one.
    plan.status = GuidancePlanStatus.ENDED
    plan.ends_on, plan.end_reason = days(0), GuidancePlanEndReason.NO_LONGER_NEEDED
    db.commit()
    assert start(client, scene.parent, includes_family="").status_code == 303
    (own,) = [p for p in scene.plans() if p.status == GuidancePlanStatus.ACTIVE]
    assert not own.includes_family
    response = add(client, own, for_client_id=str(scene.child.id))
    assert response.status_code == 422 and "This plan is for the client only" in response.text
    assert add(client, own).status_code == 303


def test_done_complete_recurring_and_no_longer_needed(client, scene, db):
    plan = started(client, scene)
    once = scene.task_row(plan, first_due_on=days(-2))
    weekly = scene.task_row(plan, first_due_on=days(-7), every_days=7, taper_on=days(20))
    url = f"/officer/guidance-plans/{plan.id}/tasks"

    response = post(
        client, f"{url}/{once.id}/done", {"version": str(once.version), "done_on": days(1).isoformat()}
    )
    assert response.status_code == 422 and "cannot be in the future" in response.text
    response = post(
        client, f"{url}/{once.id}/done", {"version": str(once.version), "done_on": days(-1).isoformat()}
    )
    assert response.status_code == 303
    once = scene.task(once.id)
    assert once.last_done_on == days(-1) and next_due(once) is None  # a once-task is then complete
    response = post(
        client, f"{url}/{once.id}/done", {"version": str(once.version), "done_on": days(0).isoformat()}
    )
    assert response.status_code == 409 and "Nothing more is due" in response.text

    assert (
        post(client, f"{url}/{weekly.id}/done", {"version": "1", "done_on": days(-3).isoformat()}).status_code
        == 303
    )
    weekly = scene.task(weekly.id)
    assert next_due(weekly) == days(4)
    response = post(
        client, f"{url}/{weekly.id}/done", {"version": str(weekly.version), "done_on": days(-4).isoformat()}
    )
    assert response.status_code == 422 and "last done on" in response.text
    page = client_section(client, scene.parent.id, "guidance-plan")
    assert "Done on" in page.text and "Every 7 days" in page.text

    assert post(client, f"{url}/{weekly.id}/not-needed", {"version": str(weekly.version)}).status_code == 303
    weekly = scene.task(weekly.id)
    assert weekly.completed_on == today() and next_due(weekly) is None
    assert "No longer needed since" in client_section(client, scene.parent.id, "guidance-plan").text
    updates = [e for e in events(db, "guidance_task") if e.action == "update"]
    assert sorted(tuple(e.fields) for e in updates) == [
        ("completed_on",),
        ("last_done_on",),
        ("last_done_on",),
    ]


def test_a_stale_edit_is_refused_with_the_input_kept(client, scene, db):
    plan = started(client, scene)
    task = scene.task_row(plan, first_due_on=days(2))
    edit = client.get(f"/officer/guidance-plans/{plan.id}/tasks/{task.id}/edit")
    assert edit.status_code == 200 and DESCRIPTION in edit.text
    seen = str(task.version)
    # Someone else saves first.
    url = f"/officer/guidance-plans/{plan.id}/tasks/{task.id}"
    first = task_form(
        kind="housing_guidance", description="Toisen virkailijan muutos", first_due_on=days(2).isoformat()
    )
    assert post(client, url, {**first, "version": seen}).status_code == 303
    mine = task_form(kind="info_session", description="Minun muutokseni", first_due_on=days(5).isoformat())
    response = post(client, url, {**mine, "version": seen})
    assert response.status_code == 409
    assert "Someone else changed this" in response.text
    assert "Minun muutokseni" in response.text  # the input kept
    assert "Saved:" in response.text and "Toisen virkailijan muutos" in response.text  # the saved values
    stored = scene.task(task.id)
    assert stored.description == "Toisen virkailijan muutos" and stored.first_due_on == days(2)
    assert f'name="version" value="{stored.version}"' in response.text  # save again to keep yours
    assert post(client, url, {**mine, "version": str(stored.version)}).status_code == 303
    assert scene.task(task.id).kind == GuidanceTaskKind.INFO_SESSION
    # A stale mark-done is refused too.
    response = post(client, f"{url}/done", {"version": seen, "done_on": days(0).isoformat()})
    assert response.status_code == 409 and scene.task(task.id).last_done_on is None


def test_the_officer_ends_the_plan_and_it_is_read_only(client, scene, db):
    plan = started(client, scene)
    task = scene.task_row(plan, first_due_on=days(-3))
    response = post(
        client, f"/officer/guidance-plans/{plan.id}/end", {"version": "0", "ends_on": days(0).isoformat()}
    )
    assert response.status_code == 409 and scene.plans()[0].status == GuidancePlanStatus.ACTIVE
    response = post(
        client,
        f"/officer/guidance-plans/{plan.id}/end",
        {"version": str(plan.version), "ends_on": days(-11).isoformat()},
    )
    assert response.status_code == 422 and "cannot end before it started" in response.text
    response = post(
        client,
        f"/officer/guidance-plans/{plan.id}/end",
        {"version": str(plan.version), "ends_on": days(0).isoformat()},
    )
    assert response.status_code == 303
    (ended,) = scene.plans()
    assert ended.status == GuidancePlanStatus.ENDED and ended.ends_on == days(0)
    assert ended.end_reason == GuidancePlanEndReason.NO_LONGER_NEEDED

    # Read-only: no task added, done, edited or dropped.
    url = f"/officer/guidance-plans/{plan.id}/tasks"
    assert add(client, ended).status_code == 409
    done = post(
        client, f"{url}/{task.id}/done", {"version": str(task.version), "done_on": days(0).isoformat()}
    )
    assert done.status_code == 409 and "has ended" in done.text
    assert post(client, f"{url}/{task.id}", {**task_form(), "version": str(task.version)}).status_code == 409
    assert post(client, f"{url}/{task.id}/not-needed", {"version": str(task.version)}).status_code == 409
    assert client.get(f"{url}/{task.id}/edit").status_code == 409
    stored = scene.task(task.id)
    assert (
        stored.last_done_on is None
        and stored.completed_on is None
        and len(db.scalars(select(GuidanceTask)).all()) == 1
    )
    page = client_section(client, scene.parent.id, "guidance-plan")
    assert "Ended guidance plans" in page.text and "No longer needed" in page.text
    assert f"{url}/{task.id}/done" not in page.text
    assert "Still open when the plan ended" in page.text and "Overdue" not in page.text
    again = post(
        client, f"/officer/guidance-plans/{plan.id}/end", {"version": str(ended.version), "ends_on": "x"}
    )
    assert again.status_code == 409 and "has ended" in again.text
    assert "Start an initial guidance plan" in page.text  # a new one may start


def test_ending_the_integration_plan_ends_the_guidance_plan(client, scene, db):
    integration = make_plan(db, scene.home, scene.officer, scene.parent)
    plan = started(client, scene)
    response = post(
        client,
        f"/officer/plans/{integration.id}/end",
        {
            "version": str(the_plan(db, integration.id).version),
            "outcome": "ended",
            "ended_on": days(-1).isoformat(),
            "end_reason": "employment",
            **attained(db, integration.id),
        },
    )
    assert response.status_code == 303
    assert the_plan(db, integration.id).status == PlanStatus.ENDED
    (ended,) = scene.plans()
    assert ended.id == plan.id and ended.status == GuidancePlanStatus.ENDED
    assert ended.end_reason == GuidancePlanEndReason.INTEGRATION_PLAN_ENDED and ended.ends_on == days(-1)
    assert any(e.action == "update" and "end_reason" in e.fields for e in events(db, "guidance_plan"))
    assert "The integration plan ended" in client_section(client, scene.parent.id, "guidance-plan").text


def test_a_lapsed_integration_plan_period_is_pointed_out(client, scene, db):
    integration = make_plan(db, scene.home, scene.officer, scene.parent)
    started(client, scene)
    assert (
        "The integration plan period ended"
        not in client_section(client, scene.parent.id, "guidance-plan").text
    )
    integration = the_plan(db, integration.id)
    integration.starts_on, integration.ends_on = days(-400), days(-5)
    db.commit()
    assert (
        "The integration plan period ended" in client_section(client, scene.parent.id, "guidance-plan").text
    )


def test_ending_the_client_relationship_ends_the_plan_and_the_client_is_read_only(client, scene, db):
    plan = started(client, scene)
    task = scene.task_row(plan)
    db.expire_all()
    version = db.get(type(scene.parent), scene.parent.id).version
    response = post(
        client,
        f"/officer/clients/{scene.parent.id}/end",
        {"ended_on": days(0).isoformat(), "end_reason": "moved_away", "version": str(version)},
    )
    assert response.status_code == 303
    (ended,) = scene.plans()
    assert ended.status == GuidancePlanStatus.ENDED and ended.end_reason == GuidancePlanEndReason.CLIENT_ENDED
    # The ended relationship is read-only (may_write_client): refused outright.
    assert start(client, scene.parent).status_code == 403
    url = f"/officer/guidance-plans/{plan.id}/tasks/{task.id}"
    assert (
        post(
            client, f"{url}/done", {"version": str(task.version), "done_on": days(0).isoformat()}
        ).status_code
        == 403
    )
    assert (
        post(
            client, f"/officer/guidance-plans/{plan.id}/end", {"version": "9", "ends_on": days(0).isoformat()}
        ).status_code
        == 403
    )
    page = client_section(client, scene.parent.id, "guidance-plan")
    assert page.status_code == 200 and "The client relationship ended" in page.text
    assert "Start an initial guidance plan" not in page.text and "Mark done" not in page.text


def test_access_other_organisation_county_manager_and_interpreter(client, scene, db):
    plan = started(client, scene)
    task = scene.task_row(plan)
    task_url = f"/officer/guidance-plans/{plan.id}/tasks/{task.id}"
    writes = [
        (f"/officer/clients/{scene.parent.id}/guidance-plan", {"starts_on": days(0).isoformat()}),
        (
            f"/officer/guidance-plans/{plan.id}/end",
            {"version": str(plan.version), "ends_on": days(0).isoformat()},
        ),
        (f"/officer/guidance-plans/{plan.id}/tasks", task_form()),
        (task_url, {**task_form(), "version": str(task.version)}),
        (f"{task_url}/done", {"version": str(task.version), "done_on": days(0).isoformat()}),
        (f"{task_url}/not-needed", {"version": str(task.version)}),
    ]

    def unchanged() -> None:
        (stored,) = scene.plans()
        assert stored.status == GuidancePlanStatus.ACTIVE and stored.version == plan.version
        assert scene.task(task.id).version == task.version
        assert len(db.scalars(select(GuidanceTask)).all()) == 1

    # Another organisation's officer: nothing of it exists (404).
    as_(client, scene.stranger)
    for url, data in writes:
        assert post(client, url, data).status_code == 404, url
    assert client.get(f"{task_url}/edit").status_code == 404
    listing = client.get("/officer/guidance-plans?everyone=true")
    assert listing.status_code == 200 and "Haddad" not in listing.text
    # An officer of the home organisation cannot reach the other organisation's client either.
    as_(client, scene.officer)
    assert start(client, scene.foreign).status_code == 404
    unchanged()

    # County staff with a grant read the plan on the client page but change nothing (403).
    as_(client, scene.county_member)
    assert 'id="guidance-plan"' in client.get(f"/officer/clients/{scene.parent.id}").text
    page = client_section(client, scene.parent.id, "guidance-plan")
    assert page.status_code == 200 and DESCRIPTION in page.text
    assert "Mark done" not in page.text and "Add a task" not in page.text
    for url, data in writes:
        assert post(client, url, data).status_code == 403, url
    assert client.get("/officer/guidance-plans").status_code == 403
    # Interpreters: no access to the register at all.
    as_(client, scene.interpreter)
    for url, data in writes:
        assert post(client, url, data).status_code == 403, url
    assert client.get(f"/officer/clients/{scene.parent.id}").status_code == 403
    assert client_section(client, scene.parent.id, "guidance-plan").status_code == 403
    assert client.get("/officer/guidance-plans").status_code == 403
    # Managers read, and see everyone's upcoming tasks, but change nothing.
    as_(client, scene.manager)
    assert DESCRIPTION in client_section(client, scene.parent.id, "guidance-plan").text
    for url, data in writes:
        assert post(client, url, data).status_code == 403, url
    listing = client.get("/officer/guidance-plans")
    assert listing.status_code == 200 and "Haddad, Amal" in listing.text
    unchanged()


def test_upcoming_guidance_tasks_of_the_officers_clients(client, scene, db, factory):
    mine = factory.client(
        scene.home, first_names="Minun", last_name="Asiakas", responsible_officer_id=scene.officer.id
    )
    theirs = factory.client(
        scene.home, first_names="Kollegan", last_name="Asiakas", responsible_officer_id=scene.colleague.id
    )
    nobodys = scene.parent  # nobody responsible
    ended_client = factory.client(
        scene.home, first_names="Päättynyt", last_name="Asiakas", status=ClientStatus.ENDED, ended_on=days(-1)
    )
    foreign_plan = scene.plan_row(scene.foreign)
    scene.task_row(foreign_plan, first_due_on=days(-1), description="Muukunnan tehtävä")
    my_plan = scene.plan_row(mine, includes_family=True)
    expected: dict[str, date] = {}

    def task(plan, name, **fields):
        created = scene.task_row(plan, description=name, **fields)
        due = next_due(created)
        if due is not None and due <= days(UPCOMING_DAYS):
            expected[name] = due
        return created

    task(my_plan, "Myöhässä kerran", first_due_on=days(-5))
    task(my_plan, "Tänään", first_due_on=days(0), every_days=3)
    task(my_plan, "Kahden viikon päästä", first_due_on=days(UPCOMING_DAYS))
    task(my_plan, "Liian kaukana", first_due_on=days(UPCOMING_DAYS + 1))
    task(my_plan, "Tehty kerran", first_due_on=days(-5), last_done_on=days(-4))
    task(my_plan, "Viikoittain tehty eilen", first_due_on=days(-20), every_days=7, last_done_on=days(-1))
    task(my_plan, "Kuukausittain tehty", first_due_on=days(-40), every_days=30, last_done_on=days(-25))
    task(my_plan, "Harvenee huomenna", first_due_on=days(-20), every_days=2, taper_on=days(1),
         taper_every_days=20, last_done_on=days(-1))  # fmt: skip
    task(my_plan, "Harvenee ennen", first_due_on=days(-20), every_days=2, taper_on=days(2),
         taper_every_days=20, last_done_on=days(-1))  # fmt: skip
    task(my_plan, "Loppuu", first_due_on=days(-20), every_days=1, taper_on=days(0), last_done_on=days(-1))
    task(my_plan, "Ei enää tarpeen", first_due_on=days(-5), completed_on=days(-1))
    task(my_plan, "Lapselle", first_due_on=days(-1), for_client_id=scene.child.id)
    task(scene.plan_row(nobodys), "Ei vastuuhenkilöä", first_due_on=days(1))
    colleague_task = scene.task_row(
        scene.plan_row(theirs), description="Kollegan tehtävä", first_due_on=days(1)
    )
    ended_plan = scene.plan_row(scene.unrelated, status=GuidancePlanStatus.ENDED)
    scene.task_row(ended_plan, description="Päättynyt suunnitelma", first_due_on=days(-1))
    scene.task_row(scene.plan_row(ended_client), description="Päättynyt asiakkuus", first_due_on=days(-1))
    assert set(expected) == {
        "Myöhässä kerran", "Tänään", "Kahden viikon päästä", "Viikoittain tehty eilen", "Kuukausittain tehty",
        "Harvenee ennen", "Lapselle", "Ei vastuuhenkilöä",
    }  # fmt: skip

    as_(client, scene.officer)
    page = client.get("/officer/guidance-plans")
    assert page.status_code == 200
    listed = [name for name in expected if name in page.text]
    assert listed == list(expected)
    for absent in ("Liian kaukana", "Tehty kerran", "Harvenee huomenna", "Loppuu", "Ei enää tarpeen",
                   "Kollegan tehtävä", "Päättynyt suunnitelma", "Päättynyt asiakkuus", "Muukunnan tehtävä"):  # fmt: skip
        assert absent not in page.text, absent
    # Ordered by the due date, overdue ones first and marked.
    positions = sorted(expected, key=lambda name: page.text.index(name))
    assert positions == sorted(expected, key=lambda name: (expected[name], page.text.index(name)))
    overdue_part = page.text.split('id="coming-heading"')[0]
    assert "Myöhässä kerran" in overdue_part and "Lapselle" in overdue_part and "Tänään" not in overdue_part
    assert "for Haddad, Yara" in page.text
    assert any(e.action == "view" and e.client_id == mine.id for e in events(db, "guidance_task"))

    everyone = client.get("/officer/guidance-plans?everyone=true")
    assert "Kollegan tehtävä" in everyone.text and scene.colleague.full_name in everyone.text
    assert "Muukunnan tehtävä" not in everyone.text
    assert colleague_task.id  # listed only for everyone


@pytest.mark.parametrize("clients", [1, 12])
def test_the_upcoming_list_reads_in_a_fixed_number_of_queries(scene, factory, database_url, clients):
    """No query per row: the same number of SELECTs for one client as for a dozen (audit events aside)."""
    for n in range(clients):
        person = factory.client(scene.home, first_names=f"Asiakas{n}", last_name="Testi")
        plan = scene.plan_row(person, includes_family=True)
        scene.task_row(plan, first_due_on=days(-1))
        scene.task_row(
            plan, first_due_on=days(-9), every_days=7, last_done_on=days(-2), for_client_id=scene.child.id
        )

    async def run() -> tuple[int, int]:
        engine = create_async_engine(async_database_url(database_url))
        selects = 0

        def count(_conn, _cursor, statement, *_args) -> None:
            nonlocal selects
            selects += statement.lstrip().upper().startswith("SELECT")

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        async with AsyncSession(engine) as session:
            staff = await session.get(Staff, scene.manager.id)
            assert staff is not None
            actor = Actor(
                staff.id, scene.home.id, OrganisationType.MUNICIPALITY, frozenset({Role.MANAGER}), ""
            )
            found = await upcoming(session, actor, today(), everyone=True)
            await session.rollback()
        await engine.dispose()
        return selects - 1, len(found.rows)  # less the staff lookup above

    selects, rows = asyncio.run(run())
    assert rows == 2 * clients
    assert selects == 2  # the tasks with their clients, and the responsible officers' names
