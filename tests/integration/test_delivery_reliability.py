"""Reliability of delivery with real worker processes (`kotopolku worker`) against one PostgreSQL
database and a local SMTP server (aiosmtpd on loopback), counted by Message-ID at the server.

- Two workers deliver 1,000 e-mails: every message arrives, each exactly once (FOR UPDATE SKIP LOCKED
  hands each row to one worker).
- A worker killed with SIGKILL in the middle of a batch, then restarted: every message is delivered and
  the outbox has 1,000 delivered rows. What the receiver can see twice is bounded and recognisable: only
  a message the dead worker had in flight when it died (the server accepted it, "delivered" was not yet
  committed) can be sent again after its lease expires, and it comes again with the same Message-ID, so
  the mailbox holds every message exactly once. Committing after each send keeps that window to the
  sends in flight; SMTP offers no way to close it completely (see app/jobs/worker.py).

PostgreSQL only: SQLite has one writer, so there is nothing to race.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.outbox import Channel, NotificationKind, OutboxAttempt, OutboxMessage, OutboxStatus
from app.settings import ROOT, Settings
from tests.integration.test_outbox import (  # noqa: F401 - fixtures
    Mailbox,
    mail_settings,
    mailbox,
    stakeholder_message,
    worker_env,
)

MESSAGES = 1000
CONCURRENCY = 10
LEASE_SECONDS = 3


@pytest.fixture(autouse=True)
def postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip(
            "Concurrent workers are tested on PostgreSQL (FOR UPDATE SKIP LOCKED); SQLite has one writer"
        )


def queue_emails(db: Session, scene_db: dict[str, Any]) -> list[int]:
    message = stakeholder_message(db, scene_db["organisation"], scene_db["officer"])
    now = utcnow()
    db.execute(
        insert(OutboxMessage),
        [
            {
                "kind": NotificationKind.STAKEHOLDER,
                "channel": Channel.EMAIL,
                "address": f"partner{i}@example.fi",
                "locale": "fi",
                "payload": {"stakeholder_message_id": str(message.id)},
                "next_attempt_at": now,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }
            for i in range(MESSAGES)
        ],
    )
    db.commit()
    return list(db.scalars(select(OutboxMessage.id)))


@pytest.fixture
def scene_db(factory: Any) -> dict[str, Any]:
    from app.db.organisation import Role

    organisation = factory.organisation()
    return {"organisation": organisation, "officer": factory.staff(organisation, Role.INTEGRATION_OFFICER)}


class Workers:
    """`kotopolku worker` processes; output goes to var/ for a failing test to show."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = ROOT / "var" / f"reliability-worker-{len(self.processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes.append((process, log))
        return process

    def stop_all(self) -> list[int | None]:
        codes = []
        for process, _log in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _log in self.processes:
            try:
                codes.append(process.wait(timeout=20))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        return codes

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for _p, log in self.processes
        )


@pytest.fixture
def workers(mail_settings: Settings, database_url: str) -> Iterator[Workers]:  # noqa: F811
    group = Workers(worker_env(mail_settings, database_url))
    yield group
    group.stop_all()


def delivered(db: Session) -> int:
    return int(db.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.DELIVERED)) or 0)


def wait_until(condition: Any, timeout: float, workers: Workers, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process, _log in workers.processes:
            if process.returncode is None and process.poll() not in (None, -signal.SIGKILL, 0):
                pytest.fail(f"a worker exited with {process.returncode}\n{workers.logs()}")
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}\n{workers.logs()}")


def expected_ids(ids: list[int]) -> set[str]:
    return {f"<outbox-{i}@kotopolku.testserver.local>" for i in ids}


def test_two_workers_deliver_a_thousand_emails_each_exactly_once(scene_db, db, mailbox, workers):  # noqa: F811
    ids = queue_emails(db, scene_db)
    options = ("--batch-size", "50", "--concurrency", str(CONCURRENCY))
    workers.start(*options)
    workers.start(*options)
    wait_until(lambda: delivered(db) == MESSAGES, 45, workers, "1,000 delivered rows")
    assert workers.stop_all() == [0, 0], workers.logs()  # SIGTERM: each finishes its batch and exits

    received = mailbox.message_ids()
    assert mailbox.count() == MESSAGES
    assert set(received) == expected_ids(ids)
    assert set(received.values()) == {1}  # none twice
    per_worker = dict(
        db.execute(
            select(OutboxAttempt.worker, func.count()).where(OutboxAttempt.ok).group_by(OutboxAttempt.worker)
        ).all()
    )
    assert len(per_worker) == 2 and sum(per_worker.values()) == MESSAGES, per_worker  # both took part
    assert db.scalar(select(func.count()).select_from(OutboxAttempt)) == MESSAGES  # one attempt each


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_only_what_it_had_in_flight(
    scene_db,
    db,
    mailbox,  # noqa: F811
    workers,
):
    ids = queue_emails(db, scene_db)
    mailbox.delay = 0.02  # the server takes 20 ms per message, so batches are still running when we kill
    options = ("--batch-size", "50", "--concurrency", str(CONCURRENCY), "--lease", str(LEASE_SECONDS))
    victim = workers.start(*options)
    workers.start(*options)
    victim_rows = select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_by.like(f"%-{victim.pid}-%")
    )

    def victim_mid_batch() -> bool:
        # Some of the victim's batch of 50 recorded, 20+ still to go: at 20 ms a message and 10 in
        # flight, sends are under way and the batch has at least 40 ms left when the signal lands.
        db.expire_all()
        return mailbox.count() >= 100 and 20 <= len(db.scalars(victim_rows).all()) <= 40

    wait_until(victim_mid_batch, 30, workers, "the first worker in the middle of a batch", every=0.005)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    db.expire_all()
    in_flight = set(db.scalars(victim_rows))
    assert in_flight, "the killed worker held no claimed rows: it was not in the middle of a batch"
    assert delivered(db) < MESSAGES

    workers.start(*options)  # the restart
    wait_until(lambda: delivered(db) == MESSAGES, 45, workers, "1,000 delivered rows after the restart")
    codes = workers.stop_all()
    assert codes[0] == -signal.SIGKILL and codes[1:] == [0, 0], workers.logs()

    received = mailbox.message_ids()
    assert set(received) == expected_ids(ids)  # every message delivered
    assert delivered(db) == MESSAGES
    repeated = {message_id for message_id, count in received.items() if count > 1}
    # Only messages the dead worker had in flight can come twice, and then with the same Message-ID.
    assert repeated <= expected_ids(sorted(in_flight)), (repeated, in_flight)
    assert len(repeated) <= CONCURRENCY and max(received.values()) <= 2
    assert len(received) == MESSAGES  # a mailbox that recognises Message-IDs holds each once
    print(f"\nkilled with {len(in_flight)} rows claimed; {len(repeated)} sent again with the same Message-ID")
