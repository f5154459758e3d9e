"""Public surface: landing page with the language choice, accessibility statement."""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Template

from app.i18n import PUBLIC_LOCALES
from app.web import page


@get("/", sync_to_thread=False)
def landing() -> Template:
    return page("public/landing.html", locales=PUBLIC_LOCALES)


@get("/accessibility", sync_to_thread=False)
def accessibility() -> Template:
    return page("public/accessibility.html")


router = Router(path="/", include_in_schema=False, route_handlers=[landing, accessibility])
