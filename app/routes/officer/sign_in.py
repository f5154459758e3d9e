"""Officer sign-in and sign-out: a passkey, or the password (argon2id) and then, once the person has any second
factor, the second step: the code of their authenticator app, one of their own passkeys, or a recovery code.
Rate-limited and audit-logged."""

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
from app.domain import audit, auth, passkeys, recovery_codes, totp
from app.domain.audit import Action
from app.domain.forms import FormErrors
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
    # Whoever has a second factor gives it too, whatever the organisation's setting (ASVS 6.3.2): a short-lived
    # session that only asks for it. Only a person with no second factor at all is signed in by the password.
    if (await auth.second_steps(db_session, staff.id)).any:
        await auth.end_session(db_session, request.cookies.get(session_cookie_name(settings)))
        token = await auth.start_session(db_session, settings, staff, auth.PENDING)
        second_step = Redirect(SECOND_STEP + "?" + urlencode({"next": next_path}))
        second_step.set_cookie(session_cookie(settings, token))
        return second_step
    return await _signed_in(request, db_session, settings, staff, "password", next_path)


async def _pending(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> auth.SignedIn | None:
    signed_in = await auth.resume_session(db, settings, request.cookies.get(session_cookie_name(settings)))
    return signed_in if signed_in and signed_in.session.method == auth.PENDING else None


async def _code_page(
    db: AsyncSession,
    staff: Staff,
    next_path: str,
    status_code: int = 200,
    errors: FormErrors | None = None,
    error: str | None = None,
) -> Template:
    """The second step: what the person has (their app, their passkeys, recovery codes) to choose from."""
    return page(
        CODE_PAGE,
        status_code=status_code,
        steps=await auth.second_steps(db, staff.id),
        errors=errors or FormErrors(),
        error=error,
        next=next_path,
    )


def _too_many_message(wait: int) -> str:
    minutes = max(1, (wait + 59) // 60)
    return _("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes}


async def _second_step_wait(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, staff: Staff
) -> tuple[int, tuple[str | None, str | None]]:
    """Seconds to wait (0: go on) and the limiter's keys: the second step counts towards the account's limit."""
    keys = auth.limiter_keys(settings, staff.email, client_address(request))
    return await auth.retry_after(db, settings, *keys), keys


async def _second_step_failed(
    db: AsyncSession, settings: Settings, keys: tuple[str | None, str | None], staff: Staff, field: str
) -> None:
    """A wrong answer of any kind: counted, and audit-logged with the name of what was wrong, never its value."""
    await auth.record_failure(db, settings, *keys)
    await audit.record(db, Action.SIGN_IN_FAILED, actor_kind="staff", actor_id=staff.id, fields=[field])
    await db.commit()


async def _second_step_form(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> tuple[dict[str, Any], str, Staff, tuple[str | None, str | None]] | Response[Any]:
    """A form answer to the second step: the form, where to go after, the person and the limiter's keys; or
    the answer that ends here (no session waiting for it: the sign-in again; too many failures: 429)."""
    form = await form_of(request)
    next_path = safe_next(form.get("next"))
    pending = await _pending(request, db, settings)
    if pending is None:
        await db.commit()
        return Redirect("/officer/sign-in")
    wait, keys = await _second_step_wait(request, db, settings, pending.staff)
    if wait:
        limited = await _code_page(db, pending.staff, next_path, 429, error=_too_many_message(wait))
        limited.headers["Retry-After"] = str(wait)
        return limited
    return form, next_path, pending.staff, keys


@get("/sign-in/code")
async def code_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    pending = await _pending(request, db_session, settings)
    if pending is None:
        await db_session.commit()  # an expired session row was removed
        return Redirect("/officer/sign-in")
    return await _code_page(db_session, pending.staff, safe_next(request.query_params.get("next")))


@post("/sign-in/code")
async def code_sign_in(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """The code of the officer's authenticator app after the right password (ASVS 6.3.2); wrong codes
    count towards the account's sign-in limit like wrong passwords."""
    begun = await _second_step_form(request, db_session, settings)
    if isinstance(begun, Response):
        return begun
    form, next_path, staff, keys = begun
    if not await totp.verify(db_session, settings, staff.id, str(form.get("code") or "")):
        await _second_step_failed(db_session, settings, keys, staff, "totp")
        error = _("The code is wrong or was used already. Enter the code your app shows now.")
        return await _code_page(db_session, staff, next_path, 422, FormErrors(code=error))
    await auth.clear_failures(db_session, keys[0])
    return await _signed_in(request, db_session, settings, staff, "password+totp", next_path)


@post("/sign-in/recovery-code")
async def recovery_code_sign_in(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """One of the person's recovery codes instead of the lost app or passkey (ASVS 6.5.1–6.5.3): used once,
    wrong ones counted like wrong passwords. The profile then tells how many are left."""
    begun = await _second_step_form(request, db_session, settings)
    if isinstance(begun, Response):
        return begun
    form, next_path, staff, keys = begun
    if not await recovery_codes.use(db_session, settings, staff.id, str(form.get("recovery_code") or "")):
        await _second_step_failed(db_session, settings, keys, staff, "recovery_code")
        error = _("The recovery code is wrong or was used already. Each code works once.")
        return await _code_page(db_session, staff, next_path, 422, FormErrors(recovery_code=error))
    await auth.clear_failures(db_session, keys[0])
    return await _signed_in(
        request,
        db_session,
        settings,
        staff,
        "password+recovery",
        "/officer/profile?done=recovery#recovery-codes",
    )


async def _pending_json(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> tuple[auth.SignedIn, tuple[str | None, str | None]] | Response[Any]:
    """The session waiting for its second step and the limiter's keys, or the JSON answer that ends here."""
    pending = await _pending(request, db, settings)
    if pending is None:
        await db.commit()
        return Response({"error": _("Your sign-in took too long. Start again.")}, status_code=401)
    wait, keys = await _second_step_wait(request, db, settings, pending.staff)
    if wait:
        return Response(
            {"error": _too_many_message(wait)}, status_code=429, headers={"Retry-After": str(wait)}
        )
    return pending, keys


@post("/sign-in/code/passkey/options")
async def second_step_passkey_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """A challenge for the person's own passkeys only (allowCredentials), after their right password."""
    checked = await _pending_json(request, db_session, settings)
    if isinstance(checked, Response):
        return checked
    pending, _keys = checked
    options = await passkeys.authentication_options(db_session, settings, pending.staff)
    return Response(content=json.loads(options))


@post("/sign-in/code/passkey")
async def second_step_passkey(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """One of the person's own passkeys as the second step: verified on the server against the challenge
    issued to this person; another person's passkey is refused and counted like a wrong code."""
    checked = await _pending_json(request, db_session, settings)
    if isinstance(checked, Response):
        return checked
    pending, keys = checked
    staff = pending.staff
    try:
        credential = json.loads(await request.body())
        if not isinstance(credential, dict):
            raise TypeError("not an object")
        await passkeys.authenticate(db_session, settings, credential, staff_id=staff.id)
    except (passkeys.PasskeyError, ValueError, TypeError):
        await _second_step_failed(db_session, settings, keys, staff, "passkey")
        return Response(
            {"error": _("The passkey was not accepted. Use a passkey you have added to your own profile.")},
            status_code=401,
        )
    await auth.clear_failures(db_session, keys[0])
    next_path = safe_next(request.query_params.get("next"))
    return await _signed_in(request, db_session, settings, staff, "password+passkey", next_path, as_json=True)


async def _signed_in(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    staff: Staff,
    method: str,
    next_path: str = "/officer/",
    *,
    as_json: bool = False,
) -> Response[Any]:
    # Rotation: whatever session the browser carried is ended, and a fresh token is issued.
    await auth.end_session(db, request.cookies.get(session_cookie_name(settings)))
    token = await auth.start_session(db, settings, staff, method)
    await audit.record(db, Action.SIGN_IN, actor_kind="staff", actor_id=staff.id, fields=[method])
    response: Response[Any] = Redirect(next_path)
    if as_json:  # the page's script goes on to the address (a passkey's answer)
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
    return await _signed_in(request, db_session, settings, staff, "passkey", next_path, as_json=True)


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
        recovery_code_sign_in,
        second_step_passkey_options,
        second_step_passkey,
        passkey_options,
        passkey_sign_in,
        sign_out,
    ],
)
