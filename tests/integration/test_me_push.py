"""Web Push in the migrant app: POST /me/push/subscribe and /me/push/unsubscribe (validation, ownership,
audit), and the round trip through a local push service on loopback (tests/push_service.py: it verifies
the VAPID signature and decrypts the aes128gcm payload as a browser would).

A new message from the officer reaches the client's browser as a push without personal data, with a TTL;
a subscription the push service calls gone (410, or 404) is removed by the next send.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.client import Client
from app.db.organisation import Organisation, Role, Staff
from app.db.outbox import (
    Channel,
    ContactPreference,
    NotificationKind,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
)
from app.domain import pwa
from app.jobs.render import short_text
from app.jobs.worker import Counts, Worker, WorkerOptions
from app.settings import Settings
from tests.conftest import Factory, csrf_token, sign_in, sign_in_client
from tests.push_service import PushService, PushSubscriptionKeys, b64url

PERSON = {
    "first_names": "Amina",
    "last_name": "Haddad",
    "native_name": "أمينة حداد",
    "email": "amina.haddad@example.net",
    "phone": "+358401234567",
}
SUBJECT = "Asumistuki ja Kauppakatu 1"
BODY = "Hei Amina, tule maanantaina klo 14.00 huoneeseen B 204. Henkilötunnus 010190-123A."


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService().start()
    yield service
    service.stop()


@pytest.fixture
def home(factory: Factory) -> Organisation:
    return factory.organisation("Kotokunta")


@pytest.fixture
def officer(factory: Factory, home: Organisation) -> Staff:
    return factory.staff(home, Role.INTEGRATION_OFFICER)


@pytest.fixture
def amina(factory: Factory, home: Organisation, db: Session) -> Client:
    person = factory.client(home, preferred_locale="fi", **PERSON)
    db.add(ContactPreference(client_id=person.id, push=True, email=False, sms=False))
    db.commit()
    return person


@pytest.fixture
def other(factory: Factory, home: Organisation) -> Client:
    return factory.client(home, first_names="Olli", last_name="Muu")


def subscription_json(keys: PushSubscriptionKeys) -> dict[str, Any]:
    """What PushSubscription.toJSON() gives the page."""
    return {
        "endpoint": keys.endpoint,
        "expirationTime": None,
        "keys": {"p256dh": keys.p256dh, "auth": keys.auth},
    }


def post_json(client: Any, url: str, body: Any, *, csrf: bool = True) -> Any:
    headers = {"Accept": "application/json"}
    if csrf:
        headers["x-csrftoken"] = csrf_token(client)
    if isinstance(body, bytes):
        return client.post(url, content=body, headers={**headers, "Content-Type": "application/json"})
    return client.post(url, json=body, headers=headers)


def rows(db: Session) -> list[PushSubscription]:
    db.expire_all()
    return list(db.scalars(select(PushSubscription).order_by(PushSubscription.created_at)))


def deliver(settings: Settings) -> Counts:
    async def run() -> Counts:
        options = WorkerOptions(base_delay=timedelta(seconds=60), poll_interval=0.1, send_timeout=10)
        async with Worker(settings, options=options) as worker:
            return await worker.drain()

    return asyncio.run(run())


def personal_data_in(text: str) -> list[str]:
    found = [v for v in (*PERSON.values(), SUBJECT, "Kauppakatu", "B 204", "14.00", "010190") if v in text]
    found += re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
    found += re.findall(r"\+?\d[\d \-]{6,}\d", text)
    return found


# --- subscribing ------------------------------------------------------------------------------------


def test_subscribing_stores_the_browsers_subscription_for_the_signed_in_client(
    client, factory, amina, db, push_service, settings
):
    sign_in_client(client, factory, amina)
    keys = push_service.subscribe(settings.vapid_public_key)
    response = post_json(client, "/me/push/subscribe", subscription_json(keys))
    assert response.status_code == 200, response.text
    assert response.json() == {"subscribed": True}
    [row] = rows(db)
    assert (row.client_id, row.staff_id) == (amina.id, None)
    assert (row.endpoint, row.p256dh, row.auth) == (keys.endpoint, keys.p256dh, keys.auth)
    event = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "push_subscription"))
    assert event is not None and event.actor_kind == "client" and event.client_id == amina.id
    assert event.fields == ["auth", "endpoint", "p256dh"]  # names only, never the values


def test_subscribing_again_updates_the_same_row(client, factory, amina, db, push_service, settings):
    sign_in_client(client, factory, amina)
    keys = push_service.subscribe(settings.vapid_public_key)
    assert post_json(client, "/me/push/subscribe", subscription_json(keys)).status_code == 200
    assert post_json(client, "/me/push/subscribe", subscription_json(keys)).status_code == 200
    renewed = {**subscription_json(keys), "keys": {"p256dh": keys.p256dh, "auth": b64url(b"\x01" * 16)}}
    assert post_json(client, "/me/push/subscribe", renewed).status_code == 200
    [row] = rows(db)
    assert row.auth == b64url(b"\x01" * 16)


def test_a_browser_handed_over_to_another_client_moves_to_them(
    client, factory, amina, other, db, push_service, settings
):
    keys = push_service.subscribe(settings.vapid_public_key)
    sign_in_client(client, factory, amina)
    post_json(client, "/me/push/subscribe", subscription_json(keys))
    sign_in_client(client, factory, other)  # the same phone, someone else signed in
    assert post_json(client, "/me/push/subscribe", subscription_json(keys)).status_code == 200
    [row] = rows(db)
    assert row.client_id == other.id  # Amina's notifications no longer go to a phone Olli uses


def test_a_client_keeps_at_most_ten_browsers(client, factory, amina, db, push_service, settings):
    sign_in_client(client, factory, amina)
    endpoints = []
    for _ in range(pwa.MAX_SUBSCRIPTIONS + 2):
        keys = push_service.subscribe(settings.vapid_public_key)
        endpoints.append(keys.endpoint)
        assert post_json(client, "/me/push/subscribe", subscription_json(keys)).status_code == 200
    kept = {r.endpoint for r in rows(db)}
    assert len(kept) == pwa.MAX_SUBSCRIPTIONS and endpoints[-1] in kept


def test_subscribing_needs_a_session_and_the_csrf_token(client, factory, amina, db, push_service, settings):
    keys = push_service.subscribe(settings.vapid_public_key)
    anonymous = post_json(client, "/me/push/subscribe", subscription_json(keys))
    assert anonymous.status_code == 401
    sign_in_client(client, factory, amina)
    assert post_json(client, "/me/push/subscribe", subscription_json(keys), csrf=False).status_code == 403
    assert rows(db) == []


def _point() -> str:
    return PushService().subscribe("x").p256dh


BAD = {
    "http elsewhere": {"endpoint": "http://push.example.com/x"},
    "https unknown host": {"endpoint": "https://evil.example.com/push/abc"},
    "https ip literal": {"endpoint": "https://10.0.0.5/push/abc"},
    "https with user": {"endpoint": "https://user:pw@fcm.googleapis.com/fcm/send/abc"},
    "other port": {"endpoint": "https://fcm.googleapis.com:8443/fcm/send/abc"},
    "javascript": {"endpoint": "javascript:alert(1)"},
    "not a string": {"endpoint": 12},
    "too long": {"endpoint": "https://fcm.googleapis.com/fcm/send/" + "a" * 1000},
    "p256dh short": {"keys": {"p256dh": b64url(b"\x04" + b"\x01" * 31)}},
    "p256dh compressed": {"keys": {"p256dh": b64url(b"\x02" + b"\x01" * 64)}},
    "p256dh off the curve": {"keys": {"p256dh": b64url(b"\x04" + b"\x01" * 64)}},
    "p256dh not base64url": {"keys": {"p256dh": "+/+/" * 22}},
    "auth short": {"keys": {"auth": b64url(b"\x01" * 8)}},
    "auth long": {"keys": {"auth": b64url(b"\x01" * 32)}},
    "auth missing": {"keys": {"auth": None}},
    "keys not an object": {"keys": "abc"},
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_subscription_is_422(client, factory, amina, db, push_service, settings, case):
    sign_in_client(client, factory, amina)
    body = subscription_json(push_service.subscribe(settings.vapid_public_key))
    change = BAD[case]
    if "keys" in change and isinstance(change["keys"], dict):
        body["keys"] = {**body["keys"], **change["keys"]}
    else:
        body.update(change)
    response = post_json(client, "/me/push/subscribe", body)
    assert response.status_code == 422, case
    assert response.json()["errors"]
    assert rows(db) == []


@pytest.mark.parametrize("body", [b"nonsense", b"[]", b'"endpoint"', b"{}"])
def test_a_body_that_is_not_a_subscription_is_422(client, factory, amina, db, body):
    sign_in_client(client, factory, amina)
    assert post_json(client, "/me/push/subscribe", body).status_code == 422
    assert rows(db) == []


def test_a_huge_body_is_413(client, factory, amina):
    sign_in_client(client, factory, amina)
    assert post_json(client, "/me/push/subscribe", json.dumps({"x": "a" * 20000}).encode()).status_code == 413


def test_known_push_services_are_accepted_and_loopback_only_without_https():
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx-abc",
        "https://wns2-db5p.notify.windows.com/w/?token=abc",
    ):
        assert pwa.push_service_allowed(endpoint, allow_loopback=False), endpoint
    assert pwa.push_service_allowed("http://127.0.0.1:8123/push/x", allow_loopback=True)
    assert not pwa.push_service_allowed("http://127.0.0.1:8123/push/x", allow_loopback=False)
    assert not pwa.push_service_allowed("https://fcm.googleapis.com.evil.example/x", allow_loopback=False)
    assert not pwa.push_service_allowed("https://notify.windows.com.example.org/x", allow_loopback=False)


def test_the_cache_key_is_opaque_and_per_client(settings):
    a, b = uuid.uuid4(), uuid.uuid4()
    assert re.fullmatch(r"[0-9a-f]{32}", pwa.cache_key(settings, a))
    assert pwa.cache_key(settings, a) == pwa.cache_key(settings, a) != pwa.cache_key(settings, b)
    assert a.hex not in pwa.cache_key(settings, a)


# --- unsubscribing ----------------------------------------------------------------------------------


def test_unsubscribing_removes_only_the_clients_own_row(
    client, factory, amina, other, db, push_service, settings
):
    mine = push_service.subscribe(settings.vapid_public_key)
    theirs = push_service.subscribe(settings.vapid_public_key)
    db.add(
        PushSubscription(client_id=other.id, endpoint=theirs.endpoint, p256dh=theirs.p256dh, auth=theirs.auth)
    )
    db.commit()
    sign_in_client(client, factory, amina)
    post_json(client, "/me/push/subscribe", subscription_json(mine))

    refused = post_json(client, "/me/push/unsubscribe", {"endpoint": theirs.endpoint})
    assert refused.status_code == 404  # the same answer as for an endpoint nobody has
    assert (
        post_json(client, "/me/push/unsubscribe", {"endpoint": "https://fcm.googleapis.com/x"}).status_code
        == 404
    )
    assert {r.endpoint for r in rows(db)} == {mine.endpoint, theirs.endpoint}

    done = post_json(client, "/me/push/unsubscribe", {"endpoint": mine.endpoint})
    assert done.status_code == 200 and done.json() == {"subscribed": False}
    assert [(r.endpoint, r.client_id) for r in rows(db)] == [(theirs.endpoint, other.id)]
    deleted = db.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "push_subscription", AuditEvent.action == "delete")
    )
    assert deleted is not None and deleted.client_id == amina.id and deleted.fields == ["endpoint"]


def test_unsubscribing_needs_a_session_and_the_csrf_token(client, factory, amina, db, push_service, settings):
    keys = push_service.subscribe(settings.vapid_public_key)
    db.add(PushSubscription(client_id=amina.id, endpoint=keys.endpoint, p256dh=keys.p256dh, auth=keys.auth))
    db.commit()
    assert post_json(client, "/me/push/unsubscribe", {"endpoint": keys.endpoint}).status_code == 401
    sign_in_client(client, factory, amina)
    assert (
        post_json(client, "/me/push/unsubscribe", {"endpoint": keys.endpoint}, csrf=False).status_code == 403
    )
    assert post_json(client, "/me/push/unsubscribe", [keys.endpoint]).status_code == 404
    assert len(rows(db)) == 1


# --- end to end -------------------------------------------------------------------------------------


def officer_writes(client: Any, officer: Staff, person: Client) -> None:
    """A new thread, as the officer writes it in the back office (the same test client: two cookies)."""
    sign_in(client, officer)
    token = csrf_token(client)
    response = client.post(
        f"/officer/clients/{person.id}/threads",
        data={"_csrf_token": token, "subject": SUBJECT, "body": BODY, "language": "fi"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_a_new_message_reaches_the_subscribed_browser_without_personal_data(
    client, factory, amina, officer, db, push_service, settings
):
    sign_in_client(client, factory, amina)
    keys = push_service.subscribe(settings.vapid_public_key)  # the key the page subscribes with
    assert post_json(client, "/me/push/subscribe", subscription_json(keys)).status_code == 200

    officer_writes(client, officer, amina)
    [queued] = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == Channel.PUSH)).all()
    assert queued.client_id == amina.id
    counts = deliver(settings)
    assert counts.delivered == 1, counts

    assert push_service.rejected == []  # the VAPID signature, key, audience and expiry all held
    [received] = push_service.received
    assert received.endpoint == keys.endpoint
    assert received.claims["sub"] == settings.vapid_subject and received.claims["aud"] == push_service.origin
    assert received.ttl > 0
    assert received.payload == {
        "title": "Kotopolku",
        "body": short_text(NotificationKind.NEW_MESSAGE, "fi").body,
        "url": "/me/messages",
        "tag": "new_message",
    }
    assert personal_data_in(json.dumps(received.payload, ensure_ascii=False)) == []


@pytest.mark.parametrize("status", [410, 404])
def test_a_subscription_the_push_service_calls_gone_is_removed(
    client, factory, amina, officer, db, push_service, settings, status
):
    sign_in_client(client, factory, amina)
    keys = push_service.subscribe(settings.vapid_public_key)
    post_json(client, "/me/push/subscribe", subscription_json(keys))
    officer_writes(client, officer, amina)
    deliver(settings)
    assert len(push_service.received) == 1

    if status == 410:
        push_service.subscriptions[keys.token].expired = True
    else:
        push_service.subscriptions[keys.token].answer = 404
    officer_writes(client, officer, amina)
    deliver(settings)
    assert [r.status for r in push_service.rejected] == [status]
    assert rows(db) == []  # removed by the send that was refused
    failed = db.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)).all()
    assert len(failed) == 1
