"""Deadline worklists: an officer's own (and the unassigned clients'), and the team lead's with counts."""

from __future__ import annotations

import uuid

from litestar import Router, get
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import audit, worklist
from app.domain.audit import Action
from app.domain.forms import today
from app.domain.policy import Actor, Permission
from app.web import page, requires, staff_guard


@get("/worklist", guards=[requires(Permission.WORKLIST, Permission.TEAM_WORKLIST)])
async def personal(db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    if not actor.has(Permission.WORKLIST):  # a team lead without clients of their own
        return Redirect("/officer/worklist/team", status_code=303)
    on = today()
    found = await worklist.personal(db_session, actor, on)
    # The list shows client names: one view event for the page, naming the kinds shown.
    await audit.record(
        db_session, Action.VIEW, actor=actor, object_type="worklist", fields=worklist.kinds_shown(found.items)
    )
    await db_session.commit()
    return page("officer/worklist/personal.html", actor=actor, worklist=found, today=on)


def _officer_filter(value: str | None) -> uuid.UUID | str | None:
    if not value:
        return None
    if value == worklist.UNASSIGNED:
        return worklist.UNASSIGNED
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFoundException from None


@get("/worklist/team", guards=[requires(Permission.TEAM_WORKLIST)])
async def team(db_session: AsyncSession, actor: Actor, officer: str | None = None) -> Template:
    chosen = _officer_filter(officer)
    on = today()
    found = await worklist.team(db_session, actor, on, chosen)
    if found is None:  # not a member of the actor's organisation
        raise NotFoundException
    await audit.record(
        db_session, Action.VIEW, actor=actor, object_type="worklist", fields=worklist.kinds_shown(found.items)
    )
    await db_session.commit()
    return page(
        "officer/worklist/team.html",
        actor=actor,
        team=found,
        chosen=str(chosen) if chosen else "",
        chosen_row=next((r for r in found.rows if chosen and str(r.officer_id) == str(chosen)), None),
        kinds=list(worklist.Kind),
        # The responsible officer's column, unless the items are one officer's (or no one's) already.
        names=None if chosen else {row.officer_id: row.name for row in found.rows if row.officer_id},
        today=on,
    )


router = Router(
    path="/officer",
    guards=[staff_guard],
    include_in_schema=False,
    route_handlers=[personal, team],
)
