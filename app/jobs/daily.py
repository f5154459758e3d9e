"""Daily jobs: each registered job runs at most once a day (Helsinki date), however many workers check.

A worker checks every hour (app/jobs/worker.py) and calls `run_due()`. For each job it makes sure the
job's `job_run` row exists (INSERT … ON CONFLICT DO NOTHING) and claims today's run with one conditional
UPDATE::

    UPDATE job_run SET last_run_on = :today, started_at = :now, finished_at = NULL, result = NULL
     WHERE name = :name AND (last_run_on IS NULL OR last_run_on < :today)

The row count says who won: 1 — this worker runs the job; 0 — another one already did (or does) today.
On PostgreSQL a concurrent UPDATE waits for the winner's commit and then finds the condition false; on
SQLite transactions begin IMMEDIATE, so one claims at a time. The same on both, with no advisory locks.

When the job finishes, `finished_at` and a result of counts only (never personal data) are recorded. A
job that fails records the error's class and gives the day back (last_run_on = yesterday), so the next
hourly check tries again; a worker killed mid-run leaves `finished_at` empty and the job runs tomorrow
(jobs are written to continue where they stopped).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import Insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.base import utcnow
from app.db.retention import JobRun
from app.domain import retention
from app.i18n import LOCAL_TIME

log = logging.getLogger("kotopolku.daily")

Sessions = async_sessionmaker[AsyncSession]
# A daily job: given the sessions and the time of the run, does its work and returns counts as text.
DailyJob = Callable[[Sessions, datetime], Awaitable[str]]


async def retention_job(sessions: Sessions, now: datetime) -> str:
    """§77: delete the data of relationships that ended four years ago, unless held."""
    return str(await retention.run(sessions, local_day(now), now=now))


JOBS: dict[str, DailyJob] = {retention.JOB_NAME: retention_job}


def local_day(now: datetime) -> date:
    return now.astimezone(LOCAL_TIME).date()


def _insert_missing(dialect: str, name: str) -> Insert:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(JobRun).values(name=name)
    return statement.on_conflict_do_nothing(index_elements=[JobRun.name])


async def claim(sessions: Sessions, name: str, now: datetime) -> bool:
    """Today's run of `name` for the caller (True), or someone else has it (False)."""
    today = local_day(now)
    async with sessions() as db, db.begin():
        await db.execute(_insert_missing(db.get_bind().dialect.name, name))
        result = await db.execute(
            update(JobRun)
            .where(JobRun.name == name, or_(JobRun.last_run_on.is_(None), JobRun.last_run_on < today))
            .values(last_run_on=today, started_at=now, finished_at=None, result=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def _finish(sessions: Sessions, name: str, result: str, *, failed_on: date | None = None) -> None:
    values: dict[str, object] = {"finished_at": utcnow(), "result": result[:400]}
    if failed_on is not None:
        values["last_run_on"] = failed_on - timedelta(days=1)  # not run today: the next check retries
    async with sessions() as db, db.begin():
        await db.execute(update(JobRun).where(JobRun.name == name).values(**values))


async def run_due(
    target: Sessions | AsyncEngine,
    now: datetime | None = None,
    jobs: Mapping[str, DailyJob] | None = None,
) -> dict[str, str]:
    """Run every job not yet run today (by anyone). Returns what this call ran: name → result."""
    sessions = (
        async_sessionmaker(target, expire_on_commit=False) if isinstance(target, AsyncEngine) else target
    )
    now = now or utcnow()
    ran: dict[str, str] = {}
    for name, job in (JOBS if jobs is None else jobs).items():
        if not await claim(sessions, name, now):
            continue
        try:
            result = await job(sessions, now)
        except Exception as exc:
            log.warning(
                "daily job %s failed (%s); it is tried again at the next check", name, type(exc).__name__
            )
            log.debug("daily job failure", exc_info=True)
            await _finish(sessions, name, f"failed: {type(exc).__name__}", failed_on=local_day(now))
            ran[name] = f"failed: {type(exc).__name__}"
            continue
        await _finish(sessions, name, result)
        log.info("daily job %s: %s", name, result)
        ran[name] = result
    return ran
