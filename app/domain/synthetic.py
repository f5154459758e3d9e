"""Large synthetic client registers for benchmarks (SCALE=100000). Rows are inserted in bulk (COPY on
PostgreSQL) and are not audited one by one: this is test data, never run against a real register.
The clients' appointments, plans, messages and audit events: app.domain.synthetic_activity."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.organisation import Organisation, OrganisationType
from app.domain import identity_code, text
from app.domain.demo import MUNICIPALITY, ORIGINS

BATCH = 5000
SPAN_DAYS = 25550  # 70 years; coprime with 7919


async def generate(db: AsyncSession, scale: int) -> int:
    organisation = await db.scalar(select(Organisation).where(Organisation.name == MUNICIPALITY))
    if organisation is None:
        organisation = Organisation(name=MUNICIPALITY, type=OrganisationType.MUNICIPALITY, code="999")
        db.add(organisation)
        await db.flush()
    existing = await db.scalar(
        select(func.count()).select_from(Client).where(Client.organisation_id == organisation.id)
    )
    rng = random.Random(scale)
    today = date.today()  # noqa: DTZ011
    rows = []
    for n in range(existing or 0, scale):
        origin = rng.choice(ORIGINS)
        first, first_native = rng.choice(origin.first_names)
        last, last_native = rng.choice(origin.last_names)
        first = f"{first} {rng.choice(('', 'A', 'B', 'M', 'S'))}{n % 997}".strip()
        # (date, individual number) pairs are unique for every n, so identity codes never collide.
        born = today - timedelta(days=365 + (n * 7919) % SPAN_DAYS)
        individual = 2 + (n // SPAN_DAYS) % 897
        native = f"{first_native} {last_native}" if first_native and last_native else None
        rows.append(
            {
                "id": uuid.uuid4(), "organisation_id": organisation.id, "status": "active",
                "segment": rng.choice((1, 2, 3)), "known_on": today - timedelta(days=rng.randint(0, 1000)),
                "known_how": "client_contact", "first_names": first, "last_name": last, "native_name": native,
                "search_text": text.search_text(first, last, native), "date_of_birth": born,
                "identity_code": identity_code.make(born, individual) if n % 5 else None,
                "temporary_identifier": None if n % 5 else f"TMP-{n:08X}", "citizenship": origin.country,
                "mother_tongue": origin.language, "interpreter_needed": False,
                "phone": f"+35850{n:07d}", "municipality_of_residence": "Esimerkkilä", "version": 1,
            }
        )  # fmt: skip
        if len(rows) >= BATCH:
            await _insert_clients(db, rows)
            rows = []
    if rows:
        await _insert_clients(db, rows)
    return scale - (existing or 0)


async def _insert_clients(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if is_postgresql(db):
        columns = list(rows[0])
        await copy_records(db, "client", columns, [tuple(row[c] for c in columns) for row in rows])
    else:
        await db.execute(insert(Client), rows)


def is_postgresql(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


async def copy_records(
    db: AsyncSession, table: str, columns: Sequence[str], records: Iterable[tuple[Any, ...]]
) -> None:
    """COPY rows into a table on the session's own connection and transaction (PostgreSQL, asyncpg).
    Columns left out get their defaults (created_at, updated_at, identity ids)."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(table, records=records, columns=list(columns))
