"""Multi-sector cooperation with the wellbeing services county (services 6 and 18), the staff side: the
officer asks with the client's consent; the county team answers in its inbox; accepting grants the named
county staff access to that client only (health data only when the consent covers it); ending takes the
access away on the next request; county notes are seen by the author's organisation, the shared ones by
the responsible organisation, and by nobody else."""

from __future__ import annotations

from datetime import date

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from app.db.audit import AuditEvent
from app.db.client import ClientAccessGrant, Consent, ConsentPurpose, DataCategory, HealthInformation
from app.db.cooperation import CooperationStatus, CountyCooperation, CountyNote
from app.db.organisation import OrganisationType, Role
from app.domain.forms import today
from tests.conftest import client_section, post, sign_in
from tests.integration.test_me_plan import make_plan

BORN = date(1984, 5, 17)
HEALTH_TEXT = "Selkävaiva rajoittaa seisomatyötä"
REASON = "Mielenterveyspalvelujen tarve ja kuntoutus"
CONTACT = "p. 040 123 4567, sari.niemi@hyvinvointialue.example.fi"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


class Scene:
    def __init__(self, factory, db):
        self.home = factory.organisation("Kotikunta")
        self.officer = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.county = factory.organisation("Hyvinvointialue A", OrganisationType.WELLBEING_COUNTY)
        self.sari = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.colleague = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.other_county = factory.organisation("Hyvinvointialue B", OrganisationType.WELLBEING_COUNTY)
        self.stranger = factory.staff(self.other_county, Role.COUNTY_TEAM_MEMBER)
        self.person = factory.client(
            self.home, first_names="Amina", last_name="Warsame", date_of_birth=BORN, identity_code=None
        )
        db.add(
            HealthInformation(
                client_id=self.person.id, text=HEALTH_TEXT, source="Asiakas", recorded_by_id=self.officer.id
            )
        )
        db.commit()
        self.db = db

    def cooperation(self, county=None) -> CountyCooperation:
        self.db.expire_all()
        return self.db.scalar(
            select(CountyCooperation)
            .where(
                CountyCooperation.client_id == self.person.id,
                CountyCooperation.county_id == (county or self.county).id,
            )
            .order_by(CountyCooperation.requested_at.desc())
        )

    def grants(self, staff=None) -> list[ClientAccessGrant]:
        self.db.expire_all()
        statement = select(ClientAccessGrant).where(ClientAccessGrant.client_id == self.person.id)
        if staff is not None:
            statement = statement.where(ClientAccessGrant.staff_id == staff.id)
        return list(self.db.scalars(statement).all())


@pytest.fixture
def scene(factory, db) -> Scene:
    return Scene(factory, db)


def as_(client, staff) -> None:
    client.cookies.clear()
    sign_in(client, staff)


def ask(client, scene: Scene, *, county=None, share_health=False, **overrides) -> object:
    data = {
        "county_id": str((county or scene.county).id),
        "reason": REASON,
        "consent_given": "on",
        "consent_decided_on": today().isoformat(),
    }
    if share_health:
        data["share_health"] = "on"
    data.update(overrides)
    return post(client, f"/officer/clients/{scene.person.id}/cooperation", data)


def accept(client, record: CountyCooperation, responsible, *members, version=None, contact=CONTACT):
    body = [
        ("version", str(record.version if version is None else version)),
        ("responsible_staff_id", str(responsible.id)),
        ("contact_details", contact),
    ] + [("member", str(m.id)) for m in members]
    return post(client, f"/officer/cooperation/{record.id}/accept", body)


def requested(client, scene: Scene, **kwargs) -> CountyCooperation:
    """The officer asks (signed in as the officer); the request as stored."""
    as_(client, scene.officer)
    assert ask(client, scene, **kwargs).status_code == 303
    return scene.cooperation()


def accepted(client, scene: Scene, *members, share_health=False) -> CountyCooperation:
    record = requested(client, scene, share_health=share_health)
    as_(client, scene.sari)
    assert accept(client, record, scene.sari, *members).status_code == 303
    return scene.cooperation()


@pytest.mark.parametrize("share_health", [False, True])
def test_request_accept_take_part_and_end(client, scene, share_health):
    as_(client, scene.officer)
    page = client_section(client, scene.person.id, "cooperation")
    assert "Ask a wellbeing services county to take part" in page.text
    assert ask(client, scene, share_health=share_health).status_code == 303
    record = scene.cooperation()
    assert record.status == CooperationStatus.REQUESTED and record.share_health is share_health
    consent = scene.db.get(Consent, record.consent_id)
    assert consent.purpose == ConsentPurpose.WELLBEING_COUNTY_SHARING and consent.given
    assert consent.decided_on == today()
    assert scene.grants() == []

    # The county team sees the request in its inbox, with what identifies the client; no access yet.
    as_(client, scene.sari)
    assert client.get(f"/officer/clients/{scene.person.id}").status_code == 404
    inbox = client.get("/officer/cooperation")
    assert inbox.status_code == 200
    assert "Warsame, Amina" in inbox.text and format_date(BORN, "short", locale="en") in inbox.text
    assert "Kotikunta" in inbox.text and REASON in inbox.text
    request_page = client.get(f"/officer/cooperation/{record.id}")
    assert request_page.status_code == 200 and "Accept and take part" in request_page.text

    assert accept(client, record, scene.sari).status_code == 303
    record = scene.cooperation()
    assert record.status == CooperationStatus.ACCEPTED
    assert record.responsible_staff_id == scene.sari.id and record.contact_details == CONTACT
    grants = scene.grants(scene.sari)
    expected = {DataCategory.BASIC, DataCategory.HEALTH} if share_health else {DataCategory.BASIC}
    assert {g.category for g in grants} == expected
    assert all(g.cooperation_id == record.id and g.granted_by_id == scene.sari.id for g in grants)

    # The county member opens the client: basic data; health data only when the consent covers it.
    page = client.get(f"/officer/clients/{scene.person.id}")
    assert page.status_code == 200
    assert "Warsame, Amina" in page.text
    assert ('id="health"' in page.text) is share_health
    health = client_section(client, scene.person.id, "health")
    assert health.status_code == (200 if share_health else 404)
    assert (HEALTH_TEXT in health.text) is share_health
    assert 'id="app-access"' not in page.text
    assert client.get(f"/officer/clients/{scene.person.id}/app-access").status_code == 404
    section = client_section(client, scene.person.id, "cooperation")
    assert "In cooperation" in section.text and "Add a note" in section.text

    # The officer sees who is responsible in the county and how to reach them, and ends the cooperation.
    as_(client, scene.officer)
    page = client_section(client, scene.person.id, "cooperation")
    assert "In cooperation" in page.text and scene.sari.full_name in page.text and CONTACT in page.text
    ended = post(
        client,
        f"/officer/clients/{scene.person.id}/cooperation/{record.id}/end",
        {"version": str(record.version), "end_reason": "Palvelut järjestetty"},
    )
    assert ended.status_code == 303
    assert scene.cooperation().status == CooperationStatus.ENDED
    assert all(g.ended_at is not None for g in scene.grants())

    # The access is gone on the next request.
    as_(client, scene.sari)
    assert client.get(f"/officer/clients/{scene.person.id}").status_code == 404
    assert post(client, f"/officer/clients/{scene.person.id}/county-notes", {"topic": "plan_contribution",
                                                                              "text": "x"}).status_code == 404  # fmt: skip
    events = scene.db.scalars(
        select(AuditEvent.object_type).where(
            AuditEvent.client_id == scene.person.id, AuditEvent.action.in_(["create", "update"])
        )
    ).all()
    assert {"consent", "county_cooperation", "client_access_grant"} <= set(events)


def test_the_county_declines_with_a_reason_and_may_be_asked_again(client, scene):
    record = requested(client, scene)
    as_(client, scene.sari)
    missing = post(client, f"/officer/cooperation/{record.id}/decline", {"version": str(record.version)})
    assert missing.status_code == 422 and "Say why the county does not take part." in missing.text
    answer = post(
        client,
        f"/officer/cooperation/{record.id}/decline",
        {"version": str(record.version), "decline_reason": "Ei kuulu alueemme palveluihin"},
    )
    assert answer.status_code == 303
    assert scene.cooperation().status == CooperationStatus.DECLINED
    assert scene.grants() == []
    assert "Warsame" not in client.get("/officer/cooperation").text

    as_(client, scene.officer)
    page = client_section(client, scene.person.id, "cooperation")
    assert "Declined by the county" in page.text and "Ei kuulu alueemme palveluihin" in page.text
    assert ask(client, scene).status_code == 303  # a declined request is not open: ask again
    assert scene.cooperation().status == CooperationStatus.REQUESTED


def test_the_officer_withdraws_an_unanswered_request_and_the_county_can_no_longer_accept_it(client, scene):
    record = requested(client, scene)
    withdrawn = post(
        client,
        f"/officer/clients/{scene.person.id}/cooperation/{record.id}/withdraw",
        {"version": str(record.version)},
    )
    assert withdrawn.status_code == 303
    assert scene.cooperation().status == CooperationStatus.WITHDRAWN
    assert "Request withdrawn" in client.get(withdrawn.headers["location"]).text  # the section, open

    as_(client, scene.sari)
    assert "Warsame" not in client.get("/officer/cooperation").text
    late = accept(client, record, scene.sari)
    assert late.status_code == 409 and "Request withdrawn" in late.text
    assert scene.grants() == []


def test_one_open_request_per_client_and_county(client, scene):
    requested(client, scene)
    again = ask(client, scene, reason="Toinen pyyntö")
    assert again.status_code == 409
    assert "already has an open request" in again.text and "Toinen pyyntö" in again.text
    assert ask(client, scene, county=scene.other_county).status_code == 303  # another county is fine
    count = scene.db.scalar(select(func.count()).select_from(CountyCooperation))
    assert count == 2


def test_another_county_neither_sees_nor_answers_the_request(client, scene):
    record = requested(client, scene)
    as_(client, scene.stranger)
    assert "Warsame" not in client.get("/officer/cooperation").text
    assert client.get(f"/officer/cooperation/{record.id}").status_code == 404
    assert accept(client, record, scene.stranger).status_code == 404
    assert accept(client, record, scene.sari).status_code == 404
    declined = post(
        client, f"/officer/cooperation/{record.id}/decline", {"version": "1", "decline_reason": "x"}
    )
    assert declined.status_code == 404
    ended = post(client, f"/officer/cooperation/{record.id}/end", {"version": "1", "end_reason": "x"})
    assert ended.status_code == 404
    assert scene.cooperation().status == CooperationStatus.REQUESTED

    # An integration officer has no inbox.
    as_(client, scene.officer)
    assert client.get("/officer/cooperation").status_code == 403
    assert client.get(f"/officer/cooperation/{record.id}").status_code == 403


def test_another_municipality_cannot_ask_or_withdraw_for_the_client(client, factory, scene):
    record = requested(client, scene)
    other = factory.staff(factory.organisation("Muukunta"), Role.INTEGRATION_OFFICER)
    as_(client, other)
    assert ask(client, scene).status_code == 404
    withdrawn = post(
        client, f"/officer/clients/{scene.person.id}/cooperation/{record.id}/withdraw", {"version": "1"}
    )
    assert withdrawn.status_code == 404
    assert scene.cooperation().status == CooperationStatus.REQUESTED


def test_only_the_named_county_staff_get_access(client, scene, factory):
    third = factory.staff(scene.county, Role.COUNTY_TEAM_MEMBER)
    accepted(client, scene, third)
    assert {g.staff_id for g in scene.grants()} == {scene.sari.id, third.id}

    as_(client, scene.colleague)  # same county, not named
    assert client.get(f"/officer/clients/{scene.person.id}").status_code == 404
    inbox = client.get("/officer/cooperation")
    assert "Warsame, Amina" in inbox.text and "Open the client page" not in inbox.text

    as_(client, third)  # named as a team member
    assert client.get(f"/officer/clients/{scene.person.id}").status_code == 200


def test_the_county_ends_the_cooperation_and_the_access_goes(client, scene):
    record = accepted(client, scene)
    missing = post(client, f"/officer/cooperation/{record.id}/end", {"version": str(record.version)})
    assert missing.status_code == 422 and "Say why the cooperation ends." in missing.text
    ended = post(
        client,
        f"/officer/cooperation/{record.id}/end",
        {"version": str(record.version), "end_reason": "Asiakas muutti"},
    )
    assert ended.status_code == 303
    assert client.get(f"/officer/clients/{scene.person.id}").status_code == 404
    as_(client, scene.officer)
    page = client_section(client, scene.person.id, "cooperation")
    assert "Cooperation ended" in page.text and "Asiakas muutti" in page.text


def test_accepting_a_request_answered_meanwhile_is_refused_and_keeps_the_input(client, scene):
    record = requested(client, scene)
    as_(client, scene.colleague)
    declined = post(
        client,
        f"/officer/cooperation/{record.id}/decline",
        {"version": str(record.version), "decline_reason": "Ei resursseja"},
    )
    assert declined.status_code == 303

    as_(client, scene.sari)  # opened the page before the colleague answered
    late = accept(client, record, scene.sari, contact="p. 040 999 8888")
    assert late.status_code == 409
    assert "Someone else answered or changed this request" in late.text
    assert "Declined by the county" in late.text and "p. 040 999 8888" in late.text
    assert scene.grants() == []

    stale = accept(client, record, scene.sari, version=record.version + 5)
    assert stale.status_code == 409


def test_accept_names_a_county_team_member_and_contact_details(client, scene):
    record = requested(client, scene)
    as_(client, scene.sari)
    no_contact = accept(client, record, scene.sari, contact="")
    assert no_contact.status_code == 422 and "Give the contact details" in no_contact.text
    outsider = accept(client, record, scene.stranger)  # another county's staff cannot be named
    assert outsider.status_code == 422 and "Choose one of the county team members" in outsider.text
    assert scene.cooperation().status == CooperationStatus.REQUESTED
    assert scene.grants() == []


def test_a_request_needs_the_clients_consent_and_keeps_the_input(client, scene):
    as_(client, scene.officer)
    answer = ask(client, scene, consent_given="", reason="Tarvitaan sosiaalityön tukea")
    assert answer.status_code == 422
    assert "consent is needed before their data is shared with the county" in answer.text
    assert "Tarvitaan sosiaalityön tukea" in answer.text
    assert f'value="{scene.county.id}" selected' in answer.text
    no_reason = ask(client, scene, reason="")
    assert no_reason.status_code == 422 and "Say why the county is needed" in no_reason.text
    assert scene.db.scalar(select(func.count()).select_from(CountyCooperation)) == 0
    assert scene.db.scalar(select(func.count()).select_from(Consent)) == 0


def test_county_staff_may_not_ask_and_managers_only_read(client, factory, scene):
    record = accepted(client, scene)
    assert ask(client, scene).status_code == 403  # signed in as the county member
    assert (
        post(
            client,
            f"/officer/clients/{scene.person.id}/cooperation/{record.id}/end",
            {"version": str(record.version), "end_reason": "x"},
        ).status_code
        == 403
    )
    manager = factory.staff(scene.home, Role.MANAGER)
    as_(client, manager)
    page = client_section(client, scene.person.id, "cooperation")
    assert "In cooperation" in page.text and "End the cooperation" not in page.text
    assert ask(client, scene).status_code == 403


def note(client, scene: Scene, text: str, *, shared: bool, **extra):
    data = {"topic": "mental_health_rehabilitation", "text": text, **extra}
    if shared:
        data["shared"] = "on"
    return post(client, f"/officer/clients/{scene.person.id}/county-notes", data)


def test_county_notes_are_seen_by_their_organisation_and_shared_ones_by_the_responsible_one(
    client, scene, factory
):
    plan = make_plan(scene.db, scene.home, scene.officer, scene.person)
    accepted(client, scene, scene.colleague)
    missing = note(client, scene, "", shared=False)
    assert missing.status_code == 422 and "Write the note." in missing.text
    assert note(client, scene, "Vain alueen tieto", shared=False).status_code == 303
    assert note(client, scene, "Yhteinen havainto", shared=True, plan_id=str(plan.id)).status_code == 303
    saved = scene.db.scalars(select(CountyNote)).all()
    assert {n.organisation_id for n in saved} == {scene.county.id}
    assert next(n for n in saved if n.shared).plan_id == plan.id

    page = client_section(client, scene.person.id, "cooperation")  # the author's own organisation: both
    assert "Vain alueen tieto" in page.text and "Yhteinen havainto" in page.text
    as_(client, scene.colleague)
    page = client_section(client, scene.person.id, "cooperation")
    assert "Vain alueen tieto" in page.text and "Yhteinen havainto" in page.text

    # The responsible organisation: the shared note only, on the client page and with the plan.
    as_(client, scene.officer)
    page = client_section(client, scene.person.id, "cooperation")
    assert "Yhteinen havainto" in page.text and "Vain alueen tieto" not in page.text
    fragment = client.get(
        f"/officer/clients/{scene.person.id}/county-notes?plan_id={plan.id}", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "Yhteinen havainto" in fragment.text
    assert "<html" not in fragment.text and "Vain alueen tieto" not in fragment.text
    plan_page = client.get(f"/officer/plans/{plan.id}")
    assert f"/officer/clients/{scene.person.id}/county-notes?plan_id={plan.id}" in plan_page.text
    assert note(client, scene, "Virkailija", shared=True).status_code == 403  # notes are the county's

    # Another county taking part for the same client sees neither of the first county's notes.
    as_(client, scene.officer)
    assert ask(client, scene, county=scene.other_county).status_code == 303
    as_(client, scene.stranger)
    assert accept(client, scene.cooperation(scene.other_county), scene.stranger).status_code == 303
    page = client_section(client, scene.person.id, "cooperation")
    assert page.status_code == 200
    assert "Yhteinen havainto" not in page.text and "Vain alueen tieto" not in page.text
    everything = client.get(f"/officer/clients/{scene.person.id}/county-notes")
    assert everything.status_code == 200 and "Yhteinen havainto" not in everything.text
    # Nor another municipality, whatever the id.
    outsider = factory.staff(factory.organisation("Muukunta"), Role.INTEGRATION_OFFICER)
    as_(client, outsider)
    assert client.get(f"/officer/clients/{scene.person.id}/county-notes").status_code == 404

    views = scene.db.scalars(
        select(AuditEvent.actor_id).where(
            AuditEvent.object_type == "county_note", AuditEvent.action == "view"
        )
    ).all()
    assert {scene.sari.id, scene.colleague.id, scene.officer.id} <= set(views)
    created = scene.db.scalar(
        select(func.count()).where(AuditEvent.object_type == "county_note", AuditEvent.action == "create")
    )
    assert created == 2


def test_a_county_member_without_a_cooperation_of_their_own_writes_no_notes(client, scene, db):
    """A plain grant (made outside a cooperation) lets the member read, not take part."""
    db.add(
        ClientAccessGrant(
            client_id=scene.person.id,
            staff_id=scene.sari.id,
            category=DataCategory.BASIC,
            granted_by_id=scene.officer.id,
            reason="Vanha lupa",
        )
    )
    db.commit()
    as_(client, scene.sari)
    page = client_section(client, scene.person.id, "cooperation")
    assert page.status_code == 200 and "Add a note" not in page.text
    assert note(client, scene, "Ei sallittu", shared=True).status_code == 403
    assert db.scalar(select(func.count()).select_from(CountyNote)) == 0


def test_a_withdrawn_consent_is_flagged_until_the_cooperation_ends(client, scene):
    record = accepted(client, scene)
    as_(client, scene.officer)
    assert "has withdrawn their consent" not in client_section(client, scene.person.id, "cooperation").text
    withdrawal = post(
        client,
        f"/officer/clients/{scene.person.id}/consents",
        {"purpose": "wellbeing_county_sharing", "given": "no", "decided_on": today().isoformat()},
    )
    assert withdrawal.status_code == 303
    assert "has withdrawn their consent" in client_section(client, scene.person.id, "cooperation").text
    as_(client, scene.sari)
    assert "has withdrawn their consent" in client_section(client, scene.person.id, "cooperation").text
    as_(client, scene.officer)
    post(
        client,
        f"/officer/clients/{scene.person.id}/cooperation/{record.id}/end",
        {"version": str(record.version), "end_reason": "Suostumus peruttu"},
    )
    assert "has withdrawn their consent" not in client_section(client, scene.person.id, "cooperation").text
