"""Service quality (service 10): survey definitions and answers; goal attainment lives on plan_goal."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, Versioned
from app.db.organisation import enum_column


class SurveyAudience(enum.StrEnum):
    """Where a survey is asked: after an appointment or a service, about the app (all in /me/), or
    anonymously at / after low-threshold guidance."""

    APPOINTMENT = "survey_appointment"
    SERVICE = "survey_service"
    APP = "survey_app"
    PUBLIC = "survey_public"


class QuestionKind(enum.StrEnum):
    RATING = "question_rating"  # 1–5
    YES_NO = "question_yes_no"
    FREE_TEXT = "question_free_text"


class Survey(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "survey"
    __table_args__ = (
        # At most one active survey per organisation and audience, whatever two requests do at once.
        Index(
            "uq_survey_organisation_id_audience_active",
            "organisation_id",
            "audience",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    audience: Mapped[SurveyAudience] = mapped_column(enum_column(SurveyAudience, "survey_audience"))
    active: Mapped[bool] = mapped_column(default=False)  # at most one active per organisation and audience


class SurveyQuestion(UUIDPrimaryKey, Base):
    __tablename__ = "survey_question"

    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[QuestionKind] = mapped_column(enum_column(QuestionKind, "question_kind"))
    # The question in each language the organisation wrote it in: {"fi": "...", "ar": "..."}.
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)


class FeedbackAnswer(Base):
    """One answer of a feedback response (feedback row) to one survey question."""

    __tablename__ = "feedback_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("survey_question.id", ondelete="SET NULL"), index=True
    )
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    yes: Mapped[bool | None]
    text: Mapped[str | None] = mapped_column(Text)
