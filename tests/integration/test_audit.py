"""The audit log: written in the same transaction, hash-chained, verifiable, searchable by managers."""

import subprocess
import sys

from sqlalchemy import func, select, text, update

from app.db.audit import AuditEvent
from app.db.organisation import Organisation, Role
from app.domain.audit import verify_chain
from tests.conftest import post, sign_in


def run_verify(database_url):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit-verify"],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        check=False,
    )


def make_history(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    record = factory.client(db.get(Organisation, officer.organisation_id))
    for _ in range(3):
        client.get(f"/officer/clients/{record.id}")
    return officer, record


def test_the_chain_verifies_and_names_the_first_tampered_row(client, factory, db, database_url):
    make_history(client, factory, db)
    assert verify_chain(db).ok
    ok = run_verify(database_url)
    assert ok.returncode == 0, ok.stderr
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    target = events[2]
    db.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(action="update"))
    db.commit()
    report = verify_chain(db)
    assert report.broken_event_id == target.id and report.chain == target.chain
    broken = run_verify(database_url)
    assert broken.returncode == 1
    assert f"event {target.id} " in broken.stderr


def test_a_deleted_row_or_a_cut_tail_is_noticed(client, factory, db):
    _officer, record = make_history(client, factory, db)
    for _ in range(40):  # 44 events over 16 chains: some chain surely holds two or more
        client.get(f"/officer/clients/{record.id}")
    # Remove the first event of the busiest chain, then the whole chain.
    chain = db.scalar(
        select(AuditEvent.chain).group_by(AuditEvent.chain).order_by(func.count().desc()).limit(1)
    )
    in_chain = select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
    first, second = db.scalars(in_chain).all()[:2]
    db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": first.id})
    db.commit()
    report = verify_chain(db)
    assert (report.chain, report.broken_event_id, report.seq) == (chain, second.id, second.seq)
    assert report.problem == "position 1 is missing"
    db.execute(text("DELETE FROM audit_event WHERE chain = :c"), {"c": chain})
    db.commit()
    report = verify_chain(db)
    assert not report.ok and report.chain == chain and report.broken_event_id is None


def test_a_failed_change_leaves_no_audit_event(client, factory, db):
    _officer, record = make_history(client, factory, db)
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    response = post(client, f"/officer/clients/{record.id}", {"first_names": "", "version": "1"})
    assert response.status_code == 422
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_the_access_history_shows_who_looked(client, factory, db):
    officer, record = make_history(client, factory, db)
    page = client.get(f"/officer/clients/{record.id}/access-history")
    assert page.status_code == 200
    assert page.text.count(officer.full_name) >= 3


def test_managers_search_the_log_of_their_own_organisation(client, factory, db):
    officer, record = make_history(client, factory, db)
    organisation = db.get(Organisation, officer.organisation_id)
    manager = factory.staff(organisation, Role.MANAGER)
    outsider = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    client.cookies.clear()
    sign_in(client, outsider)
    client.cookies.clear()
    sign_in(client, manager)
    page = client.get(f"/officer/audit?action=view&client={record.id}")
    assert page.status_code == 200
    assert officer.full_name in page.text and outsider.full_name not in page.text
    everything = client.get("/officer/audit").text
    assert outsider.full_name not in everything
    # The staff filter is text, not a LIKE pattern: "%" finds no one, a part of the name finds the officer.
    assert officer.full_name not in client.get("/officer/audit", params={"staff": "%"}).text
    part = officer.full_name.split()[-1][1:4]
    assert officer.full_name in client.get("/officer/audit", params={"staff": part.upper()}).text


def test_officers_cannot_search_the_whole_log(client, factory, db):
    make_history(client, factory, db)
    assert client.get("/officer/audit").status_code == 403


def test_concurrent_appends_keep_every_chain_intact(settings, engine, db):
    """Forty transactions append at once (on PostgreSQL they really overlap); no event is lost or forked."""
    import asyncio

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.db.engine import make_engine
    from app.domain import audit

    async def burst() -> None:
        async_engine = make_engine(settings)
        sessions = async_sessionmaker(async_engine)

        async def one(n: int) -> None:
            async with sessions() as session, session.begin():
                await audit.record(session, audit.Action.VIEW, actor_kind="system", object_id=n)
                await audit.record(session, audit.Action.UPDATE, actor_kind="system", object_id=n)

        await asyncio.gather(*(one(n) for n in range(40)))
        await async_engine.dispose()

    asyncio.run(burst())
    report = verify_chain(db)
    assert report.ok, report
    assert report.checked == 80


def test_a_pages_events_are_appended_together_in_one_chain(client, factory, db):
    """The client page with a section open records view events for the page, the section and the
    section's records (here the message threads), appended as one run of one chain."""
    _officer, record = make_history(client, factory, db)
    last = db.scalar(select(func.max(AuditEvent.id)))
    assert client.get(f"/officer/clients/{record.id}?open=messages").status_code == 200
    page = db.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id)).all()
    assert len(page) == 3 and {e.action for e in page} == {"view"}
    assert {e.chain for e in page} == {page[0].chain}
    assert [e.seq for e in page] == list(range(page[0].seq, page[0].seq + len(page)))
    assert verify_chain(db).ok


def test_only_committed_work_is_audited(settings, db):
    """Events of a rolled-back transaction or savepoint are not kept; those around the savepoint are."""
    import asyncio

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.db.engine import make_engine
    from app.domain import audit

    async def work() -> None:
        async_engine = make_engine(settings)
        sessions = async_sessionmaker(async_engine)
        async with sessions() as session:
            await audit.record(session, audit.Action.UPDATE, actor_kind="system", object_id="rolled back")
            await session.rollback()
        async with sessions() as session:
            await audit.record(session, audit.Action.UPDATE, actor_kind="system", object_id="before")
            try:
                async with session.begin_nested():
                    await audit.record(session, audit.Action.CREATE, actor_kind="system", object_id="failed")
                    raise LookupError
            except LookupError:
                pass
            await audit.record(session, audit.Action.UPDATE, actor_kind="system", object_id="after")
            await session.commit()
        await async_engine.dispose()

    asyncio.run(work())
    kept = db.scalars(select(AuditEvent.object_id).order_by(AuditEvent.chain, AuditEvent.seq)).all()
    assert sorted(kept) == ["after", "before"]
    assert verify_chain(db).ok
