"""Demo data for initial guidance (3.4.6): a family's guidance plan with tapering housing guidance (one of its
tasks overdue today, one for a child), a placed person's plan with weekly help with authorities, and an
ended plan. Deterministic: the clients are chosen by the order of the demo's client list.

Wired in centrally (app/domain/demo.py): ``await demo_guidance_plans.seed_plans(db, city, officer, clients,
today)``, after the clients and their family links exist.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, ClientStatus, FamilyLink, FamilyRelation
from app.db.guidance import (
    GuidancePlan,
    GuidancePlanEndReason,
    GuidancePlanStatus,
    GuidanceTask,
    GuidanceTaskKind,
)
from app.db.organisation import Organisation, Staff


def _task(
    plan: GuidancePlan, kind: GuidanceTaskKind, description: str, first: date, **fields: object
) -> GuidanceTask:
    return GuidanceTask(plan_id=plan.id, kind=kind, description=description, first_due_on=first, **fields)


async def seed_plans(
    db: AsyncSession, city: Organisation, officer: Staff, clients: list[Client], today: date
) -> None:
    active = [c for c in clients if c.organisation_id == city.id and c.status == ClientStatus.ACTIVE]
    ids = [c.id for c in active]
    children: dict[uuid.UUID, uuid.UUID] = {}
    if ids:
        for client_id, child_id in await db.execute(
            select(FamilyLink.client_id, FamilyLink.related_client_id).where(
                FamilyLink.client_id.in_(ids), FamilyLink.relation == FamilyRelation.GUARDIAN
            )
        ):
            children.setdefault(client_id, child_id)
    family = next((c for c in active if c.id in children and c.segment in (2, 3)), None) or next(
        (c for c in active if c.id in children), None
    )
    singles = [c for c in active if c.id not in children and c.segment in (2, 3) and c is not family]
    if family is None or len(singles) < 2:
        return

    def plan(client: Client, starts: int, note: str, *, includes_family: bool = False) -> GuidancePlan:
        record = GuidancePlan(
            client_id=client.id,
            status=GuidancePlanStatus.ACTIVE,
            includes_family=includes_family,
            starts_on=today - timedelta(days=starts),
            note=note,
            created_by_id=officer.id,
        )
        db.add(record)
        return record

    # 1. A family placed in the municipality three weeks ago: daily at first, tapering off.
    first = plan(
        family,
        21,
        "Perhe saapui kuntapaikalle. Ohjaus aluksi joka toinen päivä kotikäynneillä, harvenee kun arki "
        "sujuu. Terveystarkastukset sovittu hyvinvointialueen kanssa.",
        includes_family=True,
    )
    second = plan(
        singles[0],
        45,
        "Kuntaan muuttanut, tarvitsee tukea viranomaisasioinnissa. Viikoittain, myöhemmin joka toinen viikko.",
    )
    ended = plan(singles[1], 200, "Alkuvaiheen ohjaus asumiseen ja asiointiin.")
    ended.status = GuidancePlanStatus.ENDED
    ended.ends_on = today - timedelta(days=30)
    ended.end_reason = GuidancePlanEndReason.NO_LONGER_NEEDED
    await db.flush()
    db.add_all(
        [
            _task(first, GuidanceTaskKind.HEALTH_CHECK_REFERRAL,
                  "Ohjaus alkuterveystarkastukseen terveysasemalle, tulkki varattu.", today - timedelta(days=16),
                  last_done_on=today - timedelta(days=15)),
            _task(first, GuidanceTaskKind.HOUSING_GUIDANCE,
                  "Kotikäynti: kodinkoneet, jätteiden lajittelu, taloyhtiön säännöt ja saunavuorot.",
                  today - timedelta(days=19), every_days=2, taper_on=today + timedelta(days=10),
                  taper_every_days=7, last_done_on=today - timedelta(days=3)),
            _task(first, GuidanceTaskKind.INFO_SESSION,
                  "Alkuinfo: Kela, verokortti, pankkitili ja terveyspalvelut (arabiaksi).",
                  today + timedelta(days=5)),
            _task(first, GuidanceTaskKind.AUTHORITY_HELP,
                  "Varhaiskasvatushakemus tai koulupaikan haku yhdessä huoltajan kanssa.",
                  today + timedelta(days=2), for_client_id=children[family.id]),
            _task(second, GuidanceTaskKind.AUTHORITY_HELP,
                  "Asiointi Kelassa ja DVV:ssä: hakemukset ja päätösten läpikäynti.", today - timedelta(days=42),
                  every_days=7, taper_on=today + timedelta(days=21), taper_every_days=14,
                  last_done_on=today - timedelta(days=6)),
            _task(second, GuidanceTaskKind.OTHER, "Pankkitilin avaaminen ja verkkopankkitunnukset.",
                  today - timedelta(days=40), last_done_on=today - timedelta(days=38)),
            _task(ended, GuidanceTaskKind.HOUSING_GUIDANCE, "Asumisen opastus: vuokrasopimus ja sähkösopimus.",
                  today - timedelta(days=195), every_days=7, taper_on=today - timedelta(days=120),
                  last_done_on=today - timedelta(days=125)),
        ]
    )  # fmt: skip
    await db.flush()
