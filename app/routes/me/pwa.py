"""Migrant app: pwa (see app/routes/me/__init__.py) — the web app manifest, the service worker, the
offline page, Web Push subscriptions and read-aloud audio (espeak-ng).

POST /speech is public (the knowledge base reads aloud too) and CSRF-protected like every POST; the audio
is content-addressed (app/domain/speech.py) and holds nothing about who asked for it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import File, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.assets import static_url
from app.domain import pwa, speech
from app.i18n import PUBLIC_LOCALES, _
from app.settings import Settings
from app.web import CONTENT_SECURITY_POLICY, client_guard, current_client, page, settings_of

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "static"
SW_TEMPLATE = ROOT / "app" / "templates" / "me" / "sw.js"
THEME_COLOUR = "#0b5394"
BACKGROUND_COLOUR = "#ffffff"
MAX_SPEECH_BODY = 64 * 1024  # 5,000 characters of any script, JSON-escaped, fit with room to spare
MAX_PUSH_BODY = 8 * 1024
AUDIO_CACHE = "private, max-age=31536000, immutable"  # content-addressed: the same URL never changes


def _json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content={"status_code": status, "error": code, "message": message},
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def _json_body(
    request: Request[Any, Any, Any], limit: int, too_long: str
) -> tuple[Any, Response[Any] | None]:
    """The request's JSON, or the error answer (413 when too large, 422 when not JSON)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None, _json_error(413, "too_long", too_long)
    raw = await request.body()
    if len(raw) > limit:
        return None, _json_error(413, "too_long", too_long)
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError):
        return None, _json_error(422, "invalid", _("The request could not be read. Please try again."))


# --- read aloud -----------------------------------------------------------------------------------


def _speaker(request: Request[Any, Any, Any]) -> speech.Speaker:
    """One per app: its semaphore bounds the espeak-ng processes of this process."""
    state = request.app.state
    speaker: speech.Speaker | None = state.get("speaker")
    if speaker is None:
        settings = settings_of(request)
        speaker = speech.Speaker(settings.espeak_command, state.get("speech_dir") or speech.DEFAULT_DIR)
        state["speaker"] = speaker
    return speaker


@post("/speech", status_code=200)
async def read_aloud(request: Request[Any, Any, Any]) -> Response[Any]:
    """JSON {text, lang[, ui]} → audio/wav of the text in the voice for `lang`. `ui` is the language to
    answer errors in (the page's interface language)."""
    data, error = await _json_body(request, MAX_SPEECH_BODY, _("This text is too long to read aloud."))
    if error is not None:
        return error
    if isinstance(data, dict) and data.get("ui") in PUBLIC_LOCALES:
        i18n.set_locale(str(data["ui"]))
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("text"), str)
        or not isinstance(data.get("lang"), str)
    ):
        return _json_error(422, "invalid", _("The request could not be read. Please try again."))
    try:
        audio = await _speaker(request).audio(data["lang"], data["text"])
    except speech.NoVoice:
        return _json_error(404, "no_voice", _("This text cannot be read aloud in this language."))
    except speech.TooLong:
        return _json_error(413, "too_long", _("This text is too long to read aloud."))
    except speech.EmptyText:
        return _json_error(422, "empty", _("There is no text to read aloud."))
    except speech.Busy:
        return _json_error(
            429,
            "busy",
            _("Reading aloud is busy right now. Please try again in a moment."),
            {"Retry-After": "5"},
        )
    except speech.Unavailable:
        return _json_error(
            503, "unavailable", _("Reading aloud does not work right now. Please try again later.")
        )
    return File(
        audio.path,
        media_type="audio/wav",
        content_disposition_type="inline",
        filename="speech.wav",
        headers={
            "Cache-Control": AUDIO_CACHE,
            "ETag": f'"{audio.key}"',
            "X-Speech-Cache": "hit" if audio.cached else "miss",
        },
    )


# --- manifest, service worker, offline page -------------------------------------------------------


@get("/manifest.webmanifest", sync_to_thread=False)
def manifest() -> Response[Any]:
    """The web app manifest in the interface language (?lang= among PUBLIC_LOCALES, else negotiated)."""
    info = i18n.locale_info(i18n.get_locale())
    body = {
        "id": "/me/",
        "name": "Kotopolku",
        "short_name": "Kotopolku",
        "description": _("Your integration plan, appointments and messages in your own language."),
        "lang": info.code,
        "dir": info.direction,
        "start_url": "/me/",
        "scope": "/me/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "categories": ["government", "education"],
        "icons": [
            {"src": "/static/img/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/static/img/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": "/static/img/icon-maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return Response(content=body, media_type="application/manifest+json")


def precache_urls() -> list[str]:
    """What the service worker keeps from its installation on: the app's static files (at the versioned
    addresses the pages use, so the browser's HTTP cache already has them) and the offline page."""
    htmx = sorted(p.name for p in (STATIC / "js").glob("htmx-*.min.js"))
    names = ["css/app.css", "css/me.css", *(f"js/{name}" for name in htmx[-1:]), "js/app.js", "js/me.js"]
    return [
        "/me/offline",
        *(static_url(name) for name in names),
        "/static/img/icon.svg",
        "/static/img/icon-192.png",
    ]


def _fingerprint(files: dict[str, Path]) -> tuple[tuple[str, str, int, int], ...]:
    """(name, path, mtime, size) of each file: a cheap key for the content hash below."""
    out = []
    for name, path in files.items():
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        out.append((name, str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


@lru_cache(maxsize=8)
def _version(fingerprint: tuple[tuple[str, str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, path, _mtime, _size in fingerprint:
        digest.update(name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def worker_version() -> str:
    """Changes whenever a precached static file or the worker itself changes (so browsers update it)."""
    files = {
        url: STATIC / url.removeprefix("/static/").split("?")[0]
        for url in precache_urls()
        if url.startswith("/static/")
    }
    files["sw.js"] = SW_TEMPLATE
    files["offline.html"] = ROOT / "app" / "templates" / "me" / "offline.html"
    files["_offline_pages.html"] = ROOT / "app" / "templates" / "me" / "_offline_pages.html"  # included by it
    return _version(_fingerprint(files))


@get("/me/sw.js", sync_to_thread=False)
def service_worker() -> Template:
    config = {
        "version": worker_version(),
        "precache": precache_urls(),
        "offline": "/me/offline",
        "csp": CONTENT_SECURITY_POLICY,
    }
    return Template(
        template_name="me/sw.js",
        context={"config": config},
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@get("/me/offline", sync_to_thread=False)
def offline() -> Template:
    """Shown by the service worker for a page it has no copy of; lists the copies it has (me.js)."""
    return page("me/offline.html")


# --- Web Push -------------------------------------------------------------------------------------


def _allow_loopback(settings: Settings) -> bool:
    return not settings.https  # development and tests (a local push service); never in production


@post("/me/push/subscribe", guards=[client_guard], status_code=200)
async def push_subscribe(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    """PushSubscription.toJSON() from pushManager.subscribe(): stored for the signed-in client."""
    data, error = await _json_body(request, MAX_PUSH_BODY, _("The request is too large."))
    if error is not None:
        return error
    parsed = pwa.read_subscription(data, allow_loopback=_allow_loopback(settings_of(request)))
    if parsed.errors:
        return Response(
            content={"status_code": 422, "error": "invalid", "errors": parsed.errors}, status_code=422
        )
    await pwa.subscribe(db_session, current_client(request).client, parsed)
    return Response(content={"subscribed": True}, status_code=200)


@post("/me/push/unsubscribe", guards=[client_guard], status_code=200)
async def push_unsubscribe(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    """{endpoint}: removes the signed-in client's own subscription; anybody else's endpoint is 404."""
    data, error = await _json_body(request, MAX_PUSH_BODY, _("The request is too large."))
    if error is not None:
        return error
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not await pwa.unsubscribe(db_session, current_client(request).client, endpoint):
        return Response(content={"status_code": 404, "error": "not_found"}, status_code=404)
    return Response(content={"subscribed": False}, status_code=200)


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[read_aloud, manifest, service_worker, offline, push_subscribe, push_unsubscribe],
)
