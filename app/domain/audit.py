"""Audit log (service 16): append-only and hash-chained, written in the transaction of the change.

Each event's hash covers its content and the previous event's hash in its chain, so editing or
deleting any row breaks its chain from that row on. An append first claims a chain head with
UPDATE … RETURNING, which orders that chain's appends on PostgreSQL and SQLite alike. There are several
chains (AUDIT_CHAINS): on PostgreSQL an append takes a head no other transaction holds (SKIP LOCKED), so
concurrent requests do not queue behind one lock.

A transaction's events are appended together when it commits: one claim of as many positions as there are
events, one insert, one head update, however many sections a page shows. Inside a savepoint an event is
appended at once, so that rolling the savepoint back takes its events with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Update, bindparam, func, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

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
        event.chain,
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
    # A non-staff actor acting for an organisation (a county's system client): its organisation and role.
    actor_organisation_id: uuid.UUID | None = None,
    actor_roles: Iterable[str] = (),
    client_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: object = None,
    fields: Iterable[str] = (),
    at: datetime | None = None,
) -> None:
    """Append one event. Field names only — never values — so the log holds no personal data.
    `at` is for anonymous events only: a time rounded to the day, so it cannot be linked to a person."""
    draft = AuditEvent(
        at=at or utcnow(),
        actor_id=actor.staff_id if actor else actor_id,
        actor_kind=actor_kind or ("staff" if actor else "anonymous"),
        actor_organisation_id=actor.organisation_id if actor else actor_organisation_id,
        actor_roles=",".join(sorted(actor.roles if actor else actor_roles)),
        action=str(action),
        client_id=client_id,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        fields=sorted(set(fields)),
    )
    if db.in_nested_transaction():
        await db.run_sync(_append, [draft])
    else:
        db.sync_session.info.setdefault(_PENDING, []).append(draft)


_PENDING = "audit_pending"


@orm_event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    if drafts := session.info.pop(_PENDING, None):
        _append(session, drafts)


@orm_event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended without committing (rolled back, or the session closed) records nothing."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _append(session: Session, drafts: list[AuditEvent]) -> None:
    """Chain the drafts, in order, onto one claimed chain head, and add them to the session."""
    connection = session.connection()
    claim = {"positions": len(drafts)}
    head = None
    if connection.dialect.name == "postgresql":
        head = connection.execute(_CLAIM_FREE_CHAIN, claim).one_or_none()
    if head is None:  # SQLite (one writer at a time anyway), or every chain busy: wait for one
        head = connection.execute(_CLAIM_ANY_CHAIN, claim).one()
    previous = head.hash
    for seq, draft in enumerate(drafts, start=head.seq - len(drafts) + 1):
        draft.chain, draft.seq, draft.prev_hash = head.id, seq, previous
        draft.hash = previous = _digest(draft)
    session.add_all(drafts)
    connection.execute(_MOVE_HEAD, {"chain": head.id, "hash": previous})


def _claim_chain(*, skip_locked: bool) -> Update:
    """UPDATE one chain head (seq + positions) and return it: a free one on PostgreSQL, any one elsewhere."""
    pick = select(AuditChainHead.id).order_by(func.random()).limit(1)
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    return (
        update(AuditChainHead)
        .where(AuditChainHead.id == pick.scalar_subquery())
        .values(seq=AuditChainHead.seq + bindparam("positions", type_=BigInteger))
        .returning(AuditChainHead.id, AuditChainHead.seq, AuditChainHead.hash)
    )


# Built once: every append runs one of these two.
_CLAIM_FREE_CHAIN = _claim_chain(skip_locked=True)
_CLAIM_ANY_CHAIN = _claim_chain(skip_locked=False)
_MOVE_HEAD = (
    update(AuditChainHead).where(AuditChainHead.id == bindparam("chain")).values(hash=bindparam("hash"))
)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_event_id: int | None = None  # the first row found wrong, when one exists
    chain: int | None = None
    seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(db: Session, batch: int = 5000) -> ChainReport:
    """Walk every chain in order; report the first row whose position, link or hash is wrong."""
    checked = 0
    for head in db.scalars(select(AuditChainHead).order_by(AuditChainHead.id)).all():
        expected_prev, expected_seq = GENESIS_HASH, 1
        for event in _iterate(db, head.id, batch):
            problem = None
            if event.seq != expected_seq:
                problem = f"position {expected_seq} is missing"
            elif event.prev_hash != expected_prev:
                problem = "link to the previous event does not match"
            elif _digest(event) != event.hash:
                problem = "content does not match its hash"
            if problem:
                return ChainReport(checked, event.id, head.id, event.seq, problem)
            expected_prev, expected_seq = event.hash, expected_seq + 1
            checked += 1
        if head.seq != expected_seq - 1 or head.hash != expected_prev:
            return ChainReport(
                checked, None, head.id, expected_seq, "events at the end of the chain were removed"
            )
    return ChainReport(checked)


def _iterate(db: Session, chain: int, batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain == chain, AuditEvent.seq > last)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.expunge_all()


# --- checkpoints: the chains' heads in a log kept apart from the database (ASVS 16.4.2) ----------------

checkpoint_log = logging.getLogger("kotopolku.audit")
CHECKPOINT = re.compile(r"audit checkpoint chain=(\d+) seq=(\d+) hash=([0-9a-f]{64})")


async def log_checkpoints(db: AsyncSession) -> int:
    """Each chain's head as one log line (the worker, hourly). With SYSLOG_URL the lines reach a log system
    the database's administrators do not control, and `kotopolku audit-verify --checkpoints` later finds
    a chain rewritten in the database even with every hash recomputed: it no longer holds the hash the log
    recorded. Returns how many lines were written."""
    heads = (
        await db.execute(
            select(AuditChainHead.id, AuditChainHead.seq, AuditChainHead.hash)
            .where(AuditChainHead.seq > 0)
            .order_by(AuditChainHead.id)
        )
    ).all()
    for chain, seq, digest in heads:
        checkpoint_log.info("audit checkpoint chain=%d seq=%d hash=%s", chain, seq, digest)
    return len(heads)


def verify_checkpoints(db: Session, lines: Iterable[str]) -> ChainReport:
    """Every checkpoint found in `lines` (a log export, in any syslog format) against the database: the
    event at that chain and position must still carry the recorded hash. `checked` counts checkpoints."""
    recorded: dict[tuple[int, int], str] = {}
    for line in lines:
        for match in CHECKPOINT.finditer(line):
            recorded[(int(match.group(1)), int(match.group(2)))] = match.group(3)
    checked = 0
    for (chain, seq), digest in sorted(recorded.items()):
        stored = db.scalar(select(AuditEvent.hash).where(AuditEvent.chain == chain, AuditEvent.seq == seq))
        if stored != digest:
            problem = (
                "the event the log recorded is gone"
                if stored is None
                else "the event's hash is not the one the log recorded"
            )
            return ChainReport(checked, None, chain, seq, problem)
        checked += 1
    return ChainReport(checked)
