"""An officer's own account: changing the password (the current one first, a strong new one) and seeing
and ending the sessions signed in elsewhere (ASVS 6.2.2–6.2.4, 6.2.11, 7.4.3, 7.5.1, 7.5.2)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from app.db.audit import AuditEvent
from app.db.auth import StaffSession
from app.db.organisation import Role
from app.domain import auth
from app.domain.audit import Action
from app.main import create_app
from tests.conftest import BASE_URL, PASSWORD, AppTestClient, post, sign_in

NEW_PASSWORD = "lantern orchard velvet compass"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"  # messages are asserted in English, the msgid language


@pytest.fixture
def officer(client, factory):
    person = factory.staff(factory.organisation(name="Testilän kaupunki"), Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


@contextmanager
def browser(settings) -> Iterator[AppTestClient]:
    """Another browser (an app of its own, so that its database pool lives on its own event loop)."""
    with AppTestClient(create_app(settings), base_url=BASE_URL) as other:
        yield other


@contextmanager
def another_browser(settings, person) -> Iterator[AppTestClient]:
    with browser(settings) as other:
        sign_in(other, person)
        yield other


def signed_in(browser) -> bool:
    return browser.get("/officer/", follow_redirects=False).status_code == 200


def change(client, current=PASSWORD, new=NEW_PASSWORD, again=None, end_others=True):
    data = {"current_password": current, "new_password": new, "new_password_again": again or new}
    if end_others:
        data["end_other_sessions"] = "on"
    return post(client, "/officer/profile/password", data)


def test_the_new_password_replaces_the_old_and_other_sessions_end(settings, client, officer, db):
    with another_browser(settings, officer) as laptop:
        response = change(client)
        assert response.status_code == 303
        assert response.headers["location"] == "/officer/profile?done=password#password"
        assert "Your password has been changed." in client.get(response.headers["location"]).text
        assert signed_in(client), "the browser that changed it stays signed in"
        assert not signed_in(laptop), "the other session ended"

    with browser(settings) as fresh:
        refused = post(fresh, "/officer/sign-in", {"email": officer.email, "password": PASSWORD})
        assert refused.status_code == 401
        sign_in(fresh, officer, NEW_PASSWORD)

    event = db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "staff", AuditEvent.action == Action.UPDATE)
    ).one()
    assert event.actor_id == officer.id and event.object_id == str(officer.id)
    assert sorted(event.fields) == ["password", "sessions"]
    assert NEW_PASSWORD not in str(event.__dict__)


def test_other_sessions_can_be_kept(settings, client, officer):
    with another_browser(settings, officer) as laptop:
        assert change(client, end_others=False).status_code == 303
        assert signed_in(laptop)


@pytest.mark.parametrize(
    ("current", "new", "again", "field", "message"),
    [
        ("wrong password here", NEW_PASSWORD, None, "current_password", "The password is wrong."),
        (PASSWORD, "Password123!", None, "new_password", "too easy to guess"),
        (PASSWORD, "short words", None, "new_password", "Use at least 12 characters."),
        (PASSWORD, "Testilän kaupunki 2026", None, "new_password", "too easy to guess"),  # the organisation
        (PASSWORD, NEW_PASSWORD, "lantern orchard velvet", "new_password_again", "are different"),
        (PASSWORD, PASSWORD, None, "new_password", "different from the one you have now"),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(
    settings, client, officer, db, current, new, again, field, message
):
    with another_browser(settings, officer) as laptop:
        response = change(client, current, new, again)
        assert response.status_code == 422
        page = response.text
        assert message in page
        assert f'id="{field}"' in page and 'aria-invalid="true"' in page
        assert new not in page and current not in page, "passwords are never sent back"
        assert 'name="end_other_sessions" type="checkbox" checked' in page, "the choice is kept"
        assert signed_in(laptop)
    with browser(settings) as fresh:
        sign_in(fresh, officer, PASSWORD)
    assert not db.scalars(select(AuditEvent).where(AuditEvent.action == Action.UPDATE)).all()


def test_guessing_the_current_password_is_limited(client, officer, settings):
    for _attempt in range(settings.sign_in_max_failures_per_account):
        assert change(client, current="not my password at all").status_code == 422
    limited = change(client)  # even the right one now waits
    assert limited.status_code == 429
    assert "Too many wrong passwords." in limited.text


def _refs(page: str) -> list[str]:
    return re.findall(r'name="session" value="([0-9a-f]{32})"', page)


def test_sessions_are_listed_and_chosen_ones_end_after_the_password(settings, client, officer, db):
    with another_browser(settings, officer) as laptop, another_browser(settings, officer) as phone:
        page = client.get("/officer/profile").text
        assert page.count("<td>This browser</td>") == 1
        refs = _refs(page)
        assert len(refs) == 2, "the two other sessions can be chosen, this one cannot"
        for token_hash in db.scalars(select(StaffSession.token_hash)):
            assert token_hash not in page

        wrong = post(
            client,
            "/officer/profile/sessions/end",
            {"session": refs[0], "session_password": "guess guess guess"},
        )
        assert wrong.status_code == 422 and "The password is wrong." in wrong.text
        assert signed_in(laptop) and signed_in(phone)

        none = post(client, "/officer/profile/sessions/end", {"session_password": PASSWORD})
        assert none.status_code == 422 and "Choose the sessions to sign out" in none.text

        # The ref of the laptop's session: the one whose last use is the laptop's.
        ended = post(
            client, "/officer/profile/sessions/end", {"session": refs[0], "session_password": PASSWORD}
        )
        assert ended.status_code == 303
        assert "The sessions you chose have been signed out." in client.get(ended.headers["location"]).text
        assert [signed_in(laptop), signed_in(phone)].count(True) == 1
        assert len(_refs(client.get("/officer/profile").text)) == 1

        everyone = post(client, "/officer/profile/sessions/end", {"all": "1", "session_password": PASSWORD})
        assert everyone.status_code == 303
        assert not signed_in(laptop) and not signed_in(phone)
        assert signed_in(client)
    assert "You are signed in only in this browser." in client.get("/officer/profile").text


def test_another_persons_session_cannot_be_ended(settings, client, officer, factory, db):
    colleague = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    with another_browser(settings, colleague) as theirs:
        session = db.scalars(select(StaffSession).where(StaffSession.staff_id == colleague.id)).one()
        response = post(
            client,
            "/officer/profile/sessions/end",
            {"session": auth.session_ref(settings, session), "session_password": PASSWORD},
        )
        assert response.status_code == 303  # nothing of the officer's own matched
        assert signed_in(theirs)
