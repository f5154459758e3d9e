"""Archiving and retention (service 17, §77) with the clock moved forward: an ended relationship is kept
for four years, read-only, then deleted by the daily job — unless a pending matter holds it — leaving
only anonymous statistics and an audit event without personal data. The daily job runs once a day
however many workers ask; the managers' register lists coming deletions and holds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from babel.dates import format_date
from sqlalchemy import func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.db.appointment import Appointment, AppointmentClient, Task
from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.client import Client, ClientStatus, EndReason, FamilyLink, FamilyRelation, HealthInformation
from app.db.contracts import Contract, ContractKind
from app.db.costs import Cost, CostCategory
from app.db.messaging import Message, Thread, TranslationRequest
from app.db.models import Base
from app.db.organisation import Role
from app.db.plan import FamilyOverview, FamilyOverviewMember
from app.db.retention import AnonymisedClient, JobRun, RetentionHold
from app.domain import retention, rules
from app.domain.audit import verify_chain
from app.domain.forms import today
from app.jobs import daily
from app.jobs.worker import Worker, WorkerOptions
from app.settings import ROOT, Settings
from tests.conftest import client_section, post, sign_in
from tests.integration.test_access_matrix import (
    MATRIX,
    Case,
    World,
    build_world,
    send,
    sign_in_as,
    snapshot,
)

T = TypeVar("T")


def four_years_before(day: date) -> date:
    return rules.add_years(day, -rules.RETENTION_YEARS)


def run_async(settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """`work` with sessions of an engine of its own (as a worker process has)."""
    from app.db.engine import make_engine

    async def runner() -> T:
        engine = make_engine(settings)
        try:
            return await work(async_sessionmaker(engine, expire_on_commit=False))
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def daily_run(settings: Settings, now: datetime | None = None) -> dict[str, str]:
    return run_async(settings, lambda sessions: daily.run_due(sessions, now or utcnow()))


def end(db: Session, person: Client, ended_on: date, reason: EndReason = EndReason.MOVED_AWAY) -> None:
    db.execute(
        update(Client)
        .where(Client.id == person.id)
        .values(status=ClientStatus.ENDED, ended_on=ended_on, end_reason=reason)
    )
    db.commit()


def exists(db: Session, client_id: uuid.UUID) -> bool:
    db.commit()  # a fresh snapshot; the objects at hand stay as they are
    return bool(db.scalar(select(func.count()).select_from(Client).where(Client.id == client_id)))


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta")


@pytest.fixture
def officer(factory, home):
    return factory.staff(home, Role.INTEGRATION_OFFICER)


# --- the deletion ---------------------------------------------------------------------------------


def test_four_years_and_a_day_after_the_end_the_data_is_deleted_and_only_statistics_remain(
    factory, home, officer, db, settings
):
    on = today()
    gone = factory.client(
        home,
        first_names="Zainab",
        last_name="Rahimi",
        identity_code="150685-946K",
        phone="+358401112223",
        mother_tongue="fa",
        date_of_birth=date(1985, 6, 15),
        known_on=date(2019, 1, 10),
        segment=2,
    )
    kept = factory.client(home, first_names="Yusuf", last_name="Karimi")
    db.add(
        HealthInformation(client_id=gone.id, text="Selkävaiva", source="Asiakas", recorded_by_id=officer.id)
    )
    db.add_all(
        [
            FamilyLink(client_id=gone.id, related_client_id=kept.id, relation=FamilyRelation.SPOUSE),
            FamilyLink(client_id=kept.id, related_client_id=gone.id, relation=FamilyRelation.SPOUSE),
        ]
    )
    db.commit()
    end(db, gone, four_years_before(on) - timedelta(days=1), EndReason.EMPLOYED)
    end(db, kept, four_years_before(on) + timedelta(days=1))

    assert daily_run(settings) == {"retention": "deleted 1, held 0, batches 1"}

    assert not exists(db, gone.id) and exists(db, kept.id)
    assert db.scalar(select(func.count()).select_from(FamilyLink)) == 0  # both directions
    assert db.scalar(select(func.count()).select_from(HealthInformation)) == 0
    stats = db.scalars(select(AnonymisedClient)).one()
    assert (stats.organisation_id, stats.segment, stats.known_month, stats.ended_month) == (
        home.id,
        2,
        date(2019, 1, 1),
        (four_years_before(on) - timedelta(days=1)).replace(day=1),
    )
    assert (stats.end_reason, stats.mother_tongue, stats.had_assessment, stats.had_plan) == (
        "employed",
        "fa",
        False,
        False,
    )
    assert stats.age_group == retention.age_group(
        date(1985, 6, 15), four_years_before(on) - timedelta(days=1)
    )

    # The deletion is in the audit log: the system deleted this id, for this organisation — and nothing
    # in the event (or anywhere in the log) names the person.
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).one()
    assert (event.actor_kind, event.client_id, event.object_type, event.object_id) == (
        "system",
        gone.id,
        "client",
        str(gone.id),
    )
    assert event.actor_organisation_id == home.id and event.actor_id is None
    as_json = json.dumps({c.key: str(getattr(event, c.key)) for c in inspect(AuditEvent).column_attrs})
    for personal in ("Zainab", "Rahimi", "150685-946K", "+358401112223", "Selkävaiva"):
        assert personal not in as_json
    everything = " ".join(json.dumps(e.fields) + (e.object_id or "") for e in db.scalars(select(AuditEvent)))
    assert "Rahimi" not in everything and "150685" not in everything
    assert verify_chain(db).ok

    run = db.get(JobRun, "retention")
    assert (
        run.last_run_on == on and run.finished_at is not None and run.result == "deleted 1, held 0, batches 1"
    )


def test_every_record_that_hangs_on_a_deleted_client_goes_and_the_organisations_records_stay(
    factory, db, settings
):
    """The richest client the tests know (the access matrix's: assessments with an amendment, a plan
    with versions and approvals, appointments, an interpretation, tasks, messages with translations and
    translation requests, the app's passkeys, sessions and invitations, notifications...). Nothing may
    block the deletion on either database, and nothing about the client may stay behind."""
    world = build_world(factory, db)
    aino = world.own.client_id
    own = world.own
    sibling = own.related_client_id
    db.add_all(
        [
            FamilyLink(client_id=aino, related_client_id=sibling, relation=FamilyRelation.SPOUSE),
            FamilyLink(client_id=sibling, related_client_id=aino, relation=FamilyRelation.SPOUSE),
            FamilyOverview(
                organisation_id=own.organisation_id,
                created_by_id=own.staff_id,
                shared_goals="Ainon oma tavoite",
                members=[FamilyOverviewMember(client_id=aino)],
            ),
            FamilyOverview(
                organisation_id=own.organisation_id,
                created_by_id=own.staff_id,
                shared_goals="Yhteinen tavoite",
                members=[FamilyOverviewMember(client_id=aino), FamilyOverviewMember(client_id=sibling)],
            ),
            Cost(
                organisation_id=own.organisation_id,
                client_id=aino,
                category=CostCategory.INTERPRETATION,
                amount=Decimal("120.00"),
                incurred_on=today() - timedelta(days=3000),
                accounting_code="4390",
                recorded_by_id=own.staff_id,
            ),
            Contract(
                organisation_id=own.organisation_id,
                kind=ContractKind.HOUSING_LEASE,
                subject="Vuokrasopimus, Kotikatu 3 B 12",
                provider_name="Kunnan Asunnot Oy",
                starts_on=today() - timedelta(days=3000),
                client_id=aino,
            ),
        ]
    )
    # The world may hold the client for a pending matter (the access matrix's hold): that matter is over.
    db.execute(
        update(RetentionHold)
        .where(RetentionHold.client_id == aino)
        .values(released_at=utcnow(), released_by_id=own.staff_id)
    )
    db.commit()
    end(db, db.get(Client, aino), four_years_before(today()) - timedelta(days=1))
    appointments = db.scalars(
        select(AppointmentClient.appointment_id).where(AppointmentClient.client_id == aino)
    ).all()
    messages = db.scalars(select(Message.id).join(Thread).where(Thread.client_id == aino)).all()
    assert appointments and messages
    b_before = snapshot(db, world).other

    assert daily_run(settings)["retention"].startswith("deleted 1,")

    db.expire_all()
    assert not exists(db, aino)
    # No row anywhere refers to the client any more.
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "client" for fk in column.foreign_keys):
                left = db.scalar(select(func.count()).select_from(table).where(column == aino))
                assert left == 0, f"{table.name}.{column.name} still refers to the deleted client"
    # What was only about the client went with it.
    assert (
        db.scalar(select(func.count()).select_from(Appointment).where(Appointment.id.in_(appointments))) == 0
    )
    assert db.scalar(select(func.count()).select_from(TranslationRequest).where(
        TranslationRequest.message_id.in_(messages))) == 0  # fmt: skip
    assert db.scalar(select(func.count()).select_from(Task).where(Task.title == own.task_title)) == 0
    overviews = db.scalars(select(FamilyOverview.shared_goals)).all()
    assert "Ainon oma tavoite" not in overviews and "Yhteinen tavoite" in overviews
    # The organisation's own records stay, without the link to the person.
    long_ago = today() - timedelta(days=3000)
    assert db.scalars(select(Cost.client_id).where(Cost.incurred_on == long_ago)).all() == [None]
    assert db.scalars(select(Contract.client_id).where(Contract.starts_on == long_ago)).all() == [None]
    assert db.scalar(select(func.count()).select_from(Cost).where(Cost.client_id == aino)) == 0
    # Everyone else is untouched: the sibling, the other clients, the other organisation.
    assert exists(db, sibling) and exists(db, own.transfer_client_id)
    assert snapshot(db, world).other == b_before
    stats = db.scalars(select(AnonymisedClient)).one()
    assert stats.had_assessment and stats.had_plan and stats.mother_tongue == "ar"
    assert verify_chain(db).ok


def test_the_job_works_in_batches(factory, home, db, settings):
    people = [factory.client(home, first_names=f"Henkilö{i}") for i in range(5)]
    for person in people:
        end(db, person, four_years_before(today()) - timedelta(days=30))

    result = run_async(settings, lambda s: retention.run(s, today(), batch_size=2))

    assert (result.deleted, result.batches, result.held) == (5, 3, 0)
    assert db.scalar(select(func.count()).select_from(Client)) == 0
    assert db.scalar(select(func.count()).select_from(AnonymisedClient)) == 5
    # Every row of one run carries the same time: the register counts a run's deletions by it.
    assert db.scalar(select(func.count(func.distinct(AnonymisedClient.anonymised_at)))) == 1


def test_a_hold_keeps_the_data_until_it_is_released(client, factory, home, officer, db, settings):
    person = factory.client(home, first_names="Leila", last_name="Haidari")
    end(db, person, four_years_before(today()) - timedelta(days=1))
    sign_in(client, officer)
    page = client_section(client, person.id, "retention")
    assert "The data can be read but not changed" in page.text
    assert "The retention period has passed" in page.text

    missing = post(client, f"/officer/clients/{person.id}/holds", {"hold_reason": "  "})
    assert missing.status_code == 422 and 'id="hold_reason-error"' in missing.text
    placed = post(
        client, f"/officer/clients/{person.id}/holds", {"hold_reason": "Valitus hallinto-oikeudessa"}
    )
    assert placed.status_code == 303
    hold = db.scalars(select(RetentionHold)).one()
    assert hold.placed_by_id == officer.id and hold.released_at is None

    assert daily_run(settings) == {"retention": "deleted 0, held 1, batches 0"}
    assert exists(db, person.id)
    assert "A pending matter holds the data" in client.get(placed.headers["location"]).text  # open there

    # Released with the version the page showed; an old version is a conflict, not a release.
    url = f"/officer/clients/{person.id}/holds/{hold.id}/release"
    stale = post(client, url, {"version": str(hold.version - 1)})
    assert stale.status_code == 409 and "Someone else changed this hold" in stale.text
    assert post(client, url, {"version": str(hold.version)}).status_code == 303
    db.expire_all()
    assert db.get(RetentionHold, hold.id).released_by_id == officer.id
    assert post(client, url, {"version": str(hold.version + 1)}).status_code == 409  # released already

    assert daily_run(settings) == {}  # today's run is done: nothing runs twice in a day
    assert exists(db, person.id)
    tomorrow = utcnow() + timedelta(days=1)
    assert daily_run(settings, tomorrow) == {"retention": "deleted 1, held 0, batches 1"}
    assert not exists(db, person.id)
    assert db.scalar(select(func.count()).select_from(RetentionHold)) == 0


def test_holds_belong_to_the_responsible_organisation(client, factory, home, db):
    person = factory.client(home)
    end(db, person, today() - timedelta(days=10))
    stranger = factory.staff(factory.organisation("Muukunta"), Role.INTEGRATION_OFFICER)
    sign_in(client, stranger)
    assert post(client, f"/officer/clients/{person.id}/holds", {"hold_reason": "x"}).status_code == 404
    client.cookies.clear()
    manager = factory.staff(home, Role.MANAGER)  # managers keep the register: they may hold too
    sign_in(client, manager)
    assert (
        post(client, f"/officer/clients/{person.id}/holds", {"hold_reason": "Korvaushakemus"}).status_code
        == 303
    )
    hold = db.scalars(select(RetentionHold)).one()
    client.cookies.clear()
    sign_in(client, stranger)
    release = f"/officer/clients/{person.id}/holds/{hold.id}/release"
    assert post(client, release, {"version": str(hold.version)}).status_code == 404
    other = factory.client(home)
    client.cookies.clear()
    sign_in(client, manager)
    # Another client's hold id under this client: not found.
    assert (
        post(client, f"/officer/clients/{other.id}/holds/{hold.id}/release", {"version": "1"}).status_code
        == 404
    )
    assert db.get(RetentionHold, hold.id).released_at is None


# --- once a day -----------------------------------------------------------------------------------


def test_a_daily_job_runs_once_a_day_however_many_workers_ask(settings, db):
    ran: list[datetime] = []

    async def job(_sessions: Any, now: datetime) -> str:
        ran.append(now)
        await asyncio.sleep(0.05)
        return "counted 1"

    jobs = {"test-job": job}
    now = utcnow()
    results = run_async(settings, lambda s: daily.run_due(s, now, jobs))
    assert results == {"test-job": "counted 1"} and len(ran) == 1
    assert run_async(settings, lambda s: daily.run_due(s, now + timedelta(hours=1), jobs)) == {}

    async def two_workers() -> list[dict[str, str]]:
        from app.db.engine import make_engine

        engines = [make_engine(settings), make_engine(settings)]
        try:
            later = now + timedelta(days=1)
            return list(await asyncio.gather(*(daily.run_due(e, later, jobs) for e in engines * 2)))
        finally:
            for engine in engines:
                await engine.dispose()

    outcomes = asyncio.run(two_workers())
    assert len(ran) == 2 and sorted(map(len, outcomes)) == [0, 0, 0, 1]
    row = db.get(JobRun, "test-job")
    assert row.last_run_on == daily.local_day(now + timedelta(days=1)) and row.result == "counted 1"


def test_a_failed_daily_job_is_tried_again_at_the_next_check(settings, db):
    calls: list[int] = []

    async def job(_sessions: Any, _now: datetime) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return "done"

    now = utcnow()
    first = run_async(settings, lambda s: daily.run_due(s, now, {"flaky": job}))
    assert first == {"flaky": "failed: RuntimeError"}
    assert db.get(JobRun, "flaky").result == "failed: RuntimeError"
    assert run_async(settings, lambda s: daily.run_due(s, now + timedelta(hours=1), {"flaky": job})) == {
        "flaky": "done"
    }
    assert len(calls) == 2


def test_the_outbox_worker_runs_the_daily_jobs(settings, factory, home, db):
    person = factory.client(home)
    end(db, person, four_years_before(today()) - timedelta(days=1))

    async def work() -> None:
        async with Worker(settings, options=WorkerOptions(poll_interval=0.05)) as worker:
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            for _ in range(200):
                await asyncio.sleep(0.05)
                async with worker.sessions() as session:
                    found = await session.get(JobRun, "retention")
                    if found is not None and found.finished_at is not None:
                        break
            stop.set()
            await task

    asyncio.run(work())
    assert db.get(JobRun, "retention").result == "deleted 1, held 0, batches 1"
    assert not exists(db, person.id)


def test_the_retention_command(factory, home, db, settings, database_url):
    person = factory.client(home)
    end(db, person, four_years_before(today()) + timedelta(days=10))  # due in ten days
    env = {"DATABASE_URL": database_url, "SECRET_KEY": settings.secret_key, "PYTHONDONTWRITEBYTECODE": "1"}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run(
            [sys.executable, "-m", "app.cli", "retention", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    later = (today() + timedelta(days=20)).isoformat()
    counted = command("--dry-run", "--today", later)
    assert counted.returncode == 0, counted.stderr
    assert "due 1, held 0 (dry run: nothing deleted)" in counted.stdout
    assert exists(db, person.id)
    refused = command("--today", later)  # deleting before the date the law gives: never
    assert refused.returncode != 0 and exists(db, person.id)
    now = command()
    assert now.returncode == 0 and "deleted 0, held 0" in now.stdout
    assert exists(db, person.id)


# --- the managers' register -----------------------------------------------------------------------


def test_the_managers_register_lists_coming_deletions_holds_and_runs(
    client, factory, home, officer, db, settings
):
    on = today()
    soon = factory.client(home, first_names="Samira", last_name="Ahmadi")
    later = factory.client(home, first_names="Laila", last_name="Nazari")
    held = factory.client(home, first_names="Hamid", last_name="Sultani")
    factory.client(home, first_names="Aktiivi", last_name="Asiakas")  # active: not listed
    elsewhere = factory.client(factory.organisation("Muukunta"), first_names="Muu", last_name="Kuntalainen")
    end(db, soon, four_years_before(on) + timedelta(days=30))
    end(db, later, four_years_before(on) + timedelta(days=200))
    end(db, held, four_years_before(on) - timedelta(days=5))
    end(db, elsewhere, four_years_before(on) + timedelta(days=30))
    db.add(RetentionHold(client_id=held.id, reason="Oikaisuvaatimus vireillä", placed_by_id=officer.id))
    gone = factory.client(home, first_names="Poistuva")
    end(db, gone, four_years_before(on) - timedelta(days=1))
    daily_run(settings)

    manager = factory.staff(home, Role.MANAGER)
    sign_in(client, manager)
    page = client.get("/officer/retention")
    assert page.status_code == 200
    text = page.text
    due = rules.deletion_due(four_years_before(on) + timedelta(days=30))
    assert "Ahmadi, Samira" in text and format_date(due, "medium", locale="en") in text
    assert "Nazari" not in text  # beyond 90 days
    assert "Sultani, Hamid" in text and "Oikaisuvaatimus vireillä" in text
    assert "Asiakas" not in text and "Kuntalainen" not in text  # active; another organisation's
    assert "Poistuva" not in text  # deleted: only the count of the run remains
    assert "Clients deleted" in text
    event = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "retention")).one()
    assert event.actor_id == manager.id and event.action == "view"

    client.cookies.clear()
    sign_in(client, officer)
    assert client.get("/officer/retention").status_code == 403


# --- an ended relationship is read-only -----------------------------------------------------------

# Routes that still act on an ended relationship, on purpose (the reason at each).
ALLOWED_ON_ENDED = {
    ("POST", "/officer/clients/{client_id:uuid}/holds"),  # the one change to the data: a pending matter
    ("POST", "/officer/clients/{client_id:uuid}/holds/{hold_id:uuid}/release"),
    ("POST", "/officer/clients/{client_id:uuid}/reopen"),  # the person came back
    ("POST", "/officer/appointments/{appointment_id:uuid}/cancel"),  # no meeting with someone gone
    ("POST", "/officer/appointments/{appointment_id:uuid}/delete"),
    ("POST", "/officer/tasks/{task_id:uuid}/toggle"),  # done: off the officer's list (tested below)
    # Less sharing, never more: the county's access can still be withdrawn or ended.
    ("POST", "/officer/clients/{client_id:uuid}/cooperation/{cooperation_id:uuid}/withdraw"),
    ("POST", "/officer/clients/{client_id:uuid}/cooperation/{cooperation_id:uuid}/end"),
    # Invoices arrive after the end; costs are the organisation's records (kept after the deletion).
    ("POST", "/officer/compensation/clients/{client_id:uuid}/costs"),
}
# What a client's POST route is aimed at: the client, or a record of theirs.
CLIENT_RECORDS = (
    "{client_id",
    "{assessment_id",
    "{plan_id",
    "{overview_id",
    "{appointment_id",
    "{task_id",
    "{thread_id",
    "{request_id",
)
# POST routes that name the client in the form rather than in the path.
CLIENT_IN_FORM = {"/officer/appointments/new", "/officer/tasks/new"}


# How a refusal looks where it is not a plain 403 (with the words that tell why).
ENDED_APPOINTMENT = "The client relationship of"  # … <name> has ended: take them off the appointment
ENDED_MESSAGES = "The client relationship has ended: its messages are kept as they are"
REFUSALS: dict[tuple[str, str], tuple[int, str | None]] = {
    ("POST", "/officer/appointments/new"): (422, ENDED_APPOINTMENT),
    ("POST", "/officer/appointments/{appointment_id:uuid}/edit"): (422, ENDED_APPOINTMENT),
    ("POST", "/officer/translation-requests/{request_id:uuid}"): (409, ENDED_MESSAGES),
    ("POST", "/officer/translation-requests/{request_id:uuid}/check"): (409, ENDED_MESSAGES),
    ("POST", "/officer/clients/{client_id:uuid}/end"): (422, "The client relationship has already ended."),
    ("POST", "/officer/clients/{client_id:uuid}/health"): (404, None),  # as without the health right
}


def client_cases() -> list[Case]:
    return [
        case
        for case in MATRIX
        if case.method == "POST"
        and (case.method, case.path) not in ALLOWED_ON_ENDED
        and (any(p in case.path for p in CLIENT_RECORDS) or case.path in CLIENT_IN_FORM)
    ]


def own_versions(db: Session, world: World) -> dict[str, int]:
    return dict(world.own.fresh(db).versions)


def test_every_change_to_an_ended_client_is_refused(client, factory, db):
    world = build_world(factory, db)
    # Every client of the organisation has ended (the transfer, the family overview and the group
    # message name others of them).
    db.execute(
        update(Client)
        .where(Client.organisation_id == world.own.organisation_id)
        .values(
            status=ClientStatus.ENDED, ended_on=today() - timedelta(days=10), end_reason=EndReason.MOVED_AWAY
        )
    )
    db.commit()
    sign_in_as(client, world, Role.INTEGRATION_OFFICER)
    cases = client_cases()
    assert len(cases) > 40  # the walk covers the client-scoped routes, not a handful
    failures = []
    for case in cases:
        target = world.own_target(Role.INTEGRATION_OFFICER).fresh(db)
        before, versions = snapshot(db, world), own_versions(db, world)
        response = send(client, case, target)
        after = snapshot(db, world)
        problems = []
        expected, reason = REFUSALS.get((case.method, case.path), (403, None))
        if response.status_code != expected:
            problems.append(f"answered {response.status_code}, expected {expected}")
        elif reason and reason not in response.text:
            problems.append(f"does not say why ({reason!r})")
        changed = [t for t, n in before.counts.items() if after.counts[t] != n]
        if changed:
            problems.append(f"rows added or removed in {changed}")
        if own_versions(db, world) != versions:
            problems.append("a record of the organisation changed")
        if problems:
            failures.append(f"  {case}: {'; '.join(problems)}")
    assert not failures, "changes to an ended client:\n" + "\n".join(failures)


def test_an_ended_client_page_is_read_only_and_only_the_allowed_changes_remain(
    client, factory, home, officer, db
):
    person = factory.client(home, first_names="Farid", last_name="Noori")
    task = Task(organisation_id=home.id, title="Soita", assignee_id=officer.id, client_id=person.id,
                created_by_id=officer.id)  # fmt: skip
    db.add(task)
    db.commit()
    sign_in(client, officer)
    response = post(
        client,
        f"/officer/clients/{person.id}/end",
        {"ended_on": today().isoformat(), "end_reason": "moved_away", "version": str(person.version)},
    )
    assert response.status_code == 303
    page = client.get(f"/officer/clients/{person.id}").text
    assert f'href="/officer/clients/{person.id}/edit"' not in page
    assert f'href="/officer/clients/{person.id}/subject-access"' in page  # still answered
    consents = client_section(client, person.id, "consents").text
    assert (
        "No consents recorded." in consents
        and f'action="/officer/clients/{person.id}/consents"' not in consents
    )
    holds = client_section(client, person.id, "retention").text
    assert f'action="/officer/clients/{person.id}/holds"' in holds  # the one change allowed
    # The client's task can be marked done (it leaves the list), not opened again.
    toggle = f"/officer/tasks/{task.id}/toggle"
    assert post(client, toggle, {"done": "1"}).status_code == 303
    assert post(client, toggle, {"done": "0"}).status_code == 403
    db.expire_all()
    assert db.get(Task, task.id).done_at is not None


def test_a_person_who_comes_back_before_the_deletion_continues_the_same_relationship(
    client, factory, home, officer, db, settings
):
    person = factory.client(home, first_names="Omid", last_name="Jafari", identity_code="010190-123A")
    end(db, person, four_years_before(today()) + timedelta(days=3))
    sign_in(client, officer)
    page = client_section(client, person.id, "retention").text
    assert "Reopen the client relationship" in page
    db.expire_all()
    version = db.get(Client, person.id).version
    assert (
        post(client, f"/officer/clients/{person.id}/reopen", {"version": str(version - 1)}).status_code == 409
    )
    assert post(client, f"/officer/clients/{person.id}/reopen", {"version": str(version)}).status_code == 303
    db.expire_all()
    back = db.get(Client, person.id)
    assert (back.status, back.ended_on, back.end_reason) == (ClientStatus.ACTIVE, None, None)
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.client_id == person.id, AuditEvent.action == "update")
    ).all()[-1]
    assert set(event.fields) == {"status", "ended_on", "end_reason", "end_note"}
    assert daily_run(settings, utcnow() + timedelta(days=10)) == {"retention": "deleted 0, held 0, batches 0"}
    assert exists(db, person.id)  # the retention clock stopped

    # Past the deletion date the data is not to be had back: a new registration.
    late = factory.client(home)
    end(db, late, four_years_before(today()) - timedelta(days=1))
    late_section = client_section(client, late.id, "retention").text
    assert (
        "Holds for pending matters" in late_section and "Reopen the client relationship" not in late_section
    )
    refused = post(client, f"/officer/clients/{late.id}/reopen", {"version": str(late.version)})
    assert refused.status_code == 409 and "Register the person as a new client" in refused.text
    manager = factory.staff(home, Role.MANAGER)
    client.cookies.clear()
    sign_in(client, manager)
    assert post(client, f"/officer/clients/{person.id}/reopen", {"version": "1"}).status_code == 403


def test_age_groups_and_the_last_deletable_end_date():
    assert retention.age_group(date(2000, 3, 1), date(2025, 2, 28)) == "18-29"
    assert retention.age_group(date(1980, 3, 1), date(2025, 2, 28)) == "30-44"
    assert retention.age_group(date(1980, 3, 1), date(2025, 3, 1)) == "45-64"
    assert retention.age_group(date(1950, 1, 1), date(2025, 1, 1)) == "65+"
    assert retention.age_group(None, date(2025, 1, 1)) is None
    for on in (date(2028, 2, 29), date(2027, 3, 1), date(2026, 12, 31), date(2027, 2, 28)):
        last = retention.latest_deletable_end(on)
        assert rules.deletion_due(last) <= on < rules.deletion_due(last + timedelta(days=1))


def test_named_feedback_stays_in_the_quality_figures_as_anonymous_feedback(factory, home, db, settings):
    from app.db.client_app import Feedback, FeedbackSubject

    person = factory.client(home, first_names="Palautteen", last_name="Antaja")
    at = datetime(2021, 5, 4, 13, 27, tzinfo=UTC)
    given = Feedback(organisation_id=home.id, client_id=person.id, subject=FeedbackSubject.APP, rating=4,
                     comment="Terveisin Palautteen Antaja", language="fi", created_at=at)  # fmt: skip
    db.add(given)
    db.commit()
    end(db, person, four_years_before(today()) - timedelta(days=1))
    daily_run(settings)
    assert not exists(db, person.id)
    db.expire_all()
    kept = db.scalar(select(Feedback).where(Feedback.id == given.id))
    assert kept is not None and kept.rating == 4 and kept.subject == FeedbackSubject.APP
    assert kept.client_id is None and kept.comment is None
    assert kept.created_at == datetime(2021, 5, 4, tzinfo=UTC)


# --- people who never became clients ---------------------------------------------------------------


def test_intake_records_of_people_who_never_became_clients_go_four_years_after_their_matter_closed(
    factory, home, officer, db, settings
):
    from app.db.arrivals import Arrival, ArrivalKind, ArrivalPerson, ArrivalRole, ArrivalStatus
    from app.db.outreach import (
        AuthorityReferral,
        Benefit,
        BenefitSource,
        BenefitStatus,
        BenefitType,
        OutreachItem,
        OutreachReason,
        OutreachStatus,
        ReferralStatus,
    )

    closed = datetime.combine(four_years_before(today()) - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    recent = utcnow() - timedelta(days=400)
    client_record = factory.client(home, first_names="Asiakas")

    def item(name: str, changed: datetime, client_id: uuid.UUID | None = None) -> OutreachItem:
        row = OutreachItem(organisation_id=home.id, reason=OutreachReason.MOVED_IN, status=OutreachStatus.DECLINED,
                           first_names=name, last_name="Tavoitettava", client_id=client_id)  # fmt: skip
        db.add(row)
        db.flush()
        db.add(Benefit(organisation_id=home.id, outreach_item_id=row.id, type=BenefitType.SOCIAL_ASSISTANCE,
                       status=BenefitStatus.RECEIVING, source=BenefitSource.OFFICER))  # fmt: skip
        db.execute(update(OutreachItem).where(OutreachItem.id == row.id).values(updated_at=changed))
        return row

    def referral(name: str, status: ReferralStatus, decided: datetime | None) -> AuthorityReferral:
        row = AuthorityReferral(organisation_id=home.id, status=status, authority_name="Poliisi", contact_name="K",
                                contact_email="k@example.fi", first_names=name, last_name="Ilmoitettu",
                                reason="Tarvitsee arvioinnin", consent_given=True, consent_on=today(),
                                decided_at=decided)  # fmt: skip
        db.add(row)
        return row

    def arrival(status: ArrivalStatus, changed: datetime, linked: bool = False) -> Arrival:
        row = Arrival(organisation_id=home.id, kind=ArrivalKind.QUOTA_REFUGEES, status=status,
                      received_on=today(), sender="ELY-keskus", created_by_id=officer.id)  # fmt: skip
        db.add(row)
        db.flush()
        db.add(ArrivalPerson(arrival_id=row.id, role=ArrivalRole.SINGLE, first_names="Saapuva",
                             last_name="Henkilö", client_id=client_record.id if linked else None))  # fmt: skip
        db.flush()
        db.execute(update(Arrival).where(Arrival.id == row.id).values(updated_at=changed))
        return row

    gone = [
        item("Vanha", closed),
        referral("Hylätty", ReferralStatus.DECLINED, closed),
        arrival(ArrivalStatus.DECLINED, closed),
        arrival(ArrivalStatus.ARRIVED, closed),  # every person's client data already deleted
    ]
    kept = [
        item("Tuore", recent),
        item("Asiakkaaksi", closed, client_id=client_record.id),  # goes with the client's own data
        referral("Odottaa", ReferralStatus.RECEIVED, None),  # undecided: a pending matter
        referral("Tuore", ReferralStatus.DECLINED, recent),
        arrival(ArrivalStatus.ACCEPTED, closed),  # open: a pending matter
        arrival(ArrivalStatus.ARRIVED, closed, linked=True),  # a person is still a client
    ]
    db.commit()
    gone_ids = [(type(row), row.id) for row in gone]
    kept_ids = [(type(row), row.id) for row in kept]

    result = run_async(settings, lambda s: retention.run(s, today()))

    db.expunge_all()
    assert result.intake_deleted == len(gone)
    assert [db.get(model, id_) for model, id_ in gone_ids] == [None] * len(gone)
    assert all(db.get(model, id_) is not None for model, id_ in kept_ids)
    assert db.scalar(select(func.count()).select_from(Benefit)) == 2  # the deleted item's benefit went too
    assert db.scalar(select(func.count()).select_from(ArrivalPerson)) == 2
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).all()
    assert sorted((e.object_type, e.object_id) for e in events) == sorted(
        (object_type, str(row.id))
        for object_type, row in zip(
            ("outreach_item", "authority_referral", "arrival", "arrival"), gone, strict=True
        )
    )
    assert all(e.actor_kind == "system" and e.client_id is None for e in events)
    assert verify_chain(db).ok
