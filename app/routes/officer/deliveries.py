"""Notifications on the client page: the delivery state of each (paged), and the client's channels
and quiet hours, which an officer of the client's organisation may change for the client."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.outbox import ContactPreference
from app.domain import audit, deliveries
from app.domain.audit import Action
from app.domain.clients import page_url as client_page_url
from app.domain.forms import FormErrors
from app.domain.policy import Actor, Permission, load_client, may_write_client
from app.i18n import _
from app.web import requires, staff_guard


async def _client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None or not deliveries.may_see(actor, client):
        raise NotFoundException
    return client


async def _writable(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await _client(db, actor, client_id)
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


@get("/clients/{client_id:uuid}/deliveries", guards=[requires(Permission.CLIENT_READ)])
async def deliveries_page(
    db_session: AsyncSession, actor: Actor, client_id: uuid.UUID, page: int = 1
) -> Template:
    """Older notifications: the same section as on the client page, one page further (htmx swaps it in)."""
    client = await _client(db_session, actor, client_id)
    section = await deliveries.client_section(db_session, actor, client, page)
    return Template(
        "officer/deliveries/list.html", context={"client": client, "deliveries": section, "actor": actor}
    )


def _form_page(
    client: Client,
    actor: Actor,
    form: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    conflict: dict[str, str] | None = None,
) -> Template:
    return Template(
        "officer/deliveries/preferences.html",
        context={"client": client, "actor": actor, "form": form, "errors": errors, "conflict": conflict},
        status_code=status,
    )


@get("/clients/{client_id:uuid}/contact-preferences", guards=[requires(Permission.CLIENT_WRITE)])
async def preferences_form(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template:
    client = await _writable(db_session, actor, client_id)
    preference = await db_session.get(ContactPreference, client.id)
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="contact_preference",
        object_id=client.id,
        fields=list(deliveries.PREFERENCE_FIELDS),
    )
    return _form_page(client, actor, deliveries.preference_input(preference), FormErrors())


@post("/clients/{client_id:uuid}/contact-preferences", guards=[requires(Permission.CLIENT_WRITE)])
async def save_preferences(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable(db_session, actor, client_id)
    form = {k: str(v) for k, v in (await request.form()).items()}
    values = deliveries.read_preference_form(form)
    if values.errors:
        return _form_page(client, actor, form, values.errors, 422)
    try:
        seen = int(form.get("version") or 0)
    except ValueError:
        seen = -1
    try:
        await deliveries.save_preference(db_session, actor, client, seen, values)
    except deliveries.StaleEdit:
        await db_session.rollback()
        client = await _writable(db_session, actor, client_id)
        fresh = await db_session.get(ContactPreference, client.id, populate_existing=True)
        saved = deliveries.preference_input(fresh)
        errors = FormErrors(
            version=_(
                "Someone else changed these settings after you opened the page. "
                "Check the saved values below and save again."
            )
        )
        return _form_page(client, actor, {**form, "version": saved["version"]}, errors, 409, conflict=saved)
    return Redirect(client_page_url(client.id, "notifications"), status_code=303)


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[deliveries_page, preferences_form, save_preferences],
)
