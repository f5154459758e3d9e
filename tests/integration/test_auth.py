"""Officer sign-in through the real endpoints: sessions, rotation, timeouts, rate limit, CSRF, cookies."""

from datetime import timedelta

from sqlalchemy import select, update

from app.db.audit import AuditEvent
from app.db.auth import StaffSession
from app.db.base import utcnow
from app.db.organisation import Role, StaffRole
from app.main import create_app
from tests.conftest import PASSWORD, AppTestClient, post, sign_in


def test_password_sign_in_starts_a_session(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    assert client.get("/officer/", follow_redirects=False).headers["location"] == "/officer/sign-in"
    sign_in(client, officer)
    assert client.get("/officer/").status_code == 200
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "sign_in" in actions


def test_wrong_password_is_refused_and_logged(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    response = post(client, "/officer/sign-in", {"email": officer.email, "password": "wrong password"})
    assert response.status_code == 401
    assert "kp_session" not in response.cookies
    assert officer.email in response.text  # what the user typed stays in the form
    failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).all()
    assert [e.actor_id for e in failed] == [officer.id]


def test_sign_in_is_rate_limited_per_account(client, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    for _ in range(5):
        assert (
            post(client, "/officer/sign-in", {"email": officer.email, "password": "nope"}).status_code == 401
        )
    limited = post(client, "/officer/sign-in", {"email": officer.email, "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


def test_session_is_rotated_at_sign_in(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    first = client.cookies.get("kp_session")
    sign_in(client, officer)
    second = client.cookies.get("kp_session")
    assert first and second and first != second
    assert client.get("/officer/").status_code == 200
    # The old token no longer works, from any browser.
    client.cookies.set("kp_session", first)
    assert client.get("/officer/", follow_redirects=False).status_code == 302
    assert db.scalar(select(StaffSession).where(StaffSession.staff_id == officer.id)) is not None


def test_unknown_session_token_from_the_browser_is_never_adopted(client, factory):
    client.cookies.set("kp_session", "attacker-chosen-value")
    assert client.get("/officer/", follow_redirects=False).status_code == 302
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    response = post(client, "/officer/sign-in", {"email": officer.email, "password": PASSWORD})
    issued = response.cookies["kp_session"]
    assert issued and issued != "attacker-chosen-value"


def test_sign_out_ends_the_session_everywhere(client, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    token = client.cookies.get("kp_session")
    signed_out = post(client, "/officer/sign-out")
    assert signed_out.status_code == 302
    # The browser is told to drop whatever it cached or stored for the site (ASVS 14.3.1).
    assert signed_out.headers["clear-site-data"] == '"cache", "storage"'
    # A copy of the cookie (another tab, a stolen cookie) is no longer accepted either.
    client.cookies.set("kp_session", token)
    assert client.get("/officer/", follow_redirects=False).status_code == 302


def test_idle_timeout_and_absolute_limit(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    db.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.commit()
    assert client.get("/officer/", follow_redirects=False).status_code == 302

    sign_in(client, officer)
    db.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert client.get("/officer/", follow_redirects=False).status_code == 302


def test_revoked_role_takes_effect_on_the_next_request(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    assert client.get("/officer/clients").status_code == 200
    db.query(StaffRole).filter_by(staff_id=officer.id).delete()
    db.commit()
    assert client.get("/officer/clients").status_code == 403


def test_deactivated_account_is_signed_out(client, factory, db):
    from app.db.organisation import Staff

    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    db.execute(update(Staff).where(Staff.id == officer.id).values(active=False))
    db.commit()
    assert client.get("/officer/", follow_redirects=False).status_code == 302
    assert post(client, "/officer/sign-in", {"email": officer.email, "password": PASSWORD}).status_code == 401


def test_state_changing_requests_need_the_csrf_token(client, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    without = client.post("/officer/clients/search", data={"q": "x"})
    assert without.status_code == 403
    forged = client.post("/officer/clients/search", data={"q": "x", "_csrf_token": "0" * 128})
    assert forged.status_code == 403
    # htmx sends the token in a header instead of the body.
    with_header = client.post(
        "/officer/clients/search",
        data={"q": "x"},
        headers={"x-csrftoken": client.cookies["kp_csrf"], "HX-Request": "true"},
    )
    assert with_header.status_code == 200


def test_cookies_are_httponly_samesite_and_secure_over_https(https_settings, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    with AppTestClient(create_app(https_settings), base_url="https://kotopolku.example.fi") as secure:
        page = secure.get("/officer/sign-in")
        csrf_header = page.headers["set-cookie"]
        assert "__Host-kp_csrf=" in csrf_header and "Secure" in csrf_header and "HttpOnly" in csrf_header
        token = secure.cookies["__Host-kp_csrf"]
        response = secure.post(
            "/officer/sign-in",
            data={"email": officer.email, "password": PASSWORD, "_csrf_token": token},
            follow_redirects=False,
        )
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-kp_session=")
        for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
            assert flag in cookie
        assert "max-age=63072000" in response.headers["strict-transport-security"]


def test_plain_http_cookies_are_not_marked_secure(client, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    response = post(client, "/officer/sign-in", {"email": officer.email, "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert "strict-transport-security" not in response.headers


def test_an_expired_session_during_an_htmx_save_keeps_the_page(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    db.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.commit()
    response = post(client, "/officer/clients", {"first_names": "Typed"}, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "hx-redirect" not in response.headers
    assert (
        client.get("/officer/", headers={"HX-Request": "true"}).headers["hx-redirect"] == "/officer/sign-in"
    )


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    asked = client.get("/officer/clients", follow_redirects=False)
    assert asked.headers["location"] == "/officer/sign-in?next=%2Fofficer%2Fclients"
    assert 'name="next" value="/officer/clients"' in client.get(asked.headers["location"]).text
    back = post(
        client, "/officer/sign-in", {"email": officer.email, "password": PASSWORD, "next": "/officer/clients"}
    )
    assert back.headers["location"] == "/officer/clients"
    for hostile in ("https://evil.example/", "//evil.example/officer/", "/officer/..//evil", "/elsewhere"):
        client.cookies.clear()
        response = post(
            client, "/officer/sign-in", {"email": officer.email, "password": PASSWORD, "next": hostile}
        )
        assert response.headers["location"] == "/officer/", hostile
