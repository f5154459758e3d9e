"""Which text of a programme service a reader gets, the 70-hour rule and the form readers, without a database."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from app.db.base import TextOrigin
from app.db.programme import ProgrammePeriod, ProgrammeService, ProgrammeServiceText, ServiceType
from app.domain import programme
from app.domain.translations import content_hash

FI = {"name": "Kielikahvila", "description": "Keskiviikkoisin.", "eligibility": "Kaikille."}
OLDER_FI = {"name": "Kielikahvila", "description": "Tiistaisin.", "eligibility": "Kaikille."}


def text(language: str, origin: TextOrigin, made_from: dict[str, str], **texts: str) -> ProgrammeServiceText:
    return ProgrammeServiceText(
        language=language,
        origin=origin,
        source_hash=content_hash(made_from),
        name=texts.get("name", f"name-{language}"),
        description=texts.get("description", ""),
        eligibility=texts.get("eligibility", ""),
    )


def service(*texts: ProgrammeServiceText, source: str = "fi", **fields: object) -> ProgrammeService:
    return ProgrammeService(
        source_language=source,
        service_type=fields.pop("service_type", ServiceType.NGO_ACTIVITY),
        texts=list(texts),
        periods=list(fields.pop("periods", [])),  # type: ignore[call-overload]
        **fields,
    )


CAFE = service(
    text("fi", TextOrigin.ORIGINAL, FI, **FI),
    text("sv", TextOrigin.TRANSLATOR, FI, name="Språkcafé"),
    text("en", TextOrigin.MACHINE, OLDER_FI, name="Language café"),
)


@pytest.mark.parametrize(
    ("locale", "name", "language", "origin", "stale", "translated", "fallback"),
    [
        ("fi", "Kielikahvila", "fi", TextOrigin.ORIGINAL, False, False, False),  # the source itself
        ("sv", "Språkcafé", "sv", TextOrigin.TRANSLATOR, False, True, False),  # current translation
        ("sv-FI", "Språkcafé", "sv", TextOrigin.TRANSLATOR, False, True, False),  # region ignored
        ("sv_FI", "Språkcafé", "sv", TextOrigin.TRANSLATOR, False, True, False),
        ("en", "Language café", "en", TextOrigin.MACHINE, True, True, False),  # made from an older source
        ("so", "Kielikahvila", "fi", TextOrigin.ORIGINAL, False, False, True),  # none: the source language
        ("ar", "Kielikahvila", "fi", TextOrigin.ORIGINAL, False, False, True),
    ],
)
def test_display_text_picks_the_locale_then_the_source(
    locale, name, language, origin, stale, translated, fallback
):
    shown = programme.display_text(CAFE, locale)
    assert (shown.name, shown.language, shown.origin) == (name, language, origin)
    assert (shown.stale, shown.translated, shown.fallback) == (stale, translated, fallback)


def test_the_source_text_is_never_stale_whatever_hash_it_carries():
    # An original whose stored hash is outdated is still the source: staleness is about translations.
    odd = service(text("fi", TextOrigin.ORIGINAL, OLDER_FI, **FI), text("sv", TextOrigin.OFFICER, FI))
    assert not programme.display_text(odd, "fi").stale
    assert not programme.display_text(odd, "sv").stale
    assert programme.stale_languages(odd) == []


def test_a_source_in_another_language_is_the_fallback():
    en = {"name": "Language café", "description": "", "eligibility": ""}
    english = service(
        text("en", TextOrigin.ORIGINAL, en, **en),
        text("fi", TextOrigin.OFFICER, en, name="Kahvila"),
        source="en",
    )
    assert programme.display_text(english, "fi").name == "Kahvila"
    assert programme.display_text(english, "uk").language == "en"
    assert programme.display_text(english, "uk").fallback


def test_missing_source_or_no_texts_at_all():
    orphan = service(text("sv", TextOrigin.OFFICER, FI, name="Språkcafé"))
    assert programme.display_text(orphan, "uk").name == "Språkcafé"  # some text beats none
    assert not programme.display_text(orphan, "uk").stale  # nothing to compare against
    empty = programme.display_text(service(), "fi")
    assert (empty.name, empty.fallback, empty.stale) == ("", True, False)


def test_the_stale_check_compares_the_three_texts_only():
    changed_eligibility = {**FI, "eligibility": "Aikuisille."}
    s = service(
        text("fi", TextOrigin.ORIGINAL, changed_eligibility, **changed_eligibility),
        text("sv", TextOrigin.OFFICER, FI),
    )
    assert programme.stale_languages(s) == ["sv"]
    same = service(
        text("fi", TextOrigin.ORIGINAL, FI, **FI), text("sv", TextOrigin.OFFICER, dict(reversed(FI.items())))
    )
    assert programme.stale_languages(same) == []  # key order does not matter


@pytest.mark.parametrize(
    ("service_type", "hours", "below"),
    [
        (ServiceType.CIVIC_ORIENTATION, Decimal("69.5"), True),
        (ServiceType.CIVIC_ORIENTATION, None, True),
        (ServiceType.CIVIC_ORIENTATION, Decimal(70), False),
        (ServiceType.CIVIC_ORIENTATION, Decimal(120), False),
        (ServiceType.INTEGRATION_TRAINING, Decimal(20), False),
        (ServiceType.NGO_ACTIVITY, None, False),
    ],
)
def test_civic_orientation_needs_at_least_70_hours(service_type, hours, below):
    assert programme.below_civic_minimum(service(service_type=service_type, hours=hours)) is below


def test_the_next_intake_is_the_first_starting_today_or_later():
    periods = [ProgrammePeriod(starts_on=date(2026, 1, 5)), ProgrammePeriod(starts_on=date(2026, 3, 2)),
               ProgrammePeriod(starts_on=date(2026, 6, 1))]  # fmt: skip
    s = service(periods=periods)
    assert programme.next_period(s, date(2026, 3, 2)) is periods[1]
    assert programme.next_period(s, date(2026, 3, 3)) is periods[2]
    assert programme.next_period(s, date(2026, 6, 2)) is None


def test_places_left_never_go_below_zero():
    period = ProgrammePeriod(id=uuid.uuid4(), starts_on=date(2026, 1, 5), capacity=3)
    assert programme.places_left(period, {period.id: 1}) == 2
    assert programme.places_left(period, {period.id: 5}) == 0
    assert programme.places_left(period, {}) == 3
    assert programme.places_left(ProgrammePeriod(id=uuid.uuid4(), starts_on=date(2026, 1, 5)), {}) is None


PROVIDERS = [(str(uuid.UUID(int=1)), "Aikuisopisto")]
FORM = {
    "service_type": "civic_orientation",
    "provider_name": "Opisto",
    "source_language": "fi",
    "name": "Orientaatio",
}


@pytest.mark.parametrize(
    ("hours", "value", "error"),
    [
        ("70", Decimal(70), False),
        ("37,5", Decimal("37.5"), False),
        ("1 000", Decimal(1000), False),
        ("", None, False),
        ("37.55", None, True),  # one decimal at most
        ("-1", None, True),
        ("NaN", None, True),
        ("seitsemänkymmentä", None, True),
        ("100000", None, True),
    ],
)
def test_hours_are_read_as_decimals(hours, value, error):
    parsed = programme.read_service_form({**FORM, "hours": hours}, ["ar"], PROVIDERS)
    assert parsed.values["hours"] == value
    assert ("hours" in parsed.errors) is error


def test_the_service_form_checks_provider_languages_and_name():
    ok = programme.read_service_form(
        {**FORM, "provider_name": "", "provider_id": PROVIDERS[0][0]}, ["ar", "fa"], PROVIDERS
    )
    assert not ok.errors
    assert ok.values["provider_id"] == uuid.UUID(int=1) and ok.values["provider_name"] is None
    assert ok.languages == ["ar", "fa"]
    assert (
        "provider_id"
        in programme.read_service_form({**FORM, "provider_id": str(uuid.uuid4())}, ["ar"], PROVIDERS).errors
    )
    assert "languages" in programme.read_service_form(FORM, [], PROVIDERS).errors
    assert "languages" in programme.read_service_form(FORM, ["xx-nonsense"], PROVIDERS).errors
    assert not programme.read_service_form(FORM, ["prs"], PROVIDERS).errors  # Dari, not in every CLDR list
    assert "name" in programme.read_service_form({**FORM, "name": "  "}, ["ar"], PROVIDERS).errors
    assert (
        "source_language"
        in programme.read_service_form({**FORM, "source_language": "de"}, ["ar"], PROVIDERS).errors
    )


def test_the_period_form_keeps_dates_in_order():
    parsed = programme.read_period_form({"starts_on": "1.9.2030", "ends_on": "31.8.2030", "capacity": "x"})
    assert set(parsed.errors) == {"ends_on", "capacity"}
    fine = programme.read_period_form(
        {"starts_on": "2030-09-01", "ends_on": "2030-09-01", "capacity": "0", "language": "uk"}
    )
    assert not fine.errors
    assert fine.values["capacity"] == 0 and fine.values["starts_on"] == date(2030, 9, 1)


@pytest.mark.parametrize(
    ("hours", "shown"),
    [(Decimal("1000.0"), "1000"), (Decimal("70.0"), "70"), (Decimal("37.5"), "37.5"), (None, "")],
)
def test_the_edit_form_shows_hours_as_typed(hours, shown):
    fi = text("fi", TextOrigin.ORIGINAL, FI, **FI)
    values = programme.service_form_values(service(fi, hours=hours, remote=False, active=True))
    assert values["hours"] == shown
    assert (
        programme.read_service_form({**values, "provider_name": "x"}, ["fi"], PROVIDERS).values["hours"]
        == hours
    )
