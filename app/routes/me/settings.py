"""Migrant app: settings — language, passkeys (add another, remove one), sign out; the push section is
the PWA area's (me/_push.html)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client
from app.db.client_app import ClientPasskey
from app.domain import audit, client_auth, client_passkeys
from app.domain.audit import Action
from app.domain.forms import FormErrors
from app.i18n import _
from app.settings import Settings
from app.web import client_guard, current_client, form_of, language_cookie, page

SETTINGS = "/me/settings"


async def _page(
    db: AsyncSession,
    client: Client,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    confirm_remove: ClientPasskey | None = None,
) -> Template:
    return page(
        "me/settings.html",
        status_code=status,
        me=client,
        section="settings",
        passkeys=await client_passkeys.passkeys_of(db, client.id),
        errors=errors or FormErrors(),
        confirm_remove=confirm_remove,
    )


@get(SETTINGS, guards=[client_guard])
async def settings_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    client = current_client(request).client
    await audit.record(
        db_session,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client_settings",
        object_id=client.id,
        fields=["preferred_locale", "client_passkey"],
    )
    return await _page(db_session, client)


@post(f"{SETTINGS}/language", guards=[client_guard])
async def save_language(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    client = current_client(request).client
    chosen = str((await form_of(request)).get("language") or "")
    if chosen not in i18n.PUBLIC_LOCALES:
        return await _page(
            db_session, client, status=422, errors=FormErrors(language=_("Choose a language."))
        )
    await client_auth.choose_language(db_session, client, chosen)
    response = Redirect(SETTINGS, status_code=303)
    response.set_cookie(language_cookie(chosen, settings.https))
    return response


@post(f"{SETTINGS}/passkeys/options", guards=[client_guard])
async def passkey_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    client = current_client(request).client
    options = await client_passkeys.registration_options(db_session, settings, client)
    return Response(content=json.loads(options))


@post(f"{SETTINGS}/passkeys", guards=[client_guard])
async def add_passkey(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    client = current_client(request).client
    try:
        body = json.loads(await request.body())
        name = str(body.get("name") or "").strip() or client_passkeys.device_name(
            request.headers.get("user-agent")
        )
        await client_passkeys.register(db_session, settings, client, body["credential"], name)
    except (client_passkeys.PasskeyError, ValueError, TypeError, KeyError, AttributeError):
        await db_session.commit()  # the challenge stays used
        return Response({"error": _("The passkey could not be saved. Try again.")}, status_code=400)
    return Response({"redirect": SETTINGS})


@post(f"{SETTINGS}/passkeys/{{passkey_id:uuid}}/delete", guards=[client_guard])
async def remove_passkey(
    request: Request[Any, Any, Any], db_session: AsyncSession, passkey_id: uuid.UUID
) -> Template | Redirect:
    """Removing the last passkey needs a second, explicit confirmation: without one the client can only
    come back with a new invitation from their officer."""
    client = current_client(request).client
    keys = await client_passkeys.passkeys_of(db_session, client.id)
    target = next((k for k in keys if k.id == passkey_id), None)
    if target is None:
        raise NotFoundException
    confirmed = (await form_of(request)).get("confirm") == "last"
    if len(keys) == 1 and not confirmed:
        return await _page(db_session, client, status=409, confirm_remove=target)
    await client_passkeys.remove(db_session, client, passkey_id)
    return Redirect(SETTINGS, status_code=303)


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[settings_page, save_language, passkey_options, add_passkey, remove_passkey],
)
