"""The back office on a host name of its own (OFFICE_URL, ASVS 3.5.4): officers' pages, sign-in and calendar
feeds answer only there, the public pages and the migrants' app only at PUBLIC_URL, each host's cookies
stay its own, and officers' passkeys belong to the back office's host."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from app.db.auth import Passkey
from app.db.organisation import Role
from app.main import create_app
from app.settings import Settings
from tests.conftest import PASSWORD, AppTestClient, post, sign_in
from tests.soft_authenticator import SoftAuthenticator

PUBLIC, OFFICE = "http://kotopolku.example.test", "http://virkailija.example.test"


@pytest.fixture
def two_hosts(settings: Settings) -> Settings:
    return replace(settings, public_url=PUBLIC, office_url=OFFICE)


@pytest.fixture
def office(two_hosts: Settings) -> Iterator[AppTestClient]:
    with AppTestClient(create_app(two_hosts), base_url=OFFICE) as browser:
        yield browser


@pytest.fixture
def public(two_hosts: Settings) -> Iterator[AppTestClient]:
    with AppTestClient(create_app(two_hosts), base_url=PUBLIC) as browser:
        yield browser


def test_each_surface_answers_on_its_own_host_and_sends_the_other_there(office, public):
    assert office.get("/officer/sign-in").status_code == 200
    assert public.get("/").status_code == 200 and public.get("/me/sign-in").status_code == 200

    moved = public.get("/officer/clients?page=2", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"] == f"{OFFICE}/officer/clients?page=2"
    back = office.get("/me/sign-in", follow_redirects=False)
    assert back.status_code == 307 and back.headers["location"] == f"{PUBLIC}/me/sign-in"
    assert office.get("/", follow_redirects=False).headers["location"] == f"{PUBLIC}/"
    feed = public.get("/calendar/feed/abc.ics", follow_redirects=False)
    assert feed.headers["location"] == f"{OFFICE}/calendar/feed/abc.ics"
    # Anything but GET on the wrong host is not served (nor redirected with its body).
    assert public.post("/officer/sign-in", data={"email": "x", "password": "y"}).status_code == 404
    assert office.post("/me/sign-in/code", data={"code": "x"}).status_code == 404
    # Static files and the health check answer on both.
    for browser in (office, public):
        assert browser.get("/health").status_code == 200
        assert browser.get("/static/css/app.css").status_code == 200


def test_an_officer_signs_in_on_the_office_host_and_the_session_stays_there(office, public, factory, db):
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(office, person)
    assert office.get("/officer/").status_code == 200
    assert "kp_session" in office.cookies and "kp_session" not in public.cookies
    # The public host never sees the back office, signed in or not.
    assert public.get("/officer/", follow_redirects=False).headers["location"] == f"{OFFICE}/officer/"

    # Officers' passkeys belong to the back office's host: made there they work, a response made for the
    # public host is refused.
    options = office.post(
        "/officer/profile/passkeys/options",
        json={"password": PASSWORD},
        headers={"x-csrftoken": office.cookies["kp_csrf"]},
    ).json()
    assert options["rp"]["id"] == "virkailija.example.test"
    wrong = SoftAuthenticator(origin=PUBLIC, rp_id="kotopolku.example.test")
    refused = office.post(
        "/officer/profile/passkeys",
        json={"credential": wrong.create(options), "name": "x"},
        headers={"x-csrftoken": office.cookies["kp_csrf"]},
    )
    assert refused.status_code == 400
    options = office.post(
        "/officer/profile/passkeys/options",
        json={"password": PASSWORD},
        headers={"x-csrftoken": office.cookies["kp_csrf"]},
    ).json()
    right = SoftAuthenticator(origin=OFFICE, rp_id="virkailija.example.test")
    saved = office.post(
        "/officer/profile/passkeys",
        json={"credential": right.create(options), "name": "Työkone"},
        headers={"x-csrftoken": office.cookies["kp_csrf"]},
    )
    assert saved.status_code == 201, saved.text
    assert db.scalar(select(Passkey.name).where(Passkey.staff_id == person.id)) == "Työkone"


def test_the_calendar_feed_address_is_on_the_office_host(office, factory):
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(office, person)
    page = post(office, "/officer/calendar/feed")
    assert f"{OFFICE}/calendar/feed/" in page.text and PUBLIC not in page.text
