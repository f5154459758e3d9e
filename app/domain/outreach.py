"""Outreach (process 3.4.4): the people the municipality should reach, and what it has done about them.

One outreach item per person and organisation (matched by identity code when there is one), from an
imported list (outreach_imports), a referral by another authority, or added by an officer. The worklist
shows the organisation's items by status, with each person's §14 eligibility on the day
(rules.section_14_eligibility): the grounds come from why the person is on the list, from their current
benefits (benefits.assessment_grounds) and, once linked, from the client's own data; the three-year window
counts from the first residence permit, and a victim of human trafficking has no time limit (§14(6)).

An officer records contact attempts (channel, day, outcome, note), changes the status (checked against the
version the page showed: a stale change is refused), and turns the person into a client without retyping —
segment 1, "how the municipality learned of the person" by the list they came from — or links the item to
an existing client. The item's benefits then move to the client (benefits.move_to_client). Officers of
another organisation never see an item (404); only staff with the outreach permission reach these pages.
Every read and change is audited with ids and field names only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.client import Client, KnownHow, PermitType
from app.db.organisation import Staff
from app.db.outreach import (
    Benefit,
    ContactChannel,
    ContactOutcome,
    OutreachContact,
    OutreachImport,
    OutreachItem,
    OutreachReason,
    OutreachStatus,
)
from app.domain import audit, benefits, clients, phone, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, birth_and_identity_code, choice, date_field, text, today
from app.domain.policy import Actor, client_scope
from app.domain.rules import AssessmentGround, Section14, Section14Eligibility
from app.i18n import _

PAGE_SIZE = 50
MAX_CONTACTS = 100  # contact attempts listed on an item's page
MAX_NOTE = 2000
POSTAL_CODE = re.compile(r"^\d{5}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")

# Why the person is on the list → the §14(1) ground it shows.
REASON_GROUNDS: dict[OutreachReason, AssessmentGround] = {
    OutreachReason.SOCIAL_ASSISTANCE: AssessmentGround.SOCIAL_ASSISTANCE,
    OutreachReason.HOME_CARE_ALLOWANCE: AssessmentGround.CHILD_HOME_CARE_ALLOWANCE,
    OutreachReason.INTERNATIONAL_PROTECTION: AssessmentGround.INTERNATIONAL_PROTECTION,
    OutreachReason.TRAFFICKING_VICTIM: AssessmentGround.TRAFFICKING_VICTIM,
    OutreachReason.AUTHORITY_REFERRAL: AssessmentGround.REQUEST_OR_REFERRAL,
}
PERMIT_GROUNDS: dict[PermitType, AssessmentGround] = {
    PermitType.INTERNATIONAL_PROTECTION: AssessmentGround.INTERNATIONAL_PROTECTION,
    PermitType.QUOTA_REFUGEE: AssessmentGround.INTERNATIONAL_PROTECTION,
    PermitType.TRAFFICKING_VICTIM: AssessmentGround.TRAFFICKING_VICTIM,
}
# How the municipality learned of the person, for the client record made from the item.
KNOWN_HOW: dict[OutreachReason, KnownHow] = {
    OutreachReason.SOCIAL_ASSISTANCE: KnownHow.KELA_LIST,
    OutreachReason.HOME_CARE_ALLOWANCE: KnownHow.KELA_LIST,
    OutreachReason.INTERNATIONAL_PROTECTION: KnownHow.IMMIGRATION_SERVICE_LIST,
    OutreachReason.TRAFFICKING_VICTIM: KnownHow.IMMIGRATION_SERVICE_LIST,
    OutreachReason.MOVED_IN: KnownHow.POPULATION_REGISTER,
    OutreachReason.AUTHORITY_REFERRAL: KnownHow.AUTHORITY_REFERRAL,
    OutreachReason.OTHER: KnownHow.OTHER,
}
PERMIT_TYPES: dict[OutreachReason, PermitType] = {
    OutreachReason.INTERNATIONAL_PROTECTION: PermitType.INTERNATIONAL_PROTECTION,
    OutreachReason.TRAFFICKING_VICTIM: PermitType.TRAFFICKING_VICTIM,
}
ITEM_FIELDS = (
    "first_names",
    "last_name",
    "identity_code",
    "date_of_birth",
    "reason",
    "first_permit_date",
    "moved_in_on",
    "language",
    "phone",
    "street_address",
    "postal_code",
    "post_office",
    "note",
)


class StaleItem(Exception):
    """The item was changed by someone else (or by an import) after the page was opened."""


class AlreadyListed(Exception):
    """The organisation already has an outreach item for this identity code."""

    def __init__(self, item_id: uuid.UUID) -> None:
        super().__init__(str(item_id))
        self.item_id = item_id


class AlreadyLinked(Exception):
    """The item is already linked to a client."""


# --- eligibility -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonFacts:
    """What §14 needs of a linked client (read under the actor's client scope)."""

    first_permit_date: date | None
    permit_type: PermitType | None
    unaccompanied_minor: bool


def grounds_of(
    item: OutreachItem, person_benefits: Sequence[Benefit], client: PersonFacts | None, on: date
) -> set[AssessmentGround]:
    """§14(1), §14(6), §9: the grounds on record — the list the person came from, their current benefits,
    and the client's permit type and unaccompanied-minor status once linked."""
    found = set(benefits.assessment_grounds(person_benefits, on))
    if item.reason in REASON_GROUNDS:
        found.add(REASON_GROUNDS[item.reason])
    if client is not None:
        if client.permit_type in PERMIT_GROUNDS:
            found.add(PERMIT_GROUNDS[client.permit_type])
        if client.unaccompanied_minor:
            found.add(AssessmentGround.UNACCOMPANIED_MINOR)
    return found


def eligibility_of(
    item: OutreachItem, person_benefits: Sequence[Benefit], client: PersonFacts | None, on: date
) -> Section14Eligibility:
    first_permit = item.first_permit_date or (client.first_permit_date if client else None)
    return rules.section_14_eligibility(first_permit, grounds_of(item, person_benefits, client, on), on)


def eligibility_text(found: Section14Eligibility) -> str:
    """The worklist's words for a verdict (translated)."""
    if found.verdict == Section14.MUST_ASSESS:
        assert found.window_ends is not None
        return _(
            "Must be assessed: the first permit is at most three years old until %(date)s (section 14)."
        ) % {"date": _date(found.window_ends)}
    if found.verdict == Section14.TRAFFICKING_NO_LIMIT:
        return _("Must be assessed: a victim of human trafficking, with no three-year limit (section 14(6)).")
    if found.verdict == Section14.EMPLOYMENT_AUTHORITY:
        return _("An unemployed jobseeker: the employment authority assesses (section 3).")
    if found.verdict == Section14.WINDOW_ENDED:
        assert found.window_ends is not None
        return _("No duty to assess: three years from the first permit ended on %(date)s (section 14).") % {
            "date": _date(found.window_ends)
        }
    if found.verdict == Section14.PERMIT_DATE_UNKNOWN:
        return _(
            "Find out the date of the first residence permit: the duty to assess lasts three years from it."
        )
    return _("No ground for a mandatory assessment on record. The person may still ask for one (section 9).")


def eligibility_short(found: Section14Eligibility) -> str:
    return {
        Section14.MUST_ASSESS: _("Must be assessed"),
        Section14.TRAFFICKING_NO_LIMIT: _("Must be assessed (no time limit)"),
        Section14.EMPLOYMENT_AUTHORITY: _("Employment authority"),
        Section14.WINDOW_ENDED: _("Three years passed"),
        Section14.PERMIT_DATE_UNKNOWN: _("Permit date unknown"),
        Section14.NO_GROUND: _("No ground on record"),
    }[found.verdict]


def _date(value: date) -> str:
    from app.i18n import format_date

    return format_date(value)


# --- the worklist --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistRow:
    item: OutreachItem
    eligibility: Section14Eligibility
    contacts: int
    last_contact: date | None


@dataclass
class Worklist:
    rows: list[WorklistRow]
    status: OutreachStatus | None
    page: int
    has_next: bool
    counts: dict[OutreachStatus, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def _person_facts(
    db: AsyncSession, actor: Actor, client_ids: set[uuid.UUID]
) -> dict[uuid.UUID, PersonFacts]:
    if not client_ids:
        return {}
    rows = await db.execute(
        select(Client.id, Client.first_permit_date, Client.permit_type, Client.unaccompanied_minor).where(
            Client.id.in_(client_ids), client_scope(actor)
        )
    )
    return {r.id: PersonFacts(r.first_permit_date, r.permit_type, r.unaccompanied_minor) for r in rows}


async def _benefits_of(db: AsyncSession, items: Sequence[OutreachItem]) -> dict[uuid.UUID, list[Benefit]]:
    """Each item's benefits and its client's, in one query (keyed by item id)."""
    item_ids = [i.id for i in items]
    client_items: dict[uuid.UUID, list[uuid.UUID]] = {}
    for i in items:
        if i.client_id is not None:
            client_items.setdefault(i.client_id, []).append(i.id)
    if not item_ids:
        return {}
    condition: ColumnElement[bool] = Benefit.outreach_item_id.in_(item_ids)
    if client_items:
        condition = or_(condition, Benefit.client_id.in_(list(client_items)))
    found: dict[uuid.UUID, dict[uuid.UUID, Benefit]] = {}
    for benefit in await db.scalars(select(Benefit).where(condition)):
        owners = set(client_items.get(benefit.client_id, [])) if benefit.client_id else set()
        if benefit.outreach_item_id in item_ids:
            owners.add(benefit.outreach_item_id)
        for owner in owners:
            found.setdefault(owner, {})[benefit.id] = benefit
    return {k: list(v.values()) for k, v in found.items()}


async def worklist(
    db: AsyncSession, actor: Actor, status: OutreachStatus | None, page: int, on: date
) -> Worklist:
    """The organisation's outreach items, a page at a time (one query each for items, benefits,
    clients' facts, contact counts and status counts)."""
    page = max(1, page)
    statement = select(OutreachItem).where(OutreachItem.organisation_id == actor.organisation_id)
    if status is not None:
        statement = statement.where(OutreachItem.status == status)
    items = list(
        (
            await db.scalars(
                statement.order_by(OutreachItem.last_name, OutreachItem.first_names, OutreachItem.id)
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE + 1)
            )
        ).all()
    )
    has_next = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    by_item = await _benefits_of(db, items)
    facts = await _person_facts(db, actor, {i.client_id for i in items if i.client_id})
    contacts: dict[uuid.UUID, tuple[int, date | None]] = {}
    if items:
        for row in await db.execute(
            select(OutreachContact.item_id, func.count(), func.max(OutreachContact.attempted_on))
            .where(OutreachContact.item_id.in_([i.id for i in items]))
            .group_by(OutreachContact.item_id)
        ):
            contacts[row[0]] = (row[1], row[2])
    counts = {
        OutreachStatus(row[0]): row[1]
        for row in await db.execute(
            select(OutreachItem.status, func.count())
            .where(OutreachItem.organisation_id == actor.organisation_id)
            .group_by(OutreachItem.status)
        )
    }
    rows = [
        WorklistRow(
            item=i,
            eligibility=eligibility_of(
                i, by_item.get(i.id, []), facts.get(i.client_id) if i.client_id else None, on
            ),
            contacts=contacts.get(i.id, (0, None))[0],
            last_contact=contacts.get(i.id, (0, None))[1],
        )
        for i in items
    ]
    if rows:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            object_type="outreach_item",
            fields=["first_names", "last_name", "status", "reason", "eligibility"],
        )
    return Worklist(rows=rows, status=status, page=page, has_next=has_next, counts=counts)


# --- one item --------------------------------------------------------------------------------------


async def load(db: AsyncSession, actor: Actor, item_id: uuid.UUID) -> OutreachItem | None:
    """The item if it is the actor's organisation's, else None (the caller answers 404)."""
    return await db.scalar(
        select(OutreachItem).where(
            OutreachItem.id == item_id, OutreachItem.organisation_id == actor.organisation_id
        )
    )


@dataclass(frozen=True)
class ContactView:
    contact: OutreachContact
    recorded_by: str


@dataclass
class ItemPage:
    item: OutreachItem
    eligibility: Section14Eligibility
    benefits: list[Benefit]
    contacts: list[ContactView]
    client: Client | None  # the linked client, when the actor may read them
    matches: list[Client]  # probable existing clients, when not linked
    last_import: OutreachImport | None
    created_by: str | None
    benefit_names: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def first_permit_date(self) -> date | None:
        """The date §14 counts from: the item's, else the linked client's."""
        if self.item.first_permit_date is not None:
            return self.item.first_permit_date
        return self.client.first_permit_date if self.client is not None else None

    @property
    def permit_date_from_client(self) -> bool:
        return self.item.first_permit_date is None and self.first_permit_date is not None


async def page_of(db: AsyncSession, actor: Actor, item: OutreachItem, on: date) -> ItemPage:
    person_benefits = await benefits.for_item(db, item)
    client = None
    facts = None
    if item.client_id is not None:
        client = await db.scalar(select(Client).where(Client.id == item.client_id, client_scope(actor)))
        if client is not None:
            facts = PersonFacts(client.first_permit_date, client.permit_type, client.unaccompanied_minor)
    matches: list[Client] = []
    if item.client_id is None:
        matches = await clients.probable_duplicates(
            db,
            actor,
            {
                "identity_code": item.identity_code,
                "phone": item.phone,
                "date_of_birth": item.date_of_birth,
                "first_names": item.first_names,
                "last_name": item.last_name,
            },
        )
        if matches:  # clients of the register are shown: audited like a search of the register
            await audit.record(
                db, Action.SEARCH, actor=actor, object_type="client", fields=["probable_duplicates"]
            )
    rows = await db.execute(
        select(OutreachContact, Staff.full_name)
        .join(Staff, Staff.id == OutreachContact.recorded_by_id)
        .where(OutreachContact.item_id == item.id)
        .order_by(OutreachContact.attempted_on.desc(), OutreachContact.recorded_at.desc())
        .limit(MAX_CONTACTS)
    )
    contacts = [ContactView(r[0], r[1]) for r in rows]
    last_import = await db.get(OutreachImport, item.last_import_id) if item.last_import_id else None
    created_by = (
        await db.scalar(select(Staff.full_name).where(Staff.id == item.created_by_id))
        if item.created_by_id
        else None
    )
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=client.id if client else None,
        object_type="outreach_item",
        object_id=item.id,
        fields=[*ITEM_FIELDS, "status", "benefits", "contacts"],
    )
    return ItemPage(
        item=item,
        eligibility=eligibility_of(item, person_benefits, facts, on),
        benefits=person_benefits,
        contacts=contacts,
        client=client,
        matches=matches,
        last_import=last_import,
        created_by=created_by,
        benefit_names=await benefits.recorder_names(db, person_benefits),
    )


# --- adding and editing a person -----------------------------------------------------------------


@dataclass
class ItemInput:
    values: dict[str, Any] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)


def read_item_form(data: Mapping[str, Any]) -> ItemInput:
    errors = FormErrors()
    v: dict[str, Any] = {}
    v["first_names"] = text(data, "first_names", 200, errors)
    v["last_name"] = text(data, "last_name", 200, errors)
    if not v["first_names"]:
        errors["first_names"] = _("Enter the first names.")
    if not v["last_name"]:
        errors["last_name"] = _("Enter the last name.")
    v["date_of_birth"], v["identity_code"] = birth_and_identity_code(data, errors)
    v["reason"] = choice(data, "reason", OutreachReason, errors)
    v["first_permit_date"] = date_field(data, "first_permit_date", errors)
    v["moved_in_on"] = date_field(data, "moved_in_on", errors)
    v["language"] = (text(data, "language", 12, errors) or "").lower() or None
    if v["language"] and not LANGUAGE.match(v["language"]):
        errors["language"] = _("Choose the language from the list.")
    v["phone"] = None
    raw_phone = text(data, "phone", 40, errors)
    if raw_phone:
        v["phone"] = phone.to_e164(raw_phone)
        if v["phone"] is None:
            errors["phone"] = _("Enter a phone number like 040 123 4567 or +358 40 123 4567.")
    v["street_address"] = text(data, "street_address", 200, errors)
    v["postal_code"] = text(data, "postal_code", 10, errors)
    if v["postal_code"] and not POSTAL_CODE.match(v["postal_code"]):
        errors["postal_code"] = _("A Finnish postal code has five digits.")
    v["post_office"] = text(data, "post_office", 100, errors)
    v["note"] = text(data, "note", MAX_NOTE, errors)
    return ItemInput(values=v, errors=errors)


def as_form(item: OutreachItem) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ITEM_FIELDS:
        value = getattr(item, name)
        if value is None:
            values[name] = ""
        elif isinstance(value, date):
            values[name] = value.isoformat()
        else:
            values[name] = str(getattr(value, "value", value))
    values["version"] = str(item.version)
    return values


async def _listed(
    db: AsyncSession, organisation_id: uuid.UUID, code: str | None, exclude: uuid.UUID | None = None
) -> uuid.UUID | None:
    if not code:
        return None
    statement = select(OutreachItem.id).where(
        OutreachItem.organisation_id == organisation_id, OutreachItem.identity_code == code
    )
    if exclude is not None:
        statement = statement.where(OutreachItem.id != exclude)
    return await db.scalar(statement)


async def _client_by_code(db: AsyncSession, actor: Actor, code: str | None) -> uuid.UUID | None:
    if not code:
        return None
    return await db.scalar(
        select(Client.id).where(Client.organisation_id == actor.organisation_id, Client.identity_code == code)
    )


async def add_item(db: AsyncSession, actor: Actor, parsed: ItemInput) -> OutreachItem:
    """A person added by an officer (AlreadyListed when their identity code already has an item); linked
    to the client who has the same identity code, if any."""
    existing = await _listed(db, actor.organisation_id, parsed.values["identity_code"])
    if existing is not None:
        raise AlreadyListed(existing)
    item = OutreachItem(
        organisation_id=actor.organisation_id,
        status=OutreachStatus.TO_REACH,
        created_by_id=actor.staff_id,
        client_id=await _client_by_code(db, actor, parsed.values["identity_code"]),
        **parsed.values,
    )
    db.add(item)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=item.client_id,
        object_type="outreach_item",
        object_id=item.id,
        fields=[n for n in ITEM_FIELDS if parsed.values.get(n) is not None],
    )
    return item


async def update_item(
    db: AsyncSession, actor: Actor, item: OutreachItem, seen_version: int, parsed: ItemInput
) -> list[str]:
    if seen_version != item.version:
        raise StaleItem
    existing = await _listed(db, actor.organisation_id, parsed.values["identity_code"], exclude=item.id)
    if existing is not None:
        raise AlreadyListed(existing)
    changed = [n for n in ITEM_FIELDS if getattr(item, n) != parsed.values.get(n)]
    for name in changed:
        setattr(item, name, parsed.values.get(name))
    if item.client_id is None and "identity_code" in changed:
        client_id = await _client_by_code(db, actor, item.identity_code)
        if client_id is not None:
            item.client_id = client_id
            changed.append("client_id")
    await _save(db, actor, item, changed)
    if "client_id" in changed and item.client_id is not None:
        client = await db.get(Client, item.client_id)
        assert client is not None
        await benefits.move_to_client(db, actor, item, client)
    return changed


async def _save(db: AsyncSession, actor: Actor, item: OutreachItem, changed: list[str]) -> None:
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleItem from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=item.client_id,
            object_type="outreach_item",
            object_id=item.id,
            fields=changed,
        )


async def set_status(
    db: AsyncSession, actor: Actor, item: OutreachItem, seen_version: int, status: OutreachStatus
) -> None:
    if seen_version != item.version:
        raise StaleItem
    if item.status == status:
        return
    item.status = status
    await _save(db, actor, item, ["status"])


# --- contact attempts ------------------------------------------------------------------------------


@dataclass
class ContactInput:
    channel: ContactChannel | None = None
    attempted_on: date | None = None
    outcome: ContactOutcome | None = None
    note: str | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_contact_form(data: Mapping[str, Any]) -> ContactInput:
    errors = FormErrors()
    return ContactInput(
        channel=choice(data, "channel", ContactChannel, errors),
        attempted_on=date_field(data, "attempted_on", errors, required=True),
        outcome=choice(data, "outcome", ContactOutcome, errors),
        note=text(data, "note", MAX_NOTE, errors),
        errors=errors,
    )


async def add_contact(
    db: AsyncSession, actor: Actor, item: OutreachItem, parsed: ContactInput
) -> OutreachContact:
    """Record a contact attempt. Reaching a person still "to reach" marks them reached."""
    assert parsed.channel is not None
    assert parsed.attempted_on is not None
    assert parsed.outcome is not None
    contact = OutreachContact(
        item_id=item.id,
        channel=parsed.channel,
        attempted_on=parsed.attempted_on,
        outcome=parsed.outcome,
        note=parsed.note,
        recorded_by_id=actor.staff_id,
    )
    db.add(contact)
    changed: list[str] = []
    if parsed.outcome == ContactOutcome.REACHED and item.status == OutreachStatus.TO_REACH:
        item.status = OutreachStatus.REACHED
        changed.append("status")
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=item.client_id,
        object_type="outreach_contact",
        object_id=contact.id,
        fields=["channel", "attempted_on", "outcome"] + (["note"] if parsed.note else []),
    )
    if changed:
        await _save(db, actor, item, changed)
    return contact


# --- becoming a client -----------------------------------------------------------------------------


def known_how(item: OutreachItem) -> KnownHow:
    """How the municipality learned of the person: by the list they came from (why they are listed)."""
    return KNOWN_HOW[item.reason]


def _known_on(item: OutreachItem) -> date:
    from app.i18n import LOCAL_TIME

    return item.created_at.astimezone(LOCAL_TIME).date() if item.created_at else today()


async def create_client(
    db: AsyncSession, actor: Actor, item: OutreachItem, seen_version: int
) -> tuple[Client, bool]:
    """The person becomes a client without retyping (segment 1: moved on their own; known how and when
    from the item). When a client already has the identity code, the item is linked to them instead.
    Returns (client, created)."""
    if seen_version != item.version:
        raise StaleItem
    if item.client_id is not None:
        raise AlreadyLinked
    existing_id = await _client_by_code(db, actor, item.identity_code)
    if existing_id is not None:
        existing = await db.scalar(select(Client).where(Client.id == existing_id, client_scope(actor)))
        assert existing is not None
        await link_client(db, actor, item, seen_version, existing)
        return existing, False
    values: dict[str, Any] = {
        "segment": 1,
        "known_on": _known_on(item),
        "known_how": known_how(item),
        "first_names": item.first_names,
        "last_name": item.last_name,
        "date_of_birth": item.date_of_birth,
        "identity_code": item.identity_code,
        "mother_tongue": item.language,
        "phone": item.phone,
        "street_address": item.street_address,
        "postal_code": item.postal_code,
        "post_office": item.post_office,
        "first_permit_date": item.first_permit_date,
        "permit_type": PERMIT_TYPES.get(item.reason),
        "interpreter_needed": False,
        "unaccompanied_minor": False,
    }
    try:
        async with db.begin_nested():  # the same identity code registered by someone else just now
            client = await clients.create(db, actor, clients.ClientInput(values=values, languages=[]))
    except IntegrityError:
        existing_id = await _client_by_code(db, actor, item.identity_code)
        if existing_id is None:
            raise
        existing = await db.scalar(select(Client).where(Client.id == existing_id, client_scope(actor)))
        assert existing is not None
        await link_client(db, actor, item, seen_version, existing)
        return existing, False
    await link_client(db, actor, item, seen_version, client)
    return client, True


async def link_client(
    db: AsyncSession, actor: Actor, item: OutreachItem, seen_version: int, client: Client
) -> None:
    """Link the item to an existing client (of the actor's organisation); its benefits move to the client."""
    if seen_version != item.version:
        raise StaleItem
    if item.client_id is not None:
        raise AlreadyLinked
    item.client_id = client.id
    await _save(db, actor, item, ["client_id"])
    await benefits.move_to_client(db, actor, item, client)


async def linkable_client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client | None:
    """A client the item may be linked to: in the actor's scope and of the actor's own organisation."""
    return await db.scalar(
        select(Client).where(
            Client.id == client_id, client_scope(actor), Client.organisation_id == actor.organisation_id
        )
    )
