"""Public surfaces, languages and response headers."""

import hashlib
import re

import pytest

from app.db.organisation import Role, Staff
from tests.conftest import AppTestClient, sign_in


def test_health_reports_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(
    "path", ["/", "/officer/sign-in", "/me/", "/accessibility", "/no-such-page", "/static/css/app.css"]
)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "camera=()" in response.headers["permissions-policy"]


def test_pages_are_not_stored_but_static_files_may_be(client):
    assert client.get("/officer/sign-in").headers["cache-control"] == "no-store"
    assert client.get("/static/css/app.css").headers.get("cache-control") != "no-store"


def test_static_files_are_linked_by_content_so_phones_keep_them_without_ever_using_an_old_one(client):
    html = client.get("/").text
    linked = re.search(r'href="(/static/css/app\.css\?v=([0-9a-f]{10}))"', html)
    assert linked, "the page links its stylesheet by a content version"
    content = client.get(linked.group(1))
    assert hashlib.sha256(content.content).hexdigest()[:10] == linked.group(2)
    assert content.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_pages_have_no_inline_scripts_styles_or_handlers(client):
    html = client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_language_is_negotiated_and_remembered(client):
    assert 'lang="fi" dir="ltr"' in client.get("/").text  # the default
    assert 'lang="sv"' in client.get("/", headers={"Accept-Language": "sv-FI,sv;q=0.9"}).text
    chosen = client.get("/?lang=ar")
    assert 'lang="ar" dir="rtl"' in chosen.text
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("kp_lang=ar;") and "Path=/" in cookie and "HttpOnly" in cookie
    # Remembered on later pages, over the browser's own preference.
    assert 'lang="ar" dir="rtl"' in client.get("/me/", headers={"Accept-Language": "en"}).text


def test_farsi_is_right_to_left_and_translated(client):
    page = client.get("/?lang=fa").text
    assert 'dir="rtl"' in page
    assert "Choose your language" not in page


def test_the_back_office_falls_back_when_the_language_is_public_only(client):
    client.get("/?lang=so")
    assert 'lang="fi"' in client.get("/officer/sign-in").text


def test_an_officers_explicit_choice_is_kept_on_the_profile(client, factory, db):
    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    assert 'lang="sv"' in client.get("/officer/?lang=sv").text
    db.expire_all()
    assert db.get(Staff, officer.id).locale == "sv"
    client.cookies.delete("kp_lang")
    assert 'lang="sv"' in client.get("/officer/", headers={"Accept-Language": "en"}).text


def test_errors_are_translated_pages_without_details(client):
    response = client.get("/no-such-page?lang=sv")
    assert response.status_code == 404
    assert 'lang="sv"' in response.text and "Traceback" not in response.text


def test_landing_offers_every_language_in_its_own_name(client):
    page = client.get("/").text
    for name in ("Suomi", "Svenska", "English", "العربية", "فارسی", "Русский", "Українська", "Soomaali"):
        assert name in page


def test_accessibility_feedback_goes_to_the_configured_address(settings):
    from dataclasses import replace

    from app.main import create_app

    configured = replace(settings, accessibility_email="saavutettavuus@kunta.example")
    with AppTestClient(create_app(configured)) as other:
        page = other.get("/accessibility").text
    assert 'href="mailto:saavutettavuus@kunta.example"' in page
    assert 'href="/accessibility#feedback"' in page  # every surface's footer links the feedback channel


def test_only_the_api_is_in_the_openapi_schema(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert "/health" in paths
    assert not [p for p in paths if p.startswith(("/officer", "/me"))]


def test_language_links_after_a_form_post_lead_to_a_page_that_exists(client, factory):
    from tests.conftest import post, sign_in

    officer = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, officer)
    results = post(client, "/officer/clients/search", {"q": "x"})  # a plain form post, no htmx
    links = re.findall(r'href="([^"]*\?lang=sv)"', results.text)
    assert links == ["/officer/?lang=sv"]
    assert client.get(links[0]).status_code == 200
    page = client.get("/officer/clients")
    assert 'href="/officer/clients?lang=sv"' in page.text
    assert '<a href="/officer/clients" aria-current="page">' in page.text
