"""Phone numbers in E.164, parsed with Google's libphonenumber data; Finnish numbers may omit +358."""

from __future__ import annotations

import phonenumbers


def to_e164(value: str, default_region: str = "FI") -> str | None:
    """The number in E.164 (+358401234567), or None when it is not a possible, valid number."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def display(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
