"""The migrant app's home and "My plan" (service 19): the next appointment, new messages and where the
client is in their plan; the plan with programme texts in the client's language, officer-written text in
its translation (or the Finnish original, marked), stale and machine translations noted; only the
client's own plan; every view audited; a fixed number of queries whatever the size of the plan."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from app.db.appointment import Appointment, AppointmentClient, AppointmentPurpose, ClientResponse
from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.client_app import PlanTextTranslation
from app.db.messaging import AuthorKind, Message, Thread
from app.db.organisation import Role
from app.db.plan import (
    ApprovalMethod,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PauseReason,
    PlanApproval,
    PlanGoal,
    PlanPause,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
    PlanVersion,
)
from app.db.programme import ProgrammeService, ProgrammeServiceText, ServiceType
from app.domain.forms import today
from app.domain.plans import content_of
from app.domain.translations import content_hash
from app.i18n import format_date, set_locale
from tests.conftest import sign_in_client

FI_NAME = "Kotoutumiskoulutus, suomen kieli"
FI_DESCRIPTION = "Suomen kielen ja yhteiskunnan opintoja arkipäivisin."
AR_NAME = "تدريب الاندماج، اللغة الفنلندية"
AR_DESCRIPTION = "دراسة اللغة الفنلندية والمجتمع في أيام الأسبوع."
GOAL_1 = "Työ lähihoitajana"
GOAL_1_AR = "العمل كممرضة عملية"
GOAL_2 = "Suomen kieli A2-tasolle"
GUIDANCE = "Ohjaus kerran kuussa"
GUIDANCE_AR = "إرشاد مرة في الشهر"
NGO_NAME = "Kielikahvila"


@pytest.fixture(autouse=True)
def english(client):
    client.headers["Accept-Language"] = "en"


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta")


@pytest.fixture
def officer(factory, home):
    return factory.staff(home, Role.INTEGRATION_OFFICER)


@pytest.fixture
def person(factory, home):
    return factory.client(
        home, first_names="Amal", last_name="Haddad", mother_tongue="ar", preferred_locale="ar"
    )


def programme_service(db, organisation, *, arabic: bool = True) -> ProgrammeService:
    source = {"name": FI_NAME, "description": FI_DESCRIPTION, "eligibility": ""}
    digest = content_hash(source)
    service = ProgrammeService(
        organisation_id=organisation.id,
        service_type=ServiceType.INTEGRATION_TRAINING,
        provider_name="Aikuisopisto",
        source_language="fi",
        texts=[
            ProgrammeServiceText(language="fi", origin=TextOrigin.ORIGINAL, source_hash=digest, **source),
        ],
        languages=[],
        periods=[],
    )
    if arabic:
        service.texts.append(
            ProgrammeServiceText(
                language="ar",
                name=AR_NAME,
                description=AR_DESCRIPTION,
                eligibility="",
                origin=TextOrigin.TRANSLATOR,
                source_hash=digest,
            )
        )
    db.add(service)
    db.commit()
    return service


def make_plan(
    db,
    organisation,
    officer,
    person,
    *,
    status: PlanStatus = PlanStatus.IN_FORCE,
    number: int = 1,
    service: ProgrammeService | None = None,
    goals: tuple[str, ...] = (GOAL_1, GOAL_2),
    extra_services: int = 0,
    guidance: str | None = GUIDANCE,
) -> IntegrationPlan:
    start = today() - timedelta(days=30)
    plan = IntegrationPlan(
        client_id=person.id,
        organisation_id=organisation.id,
        number=number,
        status=status,
        officer_id=officer.id,
        starts_on=start,
        ends_on=start + timedelta(days=360),
        next_review_on=today() + timedelta(days=60),
        guidance=guidance,
        language_studies="Kotoutumiskoulutus suomeksi",
        duties_explained=True,
    )
    plan.goals = [
        PlanGoal(
            position=i,
            kind=GoalKind.LONG_TERM if i == 0 else GoalKind.PLAN_PERIOD,
            goal_type=GoalType.EMPLOYMENT if i == 0 else GoalType.LANGUAGE_SKILLS,
            text=text,
        )
        for i, text in enumerate(goals)
    ]
    services = []
    if service is not None:
        services.append(
            PlanService(
                position=0,
                kind=PlanServiceKind.PROGRAMME,
                programme_service_id=service.id,
                status=PlanServiceStatus.STARTED,
                planned_start=start,
                started_on=start + timedelta(days=3),
            )
        )
    services.append(
        PlanService(
            position=1,
            kind=PlanServiceKind.NGO,
            name=NGO_NAME,
            status=PlanServiceStatus.PLANNED,
            planned_start=today() + timedelta(days=20),
        )
    )
    services += [
        PlanService(
            position=2 + i, kind=PlanServiceKind.OTHER, name=f"Palvelu {i}", status=PlanServiceStatus.PLANNED
        )
        for i in range(extra_services)
    ]
    plan.services = services
    plan.pauses = []
    db.add(plan)
    db.commit()
    return plan


def translate(db, plan, key, language, text, source, origin=TextOrigin.TRANSLATOR, checked=False):
    row = PlanTextTranslation(
        plan_id=plan.id,
        source_key=key,
        language=language,
        text=text,
        origin=origin,
        source_hash=content_hash(source),
        checked_at=datetime.now(UTC) if checked else None,
    )
    db.add(row)
    db.commit()
    return row


def present(db, plan, officer) -> PlanVersion:
    content = content_of(plan)
    version = PlanVersion(
        plan_id=plan.id,
        number=1,
        content=content,
        content_hash=content_hash(content),
        created_by_id=officer.id,
    )
    db.add(version)
    db.commit()
    return version


def element(html: str, element_id: str) -> str:
    """The opening tag of the element with that id."""
    found = re.search(rf'<[a-z0-9]+ id="{re.escape(element_id)}"[^>]*>', html)
    assert found, element_id
    return found.group(0)


def events(db, **where: Any) -> list[AuditEvent]:
    db.expire_all()
    stmt = select(AuditEvent)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.scalars(stmt).all())


# --- home ------------------------------------------------------------------------------------------


def test_home_shows_the_next_appointment_new_messages_and_where_the_plan_is(
    client, factory, db, home, officer, person
):
    now = datetime.now(UTC)
    past = Appointment(
        organisation_id=home.id,
        purpose=AppointmentPurpose.PLAN,
        starts_at=now - timedelta(days=3),
        ends_at=now - timedelta(days=3) + timedelta(hours=1),
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=person.id)],
        staff=[],
    )
    later = Appointment(
        organisation_id=home.id,
        purpose=AppointmentPurpose.REVIEW,
        starts_at=now + timedelta(days=9),
        ends_at=now + timedelta(days=9, hours=1),
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=person.id)],
        staff=[],
    )
    cancelled_by_client = Appointment(
        organisation_id=home.id,
        purpose=AppointmentPurpose.OTHER,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=1),
        created_by_id=officer.id,
        clients=[
            AppointmentClient(
                client_id=person.id,
                response=ClientResponse.CANCELLED,
                responded_at=now + timedelta(seconds=5),
            )
        ],
        staff=[],
    )
    soon = Appointment(
        organisation_id=home.id,
        purpose=AppointmentPurpose.GUIDANCE,
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=1),
        street_address="Kauppakatu 1",
        room="204",
        created_by_id=officer.id,
        clients=[AppointmentClient(client_id=person.id)],
        staff=[],
    )
    db.add_all([past, later, cancelled_by_client, soon])
    read_at = now - timedelta(days=1)
    thread = Thread(client_id=person.id, organisation_id=home.id, subject="Kurssi", client_read_at=read_at)
    other = Thread(client_id=person.id, organisation_id=home.id, subject="Asunto")
    db.add_all([thread, other])
    db.flush()
    db.add_all(
        [
            Message(thread_id=thread.id, author_kind=AuthorKind.STAFF, language="fi", body="Vanha", created_at=read_at - timedelta(hours=1)),
            Message(thread_id=thread.id, author_kind=AuthorKind.STAFF, language="fi", body="Uusi", created_at=now - timedelta(hours=2)),
            Message(thread_id=thread.id, author_kind=AuthorKind.CLIENT, language="ar", body="شكرا", created_at=now - timedelta(hours=1)),
            Message(thread_id=other.id, author_kind=AuthorKind.SYSTEM, language="fi", body="Tervetuloa", created_at=now - timedelta(hours=3)),
        ]
    )  # fmt: skip
    db.commit()
    plan = make_plan(db, home, officer, person, service=programme_service(db, home))
    sign_in_client(client, factory, person)

    page = client.get("/me/?lang=en")
    assert page.status_code == 200
    html = page.text
    assert f'href="/me/appointments/{soon.id}"' in html
    assert "Kauppakatu 1" in html and "room 204" in html
    assert f"/me/appointments/{later.id}" not in html  # only the next one
    assert f"/me/appointments/{cancelled_by_client.id}" not in html  # the client cancelled it
    assert f"/me/appointments/{past.id}" not in html
    assert "You have 2 new messages." in html  # the team's new one and the system's; not the client's own
    assert 'href="/me/messages"' in html
    assert "Your plan is in force." in html
    set_locale("en")
    assert f"Next review of your plan: {format_date(plan.next_review_on)}" in html
    assert FI_NAME in html  # now (no English text: the Finnish one, marked with its language)
    assert NGO_NAME in html  # next
    assert 'href="/me/plan"' in html
    assert "/me/plan/approve" not in html
    # Listen buttons next to the appointment, the messages and the plan stage, in the page's language.
    for target in ("next-appointment", "unread-messages", "plan-stage"):
        assert f'data-listen="{target}" data-lang="en"' in html
    (seen,) = events(db, actor_kind="client", object_type="client")
    assert seen.client_id == person.id and seen.actor_id == person.id and seen.action == "view"
    assert sorted(seen.fields) == ["appointments", "messages", "plan"]


def test_home_without_a_plan_says_what_happens_next(client, factory, db, home, officer, person):
    sign_in_client(client, factory, person)
    page = client.get("/me/?lang=en")
    assert page.status_code == 200
    assert "You do not have an integration plan yet." in page.text
    assert "You have no appointments coming up." in page.text
    assert "You have no new messages." in page.text
    # A draft the officer has not presented is work in progress: the client is told it is coming.
    make_plan(db, home, officer, person, status=PlanStatus.DRAFT)
    page = client.get("/me/?lang=en")
    assert "Your officer is preparing your integration plan together with you." in page.text
    assert GOAL_1 not in page.text
    plan_page = client.get("/me/plan?lang=en")
    assert "Your officer is preparing your integration plan together with you." in plan_page.text
    assert GOAL_1 not in plan_page.text


def test_a_presented_version_calls_the_client_to_approve_it(client, factory, db, home, officer, person):
    plan = make_plan(db, home, officer, person, status=PlanStatus.DRAFT)
    version = present(db, plan, officer)
    sign_in_client(client, factory, person)
    page = client.get("/me/?lang=en")
    assert "Your plan is ready for you to approve" in page.text
    assert 'href="/me/plan/approve"' in page.text
    plan_page = client.get("/me/plan?lang=en")
    assert "This plan is waiting for your approval" in plan_page.text
    assert 'href="/me/plan/approve"' in plan_page.text
    assert GOAL_1 in plan_page.text  # the presented content is the plan as it is
    # Changed after presenting: the officer must present it again, so nothing waits for the client.
    db.get(IntegrationPlan, plan.id).guidance = "Ohjaus joka viikko"
    db.commit()
    page = client.get("/me/?lang=en")
    assert "/me/plan/approve" not in page.text
    assert "Your officer is preparing your integration plan together with you." in page.text
    # Approved (in person): the plan is in force and nothing waits.
    db.get(IntegrationPlan, plan.id).guidance = GUIDANCE
    db.get(IntegrationPlan, plan.id).status = PlanStatus.IN_FORCE
    db.add(
        PlanApproval(plan_version_id=version.id, client_id=person.id, method=ApprovalMethod.SIGNED_ON_PAPER)
    )
    db.commit()
    page = client.get("/me/?lang=en")
    assert "/me/plan/approve" not in page.text
    assert "Your plan is in force." in page.text


# --- my plan ---------------------------------------------------------------------------------------


def test_my_plan_in_arabic_shows_programme_text_and_translations(client, factory, db, home, officer, person):
    plan = make_plan(db, home, officer, person, service=programme_service(db, home))
    goal_1, goal_2 = plan.goals
    translate(db, plan, f"goal:{goal_1.id}", "ar", GOAL_1_AR, GOAL_1)
    sign_in_client(client, factory, person)
    page = client.get("/me/plan?lang=ar")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="ar" dir="rtl">' in html
    assert AR_NAME in html and AR_DESCRIPTION in html and FI_NAME not in html
    service_id = plan.services[0].id
    assert 'lang="ar"' in element(html, f"service-{service_id}")
    assert f'data-listen="service-{service_id}" data-lang="ar"' in html
    # The translated goal in Arabic; the other in Finnish as written, marked with its language.
    assert GOAL_1_AR in html
    assert 'lang="ar"' in element(html, f"goal-{goal_1.id}")
    assert f'data-listen="goal-{goal_1.id}" data-lang="ar"' in html
    assert GOAL_2 in html
    assert 'lang="fi"' in element(html, f"goal-{goal_2.id}")
    assert f'data-listen="goal-{goal_2.id}" data-lang="fi"' in html
    assert 'data-listen="review" data-lang="ar"' in html
    assert client.app.state["settings"] is not None


def test_my_plan_marks_untranslated_machine_and_stale_texts(client, factory, db, home, officer, person):
    service = programme_service(db, home, arabic=False)
    plan = make_plan(db, home, officer, person, service=service)
    goal_1, goal_2 = plan.goals
    translate(db, plan, f"goal:{goal_1.id}", "ar", GOAL_1_AR, GOAL_1, origin=TextOrigin.MACHINE)
    translate(db, plan, "guidance", "ar", GUIDANCE_AR, "Ohjaus kerran viikossa")  # made from an older text
    sign_in_client(client, factory, person)
    # English page: the client also reads Arabic (mother tongue), so the Arabic translations are used.
    html = client.get("/me/plan?lang=en").text
    goal_1_block = html.split(f'id="goal-{goal_1.id}"', 1)[1].split("</li>", 1)[0]
    assert GOAL_1_AR in goal_1_block
    assert "Machine translation, not yet checked by a person." in goal_1_block
    assert "Show the original (Finnish)" in goal_1_block and GOAL_1 in goal_1_block
    goal_2_block = html.split(f'id="goal-{goal_2.id}"', 1)[1].split("</li>", 1)[0]
    assert GOAL_2 in goal_2_block and "Not yet translated." in goal_2_block
    assert "This is the original text in Finnish." in goal_2_block
    guidance_block = html.split('id="text-guidance"', 1)[1].split("</section>", 1)[0]
    assert GUIDANCE_AR in guidance_block
    assert "This translation may be out of date" in guidance_block
    # The programme service has no Arabic or English text: the Finnish one, marked.
    service_block = html.split(f'id="item-service-{plan.services[0].id}"', 1)[1].split("</li>", 1)[0]
    assert FI_NAME in service_block and "Not yet translated." in service_block
    assert 'lang="fi"' in element(html, f"service-{plan.services[0].id}")
    # A Finnish reader gets the originals without notes.
    fi = client.get("/me/plan?lang=fi").text
    assert GOAL_1 in fi and GOAL_1_AR not in fi
    # A checked machine translation is not marked any more.
    row = db.scalar(select(PlanTextTranslation).where(PlanTextTranslation.source_key == f"goal:{goal_1.id}"))
    row.checked_at = datetime.now(UTC)
    db.commit()
    html = client.get("/me/plan?lang=en").text
    goal_1_block = html.split(f'id="goal-{goal_1.id}"', 1)[1].split("</li>", 1)[0]
    assert "Machine translation, not yet checked" not in goal_1_block


def test_my_plan_shows_statuses_dates_review_period_and_pauses(client, factory, db, home, officer, person):
    plan = make_plan(db, home, officer, person, service=programme_service(db, home))
    db.add(
        PlanPause(
            plan_id=plan.id,
            starts_on=today() - timedelta(days=20),
            ends_on=today() - timedelta(days=10),
            reason=PauseReason.ILLNESS,
            recorded_by_id=officer.id,
        )
    )
    db.commit()
    sign_in_client(client, factory, person)
    html = client.get("/me/plan?lang=en").text
    set_locale("en")
    assert format_date(plan.starts_on) in html and format_date(plan.ends_on) in html
    assert "In force" in html
    assert f"Next review of your plan: {format_date(plan.next_review_on)}" in html
    assert "Started" in html and format_date(plan.services[0].started_on) in html
    assert "Planned" in html
    assert "Pauses" in html and "Illness" in html
    assert "Your rights and duties" in html


def test_a_client_sees_only_their_own_plan_and_the_view_is_audited(
    client, factory, db, home, officer, person
):
    make_plan(db, home, officer, person, goals=("Oma tavoite A",))
    other = factory.client(home, first_names="Birgitta", last_name="Muu")
    theirs = make_plan(db, home, officer, other, goals=("Toisen asiakkaan tavoite",))
    translate(db, theirs, f"goal:{theirs.goals[0].id}", "ar", "هدف عميل آخر", "Toisen asiakkaan tavoite")
    sign_in_client(client, factory, person)
    html = client.get("/me/plan?lang=ar").text
    assert "Oma tavoite A" in html
    assert "Toisen asiakkaan tavoite" not in html and "هدف عميل آخر" not in html
    (seen,) = events(db, actor_kind="client", object_type="integration_plan")
    assert seen.client_id == person.id and seen.actor_id == person.id
    own_plan = db.scalar(select(IntegrationPlan.id).where(IntegrationPlan.client_id == person.id))
    assert seen.object_id == str(own_plan)
    assert "goals" in seen.fields and "Oma tavoite A" not in str(seen.fields)
    # Without a session: to the sign-in page.
    client.cookies.clear()
    response = client.get("/me/plan", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].endswith("/me/sign-in")
    response = client.get("/me/", follow_redirects=False)
    assert response.status_code in (302, 303, 401) and "Oma tavoite A" not in response.text


def test_home_without_a_session_goes_to_sign_in(client):
    response = client.get("/me/", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].endswith("/me/sign-in")


def test_a_goal_translation_survives_the_goals_being_saved_again(client, factory, db, home, officer, person):
    plan = make_plan(db, home, officer, person)
    goal_1 = plan.goals[0]
    translate(db, plan, f"goal:{goal_1.id}", "ar", GOAL_1_AR, GOAL_1)
    # Saving the plan replaces the goal rows (new ids) with the same texts.
    stored = db.scalar(select(IntegrationPlan).where(IntegrationPlan.id == plan.id))
    for goal in list(stored.goals):
        db.delete(goal)
    db.flush()
    db.add_all(
        [
            PlanGoal(plan_id=plan.id, position=0, kind=GoalKind.LONG_TERM, goal_type=GoalType.EMPLOYMENT, text=GOAL_1),
            PlanGoal(plan_id=plan.id, position=1, kind=GoalKind.PLAN_PERIOD, goal_type=GoalType.OTHER_GOAL, text="Uusi"),
        ]
    )  # fmt: skip
    db.commit()
    sign_in_client(client, factory, person)
    html = client.get("/me/plan?lang=ar").text
    assert GOAL_1_AR in html and "Uusi" in html


@contextmanager
def counting(client) -> Iterator[list[str]]:
    engine = client.app.state["alchemy"].get_engine().sync_engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_plan_is_read_in_a_fixed_number_of_queries(client, factory, db, home, officer, person):
    small_plan = make_plan(db, home, officer, person, service=programme_service(db, home), goals=(GOAL_1,))
    translate(db, small_plan, f"goal:{small_plan.goals[0].id}", "ar", GOAL_1_AR, GOAL_1)
    big = factory.client(home, first_names="Iso", last_name="Suunnitelma", mother_tongue="ar")
    goals = tuple(f"Tavoite {i}" for i in range(8))
    big_plan = make_plan(
        db, home, officer, big, service=programme_service(db, home), goals=goals, extra_services=7
    )
    for goal in big_plan.goals:
        translate(db, big_plan, f"goal:{goal.id}", "ar", f"هدف {goal.position}", goal.text)
    counts = {}
    for who in (person, big):
        sign_in_client(client, factory, who)
        client.get("/me/plan?lang=ar")  # the language is remembered first (a write on the profile)
        for path in ("/me/plan?lang=ar", "/me/?lang=ar"):
            with counting(client) as statements:
                assert client.get(path).status_code == 200
            counts[(who.id, path)] = len(statements)
    assert counts[(person.id, "/me/plan?lang=ar")] == counts[(big.id, "/me/plan?lang=ar")]
    assert counts[(person.id, "/me/?lang=ar")] == counts[(big.id, "/me/?lang=ar")]


def test_uuid_is_not_taken_from_the_request(client, factory, db, home, officer, person):
    """The pages take no ids: a stray query parameter naming another client's plan changes nothing."""
    other = factory.client(home, first_names="Birgitta", last_name="Muu")
    theirs = make_plan(db, home, officer, other, goals=("Salainen tavoite",))
    sign_in_client(client, factory, person)
    for path in (
        f"/me/plan?plan_id={theirs.id}",
        f"/me/?client_id={other.id}",
        f"/me/plan?id={uuid.uuid4()}",
    ):
        response = client.get(path)
        assert response.status_code == 200 and "Salainen tavoite" not in response.text
