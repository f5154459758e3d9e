"""Deadline worklists (issue 3): what officers must do next, with due dates and links to the action.

Every kind of item is one set-based query over the actor's own organisation's active clients (indexed
columns, no per-client queries, never all clients into Python); the dates come from app.domain.rules.
An officer sees the clients they are responsible for and those assigned to no one; a team lead sees the
whole organisation with counts per officer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.assessment import Assessment, AssessmentStatus, PlanNeed
from app.db.client import Client, ClientStatus
from app.db.contracts import Contract
from app.db.organisation import Role, Staff, StaffRole
from app.db.plan import ClientTransfer, IntegrationPlan, PlanService, PlanServiceStatus, PlanStatus
from app.domain import compensation, contracts, rules
from app.domain.clients import page_url as client_page_url
from app.domain.policy import Actor, Permission


class Kind(StrEnum):
    """The kinds of worklist items, in the order the statutory path meets them."""

    KNOWN_NOT_ASSESSED = "known_not_assessed"
    PLAN_DUE = "plan_due"
    THREE_YEAR_LIMIT = "three_year_limit"
    SERVICE_TO_REFER = "service_to_refer"
    REVIEW_DUE = "review_due"
    PLAN_ENDING = "plan_ending"
    TRANSFER_REVIEW = "transfer_review"
    CONTRACT_ENDING = "contract_ending"  # not a client's: a contract to renew or let end (service 11)
    COMPENSATION_CLAIM = "compensation_claim"  # a year's compensation not yet claimed (§70)


# The rule behind each kind (None: the law sets no time, the target is the municipality's own).
SECTIONS: dict[Kind, str | None] = {
    Kind.KNOWN_NOT_ASSESSED: "14(2)",
    Kind.PLAN_DUE: "20",
    Kind.THREE_YEAR_LIMIT: "20",
    Kind.SERVICE_TO_REFER: "20",
    Kind.REVIEW_DUE: "22",
    Kind.PLAN_ENDING: "23",
    Kind.TRANSFER_REVIEW: None,
    Kind.CONTRACT_ENDING: None,
    Kind.COMPENSATION_CLAIM: "70",
}

UNASSIGNED = "unassigned"  # the team view's filter value for clients with no responsible officer


@dataclass(frozen=True)
class Item:
    kind: Kind
    client_id: uuid.UUID | None  # None for an item that is no client's (contract_ending)
    client_name: str  # contract_ending: the contract's subject and provider
    officer_id: uuid.UUID | None  # the client's responsible officer (the contract's responsible person)
    due: date
    overdue: bool
    link: str
    in_progress: bool = False  # known_not_assessed: a draft assessment exists
    count: int = 1  # service_to_refer: services in the plan still to refer

    @property
    def section(self) -> str | None:
        return SECTIONS[self.kind]


@dataclass(frozen=True)
class Group:
    kind: Kind
    items: list[Item]

    @property
    def overdue(self) -> int:
        return sum(1 for item in self.items if item.overdue)


def group(items: Iterable[Item]) -> list[Group]:
    """Items grouped by kind (in Kind order, empty kinds left out), each group by due date: the overdue
    ones come first because their dates are the earliest."""
    by_kind: dict[Kind, list[Item]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    return [
        Group(kind, sorted(by_kind[kind], key=lambda i: (i.due, i.client_name, str(i.client_id))))
        for kind in Kind
        if kind in by_kind
    ]


def kinds_shown(items: Iterable[Item]) -> list[str]:
    return sorted({item.kind.value for item in items})


# --- the queries ----------------------------------------------------------------------------------

_CLIENT = (Client.id, Client.last_name, Client.first_names, Client.responsible_officer_id)


def _item(row: Any, kind: Kind, due: date, on: date, link: str, **extra: Any) -> Item:
    return Item(
        kind=kind,
        client_id=row.id,
        client_name=f"{row.last_name}, {row.first_names}",  # as Client.display_name
        officer_id=row.responsible_officer_id,
        due=due,
        overdue=rules.is_overdue(due, on),
        link=link,
        **extra,
    )


async def _known_not_assessed(
    db: AsyncSession, scope: ColumnElement[bool], on: date, settings: rules.RuleSettings
) -> list[Item]:
    """§14(2): no completed (or amended, i.e. superseded) assessment yet."""
    assessed = exists().where(
        Assessment.client_id == Client.id,
        Assessment.status.in_([AssessmentStatus.COMPLETED, AssessmentStatus.SUPERSEDED]),
    )
    draft = (
        select(Assessment.id)
        .where(Assessment.client_id == Client.id, Assessment.status == AssessmentStatus.DRAFT)
        .order_by(Assessment.number.desc())
        .limit(1)
        .correlate(Client)
        .scalar_subquery()
    )
    rows = await db.execute(
        select(*_CLIENT, Client.known_on, draft.label("draft_id")).where(scope, ~assessed)
    )
    return [
        _item(
            row,
            Kind.KNOWN_NOT_ASSESSED,
            rules.assessment_due(row.known_on, settings),
            on,
            f"/officer/assessments/{row.draft_id}"
            if row.draft_id
            else f"/officer/clients/{row.id}#assessments",
            in_progress=row.draft_id is not None,
        )
        for row in rows
    ]


async def _plan_due(db: AsyncSession, scope: ColumnElement[bool], on: date) -> list[Item]:
    """§20: the latest completed assessment says a plan is needed and no plan was drawn up from it."""
    later = aliased(Assessment)
    newer_completed = exists().where(
        later.client_id == Assessment.client_id,
        later.status == AssessmentStatus.COMPLETED,
        later.number > Assessment.number,
    )
    planned = exists().where(IntegrationPlan.assessment_id == Assessment.id)
    # A plan in force (or a draft) already covers an amended assessment: the officer updates that plan.
    open_plan = exists().where(
        IntegrationPlan.client_id == Assessment.client_id,
        IntegrationPlan.status.in_([PlanStatus.DRAFT, PlanStatus.IN_FORCE]),
    )
    rows = await db.execute(
        select(
            *_CLIENT,
            Client.first_permit_date,
            Assessment.planned_plan_date,
            Assessment.assessed_on,
        )
        .join(Assessment, Assessment.client_id == Client.id)
        .where(
            scope,
            Assessment.status == AssessmentStatus.COMPLETED,
            Assessment.plan_need == PlanNeed.NEEDED,
            ~planned,
            ~open_plan,
            ~newer_completed,
        )
    )
    return [
        _item(
            row,
            Kind.PLAN_DUE,
            rules.plan_due(row.planned_plan_date, row.assessed_on, row.first_permit_date),
            on,
            f"/officer/clients/{row.id}#plans",
        )
        for row in rows
    ]


async def _three_year_limit(
    db: AsyncSession, scope: ColumnElement[bool], on: date, settings: rules.RuleSettings
) -> list[Item]:
    """§20: the three-year limit is within the warning period (or passed), no plan was ever in force and
    the assessment did not find that no plan is needed."""
    had_plan = exists().where(
        IntegrationPlan.client_id == Client.id,
        IntegrationPlan.status.in_([PlanStatus.IN_FORCE, PlanStatus.ENDED, PlanStatus.INTERRUPTED]),
    )
    # The completed assessment found no plan is needed (superseded ones no longer count).
    not_needed = exists().where(
        Assessment.client_id == Client.id,
        Assessment.status == AssessmentStatus.COMPLETED,
        Assessment.plan_need == PlanNeed.NOT_NEEDED,
    )
    rows = await db.execute(
        select(*_CLIENT, Client.first_permit_date).where(
            scope,
            Client.first_permit_date.is_not(None),
            Client.first_permit_date <= rules.first_permits_warned_on(on, settings),
            ~had_plan,
            ~not_needed,
        )
    )
    return [
        _item(
            row,
            Kind.THREE_YEAR_LIMIT,
            rules.plan_deadline(row.first_permit_date),
            on,
            f"/officer/clients/{row.id}#plans",
        )
        for row in rows
    ]


async def _services_to_refer(db: AsyncSession, scope: ColumnElement[bool], on: date) -> list[Item]:
    """§20: services of a plan in force still only planned; one item per plan with their number."""
    rows = await db.execute(
        select(*_CLIENT, IntegrationPlan.id.label("plan_id"), IntegrationPlan.starts_on, func.count())
        .join(IntegrationPlan, IntegrationPlan.client_id == Client.id)
        .join(PlanService, PlanService.plan_id == IntegrationPlan.id)
        .where(
            scope,
            IntegrationPlan.status == PlanStatus.IN_FORCE,
            PlanService.status == PlanServiceStatus.PLANNED,
        )
        .group_by(*_CLIENT, IntegrationPlan.id, IntegrationPlan.starts_on)
    )
    return [
        _item(
            row,
            Kind.SERVICE_TO_REFER,
            rules.service_guidance_deadline(row.starts_on),
            on,
            f"/officer/plans/{row.plan_id}#services",
            count=row[-1],
        )
        for row in rows
    ]


async def _reviews_due(db: AsyncSession, scope: ColumnElement[bool], on: date) -> list[Item]:
    """§22: the next review of a plan in force is within the horizon or past. A plan with no next review
    date recorded is due six months from its start."""
    horizon = rules.review_horizon(on)
    rows = await db.execute(
        select(
            *_CLIENT,
            IntegrationPlan.id.label("plan_id"),
            IntegrationPlan.next_review_on,
            IntegrationPlan.starts_on,
        )
        .join(IntegrationPlan, IntegrationPlan.client_id == Client.id)
        .where(
            scope,
            IntegrationPlan.status == PlanStatus.IN_FORCE,
            or_(
                IntegrationPlan.next_review_on <= horizon,
                and_(
                    IntegrationPlan.next_review_on.is_(None),
                    IntegrationPlan.starts_on <= rules.plan_starts_review_due_by(horizon),
                ),
            ),
        )
    )
    return [
        _item(
            row,
            Kind.REVIEW_DUE,
            row.next_review_on or rules.next_review_due(row.starts_on),
            on,
            f"/officer/plans/{row.plan_id}#reviews",
        )
        for row in rows
    ]


async def _plans_ending(db: AsyncSession, scope: ColumnElement[bool], on: date) -> list[Item]:
    """§23: a plan in force ends within the horizon (or its end date passed while it is still in force)."""
    rows = await db.execute(
        select(*_CLIENT, IntegrationPlan.id.label("plan_id"), IntegrationPlan.ends_on)
        .join(IntegrationPlan, IntegrationPlan.client_id == Client.id)
        .where(
            scope,
            IntegrationPlan.status == PlanStatus.IN_FORCE,
            IntegrationPlan.ends_on <= rules.plan_ending_horizon(on),
        )
    )
    return [_item(row, Kind.PLAN_ENDING, row.ends_on, on, f"/officer/plans/{row.plan_id}") for row in rows]


async def _transfer_reviews(
    db: AsyncSession,
    scope: ColumnElement[bool],
    organisation_id: uuid.UUID,
    on: date,
    settings: rules.RuleSettings,
) -> list[Item]:
    """Transfers: the receiving organisation reviews the plan of a client transferred to it."""
    rows = await db.execute(
        select(*_CLIENT, ClientTransfer.transferred_on)
        .join(ClientTransfer, ClientTransfer.client_id == Client.id)
        .where(
            scope,
            ClientTransfer.to_organisation_id == organisation_id,
            ClientTransfer.reviewed_at.is_(None),
        )
    )
    return [
        _item(
            row,
            Kind.TRANSFER_REVIEW,
            rules.transfer_review_due(row.transferred_on, settings),
            on,
            f"/officer/clients/{row.id}#plans",
        )
        for row in rows
    ]


async def _contracts_ending(
    db: AsyncSession, actor: Actor, on: date, owner: ColumnElement[bool] | None
) -> list[Item]:
    """Contracts of the organisation in their renewal notice period with no decision recorded yet
    (app.domain.contracts.reminder_due); `owner` narrows by the contract's responsible person."""
    if not actor.has(Permission.CONTRACTS):
        return []
    rows = await db.execute(
        select(
            Contract.id,
            Contract.subject,
            Contract.provider_name,
            Contract.responsible_staff_id,
            Contract.ends_on,
        ).where(
            Contract.organisation_id == actor.organisation_id,
            contracts.reminder_due(db, on),
            owner if owner is not None else true(),
        )
    )
    return [
        Item(
            kind=Kind.CONTRACT_ENDING,
            client_id=None,
            client_name=f"{row.subject} – {row.provider_name}",
            officer_id=row.responsible_staff_id,
            due=row.ends_on,
            overdue=rules.is_overdue(row.ends_on, on),
            link=f"/officer/contracts/{row.id}#renewal",
        )
        for row in rows
    ]


async def _compensation_unclaimed(
    db: AsyncSession,
    actor: Actor,
    owner: ColumnElement[bool] | None,
    on: date,
    settings: rules.RuleSettings,
) -> list[Item]:
    """§70: a client's costs or calculated compensation of a calendar year not yet in a sent claim, when
    that year's claim deadline (two years after its end) is within
    RuleSettings.claim_deadline_warning_days; ended relationships too (their compensation is still to be
    claimed). One query (app.domain.compensation.unclaimed_years); `count` is the number of costs."""
    if not actor.has(Permission.COMPENSATION):
        return []
    found = await compensation.unclaimed_years(db, actor.organisation_id, owner, on, settings)
    return [
        Item(
            kind=Kind.COMPENSATION_CLAIM,
            client_id=u.client_id,
            client_name=f"{u.last_name}, {u.first_names}",
            officer_id=u.responsible_officer_id,
            due=rules.claim_deadline_of_year(u.year),
            overdue=rules.is_overdue(rules.claim_deadline_of_year(u.year), on),
            link=client_page_url(u.client_id, "compensation"),
            count=u.costs,
        )
        for u in found
    ]


async def collect(
    db: AsyncSession,
    actor: Actor,
    on: date,
    owner: ColumnElement[bool] | None = None,
    settings: rules.RuleSettings | None = None,
    contract_owner: ColumnElement[bool] | None = None,
) -> list[Item]:
    """Every item of the actor's organisation's active clients (narrowed by `owner`, a clause on the
    client's responsible officer): one query per kind, whatever the number of clients. Contracts ending
    are narrowed by `contract_owner`, the same on the contract's responsible person."""
    settings = settings or rules.RuleSettings()
    if not actor.sees_own_organisation:
        return []
    scope = and_(
        Client.organisation_id == actor.organisation_id,
        Client.status == ClientStatus.ACTIVE,
        owner if owner is not None else true(),
    )
    return [
        *await _known_not_assessed(db, scope, on, settings),
        *await _plan_due(db, scope, on),
        *await _three_year_limit(db, scope, on, settings),
        *await _services_to_refer(db, scope, on),
        *await _reviews_due(db, scope, on),
        *await _plans_ending(db, scope, on),
        *await _transfer_reviews(db, scope, actor.organisation_id, on, settings),
        *await _contracts_ending(db, actor, on, contract_owner),
        *await _compensation_unclaimed(db, actor, owner, on, settings),
    ]


@dataclass(frozen=True)
class Personal:
    mine: list[Group]
    unassigned: list[Group]
    items: list[Item]


async def personal(db: AsyncSession, actor: Actor, on: date) -> Personal:
    """An officer's own clients' items, and separately those of clients assigned to no one."""
    items = await collect(
        db,
        actor,
        on,
        or_(Client.responsible_officer_id == actor.staff_id, Client.responsible_officer_id.is_(None)),
        contract_owner=or_(
            Contract.responsible_staff_id == actor.staff_id, Contract.responsible_staff_id.is_(None)
        ),
    )
    return Personal(
        mine=group(i for i in items if i.officer_id == actor.staff_id),
        unassigned=group(i for i in items if i.officer_id is None),
        items=items,
    )


# --- the team view --------------------------------------------------------------------------------


@dataclass
class Count:
    total: int = 0
    overdue: int = 0


@dataclass
class Row:
    """One officer (or no one) in the team's counts."""

    officer_id: uuid.UUID | None
    name: str
    counts: dict[Kind, Count] = field(default_factory=lambda: {kind: Count() for kind in Kind})

    @property
    def total(self) -> Count:
        return Count(sum(c.total for c in self.counts.values()), sum(c.overdue for c in self.counts.values()))


@dataclass(frozen=True)
class Team:
    rows: list[Row]  # officers by name, then "not assigned to anyone" (name "")
    groups: list[Group]  # the items, narrowed to the chosen officer when one was chosen
    items: list[Item]


async def team_officers(db: AsyncSession, actor: Actor, also: Iterable[uuid.UUID] = ()) -> Sequence[Staff]:
    """The organisation's active integration officers, and any other of its staff named in `also` (a
    responsible officer who has since left or changed role)."""
    officer = exists().where(StaffRole.staff_id == Staff.id, StaffRole.role == Role.INTEGRATION_OFFICER)
    named = Staff.id.in_(list(also)) if also else false()
    result = await db.scalars(
        select(Staff)
        .where(Staff.organisation_id == actor.organisation_id, or_(and_(Staff.active, officer), named))
        .order_by(Staff.full_name, Staff.id)
    )
    return result.all()


async def team(
    db: AsyncSession, actor: Actor, on: date, officer: uuid.UUID | str | None = None
) -> Team | None:
    """The organisation's items with counts per officer × kind; `officer` (a staff id, or UNASSIGNED)
    narrows the items shown, not the counts. None when `officer` is not of the actor's organisation."""
    items = await collect(db, actor, on)
    named = {i.officer_id for i in items if i.officer_id is not None}
    if isinstance(officer, uuid.UUID):
        named.add(officer)
    staff = await team_officers(db, actor, named)
    rows = {person.id: Row(person.id, person.full_name) for person in staff}
    nobody = Row(None, "")
    for item in items:
        row = rows.get(item.officer_id) if item.officer_id else nobody
        if row is None:  # a responsible officer of another organisation: counted as no one's
            row = nobody
        count = row.counts[item.kind]
        count.total += 1
        count.overdue += item.overdue
    if isinstance(officer, uuid.UUID) and officer not in rows:
        return None
    if officer == UNASSIGNED:
        shown = [i for i in items if i.officer_id is None or i.officer_id not in rows]
    elif officer is not None:
        shown = [i for i in items if i.officer_id == officer]
    else:
        shown = items
    return Team(rows=[*rows.values(), nobody], groups=group(shown), items=shown)
