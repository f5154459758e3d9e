"""The integration programme (service 7, §13) through HTTP: the catalogue, its texts and translations,
intakes with places, the 70-hour minimum of civic orientation, and who may see and change it."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import selectinload

from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.client import ClientAccessGrant, DataCategory
from app.db.organisation import Organisation, OrganisationType, Role
from app.db.plan import IntegrationPlan, PlanService, PlanServiceKind, PlanServiceStatus
from app.db.programme import (
    ProgrammePeriod,
    ProgrammeService,
    ProgrammeServiceLanguage,
    ProgrammeServiceText,
    ServiceType,
)
from app.domain import programme
from app.domain.demo_programme import load_programme
from app.domain.forms import today
from app.domain.translations import content_hash
from tests.conftest import post, sign_in

VALID = [
    ("service_type", "integration_training"),
    ("provider_id", ""),
    ("provider_name", "Esimerkkilän aikuisopisto"),
    ("source_language", "fi"),
    ("languages", "fi"),
    ("hours", "1000"),
    ("place", "Koulukatu 12"),
    ("active", "on"),
    ("name", "Kotoutumiskoulutus"),
    ("description", "Suomen kielen opintoja."),
    ("eligibility", "Luku- ja kirjoitustaito."),
]


def form(**changes: str) -> list[tuple[str, str]]:
    """VALID with some fields replaced (a None-like "" removes nothing: it sends an empty value)."""
    rows = [(k, changes.pop(k)) if k in changes else (k, v) for k, v in VALID]
    return rows + list(changes.items())


@pytest.fixture
def municipality(factory):
    return factory.organisation("Kotokunta")


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"  # messages are asserted in English, the msgid language


@pytest.fixture
def officer(client, factory, municipality):
    person = factory.staff(municipality, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


def make_service(db, organisation, name="Kielikahvila", **fields) -> ProgrammeService:
    texts = {"name": name, "description": "Kuvaus", "eligibility": ""}
    values = {
        "service_type": ServiceType.NGO_ACTIVITY,
        "provider_name": "Yhdistys ry",
        "source_language": "fi",
        "languages": [ProgrammeServiceLanguage(language="fi")],
        **fields,
    }
    service = ProgrammeService(
        organisation_id=organisation.id,
        texts=[
            ProgrammeServiceText(
                language="fi", origin=TextOrigin.ORIGINAL, source_hash=content_hash(texts), **texts
            )
        ],
        **values,
    )
    db.add(service)
    db.commit()
    return service


def load(db, service_id) -> ProgrammeService:
    db.expire_all()
    return db.scalar(
        select(ProgrammeService)
        .where(ProgrammeService.id == service_id)
        .options(
            selectinload(ProgrammeService.texts),
            selectinload(ProgrammeService.languages),
            selectinload(ProgrammeService.periods),
        )
    )


def make_plan_services(db, organisation, staff, client_factory, period, statuses) -> None:
    """One plan per status, each with a plan service in `period`."""
    for status in statuses:
        person = client_factory.client(organisation, first_names=f"Asiakas {status.value}")
        plan = IntegrationPlan(
            client_id=person.id,
            organisation_id=organisation.id,
            number=1,
            officer_id=staff.id,
            starts_on=date(2025, 1, 1),
            ends_on=date(2025, 12, 31),
        )
        db.add(plan)
        db.flush()
        db.add(
            PlanService(
                plan_id=plan.id,
                position=1,
                kind=PlanServiceKind.PROGRAMME,
                programme_service_id=period.service_id,
                period_id=period.id,
                status=status,
            )
        )
    db.commit()


# --- create, validate, edit -----------------------------------------------------------------------


def test_an_officer_adds_a_service_with_its_texts(client, officer, db):
    response = post(client, "/officer/programme", [*form(languages="fi"), ("languages", "ar")])
    assert response.status_code == 303, response.text
    created = load(db, db.scalar(select(ProgrammeService.id)))
    assert response.headers["location"] == f"/officer/programme/{created.id}"
    assert created.organisation_id == officer.organisation_id
    assert created.hours == Decimal(1000)
    assert sorted(lang.language for lang in created.languages) == ["ar", "fi"]
    (source,) = created.texts
    assert (source.language, source.name, source.origin) == ("fi", "Kotoutumiskoulutus", TextOrigin.ORIGINAL)
    assert source.source_hash == content_hash(
        {
            "name": "Kotoutumiskoulutus",
            "description": "Suomen kielen opintoja.",
            "eligibility": "Luku- ja kirjoitustaito.",
        }
    )
    # Not client data, but who changed the catalogue is in the log.
    event = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "programme_service"))
    assert event.action == "create" and event.actor_id == officer.id and event.client_id is None
    assert "Kotoutumiskoulutus" not in repr(event.fields)
    page = client.get(f"/officer/programme/{created.id}")
    assert (
        page.status_code == 200
        and "Kotoutumiskoulutus" in page.text
        and "Esimerkkilän aikuisopisto" in page.text
    )
    listing = client.get("/officer/programme")
    assert "Kotoutumiskoulutus" in listing.text


def test_the_provider_can_be_an_organisation_in_the_system(client, officer, factory, db):
    centre = factory.organisation("Aikuisopisto Oy", OrganisationType.SERVICE_PROVIDER)
    other_municipality = factory.organisation("Naapurikunta")
    new = client.get("/officer/programme/new")
    assert "Aikuisopisto Oy" in new.text and "Naapurikunta" not in new.text
    response = post(client, "/officer/programme", form(provider_id=str(centre.id), provider_name=""))
    assert response.status_code == 303
    assert db.scalar(select(ProgrammeService.provider_id)) == centre.id
    # Another municipality is not a provider one can pick.
    refused = post(
        client, "/officer/programme", form(provider_id=str(other_municipality.id), provider_name="")
    )
    assert refused.status_code == 422


def test_bad_input_gets_errors_next_to_the_fields_and_keeps_what_was_typed(client, officer, db):
    typed = [
        (k, v) for k, v in form(name="", hours="seitsemänkymmentä", place="Torikatu 1") if k != "languages"
    ]
    response = post(client, "/officer/programme", typed)
    assert response.status_code == 422
    for field in ("name", "hours", "languages"):
        assert f'id="{field}-error"' in response.text, field
    assert 'value="seitsemänkymmentä"' in response.text
    assert 'value="Torikatu 1"' in response.text
    assert "Suomen kielen opintoja." in response.text
    assert 'aria-invalid="true"' in response.text
    both = post(client, "/officer/programme", form(provider_id=str(officer.organisation_id)))
    assert both.status_code == 422 and 'id="provider_name-error"' in both.text
    neither = post(client, "/officer/programme", form(provider_name=""))
    assert neither.status_code == 422 and 'id="provider_id-error"' in neither.text
    assert db.scalar(select(func.count()).select_from(ProgrammeService)) == 0


def test_a_stale_edit_is_refused_and_keeps_the_input(client, officer, factory, municipality, db):
    service = make_service(db, municipality)
    edit = client.get(f"/officer/programme/{service.id}/edit")
    assert edit.status_code == 200
    seen = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    base = [("service_type", "ngo_activity"), ("provider_name", "Yhdistys ry"), ("source_language", "fi"),
            ("languages", "fi"), ("active", "on"), ("version", seen)]  # fmt: skip
    first = post(client, f"/officer/programme/{service.id}", [*base, ("name", "Kielikahvila ja lukupiiri")])
    assert first.status_code == 303
    late = post(client, f"/officer/programme/{service.id}", [*base, ("name", "Keskustelukerho")])
    assert late.status_code == 409
    assert 'value="Keskustelukerho"' in late.text  # what the user typed is kept
    assert "Kielikahvila ja lukupiiri" in late.text  # the saved value is shown
    fresh = load(db, service.id)
    assert fresh.texts[0].name == "Kielikahvila ja lukupiiri"
    # The form now carries the saved version: saving again is a conscious overwrite.
    again = re.search(r'name="version" value="(\d+)"', late.text).group(1)
    assert again != seen
    assert (
        post(
            client,
            f"/officer/programme/{service.id}",
            [*base[:-1], ("version", again), ("name", "Keskustelukerho")],
        ).status_code
        == 303
    )
    assert load(db, service.id).texts[0].name == "Keskustelukerho"


def test_languages_offered_are_added_and_dropped_keeping_the_others(client, officer, municipality, db):
    service = make_service(db, municipality)
    edit = client.get(f"/officer/programme/{service.id}/edit")
    seen = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    form = [("service_type", "ngo_activity"), ("provider_name", "Yhdistys ry"), ("source_language", "fi"),
            ("languages", "fi"), ("languages", "ar"), ("languages", "so"), ("active", "on"),
            ("version", seen), ("name", "Kielikahvila")]  # fmt: skip
    assert post(client, f"/officer/programme/{service.id}", form).status_code == 303
    assert sorted(row.language for row in load(db, service.id).languages) == ["ar", "fi", "so"]
    again = re.search(
        r'name="version" value="(\d+)"', client.get(f"/officer/programme/{service.id}/edit").text
    )
    form = [(k, v) for k, v in form if (k, v) != ("languages", "fi") and k != "version"]
    assert (
        post(client, f"/officer/programme/{service.id}", [*form, ("version", again.group(1))]).status_code
        == 303
    )
    assert sorted(row.language for row in load(db, service.id).languages) == ["ar", "so"]


# --- translations ---------------------------------------------------------------------------------


def test_a_translation_becomes_stale_when_the_source_changes(client, officer, municipality, db):
    service = make_service(db, municipality, name="Kielikahvila")
    url = f"/officer/programme/{service.id}/texts/sv"
    assert client.get(url).status_code == 200
    saved = post(
        client,
        url,
        {"name": "Språkcafé", "description": "Beskrivning", "origin": "translator", "version": ""},
    )
    assert saved.status_code == 303
    page = client.get(f"/officer/programme/{service.id}")
    assert "Språkcafé" in page.text and "Stale" not in page.text

    # The source text changes: the Swedish translation was made from an older version.
    edit = client.get(f"/officer/programme/{service.id}/edit")
    version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    changed = post(client, f"/officer/programme/{service.id}", [
        ("service_type", "ngo_activity"), ("provider_name", "Yhdistys ry"), ("source_language", "fi"),
        ("languages", "fi"), ("active", "on"), ("version", version), ("name", "Kielikahvila"),
        ("description", "Keskiviikkoisin kirjastossa."),
    ])  # fmt: skip
    assert changed.status_code == 303
    assert "Stale – translated from an older version" in client.get(f"/officer/programme/{service.id}").text
    assert "Stale – translated from an older version" in client.get("/officer/programme").text

    fresh = load(db, service.id)
    swedish = programme.display_text(fresh, "sv")
    assert (swedish.name, swedish.language, swedish.stale, swedish.translated) == (
        "Språkcafé",
        "sv",
        True,
        True,
    )
    assert swedish.origin == TextOrigin.TRANSLATOR
    finnish = programme.display_text(fresh, "fi")
    assert (finnish.description, finnish.stale, finnish.translated) == (
        "Keskiviikkoisin kirjastossa.",
        False,
        False,
    )
    somali = programme.display_text(fresh, "so")  # no Somali text: the source, marked as a fallback
    assert (somali.name, somali.language, somali.fallback, somali.stale) == (
        "Kielikahvila",
        "fi",
        True,
        False,
    )

    # Checking and saving the translation again makes it current.
    form_page = client.get(url)
    assert "Keskiviikkoisin kirjastossa." in form_page.text  # the current source, to translate from
    version = re.search(r'name="version" value="(\d+)"', form_page.text).group(1)
    post(
        client,
        url,
        {
            "name": "Språkcafé",
            "description": "På onsdagar i biblioteket.",
            "origin": "officer",
            "version": version,
        },
    )
    assert not programme.display_text(load(db, service.id), "sv").stale
    assert "Stale" not in client.get(f"/officer/programme/{service.id}").text


def test_a_translation_edit_on_a_changed_translation_is_refused(client, officer, municipality, db):
    service = make_service(db, municipality)
    url = f"/officer/programme/{service.id}/texts/en"
    assert post(client, url, {"name": "Language café", "origin": "machine", "version": ""}).status_code == 303
    # A second "new" translation posted from a form opened before the first was saved.
    late = post(client, url, {"name": "Conversation club", "origin": "officer", "version": ""})
    assert late.status_code == 409
    assert 'value="Conversation club"' in late.text
    assert programme.display_text(load(db, service.id), "en").name == "Language café"


def test_translations_only_into_the_text_languages_other_than_the_source(client, officer, municipality, db):
    service = make_service(db, municipality)
    assert client.get(f"/officer/programme/{service.id}/texts/fi").status_code == 404  # the source
    assert client.get(f"/officer/programme/{service.id}/texts/de").status_code == 404
    assert (
        post(
            client, f"/officer/programme/{service.id}/texts/fi", {"name": "x", "origin": "officer"}
        ).status_code
        == 404
    )
    refused = post(client, f"/officer/programme/{service.id}/texts/sv", {"name": "x", "origin": "original"})
    assert refused.status_code == 422  # "original" belongs to the source text only


# --- civic orientation ----------------------------------------------------------------------------


def test_civic_orientation_shows_its_hours_against_the_70_hour_minimum(client, officer, municipality, db):
    short = make_service(
        db,
        municipality,
        name="Orientaatio lyhyt",
        service_type=ServiceType.CIVIC_ORIENTATION,
        hours=Decimal(60),
    )
    warning = "Below the minimum of 70 hours of teaching for civic orientation"
    listing = client.get("/officer/programme")
    assert warning in listing.text
    assert warning in client.get(f"/officer/programme/{short.id}").text
    db.get(ProgrammeService, short.id).hours = Decimal(70)
    db.commit()
    listing = client.get("/officer/programme")
    assert "Orientaatio lyhyt" in listing.text and warning not in listing.text
    assert "70 hours (minimum 70)" in listing.text
    # Other services have no minimum.
    make_service(db, municipality, name="Kerho", hours=Decimal(10))
    assert warning not in client.get("/officer/programme").text


def test_the_list_filters_by_type_language_and_status(client, officer, municipality, db):
    make_service(db, municipality, name="Orientaatio", service_type=ServiceType.CIVIC_ORIENTATION,
                 languages=[ProgrammeServiceLanguage(language="ar")], hours=Decimal(70))  # fmt: skip
    make_service(db, municipality, name="Kielikahvila")
    make_service(db, municipality, name="Vanha kurssi", active=False)

    def names(query: str) -> set[str]:
        page = client.get(f"/officer/programme{query}")
        assert page.status_code == 200
        return set(re.findall(r'href="/officer/programme/[0-9a-f-]{36}"[^>]*>([^<]+)</a>', page.text))

    assert names("") == {"Orientaatio", "Kielikahvila", "Vanha kurssi"}
    assert names("?type=civic_orientation") == {"Orientaatio"}
    assert names("?language=ar") == {"Orientaatio"}
    assert names("?status=active") == {"Orientaatio", "Kielikahvila"}
    assert names("?status=inactive") == {"Vanha kurssi"}
    assert names("?type=nonsense") == {"Orientaatio", "Kielikahvila", "Vanha kurssi"}


# --- who sees what --------------------------------------------------------------------------------


def test_another_organisations_service_is_not_found_and_never_named(client, officer, factory, db):
    other = factory.organisation("Muukunta")
    theirs = make_service(db, other, name="Naapurin salainen kurssi")
    period = ProgrammePeriod(service_id=theirs.id, starts_on=today() + timedelta(days=5), capacity=5)
    db.add(period)
    db.commit()
    base = f"/officer/programme/{theirs.id}"
    for url in (base, f"{base}/edit", f"{base}/texts/sv", f"{base}/periods/{period.id}/edit"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Naapurin salainen kurssi" not in response.text
    for url, data in [
        (base, dict(form(name="Kaapattu"))),
        (f"{base}/texts/sv", {"name": "Kaapattu", "origin": "officer"}),
        (f"{base}/texts/sv/delete", {}),
        (f"{base}/periods", {"starts_on": "2030-01-01"}),
        (f"{base}/periods/{period.id}", {"starts_on": "2030-01-01", "version": "1"}),
        (f"{base}/periods/{period.id}/delete", {}),
    ]:
        response = post(client, url, data)
        assert response.status_code == 404, url
        assert "Naapurin salainen kurssi" not in response.text
    assert "Naapurin salainen kurssi" not in client.get("/officer/programme").text
    untouched = load(db, theirs.id)
    assert untouched.texts[0].name == "Naapurin salainen kurssi" and len(untouched.periods) == 1


def test_a_county_team_member_reads_the_granted_municipalitys_programme_but_cannot_change_it(
    client, factory, municipality, db
):
    service = make_service(db, municipality, name="Kotoutumisen ohjaus")
    county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    member = factory.staff(county, Role.COUNTY_TEAM_MEMBER)
    sign_in(client, member)
    # Without a grant on any of the municipality's clients, its programme does not exist for them.
    assert client.get(f"/officer/programme/{service.id}").status_code == 404
    assert "Kotoutumisen ohjaus" not in client.get("/officer/programme").text

    officer = factory.staff(municipality, Role.INTEGRATION_OFFICER)
    person = factory.client(municipality)
    db.add(ClientAccessGrant(client_id=person.id, staff_id=member.id, category=DataCategory.BASIC,
                             granted_by_id=officer.id, reason="Monialainen suunnitelma"))  # fmt: skip
    db.commit()
    page = client.get(f"/officer/programme/{service.id}")
    assert page.status_code == 200 and "Kotoutumisen ohjaus" in page.text
    assert f"/officer/programme/{service.id}/edit" not in page.text
    assert "Kotoutumisen ohjaus" in client.get("/officer/programme").text
    # Read only: every change is forbidden by the role.
    assert client.get("/officer/programme/new").status_code == 403
    assert client.get(f"/officer/programme/{service.id}/edit").status_code == 403
    assert post(client, "/officer/programme", form()).status_code == 403
    assert post(client, f"/officer/programme/{service.id}", form(name="Muutettu")).status_code == 403
    assert (
        post(client, f"/officer/programme/{service.id}/periods", {"starts_on": "2030-01-01"}).status_code
        == 403
    )
    assert load(db, service.id).texts[0].name == "Kotoutumisen ohjaus"


def test_roles_without_the_programme_see_nothing(client, factory, municipality, db):
    service = make_service(db, municipality)
    admin = factory.staff(municipality, Role.ADMINISTRATOR)
    sign_in(client, admin)
    assert client.get("/officer/programme").status_code == 403
    assert client.get(f"/officer/programme/{service.id}").status_code == 403


def test_a_manager_manages_the_programme(client, factory, municipality, db):
    service = make_service(db, municipality)
    sign_in(client, factory.staff(municipality, Role.MANAGER))
    assert client.get(f"/officer/programme/{service.id}/edit").status_code == 200
    assert (
        post(client, f"/officer/programme/{service.id}/periods", {"starts_on": "2030-01-01"}).status_code
        == 303
    )


# --- periods --------------------------------------------------------------------------------------


def test_an_intakes_places_left_count_referred_and_started_plan_services(
    client, officer, factory, municipality, db
):
    service = make_service(
        db, municipality, name="Kotoutumiskoulutus", service_type=ServiceType.INTEGRATION_TRAINING
    )
    start = today() + timedelta(days=14)
    added = post(client, f"/officer/programme/{service.id}/periods", {
        "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=200)).isoformat(),
        "capacity": "10", "language": "fi", "note": "Aamuryhmä",
    })  # fmt: skip
    assert added.status_code == 303
    period = db.scalar(select(ProgrammePeriod))
    assert (period.capacity, period.language, period.note) == (10, "fi", "Aamuryhmä")
    S = PlanServiceStatus
    make_plan_services(db, municipality, officer, factory, period,
                       [S.REFERRED, S.REFERRED, S.STARTED, S.PLANNED, S.COMPLETED, S.INTERRUPTED])  # fmt: skip
    assert "7 places left" in client.get("/officer/programme").text
    detail = client.get(f"/officer/programme/{service.id}")
    cells = re.findall(r'data-label="(?:Taken|Left)">([^<]*)<', detail.text)
    assert cells == ["3", "7"]

    async def taken() -> dict[uuid.UUID, int]:
        engine = create_async_engine(officer_settings.async_database_url)
        try:
            async with AsyncSession(engine) as session:
                return await programme.places_taken(session, [period.id, uuid.uuid4()])
        finally:
            await engine.dispose()

    officer_settings = client.app.state["settings"]
    counts = asyncio.run(taken())
    assert counts[period.id] == 3 and sorted(counts.values()) == [0, 3]


def test_period_input_is_checked(client, officer, municipality, db):
    service = make_service(db, municipality)
    bad = post(client, f"/officer/programme/{service.id}/periods",
               {"starts_on": "2030-05-01", "ends_on": "2030-04-01", "capacity": "-3"})  # fmt: skip
    assert bad.status_code == 422
    assert 'id="ends_on-error"' in bad.text and 'id="capacity-error"' in bad.text
    assert 'value="-3"' in bad.text
    assert db.scalar(select(func.count()).select_from(ProgrammePeriod)) == 0
    missing = post(client, f"/officer/programme/{service.id}/periods", {"capacity": "5"})
    assert missing.status_code == 422 and 'id="starts_on-error"' in missing.text


def test_an_intake_is_edited_with_a_version_check(client, officer, municipality, db):
    service = make_service(db, municipality)
    period = ProgrammePeriod(service_id=service.id, starts_on=date(2030, 1, 7), capacity=12)
    db.add(period)
    db.commit()
    url = f"/officer/programme/{service.id}/periods/{period.id}"
    assert client.get(f"{url}/edit").status_code == 200
    ok = post(client, url, {"starts_on": "2030-01-14", "capacity": "15", "version": str(period.version)})
    assert ok.status_code == 303
    late = post(client, url, {"starts_on": "2030-01-21", "capacity": "9", "version": str(period.version)})
    assert late.status_code == 409 and 'value="2030-01-21"' in late.text
    db.expire_all()
    saved = db.get(ProgrammePeriod, period.id)
    assert (saved.starts_on, saved.capacity) == (date(2030, 1, 14), 15)


def test_an_intake_that_plans_refer_to_is_not_deleted(client, officer, factory, municipality, db):
    service = make_service(db, municipality)
    used = ProgrammePeriod(service_id=service.id, starts_on=date(2030, 1, 7), capacity=12)
    unused = ProgrammePeriod(service_id=service.id, starts_on=date(2030, 8, 5), capacity=12)
    db.add_all([used, unused])
    db.commit()
    # Even a completed plan service keeps the intake it took place in.
    make_plan_services(db, municipality, officer, factory, used, [PlanServiceStatus.COMPLETED])
    refused = post(client, f"/officer/programme/{service.id}/periods/{used.id}/delete")
    assert refused.status_code == 409
    assert "cannot be deleted: integration plans refer to it" in refused.text
    assert post(client, f"/officer/programme/{service.id}/periods/{unused.id}/delete").status_code == 303
    db.expire_all()
    assert db.scalars(select(ProgrammePeriod.id)).all() == [used.id]
    fields = db.scalars(select(AuditEvent.fields).where(AuditEvent.action == "delete")).all()
    assert fields == [["period"]]


# --- demo data ------------------------------------------------------------------------------------


def test_the_demo_programme_is_realistic_and_shows_the_flags(settings, db):
    city = Organisation(name="Esimerkkilän kaupunki", type=OrganisationType.MUNICIPALITY)
    db.add(city)
    db.commit()

    async def run() -> tuple[list[ProgrammeService], list[ProgrammeService]]:
        engine = create_async_engine(settings.async_database_url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                municipality = await session.get(Organisation, city.id)
                assert municipality is not None
                await load_programme(session, municipality)
                await session.commit()
            async with AsyncSession(engine, expire_on_commit=False) as session:
                everything = await programme.catalogue(session, city.id)
                active = await programme.catalogue(session, city.id, active_only=True)
                return everything, active
        finally:
            await engine.dispose()

    everything, active = asyncio.run(run())
    assert {s.service_type for s in active} == set(ServiceType) - {ServiceType.OTHER_SERVICE}
    assert len(everything) == len(active) + 1  # one old, inactive service
    civic = next(s for s in active if s.service_type == ServiceType.CIVIC_ORIENTATION)
    assert civic.hours == 70 and civic.remote and not programme.below_civic_minimum(civic)
    assert {"ar", "fa", "uk", "ru", "so", "en"} <= {lang.language for lang in civic.languages}
    training = next(s for s in active if s.service_type == ServiceType.INTEGRATION_TRAINING)
    assert len([p for p in training.periods if p.starts_on >= today()]) == 2
    origins = [programme.display_text(s, lang).origin for s in everything for lang in ("ar", "uk")]
    assert TextOrigin.MACHINE in origins
    stale = [(s, lang) for s in everything for lang in programme.stale_languages(s)]
    assert len(stale) == 1
    assert programme.display_text(stale[0][0], stale[0][1]).stale
    for service in everything:
        assert {"fi", "en"} <= {t.language for t in service.texts}
        assert programme.display_text(service, "fi").origin == TextOrigin.ORIGINAL


def test_changing_the_language_of_the_texts(client, officer, municipality, db):
    service = make_service(db, municipality, name="Språkcafé")  # written in Swedish, marked Finnish
    assert (
        post(
            client,
            f"/officer/programme/{service.id}/texts/en",
            {"name": "Language café", "origin": "officer"},
        ).status_code
        == 303
    )

    def save(language: str, name: str):
        version = re.search(
            r'name="version" value="(\d+)"', client.get(f"/officer/programme/{service.id}/edit").text
        ).group(1)
        return post(client, f"/officer/programme/{service.id}", [
            ("service_type", "ngo_activity"), ("provider_name", "Yhdistys ry"), ("source_language", language),
            ("languages", "fi"), ("active", "on"), ("version", version), ("name", name), ("description", "Kuvaus"),
        ])  # fmt: skip

    # A translation into the new language is never overwritten by the source text.
    refused = save("en", "Språkcafé")
    assert refused.status_code == 422 and 'id="source_language-error"' in refused.text
    # Only the language is corrected: the same text is not kept twice, translations stay current.
    assert save("sv", "Språkcafé").status_code == 303
    fixed = load(db, service.id)
    assert {(t.language, t.origin) for t in fixed.texts} == {
        ("sv", TextOrigin.ORIGINAL),
        ("en", TextOrigin.OFFICER),
    }
    assert programme.stale_languages(fixed) == []
    # New texts in a new language: the old text stays as a text in its language, flagged for checking.
    assert save("fi", "Kielikahvila").status_code == 303
    moved = load(db, service.id)
    assert programme.display_text(moved, "sv").name == "Språkcafé"
    assert programme.display_text(moved, "fi").origin == TextOrigin.ORIGINAL
    assert sorted(programme.stale_languages(moved)) == ["en", "sv"]
