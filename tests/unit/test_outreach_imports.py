"""Reading the outreach lists (docs/IMPORTS.md): encodings, separators, and a row-level error for each kind
of bad input, before anything is written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app import i18n
from app.db.outreach import BenefitType, ImportSource, OutreachReason
from app.domain import identity_code
from app.domain.outreach_imports import MAX_IMPORT_BYTES, parse_date, read

TODAY = date(2025, 6, 1)
AMINA = identity_code.make(date(1990, 4, 12), 123)
OMAR = identity_code.make(date(2001, 11, 3), 456)
CHILD = identity_code.make(date(2012, 1, 20), 222, "A")
KELA_HEADER = "identity_code,last_name,first_names,benefit,benefit_from,benefit_until,date_of_birth"


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_locale("en")


def kela(*rows: str, header: str = KELA_HEADER, delimiter: str = ",") -> bytes:
    lines = [header, *rows]
    return "\n".join(line.replace(",", delimiter) for line in lines).encode()


def errors_of(parsed) -> list[tuple[int, str | None]]:  # type: ignore[no-untyped-def]
    return [(e.row, e.column) for e in parsed.errors]


def test_a_clean_kela_list_with_a_byte_order_mark_and_finnish_dates() -> None:
    content = "\ufeff".encode() + kela(
        f"{AMINA},Warsame,Amina,social_assistance,1.3.2025,,12.4.1990",
        f"{OMAR},Haidari,Omar Ali,home_care_allowance,2025-02-01,2025-12-31,",
    )
    parsed = read(content, ImportSource.KELA, "kela.csv", TODAY)
    assert parsed.readable
    assert parsed.errors == []
    assert parsed.rows_total == 2
    first, second = parsed.rows
    assert (first.identity_code, first.last_name, first.benefit) == (
        AMINA,
        "Warsame",
        BenefitType.SOCIAL_ASSISTANCE,
    )
    assert first.benefit_from == date(2025, 3, 1)
    assert first.reason == OutreachReason.SOCIAL_ASSISTANCE
    assert second.benefit == BenefitType.HOME_CARE_ALLOWANCE
    assert second.benefit_until == date(2025, 12, 31)
    assert second.date_of_birth == date(2001, 11, 3)  # from the identity code


def test_semicolons_are_told_from_the_header_and_a_comma_inside_a_value_survives() -> None:
    content = (
        "identity_code;last_name;first_names;ground;first_permit_date;street_address\n"
        f'{AMINA};Warsame;Amina;international_protection;2024-05-02;"Kotikatu 1, B 12"\n'
    ).encode()
    parsed = read(content, ImportSource.IMMIGRATION_SERVICE, "migri.csv", TODAY)
    assert parsed.delimiter == ";"
    assert parsed.errors == []
    assert parsed.rows[0].street_address == "Kotikatu 1, B 12"
    assert parsed.rows[0].first_permit_date == date(2024, 5, 2)


def test_windows_line_ends_and_blank_lines_are_fine() -> None:
    content = (
        "identity_code,last_name,first_names,moved_in_on\r\n\r\n"
        f"{AMINA},Warsame,Amina,2025-05-01\r\n\r\n{OMAR},Haidari,Omar,2.5.2025\r\n"
    ).encode()
    parsed = read(content, ImportSource.POPULATION_REGISTER, "dvv.csv", TODAY)
    assert parsed.errors == []
    assert parsed.rows_total == 2
    assert [r.row for r in parsed.rows] == [3, 5]  # as a spreadsheet numbers them
    assert parsed.rows[1].moved_in_on == date(2025, 5, 2)


def test_an_invalid_identity_code_names_the_row_and_the_column() -> None:
    wrong_check = AMINA[:-1] + ("X" if AMINA[-1] != "X" else "Y")
    parsed = read(
        kela(
            f"{wrong_check},Warsame,Amina,social_assistance,2025-03-01,,",
            "311390-1234,Nimi,Etu,social_assistance,2025-03-01,,",  # no 31st of the 13th month
            f"{OMAR},Haidari,Omar,social_assistance,2025-03-01,,",
        ),
        ImportSource.KELA,
        "kela.csv",
        TODAY,
    )
    assert errors_of(parsed) == [(2, "identity_code"), (3, "identity_code")]
    assert "not a valid personal identity code" in parsed.errors[0].message
    assert [r.identity_code for r in parsed.rows] == [OMAR]
    assert parsed.rejected == 2


def test_the_date_of_birth_must_agree_with_the_identity_code() -> None:
    parsed = read(
        kela(f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,13.4.1990"),
        ImportSource.KELA,
        "k.csv",
        TODAY,
    )
    assert errors_of(parsed) == [(2, "date_of_birth")]
    assert "does not match" in parsed.errors[0].message


@pytest.mark.parametrize("bad", ["2025-13-01", "31.2.2025", "1.3.25", "maaliskuu", "2025/03/01"])
def test_a_bad_date_is_a_row_error(bad: str) -> None:
    parsed = read(kela(f"{AMINA},Warsame,Amina,social_assistance,{bad},,"), ImportSource.KELA, "k.csv", TODAY)
    assert errors_of(parsed) == [(2, "benefit_from")]
    assert "is not a date" in parsed.errors[0].message
    assert parsed.rows == []


def test_dates_iso_and_finnish() -> None:
    assert parse_date("2025-03-24") == date(2025, 3, 24)
    assert parse_date("24.3.2025") == date(2025, 3, 24)
    assert parse_date("04.03.2025") == date(2025, 3, 4)
    assert parse_date("29.2.2025") is None
    assert parse_date("24.3.25") is None


def test_future_permit_and_benefit_ending_before_it_starts() -> None:
    parsed = read(
        kela(
            f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,2025-02-01,",
            header=KELA_HEADER,
        )
        + f"\n{OMAR},Haidari,Omar,social_assistance,2025-03-01,,".encode(),
        ImportSource.KELA,
        "k.csv",
        TODAY,
    )
    assert errors_of(parsed) == [(2, "benefit_until")]
    migri = read(
        (
            "identity_code,last_name,first_names,ground,first_permit_date\n"
            f"{AMINA},Warsame,Amina,international_protection,2025-07-01\n"
        ).encode(),
        ImportSource.IMMIGRATION_SERVICE,
        "m.csv",
        TODAY,
    )
    assert errors_of(migri) == [(2, "first_permit_date")]


def test_missing_fields_each_get_an_error() -> None:
    parsed = read(
        kela(f"{AMINA},,Amina,,,,", ",Warsame,Amina,social_assistance,2025-03-01,,"),
        ImportSource.KELA,
        "k.csv",
        TODAY,
    )
    assert errors_of(parsed) == [(2, "last_name"), (2, "benefit"), (2, "benefit_from"), (3, "identity_code")]
    assert all("required" in e.message for e in parsed.errors)


def test_a_short_row_is_missing_its_fields_and_a_long_one_is_refused() -> None:
    parsed = read(
        kela(f"{AMINA},Warsame,Amina", f"{OMAR},Haidari,Omar,social_assistance,2025-03-01,,,extra,fields"),
        ImportSource.KELA,
        "k.csv",
        TODAY,
    )
    assert (2, "benefit") in errors_of(parsed)
    assert (3, None) in errors_of(parsed)


def test_unknown_benefit_type_and_unknown_ground() -> None:
    parsed = read(
        kela(f"{AMINA},Warsame,Amina,housing_allowance,2025-03-01,,"), ImportSource.KELA, "k.csv", TODAY
    )
    assert errors_of(parsed) == [(2, "benefit")]
    assert "Unknown benefit type" in parsed.errors[0].message
    migri = read(
        f"identity_code,last_name,first_names,ground,first_permit_date\n{AMINA},W,A,student,2024-01-01\n".encode(),
        ImportSource.IMMIGRATION_SERVICE,
        "m.csv",
        TODAY,
    )
    assert errors_of(migri) == [(2, "ground")]


def test_finnish_words_for_benefits_are_understood() -> None:
    parsed = read(
        kela(
            f"{AMINA},Warsame,Amina,Toimeentulotuki,2025-03-01,,",
            f"{OMAR},Haidari,Omar,Kotihoidon tuki,2025-03-01,,",
        ),
        ImportSource.KELA,
        "k.csv",
        TODAY,
    )
    assert [r.benefit for r in parsed.rows] == [
        BenefitType.SOCIAL_ASSISTANCE,
        BenefitType.HOME_CARE_ALLOWANCE,
    ]


def test_duplicate_rows_in_one_file() -> None:
    parsed = read(
        kela(
            f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,",
            f"{AMINA},Warsame,Amina,home_care_allowance,2025-03-01,,",  # another benefit: fine
            f"{AMINA.lower()},Warsame,Amina,social_assistance,1.3.2025,,",  # the same benefit again
        ),
        ImportSource.KELA,
        "k.csv",
        TODAY,
    )
    assert errors_of(parsed) == [(4, None)]
    assert "already on row 2" in parsed.errors[0].message
    assert len(parsed.rows) == 2
    dvv = read(
        (
            "identity_code,last_name,first_names,moved_in_on\n"
            f"{AMINA},Warsame,Amina,2025-05-01\n{OMAR},Haidari,Omar,2025-05-01\n{AMINA},Warsame,Amina,2025-05-03\n"
        ).encode(),
        ImportSource.POPULATION_REGISTER,
        "d.csv",
        TODAY,
    )
    assert errors_of(dvv) == [(4, None)]


def test_file_level_problems() -> None:
    latin1 = kela(f"{AMINA},Järvinen,Äyla,social_assistance,2025-03-01,,").decode().encode("latin-1")
    assert "not UTF-8" in read(latin1, ImportSource.KELA, "k.csv", TODAY).file_errors[0]
    missing = read(b"identity_code,last_name\n", ImportSource.KELA, "k.csv", TODAY)
    assert "first_names, benefit, benefit_from" in missing.file_errors[0]
    assert read(b"", ImportSource.KELA, "k.csv", TODAY).file_errors == ["The file is empty."]
    assert read(kela(), ImportSource.KELA, "k.csv", TODAY).file_errors
    too_big = b"x" * (MAX_IMPORT_BYTES + 1)
    assert "too large" in read(too_big, ImportSource.KELA, "k.csv", TODAY).file_errors[0]
    broken = read(
        kela(f'{AMINA},"Warsame,Amina,social_assistance,2025-03-01,,'), ImportSource.KELA, "k.csv", TODAY
    )
    assert "quotation marks" in broken.file_errors[0]


def test_unknown_columns_are_named_and_ignored_and_the_header_may_use_any_case() -> None:
    content = (
        f"Identity_Code,LAST_NAME,first_names,moved_in_on,shoe_size\n{AMINA},Warsame,Amina,2025-05-01,38\n"
    ).encode()
    parsed = read(content, ImportSource.POPULATION_REGISTER, "d.csv", TODAY)
    assert parsed.ignored_columns == ["shoe_size"]
    assert parsed.errors == []


def test_the_same_bytes_give_the_same_fingerprint() -> None:
    content = kela(f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,")
    assert (
        read(content, ImportSource.KELA, "a.csv", TODAY).sha256
        == read(content, ImportSource.KELA, "b.csv", TODAY).sha256
    )
    assert (
        read(content + b"\n", ImportSource.KELA, "a.csv", TODAY).sha256
        != read(content, ImportSource.KELA, "a.csv", TODAY).sha256
    )


@pytest.mark.parametrize(
    ("name", "source", "rows"),
    [
        ("kela.csv", ImportSource.KELA, 3),
        ("immigration_service.csv", ImportSource.IMMIGRATION_SERVICE, 2),
        ("population_register.csv", ImportSource.POPULATION_REGISTER, 2),
    ],
)
def test_the_documented_examples_read_cleanly(name: str, source: ImportSource, rows: int) -> None:
    """docs/IMPORTS.md shows these files: they must stay valid."""
    content = (Path(__file__).parent.parent / "fixtures" / "imports" / name).read_bytes()
    parsed = read(content, source, name, TODAY)
    assert parsed.file_errors == []
    assert parsed.errors == []
    assert len(parsed.rows) == rows
    docs = (Path(__file__).parent.parent.parent / "docs" / "IMPORTS.md").read_text()
    assert content.decode("utf-8-sig").strip() in docs
