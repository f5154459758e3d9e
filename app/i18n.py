"""Interface languages: catalogs, locale negotiation, text direction and locale-aware formatting.

The interface locale (what the screens are written in) is kept apart from content languages
(what a client speaks, what a message was written in), which are plain BCP 47 / ISO 639 tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "fi"
# The back office is complete in Finnish, Swedish and English (306/2019 asks for both national languages).
OFFICER_LOCALES = ("fi", "sv", "en")
# The public and migrant surfaces also speak the main languages of recent arrivals.
PUBLIC_LOCALES = ("fi", "sv", "en", "ar", "fa", "ru", "uk", "so")
LOCAL_TIME = ZoneInfo("Europe/Helsinki")

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@dataclass(frozen=True)
class LocaleInfo:
    code: str
    native_name: str
    direction: str  # "ltr" or "rtl"


@cache
def locale_info(code: str) -> LocaleInfo:
    locale = Locale.parse(code)
    name = locale.get_display_name(locale) or code
    direction = "rtl" if locale.character_order == "right-to-left" else "ltr"
    return LocaleInfo(code=code, native_name=name[:1].upper() + name[1:], direction=direction)


@cache
def translations(code: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [code], domain="messages")


def check_catalogs() -> None:
    """Refuse to start when a configured language has no compiled catalog (run `make translations`)."""
    missing = [c for c in PUBLIC_LOCALES if not (LOCALE_DIR / c / "LC_MESSAGES" / "messages.mo").exists()]
    if missing:
        raise RuntimeError(f"Compiled catalogs missing for {', '.join(missing)}: run `make translations`.")


def set_locale(code: str) -> None:
    _current.set(code)


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(_current.get()).pgettext(context, message))


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def negotiate(
    allowed: Iterable[str],
    explicit: str | None,
    remembered: str | None,
    profile: str | None,
    accept_language: str | None,
) -> str:
    """Explicit choice (?lang=) > remembered choice (cookie) > profile > Accept-Language > Finnish."""
    allowed = tuple(allowed)
    for candidate in (explicit, remembered, profile):
        if candidate in allowed:
            return candidate
    for tag in _accept_language_tags(accept_language or ""):
        primary = tag.split("-")[0]
        if primary in allowed:
            return primary
        if primary in ("nb", "nn", "no") and "sv" in allowed:  # closer to Norwegian readers than Finnish
            return "sv"
    return DEFAULT_LOCALE


def _accept_language_tags(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.strip().lower()))
    return [tag for _q, _i, tag in sorted(weighted)]


def format_date(value: date | None, form: str = "medium") -> str:
    if value is None:
        return ""
    return dates.format_date(value, format=form, locale=_current.get())


def format_datetime(value: datetime | None, form: str = "medium") -> str:
    if value is None:
        return ""
    return dates.format_datetime(value, format=form, tzinfo=LOCAL_TIME, locale=_current.get())


def format_number(value: float | int) -> str:
    return numbers.format_decimal(value, locale=_current.get())


def language_name(code: str | None) -> str:
    """A content language's name in the interface language ('ar' → 'arabia' in Finnish)."""
    if not code:
        return ""
    try:
        return Locale.parse(_current.get()).languages.get(code) or code
    except (ValueError, KeyError):
        return code


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return Locale.parse(_current.get()).territories.get(code.upper()) or code


def country_choices() -> list[tuple[str, str]]:
    territories = Locale.parse(_current.get()).territories
    return sorted(((c, n) for c, n in territories.items() if c.isalpha() and len(c) == 2), key=lambda x: x[1])


# Content languages offered in pickers: the common ones among recent arrivals first, then the rest.
COMMON_LANGUAGES = (
    "fi",
    "sv",
    "en",
    "ar",
    "fa",
    "prs",
    "ps",
    "ku",
    "ckb",
    "so",
    "ti",
    "am",
    "ru",
    "uk",
    "tr",
    "vi",
    "th",
    "zh",
    "es",
    "fr",
    "pt",
    "et",
    "pl",
    "ro",
    "sq",
    "bn",
    "ur",
    "hi",
    "ne",
    "my",
    "sw",
    "uz",
)


def language_choices() -> list[tuple[str, str]]:
    languages = Locale.parse(_current.get()).languages
    return [(c, languages.get(c, c)) for c in COMMON_LANGUAGES]
