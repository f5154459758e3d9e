"""Planned arrivals: quota refugees (processes 3.4.8–3.4.9), the consultation of the wellbeing services
county (service 5) and municipal placements from a reception centre (3.4.10–3.4.11).

**Quota refugees.** The ELY centre proposes people for a municipal place: an officer records the proposal
(reference, date received, sender) and the persons with their family composition. If a person has evident
social and health service needs, the municipality must hear the wellbeing services county before it
decides: the officer sends the county an *anonymised* summary (`anonymised_summary`, built from an
allow-list, stored as sent in ArrivalConsultation.summary) with an optional question; the county's staff
read only that summary, never the persons, and answer with comments. The municipality records its decision
(accept or decline, with the date and a note). Preparation (housing reserved with its address and lease
dates, electricity, home insurance, essential furniture, the earliest arrival date sent to the ELY centre)
and reception (the Red Cross's arrival details, transport, interpreter, first food, first information
session) are checklists of ArrivalChecklistItem rows: a step is marked done with a date and a note, and
may be undone.

**Municipal placements.** A reception centre hands over a person or family: the written handover data is
recorded only with the person's consent (a consent date), an optional transfer meeting, and a checklist
of move-in support (housing, lease, electricity, insurance, keys, furniture, bank, Kela and the notice of
move).

**Arrival.** Marking the arrival makes every person a client of the organisation without retyping:
segment 3 (quota refugees, known through the quota selection, permit type quota refugee) or 2 (municipal
placement), the client relationship known from the arrival day, the housing address as street address, a
temporary identifier when there is no identity code, the officer as the responsible officer; a person
whose identity code already belongs to a client of the organisation is linked to that client instead.
Family links follow the family composition: the head of family and the spouse are spouses and the
guardians of the children. Each person is handled once: marking arrived again is refused, and a person
already linked is never created twice.

Everything is scoped to the officer's organisation (another organisation's arrival is not found),
checked against the version the form showed (StaleArrival: 409 with the input kept) and audited with
field names only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.arrivals import (
    Arrival,
    ArrivalChecklistItem,
    ArrivalConsultation,
    ArrivalKind,
    ArrivalPerson,
    ArrivalRole,
    ArrivalStatus,
    ConsultationStatus,
)
from app.db.base import utcnow
from app.db.client import Client, FamilyRelation, KnownHow, PermitType
from app.db.organisation import Organisation, OrganisationType, Staff
from app.domain import audit, clients, text
from app.domain.appointments import at_local, parse_time
from app.domain.audit import Action
from app.domain.forms import (
    FormErrors,
    as_input,
    birth_and_identity_code,
    checkbox,
    choice,
    date_field,
    today,
)
from app.domain.forms import text as text_field
from app.domain.policy import Actor, Permission
from app.i18n import LOCAL_TIME, N_, _, gettext
from app.labels import label

MAX_NOTE = 2000
MAX_TEXT = 4000
LIST_LIMIT = 200
INBOX_LIMIT = 100

# Persons and proposal details may change while the arrival is still being prepared.
OPEN = (ArrivalStatus.PROPOSED, ArrivalStatus.CONSULTING, ArrivalStatus.ACCEPTED)
# Housing, reception and handover details stay editable after the arrival (for the record).
DETAILS_EDITABLE = (*OPEN, ArrivalStatus.ARRIVED)
DECIDABLE = (ArrivalStatus.PROPOSED, ArrivalStatus.CONSULTING)
SEGMENT = {ArrivalKind.QUOTA_REFUGEES: 3, ArrivalKind.MUNICIPAL_PLACEMENT: 2}
KNOWN_HOW = {
    ArrivalKind.QUOTA_REFUGEES: KnownHow.QUOTA_SELECTION,
    ArrivalKind.MUNICIPAL_PLACEMENT: KnownHow.MUNICIPAL_PLACEMENT,
}
PLACEMENT_PERMITS = (PermitType.INTERNATIONAL_PROTECTION, PermitType.TEMPORARY_PROTECTION)
ROLE_ORDER = {role: n for n, role in enumerate(ArrivalRole)}


class StaleArrival(Exception):
    """The arrival (or the person, consultation or checklist step) changed after the form was opened."""


class AlreadyOpen(Exception):
    """The county already has an unanswered consultation on this arrival."""


# --- checklists ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str  # ArrivalChecklistItem.key
    title: str  # N_(): translated when shown
    hint: str | None = None
    # An Arrival attribute that must be recorded before the step can be marked done, and the message.
    requires: str | None = None
    requires_message: str | None = None


@dataclass(frozen=True)
class Checklist:
    key: str
    title: str
    hint: str
    steps: tuple[Step, ...]


QUOTA_PREPARATION = Checklist(
    "preparation",
    N_("Preparation"),
    N_("Process 3.4.8: the home is ready and the earliest arrival date is agreed with the county."),
    (
        Step(
            "housing_reserved",
            N_("Housing reserved"),
            N_("Record the address and the lease dates under Housing."),
            requires="housing_address",
            requires_message=N_("Record the housing address first (under Housing)."),
        ),
        Step("electricity_contract", N_("Electricity contract made")),
        Step("home_insurance", N_("Home insurance taken out")),
        Step(
            "furniture_supplies",
            N_("Essential furniture and supplies in place"),
            N_(
                "Only what the first days need: the rest is bought after the arrival, together with the "
                "family."
            ),
        ),
        Step(
            "earliest_arrival_sent",
            N_("Earliest arrival date sent to the ELY centre"),
            N_(
                "Agreed with the wellbeing services county; the ELY centre passes it on to the Finnish "
                "Immigration Service."
            ),
            requires="earliest_arrival_on",
            requires_message=N_("Record the earliest possible arrival date first (under Housing)."),
        ),
    ),
)

QUOTA_RECEPTION = Checklist(
    "reception",
    N_("Reception"),
    N_("Process 3.4.9: from the Red Cross's travel details to the evening of the arrival day."),
    (
        Step(
            "arrival_details",
            N_("Arrival details received from the Red Cross"),
            N_("Record the date, time and flight under Arrival."),
            requires="arrives_at",
            requires_message=N_("Record the arrival date and time first (under Arrival)."),
        ),
        Step("transport", N_("Transport to the home arranged")),
        Step("interpreter", N_("Interpreter booked for the transport and the first information session")),
        Step("first_food", N_("First food and necessities in the home")),
        Step("information_session", N_("First information session held")),
    ),
)

PLACEMENT_MOVE_IN = Checklist(
    "move_in",
    N_("Move-in support"),
    N_("Process 3.4.11: the home, the contracts and the practical arrangements of the move."),
    (
        Step(
            "housing_arranged",
            N_("Housing arranged"),
            requires="housing_address",
            requires_message=N_("Record the housing address first (under Housing)."),
        ),
        Step(
            "lease_signed",
            N_("Lease signed"),
            requires="lease_starts_on",
            requires_message=N_("Record the start of the lease first (under Housing)."),
        ),
        Step("electricity_contract", N_("Electricity contract made")),
        Step("home_insurance", N_("Home insurance taken out")),
        Step("keys", N_("Keys handed over")),
        Step("furniture_supplies", N_("Furniture and essential supplies in place")),
        Step("bank_account", N_("Bank account opened")),
        Step("kela_notice", N_("Kela notified of the move")),
        Step("notice_of_move", N_("Notice of move made to the Digital and Population Data Services Agency")),
    ),
)

CHECKLISTS: dict[ArrivalKind, tuple[Checklist, ...]] = {
    ArrivalKind.QUOTA_REFUGEES: (QUOTA_PREPARATION, QUOTA_RECEPTION),
    ArrivalKind.MUNICIPAL_PLACEMENT: (PLACEMENT_MOVE_IN,),
}
# Quota refugees: preparation starts once the municipality has accepted the proposal.
CHECKLIST_STATUSES: dict[ArrivalKind, tuple[ArrivalStatus, ...]] = {
    ArrivalKind.QUOTA_REFUGEES: (ArrivalStatus.ACCEPTED, ArrivalStatus.ARRIVED),
    ArrivalKind.MUNICIPAL_PLACEMENT: (ArrivalStatus.PROPOSED, ArrivalStatus.ACCEPTED, ArrivalStatus.ARRIVED),
}


def steps_of(kind: ArrivalKind) -> dict[str, Step]:
    return {step.key: step for checklist in CHECKLISTS[kind] for step in checklist.steps}


# --- the anonymised summary (service 5) -----------------------------------------------------------------

ALLOWED = "allowed"  # copied as it is (a code or a category)
TRANSFORMED = "transformed"  # turned into something that does not identify (an age, a yes/no)
EXCLUDED = "excluded"  # never in the summary

# Every column of arrival_person, classified. anonymised_summary refuses to run when a column is missing
# here, so a column added to the model stays out of the county's sight until someone decides about it.
PERSON_COLUMNS: dict[str, str] = {
    "id": EXCLUDED,  # would link the summary back to the person
    "arrival_id": EXCLUDED,
    "version": EXCLUDED,
    "created_at": EXCLUDED,
    "updated_at": EXCLUDED,
    "role": ALLOWED,  # the family composition
    "first_names": EXCLUDED,
    "last_name": EXCLUDED,
    "native_name": EXCLUDED,
    "date_of_birth": TRANSFORMED,  # → age in whole years on the day the summary is made
    "identity_code": EXCLUDED,
    "temporary_identifier": EXCLUDED,
    "citizenship": ALLOWED,  # a country code
    "mother_tongue": ALLOWED,  # a language code
    "interpreter_needed": ALLOWED,
    # Free text about health or disability: only whether something was noted. The officer may describe the
    # need in general terms in the question, which the form checks for names and identifiers.
    "special_needs": TRANSFORMED,  # → special_needs_noted: true/false
    "client_id": EXCLUDED,
}
# The only facts of the arrival itself in the summary.
ARRIVAL_FIELDS = ("kind",)
SUMMARY_FORMAT = 1
COUNTRY_CODE = re.compile(r"^[A-Z]{2,3}$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


class UnclassifiedColumn(Exception):
    """arrival_person has a column PERSON_COLUMNS does not classify: decide before it can be shared."""


def unclassified_columns() -> set[str]:
    return {column.key for column in ArrivalPerson.__table__.columns} - set(PERSON_COLUMNS)


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _allowed(name: str, value: object) -> str | bool | None:
    if value is None:
        return None
    if name == "role":
        return ArrivalRole(value).value  # type: ignore[arg-type]
    if name == "interpreter_needed":
        return bool(value)
    code = str(value).strip()
    if name == "citizenship":
        return code.upper() if COUNTRY_CODE.match(code.upper()) else None
    if name == "mother_tongue":
        return code.lower() if LANGUAGE_CODE.match(code.lower()) else None
    raise UnclassifiedColumn(name)  # an allowed column needs a rule that keeps it a code


TRANSFORMS: dict[str, tuple[str, Callable[[Any, date], int | bool | None]]] = {
    "date_of_birth": ("age", lambda born, on: age_on(born, on) if born else None),
    "special_needs": ("special_needs_noted", lambda needs, _on: bool(needs and str(needs).strip())),
}


def _person_entry(person: ArrivalPerson, on: date) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for column in ArrivalPerson.__table__.columns:
        kind = PERSON_COLUMNS.get(column.key)
        if kind is None:
            raise UnclassifiedColumn(column.key)
        value = getattr(person, column.key)
        if kind == ALLOWED:
            entry[column.key] = _allowed(column.key, value)
        elif kind == TRANSFORMED:
            name, transform = TRANSFORMS[column.key]
            entry[name] = transform(value, on)
    return entry


def anonymised_summary(
    arrival: Arrival, persons: Sequence[ArrivalPerson], on: date | None = None
) -> dict[str, Any]:
    """What the wellbeing services county is shown of a proposal: the family composition, ages in whole
    years, citizenships, mother tongues and interpreter needs. Built from an allow-list: no names, native
    names, identity codes or temporary identifiers, no birth dates, no special-needs text, no address, no
    ids. `on`: the day the ages are counted on (today in Finland)."""
    missing = unclassified_columns()
    if missing:
        raise UnclassifiedColumn(", ".join(sorted(missing)))
    day = on or today()
    entries = [_person_entry(person, day) for person in persons]
    entries.sort(
        key=lambda e: (
            ROLE_ORDER.get(ArrivalRole(e["role"]), 99),
            -(e["age"] if e["age"] is not None else -1),
        )
    )
    summary: dict[str, Any] = {"format": SUMMARY_FORMAT}
    for name in ARRIVAL_FIELDS:
        value = getattr(arrival, name)
        summary[name] = str(getattr(value, "value", value))
    summary["persons_count"] = len(entries)
    summary["children_count"] = sum(1 for e in entries if e["age"] is not None and e["age"] < 18)
    summary["interpreter_needed_count"] = sum(1 for e in entries if e["interpreter_needed"])
    summary["special_needs_noted_count"] = sum(1 for e in entries if e["special_needs_noted"])
    summary["citizenships"] = sorted({e["citizenship"] for e in entries if e["citizenship"]})
    summary["mother_tongues"] = sorted({e["mother_tongue"] for e in entries if e["mother_tongue"]})
    summary["persons"] = entries
    return summary


def mentions_identity(question: str, persons: Sequence[ArrivalPerson]) -> bool:
    """Whether a text names one of the persons or gives an identifier or a birth date (the question goes to
    the county with the anonymised summary)."""
    folded = text.fold(question)
    words = set(re.findall(r"\w+", folded))
    for person in persons:
        for name in (person.first_names, person.last_name, person.native_name):
            for part in re.findall(r"\w+", text.fold(name or "")):
                if len(part) >= 3 and part in words:
                    return True
        for code in (person.identity_code, person.temporary_identifier):
            if code and text.fold(code) in folded:
                return True
        born = person.date_of_birth
        if born and any(
            form in question
            for form in (
                born.isoformat(),
                f"{born.day}.{born.month}.{born.year}",
                f"{born.day:02d}.{born.month:02d}.{born.year}",
                f"{born.day}.{born.month}.{born.year % 100:02d}",
            )
        ):
            return True
    return False


# --- reading and listing -----------------------------------------------------------------------------


def _scope(actor: Actor) -> ColumnElement[bool]:
    return Arrival.organisation_id == actor.organisation_id


async def load(db: AsyncSession, actor: Actor, arrival_id: uuid.UUID) -> Arrival | None:
    """The arrival if it is the actor's organisation's, else None (the caller answers 404)."""
    if not actor.has(Permission.ARRIVALS):
        return None
    return await db.scalar(select(Arrival).where(Arrival.id == arrival_id, _scope(actor)))


async def persons_of(db: AsyncSession, arrival: Arrival) -> list[ArrivalPerson]:
    rows = (await db.scalars(select(ArrivalPerson).where(ArrivalPerson.arrival_id == arrival.id))).all()
    return sorted(
        rows, key=lambda p: (ROLE_ORDER.get(p.role, 99), p.date_of_birth or date.max, p.last_name, p.id)
    )


async def load_person(db: AsyncSession, arrival: Arrival, person_id: uuid.UUID) -> ArrivalPerson | None:
    return await db.scalar(
        select(ArrivalPerson).where(ArrivalPerson.id == person_id, ArrivalPerson.arrival_id == arrival.id)
    )


@dataclass(frozen=True)
class ListRow:
    arrival: Arrival
    persons: int
    head: str | None  # the head of family's (or first adult's) last name, to recognise the family
    done: int
    total: int


@dataclass(frozen=True)
class ListFilters:
    kind: str = ""
    status: str = ""

    @property
    def active(self) -> bool:
        return bool(self.kind or self.status)


def read_filters(kind: str | None, status: str | None) -> ListFilters:
    kinds = {k.value for k in ArrivalKind}
    statuses = {s.value for s in ArrivalStatus}
    return ListFilters(kind=kind if kind in kinds else "", status=status if status in statuses else "")


_open_first = case((Arrival.status.in_(OPEN), 0), (Arrival.status == ArrivalStatus.ARRIVED, 1), else_=2)


async def list_arrivals(db: AsyncSession, actor: Actor, filters: ListFilters) -> tuple[list[ListRow], bool]:
    """The organisation's arrivals, open ones first then newest: (rows, more than listed)."""
    statement = select(Arrival).where(_scope(actor))
    if filters.kind:
        statement = statement.where(Arrival.kind == ArrivalKind(filters.kind))
    if filters.status:
        statement = statement.where(Arrival.status == ArrivalStatus(filters.status))
    found = list(
        (
            await db.scalars(
                statement.order_by(_open_first, Arrival.received_on.desc(), Arrival.id).limit(LIST_LIMIT + 1)
            )
        ).all()
    )
    more = len(found) > LIST_LIMIT
    found = found[:LIST_LIMIT]
    ids = [a.id for a in found]
    persons: dict[uuid.UUID, list[ArrivalPerson]] = {i: [] for i in ids}
    done: dict[uuid.UUID, set[str]] = {i: set() for i in ids}
    if ids:
        for person in (
            await db.scalars(select(ArrivalPerson).where(ArrivalPerson.arrival_id.in_(ids)))
        ).all():
            persons[person.arrival_id].append(person)
        for arrival_id, key in await db.execute(
            select(ArrivalChecklistItem.arrival_id, ArrivalChecklistItem.key).where(
                ArrivalChecklistItem.arrival_id.in_(ids)
            )
        ):
            done[arrival_id].add(key)
    rows = []
    for arrival in found:
        people = sorted(persons[arrival.id], key=lambda p: (ROLE_ORDER.get(p.role, 99), p.last_name))
        keys = steps_of(arrival.kind)
        rows.append(
            ListRow(
                arrival=arrival,
                persons=len(people),
                head=people[0].last_name if people else None,
                done=len(done[arrival.id] & set(keys)),
                total=len(keys),
            )
        )
    for row in rows:
        if row.persons:
            await audit.record(
                db,
                Action.VIEW,
                actor=actor,
                object_type="arrival",
                object_id=row.arrival.id,
                fields=["last_name"],
            )
    return rows, more


async def staff_names(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        row.id: row.full_name
        for row in await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    }


async def counties(db: AsyncSession) -> list[Organisation]:
    """The wellbeing services counties a consultation can go to."""
    return list(
        (
            await db.scalars(
                select(Organisation)
                .where(Organisation.type == OrganisationType.WELLBEING_COUNTY)
                .order_by(Organisation.name)
            )
        ).all()
    )


# --- the page of one arrival --------------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    step: Step
    item: ArrivalChecklistItem | None
    blocked: str | None  # why it cannot be marked done yet (translated)


@dataclass(frozen=True)
class ChecklistView:
    checklist: Checklist
    steps: list[StepView]

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.item is not None)

    @property
    def total(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class ConsultationView:
    consultation: ArrivalConsultation
    county_name: str
    changed_since: bool  # the persons differ from what was sent


@dataclass
class ArrivalPage:
    arrival: Arrival
    persons: list[ArrivalPerson]
    checklists: list[ChecklistView]
    consultations: list[ConsultationView]
    names: dict[uuid.UUID, str]
    counties: list[Organisation]
    preview: dict[str, Any] | None
    clients: dict[uuid.UUID, Client] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.arrival.status in OPEN

    @property
    def details_editable(self) -> bool:
        return self.arrival.status in DETAILS_EDITABLE

    @property
    def checklists_editable(self) -> bool:
        return self.arrival.status in CHECKLIST_STATUSES[self.arrival.kind]

    @property
    def may_consult(self) -> bool:
        return self.arrival.kind == ArrivalKind.QUOTA_REFUGEES and self.arrival.status in DECIDABLE

    @property
    def may_decide(self) -> bool:
        return self.arrival.kind == ArrivalKind.QUOTA_REFUGEES and self.arrival.status in DECIDABLE

    @property
    def may_arrive(self) -> bool:
        return self.arrival.status == ArrivalStatus.ACCEPTED or (
            self.arrival.kind == ArrivalKind.MUNICIPAL_PLACEMENT
            and self.arrival.status == ArrivalStatus.PROPOSED
        )

    @property
    def open_consultation(self) -> bool:
        return any(v.consultation.status == ConsultationStatus.SENT for v in self.consultations)

    @property
    def done(self) -> int:
        return sum(c.done for c in self.checklists)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.checklists)


def _blocked(arrival: Arrival, step: Step) -> str | None:
    if step.requires and getattr(arrival, step.requires) is None:
        return gettext(step.requires_message or "")
    return None


async def items_of(db: AsyncSession, arrival: Arrival) -> dict[str, ArrivalChecklistItem]:
    rows = (
        await db.scalars(select(ArrivalChecklistItem).where(ArrivalChecklistItem.arrival_id == arrival.id))
    ).all()
    return {row.key: row for row in rows}


async def page(db: AsyncSession, actor: Actor, arrival: Arrival) -> ArrivalPage:
    """Everything the arrival's page shows; the view of the persons is audited."""
    persons = await persons_of(db, arrival)
    items = await items_of(db, arrival)
    checklists = [
        ChecklistView(c, [StepView(s, items.get(s.key), _blocked(arrival, s)) for s in c.steps])
        for c in CHECKLISTS[arrival.kind]
    ]
    rows = await db.execute(
        select(ArrivalConsultation, Organisation.name)
        .join(Organisation, Organisation.id == ArrivalConsultation.county_id)
        .where(ArrivalConsultation.arrival_id == arrival.id)
        .order_by(ArrivalConsultation.sent_at.desc(), ArrivalConsultation.id)
    )
    consultations = []
    for consultation, county_name in rows:
        sent_on = consultation.sent_at.astimezone(LOCAL_TIME).date()
        changed = (
            arrival.status in OPEN
            and anonymised_summary(arrival, persons, on=sent_on) != consultation.summary
        )
        consultations.append(ConsultationView(consultation, county_name, changed))
    ids: list[uuid.UUID | None] = [arrival.responsible_officer_id, arrival.created_by_id]
    ids += [i.done_by_id for i in items.values()]
    ids += [v.consultation.sent_by_id for v in consultations] + [
        v.consultation.answered_by_id for v in consultations
    ]
    result = ArrivalPage(
        arrival=arrival,
        persons=persons,
        checklists=checklists,
        consultations=consultations,
        names=await staff_names(db, ids),
        counties=[],
        preview=None,
    )
    if result.may_consult:
        result.counties = await counties(db)
        result.preview = anonymised_summary(arrival, persons)
    linked = [p.client_id for p in persons if p.client_id]
    if linked:
        found = (
            await db.scalars(
                select(Client).where(Client.id.in_(linked), Client.organisation_id == actor.organisation_id)
            )
        ).all()
        result.clients = {c.id: c for c in found}
    if persons:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            object_type="arrival_person",
            object_id=arrival.id,
            fields=[
                "role", "first_names", "last_name", "native_name", "date_of_birth", "identity_code",
                "temporary_identifier", "citizenship", "mother_tongue", "interpreter_needed", "special_needs",
            ],
        )  # fmt: skip
    if arrival.handover_data:
        await audit.record(
            db,
            Action.VIEW,
            actor=actor,
            object_type="arrival",
            object_id=arrival.id,
            fields=["handover_data"],
        )
    return result


# --- creating and editing the arrival -------------------------------------------------------------------

PROPOSAL_FIELDS = ("reference", "received_on", "sender")
SECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "proposal": PROPOSAL_FIELDS,
    "housing": ("housing_address", "lease_starts_on", "lease_ends_on", "earliest_arrival_on"),
    "reception": ("arrives_at", "flight", "transport", "interpreter"),
    "handover": ("handover_consent_on", "handover_data", "transfer_meeting_at"),
}
# Which kinds show which sections.
SECTIONS: dict[ArrivalKind, tuple[str, ...]] = {
    ArrivalKind.QUOTA_REFUGEES: ("proposal", "housing", "reception"),
    ArrivalKind.MUNICIPAL_PLACEMENT: ("proposal", "handover", "housing", "reception"),
}
# Date-and-time fields: one date input and one time input each, Finnish time.
MOMENTS = {
    "arrives_at": ("arrives_on", "arrives_time"),
    "transfer_meeting_at": ("transfer_meeting_on", "transfer_meeting_time"),
}


@dataclass
class SectionInput:
    values: dict[str, Any]
    errors: FormErrors


def _moment(data: Mapping[str, Any], name: str, errors: FormErrors) -> datetime | None:
    day_name, time_name = MOMENTS[name]
    day = date_field(data, day_name, errors, not_future=False)
    raw_time = str(data.get(time_name) or "").strip()
    clock = parse_time(raw_time) if raw_time else None
    if raw_time and clock is None:
        errors[time_name] = _("Enter the time as hh:mm, for example 14:35.")
        return None
    if day is None:
        if clock is not None and day_name not in errors:
            errors[day_name] = _("Enter the date as well.")
        return None
    if clock is None:
        if time_name not in errors:
            errors[time_name] = _("Enter the time as well (hh:mm, Finnish time).")
        return None
    return at_local(day, clock)


def read_section(section: str, data: Mapping[str, Any], kind: ArrivalKind) -> SectionInput:
    errors = FormErrors()
    v: dict[str, Any] = {}
    if section == "proposal":
        v["reference"] = text_field(data, "reference", 100, errors)
        v["received_on"] = date_field(data, "received_on", errors, required=True)
        v["sender"] = text_field(data, "sender", 200, errors)
        if not v["sender"]:
            errors["sender"] = (
                _("Enter the ELY centre that made the proposal.")
                if kind == ArrivalKind.QUOTA_REFUGEES
                else _("Enter the reception centre that hands over the person or family.")
            )
    elif section == "housing":
        v["housing_address"] = text_field(data, "housing_address", 300, errors)
        v["lease_starts_on"] = date_field(data, "lease_starts_on", errors, not_future=False)
        v["lease_ends_on"] = date_field(data, "lease_ends_on", errors, not_future=False)
        if v["lease_starts_on"] and v["lease_ends_on"] and v["lease_ends_on"] < v["lease_starts_on"]:
            errors["lease_ends_on"] = _("The lease cannot end before it starts.")
        if v["lease_ends_on"] and not v["lease_starts_on"] and "lease_starts_on" not in errors:
            errors["lease_starts_on"] = _("Enter the start of the lease as well.")
        v["earliest_arrival_on"] = (
            date_field(data, "earliest_arrival_on", errors, not_future=False)
            if kind == ArrivalKind.QUOTA_REFUGEES
            else None
        )
    elif section == "reception":
        v["arrives_at"] = _moment(data, "arrives_at", errors)
        flight = re.sub(r"\s+", "", text_field(data, "flight", 40, errors) or "").upper() or None
        v["flight"] = flight if kind == ArrivalKind.QUOTA_REFUGEES else None
        v["transport"] = text_field(data, "transport", MAX_NOTE, errors)
        v["interpreter"] = text_field(data, "interpreter", 200, errors)
    elif section == "handover":
        v["handover_consent_on"] = date_field(data, "handover_consent_on", errors)
        v["handover_data"] = text_field(data, "handover_data", MAX_TEXT * 2, errors)
        if v["handover_data"] and v["handover_consent_on"] is None and "handover_consent_on" not in errors:
            errors["handover_consent_on"] = _(
                "The handover data can be recorded only with the person's consent: enter the date the "
                "consent was given, or leave the handover data empty."
            )
        v["transfer_meeting_at"] = _moment(data, "transfer_meeting_at", errors)
    else:  # pragma: no cover - the routes name the sections
        raise ValueError(section)
    return SectionInput(values=v, errors=errors)


def section_form(arrival: Arrival, section: str) -> dict[str, Any]:
    """The stored values as the section's form would post them."""
    form: dict[str, Any] = {"version": str(arrival.version)}
    for name in SECTION_FIELDS[section]:
        value = getattr(arrival, name)
        if name in MOMENTS:
            day_name, time_name = MOMENTS[name]
            local = value.astimezone(LOCAL_TIME) if value else None
            form[day_name] = local.date().isoformat() if local else ""
            form[time_name] = local.strftime("%H:%M") if local else ""
        elif isinstance(value, date):
            form[name] = value.isoformat()
        else:
            form[name] = "" if value is None else str(value)
    return form


def _check(record: Arrival | ArrivalPerson | ArrivalConsultation, seen_version: int) -> None:
    if record.version != seen_version:
        raise StaleArrival


async def _flush(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError as error:  # changed by someone else between our read and our write
        raise StaleArrival from error


async def create(db: AsyncSession, actor: Actor, kind: ArrivalKind, parsed: SectionInput) -> Arrival:
    arrival = Arrival(
        organisation_id=actor.organisation_id,
        kind=kind,
        status=ArrivalStatus.PROPOSED,
        responsible_officer_id=actor.staff_id,
        created_by_id=actor.staff_id,
        **{name: parsed.values.get(name) for name in PROPOSAL_FIELDS},
    )
    db.add(arrival)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="arrival",
        object_id=arrival.id,
        fields=["kind", "status", *[n for n in PROPOSAL_FIELDS if parsed.values.get(n) is not None]],
    )
    return arrival


async def update_section(
    db: AsyncSession, actor: Actor, arrival: Arrival, section: str, seen_version: int, parsed: SectionInput
) -> list[str]:
    """Save one section of the arrival's details if nobody changed the arrival meanwhile. A changed earliest
    arrival date has not been sent to the ELY centre: its checklist step is undone."""
    allowed = OPEN if section == "proposal" else DETAILS_EDITABLE
    if arrival.status not in allowed:
        raise StaleArrival
    _check(arrival, seen_version)
    changed = [n for n in SECTION_FIELDS[section] if getattr(arrival, n) != parsed.values.get(n)]
    for name in changed:
        setattr(arrival, name, parsed.values.get(name))
    undone: ArrivalChecklistItem | None = None
    if "earliest_arrival_on" in changed:
        undone = await db.scalar(
            select(ArrivalChecklistItem).where(
                ArrivalChecklistItem.arrival_id == arrival.id,
                ArrivalChecklistItem.key == "earliest_arrival_sent",
            )
        )
        if undone is not None:
            await db.delete(undone)
            arrival.earliest_arrival_sent_on = None
            changed.append("earliest_arrival_sent_on")
    await _flush(db)
    if changed:
        await audit.record(
            db, Action.UPDATE, actor=actor, object_type="arrival", object_id=arrival.id, fields=changed
        )
    if undone is not None:
        await audit.record(
            db,
            Action.DELETE,
            actor=actor,
            object_type="arrival_checklist_item",
            object_id=undone.id,
            fields=["key", "done_on", "note"],
        )
    return changed


async def required_by_done_steps(db: AsyncSession, arrival: Arrival, parsed: SectionInput) -> None:
    """A detail a done checklist step rests on (e.g. the housing address of 'Housing reserved') cannot be
    cleared: undo the step first. Adds the errors to `parsed`."""
    items = await items_of(db, arrival)
    steps = steps_of(arrival.kind)
    for key in items:
        step = steps.get(key)
        if step is None or not step.requires or step.requires not in parsed.values:
            continue
        if parsed.values[step.requires] is None:
            target = MOMENTS[step.requires][0] if step.requires in MOMENTS else step.requires
            parsed.errors.setdefault(
                target,
                _("“%(step)s” is marked done: undo it first if this really is no longer known.")
                % {"step": gettext(step.title)},
            )


# --- persons ----------------------------------------------------------------------------------------

PERSON_FIELDS = (
    "role",
    "first_names",
    "last_name",
    "native_name",
    "date_of_birth",
    "identity_code",
    "temporary_identifier",
    "citizenship",
    "mother_tongue",
    "interpreter_needed",
    "special_needs",
)


@dataclass
class PersonInput:
    values: dict[str, Any]
    errors: FormErrors


def read_person_form(
    data: Mapping[str, Any], others: Sequence[ArrivalPerson], kind: ArrivalKind
) -> PersonInput:
    """`others`: the arrival's other persons (one head of family; identifiers once)."""
    errors = FormErrors()
    v: dict[str, Any] = {}
    v["role"] = choice(data, "role", ArrivalRole, errors)
    if v["role"] == ArrivalRole.HEAD and any(p.role == ArrivalRole.HEAD for p in others):
        errors["role"] = _("The family already has a head of family.")
    v["first_names"] = text_field(data, "first_names", 200, errors)
    v["last_name"] = text_field(data, "last_name", 200, errors)
    if not v["first_names"]:
        errors["first_names"] = _("Enter the first names.")
    if not v["last_name"]:
        errors["last_name"] = _("Enter the last name.")
    v["native_name"] = text_field(data, "native_name", 400, errors)
    v["date_of_birth"], v["identity_code"] = birth_and_identity_code(data, errors)
    if v["identity_code"] and any(p.identity_code == v["identity_code"] for p in others):
        errors["identity_code"] = _("Another person of this arrival has this identity code.")
    v["temporary_identifier"] = (text_field(data, "temporary_identifier", 40, errors) or "").upper() or None
    if v["temporary_identifier"] and any(p.temporary_identifier == v["temporary_identifier"] for p in others):
        errors["temporary_identifier"] = _("Another person of this arrival has this identifier.")
    citizenship = (text_field(data, "citizenship", 3, errors) or "").upper() or None
    if citizenship and not COUNTRY_CODE.match(citizenship):
        errors["citizenship"] = _("Choose one of the options.")
        citizenship = None
    v["citizenship"] = citizenship
    tongue = (text_field(data, "mother_tongue", 12, errors) or "").lower() or None
    if tongue and not LANGUAGE_CODE.match(tongue):
        errors["mother_tongue"] = _("Choose one of the options.")
        tongue = None
    v["mother_tongue"] = tongue
    v["interpreter_needed"] = checkbox(data, "interpreter_needed")
    v["special_needs"] = text_field(data, "special_needs", MAX_NOTE, errors)
    return PersonInput(values=v, errors=errors)


def person_form(person: ArrivalPerson) -> dict[str, Any]:
    return {**as_input(person, PERSON_FIELDS), "version": str(person.version)}


async def add_person(db: AsyncSession, actor: Actor, arrival: Arrival, parsed: PersonInput) -> ArrivalPerson:
    if arrival.status not in OPEN:
        raise StaleArrival
    person = ArrivalPerson(arrival_id=arrival.id, **{n: parsed.values.get(n) for n in PERSON_FIELDS})
    db.add(person)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="arrival_person",
        object_id=person.id,
        fields=[n for n in PERSON_FIELDS if parsed.values.get(n) not in (None, False)],
    )
    return person


async def update_person(
    db: AsyncSession,
    actor: Actor,
    arrival: Arrival,
    person: ArrivalPerson,
    seen_version: int,
    parsed: PersonInput,
) -> list[str]:
    if arrival.status not in OPEN:
        raise StaleArrival
    _check(person, seen_version)
    changed = [n for n in PERSON_FIELDS if getattr(person, n) != parsed.values.get(n)]
    for name in changed:
        setattr(person, name, parsed.values.get(name))
    await _flush(db)
    if changed:
        await audit.record(
            db, Action.UPDATE, actor=actor, object_type="arrival_person", object_id=person.id, fields=changed
        )
    return changed


async def remove_person(
    db: AsyncSession, actor: Actor, arrival: Arrival, person: ArrivalPerson, seen_version: int
) -> None:
    if arrival.status not in OPEN:
        raise StaleArrival
    _check(person, seen_version)
    await db.delete(person)
    await _flush(db)
    await audit.record(
        db,
        Action.DELETE,
        actor=actor,
        object_type="arrival_person",
        object_id=person.id,
        fields=list(PERSON_FIELDS),
    )


# --- consultation of the wellbeing services county (service 5) -------------------------------------------


@dataclass
class ConsultationInput:
    county: Organisation | None = None
    question: str | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_consultation_form(
    data: Mapping[str, Any], choices: Sequence[Organisation], persons: Sequence[ArrivalPerson]
) -> ConsultationInput:
    parsed = ConsultationInput()
    chosen = str(data.get("county_id") or "")
    parsed.county = next((c for c in choices if str(c.id) == chosen), None)
    if parsed.county is None:
        parsed.errors["county_id"] = (
            _("Choose the wellbeing services county.")
            if not chosen
            else _("Choose one of the counties in the list.")
        )
    parsed.question = text_field(data, "question", MAX_NOTE, parsed.errors)
    if parsed.question and mentions_identity(parsed.question, persons):
        parsed.errors["question"] = _(
            "The question names a person or gives an identifier or a date of birth. The consultation is "
            "anonymous: describe the need without them."
        )
    if not persons:
        parsed.errors["county_id"] = _(
            "Add the persons of the proposal first: the county is shown their summary."
        )
    return parsed


async def send_consultation(
    db: AsyncSession, actor: Actor, arrival: Arrival, seen_version: int, parsed: ConsultationInput
) -> ArrivalConsultation:
    """Send the anonymised summary to the county; the arrival is then 'county consulted'."""
    assert parsed.county is not None
    if arrival.kind != ArrivalKind.QUOTA_REFUGEES or arrival.status not in DECIDABLE:
        raise StaleArrival
    _check(arrival, seen_version)
    already = await db.scalar(
        select(ArrivalConsultation.id).where(
            ArrivalConsultation.arrival_id == arrival.id,
            ArrivalConsultation.county_id == parsed.county.id,
            ArrivalConsultation.status == ConsultationStatus.SENT,
        )
    )
    if already is not None:
        raise AlreadyOpen
    persons = await persons_of(db, arrival)
    consultation = ArrivalConsultation(
        arrival_id=arrival.id,
        county_id=parsed.county.id,
        status=ConsultationStatus.SENT,
        summary=anonymised_summary(arrival, persons),
        question=parsed.question,
        sent_by_id=actor.staff_id,
        sent_at=utcnow(),
    )
    db.add(consultation)
    arrival.status = ArrivalStatus.CONSULTING
    arrival.updated_at = utcnow()  # a new consultation changes the arrival: bump its version
    await _flush(db)
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="arrival_consultation",
        object_id=consultation.id,
        fields=["county_id", "summary"] + (["question"] if parsed.question else []),
    )
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="arrival", object_id=arrival.id, fields=["status"]
    )
    return consultation


async def load_consultation(
    db: AsyncSession, arrival: Arrival, consultation_id: uuid.UUID
) -> ArrivalConsultation | None:
    return await db.scalar(
        select(ArrivalConsultation).where(
            ArrivalConsultation.id == consultation_id, ArrivalConsultation.arrival_id == arrival.id
        )
    )


async def withdraw_consultation(
    db: AsyncSession, actor: Actor, consultation: ArrivalConsultation, seen_version: int
) -> None:
    """Take back a consultation the county has not answered (e.g. sent to the wrong county)."""
    if consultation.status != ConsultationStatus.SENT:
        raise StaleArrival
    _check(consultation, seen_version)
    consultation.status = ConsultationStatus.WITHDRAWN
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="arrival_consultation",
        object_id=consultation.id,
        fields=["status"],
    )


@dataclass(frozen=True)
class CountyRow:
    consultation: ArrivalConsultation
    municipality: str
    sender_name: str


async def county_inbox(db: AsyncSession, actor: Actor) -> tuple[list[CountyRow], list[CountyRow]]:
    """Consultations sent to the actor's county: (waiting for comments, oldest first; the latest others)."""
    base = (
        select(ArrivalConsultation, Organisation.name, Staff.full_name)
        .join(Arrival, Arrival.id == ArrivalConsultation.arrival_id)
        .join(Organisation, Organisation.id == Arrival.organisation_id)
        .join(Staff, Staff.id == ArrivalConsultation.sent_by_id)
        .where(ArrivalConsultation.county_id == actor.organisation_id)
    )
    waiting = await db.execute(
        base.where(ArrivalConsultation.status == ConsultationStatus.SENT).order_by(
            ArrivalConsultation.sent_at, ArrivalConsultation.id
        )
    )
    others = await db.execute(
        base.where(ArrivalConsultation.status != ConsultationStatus.SENT)
        .order_by(ArrivalConsultation.sent_at.desc(), ArrivalConsultation.id)
        .limit(INBOX_LIMIT)
    )
    return [CountyRow(*row) for row in waiting], [CountyRow(*row) for row in others]


async def load_for_county(db: AsyncSession, actor: Actor, consultation_id: uuid.UUID) -> CountyRow | None:
    """A consultation sent to the actor's county; None for another county's (the caller answers 404). The
    county reads the stored summary only, never the arrival's persons."""
    if not actor.has(Permission.COOPERATION_INBOX):
        return None
    row = (
        await db.execute(
            select(ArrivalConsultation, Organisation.name, Staff.full_name)
            .join(Arrival, Arrival.id == ArrivalConsultation.arrival_id)
            .join(Organisation, Organisation.id == Arrival.organisation_id)
            .join(Staff, Staff.id == ArrivalConsultation.sent_by_id)
            .where(
                ArrivalConsultation.id == consultation_id,
                ArrivalConsultation.county_id == actor.organisation_id,
            )
        )
    ).one_or_none()
    return CountyRow(*row) if row else None


def read_answer(data: Mapping[str, Any], errors: FormErrors) -> str | None:
    answer = text_field(data, "answer", MAX_TEXT, errors)
    if not answer:
        errors["answer"] = _("Write the county's comments or proposals.")
    return answer


async def answer(
    db: AsyncSession, actor: Actor, consultation: ArrivalConsultation, seen_version: int, comments: str
) -> None:
    if consultation.status != ConsultationStatus.SENT:
        raise StaleArrival
    _check(consultation, seen_version)
    consultation.status = ConsultationStatus.ANSWERED
    consultation.answer = comments
    consultation.answered_by_id = actor.staff_id
    consultation.answered_at = utcnow()
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="arrival_consultation",
        object_id=consultation.id,
        fields=["status", "answer", "answered_by_id", "answered_at"],
    )


def consultation_stale_message(consultation: ArrivalConsultation | None) -> str:
    if consultation is None:
        return _("The consultation is no longer there. Nothing was saved.")
    return _(
        "Someone else answered or changed this consultation after you opened the page: it is now "
        "“%(status)s”. Nothing was saved; your text is still in the form."
    ) % {"status": label(consultation.status)}


# --- the municipality's decision ---------------------------------------------------------------------


@dataclass
class DecisionInput:
    accept: bool | None = None
    decided_on: date | None = None
    note: str | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_decision_form(data: Mapping[str, Any]) -> DecisionInput:
    parsed = DecisionInput()
    raw = str(data.get("decision") or "")
    if raw not in ("accept", "decline"):
        parsed.errors["decision"] = _("Choose whether the municipality receives the persons.")
    else:
        parsed.accept = raw == "accept"
    parsed.decided_on = date_field(data, "decision_on", parsed.errors, required=True)
    parsed.note = text_field(data, "decision_note", MAX_NOTE, parsed.errors)
    if parsed.accept is False and not parsed.note:
        parsed.errors["decision_note"] = _("Say why the municipality declines the proposal.")
    return parsed


async def _withdraw_open(db: AsyncSession, actor: Actor, arrival: Arrival) -> None:
    open_ones = (
        await db.scalars(
            select(ArrivalConsultation).where(
                ArrivalConsultation.arrival_id == arrival.id,
                ArrivalConsultation.status == ConsultationStatus.SENT,
            )
        )
    ).all()
    for consultation in open_ones:
        consultation.status = ConsultationStatus.WITHDRAWN
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="arrival_consultation",
            object_id=consultation.id,
            fields=["status"],
        )


async def decide(
    db: AsyncSession, actor: Actor, arrival: Arrival, seen_version: int, parsed: DecisionInput
) -> None:
    """Accept (preparation starts) or decline the ELY centre's proposal. Declining withdraws unanswered
    consultations; after accepting, the county may still answer."""
    assert parsed.accept is not None
    assert parsed.decided_on is not None
    if arrival.kind != ArrivalKind.QUOTA_REFUGEES or arrival.status not in DECIDABLE:
        raise StaleArrival
    _check(arrival, seen_version)
    arrival.status = ArrivalStatus.ACCEPTED if parsed.accept else ArrivalStatus.DECLINED
    arrival.decision_on = parsed.decided_on
    arrival.decision_note = parsed.note
    if not parsed.accept:
        await _withdraw_open(db, actor, arrival)
    await _flush(db)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="arrival",
        object_id=arrival.id,
        fields=["status", "decision_on"] + (["decision_note"] if parsed.note else []),
    )


async def cancel(db: AsyncSession, actor: Actor, arrival: Arrival, seen_version: int) -> None:
    """The arrival will not happen (the proposal or the handover was withdrawn)."""
    if arrival.status not in OPEN:
        raise StaleArrival
    _check(arrival, seen_version)
    arrival.status = ArrivalStatus.CANCELLED
    await _withdraw_open(db, actor, arrival)
    await _flush(db)
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="arrival", object_id=arrival.id, fields=["status"]
    )


# --- checklists: mark done, undo ----------------------------------------------------------------------


@dataclass
class StepInput:
    done_on: date | None = None
    note: str | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_step_form(data: Mapping[str, Any], key: str) -> StepInput:
    """The fields are named after the step (done_on-<key>, note-<key>): one page holds every step's form."""
    parsed = StepInput()
    parsed.done_on = date_field(data, f"done_on-{key}", parsed.errors, required=True)
    parsed.note = text_field(data, f"note-{key}", MAX_NOTE, parsed.errors)
    return parsed


class StepBlocked(Exception):
    """The step needs a detail that has not been recorded (its message is the argument)."""


async def mark_done(
    db: AsyncSession, actor: Actor, arrival: Arrival, step: Step, parsed: StepInput
) -> ArrivalChecklistItem:
    """Record a step as done; StaleArrival when it already is (someone else was quicker) or when the arrival
    is not in a state with checklists; StepBlocked when a detail it rests on is missing."""
    assert parsed.done_on is not None
    if arrival.status not in CHECKLIST_STATUSES[arrival.kind]:
        raise StaleArrival
    blocked = _blocked(arrival, step)
    if blocked:
        raise StepBlocked(blocked)
    item = ArrivalChecklistItem(
        arrival_id=arrival.id,
        key=step.key,
        done_on=parsed.done_on,
        note=parsed.note,
        done_by_id=actor.staff_id,
    )
    try:
        async with db.begin_nested():
            db.add(item)
    except IntegrityError as error:
        raise StaleArrival from error
    fields = ["key", "done_on"] + (["note"] if parsed.note else [])
    if step.key == "earliest_arrival_sent":
        arrival.earliest_arrival_sent_on = parsed.done_on
        await _flush(db)
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="arrival",
            object_id=arrival.id,
            fields=["earliest_arrival_sent_on"],
        )
    await audit.record(
        db, Action.CREATE, actor=actor, object_type="arrival_checklist_item", object_id=item.id, fields=fields
    )
    return item


async def undo(
    db: AsyncSession, actor: Actor, arrival: Arrival, step: Step, item_id: uuid.UUID | None
) -> None:
    """Undo a step marked done by mistake; StaleArrival when it is no longer the one the page showed."""
    if arrival.status not in CHECKLIST_STATUSES[arrival.kind]:
        raise StaleArrival
    item = await db.scalar(
        select(ArrivalChecklistItem).where(
            ArrivalChecklistItem.arrival_id == arrival.id, ArrivalChecklistItem.key == step.key
        )
    )
    if item is None or item.id != item_id:
        raise StaleArrival
    await db.delete(item)
    if step.key == "earliest_arrival_sent":
        arrival.earliest_arrival_sent_on = None
    await _flush(db)
    await audit.record(
        db,
        Action.DELETE,
        actor=actor,
        object_type="arrival_checklist_item",
        object_id=item.id,
        fields=["key", "done_on", "note"],
    )
    if step.key == "earliest_arrival_sent":
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="arrival",
            object_id=arrival.id,
            fields=["earliest_arrival_sent_on"],
        )


# --- the arrival: the persons become clients -------------------------------------------------------------


@dataclass
class ArrivedInput:
    arrived_on: date | None = None
    first_permit_date: date | None = None
    permit_type: PermitType | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_arrived_form(data: Mapping[str, Any], kind: ArrivalKind) -> ArrivedInput:
    parsed = ArrivedInput()
    parsed.arrived_on = date_field(data, "arrived_on", parsed.errors, required=True)
    parsed.first_permit_date = date_field(data, "first_permit_date", parsed.errors)
    if kind == ArrivalKind.QUOTA_REFUGEES:
        parsed.permit_type = PermitType.QUOTA_REFUGEE
    else:
        parsed.permit_type = choice(data, "permit_type", PermitType, parsed.errors, required=False)
        if parsed.permit_type is not None and parsed.permit_type not in PLACEMENT_PERMITS:
            parsed.errors["permit_type"] = _("Choose one of the options.")
            parsed.permit_type = None
    return parsed


@dataclass(frozen=True)
class Arrived:
    person: ArrivalPerson
    client: Client
    created: bool  # False: an existing client with the same identity code was linked


def _client_values(arrival: Arrival, person: ArrivalPerson, parsed: ArrivedInput) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(clients.BASIC_FIELDS)
    values.update(
        segment=SEGMENT[arrival.kind],
        known_on=parsed.arrived_on,  # the client relationship starts on arrival (§14(2): assess without delay)
        known_how=KNOWN_HOW[arrival.kind],
        first_names=person.first_names,
        last_name=person.last_name,
        native_name=person.native_name,
        date_of_birth=person.date_of_birth,
        identity_code=person.identity_code,
        temporary_identifier=person.temporary_identifier,
        citizenship=person.citizenship,
        mother_tongue=person.mother_tongue,
        interpreter_needed=person.interpreter_needed,
        interpreter_language=person.mother_tongue if person.interpreter_needed else None,
        street_address=arrival.housing_address,
        first_permit_date=parsed.first_permit_date,
        permit_type=parsed.permit_type,
        unaccompanied_minor=False,
        # A quota refugee or a person leaving a reception centre gets the first municipality of residence
        # here, on arrival: the calculated-compensation windows (§§61–62) count from it.
        first_residence_on=parsed.arrived_on,
    )
    return values


async def mark_arrived(
    db: AsyncSession, actor: Actor, arrival: Arrival, seen_version: int, parsed: ArrivedInput
) -> list[Arrived]:
    """The persons arrived: each becomes a client of the organisation once (a person already linked is
    skipped; an identity code already registered links that client), and the family links follow the
    family composition. StaleArrival when the arrival changed or already arrived."""
    assert parsed.arrived_on is not None
    allowed = (ArrivalStatus.ACCEPTED,) + (
        (ArrivalStatus.PROPOSED,) if arrival.kind == ArrivalKind.MUNICIPAL_PLACEMENT else ()
    )
    if arrival.status not in allowed:
        raise StaleArrival
    _check(arrival, seen_version)
    arrival.status = ArrivalStatus.ARRIVED
    arrival.arrived_on = parsed.arrived_on
    await _flush(db)  # claims the arrival: a concurrent second marking fails here, before any client exists
    results: list[Arrived] = []
    for person in await persons_of(db, arrival):
        if person.client_id is not None:
            existing = await db.get(Client, person.client_id)
            if existing is not None:
                results.append(Arrived(person, existing, False))
                continue
        found = None
        if person.identity_code:
            found = await db.scalar(
                select(Client).where(
                    Client.organisation_id == arrival.organisation_id,
                    Client.identity_code == person.identity_code,
                )
            )
        if found is not None:
            results.append(Arrived(person, found, False))
        else:
            values = _client_values(arrival, person, parsed)
            client = await clients.create(db, actor, clients.ClientInput(values=values, languages=[]))
            results.append(Arrived(person, client, True))
        person.client_id = results[-1].client.id
        await _flush(db)
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=person.client_id,
            object_type="arrival_person",
            object_id=person.id,
            fields=["client_id"],
        )
    await link_family(db, actor, results)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="arrival",
        object_id=arrival.id,
        fields=["status", "arrived_on"],
    )
    return results


async def link_family(db: AsyncSession, actor: Actor, arrived: Sequence[Arrived]) -> None:
    """Spouses: the head of family and each spouse. Guardians: the head of family and the spouses of each
    child. Other relatives and single adults get no links (the officer adds them on the client pages)."""
    by_role: dict[ArrivalRole, list[Client]] = {role: [] for role in ArrivalRole}
    for entry in arrived:
        by_role[entry.person.role].append(entry.client)
    heads, spouses, children = (
        by_role[ArrivalRole.HEAD],
        by_role[ArrivalRole.SPOUSE],
        by_role[ArrivalRole.CHILD],
    )
    for head in heads:
        for spouse in spouses:
            if head.id != spouse.id:
                await clients.add_family_link(db, actor, head, spouse, FamilyRelation.SPOUSE)
    for guardian in (*heads, *spouses):
        for child in children:
            if guardian.id != child.id:
                await clients.add_family_link(db, actor, guardian, child, FamilyRelation.GUARDIAN)
    await db.flush()


def stale_message(arrival: Arrival | None) -> str:
    if arrival is None:
        return _("The arrival is no longer there. Nothing was saved.")
    return _(
        "Someone else changed this arrival after you opened the page: it is now “%(status)s”. Nothing was "
        "saved; your input is still in the form."
    ) % {"status": label(arrival.status)}


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> Any:
    """What the client page shows of this area (None: nothing)."""
    return None
