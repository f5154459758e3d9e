"""Back-office front page and the officer's own profile: password, second factors (authenticator app,
passkeys, recovery codes) and signed-in sessions."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Router, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.auth import Passkey, StaffSession
from app.domain import audit, auth, invitations, passkeys, recovery_codes, totp
from app.domain.audit import Action
from app.domain.auth import SignedIn
from app.domain.forms import FormErrors
from app.domain.policy import Actor
from app.i18n import _
from app.settings import Settings
from app.web import client_address, current, form_of, page, staff_guard

PROFILE = "officer/profile.html"
RECOVERY_CODES = "officer/recovery_codes.html"
DONE = {  # ?done=… after a change: what the page confirms
    "password": lambda: _("Your password has been changed."),
    "sessions": lambda: _("The sessions you chose have been signed out."),
    "totp": lambda: _("Your authenticator app is set up. Sign-in now asks for its code after your password."),
    "totp-removed": lambda: _("Your authenticator app was removed."),
    "passkey": lambda: _("Your passkey was added. Sign-in with your password now asks for it too."),
    "passkey-removed": lambda: _("The passkey was removed."),
}
SESSION_METHODS = {  # how a listed session was signed in
    "passkey": lambda: _("passkey"),
    "password": lambda: _("password"),
    "password+totp": lambda: _("password and app code"),
    "password+passkey": lambda: _("password and passkey"),
    "password+recovery": lambda: _("password and recovery code"),
    auth.PENDING: lambda: _("password, second step not taken"),
}
# After these, the profile offers recovery codes to a person who has none left.
OFFER_RECOVERY_CODES = frozenset({"totp", "passkey"})


@get("/")
async def dashboard(actor: Actor) -> Template:
    return page("officer/home.html", actor=actor)


async def _profile(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    status_code: int = 200,
    **forms: Any,
) -> Template:
    """The profile page; `forms` holds a refused form's errors and values (never its passwords)."""
    signed_in = current(request)
    staff = signed_in.staff
    keys = (
        await db.scalars(select(Passkey).where(Passkey.staff_id == staff.id).order_by(Passkey.created_at))
    ).all()
    sessions = [
        (auth.session_ref(settings, s), s, s.token_hash == signed_in.session.token_hash)
        for s in await auth.live_sessions(db, settings, staff.id)
    ]
    done_key = str(request.query_params.get("done"))
    done = DONE.get(done_key)
    app_in_use = await totp.in_use(db, staff.id)
    setup = None if app_in_use else await totp.setup_in_progress(db, settings, staff)
    codes_left, codes_made = await recovery_codes.counts(db, staff.id)
    context = {
        "password_errors": FormErrors(),
        "password_form": {"end_other_sessions": "on"},
        "session_errors": FormErrors(),
        "session_form": {},
        "totp_errors": FormErrors(),
        "recovery_errors": FormErrors(),
        "passkey_errors": FormErrors(),
        "passkey_form": {"passkey_end_sessions": "on"},
        "totp_form": {"totp_end_sessions": "on"},
        **forms,
    }
    shown = status_code == 200
    return page(
        PROFILE,
        status_code=status_code,
        staff=staff,
        passkeys=keys,
        sessions=sessions,
        notice=done() if done and shown else None,
        # Signed in with a recovery code: how many are left, and the lost factor to set up again.
        used_recovery_code=shown
        and done_key == "recovery"
        and signed_in.session.method == "password+recovery",
        offer_recovery_codes=shown and done_key in OFFER_RECOVERY_CODES and codes_left == 0,
        recovery_codes_left=codes_left,
        recovery_codes_made=codes_made,
        recovery_codes_few=recovery_codes.FEW,
        has_factor=app_in_use is not None or bool(keys),
        actor=signed_in.actor,
        session_method=lambda method: SESSION_METHODS.get(method, SESSION_METHODS["password"])(),
        idle_minutes=settings.session_idle_minutes,
        totp_in_use=app_in_use,
        totp_setup=(setup[0], invitations.qr_svg(setup[1])) if setup else None,
        second_factor_needed=settings.staff_second_factor and signed_in.session.method == "password",
        min_password_length=auth.MIN_PASSWORD_LENGTH,
        max_password_length=auth.MAX_PASSWORD_LENGTH,
        **context,
    )


@get("/profile")
async def profile(request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings) -> Template:
    return await _profile(request, db_session, settings)


async def _reauthenticate(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, signed_in: SignedIn, password: str
) -> tuple[str | None, int]:
    """The current password again before a change to how the person signs in (ASVS 6.2.3, 7.5.1, 7.5.2):
    an error and status, or (None, 200). Wrong passwords count towards the sign-in limit of the account,
    so that a left-open session cannot be used to guess the password."""
    account_key, address_key = auth.limiter_keys(settings, signed_in.staff.email, client_address(request))
    if wait := await auth.retry_after(db, settings, account_key, address_key):
        minutes = max(1, (wait + 59) // 60)
        return _("Too many wrong passwords. Try again in %(minutes)d minutes.") % {"minutes": minutes}, 429
    if not auth.verify_password(
        settings, signed_in.staff.password_hash, password[: auth.MAX_PASSWORD_LENGTH]
    ):
        await auth.record_failure(db, settings, account_key, address_key)
        await audit.record(
            db, Action.SIGN_IN_FAILED, actor=signed_in.actor, fields=["password", "reauthentication"]
        )
        return _("The password is wrong."), 422
    await auth.clear_failures(db, account_key)
    return None, 200


@post("/profile/password")
async def change_password(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """The person's own new password: the current one first, a strong new one twice (ASVS 6.2.2–6.2.4,
    6.2.11); their other sessions end unless they choose otherwise (7.4.3)."""
    signed_in = current(request)
    staff = signed_in.staff
    form = await form_of(request)
    current_password = str(form.get("current_password") or "")
    new_password = str(form.get("new_password") or "")
    end_others = form.get("end_other_sessions") == "on"
    errors = FormErrors()
    problem, status = await _reauthenticate(request, db_session, settings, signed_in, current_password)
    if problem:
        errors["current_password"] = problem
    elif problem := auth.password_problem(new_password, auth.context_words(staff)):
        errors["new_password"] = problem
    elif new_password != str(form.get("new_password_again") or ""):
        errors["new_password_again"] = _("The new password and its repetition are different.")
    elif new_password == current_password:
        errors["new_password"] = _("Choose a password different from the one you have now.")
    if errors:
        await db_session.commit()  # the counted failure stays
        return await _profile(
            request,
            db_session,
            settings,
            status_code=status if status != 200 else 422,
            password_errors=errors,
            password_form={"end_other_sessions": "on" if end_others else ""},
        )
    staff.password_hash = auth.hash_password(settings, new_password)
    staff.password_must_change = False
    fields = ["password"]
    if end_others:
        await auth.end_sessions(db_session, settings, staff.id, keep=signed_in.session, refs=None)
        fields.append("sessions")
    await _own_account_changed(db_session, signed_in, *fields)
    return Redirect("/officer/profile?done=password#password", status_code=303)


@post("/profile/sessions/end")
async def end_sessions(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """Sign out of the chosen other sessions, or of all others, after the password again (ASVS 7.5.2)."""
    signed_in = current(request)
    data = await request.form()
    chosen = [str(v) for v in data.getall("session")] if "session" in data else []
    everything = data.get("all") == "1"
    errors = FormErrors()
    problem, status = await _reauthenticate(
        request, db_session, settings, signed_in, str(data.get("session_password") or "")
    )
    if problem:
        errors["session_password"] = problem
    elif not chosen and not everything:
        errors["sessions"] = _("Choose the sessions to sign out, or sign out of all the others.")
    if errors:
        await db_session.commit()
        return await _profile(
            request,
            db_session,
            settings,
            status_code=status if status != 200 else 422,
            session_errors=errors,
            session_form={"session": chosen},
        )
    ended = await auth.end_sessions(
        db_session, settings, signed_in.staff.id, keep=signed_in.session, refs=None if everything else chosen
    )
    await audit.record(
        db_session,
        Action.SIGN_OUT,
        actor=signed_in.actor,
        object_type="staff",
        object_id=signed_in.staff.id,
        fields=["sessions"] if ended else [],
    )
    return Redirect("/officer/profile?done=sessions#signed-in", status_code=303)


async def _password_alone(db: AsyncSession, signed_in: SignedIn) -> bool:
    """A session started with the password alone, of a person who has a second factor: it may add no way in.
    (Since the second step is asked of everyone with a factor, only a session started before their first
    factor was set up elsewhere can be one; those are ended when it is, see _factor_added.)"""
    return signed_in.session.method == "password" and (await auth.second_steps(db, signed_in.staff.id)).any


def _sign_in_again() -> str:
    return _(
        "You have a second step for signing in, but this session was started with your password alone. "
        "Sign out and sign in again, then try again."
    )


async def _factor_added(db: AsyncSession, signed_in: SignedIn, method: str) -> None:
    """A second factor set up in this session: a password session becomes a two-factor one, and the person's
    other sessions started with the password alone end (a password is no longer enough for them)."""
    if signed_in.session.method == "password":
        signed_in.session.method = method
    await db.execute(
        delete(StaffSession).where(
            StaffSession.staff_id == signed_in.staff.id,
            StaffSession.method == "password",
            StaffSession.token_hash != signed_in.session.token_hash,
        )
    )


async def _totp_refused(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    errors: FormErrors,
    status: int,
    form: dict[str, Any] | None = None,
) -> Template:
    forms: dict[str, Any] = {"totp_errors": errors}
    if form is not None:  # what was ticked stays ticked
        forms["totp_form"] = {"totp_end_sessions": form.get("totp_end_sessions") or ""}
    return await _profile(request, db, settings, status_code=status, **forms)


async def _own_account_changed(db: AsyncSession, signed_in: SignedIn, *fields: str) -> None:
    """Audit: the person changed how they sign in (the names of what changed, never a value)."""
    await audit.record(
        db,
        Action.UPDATE,
        actor=signed_in.actor,
        object_type="staff",
        object_id=signed_in.staff.id,
        fields=list(fields),
    )


async def _end_others_if_chosen(
    db: AsyncSession, settings: Settings, signed_in: SignedIn, chosen: bool
) -> None:
    """After a factor is removed (a lost or stolen device, say): the person's other sessions end if they
    chose so, as after a password change (ASVS 7.4.3)."""
    if chosen and await auth.end_sessions(
        db, settings, signed_in.staff.id, keep=signed_in.session, refs=None
    ):
        await _own_account_changed(db, signed_in, "sessions")


async def _totp_password_refused(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, signed_in: SignedIn
) -> Template | None:
    """The profile with the error when the password typed for the authenticator app is refused."""
    form = await form_of(request)
    problem, status = await _reauthenticate(
        request, db, settings, signed_in, str(form.get("totp_password") or "")
    )
    if not problem:
        return None
    await db.commit()  # the counted failure stays
    return await _totp_refused(request, db, settings, FormErrors(totp_password=problem), status, form)


@post("/profile/totp/start")
async def totp_start(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """A new secret for an authenticator app, after the password again (ASVS 7.5.1); shown on the profile
    until the first code confirms it."""
    signed_in = current(request)
    if await _password_alone(db_session, signed_in):
        return await _totp_refused(
            request, db_session, settings, FormErrors(totp_password=_sign_in_again()), 403
        )
    if refused := await _totp_password_refused(request, db_session, settings, signed_in):
        return refused
    if not await totp.in_use(db_session, signed_in.staff.id):  # one in use stays until it is removed
        await totp.start(db_session, settings, signed_in.staff)
    return Redirect("/officer/profile#second-factor", status_code=303)


@post("/profile/totp/confirm")
async def totp_confirm(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """The first code from the app puts it in use; a password session becomes a two-factor one."""
    signed_in = current(request)
    if await _password_alone(db_session, signed_in):
        return await _totp_refused(request, db_session, settings, FormErrors(code=_sign_in_again()), 403)
    form = await form_of(request)
    if not await totp.verify(
        db_session, settings, signed_in.staff.id, str(form.get("code") or ""), confirming=True
    ):
        errors = FormErrors(
            code=_(
                "The code is not right. Check that the app was set up with the key shown here, and enter the code it shows now."
            )
        )
        return await _totp_refused(request, db_session, settings, errors, 422)
    await _factor_added(db_session, signed_in, "password+totp")
    await _own_account_changed(db_session, signed_in, "totp")
    return Redirect("/officer/profile?done=totp#second-factor", status_code=303)


@post("/profile/totp/remove")
async def totp_remove(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """Removing the app needs the password again; with a second factor required, the next password sign-in
    asks for a new one."""
    signed_in = current(request)
    if refused := await _totp_password_refused(request, db_session, settings, signed_in):
        return refused
    if await totp.remove(db_session, signed_in.staff.id):
        await _own_account_changed(db_session, signed_in, "totp")
    chosen = (await form_of(request)).get("totp_end_sessions") == "on"
    await _end_others_if_chosen(db_session, settings, signed_in, chosen)
    return Redirect("/officer/profile?done=totp-removed#second-factor", status_code=303)


@post("/profile/passkeys/options")
async def passkey_registration_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """A new passkey is a new way in: the password again first (ASVS 7.5.1)."""
    signed_in = current(request)
    if await _password_alone(db_session, signed_in):
        return Response({"error": _sign_in_again()}, status_code=403)
    try:
        body = json.loads(await request.body() or b"{}")
        password = str(body.get("password") or "") if isinstance(body, dict) else ""
    except ValueError:
        password = ""
    problem, status = await _reauthenticate(request, db_session, settings, signed_in, password)
    if problem:
        await db_session.commit()  # the counted failure stays
        return Response({"error": problem}, status_code=status)
    options = await passkeys.registration_options(db_session, settings, signed_in.staff)
    return Response(content=json.loads(options))


@post("/profile/passkeys")
async def passkey_register(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    signed_in = current(request)
    if await _password_alone(db_session, signed_in):
        return Response({"error": _sign_in_again()}, status_code=403)
    try:
        body = json.loads(await request.body())
        name = str(body.get("name") or "").strip() or _("Passkey")
        passkey = await passkeys.register(db_session, settings, signed_in.staff, body["credential"], name)
    except (passkeys.PasskeyError, ValueError, KeyError, TypeError):
        return Response({"error": _("The passkey could not be saved. Try again.")}, status_code=400)
    await _factor_added(db_session, signed_in, "password+passkey")  # verified with the authenticator
    await audit.record(
        db_session, Action.PASSKEY_ADDED, actor=signed_in.actor, object_type="passkey", object_id=passkey.id
    )
    return Response({"redirect": "/officer/profile?done=passkey#passkeys"})


@post("/profile/passkeys/remove")
async def passkey_remove(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """Removing a passkey changes how the person signs in: the password again first (ASVS 7.5.1). Only the
    person's own passkeys can be chosen; another's id answers as an unknown one."""
    signed_in = current(request)
    form = await form_of(request)
    chosen = str(form.get("passkey") or "")[:40]
    errors = FormErrors()
    try:
        passkey_id: uuid.UUID | None = uuid.UUID(chosen)
    except ValueError:
        passkey_id = None
    own = Passkey.id == passkey_id, Passkey.staff_id == signed_in.staff.id
    if passkey_id is None or await db_session.scalar(select(Passkey.id).where(*own)) is None:
        errors["passkey"] = _("Choose the passkey to remove.")
    problem, status = await _reauthenticate(
        request, db_session, settings, signed_in, str(form.get("passkey_password") or "")
    )
    if problem:
        errors["passkey_password"] = problem
    if errors:
        await db_session.commit()  # a counted failure stays
        return await _profile(
            request,
            db_session,
            settings,
            status_code=status if status != 200 else 422,
            passkey_errors=errors,
            passkey_form={"passkey": chosen, "passkey_end_sessions": form.get("passkey_end_sessions") or ""},
        )
    await db_session.execute(delete(Passkey).where(*own))
    await audit.record(
        db_session, Action.PASSKEY_REMOVED, actor=signed_in.actor, object_type="passkey", object_id=passkey_id
    )
    await _end_others_if_chosen(db_session, settings, signed_in, form.get("passkey_end_sessions") == "on")
    return Redirect("/officer/profile?done=passkey-removed#passkeys", status_code=303)


@post("/profile/recovery-codes")
async def recovery_codes_create(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    """Ten new recovery codes, after the password again (ASVS 6.5.x, 7.5.1), replacing every old one; shown
    once, on this answer only. They back up an authenticator app or a passkey, so one of those comes first."""
    signed_in = current(request)
    form = await form_of(request)
    errors = FormErrors()
    status = 422
    if await _password_alone(db_session, signed_in):
        errors["recovery_password"], status = _sign_in_again(), 403
    else:
        problem, status = await _reauthenticate(
            request, db_session, settings, signed_in, str(form.get("recovery_password") or "")
        )
        if problem:
            errors["recovery_password"] = problem
        elif not (await auth.second_steps(db_session, signed_in.staff.id)).factor:
            errors["recovery_password"], status = (
                _("Set up an authenticator app or add a passkey first: recovery codes are their back-up."),
                422,
            )
    if errors:
        await db_session.commit()  # a counted failure stays
        return await _profile(request, db_session, settings, status_code=status, recovery_errors=errors)
    codes = await recovery_codes.create(db_session, settings, signed_in.staff.id)
    await _own_account_changed(db_session, signed_in, "recovery_codes")
    return page(RECOVERY_CODES, codes=codes, staff=signed_in.staff, actor=signed_in.actor)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        dashboard,
        profile,
        change_password,
        end_sessions,
        totp_start,
        totp_confirm,
        totp_remove,
        passkey_registration_options,
        passkey_register,
        passkey_remove,
        recovery_codes_create,
    ],
)
