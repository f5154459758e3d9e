"""Migrant app: messages (see app/routes/me/__init__.py)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
