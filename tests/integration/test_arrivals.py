"""Quota refugees (3.4.8–3.4.9), the consultation of the wellbeing services county (service 5) and
municipal placements (3.4.10–3.4.11): an officer records the proposal and the family, consults the county
with an anonymised summary, the county answers in its own inbox, the municipality decides, prepares and
receives, and on arrival the persons become clients exactly once, with family links, without retyping."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.arrivals import (
    Arrival,
    ArrivalChecklistItem,
    ArrivalConsultation,
    ArrivalKind,
    ArrivalPerson,
    ArrivalStatus,
    ConsultationStatus,
)
from app.db.audit import AuditEvent
from app.db.client import Client, FamilyLink, FamilyRelation, KnownHow, PermitType
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.domain import demo_arrivals
from app.domain.forms import today
from tests.conftest import post, sign_in

HEAD_CODE = "010180-1232"
CHILD_CODE = "150315A234H"
QUESTION = "Yhdellä aikuisella on liikuntarajoite: tarvitaanko kotihoidon arviointi heti saapumisen jälkeen?"
COMMENTS = "Kotihoidon arviointi järjestetään ensimmäisellä viikolla; perheneuvola varautuu."
ADDRESS = "Koulukatu 5 B 12, 99999 Esimerkkilä"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


class Scene:
    def __init__(self, factory, db):
        self.home = factory.organisation("Kotikunta")
        self.officer = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.elsewhere = factory.organisation("Muukunta")
        self.stranger = factory.staff(self.elsewhere, Role.INTEGRATION_OFFICER)
        self.county = factory.organisation("Hyvinvointialue A", OrganisationType.WELLBEING_COUNTY)
        self.sari = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.other_county = factory.organisation("Hyvinvointialue B", OrganisationType.WELLBEING_COUNTY)
        self.outsider = factory.staff(self.other_county, Role.COUNTY_TEAM_MEMBER)
        self.db = db

    def arrival(self, arrival_id=None) -> Arrival:
        self.db.expire_all()
        statement = select(Arrival).order_by(Arrival.created_at.desc())
        if arrival_id is not None:
            statement = statement.where(Arrival.id == arrival_id)
        return self.db.scalars(statement).first()

    def persons(self, arrival) -> list[ArrivalPerson]:
        self.db.expire_all()
        return list(
            self.db.scalars(select(ArrivalPerson).where(ArrivalPerson.arrival_id == arrival.id)).all()
        )

    def consultation(self, arrival) -> ArrivalConsultation:
        self.db.expire_all()
        return self.db.scalars(
            select(ArrivalConsultation)
            .where(ArrivalConsultation.arrival_id == arrival.id)
            .order_by(ArrivalConsultation.sent_at.desc())
        ).first()

    def clients(self) -> list[Client]:
        self.db.expire_all()
        return list(self.db.scalars(select(Client).where(Client.organisation_id == self.home.id)).all())


@pytest.fixture
def scene(factory, db) -> Scene:
    return Scene(factory, db)


def as_(client, staff) -> None:
    client.cookies.clear()
    sign_in(client, staff)


def create(client, scene, kind="quota_refugees", **overrides) -> Arrival:
    data = {"kind": kind, "sender": "Uudenmaan ELY-keskus", "reference": "UUDELY/123/2025",
            "received_on": today().isoformat()}  # fmt: skip
    data.update(overrides)
    response = post(client, "/officer/arrivals", data)
    assert response.status_code == 303, response.text
    return scene.arrival()


def person(client, arrival, **fields):
    data = {"role": "child", "first_names": "Lina", "last_name": "Haddad", "citizenship": "SY",
            "mother_tongue": "ar"}  # fmt: skip
    data.update(fields)
    return post(client, f"/officer/arrivals/{arrival.id}/persons", data)


def family(client, arrival) -> None:
    """Head of family, spouse and two children (the head and one child with identity codes)."""
    for fields in (
        {"role": "head_of_family", "first_names": "Omar", "last_name": "Haddad", "native_name": "عمر حداد",
         "identity_code": HEAD_CODE, "interpreter_needed": "on", "special_needs": "Pyörätuoli"},
        {"role": "spouse", "first_names": "Rasha", "last_name": "Haddad", "date_of_birth": "1985-04-09",
         "interpreter_needed": "on", "temporary_identifier": "ely-445566"},
        {"role": "child", "first_names": "Lina", "last_name": "Haddad", "identity_code": CHILD_CODE},
        {"role": "child", "first_names": "Ahmad", "last_name": "Haddad", "date_of_birth": "2019-11-30"},
    ):  # fmt: skip
        assert person(client, arrival, **fields).status_code == 303


def section(client, arrival, name, version=None, **fields):
    data = {"version": str(arrival.version if version is None else version), **fields}
    return post(client, f"/officer/arrivals/{arrival.id}/{name}", data)


def consult(client, scene, arrival, county=None, question=QUESTION, version=None):
    data = {"version": str(arrival.version if version is None else version),
            "county_id": str((county or scene.county).id), "question": question}  # fmt: skip
    return post(client, f"/officer/arrivals/{arrival.id}/consultations", data)


def decide(client, arrival, decision="accept", note="", version=None):
    data = {"version": str(arrival.version if version is None else version), "decision": decision,
            "decision_on": today().isoformat(), "decision_note": note}  # fmt: skip
    return post(client, f"/officer/arrivals/{arrival.id}/decision", data)


def mark(client, arrival, key, note="", done_on=None):
    data = {f"done_on-{key}": (done_on or today()).isoformat(), f"note-{key}": note}
    return post(client, f"/officer/arrivals/{arrival.id}/checklist/{key}", data)


def arrive(client, arrival, version=None, **fields):
    data = {
        "version": str(arrival.version if version is None else version),
        "arrived_on": today().isoformat(),
    }
    data.update(fields)
    return post(client, f"/officer/arrivals/{arrival.id}/arrived", data)


def accepted(client, scene) -> Arrival:
    as_(client, scene.officer)
    arrival = create(client, scene)
    family(client, arrival)
    assert decide(client, scene.arrival(arrival.id)).status_code == 303
    return scene.arrival(arrival.id)


# --- quota refugees, from the proposal to clients ------------------------------------------------------


def test_quota_refugees_from_proposal_to_clients(client, scene):
    as_(client, scene.officer)
    assert "Record a quota-refugee proposal" in client.get("/officer/arrivals").text
    arrival = create(client, scene)
    assert arrival.organisation_id == scene.home.id and arrival.kind == ArrivalKind.QUOTA_REFUGEES
    assert arrival.status == ArrivalStatus.PROPOSED and arrival.responsible_officer_id == scene.officer.id
    family(client, arrival)
    page = client.get(f"/officer/arrivals/{arrival.id}")
    assert page.status_code == 200
    assert "Haddad, Omar" in page.text and "Head of family" in page.text and "عمر حداد" in page.text

    # The consultation: the county sees the anonymised summary only.
    assert consult(client, scene, scene.arrival(arrival.id)).status_code == 303
    arrival = scene.arrival(arrival.id)
    assert arrival.status == ArrivalStatus.CONSULTING
    sent = scene.consultation(arrival)
    assert sent.status == ConsultationStatus.SENT and sent.county_id == scene.county.id
    assert sent.summary["persons_count"] == 4 and sent.summary["children_count"] == 2
    assert {p["role"] for p in sent.summary["persons"]} == {"head_of_family", "spouse", "child"}

    as_(client, scene.sari)
    inbox = client.get("/officer/consultations")
    assert inbox.status_code == 200 and "Kotikunta" in inbox.text
    county_page = client.get(f"/officer/consultations/{sent.id}")
    assert county_page.status_code == 200
    assert (
        QUESTION in county_page.text and "Head of family" in county_page.text and "Syria" in county_page.text
    )
    for secret in ("Haddad", "Omar", "Rasha", "عمر", HEAD_CODE, CHILD_CODE, "ELY-445566", "1985", "Pyörätuoli",
                   "UUDELY/123/2025"):  # fmt: skip
        assert secret not in county_page.text and secret not in inbox.text
    answer = post(
        client, f"/officer/consultations/{sent.id}/answer", {"version": str(sent.version), "answer": COMMENTS}
    )
    assert answer.status_code == 303
    sent = scene.consultation(arrival)
    assert sent.status == ConsultationStatus.ANSWERED and sent.answer == COMMENTS
    assert sent.answered_by_id == scene.sari.id

    # The officer reads the answer and decides.
    as_(client, scene.officer)
    assert COMMENTS in client.get(f"/officer/arrivals/{arrival.id}").text
    assert decide(client, scene.arrival(arrival.id), note="Asunto löytyy").status_code == 303
    arrival = scene.arrival(arrival.id)
    assert arrival.status == ArrivalStatus.ACCEPTED and arrival.decision_on == today()
    assert arrival.decision_note == "Asunto löytyy"

    # Preparation and the arrival.
    assert (
        section(
            client, arrival, "housing", housing_address=ADDRESS, lease_starts_on=today().isoformat()
        ).status_code
        == 303
    )
    assert mark(client, arrival, "housing_reserved").status_code == 303
    response = arrive(
        client, scene.arrival(arrival.id), first_permit_date=(today() - timedelta(days=30)).isoformat()
    )
    assert response.status_code == 303
    arrival = scene.arrival(arrival.id)
    assert arrival.status == ArrivalStatus.ARRIVED and arrival.arrived_on == today()

    made = {c.first_names: c for c in scene.clients()}
    assert set(made) == {"Omar", "Rasha", "Lina", "Ahmad"}
    for record in made.values():
        assert record.segment == 3 and record.known_how == KnownHow.QUOTA_SELECTION
        assert record.permit_type == PermitType.QUOTA_REFUGEE
        assert record.first_permit_date == today() - timedelta(days=30)
        assert record.first_residence_on == today()  # compensation windows count from arrival
        assert record.known_on == today() and record.street_address == ADDRESS
        assert record.responsible_officer_id == scene.officer.id and record.last_name == "Haddad"
        assert record.citizenship == "SY" and record.mother_tongue == "ar"
        assert record.identity_code or record.temporary_identifier
    omar, rasha, lina, ahmad = made["Omar"], made["Rasha"], made["Lina"], made["Ahmad"]
    assert omar.identity_code == HEAD_CODE and omar.date_of_birth == date(1980, 1, 1)
    assert omar.native_name == "عمر حداد" and omar.interpreter_needed and omar.interpreter_language == "ar"
    assert rasha.temporary_identifier == "ELY-445566" and rasha.date_of_birth == date(1985, 4, 9)
    assert lina.identity_code == CHILD_CODE
    assert ahmad.identity_code is None and ahmad.temporary_identifier.startswith("TMP-")
    assert {p.client_id for p in scene.persons(arrival)} == {c.id for c in made.values()}

    links = {
        (link.client_id, link.related_client_id): link.relation
        for link in scene.db.scalars(select(FamilyLink))
    }
    expected = {
        (omar.id, rasha.id): FamilyRelation.SPOUSE, (rasha.id, omar.id): FamilyRelation.SPOUSE,
        **{(g.id, c.id): FamilyRelation.GUARDIAN for g in (omar, rasha) for c in (lina, ahmad)},
        **{(c.id, g.id): FamilyRelation.CHILD for g in (omar, rasha) for c in (lina, ahmad)},
    }  # fmt: skip
    assert links == expected

    created = scene.db.scalars(
        select(AuditEvent.client_id).where(AuditEvent.object_type == "client", AuditEvent.action == "create")
    ).all()
    assert sorted(map(str, created)) == sorted(str(c.id) for c in made.values())

    # The page links the new clients; marking arrived again creates nobody.
    page = client.get(f"/officer/arrivals/{arrival.id}")
    assert f"/officer/clients/{omar.id}" in page.text
    again = arrive(client, arrival)
    assert again.status_code == 409 and "Someone else changed this arrival" in again.text
    stale_again = arrive(client, arrival, version=arrival.version - 1)
    assert stale_again.status_code == 409
    assert len(scene.clients()) == 4
    assert scene.db.scalar(select(func.count()).select_from(FamilyLink)) == 10


def test_an_identity_code_already_registered_links_that_client(client, scene, factory):
    existing = factory.client(scene.home, first_names="Omar", last_name="Haddad", identity_code=HEAD_CODE,
                              segment=1, temporary_identifier=None)  # fmt: skip
    arrival = accepted(client, scene)
    assert arrive(client, arrival).status_code == 303
    clients = scene.clients()
    assert len(clients) == 4  # the existing one and three new
    head = next(p for p in scene.persons(arrival) if p.identity_code == HEAD_CODE)
    assert head.client_id == existing.id
    assert scene.db.get(Client, existing.id).segment == 1  # linked, not changed
    children = [p.client_id for p in scene.persons(arrival) if p.role.value == "child"]
    links = scene.db.scalars(select(FamilyLink).where(FamilyLink.client_id == existing.id)).all()
    assert {link.related_client_id for link in links if link.relation == FamilyRelation.GUARDIAN} == set(
        children
    )


def test_nothing_arrives_without_persons(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    assert decide(client, arrival).status_code == 303
    response = arrive(client, scene.arrival(arrival.id))
    assert response.status_code == 422 and "Add the persons first" in response.text
    assert scene.arrival(arrival.id).status == ArrivalStatus.ACCEPTED


# --- persons --------------------------------------------------------------------------------------------


def test_persons_are_validated_edited_and_removed_while_not_arrived(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    bad = person(client, arrival, role="head_of_family", first_names="", identity_code="010180-1233",
                 native_name="عمر")  # fmt: skip
    assert bad.status_code == 422
    assert "Enter the first names." in bad.text and "not a valid personal identity code" in bad.text
    assert 'value="010180-1233"' in bad.text and "عمر" in bad.text  # the input is kept
    assert person(client, arrival, role="head_of_family", first_names="Omar").status_code == 303
    second_head = person(client, arrival, role="head_of_family", first_names="Ali")
    assert second_head.status_code == 422 and "already has a head of family" in second_head.text

    (omar,) = scene.persons(arrival)
    seen = omar.version
    edit_page = client.get(f"/officer/arrivals/{arrival.id}/persons/{omar.id}")
    assert edit_page.status_code == 200 and 'value="Omar"' in edit_page.text
    data = {"version": str(seen), "role": "head_of_family", "first_names": "Omar Khalil",
            "last_name": "Haddad", "citizenship": "SY", "mother_tongue": "ar"}  # fmt: skip
    assert post(client, f"/officer/arrivals/{arrival.id}/persons/{omar.id}", data).status_code == 303
    (omar_now,) = scene.persons(arrival)
    assert omar_now.first_names == "Omar Khalil" and omar_now.version == seen + 1

    # A stale edit is refused with the input kept and the saved values shown.
    stale = post(client, f"/officer/arrivals/{arrival.id}/persons/{omar.id}", {**data, "first_names": "Umar"})
    assert stale.status_code == 409
    assert 'value="Umar"' in stale.text and "Omar Khalil" in stale.text and "Someone else saved" in stale.text
    assert scene.persons(arrival)[0].first_names == "Omar Khalil"
    stale_remove = post(
        client, f"/officer/arrivals/{arrival.id}/persons/{omar.id}/remove", {"version": str(seen)}
    )
    assert stale_remove.status_code == 409 and len(scene.persons(arrival)) == 1
    removed = post(
        client, f"/officer/arrivals/{arrival.id}/persons/{omar.id}/remove", {"version": str(omar_now.version)}
    )
    assert removed.status_code == 303 and scene.persons(arrival) == []
    events = scene.db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "arrival_person")
    ).all()
    assert {"create", "update", "delete", "view"} <= set(events)


def test_persons_are_frozen_after_the_arrival(client, scene):
    arrival = accepted(client, scene)
    assert arrive(client, arrival).status_code == 303
    late = person(client, arrival, first_names="Noor")
    assert late.status_code == 409 and "can no longer be changed" in late.text
    head = scene.persons(arrival)[0]
    edit = post(client, f"/officer/arrivals/{arrival.id}/persons/{head.id}",
                {"version": str(head.version), "role": head.role.value, "first_names": "X", "last_name": "Y"})  # fmt: skip
    assert edit.status_code == 409
    remove = post(
        client, f"/officer/arrivals/{arrival.id}/persons/{head.id}/remove", {"version": str(head.version)}
    )
    assert remove.status_code == 409
    assert len(scene.persons(arrival)) == 4 and len(scene.clients()) == 4


# --- the consultation: scope, anonymity, staleness ----------------------------------------------------------


def test_consultation_scope_and_refusals(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    family(client, arrival)
    naming = consult(client, scene, scene.arrival(arrival.id), question="Omar tarvitsee pyörätuolin")
    assert naming.status_code == 422 and "names a person" in naming.text
    assert "Omar tarvitsee pyörätuolin" in naming.text  # kept for correcting
    assert scene.consultation(arrival) is None
    assert consult(client, scene, scene.arrival(arrival.id)).status_code == 303
    twice = consult(client, scene, scene.arrival(arrival.id))
    assert twice.status_code == 409 and "has not yet answered" in twice.text
    sent = scene.consultation(arrival)

    # The officer has no county inbox; the county has no arrivals pages.
    assert client.get("/officer/consultations").status_code == 403
    assert client.get(f"/officer/consultations/{sent.id}").status_code == 403
    as_(client, scene.sari)
    assert client.get("/officer/arrivals").status_code == 403
    assert client.get(f"/officer/arrivals/{arrival.id}").status_code == 403
    assert post(client, f"/officer/arrivals/{arrival.id}/decision", {"decision": "accept"}).status_code == 403

    # Another county: not found, and not in its inbox.
    as_(client, scene.outsider)
    assert client.get(f"/officer/consultations/{sent.id}").status_code == 404
    answer = post(
        client, f"/officer/consultations/{sent.id}/answer", {"version": str(sent.version), "answer": "x"}
    )
    assert answer.status_code == 404
    assert "Kotikunta" not in client.get("/officer/consultations").text
    assert scene.consultation(arrival).status == ConsultationStatus.SENT

    # Two answers from the same county: the second is refused with its text kept.
    as_(client, scene.sari)
    empty = post(
        client, f"/officer/consultations/{sent.id}/answer", {"version": str(sent.version), "answer": ""}
    )
    assert empty.status_code == 422 and "Write the county" in empty.text
    assert post(client, f"/officer/consultations/{sent.id}/answer",
                {"version": str(sent.version), "answer": COMMENTS}).status_code == 303  # fmt: skip
    late = post(
        client,
        f"/officer/consultations/{sent.id}/answer",
        {"version": str(sent.version), "answer": "Toinen vastaus"},
    )
    assert late.status_code == 409 and "Toinen vastaus" in late.text
    assert scene.consultation(arrival).answer == COMMENTS


def test_declining_withdraws_the_unanswered_consultation(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    family(client, arrival)
    assert consult(client, scene, scene.arrival(arrival.id)).status_code == 303
    no_reason = decide(client, scene.arrival(arrival.id), decision="decline")
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    stale = decide(client, scene.arrival(arrival.id), version=1, note="Ei asuntoja")
    assert stale.status_code == 409 and "Ei asuntoja" in stale.text
    assert (
        decide(client, scene.arrival(arrival.id), decision="decline", note="Ei asuntoja").status_code == 303
    )
    arrival = scene.arrival(arrival.id)
    assert arrival.status == ArrivalStatus.DECLINED
    sent = scene.consultation(arrival)
    assert sent.status == ConsultationStatus.WITHDRAWN
    as_(client, scene.sari)
    answer = post(
        client, f"/officer/consultations/{sent.id}/answer", {"version": str(sent.version), "answer": COMMENTS}
    )
    assert answer.status_code == 409 and COMMENTS in answer.text
    assert "withdrew the consultation" in answer.text


# --- another organisation --------------------------------------------------------------------------------


def test_another_organisations_arrival_is_not_found(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    family(client, arrival)
    assert consult(client, scene, scene.arrival(arrival.id)).status_code == 303
    arrival = scene.arrival(arrival.id)
    head = scene.persons(arrival)[0]
    sent = scene.consultation(arrival)
    as_(client, scene.stranger)
    assert arrival.sender not in client.get("/officer/arrivals").text
    for url in (f"/officer/arrivals/{arrival.id}", f"/officer/arrivals/{arrival.id}/persons/new",
                f"/officer/arrivals/{arrival.id}/persons/{head.id}"):  # fmt: skip
        assert client.get(url).status_code == 404
    version = {"version": str(arrival.version)}
    for url, data in (
        (f"/officer/arrivals/{arrival.id}/proposal", {**version, "sender": "X", "received_on": "2025-01-01"}),
        (f"/officer/arrivals/{arrival.id}/housing", {**version, "housing_address": "X"}),
        (f"/officer/arrivals/{arrival.id}/persons", {"role": "child", "first_names": "X", "last_name": "Y"}),
        (f"/officer/arrivals/{arrival.id}/persons/{head.id}/remove", {"version": str(head.version)}),
        (f"/officer/arrivals/{arrival.id}/consultations/{sent.id}/withdraw", {"version": str(sent.version)}),
        (
            f"/officer/arrivals/{arrival.id}/decision",
            {**version, "decision": "accept", "decision_on": "2025-01-01"},
        ),
        (
            f"/officer/arrivals/{arrival.id}/checklist/electricity_contract",
            {"done_on-electricity_contract": "2025-01-01"},
        ),
        (f"/officer/arrivals/{arrival.id}/arrived", {**version, "arrived_on": "2025-01-01"}),
        (f"/officer/arrivals/{arrival.id}/cancel", version),
    ):
        assert post(client, url, data).status_code == 404, url
    after = scene.arrival(arrival.id)
    assert after.version == arrival.version and after.status == ArrivalStatus.CONSULTING
    assert len(scene.persons(arrival)) == 4 and scene.consultation(arrival).status == ConsultationStatus.SENT


# --- details and checklists -----------------------------------------------------------------------------


def test_stale_detail_edits_are_refused_with_the_input_kept(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    seen = arrival.version
    assert section(client, arrival, "proposal", sender="Varsinais-Suomen ELY-keskus",
                   received_on=today().isoformat(), reference="VARELY/9/2025").status_code == 303  # fmt: skip
    stale = section(client, arrival, "proposal", version=seen, sender="Pirkanmaan ELY-keskus",
                    received_on=today().isoformat())  # fmt: skip
    assert stale.status_code == 409 and 'value="Pirkanmaan ELY-keskus"' in stale.text
    assert "Someone else changed this arrival" in stale.text
    assert scene.arrival(arrival.id).sender == "Varsinais-Suomen ELY-keskus"
    missing = section(client, scene.arrival(arrival.id), "proposal", sender="", received_on="")
    assert missing.status_code == 422 and "Enter the ELY centre" in missing.text
    bad_lease = section(client, scene.arrival(arrival.id), "housing", housing_address=ADDRESS,
                        lease_starts_on="2026-05-01", lease_ends_on="2026-04-01")  # fmt: skip
    assert bad_lease.status_code == 422 and "cannot end before it starts" in bad_lease.text
    assert ADDRESS in bad_lease.text


def test_quota_checklists_mark_undo_and_progress(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    early = mark(client, arrival, "electricity_contract")
    assert early.status_code == 409  # preparation starts after the decision
    assert decide(client, scene.arrival(arrival.id)).status_code == 303
    arrival = scene.arrival(arrival.id)

    blocked = mark(client, arrival, "housing_reserved", note="Vuokrasopimus tulossa")
    assert blocked.status_code == 422 and "Record the housing address first" in blocked.text
    assert "Vuokrasopimus tulossa" in blocked.text
    future = mark(client, arrival, "electricity_contract", done_on=today() + timedelta(days=3))
    assert future.status_code == 422
    assert mark(client, arrival, "electricity_contract", note="Sopimus 123").status_code == 303
    twice = mark(client, arrival, "electricity_contract")
    assert twice.status_code == 409 and "someone else marked it" in twice.text
    item = scene.db.scalar(select(ArrivalChecklistItem).where(ArrivalChecklistItem.arrival_id == arrival.id))
    assert (
        item.key == "electricity_contract"
        and item.note == "Sopimus 123"
        and item.done_by_id == scene.officer.id
    )
    page = client.get(f"/officer/arrivals/{arrival.id}")
    assert "1 of 10 done" in page.text and "1 of 5 done" in page.text
    assert post(client, f"/officer/arrivals/{arrival.id}/checklist/no_such_step", {}).status_code == 404

    # Undo: only the item the page showed.
    assert post(client, f"/officer/arrivals/{arrival.id}/checklist/electricity_contract/undo",
                {"item_id": str(item.id)}).status_code == 303  # fmt: skip
    again = post(
        client,
        f"/officer/arrivals/{arrival.id}/checklist/electricity_contract/undo",
        {"item_id": str(item.id)},
    )
    assert again.status_code == 409
    assert scene.db.scalar(select(func.count()).select_from(ArrivalChecklistItem)) == 0

    # The earliest arrival date: sent, and a changed date is no longer sent.
    earliest = today() + timedelta(days=40)
    assert (
        section(
            client, scene.arrival(arrival.id), "housing", earliest_arrival_on=earliest.isoformat()
        ).status_code
        == 303
    )
    assert mark(client, arrival, "earliest_arrival_sent").status_code == 303
    arrival = scene.arrival(arrival.id)
    assert arrival.earliest_arrival_on == earliest and arrival.earliest_arrival_sent_on == today()
    moved = earliest + timedelta(days=7)
    assert section(client, arrival, "housing", earliest_arrival_on=moved.isoformat()).status_code == 303
    arrival = scene.arrival(arrival.id)
    assert arrival.earliest_arrival_on == moved and arrival.earliest_arrival_sent_on is None
    assert scene.db.scalar(select(func.count()).select_from(ArrivalChecklistItem)) == 0

    # Reception: the Red Cross's details in Finnish time.
    assert section(client, arrival, "housing", housing_address=ADDRESS).status_code == 303
    assert mark(client, arrival, "housing_reserved").status_code == 303
    cleared = section(client, scene.arrival(arrival.id), "housing", housing_address="")
    assert cleared.status_code == 422 and "undo it first" in cleared.text
    no_time = section(
        client, scene.arrival(arrival.id), "reception", arrives_on="2026-03-14", flight="ay 1234"
    )
    assert no_time.status_code == 422 and "Enter the time as well" in no_time.text
    assert section(client, scene.arrival(arrival.id), "reception", arrives_on="2026-03-14", arrives_time="14:35",
                   flight="ay 1234", transport="Kunnan pikkubussi", interpreter="Tulkkauspalvelu Sana, arabia").status_code == 303  # fmt: skip
    arrival = scene.arrival(arrival.id)
    assert arrival.arrives_at == datetime(2026, 3, 14, 12, 35, tzinfo=UTC) and arrival.flight == "AY1234"
    for key in ("arrival_details", "transport", "interpreter", "first_food", "information_session"):
        assert mark(client, arrival, key).status_code == 303
    assert "5 of 5 done" in client.get(f"/officer/arrivals/{arrival.id}").text


# --- municipal placements --------------------------------------------------------------------------------


def test_municipal_placement_handover_move_in_and_clients(client, scene):
    as_(client, scene.officer)
    arrival = create(
        client, scene, kind="municipal_placement", sender="Joutsenon vastaanottokeskus", reference=""
    )
    assert arrival.kind == ArrivalKind.MUNICIPAL_PLACEMENT and arrival.status == ArrivalStatus.PROPOSED
    for fields in (
        {"role": "single_adult", "first_names": "Zahra", "last_name": "Ahmadi", "citizenship": "AF",
         "mother_tongue": "fa", "date_of_birth": "1999-02-03"},
    ):  # fmt: skip
        assert person(client, arrival, **fields).status_code == 303
    page = client.get(f"/officer/arrivals/{arrival.id}")
    assert (
        "Handover from the reception centre" in page.text and "Consultation of the wellbeing" not in page.text
    )

    handover = "Asiakas tarvitsee tukea asunnon etsimisessä; kielikurssi kesken."
    refused = section(client, scene.arrival(arrival.id), "handover", handover_data=handover)
    assert (
        refused.status_code == 422
        and "only with the person's consent" in refused.text
        and handover in refused.text
    )
    assert scene.arrival(arrival.id).handover_data is None
    assert section(client, scene.arrival(arrival.id), "handover", handover_data=handover,
                   handover_consent_on=today().isoformat(), transfer_meeting_on="2026-01-20",
                   transfer_meeting_time="9:30").status_code == 303  # fmt: skip
    arrival = scene.arrival(arrival.id)
    assert arrival.handover_data == handover and arrival.handover_consent_on == today()
    assert arrival.transfer_meeting_at == datetime(2026, 1, 20, 7, 30, tzinfo=UTC)
    consent_gone = section(client, arrival, "handover", handover_data=handover, handover_consent_on="")
    assert consent_gone.status_code == 422
    assert post(client, f"/officer/arrivals/{arrival.id}/decision",
                {"version": str(arrival.version), "decision": "accept", "decision_on": today().isoformat()}).status_code == 409  # fmt: skip

    # Move-in support.
    assert mark(client, arrival, "housing_arranged").status_code == 422
    assert section(client, scene.arrival(arrival.id), "housing", housing_address=ADDRESS,
                   lease_starts_on=today().isoformat()).status_code == 303  # fmt: skip
    for key in ("housing_arranged", "lease_signed", "keys", "kela_notice"):
        assert mark(client, arrival, key).status_code == 303
    assert "4 of 9 done" in client.get(f"/officer/arrivals/{arrival.id}").text

    bad_permit = arrive(client, scene.arrival(arrival.id), permit_type="work")
    assert bad_permit.status_code == 422
    assert (
        arrive(client, scene.arrival(arrival.id), permit_type="international_protection").status_code == 303
    )
    (zahra,) = scene.clients()
    assert zahra.segment == 2 and zahra.known_how == KnownHow.MUNICIPAL_PLACEMENT
    assert zahra.permit_type == PermitType.INTERNATIONAL_PROTECTION and zahra.street_address == ADDRESS
    assert zahra.date_of_birth == date(1999, 2, 3) and zahra.temporary_identifier.startswith("TMP-")
    assert zahra.responsible_officer_id == scene.officer.id
    # Checklist steps that come after moving in can still be marked.
    assert mark(client, arrival, "bank_account").status_code == 303


def test_cancelling_closes_the_arrival(client, scene):
    as_(client, scene.officer)
    arrival = create(client, scene)
    family(client, arrival)
    assert consult(client, scene, scene.arrival(arrival.id)).status_code == 303
    stale = post(client, f"/officer/arrivals/{arrival.id}/cancel", {"version": str(arrival.version)})
    assert stale.status_code == 409
    arrival = scene.arrival(arrival.id)
    assert (
        post(client, f"/officer/arrivals/{arrival.id}/cancel", {"version": str(arrival.version)}).status_code
        == 303
    )
    assert scene.arrival(arrival.id).status == ArrivalStatus.CANCELLED
    assert scene.consultation(arrival).status == ConsultationStatus.WITHDRAWN
    assert arrive(client, scene.arrival(arrival.id)).status_code == 409 and scene.clients() == []


def test_the_list_filters_by_kind_and_status(client, scene):
    as_(client, scene.officer)
    quota = create(client, scene, sender="Uudenmaan ELY-keskus")
    person(client, quota, role="head_of_family", last_name="Haddad")
    placement = create(client, scene, kind="municipal_placement", sender="Joutsenon vastaanottokeskus")
    person(client, placement, role="single_adult", last_name="Ahmadi")
    assert decide(client, scene.arrival(quota.id)).status_code == 303
    everything = client.get("/officer/arrivals")
    assert "Haddad" in everything.text and "Ahmadi" in everything.text
    only_placements = client.get("/officer/arrivals?kind=municipal_placement")
    assert "Ahmadi" in only_placements.text and "Haddad" not in only_placements.text
    accepted_ones = client.get("/officer/arrivals?status=arrival_accepted")
    assert "Haddad" in accepted_ones.text and "Ahmadi" not in accepted_ones.text
    none = client.get("/officer/arrivals?kind=quota_refugees&status=arrival_arrived")
    assert "No arrivals match." in none.text


# --- demo data ------------------------------------------------------------------------------------------


def test_the_demo_set(client, scene, settings):
    async def run() -> None:
        engine = create_async_engine(settings.async_database_url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                city = await session.get(Organisation, scene.home.id)
                county = await session.get(Organisation, scene.county.id)
                officer = await session.get(Staff, scene.officer.id)
                assert city is not None and county is not None and officer is not None
                await demo_arrivals.seed(session, city, county, officer, [], today())
                await demo_arrivals.seed(session, city, county, officer, [], today())  # once only
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
    arrivals = scene.db.scalars(select(Arrival).order_by(Arrival.received_on)).all()
    assert [a.status for a in arrivals] == [
        ArrivalStatus.ACCEPTED,
        ArrivalStatus.PROPOSED,
        ArrivalStatus.CONSULTING,
    ]
    as_(client, scene.officer)
    for arrival in arrivals:
        assert client.get(f"/officer/arrivals/{arrival.id}").status_code == 200
    # The county's waiting consultation: anonymised, and answerable.
    as_(client, scene.sari)
    waiting = scene.consultation(arrivals[2])
    page = client.get(f"/officer/consultations/{waiting.id}")
    assert page.status_code == 200 and "Send the comments" in page.text and "Mwamba" not in page.text
    # Marking the accepted family arrived makes five clients.
    as_(client, scene.officer)
    assert arrive(client, scene.arrival(arrivals[0].id)).status_code == 303
    assert len(scene.clients()) == 5
