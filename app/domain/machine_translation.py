"""Machine translation (service 15), optional and off by default.

A provider speaks the LibreTranslate HTTP API at `settings.machine_translation_url`
(`POST {url}/translate` with JSON {"q", "source", "target", "format": "text", "api_key"?} →
{"translatedText"}; `GET {url}/languages` → [{"code", "name", "targets"}]). Without a URL there is no
provider: the pages hide the button and `translate_message` refuses (MachineTranslationOff).

The output is saved as a translation with origin "machine", unchecked — labelled "Machine translation, not
checked" wherever it is shown until a person checks it. A timeout, an error answer or a malformed answer
raises MachineTranslationError with a translated message and saves nothing. The text goes only to the
configured server — configure one the municipality runs or has a processing agreement for, since messages
hold personal data — and is never logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import TextOrigin
from app.db.client import Client
from app.db.messaging import Message, MessageTranslation
from app.domain import audit
from app.domain.audit import Action
from app.domain.policy import Actor
from app.domain.translations import content_hash
from app.i18n import _, language_name
from app.settings import Settings

log = logging.getLogger("kotopolku.machine_translation")

TIMEOUT_SECONDS = 10.0
LANGUAGES_CACHE_SECONDS = 600.0
_languages_cache: dict[str, tuple[float, dict[str, set[str]]]] = {}


class MachineTranslationOff(Exception):
    """No machine translation server is configured."""


class MachineTranslationError(Exception):
    """The server could not translate; `message` says so in the user's language. Nothing was saved."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _unavailable() -> MachineTranslationError:
    return MachineTranslationError(
        _("The machine translation service could not translate the text. Nothing was saved. Try again later.")
    )


class LibreTranslate:
    """A client of one LibreTranslate-compatible server."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = TIMEOUT_SECONDS if timeout is None else timeout

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.request(method, self.url + path, json=body)
        except httpx.TimeoutException as error:
            log.warning("machine translation: %s %s timed out", method, path)
            raise MachineTranslationError(
                _("The machine translation service did not answer in time. Nothing was saved.")
            ) from error
        except httpx.HTTPError as error:
            log.warning("machine translation: %s %s failed: %s", method, path, type(error).__name__)
            raise _unavailable() from error
        if response.status_code != 200:
            log.warning("machine translation: %s %s answered %s", method, path, response.status_code)
            raise _unavailable()
        try:
            return response.json()
        except ValueError as error:
            log.warning("machine translation: %s %s answered something other than JSON", method, path)
            raise _unavailable() from error

    async def languages(self) -> dict[str, set[str]]:
        """source language → the languages it translates into (cached for a while per server)."""
        cached = _languages_cache.get(self.url)
        if cached and time.monotonic() - cached[0] < LANGUAGES_CACHE_SECONDS:
            return cached[1]
        data = await self._call("GET", "/languages")
        if not isinstance(data, list):
            raise _unavailable()
        codes = {str(item.get("code")) for item in data if isinstance(item, dict) and item.get("code")}
        pairs: dict[str, set[str]] = {}
        for item in data:
            if not isinstance(item, dict) or not item.get("code"):
                continue
            targets = item.get("targets")
            pairs[str(item["code"])] = {str(t) for t in targets} if isinstance(targets, list) else codes
        _languages_cache[self.url] = (time.monotonic(), pairs)
        return pairs

    async def translate(self, text: str, source: str, target: str) -> str:
        body: dict[str, Any] = {"q": text, "source": source, "target": target, "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        data = await self._call("POST", "/translate", body)
        translated = data.get("translatedText") if isinstance(data, dict) else None
        if not isinstance(translated, str) or not translated.strip():
            log.warning("machine translation: an answer without translatedText")
            raise _unavailable()
        return translated.strip()


def provider(settings: Settings) -> LibreTranslate | None:
    """The configured provider, or None: machine translation is off."""
    if not settings.machine_translation_url:
        return None
    return LibreTranslate(settings.machine_translation_url, settings.machine_translation_key)


def is_on(settings: Settings) -> bool:
    return provider(settings) is not None


def _server_code(code: str, available: set[str] | dict[str, set[str]]) -> str | None:
    """Our ISO 639 code as the server names it ("zh" may be "zh-Hans" there)."""
    if code in available:
        return code
    return next((c for c in sorted(available) if c.split("-")[0].lower() == code), None)


async def translate_text(service: LibreTranslate, text: str, source: str, target: str) -> str:
    """One text from `source` into `target` (our ISO 639 codes); MachineTranslationError when the server
    does not translate between them or fails. Saves nothing."""
    pairs = await service.languages()
    source_code = _server_code(source, pairs)
    target_code = _server_code(target, pairs[source_code]) if source_code else None
    if source_code is None or target_code is None:
        raise MachineTranslationError(
            _("The machine translation service does not translate from %(source)s into %(target)s.")
            % {"source": language_name(source), "target": language_name(target)}
        )
    return await service.translate(text, source_code, target_code)


async def translate_message(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    client: Client,
    message: Message,
    target: str,
    *,
    service: LibreTranslate | None = None,
) -> MessageTranslation:
    """Machine-translate a message into `target` and save it as unchecked machine output.

    Refuses when machine translation is off, when the target is the original's language, and when a
    person has already made or checked a translation into it (machine output never replaces that).
    An earlier unchecked machine translation is replaced by the new one."""
    service = service or provider(settings)
    if service is None:
        raise MachineTranslationOff
    if target == message.language:
        raise MachineTranslationError(_("Choose a language other than the original's."))
    existing = next((t for t in message.translations if t.language == target), None)
    if existing is not None and not (existing.origin == TextOrigin.MACHINE and existing.checked_at is None):
        raise MachineTranslationError(
            _("There is already a translation into %(language)s by a person; it is kept.")
            % {"language": language_name(target)}
        )
    translated = await translate_text(service, message.body, message.language, target)
    action = Action.UPDATE if existing else Action.CREATE
    row = existing or MessageTranslation(language=target, body="", origin=TextOrigin.MACHINE, source_hash="")
    row.body = translated
    row.origin = TextOrigin.MACHINE
    row.source_hash = content_hash(message.body)
    row.translated_by_id = None  # a machine made it; the audit event names who asked
    row.checked_by_id = None
    row.checked_at = None
    if existing is None:
        message.translations.append(row)
    await db.flush()
    await audit.record(
        db,
        action,
        actor=actor,
        client_id=client.id,
        object_type="message_translation",
        object_id=row.id,
        fields=["body", "origin", "language"],
    )
    return row
