"""Demo data for a first `make run`: a municipality, a wellbeing services county, staff in every role,
about fifty clients across the three segments with families and consents. Deterministic."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientLanguage,
    ClientStatus,
    Consent,
    ConsentPurpose,
    DataCategory,
    FamilyLink,
    FamilyRelation,
    KnownHow,
    LanguageLevel,
    PermitType,
)
from app.db.messaging import Thread
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.db.plan import IntegrationPlan, PlanStatus
from app.domain import (
    audit,
    demo_arrivals,
    demo_compensation,
    demo_contracts,
    demo_cooperation,
    demo_guidance,
    demo_knowledge,
    demo_outreach,
    demo_quality,
    demo_referrals,
    demo_retention,
    identity_code,
    invitations,
    text,
)
from app.domain.audit import Action
from app.domain.clients import new_temporary_identifier
from app.domain.demo_contact import load_contact
from app.domain.demo_path import load_path
from app.domain.demo_programme import load_programme
from app.domain.policy import Actor
from app.domain.staff import create_staff
from app.settings import Settings

DEMO_PASSWORD = "demo-Kotopolku-2026"  # noqa: S105 - printed for the local demo, never used elsewhere
MUNICIPALITY = "Esimerkkilän kaupunki"


@dataclass(frozen=True)
class Origin:
    country: str
    language: str
    permit: PermitType
    first_names: tuple[tuple[str, str | None], ...]  # (Latin, own script)
    last_names: tuple[tuple[str, str | None], ...]


ORIGINS = (
    Origin("UA", "uk", PermitType.TEMPORARY_PROTECTION,
           (("Olena", "Олена"), ("Oleksandr", "Олександр"), ("Iryna", "Ірина"), ("Andrii", "Андрій"),
            ("Kateryna", "Катерина"), ("Serhii", "Сергій")),
           (("Shevchenko", "Шевченко"), ("Kovalenko", "Коваленко"), ("Bondarenko", "Бондаренко"),
            ("Tkachenko", "Ткаченко"))),
    Origin("SY", "ar", PermitType.QUOTA_REFUGEE,
           (("Mohammad", "محمد"), ("Fatima", "فاطمة"), ("Ahmad", "أحمد"), ("Rasha", "رشا"), ("Omar", "عمر"),
            ("Lina", "لينا")),
           (("Al-Hassan", "الحسن"), ("Haddad", "حداد"), ("Khalil", "خليل"), ("Nasser", "ناصر"))),
    Origin("AF", "fa", PermitType.INTERNATIONAL_PROTECTION,
           (("Zahra", "زهرا"), ("Ali", "علی"), ("Maryam", "مریم"), ("Hamid", "حمید"), ("Shabnam", "شبنم")),
           (("Ahmadi", "احمدی"), ("Rahimi", "رحیمی"), ("Hosseini", "حسینی"))),
    Origin("SO", "so", PermitType.FAMILY,
           (("Hodan", None), ("Abdi", None), ("Ayaan", None), ("Yusuf", None), ("Fadumo", None)),
           (("Warsame", None), ("Abdullahi", None), ("Farah", None))),
    Origin("IQ", "ar", PermitType.INTERNATIONAL_PROTECTION,
           (("Hussein", "حسين"), ("Zainab", "زينب"), ("Karim", "كريم"), ("Noor", "نور")),
           (("Al-Jabouri", "الجبوري"), ("Saleh", "صالح"))),
    # -ykh/-ikh surnames are the same for women and men, so generated families stay plausible.
    Origin("RU", "ru", PermitType.WORK,
           (("Natalia", "Наталья"), ("Dmitri", "Дмитрий"), ("Anna", "Анна"), ("Pavel", "Павел")),
           (("Chernykh", "Черных"), ("Sedykh", "Седых"), ("Dolgikh", "Долгих"))),
    Origin("VN", "vi", PermitType.STUDY,
           (("Thị Hương", None), ("Văn Minh", None), ("Thu Trang", None)),
           (("Nguyễn", None), ("Trần", None), ("Phạm", None))),
    Origin("ER", "ti", PermitType.INTERNATIONAL_PROTECTION,
           (("Semhar", "ሰምሃር"), ("Yonas", "ዮናስ"), ("Helen", "ሄለን")),
           (("Tesfaye", "ተስፋዬ"), ("Gebremedhin", "ገብረመድህን"))),
)  # fmt: skip

SEGMENT_FOR_PERMIT = {
    PermitType.QUOTA_REFUGEE: 3,
    PermitType.INTERNATIONAL_PROTECTION: 2,
    PermitType.TEMPORARY_PROTECTION: 2,
}
KNOWN_HOW_FOR_SEGMENT = {
    1: KnownHow.CLIENT_CONTACT,
    2: KnownHow.MUNICIPAL_PLACEMENT,
    3: KnownHow.QUOTA_SELECTION,
}
STREETS = ("Koulukatu", "Rantatie", "Myllytie", "Asemakatu", "Koivukuja", "Puistotie", "Kirkkokatu")


async def is_loaded(db: AsyncSession) -> bool:
    return bool(await db.scalar(select(func.count()).select_from(Organisation)))


async def load(db: AsyncSession, settings: Settings) -> list[tuple[str, str, str]]:
    """Create the demo set; returns (role, e-mail, password) for the sign-in help."""
    rng = random.Random(2027)
    city = Organisation(name=MUNICIPALITY, type=OrganisationType.MUNICIPALITY, code="999")
    te = Organisation(name="Esimerkkilän työllisyysalue", type=OrganisationType.EMPLOYMENT_AUTHORITY)
    county = Organisation(name="Esimerkin hyvinvointialue", type=OrganisationType.WELLBEING_COUNTY)
    provider = Organisation(name="Tulkkauspalvelu Sana Oy", type=OrganisationType.SERVICE_PROVIDER)
    db.add_all([city, te, county, provider])
    await db.flush()
    await load_programme(db, city)
    await demo_knowledge.seed(db, city)

    people = [
        (city, "admin@esimerkkila.fi", "Pekka Pääkäyttäjä", [Role.ADMINISTRATOR]),
        (city, "aino.virtanen@esimerkkila.fi", "Aino Virtanen", [Role.INTEGRATION_OFFICER]),
        (city, "mikko.korhonen@esimerkkila.fi", "Mikko Korhonen", [Role.INTEGRATION_OFFICER]),
        (city, "leena.laine@esimerkkila.fi", "Leena Laine", [Role.MANAGER, Role.INTEGRATION_OFFICER]),
        (te, "jari.makinen@te.example.fi", "Jari Mäkinen", [Role.INTEGRATION_OFFICER]),
        (county, "sari.niemi@hyvinvointialue.example.fi", "Sari Niemi", [Role.COUNTY_TEAM_MEMBER]),
        (provider, "hassan.ali@sana.example.fi", "Hassan Ali", [Role.INTERPRETER]),
    ]
    staff: dict[str, Staff] = {}
    for org, email, name, roles in people:
        staff[email] = await create_staff(db, settings, organisation=org, email=email, full_name=name, roles=roles,
                                          password=DEMO_PASSWORD)  # fmt: skip
    officer = staff["aino.virtanen@esimerkkila.fi"]

    clients: list[Client] = []
    today = date.today()  # noqa: DTZ011 - demo dates only need to be roughly now
    individual = 200
    while len(clients) < 50:
        origin = rng.choice(ORIGINS)
        segment = SEGMENT_FOR_PERMIT.get(origin.permit, 1)
        arrived = today - timedelta(days=rng.randint(20, 900))
        last_latin, last_native = rng.choice(origin.last_names)
        family_size = rng.choice((1, 1, 2, 3, 4)) if len(clients) < 44 else 1
        adults: list[Client] = []
        for member in range(family_size):
            child = member >= 2 or (member == 1 and family_size == 2 and rng.random() < 0.5)
            born = (
                today - timedelta(days=rng.randint(2 * 365, 16 * 365))
                if child
                else today - timedelta(days=rng.randint(19 * 365, 58 * 365))
            )
            first_latin, first_native = rng.choice(origin.first_names)
            individual += 7
            code = identity_code.make(born, individual) if rng.random() < 0.8 else None
            client = Client(
                organisation_id=officer.organisation_id,
                segment=segment,
                known_on=arrived + timedelta(days=rng.randint(0, 14)),
                known_how=KNOWN_HOW_FOR_SEGMENT[segment],
                first_names=first_latin,
                last_name=last_latin,
                native_name=f"{first_native} {last_native}" if first_native and last_native else None,
                search_text="",
                date_of_birth=born,
                identity_code=code,
                temporary_identifier=None if code else new_temporary_identifier(),
                citizenship=origin.country,
                mother_tongue=origin.language,
                interpreter_needed=origin.language not in ("ru",) and rng.random() < 0.8,
                interpreter_language=origin.language,
                phone=None if child else f"+35840{rng.randint(1000000, 9999999)}",
                street_address=f"{rng.choice(STREETS)} {rng.randint(1, 40)} A {rng.randint(1, 20)}",
                postal_code=f"{rng.randint(10, 99)}100",
                post_office="Esimerkkilä",
                municipality_of_residence="Esimerkkilä",
                first_permit_date=arrived - timedelta(days=rng.randint(0, 60)),
                permit_type=origin.permit,
            )
            client.search_text = text.search_text(client.first_names, client.last_name, client.native_name)
            if not child and rng.random() < 0.6:
                client.languages = [ClientLanguage(language="en", level=rng.choice(list(LanguageLevel)[1:5]))]
            db.add(client)
            await db.flush()
            await audit.record(db, Action.CREATE, actor_kind="system", client_id=client.id, object_type="client",
                               object_id=client.id, fields=["demo"])  # fmt: skip
            clients.append(client)
            if child:
                for adult in adults:
                    db.add(
                        FamilyLink(
                            client_id=adult.id, related_client_id=client.id, relation=FamilyRelation.GUARDIAN
                        )
                    )
                    db.add(
                        FamilyLink(
                            client_id=client.id, related_client_id=adult.id, relation=FamilyRelation.CHILD
                        )
                    )
            else:
                for adult in adults:
                    db.add(
                        FamilyLink(
                            client_id=adult.id, related_client_id=client.id, relation=FamilyRelation.SPOUSE
                        )
                    )
                    db.add(
                        FamilyLink(
                            client_id=client.id, related_client_id=adult.id, relation=FamilyRelation.SPOUSE
                        )
                    )
                adults.append(client)
            if not child:
                for purpose in (ConsentPurpose.ELECTRONIC_MESSAGES, ConsentPurpose.WELLBEING_COUNTY_SHARING):
                    if rng.random() < 0.7:
                        db.add(Consent(client_id=client.id, purpose=purpose, given=True,
                                       decided_on=client.known_on, recorded_by_id=officer.id))  # fmt: skip

    await db.flush()
    officers = [staff[e] for e in ("aino.virtanen@esimerkkila.fi", "mikko.korhonen@esimerkkila.fi",
                                   "leena.laine@esimerkkila.fi")]  # fmt: skip
    await load_path(db, clients, officers, today, rng)
    await load_contact(db, clients, officers, staff["hassan.ali@sana.example.fi"], today, rng)

    # The county team member cooperates on a quota-refugee client (demo_cooperation turns this grant into
    # an accepted cooperation and leaves a second request in her inbox).
    county_member = staff["sari.niemi@hyvinvointialue.example.fi"]
    for client in [c for c in clients if c.segment == 3][:1]:
        db.add(ClientAccessGrant(client_id=client.id, staff_id=county_member.id, category=DataCategory.BASIC,
                                 granted_by_id=officer.id, reason="Monialainen yhteistyö"))  # fmt: skip
    await db.flush()
    await demo_cooperation.seed(db)
    await demo_contracts.seed(db, city, officer, staff["leena.laine@esimerkkila.fi"], today)
    await demo_compensation.seed(db, clients, officer, today)
    await demo_quality.seed(db, city, rng)
    await demo_retention.seed(db, officer, today)
    for seed_area in (demo_outreach, demo_referrals, demo_arrivals, demo_guidance):
        await seed_area.seed(db, city, county, officer, clients, today)
    await db.flush()
    return [
        (", ".join(sorted(r.value for r in roles)), email, DEMO_PASSWORD) for _o, email, _n, roles in people
    ]


DEMO_APP_OFFICER = "aino.virtanen@esimerkkila.fi"


@dataclass(frozen=True)
class DemoInvitation:
    client_name: str
    short_code: str
    url: str
    sign_in_url: str


async def app_invitation(db: AsyncSession, settings: Settings) -> DemoInvitation | None:
    """A fresh invitation to the migrant app for one demo client with a plan in force, made at every
    `serve` so that the printed code works (only its hashes are stored; older ones are revoked)."""
    officer = await db.scalar(select(Staff).where(Staff.email == DEMO_APP_OFFICER))
    if officer is None or not officer.active:
        return None
    client = await db.scalar(
        select(Client)
        .join(IntegrationPlan, IntegrationPlan.client_id == Client.id)
        .where(
            Client.organisation_id == officer.organisation_id,
            Client.status == ClientStatus.ACTIVE,
            IntegrationPlan.status == PlanStatus.IN_FORCE,
        )
        # Someone with messages to read, so that the app shows a little of everything.
        .order_by(
            exists().where(Thread.client_id == Client.id).desc(),
            Client.last_name,
            Client.first_names,
            Client.id,
        )
        .limit(1)
    )
    if client is None:
        return None
    actor = Actor(
        staff_id=officer.id,
        organisation_id=officer.organisation_id,
        organisation_type=officer.organisation.type,
        roles=officer.role_set,
        name=officer.full_name,
    )
    issued = await invitations.create(db, settings, actor, client)
    return DemoInvitation(
        client_name=f"{client.first_names} {client.last_name}",
        short_code=issued.short_code,
        url=issued.url,
        sign_in_url=f"{settings.public_url}/me/sign-in",
    )
