"""Small helpers for reading HTML form input: every value comes back, errors are translated messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from app.domain import identity_code
from app.i18n import LOCAL_TIME, _
from app.logs import security_event

E = TypeVar("E", bound=Enum)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def today() -> date:
    """Today's date in Finland, whatever the server's zone."""
    return datetime.now(LOCAL_TIME).date()


class FormErrors(dict[str, str]):
    """field name → translated message; empty means the form is valid."""


def too_long(max_length: int, length: int) -> str:
    return _("Shorten this to at most %(max)d characters (now %(count)d).") % {
        "max": max_length,
        "count": length,
    }


def text(data: Mapping[str, Any], name: str, max_length: int, errors: FormErrors) -> str | None:
    """The trimmed value, None when empty. A longer value than `max_length` is never cut: it comes back
    whole, so the form shows again all that was typed, with an error under the field."""
    value = str(data.get(name) or "").strip()
    if len(value) > max_length:
        errors[name] = too_long(max_length, len(value))
    return value or None


def parse_date(value: str) -> date | None:
    """ISO (from <input type=date>) or Finnish d.m.yyyy (typed without JavaScript)."""
    value = value.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(value, pattern).date()  # noqa: DTZ007 - a calendar date, no zone
        except ValueError:
            continue
    return None


def date_field(
    data: Mapping[str, Any], name: str, errors: FormErrors, *, required: bool = False, not_future: bool = True
) -> date | None:
    raw = str(data.get(name) or "").strip()
    if not raw:
        if required:
            errors[name] = _("Enter a date.")
        return None
    value = parse_date(raw)
    if value is None:
        errors[name] = _("Enter the date as dd.mm.yyyy, for example 24.3.2025.")
        return None
    if value.year < 1900:
        errors[name] = _("Check the year.")
        return None
    if not_future and value > today():
        errors[name] = _("The date cannot be in the future.")
        return None
    return value


def choice(
    data: Mapping[str, Any], name: str, enum: type[E], errors: FormErrors, *, required: bool = True
) -> E | None:
    raw = str(data.get(name) or "").strip()
    if not raw:
        if required:
            errors[name] = _("Choose one.")
        return None
    try:
        return enum(raw) if not isinstance(next(iter(enum)).value, int) else enum(int(raw))
    except ValueError:
        # A select or radio button sends one of its options: anything else was made by hand (ASVS 16.3.3).
        security_event(f"form value outside the options of field {name!r}")
        errors[name] = _("Choose one of the options.")
        return None


def email_field(data: Mapping[str, Any], name: str, errors: FormErrors) -> str | None:
    value = text(data, name, 254, errors)
    if value and not EMAIL.match(value):
        errors[name] = _("Enter an e-mail address like name@example.fi.")
        return None
    return value.lower() if value else None


def birth_and_identity_code(data: Mapping[str, Any], errors: FormErrors) -> tuple[date | None, str | None]:
    """The date of birth and the personal identity code of a person form (fields date_of_birth and
    identity_code): the code's check character is verified, and the code gives the date of birth when none
    is typed and must agree with a typed one."""
    born = date_field(data, "date_of_birth", errors)
    raw = text(data, "identity_code", 20, errors)
    if not raw:
        return born, None
    parsed = identity_code.parse(raw)
    if parsed is None:
        errors["identity_code"] = _(
            "This is not a valid personal identity code. Check the date, the century sign and the "
            "check character."
        )
        return born, None
    if born is None and "date_of_birth" not in errors:
        born = parsed.date_of_birth
    elif born and born != parsed.date_of_birth:
        errors["date_of_birth"] = _("The date of birth does not match the personal identity code.")
    return born, parsed.code


def checkbox(data: Mapping[str, Any], name: str) -> bool:
    return str(data.get(name) or "") in ("on", "1", "true", "yes")


def as_input(record: object, names: Iterable[str]) -> dict[str, Any]:
    """A stored record as the strings its form would post (for edit forms and conflict views)."""
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(record, name)
        if value is None:
            values[name] = ""
        elif isinstance(value, bool):
            values[name] = "on" if value else ""
        elif isinstance(value, list):
            values[name] = list(value)
        elif isinstance(value, date):
            values[name] = value.isoformat()
        else:
            values[name] = str(getattr(value, "value", value))
    return values
