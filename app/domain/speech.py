"""Read aloud on the server (service 15): espeak-ng audio for phones that have no voice for a language.

The phone's own speech synthesis is used first (static/js/me.js); this is the fallback. Audio is
content-addressed: the file name is the SHA-256 of the voice and the (normalised) text, so a file holds
nothing about who asked for it and one cached file serves everybody who listens to the same text.

espeak-ng runs as a subprocess without a shell, the text on its standard input (never in argv, so no
text is visible in the process list and none can be read as an option), with a time limit. A few
syntheses at a time per process (a semaphore) and a short queue bound the CPU a flood of requests can
burn; beyond the queue the caller is told to come back later. The cache is pruned, oldest-used first,
when it grows past its limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import secrets
import shlex
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from app.settings import VAR_DIR

log = logging.getLogger("kotopolku.speech")

# Interface and content languages → espeak-ng voices. Somali (so) has none in espeak-ng.
VOICES = {"fi": "fi", "sv": "sv", "en": "en-gb", "ar": "ar", "fa": "fa", "ru": "ru", "uk": "uk"}
MAX_CHARS = 5000
DEFAULT_DIR = VAR_DIR / "speech"
WORDS_PER_MINUTE = 150  # a little slower than espeak-ng's 175: easier for someone learning to listen
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SpeechError(Exception):
    """Why there is no audio; `code` is what the JSON answer names."""

    code = "error"


class NoVoice(SpeechError):
    code = "no_voice"


class TooLong(SpeechError):
    code = "too_long"


class EmptyText(SpeechError):
    code = "empty"


class Busy(SpeechError):
    code = "busy"


class Unavailable(SpeechError):
    """espeak-ng is missing, failed or took too long."""

    code = "unavailable"


def voice_for(lang: str | None) -> str | None:
    """The espeak-ng voice for a BCP 47 tag ("ar", "ar-SY", "en_GB"), or None."""
    if not lang:
        return None
    primary = lang.strip().replace("_", "-").split("-")[0].lower()
    return VOICES.get(primary)


def normalise(text: str) -> str:
    """NFC, control characters out, runs of white space as one space: the same words read the same way
    (and hit the same cache file) however a page happened to indent them."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def audio_key(voice: str, text: str) -> str:
    return hashlib.sha256(f"espeak-ng\n{voice}\n{WORDS_PER_MINUTE}\n{text}".encode()).hexdigest()


@dataclass(frozen=True)
class Audio:
    path: Path
    key: str
    cached: bool  # served from the disk cache (no espeak-ng run)


class Speaker:
    """Makes and caches audio. One per app (per process): the semaphore is shared by its requests."""

    def __init__(
        self,
        command: str,
        directory: Path = DEFAULT_DIR,
        *,
        concurrency: int = 2,
        queue: int = 8,
        timeout: float = 20.0,
        max_files: int = 5000,
        max_bytes: int = 1024 * 1024 * 1024,
    ) -> None:
        self.command = shlex.split(command)
        self.directory = directory
        self.timeout = timeout
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.queue = queue
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting = 0
        self.runs = 0  # espeak-ng processes started (tests and logs)

    def prepare(self, lang: str | None, text: str) -> tuple[str, str]:
        """(voice, normalised text), or the SpeechError that says why not."""
        voice = voice_for(lang)
        if voice is None:
            raise NoVoice(lang or "")
        cleaned = normalise(text)
        if not cleaned:
            raise EmptyText
        if len(cleaned) > MAX_CHARS:
            raise TooLong
        return voice, cleaned

    def cached(self, key: str) -> Path | None:
        path = self.directory / f"{key}.wav"
        try:
            os.utime(path)  # used now: the pruning keeps it
        except FileNotFoundError:
            return None
        return path

    async def audio(self, lang: str | None, text: str) -> Audio:
        voice, cleaned = self.prepare(lang, text)
        key = audio_key(voice, cleaned)
        if (path := self.cached(key)) is not None:
            return Audio(path, key, cached=True)
        if self._waiting >= self.queue:
            raise Busy
        self._waiting += 1
        try:
            async with self._slots:
                # Someone may have made the same audio while this request waited.
                if (path := self.cached(key)) is not None:
                    return Audio(path, key, cached=True)
                path = await self._synthesise(voice, cleaned, key)
        finally:
            self._waiting -= 1
        await asyncio.to_thread(self.prune)
        return Audio(path, key, cached=False)

    async def _synthesise(self, voice: str, text: str, key: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{key}.wav"
        temporary = self.directory / f".{key}.{secrets.token_hex(4)}.part"
        args = [
            *self.command,
            "-v",
            voice,
            "-s",
            str(WORDS_PER_MINUTE),
            "-b",
            "1",
            "--stdin",
            "-w",
            str(temporary),
        ]
        self.runs += 1
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            log.warning("read aloud: espeak-ng cannot be started (%s)", type(exc).__name__)
            raise Unavailable from None
        try:
            _out, error = await asyncio.wait_for(process.communicate(text.encode()), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            temporary.unlink(missing_ok=True)
            log.warning(
                "read aloud: espeak-ng took longer than %.0f s (%d characters)", self.timeout, len(text)
            )
            raise Unavailable from None
        try:
            if process.returncode != 0 or not _is_wav(temporary):
                # espeak-ng's error names the voice or the file, never the text (which came on stdin).
                log.warning(
                    "read aloud: espeak-ng failed (exit %s): %s",
                    process.returncode,
                    error[:200].decode(errors="replace"),
                )
                raise Unavailable
            os.replace(temporary, target)  # atomic: a reader sees no file or the whole file
        finally:
            temporary.unlink(missing_ok=True)
        return target

    def prune(self) -> None:
        """Keep the cache under max_files and max_bytes, dropping the least recently used files."""
        try:
            stats = [(e.stat(), Path(e.path)) for e in os.scandir(self.directory) if e.name.endswith(".wav")]
        except FileNotFoundError:
            return
        files = sorted(((s.st_mtime, s.st_size, path) for s, path in stats), key=lambda e: e[0])
        total = sum(size for _t, size, _p in files)
        count = len(files)
        if count <= self.max_files and total <= self.max_bytes:
            return
        # Down to 90 % of the limits, so the next few files do not each trigger a pruning.
        for _mtime, size, path in files:
            if count <= self.max_files * 0.9 and total <= self.max_bytes * 0.9:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            count -= 1
            total -= size


def _is_wav(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"
