"""Benefit data (etuustiedot): what a person receives or has applied for — non-temporary social assistance,
unemployment benefit, child home-care allowance or another benefit — from when until when, and where the
information came from (an imported Kela list or an officer).

A benefit is recorded once and reused. It belongs to an outreach item, to a client, or to both: when the
person on the outreach list becomes (or is linked to) a client, the item's benefits get the client's id and
show on the client page from then on. Benefits drive §14 eligibility on the outreach worklist
(assessment_grounds) and the §24 note on the plan page (binding): participation in the plan's measures
binds a client who receives unemployment benefit or (non-temporary) social assistance — the sanctions
themselves are for the benefit authorities, not for this system.

Officers change a client's benefits through the access policy (may_write_client: the responsible
organisation, not an ended relationship); every change is checked against the version the form showed and
audited with field names only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.client import Client
from app.db.organisation import Staff
from app.db.outreach import Benefit, BenefitSource, BenefitStatus, BenefitType, OutreachItem
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, choice, date_field, text, today
from app.domain.policy import Actor, may_write_client
from app.domain.rules import AssessmentGround
from app.i18n import _

FORM_FIELDS = ("type", "other_type", "status", "starts_on", "ends_on")
MAX_OTHER_TYPE = 200
MAX_LISTED = 100  # a person's benefits on one page

# §24: participation in the plan binds a client who receives these.
BINDING_TYPES = (BenefitType.SOCIAL_ASSISTANCE, BenefitType.UNEMPLOYMENT_BENEFIT)
# §14(1): a recipient of these must be assessed (while the first permit is at most three years old);
# an unemployed jobseeker is the employment authority's to assess (§3).
GROUNDS = {
    BenefitType.SOCIAL_ASSISTANCE: AssessmentGround.SOCIAL_ASSISTANCE,
    BenefitType.HOME_CARE_ALLOWANCE: AssessmentGround.CHILD_HOME_CARE_ALLOWANCE,
    BenefitType.UNEMPLOYMENT_BENEFIT: AssessmentGround.UNEMPLOYED_JOBSEEKER,
}


class StaleBenefit(Exception):
    """The benefit was changed by someone else after the form was opened."""


class DuplicateBenefit(Exception):
    """The person already has this benefit from the same day."""


# --- rules on recorded benefits (pure) -------------------------------------------------------------


def is_current(benefit: Benefit, on: date) -> bool:
    """Received (not only applied for) on the day: started, and not ended before it."""
    return (
        benefit.status == BenefitStatus.RECEIVING
        and (benefit.starts_on is None or benefit.starts_on <= on)
        and (benefit.ends_on is None or benefit.ends_on >= on)
    )


def binding_of(benefits: Iterable[Benefit], on: date) -> list[Benefit]:
    """§24: the current benefits that make participation in the plan binding for the client."""
    return [b for b in benefits if b.type in BINDING_TYPES and is_current(b, on)]


def assessment_grounds(benefits: Iterable[Benefit], on: date) -> set[AssessmentGround]:
    """§14(1): the grounds for an assessment that the person's current benefits show."""
    return {GROUNDS[b.type] for b in benefits if b.type in GROUNDS and is_current(b, on)}


def type_text(benefit: Benefit) -> str:
    """What the benefit is called on a page: the label, or the officer's words for another benefit."""
    from app.labels import label

    if benefit.type == BenefitType.OTHER and benefit.other_type:
        return benefit.other_type
    return label(benefit.type)


def source_text(benefit: Benefit, names: Mapping[uuid.UUID, str]) -> str:
    """Where the information came from, and who recorded or last changed it."""
    name = names.get(benefit.recorded_by_id) if benefit.recorded_by_id else None
    if benefit.source == BenefitSource.IMPORT:
        if name:
            return _("Imported list, changed by %(name)s") % {"name": name}
        return _("Imported list")
    if name:
        return _("Recorded by %(name)s") % {"name": name}
    return _("Recorded by an officer")


# --- the form ----------------------------------------------------------------------------------------


@dataclass
class BenefitInput:
    values: dict[str, Any] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)


def read_form(data: Mapping[str, Any]) -> BenefitInput:
    errors = FormErrors()
    v: dict[str, Any] = {}
    v["type"] = choice(data, "type", BenefitType, errors)
    v["other_type"] = (
        text(data, "other_type", MAX_OTHER_TYPE, errors) if v["type"] == BenefitType.OTHER else None
    )
    if v["type"] == BenefitType.OTHER and not v["other_type"]:
        errors["other_type"] = _("Name the benefit.")
    v["status"] = choice(data, "status", BenefitStatus, errors)
    v["starts_on"] = date_field(data, "starts_on", errors, not_future=False)
    v["ends_on"] = date_field(data, "ends_on", errors, not_future=False)
    if v["starts_on"] and v["ends_on"] and v["ends_on"] < v["starts_on"]:
        errors["ends_on"] = _("The benefit cannot end before it starts.")
    return BenefitInput(values=v, errors=errors)


def as_form(benefit: Benefit) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(FORM_FIELDS, "")
    for name in FORM_FIELDS:
        value = getattr(benefit, name)
        if isinstance(value, date):
            values[name] = value.isoformat()
        elif value is not None:
            values[name] = str(getattr(value, "value", value))
    values["version"] = str(benefit.version)
    return values


# --- reading -----------------------------------------------------------------------------------------


def _ordered(statement: Any) -> Any:
    return statement.order_by(
        Benefit.ends_on.is_not(None), Benefit.starts_on.desc(), Benefit.created_at.desc(), Benefit.id
    ).limit(MAX_LISTED)


async def for_client(db: AsyncSession, client_id: uuid.UUID) -> list[Benefit]:
    """The client's benefits: ongoing first, then by start, newest first."""
    return list((await db.scalars(_ordered(select(Benefit).where(Benefit.client_id == client_id)))).all())


async def for_item(db: AsyncSession, item: OutreachItem) -> list[Benefit]:
    """The person's benefits on the outreach item, and the client's when the item is linked to one."""
    condition = Benefit.outreach_item_id == item.id
    if item.client_id is not None:
        condition = or_(condition, Benefit.client_id == item.client_id)
    return list((await db.scalars(_ordered(select(Benefit).where(condition)))).all())


async def load_for_client(db: AsyncSession, client: Client, benefit_id: uuid.UUID) -> Benefit | None:
    return await db.scalar(select(Benefit).where(Benefit.id == benefit_id, Benefit.client_id == client.id))


async def load_for_item(db: AsyncSession, item: OutreachItem, benefit_id: uuid.UUID) -> Benefit | None:
    return await db.scalar(
        select(Benefit).where(Benefit.id == benefit_id, Benefit.outreach_item_id == item.id)
    )


async def binding(db: AsyncSession, client_id: uuid.UUID, on: date) -> list[Benefit]:
    """§24 for the plan page: the client's current benefits that make participation binding."""
    found = await db.scalars(
        select(Benefit).where(
            Benefit.client_id == client_id,
            Benefit.type.in_(BINDING_TYPES),
            Benefit.status == BenefitStatus.RECEIVING,
        )
    )
    return binding_of(found, on)


async def recorder_names(db: AsyncSession, benefits: Sequence[Benefit]) -> dict[uuid.UUID, str]:
    wanted = {b.recorded_by_id for b in benefits if b.recorded_by_id is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    return {row.id: row.full_name for row in rows}


@dataclass
class BenefitsSection:
    """The client page's benefit section (officer/outreach/_benefits_section.html)."""

    benefits: list[Benefit]
    names: dict[uuid.UUID, str]
    may_write: bool
    binding: list[Benefit]
    on: date

    @property
    def types(self) -> type[BenefitType]:
        return BenefitType

    @property
    def statuses(self) -> type[BenefitStatus]:
        return BenefitStatus

    def current(self, benefit: Benefit) -> bool:
        return is_current(benefit, self.on)

    def type_text(self, benefit: Benefit) -> str:
        return type_text(benefit)

    def source_text(self, benefit: Benefit) -> str:
        return source_text(benefit, self.names)


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> BenefitsSection | None:
    """What the client page shows of the client's benefits. The caller loaded the client under the
    actor's client scope; whoever reads the client reads the benefits, the responsible officers change them."""
    found = await for_client(db, client.id)
    on = today()
    if found:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            client_id=client.id,
            object_type="benefit",
            fields=["type", "other_type", "status", "starts_on", "ends_on", "source"],
        )
    return BenefitsSection(
        benefits=found,
        names=await recorder_names(db, found),
        may_write=may_write_client(actor, client),
        binding=binding_of(found, on),
        on=on,
    )


# --- changes -----------------------------------------------------------------------------------------


async def _duplicate(
    db: AsyncSession,
    values: Mapping[str, Any],
    client_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    exclude: uuid.UUID | None = None,
) -> bool:
    """The same person already has the benefit of this type from the same day ('other' benefits by name)."""
    owners = []
    if client_id is not None:
        owners.append(Benefit.client_id == client_id)
    if item_id is not None:
        owners.append(Benefit.outreach_item_id == item_id)
    statement = select(Benefit.id).where(
        or_(*owners),
        Benefit.type == values["type"],
        Benefit.starts_on.is_(None)
        if values["starts_on"] is None
        else Benefit.starts_on == values["starts_on"],
    )
    if values["type"] == BenefitType.OTHER:
        statement = statement.where(Benefit.other_type == values["other_type"])
    if exclude is not None:
        statement = statement.where(Benefit.id != exclude)
    return await db.scalar(statement.limit(1)) is not None


async def add(
    db: AsyncSession,
    actor: Actor,
    parsed: BenefitInput,
    *,
    client: Client | None = None,
    item: OutreachItem | None = None,
) -> Benefit:
    """A benefit recorded by an officer for a client or for a person on the outreach list (or both, when
    the item is linked to the client). DuplicateBenefit when the person already has it."""
    client_id = client.id if client is not None else (item.client_id if item is not None else None)
    item_id = item.id if item is not None else None
    assert client_id is not None or item_id is not None
    if await _duplicate(db, parsed.values, client_id, item_id):
        raise DuplicateBenefit
    benefit = Benefit(
        organisation_id=actor.organisation_id,
        client_id=client_id,
        outreach_item_id=item_id,
        source=BenefitSource.OFFICER,
        recorded_by_id=actor.staff_id,
        **parsed.values,
    )
    db.add(benefit)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client_id,
        object_type="benefit",
        object_id=benefit.id,
        fields=[name for name in FORM_FIELDS if parsed.values.get(name) is not None] + ["source"],
    )
    return benefit


async def update(
    db: AsyncSession, actor: Actor, benefit: Benefit, seen_version: int, parsed: BenefitInput
) -> list[str]:
    """Apply the edit form if nobody changed the benefit meanwhile (StaleBenefit otherwise)."""
    if seen_version != benefit.version:
        raise StaleBenefit
    if await _duplicate(db, parsed.values, benefit.client_id, benefit.outreach_item_id, exclude=benefit.id):
        raise DuplicateBenefit
    changed = [name for name in FORM_FIELDS if getattr(benefit, name) != parsed.values.get(name)]
    for name in changed:
        setattr(benefit, name, parsed.values.get(name))
    if changed:
        benefit.recorded_by_id = actor.staff_id
    await _save(db, actor, benefit, changed)
    return changed


async def end(db: AsyncSession, actor: Actor, benefit: Benefit, seen_version: int, ends_on: date) -> None:
    """The benefit ends on the day (the last day it is paid)."""
    if seen_version != benefit.version:
        raise StaleBenefit
    benefit.ends_on = ends_on
    benefit.recorded_by_id = actor.staff_id
    await _save(db, actor, benefit, ["ends_on"])


async def _save(db: AsyncSession, actor: Actor, benefit: Benefit, changed: list[str]) -> None:
    try:
        await db.flush()
    except StaleDataError as error:  # saved by someone else between our read and our write
        raise StaleBenefit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=benefit.client_id,
            object_type="benefit",
            object_id=benefit.id,
            fields=changed,
        )


async def move_to_client(db: AsyncSession, actor: Actor, item: OutreachItem, client: Client) -> int:
    """The outreach item's benefits go with the person to the client (the item has just been linked).
    A benefit the client already has (same type and start) stays recorded once: the client's record."""
    pending = list(
        (
            await db.scalars(
                select(Benefit).where(Benefit.outreach_item_id == item.id, Benefit.client_id.is_(None))
            )
        ).all()
    )
    if not pending:
        return 0
    known = {
        (b.type, b.starts_on, b.other_type)
        for b in await db.scalars(select(Benefit).where(Benefit.client_id == client.id))
    }
    moved = []
    for benefit in pending:
        if (benefit.type, benefit.starts_on, benefit.other_type) in known:
            await db.delete(benefit)
            continue
        benefit.client_id = client.id
        moved.append(benefit)
    await db.flush()
    if moved:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=client.id,
            object_type="benefit",
            object_id=item.id,
            fields=["client_id"],
        )
    return len(moved)
