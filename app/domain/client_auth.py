"""Migrant app sessions: long-lived (30 days), server-side, one row per signed-in phone.

The cookie (kp_me) is separate from the officers' session cookie so that a shared family computer
signed in as an officer never shows a client's pages or the other way round.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.client import Client, ClientStatus
from app.db.client_app import ClientSession
from app.domain import audit
from app.domain.audit import Action
from app.domain.auth import TOUCH_INTERVAL, token_hash
from app.settings import Settings

CLIENT_SESSION_COOKIE = "kp_me"


@dataclass(frozen=True)
class ClientSignedIn:
    client: Client
    session: ClientSession


async def start_session(db: AsyncSession, settings: Settings, client: Client) -> str:
    """A new random session; the caller replaces any cookie the phone had (no fixation)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        ClientSession(
            token_hash=token_hash(token),
            client_id=client.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=settings.client_session_days),
        )
    )
    await db.flush()
    return token


async def resume_session(db: AsyncSession, token: str | None) -> ClientSignedIn | None:
    if not token:
        return None
    row = (
        await db.execute(
            select(ClientSession, Client)
            .join(Client, Client.id == ClientSession.client_id)
            .where(ClientSession.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        return None
    session, client = row
    now = utcnow()
    # An ended client relationship closes the app too (the data stays readable to officers only).
    if now >= session.expires_at or client.status == ClientStatus.ENDED:
        await db.delete(session)
        return None
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        session.last_seen_at = now
    return ClientSignedIn(client=client, session=session)


async def end_session(db: AsyncSession, token: str | None) -> None:
    if token:
        await db.execute(delete(ClientSession).where(ClientSession.token_hash == token_hash(token)))


async def end_all_sessions(db: AsyncSession, client_id: uuid.UUID) -> None:
    await db.execute(delete(ClientSession).where(ClientSession.client_id == client_id))


async def choose_language(db: AsyncSession, client: Client, code: str) -> None:
    """The client's interface language, kept on the profile (enrolment and settings alike); audited."""
    if client.preferred_locale == code:
        return
    client.preferred_locale = code
    await audit.record(
        db,
        Action.UPDATE,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=["preferred_locale"],
    )
