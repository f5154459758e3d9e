"""Demo data for multi-sector cooperation: Sari Niemi of the demo county takes part for one quota-refugee
client (an accepted cooperation with her grants, a shared and an unshared note), and one request waits
in her county's inbox. Needs the organisations, staff and clients of app.domain.demo; does nothing when
they are missing or when the county already has cooperations (run once, after demo.load)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientStatus,
    Consent,
    ConsentPurpose,
    DataCategory,
)
from app.db.cooperation import CooperationStatus, CountyCooperation, CountyNote, CountyNoteTopic
from app.db.organisation import Staff
from app.db.plan import IntegrationPlan
from app.domain import audit
from app.domain.audit import Action

COUNTY_MEMBER = "sari.niemi@hyvinvointialue.example.fi"
OFFICER = "aino.virtanen@esimerkkila.fi"
CONTACT = "p. 040 765 4321, sari.niemi@hyvinvointialue.example.fi (ma–to 9–15)"


async def seed(db: AsyncSession) -> None:
    member = await db.scalar(select(Staff).where(Staff.email == COUNTY_MEMBER))
    officer = await db.scalar(select(Staff).where(Staff.email == OFFICER))
    if member is None or officer is None:
        return
    county_id = member.organisation_id
    if await db.scalar(select(exists().where(CountyCooperation.county_id == county_id))):
        return
    candidates = (
        select(Client)
        .where(Client.organisation_id == officer.organisation_id, Client.status == ClientStatus.ACTIVE)
        .order_by(Client.last_name, Client.first_names, Client.id)
    )
    # demo.load gives Sari plain grants (no cooperation) on three quota-refugee clients: the accepted
    # cooperation takes over one of them, so that ending it in the demo really ends her access.
    plain = select(ClientAccessGrant.client_id).where(
        ClientAccessGrant.staff_id == member.id,
        ClientAccessGrant.cooperation_id.is_(None),
        ClientAccessGrant.ended_at.is_(None),
    )
    together = await db.scalar(candidates.where(Client.id.in_(plain)).limit(1)) or await db.scalar(
        candidates.where(Client.segment == 3).limit(1)
    )
    if together is None:
        return
    waiting = await db.scalar(
        candidates.where(Client.id != together.id, Client.id.not_in(plain), Client.segment == 2).limit(1)
    )
    now = utcnow()

    cooperation = await _request(
        db, together, officer, county_id, now - timedelta(days=40), share_health=True,
        reason="Asiakkaalla on uupumusta ja univaikeuksia; tarvitaan mielenterveys- ja sosiaalipalvelujen "
        "arvio monialaiseen kotoutumissuunnitelmaan.",
    )  # fmt: skip
    cooperation.status = CooperationStatus.ACCEPTED
    cooperation.decided_by_id = member.id
    cooperation.decided_at = now - timedelta(days=38)
    cooperation.responsible_staff_id = member.id
    cooperation.contact_details = CONTACT
    existing = (
        await db.scalars(
            select(ClientAccessGrant).where(
                ClientAccessGrant.client_id == together.id,
                ClientAccessGrant.staff_id == member.id,
                ClientAccessGrant.cooperation_id.is_(None),
                ClientAccessGrant.ended_at.is_(None),
            )
        )
    ).all()
    for grant in existing:
        grant.cooperation_id = cooperation.id
    held = {grant.category for grant in existing}
    for category in (DataCategory.BASIC, DataCategory.HEALTH):
        if category not in held:
            db.add(
                ClientAccessGrant(
                    client_id=together.id,
                    staff_id=member.id,
                    category=category,
                    granted_by_id=member.id,
                    reason=cooperation.reason[:400],
                    cooperation_id=cooperation.id,
                )
            )
    plan_id = await db.scalar(
        select(IntegrationPlan.id)
        .where(IntegrationPlan.client_id == together.id)
        .order_by(IntegrationPlan.number.desc())
        .limit(1)
    )
    db.add_all(
        [
            CountyNote(
                client_id=together.id,
                organisation_id=county_id,
                author_id=member.id,
                cooperation_id=cooperation.id,
                topic=CountyNoteTopic.MENTAL_HEALTH,
                shared=True,
                text="Ohjattu aikuissosiaalityöhön ja mielenterveyspalvelujen arvioon. Tulkki tarvitaan "
                "arabiaksi. Kuntoutuksen tarve arvioidaan kevään aikana.",
            ),
            CountyNote(
                client_id=together.id,
                organisation_id=county_id,
                author_id=member.id,
                cooperation_id=cooperation.id,
                plan_id=plan_id,
                topic=CountyNoteTopic.PLAN,
                shared=False,
                text="Oma muistiinpano: sovittu seurantapuhelu kahden viikon päähän.",
            ),
        ]
    )
    if waiting is not None:
        await _request(
            db, waiting, officer, county_id, now - timedelta(days=2), share_health=False,
            reason="Perheen elämäntilanne kuormittaa; pyydämme sosiaalityön osallistumista alkukartoitukseen.",
        )  # fmt: skip
    await db.flush()


async def _request(
    db: AsyncSession,
    client: Client,
    officer: Staff,
    county_id: uuid.UUID,
    requested_at: datetime,
    *,
    share_health: bool,
    reason: str,
) -> CountyCooperation:
    consent = Consent(
        client_id=client.id,
        purpose=ConsentPurpose.WELLBEING_COUNTY_SHARING,
        given=True,
        decided_on=requested_at.date(),
        recorded_by_id=officer.id,
    )
    db.add(consent)
    await db.flush()
    cooperation = CountyCooperation(
        client_id=client.id,
        organisation_id=client.organisation_id,
        county_id=county_id,
        status=CooperationStatus.REQUESTED,
        reason=reason,
        consent_id=consent.id,
        share_health=share_health,
        requested_by_id=officer.id,
        requested_at=requested_at,
    )
    db.add(cooperation)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor_kind="system",
        client_id=client.id,
        object_type="county_cooperation",
        object_id=cooperation.id,
        fields=["demo"],
    )
    return cooperation
