"""The client register through HTTP: create, validate, duplicates, search, edit conflicts, family, consents."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.db.audit import AuditEvent
from app.db.client import Client, Consent, FamilyLink
from app.db.organisation import Role
from tests.conftest import client_section, post, sign_in

VALID = {
    "segment": "2",
    "known_on": "2025-03-01",
    "known_how": "municipal_placement",
    "first_names": "Olena",
    "last_name": "Shevchenko",
    "native_name": "Олена Шевченко",
    "identity_code": "131052-308T",
    "citizenship": "UA",
    "mother_tongue": "uk",
    "phone": "040 123 4567",
    "email": "Olena@example.fi",
    "first_permit_date": "2024-09-01",
    "permit_type": "temporary_protection",
}


@pytest.fixture
def officer(client, factory):
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    return person


def search(client, query, **extra):
    response = post(client, "/officer/clients/search", {"q": query, **extra}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return re.findall(r'href="/officer/clients/[0-9a-f-]+">([^<]+)</a>', response.text)


def test_register_a_client(client, officer, db):
    response = post(client, "/officer/clients", VALID)
    assert response.status_code == 303
    created = db.scalar(select(Client))
    assert response.headers["location"] == f"/officer/clients/{created.id}"
    assert created.phone == "+358401234567"
    assert created.email == "olena@example.fi"
    assert created.date_of_birth == date(1952, 10, 13)  # taken from the identity code
    assert created.organisation_id == officer.organisation_id
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "create"))
    assert event.client_id == created.id and "identity_code" in event.fields
    # Names of fields only — never their values.
    assert "131052-308T" not in repr(db.scalars(select(AuditEvent.fields)).all())


def test_bad_input_gets_clear_errors_and_keeps_what_was_typed(client, officer, db):
    typed = {
        **VALID,
        "identity_code": "131052-308U",
        "phone": "12",
        "postal_code": "123",
        "date_of_birth": "1.1.1990",
    }
    response = post(client, "/officer/clients", typed)
    assert response.status_code == 422
    assert 'id="identity_code-error"' in response.text
    assert 'value="131052-308U"' in response.text
    assert 'value="Олена Шевченко"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert db.scalar(select(Client)) is None


def test_an_identity_code_is_registered_once_per_organisation(client, officer):
    assert post(client, "/officer/clients", VALID).status_code == 303
    again = post(client, "/officer/clients", {**VALID, "first_names": "Other", "confirm_new": "on"})
    assert again.status_code == 422


def test_probable_duplicates_are_shown_before_saving(client, officer, factory, db):
    factory.client(
        factory.organisation(), first_names="Mohammad", last_name="Al-Hassan", date_of_birth=date(1990, 5, 4)
    )
    mine = officer.organisation_id
    from app.db.organisation import Organisation

    own = db.get(Organisation, mine)
    factory.client(own, first_names="Mohammád", last_name="Al-Hassan", date_of_birth=date(1990, 5, 4))
    new = {
        **VALID,
        "identity_code": "",
        "first_names": "Mohammad",
        "last_name": "Alhassan",
        "native_name": "",
        "date_of_birth": "1990-05-04",
        "phone": "",
        "email": "",
    }
    warned = post(client, "/officer/clients", new)
    assert warned.status_code == 422
    assert "Mohammád" in warned.text  # the own organisation's probable duplicate
    assert warned.text.count("Al-Hassan, ") == 1  # the other organisation's person is never revealed
    # The live check (htmx) gives the same warning while typing.
    live = post(client, "/officer/clients/duplicates", new, headers={"HX-Request": "true"})
    assert "Mohammád" in live.text
    confirmed = post(client, "/officer/clients", {**new, "confirm_new": "on"})
    assert confirmed.status_code == 303


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("shev", ["Shevchenko, Olena"]),
        ("OLENA sHEV", ["Shevchenko, Olena"]),
        ("олена", ["Shevchenko, Olena"]),
        ("alvarez", ["Álvarez, José"]),
        ("jose", ["Álvarez, José"]),
        ("131052-308T", ["Shevchenko, Olena"]),
        ("040 123 4567", ["Shevchenko, Olena"]),
        ("13.10.1952", ["Shevchenko, Olena"]),
        ("%", []),
    ],
)
def test_search_by_name_code_phone_and_birth_date(client, officer, factory, db, query, expected):
    from app.db.organisation import Organisation

    own = db.get(Organisation, officer.organisation_id)
    factory.client(
        own,
        first_names="Olena",
        last_name="Shevchenko",
        native_name="Олена Шевченко",
        identity_code="131052-308T",
        phone="+358401234567",
        date_of_birth=date(1952, 10, 13),
    )
    factory.client(own, first_names="José", last_name="Álvarez", date_of_birth=date(1980, 1, 1))
    factory.client(factory.organisation(), first_names="Olena", last_name="Shevchenko-Other")
    assert search(client, query) == expected


def test_search_pages_through_results_and_works_without_javascript(client, officer, factory, db):
    from app.db.organisation import Organisation

    own = db.get(Organisation, officer.organisation_id)
    for n in range(23):
        factory.client(own, first_names=f"Anna {n:02d}", last_name="Ivanova")
    first = search(client, "ivanova")
    second = search(client, "ivanova", page="2")
    assert len(first) == 20 and len(second) == 3
    assert not set(first) & set(second)
    plain = post(client, "/officer/clients/search", {"q": "ivanova"})  # a normal form post: a whole page
    assert "<html" in plain.text
    assert "Seuraava sivu" in plain.text  # "Next page" in Finnish, the default language


def test_ended_clients_are_found_only_when_asked(client, officer, factory, db):
    from app.db.client import ClientStatus
    from app.db.organisation import Organisation

    own = db.get(Organisation, officer.organisation_id)
    factory.client(own, first_names="Pavel", last_name="Smirnov", status=ClientStatus.ENDED)
    assert search(client, "smirnov") == []
    assert search(client, "smirnov", include_ended="on") == ["Smirnov, Pavel"]


def test_a_stale_edit_is_refused_and_the_input_kept(client, officer, factory, db):
    from app.db.organisation import Organisation

    record = factory.client(
        db.get(Organisation, officer.organisation_id), first_names="Zahra", last_name="Ahmadi"
    )
    form = client.get(f"/officer/clients/{record.id}/edit").text
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    base = {**VALID, "identity_code": "", "first_names": "Zahra", "last_name": "Ahmadi", "version": version}

    # A colleague saves first.
    assert post(client, f"/officer/clients/{record.id}", {**base, "phone": "040 765 4321"}).status_code == 303
    # Then our save, from the form opened before, is refused.
    stale = post(client, f"/officer/clients/{record.id}", {**base, "street_address": "Koulukatu 5"})
    assert stale.status_code == 409
    assert 'value="Koulukatu 5"' in stale.text
    assert "+358 40 7654321" in stale.text or "+358407654321" in stale.text  # what is saved now is shown
    db.expire_all()
    saved = db.get(Client, record.id)
    assert saved.phone == "+358407654321" and saved.street_address is None
    # Saving again from the refreshed form is a conscious choice and goes through.
    fresh_version = re.search(r'name="version" value="(\d+)"', stale.text).group(1)
    again = post(
        client,
        f"/officer/clients/{record.id}",
        {**base, "street_address": "Koulukatu 5", "version": fresh_version},
    )
    assert again.status_code == 303


def test_ending_the_client_relationship(client, officer, factory, db):
    from app.db.organisation import Organisation

    record = factory.client(db.get(Organisation, officer.organisation_id))
    response = post(
        client,
        f"/officer/clients/{record.id}/end",
        {"ended_on": "2026-01-31", "end_reason": "moved_away", "version": str(record.version)},
    )
    assert response.status_code == 303
    db.expire_all()
    ended = db.get(Client, record.id)
    assert ended.status.value == "ended" and ended.ended_on == date(2026, 1, 31)
    assert "31.1.2030" in client.get(f"/officer/clients/{record.id}").text  # §77: deleted four years later
    again = post(
        client,
        f"/officer/clients/{record.id}/end",
        {"ended_on": "2026-02-01", "end_reason": "other", "version": str(ended.version)},
    )
    assert again.status_code == 422


def test_family_links_are_recorded_both_ways(client, officer, factory, db):
    from app.db.organisation import Organisation

    own = db.get(Organisation, officer.organisation_id)
    parent = factory.client(own, first_names="Fatima", last_name="Haddad")
    child = factory.client(own, first_names="Omar", last_name="Haddad")
    response = post(
        client,
        f"/officer/clients/{parent.id}/family",
        {"related_identifier": child.temporary_identifier, "relation": "guardian"},
    )
    assert response.status_code == 303
    links = {(link.client_id, link.relation.value) for link in db.scalars(select(FamilyLink))}
    assert links == {(parent.id, "guardian"), (child.id, "child")}
    # Back on the client page with the family section open (it is otherwise loaded when opened).
    back = client.get(response.headers["location"])
    assert '<details class="on-demand" id="family" open>' in back.text and "Omar" in back.text
    assert "Omar" in client_section(client, parent.id, "family").text
    # Someone in another organisation cannot be linked.
    stranger = factory.client(factory.organisation(), first_names="Stranger")
    refused = post(
        client,
        f"/officer/clients/{parent.id}/family",
        {"related_identifier": stranger.temporary_identifier, "relation": "spouse"},
    )
    assert refused.status_code == 422


def test_consents_keep_their_history(client, officer, factory, db):
    from app.db.organisation import Organisation

    record = factory.client(db.get(Organisation, officer.organisation_id))
    for given in ("yes", "no"):
        assert (
            post(
                client,
                f"/officer/clients/{record.id}/consents",
                {"purpose": "wellbeing_county_sharing", "given": given, "decided_on": "2026-01-10"},
            ).status_code
            == 303
        )
    decisions = db.scalars(select(Consent).order_by(Consent.recorded_at)).all()
    assert [c.given for c in decisions] == [True, False]
    assert all(c.recorded_by_id == officer.id for c in decisions)


def test_viewing_a_client_is_audited_with_the_sections_shown(client, officer, factory, db):
    from app.db.organisation import Organisation

    record = factory.client(db.get(Organisation, officer.organisation_id))
    page = client.get(f"/officer/clients/{record.id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    views = select(AuditEvent).where(
        AuditEvent.action == "view", AuditEvent.client_id == record.id, AuditEvent.object_type == "client"
    )
    view = db.scalar(views)
    # The page names what it shows; health data is a section of its own, audited when it is opened.
    assert view.actor_id == officer.id
    assert sorted(view.fields) == ["appointments", "assessments", "basic", "languages", "plans", "tasks"]
    health = client_section(client, record.id, "health")
    assert health.status_code == 200 and health.headers["cache-control"] == "no-store"
    assert [e.fields for e in db.scalars(views.order_by(AuditEvent.id))][1:] == [["health"]]
    history = client.get(f"/officer/clients/{record.id}/access-history")
    assert history.status_code == 200 and officer.full_name in history.text


def test_a_family_link_recorded_by_mistake_is_removed_both_ways(client, officer, factory, db):
    from app.db.organisation import Organisation

    own = db.get(Organisation, officer.organisation_id)
    one = factory.client(own, first_names="Yusuf", last_name="Farah")
    other = factory.client(own, first_names="Ayaan", last_name="Warsame")
    post(
        client,
        f"/officer/clients/{one.id}/family",
        {"related_identifier": other.temporary_identifier, "relation": "spouse"},
    )
    assert "Ayaan" in client_section(client, one.id, "family").text
    assert post(client, f"/officer/clients/{other.id}/family/{one.id}/delete").status_code == 303
    assert "Yusuf" not in client_section(client, other.id, "family").text
    assert db.scalar(select(FamilyLink)) is None
    deletions = db.scalars(select(AuditEvent.client_id).where(AuditEvent.action == "delete")).all()
    assert sorted(map(str, deletions)) == sorted([str(one.id), str(other.id)])
    assert post(client, f"/officer/clients/{other.id}/family/{one.id}/delete").status_code == 404
