"""Read aloud on the server (POST /speech, espeak-ng), the web app manifest, the service worker and the
offline page.

/speech answers audio/wav for languages espeak-ng speaks, from a content-addressed disk cache the second
time (no new espeak-ng run), 404 with a translated JSON message for a language without a voice (Somali),
413 past 5,000 characters, 422 for a request it cannot read, 429 when too many are waiting, 503 when
espeak-ng is missing or too slow; every POST needs the CSRF token. The text reaches espeak-ng on its
standard input, never in its arguments.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app import assets
from app.domain import speech
from app.i18n import PUBLIC_LOCALES
from app.main import create_app
from app.routes.me import pwa as pwa_routes
from app.settings import Settings
from tests.conftest import BASE_URL, AppTestClient, csrf_token

FINNISH = "Hyvää huomenta. Tapaaminen on maanantaina kello kymmenen."
ARABIC = "صباح الخير. الموعد يوم الاثنين الساعة العاشرة."


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """An app of this test's own: the speech cache and the speaker live in its state."""
    return create_app(settings)


@pytest.fixture(autouse=True)
def speech_dir(app: Litestar, tmp_path: Path) -> Path:
    """A cache of this test's own (the default is var/speech/)."""
    directory = tmp_path / "speech"
    app.state["speech_dir"] = directory
    return directory


def speak(client: TestClient[Any], body: Any, *, csrf: bool = True, **kwargs: Any) -> Any:
    headers = {"Accept": "audio/wav, application/json"}
    if csrf:
        headers["x-csrftoken"] = csrf_token(client)
    if isinstance(body, bytes):
        return client.post("/speech", content=body, headers={**headers, "Content-Type": "application/json"})
    return client.post("/speech", json=body, headers=headers, **kwargs)


def speaker(app: Litestar) -> speech.Speaker:
    found: speech.Speaker = app.state["speaker"]
    return found


def assert_wav(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
    assert len(response.content) > 1000  # real sound, not just a header


@pytest.mark.parametrize(
    ("lang", "text"), [("fi", FINNISH), ("ar", ARABIC), ("ar-SY", ARABIC), ("en-GB", "Hello")]
)
def test_speech_is_wav_audio_in_the_voice_of_the_language(client, app, speech_dir, lang, text):
    response = speak(client, {"text": text, "lang": lang})
    assert_wav(response)
    assert response.headers["x-speech-cache"] == "miss"
    files = list(speech_dir.glob("*.wav"))
    assert [f.name for f in files] == [response.headers["etag"].strip('"') + ".wav"]
    assert speaker(app).runs == 1


def test_the_second_request_comes_from_the_disk_cache_without_running_espeak(
    client, app, speech_dir, monkeypatch
):
    first = speak(client, {"text": ARABIC, "lang": "ar"})
    assert_wav(first)

    async def no_espeak(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("espeak-ng ran although the audio was cached")

    monkeypatch.setattr(speech.asyncio, "create_subprocess_exec", no_espeak)
    # The same words with other white space (how a page indents them) are the same audio.
    second = speak(client, {"text": "  " + ARABIC.replace(" ", "\n   ") + "\n", "lang": "ar"})
    assert_wav(second)
    assert second.headers["x-speech-cache"] == "hit"
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert speaker(app).runs == 1
    assert len(list(speech_dir.glob("*.wav"))) == 1


def test_the_cache_is_content_addressed_by_language_and_text(client, speech_dir):
    a = speak(client, {"text": "Kurssi alkaa.", "lang": "fi"})
    b = speak(client, {"text": "Kurssi alkaa.", "lang": "sv"})
    c = speak(client, {"text": "Kurssi loppuu.", "lang": "fi"})
    etags = {r.headers["etag"] for r in (a, b, c)}
    assert len(etags) == 3
    for response in (a, b, c):
        key = response.headers["etag"].strip('"')
        assert re.fullmatch(r"[0-9a-f]{64}", key)  # a SHA-256: nothing about who asked
        assert (speech_dir / f"{key}.wav").read_bytes() == response.content


def test_audio_may_be_kept_by_the_browser_as_it_never_changes(client):
    response = speak(client, {"text": FINNISH, "lang": "fi"})
    assert_wav(response)
    # Private (never a shared cache) and long-lived: the audio of a text never changes.
    assert response.headers["cache-control"] == pwa_routes.AUDIO_CACHE
    assert "public" not in response.headers["cache-control"]


def test_a_language_without_a_voice_is_404_with_a_plain_translated_message(client):
    response = speak(client, {"text": "Ballanqaadka waa berri.", "lang": "so", "ui": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "no_voice"
    assert response.json()["message"] == "This text cannot be read aloud in this language."


@pytest.mark.parametrize("lang", ["so", "ti", "", "x" * 40, "zz-ZZ"])
def test_unknown_languages_have_no_voice(client, lang):
    response = speak(client, {"text": "Hello", "lang": lang, "ui": "en"})
    assert response.status_code == 404 and response.json()["error"] == "no_voice"


def test_too_long_text_is_413(client, speech_dir):
    response = speak(client, {"text": "a " * 2600, "lang": "fi", "ui": "en"})
    assert response.status_code == 413
    assert response.json() == {
        "status_code": 413,
        "error": "too_long",
        "message": "This text is too long to read aloud.",
    }
    assert not speech_dir.exists() or not list(speech_dir.iterdir())


def test_a_huge_body_is_refused_before_it_is_parsed(client):
    response = speak(client, json.dumps({"text": "ä" * 100_000, "lang": "fi"}).encode())
    assert response.status_code == 413


def test_exactly_the_limit_is_read(client):
    text = ("Kurssi alkaa maanantaina. " * 200)[: speech.MAX_CHARS].strip()
    text = text + "x" * (speech.MAX_CHARS - len(text))
    assert len(text) == speech.MAX_CHARS
    assert_wav(speak(client, {"text": text, "lang": "fi"}))


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"lang": "fi"}).encode(),
        json.dumps({"text": 5, "lang": "fi"}).encode(),
        json.dumps({"text": "Hei", "lang": ["fi"]}).encode(),
        json.dumps({"text": " \n\t ", "lang": "fi"}).encode(),
    ],
)
def test_a_request_that_cannot_be_read_is_422(client, body):
    response = speak(client, body)
    assert response.status_code == 422
    assert response.json()["error"] in ("invalid", "empty")


def test_csrf_is_required(client, app):
    csrf_token(client)  # the cookie exists, the header does not
    response = speak(client, {"text": FINNISH, "lang": "fi"}, csrf=False)
    assert response.status_code == 403
    assert "speaker" not in app.state or speaker(app).runs == 0


def test_errors_are_in_the_language_the_page_asks_for(client):
    """`ui` (the page's interface language) picks the language of the message; anything else is ignored."""
    english = speak(client, {"text": "Hello", "lang": "so", "ui": "en"}).json()["message"]
    other = speak(client, {"text": "Hello", "lang": "so", "ui": "xx"})
    assert other.status_code == 404 and isinstance(other.json()["message"], str)
    assert english == "This text cannot be read aloud in this language."


def test_a_missing_espeak_is_503_and_nothing_is_cached(settings: Settings, tmp_path):
    app = create_app(replace(settings, espeak_command="/nonexistent/espeak-ng"))
    app.state["speech_dir"] = tmp_path
    with AppTestClient(app, base_url=BASE_URL) as client:
        response = speak(client, {"text": FINNISH, "lang": "fi", "ui": "en"})
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert list(tmp_path.iterdir()) == []


# --- the domain: stdin not argv, time limit, bounded work, pruning -----------------------------------


def fake_espeak(tmp_path: Path, *, sleep: float = 0.0) -> str:
    """A stand-in for espeak-ng that records its arguments and its standard input and writes a WAV."""
    script = tmp_path / "fake_espeak.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, sys, time, wave
            args = sys.argv[1:]
            text = sys.stdin.buffer.read().decode()
            with open({str(tmp_path / "calls.jsonl")!r}, "a") as log:
                log.write(json.dumps({{"args": args, "stdin": text}}) + "\\n")
            time.sleep({sleep})
            with wave.open(args[args.index("-w") + 1], "wb") as out:
                out.setnchannels(1); out.setsampwidth(2); out.setframerate(22050)
                out.writeframes(b"\\0\\0" * 2205)
            """
        )
    )
    return f"{sys.executable} {script}"


def calls(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_text_goes_to_espeak_on_stdin_never_in_its_arguments(tmp_path):
    speaker = speech.Speaker(fake_espeak(tmp_path), tmp_path / "cache")
    secret = "--help Amina Haddad, +358 40 123 4567"
    audio = asyncio.run(speaker.audio("fi", secret))
    [call] = calls(tmp_path)
    assert call["stdin"] == secret
    assert not any("Amina" in a or "358" in a for a in call["args"])
    assert call["args"][:2] == ["-v", "fi"] and "--stdin" in call["args"]
    assert audio.path.parent == tmp_path / "cache" and not audio.cached
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [audio.path.name]  # no temporary left


def test_espeak_is_stopped_after_the_time_limit(tmp_path):
    speaker = speech.Speaker(fake_espeak(tmp_path, sleep=10), tmp_path / "cache", timeout=0.5)
    with pytest.raises(speech.Unavailable):
        asyncio.run(speaker.audio("fi", "Hei"))
    assert not list((tmp_path / "cache").glob("*.wav"))


def test_only_a_few_run_at_once_and_a_flood_is_told_to_wait(tmp_path):
    speaker = speech.Speaker(fake_espeak(tmp_path, sleep=0.4), tmp_path / "cache", concurrency=1, queue=2)

    async def many() -> list[Any]:
        return await asyncio.gather(
            *(speaker.audio("fi", f"Lause numero {n}.") for n in range(4)), return_exceptions=True
        )

    results = asyncio.run(many())
    done = [r for r in results if isinstance(r, speech.Audio)]
    busy = [r for r in results if isinstance(r, speech.Busy)]
    assert len(done) == 2 and len(busy) == 2
    assert len(calls(tmp_path)) == 2


def test_the_cache_drops_the_least_recently_used_files(tmp_path):
    speaker = speech.Speaker(fake_espeak(tmp_path), tmp_path / "cache", max_files=3)
    first = asyncio.run(speaker.audio("fi", "Yksi."))
    for n in range(2, 6):
        asyncio.run(speaker.audio("fi", f"Lause {n}."))
    files = list((tmp_path / "cache").glob("*.wav"))
    assert len(files) <= 3
    assert first.path not in files


def test_voices():
    assert speech.voice_for("en") == "en-gb" and speech.voice_for("EN_us") == "en-gb"
    assert speech.voice_for("fa-IR") == "fa" and speech.voice_for("so") is None
    assert speech.voice_for(None) is None
    assert {speech.voice_for(code) for code in PUBLIC_LOCALES} - {None} == set(speech.VOICES.values())


# --- manifest, service worker, offline page ---------------------------------------------------------


@pytest.mark.parametrize("lang", PUBLIC_LOCALES)
def test_the_manifest_in_every_language(client, lang):
    response = client.get(f"/manifest.webmanifest?lang={lang}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == "Kotopolku" and manifest["short_name"]
    assert manifest["start_url"] == "/me/" and manifest["scope"] == "/me/" and manifest["id"] == "/me/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0b5394" and manifest["background_color"]
    assert manifest["lang"] == lang
    assert manifest["dir"] == ("rtl" if lang in ("ar", "fa") else "ltr")
    assert isinstance(manifest["description"], str) and manifest["description"]
    icons = {(i["sizes"], i["purpose"]): i for i in manifest["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in manifest["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png.content[16:20], "big"), int.from_bytes(png.content[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"] and icon["type"] == "image/png"


def test_the_manifest_only_speaks_the_public_languages(client):
    manifest = client.get("/manifest.webmanifest?lang=de", headers={"Accept-Language": "de"}).json()
    assert manifest["lang"] == "fi" and manifest["dir"] == "ltr"


def test_the_service_worker_is_javascript_for_the_app_scope_and_never_stale(client):
    response = client.get("/me/sw.js")  # no session needed: the browser fetches it by itself
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert "service-worker-allowed" not in response.headers
    body = response.text
    config = json.loads(re.search(r"^const CONFIG = (.*);$", body, re.MULTILINE).group(1))
    assert re.fullmatch(r"[0-9a-f]{16}", config["version"])
    assert config["offline"] == "/me/offline" and "/me/offline" in config["precache"]
    for url in config["precache"]:  # install fails if any of these does
        assert client.get(url).status_code == 200, url
    # Officer pages and the client's data and settings are never kept (also out of the /me/ scope).
    never = re.search(r"^const NEVER = /(.*)/;$", body, re.MULTILINE).group(1).replace("\\/", "/")
    for path in (
        "/officer",
        "/officer/clients/1",
        "/me/data",
        "/me/data.json",
        "/me/settings",
        "/me/sign-in",
        "/me/enrol",
    ):
        assert re.search(never, path), path
    for path in ("/me/", "/me/plan", "/me/appointments", "/me/messages"):
        assert not re.search(never, path), path


def test_the_service_worker_changes_when_a_static_file_does(client, monkeypatch, tmp_path):
    """Browsers install a new worker when its script differs: it lists the static files by content."""
    copy = tmp_path / "static"
    shutil.copytree(assets.STATIC, copy)
    monkeypatch.setattr(assets, "STATIC", copy)
    before = client.get("/me/sw.js").text
    assert assets.static_url("css/me.css") in before
    (copy / "css" / "me.css").write_text("/* changed */")
    after = client.get("/me/sw.js").text
    assert after != before and assets.static_url("css/me.css") in after


@pytest.mark.parametrize(("lang", "direction"), [("en", "ltr"), ("ar", "rtl")])
def test_the_offline_page_needs_no_session_and_is_translated(client, lang, direction):
    response = client.get(f"/me/offline?lang={lang}")
    assert response.status_code == 200
    assert f'<html lang="{lang}" dir="{direction}">' in response.text
    assert "data-offline-pages" in response.text and "data-offline-list" in response.text
    if lang == "en":
        assert "<h1>You are offline</h1>" in response.text
