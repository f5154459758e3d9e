"""Guidance and counselling visits (service 4, process 3.4.7) through HTTP: the managed topic list, the
consent rule of decree 874/2024 (an identified visit only with the client's consent in force; a
withdrawn consent stops new ones and keeps the old; an anonymous visit carries no free text), the list,
same-day changes, the client page, who may do what, and retention keeping the visit without the person."""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientStatus,
    Consent,
    ConsentPurpose,
    DataCategory,
    EndReason,
)
from app.db.engine import make_engine
from app.db.guidance import (
    GuidanceTopic,
    GuidanceVisit,
    GuidanceVisitReferral,
    GuidanceVisitTopic,
    VisitChannel,
    VisitReferral,
)
from app.db.organisation import OrganisationType, Role
from app.domain import retention, rules
from app.domain.forms import today
from tests.conftest import client_section, post, sign_in

NOTE = "Asiakas kysyi asumistuesta; ohjattu Kelaan"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


class Scene:
    def __init__(self, factory, db: Session):
        self.db = db
        self.home = factory.organisation("Kotikunta")
        self.officer = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.colleague = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.manager = factory.staff(self.home, Role.MANAGER)
        self.other = factory.organisation("Naapurikunta")
        self.other_officer = factory.staff(self.other, Role.INTEGRATION_OFFICER)
        self.other_manager = factory.staff(self.other, Role.MANAGER)
        self.county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
        self.county_member = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.interpreter = factory.staff(self.home, Role.INTERPRETER)
        self.housing = self.topic("Asuminen", "Boende", "Housing", 1)
        self.kela = self.topic("Kela-etuudet", "FPA-förmåner", "Kela benefits", 2)
        self.work = self.topic("Työ", "Arbete", "Work", 3)
        self.old = self.topic("Koronarokotukset", "Coronavaccin", "COVID-19 vaccinations", 4, active=False)
        self.foreign_topic = self.topic("Asuminen", "Boende", "Housing", 1, org=self.other)
        self.amina = factory.client(self.home, first_names="Amina", last_name="Warsame", mother_tongue="so")
        self.omid = factory.client(self.home, first_names="Omid", last_name="Rahimi", mother_tongue="fa")
        self.foreign = factory.client(self.other, first_names="Olga", last_name="Ivanova")
        self.consent(self.amina, given=True)

    def topic(self, fi, sv, en, position, *, active=True, org=None) -> GuidanceTopic:
        row = GuidanceTopic(organisation_id=(org or self.home).id, name_fi=fi, name_sv=sv, name_en=en,
                            position=position, active=active)  # fmt: skip
        self.db.add(row)
        self.db.commit()
        return row

    def consent(self, person: Client, *, given: bool, at: datetime | None = None) -> Consent:
        row = Consent(client_id=person.id, purpose=ConsentPurpose.GUIDANCE_RECORDS, given=given,
                      decided_on=today(), recorded_by_id=self.officer.id,
                      recorded_at=at or datetime.now(UTC))  # fmt: skip
        self.db.add(row)
        self.db.commit()
        return row

    def visits(self) -> list[GuidanceVisit]:
        self.db.expire_all()
        return list(self.db.scalars(select(GuidanceVisit).order_by(GuidanceVisit.recorded_at)).all())

    def topic_ids(self, visit: GuidanceVisit) -> set[uuid.UUID]:
        return set(
            self.db.scalars(
                select(GuidanceVisitTopic.topic_id).where(GuidanceVisitTopic.visit_id == visit.id)
            )
        )


@pytest.fixture
def scene(factory, db) -> Scene:
    return Scene(factory, db)


def as_(client, staff) -> None:
    client.cookies.clear()
    sign_in(client, staff)


def visit_form(
    *topics: GuidanceTopic, referrals: tuple[VisitReferral, ...] = (), **fields: str
) -> list[tuple[str, str]]:
    values = {
        "visited_on": today().isoformat(),
        "channel": "walk_in",
        "duration_minutes": "25",
        "language": "so",
        "client_id": "",
    }
    values.update(fields)
    body = list(values.items())
    body += [("topic", str(t.id)) for t in topics]
    body += [("referral", r.value) for r in referrals]
    return body


def record(client, *topics: GuidanceTopic, **fields: Any) -> Any:
    return post(client, "/officer/guidance-visits", visit_form(*topics, **fields))


def visit_id_of(response) -> uuid.UUID:
    assert response.status_code == 303, response.text
    found = re.match(r"/officer/guidance-visits/([0-9a-f-]{36})", response.headers["location"])
    assert found, response.headers["location"]
    return uuid.UUID(found.group(1))


# --- the topic list -------------------------------------------------------------------------------------


def test_managers_add_rename_reorder_retire_and_reactivate_topics(client, scene, db):
    as_(client, scene.manager)
    page = client.get("/officer/guidance-topics")
    assert page.status_code == 200
    assert "Kela-etuudet" in page.text and "Retired topics" in page.text
    assert "Asuminen" in page.text and page.text.count("Asuminen") == 1  # not the other organisation's

    added = post(client, "/officer/guidance-topics", {"name_fi": "  Verotus ", "name_sv": "Beskattning",
                                                      "name_en": "Taxation"})  # fmt: skip
    assert added.status_code == 303
    tax = db.scalars(select(GuidanceTopic).where(GuidanceTopic.name_fi == "Verotus")).one()
    assert (tax.organisation_id, tax.active, tax.position) == (scene.home.id, True, 5)  # after every topic

    renamed = post(client, f"/officer/guidance-topics/{tax.id}", {"name_fi": "Verot", "name_sv": "Skatter",
                                                                   "name_en": "Taxes", "version": tax.version})  # fmt: skip
    assert renamed.status_code == 303
    db.expire_all()
    assert (tax.name_fi, tax.name_sv, tax.name_en) == ("Verot", "Skatter", "Taxes")

    # Moving up swaps places with the one above; the first cannot move further up.
    assert post(client, f"/officer/guidance-topics/{scene.work.id}/move",
                {"direction": "up", "version": scene.work.version}).status_code == 303  # fmt: skip
    db.expire_all()
    order = db.scalars(
        select(GuidanceTopic.name_fi)
        .where(GuidanceTopic.organisation_id == scene.home.id, GuidanceTopic.active.is_(True))
        .order_by(GuidanceTopic.position)
    ).all()
    assert order == ["Asuminen", "Työ", "Kela-etuudet", "Verot"]
    assert post(client, f"/officer/guidance-topics/{scene.housing.id}/move",
                {"direction": "up", "version": scene.housing.version}).status_code == 303  # fmt: skip

    # Retired: not offered to officers for new visits; reactivated: back at the end of the list.
    assert post(client, f"/officer/guidance-topics/{scene.kela.id}/retire",
                {"version": scene.kela.version}).status_code == 303  # fmt: skip
    assert post(client, f"/officer/guidance-topics/{scene.old.id}/reactivate",
                {"version": scene.old.version}).status_code == 303  # fmt: skip
    db.expire_all()
    assert not scene.kela.active and scene.old.active and scene.old.position == 6  # after Verot (5)
    as_(client, scene.officer)
    form = client.get("/officer/guidance-visits/new").text
    assert "Kela benefits" not in form and "COVID-19 vaccinations" in form and "Taxes" in form
    events = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "guidance_topic")).all()
    assert {e.action for e in events} == {"create", "update"} and all(e.client_id is None for e in events)


def test_a_duplicate_finnish_name_is_refused_whatever_the_case(client, scene, db):
    as_(client, scene.manager)
    response = post(
        client, "/officer/guidance-topics", {"name_fi": "kela-ETUUDET", "name_sv": "X", "name_en": "Y"}
    )
    assert response.status_code == 409
    assert "The list already has a topic with this Finnish name" in response.text
    assert 'value="kela-ETUUDET"' in response.text and 'value="Y"' in response.text
    # A retired topic's name is taken too (reactivate it instead); renaming onto another's name likewise.
    assert post(client, "/officer/guidance-topics", {"name_fi": "Koronarokotukset", "name_sv": "X",
                                                     "name_en": "Y"}).status_code == 409  # fmt: skip
    clash = post(client, f"/officer/guidance-topics/{scene.work.id}", {"name_fi": "Asuminen", "name_sv": "Arbete",
                                                                       "name_en": "Work", "version": scene.work.version})  # fmt: skip
    assert clash.status_code == 409 and "already has a topic" in clash.text
    # The other organisation's list is its own.
    assert post(client, "/officer/guidance-topics", {"name_fi": "Perheasiat", "name_sv": "Familj",
                                                     "name_en": "Family"}).status_code == 303  # fmt: skip
    assert (
        db.scalar(select(func.count()).select_from(GuidanceTopic).where(GuidanceTopic.name_fi == "Asuminen"))
        == 2
    )


def test_topic_names_are_required_and_a_stale_rename_is_refused(client, scene, db):
    as_(client, scene.manager)
    missing = post(
        client, "/officer/guidance-topics", {"name_fi": "Koulutus", "name_sv": "", "name_en": "Education"}
    )
    assert missing.status_code == 422
    assert (
        "Give the topic's name in Swedish." in html.unescape(missing.text)
        and 'value="Koulutus"' in missing.text
    )
    assert 'aria-invalid="true"' in missing.text
    stale = post(client, f"/officer/guidance-topics/{scene.work.id}", {"name_fi": "Työelämä", "name_sv": "Arbetsliv",
                                                                       "name_en": "Working life", "version": "0"})  # fmt: skip
    assert stale.status_code == 409
    assert "Someone else changed this topic" in stale.text and 'value="Työelämä"' in stale.text
    db.expire_all()
    assert scene.work.name_fi == "Työ"
    retire = post(client, f"/officer/guidance-topics/{scene.work.id}/retire", {"version": "0"})
    assert retire.status_code == 409
    db.expire_all()
    assert scene.work.active


# --- recording visits: the consent rule ------------------------------------------------------------------


def test_an_anonymous_visit_keeps_only_the_facts(client, scene, db):
    as_(client, scene.officer)
    response = record(client, scene.housing, scene.kela, referrals=(VisitReferral.KELA, VisitReferral.HOUSING),
                      channel="phone", duration_minutes="40", language="ar", interpreter_used="on")  # fmt: skip
    visit_id = visit_id_of(response)
    (visit,) = scene.visits()
    assert visit.id == visit_id
    assert (visit.client_id, visit.consent_id, visit.note) == (None, None, None)
    assert (visit.channel, visit.duration_minutes, visit.language, visit.interpreter_used) == (
        VisitChannel.PHONE, 40, "ar", True,
    )  # fmt: skip
    assert (visit.organisation_id, visit.recorded_by_id, visit.visited_on) == (
        scene.home.id,
        scene.officer.id,
        today(),
    )
    assert scene.topic_ids(visit) == {scene.housing.id, scene.kela.id}
    referrals = set(db.scalars(select(GuidanceVisitReferral.referral)))
    assert referrals == {VisitReferral.KELA, VisitReferral.HOUSING}
    page = client.get(response.headers["location"])
    assert (
        "The visit was recorded." in page.text and "Anonymous" in page.text and "Kela benefits" in page.text
    )
    created = db.scalars(select(AuditEvent).where(AuditEvent.action == "create")).one()
    assert created.client_id is None and created.object_type == "guidance_visit"
    assert "note" not in created.fields


def test_an_anonymous_visit_with_a_note_is_refused(client, scene):
    as_(client, scene.officer)
    response = record(client, scene.housing, note="Nimi ja puhelinnumero")
    assert response.status_code == 422
    assert "An anonymous visit is kept without any notes" in response.text
    assert "Nimi ja puhelinnumero" in response.text  # the input stays for the officer to clear
    assert scene.visits() == []


def test_an_identified_visit_needs_the_clients_consent(client, scene, db):
    as_(client, scene.officer)
    # Omid has no consent: refused, with the ways forward and the input kept.
    refused = record(client, scene.work, client_id=str(scene.omid.id), note=NOTE, duration_minutes="35")
    assert refused.status_code == 422
    assert "The client has not consented to keeping records" in refused.text
    assert "Record the visit anonymously instead" in refused.text
    assert 'name="record_consent"' in refused.text  # the officer may change the client
    assert NOTE in refused.text and 'value="35"' in refused.text
    assert scene.visits() == []

    # With the consent recorded in the same form: a consent row (audited) and the visit under it.
    saved = record(client, scene.work, client_id=str(scene.omid.id), note=NOTE, record_consent="on")
    visit_id_of(saved)
    (visit,) = scene.visits()
    consent = db.scalars(select(Consent).where(Consent.client_id == scene.omid.id)).one()
    assert (
        consent.given and consent.purpose == ConsentPurpose.GUIDANCE_RECORDS and consent.decided_on == today()
    )
    assert (visit.client_id, visit.consent_id, visit.note) == (scene.omid.id, consent.id, NOTE)
    consent_event = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "consent")).one()
    assert consent_event.action == "create" and consent_event.client_id == scene.omid.id
    visit_event = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "guidance_visit",
                                                      AuditEvent.action == "create")).one()  # fmt: skip
    assert visit_event.client_id == scene.omid.id and "note" in visit_event.fields
    assert NOTE not in json.dumps([e.fields for e in db.scalars(select(AuditEvent))])

    # Amina consented earlier: her visit is kept under that consent.
    visit_id_of(record(client, scene.housing, client_id=str(scene.amina.id), note="Vuokrasopimus"))
    amina = db.scalars(select(GuidanceVisit).where(GuidanceVisit.client_id == scene.amina.id)).one()
    assert amina.consent_id == db.scalars(select(Consent.id).where(Consent.client_id == scene.amina.id)).one()


def test_without_consent_the_visit_can_be_kept_anonymously(client, scene):
    as_(client, scene.officer)
    response = record(client, scene.work, client_id=str(scene.omid.id), note=NOTE, save_anonymously="1")
    visit_id_of(response)
    (visit,) = scene.visits()
    assert (visit.client_id, visit.consent_id, visit.note) == (None, None, None)


def test_a_withdrawn_consent_stops_new_visits_and_keeps_the_old_ones(client, scene, db):
    as_(client, scene.officer)
    old = visit_id_of(record(client, scene.housing, client_id=str(scene.amina.id), note="Ensimmäinen käynti"))
    withdrawn = post(client, f"/officer/clients/{scene.amina.id}/consents",
                     {"purpose": "guidance_records", "given": "no", "decided_on": today().isoformat()})  # fmt: skip
    assert withdrawn.status_code == 303
    refused = record(client, scene.kela, client_id=str(scene.amina.id))
    assert refused.status_code == 422 and "withdrew their consent" in refused.text
    assert [v.id for v in scene.visits()] == [old]  # the old one stays, with its note and consent
    (kept,) = scene.visits()
    assert kept.client_id == scene.amina.id and kept.note == "Ensimmäinen käynti" and kept.consent_id
    # It is no longer changed; the officer may still delete it.
    edit = client.get(f"/officer/guidance-visits/{old}/edit")
    assert edit.status_code == 409 and "no longer consents" in edit.text
    changed = post(client, f"/officer/guidance-visits/{old}",
                   visit_form(scene.work, client_id="", version=str(kept.version), note="Muutettu"))  # fmt: skip
    assert changed.status_code == 409
    db.expire_all()
    assert kept.note == "Ensimmäinen käynti"
    section = client_section(client, scene.amina.id, "guidance-visits").text
    assert "withdrew their consent to keeping records" in section and "Ensimmäinen käynti" in section
    # The consent given again: new visits are kept again.
    scene.consent(scene.amina, given=True, at=datetime.now(UTC) + timedelta(seconds=1))
    visit_id_of(record(client, scene.kela, client_id=str(scene.amina.id)))


def test_bad_input_is_shown_again_with_every_value_kept(client, scene):
    as_(client, scene.officer)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    response = post(client, "/officer/guidance-visits", visit_form(
        scene.old, visited_on=tomorrow, duration_minutes="601", language="xx", channel="pigeon",
        referrals=(VisitReferral.KELA,),
    ))  # fmt: skip
    assert response.status_code == 422
    page = response.text
    for message in (
        "The date cannot be in the future.",
        "Choose topics from the list.",  # a retired topic is not offered for new visits
        "Give the duration as whole minutes from 1 to 600.",
        "Choose one of the options.",
    ):
        assert message in page
    assert f'value="{tomorrow}"' in page and 'value="601"' in page
    assert f'value="{VisitReferral.KELA.value}" checked' in page
    none_chosen = post(client, "/officer/guidance-visits", visit_form(duration_minutes="0"))
    assert none_chosen.status_code == 422
    assert "Choose at least one topic." in none_chosen.text
    assert "Give the duration as whole minutes from 1 to 600." in none_chosen.text
    assert scene.visits() == []


def test_the_client_search_in_the_form_keeps_the_input_and_shows_consent(client, scene, db):
    as_(client, scene.officer)
    body = [*visit_form(scene.kela, duration_minutes="15"), ("client_query", "Rahimi")]
    found = post(client, "/officer/guidance-visits/new/find-client", body)
    assert found.status_code == 200
    assert "Rahimi, Omid" in found.text and "no consent recorded" in found.text
    assert 'value="15"' in found.text and f'value="{scene.kela.id}" checked' in found.text
    other = post(client, "/officer/guidance-visits/new/find-client", [("client_query", "Ivanova")])
    assert "Ivanova, Olga" not in other.text and "No clients found." in other.text
    searches = db.scalars(select(AuditEvent).where(AuditEvent.action == "search")).all()
    assert searches and "Rahimi" not in json.dumps([e.fields for e in searches])
    # Started from the client page: the client is chosen and their consent shown.
    started = client.get(f"/officer/guidance-visits/new?client_id={scene.amina.id}")
    assert started.status_code == 200
    assert (
        f'value="{scene.amina.id}" checked' in started.text and "consent to guidance records" in started.text
    )


# --- the list, changes and the client page -----------------------------------------------------------


def test_the_list_shows_own_visits_by_default_with_filters_and_pages(client, scene, app, db):
    as_(client, scene.colleague)
    visit_id_of(record(client, scene.work, channel="chat"))
    as_(client, scene.officer)
    for n in range(3):
        visit_id_of(record(client, scene.housing, scene.kela, channel="phone", duration_minutes=str(10 + n)))
    visit_id_of(record(client, scene.housing, client_id=str(scene.amina.id), note="Vuokra-asia"))
    db.execute(update(GuidanceVisit).where(GuidanceVisit.duration_minutes == 12)
               .values(visited_on=today() - timedelta(days=200)))  # fmt: skip
    db.commit()

    mine = client.get("/officer/guidance-visits")
    assert mine.status_code == 200
    assert mine.text.count('<tr>\n      <th scope="row">') == 3  # two phone visits in the period, Amina's
    assert "Warsame, Amina" in mine.text and "Chat" not in mine.text.split("<tbody>")[1]
    everyone = client.get("/officer/guidance-visits?whose=all")
    assert everyone.text.count('<tr>\n      <th scope="row">') == 4
    chats = client.get("/officer/guidance-visits?whose=all&channel=chat")
    assert chats.text.count('<tr>\n      <th scope="row">') == 1
    kela = client.get(f"/officer/guidance-visits?topic={scene.kela.id}")
    assert kela.text.count('<tr>\n      <th scope="row">') == 2
    longer = client.get(f"/officer/guidance-visits?from={(today() - timedelta(days=365)).isoformat()}")
    assert longer.text.count('<tr>\n      <th scope="row">') == 4
    bad = client.get("/officer/guidance-visits?from=31.2.2025&channel=fax")
    assert (
        bad.status_code == 422
        and 'value="31.2.2025"' in bad.text
        and "Choose one of the options." in bad.text
    )
    assert client.get(f"/officer/guidance-visits?topic={scene.foreign_topic.id}").status_code == 422

    # Pages of fifty, and the queries do not grow with the rows shown (no query per visit).
    visit = scene.visits()[0]
    many = []
    for n in range(55):
        row = GuidanceVisit(organisation_id=scene.home.id, visited_on=today() - timedelta(days=n % 30),
                            channel=VisitChannel.WALK_IN, duration_minutes=5, language="fi",
                            recorded_by_id=scene.officer.id)  # fmt: skip
        many.append(row)
    db.add_all(many)
    db.commit()
    db.add_all([GuidanceVisitTopic(visit_id=row.id, topic_id=scene.work.id) for row in many])
    db.add_all([GuidanceVisitReferral(visit_id=row.id, referral=VisitReferral.OTHER) for row in many])
    db.commit()
    statements: list[str] = []
    engine = app.state["alchemy"].engine_instance.sync_engine  # the app's own engine
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        first = client.get("/officer/guidance-visits")
        on_first = [s for s in statements if "guidance" in s]
        statements.clear()
        second = client.get("/officer/guidance-visits?page=2")
        on_second = [s for s in statements if "guidance" in s]
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert first.text.count('<tr>\n      <th scope="row">') == 50 and "Next page" in first.text
    # Mine in the period: two phone visits, Amina's and the 55 more.
    assert second.text.count('<tr>\n      <th scope="row">') == 58 - 50 and "Previous page" in second.text
    assert len(on_first) == len(on_second) <= 5, on_first
    assert visit.id  # the first one recorded is still there


def test_the_recorder_changes_or_deletes_a_visit_on_the_same_day(client, scene, db):
    as_(client, scene.officer)
    visit_id = visit_id_of(record(client, scene.housing, client_id=str(scene.amina.id), note="Alku"))
    (visit,) = scene.visits()
    edit = client.get(f"/officer/guidance-visits/{visit_id}/edit")
    assert (
        edit.status_code == 200 and "Alku" in edit.text and f'value="{scene.housing.id}" checked' in edit.text
    )
    changed = post(client, f"/officer/guidance-visits/{visit_id}", visit_form(
        scene.kela, scene.work, channel="email", duration_minutes="5", version=str(visit.version), note="Muutettu",
    ))  # fmt: skip
    assert changed.status_code == 303
    db.expire_all()
    assert (visit.channel, visit.duration_minutes, visit.note) == (VisitChannel.EMAIL, 5, "Muutettu")
    assert scene.topic_ids(visit) == {scene.kela.id, scene.work.id}
    assert visit.client_id == scene.amina.id  # who it was with does not change
    # A form opened before that save: refused, the input kept.
    stale = post(client, f"/officer/guidance-visits/{visit_id}", visit_form(
        scene.housing, version="1", duration_minutes="99", note="Vanha lomake",
    ))  # fmt: skip
    assert stale.status_code == 409 and "Someone else changed or deleted this visit" in stale.text
    assert 'value="99"' in stale.text
    db.expire_all()
    assert visit.duration_minutes == 5
    # Another officer may read it, not change it.
    as_(client, scene.colleague)
    assert client.get(f"/officer/guidance-visits/{visit_id}").status_code == 200
    assert client.get(f"/officer/guidance-visits/{visit_id}/edit").status_code == 403
    assert (
        post(client, f"/officer/guidance-visits/{visit_id}/delete", {"version": visit.version}).status_code
        == 403
    )
    # The next day the visit is part of the statistics as it is.
    as_(client, scene.officer)
    db.execute(update(GuidanceVisit).where(GuidanceVisit.id == visit_id)
               .values(recorded_at=datetime.now(UTC) - timedelta(days=1)))  # fmt: skip
    db.commit()
    late = post(client, f"/officer/guidance-visits/{visit_id}/delete", {"version": visit.version + 1})
    assert late.status_code == 409 and "only on the day it was recorded" in late.text
    assert len(scene.visits()) == 1
    # A visit of today is deleted (version-checked), with its topics.
    other = visit_id_of(record(client, scene.housing))
    assert post(client, f"/officer/guidance-visits/{other}/delete", {"version": "7"}).status_code == 409
    assert post(client, f"/officer/guidance-visits/{other}/delete", {"version": "1"}).status_code == 303
    assert [v.id for v in scene.visits()] == [visit_id]
    assert (
        db.scalar(
            select(func.count()).select_from(GuidanceVisitTopic).where(GuidanceVisitTopic.visit_id == other)
        )
        == 0
    )
    deleted = db.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).one()
    assert deleted.object_id == str(other) and deleted.client_id is None


def test_an_old_visit_keeps_its_retired_topic(client, scene, db):
    as_(client, scene.officer)
    visit_id = visit_id_of(record(client, scene.kela, scene.housing))
    scene.kela.active = False
    db.commit()
    shown = client.get(f"/officer/guidance-visits/{visit_id}").text
    assert "Kela benefits" in shown and "retired" in shown
    (visit,) = scene.visits()
    # Editing it keeps the retired topic choosable for this visit.
    edit = client.get(f"/officer/guidance-visits/{visit_id}/edit").text
    assert f'value="{scene.kela.id}" checked' in edit
    kept = post(
        client, f"/officer/guidance-visits/{visit_id}", visit_form(scene.kela, version=str(visit.version))
    )
    assert kept.status_code == 303
    assert scene.topic_ids(visit) == {scene.kela.id}


def test_the_client_page_lists_the_clients_identified_visits(client, scene, db):
    as_(client, scene.officer)
    visit_id_of(record(client, scene.housing, client_id=str(scene.amina.id), note="Asuntohakemus"))
    visit_id_of(record(client, scene.kela))  # anonymous: not on anyone's page
    page = client_section(client, scene.amina.id, "guidance-visits")
    assert page.status_code == 200
    section = page.text
    assert "Housing" in section and "Asuntohakemus" in section and "Kela benefits" not in section
    assert f"/officer/guidance-visits/new?client_id={scene.amina.id}" in section
    assert "consented to keeping records" in section
    views = db.scalars(select(AuditEvent).where(AuditEvent.action == "view",
                                                AuditEvent.object_type == "guidance_visit")).all()  # fmt: skip
    assert views and all(e.client_id == scene.amina.id for e in views)
    omid = client_section(client, scene.omid.id, "guidance-visits").text
    assert "No guidance visits recorded for the client." in omid and "has not consented" in omid
    # The manager reads the client and the visits, without the link to record one.
    as_(client, scene.manager)
    managed = client_section(client, scene.amina.id, "guidance-visits").text
    assert "Asuntohakemus" in managed and "guidance-visits/new" not in managed
    # County staff reading the client through a grant do not see the guidance records.
    db.add(ClientAccessGrant(client_id=scene.amina.id, staff_id=scene.county_member.id,
                             category=DataCategory.BASIC, granted_by_id=scene.officer.id, reason="Yhteistyö"))  # fmt: skip
    db.commit()
    as_(client, scene.county_member)
    county = client.get(f"/officer/clients/{scene.amina.id}")
    assert county.status_code == 200 and "Asuntohakemus" not in county.text
    assert 'id="guidance-visits"' not in county.text
    assert client_section(client, scene.amina.id, "guidance-visits").status_code == 404


def test_an_ended_client_gets_no_new_identified_visits(client, scene, db):
    db.execute(update(Client).where(Client.id == scene.amina.id).values(
        status=ClientStatus.ENDED, ended_on=today(), end_reason=EndReason.MOVED_AWAY))  # fmt: skip
    db.commit()
    as_(client, scene.officer)
    refused = record(client, scene.housing, client_id=str(scene.amina.id))
    assert refused.status_code == 422 and "The client relationship has ended" in refused.text
    assert scene.visits() == []


# --- who may do what --------------------------------------------------------------------------------------


def test_another_organisations_objects_are_not_found(client, scene, db):
    as_(client, scene.officer)
    visit_id = visit_id_of(record(client, scene.housing))
    (visit,) = scene.visits()
    as_(client, scene.other_officer)
    assert client.get(f"/officer/guidance-visits/{visit_id}").status_code == 404
    assert client.get(f"/officer/guidance-visits/{visit_id}/edit").status_code == 404
    assert (
        post(
            client, f"/officer/guidance-visits/{visit_id}", visit_form(scene.foreign_topic, version="1")
        ).status_code
        == 404
    )
    assert post(client, f"/officer/guidance-visits/{visit_id}/delete", {"version": "1"}).status_code == 404
    assert "No visits match." in client.get("/officer/guidance-visits?whose=all").text
    # Another organisation's client: not found, whether in the link or in the form.
    assert client.get(f"/officer/guidance-visits/new?client_id={scene.amina.id}").status_code == 404
    assert record(client, scene.foreign_topic, client_id=str(scene.amina.id)).status_code == 404
    # Another organisation's topic is not a choice.
    wrong = record(client, scene.housing)
    assert wrong.status_code == 422 and "Choose topics from the list." in wrong.text
    as_(client, scene.other_manager)
    for url in (f"/officer/guidance-topics/{scene.housing.id}/edit",):
        assert client.get(url).status_code == 404
    for action in ("", "/retire", "/reactivate", "/move"):
        body = {"version": "1", "direction": "up", "name_fi": "X", "name_sv": "X", "name_en": "X"}
        assert post(client, f"/officer/guidance-topics/{scene.housing.id}{action}", body).status_code == 404
    db.expire_all()
    assert scene.housing.name_fi == "Asuminen" and scene.housing.active
    assert visit.duration_minutes == 25 and len(scene.visits()) == 1


@pytest.mark.parametrize("role", ["county_member", "interpreter", "manager"])
def test_roles_without_the_visits_permission_are_refused(client, scene, role):
    as_(client, getattr(scene, role))
    assert client.get("/officer/guidance-visits").status_code == 403
    assert client.get("/officer/guidance-visits/new").status_code == 403
    assert record(client, scene.housing).status_code == 403
    assert (
        post(client, "/officer/guidance-visits/new/find-client", {"client_query": "Warsame"}).status_code
        == 403
    )
    assert scene.visits() == []


@pytest.mark.parametrize("role", ["county_member", "interpreter", "officer"])
def test_roles_without_the_topics_permission_are_refused(client, scene, role):
    as_(client, getattr(scene, role))
    assert client.get("/officer/guidance-topics").status_code == 403
    assert (
        post(client, "/officer/guidance-topics", {"name_fi": "A", "name_sv": "B", "name_en": "C"}).status_code
        == 403
    )
    assert (
        post(client, f"/officer/guidance-topics/{scene.housing.id}/retire", {"version": "1"}).status_code
        == 403
    )


# --- retention --------------------------------------------------------------------------------------------


def test_retention_keeps_the_visit_with_its_topics_and_without_the_person(client, scene, db, settings):
    as_(client, scene.officer)
    amina = scene.amina.id
    visit_id = visit_id_of(record(client, scene.housing, scene.kela, client_id=str(amina),
                                  note="Henkilökohtainen muistiinpano", language="so"))  # fmt: skip
    ended_on = today() - timedelta(days=10)
    db.execute(update(Client).where(Client.id == amina).values(
        status=ClientStatus.ENDED, ended_on=ended_on, end_reason=EndReason.MOVED_AWAY))  # fmt: skip
    db.commit()

    async def run(on: date) -> retention.Result:
        engine = make_engine(settings)
        try:
            return await retention.run(async_sessionmaker(engine, expire_on_commit=False), on)
        finally:
            await engine.dispose()

    # The clock moved forward: the day before the deletion date nothing goes; on it, the client goes.
    due = rules.deletion_due(ended_on)
    assert asyncio.run(run(due - timedelta(days=1))).deleted == 0
    assert asyncio.run(run(due)).deleted == 1
    db.expire_all()
    assert db.get(Client, amina) is None
    visit = db.get(GuidanceVisit, visit_id)
    assert visit is not None
    assert (visit.client_id, visit.consent_id, visit.note) == (None, None, None)
    assert (visit.language, visit.channel, visit.duration_minutes) == ("so", VisitChannel.WALK_IN, 25)
    assert scene.topic_ids(visit) == {scene.housing.id, scene.kela.id}
    assert db.scalar(select(func.count()).select_from(Consent).where(Consent.client_id == amina)) == 0
