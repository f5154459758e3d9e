"""Migrant app: settings — language, passkeys (add another, remove one), the phones signed in, sign out;
the push section is the PWA area's (me/_push.html).

Adding or removing a passkey and signing out other phones need a confirmation with one of the client's
passkeys within the last few minutes (client_auth.CONFIRMATION_LIFETIME; signing in counts), so that a
phone left signed in is not enough to take the account over (ASVS 7.5.1, 7.5.2)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client_app import ClientPasskey
from app.domain import audit, auth, client_auth, client_passkeys
from app.domain.audit import Action
from app.domain.auth import session_ref
from app.domain.forms import FormErrors
from app.i18n import _
from app.routes.me.access import limit_attempts
from app.settings import Settings
from app.web import client_guard, current_client, form_of, language_cookie, page, settings_of

SETTINGS = "/me/settings"


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    confirm_remove: ClientPasskey | None = None,
) -> Template:
    signed_in = current_client(request)
    settings = settings_of(request)
    return page(
        "me/settings.html",
        status_code=status,
        me=signed_in.client,
        section="settings",
        passkeys=await client_passkeys.passkeys_of(db, signed_in.client.id),
        sessions=[
            (session_ref(settings, s), s, s.token_hash == signed_in.session.token_hash)
            for s in await client_auth.live_sessions(db, signed_in.client.id)
        ],
        confirmed=client_auth.confirmed_recently(signed_in.session),
        confirm_minutes=int(client_auth.CONFIRMATION_LIFETIME.total_seconds() // 60),
        errors=errors or FormErrors(),
        confirm_remove=confirm_remove,
        done=request.query_params.get("done"),
    )


def _confirm_first() -> str:
    return _("For your safety, first confirm with your passkey that it is you. Then try again.")


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
        fields=["preferred_locale", "client_passkey", "client_session"],
    )
    return await _page(request, db_session)


@post(f"{SETTINGS}/confirm/options", guards=[client_guard])
async def confirm_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    await limit_attempts(request, db_session, settings)
    try:
        options = await client_passkeys.confirmation_options(
            db_session, settings, current_client(request).client
        )
    except client_passkeys.PasskeyError:  # no passkey left to confirm with
        return Response(
            {"error": _("You have no passkey. Ask your officer for a new invitation.")}, status_code=409
        )
    return Response(content=json.loads(options))


@post(f"{SETTINGS}/confirm", guards=[client_guard])
async def confirm(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """A passkey assertion on this signed-in phone: for CONFIRMATION_LIFETIME it may change passkeys and
    sign out other phones. Failures count towards the address's limit like failed sign-ins."""
    signed_in = current_client(request)
    client = signed_in.client
    address_key = await limit_attempts(request, db_session, settings)
    try:
        await client_passkeys.confirm(db_session, settings, client, json.loads(await request.body()))
    except (client_passkeys.PasskeyError, ValueError, TypeError, AttributeError):
        await auth.record_failure(db_session, settings, None, address_key)
        await audit.record(
            db_session,
            Action.SIGN_IN_FAILED,
            actor_kind="client",
            actor_id=client.id,
            client_id=client.id,
            fields=["passkey", "confirmation"],
        )
        await db_session.commit()
        return Response({"error": _("The passkey was not accepted. Try again.")}, status_code=401)
    client_auth.mark_confirmed(signed_in.session)
    await audit.record(
        db_session, Action.SIGN_IN, actor_kind="client", actor_id=client.id, client_id=client.id,
        fields=["passkey", "confirmation"],
    )  # fmt: skip
    return Response(
        {"redirect": f"{SETTINGS}?done=confirmed#security"}
    )  # a new page, not a jump to #security


@post(f"{SETTINGS}/language", guards=[client_guard])
async def save_language(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    client = current_client(request).client
    chosen = str((await form_of(request)).get("language") or "")
    if chosen not in i18n.PUBLIC_LOCALES:
        return await _page(
            request, db_session, status=422, errors=FormErrors(language=_("Choose a language."))
        )
    await client_auth.choose_language(db_session, client, chosen)
    response = Redirect(SETTINGS, status_code=303)
    response.set_cookie(language_cookie(chosen, settings.https))
    return response


@post(f"{SETTINGS}/passkeys/options", guards=[client_guard])
async def passkey_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    signed_in = current_client(request)
    if not client_auth.confirmed_recently(signed_in.session):
        return Response({"error": _confirm_first()}, status_code=403)
    options = await client_passkeys.registration_options(db_session, settings, signed_in.client)
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
    signed_in = current_client(request)
    client = signed_in.client
    keys = await client_passkeys.passkeys_of(db_session, client.id)
    target = next((k for k in keys if k.id == passkey_id), None)
    if target is None:
        raise NotFoundException
    if not client_auth.confirmed_recently(signed_in.session):
        return await _page(request, db_session, status=403, errors=FormErrors(confirm=_confirm_first()))
    confirmed = (await form_of(request)).get("confirm") == "last"
    if len(keys) == 1 and not confirmed:
        return await _page(request, db_session, status=409, confirm_remove=target)
    await client_passkeys.remove(db_session, client, passkey_id)
    return Redirect(SETTINGS, status_code=303)


@post(f"{SETTINGS}/sessions/end", guards=[client_guard])
async def end_sessions(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    """Sign out another phone (`session`: its reference) or all the others (`all`), after a confirmation."""
    signed_in = current_client(request)
    if not client_auth.confirmed_recently(signed_in.session):
        return await _page(request, db_session, status=403, errors=FormErrors(confirm=_confirm_first()))
    data = await request.form()
    chosen = [str(v) for v in data.getall("session")] if "session" in data else []
    everything = data.get("all") == "1"
    if not chosen and not everything:
        return await _page(
            request, db_session, status=422, errors=FormErrors(sessions=_("Choose a phone to sign out."))
        )
    ended = await client_auth.end_other_sessions(
        db_session, settings, signed_in.client.id, keep=signed_in.session, refs=None if everything else chosen
    )
    await audit.record(
        db_session,
        Action.SIGN_OUT,
        actor_kind="client",
        actor_id=signed_in.client.id,
        client_id=signed_in.client.id,
        object_type="client_session",
        fields=["client_session"] if ended else [],
    )
    return Redirect(f"{SETTINGS}?done=sessions#signed-in", status_code=303)


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        settings_page,
        save_language,
        confirm_options,
        confirm,
        passkey_options,
        add_passkey,
        remove_passkey,
        end_sessions,
    ],
)
