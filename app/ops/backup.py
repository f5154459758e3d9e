"""Backup and restore, with a manifest that lets a restore prove itself (`kotopolku backup`/`restore`).

`backup(settings, FILE)` writes FILE and FILE.manifest.json:

- PostgreSQL: `pg_dump --format=custom` of an exported snapshot. The snapshot is taken by a
  REPEATABLE READ, READ ONLY transaction that stays open while pg_dump runs (`--snapshot`), and the row
  counts, audit chain heads and Alembic revision of the manifest are read in that same transaction: they
  describe exactly the rows in the dump, while the application keeps writing.
- SQLite: the sqlite3 online backup API copies every page in one step, under one read transaction (a
  consistent copy; in WAL mode writers carry on). The copy is switched to a rollback journal, so the
  backup is one self-contained SQLite file, and the figures are read from the copy itself.

The manifest (JSON) holds the row count of every table, the audit chain heads, the Alembic revision,
when it was made and the SHA-256 and size of the dump.

`restore(settings, FILE)` refuses, before changing anything, a dump whose SHA-256 or size differs from
its manifest and a target database that has tables (unless `force`). It restores with
`pg_restore --single-transaction` or the SQLite backup API (both all or nothing) and then checks the
target against the manifest: the same tables with the same row counts, the same Alembic revision, the
same audit chain heads, and every audit chain intact (`verify_chain`).

Connection details reach pg_dump and pg_restore in libpq's environment variables (PGHOST, PGPASSWORD, …),
never on their command line (which `ps` shows to everyone); URLs are printed without their password.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, func, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.db.engine import make_engine
from app.domain.audit import ChainReport, verify_chain
from app.settings import Settings

FORMAT = 1
MANIFEST_SUFFIX = ".manifest.json"
POSTGRESQL_PROGRAMS = Path("/usr/lib/postgresql")  # Debian's postgresql-client-NN
Echo = Callable[[str], None]


class BackupError(Exception):
    """The backup or the restore was refused or failed before anything was changed."""


@dataclass(frozen=True)
class Figures:
    """What a database holds, as the manifest records it."""

    tables: dict[str, int]  # every table of the schema → its row count
    alembic_revision: str | None
    audit_heads: dict[str, tuple[int, str]]  # chain → (seq, hash) of its last event

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class Manifest:
    created_at: str
    database: str  # "postgresql" or "sqlite"
    dump_file: str
    dump_bytes: int
    dump_sha256: str
    figures: Figures
    server_version: str | None = None
    tool: str | None = None  # the pg_dump that wrote the dump

    def to_json(self) -> str:
        return json.dumps(
            {
                "kotopolku_backup": FORMAT,
                "created_at": self.created_at,
                "database": self.database,
                "server_version": self.server_version,
                "tool": self.tool,
                "dump_file": self.dump_file,
                "dump_bytes": self.dump_bytes,
                "dump_sha256": self.dump_sha256,
                "alembic_revision": self.figures.alembic_revision,
                "row_count": self.figures.rows,
                "tables": self.figures.tables,
                "audit_chain_heads": {
                    chain: {"seq": seq, "hash": digest}
                    for chain, (seq, digest) in self.figures.audit_heads.items()
                },
            },
            indent=2,
        )

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
            if data.get("kotopolku_backup") != FORMAT:
                raise ValueError("not a Kotopolku backup manifest of format 1")
            tables = {str(name): int(count) for name, count in data["tables"].items()}
            heads = {
                str(chain): (int(head["seq"]), str(head["hash"]))
                for chain, head in data["audit_chain_heads"].items()
            }
            return cls(
                created_at=str(data["created_at"]),
                database=str(data["database"]),
                dump_file=str(data["dump_file"]),
                dump_bytes=int(data["dump_bytes"]),
                dump_sha256=str(data["dump_sha256"]),
                figures=Figures(tables, data["alembic_revision"], heads),
                server_version=data.get("server_version"),
                tool=data.get("tool"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(f"The manifest {path} cannot be read: {error}.") from error


@dataclass
class RestoreReport:
    manifest: Manifest
    figures: Figures
    chain: ChainReport
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + MANIFEST_SUFFIX)


def display_url(url: str) -> str:
    """The URL for people and logs: never its password."""
    return make_url(url).render_as_string(hide_password=True)


def database_kind(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgresql"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- figures --------------------------------------------------------------------------------------


def table_names(conn: Connection) -> list[str]:
    """Every table of the application's schema (SQLite: also FTS tables; never SQLite's own)."""
    if conn.dialect.name == "postgresql":
        query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    return sorted(str(name) for name in conn.execute(text(query)).scalars())


def read_figures(conn: Connection) -> Figures:
    tables = {  # names from the database's own catalogue, quoted as identifiers by SQLAlchemy
        name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in table_names(conn)
    }
    revision = None
    if "alembic_version" in tables:
        versions = sorted(
            str(v) for v in conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
        )
        revision = ",".join(versions) or None
    heads: dict[str, tuple[int, str]] = {}
    if "audit_chain_head" in tables:
        for row in conn.execute(text("SELECT id, seq, hash FROM audit_chain_head ORDER BY id")):
            heads[str(row.id)] = (int(row.seq), str(row.hash))
    return Figures(tables, revision, heads)


def check(conn: Connection) -> tuple[Figures, ChainReport]:
    """The figures of a restored database and its audit chains walked from the start."""
    figures = read_figures(conn)
    if "audit_chain_head" not in figures.tables:
        return figures, ChainReport(0, problem="there is no audit log")
    with Session(bind=conn) as session:
        return figures, verify_chain(session)


def compare(expected: Figures, found: Figures) -> list[str]:
    """Every difference between the manifest and the restored database, in words."""
    problems = []
    for name in sorted(expected.tables.keys() - found.tables.keys()):
        problems.append(f"table {name} is missing ({expected.tables[name]} rows in the backup)")
    for name in sorted(found.tables.keys() - expected.tables.keys()):
        problems.append(f"table {name} is not in the backup ({found.tables[name]} rows)")
    for name in sorted(expected.tables.keys() & found.tables.keys()):
        if expected.tables[name] != found.tables[name]:
            problems.append(
                f"table {name}: {found.tables[name]} rows, the backup has {expected.tables[name]}"
            )
    if expected.alembic_revision != found.alembic_revision:
        problems.append(
            f"Alembic revision {found.alembic_revision}, the backup has {expected.alembic_revision}"
        )
    for chain in sorted(expected.audit_heads.keys() | found.audit_heads.keys(), key=_chain_order):
        want, got = expected.audit_heads.get(chain), found.audit_heads.get(chain)
        if want != got:
            problems.append(f"audit chain {chain} ends at {_head(got)}, the backup's ends at {_head(want)}")
    return problems


def _chain_order(chain: str) -> tuple[int, str]:
    return (int(chain), chain) if chain.isdigit() else (1 << 30, chain)


def _head(head: tuple[int, str] | None) -> str:
    return "nothing" if head is None else f"position {head[0]} ({head[1][:12]}…)"


# --- SQLite ---------------------------------------------------------------------------------------


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.sync_database_url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


@contextmanager
def sqlite_engine(path: Path, *, read_only: bool) -> Iterator[Engine]:
    """A blocking engine on one SQLite file; read-only opens never create or change it."""
    uri = path.resolve().as_uri() + ("?mode=ro" if read_only else "")
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=30), poolclass=NullPool
    )
    try:
        yield engine
    finally:
        engine.dispose()


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists():
        return []
    with sqlite_engine(path, read_only=True) as engine, engine.connect() as conn:
        return table_names(conn)


def _backup_sqlite(source: Path, partial: Path) -> Figures:
    if not source.is_file():
        raise BackupError(f"There is no SQLite database at {source}.")
    origin = sqlite3.connect(source, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            origin.backup(copy)  # every page in one step: one read transaction, one consistent state
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    finally:
        origin.close()
    with sqlite_engine(partial, read_only=True) as engine, engine.connect() as conn:
        return read_figures(conn)


def _restore_sqlite(dump: Path, target: Path) -> None:
    origin = sqlite3.connect(dump.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target, timeout=30)
        try:
            origin.backup(destination)  # replaces every page of the target in one write transaction
            destination.execute("PRAGMA journal_mode=WAL")  # as the application runs it
        finally:
            destination.close()
    except sqlite3.Error as error:
        raise BackupError(f"The SQLite restore failed: {error}.") from error
    finally:
        origin.close()


# --- PostgreSQL -----------------------------------------------------------------------------------

# URL query parameters that libpq reads from the environment (asyncpg's `ssl` is libpq's sslmode).
LIBPQ_PARAMETERS = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "ssl": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


def libpq_environment(url: str) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: the connection in PG* variables, password included."""
    parsed = make_url(url)
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[name] = str(value)
    for key, raw in parsed.query.items():
        if key in LIBPQ_PARAMETERS:
            value = raw if isinstance(raw, str) else raw[-1]
            if key == "ssl" and value.lower() in ("true", "on", "1"):
                value = "require"
            env[LIBPQ_PARAMETERS[key]] = value
    return env


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _major(version: str) -> int | None:
    """15 from "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" or from "15.20 (Debian …)"."""
    found = re.search(r"PostgreSQL\)\s*(\d+)", version) or re.search(r"(\d+)", version)
    return int(found.group(1)) if found else None


def _tool_version(path: Path) -> str:
    result = subprocess.run(  # noqa: S603 - a PostgreSQL program found below, no shell
        [str(path), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    return result.stdout.strip()


def pg_program(name: str, server_major: int) -> tuple[str, str]:
    """pg_dump or pg_restore of the server's major version (or newer; never older, which refuses or
    loses features): $PG_BINDIR, then Debian's /usr/lib/postgresql/NN/bin, then PATH."""
    candidates: list[Path] = []
    if bindir := os.environ.get("PG_BINDIR"):
        candidates.append(Path(bindir) / name)
    candidates.append(POSTGRESQL_PROGRAMS / str(server_major) / "bin" / name)
    installed = [p for p in POSTGRESQL_PROGRAMS.glob(f"*/bin/{name}") if p.parts[-3].isdigit()]
    candidates += sorted(installed, key=lambda p: int(p.parts[-3]))
    if found := shutil.which(name):
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            version = _tool_version(candidate)
            major = _major(version)
            if major is not None and major >= server_major:
                return str(candidate), version
    raise BackupError(
        f"No {name} of PostgreSQL {server_major} or newer was found: install postgresql-client-{server_major} "
        "or set PG_BINDIR to the directory of its programs."
    )


async def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def _server(settings: Settings) -> tuple[str, int, list[str]]:
    """The server's version, its major version and the tables already in the target's schema."""
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            version = str(await conn.scalar(text("SHOW server_version")))
            number = int(str(await conn.scalar(text("SHOW server_version_num"))))
            tables = await conn.run_sync(table_names)
        return version, number // 10000, tables
    except (OSError, SQLAlchemyError) as error:
        raise BackupError(
            f"Cannot use the database {display_url(settings.database_url)}: {error.__class__.__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}"
        ) from error
    finally:
        await engine.dispose()


async def _backup_postgresql(settings: Settings, partial: Path) -> tuple[Figures, str, str]:
    version, major, _tables = await _server(settings)
    program, program_version = pg_program("pg_dump", major)
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as plain:
            conn = await plain.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            async with conn.begin():
                snapshot = str(await conn.scalar(text("SELECT pg_export_snapshot()")))
                figures = await conn.run_sync(read_figures)
                code, _out, err = await _run(
                    [
                        program,
                        "--format=custom",
                        f"--file={partial}",
                        f"--snapshot={snapshot}",
                        "--no-password",
                    ],
                    libpq_environment(settings.database_url),
                )
                if code != 0:
                    raise BackupError(f"pg_dump failed ({code}): {err.strip()}")
    finally:
        await engine.dispose()
    return figures, version, program_version


async def _restore_postgresql(settings: Settings, dump: Path, manifest: Manifest, clean: bool) -> None:
    _version, major, _tables = await _server(settings)
    dumped_by = _major(manifest.tool or "") or major
    program, _program_version = pg_program("pg_restore", max(major, dumped_by))
    env = libpq_environment(settings.database_url)
    code, listing, err = await _run([program, "--list", str(dump)], env)
    if code != 0:
        raise BackupError(f"pg_restore cannot read the dump ({code}): {err.strip()}")
    # A comment on an extension belongs to the extension's owner (a superuser): restoring it as the
    # database owner fails, and it carries nothing of ours.
    kept = [line for line in listing.splitlines() if " COMMENT - EXTENSION " not in line]
    database = make_url(settings.database_url).database
    if not database:
        raise BackupError("DATABASE_URL names no database to restore into.")
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as handle:
        handle.write("\n".join(kept) + "\n")
        list_file = handle.name
    try:
        args = [
            program,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",  # all or nothing
            f"--use-list={list_file}",
            "--no-password",
            f"--dbname=dbname={_conninfo_value(database)}",
        ]
        if clean:
            args[1:1] = ["--clean", "--if-exists"]
        code, _out, err = await _run([*args, str(dump)], env)
    finally:
        os.unlink(list_file)
    if code != 0:
        raise BackupError(f"pg_restore failed ({code}); nothing was restored: {err.strip()}")


async def _check_postgresql(settings: Settings) -> tuple[Figures, ChainReport]:
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(check)
    finally:
        await engine.dispose()


# --- the commands ---------------------------------------------------------------------------------


def backup(settings: Settings, to: Path) -> Manifest:
    """Write the dump to `to` and its manifest beside it; neither file exists until both are complete."""
    to = to.resolve()
    manifest_file = manifest_path(to)
    for path in (to, manifest_file):
        if path.exists():
            raise BackupError(f"{path} already exists: choose a new name (backups are never overwritten).")
    if not to.parent.is_dir():
        raise BackupError(f"The directory {to.parent} does not exist.")
    partial = to.with_name(to.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        server_version = tool = None
        if settings.is_sqlite:
            figures = _backup_sqlite(sqlite_path(settings), partial)
            server_version = sqlite3.sqlite_version
        else:
            figures, server_version, tool = asyncio.run(_backup_postgresql(settings, partial))
        manifest = Manifest(
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database=database_kind(settings),
            dump_file=to.name,
            dump_bytes=partial.stat().st_size,
            dump_sha256=sha256_of(partial),
            figures=figures,
            server_version=server_version,
            tool=tool,
        )
        partial_manifest = manifest_file.with_name(manifest_file.name + ".partial")
        partial_manifest.write_text(manifest.to_json() + "\n")
        os.replace(partial, to)
        os.replace(partial_manifest, manifest_file)
        return manifest
    finally:
        partial.unlink(missing_ok=True)
        with suppress(OSError):
            manifest_file.with_name(manifest_file.name + ".partial").unlink(missing_ok=True)


def restore(
    settings: Settings, dump: Path, *, manifest_file: Path | None = None, force: bool = False
) -> RestoreReport:
    """Restore `dump` into the (empty) database of `settings` and verify it against the manifest.

    Raises BackupError when refused or failed with nothing changed; the report lists every difference
    found after restoring."""
    manifest = Manifest.read(manifest_file or manifest_path(dump))
    kind = database_kind(settings)
    if manifest.database != kind:
        raise BackupError(f"This is a backup of a {manifest.database} database; the target is {kind}.")
    size = dump.stat().st_size
    if size != manifest.dump_bytes or sha256_of(dump) != manifest.dump_sha256:
        raise BackupError(
            f"{dump} does not match its manifest (size or SHA-256 differs): it was changed or damaged "
            "after the backup. Nothing was restored."
        )
    if settings.is_sqlite:
        target = sqlite_path(settings)
        existing = _sqlite_tables(target)
    else:
        existing = asyncio.run(_server(settings))[2]
    if existing and not force:
        raise BackupError(
            f"The target database {display_url(settings.database_url)} is not empty ({len(existing)} tables). "
            "Restore into an empty database, or pass --force to replace its contents."
        )
    if settings.is_sqlite:
        _restore_sqlite(dump, target)
        with sqlite_engine(target, read_only=True) as engine, engine.connect() as conn:
            figures, chain = check(conn)
    else:
        asyncio.run(_restore_postgresql(settings, dump, manifest, clean=bool(existing)))
        figures, chain = asyncio.run(_check_postgresql(settings))
    problems = compare(manifest.figures, figures)
    if not chain.ok:
        where = f"event {chain.broken_event_id}" if chain.broken_event_id else "the end"
        problems.append(
            f"audit chain {chain.chain} is broken at {where} (position {chain.seq}): {chain.problem}"
        )
    return RestoreReport(manifest=manifest, figures=figures, chain=chain, problems=problems)


def describe(figures: Figures) -> str:
    events = figures.tables.get("audit_event", 0)
    return (
        f"{len(figures.tables)} tables, {figures.rows} rows, {events} audit events in "
        f"{len(figures.audit_heads)} chains, Alembic revision {figures.alembic_revision}"
    )
