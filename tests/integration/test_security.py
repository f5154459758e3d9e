"""Security properties through the real endpoints (issue 8): session fixation and server-side sign-out,
CSRF on every state-changing route, rate limits, cookie flags, security headers, personal data kept out of
addresses, no-store on pages with client data, and the upload checker's XML parsing.

Related tests elsewhere (docs/SECURITY.md maps them to OWASP ASVS): test_auth.py (sign-in, rotation,
timeouts, the https cookie names), test_access_matrix.py and test_me_isolation.py (authorisation),
test_api_fuzz.py (the county API against its schema), tests/browser/test_stored_xss.py (stored XSS).
"""

from __future__ import annotations

import io
import logging
import re
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from app import i18n
from app.db.auth import SignInFailure, StaffSession
from app.db.client import Client
from app.db.client_app import ClientSession, Feedback
from app.db.knowledge import GuidanceQuestion
from app.db.organisation import Role
from app.domain import auth, knowledge, knowledge_questions, uploads
from app.main import create_app
from app.web import client_session_cookie, language_cookie, session_cookie
from tests.conftest import BASE_URL, PASSWORD, AppTestClient, csrf_token, post, sign_in, sign_in_client
from tests.integration.test_client_enrolment import authenticator, enrol, invite, json_post
from tests.integration.test_clients import VALID

HTTPS_URL = "https://kotopolku.example.fi"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
SAMPLE = {
    "uuid": "00000000-0000-4000-8000-000000000000",
    "str": "x",
    "int": "1",
    "path": "x",
    "date": "2026-01-05",
}


def count(db, model: Any) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def cookie_header(response: Any, name: str) -> str:
    """The Set-Cookie header that sets `name` (a response may set several)."""
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, (name, response.headers.get_list("set-cookie"))
    return found[-1]


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta")


# --- sessions -------------------------------------------------------------------------------------


def test_an_officer_session_is_never_one_the_browser_had_and_sign_out_kills_it_on_the_server(
    client, factory, db, home
):
    first = factory.staff(home, Role.INTEGRATION_OFFICER)
    second = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, first)
    planted = client.cookies["kp_session"]  # a live session, as if an attacker had put theirs here
    # Signing in again (another person on the same browser) issues a new token and ends the one present.
    sign_in(client, second)
    issued = client.cookies["kp_session"]
    assert issued != planted
    db.expire_all()
    hashes = set(db.scalars(select(StaffSession.token_hash)).all())
    assert auth.token_hash(planted) not in hashes and auth.token_hash(issued) in hashes
    assert planted not in hashes and issued not in hashes  # only hashes are stored
    client.cookies.set("kp_session", planted)
    assert client.get("/officer/", follow_redirects=False).status_code == 302

    client.cookies.set("kp_session", issued)
    assert client.get("/officer/").status_code == 200
    out = post(client, "/officer/sign-out")
    assert out.status_code == 302
    assert re.search(r"kp_session=(\"\"|;)", cookie_header(out, "kp_session"))
    assert count(db, StaffSession) == 0  # gone on the server, not only forgotten by this browser
    client.cookies.set("kp_session", issued)
    assert client.get("/officer/clients", follow_redirects=False).status_code == 302


def test_a_migrant_app_session_is_never_one_the_phone_had_and_sign_out_kills_it_on_the_server(
    client, factory, db, home
):
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    person = factory.client(home, first_names="Amina", last_name="Hassan")
    sign_in(client, officer)
    token, _code = invite(client, person)
    client.cookies.clear()
    client.cookies.set("kp_me", "attacker-chosen-value", domain="testserver.local")
    assert client.get("/me/", follow_redirects=False).headers["location"] == "/me/sign-in"
    client.get("/me/sign-in?lang=en")
    client.get(f"/me/join/{token}", follow_redirects=False)
    key = authenticator()
    assert enrol(client, key).status_code == 201
    enrolled = client.cookies["kp_me"]
    assert enrolled != "attacker-chosen-value"
    assert client.get("/me/").status_code == 200

    # A passkey sign-in on a phone that still holds a (live) session gets a new one, too.
    options = json_post(client, "/me/sign-in/passkey/options").json()
    assert json_post(client, "/me/sign-in/passkey", key.get(options)).status_code == 201
    again = client.cookies["kp_me"]
    assert again != enrolled

    assert post(client, "/me/sign-out").status_code == 303
    db.expire_all()
    assert auth.token_hash(again) not in set(db.scalars(select(ClientSession.token_hash)).all())
    client.cookies.set("kp_me", again)
    assert client.get("/me/", follow_redirects=False).headers["location"] == "/me/sign-in"


# --- CSRF -----------------------------------------------------------------------------------------


def state_changing_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, concrete path) of every unsafe route outside the bearer-token API."""
    found = []
    for route in app.routes:
        for method in sorted(set(getattr(route, "methods", ())) & UNSAFE):
            if route.path.startswith("/api/v1/"):
                continue
            path = PARAMETER.sub(lambda m: SAMPLE[m.group(2)], route.path)
            found.append((method, path))
    return found


def test_every_state_changing_route_refuses_a_request_without_a_valid_csrf_token(app, client):
    routes = state_changing_routes(app)
    assert len(routes) > 150  # officer, /me and public forms; a broken inventory cannot pass
    assert {"/officer/sign-in", "/me/sign-in/code", "/feedback", "/guidance/questions", "/speech"} <= {
        path for _method, path in routes
    }
    foreign_token = csrf_token(client)  # valid, but minted for another browser's cookie
    client.cookies.clear()
    token = csrf_token(client)
    assert foreign_token != token
    accepted = []
    for method, path in routes:
        missing = client.request(method, path, data={"x": "1"}, follow_redirects=False)
        assert missing.status_code == 403, (method, path, missing.status_code)
        wrong = client.request(method, path, data={"_csrf_token": foreign_token}, follow_redirects=False)
        assert wrong.status_code == 403, (method, path, wrong.status_code)
        header = client.request(method, path, headers={"x-csrftoken": foreign_token}, follow_redirects=False)
        assert header.status_code == 403, (method, path, header.status_code)
        # Positive control: the right token passes the CSRF check, so the 403s above were CSRF's. Without a
        # session, the route answers with a sign-in redirect, 401, 404, 422 or its own page — never 403.
        right = client.request(
            method, path, data={"_csrf_token": token}, headers={"accept": "text/html"}, follow_redirects=False
        )
        if right.status_code != 403:
            accepted.append(path)
    assert len(accepted) == len(routes), sorted({p for _m, p in routes} - set(accepted))


def test_a_forged_form_changes_nothing_for_a_signed_in_officer_or_client(client, factory, db, home):
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    fields = {"first_names": "Forged", "last_name": "Person", "known_on": "2026-01-05", "segment": "1"}
    assert client.post("/officer/clients", data=fields, follow_redirects=False).status_code == 403
    assert client.post("/officer/clients", data={**fields, "_csrf_token": "x" * 64}).status_code == 403
    assert db.scalar(select(Client).where(Client.first_names == "Forged")) is None

    person = factory.client(home, first_names="Amina", last_name="Hassan", preferred_locale="fi")
    client.cookies.clear()
    sign_in_client(client, factory, person)
    client.get("/me/")
    assert client.post("/me/settings/language", data={"language": "en"}).status_code == 403
    db.expire_all()
    assert db.get(Client, person.id).preferred_locale == "fi"
    assert post(client, "/me/settings/language", {"language": "en"}).status_code in (302, 303)
    db.expire_all()
    assert db.get(Client, person.id).preferred_locale == "en"  # the control: with the token it saves


def test_the_csrf_cookie_is_httponly_and_samesite_lax(client):
    header = cookie_header(client.get("/"), "kp_csrf")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header


# --- cookie flags ------------------------------------------------------------------------------------


def test_over_https_every_cookie_is_secure_httponly_samesite_and_host_prefixed(https_settings, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    with AppTestClient(create_app(https_settings), base_url=HTTPS_URL) as browser:
        page = browser.get("/?lang=en")
        csrf = cookie_header(page, "__Host-kp_csrf")
        assert '<html lang="en"' in browser.get("/", headers={"accept-language": "fi"}).text  # remembered
        language = cookie_header(page, "__Host-kp_lang")
        token = browser.cookies["__Host-kp_csrf"]
        signed_in = browser.post(
            "/officer/sign-in",
            data={"email": officer.email, "password": PASSWORD, "_csrf_token": token},
            follow_redirects=False,
        )
        assert signed_in.status_code == 302
        session = cookie_header(signed_in, "__Host-kp_session")
        out = browser.post("/me/sign-out", data={"_csrf_token": token}, follow_redirects=False)
        cleared = cookie_header(out, "__Host-kp_me")
    me = client_session_cookie(https_settings, "t").to_header(header="")
    enrol_ticket = session_cookie(https_settings, "t", "kp_enrol", max_age=60).to_header(header="")
    for header in (csrf, session, cleared, me, enrol_ticket, language):
        for flag in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"):
            assert flag in header, (flag, header)
        assert "Domain=" not in header  # __Host- cookies are bound to this host only
    assert me.startswith("__Host-kp_me=") and "Max-Age=2592000" in me  # the phone's 30 days
    assert enrol_ticket.startswith("__Host-kp_enrol=")
    assert "Max-Age" not in session and "expires" not in session.lower()  # ends with the browser


def test_plain_http_cookies_carry_no_secure_flag_or_host_prefix(settings):
    assert "Secure" not in client_session_cookie(settings, "t").to_header(header="")
    assert language_cookie("fi", secure=False).to_header(header="").startswith("kp_lang=")


# --- rate limits -------------------------------------------------------------------------------------


@pytest.fixture
def strict(settings) -> Iterator[TestClient[Litestar]]:
    """The app with low per-address limits: 3 failed sign-ins, 2 anonymous feedbacks."""
    with AppTestClient(
        create_app(replace(settings, sign_in_max_failures_per_address=3, public_feedback_per_address=2)),
        base_url=BASE_URL,
    ) as test_client:
        yield test_client


def test_failed_sign_ins_are_limited_per_address_across_accounts_and_store_no_names(strict, factory, db):
    organisation = factory.organisation()
    victims = [factory.staff(organisation, Role.INTEGRATION_OFFICER) for _ in range(4)]
    for person in victims[:3]:
        strict.cookies.clear()  # a new browser each time: the limit is not a cookie
        wrong = post(strict, "/officer/sign-in", {"email": person.email, "password": "wrong password"})
        assert wrong.status_code == 401
    strict.cookies.clear()
    limited = post(strict, "/officer/sign-in", {"email": victims[3].email, "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "kp_session" not in limited.cookies
    keys = db.scalars(select(SignInFailure.key)).all()
    assert len(keys) == 6  # per account and per address
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)  # keyed hashes, no names or addresses


def test_an_unknown_account_is_answered_and_counted_like_a_known_one(client, factory):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    known = post(client, "/officer/sign-in", {"email": officer.email, "password": "wrong password"})
    unknown = post(client, "/officer/sign-in", {"email": "nobody@example.fi", "password": "wrong password"})
    assert known.status_code == unknown.status_code == 401
    assert known.text.replace(officer.email, "EMAIL") == unknown.text.replace("nobody@example.fi", "EMAIL")
    for _ in range(4):
        post(client, "/officer/sign-in", {"email": "nobody@example.fi", "password": "wrong password"})
    assert (
        post(client, "/officer/sign-in", {"email": "nobody@example.fi", "password": "x"}).status_code == 429
    )


def test_public_forms_are_limited_per_address_whatever_the_cookies(strict, client, factory, db, home):
    for number in range(2):
        strict.cookies.clear()
        assert post(strict, "/feedback", {"rating": "4", "comment": f"Hyvä {number}"}).status_code == 303
    strict.cookies.clear()
    refused = post(strict, "/feedback", {"rating": "5"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert count(db, Feedback) == 2

    for number in range(knowledge_questions.QUESTIONS_PER_ADDRESS):
        client.cookies.clear()
        asked = post(client, "/guidance/questions", {"question": f"Kysymys {number}", "language": "fi"})
        assert asked.status_code == 303
    client.cookies.clear()
    refused = post(client, "/guidance/questions", {"question": "Vielä yksi", "language": "fi"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert count(db, GuidanceQuestion) == knowledge_questions.QUESTIONS_PER_ADDRESS


def test_guessing_invitation_codes_is_limited_per_address(strict):
    for _ in range(3):
        strict.cookies.clear()
        assert post(strict, "/me/sign-in/code", {"code": "AAA-AAA-AAA"}).status_code == 422
    strict.cookies.clear()
    limited = post(strict, "/me/sign-in/code", {"code": "AAA-AAA-AAA"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert strict.get("/me/join/" + "a" * 43, follow_redirects=False).status_code == 429


# --- security headers and caching -------------------------------------------------------------------


def directives(csp: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in csp.split(";") if part.strip())}


@pytest.fixture
def surfaces(client, factory, db, home) -> dict[str, Any]:
    """A response from each surface: signed-in officer pages and fragments, the migrant app, public pages,
    errors, a rate-limited answer, static files and the API."""
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    person = factory.client(home, first_names="Amina", last_name="Hassan", identity_code="020490-902X")
    sign_in(client, officer)
    responses = {
        "officer client page": client.get(f"/officer/clients/{person.id}"),
        "officer search fragment": post(
            client, "/officer/clients/search", {"q": "Hassan"}, headers={"HX-Request": "true"}
        ),
        "subject access export": client.get(f"/officer/clients/{person.id}/subject-access.json"),
        "officer 404": client.get(f"/officer/clients/{uuid.uuid4()}"),
    }
    sign_in_client(client, factory, person)  # the same browser, now also the client's app (cookie kp_me)
    responses |= {
        "migrant app home": client.get("/me/"),
        "migrant app data": client.get("/me/data.json"),
        "public landing": client.get("/"),
        "public guidance": client.get("/guidance/"),
        "unknown page": client.get("/no-such-page"),
        "api without token": client.get("/api/v1/clients"),
        "static file": client.get("/static/css/app.css"),
    }
    for _ in range(6):
        limited = post(client, "/officer/sign-in", {"email": officer.email, "password": "wrong"})
    responses["rate-limited sign-in"] = limited
    return responses


def test_every_surface_sends_the_security_headers(surfaces):
    statuses = {name: r.status_code for name, r in surfaces.items()}
    assert statuses["officer client page"] == statuses["migrant app home"] == 200, statuses
    assert statuses["officer 404"] == 404 and statuses["rate-limited sign-in"] == 429, statuses
    for name, response in surfaces.items():
        csp = directives(response.headers["content-security-policy"])
        assert csp["default-src"] == ["'self'"], name
        assert csp["script-src"] == ["'self'"], name  # no 'unsafe-inline', 'unsafe-eval' or hosts
        assert csp["style-src"] == ["'self'"], name
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], name
        assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"], name
        assert response.headers["x-frame-options"] == "DENY", name
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["referrer-policy"] in ("same-origin", "no-referrer"), name
        assert response.headers["cross-origin-opener-policy"] == "same-origin", name
        policy = response.headers["permissions-policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
            assert feature in policy, (name, feature)
        assert "strict-transport-security" not in response.headers  # plain http: no HSTS promise


def test_pages_with_client_data_are_never_stored_and_static_files_are_not_personal(surfaces):
    for name, response in surfaces.items():
        if name == "static file":
            assert response.headers["cache-control"].startswith("public")
            continue
        assert response.headers["cache-control"] == "no-store", name
    assert "Hassan" in surfaces["officer client page"].text  # the control: these do hold client data
    assert "Hassan" in surfaces["officer search fragment"].text
    assert "Hassan" in surfaces["migrant app data"].text


def test_https_adds_hsts(https_settings):
    with AppTestClient(create_app(https_settings), base_url=HTTPS_URL) as browser:
        for path in ("/", "/officer/sign-in", "/static/css/app.css", "/no-such-page"):
            assert browser.get(path).headers["strict-transport-security"] == (
                "max-age=63072000; includeSubDomains"
            ), path


# --- personal data out of addresses ----------------------------------------------------------------


def test_searching_creating_and_opening_a_client_put_no_personal_data_in_an_address(client, factory, home):
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    search_page = client.get("/officer/clients")
    assert re.search(
        r'<form[^>]*method="post"[^>]*action="/officer/clients/search"', search_page.text
    ) or re.search(r'<form[^>]*action="/officer/clients/search"[^>]*method="post"', search_page.text)
    personal = {
        "first_names": "Zahra",
        "last_name": "Karimi",
        "identity_code": "131052-308T",
        "phone": "+358401234567",
        "email": "zahra.karimi@example.fi",
    }
    fields = {**VALID, "native_name": "", **personal, "confirm_new": "on"}
    created = post(client, "/officer/clients", fields)
    assert created.status_code == 303, created.text[:2000]
    addresses = [created.headers["location"]]
    page = client.get(created.headers["location"])
    assert "Karimi" in page.text
    for query in ("Karimi", "131052-308T", "+358401234567", "Zahra"):
        found = post(client, "/officer/clients/search", {"q": query}, headers={"HX-Request": "true"})
        assert "Karimi" in found.text, query
        addresses += [found.headers.get("hx-push-url", ""), found.headers.get("location", "")]
        addresses += re.findall(r'(?:href|action|hx-get|hx-post)="([^"]*)"', found.text)
    addresses += re.findall(r'(?:href|action|hx-get|hx-post|src)="([^"]*)"', page.text)
    assert len(addresses) > 10
    for address in addresses:
        for value in (*personal.values(), "131052", "401234567"):
            assert value.lower() not in address.lower(), (address, value)


# --- uploads: the XML inside an Office file ---------------------------------------------------------


def office_file(content_types: bytes) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("word/document.xml", b"<w:document/>")
    buffer.seek(0)
    return buffer


def test_an_office_file_with_an_entity_bomb_or_an_external_entity_is_refused_at_once():
    main = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    good = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Override PartName="/word/document.xml" ContentType="' + main + b'"/></Types>'
    )
    assert uploads.detect(office_file(good)) == uploads.Detected(uploads.DOCX)  # the control
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    for level in range(1, 10):
        laughs += f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">'.encode()
    laughs += b']><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">&lol9;</Types>'
    external = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Override PartName="/word/document.xml" ContentType="&x;"/></Types>'
    )
    for hostile in (laughs, external):
        started = time.monotonic()
        assert uploads.detect(office_file(hostile)) is None
        assert time.monotonic() - started < 2


# --- knowledge-base links ---------------------------------------------------------------------------


def test_article_links_are_web_pages_or_this_sites_paths_only():
    for allowed in ("/guidance/", "https://migri.fi/", "mailto:info@example.fi", "tel:+358401234567"):
        assert knowledge.allowed_url(allowed), allowed
    for refused in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "//evil.example/",
                    "/\\evil.example/", "vbscript:x"):  # fmt: skip
        assert not knowledge.allowed_url(refused), refused
    html = knowledge.render_body("[click](javascript:alert(1)) [x](/\\evil.example) **<b>bold</b>**")
    assert "<a " not in html and "<b>" not in html


def test_refused_requests_are_logged_as_security_events_without_what_was_asked(client, factory, home, caplog):
    """ASVS 16.3.2–16.3.3: a role refused a route, a forged form, another organisation's client — each a
    warning naming the staff id (when the session was checked) and the route's template, not the client's
    id or anything typed."""
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    elsewhere = factory.client(factory.organisation(), first_names="Fatima", last_name="Elsewhere")
    sign_in(client, officer)
    with caplog.at_level(logging.WARNING, logger="kotopolku"):
        assert client.get("/officer/admin/staff").status_code == 403
        assert client.post("/officer/clients", data={"first_names": "Forged"}).status_code == 403
        assert client.get(f"/officer/clients/{elsewhere.id}").status_code == 404
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert len(refusals) == 3, refusals
    assert refusals[0] == f"refused GET /officer/admin/staff with 403 for staff {officer.id}"
    assert refusals[1] == "refused POST /officer/clients with 403 for anonymous"  # CSRF: before the session
    assert refusals[2] == f"refused GET /officer/clients/{{client_id}} with 404 for staff {officer.id}"
    assert not [line for line in refusals if str(elsewhere.id) in line or "Forged" in line]


def test_a_rate_limited_sign_in_and_a_forged_form_value_are_logged_as_bypass_attempts(
    client, factory, home, settings, caplog
):
    """ASVS 16.3.3: an attempt refused by the failure limit and a value that no select or radio button of
    the form offers (the form was made by hand) are warnings naming the event, the route and who — never
    the account tried or the value. A date typed wrong by a person is not an attempt and is not logged."""
    target, officer = (
        factory.staff(home, Role.INTEGRATION_OFFICER),
        factory.staff(home, Role.INTEGRATION_OFFICER),
    )
    with caplog.at_level(logging.WARNING, logger="kotopolku"):
        for _attempt in range(settings.sign_in_max_failures_per_account):
            wrong = post(client, "/officer/sign-in", {"email": target.email, "password": "wrong"})
            assert wrong.status_code == 401
        assert not [r for r in caplog.records if r.name == "kotopolku.security"]
        refused = post(client, "/officer/sign-in", {"email": target.email, "password": PASSWORD})
        assert refused.status_code == 429
        sign_in(client, officer)
        mistyped = post(client, "/officer/clients", {**VALID, "known_on": "31.2.2025"})
        forged = post(client, "/officer/clients", {**VALID, "known_how": "<script>kotopolku-forged"})
    assert mistyped.status_code == forged.status_code == 422
    # The officer's page is in Finnish; what was typed stays.
    assert i18n.gettext("Choose one of the options.") in forged.text and "Olena" in forged.text
    events = [r.getMessage() for r in caplog.records if r.name == "kotopolku.security"]
    assert len(events) == 2, events
    assert re.fullmatch(
        r"attempt refused by the failure limit for \d+ s on POST /officer/sign-in for anonymous", events[0]
    )
    assert events[1] == (
        f"form value outside the options of field 'known_how' on POST /officer/clients for staff {officer.id}"
    )
    assert not [r for r in caplog.records if target.email in r.getMessage() or "forged" in r.getMessage()]
