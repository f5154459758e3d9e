"""TODO(helper): referrals pages."""

from __future__ import annotations

from litestar import Router

from app.web import staff_guard

router = Router(include_in_schema=False, path="/officer", guards=[staff_guard], route_handlers=[])
