"""Demo data for the statutory path: clients at every step, so that every worklist kind shows something.

Some clients are not assessed yet, some have a draft, some wait for a plan, most have a plan in force with
services, approvals and reviews — a few with a review overdue, a plan ending soon or an unreferred service.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.assessment import (
    Assessment,
    AssessmentEducation,
    AssessmentLanguageSkill,
    AssessmentStatus,
    AssessmentWork,
    Cefr,
    EducationLevel,
    LanguageSkill,
    Literacy,
    PlanNeed,
)
from app.db.base import utcnow
from app.db.client import Client
from app.db.organisation import Staff
from app.db.plan import (
    ApprovalMethod,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanReview,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
    PlanVersion,
    ReviewKind,
)
from app.db.programme import ProgrammeService, ServiceType
from app.domain import rules
from app.domain.plans import content_of
from app.domain.translations import content_hash

GOALS = (
    (GoalType.EMPLOYMENT, "Työ lähihoitajana tai hoiva-avustajana"),
    (GoalType.EMPLOYMENT, "Työ rakennusalalla, aiemman ammattitaidon pohjalta"),
    (GoalType.ENTREPRENEURSHIP, "Oma kampaamo Esimerkkilään"),
    (GoalType.WORKING_LIFE_READINESS, "Valmiudet hakea työtä ja ymmärtää suomalaista työelämää"),
    (GoalType.UPPER_SECONDARY_EDUCATION, "Ammatillinen tutkinto logistiikka-alalta"),
)
PERIOD_GOALS = (
    "Suomen kielen taito tasolle A2 kaikissa osa-alueissa",
    "Yhteiskuntaorientaatio suoritettu ja arjen asiat hoituvat itsenäisesti",
    "Työharjoittelu alan työpaikassa",
)


def _assessment(client: Client, officer: Staff, on: date, number: int, rng: random.Random) -> Assessment:
    fi_level = rng.choice([Cefr.NONE, Cefr.NONE, Cefr.A1, Cefr.A1, Cefr.A2])
    return Assessment(
        client_id=client.id,
        organisation_id=client.organisation_id,
        number=number,
        status=AssessmentStatus.COMPLETED,
        assessed_on=on,
        created_by_id=officer.id,
        completed_at=utcnow(),
        completed_by_id=officer.id,
        officer_id=officer.id,
        interpreter_language=client.interpreter_language if client.interpreter_needed else None,
        interpreter_name="Hassan Ali" if client.interpreter_needed else None,
        data_sources=["client_interview", "client_documents"],
        told_service_goals=True,
        told_planning=True,
        told_rights_and_duties=True,
        told_data_processing=True,
        literacy=rng.choice([Literacy.LATIN_ALPHABET, Literacy.LATIN_ALPHABET, Literacy.OTHER_SCRIPT_ONLY]),
        study_and_work_skills="Opiskelutaidot hyvät, tottunut käyttämään tietokonetta.",
        service_needs="Suomen kielen koulutus ja ohjaus työnhakuun.",
        service_goals="Työllistyä omalle alalle kahden vuoden kuluessa.",
        strengths="Sosiaalinen, motivoitunut, hyvä englannin kielen taito.",
        plan_need=PlanNeed.NEEDED,
        life_situation="Asuu perheen kanssa vuokra-asunnossa, lapset päiväkodissa.",
        life_situation_needs="Apua asioimiseen viranomaisten kanssa alkuvaiheessa.",
        planned_plan_date=on + timedelta(days=rng.randint(0, 10)),
        language_skills=[
            AssessmentLanguageSkill(language="fi", skill=skill, level=fi_level) for skill in LanguageSkill
        ],
        education=[
            AssessmentEducation(
                level=rng.choice(list(EducationLevel)[2:7]),
                field=rng.choice(["Kauppa", "Hoitoala", "Rakentaminen", "Opettajankoulutus"]),
                years=Decimal(rng.randint(2, 5)),
                country=client.citizenship,
            )
        ],
        work=[
            AssessmentWork(
                occupation=rng.choice(["Myyjä", "Sairaanhoitaja", "Kirvesmies", "Opettaja"]),
                years=Decimal(rng.randint(1, 12)),
                country=client.citizenship,
            )
        ],
    )


async def load_path(
    db: AsyncSession, clients: list[Client], officers: list[Staff], today: date, rng: random.Random
) -> None:
    programme = {
        service.service_type: service
        for service in await _programme(db, clients[0].organisation_id)
        if service.active
    }
    adults = [c for c in clients if c.date_of_birth and rules.add_years(c.date_of_birth, 18) <= today]
    for index, client in enumerate(clients):
        client.responsible_officer_id = officers[index % len(officers)].id
    for index, client in enumerate(adults):
        officer = officers[index % len(officers)]
        step = index % 10
        if step in (0, 1):  # known, not assessed yet
            continue
        assessed_on = min(today - timedelta(days=2), client.known_on + timedelta(days=rng.randint(5, 40)))
        assessment = _assessment(client, officer, assessed_on, 1, rng)
        if step == 2:  # a draft in progress
            assessment.status = AssessmentStatus.DRAFT
            assessment.completed_at = assessment.completed_by_id = None
            assessment.plan_need = None
        if step == 3 and index % 20 == 3:
            assessment.plan_need = PlanNeed.NOT_NEEDED
            assessment.no_plan_reason = "Työssä omalla alallaan, kielikoulutus työnantajan kautta."
        db.add(assessment)
        await db.flush()
        if step in (2, 3):  # plan due, or not needed
            continue
        await _plan(db, client, officer, assessment, programme, today, step, rng)


async def _programme(db: AsyncSession, organisation_id: uuid.UUID) -> list[ProgrammeService]:
    return list(
        (
            await db.scalars(
                select(ProgrammeService).where(ProgrammeService.organisation_id == organisation_id)
            )
        ).all()
    )


async def _plan(
    db: AsyncSession,
    client: Client,
    officer: Staff,
    assessment: Assessment,
    programme: dict[ServiceType, ProgrammeService],
    today: date,
    step: int,
    rng: random.Random,
) -> None:
    starts_on = max(assessment.assessed_on, today - timedelta(days=rng.randint(20, 330)))
    if step == 4:  # a plan in force that ends within a month
        starts_on = rules.add_years(today, -1) + timedelta(days=rng.randint(5, 25))
    if step == 6:  # a review is overdue
        starts_on = today - timedelta(days=rng.randint(200, 300))
    ends_on = rules.first_plan_latest_end(starts_on)
    long_goal = rng.choice(GOALS)
    plan = IntegrationPlan(
        client_id=client.id,
        organisation_id=client.organisation_id,
        assessment_id=assessment.id,
        number=1,
        status=PlanStatus.IN_FORCE,
        officer_id=officer.id,
        starts_on=starts_on,
        ends_on=ends_on,
        language_studies="Kotoutumiskoulutus suomeksi, tavoitteena A2.",
        guidance="Henkilökohtainen ohjaus kotoutumispalveluissa kerran kuukaudessa.",
        rationale="Kielitaito ja yhteiskuntatieto ovat edellytys tavoitteena olevalle työlle tai opiskelulle.",
        duties_explained=True,
        next_review_on=rules.next_review_due(starts_on),
        goals=[
            PlanGoal(position=0, kind=GoalKind.LONG_TERM, goal_type=long_goal[0], text=long_goal[1]),
            PlanGoal(
                position=1,
                kind=GoalKind.PLAN_PERIOD,
                goal_type=GoalType.LANGUAGE_SKILLS,
                text=rng.choice(PERIOD_GOALS),
            ),
        ],
        services=[],
        pauses=[],
    )
    position = 0
    for service_type in (ServiceType.CIVIC_ORIENTATION, ServiceType.INTEGRATION_TRAINING):
        service = programme.get(service_type)
        if service is None:
            continue
        # step 5: the client was never referred — the §20 one-month worklist item.
        status = PlanServiceStatus.PLANNED if step == 5 else PlanServiceStatus.STARTED
        plan.services.append(
            PlanService(
                position=position,
                kind=PlanServiceKind.PROGRAMME,
                programme_service_id=service.id,
                planned_start=starts_on + timedelta(days=14),
                status=status,
                referred_on=None if status == PlanServiceStatus.PLANNED else starts_on + timedelta(days=7),
                started_on=None if status == PlanServiceStatus.PLANNED else starts_on + timedelta(days=14),
                final_tests=[],
            )
        )
        position += 1
    db.add(plan)
    await db.flush()
    version = PlanVersion(
        plan_id=plan.id, number=1, content=content_of(plan), content_hash="", created_by_id=officer.id
    )
    version.content_hash = content_hash(version.content)
    db.add(version)
    await db.flush()
    db.add(PlanApproval(plan_version_id=version.id, client_id=client.id, method=ApprovalMethod.SIGNED_ON_PAPER,
                        recorded_by_id=officer.id))  # fmt: skip
    # Reviews every six months up to now; step 6 skipped the last one (overdue).
    held = rules.next_review_due(starts_on)
    while held < today and step != 6:
        next_on = rules.next_review_due(held)
        db.add(PlanReview(plan_id=plan.id, kind=ReviewKind.SCHEDULED, held_on=held, recorded_by_id=officer.id,
                          progress="Edistynyt suunnitellusti, käy kurssilla säännöllisesti.",
                          next_review_on=next_on))  # fmt: skip
        plan.next_review_on = next_on
        held = next_on
    await db.flush()
