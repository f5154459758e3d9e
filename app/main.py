"""create_app(): the one place where plugins, routes, templates and handlers are wired."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from jinja2 import Environment
from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from app import i18n, logs
from app.assets import static_url
from app.db.engine import make_engine
from app.domain import pwa
from app.domain.clients import page_url as client_page_url
from app.domain.phone import display as phone_display
from app.jobs.worker import in_process_worker
from app.labels import SEGMENTS, field_label, label, options
from app.routes import api_v1, guidance, health, me, public, public_feedback, referral
from app.routes.officer import (
    admin,
    api_clients,
    arrivals,
    articles,
    audit_log,
    clients,
    compensation,
    contracts,
    cooperation,
    guidance_plans,
    guidance_visits,
    home,
    outreach,
    quality,
    referrals,
    reports,
    retention,
    sign_in,
    subject_access,
)
from app.routes.officer import assessments as assessment_routes
from app.routes.officer import calendar as calendar_routes
from app.routes.officer import deliveries as delivery_routes
from app.routes.officer import invitations as invitation_routes
from app.routes.officer import messages as message_routes
from app.routes.officer import plan_translations as plan_translation_routes
from app.routes.officer import plans as plan_routes
from app.routes.officer import programme as programme_routes
from app.routes.officer import worklist as worklist_routes
from app.settings import Settings, get_settings
from app.web import (
    GoFirst,
    LocaleMiddleware,
    SeparateHosts,
    provide_actor,
    provide_settings,
    security_headers,
)

ROOT = Path(__file__).resolve().parent
STATIC = ROOT.parent / "static"
log = logging.getLogger("kotopolku")


def configure_jinja(engine: JinjaTemplateEngine, settings: Settings) -> None:
    env: Environment = engine.engine
    env.auto_reload = settings.debug  # no stat() of every template on every request in production
    env.globals["accessibility_email"] = settings.accessibility_email
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.globals.update(
        locale=lambda: i18n.locale_info(i18n.get_locale()),
        locale_info=i18n.locale_info,
        label=label,
        field_label=field_label,
        options=options,
        segments=SEGMENTS,
        public_locales=i18n.PUBLIC_LOCALES,
        static_url=static_url,
        language_choices=i18n.language_choices,
        country_choices=i18n.country_choices,
        client_url=client_page_url,  # the client page, a section opened when it loads on demand
    )
    env.filters.update(
        date=i18n.format_date,
        datetime=i18n.format_datetime,
        number=i18n.format_number,
        language_name=i18n.language_name,
        country_name=i18n.country_name,
        phone=lambda v: phone_display(v) if v else "",
    )
    env.policies["ext.i18n.trimmed"] = True
    env.globals["Markup"] = Markup
    env.globals["use_locale"] = _use_locale
    # The migrant app as a PWA: the offline cache's per-client key (me/layout.html) and the application
    # server key the browser subscribes to Web Push with (me/_push.html).
    env.globals["pwa_cache_key"] = lambda client: pwa.cache_key(settings, client.id)
    env.globals["vapid_public_key"] = lambda: settings.vapid_public_key  # read when a page needs it


def _use_locale(code: str) -> str:
    """Switch the language mid-template (the plan printout's side-by-side columns); renders nothing."""
    i18n.set_locale(code)
    return ""


def _log_refusal(request: Request[Any, Any, Any], status: int, route: object) -> None:
    """A refused request (failed authorisation, CSRF, another organisation's or client's id) as a security
    event (ASVS 16.3.2): who by staff id or kind, the route's template, never the ids or data asked for."""
    log.warning("refused %s %s with %d for %s", request.method, route, status, logs.requester(request.scope))


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors as translated pages (HTML) or JSON (API); never a stack trace or personal data."""
    status = exc.status_code if isinstance(exc, HTTPException) else HTTP_500_INTERNAL_SERVER_ERROR
    route = request.scope.get("path_template", "(no route)")  # e.g. /officer/clients/{client_id}
    if status == HTTP_500_INTERNAL_SERVER_ERROR:
        log.exception("unhandled error on %s %s", request.method, route)
    elif status == 403 or (status == 404 and request.scope["path"].startswith(("/officer", "/me", "/api/"))):
        _log_refusal(request, status, route)
    if isinstance(exc, GoFirst):
        if request.headers.get("hx-request"):
            return Response(content="", status_code=204, headers={"HX-Redirect": exc.location})
        return Redirect(exc.location, status_code=303)
    if isinstance(exc, NotAuthorizedException) and request.scope["path"].startswith("/officer"):
        if request.headers.get("hx-request") and request.method != "GET":
            # Keep the page and what was typed on it; app.js shows this message with a sign-in link.
            return Response(
                content=i18n.gettext(
                    "Your session has ended. Sign in again in a new tab, then save again here."
                ),
                status_code=401,
                media_type="text/plain",
            )
        # Back to the page asked for after signing in (a path of ours, never a search or a form).
        target = "/officer/sign-in"
        if request.method == "GET" and request.scope["path"] not in ("/officer", "/officer/"):
            target += "?" + urlencode({"next": request.scope["path"]})
        if request.headers.get("hx-request"):
            return Response(content="", status_code=204, headers={"HX-Redirect": target})
        return Redirect(target)
    if isinstance(exc, NotAuthorizedException) and (request.scope["path"] + "/").startswith("/me/"):
        # The migrant app: to its sign-in page (passkey, or an invitation code for a new phone) — but a
        # form with text the client typed is answered with that text (client_guard kept it), so nothing
        # they wrote is lost.
        if texts := request.scope["state"].get("unsent_texts"):
            # htmx swaps only 2xx answers: a boosted form gets the page as 200, a plain one as 401.
            return Template(
                template_name="me/not_sent.html",
                context={"texts": texts},
                status_code=200 if request.headers.get("hx-request") else 401,
                headers={"HX-Push-Url": "false"},
            )
        if request.headers.get("hx-request"):
            return Response(content="", status_code=204, headers={"HX-Redirect": "/me/sign-in"})
        if "application/json" in request.headers.get("accept", ""):
            return Response(content={"status_code": 401, "detail": "Sign in first"}, status_code=401)
        return Redirect("/me/sign-in")
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}  # e.g. Retry-After
    wants_json = "application/json" in request.headers.get("accept", "")
    if wants_json or request.scope["path"].startswith(("/api/", "/health")):
        body = {"status_code": status, "detail": _public_detail(status)}
        return Response(content=body, status_code=status, headers=headers)
    return Template(
        template_name="error.html", context={"status": status}, status_code=status, headers=headers
    )


def _public_detail(status: int) -> str:
    return {
        400: "Bad request",
        401: "Sign in first",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        429: "Too many requests",
    }.get(status, "Server error")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    i18n.check_catalogs()
    alchemy = SQLAlchemyAsyncConfig(
        engine_instance=make_engine(settings),
        session_config=AsyncSessionConfig(expire_on_commit=False, autoflush=True),
        # Commit on 2xx/3xx, roll back otherwise. The string form binds the handler to this config's
        # own session key (a second app in the same process, as in tests, gets a different key).
        before_send_handler="autocommit_include_redirects",
        create_all=False,
    )
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="__Host-kp_csrf" if settings.https else "kp_csrf",
        cookie_secure=settings.https,
        cookie_httponly=True,  # templates read the token from the request, scripts never need the cookie
        cookie_samesite="lax",
        header_name="x-csrftoken",
        # No `exclude` patterns: Litestar matches them anywhere in the path (an "/health" pattern also let
        # POST /officer/clients/{id}/health through unchecked). /health, /static and /api/v1 opt out per
        # route with opt={"exclude_from_csrf": True}; test_security.py tries every unsafe route.
    )
    logs.quiet_libraries()
    return Litestar(
        route_handlers=[
            health.health,
            public.router,
            me.router,
            sign_in.router,
            home.router,
            clients.router,
            assessment_routes.router,
            plan_routes.router,
            plan_translation_routes.router,
            audit_log.router,
            admin.router,
            programme_routes.router,
            worklist_routes.router,
            message_routes.router,
            delivery_routes.router,
            calendar_routes.router,
            invitation_routes.router,
            subject_access.router,
            cooperation.router,
            api_clients.router,
            api_v1.router,
            contracts.router,
            compensation.router,
            quality.router,
            public_feedback.router,
            guidance.router,
            articles.router,
            reports.router,
            retention.router,
            outreach.router,
            referrals.router,
            referral.router,
            arrivals.router,
            guidance_plans.router,
            guidance_visits.router,
            create_static_files_router(
                path="/static", directories=[STATIC], name="static", opt={"exclude_from_csrf": True}
            ),
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy), HTMXPlugin()],
        request_class=HTMXRequest,
        template_config=TemplateConfig(
            directory=ROOT / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=lambda engine: configure_jinja(engine, settings),
        ),
        csrf_config=csrf,
        # Cheap phones on slow networks: HTML, CSS and JavaScript travel gzip-compressed.
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=500,
            gzip_compress_level=6,
            exclude="/speech",  # audio: little to gain
        ),
        middleware=[*([SeparateHosts()] if settings.office_url else []), LocaleMiddleware()],
        before_send=[security_headers],
        exception_handlers={HTTPException: error_page, Exception: error_page},
        dependencies={
            "actor": Provide(provide_actor),
            "settings": Provide(provide_settings),
        },
        state=State({"settings": settings, "alchemy": alchemy}),
        # The outbox worker runs next to the web server unless RUN_WORKER=0 (Settings() keeps it off); logs
        # also go to a separate log system when SYSLOG_URL names one (app/logs.py).
        lifespan=[
            *([logs.shipped_while_serving] if settings.syslog_url else []),
            *([in_process_worker] if settings.run_worker else []),
        ],
        openapi_config=OpenAPIConfig(
            title="Kotopolku", version="1", path="/schema", components=[api_v1.OPENAPI_COMPONENTS]
        ),
        debug=settings.debug,
    )
