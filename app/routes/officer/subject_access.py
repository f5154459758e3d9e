"""Subject-access export for officers (GDPR art. 15, service 17): everything held about a client as
one JSON file — the same content the client downloads from the migrant app's "My data", so both give
the same answer. Health information only for those who may read it."""

from __future__ import annotations

import json
import uuid

from litestar import Response, Router, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.domain import audit, my_data
from app.domain.audit import Action
from app.domain.forms import today
from app.domain.policy import Actor, Permission, load_client, may_read_health, may_write_client
from app.routes.me.data import SECTIONS
from app.web import requires, staff_guard


@get("/clients/{client_id:uuid}/subject-access.json", guards=[requires(Permission.CLIENT_WRITE)])
async def subject_access_export(
    db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Response[bytes]:
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):  # the organisation responsible for the client answers
        raise PermissionDeniedException
    data = await my_data.collect(db_session, client, i18n.get_locale())
    sections = list(SECTIONS)
    if not await may_read_health(db_session, actor, client):
        data.health = []
        sections.remove("health_information")
    await audit.record(
        db_session,
        Action.EXPORT,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=sections,
    )
    return Response(
        content=json.dumps(my_data.as_json(data), ensure_ascii=False, indent=2).encode(),
        media_type="application/json; charset=utf-8",
        headers={
            # No name in the file name: it is saved on a shared disk before it is handed over.
            "Content-Disposition": f'attachment; filename="kotopolku-subject-access-{today().isoformat()}.json"',
            "X-Content-Type-Options": "nosniff",
        },
    )


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[subject_access_export],
)
