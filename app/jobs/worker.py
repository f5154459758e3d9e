"""The outbox worker: claims due notifications, delivers them, records every attempt.

Claiming. A short transaction selects due rows — ``pending`` with ``next_attempt_at <= now``, or
``sending`` whose lease (``claimed_until``) has expired because the worker holding them died — and marks
them ``sending``, ``claimed_by`` this worker, ``claimed_until`` now + lease, then commits. On PostgreSQL
the SELECT is ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint batches without waiting
for each other; on SQLite (one writer) the engine's ``BEGIN IMMEDIATE`` makes the select-then-update
one atomic step.

Delivering happens outside any transaction, several rows at a time; a slow or failing channel only
holds its own rows. Right after each send a new short transaction records an ``OutboxAttempt``
(worker, ok, a detail naming the error class or status code — never text or addresses) and marks the
row ``delivered``, or schedules a retry (``attempts + 1``, ``next_attempt_at = now + base * 2**attempts``
with jitter, capped), or marks it ``failed`` after the last attempt or a permanent refusal (an unknown
mailbox, an expired push subscription, which is then deleted).

Exactly once, as far as it can be had. Delivery and the database cannot commit together, so the
guarantee is at-least-once delivery plus recognisable repeats: a worker that dies after the receiving
server accepted a message but before "delivered" was committed leaves the row ``sending``; when its
lease expires another worker sends it again. Every e-mail carries a Message-ID derived from the outbox
row (``<outbox-<id>@kotopolku.<host>>``), identical on every attempt, so the receiver can recognise the
repeat — mail systems and clients collapse messages with the same Message-ID. The window is one message
per concurrent send of the dead worker (committing right after each send keeps it that small). Push
and SMS have no such identifier: a crash in that window can show a notification twice.

Quiet hours are applied when a row is queued and checked again here (the client may have changed them):
a row that falls into quiet hours now is moved to their end without counting an attempt. A channel the
client has since turned off, or a reminder of an appointment that was cancelled or has passed, is
cancelled. The worker logs counts only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from typing import Any

import aiohttp
from litestar import Litestar
from sqlalchemy import Select, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import app.db.models  # noqa: F401 - every table, so foreign keys resolve in a worker-only process
from app.db.base import utcnow
from app.db.client import Client
from app.db.engine import make_engine
from app.db.organisation import Staff
from app.db.outbox import (
    Channel,
    ContactPreference,
    NotificationKind,
    OutboxAttempt,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
)
from app.domain import audit
from app.domain.outbox import after_quiet_hours
from app.jobs import daily
from app.jobs.channels import (
    DeliveryError,
    EmailSender,
    PushSender,
    SmsSender,
    Subscription,
    build_email,
    error_detail,
    sms_sender,
)
from app.jobs.render import (
    Moot,
    ShortText,
    recipient_locale,
    render_email,
    render_short,
    sms_text,
)
from app.settings import Settings

log = logging.getLogger("kotopolku.outbox")

URGENT = frozenset({NotificationKind.APPOINTMENT_REMINDER, NotificationKind.APPOINTMENT_CANCELLED})


@dataclass(frozen=True)
class WorkerOptions:
    batch_size: int = 50
    concurrency: int = 10  # sends in flight at once, per channel
    lease: timedelta = timedelta(minutes=5)  # well above send_timeout: a live worker never loses its rows
    max_attempts: int = 6
    base_delay: timedelta = timedelta(seconds=30)  # 30 s, 1 min, 2 min, 4 min, 8 min, then failed
    max_delay: timedelta = timedelta(hours=1)
    poll_interval: float = 2.0  # seconds between looks when nothing is due
    send_timeout: float = 30.0
    daily_interval: float = 3600.0  # seconds between checks for daily jobs (app/jobs/daily.py); 0: none


def retry_delay(attempts: int, options: WorkerOptions, rng: random.Random | None = None) -> timedelta:
    """Back-off before attempt `attempts + 1`: base · 2^attempts, capped, with jitter (75–100 %) so
    that rows failing together do not come back together."""
    delay: timedelta = min(options.max_delay, options.base_delay * (2**attempts))
    jitter: float = (rng or random).uniform(0.75, 1.0)
    return delay * jitter


@dataclass
class Counts:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    postponed: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, n)} {n}" for n in self.__dataclass_fields__)


@dataclass
class _Job:
    row_id: int
    channel: Channel
    kind: NotificationKind
    attempts: int
    reference: str  # "client <uuid>" or "outbox row <id>": what the log may name
    email: Message | None = None
    short: ShortText | None = None
    to: str | None = None
    subscriptions: list[tuple[uuid.UUID, Subscription]] = field(default_factory=list)


@dataclass
class _Result:
    ok: bool
    detail: str | None = None
    permanent: bool = False
    gone: list[uuid.UUID] = field(default_factory=list)


class _Postpone(Exception):
    def __init__(self, until: datetime) -> None:
        self.until = until


def due_rows(now: datetime, limit: int) -> Select[int]:
    """Pending rows whose time has come, oldest first: a range scan of
    ix_outbox_message_status_next_attempt_at, however many future reminders wait behind them."""
    return (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def expired_leases(now: datetime, limit: int) -> Select[int]:
    """Rows claimed by a worker whose lease ran out (it died, or hangs)."""
    return (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now)
        .order_by(OutboxMessage.claimed_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}-{os.getpid()}-{secrets.token_hex(3)}"


class Worker:
    """One worker: `run()` until stopped, `drain()` what is due now, or `run_batch()` once.

    Use as ``async with Worker(settings) as worker: ...`` (it opens and closes its connections)."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine | None = None,
        options: WorkerOptions | None = None,
        worker_id: str | None = None,
        sms: SmsSender | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or WorkerOptions()
        self.id = (worker_id or new_worker_id())[:100]
        self._own_engine = engine is None
        # hide_parameters: a database error logged by the worker never quotes a row's values.
        self.engine = engine or make_engine(settings, hide_parameters=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._sms = sms
        self._http: aiohttp.ClientSession | None = None
        self._email: EmailSender | None = None
        self._push: PushSender | None = None
        self._sms_sender: SmsSender | None = None

    # --- lifecycle ---

    async def __aenter__(self) -> Worker:
        self._http = aiohttp.ClientSession()
        self._email = EmailSender(
            self.settings, pool_size=self.options.concurrency, timeout=self.options.send_timeout
        )
        self._push = PushSender(self.settings, self._http, timeout=self.options.send_timeout)
        self._sms_sender = self._sms or sms_sender(self.settings, self._http)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._email is not None:
            await self._email.close()
        if self._http is not None:
            await self._http.close()
        if self._own_engine:
            await self.engine.dispose()

    # --- the loop ---

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a batch in progress is finished first."""
        log.info("outbox worker %s started", self.id)
        failures = 0
        daily_jobs: asyncio.Task[None] | None = None
        next_daily = 0.0
        while not stop.is_set():
            # Daily jobs beside the deliveries (a long one never holds up notifications).
            if self.options.daily_interval and time.monotonic() >= next_daily:
                next_daily = time.monotonic() + self.options.daily_interval
                if daily_jobs is None or daily_jobs.done():
                    daily_jobs = asyncio.create_task(self._daily_jobs(), name="daily-jobs")
            claimed = 0
            try:
                counts = await self.run_batch()
                claimed = counts.claimed
                failures = 0
                wait = self.options.poll_interval
            except Exception as exc:  # the database is away, say: try again later, never die
                failures += 1
                wait = min(60.0, 2.0**failures)
                log.warning("outbox worker: batch failed (%s); next try in %.0f s", type(exc).__name__, wait)
                log.debug("outbox worker batch failure", exc_info=True)
            if claimed >= self.options.batch_size:
                continue  # probably more due
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
        if daily_jobs is not None and not daily_jobs.done():
            daily_jobs.cancel()  # its finished batches are committed; the job continues tomorrow
            with suppress(asyncio.CancelledError):
                await daily_jobs
        log.info("outbox worker %s stopped", self.id)

    async def _daily_jobs(self) -> None:
        """The hourly check: the audit chains' heads to the log (kept off the host with SYSLOG_URL), then
        the daily jobs that are due."""
        try:
            async with self.sessions() as db:
                await audit.log_checkpoints(db)
            await daily.run_due(self.sessions, utcnow())
        except Exception as exc:  # the database is away, say: the next hourly check tries again
            log.warning("daily jobs: check failed (%s)", type(exc).__name__)

    async def drain(self) -> Counts:
        """Deliver everything due now (retries that come due meanwhile included), then return."""
        total = Counts()
        while True:
            counts = await self.run_batch()
            total += counts
            if counts.claimed == 0:
                return total

    async def run_batch(self) -> Counts:
        started = time.monotonic()
        ids = await self.claim()
        if not ids:
            return Counts()
        jobs, counts = await self._prepare(ids)
        counts.claimed = len(ids)
        # A slot pool per channel: a mail server that hangs holds only e-mail, never push or SMS.
        slots = {channel: asyncio.Semaphore(self.options.concurrency) for channel in Channel}

        async def deliver(job: _Job) -> str:
            async with slots[job.channel]:
                result = await self._send(job)
                return await self._record(job.row_id, job.attempts, result)

        outcomes = await asyncio.gather(*(deliver(job) for job in jobs), return_exceptions=True)
        unrecorded = 0
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                # Not recorded (the database went away): the row stays claimed until the lease ends.
                unrecorded += 1
            else:
                setattr(counts, outcome, getattr(counts, outcome) + 1)
        log.info("outbox batch: %s in %.2f s", counts, time.monotonic() - started)
        if unrecorded:
            log.warning(
                "outbox batch: %d results not recorded; their rows are retried after the lease", unrecorded
            )
        return counts

    # --- claiming ---

    async def claim(self) -> list[int]:
        """Take up to batch_size due rows for this worker (see the module docstring)."""
        now = utcnow()
        n = self.options.batch_size
        async with self.sessions() as db, db.begin():
            ids = list(await db.scalars(due_rows(now, n)))
            if len(ids) < n:  # rows of a worker that died: its lease has run out
                ids += await db.scalars(expired_leases(now, n - len(ids)))
            if ids:
                await db.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(
                        status=OutboxStatus.SENDING,
                        claimed_by=self.id,
                        claimed_until=now + self.options.lease,
                    )
                    .execution_options(synchronize_session=False)
                )
        return ids

    # --- preparing: who, where, what text ---

    async def _prepare(self, ids: list[int]) -> tuple[list[_Job], Counts]:
        now = utcnow()
        counts = Counts()
        jobs: list[_Job] = []
        settled: list[tuple[int, int, _Result | _Postpone | Moot]] = []
        async with self.sessions() as db:
            rows = (await db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))).all()
            client_ids = {r.client_id for r in rows if r.client_id}
            staff_ids = {r.staff_id for r in rows if r.staff_id}
            clients = await _by_id(db, Client, Client.id, client_ids)
            staff = await _by_id(db, Staff, Staff.id, staff_ids)
            preferences = await _by_id(db, ContactPreference, ContactPreference.client_id, client_ids)
            push_rows = [r for r in rows if r.channel == Channel.PUSH]
            subscriptions: list[PushSubscription] = []
            if push_rows:
                subscriptions = list(
                    await db.scalars(
                        select(PushSubscription).where(
                            or_(
                                PushSubscription.client_id.in_(
                                    [r.client_id for r in push_rows if r.client_id]
                                ),
                                PushSubscription.staff_id.in_([r.staff_id for r in push_rows if r.staff_id]),
                            )
                        )
                    )
                )
            for row in rows:
                try:
                    jobs.append(await self._job(db, row, clients, staff, preferences, subscriptions, now))
                except (_Postpone, Moot) as exc:
                    settled.append((row.id, row.attempts, exc))
                except DeliveryError as exc:  # nowhere to send it
                    settled.append((row.id, row.attempts, _Result(False, exc.detail, exc.permanent)))
                except Exception as exc:  # a rendering fault must not hold up the other rows
                    log.warning("outbox row %d could not be prepared (%s)", row.id, type(exc).__name__)
                    settled.append((row.id, row.attempts, _Result(False, error_detail(exc))))
        for row_id, attempts, outcome in settled:
            if isinstance(outcome, _Postpone):
                await self._postpone(row_id, outcome.until)
                counts.postponed += 1
            elif isinstance(outcome, Moot):
                await self._cancel(row_id, outcome.reason)
                counts.cancelled += 1
            else:
                name = await self._record(row_id, attempts, outcome)
                setattr(counts, name, getattr(counts, name) + 1)
        return jobs, counts

    async def _job(
        self,
        db: AsyncSession,
        row: OutboxMessage,
        clients: dict[Any, Client],
        staff: dict[Any, Staff],
        preferences: dict[Any, ContactPreference],
        subscriptions: list[PushSubscription],
        now: datetime,
    ) -> _Job:
        client = clients.get(row.client_id) if row.client_id else None
        person = staff.get(row.staff_id) if row.staff_id else None
        if row.client_id and client is None:
            raise Moot("recipient_gone")
        preference = preferences.get(client.id) if client is not None else None
        if preference is not None:
            if not getattr(preference, row.channel.value):
                raise Moot("channel_off")
            until = after_quiet_hours(now, preference.quiet_from, preference.quiet_until)
            if until > now:
                raise _Postpone(until)
        locale = recipient_locale(row, client)
        reference = f"client {client.id}" if client is not None else f"outbox row {row.id}"
        job = _Job(row.id, row.channel, row.kind, row.attempts, reference)
        if row.channel == Channel.EMAIL:
            to = row.address or (client.email if client else None) or (person.email if person else None)
            if not to:
                raise DeliveryError("no address", permanent=True)
            text = await render_email(db, row, locale, self.settings, now)
            job.email = build_email(row.id, self.settings, to, text, now)
        elif row.channel == Channel.SMS:
            job.to = row.address or (client.phone if client else None)
            if not job.to:
                raise DeliveryError("no phone number", permanent=True)
            job.short = await render_short(db, row, locale, now)
        else:
            job.subscriptions = [
                (s.id, Subscription(s.endpoint, s.p256dh, s.auth))
                for s in subscriptions
                if (client is not None and s.client_id == client.id)
                or (row.staff_id is not None and s.staff_id == row.staff_id)
            ]
            if not job.subscriptions:
                raise DeliveryError("no push subscription", permanent=True)
            job.short = await render_short(db, row, locale, now)
        return job

    # --- sending ---

    async def _send(self, job: _Job) -> _Result:
        try:
            async with asyncio.timeout(self.options.send_timeout):
                if job.channel == Channel.EMAIL:
                    assert self._email is not None
                    assert job.email is not None
                    await self._email.send(job.email)
                    return _Result(True)
                assert job.short is not None
                if job.channel == Channel.SMS:
                    assert self._sms_sender is not None
                    assert job.to is not None
                    await self._sms_sender.send(
                        job.to,
                        sms_text(job.short, self.settings),
                        reference=job.reference,
                        kind=job.kind.value,
                    )
                    return _Result(True)
                return await self._send_push(job, job.short)
        except DeliveryError as exc:
            return _Result(False, exc.detail, exc.permanent)
        except Exception as exc:
            return _Result(False, error_detail(exc))

    async def _send_push(self, job: _Job, short: ShortText) -> _Result:
        """To every browser the recipient subscribed: delivered when at least one accepted it."""
        assert self._push is not None
        data = {"title": short.title, "body": short.body, "url": short.path, "tag": job.kind.value}
        ttl = 12 * 3600 if job.kind == NotificationKind.APPOINTMENT_REMINDER else 24 * 3600
        urgency = "high" if job.kind in URGENT else "normal"
        results = await asyncio.gather(
            *(self._push.send(s, data, ttl=ttl, urgency=urgency) for _id, s in job.subscriptions),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        gone = [
            sub_id
            for (sub_id, _s), r in zip(job.subscriptions, results, strict=True)
            if isinstance(r, DeliveryError) and r.gone
        ]
        if len(errors) < len(results):
            detail = None if not errors else f"{len(results) - len(errors)} of {len(results)} browsers"
            return _Result(True, detail, gone=gone)
        first = errors[0]
        detail = first.detail if isinstance(first, DeliveryError) else error_detail(first)
        permanent = all(isinstance(e, DeliveryError) and e.permanent for e in errors)
        return _Result(False, detail, permanent, gone)

    # --- recording ---

    async def _record(self, row_id: int, attempts: int, result: _Result) -> str:
        """One attempt and its consequence, in a transaction of its own. Returns the Counts field."""
        now = utcnow()
        attempt = insert(OutboxAttempt).values(
            outbox_id=row_id, at=now, worker=self.id, ok=result.ok, detail=result.detail
        )
        # Delivered is the truth even if our lease ran out meanwhile.
        delivered = (
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.status.in_((OutboxStatus.SENDING, OutboxStatus.PENDING)),
            )
            .values(status=OutboxStatus.DELIVERED, delivered_at=now, claimed_until=None)
        )
        if result.ok and not result.gone and self.engine.dialect.name == "postgresql":
            # The common case in one round trip: a single statement (the attempt as a data-modifying
            # CTE) is atomic by itself, so it runs without BEGIN and COMMIT.
            async with self.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(delivered.add_cte(attempt.cte("attempt")))
            return "delivered"
        async with self.engine.begin() as conn:
            await conn.execute(attempt)
            if result.gone:
                await conn.execute(delete(PushSubscription).where(PushSubscription.id.in_(result.gone)))
            if result.ok:
                await conn.execute(delivered)
                return "delivered"
            tries = attempts + 1
            if result.permanent or tries >= self.options.max_attempts:
                values: dict[str, Any] = {"status": OutboxStatus.FAILED, "claimed_until": None}
                outcome = "failed"
            else:
                values = {
                    "status": OutboxStatus.PENDING,
                    "next_attempt_at": now + retry_delay(attempts, self.options),
                    "claimed_by": None,
                    "claimed_until": None,
                }
                outcome = "retrying"
            await conn.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.claimed_by == self.id,
                )
                .values(attempts=tries, **values)
            )
            return outcome

    async def _postpone(self, row_id: int, until: datetime) -> None:
        """Quiet hours now: back to the queue until they end; not an attempt."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == self.id)
                .values(
                    status=OutboxStatus.PENDING, next_attempt_at=until, claimed_by=None, claimed_until=None
                )
            )

    async def _cancel(self, row_id: int, reason: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(OutboxAttempt).values(
                    outbox_id=row_id, at=utcnow(), worker=self.id, ok=False, detail=f"cancelled {reason}"
                )
            )
            await conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == self.id)
                .values(status=OutboxStatus.CANCELLED, claimed_until=None)
            )


async def _by_id(db: AsyncSession, model: Any, column: Any, ids: set[Any]) -> dict[Any, Any]:
    if not ids:
        return {}
    return {getattr(r, column.key): r for r in await db.scalars(select(model).where(column.in_(list(ids))))}


@asynccontextmanager
async def in_process_worker(app: Litestar) -> AsyncIterator[None]:
    """The app's lifespan: a worker task next to the web server (`make run`; RUN_WORKER=0 turns it off)."""
    settings: Settings = app.state.settings
    stop = asyncio.Event()
    worker = Worker(settings)
    await worker.__aenter__()
    task = asyncio.create_task(worker.run(stop), name="outbox-worker")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=WorkerOptions().send_timeout + 5)
        except TimeoutError:
            log.warning("outbox worker did not stop in time; its rows are retried after the lease")
        await worker.close()
