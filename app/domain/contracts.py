"""Contracts with service providers (service 11): interpretation, training, housing leases for quota
refugees and others; their parties, subject, validity, value, renewal reminders and attachments.

Contracts belong to one organisation and are seen and changed only by its staff with the contracts
permission; another organisation's contract does not exist for them (404). A contract is a record: it
is never deleted, only its attachments are. Contract data is not personal data, except that a housing
lease may name a client: that link is chosen among the organisation's own clients through the access
policy, and every view or change of a contract linked to a client is audit-logged with the client's id.

Renewal reminders: `renewal_notice_days` (90 when not set) before `ends_on` the contract appears on its
responsible person's worklist and stays there until someone records a decision — renewed (a new end date,
which starts a new reminder period) or ending as agreed (`reminded_on`). An ending nobody decided on stays,
overdue, for REMINDER_GRACE_DAYS after the end and then drops off; the contract list still shows it ended.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from babel import numbers
from sqlalchemy import ColumnElement, Date, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import utcnow
from app.db.client import Client
from app.db.contracts import Contract, ContractAttachment, ContractKind
from app.db.organisation import Staff, StaffRole
from app.domain import audit, text
from app.domain.audit import Action
from app.domain.forms import FormErrors, as_input, choice, date_field
from app.domain.policy import ROLE_PERMISSIONS, Actor, Permission
from app.domain.uploads import Stored
from app.i18n import _, format_date, get_locale
from app.labels import label

DEFAULT_NOTICE_DAYS = 90
MAX_NOTICE_DAYS = 730
REMINDER_GRACE_DAYS = 30
MAX_VALUE = Decimal("9999999999.99")  # Numeric(12, 2)
CENT = Decimal("0.01")
# The fields of the form, in the order they are shown (the client link is chosen separately).
FORM_FIELDS = (
    "kind",
    "subject",
    "provider_name",
    "provider_business_id",
    "provider_contact",
    "starts_on",
    "ends_on",
    "value",
    "renewal_notice_days",
    "responsible_staff_id",
    "notes",
)
CONTRACT_ROLES = frozenset(
    role for role, granted in ROLE_PERMISSIONS.items() if Permission.CONTRACTS in granted
)


class StaleEdit(Exception):
    """Someone saved the contract after the form was opened."""


class Status(StrEnum):
    UPCOMING = "upcoming"  # starts later
    IN_FORCE = "in_force"
    ENDING = "ending"  # in force, within the renewal notice period
    ENDED = "ended"


# --- rules on one contract ------------------------------------------------------------------------


def notice_days(contract: Contract) -> int:
    return DEFAULT_NOTICE_DAYS if contract.renewal_notice_days is None else contract.renewal_notice_days


def notice_from(contract: Contract) -> date | None:
    """The day the renewal reminder appears; None for a contract valid until further notice."""
    return contract.ends_on - timedelta(days=notice_days(contract)) if contract.ends_on else None


def status_of(contract: Contract, on: date) -> Status:
    if contract.ends_on is not None and contract.ends_on < on:
        return Status.ENDED
    if contract.starts_on > on:
        return Status.UPCOMING
    starts_notice = notice_from(contract)
    if starts_notice is not None and starts_notice <= on:
        return Status.ENDING
    return Status.IN_FORCE


def reminder_open(contract: Contract, on: date) -> bool:
    """The renewal decision is due: the notice period has begun, nobody decided yet, not long ended."""
    starts_notice = notice_from(contract)
    return (
        contract.ends_on is not None
        and starts_notice is not None
        and contract.reminded_on is None
        and starts_notice <= on
        and contract.ends_on >= on - timedelta(days=REMINDER_GRACE_DAYS)
    )


# --- the same rules as SQL, for the list and the worklist -------------------------------------------


def notice_from_column(db: AsyncSession) -> ColumnElement[date | None]:
    """SQL for notice_from(): ends_on minus the notice days (date arithmetic differs per database)."""
    days = func.coalesce(Contract.renewal_notice_days, DEFAULT_NOTICE_DAYS)
    if db.get_bind().dialect.name == "sqlite":
        return func.date(Contract.ends_on, func.printf("-%d days", days), type_=Date)
    return Contract.ends_on - days  # PostgreSQL: date - integer is a date


def reminder_due(db: AsyncSession, on: date) -> ColumnElement[bool]:
    """SQL for reminder_open(): the worklist's contracts to decide on."""
    return and_(
        Contract.ends_on.is_not(None),
        Contract.reminded_on.is_(None),
        Contract.ends_on >= on - timedelta(days=REMINDER_GRACE_DAYS),
        notice_from_column(db) <= on,
    )


def status_clause(db: AsyncSession, status: Status, on: date) -> ColumnElement[bool]:
    in_force = and_(Contract.starts_on <= on, or_(Contract.ends_on.is_(None), Contract.ends_on >= on))
    if status == Status.UPCOMING:
        return Contract.starts_on > on
    if status == Status.ENDED:
        return Contract.ends_on < on
    ending = and_(Contract.ends_on.is_not(None), notice_from_column(db) <= on)
    if status == Status.ENDING:
        return and_(in_force, ending)
    return in_force  # IN_FORCE in the filter: every contract in force, ending soon or not


# --- Finnish business ID (Y-tunnus) -----------------------------------------------------------------

BUSINESS_ID = re.compile(r"(\d{6,7})-(\d)")
BUSINESS_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


def business_id_check_digit(digits: str) -> int | None:
    """The check digit of the seven digits, or None when no digit can be right (remainder 1)."""
    remainder = sum(int(d) * w for d, w in zip(digits, BUSINESS_ID_WEIGHTS, strict=True)) % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


def normalise_business_id(raw: str) -> str | None:
    """'1234567-8' form of a valid business ID (an old six-digit one gets its leading zero), else None."""
    value = re.sub(r"\s+", "", raw).upper().replace("‐", "-").replace("–", "-")
    if value.startswith("FI") and value[2:].isdigit() and len(value) == 10:  # the VAT number form
        value = f"{value[2:9]}-{value[9]}"
    match = BUSINESS_ID.fullmatch(value)
    if match is None:
        return None
    digits = match.group(1).rjust(7, "0")
    if business_id_check_digit(digits) != int(match.group(2)):
        return None
    return f"{digits}-{match.group(2)}"


# --- money ----------------------------------------------------------------------------------------


def parse_euros(raw: str) -> Decimal:
    """'12 500,50', '12500.5', '12 500 €' → Decimal('12500.50'); ValueError for anything else."""
    value = re.sub(r"[\s\u00a0\u202f€]", "", raw)
    if value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d+)?", value):
        raise ValueError(raw)
    try:
        amount = Decimal(value)
    except InvalidOperation as error:
        raise ValueError(raw) from error
    if amount != amount.quantize(CENT):
        raise ValueError(raw)
    return amount.quantize(CENT)


def euros(value: Decimal | None) -> str:
    """An amount in the interface language, e.g. '12 500,00 €'."""
    if value is None:
        return ""
    return numbers.format_currency(value, "EUR", locale=get_locale())


# --- the form -------------------------------------------------------------------------------------


@dataclass
class ContractInput:
    values: dict[str, Any] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)


def _text(data: Mapping[str, Any], name: str, max_length: int, errors: FormErrors, *, required: bool = False,
          message: str = "") -> str | None:  # fmt: skip
    value = str(data.get(name) or "").strip()
    if not value:
        if required:
            errors[name] = message
        return None
    if len(value) > max_length:
        errors[name] = _("Use at most %(num)d characters.") % {"num": max_length}
        return None
    return value


def read_form(data: Mapping[str, Any], staff_ids: Collection[str]) -> ContractInput:
    """Every field checked; errors are translated messages by field name."""
    parsed = ContractInput()
    errors = parsed.errors
    values = parsed.values
    values["kind"] = choice(data, "kind", ContractKind, errors)
    values["subject"] = _text(data, "subject", 300, errors, required=True,
                              message=_("Write what the contract is about."))  # fmt: skip
    values["provider_name"] = _text(data, "provider_name", 200, errors, required=True,
                                    message=_("Write the name of the service provider."))  # fmt: skip
    raw_id = _text(data, "provider_business_id", 20, errors)
    values["provider_business_id"] = None
    if raw_id:
        values["provider_business_id"] = normalise_business_id(raw_id)
        if values["provider_business_id"] is None:
            errors["provider_business_id"] = _(
                "This is not a valid business ID. It has seven digits, a hyphen and a check digit, "
                "for example 0112038-9."
            )
    values["provider_contact"] = _text(data, "provider_contact", 400, errors)
    values["starts_on"] = date_field(data, "starts_on", errors, required=True, not_future=False)
    values["ends_on"] = date_field(data, "ends_on", errors, not_future=False)
    if values["starts_on"] and values["ends_on"] and values["ends_on"] < values["starts_on"]:
        errors["ends_on"] = _("The end date cannot be before the start date.")
    raw_value = str(data.get("value") or "").strip()
    values["value"] = None
    if raw_value:
        try:
            values["value"] = parse_euros(raw_value)
        except ValueError:
            errors["value"] = _(
                "Enter the value in euros with at most two decimals, for example 12 500 or 12 500,50."
            )
        else:
            if values["value"] > MAX_VALUE:
                errors["value"] = _("Check the value: it is too large.")
    raw_days = str(data.get("renewal_notice_days") or "").strip()
    values["renewal_notice_days"] = None
    if raw_days:
        if raw_days.isdigit() and int(raw_days) <= MAX_NOTICE_DAYS:
            values["renewal_notice_days"] = int(raw_days)
        else:
            errors["renewal_notice_days"] = _("Enter a number of days from 0 to %(num)d.") % {
                "num": MAX_NOTICE_DAYS
            }
    responsible = str(data.get("responsible_staff_id") or "").strip()
    values["responsible_staff_id"] = None
    if responsible:
        if responsible in staff_ids:
            values["responsible_staff_id"] = uuid.UUID(responsible)
        else:
            errors["responsible_staff_id"] = _("Choose one of the options.")
    values["notes"] = _text(data, "notes", 4000, errors)
    return parsed


def form_values(contract: Contract) -> dict[str, Any]:
    """A stored contract as the strings its form would post."""
    values = as_input(contract, FORM_FIELDS)
    values["value"] = f"{contract.value:.2f}".replace(".", ",") if contract.value is not None else ""
    values["client_id"] = str(contract.client_id) if contract.client_id else ""
    values["version"] = contract.version
    return values


def field_labels() -> dict[str, str]:
    return {
        "kind": _("Kind of contract"),
        "subject": _("Subject"),
        "provider_name": _("Name of the service provider"),
        "provider_business_id": _("Business ID"),
        "provider_contact": _("Contact person and contact details"),
        "starts_on": _("Start date"),
        "ends_on": _("End date"),
        "value": _("Value in euros, without VAT"),
        "renewal_notice_days": _("Renewal reminder, days before the end"),
        "responsible_staff_id": _("Responsible person"),
        "notes": _("Notes"),
        "client_id": _("Client"),
    }


def differences(
    saved: Contract, form: Mapping[str, Any], names: Mapping[uuid.UUID, str]
) -> list[tuple[str, str]]:
    """(field, saved value as shown) for each field where the saved contract differs from the form."""
    saved_input = form_values(saved)
    labels = field_labels()
    rows = []
    for name in (*FORM_FIELDS, "client_id"):
        mine = str(form.get(name) or "").strip()
        theirs = str(saved_input.get(name) or "")
        if name == "value" and mine:
            with contextlib.suppress(ValueError):
                mine = f"{parse_euros(mine):.2f}".replace(".", ",")
        if mine == theirs:
            continue
        value = getattr(saved, name)
        if value is None or value == "":
            shown = ""
        elif name == "kind":
            shown = label(value)
        elif name in ("starts_on", "ends_on"):
            shown = format_date(value)
        elif name == "value":
            shown = euros(value)
        elif name == "responsible_staff_id":
            shown = names.get(value, "")
        elif name == "client_id":
            shown = _("A client is linked")
        else:
            shown = str(value)
        rows.append((labels[name], shown))
    return rows


def new_form() -> dict[str, Any]:
    return {"renewal_notice_days": str(DEFAULT_NOTICE_DAYS), "client_id": ""}


async def staff_choices(db: AsyncSession, actor: Actor, also: uuid.UUID | None = None) -> list[Staff]:
    """Who can be responsible: the organisation's active staff with the contracts permission, and the one
    responsible now (who may since have left or changed role)."""
    may = select(StaffRole.staff_id).where(StaffRole.role.in_(CONTRACT_ROLES))
    condition: ColumnElement[bool] = and_(Staff.active.is_(True), Staff.id.in_(may))
    if also is not None:
        condition = or_(condition, Staff.id == also)
    result = await db.scalars(
        select(Staff)
        .where(Staff.organisation_id == actor.organisation_id, condition)
        .order_by(Staff.full_name, Staff.id)
    )
    return list(result.all())


# --- reading --------------------------------------------------------------------------------------


async def load(db: AsyncSession, actor: Actor, contract_id: uuid.UUID) -> Contract | None:
    """The contract if it is the actor's organisation's and the actor handles contracts; else None (404)."""
    if not actor.has(Permission.CONTRACTS):
        return None
    return await db.scalar(
        select(Contract).where(Contract.id == contract_id, Contract.organisation_id == actor.organisation_id)
    )


@dataclass(frozen=True)
class Filters:
    kind: ContractKind | None = None
    status: Status | None = None
    query: str = ""

    @classmethod
    def read(cls, params: Mapping[str, Any]) -> Filters:
        kind = str(params.get("kind") or "")
        status = str(params.get("status") or "")
        return cls(
            kind=ContractKind(kind) if kind in set(ContractKind) else None,
            status=Status(status) if status in set(Status) else None,
            query=" ".join(str(params.get("q") or "").split())[:100],
        )

    def as_form(self) -> dict[str, str]:
        return {"kind": self.kind or "", "status": self.status or "", "q": self.query}


@dataclass(frozen=True)
class Row:
    contract: Contract
    status: Status
    responsible: str | None


async def listing(db: AsyncSession, actor: Actor, filters: Filters, on: date) -> list[Row]:
    """The organisation's contracts matching the filters, by end date (open-ended last), then subject.
    The words of the text search must all appear in the subject, provider or business ID, folded like
    names are (case and diacritics ignored)."""
    if not actor.has(Permission.CONTRACTS):
        return []
    statement = select(Contract).where(Contract.organisation_id == actor.organisation_id)
    if filters.kind:
        statement = statement.where(Contract.kind == filters.kind)
    if filters.status:
        statement = statement.where(status_clause(db, filters.status, on))
    contracts = (
        await db.scalars(
            statement.order_by(Contract.ends_on.is_(None), Contract.ends_on, Contract.subject, Contract.id)
        )
    ).all()
    words = text.fold(filters.query).split()
    if words:
        contracts = [
            c
            for c in contracts
            if all(
                w in text.fold(f"{c.subject} {c.provider_name} {c.provider_business_id or ''}") for w in words
            )
        ]
    names = await staff_names(db, [c.responsible_staff_id for c in contracts])
    return [
        Row(c, status_of(c, on), names.get(c.responsible_staff_id) if c.responsible_staff_id else None)
        for c in contracts
    ]


async def staff_names(db: AsyncSession, ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    return {row.id: row.full_name for row in rows}


async def attachments_of(db: AsyncSession, contract: Contract) -> list[ContractAttachment]:
    result = await db.scalars(
        select(ContractAttachment)
        .where(ContractAttachment.contract_id == contract.id)
        .order_by(ContractAttachment.created_at, ContractAttachment.id)
    )
    return list(result.all())


async def load_attachment(
    db: AsyncSession, contract: Contract, attachment_id: uuid.UUID
) -> ContractAttachment | None:
    return await db.scalar(
        select(ContractAttachment).where(
            ContractAttachment.id == attachment_id, ContractAttachment.contract_id == contract.id
        )
    )


# --- changing -------------------------------------------------------------------------------------


def _apply(contract: Contract, values: Mapping[str, Any]) -> list[str]:
    changed = []
    for name in FORM_FIELDS:
        if getattr(contract, name) != values.get(name):
            setattr(contract, name, values.get(name))
            changed.append(name)
    return changed


async def _record(
    db: AsyncSession, action: Action, actor: Actor, contract: Contract, fields: list[str],
    client_id: uuid.UUID | None = None,
) -> None:  # fmt: skip
    await audit.record(
        db,
        action,
        actor=actor,
        client_id=client_id if client_id is not None else contract.client_id,
        object_type="contract",
        object_id=contract.id,
        fields=fields,
    )


async def create(db: AsyncSession, actor: Actor, parsed: ContractInput, client: Client | None) -> Contract:
    contract = Contract(organisation_id=actor.organisation_id, client_id=client.id if client else None)
    _apply(contract, parsed.values)
    db.add(contract)
    await db.flush()
    fields = [n for n in FORM_FIELDS if parsed.values.get(n) is not None] + (["client_id"] if client else [])
    await _record(db, Action.CREATE, actor, contract, fields)
    return contract


async def update(
    db: AsyncSession,
    actor: Actor,
    contract: Contract,
    seen_version: int,
    parsed: ContractInput,
    client_id: uuid.UUID | None,
) -> list[str]:
    """Apply the form if nobody saved in between (else StaleEdit). A new end date starts a new reminder
    period. A changed client link is audit-logged for both the client unlinked and the one linked."""
    if seen_version != contract.version:
        raise StaleEdit
    previous_end, previous_client = contract.ends_on, contract.client_id
    changed = _apply(contract, parsed.values)
    if previous_client != client_id:
        contract.client_id = client_id
        changed.append("client_id")
    if contract.ends_on != previous_end and contract.reminded_on is not None:
        contract.reminded_on = None
        changed.append("reminded_on")
    if not changed:
        return []
    contract.updated_at = utcnow()
    try:
        await db.flush()
    except StaleDataError as error:  # saved by someone else between our read and our write
        raise StaleEdit from error
    await _record(db, Action.UPDATE, actor, contract, changed)
    if previous_client is not None and previous_client != client_id:
        await _record(db, Action.UPDATE, actor, contract, ["client_id"], client_id=previous_client)
    return changed


class Decision(StrEnum):
    RENEWED = "renewed"
    WILL_END = "will_end"


def read_decision(
    data: Mapping[str, Any], contract: Contract
) -> tuple[Decision | None, date | None, FormErrors]:
    """The renewal decision of the reminder form: renewed (with the new end date) or ending as agreed."""
    errors = FormErrors()
    decision = choice(data, "decision", Decision, errors)
    new_end = None
    if decision == Decision.RENEWED:
        new_end = date_field(data, "new_ends_on", errors, required=True, not_future=False)
        if new_end is not None and contract.ends_on is not None and new_end <= contract.ends_on:
            errors["new_ends_on"] = _("The new end date must be after the current one.")
            new_end = None
    return decision, new_end, errors


async def decide(
    db: AsyncSession,
    actor: Actor,
    contract: Contract,
    seen_version: int,
    decision: Decision,
    new_end: date | None,
    on: date,
) -> None:
    """Record the renewal decision: renewed moves the end date (and a new reminder period begins);
    ending as agreed takes the contract off the worklist."""
    if seen_version != contract.version:
        raise StaleEdit
    if decision == Decision.RENEWED:
        contract.ends_on = new_end
        contract.reminded_on = None
        fields = ["ends_on", "reminded_on"]
    else:
        contract.reminded_on = on
        fields = ["reminded_on"]
    contract.updated_at = utcnow()
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await _record(db, Action.UPDATE, actor, contract, fields)


async def add_attachment(
    db: AsyncSession, actor: Actor, contract: Contract, stored: Stored
) -> ContractAttachment:
    attachment = ContractAttachment(
        contract_id=contract.id,
        filename=stored.filename,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        storage_name=stored.storage_name,
        uploaded_by_id=actor.staff_id,
    )
    db.add(attachment)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=contract.client_id,
        object_type="contract_attachment",
        object_id=attachment.id,
        fields=["filename", "content_type", "size_bytes", "sha256"],
    )
    return attachment


async def record_download(
    db: AsyncSession, actor: Actor, contract: Contract, attachment: ContractAttachment
) -> None:
    await audit.record(
        db,
        Action.EXPORT,
        actor=actor,
        client_id=contract.client_id,
        object_type="contract_attachment",
        object_id=attachment.id,
        fields=["file"],
    )


async def delete_attachment(
    db: AsyncSession, actor: Actor, contract: Contract, attachment: ContractAttachment
) -> str:
    """Delete the row (audited); returns the storage name, whose file the caller removes after commit."""
    storage_name = attachment.storage_name
    await db.delete(attachment)
    await db.flush()
    await audit.record(
        db,
        Action.DELETE,
        actor=actor,
        client_id=contract.client_id,
        object_type="contract_attachment",
        object_id=attachment.id,
        fields=["file", "filename"],
    )
    return storage_name


async def record_view(db: AsyncSession, actor: Actor, contract: Contract) -> None:
    """A page showing a contract linked to a client shows that client's name: audited."""
    if contract.client_id is not None:
        await _record(db, Action.VIEW, actor, contract, ["client_id"])
