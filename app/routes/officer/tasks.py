"""Tasks (service 9): my tasks, a task form (optionally about a client), done/undone.

A task id from a URL is loaded under `tasks.task_scope` (another organisation's, or about a client out of
scope: 404); a task about a client is changed only by those who may write the client (else 403).
Registered through app.routes.officer.calendar.router.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.appointment import Task
from app.db.client import Client
from app.db.organisation import Staff
from app.domain import audit, clients, tasks
from app.domain.audit import Action
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, Permission, is_responsible, load_client, may_write_client
from app.i18n import _
from app.web import requires, staff_guard

GUARDS = [requires(Permission.CALENDAR)]


def _uuid_or_404(value: Any) -> uuid.UUID | None:
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFoundException from None


async def _client(db: AsyncSession, actor: Actor, client_id: uuid.UUID | None) -> Client | None:
    """A task's client: in the actor's scope (else 404) and writable (else 403)."""
    if client_id is None:
        return None
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


async def _assignee(db: AsyncSession, actor: Actor, staff_id: uuid.UUID | None) -> Staff | None:
    """Someone of the actor's own organisation (another's id: 404); None when nobody was chosen."""
    if staff_id is None:
        return None
    found = next((s for s in await tasks.assignees(db, actor.organisation_id) if s.id == staff_id), None)
    if found is None:
        raise NotFoundException
    return found


async def _task_or_404(db: AsyncSession, actor: Actor, task_id: uuid.UUID) -> tuple[Task, Client | None]:
    found = await tasks.load(db, actor, task_id)
    if found is None:
        raise NotFoundException
    return found


async def _writable(db: AsyncSession, actor: Actor, task_id: uuid.UUID) -> tuple[Task, Client | None]:
    task, client = await _task_or_404(db, actor, task_id)
    if client is not None and not may_write_client(actor, client):
        raise PermissionDeniedException
    return task, client


def _back(task_client: Client | None, data: dict[str, Any]) -> str:
    if task_client is not None and data.get("return_to") == "client":
        return f"/officer/clients/{task_client.id}#tasks"
    return "/officer/tasks"


@get("/tasks", guards=GUARDS)
async def my_tasks(db_session: AsyncSession, actor: Actor) -> Template:
    found = await tasks.my_tasks(db_session, actor, today())
    if tasks.clients_shown(found):  # the list names clients: one view event for the page
        await audit.record(
            db_session, Action.VIEW, actor=actor, object_type="tasks", fields=["tasks", "name"]
        )
        await db_session.commit()
    return Template("officer/calendar/tasks.html", context={"actor": actor, "tasks": found, "today": today()})


async def _form_page(
    db: AsyncSession,
    actor: Actor,
    *,
    task: Task | None,
    form: dict[str, Any],
    client: Client | None,
    found: list[Client] | None = None,
    errors: FormErrors | None = None,
    saved: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "officer/calendar/task_form.html",
        context={
            "actor": actor,
            "task": task,
            "form": form,
            "client": client,
            "found": [c for c in found or [] if not client or c.id != client.id],
            "searched": found is not None,
            "assignees": await tasks.assignees(db, actor.organisation_id),
            "errors": errors or FormErrors(),
            "saved": saved,
        },
        status_code=status,
    )


async def _find(db: AsyncSession, actor: Actor, data: dict[str, Any]) -> list[Client] | None:
    query = str(data.get("find_client") or "").strip()[
        :100
    ]  # a search, like the register's: nothing is saved
    if not (data.get("find") and query):
        return None
    result = await clients.search(db, actor, query)
    return [c for c in result.clients if may_write_client(actor, c)]


@get("/tasks/new", guards=GUARDS)
async def new_task(db_session: AsyncSession, actor: Actor, client: str | None = None) -> Template:
    chosen = await _client(db_session, actor, _uuid_or_404(client))
    form = {"assignee_id": str(actor.staff_id), "return_to": "client" if chosen else ""}
    return await _form_page(db_session, actor, task=None, form=form, client=chosen)


async def _read(
    request: HTMXRequest, db: AsyncSession, actor: Actor
) -> tuple[dict[str, Any], Client | None, Staff | None, FormErrors]:
    form = await request.form()
    data = {k: form.get(k) for k in form}
    errors = FormErrors()
    ids = [i for i in (_uuid_or_404(v) for v in form.getall("client_id", [])) if i]
    if len(set(ids)) > 1:
        errors["client_id"] = _("A task is about one client at most.")
    chosen = await _client(db, actor, ids[0] if ids else None)
    assignee = await _assignee(db, actor, _uuid_or_404(data.get("assignee_id")))
    if assignee is None:
        errors["assignee_id"] = _("Choose who does the task.")
    return data, chosen, assignee, errors


@post("/tasks/new", guards=GUARDS)
async def create_task(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data, chosen, assignee, errors = await _read(request, db_session, actor)
    found = await _find(db_session, actor, data)
    if found is not None:
        return await _form_page(db_session, actor, task=None, form=data, client=chosen, found=found)
    parsed = tasks.read_form(data)
    parsed.errors.update(errors)
    if parsed.errors or assignee is None:
        return await _form_page(
            db_session, actor, task=None, form=data, client=chosen, errors=parsed.errors, status=422
        )
    await tasks.create(db_session, actor, parsed, assignee, chosen)
    return Redirect(_back(chosen, data), status_code=303)


@get("/tasks/{task_id:uuid}/edit", guards=GUARDS)
async def edit_task(db_session: AsyncSession, actor: Actor, task_id: uuid.UUID) -> Template:
    task, client = await _writable(db_session, actor, task_id)
    if client is not None:
        await audit.record(
            db_session,
            Action.VIEW,
            actor=actor,
            client_id=client.id,
            object_type="task",
            object_id=task.id,
            fields=["title", "note", "due_on", "assignee_id"],
        )
    return await _form_page(db_session, actor, task=task, form=tasks.form_values(task), client=client)


@post("/tasks/{task_id:uuid}/edit", guards=GUARDS)
async def save_task(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, task_id: uuid.UUID
) -> Template | Redirect:
    task, _client_before = await _writable(db_session, actor, task_id)
    data, chosen, assignee, errors = await _read(request, db_session, actor)
    found = await _find(db_session, actor, data)
    if found is not None:
        return await _form_page(db_session, actor, task=task, form=data, client=chosen, found=found)
    parsed = tasks.read_form(data)
    parsed.errors.update(errors)
    if parsed.errors or assignee is None:
        return await _form_page(
            db_session, actor, task=task, form=data, client=chosen, errors=parsed.errors, status=422
        )
    version = str(data.get("version") or "")
    try:
        await tasks.update(
            db_session, actor, task, int(version) if version.isdigit() else 0, parsed, assignee, chosen
        )
    except tasks.StaleEdit:
        await db_session.rollback()
        fresh, _fresh_client = await _writable(db_session, actor, task_id)
        message = _(
            "Someone else saved this task after you opened it. Your input is kept below; the saved values are "
            "shown beside the fields. Save again to keep yours."
        )
        return await _form_page(
            db_session,
            actor,
            task=fresh,
            form={**data, "version": fresh.version},
            client=chosen,
            errors=FormErrors(version=message),
            saved=tasks.form_values(fresh),
            status=409,
        )
    return Redirect(_back(chosen, data), status_code=303)


@post("/tasks/{task_id:uuid}/toggle", guards=GUARDS)
async def toggle_task(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, task_id: uuid.UUID
) -> Redirect:
    """Done or not done: the form posts the state wanted, so a repeated click changes nothing. A task
    about an ended (read-only) relationship may still be marked done, so it leaves the to-do list."""
    task, client = await _task_or_404(db_session, actor, task_id)
    data = dict((await request.form()).items())
    closing = client is not None and is_responsible(actor, client) and str(data.get("done") or "") == "1"
    if client is not None and not (may_write_client(actor, client) or closing):
        raise PermissionDeniedException
    await tasks.set_done(db_session, actor, task, str(data.get("done") or "") == "1")
    return Redirect(_back(client, data), status_code=303)


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[my_tasks, new_task, create_task, edit_task, save_task, toggle_task],
)
