"""Static file addresses that change with their content (`/static/css/app.css?v=1a2b3c4d5e`), so that
browsers may keep them for a year and still never use an old one after a release."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"


@lru_cache(maxsize=64)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """The address of static/<name> with a version taken from its content (a stat, no read, per call)."""
    path = STATIC / name
    stat = path.stat()
    return f"/static/{name}?v={_digest(path, stat.st_mtime_ns, stat.st_size)}"
