"""My data (issue 4): everything the system holds about the signed-in client, and who has viewed it.

`collect()` reads it with a fixed number of queries (one per kind of record, never one per row);
`as_json()` turns it into the download: stable keys, ISO 8601 dates, enums as their values. Secrets are
never read out: hashes of session and invitation tokens, passkeys' credential ids and public keys, the
signatures of plan approvals, push subscriptions' endpoints and keys. Staff are named by organisation
and role, never by name (the client page of the back office is where names belong).

`views()` is "who has viewed my data": the audit log's staff events about this client, newest first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.db.appointment import Appointment, AppointmentClient, InterpretationEvent, Task
from app.db.assessment import Assessment, RefiningMeasure
from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientLanguage,
    Consent,
    FamilyLink,
    HealthInformation,
)
from app.db.client_app import ClientInvitation, ClientPasskey, ClientSession, Feedback, PlanTextTranslation
from app.db.messaging import Message, Thread
from app.db.organisation import Organisation, Staff
from app.db.outbox import ContactPreference, OutboxMessage, PushSubscription
from app.db.plan import (
    ClientTransfer,
    FamilyOverview,
    FamilyOverviewMember,
    IntegrationPlan,
    PlanApproval,
    PlanReview,
    PlanService,
    PlanVersion,
)
from app.db.programme import ProgrammeService
from app.db.quality import FeedbackAnswer, SurveyQuestion
from app.domain import programme, quality
from app.i18n import N_, gettext
from app.labels import label

FORMAT = "kotopolku-my-data"
FORMAT_VERSION = 1
VIEWS_PAGE_SIZE = 50

# --- what is read out, per kind of record (an allow-list: a new column is not exported by accident) ---

CLIENT_FIELDS = (
    "first_names",
    "last_name",
    "native_name",
    "date_of_birth",
    "identity_code",
    "temporary_identifier",
    "citizenship",
    "mother_tongue",
    "interpreter_needed",
    "interpreter_language",
    "phone",
    "email",
    "street_address",
    "postal_code",
    "post_office",
    "municipality_of_residence",
    "first_permit_date",
    "permit_type",
    "preferred_locale",
    "segment",
    "known_on",
    "known_how",
    "status",
    "ended_on",
    "end_reason",
    "end_note",
    "created_at",
    "updated_at",
)
ASSESSMENT_FIELDS = (
    "id",
    "number",
    "status",
    "amendment_reason",
    "assessed_on",
    "completed_at",
    "interpreter_language",
    "interpreter_name",
    "county_takes_part",
    "county_representative",
    "other_participants",
    "data_sources",
    "told_service_goals",
    "told_planning",
    "told_rights_and_duties",
    "told_data_processing",
    "literacy",
    "literacy_note",
    "language_note",
    "study_and_work_skills",
    "service_needs",
    "service_goals",
    "strengths",
    "plan_need",
    "no_plan_reason",
    "life_situation",
    "life_situation_needs",
    "other_needs_and_goals",
    "county_mental_health_rehabilitation",
    "county_employment_education",
    "county_social_health",
    "county_other",
    "planned_plan_date",
    "created_at",
    "updated_at",
)
# The assessment's free-text items, in the order of the form (the page shows those that are filled in).
ASSESSMENT_TEXTS = (
    "literacy_note",
    "language_note",
    "study_and_work_skills",
    "service_needs",
    "service_goals",
    "strengths",
    "no_plan_reason",
    "life_situation",
    "life_situation_needs",
    "other_needs_and_goals",
    "county_mental_health_rehabilitation",
    "county_employment_education",
    "county_social_health",
    "county_other",
    "amendment_reason",
)
MEASURE_FIELDS = ("measure_type", "provider_name", "ordered_on", "status", "result_on", "result")
PLAN_FIELDS = (
    "id",
    "number",
    "status",
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
    "ended_on",
    "end_reason",
    "end_note",
    "goals_attained",
    "created_at",
    "updated_at",
)
SERVICE_FIELDS = (
    "id",
    "position",
    "kind",
    "planned_start",
    "planned_end",
    "status",
    "referred_on",
    "started_on",
    "completed_on",
    "interrupted_on",
    "interruption_reason",
    "note",
)
REVIEW_FIELDS = (
    "kind",
    "held_on",
    "client_took_part",
    "county_took_part",
    "interpreter_language",
    "participants",
    "participation",
    "progress",
    "obstacles",
    "changes",
    "next_review_on",
)
APPOINTMENT_FIELDS = (
    "id",
    "purpose",
    "title",
    "starts_at",
    "ends_at",
    "status",
    "street_address",
    "room",
    "remote_link",
    "what_to_bring",
    "interpreter_language",
    "interpreter_mode",
    "interpreter_booked_at",
    "no_show_fee_announced_at",
    "cancelled_at",
    "cancel_reason",
)
FEEDBACK_FIELDS = (
    "id",
    "subject",
    "about",
    "appointment_id",
    "plan_service_id",
    "rating",
    "comment",
    "language",
)


# --- the collected data ---------------------------------------------------------------------------


@dataclass
class AppointmentEntry:
    appointment: Appointment
    answer: AppointmentClient  # this client's row: their answer


@dataclass
class PlanEntry:
    plan: IntegrationPlan
    versions: list[tuple[PlanVersion, list[PlanApproval]]]  # newest first
    reviews: list[PlanReview]
    translations: list[PlanTextTranslation]


@dataclass
class ThreadEntry:
    thread: Thread
    messages: list[Message]


@dataclass
class GrantEntry:
    grant: ClientAccessGrant
    organisation_id: uuid.UUID  # the staff member's organisation (never their name)


@dataclass
class MyData:
    client: Client
    generated_at: datetime
    locale: str
    languages: list[ClientLanguage]
    family: list[tuple[FamilyLink, Client]]
    consents: list[Consent]  # newest first: the first per purpose is in force
    health: list[HealthInformation]
    assessments: list[Assessment]
    measures: dict[uuid.UUID, list[RefiningMeasure]]
    plans: list[PlanEntry]
    transfers: list[ClientTransfer]
    appointments: list[AppointmentEntry]  # newest first
    threads: list[ThreadEntry]
    tasks: list[Task]
    interpretations: list[InterpretationEvent]
    family_overviews: list[FamilyOverview]
    grants: list[GrantEntry]
    preferences: ContactPreference | None
    push_subscriptions: list[PushSubscription]
    notifications: list[OutboxMessage]
    passkeys: list[ClientPasskey]
    sessions: list[ClientSession]
    invitations: list[ClientInvitation]
    feedback: list[Feedback]
    organisations: dict[uuid.UUID, str] = field(default_factory=dict)
    # Survey answers of the feedback above: feedback id → (answer, the question's texts or None).
    feedback_answers: dict[uuid.UUID, list[tuple[FeedbackAnswer, dict[str, Any] | None]]] = field(
        default_factory=dict
    )
    services: dict[uuid.UUID, ProgrammeService] = field(default_factory=dict)

    @property
    def message_count(self) -> int:
        return sum(len(t.messages) for t in self.threads)

    def organisation(self, organisation_id: uuid.UUID | None) -> str:
        return self.organisations.get(organisation_id, "") if organisation_id else ""

    def service_name(self, service: PlanService | Mapping[str, Any]) -> str:
        """A plan service's name in the client's language (a programme service) or as written."""
        kind: str | None
        if isinstance(service, PlanService):
            ref, name, kind = service.programme_service_id, service.name, service.kind.value
        else:
            ref, name, kind = (
                _uuid(service.get("programme_service_id")),
                service.get("name"),
                service.get("kind"),
            )
        found = self.services.get(ref) if ref else None
        if found is not None:
            text = programme.display_text(found, self.locale).name
            if text:
                return text
            return label(found.service_type)
        return name or label(kind)

    def service_type(self, service: PlanService) -> str:
        found = self.services.get(service.programme_service_id) if service.programme_service_id else None
        return found.service_type.value if found else service.kind.value

    @property
    def masked_identity_code(self) -> str:
        return mask_identity_code(self.client.identity_code)


def mask_identity_code(code: str | None) -> str:
    """The date part and the century sign stay readable; the individual number and check are hidden."""
    if not code:
        return ""
    return code[:7] + "*" * (len(code) - 7) if len(code) > 7 else "*" * len(code)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def collect(db: AsyncSession, client: Client, locale: str) -> MyData:
    """Everything about `client`, with one query per kind of record (the number does not grow with the
    data). The caller passes the signed-in client: nothing here takes an id from a request."""
    me = client.id

    async def rows(statement: Any) -> list[Any]:
        return list((await db.scalars(statement)).all())

    languages = await rows(
        select(ClientLanguage).where(ClientLanguage.client_id == me).order_by(ClientLanguage.id)
    )
    family = [
        (r[0], r[1])
        for r in (
            await db.execute(
                select(FamilyLink, Client)
                .join(Client, Client.id == FamilyLink.related_client_id)
                .where(FamilyLink.client_id == me)
                .order_by(Client.date_of_birth, Client.last_name)
            )
        ).all()
    ]
    consents = await rows(select(Consent).where(Consent.client_id == me).order_by(Consent.recorded_at.desc()))
    health = await rows(
        select(HealthInformation)
        .where(HealthInformation.client_id == me)
        .order_by(HealthInformation.created_at)
    )
    assessments = await rows(
        select(Assessment)
        .where(Assessment.client_id == me)
        .options(
            selectinload(Assessment.language_skills),
            selectinload(Assessment.education),
            selectinload(Assessment.work),
        )
        .order_by(Assessment.number.desc())
    )
    measures: dict[uuid.UUID, list[RefiningMeasure]] = {}
    for measure in await rows(
        select(RefiningMeasure)
        .join(Assessment, Assessment.id == RefiningMeasure.assessment_id)
        .where(Assessment.client_id == me)
        .order_by(RefiningMeasure.ordered_on, RefiningMeasure.created_at)
    ):
        measures.setdefault(measure.assessment_id, []).append(measure)

    plans = await rows(
        select(IntegrationPlan)
        .where(IntegrationPlan.client_id == me)
        .options(
            selectinload(IntegrationPlan.goals),
            selectinload(IntegrationPlan.services).selectinload(PlanService.final_tests),
            selectinload(IntegrationPlan.pauses),
        )
        .order_by(IntegrationPlan.number.desc())
    )
    my_plans = select(IntegrationPlan.id).where(IntegrationPlan.client_id == me).scalar_subquery()
    versions = await rows(
        select(PlanVersion)
        .where(PlanVersion.plan_id.in_(my_plans))
        .order_by(PlanVersion.plan_id, PlanVersion.number.desc())
    )
    approvals = await rows(
        select(PlanApproval)
        .join(PlanVersion, PlanVersion.id == PlanApproval.plan_version_id)
        .where(PlanVersion.plan_id.in_(my_plans))
        .order_by(PlanApproval.approved_at)
    )
    reviews = await rows(
        select(PlanReview)
        .where(PlanReview.plan_id.in_(my_plans))
        .order_by(PlanReview.held_on, PlanReview.created_at)
    )
    translations = await rows(
        select(PlanTextTranslation)
        .where(PlanTextTranslation.plan_id.in_(my_plans))
        .order_by(PlanTextTranslation.source_key, PlanTextTranslation.language)
    )
    approvals_of: dict[uuid.UUID, list[PlanApproval]] = {}
    for approval in approvals:
        approvals_of.setdefault(approval.plan_version_id, []).append(approval)
    plan_entries = [
        PlanEntry(
            plan=plan,
            versions=[(v, approvals_of.get(v.id, [])) for v in versions if v.plan_id == plan.id],
            reviews=[r for r in reviews if r.plan_id == plan.id],
            translations=[t for t in translations if t.plan_id == plan.id],
        )
        for plan in plans
    ]

    transfers = await rows(
        select(ClientTransfer).where(ClientTransfer.client_id == me).order_by(ClientTransfer.transferred_on)
    )
    appointments = [
        AppointmentEntry(r[0], r[1])
        for r in (
            await db.execute(
                select(Appointment, AppointmentClient)
                .join(AppointmentClient, AppointmentClient.appointment_id == Appointment.id)
                .where(AppointmentClient.client_id == me)
                .order_by(Appointment.starts_at.desc())
            )
        ).all()
    ]
    threads = await rows(select(Thread).where(Thread.client_id == me).order_by(Thread.last_message_at.desc()))
    messages = await rows(
        select(Message)
        .join(Thread, Thread.id == Message.thread_id)
        .where(Thread.client_id == me)
        .options(selectinload(Message.translations))
        .order_by(Message.created_at, Message.id)
    )
    thread_entries = [ThreadEntry(t, [m for m in messages if m.thread_id == t.id]) for t in threads]
    tasks = await rows(select(Task).where(Task.client_id == me).order_by(Task.created_at))
    interpretations = await rows(
        select(InterpretationEvent)
        .where(InterpretationEvent.client_id == me)
        .order_by(InterpretationEvent.occurred_on)
    )
    overviews = await rows(
        select(FamilyOverview)
        .join(FamilyOverviewMember, FamilyOverviewMember.overview_id == FamilyOverview.id)
        .where(FamilyOverviewMember.client_id == me)
        .order_by(FamilyOverview.created_at)
    )
    grants = [
        GrantEntry(r[0], r[1])
        for r in (
            await db.execute(
                select(ClientAccessGrant, Staff.organisation_id)
                .join(Staff, Staff.id == ClientAccessGrant.staff_id)
                .where(ClientAccessGrant.client_id == me)
                .order_by(ClientAccessGrant.created_at)
            )
        ).all()
    ]
    preferences = await db.scalar(select(ContactPreference).where(ContactPreference.client_id == me))
    subscriptions = await rows(
        select(PushSubscription).where(PushSubscription.client_id == me).order_by(PushSubscription.created_at)
    )
    notifications = await rows(
        select(OutboxMessage).where(OutboxMessage.client_id == me).order_by(OutboxMessage.created_at.desc())
    )
    passkeys = await rows(
        select(ClientPasskey).where(ClientPasskey.client_id == me).order_by(ClientPasskey.created_at)
    )
    sessions = await rows(
        select(ClientSession).where(ClientSession.client_id == me).order_by(ClientSession.created_at)
    )
    invitations = await rows(
        select(ClientInvitation).where(ClientInvitation.client_id == me).order_by(ClientInvitation.created_at)
    )
    feedback = await rows(
        select(Feedback).where(Feedback.client_id == me).order_by(Feedback.created_at.desc())
    )

    data = MyData(
        client=client,
        generated_at=utcnow(),
        locale=locale,
        languages=languages,
        family=family,
        consents=consents,
        health=health,
        assessments=assessments,
        measures=measures,
        plans=plan_entries,
        transfers=transfers,
        appointments=appointments,
        threads=thread_entries,
        tasks=tasks,
        interpretations=interpretations,
        family_overviews=overviews,
        grants=grants,
        preferences=preferences,
        push_subscriptions=subscriptions,
        notifications=notifications,
        passkeys=passkeys,
        sessions=sessions,
        invitations=invitations,
        feedback=feedback,
    )
    if feedback:  # survey answers (service 10), with the question they answer
        for answer, texts in await db.execute(
            select(FeedbackAnswer, SurveyQuestion.texts)
            .outerjoin(SurveyQuestion, SurveyQuestion.id == FeedbackAnswer.question_id)
            .where(FeedbackAnswer.feedback_id.in_([f.id for f in feedback]))
            .order_by(FeedbackAnswer.id)
        ):
            data.feedback_answers.setdefault(answer.feedback_id, []).append((answer, texts))
    # Programme services named in the plans and in their frozen versions, with their texts.
    service_ids = {
        s.programme_service_id for e in plan_entries for s in e.plan.services if s.programme_service_id
    }
    service_ids |= {
        ref
        for e in plan_entries
        for v, _a in e.versions
        for s in (v.content or {}).get("services", [])
        if (ref := _uuid(s.get("programme_service_id")))
    }
    found = await rows(
        select(ProgrammeService)
        .where(ProgrammeService.id.in_(service_ids))
        .options(selectinload(ProgrammeService.texts))
    )
    data.services = {s.id: s for s in found}
    data.organisations = await _organisation_names(db, _organisation_ids(data))
    return data


def _organisation_ids(data: MyData) -> set[uuid.UUID]:
    ids: set[uuid.UUID | None] = {data.client.organisation_id}
    ids |= {a.organisation_id for a in data.assessments}
    ids |= {m.provider_id for found in data.measures.values() for m in found}
    ids |= {e.plan.organisation_id for e in data.plans}
    ids |= {t.from_organisation_id for t in data.transfers} | {t.to_organisation_id for t in data.transfers}
    ids |= {e.appointment.organisation_id for e in data.appointments}
    ids |= {t.thread.organisation_id for t in data.threads}
    ids |= {t.organisation_id for t in data.tasks}
    ids |= {i.organisation_id for i in data.interpretations}
    ids |= {o.organisation_id for o in data.family_overviews}
    ids |= {g.organisation_id for g in data.grants}
    ids |= {f.organisation_id for f in data.feedback}
    ids |= {s.provider_id for s in data.services.values()}
    return {i for i in ids if i is not None}


async def _organisation_names(db: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(list(ids))))
    return {r[0]: r[1] for r in rows}


# --- the download ---------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A stored value as JSON: ISO 8601 dates, enum values, strings for ids and exact decimals."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):  # time: e.g. the quiet hours of notifications
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, bytes):  # never exported: binary columns are credentials
        raise TypeError("binary values are not exported")
    return value


def _pick(record: object, names: Sequence[str]) -> dict[str, Any]:
    return {name: plain(getattr(record, name)) for name in names}


def as_json(data: MyData) -> dict[str, Any]:
    """The download. Keys are stable (every key is present, null when empty); lists are ordered."""
    client = data.client
    org = data.organisation
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": plain(data.generated_at),
        "personal_details": {
            **_pick(client, CLIENT_FIELDS),
            "organisation": org(client.organisation_id),
            "languages": [{"language": x.language, "level": x.level.value} for x in data.languages],
        },
        "family_links": [
            {
                "relation": link.relation.value,
                "first_names": related.first_names,
                "last_name": related.last_name,
            }
            for link, related in data.family
        ],
        "consents": [
            {
                "purpose": c.purpose.value,
                "given": c.given,
                "decided_on": plain(c.decided_on),
                "recorded_at": plain(c.recorded_at),
                "note": c.note,
            }
            for c in data.consents
        ],
        "health_information": [
            {"text": h.text, "source": h.source, "recorded_at": plain(h.created_at)} for h in data.health
        ],
        "assessments": [
            {
                **_pick(a, ASSESSMENT_FIELDS),
                "organisation": org(a.organisation_id),
                "language_skills": [
                    {"language": s.language, "skill": s.skill.value, "level": s.level.value}
                    for s in a.language_skills
                ],
                "education": [
                    {
                        "level": e.level.value,
                        "field": e.field,
                        "years": plain(e.years),
                        "country": e.country,
                        "completed": e.completed,
                    }
                    for e in a.education
                ],
                "work": [
                    {"occupation": w.occupation, "years": plain(w.years), "country": w.country}
                    for w in a.work
                ],
                "refining_measures": [
                    {**_pick(m, MEASURE_FIELDS), "provider": org(m.provider_id) or m.provider_name}
                    for m in data.measures.get(a.id, [])
                ],
            }
            for a in data.assessments
        ],
        "plans": [_plan_json(data, entry) for entry in data.plans],
        "transfers": [
            {
                "from_organisation": org(t.from_organisation_id),
                "to_organisation": org(t.to_organisation_id),
                "transferred_on": plain(t.transferred_on),
                "reason": t.reason,
            }
            for t in data.transfers
        ],
        "appointments": [
            {
                **_pick(e.appointment, APPOINTMENT_FIELDS),
                "organisation": org(e.appointment.organisation_id),
                "my_response": e.answer.response.value,
                "my_response_at": plain(e.answer.responded_at),
                "my_response_note": e.answer.response_note,
            }
            for e in data.appointments
        ],
        "message_threads": [
            {
                "id": str(t.thread.id),
                "subject": t.thread.subject,
                "organisation": org(t.thread.organisation_id),
                "created_at": plain(t.thread.created_at),
                "last_message_at": plain(t.thread.last_message_at),
                "messages": [
                    {
                        "id": str(m.id),
                        "author": m.author_kind.value,
                        "language": m.language,
                        "body": m.body,
                        "created_at": plain(m.created_at),
                        "translations": [
                            {"language": x.language, "body": x.body, "origin": x.origin.value}
                            for x in m.translations
                        ],
                    }
                    for m in t.messages
                ],
            }
            for t in data.threads
        ],
        "tasks": [
            {
                "title": t.title,
                "note": t.note,
                "due_on": plain(t.due_on),
                "done_at": plain(t.done_at),
                "organisation": org(t.organisation_id),
                "created_at": plain(t.created_at),
            }
            for t in data.tasks
        ],
        "interpretations": [
            {
                "language": i.language,
                "mode": i.mode.value,
                "occurred_on": plain(i.occurred_on),
                "duration_minutes": i.duration_minutes,
                "organisation": org(i.organisation_id),
            }
            for i in data.interpretations
        ],
        "family_overviews": [
            {
                "organisation": org(o.organisation_id),
                "shared_goals": o.shared_goals,
                "family_needs": o.family_needs,
                "created_at": plain(o.created_at),
            }
            for o in data.family_overviews
        ],
        "access_grants": [
            {
                "organisation": org(g.organisation_id),
                "category": g.grant.category.value,
                "reason": g.grant.reason,
                "granted_at": plain(g.grant.created_at),
                "ended_at": plain(g.grant.ended_at),
            }
            for g in data.grants
        ],
        "notification_preferences": (
            {
                "push": data.preferences.push,
                "email": data.preferences.email,
                "sms": data.preferences.sms,
                "quiet_from": plain(data.preferences.quiet_from),
                "quiet_until": plain(data.preferences.quiet_until),
            }
            if data.preferences
            else None
        ),
        "push_subscriptions": [{"created_at": plain(s.created_at)} for s in data.push_subscriptions],
        "notifications": [
            {
                "kind": n.kind.value,
                "channel": n.channel.value,
                "created_at": plain(n.created_at),
                "status": n.status.value,
                "delivered_at": plain(n.delivered_at),
            }
            for n in data.notifications
        ],
        "passkeys": [
            {"name": p.name, "created_at": plain(p.created_at), "last_used_at": plain(p.last_used_at)}
            for p in data.passkeys
        ],
        "signed_in_devices": [
            {
                "signed_in_at": plain(s.created_at),
                "last_seen_at": plain(s.last_seen_at),
                "expires_at": plain(s.expires_at),
            }
            for s in data.sessions
        ],
        "invitations": [
            {
                "created_at": plain(i.created_at),
                "expires_at": plain(i.expires_at),
                "used_at": plain(i.used_at),
                "revoked_at": plain(i.revoked_at),
            }
            for i in data.invitations
        ],
        "feedback": [
            {
                **_pick(f, FEEDBACK_FIELDS),
                "organisation": org(f.organisation_id),
                "created_at": plain(f.created_at),
                "answers": [
                    {
                        "question": quality.question_text(texts, data.locale).text if texts else None,
                        "rating": a.rating,
                        "yes": a.yes,
                        "text": a.text,
                    }
                    for a, texts in data.feedback_answers.get(f.id, [])
                ],
            }
            for f in data.feedback
        ],
    }


def _plan_json(data: MyData, entry: PlanEntry) -> dict[str, Any]:
    plan = entry.plan
    return {
        **_pick(plan, PLAN_FIELDS),
        "organisation": data.organisation(plan.organisation_id),
        "goals": [{"kind": g.kind.value, "type": g.goal_type.value, "text": g.text} for g in plan.goals],
        "services": [
            {
                **_pick(s, SERVICE_FIELDS),
                "name": data.service_name(s),
                "service_type": data.service_type(s),
                "final_language_tests": [
                    {
                        "language": t.language,
                        "skill": t.skill.value,
                        "level": t.level.value,
                        "tested_on": plain(t.tested_on),
                    }
                    for t in s.final_tests
                ],
            }
            for s in plan.services
        ],
        "pauses": [
            {"starts_on": plain(p.starts_on), "ends_on": plain(p.ends_on), "reason": p.reason.value}
            for p in plan.pauses
        ],
        "reviews": [_pick(r, REVIEW_FIELDS) for r in entry.reviews],
        "versions": [
            {
                "number": version.number,
                "presented_at": plain(version.created_at),
                "content_hash": version.content_hash,
                "content": plain(version.content),
                "approvals": [
                    {"method": a.method.value, "approved_at": plain(a.approved_at), "witness": a.witness}
                    for a in approvals
                ],
            }
            for version, approvals in entry.versions
        ],
        "translations": [
            {
                "source_key": t.source_key,
                "language": t.language,
                "text": t.text,
                "origin": t.origin.value,
                "translated_at": plain(t.translated_at),
                "checked_at": plain(t.checked_at),
            }
            for t in entry.translations
        ],
    }


def download_name(day: date) -> str:
    """No personal data in the file name: it ends up in download folders and shared screens."""
    return f"kotopolku-my-data-{day.isoformat()}.json"


# --- who has viewed my data -----------------------------------------------------------------------

# What the staff did, in the client's words.
ACTIONS: dict[str, str] = {
    "view": N_("Looked at"),
    "search": N_("Found in a search"),
    "create": N_("Added"),
    "update": N_("Changed"),
    "delete": N_("Removed"),
    "export": N_("Printed or saved a copy"),
    "passkey_added": N_("Added a passkey"),
    "passkey_removed": N_("Removed passkeys"),
}
# Which information, in the client's words.
OBJECTS: dict[str, str] = {
    "client": N_("Your basic information"),
    "consent": N_("Your consents"),
    "family_link": N_("Your family"),
    "health_information": N_("Your health information"),
    "access_history": N_("Who has viewed your information"),
    "assessment": N_("Your assessment"),
    "refining_measure": N_("Your assessment"),
    "integration_plan": N_("Your integration plan"),
    "plan_version": N_("Your integration plan"),
    "plan_approval": N_("Your integration plan"),
    "plan_service": N_("A service in your plan"),
    "plan_review": N_("A review of your plan"),
    "plan_pause": N_("A pause in your plan"),
    "plan_text_translation": N_("Your integration plan"),
    "client_transfer": N_("Your move to another office"),
    "family_overview": N_("Your family's plan"),
    "appointment": N_("Your appointments"),
    "calendar": N_("Your appointments"),
    "interpretation_event": N_("Interpreting for you"),
    "task": N_("Work on your matters"),
    "tasks": N_("Work on your matters"),
    "message_thread": N_("Your messages"),
    "message": N_("Your messages"),
    "message_translation": N_("Your messages"),
    "translation_request": N_("Your messages"),
    "outbox_message": N_("Notifications to you"),
    "contact_preference": N_("How we contact you"),
    "client_invitation": N_("Your invitation to the app"),
    "invitation": N_("Your invitation to the app"),
    "passkey": N_("Your passkeys"),
    "client_passkey": N_("Your passkeys"),
}


def action_text(action: str) -> str:
    return gettext(ACTIONS[action]) if action in ACTIONS else label(action)


def object_text(object_type: str | None) -> str:
    if not object_type:
        return gettext(OBJECTS["client"])
    return gettext(OBJECTS[object_type]) if object_type in OBJECTS else gettext(N_("Your information"))


@dataclass(frozen=True)
class View:
    at: datetime
    organisation: str
    roles: list[str]  # translated role names
    action: str  # translated
    what: str  # translated


@dataclass(frozen=True)
class ViewsPage:
    rows: list[View]
    page: int
    has_next: bool


async def views(db: AsyncSession, client: Client, page: int) -> ViewsPage:
    """Staff events about this client, newest first; the client's own events are not listed.

    Organisation and role only — never the staff member's name. Uses ix_audit_event_client_id_at."""
    page = max(1, page)
    rows = (
        await db.execute(
            select(AuditEvent, Organisation.name)
            .outerjoin(Organisation, Organisation.id == AuditEvent.actor_organisation_id)
            .where(
                AuditEvent.client_id == client.id,
                # staff, and the county's information system through the API (its organisation shown)
                AuditEvent.actor_kind.in_(("staff", "api_client")),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * VIEWS_PAGE_SIZE)
            .limit(VIEWS_PAGE_SIZE + 1)
        )
    ).all()
    found = [
        View(
            at=event.at,
            organisation=name or "",
            roles=[label(r) for r in event.actor_roles.split(",") if r],
            action=action_text(event.action),
            what=object_text(event.object_type),
        )
        for event, name in rows[:VIEWS_PAGE_SIZE]
    ]
    return ViewsPage(rows=found, page=page, has_next=len(rows) > VIEWS_PAGE_SIZE)
