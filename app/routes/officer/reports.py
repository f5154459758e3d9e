"""Managers' dashboards (service 13): the page with its charts and tables, the CSV export of one panel or
of the whole dashboard, and the national statistics export. Own organisation only; the filters travel
in a GET form (dates, segment and a staff id: no personal data of clients)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import audit, reports, worklist
from app.domain.audit import Action
from app.domain.forms import today
from app.domain.policy import Actor, Permission
from app.web import page, requires, staff_guard

NATIONAL_YEARS = 10  # years offered for the national export, counting back from the current one


async def _read(db: AsyncSession, actor: Actor, request: Request[Any, Any, Any]) -> tuple[Any, ...]:
    """The filters, errors and typed values, and the organisation's officers for the team filter. An
    officer id that is malformed or not of the actor's organisation is not found (404)."""
    params = {k: request.query_params.get(k) for k in ("from", "to", "segment", "officer")}
    try:
        filters, errors, form = reports.read_filters(params, today())
    except ValueError:
        raise NotFoundException from None
    officers = await worklist.team_officers(db, actor, [filters.officer_id] if filters.officer_id else [])
    if filters.officer_id and all(o.id != filters.officer_id for o in officers):
        raise NotFoundException
    return filters, errors, form, officers


def _export_headers(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"}


async def _render(db: AsyncSession, actor: Actor, read: tuple[Any, ...]) -> Template:
    filters, errors, form, officers = read
    board = None if errors else await reports.dashboard(db, actor.organisation_id, filters)
    query = urlencode(filters.query())
    on = today()
    return page(
        "officer/reports/index.html",
        status_code=422 if errors else 200,
        actor=actor,
        board=board,
        errors=errors,
        form=form,
        officers=officers,
        query=query,
        chart=reports.chart,
        display=reports.display,
        years=list(range(on.year, on.year - NATIONAL_YEARS, -1)),
        last_year=on.year - 1,
    )


@get("/reports", guards=[requires(Permission.REPORTS)])
async def dashboard_page(db_session: AsyncSession, actor: Actor, request: Request[Any, Any, Any]) -> Template:
    return await _render(db_session, actor, await _read(db_session, actor, request))


@get("/reports/export.csv", guards=[requires(Permission.REPORTS)])
async def dashboard_export(
    db_session: AsyncSession, actor: Actor, request: Request[Any, Any, Any], panel: str | None = None
) -> Response[bytes] | Template:
    read = await _read(db_session, actor, request)
    filters, errors, _form, officers = read
    if panel and panel not in reports.PANELS:
        raise NotFoundException
    if errors:  # the form again with its errors, nothing exported
        return await _render(db_session, actor, read)
    only = [panel] if panel else list(reports.PANELS)
    board = await reports.dashboard(db_session, actor.organisation_id, filters, only)
    content = reports.dashboard_csv(board, reports.officer_name(officers, filters.officer_id))
    # Aggregates only: the event names the panels and their breakdowns, never a client.
    await audit.record(
        db_session,
        Action.EXPORT,
        actor=actor,
        object_type="report",
        object_id=panel or "dashboard",
        fields=[f"{p.key}.{b.key}" for p in board.panels for b in p.breakdowns],
    )
    name = f"kotopolku-{panel or 'dashboard'}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    return Response(content=content, media_type="text/csv; charset=utf-8", headers=_export_headers(name))


@get("/reports/national.csv", guards=[requires(Permission.REPORTS)])
async def national_export(db_session: AsyncSession, actor: Actor, year: int | None = None) -> Response[bytes]:
    on = today()
    chosen = year if year is not None else on.year - 1
    if not 2000 <= chosen <= on.year:
        raise NotFoundException
    content = await reports.national_csv(db_session, actor.organisation_id, chosen, on)
    await audit.record(
        db_session,
        Action.EXPORT,
        actor=actor,
        object_type="report",
        object_id=f"national-v{reports.NATIONAL_VERSION}-{chosen}",
        fields=list(reports.NATIONAL_MEASURES),
    )
    name = f"kotopolku-national-statistics-v{reports.NATIONAL_VERSION}-{chosen}.csv"
    return Response(content=content, media_type="text/csv; charset=utf-8", headers=_export_headers(name))


router = Router(
    path="/officer",
    guards=[staff_guard],
    include_in_schema=False,
    route_handlers=[dashboard_page, dashboard_export, national_export],
)
