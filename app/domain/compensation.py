"""Costs and compensation claims to the KEHA centre (process 3.4.12; 681/2023 §§59–71; decree 872/2024).

The rules — who is within compensation, for which period, the calculated compensation of a period and
the §70 claim deadline — are in app.domain.rules; this module applies them to the database: the client
page's section, costs, the organisation's cost list, claims with their package (lines, CSV, printable
summary) and their status, and the worklist's unclaimed years.

Access: Permission.COMPENSATION (integration officers and managers) of the client's own organisation
(`may_manage`); a cost or a claim of another organisation is not found (404). Costs can be recorded also
after the client relationship ended (invoices arrive late): the compensation is the municipality's
bookkeeping, not a change to the client's data. Every read and change of costs and claims that shows a
client is audited (field names only).

A claim is built in two steps: a draft for a period, then "prepare the package", which (re)builds its
lines — calculated compensation for every client of the organisation with compensated days in the period
not yet in another claim, and every unclaimed cost in the period whose client is eligible for that
category on the cost's date (the cost then belongs to the claim, so it is never claimed twice). Lines are
frozen once the claim is sent.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from babel.numbers import format_currency
from sqlalchemy import ColumnElement, CursorResult, and_, delete, exists, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from app import i18n
from app.db.base import utcnow
from app.db.client import Client, EndReason, FamilyLink, PermitType
from app.db.costs import (
    ClaimLine,
    ClaimStatus,
    CompensationClaim,
    CompensationRate,
    Cost,
    CostCategory,
    RateKind,
)
from app.db.organisation import Organisation
from app.domain import audit, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, choice, date_field, text
from app.domain.policy import Actor, Permission
from app.i18n import N_, _, gettext
from app.labels import label

CALCULATED = rules.Basis.CALCULATED.value  # ClaimLine.kind of calculated compensation
PAGE_SIZE = 50
CLAIM_PAGE_LINES = 300  # lines listed on the claim page; the CSV has them all
CANNOT_TELL_LISTED = 50
COST_FIELDS = (
    "category",
    "amount",
    "incurred_on",
    "accounting_code",
    "invoice_reference",
    "description",
    "longer_preparation_reason",
)
# Client relationships that end because the person no longer lives in the municipality: calculated
# compensation (the municipality of residence's) ends with them.
LEFT_MUNICIPALITY = (EndReason.MOVED_AWAY, EndReason.DECEASED)

WHY: dict[rules.Why, str] = {
    rules.Why.NO_FIRST_RESIDENCE: N_(
        "The date of the first municipality of residence is not recorded: add it to the basic data."
    ),
    rules.Why.NO_PERMIT_TYPE: N_("The permit type is not recorded: add it to the basic data."),
    rules.Why.OTHER_PERMIT: N_(
        "The permit type is “other”: check in UMA whether the person is within compensation."
    ),
    rules.Why.FAMILY_LINK_MISSING: N_(
        "Family ties: record the family link to the person they joined (a quota refugee or a beneficiary "
        "of protection)."
    ),
    rules.Why.NOT_COMPENSATED_PERMIT: N_("Not compensated: the permit is for work, study or an EU citizen."),
    rules.Why.NO_DATE_OF_BIRTH: N_("The date of birth is not recorded."),
    rules.Why.NOT_UNACCOMPANIED: N_("Only for a client who came as an unaccompanied minor."),
    rules.Why.NOT_TRAFFICKING_VICTIM: N_("Only for a victim of human trafficking."),
    rules.Why.NOT_QUOTA_REFUGEE: N_("Only for quota refugees and their families."),
    rules.Why.NO_SECTION: N_("Other costs are not claimed automatically."),
    rules.Why.BEFORE_WINDOW: N_("The date is before the compensated period."),
    rules.Why.AFTER_WINDOW: N_("The date is after the compensated period."),
    rules.Why.MOVED_AWAY: N_("The client moved away before the compensated period."),
}

GROUPS: dict[rules.CompensationGroup, str] = {
    rules.CompensationGroup.QUOTA_REFUGEE: N_(
        "Quota refugee or a family member: three years (sections 61–62)"
    ),
    rules.CompensationGroup.PROTECTION: N_(
        "International or temporary protection, or a family member: two years (sections 61–62)"
    ),
    rules.CompensationGroup.TRAFFICKING_VICTIM: N_("Victim of human trafficking: two years (sections 61–62)"),
    rules.CompensationGroup.NOT_COMPENSATED: N_("Not within compensation"),
    rules.CompensationGroup.UNKNOWN: N_("Cannot tell yet"),
}


class StaleEdit(Exception):
    """Someone saved the cost or the claim after the form was opened."""


class Frozen(Exception):
    """The claim (or the claim a cost is in) has been sent: its lines no longer change."""


class Taken(Exception):
    """Another claim took some of the costs while this package was being prepared."""


def why_text(why: rules.Why | None) -> str | None:
    return gettext(WHY[why]) if why is not None else None


def basis_label(kind: str) -> str:
    return gettext(N_("Calculated compensation")) if kind == CALCULATED else label(kind)


def euros(value: Decimal | None) -> str:
    """An amount in the interface language, e.g. 1 234,50 € in Finnish."""
    if value is None:
        return "–"
    return str(format_currency(value, "EUR", locale=i18n.get_locale()))


def may_manage(actor: Actor, organisation_id: uuid.UUID | None = None) -> bool:
    """Costs and claims: the compensation permission, and (for a client) the client's own organisation."""
    return (
        actor.has(Permission.COMPENSATION)
        and actor.sees_own_organisation
        and (organisation_id is None or organisation_id == actor.organisation_id)
    )


# --- what the rules need to know of clients, as columns of one query ----------------------------


def _family_link_to(predicate: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
    """A family link (stored both ways; either is enough) from the client to someone `predicate` holds for."""
    other = aliased(Client)
    return exists().where(
        or_(
            and_(FamilyLink.client_id == Client.id, FamilyLink.related_client_id == other.id),
            and_(FamilyLink.related_client_id == Client.id, FamilyLink.client_id == other.id),
        ),
        predicate(other),
    )


def _quota_refugee(other: Any) -> ColumnElement[bool]:
    return or_(other.segment == rules.QUOTA_REFUGEE_SEGMENT, other.permit_type == PermitType.QUOTA_REFUGEE)


def _protected(other: Any) -> ColumnElement[bool]:
    clause: ColumnElement[bool] = other.permit_type.in_(
        [PermitType.INTERNATIONAL_PROTECTION, PermitType.TEMPORARY_PROTECTION, PermitType.TRAFFICKING_VICTIM]
    )
    return clause


def person_columns() -> tuple[Any, ...]:
    """The columns person_of() reads; correlated with Client in the query they are selected in."""
    return (
        Client.segment,
        Client.permit_type,
        Client.first_residence_on,
        Client.date_of_birth,
        Client.unaccompanied_minor,
        Client.ended_on,
        Client.end_reason,
        _family_link_to(_quota_refugee).label("family_of_quota_refugee"),
        _family_link_to(_protected).label("family_of_protected"),
    )


def person_of(row: Any) -> rules.CompensationPerson:
    return rules.CompensationPerson(
        segment=row.segment,
        permit_type=row.permit_type.value if row.permit_type is not None else None,
        first_residence_on=row.first_residence_on,
        date_of_birth=row.date_of_birth,
        unaccompanied_minor=bool(row.unaccompanied_minor),
        family_of_quota_refugee=bool(row.family_of_quota_refugee),
        family_of_protected=bool(row.family_of_protected),
        left_on=row.ended_on if row.end_reason in LEFT_MUNICIPALITY else None,
    )


async def person(db: AsyncSession, client: Client) -> rules.CompensationPerson:
    row = (await db.execute(select(*person_columns()).where(Client.id == client.id))).one()
    return person_of(row)


async def rate_table(db: AsyncSession) -> list[rules.Rate]:
    """The dated rate table (decree 872/2024 and later decrees as rows)."""
    rows = await db.scalars(select(CompensationRate).order_by(CompensationRate.valid_from))
    return [rules.Rate(r.kind.value, r.valid_from, r.amount_per_year) for r in rows]


def cost_window(
    person: rules.CompensationPerson, cost: Cost, settings: rules.RuleSettings | None = None
) -> rules.Window:
    return rules.compensation_window(
        person,
        rules.Basis(cost.category.value),
        settings,
        longer_preparation=bool(cost.longer_preparation_reason),
    )


def cost_eligibility(
    person: rules.CompensationPerson, cost: Cost
) -> tuple[rules.Eligibility, rules.Why | None]:
    return cost_window(person, cost).on(cost.incurred_on)


# --- the client page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRow:
    basis: str
    label: str
    section: str | None
    eligibility: rules.Eligibility
    first_day: date | None
    last_day: date | None
    why: str | None


@dataclass(frozen=True)
class CostRow:
    cost: Cost
    client_name: str | None
    amount: str
    claim_status: ClaimStatus | None
    eligibility: rules.Eligibility
    why: str | None  # outside the window or cannot tell: a warning (the cost is kept all the same)

    @property
    def locked(self) -> bool:
        return self.claim_status is not None and self.claim_status is not ClaimStatus.DRAFT


@dataclass(frozen=True)
class ClientSection:
    client_id: uuid.UUID
    first_residence_on: date | None
    unaccompanied_minor: bool
    group: str
    group_why: str | None
    windows: list[WindowRow]
    costs: list[CostRow]
    total: str
    may_edit: bool


def window_rows(person: rules.CompensationPerson) -> list[WindowRow]:
    return [
        WindowRow(
            w.basis.value,
            basis_label(w.basis.value),
            w.section,
            w.eligibility,
            w.first_day,
            w.last_day,
            why_text(w.why),
        )
        for w in rules.compensation_windows(person)
    ]


def _cost_row(
    cost: Cost, person: rules.CompensationPerson | None, status: ClaimStatus | None, name: str | None = None
) -> CostRow:
    if person is None:  # the client's data was deleted after the retention period
        eligibility, why = rules.Eligibility.CANNOT_TELL, None
    else:
        eligibility, why = cost_eligibility(person, cost)
    return CostRow(cost, name, euros(cost.amount), status, eligibility, why_text(why))


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> ClientSection | None:
    """What the client page shows of compensation: the windows with their end dates, the costs, and a
    link to add one. None for those without the compensation permission of the client's organisation
    (county staff, interpreters, another organisation)."""
    if not may_manage(actor, client.organisation_id):
        return None
    found = await person(db, client)
    group, group_why = rules.compensation_group(found)
    rows = (
        await db.execute(
            select(Cost, CompensationClaim.status)
            .outerjoin(CompensationClaim, CompensationClaim.id == Cost.claim_id)
            .where(Cost.client_id == client.id, Cost.organisation_id == client.organisation_id)
            .order_by(Cost.incurred_on.desc(), Cost.created_at.desc())
        )
    ).all()
    costs = [_cost_row(cost, found, status) for cost, status in rows]
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="cost",
        fields=["compensation", "costs"] if costs else ["compensation"],
    )
    return ClientSection(
        client_id=client.id,
        first_residence_on=client.first_residence_on,
        unaccompanied_minor=client.unaccompanied_minor,
        group=gettext(GROUPS[group]),
        group_why=why_text(group_why),
        windows=window_rows(found),
        costs=costs,
        total=euros(sum((c.cost.amount for c in costs), Decimal("0.00"))),
        may_edit=True,
    )


# --- costs ----------------------------------------------------------------------------------------

AMOUNT = re.compile(r"\d{1,10}(?:[.,]\d{1,2})?")


def amount_field(
    data: Mapping[str, Any], name: str, errors: FormErrors, *, allow_zero: bool = False
) -> Decimal | None:
    """Euros and cents as typed in Finland (1 250,50) or with a point; spaces and € are ignored."""
    raw = re.sub(r"[\s\u00a0\u202f€]", "", str(data.get(name) or ""))
    if not raw:
        errors[name] = _("Enter the amount in euros.")
        return None
    if not AMOUNT.fullmatch(raw):
        errors[name] = _("Enter the amount in euros and cents, for example 1250,50.")
        return None
    value = Decimal(raw.replace(",", ".")).quantize(rules.CENT)
    if value <= 0 and not (allow_zero and value == 0):
        errors[name] = _("The amount must be more than zero.")
        return None
    return value


@dataclass
class CostInput:
    values: dict[str, Any]
    errors: FormErrors = field(default_factory=FormErrors)


def read_cost_form(data: Mapping[str, Any]) -> CostInput:
    errors = FormErrors()
    v: dict[str, Any] = {}
    v["category"] = choice(data, "category", CostCategory, errors)
    v["amount"] = amount_field(data, "amount", errors)
    v["incurred_on"] = date_field(data, "incurred_on", errors, required=True)
    v["accounting_code"] = text(data, "accounting_code", 40, errors)
    if not v["accounting_code"]:
        errors["accounting_code"] = _("Enter the accounting code the invoice is booked to.")
    v["invoice_reference"] = text(data, "invoice_reference", 80, errors)
    v["description"] = text(data, "description", 400, errors)
    # Only the reception preparation of §64 has a longer period for a good reason.
    preparation = v["category"] is CostCategory.RECEPTION_PREPARATION
    v["longer_preparation_reason"] = (
        text(data, "longer_preparation_reason", 400, errors) if preparation else None
    )
    return CostInput(v, errors)


def cost_input(cost: Cost) -> dict[str, Any]:
    """The stored cost as the strings its form posts."""
    return {
        "category": cost.category.value,
        "amount": f"{cost.amount:.2f}".replace(".", ","),
        "incurred_on": cost.incurred_on.isoformat(),
        "accounting_code": cost.accounting_code,
        "invoice_reference": cost.invoice_reference or "",
        "description": cost.description or "",
        "longer_preparation_reason": cost.longer_preparation_reason or "",
        "version": str(cost.version),
    }


async def create_cost(db: AsyncSession, actor: Actor, client: Client, data: CostInput) -> Cost:
    cost = Cost(
        organisation_id=client.organisation_id,
        client_id=client.id,
        recorded_by_id=actor.staff_id,
        **{name: data.values[name] for name in COST_FIELDS},
    )
    db.add(cost)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="cost",
        object_id=cost.id,
        fields=[n for n in COST_FIELDS if data.values[n] is not None],
    )
    return cost


async def load_cost(db: AsyncSession, actor: Actor, cost_id: uuid.UUID) -> tuple[Cost, Client | None] | None:
    """A cost of the actor's organisation and its client; None (404) for anything else."""
    if not may_manage(actor):
        return None
    row = (
        await db.execute(
            select(Cost, Client)
            .outerjoin(Client, Client.id == Cost.client_id)
            .where(Cost.id == cost_id, Cost.organisation_id == actor.organisation_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def claim_status_of(db: AsyncSession, cost: Cost) -> ClaimStatus | None:
    if cost.claim_id is None:
        return None
    return await db.scalar(select(CompensationClaim.status).where(CompensationClaim.id == cost.claim_id))


async def _ensure_open(db: AsyncSession, cost: Cost) -> None:
    status = await claim_status_of(db, cost)
    if status is not None and status is not ClaimStatus.DRAFT:
        raise Frozen


async def update_cost(
    db: AsyncSession, actor: Actor, cost: Cost, seen_version: int, data: CostInput
) -> list[str]:
    """Save the form if nobody saved in between (StaleEdit) and the cost is not in a sent claim (Frozen).
    A changed cost leaves a draft claim: the draft's package is prepared again to include it."""
    await _ensure_open(db, cost)
    if seen_version != cost.version:
        raise StaleEdit
    changed = [name for name in COST_FIELDS if getattr(cost, name) != data.values[name]]
    for name in changed:
        setattr(cost, name, data.values[name])
    if changed and cost.claim_id is not None:
        await db.execute(delete(ClaimLine).where(ClaimLine.cost_id == cost.id))
        cost.claim_id = None
        changed.append("claim")
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db, Action.UPDATE, actor=actor, client_id=cost.client_id, object_type="cost", object_id=cost.id,
            fields=changed,
        )  # fmt: skip
    return changed


async def delete_cost(db: AsyncSession, actor: Actor, cost: Cost, seen_version: int) -> None:
    await _ensure_open(db, cost)
    if seen_version != cost.version:
        raise StaleEdit
    cost_id, client_id = cost.id, cost.client_id
    await db.execute(delete(ClaimLine).where(ClaimLine.cost_id == cost_id))
    await db.delete(cost)
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db, Action.DELETE, actor=actor, client_id=client_id, object_type="cost", object_id=cost_id,
        fields=list(COST_FIELDS),
    )  # fmt: skip


# --- the organisation's cost list -----------------------------------------------------------------


@dataclass(frozen=True)
class CostFilter:
    start: date | None = None
    end: date | None = None
    category: CostCategory | None = None
    page: int = 1


@dataclass(frozen=True)
class CostList:
    rows: list[CostRow]
    count: int
    total: str
    has_next: bool


def read_cost_filter(data: Mapping[str, Any]) -> tuple[CostFilter, FormErrors]:
    errors = FormErrors()
    start = date_field(data, "start", errors, not_future=False)
    end = date_field(data, "end", errors, not_future=False)
    if start and end and end < start:
        errors["end"] = _("The end of the period cannot be before its start.")
    category = choice(data, "category", CostCategory, errors, required=False)
    try:
        page = max(1, int(str(data.get("page") or 1)))
    except ValueError:
        page = 1
    if errors:
        return CostFilter(category=category, page=page), errors
    return CostFilter(start, end, category, page), errors


async def cost_list(db: AsyncSession, actor: Actor, chosen: CostFilter) -> CostList:
    """The organisation's costs for a period and category, newest first, with their warnings."""
    where: list[ColumnElement[bool]] = [Cost.organisation_id == actor.organisation_id]
    if chosen.start:
        where.append(Cost.incurred_on >= chosen.start)
    if chosen.end:
        where.append(Cost.incurred_on <= chosen.end)
    if chosen.category:
        where.append(Cost.category == chosen.category)
    count, total = (await db.execute(select(func.count(), func.sum(Cost.amount)).where(*where))).one()
    rows = (
        await db.execute(
            select(
                Cost,
                CompensationClaim.status,
                Client.id.label("client_row"),
                Client.last_name,
                Client.first_names,
                *person_columns(),
            )
            .outerjoin(Client, Client.id == Cost.client_id)
            .outerjoin(CompensationClaim, CompensationClaim.id == Cost.claim_id)
            .where(*where)
            .order_by(Cost.incurred_on.desc(), Cost.created_at.desc(), Cost.id)
            .offset((chosen.page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    ).all()
    shown = [
        _cost_row(
            row.Cost,
            person_of(row) if row.client_row else None,
            row.status,
            f"{row.last_name}, {row.first_names}" if row.client_row else None,
        )
        for row in rows[:PAGE_SIZE]
    ]
    await audit.record(db, Action.VIEW, actor=actor, object_type="cost", fields=["cost_list"])
    return CostList(shown, int(count), euros(Decimal(total or 0)), len(rows) > PAGE_SIZE)


# --- claims ---------------------------------------------------------------------------------------


class Step(StrEnum):
    """The status changes of a claim, in the order of process 3.4.12."""

    SEND = "send"
    REQUEST_INFORMATION = "request_information"
    SEND_AGAIN = "send_again"
    DECIDE = "decide"
    PAY = "pay"


STEPS: dict[Step, tuple[ClaimStatus, ClaimStatus]] = {
    Step.SEND: (ClaimStatus.DRAFT, ClaimStatus.SENT),
    Step.REQUEST_INFORMATION: (ClaimStatus.SENT, ClaimStatus.MORE_INFORMATION_REQUESTED),
    Step.SEND_AGAIN: (ClaimStatus.MORE_INFORMATION_REQUESTED, ClaimStatus.SENT),
    Step.DECIDE: (ClaimStatus.SENT, ClaimStatus.DECIDED),
    Step.PAY: (ClaimStatus.DECIDED, ClaimStatus.PAID),
}


def next_steps(claim: CompensationClaim) -> list[Step]:
    steps = [step for step, (source, _target) in STEPS.items() if source is claim.status]
    if claim.status is ClaimStatus.SENT and claim.information_sent_on is not None:
        steps = [Step.REQUEST_INFORMATION, Step.DECIDE]  # another request may follow the answer
    return steps


def read_claim_form(data: Mapping[str, Any]) -> tuple[dict[str, Any], FormErrors]:
    errors = FormErrors()
    start = date_field(data, "period_start", errors, required=True)
    end = date_field(data, "period_end", errors, required=True)
    if start and end and end < start:
        errors["period_end"] = _("The end of the period cannot be before its start.")
    return {"period_start": start, "period_end": end, "note": text(data, "note", 2000, errors)}, errors


async def create_claim(db: AsyncSession, actor: Actor, values: Mapping[str, Any]) -> CompensationClaim:
    claim = CompensationClaim(
        organisation_id=actor.organisation_id,
        period_start=values["period_start"],
        period_end=values["period_end"],
        note=values.get("note"),
        status=ClaimStatus.DRAFT,
        created_by_id=actor.staff_id,
    )
    db.add(claim)
    await db.flush()
    await audit.record(
        db, Action.CREATE, actor=actor, object_type="compensation_claim", object_id=claim.id,
        fields=["period_start", "period_end"] + (["note"] if claim.note else []),
    )  # fmt: skip
    return claim


async def load_claim(db: AsyncSession, actor: Actor, claim_id: uuid.UUID) -> CompensationClaim | None:
    if not may_manage(actor):
        return None
    return await db.scalar(
        select(CompensationClaim).where(
            CompensationClaim.id == claim_id, CompensationClaim.organisation_id == actor.organisation_id
        )
    )


@dataclass(frozen=True)
class ClaimRow:
    claim: CompensationClaim
    lines: int
    persons: int
    total: str


async def claims(db: AsyncSession, actor: Actor) -> list[ClaimRow]:
    totals = (
        select(
            ClaimLine.claim_id,
            func.count().label("lines"),
            func.count(func.distinct(ClaimLine.client_id)).label("persons"),
            func.sum(ClaimLine.amount).label("total"),
        )
        .group_by(ClaimLine.claim_id)
        .subquery()
    )
    rows = await db.execute(
        select(CompensationClaim, totals.c.lines, totals.c.persons, totals.c.total)
        .outerjoin(totals, totals.c.claim_id == CompensationClaim.id)
        .where(CompensationClaim.organisation_id == actor.organisation_id)
        .order_by(CompensationClaim.period_start.desc(), CompensationClaim.created_at.desc())
    )
    return [
        ClaimRow(claim, int(lines or 0), int(persons or 0), euros(Decimal(total or 0)))
        for claim, lines, persons, total in rows
    ]


def _check(claim: CompensationClaim, seen_version: int) -> None:
    if seen_version != claim.version:
        raise StaleEdit


@dataclass(frozen=True)
class Prepared:
    persons: int
    calculated_lines: int
    costs: int
    total: Decimal


async def prepare_package(
    db: AsyncSession,
    actor: Actor,
    claim: CompensationClaim,
    seen_version: int,
    settings: rules.RuleSettings | None = None,
) -> Prepared:
    """(Re)build a draft claim's lines: calculated compensation for each client of the organisation with
    compensated days in the period that no other claim holds yet (§§61–62; days already in another claim
    are left out, so a day is never claimed twice), and every cost of the period in no claim whose client
    is eligible for its category on its date (the cost joins the claim)."""
    if claim.status is not ClaimStatus.DRAFT:
        raise Frozen
    _check(claim, seen_version)
    settings = settings or rules.RuleSettings()
    await db.execute(
        update(Cost)
        .where(Cost.claim_id == claim.id)
        .values(claim_id=None)
        .execution_options(synchronize_session=False)
    )
    await db.execute(delete(ClaimLine).where(ClaimLine.claim_id == claim.id))
    start, end = claim.period_start, claim.period_end
    rates = await rate_table(db)

    # Calculated compensation: clients whose longest window (3 years) can reach the period.
    earliest = rules.add_days(rules.add_years(start, -rules.QUOTA_REFUGEE_YEARS), -2)
    candidates = (
        await db.execute(
            select(Client.id.label("client_id"), *person_columns()).where(
                Client.organisation_id == claim.organisation_id,
                Client.first_residence_on.is_not(None),
                Client.first_residence_on <= end,
                Client.first_residence_on >= earliest,
            )
        )
    ).all()
    other = aliased(CompensationClaim)
    held = await db.execute(
        select(ClaimLine.client_id, ClaimLine.first_day, ClaimLine.last_day)
        .join(other, other.id == ClaimLine.claim_id)
        .where(
            other.organisation_id == claim.organisation_id,
            other.id != claim.id,
            ClaimLine.kind == CALCULATED,
            ClaimLine.rate_kind.in_([RateKind.UNDER_7, RateKind.AGED_7_AND_OVER]),
            ClaimLine.first_day <= end,
            ClaimLine.last_day >= start,
        )
    )
    covered: dict[uuid.UUID, list[tuple[date, date]]] = defaultdict(list)
    for client_id, first_day, last_day in held:
        if client_id is not None and first_day is not None and last_day is not None:
            covered[client_id].append((first_day, last_day))
    lines: list[ClaimLine] = []
    persons: set[uuid.UUID] = set()
    for row in candidates:
        found = person_of(row)
        window = rules.compensation_window(found, rules.Basis.CALCULATED, settings)
        if window.eligibility is not rules.Eligibility.YES or found.date_of_birth is None:
            continue
        assert window.first_day is not None
        last = end if window.last_day is None else min(end, window.last_day)
        for a, b in rules.uncovered(max(start, window.first_day), last, covered[row.client_id]):
            calculation = rules.calculated_compensation(window, found.date_of_birth, a, b, rates, settings)
            for line in calculation.lines:
                persons.add(row.client_id)
                lines.append(
                    ClaimLine(
                        claim_id=claim.id,
                        client_id=row.client_id,
                        kind=CALCULATED,
                        rate_kind=RateKind(line.rate_kind),
                        first_day=line.first_day,
                        last_day=line.last_day,
                        activity_year=line.activity_year,
                        days=line.days,
                        rate=line.rate,
                        amount=line.amount,
                        basis=f"§§ 61–62; {window.first_day.isoformat()}–"
                        f"{window.last_day.isoformat() if window.last_day else ''}; rate from "
                        f"{line.rate_valid_from.isoformat()}",
                    )
                )
    calculated = len(lines)

    # Costs of the period in no claim, eligible on their date.
    cost_rows = (
        await db.execute(
            select(Cost, *person_columns())
            .join(Client, Client.id == Cost.client_id)
            .where(
                Cost.organisation_id == claim.organisation_id,
                Cost.claim_id.is_(None),
                Cost.incurred_on >= start,
                Cost.incurred_on <= end,
            )
            .order_by(Cost.incurred_on, Cost.id)
        )
    ).all()
    taken: list[uuid.UUID] = []
    for row in cost_rows:
        cost: Cost = row.Cost
        window = cost_window(person_of(row), cost, settings)
        if window.on(cost.incurred_on)[0] is not rules.Eligibility.YES:
            continue
        taken.append(cost.id)
        if cost.client_id is not None:
            persons.add(cost.client_id)
        lines.append(
            ClaimLine(
                claim_id=claim.id,
                client_id=cost.client_id,
                cost_id=cost.id,
                kind=cost.category.value,
                first_day=cost.incurred_on,
                last_day=cost.incurred_on,
                activity_year=cost.incurred_on.year,
                amount=cost.amount,
                basis=f"§ {window.section}" if window.section else None,
            )
        )
    if taken:
        # Only costs still in no claim: a package prepared at the same moment cannot take them twice.
        result = await db.execute(
            update(Cost)
            .where(Cost.id.in_(taken), Cost.claim_id.is_(None))
            .values(claim_id=claim.id)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != len(taken):
            raise Taken
    db.add_all(lines)
    claim.updated_at = utcnow()  # a new version: forms opened before see that the package changed
    await db.flush()
    for row in cost_rows:
        if row.Cost.id in taken:
            await db.refresh(row.Cost, ["claim_id", "version"])
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="compensation_claim", object_id=claim.id,
        fields=["claim_lines"],
    )  # fmt: skip
    return Prepared(
        len(persons), calculated, len(taken), sum((line.amount for line in lines), Decimal("0.00"))
    )


@dataclass
class StepInput:
    step: Step | None
    values: dict[str, Any]
    errors: FormErrors = field(default_factory=FormErrors)


def _after(errors: FormErrors, name: str, value: date | None, earliest: date | None, message: str) -> None:
    if value is not None and earliest is not None and value < earliest and name not in errors:
        errors[name] = message


def read_step_form(claim: CompensationClaim, data: Mapping[str, Any]) -> StepInput:
    errors = FormErrors()
    try:
        step: Step | None = Step(str(data.get("step") or ""))
    except ValueError:
        step = None
    v: dict[str, Any] = {}
    if step is None or step not in next_steps(claim):
        errors["step"] = _("This step is not possible in the claim's present status.")
        return StepInput(None, v, errors)
    if step is Step.SEND:
        v["sent_on"] = date_field(data, "sent_on", errors, required=True)
        v["keha_reference"] = text(data, "keha_reference", 80, errors)
        _after(errors, "sent_on", v["sent_on"], claim.period_start,
               _("The claim cannot be sent before its period starts."))  # fmt: skip
    elif step is Step.REQUEST_INFORMATION:
        v["information_requested_on"] = date_field(data, "information_requested_on", errors, required=True)
        v["information_request"] = text(data, "information_request", 4000, errors)
        if not v["information_request"]:
            errors["information_request"] = _("Write what KEHA asked for.")
        _after(errors, "information_requested_on", v["information_requested_on"],
               claim.information_sent_on or claim.sent_on, _("The request cannot be before the claim was sent."))  # fmt: skip
    elif step is Step.SEND_AGAIN:
        v["information_sent_on"] = date_field(data, "information_sent_on", errors, required=True)
        _after(errors, "information_sent_on", v["information_sent_on"], claim.information_requested_on,
               _("The information cannot be sent before it was requested."))  # fmt: skip
    elif step is Step.DECIDE:
        v["decided_on"] = date_field(data, "decided_on", errors, required=True)
        v["decided_amount"] = amount_field(data, "decided_amount", errors, allow_zero=True)
        v["keha_reference"] = text(data, "keha_reference", 80, errors) or claim.keha_reference
        _after(errors, "decided_on", v["decided_on"], claim.information_sent_on or claim.sent_on,
               _("The decision cannot be before the claim was sent."))  # fmt: skip
    else:
        v["paid_on"] = date_field(data, "paid_on", errors, required=True)
        v["paid_amount"] = amount_field(data, "paid_amount", errors, allow_zero=True)
        _after(errors, "paid_on", v["paid_on"], claim.decided_on,
               _("The payment cannot be before the decision."))  # fmt: skip
    return StepInput(step, v, errors)


async def line_count(db: AsyncSession, claim: CompensationClaim) -> int:
    return int(await db.scalar(select(func.count()).where(ClaimLine.claim_id == claim.id)) or 0)


async def take_step(
    db: AsyncSession, actor: Actor, claim: CompensationClaim, seen_version: int, data: StepInput
) -> None:
    """Move the claim on (STEPS) if nobody changed it after the form was opened (StaleEdit)."""
    _check(claim, seen_version)
    assert data.step is not None
    source, target = STEPS[data.step]
    if claim.status is not source:
        raise StaleEdit
    values = dict(data.values)
    if data.step is Step.REQUEST_INFORMATION and claim.information_request and claim.information_requested_on:
        # A further request: the earlier one stays in the text (dated), the answer is still to be sent.
        earlier = f"({claim.information_requested_on.isoformat()}) {claim.information_request}"
        values["information_request"] = f"{values['information_request']}\n\n{earlier}"
        values["information_sent_on"] = None
    for name, value in values.items():
        setattr(claim, name, value)
    claim.status = target
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="compensation_claim", object_id=claim.id,
        fields=["status", *values],
    )  # fmt: skip


async def delete_claim(db: AsyncSession, actor: Actor, claim: CompensationClaim, seen_version: int) -> None:
    """A draft claim can be removed; its costs are free for another claim."""
    if claim.status is not ClaimStatus.DRAFT:
        raise Frozen
    _check(claim, seen_version)
    claim_id = claim.id
    await db.execute(
        update(Cost)
        .where(Cost.claim_id == claim.id)
        .values(claim_id=None)
        .execution_options(synchronize_session=False)
    )
    await db.execute(delete(ClaimLine).where(ClaimLine.claim_id == claim.id))
    await db.delete(claim)
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(db, Action.DELETE, actor=actor, object_type="compensation_claim", object_id=claim_id)


# --- a claim's lines, summary, CSV --------------------------------------------------------------


@dataclass(frozen=True)
class LineRow:
    line: ClaimLine
    client: Client | None
    cost: Cost | None

    @property
    def label(self) -> str:
        if self.line.kind == CALCULATED and self.line.rate_kind is not None:
            return label(self.line.rate_kind)
        return basis_label(self.line.kind)


async def claim_lines(db: AsyncSession, claim: CompensationClaim, limit: int | None = None) -> list[LineRow]:
    query = (
        select(ClaimLine, Client, Cost)
        .outerjoin(Client, Client.id == ClaimLine.client_id)
        .outerjoin(Cost, Cost.id == ClaimLine.cost_id)
        .where(ClaimLine.claim_id == claim.id)
        .order_by(
            Client.last_name,
            Client.first_names,
            ClaimLine.client_id,
            ClaimLine.activity_year,
            ClaimLine.first_day,
            ClaimLine.kind,
            ClaimLine.rate_kind,
        )
    )
    if limit is not None:
        query = query.limit(limit)
    return [LineRow(line, client, cost) for line, client, cost in await db.execute(query)]


def section_of(kind: str) -> str | None:
    """The section of a line's kind ("calculated" or a cost category)."""
    try:
        return rules.BASIS_SECTIONS[rules.Basis(kind)]
    except ValueError:
        return None


@dataclass(frozen=True)
class Total:
    label: str
    section: str | None
    count: int
    days: int | None
    rate: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class Summary:
    per_basis: list[Total]
    per_rate: list[Total]
    per_year: list[tuple[int, Decimal, date]]  # activity year, amount, §70 deadline
    persons: int
    lines: int
    total: Decimal


async def summary(db: AsyncSession, claim: CompensationClaim) -> Summary:
    """Totals per compensation basis, per rate (kind and amount), per activity year; persons; no names."""
    by_basis = await db.execute(
        select(ClaimLine.kind, func.count(), func.sum(ClaimLine.amount))
        .where(ClaimLine.claim_id == claim.id)
        .group_by(ClaimLine.kind)
    )
    order = {basis.value: index for index, basis in enumerate(rules.Basis)}
    per_basis = [
        Total(basis_label(kind), section_of(kind), int(count), None, None, Decimal(amount or 0))
        for kind, count, amount in sorted(by_basis, key=lambda r: order.get(r[0], len(order)))
    ]
    by_rate = await db.execute(
        select(
            ClaimLine.rate_kind,
            ClaimLine.rate,
            func.count(),
            func.sum(ClaimLine.days),
            func.sum(ClaimLine.amount),
        )
        .where(ClaimLine.claim_id == claim.id, ClaimLine.kind == CALCULATED)
        .group_by(ClaimLine.rate_kind, ClaimLine.rate)
        .order_by(ClaimLine.rate_kind, ClaimLine.rate)
    )
    per_rate = [
        Total(label(kind), "61–62", int(count), int(days or 0), rate, Decimal(amount or 0))
        for kind, rate, count, days, amount in sorted(
            by_rate, key=lambda r: (list(RateKind).index(r[0]) if r[0] else len(RateKind), r[1])
        )
    ]
    by_year = await db.execute(
        select(ClaimLine.activity_year, func.sum(ClaimLine.amount))
        .where(ClaimLine.claim_id == claim.id)
        .group_by(ClaimLine.activity_year)
        .order_by(ClaimLine.activity_year)
    )
    per_year = [
        (int(year), Decimal(amount or 0), rules.claim_deadline_of_year(int(year))) for year, amount in by_year
    ]
    persons, lines, total = (
        await db.execute(
            select(
                func.count(func.distinct(ClaimLine.client_id)), func.count(), func.sum(ClaimLine.amount)
            ).where(ClaimLine.claim_id == claim.id)
        )
    ).one()
    return Summary(per_basis, per_rate, per_year, int(persons), int(lines), Decimal(total or 0))


async def costs_not_included(db: AsyncSession, claim: CompensationClaim) -> list[CostRow]:
    """Costs of the claim's period in no claim, with why they are left out (or that the package is to be
    prepared again to include them)."""
    rows = (
        await db.execute(
            select(
                Cost, Client.id.label("client_row"), Client.last_name, Client.first_names, *person_columns()
            )
            .outerjoin(Client, Client.id == Cost.client_id)
            .where(
                Cost.organisation_id == claim.organisation_id,
                Cost.claim_id.is_(None),
                Cost.incurred_on >= claim.period_start,
                Cost.incurred_on <= claim.period_end,
            )
            .order_by(Cost.incurred_on, Cost.id)
            .limit(PAGE_SIZE)
        )
    ).all()
    return [
        _cost_row(
            row.Cost,
            person_of(row) if row.client_row else None,
            None,
            f"{row.last_name}, {row.first_names}" if row.client_row else None,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Unknown:
    client_id: uuid.UUID
    name: str
    why: str


async def cannot_tell(db: AsyncSession, claim: CompensationClaim) -> tuple[list[Unknown], int]:
    """Clients known during the claim's period whose calculated compensation cannot be told (no first
    municipality of residence, permit type unknown, family link missing, no date of birth): the officer
    completes their data, then prepares the package again. At most CANNOT_TELL_LISTED are named."""
    earliest = rules.add_years(claim.period_start, -rules.QUOTA_REFUGEE_YEARS)
    rows = (
        await db.execute(
            select(Client.id.label("client_id"), Client.last_name, Client.first_names, *person_columns())
            .where(
                Client.organisation_id == claim.organisation_id,
                Client.known_on <= claim.period_end,
                or_(Client.first_residence_on.is_(None), Client.first_residence_on <= claim.period_end),
                or_(Client.first_residence_on.is_(None), Client.first_residence_on >= earliest),
                or_(Client.ended_on.is_(None), Client.ended_on >= claim.period_start),
                or_(
                    Client.permit_type.is_(None),
                    Client.permit_type.not_in(
                        [
                            PermitType.WORK,
                            PermitType.STUDY,
                            PermitType.EU_REGISTRATION,
                            PermitType.RESIDENCE_CARD,
                        ]
                    ),
                ),
            )
            .order_by(Client.last_name, Client.first_names, Client.id)
        )
    ).all()
    found: list[Unknown] = []
    for row in rows:
        who = person_of(row)
        window = rules.compensation_window(who, rules.Basis.CALCULATED)
        why = window.why if window.eligibility is rules.Eligibility.CANNOT_TELL else None
        if why is None and window.eligibility is rules.Eligibility.YES and who.date_of_birth is None:
            why = rules.Why.NO_DATE_OF_BIRTH
        if why is not None:
            found.append(Unknown(row.client_id, f"{row.last_name}, {row.first_names}", why_text(why) or ""))
    return found[:CANNOT_TELL_LISTED], len(found)


# The CSV for KEHA: UTF-8 with a byte order mark, semicolons, decimal comma and d.m.yyyy dates, so that
# Finnish Excel opens it as it is; one row per claim line. It identifies the person (identity code or
# temporary identifier, name, date of birth): the download is audited and never cached.
CSV_COLUMNS = (
    ("line_type", N_("Line type")),
    ("section", N_("Section")),
    ("activity_year", N_("Year of activity")),
    ("identity_code", N_("Personal identity code")),
    ("temporary_identifier", N_("Temporary identifier")),
    ("last_name", N_("Last name")),
    ("first_names", N_("First names")),
    ("date_of_birth", N_("Date of birth")),
    ("first_day", N_("First day")),
    ("last_day", N_("Last day")),
    ("days", N_("Days")),
    ("rate", N_("Rate per year (EUR)")),
    ("amount", N_("Amount (EUR)")),
    ("accounting_code", N_("Accounting code")),
    ("invoice_reference", N_("Invoice reference")),
    ("description", N_("Description")),
)


def _csv_text(value: str | None) -> str:
    """Text as a spreadsheet shows it: a leading = + - @ would start a formula, so it is quoted away."""
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@\t\r" else value


def _csv_decimal(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def _csv_date(value: date | None) -> str:
    return "" if value is None else f"{value.day}.{value.month}.{value.year}"


def package_csv(rows: Iterable[LineRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([gettext(title) for _name, title in CSV_COLUMNS])
    for row in rows:
        line, client, cost = row.line, row.client, row.cost
        section = section_of(line.kind)
        writer.writerow(
            [
                row.label,
                section or "",
                str(line.activity_year),
                client.identity_code or "" if client else "",
                client.temporary_identifier or "" if client else "",
                _csv_text(client.last_name) if client else "",
                _csv_text(client.first_names) if client else "",
                _csv_date(client.date_of_birth) if client else "",
                _csv_date(line.first_day),
                _csv_date(line.last_day),
                "" if line.days is None else str(line.days),
                _csv_decimal(line.rate),
                _csv_decimal(line.amount),
                _csv_text(cost.accounting_code) if cost else "",
                _csv_text(cost.invoice_reference) if cost else "",
                _csv_text(cost.description) if cost else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def package_file_name(claim: CompensationClaim) -> str:
    """No names in the file name: it is saved on shared disks."""
    return f"kotopolku-compensation-claim-{claim.period_start.isoformat()}-{claim.period_end.isoformat()}.csv"


async def organisation_name(db: AsyncSession, organisation_id: uuid.UUID) -> str:
    return str(await db.scalar(select(Organisation.name).where(Organisation.id == organisation_id)) or "")


# --- the worklist: §70 deadlines of years not yet claimed ---------------------------------------


@dataclass(frozen=True)
class Unclaimed:
    client_id: uuid.UUID
    last_name: str
    first_names: str
    responsible_officer_id: uuid.UUID | None
    year: int
    costs: int  # eligible costs of the year in no sent claim
    calculated: bool  # compensated days of the year not in a sent claim


async def unclaimed_years(
    db: AsyncSession,
    organisation_id: uuid.UUID,
    owner: ColumnElement[bool] | None,
    on: date,
    settings: rules.RuleSettings | None = None,
) -> list[Unclaimed]:
    """§70: per client and calendar year whose claim deadline is within the warning period (and not yet
    passed), the costs and calculated compensation not yet in a sent claim. One query: the clients whose
    window can reach those years or who have a cost of them in no sent claim, with those costs (one row
    each) and the days already claimed per year; the rules decide the rest. Also ended relationships:
    their compensation is still to be claimed."""
    settings = settings or rules.RuleSettings()
    years = rules.claim_years_warned(on, settings)
    if not years:
        return []
    first_year, last_year = years[0], years[-1]
    year_start, year_end = date(first_year, 1, 1), date(last_year, 12, 31)
    sent = select(CompensationClaim.id).where(CompensationClaim.status != ClaimStatus.DRAFT)
    open_cost = and_(
        Cost.client_id == Client.id,
        Cost.incurred_on >= year_start,
        Cost.incurred_on <= year_end,
        or_(Cost.claim_id.is_(None), Cost.claim_id.not_in(sent)),
    )
    claimed = [
        select(func.coalesce(func.sum(ClaimLine.days), 0))
        .where(
            ClaimLine.client_id == Client.id,
            ClaimLine.kind == CALCULATED,
            ClaimLine.rate_kind.in_([RateKind.UNDER_7, RateKind.AGED_7_AND_OVER]),
            ClaimLine.activity_year == year,
            ClaimLine.claim_id.in_(sent),
        )
        .correlate(Client)
        .scalar_subquery()
        .label(f"claimed_{year}")
        for year in years
    ]
    earliest = rules.add_days(rules.add_years(year_start, -rules.QUOTA_REFUGEE_YEARS), -2)
    rows = (
        await db.execute(
            select(
                Client.id.label("client_id"),
                Client.last_name,
                Client.first_names,
                Client.responsible_officer_id,
                *person_columns(),
                Cost.id.label("cost_id"),
                Cost.category,
                Cost.incurred_on,
                Cost.longer_preparation_reason,
                *claimed,
            )
            .outerjoin(Cost, open_cost)
            .where(
                Client.organisation_id == organisation_id,
                owner if owner is not None else true(),
                or_(
                    and_(Client.first_residence_on <= year_end, Client.first_residence_on >= earliest),
                    Cost.id.is_not(None),
                ),
            )
        )
    ).all()
    by_client: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_client[row.client_id].append(row)
    found: list[Unclaimed] = []
    for client_id, client_rows in by_client.items():
        head = client_rows[0]
        who = person_of(head)
        window = rules.compensation_window(who, rules.Basis.CALCULATED, settings)
        for year in years:
            costs = 0
            for row in client_rows:
                if row.cost_id is None or row.incurred_on.year != year:
                    continue
                eligibility, _why = rules.eligible_on(
                    who, rules.Basis(row.category.value), row.incurred_on, settings,
                    longer_preparation=bool(row.longer_preparation_reason),
                )  # fmt: skip
                costs += eligibility is rules.Eligibility.YES
            days = _window_days_in_year(window, year)
            calculated = days > int(getattr(head, f"claimed_{year}") or 0)
            if costs or calculated:
                found.append(
                    Unclaimed(
                        client_id,
                        head.last_name,
                        head.first_names,
                        head.responsible_officer_id,
                        year,
                        costs,
                        calculated,
                    )
                )
    return found


def _window_days_in_year(window: rules.Window, year: int) -> int:
    if window.eligibility is not rules.Eligibility.YES or window.first_day is None:
        return 0
    first = max(window.first_day, date(year, 1, 1))
    last = date(year, 12, 31) if window.last_day is None else min(window.last_day, date(year, 12, 31))
    return max(0, last.toordinal() - first.toordinal() + 1)
