"""The migrant app's pages, found from the application's routes: a page added later is audited (by
`make audit-ui` and tests/browser/test_me_accessibility.py) without a list to edit.

A page is a GET handler under /me whose return type includes a Template and whose path does not end like
a file name (JSON, .ics, audio, the service worker and the manifest are not pages). It is signed-in when
its guards include client_guard. A handler can leave the audit with `opt={"ui_audit": False}` (say, a
page only reachable in the middle of a flow) or join it with `opt={"ui_audit": True}`. Path parameters
are filled from MeSample.values() by name; a parameter it has no value for is reported, not skipped.
VARIANTS adds other states of a page (a past appointment, feedback about one).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from litestar.handlers import HTTPRouteHandler
from litestar.response import Template
from litestar.routes import HTTPRoute

# A path that ends like a file name (sw.js, data.json) is no page.
FILE_NAME = re.compile(r"\.[a-z0-9]{1,12}$", re.IGNORECASE)
# Other states of a page worth checking: (name, path parameter → sample value name, query string).
VARIANTS: dict[str, tuple[tuple[str, dict[str, str], str], ...]] = {
    "/me/appointments/{ref}": (("past", {"ref": "past_appointment_id"}, ""),),
    "/me/feedback": (("about-appointment", {}, "?appointment={past_appointment_id}"),),
}


@dataclass(frozen=True)
class UiPage:
    path: str  # Litestar's path, e.g. /me/appointments/{appointment_id:uuid}
    path_format: str  # /me/appointments/{appointment_id}
    parameters: tuple[str, ...]
    signed_in: bool
    handler: str
    variant: str = ""  # "" for the page as its links open it; else see VARIANTS
    sources: tuple[tuple[str, str], ...] = ()  # path parameter → the sample value it takes instead
    query: str = ""

    @property
    def id(self) -> str:
        """A readable test id: /me/appointments/{ref} → me/appointments/<ref>, a variant in brackets."""
        path = re.sub(r"\{(\w+)\}", r"<\1>", self.path_format).strip("/") or "root"
        return f"{path}({self.variant})" if self.variant else path

    def _source(self, name: str) -> str:
        return dict(self.sources).get(name, name)

    def missing(self, values: Mapping[str, str]) -> list[str]:
        wanted = [self._source(name) for name in self.parameters]
        wanted += re.findall(r"\{(\w+)\}", self.query)
        return [name for name in wanted if name not in values]

    def url(self, values: Mapping[str, str]) -> str:
        path = self.path_format.format(**{name: values[self._source(name)] for name in self.parameters})
        if path == "/me":
            path += "/"  # the app's own links say /me/
        return path + self.query.format(**values)


def _returns_template(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, Template)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_returns_template(arg) for arg in typing.get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, Template)


def _is_page(path: str, handler: HTTPRouteHandler) -> bool:
    if "GET" not in handler.http_methods:
        return False
    audit = handler.opt.get("ui_audit")
    if audit is not None:
        return bool(audit)
    if FILE_NAME.search(path):  # /me/sw.js is rendered from a template, but it is no page
        return False
    media_type = str(handler.media_type or "")
    if media_type and not media_type.startswith("text/html"):
        return False
    return _returns_template(handler.parsed_fn_signature.return_type.annotation)


def pages_of(routes: Iterable[Any], prefix: str = "/me") -> list[UiPage]:
    from app.web import client_guard

    found: dict[str, UiPage] = {}
    for route in routes:
        under_prefix = route.path == prefix or route.path.startswith(prefix + "/")
        if not isinstance(route, HTTPRoute) or not under_prefix:
            continue
        for handler in route.route_handlers:
            if not _is_page(route.path, handler):
                continue
            found[route.path] = UiPage(
                path=route.path,
                path_format=route.path_format,
                parameters=tuple(route.path_parameters),
                signed_in=client_guard in handler.resolve_guards(),
                handler=f"{handler.fn.__module__}.{handler.fn.__qualname__}",
            )
    pages = []
    for page in sorted(found.values(), key=lambda p: (not p.signed_in, p.path_format)):
        pages.append(page)
        for name, sources, query in VARIANTS.get(page.path_format, ()):
            pages.append(replace(page, variant=name, sources=tuple(sources.items()), query=query))
    return pages


def me_pages() -> list[UiPage]:
    """Every page of the migrant app as the application registers it, signed-in ones first, in path order."""
    from app.main import create_app
    from app.settings import Settings

    # Nothing connects: the engine is lazy, and the keys only satisfy the settings.
    settings = Settings(database_url="sqlite:///:memory:", secret_key="route-discovery-only",  # noqa: S106
                        vapid_private_key="-", run_worker=False)  # fmt: skip
    return pages_of(create_app(settings).routes)
