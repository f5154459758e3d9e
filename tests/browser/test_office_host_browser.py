"""The back office on a host name of its own (OFFICE_URL, ASVS 3.5.4) in Chromium: the public address
sends an officer to the back office's host, whose cookies the public host never gets, and an officer's
passkey is made for, and works on, the back office's host. Chromium resolves *.localhost to loopback and
treats it as a secure context, so passkeys work there as on localhost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from sqlalchemy import Engine, select

from app.db.auth import Passkey
from app.db.organisation import Role
from app.settings import Settings
from tests.browser.conftest import INIT_SCRIPT, LiveServer, PageProblems, start_server, stop_server
from tests.browser.test_officer_flow import add_virtual_authenticator
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def two_hosts(database_url: str, settings: Settings) -> Iterator[LiveServer]:
    try:
        server = start_server(database_url, settings, OFFICE_URL="http://virkailija.localhost:{port}")
    except RuntimeError:  # another process took the port
        server = start_server(database_url, settings, OFFICE_URL="http://virkailija.localhost:{port}")
    yield server
    stop_server(server.process)


@pytest.fixture
def desk(
    browser: Browser, two_hosts: LiveServer, engine: Engine, problems: PageProblems
) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(5000)
    context.expose_binding("__kpReportCsp", lambda _source, report: problems.csp_violations.append(report))
    context.add_init_script(INIT_SCRIPT)
    yield context
    context.close()
    problems.assert_clean()


def test_an_officer_is_sent_to_the_back_office_host_and_signs_in_there_with_a_passkey(
    desk: BrowserContext, two_hosts: LiveServer, factory: Factory, db
) -> None:
    public = two_hosts.url
    port = urlsplit(public).port
    office = f"http://virkailija.localhost:{port}"
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    page = desk.new_page()

    page.goto(f"{public}/officer/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(office)}/officer/sign-in"))
    page.locator("#email").fill(person.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(office)}/officer/"))
    assert [c["name"] for c in desk.cookies(office) if c["name"].endswith("kp_session")]
    assert not [c for c in desk.cookies(public) if c["name"].endswith("kp_session")]

    # A passkey made on the back office's host, and signing in with it there.
    add_virtual_authenticator(desk, page)
    page.goto(f"{office}/officer/profile")
    page.locator("#passkey-name").fill("Työkone")
    page.locator("#passkey-password").fill(PASSWORD)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("[data-passkey-error]")).to_be_empty()
    expect(page.locator("#passkeys ~ .table-scroll tbody tr, table tbody tr").first).to_contain_text(
        "Työkone"
    )
    assert db.scalar(select(Passkey.name).where(Passkey.staff_id == person.id)) == "Työkone"
    page.get_by_role("button", name="Sign out").first.click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(office)}/officer/sign-in$"))
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(office)}/officer/$"))

    # The migrants' app is not on the back office's host.
    page.goto(f"{office}/me/sign-in")
    expect(page).to_have_url(f"{public}/me/sign-in")
