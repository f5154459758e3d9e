"""(being built for issue 6)"""

from __future__ import annotations

from litestar import Router

router = Router(path="/", include_in_schema=False, route_handlers=[])
