"""The client's own plan and home page in the migrant app (service 19).

Which plan the client sees: the plan in force; without one, a plan whose presented version waits for the
client's approval; without one, the latest ended or interrupted plan. A draft that has not been presented
(or has changed since it was) is the officer's work in progress: the client is only told that a plan is
being prepared. A presented version waits for approval when it is the plan's latest version, nobody has
approved it and the plan's content is still exactly that version's (otherwise the officer presents again).

Texts are shown in the client's language: programme services through the catalogue
(`programme.display_text`), officer-written text through its `PlanTextTranslation` (see
`plan_translations`) — the first of the interface language and the client's other reading languages that
has one; otherwise the Finnish original, marked "not yet translated". Every text carries the language it
is in, so the page's lang attributes and the listen buttons are right.

Everything is read in a fixed number of queries whatever the size of the plan; the callers audit the view.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.db.appointment import Appointment, AppointmentClient, AppointmentStatus, ClientResponse
from app.db.base import TextOrigin, utcnow
from app.db.client import Client, ClientLanguage
from app.db.client_app import PlanTextTranslation
from app.db.messaging import AuthorKind, Message, Thread
from app.db.plan import (
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanPause,
    PlanService,
    PlanServiceStatus,
    PlanStatus,
    PlanVersion,
)
from app.db.programme import ProgrammeService
from app.domain import plan_translations, programme
from app.domain.messaging import primary_language, reading_languages
from app.domain.plan_translations import SOURCE_LANGUAGE, SourceText
from app.domain.plans import OPEN_STATUSES, content_of
from app.domain.translations import content_hash

# Services the client is taking part in now, and those still ahead.
CURRENT = (PlanServiceStatus.STARTED,)
AHEAD = (PlanServiceStatus.PLANNED, PlanServiceStatus.REFERRED)
NEXT_ON_HOME = 3


@dataclass(frozen=True)
class Shown:
    """A text as the client reads it: `language` is the language it is in (the element's lang)."""

    text: str
    language: str
    original: str  # the text as the officer wrote it (the same as `text` when not translated)
    translated: bool = False
    not_translated: bool = False  # no translation into the client's languages: the original is shown
    machine: bool = False  # machine output nobody has checked yet
    stale: bool = False  # the original has changed since it was translated


@dataclass(frozen=True)
class ServiceView:
    service: PlanService
    name: str
    description: str
    language: str  # of name and description
    translated: bool = False
    not_translated: bool = False
    machine: bool = False
    stale: bool = False
    original_name: str = ""

    @property
    def id(self) -> uuid.UUID:
        return self.service.id


@dataclass(frozen=True)
class GoalView:
    goal: PlanGoal
    text: Shown


@dataclass
class PlanView:
    plan: IntegrationPlan
    goals: list[GoalView]
    services: list[ServiceView]
    texts: dict[str, Shown]  # the plan's officer-written fields (PLAN_FIELDS) that have a text
    pauses: list[PlanPause]
    awaiting_approval: bool  # this plan's presented version waits for the client
    approved: bool  # some version of this plan has been approved

    @property
    def current_services(self) -> list[ServiceView]:
        return [s for s in self.services if s.service.status in CURRENT]

    @property
    def next_services(self) -> list[ServiceView]:
        ahead = [s for s in self.services if s.service.status in AHEAD]
        return sorted(
            ahead, key=lambda s: (s.service.planned_start is None, s.service.planned_start or date.min)
        )

    @property
    def any_translation_issue(self) -> bool:
        shown = [g.text for g in self.goals] + list(self.texts.values())
        return any(s.not_translated for s in shown) or any(s.not_translated for s in self.services)


@dataclass(frozen=True)
class VersionRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    number: int
    content_hash: str
    approved: bool


@dataclass
class MyPlan:
    view: PlanView | None  # the plan the client sees (None: no plan to show yet)
    awaiting: VersionRow | None = None  # a presented version waiting for the client's approval
    awaiting_plan_id: uuid.UUID | None = None
    preparing: bool = False  # a plan is being drafted (not yet presented to the client)
    plans: int = 0  # how many plans the client has (drafts included)


# --- loading ---------------------------------------------------------------------------------------


async def _plans(db: AsyncSession, client: Client) -> list[IntegrationPlan]:
    return list(
        (
            await db.scalars(
                select(IntegrationPlan)
                .where(IntegrationPlan.client_id == client.id)
                .options(
                    selectinload(IntegrationPlan.goals),
                    selectinload(IntegrationPlan.services),
                    selectinload(IntegrationPlan.pauses),
                )
                .order_by(IntegrationPlan.number.desc())
            )
        ).all()
    )


async def _versions(db: AsyncSession, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[VersionRow]]:
    """plan id → its versions, newest first, with whether each has been approved (one query)."""
    if not plan_ids:
        return {}
    approved = exists().where(PlanApproval.plan_version_id == PlanVersion.id)
    rows = await db.execute(
        select(
            PlanVersion.id,
            PlanVersion.plan_id,
            PlanVersion.number,
            PlanVersion.content_hash,
            approved.label("approved"),
        )
        .where(PlanVersion.plan_id.in_(plan_ids))
        .order_by(PlanVersion.plan_id, PlanVersion.number.desc())
    )
    found: dict[uuid.UUID, list[VersionRow]] = {}
    for r in rows:
        found.setdefault(r.plan_id, []).append(
            VersionRow(r.id, r.plan_id, r.number, r.content_hash, bool(r.approved))
        )
    return found


async def _programme_services(
    db: AsyncSession, services: Sequence[PlanService]
) -> dict[uuid.UUID, ProgrammeService]:
    ids = {s.programme_service_id for s in services if s.programme_service_id}
    if not ids:
        return {}
    found = await db.scalars(
        select(ProgrammeService)
        .options(selectinload(ProgrammeService.texts))
        .where(ProgrammeService.id.in_(ids))
    )
    return {s.id: s for s in found}


def reader_languages(locale: str, client: Client, languages: Sequence[ClientLanguage] = ()) -> list[str]:
    """The languages the client reads officer text in, most wanted first: the interface language, then
    the client's reading languages (see messaging.reading_languages)."""
    codes = [primary_language(locale), *reading_languages(client, languages)]
    seen: list[str] = []
    for code in codes:
        primary = primary_language(code)
        if primary and primary not in seen:
            seen.append(primary)
    return seen


def shown_text(
    source: SourceText,
    found: Mapping[tuple[str, str], PlanTextTranslation],
    wanted: Sequence[str],
) -> Shown:
    """The text in the first wanted language that has it: the original for Finnish, else a translation;
    none at all → the original, marked not translated."""
    for language in wanted:
        if language == SOURCE_LANGUAGE:
            return Shown(text=source.text, language=SOURCE_LANGUAGE, original=source.text)
        row = found.get((source.key, language))
        if row is not None:
            return Shown(
                text=row.text,
                language=row.language,
                original=source.text,
                translated=True,
                machine=plan_translations.needs_check(row),
                stale=plan_translations.translation_is_stale(source, row),
            )
    return Shown(text=source.text, language=SOURCE_LANGUAGE, original=source.text, not_translated=True)


def _service_view(
    service: PlanService,
    catalogue: Mapping[uuid.UUID, ProgrammeService],
    sources: Mapping[str, SourceText],
    found: Mapping[tuple[str, str], PlanTextTranslation],
    wanted: Sequence[str],
    locale: str,
) -> ServiceView:
    programme_service = catalogue.get(service.programme_service_id) if service.programme_service_id else None
    if programme_service is not None:
        text = programme.display_text(programme_service, locale)
        wanted_primary = primary_language(locale) or locale
        return ServiceView(
            service=service,
            name=text.name,
            description=text.description,
            language=text.language,
            translated=text.translated,
            not_translated=text.language != wanted_primary,
            machine=text.translated and text.origin == TextOrigin.MACHINE,
            stale=text.stale,
        )
    source = sources.get(plan_translations.service_key(service.id))
    if source is None:  # no name written
        return ServiceView(service=service, name="", description="", language=SOURCE_LANGUAGE)
    shown = shown_text(source, found, wanted)
    return ServiceView(
        service=service,
        name=shown.text,
        description="",
        language=shown.language,
        translated=shown.translated,
        not_translated=shown.not_translated,
        machine=shown.machine,
        stale=shown.stale,
        original_name=shown.original,
    )


async def _view(
    db: AsyncSession,
    client: Client,
    plan: IntegrationPlan,
    locale: str,
    awaiting: bool,
    approved: bool,
) -> PlanView:
    languages = await plan_translations.client_languages(db, client)
    wanted = reader_languages(locale, client, languages)
    rows = await plan_translations.translations_of(
        db, plan.id, [code for code in wanted if code != SOURCE_LANGUAGE]
    )
    sources = plan_translations.source_texts(plan)
    found = plan_translations.index(sources, rows)
    by_key = {s.key: s for s in sources}
    catalogue = await _programme_services(db, plan.services)
    goals = [
        GoalView(goal=g, text=shown_text(by_key[plan_translations.goal_key(g.id)], found, wanted))
        for g in plan.goals
        if plan_translations.goal_key(g.id) in by_key
    ]
    texts = {
        name: shown_text(by_key[name], found, wanted)
        for name in plan_translations.PLAN_FIELDS
        if name in by_key
    }
    services = [_service_view(s, catalogue, by_key, found, wanted, locale) for s in plan.services]
    return PlanView(
        plan=plan,
        goals=goals,
        services=services,
        texts=texts,
        pauses=list(plan.pauses),
        awaiting_approval=awaiting,
        approved=approved,
    )


async def load(db: AsyncSession, client: Client, locale: str) -> MyPlan:
    """The client's plan as the app shows it (see the module docstring), with texts in `locale`."""
    plans = await _plans(db, client)
    if not plans:
        return MyPlan(view=None)
    versions = await _versions(db, [p.id for p in plans])
    awaiting_plan: IntegrationPlan | None = None
    awaiting_row: VersionRow | None = None
    for plan in plans:
        latest = next(iter(versions.get(plan.id, [])), None)
        if (
            plan.status in OPEN_STATUSES
            and latest is not None
            and not latest.approved
            and latest.content_hash == content_hash(content_of(plan))
        ):
            awaiting_plan, awaiting_row = plan, latest
            break
    shown = (
        next((p for p in plans if p.status == PlanStatus.IN_FORCE), None)
        or awaiting_plan
        or next((p for p in plans if p.status != PlanStatus.DRAFT), None)
    )
    preparing = any(p.status == PlanStatus.DRAFT and p is not awaiting_plan for p in plans)
    view = (
        await _view(
            db,
            client,
            shown,
            locale,
            awaiting=shown is awaiting_plan,
            approved=any(v.approved for v in versions.get(shown.id, [])),
        )
        if shown is not None
        else None
    )
    return MyPlan(
        view=view,
        awaiting=awaiting_row,
        awaiting_plan_id=awaiting_plan.id if awaiting_plan else None,
        preparing=preparing,
        plans=len(plans),
    )


# --- home ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextAppointment:
    appointment: Appointment
    answer: AppointmentClient  # the client's own row

    @property
    def response(self) -> ClientResponse | None:
        """The client's answer to the appointment as it is now (None: no answer, or the officer has
        changed the appointment since)."""
        given = self.answer.responded_at
        if (
            self.answer.response == ClientResponse.NONE
            or given is None
            or given < self.appointment.updated_at
        ):
            return None
        return self.answer.response


@dataclass
class Home:
    appointment: NextAppointment | None
    unread: int
    plan: MyPlan


async def next_appointment(
    db: AsyncSession, client: Client, now: datetime | None = None
) -> NextAppointment | None:
    """The client's next booked appointment that has not ended and that they have not cancelled (a
    cancellation the officer has answered by changing the appointment counts no more)."""
    now = now or utcnow()
    row = (
        await db.execute(
            select(Appointment, AppointmentClient)
            .join(AppointmentClient, AppointmentClient.appointment_id == Appointment.id)
            .where(
                AppointmentClient.client_id == client.id,
                Appointment.organisation_id == client.organisation_id,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.ends_at > now,
                or_(
                    AppointmentClient.response != ClientResponse.CANCELLED,
                    AppointmentClient.responded_at.is_(None),
                    AppointmentClient.responded_at < Appointment.updated_at,
                ),
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .limit(1)
        )
    ).first()
    return NextAppointment(row[0], row[1]) if row else None


async def unread_messages(db: AsyncSession, client: Client) -> int:
    """Messages from the team (or the system) in the client's threads after the client last read them."""
    count = await db.scalar(
        select(func.count(Message.id))
        .join(Thread, Thread.id == Message.thread_id)
        .where(
            Thread.client_id == client.id,
            Message.author_kind != AuthorKind.CLIENT,
            or_(Thread.client_read_at.is_(None), Message.created_at > Thread.client_read_at),
        )
    )
    return int(count or 0)


async def home(db: AsyncSession, client: Client, locale: str) -> Home:
    return Home(
        appointment=await next_appointment(db, client),
        unread=await unread_messages(db, client),
        plan=await load(db, client, locale),
    )
