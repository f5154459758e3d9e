"""The county data-transfer API (service 18): system clients, OAuth2 client credentials, the shared data of
the clients a county cooperates on — only while the cooperation lasts, health only with consent — every
call audit-logged as the county, and the administrators' page for system clients."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.db.assessment import Assessment, AssessmentStatus
from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.client import (
    Client,
    ClientLanguage,
    Consent,
    ConsentPurpose,
    HealthInformation,
    LanguageLevel,
)
from app.db.cooperation import ApiAccessToken, ApiClient, CooperationStatus, CountyCooperation
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.db.plan import (
    GoalKind,
    GoalType,
    IntegrationPlan,
    PlanGoal,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
)
from app.db.programme import ProgrammeService, ProgrammeServiceText, ServiceType
from tests.conftest import post, sign_in, sign_in_client

TOKEN = "/api/v1/token"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class World:
    home: Organisation  # the responsible municipality
    county: Organisation
    officer: Staff
    county_admin: Staff
    person: Client  # shared with the county
    key: str
    secret: str
    cooperation: CountyCooperation


def cooperate(db, person: Client, officer: Staff, county: Organisation, **fields: Any) -> CountyCooperation:
    consent = Consent(
        client_id=person.id,
        purpose=ConsentPurpose.WELLBEING_COUNTY_SHARING,
        given=True,
        decided_on=date(2026, 1, 5),
        recorded_by_id=officer.id,
    )
    db.add(consent)
    db.flush()
    values: dict[str, Any] = {
        "status": CooperationStatus.ACCEPTED,
        "reason": "Needs coordinated services",
        "share_health": False,
        "decided_at": datetime(2026, 1, 10, 9, 0, tzinfo=UTC),
    }
    values.update(fields)
    row = CountyCooperation(
        client_id=person.id,
        organisation_id=person.organisation_id,
        county_id=county.id,
        consent_id=consent.id,
        requested_by_id=officer.id,
        **values,
    )
    db.add(row)
    db.commit()
    return row


def system_client(db, county: Organisation, admin: Staff, *, active: bool = True) -> tuple[str, str]:
    key, secret = f"kp-test-{county.id.hex[:12]}-{len(str(active))}", f"secret-{county.id.hex}"
    db.add(
        ApiClient(
            organisation_id=county.id,
            name="County system",
            client_key=key,
            secret_hash=sha256(secret),
            active=active,
            created_by_id=admin.id,
        )
    )
    db.commit()
    return key, secret


@pytest.fixture
def world(db, factory) -> World:
    home = factory.organisation("Kotikunta")
    county = factory.organisation("Savon hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    county_admin = factory.staff(county, Role.ADMINISTRATOR)
    person = factory.client(
        home,
        first_names="Amina",
        last_name="Yusuf",
        date_of_birth=date(1990, 4, 2),
        identity_code="020490-902X",
        mother_tongue="so",
        interpreter_needed=True,
        interpreter_language="so",
        phone="+358401234567",
        email="amina@example.fi",
        street_address="Kauppakatu 1",
        postal_code="70100",
        post_office="Kuopio",
    )
    db.add(ClientLanguage(client_id=person.id, language="en", level=LanguageLevel.B1))
    db.commit()
    key, secret = system_client(db, county, county_admin)
    return World(
        home, county, officer, county_admin, person, key, secret, cooperate(db, person, officer, county)
    )


def basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def token_for(client, key: str, secret: str) -> str:
    response = client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic(key, secret))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the token endpoint -----------------------------------------------------------------------------


def test_a_system_client_gets_a_token_with_basic_or_body_credentials(client, db, world):
    by_basic = client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=basic(world.key, world.secret)
    )
    assert by_basic.status_code == 200, by_basic.text
    body = by_basic.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert by_basic.headers["cache-control"] == "no-store" and by_basic.headers["pragma"] == "no-cache"
    assert "set-cookie" not in by_basic.headers  # no CSRF cookie, no session: not cookie-authenticated

    by_body = client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": world.key, "client_secret": world.secret},
    )
    assert by_body.status_code == 200, by_body.text
    assert by_body.json()["access_token"] != body["access_token"]

    # Only the SHA-256 of a token is stored, expiring in 15 minutes.
    stored = db.scalars(select(ApiAccessToken)).all()
    assert {t.token_hash for t in stored} == {
        sha256(body["access_token"]),
        sha256(by_body.json()["access_token"]),
    }
    for row in stored:
        assert timedelta(minutes=14) < row.expires_at - datetime.now(UTC) <= timedelta(minutes=15)
    api_client = db.scalar(select(ApiClient).where(ApiClient.client_key == world.key))
    assert api_client.last_used_at is not None
    sign_ins = db.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in")).all()
    assert len(sign_ins) == 2
    assert all(
        e.actor_kind == "api_client"
        and e.actor_id == api_client.id
        and e.actor_organisation_id == world.county.id
        for e in sign_ins
    )


def test_wrong_credentials_and_wrong_requests_get_the_rfc_6749_errors(client, db, world):
    wrong = client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic(world.key, "guess"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    assert "access_token" not in wrong.text

    unknown = client.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": "kp-nobody", "client_secret": "x"}
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    assert "www-authenticate" in unknown.headers

    no_credentials = client.post(TOKEN, data={"grant_type": "client_credentials"})
    assert no_credentials.status_code == 401 and no_credentials.json()["error"] == "invalid_client"

    grant = client.post(TOKEN, data={"grant_type": "password"}, headers=basic(world.key, world.secret))
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"

    missing = client.post(TOKEN, data={"client_id": world.key}, headers=basic(world.key, world.secret))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"

    two_ways = client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_secret": world.secret},
        headers=basic(world.key, world.secret),
    )
    assert two_ways.status_code == 400 and two_ways.json()["error"] == "invalid_request"

    twice = client.post(
        TOKEN,
        content=f"grant_type=client_credentials&grant_type=client_credentials&client_id={world.key}",
        headers={"Content-Type": "application/x-www-form-urlencoded", **basic(world.key, world.secret)},
    )
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"

    as_json = client.post(
        TOKEN, json={"grant_type": "client_credentials"}, headers=basic(world.key, world.secret)
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"

    assert db.scalar(select(ApiAccessToken)) is None
    failures = db.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).all()
    assert len(failures) == 2  # the wrong secret (as the system client) and the unknown client id
    assert {e.actor_kind for e in failures} == {"api_client", "anonymous"}
    assert all(world.secret not in str(e.fields) and "guess" not in str(e.fields) for e in failures)


def test_a_deactivated_client_gets_no_token(client, db, world):
    key, secret = system_client(db, world.county, world.county_admin, active=False)
    response = client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic(key, secret))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_failed_attempts_are_limited_per_client(client, db, world, settings):
    for _ in range(settings.sign_in_max_failures_per_account):
        response = client.post(
            TOKEN, data={"grant_type": "client_credentials"}, headers=basic(world.key, "guess")
        )
        assert response.status_code == 401
    # Now even the right secret waits: guessing cannot go on.
    limited = client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=basic(world.key, world.secret)
    )
    assert limited.status_code == 429 and limited.json()["error"] == "temporarily_unavailable"
    assert int(limited.headers["retry-after"]) > 0
    assert db.scalar(select(ApiAccessToken)) is None


# --- bearer tokens ------------------------------------------------------------------------------------


def test_an_expired_or_missing_token_or_a_deactivated_client_is_refused(client, db, world):
    token = token_for(client, world.key, world.secret)
    assert client.get("/api/v1/clients", headers=bearer(token)).status_code == 200

    missing = client.get("/api/v1/clients")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")

    db.execute(update(ApiAccessToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    expired = client.get("/api/v1/clients", headers=bearer(token))
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert expired.json()["error"] == "invalid_token"
    assert "Amina" not in expired.text

    fresh = token_for(client, world.key, world.secret)
    db.execute(update(ApiClient).values(active=False))
    db.commit()
    refused = client.get(f"/api/v1/clients/{world.person.id}", headers=bearer(fresh))
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert client.get("/api/v1/clients", headers=bearer("made-up")).status_code == 401


# --- the shared data ------------------------------------------------------------------------------------


def test_the_list_shows_only_the_countys_cooperations_and_a_client_leaves_it_when_cooperation_ends(
    client, db, factory, world
):
    other_county = factory.organisation("Toinen hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    requested = factory.client(world.home, first_names="Pyydetty")
    cooperate(db, requested, world.officer, world.county, status=CooperationStatus.REQUESTED, decided_at=None)
    declined = factory.client(world.home, first_names="Kieltäytynyt")
    cooperate(db, declined, world.officer, world.county, status=CooperationStatus.DECLINED)
    elsewhere = factory.client(world.home, first_names="Muualla")
    cooperate(db, elsewhere, world.officer, other_county)
    factory.client(world.home, first_names="Ilmanyhteistyötä")

    token = token_for(client, world.key, world.secret)
    response = client.get("/api/v1/clients", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    page = response.json()
    assert page["next_cursor"] is None
    assert [item["id"] for item in page["items"]] == [str(world.person.id)]
    item = page["items"][0]
    assert item["first_names"] == "Amina" and item["last_name"] == "Yusuf"
    assert item["date_of_birth"] == "1990-04-02"
    assert item["mother_tongue"] == "so"
    assert item["languages"] == [{"language": "en", "level": "B1"}]
    assert item["interpreter_needed"] is True and item["interpreter_language"] == "so"
    assert item["contact"]["phone"] == "+358401234567" and item["contact"]["post_office"] == "Kuopio"
    assert item["responsible_organisation"] == {"id": str(world.home.id), "name": "Kotikunta"}
    assert item["cooperation"]["id"] == str(world.cooperation.id)
    assert item["cooperation"]["since"].startswith("2026-01-10T09:00:00")
    assert "identity_code" not in item  # the list carries what a system needs to match, no more

    db.execute(
        update(CountyCooperation)
        .where(CountyCooperation.id == world.cooperation.id)
        .values(status=CooperationStatus.ENDED, ended_at=datetime.now(UTC))
    )
    db.commit()
    assert client.get("/api/v1/clients", headers=bearer(token)).json()["items"] == []
    assert client.get(f"/api/v1/clients/{world.person.id}", headers=bearer(token)).status_code == 404


def test_the_list_is_paged_with_a_cursor(client, db, factory, world):
    for n in range(4):
        person = factory.client(world.home, first_names=f"Asiakas{n}")
        cooperate(db, person, world.officer, world.county, decided_at=datetime(2026, 2, 1, tzinfo=UTC))
    token = token_for(client, world.key, world.secret)
    seen: list[str] = []
    url = "/api/v1/clients?limit=2"
    pages = 0
    while url:
        page = client.get(url, headers=bearer(token)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        url = f"/api/v1/clients?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert pages == 3
    assert len(seen) == 5 and len(set(seen)) == 5
    assert seen[0] == str(world.person.id)  # the oldest cooperation first

    assert client.get("/api/v1/clients?cursor=bm90LWEtY3Vyc29y", headers=bearer(token)).status_code == 400
    assert client.get("/api/v1/clients?limit=0", headers=bearer(token)).status_code == 400
    assert client.get("/api/v1/clients?limit=101", headers=bearer(token)).status_code == 400


def test_another_countys_system_gets_404_for_the_client(client, db, factory, world):
    other_county = factory.organisation("Toinen hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    other_admin = factory.staff(other_county, Role.ADMINISTRATOR)
    key, secret = system_client(db, other_county, other_admin)
    token = token_for(client, key, secret)
    response = client.get(f"/api/v1/clients/{world.person.id}", headers=bearer(token))
    assert response.status_code == 404
    assert "Amina" not in response.text
    assert client.get("/api/v1/clients", headers=bearer(token)).json()["items"] == []
    assert client.get("/api/v1/clients/not-a-uuid", headers=bearer(token)).status_code in (400, 404)

    # The refused attempt is in the audit log, but not as a view of the client (it reveals nothing).
    refused = db.scalar(select(AuditEvent).where(AuditEvent.action == "access_refused"))
    assert refused is not None
    assert refused.client_id is None and refused.object_id == str(world.person.id)
    assert refused.actor_organisation_id == other_county.id
    assert db.scalar(select(AuditEvent).where(AuditEvent.client_id == world.person.id)) is None


def _plan_and_assessment(db, world: World) -> ProgrammeService:
    service = ProgrammeService(
        organisation_id=world.home.id, service_type=ServiceType.INTEGRATION_TRAINING, source_language="fi"
    )
    service.texts = [
        ProgrammeServiceText(
            language="fi", name="Kotoutumiskoulutus", origin=TextOrigin.ORIGINAL, source_hash="0" * 64
        ),
        ProgrammeServiceText(
            language="en", name="Integration training", origin=TextOrigin.OFFICER, source_hash="0" * 64
        ),
    ]
    db.add(service)
    db.flush()
    draft = IntegrationPlan(
        client_id=world.person.id,
        organisation_id=world.home.id,
        number=2,
        status=PlanStatus.DRAFT,
        officer_id=world.officer.id,
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 6, 1),
    )
    plan = IntegrationPlan(
        client_id=world.person.id,
        organisation_id=world.home.id,
        number=1,
        status=PlanStatus.IN_FORCE,
        officer_id=world.officer.id,
        starts_on=date(2026, 2, 1),
        ends_on=date(2027, 1, 31),
        next_review_on=date(2026, 8, 1),
        multi_sector=True,
    )
    plan.goals = [
        PlanGoal(position=1, kind=GoalKind.LONG_TERM, goal_type=GoalType.EMPLOYMENT, text="Työ hoitoalalla")
    ]
    plan.services = [
        PlanService(
            position=1,
            kind=PlanServiceKind.PROGRAMME,
            programme_service_id=service.id,
            planned_start=date(2026, 3, 1),
            status=PlanServiceStatus.STARTED,
            started_on=date(2026, 3, 2),
        ),
        PlanService(position=2, kind=PlanServiceKind.NGO, name="Kerho", planned_start=date(2026, 4, 1)),
    ]
    db.add_all([draft, plan])
    db.add(
        Assessment(
            client_id=world.person.id,
            organisation_id=world.home.id,
            number=1,
            status=AssessmentStatus.COMPLETED,
            assessed_on=date(2026, 1, 20),
            created_by_id=world.officer.id,
            officer_id=world.officer.id,
            county_takes_part=True,
            county_mental_health_rehabilitation="Kuntoutus",
            county_social_health="Sosiaalityö",
        )
    )
    db.commit()
    return service


def test_the_client_detail_has_the_plan_in_force_and_the_multi_sector_items(client, db, world):
    service = _plan_and_assessment(db, world)
    token = token_for(client, world.key, world.secret)
    response = client.get(
        f"/api/v1/clients/{world.person.id}", headers={**bearer(token), "Accept-Language": "en"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert data["identity_code"] == "020490-902X" and data["status"] == "active"
    assert data["cooperation"]["id"] == str(world.cooperation.id)
    plan = data["integration_plan"]
    assert (
        plan["number"] == 1 and plan["starts_on"] == "2026-02-01" and plan["next_review_on"] == "2026-08-01"
    )
    assert plan["goals"] == [
        {"kind": "long_term", "type": "employment_goal", "text": "Työ hoitoalalla", "attainment": None}
    ]
    first, second = plan["services"]
    assert first["name"] == "Integration training" and first["service_type"] == "integration_training"
    assert first["programme_service_id"] == str(service.id)
    assert first["status"] == "started" and first["started_on"] == "2026-03-02"
    assert first["planned_start"] == "2026-03-01"
    assert second["name"] == "Kerho" and second["kind"] == "ngo" and second["status"] == "planned"
    items = data["multi_sector_assessment"]
    assert items["county_takes_part"] is True and items["assessed_on"] == "2026-01-20"
    assert (
        items["mental_health_rehabilitation"] == "Kuntoutus"
        and items["social_health_services"] == "Sosiaalityö"
    )
    assert items["employment_education_services"] is None
    assert data["health_information"] is None


def test_health_information_only_when_the_cooperation_shares_it(client, db, world):
    db.add(
        HealthInformation(
            client_id=world.person.id, text="Selkävaiva", source="Asiakas", recorded_by_id=world.officer.id
        )
    )
    db.commit()
    token = token_for(client, world.key, world.secret)
    url = f"/api/v1/clients/{world.person.id}"
    without = client.get(url, headers=bearer(token))
    assert without.status_code == 200
    assert without.json()["health_information"] is None
    assert "Selkävaiva" not in without.text
    assert without.json()["integration_plan"] is None and without.json()["multi_sector_assessment"] is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.object_type == "health_information")) is None

    db.execute(
        update(CountyCooperation)
        .where(CountyCooperation.id == world.cooperation.id)
        .values(share_health=True)
    )
    db.commit()
    shared = client.get(url, headers=bearer(token)).json()
    assert [(h["text"], h["source"]) for h in shared["health_information"]] == [("Selkävaiva", "Asiakas")]
    assert shared["cooperation"]["share_health"] is True
    event = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "health_information"))
    assert event is not None and event.client_id == world.person.id and event.actor_kind == "api_client"


def test_every_call_is_audited_and_the_client_sees_the_county_viewed_their_data(client, db, factory, world):
    token = token_for(client, world.key, world.secret)
    api_client = db.scalar(select(ApiClient).where(ApiClient.client_key == world.key))
    before = db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))

    assert client.get("/api/v1/clients", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/v1/clients/{world.person.id}", headers=bearer(token)).status_code == 200
    events = db.scalars(select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)).all()
    assert [(e.action, e.client_id) for e in events] == [
        ("search", None),  # the list call itself
        ("view", world.person.id),  # each client it returned
        ("view", world.person.id),  # the detail
    ]
    for event in events:
        assert event.actor_kind == "api_client" and event.actor_id == api_client.id
        assert event.actor_organisation_id == world.county.id
        assert event.actor_roles == "information_system"
    assert "plans" in events[2].fields and "health" not in events[2].fields
    assert all("Amina" not in str(e.fields) for e in events)

    # An empty page is a call too.
    db.execute(update(CountyCooperation).values(status=CooperationStatus.ENDED))
    db.commit()
    last = events[-1].id
    assert client.get("/api/v1/clients", headers=bearer(token)).json()["items"] == []
    assert [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.id > last))] == ["search"]

    # The client's "who has viewed my data" names the county and that it was its information system.
    sign_in_client(client, factory, world.person)
    views = client.get("/me/data/views?lang=en")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", views.text))
    assert "Savon hyvinvointialue" in text and "Information system" in text
    assert "Looked at: Your basic information" in text


def test_the_openapi_schema_documents_the_api_and_its_security_scheme(client):
    schema = client.get("/schema/openapi.json").json()
    paths = schema["paths"]
    assert {"/api/v1/token", "/api/v1/clients", "/api/v1/clients/{client_id}"} <= set(paths)
    schemes = schema["components"]["securitySchemes"]
    flow = schemes["countyClientCredentials"]["flows"]["clientCredentials"]
    assert schemes["countyClientCredentials"]["type"] == "oauth2"
    assert flow["tokenUrl"] == "/api/v1/token"
    for path in ("/api/v1/clients", "/api/v1/clients/{client_id}"):
        assert paths[path]["get"]["security"] == [{"countyClientCredentials": []}]
        assert "401" in paths[path]["get"]["responses"]
    ok = paths["/api/v1/clients/{client_id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    detail = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert {"integration_plan", "health_information", "cooperation", "contact"} <= set(detail["properties"])
    token = paths["/api/v1/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert {"200", "400", "401", "429"} <= set(token["responses"])


# --- the administrators' page ---------------------------------------------------------------------------


def _shown_secret(html: str) -> tuple[str, str]:
    codes = re.findall(r"<code>([^<]+)</code>", html)
    return codes[0], codes[1]  # client ID, secret


def test_a_county_administrator_creates_rotates_and_deactivates_a_system_client(client, db, factory):
    county = factory.organisation("Savon hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    admin = factory.staff(county, Role.ADMINISTRATOR)
    sign_in(client, admin)
    page = client.get("/officer/admin/api-clients?lang=en")
    assert page.status_code == 200 and 'action="/officer/admin/api-clients"' in page.text

    empty = post(client, "/officer/admin/api-clients", {"name": " "})
    assert empty.status_code == 422 and "Enter a name" in empty.text

    created = post(client, "/officer/admin/api-clients", {"name": "Asiakastietojärjestelmä"})
    assert created.status_code == 200
    key, secret = _shown_secret(created.text)
    record = db.scalar(select(ApiClient).where(ApiClient.client_key == key))
    assert record.organisation_id == county.id and record.active and record.created_by_id == admin.id
    assert record.secret_hash == sha256(secret) and secret not in record.secret_hash  # only the hash is kept
    assert len(secret) >= 43  # 32 random bytes
    listed = client.get("/officer/admin/api-clients")
    assert key in listed.text and secret not in listed.text  # shown once, never again
    token = token_for(client, key, secret)

    rotated = post(client, f"/officer/admin/api-clients/{record.id}/rotate")
    assert rotated.status_code == 200
    same_key, new_secret = _shown_secret(rotated.text)
    assert same_key == key and new_secret != secret
    old = client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic(key, secret))
    assert old.status_code == 401
    assert client.get("/api/v1/clients", headers=bearer(token)).status_code == 401  # old tokens died
    fresh = token_for(client, key, new_secret)
    assert client.get("/api/v1/clients", headers=bearer(fresh)).status_code == 200

    deactivated = post(client, f"/officer/admin/api-clients/{record.id}/deactivate")
    assert deactivated.status_code == 303
    db.expire_all()
    assert db.get(ApiClient, record.id).active is False
    assert client.get("/api/v1/clients", headers=bearer(fresh)).status_code == 401
    again = client.post(TOKEN, data={"grant_type": "client_credentials"}, headers=basic(key, new_secret))
    assert again.status_code == 401
    assert post(client, f"/officer/admin/api-clients/{record.id}/rotate").status_code == 409

    events = db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "api_client", AuditEvent.actor_kind == "staff")
    ).all()
    assert sorted((e.action, tuple(e.fields)) for e in events) == [
        ("create", ("name",)),
        ("update", ("active",)),
        ("update", ("secret",)),
    ]
    assert all(e.actor_id == admin.id and e.object_id == str(record.id) for e in events)
    everything = " ".join(f"{e.object_id} {e.fields}" for e in db.scalars(select(AuditEvent)))
    assert secret not in everything and new_secret not in everything


def test_another_organisations_system_client_is_not_found_and_only_counties_create(client, db, factory):
    county = factory.organisation("Savon hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    county_admin = factory.staff(county, Role.ADMINISTRATOR)
    key, _secret = system_client(db, county, county_admin)
    record = db.scalar(select(ApiClient).where(ApiClient.client_key == key))
    other_county = factory.organisation("Toinen hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    other_admin = factory.staff(other_county, Role.ADMINISTRATOR)
    sign_in(client, other_admin)
    assert key not in client.get("/officer/admin/api-clients").text
    assert post(client, f"/officer/admin/api-clients/{record.id}/rotate").status_code == 404
    assert post(client, f"/officer/admin/api-clients/{record.id}/deactivate").status_code == 404
    db.expire_all()
    unchanged = db.get(ApiClient, record.id)
    assert unchanged.active and unchanged.secret_hash == record.secret_hash

    client.cookies.clear()
    city = factory.organisation("Kotikunta")
    city_admin = factory.staff(city, Role.ADMINISTRATOR)
    sign_in(client, city_admin)
    page = client.get("/officer/admin/api-clients?lang=en")
    assert page.status_code == 200 and "Only a wellbeing services county" in page.text
    assert post(client, "/officer/admin/api-clients", {"name": "Kunnan järjestelmä"}).status_code == 403
    assert db.scalar(select(ApiClient).where(ApiClient.organisation_id == city.id)) is None

    client.cookies.clear()
    officer = factory.staff(city, Role.INTEGRATION_OFFICER, Role.MANAGER)
    sign_in(client, officer)
    assert client.get("/officer/admin/api-clients").status_code == 403
    assert post(client, f"/officer/admin/api-clients/{record.id}/deactivate").status_code == 403


def test_a_change_made_meanwhile_by_another_administrator_answers_409(client, db, factory, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    from app.domain import api_clients

    county = factory.organisation("Savon hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    admin = factory.staff(county, Role.ADMINISTRATOR)
    key, _secret = system_client(db, county, admin)
    record = db.scalar(select(ApiClient).where(ApiClient.client_key == key))
    sign_in(client, admin)

    async def collides(*_args: Any) -> None:
        raise StaleDataError

    monkeypatch.setattr(api_clients, "deactivate", collides)
    response = post(
        client, f"/officer/admin/api-clients/{record.id}/deactivate", headers={"Accept-Language": "en"}
    )
    assert response.status_code == 409
    assert "Someone else changed this system client" in response.text and key in response.text
