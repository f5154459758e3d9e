"""My data in the migrant app (issue 4): the readable page, the JSON download (no secrets), who has
viewed my data (organisation and role from the audit log, never names), and feedback (service 10),
identified or anonymous."""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.db.appointment import Appointment, AppointmentClient, AppointmentPurpose, AppointmentStaff
from app.db.assessment import (
    Assessment,
    AssessmentLanguageSkill,
    AssessmentStatus,
    Cefr,
    LanguageSkill,
    PlanNeed,
)
from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.client import (
    Client,
    ClientLanguage,
    Consent,
    ConsentPurpose,
    FamilyLink,
    FamilyRelation,
    HealthInformation,
    LanguageLevel,
    PermitType,
)
from app.db.client_app import ClientInvitation, ClientPasskey, Feedback, FeedbackSubject
from app.db.messaging import AuthorKind, Message, Thread
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.db.outbox import Channel, ContactPreference, NotificationKind, OutboxMessage, PushSubscription
from app.db.plan import (
    ApprovalMethod,
    ClientTransfer,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanService,
    PlanServiceKind,
    PlanStatus,
    PlanVersion,
)
from app.db.programme import ProgrammeService, ProgrammeServiceText, ServiceType
from app.domain import auth
from app.domain.plans import content_of
from app.domain.translations import content_hash
from tests.conftest import Factory, post, sign_in, sign_in_client

# --- a client with something of everything -------------------------------------------------------


@dataclass
class World:
    """One client's records and the strings that identify them (to look for in responses)."""

    client: Client
    appointment_id: uuid.UUID  # a past appointment (feedback can be about it)
    upcoming_id: uuid.UUID
    thread_id: uuid.UUID
    message_id: uuid.UUID
    plan_id: uuid.UUID
    version_id: uuid.UUID  # presented, not yet approved
    approved_version_id: uuid.UUID
    plan_service_id: uuid.UUID
    goal_id: uuid.UUID
    passkey_id: uuid.UUID
    invitation_id: uuid.UUID
    invitation_token: str  # the QR code's secret (the invitation is already used)
    subscription_id: uuid.UUID
    subscription_endpoint: str  # the push service's address (secret to everyone but the phone)
    feedback_id: uuid.UUID
    markers: list[str] = field(default_factory=list)  # personal data that must never reach another client
    secrets: list[str] = field(default_factory=list)  # never shown to anyone, not even the client


_serial = itertools.count()  # identity codes are unique within an organisation


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def populate(db: Session, factory: Factory, organisation: Organisation, officer: Staff, tag: str) -> World:
    """A client named after `tag` with a family link, consent, health information, an assessment, a plan
    (two versions, one approved), appointments, a message thread, a passkey, an invitation, a push
    subscription, notification preferences, a transfer, notifications and identified feedback."""
    now = datetime.now(UTC)
    person = factory.client(
        organisation,
        first_names=f"{tag}ina",
        last_name=f"{tag}ström",
        native_name=f"{tag}-native",
        date_of_birth=date(1991, 4, 12),
        identity_code=f"120491-{100 + next(_serial) % 900}A",
        email=f"{tag.lower()}@example.fi",
        phone="+358401234567",
        street_address=f"{tag}tie 5 A 3",
        postal_code="00100",
        post_office="Helsinki",
        mother_tongue="ar",
        interpreter_needed=True,
        interpreter_language="ar",
        first_permit_date=date(2025, 1, 10),
        permit_type=PermitType.FAMILY,
        preferred_locale="en",
    )
    relative = factory.client(organisation, first_names=f"{tag}relative", last_name=f"{tag}kin")
    db.add_all(
        [
            ClientLanguage(client_id=person.id, language="en", level=LanguageLevel.B1),
            FamilyLink(client_id=person.id, related_client_id=relative.id, relation=FamilyRelation.SPOUSE),
            FamilyLink(client_id=relative.id, related_client_id=person.id, relation=FamilyRelation.SPOUSE),
            Consent(
                client_id=person.id,
                purpose=ConsentPurpose.ELECTRONIC_MESSAGES,
                given=False,
                decided_on=date(2025, 3, 1),
                recorded_by_id=officer.id,
                recorded_at=now - timedelta(days=30),
            ),
            Consent(
                client_id=person.id,
                purpose=ConsentPurpose.ELECTRONIC_MESSAGES,
                given=True,
                decided_on=date(2025, 4, 1),
                recorded_by_id=officer.id,
                note=f"{tag} consent note",
                recorded_at=now - timedelta(days=20),
            ),
            HealthInformation(
                client_id=person.id,
                text=f"{tag} needs a lift",
                source="the client",
                recorded_by_id=officer.id,
            ),
            ContactPreference(client_id=person.id, push=True, email=False, sms=False),
        ]
    )
    assessment = Assessment(
        client_id=person.id,
        organisation_id=organisation.id,
        number=1,
        status=AssessmentStatus.COMPLETED,
        assessed_on=date(2025, 3, 5),
        created_by_id=officer.id,
        officer_id=officer.id,
        plan_need=PlanNeed.NEEDED,
        strengths=f"{tag} strengths: carpentry",
        data_sources=["client_interview"],
        language_skills=[
            AssessmentLanguageSkill(language="fi", skill=LanguageSkill.SPEAKING, level=Cefr.A1),
        ],
    )
    db.add(assessment)
    service = ProgrammeService(
        organisation_id=organisation.id,
        service_type=ServiceType.INTEGRATION_TRAINING,
        source_language="fi",
        texts=[
            ProgrammeServiceText(
                language="fi", name="Kotoutumiskoulutus", origin=TextOrigin.ORIGINAL, source_hash="x"
            ),
            ProgrammeServiceText(
                language="en",
                name="Integration training, evening group",
                origin=TextOrigin.OFFICER,
                source_hash="x",
            ),
        ],
    )
    db.add(service)
    db.flush()
    plan = IntegrationPlan(
        client_id=person.id,
        organisation_id=organisation.id,
        assessment_id=assessment.id,
        number=1,
        status=PlanStatus.IN_FORCE,
        officer_id=officer.id,
        starts_on=date(2025, 4, 1),
        ends_on=date(2026, 3, 31),
        guidance=f"{tag} guidance every week",
        next_review_on=date(2025, 10, 1),
        goals=[
            PlanGoal(
                position=1,
                kind=GoalKind.LONG_TERM,
                goal_type=GoalType.EMPLOYMENT,
                text=f"{tag} becomes a nurse",
            )
        ],
        services=[
            PlanService(position=1, kind=PlanServiceKind.PROGRAMME, programme_service_id=service.id),
        ],
    )
    db.add(plan)
    db.flush()
    content = content_of(plan)
    approved = PlanVersion(
        plan_id=plan.id,
        number=1,
        content=content,
        content_hash=content_hash(content),
        created_by_id=officer.id,
    )
    changed = {**content, "guidance": f"{tag} guidance twice a week"}
    presented = PlanVersion(
        plan_id=plan.id,
        number=2,
        content=changed,
        content_hash=content_hash(changed),
        created_by_id=officer.id,
    )
    db.add_all([approved, presented])
    db.flush()
    signature = secrets.token_bytes(64)
    db.add(
        PlanApproval(
            plan_version_id=approved.id,
            client_id=person.id,
            method=ApprovalMethod.ORALLY_IN_PERSON,
            recorded_by_id=officer.id,
            signature=signature,
        )
    )
    past = Appointment(
        organisation_id=organisation.id,
        purpose=AppointmentPurpose.GUIDANCE,
        starts_at=now - timedelta(days=3, hours=2),
        ends_at=now - timedelta(days=3, hours=1),
        street_address=f"{tag}katu 1",
        room=f"Room {tag}-101",
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=person.id)],
        staff=[AppointmentStaff(staff_id=officer.id)],
    )
    upcoming = Appointment(
        organisation_id=organisation.id,
        purpose=AppointmentPurpose.REVIEW,
        starts_at=datetime.combine(now.date() + timedelta(days=7), time(10), UTC),
        ends_at=datetime.combine(now.date() + timedelta(days=7), time(11), UTC),
        street_address=f"{tag}polku 9",
        what_to_bring=f"{tag} passport",
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=person.id)],
        staff=[AppointmentStaff(staff_id=officer.id)],
    )
    db.add_all([past, upcoming])
    thread = Thread(client_id=person.id, organisation_id=organisation.id, subject=f"{tag} course start")
    db.add(thread)
    db.flush()
    message = Message(
        thread_id=thread.id,
        author_kind=AuthorKind.STAFF,
        author_staff_id=officer.id,
        language="fi",
        body=f"{tag} welcome to the course on Monday",
    )
    credential = secrets.token_bytes(32)
    public_key = secrets.token_bytes(77)
    passkey = ClientPasskey(
        client_id=person.id, credential_id=credential, public_key=public_key, name=f"{tag} phone"
    )
    invitation_token, short_code = secrets.token_urlsafe(24), secrets.token_hex(5)
    invitation = ClientInvitation(
        client_id=person.id,
        token_hash=auth.token_hash(invitation_token),
        short_code_hash=auth.token_hash(short_code),
        created_by_id=officer.id,
        expires_at=now + timedelta(days=7),
        used_at=now - timedelta(days=1),
    )
    subscription = PushSubscription(
        client_id=person.id,
        endpoint=f"https://push.example/{secrets.token_hex(16)}",
        p256dh=_b64(secrets.token_bytes(65)),
        auth=_b64(secrets.token_bytes(16)),
    )
    other = factory.organisation(
        f"{tag} employment office {uuid.uuid4().hex[:6]}", OrganisationType.EMPLOYMENT_AUTHORITY
    )
    feedback = Feedback(
        organisation_id=organisation.id,
        client_id=person.id,
        subject=FeedbackSubject.APPOINTMENT,
        appointment_id=None,
        about="guidance_meeting",
        rating=4,
        comment=f"{tag} liked the meeting",
        language="en",
    )
    db.add_all(
        [
            message,
            passkey,
            invitation,
            subscription,
            feedback,
            ClientTransfer(
                client_id=person.id,
                from_organisation_id=other.id,
                to_organisation_id=organisation.id,
                transferred_on=date(2025, 2, 1),
                reason=f"{tag} moved here",
                transferred_by_id=officer.id,
            ),
            OutboxMessage(
                kind=NotificationKind.NEW_MESSAGE,
                channel=Channel.PUSH,
                client_id=person.id,
                locale="en",
                payload={"thread_id": str(thread.id)},
            ),
        ]
    )
    db.commit()
    session_token = factory.client_session(person)
    markers = [
        person.first_names,
        person.last_name,
        person.native_name or "",
        person.email or "",
        person.street_address or "",
        relative.first_names,
        f"{tag} consent note",
        f"{tag} needs a lift",
        f"{tag} strengths: carpentry",
        f"{tag} becomes a nurse",
        f"{tag} guidance",
        f"{tag}katu 1",
        f"Room {tag}-101",
        f"{tag}polku 9",
        f"{tag} passport",
        f"{tag} course start",
        f"{tag} welcome to the course",
        f"{tag} phone",
        f"{tag} liked the meeting",
        f"{tag} moved here",
        f"{tag} employment office",
        person.identity_code or "",
    ]
    return World(
        client=person,
        appointment_id=past.id,
        upcoming_id=upcoming.id,
        thread_id=thread.id,
        message_id=message.id,
        plan_id=plan.id,
        version_id=presented.id,
        approved_version_id=approved.id,
        plan_service_id=plan.services[0].id,
        goal_id=plan.goals[0].id,
        passkey_id=passkey.id,
        invitation_id=invitation.id,
        invitation_token=invitation_token,
        subscription_id=subscription.id,
        subscription_endpoint=subscription.endpoint,
        feedback_id=feedback.id,
        markers=markers,
        secrets=[
            invitation.token_hash,
            invitation.short_code_hash,
            invitation_token,
            auth.token_hash(session_token),
            session_token,
            _b64(credential),
            credential.hex(),
            base64.b64encode(credential).decode(),
            _b64(public_key),
            public_key.hex(),
            base64.b64encode(public_key).decode(),
            _b64(signature),
            signature.hex(),
            subscription.endpoint,
            subscription.p256dh,
            subscription.auth,
        ],
    )


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)


@pytest.fixture
def officer(factory, home):
    return factory.staff(home, Role.INTEGRATION_OFFICER)


@pytest.fixture
def world(db, factory, home, officer) -> World:
    return populate(db, factory, home, officer, "Aino")


@pytest.fixture
def signed_in(client, factory, world) -> World:
    sign_in_client(client, factory, world.client)
    return world


def without_tags(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- my data --------------------------------------------------------------------------------------


def test_the_page_shows_what_is_stored_grouped_and_no_secrets(client, signed_in, db):
    response = client.get("/me/data")
    assert response.status_code == 200
    html = response.text
    for heading in (
        "Personal details",
        "Family",
        "Consents",
        "Health information",
        "Assessments",
        "Integration plans",
        "Appointments",
        "Messages",
        "Passkeys",
        "Invitations",
        "Feedback you gave",
    ):
        assert f">{heading}</h" in html, heading
    text = without_tags(html)
    # Everything stored, except the identity code which is partly hidden on screen, and the messages,
    # which are counted here and read on the messages page (the download has them in full).
    elsewhere = {signed_in.client.identity_code, "Aino course start", "Aino welcome to the course"}
    for marker in signed_in.markers:
        if marker not in elsewhere:
            assert marker in text, marker
    assert "120491-****" in text and signed_in.client.identity_code not in text
    assert "Integration training, evening group" in text  # the service in the client's language
    assert "Version 2" in text and "Version 1" in text and "approved" in text
    assert "1 message, 1 conversation" in text and 'href="/me/messages"' in html
    assert "Spouse" in text and "You agreed" in text and "You did not agree" in text
    assert "4 – Good" in text
    for secret in signed_in.secrets:
        assert secret not in html, secret
    event_ = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.actor_kind == "client")
    )
    assert event_.client_id == signed_in.client.id and event_.actor_id == signed_in.client.id


def test_the_download_has_everything_with_stable_keys_and_no_secrets(client, signed_in, db):
    response = client.get("/me/data.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="kotopolku-my-data-\d{4}-\d{2}-\d{2}\.json"', disposition)
    raw = response.text
    for secret in signed_in.secrets:
        assert secret not in raw, secret
    for marker in signed_in.markers:
        assert marker in raw, marker  # the whole identity code is in the file
    data = json.loads(raw)
    assert data["format"] == "kotopolku-my-data" and data["format_version"] == 1
    assert list(data) == [
        "format",
        "format_version",
        "generated_at",
        "personal_details",
        "family_links",
        "consents",
        "health_information",
        "assessments",
        "plans",
        "transfers",
        "appointments",
        "message_threads",
        "tasks",
        "interpretations",
        "family_overviews",
        "access_grants",
        "notification_preferences",
        "push_subscriptions",
        "notifications",
        "passkeys",
        "signed_in_devices",
        "invitations",
        "feedback",
    ]
    person = data["personal_details"]
    assert person["identity_code"] == signed_in.client.identity_code
    assert person["date_of_birth"] == "1991-04-12" and person["permit_type"] == "family"
    assert person["languages"] == [{"language": "en", "level": "B1"}]
    assert data["family_links"] == [
        {"relation": "spouse", "first_names": "Ainorelative", "last_name": "Ainokin"}
    ]
    assert [c["given"] for c in data["consents"]] == [True, False]  # newest first
    assert data["consents"][0]["purpose"] == "electronic_messages"
    datetime.fromisoformat(data["consents"][0]["recorded_at"])
    plan = data["plans"][0]
    assert plan["status"] == "in_force" and plan["starts_on"] == "2025-04-01"
    assert [v["number"] for v in plan["versions"]] == [2, 1]
    assert plan["versions"][1]["approvals"] == [
        {
            "method": "orally_in_person",
            "approved_at": plan["versions"][1]["approvals"][0]["approved_at"],
            "witness": None,
        }
    ]
    assert plan["versions"][0]["approvals"] == []
    assert plan["services"][0]["name"] == "Integration training, evening group"
    assert plan["services"][0]["service_type"] == "integration_training"
    assert data["assessments"][0]["language_skills"] == [
        {"language": "fi", "skill": "speaking", "level": "A1"}
    ]
    assert {a["purpose"] for a in data["appointments"]} == {"guidance_meeting", "review_meeting"}
    thread = data["message_threads"][0]
    assert thread["messages"][0]["body"] == "Aino welcome to the course on Monday"
    assert thread["messages"][0]["author"] == "staff_author"
    assert data["passkeys"][0]["name"] == "Aino phone" and set(data["passkeys"][0]) == {
        "name",
        "created_at",
        "last_used_at",
    }
    assert set(data["push_subscriptions"][0]) == {"created_at"}
    assert data["notification_preferences"]["push"] is True
    assert data["invitations"][0]["used_at"] is not None
    assert data["transfers"][0]["from_organisation"].startswith("Aino employment office")
    assert data["feedback"][0]["rating"] == 4 and data["feedback"][0]["subject"] == "appointment"
    assert data["notifications"][0]["kind"] == "new_message"
    exported = db.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert exported.client_id == signed_in.client.id and exported.actor_kind == "client"


def test_quiet_hours_are_in_the_download_as_times_of_day(client, signed_in, db):
    preference = db.scalar(
        select(ContactPreference).where(ContactPreference.client_id == signed_in.client.id)
    )
    preference.quiet_from, preference.quiet_until = time(21, 30), time(7, 0)
    db.commit()
    response = client.get("/me/data.json")
    assert response.status_code == 200
    assert '"21:30:00"' in response.text and '"07:00:00"' in response.text


def test_another_clients_records_are_not_in_my_data(client, signed_in, db, factory, home, officer):
    other = populate(db, factory, home, officer, "Bertil")
    page = client.get("/me/data").text + client.get("/me/data.json").text
    for marker in other.markers:
        assert marker not in page, marker


def test_the_page_takes_the_same_number_of_queries_however_much_data(client, db, factory, home, officer):
    engine = client.app.state["alchemy"].engine_instance.sync_engine
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def queries(url: str) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    small = populate(db, factory, home, officer, "Cecilia")
    sign_in_client(client, factory, small.client)
    few = (queries("/me/data"), queries("/me/data.json"))
    big = populate(db, factory, home, officer, "Daniel")
    for i in range(4):  # more of everything for the second client
        more = populate(db, factory, home, officer, "Extra")
        for model, column in (
            (Thread, Thread.client_id),
            (IntegrationPlan, IntegrationPlan.client_id),
            (ClientPasskey, ClientPasskey.client_id),
            (Feedback, Feedback.client_id),
            (Consent, Consent.client_id),
            (AppointmentClient, AppointmentClient.client_id),
        ):
            for row in db.scalars(select(model).where(column == more.client.id)):
                row.client_id = big.client.id
                if isinstance(row, IntegrationPlan):
                    row.number += 10 * (i + 1)
        db.commit()
    sign_in_client(client, factory, big.client)
    many = (queries("/me/data"), queries("/me/data.json"))
    assert few == many, (few, many)


# --- who has viewed my data -----------------------------------------------------------------------


def test_who_has_viewed_lists_an_officers_view_with_organisation_and_role_not_the_name(
    client, signed_in, officer
):
    sign_in(client, officer)  # the same browser: the officer's and the client's cookies side by side
    assert client.get(f"/officer/clients/{signed_in.client.id}").status_code == 200
    client.get("/me/data")  # the client's own views are not listed
    response = client.get("/me/data/views")
    assert response.status_code == 200
    text = without_tags(response.text)
    assert "Kotikunta" in text and "Integration officer" in text
    assert "Looked at: Your basic information" in text
    assert officer.full_name not in response.text and officer.email not in response.text
    assert text.count("Kotikunta") >= 1
    # Only staff events: the client's own page views are not there.
    assert "Who has viewed your information" not in text


def test_who_has_viewed_is_paginated_newest_first(client, signed_in, db, home, officer):
    start = datetime.now(UTC) - timedelta(days=10)
    for i in range(55):
        db.add(
            AuditEvent(
                chain=1,
                seq=1000 + i,
                at=start + timedelta(hours=i),
                actor_id=officer.id,
                actor_kind="staff",
                actor_organisation_id=home.id,
                actor_roles="integration_officer,manager",
                action="update" if i == 54 else "view",
                client_id=signed_in.client.id,
                object_type="integration_plan",
                fields=[],
                prev_hash="0" * 64,
                hash="0" * 64,
            )
        )
    db.commit()
    first = client.get("/me/data/views")
    text = without_tags(first.text)
    assert text.count("Kotikunta") == 50
    assert "Changed: Your integration plan" in text.split("Kotikunta")[1]  # the newest is first
    assert "Integration officer, Team lead or manager" in text
    assert 'href="/me/data/views?page=2"' in first.text
    second = client.get("/me/data/views?page=2")
    assert without_tags(second.text).count("Kotikunta") == 5
    assert 'href="/me/data/views?page=1"' in second.text and "page=3" not in second.text
    assert client.get("/me/data/views?page=x").status_code == 200


def test_my_data_needs_a_signed_in_client(client):
    for url in ("/me/data", "/me/data.json", "/me/data/views", "/me/feedback"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code in (302, 303, 307) and response.headers["location"] == "/me/sign-in", url


# --- feedback -------------------------------------------------------------------------------------


def test_identified_feedback_about_an_appointment_keeps_the_link(client, signed_in, db):
    page = client.get(f"/me/feedback?appointment={signed_in.appointment_id}")
    assert page.status_code == 200
    assert f'value="appointment:{signed_in.appointment_id}" selected' in page.text
    assert f"appointment:{signed_in.upcoming_id}" not in page.text  # only past appointments
    assert "Integration training, evening group" in page.text and 'value="app"' in page.text
    for value in range(1, 6):
        assert f'id="rating-{value}"' in page.text
    assert "5 – Very good" in page.text
    response = post(
        client,
        "/me/feedback",
        {"about": f"appointment:{signed_in.appointment_id}", "rating": "5", "comment": "Clear and kind"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/me/feedback/thanks"
    assert "Thank you for your feedback" in client.get("/me/feedback/thanks").text
    row = db.scalar(select(Feedback).where(Feedback.comment == "Clear and kind"))
    assert row.client_id == signed_in.client.id and row.appointment_id == signed_in.appointment_id
    assert row.subject == FeedbackSubject.APPOINTMENT and row.about == "guidance_meeting"
    assert row.rating == 5 and row.language == "en"
    logged = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "feedback"))
    assert logged.client_id == signed_in.client.id and logged.actor_kind == "client"
    assert logged.object_id == str(row.id)
    assert "Clear and kind" in client.get("/me/data").text


def test_anonymous_feedback_keeps_no_link_to_the_person(client, signed_in, db):
    response = post(
        client,
        "/me/feedback",
        {
            "about": f"service:{signed_in.plan_service_id}",
            "rating": "2",
            "comment": "Too fast for me",
            "anonymous": "on",
        },
    )
    assert response.status_code == 303
    row = db.scalar(select(Feedback).where(Feedback.comment == "Too fast for me"))
    assert row.client_id is None and row.appointment_id is None and row.plan_service_id is None
    assert row.subject == FeedbackSubject.SERVICE and row.about == "integration_training"
    assert row.organisation_id == signed_in.client.organisation_id and row.rating == 2
    assert (
        row.created_at.hour,
        row.created_at.minute,
        row.created_at.second,
        row.created_at.microsecond,
    ) == (0, 0, 0, 0)
    logged = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "feedback"))
    assert logged.client_id is None and logged.actor_id is None and logged.actor_kind == "anonymous"
    assert logged.object_id is None
    # Not even the log's clock links it to the client's own page views just before.
    assert logged.at == row.created_at
    assert "Too fast for me" not in client.get("/me/data").text


def test_bad_feedback_is_shown_again_with_what_was_typed(client, signed_in, db):
    response = post(
        client, "/me/feedback", {"about": "", "rating": "9", "comment": "Kept text", "anonymous": "on"}
    )
    assert response.status_code == 422
    assert "Choose what your feedback is about." in response.text
    assert "Choose how it was, from 1 to 5." in response.text
    assert 'class="error-summary"' in response.text
    assert "Kept text</textarea>" in response.text
    assert 'id="anonymous" name="anonymous" type="checkbox" checked' in response.text
    kept = post(client, "/me/feedback", {"about": "app", "rating": "", "comment": ""})
    assert kept.status_code == 422 and 'value="app" selected' in kept.text
    too_long = post(client, "/me/feedback", {"about": "app", "rating": "3", "comment": "x" * 2001})
    assert too_long.status_code == 422 and "at most 2000 characters" in too_long.text
    assert db.scalar(select(Feedback).where(Feedback.client_id.is_(None))) is None
    assert len(db.scalars(select(Feedback)).all()) == 1  # only the one populate() made


def test_feedback_about_someone_elses_appointment_or_service_is_refused(
    client, signed_in, db, factory, home, officer
):
    other = populate(db, factory, home, officer, "Bertil")
    page = client.get(f"/me/feedback?appointment={other.appointment_id}")
    assert page.status_code == 200
    chooser = re.search(r'<select id="about".*?</select>', page.text, re.S)
    assert chooser and "selected" not in chooser.group(0)
    assert str(other.appointment_id) not in page.text
    assert client.get("/me/feedback?appointment=not-a-uuid").status_code == 200
    for about in (f"appointment:{other.appointment_id}", f"service:{other.plan_service_id}", "appointment:x"):
        response = post(client, "/me/feedback", {"about": about, "rating": "1"})
        assert response.status_code == 422, about
        assert "Bertil" not in response.text
    assert not db.scalars(select(Feedback).where(Feedback.rating == 1)).all()
