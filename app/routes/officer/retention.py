"""Archiving and retention (service 17, §77): retention holds on the client page, reopening an ended
relationship, and the managers' register of coming deletions, held clients and the daily job's runs.

Holds are the one change allowed on an ended relationship (policy.may_hold); everything else about an
ended client is read-only (policy.may_write_client).
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
from app.domain import audit, clients, retention
from app.domain.audit import Action
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, Permission, is_responsible, may_hold
from app.i18n import _
from app.web import form_of, requires, staff_guard

HOLDERS = [requires(Permission.CLIENT_WRITE, Permission.RETENTION)]


def _version(data: dict[str, Any]) -> int:
    raw = str(data.get("version") or "")
    return int(raw) if raw.isdigit() else 0


async def _client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await clients.load_for_edit(db, actor, client_id)
    if client is None:
        raise NotFoundException
    return client


async def _holdable(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await _client(db, actor, client_id)
    if not may_hold(actor, client):
        raise PermissionDeniedException
    return client


async def _again(
    db: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    form: dict[str, Any],
    errors: FormErrors,
    status: int,
) -> Template:
    """The retention section on a page of its own, with the input kept and the errors shown."""
    await db.rollback()
    client = await _client(db, actor, client_id)
    return Template(
        "officer/retention/holds.html",
        context={
            "client": client,
            "actor": actor,
            "retention": await retention.client_section(db, actor, client),
            "form": form,
            "errors": errors,
        },
        status_code=status,
    )


def _back(client: Client) -> Redirect:
    return Redirect(clients.page_url(client.id, "retention"), status_code=303)


@post("/clients/{client_id:uuid}/holds", guards=HOLDERS)
async def place_hold(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _holdable(db_session, actor, client_id)
    data = await form_of(request)
    errors = FormErrors()
    reason = retention.read_reason(data, errors)
    if errors or reason is None:
        return await _again(db_session, actor, client_id, data, errors, 422)
    await retention.place_hold(db_session, actor, client, reason)
    return _back(client)


@post("/clients/{client_id:uuid}/holds/{hold_id:uuid}/release", guards=HOLDERS)
async def release_hold(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID, hold_id: uuid.UUID
) -> Template | Redirect:
    client = await _holdable(db_session, actor, client_id)
    hold = await retention.load_hold(db_session, client, hold_id)
    if hold is None:
        raise NotFoundException
    data = await form_of(request)
    try:
        await retention.release_hold(db_session, actor, client, hold, _version(data))
    except retention.NotAllowed as problem:
        return await _again(db_session, actor, client_id, {}, FormErrors(hold=problem.message), 409)
    except retention.StaleEdit:
        message = _("Someone else changed this hold after you opened the page. Check it and try again.")
        return await _again(db_session, actor, client_id, {}, FormErrors(hold=message), 409)
    return _back(client)


@post("/clients/{client_id:uuid}/reopen", guards=[requires(Permission.CLIENT_WRITE)])
async def reopen(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    """The person came back before the data was deleted: the same relationship continues."""
    client = await _client(db_session, actor, client_id)
    if not is_responsible(actor, client):
        raise PermissionDeniedException
    data = await form_of(request)
    try:
        await retention.reopen(db_session, actor, client, _version(data), today())
    except retention.NotAllowed as problem:
        return await _again(db_session, actor, client_id, {}, FormErrors(reopen=problem.message), 409)
    except retention.StaleEdit:
        message = _(
            "Someone else saved changes to this client after you opened the page. Check the details and try again."
        )
        return await _again(db_session, actor, client_id, {}, FormErrors(reopen=message), 409)
    return Redirect(f"/officer/clients/{client.id}", status_code=303)


@get("/retention", guards=[requires(Permission.RETENTION)])
async def retention_page(db_session: AsyncSession, actor: Actor) -> Template:
    """The organisation's coming deletions and held clients, and the daily job's runs."""
    found = await retention.queue(db_session, actor, today())
    if found.due or found.held:  # the lists name clients
        await audit.record(
            db_session,
            Action.VIEW,
            actor=actor,
            object_type="retention",
            fields=["name", "ended_on", "deletion_due", "retention_hold"],
        )
    await db_session.commit()
    return Template("officer/retention/page.html", context={"actor": actor, "queue": found})


router = Router(
    path="/officer",
    guards=[staff_guard],
    include_in_schema=False,
    route_handlers=[place_hold, release_hold, reopen, retention_page],
)
