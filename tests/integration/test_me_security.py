"""The migrant app's account security (ASVS 7.5.1, 7.5.2): adding or removing a passkey and signing out
other phones need a recent confirmation with one of the client's own passkeys, and a client sees the
phones they are signed in on and can sign out any of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.client_app import ClientPasskey, ClientSession
from app.db.organisation import Role
from app.domain import client_auth
from app.domain.auth import session_ref
from app.main import create_app
from tests.conftest import BASE_URL, AppTestClient, Factory, post, sign_in, sign_in_client
from tests.integration.test_client_enrolment import as_phone, authenticator, enrol, invite, json_post
from tests.soft_authenticator import SoftAuthenticator, b64url

CONFIRM_FIRST = "first confirm with your passkey that it is you"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131 Mobile"


@pytest.fixture
def home(factory: Factory):
    return factory.organisation("Kotikunta")


@pytest.fixture
def person(factory, home):
    return factory.client(home, first_names="Amina", last_name="Hassan")


def add_passkey(client, key: SoftAuthenticator, name: str = "") -> None:
    options = json_post(client, "/me/settings/passkeys/options").json()
    response = json_post(client, "/me/settings/passkeys", {"credential": key.create(options), "name": name})
    assert response.status_code == 201, response.text


def confirmation_lapses(db) -> None:
    """Every confirmation is older than the lifetime: as if the phone had been left alone for a while."""
    lapsed = utcnow() - client_auth.CONFIRMATION_LIFETIME - timedelta(seconds=1)
    db.execute(update(ClientSession).values(confirmed_at=lapsed))
    db.commit()


def confirm(client, key: SoftAuthenticator):
    options = json_post(client, "/me/settings/confirm/options").json()
    return json_post(client, "/me/settings/confirm", key.get(options))


def test_passkeys_change_only_after_a_recent_confirmation_with_an_own_passkey(client, factory, person, db):
    sign_in_client(client, factory, person)  # a fresh sign-in counts as a confirmation
    first = authenticator()
    add_passkey(client, first, "My phone")
    confirmation_lapses(db)

    page = client.get("/me/settings?lang=en")
    assert "Confirm with my passkey" in page.text
    assert "data-passkey-register" not in page.text and "/delete" not in page.text
    refused = json_post(client, "/me/settings/passkeys/options")
    assert refused.status_code == 403 and CONFIRM_FIRST in refused.json()["error"]
    passkey_id = db.scalar(select(ClientPasskey.id))
    removal = post(client, f"/me/settings/passkeys/{passkey_id}/delete?lang=en", {"confirm": "last"})
    assert removal.status_code == 403 and CONFIRM_FIRST in removal.text
    assert db.scalar(select(ClientPasskey.id)) == passkey_id

    options = json_post(client, "/me/settings/confirm/options").json()
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(first.credential_id)]
    confirmed = json_post(client, "/me/settings/confirm", first.get(options))
    assert confirmed.status_code == 201 and confirmed.json() == {
        "redirect": "/me/settings?done=confirmed#security"
    }
    page = client.get("/me/settings?lang=en")
    assert "You have confirmed that it is you" in page.text and "data-passkey-register" in page.text
    add_passkey(client, authenticator(), "Tablet")
    assert db.scalar(select(ClientPasskey.id).where(ClientPasskey.name == "Tablet")) is not None
    assert post(client, f"/me/settings/passkeys/{passkey_id}/delete").status_code == 303

    events = db.execute(
        select(AuditEvent.action, AuditEvent.fields).where(AuditEvent.client_id == person.id)
    ).all()
    assert ("sign_in", ["confirmation", "passkey"]) in [(a, sorted(f or [])) for a, f in events]


def test_a_confirmation_needs_this_clients_passkey_and_works_once(client, factory, home, person, db):
    stranger = factory.client(home, first_names="Other")
    sign_in_client(client, factory, stranger)
    theirs = authenticator()
    add_passkey(client, theirs)
    client.cookies.clear()
    sign_in_client(client, factory, person)
    mine = authenticator()
    add_passkey(client, mine)
    confirmation_lapses(db)

    options = json_post(client, "/me/settings/confirm/options").json()
    assert json_post(client, "/me/settings/confirm", theirs.get(options)).status_code == 401
    unverified = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local", key=mine.key,
                                   credential_id=mine.credential_id, user_handle=mine.user_handle,
                                   user_verified=False)  # fmt: skip
    options = json_post(client, "/me/settings/confirm/options").json()
    assert json_post(client, "/me/settings/confirm", unverified.get(options)).status_code == 401
    session = db.scalar(select(ClientSession).where(ClientSession.client_id == person.id))
    assert not client_auth.confirmed_recently(session)

    options = json_post(client, "/me/settings/confirm/options").json()
    assertion = mine.get(options)
    assert json_post(client, "/me/settings/confirm", assertion).status_code == 201
    assert (
        json_post(client, "/me/settings/confirm", assertion).status_code == 401
    )  # a replay finds no challenge
    db.refresh(session)
    assert client_auth.confirmed_recently(session)
    failed = db.scalars(
        select(AuditEvent.fields).where(
            AuditEvent.action == "sign_in_failed", AuditEvent.client_id == person.id
        )
    ).all()
    assert len(failed) == 3 and all(sorted(f) == ["confirmation", "passkey"] for f in failed)


def test_without_a_passkey_there_is_nothing_to_confirm_with(client, factory, person, db):
    client.cookies.set("kp_me", factory.client_session(person, confirmed=False))
    answer = json_post(client, "/me/settings/confirm/options")
    assert answer.status_code == 409 and "new invitation" in answer.json()["error"]
    assert json_post(client, "/me/settings/passkeys/options").status_code == 403


@pytest.fixture
def other_phone(settings):
    with AppTestClient(create_app(settings), base_url=BASE_URL) as test_client:
        yield test_client


def test_a_client_sees_their_phones_and_signs_out_another(client, factory, home, person, db, other_phone):
    client.cookies.set("kp_me", factory.client_session(person, device="iPhone"))
    other_phone.cookies.set("kp_me", factory.client_session(person, device="Android"))
    third = factory.client_session(person)
    stranger = factory.client(home, first_names="Other")
    strangers_token = factory.client_session(stranger, device="Windows")
    add_passkey(client, mine := authenticator())

    page = client.get("/me/settings?lang=en")
    assert "Where you are signed in" in page.text
    assert "iPhone</strong> · this phone" in page.text and "Android" in page.text
    assert "A phone or computer" in page.text and "Windows" not in page.text
    assert "Sign out all other phones" in page.text

    confirmation_lapses(db)
    page = client.get("/me/settings?lang=en")
    assert 'name="session"' not in page.text
    refs = db.scalars(select(ClientSession)).all()
    android = next(s for s in refs if s.device == "Android")
    android_ref = session_ref(factory.settings, android)
    refused = post(client, "/me/settings/sessions/end?lang=en", {"session": android_ref})
    assert refused.status_code == 403 and CONFIRM_FIRST in refused.text
    assert other_phone.get("/me/settings", follow_redirects=False).status_code == 200

    assert confirm(client, mine).status_code == 201
    stranger_ref = session_ref(factory.settings, next(s for s in refs if s.client_id == stranger.id))
    assert post(client, "/me/settings/sessions/end", {"session": stranger_ref}).status_code == 303
    assert post(client, "/me/settings/sessions/end?lang=en", {}).status_code == 422
    ended = post(client, "/me/settings/sessions/end", {"session": android_ref})
    assert ended.status_code == 303 and ended.headers["location"] == "/me/settings?done=sessions#signed-in"
    assert other_phone.get("/me/settings", follow_redirects=False).headers["location"] == "/me/sign-in"
    assert client.get("/me/settings", follow_redirects=False).status_code == 200
    db.expire_all()
    devices = {
        s.device for s in db.scalars(select(ClientSession).where(ClientSession.client_id == person.id))
    }
    assert devices == {"iPhone", None}

    assert post(client, "/me/settings/sessions/end", {"all": "1"}).status_code == 303
    db.expire_all()
    left = db.scalars(select(ClientSession.device).where(ClientSession.client_id == person.id)).all()
    assert left == ["iPhone"]
    assert third  # the third phone went with "all"; the other client's session was never touched:
    assert db.scalar(select(ClientSession.client_id).where(ClientSession.device == "Windows")) == stranger.id
    assert strangers_token
    sign_outs = db.scalars(
        select(AuditEvent.fields).where(AuditEvent.action == "sign_out", AuditEvent.client_id == person.id)
    ).all()
    assert sign_outs.count(["client_session"]) == 2


def test_signing_in_names_the_device_and_counts_as_a_confirmation(client, factory, home, person, db):
    sign_in(client, factory.staff(home, Role.INTEGRATION_OFFICER))
    token, _code = invite(client, person)
    phone = as_phone(client)
    phone.headers["user-agent"] = ANDROID
    phone.get(f"/me/join/{token}", follow_redirects=False)
    assert enrol(phone, authenticator()).status_code == 201
    session = db.scalar(select(ClientSession).where(ClientSession.client_id == person.id))
    assert session.device == "Android" and client_auth.confirmed_recently(session)
    page = phone.get("/me/settings?lang=en")
    assert "Android</strong> · this phone" in page.text and "data-passkey-register" in page.text


def test_signing_out_is_one_tap_from_every_signed_in_page(client, factory, person):
    """ASVS 7.4.4: the footer of every signed-in page of the app has the sign-out button."""
    signed_out = client.get("/me/sign-in?lang=en").text
    assert 'action="/me/sign-out"' not in signed_out
    sign_in_client(client, factory, person)
    for path in ("/me/", "/me/plan", "/me/appointments", "/me/messages", "/me/data", "/me/settings"):
        footer = client.get(path).text.split('<footer class="site-footer">', 1)[1]
        assert 'action="/me/sign-out"' in footer, path
