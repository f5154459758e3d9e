"""Public surface: landing page with the language choice, accessibility statement, /me/ placeholder."""

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


@get("/me/", sync_to_thread=False)
def me_home() -> Template:
    # Reserved for the migrant app: until it opens, tell people how they will get in.
    return page("me/reserved.html", locales=PUBLIC_LOCALES)


router = Router(path="/", include_in_schema=False, route_handlers=[landing, accessibility, me_home])
