"""Integration plans through HTTP: drafting under §§20–23 and 31, approval of an exact version, services
and completion data, reviews (§22), pauses, ending, transfers between authorities, family overviews."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.db.assessment import Assessment, AssessmentStatus, PlanNeed
from app.db.audit import AuditEvent
from app.db.base import TextOrigin
from app.db.client import Client, Consent, ConsentPurpose, FamilyLink, FamilyRelation
from app.db.organisation import OrganisationType, Role
from app.db.plan import (
    ClientTransfer,
    FamilyOverview,
    FamilyOverviewMember,
    FinalLanguageTest,
    IntegrationPlan,
    PlanApproval,
    PlanGoal,
    PlanService,
    PlanServiceStatus,
    PlanStatus,
    PlanVersion,
)
from app.db.programme import ProgrammeService, ProgrammeServiceText, ServiceType
from app.domain.forms import today
from app.domain.rules import add_months, add_years
from app.domain.translations import content_hash
from tests.conftest import post, sign_in


@pytest.fixture
def home(factory):
    return factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)


@pytest.fixture
def officer(client, factory, home):
    person = factory.staff(home, Role.INTEGRATION_OFFICER)
    sign_in(client, person)
    client.get("/officer/?lang=en")  # messages are asserted in English, the msgid language
    return person


def assessed(factory, db, organisation, officer, need=PlanNeed.NEEDED, county=False, **fields):
    """A client with a completed assessment."""
    fields.setdefault("first_permit_date", today() - timedelta(days=200))
    fields.setdefault("date_of_birth", date(1990, 5, 17))
    person = factory.client(organisation, **fields)
    db.add(
        Assessment(
            client_id=person.id,
            organisation_id=organisation.id,
            number=1,
            status=AssessmentStatus.COMPLETED,
            assessed_on=today() - timedelta(days=3),
            created_by_id=officer.id,
            officer_id=officer.id,
            plan_need=need,
            county_takes_part=county,
            county_representative="Kaisa Kuntayhtymä" if county else None,
            data_sources=["client_interview"],
        )
    )
    db.commit()
    return person


def start(client, person):
    response = post(client, f"/officer/clients/{person.id}/plans", {})
    assert response.status_code == 303, response.text
    return uuid.UUID(response.headers["location"].rsplit("/", 1)[1])


def plan_form(plan, **changes):
    form = {
        "version": str(plan.version),
        "starts_on": plan.starts_on.isoformat(),
        "ends_on": plan.ends_on.isoformat(),
        "next_review_on": plan.next_review_on.isoformat() if plan.next_review_on else "",
        "goal_kind": ["long_term", "plan_period"],
        "goal_type": ["employment_goal", "language_skills_goal"],
        "goal_text": ["Työ lähihoitajana", "Suomen kieli A2-tasolle"],
        "language_studies": "Kotoutumiskoulutus suomeksi",
        "guidance": "Ohjaus kerran kuussa",
        "rationale": "Kielitaito on työllistymisen edellytys.",
        "duties_explained": "on",
    }
    form.update(changes)
    return form


def attained(db, plan_id) -> dict[str, str]:
    """The end form's attainment of every goal of the plan (required since goal attainment is recorded)."""
    goals = db.scalars(select(PlanGoal.id).where(PlanGoal.plan_id == plan_id)).all()
    return {f"attainment_{goal_id}": "goal_achieved" for goal_id in goals}


def the_plan(db, plan_id) -> IntegrationPlan:
    db.expire_all()
    return db.get(IntegrationPlan, plan_id)


def test_a_plan_needs_a_completed_assessment_that_found_a_need(client, officer, factory, db, home):
    nobody = factory.client(home)
    response = post(client, f"/officer/clients/{nobody.id}/plans", {})
    assert response.status_code == 422
    assert "Complete the assessment first" in response.text
    no_need = assessed(factory, db, home, officer, need=PlanNeed.NOT_NEEDED)
    response = post(client, f"/officer/clients/{no_need.id}/plans", {})
    assert response.status_code == 422
    assert "no plan is needed" in response.text
    assert db.scalar(select(IntegrationPlan)) is None


def test_a_draft_starts_with_the_statutory_defaults(client, officer, factory, db, home):
    person = assessed(factory, db, home, officer, county=True)
    plan_id = start(client, person)
    plan = the_plan(db, plan_id)
    assert plan.status == PlanStatus.DRAFT and plan.number == 1
    assert plan.starts_on == today()
    assert plan.ends_on == add_years(today(), 1)  # §23: the first plan lasts at most a year
    assert plan.next_review_on == add_months(today(), 6)  # §22
    assert plan.multi_sector  # the county took part in the assessment
    # Starting again goes to the same draft instead of making a second one.
    assert start(client, person) == plan_id
    page = client.get(f"/officer/plans/{plan_id}")
    assert page.status_code == 200
    assert "Before the client approves the plan" in page.text


def test_the_first_plan_lasts_at_most_a_year_and_the_form_keeps_the_input(client, officer, factory, db, home):
    person = assessed(factory, db, home, officer)
    plan = the_plan(db, start(client, person))
    too_long = add_years(plan.starts_on, 1) + timedelta(days=1)
    response = post(client, f"/officer/plans/{plan.id}", plan_form(plan, ends_on=too_long.isoformat()))
    assert response.status_code == 422
    assert "The first plan lasts at most one year (section 23)" in response.text
    assert "Työ lähihoitajana" in response.text  # what was typed is still there
    assert db.scalar(select(PlanGoal)) is None


def test_follow_up_plans_end_two_years_from_the_first_unless_a_statutory_reason(
    client, officer, factory, db, home
):
    person = assessed(factory, db, home, officer, date_of_birth=date(1980, 1, 1))
    first_start = today() - timedelta(days=400)
    db.add(
        IntegrationPlan(
            client_id=person.id,
            organisation_id=home.id,
            number=1,
            status=PlanStatus.ENDED,
            officer_id=officer.id,
            starts_on=first_start,
            ends_on=first_start + timedelta(days=364),
        )
    )
    db.commit()
    plan = the_plan(db, start(client, person))
    assert plan.number == 2
    two_years = add_years(first_start, 2)
    beyond = (two_years + timedelta(days=30)).isoformat()
    response = post(client, f"/officer/plans/{plan.id}", plan_form(plan, ends_on=beyond))
    assert response.status_code == 422
    assert "choose one of the statutory reasons for an extension" in response.text
    response = post(
        client,
        f"/officer/plans/{plan.id}",
        plan_form(plan, ends_on=beyond, extension_reason="low_education"),
    )
    assert response.status_code == 422 and "Explain why the client needs the extension" in response.text
    response = post(
        client,
        f"/officer/plans/{plan.id}",
        plan_form(
            plan,
            ends_on=beyond,
            extension_reason="low_education",
            extension_justification="Kuusi vuotta koulua",
        ),
    )
    assert response.status_code == 303
    plan = the_plan(db, plan.id)
    too_far = (add_years(first_start, 4) + timedelta(days=1)).isoformat()
    response = post(
        client,
        f"/officer/plans/{plan.id}",
        plan_form(plan, ends_on=too_far, extension_reason="low_education", extension_justification="x"),
    )
    assert response.status_code == 422
    assert "Even with an extension" in response.text


def test_self_study_year_only_under_25_and_reviews_at_most_six_months_apart(
    client, officer, factory, db, home
):
    person = assessed(factory, db, home, officer, date_of_birth=date(1980, 1, 1))
    plan = the_plan(db, start(client, person))
    late_review = (add_months(plan.starts_on, 6) + timedelta(days=1)).isoformat()
    response = post(
        client,
        f"/officer/plans/{plan.id}",
        plan_form(plan, under_25_self_study="on", next_review_on=late_review),
    )
    assert response.status_code == 422
    assert "for clients under 25 (section 31)" in response.text
    assert "at least every six months (section 22)" in response.text


def test_a_stale_plan_edit_is_refused_and_keeps_what_was_typed(client, officer, factory, db, home):
    person = assessed(factory, db, home, officer)
    plan = the_plan(db, start(client, person))
    seen = plan_form(plan)
    assert (
        post(client, f"/officer/plans/{plan.id}", plan_form(plan, guidance="Ensimmäinen")).status_code == 303
    )
    response = post(client, f"/officer/plans/{plan.id}", {**seen, "guidance": "Toinen versio"})
    assert response.status_code == 409
    assert "Toinen versio" in response.text
    assert the_plan(db, plan.id).guidance == "Ensimmäinen"


def _complete_and_present(client, db, plan_id):
    plan = the_plan(db, plan_id)
    assert post(client, f"/officer/plans/{plan_id}", plan_form(plan)).status_code == 303
    assert post(client, f"/officer/plans/{plan_id}/present", {}).status_code == 303
    return db.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.number.desc())
    )


def test_the_client_approves_an_exact_version(client, officer, factory, db, home):
    person = assessed(factory, db, home, officer)
    plan_id = start(client, person)
    incomplete = post(client, f"/officer/plans/{plan_id}/present", {})
    assert incomplete.status_code == 422
    assert "at least one long-term goal" in incomplete.text
    version = _complete_and_present(client, db, plan_id)
    assert version.number == 1
    assert version.content_hash == content_hash(version.content)
    assert version.content["goals"][0]["text"] == "Työ lähihoitajana"
    # Presenting unchanged content keeps the version.
    assert post(client, f"/officer/plans/{plan_id}/present", {}).status_code == 303
    assert len(db.scalars(select(PlanVersion)).all()) == 1

    response = post(
        client,
        f"/officer/plans/{plan_id}/approvals",
        {"version_id": str(version.id), "method": "signed_on_paper", "witness": "Tulkki Hassan"},
    )
    assert response.status_code == 303
    plan = the_plan(db, plan_id)
    assert plan.status == PlanStatus.IN_FORCE
    approval = db.scalar(select(PlanApproval))
    assert approval.plan_version_id == version.id and approval.recorded_by_id == officer.id

    # A change after approval needs a new approval; the old version can no longer be approved.
    assert (
        post(client, f"/officer/plans/{plan_id}", plan_form(plan, guidance="Ohjaus joka viikko")).status_code
        == 303
    )
    page = client.get(f"/officer/plans/{plan_id}")
    assert "The plan has changed since the client approved version 1" in page.text
    response = post(
        client,
        f"/officer/plans/{plan_id}/approvals",
        {"version_id": str(version.id), "method": "orally_in_person"},
    )
    assert response.status_code == 422
    assert len(db.scalars(select(PlanApproval)).all()) == 1
    assert post(client, f"/officer/plans/{plan_id}/present", {}).status_code == 303
    assert db.scalar(select(PlanVersion).where(PlanVersion.number == 2)) is not None


def in_force(client, factory, db, home, officer, **fields):
    person = assessed(factory, db, home, officer, **fields)
    plan_id = start(client, person)
    version = _complete_and_present(client, db, plan_id)
    post(
        client,
        f"/officer/plans/{plan_id}/approvals",
        {"version_id": str(version.id), "method": "signed_on_paper"},
    )
    plan = the_plan(db, plan_id)
    assert plan.status == PlanStatus.IN_FORCE
    return person, plan


def training(db, home):
    service = ProgrammeService(
        organisation_id=home.id,
        service_type=ServiceType.INTEGRATION_TRAINING,
        source_language="fi",
        hours=None,
    )
    db.add(service)
    db.flush()
    db.add(
        ProgrammeServiceText(
            service_id=service.id,
            language="fi",
            name="Kotoutumiskoulutus, iltaryhmä",
            origin=TextOrigin.ORIGINAL,
            source_hash="x",
        )
    )
    db.commit()
    return service


def test_services_record_referral_start_completion_and_the_final_test(client, officer, factory, db, home):
    _person, plan = in_force(client, factory, db, home, officer)
    service = training(db, home)
    response = post(
        client,
        f"/officer/plans/{plan.id}/services",
        {
            "service_kind": "programme",
            "programme_service_id": str(service.id),
            "planned_start": today().isoformat(),
        },
    )
    assert response.status_code == 303
    row = db.scalar(select(PlanService))
    page = client.get(f"/officer/plans/{plan.id}")
    assert "Kotoutumiskoulutus, iltaryhmä" in page.text

    def change(status, **extra):
        db.expire_all()
        current = db.get(PlanService, row.id)
        return post(
            client,
            f"/officer/plans/{plan.id}/services/{row.id}/status",
            {"version": str(current.version), "status": status, "on": today().isoformat(), **extra},
        )

    assert change("completed").status_code == 422  # a planned service cannot be completed
    assert change("referred").status_code == 303
    assert change("started").status_code == 303
    levels = {"test_reading": "A2", "test_writing": "A1", "test_listening": "B1", "test_speaking": "A2"}
    assert change("completed", test_language="fi", **levels).status_code == 303
    db.expire_all()
    done = db.get(PlanService, row.id)
    assert done.status == PlanServiceStatus.COMPLETED and done.completed_on == today()
    assert done.referred_on == today() and done.started_on == today()
    tests = {t.skill.value: t.level.value for t in db.scalars(select(FinalLanguageTest))}
    assert tests == {"reading": "A2", "writing": "A1", "listening": "B1", "speaking": "A2"}
    # A stale status form is refused.
    stale = post(
        client,
        f"/officer/plans/{plan.id}/services/{row.id}/status",
        {"version": "1", "status": "interrupted", "on": today().isoformat(), "interruption_reason": "x"},
    )
    assert stale.status_code in (409, 422)


def test_reviews_follow_section_22(client, officer, factory, db, home):
    _person, plan = in_force(client, factory, db, home, officer)
    held = today()
    review = {
        "review_kind": "scheduled",
        "held_on": held.isoformat(),
        "client_took_part": "on",
        "progress": "Kurssi alkanut hyvin",
        "next_review_on": (add_months(held, 6) + timedelta(days=1)).isoformat(),
    }
    response = post(client, f"/officer/plans/{plan.id}/reviews", review)
    assert response.status_code == 422
    assert "Kurssi alkanut hyvin" in response.text
    next_on = add_months(held, 5)
    response = post(
        client, f"/officer/plans/{plan.id}/reviews", {**review, "next_review_on": next_on.isoformat()}
    )
    assert response.status_code == 303
    assert the_plan(db, plan.id).next_review_on == next_on


def test_a_multi_sector_plan_is_reviewed_with_the_county(client, officer, factory, db, home):
    _person, plan = in_force(client, factory, db, home, officer)
    plan.multi_sector = True
    db.merge(plan)
    db.commit()
    review = {
        "review_kind": "material_change",
        "held_on": today().isoformat(),
        "progress": "Muutto",
        "next_review_on": add_months(today(), 3).isoformat(),
    }
    response = post(client, f"/officer/plans/{plan.id}/reviews", review)
    assert response.status_code == 422 and "reviews the plan jointly" in response.text
    assert (
        post(client, f"/officer/plans/{plan.id}/reviews", {**review, "county_took_part": "on"}).status_code
        == 303
    )


def test_a_pause_extends_the_plan_and_ending_records_the_reason(client, officer, factory, db, home):
    _person, plan = in_force(client, factory, db, home, officer)
    ends = plan.ends_on
    response = post(
        client,
        f"/officer/plans/{plan.id}/pauses",
        {
            "reason": "illness",
            "pause_starts_on": today().isoformat(),
            "pause_ends_on": (today() + timedelta(days=9)).isoformat(),
        },
    )
    assert response.status_code == 303
    plan = the_plan(db, plan.id)
    assert plan.ends_on == ends + timedelta(days=10)
    response = post(
        client,
        f"/officer/plans/{plan.id}/end",
        {
            "version": str(plan.version),
            "outcome": "interrupted",
            "ended_on": today().isoformat(),
            "end_reason": "employment",
            **attained(db, plan.id),
        },
    )
    assert response.status_code == 303
    plan = the_plan(db, plan.id)
    assert plan.status == PlanStatus.INTERRUPTED and plan.end_reason.value == "employment"
    # An ended plan is not changed any more.
    assert post(client, f"/officer/plans/{plan.id}", plan_form(plan)).status_code in (403, 422)


def test_a_transfer_moves_the_client_and_puts_a_review_on_the_receiving_side(
    client, officer, factory, db, home
):
    person, plan = in_force(client, factory, db, home, officer)
    authority = factory.organisation("Työllisyysalue", OrganisationType.EMPLOYMENT_AUTHORITY)
    receiver = factory.staff(authority, Role.INTEGRATION_OFFICER)
    db.refresh(person)
    response = post(
        client,
        f"/officer/clients/{person.id}/transfer",
        {
            "version": str(person.version),
            "to_organisation_id": str(authority.id),
            "transferred_on": today().isoformat(),
            "reason": "Asiakas on työtön työnhakija",
        },
    )
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Client, person.id).organisation_id == authority.id
    assert client.get(f"/officer/plans/{plan.id}").status_code == 404  # the sender no longer sees it
    transfer = db.scalar(select(ClientTransfer))
    assert transfer.reviewed_at is None

    client.cookies.clear()
    sign_in(client, receiver)
    assert client.get(f"/officer/plans/{plan.id}").status_code == 200
    response = post(
        client,
        f"/officer/plans/{plan.id}/reviews",
        {
            "review_kind": "after_transfer",
            "held_on": today().isoformat(),
            "progress": "Siirretty",
            "next_review_on": add_months(today(), 2).isoformat(),
        },
    )
    assert response.status_code == 303
    db.expire_all()
    assert db.scalar(select(ClientTransfer)).reviewed_at is not None


def test_family_overview_needs_consent_and_lapses_without_plans(client, officer, factory, db, home):
    parent, plan = in_force(client, factory, db, home, officer, date_of_birth=date(1985, 1, 1))
    child = factory.client(home, date_of_birth=today() - timedelta(days=365 * 8))
    db.add_all(
        [
            FamilyLink(client_id=parent.id, related_client_id=child.id, relation=FamilyRelation.GUARDIAN),
            FamilyLink(client_id=child.id, related_client_id=parent.id, relation=FamilyRelation.CHILD),
        ]
    )
    db.commit()
    response = post(client, f"/officer/clients/{parent.id}/family-overview", {})
    assert response.status_code == 422 and "consent" in response.text
    db.add(
        Consent(
            client_id=parent.id,
            purpose=ConsentPurpose.FAMILY_OVERVIEW,
            given=True,
            decided_on=today(),
            recorded_by_id=officer.id,
        )
    )
    db.commit()
    response = post(client, f"/officer/clients/{parent.id}/family-overview", {})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "This overview has lapsed" not in page.text
    assert f"/officer/plans/{plan.id}" in page.text
    post(
        client,
        f"/officer/plans/{plan.id}/end",
        {
            "version": str(the_plan(db, plan.id).version),
            "outcome": "ended",
            "ended_on": today().isoformat(),
            "end_reason": "studies",
            **attained(db, plan.id),
        },
    )
    page = client.get(response.headers["location"])
    assert "This overview has lapsed" in page.text
    assert db.scalar(select(FamilyOverview)) is not None


def test_a_family_overview_text_over_its_limit_is_refused_and_kept_whole(client, officer, factory, db, home):
    """Nothing typed is cut: the form comes back with an error and all the text; the saved overview is as it was."""
    parent = factory.client(home)
    child = factory.client(home, date_of_birth=today() - timedelta(days=365 * 8))
    overview = FamilyOverview(
        organisation_id=home.id,
        created_by_id=officer.id,
        shared_goals="Lapset kouluun",
        members=[FamilyOverviewMember(client_id=parent.id), FamilyOverviewMember(client_id=child.id)],
    )
    db.add(overview)
    db.commit()
    needs = "Vanhemman kurssin ajaksi tarvitaan lastenhoito. " * 84  # 4032 characters
    response = post(
        client,
        f"/officer/family-overviews/{overview.id}",
        {"version": "1", "shared_goals": "Uudet tavoitteet", "family_needs": needs},
    )
    assert response.status_code == 422
    assert f"Shorten this to at most 4000 characters (now {len(needs.strip())})." in response.text
    assert re.search(r'<textarea id="family_needs"[^>]*>' + re.escape(needs) + "</textarea>", response.text)
    assert ">Uudet tavoitteet</textarea>" in response.text
    db.expire_all()
    saved = db.get(FamilyOverview, overview.id)
    assert (saved.shared_goals, saved.family_needs, saved.version) == ("Lapset kouluun", None, 1)
    assert db.scalar(select(AuditEvent).where(AuditEvent.object_type == "family_overview")) is None
    # At the limit it is saved.
    fitting = needs.strip()[:4000]
    saved_now = post(
        client, f"/officer/family-overviews/{overview.id}", {"version": "1", "family_needs": fitting}
    )
    assert saved_now.status_code == 303
    db.expire_all()
    assert db.get(FamilyOverview, overview.id).family_needs == fitting.strip()


def test_other_organisations_plans_are_out_of_reach_and_managers_only_read(
    client, officer, factory, db, home
):
    _person, plan = in_force(client, factory, db, home, officer)
    other = factory.organisation("Muu kunta", OrganisationType.MUNICIPALITY)
    stranger = factory.staff(other, Role.INTEGRATION_OFFICER)
    manager = factory.staff(home, Role.MANAGER)
    client.cookies.clear()
    sign_in(client, stranger)
    for path in ("", "/edit", "/print"):
        response = client.get(f"/officer/plans/{plan.id}{path}")
        assert response.status_code == 404
        assert "Työ lähihoitajana" not in response.text
    assert post(client, f"/officer/plans/{plan.id}/reviews", {}).status_code == 404
    client.cookies.clear()
    sign_in(client, manager)
    assert client.get(f"/officer/plans/{plan.id}").status_code == 200
    assert post(client, f"/officer/plans/{plan.id}", plan_form(plan)).status_code == 403
    events = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "integration_plan")).all()
    assert {e.action for e in events} >= {"create", "update", "view"}
    assert all("Työ lähihoitajana" not in repr(e.fields) for e in events)


def test_the_printout_is_in_the_clients_language_with_finnish_beside_it(client, officer, factory, db, home):
    _person, plan = in_force(client, factory, db, home, officer, mother_tongue="ar")
    page = client.get(f"/officer/plans/{plan.id}/print")
    assert page.status_code == 200
    assert re.search(r'<article class="plan-print" lang="ar" dir="rtl"', page.text)
    page = client.get(f"/officer/plans/{plan.id}/print?lang=ar&finnish=true")
    assert re.search(r'lang="ar" dir="rtl"', page.text) and re.search(r'lang="fi" dir="ltr"', page.text)
    assert "Kotoutumissuunnitelma" in page.text  # the Finnish column
    assert page.text.count("Työ lähihoitajana") == 2


def test_only_a_service_not_yet_begun_can_be_taken_out_of_the_plan(client, officer, factory, db, home):
    _person, plan = in_force(client, factory, db, home, officer)
    for name in ("Kielikahvila", "Ystävätoiminta"):
        response = post(client, f"/officer/plans/{plan.id}/services", {"service_kind": "ngo", "name": name})
        assert response.status_code == 303
    cafe, friends = db.scalars(select(PlanService).order_by(PlanService.position)).all()
    referred = post(
        client,
        f"/officer/plans/{plan.id}/services/{friends.id}/status",
        {"version": str(friends.version), "status": "referred", "on": today().isoformat()},
    )
    assert referred.status_code == 303
    refused = post(client, f"/officer/plans/{plan.id}/services/{friends.id}/delete", {})
    assert refused.status_code == 422 and "Interrupt a service that has begun" in refused.text
    assert post(client, f"/officer/plans/{plan.id}/services/{cafe.id}/delete", {}).status_code == 303
    db.expire_all()
    assert [s.name for s in db.scalars(select(PlanService))] == ["Ystävätoiminta"]
    removed = db.scalar(select(AuditEvent).where(AuditEvent.action == "delete"))
    assert removed.object_type == "plan_service" and removed.client_id == plan.client_id
    # The approved content changed: the plan page asks for a new approval.
    assert (
        "The plan has changed since the client approved version 1"
        in client.get(f"/officer/plans/{plan.id}").text
    )


def test_an_overview_without_members_belongs_to_nobody(client, officer, factory, db):
    stranger = factory.organisation("Vieras kunta", OrganisationType.MUNICIPALITY)
    other_officer = factory.staff(stranger, Role.INTEGRATION_OFFICER)
    empty = FamilyOverview(organisation_id=stranger.id, created_by_id=other_officer.id, shared_goals="Tyhjä")
    db.add(empty)
    db.commit()
    assert client.get(f"/officer/family-overviews/{empty.id}").status_code == 404
    assert post(client, f"/officer/family-overviews/{empty.id}", {"version": "1"}).status_code == 404


def test_editing_a_goal_keeps_the_goal_so_its_translations_show_as_out_of_date(
    client, officer, factory, db, home
):
    person = assessed(factory, db, home, officer)
    plan = the_plan(db, start(client, person))
    assert post(client, f"/officer/plans/{plan.id}", plan_form(plan)).status_code == 303
    plan = the_plan(db, plan.id)
    before = db.scalars(
        select(PlanGoal.id).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position)
    ).all()
    assert len(before) == 2
    changed = plan_form(
        plan, goal_kind=["long_term"], goal_type=["employment_goal"], goal_text=["Työ sairaanhoitajana"]
    )
    assert post(client, f"/officer/plans/{plan.id}", changed).status_code == 303
    db.expire_all()
    after = db.scalars(select(PlanGoal).where(PlanGoal.plan_id == plan.id)).all()
    assert [(g.id, g.text) for g in after] == [(before[0], "Työ sairaanhoitajana")]  # same row, new text
