"""A server process killed with SIGKILL during a burst of writes leaves no partial records.

The real server (`kotopolku serve`) runs against the suite's database (a SQLite file in WAL mode, or
PostgreSQL). Twelve concurrent writers register clients through the back-office form; each client is a
multi-row record written in one transaction: the client row, one to three `client_language` rows and
its `create` audit event (which also moves an audit chain head). The number of languages is written into
the client row itself, so every stored parent says how many children it must have.

In the middle of the burst the server gets SIGKILL, at a moment when one of its write transactions is
seen open (PostgreSQL: pg_stat_activity; SQLite: the write lock is taken). Two rounds of burst and
kill, each with a server of its own, then:

- every client the server acknowledged (303) is stored: a commit the client saw is durable;
- every stored client has exactly its languages and exactly one `create` audit event;
- no child without its parent (languages, create events of clients that do not exist);
- every audit chain verifies, so no event of a killed transaction half-survived.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.client import Client, ClientLanguage
from app.db.organisation import Role
from app.domain.audit import verify_chain
from tests.app_server import AppServer, form, sign_in_over_http
from tests.conftest import PASSWORD

WRITERS = 12
ROUNDS = 2
LANGUAGES = ["fi", "sv", "en"]
ACKNOWLEDGED_BEFORE_KILL = 25  # writes acknowledged in a round before the kill is armed


@dataclass
class Round:
    acknowledged: set[uuid.UUID] = field(default_factory=set)
    in_flight: int = 0
    in_flight_at_kill: int = 0
    open_transactions_at_kill: int | None = None
    failed: int = 0
    start_seconds: float = 0.0
    burst_seconds: float = 0.0


def open_transactions(database_url: str) -> int:
    """Write transactions of the server open right now: on PostgreSQL counted in pg_stat_activity; on
    SQLite (one writer) 1 when the write lock is taken (our BEGIN IMMEDIATE fails at once), else 0."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return 0
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            return 1
        finally:
            conn.close()
    with psycopg.connect(database_url, autocommit=True) as pg:
        row = pg.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL"
        ).fetchone()
    return int(row[0]) if row else 0


async def burst(server: AppServer, cookies: httpx.Cookies, number: int, database_url: str) -> Round:
    result = Round()
    stop = asyncio.Event()
    armed = asyncio.Event()  # enough writes acknowledged: the burst is in full swing

    async def writer(w: int, http: httpx.AsyncClient) -> None:
        n = 0
        while not stop.is_set():
            count = n % len(LANGUAGES) + 1
            data = {
                "segment": "1",
                "known_on": "2025-06-01",
                "known_how": "client_contact",
                "first_names": "Crash",
                "last_name": f"R{number}W{w}N{n}",
                "municipality_of_residence": f"languages={count}",  # what a complete record holds
                "confirm_new": "on",
                "language": LANGUAGES[:count],
                "language_level": ["A1"] * count,
            }
            n += 1
            result.in_flight += 1
            try:
                response = await http.post("/officer/clients", data=form(http, data))
            except httpx.TransportError:
                result.failed += 1
                return  # the server is gone
            finally:
                result.in_flight -= 1
            assert response.status_code == 303, response.text[:300]
            result.acknowledged.add(uuid.UUID(response.headers["location"].rsplit("/", 1)[1]))
            if len(result.acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                armed.set()

    async def killer() -> None:
        await armed.wait()
        deadline = time.monotonic() + 5  # wait for a moment with a write transaction open
        while time.monotonic() < deadline:
            seen = await asyncio.to_thread(open_transactions, database_url)
            if seen:
                result.open_transactions_at_kill = seen
                break
        result.in_flight_at_kill = result.in_flight
        assert server.kill() == -9
        stop.set()

    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=30, limits=limits) as http:
        writers = [asyncio.create_task(writer(w, http)) for w in range(WRITERS)]
        await asyncio.wait_for(killer(), timeout=60)
        await asyncio.wait_for(asyncio.gather(*writers), timeout=30)
    return result


def test_a_server_killed_during_a_burst_of_writes_leaves_no_partial_records(factory, db, database_url):
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    # One server per round, started side by side (starting takes seconds); each is killed in its round,
    # so the next round's server goes on writing to the database the killed one left behind.
    servers = [AppServer(f"crash-server-{n}", database_url, RUN_WORKER="0") for n in range(ROUNDS)]
    rounds: list[Round] = []
    started = time.monotonic()
    try:
        for server in servers:
            server.launch()
        for number, server in enumerate(servers):
            begun = time.monotonic()
            server.wait_ready()
            ready = time.monotonic()
            with httpx.Client(base_url=server.url, timeout=30) as http:
                sign_in_over_http(http, officer.email, PASSWORD)
                cookies = http.cookies
            db.rollback()  # no transaction of ours open while we watch the server's
            rounds.append(asyncio.run(burst(server, cookies, number, database_url)))
            rounds[-1].start_seconds, rounds[-1].burst_seconds = ready - begun, time.monotonic() - ready
    finally:
        for server in servers:
            server.stop()
    seconds = time.monotonic() - started

    db.expire_all()
    stored = {
        row.id: row
        for row in db.execute(
            select(Client.id, Client.municipality_of_residence).where(Client.first_names == "Crash")
        )
    }
    languages = Counter(
        db.scalars(select(ClientLanguage.client_id).where(ClientLanguage.client_id.in_(stored))).all()
    )
    created = Counter(
        db.scalars(
            select(AuditEvent.client_id).where(
                AuditEvent.action == "create", AuditEvent.object_type == "client"
            )
        ).all()
    )
    acknowledged = set().union(*(r.acknowledged for r in rounds))
    # Durable: everything acknowledged is there.
    assert acknowledged <= stored.keys(), len(acknowledged - stored.keys())
    # Complete: each stored client has all its languages and its audit event.
    for client_id, row in stored.items():
        assert languages[client_id] == int(row.municipality_of_residence.split("=")[1]), client_id
        assert created[client_id] == 1, client_id
    # No orphans: no languages or create events without their client.
    assert db.scalar(select(func.count()).select_from(ClientLanguage)) == sum(languages.values())
    assert set(created) == set(stored)
    with Session(db.get_bind()) as fresh:
        report = verify_chain(fresh)
    assert report.ok, report

    assert all(r.failed > 0 for r in rounds)  # the kill really interrupted requests
    assert all(r.open_transactions_at_kill for r in rounds)  # ... with a write transaction open
    unacknowledged = len(stored.keys() - acknowledged)
    print(
        f"\n{ROUNDS} kills in {seconds:.1f} s: {len(acknowledged)} acknowledged writes, all stored; "
        f"{unacknowledged} committed but unanswered; requests in flight at each kill "
        f"{[r.in_flight_at_kill for r in rounds]}, open transactions seen "
        f"{[r.open_transactions_at_kill for r in rounds]}; {report.checked} audit events verified; "
        f"waited for the servers {[round(r.start_seconds, 1) for r in rounds]} s, burst {[round(r.burst_seconds, 1) for r in rounds]} s"
    )
