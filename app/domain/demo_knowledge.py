"""Demo data of the knowledge base (service 21): the ten starter articles published for the demo
municipality (the only municipality, so /guidance shows them) and two visitors' questions waiting for an
answer, one of them wanting the answer by e-mail (to an example.org address)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.knowledge import ArticleTopic, GuidanceQuestion, QuestionStatus
from app.db.organisation import Organisation
from app.domain import feedback
from app.domain.starter_articles import seed_starter_articles

QUESTIONS = [
    (
        "ar",
        ArticleTopic.WORK_TAXES,
        "هل أحتاج إلى بطاقة ضريبية جديدة إذا بدأت عملاً ثانياً؟",
        "kysyja@example.org",
    ),
    (
        "fi",
        ArticleTopic.SCHOOLS,
        "Milloin päiväkotipaikkaa pitää hakea, jos aloitan kurssin tammikuussa?",
        None,
    ),
]


async def seed(db: AsyncSession, municipality: Organisation) -> None:
    """Idempotent: the articles by their addresses, the questions only when the municipality has none."""
    await seed_starter_articles(db, municipality.id)
    if await db.scalar(
        select(GuidanceQuestion.id).where(GuidanceQuestion.organisation_id == municipality.id)
    ):
        return
    day = feedback.start_of_day(utcnow())
    for language, topic, text, email in QUESTIONS:
        db.add(
            GuidanceQuestion(
                organisation_id=municipality.id,
                language=language,
                topic=topic,
                text=text,
                email=email,
                status=QuestionStatus.OPEN,
                created_at=day,
                updated_at=day,
            )
        )
    await db.flush()
