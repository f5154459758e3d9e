"""Queueing notifications: one outbox row per channel the client accepts, written in the caller's
transaction (so a notification exists exactly when the event that causes it was committed).

Delivery is app/jobs/ (the worker). What a row carries is ids and names of things — the text is
rendered at delivery in the client's language; push and SMS texts never carry personal data.
The renderer (app/jobs/render.py) reads these payload keys: ``appointment_id`` for the appointment
kinds (booked, changed, cancelled, reminder: a reminder of a cancelled or past appointment is not sent),
``thread_id`` for new_message, ``stakeholder_message_id`` for stakeholder_message.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.client import Client
from app.db.outbox import (
    Channel,
    ContactPreference,
    NotificationKind,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
)
from app.i18n import DEFAULT_LOCALE, LOCAL_TIME, PUBLIC_LOCALES

DEFAULT_PREFERENCE = {Channel.PUSH: True, Channel.EMAIL: True, Channel.SMS: False}


def client_locale(client: Client) -> str:
    return client.preferred_locale if client.preferred_locale in PUBLIC_LOCALES else DEFAULT_LOCALE


def after_quiet_hours(when: datetime, quiet_from: time | None, quiet_until: time | None) -> datetime:
    """The moment a notification may go out: `when`, or the end of the client's quiet hours (local time)."""
    if quiet_from is None or quiet_until is None or quiet_from == quiet_until:
        return when
    local = when.astimezone(LOCAL_TIME)
    now = local.time()
    overnight = quiet_from > quiet_until  # e.g. 21:00–08:00
    quiet = (now >= quiet_from or now < quiet_until) if overnight else (quiet_from <= now < quiet_until)
    if not quiet:
        return when
    end = datetime.combine(local.date(), quiet_until, tzinfo=LOCAL_TIME)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(when.tzinfo)


async def channels_for(db: AsyncSession, client: Client) -> tuple[list[Channel], ContactPreference | None]:
    """The channels the client accepts and can be reached on."""
    preference = await db.get(ContactPreference, client.id)
    wanted = (
        {Channel.PUSH: preference.push, Channel.EMAIL: preference.email, Channel.SMS: preference.sms}
        if preference
        else DEFAULT_PREFERENCE
    )
    has_push = wanted[Channel.PUSH] and (
        await db.scalar(select(PushSubscription.id).where(PushSubscription.client_id == client.id).limit(1))
    )
    reachable = {
        Channel.PUSH: bool(has_push),
        Channel.EMAIL: bool(client.email),
        Channel.SMS: bool(client.phone),
    }
    return [c for c in Channel if wanted[c] and reachable[c]], preference


async def notify_client(
    db: AsyncSession,
    client: Client,
    kind: NotificationKind,
    payload: dict[str, Any],
    *,
    deliver_after: datetime | None = None,
    dedupe_key: str | None = None,
) -> list[OutboxMessage]:
    """Queue `kind` for the client on every channel they accept. `dedupe_key` (per event) makes a
    repeated call a no-op; reminders pass their time as `deliver_after`."""
    channels, preference = await channels_for(db, client)
    when = deliver_after or utcnow()
    if preference is not None:
        when = after_quiet_hours(when, preference.quiet_from, preference.quiet_until)
    rows = []
    for channel in channels:
        key = f"{dedupe_key}:{channel.value}" if dedupe_key else None
        if key and await db.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
            continue
        row = OutboxMessage(
            kind=kind,
            channel=channel,
            client_id=client.id,
            locale=client_locale(client),
            payload=payload,
            next_attempt_at=when,
            status=OutboxStatus.PENDING,
            dedupe_key=key,
        )
        db.add(row)
        rows.append(row)
    await db.flush()
    return rows


async def notify_address(
    db: AsyncSession,
    channel: Channel,
    address: str,
    kind: NotificationKind,
    payload: dict[str, Any],
    locale: str,
    *,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queue a notification to an address that is not a client's (e.g. a partner's e-mail)."""
    row = OutboxMessage(
        kind=kind, channel=channel, address=address, locale=locale, payload=payload, dedupe_key=dedupe_key
    )
    db.add(row)
    await db.flush()
    return row


async def cancel_pending(db: AsyncSession, dedupe_prefix: str) -> int:
    """Cancel notifications not yet sent whose key starts with the prefix (a moved appointment's
    reminders, say). Returns how many were cancelled."""
    escaped = dedupe_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = await db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key.like(escaped + "%", escape="\\"),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.CANCELLED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
