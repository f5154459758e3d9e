"""Demo data for contracts (service 11): three contracts of the demo municipality — an interpretation
framework agreement ending soon (so its renewal reminder is on the worklist), a purchase of Finnish
language training, and a fixed-term lease of a flat for a quota refugee family linked to one of the
municipality's quota-refugee clients. Business IDs are made up but valid. Runs once per organisation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, ClientStatus, PermitType
from app.db.contracts import Contract, ContractKind
from app.db.organisation import Organisation, Staff


async def seed(
    db: AsyncSession,
    municipality: Organisation,
    responsible: Staff,
    colleague: Staff | None = None,
    today: date | None = None,
) -> None:
    """`responsible` (an integration officer of `municipality`) gets the interpretation agreement and the
    lease, `colleague` (e.g. the team lead; defaults to `responsible`) the training purchase."""
    existing = await db.scalar(
        select(func.count()).select_from(Contract).where(Contract.organisation_id == municipality.id)
    )
    if existing:
        return
    on = today or date.today()  # noqa: DTZ011 - demo dates only need to be roughly now
    family = await db.scalar(
        select(Client)
        .where(
            Client.organisation_id == municipality.id,
            Client.permit_type == PermitType.QUOTA_REFUGEE,
            Client.status == ClientStatus.ACTIVE,
        )
        .order_by(Client.last_name, Client.first_names, Client.id)
        .limit(1)
    )
    interpretation_start = date(on.year - 1, 1, 1)
    training_start = on - timedelta(days=120)
    lease_start = on - timedelta(days=200)
    db.add_all(
        [
            Contract(
                organisation_id=municipality.id,
                kind=ContractKind.INTERPRETATION,
                subject="Tulkkauspalvelut, puitesopimus (asioimis- ja etätulkkaus)",
                provider_name="Tulkkauspalvelu Sana Oy",
                provider_business_id="2946781-9",
                provider_contact="Asiakkuuspäällikkö Hassan Ali\nhassan.ali@sana.example.fi, 040 555 0101",
                starts_on=interpretation_start,
                # Ends within its notice period: the renewal reminder is on the worklist.
                ends_on=on + timedelta(days=75),
                value=Decimal("180000.00"),
                renewal_notice_days=120,
                responsible_staff_id=responsible.id,
                notes=(
                    "Kilpailutettu puitesopimus, optiovuosi 1 käytettävissä. Hinnat: läsnäolotulkkaus "
                    "65 €/45 min, etätulkkaus 55 €/45 min. Peruutus alle 24 h ennen veloitetaan."
                ),
            ),
            Contract(
                organisation_id=municipality.id,
                kind=ContractKind.TRAINING,
                subject="Suomen kielen koulutus kotoutujille (S2), hankinta 2026–2027",
                provider_name="Aikuisopisto Kieliverso Oy",
                provider_business_id="3102457-4",
                provider_contact="Koulutuspäällikkö Riikka Salo, riikka.salo@kieliverso.example.fi",
                starts_on=training_start,
                ends_on=training_start + timedelta(days=730),
                value=Decimal("96400.00"),
                renewal_notice_days=180,
                responsible_staff_id=(colleague or responsible).id,
                notes="4 ryhmää × 16 opiskelijaa, A1–A2, päivä- ja iltaryhmät; lastenhoito järjestetty.",
            ),
            Contract(
                organisation_id=municipality.id,
                kind=ContractKind.HOUSING_LEASE,
                subject="Vuokrasopimus, Koivukuja 3 B 12 (kiintiöpakolaisperhe, 3h+k)",
                provider_name="Esimerkkilän Vuokra-asunnot Oy",
                provider_business_id="1098765-4",
                provider_contact="Isännöinti, asuminen@vuokra-asunnot.example.fi, 09 555 0200",
                starts_on=lease_start,
                ends_on=lease_start + timedelta(days=365),
                value=Decimal("10680.00"),  # 890 €/month for the fixed term
                renewal_notice_days=60,
                responsible_staff_id=responsible.id,
                client_id=family.id if family else None,
                notes="Määräaikainen vuokrasopimus; vakuus maksettu. Jatkosta sovitaan perheen kanssa.",
            ),
        ]
    )
    await db.flush()
