"""Text folding for search: case- and accent-insensitive, in any script."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case, strip diacritics (Latin accents, Arabic harakat, Cyrillic breve …), squeeze spaces.

    Ø, Æ, ß and the like have no decomposition; they are mapped by hand so 'Sørensen' finds 'sorensen'.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.translate(_EXTRA)
    # Arabic tatweel is decoration; Persian and Arabic yeh/kaf forms are one letter for search.
    return " ".join(stripped.split())


_EXTRA = str.maketrans(
    {"ø": "o", "æ": "ae", "đ": "d", "ł": "l", "ı": "i", "ـ": "", "ي": "ی", "ى": "ی", "ك": "ک"}
)


def search_text(*parts: str | None) -> str:
    """The folded, space-separated names a client is found by."""
    return " ".join(fold(p) for p in parts if p)
