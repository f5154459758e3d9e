"""The migrant app's enrolment and sign-in (service 14) through HTTP: invitations (QR link and short code,
single use, 7 days, revocable, a new one revokes the old), passkeys verified with py_webauthn against a
software authenticator, sign-in and sign-out, settings, and the officer's recovery path."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.client import ClientStatus
from app.db.client_app import ClientInvitation, ClientPasskey, ClientSession, ClientWebAuthnChallenge
from app.db.organisation import Role
from app.domain import auth, invitations
from app.main import create_app
from tests.conftest import BASE_URL, AppTestClient, Factory, post, sign_in, sign_in_client
from tests.soft_authenticator import SoftAuthenticator

RP_ID = "testserver.local"
NOT_VALID = "This invitation code does not work"


def json_post(client, url, body=None):
    if "kp_csrf" not in client.cookies:
        client.get("/me/sign-in?lang=en")
    headers = {"x-csrftoken": client.cookies["kp_csrf"], "accept": "application/json"}
    return client.post(url, json=body if body is not None else {}, headers=headers)


def authenticator(**kwargs) -> SoftAuthenticator:
    return SoftAuthenticator(origin=BASE_URL, rp_id=RP_ID, **kwargs)


@pytest.fixture
def home(factory: Factory):
    return factory.organisation("Kotikunta")


@pytest.fixture
def officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    client.get("/officer/?lang=en")
    return person


@pytest.fixture
def person(factory, home):
    return factory.client(home, first_names="Amina Sara", last_name="Hassan", mother_tongue="ar")


def invite(client, person) -> tuple[str, str]:
    """The officer creates an invitation; (token, short code) as read from the page shown once."""
    response = post(client, f"/officer/clients/{person.id}/invitations")
    assert response.status_code == 201, response.text
    assert response.headers["hx-push-url"] == "false"
    url = re.search(r'id="join-url">([^<]+)<', response.text).group(1)
    code = re.search(r'id="short-code">([^<]+)<', response.text).group(1)
    assert url.startswith(f"{BASE_URL}/me/join/")
    return url.rsplit("/", 1)[1], code


def as_phone(client):
    """The same test client, now as the client's phone (no officer session needed any more)."""
    client.cookies.clear()
    client.get("/me/sign-in?lang=en")
    return client


def enrol(client, key: SoftAuthenticator, language: str = "en"):
    """After the invitation: choose a language, create a passkey. Returns the final response."""
    page = client.get("/me/enrol")
    assert page.status_code == 200, page.text
    chosen = post(client, "/me/enrol/language", {"language": language})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/me/enrol/passkey"
    assert client.get("/me/enrol/passkey").status_code == 200
    options = json_post(client, "/me/enrol/passkey/options").json()
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    return json_post(client, "/me/enrol/passkey", {"credential": key.create(options), "name": ""})


def test_an_invitation_stores_only_hashes_and_is_shown_once_with_a_qr_code(
    client, officer, person, db, settings
):
    response = post(client, f"/officer/clients/{person.id}/invitations")
    assert response.status_code == 201
    assert "<svg" in response.text and 'class="qr"' in response.text
    token, code = invite(client, person)  # a second one: the first is revoked
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}", code)
    assert not set(code.replace("-", "")) & set("01258BILOSZUV")
    rows = db.scalars(select(ClientInvitation).order_by(ClientInvitation.created_at)).all()
    assert len(rows) == 2 and rows[0].revoked_at is not None and rows[1].revoked_at is None
    newest = rows[1]
    assert newest.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # The short code (≈ 41 bits) is stored like a password: argon2id with a salt of its own (ASVS 6.5.2),
    # found by a keyed hash of its first group only.
    raw = code.replace("-", "")
    assert newest.short_code_hash.startswith("$argon2id$") and raw not in newest.short_code_hash
    assert auth.verify_password(settings, newest.short_code_hash, raw)
    assert newest.short_code_lookup == invitations.code_lookup(settings, raw[:3] + "AAAAAA")
    assert newest.short_code_hash != auth.hash_password(settings, raw)  # salted: the same code hashes anew
    assert newest.expires_at - newest.created_at == timedelta(days=7)
    # The page shows instructions in the client's language (Arabic, the mother tongue) as well.
    assert 'lang="ar"' in response.text
    # No secret in the audit log: field names only.
    events = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "client_invitation")).all()
    assert {e.action for e in events} == {"create", "update"}
    for event in events:
        assert token not in str(event.fields) and code not in str(event.fields)
    # The officer sees the invitations and their states.
    page = client.get(f"/officer/clients/{person.id}/app-access")
    assert page.status_code == 200
    assert "Cancelled" in page.text and "Open" in page.text


def test_enrolment_with_the_qr_link_uses_the_invitation_once(client, officer, person, db):
    token, code = invite(client, person)
    phone = as_phone(client)
    joined = phone.get(f"/me/join/{token}", follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == "/me/enrol"
    cookie = joined.headers["set-cookie"]
    assert "kp_enrol=" in cookie and "HttpOnly" in cookie and token not in cookie
    key = authenticator()
    response = enrol(phone, key, "ar")
    assert response.status_code == 201, response.text
    assert response.json() == {"redirect": "/me/"}
    assert "kp_me" in phone.cookies
    db.expire_all()
    assert db.get(type(person), person.id).preferred_locale == "ar"
    passkey = db.scalar(select(ClientPasskey))
    assert passkey.client_id == person.id and passkey.credential_id == key.credential_id
    invitation = db.scalar(select(ClientInvitation))
    assert invitation.used_at is not None
    assert db.scalar(select(ClientSession.client_id)) == person.id
    assert phone.get("/me/settings?lang=en").status_code == 200

    # Used: the link and the code no longer work, with the one message that reveals nothing.
    other = as_phone(client)
    again = other.get(f"/me/join/{token}?lang=en", follow_redirects=False)
    assert again.status_code == 404 and NOT_VALID in again.text
    typed = post(other, "/me/sign-in/code?lang=en", {"code": code})
    assert typed.status_code == 422 and NOT_VALID in typed.text
    # The enrolment cookie of a used invitation leads nowhere either.
    assert other.get("/me/enrol?lang=en").status_code == 404


def test_the_short_code_is_case_and_separator_insensitive(client, officer, person):
    _token, code = invite(client, person)
    assert invitations.normalise_code(" " + code.lower().replace("-", " ") + " ") == code.replace("-", "")
    assert invitations.normalise_code(code.replace("-", "")) == code.replace("-", "")
    assert invitations.normalise_code(code[:-1]) is None
    assert invitations.normalise_code("O0O-000-000") is None
    # The sign-in page's example is a code that could be given (an example with a "2" misled).
    example = re.search(r"For example ([A-Z0-9-]+)\.", as_phone(client).get("/me/sign-in?lang=en").text)
    assert example and invitations.normalise_code(example.group(1))
    phone = as_phone(client)
    response = post(phone, "/me/sign-in/code", {"code": code.lower().replace("-", " ")})
    assert response.status_code == 303 and response.headers["location"] == "/me/enrol"
    assert enrol(phone, authenticator()).status_code == 201


def test_codes_that_share_a_first_group_each_find_their_own_invitation(
    client, officer, person, factory, home, db, settings, monkeypatch
):
    """The first group only says where to look: the whole code is checked against each open invitation
    there, and an invitation made before codes were stored so works by its QR link alone."""
    other = factory.client(home, first_names="Omar", last_name="Hassan")
    codes = iter(["K7M-43Q-9TX", "K7M-AAA-CCC"])
    monkeypatch.setattr(invitations, "new_short_code", lambda: next(codes))
    _token, first = invite(client, person)
    old_token, second = invite(client, other)
    ids = {row.client_id: row.id for row in db.scalars(select(ClientInvitation))}
    for code, client_id in ((first, person.id), (second, other.id)):
        phone = as_phone(client)
        response = post(phone, "/me/sign-in/code?lang=en", {"code": code})
        assert response.status_code == 303, code
        assert invitations.read_enrol_ticket(settings, phone.cookies.get("kp_enrol")) == ids[client_id]
    phone = as_phone(client)
    assert post(phone, "/me/sign-in/code?lang=en", {"code": "K7M-43Q-9TA"}).status_code == 422
    # Made before this version: its code no longer works (nothing to check it against), its link does.
    db.execute(
        update(ClientInvitation)
        .where(ClientInvitation.id == ids[other.id])
        .values(short_code_lookup=None, short_code_hash=None)
    )
    db.commit()
    phone = as_phone(client)
    assert post(phone, "/me/sign-in/code?lang=en", {"code": second}).status_code == 422
    assert phone.get(f"/me/join/{old_token}", follow_redirects=False).status_code == 303


def test_an_expired_invitation_does_not_work(client, officer, person, db):
    token, code = invite(client, person)
    db.execute(update(ClientInvitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    phone = as_phone(client)
    assert NOT_VALID in phone.get(f"/me/join/{token}?lang=en").text
    typed = post(phone, "/me/sign-in/code?lang=en", {"code": code})
    assert typed.status_code == 422 and NOT_VALID in typed.text and code in typed.text  # input kept


def test_seven_days_is_the_limit(client, officer, person, db):
    token, _code = invite(client, person)
    db.execute(update(ClientInvitation).values(expires_at=utcnow() + timedelta(minutes=1)))
    db.commit()
    assert as_phone(client).get(f"/me/join/{token}", follow_redirects=False).status_code == 303


def test_a_revoked_invitation_and_an_invitation_replaced_by_a_new_one_do_not_work(
    client, officer, person, db
):
    first_token, first_code = invite(client, person)
    second_token, second_code = invite(client, person)
    second = db.scalar(select(ClientInvitation).where(ClientInvitation.revoked_at.is_(None)))
    response = post(client, f"/officer/clients/{person.id}/invitations/{second.id}/revoke")
    assert response.status_code == 303
    db.expire_all()
    assert db.get(ClientInvitation, second.id).revoked_at is not None
    phone = as_phone(client)
    for code in (first_code, second_code):
        assert post(phone, "/me/sign-in/code?lang=en", {"code": code}).status_code == 422
    for token in (first_token, second_token):
        assert phone.get(f"/me/join/{token}", follow_redirects=False).status_code == 404


def test_a_started_enrolment_stops_when_the_invitation_is_revoked(client, officer, person, db):
    token, _code = invite(client, person)
    invitation_id = db.scalar(select(ClientInvitation.id))
    phone = client  # the officer's cookies stay alongside the phone's
    phone.get(f"/me/join/{token}", follow_redirects=False)
    options = json_post(phone, "/me/enrol/passkey/options").json()
    post(client, f"/officer/clients/{person.id}/invitations/{invitation_id}/revoke")
    response = json_post(phone, "/me/enrol/passkey", {"credential": authenticator().create(options)})
    assert response.status_code == 400
    assert db.scalar(select(ClientPasskey)) is None


def test_failed_codes_are_rate_limited_per_address(client, person, settings):
    phone = as_phone(client)
    for _ in range(settings.sign_in_max_failures_per_address):
        assert post(phone, "/me/sign-in/code", {"code": "AAA-AAA-AAA"}).status_code == 422
    limited = post(phone, "/me/sign-in/code?lang=en", {"code": "AAA-AAA-AAA"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert phone.get("/me/join/whatever", follow_redirects=False).status_code == 429
    assert json_post(phone, "/me/sign-in/passkey/options").status_code == 429


def test_user_verification_is_required_and_a_failure_leaves_the_invitation_open(client, officer, person, db):
    token, _code = invite(client, person)
    phone = as_phone(client)
    phone.get(f"/me/join/{token}", follow_redirects=False)
    assert enrol(phone, authenticator(user_verified=False)).status_code == 400
    assert db.scalar(select(ClientInvitation.used_at)) is None
    assert db.scalar(select(ClientPasskey)) is None
    assert enrol(phone, authenticator()).status_code == 201


def test_a_forged_enrolment_cookie_is_refused(client, person):
    phone = as_phone(client)
    phone.cookies.set("kp_enrol", "0" * 32 + ".9999999999.deadbeef")
    assert phone.get("/me/enrol?lang=en").status_code == 404
    assert json_post(phone, "/me/enrol/passkey/options").status_code == 404


def test_an_ended_client_cannot_enrol(client, officer, person, db):
    token, _code = invite(client, person)
    db.execute(update(type(person)).where(type(person).id == person.id).values(status=ClientStatus.ENDED))
    db.commit()
    assert as_phone(client).get(f"/me/join/{token}", follow_redirects=False).status_code == 404


def test_sign_in_with_the_passkey_and_sign_out(client, officer, person, db):
    token, _code = invite(client, person)
    phone = as_phone(client)
    phone.get(f"/me/join/{token}", follow_redirects=False)
    key = authenticator()
    assert enrol(phone, key).status_code == 201

    out = post(phone, "/me/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/me/sign-in"
    assert out.headers["clear-site-data"] == '"cache", "storage"'
    assert 'kp_me=""' in out.headers["set-cookie"] or "kp_me=;" in out.headers["set-cookie"]
    assert db.scalar(select(ClientSession)) is None
    assert phone.get("/me/settings", follow_redirects=False).headers["location"] == "/me/sign-in"

    options = json_post(phone, "/me/sign-in/passkey/options").json()
    assert options["userVerification"] == "required"
    assert options.get("allowCredentials", []) == []  # discoverable: the phone offers its passkey
    assertion = key.get(options)
    response = json_post(phone, "/me/sign-in/passkey", assertion)
    assert response.status_code == 201 and response.json() == {"redirect": "/me/"}
    session = db.scalar(select(ClientSession))
    assert session.client_id == person.id
    assert session.expires_at - session.created_at == timedelta(days=30)
    assert db.scalar(select(ClientPasskey.last_used_at)) is not None
    # A replayed assertion finds no challenge.
    post(phone, "/me/sign-out")
    assert json_post(phone, "/me/sign-in/passkey", assertion).status_code == 401
    # Without user verification: refused.
    unverified = authenticator(key=key.key, credential_id=key.credential_id, user_handle=key.user_handle,
                               user_verified=False)  # fmt: skip
    options = json_post(phone, "/me/sign-in/passkey/options").json()
    assert json_post(phone, "/me/sign-in/passkey", unverified.get(options)).status_code == 401
    kinds = db.scalars(select(AuditEvent.action).where(AuditEvent.actor_kind == "client")).all()
    assert {"sign_in", "sign_out", "passkey_added"} <= set(kinds)


def test_settings_add_and_remove_passkeys_with_a_warning_for_the_last(client, factory, person, db):
    sign_in_client(client, factory, person)
    page = client.get("/me/settings?lang=en")
    assert page.status_code == 200 and "You have no passkey" in page.text
    first, second = authenticator(), authenticator()
    for key, name in ((first, "My phone"), (second, "")):
        options = json_post(client, "/me/settings/passkeys/options").json()
        assert options["authenticatorSelection"]["userVerification"] == "required"
        response = json_post(
            client, "/me/settings/passkeys", {"credential": key.create(options), "name": name}
        )
        assert response.status_code == 201 and response.json() == {"redirect": "/me/settings"}
    # The same passkey cannot be registered twice (the browser also gets it in excludeCredentials).
    options = json_post(client, "/me/settings/passkeys/options").json()
    assert len(options["excludeCredentials"]) == 2
    assert (
        json_post(client, "/me/settings/passkeys", {"credential": first.create(options)}).status_code == 400
    )

    keys = db.scalars(select(ClientPasskey).order_by(ClientPasskey.created_at)).all()
    assert [k.name for k in keys] == ["My phone", "Passkey"]
    page = client.get("/me/settings?lang=en")
    assert "My phone" in page.text
    assert "Added <bdi>" in page.text and "&lt;bdi" not in page.text
    assert post(client, f"/me/settings/passkeys/{keys[0].id}/delete").status_code == 303
    last = post(client, f"/me/settings/passkeys/{keys[1].id}/delete?lang=en")
    assert last.status_code == 409 and "new invitation" in last.text
    assert db.scalar(select(ClientPasskey.id)) == keys[1].id
    confirmed = post(client, f"/me/settings/passkeys/{keys[1].id}/delete", {"confirm": "last"})
    assert confirmed.status_code == 303
    assert db.scalar(select(ClientPasskey)) is None


def test_a_client_cannot_remove_another_clients_passkey(client, factory, home, person, db):
    other = factory.client(home, first_names="Other")
    sign_in_client(client, factory, other)
    options = json_post(client, "/me/settings/passkeys/options").json()
    json_post(client, "/me/settings/passkeys", {"credential": authenticator().create(options)})
    theirs = db.scalar(select(ClientPasskey.id))
    client.cookies.clear()
    sign_in_client(client, factory, person)
    assert post(client, f"/me/settings/passkeys/{theirs}/delete", {"confirm": "last"}).status_code == 404
    assert db.scalar(select(ClientPasskey.id)) == theirs


def test_settings_language_is_saved_on_the_profile(client, factory, person, db):
    sign_in_client(client, factory, person)
    client.get("/me/settings")
    response = post(client, "/me/settings/language", {"language": "uk"})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(type(person), person.id).preferred_locale == "uk"
    assert 'lang="uk"' in client.get("/me/settings").text
    assert post(client, "/me/settings/language", {"language": "xx"}).status_code == 422


@pytest.fixture
def phone(settings):
    """A second browser: the client's phone, beside the officer's (its own app instance, so that its
    database pool lives on its own event loop, as asyncpg needs)."""
    with AppTestClient(create_app(settings), base_url=BASE_URL) as test_client:
        test_client.get("/me/sign-in?lang=en")
        yield test_client


def test_revoking_all_passkeys_ends_every_session_and_a_new_invitation_recovers(
    client, officer, person, db, phone
):
    token, _code = invite(client, person)
    phone.get(f"/me/join/{token}", follow_redirects=False)
    assert enrol(phone, authenticator()).status_code == 201
    assert phone.get("/me/settings", follow_redirects=False).status_code == 200
    assert db.scalar(select(ClientSession)) is not None

    page = client.get(f"/officer/clients/{person.id}/app-access?lang=en")
    assert "Passkey" in page.text and "Revoke all passkeys" in page.text
    assert post(client, f"/officer/clients/{person.id}/passkeys/revoke-all").status_code == 303
    assert db.scalar(select(ClientPasskey)) is None
    assert db.scalar(select(ClientSession)) is None
    assert db.scalar(select(ClientWebAuthnChallenge)) is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "passkey_removed"))
    assert event.actor_kind == "staff" and event.client_id == person.id
    assert phone.get("/me/settings", follow_redirects=False).headers["location"] == "/me/sign-in"

    new_token, _new_code = invite(client, person)
    phone.get(f"/me/join/{new_token}", follow_redirects=False)
    assert enrol(phone, authenticator()).status_code == 201


def test_only_officers_who_may_edit_the_client_manage_invitations(client, factory, home, person):
    manager = factory.staff(home, Role.MANAGER)
    sign_in(client, manager)
    assert client.get(f"/officer/clients/{person.id}/app-access").status_code == 200
    assert post(client, f"/officer/clients/{person.id}/invitations").status_code == 403
    assert post(client, f"/officer/clients/{person.id}/passkeys/revoke-all").status_code == 403
    post(client, "/officer/sign-out")
    stranger = factory.staff(factory.organisation("Muu kunta"), Role.INTEGRATION_OFFICER)
    sign_in(client, stranger)
    assert client.get(f"/officer/clients/{person.id}/app-access").status_code == 404
    assert post(client, f"/officer/clients/{person.id}/invitations").status_code == 404


def test_the_sign_in_page_offers_a_passkey_and_the_code(client):
    page = client.get("/me/sign-in?lang=en")
    assert page.status_code == 200
    assert "Sign in with a passkey" in page.text and "I have an invitation code" in page.text
    assert 'data-passkey-verify="/me/sign-in/passkey"' in page.text
