"""Anonymous questions to the guidance service (service 21), from the public pages /guidance.

A visitor asks without an account: the text, the language of the answer, and — only if they want the
answer by e-mail — an address. The question keeps the day only (no time, no address of the sender: the
rate limit counts keyed hashes in the sign-in failure table, as anonymous feedback does). CSRF and a
honeypot field keep robots out; QUESTIONS_PER_ADDRESS questions per address within the sign-in window.

Officers with KNOWLEDGE_EDIT answer or dismiss a question, or make a draft article of it. When an
officer answers, the answer is queued to the outbox (kind guidance_answer, rendered in app/jobs/render.py)
and the address is deleted from the question at once; the outbox row's copy is deleted once it has been
delivered or given up (tidy_questions, each time officers open the list). Answered and dismissed
questions are deleted after a year.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import utcnow
from app.db.knowledge import ArticleTopic, GuidanceQuestion, KnowledgeArticle, QuestionStatus
from app.db.outbox import Channel, NotificationKind, OutboxMessage, OutboxStatus
from app.domain import audit, auth, feedback, outbox
from app.domain.audit import Action
from app.domain.forms import FormErrors, email_field
from app.domain.knowledge import LANGUAGES, TITLE_MAX, StaleEdit, topic_from
from app.domain.policy import Actor
from app.i18n import _, ngettext
from app.settings import Settings

QUESTION_MAX = 2000
ANSWER_MAX = 10000
QUESTIONS_PER_ADDRESS = 5  # within the sign-in window (15 minutes by default); then 429
QUESTION_KEEP_DAYS = 365  # answered and dismissed questions are deleted after this
HONEYPOT = "website"


@dataclass
class QuestionInput:
    text: str = ""
    language: str = "fi"
    email: str | None = None
    topic: ArticleTopic | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_question_form(data: Mapping[str, Any], locale: str) -> QuestionInput:
    parsed = QuestionInput()
    question = str(data.get("question") or "").strip()
    if not question:
        parsed.errors["question"] = _("Write your question.")
    elif len(question) > QUESTION_MAX:
        parsed.errors["question"] = _("Your question is too long: at most %(num)d characters.") % {
            "num": QUESTION_MAX
        }
    parsed.text = question
    language = str(data.get("language") or "")
    parsed.language = language if language in LANGUAGES else locale
    parsed.email = email_field(data, "email", parsed.errors)
    parsed.topic = topic_from(str(data.get("topic") or ""))
    return parsed


def is_robot(data: Mapping[str, Any]) -> bool:
    """A form robot filled in the field people never see."""
    return bool(str(data.get(HONEYPOT) or "").strip())


def question_key(settings: Settings, address: str | None) -> str | None:
    """A keyed hash of the sender's address, of its own kind (apart from sign-in failures and feedback)."""
    if not address:
        return None
    return auth.limiter_keys(settings, None, f"guidance-question:{address}")[1]


async def retry_after(db: AsyncSession, settings: Settings, key: str | None) -> int:
    """Seconds until this address may ask again (QUESTIONS_PER_ADDRESS within the sign-in window)."""
    limited = replace(settings, sign_in_max_failures_per_address=QUESTIONS_PER_ADDRESS)
    return await auth.retry_after(db, limited, None, key)


async def count_question(db: AsyncSession, settings: Settings, key: str | None) -> None:
    """One more question (stored or caught by the honeypot) from this address."""
    await auth.record_failure(db, settings, None, key)


def too_many_message(seconds: int) -> str:
    minutes = feedback.wait_minutes(seconds)
    return ngettext(
        "You have sent many questions in a short while. Try again in %(num)d minute.",
        "You have sent many questions in a short while. Try again in %(num)d minutes.",
        minutes,
    ) % {"num": minutes}


async def ask(
    db: AsyncSession, organisation_id: uuid.UUID, parsed: QuestionInput, article: KnowledgeArticle | None
) -> GuidanceQuestion:
    """Store a visitor's question: the day only, no sender; audited as anonymous (the day only too)."""
    day = feedback.start_of_day(utcnow())
    question = GuidanceQuestion(
        organisation_id=organisation_id,
        language=parsed.language,
        topic=parsed.topic or (article.topic if article else None),
        article_id=article.id if article else None,
        text=parsed.text,
        email=parsed.email,
        status=QuestionStatus.OPEN,
        created_at=day,
        updated_at=day,
    )
    db.add(question)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor_kind="anonymous",
        object_type="guidance_question",
        fields=["text", "language"] + (["email"] if parsed.email else []),
        at=day,
    )
    return question


async def load_question(
    db: AsyncSession, organisation_id: uuid.UUID, question_id: uuid.UUID
) -> GuidanceQuestion | None:
    return await db.scalar(
        select(GuidanceQuestion)
        .where(GuidanceQuestion.id == question_id, GuidanceQuestion.organisation_id == organisation_id)
        .execution_options(populate_existing=True)
    )


async def questions_of(
    db: AsyncSession, organisation_id: uuid.UUID, status: QuestionStatus, limit: int = 100
) -> list[GuidanceQuestion]:
    newest_first = status != QuestionStatus.OPEN
    order = GuidanceQuestion.updated_at.desc() if newest_first else GuidanceQuestion.created_at
    stmt = (
        select(GuidanceQuestion)
        .where(GuidanceQuestion.organisation_id == organisation_id, GuidanceQuestion.status == status)
        .order_by(order, GuidanceQuestion.id)
        .limit(limit)
    )
    return list((await db.scalars(stmt)).all())


async def open_question_count(db: AsyncSession, organisation_id: uuid.UUID) -> int:
    return (
        await db.scalar(
            select(func.count()).where(
                GuidanceQuestion.organisation_id == organisation_id,
                GuidanceQuestion.status == QuestionStatus.OPEN,
            )
        )
        or 0
    )


def read_answer(data: Mapping[str, Any]) -> tuple[str, FormErrors]:
    errors = FormErrors()
    answer = str(data.get("answer") or "").strip()
    if not answer:
        errors["answer"] = _("Write the answer.")
    elif len(answer) > ANSWER_MAX:
        errors["answer"] = _("The answer is too long: at most %(num)d characters.") % {"num": ANSWER_MAX}
    return answer, errors


async def answer(
    db: AsyncSession, actor: Actor, question: GuidanceQuestion, seen_version: int, reply: str
) -> bool:
    """Record the answer; e-mail it (through the outbox) if the visitor gave an address, then delete the
    address. True when an e-mail was queued. StaleEdit when someone handled the question meanwhile."""
    if seen_version != question.version or question.status != QuestionStatus.OPEN:
        raise StaleEdit
    address = question.email
    question.answer = reply
    question.status = QuestionStatus.ANSWERED
    question.answered_by_id = actor.staff_id
    question.answered_at = utcnow()
    question.email = None  # data minimisation: kept no longer than needed to answer
    question.answer_emailed = address is not None
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if address is not None:
        await outbox.notify_address(
            db,
            Channel.EMAIL,
            address,
            NotificationKind.GUIDANCE_ANSWER,
            {"question_id": str(question.id)},
            question.language,
            dedupe_key=f"guidance_answer:{question.id}",
        )
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="guidance_question",
        object_id=question.id,
        fields=["answer", "status"] + (["email"] if address is not None else []),
    )
    return address is not None


async def dismiss(db: AsyncSession, actor: Actor, question: GuidanceQuestion, seen_version: int) -> None:
    """Close the question without an answer (and delete any address)."""
    if seen_version != question.version or question.status != QuestionStatus.OPEN:
        raise StaleEdit
    had_email = question.email is not None
    question.status = QuestionStatus.DISMISSED
    question.email = None
    question.answered_by_id = actor.staff_id
    question.answered_at = utcnow()
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="guidance_question",
        object_id=question.id,
        fields=["status"] + (["email"] if had_email else []),
    )


async def tidy_questions(db: AsyncSession, organisation_id: uuid.UUID) -> None:
    """Data minimisation, each time officers look at the questions: addresses in sent (or given-up) answer
    e-mails are deleted, and answered or dismissed questions older than a year."""
    await db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind == NotificationKind.GUIDANCE_ANSWER,
            OutboxMessage.status.in_([OutboxStatus.DELIVERED, OutboxStatus.FAILED, OutboxStatus.CANCELLED]),
            OutboxMessage.address.is_not(None),
        )
        .values(address=None)
    )
    await db.execute(
        delete(GuidanceQuestion).where(
            GuidanceQuestion.organisation_id == organisation_id,
            GuidanceQuestion.status != QuestionStatus.OPEN,
            GuidanceQuestion.answered_at < utcnow() - timedelta(days=QUESTION_KEEP_DAYS),
        )
    )


def draft_from_question(question: GuidanceQuestion) -> dict[str, Any]:
    """The new-article form filled in from a question: its topic, and the question as the first title."""
    first_line = " ".join(question.text.split())
    return {
        "topic": question.topic.value if question.topic else "",
        "source_language": "fi",
        "title": first_line[:TITLE_MAX],
        "summary": "",
        "body": "",
        "question": str(question.id),
    }
