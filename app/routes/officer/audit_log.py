"""Managers search the audit log (service 16)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from litestar import Router, get
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.audit import AuditEvent
from app.db.organisation import Organisation, Staff
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, parse_date
from app.domain.policy import Actor, Permission
from app.i18n import LOCAL_TIME
from app.web import requires, staff_guard

PAGE_SIZE = 50


@get("/audit", guards=[requires(Permission.AUDIT_SEARCH)])
async def audit_search(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    params = request.query_params
    errors = FormErrors()
    statement = (
        select(AuditEvent, Staff.full_name, Organisation.name)
        .outerjoin(Staff, Staff.id == AuditEvent.actor_id)
        .outerjoin(Organisation, Organisation.id == AuditEvent.actor_organisation_id)
    )
    # Managers see their own organisation's staff's events (and failed sign-ins on their accounts).
    statement = statement.where(
        (AuditEvent.actor_organisation_id == actor.organisation_id)
        | (Staff.organisation_id == actor.organisation_id)
    )
    filters: dict[str, Any] = {
        k: params.get(k, "") for k in ("staff", "action", "client", "since", "until", "before")
    }
    if filters["staff"]:
        # Typed text, not a pattern: % and _ match themselves (ASVS 1.2.9).
        statement = statement.where(Staff.full_name.icontains(filters["staff"][:100], autoescape=True))
    if filters["action"] in set(Action):
        statement = statement.where(AuditEvent.action == filters["action"])
    if filters["client"]:
        try:
            statement = statement.where(AuditEvent.client_id == uuid.UUID(filters["client"]))
        except ValueError:
            errors["client"] = "invalid"
    for name, op in (("since", "ge"), ("until", "lt")):
        if filters[name]:
            day = parse_date(filters[name])
            if day is None:
                errors[name] = "invalid"
                continue
            moment = datetime.combine(day + timedelta(days=1 if op == "lt" else 0), time(), LOCAL_TIME)
            statement = statement.where(AuditEvent.at >= moment if op == "ge" else AuditEvent.at < moment)
    if filters["before"].isdigit():
        statement = statement.where(AuditEvent.id < int(filters["before"]))
    rows = (await db_session.execute(statement.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1))).all()
    await audit.record(
        db_session,
        Action.SEARCH,
        actor=actor,
        object_type="audit_event",
        fields=[k for k, v in filters.items() if v],
    )
    return Template(
        "officer/audit.html",
        context={
            "rows": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "filters": filters,
            "errors": errors,
            "actions": list(Action),
            "actor": actor,
        },
    )


router = Router(path="/officer", guards=[staff_guard], include_in_schema=False, route_handlers=[audit_search])
