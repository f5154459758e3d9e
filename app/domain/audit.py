"""Audit log (service 16): append-only and hash-chained, written in the transaction of the change.

Each event's hash covers its content and the previous event's hash, so editing or deleting any row
breaks the chain from that row on. Appends take the single chain-head row's lock first
(UPDATE … RETURNING), which orders them on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db.audit import AuditChainHead, AuditEvent
from app.db.base import utcnow
from app.domain.policy import Actor

GENESIS_HASH = "0" * 64


class Action(StrEnum):
    VIEW = "view"
    SEARCH = "search"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"


def _digest(event: AuditEvent) -> str:
    body = [
        event.seq,
        event.at.isoformat(),
        str(event.actor_id) if event.actor_id else None,
        event.actor_kind,
        str(event.actor_organisation_id) if event.actor_organisation_id else None,
        event.actor_roles,
        event.action,
        str(event.client_id) if event.client_id else None,
        event.object_type,
        event.object_id,
        sorted(event.fields or []),
        event.prev_hash,
    ]
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


async def record(
    db: AsyncSession,
    action: Action | str,
    *,
    actor: Actor | None = None,
    actor_kind: str | None = None,
    actor_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: object = None,
    fields: Iterable[str] = (),
) -> None:
    """Append one event. Field names only — never values — so the log holds no personal data."""
    head = (
        await db.execute(
            update(AuditChainHead)
            .where(AuditChainHead.id == 1)
            .values(seq=AuditChainHead.seq + 1)
            .returning(AuditChainHead.seq, AuditChainHead.hash)
        )
    ).one()
    event = AuditEvent(
        seq=head.seq,
        at=utcnow(),
        actor_id=actor.staff_id if actor else actor_id,
        actor_kind=actor_kind or ("staff" if actor else "anonymous"),
        actor_organisation_id=actor.organisation_id if actor else None,
        actor_roles=",".join(sorted(actor.roles)) if actor else "",
        action=str(action),
        client_id=client_id,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        fields=sorted(set(fields)),
        prev_hash=head.hash,
    )
    event.hash = _digest(event)
    db.add(event)
    await db.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(hash=event.hash))


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_seq: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(db: Session, batch: int = 5000) -> ChainReport:
    """Walk the chain in order; report the first row whose position, link or hash is wrong."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in _iterate(db, batch):
        if event.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"row {expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.seq, "link to the previous row does not match")
        if _digest(event) != event.hash:
            return ChainReport(checked, event.seq, "content does not match its hash")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    head = db.get(AuditChainHead, 1)
    if head is None or head.seq != checked or head.hash != expected_prev:
        return ChainReport(checked, checked + 1, "rows after this one were removed")
    return ChainReport(checked, None, None)


def _iterate(db: Session, batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = db.scalars(_page(last, batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.expunge_all()


def _page(after: int, batch: int) -> Select[AuditEvent]:
    return select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch)
