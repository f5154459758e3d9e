"""The `kotopolku` command: migrate, create the first administrator, demo data, verify the audit chain, serve,
the outbox worker, the retention job, and backup and restore."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.db.engine import make_engine
from app.db.organisation import Organisation, OrganisationType, Role
from app.settings import ROOT, Settings, get_settings

T = TypeVar("T")


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def runner() -> T:
        engine = make_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as db, db.begin():
                return await work(db)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def demo_accounts_file(settings: Settings) -> Path:
    """Where `demo` notes the accounts it made, one file per database, for `serve` to print."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return ROOT / "var" / f"demo-accounts-{digest}.txt"


@click.group()
def main() -> None:
    """Kotopolku administration."""


@main.command()
def migrate() -> None:
    """Apply the database migrations (the only way the schema changes)."""
    from alembic import command
    from alembic.config import Config

    settings = get_settings()
    if settings.is_sqlite:
        (ROOT / "var").mkdir(exist_ok=True)
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    click.echo("Database is up to date.")


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--organisation", "organisation_name", required=True, help="Created if missing.")
@click.option(
    "--type",
    "organisation_type",
    type=click.Choice([t.value for t in OrganisationType]),
    default=OrganisationType.MUNICIPALITY.value,
    show_default=True,
    help="The type of a new organisation.",
)
def create_admin(email: str, full_name: str, organisation_name: str, organisation_type: str) -> None:
    """Create an organisation's first administrator. The password is read from KOTOPOLKU_PASSWORD or asked for."""
    from app.domain import staff as staff_service
    from app.domain.auth import password_problem

    password = os.environ.get("KOTOPOLKU_PASSWORD") or getpass.getpass("Password: ")
    if problem := password_problem(password, [email, full_name, organisation_name]):
        raise click.ClickException(problem)
    settings = get_settings()

    async def work(db: AsyncSession) -> None:
        if await staff_service.email_taken(db, email):
            raise click.ClickException("Someone already signs in with this e-mail address.")
        organisation = await staff_service.organisation_by_name(db, organisation_name)
        if organisation is None:
            organisation = Organisation(name=organisation_name, type=OrganisationType(organisation_type))
            db.add(organisation)
            await db.flush()
        await staff_service.create_staff(db, settings, organisation=organisation, email=email, full_name=full_name,
                                         roles=[Role.ADMINISTRATOR], password=password)  # fmt: skip

    run_in_session(settings, work)
    click.echo(f"Administrator {email} created.")


@main.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has organisations.")
def demo(if_empty: bool) -> None:
    """Load the demo municipality, staff and clients."""
    from app.domain import demo as demo_data

    settings = get_settings()

    async def work(db: AsyncSession) -> list[tuple[str, str, str]] | None:
        if await demo_data.is_loaded(db):
            return None
        return await demo_data.load(db, settings)

    accounts = run_in_session(settings, work)
    if accounts is None:
        if not if_empty:
            raise click.ClickException(
                "The database already has data; demo data is loaded only into an empty one."
            )
        return
    click.echo("Demo data loaded.")
    (ROOT / "var").mkdir(exist_ok=True)
    demo_accounts_file(settings).write_text("\n".join(f"{e}\t{p}\t{r}" for r, e, p in accounts) + "\n")


@main.command("audit-verify")
@click.option(
    "--checkpoints", type=click.File("r", encoding="utf-8", errors="replace"), default=None,
    help="A log export holding the worker's 'audit checkpoint' lines (from the log system SYSLOG_URL "
         "names); each must still match the database. '-' reads standard input.",
)  # fmt: skip
def audit_verify(checkpoints: TextIO | None) -> None:
    """Verify the audit log's hash chain, and with --checkpoints the chains against the heads a separate
    log recorded; exit 1 and name the first broken row or checkpoint."""
    from app.domain.audit import ChainReport, verify_chain, verify_checkpoints

    def verify(session: Session) -> tuple[ChainReport, ChainReport | None]:
        chain = verify_chain(session)
        return chain, verify_checkpoints(session, checkpoints) if checkpoints is not None else None

    async def runner() -> tuple[ChainReport, ChainReport | None]:
        # The application's own (async) driver: production installs have no blocking PostgreSQL driver.
        engine = make_engine(get_settings(), pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync_conn: verify(Session(bind=sync_conn)))
        finally:
            await engine.dispose()

    report, against_log = asyncio.run(runner())
    if not report.ok:
        where = f"event {report.broken_event_id}" if report.broken_event_id else "the end"
        click.echo(
            f"Audit chain {report.chain} broken at {where} (position {report.seq}): {report.problem}.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"Audit chain intact: {report.checked} events.")
    if against_log is None:
        return
    if not against_log.ok:
        click.echo(
            f"Audit chain {against_log.chain} does not match the log at position {against_log.seq}: "
            f"{against_log.problem} (the chain was rewritten or cut after the checkpoint was logged).",
            err=True,
        )
        sys.exit(1)
    if against_log.checked == 0:
        click.echo("No audit checkpoints found in the log given.", err=True)
        sys.exit(1)
    click.echo(f"Checkpoints from the log match: {against_log.checked}.")


@main.command()
@click.option(
    "--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The dump to write; its manifest goes beside it as FILE.manifest.json. Never overwritten.",
)  # fmt: skip
def backup(target: Path) -> None:
    """Back up the database while it runs: pg_dump --format=custom (PostgreSQL) or the SQLite backup API,
    with a manifest of row counts, audit chain heads, the Alembic revision and the dump's SHA-256."""
    from app.ops import backup as ops

    settings = get_settings()
    try:
        manifest = ops.backup(settings, target)
    except ops.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up {ops.display_url(settings.database_url)}: {ops.describe(manifest.figures)}.")
    click.echo(f"  dump      {target} ({manifest.dump_bytes} bytes, sha256 {manifest.dump_sha256})")
    click.echo(f"  manifest  {ops.manifest_path(target)}")


@main.command()
@click.option(
    "--from", "source", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A dump written by `kotopolku backup`.",
)  # fmt: skip
@click.option(
    "--manifest", "manifest_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Its manifest; by default FILE.manifest.json beside the dump.",
)  # fmt: skip
@click.option("--force", is_flag=True, help="Restore into a database that has tables, replacing them.")
def restore(source: Path, manifest_file: Path | None, force: bool) -> None:
    """Restore a backup into the (empty) database of DATABASE_URL, then verify it: row counts, Alembic
    revision and audit chain heads equal to the manifest, every audit chain intact.

    Exit status 0: restored and verified; 1: restored, but something differs from the manifest;
    2: refused or failed, nothing was restored (a changed dump, a non-empty target without --force)."""
    from app.ops import backup as ops

    settings = get_settings()
    try:
        report = ops.restore(settings, source, manifest_file=manifest_file, force=force)
    except ops.BackupError as error:
        click.echo(f"Restore refused: {error}", err=True)
        sys.exit(2)
    manifest = report.manifest
    click.echo(
        f"Restored {source} (made {manifest.created_at}) into {ops.display_url(settings.database_url)}."
    )
    click.echo(f"  backup    {ops.describe(manifest.figures)}")
    click.echo(f"  restored  {ops.describe(report.figures)}")
    click.echo(
        f"  audit     {report.chain.checked} events verified in {len(report.figures.audit_heads)} chains"
    )
    if not report.ok:
        for problem in report.problems:
            click.echo(f"  MISMATCH  {problem}", err=True)
        click.echo(f"Restore NOT verified: {len(report.problems)} differences from the manifest.", err=True)
        sys.exit(1)
    click.echo("Restore verified: every table's row count, the Alembic revision and the audit chains match.")
    if (revision := _code_revision()) and revision != manifest.figures.alembic_revision:
        click.echo(f"The code expects revision {revision}: run `kotopolku migrate` before starting the app.")


def _code_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads()
    return ",".join(sorted(heads)) or None


@main.command()
@click.option("--scale", type=int, default=int(os.environ.get("SCALE", "100000")), show_default=True,
              help="Clients in the demo municipality.")  # fmt: skip
@click.option("--full", is_flag=True,
              help="Also plans, appointments, messages, audit events and knowledge-base articles in issue "
                   "8's proportions: 0.6 plans, 10 appointments, 3 messages and 50 audit events per client, "
                   "one article per 200 clients.")  # fmt: skip
@click.option("--plans", type=int, help="Plans to reach in the municipality (PostgreSQL).")
@click.option("--appointments", type=int, help="Appointments to reach in the municipality (PostgreSQL).")
@click.option("--messages", type=int, help="Messages to reach in the municipality (PostgreSQL).")
@click.option("--audit-events", type=int, help="Audit events to reach in the database (PostgreSQL).")
@click.option("--articles", type=int, help="Published knowledge-base articles to reach (PostgreSQL).")
def generate(
    scale: int,
    full: bool,
    plans: int | None,
    appointments: int | None,
    messages: int | None,
    audit_events: int | None,
    articles: int | None,
) -> None:
    """Generate a large synthetic register for benchmarks: clients, and with --full (or the counts) their
    plans, appointments, messages and audit events (valid hash chains), and knowledge-base articles. Only
    what is missing is added, so a repeated run is cheap. Test data: never run it on a real register."""
    import time

    from sqlalchemy import select

    from app.domain import synthetic_activity
    from app.domain.demo import MUNICIPALITY
    from app.domain.synthetic import generate as generate_clients

    settings = get_settings()
    base = synthetic_activity.Volumes.full(scale) if full else synthetic_activity.Volumes()
    volumes = synthetic_activity.Volumes(
        plans=base.plans if plans is None else plans,
        appointments=base.appointments if appointments is None else appointments,
        messages=base.messages if messages is None else messages,
        audit_events=base.audit_events if audit_events is None else audit_events,
        articles=base.articles if articles is None else articles,
    )
    started = time.monotonic()
    count = run_in_session(settings, lambda db: generate_clients(db, scale))
    click.echo(f"Generated {count} synthetic clients ({time.monotonic() - started:.0f} s).")
    if not volumes.any():
        return

    def progress(line: str) -> None:
        click.echo(f"  {line} ({time.monotonic() - started:.0f} s)")

    async def runner() -> dict[str, int]:
        engine = make_engine(settings)
        try:
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            async with sessions() as db:
                organisation = await db.scalar(
                    select(Organisation.id).where(Organisation.name == MUNICIPALITY)
                )
            if organisation is None:
                raise ValueError(f"no organisation {MUNICIPALITY}")
            return await synthetic_activity.run(sessions, organisation, volumes, progress)
        finally:
            await engine.dispose()

    try:
        added = asyncio.run(runner())
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    made = ", ".join(f"{n} {name}" for name, n in added.items() if n) or "nothing (none was missing)"
    click.echo(f"Generated {made} in {time.monotonic() - started:.0f} s.")


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--batch-size", type=int, default=50, show_default=True, help="Rows claimed at a time.")
@click.option(
    "--concurrency", type=int, default=10, show_default=True, help="Sends in flight at once, per channel."
)
@click.option(
    "--lease", "lease_seconds", type=int, default=300, show_default=True,
    help="Seconds a claim lasts; rows of a worker that died are taken over after it.",
)  # fmt: skip
def worker(once: bool, batch_size: int, concurrency: int, lease_seconds: int) -> None:
    """Deliver notifications from the outbox (e-mail, push, SMS) until SIGTERM or SIGINT."""
    import logging
    import signal
    from datetime import timedelta

    from app.jobs.worker import Worker, WorkerOptions
    from app.logs import quiet_libraries, ship_logs, stop_shipping

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    shipping = ship_logs(get_settings())  # also to a separate log system when SYSLOG_URL names one
    options = WorkerOptions(
        batch_size=batch_size, concurrency=concurrency, lease=timedelta(seconds=lease_seconds)
    )

    async def runner() -> None:
        async with Worker(get_settings(), options=options) as outbox_worker:
            if once:
                counts = await outbox_worker.drain()
                click.echo(f"Outbox drained: {counts}.")
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await outbox_worker.run(stop)

    try:
        asyncio.run(runner())
    finally:
        stop_shipping(shipping)


@main.command()
@click.option("--dry-run", is_flag=True, help="Count what is due; delete nothing.")
@click.option(
    "--today", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    help="Count (with --dry-run) as if today were this date, YYYY-MM-DD.",
)  # fmt: skip
def retention(dry_run: bool, on: datetime | None) -> None:
    """Delete the data of client relationships that ended over four years ago (§77), unless held.

    The worker does this daily by itself; this runs it now and prints the counts."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.domain import retention as retention_job
    from app.domain.forms import today

    day = on.date() if on else today()
    if day > today() and not dry_run:
        raise click.ClickException(
            "Data is never deleted before its date: use a later --today only with --dry-run."
        )

    async def runner() -> retention_job.Result:
        engine = make_engine(get_settings(), hide_parameters=True)
        try:
            return await retention_job.run(
                async_sessionmaker(engine, expire_on_commit=False), day, dry_run=dry_run
            )
        finally:
            await engine.dispose()

    click.echo(f"Retention on {day.isoformat()}: {asyncio.run(runner())}.")


def _print_demo_invitation(settings: Settings) -> None:
    """The migrant app: a fresh invitation for one demo client at every start (only hashes are stored)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.domain import demo as demo_data

    try:
        invitation = run_in_session(settings, lambda db: demo_data.app_invitation(db, settings))
    except SQLAlchemyError as error:  # the server starts anyway; the officer can make an invitation
        click.echo(f"No demo invitation to the migrant app: {error.__class__.__name__}.")
        return
    if invitation is None:
        return
    click.echo(f"Migrant app (/me/), demo client {invitation.client_name}:")
    click.echo(f"  open {invitation.url}")
    click.echo(f"  or go to {invitation.sign_in_url} and enter the code {invitation.short_code}")
    click.echo(
        "  then choose a language and create a passkey (valid 7 days, once; a new one at every start)."
    )


@main.command()
@click.option("--host", default=os.environ.get("HOST", "127.0.0.1"))
@click.option("--port", type=int, default=int(os.environ.get("PORT", "8000")))
@click.option("--workers", type=int, default=1)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the application with uvicorn."""
    import uvicorn

    settings = get_settings()
    accounts = demo_accounts_file(settings)
    click.echo(f"\nKotopolku runs at {settings.public_url}/  (back office: {settings.office_base}/officer/)")
    if accounts.exists():
        click.echo("Demo accounts (e-mail, password, roles):")
        for line in accounts.read_text().splitlines():
            click.echo("  " + line.replace("\t", "   "))
        _print_demo_invitation(settings)
    else:
        click.echo("Sign in with an account made by `kotopolku create-admin`.")
    if not settings.staff_second_factor:
        click.echo(
            "Officers sign in with a password alone (STAFF_SECOND_FACTOR=0); production asks for a second factor."
        )
    click.echo("Passkeys work at the address above (localhost), not at the bare IP address.\n")
    uvicorn.run("app.asgi:app", host=host, port=port, workers=workers, proxy_headers=True, log_level="info",
                server_header=False)  # fmt: skip


if __name__ == "__main__":
    main()
