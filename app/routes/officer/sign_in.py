"""Officer sign-in and sign-out: password (argon2id), then the code of an authenticator app where the officer
has one, or a passkey; rate-limited, audit-logged."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Router, get, post
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Response, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.organisation import Staff
from app.domain import audit, auth, passkeys, totp
from app.domain.audit import Action
from app.i18n import _
from app.settings import Settings
from app.web import (
    SECOND_STEP,
    clear_session_cookie,
    client_address,
    form_of,
    page,
    session_cookie,
    session_cookie_name,
)

SIGN_IN_PAGE = "officer/sign_in.html"
CODE_PAGE = "officer/sign_in_code.html"


def safe_next(value: object) -> str:
    """Only back-office paths of this site: no scheme, no host, no '//' (open-redirect safe)."""
    path = str(value or "")
    if re.fullmatch(r"/officer/[A-Za-z0-9/_-]*", path) and "//" not in path:
        return path
    return "/officer/"


@get("/sign-in")
async def sign_in_page(request: Request[Any, Any, Any]) -> Template:
    return page(SIGN_IN_PAGE, email="", error=None, next=safe_next(request.query_params.get("next")))


def _too_many(seconds: int, email: str = "", next_path: str = "/officer/") -> Template:
    minutes = max(1, (seconds + 59) // 60)
    return page(
        SIGN_IN_PAGE,
        status_code=429,
        email=email,
        next=next_path,
        error=_("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes},
    )


@post("/sign-in")
async def sign_in(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    form = await form_of(request)
    email = str(form.get("email") or "").strip()[:254]
    password = str(form.get("password") or "")[:1024]
    account_key, address_key = auth.limiter_keys(settings, email, client_address(request))
    wait = await auth.retry_after(db_session, settings, account_key, address_key)
    if wait:
        response = _too_many(wait, email, safe_next(form.get("next")))
        response.headers["Retry-After"] = str(wait)
        return response
    staff = await db_session.scalar(select(Staff).where(func.lower(Staff.email) == email.casefold()))
    if not (
        auth.verify_password(settings, staff.password_hash if staff else None, password)
        and staff
        and staff.active
    ):
        await auth.record_failure(db_session, settings, account_key, address_key)
        await audit.record(
            db_session,
            Action.SIGN_IN_FAILED,
            actor_kind="staff" if staff else "anonymous",
            actor_id=staff.id if staff else None,
            fields=["password"],
        )
        await db_session.commit()
        return page(
            SIGN_IN_PAGE,
            status_code=401,
            email=email,
            next=safe_next(form.get("next")),
            error=_("The e-mail address or the password is wrong."),
        )
    await auth.clear_failures(db_session, account_key)
    next_path = safe_next(form.get("next"))
    if await totp.in_use(db_session, staff.id):  # the second step: a short-lived session that only asks
        await auth.end_session(db_session, request.cookies.get(session_cookie_name(settings)))
        token = await auth.start_session(db_session, settings, staff, "pending-totp")
        second_step = Redirect(SECOND_STEP + "?" + urlencode({"next": next_path}))
        second_step.set_cookie(session_cookie(settings, token))
        return second_step
    return await _signed_in(request, db_session, settings, staff, "password", next_path)


async def _pending(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> auth.SignedIn | None:
    signed_in = await auth.resume_session(db, settings, request.cookies.get(session_cookie_name(settings)))
    return signed_in if signed_in and signed_in.session.method == "pending-totp" else None


@get("/sign-in/code")
async def code_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    if await _pending(request, db_session, settings) is None:
        await db_session.commit()  # an expired session row was removed
        return Redirect("/officer/sign-in")
    return page(CODE_PAGE, error=None, next=safe_next(request.query_params.get("next")))


@post("/sign-in/code")
async def code_sign_in(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """The code of the officer's authenticator app after the right password (ASVS 6.3.2); wrong codes
    count towards the account's sign-in limit like wrong passwords."""
    form = await form_of(request)
    next_path = safe_next(form.get("next"))
    pending = await _pending(request, db_session, settings)
    if pending is None:
        await db_session.commit()
        return Redirect("/officer/sign-in")
    staff = pending.staff
    account_key, address_key = auth.limiter_keys(settings, staff.email, client_address(request))
    if wait := await auth.retry_after(db_session, settings, account_key, address_key):
        minutes = max(1, (wait + 59) // 60)
        error = _("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {
            "minutes": minutes
        }
        limited = page(CODE_PAGE, status_code=429, error=error, next=next_path)
        limited.headers["Retry-After"] = str(wait)
        return limited
    if not await totp.verify(db_session, settings, staff.id, str(form.get("code") or "")):
        await auth.record_failure(db_session, settings, account_key, address_key)
        await audit.record(
            db_session, Action.SIGN_IN_FAILED, actor_kind="staff", actor_id=staff.id, fields=["totp"]
        )
        await db_session.commit()
        error = _("The code is wrong or was used already. Enter the code your app shows now.")
        return page(CODE_PAGE, status_code=422, error=error, next=next_path)
    await auth.clear_failures(db_session, account_key)
    return await _signed_in(request, db_session, settings, staff, "password+totp", next_path)


async def _signed_in(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    staff: Staff,
    method: str,
    next_path: str = "/officer/",
) -> Response[Any]:
    # Rotation: whatever session the browser carried is ended, and a fresh token is issued.
    await auth.end_session(db, request.cookies.get(session_cookie_name(settings)))
    token = await auth.start_session(db, settings, staff, method)
    await audit.record(db, Action.SIGN_IN, actor_kind="staff", actor_id=staff.id, fields=[method])
    response: Response[Any] = Redirect(next_path)
    if method == "passkey":
        response = Response({"redirect": next_path})
    response.set_cookie(session_cookie(settings, token))
    return response


async def _passkey_rate_limit(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> str | None:
    """Passkey sign-in has no account name before it verifies: it is limited per address (429)."""
    _account, address_key = auth.limiter_keys(settings, None, client_address(request))
    if wait := await auth.retry_after(db, settings, None, address_key):
        raise HTTPException(status_code=429, headers={"Retry-After": str(wait)})
    return address_key


@post("/sign-in/passkey/options")
async def passkey_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    await _passkey_rate_limit(request, db_session, settings)
    options = await passkeys.authentication_options(db_session, settings)
    return Response(content=json.loads(options))


@post("/sign-in/passkey")
async def passkey_sign_in(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    address_key = await _passkey_rate_limit(request, db_session, settings)
    try:
        credential = json.loads(await request.body())
        passkey = await passkeys.authenticate(db_session, settings, credential)
        staff = await db_session.get(Staff, passkey.staff_id)
        if staff is None or not staff.active:
            raise passkeys.PasskeyError("inactive")
    except (passkeys.PasskeyError, ValueError, TypeError):
        await auth.record_failure(db_session, settings, None, address_key)
        await audit.record(db_session, Action.SIGN_IN_FAILED, actor_kind="anonymous", fields=["passkey"])
        await db_session.commit()
        return Response(
            {"error": _("The passkey was not accepted. Try again or sign in with your password.")},
            status_code=401,
        )
    next_path = safe_next(request.query_params.get("next"))
    return await _signed_in(request, db_session, settings, staff, "passkey", next_path)


@post("/sign-out")
async def sign_out(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """Deletes the server-side session: every tab and copy of the cookie is signed out at once."""
    token = request.cookies.get(session_cookie_name(settings))
    signed_in = await auth.resume_session(db_session, settings, token)
    if signed_in:
        await audit.record(db_session, Action.SIGN_OUT, actor=signed_in.actor)
    await auth.end_session(db_session, token)
    response: Response[Any] = Redirect("/officer/sign-in")
    response.set_cookie(clear_session_cookie(settings))
    # Officers' pages are never stored (no-store), but a shared computer keeps nothing of the site either.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    route_handlers=[
        sign_in_page,
        sign_in,
        code_page,
        code_sign_in,
        passkey_options,
        passkey_sign_in,
        sign_out,
    ],
)
