"""Feedback from clients (service 10): a rating from 1 to 5 and an optional comment about a past
appointment, a service in the client's plan, or the app — optionally anonymous.

Anonymous feedback keeps no link back to the person: no client, no appointment or plan service row, no
exact time (created_at is rounded to the day) and an audit event without the client or the actor. What
stays is the organisation, the kind of thing it was about (the appointment's purpose or the service's
type), the rating, the comment and its language.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.db.appointment import Appointment, AppointmentClient, AppointmentStatus
from app.db.base import utcnow
from app.db.client import Client
from app.db.client_app import Feedback, FeedbackSubject
from app.db.plan import IntegrationPlan, PlanService, PlanStatus
from app.db.programme import ProgrammeService
from app.domain import audit, programme
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox
from app.i18n import LOCAL_TIME, N_, _, format_date, gettext
from app.labels import label

RATINGS: tuple[tuple[int, str], ...] = (
    (1, N_("Very bad")),
    (2, N_("Bad")),
    (3, N_("Neither good nor bad")),
    (4, N_("Good")),
    (5, N_("Very good")),
)
COMMENT_MAX = 2000
PAST_APPOINTMENTS = 20  # the latest ones are offered
APP = "app"


@dataclass(frozen=True)
class Choice:
    """One thing the feedback can be about: value "appointment:<id>", "service:<id>" or "app"."""

    value: str
    text: str
    subject: FeedbackSubject
    organisation_id: uuid.UUID
    about: str | None  # the appointment's purpose or the service's type
    appointment_id: uuid.UUID | None = None
    plan_service_id: uuid.UUID | None = None


@dataclass
class Choices:
    appointments: list[Choice]
    services: list[Choice]
    app: Choice

    def get(self, value: str) -> Choice | None:
        return next((c for c in [*self.appointments, *self.services, self.app] if c.value == value), None)


def ratings() -> list[tuple[int, str]]:
    return [(value, gettext(text)) for value, text in RATINGS]


def rating_text(value: int) -> str:
    """ "4 – Good": the number and its words, so a rating never depends on seeing stars."""
    return next((f"{v} – {gettext(text)}" for v, text in RATINGS if v == value), str(value))


async def choices(db: AsyncSession, client: Client, locale: str) -> Choices:
    """The client's own past appointments (latest first) and the services of their plans (not drafts)."""
    now = utcnow()
    appointments = (
        await db.scalars(
            select(Appointment)
            .join(AppointmentClient, AppointmentClient.appointment_id == Appointment.id)
            .where(
                AppointmentClient.client_id == client.id,
                Appointment.ends_at <= now,
                Appointment.status == AppointmentStatus.BOOKED,
            )
            .order_by(Appointment.starts_at.desc())
            .limit(PAST_APPOINTMENTS)
        )
    ).all()
    rows = (
        await db.execute(
            select(PlanService, IntegrationPlan.organisation_id)
            .join(IntegrationPlan, IntegrationPlan.id == PlanService.plan_id)
            .where(IntegrationPlan.client_id == client.id, IntegrationPlan.status != PlanStatus.DRAFT)
            .order_by(IntegrationPlan.number.desc(), PlanService.position)
        )
    ).all()
    wanted = {s.programme_service_id for s, _org in rows if s.programme_service_id}
    catalogue = {
        s.id: s
        for s in (
            await db.scalars(
                select(ProgrammeService)
                .where(ProgrammeService.id.in_(wanted))
                .options(selectinload(ProgrammeService.texts))
            )
        ).all()
    }
    services: list[Choice] = []
    seen: set[str] = set()
    for service, organisation_id in rows:
        found = catalogue.get(service.programme_service_id) if service.programme_service_id else None
        if found is not None:
            name = programme.display_text(found, locale).name or label(found.service_type)
            about = found.service_type.value
        else:
            name = service.name or label(service.kind)
            about = service.kind.value
        if name in seen:  # the same service in an earlier plan: offered once
            continue
        seen.add(name)
        services.append(
            Choice(
                value=f"service:{service.id}",
                text=name,
                subject=FeedbackSubject.SERVICE,
                organisation_id=organisation_id,
                about=about,
                plan_service_id=service.id,
            )
        )
    return Choices(
        appointments=[
            Choice(
                value=f"appointment:{a.id}",
                text=f"{a.title or label(a.purpose)}, {format_date(a.starts_at.astimezone(LOCAL_TIME).date())}",
                subject=FeedbackSubject.APPOINTMENT,
                organisation_id=a.organisation_id,
                about=a.purpose.value,
                appointment_id=a.id,
            )
            for a in appointments
        ],
        services=services,
        app=Choice(
            value=APP,
            text=_("This app"),
            subject=FeedbackSubject.APP,
            organisation_id=client.organisation_id,
            about=None,
        ),
    )


def preselected(choices: Choices, appointment: str | None) -> str:
    """?appointment=<id> from the appointments page: chosen when it is one of the client's own past
    appointments; anything else is ignored."""
    if not appointment:
        return ""
    try:
        value = f"appointment:{uuid.UUID(appointment)}"
    except ValueError:
        return ""
    return value if choices.get(value) else ""


@dataclass
class FeedbackInput:
    choice: Choice | None
    rating: int | None
    comment: str | None
    anonymous: bool
    errors: FormErrors = field(default_factory=FormErrors)


def read_form(data: Mapping[str, Any], choices: Choices) -> FeedbackInput:
    errors = FormErrors()
    picked = choices.get(str(data.get("about") or ""))
    if picked is None:
        errors["about"] = _("Choose what your feedback is about.")
    try:
        rating: int | None = int(str(data.get("rating") or ""))
    except ValueError:
        rating = None
    if rating not in {value for value, _text in RATINGS}:
        rating = None
        errors["rating"] = _("Choose how it was, from 1 to 5.")
    comment = str(data.get("comment") or "").strip() or None
    if comment and len(comment) > COMMENT_MAX:
        errors["comment"] = _("Write at most {count} characters.").format(count=COMMENT_MAX)
    return FeedbackInput(picked, rating, comment, checkbox(data, "anonymous"), errors)


def start_of_day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def give(db: AsyncSession, client: Client, parsed: FeedbackInput, language: str) -> Feedback:
    """Store the feedback; the caller has checked parsed.errors is empty."""
    picked, rating = parsed.choice, parsed.rating
    assert picked is not None
    assert rating is not None
    anonymous = parsed.anonymous
    row = Feedback(
        organisation_id=picked.organisation_id,
        client_id=None if anonymous else client.id,
        subject=picked.subject,
        appointment_id=None if anonymous else picked.appointment_id,
        plan_service_id=None if anonymous else picked.plan_service_id,
        about=picked.about,
        rating=rating,
        comment=parsed.comment,
        language=language,
        created_at=start_of_day(utcnow()) if anonymous else utcnow(),
    )
    db.add(row)
    await db.flush()
    fields = ["subject", "about", "rating"] + (["comment"] if parsed.comment else [])
    if anonymous:
        # Nothing that leads back to the person: no client, no actor, not even the feedback's id.
        await audit.record(
            db,
            Action.CREATE,
            actor_kind="anonymous",
            object_type="feedback",
            fields=fields,
            at=row.created_at,
        )
    else:
        await audit.record(
            db,
            Action.CREATE,
            actor_kind="client",
            actor_id=client.id,
            client_id=client.id,
            object_type="feedback",
            object_id=row.id,
            fields=[*fields, "appointment_id" if picked.appointment_id else "plan_service_id"]
            if picked.subject != FeedbackSubject.APP
            else fields,
        )
    return row
