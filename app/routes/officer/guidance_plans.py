"""Initial guidance (process 3.4.6): the guidance plan and its tasks, from the client page; the officer's
list of upcoming guidance tasks.

Reading follows the client (client_scope: another organisation's plan is not found, county staff with a
grant read it); changes need the permission to change clients and may_write_client (an ended client
relationship is read-only), and an ended plan takes no more changes (409 with a message). Bad input shows
the form again on a page of its own with the errors and every value kept (422); a change to a task or plan
changed meanwhile is refused with the input kept and the saved values shown (409).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.guidance import GuidancePlan, GuidanceTask, GuidanceTaskKind
from app.domain import guidance_plans
from app.domain.clients import page_url as client_page_url
from app.domain.forms import FormErrors, today
from app.domain.guidance_plans import AlreadyActive, Closed, StaleGuidance
from app.domain.policy import Actor, Permission, load_client, may_write_client
from app.i18n import _
from app.web import form_of, requires, staff_guard

WRITE = [requires(Permission.CLIENT_WRITE)]
LIST = [requires(Permission.WORKLIST, Permission.TEAM_WORKLIST)]


def _client_url(client_id: uuid.UUID) -> str:
    return client_page_url(client_id, "guidance-plan")


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


def _closed_notice(plan: GuidancePlan) -> str:
    if plan.status.value == "guidance_ended":
        return _("This guidance plan has ended. It is kept as it was and is no longer changed.")
    return _("Nothing more is due on this task, so it is no longer changed.")


def _closed(plan: GuidancePlan, task: GuidanceTask | None = None) -> bool:
    """The plan has ended, or nothing more is due on the task: read-only."""
    if plan.status.value != "guidance_active":
        return True
    return task is not None and guidance_plans.next_due(task) is None


def _stale_notice() -> str:
    return _(
        "Someone else changed this after you opened it. Your input is kept below and the saved values are "
        "shown. Check them, then save again."
    )


# --- starting and ending a plan ------------------------------------------------------------------


async def _writable_client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


async def _writable_plan(db: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> tuple[GuidancePlan, Client]:
    found = await guidance_plans.load_plan(db, actor, plan_id)
    if found is None:
        raise NotFoundException
    if not may_write_client(actor, found[1]):
        raise PermissionDeniedException
    return found


def _plan_page(
    client: Client,
    actor: Actor,
    which: str,
    *,
    form: dict[str, Any],
    plan: GuidancePlan | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 422,
) -> Template:
    return Template(
        "officer/guidance/plan_form.html",
        context={
            "client": client,
            "actor": actor,
            "which": which,
            "plan": plan,
            "form": form,
            "errors": errors or FormErrors(),
            "notice": notice,
            "today": today().isoformat(),
        },
        status_code=status,
    )


@post("/clients/{client_id:uuid}/guidance-plan", guards=WRITE)
async def start_plan(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable_client(db_session, actor, client_id)
    data = await form_of(request)
    parsed = guidance_plans.read_plan_form(data)
    if parsed.errors:
        return _plan_page(client, actor, "start", form=data, errors=parsed.errors)
    try:
        await guidance_plans.start(db_session, actor, client, parsed)
    except AlreadyActive:
        return _plan_page(
            client, actor, "start", form=data, status=409,
            notice=_(
                "The client already has an initial guidance plan in progress. Add the tasks to that plan, "
                "or end it before starting a new one."
            ),
        )  # fmt: skip
    return Redirect(_client_url(client.id), status_code=303)


@post("/guidance-plans/{plan_id:uuid}/end", guards=WRITE)
async def end_plan(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable_plan(db_session, actor, plan_id)
    data = await form_of(request)
    if _closed(plan):
        return _plan_page(client, actor, "end", form=data, plan=plan, status=409, notice=_closed_notice(plan))
    ends_on, errors = guidance_plans.read_end_form(data, plan)
    if errors or ends_on is None:
        return _plan_page(client, actor, "end", form=data, plan=plan, errors=errors)
    try:
        await guidance_plans.end(db_session, actor, plan, _version(data), ends_on)
    except Closed:
        return _plan_page(client, actor, "end", form=data, plan=plan, status=409, notice=_closed_notice(plan))
    except StaleGuidance:
        await db_session.rollback()
        plan, client = await _writable_plan(db_session, actor, plan_id)
        return _plan_page(
            client, actor, "end", form={**data, "version": plan.version}, plan=plan, status=409,
            notice=_closed_notice(plan) if plan.status.value == "guidance_ended" else _stale_notice(),
        )  # fmt: skip
    return Redirect(_client_url(client.id), status_code=303)


# --- tasks ------------------------------------------------------------------------------------------


async def _task_page(
    db: AsyncSession,
    actor: Actor,
    plan: GuidancePlan,
    client: Client,
    which: str,
    *,
    form: dict[str, Any],
    task: GuidanceTask | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    conflict: dict[str, Any] | None = None,
    status: int = 422,
) -> Template:
    """A task form on a page of its own: `which` is add, edit, done or not_needed."""
    family = await guidance_plans.family_members(db, actor, client) if plan.includes_family else []
    view = None
    if task is not None:
        names = await guidance_plans.family_names(db, actor, [task])
        view = guidance_plans.task_view(task, names, today(), plan_active=not _closed(plan))
    return Template(
        "officer/guidance/task_form.html",
        context={
            "client": client,
            "actor": actor,
            "plan": plan,
            "which": which,
            "task": task,
            "view": view,
            "form": form,
            "errors": errors or FormErrors(),
            "notice": notice,
            "conflict": conflict,
            "family": family,
            "kinds": GuidanceTaskKind,
            "today": today().isoformat(),
        },
        status_code=status,
    )


@post("/guidance-plans/{plan_id:uuid}/tasks", guards=WRITE)
async def add_task(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable_plan(db_session, actor, plan_id)
    data = await form_of(request)
    if _closed(plan):
        return await _task_page(
            db_session, actor, plan, client, "add", form=data, status=409, notice=_closed_notice(plan)
        )
    family = await guidance_plans.family_members(db_session, actor, client)
    parsed = guidance_plans.read_task_form(data, plan, family)
    if parsed.errors:
        return await _task_page(db_session, actor, plan, client, "add", form=data, errors=parsed.errors)
    await guidance_plans.add_task(db_session, actor, plan, parsed)
    return Redirect(_client_url(client.id), status_code=303)


async def _writable_task(
    db: AsyncSession, actor: Actor, plan_id: uuid.UUID, task_id: uuid.UUID
) -> tuple[GuidancePlan, Client, GuidanceTask]:
    plan, client = await _writable_plan(db, actor, plan_id)
    task = await guidance_plans.load_task(db, plan, task_id)
    if task is None:
        raise NotFoundException
    return plan, client, task


@get("/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}/edit", guards=WRITE)
async def edit_task(
    db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID, task_id: uuid.UUID
) -> Template:
    plan, client, task = await _writable_task(db_session, actor, plan_id, task_id)
    await guidance_plans.audit_task_view(db_session, actor, plan, task)
    if _closed(plan, task):
        return await _task_page(
            db_session, actor, plan, client, "edit", form={}, task=task, status=409,
            notice=_closed_notice(plan),
        )  # fmt: skip
    return await _task_page(
        db_session, actor, plan, client, "edit", form=guidance_plans.task_input(task), task=task, status=200
    )


@post("/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}", guards=WRITE)
async def save_task(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID, task_id: uuid.UUID
) -> Template | Redirect:
    plan, client, task = await _writable_task(db_session, actor, plan_id, task_id)
    data = await form_of(request)
    if _closed(plan, task):
        return await _task_page(
            db_session, actor, plan, client, "edit", form=data, task=task, status=409,
            notice=_closed_notice(plan),
        )  # fmt: skip
    family = await guidance_plans.family_members(db_session, actor, client)
    parsed = guidance_plans.read_task_form(data, plan, family)
    if parsed.errors:
        return await _task_page(
            db_session, actor, plan, client, "edit", form=data, task=task, errors=parsed.errors
        )
    try:
        await guidance_plans.save_task(db_session, actor, plan, task, _version(data), parsed)
    except Closed:
        return await _task_page(
            db_session, actor, plan, client, "edit", form=data, task=task, status=409,
            notice=_closed_notice(plan),
        )  # fmt: skip
    except StaleGuidance:
        return await _stale_task(db_session, actor, plan_id, task_id, "edit", data)
    return Redirect(_client_url(client.id), status_code=303)


async def _stale_task(
    db: AsyncSession, actor: Actor, plan_id: uuid.UUID, task_id: uuid.UUID, which: str, data: dict[str, Any]
) -> Template:
    """The task as saved now, the user's input kept with the current version (save again to keep it)."""
    await db.rollback()
    plan, client, fresh = await _writable_task(db, actor, plan_id, task_id)
    closed = _closed(plan, fresh)
    return await _task_page(
        db, actor, plan, client, which, form={**data, "version": fresh.version}, task=fresh, status=409,
        notice=_closed_notice(plan) if closed else _stale_notice(),
        conflict=guidance_plans.task_input(fresh) if which == "edit" and not closed else None,
    )  # fmt: skip


@post("/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}/done", guards=WRITE)
async def mark_done(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID, task_id: uuid.UUID
) -> Template | Redirect:
    plan, client, task = await _writable_task(db_session, actor, plan_id, task_id)
    data = await form_of(request)
    if _closed(plan, task):
        return await _task_page(
            db_session, actor, plan, client, "done", form=data, task=task, status=409,
            notice=_closed_notice(plan),
        )  # fmt: skip
    done_on, errors = guidance_plans.read_done_form(data, plan, task)
    if errors or done_on is None:
        return await _task_page(db_session, actor, plan, client, "done", form=data, task=task, errors=errors)
    try:
        await guidance_plans.mark_done(db_session, actor, plan, task, _version(data), done_on)
    except Closed:
        return await _task_page(
            db_session, actor, plan, client, "done", form=data, task=task, status=409,
            notice=_closed_notice(plan),
        )  # fmt: skip
    except StaleGuidance:
        return await _stale_task(db_session, actor, plan_id, task_id, "done", data)
    return Redirect(_client_url(client.id), status_code=303)


@post("/guidance-plans/{plan_id:uuid}/tasks/{task_id:uuid}/not-needed", guards=WRITE)
async def mark_not_needed(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID, task_id: uuid.UUID
) -> Template | Redirect:
    plan, client, task = await _writable_task(db_session, actor, plan_id, task_id)
    data = await form_of(request)
    try:
        await guidance_plans.mark_not_needed(db_session, actor, plan, task, _version(data), today())
    except Closed:
        return await _task_page(
            db_session, actor, plan, client, "not_needed", form=data, task=task, status=409,
            notice=_closed_notice(plan),
        )  # fmt: skip
    except StaleGuidance:
        return await _stale_task(db_session, actor, plan_id, task_id, "not_needed", data)
    return Redirect(_client_url(client.id), status_code=303)


# --- the officer's upcoming tasks ----------------------------------------------------------------------


@get("/guidance-plans", guards=LIST)
async def upcoming_page(db_session: AsyncSession, actor: Actor, everyone: bool = False) -> Template:
    """Overdue guidance tasks and those due within two weeks: of the officer's own clients and those
    nobody is responsible for, or of everyone (managers see everyone's)."""
    everyone = everyone or not actor.has(Permission.WORKLIST)
    found = await guidance_plans.upcoming(db_session, actor, today(), everyone=everyone)
    return Template(
        "officer/guidance/plan_upcoming.html",
        context={"actor": actor, "upcoming": found, "kinds": GuidanceTaskKind},
    )


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        start_plan,
        end_plan,
        add_task,
        edit_task,
        save_task,
        mark_done,
        mark_not_needed,
        upcoming_page,
    ],
)
