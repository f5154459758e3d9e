"""Service quality (service 10): survey definitions (one active per organisation and audience, questions
frozen once answered), survey answers from the migrant app (anonymous ones keep no link), goal attainment
recorded when a plan ends, and the survey and feedback figures on a small hand-made data set. The
dashboard's throughput times and goal attainment figures are tested in test_reports.py."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.audit import AuditEvent
from app.db.client_app import Feedback, FeedbackSubject
from app.db.organisation import OrganisationType, Role
from app.db.plan import GoalAttainment, PlanGoal, PlanStatus
from app.db.quality import FeedbackAnswer, QuestionKind, Survey, SurveyAudience, SurveyQuestion
from app.domain import quality, reports
from app.domain.forms import today
from app.i18n import LOCAL_TIME
from app.settings import Settings
from tests.conftest import post, sign_in, sign_in_client
from tests.integration.test_me_data import World, populate
from tests.integration.test_plans import in_force, the_plan

T = TypeVar("T")


def run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_async_engine(settings.async_database_url)
        try:
            async with AsyncSession(engine) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)


@pytest.fixture
def manager(client, factory, home):
    person = factory.staff(home, Role.MANAGER)
    sign_in(client, person)
    client.get("/officer/?lang=en")  # messages are asserted in English, the msgid language
    return person


def survey_form(name="Asiakaspalaute", audience="survey_app", questions=(), version=None, blank=1):
    """The survey form as a browser posts it: question rows q<i>_… and `blank` empty rows after them."""
    data = {"name": name, "audience": audience, "rows": str(len(questions) + blank)}
    for i, (kind, texts, *position) in enumerate(questions):
        data[f"q{i}_kind"] = kind
        data[f"q{i}_position"] = str(position[0] if position else i + 1)
        for code, value in texts.items():
            data[f"q{i}_{code}"] = value
    if version is not None:
        data["version"] = str(version)
    return data


def make_survey(
    db, organisation, audience=SurveyAudience.APP, questions=None, *, active=False, name="Kysely"
):
    survey = Survey(organisation_id=organisation.id, name=name, audience=audience, active=active)
    db.add(survey)
    db.flush()
    for position, (kind, texts) in enumerate(questions or [], start=1):
        db.add(SurveyQuestion(survey_id=survey.id, position=position, kind=kind, texts=texts))
    db.commit()
    return survey


def questions_of(db, survey_id):
    db.expire_all()
    return db.scalars(
        select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id).order_by(SurveyQuestion.position)
    ).all()


THREE = [
    (QuestionKind.RATING, {"fi": "Saitko apua?", "en": "Did you get help?", "ar": "هل حصلت على المساعدة؟"}),
    (QuestionKind.YES_NO, {"fi": "Oliko tulkki paikalla?", "en": "Was there an interpreter?"}),
    (QuestionKind.FREE_TEXT, {"fi": "Mitä parantaisit?"}),
]


# --- survey definitions -----------------------------------------------------------------------------


def test_a_manager_defines_a_survey_with_ordered_questions_in_several_languages(client, manager, db, home):
    assert "New survey" in client.get("/officer/surveys").text
    form = client.get("/officer/surveys/new")
    assert form.status_code == 200 and 'name="q0_fi"' in form.text and 'name="q0_so"' in form.text
    data = survey_form(
        questions=[
            ("question_free_text", {"fi": "Mitä parantaisit?"}, 3),
            ("question_rating", {"fi": "Saitko apua?", "ar": "هل حصلت على المساعدة؟"}, 1),
            ("question_yes_no", {"fi": "Oliko tulkki paikalla?", "en": "Was there an interpreter?"}, 2),
        ]
    )
    response = post(client, "/officer/surveys", data)
    assert response.status_code == 303, response.text
    survey = db.scalar(select(Survey))
    assert response.headers["location"] == f"/officer/surveys/{survey.id}"
    assert survey.organisation_id == home.id and survey.audience == SurveyAudience.APP and not survey.active
    stored = questions_of(db, survey.id)
    assert [q.kind for q in stored] == [QuestionKind.RATING, QuestionKind.YES_NO, QuestionKind.FREE_TEXT]
    assert stored[0].texts == {"fi": "Saitko apua?", "ar": "هل حصلت على المساعدة؟"}
    page = client.get(response.headers["location"])
    assert "Saitko apua?" in page.text and "هل حصلت على المساعدة؟" in page.text
    logged = db.scalar(select(AuditEvent).where(AuditEvent.object_type == "survey"))
    assert logged.action == "create" and logged.actor_id == manager.id and logged.client_id is None

    # Finnish is required for every question used; a name too. Everything typed comes back.
    bad = survey_form(name="", questions=[("question_rating", {"ar": "سؤال بلا فنلندية"})])
    response = post(client, "/officer/surveys", bad)
    assert response.status_code == 422
    assert "Write the question in Finnish." in response.text and "Give the survey a name." in response.text
    assert "سؤال بلا فنلندية" in response.text and 'href="#q0_fi"' in response.text
    no_kind = post(client, "/officer/surveys", survey_form(questions=[("", {"fi": "Kysymys"})]))
    assert no_kind.status_code == 422 and 'href="#q0_kind"' in no_kind.text
    assert len(db.scalars(select(Survey)).all()) == 1


def test_a_stale_survey_edit_is_refused_and_keeps_what_was_typed(client, manager, db, home):
    survey = make_survey(db, home, questions=THREE[:1])
    first = post(
        client,
        f"/officer/surveys/{survey.id}",
        survey_form(name="Uusi nimi", questions=[("question_rating", {"fi": "Auttoiko?"})], version=1),
    )
    assert first.status_code == 303
    db.expire_all()
    assert db.get(Survey, survey.id).version == 2
    assert [q.texts["fi"] for q in questions_of(db, survey.id)] == ["Auttoiko?"]
    stale = post(
        client,
        f"/officer/surveys/{survey.id}",
        survey_form(
            name="Vanhalla versiolla", questions=[("question_yes_no", {"fi": "Minun kysymykseni"})], version=1
        ),
    )
    assert stale.status_code == 409
    assert "Someone else saved this survey" in stale.text
    assert 'value="Vanhalla versiolla"' in stale.text and 'value="Minun kysymykseni"' in stale.text
    assert "Saved questions now" in stale.text and "Auttoiko?" in stale.text
    assert 'name="version" value="2"' in stale.text  # saving again is a conscious overwrite
    db.expire_all()
    assert db.get(Survey, survey.id).name == "Uusi nimi"
    # Removing a question by its checkbox.
    data = survey_form(name="Uusi nimi", questions=[("question_rating", {"fi": "Auttoiko?"})], version=2)
    data["q0_remove"] = "on"
    assert post(client, f"/officer/surveys/{survey.id}", data).status_code == 303
    assert questions_of(db, survey.id) == []


def test_surveys_are_for_managers_of_the_same_organisation(client, manager, db, factory, home):
    other = factory.organisation("Naapurikunta")
    theirs = make_survey(db, other, questions=THREE[:1])
    assert client.get(f"/officer/surveys/{theirs.id}").status_code == 404
    assert client.get(f"/officer/surveys/{theirs.id}/results").status_code == 404
    for action in ("", "/activate", "/deactivate", "/copy"):
        response = post(client, f"/officer/surveys/{theirs.id}{action}", survey_form(version=1))
        assert response.status_code == 404, action
    assert "Kysely" not in client.get("/officer/surveys").text
    db.expire_all()
    assert not db.get(Survey, theirs.id).active and len(db.scalars(select(Survey)).all()) == 1

    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    client.cookies.clear()
    sign_in(client, officer)
    assert client.get("/officer/surveys").status_code == 403
    assert post(client, "/officer/surveys", survey_form()).status_code == 403


def test_one_active_survey_per_organisation_and_audience(client, manager, db, factory, home):
    first = make_survey(db, home, questions=THREE[:1], name="Ensimmäinen")
    second = make_survey(db, home, questions=THREE[:1], name="Toinen")
    about_appointments = make_survey(db, home, SurveyAudience.APPOINTMENT, THREE[:1], name="Tapaamiset")
    neighbours = make_survey(db, factory.organisation("Naapuri"), questions=THREE[:1], active=True)

    def active():
        db.expire_all()
        return {s.name for s in db.scalars(select(Survey).where(Survey.active.is_(True)))}

    assert post(client, f"/officer/surveys/{first.id}/activate", {"version": "1"}).status_code == 303
    assert (
        post(client, f"/officer/surveys/{about_appointments.id}/activate", {"version": "1"}).status_code
        == 303
    )
    assert active() == {"Ensimmäinen", "Tapaamiset", neighbours.name}
    assert post(client, f"/officer/surveys/{second.id}/activate", {"version": "1"}).status_code == 303
    assert active() == {"Toinen", "Tapaamiset", neighbours.name}  # the first stopped, the others stay
    assert db.get(Survey, first.id).version == 3  # activated, then deactivated by the second
    listing = client.get("/officer/surveys").text
    assert listing.count("<strong>Active</strong>") == 2
    # A stale button does nothing.
    stale = post(client, f"/officer/surveys/{first.id}/activate", {"version": "1"})
    assert stale.status_code == 409 and active() == {"Toinen", "Tapaamiset", neighbours.name}
    # A survey without questions asks nothing: it cannot be activated.
    empty = make_survey(db, home, name="Tyhjä")
    refused = post(client, f"/officer/surveys/{empty.id}/activate", {"version": "1"})
    assert refused.status_code == 422 and "Add at least one question" in refused.text
    assert post(client, f"/officer/surveys/{second.id}/deactivate", {"version": "2"}).status_code == 303
    assert active() == {"Tapaamiset", neighbours.name}

    # The database holds the rule too, whatever two requests do at once.
    db.get(Survey, first.id).active = True
    db.get(Survey, second.id).active = True
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_a_survey_with_responses_keeps_its_questions(client, manager, db, home):
    survey = make_survey(db, home, questions=THREE, name="Vastattu")
    db.add(
        Feedback(
            organisation_id=home.id, subject=FeedbackSubject.APP, rating=4, language="fi", survey_id=survey.id
        )
    )
    db.commit()
    page = client.get(f"/officer/surveys/{survey.id}")
    assert "its questions cannot change" in page.text and 'name="q0_fi"' not in page.text
    assert "Saitko apua?" in page.text and "Make a copy" in page.text

    changed = survey_form(name="Vastattu", questions=[("question_rating", {"fi": "Eri kysymys"})], version=1)
    response = post(client, f"/officer/surveys/{survey.id}", changed)
    assert response.status_code == 409
    assert "can no longer change" in response.text and 'value="Eri kysymys"' in response.text
    assert 'formaction="/officer/surveys"' not in response.text and "Save as a new survey" in response.text
    assert [q.texts["fi"] for q in questions_of(db, survey.id)] == [
        "Saitko apua?",
        "Oliko tulkki paikalla?",
        "Mitä parantaisit?",
    ]
    other_audience = survey_form(name="Vastattu", audience="survey_public", questions=THREE_FORM, version=1)
    assert post(client, f"/officer/surveys/{survey.id}", other_audience).status_code == 409

    # The name may change (the name-only form).
    assert (
        post(client, f"/officer/surveys/{survey.id}", {"name": "Syksyn kysely", "version": "1"}).status_code
        == 303
    )
    db.expire_all()
    assert db.get(Survey, survey.id).name == "Syksyn kysely" and len(questions_of(db, survey.id)) == 3

    # A copy starts with the same questions and no answers, and can be changed.
    copied = post(client, f"/officer/surveys/{survey.id}/copy", {})
    assert copied.status_code == 303
    copy_id = uuid.UUID(copied.headers["location"].rsplit("/", 1)[1])
    copy = db.get(Survey, copy_id)
    assert copy.name == "Copy of Syksyn kysely" and not copy.active and copy.audience == survey.audience
    assert [q.texts for q in questions_of(db, copy_id)] == [t for _k, t in THREE]
    assert post(client, f"/officer/surveys/{copy_id}", {**changed, "version": "1"}).status_code == 303
    assert [q.texts["fi"] for q in questions_of(db, copy_id)] == ["Eri kysymys"]
    # "Save as a new survey" from the refused form keeps what was typed.
    saved_as_new = post(client, "/officer/surveys", changed)
    assert saved_as_new.status_code == 303 and len(db.scalars(select(Survey)).all()) == 3


THREE_FORM = [(k.value, t) for k, t in THREE]


# --- survey answers in the migrant app --------------------------------------------------------------


@pytest.fixture
def officer(factory, home):
    return factory.staff(home, Role.INTEGRATION_OFFICER)


@pytest.fixture
def signed_in(client, db, factory, home, officer) -> World:
    world = populate(db, factory, home, officer, "Aino")
    sign_in_client(client, factory, world.client)
    return world


def test_me_survey_questions_are_asked_in_the_clients_language_and_saved(client, signed_in, db, home):
    survey = make_survey(db, home, SurveyAudience.APP, THREE, active=True)
    rating, yes_no, free = questions_of(db, survey.id)
    page = client.get("/me/feedback?lang=en")
    assert "Show the questions" in page.text and f'name="q_{rating.id}"' not in page.text
    shown = post(client, "/me/feedback", {"about": "app", "rating": "4", "comment": "Kept", "show": "1"})
    assert shown.status_code == 200
    assert f'name="survey_id" value="{survey.id}"' in shown.text
    assert f'name="q_{rating.id}"' in shown.text and f'name="q_{yes_no.id}"' in shown.text
    assert '<span lang="en" dir="auto">Did you get help?</span>' in shown.text
    assert 'lang="fi" dir="auto">Mitä parantaisit?</label>' in shown.text  # no English: Finnish, marked
    assert 'value="4" checked' in shown.text and "Kept</textarea>" in shown.text
    assert not db.scalars(select(Feedback).where(Feedback.survey_id.is_not(None))).all()  # nothing saved
    arabic = post(client, "/me/feedback?lang=ar", {"about": "app", "show": "1"})
    assert '<span lang="ar" dir="auto">هل حصلت على المساعدة؟</span>' in arabic.text
    assert '<span lang="en" dir="auto">Was there an interpreter?</span>' in arabic.text

    answers = {
        "about": "app",
        "rating": "4",
        "survey_id": str(survey.id),
        f"q_{rating.id}": "5",
        f"q_{yes_no.id}": "no",
        f"q_{free.id}": "Enemmän iltapäiväaikoja",
    }
    bad = post(client, "/me/feedback?lang=en", {**answers, f"q_{rating.id}": "9"})
    assert bad.status_code == 422 and "Choose a number from 1 to 5" in bad.text
    assert "Enemmän iltapäiväaikoja</textarea>" in bad.text
    response = post(client, "/me/feedback", answers)
    assert response.status_code == 303
    row = db.scalar(select(Feedback).where(Feedback.survey_id == survey.id))
    assert row.client_id == signed_in.client.id and row.subject == FeedbackSubject.APP and row.rating == 4
    stored = {
        a.question_id: a
        for a in db.scalars(select(FeedbackAnswer).where(FeedbackAnswer.feedback_id == row.id))
    }
    assert stored[rating.id].rating == 5 and stored[yes_no.id].yes is False
    assert stored[free.id].text == "Enemmän iltapäiväaikoja"
    logged = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "feedback")).all()[-1]
    assert logged.client_id == signed_in.client.id and "answers" in logged.fields
    # The client's own data download holds the answers with the questions they answer.
    download = client.get("/me/data.json?lang=en").json()["feedback"]
    given = next(f for f in download if f["id"] == str(row.id))
    assert {"question": "Did you get help?", "rating": 5, "yes": None, "text": None} in given["answers"]
    assert {
        "question": "Mitä parantaisit?",
        "rating": None,
        "yes": None,
        "text": "Enemmän iltapäiväaikoja",
    } in (given["answers"])
    # Skipped questions store nothing.
    post(client, "/me/feedback", {"about": "app", "rating": "3", "survey_id": str(survey.id)})
    skipped = db.scalar(select(Feedback).where(Feedback.rating == 3, Feedback.survey_id == survey.id))
    assert skipped is not None
    assert not db.scalars(select(FeedbackAnswer).where(FeedbackAnswer.feedback_id == skipped.id)).all()


def test_me_anonymous_survey_answers_keep_no_link_to_the_person(client, signed_in, db, home):
    survey = make_survey(db, home, SurveyAudience.APPOINTMENT, THREE, active=True)
    rating, _yes_no, free = questions_of(db, survey.id)
    about = f"appointment:{signed_in.appointment_id}"
    page = client.get(f"/me/feedback?appointment={signed_in.appointment_id}")
    assert f'name="q_{rating.id}"' in page.text  # the appointment chosen: its survey at once
    response = post(
        client,
        "/me/feedback",
        {"about": about, "rating": "2", "anonymous": "on", "survey_id": str(survey.id),
         f"q_{rating.id}": "1", f"q_{free.id}": "Odotin kauan"},
    )  # fmt: skip
    assert response.status_code == 303
    row = db.scalar(select(Feedback).where(Feedback.survey_id == survey.id))
    assert row.client_id is None and row.appointment_id is None and row.plan_service_id is None
    assert (row.created_at.hour, row.created_at.minute, row.created_at.second) == (0, 0, 0)
    texts = db.scalars(select(FeedbackAnswer.text).where(FeedbackAnswer.feedback_id == row.id)).all()
    assert "Odotin kauan" in texts
    logged = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "feedback")).all()[-1]
    assert logged.client_id is None and logged.actor_id is None and logged.object_id is None
    assert logged.actor_kind == "anonymous" and logged.at == row.created_at


def test_me_questions_follow_what_the_feedback_is_about(client, signed_in, db, home):
    app_survey = make_survey(db, home, SurveyAudience.APP, THREE[:1], active=True, name="Sovellus")
    make_survey(db, home, SurveyAudience.APPOINTMENT, THREE[1:2], active=True, name="Tapaaminen")
    app_question = questions_of(db, app_survey.id)[0]
    # The app's questions were shown, then an appointment chosen: its questions are shown, nothing saved.
    response = post(
        client,
        "/me/feedback",
        {"about": f"appointment:{signed_in.appointment_id}", "rating": "5", "survey_id": str(app_survey.id),
         f"q_{app_question.id}": "5"},
    )  # fmt: skip
    assert response.status_code == 200 and "You changed what your feedback is about" in response.text
    assert "Was there an interpreter?" in response.text and "Did you get help?" not in response.text
    assert not db.scalars(select(Feedback).where(Feedback.rating == 5)).all()
    # Sent without having seen any questions: the plain feedback is saved as before.
    plain = post(client, "/me/feedback", {"about": "app", "rating": "5"})
    assert plain.status_code == 303
    row = db.scalar(select(Feedback).where(Feedback.rating == 5))
    assert row.survey_id is None


# --- goal attainment when a plan ends ---------------------------------------------------------------


@pytest.fixture
def plan_officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    client.get("/officer/?lang=en")
    return person


def test_ending_a_plan_records_the_attainment_of_each_goal(client, plan_officer, factory, db, home):
    _person, plan = in_force(client, factory, db, home, plan_officer)
    goals = db.scalars(select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position)).all()
    assert len(goals) == 2
    page = client.get(f"/officer/plans/{plan.id}")
    assert f'name="attainment_{goals[0].id}"' in page.text and "Partly achieved" in page.text
    end = {
        "version": str(plan.version),
        "outcome": "ended",
        "ended_on": today().isoformat(),
        "end_reason": "employment",
        "end_note": "Sai työpaikan",
        f"attainment_{goals[0].id}": "goal_achieved",
    }
    missing = post(client, f"/officer/plans/{plan.id}/end", end)
    assert missing.status_code == 422
    assert missing.text.count("Choose how far this goal was attained.") >= 1
    assert f'href="#attainment_{goals[1].id}"' in missing.text
    assert "Sai työpaikan</textarea>" in missing.text
    assert '<option value="goal_achieved" selected>' in missing.text
    assert the_plan(db, plan.id).status == PlanStatus.IN_FORCE
    wrong = post(client, f"/officer/plans/{plan.id}/end", {**end, f"attainment_{goals[1].id}": "nearly"})
    assert wrong.status_code == 422
    done = post(
        client, f"/officer/plans/{plan.id}/end", {**end, f"attainment_{goals[1].id}": "goal_partly_achieved"}
    )
    assert done.status_code == 303
    db.expire_all()
    assert the_plan(db, plan.id).status == PlanStatus.ENDED
    stored = db.scalars(
        select(PlanGoal.attainment).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position)
    ).all()
    assert stored == [GoalAttainment.ACHIEVED, GoalAttainment.PARTLY_ACHIEVED]
    shown = client.get(f"/officer/plans/{plan.id}").text
    assert (
        ' – <strong class="goal-attainment">Achieved</strong>' in shown
        and ' – <strong class="goal-attainment">Partly achieved</strong>' in shown
    )
    logged = db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "integration_plan", AuditEvent.action == "update")
    ).all()[-1]
    assert "goals.attainment" in logged.fields


# --- figures ----------------------------------------------------------------------------------------

PERIOD = (date(2026, 1, 1), date(2026, 6, 30))


def at(day: date, hour: int = 10) -> datetime:
    """A Helsinki wall-clock time as UTC."""
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TIME).astimezone(UTC)


def test_feedback_figures_by_channel_language_and_question(settings, db, factory, home):
    """The dashboard's feedback panel (app.domain.reports, the one definition of the figure) counts the
    quality pages' channels; the survey's own figures count its questions."""
    person = factory.client(home, known_on=date(2026, 1, 1), segment=2)
    survey = make_survey(db, home, SurveyAudience.APP, THREE, active=True)
    rating, yes_no, free = questions_of(db, survey.id)

    def feedback(
        subject,
        value,
        language,
        *,
        about=None,
        client=None,
        on=date(2026, 3, 1),
        organisation=home,
        survey_id=None,
    ):
        row = Feedback(organisation_id=organisation.id, subject=subject, rating=value, language=language, about=about,
                       client_id=client.id if client else None, created_at=at(on), survey_id=survey_id)  # fmt: skip
        db.add(row)
        db.commit()
        return row

    feedback(FeedbackSubject.APPOINTMENT, 5, "en", client=person)
    feedback(FeedbackSubject.APPOINTMENT, 3, "ar")
    first = feedback(FeedbackSubject.APP, 4, "fi", survey_id=survey.id)
    second = feedback(FeedbackSubject.APP, 2, "fi", survey_id=survey.id, client=person)
    feedback(FeedbackSubject.SERVICE, 2, "fi", about="public_guidance")
    feedback(FeedbackSubject.SERVICE, 1, "fi", about="integration_training")
    feedback(FeedbackSubject.APP, 5, "fi", on=date(2025, 12, 31))  # before the period
    feedback(FeedbackSubject.APP, 5, "fi", organisation=factory.organisation("Muu"))
    db.add_all(
        [
            FeedbackAnswer(feedback_id=first.id, question_id=rating.id, rating=5),
            FeedbackAnswer(feedback_id=first.id, question_id=yes_no.id, yes=True),
            FeedbackAnswer(feedback_id=first.id, question_id=free.id, text="Selkeä"),
            FeedbackAnswer(feedback_id=second.id, question_id=rating.id, rating=2),
            FeedbackAnswer(feedback_id=second.id, question_id=yes_no.id, yes=False),
        ]
    )
    db.commit()
    filters = quality.Filters(home.id, *PERIOD)
    on = date(2026, 11, 30)

    def panel(segment: int | None = None) -> dict[str, dict[str, list[object]]]:
        """Breakdown key → row key → [answers, mean rating]."""
        found = run(
            settings, lambda s: reports.feedback_panel(s, home.id, reports.Filters(*PERIOD, on, segment))
        )
        return {
            b.key: {r.key: [r.values["answers"], r.values["mean"]] for r in [*b.rows, b.total] if r}
            for b in found.breakdowns
        }

    every = panel()
    assert every["subject"] == {
        "appointment": [2, Decimal("4.0")],
        "service": [1, Decimal("1.0")],  # about another service than the public guidance form
        "app": [2, Decimal("3.0")],
        "public": [1, Decimal("2.0")],
        "total": [6, Decimal("2.8")],  # 17 / 6
    }
    assert every["language"] == {  # most answers first
        "fi": [4, Decimal("2.3")],  # 2.25, rounded half up
        "ar": [1, Decimal("3.0")],
        "en": [1, Decimal("5.0")],
        "total": [6, Decimal("2.8")],
    }
    # With a segment, only identified clients' feedback counts (anonymous feedback has no segment).
    assert panel(segment=2)["subject"] == {
        "appointment": [1, Decimal("5.0")],
        "service": [0, None],
        "app": [1, Decimal("2.0")],
        "public": [0, None],
        "total": [2, Decimal("3.5")],
    }

    figures = run(settings, lambda s: quality.survey_figures(s, survey.id, filters))
    assert figures.responses == 2 and figures.mean_rating == Decimal("3.00")
    assert figures.ratings == {1: 0, 2: 1, 3: 0, 4: 1, 5: 0}
    q_rating, q_yes_no, q_free = figures.questions
    assert q_rating.ratings == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1} and q_rating.mean_rating == Decimal("3.50")
    assert (q_yes_no.yes, q_yes_no.no, q_yes_no.answered) == (1, 1, 2)
    assert q_free.answered == 1 and q_free.free_texts == []  # free text only when asked for
    with_text = run(settings, lambda s: quality.survey_figures(s, survey.id, filters, free_text=True))
    assert [a.text for a in with_text.questions[2].free_texts] == ["Selkeä"]
    elsewhere = quality.Filters(factory.organisation("Kolmas").id, *PERIOD)
    assert run(settings, lambda s: quality.survey_figures(s, survey.id, elsewhere)) is None


def test_the_results_page_counts_answers_and_shows_free_text_to_managers(client, manager, db, home):
    survey = make_survey(db, home, SurveyAudience.PUBLIC, THREE, active=True, name="Neuvonta")
    rating, yes_no, free = questions_of(db, survey.id)
    for value, said_yes, comment in ((5, True, "Ystävällinen palvelu"), (4, True, None), (2, False, None)):
        row = Feedback(organisation_id=home.id, subject=FeedbackSubject.SERVICE, about="public_guidance",
                       rating=value, language="fi", survey_id=survey.id)  # fmt: skip
        db.add(row)
        db.flush()
        db.add(FeedbackAnswer(feedback_id=row.id, question_id=rating.id, rating=value))
        db.add(FeedbackAnswer(feedback_id=row.id, question_id=yes_no.id, yes=said_yes))
        if comment:
            db.add(FeedbackAnswer(feedback_id=row.id, question_id=free.id, text=comment))
    db.commit()
    page = client.get(f"/officer/surveys/{survey.id}/results")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Responses 3" in text and "Mean overall rating 3.67 / 5" in text
    assert "Yes 2" in text and "No 1" in text and "Ystävällinen palvelu" in page.text
    assert "never exported" in page.text
    logged = db.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "survey", AuditEvent.action == "view")
    )
    assert logged.actor_id == manager.id and logged.fields == ["feedback_answer.text"]
