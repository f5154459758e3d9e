from datetime import date

import pytest

from app.domain import identity_code


@pytest.mark.parametrize(
    ("code", "born", "temporary"),
    [
        (
            "131052-308T",
            date(1952, 10, 13),
            False,
        ),  # the Digital and Population Data Services Agency's example
        ("010594Y123W", date(1994, 5, 1), False),  # new century sign for the 1900s
        ("020110A950A", date(2010, 1, 2), True),  # individual numbers 900–999 are temporary
        ("311299+1236", date(1899, 12, 31), False),
        ("010594Y9021", date(1994, 5, 1), True),  # 900–999: a temporary code
    ],
)
def test_valid_codes_give_date_of_birth(code: str, born: date, temporary: bool) -> None:
    parsed = identity_code.parse(code)
    assert parsed is not None
    assert parsed.date_of_birth == born
    assert parsed.temporary is temporary


@pytest.mark.parametrize(
    "code",
    [
        "131052-308U",  # wrong check character
        "311352-308T",  # no 13th month
        "300201A123J",  # 30 February
        "131052*308T",  # unknown century sign
        "131052-000T",  # individual numbers start at 002
        "131052-308",  # too short
        "",
    ],
)
def test_invalid_codes_are_refused(code: str) -> None:
    assert identity_code.parse(code) is None


def test_lower_case_and_spaces_are_normalised() -> None:
    parsed = identity_code.parse(" 131052-308t ")
    assert parsed is not None and parsed.code == "131052-308T"


def test_made_codes_are_valid() -> None:
    for individual in (2, 123, 899, 950):
        assert identity_code.parse(identity_code.make(date(2001, 7, 15), individual)) is not None
