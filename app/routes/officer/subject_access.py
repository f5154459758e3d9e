"""Subject-access export for officers (GDPR art. 15, service 17): everything held about a client as
one JSON file, or as a page to print and hand over — the same content the client sees and downloads in
the migrant app's "My data", so all give the same answer. Health information only for those who may
read it. The organisation responsible for the client answers, also after the relationship has ended
(the data is kept, read-only, for four years: §77)."""

from __future__ import annotations

import json
import uuid

from litestar import Response, Router, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client
from app.domain import assessments, audit, my_data
from app.domain import feedback as client_feedback
from app.domain.audit import Action
from app.domain.forms import today
from app.domain.policy import Actor, Permission, is_responsible, load_client, may_read_health
from app.routes.me.data import SECTIONS
from app.web import requires, staff_guard


async def _collect(
    db: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> tuple[Client, my_data.MyData, list[str]]:
    """The client's data as the client sees it, health left out unless the actor may read it; audited."""
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    if not is_responsible(actor, client):  # the organisation responsible for the client answers
        raise PermissionDeniedException
    data = await my_data.collect(db, client, i18n.get_locale())
    sections = list(SECTIONS)
    if not await may_read_health(db, actor, client):
        data.health = []
        sections.remove("health_information")
    await audit.record(
        db,
        Action.EXPORT,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=sections,
    )
    return client, data, sections


@get("/clients/{client_id:uuid}/subject-access.json", guards=[requires(Permission.CLIENT_WRITE)])
async def subject_access_export(
    db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Response[bytes]:
    _client, data, _sections = await _collect(db_session, actor, client_id)
    return Response(
        content=json.dumps(my_data.as_json(data), ensure_ascii=False, indent=2).encode(),
        media_type="application/json; charset=utf-8",
        headers={
            # No name in the file name: it is saved on a shared disk before it is handed over.
            "Content-Disposition": f'attachment; filename="kotopolku-subject-access-{today().isoformat()}.json"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@get("/clients/{client_id:uuid}/subject-access", guards=[requires(Permission.CLIENT_WRITE)])
async def subject_access_page(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template:
    """The same data as a readable page: a heading and a table per kind of record, printable on A4."""
    _client, data, sections = await _collect(db_session, actor, client_id)
    return Template(
        "officer/clients/subject_access.html",
        context={
            "actor": actor,
            "data": data,
            "show_health": "health_information" in sections,
            "assessment_label": assessments.field_name,
            "assessment_texts": my_data.ASSESSMENT_TEXTS,
            "rating_text": client_feedback.rating_text,
        },
    )


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[subject_access_export, subject_access_page],
)
