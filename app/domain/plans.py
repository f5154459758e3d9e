"""Integration plans (services 3 and 12; §§16–24): drafting, the duration rules, approval of an exact
version, services and their completion data, reviews, pauses, ending, transfers between authorities.

Every statutory date comes from app.domain.rules; this module applies them to a client's plans and turns
a violation into a translated message that names the section and the date the law allows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.assessment import Assessment, AssessmentStatus, Cefr, LanguageSkill, PlanNeed
from app.db.base import utcnow
from app.db.client import Client, PermitType
from app.db.guidance import GuidancePlanEndReason
from app.db.organisation import Organisation, OrganisationType
from app.db.plan import (
    ApprovalMethod,
    ClientTransfer,
    ExtensionReason,
    FinalLanguageTest,
    GoalAttainment,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PauseReason,
    PlanApproval,
    PlanEndReason,
    PlanGoal,
    PlanPause,
    PlanReview,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    PlanStatus,
    PlanVersion,
    ReviewKind,
)
from app.db.programme import ProgrammePeriod, ProgrammeService, ServiceType
from app.domain import audit, guidance_plans, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, choice, date_field, text, today, too_long
from app.domain.policy import Actor, client_scope
from app.domain.translations import content_hash
from app.i18n import _, format_date

MAX_GOALS = 12
MAX_GOAL = 2000
OPEN_STATUSES = (PlanStatus.DRAFT, PlanStatus.IN_FORCE)
CONTENT_FIELDS = (
    "starts_on",
    "ends_on",
    "extension_reason",
    "extension_justification",
    "under_25_self_study",
    "multi_sector",
    "county_representative",
    "language_studies",
    "guidance",
    "rationale",
    "duties_explained",
    "duties_note",
    "next_review_on",
)


class StaleEdit(Exception):
    """Someone saved the plan after this form was opened."""


class PlanRuleError(Exception):
    """A change the law or the plan's state does not allow; the message is translated."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__(next(iter(errors.values()), ""))
        self.errors = errors


# --- loading, always under the actor's client scope -------------------------------------------------


async def load_plan(
    db: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> tuple[IntegrationPlan, Client] | None:
    row = (
        await db.execute(
            select(IntegrationPlan, Client)
            .join(Client, Client.id == IntegrationPlan.client_id)
            .options(
                selectinload(IntegrationPlan.goals),
                selectinload(IntegrationPlan.services).selectinload(PlanService.final_tests),
                selectinload(IntegrationPlan.pauses),
            )
            .where(IntegrationPlan.id == plan_id, client_scope(actor))
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def for_client(db: AsyncSession, client: Client) -> list[IntegrationPlan]:
    """The client's plans, newest first (the caller has checked the client is in scope)."""
    return list(
        (
            await db.scalars(
                select(IntegrationPlan)
                .where(IntegrationPlan.client_id == client.id)
                .order_by(IntegrationPlan.number.desc())
            )
        ).all()
    )


async def first_plan_start(db: AsyncSession, client_id: uuid.UUID) -> date | None:
    return await db.scalar(
        select(IntegrationPlan.starts_on).where(
            IntegrationPlan.client_id == client_id, IntegrationPlan.number == 1
        )
    )


async def pause_days(db: AsyncSession, client_id: uuid.UUID) -> int:
    """The length of every recorded pause in the client's plans (§23 extends the limit by it)."""
    rows = (
        await db.execute(
            select(PlanPause.starts_on, PlanPause.ends_on)
            .join(IntegrationPlan, IntegrationPlan.id == PlanPause.plan_id)
            .where(IntegrationPlan.client_id == client_id)
        )
    ).all()
    return sum((end - start).days + 1 for start, end in rows)


# --- the form ----------------------------------------------------------------------------------------


@dataclass
class PlanInput:
    values: dict[str, Any]
    goals: list[tuple[GoalKind, GoalType, str]]
    errors: FormErrors = field(default_factory=FormErrors)


def read_plan_form(data: Mapping[str, Any], goal_rows: Sequence[tuple[str, str, str]]) -> PlanInput:
    """Format checks only: a draft may be incomplete. The statutory checks run in check_rules()."""
    errors = FormErrors()
    v: dict[str, Any] = {
        "starts_on": date_field(data, "starts_on", errors, required=True, not_future=False),
        "ends_on": date_field(data, "ends_on", errors, required=True, not_future=False),
        "extension_reason": choice(data, "extension_reason", ExtensionReason, errors, required=False),
        "extension_justification": text(data, "extension_justification", 4000, errors),
        "under_25_self_study": checkbox(data, "under_25_self_study"),
        "multi_sector": checkbox(data, "multi_sector"),
        "county_representative": text(data, "county_representative", 200, errors),
        "language_studies": text(data, "language_studies", 4000, errors),
        "guidance": text(data, "guidance", 4000, errors),
        "rationale": text(data, "rationale", 4000, errors),
        "duties_explained": checkbox(data, "duties_explained"),
        "duties_note": text(data, "duties_note", 4000, errors),
        "next_review_on": date_field(data, "next_review_on", errors, not_future=False),
    }
    goals: list[tuple[GoalKind, GoalType, str]] = []
    for kind, goal_type, body in goal_rows[:MAX_GOALS]:
        body = body.strip()
        if not body:
            continue
        if len(body) > MAX_GOAL:
            errors["goals"] = too_long(MAX_GOAL, len(body))
        try:
            goals.append((GoalKind(kind), GoalType(goal_type), body))
        except ValueError:
            errors["goals"] = _("Choose the kind and the type of each goal.")
    return PlanInput(values=v, goals=goals, errors=errors)


@dataclass(frozen=True)
class Limits:
    """The dates §§20, 22, 23 and 31 allow for one plan of one client."""

    first_plan_start: date
    latest_end: date  # without an extension
    latest_end_extended: date  # with a statutory reason
    first_plan_latest_end: date | None  # only for the first plan
    draw_up_by: date | None  # §20: three years from the first permit
    review_by: date  # §22: six months from the start


async def limits_for(
    db: AsyncSession, client: Client, plan: IntegrationPlan | None, starts_on: date, under_25: bool
) -> Limits:
    number = plan.number if plan else await _next_number(db, client.id)
    first_start = starts_on if number == 1 else (await first_plan_start(db, client.id) or starts_on)
    paused = await pause_days(db, client.id)
    return Limits(
        first_plan_start=first_start,
        latest_end=rules.plans_latest_end(first_start, 0, paused, under_25),
        latest_end_extended=rules.plans_latest_end(first_start, rules.MAX_EXTENSION_YEARS, paused, under_25),
        first_plan_latest_end=rules.first_plan_latest_end(starts_on) if number == 1 else None,
        draw_up_by=rules.plan_deadline(client.first_permit_date) if client.first_permit_date else None,
        review_by=rules.next_review_due(starts_on),
    )


def check_rules(client: Client, number: int, data: PlanInput, limits: Limits) -> FormErrors:
    """§§20, 22, 23, 31 as translated messages keyed by the field they concern."""
    errors = FormErrors()
    v = data.values
    starts_on: date | None = v.get("starts_on")
    ends_on: date | None = v.get("ends_on")
    if starts_on is None or ends_on is None:
        return errors
    if ends_on < starts_on:
        errors["ends_on"] = _("The plan cannot end before it starts.")
        return errors
    if (
        number == 1
        and limits.draw_up_by
        and starts_on > limits.draw_up_by
        and client.permit_type != PermitType.TRAFFICKING_VICTIM
    ):
        errors["starts_on"] = _(
            "A plan is drawn up at the latest three years after the first residence permit (section 20): "
            "by %(date)s."
        ) % {"date": format_date(limits.draw_up_by)}
    if v.get("under_25_self_study") and not rules.under_25(client.date_of_birth, starts_on):
        errors["under_25_self_study"] = _(
            "The extra year for self-directed studies is for clients under 25 (section 31)."
        )
    if limits.first_plan_latest_end and ends_on > limits.first_plan_latest_end:
        errors["ends_on"] = _(
            "The first plan lasts at most one year (section 23): until %(date)s at the latest."
        ) % {"date": format_date(limits.first_plan_latest_end)}
    elif ends_on > limits.latest_end_extended:
        errors["ends_on"] = _(
            "Even with an extension, the plans can last until %(date)s at the latest (section 23)."
        ) % {"date": format_date(limits.latest_end_extended)}
    elif ends_on > limits.latest_end and v.get("extension_reason") is None:
        errors["extension_reason"] = _(
            "Plans last at most two years from the start of the first plan, until %(date)s. To go beyond "
            "it, choose one of the statutory reasons for an extension (section 23)."
        ) % {"date": format_date(limits.latest_end)}
    if v.get("extension_reason") and not v.get("extension_justification"):
        errors["extension_justification"] = _("Explain why the client needs the extension.")
    review = v.get("next_review_on")
    if review and review > limits.review_by:
        errors["next_review_on"] = _(
            "The plan is reviewed at least every six months (section 22): by %(date)s at the latest."
        ) % {"date": format_date(limits.review_by)}
    if review and review < starts_on:
        errors["next_review_on"] = _("The first review cannot be before the plan starts.")
    if v.get("multi_sector") and not v.get("county_representative"):
        errors["county_representative"] = _("Name the wellbeing services county's representative.")
    return errors


def check_complete(plan: IntegrationPlan) -> FormErrors:
    """What a plan must contain before the client is asked to approve it (§§18, 19, 24)."""
    errors = FormErrors()
    kinds = {goal.kind for goal in plan.goals}
    if GoalKind.LONG_TERM not in kinds or GoalKind.PLAN_PERIOD not in kinds:
        errors["goals"] = _(
            "Write at least one long-term goal and one goal for the plan period (section 18)."
        )
    if not plan.services and not plan.language_studies and not plan.guidance:
        errors["services"] = _(
            "Add the services, the Finnish or Swedish studies or the guidance the plan agrees on (section 19)."
        )
    if not plan.rationale:
        errors["rationale"] = _("Explain why the services fit the client's goals (section 19).")
    if not plan.duties_explained:
        errors["duties_explained"] = _(
            "Record that the client's rights and duties were explained to them (section 24)."
        )
    if plan.next_review_on is None:
        errors["next_review_on"] = _("Set the date of the first review (section 22).")
    return errors


# --- drafting ----------------------------------------------------------------------------------------


async def _next_number(db: AsyncSession, client_id: uuid.UUID) -> int:
    latest = await db.scalar(
        select(func.max(IntegrationPlan.number)).where(IntegrationPlan.client_id == client_id)
    )
    return (latest or 0) + 1


async def open_draft(db: AsyncSession, client_id: uuid.UUID) -> IntegrationPlan | None:
    return await db.scalar(
        select(IntegrationPlan).where(
            IntegrationPlan.client_id == client_id, IntegrationPlan.status == PlanStatus.DRAFT
        )
    )


async def current_assessment(db: AsyncSession, client_id: uuid.UUID) -> Assessment | None:
    return await db.scalar(
        select(Assessment)
        .where(Assessment.client_id == client_id, Assessment.status == AssessmentStatus.COMPLETED)
        .order_by(Assessment.number.desc())
        .limit(1)
    )


async def start_draft(db: AsyncSession, actor: Actor, client: Client) -> IntegrationPlan:
    """A new draft from the client's current assessment (§20: without delay after it)."""
    existing = await open_draft(db, client.id)
    if existing:
        return existing
    assessment = await current_assessment(db, client.id)
    if assessment is None:
        raise PlanRuleError(
            FormErrors(plan=_("Complete the assessment first: the plan is drawn up from it."))
        )
    if assessment.plan_need != PlanNeed.NEEDED:
        raise PlanRuleError(FormErrors(plan=_("The current assessment found that no plan is needed.")))
    number = await _next_number(db, client.id)
    starts_on = today()
    first_start = starts_on if number == 1 else (await first_plan_start(db, client.id) or starts_on)
    ends_on = (
        rules.first_plan_latest_end(starts_on)
        if number == 1
        else min(rules.add_years(starts_on, 1), rules.plans_latest_end(first_start))
    )
    plan = IntegrationPlan(
        client_id=client.id,
        organisation_id=actor.organisation_id,
        assessment_id=assessment.id,
        number=number,
        status=PlanStatus.DRAFT,
        officer_id=actor.staff_id,
        starts_on=starts_on,
        ends_on=max(ends_on, starts_on),
        multi_sector=assessment.county_takes_part,
        county_representative=assessment.county_representative,
        next_review_on=rules.next_review_due(starts_on),
        goals=[],
        services=[],
        pauses=[],
    )
    try:
        async with db.begin_nested():  # flushes; a concurrent start may have taken the number
            db.add(plan)
    except IntegrityError:
        existing = await open_draft(db, client.id)
        if existing is None:
            raise
        return existing
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="integration_plan",
        object_id=plan.id,
        fields=["starts_on", "ends_on", "next_review_on", "assessment_id"],
    )
    return plan


async def save(
    db: AsyncSession, actor: Actor, plan: IntegrationPlan, client: Client, seen_version: int, data: PlanInput
) -> list[str]:
    """Save the plan's content (drafts, and plans in force changed at a review). Raises StaleEdit or
    PlanRuleError; the caller shows the form again with the input kept."""
    if plan.status not in OPEN_STATUSES:
        raise PlanRuleError(FormErrors(plan=_("An ended plan is not changed any more.")))
    if seen_version != plan.version:
        raise StaleEdit
    limits = await limits_for(
        db, client, plan, data.values["starts_on"], bool(data.values["under_25_self_study"])
    )
    problems = check_rules(client, plan.number, data, limits)
    if problems:
        raise PlanRuleError(problems)
    changed = [name for name in CONTENT_FIELDS if getattr(plan, name) != data.values.get(name)]
    for name in changed:
        setattr(plan, name, data.values.get(name))
    current = [(g.kind, g.goal_type, g.text) for g in plan.goals]
    if current != data.goals:
        # In place, so a goal keeps its id: its translations for the client then show as out of date
        # (their source hash differs) instead of disappearing.
        goals = list(plan.goals)
        for goal, (kind, goal_type, body) in zip(goals, data.goals, strict=False):
            goal.kind, goal.goal_type, goal.text = kind, goal_type, body
        for goal in goals[len(data.goals) :]:
            plan.goals.remove(goal)
        for position in range(len(goals), len(data.goals)):
            kind, goal_type, body = data.goals[position]
            plan.goals.append(PlanGoal(position=position, kind=kind, goal_type=goal_type, text=body))
        changed.append("goals")
        plan.updated_at = utcnow()  # the goals belong to the plan: bump its version
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=client.id,
            object_type="integration_plan",
            object_id=plan.id,
            fields=changed,
        )
    return changed


# --- services and completion data (suoritustiedot) ----------------------------------------------------


@dataclass(frozen=True)
class ServiceChoice:
    kind: PlanServiceKind
    programme_service_id: uuid.UUID | None
    period_id: uuid.UUID | None
    name: str | None
    planned_start: date | None
    planned_end: date | None


async def read_service_form(
    db: AsyncSession, actor: Actor, data: Mapping[str, Any], errors: FormErrors
) -> ServiceChoice | None:
    kind = choice(data, "service_kind", PlanServiceKind, errors)
    planned_start = date_field(data, "planned_start", errors, not_future=False)
    planned_end = date_field(data, "planned_end", errors, not_future=False)
    if planned_start and planned_end and planned_end < planned_start:
        errors["planned_end"] = _("The service cannot end before it starts.")
    programme_service_id = period_id = None
    name = text(data, "name", 200, errors) if kind != PlanServiceKind.PROGRAMME else None
    if kind == PlanServiceKind.PROGRAMME:
        try:
            programme_service_id = uuid.UUID(str(data.get("programme_service_id") or ""))
        except ValueError:
            errors["programme_service_id"] = _("Choose a service of the integration programme.")
        else:
            service = await db.scalar(
                select(ProgrammeService).where(
                    ProgrammeService.id == programme_service_id,
                    ProgrammeService.organisation_id == actor.organisation_id,
                    ProgrammeService.active.is_(True),
                )
            )
            if service is None:
                errors["programme_service_id"] = _("Choose a service of the integration programme.")
        if data.get("period_id"):
            try:
                period_id = uuid.UUID(str(data["period_id"]))
            except ValueError:
                period_id = None
            period = await db.scalar(
                select(ProgrammePeriod).where(
                    ProgrammePeriod.id == period_id, ProgrammePeriod.service_id == programme_service_id
                )
            )
            if period is None:
                errors["period_id"] = _("Choose an intake of the chosen service.")
            elif planned_start is None:
                planned_start, planned_end = period.starts_on, period.ends_on
    elif kind is not None and not name:
        errors["name"] = _("Name the service or the activity.")
    if errors or kind is None:
        return None
    return ServiceChoice(kind, programme_service_id, period_id, name, planned_start, planned_end)


async def add_service(
    db: AsyncSession, actor: Actor, plan: IntegrationPlan, client: Client, service: ServiceChoice
) -> PlanService:
    if plan.status not in OPEN_STATUSES:
        raise PlanRuleError(FormErrors(plan=_("An ended plan is not changed any more.")))
    row = PlanService(
        position=max((s.position for s in plan.services), default=-1) + 1,
        kind=service.kind,
        programme_service_id=service.programme_service_id,
        period_id=service.period_id,
        name=service.name,
        planned_start=service.planned_start,
        planned_end=service.planned_end,
        status=PlanServiceStatus.PLANNED,
        final_tests=[],
    )
    plan.services.append(row)
    plan.updated_at = utcnow()
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="plan_service",
        object_id=row.id,
        fields=["kind", "programme_service_id", "period_id", "name", "planned_start", "planned_end"],
    )
    return row


async def remove_service(
    db: AsyncSession, actor: Actor, plan: IntegrationPlan, client: Client, service: PlanService
) -> None:
    """A service only planned so far can be taken out; one already referred or started stays on record
    (interrupt it instead). In a plan in force this changes the content: a new approval is needed."""
    if plan.status not in OPEN_STATUSES or service.status != PlanServiceStatus.PLANNED:
        raise PlanRuleError(
            FormErrors(status=_("Only a planned service can be removed. Interrupt a service that has begun."))
        )
    plan.services.remove(service)
    plan.updated_at = utcnow()
    await db.flush()
    await audit.record(
        db,
        Action.DELETE,
        actor=actor,
        client_id=client.id,
        object_type="plan_service",
        object_id=service.id,
        fields=["kind", "programme_service_id", "name"],
    )


# Which status may follow which, and the date each one records.
NEXT_STATUSES: dict[PlanServiceStatus, tuple[PlanServiceStatus, ...]] = {
    PlanServiceStatus.PLANNED: (
        PlanServiceStatus.REFERRED,
        PlanServiceStatus.STARTED,
        PlanServiceStatus.INTERRUPTED,
    ),
    PlanServiceStatus.REFERRED: (PlanServiceStatus.STARTED, PlanServiceStatus.INTERRUPTED),
    PlanServiceStatus.STARTED: (PlanServiceStatus.COMPLETED, PlanServiceStatus.INTERRUPTED),
    PlanServiceStatus.COMPLETED: (),
    PlanServiceStatus.INTERRUPTED: (),
}
STATUS_DATE = {
    PlanServiceStatus.REFERRED: "referred_on",
    PlanServiceStatus.STARTED: "started_on",
    PlanServiceStatus.COMPLETED: "completed_on",
    PlanServiceStatus.INTERRUPTED: "interrupted_on",
}
FINAL_TEST_LANGUAGES = ("fi", "sv")


async def programme_types(db: AsyncSession, services: Sequence[PlanService]) -> dict[uuid.UUID, ServiceType]:
    ids = {s.programme_service_id for s in services if s.programme_service_id}
    if not ids:
        return {}
    rows = await db.execute(
        select(ProgrammeService.id, ProgrammeService.service_type).where(ProgrammeService.id.in_(ids))
    )
    return {row[0]: row[1] for row in rows}


async def change_service_status(
    db: AsyncSession,
    actor: Actor,
    plan: IntegrationPlan,
    client: Client,
    service: PlanService,
    data: Mapping[str, Any],
) -> None:
    """Record a referral, start, completion or interruption with its date; an integration training's
    completion records the final language test per skill."""
    errors = FormErrors()
    seen = str(data.get("version") or "")
    if seen != str(service.version):
        raise StaleEdit
    new = choice(data, "status", PlanServiceStatus, errors)
    on = date_field(data, "on", errors, required=True)
    if new is not None and new not in NEXT_STATUSES[service.status]:
        errors["status"] = _("A service that is %(now)s cannot become %(new)s.") % {
            "now": _label(service.status),
            "new": _label(new),
        }
    earlier = service.started_on or service.referred_on
    if (
        on
        and earlier
        and on < earlier
        and new in (PlanServiceStatus.COMPLETED, PlanServiceStatus.INTERRUPTED)
    ):
        errors["on"] = _("The date cannot be before the service started.")
    reason = text(data, "interruption_reason", 2000, errors)
    if new == PlanServiceStatus.INTERRUPTED and not reason:
        errors["interruption_reason"] = _("Say why the service was interrupted.")
    tests: list[FinalLanguageTest] = []
    is_training = (await programme_types(db, [service])).get(
        service.programme_service_id or uuid.uuid4()
    ) == ServiceType.INTEGRATION_TRAINING
    if new == PlanServiceStatus.COMPLETED and is_training:
        language = str(data.get("test_language") or "")
        levels = {skill: str(data.get(f"test_{skill.value}") or "") for skill in LanguageSkill}
        if any(levels.values()):
            if language not in FINAL_TEST_LANGUAGES:
                errors["test_language"] = _("Choose the language of the final test.")
            for skill, level in levels.items():
                try:
                    tests.append(
                        FinalLanguageTest(
                            language=language, skill=skill, level=Cefr(level), tested_on=on or today()
                        )
                    )
                except ValueError:
                    errors[f"test_{skill.value}"] = _("Choose a level for each skill.")
    if errors or new is None or on is None:
        raise PlanRuleError(errors)
    service.status = new
    setattr(service, STATUS_DATE[new], on)
    fields = ["status", STATUS_DATE[new]]
    if new == PlanServiceStatus.INTERRUPTED:
        service.interruption_reason = reason
        fields.append("interruption_reason")
    if tests:
        service.final_tests = tests
        fields.append("final_tests")
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="plan_service",
        object_id=service.id,
        fields=fields,
    )


def _label(value: Any) -> str:
    from app.labels import label

    return label(value)


# --- approval of an exact version --------------------------------------------------------------------


def content_of(plan: IntegrationPlan) -> dict[str, Any]:
    """What the client approves: everything the plan agrees on, not the follow-up of services."""
    body: dict[str, Any] = {
        "plan_id": str(plan.id),
        "client_id": str(plan.client_id),
        "number": plan.number,
        **{name: _plain(getattr(plan, name)) for name in CONTENT_FIELDS},
        "goals": [{"kind": g.kind.value, "type": g.goal_type.value, "text": g.text} for g in plan.goals],
        "services": [
            {
                "kind": s.kind.value,
                "programme_service_id": str(s.programme_service_id) if s.programme_service_id else None,
                "period_id": str(s.period_id) if s.period_id else None,
                "name": s.name,
                "planned_start": _plain(s.planned_start),
                "planned_end": _plain(s.planned_end),
            }
            for s in plan.services
        ],
    }
    return body


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return getattr(value, "value", value)


async def versions(db: AsyncSession, plan: IntegrationPlan) -> list[tuple[PlanVersion, list[PlanApproval]]]:
    rows = (
        await db.scalars(
            select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.number.desc())
        )
    ).all()
    approvals = (
        await db.scalars(
            select(PlanApproval)
            .where(PlanApproval.plan_version_id.in_([v.id for v in rows]))
            .order_by(PlanApproval.approved_at)
        )
    ).all()
    by_version: dict[uuid.UUID, list[PlanApproval]] = {}
    for approval in approvals:
        by_version.setdefault(approval.plan_version_id, []).append(approval)
    return [(version, by_version.get(version.id, [])) for version in rows]


async def present(db: AsyncSession, actor: Actor, plan: IntegrationPlan, client: Client) -> PlanVersion:
    """Freeze the content for approval; the same content keeps its version (and its hash)."""
    if plan.status not in OPEN_STATUSES:
        raise PlanRuleError(FormErrors(plan=_("An ended plan is not changed any more.")))
    problems = check_complete(plan)
    if problems:
        raise PlanRuleError(problems)
    content = content_of(plan)
    digest = content_hash(content)
    latest = await db.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.number.desc()).limit(1)
    )
    if latest is not None and latest.content_hash == digest:
        return latest
    version = PlanVersion(
        plan_id=plan.id,
        number=(latest.number + 1) if latest else 1,
        content=content,
        content_hash=digest,
        created_by_id=actor.staff_id,
    )
    db.add(version)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="plan_version",
        object_id=version.id,
        fields=["content", "content_hash"],
    )
    return version


async def latest_version(db: AsyncSession, plan: IntegrationPlan) -> PlanVersion | None:
    return await db.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.number.desc()).limit(1)
    )


async def approve_in_person(
    db: AsyncSession,
    actor: Actor,
    plan: IntegrationPlan,
    client: Client,
    version_id: uuid.UUID,
    method: ApprovalMethod,
    witness: str | None,
) -> PlanApproval:
    """The client approves or signs the presented version at the office; the officer records how."""
    if method == ApprovalMethod.PASSKEY:
        raise PlanRuleError(FormErrors(method=_("Passkey approvals are made by the client in the app.")))
    version = await latest_version(db, plan)
    if version is None or version.id != version_id:
        raise PlanRuleError(FormErrors(plan=_("Approve the latest presented version of the plan.")))
    if version.content_hash != content_hash(content_of(plan)):
        raise PlanRuleError(
            FormErrors(plan=_("The plan has changed since this version was presented. Present it again."))
        )
    if plan.status not in OPEN_STATUSES:
        raise PlanRuleError(FormErrors(plan=_("An ended plan is not changed any more.")))
    approval = PlanApproval(
        plan_version_id=version.id,
        client_id=client.id,
        method=method,
        recorded_by_id=actor.staff_id,
        witness=witness,
    )
    db.add(approval)
    fields = ["method"] + (["witness"] if witness else [])
    if plan.status == PlanStatus.DRAFT:
        await bring_into_force(db, actor, plan, client)
        fields.append("status")
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="plan_approval",
        object_id=plan.id,
        fields=fields,
    )
    return approval


async def bring_into_force(
    db: AsyncSession, actor: Actor | None, plan: IntegrationPlan, client: Client
) -> None:
    """A follow-up plan replaces the one in force: that one ends the day before the new one starts.
    `actor` None: the client approved it in the migrant app, and the events name the client."""
    previous = (
        await db.scalars(
            select(IntegrationPlan).where(
                IntegrationPlan.client_id == client.id,
                IntegrationPlan.status == PlanStatus.IN_FORCE,
                IntegrationPlan.id != plan.id,
            )
        )
    ).all()
    for old in previous:
        old.status = PlanStatus.ENDED
        old.ended_on = max(old.starts_on, date.fromordinal(plan.starts_on.toordinal() - 1))
        old.end_reason = PlanEndReason.PERIOD_ENDED
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            actor_kind=None if actor else "client",
            actor_id=None if actor else client.id,
            client_id=client.id,
            object_type="integration_plan",
            object_id=old.id,
            fields=["status", "ended_on", "end_reason"],
        )
    plan.status = PlanStatus.IN_FORCE


async def approved_version(db: AsyncSession, plan: IntegrationPlan) -> PlanVersion | None:
    return await db.scalar(
        select(PlanVersion)
        .join(PlanApproval, PlanApproval.plan_version_id == PlanVersion.id)
        .where(PlanVersion.plan_id == plan.id)
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )


# --- reviews, pauses, ending ------------------------------------------------------------------------


async def reviews(db: AsyncSession, plan: IntegrationPlan) -> list[PlanReview]:
    return list(
        (
            await db.scalars(
                select(PlanReview).where(PlanReview.plan_id == plan.id).order_by(PlanReview.held_on.desc())
            )
        ).all()
    )


async def add_review(
    db: AsyncSession, actor: Actor, plan: IntegrationPlan, client: Client, data: Mapping[str, Any]
) -> PlanReview:
    """§22: record participation, progress, obstacles and changes, and set the next review (≤ 6 months)."""
    errors = FormErrors()
    kind = choice(data, "review_kind", ReviewKind, errors)
    held_on = date_field(data, "held_on", errors, required=True)
    next_on = date_field(data, "next_review_on", errors, required=True, not_future=False)
    county = checkbox(data, "county_took_part")
    if plan.status != PlanStatus.IN_FORCE:
        errors["plan"] = _("Only a plan in force is reviewed.")
    if held_on and held_on < plan.starts_on:
        errors["held_on"] = _("The review cannot be before the plan starts.")
    if held_on and next_on:
        if next_on <= held_on:
            errors["next_review_on"] = _("The next review comes after this one.")
        elif next_on > rules.next_review_due(held_on):
            errors["next_review_on"] = _(
                "The plan is reviewed at least every six months (section 22): by %(date)s at the latest."
            ) % {"date": format_date(rules.next_review_due(held_on))}
    if plan.multi_sector and not county:
        errors["county_took_part"] = _(
            "The county took part in drawing up this plan, so it reviews the plan jointly (section 22)."
        )
    values = {
        name: text(data, name, 4000, errors) for name in ("participation", "progress", "obstacles", "changes")
    }
    if not values["progress"]:
        errors["progress"] = _("Describe the client's progress.")
    values["interpreter_language"] = text(data, "interpreter_language", 12, errors)
    values["participants"] = text(data, "participants", 400, errors)
    if errors or kind is None or held_on is None or next_on is None:
        raise PlanRuleError(errors)
    review = PlanReview(
        plan_id=plan.id,
        kind=kind,
        held_on=held_on,
        recorded_by_id=actor.staff_id,
        client_took_part=checkbox(data, "client_took_part"),
        county_took_part=county,
        next_review_on=next_on,
        **values,
    )
    db.add(review)
    plan.next_review_on = next_on
    # A transferred client's plan is reviewed by the receiving authority: this review settles it.
    transfers = (
        await db.scalars(
            select(ClientTransfer).where(
                ClientTransfer.client_id == client.id,
                ClientTransfer.to_organisation_id == actor.organisation_id,
                ClientTransfer.reviewed_at.is_(None),
            )
        )
    ).all()
    for transfer in transfers:
        transfer.reviewed_at = utcnow()
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="plan_review",
        object_id=review.id,
        fields=[name for name, value in values.items() if value] + ["kind", "held_on", "next_review_on"],
    )
    return review


async def add_pause(
    db: AsyncSession, actor: Actor, plan: IntegrationPlan, client: Client, data: Mapping[str, Any]
) -> PlanPause:
    """§23: a temporary pause (illness, disability, pregnancy or parental leave) moves the end by its length."""
    errors = FormErrors()
    reason = choice(data, "reason", PauseReason, errors)
    starts_on = date_field(data, "pause_starts_on", errors, required=True, not_future=False)
    ends_on = date_field(data, "pause_ends_on", errors, required=True, not_future=False)
    if plan.status != PlanStatus.IN_FORCE:
        errors["plan"] = _("Only a plan in force can be paused.")
    if starts_on and ends_on and ends_on < starts_on:
        errors["pause_ends_on"] = _("The pause cannot end before it starts.")
    if starts_on and not plan.starts_on <= starts_on <= plan.ends_on:
        errors["pause_starts_on"] = _("The pause starts during the plan.")
    for other in plan.pauses:
        if starts_on and ends_on and starts_on <= other.ends_on and other.starts_on <= ends_on:
            errors["pause_starts_on"] = _("This pause overlaps a pause already recorded.")
    if errors or reason is None or starts_on is None or ends_on is None:
        raise PlanRuleError(errors)
    pause = PlanPause(starts_on=starts_on, ends_on=ends_on, reason=reason, recorded_by_id=actor.staff_id)
    plan.pauses.append(pause)
    plan.ends_on = date.fromordinal(plan.ends_on.toordinal() + (ends_on - starts_on).days + 1)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="plan_pause",
        object_id=pause.id,
        fields=["reason", "starts_on", "ends_on", "plan.ends_on"],
    )
    return pause


async def end_plan(
    db: AsyncSession, actor: Actor, plan: IntegrationPlan, client: Client, data: Mapping[str, Any]
) -> None:
    """Interrupt or end a plan with a reason; goal attainment is recorded for quality follow-up."""
    errors = FormErrors()
    outcome = str(data.get("outcome") or "")
    if outcome not in (PlanStatus.ENDED.value, PlanStatus.INTERRUPTED.value):
        errors["outcome"] = _("Choose whether the plan ended or was interrupted.")
    ended_on = date_field(data, "ended_on", errors, required=True)
    reason = choice(data, "end_reason", PlanEndReason, errors)
    if plan.status != PlanStatus.IN_FORCE:
        errors["plan"] = _("Only a plan in force can be ended or interrupted.")
    if ended_on and ended_on < plan.starts_on:
        errors["ended_on"] = _("The plan cannot end before it starts.")
    attainments = read_attainments(plan, data, errors)
    end_note = text(data, "end_note", 4000, errors)
    goals_attained = text(data, "goals_attained", 4000, errors)
    if str(data.get("version") or "") != str(plan.version):
        raise StaleEdit
    if errors or ended_on is None or reason is None:
        raise PlanRuleError(errors)
    plan.status = PlanStatus(outcome)
    plan.ended_on = ended_on
    plan.end_reason = reason
    plan.end_note = end_note
    plan.goals_attained = goals_attained
    for goal in plan.goals:
        goal.attainment = attainments[goal.id]
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="integration_plan",
        object_id=plan.id,
        fields=["status", "ended_on", "end_reason", "end_note", "goals_attained"]
        + (["goals.attainment"] if plan.goals else []),
    )
    # 3.4.6: initial guidance ends at the latest when the integration plan ends (same transaction).
    await guidance_plans.end_active(
        db, actor, client.id, ended_on, GuidancePlanEndReason.INTEGRATION_PLAN_ENDED
    )


def attainment_field(goal: PlanGoal) -> str:
    return f"attainment_{goal.id}"


def read_attainments(
    plan: IntegrationPlan, data: Mapping[str, Any], errors: FormErrors
) -> dict[uuid.UUID, GoalAttainment]:
    """Service quality: how each goal of the plan was attained (achieved, partly, not) — one for every goal."""
    found: dict[uuid.UUID, GoalAttainment] = {}
    for goal in plan.goals:
        name = attainment_field(goal)
        try:
            found[goal.id] = GoalAttainment(str(data.get(name) or ""))
        except ValueError:
            errors[name] = _("Choose how far this goal was attained.")
    return found


# --- transfer between the municipality and the employment authority ----------------------------------

TRANSFER_TYPES = {
    OrganisationType.MUNICIPALITY: OrganisationType.EMPLOYMENT_AUTHORITY,
    OrganisationType.EMPLOYMENT_AUTHORITY: OrganisationType.MUNICIPALITY,
}


async def transfer_targets(db: AsyncSession, actor: Actor) -> list[Organisation]:
    wanted = TRANSFER_TYPES.get(actor.organisation_type)
    if wanted is None:
        return []
    return list(
        (
            await db.scalars(
                select(Organisation).where(Organisation.type == wanted).order_by(Organisation.name)
            )
        ).all()
    )


async def transfer(db: AsyncSession, actor: Actor, client: Client, data: Mapping[str, Any]) -> ClientTransfer:
    """The client relationship moves to the other authority: it gets the client (and their plans) and a
    review on its worklist; this organisation's access ends with the move."""
    errors = FormErrors()
    targets = {str(o.id): o for o in await transfer_targets(db, actor)}
    target = targets.get(str(data.get("to_organisation_id") or ""))
    if target is None:
        errors["to_organisation_id"] = _("Choose the authority the client moves to.")
    on = date_field(data, "transferred_on", errors, required=True)
    reason = text(data, "reason", 2000, errors)
    if not reason:
        errors["reason"] = _("Say why the client moves to the other authority.")
    if str(data.get("version") or "") != str(client.version):
        raise StaleEdit
    if errors or target is None or on is None or reason is None:
        raise PlanRuleError(errors)
    row = ClientTransfer(
        client_id=client.id,
        from_organisation_id=client.organisation_id,
        to_organisation_id=target.id,
        transferred_on=on,
        reason=reason,
        transferred_by_id=actor.staff_id,
    )
    db.add(row)
    client.organisation_id = target.id
    client.responsible_officer_id = None
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="client_transfer",
        object_id=row.id,
        fields=["organisation_id", "responsible_officer_id", "transferred_on", "reason"],
    )
    return row
