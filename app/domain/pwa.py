"""The migrant app as an installed web app: the offline cache's per-client key and Web Push subscriptions.

Offline copies. The service worker keeps the signed-in client's last-seen pages in a Cache Storage cache
named after `cache_key(settings, client_id)`: an HMAC of the client's id, so the name says nothing about
who it is, differs for every client on a shared phone, and cannot be guessed or forged by another client.

Push subscriptions. What pushManager.subscribe() gave the browser — an endpoint (a capability URL at the
browser vendor's push service) and the browser's P-256 public key and auth secret — is validated strictly
before the outbox worker will ever send to it: an https URL at a known push service (the worker POSTs
there, so an arbitrary URL would let a client make the server call any host), a real curve point, a
16-byte secret. The endpoint identifies the browser: subscribing again updates the row, and a browser
handed over to another client (a shared phone) moves to that client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.outbox import PushSubscription
from app.domain import audit
from app.domain.audit import Action
from app.i18n import _
from app.settings import Settings

MAX_ENDPOINT = 1000
MAX_SUBSCRIPTIONS = 10  # browsers per client; the oldest goes when an eleventh subscribes
# The push services of the browsers people use (Chrome, Edge, Firefox, Safari, Samsung, Opera, ...).
PUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    ".push.services.mozilla.com",
    ".push.apple.com",
    ".notify.windows.com",
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def cache_key(settings: Settings, client_id: uuid.UUID) -> str:
    """The opaque name of the client's offline cache (32 hex digits)."""
    digest = hmac.new(settings.secret_key.encode(), b"kp-offline-cache\x00" + client_id.bytes, hashlib.sha256)
    return digest.hexdigest()[:32]


# --- push subscriptions ---------------------------------------------------------------------------


@dataclass
class SubscriptionInput:
    endpoint: str = ""
    p256dh: str = ""
    auth: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _b64url_bytes(value: Any) -> bytes | None:
    if not isinstance(value, str) or not _B64URL.match(value) or len(value) > 200:
        return None
    raw = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        return None


def push_service_allowed(endpoint: str, *, allow_loopback: bool) -> bool:
    """An https URL at a known push service, or (development and tests) http on loopback."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port  # raises on a malformed port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.username or parts.password or parts.fragment or not host:
        return False
    if allow_loopback and parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return True
    if parts.scheme != "https" or port not in (None, 443):
        return False
    try:
        ipaddress.ip_address(host)
        return False  # push services have names
    except ValueError:
        pass
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in PUSH_SERVICE_HOSTS)


def read_subscription(data: Any, *, allow_loopback: bool) -> SubscriptionInput:
    """PushSubscription.toJSON() as the browser gives it: {endpoint, expirationTime, keys: {p256dh, auth}}."""
    parsed = SubscriptionInput()
    if not isinstance(data, dict):
        parsed.errors["subscription"] = _("The notification settings could not be read. Please try again.")
        return parsed
    endpoint = data.get("endpoint")
    found = data.get("keys")
    keys: dict[str, Any] = found if isinstance(found, dict) else {}
    if (
        not isinstance(endpoint, str)
        or len(endpoint) > MAX_ENDPOINT
        or not push_service_allowed(endpoint, allow_loopback=allow_loopback)
    ):
        parsed.errors["endpoint"] = _("This browser's notification service is not supported.")
    else:
        parsed.endpoint = endpoint
    p256dh = _b64url_bytes(keys.get("p256dh"))
    try:
        if p256dh is None or len(p256dh) != 65 or p256dh[0] != 4:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)  # on the curve
        parsed.p256dh = str(keys["p256dh"]).rstrip("=")
    except ValueError:
        parsed.errors["p256dh"] = _("The notification settings could not be read. Please try again.")
    auth = _b64url_bytes(keys.get("auth"))
    if auth is None or len(auth) != 16:
        parsed.errors["auth"] = _("The notification settings could not be read. Please try again.")
    else:
        parsed.auth = str(keys["auth"]).rstrip("=")
    return parsed


async def subscribe(db: AsyncSession, client: Client, parsed: SubscriptionInput) -> PushSubscription:
    """Insert or update the browser's subscription (by endpoint) for this client."""
    row = await db.scalar(select(PushSubscription).where(PushSubscription.endpoint == parsed.endpoint))
    changed = True
    if row is None:
        row = PushSubscription(
            client_id=client.id, endpoint=parsed.endpoint, p256dh=parsed.p256dh, auth=parsed.auth
        )
        try:
            async with db.begin_nested():
                db.add(row)
        except IntegrityError:  # the same browser subscribing twice at once: update the other's row
            found = await db.scalar(
                select(PushSubscription).where(PushSubscription.endpoint == parsed.endpoint)
            )
            if found is None:
                raise
            row = found
    else:
        current = (row.client_id, row.staff_id, row.p256dh, row.auth)
        changed = current != (client.id, None, parsed.p256dh, parsed.auth)
    row.client_id, row.staff_id = client.id, None
    row.p256dh, row.auth, row.last_failure_at = parsed.p256dh, parsed.auth, None
    await db.flush()
    if changed:  # a new browser, one handed over from someone else, or new keys (not a mere re-sync)
        await audit.record(
            db,
            Action.CREATE,
            actor_kind="client",
            actor_id=client.id,
            client_id=client.id,
            object_type="push_subscription",
            object_id=row.id,
            fields=["endpoint", "p256dh", "auth"],
        )
    await _keep_newest(db, client, row.id)
    return row


async def _keep_newest(db: AsyncSession, client: Client, keep: uuid.UUID) -> None:
    count = await db.scalar(select(func.count()).where(PushSubscription.client_id == client.id)) or 0
    if count <= MAX_SUBSCRIPTIONS:
        return
    oldest = (
        select(PushSubscription.id)
        .where(PushSubscription.client_id == client.id, PushSubscription.id != keep)
        .order_by(PushSubscription.created_at, PushSubscription.id)
        .limit(count - MAX_SUBSCRIPTIONS)
    )
    await db.execute(delete(PushSubscription).where(PushSubscription.id.in_(list(await db.scalars(oldest)))))


async def unsubscribe(db: AsyncSession, client: Client, endpoint: Any) -> bool:
    """Remove this client's subscription for the endpoint; False when the client has none such."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        return False
    row_id = await db.scalar(
        select(PushSubscription.id).where(
            PushSubscription.endpoint == endpoint, PushSubscription.client_id == client.id
        )
    )
    if row_id is None:
        return False
    await db.execute(delete(PushSubscription).where(PushSubscription.id == row_id))
    await audit.record(
        db,
        Action.DELETE,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="push_subscription",
        object_id=row_id,
        fields=["endpoint"],
    )
    return True
