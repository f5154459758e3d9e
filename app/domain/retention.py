"""Archiving and retention (service 17, §77): when a client relationship ends, its data is kept for four
years (rules.deletion_due), read-only, and then deleted by the daily job — unless a pending matter holds
it (a retention hold, placed and released by the responsible organisation).

The deletion keeps only an `AnonymisedClient` row for statistics (organisation, segment, months, end
reason, age group, mother tongue, whether there was an assessment and a plan: nothing that identifies the
person). Every deletion is audit-logged as the system's DELETE of the client's id — the id is a random
UUID; no name, no values. The job works in batches of BATCH_SIZE clients per transaction, so a large
backlog never holds one huge transaction.

What happens to rows that refer to a deleted client (every ForeignKey to client.id, and the records that
only make sense with it):
- deleted with the client by ON DELETE CASCADE: languages, family links (both ways), consents, health
  information, access grants, assessments (and their skills, education, work, refining measures), plans
  (goals, services, final tests, pauses, versions, approvals, reviews, plan-text translations), transfers,
  family-overview memberships, appointment participations, tasks, interpretation events, message threads
  (messages, their translations and translation requests), outbox notifications (and their attempts),
  contact preferences, push subscriptions, the app's invitations, passkeys, sessions and challenges,
  county cooperations and county notes, retention holds, outreach items (and their contact attempts),
  benefits, accepted authority referrals, guidance plans and tasks; arrival persons keep their row
  without the link (ON DELETE SET NULL) until their arrival record is deleted;
- made anonymous here: feedback given with the client's name keeps its rating, subject, survey answers
  and day, without the person, the appointment, the comment or free-text answers (quality figures);
  guidance visits keep their topics, channel, language and duration, without the person, the consent or
  the note (visit statistics);
- deleted here explicitly: appointments whose every participant is deleted (their title, what to bring
  and cancellation reason are about the client), family overviews whose every member is deleted;
- kept without the link (client_id set to NULL here, as ON DELETE SET NULL would): costs and claim lines
  (the organisation's accounting records and KEHA claims), contracts (e.g. a housing lease; the
  organisation's records — their attachment files stay on disk with the contract);
- people who never became clients (intake records without a client link) follow the same four years,
  counted from when their matter closed: outreach items from their last change, decided referrals from
  the decision, declined or cancelled arrivals from their last change, and arrivals whose persons'
  client records are all deleted from the arrival (`delete_closed_intake`);
- kept as they are: the audit log (ids and field names only), group messages (their recipient criteria
  may list client ids: random UUIDs that no longer name anyone).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from app.db.appointment import Appointment, AppointmentClient
from app.db.arrivals import Arrival, ArrivalPerson, ArrivalStatus
from app.db.assessment import Assessment, AssessmentStatus
from app.db.base import utcnow
from app.db.client import Client, ClientStatus
from app.db.client_app import Feedback
from app.db.contracts import Contract
from app.db.costs import ClaimLine, Cost
from app.db.guidance import GuidanceVisit
from app.db.organisation import Staff
from app.db.outreach import AuthorityReferral, OutreachItem, ReferralStatus
from app.db.plan import FamilyOverview, FamilyOverviewMember, IntegrationPlan, PlanStatus
from app.db.quality import FeedbackAnswer
from app.db.retention import AnonymisedClient, JobRun, RetentionHold
from app.domain import audit, clients, feedback, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, is_responsible, may_hold
from app.i18n import _

JOB_NAME = "retention"
BATCH_SIZE = 500
DUE_HORIZON_DAYS = 90  # the manager's page lists deletions due within this many days
QUEUE_LIMIT = 200  # rows shown per list on that page (the count says how many there are)
HISTORY_RUNS = 30
MAX_REASON = 400

# Age at the end of the relationship, for statistics (compensation ages 7 and 18; §18 and §31: under 25).
AGE_GROUPS: tuple[tuple[int, int | None], ...] = (  # the groups of the dashboards (reports.AGE_GROUPS)
    (0, 6),
    (7, 17),
    (18, 29),
    (30, 44),
    (45, 64),
    (65, None),
)


class StaleEdit(Exception):
    """Someone changed the record after the form was opened."""


class NotAllowed(Exception):
    """The action does not fit the record's state; `message` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- pure helpers ---------------------------------------------------------------------------------


def age_group(date_of_birth: date | None, on: date | None) -> str | None:
    """The age group ("18-24", "65+") of a person born on `date_of_birth`, on the day `on`."""
    if date_of_birth is None or on is None:
        return None
    age = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    for low, high in AGE_GROUPS:
        if age >= low and (high is None or age <= high):
            return f"{low}+" if high is None else f"{low}-{high}"
    return None  # born after `on`: a data error, left out of the statistics


def latest_deletable_end(on: date) -> date:
    """The last end date whose deletion date (rules.deletion_due, §77) is on or before `on`: a client
    whose relationship ended on or before it is due. Asks the rule itself, so there is one rule."""
    day = on - timedelta(days=round(365.25 * rules.RETENTION_YEARS))
    while rules.deletion_due(day) > on:
        day -= timedelta(days=1)
    while rules.deletion_due(day + timedelta(days=1)) <= on:
        day += timedelta(days=1)
    return day


def month_of(day: date | None) -> date | None:
    return day.replace(day=1) if day else None


def active_hold() -> ColumnElement[bool]:
    """A correlated EXISTS: the client (Client.id) has a hold that is not released."""
    return exists(
        select(RetentionHold.id).where(
            RetentionHold.client_id == Client.id, RetentionHold.released_at.is_(None)
        )
    )


def _due(on: date) -> ColumnElement[bool]:
    return (Client.status == ClientStatus.ENDED) & (Client.ended_on <= latest_deletable_end(on))


# --- the client page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldRow:
    hold: RetentionHold
    placed_by: str
    released_by: str | None


@dataclass(frozen=True)
class Section:
    """What the client page shows: the deletion date, holds, and what the actor may do."""

    client: Client
    today: date
    deletion_due: date | None  # None while the relationship lasts
    holds: list[HoldRow]  # active first, then released, newest first
    may_hold: bool
    may_reopen: bool
    may_export: bool  # the subject-access export (JSON and the printable view)

    @property
    def ended(self) -> bool:
        return self.client.status == ClientStatus.ENDED

    @property
    def active_holds(self) -> list[HoldRow]:
        return [h for h in self.holds if h.hold.released_at is None]

    @property
    def released_holds(self) -> list[HoldRow]:
        return [h for h in self.holds if h.hold.released_at is not None]

    @property
    def overdue(self) -> bool:
        """Past the deletion date, not held: the next run of the daily job deletes the data."""
        return self.deletion_due is not None and self.deletion_due <= self.today and not self.active_holds


async def holds_of(db: AsyncSession, client: Client) -> list[HoldRow]:
    placer = aliased(Staff)
    releaser = aliased(Staff)
    rows = (
        await db.execute(
            select(RetentionHold, placer.full_name, releaser.full_name)
            .join(placer, placer.id == RetentionHold.placed_by_id)
            .outerjoin(releaser, releaser.id == RetentionHold.released_by_id)
            .where(RetentionHold.client_id == client.id)
            .order_by(RetentionHold.released_at.is_not(None), RetentionHold.placed_at.desc())
        )
    ).all()
    return [HoldRow(hold, placed, released) for hold, placed, released in rows]


def may_reopen(actor: Actor, client: Client, on: date, held: bool) -> bool:
    """An officer of the responsible organisation reopens an ended relationship (the person came back)
    while the data is still lawfully kept: before the deletion date, or while a hold keeps it."""
    if not (is_responsible(actor, client) and client.status == ClientStatus.ENDED and client.ended_on):
        return False
    return rules.deletion_due(client.ended_on) > on or held


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> Section | None:
    """What the client page shows of this area (None: nothing) — only to the responsible organisation."""
    if not (actor.sees_own_organisation and client.organisation_id == actor.organisation_id):
        return None
    on = today()
    holds = await holds_of(db, client)
    held = any(h.hold.released_at is None for h in holds)
    return Section(
        client=client,
        today=on,
        deletion_due=(
            rules.deletion_due(client.ended_on)
            if client.status == ClientStatus.ENDED and client.ended_on
            else None
        ),
        holds=holds,
        may_hold=may_hold(actor, client),
        may_reopen=may_reopen(actor, client, on, held),
        may_export=is_responsible(actor, client),
    )


# --- holds and reopening --------------------------------------------------------------------------


def read_reason(data: dict[str, Any], errors: FormErrors) -> str | None:
    reason = str(data.get("hold_reason") or "").strip()
    if not reason:
        errors["hold_reason"] = _(
            "Write what pending matter needs the data (for example an appeal or a claim)."
        )
        return None
    if len(reason) > MAX_REASON:
        errors["hold_reason"] = _("Write at most %(count)s characters.") % {"count": MAX_REASON}
        return None
    return reason


async def place_hold(db: AsyncSession, actor: Actor, client: Client, reason: str) -> RetentionHold:
    hold = RetentionHold(client_id=client.id, reason=reason, placed_by_id=actor.staff_id, placed_at=utcnow())
    db.add(hold)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="retention_hold",
        object_id=hold.id,
        fields=["reason"],
    )
    return hold


async def load_hold(db: AsyncSession, client: Client, hold_id: uuid.UUID) -> RetentionHold | None:
    """The client's hold (another client's hold id: None, so 404)."""
    return await db.scalar(
        select(RetentionHold).where(RetentionHold.id == hold_id, RetentionHold.client_id == client.id)
    )


async def release_hold(
    db: AsyncSession, actor: Actor, client: Client, hold: RetentionHold, seen_version: int
) -> None:
    if hold.released_at is not None:
        raise NotAllowed(_("This hold has already been released."))
    if seen_version != hold.version:
        raise StaleEdit
    hold.released_at = utcnow()
    hold.released_by_id = actor.staff_id
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="retention_hold",
        object_id=hold.id,
        fields=["released_at"],
    )


async def reopen(db: AsyncSession, actor: Actor, client: Client, seen_version: int, on: date) -> None:
    """The person came back: the relationship continues, the end is cleared and the retention clock
    stops (it starts again when the relationship ends again). The audit log keeps that it happened."""
    held = await db.scalar(select(active_hold()).select_from(Client).where(Client.id == client.id))
    if client.status != ClientStatus.ENDED:
        raise NotAllowed(_("The client relationship has not ended."))
    if not may_reopen(actor, client, on, bool(held)):
        raise NotAllowed(
            _("The retention period has passed: the data is deleted. Register the person as a new client.")
        )
    try:
        await clients.set_relationship(db, actor, client, seen_version, None)
    except clients.StaleEdit as error:
        raise StaleEdit from error


# --- the manager's page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    client: Client
    deletion_due: date | None
    holds: list[RetentionHold] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    at: datetime
    deleted: int


@dataclass(frozen=True)
class Queue:
    today: date
    horizon: date
    due: list[QueueRow]  # not held, deletion date within the horizon (or passed), soonest first
    due_count: int
    held: list[QueueRow]  # every client with a hold in force
    held_count: int
    last_run: JobRun | None
    history: list[Run]  # this organisation's deletions per run of the job, newest first


def _deletion(client: Client) -> date | None:
    if client.status == ClientStatus.ENDED and client.ended_on:
        return rules.deletion_due(client.ended_on)
    return None


async def queue(db: AsyncSession, actor: Actor, on: date) -> Queue:
    """The organisation's register of coming deletions and of held clients (names shown: it is theirs)."""
    horizon = on + timedelta(days=DUE_HORIZON_DAYS)
    own = Client.organisation_id == actor.organisation_id
    due_where = (own, _due(horizon), ~active_hold())
    due = list(
        (
            await db.scalars(
                select(Client)
                .where(*due_where)
                .order_by(Client.ended_on, Client.last_name)
                .limit(QUEUE_LIMIT)
            )
        ).all()
    )
    due_count = await db.scalar(select(func.count()).select_from(Client).where(*due_where)) or 0
    held = list(
        (
            await db.scalars(
                select(Client)
                .where(own, active_hold())
                .order_by(Client.ended_on.is_(None), Client.ended_on, Client.last_name)
                .limit(QUEUE_LIMIT)
            )
        ).all()
    )
    held_count = await db.scalar(select(func.count()).select_from(Client).where(own, active_hold())) or 0
    reasons: dict[uuid.UUID, list[RetentionHold]] = {}
    if held:
        for hold in await db.scalars(
            select(RetentionHold)
            .where(RetentionHold.client_id.in_([c.id for c in held]), RetentionHold.released_at.is_(None))
            .order_by(RetentionHold.placed_at)
        ):
            reasons.setdefault(hold.client_id, []).append(hold)
    runs = (
        await db.execute(
            select(AnonymisedClient.anonymised_at, func.count())
            .where(AnonymisedClient.organisation_id == actor.organisation_id)
            .group_by(AnonymisedClient.anonymised_at)
            .order_by(AnonymisedClient.anonymised_at.desc())
            .limit(HISTORY_RUNS)
        )
    ).all()
    return Queue(
        today=on,
        horizon=horizon,
        due=[QueueRow(c, _deletion(c)) for c in due],
        due_count=due_count,
        held=[QueueRow(c, _deletion(c), reasons.get(c.id, [])) for c in held],
        held_count=held_count,
        last_run=await db.get(JobRun, JOB_NAME),
        history=[Run(at, count) for at, count in runs],
    )


# --- the daily job --------------------------------------------------------------------------------


@dataclass
class Result:
    """Counts only: this goes to job_run.result and to logs."""

    deleted: int = 0
    due: int = 0  # dry run: would be deleted now
    held: int = 0  # past the deletion date, kept by a hold
    batches: int = 0
    dry_run: bool = False

    intake_deleted: int = 0  # outreach items, referrals and arrivals of people who never became clients

    def __str__(self) -> str:
        if self.dry_run:
            return f"due {self.due}, held {self.held} (dry run: nothing deleted)"
        intake = f", intake records deleted {self.intake_deleted}" if self.intake_deleted else ""
        return f"deleted {self.deleted}, held {self.held}, batches {self.batches}{intake}"


def _batch(on: date, size: int) -> Any:
    return (
        select(
            Client.id,
            Client.organisation_id,
            Client.segment,
            Client.known_on,
            Client.ended_on,
            Client.end_reason,
            Client.date_of_birth,
            Client.mother_tongue,
        )
        .where(_due(on), ~active_hold())
        .order_by(Client.ended_on, Client.id)
        .limit(size)
        # Two runs at once (the daily job and the command) take disjoint batches on PostgreSQL; SQLite
        # has one writer at a time (BEGIN IMMEDIATE).
        .with_for_update(skip_locked=True)
    )


async def _count(db: AsyncSession, on: date, held: bool) -> int:
    hold = active_hold() if held else ~active_hold()
    return await db.scalar(select(func.count()).select_from(Client).where(_due(on), hold)) or 0


async def delete_batch(db: AsyncSession, rows: Sequence[Any], now: datetime) -> int:
    """Anonymised statistics first, then the clients and what hangs on them (see the module docstring),
    each deletion audit-logged without personal data. The caller commits."""
    ids = [r.id for r in rows]
    if not ids:
        return 0
    assessed = set(
        await db.scalars(
            select(Assessment.client_id)
            .where(
                Assessment.client_id.in_(ids),
                Assessment.status.in_((AssessmentStatus.COMPLETED, AssessmentStatus.SUPERSEDED)),
            )
            .distinct()
        )
    )
    planned = set(
        await db.scalars(
            select(IntegrationPlan.client_id)
            .where(IntegrationPlan.client_id.in_(ids), IntegrationPlan.status != PlanStatus.DRAFT)
            .distinct()
        )
    )
    await db.execute(
        insert(AnonymisedClient),
        [
            {
                "organisation_id": r.organisation_id,
                "segment": r.segment,
                "known_month": month_of(r.known_on),
                "ended_month": month_of(r.ended_on),
                "end_reason": r.end_reason.value if r.end_reason else None,
                "age_group": age_group(r.date_of_birth, r.ended_on),
                "mother_tongue": r.mother_tongue,
                "had_assessment": r.id in assessed,
                "had_plan": r.id in planned,
                "anonymised_at": now,  # one time per run: the page counts a run's deletions by it
            }
            for r in rows
        ],
    )
    # Appointments and family overviews that would be left with nobody: they are about these clients.
    others = aliased(AppointmentClient)
    ours = aliased(AppointmentClient)
    await db.execute(
        delete(Appointment)
        .where(
            exists(select(ours.id).where(ours.appointment_id == Appointment.id, ours.client_id.in_(ids))),
            ~exists(
                select(others.id).where(others.appointment_id == Appointment.id, others.client_id.not_in(ids))
            ),
        )
        .execution_options(synchronize_session=False)
    )
    member = aliased(FamilyOverviewMember)
    other_member = aliased(FamilyOverviewMember)
    await db.execute(
        delete(FamilyOverview)
        .where(
            exists(
                select(member.id).where(member.overview_id == FamilyOverview.id, member.client_id.in_(ids))
            ),
            ~exists(
                select(other_member.id).where(
                    other_member.overview_id == FamilyOverview.id, other_member.client_id.not_in(ids)
                )
            ),
        )
        .execution_options(synchronize_session=False)
    )
    # Guidance visits stay in the statistics as anonymous visits: topics, channel, language, duration.
    await db.execute(
        update(GuidanceVisit)
        .where(GuidanceVisit.client_id.in_(ids))
        .values(client_id=None, consent_id=None, note=None)
        .execution_options(synchronize_session=False)
    )
    # The organisation's own records stay, without the link.
    for model in (Cost, ClaimLine, Contract):
        await db.execute(
            update(model)
            .where(model.client_id.in_(ids))
            .values(client_id=None)
            .execution_options(synchronize_session=False)
        )
    # Feedback stays in the quality figures as anonymous feedback: the rating, the subject and the day,
    # without the person, the appointment or anything they wrote.
    named = (
        await db.execute(select(Feedback.id, Feedback.created_at).where(Feedback.client_id.in_(ids)))
    ).all()
    for feedback_id, created_at in named:
        await db.execute(
            update(Feedback)
            .where(Feedback.id == feedback_id)
            .values(
                client_id=None,
                appointment_id=None,
                plan_service_id=None,
                comment=None,
                created_at=feedback.start_of_day(created_at),
            )
            .execution_options(synchronize_session=False)
        )
    if named:
        await db.execute(
            update(FeedbackAnswer)
            .where(FeedbackAnswer.feedback_id.in_([f for f, _ in named]))
            .values(text=None)
            .execution_options(synchronize_session=False)
        )
    for r in rows:
        await audit.record(
            db,
            Action.DELETE,
            actor_kind="system",
            actor_organisation_id=r.organisation_id,
            client_id=r.id,
            object_type="client",
            object_id=r.id,
        )
    await db.execute(delete(Client).where(Client.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)


async def run(
    sessions: async_sessionmaker[AsyncSession],
    on: date,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Result:
    """Delete every client whose §77 deletion date is on or before `on` and who has no hold in force.
    One transaction per batch; a failure leaves the batches before it done (the next run continues)."""
    result = Result(dry_run=dry_run)
    now = now or utcnow()
    if dry_run:
        async with sessions() as db:
            result.due = await _count(db, on, held=False)
            result.held = await _count(db, on, held=True)
        return result
    while True:
        async with sessions() as db, db.begin():
            rows = (await db.execute(_batch(on, batch_size))).all()
            deleted = await delete_batch(db, rows, now)
        if not deleted:
            break
        result.deleted += deleted
        result.batches += 1
        if deleted < batch_size:
            break
    async with sessions() as db, db.begin():
        result.intake_deleted = await delete_closed_intake(db, on)
    async with sessions() as db:
        result.held = await _count(db, on, held=True)
    return result


async def delete_closed_intake(db: AsyncSession, on: date) -> int:
    """Intake records of people who are not clients, four years after their matter closed (§77 applied to
    data that never became a client relationship): unlinked outreach items (with their contact attempts and
    benefits), decided referrals without a client, declined or cancelled arrivals, and arrivals whose every
    person's client data is gone. Undecided referrals and open arrivals are pending matters and stay. Each
    deletion is audit-logged as the system's DELETE of the record's id. The caller commits."""
    cutoff = datetime.combine(rules.add_years(on, -rules.RETENTION_YEARS), time.min, tzinfo=UTC)
    linked_person = exists(
        select(ArrivalPerson.id).where(
            ArrivalPerson.arrival_id == Arrival.id, ArrivalPerson.client_id.is_not(None)
        )
    )
    targets: list[tuple[Any, str, ColumnElement[bool]]] = [
        (
            OutreachItem,
            "outreach_item",
            and_(OutreachItem.client_id.is_(None), OutreachItem.updated_at < cutoff),
        ),
        (
            AuthorityReferral,
            "authority_referral",
            and_(
                AuthorityReferral.client_id.is_(None),
                AuthorityReferral.status != ReferralStatus.RECEIVED,
                AuthorityReferral.decided_at < cutoff,
            ),
        ),
        (
            Arrival,
            "arrival",
            and_(
                Arrival.updated_at < cutoff,
                or_(
                    Arrival.status.in_((ArrivalStatus.DECLINED, ArrivalStatus.CANCELLED)),
                    and_(Arrival.status == ArrivalStatus.ARRIVED, ~linked_person),
                ),
            ),
        ),
    ]
    deleted = 0
    for model, object_type, due in targets:
        rows = (await db.execute(select(model.id, model.organisation_id).where(due))).all()
        for row in rows:
            await audit.record(
                db,
                Action.DELETE,
                actor_kind="system",
                actor_organisation_id=row.organisation_id,
                object_type=object_type,
                object_id=row.id,
            )
        if rows:
            await db.execute(
                delete(model)
                .where(model.id.in_([r.id for r in rows]))
                .execution_options(synchronize_session=False)
            )
        deleted += len(rows)
    return deleted
