"""The second factor after an officer's password (ASVS 6.3.2): an authenticator app (TOTP, RFC 6238) or a
passkey; required before anything but the profile when the organisation asks for it (the default)."""

import re
import time
from dataclasses import replace

import pyotp
import pytest
from sqlalchemy import select

from app.db.audit import AuditEvent
from app.db.auth import Passkey, StaffSession, StaffTotp
from app.db.organisation import Role
from app.main import create_app
from tests.conftest import BASE_URL, PASSWORD, AppTestClient, post, sign_in
from tests.integration.test_passkeys import passkey_sign_in, register
from tests.soft_authenticator import SoftAuthenticator


@pytest.fixture
def required(settings):
    return replace(settings, staff_second_factor=True)


@pytest.fixture
def browser(required):
    """The back office with the second factor required (its own app: the setting is the app's)."""
    with AppTestClient(create_app(required), base_url=BASE_URL) as other:
        other.headers["Accept-Language"] = "en"
        yield other


@pytest.fixture
def officer(factory):
    return factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)


def set_up_app(browser) -> pyotp.TOTP:
    """Through the profile, as an officer does: the password again, the key from the page, a first code."""
    started = post(browser, "/officer/profile/totp/start", {"totp_password": PASSWORD})
    assert started.status_code == 303
    page = browser.get("/officer/profile").text
    key = re.search(r'<code class="secret" dir="ltr">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert "<svg" in page, "the QR code is on the page"
    app = pyotp.TOTP(key)
    confirmed = post(browser, "/officer/profile/totp/confirm", {"code": app.now()})
    assert confirmed.status_code == 303
    return app


def next_code(app: pyotp.TOTP) -> str:
    """The code of the next time step: accepted now (one step of clock drift is allowed either way) and
    later than the one just used (each step's code is accepted once)."""
    return app.at(int(time.time()) + 30)


def test_with_the_second_factor_required_a_password_alone_reaches_only_the_profile(browser, officer, db):
    sign_in(browser, officer)
    for path in ("/officer/", "/officer/clients"):
        response = browser.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/officer/profile#second-factor")
    assert "Set up an authenticator app or add a passkey" in browser.get("/officer/profile").text

    set_up_app(browser)
    # Setting the app up in this session proves it is the person: the session goes on with two factors.
    assert browser.get("/officer/clients", follow_redirects=False).status_code == 200
    assert db.scalar(select(StaffSession.method)) == "password+totp"


def test_sign_in_asks_for_the_code_after_the_password(browser, officer, db):
    sign_in(browser, officer)
    app = set_up_app(browser)
    post(browser, "/officer/sign-out")

    password = post(
        browser,
        "/officer/sign-in",
        {"email": officer.email, "password": PASSWORD, "next": "/officer/clients"},
    )
    assert password.status_code == 302
    assert password.headers["location"] == "/officer/sign-in/code?next=%2Fofficer%2Fclients"
    waiting = browser.get("/officer/clients", follow_redirects=False)
    assert waiting.headers["location"] == "/officer/sign-in/code", "nothing before the code"

    wrong = post(browser, "/officer/sign-in/code", {"code": "000000", "next": "/officer/clients"})
    assert wrong.status_code == 422
    assert "The code is wrong or was used already." in wrong.text

    right = post(browser, "/officer/sign-in/code", {"code": next_code(app), "next": "/officer/clients"})
    assert (right.status_code, right.headers["location"]) == (302, "/officer/clients")
    assert browser.get("/officer/clients", follow_redirects=False).status_code == 200
    assert db.scalar(select(StaffSession.method)) == "password+totp"


def test_a_code_works_once(browser, officer, db, required):
    sign_in(browser, officer)
    app = set_up_app(browser)
    code = next_code(app)
    post(browser, "/officer/sign-out")
    sign_in(browser, officer)
    assert post(browser, "/officer/sign-in/code", {"code": code}).status_code == 302
    post(browser, "/officer/sign-out")
    sign_in(browser, officer)
    replayed = post(browser, "/officer/sign-in/code", {"code": code})
    assert replayed.status_code == 422


def test_wrong_codes_count_towards_the_sign_in_limit(browser, officer, required):
    sign_in(browser, officer)
    set_up_app(browser)
    post(browser, "/officer/sign-out")
    sign_in(browser, officer)
    for _attempt in range(required.sign_in_max_failures_per_account):
        assert post(browser, "/officer/sign-in/code", {"code": "123456"}).status_code == 422
    limited = post(browser, "/officer/sign-in/code", {"code": "123456"})
    assert limited.status_code == 429 and "Retry-After" in limited.headers


def test_the_step_between_password_and_code_lasts_five_minutes(browser, officer, db):
    sign_in(browser, officer)
    set_up_app(browser)
    post(browser, "/officer/sign-out")
    sign_in(browser, officer)
    pending = db.scalars(select(StaffSession)).one()
    assert pending.method == "pending-totp"
    assert (pending.expires_at - pending.created_at).total_seconds() <= 5 * 60


def test_the_secret_is_stored_encrypted_and_removing_the_app_needs_the_password(
    browser, officer, db, required
):
    sign_in(browser, officer)
    app = set_up_app(browser)
    row = db.scalars(select(StaffTotp)).one()
    assert app.secret not in row.secret and row.confirmed_at is not None
    refused = post(browser, "/officer/profile/totp/remove", {"totp_password": "not the password"})
    assert refused.status_code == 422 and "The password is wrong." in refused.text
    assert post(browser, "/officer/profile/totp/remove", {"totp_password": PASSWORD}).status_code == 303
    db.expire_all()
    assert db.scalars(select(StaffTotp)).first() is None


def test_an_administrators_reset_removes_the_app_and_the_passkeys_when_chosen(
    client, factory, officer, db, settings
):
    with AppTestClient(create_app(settings), base_url=BASE_URL) as own:
        sign_in(own, officer)
        set_up_app(own)
        assert register(own, SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")).status_code == 201
    admin = factory.staff(db.get(type(officer), officer.id).organisation, Role.ADMINISTRATOR)
    sign_in(client, admin)
    reset = f"/officer/admin/staff/{officer.id}/reset-password"
    assert post(client, reset).status_code == 200
    assert db.scalars(select(StaffTotp)).first() is None
    assert db.scalars(select(Passkey)).first() is not None, "passkeys stay unless the administrator chooses"
    assert post(client, reset, {"remove_passkeys": "on"}).status_code == 200
    assert db.scalars(select(Passkey)).first() is None
    fields = db.scalars(
        select(AuditEvent.fields).where(AuditEvent.object_type == "staff", AuditEvent.actor_id == admin.id)
    ).all()
    assert sorted(sorted(f) for f in fields) == [["passkeys", "password"], ["password", "totp"]]


def test_a_passkey_is_the_second_factor_too(browser, officer, db):
    sign_in(browser, officer)
    key = SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")
    assert register(browser, key).status_code == 201
    assert browser.get("/officer/clients", follow_redirects=False).status_code == 200
    assert db.scalar(select(StaffSession.method)) == "password+passkey"
    post(browser, "/officer/sign-out")
    response, _assertion = passkey_sign_in(browser, key)
    assert response.status_code == 201
    assert browser.get("/officer/clients", follow_redirects=False).status_code == 200, (
        "no code after a passkey"
    )
