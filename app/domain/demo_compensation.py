"""Demo data for costs and compensation claims (process 3.4.12): the demo clients get their first
municipality of residence, a few of them costs of several categories (one outside its compensated period,
to show the warning), and the municipality a draft claim for the previous calendar year with its package
prepared. Deterministic: it depends only on the clients given and `today`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, FamilyLink, PermitType
from app.db.costs import ClaimStatus, CompensationClaim, Cost, CostCategory
from app.db.organisation import OrganisationType, Role, Staff
from app.domain import compensation, rules
from app.domain.policy import Actor

PROTECTED = (PermitType.INTERNATIONAL_PROTECTION, PermitType.TEMPORARY_PROTECTION)


def _cost(client: Client, officer: Staff, category: CostCategory, day: date, amount: str, code: str,
          reference: str, description: str, **extra: str) -> Cost:  # fmt: skip
    return Cost(
        organisation_id=client.organisation_id,
        client_id=client.id,
        category=category,
        amount=Decimal(amount),
        incurred_on=day,
        accounting_code=code,
        invoice_reference=reference,
        description=description,
        recorded_by_id=officer.id,
        **extra,
    )


async def seed(db: AsyncSession, clients: Sequence[Client], officer: Staff, today: date) -> None:
    """`clients`: the demo municipality's clients (app.domain.demo.load); `officer`: one of its
    integration officers, who records the costs and creates the claim; `today`: the demo's date."""
    for client in clients:
        # The population register's first municipality of residence: the demo's arrival day.
        client.first_residence_on = client.known_on
    await db.flush()

    year = today.year - 1  # the draft claim's calendar year
    # Protected clients, those who arrived in the claim's year first (their costs fall into it).
    protected = sorted(
        (c for c in clients if c.permit_type in PROTECTED and c.date_of_birth),
        key=lambda c: (c.known_on.year != year, c.known_on, c.last_name, c.first_names),
    )
    quota = [c for c in clients if c.segment == rules.QUOTA_REFUGEE_SEGMENT]
    young = [
        c
        for c in protected
        if c.date_of_birth
        and rules.add_years(c.date_of_birth, 18) <= today < rules.add_years(c.date_of_birth, 23)
    ]
    linked = set(
        await db.scalars(select(FamilyLink.client_id).where(FamilyLink.client_id.in_([c.id for c in young])))
    )
    young = [c for c in young if c.id not in linked]  # came alone: no family in Finland
    if young:
        young[0].unaccompanied_minor = True  # §69: costs until 23

    costs: list[Cost] = []
    for index, client in enumerate(protected[:4]):
        arrived = client.known_on
        costs.append(_cost(client, officer, CostCategory.SPECIAL_COSTS, arrived + timedelta(days=30 + 7 * index),
                           f"{480 + 35 * index}.00", "4390-ERITYIS", f"LASKU-{2401 + index}",
                           "Erityiskustannus: lasten päivähoidon tukitoimet"))  # fmt: skip
        costs.append(_cost(client, officer, CostCategory.INTERPRETATION, arrived + timedelta(days=14 + index),
                           "96.50", "4390-TULKKAUS", f"SANA-{880 + index}", "Tulkkaus, alkukartoitus"))  # fmt: skip
    late = [c for c in protected if c.known_on + timedelta(days=400) <= today]
    if late:
        # §63 compensates social assistance for one year: this one is out of it and shows the warning.
        costs.append(_cost(late[0], officer, CostCategory.SOCIAL_ASSISTANCE, late[0].known_on + timedelta(days=400),
                           "612.00", "4110-TOTU", "TOTU-77", "Toimeentulotuki (tarkistettava)"))  # fmt: skip
    if quota:
        family = quota[0]
        costs.append(_cost(family, officer, CostCategory.RECEPTION_PREPARATION, family.known_on - timedelta(days=45),
                           "1180.00", "4390-VARAUTUMINEN", "VUOKRA-12",
                           "Asunnon vuokra ennen saapumista"))  # fmt: skip
    if young:
        costs.append(_cost(young[0], officer, CostCategory.UNACCOMPANIED_MINOR, today - timedelta(days=20),
                           "740.00", "4390-JALKIHUOLTO", "JH-5", "Jälkihuollon tukiasuminen"))  # fmt: skip
    db.add_all(costs)
    await db.flush()

    claim = CompensationClaim(
        organisation_id=officer.organisation_id,
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        status=ClaimStatus.DRAFT,
        note="Vuoden laskennalliset korvaukset ja kustannukset",
        created_by_id=officer.id,
    )
    db.add(claim)
    await db.flush()
    actor = Actor(
        staff_id=officer.id,
        organisation_id=officer.organisation_id,
        organisation_type=OrganisationType.MUNICIPALITY,
        roles=frozenset({Role.INTEGRATION_OFFICER}),
        name=officer.full_name,
    )
    await compensation.prepare_package(db, actor, claim, claim.version)
