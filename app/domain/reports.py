"""Managers' dashboards, their CSV exports and the national statistics export (service 13).

Every panel is one set-based aggregate query (GROUP BY in the database, a few dozen rows back, never
client rows into Python) over the actor's own organisation. Deadlines come from app.domain.rules, the same
functions the worklist uses: where a rule compares two stored dates (the assessment target counts from the
day the client became known), its date arithmetic is done in SQL by `add_days`/`add_months` below, which
compile to the same calendar arithmetic as rules.add_days/add_months on PostgreSQL and SQLite (month ends
clamp: 31.1. + 1 month = 28./29.2.).

Statistics of deleted clients: when retention deletes a client it keeps an AnonymisedClient row (segment,
months known and ended, age group, mother tongue). Client counts of a period include those rows for the
months they cover; dates of their assessments and plans are not kept, so those counts cannot include them.

Exports suppress small counts: see `suppress` and docs/STATISTICS.md.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, TypeVar

from babel import Locale, numbers
from sqlalchemy import (
    ColumnElement,
    Date,
    FunctionElement,
    Integer,
    SQLColumnExpression,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler

from app import i18n
from app.db.assessment import Assessment, AssessmentStatus, Cefr, LanguageSkill
from app.db.client import Client, ClientStatus
from app.db.client_app import Feedback, FeedbackSubject
from app.db.costs import ClaimLine, ClaimStatus, CompensationClaim, Cost, CostCategory
from app.db.guidance import GuidanceTopic, GuidanceVisit, GuidanceVisitTopic, VisitChannel
from app.db.organisation import Organisation, Staff
from app.db.plan import (
    FinalLanguageTest,
    GoalAttainment,
    GoalType,
    IntegrationPlan,
    PlanGoal,
    PlanService,
    PlanServiceStatus,
    PlanStatus,
)
from app.db.programme import ProgrammeService, ServiceType
from app.db.retention import AnonymisedClient
from app.domain import charts, guidance_visits, rules
from app.domain.forms import FormErrors, parse_date
from app.domain.quality import CHANNELS, PUBLIC_ABOUT, channel_label
from app.i18n import LOCAL_TIME, gettext
from app.labels import label

# --- date arithmetic in SQL, the same as app.domain.rules -------------------------------------------


class _DateShift(FunctionElement[date]):
    """(date column, literal integer): the column moved by that many days or calendar months."""

    type = Date()
    inherit_cache = True


class _AddDays(_DateShift):
    inherit_cache = True
    name = "kp_add_days"


class _AddMonths(_DateShift):
    inherit_cache = True
    name = "kp_add_months"


class _DaysBetween(FunctionElement[int]):
    """(later, earlier): whole days from earlier to later."""

    type = Integer()
    inherit_cache = True
    name = "kp_days_between"


def add_days(column: SQLColumnExpression[date], days: int) -> ColumnElement[date]:
    """SQL for rules.add_days(column, days)."""
    return _AddDays(column, literal_column(str(int(days))))


def add_months(
    column: SQLColumnExpression[date] | SQLColumnExpression[date | None], months: int
) -> ColumnElement[date]:
    """SQL for rules.add_months(column, months): the day of month kept, clamped to the month's last day."""
    return _AddMonths(column, literal_column(str(int(months))))


def days_between(later: SQLColumnExpression[date], earlier: SQLColumnExpression[date]) -> ColumnElement[int]:
    return _DaysBetween(later, earlier)


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> tuple[str, int]:
    column, amount = list(element.clauses)
    return compiler.process(column, **kw), int(str(amount))


@compiles(_AddDays, "postgresql")
def _add_days_pg(element: _AddDays, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = _args(element, compiler, **kw)
    return f"({column} + {days})"


@compiles(_AddDays, "sqlite")
def _add_days_sqlite(element: _AddDays, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = _args(element, compiler, **kw)
    return f"date({column}, '{days:+d} days')"


@compiles(_AddMonths, "postgresql")
def _add_months_pg(element: _AddMonths, compiler: SQLCompiler, **kw: Any) -> str:
    # date + interval clamps to the month's last day, like rules.add_months.
    column, months = _args(element, compiler, **kw)
    return f"CAST({column} + INTERVAL '{months} months' AS DATE)"


@compiles(_AddMonths, "sqlite")
def _add_months_sqlite(element: _AddMonths, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's '+N months' overflows into the next month (31.1. → 3.3.): move the first of the month,
    # add the day back, and take the month's last day when that is earlier.
    column, months = _args(element, compiler, **kw)
    moved = (
        f"date({column}, 'start of month', '{months:+d} months', "
        f"'+' || (CAST(strftime('%d', {column}) AS INTEGER) - 1) || ' days')"
    )
    last = f"date({column}, 'start of month', '{months + 1:+d} months', '-1 day')"
    return f"min({moved}, {last})"


@compiles(_DaysBetween, "postgresql")
def _days_between_pg(element: _DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"({later} - {earlier})"


@compiles(_DaysBetween, "sqlite")
def _days_between_sqlite(element: _DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


# --- filters ----------------------------------------------------------------------------------------

AGE_GROUPS = ("0-6", "7-17", "18-29", "30-44", "45-64", "65+")
AGE_LIMITS = ((7, "0-6"), (18, "7-17"), (30, "18-29"), (45, "30-44"), (65, "45-64"))
UNKNOWN = "unknown"
OTHER = "other"
TOTAL = "total"
ALL = "all"
TOP_LANGUAGES = 10
SEGMENT_CHOICES = ("1", "2", "3")


@dataclass(frozen=True)
class Filters:
    """What a dashboard covers. The team filter is the clients' responsible officer (there is no team
    model); `on` is today, which "now" figures (overdue reviews) and ages use."""

    start: date
    end: date
    on: date
    segment: int | None = None
    officer_id: uuid.UUID | None = None

    @property
    def as_of(self) -> date:
        """The day a client's status and age are read on: the period's end, or today if that is earlier."""
        return min(self.end, self.on)

    def query(self) -> dict[str, str]:
        """The filters as the GET form's parameters (ids and dates only, no personal data)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        params["segment"] = str(self.segment) if self.segment else ALL
        if self.officer_id:
            params["officer"] = str(self.officer_id)
        return params


def default_filters(on: date) -> Filters:
    """This calendar year, every segment, every officer."""
    return Filters(start=date(on.year, 1, 1), end=date(on.year, 12, 31), on=on)


def read_filters(params: Mapping[str, str | None], on: date) -> tuple[Filters, FormErrors, dict[str, str]]:
    """The GET form's values: the filters (defaults where a value is missing), translated errors and
    the values as typed. A malformed officer id raises ValueError (the caller answers 404)."""
    errors = FormErrors()
    default = default_filters(on)
    form = {k: str(params.get(k) or "").strip() for k in ("from", "to", "segment", "officer")}
    start, end = default.start, default.end
    for name in ("from", "to"):
        if not form[name]:
            continue
        parsed = parse_date(form[name])
        if parsed is None or parsed.year < 1900 or parsed.year > 9999:
            errors[name] = gettext("Enter the date as dd.mm.yyyy, for example 24.3.2025.")
        elif name == "from":
            start = parsed
        else:
            end = parsed
    if "from" not in errors and "to" not in errors and end < start:
        errors["to"] = gettext("The end of the period cannot be before its start.")
    segment: int | None = None
    if form["segment"] and form["segment"] != ALL:
        if form["segment"] in SEGMENT_CHOICES:
            segment = int(form["segment"])
        else:
            errors["segment"] = gettext("Choose one of the options.")
    officer = uuid.UUID(form["officer"]) if form["officer"] else None
    form["from"] = form["from"] or start.isoformat()
    form["to"] = form["to"] or end.isoformat()
    form["segment"] = form["segment"] or ALL
    return Filters(start, end, on, segment, officer), errors, form


# --- the figures --------------------------------------------------------------------------------------


class Kind(StrEnum):
    COUNT = "count"  # a number of people or of their records: suppressed below five in exports
    PLAIN = "plain"  # a number not about persons (claims): never suppressed
    MONEY = "money"  # euros; hidden in exports with its `basis` count
    MEAN = "mean"  # a mean rating; hidden with its basis count
    DAYS = "days"  # a median or 90th percentile in days; hidden with its basis count
    SHARE = "share"  # numerator / denominator; hidden when either is hidden


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    kind: Kind = Kind.COUNT
    basis: str | None = None  # MONEY/MEAN/DAYS: the count they are computed from
    parts: tuple[str, ...] = ()  # a COUNT that is the sum of other counts of the same row
    numerator: str | None = None  # SHARE
    denominator: str | None = None  # SHARE


Value = int | Decimal | None


@dataclass
class Row:
    key: str  # a stable code (segment number, language code, age group, enum value, "total")
    label: str  # in the interface language
    values: dict[str, Value] = field(default_factory=dict)


@dataclass
class Breakdown:
    key: str
    title: str
    dimension: str  # the heading of the category column
    measures: list[Measure]
    rows: list[Row]
    total: Row | None = None
    chart: tuple[str, ...] = ()  # the measures drawn, one series each
    summary: str = ""  # one sentence for the chart's description, before its figures

    def measure(self, key: str) -> Measure:
        return next(m for m in self.measures if m.key == key)


@dataclass
class Panel:
    key: str
    title: str
    breakdowns: list[Breakdown]
    notes: list[str] = field(default_factory=list)


PANELS = (
    "clients",
    "deadlines",
    "reviews",
    "services",
    "language_tests",
    "visits",
    "feedback",
    "costs",
    "claims",
    "throughput",
    "goal_attainment",
)


# --- scopes -------------------------------------------------------------------------------------------


def _client_filters(f: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if f.segment:
        clauses.append(Client.segment == f.segment)
    if f.officer_id:
        clauses.append(Client.responsible_officer_id == f.officer_id)
    return clauses


def _filtered(f: Filters) -> bool:
    return bool(f.segment or f.officer_id)


def _narrowed(statement: Any, f: Filters, client_id: Any) -> Any:
    """The statement joined to its client and narrowed by segment and officer, when those are chosen; a
    panel that needs nothing else of the client does not read the client table at all otherwise."""
    if not _filtered(f):
        return statement
    return statement.join(Client, Client.id == client_id).where(*_client_filters(f))


def _age_group(born: SQLColumnExpression[date | None], as_of: date) -> ColumnElement[str]:
    """The age group on `as_of`: born after as_of − 7 years means under 7, and so on (rules.add_years)."""
    whens: list[tuple[ColumnElement[bool], str]] = [(born.is_(None), UNKNOWN)]
    whens += [(born > rules.add_years(as_of, -years), group) for years, group in AGE_LIMITS]
    return case(*whens, else_="65+")


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _helsinki_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TIME).astimezone(UTC)


def normalise_age_group(value: str | None) -> str:
    """An age group as AnonymisedClient keeps it ("18-24", "18–29", "65+") onto AGE_GROUPS: the group
    of AGE_GROUPS that contains it whole; one that straddles a boundary of AGE_GROUPS (or no group)
    counts as unknown rather than in a wrong group."""
    if not value:
        return UNKNOWN
    key = value.replace("–", "-").replace(" ", "")
    low_text, _dash, high_text = key.rstrip("+").partition("-")
    try:
        low = int(low_text)
        high = int(high_text) if high_text else None
    except ValueError:
        return UNKNOWN
    for group in AGE_GROUPS:
        first, _d, last = group.rstrip("+").partition("-")
        if low >= int(first) and (not last or (high is not None and high <= int(last))):
            return group
    return UNKNOWN


# --- the panels' queries ------------------------------------------------------------------------------


async def _rows(db: AsyncSession, statement: Any) -> list[Any]:
    return list((await db.execute(statement)).all())


def _clients_statement(org: uuid.UUID, f: Filters) -> Any:
    """(segment, status, mother tongue, age group, n) of the clients whose relationship overlaps the
    period, and of deleted clients (AnonymisedClient) for the months they cover."""
    as_of = f.as_of
    ended = and_(
        Client.status == ClientStatus.ENDED, or_(Client.ended_on.is_(None), Client.ended_on <= as_of)
    )
    live = (
        select(
            Client.segment.label("segment"),
            case((ended, "ended"), else_="active").label("status"),
            Client.mother_tongue.label("language"),
            _age_group(Client.date_of_birth, as_of).label("age_group"),
        )
        .where(
            Client.organisation_id == org,
            Client.known_on <= f.end,
            or_(Client.ended_on.is_(None), Client.ended_on >= f.start),
            *_client_filters(f),
        )
        .subquery()
    )
    anon = AnonymisedClient
    gone = (
        select(
            anon.segment.label("segment"),
            case(
                (and_(anon.ended_month.is_not(None), anon.ended_month <= as_of), "ended"), else_="active"
            ).label("status"),
            anon.mother_tongue.label("language"),
            anon.age_group.label("age_group"),
        )
        .where(
            anon.organisation_id == org,
            anon.known_month <= f.end,
            or_(anon.ended_month.is_(None), anon.ended_month >= _month_start(f.start)),
            anon.segment == f.segment if f.segment else true(),
            false() if f.officer_id else true(),  # no responsible officer is kept
        )
        .subquery()
    )
    grouped = [
        select(s.c.segment, s.c.status, s.c.language, s.c.age_group, func.count().label("n")).group_by(
            s.c.segment, s.c.status, s.c.language, s.c.age_group
        )
        for s in (live, gone)
    ]
    return union_all(*grouped)


def _language_label(code: str) -> str:
    if code == OTHER:
        return gettext("Other languages")
    if code == UNKNOWN:
        return gettext("Not recorded")
    return i18n.language_name(code)


def _age_label(group: str) -> str:
    if group == UNKNOWN:
        return gettext("Date of birth not recorded")
    return group.replace("-", "–")


def _count_rows(counts: Mapping[str, int], keys: Iterable[str], labeller: Callable[[str], str]) -> list[Row]:
    return [Row(k, labeller(k), {"clients": counts.get(k, 0)}) for k in keys]


def _total_row(rows: Sequence[Row], measures: Sequence[str]) -> Row:
    values: dict[str, Value] = {}
    for m in measures:
        values[m] = sum(int(r.values.get(m) or 0) for r in rows)
    return Row(TOTAL, gettext("Total"), values)


async def clients_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    by_segment: dict[str, int] = {}
    by_status: dict[str, int] = {}
    by_language: dict[str, int] = {}
    by_age: dict[str, int] = {}
    for row in await _rows(db, _clients_statement(org, f)):
        n = int(row.n)
        by_segment[str(row.segment)] = by_segment.get(str(row.segment), 0) + n
        by_status[row.status] = by_status.get(row.status, 0) + n
        language = row.language or UNKNOWN
        by_language[language] = by_language.get(language, 0) + n
        age = normalise_age_group(row.age_group)
        by_age[age] = by_age.get(age, 0) + n
    known = sorted(
        ((n, code) for code, n in by_language.items() if code != UNKNOWN), key=lambda x: (-x[0], x[1])
    )
    top = [code for _n, code in known[:TOP_LANGUAGES]]
    languages = {code: by_language[code] for code in top}
    if len(known) > TOP_LANGUAGES:
        languages[OTHER] = sum(n for n, _code in known[TOP_LANGUAGES:])
    if by_language.get(UNKNOWN):
        languages[UNKNOWN] = by_language[UNKNOWN]
    clients = Measure("clients", gettext("Clients"))
    segments = [str(f.segment)] if f.segment else list(SEGMENT_CHOICES)

    def breakdown(key: str, title: str, dimension: str, rows: list[Row], summary: str) -> Breakdown:
        return Breakdown(
            key, title, dimension, [clients], rows, _total_row(rows, ["clients"]), ("clients",), summary
        )

    ages = [*AGE_GROUPS, *([UNKNOWN] if by_age.get(UNKNOWN) else [])]
    return Panel(
        "clients",
        gettext("Clients"),
        [
            breakdown(
                "segment",
                gettext("Clients by segment"),
                gettext("Segment"),
                _count_rows(by_segment, segments, lambda k: label(int(k))),
                gettext("Number of clients in each segment."),
            ),
            breakdown(
                "status",
                gettext("Clients by status at the end of the period"),
                gettext("Status"),
                _count_rows(by_status, ("active", "ended"), label),
                gettext("Number of active and ended clients."),
            ),
            breakdown(
                "language",
                gettext("Clients by mother tongue (the ten most common and the others)"),
                gettext("Mother tongue"),
                _count_rows(languages, languages, _language_label),
                gettext("Number of clients by mother tongue."),
            ),
            breakdown(
                "age_group",
                gettext("Clients by age group"),
                gettext("Age"),
                _count_rows(by_age, ages, _age_label),
                gettext("Number of clients in each age group."),
            ),
        ],
        [
            gettext(
                "Clients whose client relationship was open on at least one day of the period: known by its "
                "end and not ended before its start. Status and age are those on the last day of the period "
                "(today, if the period goes on)."
            ),
            gettext(
                "Clients whose data has been deleted after the retention period are included for the months "
                "their relationship covered (by segment, mother tongue and the age group at the end), but "
                "not when one officer's clients are chosen: no officer is kept for them."
            ),
        ],
    )


def _first_assessments(org: uuid.UUID, f: Filters) -> list[ColumnElement[bool]]:
    """A client's first assessment (not an amendment), completed, interviewed in the period."""
    return [
        Assessment.organisation_id == org,
        Assessment.previous_id.is_(None),
        Assessment.status.in_([AssessmentStatus.COMPLETED, AssessmentStatus.SUPERSEDED]),
        Assessment.assessed_on >= f.start,
        Assessment.assessed_on <= f.end,
        *_client_filters(f),
    ]


MADE = (PlanStatus.IN_FORCE, PlanStatus.ENDED, PlanStatus.INTERRUPTED)


def _first_plans(org: uuid.UUID, f: Filters) -> list[ColumnElement[bool]]:
    """A client's first plan (number 1) that came into force, starting in the period (the caller adds
    the segment and officer filters with the client)."""
    return [
        IntegrationPlan.organisation_id == org,
        IntegrationPlan.number == 1,
        IntegrationPlan.status.in_(MADE),
        IntegrationPlan.starts_on >= f.start,
        IntegrationPlan.starts_on <= f.end,
    ]


def assessment_on_time(settings: rules.RuleSettings) -> ColumnElement[bool]:
    """rules.assessment_due: the interview no later than the target days after the client became known."""
    return Assessment.assessed_on <= add_days(Client.known_on, settings.assessment_target_days)


def plan_on_time() -> ColumnElement[bool]:
    """rules.plan_due: the plan starts by the plan date agreed in the assessment (or at once when none was
    agreed) and at the latest three years (rules.plan_deadline) from the first permit."""
    return and_(
        IntegrationPlan.starts_on <= func.coalesce(Assessment.planned_plan_date, Assessment.assessed_on),
        or_(
            Client.first_permit_date.is_(None),
            IntegrationPlan.starts_on <= add_months(Client.first_permit_date, 12 * 3),
        ),
    )


PATH_STEPS = ("assessment", "plan", "service")


def _path_statements(org: uuid.UUID, f: Filters, settings: rules.RuleSettings) -> dict[str, Any]:
    """(item, outcome, days, n) of the integration path in the period, for two panels at once, one
    statement per item (so that they can run side by side): first assessments and first plans with their
    deadline outcome and the days from the step before, and plans whose first service started in the
    period with the days from the plan's start. Days come as a histogram, so medians come out the same
    on every database."""
    assessed = (
        select(
            literal("assessment").label("item"),
            case((assessment_on_time(settings), "within"), else_="late").label("outcome"),
            days_between(Assessment.assessed_on, Client.known_on).label("days"),
        )
        .select_from(Assessment)
        .join(Client, Client.id == Assessment.client_id)
        .where(*_first_assessments(org, f))
    )
    planned = (
        select(
            literal("plan").label("item"),
            case((Assessment.id.is_(None), UNKNOWN), (plan_on_time(), "within"), else_="late").label(
                "outcome"
            ),
            days_between(IntegrationPlan.starts_on, Assessment.assessed_on).label("days"),
        )
        .select_from(IntegrationPlan)
        .join(Client, Client.id == IntegrationPlan.client_id)
        .outerjoin(Assessment, Assessment.id == IntegrationPlan.assessment_id)
        .where(*_first_plans(org, f), *_client_filters(f))
    )
    # A plan's first service started in the period: one started in it and none before it (a merge anti
    # join over ix_plan_service_plan_id_started_on on PostgreSQL).
    earlier = aliased(PlanService)
    first_start = (
        select(PlanService.plan_id, func.min(PlanService.started_on).label("started_on"))
        .where(
            PlanService.started_on >= f.start,
            PlanService.started_on <= f.end,
            ~exists().where(earlier.plan_id == PlanService.plan_id, earlier.started_on < f.start),
        )
        .group_by(PlanService.plan_id)
        .subquery()
    )
    served = (
        select(
            literal("service").label("item"),
            literal(UNKNOWN).label("outcome"),
            days_between(first_start.c.started_on, IntegrationPlan.starts_on).label("days"),
        )
        .select_from(IntegrationPlan)
        .join(first_start, first_start.c.plan_id == IntegrationPlan.id)
        .where(
            IntegrationPlan.organisation_id == org,
            IntegrationPlan.number == 1,
            IntegrationPlan.status.in_(MADE),
        )
    )

    def histogram(statement: Any) -> Any:
        step = statement.subquery()
        return select(step.c.item, step.c.outcome, step.c.days, func.count().label("n")).group_by(
            step.c.item, step.c.outcome, step.c.days
        )

    return {
        "assessment": histogram(assessed),
        "plan": histogram(planned),
        "service": histogram(_narrowed(served, f, IntegrationPlan.client_id)),
    }


def deadlines_panel(path: Sequence[Any], settings: rules.RuleSettings) -> Panel:
    """From the rows of _path_statements."""
    counts: dict[tuple[str, str], int] = {}
    for r in path:
        counts[(r.item, r.outcome)] = counts.get((r.item, r.outcome), 0) + int(r.n)
    rows = []
    for item, text in (("assessment", gettext("First assessments")), ("plan", gettext("First plans"))):
        within, late, unknown = (counts.get((item, k), 0) for k in ("within", "late", UNKNOWN))
        values: dict[str, Value] = {
            "done": within + late + unknown,
            "within": within,
            "late": late,
            "unknown": unknown,
            "share": _share(within, within + late),
        }
        rows.append(Row(item, text, values))
    measures = [
        Measure("done", gettext("Done in the period"), parts=("within", "late", "unknown")),
        Measure("within", gettext("Within the deadline")),
        Measure("late", gettext("Late")),
        Measure("unknown", gettext("No assessment to count from")),
        Measure(
            "share",
            gettext("Share within the deadline"),
            Kind.SHARE,
            numerator="within",
            denominator="done",
        ),
    ]
    return Panel(
        "deadlines",
        gettext("Assessments and plans within the deadlines"),
        [
            Breakdown(
                "deadlines",
                gettext("First assessments and first plans done in the period"),
                gettext("What"),
                measures,
                rows,
                None,
                ("within", "late"),
                gettext("Within the deadline and late."),
            )
        ],
        [
            gettext(
                "Assessment: the interview is held no later than %(days)s days after the municipality "
                "learned of the person. The law (section 14(2)) says “without delay”; the number of days is "
                "the municipality's own target, the same one the worklist uses."
            )
            % {"days": settings.assessment_target_days},
            gettext(
                "Plan: the first plan starts by the plan date agreed in the assessment, or at once when none "
                "was agreed, and at the latest three years after the first residence permit (section 20) – "
                "the same rule as on the worklist. Amended assessments and follow-up plans are not counted."
            ),
        ],
    )


def _share(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.001"), ROUND_HALF_UP)


REVIEW_BUCKETS = ("not_overdue", "overdue_1_30", "overdue_31_90", "overdue_over_90")


def _reviews_statement(org: uuid.UUID, f: Filters) -> Any:
    """Plans in force of the organisation's active clients (the worklist's scope) by how long their
    review (§22: next_review_on, or six months from the start when none is recorded) is overdue today."""
    on = f.on
    due = func.coalesce(IntegrationPlan.next_review_on, add_months(IntegrationPlan.starts_on, 6))
    bucket = case(
        (due >= on, "not_overdue"),  # rules.is_overdue: due < on
        (due >= rules.add_days(on, -30), "overdue_1_30"),
        (due >= rules.add_days(on, -90), "overdue_31_90"),
        else_="overdue_over_90",
    )
    plans = (
        select(bucket.label("bucket"))
        .join(Client, Client.id == IntegrationPlan.client_id)
        .where(
            Client.organisation_id == org,
            Client.status == ClientStatus.ACTIVE,
            IntegrationPlan.status == PlanStatus.IN_FORCE,
            *_client_filters(f),
        )
        .subquery()
    )
    return select(plans.c.bucket, func.count().label("n")).group_by(plans.c.bucket)


async def reviews_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    counts = {r.bucket: int(r.n) for r in await _rows(db, _reviews_statement(org, f))}
    names = {
        "not_overdue": gettext("Not overdue"),
        "overdue_1_30": gettext("Overdue 1–30 days"),
        "overdue_31_90": gettext("Overdue 31–90 days"),
        "overdue_over_90": gettext("Overdue more than 90 days"),
    }
    rows = [Row(k, names[k], {"plans": counts.get(k, 0)}) for k in REVIEW_BUCKETS]
    total = _total_row(rows, ["plans"])
    total.label = gettext("Plans in force")
    overdue = sum(int(r.values["plans"] or 0) for r in rows[1:])
    return Panel(
        "reviews",
        gettext("Reviews overdue now"),
        [
            Breakdown(
                "reviews",
                gettext("Plans in force by how long their review is overdue today"),
                gettext("Review"),
                [Measure("plans", gettext("Plans in force"))],
                rows,
                total,
                ("plans",),
                gettext("Plans in force by review status."),
            )
        ],
        [
            gettext(
                "As of today, whatever the period: the plans in force of active clients. A plan is reviewed "
                "at least every six months (section 22); the review is overdue once its date has passed – "
                "the same rule as on the worklist."
            ),
            gettext("%(overdue)s of %(plans)s plans in force have an overdue review.")
            % {
                "overdue": i18n.format_number(overdue),
                "plans": i18n.format_number(int(total.values["plans"] or 0)),
            },
        ],
    )


def _services_statement(org: uuid.UUID, f: Filters) -> Any:
    ended = func.coalesce(PlanService.completed_on, PlanService.interrupted_on)
    in_use = and_(
        PlanService.started_on.is_not(None),
        PlanService.started_on <= f.end,
        or_(ended.is_(None), ended >= f.start),
    )
    completed = and_(
        PlanService.status == PlanServiceStatus.COMPLETED,
        PlanService.completed_on >= f.start,
        PlanService.completed_on <= f.end,
    )
    services = (
        select(
            type_coerce(func.coalesce(ProgrammeService.service_type, PlanService.kind), String()).label(
                "kind"
            ),
            case((in_use, 1), else_=0).label("in_use"),
            case((completed, 1), else_=0).label("completed"),
        )
        .select_from(PlanService)
        .join(IntegrationPlan, IntegrationPlan.id == PlanService.plan_id)
        .outerjoin(ProgrammeService, ProgrammeService.id == PlanService.programme_service_id)
        .where(IntegrationPlan.organisation_id == org, or_(in_use, completed))
    )
    services = _narrowed(services, f, IntegrationPlan.client_id).subquery()
    return select(
        services.c.kind,
        func.sum(services.c.in_use).label("in_use"),
        func.sum(services.c.completed).label("completed"),
    ).group_by(services.c.kind)


SERVICE_KINDS = (*(t.value for t in ServiceType), "programme", "ngo")


async def services_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    found = {
        r.kind: (int(r.in_use or 0), int(r.completed or 0))
        for r in await _rows(db, _services_statement(org, f))
    }
    kinds = [k for k in SERVICE_KINDS if k in found] + sorted(k for k in found if k not in SERVICE_KINDS)
    rows = [Row(k, label(k), {"in_use": found[k][0], "completed": found[k][1]}) for k in kinds]
    return Panel(
        "services",
        gettext("Services in use and completed"),
        [
            Breakdown(
                "services",
                gettext("Services of the plans by type"),
                gettext("Type of service"),
                [
                    Measure("in_use", gettext("In use in the period")),
                    Measure("completed", gettext("Completed in the period")),
                ],
                rows,
                _total_row(rows, ["in_use", "completed"]),
                ("in_use", "completed"),
                gettext("Services in use and completed, by type."),
            )
        ],
        [
            gettext(
                "In use: started by the end of the period and not completed or interrupted before its start. "
                "Completed: marked completed with a date in the period. A service counts once per client "
                "plan."
            )
        ],
    )


def _language_tests_statement(org: uuid.UUID, f: Filters) -> Any:
    tests = (
        select(FinalLanguageTest.level, FinalLanguageTest.skill, func.count().label("n"))
        .join(PlanService, PlanService.id == FinalLanguageTest.plan_service_id)
        .join(IntegrationPlan, IntegrationPlan.id == PlanService.plan_id)
        .where(
            IntegrationPlan.organisation_id == org,
            FinalLanguageTest.tested_on >= f.start,
            FinalLanguageTest.tested_on <= f.end,
        )
    )
    return _narrowed(tests, f, IntegrationPlan.client_id).group_by(
        FinalLanguageTest.level, FinalLanguageTest.skill
    )


async def language_tests_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    counts = {
        (str(r.level), str(r.skill)): int(r.n) for r in await _rows(db, _language_tests_statement(org, f))
    }
    skills = [s.value for s in LanguageSkill]
    rows = []
    for level in Cefr:
        values: dict[str, Value] = {s: counts.get((level.value, s), 0) for s in skills}
        values["results"] = sum(int(v or 0) for v in values.values())
        rows.append(Row(level.value, label(level), values))
    measures = [Measure(s, label(s)) for s in skills]
    measures.append(Measure("results", gettext("All skills"), parts=tuple(skills)))
    return Panel(
        "language_tests",
        gettext("Final language test results"),
        [
            Breakdown(
                "levels",
                gettext("Final language test results by level and skill"),
                gettext("Level"),
                measures,
                rows,
                _total_row(rows, [*skills, "results"]),
                ("results",),
                gettext("Results of all skills at each level."),
            )
        ],
        [gettext("Results of final language tests taken in the period; each skill tested is one result.")],
    )


VISITORS = ("anonymous", "identified")


def _visits_scope(statement: Any, org: uuid.UUID, f: Filters) -> Any:
    """Visits of the organisation in the period. The officer filter is the officer who recorded the visit
    (anonymous visits have no client, so no responsible officer); the segment filter is the client's, so
    with a segment chosen anonymous visits are not counted (they have none)."""
    statement = statement.where(
        GuidanceVisit.organisation_id == org,
        GuidanceVisit.visited_on >= f.start,
        GuidanceVisit.visited_on <= f.end,
    )
    if f.officer_id:
        statement = statement.where(GuidanceVisit.recorded_by_id == f.officer_id)
    if f.segment:
        statement = statement.join(Client, Client.id == GuidanceVisit.client_id).where(
            Client.segment == f.segment
        )
    return statement


def _identified() -> ColumnElement[int]:
    return case((GuidanceVisit.client_id.is_(None), 0), else_=1)


def _visits_statement(org: uuid.UUID, f: Filters) -> Any:
    """(channel, language, identified 0/1, n): the visits of the period."""
    visits = _visits_scope(
        select(
            type_coerce(GuidanceVisit.channel, String()).label("channel"),
            GuidanceVisit.language.label("language"),
            _identified().label("identified"),
        ),
        org,
        f,
    ).subquery()
    return select(visits.c.channel, visits.c.language, visits.c.identified, func.count().label("n")).group_by(
        visits.c.channel, visits.c.language, visits.c.identified
    )


def _visit_topics_statement(org: uuid.UUID, f: Filters) -> Any:
    """(topic, identified visits, anonymous visits) for every topic of the organisation: the visits of the
    period that have it (a visit with several topics counts under each)."""
    pairs = _visits_scope(
        select(GuidanceVisitTopic.topic_id.label("topic_id"), _identified().label("identified")).join(
            GuidanceVisit, GuidanceVisit.id == GuidanceVisitTopic.visit_id
        ),
        org,
        f,
    ).subquery()
    return (
        select(
            GuidanceTopic,
            func.coalesce(func.sum(pairs.c.identified), 0).label("identified"),
            func.count(pairs.c.topic_id).label("visits"),
        )
        .outerjoin(pairs, pairs.c.topic_id == GuidanceTopic.id)
        .where(GuidanceTopic.organisation_id == org)
        .group_by(GuidanceTopic.id)
        .order_by(
            GuidanceTopic.active.desc(), GuidanceTopic.position, GuidanceTopic.name_fi, GuidanceTopic.id
        )
    )


def _visit_values(anonymous: int, identified: int) -> dict[str, Value]:
    return {"anonymous": anonymous, "identified": identified, "visits": anonymous + identified}


async def visits_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    """Guidance and counselling visits (service 4) of the period: by topic, by language and by channel,
    anonymous and identified apart. Two statements: the visits grouped, and the topic list with counts."""
    by_channel: dict[str, list[int]] = {}
    by_language: dict[str, list[int]] = {}
    for r in await _rows(db, _visits_statement(org, f)):
        side = int(r.identified)
        for bucket, key in ((by_channel, str(r.channel)), (by_language, str(r.language or UNKNOWN))):
            bucket.setdefault(key, [0, 0])[side] += int(r.n)
    topic_rows = []
    for topic, identified, visits in (await db.execute(_visit_topics_statement(org, f))).all():
        identified, visits = int(identified or 0), int(visits or 0)
        if topic.active or visits:  # a retired topic only when visits of the period have it
            name = guidance_visits.topic_name(topic)
            if not topic.active:
                name = gettext("%(topic)s (retired)") % {"topic": name}
            topic_rows.append(Row(str(topic.id), name, _visit_values(visits - identified, identified)))
    channel_rows = [
        Row(c.value, label(c), _visit_values(*by_channel.get(c.value, [0, 0]))) for c in VisitChannel
    ]
    ranked = sorted(by_language, key=lambda k: (-sum(by_language[k]), k))
    top, rest = ranked[:TOP_LANGUAGES], ranked[TOP_LANGUAGES:]
    languages = {code: by_language[code] for code in top}
    if rest:
        languages[OTHER] = [sum(by_language[c][i] for c in rest) for i in (0, 1)]
    language_rows = [Row(k, _language_label(k), _visit_values(*v)) for k, v in languages.items()]
    measures = [
        Measure("anonymous", gettext("Anonymous")),
        Measure("identified", gettext("Identified (with consent)")),
        Measure("visits", gettext("Visits"), parts=VISITORS),
    ]
    series = VISITORS
    notes = [
        gettext(
            "Guidance and counselling visits with a date in the period. Identified visits are those kept "
            "for a client with their consent (decree 874/2024); the visits of a client whose data has "
            "since been deleted count as anonymous."
        ),
        gettext(
            "By topic, a visit with several topics counts under each of them, so the topics have no total. "
            "Retired topics are listed only when visits of the period have them."
        ),
    ]
    if f.officer_id:
        notes.append(gettext("With an officer chosen: the visits that officer recorded, anonymous ones too."))
    if f.segment:
        notes.append(
            gettext(
                "With a segment chosen, only identified visits of clients in it: anonymous ones have no segment."
            )
        )
    return Panel(
        "visits",
        gettext("Guidance visits"),
        [
            Breakdown(
                "topic",
                gettext("Guidance visits by topic"),
                gettext("Topic"),
                measures,
                topic_rows,
                None,
                series,
                gettext("Anonymous and identified visits by topic."),
            ),
            Breakdown(
                "language",
                gettext("Guidance visits by language (the ten most common and the others)"),
                gettext("Language"),
                measures,
                language_rows,
                _total_row(language_rows, ["anonymous", "identified", "visits"]),
                series,
                gettext("Anonymous and identified visits by the language of the visit."),
            ),
            Breakdown(
                "channel",
                gettext("Guidance visits by channel"),
                gettext("Channel"),
                measures,
                channel_rows,
                _total_row(channel_rows, ["anonymous", "identified", "visits"]),
                series,
                gettext("Anonymous and identified visits by channel."),
            ),
        ],
        notes,
    )


def _feedback_statement(org: uuid.UUID, f: Filters) -> Any:
    """(channel, language, n, sum of ratings): the channels of app.domain.quality (what the feedback in
    the migrant app was about, or the anonymous form at the guidance site)."""
    public = and_(Feedback.subject == FeedbackSubject.SERVICE, Feedback.about == PUBLIC_ABOUT)
    statement = select(
        type_coerce(case((public, "public"), else_=Feedback.subject), String()).label("channel"),
        Feedback.language.label("language"),
        Feedback.rating.label("rating"),
    ).where(
        Feedback.organisation_id == org,
        Feedback.created_at >= _helsinki_midnight(f.start),
        Feedback.created_at < _helsinki_midnight(rules.add_days(f.end, 1)),
    )
    # Anonymous feedback has no client, so with a segment or an officer chosen it is not counted.
    given = _narrowed(statement, f, Feedback.client_id).subquery()
    return select(
        given.c.channel, given.c.language, func.count().label("n"), func.sum(given.c.rating).label("total")
    ).group_by(given.c.channel, given.c.language)


def _mean(total: int, n: int) -> Decimal | None:
    return (Decimal(total) / Decimal(n)).quantize(Decimal("0.1"), ROUND_HALF_UP) if n else None


async def feedback_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    by_subject: dict[str, list[int]] = {}
    by_language: dict[str, list[int]] = {}
    for r in await _rows(db, _feedback_statement(org, f)):
        for bucket, key in ((by_subject, str(r.channel)), (by_language, r.language or UNKNOWN)):
            n_total = bucket.setdefault(key, [0, 0])
            n_total[0] += int(r.n)
            n_total[1] += int(r.total or 0)

    def rows_of(
        found: dict[str, list[int]], keys: Sequence[str], labeller: Callable[[str], str]
    ) -> list[Row]:
        return [
            Row(
                k,
                labeller(k),
                {
                    "answers": found.get(k, [0, 0])[0],
                    "mean": _mean(found.get(k, [0, 0])[1], found.get(k, [0, 0])[0]),
                    "_sum": found.get(k, [0, 0])[1],
                },
            )
            for k in keys
        ]

    def total_of(rows: list[Row]) -> Row:
        n = sum(int(r.values["answers"] or 0) for r in rows)
        s = sum(int(r.values["_sum"] or 0) for r in rows)
        return Row(TOTAL, gettext("Total"), {"answers": n, "mean": _mean(s, n), "_sum": s})

    measures = [
        Measure("answers", gettext("Answers")),
        Measure("mean", gettext("Mean rating (1–5)"), Kind.MEAN, basis="answers"),
    ]
    subjects = rows_of(by_subject, list(CHANNELS), channel_label)
    languages = rows_of(
        by_language,
        sorted(by_language, key=lambda k: (-by_language[k][0], k)),
        _language_label,
    )
    notes = [
        gettext("Ratings from 1 (very bad) to 5 (very good) given in the period, anonymous ones included.")
    ]
    if _filtered(f):
        notes.append(
            gettext("With a segment or an officer chosen, only feedback from identified clients is counted.")
        )
    return Panel(
        "feedback",
        gettext("Feedback"),
        [
            Breakdown(
                "subject",
                gettext("Feedback by subject"),
                gettext("Subject"),
                measures,
                subjects,
                total_of(subjects),
                ("mean",),
                gettext("Mean rating by subject."),
            ),
            Breakdown(
                "language",
                gettext("Feedback by the language it was given in"),
                gettext("Language"),
                measures,
                languages,
                total_of(languages),
                ("mean",),
                gettext("Mean rating by language."),
            ),
        ],
        notes,
    )


def _costs_statement(org: uuid.UUID, f: Filters) -> Any:
    statement = select(Cost.category, func.count().label("n"), func.sum(Cost.amount).label("amount")).where(
        Cost.organisation_id == org, Cost.incurred_on >= f.start, Cost.incurred_on <= f.end
    )
    return _narrowed(statement, f, Cost.client_id).group_by(Cost.category)


async def costs_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    found = {
        str(r.category): (int(r.n), Decimal(r.amount or 0)) for r in await _rows(db, _costs_statement(org, f))
    }
    rows = [
        Row(
            c.value,
            label(c),
            {
                "costs": found.get(c.value, (0, Decimal(0)))[0],
                "amount": _money(found.get(c.value, (0, Decimal(0)))[1]),
            },
        )
        for c in CostCategory
    ]
    total = Row(
        TOTAL,
        gettext("Total"),
        {
            "costs": sum(int(r.values["costs"] or 0) for r in rows),
            "amount": _money(sum((Decimal(r.values["amount"] or 0) for r in rows), Decimal(0))),
        },
    )
    notes = [
        gettext("Costs recorded with a date in the period, by the compensation section they fall under.")
    ]
    if _filtered(f):
        notes.append(gettext("With a segment or an officer chosen, only costs of such clients are counted."))
    return Panel(
        "costs",
        gettext("Costs"),
        [
            Breakdown(
                "category",
                gettext("Costs by category"),
                gettext("Category"),
                [
                    Measure("costs", gettext("Costs")),
                    Measure("amount", gettext("Amount (€)"), Kind.MONEY, basis="costs"),
                ],
                rows,
                total,
                ("amount",),
                gettext("Euros by category."),
            )
        ],
        notes,
    )


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _claims_statement(org: uuid.UUID, f: Filters) -> Any:
    claimed = (
        select(func.coalesce(func.sum(ClaimLine.amount), 0))
        .where(ClaimLine.claim_id == CompensationClaim.id)
        .correlate(CompensationClaim)
        .scalar_subquery()
    )
    claims = (
        select(
            CompensationClaim.status.label("status"),
            claimed.label("claimed"),
            CompensationClaim.decided_amount.label("decided"),
            CompensationClaim.paid_amount.label("paid"),
        )
        .where(
            CompensationClaim.organisation_id == org,
            CompensationClaim.period_start <= f.end,
            CompensationClaim.period_end >= f.start,
        )
        .subquery()
    )
    return select(
        claims.c.status,
        func.count().label("n"),
        func.sum(claims.c.claimed).label("claimed"),
        func.sum(claims.c.decided).label("decided"),
        func.sum(claims.c.paid).label("paid"),
    ).group_by(claims.c.status)


async def claims_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    found = {str(r.status): r for r in await _rows(db, _claims_statement(org, f))}
    money = ("claimed", "decided", "paid")
    rows = []
    for status in ClaimStatus:
        r = found.get(status.value)
        values: dict[str, Value] = {"claims": int(r.n) if r else 0}
        for m in money:
            values[m] = _money(Decimal(getattr(r, m) or 0)) if r else _money(Decimal(0))
        rows.append(Row(status.value, label(status), values))
    total = Row(TOTAL, gettext("Total"), {"claims": sum(int(r.values["claims"] or 0) for r in rows)})
    for m in money:
        total.values[m] = _money(sum((Decimal(r.values[m] or 0) for r in rows), Decimal(0)))
    return Panel(
        "claims",
        gettext("Compensation claims"),
        [
            Breakdown(
                "status",
                gettext("Compensation claims by status"),
                gettext("Status"),
                [
                    Measure("claims", gettext("Claims"), Kind.PLAIN),
                    Measure("claimed", gettext("Claimed (€)"), Kind.MONEY),
                    Measure("decided", gettext("Decided (€)"), Kind.MONEY),
                    Measure("paid", gettext("Paid (€)"), Kind.MONEY),
                ],
                rows,
                total,
                ("claimed",),
                gettext("Euros claimed by the status of the claim."),
            )
        ],
        [
            gettext(
                "Claims to the KEHA centre whose claim period overlaps the period. Claims are the "
                "organisation's, not a client's: the segment and officer filters do not apply to them."
            )
        ],
    )


THROUGHPUT_STEPS = ("known_to_assessment", "assessment_to_plan", "plan_to_service")


def _nth(values: Sequence[tuple[int, int]], index: int) -> int:
    """The index-th smallest (from 0) of values given as sorted (value, count)."""
    seen = 0
    for value, n in values:
        seen += n
        if index < seen:
            return value
    raise IndexError(index)


def median(histogram: Sequence[tuple[int, int]]) -> Decimal | None:
    """The median of values given as (value, count): the middle one, or the mean of the two middle ones
    (as statistics.median)."""
    values = sorted((v, n) for v, n in histogram if n > 0)
    total = sum(n for _v, n in values)
    if not total:
        return None
    middle = (Decimal(_nth(values, (total - 1) // 2)) + Decimal(_nth(values, total // 2))) / 2
    return middle.quantize(Decimal("0.1"), ROUND_HALF_UP)


def nearest_rank(histogram: Sequence[tuple[int, int]], p: float) -> Decimal | None:
    """The p-th percentile by the nearest-rank method: the smallest value with at least p of all values
    at or below it."""
    values = sorted((v, n) for v, n in histogram if n > 0)
    total = sum(n for _v, n in values)
    if not total:
        return None
    rank = max(1, math.ceil(Decimal(str(p)) * total))
    return Decimal(_nth(values, rank - 1)).quantize(Decimal("0.1"))


STEP_OF_ITEM = {
    "assessment": "known_to_assessment",
    "plan": "assessment_to_plan",
    "service": "plan_to_service",
}


def throughput_panel(path: Sequence[Any]) -> Panel:
    """From the rows of _path_statements (a plan with no assessment has no days to count)."""
    histograms: dict[str, list[tuple[int, int]]] = {step: [] for step in THROUGHPUT_STEPS}
    for r in path:
        if r.days is not None:
            histograms[STEP_OF_ITEM[r.item]].append((int(r.days), int(r.n)))
    names = {
        "known_to_assessment": gettext("Known → first assessment"),
        "assessment_to_plan": gettext("Assessment → first plan"),
        "plan_to_service": gettext("First plan → first service started"),
    }
    rows = [
        Row(
            step,
            names[step],
            {
                "cases": sum(n for _v, n in histograms[step]),
                "median": median(histograms[step]),
                "p90": nearest_rank(histograms[step], 0.9),
            },
        )
        for step in THROUGHPUT_STEPS
    ]
    return Panel(
        "throughput",
        gettext("Throughput times"),
        [
            Breakdown(
                "steps",
                gettext("Days from one step of the integration path to the next"),
                gettext("Step"),
                [
                    Measure("cases", gettext("Clients")),
                    Measure("median", gettext("Median (days)"), Kind.DAYS, basis="cases"),
                    Measure("p90", gettext("90 % within (days)"), Kind.DAYS, basis="cases"),
                ],
                rows,
                None,
                ("median", "p90"),
                gettext("Median and 90th percentile of days for each step."),
            )
        ],
        [
            gettext(
                "Counted for the clients who reached the later step in the period: the first assessment "
                "(interview date), the first plan (its start) and the first service of that plan (its start)."
            )
        ],
    )


ATTAINMENTS = ("achieved", "partly_achieved", "not_achieved", "not_recorded")
ATTAINMENT_OF = {
    GoalAttainment.ACHIEVED: "achieved",
    GoalAttainment.PARTLY_ACHIEVED: "partly_achieved",
    GoalAttainment.NOT_ACHIEVED: "not_achieved",
}


def _goals_statement(org: uuid.UUID, f: Filters) -> Any:
    """(goal type, attainment, n): the goals of the organisation's plans that ended (or were interrupted)
    in the period; attainment is empty where none was recorded."""
    goals = (
        select(PlanGoal.goal_type, PlanGoal.attainment, func.count().label("n"))
        .join(IntegrationPlan, IntegrationPlan.id == PlanGoal.plan_id)
        .where(
            IntegrationPlan.organisation_id == org,
            IntegrationPlan.ended_on >= f.start,
            IntegrationPlan.ended_on <= f.end,
        )
    )
    return _narrowed(goals, f, IntegrationPlan.client_id).group_by(PlanGoal.goal_type, PlanGoal.attainment)


async def goal_attainment_panel(db: AsyncSession, org: uuid.UUID, f: Filters) -> Panel:
    counts: dict[tuple[str, str], int] = {}
    for r in await _rows(db, _goals_statement(org, f)):
        attained = ATTAINMENT_OF[GoalAttainment(r.attainment)] if r.attainment else "not_recorded"
        key = (GoalType(r.goal_type).value, attained)
        counts[key] = counts.get(key, 0) + int(r.n)
    rows = []
    for goal_type in GoalType:
        values: dict[str, Value] = {a: counts.get((goal_type.value, a), 0) for a in ATTAINMENTS}
        values["goals"] = sum(int(v or 0) for v in values.values())
        rows.append(Row(goal_type.value, label(goal_type), values))
    measures = [
        Measure("achieved", label(GoalAttainment.ACHIEVED)),
        Measure("partly_achieved", label(GoalAttainment.PARTLY_ACHIEVED)),
        Measure("not_achieved", label(GoalAttainment.NOT_ACHIEVED)),
        Measure("not_recorded", gettext("Not recorded")),
        Measure("goals", gettext("Goals"), parts=ATTAINMENTS),
    ]
    return Panel(
        "goal_attainment",
        gettext("Goal attainment"),
        [
            Breakdown(
                "goal_type",
                gettext("Goals of the plans that ended in the period, by type and attainment"),
                gettext("Type of goal"),
                measures,
                rows,
                _total_row(rows, [*ATTAINMENTS, "goals"]),
                ("achieved", "partly_achieved", "not_achieved"),
                gettext("Goals achieved, partly achieved and not achieved, by type of goal."),
            )
        ],
        [
            gettext(
                "The goals of the integration plans that ended or were interrupted in the period (their end "
                "date), by the type of goal (section 18) and how far each was attained, as recorded when the "
                "plan ended. A plan replaced by a follow-up plan ends without a recorded attainment: its "
                "goals count as not recorded."
            )
        ],
    )


@dataclass
class Dashboard:
    filters: Filters
    panels: list[Panel]

    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)


PARALLEL_QUERIES = 3  # connections one dashboard uses at once on PostgreSQL, besides the request's own
# Planner settings of each panel's transaction on PostgreSQL (SET LOCAL: the pooled connection keeps its
# own). No parallel workers inside a statement: the panels already run side by side on PARALLEL_QUERIES
# connections, and workers on top only compete for the same CPUs. Enough work_mem to group a wide period
# in memory (4 MB sorted three years on disk): at most PARALLEL_QUERIES × this at once. random_page_cost
# for SSD storage, so that PostgreSQL reads the narrow covering index ix_client_reports instead of the
# wide client table (see docs/STATISTICS.md, Performance).
REPORT_SETTINGS: dict[str, str] = {
    "max_parallel_workers_per_gather": "0",
    "work_mem": "32MB",
    "random_page_cost": "1.1",
    # asyncpg prepares each statement once per connection; after five runs PostgreSQL may keep a generic
    # plan made without the period's dates, and a plan good for one year then ran three years at half the
    # speed. Planning each time costs well under a millisecond.
    "plan_cache_mode": "force_custom_plan",
}


_SET_REPORT_SETTINGS = select(
    *(func.set_config(name, value, True) for name, value in REPORT_SETTINGS.items())
)  # one statement; set_config(..., true) is SET LOCAL


async def _run_all(
    db: AsyncSession, jobs: Mapping[str, Callable[[AsyncSession], Awaitable[Any]]]
) -> dict[str, Any]:
    """Each job with a session. On PostgreSQL the jobs run on up to PARALLEL_QUERIES connections of
    their own at once (read-only aggregates: each sees the data as of its own start); on SQLite one
    after another on the request's session (its writers take the database lock, so a second
    connection would wait for this request's own transaction)."""
    engine = db.bind
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
        return {key: await job(db) for key, job in jobs.items()}
    maker = async_sessionmaker(engine, expire_on_commit=False)
    limit = asyncio.Semaphore(PARALLEL_QUERIES)

    async def run(job: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with limit, maker() as session:
            await session.execute(_SET_REPORT_SETTINGS)
            return await job(session)

    values = await asyncio.gather(*(run(job) for job in jobs.values()))
    return dict(zip(jobs, values, strict=True))


async def dashboard(
    db: AsyncSession,
    organisation_id: uuid.UUID,
    f: Filters,
    only: Sequence[str] = PANELS,
    settings: rules.RuleSettings | None = None,
) -> Dashboard:
    """The panels (all, or those named in `only`): one aggregate query each, and three for the two
    panels of the integration path (deadlines and throughput times), one per step."""
    settings = settings or rules.RuleSettings()
    org = organisation_id
    path = _path_statements(org, f, settings) if {"deadlines", "throughput"} & set(only) else {}

    def step(item: str) -> Callable[[AsyncSession], Awaitable[Any]]:
        return lambda s: _rows(s, path[item])

    # Roughly the slowest first, so that the parallel connections finish at about the same time.
    queries: dict[str, Callable[[AsyncSession], Awaitable[Any]]] = {
        "path:plan": step("plan"),
        "services": lambda s: services_panel(s, org, f),
        "path:service": step("service"),
        "language_tests": lambda s: language_tests_panel(s, org, f),
        "visits": lambda s: visits_panel(s, org, f),
        "reviews": lambda s: reviews_panel(s, org, f),
        "clients": lambda s: clients_panel(s, org, f),
        "path:assessment": step("assessment"),
        "goal_attainment": lambda s: goal_attainment_panel(s, org, f),
        "feedback": lambda s: feedback_panel(s, org, f),
        "costs": lambda s: costs_panel(s, org, f),
        "claims": lambda s: claims_panel(s, org, f),
    }
    wanted = {*only, *(f"path:{item}" for item in path)}
    found = await _run_all(db, {key: job for key, job in queries.items() if key in wanted})
    if path:  # the three steps serve both panels
        rows = [row for item in PATH_STEPS for row in found.pop(f"path:{item}")]
        found["deadlines"] = deadlines_panel(rows, settings)
        found["throughput"] = throughput_panel(rows)
    return Dashboard(f, [found[key] for key in PANELS if key in only])


# --- showing the figures ------------------------------------------------------------------------------


def display(value: Value, kind: Kind) -> str:
    """A figure in the interface language; "–" when there is none (a mean of no answers)."""
    if value is None:
        return "–"
    locale = i18n.get_locale()
    if kind == Kind.MONEY:
        return str(numbers.format_currency(value, "EUR", locale=locale))
    if kind == Kind.SHARE:  # the locale's own percent pattern ("50.0%", "50,0 %") with one decimal
        pattern = Locale.parse(locale).percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)
        return str(numbers.format_percent(value, pattern, locale=locale))
    if kind in (Kind.MEAN, Kind.DAYS):
        return str(numbers.format_decimal(value, "#,##0.0", locale=locale))
    return str(numbers.format_decimal(value, locale=locale))


def chart(breakdown: Breakdown, chart_id: str) -> Any:
    """The breakdown's chart (its rows, without the total), from the same values as its table."""
    series = [charts.Series(m, breakdown.measure(m).label) for m in breakdown.chart]
    categories = [
        charts.Category(
            row.label,
            tuple(row.values.get(m) for m in breakdown.chart),
            tuple(display(row.values.get(m), breakdown.measure(m).kind) for m in breakdown.chart),
        )
        for row in breakdown.rows
    ]
    rtl = i18n.locale_info(i18n.get_locale()).direction == "rtl"
    return charts.bar_chart(
        chart_id=chart_id,
        title=breakdown.title,
        summary=breakdown.summary,
        series=series,
        categories=categories,
        rtl=rtl,
    )


# --- suppression of small counts in exports -----------------------------------------------------------

THRESHOLD = 5
K = TypeVar("K")


class Mark(StrEnum):
    PRIMARY = "<5"  # a count of 1–4
    HIDDEN = "x"  # hidden so that a total cannot reveal a "<5" cell, or computed from a hidden count


def _disclosed(
    cells: Mapping[K, int], hidden: Mapping[K, Mark], total: K, members: Sequence[K], threshold: int
) -> bool:
    """Whether a reader who knows the total, the shown members and that each "<5" is 1–(threshold−1)
    and each "x" at least `threshold` can pin down any hidden member exactly."""
    secret = [m for m in members if m in hidden]
    rest = cells[total] - sum(cells[m] for m in members if m not in hidden)
    bounds = [(1, threshold - 1) if hidden[m] == Mark.PRIMARY else (threshold, rest) for m in secret]
    low_sum = sum(lo for lo, _hi in bounds)
    high_sum = sum(hi for _lo, hi in bounds)
    for lo, hi in bounds:
        low = max(lo, rest - (high_sum - hi))
        high = min(hi, rest - (low_sum - lo))
        if low >= high:
            return True
    return False


def suppress(
    cells: Mapping[K, int], groups: Sequence[tuple[K, Sequence[K]]], threshold: int = THRESHOLD
) -> dict[K, Mark]:
    """Which cells an export hides.

    Primary: every count from 1 to threshold−1 ("<5"); zeros are shown. Secondary: `groups` are
    (total, members) whose members add up to the total. While some group's shown total and shown
    members would let a reader work out a hidden member exactly (one hidden member; or hidden members
    whose possible values leave only one solution), the smallest shown member of at least `threshold`
    is hidden too ("x"); when no such member is left, the total itself is hidden. A hidden total is
    a member of another group (a row total in a column, …), so this repeats until no group reveals
    anything."""
    hidden: dict[K, Mark] = {k: Mark.PRIMARY for k, v in cells.items() if 0 < v < threshold}
    changed = True
    while changed:
        changed = False
        for total, members in groups:
            if total in hidden or not any(m in hidden for m in members):
                continue
            if not _disclosed(cells, hidden, total, members, threshold):
                continue
            candidates = [m for m in members if m not in hidden and cells[m] >= threshold]
            pick = min(candidates, key=lambda m: cells[m]) if candidates else total
            hidden[pick] = Mark.HIDDEN
            changed = True
    return hidden


def _plain(value: Value, kind: Kind) -> str:
    """A figure for a machine: no thousands separators, a decimal point."""
    if value is None:
        return ""
    if kind == Kind.MONEY:
        return f"{Decimal(value):.2f}"
    if kind in (Kind.MEAN, Kind.DAYS):
        return f"{Decimal(value):.1f}"
    if kind == Kind.SHARE:
        return f"{Decimal(value):.3f}"
    return str(int(value))


def export_values(breakdown: Breakdown) -> dict[tuple[str, str], str]:
    """(row key, measure key) → the value an export shows, small counts suppressed."""
    rows = [*breakdown.rows, *([breakdown.total] if breakdown.total else [])]
    counts = [m for m in breakdown.measures if m.kind == Kind.COUNT]
    cells: dict[tuple[str, str], int] = {
        (r.key, m.key): int(r.values.get(m.key) or 0) for r in rows for m in counts
    }
    groups: list[tuple[tuple[str, str], list[tuple[str, str]]]] = []
    if breakdown.total:
        for m in counts:
            groups.append(((TOTAL, m.key), [(r.key, m.key) for r in breakdown.rows]))
    for m in counts:
        if m.parts:
            for r in rows:
                groups.append(((r.key, m.key), [(r.key, p) for p in m.parts]))
    hidden = suppress(cells, groups)
    out: dict[tuple[str, str], str] = {}
    for r in rows:
        for m in breakdown.measures:
            key = (r.key, m.key)
            if key in hidden:
                out[key] = hidden[key].value
                continue
            depends = [d for d in (m.basis, m.numerator, m.denominator) if d]
            if any((r.key, d) in hidden for d in depends):
                out[key] = Mark.HIDDEN.value
            else:
                out[key] = _plain(r.values.get(m.key), m.kind)
    return out


CSV_COLUMNS = ("panel", "breakdown", "category", "category_label", "measure", "measure_label", "value")


def _csv_bytes(rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheet programs read the letters right), CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return "\ufeff".encode() + buffer.getvalue().encode()


def dashboard_csv(board: Dashboard, officer_name: str | None = None) -> bytes:
    """The panels in long form: one line per figure, small counts suppressed. The first lines give the
    filters (panel "report")."""
    f = board.filters
    lines: list[Sequence[str]] = [CSV_COLUMNS]
    lines += [
        ("report", "filters", "period_start", "", "", "", f.start.isoformat()),
        ("report", "filters", "period_end", "", "", "", f.end.isoformat()),
        ("report", "filters", "segment", "", "", "", str(f.segment) if f.segment else ALL),
        ("report", "filters", "responsible_officer", officer_name or "", "", "", str(f.officer_id or ALL)),
    ]
    for panel in board.panels:
        for breakdown in panel.breakdowns:
            values = export_values(breakdown)
            for row in [*breakdown.rows, *([breakdown.total] if breakdown.total else [])]:
                for m in breakdown.measures:
                    lines.append(
                        (
                            panel.key,
                            breakdown.key,
                            row.key,
                            row.label,
                            m.key,
                            m.label,
                            values[(row.key, m.key)],
                        )
                    )
    return _csv_bytes(lines)


# --- the national statistics export -------------------------------------------------------------------

NATIONAL_VERSION = "1"
NATIONAL_MEASURES = (
    "clients_known",
    "clients_served",
    "assessments_done",
    "assessments_within_target",
    "plans_made",
    "first_plans_made",
    "first_plans_within_deadline",
    "plans_in_force_at_year_end",
)
NATIONAL_COLUMNS = ("schema_version", "year", "municipality_code", "segment", "age_group", *NATIONAL_MEASURES)
NATIONAL_AGE_GROUPS = (*AGE_GROUPS, UNKNOWN)


def _national_statement(org: uuid.UUID, year: int, on: date, settings: rules.RuleSettings) -> Any:
    """(segment, age group, one column per measure) in four passes, one per table read: clients,
    first assessments, plans and deleted clients; the caller adds up the rows of each group."""
    f = Filters(date(year, 1, 1), date(year, 12, 31), on)

    def columns(found: Mapping[str, Any]) -> list[Any]:
        return [(found[m] if m in found else literal(0)).label(m) for m in NATIONAL_MEASURES]

    def by_client(found: Mapping[str, Any]) -> Any:
        age = _age_group(Client.date_of_birth, f.as_of).label("age_group")
        return select(Client.segment.label("segment"), age, *columns(found))

    def grouped(statement: Any) -> Any:
        sub = statement.subquery()
        return select(
            sub.c.segment, sub.c.age_group, *(func.sum(sub.c[m]).label(m) for m in NATIONAL_MEASURES)
        ).group_by(sub.c.segment, sub.c.age_group)

    # Every measure counts rows, so each pass selects one 1/0 per measure and the outer query sums them.
    def one(condition: ColumnElement[bool] | None = None) -> Any:
        return case((condition, 1), else_=0) if condition is not None else literal(1)

    clients = by_client({"clients_known": one(Client.known_on >= f.start), "clients_served": one()}).where(
        Client.organisation_id == org,
        Client.known_on <= f.end,
        or_(Client.ended_on.is_(None), Client.ended_on >= f.start),
    )
    assessed = (
        by_client({"assessments_done": one(), "assessments_within_target": one(assessment_on_time(settings))})
        .select_from(Assessment)
        .join(Client, Client.id == Assessment.client_id)
        .where(*_first_assessments(org, f))
    )
    made = and_(IntegrationPlan.starts_on >= f.start, IntegrationPlan.starts_on <= f.end)
    first = and_(made, IntegrationPlan.number == 1)
    in_force = and_(
        IntegrationPlan.starts_on <= f.end,
        or_(IntegrationPlan.ended_on.is_(None), IntegrationPlan.ended_on > f.end),
    )
    planned = (
        by_client(
            {
                "plans_made": one(made),
                "first_plans_made": one(first),
                "first_plans_within_deadline": one(and_(first, Assessment.id.is_not(None), plan_on_time())),
                "plans_in_force_at_year_end": one(in_force),
            }
        )
        .select_from(IntegrationPlan)
        .join(Client, Client.id == IntegrationPlan.client_id)
        .outerjoin(Assessment, Assessment.id == IntegrationPlan.assessment_id)
        .where(
            IntegrationPlan.organisation_id == org,
            IntegrationPlan.status.in_(MADE),
            or_(made, in_force),
        )
    )
    anon = AnonymisedClient
    deleted = select(
        anon.segment.label("segment"),
        anon.age_group.label("age_group"),
        *columns({"clients_known": one(anon.known_month >= f.start), "clients_served": one()}),
    ).where(
        anon.organisation_id == org,
        anon.known_month <= f.end,
        or_(anon.ended_month.is_(None), anon.ended_month >= f.start),
    )
    return union_all(*(grouped(s) for s in (clients, assessed, planned, deleted)))


async def national_counts(
    db: AsyncSession,
    organisation_id: uuid.UUID,
    year: int,
    on: date,
    settings: rules.RuleSettings | None = None,
) -> dict[tuple[str, str, str], int]:
    """(measure, segment, age group) → count, with the totals ("all") of each segment, of each age group
    and of everything; nothing suppressed yet."""
    settings = settings or rules.RuleSettings()
    found: dict[tuple[str, str, str], int] = {}
    statement = _national_statement(organisation_id, year, on, settings)
    rows = (await _run_all(db, {"national": lambda s: _rows(s, statement)}))[
        "national"
    ]  # the report settings
    for r in rows:
        for measure in NATIONAL_MEASURES:
            key = (measure, str(r.segment), normalise_age_group(r.age_group))
            found[key] = found.get(key, 0) + int(getattr(r, measure) or 0)
    counts: dict[tuple[str, str, str], int] = {}
    segments = list(SEGMENT_CHOICES)
    for measure in NATIONAL_MEASURES:
        for s in segments:
            for a in NATIONAL_AGE_GROUPS:
                counts[(measure, s, a)] = found.get((measure, s, a), 0)
            counts[(measure, s, ALL)] = sum(counts[(measure, s, a)] for a in NATIONAL_AGE_GROUPS)
        for a in (*NATIONAL_AGE_GROUPS, ALL):
            counts[(measure, ALL, a)] = sum(counts[(measure, s, a)] for s in segments)
    return counts


async def national_csv(
    db: AsyncSession,
    organisation_id: uuid.UUID,
    year: int,
    on: date,
    settings: rules.RuleSettings | None = None,
) -> bytes:
    """The national statistics export (docs/STATISTICS.md): one line per segment × age group, with the
    totals of each segment, of each age group and of all ("all"); small counts suppressed."""
    code = await db.scalar(select(Organisation.code).where(Organisation.id == organisation_id))
    counts = await national_counts(db, organisation_id, year, on, settings)
    segments = list(SEGMENT_CHOICES)
    lines: list[Sequence[str]] = [NATIONAL_COLUMNS]
    shown: dict[tuple[str, str, str], str] = {}
    for measure in NATIONAL_MEASURES:
        cells = {
            (s, a): counts[(measure, s, a)] for s in (*segments, ALL) for a in (*NATIONAL_AGE_GROUPS, ALL)
        }
        groups: list[tuple[tuple[str, str], list[tuple[str, str]]]] = []
        for s in (*segments, ALL):
            groups.append(((s, ALL), [(s, a) for a in NATIONAL_AGE_GROUPS]))
        for a in (*NATIONAL_AGE_GROUPS, ALL):
            groups.append(((ALL, a), [(s, a) for s in segments]))
        hidden = suppress(cells, groups)
        for (s, a), value in cells.items():
            shown[(measure, s, a)] = hidden[(s, a)].value if (s, a) in hidden else str(value)
    for s in (*segments, ALL):
        for a in (*NATIONAL_AGE_GROUPS, ALL):
            lines.append(
                (
                    NATIONAL_VERSION,
                    str(year),
                    code or "",
                    s,
                    a,
                    *(shown[(m, s, a)] for m in NATIONAL_MEASURES),
                )
            )
    return _csv_bytes(lines)


# --- the team filter ------------------------------------------------------------------------------------


def officer_name(staff: Sequence[Staff], officer_id: uuid.UUID | None) -> str | None:
    return next((s.full_name for s in staff if s.id == officer_id), None)
