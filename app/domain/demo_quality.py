"""Demo data for service quality: the municipality's surveys (the app and the public guidance survey
active, an appointment survey in draft), a few months of answers to them — identified and anonymous, in
several languages — and the attainment of the goals of plans that have ended.

Needs the municipality and its clients (app.domain.demo.load, after app.domain.demo_path has made plans).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.client_app import Feedback, FeedbackSubject
from app.db.organisation import Organisation
from app.db.plan import GoalAttainment, IntegrationPlan, PlanGoal, PlanStatus
from app.db.quality import FeedbackAnswer, QuestionKind, Survey, SurveyAudience, SurveyQuestion
from app.domain.quality import PUBLIC_ABOUT

APP_QUESTIONS: list[tuple[QuestionKind, dict[str, str]]] = [
    (
        QuestionKind.RATING,
        {
            "fi": "Kuinka helppoa sovelluksen käyttö oli?",
            "sv": "Hur lätt var det att använda appen?",
            "en": "How easy was the app to use?",
            "ar": "ما مدى سهولة استخدام التطبيق؟",
            "uk": "Наскільки легко було користуватися застосунком?",
            "ru": "Насколько легко было пользоваться приложением?",
        },
    ),
    (
        QuestionKind.YES_NO,
        {
            "fi": "Löysitkö tarvitsemasi tiedon omalla kielelläsi?",
            "en": "Did you find the information you needed in your own language?",
            "ar": "هل وجدت المعلومات التي تحتاجها بلغتك؟",
        },
    ),
    (
        QuestionKind.FREE_TEXT,
        {"fi": "Mitä parantaisit?", "en": "What would you improve?", "so": "Maxaad hagaajin lahayd?"},
    ),
]
PUBLIC_QUESTIONS: list[tuple[QuestionKind, dict[str, str]]] = [
    (
        QuestionKind.YES_NO,
        {
            "fi": "Saitko vastauksen kysymykseesi?",
            "sv": "Fick du svar på din fråga?",
            "en": "Did you get an answer to your question?",
            "fa": "آیا پاسخ سوال خود را گرفتید؟",
        },
    ),
    (
        QuestionKind.RATING,
        {"fi": "Kuinka hyvin sinua ymmärrettiin?", "en": "How well were you understood?"},
    ),
]
APPOINTMENT_QUESTIONS: list[tuple[QuestionKind, dict[str, str]]] = [
    (
        QuestionKind.YES_NO,
        {"fi": "Oliko tulkki mukana, kun tarvitsit?", "en": "Was there an interpreter when you needed one?"},
    ),
]
COMMENTS = ["Selkeä ja ystävällinen.", "Odotusaika oli pitkä.", "Thank you for the help.", None, None, None]
LANGUAGES = ["fi", "fi", "en", "ar", "uk", "ru", "so", "fa", "sv"]


async def seed(db: AsyncSession, organisation: Organisation, rng: random.Random | None = None) -> None:
    rng = rng or random.Random(2031)  # noqa: S311 - demo data, not secrets
    now = datetime.now(UTC)
    made: list[tuple[Survey, list[SurveyQuestion]]] = []
    for name, audience, wording, active in (
        ("Sovelluskysely", SurveyAudience.APP, APP_QUESTIONS, True),
        ("Neuvontapisteen palaute", SurveyAudience.PUBLIC, PUBLIC_QUESTIONS, True),
        ("Tapaamisen jälkeen (luonnos)", SurveyAudience.APPOINTMENT, APPOINTMENT_QUESTIONS, False),
    ):
        survey = Survey(organisation_id=organisation.id, name=name, audience=audience, active=active)
        db.add(survey)
        await db.flush()
        rows = [
            SurveyQuestion(survey_id=survey.id, position=i, kind=kind, texts=texts)
            for i, (kind, texts) in enumerate(wording, start=1)
        ]
        db.add_all(rows)
        made.append((survey, rows))
    await db.flush()

    clients = list(
        (await db.scalars(select(Client.id).where(Client.organisation_id == organisation.id).limit(30))).all()
    )
    for survey, questions in made[:2]:
        public = survey.audience == SurveyAudience.PUBLIC
        for _ in range(rng.randint(18, 30)):
            day = (now - timedelta(days=rng.randint(0, 120))).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            identified = not public and clients and rng.random() < 0.6
            feedback = Feedback(
                organisation_id=organisation.id,
                client_id=rng.choice(clients) if identified else None,
                subject=FeedbackSubject.SERVICE if public else FeedbackSubject.APP,
                about=PUBLIC_ABOUT if public else None,
                rating=rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 4, 8, 6])[0],
                comment=rng.choice(COMMENTS),
                language=rng.choice(LANGUAGES),
                created_at=day + timedelta(hours=rng.randint(8, 16)) if identified else day,
                survey_id=survey.id,
            )
            db.add(feedback)
            await db.flush()
            for question in questions:
                if rng.random() < 0.2:
                    continue  # skipped
                if question.kind == QuestionKind.RATING:
                    db.add(FeedbackAnswer(feedback_id=feedback.id, question_id=question.id,
                                          rating=rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 3, 6, 5])[0]))  # fmt: skip
                elif question.kind == QuestionKind.YES_NO:
                    db.add(
                        FeedbackAnswer(
                            feedback_id=feedback.id, question_id=question.id, yes=rng.random() < 0.75
                        )
                    )
                elif rng.random() < 0.3:
                    db.add(FeedbackAnswer(feedback_id=feedback.id, question_id=question.id,
                                          text=rng.choice(["Enemmän iltapäiväaikoja.", "More languages, please.",
                                                           "Kaikki toimi hyvin."])))  # fmt: skip

    # Goals of plans that have ended get their attainment, as the end form now asks.
    goals = (
        await db.scalars(
            select(PlanGoal)
            .join(IntegrationPlan, IntegrationPlan.id == PlanGoal.plan_id)
            .where(
                IntegrationPlan.organisation_id == organisation.id,
                IntegrationPlan.status.in_([PlanStatus.ENDED, PlanStatus.INTERRUPTED]),
                PlanGoal.attainment.is_(None),
            )
        )
    ).all()
    for goal in goals:
        goal.attainment = rng.choices(list(GoalAttainment), weights=[5, 3, 2])[0]
    await db.flush()
