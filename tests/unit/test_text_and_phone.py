import pytest

from app.domain import phone, text


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("josé", "José Álvarez"),
        ("ALVAREZ", "José Álvarez"),
        ("sorensen", "Sørensen"),
        ("олена", "Олена Шевченко"),
        ("محمد", "مُحَمَّد الحسن"),
        ("nguyen", "Nguyễn Thị Hương"),
    ],
)
def test_folded_search_matches_across_case_and_accents(typed: str, stored: str) -> None:
    assert text.fold(typed) in text.search_text(stored)


def test_persian_and_arabic_letter_forms_meet() -> None:
    assert text.fold("علي") == text.fold("علی")


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("040 123 4567", "+358401234567"),
        ("+358 40 123 4567", "+358401234567"),
        ("(09) 310 1691", "+35893101691"),
        ("+46 70 123 45 67", "+46701234567"),
    ],
)
def test_phone_numbers_are_stored_in_e164(typed: str, e164: str) -> None:
    assert phone.to_e164(typed) == e164


@pytest.mark.parametrize("typed", ["123", "040 12", "not a number", "+999 123 456 789"])
def test_impossible_phone_numbers_are_refused(typed: str) -> None:
    assert phone.to_e164(typed) is None
