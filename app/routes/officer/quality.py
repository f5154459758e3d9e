"""(being built for issue 6)"""

from __future__ import annotations

from litestar import Router

from app.web import staff_guard

router = Router(path="/officer", guards=[staff_guard], route_handlers=[])
