"""A small LibreTranslate-compatible HTTP server on loopback for tests: real HTTP, real JSON.

It "translates" deterministically: a phrase in DICTIONARY gives its entry, anything else comes back as
"[target] text". `fail` makes it misbehave: "error" (HTTP 500 with a JSON error), "garbage" (200 with
something other than JSON), "slow" (answers after `delay` seconds), "empty" (200 without translatedText).
Every request is recorded in `requests` (method, path, JSON body) so a test can see what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LANGUAGES = ["fi", "sv", "en", "ar", "fa", "ru", "uk", "so"]
DICTIONARY = {
    ("fi", "ar"): {"Tervetuloa kurssille maanantaina.": "مرحبا بكم في الدورة يوم الاثنين."},
    ("ar", "fi"): {"شكرا، سأحضر.": "Kiitos, tulen paikalle."},
}


class FakeLibreTranslate(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api_key = api_key
        self.fail: str | None = None
        self.delay = 2.0
        self.requests: list[tuple[str, str, Any]] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeLibreTranslate

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: Any, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if raw is None else "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _misbehave(self) -> bool:
        fail = self.server.fail
        if fail == "slow":
            time.sleep(self.server.delay)
            return False
        if fail == "error":
            self._send(500, {"error": "Internal error"})
            return True
        if fail == "garbage":
            self._send(200, None, raw=b"<html>Bad gateway</html>")
            return True
        return False

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, None))
        if self.path != "/languages":
            self._send(404, {"error": "Not found"})
            return
        if self._misbehave():
            return
        self._send(
            200, [{"code": c, "name": c, "targets": [t for t in LANGUAGES if t != c]} for c in LANGUAGES]
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"error": "Invalid JSON"})
            return
        self.server.requests.append(("POST", self.path, body))
        if self.path != "/translate":
            self._send(404, {"error": "Not found"})
            return
        if self.server.api_key and body.get("api_key") != self.server.api_key:
            self._send(403, {"error": "Invalid API key"})
            return
        missing = [k for k in ("q", "source", "target") if not body.get(k)]
        if missing:
            self._send(400, {"error": f"Invalid request: missing {missing[0]} parameter"})
            return
        if body["source"] not in LANGUAGES or body["target"] not in LANGUAGES:
            self._send(400, {"error": "Language not supported"})
            return
        if self._misbehave():
            return
        if self.server.fail == "empty":
            self._send(200, {"detectedLanguage": None})
            return
        text = str(body["q"])
        translated = DICTIONARY.get((body["source"], body["target"]), {}).get(
            text, f"[{body['target']}] {text}"
        )
        self._send(200, {"translatedText": translated})


@contextmanager
def serve(api_key: str | None = None) -> Iterator[FakeLibreTranslate]:
    """Run the server in a thread for the duration of the block."""
    server = FakeLibreTranslate(api_key)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
