"""Finnish personal identity code (henkilötunnus), as in Population Information Act 661/2009 and
decree 128/2010 as amended in 2023 (the new century signs Y X W V U and B C D E F)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS = {
    "+": 1800,
    "-": 1900,
    "Y": 1900,
    "X": 1900,
    "W": 1900,
    "V": 1900,
    "U": 1900,
    "A": 2000,
    "B": 2000,
    "C": 2000,
    "D": 2000,
    "E": 2000,
    "F": 2000,
}
PATTERN = re.compile(r"^(\d{2})(\d{2})(\d{2})([-+YXWVUABCDEF])(\d{3})([0-9A-Y])$")


@dataclass(frozen=True)
class IdentityCode:
    code: str
    date_of_birth: date
    # Individual numbers 900–999 are temporary codes given before the person is in the register.
    temporary: bool


def normalise(value: str) -> str:
    return value.strip().upper()


def parse(value: str) -> IdentityCode | None:
    """The parsed code, or None when the format, the date or the check character is wrong."""
    code = normalise(value)
    match = PATTERN.match(code)
    if not match:
        return None
    day, month, year, sign, individual, check = match.groups()
    if individual in ("000", "001"):
        return None
    try:
        born = date(CENTURY_SIGNS[sign] + int(year), int(month), int(day))
    except ValueError:
        return None
    if CHECK_CHARACTERS[int(day + month + year + individual) % 31] != check:
        return None
    return IdentityCode(code=code, date_of_birth=born, temporary=int(individual) >= 900)


def looks_like(value: str) -> bool:
    """True when the value has the shape of an identity code, valid or not (to pick the search mode)."""
    return bool(re.match(r"^\d{6}[-+A-Za-z]\d{3}[0-9A-Za-z]$", value.strip()))


def make(born: date, individual: int, sign: str | None = None) -> str:
    """Build a valid code (demo and test data)."""
    if sign is None:
        sign = {1800: "+", 1900: "-", 2000: "A"}[born.year // 100 * 100]
    digits = f"{born:%d%m}{born.year % 100:02d}{individual:03d}"
    return f"{digits[:6]}{sign}{digits[6:]}{CHECK_CHARACTERS[int(digits) % 31]}"
