"""Tasks (service 9): to-dos with a due date, an assignee of the own organisation and optionally a client.

A task is seen by the staff of its organisation; a task about a client only by those who may read the
client (`client_scope`), and changed only by those who may write them. Done/undone is a state, posted as
the state wanted, so two people ticking the same task do not undo each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.appointment import Task
from app.db.base import utcnow
from app.db.client import Client
from app.db.organisation import Staff
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, date_field, text
from app.domain.policy import Actor, Permission, client_scope
from app.i18n import _

DONE_SHOWN = 30  # the latest done tasks shown under the open ones
FIELDS = ("title", "note", "due_on", "assignee_id", "client_id")


class StaleEdit(Exception):
    """Someone saved the task after this form was opened."""


def task_scope(actor: Actor) -> ColumnElement[bool]:
    """The tasks the actor may see: the own organisation's, those about a client only within scope."""
    if not actor.has(Permission.CALENDAR):
        return false()
    # Its own FROM client, also when the outer query joins the client for the names.
    in_scope = exists(
        select(Client.id).where(Client.id == Task.client_id, client_scope(actor)).correlate_except(Client)
    )
    return and_(Task.organisation_id == actor.organisation_id, or_(Task.client_id.is_(None), in_scope))


async def load(db: AsyncSession, actor: Actor, task_id: uuid.UUID) -> tuple[Task, Client | None] | None:
    row = (
        await db.execute(
            select(Task, Client)
            .outerjoin(Client, Client.id == Task.client_id)
            .where(Task.id == task_id, task_scope(actor))
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def assignees(db: AsyncSession, organisation_id: uuid.UUID) -> list[Staff]:
    """Active staff of the organisation: who a task can be given to."""
    return list(
        (
            await db.scalars(
                select(Staff)
                .where(Staff.organisation_id == organisation_id, Staff.active.is_(True))
                .order_by(Staff.full_name)
            )
        ).all()
    )


@dataclass
class Listed:
    task: Task
    client: Client | None
    assignee: str
    overdue: bool


@dataclass
class TaskList:
    open: list[Listed]
    done: list[Listed]
    given: list[Listed]  # open tasks the actor gave to someone else


async def my_tasks(db: AsyncSession, actor: Actor, on: date) -> TaskList:
    """The actor's open tasks (overdue and soonest first, undated last), the latest done ones, and the
    open tasks they gave to others: three queries, names joined in."""

    def query(*where: ColumnElement[bool]) -> Any:
        return (
            select(Task, Client, Staff.full_name)
            .outerjoin(Client, Client.id == Task.client_id)
            .join(Staff, Staff.id == Task.assignee_id)
            .where(task_scope(actor), *where)
        )

    def listed(rows: Sequence[Any]) -> list[Listed]:
        return [
            Listed(task, client, name, task.done_at is None and task.due_on is not None and task.due_on < on)
            for task, client, name in rows
        ]

    order = (Task.due_on.is_(None), Task.due_on, Task.created_at)
    mine_open = (
        await db.execute(
            query(Task.assignee_id == actor.staff_id, Task.done_at.is_(None)).order_by(*order).limit(500)
        )
    ).all()
    mine_done = (
        await db.execute(
            query(Task.assignee_id == actor.staff_id, Task.done_at.is_not(None))
            .order_by(Task.done_at.desc())
            .limit(DONE_SHOWN)
        )
    ).all()
    given = (
        await db.execute(
            query(
                Task.created_by_id == actor.staff_id,
                Task.assignee_id != actor.staff_id,
                Task.done_at.is_(None),
            )
            .order_by(*order)
            .limit(500)
        )
    ).all()
    return TaskList(open=listed(mine_open), done=listed(mine_done), given=listed(given))


def clients_shown(found: TaskList) -> bool:
    return any(item.client for group in (found.open, found.done, found.given) for item in group)


# --- the form ----------------------------------------------------------------------------------------


@dataclass
class TaskInput:
    values: dict[str, Any]
    errors: FormErrors = field(default_factory=FormErrors)


def read_form(data: Mapping[str, Any]) -> TaskInput:
    """Format checks; the assignee and the client are resolved by the caller under the actor's scope."""
    errors = FormErrors()
    title = text(data, "title", 300, errors)
    if not title:
        errors["title"] = _("Write what is to be done.")
    return TaskInput(
        values={
            "title": title,
            "note": text(data, "note", 4000, errors),
            "due_on": date_field(data, "due_on", errors, not_future=False),
        },
        errors=errors,
    )


def form_values(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "note": task.note or "",
        "due_on": task.due_on.isoformat() if task.due_on else "",
        "assignee_id": str(task.assignee_id),
        "client_id": str(task.client_id) if task.client_id else "",
        "version": task.version,
    }


def _fields(values: Mapping[str, Any]) -> list[str]:
    return [name for name in FIELDS if values.get(name) not in (None, "")]


async def create(
    db: AsyncSession, actor: Actor, data: TaskInput, assignee: Staff, client: Client | None
) -> Task:
    task = Task(
        organisation_id=actor.organisation_id,
        created_by_id=actor.staff_id,
        assignee_id=assignee.id,
        client_id=client.id if client else None,
        **data.values,
    )
    db.add(task)
    await db.flush()
    if client:
        await audit.record(
            db,
            Action.CREATE,
            actor=actor,
            client_id=client.id,
            object_type="task",
            object_id=task.id,
            fields=_fields({**data.values, "assignee_id": assignee.id, "client_id": client.id}),
        )
    return task


async def update(
    db: AsyncSession,
    actor: Actor,
    task: Task,
    seen_version: int,
    data: TaskInput,
    assignee: Staff,
    client: Client | None,
) -> list[str]:
    """Save an edit; raises StaleEdit when someone saved the task after the form was opened."""
    if seen_version != task.version:
        raise StaleEdit
    before = task.client_id
    wanted = {**data.values, "assignee_id": assignee.id, "client_id": client.id if client else None}
    changed = [name for name in FIELDS if getattr(task, name) != wanted[name]]
    for name in changed:
        setattr(task, name, wanted[name])
    if not changed:
        return []
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    for client_id in {before, task.client_id} - {None}:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=client_id,
            object_type="task",
            object_id=task.id,
            fields=changed,
        )
    return changed


async def set_done(db: AsyncSession, actor: Actor, task: Task, done: bool) -> bool:
    """Mark done or not done; False when it already was (nothing changed)."""
    if (task.done_at is not None) == done:
        return False
    task.done_at = utcnow() if done else None
    await db.flush()
    if task.client_id:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=task.client_id,
            object_type="task",
            object_id=task.id,
            fields=["done_at"],
        )
    return True
