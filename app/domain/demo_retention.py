"""Demo data for retention (§77): ended relationships at the three stages the managers' register shows —
recently ended, due for deletion within the coming weeks, and past the four years but held by a pending
matter. Nothing is past its date without a hold, so the daily job deletes nothing at the demo's start.

Needs the demo municipality's id and one of its integration officers (app/domain/demo.py); wired in
centrally: ``await demo_retention.seed(db, officers[0], today)``.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.client import Client, ClientStatus, EndReason, KnownHow
from app.db.organisation import Staff
from app.db.retention import RetentionHold
from app.domain import rules, text
from app.domain.clients import new_temporary_identifier

# (first names, last name, mother tongue, born, years and days before today the relationship ended,
#  why it ended, a pending matter holding it)
ENDED: tuple[tuple[str, str, str, date, int, int, EndReason, str | None], ...] = (
    ("Nadia", "Haidari", "fa", date(1990, 4, 2), 0, 40, EndReason.EMPLOYED, None),
    ("Tesfay", "Gebremariam", "ti", date(1984, 11, 20), 4, -21, EndReason.MOVED_AWAY, None),
    ("Hodan", "Warsame", "so", date(1979, 7, 9), 4, 12, EndReason.SERVICES_COMPLETED,
     "Valitus hallinto-oikeudessa kotoutumistuesta, vireillä"),
)  # fmt: skip


async def seed(db: AsyncSession, officer: Staff, today: date) -> None:
    for first, last, tongue, born, years, days, reason, pending in ENDED:
        ended_on = rules.add_years(today, -years) - timedelta(days=days)
        client = Client(
            organisation_id=officer.organisation_id,
            responsible_officer_id=officer.id,
            status=ClientStatus.ENDED,
            segment=1,
            known_on=ended_on - timedelta(days=700),
            known_how=KnownHow.CLIENT_CONTACT,
            first_names=first,
            last_name=last,
            search_text=text.search_text(first, last, None),
            date_of_birth=born,
            temporary_identifier=new_temporary_identifier(),
            mother_tongue=tongue,
            municipality_of_residence="Esimerkkilä",
            ended_on=ended_on,
            end_reason=reason,
        )
        db.add(client)
        await db.flush()
        if pending:
            db.add(
                RetentionHold(
                    client_id=client.id, reason=pending, placed_by_id=officer.id, placed_at=utcnow()
                )
            )
    await db.flush()
