"""Outreach (process 3.4.4) and benefit data: importing the lists of Kela, the Finnish Immigration Service and
the population register (preview first, all-or-nothing unless the officer chooses the valid rows, the same
file twice changes nothing, a person is one item matched by identity code and linked to an existing client),
the worklist's §14 eligibility, contact attempts and status, becoming a client without retyping, benefits on
the client page (version-checked), the §24 note on the plan page, and who may see any of it."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.db.audit import AuditEvent
from app.db.client import Client, ClientStatus, KnownHow
from app.db.organisation import OrganisationType, Role
from app.db.outreach import (
    Benefit,
    BenefitSource,
    BenefitStatus,
    BenefitType,
    ImportMode,
    OutreachContact,
    OutreachImport,
    OutreachItem,
    OutreachReason,
    OutreachStatus,
)
from app.domain import identity_code
from app.domain.forms import today
from tests.conftest import client_section, post, sign_in
from tests.integration.test_me_plan import make_plan

AMINA = identity_code.make(date(1990, 4, 12), 123)
OMAR = identity_code.make(date(2001, 11, 3), 456)
LEILA = identity_code.make(date(1985, 7, 1), 789)
KELA_HEADER = "identity_code,last_name,first_names,benefit,benefit_from,benefit_until,phone"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


class Scene:
    def __init__(self, factory, db):
        self.home = factory.organisation("Kotikunta")
        self.officer = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.colleague = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.manager = factory.staff(self.home, Role.MANAGER)
        self.other = factory.organisation("Naapurikunta")
        self.stranger = factory.staff(self.other, Role.INTEGRATION_OFFICER)
        self.county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
        self.county_member = factory.staff(self.county, Role.COUNTY_TEAM_MEMBER)
        self.db = db
        self.factory = factory

    def items(self, organisation=None) -> list[OutreachItem]:
        self.db.expire_all()
        org = organisation or self.home
        return list(
            self.db.scalars(
                select(OutreachItem)
                .where(OutreachItem.organisation_id == org.id)
                .order_by(OutreachItem.last_name)
            )
        )

    def item(self, code: str) -> OutreachItem:
        self.db.expire_all()
        return self.db.scalar(select(OutreachItem).where(OutreachItem.identity_code == code))

    def benefits(self) -> list[Benefit]:
        self.db.expire_all()
        return list(self.db.scalars(select(Benefit).order_by(Benefit.starts_on)))

    def counts(self) -> tuple[int, int, int, int]:
        self.db.expire_all()
        return (
            self.db.scalar(select(func.count()).select_from(OutreachItem)),
            self.db.scalar(select(func.count()).select_from(Benefit)),
            self.db.scalar(select(func.count()).select_from(OutreachImport)),
            self.db.scalar(select(func.count()).select_from(Client)),
        )

    def add_item(self, **fields) -> OutreachItem:
        values = {
            "organisation_id": self.home.id,
            "reason": OutreachReason.SOCIAL_ASSISTANCE,
            "first_names": "Amina",
            "last_name": "Warsame",
            "identity_code": AMINA,
            "date_of_birth": date(1990, 4, 12),
            "first_permit_date": today() - timedelta(days=200),
            "created_by_id": self.officer.id,
        }
        values.update(fields)
        item = OutreachItem(**values)
        self.db.add(item)
        self.db.commit()
        return item


@pytest.fixture
def scene(factory, db) -> Scene:
    return Scene(factory, db)


def as_(client, staff) -> None:
    client.cookies.clear()
    sign_in(client, staff)


def kela(*rows: str, header: str = KELA_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def preview(client, source: str, content: bytes, name: str = "lista.csv"):
    return post(
        client,
        "/officer/outreach/imports/preview",
        {"source": source},
        files={"file": (name, content, "text/csv")},
    )


def confirm(client, source: str, content: bytes, mode: str = "all_or_nothing", name: str = "lista.csv"):
    body = {"source": source, "file_name": name, "content": base64.b64encode(content).decode(), "mode": mode}
    return post(client, "/officer/outreach/imports", body)


# --- importing --------------------------------------------------------------------------------------


def test_the_preview_shows_valid_rows_and_row_errors_and_writes_nothing(client, scene):
    as_(client, scene.officer)
    content = "\ufeff".encode() + kela(
        f"{AMINA},Warsame,Amina,social_assistance,1.3.2025,,",
        f"{OMAR[:-1]}Q,Haidari,Omar,social_assistance,2025-03-01,,",
        f"{LEILA},Karimi,,social_assistance,2025-13-01,,",
    )
    response = preview(client, "kela_list", content)
    assert response.status_code == 200
    page = response.text
    assert "Warsame, Amina" in page
    assert "not a valid personal identity code" in page
    assert "<code>first_names</code>" in page and "required but empty" in page
    assert "<code>benefit_from</code>" in page and "is not a date" in page
    assert "Import only the 1 valid row" in page
    assert 'value="all_or_nothing"' not in page  # the whole list cannot be imported
    assert scene.counts() == (0, 0, 0, 0)


def test_a_semicolon_list_from_the_population_register_is_imported(client, scene):
    as_(client, scene.officer)
    content = (
        "identity_code;last_name;first_names;moved_in_on;language;phone;street_address;postal_code;post_office\n"
        f"{AMINA};Warsame;Amina;2.5.2025;so;040 123 4567;Koulukatu 4 B 7;99100;Esimerkkilä\n"
        f"{OMAR};Haidari;Omar;2025-05-03;fa;;;;\n"
    ).encode()
    assert preview(client, "population_register", content).status_code == 200
    response = confirm(client, "population_register", content)
    assert response.status_code == 303
    record = scene.db.scalar(select(OutreachImport))
    assert response.headers["location"] == f"/officer/outreach/imports/{record.id}"
    assert (record.rows_total, record.rows_imported, record.rows_unchanged, record.rows_rejected) == (
        2,
        2,
        0,
        0,
    )
    amina = scene.item(AMINA)
    assert amina.reason == OutreachReason.MOVED_IN
    assert amina.status == OutreachStatus.TO_REACH
    assert amina.moved_in_on == date(2025, 5, 2)
    assert (amina.phone, amina.language, amina.postal_code) == ("+358401234567", "so", "99100")
    assert amina.last_import_id == record.id
    page = client.get(f"/officer/outreach/imports/{record.id}").text
    assert "New or changed" in page


def test_all_or_nothing_refuses_a_file_with_errors_and_valid_rows_is_an_explicit_choice(client, scene):
    as_(client, scene.officer)
    content = kela(
        f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,",
        f"{OMAR},Haidari,Omar,home_care_allowance,2025-02-01,2025-12-31,",
        f"{LEILA},Karimi,Leila,social_assistance,31.2.2025,,",
    )
    refused = confirm(client, "kela_list", content, mode="all_or_nothing")
    assert refused.status_code == 422
    assert "Nothing was imported: 1 rows have errors" in refused.text
    assert scene.counts() == (0, 0, 0, 0)

    done = confirm(client, "kela_list", content, mode="valid_rows")
    assert done.status_code == 303
    record = scene.db.scalar(select(OutreachImport))
    assert record.mode == ImportMode.VALID_ROWS
    assert (record.rows_total, record.rows_imported, record.rows_rejected) == (3, 2, 1)
    assert [i.identity_code for i in scene.items()] == [OMAR, AMINA]
    benefits = scene.benefits()
    assert [(b.type, b.source, b.import_id, b.status) for b in benefits] == [
        (BenefitType.HOME_CARE_ALLOWANCE, BenefitSource.IMPORT, record.id, BenefitStatus.RECEIVING),
        (BenefitType.SOCIAL_ASSISTANCE, BenefitSource.IMPORT, record.id, BenefitStatus.RECEIVING),
    ]
    assert benefits[0].ends_on == date(2025, 12, 31)


def test_importing_the_same_file_again_changes_nothing(client, scene):
    as_(client, scene.officer)
    content = kela(
        f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,",
        f"{OMAR},Haidari,Omar,home_care_allowance,2025-02-01,,",
    )
    assert confirm(client, "kela_list", content).status_code == 303
    before = scene.counts()
    versions = {i.id: i.version for i in scene.items()}
    events = scene.db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "view"))

    again = preview(client, "kela_list", content, name="sama_lista_uudelleen.csv")
    assert "already imported" in again.text
    response = confirm(client, "kela_list", content, mode="valid_rows")
    assert response.status_code == 200
    assert "already imported" in response.text and "Nothing was changed" in response.text
    assert scene.counts() == before == (2, 2, 1, 0)
    assert {i.id: i.version for i in scene.items()} == versions
    assert (
        scene.db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "view"))
        == events
    )


def test_a_later_list_updates_the_person_instead_of_adding_them_again(client, scene):
    as_(client, scene.officer)
    first = kela(f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,")
    assert confirm(client, "kela_list", first).status_code == 303
    item_id = scene.item(AMINA).id
    scene.db.execute(OutreachItem.__table__.update().values(status=OutreachStatus.REACHED))
    scene.db.commit()
    # The same benefit now with an end date, a new benefit, a phone number; Omar is new.
    second = kela(
        f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,2025-08-31,040 765 4321",
        f"{AMINA},Warsame,Amina,home_care_allowance,2025-04-01,,",
        f"{OMAR},Haidari,Omar,social_assistance,2025-03-01,,",
    )
    assert confirm(client, "kela_list", second).status_code == 303
    items = scene.items()
    assert len(items) == 2
    amina = scene.item(AMINA)
    assert amina.id == item_id
    assert amina.phone == "+358407654321"
    assert amina.status == OutreachStatus.REACHED  # the officer's work is kept
    benefits = [b for b in scene.benefits() if b.outreach_item_id == item_id]
    assert sorted((b.type.value, b.starts_on, b.ends_on) for b in benefits) == [
        ("home_care_allowance", date(2025, 4, 1), None),
        ("social_assistance", date(2025, 3, 1), date(2025, 8, 31)),
    ]
    # The population register's list of the same person adds the move, keeps the stronger reason.
    dvv = f"identity_code,last_name,first_names,moved_in_on\n{AMINA},Warsame,Amina,2025-05-01\n".encode()
    assert confirm(client, "population_register", dvv).status_code == 303
    amina = scene.item(AMINA)
    assert amina.reason == OutreachReason.SOCIAL_ASSISTANCE
    assert amina.moved_in_on == date(2025, 5, 1)
    assert len(scene.items()) == 2


def test_a_person_who_is_already_a_client_is_linked_and_gets_the_benefit(client, scene):
    person = scene.factory.client(scene.home, first_names="Amina", last_name="Warsame", identity_code=AMINA)
    namesake = scene.factory.client(scene.other, first_names="Omar", last_name="Haidari", identity_code=OMAR)
    as_(client, scene.officer)
    content = kela(
        f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,",
        f"{OMAR},Haidari,Omar,social_assistance,2025-03-01,,",
    )
    assert confirm(client, "kela_list", content).status_code == 303
    assert scene.item(AMINA).client_id == person.id
    assert scene.item(OMAR).client_id is None  # another organisation's client is not this one's
    amina_benefit = next(b for b in scene.benefits() if b.outreach_item_id == scene.item(AMINA).id)
    assert amina_benefit.client_id == person.id
    assert namesake.id not in {b.client_id for b in scene.benefits()}
    assert 'id="benefits"' in client.get(f"/officer/clients/{person.id}").text
    assert "Non-temporary social assistance" in client_section(client, person.id, "benefits").text
    # The import is audited by ids; the linked client's benefit change too, with field names only.
    events = list(
        scene.db.scalars(select(AuditEvent).where(AuditEvent.object_type.in_(["outreach_import", "benefit"])))
    )
    record = scene.db.scalar(select(OutreachImport))
    assert any(e.object_type == "outreach_import" and e.object_id == str(record.id) for e in events)
    assert any(
        e.object_type == "benefit" and e.client_id == person.id and e.action == "update" for e in events
    )
    for event in events:
        assert AMINA not in repr(event.fields) and "Warsame" not in repr(event.fields)


def test_a_file_that_is_not_utf8_or_too_large_is_refused_clearly(client, scene):
    as_(client, scene.officer)
    latin1 = kela(f"{AMINA},Järvinen,Äyla,social_assistance,2025-03-01,,").decode().encode("latin-1")
    response = preview(client, "kela_list", latin1)
    assert response.status_code == 422
    assert "not UTF-8" in response.text
    huge = kela(*[f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,{'x' * 100}"] * 25000)
    assert len(huge) > 2 * 1024 * 1024
    response = preview(client, "kela_list", huge)
    assert response.status_code == 413
    assert "too large" in response.text
    assert scene.counts() == (0, 0, 0, 0)


def test_the_upload_needs_a_source_and_a_file(client, scene):
    as_(client, scene.officer)
    response = post(
        client,
        "/officer/outreach/imports/preview",
        {"source": ""},
        files={"file": ("a.csv", b"x", "text/csv")},
    )
    assert response.status_code == 422
    assert "Choose who sent the list" in response.text
    missing = preview(client, "immigration_service_list", b"identity_code,last_name\n1,2\n")
    assert missing.status_code == 422
    assert "lacks these columns: first_names, ground, first_permit_date" in missing.text


def test_duplicates_in_one_file_are_row_errors(client, scene):
    as_(client, scene.officer)
    content = (
        "identity_code,last_name,first_names,ground,first_permit_date\n"
        f"{AMINA},Warsame,Amina,international_protection,2024-05-02\n"
        f"{AMINA},Warsame,Amina,international_protection,2024-05-02\n"
    ).encode()
    page = preview(client, "immigration_service_list", content).text
    assert "The same person is already on row 2." in page
    assert confirm(client, "immigration_service_list", content).status_code == 422
    assert confirm(client, "immigration_service_list", content, mode="valid_rows").status_code == 303
    assert len(scene.items()) == 1


# --- the worklist and an item -------------------------------------------------------------------------


def test_the_worklist_shows_section_14_eligibility_and_filters_by_status(client, scene):
    on = today()
    scene.add_item(first_names="Recent", last_name="Aalto", identity_code=AMINA,
                   first_permit_date=on - timedelta(days=100))  # fmt: skip
    scene.add_item(first_names="Old", last_name="Berg", identity_code=OMAR,
                   reason=OutreachReason.INTERNATIONAL_PROTECTION,
                   first_permit_date=on.replace(year=on.year - 4))  # fmt: skip
    scene.add_item(first_names="Victim", last_name="Carlsson", identity_code=LEILA,
                   reason=OutreachReason.TRAFFICKING_VICTIM,
                   first_permit_date=on.replace(year=on.year - 8), status=OutreachStatus.REACHED)  # fmt: skip
    scene.add_item(first_names="Mover", last_name="Dahl", identity_code=None, reason=OutreachReason.MOVED_IN,
                   first_permit_date=None)  # fmt: skip
    scene.add_item(organisation_id=scene.other.id, first_names="Foreign", last_name="Ek", identity_code=AMINA)
    as_(client, scene.officer)
    page = client.get("/officer/outreach").text
    rows = {name: page.split(name)[1].split("</tr>")[0] for name in ("Aalto", "Berg", "Carlsson", "Dahl")}
    assert "Must be assessed" in rows["Aalto"]
    assert "Three years passed" in rows["Berg"]
    assert "no time limit" in rows["Carlsson"]
    assert "No ground on record" in rows["Dahl"]
    assert "Foreign" not in page
    reached = client.get("/officer/outreach?status=reached").text
    assert "Carlsson" in reached and "Aalto" not in reached
    # Benefits drive eligibility too: someone who only moved in but gets social assistance.
    dahl = scene.db.scalar(select(OutreachItem).where(OutreachItem.last_name == "Dahl"))
    dahl.first_permit_date = on - timedelta(days=30)
    scene.db.add(Benefit(organisation_id=scene.home.id, outreach_item_id=dahl.id, type=BenefitType.SOCIAL_ASSISTANCE,
                         status=BenefitStatus.RECEIVING, starts_on=on - timedelta(days=10), source=BenefitSource.OFFICER))  # fmt: skip
    scene.db.commit()
    page = client.get("/officer/outreach").text
    assert "Must be assessed" in page.split("Dahl")[1].split("</tr>")[0]


def test_contact_attempts_are_recorded_and_bad_input_is_kept(client, scene):
    item = scene.add_item()
    as_(client, scene.officer)
    bad = post(client, f"/officer/outreach/{item.id}/contacts",
               {"channel": "", "attempted_on": (today() + timedelta(days=2)).isoformat(), "outcome": "no_answer",
                "note": "Soitto iltapäivällä"})  # fmt: skip
    assert bad.status_code == 422
    assert "Choose one." in bad.text and "cannot be in the future" in bad.text
    assert "Soitto iltapäivällä" in bad.text
    ok = post(client, f"/officer/outreach/{item.id}/contacts",
              {"channel": "phone", "attempted_on": today().isoformat(), "outcome": "no_answer", "note": "Ei vastausta"})  # fmt: skip
    assert ok.status_code == 303
    reached = post(client, f"/officer/outreach/{item.id}/contacts",
                   {"channel": "sms", "attempted_on": today().isoformat(), "outcome": "reached"})  # fmt: skip
    assert reached.status_code == 303
    scene.db.expire_all()
    contacts = list(scene.db.scalars(select(OutreachContact).where(OutreachContact.item_id == item.id)))
    assert sorted(c.outcome.value for c in contacts) == ["no_answer", "reached"]
    assert scene.item(AMINA).status == OutreachStatus.REACHED
    page = client.get(f"/officer/outreach/{item.id}").text
    assert "Ei vastausta" in page and "No answer" in page
    worklist = client.get("/officer/outreach").text
    assert "2 – latest" in worklist


def test_a_status_change_is_version_checked(client, scene):
    item = scene.add_item()
    as_(client, scene.officer)
    assert (
        post(
            client, f"/officer/outreach/{item.id}/status", {"status": "declined", "version": "1"}
        ).status_code
        == 303
    )
    assert scene.item(AMINA).status == OutreachStatus.DECLINED
    stale = post(client, f"/officer/outreach/{item.id}/status", {"status": "moved_away", "version": "1"})
    assert stale.status_code == 409
    assert "Someone else changed" in stale.text
    assert scene.item(AMINA).status == OutreachStatus.DECLINED
    assert (
        post(client, f"/officer/outreach/{item.id}/status", {"status": "asleep", "version": "2"}).status_code
        == 422
    )


def test_an_officer_adds_and_edits_a_person(client, scene):
    as_(client, scene.officer)
    bad = post(client, "/officer/outreach", {"first_names": "Leila", "last_name": "", "identity_code": "010203-1234",
                                             "reason": "other"})  # fmt: skip
    assert bad.status_code == 422
    assert "Enter the last name." in bad.text and "not a valid personal identity code" in bad.text
    assert 'value="Leila"' in bad.text
    response = post(client, "/officer/outreach", {"first_names": "Leila", "last_name": "Karimi", "identity_code": LEILA,
                                                  "reason": "other", "phone": "040 111 2222", "note": "Kysyi neuvolassa"})  # fmt: skip
    assert response.status_code == 303
    leila = scene.item(LEILA)
    assert leila.date_of_birth == date(1985, 7, 1)
    again = post(
        client,
        "/officer/outreach",
        {"first_names": "L", "last_name": "K", "identity_code": LEILA, "reason": "other"},
    )
    assert again.status_code == 409
    assert "already on the outreach list" in again.text
    edit = client.get(f"/officer/outreach/{leila.id}/edit")
    assert "Kysyi neuvolassa" in edit.text
    form = {"first_names": "Leila", "last_name": "Karimi", "identity_code": LEILA, "reason": "international_protection",
            "first_permit_date": (today() - timedelta(days=60)).isoformat(), "version": "1"}  # fmt: skip
    assert post(client, f"/officer/outreach/{leila.id}", form).status_code == 303
    assert scene.item(LEILA).reason == OutreachReason.INTERNATIONAL_PROTECTION
    stale = post(client, f"/officer/outreach/{leila.id}", {**form, "last_name": "Karimi-Ahmadi"})
    assert stale.status_code == 409
    assert scene.item(LEILA).last_name == "Karimi"


def test_the_person_becomes_a_client_without_retyping_and_the_benefits_move(client, scene):
    item = scene.add_item(reason=OutreachReason.INTERNATIONAL_PROTECTION, phone="+358401234567", language="so",
                          street_address="Koulukatu 4", postal_code="99100", post_office="Esimerkkilä")  # fmt: skip
    as_(client, scene.officer)
    assert post(client, f"/officer/outreach/{item.id}/benefits",
                {"type": "home_care_allowance", "status": "receiving", "starts_on": "2025-02-01"}).status_code == 303  # fmt: skip
    response = post(client, f"/officer/outreach/{item.id}/client", {"version": "1"})
    assert response.status_code == 303
    scene.db.expire_all()
    created = scene.db.scalar(select(Client).where(Client.identity_code == AMINA))
    assert response.headers["location"] == f"/officer/clients/{created.id}"
    assert (created.segment, created.known_how, created.first_names, created.last_name) == (
        1, KnownHow.IMMIGRATION_SERVICE_LIST, "Amina", "Warsame",
    )  # fmt: skip
    assert (created.date_of_birth, created.phone, created.mother_tongue, created.postal_code) == (
        date(1990, 4, 12), "+358401234567", "so", "99100",
    )  # fmt: skip
    assert created.first_permit_date == item.first_permit_date
    assert created.permit_type.value == "international_protection"
    assert scene.item(AMINA).client_id == created.id
    [benefit] = scene.benefits()
    assert benefit.client_id == created.id  # recorded once, now the client's
    assert "Child home-care allowance" in client_section(client, created.id, "benefits").text
    # A second press changes nothing more.
    assert post(client, f"/officer/outreach/{item.id}/client", {"version": "2"}).status_code == 409
    assert scene.db.scalar(select(func.count()).select_from(Client)) == 1
    # Once a client, the item's benefits are kept on the client page.
    assert post(client, f"/officer/outreach/{item.id}/benefits",
                {"type": "other", "other_type": "Asumistuki", "status": "applied"}).status_code == 403  # fmt: skip


def test_kela_list_person_becomes_a_client_known_from_kela(client, scene):
    as_(client, scene.officer)
    assert (
        confirm(client, "kela_list", kela(f"{OMAR},Haidari,Omar,social_assistance,2025-03-01,,")).status_code
        == 303
    )
    item = scene.item(OMAR)
    assert (
        post(client, f"/officer/outreach/{item.id}/client", {"version": str(item.version)}).status_code == 303
    )
    created = scene.db.scalar(select(Client).where(Client.identity_code == OMAR))
    assert created.known_how == KnownHow.KELA_LIST
    assert [b.client_id for b in scene.benefits()] == [created.id]


def test_an_item_is_linked_to_an_existing_client(client, scene):
    person = scene.factory.client(
        scene.home, first_names="Amina", last_name="Warsame", date_of_birth=date(1990, 4, 12)
    )
    item = scene.add_item(identity_code=None)
    scene.db.add(Benefit(organisation_id=scene.home.id, outreach_item_id=item.id, type=BenefitType.SOCIAL_ASSISTANCE,
                         status=BenefitStatus.RECEIVING, starts_on=date(2025, 3, 1), source=BenefitSource.OFFICER))  # fmt: skip
    scene.db.add(Benefit(organisation_id=scene.home.id, client_id=person.id, type=BenefitType.SOCIAL_ASSISTANCE,
                         status=BenefitStatus.RECEIVING, starts_on=date(2025, 3, 1), source=BenefitSource.OFFICER))  # fmt: skip
    scene.db.commit()
    foreign = scene.factory.client(
        scene.other, first_names="Amina", last_name="Warsame", date_of_birth=date(1990, 4, 12)
    )
    as_(client, scene.officer)
    page = client.get(f"/officer/outreach/{item.id}").text
    assert "Probably already a client" in page and str(person.id) in page and str(foreign.id) not in page
    refused = post(
        client, f"/officer/outreach/{item.id}/link", {"client_id": str(foreign.id), "version": "1"}
    )
    assert refused.status_code == 422
    assert (
        post(
            client, f"/officer/outreach/{item.id}/link", {"client_id": str(person.id), "version": "1"}
        ).status_code
        == 303
    )
    scene.db.expire_all()
    assert scene.db.get(OutreachItem, item.id).client_id == person.id
    # The same benefit was on both: it stays recorded once, the client's.
    assert [(b.client_id, b.type) for b in scene.benefits()] == [(person.id, BenefitType.SOCIAL_ASSISTANCE)]


# --- access ---------------------------------------------------------------------------------------------


def test_another_organisations_item_and_import_are_not_found(client, scene):
    item = scene.add_item(organisation_id=scene.other.id, first_names="Farah", last_name="Ali")
    as_(client, scene.stranger)
    assert (
        confirm(client, "kela_list", kela(f"{OMAR},Haidari,Omar,social_assistance,2025-03-01,,")).status_code
        == 303
    )
    record = scene.db.scalar(select(OutreachImport))
    item_of_home = scene.add_item(identity_code=LEILA)
    as_(client, scene.officer)
    assert client.get(f"/officer/outreach/{item_of_home.id}").status_code == 200
    assert client.get(f"/officer/outreach/imports/{record.id}").status_code == 404
    other_item = scene.item(OMAR)
    for target in (item, other_item):
        assert client.get(f"/officer/outreach/{target.id}").status_code == 404
        assert client.get(f"/officer/outreach/{target.id}/edit").status_code == 404
        assert (
            post(
                client, f"/officer/outreach/{target.id}/status", {"status": "declined", "version": "1"}
            ).status_code
            == 404
        )
        assert post(client, f"/officer/outreach/{target.id}/contacts",
                    {"channel": "phone", "attempted_on": today().isoformat(), "outcome": "reached"}).status_code == 404  # fmt: skip
        assert post(client, f"/officer/outreach/{target.id}/client", {"version": "1"}).status_code == 404
    listing = client.get("/officer/outreach").text
    assert "Ali, Farah" not in listing and "Haidari" not in listing
    scene.db.expire_all()
    assert scene.db.get(OutreachItem, item.id).status == OutreachStatus.TO_REACH
    # Importing the other organisation's file is this organisation's own, separate import.
    assert (
        confirm(client, "kela_list", kela(f"{OMAR},Haidari,Omar,social_assistance,2025-03-01,,")).status_code
        == 303
    )
    assert len(scene.items()) == 2 and len(scene.items(scene.other)) == 2


def test_county_staff_and_managers_have_no_outreach_pages(client, scene):
    item = scene.add_item()
    for staff in (scene.county_member, scene.manager):
        as_(client, staff)
        assert client.get("/officer/outreach").status_code == 403
        assert client.get("/officer/outreach/imports").status_code == 403
        assert client.get(f"/officer/outreach/{item.id}").status_code == 403
        assert (
            preview(client, "kela_list", kela(f"{OMAR},H,O,social_assistance,2025-03-01,,")).status_code
            == 403
        )
        assert (
            confirm(client, "kela_list", kela(f"{OMAR},H,O,social_assistance,2025-03-01,,")).status_code
            == 403
        )
    assert scene.counts()[2] == 0


# --- benefits on the client page ---------------------------------------------------------------------


def test_benefits_on_the_client_page_add_edit_end_and_stale(client, scene):
    person = scene.factory.client(scene.home, first_names="Amina", last_name="Warsame")
    as_(client, scene.officer)
    bad = post(client, f"/officer/clients/{person.id}/benefits", {"type": "other", "status": "receiving",
                                                                  "starts_on": "2025-03-01", "ends_on": "2025-02-01"})  # fmt: skip
    assert bad.status_code == 422
    assert "Name the benefit." in bad.text and "cannot end before it starts" in bad.text
    assert 'value="2025-02-01"' in bad.text
    added = post(client, f"/officer/clients/{person.id}/benefits",
                 {"type": "unemployment_benefit", "status": "receiving", "starts_on": "2025-03-01"})  # fmt: skip
    assert added.status_code == 303
    [benefit] = scene.benefits()
    assert (benefit.client_id, benefit.source, benefit.recorded_by_id) == (
        person.id,
        BenefitSource.OFFICER,
        scene.officer.id,
    )
    duplicate = post(client, f"/officer/clients/{person.id}/benefits",
                     {"type": "unemployment_benefit", "status": "receiving", "starts_on": "2025-03-01"})  # fmt: skip
    assert duplicate.status_code == 409
    page = client_section(client, person.id, "benefits").text
    assert "Unemployment benefit" in page and "Participation binds the client" in page

    edit_page = client.get(f"/officer/clients/{person.id}/benefits/{benefit.id}/edit")
    assert edit_page.status_code == 200
    form = {"type": "unemployment_benefit", "status": "applied", "starts_on": "2025-03-01", "version": "1"}
    assert post(client, f"/officer/clients/{person.id}/benefits/{benefit.id}", form).status_code == 303
    stale = post(
        client, f"/officer/clients/{person.id}/benefits/{benefit.id}", {**form, "status": "receiving"}
    )
    assert stale.status_code == 409
    assert "Someone else changed this benefit" in stale.text
    assert scene.benefits()[0].status == BenefitStatus.APPLIED
    stale_end = post(client, f"/officer/clients/{person.id}/benefits/{benefit.id}/end",
                     {"end_ends_on": "2025-05-31", "version": "1"})  # fmt: skip
    assert stale_end.status_code == 409
    ended = post(client, f"/officer/clients/{person.id}/benefits/{benefit.id}/end",
                 {"end_ends_on": "2025-05-31", "version": "2"})  # fmt: skip
    assert ended.status_code == 303
    assert scene.benefits()[0].ends_on == date(2025, 5, 31)
    actions = [
        e.action
        for e in scene.db.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "benefit", AuditEvent.client_id == person.id)
            .order_by(AuditEvent.at)
        )
    ]
    assert actions.count("create") == 1 and actions.count("update") == 2 and "view" in actions


def test_benefit_writes_follow_the_access_policy(client, scene):
    foreign = scene.factory.client(scene.other)
    ended = scene.factory.client(scene.home, status=ClientStatus.ENDED, ended_on=date(2025, 1, 31))
    benefit = Benefit(organisation_id=scene.other.id, client_id=foreign.id, type=BenefitType.SOCIAL_ASSISTANCE,
                      status=BenefitStatus.RECEIVING, source=BenefitSource.OFFICER)  # fmt: skip
    scene.db.add(benefit)
    scene.db.commit()
    form = {"type": "unemployment_benefit", "status": "receiving"}
    as_(client, scene.officer)
    assert post(client, f"/officer/clients/{foreign.id}/benefits", form).status_code == 404
    assert client.get(f"/officer/clients/{foreign.id}/benefits/{benefit.id}/edit").status_code == 404
    assert (
        post(
            client, f"/officer/clients/{foreign.id}/benefits/{benefit.id}", {**form, "version": "1"}
        ).status_code
        == 404
    )
    assert post(client, f"/officer/clients/{ended.id}/benefits", form).status_code == 403
    as_(client, scene.manager)
    own = scene.factory.client(scene.home)
    assert post(client, f"/officer/clients/{own.id}/benefits", form).status_code == 403
    assert len(scene.benefits()) == 1


def test_the_plan_page_shows_when_participation_binds_the_client(client, scene):
    person = scene.factory.client(scene.home, first_names="Amina", last_name="Warsame")
    plan = make_plan(scene.db, scene.home, scene.officer, person)
    as_(client, scene.officer)
    assert "Participation binds the client" not in client.get(f"/officer/plans/{plan.id}").text
    scene.db.add(Benefit(organisation_id=scene.home.id, client_id=person.id, type=BenefitType.HOME_CARE_ALLOWANCE,
                         status=BenefitStatus.RECEIVING, source=BenefitSource.OFFICER))  # fmt: skip
    scene.db.add(Benefit(organisation_id=scene.home.id, client_id=person.id, type=BenefitType.SOCIAL_ASSISTANCE,
                         status=BenefitStatus.RECEIVING, starts_on=today() - timedelta(days=400),
                         ends_on=today() - timedelta(days=1), source=BenefitSource.OFFICER))  # fmt: skip
    scene.db.add(Benefit(organisation_id=scene.home.id, client_id=person.id, type=BenefitType.UNEMPLOYMENT_BENEFIT,
                         status=BenefitStatus.APPLIED, source=BenefitSource.OFFICER))  # fmt: skip
    scene.db.commit()
    assert "Participation binds the client" not in client.get(f"/officer/plans/{plan.id}").text
    scene.db.add(Benefit(organisation_id=scene.home.id, client_id=person.id, type=BenefitType.SOCIAL_ASSISTANCE,
                         status=BenefitStatus.RECEIVING, starts_on=today(), source=BenefitSource.IMPORT))  # fmt: skip
    scene.db.commit()
    page = client.get(f"/officer/plans/{plan.id}").text
    assert "Participation binds the client (section 24)" in page
    assert "non-temporary social assistance" in page


def test_create_client_links_when_the_identity_code_is_already_a_client(client, scene):
    person = scene.factory.client(scene.home, first_names="Amina", last_name="Warsame", identity_code=AMINA)
    item = scene.add_item()
    as_(client, scene.officer)
    response = post(client, f"/officer/outreach/{item.id}/client", {"version": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/officer/clients/{person.id}"
    assert scene.db.scalar(select(func.count()).select_from(Client)) == 1
    assert scene.item(AMINA).client_id == person.id


def test_a_later_list_links_a_person_who_has_become_a_client_and_moves_the_benefits(client, scene):
    as_(client, scene.officer)
    assert (
        confirm(
            client, "kela_list", kela(f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,")
        ).status_code
        == 303
    )
    person = scene.factory.client(scene.home, first_names="Amina", last_name="Warsame", identity_code=AMINA)
    scene.db.add(Benefit(organisation_id=scene.home.id, client_id=person.id, type=BenefitType.SOCIAL_ASSISTANCE,
                         status=BenefitStatus.RECEIVING, starts_on=date(2025, 3, 1), source=BenefitSource.OFFICER))  # fmt: skip
    scene.db.commit()
    later = kela(
        f"{AMINA},Warsame,Amina,social_assistance,2025-03-01,,",
        f"{AMINA},Warsame,Amina,home_care_allowance,2025-05-01,,",
    )
    assert confirm(client, "kela_list", later).status_code == 303
    assert scene.item(AMINA).client_id == person.id
    # Each benefit once, all of them the client's.
    assert sorted((b.type.value, b.client_id) for b in scene.benefits()) == [
        ("home_care_allowance", person.id),
        ("social_assistance", person.id),
    ]
