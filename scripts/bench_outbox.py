"""`make bench-outbox`: what the notification outbox costs, on PostgreSQL. Prints figures; not a test.

1. Delivery: MESSAGES e-mails ("new message" to clients, default 2000) are queued, then delivered by one
   and by two `kotopolku worker` processes to a local SMTP server on loopback (aiosmtpd's sink, its own
   process). Throughput is counted from the first to the last recorded attempt: in total and per worker.
2. Reminder scheduling: APPOINTMENTS future appointments (default 100000), one client each; the
   reminders (24 h and 2 h before) of SAMPLE of them (default 10000; --queue-all for every one) are
   queued through app.domain.outbox.notify_client with deliver_after and a dedupe key, as the appointments
   code does, 1000 appointments per transaction: rows/s and ms per call. The rest are written in bulk.
3. The due-row scan with those future reminders waiting: the worker's claim (nothing due) timed, and
   EXPLAIN ANALYZE of its query, which must be an index scan of ix_outbox_message_status_next_attempt_at.

Usage: .venv/bin/python scripts/bench_outbox.py [--messages 2000] [--appointments 100000] [--sample 10000]
Everything runs on loopback in the database kotopolku_bench_outbox (dropped and made again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.appointment import Appointment, AppointmentClient, AppointmentPurpose  # noqa: E402
from app.db.base import utcnow  # noqa: E402
from app.db.client import Client, KnownHow  # noqa: E402
from app.db.engine import make_engine  # noqa: E402
from app.db.organisation import Organisation, OrganisationType, Staff  # noqa: E402
from app.db.outbox import (  # noqa: E402
    Channel,
    NotificationKind,
    OutboxAttempt,
    OutboxMessage,
    OutboxStatus,
)
from app.domain.outbox import notify_client  # noqa: E402
from app.jobs.worker import Worker, WorkerOptions, due_rows  # noqa: E402
from app.settings import Settings, async_database_url  # noqa: E402

HOST = "127.0.0.1"  # loopback only
DB_NAME = "kotopolku_bench_outbox"
ADMIN_URL = f"postgresql://postgres@{HOST}:5432/postgres"
DB_URL = f"postgresql://postgres@{HOST}:5432/{DB_NAME}"
BATCH, CONCURRENCY = 100, 20
LEAD_HOURS = (24, 2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement)
        return cur.fetchall() if cur.description else []


def fresh_database() -> None:
    sql(ADMIN_URL, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    sql(ADMIN_URL, f"CREATE DATABASE {DB_NAME}")
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = async_database_url(DB_URL)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def settings(smtp_port: int) -> Settings:
    return Settings(
        database_url=DB_URL, smtp_host=HOST, smtp_port=smtp_port, public_url="http://localhost:8000"
    )


async def make_clients(db: AsyncSession, organisation: Organisation, count: int) -> list[uuid.UUID]:
    rows = [
        {
            "id": uuid.uuid4(),
            "organisation_id": organisation.id,
            "segment": 1,
            "known_on": date(2025, 1, 1),
            "known_how": KnownHow.CLIENT_CONTACT,
            "first_names": "Bench",
            "last_name": f"Client {i}",
            "search_text": f"bench client {i}",
            "email": f"client{i}@example.net",
            "preferred_locale": "fi",
            "version": 1,
        }
        for i in range(count)
    ]
    for start in range(0, count, 5000):
        await db.execute(insert(Client), rows[start : start + 5000])
    return [r["id"] for r in rows]


# --- 1. delivery ----------------------------------------------------------------------------------


def start_workers(count: int, smtp_port: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": DB_URL, "SMTP_HOST": HOST, "SMTP_PORT": str(smtp_port),
           "PUBLIC_URL": "http://localhost:8000"}  # fmt: skip
    log = (ROOT / "var" / "bench-outbox-workers.log").open("ab")
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "worker",
                "--batch-size",
                str(BATCH),
                "--concurrency",
                str(CONCURRENCY),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


async def delivery(workers: int, messages: int, smtp_port: int) -> None:
    engine = make_engine(settings(smtp_port))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as db, db.begin():
        await db.execute(text("TRUNCATE outbox_message, outbox_attempt, client, staff, organisation CASCADE"))
        organisation = Organisation(name="Bench", type=OrganisationType.MUNICIPALITY)
        db.add(organisation)
        await db.flush()
        client_ids = await make_clients(db, organisation, messages)
        now = utcnow()
        await db.execute(
            insert(OutboxMessage),
            [
                {
                    "kind": NotificationKind.NEW_MESSAGE,
                    "channel": Channel.EMAIL,
                    "client_id": cid,
                    "locale": "fi",
                    "payload": {},
                    "next_attempt_at": now,
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
                for cid in client_ids
            ],
        )
    processes = start_workers(workers, smtp_port)
    started = time.monotonic()
    try:
        while True:
            async with sessions() as db:
                done = await db.scalar(
                    select(func.count()).where(OutboxMessage.status == OutboxStatus.DELIVERED)
                )
            if done == messages:
                break
            if time.monotonic() - started > 600 or any(p.poll() is not None for p in processes):
                raise SystemExit("workers did not deliver everything; see var/bench-outbox-workers.log")
            await asyncio.sleep(0.2)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
    async with sessions() as db:
        first, last = (await db.execute(select(func.min(OutboxAttempt.at), func.max(OutboxAttempt.at)))).one()
        per_worker = (
            await db.execute(
                select(
                    OutboxAttempt.worker, func.count(), func.min(OutboxAttempt.at), func.max(OutboxAttempt.at)
                )
                .where(OutboxAttempt.ok)
                .group_by(OutboxAttempt.worker)
            )
        ).all()
        failed = await db.scalar(select(func.count()).where(OutboxAttempt.ok.is_(False)))
    await engine.dispose()
    seconds = (last - first).total_seconds()
    rates = ", ".join(f"{n / max((b - a).total_seconds(), 1e-9):.0f}" for _w, n, a, b in per_worker)
    print(
        f"  {workers} worker{'s' if workers > 1 else ''}: {messages} e-mails in {seconds:.2f} s = "
        f"{messages / seconds:.0f} messages/s in total, {messages / seconds / workers:.0f} per worker "
        f"(each worker's own: {rates} messages/s); failed attempts: {failed}"
    )


# --- 2. reminders and 3. the due-row scan ---------------------------------------------------------


async def reminders(appointments: int, sample_size: int, queue_all: bool, smtp_port: int) -> None:
    config = settings(smtp_port)
    engine = make_engine(config)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    clients_count = appointments
    async with sessions() as db, db.begin():
        await db.execute(text("TRUNCATE outbox_message, outbox_attempt, client, staff, organisation CASCADE"))
        organisation = Organisation(name="Bench", type=OrganisationType.MUNICIPALITY)
        db.add(organisation)
        await db.flush()
        officer = Staff(
            organisation_id=organisation.id, email="officer@example.fi", full_name="Bench Officer"
        )
        db.add(officer)
        await db.flush()
        client_ids = await make_clients(db, organisation, clients_count)
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        slots = []
        for i, cid in enumerate(client_ids):
            begins = start + timedelta(minutes=30 * (i % 5000), days=i // 5000)  # spread over months
            slots.append((uuid.uuid4(), cid, begins))
        for offset in range(0, len(slots), 5000):
            chunk = slots[offset : offset + 5000]
            await db.execute(
                insert(Appointment),
                [
                    {
                        "id": aid,
                        "organisation_id": organisation.id,
                        "purpose": AppointmentPurpose.GUIDANCE,
                        "starts_at": begins,
                        "ends_at": begins + timedelta(minutes=45),
                        "created_by_id": officer.id,
                        "version": 1,
                    }
                    for aid, _cid, begins in chunk
                ],
            )
            await db.execute(
                insert(AppointmentClient),
                [{"appointment_id": aid, "client_id": cid} for aid, cid, _b in chunk],
            )
    sample = slots if queue_all else slots[:sample_size]
    print(
        f"  {appointments} future appointments made; queueing the reminders ({', '.join(map(str, LEAD_HOURS))} h) "
        f"of {len(sample)} through notify_client"
    )
    started = time.monotonic()
    queued = 0
    per_transaction = 1000
    for offset in range(0, len(sample), per_transaction):
        async with sessions() as db, db.begin():
            chunk = sample[offset : offset + per_transaction]
            ids = [cid for _a, cid, _b in chunk]
            clients = {c.id: c for c in await db.scalars(select(Client).where(Client.id.in_(ids)))}
            for aid, cid, begins in chunk:
                for lead in LEAD_HOURS:
                    rows = await notify_client(
                        db,
                        clients[cid],
                        NotificationKind.APPOINTMENT_REMINDER,
                        {"appointment_id": str(aid)},
                        deliver_after=begins - timedelta(hours=lead),
                        dedupe_key=f"reminder:{aid}:{cid}:{lead}h",
                    )
                    queued += len(rows)
    seconds = time.monotonic() - started
    calls = len(sample) * len(LEAD_HOURS)
    print(
        f"  queued {queued} reminder rows ({calls} notify_client calls) in {seconds:.1f} s = "
        f"{queued / seconds:.0f} rows/s, {seconds / calls * 1000:.2f} ms per call; "
        f"all {appointments} appointments would take {seconds / calls * appointments * len(LEAD_HOURS):.0f} s"
    )
    rest = slots[len(sample) :]
    if rest:  # the same rows, written in bulk, so that the scan below sees all of them waiting
        async with sessions() as db, db.begin():
            for offset in range(0, len(rest), 10000):
                part = rest[offset : offset + 10000]
                await db.execute(
                    insert(OutboxMessage),
                    [
                        {
                            "kind": NotificationKind.APPOINTMENT_REMINDER,
                            "channel": Channel.EMAIL,
                            "client_id": cid,
                            "locale": "fi",
                            "payload": {"appointment_id": str(aid)},
                            "next_attempt_at": begins - timedelta(hours=lead),
                            "status": OutboxStatus.PENDING,
                            "attempts": 0,
                            "created_at": utcnow(),
                            "dedupe_key": f"reminder:{aid}:{cid}:{lead}h:email",
                        }
                        for aid, cid, begins in part
                        for lead in LEAD_HOURS
                    ],
                )
                queued += len(part) * len(LEAD_HOURS)
        print(
            f"  the reminders of the other {len(rest)} appointments written in bulk: {queued} future rows in all"
        )
    sql(DB_URL, "VACUUM ANALYZE outbox_message")

    # 3. What a worker pays to look for due rows while all those reminders wait in the future.
    async with Worker(config, options=WorkerOptions(batch_size=BATCH)) as worker:
        await worker.claim()  # warm up connections and caches
        rounds = 200
        began = time.perf_counter()
        for _ in range(rounds):
            assert await worker.claim() == []
        per_claim = (time.perf_counter() - began) / rounds * 1000
    print(f"  claim with {queued} future rows and none due: {per_claim:.2f} ms (a transaction, two queries)")
    compiled = due_rows(utcnow(), BATCH).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    async with engine.connect() as conn:
        plan = (await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))).scalars().all()
    print("  EXPLAIN ANALYZE of the due-row query:")
    for line in plan:
        print("    " + line)
    if not any("ix_outbox_message_status_next_attempt_at" in line for line in plan):
        print("  WARNING: the due-row query does not use ix_outbox_message_status_next_attempt_at")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument(
        "--sample", type=int, default=10_000, help="appointments queued through notify_client"
    )
    parser.add_argument("--queue-all", action="store_true", help="queue every reminder through notify_client")
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    print(
        f"Outbox benchmark on PostgreSQL ({DB_NAME}), {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}"
    )
    fresh_database()
    port = free_port()
    smtp = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1.0)
        print(
            f"1. Delivery to a local SMTP server (aiosmtpd sink, own process), batch {BATCH}, {CONCURRENCY} in flight:"
        )
        for workers in (1, 2):
            asyncio.run(delivery(workers, args.messages, port))
        print("2. Reminder scheduling and 3. the due-row scan:")
        asyncio.run(reminders(args.appointments, args.sample, args.queue_all, port))
    finally:
        smtp.send_signal(signal.SIGTERM)
        smtp.wait(timeout=10)


if __name__ == "__main__":
    main()
