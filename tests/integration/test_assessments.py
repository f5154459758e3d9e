"""The assessment of competence and integration service needs (service 2; §14, decree 869/2024) through
HTTP: drafts saved as you go, completion checks, amendments as new versions, refining measures, conflicts,
and access to other organisations' and read-only users' assessments."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.assessment import (
    Assessment,
    AssessmentEducation,
    AssessmentLanguageSkill,
    AssessmentStatus,
    AssessmentWork,
    Cefr,
    LanguageSkill,
    Literacy,
    MeasureStatus,
    PlanNeed,
    RefiningMeasure,
    RefiningMeasureType,
)
from app.db.audit import AuditEvent
from app.db.client import Client
from app.db.organisation import Organisation, OrganisationType, Role
from app.domain import assessments
from app.domain.forms import today
from app.settings import async_database_url
from tests.conftest import post, sign_in

SKILLS = ("reading", "writing", "listening", "speaking")


@pytest.fixture
def officer(client, factory):
    person = factory.staff(factory.organisation(), Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    client.get("/officer/?lang=en")  # messages are asserted in English, the msgid language
    return person


@pytest.fixture
def record(officer, factory, db) -> Client:
    return factory.client(
        db.get(Organisation, officer.organisation_id), first_names="Amina", last_name="Yusuf"
    )


def start(client, record) -> uuid.UUID:
    response = post(client, f"/officer/clients/{record.id}/assessments")
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/officer/assessments/([0-9a-f-]{36})", response.headers["location"])
    assert match
    return uuid.UUID(match.group(1))


def version_in(html: str) -> str:
    match = re.search(r'id="assessment-version" name="version" value="(\d+)"', html)
    assert match, html[:2000]
    return match.group(1)


def form(version: str, **fields: Any) -> list[tuple[str, str]]:
    """The draft form as a browser posts it: repeated fields (rows, checkboxes) as repeated keys."""
    body: list[tuple[str, str]] = [("version", version), ("assessment_form", "1")]
    body.append(("assessed_on", fields.pop("assessed_on", today().isoformat())))
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            body.append((key, item))
    return body


def complete_content() -> dict[str, Any]:
    """Everything completion asks for."""
    return {
        "literacy": "literate_other_script",
        "literacy_note": "Reads Arabic script fluently",
        **{f"skill_fi_{s}": "A1" for s in SKILLS},
        "skill_fi_speaking": "none",
        "data_sources": ["client_interview", "immigration_service_data"],
        "told_service_goals": "on",
        "told_planning": "on",
        "told_rights_and_duties": "on",
        "told_data_processing": "on",
        "plan_need": "plan_needed",
        "planned_plan_date": (today() + timedelta(days=7)).isoformat(),
        "strengths": "Experienced seamstress",
        "edu_level": ["upper_secondary", ""],
        "edu_field": ["Textiles", ""],
        "edu_years": ["3", ""],
        "edu_country": ["SO", ""],
        "edu_completed": ["yes", "yes"],
        "work_occupation": ["Seamstress", ""],
        "work_years": ["6,5", ""],
        "work_country": ["SO", ""],
    }


def saved(db, assessment_id) -> Assessment:
    db.expire_all()
    found = db.get(Assessment, assessment_id)
    assert found is not None
    return found


def test_start_save_as_you_go_and_complete(client, officer, record, db):
    assessment_id = start(client, record)
    assert start(client, record) == assessment_id  # a second start opens the same draft
    page = client.get(f"/officer/assessments/{assessment_id}")
    assert page.status_code == 200
    assert 'hx-post="/officer/assessments/' in page.text and 'aria-live="polite"' in page.text
    version = version_in(page.text)

    # Autosave of a partial draft: only a status fragment comes back, with the new version out of band.
    partial = form(
        version,
        literacy="literate_latin",
        skill_fi_reading="A2",
        edu_level=["upper_secondary", ""],
        edu_field=["Nursing", ""],
        edu_years=["3", ""],
        edu_country=["UA", ""],
        edu_completed=["yes", "yes"],
    )
    autosaved = post(client, f"/officer/assessments/{assessment_id}", partial, headers={"HX-Request": "true"})
    assert autosaved.status_code == 200
    assert "<html" not in autosaved.text and "Draft saved at" in autosaved.text
    new_version = re.search(r'name="version" value="(\d+)" hx-swap-oob="true"', autosaved.text).group(1)
    assert int(new_version) > int(version)
    draft = saved(db, assessment_id)
    assert draft.status == AssessmentStatus.DRAFT and draft.literacy == Literacy.LATIN_ALPHABET
    assert [(r.language, r.skill, r.level) for r in db.scalars(select(AssessmentLanguageSkill))] == [
        ("fi", LanguageSkill.READING, Cefr.A2)
    ]
    education = db.scalars(select(AssessmentEducation)).all()
    assert [(e.level.value, e.field, e.years, e.country) for e in education] == [
        ("upper_secondary", "Nursing", Decimal("3.0"), "UA")
    ]

    # Completing names every missing item; the draft as typed is kept.
    refused = post(
        client,
        f"/officer/assessments/{assessment_id}/complete",
        form(new_version, literacy="partially_literate"),
    )
    assert refused.status_code == 422
    for message in (
        "Item 2: record all four skills",
        "Choose at least one data source.",
        "told the goals of the integration services",
        "told how integration planning works",
        "the plan binds them",
        "how their personal data is processed",
        "Item 7: record whether the client needs an integration plan.",
    ):
        assert message in refused.text
    assert "Item 1:" not in refused.text  # literacy is recorded
    assert saved(db, assessment_id).status == AssessmentStatus.DRAFT
    assert saved(db, assessment_id).literacy == Literacy.PARTIAL  # saved even though completion was refused

    # Not needed without a reason, and a county that takes part without a representative.
    missing_reason = {**complete_content(), "plan_need": "plan_not_needed", "county_takes_part": "on"}
    refused = post(
        client,
        f"/officer/assessments/{assessment_id}/complete",
        form(version_in(refused.text), **missing_reason),
    )
    assert refused.status_code == 422
    assert "Say why no integration plan is needed." in refused.text
    assert "Name the wellbeing services county&#39;s representative." in refused.text

    done = post(
        client,
        f"/officer/assessments/{assessment_id}/complete",
        form(version_in(refused.text), **complete_content()),
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/officer/assessments/{assessment_id}"
    completed = saved(db, assessment_id)
    assert completed.status == AssessmentStatus.COMPLETED
    assert completed.completed_by_id == officer.id and completed.completed_at is not None
    assert completed.plan_need == PlanNeed.NEEDED and completed.officer_id == officer.id
    assert completed.data_sources == ["client_interview", "immigration_service_data"]
    assert all(getattr(completed, n) for n in assessments.INFORMATION_POINTS)
    skills = {(r.language, r.skill.value): r.level for r in db.scalars(select(AssessmentLanguageSkill))}
    assert skills == {("fi", s): (Cefr.NONE if s == "speaking" else Cefr.A1) for s in SKILLS}
    assert [(w.occupation, w.years, w.country) for w in db.scalars(select(AssessmentWork))] == [
        ("Seamstress", Decimal("6.5"), "SO")
    ]
    view = client.get(f"/officer/assessments/{assessment_id}")
    assert view.status_code == 200
    assert 'name="assessment_form"' not in view.text  # read-only
    assert "Experienced seamstress" in view.text and "No skills yet" in view.text


def test_draft_checks_only_formats_and_keeps_the_input(client, officer, record, db):
    assessment_id = start(client, record)
    version = version_in(client.get(f"/officer/assessments/{assessment_id}").text)
    typed = form(
        version,
        planned_plan_date="31.2.2025",
        strengths="Speaks four languages",
        work_occupation=["Driver", ""],
        work_years=["many", ""],
        work_country=["", ""],
    )
    response = post(client, f"/officer/assessments/{assessment_id}", typed)
    assert response.status_code == 422
    assert 'value="31.2.2025"' in response.text and "Speaks four languages" in response.text
    assert 'value="many"' in response.text and 'id="work-1-years-error"' in response.text
    assert saved(db, assessment_id).strengths is None
    # The officer named must be one of the organisation's own officers.
    stranger = post(
        client, f"/officer/assessments/{assessment_id}", form(version, officer_id=str(uuid.uuid4()))
    )
    assert stranger.status_code == 422 and "Choose the officer from the list." in stranger.text

    # The same through autosave: the live region says what is wrong, nothing is stored.
    autosave = post(client, f"/officer/assessments/{assessment_id}", typed, headers={"HX-Request": "true"})
    assert autosave.status_code == 422
    assert "Not saved" in autosave.text and "hx-swap-oob" not in autosave.text

    # A new row without JavaScript: the form comes back with one more empty row, the draft saved.
    more = post(
        client,
        f"/officer/assessments/{assessment_id}",
        [
            *form(version, work_occupation=["Driver", ""], work_years=["2", ""], work_country=["", ""]),
            ("add_row", "work"),
        ],
    )
    assert more.status_code == 200
    assert 'id="work-3-occupation"' in more.text and 'value="Driver"' in more.text
    assert [w.occupation for w in db.scalars(select(AssessmentWork))] == ["Driver"]


def _complete(client, assessment_id, **extra):
    version = version_in(client.get(f"/officer/assessments/{assessment_id}").text)
    response = post(
        client,
        f"/officer/assessments/{assessment_id}/complete",
        form(version, **{**complete_content(), **extra}),
    )
    assert response.status_code == 303, response.text
    return response


def test_a_completed_assessment_is_not_saved_over(client, officer, record, db):
    assessment_id = start(client, record)
    version = version_in(client.get(f"/officer/assessments/{assessment_id}").text)
    _complete(client, assessment_id)
    latest = str(saved(db, assessment_id).version)
    for headers in ({}, {"HX-Request": "true"}):
        response = post(
            client,
            f"/officer/assessments/{assessment_id}",
            form(latest, **{**complete_content(), "strengths": "Changed afterwards"}),
            headers=headers,
        )
        assert response.status_code == 409
        assert "cannot be changed" in response.text
    again = post(
        client, f"/officer/assessments/{assessment_id}/complete", form(version, **complete_content())
    )
    assert again.status_code == 409
    assert saved(db, assessment_id).strengths == "Experienced seamstress"


def test_an_amendment_is_a_new_version_and_the_history_stays(client, officer, record, db, database_url):
    first_id = start(client, record)
    _complete(client, first_id)
    first = saved(db, first_id)
    first_version = first.version

    no_reason = post(client, f"/officer/assessments/{first_id}/amend", {"amendment_reason": " "})
    assert no_reason.status_code == 422 and "Say why the assessment is amended." in no_reason.text

    amended = post(
        client, f"/officer/assessments/{first_id}/amend", {"amendment_reason": "Language test result came in"}
    )
    assert amended.status_code == 303
    second_id = uuid.UUID(amended.headers["location"].rsplit("/", 1)[1])
    # Only one draft at a time: amending again opens the same draft.
    again = post(client, f"/officer/assessments/{first_id}/amend", {"amendment_reason": "Another"})
    assert again.headers["location"] == f"/officer/assessments/{second_id}"
    assert start(client, record) == second_id

    second = saved(db, second_id)
    assert second.number == 2 and second.previous_id == first_id and second.status == AssessmentStatus.DRAFT
    assert second.amendment_reason == "Language test result came in"
    assert second.strengths == "Experienced seamstress" and second.plan_need == PlanNeed.NEEDED
    assert second.data_sources == first.data_sources

    def rows(model):
        return db.scalars(select(model).where(model.assessment_id == second_id)).all()

    assert len(rows(AssessmentLanguageSkill)) == 4
    assert [(e.level.value, e.field) for e in rows(AssessmentEducation)] == [("upper_secondary", "Textiles")]
    assert [w.occupation for w in rows(AssessmentWork)] == ["Seamstress"]
    assert saved(db, first_id).status == AssessmentStatus.COMPLETED  # until the amendment is completed

    _complete(
        client, second_id, strengths="Seamstress and tailor", amendment_reason="Language test result came in"
    )
    old = saved(db, first_id)
    assert old.status == AssessmentStatus.SUPERSEDED
    assert old.strengths == "Experienced seamstress"  # the content of number 1 is as it was
    assert (
        len(
            db.scalars(
                select(AssessmentLanguageSkill).where(AssessmentLanguageSkill.assessment_id == first_id)
            ).all()
        )
        == 4
    )
    assert saved(db, second_id).status == AssessmentStatus.COMPLETED
    assert old.version == first_version + 1  # only its status changed

    view = client.get(f"/officer/assessments/{first_id}")
    assert view.status_code == 200
    assert "Experienced seamstress" in view.text and "Seamstress and tailor" not in view.text
    assert f'href="/officer/assessments/{second_id}"' in view.text  # to the version that replaced it
    assert "Language test result came in" in view.text  # the history shows the reason
    newest = client.get(f"/officer/assessments/{second_id}")
    assert f'href="/officer/assessments/{first_id}"' in newest.text

    # The domain's answers for the client page and for planning.
    async def ask():
        engine = create_async_engine(async_database_url(database_url))
        async with AsyncSession(engine) as session:
            listed = await assessments.for_client(session, db.get(Client, record.id))
            in_force = await assessments.current(session, record.id)
        await engine.dispose()
        return listed, in_force

    listed, in_force = asyncio.run(ask())
    assert [a.number for a in listed] == [2, 1]
    assert listed[0].officer_name == officer.full_name
    assert in_force is not None and in_force.id == second_id


def test_a_stale_save_is_refused_and_the_typed_text_kept(client, officer, record, db):
    assessment_id = start(client, record)
    version = version_in(client.get(f"/officer/assessments/{assessment_id}").text)
    # A colleague saves first.
    assert (
        post(
            client, f"/officer/assessments/{assessment_id}", form(version, strengths="Colleague's text")
        ).status_code
        == 303
    )
    # Our save from the page opened before is refused, keeping what we typed.
    stale = post(client, f"/officer/assessments/{assessment_id}", form(version, strengths="My unsaved words"))
    assert stale.status_code == 409
    assert "My unsaved words" in stale.text and "Someone else saved this assessment" in stale.text
    assert "Colleague&#39;s text" in stale.text  # the saved value is shown
    assert saved(db, assessment_id).strengths == "Colleague's text"
    # Autosave does not overwrite silently either, and keeps the old version in the form.
    auto = post(
        client,
        f"/officer/assessments/{assessment_id}",
        form(version, strengths="My unsaved words"),
        headers={"HX-Request": "true"},
    )
    assert auto.status_code == 409 and "hx-swap-oob" not in auto.text and "Not saved" in auto.text
    assert saved(db, assessment_id).strengths == "Colleague's text"
    # Saving again from the refreshed form is a conscious overwrite.
    again = post(
        client,
        f"/officer/assessments/{assessment_id}",
        form(version_in(stale.text), strengths="My unsaved words"),
    )
    assert again.status_code == 303
    assert saved(db, assessment_id).strengths == "My unsaved words"


def test_refining_measure_ordered_and_its_result_taken_into_the_draft(client, officer, record, db, factory):
    provider = factory.organisation("Kielitestit Oy", type=OrganisationType.SERVICE_PROVIDER)
    assessment_id = start(client, record)
    url = f"/officer/assessments/{assessment_id}/measures"
    missing = post(client, url, {"measure_type": "language_level_test", "ordered_on": today().isoformat()})
    assert missing.status_code == 422 and "Choose the provider or write its name." in missing.text
    ordered = post(
        client,
        url,
        {
            "measure_type": "language_level_test",
            "provider_id": str(provider.id),
            "ordered_on": today().isoformat(),
        },
    )
    assert ordered.status_code == 303
    measure = db.scalar(select(RefiningMeasure))
    assert measure.assessment_id == assessment_id and measure.provider_id == provider.id
    assert measure.status == MeasureStatus.ORDERED and measure.ordered_by_id == officer.id

    result_url = f"{url}/{measure.id}"
    early = post(
        client,
        result_url,
        {"status": "done", "result_on": "2000-01-01", "result": "x", "version": measure.version},
    )
    assert early.status_code == 422 and "before the date the measure was ordered" in early.text
    recorded = post(
        client,
        result_url,
        {
            "status": "done",
            "result_on": today().isoformat(),
            "result": "Reading A2, speaking A1",
            "version": measure.version,
        },
    )
    assert recorded.status_code == 303
    db.expire_all()
    measure = db.get(RefiningMeasure, measure.id)
    assert measure.status == MeasureStatus.DONE and measure.result == "Reading A2, speaking A1"
    twice = post(
        client,
        result_url,
        {"status": "cancelled", "result_on": today().isoformat(), "version": measure.version},
    )
    assert twice.status_code == 409

    page = client.get(f"/officer/assessments/{assessment_id}")
    assert "Reading A2, speaking A1" in page.text and "Kielitestit Oy" in page.text
    assert f'name="take_result" value="{measure.id}"' in page.text  # beside item 2 of the draft
    taken = post(
        client,
        f"/officer/assessments/{assessment_id}",
        [
            *form(version_in(page.text), language_note="Understands everyday speech"),
            ("take_result", str(measure.id)),
        ],
    )
    assert taken.status_code == 303 and taken.headers["location"].endswith("#item-2")
    note = saved(db, assessment_id).language_note
    assert note.startswith("Understands everyday speech") and "Reading A2, speaking A1" in note

    # Measures may be ordered for a completed assessment too.
    _complete(client, assessment_id)
    assert (
        post(
            client,
            url,
            {"measure_type": "literacy_check", "provider_name": "Opisto", "ordered_on": today().isoformat()},
        ).status_code
        == 303
    )
    assert len(db.scalars(select(RefiningMeasure)).all()) == 2


def test_another_organisations_assessment_is_not_found(client, officer, factory, db):
    other = factory.organisation("Kunta B")
    colleague = factory.staff(other, Role.INTEGRATION_OFFICER)
    stranger = factory.client(other, first_names="Birgitta", last_name="Vieras")
    theirs = Assessment(
        client_id=stranger.id,
        organisation_id=other.id,
        number=1,
        assessed_on=date(2025, 3, 3),
        created_by_id=colleague.id,
        officer_id=colleague.id,
        strengths="Salainen vahvuus B",
        data_sources=[],
    )
    db.add(theirs)
    db.commit()
    measure = RefiningMeasure(
        assessment_id=theirs.id,
        measure_type=RefiningMeasureType.LITERACY_CHECK,
        provider_name="Opisto B",
        ordered_on=date(2025, 3, 4),
        ordered_by_id=colleague.id,
    )
    db.add(measure)
    db.commit()
    base = f"/officer/assessments/{theirs.id}"
    responses = [
        client.get(base),
        post(client, base, form("1", strengths="Overwrite")),
        post(client, base, form("1"), headers={"HX-Request": "true"}),
        post(client, f"{base}/complete", form("1", **complete_content())),
        post(client, f"{base}/amend", {"amendment_reason": "x"}),
        post(
            client,
            f"{base}/measures",
            {"measure_type": "literacy_check", "provider_name": "X", "ordered_on": "2025-03-05"},
        ),
        post(
            client,
            f"{base}/measures/{measure.id}",
            {"status": "done", "result_on": "2025-03-05", "result": "x", "version": "1"},
        ),
        post(client, f"/officer/clients/{stranger.id}/assessments"),
    ]
    for response in responses:
        assert response.status_code == 404
        assert "Salainen vahvuus B" not in response.text and "Birgitta" not in response.text
    db.expire_all()
    assert len(db.scalars(select(Assessment)).all()) == 1
    assert db.get(Assessment, theirs.id).strengths == "Salainen vahvuus B"
    assert db.get(RefiningMeasure, measure.id).status == MeasureStatus.ORDERED


def test_a_manager_reads_but_does_not_write(client, factory, db):
    organisation = factory.organisation()
    officer = factory.staff(organisation, Role.INTEGRATION_OFFICER)
    manager = factory.staff(organisation, Role.MANAGER)
    record = factory.client(organisation)
    sign_in(client, officer)
    assessment_id = start(client, record)
    post(client, f"/officer/assessments/{assessment_id}", form("1", strengths="Visible to the manager"))
    post(client, "/officer/sign-out")
    sign_in(client, manager)
    page = client.get(f"/officer/assessments/{assessment_id}")
    assert page.status_code == 200 and "Visible to the manager" in page.text
    assert 'name="assessment_form"' not in page.text and "/measures" not in page.text
    version = str(saved(db, assessment_id).version)
    for url, data in (
        (f"/officer/assessments/{assessment_id}", form(version, strengths="Manager's change")),
        (f"/officer/assessments/{assessment_id}/complete", form(version, **complete_content())),
        (
            f"/officer/assessments/{assessment_id}/measures",
            {"measure_type": "literacy_check", "provider_name": "X", "ordered_on": "2025-03-05"},
        ),
        (f"/officer/clients/{record.id}/assessments", {}),
    ):
        assert post(client, url, data).status_code == 403
    assert saved(db, assessment_id).strengths == "Visible to the manager"


def test_views_and_changes_are_audited_with_field_names_only(client, officer, record, db):
    assessment_id = start(client, record)
    version = version_in(client.get(f"/officer/assessments/{assessment_id}").text)
    post(
        client,
        f"/officer/assessments/{assessment_id}",
        form(
            version,
            strengths="Plays the oud",
            work_occupation=["Baker", ""],
            work_years=["4", ""],
            work_country=["SY", ""],
        ),
        headers={"HX-Request": "true"},
    )
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "assessment").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["create", "view", "update"]
    assert all(e.client_id == record.id and e.object_id == str(assessment_id) for e in events)
    assert "strengths" in events[1].fields and "language_skills" in events[1].fields
    assert sorted(events[2].fields) == ["strengths", "work"]
    everything = repr([e.fields for e in db.scalars(select(AuditEvent)).all()])
    assert "Plays the oud" not in everything and "Baker" not in everything
