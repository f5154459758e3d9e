"""Appointments (service 9) and interpretation events (service 15): booking, double-booking warnings,
moving, cancelling, deleting a mistaken booking, the clients' answers, the calendar and iCalendar files.

Who sees an appointment (`appointment_scope`): officers and managers those of their own organisation;
interpreters only those where they are the interpreter, and of those only what the assignment needs.
The clients on an appointment are shown only as far as `client_scope` allows (a client moved to another
authority disappears from the old one's view), except to the appointment's own interpreter.

Notifications are queued through app.domain.outbox in the transaction of the change. Their dedupe keys
name the appointment, so a move or a cancellation can cancel what is still pending:
  booked:<appointment>:<client>:v<version>
  changed:<appointment>:<client>:v<version>
  cancelled:<appointment>:<client>
  reminder:<appointment>:<client>:<start, UTC>:<hours>h:v<version>
The version is part of a key because a key once used can never be queued again (the outbox keeps it
even when cancelled): an appointment moved away and back must still get its reminders.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from babel import dates
from icalendar import Calendar, Event
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.appointment import (
    Appointment,
    AppointmentClient,
    AppointmentPurpose,
    AppointmentStaff,
    AppointmentStatus,
    ClientResponse,
    InterpretationEvent,
    InterpretationMode,
    Task,
)
from app.db.base import utcnow
from app.db.client import Client, ClientStatus
from app.db.organisation import Role, Staff, StaffRole
from app.db.outbox import NotificationKind, OutboxMessage, OutboxStatus
from app.domain import audit, outbox, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, choice, date_field, parse_date, text, today
from app.domain.policy import Actor, Permission, client_scope
from app.i18n import LOCAL_TIME, _, format_date, get_locale, language_name
from app.labels import label

MAX_CLIENTS = 60  # an info session
MAX_STAFF = 20
PAST_ON_CLIENT_PAGE = 20
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 400
FEED_MAX = 1000
MAX_INTERPRETATION_MINUTES = 24 * 60

# The columns an officer edits; the audit log names the ones that changed.
FIELDS = (
    "purpose",
    "title",
    "starts_at",
    "ends_at",
    "street_address",
    "room",
    "remote_link",
    "what_to_bring",
    "interpreter_language",
    "interpreter_mode",
    "interpreter_id",
    "interpreter_name",
)
# A change of these is news to the client (APPOINTMENT_CHANGED).
CLIENT_VISIBLE = ("starts_at", "ends_at", "street_address", "room", "remote_link", "what_to_bring")
TEXT_LIMITS = {
    "title": 200,
    "street_address": 200,
    "room": 100,
    "remote_link": 500,
    "what_to_bring": 2000,
    "interpreter_name": 200,
}
STAFF_ROLES = (Role.INTEGRATION_OFFICER, Role.MANAGER)


class StaleEdit(Exception):
    """Someone saved the appointment after this form was opened."""


class AppointmentError(Exception):
    """A change the appointment's state does not allow; the messages are translated."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__(next(iter(errors.values()), ""))
        self.errors = errors


class NotOnAppointment(LookupError):
    """The client answering is not one of the appointment's clients (the app answers 404)."""


# --- scope and loading -------------------------------------------------------------------------------


def appointment_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting the appointments the actor may open at all."""
    if not actor.has(Permission.CALENDAR):
        return false()
    clauses: list[ColumnElement[bool]] = []
    if actor.sees_own_organisation:
        clauses.append(Appointment.organisation_id == actor.organisation_id)
    if Role.INTERPRETER in actor.roles:
        clauses.append(Appointment.interpreter_id == actor.staff_id)
    return or_(*clauses) if clauses else false()


def as_interpreter(actor: Actor, appointment: Appointment) -> bool:
    """The actor sees the appointment only as its interpreter: the assignment, not the case."""
    return not (actor.sees_own_organisation and appointment.organisation_id == actor.organisation_id)


def may_book(actor: Actor) -> bool:
    """Booking writes client data: officers of a client-serving organisation."""
    return (
        actor.has(Permission.CALENDAR) and actor.has(Permission.CLIENT_WRITE) and actor.sees_own_organisation
    )


async def load(db: AsyncSession, actor: Actor, appointment_id: uuid.UUID) -> Appointment | None:
    return await db.scalar(
        select(Appointment)
        .options(selectinload(Appointment.clients), selectinload(Appointment.staff))
        .where(Appointment.id == appointment_id, appointment_scope(actor))
    )


async def visible_clients(
    db: AsyncSession, actor: Actor, appointments: Sequence[Appointment]
) -> dict[uuid.UUID, Client]:
    """The clients of these appointments the actor may see, by id, in one query: the ones in the actor's
    client scope, and every client of an appointment the actor interprets."""
    ids = {row.client_id for a in appointments for row in a.clients}
    if not ids:
        return {}
    interpreted = {row.client_id for a in appointments if as_interpreter(actor, a) for row in a.clients}
    condition = client_scope(actor)
    if interpreted:
        condition = or_(condition, Client.id.in_(interpreted))
    found = await db.scalars(select(Client).where(Client.id.in_(ids), condition))
    return {c.id: c for c in found}


async def staff_names(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    return {row.id: row.full_name for row in rows}


def names_of(appointment: Appointment, names: Mapping[uuid.UUID, str]) -> list[str]:
    return [names.get(s.staff_id, "") for s in appointment.staff]


async def staff_choices(db: AsyncSession, organisation_id: uuid.UUID) -> list[Staff]:
    """Active officers and managers of the organisation: who can be at an appointment."""
    return list(
        (
            await db.scalars(
                select(Staff)
                .where(
                    Staff.organisation_id == organisation_id,
                    Staff.active.is_(True),
                    Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role.in_(STAFF_ROLES))),
                )
                .order_by(Staff.full_name)
            )
        ).all()
    )


async def interpreter_choices(db: AsyncSession) -> list[Staff]:
    """Interpreter accounts of any service provider (Staff.organisation is loaded with the row)."""
    return list(
        (
            await db.scalars(
                select(Staff)
                .options(lazyload(Staff.roles))  # the names and organisations only: no second statement
                .where(
                    Staff.active.is_(True),
                    Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role == Role.INTERPRETER)),
                )
                .order_by(Staff.full_name)
            )
        ).all()
    )


def interpreter_options(interpreters: Sequence[Staff]) -> list[tuple[str, str]]:
    """(id, 'name – organisation') for a select of interpreter accounts."""
    return [(str(s.id), f"{s.full_name} – {s.organisation.name}") for s in interpreters]


# --- times -------------------------------------------------------------------------------------------


TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def parse_time(value: str) -> time | None:
    """'9:30', '09:30' (from <input type=time>) or '9.30' (typed the Finnish way)."""
    match = TIME.match(value.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TIME)


def at_local(day: date, clock: time) -> datetime:
    """A wall-clock time in Finland as an aware UTC datetime."""
    return datetime.combine(day, clock, tzinfo=LOCAL_TIME).astimezone(UTC)


def local_day_bounds(first: date, days: int) -> tuple[datetime, datetime]:
    return at_local(first, time(0)), at_local(first + timedelta(days=days), time(0))


def time_range(appointment: Appointment) -> str:
    """'10.00–11.30' in the interface language, Finnish local time."""
    return dates.format_interval(
        appointment.starts_at, appointment.ends_at, "Hm", tzinfo=LOCAL_TIME, locale=get_locale()
    )


def span(starts_at: datetime, ends_at: datetime) -> str:
    """'1.12.2026 10.00–11.30': a short date and the times."""
    times = dates.format_interval(starts_at, ends_at, "Hm", tzinfo=LOCAL_TIME, locale=get_locale())
    return f"{format_date(local(starts_at).date(), 'short')} {times}"


def when(appointment: Appointment) -> str:
    """The day and the times, e.g. 'tiistai 1. joulukuuta 2026, 10.00–11.30'."""
    return f"{format_date(local(appointment.starts_at).date(), 'full')}, {time_range(appointment)}"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


# --- the form ----------------------------------------------------------------------------------------


@dataclass
class AppointmentInput:
    values: dict[str, Any]
    fee_announced: bool
    book_anyway: bool
    errors: FormErrors = field(default_factory=FormErrors)


def read_form(data: Mapping[str, Any]) -> AppointmentInput:
    """Format checks of the appointment form (the clients and staff are resolved by the caller)."""
    errors = FormErrors()
    values: dict[str, Any] = {name: text(data, name, limit, errors) for name, limit in TEXT_LIMITS.items()}
    values["purpose"] = choice(data, "purpose", AppointmentPurpose, errors)
    day = date_field(data, "day", errors, required=True, not_future=False)
    starts = parse_time(str(data.get("starts_time") or ""))
    ends = parse_time(str(data.get("ends_time") or ""))
    if starts is None:
        errors["starts_time"] = _("Enter the time as hh:mm, for example 9:30.")
    if ends is None:
        errors["ends_time"] = _("Enter the time as hh:mm, for example 10:30.")
    values["starts_at"] = values["ends_at"] = None
    if day and starts and ends:
        values["starts_at"], values["ends_at"] = at_local(day, starts), at_local(day, ends)
        if ends <= starts:
            errors["ends_time"] = _("The appointment must end after it starts.")
    link = values["remote_link"]
    if link and not link.lower().startswith("https://"):
        errors["remote_link"] = _("Enter the whole address of the remote meeting, starting with https://.")
    language = text(data, "interpreter_language", 12, errors)
    mode = choice(data, "interpreter_mode", InterpretationMode, errors, required=False)
    raw_interpreter = str(data.get("interpreter_id") or "").strip()
    interpreter_id: uuid.UUID | None = None
    if raw_interpreter:
        try:
            interpreter_id = uuid.UUID(raw_interpreter)
        except ValueError:
            errors["interpreter_id"] = _("Choose one of the options.")
    if interpreter_id and values["interpreter_name"]:
        errors["interpreter_name"] = _(
            "Choose an interpreter from the list or write the name of one outside the system, not both."
        )
    needs = bool(language or mode or interpreter_id or values["interpreter_name"])
    if needs and not language:
        errors["interpreter_language"] = _("Choose the language of the interpretation.")
    if needs and not mode:
        errors["interpreter_mode"] = _("Choose how the interpreter takes part.")
    values.update(interpreter_language=language, interpreter_mode=mode, interpreter_id=interpreter_id)
    return AppointmentInput(
        values=values,
        fee_announced=checkbox(data, "no_show_fee_announced"),
        book_anyway=checkbox(data, "book_anyway"),
        errors=errors,
    )


def form_values(appointment: Appointment) -> dict[str, Any]:
    """The stored appointment as the strings its edit form posts."""
    starts, ends = local(appointment.starts_at), local(appointment.ends_at)
    values: dict[str, Any] = {
        "purpose": appointment.purpose.value,
        "day": starts.date().isoformat(),
        "starts_time": starts.strftime("%H:%M"),
        "ends_time": ends.strftime("%H:%M"),
        "interpreter_language": appointment.interpreter_language or "",
        "interpreter_mode": appointment.interpreter_mode.value if appointment.interpreter_mode else "",
        "interpreter_id": str(appointment.interpreter_id) if appointment.interpreter_id else "",
        "no_show_fee_announced": "on" if appointment.no_show_fee_announced_at else "",
        "version": appointment.version,
    }
    for name in TEXT_LIMITS:
        values[name] = getattr(appointment, name) or ""
    return values


async def check_people(
    db: AsyncSession, actor: Actor, data: AppointmentInput, clients: Sequence[Client], staff: Sequence[Staff]
) -> None:
    """Checks that need the chosen clients, staff and interpreter (adds to data.errors)."""
    if not clients:
        data.errors["clients"] = _("Choose at least one client.")
    elif len(clients) > MAX_CLIENTS:
        data.errors["clients"] = _("An appointment can have at most %(count)s clients.") % {
            "count": MAX_CLIENTS
        }
    ended = [c for c in clients if c.status == ClientStatus.ENDED]
    if ended:
        data.errors["clients"] = _("The client relationship of %(name)s has ended.") % {
            "name": f"{ended[0].first_names} {ended[0].last_name}"
        }
    if not staff:
        data.errors["staff"] = _("Choose at least one member of staff.")
    elif len(staff) > MAX_STAFF:
        data.errors["staff"] = _("Choose at most %(count)s members of staff.") % {"count": MAX_STAFF}
    interpreter_id = data.values.get("interpreter_id")
    if interpreter_id and interpreter_id not in {s.id for s in await interpreter_choices(db)}:
        data.errors["interpreter_id"] = _("Choose an interpreter account from the list.")


# --- double bookings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    kind: str  # staff, interpreter, room
    name: str  # whose or which room
    starts_at: datetime
    ends_at: datetime
    appointment_id: uuid.UUID | None  # a link when the actor may open it (own organisation)

    @property
    def when(self) -> str:
        return span(self.starts_at, self.ends_at)


def _overlapping(
    starts_at: datetime, ends_at: datetime, exclude: uuid.UUID | None
) -> list[ColumnElement[bool]]:
    clauses = [
        Appointment.starts_at < ends_at,
        Appointment.ends_at > starts_at,
        Appointment.status == AppointmentStatus.BOOKED,
    ]
    if exclude:
        clauses.append(Appointment.id != exclude)
    return clauses


async def conflicts(
    db: AsyncSession,
    actor: Actor,
    starts_at: datetime,
    ends_at: datetime,
    staff_ids: Sequence[uuid.UUID],
    interpreter_id: uuid.UUID | None,
    room: str | None,
    exclude: uuid.UUID | None = None,
) -> list[Conflict]:
    """Booked appointments that overlap the time for one of the staff, the interpreter (whichever
    organisation booked them: only the time is shown then) or the same room of this organisation."""
    found: list[Conflict] = []

    def link(row: Any) -> uuid.UUID | None:
        return row.id if row.organisation_id == actor.organisation_id else None

    overlap = _overlapping(starts_at, ends_at, exclude)
    if staff_ids:
        rows = await db.execute(
            select(
                Appointment.id,
                Appointment.organisation_id,
                Appointment.starts_at,
                Appointment.ends_at,
                Staff.full_name,
            )
            .join(AppointmentStaff, AppointmentStaff.appointment_id == Appointment.id)
            .join(Staff, Staff.id == AppointmentStaff.staff_id)
            .where(AppointmentStaff.staff_id.in_(staff_ids), *overlap)
            .order_by(Appointment.starts_at)
        )
        found += [Conflict("staff", r.full_name, r.starts_at, r.ends_at, link(r)) for r in rows]
    if interpreter_id:
        rows = await db.execute(
            select(
                Appointment.id,
                Appointment.organisation_id,
                Appointment.starts_at,
                Appointment.ends_at,
                Staff.full_name,
            )
            .join(Staff, Staff.id == Appointment.interpreter_id)
            .where(Appointment.interpreter_id == interpreter_id, *overlap)
            .order_by(Appointment.starts_at)
        )
        found += [Conflict("interpreter", r.full_name, r.starts_at, r.ends_at, link(r)) for r in rows]
    if room and room.strip():
        wanted = room.strip().lower()
        rows = await db.execute(
            select(
                Appointment.id,
                Appointment.organisation_id,
                Appointment.starts_at,
                Appointment.ends_at,
                Appointment.room,
            )
            .where(
                Appointment.organisation_id == actor.organisation_id,
                func.lower(func.trim(Appointment.room)) == wanted,
                *overlap,
            )
            .order_by(Appointment.starts_at)
        )
        found += [Conflict("room", r.room or "", r.starts_at, r.ends_at, link(r)) for r in rows]
    return found


# --- notifications -----------------------------------------------------------------------------------


async def _notify(
    db: AsyncSession, client: Client, kind: NotificationKind, appointment: Appointment, key: str
) -> None:
    await outbox.notify_client(
        db, client, kind, payload={"appointment_id": str(appointment.id)}, dedupe_key=key
    )


async def _schedule_reminders(
    db: AsyncSession, appointment: Appointment, clients: Sequence[Client], lead_hours: Sequence[int]
) -> None:
    """A reminder per client and lead time, at its time before the start; none whose time has passed."""
    now = utcnow()
    for client in clients:
        for hours in sorted(set(lead_hours), reverse=True):
            when = appointment.starts_at - timedelta(hours=hours)
            if when <= now:
                continue
            await outbox.notify_client(
                db,
                client,
                NotificationKind.APPOINTMENT_REMINDER,
                payload={"appointment_id": str(appointment.id), "lead_hours": hours},
                deliver_after=when,
                dedupe_key=(
                    f"reminder:{appointment.id}:{client.id}:{stamp(appointment.starts_at)}:{hours}h"
                    f":v{appointment.version}"
                ),
            )


async def _announce_booking(
    db: AsyncSession, appointment: Appointment, clients: Sequence[Client], lead_hours: Sequence[int]
) -> None:
    if appointment.starts_at <= utcnow():  # a meeting recorded afterwards: nothing to tell
        return
    for client in clients:
        await _notify(
            db,
            client,
            NotificationKind.APPOINTMENT_BOOKED,
            appointment,
            f"booked:{appointment.id}:{client.id}:v{appointment.version}",
        )
    await _schedule_reminders(db, appointment, clients, lead_hours)


async def _cancel_pending(
    db: AsyncSession, appointment_id: uuid.UUID, client_id: uuid.UUID | None = None
) -> None:
    """Cancel what has not gone out yet: reminders, and a booked or changed notice still waiting."""
    suffix = f"{appointment_id}:" + (f"{client_id}:" if client_id else "")
    for prefix in ("reminder", "booked", "changed"):
        await outbox.cancel_pending(db, f"{prefix}:{suffix}")


# --- booking, editing, moving ------------------------------------------------------------------------


async def _clients_by_id(db: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Client]:
    """Clients to notify, whoever sees them now (a notice is not a view): one query."""
    wanted = set(ids)
    if not wanted:
        return {}
    found = await db.scalars(select(Client).where(Client.id.in_(wanted)).order_by(Client.id))
    return {c.id: c for c in found}


def _fields_for_audit(values: Mapping[str, Any]) -> list[str]:
    return [name for name in FIELDS if values.get(name) not in (None, "")]


async def create(
    db: AsyncSession,
    actor: Actor,
    data: AppointmentInput,
    clients: Sequence[Client],
    staff: Sequence[Staff],
    lead_hours: Sequence[int],
) -> Appointment:
    """Book the appointment, tell each client and queue their reminders, all in this transaction."""
    v = data.values
    now = utcnow()
    appointment = Appointment(
        organisation_id=actor.organisation_id,
        created_by_id=actor.staff_id,
        status=AppointmentStatus.BOOKED,
        no_show_fee_announced_at=now if data.fee_announced else None,
        clients=[AppointmentClient(client_id=c.id) for c in clients],
        staff=[AppointmentStaff(staff_id=s.id) for s in staff],
        **{name: v.get(name) for name in FIELDS},
    )
    if appointment.interpreter_id or appointment.interpreter_name:
        appointment.interpreter_booked_by_id = actor.staff_id
        appointment.interpreter_booked_at = now
    db.add(appointment)
    await db.flush()
    fields = [*_fields_for_audit(v), "clients", "staff"]
    if data.fee_announced:
        fields.append("no_show_fee_announced_at")
    for client in clients:
        await audit.record(
            db,
            Action.CREATE,
            actor=actor,
            client_id=client.id,
            object_type="appointment",
            object_id=appointment.id,
            fields=fields,
        )
    await _announce_booking(db, appointment, clients, lead_hours)
    return appointment


async def update(
    db: AsyncSession,
    actor: Actor,
    appointment: Appointment,
    seen_version: int,
    data: AppointmentInput,
    clients: Sequence[Client],
    staff: Sequence[Staff],
    lead_hours: Sequence[int],
    visible: Iterable[uuid.UUID],
) -> list[str]:
    """Save an edit (a move is an edit of the time). `clients` replaces the appointment's clients the
    actor can see (`visible`); any others stay. Raises StaleEdit or AppointmentError before anything is
    changed."""
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentError(FormErrors(status=_("A cancelled appointment is not changed any more.")))
    if seen_version != appointment.version:
        raise StaleEdit
    v = data.values
    changed = [name for name in FIELDS if getattr(appointment, name) != v.get(name)]
    moved = any(name in changed for name in ("starts_at", "ends_at"))
    now = utcnow()
    for name in changed:
        setattr(appointment, name, v.get(name))
    if {"interpreter_id", "interpreter_name"} & set(changed):
        has_interpreter = bool(appointment.interpreter_id or appointment.interpreter_name)
        appointment.interpreter_booked_by_id = actor.staff_id if has_interpreter else None
        appointment.interpreter_booked_at = now if has_interpreter else None
    if data.fee_announced != bool(appointment.no_show_fee_announced_at):
        appointment.no_show_fee_announced_at = now if data.fee_announced else None
        changed.append("no_show_fee_announced_at")

    # Clients: only the visible ones are replaced; any the actor cannot see stay on the appointment.
    wanted = {c.id for c in clients}
    seen = set(visible)
    removed = [row for row in appointment.clients if row.client_id in seen and row.client_id not in wanted]
    present = {row.client_id for row in appointment.clients}
    added = [c for c in clients if c.id not in present]
    if removed or added:
        appointment.clients = [r for r in appointment.clients if r not in removed] + [
            AppointmentClient(client_id=c.id) for c in added
        ]
        changed.append("clients")
    staff_ids = [s.id for s in staff]
    if {s.staff_id for s in appointment.staff} != set(staff_ids):
        keep = {s.staff_id: s for s in appointment.staff}
        appointment.staff = [keep.get(i) or AppointmentStaff(staff_id=i) for i in staff_ids]
        changed.append("staff")
    if not changed:
        return []
    appointment.updated_at = now  # the children belong to the appointment: its version moves too
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error

    everyone = await _clients_by_id(db, present | wanted)
    kept = [c for i, c in everyone.items() if i in present and i not in {r.client_id for r in removed}]
    for client_id in present | wanted:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=client_id,
            object_type="appointment",
            object_id=appointment.id,
            fields=changed,
        )
    # Those taken off the appointment: their pending notices go, and they are told it is off for them.
    for row in removed:
        await _cancel_pending(db, appointment.id, row.client_id)
        gone = everyone.get(row.client_id)
        if gone is not None and appointment.starts_at > now:
            await _notify(
                db,
                gone,
                NotificationKind.APPOINTMENT_CANCELLED,
                appointment,
                f"cancelled:{appointment.id}:{gone.id}:v{appointment.version}",
            )
    if moved:
        await outbox.cancel_pending(db, f"reminder:{appointment.id}:")
    if appointment.starts_at > now:
        if any(name in CLIENT_VISIBLE for name in changed):
            for client in kept:
                await _notify(
                    db,
                    client,
                    NotificationKind.APPOINTMENT_CHANGED,
                    appointment,
                    f"changed:{appointment.id}:{client.id}:v{appointment.version}",
                )
        if moved:
            await _schedule_reminders(db, appointment, kept, lead_hours)
        await _announce_booking(db, appointment, added, lead_hours)
    return changed


async def cancel(
    db: AsyncSession,
    actor: Actor,
    appointment: Appointment,
    seen_version: int,
    reason: str,
    client_told: bool,
) -> None:
    """Cancel with a reason: nothing pending goes out any more, and each client is told."""
    if appointment.status == AppointmentStatus.CANCELLED:
        raise AppointmentError(FormErrors(cancel_reason=_("The appointment has already been cancelled.")))
    if seen_version != appointment.version:
        raise StaleEdit
    now = utcnow()
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancel_reason = reason
    appointment.client_told_of_cancellation = client_told
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await _cancel_pending(db, appointment.id)
    for row in appointment.clients:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=row.client_id,
            object_type="appointment",
            object_id=appointment.id,
            fields=["status", "cancelled_at", "cancel_reason", "client_told_of_cancellation"],
        )
    if appointment.starts_at > now:
        everyone = await _clients_by_id(db, {row.client_id for row in appointment.clients})
        for client in everyone.values():
            await _notify(
                db,
                client,
                NotificationKind.APPOINTMENT_CANCELLED,
                appointment,
                f"cancelled:{appointment.id}:{client.id}",
            )


async def why_not_deletable(db: AsyncSession, appointment: Appointment) -> str | None:
    """Deleting is for a booking made by mistake, before anyone relied on it. Once a client may have
    heard of it (a notification delivered or being sent), answered it, or an interpretation was recorded
    for it, the appointment is part of the client's history: cancel it instead."""
    if any(row.response != ClientResponse.NONE for row in appointment.clients):
        return _("A client has answered this appointment. Cancel it instead.")
    keys = or_(
        *(
            OutboxMessage.dedupe_key.like(f"{prefix}:{appointment.id}:%")
            for prefix in ("booked", "changed", "cancelled", "reminder")
        )
    )
    sent = await db.scalar(
        select(OutboxMessage.id)
        .where(keys, OutboxMessage.status.in_((OutboxStatus.DELIVERED, OutboxStatus.SENDING)))
        .limit(1)
    )
    if sent is not None:
        return _("A notification of this appointment has already been sent to a client. Cancel it instead.")
    recorded = await db.scalar(
        select(InterpretationEvent.id).where(InterpretationEvent.appointment_id == appointment.id).limit(1)
    )
    if recorded is not None:
        return _("An interpretation has been recorded for this appointment. Cancel it instead.")
    return None


async def delete(db: AsyncSession, actor: Actor, appointment: Appointment) -> None:
    reason = await why_not_deletable(db, appointment)
    if reason:
        raise AppointmentError(FormErrors(delete=reason))
    await _cancel_pending(db, appointment.id)
    await outbox.cancel_pending(db, f"cancelled:{appointment.id}:")
    for row in appointment.clients:
        await audit.record(
            db,
            Action.DELETE,
            actor=actor,
            client_id=row.client_id,
            object_type="appointment",
            object_id=appointment.id,
            fields=["appointment"],
        )
    await db.delete(appointment)
    await db.flush()


# --- the clients' answers ----------------------------------------------------------------------------


async def respond(
    db: AsyncSession, client: Client, appointment_id: uuid.UUID, response: ClientResponse, note: str | None
) -> None:
    """The client confirms, cancels or asks for another time (the migrant app). Raises NotOnAppointment
    when the client is not on a booked appointment with this id."""
    row = await db.scalar(
        select(AppointmentClient)
        .join(Appointment, Appointment.id == AppointmentClient.appointment_id)
        .where(
            AppointmentClient.appointment_id == appointment_id,
            AppointmentClient.client_id == client.id,
            Appointment.status == AppointmentStatus.BOOKED,
        )
    )
    if response == ClientResponse.NONE:
        raise ValueError("an answer is confirmed, cancelled or a request for another time")
    if row is None:
        raise NotOnAppointment(appointment_id)
    row.response = response
    row.responded_at = utcnow()
    row.response_note = (note or "").strip()[:2000] or None
    row.seen_by_staff_at = None  # new for the officer until they open the appointment
    await db.flush()
    await audit.record(
        db,
        Action.UPDATE,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="appointment",
        object_id=appointment_id,
        fields=["response", "response_note"] if row.response_note else ["response"],
    )


async def mark_seen(db: AsyncSession, appointment: Appointment) -> None:
    """The officer opened the appointment: the clients' answers are no longer new."""
    now = utcnow()
    unseen = [
        row.id
        for row in appointment.clients
        if row.response != ClientResponse.NONE and row.seen_by_staff_at is None
    ]
    if unseen:
        await db.execute(
            sql_update(AppointmentClient).where(AppointmentClient.id.in_(unseen)).values(seen_by_staff_at=now)
        )


def unseen_answers(appointment: Appointment) -> int:
    return sum(
        1 for r in appointment.clients if r.response != ClientResponse.NONE and r.seen_by_staff_at is None
    )


# --- §32a --------------------------------------------------------------------------------------------


def fee_may_apply(appointment: Appointment, client: Client) -> bool:
    """§32a through app.domain.rules: announced when booked, and the client is 18 on the day."""
    return rules.no_show_fee_allowed(
        appointment.no_show_fee_announced_at is not None,
        client.date_of_birth,
        local(appointment.starts_at).date(),
    )


def under_18_on(clients: Sequence[Client], day: date | None) -> list[Client]:
    """The clients the fee can never apply to on that day (under 18, or the birth date unknown)."""
    if day is None:
        return []
    return [c for c in clients if not rules.no_show_fee_allowed(True, c.date_of_birth, day)]


# --- the calendar ------------------------------------------------------------------------------------


@dataclass
class Entry:
    appointment: Appointment
    clients: list[Client]  # the ones the viewer may see
    hidden_clients: int  # on the appointment but not the viewer's to see
    as_interpreter: bool
    unseen: int  # client answers the officer has not opened yet


@dataclass
class Day:
    on: date
    entries: list[Entry]


async def calendar(db: AsyncSession, actor: Actor, staff_id: uuid.UUID, first: date, days: int) -> list[Day]:
    """One person's appointments (at the appointment or as its interpreter) for `days` days from
    `first`, as far as the viewer's scope reaches; cancelled ones too, marked."""
    start, end = local_day_bounds(first, days)
    found = list(
        (
            await db.scalars(
                select(Appointment)
                .options(selectinload(Appointment.clients), selectinload(Appointment.staff))
                .where(
                    appointment_scope(actor),
                    Appointment.starts_at < end,
                    Appointment.ends_at > start,
                    or_(
                        Appointment.interpreter_id == staff_id,
                        Appointment.id.in_(
                            select(AppointmentStaff.appointment_id).where(
                                AppointmentStaff.staff_id == staff_id
                            )
                        ),
                    ),
                )
                .order_by(Appointment.starts_at, Appointment.id)
            )
        ).all()
    )
    return group_by_day(actor, found, await visible_clients(db, actor, found), first, days)


def entry(actor: Actor, appointment: Appointment, visible: Mapping[uuid.UUID, Client]) -> Entry:
    shown = [visible[r.client_id] for r in appointment.clients if r.client_id in visible]
    return Entry(
        appointment=appointment,
        clients=shown,
        hidden_clients=len(appointment.clients) - len(shown),
        as_interpreter=as_interpreter(actor, appointment),
        unseen=0 if as_interpreter(actor, appointment) else unseen_answers(appointment),
    )


def group_by_day(
    actor: Actor, found: Sequence[Appointment], visible: Mapping[uuid.UUID, Client], first: date, days: int
) -> list[Day]:
    by_day: dict[date, list[Entry]] = {first + timedelta(days=i): [] for i in range(days)}
    for appointment in found:
        on = local(appointment.starts_at).date()
        by_day.setdefault(max(on, first), []).append(entry(actor, appointment, visible))
    return [Day(on, entries) for on, entries in sorted(by_day.items())]


async def feed_appointments(db: AsyncSession, staff_id: uuid.UUID) -> list[Appointment]:
    """A person's appointments for their private feed: the past month and what is ahead."""
    now = utcnow()
    return list(
        (
            await db.scalars(
                select(Appointment)
                .where(
                    Appointment.ends_at > now - timedelta(days=FEED_PAST_DAYS),
                    Appointment.starts_at < now + timedelta(days=FEED_FUTURE_DAYS),
                    or_(
                        Appointment.interpreter_id == staff_id,
                        Appointment.id.in_(
                            select(AppointmentStaff.appointment_id).where(
                                AppointmentStaff.staff_id == staff_id
                            )
                        ),
                    ),
                )
                .order_by(Appointment.starts_at)
                .limit(FEED_MAX)
            )
        ).all()
    )


# --- the client page ---------------------------------------------------------------------------------


@dataclass
class ClientAppointment:
    appointment: Appointment
    answer: AppointmentClient  # this client's row: the answer and whether it was seen
    staff: list[str]


@dataclass
class ClientCalendar:
    """What the client page shows of service 9 for one client: appointments and tasks (the template's
    helpers too). The interpretations are a section loaded on demand (ClientInterpretations)."""

    upcoming: list[ClientAppointment]
    past: list[ClientAppointment]
    tasks: list[Task]
    names: dict[uuid.UUID, str]  # staff: at appointments, task assignees
    today: date

    def when(self, appointment: Appointment) -> str:
        return when(appointment)

    @property
    def open_tasks(self) -> int:
        return sum(1 for t in self.tasks if t.done_at is None)


async def for_client(db: AsyncSession, client: Client, *, tasks: bool = True) -> ClientCalendar:
    """The client's appointments (upcoming in time order, then the latest past ones) and, unless
    tasks=False, tasks (open first), those of the client's own organisation. The caller has checked the
    client is in scope."""
    rows = (
        await db.execute(
            select(Appointment, AppointmentClient)
            .join(AppointmentClient, AppointmentClient.appointment_id == Appointment.id)
            .options(selectinload(Appointment.staff))
            .where(
                AppointmentClient.client_id == client.id,
                Appointment.organisation_id == client.organisation_id,
            )
            .order_by(Appointment.starts_at.desc())
            .limit(200)
        )
    ).all()
    found_tasks = (
        list(
            (
                await db.scalars(
                    select(Task)
                    .where(Task.client_id == client.id, Task.organisation_id == client.organisation_id)
                    .order_by(Task.done_at.is_not(None), Task.due_on.is_(None), Task.due_on, Task.created_at)
                    .limit(100)
                )
            ).all()
        )
        if tasks
        else []
    )
    names = await staff_names(
        db, [s.staff_id for a, _row in rows for s in a.staff] + [t.assignee_id for t in found_tasks]
    )
    now = utcnow()
    entries = [ClientAppointment(a, row, names_of(a, names)) for a, row in rows]
    upcoming = [e for e in entries if e.appointment.ends_at > now]
    upcoming.reverse()
    past = [e for e in entries if e.appointment.ends_at <= now][:PAST_ON_CLIENT_PAGE]
    return ClientCalendar(upcoming=upcoming, past=past, tasks=found_tasks, names=names, today=today())


@dataclass
class ClientInterpretations:
    """The client page's interpretations section (service 15), loaded on demand."""

    interpretations: list[InterpretationEvent]
    names: dict[uuid.UUID, str]  # the interpreters with an account
    interpreter_options: list[tuple[str, str]]  # for the form; empty when the form is not shown
    modes: type[InterpretationMode] = InterpretationMode

    @property
    def interpretation_defaults(self) -> dict[str, Any]:
        return interpretation_defaults(None)


async def interpretations_for_client(
    db: AsyncSession, client: Client, *, with_form: bool
) -> ClientInterpretations:
    """The client's interpretations in the client's own organisation, newest first; the interpreter
    accounts for the form only when it is shown (with_form). The caller has checked the client is in scope."""
    found = list(
        (
            await db.scalars(
                select(InterpretationEvent)
                .where(
                    InterpretationEvent.client_id == client.id,
                    InterpretationEvent.organisation_id == client.organisation_id,
                )
                .order_by(InterpretationEvent.occurred_on.desc(), InterpretationEvent.created_at.desc())
                .limit(100)
            )
        ).all()
    )
    return ClientInterpretations(
        interpretations=found,
        names=await staff_names(db, [e.interpreter_id for e in found]),
        interpreter_options=interpreter_options(await interpreter_choices(db)) if with_form else [],
    )


# --- interpretation events (service 15) --------------------------------------------------------------


@dataclass
class InterpretationInput:
    values: dict[str, Any]
    errors: FormErrors = field(default_factory=FormErrors)


def read_interpretation(data: Mapping[str, Any]) -> InterpretationInput:
    errors = FormErrors()
    language = text(data, "language", 12, errors)
    if not language:
        errors["language"] = _("Choose the language of the interpretation.")
    mode = choice(data, "mode", InterpretationMode, errors)
    occurred_on = date_field(data, "occurred_on", errors, required=True)
    raw = str(data.get("duration_minutes") or "").strip()
    minutes: int | None = None
    try:
        minutes = int(raw)
    except ValueError:
        errors["duration_minutes"] = _("Enter the duration in whole minutes.")
    if minutes is not None and not 0 < minutes <= MAX_INTERPRETATION_MINUTES:
        errors["duration_minutes"] = _("The duration is more than 0 and at most 1440 minutes.")
        minutes = None
    interpreter_id: uuid.UUID | None = None
    if raw_id := str(data.get("interpreter_id") or "").strip():
        try:
            interpreter_id = uuid.UUID(raw_id)
        except ValueError:
            errors["interpreter_id"] = _("Choose one of the options.")
    name = text(data, "interpreter_name", 200, errors)
    if interpreter_id and name:
        errors["interpreter_name"] = _(
            "Choose an interpreter from the list or write the name of one outside the system, not both."
        )
    elif not interpreter_id and not name:
        errors["interpreter_name"] = _("Say who interpreted: choose the account or write the name.")
    return InterpretationInput(
        values={
            "language": language,
            "mode": mode,
            "occurred_on": occurred_on,
            "duration_minutes": minutes,
            "interpreter_id": interpreter_id,
            "interpreter_name": name,
        },
        errors=errors,
    )


def interpretation_defaults(appointment: Appointment | None) -> dict[str, Any]:
    """The form prefilled from the appointment's interpreter need."""
    if appointment is None:
        return {"occurred_on": today().isoformat()}
    return {
        "language": appointment.interpreter_language or "",
        "mode": appointment.interpreter_mode.value if appointment.interpreter_mode else "",
        "interpreter_id": str(appointment.interpreter_id) if appointment.interpreter_id else "",
        "interpreter_name": appointment.interpreter_name or "",
        "occurred_on": min(local(appointment.starts_at).date(), today()).isoformat(),
        "duration_minutes": str(int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)),
    }


async def record_interpretation(
    db: AsyncSession,
    actor: Actor,
    client: Client,
    appointment: Appointment | None,
    data: InterpretationInput,
) -> InterpretationEvent:
    """Record an interpretation that took place. An interpreter records only their own assignments, as
    themselves; the caller has checked the actor may record for this client and appointment."""
    if data.values["interpreter_id"] and data.values["interpreter_id"] not in {
        s.id for s in await interpreter_choices(db)
    }:
        raise AppointmentError(FormErrors(interpreter_id=_("Choose an interpreter account from the list.")))
    event = InterpretationEvent(
        organisation_id=appointment.organisation_id if appointment else client.organisation_id,
        appointment_id=appointment.id if appointment else None,
        client_id=client.id,
        recorded_by_id=actor.staff_id,
        **data.values,
    )
    db.add(event)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="interpretation_event",
        object_id=event.id,
        fields=[name for name, value in data.values.items() if value not in (None, "")],
    )
    return event


async def interpretations_of(db: AsyncSession, appointment: Appointment) -> list[InterpretationEvent]:
    return list(
        (
            await db.scalars(
                select(InterpretationEvent)
                .where(InterpretationEvent.appointment_id == appointment.id)
                .order_by(InterpretationEvent.created_at)
            )
        ).all()
    )


def parse_day(value: str | None) -> date | None:
    return parse_date(value) if value else None


# --- iCalendar ---------------------------------------------------------------------------------------


def ics(
    appointments: Sequence[tuple[Appointment, bool]],
    public_url: str,
    name: str,
    link_path: str = "/officer/appointments",
    links_at: str | None = None,
) -> bytes:
    """An iCalendar file of (appointment, seen as its interpreter) pairs. The file leaves the system, so it
    names no client and no identity code: the purpose (or, for an interpreter, the language and mode),
    the place or the remote link, and a link back to the appointment in Kotopolku."""
    calendar = Calendar()
    calendar.add("prodid", "-//Kotopolku//Kotopolku//FI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    host = urlsplit(public_url).hostname or "kotopolku"
    for appointment, interpreting in appointments:
        event = Event()
        event.add("uid", f"{appointment.id}@{host}")
        event.add("dtstamp", appointment.updated_at)
        event.add("last-modified", appointment.updated_at)
        event.add("sequence", max(appointment.version - 1, 0))
        event.add("dtstart", appointment.starts_at.astimezone(UTC))
        event.add("dtend", appointment.ends_at.astimezone(UTC))
        if interpreting:
            what = _("Interpretation: %(language)s, %(mode)s") % {
                "language": language_name(appointment.interpreter_language),
                "mode": label(appointment.interpreter_mode),
            }
        else:
            what = label(appointment.purpose)
        event.add("summary", f"{what} – Kotopolku")
        place = ", ".join(p for p in (appointment.street_address, appointment.room) if p)
        if place or appointment.remote_link:
            event.add("location", place or appointment.remote_link)
        link = f"{links_at or public_url}{link_path}/{appointment.id}"  # the back office's own host
        event.add("url", link)
        event.add("description", "\n".join(p for p in (appointment.remote_link, link) if p))
        cancelled = appointment.status == AppointmentStatus.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        calendar.add_component(event)
    content: bytes = calendar.to_ical()
    return content
