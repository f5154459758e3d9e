"""Staff passkeys verified with py_webauthn against a software authenticator: registration, sign-in,
user verification required, single-use and expiring challenges."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.db.auth import Passkey, WebAuthnChallenge
from app.db.base import utcnow
from app.db.organisation import Role
from app.main import create_app
from tests.conftest import BASE_URL, PASSWORD, AppTestClient, post, sign_in
from tests.soft_authenticator import SoftAuthenticator


def json_post(client, url, body=None):
    headers = {"x-csrftoken": client.cookies["kp_csrf"], "accept": "application/json"}
    return client.post(url, json=body if body is not None else {}, headers=headers)


def register(client, authenticator, name="Work laptop"):
    options = json_post(client, "/officer/profile/passkeys/options", {"password": PASSWORD}).json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    return json_post(
        client, "/officer/profile/passkeys", {"credential": authenticator.create(options), "name": name}
    )


def passkey_sign_in(client, authenticator):
    options = json_post(client, "/officer/sign-in/passkey/options").json()
    assertion = authenticator.get(options)
    return json_post(client, "/officer/sign-in/passkey", assertion), assertion


@pytest.fixture
def officer(client, factory):
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


def test_register_then_sign_in_with_the_passkey(client, officer, db):
    key = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")
    assert register(client, key).json() == {"redirect": "/officer/profile?done=passkey#passkeys"}
    assert db.scalar(select(Passkey.name).where(Passkey.staff_id == officer.id)) == "Work laptop"
    post(client, "/officer/sign-out")
    assert client.get("/officer/", follow_redirects=False).status_code == 302

    response, _ = passkey_sign_in(client, key)
    assert response.status_code == 201
    assert response.json() == {"redirect": "/officer/"}
    assert client.get("/officer/").status_code == 200


def test_a_replayed_assertion_is_refused(client, officer):
    key = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")
    register(client, key)
    post(client, "/officer/sign-out")
    first, assertion = passkey_sign_in(client, key)
    assert first.status_code == 201
    post(client, "/officer/sign-out")
    replay = json_post(client, "/officer/sign-in/passkey", assertion)
    assert replay.status_code == 401


def test_user_verification_is_required(client, officer):
    key = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local", user_verified=False)
    assert register(client, key).status_code == 400


def test_an_expired_challenge_is_refused(client, officer, db):
    key = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")
    register(client, key)
    post(client, "/officer/sign-out")
    options = json_post(client, "/officer/sign-in/passkey/options").json()
    db.execute(update(WebAuthnChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert json_post(client, "/officer/sign-in/passkey", key.get(options)).status_code == 401


def test_a_response_for_another_site_is_refused(client, officer):
    key = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")
    register(client, key)
    post(client, "/officer/sign-out")
    phishing = SoftAuthenticator(
        origin="https://kotopolku.evil.example",
        rp_id="testserver.local",
        key=key.key,
        credential_id=key.credential_id,
        user_handle=key.user_handle,
    )
    response, _ = passkey_sign_in(client, phishing)
    assert response.status_code == 401


def test_removing_a_passkey(client, officer, db):
    key = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")
    register(client, key)
    passkey_id = db.scalar(select(Passkey.id))
    # The password again first (ASVS 7.5.1): a wrong one removes nothing and keeps the choice.
    refused = post(client, "/officer/profile/passkeys/remove?lang=en",
                   {"passkey": str(passkey_id), "passkey_password": "wrong"})  # fmt: skip
    assert refused.status_code == 422 and "The password is wrong." in refused.text
    assert f'value="{passkey_id}" checked' in refused.text
    assert db.scalar(select(Passkey.id)) == passkey_id
    removed = post(
        client, "/officer/profile/passkeys/remove", {"passkey": str(passkey_id), "passkey_password": PASSWORD}
    )
    assert removed.status_code == 303
    assert db.scalar(select(Passkey)) is None
    post(client, "/officer/sign-out")
    response, _ = passkey_sign_in(client, key)
    assert response.status_code == 401


def test_failed_passkey_sign_ins_are_rate_limited_per_address(client, factory):
    client.get("/officer/sign-in")
    forged = {"rawId": "AAAA", "response": {"clientDataJSON": "e30"}}  # "{}": no challenge at all
    for _ in range(30):
        assert json_post(client, "/officer/sign-in/passkey", forged).status_code == 401
    limited = json_post(client, "/officer/sign-in/passkey/options")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


def test_adding_a_passkey_needs_the_password_again(client, officer, db):
    """ASVS 7.5.1: a session left open is not enough to add a way in."""
    client.headers["Accept-Language"] = "en"
    for body in ({}, {"password": "not the password"}):
        refused = json_post(client, "/officer/profile/passkeys/options", body)
        assert refused.status_code == 422
        assert refused.json() == {"error": "The password is wrong."}
    assert db.scalar(select(WebAuthnChallenge.challenge)) is None


def test_removing_a_lost_passkey_can_sign_out_the_other_sessions(client, officer, db, settings):
    """ASVS 7.4.3: after removing a factor (a lost or stolen device), the person chooses whether their
    other sessions end; the box is ticked by default and an untick is kept when the password is wrong."""
    with AppTestClient(create_app(settings), base_url=BASE_URL) as elsewhere:
        first, second = (SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local") for _ in range(2))
        register(client, first, "Lost phone")
        register(client, second, "Laptop")
        elsewhere.get("/officer/sign-in")
        assert passkey_sign_in(elsewhere, second)[0].status_code == 201  # signed in on another computer
        lost, kept = db.scalars(select(Passkey.id).order_by(Passkey.created_at)).all()
        page = client.get("/officer/profile?lang=en").text
        assert 'id="passkey_end_sessions" name="passkey_end_sessions" type="checkbox" checked' in page
        refused = post(
            client, "/officer/profile/passkeys/remove", {"passkey": str(lost), "passkey_password": "wrong"}
        )
        assert 'name="passkey_end_sessions" type="checkbox" checked' not in refused.text  # the untick is kept
        post(client, "/officer/profile/passkeys/remove",
             {"passkey": str(lost), "passkey_password": PASSWORD})  # fmt: skip
        assert elsewhere.get("/officer/", follow_redirects=False).status_code == 200  # not ticked: kept
        post(client, "/officer/profile/passkeys/remove",
             {"passkey": str(kept), "passkey_password": PASSWORD, "passkey_end_sessions": "on"})  # fmt: skip
        assert elsewhere.get("/officer/", follow_redirects=False).status_code == 302  # ticked: signed out
        assert client.get("/officer/", follow_redirects=False).status_code == 200  # this session stays
