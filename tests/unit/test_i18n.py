from pathlib import Path

from app import i18n


def test_explicit_choice_wins_over_everything() -> None:
    assert i18n.negotiate(i18n.PUBLIC_LOCALES, "ar", "sv", "en", "ru") == "ar"


def test_remembered_choice_then_profile_then_browser_then_finnish() -> None:
    assert i18n.negotiate(i18n.PUBLIC_LOCALES, None, "so", "en", "ru") == "so"
    assert i18n.negotiate(i18n.OFFICER_LOCALES, None, None, "sv", "en") == "sv"
    assert i18n.negotiate(i18n.PUBLIC_LOCALES, None, None, None, "de-DE,uk;q=0.8,en;q=0.5") == "uk"
    assert i18n.negotiate(i18n.PUBLIC_LOCALES, None, None, None, "de-DE") == "fi"


def test_officer_pages_never_pick_a_language_the_back_office_lacks() -> None:
    assert i18n.negotiate(i18n.OFFICER_LOCALES, "ar", "fa", "so", "ar") == "fi"


def test_quality_zero_means_not_acceptable() -> None:
    assert i18n.negotiate(i18n.PUBLIC_LOCALES, None, None, None, "ru;q=0, sv;q=0.5") == "sv"


def test_arabic_and_farsi_are_right_to_left() -> None:
    assert {c for c in i18n.PUBLIC_LOCALES if i18n.locale_info(c).direction == "rtl"} == {"ar", "fa"}


def test_every_configured_language_has_a_catalog() -> None:
    for code in i18n.PUBLIC_LOCALES:
        assert (Path(i18n.LOCALE_DIR) / code / "LC_MESSAGES" / "messages.po").exists()


def test_dates_are_formatted_per_locale() -> None:
    from datetime import date

    i18n.set_locale("fi")
    assert i18n.format_date(date(2026, 3, 24), "short") == "24.3.2026"
    i18n.set_locale("en")
    assert i18n.format_date(date(2026, 3, 24), "short") == "3/24/26"
