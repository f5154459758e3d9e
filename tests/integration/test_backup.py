"""`kotopolku backup` and `kotopolku restore` as an operator runs them (real subprocesses), on the suite's
database kind: pg_dump/pg_restore on PostgreSQL, the sqlite3 backup API on SQLite.

A database with audited changes made through the app is backed up, restored into a fresh empty database
and verified (row counts, Alembic revision, audit chain heads, every chain walked); a backup taken while
the app writes is consistent with its manifest; a changed dump is refused; a changed manifest and a
tampered audit log are reported with exit status 1; a non-empty target is refused without --force.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.client import Client, ClientLanguage, LanguageLevel
from app.db.engine import make_engine
from app.db.organisation import OrganisationType, Role
from app.domain import clients
from app.domain.audit import verify_chain
from app.domain.policy import Actor
from app.ops.backup import Figures, read_figures, sha256_of
from app.settings import ROOT, sync_database_url
from tests.conftest import Factory, post, sign_in

PASSWORD_MARK = "pw-never-printed-7f3a"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@dataclass
class Target:
    """A fresh, empty database of the suite's kind (nothing in it, not even migrations)."""

    url: str
    engine: Engine

    def tables(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(read_figures(conn).tables)

    def figures(self) -> Figures:
        with self.engine.connect() as conn:
            return read_figures(conn)


@pytest.fixture(scope="module")
def postgresql_target(database_url: str) -> Iterator[str | None]:
    """PostgreSQL: one database for this module's restores, emptied before each test (CREATE and DROP
    DATABASE each wait for a checkpoint)."""
    if database_url.startswith("sqlite"):
        yield None
        return
    name = f"kotopolku_test_{_worker()}_restore_{uuid.uuid4().hex[:8]}".lower()
    server = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield re.sub(r"/[^/]*$", f"/{name}", server)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def target(database_url: str, postgresql_target: str | None) -> Iterator[Target]:
    if postgresql_target is None:
        path = ROOT / "var" / f"test-{_worker()}-restore-{uuid.uuid4().hex[:8]}.db"
        engine = create_engine(f"sqlite:///{path}")
        yield Target(f"sqlite:///{path}", engine)
        engine.dispose()
        for end in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + end).unlink(missing_ok=True)
        return
    with psycopg.connect(postgresql_target, autocommit=True) as conn:  # nothing in it, not even pg_trgm
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    engine = create_engine(sync_database_url(postgresql_target))
    yield Target(postgresql_target, engine)
    engine.dispose()


def with_password(url: str) -> str:
    """The URL with a password (the test server trusts loopback, so any password works): it must never
    appear in what the commands print."""
    if url.startswith("postgresql://") and "@" in url:
        user, rest = url.removeprefix("postgresql://").split("@", 1)
        return f"postgresql://{user}:{PASSWORD_MARK}@{rest}"
    return url


def kotopolku(database_url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *map(str, args)],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": with_password(database_url),
            "SECRET_KEY": "test-secret-key-with-enough-entropy-0123456789",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert PASSWORD_MARK not in result.stdout + result.stderr
    return result


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    return tmp_path / "kotopolku.dump"


def manifest_of(dump: Path) -> dict[str, Any]:
    return json.loads(dump.with_name(dump.name + ".manifest.json").read_text())


def write_manifest(dump: Path, data: dict[str, Any]) -> None:
    dump.with_name(dump.name + ".manifest.json").write_text(json.dumps(data))


def history(client: Any, factory: Factory, db: Session) -> Client:
    """Audited work through the app: sign-in, a client created with languages, viewed, edited, a consent."""
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    for n in range(5):
        factory.client(organisation, last_name=f"Registered{n}")
    sign_in(client, officer)
    response = post(
        client,
        "/officer/clients",
        [
            ("segment", "2"),
            ("known_on", "2025-04-01"),
            ("known_how", "client_contact"),
            ("first_names", "Leila"),
            ("last_name", "Backup-Restore"),
            ("confirm_new", "on"),
            ("language", "ar"),
            ("language_level", "native"),
            ("language", "fi"),
            ("language_level", "A2"),
        ],
    )
    assert response.status_code == 303, response.text
    client_id = uuid.UUID(response.headers["location"].rsplit("/", 1)[1])
    assert client.get(f"/officer/clients/{client_id}").status_code == 200
    record = db.get(Client, client_id)
    assert record is not None
    edit = post(
        client,
        f"/officer/clients/{client_id}",
        [
            ("version", str(record.version)),
            ("segment", "2"),
            ("known_on", "2025-04-01"),
            ("known_how", "client_contact"),
            ("first_names", "Leila"),
            ("last_name", "Backup-Restore"),
            ("post_office", "Kotokunta"),
            ("language", "ar"),
            ("language_level", "native"),
        ],
    )
    assert edit.status_code == 303, edit.text
    consent = post(
        client,
        f"/officer/clients/{client_id}/consents",
        {"purpose": "guidance_records", "given": "yes", "decided_on": "2025-04-02"},
    )
    assert consent.status_code == 303, consent.text
    db.expire_all()
    return db.get(Client, client_id)  # type: ignore[return-value]


def source_figures(engine: Engine) -> Figures:
    with engine.connect() as conn:
        return read_figures(conn)


# --- the round trip -------------------------------------------------------------------------------


def test_a_backup_restores_into_an_empty_database_and_verifies(
    client, factory, db, engine, database_url, target, dump
):
    record = history(client, factory, db)
    before = source_figures(engine)
    assert before.tables["audit_event"] >= 5 and before.tables["client_language"] == 1

    made = kotopolku(database_url, "backup", "--to", dump)
    assert made.returncode == 0, made.stderr
    assert f"{before.tables['audit_event']} audit events in 16 chains" in made.stdout
    manifest = manifest_of(dump)
    assert manifest["tables"] == before.tables  # every table, every count
    assert manifest["alembic_revision"] == before.alembic_revision is not None
    assert manifest["dump_sha256"] == sha256_of(dump) and manifest["dump_bytes"] == dump.stat().st_size
    assert {c: (h["seq"], h["hash"]) for c, h in manifest["audit_chain_heads"].items()} == before.audit_heads
    assert manifest["database"] == ("sqlite" if engine.dialect.name == "sqlite" else "postgresql")
    assert manifest["created_at"]

    assert target.tables() == []
    restored = kotopolku(target.url, "restore", "--from", dump)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Restore verified" in restored.stdout
    assert f"{before.tables['audit_event']} events verified in 16 chains" in restored.stdout
    print("\n" + made.stdout + restored.stdout)

    # Checked again from outside the command: the same figures, intact chains, the same client.
    assert target.figures() == before
    with Session(target.engine) as restored_db:
        assert verify_chain(restored_db).ok
        copy = restored_db.get(Client, record.id)
        assert copy is not None
        assert (copy.last_name, copy.post_office, copy.version) == (
            "Backup-Restore",
            "Kotokunta",
            record.version,
        )
        languages = restored_db.execute(
            select(ClientLanguage.language, ClientLanguage.level).where(ClientLanguage.client_id == record.id)
        ).all()
        assert [tuple(row) for row in languages] == [("ar", LanguageLevel.NATIVE)]
        events = restored_db.scalars(select(AuditEvent.action).where(AuditEvent.client_id == record.id)).all()
        assert {"create", "view", "update"} <= set(events)


def test_a_backup_taken_while_the_app_writes_matches_its_manifest(
    settings, factory, database_url, target, dump
):
    """Clients (each with two languages and an audit event) are created without pause during the backup:
    the dump and the manifest's counts come from one snapshot, so the restore verifies exactly."""
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    actor = Actor(
        staff_id=officer.id,
        organisation_id=organisation.id,
        organisation_type=OrganisationType.MUNICIPALITY,
        roles=frozenset({Role.INTEGRATION_OFFICER}),
        name=officer.full_name,
    )
    stop = threading.Event()
    written: list[int] = []

    async def write() -> None:
        async_engine = make_engine(settings)
        sessions = async_sessionmaker(async_engine, expire_on_commit=False)
        try:
            n = 0
            while not stop.is_set():
                data = clients.ClientInput(
                    values={
                        "segment": 1,
                        "known_on": date(2025, 5, 1),
                        "known_how": "client_contact",
                        "first_names": "Writer",
                        "last_name": f"During{n}",
                    },
                    languages=[("fi", LanguageLevel.A1), ("en", LanguageLevel.B2)],
                )
                async with sessions() as session, session.begin():
                    await clients.create(session, actor, data)
                n += 1
                written.append(n)
        finally:
            await async_engine.dispose()

    writer = threading.Thread(target=lambda: asyncio.run(write()))
    writer.start()
    try:
        while len(written) < 20 and writer.is_alive():  # writing is under way before the backup starts
            stop.wait(0.02)
        assert writer.is_alive(), "the writer stopped before the backup began"
        made = kotopolku(database_url, "backup", "--to", dump)
        during = len(written)
    finally:
        stop.set()
        writer.join(30)
    assert made.returncode == 0, made.stderr
    assert len(written) > during > 20  # the writer kept going through the backup
    manifest = manifest_of(dump)
    in_dump = manifest["tables"]["client"]
    assert 20 <= in_dump < len(written)
    assert manifest["tables"]["client_language"] == 2 * in_dump  # no client without its languages
    restored = kotopolku(target.url, "restore", "--from", dump)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    with Session(target.engine) as restored_db:
        assert restored_db.scalar(select(text("count(*)")).select_from(Client)) == in_dump
        assert verify_chain(restored_db).ok
    print(f"\n{in_dump} of {len(written)} clients written during the backup are in it; restore verified")


# --- refusals and detection -----------------------------------------------------------------------


def test_a_changed_dump_a_missing_manifest_or_another_kind_of_database_is_refused(
    client, factory, db, engine, database_url, target, dump
):
    history(client, factory, db)
    assert kotopolku(database_url, "backup", "--to", dump).returncode == 0
    original = dump.read_bytes()
    content = bytearray(original)
    content[len(content) // 2] ^= 0xFF  # one flipped byte
    dump.write_bytes(bytes(content))
    changed = kotopolku(target.url, "restore", "--from", dump)
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "does not match its manifest" in changed.stderr and "Nothing was restored" in changed.stderr

    dump.write_bytes(original)
    manifest = manifest_of(dump)
    other_kind = "postgresql" if manifest["database"] == "sqlite" else "sqlite"
    write_manifest(dump, {**manifest, "database": other_kind})
    wrong = kotopolku(target.url, "restore", "--from", dump)
    assert wrong.returncode == 2 and f"backup of a {other_kind} database" in wrong.stderr

    dump.with_name(dump.name + ".manifest.json").unlink()
    missing = kotopolku(target.url, "restore", "--from", dump)
    assert missing.returncode == 2 and "manifest" in missing.stderr
    assert target.tables() == []


def test_a_changed_manifest_is_reported(client, factory, db, engine, database_url, target, dump):
    history(client, factory, db)
    assert kotopolku(database_url, "backup", "--to", dump).returncode == 0
    manifest = manifest_of(dump)
    clients_in_backup = manifest["tables"]["client"]
    manifest["tables"]["client"] += 1
    manifest["alembic_revision"] = "0123456789ab"
    manifest["audit_chain_heads"]["3"]["seq"] += 1
    write_manifest(dump, manifest)
    result = kotopolku(target.url, "restore", "--from", dump)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"table client: {clients_in_backup} rows, the backup has {clients_in_backup + 1}" in result.stderr
    assert "Alembic revision" in result.stderr and "0123456789ab" in result.stderr
    assert "audit chain 3 ends at" in result.stderr
    assert "Restore NOT verified: 3 differences" in result.stderr
    assert "Restore verified" not in result.stdout


def test_a_tampered_audit_log_fails_the_verification(client, factory, db, engine, database_url, target, dump):
    record = history(client, factory, db)
    event = db.scalar(select(AuditEvent).where(AuditEvent.client_id == record.id).order_by(AuditEvent.id))
    assert event is not None
    db.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(action="view"))
    db.commit()
    assert kotopolku(database_url, "backup", "--to", dump).returncode == 0
    result = kotopolku(target.url, "restore", "--from", dump)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"audit chain {event.chain} is broken at event {event.id}" in result.stderr
    assert "content does not match its hash" in result.stderr


def test_a_non_empty_target_is_refused_unless_forced(
    client, factory, db, engine, database_url, target, dump, tmp_path
):
    history(client, factory, db)
    source_url = database_url
    assert kotopolku(source_url, "backup", "--to", dump).returncode == 0
    before = source_figures(engine)

    # The live database itself is never a target without --force.
    refused = kotopolku(source_url, "restore", "--from", dump)
    assert refused.returncode == 2 and "is not empty" in refused.stderr
    assert source_figures(engine) == before

    # A restored target that has changed since: refused, untouched; --force replaces its contents.
    assert kotopolku(target.url, "restore", "--from", dump).returncode == 0
    with target.engine.begin() as conn:
        conn.execute(update(Client).values(last_name="Changed"))
        conn.execute(text("DELETE FROM client_language"))
    second = kotopolku(target.url, "restore", "--from", dump)
    assert second.returncode == 2 and "--force" in second.stderr
    assert target.figures().tables["client_language"] == 0
    forced = kotopolku(target.url, "restore", "--from", dump, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert target.figures() == before
    with Session(target.engine) as restored_db:
        assert "Changed" not in restored_db.scalars(select(Client.last_name)).all()

    # A backup never overwrites a file.
    again = kotopolku(source_url, "backup", "--to", dump)
    assert again.returncode == 1 and "already exists" in again.stderr
