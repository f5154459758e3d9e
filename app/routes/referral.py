"""TODO(helper): the public referral form for other authorities (service 20)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", include_in_schema=False, route_handlers=[])
