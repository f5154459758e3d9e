"""The parts of `app.ops.backup` that need no database: how pg_dump gets its connection (the password only
in the environment), which pg_dump fits the server, and what a manifest comparison reports."""

from __future__ import annotations

import shutil

import pytest

from app.ops.backup import BackupError, Figures, _major, compare, display_url, libpq_environment, pg_program


def test_the_connection_goes_to_libpq_in_the_environment_with_the_password():
    env = libpq_environment("postgresql://kotopolku:s3cr%40t@db.internal:6432/kotopolku?ssl=require&x=1")
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.internal",
        "6432",
        "kotopolku",
        "kotopolku",
    )
    assert env["PGPASSWORD"] == "s3cr@t"  # decoded from the URL
    assert env["PGSSLMODE"] == "require"  # asyncpg's ssl=… is libpq's sslmode
    assert "x" not in {k.lower() for k in env if k.startswith("PG")}


def test_urls_are_shown_without_their_password():
    shown = display_url("postgresql://kotopolku:s3cret@db.internal/kotopolku")
    assert "s3cret" not in shown and "db.internal/kotopolku" in shown


@pytest.mark.parametrize(
    ("version", "major"),
    [
        ("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", 15),
        ("pg_restore (PostgreSQL) 17.2", 17),
        ("15.20 (Debian 15.20-0+deb12u1)", 15),
        ("", None),
    ],
)
def test_major_versions_are_read_from_program_and_server_versions(version, major):
    assert _major(version) == major


def test_a_pg_dump_older_than_the_server_is_never_used(monkeypatch):
    if shutil.which("pg_dump") is None:
        pytest.skip("no pg_dump installed")
    monkeypatch.delenv("PG_BINDIR", raising=False)
    with pytest.raises(BackupError, match=r"No pg_dump of PostgreSQL 99 or newer.*postgresql-client-99"):
        pg_program("pg_dump", 99)
    path, version = pg_program("pg_dump", 10)
    assert path.endswith("pg_dump") and (_major(version) or 0) >= 10


def test_every_difference_from_the_manifest_is_named():
    backup = Figures({"client": 3, "audit_event": 9, "alembic_version": 1}, "abc", {"1": (4, "f" * 64)})
    assert compare(backup, backup) == []
    restored = Figures({"client": 2, "audit_event": 9, "extra": 0}, "abd", {"1": (3, "e" * 64)})
    assert compare(backup, restored) == [
        "table alembic_version is missing (1 rows in the backup)",
        "table extra is not in the backup (0 rows)",
        "table client: 2 rows, the backup has 3",
        "Alembic revision abd, the backup has abc",
        "audit chain 1 ends at position 3 (eeeeeeeeeeee…), the backup's ends at position 4 (ffffffffffff…)",
    ]
