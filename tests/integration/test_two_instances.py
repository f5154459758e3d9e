"""Scale-out (docs/DEPLOY.md): two app instances — real `kotopolku serve` processes on two loopback ports,
each with its in-process outbox worker — against one PostgreSQL database, as behind a load balancer.

- A session started through one instance is valid on the other (sessions are database rows, CSRF tokens
  are signed with the shared SECRET_KEY), and signing out through either ends it on both.
- Messages to clients written through both instances are e-mailed by the workers of both, each exactly
  once: the local SMTP server (aiosmtpd) receives one e-mail per notification, and every delivery was
  made by one of the two instances.

PostgreSQL only: production scale-out runs on PostgreSQL (SQLite has one writer and lives on one machine);
the suite's PostgreSQL run covers this.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.organisation import Role
from app.db.outbox import OutboxAttempt, OutboxMessage, OutboxStatus
from tests.app_server import AppServer, form, free_port, sign_in_over_http
from tests.conftest import PASSWORD, Factory
from tests.integration.test_outbox import Mailbox

MESSAGES = 30


SKIP_REASON = (
    "Several app instances share one PostgreSQL database in production; the suite's PostgreSQL run covers "
    "this (SQLite has one writer on one machine)"
)


@pytest.fixture(autouse=True)
def postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="module")
def smtp() -> Iterator[Mailbox]:
    """One local SMTP server for the module's two instances (emptied by each test that reads it)."""
    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def instances(database_url: str, smtp: Mailbox) -> Iterator[tuple[AppServer, AppServer]]:
    if not database_url.startswith("postgres"):
        pytest.skip(SKIP_REASON)
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "RUN_WORKER": "1"}
    a = AppServer("instance-a", database_url, **env)
    b = AppServer("instance-b", database_url, **env)
    try:
        a.launch()
        b.launch()
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        codes = [a.stop(), b.stop()]
    # SIGTERM: each finishes its batch and stops (uvicorn ends by re-raising the signal it handled).
    assert set(codes) <= {0, -signal.SIGTERM}, (codes, a.logs() + b.logs())
    assert all("Application shutdown complete" in s.logs() for s in (a, b))


def signed_in(http: httpx.Client) -> bool:
    response = http.get("/officer/", follow_redirects=False)
    assert response.status_code in (200, 302, 303, 401), response.status_code
    return response.status_code == 200


def test_a_session_from_one_instance_is_valid_on_the_other(instances, factory: Factory):
    a, b = instances
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    record = factory.client(organisation, email="asiakas@example.fi", responsible_officer_id=officer.id)
    with httpx.Client(base_url=a.url, timeout=30) as on_a, httpx.Client(base_url=b.url, timeout=30) as on_b:
        assert not signed_in(on_b)
        sign_in_over_http(on_a, officer.email, PASSWORD)
        on_b.cookies.clear()
        for cookie in on_a.cookies.jar:  # the browser's cookies, now sent to the other instance
            on_b.cookies.set(cookie.name, cookie.value or "")
        assert signed_in(on_b)
        page = on_b.get(f"/officer/clients/{record.id}")
        assert page.status_code == 200 and record.last_name in page.text
        # A form from A is accepted by B: the CSRF token is signed with the shared SECRET_KEY.
        changed = on_b.post(
            f"/officer/clients/{record.id}/consents",
            data=form(on_a, {"purpose": "guidance_records", "given": "yes", "decided_on": "2025-05-01"}),
        )
        assert changed.status_code == 303, changed.text[:300]
        # Signing out through B ends the session for A too: it is one row in the database.
        assert on_b.post("/officer/sign-out", data=form(on_b, {})).status_code in (302, 303)
        assert not signed_in(on_a)


def test_messages_written_through_both_instances_are_emailed_exactly_once(
    instances,
    factory: Factory,
    db: Session,
    smtp: Mailbox,
):
    a, b = instances
    with smtp.lock:
        smtp.raw.clear()
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    people = [
        factory.client(
            organisation,
            last_name=f"Vastaanottaja{n}",
            email=f"c{n}@example.fi",
            responsible_officer_id=officer.id,
        )
        for n in range(MESSAGES)
    ]
    clients = {}
    for server in (a, b):
        clients[server.pid] = http = httpx.Client(base_url=server.url, timeout=30)
        sign_in_over_http(http, officer.email, PASSWORD)
    try:
        for n, person in enumerate(people):  # alternately through A and B, over a few worker polls
            http = clients[(a, b)[n % 2].pid]
            data = {"subject": f"Viesti {n}", "body": "Tervetuloa ohjaukseen.", "language": "fi"}
            response = http.post(f"/officer/clients/{person.id}/threads", data=form(http, data))
            assert response.status_code == 303, response.text[:300]
            time.sleep(0.1)
    finally:
        for http in clients.values():
            http.close()

    rows = list(
        db.scalars(select(OutboxMessage.id).where(OutboxMessage.client_id.in_([p.id for p in people])))
    )
    assert len(rows) == MESSAGES  # one e-mail notification per message

    def delivered() -> int:
        db.expire_all()
        query = select(func.count()).where(
            OutboxMessage.id.in_(rows), OutboxMessage.status == OutboxStatus.DELIVERED
        )
        return int(db.scalar(query) or 0)

    deadline = time.monotonic() + 60
    while delivered() < MESSAGES and time.monotonic() < deadline:
        time.sleep(0.2)
    assert delivered() == MESSAGES, a.logs() + b.logs()
    time.sleep(2.5)  # one more poll of each worker: nothing is sent again

    received = smtp.message_ids()
    ids = {int(m.group(1)) for key in received if (m := re.match(r"<outbox-(\d+)@", key))}
    assert ids == set(rows)  # every notification arrived ...
    assert smtp.count() == MESSAGES and set(received.values()) == {1}  # ... exactly once
    attempts = db.execute(
        select(OutboxAttempt.worker, OutboxAttempt.ok).where(OutboxAttempt.outbox_id.in_(rows))
    ).all()
    assert len(attempts) == MESSAGES and all(ok for _worker, ok in attempts)
    by_instance = {
        name: sum(f"-{server.pid}-" in worker for worker, _ok in attempts)
        for name, server in (("A", a), ("B", b))
    }
    assert sum(by_instance.values()) == MESSAGES  # every delivery by one of the two instances' workers
    # Both took part: messages came due one by one over several polls of each worker (2 s apart).
    assert all(by_instance.values()), by_instance
    print(
        f"\n{MESSAGES} messages through A and B, {smtp.count()} e-mails received; delivered by {by_instance}"
    )
