"""The officer's side of the migrant app's access (service 14): invitations (QR code and short code),
the client's passkeys, and the recovery path — revoke every passkey, then issue a new invitation.

Reading needs the client in the actor's scope (404 otherwise); changing needs the right to edit the
client (403 for a role that may only read). A new invitation's secrets are shown once, on the answer to
the POST that made it: they are not stored and cannot be shown again.
"""

from __future__ import annotations

import uuid

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client, ClientStatus
from app.domain import audit, client_passkeys, invitations
from app.domain.audit import Action
from app.domain.policy import Actor, Permission, load_client, may_write_client, of_responsible_organisation
from app.settings import Settings
from app.web import requires, staff_guard


async def _client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    return client


async def _writable(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await _client(db, actor, client_id)
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


def _access_url(client: Client) -> str:
    return f"/officer/clients/{client.id}/app-access"


def client_language(client: Client) -> str | None:
    """The language the printed instructions are also given in: the app language the client chose, or
    their mother tongue when the app speaks it."""
    for code in (client.preferred_locale, client.mother_tongue):
        if code and code.split("-")[0] in i18n.PUBLIC_LOCALES:
            return code.split("-")[0]
    return None


@get("/clients/{client_id:uuid}/app-access", guards=[requires(Permission.CLIENT_READ)])
async def access_page(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template:
    client = await _client(db_session, actor, client_id)
    if not of_responsible_organisation(actor, client):  # county staff reading through a cooperation
        raise NotFoundException
    rows = await invitations.for_client(db_session, client)
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="client_app_access",
        object_id=client.id,
        fields=["client_invitation", "client_passkey"],
    )
    return Template(
        "officer/clients/invitations.html",
        context={
            "client": client,
            "actor": actor,
            "may_write": may_write_client(actor, client) and client.status == ClientStatus.ACTIVE,
            "invitations": [(row, invitations.state_of(row)) for row in rows],
            "passkeys": await client_passkeys.passkeys_of(db_session, client.id),
            "lifetime_days": invitations.INVITATION_LIFETIME.days,
        },
    )


@post("/clients/{client_id:uuid}/invitations", guards=[requires(Permission.CLIENT_WRITE)])
async def create_invitation(
    db_session: AsyncSession, actor: Actor, settings: Settings, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable(db_session, actor, client_id)
    if client.status != ClientStatus.ACTIVE:
        return Redirect(_access_url(client), status_code=303)
    issued = await invitations.create(db_session, settings, actor, client)
    officer_locale = i18n.get_locale()
    languages = [officer_locale]
    other = client_language(client)
    if other and other != officer_locale:
        languages.insert(0, other)
    return Template(
        "officer/clients/invitation.html",
        context={
            "client": client,
            "actor": actor,
            "issued": issued,
            "qr": invitations.qr_svg(issued.url),
            "sign_in_url": f"{settings.public_url}/me/sign-in",
            "languages": languages,
            "officer_locale": officer_locale,
        },
        # The page answers a POST and holds the secrets: never into htmx's or the browser's history.
        headers={"HX-Push-Url": "false"},
        status_code=201,
    )


@post(
    "/clients/{client_id:uuid}/invitations/{invitation_id:uuid}/revoke",
    guards=[requires(Permission.CLIENT_WRITE)],
)
async def revoke_invitation(
    db_session: AsyncSession, actor: Actor, client_id: uuid.UUID, invitation_id: uuid.UUID
) -> Redirect:
    client = await _writable(db_session, actor, client_id)
    if not await invitations.revoke(db_session, actor, client, invitation_id):
        raise NotFoundException
    return Redirect(_access_url(client), status_code=303)


@post("/clients/{client_id:uuid}/passkeys/revoke-all", guards=[requires(Permission.CLIENT_WRITE)])
async def revoke_all_passkeys(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Redirect:
    client = await _writable(db_session, actor, client_id)
    await invitations.revoke_all_passkeys(db_session, actor, client)
    return Redirect(_access_url(client) + "#passkeys", status_code=303)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[access_page, create_invitation, revoke_invitation, revoke_all_passkeys],
)
