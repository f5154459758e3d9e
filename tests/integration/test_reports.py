"""Managers' dashboards (service 13) through HTTP on a small hand-made data set: every panel's figures
(the deadline rules at their boundaries, deleted clients' statistics), the filters, another
organisation's data never counted, who may see them, the charts' text against the tables, the CSV
exports with primary and secondary suppression, the national statistics export, and a generated data
set whose totals must match plain COUNT(*) queries."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.db.assessment import Assessment, AssessmentStatus, Cefr, LanguageSkill, PlanNeed
from app.db.audit import AuditEvent
from app.db.client import Client, ClientStatus, Consent, ConsentPurpose
from app.db.client_app import Feedback, FeedbackSubject
from app.db.costs import ClaimLine, ClaimStatus, CompensationClaim, Cost, CostCategory
from app.db.engine import make_engine
from app.db.guidance import GuidanceTopic, GuidanceVisit, GuidanceVisitTopic, VisitChannel
from app.db.organisation import Organisation, Role
from app.db.plan import (
    FinalLanguageTest,
    GoalAttainment,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PlanGoal,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
)
from app.db.programme import ProgrammeService, ServiceType
from app.db.retention import AnonymisedClient
from app.domain import reports, rules, synthetic, worklist
from app.domain.forms import today
from app.domain.policy import Actor
from app.domain.quality import PUBLIC_ABOUT
from app.settings import Settings
from tests.conftest import Factory, sign_in

T = today()
Y = date(2025, 1, 1)  # the period under test is the calendar year 2025
PERIOD = "from=2025-01-01&to=2025-12-31"
R = TypeVar("R")


def run(settings: Settings, work: Callable[[AsyncSession], Awaitable[R]]) -> R:
    """Run domain code on the test database in a session of its own (as a request would)."""

    async def go() -> R:
        engine = make_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as db:
                result = await work(db)
                await db.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def english(client: Any) -> None:
    client.headers["Accept-Language"] = "en"


# --- the data set -----------------------------------------------------------------------------------


class World:
    """Organisation A (a manager, two officers) with clients along the path, and organisation B whose
    records fall in the same period and must never be counted."""

    def __init__(self, db: Session, factory: Factory) -> None:
        self.db, self.factory = db, factory
        self.org = factory.organisation("Municipality A")
        self.org.code = "091"
        self.other = factory.organisation("Municipality B")
        self.manager = factory.staff(self.org, Role.MANAGER)
        self.officer1 = factory.staff(self.org, Role.INTEGRATION_OFFICER)
        self.officer2 = factory.staff(self.org, Role.INTEGRATION_OFFICER)
        self.other_officer = factory.staff(self.other, Role.INTEGRATION_OFFICER)
        self.other_manager = factory.staff(self.other, Role.MANAGER)
        db.commit()

    def add(self, *rows: Any) -> None:
        self.db.add_all(rows)
        self.db.commit()

    def client(self, org: Organisation | None = None, **fields: Any) -> Client:
        return self.factory.client(org or self.org, **fields)

    def assessment(self, client: Client, assessed_on: date, **fields: Any) -> Assessment:
        number = 1 + len(
            self.db.scalars(select(Assessment.id).where(Assessment.client_id == client.id)).all()
        )
        officer = fields.pop("officer", self.officer1)
        row = Assessment(
            client_id=client.id,
            organisation_id=client.organisation_id,
            number=number,
            status=fields.pop("status", AssessmentStatus.COMPLETED),
            assessed_on=assessed_on,
            created_by_id=officer.id,
            officer_id=officer.id,
            plan_need=PlanNeed.NEEDED,
            **fields,
        )
        self.add(row)
        return row

    def plan(self, client: Client, starts_on: date, **fields: Any) -> IntegrationPlan:
        number = 1 + len(
            self.db.scalars(select(IntegrationPlan.id).where(IntegrationPlan.client_id == client.id)).all()
        )
        values: dict[str, Any] = {"ends_on": starts_on + timedelta(days=360), "status": PlanStatus.IN_FORCE}
        values.update(fields)
        row = IntegrationPlan(
            client_id=client.id,
            organisation_id=client.organisation_id,
            number=number,
            officer_id=self.officer1.id,
            starts_on=starts_on,
            **values,
        )
        self.add(row)
        return row

    def service(self, plan: IntegrationPlan, **fields: Any) -> PlanService:
        position = 1 + len(
            self.db.scalars(select(PlanService.id).where(PlanService.plan_id == plan.id)).all()
        )
        fields.setdefault("kind", PlanServiceKind.PROGRAMME)
        row = PlanService(plan_id=plan.id, position=position, **fields)
        self.add(row)
        return row

    def programme_service(self, kind: ServiceType) -> ProgrammeService:
        row = ProgrammeService(organisation_id=self.org.id, service_type=kind, source_language="fi")
        self.add(row)
        return row


@pytest.fixture
def world(db: Session, factory: Factory) -> World:
    w = World(db, factory)
    o1, o2 = w.officer1, w.officer2
    # Clients whose relationship is open in 2025.
    w.c1 = w.client(segment=1, known_on=date(2025, 2, 1), date_of_birth=date(1990, 5, 1), mother_tongue="ar",
                    responsible_officer_id=o1.id, first_permit_date=date(2024, 1, 1))  # fmt: skip
    w.c2 = w.client(segment=2, known_on=date(2025, 3, 1), date_of_birth=date(2020, 1, 1), mother_tongue="ar",
                    responsible_officer_id=o2.id)  # fmt: skip
    w.c3 = w.client(segment=3, known_on=date(2024, 6, 1), date_of_birth=date(1950, 1, 1), mother_tongue="so",
                    responsible_officer_id=o1.id, status=ClientStatus.ENDED, ended_on=date(2025, 6, 30))  # fmt: skip
    w.c6 = w.client(segment=1, known_on=date(2025, 5, 1), date_of_birth=None, mother_tongue=None)
    w.c7 = w.client(segment=1, known_on=date(2024, 1, 1), date_of_birth=date(2000, 6, 15), mother_tongue="fa",
                    responsible_officer_id=o2.id, first_permit_date=date(2022, 3, 31))  # fmt: skip
    # Not in 2025: ended before it, known after it, another organisation's.
    w.client(segment=1, known_on=date(2024, 1, 1), status=ClientStatus.ENDED, ended_on=date(2024, 12, 31))
    w.client(segment=2, known_on=date(2026, 1, 10))
    foreign = w.client(w.other, segment=1, known_on=date(2025, 2, 1), mother_tongue="ar")
    # Deleted clients: one whose relationship covered months of 2025, one long before.
    w.add(
        AnonymisedClient(organisation_id=w.org.id, segment=3, known_month=date(2024, 9, 1),
                         ended_month=date(2025, 4, 1), age_group="18-29", mother_tongue="ar"),
        AnonymisedClient(organisation_id=w.org.id, segment=1, known_month=date(2020, 1, 1),
                         ended_month=date(2021, 3, 1), age_group="30-44", mother_tongue="ar"),
        AnonymisedClient(organisation_id=w.other.id, segment=1, known_month=date(2025, 1, 1), age_group="0-6"),
    )  # fmt: skip

    # Assessments: on the 14th day (the last day of the target), on the 15th; an amendment, a draft and
    # another organisation's do not count.
    a1 = w.assessment(w.c1, date(2025, 2, 15), planned_plan_date=date(2025, 3, 1))
    a2 = w.assessment(w.c2, date(2025, 3, 16), officer=o2)
    old = w.assessment(w.c3, date(2024, 6, 10), status=AssessmentStatus.SUPERSEDED)
    w.assessment(w.c3, date(2025, 2, 1), previous_id=old.id)
    w.assessment(w.c6, date(2025, 5, 5), status=AssessmentStatus.DRAFT)
    a7 = w.assessment(w.c7, date(2024, 12, 1), planned_plan_date=date(2025, 12, 31))
    w.assessment(foreign, date(2025, 2, 2), officer=w.other_officer)

    # First plans: on the agreed date; the day after the assessment with no date agreed (late); after
    # the three-year limit from the first permit (late, though before the agreed date); one with no
    # assessment to count from. A follow-up plan does not count.
    w.p1 = w.plan(w.c1, date(2025, 3, 1), assessment_id=a1.id, status=PlanStatus.ENDED,
                  ends_on=date(2025, 8, 31), ended_on=date(2025, 8, 31))  # fmt: skip
    w.p1b = w.plan(w.c1, date(2025, 9, 1), assessment_id=a1.id, next_review_on=T)  # due today: not overdue
    w.p2 = w.plan(w.c2, date(2025, 3, 20), assessment_id=a2.id, next_review_on=T - timedelta(days=1))
    w.p7 = w.plan(w.c7, date(2025, 4, 1), assessment_id=a7.id, next_review_on=None)
    w.p6 = w.plan(w.c6, date(2025, 6, 1), next_review_on=T - timedelta(days=31))
    w.plan(w.c3, date(2024, 7, 1), next_review_on=T - timedelta(days=200))  # an ended client's: not counted
    w.plan(foreign, date(2025, 3, 1), next_review_on=T - timedelta(days=5))

    # Services and final language tests.
    civic = w.programme_service(ServiceType.CIVIC_ORIENTATION)
    training = w.programme_service(ServiceType.INTEGRATION_TRAINING)
    sa = w.service(w.p1, programme_service_id=civic.id, status=PlanServiceStatus.COMPLETED,
                   started_on=date(2025, 3, 10), completed_on=date(2025, 6, 1))  # fmt: skip
    w.service(w.p2, kind=PlanServiceKind.NGO, name="Club", status=PlanServiceStatus.STARTED,
              started_on=date(2024, 12, 1))  # fmt: skip
    w.service(w.p7, programme_service_id=training.id, status=PlanServiceStatus.INTERRUPTED,
              started_on=date(2024, 5, 1), interrupted_on=date(2024, 12, 31))  # fmt: skip
    w.service(w.p1b, programme_service_id=training.id, status=PlanServiceStatus.PLANNED)
    foreign_plan = w.db.scalars(select(IntegrationPlan).where(IntegrationPlan.client_id == foreign.id)).one()
    w.service(
        foreign_plan, kind=PlanServiceKind.NGO, status=PlanServiceStatus.STARTED, started_on=date(2025, 3, 3)
    )
    w.add(
        FinalLanguageTest(plan_service_id=sa.id, language="fi", skill=LanguageSkill.READING, level=Cefr.B1,
                          tested_on=date(2025, 6, 1)),
        FinalLanguageTest(plan_service_id=sa.id, language="fi", skill=LanguageSkill.WRITING, level=Cefr.A2,
                          tested_on=date(2025, 6, 1)),
        FinalLanguageTest(plan_service_id=sa.id, language="fi", skill=LanguageSkill.SPEAKING, level=Cefr.A2,
                          tested_on=date(2024, 12, 31)),
    )  # fmt: skip

    # Feedback: one given at 00:30 on 1 January 2025 in Helsinki (still 2024 in UTC) counts in 2025.
    def feedback(org: Organisation, subject: FeedbackSubject, rating: int, language: str, at: datetime,
                 client: Client | None = None) -> Feedback:  # fmt: skip
        return Feedback(organisation_id=org.id, client_id=client.id if client else None, subject=subject,
                        rating=rating, language=language, created_at=at)  # fmt: skip

    noon = datetime(2025, 5, 5, 12, tzinfo=UTC)
    w.add(
        feedback(w.org, FeedbackSubject.APPOINTMENT, 4, "ar", noon, w.c1),
        feedback(w.org, FeedbackSubject.SERVICE, 2, "fi", noon, w.c2),
        feedback(w.org, FeedbackSubject.APP, 5, "fi", noon),
        feedback(w.org, FeedbackSubject.APP, 3, "en", datetime(2024, 12, 31, 22, 30, tzinfo=UTC)),
        feedback(w.org, FeedbackSubject.APP, 1, "fi", datetime(2024, 12, 31, 21, 30, tzinfo=UTC)),
        Feedback(
            organisation_id=w.org.id,
            subject=FeedbackSubject.SERVICE,
            about=PUBLIC_ABOUT,
            rating=5,
            language="fi",
            created_at=noon,
        ),  # the anonymous form at the guidance site
        feedback(w.other, FeedbackSubject.APP, 1, "fi", noon),
    )

    # Costs (one kept without its client after deletion) and claims.
    def cost(
        category: CostCategory, amount: str, on: date, client: Client | None, org: Organisation = w.org
    ) -> Cost:
        return Cost(organisation_id=org.id, client_id=client.id if client else None, category=category,
                    amount=Decimal(amount), incurred_on=on, accounting_code="4470", recorded_by_id=o1.id)  # fmt: skip

    w.add(
        cost(CostCategory.SOCIAL_ASSISTANCE, "100.10", date(2025, 2, 10), w.c1),
        cost(CostCategory.SOCIAL_ASSISTANCE, "200.20", date(2025, 12, 31), w.c1),
        cost(CostCategory.INTERPRETATION, "50.00", date(2025, 3, 5), w.c2),
        cost(CostCategory.OTHER, "10.00", date(2025, 7, 1), None),
        cost(CostCategory.OTHER, "999.00", date(2024, 12, 31), w.c2),
        cost(CostCategory.OTHER, "999.00", date(2025, 7, 1), foreign, w.other),
    )

    def claim(start: date, end: date, status: ClaimStatus, lines: list[str], org: Organisation = w.org,
              decided: str | None = None, paid: str | None = None) -> CompensationClaim:  # fmt: skip
        row = CompensationClaim(organisation_id=org.id, period_start=start, period_end=end, status=status,
                                created_by_id=w.manager.id, decided_amount=Decimal(decided) if decided else None,
                                paid_amount=Decimal(paid) if paid else None)  # fmt: skip
        w.add(row)
        w.add(
            *(
                ClaimLine(claim_id=row.id, kind="calculated", activity_year=start.year, amount=Decimal(a))
                for a in lines
            )
        )
        return row

    claim(date(2025, 1, 1), date(2025, 6, 30), ClaimStatus.SENT, ["1000.00", "500.50"])
    claim(date(2025, 7, 1), date(2025, 12, 31), ClaimStatus.PAID, ["800.00"], decided="800.00", paid="799.99")
    claim(date(2024, 7, 1), date(2024, 12, 31), ClaimStatus.DECIDED, ["123.00"], decided="123.00")
    claim(date(2025, 1, 1), date(2025, 6, 30), ClaimStatus.SENT, ["9999.00"], org=w.other)
    return w


# --- reading the page ---------------------------------------------------------------------------------


def table(page: str, chart_id: str) -> dict[str, list[str]]:
    """Row label → the row's cells, of the table beside a chart (the total row too)."""
    match = re.search(rf'<table class="report-table" id="{chart_id}-table">(.*?)</table>', page, re.S)
    assert match, f"no table {chart_id}"
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', match.group(1), re.S)
    return {
        html.unescape(label): [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", cells)]
        for label, cells in rows
    }


def svg(page: str, chart_id: str) -> str:
    match = re.search(rf'<svg [^>]*aria-labelledby="{chart_id}-title {chart_id}-desc".*?</svg>', page, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def figures(page: str, chart_id: str, column: int = 0) -> dict[str, str]:
    return {label: cells[column] for label, cells in table(page, chart_id).items()}


def dashboard(http: Any, query: str = PERIOD) -> str:
    response = http.get(f"/officer/reports?{query}")
    assert response.status_code == 200, response.text
    return str(response.text)


def csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith("\ufeff".encode()), "UTF-8 with a byte-order mark"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def exported(rows: list[dict[str, str]], panel: str, breakdown: str, measure: str) -> dict[str, str]:
    return {
        r["category"]: r["value"]
        for r in rows
        if r["panel"] == panel and r["breakdown"] == breakdown and r["measure"] == measure
    }


# --- the panels ---------------------------------------------------------------------------------------


def test_clients_by_segment_status_language_and_age_with_deleted_clients(client: Any, world: World) -> None:
    sign_in(client, world.manager)
    page = dashboard(client)
    # c1, c6, c7; c2; c3 and the deleted client whose relationship covered January–April 2025.
    assert figures(page, "chart-clients-segment") == {
        "1 – moved on their own (work, study, family)": "3",
        "2 – municipal placement after asylum or temporary protection": "1",
        "3 – quota refugee": "2",
        "Total": "6",
    }
    assert figures(page, "chart-clients-status") == {"Active": "4", "Ended": "2", "Total": "6"}
    assert figures(page, "chart-clients-language") == {
        "Arabic": "3",
        "Persian": "1",
        "Somali": "1",
        "Not recorded": "1",
        "Total": "6",
    }
    # Ages on 31.12.2025: 35 (c1), 5 (c2), 75 (c3), 25 (c7), the deleted client's 18–29, c6 unknown.
    assert figures(page, "chart-clients-age_group") == {
        "0–6": "1",
        "7–17": "0",
        "18–29": "2",
        "30–44": "1",
        "45–64": "0",
        "65+": "1",
        "Date of birth not recorded": "1",
        "Total": "6",
    }


def test_more_than_ten_languages_fold_into_other(client: Any, world: World) -> None:
    twice = ["en", "fr", "de", "es", "it", "ru", "uk", "tr", "vi"]
    for code in [*twice, *twice, "th", "zh", "pl"]:
        world.client(segment=2, known_on=date(2025, 6, 1), mother_tongue=code)
    sign_in(client, world.manager)
    languages = figures(dashboard(client), "chart-clients-language")
    # The top ten: Arabic (3) and the nine with two each; the rest fold into one row.
    assert languages["Arabic"] == "3"
    assert all(languages[name] == "2" for name in ("English", "French", "German", "Vietnamese"))
    assert languages["Other languages"] == "5"  # Thai, Chinese, Polish, Persian, Somali: one each
    assert languages["Not recorded"] == "1"
    assert len(languages) == 10 + 1 + 1 + 1  # top ten, other, not recorded, total
    assert "Persian" not in languages and "Somali" not in languages
    assert languages["Total"] == str(6 + 21)


def test_assessments_and_plans_within_the_statutory_deadlines(client: Any, world: World) -> None:
    sign_in(client, world.manager)
    cells = table(dashboard(client), "chart-deadlines-deadlines")
    # done, within, late, no assessment to count from, share
    assert cells["First assessments"] == ["2", "1", "1", "0", "50.0%"]
    assert cells["First plans"] == ["4", "1", "2", "1", "33.3%"]


def test_the_deadline_rules_are_those_of_rules_py() -> None:
    """The boundaries the data set relies on, from the rules the worklist uses."""
    settings = rules.RuleSettings()
    assert rules.assessment_due(date(2025, 2, 1), settings) == date(2025, 2, 15)
    assert rules.plan_due(date(2025, 3, 1), date(2025, 2, 15), date(2024, 1, 1)) == date(2025, 3, 1)
    assert rules.plan_due(None, date(2025, 3, 16), None) == date(2025, 3, 16)
    assert rules.plan_due(date(2025, 12, 31), date(2024, 12, 1), date(2022, 3, 31)) == date(2025, 3, 31)


@pytest.mark.parametrize(
    ("day", "months"),
    [
        (date(2024, 1, 31), 1),
        (date(2023, 1, 31), 1),
        (date(2024, 2, 29), 12),
        (date(2024, 2, 29), 36),
        (date(2024, 8, 31), 6),
        (date(2024, 3, 31), -1),
        (date(2025, 12, 31), 2),
        (date(2025, 6, 15), 0),
        (date(2025, 10, 31), -6),
    ],
)
def test_sql_date_arithmetic_matches_the_rules(db: Session, factory: Factory, day: date, months: int) -> None:
    org = factory.organisation()
    row = factory.client(org, known_on=day, date_of_birth=day - timedelta(days=400))
    found = db.execute(
        select(
            reports.add_months(Client.known_on, months),
            reports.add_days(Client.known_on, 14),
            reports.add_days(Client.known_on, -1),
            reports.days_between(Client.known_on, Client.date_of_birth),
        ).where(Client.id == row.id)
    ).one()
    assert found[0] == rules.add_months(day, months)
    assert found[1] == rules.add_days(day, 14)
    assert found[2] == rules.add_days(day, -1)
    assert found[3] == 400


def test_reviews_overdue_now_by_the_worklist_rules(client: Any, world: World, settings: Settings) -> None:
    sign_in(client, world.manager)
    reviews = figures(dashboard(client), "chart-reviews-reviews")
    seven = (T - rules.next_review_due(date(2025, 4, 1))).days  # p7 has no review date: six months from start
    expected = {
        "Not overdue": 1,
        "Overdue 1–30 days": 1,
        "Overdue 31–90 days": 1,
        "Overdue more than 90 days": 0,
    }
    expected[
        "Overdue more than 90 days"
        if seven > 90
        else "Overdue 31–90 days"
        if seven > 30
        else "Overdue 1–30 days"
    ] += 1
    assert reviews == {**{k: str(v) for k, v in expected.items()}, "Plans in force": "4"}
    # The worklist counts the same overdue reviews.
    actor = Actor(world.manager.id, world.org.id, world.org.type, frozenset({Role.MANAGER}), "m")
    items = run(settings, lambda db: worklist.collect(db, actor, T))
    assert sum(1 for i in items if i.kind == worklist.Kind.REVIEW_DUE and i.overdue) == 3


def test_services_language_tests_feedback_costs_claims_and_throughput(client: Any, world: World) -> None:
    sign_in(client, world.manager)
    page = dashboard(client)
    assert table(page, "chart-services-services") == {
        "Multilingual civic orientation": ["1", "1"],
        "NGO activity": ["1", "0"],
        "Total": ["2", "1"],
    }
    levels = table(page, "chart-language_tests-levels")  # reading, writing, listening, speaking, all
    assert levels["B1"] == ["1", "0", "0", "0", "1"]
    assert levels["A2"] == ["0", "1", "0", "0", "1"]
    assert levels["Total"] == ["1", "1", "0", "0", "2"]
    assert table(page, "chart-feedback-subject") == {
        "After an appointment": ["1", "4.0"],
        "About a service": ["1", "2.0"],
        "About the Kotopolku app": ["2", "4.0"],
        "Anonymous, at the guidance site": ["1", "5.0"],
        "Total": ["5", "3.8"],
    }
    assert table(page, "chart-feedback-language") == {
        "Finnish": ["3", "4.0"],
        "Arabic": ["1", "4.0"],
        "English": ["1", "3.0"],
        "Total": ["5", "3.8"],
    }
    costs = table(page, "chart-costs-category")
    assert costs["Social assistance (§ 63)"] == ["2", "€300.30"]
    assert costs["Interpretation"] == ["1", "€50.00"]
    assert costs["Other cost"] == ["1", "€10.00"]
    assert costs["Total"] == ["4", "€360.30"]
    claims = table(page, "chart-claims-status")
    assert claims["Sent"] == ["1", "€1,500.50", "€0.00", "€0.00"]
    assert claims["Paid"] == ["1", "€800.00", "€800.00", "€799.99"]
    assert claims["Decided"] == ["0", "€0.00", "€0.00", "€0.00"]
    assert claims["Total"] == ["2", "€2,300.50", "€800.00", "€799.99"]
    steps = table(page, "chart-throughput-steps")  # clients, median, 90 % within
    assert steps["Known → first assessment"] == ["2", "14.5", "15.0"]  # 14 and 15 days
    assert steps["Assessment → first plan"] == ["3", "14.0", "121.0"]  # 14, 4 and 121 days
    assert steps["First plan → first service started"] == ["1", "9.0", "9.0"]
    assert 'id="panel-visits"' in page and "Guidance visits by topic" in page  # none in this data set


def test_the_segment_period_and_officer_filters(client: Any, world: World) -> None:
    sign_in(client, world.manager)
    one = dashboard(client, f"{PERIOD}&segment=1")
    assert figures(one, "chart-clients-segment") == {
        "1 – moved on their own (work, study, family)": "3",
        "Total": "3",
    }
    assert table(one, "chart-deadlines-deadlines")["First plans"][:4] == ["3", "1", "1", "1"]  # c1, c7, c6
    assert table(one, "chart-feedback-subject")["Total"] == [
        "1",
        "4.0",
    ]  # c1's only: anonymous ones have no segment
    assert table(one, "chart-costs-category")["Total"] == ["2", "€300.30"]

    autumn = dashboard(client, "from=2025-07-01&to=2025-12-31")
    assert (
        figures(autumn, "chart-clients-segment")["Total"] == "4"
    )  # c3 ended and the deleted one left before
    assert table(autumn, "chart-deadlines-deadlines")["First assessments"][0] == "0"
    assert table(autumn, "chart-costs-category")["Total"] == ["2", "€210.20"]

    mine = dashboard(client, f"{PERIOD}&officer={world.officer1.id}")
    assert (
        figures(mine, "chart-clients-segment")["Total"] == "2"
    )  # c1 and c3; deleted clients have no officer
    assert figures(mine, "chart-clients-status") == {"Active": "1", "Ended": "1", "Total": "2"}
    assert table(mine, "chart-costs-category")["Total"] == ["2", "€300.30"]
    assert f'<option value="{world.officer2.id}">' in mine
    assert f'<option value="{world.officer1.id}" selected>' in mine


def test_another_organisations_data_is_never_counted(client: Any, world: World) -> None:
    sign_in(client, world.other_manager)
    page = dashboard(client)
    assert figures(page, "chart-clients-segment")["Total"] == "2"  # its own client and deleted client only
    assert table(page, "chart-costs-category")["Total"] == ["1", "€999.00"]
    assert table(page, "chart-claims-status")["Total"][0] == "1"
    assert figures(page, "chart-reviews-reviews")["Plans in force"] == "1"
    # Another organisation's officer as the team filter: not found, nothing shown.
    assert client.get(f"/officer/reports?{PERIOD}&officer={world.officer1.id}").status_code == 404
    assert client.get(f"/officer/reports/export.csv?officer={world.officer1.id}").status_code == 404
    assert client.get("/officer/reports?officer=not-an-id").status_code == 404


@pytest.mark.parametrize(
    "role", [Role.INTEGRATION_OFFICER, Role.ADMINISTRATOR, Role.COUNTY_TEAM_MEMBER, Role.INTERPRETER]
)
@pytest.mark.parametrize(
    "url", ["/officer/reports", "/officer/reports/export.csv", "/officer/reports/national.csv"]
)
def test_only_managers_see_reports(client: Any, factory: Factory, role: Role, url: str) -> None:
    org = factory.organisation()
    sign_in(client, factory.staff(org, role))
    assert client.get(url).status_code == 403


def test_signed_out_is_sent_to_sign_in(client: Any) -> None:
    assert client.get("/officer/reports", follow_redirects=False).status_code in (302, 303, 401)


def test_bad_filters_are_shown_with_the_values_kept(client: Any, world: World) -> None:
    sign_in(client, world.manager)
    response = client.get("/officer/reports?from=2025-12-31&to=2025-01-01&segment=7")
    assert response.status_code == 422
    assert "The end of the period cannot be before its start." in response.text
    assert "Choose one of the options." in response.text
    assert 'value="2025-12-31"' in response.text and 'aria-invalid="true"' in response.text
    assert 'class="report-table"' not in response.text
    assert client.get("/officer/reports/export.csv?from=31.2.2025").status_code == 422
    assert client.get("/officer/reports/export.csv?panel=nothing").status_code == 404


def test_the_default_period_is_this_calendar_year(client: Any, world: World) -> None:
    sign_in(client, world.manager)
    page = dashboard(client, "")
    assert f'value="{T.year}-01-01"' in page and f'value="{T.year}-12-31"' in page


def test_charts_have_title_desc_and_the_tables_figures(client: Any, world: World) -> None:
    sign_in(client, world.manager)
    page = dashboard(client)
    charts = re.findall(r'aria-labelledby="(chart-[a-z_]+-[a-z_]+)-title', page)
    assert len(charts) == 17  # the guidance visits' three (empty here) included
    for chart_id in charts:
        drawn = svg(page, chart_id)
        assert 'role="img"' in drawn and "viewBox=" in drawn
        title = re.search(rf'<title id="{chart_id}-title">(.+?)</title>', drawn)
        desc = re.search(rf'<desc id="{chart_id}-desc">(.+?)</desc>', drawn)
        assert title and desc, chart_id
        assert f"Table: {title.group(1)}" in page  # the table's caption names the same thing
        texts = [html.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", drawn)]
        rows = table(page, chart_id)
        rows.pop("Total", None)
        rows.pop("Plans in force", None)
        for label in rows:
            assert label in html.unescape(desc.group(1)), (chart_id, label)
            assert any(label.startswith(t) for t in texts), (chart_id, label)  # the name is drawn
    # The figures drawn are the table's: clients by segment, and the two series of the deadlines.
    segment = [
        html.unescape(t)
        for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg(page, "chart-clients-segment"))
    ]
    assert [t for t in segment if t.isdigit()] == ["3", "1", "2"]
    deadline_texts = re.findall(r"<text [^>]*>([^<]*)</text>", svg(page, "chart-deadlines-deadlines"))
    assert [t for t in deadline_texts if t.isdigit()] == ["1", "1", "1", "2"]  # within, late per row
    assert "First assessments: Within the deadline 1, Late 1" in html.unescape(
        svg(page, "chart-deadlines-deadlines")
    )
    assert '<th scope="col">' in page and "<caption" in page


# --- exports ------------------------------------------------------------------------------------------


def test_csv_export_suppresses_small_counts_and_is_audited(client: Any, world: World, db: Session) -> None:
    sign_in(client, world.manager)
    response = client.get(f"/officer/reports/export.csv?{PERIOD}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = csv_rows(response.content)
    assert list(rows[0]) == list(reports.CSV_COLUMNS)
    assert {r["panel"] for r in rows} == {"report", *reports.PANELS}
    # Every count is below five here: shown as "<5", zeros as 0, and so are the figures computed from them.
    assert exported(rows, "clients", "segment", "clients") == {"1": "<5", "2": "<5", "3": "<5", "total": "6"}
    assert exported(rows, "clients", "age_group", "clients")["45-64"] == "0"
    # Five answers in all, each channel 1–2: the channels' means are hidden, the total's is not.
    assert exported(rows, "feedback", "subject", "mean") == {
        "appointment": "x",
        "service": "x",
        "app": "x",
        "public": "x",
        "total": "3.8",
    }
    assert exported(rows, "feedback", "subject", "answers")["total"] == "5"
    assert exported(rows, "costs", "category", "amount")["total"] == "x"
    assert exported(rows, "deadlines", "deadlines", "share")["plan"] == "x"
    # Claims are the organisation's, not a person's: not suppressed; money with a decimal point.
    assert exported(rows, "claims", "status", "claimed") == {
        "claim_draft": "0.00",
        "claim_sent": "1500.50",
        "claim_more_information_requested": "0.00",
        "claim_decided": "0.00",
        "claim_paid": "800.00",
        "total": "2300.50",
    }
    assert exported(rows, "claims", "status", "claims")["claim_sent"] == "1"
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.client_id is None and event.object_type == "report" and event.object_id == "dashboard"
    assert event.actor_id == world.manager.id
    assert "clients.segment" in event.fields and "throughput.steps" in event.fields


def test_secondary_suppression_in_the_csv(client: Any, factory: Factory, db: Session) -> None:
    org = factory.organisation()
    manager = factory.staff(org, Role.MANAGER)
    for segment, count in ((1, 12), (2, 6), (3, 2)):
        for _ in range(count):
            factory.client(org, segment=segment, known_on=date(2025, 4, 1), mother_tongue="ar")
    sign_in(client, manager)
    response = client.get(f"/officer/reports/export.csv?{PERIOD}&panel=clients")
    rows = csv_rows(response.content)
    assert {r["panel"] for r in rows} == {"report", "clients"}
    # Segment 3's 2 is "<5"; the total would give it away from 12 and 6, so the smaller, 6, is hidden too.
    assert exported(rows, "clients", "segment", "clients") == {"1": "12", "2": "x", "3": "<5", "total": "20"}
    assert exported(rows, "clients", "status", "clients") == {"active": "20", "ended": "0", "total": "20"}
    # The page itself shows the exact figures.
    assert figures(dashboard(client), "chart-clients-segment")["3 – quota refugee"] == "2"
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.object_id == "clients" and event.client_id is None


def test_suppression_rule() -> None:
    cells = {"a": 12, "b": 6, "c": 2, "t": 20}
    assert reports.suppress(cells, [("t", ["a", "b", "c"])]) == {
        "c": reports.Mark.PRIMARY,
        "b": reports.Mark.HIDDEN,
    }
    # Two small cells that can only add up one way (1 + 1) need a third; 2 + 3 does not.
    assert (
        reports.suppress({"a": 1, "b": 1, "c": 9, "t": 11}, [("t", ["a", "b", "c"])])["c"]
        == reports.Mark.HIDDEN
    )
    assert "c" not in reports.suppress({"a": 2, "b": 3, "c": 9, "t": 14}, [("t", ["a", "b", "c"])])
    # A 1 beside a 5 would still be worked out (the "x" is at least 5): the next cell goes too.
    hidden = reports.suppress({"a": 1, "b": 5, "c": 7, "t": 13}, [("t", ["a", "b", "c"])])
    assert hidden == {"a": reports.Mark.PRIMARY, "b": reports.Mark.HIDDEN, "c": reports.Mark.HIDDEN}
    # Nothing else to hide: the total goes.
    assert reports.suppress({"a": 3, "b": 0, "t": 3}, [("t", ["a", "b"])]) == {
        "a": reports.Mark.PRIMARY,
        "t": reports.Mark.PRIMARY,
    }
    assert (
        reports.suppress({"a": 3, "b": 0, "c": 0, "t": 3}, [("t", ["a", "b", "c"])])["t"]
        == reports.Mark.PRIMARY
    )
    assert reports.suppress({"a": 0, "b": 6, "t": 6}, [("t", ["a", "b"])]) == {}
    # Rows and columns: hiding a cell in a row must not leave it alone in its column.
    grid = {("r1", "c1"): 3, ("r1", "c2"): 10, ("r1", "t"): 13, ("r2", "c1"): 8, ("r2", "c2"): 9, ("r2", "t"): 17,
            ("t", "c1"): 11, ("t", "c2"): 19, ("t", "t"): 30}  # fmt: skip
    groups = [((r, "t"), [(r, "c1"), (r, "c2")]) for r in ("r1", "r2", "t")]
    groups += [(("t", c), [("r1", c), ("r2", c)]) for c in ("c1", "c2", "t")]
    hidden = reports.suppress(grid, groups)
    for total, members in groups:
        secret = [m for m in members if m in hidden]
        assert total in hidden or len(secret) != 1, (total, secret)


def test_age_groups_kept_for_deleted_clients_map_onto_the_reports_groups() -> None:
    """The retention job keeps its own, finer age groups (e.g. "18-24", "25-29"): each counts in the
    reports' group that contains it; one that straddles a boundary counts as unknown, not wrongly."""
    assert reports.normalise_age_group("18-24") == "18-29"
    assert reports.normalise_age_group("25-29") == "18-29"
    assert reports.normalise_age_group("30-39") == "30-44"
    assert reports.normalise_age_group("65+") == "65+"
    assert reports.normalise_age_group("18–29") == "18-29"
    assert reports.normalise_age_group("40-49") == reports.UNKNOWN  # part 30–44, part 45–64
    assert reports.normalise_age_group(None) == reports.UNKNOWN


def test_national_statistics_export(client: Any, world: World, db: Session) -> None:
    sign_in(client, world.manager)
    response = client.get("/officer/reports/national.csv?year=2025")
    assert response.status_code == 200
    assert "national-statistics-v1-2025" in response.headers["content-disposition"]
    rows = csv_rows(response.content)
    assert list(rows[0]) == list(reports.NATIONAL_COLUMNS)
    assert len(rows) == 4 * 8  # segments 1–3 and all × six age groups, unknown and all
    assert {(r["schema_version"], r["year"], r["municipality_code"]) for r in rows} == {("1", "2025", "091")}
    total = next(r for r in rows if r["segment"] == "all" and r["age_group"] == "all")
    # Served: 6 (five clients and the deleted one); their cells are all 1–4, hidden, and no cell can be
    # worked out from the total, so it stays.
    assert total["clients_served"] == "6"
    assert total["clients_known"] == "<5"  # c1, c2, c6
    assert total["assessments_done"] == "<5"
    assert total["plans_made"] == "5"  # p1, p1b (a follow-up), p2, p7, p6
    first = next(r for r in rows if r["segment"] == "1" and r["age_group"] == "all")
    assert first["first_plans_made"] == "<5"
    assert all(r[m] in ("0", "<5", "x") or int(r[m]) >= 5 for r in rows for m in reports.NATIONAL_MEASURES)
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.object_id == "national-v1-2025" and event.client_id is None
    assert client.get("/officer/reports/national.csv?year=1999").status_code == 404


def test_national_statistics_counts(settings: Settings, world: World) -> None:
    """The figures behind the export, before suppression."""
    counts = run(settings, lambda db: reports.national_counts(db, world.org.id, 2025, T))

    def of(measure: str, segment: str = "all", age: str = "all") -> int:
        return counts[(measure, segment, age)]

    assert of("clients_known") == 3  # c1, c2, c6
    assert of("clients_served") == 6  # and c3, c7 and the deleted client
    assert of("clients_served", "3") == 2 and of("clients_served", "3", "18-29") == 1  # the deleted client
    assert of("clients_served", age="unknown") == 1  # c6
    assert of("assessments_done") == 2 and of("assessments_within_target") == 1
    assert of("plans_made") == 5  # p1, p1b (a follow-up), p2, p7, p6
    assert of("first_plans_made") == 4 and of("first_plans_within_deadline") == 1
    # In force on 31.12.2025: p1b, p2, p7, p6 and c3's (its client ended, the plan was never ended).
    assert of("plans_in_force_at_year_end") == 5
    assert of("plans_in_force_at_year_end", "1", "30-44") == 1  # c1's follow-up plan, not p1 that ended
    assert sum(of("clients_served", s) for s in "123") == of("clients_served")


def test_national_statistics_suppression(settings: Settings, world: World) -> None:
    rows = csv_rows(run(settings, lambda db: reports.national_csv(db, world.org.id, 2025, T)))
    shown = {(r["segment"], r["age_group"]): r["plans_in_force_at_year_end"] for r in rows}
    # Five plans in force, one in each of five age groups: five cells of 1–4 that add up to 5 can only
    # be 1 each, so the total is hidden too.
    assert shown[("all", "all")] == "x"
    assert shown[("1", "all")] == "<5" and shown[("all", "30-44")] == "<5"
    assert shown[("all", "7-17")] == "0"


def test_generated_data_matches_plain_counts(settings: Settings, factory: Factory, db: Session) -> None:
    """The issue asks for the dashboards with generated data: app/domain/synthetic.py makes a small
    register on whichever database runs the tests, and the clients panel must agree with COUNT(*)."""
    made = run(settings, lambda s: synthetic.generate(s, 60))
    assert made == 60
    org = db.scalars(select(Organisation).where(Organisation.name == synthetic.MUNICIPALITY)).one()
    span = reports.Filters(T - timedelta(days=1001), T, T)  # every generated client is known in it
    board = run(settings, lambda s: reports.dashboard(s, org.id, span))
    clients = board.panel("clients")
    counts = dict(
        db.execute(
            select(Client.segment, func.count())
            .where(Client.organisation_id == org.id)
            .group_by(Client.segment)
        ).all()
    )
    segment = clients.breakdowns[0]
    assert {int(r.key): r.values["clients"] for r in segment.rows if r.values["clients"]} == counts
    assert segment.total and segment.total.values["clients"] == 60
    for breakdown in clients.breakdowns:
        assert breakdown.total and breakdown.total.values["clients"] == 60, breakdown.key
    languages = dict(
        db.execute(
            select(Client.mother_tongue, func.count())
            .where(Client.organisation_id == org.id)
            .group_by(Client.mother_tongue)
        ).all()
    )
    shown = {r.key: r.values["clients"] for r in clients.breakdowns[2].rows}
    for code, n in languages.items():
        assert shown.get(code) == n or reports.OTHER in shown
    ages = {r.key: r.values["clients"] for r in clients.breakdowns[3].rows}
    born_under_7 = db.scalar(
        select(func.count()).where(
            Client.organisation_id == org.id, Client.date_of_birth > rules.add_years(T, -7)
        )
    )
    assert ages["0-6"] == born_under_7
    nobody = board.panel("deadlines").breakdowns[0]
    assert [r.values["done"] for r in nobody.rows] == [0, 0]  # synthetic clients have no path yet


# --- throughput times and goal attainment: small hand-made data sets with known figures --------------

SPRING = (date(2026, 1, 1), date(2026, 6, 30))
SPRING_QUERY = "from=2026-01-01&to=2026-06-30"


def values_of(board: reports.Dashboard, panel: str) -> dict[str, dict[str, reports.Value]]:
    """Row key → figures of the panel's (only) breakdown, its total row as "total"."""
    (breakdown,) = board.panel(panel).breakdowns
    return {r.key: r.values for r in [*breakdown.rows, *([breakdown.total] if breakdown.total else [])]}


def throughput(
    settings: Settings, org: Organisation, start: date = SPRING[0], end: date = SPRING[1], **filters: Any
) -> dict[str, tuple[reports.Value, ...]]:
    board = run(
        settings,
        lambda db: reports.dashboard(db, org.id, reports.Filters(start, end, T, **filters), ["throughput"]),
    )
    return {k: (v["cases"], v["median"], v["p90"]) for k, v in values_of(board, "throughput").items()}


def test_throughput_times_have_the_known_medians(settings: Settings, db: Session, factory: Factory) -> None:
    """Each step counts a client in the period in which the later event falls, from their first events:
    the first assessment (not an amendment), the first plan (number 1, come into force) and that plan's
    first service started."""
    w = World(db, factory)
    day = date
    # Known → first assessment: 10, 20, 30, 40 and 100 days (segment 3); the rest do not count.
    c1 = w.client(known_on=day(2026, 1, 1))
    a1 = w.assessment(c1, day(2026, 1, 11), status=AssessmentStatus.SUPERSEDED)
    w.assessment(c1, day(2026, 5, 1), previous_id=a1.id)  # an amendment: not a first assessment
    c2 = w.client(known_on=day(2026, 1, 1))
    a2 = w.assessment(c2, day(2026, 1, 21))
    c3 = w.client(known_on=day(2026, 2, 1))
    a3 = w.assessment(c3, day(2026, 3, 3))
    c4 = w.client(known_on=day(2026, 3, 1))
    w.assessment(c4, day(2026, 4, 10))
    c5 = w.client(known_on=day(2026, 1, 1), segment=3)
    w.assessment(c5, day(2026, 4, 11))
    c6 = w.client(known_on=day(2025, 1, 1))
    a6 = w.assessment(c6, day(2025, 12, 1), status=AssessmentStatus.SUPERSEDED)  # before the period
    w.assessment(c6, day(2026, 2, 1), previous_id=a6.id)
    c7 = w.client(w.other, known_on=day(2026, 1, 1))
    w.assessment(c7, day(2026, 2, 1), officer=w.other_officer)  # another organisation's: 31 days
    c8 = w.client(known_on=day(2026, 6, 1))
    w.assessment(c8, day(2026, 7, 1))  # the day after the period
    w.assessment(w.client(known_on=day(2026, 1, 1)), day(2026, 2, 1), status=AssessmentStatus.DRAFT)

    # First assessment → first plan's start: c1 30 days, c2 10, c3 20. A follow-up plan, a draft and a
    # plan with no assessment to count from have no days.
    p1 = w.plan(c1, day(2026, 2, 10), assessment_id=a1.id, status=PlanStatus.ENDED, ended_on=day(2026, 4, 30))
    follow_up = w.plan(c1, day(2026, 5, 1), assessment_id=a1.id)
    p2 = w.plan(c2, day(2026, 1, 31), assessment_id=a2.id)
    p3 = w.plan(c3, day(2026, 3, 23), assessment_id=a3.id)
    draft = w.plan(c4, day(2026, 4, 20), status=PlanStatus.DRAFT)
    w.plan(w.client(known_on=day(2026, 1, 1)), day(2026, 3, 1))
    p6 = w.plan(c6, day(2025, 12, 10), assessment_id=a6.id)  # started before the period

    # First plan → its first service started: p1 10 days (its later service does not count), p2 30.
    def started(plan: IntegrationPlan, on: date | None) -> None:
        status = PlanServiceStatus.STARTED if on else PlanServiceStatus.PLANNED
        w.service(plan, kind=PlanServiceKind.OTHER, name="Palvelu", status=status, started_on=on)

    started(p1, day(2026, 2, 20))
    started(p1, day(2026, 3, 1))
    started(p2, day(2026, 3, 2))
    started(p3, None)  # not started
    started(draft, day(2026, 4, 21))  # a draft plan's
    started(follow_up, day(2026, 5, 5))  # a follow-up plan's
    started(p6, day(2025, 12, 20))  # p6's first service started before the period; a later one in it
    started(p6, day(2026, 2, 1))

    D = Decimal
    assert throughput(settings, w.org) == {
        "known_to_assessment": (5, D("30.0"), D("100.0")),
        "assessment_to_plan": (3, D("20.0"), D("30.0")),
        "plan_to_service": (2, D("20.0"), D("30.0")),
    }
    assert throughput(settings, w.org, segment=1)["known_to_assessment"] == (4, D("25.0"), D("40.0"))
    assert throughput(settings, w.other)["known_to_assessment"] == (1, D("31.0"), D("31.0"))
    empty = throughput(settings, w.org, date(2020, 1, 1), date(2020, 12, 31))
    assert empty == dict.fromkeys(reports.THROUGHPUT_STEPS, (0, None, None))


def test_goal_attainment_by_goal_type(client: Any, settings: Settings, db: Session, factory: Factory) -> None:
    """Goals of the plans that ended (or were interrupted) in the period, by type and attainment; goals of a
    plan ended without a recorded attainment (replaced by a follow-up plan) count as not recorded."""
    w = World(db, factory)

    def ended(on: date, goals: list[tuple[GoalType, GoalAttainment | None]], org: Organisation | None = None,
              status: PlanStatus = PlanStatus.ENDED, **client_fields: Any) -> None:  # fmt: skip
        person = w.client(org, known_on=date(2024, 6, 1), **client_fields)
        plan = w.plan(person, date(2024, 7, 1), status=status, ended_on=on)
        w.add(*(PlanGoal(plan_id=plan.id, position=i, kind=GoalKind.LONG_TERM, goal_type=goal_type,
                         text="Tavoite", attainment=attained)
                for i, (goal_type, attained) in enumerate(goals, start=1)))  # fmt: skip

    work, language, other = GoalType.EMPLOYMENT, GoalType.LANGUAGE_SKILLS, GoalType.OTHER_GOAL
    yes, partly, no = GoalAttainment.ACHIEVED, GoalAttainment.PARTLY_ACHIEVED, GoalAttainment.NOT_ACHIEVED
    ended(date(2026, 6, 1), [(work, yes), (language, partly)], responsible_officer_id=w.officer1.id)
    ended(date(2026, 5, 1), [(work, no), (language, yes)], status=PlanStatus.INTERRUPTED, segment=2,
          responsible_officer_id=w.officer2.id)  # fmt: skip
    ended(date(2026, 3, 31), [(other, None)])  # replaced by a follow-up plan: nothing recorded
    ended(date(2026, 6, 30), [(work, partly)], segment=3)  # the period's last day
    ended(date(2025, 2, 1), [(work, yes)])  # before the period
    ended(date(2026, 7, 1), [(work, yes)])  # after it
    ended(date(2026, 6, 1), [(work, yes)], org=w.other)  # another organisation's
    open_plan = w.plan(w.client(known_on=date(2026, 1, 1)), date(2026, 2, 1))  # still in force
    w.add(PlanGoal(plan_id=open_plan.id, position=1, kind=GoalKind.LONG_TERM, goal_type=work, text="T"))

    def goals(**filters: Any) -> dict[str, list[reports.Value]]:
        board = run(
            settings,
            lambda s: reports.dashboard(
                s, w.org.id, reports.Filters(*SPRING, T, **filters), ["goal_attainment"]
            ),
        )
        found = values_of(board, "goal_attainment")
        return {k: [v[m] for m in (*reports.ATTAINMENTS, "goals")] for k, v in found.items() if v["goals"]}

    # achieved, partly, not achieved, not recorded, goals
    assert goals() == {
        work.value: [1, 1, 1, 0, 3],
        language.value: [1, 1, 0, 0, 2],
        other.value: [0, 0, 0, 1, 1],
        "total": [2, 2, 1, 1, 6],
    }
    assert goals(segment=2) == {
        work.value: [0, 0, 1, 0, 1],
        language.value: [1, 0, 0, 0, 1],
        "total": [1, 0, 1, 0, 2],
    }
    assert goals(officer_id=w.officer1.id) == {
        work.value: [1, 0, 0, 0, 1],
        language.value: [0, 1, 0, 0, 1],
        "total": [1, 1, 0, 0, 2],
    }

    # On the page: every goal type in the table beside its chart, in English.
    sign_in(client, w.manager)
    page = dashboard(client, SPRING_QUERY)
    assert table(page, "chart-goal_attainment-goal_type") == {
        "Employment": ["1", "1", "1", "0", "3"],
        "Entrepreneurship": ["0", "0", "0", "0", "0"],
        "Readiness for working life": ["0", "0", "0", "0", "0"],
        "At least upper secondary education": ["0", "0", "0", "0", "0"],
        "Finnish or Swedish skills": ["1", "1", "0", "0", "2"],
        "Other goal": ["0", "0", "0", "1", "1"],
        "Total": ["2", "2", "1", "1", "6"],
    }
    assert '<th scope="col">Partly achieved</th><th scope="col">Not achieved</th>' in page
    assert "Employment: Achieved 1, Partly achieved 1, Not achieved 1" in html.unescape(
        svg(page, "chart-goal_attainment-goal_type")
    )
    # The export: counts of 1–4 hidden; the total of 6 cannot be worked out back to a cell, so it stays.
    rows = csv_rows(client.get(f"/officer/reports/export.csv?{SPRING_QUERY}&panel=goal_attainment").content)
    assert {r["panel"] for r in rows} == {"report", "goal_attainment"}
    assert exported(rows, "goal_attainment", "goal_type", "goals") == {
        "employment_goal": "<5",
        "entrepreneurship": "0",
        "working_life_readiness": "0",
        "upper_secondary_education": "0",
        "language_skills_goal": "<5",
        "other_goal": "<5",
        "total": "6",
    }
    assert exported(rows, "goal_attainment", "goal_type", "achieved")["total"] == "<5"
    # Another organisation's manager sees only its own plan's goal.
    client.cookies.clear()
    sign_in(client, w.other_manager)
    theirs = table(dashboard(client, SPRING_QUERY), "chart-goal_attainment-goal_type")
    assert theirs["Employment"] == ["1", "0", "0", "0", "1"] and theirs["Total"][-1] == "1"


# --- guidance and counselling visits (service 4): by topic, language and channel -----------------------


class Visits:
    """Organisation A's topics and guidance visits in 2025 (and around it), and organisation B's."""

    def __init__(self, db: Session, factory: Factory) -> None:
        self.w = w = World(db, factory)
        self.db = db

        def topic(org: Organisation, fi: str, en: str, position: int, active: bool = True) -> GuidanceTopic:
            row = GuidanceTopic(organisation_id=org.id, name_fi=fi, name_sv=fi, name_en=en, position=position,
                                active=active)  # fmt: skip
            w.add(row)
            return row

        self.housing = topic(w.org, "Asuminen", "Housing", 1)
        self.kela = topic(w.org, "Kela", "Kela benefits", 2)
        self.school = topic(w.org, "Koulu", "School", 3)  # no visits: still listed
        self.covid = topic(w.org, "Korona", "COVID-19", 4, active=False)  # retired, with a visit
        self.unused = topic(w.org, "Vanha", "Old topic", 5, active=False)  # retired, no visits: not listed
        foreign = topic(w.other, "Asuminen", "Housing", 1)
        self.client = w.client(segment=2, known_on=date(2024, 5, 1), responsible_officer_id=w.officer1.id)
        consent = Consent(client_id=self.client.id, purpose=ConsentPurpose.GUIDANCE_RECORDS, given=True,
                          decided_on=date(2025, 1, 2), recorded_by_id=w.officer2.id)  # fmt: skip
        w.add(consent)
        o1, o2 = w.officer1, w.officer2

        def visit(on: date, channel: VisitChannel, language: str, topics: list[GuidanceTopic], by: Any,
                  identified: bool = False, org: Organisation = w.org) -> None:  # fmt: skip
            row = GuidanceVisit(organisation_id=org.id, visited_on=on, channel=channel, duration_minutes=20,
                                language=language, recorded_by_id=by.id,
                                client_id=self.client.id if identified else None,
                                consent_id=consent.id if identified else None)  # fmt: skip
            w.add(row)
            w.add(*(GuidanceVisitTopic(visit_id=row.id, topic_id=t.id) for t in topics))

        for day in range(1, 7):  # six anonymous walk-ins in Arabic about housing
            visit(date(2025, 3, day), VisitChannel.WALK_IN, "ar", [self.housing], o1)
        visit(date(2025, 12, 31), VisitChannel.PHONE, "fi", [self.housing, self.kela], o2)
        visit(date(2025, 1, 1), VisitChannel.CHAT, "so", [self.kela], o2, identified=True)
        visit(date(2025, 6, 1), VisitChannel.CHAT, "so", [self.kela], o2, identified=True)
        visit(date(2025, 2, 1), VisitChannel.EMAIL, "en", [self.covid], o1)
        visit(date(2024, 12, 31), VisitChannel.WALK_IN, "ar", [self.housing], o1)  # before the period
        visit(date(2026, 1, 1), VisitChannel.WALK_IN, "ar", [self.housing], o1)  # after it
        visit(date(2025, 3, 1), VisitChannel.PHONE, "ru", [foreign], w.other_officer, org=w.other)


@pytest.fixture
def visits(db: Session, factory: Factory) -> Visits:
    return Visits(db, factory)


def visit_figures(settings: Settings, v: Visits, **filters: Any) -> dict[str, dict[str, list[reports.Value]]]:
    """Breakdown key → row key → [anonymous, identified, visits] (the total row as "total")."""
    board = run(
        settings,
        lambda db: reports.dashboard(
            db, v.w.org.id, reports.Filters(Y, date(2025, 12, 31), T, **filters), ["visits"]
        ),
    )
    return {
        b.key: {
            r.key: [r.values["anonymous"], r.values["identified"], r.values["visits"]]
            for r in [*b.rows, *([b.total] if b.total else [])]
        }
        for b in board.panel("visits").breakdowns
    }


def test_guidance_visits_by_topic_language_and_channel(settings: Settings, visits: Visits) -> None:
    v = visits
    found = visit_figures(settings, v)
    # A visit with two topics counts under both; the topics have no total. The retired topic with a
    # visit in the period is listed, the one without is not.
    assert found["topic"] == {
        str(v.housing.id): [7, 0, 7],
        str(v.kela.id): [1, 2, 3],
        str(v.school.id): [0, 0, 0],
        str(v.covid.id): [1, 0, 1],
    }
    assert found["language"] == {
        "ar": [6, 0, 6],
        "so": [0, 2, 2],
        "en": [1, 0, 1],
        "fi": [1, 0, 1],
        "total": [8, 2, 10],
    }
    assert found["channel"] == {
        "walk_in": [6, 0, 6],
        "phone": [1, 0, 1],
        "chat": [0, 2, 2],
        "email": [1, 0, 1],
        "total": [8, 2, 10],
    }
    # Segment: only identified visits of clients in it (anonymous visits have no segment).
    two = visit_figures(settings, v, segment=2)
    assert two["channel"]["total"] == [0, 2, 2] and two["topic"][str(v.kela.id)] == [0, 2, 2]
    assert visit_figures(settings, v, segment=1)["channel"]["total"] == [0, 0, 0]
    # Officer: the visits that officer recorded, anonymous ones too.
    second = visit_figures(settings, v, officer_id=v.w.officer2.id)
    assert second["channel"]["total"] == [1, 2, 3]
    assert second["topic"][str(v.housing.id)] == [1, 0, 1] and second["topic"][str(v.kela.id)] == [1, 2, 3]


def test_guidance_visits_on_the_page_and_in_the_export(client: Any, visits: Visits, db: Session) -> None:
    v = visits
    sign_in(client, v.w.manager)
    page = dashboard(client)
    assert table(page, "chart-visits-topic") == {
        "Housing": ["7", "0", "7"],
        "Kela benefits": ["1", "2", "3"],
        "School": ["0", "0", "0"],
        "COVID-19 (retired)": ["1", "0", "1"],
    }
    assert table(page, "chart-visits-channel")["Total"] == ["8", "2", "10"]
    assert table(page, "chart-visits-language")["Arabic"] == ["6", "0", "6"]
    assert '<th scope="col">Anonymous</th><th scope="col">Identified (with consent)</th>' in page
    drawn = html.unescape(svg(page, "chart-visits-channel"))
    assert "Walk-in: Anonymous 6, Identified (with consent) 0" in drawn and "<title" in drawn
    assert "Old topic" not in page

    rows = csv_rows(client.get(f"/officer/reports/export.csv?{PERIOD}&panel=visits").content)
    assert {r["panel"] for r in rows} == {"report", "visits"}
    # Counts of 1–4 are hidden ("<5"). Secondary ("x"): the anonymous phone and e-mail visits (1 and 1)
    # could only add up to 8 − 6 − 0 = 2 one way, so walk-in's anonymous 6 goes too, and with it its
    # visits (its identified count is 0); the anonymous total would give away the identified "<5" from
    # the total of ten. The total of ten itself cannot be worked back to a cell.
    assert exported(rows, "visits", "channel", "visits") == {
        "walk_in": "x", "phone": "<5", "chat": "<5", "email": "<5", "total": "10",
    }  # fmt: skip
    assert exported(rows, "visits", "channel", "anonymous")["walk_in"] == "x"
    assert exported(rows, "visits", "channel", "identified")["total"] == "<5"
    assert exported(rows, "visits", "channel", "anonymous")["total"] == "x"
    assert exported(rows, "visits", "topic", "visits") == {
        str(v.housing.id): "7", str(v.kela.id): "<5", str(v.school.id): "0", str(v.covid.id): "<5",
    }  # fmt: skip
    assert all(r["value"] in ("0", "<5", "x") or int(r["value"]) >= 5 for r in rows if r["panel"] == "visits")
    labels = {r["category"]: r["category_label"] for r in rows if r["breakdown"] == "topic"}
    assert labels[str(v.housing.id)] == "Housing"
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.object_id == "visits" and "visits.topic" in event.fields and event.client_id is None

    # Another organisation's manager counts only its own visit.
    client.cookies.clear()
    sign_in(client, v.w.other_manager)
    theirs = dashboard(client)
    assert table(theirs, "chart-visits-channel")["Total"] == ["1", "0", "1"]
    assert table(theirs, "chart-visits-topic") == {"Housing": ["1", "0", "1"]}
