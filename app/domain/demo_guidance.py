"""Demo data for guidance: the municipality's topic list for guidance and counselling visits (one retired
topic kept for its old visits), about sixty visits over the last five months — mostly anonymous, in the
languages and channels a Finnish integration office sees, a few identified ones of clients who consented
to keeping guidance records (decree 874/2024) — and the initial guidance plans of
app.domain.demo_guidance_plans when that module is there.
"""

from __future__ import annotations

import importlib
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, ClientStatus, Consent, ConsentPurpose
from app.db.guidance import (
    GuidanceTopic,
    GuidanceVisit,
    GuidanceVisitReferral,
    GuidanceVisitTopic,
    VisitChannel,
    VisitReferral,
)
from app.db.organisation import Organisation, Role, Staff, StaffRole

# (Finnish, Swedish, English) names of the topics in use, in the list's order; RETIRED is no longer offered.
TOPICS = [
    ("Asuminen ja vuokra-asiat", "Boende och hyresfrågor", "Housing and renting"),
    ("Kelan etuudet", "FPA:s förmåner", "Kela benefits"),
    ("Työ ja työnhaku", "Arbete och jobbsökning", "Work and job seeking"),
    ("Suomen ja ruotsin kielen opiskelu", "Studier i finska och svenska", "Learning Finnish or Swedish"),
    (
        "Koulutus ja tutkintojen tunnustaminen",
        "Utbildning och erkännande av examina",
        "Education and recognition of qualifications",
    ),
    ("Varhaiskasvatus ja koulu", "Småbarnspedagogik och skola", "Early childhood education and school"),
    ("Terveys- ja sosiaalipalvelut", "Hälso- och socialtjänster", "Health and social services"),
    (
        "Oleskelulupa ja rekisteröinti",
        "Uppehållstillstånd och registrering",
        "Residence permit and registration",
    ),
    ("Verotus ja pankkiasiat", "Beskattning och bankärenden", "Taxes and banking"),
    ("Perhe ja arki", "Familj och vardag", "Family and everyday life"),
    ("Viranomaislomakkeet", "Myndighetsblanketter", "Forms of the authorities"),
]
RETIRED = ("Koronarokotukset", "Coronavaccinationer", "COVID-19 vaccinations")

# Weighted the way visits to a Finnish integration office tend to fall.
LANGUAGES = [
    "ar",
    "ar",
    "ar",
    "uk",
    "uk",
    "ru",
    "so",
    "so",
    "fa",
    "fa",
    "prs",
    "ti",
    "en",
    "en",
    "fi",
    "fi",
    "sv",
]
CHANNELS = [VisitChannel.WALK_IN] * 5 + [VisitChannel.PHONE] * 3 + [VisitChannel.CHAT, VisitChannel.EMAIL]
REFERRALS = list(VisitReferral)
VISITS = 60
DAYS = 150  # about five months back
IDENTIFIED_NOTES = [
    "Täytettiin yhdessä Kelan asumistukihakemus; liitteet puuttuvat vielä.",
    "Kysyi suomen kielen iltakursseista; annettu kansalaisopiston yhteystiedot.",
    "Ohjattu TE-palveluihin ilmoittautumaan työnhakijaksi.",
    "Päiväkotihakemus tehty verkossa, vahvistus tulee sähköpostiin.",
]


async def _officers(db: AsyncSession, city: Organisation, officer: Staff) -> list[Staff]:
    rows = await db.scalars(
        select(Staff)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(Staff.organisation_id == city.id, StaffRole.role == Role.INTEGRATION_OFFICER)
        .order_by(Staff.email)
    )
    found = list(rows.unique().all())
    return found or [officer]


async def seed_topics(db: AsyncSession, city: Organisation) -> list[GuidanceTopic]:
    """The topic list; the active topics in order (the retired one is not returned)."""
    topics = [
        GuidanceTopic(organisation_id=city.id, name_fi=fi, name_sv=sv, name_en=en, position=n, active=True)
        for n, (fi, sv, en) in enumerate(TOPICS, start=1)
    ]
    fi, sv, en = RETIRED
    retired = GuidanceTopic(
        organisation_id=city.id, name_fi=fi, name_sv=sv, name_en=en, position=len(TOPICS) + 1, active=False
    )
    db.add_all([*topics, retired])
    await db.flush()
    return [*topics, retired]


async def seed(
    db: AsyncSession,
    city: Organisation,
    county: Organisation,
    officer: Staff,
    clients: list[Client],
    today: date,
) -> None:
    rng = random.Random(7_874)  # noqa: S311 - demo data, the same every time
    every = await seed_topics(db, city)
    active, retired = every[:-1], every[-1]
    officers = await _officers(db, city, officer)

    # A few clients consented to keeping guidance records; one withdrew it later.
    own = [c for c in clients if c.organisation_id == city.id and c.status == ClientStatus.ACTIVE]
    consenting = own[:4]
    consents: dict[uuid.UUID, Consent] = {}
    for client in consenting:
        given = Consent(client_id=client.id, purpose=ConsentPurpose.GUIDANCE_RECORDS, given=True,
                        decided_on=today - timedelta(days=DAYS + 10), recorded_by_id=officer.id,
                        recorded_at=datetime.combine(today - timedelta(days=DAYS + 10), time(9), UTC))  # fmt: skip
        db.add(given)
        consents[client.id] = given
    await db.flush()
    if len(consenting) == 4:
        db.add(Consent(client_id=consenting[3].id, purpose=ConsentPurpose.GUIDANCE_RECORDS, given=False,
                       decided_on=today - timedelta(days=20), recorded_by_id=officer.id,
                       recorded_at=datetime.combine(today - timedelta(days=20), time(9), UTC)))  # fmt: skip

    for n in range(VISITS):
        day = today - timedelta(days=rng.randrange(DAYS))
        identified = bool(consenting) and rng.random() < 0.18
        visitor = rng.choice(consenting) if identified else None
        if visitor is not None and visitor is consenting[-1] and len(consenting) == 4:
            day = min(day, today - timedelta(days=21))  # before the withdrawal
        language = rng.choice(LANGUAGES)
        chosen = rng.sample(active, k=1 if rng.random() < 0.7 else 2)
        if day < today - timedelta(days=120) and rng.random() < 0.3:
            chosen = [retired]  # questions of the time before the topic was retired
        by = officers[n % len(officers)]
        visit = GuidanceVisit(
            organisation_id=city.id,
            client_id=visitor.id if visitor else None,
            consent_id=consents[visitor.id].id if visitor else None,
            visited_on=day,
            channel=rng.choice(CHANNELS),
            duration_minutes=rng.choice([5, 10, 15, 20, 20, 30, 30, 45, 60]),
            language=language,
            interpreter_used=language not in ("fi", "sv", "en") and rng.random() < 0.4,
            note=rng.choice(IDENTIFIED_NOTES) if visitor else None,
            recorded_by_id=by.id,
            recorded_at=datetime.combine(day, time(8 + n % 8, 15), UTC),
        )
        db.add(visit)
        await db.flush()
        db.add_all(GuidanceVisitTopic(visit_id=visit.id, topic_id=t.id) for t in chosen)
        if rng.random() < 0.45:
            db.add_all(
                GuidanceVisitReferral(visit_id=visit.id, referral=r)
                for r in rng.sample(REFERRALS, k=1 if rng.random() < 0.8 else 2)
            )
    await db.flush()

    # Initial guidance plans (helper module; the demo works without it).
    try:
        plans = importlib.import_module("app.domain.demo_guidance_plans")
    except ModuleNotFoundError:
        return
    seed_plans = getattr(plans, "seed_plans", None)
    if seed_plans is not None:
        await seed_plans(db, city, officer, clients, today)
