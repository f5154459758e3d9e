"""Referrals by another authority (service 20, §9): the public form (no account; CSRF, validation with
everything typed kept, the person's consent required, a limit per address), the acknowledgement e-mail
to the referrer (a reference, nothing about the person), and the officers' inbox: accepting registers a
client or links the one with the same identity code, with an outreach item; declining needs a reason;
decisions are version-checked, audited and e-mailed; other organisations' referrals are not found and
county staff have no inbox.

Pages are asked for in English."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.client import Client, ClientStatus, KnownHow
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.db.outbox import Channel, NotificationKind, OutboxMessage, OutboxStatus
from app.db.outreach import AuthorityReferral, OutreachItem, OutreachReason, OutreachStatus, ReferralStatus
from app.domain import identity_code, referrals
from app.domain.forms import today
from app.main import create_app
from app.settings import Settings
from tests.conftest import BASE_URL, AppTestClient, Factory, post, sign_in
from tests.integration import test_outbox as outbox_tests

mailbox = outbox_tests.mailbox  # an SMTP server on loopback (aiosmtpd), as the outbox tests use

BORN = date(1991, 4, 12)
CODE = identity_code.make(BORN, 345)
REASON = "Asunut Suomessa kaksi vuotta, tarvitsee apua kielikoulutukseen ja työnhakuun."


@pytest.fixture(autouse=True)
def english(client: TestClient[Litestar]) -> None:
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory: Factory) -> Organisation:
    """The deployment's only municipality: referrals go to it."""
    return factory.organisation("Kotokunta")


@pytest.fixture
def officer(factory: Factory, home: Organisation) -> Staff:
    return factory.staff(home, Role.INTEGRATION_OFFICER)


def form(**overrides: Any) -> dict[str, Any]:
    data = {
        "authority_name": "Kela",
        "referrer_organisation": "Tampereen palvelupiste",
        "contact_name": "Liisa Lähettäjä",
        "contact_email": "Liisa.Lahettaja@Kela.example.fi",
        "contact_phone": "040 765 4321",
        "first_names": "Fatima Zahra",
        "last_name": "Haidari",
        "identity_code": CODE.lower(),
        "date_of_birth": "",
        "language": "fa",
        "phone": "044 123 4567",
        "reason": REASON,
        "consent_given": "on",
        "consent_on": today().isoformat(),
        "website": "",
    }
    data.update(overrides)
    return data


def refer(client: TestClient[Litestar], organisation: Organisation | None = None, **overrides: Any) -> Any:
    data = form(**overrides)
    if organisation is not None:
        data["organisation_id"] = str(organisation.id)
    elif "organisation_id" not in data:
        page = client.get("/referral")
        found = re.search(r'name="organisation_id" value="([^"]+)"', page.text)
        assert found, "the only municipality is a hidden field"
        data["organisation_id"] = found.group(1)
    return post(client, "/referral", data)


def stored(db: Session) -> list[AuthorityReferral]:
    db.expire_all()
    return list(db.scalars(select(AuthorityReferral).order_by(AuthorityReferral.received_at)))


def outbox_rows(db: Session) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def events(db: Session, object_type: str = "authority_referral") -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type).order_by(AuditEvent.at))
    )


def version_of(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found
    return found.group(1)


def received(client: TestClient[Litestar], db: Session, **overrides: Any) -> AuthorityReferral:
    assert refer(client, **overrides).status_code == 303
    return stored(db)[-1]


def smtp(settings: Settings, box: outbox_tests.Mailbox) -> Settings:
    return replace(settings, smtp_host="127.0.0.1", smtp_port=box.port)


# --- the public form ------------------------------------------------------------------------------------


def test_an_authority_refers_a_person_and_gets_an_acknowledgement_without_their_data(
    client: TestClient[Litestar], db: Session, home: Organisation, settings: Settings, mailbox: Any
) -> None:
    assert 'href="/referral"' in client.get("/").text  # linked from the landing page
    page = client.get("/referral")
    assert page.status_code == 200 and "Refer a person to an initial assessment" in page.text
    assert 'name="consent_given"' in page.text and "<select" in page.text  # the language
    assert 'id="organisation_id"' not in page.text  # one municipality: nothing to choose

    response = refer(client)
    assert response.status_code == 303 and response.headers["location"] == "/referral/sent"
    assert "Thank you for your referral" in client.get("/referral/sent").text

    (referral,) = stored(db)
    assert referral.organisation_id == home.id and referral.status == ReferralStatus.RECEIVED
    assert (referral.authority_name, referral.referrer_organisation, referral.contact_name) == (
        "Kela",
        "Tampereen palvelupiste",
        "Liisa Lähettäjä",
    )
    assert referral.contact_email == "liisa.lahettaja@kela.example.fi"
    assert (referral.contact_phone, referral.phone) == ("+358407654321", "+358441234567")
    assert (referral.first_names, referral.last_name) == ("Fatima Zahra", "Haidari")
    assert referral.identity_code == CODE and referral.date_of_birth == BORN  # from the identity code
    assert (referral.language, referral.reason) == ("fa", REASON)
    assert referral.consent_given and referral.consent_on == today()

    (row,) = outbox_rows(db)
    assert (row.kind, row.channel, row.address, row.locale) == (
        NotificationKind.REFERRAL_ACKNOWLEDGEMENT,
        Channel.EMAIL,
        "liisa.lahettaja@kela.example.fi",
        "en",
    )
    assert row.payload == {"referral_id": str(referral.id), "event": "received"}
    (created,) = events(db)
    assert (created.action, created.actor_kind, created.actor_id) == ("create", "anonymous", None)
    assert "identity_code" in created.fields and "consent_on" in created.fields

    outbox_tests.deliver(smtp(settings, mailbox))
    (message,) = mailbox.messages()
    reference = referrals.reference(referral)
    assert message["To"] == "liisa.lahettaja@kela.example.fi"
    assert message["Subject"] == f"We received your referral {reference}"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert reference in text and "Kotokunta has received your referral" in text
    for personal in ("Fatima", "Haidari", CODE, "1991", "+358441234567", "Asunut"):
        assert personal not in text
    assert outbox_rows(db)[0].status == OutboxStatus.DELIVERED


def test_bad_input_is_refused_with_translated_errors_and_everything_typed_kept(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    response = refer(
        client,
        first_names="",
        identity_code="120491-3451",  # wrong check character
        contact_email="liisa at kela",
        phone="12",
        language="xx",
        reason="",
        authority_name="Tampereen lukio",
        last_name="Haidari-Mäkelä",
    )
    assert response.status_code == 422
    page = html.unescape(response.text)
    for message in (
        "Enter the first names.",
        "This is not a valid personal identity code.",
        "Enter an e-mail address like name@example.fi.",
        "Enter a phone number like 040 123 4567",
        "Say why the person needs an initial assessment.",
        "Choose one of the options.",
    ):
        assert message in page
    for typed in (
        "Tampereen lukio",
        "Haidari-Mäkelä",
        "120491-3451",
        "liisa at kela",
        "Tampereen palvelupiste",
    ):
        assert f'value="{typed}"' in page
    assert 'id="consent_given" name="consent_given" type="checkbox" checked' in page
    assert stored(db) == [] and outbox_rows(db) == []

    # Neither an identity code nor a date of birth; a date of birth that is not the code's.
    assert "Enter the date of birth or the personal identity code." in refer(client, identity_code="").text
    mismatch = refer(client, date_of_birth="1990-01-01")
    assert mismatch.status_code == 422 and "does not match the personal identity code" in mismatch.text
    # Without an identity code the date of birth is enough.
    assert refer(client, identity_code="", date_of_birth=BORN.isoformat()).status_code == 303
    (referral,) = stored(db)
    assert referral.identity_code is None and referral.date_of_birth == BORN


def test_a_reason_over_its_limit_is_refused_and_kept_whole(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    """Nothing typed is cut: the form comes back with an error and all the text; nothing is stored."""
    reason = (REASON + " ") * 52 + "Loppu."  # 4010 characters
    assert len(reason) > referrals.REASON_MAX
    response = refer(client, reason=reason)
    assert response.status_code == 422
    page = html.unescape(response.text)
    assert f"Shorten this to at most 4000 characters (now {len(reason)})." in page
    assert re.search(r'<textarea id="reason"[^>]*>' + re.escape(reason) + "</textarea>", page)
    assert stored(db) == [] and outbox_rows(db) == []
    assert refer(client, reason=reason[: referrals.REASON_MAX]).status_code == 303
    assert stored(db)[0].reason == reason[: referrals.REASON_MAX].strip()


def test_the_persons_consent_is_required_and_cannot_be_in_the_future(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    without = refer(client, consent_given="", contact_name="Kalle Koulu")
    assert without.status_code == 422
    assert "A referral needs the person&#39;s consent" in without.text
    assert 'value="Kalle Koulu"' in without.text
    no_day = refer(client, consent_on="")
    assert no_day.status_code == 422 and "Enter a date." in no_day.text
    tomorrow = (today() + timedelta(days=1)).isoformat()
    future = refer(client, consent_on=tomorrow)
    assert future.status_code == 422 and "The date cannot be in the future." in future.text
    assert stored(db) == []


def test_the_form_is_csrf_protected_and_robots_are_not_stored(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    client.get("/referral")
    forged = client.post(
        "/referral", data={**form(), "organisation_id": str(home.id)}, follow_redirects=False
    )
    assert forged.status_code == 403
    robot = refer(client, website="http://spam.example")
    assert robot.status_code == 303 and robot.headers["location"] == "/referral/sent"
    assert stored(db) == [] and outbox_rows(db) == []


def test_referrals_are_rate_limited_per_address_with_retry_after(
    client: TestClient[Litestar], db: Session, home: Organisation
) -> None:
    for number in range(referrals.REFERRALS_PER_ADDRESS):
        assert refer(client, last_name=f"Henkilö {number}").status_code == 303
    limited = refer(client, last_name="Liian Nopea")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "You have sent many referrals in a short while" in limited.text
    assert 'value="Liian Nopea"' in limited.text  # kept for when the referrer may send again
    assert len(stored(db)) == referrals.REFERRALS_PER_ADDRESS


def test_with_several_municipalities_the_referrer_chooses_and_the_deployments_is_preselected(
    settings: Settings, factory: Factory, db: Session
) -> None:
    factory.organisation("Alakylä")
    upper = factory.organisation("Yläkylä")
    factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    named = replace(settings, public_organisation="Yläkylä")
    with AppTestClient(create_app(named), base_url=BASE_URL) as browser:
        browser.headers["Accept-Language"] = "en"
        page = browser.get("/referral").text
        options = re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]+)</option>',
            page.split('id="organisation_id"')[1].split("</select>")[0],
        )
        assert [(name, bool(selected)) for _value, selected, name in options if _value] == [
            ("Alakylä", False),
            ("Yläkylä", True),
        ]  # municipalities only
        missing = post(browser, "/referral", form())
        assert (
            missing.status_code == 422 and "Choose the municipality you refer the person to." in missing.text
        )
        assert refer(browser, upper).status_code == 303
    (referral,) = stored(db)
    assert referral.organisation_id == upper.id


def test_without_a_municipality_referrals_are_not_received(
    client: TestClient[Litestar], factory: Factory
) -> None:
    factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    page = client.get("/referral")
    assert page.status_code == 404 and "Referrals are not received here" in page.text


# --- the officers' inbox and decisions ------------------------------------------------------------------


def test_accepting_registers_the_client_with_an_outreach_item_and_emails_the_referrer(
    client: TestClient[Litestar], db: Session, officer: Staff, settings: Settings, mailbox: Any
) -> None:
    referral = received(client, db)
    sign_in(client, officer)
    inbox = client.get("/officer/referrals")
    assert inbox.status_code == 200 and "Haidari, Fatima Zahra" in inbox.text
    assert referrals.reference(referral) in inbox.text
    page = client.get(f"/officer/referrals/{referral.id}")
    assert page.status_code == 200
    assert REASON in page.text and "liisa.lahettaja@kela.example.fi" in page.text and CODE in page.text
    assert "No client in the register matches this person." in page.text

    accepted = post(
        client,
        f"/officer/referrals/{referral.id}/accept",
        {"version": version_of(page.text), "client": "new"},
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/officer/referrals/{referral.id}"

    (person,) = db.scalars(select(Client))
    assert (person.organisation_id, person.segment, person.known_how) == (
        referral.organisation_id,
        1,
        KnownHow.AUTHORITY_REFERRAL,
    )
    assert person.known_on == referrals.received_on(referral)
    assert (person.first_names, person.last_name, person.identity_code, person.date_of_birth) == (
        "Fatima Zahra",
        "Haidari",
        CODE,
        BORN,
    )
    assert (person.mother_tongue, person.phone, person.responsible_officer_id) == (
        "fa",
        "+358441234567",
        officer.id,
    )
    (item,) = db.scalars(select(OutreachItem))
    assert (item.client_id, item.reason, item.status, item.identity_code) == (
        person.id,
        OutreachReason.AUTHORITY_REFERRAL,
        OutreachStatus.TO_REACH,
        CODE,
    )
    (referral,) = stored(db)
    assert referral.status == ReferralStatus.ACCEPTED and referral.decided_by_id == officer.id
    assert (referral.client_id, referral.outreach_item_id) == (person.id, item.id)
    decided = client.get(f"/officer/referrals/{referral.id}")
    assert f'href="/officer/clients/{person.id}"' in decided.text and "To reach" in decided.text

    # Audited: the views, the decision, the new client and the outreach item (field names only).
    actions = [(e.action, e.actor_id) for e in events(db)]
    assert ("view", officer.id) in actions and ("update", officer.id) in actions
    (decision,) = [e for e in events(db) if e.action == "update"]
    assert decision.client_id == person.id and "client_id" in decision.fields
    assert [e.action for e in events(db, "client") if e.client_id == person.id] == ["create"]
    assert [e.action for e in events(db, "outreach_item")] == ["create"]

    _received, decision_row = outbox_rows(db)
    assert decision_row.payload == {"referral_id": str(referral.id), "event": "decision"}
    assert decision_row.address == "liisa.lahettaja@kela.example.fi" and decision_row.locale == "en"
    outbox_tests.deliver(smtp(settings, mailbox))
    subjects = sorted(m["Subject"] for m in mailbox.messages())
    reference = referrals.reference(referral)
    assert subjects == [
        f"We received your referral {reference}",
        f"Your referral {reference} has been accepted",
    ]
    for message in mailbox.messages():
        body = message.get_body(("plain",))
        assert body is not None and "Haidari" not in body.get_content() and CODE not in body.get_content()


def test_accepting_links_the_client_with_the_same_identity_code_and_their_outreach_item(
    client: TestClient[Litestar], db: Session, factory: Factory, home: Organisation, officer: Staff
) -> None:
    existing = factory.client(
        home, first_names="Fatima", last_name="Haidari", identity_code=CODE, date_of_birth=BORN,
        temporary_identifier=None,
    )  # fmt: skip
    old_item = OutreachItem(
        organisation_id=home.id,
        status=OutreachStatus.DECLINED,
        reason=OutreachReason.MOVED_IN,
        identity_code=CODE,
        first_names="Fatima",
        last_name="Haidari",
    )
    db.add(old_item)
    db.commit()
    referral = received(client, db)
    sign_in(client, officer)
    page = client.get(f"/officer/referrals/{referral.id}")
    assert f'value="{existing.id}" checked' in page.text  # the same identity code, chosen already
    assert 'value="new"' not in page.text
    assert "already registered, so no new client can be registered" in page.text

    as_new = post(
        client,
        f"/officer/referrals/{referral.id}/accept",
        {"version": version_of(page.text), "client": "new"},
    )
    assert as_new.status_code == 422 and "link the referral to them" in as_new.text
    linked = post(
        client,
        f"/officer/referrals/{referral.id}/accept",
        {"version": version_of(page.text), "client": str(existing.id)},
    )
    assert linked.status_code == 303
    assert db.scalar(select(func.count()).select_from(Client)) == 1
    db.expire_all()
    (item,) = db.scalars(select(OutreachItem))
    assert item.id == old_item.id and item.client_id == existing.id
    assert item.status == OutreachStatus.TO_REACH  # a referral with consent opens a closed item again
    (referral,) = stored(db)
    assert (referral.status, referral.client_id, referral.outreach_item_id) == (
        ReferralStatus.ACCEPTED,
        existing.id,
        item.id,
    )
    assert [sorted(e.fields) for e in events(db, "outreach_item")] == [["client_id", "status"]]
    assert [e.action for e in events(db, "client") if e.action == "create"] == []


def test_a_probable_match_without_the_identity_code_must_be_chosen_or_passed_over(
    client: TestClient[Litestar], db: Session, factory: Factory, home: Organisation, officer: Staff
) -> None:
    """Same date of birth and a name in common: the officer links or registers a new client, knowingly;
    a client of another organisation, or one whose relationship has ended, cannot be linked."""
    namesake = factory.client(home, first_names="Fatima", last_name="Haidari", date_of_birth=BORN)
    ended = factory.client(
        home, first_names="Zahra", last_name="Haidari", date_of_birth=BORN, status=ClientStatus.ENDED,
        ended_on=date(2024, 1, 1),
    )  # fmt: skip
    elsewhere = factory.client(factory.organisation("Naapurikunta"), last_name="Haidari", date_of_birth=BORN)
    referral = received(
        client, db, organisation_id=str(home.id), identity_code="", date_of_birth=BORN.isoformat()
    )
    sign_in(client, officer)
    page = client.get(f"/officer/referrals/{referral.id}")
    assert f'value="{namesake.id}"' in page.text and f'value="{ended.id}"' in page.text
    assert f'value="{elsewhere.id}"' not in page.text
    assert (
        'value="new"' in page.text
        and " checked" not in page.text.split('id="client"')[1].split("</fieldset>")[0]
    )
    version = version_of(page.text)
    url = f"/officer/referrals/{referral.id}/accept"
    unchosen = post(client, url, {"version": version})
    assert unchosen.status_code == 422
    assert "Choose whether to create a new client or link an existing one." in unchosen.text
    assert post(client, url, {"version": version, "client": str(elsewhere.id)}).status_code == 422
    refused = post(client, url, {"version": version, "client": str(ended.id)})
    assert refused.status_code == 422 and "The client relationship has ended" in refused.text
    assert stored(db)[0].status == ReferralStatus.RECEIVED
    assert post(client, url, {"version": version, "client": "new"}).status_code == 303
    (referral,) = stored(db)
    assert referral.client_id not in (namesake.id, ended.id, elsewhere.id)
    assert db.scalar(select(func.count()).select_from(Client)) == 4


def test_declining_needs_a_reason_which_is_not_emailed(
    client: TestClient[Litestar], db: Session, officer: Staff, settings: Settings, mailbox: Any
) -> None:
    referral = received(client, db)
    sign_in(client, officer)
    version = version_of(client.get(f"/officer/referrals/{referral.id}").text)
    empty = post(
        client, f"/officer/referrals/{referral.id}/decline", {"version": version, "decline_reason": "  "}
    )
    assert empty.status_code == 422 and "Say why the referral is declined." in empty.text
    assert stored(db)[0].status == ReferralStatus.RECEIVED
    reason = "Henkilö on jo kotoutumisen palveluissa naapurikunnassa."
    declined = post(
        client, f"/officer/referrals/{referral.id}/decline", {"version": version, "decline_reason": reason}
    )
    assert declined.status_code == 303
    (referral,) = stored(db)
    assert (referral.status, referral.decline_reason, referral.decided_by_id) == (
        ReferralStatus.DECLINED,
        reason,
        officer.id,
    )
    assert referral.client_id is None and db.scalar(select(func.count()).select_from(OutreachItem)) == 0
    (decision,) = [e for e in events(db) if e.action == "update"]
    assert sorted(decision.fields) == ["decided_at", "decided_by_id", "decline_reason", "status"]
    assert reason in client.get(f"/officer/referrals/{referral.id}").text

    outbox_tests.deliver(smtp(settings, mailbox))
    (notice,) = [m for m in mailbox.messages() if "not accepted" in m["Subject"]]
    body = notice.get_body(("plain",))
    assert body is not None and "naapurikunnassa" not in body.get_content()
    assert "contact the integration services of Kotokunta" in body.get_content()


def test_a_decision_on_a_referral_decided_meanwhile_is_refused_with_the_input_kept(
    client: TestClient[Litestar], db: Session, officer: Staff
) -> None:
    referral = received(client, db)
    sign_in(client, officer)
    version = version_of(client.get(f"/officer/referrals/{referral.id}").text)
    assert (
        post(
            client, f"/officer/referrals/{referral.id}/accept", {"version": version, "client": "new"}
        ).status_code
        == 303
    )
    late = post(
        client,
        f"/officer/referrals/{referral.id}/decline",
        {"version": version, "decline_reason": "Myöhässä tehty päätös"},
    )
    assert late.status_code == 409
    assert "Someone accepted this referral while you were deciding" in late.text
    assert "Myöhässä tehty päätös" in late.text
    again = post(client, f"/officer/referrals/{referral.id}/accept", {"version": version, "client": "new"})
    assert again.status_code == 409
    assert db.scalar(select(func.count()).select_from(Client)) == 1
    (referral,) = stored(db)
    assert referral.status == ReferralStatus.ACCEPTED and referral.decline_reason is None
    assert len(outbox_rows(db)) == 2  # the acknowledgement and one decision


def test_another_organisations_referral_is_not_found_and_county_staff_have_no_inbox(
    client: TestClient[Litestar], db: Session, factory: Factory, home: Organisation, officer: Staff
) -> None:
    referral = received(client, db)
    neighbour = factory.organisation("Naapurikunta")
    stranger = factory.staff(neighbour, Role.INTEGRATION_OFFICER)
    sign_in(client, stranger)
    assert "Haidari" not in client.get("/officer/referrals").text
    assert client.get(f"/officer/referrals/{referral.id}").status_code == 404
    version = str(referral.version)
    assert (
        post(
            client, f"/officer/referrals/{referral.id}/accept", {"version": version, "client": "new"}
        ).status_code
        == 404
    )
    assert (
        post(
            client, f"/officer/referrals/{referral.id}/decline", {"version": version, "decline_reason": "x"}
        ).status_code
        == 404
    )
    client.cookies.clear()
    county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    sign_in(client, factory.staff(county, Role.COUNTY_TEAM_MEMBER))
    assert client.get("/officer/referrals").status_code == 403
    assert client.get(f"/officer/referrals/{referral.id}").status_code == 403
    assert (
        post(
            client, f"/officer/referrals/{referral.id}/decline", {"version": version, "decline_reason": "x"}
        ).status_code
        == 403
    )
    client.cookies.clear()
    sign_in(client, factory.staff(home, Role.MANAGER))  # reads clients but does no outreach
    assert client.get("/officer/referrals").status_code == 403
    (referral,) = stored(db)
    assert referral.status == ReferralStatus.RECEIVED
    assert db.scalar(select(func.count()).select_from(Client)) == 0
