"""Initial guidance (alkuvaiheen ohjaus ja neuvonta, process 3.4.6 of the reference architecture).

Initial guidance is meant above all for people placed in the municipality, but may be given to anyone.
Its need is individual: it may be daily at first and taper off as the person learns to manage on their
own. It ends when the need ends, or at the latest when the integration plan period ends (3.4.6).

A guidance plan belongs to one client, optionally including the family: then a task may be for a family
member, who must be linked to the client (family_link) and readable by the officer. One active plan per
client at a time (the client's row is locked while a plan is started, so two concurrent starts cannot
both pass the check). Tasks: a health check referral, information sessions, housing guidance, help with
authorities (day-care or school applications, Kela, DVV …) or other; a first due date and a frequency:
once, or every N days, tapering off from a date on to every M days (M > N) or stopping.

The schedule is a pure function (next_due): the next occurrence follows the last time the task was done,
so guidance done late does not pile up. An occurrence on or after the taper date belongs to the tapered
rhythm. The officer's list of upcoming tasks asks the same rule in SQL (next_due_sql), so it is filtered,
ordered and bounded in the database.

The plan ends (read-only from then on):
- the officer ends it when guidance is no longer needed (no_longer_needed);
- ending or interrupting the client's integration plan ends it (integration_plan_ended): a hook in
  plans.end_plan, in the same transaction, so the guidance plan never outlives an ended plan. A plan in
  force whose period has run out is not stored as ended anywhere; the client page shows a notice then;
- ending the client relationship ends it (client_ended): a hook in clients.set_relationship.

Everything goes through the access policy (client_scope for reading, may_write_client for changes:
county staff with a grant read, interpreters see nothing, another organisation's ids are not found) and
is audited with object ids and field names only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Date, case, func, null, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.orm.exc import StaleDataError

from app.db.client import Client, ClientStatus, FamilyLink
from app.db.guidance import (
    GuidancePlan,
    GuidancePlanEndReason,
    GuidancePlanStatus,
    GuidanceTask,
    GuidanceTaskKind,
)
from app.db.organisation import Staff
from app.db.plan import IntegrationPlan, PlanStatus
from app.domain import audit, forms
from app.domain.audit import Action
from app.domain.forms import FormErrors, as_input, checkbox, choice, date_field, text
from app.domain.policy import Actor, client_scope, may_write_client
from app.i18n import _, format_date

MAX_NOTE = 4000
MAX_DESCRIPTION = 2000
MAX_DAYS = 365  # the longest interval between two occurrences
UPCOMING_DAYS = 14  # the officer's list: overdue tasks and those due within this many days
UPCOMING_LIMIT = 200

PLAN_FIELDS = ["status", "starts_on", "ends_on", "end_reason", "includes_family", "note"]
TASK_FIELDS = [
    "kind",
    "description",
    "for_client_id",
    "first_due_on",
    "every_days",
    "taper_on",
    "taper_every_days",
    "last_done_on",
    "completed_on",
]
EDITABLE = [
    "kind",
    "description",
    "for_client_id",
    "first_due_on",
    "every_days",
    "taper_on",
    "taper_every_days",
]


class AlreadyActive(Exception):
    """The client already has an active guidance plan."""


class StaleGuidance(Exception):
    """The plan or task was changed by someone else after the form was opened."""


class Closed(Exception):
    """The plan has ended, or the task is no longer open: nothing more is recorded on it."""


# --- the schedule (pure) ------------------------------------------------------------------------------


class Schedule(Protocol):
    """What the schedule needs of a task (GuidanceTask has it)."""

    @property
    def first_due_on(self) -> date: ...
    @property
    def every_days(self) -> int | None: ...
    @property
    def taper_on(self) -> date | None: ...
    @property
    def taper_every_days(self) -> int | None: ...
    @property
    def last_done_on(self) -> date | None: ...
    @property
    def completed_on(self) -> date | None: ...


def next_due(task: Schedule) -> date | None:
    """The date the task is next due; None when nothing more is due (no longer needed, a once-task done,
    or a recurring task whose rhythm stopped at the taper date).

    Not yet done: the first due date (it stays due, and overdue, until done). Done on day d: every
    `every_days` days from d; an occurrence falling on or after `taper_on` follows the tapered rhythm
    instead — `taper_every_days` days after d, or none at all when that is empty."""
    if task.completed_on is not None:
        return None
    if task.last_done_on is None:
        return task.first_due_on
    if task.every_days is None:
        return None
    candidate = task.last_done_on + timedelta(days=task.every_days)
    if task.taper_on is None or candidate < task.taper_on:
        return candidate
    if task.taper_every_days is None:
        return None
    return task.last_done_on + timedelta(days=task.taper_every_days)


def state(task: Schedule, today: date) -> str:
    """overdue, due (today), upcoming, done (a once-task), finished (tapered off), not_needed. (The client
    page calls the open tasks of an ended plan open_at_end.)"""
    if task.completed_on is not None:
        return "not_needed"
    due = next_due(task)
    if due is None:
        return "done" if task.every_days is None else "finished"
    if due < today:
        return "overdue"
    return "due" if due == today else "upcoming"


def next_due_sql(dialect: str) -> ColumnElement[date]:
    """next_due() as a column expression, for filtering and ordering in the database (same rule)."""
    task = GuidanceTask

    def plus(days: InstrumentedAttribute[int | None]) -> ColumnElement[date]:
        if dialect == "postgresql":
            return type_coerce(task.last_done_on + days, Date)
        return type_coerce(func.date(task.last_done_on, func.printf("+%d days", days)), Date)

    return type_coerce(
        case(
            (task.completed_on.is_not(None), null()),
            (task.last_done_on.is_(None), task.first_due_on),
            (task.every_days.is_(None), null()),
            (
                or_(task.taper_on.is_(None), plus(task.every_days) < task.taper_on),
                plus(task.every_days),
            ),
            (task.taper_every_days.is_(None), null()),
            else_=plus(task.taper_every_days),
        ),
        Date,
    )


# --- what the pages show ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskView:
    task: GuidanceTask
    for_name: str | None  # the family member's name; None: the client of the plan
    next_due: date | None
    state: str

    @property
    def open(self) -> bool:
        return self.next_due is not None


@dataclass
class PlanView:
    plan: GuidancePlan
    tasks: list[TaskView]

    @property
    def active(self) -> bool:
        return self.plan.status == GuidancePlanStatus.ACTIVE

    @property
    def overdue(self) -> int:
        return sum(1 for t in self.tasks if t.state == "overdue")


@dataclass
class ClientSection:
    active: PlanView | None
    ended: list[PlanView]
    names: dict[uuid.UUID, str]  # staff who started the plans
    family: list[tuple[uuid.UUID, str]]  # linked family members the actor may read: (id, name)
    may_write: bool  # change the active plan and its tasks
    may_start: bool  # start a plan (none active, the relationship active)
    today: date
    integration_plan_ended_on: date | None = None  # the plan in force whose period has run out

    @property
    def kinds(self) -> type[GuidanceTaskKind]:
        return GuidanceTaskKind


async def family_members(db: AsyncSession, actor: Actor, client: Client) -> list[tuple[uuid.UUID, str]]:
    """The client's family members (family_link) whom the actor may read, as (id, "Last, First")."""
    rows = await db.execute(
        select(Client.id, Client.last_name, Client.first_names)
        .join(FamilyLink, FamilyLink.related_client_id == Client.id)
        .where(FamilyLink.client_id == client.id, client_scope(actor))
        .order_by(Client.date_of_birth, Client.last_name, Client.first_names, Client.id)
    )
    return [(row.id, f"{row.last_name}, {row.first_names}") for row in rows]


async def _staff_names(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    return {row.id: row.full_name for row in rows}


def task_view(
    task: GuidanceTask, names: Mapping[uuid.UUID, str], today: date, *, plan_active: bool = True
) -> TaskView:
    """How the task reads today; the open tasks of an ended plan are no longer due (open_at_end)."""
    for_name = None
    if task.for_client_id is not None:
        for_name = names.get(task.for_client_id) or _("A family member")
    due = next_due(task)
    if due is not None and not plan_active:
        return TaskView(task, for_name, None, "open_at_end")
    return TaskView(task, for_name, due, state(task, today))


def _sort_key(view: TaskView) -> tuple[int, date, str]:
    # Open tasks by their next due date first, then the closed ones by when they were set up.
    due = view.next_due or view.task.first_due_on
    return (0 if view.open else 1, due, str(view.task.id))


async def _audit_view(
    db: AsyncSession, actor: Actor, client_id: uuid.UUID, plans: Sequence[PlanView]
) -> None:
    if not plans:
        return
    await audit.record(
        db, Action.VIEW, actor=actor, client_id=client_id, object_type="guidance_plan", fields=PLAN_FIELDS
    )
    tasks = [t.task for p in plans for t in p.tasks]
    if tasks:
        await audit.record(
            db, Action.VIEW, actor=actor, client_id=client_id, object_type="guidance_task", fields=TASK_FIELDS
        )
    # The family members whose tasks were shown: their access history shows it too.
    for member in sorted({t.for_client_id for t in tasks if t.for_client_id is not None}, key=str):
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=member,
            object_type="guidance_task",
            fields=TASK_FIELDS,
        )


async def _integration_plan_lapsed(db: AsyncSession, client: Client, today: date) -> date | None:
    """The end of the client's integration plan in force when its period has already run out (3.4.6:
    initial guidance ends at the latest then); None otherwise."""
    return await db.scalar(
        select(IntegrationPlan.ends_on).where(
            IntegrationPlan.client_id == client.id,
            IntegrationPlan.status == PlanStatus.IN_FORCE,
            IntegrationPlan.ends_on < today,
        )
    )


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> ClientSection | None:
    """What the client page shows of this area (None: nothing). The caller has loaded the client under
    the actor's client scope, so whoever gets here may read the plans."""
    today = forms.today()
    plans = (
        await db.scalars(
            select(GuidancePlan)
            .where(GuidancePlan.client_id == client.id)
            .order_by(GuidancePlan.starts_on.desc(), GuidancePlan.created_at.desc(), GuidancePlan.id)
        )
    ).all()
    writable = may_write_client(actor, client)
    if not plans and not writable:
        return None
    tasks = (
        (await db.scalars(select(GuidanceTask).where(GuidanceTask.plan_id.in_([p.id for p in plans])))).all()
        if plans
        else []
    )
    family = await family_members(db, actor, client)
    names = dict(family)
    by_plan: dict[uuid.UUID, list[TaskView]] = {p.id: [] for p in plans}
    active_ids = {p.id for p in plans if p.status == GuidancePlanStatus.ACTIVE}
    for task in tasks:
        by_plan[task.plan_id].append(task_view(task, names, today, plan_active=task.plan_id in active_ids))
    views = [PlanView(p, sorted(by_plan[p.id], key=_sort_key)) for p in plans]
    active = next((v for v in views if v.active), None)
    section = ClientSection(
        active=active,
        ended=[v for v in views if not v.active],
        names=await _staff_names(db, (p.created_by_id for p in plans)),
        family=family,
        may_write=writable and active is not None,
        may_start=writable and active is None and client.status == ClientStatus.ACTIVE,
        today=today,
    )
    if active is not None:
        section.integration_plan_ended_on = await _integration_plan_lapsed(db, client, today)
    await _audit_view(db, actor, client.id, views)
    return section


# --- loading for a change --------------------------------------------------------------------------------


async def load_plan(db: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> tuple[GuidancePlan, Client] | None:
    """The plan and its client when the actor may read the client; None otherwise (the caller: 404)."""
    row = (
        await db.execute(
            select(GuidancePlan, Client)
            .join(Client, Client.id == GuidancePlan.client_id)
            .where(GuidancePlan.id == plan_id, client_scope(actor))
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def load_task(db: AsyncSession, plan: GuidancePlan, task_id: uuid.UUID) -> GuidanceTask | None:
    return await db.scalar(
        select(GuidanceTask).where(GuidanceTask.id == task_id, GuidanceTask.plan_id == plan.id)
    )


async def family_names(db: AsyncSession, actor: Actor, tasks: Iterable[GuidanceTask]) -> dict[uuid.UUID, str]:
    """Names of the family members the tasks are for, those the actor may read."""
    wanted = {t.for_client_id for t in tasks if t.for_client_id is not None}
    if not wanted:
        return {}
    rows = await db.execute(
        select(Client.id, Client.last_name, Client.first_names).where(
            Client.id.in_(wanted), client_scope(actor)
        )
    )
    return {row.id: f"{row.last_name}, {row.first_names}" for row in rows}


async def audit_task_view(db: AsyncSession, actor: Actor, plan: GuidancePlan, task: GuidanceTask) -> None:
    for client_id in dict.fromkeys([plan.client_id, task.for_client_id]):
        if client_id is not None:
            await audit.record(
                db,
                Action.VIEW,
                actor=actor,
                client_id=client_id,
                object_type="guidance_task",
                object_id=task.id,
                fields=TASK_FIELDS,
            )


# --- starting and ending a plan -------------------------------------------------------------------


@dataclass
class PlanInput:
    starts_on: date | None = None
    includes_family: bool = False
    note: str | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_plan_form(data: Mapping[str, Any]) -> PlanInput:
    parsed = PlanInput()
    parsed.starts_on = date_field(data, "starts_on", parsed.errors, required=True, not_future=False)
    parsed.includes_family = checkbox(data, "includes_family")
    parsed.note = text(data, "note", MAX_NOTE, parsed.errors)
    return parsed


async def active_plan(db: AsyncSession, client_id: uuid.UUID) -> GuidancePlan | None:
    return await db.scalar(
        select(GuidancePlan)
        .where(GuidancePlan.client_id == client_id, GuidancePlan.status == GuidancePlanStatus.ACTIVE)
        .limit(1)
    )


async def start(db: AsyncSession, actor: Actor, client: Client, parsed: PlanInput) -> GuidancePlan:
    """Start the client's guidance plan; AlreadyActive when one is active. The client's row is locked
    first (PostgreSQL; SQLite writes one transaction at a time), so concurrent starts queue."""
    assert parsed.starts_on is not None
    await db.execute(select(Client.id).where(Client.id == client.id).with_for_update())
    if await active_plan(db, client.id) is not None:
        raise AlreadyActive
    plan = GuidancePlan(
        client_id=client.id,
        status=GuidancePlanStatus.ACTIVE,
        includes_family=parsed.includes_family,
        starts_on=parsed.starts_on,
        note=parsed.note,
        created_by_id=actor.staff_id,
    )
    db.add(plan)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="guidance_plan",
        object_id=plan.id,
        fields=["status", "starts_on", "includes_family"] + (["note"] if parsed.note else []),
    )
    return plan


def read_end_form(data: Mapping[str, Any], plan: GuidancePlan) -> tuple[date | None, FormErrors]:
    errors = FormErrors()
    ends_on = date_field(data, "ends_on", errors, required=True)
    if ends_on is not None and ends_on < plan.starts_on:
        errors["ends_on"] = _("The plan cannot end before it started.")
        ends_on = None
    return ends_on, errors


def _check_plan(plan: GuidancePlan, seen_version: int | None = None) -> None:
    if plan.status != GuidancePlanStatus.ACTIVE:
        raise Closed
    if seen_version is not None and plan.version != seen_version:
        raise StaleGuidance


async def _flush(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as error:  # changed by someone else between our read and our write
        raise StaleGuidance from error


async def end(
    db: AsyncSession,
    actor: Actor,
    plan: GuidancePlan,
    seen_version: int,
    ends_on: date,
    reason: GuidancePlanEndReason = GuidancePlanEndReason.NO_LONGER_NEEDED,
) -> None:
    """End the plan (the officer: guidance is no longer needed). Version-checked."""
    _check_plan(plan, seen_version)
    _close(plan, ends_on, reason)
    await _flush(db)
    await _audit_end(db, actor, plan)


def _close(plan: GuidancePlan, ends_on: date, reason: GuidancePlanEndReason) -> None:
    plan.status = GuidancePlanStatus.ENDED
    plan.ends_on = max(ends_on, plan.starts_on)
    plan.end_reason = reason


async def _audit_end(db: AsyncSession, actor: Actor, plan: GuidancePlan) -> None:
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=plan.client_id,
        object_type="guidance_plan",
        object_id=plan.id,
        fields=["status", "ends_on", "end_reason"],
    )


async def end_active(
    db: AsyncSession, actor: Actor, client_id: uuid.UUID, ends_on: date, reason: GuidancePlanEndReason
) -> GuidancePlan | None:
    """End the client's active guidance plan, if there is one, because the integration plan or the client
    relationship ended (called in the transaction of that change). Returns the plan ended."""
    plan = await active_plan(db, client_id)
    if plan is None:
        return None
    _close(plan, ends_on, reason)
    await db.flush()
    await _audit_end(db, actor, plan)
    return plan


# --- tasks --------------------------------------------------------------------------------------------


@dataclass
class TaskInput:
    values: dict[str, Any] = field(default_factory=dict)  # EDITABLE → value
    errors: FormErrors = field(default_factory=FormErrors)


def _days(data: Mapping[str, Any], name: str, errors: FormErrors) -> int | None:
    raw = str(data.get(name) or "").strip()
    if not raw:
        errors[name] = _("Enter the number of days.")
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = _("Enter a whole number of days, for example 7.")
        return None
    if not 1 <= value <= MAX_DAYS:
        errors[name] = _("Enter a number of days from 1 to %(max)d.") % {"max": MAX_DAYS}
        return None
    return value


def read_task_form(
    data: Mapping[str, Any], plan: GuidancePlan, family: Sequence[tuple[uuid.UUID, str]]
) -> TaskInput:
    """A task from the form: kind, description, whom it is for (the client or, when the plan includes the
    family, a linked family member the officer may read), first due date and frequency."""
    parsed = TaskInput()
    errors = parsed.errors
    values = parsed.values
    values["kind"] = choice(data, "kind", GuidanceTaskKind, errors)
    values["description"] = text(data, "description", MAX_DESCRIPTION, errors)
    if not values["description"]:
        errors["description"] = _("Describe the task.")
    chosen = str(data.get("for_client_id") or "").strip()
    values["for_client_id"] = None
    if chosen:
        member = next((member_id for member_id, _name in family if str(member_id) == chosen), None)
        if not plan.includes_family:
            errors["for_client_id"] = _(
                "This plan is for the client only. Tasks for family members need a plan that includes the family."
            )
        elif member is None:
            errors["for_client_id"] = _("Choose the client or one of the family members linked to them.")
        else:
            values["for_client_id"] = member
    first = date_field(data, "first_due_on", errors, required=True, not_future=False)
    if first is not None and first < plan.starts_on:
        errors["first_due_on"] = _("The first due date cannot be before the plan starts.")
        first = None
    values["first_due_on"] = first
    values["every_days"] = values["taper_on"] = values["taper_every_days"] = None
    frequency = str(data.get("frequency") or "")
    if frequency not in ("once", "repeat"):
        errors["frequency"] = _("Choose how often the task is done.")
    elif frequency == "repeat":
        every = values["every_days"] = _days(data, "every_days", errors)
        taper = str(data.get("taper") or "none")
        if taper not in ("none", "less_often", "stop"):
            errors["taper"] = _("Choose one of the options.")
        elif taper != "none":
            taper_on = date_field(data, "taper_on", errors, required=True, not_future=False)
            if taper_on is not None and first is not None and taper_on <= first:
                errors["taper_on"] = _("The date the guidance tapers off comes after the first due date.")
                taper_on = None
            values["taper_on"] = taper_on
            if taper == "less_often":
                later = values["taper_every_days"] = _days(data, "taper_every_days", errors)
                if later is not None and every is not None and later <= every:
                    errors["taper_every_days"] = _(
                        "Tapering off means less often: more than %(days)d days."
                    ) % {"days": every}
                    values["taper_every_days"] = None
    return parsed


def task_input(task: GuidanceTask) -> dict[str, Any]:
    """A stored task as its edit form would post it."""
    values = as_input(task, EDITABLE)
    values["frequency"] = "once" if task.every_days is None else "repeat"
    values["taper"] = (
        "none" if task.taper_on is None else ("stop" if task.taper_every_days is None else "less_often")
    )
    values["version"] = str(task.version)
    return values


async def add_task(db: AsyncSession, actor: Actor, plan: GuidancePlan, parsed: TaskInput) -> GuidanceTask:
    _check_plan(plan)
    task = GuidanceTask(plan_id=plan.id, **parsed.values)
    db.add(task)
    await db.flush()
    fields = [name for name in EDITABLE if parsed.values.get(name) is not None]
    await _audit_task(db, actor, plan, task, Action.CREATE, fields)
    return task


async def _audit_task(
    db: AsyncSession,
    actor: Actor,
    plan: GuidancePlan,
    task: GuidanceTask,
    action: Action,
    fields: Sequence[str],
    also: uuid.UUID | None = None,
) -> None:
    """The event under the plan's client, and under the family member the task is (or was) for."""
    for client_id in dict.fromkeys([plan.client_id, task.for_client_id, also]):
        if client_id is not None:
            await audit.record(
                db,
                action,
                actor=actor,
                client_id=client_id,
                object_type="guidance_task",
                object_id=task.id,
                fields=fields,
            )


def _check_task(plan: GuidancePlan, task: GuidanceTask, seen_version: int) -> None:
    _check_plan(plan)
    if task.version != seen_version:
        raise StaleGuidance
    if next_due(task) is None:
        raise Closed


async def save_task(
    db: AsyncSession,
    actor: Actor,
    plan: GuidancePlan,
    task: GuidanceTask,
    seen_version: int,
    parsed: TaskInput,
) -> list[str]:
    """Save an edit of an open task, version-checked; the names of the fields that changed."""
    _check_task(plan, task, seen_version)
    before = task.for_client_id
    changed = [name for name in EDITABLE if getattr(task, name) != parsed.values[name]]
    if not changed:
        return []
    for name in changed:
        setattr(task, name, parsed.values[name])
    await _flush(db)
    await _audit_task(db, actor, plan, task, Action.UPDATE, changed, also=before)
    return changed


def read_done_form(
    data: Mapping[str, Any], plan: GuidancePlan, task: GuidanceTask
) -> tuple[date | None, FormErrors]:
    errors = FormErrors()
    done_on = date_field(data, "done_on", errors, required=True)
    if done_on is not None and done_on < plan.starts_on:
        errors["done_on"] = _("The date cannot be before the plan started.")
        done_on = None
    elif done_on is not None and task.last_done_on is not None and done_on <= task.last_done_on:
        errors["done_on"] = _("The task was last done on %(date)s: give a later date.") % {
            "date": format_date(task.last_done_on)
        }
        done_on = None
    return done_on, errors


async def mark_done(
    db: AsyncSession, actor: Actor, plan: GuidancePlan, task: GuidanceTask, seen_version: int, done_on: date
) -> None:
    """The task was done on `done_on`: a once-task is then complete, a recurring one comes due again."""
    _check_task(plan, task, seen_version)
    task.last_done_on = done_on
    await _flush(db)
    await _audit_task(db, actor, plan, task, Action.UPDATE, ["last_done_on"])


async def mark_not_needed(
    db: AsyncSession, actor: Actor, plan: GuidancePlan, task: GuidanceTask, seen_version: int, on: date
) -> None:
    """The task is no longer needed (completed_on): it is kept, and nothing more is due."""
    _check_task(plan, task, seen_version)
    task.completed_on = on
    await _flush(db)
    await _audit_task(db, actor, plan, task, Action.UPDATE, ["completed_on"])


# --- the officer's upcoming tasks --------------------------------------------------------------------


@dataclass(frozen=True)
class UpcomingRow:
    task: GuidanceTask
    client_id: uuid.UUID
    client_name: str
    for_name: str | None
    officer_id: uuid.UUID | None
    next_due: date
    overdue: bool


@dataclass
class Upcoming:
    rows: list[UpcomingRow]
    more: bool
    everyone: bool
    horizon: date
    today: date
    names: dict[uuid.UUID, str]

    @property
    def overdue(self) -> list[UpcomingRow]:
        return [r for r in self.rows if r.overdue]

    @property
    def coming(self) -> list[UpcomingRow]:
        return [r for r in self.rows if not r.overdue]


async def upcoming(db: AsyncSession, actor: Actor, today: date, *, everyone: bool) -> Upcoming:
    """Open tasks of active plans, overdue or due within UPCOMING_DAYS, of the clients in the actor's scope
    with an active relationship: those the actor is responsible for and those nobody is (everyone: all of
    them). One query, ordered by the due date and bounded (UPCOMING_LIMIT)."""
    horizon = today + timedelta(days=UPCOMING_DAYS)
    due = next_due_sql(db.get_bind().dialect.name).label("next_due")
    member = aliased(Client)
    statement = (
        select(
            GuidanceTask,
            due,
            Client.id,
            Client.last_name,
            Client.first_names,
            Client.responsible_officer_id,
            member.last_name,
            member.first_names,
        )
        .join(GuidancePlan, GuidancePlan.id == GuidanceTask.plan_id)
        .join(Client, Client.id == GuidancePlan.client_id)
        .outerjoin(
            member,
            (member.id == GuidanceTask.for_client_id) & (member.organisation_id == Client.organisation_id),
        )
        .where(
            client_scope(actor),
            Client.status == ClientStatus.ACTIVE,
            GuidancePlan.status == GuidancePlanStatus.ACTIVE,
            GuidanceTask.completed_on.is_(None),
            due <= horizon,
        )
        .order_by(due, Client.last_name, Client.first_names, GuidanceTask.id)
        .limit(UPCOMING_LIMIT + 1)
    )
    if not everyone:
        statement = statement.where(
            or_(Client.responsible_officer_id == actor.staff_id, Client.responsible_officer_id.is_(None))
        )
    found = (await db.execute(statement)).all()
    rows = []
    for row in found[:UPCOMING_LIMIT]:
        task: GuidanceTask = row[0]
        when = next_due(task)  # the same rule as the query's; the Python one is the reference
        if when is None:
            continue
        for_name = None
        if task.for_client_id is not None:
            for_name = f"{row[6]}, {row[7]}" if row[6] is not None else _("A family member")
        rows.append(
            UpcomingRow(
                task=task,
                client_id=row[2],
                client_name=f"{row[3]}, {row[4]}",
                for_name=for_name,
                officer_id=row[5],
                next_due=when,
                overdue=when < today,
            )
        )
    shown = {r.client_id for r in rows} | {r.task.for_client_id for r in rows if r.task.for_client_id}
    for client_id in sorted(shown, key=str):
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=client_id,
            object_type="guidance_task",
            fields=["first_names", "last_name", "kind", "description", "next_due"],
        )
    return Upcoming(
        rows=rows,
        more=len(found) > UPCOMING_LIMIT,
        everyone=everyone,
        horizon=horizon,
        today=today,
        names=await _staff_names(db, (r.officer_id for r in rows)) if everyone else {},
    )
