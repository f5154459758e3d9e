"""Request-level plumbing shared by the route modules: locale, security headers, sessions, rendering."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from litestar.response.redirect import ASGIRedirectResponse
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n, logs
from app.domain import auth, client_auth
from app.domain.auth import SignedIn
from app.domain.client_auth import ClientSignedIn
from app.domain.policy import Actor, Permission
from app.settings import Settings

LANG_COOKIE = "kp_lang"
ONE_YEAR = 365 * 24 * 3600

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
# Responses without personal data whose handler sets its own Cache-Control: content-addressed read-aloud
# audio (private, immutable) and the service worker script (no-cache).
OWN_CACHE_CONTROL = frozenset({"/speech", "/me/sw.js"})
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


def settings_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    settings: Settings = connection.app.state["settings"]
    return settings


def db_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AsyncSession:
    """The request's database session — the same one the handler and the autocommit hook use."""
    config: SQLAlchemyAsyncConfig = connection.app.state["alchemy"]
    return config.provide_session(connection.app.state, connection.scope)


def allowed_locales(path: str) -> tuple[str, ...]:
    return i18n.OFFICER_LOCALES if path.startswith("/officer") else i18n.PUBLIC_LOCALES


def language_cookie_name(secure: bool) -> str:
    """Over https every cookie is `__Host-` (ASVS 3.3.1), the language's too."""
    return "__Host-" + LANG_COOKIE if secure else LANG_COOKIE


def language_cookie(code: str, secure: bool) -> Cookie:
    """Remembers the interface language chosen in this browser for a year."""
    return Cookie(
        key=language_cookie_name(secure),
        value=code,
        max_age=ONE_YEAR,
        path="/",
        samesite="lax",
        httponly=True,
        secure=secure,
    )


class LocaleMiddleware(ASGIMiddleware):
    """Pick the interface language before the handler runs; remember an explicit ?lang= in a cookie."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request[Any, Any, Any] = Request(scope)
        explicit = request.query_params.get("lang")
        allowed = allowed_locales(scope["path"])
        secure = settings_of(request).https
        remembered = request.cookies.get(language_cookie_name(secure))
        code = i18n.negotiate(allowed, explicit, remembered, None, request.headers.get("accept-language"))
        i18n.set_locale(code)
        scope.setdefault("state", {})["explicit_locale"] = (explicit in allowed and explicit) or None
        scope["state"]["remembered_locale"] = remembered in allowed
        respond = send
        if explicit and explicit in allowed:

            async def remember(message: Message) -> None:
                if message["type"] == "http.response.start":
                    cookie = language_cookie(explicit, secure)
                    MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
                await send(message)

            respond = remember
        with logs.serving(scope):  # for security events logged far from the request (app/logs.py)
            await next_app(scope, receive, respond)


OFFICE_PATHS = ("/officer", "/calendar/feed/")  # the back office, and officers' calendar feeds
SHARED_PATHS = ("/static/", "/health")


class SeparateHosts(ASGIMiddleware):
    """With OFFICE_URL (ASVS 3.5.4): the back office answers only on its own host name, and the public
    pages and the migrants' app only on PUBLIC_URL's, so that neither can run script in the other's origin
    or read its cookies. A page asked for on the wrong host is redirected to the right one (GET and HEAD)
    or not found (anything else); static files and the health check answer on both."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request[Any, Any, Any] = Request(scope)
        settings = settings_of(request)
        path = scope["path"]
        office_path = path == "/officer" or path.startswith(("/officer/", OFFICE_PATHS[1]))
        office_host = urlsplit(settings.office_base).netloc.lower()
        on_office_host = (request.headers.get("host") or "").lower() == office_host
        if office_path == on_office_host or path.startswith(SHARED_PATHS):
            await next_app(scope, receive, send)
            return
        if request.method not in ("GET", "HEAD"):
            raise NotFoundException
        # As sent (a trailing slash kept); some servers put the query in raw_path too.
        asked = (scope.get("raw_path") or path.encode()).decode("latin-1").split("?", 1)[0]
        query = scope.get("query_string", b"").decode("latin-1")
        base = settings.office_base if office_path else settings.public_url
        location = base + asked + (f"?{query}" if query else "")
        await ASGIRedirectResponse(path=location, status_code=307)(scope, receive, send)


async def security_headers(message: Message, scope: Scope) -> None:
    """before_send hook: applies to every response, errors and static files included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    headers["x-content-type-options"] = "nosniff"
    headers["referrer-policy"] = "same-origin"
    headers["permissions-policy"] = PERMISSIONS_POLICY
    headers["cross-origin-opener-policy"] = "same-origin"
    headers["x-frame-options"] = "DENY"
    app = scope.get("litestar_app") or scope.get("app")
    if app is not None and app.state["settings"].https:
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    if message["status"] in (409, 422) and scope.get("method") == "POST":
        # A form shown again with errors: the address bar stays on the form it came from.
        headers["hx-push-url"] = "false"
    if scope["path"].startswith("/static/"):
        # Versioned addresses (app/assets.py) never change content: phones keep them; others briefly.
        versioned = b"v=" in scope.get("query_string", b"")
        headers["cache-control"] = (
            "public, max-age=31536000, immutable" if versioned else "public, max-age=3600"
        )
    else:
        # Dynamic pages may hold personal data: never stored by the browser or a shared cache.
        if not (scope["path"] in OWN_CACHE_CONTROL and "cache-control" in headers):
            headers["cache-control"] = "no-store"
        headers["vary"] = "HX-Request, Cookie, Accept-Language"


def session_cookie_name(settings: Settings, base: str = auth.SESSION_COOKIE) -> str:
    return "__Host-" + base if settings.https else base


def session_cookie(
    settings: Settings, token: str, base: str = auth.SESSION_COOKIE, max_age: int | None = None
) -> Cookie:
    return Cookie(
        key=session_cookie_name(settings, base),
        value=token,
        path="/",
        max_age=max_age,
        httponly=True,
        secure=settings.https,
        samesite="lax",
    )


def clear_session_cookie(settings: Settings, base: str = auth.SESSION_COOKIE) -> Cookie:
    return session_cookie(settings, "", base, max_age=0)


def client_session_cookie(settings: Settings, token: str) -> Cookie:
    """The migrant app's cookie outlives the browser session: the phone stays signed in for 30 days."""
    return session_cookie(
        settings, token, client_auth.CLIENT_SESSION_COOKIE, max_age=settings.client_session_days * 86400
    )


def clear_client_session_cookie(settings: Settings) -> Cookie:
    return clear_session_cookie(settings, client_auth.CLIENT_SESSION_COOKIE)


def client_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.cookies.get(
        session_cookie_name(settings_of(connection), client_auth.CLIENT_SESSION_COOKIE)
    )


OWN_PROFILE = "/officer/profile"


SECOND_STEP = "/officer/sign-in/code"


class GoFirst(HTTPException):
    """A step the person must take before any other back-office page: answered with a redirect there."""

    status_code = 303

    def __init__(self, location: str) -> None:
        super().__init__(detail="See other")
        self.location = location


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Every back-office route: a live session, roles read afresh from the database on this request."""
    settings = settings_of(connection)
    db = db_of(connection)
    signed_in = await auth.resume_session(db, settings, connection.cookies.get(session_cookie_name(settings)))
    if signed_in is None:
        await db.commit()  # an expired session row was removed
        raise NotAuthorizedException
    connection.state["signed_in"] = signed_in
    logs.identified(f"staff {signed_in.actor.staff_id}")
    method = signed_in.session.method
    if method == auth.PENDING:  # the password was right; the second step is still to come
        raise GoFirst(SECOND_STEP)
    if not connection.scope["path"].startswith(OWN_PROFILE):
        if signed_in.staff.password_must_change and method.startswith("password"):
            raise GoFirst(OWN_PROFILE + "#password")  # an administrator's password: choose one's own
        if method == "password" and settings.staff_second_factor:
            raise GoFirst(OWN_PROFILE + "#second-factor")  # no second factor yet: set one up
    state = connection.scope["state"]
    explicit = state.get("explicit_locale")
    if explicit and signed_in.staff.locale != explicit:
        signed_in.staff.locale = explicit  # an explicit choice is remembered on the profile
    elif (
        not explicit and not state.get("remembered_locale") and signed_in.staff.locale in i18n.OFFICER_LOCALES
    ):
        i18n.set_locale(signed_in.staff.locale)


FIXED_ANSWERS = frozenset({"1", "2", "3", "4", "5", "yes", "no"})  # survey choices, not typed text


async def _typed_texts(connection: ASGIConnection[Any, Any, Any, Any]) -> list[str]:
    """Free text a client typed into a /me/ form: a message, a note or a comment (survey answers too)."""
    try:
        form = await Request[Any, Any, Any](connection.scope, connection.receive).form()
    except Exception:
        return []
    return [
        value.strip()
        for key, value in form.items()
        if isinstance(value, str)
        and value.strip()
        and (key in ("body", "note", "comment") or (key.startswith("q_") and value not in FIXED_ANSWERS))
    ]


async def client_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Every signed-in /me/ route: a live client session. Handlers read only current_client()'s data."""
    db = db_of(connection)
    signed_in = await client_auth.resume_session(db, client_token(connection))
    if signed_in is None:
        await db.commit()  # an expired session row was removed
        if connection.scope.get("method") == "POST":
            connection.scope["state"]["unsent_texts"] = await _typed_texts(connection)
        raise NotAuthorizedException
    connection.state["client_signed_in"] = signed_in
    logs.identified("a client")
    client = signed_in.client
    state = connection.scope["state"]
    explicit = state.get("explicit_locale")
    if explicit and client.preferred_locale != explicit:
        client.preferred_locale = explicit  # the language choice is remembered on the profile
    elif not explicit and client.preferred_locale in i18n.PUBLIC_LOCALES:
        i18n.set_locale(client.preferred_locale)


def current_client(connection: ASGIConnection[Any, Any, Any, Any]) -> ClientSignedIn:
    signed_in: ClientSignedIn = connection.state["client_signed_in"]
    return signed_in


def requires(*permissions: Permission) -> Any:
    """Route guard: the signed-in actor holds at least one of the permissions."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        actor = current(connection).actor
        if not any(actor.has(p) for p in permissions):
            raise PermissionDeniedException

    return guard


def current(connection: ASGIConnection[Any, Any, Any, Any]) -> SignedIn:
    signed_in: SignedIn = connection.state["signed_in"]
    return signed_in


async def provide_actor(request: HTMXRequest) -> Actor:
    return current(request).actor


async def provide_settings(request: HTMXRequest) -> Settings:
    return settings_of(request)


def page(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=name, context=context, status_code=status_code)


def client_address(request: Request[Any, Any, Any]) -> str | None:
    """The peer's address, for rate limits only (kept as a keyed hash, never stored or logged)."""
    return request.client.host if request.client else None


async def form_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    return {k: form.get(k) for k in form}
