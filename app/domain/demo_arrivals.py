"""Demo data for quota refugees and municipal placements (3.4.8–3.4.11, service 5): a Congolese family
proposed by the ELY centre whose consultation waits in the county's inbox, an Afghan family accepted after
the county answered, with preparation under way and the Red Cross's flight details, and a woman moving
from a reception centre with her written handover data (consent recorded) and move-in support half done.
Nobody has arrived yet, so marking the arrival in the demo makes the persons clients. The names are
invented. Does nothing when the city already has arrivals (run once, after demo.load)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.arrivals import (
    Arrival,
    ArrivalChecklistItem,
    ArrivalConsultation,
    ArrivalKind,
    ArrivalPerson,
    ArrivalRole,
    ArrivalStatus,
    ConsultationStatus,
)
from app.db.client import Client
from app.db.organisation import Organisation, Staff
from app.domain.arrivals import anonymised_summary
from app.i18n import LOCAL_TIME


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TIME)


def _years_ago(today: date, years: int, month: int, day: int) -> date:
    return date(today.year - years, month, day)


async def seed(
    db: AsyncSession,
    city: Organisation,
    county: Organisation,
    officer: Staff,
    clients: list[Client],
    today: date,
) -> None:
    """Two quota-refugee families and one municipal placement for the city."""
    if await db.scalar(select(exists().where(Arrival.organisation_id == city.id))):
        return
    county_member = await db.scalar(
        select(Staff).where(Staff.organisation_id == county.id).order_by(Staff.full_name).limit(1)
    )

    # 1. Proposal received, the county consulted and not yet answered.
    mwamba = Arrival(
        organisation_id=city.id,
        kind=ArrivalKind.QUOTA_REFUGEES,
        status=ArrivalStatus.CONSULTING,
        reference="UUDELY/2291/2025",
        received_on=today - timedelta(days=12),
        sender="Uudenmaan ELY-keskus",
        responsible_officer_id=officer.id,
        created_by_id=officer.id,
    )
    db.add(mwamba)
    await db.flush()
    family = [
        ArrivalPerson(arrival_id=mwamba.id, role=ArrivalRole.HEAD, first_names="Jean-Baptiste",
                      last_name="Mwamba", date_of_birth=_years_ago(today, 41, 3, 14), citizenship="CD",
                      mother_tongue="sw", interpreter_needed=True, temporary_identifier="UNHCR-584-22107"),
        ArrivalPerson(arrival_id=mwamba.id, role=ArrivalRole.SPOUSE, first_names="Esperance",
                      last_name="Mwamba", date_of_birth=_years_ago(today, 36, 9, 2), citizenship="CD",
                      mother_tongue="sw", interpreter_needed=True,
                      special_needs="Liikkuu pyörätuolilla; asunnon oltava esteetön."),
        ArrivalPerson(arrival_id=mwamba.id, role=ArrivalRole.CHILD, first_names="Grace", last_name="Mwamba",
                      date_of_birth=_years_ago(today, 12, 6, 20), citizenship="CD", mother_tongue="sw"),
        ArrivalPerson(arrival_id=mwamba.id, role=ArrivalRole.CHILD, first_names="David", last_name="Mwamba",
                      date_of_birth=_years_ago(today, 5, 1, 8), citizenship="CD", mother_tongue="sw"),
    ]  # fmt: skip
    db.add_all(family)
    await db.flush()
    db.add(
        ArrivalConsultation(
            arrival_id=mwamba.id,
            county_id=county.id,
            status=ConsultationStatus.SENT,
            summary=anonymised_summary(mwamba, family, on=today - timedelta(days=3)),
            question="Yksi aikuisista liikkuu pyörätuolilla. Voiko hyvinvointialue arvioida apuvälineiden ja "
            "kotihoidon tarpeen ensimmäisellä viikolla, ja onko perheneuvolassa tilaa syksyllä?",
            sent_by_id=officer.id,
            sent_at=_at(today - timedelta(days=3), 10, 20),
        )
    )

    # 2. Accepted after the county answered; preparation and reception under way.
    noori = Arrival(
        organisation_id=city.id,
        kind=ArrivalKind.QUOTA_REFUGEES,
        status=ArrivalStatus.ACCEPTED,
        reference="UUDELY/1874/2025",
        received_on=today - timedelta(days=75),
        sender="Uudenmaan ELY-keskus",
        responsible_officer_id=officer.id,
        created_by_id=officer.id,
        decision_on=today - timedelta(days=48),
        decision_note="Perhe vastaanotetaan kuntaan. Asunto varattu kaupungin vuokrataloyhtiöltä.",
        housing_address="Myllytie 7 A 4, 99100 Esimerkkilä",
        lease_starts_on=today - timedelta(days=10),
        earliest_arrival_on=today + timedelta(days=9),
        earliest_arrival_sent_on=today - timedelta(days=30),
        arrives_at=_at(today + timedelta(days=16), 14, 35),
        flight="AY1712",
        transport="Kunnan pikkubussi Helsinki-Vantaalta; ohjaaja ja tulkki mukana.",
        interpreter="Tulkkauspalvelu Sana Oy, dari",
    )
    db.add(noori)
    await db.flush()
    noori_family = [
        ArrivalPerson(arrival_id=noori.id, role=ArrivalRole.HEAD, first_names="Farid", last_name="Noori",
                      date_of_birth=_years_ago(today, 38, 11, 1), citizenship="AF", mother_tongue="prs",
                      interpreter_needed=True),
        ArrivalPerson(arrival_id=noori.id, role=ArrivalRole.SPOUSE, first_names="Soraya", last_name="Noori",
                      date_of_birth=_years_ago(today, 33, 4, 23), citizenship="AF", mother_tongue="prs",
                      interpreter_needed=True),
        ArrivalPerson(arrival_id=noori.id, role=ArrivalRole.CHILD, first_names="Mina", last_name="Noori",
                      date_of_birth=_years_ago(today, 10, 2, 17), citizenship="AF", mother_tongue="prs"),
        ArrivalPerson(arrival_id=noori.id, role=ArrivalRole.CHILD, first_names="Yasin", last_name="Noori",
                      date_of_birth=_years_ago(today, 7, 8, 5), citizenship="AF", mother_tongue="prs"),
        ArrivalPerson(arrival_id=noori.id, role=ArrivalRole.OTHER_RELATIVE, first_names="Gul", last_name="Noori",
                      date_of_birth=_years_ago(today, 67, 1, 1), citizenship="AF", mother_tongue="prs",
                      interpreter_needed=True, special_needs="Diabetes; lääkitys mukana."),
    ]  # fmt: skip
    db.add_all(noori_family)
    await db.flush()
    if county_member is not None:
        db.add(
            ArrivalConsultation(
                arrival_id=noori.id,
                county_id=county.id,
                status=ConsultationStatus.ANSWERED,
                summary=anonymised_summary(noori, noori_family, on=today - timedelta(days=60)),
                question="Iäkkäällä sukulaisella on pitkäaikaissairaus. Miten terveydenhuolto varautuu?",
                sent_by_id=officer.id,
                sent_at=_at(today - timedelta(days=60), 9, 5),
                answer="Terveysasema varaa ajan terveystarkastukseen saapumisviikolla, lääkityksen jatkuvuus "
                "varmistetaan. Lapsiperheiden sosiaalityö ottaa yhteyttä ensimmäisen kuukauden aikana. "
                "Valmiita vastaanottamaan aikaisintaan kuuden viikon päästä.",
                answered_by_id=county_member.id,
                answered_at=_at(today - timedelta(days=52), 13, 40),
            )
        )
    for key, days_ago, note in (
        ("housing_reserved", 40, "Vuokrasopimus allekirjoitettu."),
        ("electricity_contract", 12, None),
        ("home_insurance", 12, None),
        ("earliest_arrival_sent", 30, "Lähetetty ELY-keskukselle sähköpostilla."),
        ("arrival_details", 2, "SPR:n matkatiedot saatu."),
    ):
        db.add(ArrivalChecklistItem(arrival_id=noori.id, key=key, done_on=today - timedelta(days=days_ago),
                                    note=note, done_by_id=officer.id))  # fmt: skip

    # 3. A municipal placement from a reception centre.
    tesfaye = Arrival(
        organisation_id=city.id,
        kind=ArrivalKind.MUNICIPAL_PLACEMENT,
        status=ArrivalStatus.PROPOSED,
        reference="JOU-2025-118",
        received_on=today - timedelta(days=20),
        sender="Joutsenon vastaanottokeskus",
        responsible_officer_id=officer.id,
        created_by_id=officer.id,
        handover_consent_on=today - timedelta(days=18),
        handover_data="Kansainvälistä suojelua saava, oleskelulupa myönnetty. Suorittanut "
        "vastaanottokeskuksessa suomen kielen alkeiskurssin (A1). Tarvitsee tukea asunnon hankinnassa ja "
        "pankkitilin avaamisessa. Ei erityisiä terveyteen liittyviä tarpeita ilmoitettu.",
        transfer_meeting_at=_at(today + timedelta(days=4), 13, 0),
        housing_address="Rantatie 3 C 21, 99120 Esimerkkilä",
        lease_starts_on=today + timedelta(days=14),
        arrives_at=_at(today + timedelta(days=15), 11, 0),
        transport="Muuttokuorma vastaanottokeskuksen pakettiautolla.",
    )
    db.add(tesfaye)
    await db.flush()
    db.add(
        ArrivalPerson(
            arrival_id=tesfaye.id,
            role=ArrivalRole.SINGLE,
            first_names="Semhar",
            last_name="Tesfaye",
            native_name="ሰምሃር ተስፋዬ",
            date_of_birth=_years_ago(today, 27, 5, 30),
            citizenship="ER",
            mother_tongue="ti",
            interpreter_needed=True,
        )
    )
    for key, days_ago in (("housing_arranged", 8), ("lease_signed", 6)):
        db.add(ArrivalChecklistItem(arrival_id=tesfaye.id, key=key, done_on=today - timedelta(days=days_ago),
                                    done_by_id=officer.id))  # fmt: skip
    await db.flush()
