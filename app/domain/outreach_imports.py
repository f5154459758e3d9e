"""Outreach lists as CSV files (process 3.4.4; formats in docs/IMPORTS.md): read, validate, preview, import.

Kela sends recipients of non-temporary social assistance and child home-care allowance, the Finnish
Immigration Service beneficiaries of international protection and victims of human trafficking, the
population register the people who moved into the municipality (§84 gives the authorities the right to
send them). Each source has its own columns; every file is UTF-8 (with or without a byte-order mark),
comma- or semicolon-separated (told apart by the header), with a header row.

Reading (`read`) is pure: it never touches the database, so the officer first sees a preview — the valid
rows and every problem by row and column — and nothing is written. Importing (`run`) reads the same bytes
again and writes: all-or-nothing refuses a file with any error; importing only the valid rows is the
officer's explicit choice. One outreach item per person and organisation, matched by identity code: a
person already listed is updated (only with values the file has), a person who is already a client is
linked to the client, Kela rows add the benefit once (same person, type and start). A file's SHA-256 is
stored with its summary (OutreachImport, unique per organisation and source), so importing the same file
again changes nothing. The audit log gets the import's id and the ids of the clients whose data changed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.organisation import Staff
from app.db.outreach import (
    Benefit,
    BenefitSource,
    BenefitStatus,
    BenefitType,
    ImportMode,
    ImportSource,
    OutreachImport,
    OutreachItem,
    OutreachReason,
    OutreachStatus,
)
from app.domain import audit, identity_code, phone
from app.domain.audit import Action
from app.domain.policy import Actor
from app.i18n import N_, _

MAX_IMPORT_BYTES = 2 * 1024 * 1024  # a municipality's monthly list is a few hundred rows
FORM_OVERHEAD_BYTES = 64 * 1024  # the rest of the upload form: part headers, the CSRF token, the source
MAX_ERRORS_SHOWN = 500
MAX_ROWS_SHOWN = 200
MAX_NAME = 200
IN_CHUNK = 500  # identity codes per IN (…) list

# Which reason wins when a person is on several lists: the one that says most about §14 eligibility.
REASON_RANK = {
    OutreachReason.TRAFFICKING_VICTIM: 7,
    OutreachReason.INTERNATIONAL_PROTECTION: 6,
    OutreachReason.SOCIAL_ASSISTANCE: 5,
    OutreachReason.HOME_CARE_ALLOWANCE: 4,
    OutreachReason.AUTHORITY_REFERRAL: 3,
    OutreachReason.MOVED_IN: 2,
    OutreachReason.OTHER: 1,
}


# --- the formats -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    source: ImportSource
    required: tuple[str, ...]
    optional: tuple[str, ...]
    title: str  # N_()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


COMMON_OPTIONAL = (
    "date_of_birth",
    "language",
    "phone",
    "street_address",
    "postal_code",
    "post_office",
)

FORMATS: dict[ImportSource, Format] = {
    ImportSource.KELA: Format(
        ImportSource.KELA,
        required=("identity_code", "last_name", "first_names", "benefit", "benefit_from"),
        optional=("benefit_until", "first_permit_date", *COMMON_OPTIONAL),
        title=N_("Kela: non-temporary social assistance and child home-care allowance"),
    ),
    ImportSource.IMMIGRATION_SERVICE: Format(
        ImportSource.IMMIGRATION_SERVICE,
        required=("identity_code", "last_name", "first_names", "ground", "first_permit_date"),
        optional=COMMON_OPTIONAL,
        title=N_("Finnish Immigration Service: international protection and victims of human trafficking"),
    ),
    ImportSource.POPULATION_REGISTER: Format(
        ImportSource.POPULATION_REGISTER,
        required=("identity_code", "last_name", "first_names", "moved_in_on"),
        optional=("first_permit_date", *COMMON_OPTIONAL),
        title=N_("Population register: people who moved into the municipality"),
    ),
}

# The values a file may use (English codes as documented; the Finnish and Swedish words are accepted too).
BENEFIT_WORDS: dict[str, BenefitType] = {
    "social_assistance": BenefitType.SOCIAL_ASSISTANCE,
    "toimeentulotuki": BenefitType.SOCIAL_ASSISTANCE,
    "utkomststod": BenefitType.SOCIAL_ASSISTANCE,
    "home_care_allowance": BenefitType.HOME_CARE_ALLOWANCE,
    "kotihoidon_tuki": BenefitType.HOME_CARE_ALLOWANCE,
    "hemvardsstod": BenefitType.HOME_CARE_ALLOWANCE,
}
GROUND_WORDS: dict[str, OutreachReason] = {
    "international_protection": OutreachReason.INTERNATIONAL_PROTECTION,
    "kansainvalinen_suojelu": OutreachReason.INTERNATIONAL_PROTECTION,
    "internationellt_skydd": OutreachReason.INTERNATIONAL_PROTECTION,
    "trafficking_victim": OutreachReason.TRAFFICKING_VICTIM,
    "ihmiskaupan_uhri": OutreachReason.TRAFFICKING_VICTIM,
    "offer_for_manniskohandel": OutreachReason.TRAFFICKING_VICTIM,
}
BENEFIT_REASON = {
    BenefitType.SOCIAL_ASSISTANCE: OutreachReason.SOCIAL_ASSISTANCE,
    BenefitType.HOME_CARE_ALLOWANCE: OutreachReason.HOME_CARE_ALLOWANCE,
}

ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
FINNISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
POSTAL_CODE = re.compile(r"^\d{5}$")


FOLD = str.maketrans("äöå- ", "aoa__")


def _word(value: str) -> str:
    """Lower case, Nordic letters folded, spaces and hyphens as underscores: 'Kotihoidon tuki' →
    'kotihoidon_tuki'."""
    folded = value.strip().lower().translate(FOLD)
    return re.sub(r"_+", "_", folded)


def parse_date(value: str) -> date | None:
    """ISO yyyy-mm-dd or Finnish d.m.yyyy; None for anything else (two-digit years are ambiguous)."""
    value = value.strip()
    if match := ISO_DATE.match(value):
        year, month, day = (int(g) for g in match.groups())
    elif match := FINNISH_DATE.match(value):
        day, month, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- reading a file ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str | None  # None: the row as a whole
    message: str


@dataclass
class ImportRow:
    """One valid row: one person (and, in Kela's list, one benefit)."""

    row: int
    identity_code: str
    first_names: str
    last_name: str
    reason: OutreachReason
    date_of_birth: date
    first_permit_date: date | None = None
    moved_in_on: date | None = None
    language: str | None = None
    phone: str | None = None
    street_address: str | None = None
    postal_code: str | None = None
    post_office: str | None = None
    benefit: BenefitType | None = None
    benefit_from: date | None = None
    benefit_until: date | None = None


@dataclass
class Parsed:
    source: ImportSource
    file_name: str
    sha256: str
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)  # the file as a whole cannot be read
    ignored_columns: list[str] = field(default_factory=list)
    rows_total: int = 0
    delimiter: str = ","

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def readable(self) -> bool:
        return not self.file_errors


def _decode(content: bytes) -> str | None:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _columns(line: str, delimiter: str) -> list[str]:
    return [_word(c).strip('"') for c in next(csv.reader([line], delimiter=delimiter), [])]


def _detect_delimiter(header_line: str, known: Sequence[str]) -> str:
    """The header tells: the delimiter that splits it into the most known column names. A header that
    knows none of them is left to csv.Sniffer (the missing columns are then reported)."""
    scores = {d: sum(1 for c in _columns(header_line, d) if c in known) for d in (",", ";")}
    if scores[";"] != scores[","]:
        return ";" if scores[";"] > scores[","] else ","
    try:
        return csv.Sniffer().sniff(header_line, delimiters=",;").delimiter
    except csv.Error:
        return ","


def read(content: bytes, source: ImportSource, file_name: str, today: date) -> Parsed:
    """Every row of the file validated; nothing is written. `today` bounds dates that cannot be future."""
    parsed = Parsed(source=source, file_name=file_name[:255], sha256=hashlib.sha256(content).hexdigest())
    fmt = FORMATS[source]
    if len(content) > MAX_IMPORT_BYTES:
        parsed.file_errors.append(too_large_message())
        return parsed
    text = _decode(content)
    if text is None:
        parsed.file_errors.append(
            _(
                "The file is not UTF-8 text. Save it from the spreadsheet as “CSV UTF-8” (comma or "
                "semicolon separated) and try again."
            )
        )
        return parsed
    if "\x00" in text:
        parsed.file_errors.append(_("The file is not a CSV text file."))
        return parsed
    header_line = next((line for line in text.splitlines() if line.strip()), None)
    if header_line is None:
        parsed.file_errors.append(_("The file is empty."))
        return parsed
    parsed.delimiter = _detect_delimiter(header_line, fmt.columns)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=parsed.delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error:
        parsed.file_errors.append(
            _("The file is not valid CSV near row %(row)s: check the quotation marks.")
            % {"row": max(1, reader.line_num)}
        )
        return parsed
    # The header is the first non-blank record.
    start = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), None)
    if start is None:
        parsed.file_errors.append(_("The file is empty."))
        return parsed
    header = [_word(c) for c in records[start]]
    missing = [c for c in fmt.required if c not in header]
    if missing:
        parsed.file_errors.append(
            _(
                "The header row lacks these columns: %(columns)s. The first row of the file names the "
                "columns (see the format of this list)."
            )
            % {"columns": ", ".join(missing)}
        )
        return parsed
    repeated = sorted({c for c in header if c and header.count(c) > 1})
    if repeated:
        parsed.file_errors.append(
            _("The header row names these columns twice: %(columns)s.") % {"columns": ", ".join(repeated)}
        )
        return parsed
    parsed.ignored_columns = [c for c in header if c and c not in fmt.columns]
    seen: dict[tuple[object, ...], int] = {}
    for index in range(start + 1, len(records)):
        record = records[index]
        if not any(c.strip() for c in record):
            continue  # a blank line
        row_number = index + 1  # as a spreadsheet shows it
        parsed.rows_total += 1
        if len(record) > len(header) and any(c.strip() for c in record[len(header) :]):
            parsed.errors.append(
                RowError(
                    row_number,
                    None,
                    (
                        _(
                            "The row has %(found)s fields but the header has %(expected)s columns. Check the "
                            "separators and quotation marks."
                        )
                        % {"found": len(record), "expected": len(header)}
                    ),
                )
            )
            continue
        values = {name: (record[i].strip() if i < len(record) else "") for i, name in enumerate(header)}
        row, errors = _validate(fmt, values, row_number, today)
        key = _duplicate_key(source, values, row)
        if key is not None:
            if key in seen:
                errors.append(RowError(row_number, None, _duplicate_message(source, seen[key])))
            else:
                seen[key] = row_number
        if errors:
            parsed.errors.extend(errors)
        elif row is not None:
            parsed.rows.append(row)
    if parsed.rows_total == 0:
        parsed.file_errors.append(_("The file has a header row but no data rows."))
    return parsed


def too_large_message() -> str:
    return _(
        "The file is too large: at most %(size)s MB can be imported at a time. Split the list into smaller "
        "files."
    ) % {"size": MAX_IMPORT_BYTES // (1024 * 1024)}


def _duplicate_key(
    source: ImportSource, values: dict[str, str], row: ImportRow | None
) -> tuple[object, ...] | None:
    """What makes two rows the same: the person, and in Kela's list also the benefit and its start."""
    code = identity_code.parse(values.get("identity_code", ""))
    if code is None:
        return None
    if source == ImportSource.KELA:
        benefit = BENEFIT_WORDS.get(_word(values.get("benefit", "")))
        return (code.code, benefit, parse_date(values.get("benefit_from", "")))
    return (code.code,)


def _duplicate_message(source: ImportSource, first: int) -> str:
    if source == ImportSource.KELA:
        return _("The same benefit of the same person from the same day is already on row %(row)s.") % {
            "row": first
        }
    return _("The same person is already on row %(row)s.") % {"row": first}


def _validate(
    fmt: Format, values: dict[str, str], row_number: int, today: date
) -> tuple[ImportRow | None, list[RowError]]:
    errors: list[RowError] = []

    def fail(column: str, message: str) -> None:
        errors.append(RowError(row_number, column, message))

    def required_text(column: str) -> str | None:
        value = values.get(column, "")
        if not value:
            fail(column, _("This field is required but empty."))
            return None
        if len(value) > MAX_NAME:
            fail(column, (_("Too long: at most %(count)s characters.") % {"count": MAX_NAME}))
            return None
        return value

    def date_value(column: str, *, not_future: bool) -> date | None:
        raw = values.get(column, "")
        if not raw:
            if column in fmt.required:
                fail(column, _("This field is required but empty."))
            return None
        value = parse_date(raw)
        if value is None:
            fail(
                column,
                (
                    _(
                        "“%(value)s” is not a date. Write it as yyyy-mm-dd or d.m.yyyy, e.g. 2025-03-24 or 24.3.2025."
                    )
                    % {"value": raw[:40]}
                ),
            )
            return None
        if value.year < 1900:
            fail(column, _("Check the year."))
            return None
        if not_future and value > today:
            fail(column, _("The date cannot be in the future."))
            return None
        return value

    def optional_text(column: str, limit: int) -> str | None:
        value = values.get(column, "")
        if len(value) > limit:
            fail(column, (_("Too long: at most %(count)s characters.") % {"count": limit}))
            return None
        return value or None

    code_raw = values.get("identity_code", "")
    code = None
    if not code_raw:
        fail("identity_code", _("This field is required but empty."))
    else:
        code = identity_code.parse(code_raw)
        if code is None:
            fail(
                "identity_code",
                _(
                    "This is not a valid personal identity code. Check the date, the century sign and the "
                    "check character."
                ),
            )
    last_name = required_text("last_name")
    first_names = required_text("first_names")
    born = date_value("date_of_birth", not_future=True)
    if code is not None and born is not None and born != code.date_of_birth:
        fail("date_of_birth", _("The date of birth does not match the personal identity code."))

    reason: OutreachReason | None = None
    benefit: BenefitType | None = None
    benefit_from = benefit_until = None
    if fmt.source == ImportSource.KELA:
        raw = values.get("benefit", "")
        if not raw:
            fail("benefit", _("This field is required but empty."))
        else:
            benefit = BENEFIT_WORDS.get(_word(raw))
            if benefit is None:
                fail(
                    "benefit",
                    (
                        _("Unknown benefit type “%(value)s”. Use social_assistance or home_care_allowance.")
                        % {"value": raw[:40]}
                    ),
                )
            else:
                reason = BENEFIT_REASON[benefit]
        benefit_from = date_value("benefit_from", not_future=False)
        benefit_until = date_value("benefit_until", not_future=False)
        if benefit_from and benefit_until and benefit_until < benefit_from:
            fail("benefit_until", _("The benefit cannot end before it starts."))
    elif fmt.source == ImportSource.IMMIGRATION_SERVICE:
        raw = values.get("ground", "")
        if not raw:
            fail("ground", _("This field is required but empty."))
        else:
            reason = GROUND_WORDS.get(_word(raw))
            if reason is None:
                fail(
                    "ground",
                    (
                        _("Unknown ground “%(value)s”. Use international_protection or trafficking_victim.")
                        % {"value": raw[:40]}
                    ),
                )
    else:
        reason = OutreachReason.MOVED_IN
    permit = date_value("first_permit_date", not_future=True)
    moved_in = date_value("moved_in_on", not_future=True) if "moved_in_on" in fmt.columns else None

    language = values.get("language", "").lower() or None
    if language and not LANGUAGE.match(language):
        fail("language", _("Give the language as a two- or three-letter ISO 639 code, e.g. ar, so or prs."))
        language = None
    number = None
    if values.get("phone"):
        number = phone.to_e164(values["phone"])
        if number is None:
            fail("phone", _("Not a phone number: write it like 040 123 4567 or +358 40 123 4567."))
    street = optional_text("street_address", 200)
    postal = values.get("postal_code") or None
    if postal and not POSTAL_CODE.match(postal):
        fail("postal_code", _("A Finnish postal code has five digits."))
    post_office = optional_text("post_office", 100)

    if errors or code is None or last_name is None or first_names is None or reason is None:
        return None, errors
    return (
        ImportRow(
            row=row_number,
            identity_code=code.code,
            first_names=first_names,
            last_name=last_name,
            reason=reason,
            date_of_birth=code.date_of_birth,
            first_permit_date=permit,
            moved_in_on=moved_in,
            language=language,
            phone=number,
            street_address=street,
            postal_code=postal,
            post_office=post_office,
            benefit=benefit,
            benefit_from=benefit_from,
            benefit_until=benefit_until,
        ),
        [],
    )


# --- importing -------------------------------------------------------------------------------------


class HasErrors(Exception):
    """All-or-nothing was asked for, and some rows have errors: nothing was written."""


class AlreadyImported(Exception):
    """The same file (by its SHA-256) was imported before: nothing was changed."""

    def __init__(self, previous: OutreachImport) -> None:
        super().__init__(str(previous.id))
        self.previous_id = previous.id


async def previous_import(
    db: AsyncSession, organisation_id: uuid.UUID, source: ImportSource, sha256: str
) -> OutreachImport | None:
    return await db.scalar(
        select(OutreachImport).where(
            OutreachImport.organisation_id == organisation_id,
            OutreachImport.source == source,
            OutreachImport.content_sha256 == sha256,
        )
    )


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


# Item fields a row fills; an empty cell never erases what is known.
ITEM_FIELDS = (
    "first_names",
    "last_name",
    "date_of_birth",
    "first_permit_date",
    "moved_in_on",
    "language",
    "phone",
    "street_address",
    "postal_code",
    "post_office",
)


async def run(db: AsyncSession, actor: Actor, parsed: Parsed, mode: ImportMode) -> OutreachImport:
    """Write the file's valid rows (all of them, or none when all-or-nothing and a row has an error).
    Raises HasErrors or AlreadyImported without writing anything."""
    if not parsed.readable:
        raise HasErrors
    if mode == ImportMode.ALL_OR_NOTHING and parsed.errors:
        raise HasErrors
    previous = await previous_import(db, actor.organisation_id, parsed.source, parsed.sha256)
    if previous is not None:
        raise AlreadyImported(previous)
    record = OutreachImport(
        organisation_id=actor.organisation_id,
        source=parsed.source,
        file_name=parsed.file_name or "-",
        content_sha256=parsed.sha256,
        mode=mode,
        rows_total=parsed.rows_total,
        rows_imported=0,
        rows_unchanged=0,
        rows_rejected=parsed.rejected,
        imported_by_id=actor.staff_id,
    )
    try:
        async with db.begin_nested():  # the unique constraint: the same file imported at the same moment
            db.add(record)
    except IntegrityError as error:
        previous = await previous_import(db, actor.organisation_id, parsed.source, parsed.sha256)
        if previous is None:
            raise
        raise AlreadyImported(previous) from error

    codes = sorted({row.identity_code for row in parsed.rows})
    items: dict[str, OutreachItem] = {}
    clients: dict[str, uuid.UUID] = {}
    for chunk in _chunks(codes):
        for item in await db.scalars(
            select(OutreachItem).where(
                OutreachItem.organisation_id == actor.organisation_id, OutreachItem.identity_code.in_(chunk)
            )
        ):
            assert item.identity_code is not None
            items[item.identity_code] = item
        for known_id, code in await db.execute(
            select(Client.id, Client.identity_code).where(
                Client.organisation_id == actor.organisation_id, Client.identity_code.in_(chunk)
            )
        ):
            if code is not None:
                clients[code] = known_id
    benefits = await _existing_benefits(db, actor.organisation_id, items.values(), clients.values())

    changed_rows: list[bool] = []
    changed_clients: set[uuid.UUID] = set()
    for row in parsed.rows:  # the people first ...
        found = items.get(row.identity_code)
        client_id = clients.get(row.identity_code)
        if found is None:
            item = OutreachItem(
                organisation_id=actor.organisation_id,
                status=OutreachStatus.TO_REACH,
                reason=row.reason,
                identity_code=row.identity_code,
                created_by_id=actor.staff_id,
                last_import_id=record.id,
                client_id=client_id,
                **{name: getattr(row, name) for name in ITEM_FIELDS},
            )
            db.add(item)
            items[row.identity_code] = item
            changed_rows.append(True)
            continue
        linked = client_id is not None and found.client_id is None
        changed = _update_item(found, row, client_id)
        if linked:
            assert client_id is not None
            await _move_benefits(db, benefits, found, client_id)
            changed_clients.add(client_id)
        if changed:
            found.last_import_id = record.id
        changed_rows.append(changed)
    await db.flush()  # ... then their benefits, which refer to them
    for index, row in enumerate(parsed.rows):
        item = items[row.identity_code]
        if row.benefit is not None and _benefit(db, record, item, row, benefits):
            changed_rows[index] = True
            if item.client_id is not None:
                changed_clients.add(item.client_id)
    imported = sum(changed_rows)
    unchanged = len(changed_rows) - imported
    record.rows_imported = imported
    record.rows_unchanged = unchanged
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="outreach_import",
        object_id=record.id,
        fields=["source", "mode", "rows_total", "rows_imported", "rows_unchanged", "rows_rejected"],
    )
    for client_id in sorted(changed_clients):
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=client_id,
            object_type="benefit",
            object_id=record.id,
            fields=["type", "status", "starts_on", "ends_on", "source"],
        )
    return record


async def _move_benefits(
    db: AsyncSession, known: list[Benefit], item: OutreachItem, client_id: uuid.UUID
) -> None:
    """The item's benefits go with the person to the client they turned out to be; one the client already
    has (same type, start and name) stays recorded once."""
    for benefit in [b for b in known if b.outreach_item_id == item.id and b.client_id is None]:
        twin = next(
            (
                b
                for b in known
                if b.client_id == client_id
                and (b.type, b.starts_on, b.other_type)
                == (benefit.type, benefit.starts_on, benefit.other_type)
            ),
            None,
        )
        if twin is None:
            benefit.client_id = client_id
            continue
        known.remove(benefit)
        await db.delete(benefit)
        if twin.outreach_item_id is None:
            twin.outreach_item_id = item.id


def _update_item(item: OutreachItem, row: ImportRow, client_id: uuid.UUID | None) -> bool:
    """Fill the item from a row of a later list: values the row has, never blanks; the reason that says
    most; the client when the person has become one. True when anything changed."""
    moved_back = (
        row.moved_in_on is not None
        and row.moved_in_on != item.moved_in_on
        and item.status == OutreachStatus.MOVED_AWAY
    )
    changed = False
    for name in ITEM_FIELDS:
        value = getattr(row, name)
        if value is not None and getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    if REASON_RANK[row.reason] > REASON_RANK[item.reason]:
        item.reason = row.reason
        changed = True
    if client_id is not None and item.client_id is None:
        item.client_id = client_id
        changed = True
    if moved_back:
        item.status = OutreachStatus.TO_REACH  # moved into the municipality again: to be reached again
    return changed


async def _existing_benefits(
    db: AsyncSession,
    organisation_id: uuid.UUID,
    items: Iterable[OutreachItem],
    client_ids: Iterable[uuid.UUID],
) -> list[Benefit]:
    """The benefits already recorded for these items or clients (to add Kela's benefits only once)."""
    found: dict[uuid.UUID, Benefit] = {}
    for column, ids in (
        (Benefit.outreach_item_id, [i.id for i in items]),
        (Benefit.client_id, list(client_ids)),
    ):
        for start in range(0, len(ids), IN_CHUNK):
            for benefit in await db.scalars(
                select(Benefit).where(
                    Benefit.organisation_id == organisation_id, column.in_(ids[start : start + IN_CHUNK])
                )
            ):
                found[benefit.id] = benefit
    return list(found.values())


def _benefit(
    db: AsyncSession, record: OutreachImport, item: OutreachItem, row: ImportRow, known: list[Benefit]
) -> bool:
    """Kela's benefit on the person, once: the same person (the item or its client), type and start is
    the same benefit; a new end date updates it. True when anything changed."""
    assert row.benefit is not None
    same = next(
        (
            b
            for b in known
            if b.type == row.benefit
            and b.starts_on == row.benefit_from
            and (
                (b.outreach_item_id is not None and b.outreach_item_id == item.id)
                or (item.client_id is not None and b.client_id == item.client_id)
            )
        ),
        None,
    )
    if same is None:
        benefit = Benefit(
            organisation_id=record.organisation_id,
            client_id=item.client_id,
            outreach_item_id=item.id,
            type=row.benefit,
            status=BenefitStatus.RECEIVING,
            starts_on=row.benefit_from,
            ends_on=row.benefit_until,
            source=BenefitSource.IMPORT,
            import_id=record.id,
        )
        db.add(benefit)
        known.append(benefit)
        return True
    changed = False
    if row.benefit_until is not None and same.ends_on != row.benefit_until:
        same.ends_on = row.benefit_until
        changed = True
    if same.outreach_item_id is None:
        same.outreach_item_id = item.id
        changed = True
    if same.client_id is None and item.client_id is not None:
        same.client_id = item.client_id
        changed = True
    return changed


# --- what the pages show ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportView:
    record: OutreachImport
    imported_by: str


async def recent(db: AsyncSession, actor: Actor, limit: int = 20) -> list[ImportView]:
    """The organisation's latest imports, newest first."""
    rows = await db.execute(
        select(OutreachImport, Staff.full_name)
        .join(Staff, Staff.id == OutreachImport.imported_by_id)
        .where(OutreachImport.organisation_id == actor.organisation_id)
        .order_by(OutreachImport.imported_at.desc(), OutreachImport.id)
        .limit(limit)
    )
    return [ImportView(r[0], r[1]) for r in rows]


async def load(db: AsyncSession, actor: Actor, import_id: uuid.UUID) -> ImportView | None:
    row = (
        await db.execute(
            select(OutreachImport, Staff.full_name)
            .join(Staff, Staff.id == OutreachImport.imported_by_id)
            .where(OutreachImport.id == import_id, OutreachImport.organisation_id == actor.organisation_id)
        )
    ).one_or_none()
    return ImportView(row[0], row[1]) if row else None
