"""The second factor after an officer's password (ASVS 6.3.2): an authenticator app (TOTP, RFC 6238) or a
passkey; required before anything but the profile when the organisation asks for it (the default)."""

import re
import time
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from app.db.audit import AuditEvent
from app.db.auth import Passkey, StaffSession, StaffTotp
from app.db.base import utcnow
from app.db.organisation import Role
from app.domain import auth
from app.main import create_app
from tests.conftest import BASE_URL, PASSWORD, AppTestClient, post, sign_in
from tests.integration.test_passkeys import passkey_sign_in, register
from tests.soft_authenticator import SoftAuthenticator, b64url


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
    # The session list says how this session was signed in.
    assert "<td>password and app code</td>" in browser.get("/officer/profile").text


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


# --- Password alone is never enough once a person has a second factor ----------------------------------


def json_post(client, url, body=None):
    headers = {"x-csrftoken": client.cookies["kp_csrf"], "accept": "application/json"}
    return client.post(url, json=body if body is not None else {}, headers=headers, follow_redirects=False)


def second_step_with_passkey(client, authenticator, next_path="/officer/"):
    """The second step's "Use your passkey", as the page's script does it: options, then the assertion."""
    options = json_post(client, "/officer/sign-in/code/passkey/options")
    assert options.status_code == 201, options.text
    assertion = authenticator.get(options.json())
    return json_post(client, f"/officer/sign-in/code/passkey?next={next_path}", assertion), options.json()


def new_key() -> SoftAuthenticator:
    return SoftAuthenticator(origin=BASE_URL, rp_id="testserver.local")


@pytest.fixture(params=["required", "not required"])
def any_browser(request, browser, client):
    """Either setting of STAFF_SECOND_FACTOR: a person's own second factor is asked for under both."""
    client.headers["Accept-Language"] = "en"
    return browser if request.param == "required" else client


def test_with_a_passkey_the_password_alone_leads_only_to_the_second_step(any_browser, officer, db):
    """The hole closed: an officer with a passkey and no app used to get a password session, in which the
    profile let them add another passkey or an app with the password alone, and so full access."""
    sign_in(any_browser, officer)
    assert register(any_browser, new_key()).status_code == 201
    post(any_browser, "/officer/sign-out")

    password = post(any_browser, "/officer/sign-in", {"email": officer.email, "password": PASSWORD})
    assert password.headers["location"] == "/officer/sign-in/code?next=%2Fofficer%2F"
    assert db.scalar(select(StaffSession.method)) == "pending-totp"
    for path in ("/officer/", "/officer/clients", "/officer/profile"):
        waiting = any_browser.get(path, follow_redirects=False)
        assert (waiting.status_code, waiting.headers["location"]) == (303, "/officer/sign-in/code"), path
    # No new way in from the waiting session either: every profile route sends it to the second step.
    for url in ("/officer/profile/passkeys/options", "/officer/profile/passkeys"):
        answer = json_post(any_browser, url, {"password": PASSWORD, "credential": {}})
        assert answer.status_code == 303, url
    for url, body in (
        ("/officer/profile/totp/start", {"totp_password": PASSWORD}),
        ("/officer/profile/recovery-codes", {"recovery_password": PASSWORD}),
    ):
        assert post(any_browser, url, body).headers["location"] == "/officer/sign-in/code", url
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Passkey)) == 1
    assert db.scalars(select(StaffTotp)).first() is None

    page = any_browser.get("/officer/sign-in/code").text
    assert "Use your passkey" in page and 'name="code"' not in page, "only what the person has is offered"


def test_a_password_session_started_before_the_first_factor_adds_no_way_in(client, officer, db, settings):
    """A session started with the password alone (another browser, before the person's first factor) ends
    when the first factor is set up, and one that outlived that (an old session) may add nothing."""
    client.headers["Accept-Language"] = "en"
    with AppTestClient(create_app(settings), base_url=BASE_URL) as other_browser:
        sign_in(other_browser, officer)
        sign_in(client, officer)
        assert register(client, new_key()).status_code == 201
        assert other_browser.get("/officer/profile", follow_redirects=False).status_code == 302, "ended"

    # An old password session (from before this rule), of a person who has a passkey now.
    token = "old-password-session-token"
    now = utcnow()
    db.add(
        StaffSession(
            token_hash=auth.token_hash(token),
            staff_id=officer.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=1),
            method="password",
        )
    )
    db.commit()
    client.cookies.set("kp_session", token)
    refused = json_post(client, "/officer/profile/passkeys/options", {"password": PASSWORD})
    assert refused.status_code == 403 and "Sign out and sign in again" in refused.json()["error"]
    assert json_post(client, "/officer/profile/passkeys", {"credential": {}}).status_code == 403
    assert post(client, "/officer/profile/totp/start", {"totp_password": PASSWORD}).status_code == 403
    assert post(client, "/officer/profile/totp/confirm", {"code": "123456"}).status_code == 403
    assert post(client, "/officer/profile/recovery-codes", {"recovery_password": PASSWORD}).status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Passkey)) == 1
    assert db.scalars(select(StaffTotp)).first() is None
    assert db.scalar(
        select(StaffSession.method).where(StaffSession.token_hash == auth.token_hash(token))
    ) == ("password"), "not upgraded"


def test_the_persons_own_passkey_is_the_second_step(browser, officer, db):
    sign_in(browser, officer)
    key = new_key()
    assert register(browser, key).status_code == 201
    post(browser, "/officer/sign-out")
    password = post(
        browser,
        "/officer/sign-in",
        {"email": officer.email, "password": PASSWORD, "next": "/officer/clients"},
    )
    assert password.headers["location"] == "/officer/sign-in/code?next=%2Fofficer%2Fclients"
    page = browser.get(password.headers["location"]).text
    assert "data-passkey-sign-in" in page
    assert 'data-passkey-verify="/officer/sign-in/code/passkey?next=/officer/clients"' in page

    answer, options = second_step_with_passkey(browser, key, "/officer/clients")
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(key.credential_id)], "theirs only"
    assert options["userVerification"] == "required"
    assert (answer.status_code, answer.json()) == (201, {"redirect": "/officer/clients"})
    assert browser.get("/officer/clients", follow_redirects=False).status_code == 200
    assert db.scalar(select(StaffSession.method)) == "password+passkey"
    sign_ins = db.scalars(
        select(AuditEvent.fields).where(AuditEvent.action == "sign_in", AuditEvent.actor_id == officer.id)
    ).all()
    assert sorted(sign_ins) == [["password"], ["password+passkey"]]


def test_another_persons_passkey_is_refused_as_the_second_step(browser, factory, officer, db, required):
    colleague = factory.staff(db.get(type(officer), officer.id).organisation, Role.INTEGRATION_OFFICER)
    mine, theirs = new_key(), new_key()
    for person, key in ((officer, mine), (colleague, theirs)):
        sign_in(browser, person)
        assert register(browser, key).status_code == 201
        post(browser, "/officer/sign-out")

    sign_in(browser, officer)  # the officer's password, then the colleague's passkey
    answer, _options = second_step_with_passkey(browser, theirs)
    assert answer.status_code == 401
    assert "Use a passkey you have added to your own profile" in answer.json()["error"]
    assert db.scalar(select(StaffSession.method)) == "pending-totp"
    failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).one()
    assert (failed.actor_id, failed.fields) == (officer.id, ["passkey"])
    # Nor does a challenge of the passkey sign-in page (for anyone's passkey) do for the second step.
    first_factor = json_post(browser, "/officer/sign-in/passkey/options").json()
    assert json_post(browser, "/officer/sign-in/code/passkey", mine.get(first_factor)).status_code == 401
    # Wrong answers of every kind count towards the account's limit.
    for _attempt in range(required.sign_in_max_failures_per_account - 2):
        assert second_step_with_passkey(browser, theirs)[0].status_code == 401
    limited = json_post(browser, "/officer/sign-in/code/passkey/options")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in limited.json()["error"]
    page = browser.get("/officer/sign-in/code")
    assert page.status_code == 200
    code = post(browser, "/officer/sign-in/code", {"code": "123456"})
    assert code.status_code == 429 and "Retry-After" in code.headers
    assert db.scalar(select(StaffSession.method)) == "pending-totp"


def test_the_second_step_without_a_waiting_session_is_refused(client, officer):
    client.get("/officer/sign-in")
    assert json_post(client, "/officer/sign-in/code/passkey/options").status_code == 401
    assert json_post(client, "/officer/sign-in/code/passkey", {}).status_code == 401
    assert post(client, "/officer/sign-in/recovery-code", {"recovery_code": "x"}).headers["location"] == (
        "/officer/sign-in"
    )
    sign_in(client, officer)  # a full session (no second factor) is not a waiting one either
    assert json_post(client, "/officer/sign-in/code/passkey/options").status_code == 401
