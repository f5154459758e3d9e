"""Anonymous feedback at /feedback (service 10): no account and nothing personal asked or kept, the
active public survey in the visitor's language, a per-address limit (429 with Retry-After), a honeypot
for robots, CSRF, and one receiving organisation decided by the deployment."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from app import i18n
from app.db.audit import AuditEvent
from app.db.auth import SignInFailure
from app.db.client_app import Feedback, FeedbackSubject
from app.db.organisation import OrganisationType
from app.db.quality import FeedbackAnswer, QuestionKind, SurveyAudience
from app.main import create_app
from tests.conftest import BASE_URL, AppTestClient, post
from tests.integration.test_quality import make_survey, questions_of


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)


def english(client: TestClient[Any]) -> None:
    client.get("/?lang=en")


def count(db, model=Feedback) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def limited(settings) -> Iterator[TestClient[Any]]:
    """The app with a limit of two feedbacks per address."""
    with AppTestClient(
        create_app(replace(settings, public_feedback_per_address=2)), base_url=BASE_URL
    ) as test_client:
        yield test_client


def test_anyone_gives_anonymous_feedback_without_personal_data(client, db, home):
    english(client)
    assert 'href="/feedback"' in client.get("/").text  # linked from the landing page
    page = client.get("/feedback")
    assert page.status_code == 200 and "Give feedback" in page.text
    assert "Do not write your name, identity code, phone number or other personal details" in page.text
    # Nothing personal is asked: the only fields are the rating, the comment and the hidden honeypot.
    fields = set(re.findall(r'<(?:input|textarea|select)[^>]*\sname="([^"]+)"', page.text)) - {"_csrf_token"}
    assert fields == {"rating", "comment", "website"}
    assert re.search(r'<div class="field" hidden>\s*<label for="website">', page.text)

    response = post(client, "/feedback", {"rating": "4", "comment": "Neuvoja sai nopeasti", "website": ""})
    assert response.status_code == 303 and response.headers["location"] == "/feedback/thanks"
    assert "Thank you for your feedback" in client.get("/feedback/thanks").text
    row = db.scalar(select(Feedback))
    assert row.organisation_id == home.id and row.client_id is None
    assert row.appointment_id is None and row.plan_service_id is None and row.survey_id is None
    assert row.subject == FeedbackSubject.SERVICE and row.about == "public_guidance"
    assert (row.rating, row.comment, row.language) == (4, "Neuvoja sai nopeasti", "en")
    assert (
        row.created_at.hour,
        row.created_at.minute,
        row.created_at.second,
        row.created_at.microsecond,
    ) == (
        0,
        0,
        0,
        0,
    )
    logged = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "feedback"))
    assert logged.actor_kind == "anonymous" and logged.actor_id is None and logged.client_id is None
    assert logged.object_id is None and logged.at == row.created_at
    # The address is not stored: only a keyed hash counts the sendings.
    keys = db.scalars(select(SignInFailure.key)).all()
    assert len(keys) == 1 and re.fullmatch(r"[0-9a-f]{64}", keys[0]) and "testclient" not in keys[0]


def test_bad_feedback_is_shown_again_with_what_was_typed(client, db, home):
    english(client)
    response = post(client, "/feedback", {"rating": "", "comment": "Kesken jäi"})
    assert response.status_code == 422
    assert "Choose how it was, from 1 to 5." in response.text and "Kesken jäi</textarea>" in response.text
    too_long = post(client, "/feedback", {"rating": "3", "comment": "x" * 2001})
    assert too_long.status_code == 422 and "at most 2000 characters" in too_long.text
    assert count(db) == 0


def test_the_public_survey_is_asked_in_the_visitors_language(client, db, home):
    survey = make_survey(
        db,
        home,
        SurveyAudience.PUBLIC,
        [
            (
                QuestionKind.RATING,
                {"fi": "Saitko apua?", "en": "Did you get help?", "uk": "Чи отримали ви допомогу?"},
            ),
            (QuestionKind.YES_NO, {"fi": "Löysitkö paikalle helposti?"}),
            (QuestionKind.FREE_TEXT, {"fi": "Mitä muuta?", "en": "Anything else?"}),
        ],
        active=True,
    )
    make_survey(
        db, home, SurveyAudience.APP, [(QuestionKind.RATING, {"fi": "Sovelluksen kysymys"})], active=True
    )
    rating, yes_no, free = questions_of(db, survey.id)
    page = client.get("/feedback?lang=uk")
    assert page.status_code == 200 and '<html lang="uk"' in page.text
    assert '<span lang="uk" dir="auto">Чи отримали ви допомогу?</span>' in page.text
    assert '<span lang="fi" dir="auto">Löysitkö paikalle helposti?</span>' in page.text  # no uk or en
    assert 'lang="en" dir="auto">Anything else?</label>' in page.text
    assert "Sovelluksen kysymys" not in page.text  # the app's survey is asked in the app only
    # Answers to a survey that is no longer the active one: the current questions are shown, nothing saved.
    changed = post(client, "/feedback", {"rating": "5", "survey_id": str(uuid.uuid4()), "comment": "Vanha"})
    assert (
        changed.status_code == 200 and 'role="status"' in changed.text and "Vanha</textarea>" in changed.text
    )
    assert count(db) == 0
    response = post(
        client,
        "/feedback",
        {"rating": "5", "survey_id": str(survey.id), f"q_{rating.id}": "4", f"q_{yes_no.id}": "yes",
         f"q_{free.id}": "Дякую"},
    )  # fmt: skip
    assert response.status_code == 303
    row = db.scalar(select(Feedback))
    assert row.survey_id == survey.id and row.language == "uk" and row.client_id is None
    answers = {a.question_id: a for a in db.scalars(select(FeedbackAnswer))}
    assert (
        answers[rating.id].rating == 4 and answers[yes_no.id].yes is True and answers[free.id].text == "Дякую"
    )


def test_sending_is_limited_per_address(limited, db, home):
    english(limited)
    for _ in range(2):
        assert post(limited, "/feedback", {"rating": "3"}).status_code == 303
    response = post(limited, "/feedback", {"rating": "1", "comment": "Kolmas kerta"})
    assert response.status_code == 429
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= 15 * 60 + 1
    assert "You have sent feedback many times in a short while. Try again in 15 minutes." in response.text
    assert "Kolmas kerta</textarea>" in response.text  # kept for later
    assert count(db) == 2
    # In the visitor's language.
    finnish = post(limited, "/feedback?lang=fi", {"rating": "1"})
    i18n.set_locale("fi")
    heading = i18n.gettext("Too many attempts")
    assert heading != "Too many attempts"
    assert finnish.status_code == 429 and f"<h2>{heading}</h2>" in finnish.text


def test_robots_filling_the_honeypot_store_nothing(limited, db, home):
    english(limited)
    response = post(
        limited, "/feedback", {"rating": "5", "comment": "Buy now", "website": "http://spam.example"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/feedback/thanks"
    assert count(db) == 0 and count(db, AuditEvent) == 0
    post(limited, "/feedback", {"rating": "5", "website": "x"})
    assert post(limited, "/feedback", {"rating": "5"}).status_code == 429  # robots count too


def test_feedback_without_the_csrf_token_is_refused(client, db, home):
    english(client)
    response = client.post(
        "/feedback", data={"rating": "5", "comment": "Ilman tunnistetta"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert count(db) == 0


def test_the_receiving_organisation_is_the_deployments(settings, factory, db):
    first = factory.organisation("Ensikunta", OrganisationType.MUNICIPALITY)
    first.code = "091"
    db.commit()
    factory.organisation("Toinenkunta", OrganisationType.MUNICIPALITY)
    factory.organisation("Työllisyysalue", OrganisationType.EMPLOYMENT_AUTHORITY)
    # Two municipalities and none named: the page says feedback is not received here.
    with AppTestClient(create_app(settings), base_url=BASE_URL) as unnamed:
        english(unnamed)
        page = unnamed.get("/feedback")
        assert page.status_code == 404 and "Feedback is not received here" in page.text
        assert post(unnamed, "/feedback", {"rating": "5"}).status_code == 404
    assert count(db) == 0
    # PUBLIC_ORGANISATION names it by its code (or its exact name).
    for named in ("091", "Ensikunta"):
        with AppTestClient(
            create_app(replace(settings, public_organisation=named)), base_url=BASE_URL
        ) as chosen:
            english(chosen)
            assert chosen.get("/feedback").status_code == 200
            assert post(chosen, "/feedback", {"rating": "5"}).status_code == 303
    db.expire_all()
    assert {f.organisation_id for f in db.scalars(select(Feedback))} == {first.id}
