"""Migrant app sessions: long-lived (30 days), server-side, one row per signed-in phone.

The cookie (kp_me) is separate from the officers' session cookie so that a shared family computer
signed in as an officer never shows a client's pages or the other way round.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.client import Client, ClientStatus
from app.db.client_app import ClientSession
from app.domain import audit
from app.domain.audit import Action
from app.domain.auth import TOUCH_INTERVAL, session_ref, token_hash
from app.settings import Settings

CLIENT_SESSION_COOKIE = "kp_me"
CONFIRMATION_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class ClientSignedIn:
    client: Client
    session: ClientSession


async def start_session(
    db: AsyncSession, settings: Settings, client: Client, device: str | None = None
) -> str:
    """A new random session; the caller replaces any cookie the phone had (no fixation). Every session
    starts with a passkey (sign-in or enrolment), which counts as a confirmation for CONFIRMATION_LIFETIME."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        ClientSession(
            token_hash=token_hash(token),
            client_id=client.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=settings.client_session_days),
            device=device,
            confirmed_at=now,
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


# --- the client's own sessions, and confirming it is them (ASVS 7.5.1, 7.5.2) -------------------------


def confirmed_recently(session: ClientSession) -> bool:
    """Whether this phone confirmed with a passkey (or signed in) within CONFIRMATION_LIFETIME."""
    return session.confirmed_at is not None and utcnow() - session.confirmed_at < CONFIRMATION_LIFETIME


def mark_confirmed(session: ClientSession) -> None:
    session.confirmed_at = utcnow()


async def live_sessions(db: AsyncSession, client_id: uuid.UUID) -> Sequence[ClientSession]:
    """The client's signed-in phones, the most recently used first."""
    return (
        await db.scalars(
            select(ClientSession)
            .where(ClientSession.client_id == client_id, ClientSession.expires_at > utcnow())
            .order_by(ClientSession.last_seen_at.desc(), ClientSession.created_at.desc())
        )
    ).all()


async def end_other_sessions(
    db: AsyncSession,
    settings: Settings,
    client_id: uuid.UUID,
    keep: ClientSession,
    refs: Iterable[str] | None,
) -> int:
    """End the client's sessions named by refs (auth.session_ref; None: all), never `keep`. How many ended."""
    wanted = None if refs is None else set(refs)
    ended = [
        s.token_hash
        for s in await live_sessions(db, client_id)
        if s.token_hash != keep.token_hash and (wanted is None or session_ref(settings, s) in wanted)
    ]
    if ended:
        await db.execute(delete(ClientSession).where(ClientSession.token_hash.in_(ended)))
    return len(ended)


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
