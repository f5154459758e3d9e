"""Demo data for referrals by another authority (service 20): two referrals wait in the city's inbox (from
Kela, with an identity code; from an upper secondary school, with a date of birth only), one was accepted
and linked to an existing client with an outreach item, and one was declined. No e-mails are queued (the
demo addresses are not real). Does nothing when the city already has referrals (run once, after
demo.load)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, ClientStatus
from app.db.organisation import Organisation, Staff
from app.db.outreach import AuthorityReferral, OutreachItem, OutreachReason, OutreachStatus, ReferralStatus
from app.domain import audit, identity_code
from app.domain.audit import Action
from app.i18n import LOCAL_TIME


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 15), tzinfo=LOCAL_TIME)


async def seed(
    db: AsyncSession,
    city: Organisation,
    county: Organisation,
    officer: Staff,
    clients: list[Client],
    today: date,
) -> None:
    """Four referrals in the city's inbox: two waiting, one accepted, one declined."""
    if await db.scalar(select(exists().where(AuthorityReferral.organisation_id == city.id))):
        return
    waiting = [
        AuthorityReferral(
            organisation_id=city.id,
            authority_name="Kela",
            referrer_organisation="Esimerkkilän palvelupiste",
            contact_name="Liisa Korhonen",
            contact_email="liisa.korhonen@kela.example.fi",
            contact_phone="+358207654321",
            first_names="Mariam",
            last_name="Ahmadi",
            identity_code=identity_code.make(date(1994, 6, 21), 518),
            date_of_birth=date(1994, 6, 21),
            language="fa",
            phone="+358401112233",
            reason=(
                "Saa perustoimeentulotukea. Oleskelulupa myönnetty noin vuosi sitten perhesiteen perusteella. "
                "Toivoo apua suomen kielen opintoihin pääsemisessä ja lasten päivähoitoasioissa."
            ),
            consent_given=True,
            consent_on=today - timedelta(days=3),
            received_at=_at(today - timedelta(days=2), 10),
        ),
        AuthorityReferral(
            organisation_id=city.id,
            authority_name="Esimerkkilän lukio",
            referrer_organisation="Opinto-ohjaus",
            contact_name="Jari Mäkinen",
            contact_email="jari.makinen@esimerkkila.example.fi",
            first_names="Abdi",
            last_name="Warsame",
            date_of_birth=date(2006, 11, 2),
            language="so",
            reason=(
                "Nuori aikuinen, muuttanut kuntaan keväällä. Tarvitsee ohjausta jatko-opintoihin ja "
                "suomen kielen tukea; on itse toivonut yhteydenottoa."
            ),
            consent_given=True,
            consent_on=today - timedelta(days=1),
            received_at=_at(today - timedelta(days=1), 13),
        ),
    ]
    for referral in waiting:
        db.add(referral)
    await db.flush()
    for referral in waiting:
        await audit.record(db, Action.CREATE, actor_kind="system", object_type="authority_referral",
                           object_id=referral.id, fields=["demo"])  # fmt: skip

    linked = next(
        (c for c in clients if c.segment == 1 and c.status == ClientStatus.ACTIVE and c.phone), None
    )
    if linked is not None:
        same = [OutreachItem.client_id == linked.id]
        if linked.identity_code:
            same.append(OutreachItem.identity_code == linked.identity_code)
        item = await db.scalar(
            select(OutreachItem).where(OutreachItem.organisation_id == city.id, or_(*same)).limit(1)
        )
        if item is None:
            item = OutreachItem(
                organisation_id=city.id,
                client_id=linked.id,
                status=OutreachStatus.REACHED,
                reason=OutreachReason.AUTHORITY_REFERRAL,
                identity_code=linked.identity_code,
                first_names=linked.first_names,
                last_name=linked.last_name,
                date_of_birth=linked.date_of_birth,
                language=linked.mother_tongue,
                phone=linked.phone,
                created_by_id=officer.id,
            )
            db.add(item)
            await db.flush()
        accepted = AuthorityReferral(
            organisation_id=city.id,
            status=ReferralStatus.ACCEPTED,
            authority_name="Esimerkkilän terveysasema",
            referrer_organisation="Neuvola",
            contact_name="Terhi Salonen",
            contact_email="terhi.salonen@hyvinvointialue.example.fi",
            first_names=linked.first_names,
            last_name=linked.last_name,
            identity_code=linked.identity_code,
            date_of_birth=linked.date_of_birth,
            language=linked.mother_tongue,
            phone=linked.phone,
            reason="Kotona lasten kanssa, ei vielä kielikoulutuksessa. Kiinnostunut kotoutumiskoulutuksesta.",
            consent_given=True,
            consent_on=today - timedelta(days=20),
            received_at=_at(today - timedelta(days=19), 9),
            decided_by_id=officer.id,
            decided_at=_at(today - timedelta(days=18), 11),
            client_id=linked.id,
            outreach_item_id=item.id,
        )
        db.add(accepted)

    declined = AuthorityReferral(
        organisation_id=city.id,
        status=ReferralStatus.DECLINED,
        authority_name="Poliisi",
        referrer_organisation="Lupapalvelut",
        contact_name="Mikko Laine",
        contact_email="mikko.laine@poliisi.example.fi",
        first_names="Oleksandr",
        last_name="Kovalenko",
        date_of_birth=date(1979, 3, 8),
        language="uk",
        reason="Tarvitsee tietoa kotoutumispalveluista.",
        consent_given=True,
        consent_on=today - timedelta(days=31),
        received_at=_at(today - timedelta(days=30), 14),
        decided_by_id=officer.id,
        decided_at=_at(today - timedelta(days=28), 10),
        decline_reason="Asuu naapurikunnassa; ohjattu oman kotikuntansa kotoutumispalveluihin.",
    )
    db.add(declined)
    await db.flush()
