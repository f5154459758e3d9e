"""The demo municipality's integration programme (service 7): a realistic, deterministic catalogue.

Texts are written in Finnish with Swedish and English translations and a few in Arabic and Ukrainian.
One translation is a machine translation and one was made from an older Finnish text (stale), so the
flags show. Dates are relative to today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import TextOrigin
from app.db.organisation import Organisation, OrganisationType
from app.db.programme import (
    ProgrammePeriod,
    ProgrammeService,
    ProgrammeServiceLanguage,
    ProgrammeServiceText,
    ServiceType,
)
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import today
from app.domain.translations import content_hash

ADULT_EDUCATION_CENTRE = "Esimerkkilän aikuisopisto"

# (name, description, eligibility)
Texts = tuple[str, str, str]


@dataclass(frozen=True)
class Period:
    starts_in: int  # days from today (negative: in the past)
    days: int | None
    capacity: int | None
    language: str | None
    note: str | None = None


@dataclass(frozen=True)
class Spec:
    service_type: ServiceType
    fi: Texts
    languages: tuple[str, ...]
    provider: str | None = None  # free-text provider; None: see own_provider
    own_provider: str | None = None  # "centre" (the adult education centre) or "city"
    place: str | None = None
    remote: bool = False
    hours: int | None = None
    active: bool = True
    translations: dict[str, tuple[Texts, TextOrigin]] = field(default_factory=dict)
    # language → the older Finnish text its translation was made from (so the translation is stale)
    translated_from: dict[str, Texts] = field(default_factory=dict)
    periods: tuple[Period, ...] = ()


T = TextOrigin
PROGRAMME: tuple[Spec, ...] = (
    Spec(
        ServiceType.CIVIC_ORIENTATION,
        (
            "Monikielinen yhteiskuntaorientaatio",
            "Tietoa suomalaisesta yhteiskunnasta, arjesta, työelämästä sekä oikeuksista ja velvollisuuksista "
            "omalla kielelläsi tai muulla hyvin osaamallasi kielellä. 70 tuntia opetusta ja lisäksi "
            "itsenäistä opiskelua. Voit osallistua myös etänä.",
            "Aikuiset, joille on laadittu kotoutumissuunnitelma. Ohjaus kotoutumissuunnitelman kautta.",
        ),
        ("ar", "fa", "uk", "ru", "so", "en"),
        own_provider="centre",
        place="Esimerkkilän aikuisopisto, Koulukatu 12",
        remote=True,
        hours=70,
        translations={
            "sv": (
                (
                    "Flerspråkig samhällsorientering",
                    "Information om det finländska samhället, vardagen, arbetslivet samt rättigheter och "
                    "skyldigheter på ditt eget språk eller ett annat språk som du kan väl. 70 timmar "
                    "undervisning och dessutom självstudier. Du kan också delta på distans.",
                    "Vuxna som har en integrationsplan. Hänvisning via integrationsplanen.",
                ),
                T.TRANSLATOR,
            ),
            "en": (
                (
                    "Multilingual civic orientation",
                    "Information about Finnish society, everyday life, working life, and your rights and "
                    "duties, in your own language or another language you know well. 70 hours of teaching "
                    "plus independent study. You can also take part remotely.",
                    "Adults who have an integration plan. Referral through the integration plan.",
                ),
                T.OFFICER,
            ),
            "ar": (
                (
                    "التوجيه المجتمعي متعدد اللغات",
                    "معلومات عن المجتمع الفنلندي والحياة اليومية والحياة العملية والحقوق والواجبات بلغتك "
                    "الأم أو بلغة أخرى تجيدها. 70 ساعة من التدريس بالإضافة إلى الدراسة الذاتية. يمكنك "
                    "أيضًا المشاركة عن بُعد.",
                    "البالغون الذين لديهم خطة اندماج. الإحالة عن طريق خطة الاندماج.",
                ),
                T.MACHINE,
            ),
            "uk": (
                (
                    "Багатомовна орієнтація в суспільстві",
                    "Інформація про фінське суспільство, повсякденне життя, робоче життя, а також права та "
                    "обов'язки рідною мовою або іншою мовою, якою ви добре володієте. 70 годин навчання та "
                    "самостійне навчання. Можна брати участь і дистанційно.",
                    "Дорослі, які мають план інтеграції. Направлення через план інтеграції.",
                ),
                T.TRANSLATOR,
            ),
        },
        periods=(
            Period(10, 70, 20, "ar"),
            Period(24, 70, 16, "fa", "Dari ja farsi"),
            Period(38, 70, 20, "uk"),
            Period(52, 70, 12, "so", "Etäosallistuminen mahdollinen"),
            Period(66, 70, 25, "ru", "Etäryhmä, myös englanniksi"),
        ),
    ),
    Spec(
        ServiceType.INTEGRATION_TRAINING,
        (
            "Kotoutumiskoulutus suomen kielellä",
            "Suomen kielen ja viestinnän opintoja sekä työelämä- ja yhteiskuntataitoja. Tavoitteena on "
            "toimiva peruskielitaito (B1.1). Koulutukseen kuuluu työssäoppimisjakso, aiemmin hankitun "
            "osaamisen tunnistaminen ja suomen kielen päättötesti.",
            "Luku- ja kirjoitustaito latinalaisilla aakkosilla. Kielitaito ja sopiva ryhmä arvioidaan ennen "
            "aloitusta.",
        ),
        ("fi",),
        own_provider="centre",
        place="Esimerkkilän aikuisopisto, Koulukatu 12",
        hours=1000,
        translations={
            "sv": (
                (
                    "Integrationsutbildning på finska",
                    "Studier i finska och kommunikation samt färdigheter för arbetslivet. Målet är "
                    "fungerande grundläggande språkkunskaper.",
                    "Läs- och skrivkunnighet med latinska alfabetet. Språkkunskaperna och en lämplig grupp "
                    "bedöms före starten.",
                ),
                T.TRANSLATOR,
            ),
            "en": (
                (
                    "Integration training in Finnish",
                    "Studies in Finnish language and communication, and working-life and civic skills. The "
                    "goal is functional basic proficiency (B1.1). The training includes a work-based "
                    "learning period, recognition of prior learning and a final Finnish language test.",
                    "Literacy in the Latin alphabet. Your language skills and a suitable group are assessed "
                    "before you start.",
                ),
                T.OFFICER,
            ),
            "uk": (
                (
                    "Інтеграційне навчання фінською мовою",
                    "Вивчення фінської мови та комунікації, а також навичок робочого життя та суспільства. "
                    "Мета — функціональне базове володіння мовою (B1.1). Навчання включає період навчання "
                    "на робочому місці, визнання раніше здобутих компетенцій і підсумковий тест з фінської "
                    "мови.",
                    "Уміння читати й писати латинськими літерами. Рівень мови та відповідну групу "
                    "оцінюють перед початком.",
                ),
                T.TRANSLATOR,
            ),
        },
        # The Swedish translation was made before the description mentioned the level and the final test.
        translated_from={
            "sv": (
                "Kotoutumiskoulutus suomen kielellä",
                "Suomen kielen ja viestinnän opintoja sekä työelämätaitoja. Tavoitteena on toimiva "
                "peruskielitaito.",
                "Luku- ja kirjoitustaito latinalaisilla aakkosilla. Kielitaito ja sopiva ryhmä arvioidaan "
                "ennen aloitusta.",
            )
        },
        periods=(
            Period(-230, 200, 18, "fi", "Aamuryhmä"),
            Period(21, 300, 18, "fi", "Aamuryhmä"),
            Period(110, 300, 16, "fi", "Nopeasti etenevä ryhmä"),
        ),
    ),
    Spec(
        ServiceType.LITERACY_TRAINING,
        (
            "Luku- ja kirjoitustaidon koulutus",
            "Luku- ja kirjoitustaidon perusteet ja suomen kielen alkeet pienessä ryhmässä. Sopii niille, "
            "jotka eivät osaa lukea ja kirjoittaa tai eivät osaa latinalaisia aakkosia.",
            "Aikuiset, joiden luku- ja kirjoitustaito puuttuu tai on heikko. Ohjaus alkukartoituksen "
            "perusteella.",
        ),
        ("fi", "ar", "so"),
        own_provider="centre",
        place="Esimerkkilän aikuisopisto, Koulukatu 12",
        hours=400,
        translations={
            "sv": (
                (
                    "Utbildning i läs- och skrivfärdighet",
                    "Grunderna i att läsa och skriva samt nybörjarfinska i en liten grupp. Passar dig som "
                    "inte kan läsa och skriva eller inte kan det latinska alfabetet.",
                    "Vuxna som saknar eller har svag läs- och skrivförmåga. Hänvisning utifrån den "
                    "inledande kartläggningen.",
                ),
                T.TRANSLATOR,
            ),
            "en": (
                (
                    "Literacy training",
                    "The basics of reading and writing, and beginners' Finnish, in a small group. For those "
                    "who cannot read and write, or do not know the Latin alphabet.",
                    "Adults who cannot read and write or whose literacy is weak. Referral based on the "
                    "assessment.",
                ),
                T.OFFICER,
            ),
        },
        periods=(Period(30, 240, 12, "fi", "Tukikielinä arabia ja somali"),),
    ),
    Spec(
        ServiceType.ADULT_BASIC_EDUCATION,
        (
            "Aikuisten perusopetus",
            "Perusopetuksen oppimäärä aikuisille: lukutaitovaihe, alkuvaihe ja päättövaihe. Päättyy "
            "perusopetuksen päättötodistukseen. Opiskelu on maksutonta.",
            "Aikuiset, joilta puuttuu perusopetuksen päättötodistus tai sitä vastaavat tiedot ja taidot.",
        ),
        ("fi",),
        provider="Esimerkkilän aikuislukio",
        place="Esimerkkilän aikuislukio, Lukiotie 3",
        translations={
            "sv": (
                (
                    "Grundläggande utbildning för vuxna",
                    "Den grundläggande utbildningens lärokurs för vuxna: läs- och skrivfasen, den inledande "
                    "fasen och slutfasen. Leder till avgångsbetyg från den grundläggande utbildningen. "
                    "Studierna är avgiftsfria.",
                    "Vuxna som saknar avgångsbetyg från den grundläggande utbildningen eller motsvarande "
                    "kunskaper och färdigheter.",
                ),
                T.TRANSLATOR,
            ),
            "en": (
                (
                    "Basic education for adults",
                    "The basic education syllabus for adults: literacy, initial and final stages. Leads to "
                    "the basic education certificate. Studying is free of charge.",
                    "Adults without a basic education certificate or the equivalent knowledge and skills.",
                ),
                T.OFFICER,
            ),
        },
        periods=(Period(75, 300, 24, "fi"),),
    ),
    Spec(
        ServiceType.OTHER_LANGUAGE_TRAINING,
        (
            "Ruotsin kielen kurssi maahan muuttaneille",
            "Ruotsin kielen perusteet arkeen ja työelämään. Sopii erityisesti niille, jotka asuvat tai "
            "työskentelevät ruotsinkielisessä ympäristössä.",
            "Suomen tai englannin kielen perustaidoista on hyötyä.",
        ),
        ("sv",),
        provider="Esimerkkilän työväenopisto",
        place="Esimerkkilän työväenopisto, Rantatie 8",
        hours=120,
        translations={
            "sv": (
                (
                    "Svenska för invandrare",
                    "Grunderna i svenska för vardagen och arbetslivet. Passar särskilt dig som bor eller "
                    "arbetar i en svenskspråkig miljö.",
                    "Grundläggande kunskaper i finska eller engelska är till nytta.",
                ),
                T.OFFICER,
            ),
            "en": (
                (
                    "Swedish course for immigrants",
                    "Basic Swedish for everyday life and work. Especially for those who live or work in a "
                    "Swedish-speaking environment.",
                    "Basic Finnish or English is helpful.",
                ),
                T.OFFICER,
            ),
        },
        periods=(Period(35, 90, 14, "sv", "Tiistaisin ja torstaisin klo 17–19"),),
    ),
    Spec(
        ServiceType.GUIDANCE_AND_COUNSELLING,
        (
            "Kotoutumisen ohjaus ja neuvonta",
            "Henkilökohtaista ohjausta ja neuvontaa asumiseen, palveluihin, opiskeluun ja työnhakuun "
            "liittyvissä asioissa. Tarvittaessa mukana on tulkki. Asioida voi myös puhelimitse tai "
            "videoyhteydellä.",
            "Kaikki Esimerkkilässä asuvat maahan muuttaneet. Ajanvaraus tai avoin vastaanotto tiistaisin "
            "klo 9–12.",
        ),
        ("fi", "sv", "en"),
        own_provider="city",
        place="Maahanmuuttajapalvelut, Kirkkokatu 5",
        remote=True,
        translations={
            "sv": (
                (
                    "Handledning och rådgivning för integration",
                    "Personlig handledning och rådgivning i frågor som gäller boende, tjänster, studier och "
                    "jobbsökning. Vid behov deltar en tolk. Du kan också sköta ärenden per telefon eller "
                    "videolänk.",
                    "Alla invandrare som bor i Esimerkkilä. Tidsbokning eller öppen mottagning på tisdagar "
                    "kl. 9–12.",
                ),
                T.OFFICER,
            ),
            "en": (
                (
                    "Integration guidance and counselling",
                    "Personal guidance and advice on housing, services, studies and looking for work. An "
                    "interpreter takes part when needed. You can also be served by phone or video call.",
                    "Everyone who has moved to Finland and lives in Esimerkkilä. Book an appointment or "
                    "come to the open office hours on Tuesdays 9–12.",
                ),
                T.OFFICER,
            ),
            "ar": (
                (
                    "الإرشاد والاستشارة في الاندماج",
                    "إرشاد واستشارة شخصية في أمور السكن والخدمات والدراسة والبحث عن عمل. يحضر مترجم عند "
                    "الحاجة. يمكنك أيضًا التواصل عبر الهاتف أو مكالمة الفيديو.",
                    "جميع المهاجرين المقيمين في إسيميركيلا. بموعد مسبق أو في الاستقبال المفتوح أيام "
                    "الثلاثاء من الساعة 9 إلى 12.",
                ),
                T.TRANSLATOR,
            ),
            "uk": (
                (
                    "Консультування та супровід з питань інтеграції",
                    "Особисті консультації з питань житла, послуг, навчання та пошуку роботи. За потреби "
                    "залучається перекладач. Можна звертатися також телефоном або відеозв'язком.",
                    "Усі іммігранти, які проживають в Есімеркк'ялі. За попереднім записом або на "
                    "відкритому прийомі щовівторка з 9 до 12.",
                ),
                T.TRANSLATOR,
            ),
        },
    ),
    Spec(
        ServiceType.NGO_ACTIVITY,
        (
            "Punaisen Ristin ystävätoiminta",
            "Vapaaehtoinen ystävä tapaa sinua säännöllisesti: ulkoillaan, jutellaan suomeksi ja tutustutaan "
            "paikkakuntaan yhdessä.",
            "Kaikille. Ilmoittautuminen Punaisen Ristin Esimerkkilän osastolle.",
        ),
        ("fi", "en"),
        provider="Suomen Punainen Risti, Esimerkkilän osasto",
        place="Esimerkkilä",
        translations={
            "sv": (
                (
                    "Röda Korsets vänverksamhet",
                    "En frivillig vän träffar dig regelbundet: ni är ute tillsammans, pratar finska och "
                    "lär känna orten.",
                    "För alla. Anmälan till Röda Korsets avdelning i Esimerkkilä.",
                ),
                T.OFFICER,
            ),
            "en": (
                (
                    "Red Cross friend activity",
                    "A volunteer friend meets you regularly: you go out, talk in Finnish and get to know "
                    "the town together.",
                    "For everyone. Sign up with the Esimerkkilä branch of the Red Cross.",
                ),
                T.OFFICER,
            ),
        },
    ),
    Spec(
        ServiceType.NGO_ACTIVITY,
        (
            "Kielikahvila",
            "Rento paikka harjoitella suomea kahvikupin ääressä vapaaehtoisten kanssa. Ei ilmoittautumista.",
            "Kaikille suomen kielen oppijoille taitotasosta riippumatta.",
        ),
        ("fi",),
        provider="Monikulttuurikeskus Kohtaamo ry",
        place="Esimerkkilän pääkirjasto, Kirjastokatu 1",
        translations={
            "en": (
                (
                    "Language café",
                    "A relaxed place to practise Finnish over a cup of coffee with volunteers. No need to "
                    "sign up.",
                    "For all learners of Finnish, whatever their level.",
                ),
                T.OFFICER,
            ),
            "sv": (
                (
                    "Språkcafé",
                    "Ett avslappnat ställe att öva finska över en kopp kaffe tillsammans med frivilliga. "
                    "Ingen anmälan.",
                    "För alla som lär sig finska, oavsett nivå.",
                ),
                T.OFFICER,
            ),
        },
        periods=(Period(-30, 180, None, "fi", "Keskiviikkoisin klo 17–18.30"),),
    ),
    Spec(
        ServiceType.CIVIC_ORIENTATION,
        (
            "Yhteiskuntaorientaatio (vanha malli)",
            "Korvattu monikielisellä yhteiskuntaorientaatiolla, jossa on vähintään 70 tuntia opetusta.",
            "",
        ),
        ("ar", "en"),
        own_provider="centre",
        place="Esimerkkilän aikuisopisto, Koulukatu 12",
        hours=60,
        active=False,
        translations={
            "en": (
                (
                    "Civic orientation (old model)",
                    "Replaced by multilingual civic orientation with at least 70 hours of teaching.",
                    "",
                ),
                T.OFFICER,
            ),
        },
        periods=(Period(-520, 60, 20, "ar"),),
    ),
)


def _hash(texts: Texts) -> str:
    name, description, eligibility = texts
    return content_hash({"name": name, "description": description, "eligibility": eligibility})


async def _provider_organisation(db: AsyncSession) -> Organisation:
    existing = await db.scalar(select(Organisation).where(Organisation.name == ADULT_EDUCATION_CENTRE))
    if existing is not None:
        return existing
    centre = Organisation(name=ADULT_EDUCATION_CENTRE, type=OrganisationType.SERVICE_PROVIDER)
    db.add(centre)
    await db.flush()
    return centre


async def load_programme(db: AsyncSession, municipality: Organisation) -> list[ProgrammeService]:
    """Create the demo programme for `municipality` (its organisation row must be flushed)."""
    centre = await _provider_organisation(db)
    on = today()
    services: list[ProgrammeService] = []
    for spec in PROGRAMME:
        name, description, eligibility = spec.fi
        source_hash = _hash(spec.fi)
        texts = [
            ProgrammeServiceText(
                language="fi",
                name=name,
                description=description,
                eligibility=eligibility,
                origin=TextOrigin.ORIGINAL,
                source_hash=source_hash,
            )
        ]
        for language, ((t_name, t_description, t_eligibility), origin) in spec.translations.items():
            older = spec.translated_from.get(language)
            texts.append(
                ProgrammeServiceText(
                    language=language,
                    name=t_name,
                    description=t_description,
                    eligibility=t_eligibility,
                    origin=origin,
                    source_hash=_hash(older) if older else source_hash,
                )
            )
        provider_id = {"centre": centre.id, "city": municipality.id}.get(spec.own_provider or "")
        service = ProgrammeService(
            organisation_id=municipality.id,
            service_type=spec.service_type,
            provider_id=provider_id,
            provider_name=None if provider_id else spec.provider,
            source_language="fi",
            remote=spec.remote,
            place=spec.place,
            hours=Decimal(spec.hours) if spec.hours is not None else None,
            active=spec.active,
            texts=texts,
            languages=[ProgrammeServiceLanguage(language=code) for code in sorted(spec.languages)],
            periods=[
                ProgrammePeriod(
                    starts_on=on + timedelta(days=p.starts_in),
                    ends_on=on + timedelta(days=p.starts_in + p.days) if p.days is not None else None,
                    capacity=p.capacity,
                    language=p.language,
                    note=p.note,
                )
                for p in spec.periods
            ],
        )
        db.add(service)
        services.append(service)
    await db.flush()
    for service in services:
        await audit.record(
            db,
            Action.CREATE,
            actor_kind="system",
            object_type="programme_service",
            object_id=service.id,
            fields=["demo"],
        )
    return services
