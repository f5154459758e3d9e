"""Service quality (service 10, "palvelujen laatutiedot"): survey definitions, their answers, and the
figures of a survey's results page.

Surveys. An organisation writes surveys for four audiences (after an appointment, about a service, about
the app — all asked in the migrant app — and anonymously at /feedback). A survey has ordered questions
(a rating from 1 to 5, yes or no, free text), each written in Finnish and optionally in the other seven
languages of the public surfaces; a missing language falls back to English, then Finnish, and the page
marks the language it shows. At most one survey is active per organisation and audience: activating one
deactivates the other (and a partial unique index holds the rule against concurrent requests). Once a
survey has a response its questions and audience are frozen — a changed question would change what
earlier answers mean — so it is copied instead.

Figures. `survey_figures` counts a survey's answers for its results page (one grouped query per kind of
answer; none loads rows per client in a loop), optionally within `Filters` (organisation, a period of
Helsinki calendar days, an optional segment; with a segment, anonymous feedback is left out: it has no
client and so no segment). The dashboard figures of service quality – feedback by channel and language,
throughput times and goal attainment – are defined once, in app.domain.reports; the feedback channels
(CHANNELS, PUBLIC_ABOUT) are defined here and used there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import utcnow
from app.db.client import Client
from app.db.client_app import Feedback, FeedbackSubject
from app.db.quality import FeedbackAnswer, QuestionKind, Survey, SurveyAudience, SurveyQuestion
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, choice, text
from app.domain.policy import Actor
from app.i18n import LOCAL_TIME, N_, PUBLIC_LOCALES, _, gettext

# --- survey definitions ------------------------------------------------------------------------------

LANGUAGES: tuple[str, ...] = PUBLIC_LOCALES  # the languages of /me/ and / (fi first)
REQUIRED_LANGUAGE = "fi"
FALLBACKS: tuple[str, ...] = ("en", "fi")
NAME_MAX = 200
QUESTION_MAX = 500
MAX_QUESTIONS = 20
BLANK_ROWS = 2  # empty question rows offered under the existing ones (save to get more)
RATING_VALUES: tuple[int, ...] = (1, 2, 3, 4, 5)

# Which survey a piece of feedback from the migrant app answers, by what it is about.
AUDIENCE_OF_SUBJECT: dict[FeedbackSubject, SurveyAudience] = {
    FeedbackSubject.APPOINTMENT: SurveyAudience.APPOINTMENT,
    FeedbackSubject.SERVICE: SurveyAudience.SERVICE,
    FeedbackSubject.APP: SurveyAudience.APP,
}
# Anonymous feedback from / is stored with subject SERVICE and this `about` (see feedback.give_public).
PUBLIC_ABOUT = "public_guidance"


class StaleEdit(Exception):
    """Someone saved the survey after the form was opened."""


class QuestionsFrozen(Exception):
    """The survey has responses: its questions and audience can no longer change."""


class SurveyRuleError(Exception):
    def __init__(self, errors: FormErrors) -> None:
        super().__init__("survey rule")
        self.errors = errors


@dataclass(frozen=True)
class QuestionInput:
    kind: QuestionKind
    texts: dict[str, str]  # language → question; "fi" always present


@dataclass
class SurveyInput:
    name: str | None
    audience: SurveyAudience | None
    questions: list[QuestionInput]
    errors: FormErrors = field(default_factory=FormErrors)


@dataclass(frozen=True)
class ShownText:
    """A question as shown in one interface language: `language` is the language of `text` (for lang=)."""

    text: str
    language: str

    def fallback_for(self, locale: str) -> bool:
        return self.language != locale


@dataclass(frozen=True)
class SurveyRow:
    survey: Survey
    questions: int
    responses: int


def question_text(texts: Mapping[str, Any], locale: str) -> ShownText:
    """The question in `locale`, else English, else Finnish (always written)."""
    for code in (locale, *FALLBACKS):
        value = str(texts.get(code) or "").strip()
        if value:
            return ShownText(value, code)
    found = next(((code, str(v)) for code, v in texts.items() if str(v or "").strip()), ("fi", ""))
    return ShownText(found[1], found[0])


def form_rows(data: Mapping[str, Any]) -> int:
    try:
        rows = int(str(data.get("rows") or "0"))
    except ValueError:
        rows = 0
    return max(0, min(rows, MAX_QUESTIONS + BLANK_ROWS))


def read_form(data: Mapping[str, Any]) -> SurveyInput:
    """The survey form: name, audience and question rows q<i>_position, q<i>_kind, q<i>_<language>,
    q<i>_remove. Empty rows and removed rows are skipped; the others are ordered by position."""
    errors = FormErrors()
    name = text(data, "name", NAME_MAX, errors)
    if not name:
        errors["name"] = _("Give the survey a name.")
    audience = choice(data, "audience", SurveyAudience, errors)
    ordered: list[tuple[float, int, QuestionInput]] = []
    for i in range(form_rows(data)):
        prefix = f"q{i}_"
        if str(data.get(prefix + "remove") or "") in ("on", "1", "true"):
            continue
        texts = {
            code: value for code in LANGUAGES if (value := text(data, prefix + code, QUESTION_MAX, errors))
        }
        raw_kind = str(data.get(prefix + "kind") or "").strip()
        if not texts and not raw_kind:
            continue
        kind = choice(data, prefix + "kind", QuestionKind, errors)
        if not texts.get(REQUIRED_LANGUAGE):
            errors[prefix + REQUIRED_LANGUAGE] = _("Write the question in Finnish.")
        raw_position = str(data.get(prefix + "position") or "").strip()
        try:
            position = float(raw_position) if raw_position else float(i + 1)
        except ValueError:
            errors[prefix + "position"] = _("Give the order as a number, for example 1.")
            position = float(i + 1)
        if kind is not None:
            ordered.append((position, i, QuestionInput(kind, texts)))
    if len(ordered) > MAX_QUESTIONS:
        errors["questions"] = _("A survey has at most %(count)s questions.") % {"count": MAX_QUESTIONS}
    ordered.sort(key=lambda item: (item[0], item[1]))
    return SurveyInput(name, audience, [q for _p, _i, q in ordered], errors)


def form_values(survey: Survey | None, questions: Sequence[SurveyQuestion]) -> dict[str, Any]:
    """A stored survey as its form would post it, with BLANK_ROWS empty rows for new questions."""
    values: dict[str, Any] = {"rows": str(len(questions) + BLANK_ROWS)}
    if survey is not None:
        values.update(name=survey.name, audience=survey.audience.value, version=str(survey.version))
    for i, question in enumerate(questions):
        values[f"q{i}_position"] = str(i + 1)
        values[f"q{i}_kind"] = question.kind.value
        for code in LANGUAGES:
            values[f"q{i}_{code}"] = str(question.texts.get(code) or "")
    return values


def with_blank_rows(data: Mapping[str, Any]) -> dict[str, Any]:
    """Posted input shown again: the rows it had, and at least one empty row for a new question."""
    values = dict(data)
    rows = form_rows(data)
    last_used = any(str(data.get(f"q{rows - 1}_{code}") or "").strip() for code in LANGUAGES) or str(
        data.get(f"q{rows - 1}_kind") or ""
    )
    if rows == 0 or last_used:
        rows = min(rows + 1, MAX_QUESTIONS + BLANK_ROWS)
    values["rows"] = str(rows)
    return values


async def surveys(db: AsyncSession, actor: Actor) -> list[SurveyRow]:
    """The organisation's surveys with their question and response counts (three queries)."""
    found = (
        await db.scalars(
            select(Survey)
            .where(Survey.organisation_id == actor.organisation_id)
            .order_by(Survey.active.desc(), Survey.audience, Survey.name)
        )
    ).all()
    ids = [s.id for s in found]
    questions = await _counts(db, SurveyQuestion.survey_id, ids)
    responses = await response_counts(db, ids)
    return [SurveyRow(s, questions.get(s.id, 0), responses.get(s.id, 0)) for s in found]


async def _counts(db: AsyncSession, column: Any, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    rows = await db.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
    return {row[0]: int(row[1]) for row in rows}


async def response_counts(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    return await _counts(db, Feedback.survey_id, ids)


async def has_responses(db: AsyncSession, survey_id: uuid.UUID) -> bool:
    return bool(await db.scalar(select(Feedback.id).where(Feedback.survey_id == survey_id).limit(1)))


async def load_survey(db: AsyncSession, actor: Actor, survey_id: uuid.UUID) -> Survey | None:
    """The survey when it is the actor's own organisation's; None (→ 404) otherwise."""
    return await db.scalar(
        select(Survey).where(Survey.id == survey_id, Survey.organisation_id == actor.organisation_id)
    )


async def questions_of(db: AsyncSession, survey_id: uuid.UUID) -> list[SurveyQuestion]:
    return list(
        (
            await db.scalars(
                select(SurveyQuestion)
                .where(SurveyQuestion.survey_id == survey_id)
                .order_by(SurveyQuestion.position)
            )
        ).all()
    )


def _same_questions(stored: Sequence[SurveyQuestion], wanted: Sequence[QuestionInput]) -> bool:
    def clean(texts: Mapping[str, Any]) -> dict[str, str]:
        return {k: str(v) for k, v in texts.items() if str(v or "").strip()}

    return [(q.kind, clean(q.texts)) for q in stored] == [(q.kind, clean(q.texts)) for q in wanted]


def _add_questions(db: AsyncSession, survey: Survey, questions: Iterable[QuestionInput]) -> None:
    for position, question in enumerate(questions, start=1):
        db.add(
            SurveyQuestion(
                survey_id=survey.id, position=position, kind=question.kind, texts=dict(question.texts)
            )
        )


async def create(db: AsyncSession, actor: Actor, parsed: SurveyInput) -> Survey:
    """A new, inactive survey of the actor's organisation; the caller checked parsed.errors."""
    assert parsed.name is not None
    assert parsed.audience is not None
    survey = Survey(
        organisation_id=actor.organisation_id, name=parsed.name, audience=parsed.audience, active=False
    )
    db.add(survey)
    await db.flush()
    _add_questions(db, survey, parsed.questions)
    await db.flush()
    await audit.record(
        db, Action.CREATE, actor=actor, object_type="survey", object_id=survey.id,
        fields=["name", "audience", "questions"],
    )  # fmt: skip
    return survey


async def update(db: AsyncSession, actor: Actor, survey: Survey, parsed: SurveyInput, version: str) -> Survey:
    """Save the form. Raises StaleEdit (someone saved in between), QuestionsFrozen (responses exist and
    the questions or the audience would change) or SurveyRuleError."""
    assert parsed.name is not None
    assert parsed.audience is not None
    if version != str(survey.version):
        raise StaleEdit
    stored = await questions_of(db, survey.id)
    questions_change = not _same_questions(stored, parsed.questions)
    audience_changes = parsed.audience != survey.audience
    if (questions_change or audience_changes) and await has_responses(db, survey.id):
        raise QuestionsFrozen
    if audience_changes and survey.active:
        raise SurveyRuleError(
            FormErrors(audience=_("Deactivate the survey before you change who it is for."))
        )
    changed = ["name"] if parsed.name != survey.name else []
    survey.name = parsed.name
    if audience_changes:
        survey.audience = parsed.audience
        changed.append("audience")
    survey.updated_at = utcnow()  # the version moves (once) even when only the questions changed
    if questions_change:
        for question in stored:
            await db.delete(question)
        _add_questions(db, survey, parsed.questions)
        changed.append("questions")
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="survey", object_id=survey.id, fields=changed
    )
    return survey


async def copy(db: AsyncSession, actor: Actor, survey: Survey) -> Survey:
    """An inactive copy with the same audience and questions, to change freely."""
    stored = await questions_of(db, survey.id)
    name = (_("Copy of %(name)s") % {"name": survey.name})[:NAME_MAX]
    parsed = SurveyInput(name, survey.audience, [QuestionInput(q.kind, dict(q.texts)) for q in stored])
    return await create(db, actor, parsed)


async def activate(db: AsyncSession, actor: Actor, survey: Survey, version: str) -> None:
    """Ask this survey from now on; the organisation's other survey for the same audience stops."""
    if version != str(survey.version):
        raise StaleEdit
    if not await questions_of(db, survey.id):
        raise SurveyRuleError(
            FormErrors(survey=_("Add at least one question before you activate the survey."))
        )
    # Every other survey of the audience, not only the one active now: on PostgreSQL this waits for a
    # concurrent activation's row locks and then turns that one off too, so the later activation wins
    # (the partial unique index would otherwise refuse it). The version moves where `active` changes.
    await db.execute(
        sql_update(Survey)
        .where(
            Survey.organisation_id == survey.organisation_id,
            Survey.audience == survey.audience,
            Survey.id != survey.id,
        )
        .values(
            active=False, version=case((Survey.active.is_(True), Survey.version + 1), else_=Survey.version)
        )
        .execution_options(synchronize_session=False)
    )
    survey.active = True
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="survey", object_id=survey.id, fields=["active"]
    )


async def deactivate(db: AsyncSession, actor: Actor, survey: Survey, version: str) -> None:
    if version != str(survey.version):
        raise StaleEdit
    survey.active = False
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="survey", object_id=survey.id, fields=["active"]
    )


# --- asking a survey ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AskedQuestion:
    id: uuid.UUID
    kind: QuestionKind
    shown: ShownText

    @property
    def field(self) -> str:
        return f"q_{self.id}"


@dataclass(frozen=True)
class AskedSurvey:
    id: uuid.UUID
    audience: SurveyAudience
    questions: list[AskedQuestion]


async def active_surveys(
    db: AsyncSession, organisation_ids: Iterable[uuid.UUID], audiences: Iterable[SurveyAudience], locale: str
) -> dict[tuple[uuid.UUID, SurveyAudience], AskedSurvey]:
    """The active surveys (with at least one question) of these organisations and audiences, with their
    questions in `locale` (two queries)."""
    orgs, wanted = set(organisation_ids), set(audiences)
    if not orgs or not wanted:
        return {}
    found = (
        await db.scalars(
            select(Survey).where(
                Survey.organisation_id.in_(orgs), Survey.audience.in_(wanted), Survey.active.is_(True)
            )
        )
    ).all()
    if not found:
        return {}
    questions = (
        await db.scalars(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id.in_([s.id for s in found]))
            .order_by(SurveyQuestion.survey_id, SurveyQuestion.position)
        )
    ).all()
    result: dict[tuple[uuid.UUID, SurveyAudience], AskedSurvey] = {}
    for survey in found:
        asked = [
            AskedQuestion(q.id, q.kind, question_text(q.texts, locale))
            for q in questions
            if q.survey_id == survey.id
        ]
        if asked:
            result[(survey.organisation_id, survey.audience)] = AskedSurvey(survey.id, survey.audience, asked)
    return result


async def active_survey(
    db: AsyncSession, organisation_id: uuid.UUID, audience: SurveyAudience, locale: str
) -> AskedSurvey | None:
    return (await active_surveys(db, [organisation_id], [audience], locale)).get((organisation_id, audience))


Rows = Select[*tuple[Any, ...]]

# --- figures -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a figure covers: an organisation, the calendar days starts_on..ends_on (inclusive, Helsinki
    time) and optionally one segment (1–3)."""

    organisation_id: uuid.UUID
    starts_on: date
    ends_on: date
    segment: int | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: midnight in Helsinki of the first day and of the day after."""
        start = datetime.combine(self.starts_on, time(), tzinfo=LOCAL_TIME)
        end = datetime.combine(self.ends_on + timedelta(days=1), time(), tzinfo=LOCAL_TIME)
        return start, end


@dataclass(frozen=True)
class QuestionFigure:
    question_id: uuid.UUID
    position: int
    kind: QuestionKind
    texts: dict[str, Any]
    answered: int
    ratings: dict[int, int]  # 1..5 → count (rating questions; zeros included)
    mean_rating: Decimal | None
    yes: int
    no: int
    free_texts: list[FreeTextAnswer]  # only when asked for (managers' results page, never exports)


@dataclass(frozen=True)
class FreeTextAnswer:
    text: str
    language: str
    on: date  # the day it was given (Helsinki)


@dataclass(frozen=True)
class SurveyFigures:
    survey_id: uuid.UUID
    responses: int
    ratings: dict[int, int]  # the overall rating every response carries
    mean_rating: Decimal | None
    questions: list[QuestionFigure]


# Feedback channels: what the feedback was about in the migrant app, or the anonymous public form.
CHANNELS: dict[str, str] = {
    FeedbackSubject.APPOINTMENT.value: N_("After an appointment"),
    FeedbackSubject.SERVICE.value: N_("About a service"),
    FeedbackSubject.APP.value: N_("About the Kotopolku app"),
    "public": N_("Anonymous, at the guidance site"),
}


def channel_label(key: str) -> str:
    return gettext(CHANNELS[key]) if key in CHANNELS else key


def _mean(value: Any) -> Decimal | None:
    """An average as Decimal with two decimals (SQLite's avg() is a float, PostgreSQL's a numeric)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _weighted_mean(counts: Mapping[int, int]) -> Decimal | None:
    total = sum(counts.values())
    if not total:
        return None
    return _mean(Decimal(sum(value * count for value, count in counts.items())) / Decimal(total))


def _local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TIME).date()


def _feedback_query(filters: Filters, *columns: Any) -> Rows:
    start, end = filters.bounds()
    query = select(*columns).where(
        Feedback.organisation_id == filters.organisation_id,
        Feedback.created_at >= start,
        Feedback.created_at < end,
    )
    if filters.segment is not None:  # anonymous feedback has no client and so no segment
        query = query.join(Client, Client.id == Feedback.client_id).where(Client.segment == filters.segment)
    return query


async def survey_figures(
    db: AsyncSession, survey_id: uuid.UUID, filters: Filters | None = None, *, free_text: bool = False
) -> SurveyFigures | None:
    """A survey's answers: responses and their overall rating, and per question the counts of each rating
    and of yes/no (one grouped query) — plus the free-text answers when `free_text` (they may hold
    personal data: for the managers' results page only, never for exports). With `filters`, only
    responses in its period (and segment) count, and a survey of another organisation gives None."""
    survey = await db.get(Survey, survey_id)
    if survey is None or (filters is not None and survey.organisation_id != filters.organisation_id):
        return None
    questions = await questions_of(db, survey_id)
    responses = select(Feedback.id).where(Feedback.survey_id == survey_id)
    if filters is not None:
        responses = _feedback_query(filters, Feedback.id).where(Feedback.survey_id == survey_id)
    chosen = responses.subquery()
    overall = {
        int(rating): int(count)
        for rating, count in await db.execute(
            select(Feedback.rating, func.count())
            .where(Feedback.id.in_(select(chosen.c.id)))
            .group_by(Feedback.rating)
        )
    }
    answer_rows = await db.execute(
        select(FeedbackAnswer.question_id, FeedbackAnswer.rating, FeedbackAnswer.yes, func.count())
        .where(FeedbackAnswer.feedback_id.in_(select(chosen.c.id)), FeedbackAnswer.text.is_(None))
        .group_by(FeedbackAnswer.question_id, FeedbackAnswer.rating, FeedbackAnswer.yes)
    )
    tallies: dict[uuid.UUID, list[tuple[int | None, bool | None, int]]] = {}
    for question_id, rating, said_yes, count in answer_rows:
        if question_id is not None:
            tallies.setdefault(question_id, []).append((rating, said_yes, int(count)))
    text_counts = {
        question_id: int(count)
        for question_id, count in await db.execute(
            select(FeedbackAnswer.question_id, func.count())
            .where(FeedbackAnswer.feedback_id.in_(select(chosen.c.id)), FeedbackAnswer.text.is_not(None))
            .group_by(FeedbackAnswer.question_id)
        )
        if question_id is not None
    }
    texts: dict[uuid.UUID, list[FreeTextAnswer]] = {}
    if free_text:
        for question_id, value, language, at in await db.execute(
            select(FeedbackAnswer.question_id, FeedbackAnswer.text, Feedback.language, Feedback.created_at)
            .join(Feedback, Feedback.id == FeedbackAnswer.feedback_id)
            .where(Feedback.id.in_(select(chosen.c.id)), FeedbackAnswer.text.is_not(None))
            .order_by(Feedback.created_at.desc(), FeedbackAnswer.id)
        ):
            if question_id is not None and value:
                texts.setdefault(question_id, []).append(FreeTextAnswer(value, language, _local_day(at)))
    figures: list[QuestionFigure] = []
    for question in questions:
        rows = tallies.get(question.id, [])
        ratings = dict.fromkeys(RATING_VALUES, 0)
        yes = no = 0
        for rating, answer, count in rows:
            if rating in ratings:
                ratings[rating] += count
            if answer is True:
                yes += count
            elif answer is False:
                no += count
        rated = sum(ratings.values())
        figures.append(
            QuestionFigure(
                question_id=question.id,
                position=question.position,
                kind=question.kind,
                texts=dict(question.texts),
                answered=rated + yes + no + text_counts.get(question.id, 0),
                ratings=ratings,
                mean_rating=_weighted_mean(ratings),
                yes=yes,
                no=no,
                free_texts=texts.get(question.id, []),
            )
        )
    return SurveyFigures(
        survey_id,
        sum(overall.values()),
        {r: overall.get(r, 0) for r in RATING_VALUES},
        _weighted_mean(overall),
        figures,
    )
