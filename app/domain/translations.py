"""Texts in several languages: which translation is current, and which was made from an older source."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(content: Any) -> str:
    """SHA-256 of the canonical JSON of `content` (sorted keys, no spaces): the same text, the same hash."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_stale(translation_source_hash: str, current_source_hash: str) -> bool:
    """A translation is stale when the source it was made from is not the source as it is now."""
    return translation_source_hash != current_source_hash
