"""Demo data for outreach (process 3.4.4) and benefit data: three imported lists of the demo municipality —
Kela's (social assistance and child home-care allowance; one person on it is already a client and is
linked), the Finnish Immigration Service's (a recent protection beneficiary, one whose three years have
passed, and a victim of human trafficking with no time limit) and the population register's (people who
moved in, one without a known permit date) — run through the real import code, then a few contact
attempts and statuses, and an unemployment benefit for a client with a plan in force, so that the plan
page shows the §24 note. Runs once per organisation."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, ClientStatus
from app.db.organisation import Organisation, Role, Staff
from app.db.outreach import (
    Benefit,
    BenefitSource,
    BenefitStatus,
    BenefitType,
    ContactChannel,
    ContactOutcome,
    ImportMode,
    ImportSource,
    OutreachContact,
    OutreachImport,
    OutreachItem,
    OutreachStatus,
)
from app.db.plan import IntegrationPlan, PlanStatus
from app.domain import identity_code, outreach_imports
from app.domain.policy import Actor


def _code(born: date, individual: int) -> str:
    return identity_code.make(born, individual)


async def seed(
    db: AsyncSession,
    city: Organisation,
    county: Organisation,
    officer: Staff,
    clients: list[Client],
    today: date,
) -> None:
    existing = await db.scalar(
        select(func.count()).select_from(OutreachImport).where(OutreachImport.organisation_id == city.id)
    )
    if existing:
        return
    actor = Actor(
        staff_id=officer.id,
        organisation_id=city.id,
        organisation_type=city.type,
        roles=frozenset({Role.INTEGRATION_OFFICER}),
        name=officer.full_name,
    )

    def day(days_ago: int) -> str:
        return (today - timedelta(days=days_ago)).isoformat()

    def fi(days_ago: int) -> str:
        d = today - timedelta(days=days_ago)
        return f"{d.day}.{d.month}.{d.year}"

    known = next(
        (c for c in clients if c.identity_code and c.status == ClientStatus.ACTIVE and c.segment == 1), None
    )
    kela_rows = [
        f"{_code(date(1988, 3, 14), 861)};Yusuf;Hodan Abdi;toimeentulotuki;{fi(40)};;so;040 712 3301;{fi(500)}",
        f"{_code(date(1994, 9, 2), 862)};Rahimi;Zahra;kotihoidon tuki;{fi(75)};{fi(-290)};prs;;{fi(700)}",
        f"{_code(date(1979, 12, 30), 863)};Kovalenko;Olena;toimeentulotuki;{fi(20)};;uk;045 118 2290;",
    ]
    if known is not None and known.identity_code:
        kela_rows.append(
            f"{known.identity_code};{known.last_name};{known.first_names};toimeentulotuki;{fi(60)};;;;"
        )
    kela = (
        "identity_code;last_name;first_names;benefit;benefit_from;benefit_until;language;phone;first_permit_date\n"
        + "\n".join(kela_rows)
        + "\n"
    )
    migri = (
        "identity_code,last_name,first_names,ground,first_permit_date,language,street_address,postal_code,"
        "post_office\n"
        f"{_code(date(2001, 5, 21), 864)},Tesfay,Selam,international_protection,{day(150)},ti,Koulukatu 4 B 7,"
        "99100,Esimerkkilä\n"
        f"{_code(date(1985, 1, 9), 865)},Haidari,Ahmad Shah,international_protection,{day(1200)},fa,,,\n"
        f"{_code(date(1992, 7, 17), 866)},Okafor,Blessing,trafficking_victim,{day(1900)},en,,,\n"
    )
    dvv = (
        "identity_code,last_name,first_names,moved_in_on,first_permit_date,language\n"
        f"{_code(date(1990, 11, 5), 867)},Al-Hassan,Mariam,{day(12)},{day(300)},ar\n"
        f"{_code(date(1997, 4, 28), 868)},Nguyen,Thi Lan,{day(30)},,vi\n"
        f"{_code(date(1983, 8, 8), 869)},Petrenko,Dmytro,{day(5)},{day(500)},uk\n"
    )
    for source, name, content in (
        (ImportSource.KELA, "kela_toimeentulotuki_kotihoidontuki.csv", kela),
        (ImportSource.IMMIGRATION_SERVICE, "migri_kansainvalinen_suojelu.csv", migri),
        (ImportSource.POPULATION_REGISTER, "dvv_muuttaneet.csv", dvv),
    ):
        parsed = outreach_imports.read(content.encode("utf-8"), source, name, today)
        await outreach_imports.run(db, actor, parsed, ImportMode.ALL_OR_NOTHING)
    await db.flush()

    items = {
        i.identity_code: i
        for i in await db.scalars(select(OutreachItem).where(OutreachItem.organisation_id == city.id))
    }

    def contact(
        code: str, days_ago: int, channel: ContactChannel, outcome: ContactOutcome, note: str
    ) -> None:
        item = items.get(code)
        if item is not None:
            db.add(
                OutreachContact(
                    item_id=item.id,
                    channel=channel,
                    attempted_on=today - timedelta(days=days_ago),
                    outcome=outcome,
                    note=note,
                    recorded_by_id=officer.id,
                )
            )

    hodan = _code(date(1988, 3, 14), 861)
    contact(hodan, 10, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, "Ei vastannut, soitetaan uudelleen.")
    contact(
        hodan, 7, ContactChannel.SMS, ContactOutcome.MESSAGE_LEFT, "Tekstiviesti somaliksi: soittopyyntö."
    )
    selam = _code(date(2001, 5, 21), 864)
    contact(
        selam,
        4,
        ContactChannel.THROUGH_PARTNER,
        ContactOutcome.REACHED,
        "Tavoitettu vastaanottokeskuksen kautta.",
    )
    if selam in items:
        items[selam].status = OutreachStatus.ASSESSMENT_BOOKED
    ahmad = _code(date(1985, 1, 9), 865)
    if ahmad in items:
        items[ahmad].status = OutreachStatus.NOT_ELIGIBLE
    dmytro = _code(date(1983, 8, 8), 869)
    contact(
        dmytro, 1, ContactChannel.LETTER, ContactOutcome.MESSAGE_LEFT, "Kirje: tervetuloa-info ja ajanvaraus."
    )

    # §24: a client with a plan in force who receives unemployment benefit.
    planned = await db.scalar(
        select(IntegrationPlan.client_id)
        .join(Client, Client.id == IntegrationPlan.client_id)
        .where(Client.organisation_id == city.id, IntegrationPlan.status == PlanStatus.IN_FORCE)
        .order_by(IntegrationPlan.starts_on, IntegrationPlan.id)
        .limit(1)
    )
    if planned is not None:
        db.add(
            Benefit(
                organisation_id=city.id,
                client_id=planned,
                type=BenefitType.UNEMPLOYMENT_BENEFIT,
                status=BenefitStatus.RECEIVING,
                starts_on=today - timedelta(days=90),
                source=BenefitSource.OFFICER,
                recorded_by_id=officer.id,
            )
        )
    await db.flush()
