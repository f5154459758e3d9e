"""1,000 pairs of concurrent conflicting edits on PostgreSQL lose no update: of two officers who opened
the same client at the same version, exactly one save wins and the other gets the stale refusal (the
409 page of the edit form), and the row holds the winner's value.

Each side edits through `clients.update` — what `POST /officer/clients/{id}` calls — in a session and
connection of its own. Both sides read the client before either writes (a barrier), so every refusal
comes from the database: the loser's `UPDATE … WHERE version = :seen` waits for the winner's commit and
then matches no row. 50 clients get 20 rounds each; 10 pairs run at a time.

PostgreSQL only: SQLite serialises writers (BEGIN IMMEDIATE), so two edits there cannot overlap; the
stale-form refusal on both databases is tested in test_clients.py
(test_a_stale_edit_is_refused_and_the_input_kept).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.db.audit import AuditEvent
from app.db.client import Client
from app.db.engine import make_engine
from app.db.organisation import OrganisationType, Role
from app.domain import clients
from app.domain.audit import verify_chain
from app.domain.policy import Actor

PAIRS = 1000
CLIENTS = 50
ROUNDS = PAIRS // CLIENTS
PARALLEL = 10  # pairs in flight at once: 20 connections


@pytest.fixture(autouse=True)
def postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip(
            "Concurrent edits are tested on PostgreSQL: SQLite serialises writers (BEGIN IMMEDIATE), so two "
            "edits cannot overlap; the PostgreSQL run of the suite covers this"
        )


@dataclass
class Outcome:
    side: str
    seen: int
    won: bool
    refused_by_database: bool = False


def form_of(client: Client, **changes: object) -> clients.ClientInput:
    """What the edit form posts: every basic field as shown, with the officer's change."""
    values = {name: getattr(client, name) for name in clients.BASIC_FIELDS} | changes
    return clients.ClientInput(values=values, languages=[(la.language, la.level) for la in client.languages])


async def edit(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    client_id: uuid.UUID,
    side: str,
    value: str,
    both_read: asyncio.Barrier,
) -> Outcome:
    async with sessions() as session:
        try:
            async with session.begin():
                client = await clients.load_for_edit(session, actor, client_id)
                assert client is not None
                seen = client.version
                await both_read.wait()  # the other officer has the same version on screen
                await clients.update(session, actor, client, seen, form_of(client, street_address=value))
            return Outcome(side, seen, won=True)
        except clients.StaleEdit as error:
            return Outcome(
                side, seen, won=False, refused_by_database=isinstance(error.__cause__, StaleDataError)
            )


def test_a_thousand_pairs_of_conflicting_edits_lose_no_update(settings, factory, db):
    organisation = factory.organisation()
    officers = [factory.staff(organisation, Role.INTEGRATION_OFFICER) for _ in range(2)]
    actors = {
        side: Actor(
            staff_id=officer.id,
            organisation_id=organisation.id,
            organisation_type=OrganisationType.MUNICIPALITY,
            roles=frozenset({Role.INTEGRATION_OFFICER}),
            name=officer.full_name,
        )
        for side, officer in zip("AB", officers, strict=True)
    }
    ids = [
        factory.client(organisation, last_name=f"Pair{n}", street_address="start").id for n in range(CLIENTS)
    ]

    async def run() -> dict[uuid.UUID, list[tuple[Outcome, Outcome]]]:
        engine = make_engine(settings, pool_size=2 * PARALLEL, max_overflow=0)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        gate = asyncio.Semaphore(PARALLEL)
        results: dict[uuid.UUID, list[tuple[Outcome, Outcome]]] = {client_id: [] for client_id in ids}

        async def rounds(client_id: uuid.UUID) -> None:
            for n in range(1, ROUNDS + 1):  # one client's pairs follow each other
                async with gate:
                    barrier = asyncio.Barrier(2)
                    a, b = await asyncio.gather(
                        *(edit(sessions, actors[s], client_id, s, f"{n}-{s}", barrier) for s in "AB")
                    )
                results[client_id].append((a, b))

        try:
            await asyncio.gather(*(rounds(client_id) for client_id in ids))
        finally:
            await engine.dispose()
        return results

    started = time.monotonic()
    results = asyncio.run(run())
    seconds = time.monotonic() - started

    pairs = [pair for per_client in results.values() for pair in per_client]
    assert len(pairs) == PAIRS
    winners = Counter(sum(o.won for o in pair) for pair in pairs)
    assert winners == {1: PAIRS}, winners  # never both, never neither
    losers = [o for pair in pairs for o in pair if not o.won]
    assert all(o.refused_by_database for o in losers)  # both had read the same version: a real overlap
    assert all(a.seen == b.seen for a, b in pairs)

    db.expire_all()
    for client_id, per_client in results.items():
        record = db.get(Client, client_id)
        assert record is not None
        last_winner = next(o for o in per_client[-1] if o.won)
        assert record.street_address == f"{ROUNDS}-{last_winner.side}"  # the winner's value is kept
        assert record.version == 1 + ROUNDS  # one saved change per pair: nothing overwritten unseen
        assert [a.seen for a, _b in per_client] == list(range(1, ROUNDS + 1))
    updates = db.scalars(
        select(AuditEvent.fields).where(AuditEvent.action == "update", AuditEvent.object_type == "client")
    ).all()
    assert len(updates) == PAIRS and all(f == ["street_address"] for f in updates)  # the winners' only
    report = verify_chain(db)
    assert report.ok, report
    wins = Counter(o.side for pair in pairs for o in pair if o.won)
    print(
        f"\n{PAIRS} pairs in {seconds:.1f} s ({PAIRS / seconds:.0f} pairs/s, {PARALLEL} at a time): "
        f"{PAIRS} saved, {len(losers)} refused as stale, 0 lost; wins A {wins['A']}, B {wins['B']}"
    )
