"""Migrant app: home and my plan (see app/routes/me/__init__.py).

Both pages read only the signed-in client's own records (app.domain.my_plan starts from the client) and
audit the view with actor_kind "client".
"""

from __future__ import annotations

from typing import Any

from litestar import Router, get
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.domain import appointments, audit, my_plan
from app.domain.audit import Action
from app.domain.plan_translations import SOURCE_LANGUAGE
from app.web import client_guard, current_client, page


def _common(locale: str) -> dict[str, Any]:
    # `reader`: the interface language, which the page's own sentences are in (their listen buttons).
    return {"source_language": SOURCE_LANGUAGE, "reader": locale, "when": appointments.when}


@get("/me/", name="me_home", guards=[client_guard])
async def home(request: HTMXRequest, db_session: AsyncSession) -> Template:
    client = current_client(request).client
    locale = i18n.get_locale()
    found = await my_plan.home(db_session, client, locale)
    await audit.record(
        db_session,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=["appointments", "messages", "plan"],
    )
    return page("me/home.html", me=client, section="home", home=found, **_common(locale))


@get("/me/plan", name="me_plan", guards=[client_guard])
async def plan(request: HTMXRequest, db_session: AsyncSession) -> Template:
    client = current_client(request).client
    locale = i18n.get_locale()
    found = await my_plan.load(db_session, client, locale)
    shown = found.view.plan if found.view else None
    await audit.record(
        db_session,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="integration_plan",
        object_id=shown.id if shown else None,
        fields=["plan", "goals", "services", "pauses", "translations"] if shown else ["plan"],
    )
    return page("me/plan.html", me=client, section="plan", my=found, **_common(locale))


router = Router(path="/", route_handlers=[home, plan])
