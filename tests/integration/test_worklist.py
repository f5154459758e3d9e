"""Deadline worklists through HTTP: every kind of item with its due date, overdue flag and link; items
leave when the work is done; whose items an officer and a team lead see; audit; no N+1 queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app import i18n
from app.db.assessment import Assessment, AssessmentStatus, PlanNeed
from app.db.audit import AuditEvent
from app.db.client import Client, ClientStatus
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.db.plan import (
    ClientTransfer,
    IntegrationPlan,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
)
from app.domain import rules, worklist
from app.domain.forms import today
from tests.conftest import Factory, sign_in

T = today()


def days(n: int) -> date:
    return T + timedelta(days=n)


# --- reading the page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    section: str  # "mine", "unassigned" or "team"
    kind: str
    link: str
    name: str
    due: str
    overdue: bool
    text: str


TABLE = re.compile(r'<table class="results worklist" aria-labelledby="(\w+)-(\w+)">(.*?)</table>', re.S)
ROW = re.compile(
    r'<tr( class="overdue")?>\s*<td><a href="([^"]+)">([^<]+)</a></td>\s*'
    r'<td data-label="[^"]*">([^<]+?)\s*(?:<strong[^>]*>[^<]*</strong>)?</td>\s*'
    r'<td data-label="[^"]*">(.*?)</td>',
    re.S,
)


def shown(html: str) -> list[Shown]:
    return [
        Shown(section, kind, link, name, due.strip(), bool(overdue), text.strip())
        for section, kind, body in TABLE.findall(html)
        for overdue, link, name, due, text in ROW.findall(body)
    ]


def shown_date(day: date) -> str:
    """A date as the page shows it (the tests read the page in English, the msgid language)."""
    i18n.set_locale("en")
    return i18n.format_date(day)


@pytest.fixture(autouse=True)
def english(client: Any) -> None:
    client.headers["Accept-Language"] = "en"


def of(items: list[Shown], kind: str, client: Client) -> list[Shown]:
    return [i for i in items if i.kind == kind and i.name == client.display_name]


def page(http: Any, url: str = "/officer/worklist") -> list[Shown]:
    response = http.get(url)
    assert response.status_code == 200, response.text
    return shown(response.text)


# --- building rows --------------------------------------------------------------------------------


class Rows:
    def __init__(self, db: Session, factory: Factory, org: Organisation, officer: Staff) -> None:
        self.db, self.factory, self.org, self.officer = db, factory, org, officer

    def client(self, name: str, **fields: Any) -> Client:
        fields.setdefault("responsible_officer_id", self.officer.id)
        fields.setdefault("known_on", days(-3))
        return self.factory.client(fields.pop("organisation", self.org), last_name=name, **fields)

    def assessment(self, client: Client, status: AssessmentStatus, **fields: Any) -> Assessment:
        number = 1 + len(
            self.db.scalars(select(Assessment.id).where(Assessment.client_id == client.id)).all()
        )
        row = Assessment(
            client_id=client.id,
            organisation_id=client.organisation_id,
            number=number,
            status=status,
            assessed_on=fields.pop("assessed_on", days(-2)),
            created_by_id=self.officer.id,
            officer_id=self.officer.id,
            **fields,
        )
        self.db.add(row)
        self.db.commit()
        return row

    def plan(
        self, client: Client, status: PlanStatus = PlanStatus.IN_FORCE, **fields: Any
    ) -> IntegrationPlan:
        number = 1 + len(
            self.db.scalars(select(IntegrationPlan.id).where(IntegrationPlan.client_id == client.id)).all()
        )
        values: dict[str, Any] = {
            "starts_on": days(-10),
            "ends_on": days(300),
            "next_review_on": days(150),
        }
        values.update(fields)
        row = IntegrationPlan(
            client_id=client.id,
            organisation_id=client.organisation_id,
            number=number,
            status=status,
            officer_id=self.officer.id,
            **values,
        )
        self.db.add(row)
        self.db.commit()
        return row

    def service(self, plan: IntegrationPlan, status: PlanServiceStatus, position: int) -> PlanService:
        row = PlanService(
            plan_id=plan.id, position=position, kind=PlanServiceKind.OTHER, name="Service", status=status
        )
        self.db.add(row)
        self.db.commit()
        return row

    def transfer(self, client: Client, to: Organisation, on: date) -> ClientTransfer:
        source = self.factory.organisation(type=OrganisationType.EMPLOYMENT_AUTHORITY)
        row = ClientTransfer(
            client_id=client.id,
            from_organisation_id=source.id,
            to_organisation_id=to.id,
            transferred_on=on,
            reason="Moved to the municipality's services",
            transferred_by_id=self.officer.id,
        )
        self.db.add(row)
        self.db.commit()
        return row

    def update(self, row: Any, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(row, name, value)
        self.db.commit()


@pytest.fixture
def org(factory: Factory) -> Organisation:
    return factory.organisation("Kotikunta")


@pytest.fixture
def officer(factory: Factory, org: Organisation) -> Staff:
    return factory.staff(org, Role.INTEGRATION_OFFICER)


@pytest.fixture
def rows(db: Session, factory: Factory, org: Organisation, officer: Staff) -> Rows:
    return Rows(db, factory, org, officer)


@pytest.fixture
def as_officer(client: Any, officer: Staff) -> Any:
    sign_in(client, officer)
    return client


# --- each kind ------------------------------------------------------------------------------------


def test_known_but_not_assessed_due_by_the_own_target(as_officer: Any, rows: Rows) -> None:
    late = rows.client("Late", known_on=days(-20))  # due 14 days after: 6 days ago
    fresh = rows.client("Fresh", known_on=T)
    drafted = rows.client("Drafted", known_on=days(-1))
    draft = rows.assessment(drafted, AssessmentStatus.DRAFT)

    items = page(as_officer)
    [item] = of(items, "known_not_assessed", late)
    assert (item.section, item.due, item.overdue) == ("mine", shown_date(days(-6)), True)
    assert item.link == f"/officer/clients/{late.id}#assessments"
    assert "14(2)" in item.text and "Assessment to start" in item.text
    [item] = of(items, "known_not_assessed", fresh)
    assert (item.due, item.overdue) == (shown_date(days(14)), False)
    [item] = of(items, "known_not_assessed", drafted)
    assert item.link == f"/officer/assessments/{draft.id}"
    assert "in progress" in item.text
    # Overdue first, then by due date.
    assert [i.name for i in items if i.kind == "known_not_assessed"] == [
        late.display_name,
        drafted.display_name,
        fresh.display_name,
    ]

    rows.update(draft, status=AssessmentStatus.COMPLETED, plan_need=PlanNeed.NOT_NEEDED)
    assert of(page(as_officer), "known_not_assessed", drafted) == []


def test_an_amended_assessment_still_counts_as_assessed(as_officer: Any, rows: Rows) -> None:
    person = rows.client("Amended")
    rows.assessment(person, AssessmentStatus.SUPERSEDED)
    rows.assessment(person, AssessmentStatus.DRAFT)  # the amendment being written
    assert of(page(as_officer), "known_not_assessed", person) == []


def test_plan_due_after_an_assessment_that_needs_one(as_officer: Any, rows: Rows) -> None:
    agreed = rows.client("Agreed")
    assessment = rows.assessment(
        agreed, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NEEDED, planned_plan_date=days(10)
    )
    at_once = rows.client("AtOnce")
    rows.assessment(at_once, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NEEDED, assessed_on=days(-4))
    near_limit = rows.client("NearLimit", first_permit_date=rules.add_years(days(5), -3))
    rows.assessment(
        near_limit, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NEEDED, planned_plan_date=days(40)
    )
    not_needed = rows.client("NotNeeded")
    rows.assessment(not_needed, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NOT_NEEDED)

    items = page(as_officer)
    [item] = of(items, "plan_due", agreed)
    assert (item.due, item.overdue, item.link) == (
        shown_date(days(10)),
        False,
        f"/officer/clients/{agreed.id}#plans",
    )
    assert "section 20" in item.text
    [item] = of(items, "plan_due", at_once)
    assert (item.due, item.overdue) == (shown_date(days(-4)), True)  # no date agreed: without delay
    [item] = of(items, "plan_due", near_limit)
    assert item.due == shown_date(rules.plan_deadline(near_limit.first_permit_date))  # the three years win
    assert of(items, "plan_due", not_needed) == []

    rows.plan(agreed, PlanStatus.DRAFT, assessment_id=assessment.id)
    assert of(page(as_officer), "plan_due", agreed) == []

    # An amendment while a plan is in force: that plan is updated, no second plan is due.
    amended = rows.client("Amended")
    first = rows.assessment(amended, AssessmentStatus.SUPERSEDED, plan_need=PlanNeed.NEEDED)
    rows.plan(amended, assessment_id=first.id)
    rows.assessment(amended, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NEEDED)
    assert of(page(as_officer), "plan_due", amended) == []


def test_services_to_refer_within_a_month_of_the_plan(as_officer: Any, rows: Rows) -> None:
    person = rows.client("Services")
    plan = rows.plan(person, starts_on=days(-40))
    first = rows.service(plan, PlanServiceStatus.PLANNED, 1)
    second = rows.service(plan, PlanServiceStatus.PLANNED, 2)
    rows.service(plan, PlanServiceStatus.REFERRED, 3)
    draft_plan = rows.plan(rows.client("DraftPlan"), PlanStatus.DRAFT)
    rows.service(draft_plan, PlanServiceStatus.PLANNED, 1)

    items = page(as_officer)
    [item] = of(items, "service_to_refer", person)
    assert item.due == shown_date(rules.add_months(days(-40), 1))
    assert item.overdue is True
    assert item.link == f"/officer/plans/{plan.id}#services"
    assert "2 services to refer" in item.text and "section 20" in item.text
    assert [i for i in items if i.kind == "service_to_refer" and i.name != person.display_name] == []

    rows.update(first, status=PlanServiceStatus.REFERRED, referred_on=T)
    [item] = of(page(as_officer), "service_to_refer", person)
    assert "1 service to refer" in item.text
    rows.update(second, status=PlanServiceStatus.STARTED)
    assert of(page(as_officer), "service_to_refer", person) == []


def test_reviews_due_within_30_days_and_overdue(as_officer: Any, rows: Rows) -> None:
    soon = rows.client("Soon")
    soon_plan = rows.plan(soon, next_review_on=days(30))
    late = rows.client("LateReview")
    rows.plan(late, next_review_on=days(-1))
    later = rows.client("Later")
    rows.plan(later, next_review_on=days(31))
    never = rows.client("NeverSet")
    never_plan = rows.plan(never, starts_on=rules.add_months(days(10), -6), next_review_on=None)
    ended = rows.client("EndedPlan")
    rows.plan(ended, PlanStatus.ENDED, next_review_on=days(-5), ended_on=days(-1))

    items = page(as_officer)
    [item] = of(items, "review_due", soon)
    assert (item.due, item.overdue, item.link) == (
        shown_date(days(30)),
        False,
        f"/officer/plans/{soon_plan.id}#reviews",
    )
    assert "Review due (section 22: at least every six months)" in item.text
    [item] = of(items, "review_due", late)
    assert (item.due, item.overdue) == (shown_date(days(-1)), True)
    assert of(items, "review_due", later) == []
    [item] = of(items, "review_due", never)  # no date recorded: six months from the start
    assert item.due == shown_date(rules.next_review_due(never_plan.starts_on))
    assert of(items, "review_due", ended) == []

    rows.update(soon_plan, next_review_on=days(180))  # a review was recorded
    assert of(page(as_officer), "review_due", soon) == []


def test_plans_ending_within_30_days(as_officer: Any, rows: Rows) -> None:
    ending = rows.client("Ending")
    plan = rows.plan(ending, ends_on=days(30), next_review_on=days(100))
    later = rows.client("EndsLater")
    rows.plan(later, ends_on=days(31), next_review_on=days(100))

    items = page(as_officer)
    [item] = of(items, "plan_ending", ending)
    assert (item.due, item.overdue, item.link) == (shown_date(days(30)), False, f"/officer/plans/{plan.id}")
    assert "section 23" in item.text
    assert of(items, "plan_ending", later) == []

    rows.update(plan, status=PlanStatus.ENDED, ended_on=T)
    assert of(page(as_officer), "plan_ending", ending) == []


def test_clients_nearing_the_three_year_limit(as_officer: Any, rows: Rows) -> None:
    near = rows.client("Near", first_permit_date=rules.add_days(rules.add_years(T, -3), 60))
    passed = rows.client("Passed", first_permit_date=rules.add_years(days(-1), -3))
    far = rows.client("Far", first_permit_date=rules.add_days(rules.add_years(T, -3), 120))
    planned = rows.client("HadPlan", first_permit_date=rules.add_years(days(-400), -3))
    rows.plan(planned, PlanStatus.ENDED, ended_on=days(-30))
    only_draft = rows.client("OnlyDraft", first_permit_date=rules.add_years(days(-1), -3))
    rows.plan(only_draft, PlanStatus.DRAFT)
    no_need = rows.client("NoNeed", first_permit_date=rules.add_years(days(-1), -3))
    rows.assessment(no_need, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NOT_NEEDED)

    items = page(as_officer)
    [item] = of(items, "three_year_limit", near)
    assert item.due == shown_date(rules.plan_deadline(near.first_permit_date))
    assert item.overdue is False and item.link == f"/officer/clients/{near.id}#plans"
    assert "three-year limit is near (section 20" in item.text
    [item] = of(items, "three_year_limit", passed)
    assert (item.due, item.overdue) == (shown_date(days(-1)), True)
    assert "has passed" in item.text
    assert of(items, "three_year_limit", far) == []
    assert of(items, "three_year_limit", planned) == []
    assert len(of(items, "three_year_limit", only_draft)) == 1  # a draft is not a plan yet
    assert of(items, "three_year_limit", no_need) == []  # the assessment found no plan is needed

    rows.plan(near)
    assert of(page(as_officer), "three_year_limit", near) == []


def test_the_receiving_organisation_reviews_a_transferred_clients_plan(
    as_officer: Any, rows: Rows, org: Organisation, factory: Factory
) -> None:
    moved = rows.client("Moved", responsible_officer_id=None)
    transfer = rows.transfer(moved, org, days(-5))
    elsewhere = factory.organisation(type=OrganisationType.EMPLOYMENT_AUTHORITY)
    outgoing = rows.client("Outgoing")
    rows.transfer(outgoing, elsewhere, days(-5))  # to another organisation: not our task

    items = page(as_officer)
    [item] = of(items, "transfer_review", moved)
    assert item.section == "unassigned"  # a transfer arrives without a responsible officer
    assert (item.due, item.overdue) == (shown_date(rules.add_months(days(-5), 1)), False)
    assert item.link == f"/officer/clients/{moved.id}#plans"
    assert of(items, "transfer_review", outgoing) == []

    rows.update(transfer, reviewed_at=datetime.now(UTC))
    assert of(page(as_officer), "transfer_review", moved) == []


# --- whose items ----------------------------------------------------------------------------------


def test_own_and_unassigned_clients_but_not_a_colleagues_or_another_organisations(
    as_officer: Any, rows: Rows, org: Organisation, factory: Factory
) -> None:
    colleague = factory.staff(org, Role.INTEGRATION_OFFICER)
    other_org = factory.organisation("Naapurikunta")
    other_officer = factory.staff(other_org, Role.INTEGRATION_OFFICER)
    mine = rows.client("Mine")
    nobodys = rows.client("Nobodys", responsible_officer_id=None)
    colleagues = rows.client("Colleagues", responsible_officer_id=colleague.id)
    ended = rows.client("Ended", status=ClientStatus.ENDED, ended_on=T)
    foreign = rows.client("Foreign", organisation=other_org, responsible_officer_id=None)
    foreign_plan = rows.plan(foreign, next_review_on=days(-1), ends_on=days(5))
    rows.service(foreign_plan, PlanServiceStatus.PLANNED, 1)
    rows.transfer(foreign, other_org, days(-1))
    foreign_mine = rows.client("ForeignMine", organisation=other_org, responsible_officer_id=other_officer.id)
    assert foreign_mine.responsible_officer_id != rows.officer.id

    response = as_officer.get("/officer/worklist")
    items = shown(response.text)
    assert {(i.section, i.name) for i in items} == {
        ("mine", mine.display_name),
        ("unassigned", nobodys.display_name),
    }
    for person in (colleagues, ended, foreign, foreign_mine):
        assert person.last_name not in response.text
    assert "/officer/worklist/team" not in response.text  # no team worklist for a plain officer
    assert as_officer.get("/officer/worklist/team").status_code == 403


def test_an_officer_who_leads_the_team_gets_a_link_to_the_team_view(
    client: Any, factory: Factory, org: Organisation
) -> None:
    lead = factory.staff(org, Role.INTEGRATION_OFFICER, Role.MANAGER)
    sign_in(client, lead)
    response = client.get("/officer/worklist")
    assert response.status_code == 200
    assert 'href="/officer/worklist/team"' in response.text


def test_a_manager_without_clients_of_their_own_goes_to_the_team_view(
    client: Any, factory: Factory, org: Organisation
) -> None:
    sign_in(client, factory.staff(org, Role.MANAGER))
    response = client.get("/officer/worklist", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/officer/worklist/team"


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.COUNTY_TEAM_MEMBER, Role.INTERPRETER])
def test_roles_without_a_worklist_are_refused(
    client: Any, factory: Factory, org: Organisation, role: Role
) -> None:
    sign_in(client, factory.staff(org, role))
    assert client.get("/officer/worklist").status_code == 403
    assert client.get("/officer/worklist/team").status_code == 403


# --- the team view --------------------------------------------------------------------------------


def count_cell(html: str, row_name: str) -> list[str]:
    """The count cells of one officer's row as text, e.g. "2 (1 overdue)"."""
    match = re.search(
        r"<tr>\s*<th scope=\"row\"><a [^>]*>" + re.escape(row_name) + r"</a></th>(.*?)</tr>", html, re.S
    )
    assert match, row_name
    cells = re.findall(r"<td>(.*?)</td>", match.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]


def test_team_lead_sees_counts_per_officer_and_can_narrow_to_one(
    client: Any, factory: Factory, org: Organisation, rows: Rows, officer: Staff
) -> None:
    colleague = factory.staff(org, Role.INTEGRATION_OFFICER)
    manager = factory.staff(org, Role.MANAGER)
    other_org = factory.organisation("Naapurikunta")
    stranger = factory.staff(other_org, Role.INTEGRATION_OFFICER)
    rows.client("MineLate", known_on=days(-30))
    rows.client("MineFresh", known_on=T)
    reviewed = rows.client("MineReview")
    rows.plan(reviewed, next_review_on=days(3))
    rows.client("Theirs", responsible_officer_id=colleague.id, known_on=T)
    rows.client("Nobodys", responsible_officer_id=None, known_on=days(-30))
    rows.client("Foreign", organisation=other_org, responsible_officer_id=stranger.id, known_on=days(-30))
    sign_in(client, manager)

    response = client.get("/officer/worklist/team")
    assert response.status_code == 200
    kinds = [kind.value for kind in worklist.Kind]  # the table's columns, in Kind order
    mine = dict(zip([*kinds, "total"], count_cell(response.text, officer.full_name), strict=True))
    assert mine["known_not_assessed"] == "3 (1 overdue)"  # MineLate, MineFresh and MineReview (no assessment)
    assert mine["review_due"] == "1"
    assert mine["total"] == "4 (1 overdue)"
    theirs = dict(zip([*kinds, "total"], count_cell(response.text, colleague.full_name), strict=True))
    assert theirs["known_not_assessed"] == "1" and theirs["total"] == "1"
    nobody = count_cell(response.text, "Not assigned to anyone")
    assert nobody[0] == "1 (1 overdue)"
    assert stranger.full_name not in response.text and "Foreign" not in response.text
    assert {i.name.split(",")[0] for i in shown(response.text)} == {
        "MineLate",
        "MineFresh",
        "MineReview",
        "Theirs",
        "Nobodys",
    }

    narrowed = client.get(f"/officer/worklist/team?officer={colleague.id}")
    assert narrowed.status_code == 200
    assert {i.name.split(",")[0] for i in shown(narrowed.text)} == {"Theirs"}
    assert count_cell(narrowed.text, officer.full_name)[-1] == "4 (1 overdue)"  # counts stay whole
    unassigned = client.get("/officer/worklist/team?officer=unassigned")
    assert {i.name.split(",")[0] for i in shown(unassigned.text)} == {"Nobodys"}

    assert client.get(f"/officer/worklist/team?officer={stranger.id}").status_code == 404
    assert client.get("/officer/worklist/team?officer=not-an-id").status_code == 404


# --- audit and queries ----------------------------------------------------------------------------


def test_viewing_a_worklist_is_audited_once_without_a_client(
    as_officer: Any, rows: Rows, db: Session, officer: Staff
) -> None:
    rows.client("Audited")
    person = rows.client("Reviewed")
    rows.assessment(person, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NEEDED)
    page(as_officer)
    events = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "worklist")).all()
    assert len(events) == 1
    [view] = events
    assert (view.action, view.actor_id, view.client_id) == ("view", officer.id, None)
    assert view.fields == ["known_not_assessed", "plan_due"]


@pytest.fixture
def statements(app: Any) -> Iterator[list[str]]:
    engine = app.state["alchemy"].engine_instance.sync_engine
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def _one_of_each(rows: Rows, org: Organisation, n: int) -> None:
    for i in range(n):
        person = rows.client(f"Many{i}", first_permit_date=rules.add_years(days(-1), -3), known_on=days(-i))
        draft = rows.client(f"Draft{i}", responsible_officer_id=None)
        rows.assessment(draft, AssessmentStatus.DRAFT)
        due = rows.client(f"Due{i}")
        rows.assessment(due, AssessmentStatus.COMPLETED, plan_need=PlanNeed.NEEDED)
        plan = rows.plan(person, starts_on=days(-20), next_review_on=days(5), ends_on=days(20))
        rows.service(plan, PlanServiceStatus.PLANNED, 1)
        rows.transfer(person, org, days(-2))


@pytest.mark.parametrize("url", ["/officer/worklist", "/officer/worklist/team"])
def test_the_number_of_queries_does_not_grow_with_the_clients(
    client: Any,
    factory: Factory,
    org: Organisation,
    rows: Rows,
    officer: Staff,
    statements: list[str],
    url: str,
) -> None:
    sign_in(client, factory.staff(org, Role.INTEGRATION_OFFICER, Role.MANAGER) if "team" in url else officer)
    _one_of_each(rows, org, 2)
    statements.clear()
    few = page(client, url)
    queries_for_few = len(statements)
    assert queries_for_few >= 7  # one per kind at least: the listener sees the app's engine
    _one_of_each(rows, org, 8)
    statements.clear()
    many = page(client, url)
    assert len(many) > len(few) >= 2 * 6  # every kind, for every client
    assert len(statements) == queries_for_few
