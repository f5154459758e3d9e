"""Feedback from clients (service 10): a rating from 1 to 5 and an optional comment about a past
appointment, a service in the client's plan, or the app — optionally anonymous — and anonymous feedback
from anyone at /feedback (low-threshold guidance), with no account at all.

When the organisation has an active survey for the audience (app.domain.quality), its questions are
asked besides the overall rating, in the reader's language; every question may be skipped. The answers
are feedback_answer rows of the same feedback row, so they keep exactly the anonymity of the feedback.

Anonymous feedback keeps no link back to the person: no client, no appointment or plan service row, no
exact time (created_at is rounded to the day) and an audit event without the client or the actor. What
stays is the organisation, the kind of thing it was about (the appointment's purpose or the service's
type), the rating, the comment, the answers and the language.

Public feedback goes to the deployment's organisation (Settings.public_organisation), is stored with
subject SERVICE and about "public_guidance", and is limited per address: the count is kept under a keyed
hash of the address in the sign-in failure table (no address is stored), like failed sign-ins.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.db.appointment import Appointment, AppointmentClient, AppointmentStatus
from app.db.auth import SignInFailure
from app.db.base import utcnow
from app.db.client import Client
from app.db.client_app import Feedback, FeedbackSubject
from app.db.organisation import Organisation, OrganisationType
from app.db.plan import IntegrationPlan, PlanService, PlanStatus
from app.db.programme import ProgrammeService
from app.db.quality import FeedbackAnswer, QuestionKind, SurveyAudience
from app.domain import audit, auth, programme, quality
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox
from app.domain.quality import AskedSurvey
from app.i18n import LOCAL_TIME, N_, _, format_date, gettext, ngettext
from app.labels import label
from app.settings import Settings

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


@dataclass(frozen=True)
class Answer:
    """One answered survey question (skipped questions have none)."""

    question_id: uuid.UUID
    rating: int | None = None
    yes: bool | None = None
    text: str | None = None


@dataclass
class FeedbackInput:
    choice: Choice | None
    rating: int | None
    comment: str | None
    anonymous: bool
    errors: FormErrors = field(default_factory=FormErrors)
    survey: AskedSurvey | None = None  # the survey whose questions were answered
    answers: list[Answer] = field(default_factory=list)


def audience_of(picked: Choice | None) -> SurveyAudience | None:
    return quality.AUDIENCE_OF_SUBJECT.get(picked.subject) if picked else None


async def surveys_for(db: AsyncSession, choices: Choices, locale: str) -> dict[str, AskedSurvey]:
    """The active survey for each choice that has one (value → survey), in two queries."""
    every = [*choices.appointments, *choices.services, choices.app]
    found = await quality.active_surveys(
        db, {c.organisation_id for c in every}, quality.AUDIENCE_OF_SUBJECT.values(), locale
    )
    result: dict[str, AskedSurvey] = {}
    for c in every:
        audience = audience_of(c)
        if audience is not None and (survey := found.get((c.organisation_id, audience))) is not None:
            result[c.value] = survey
    return result


def _rating(data: Mapping[str, Any], errors: FormErrors) -> int | None:
    try:
        rating: int | None = int(str(data.get("rating") or ""))
    except ValueError:
        rating = None
    if rating not in {value for value, _text in RATINGS}:
        errors["rating"] = _("Choose how it was, from 1 to 5.")
        return None
    return rating


def _comment(data: Mapping[str, Any], errors: FormErrors) -> str | None:
    comment = str(data.get("comment") or "").strip() or None
    if comment and len(comment) > COMMENT_MAX:
        errors["comment"] = _("Write at most {count} characters.").format(count=COMMENT_MAX)
    return comment


def read_answers(data: Mapping[str, Any], survey: AskedSurvey | None, errors: FormErrors) -> list[Answer]:
    """The survey's answers from fields q_<question id>; an empty field is a skipped question."""
    answers: list[Answer] = []
    for question in survey.questions if survey else []:
        raw = str(data.get(question.field) or "").strip()
        if not raw:
            continue
        if question.kind == QuestionKind.RATING:
            if raw not in {str(value) for value, _text in RATINGS}:
                errors[question.field] = _("Choose a number from 1 to 5, or leave the question empty.")
                continue
            answers.append(Answer(question.id, rating=int(raw)))
        elif question.kind == QuestionKind.YES_NO:
            if raw not in ("yes", "no"):
                errors[question.field] = _("Choose yes or no, or leave the question empty.")
                continue
            answers.append(Answer(question.id, yes=raw == "yes"))
        else:
            if len(raw) > COMMENT_MAX:
                errors[question.field] = _("Write at most {count} characters.").format(count=COMMENT_MAX)
                continue
            answers.append(Answer(question.id, text=raw))
    return answers


def shown_survey(data: Mapping[str, Any], survey: AskedSurvey | None) -> bool:
    """Whether the form that was sent showed this survey's questions (it carries the survey's id)."""
    return survey is not None and str(data.get("survey_id") or "") == str(survey.id)


def read_form(
    data: Mapping[str, Any], choices: Choices, surveys: Mapping[str, AskedSurvey] | None = None
) -> FeedbackInput:
    errors = FormErrors()
    picked = choices.get(str(data.get("about") or ""))
    if picked is None:
        errors["about"] = _("Choose what your feedback is about.")
    rating = _rating(data, errors)
    comment = _comment(data, errors)
    survey = (surveys or {}).get(picked.value) if picked else None
    answered = survey if shown_survey(data, survey) else None
    answers = read_answers(data, answered, errors)
    return FeedbackInput(picked, rating, comment, checkbox(data, "anonymous"), errors, answered, answers)


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
        survey_id=parsed.survey.id if parsed.survey else None,
    )
    db.add(row)
    await db.flush()
    _add_answers(db, row, parsed.answers)
    fields = _fields(parsed)
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


def _fields(parsed: FeedbackInput) -> list[str]:
    fields = ["subject", "about", "rating"] + (["comment"] if parsed.comment else [])
    if parsed.survey is not None:
        fields.append("survey_id")
    if parsed.answers:
        fields.append("answers")
    return fields


def _add_answers(db: AsyncSession, row: Feedback, answers: list[Answer]) -> None:
    for answer in answers:
        db.add(
            FeedbackAnswer(
                feedback_id=row.id,
                question_id=answer.question_id,
                rating=answer.rating,
                yes=answer.yes,
                text=answer.text,
            )
        )


# --- anonymous feedback from anyone at /feedback ----------------------------------------------------


async def public_organisation(db: AsyncSession, settings: Settings) -> uuid.UUID | None:
    """The organisation that receives anonymous feedback from /feedback: the one PUBLIC_ORGANISATION names
    (by code or exact name), else the only municipality; None when that names no single organisation."""
    if wanted := settings.public_organisation:
        query = select(Organisation.id).where(or_(Organisation.code == wanted, Organisation.name == wanted))
    else:
        query = select(Organisation.id).where(Organisation.type == OrganisationType.MUNICIPALITY)
    found = (await db.scalars(query.limit(2))).all()
    return found[0] if len(found) == 1 else None


@dataclass
class PublicInput:
    rating: int | None
    comment: str | None
    survey: AskedSurvey | None
    answers: list[Answer]
    errors: FormErrors


def read_public_form(data: Mapping[str, Any], survey: AskedSurvey | None) -> PublicInput:
    errors = FormErrors()
    rating = _rating(data, errors)
    comment = _comment(data, errors)
    answered = survey if shown_survey(data, survey) else None
    return PublicInput(rating, comment, answered, read_answers(data, answered, errors), errors)


HONEYPOT = "website"


def is_robot(data: Mapping[str, Any]) -> bool:
    """The honeypot: a field people never see (hidden) that form-filling robots fill in."""
    return bool(str(data.get(HONEYPOT) or "").strip())


async def give_public(
    db: AsyncSession, organisation_id: uuid.UUID, parsed: PublicInput, language: str
) -> Feedback:
    """Store anonymous public feedback: no client, no person, the day only; audited without an actor."""
    assert parsed.rating is not None
    row = Feedback(
        organisation_id=organisation_id,
        client_id=None,
        subject=FeedbackSubject.SERVICE,
        about=quality.PUBLIC_ABOUT,
        rating=parsed.rating,
        comment=parsed.comment,
        language=language,
        created_at=start_of_day(utcnow()),
        survey_id=parsed.survey.id if parsed.survey else None,
    )
    db.add(row)
    await db.flush()
    _add_answers(db, row, parsed.answers)
    fields = ["subject", "about", "rating"] + (["comment"] if parsed.comment else [])
    fields += (["survey_id"] if parsed.survey else []) + (["answers"] if parsed.answers else [])
    await audit.record(
        db, Action.CREATE, actor_kind="anonymous", object_type="feedback", fields=fields, at=row.created_at
    )
    return row


def address_key(settings: Settings, address: str | None) -> str | None:
    """A keyed hash of the sender's address (its own kind, apart from sign-in failures)."""
    if not address:
        return None
    return hmac.new(
        settings.secret_key.encode(), f"public_feedback:{address}".encode(), hashlib.sha256
    ).hexdigest()


async def retry_after(db: AsyncSession, settings: Settings, key: str | None) -> int:
    """Seconds until this address may send feedback again; 0 when it may now. The window is the sign-in
    window (the failure table is trimmed to it)."""
    limited = replace(settings, sign_in_max_failures_per_address=settings.public_feedback_per_address)
    return await auth.retry_after(db, limited, None, key)


async def count_sending(db: AsyncSession, settings: Settings, key: str | None) -> None:
    """One more sending (stored or caught by the honeypot) from this address."""
    if key is None:
        return
    now = utcnow()
    db.add(SignInFailure(key=key, at=now))
    await db.execute(
        delete(SignInFailure).where(
            SignInFailure.key == key,
            SignInFailure.at < now - timedelta(minutes=settings.sign_in_window_minutes),
        )
    )


def wait_minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


def too_many_message(seconds: int) -> str:
    minutes = wait_minutes(seconds)
    return ngettext(
        "You have sent feedback many times in a short while. Try again in %(num)d minute.",
        "You have sent feedback many times in a short while. Try again in %(num)d minutes.",
        minutes,
    ) % {"num": minutes}
