"""A local Web Push service for tests, on loopback: what a browser vendor's push service does for Kotopolku.

It hands out subscriptions as a browser would (a P-256 key pair and an auth secret per subscription,
bound to the application server key the page subscribed with), accepts RFC 8030 push messages at their
endpoints, verifies the VAPID authorisation (RFC 8292: the JWT's ES256 signature against the key `k`,
`k` equal to the subscription's application server key, `aud` the endpoint's origin, `exp` within 24
hours) and decrypts the aes128gcm payload (RFC 8291) with the subscription's private key, as the
browser would. Expired subscriptions answer 410 Gone.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt  # type: ignore[import-untyped]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushSubscriptionKeys:
    token: str
    endpoint: str
    p256dh: str  # the user agent's public key, base64url (what the browser gives the page)
    auth: str  # the auth secret, base64url
    private_key: ec.EllipticCurvePrivateKey
    application_server_key: str
    expired: bool = False
    answer: int | None = None  # force this status (e.g. 500) instead of accepting


@dataclass
class Received:
    endpoint: str
    payload: dict[str, Any]
    ttl: int
    urgency: str | None
    claims: dict[str, Any]


@dataclass
class Rejected:
    endpoint: str
    status: int
    reason: str


@dataclass
class PushService:
    host: str = "127.0.0.1"
    port: int = 0
    subscriptions: dict[str, PushSubscriptionKeys] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def subscribe(self, application_server_key: str) -> PushSubscriptionKeys:
        """What pushManager.subscribe({applicationServerKey}) gives the page."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        public = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        token = secrets.token_urlsafe(16)
        keys = PushSubscriptionKeys(
            token=token,
            endpoint=f"{self.origin}/push/{token}",
            p256dh=b64url(public),
            auth=b64url(os.urandom(16)),
            private_key=private_key,
            application_server_key=application_server_key,
        )
        self.subscriptions[token] = keys
        return keys

    def start(self) -> PushService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                status, reason = service._handle(self)
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"{service.origin}/message/{secrets.token_hex(8)}")
                self.send_header("Content-Length", str(len(reason)))
                self.end_headers()
                self.wfile.write(reason.encode())

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> tuple[int, str]:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        token = request.path.rsplit("/", 1)[-1]
        subscription = self.subscriptions.get(token) if request.path.startswith("/push/") else None
        endpoint = f"{self.origin}{request.path}"
        status, reason, received = self._check(subscription, request.headers, body)
        with self._lock:
            if received is not None:
                self.received.append(received)
            else:
                self.rejected.append(Rejected(endpoint, status, reason))
        return status, reason

    def _check(
        self, subscription: PushSubscriptionKeys | None, headers: Any, body: bytes
    ) -> tuple[int, str, Received | None]:
        if subscription is None:
            return 404, "no such subscription", None
        if subscription.expired:
            return 410, "subscription expired", None
        if subscription.answer:
            return subscription.answer, "forced", None
        # RFC 8292 §3: Authorization: vapid t=<JWT>, k=<public key>
        scheme, _sep, params = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "vapid":
            return 401, "no VAPID authorization", None
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != subscription.application_server_key:
            return 403, "VAPID key differs from the subscription's application server key", None
        try:
            claims = jwt.decode(token, key)
        except Exception:
            return 403, "VAPID signature invalid", None
        header = json.loads(unb64url(token.split(".")[0]))
        if header.get("alg") != "ES256":
            return 403, "VAPID JWT not ES256", None
        if claims.get("aud") != self.origin:
            return 403, "VAPID aud is not the push service's origin", None
        exp = int(claims.get("exp", 0))
        if not time.time() < exp <= time.time() + 24 * 3600:
            return 403, "VAPID exp missing, past or more than 24 hours ahead", None
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return 403, "VAPID sub is not a mailto: or https: contact", None
        # RFC 8030 §5.2: TTL is required.
        if "TTL" not in headers:
            return 400, "TTL missing", None
        if headers.get("Content-Encoding") != "aes128gcm":
            return 415, "payload not aes128gcm", None
        try:
            plain = http_ece.decrypt(
                body,
                private_key=subscription.private_key,
                auth_secret=unb64url(subscription.auth),
                version="aes128gcm",
            )
            payload = json.loads(plain)
        except Exception:
            return 400, "payload could not be decrypted", None
        received = Received(
            endpoint=subscription.endpoint,
            payload=payload,
            ttl=int(headers["TTL"]),
            urgency=headers.get("Urgency"),
            claims=claims,
        )
        return 201, "", received
