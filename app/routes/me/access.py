"""Migrant app: access — sign-in with a passkey, enrolment with an invitation, sign-out (service 14).

No session is needed here. The invitation's secret never stays in the address bar: GET /me/join/<token>
(the QR code's link) and a valid short code both set a short-lived HttpOnly cookie that names the
invitation (MAC-protected, see invitations.enrol_ticket) and redirect to /me/enrol. A wrong, expired,
used or revoked invitation always gets the same message. Failed attempts are counted per address like
the officers' sign-in (429 with Retry-After).
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Router, get, post
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client
from app.db.client_app import ClientInvitation
from app.domain import audit, auth, client_auth, client_passkeys, invitations
from app.domain.audit import Action
from app.domain.forms import FormErrors
from app.i18n import _
from app.settings import Settings
from app.web import (
    clear_client_session_cookie,
    clear_session_cookie,
    client_address,
    client_session_cookie,
    client_token,
    form_of,
    language_cookie,
    page,
    session_cookie,
    session_cookie_name,
)

SIGN_IN_PAGE = "me/sign_in.html"
HOME = "/me/"


def _not_valid() -> str:
    return _(
        "This invitation code does not work. It may be mistyped, already used or too old. Check it, or ask your officer for a new one."
    )


async def limit_attempts(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> str | None:
    """Per-address limit on failed attempts (codes, links and passkeys alike); 429 when exceeded."""
    _account, address_key = auth.limiter_keys(settings, None, client_address(request))
    if wait := await auth.retry_after(db, settings, None, address_key):
        raise HTTPException(status_code=429, headers={"Retry-After": str(wait)})
    return address_key


async def record_failed_attempt(
    db: AsyncSession, settings: Settings, address_key: str | None, what: str
) -> None:
    await auth.record_failure(db, settings, None, address_key)
    await audit.record(db, Action.SIGN_IN_FAILED, actor_kind="anonymous", fields=[what])
    await db.commit()


def _sign_in_page(
    status: int = 200, form: dict[str, Any] | None = None, errors: FormErrors | None = None
) -> Template:
    return page(SIGN_IN_PAGE, status_code=status, form=form or {}, errors=errors or FormErrors())


# --- sign-in ----------------------------------------------------------------------------------------


@get("/me/sign-in")
async def sign_in_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template | Redirect:
    if await client_auth.resume_session(db_session, client_token(request)):
        return Redirect(HOME)
    await db_session.commit()  # an expired session row was removed
    return _sign_in_page()


@post("/me/sign-in/passkey/options")
async def passkey_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    await limit_attempts(request, db_session, settings)
    options = await client_passkeys.authentication_options(db_session, settings)
    return Response(content=json.loads(options))


@post("/me/sign-in/passkey")
async def passkey_sign_in(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    address_key = await limit_attempts(request, db_session, settings)
    try:
        credential = json.loads(await request.body())
        passkey = await client_passkeys.authenticate(db_session, settings, credential)
        client = await db_session.get(Client, passkey.client_id)
        if client is None or client.status.value != "active":
            raise client_passkeys.PasskeyError("inactive")
    except (client_passkeys.PasskeyError, ValueError, TypeError, AttributeError):
        await record_failed_attempt(db_session, settings, address_key, "passkey")
        return Response({"error": _("The passkey was not accepted. Try again.")}, status_code=401)
    return await _signed_in(request, db_session, settings, client, "passkey")


async def _signed_in(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, client: Client, method: str
) -> Response[Any]:
    # Rotation: whatever session the phone carried ends, and a fresh token is issued.
    await client_auth.end_session(db, client_token(request))
    device = client_passkeys.device_of(request.headers.get("user-agent"))
    token = await client_auth.start_session(db, settings, client, device)
    await audit.record(
        db, Action.SIGN_IN, actor_kind="client", actor_id=client.id, client_id=client.id, fields=[method]
    )
    response: Response[Any] = Response({"redirect": HOME})
    response.set_cookie(client_session_cookie(settings, token))
    return response


@post("/me/sign-out")
async def sign_out(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """Ends this phone's session and tells the browser to drop the app's offline copies of the client's
    pages (Clear-Site-Data: the service worker's caches and storage)."""
    token = client_token(request)
    signed_in = await client_auth.resume_session(db_session, token)
    if signed_in:
        client = signed_in.client
        await audit.record(
            db_session, Action.SIGN_OUT, actor_kind="client", actor_id=client.id, client_id=client.id
        )
    await client_auth.end_session(db_session, token)
    response: Response[Any] = Redirect("/me/sign-in", status_code=303)
    response.set_cookie(clear_client_session_cookie(settings))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


# --- an invitation: the QR link or the short code ----------------------------------------------------


def _with_ticket(settings: Settings, invitation: ClientInvitation) -> Redirect:
    response = Redirect("/me/enrol", status_code=303)
    response.set_cookie(
        session_cookie(
            settings,
            invitations.enrol_ticket(settings, invitation.id),
            invitations.ENROL_COOKIE,
            max_age=int(invitations.ENROL_LIFETIME.total_seconds()),
        )
    )
    return response


@post("/me/sign-in/code")
async def enter_code(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    form = await form_of(request)
    typed = str(form.get("code") or "")[:40]
    address_key = await limit_attempts(request, db_session, settings)
    if not typed.strip():
        return _sign_in_page(422, {"code": typed}, FormErrors(code=_("Enter the invitation code.")))
    invitation = await invitations.by_code(db_session, settings, typed)
    if invitation is None:
        await record_failed_attempt(db_session, settings, address_key, "invitation_code")
        return _sign_in_page(422, {"code": typed}, FormErrors(code=_not_valid()))
    return _with_ticket(settings, invitation)


@get("/me/join/{token:str}")
async def join(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, token: str
) -> Template | Redirect:
    address_key = await limit_attempts(request, db_session, settings)
    invitation = await invitations.by_token(db_session, token)
    if invitation is None:
        await record_failed_attempt(db_session, settings, address_key, "invitation_link")
        return _sign_in_page(404, {}, FormErrors(code=_not_valid()))
    return _with_ticket(settings, invitation)


# --- enrolment: language, then a passkey -------------------------------------------------------------


async def _invitation(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> tuple[ClientInvitation, Client] | None:
    invitation_id = invitations.read_enrol_ticket(
        settings, request.cookies.get(session_cookie_name(settings, invitations.ENROL_COOKIE))
    )
    if invitation_id is None:
        return None
    invitation = await invitations.by_id(db, invitation_id)
    if invitation is None:
        return None
    client = await db.get(Client, invitation.client_id)
    if client is None:
        return None
    # The language chosen on this phone (now, or remembered in its cookie) wins over the profile's.
    state = request.scope["state"]
    chosen_here = state.get("explicit_locale") or state.get("remembered_locale")
    if not chosen_here and client.preferred_locale in i18n.PUBLIC_LOCALES:
        i18n.set_locale(client.preferred_locale)
    return invitation, client


def _no_invitation() -> Template:
    return _sign_in_page(404, {}, FormErrors(code=_not_valid()))


@get("/me/enrol")
async def enrol_language(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template:
    found = await _invitation(request, db_session, settings)
    if found is None:
        return _no_invitation()
    return page("me/enrol.html", chosen=i18n.get_locale(), errors=FormErrors())


@post("/me/enrol/language")
async def choose_language(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    found = await _invitation(request, db_session, settings)
    if found is None:
        return _no_invitation()
    _invitation_row, client = found
    chosen = str((await form_of(request)).get("language") or "")
    if chosen not in i18n.PUBLIC_LOCALES:
        return page(
            "me/enrol.html",
            status_code=422,
            chosen=None,
            errors=FormErrors(language=_("Choose a language.")),
        )
    await client_auth.choose_language(db_session, client, chosen)
    response = Redirect("/me/enrol/passkey", status_code=303)
    response.set_cookie(language_cookie(chosen, settings.https))
    return response


@get("/me/enrol/passkey")
async def enrol_passkey_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template:
    found = await _invitation(request, db_session, settings)
    if found is None:
        return _no_invitation()
    return page("me/enrol_passkey.html")


@post("/me/enrol/passkey/options")
async def enrol_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    found = await _invitation(request, db_session, settings)
    if found is None:
        return Response({"error": _not_valid()}, status_code=404)
    options = await client_passkeys.enrol_options(db_session, settings, found[0])
    return Response(content=json.loads(options))


@post("/me/enrol/passkey")
async def enrol(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    address_key = await limit_attempts(request, db_session, settings)
    invitation_id = invitations.read_enrol_ticket(
        settings, request.cookies.get(session_cookie_name(settings, invitations.ENROL_COOKIE))
    )
    try:
        if invitation_id is None:
            raise client_passkeys.PasskeyError("no invitation")
        body = json.loads(await request.body())
        name = str(body.get("name") or "") or client_passkeys.device_name(request.headers.get("user-agent"))
        client, _passkey = await client_passkeys.enrol(
            db_session, settings, invitation_id, body["credential"], name
        )
    except (client_passkeys.PasskeyError, ValueError, TypeError, KeyError, AttributeError):
        await record_failed_attempt(db_session, settings, address_key, "enrolment")
        return Response({"error": _("The passkey could not be created. Try again.")}, status_code=400)
    response = await _signed_in(request, db_session, settings, client, "enrolment")
    response.set_cookie(clear_session_cookie(settings, invitations.ENROL_COOKIE))
    return response


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        sign_in_page,
        passkey_options,
        passkey_sign_in,
        sign_out,
        enter_code,
        join,
        enrol_language,
        choose_language,
        enrol_passkey_page,
        enrol_options,
        enrol,
    ],
)
