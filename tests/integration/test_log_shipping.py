"""Logs leave the host (ASVS 16.4.3) and the audit chains are checkpointed in them (16.4.2): the app and
the worker send syslog over TLS to a collector (here a real TLS server on loopback with its own CA), and
`kotopolku audit-verify --checkpoints` then notices a chain rewritten in the database even when every hash
in it was recomputed, which the chain alone cannot show."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app import logs
from app.db.audit import AuditChainHead, AuditEvent
from app.db.organisation import Organisation, Role
from app.domain.audit import _digest, verify_chain
from app.main import create_app
from tests.conftest import BASE_URL, ROOT, AppTestClient, sign_in
from tests.syslog_receiver import SyslogReceiver, make_certificates


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[SyslogReceiver, Path]]:
    ca, cert, key = make_certificates(tmp_path)
    receiver = SyslogReceiver(cert, key, tmp_path / "received.log")
    yield receiver, ca
    receiver.close()


def cli(database_url: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "SECRET_KEY": "x", **extra_env}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                          check=False, cwd=ROOT, timeout=60)  # fmt: skip


def test_a_refusal_reaches_the_collector_as_rfc5424_without_the_ids_asked_for(factory, settings, collector):
    receiver, ca = collector
    shipped = replace(settings, syslog_url=receiver.url, syslog_ca_file=str(ca))
    officer = factory.staff(factory.organisation("Kotikunta"), Role.INTEGRATION_OFFICER)
    theirs = factory.client(factory.organisation("Naapurikunta"), first_names="Salainen")
    with AppTestClient(create_app(shipped), base_url=BASE_URL) as client:
        sign_in(client, officer)
        assert client.get(f"/officer/clients/{theirs.id}").status_code == 404
    # The app's shutdown sent what was queued, up to the last record.
    found = receiver.wait_for("refused GET /officer/clients/{client_id} with 404")
    assert len(found) == 1, "\n".join(receiver.messages)
    message = found[0]
    assert message.startswith("<132>1 ")  # local0.warning, syslog protocol version 1
    header = message.split(" ", 7)
    assert header[3] == "kotopolku" and header[5] == "kotopolku"  # APP-NAME, MSGID (the logger)
    assert f"for staff {officer.id}" in message
    everything = "\n".join(receiver.messages)
    assert str(theirs.id) not in everything and "Salainen" not in everything


def test_the_worker_ships_checkpoints_that_catch_a_rewritten_chain(
    client, factory, db, database_url, collector
):
    receiver, ca = collector
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    record = factory.client(db.get(Organisation, officer.organisation_id))
    for _ in range(20):
        client.get(f"/officer/clients/{record.id}")

    # A real worker process: its first hourly check logs each chain's head, over TLS to the collector.
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "SECRET_KEY": "x",
           "SYSLOG_URL": receiver.url, "SYSLOG_CA_FILE": str(ca), "SMTP_PORT": "9"}  # fmt: skip
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        heads = db.scalars(select(AuditChainHead).where(AuditChainHead.seq > 0)).all()
        assert receiver.wait_for("audit checkpoint"), "no checkpoint arrived"
        assert receiver.wait_for(f"audit checkpoint chain={heads[-1].id} ")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    exported = ROOT / "var" / f"log-export-{os.getpid()}.txt"
    exported.write_text("\n".join(receiver.messages) + "\n")
    try:
        assert len(receiver.wait_for("audit checkpoint")) == len(heads)
        ok = cli(database_url, "audit-verify", "--checkpoints", str(exported))
        assert ok.returncode == 0, ok.stderr
        assert f"Checkpoints from the log match: {len(heads)}." in ok.stdout

        # Someone with the database's keys rewrites one chain and recomputes every hash after the change:
        # the chain verifies by itself, but no longer holds the hash the log recorded.
        chain = heads[0].id
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
        ).all()
        previous = events[0].prev_hash
        for event in events:
            if event is events[0]:
                event.action = "update"
            event.prev_hash = previous
            event.hash = previous = _digest(event)
        db.execute(update(AuditChainHead).where(AuditChainHead.id == chain).values(hash=previous))
        db.commit()
        assert verify_chain(db).ok
        caught = cli(database_url, "audit-verify", "--checkpoints", str(exported))
        assert caught.returncode == 1
        assert f"Audit chain {chain} does not match the log at position {events[-1].seq}" in caught.stderr
        nothing = cli(database_url, "audit-verify", "--checkpoints", "/dev/null")
        assert nothing.returncode == 1 and "No audit checkpoints found" in nothing.stderr
    finally:
        exported.unlink(missing_ok=True)


def test_a_collector_that_is_away_or_untrusted_gets_nothing_and_costs_no_error(tmp_path, collector):
    receiver, ca = collector
    (tmp_path / "other").mkdir()
    other_ca, _cert, _key = make_certificates(tmp_path / "other", "Someone else's CA")
    record = logging.LogRecord("kotopolku", logging.WARNING, __file__, 1, "refused %s", ("GET /x",), None)
    # A certificate from a CA the sender was not told to trust: the TLS handshake fails, nothing is sent.
    untrusted = logs.SyslogHandler(receiver.url, str(other_ca))
    untrusted.emit(record)
    assert untrusted._socket is None
    # Nobody listening: no exception; the record stays in the local log only, and the handler waits
    # RETRY_AFTER_S before it tries again rather than stalling every record.
    closed = receiver.port
    receiver.close()
    away = logs.SyslogHandler(f"tls://127.0.0.1:{closed}", str(ca))
    away.emit(record)
    assert away._socket is None and away._retry_at > 0
    assert receiver.messages == []


def test_a_malformed_syslog_url_is_refused_at_start():
    with pytest.raises(ValueError, match="SYSLOG_URL"):
        logs.SyslogHandler("https://logs.example.fi")
