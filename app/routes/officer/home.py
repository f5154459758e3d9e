"""Back-office front page and the officer's own profile: language, passkeys."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Router, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.auth import Passkey
from app.domain import audit, passkeys
from app.domain.audit import Action
from app.domain.policy import Actor
from app.i18n import _
from app.settings import Settings
from app.web import current, page, staff_guard


@get("/")
async def dashboard(actor: Actor) -> Template:
    return page("officer/home.html", actor=actor)


@get("/profile")
async def profile(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    staff = current(request).staff
    keys = (
        await db_session.scalars(
            select(Passkey).where(Passkey.staff_id == staff.id).order_by(Passkey.created_at)
        )
    ).all()
    return page("officer/profile.html", staff=staff, passkeys=keys, actor=current(request).actor)


@post("/profile/passkeys/options")
async def passkey_registration_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    options = await passkeys.registration_options(db_session, settings, current(request).staff)
    return Response(content=json.loads(options))


@post("/profile/passkeys")
async def passkey_register(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Response[Any]:
    signed_in = current(request)
    try:
        body = json.loads(await request.body())
        name = str(body.get("name") or "").strip() or _("Passkey")
        passkey = await passkeys.register(db_session, settings, signed_in.staff, body["credential"], name)
    except (passkeys.PasskeyError, ValueError, KeyError, TypeError):
        return Response({"error": _("The passkey could not be saved. Try again.")}, status_code=400)
    await audit.record(
        db_session, Action.PASSKEY_ADDED, actor=signed_in.actor, object_type="passkey", object_id=passkey.id
    )
    return Response({"redirect": "/officer/profile"})


@post("/profile/passkeys/{passkey_id:uuid}/delete")
async def passkey_delete(
    request: Request[Any, Any, Any], db_session: AsyncSession, passkey_id: uuid.UUID
) -> Redirect:
    signed_in = current(request)
    result = await db_session.execute(
        delete(Passkey).where(Passkey.id == passkey_id, Passkey.staff_id == signed_in.staff.id)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await audit.record(
            db_session,
            Action.PASSKEY_REMOVED,
            actor=signed_in.actor,
            object_type="passkey",
            object_id=passkey_id,
        )
    return Redirect("/officer/profile")


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[dashboard, profile, passkey_registration_options, passkey_register, passkey_delete],
)
