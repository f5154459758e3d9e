"""System clients of the county data-transfer API (service 18), managed by administrators.

An administrator manages only their own organisation's system clients (another organisation's id answers
404); only a wellbeing services county has them, since the API serves the clients a county cooperates on.
A new client's secret, and a rotated one, is shown once and only its SHA-256 is stored
(app.domain.api_clients). Deactivating is for good and ends the client's tokens at once. Audited as
object type "api_client", without secrets.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.cooperation import ApiClient
from app.domain import api_clients
from app.domain.forms import FormErrors, text
from app.domain.policy import Actor, Permission
from app.i18n import _
from app.routes.api_v1 import TOKEN_URL
from app.web import form_of, requires, staff_guard

LIST_PAGE = "officer/admin/api_clients.html"
SHOWN_ONCE_PAGE = "officer/admin/api_clients_secret.html"


async def _list_page(
    db: AsyncSession, actor: Actor, status: int = 200, form: dict[str, Any] | None = None, **context: Any
) -> Template:
    context.setdefault("errors", FormErrors())
    return Template(
        LIST_PAGE,
        status_code=status,
        context={
            "records": await api_clients.for_organisation(db, actor),
            "may_create": api_clients.may_have_api_clients(actor),
            "form": form or {},
            "actor": actor,
            **context,
        },
    )


async def _own(db: AsyncSession, actor: Actor, api_client_id: uuid.UUID) -> ApiClient:
    record = await api_clients.load(db, actor, api_client_id)
    if record is None:
        raise NotFoundException
    return record


async def _changed_meanwhile(db: AsyncSession, actor: Actor) -> Template:
    """Another administrator rotated or deactivated the same client at the same moment: nothing was done."""
    await db.rollback()
    return await _list_page(
        db,
        actor,
        409,
        notice=_("Someone else changed this system client at the same time. Check the list and try again."),
    )


def _secret_page(actor: Actor, record: ApiClient, secret: str, rotated: bool) -> Template:
    return Template(
        SHOWN_ONCE_PAGE,
        context={
            "record": record,
            "secret": secret,
            "rotated": rotated,
            "token_url": TOKEN_URL,
            "actor": actor,
        },
    )


@get("/admin/api-clients")
async def api_client_list(db_session: AsyncSession, actor: Actor) -> Template:
    return await _list_page(db_session, actor)


@post("/admin/api-clients")
async def create_api_client(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    if not api_clients.may_have_api_clients(actor):
        raise PermissionDeniedException
    data = await form_of(request)
    errors = FormErrors()
    name = text(data, "name", 200, errors)
    if not name:
        errors["name"] = _("Enter a name that tells which system uses this client.")
    if errors or not name:
        return await _list_page(db_session, actor, 422, form=data, errors=errors)
    record, secret = await api_clients.create(db_session, actor, name)
    return _secret_page(actor, record, secret, rotated=False)


@post("/admin/api-clients/{api_client_id:uuid}/rotate")
async def rotate_secret(db_session: AsyncSession, actor: Actor, api_client_id: uuid.UUID) -> Template:
    record = await _own(db_session, actor, api_client_id)
    if not record.active:
        return await _list_page(
            db_session,
            actor,
            409,
            notice=_("This system client is deactivated. Create a new one instead."),
        )
    try:
        secret = await api_clients.rotate(db_session, actor, record)
    except StaleDataError:
        return await _changed_meanwhile(db_session, actor)
    return _secret_page(actor, record, secret, rotated=True)


@post("/admin/api-clients/{api_client_id:uuid}/deactivate")
async def deactivate_api_client(
    db_session: AsyncSession, actor: Actor, api_client_id: uuid.UUID
) -> Template | Redirect:
    record = await _own(db_session, actor, api_client_id)
    try:
        await api_clients.deactivate(db_session, actor, record)
    except StaleDataError:
        return await _changed_meanwhile(db_session, actor)
    return Redirect("/officer/admin/api-clients", status_code=303)


router = Router(
    path="/officer",
    guards=[staff_guard, requires(Permission.STAFF_MANAGE)],
    include_in_schema=False,  # pages, not an API (as the other administration pages)
    route_handlers=[api_client_list, create_api_client, rotate_secret, deactivate_api_client],
)
