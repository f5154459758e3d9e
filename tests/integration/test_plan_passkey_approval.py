"""Approving a plan version in the migrant app (service 12): a fresh passkey assertion whose challenge is
SHA-256(version content hash + nonce), verified with py_webauthn, recorded with everything needed to
verify it again, and verified again on the officer's plan page."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from app.db.assessment import Assessment, AssessmentStatus, PlanNeed
from app.db.audit import AuditEvent
from app.db.client_app import ClientWebAuthnChallenge
from app.db.organisation import Role
from app.db.plan import ApprovalMethod, IntegrationPlan, PlanApproval, PlanStatus, PlanVersion
from app.domain.forms import today
from app.main import create_app
from tests.conftest import BASE_URL, AppTestClient, post, sign_in, sign_in_client
from tests.soft_authenticator import SoftAuthenticator, b64url

RP_ID = "testserver.local"
GOAL = "Työ lähihoitajana"


def json_post(client, url, body=None):
    if "kp_csrf" not in client.cookies:
        client.get("/me/sign-in?lang=en")
    headers = {"x-csrftoken": client.cookies["kp_csrf"], "accept": "application/json"}
    return client.post(url, json=body if body is not None else {}, headers=headers)


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta")


@pytest.fixture
def officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    client.get("/officer/?lang=en")
    return person


def plan_form(plan, **changes):
    form = {
        "version": str(plan.version),
        "starts_on": plan.starts_on.isoformat(),
        "ends_on": plan.ends_on.isoformat(),
        "next_review_on": plan.next_review_on.isoformat() if plan.next_review_on else "",
        "goal_kind": ["long_term", "plan_period"],
        "goal_type": ["employment_goal", "language_skills_goal"],
        "goal_text": [GOAL, "Suomen kieli A2-tasolle"],
        "language_studies": "Kotoutumiskoulutus suomeksi",
        "guidance": "Ohjaus kerran kuussa",
        "rationale": "Kielitaito on työllistymisen edellytys.",
        "duties_explained": "on",
    }
    form.update(changes)
    return form


def the_plan(db, plan_id) -> IntegrationPlan:
    db.expire_all()
    return db.get(IntegrationPlan, plan_id)


def presented(client, factory, db, home, officer, **fields):
    """A client whose draft plan is presented for approval; (client, plan id, version)."""
    person = factory.client(home, first_names="Amina", last_name="Hassan", date_of_birth=date(1990, 5, 17),
                            first_permit_date=today() - timedelta(days=200), **fields)  # fmt: skip
    db.add(
        Assessment(
            client_id=person.id,
            organisation_id=home.id,
            number=1,
            status=AssessmentStatus.COMPLETED,
            assessed_on=today() - timedelta(days=3),
            created_by_id=officer.id,
            officer_id=officer.id,
            plan_need=PlanNeed.NEEDED,
            data_sources=["client_interview"],
        )
    )
    db.commit()
    response = post(client, f"/officer/clients/{person.id}/plans", {})
    assert response.status_code == 303, response.text
    plan_id = uuid.UUID(response.headers["location"].rsplit("/", 1)[1])
    version = present(client, db, plan_id)
    return person, plan_id, version


def present(client, db, plan_id, **changes):
    assert (
        post(client, f"/officer/plans/{plan_id}", plan_form(the_plan(db, plan_id), **changes)).status_code
        == 303
    )
    assert post(client, f"/officer/plans/{plan_id}/present", {}).status_code == 303
    return db.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.number.desc()).limit(1)
    )


@pytest.fixture
def phone(settings):
    """The client's phone: a second browser beside the officer's (its own app instance, so that its
    database pool lives on its own event loop, as asyncpg needs)."""
    with AppTestClient(create_app(settings), base_url=BASE_URL) as test_client:
        test_client.get("/me/sign-in?lang=en")
        yield test_client


def with_passkey(phone, factory, person) -> SoftAuthenticator:
    """The phone signed in as the client, with a registered passkey."""
    sign_in_client(phone, factory, person)
    key = SoftAuthenticator(origin=BASE_URL, rp_id=RP_ID)
    options = json_post(phone, "/me/settings/passkeys/options").json()
    assert json_post(phone, "/me/settings/passkeys", {"credential": key.create(options)}).status_code == 201
    return key


def test_the_client_approves_the_exact_version_with_a_fresh_assertion(
    client, officer, factory, db, home, phone
):
    person, plan_id, version = presented(client, factory, db, home, officer)
    key = with_passkey(phone, factory, person)

    page = phone.get("/me/plan/approve?lang=en")
    assert page.status_code == 200
    assert GOAL in page.text and "Approve with my passkey" in page.text
    assert f'data-passkey-verify="/me/plan/approve/{version.id}"' in page.text
    assert version.content_hash[:16] in page.text

    options = json_post(phone, f"/me/plan/approve/{version.id}/options").json()
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(key.credential_id)]
    row = db.scalar(select(ClientWebAuthnChallenge).where(ClientWebAuthnChallenge.purpose == "approve_plan"))
    assert row.plan_version_id == version.id and row.client_id == person.id
    expected = hashlib.sha256(bytes.fromhex(version.content_hash) + bytes.fromhex(row.nonce)).digest()
    assert options["challenge"] == b64url(expected)

    response = json_post(phone, f"/me/plan/approve/{version.id}", key.get(options))
    assert response.status_code == 201, response.text
    assert response.json() == {"redirect": "/me/plan/approve"}
    approval = db.scalar(select(PlanApproval))
    assert approval.method == ApprovalMethod.PASSKEY and approval.plan_version_id == version.id
    assert approval.client_id == person.id and approval.recorded_by_id is None
    assert approval.credential_id == key.credential_id and approval.challenge_nonce == row.nonce
    assert json.loads(approval.client_data_json)["type"] == "webauthn.get"
    assert approval.public_key and approval.signature and approval.authenticator_data
    assert the_plan(db, plan_id).status == PlanStatus.IN_FORCE
    event = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "plan_approval"))
    assert event.actor_kind == "client" and event.actor_id == person.id and "signature" in event.fields

    done = phone.get("/me/plan/approve?lang=en")
    assert "You approved version 1" in done.text
    # Once approved, the version is no longer waiting: 409 with a clear message.
    again = json_post(phone, f"/me/plan/approve/{version.id}/options")
    assert again.status_code == 409 and "no longer waiting" in again.json()["error"]

    officer_page = client.get(f"/officer/plans/{plan_id}")
    assert "signature verifies" in officer_page.text and "does not verify" not in officer_page.text
    assert "Amina Hassan" in officer_page.text


def test_the_officer_page_detects_tampering(client, officer, factory, db, home, phone):
    person, plan_id, version = presented(client, factory, db, home, officer)
    key = with_passkey(phone, factory, person)
    options = json_post(phone, f"/me/plan/approve/{version.id}/options").json()
    assert json_post(phone, f"/me/plan/approve/{version.id}", key.get(options)).status_code == 201
    approval = db.scalar(select(PlanApproval))

    def shown() -> str:
        return client.get(f"/officer/plans/{plan_id}?lang=en").text

    assert "signature verifies" in shown()
    # The stored content hash changed (as if someone swapped the version approved).
    original_hash, original_content = version.content_hash, dict(version.content)
    db.execute(update(PlanVersion).where(PlanVersion.id == version.id).values(content_hash="ab" * 32))
    db.commit()
    assert "signature does not verify" in shown()
    db.execute(update(PlanVersion).where(PlanVersion.id == version.id).values(content_hash=original_hash))
    db.commit()
    assert "signature verifies" in shown()
    # The content changed but the hash kept.
    changed = dict(original_content, guidance="Jotain muuta")
    db.execute(update(PlanVersion).where(PlanVersion.id == version.id).values(content=changed))
    db.commit()
    assert "signature does not verify" in shown()
    db.execute(update(PlanVersion).where(PlanVersion.id == version.id).values(content=original_content))
    db.commit()
    assert "signature verifies" in shown()
    # The signature changed.
    signature = bytearray(approval.signature)
    signature[-1] ^= 0x01
    db.execute(update(PlanApproval).values(signature=bytes(signature)))
    db.commit()
    assert "signature does not verify" in shown()
    # Another nonce: the challenge the client signed is no longer this version's.
    db.execute(update(PlanApproval).values(signature=approval.signature, challenge_nonce="00" * 32))
    db.commit()
    assert "signature does not verify" in shown()


def test_a_signature_for_another_versions_hash_is_refused(client, officer, factory, db, home, phone):
    person, plan_id, first = presented(client, factory, db, home, officer)
    key = with_passkey(phone, factory, person)
    options = json_post(phone, f"/me/plan/approve/{first.id}/options").json()
    nonce = db.scalar(select(ClientWebAuthnChallenge.nonce))

    # The officer changes the plan and presents version 2 before the client signs.
    second = present(client, db, plan_id, guidance="Ohjaus joka viikko")
    assert second.number == 2 and second.content_hash != first.content_hash
    assertion = key.get(options)  # signed over version 1's hash
    stale = json_post(phone, f"/me/plan/approve/{first.id}", assertion)
    assert stale.status_code == 409 and "no longer waiting" in stale.json()["error"]
    assert json_post(phone, f"/me/plan/approve/{second.id}", assertion).status_code == 400

    # A challenge computed from version 2's hash with version 1's nonce was never issued.
    forged = dict(options, challenge=b64url(hashlib.sha256(bytes.fromhex(second.content_hash)
                                                           + bytes.fromhex(nonce)).digest()))  # fmt: skip
    assert json_post(phone, f"/me/plan/approve/{second.id}", key.get(forged)).status_code == 400
    assert db.scalar(select(PlanApproval)) is None
    assert the_plan(db, plan_id).status == PlanStatus.DRAFT

    # Version 2 approved properly.
    options = json_post(phone, f"/me/plan/approve/{second.id}/options").json()
    assert json_post(phone, f"/me/plan/approve/{second.id}", key.get(options)).status_code == 201
    assert db.scalar(select(PlanApproval.plan_version_id)) == second.id


def test_a_plan_changed_after_presenting_cannot_be_approved(client, officer, factory, db, home, phone):
    person, plan_id, version = presented(client, factory, db, home, officer)
    key = with_passkey(phone, factory, person)
    options = json_post(phone, f"/me/plan/approve/{version.id}/options").json()
    plan = the_plan(db, plan_id)
    assert post(client, f"/officer/plans/{plan_id}", plan_form(plan, guidance="Muutettu")).status_code == 303
    assert json_post(phone, f"/me/plan/approve/{version.id}", key.get(options)).status_code == 409
    assert "There is nothing to approve now" in phone.get("/me/plan/approve?lang=en").text
    assert db.scalar(select(PlanApproval)) is None


def test_user_verification_and_a_fresh_assertion_are_required(client, officer, factory, db, home, phone):
    person, _plan_id, version = presented(client, factory, db, home, officer)
    key = with_passkey(phone, factory, person)
    unverified = SoftAuthenticator(origin=BASE_URL, rp_id=RP_ID, key=key.key, credential_id=key.credential_id,
                                   user_handle=key.user_handle, user_verified=False)  # fmt: skip
    options = json_post(phone, f"/me/plan/approve/{version.id}/options").json()
    assert json_post(phone, f"/me/plan/approve/{version.id}", unverified.get(options)).status_code == 400
    # A sign-in assertion is not an approval.
    sign_in_options = json_post(phone, "/me/sign-in/passkey/options").json()
    assert json_post(phone, f"/me/plan/approve/{version.id}", key.get(sign_in_options)).status_code == 400
    # A replayed approval assertion finds no challenge.
    options = json_post(phone, f"/me/plan/approve/{version.id}/options").json()
    assertion = key.get(options)
    assert json_post(phone, f"/me/plan/approve/{version.id}", assertion).status_code == 201
    assert json_post(phone, f"/me/plan/approve/{version.id}", assertion).status_code in (400, 409)
    assert len(db.scalars(select(PlanApproval)).all()) == 1


def test_only_the_clients_own_passkey_and_own_version(client, officer, factory, db, home, phone, settings):
    person, _plan_id, version = presented(client, factory, db, home, officer)
    key = with_passkey(phone, factory, person)
    # Another client of the same organisation, with their own passkey and their own phone.
    other = factory.client(home, first_names="Other")
    with AppTestClient(create_app(settings), base_url=BASE_URL) as other_phone:
        other_phone.get("/me/sign-in?lang=en")
        other_key = with_passkey(other_phone, factory, other)
        assert other_phone.get("/me/plan/approve?lang=en").text.count(GOAL) == 0
        assert json_post(other_phone, f"/me/plan/approve/{version.id}/options").status_code == 409
    # The right client, but the other client's passkey signs.
    options = json_post(phone, f"/me/plan/approve/{version.id}/options").json()
    stolen = SoftAuthenticator(origin=BASE_URL, rp_id=RP_ID, key=other_key.key,
                               credential_id=other_key.credential_id)  # fmt: skip
    assert json_post(phone, f"/me/plan/approve/{version.id}", stolen.get(options)).status_code == 400
    # A phishing site's origin.
    options = json_post(phone, f"/me/plan/approve/{version.id}/options").json()
    phishing = SoftAuthenticator(origin="https://kotopolku.evil.example", rp_id=RP_ID, key=key.key,
                                 credential_id=key.credential_id)  # fmt: skip
    assert json_post(phone, f"/me/plan/approve/{version.id}", phishing.get(options)).status_code == 400
    assert db.scalar(select(PlanApproval)) is None


def test_an_in_person_approval_still_shows_no_signature_check(client, officer, factory, db, home):
    _person, plan_id, version = presented(client, factory, db, home, officer)
    response = post(
        client,
        f"/officer/plans/{plan_id}/approvals",
        {"version_id": str(version.id), "method": "signed_on_paper"},
    )
    assert response.status_code == 303
    page = client.get(f"/officer/plans/{plan_id}?lang=en").text
    assert "signature verifies" not in page and "does not verify" not in page


def test_nothing_to_approve(client, factory, home):
    person = factory.client(home)
    sign_in_client(client, factory, person)
    page = client.get("/me/plan/approve?lang=en")
    assert page.status_code == 200 and "There is nothing to approve now" in page.text
    assert json_post(client, f"/me/plan/approve/{uuid.uuid4()}/options").status_code == 409
