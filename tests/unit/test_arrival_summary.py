"""The anonymised summary a wellbeing services county is consulted with (service 5; issue 7): built from an
allow-list, it carries the family composition, ages in whole years, citizenships, mother tongues and
interpreter needs, and nothing that identifies a person. Every column of the person model (and of the
client model, for a person who is already a client) is filled with a distinctive value, and none of the
identifying ones may appear anywhere in the JSON the county receives. A column added to the person model
fails these tests until it is classified."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Enum

from app.db.arrivals import Arrival, ArrivalKind, ArrivalPerson, ArrivalRole, ArrivalStatus
from app.db.base import UTCDateTime
from app.db.client import Client
from app.domain import arrivals
from app.domain.arrivals import ALLOWED, EXCLUDED, PERSON_COLUMNS, TRANSFORMED, anonymised_summary

ON = date(2025, 6, 1)
CODE = "131052-308T"  # a valid identity code of someone born 13.10.1952
BORN = date(1952, 10, 13)
SPECIAL = "Pyörätuoli ja kuulovamma QzNeedsXw"
# Client columns that are categories or codes, not identifying (the others are checked).
CLIENT_CATEGORIES = {
    "segment", "status", "known_how", "permit_type", "end_reason", "citizenship", "mother_tongue",
    "interpreter_language", "preferred_locale", "interpreter_needed", "unaccompanied_minor", "version",
}  # fmt: skip
# What identifies a person among the person model's columns: always excluded, never transformed.
IDENTIFYING = {"id", "arrival_id", "client_id", "first_names", "last_name", "native_name", "identity_code",
               "temporary_identifier"}  # fmt: skip


def distinctive(column: Column[Any], n: int) -> Any:
    """A value for the column nobody could find in a summary by accident."""
    if isinstance(column.type, Enum):
        members = list(column.type.enum_class or [])
        return members[n % len(members)]
    if isinstance(column.type, UTCDateTime):
        return datetime(2001, 2, 3, 4, 5, n % 60, tzinfo=UTC)
    python_type = column.type.python_type
    if python_type is uuid.UUID:
        return uuid.uuid4()
    if python_type is date:
        return date(1931 + n, 1 + n % 12, 10 + n % 18)
    if python_type is bool:
        return True
    if python_type is int:
        return 7000 + n
    return f"Qz{column.key.replace('_', '')}{n}Xw"


def filled(model: type[Any], fixed: dict[str, Any]) -> dict[str, Any]:
    return {
        column.key: fixed[column.key] if column.key in fixed else distinctive(column, n)
        for n, column in enumerate(model.__table__.columns)
    }


def needles(value: Any) -> list[str]:
    """The ways a value could show up in the JSON."""
    if isinstance(value, datetime):
        return [value.isoformat(), value.date().isoformat()]
    if isinstance(value, date):
        return [
            value.isoformat(),
            f"{value.day}.{value.month}.{value.year}",
            f"{value.day:02d}.{value.month:02d}.{value.year}",
            f"{value.day:02d}{value.month:02d}{value.year % 100:02d}",
        ]
    if isinstance(value, uuid.UUID):
        return [str(value), value.hex]
    if isinstance(value, str):
        return [value, value.casefold()]
    return []


@pytest.fixture
def world() -> tuple[Arrival, list[ArrivalPerson], Client, ArrivalPerson]:
    client_values = filled(
        Client,
        {
            "identity_code": CODE,
            "date_of_birth": BORN,
            "citizenship": "SY",
            "mother_tongue": "ar",
            "interpreter_language": "ar",
            "preferred_locale": "ar",
            "native_name": "محمد الحسن",
        },
    )
    client = Client(**client_values)
    shared = {c.key: client_values[c.key] for c in ArrivalPerson.__table__.columns if c.key in client_values}
    shared.pop("id"), shared.pop("version"), shared.pop("created_at"), shared.pop("updated_at")
    arrival = Arrival(
        **filled(Arrival, {"kind": ArrivalKind.QUOTA_REFUGEES, "status": ArrivalStatus.PROPOSED})
    )
    # The head of family is already a client (every shared column carries the client's value).
    head = ArrivalPerson(
        **filled(
            ArrivalPerson,
            {**shared, "role": ArrivalRole.HEAD, "special_needs": SPECIAL, "client_id": client.id,
             "arrival_id": arrival.id},
        )
    )  # fmt: skip
    child = ArrivalPerson(
        **filled(
            ArrivalPerson,
            {"role": ArrivalRole.CHILD, "date_of_birth": date(2018, 6, 2), "citizenship": "SY",
             "mother_tongue": "ar", "identity_code": "020618A998Y", "special_needs": None,
             "interpreter_needed": False, "arrival_id": arrival.id},
        )
    )  # fmt: skip
    return arrival, [head, child], client, head


def test_every_person_column_is_classified() -> None:
    columns = {column.key for column in ArrivalPerson.__table__.columns}
    assert set(PERSON_COLUMNS) == columns, "classify the new column in arrivals.PERSON_COLUMNS"
    assert set(PERSON_COLUMNS.values()) <= {ALLOWED, TRANSFORMED, EXCLUDED}
    assert {name for name, kind in PERSON_COLUMNS.items() if kind == TRANSFORMED} == set(arrivals.TRANSFORMS)
    assert all(PERSON_COLUMNS[name] == EXCLUDED for name in IDENTIFYING)
    assert PERSON_COLUMNS["date_of_birth"] == TRANSFORMED and PERSON_COLUMNS["special_needs"] == TRANSFORMED


def test_an_unclassified_column_stops_the_summary(world, monkeypatch) -> None:
    arrival, persons, _client, _head = world
    assert anonymised_summary(arrival, persons, on=ON)["persons_count"] == 2
    # As if a column had been added to arrival_person without a decision about it.
    monkeypatch.setattr(
        arrivals, "PERSON_COLUMNS", {k: v for k, v in PERSON_COLUMNS.items() if k != "native_name"}
    )
    assert arrivals.unclassified_columns() == {"native_name"}
    with pytest.raises(arrivals.UnclassifiedColumn, match="native_name"):
        anonymised_summary(arrival, persons, on=ON)


def test_no_identifying_value_of_the_person_or_the_client_reaches_the_county(world) -> None:
    arrival, persons, client, head = world
    serialised = json.dumps(anonymised_summary(arrival, persons, on=ON), ensure_ascii=False)
    folded = serialised.casefold()

    checked = []
    for person in persons:
        for column in ArrivalPerson.__table__.columns:
            if PERSON_COLUMNS[column.key] == ALLOWED:
                continue
            for needle in needles(getattr(person, column.key)):
                checked.append(needle)
                assert needle.casefold() not in folded, f"arrival_person.{column.key} leaked: {needle!r}"
    for column in Client.__table__.columns:
        if column.key in CLIENT_CATEGORIES:
            continue
        for needle in needles(getattr(client, column.key)):
            checked.append(needle)
            assert needle.casefold() not in folded, f"client.{column.key} leaked: {needle!r}"
    for column in Arrival.__table__.columns:  # the address, the reference, handover data …: none of it
        if column.key in arrivals.ARRIVAL_FIELDS:
            continue
        for needle in needles(getattr(arrival, column.key)):
            assert needle.casefold() not in folded, f"arrival.{column.key} leaked: {needle!r}"

    # The named identifiers were really among the values looked for.
    for must in (CODE, "131052", head.first_names, head.last_name, "محمد الحسن", head.temporary_identifier,
                 "13.10.1952", "1952-10-13", SPECIAL, client.phone, client.email, client.street_address,
                 "020618A998Y", "2018-06-02"):  # fmt: skip
        assert must in checked
        assert must.casefold() not in folded


def test_what_the_county_is_told(world) -> None:
    arrival, persons, _client, _head = world
    summary = anonymised_summary(arrival, persons, on=ON)
    assert summary["kind"] == "quota_refugees"
    assert summary["persons_count"] == 2 and summary["children_count"] == 1
    assert summary["citizenships"] == ["SY"] and summary["mother_tongues"] == ["ar"]
    assert summary["interpreter_needed_count"] == 1 and summary["special_needs_noted_count"] == 1
    assert summary["persons"] == [
        {"role": "head_of_family", "age": 72, "citizenship": "SY", "mother_tongue": "ar",
         "interpreter_needed": True, "special_needs_noted": True},
        {"role": "child", "age": 6, "citizenship": "SY", "mother_tongue": "ar",
         "interpreter_needed": False, "special_needs_noted": False},
    ]  # fmt: skip
    # The age turns on the birthday, not before.
    assert anonymised_summary(arrival, persons, on=date(2025, 10, 12))["persons"][0]["age"] == 72
    assert anonymised_summary(arrival, persons, on=date(2025, 10, 13))["persons"][0]["age"] == 73


def test_allowed_columns_carry_codes_only(world) -> None:
    """A name typed into the citizenship or the mother tongue does not pass as a code."""
    arrival, persons, _client, head = world
    head.citizenship = "Haddad"
    head.mother_tongue = "Mohammad Al-Hassan"
    entry = anonymised_summary(arrival, persons, on=ON)["persons"][0]
    assert entry["citizenship"] is None and entry["mother_tongue"] is None
    serialised = json.dumps(anonymised_summary(arrival, persons, on=ON)).casefold()
    assert "haddad" not in serialised and "mohammad" not in serialised


def test_unknown_birth_date_gives_no_age(world) -> None:
    arrival, persons, _client, head = world
    head.date_of_birth = None
    entry = next(
        e for e in anonymised_summary(arrival, persons, on=ON)["persons"] if e["role"] == "head_of_family"
    )
    assert entry["age"] is None


def test_the_question_is_checked_for_names_and_identifiers(world) -> None:
    _arrival, persons, _client, head = world
    assert arrivals.mentions_identity(f"Onko {head.last_name.lower()} jo asiakas?", persons)
    assert arrivals.mentions_identity("Syntynyt 13.10.1952, tarvitsee apua", persons)
    assert arrivals.mentions_identity(f"Tunnus {CODE}", persons)
    assert not arrivals.mentions_identity(
        "Perheen aikuisella liikuntarajoite; tarvitaanko kotihoitoa?", persons
    )
