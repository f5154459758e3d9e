"""Every date and eligibility rule of app.domain.rules against worked examples of the law (RULES.md).

Each table row is one story: its id says what the law requires, the row the exact date it leads to.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import rules
from app.domain.rules import AssessmentGround as G
from app.domain.rules import RuleSettings

D = date
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2080, 12, 31))


def case(story: str, *values: Any) -> Any:
    return pytest.param(*values, id=story)


# --- calendar arithmetic (the base of every rule) --------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        case("31.1.2025 + 1 month -> 28.2.2025 (no 29th in 2025)", D(2025, 1, 31), 1, D(2025, 2, 28)),
        case("31.1.2024 + 1 month -> 29.2.2024 (leap year)", D(2024, 1, 31), 1, D(2024, 2, 29)),
        case("30.11.2025 + 3 months -> 28.2.2026", D(2025, 11, 30), 3, D(2026, 2, 28)),
        case("31.8.2025 + 6 months -> 28.2.2026", D(2025, 8, 31), 6, D(2026, 2, 28)),
        case("15.12.2025 + 1 month crosses the year -> 15.1.2026", D(2025, 12, 15), 1, D(2026, 1, 15)),
        case("31.3.2025 - 1 month -> 28.2.2025", D(2025, 3, 31), -1, D(2025, 2, 28)),
        case("15.1.2026 - 1 month crosses the year back -> 15.12.2025", D(2026, 1, 15), -1, D(2025, 12, 15)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert rules.add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        case("leap day 29.2.2024 + 1 year -> 28.2.2025", D(2024, 2, 29), 1, D(2025, 2, 28)),
        case("leap day 29.2.2024 + 4 years -> 29.2.2028", D(2024, 2, 29), 4, D(2028, 2, 29)),
        case("28.2.2023 + 1 year -> 28.2.2024 (not the leap day)", D(2023, 2, 28), 1, D(2024, 2, 28)),
    ],
)
def test_add_years(day: date, years: int, expected: date) -> None:
    assert rules.add_years(day, years) == expected


@given(DATES, st.integers(0, 120))
def test_adding_months_never_goes_backwards_or_overshoots(day: date, months: int) -> None:
    later = rules.add_months(day, months)
    assert later >= day
    assert (later.year - day.year) * 12 + later.month - day.month == months


# --- §14: who is assessed, and when -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_permit", "expected"),
    [
        case("first permit 31.1.2024 -> assessment window ends 31.1.2027", D(2024, 1, 31), D(2027, 1, 31)),
        case("first permit on leap day 29.2.2024 -> window ends 28.2.2027", D(2024, 2, 29), D(2027, 2, 28)),
    ],
)
def test_assessment_window_ends_three_years_from_the_first_permit(first_permit: date, expected: date) -> None:
    assert rules.assessment_window_ends(first_permit) == expected


@pytest.mark.parametrize(
    ("first_permit", "grounds", "on", "expected"),
    [
        case(
            "social assistance, permit 15.3.2024, asked 15.3.2027 (last day) -> must assess",
            D(2024, 3, 15),
            {G.SOCIAL_ASSISTANCE},
            D(2027, 3, 15),
            True,
        ),
        case(
            "social assistance, permit 15.3.2024, asked 16.3.2027 -> over three years, no duty",
            D(2024, 3, 15),
            {G.SOCIAL_ASSISTANCE},
            D(2027, 3, 16),
            False,
        ),
        case(
            "unaccompanied minor, permit 29.2.2024, asked 28.2.2027 -> must assess",
            D(2024, 2, 29),
            {G.UNACCOMPANIED_MINOR},
            D(2027, 2, 28),
            True,
        ),
        case(
            "unaccompanied minor, permit 29.2.2024, asked 1.3.2027 -> no duty",
            D(2024, 2, 29),
            {G.UNACCOMPANIED_MINOR},
            D(2027, 3, 1),
            False,
        ),
        case(
            "asks or is referred (section 9), permit 1.6.2025 -> must assess",
            D(2025, 6, 1),
            {G.REQUEST_OR_REFERRAL},
            D(2025, 9, 1),
            True,
        ),
        case("no ground at all -> no duty", D(2024, 3, 15), set(), D(2024, 4, 1), False),
        case(
            "permit date unknown -> the three years cannot be shown, no duty",
            None,
            {G.INTERNATIONAL_PROTECTION},
            D(2024, 4, 1),
            False,
        ),
        case(
            "trafficking victim, permit 1.1.2015, asked 1.1.2026 -> also after three years (section 14(6))",
            D(2015, 1, 1),
            {G.TRAFFICKING_VICTIM},
            D(2026, 1, 1),
            True,
        ),
        case(
            "trafficking victim, permit date unknown -> must assess (section 14(6))",
            None,
            {G.TRAFFICKING_VICTIM},
            D(2026, 1, 1),
            True,
        ),
    ],
)
def test_who_must_be_assessed(first_permit: date | None, grounds: set[G], on: date, expected: bool) -> None:
    assert rules.must_assess(first_permit, grounds, on) is expected


@pytest.mark.parametrize(
    ("known_on", "settings", "expected"),
    [
        case(
            "learned of the person 3.3.2025 -> assessment due 17.3.2025 (own 14-day target)",
            D(2025, 3, 3),
            None,
            D(2025, 3, 17),
        ),
        case("learned 20.12.2025 -> due 3.1.2026 across the year", D(2025, 12, 20), None, D(2026, 1, 3)),
        case("learned 20.2.2024 -> due 5.3.2024 across a leap day", D(2024, 2, 20), None, D(2024, 3, 5)),
        case(
            "a municipality that sets 7 days: learned 3.3.2025 -> due 10.3.2025",
            D(2025, 3, 3),
            RuleSettings(assessment_target_days=7),
            D(2025, 3, 10),
        ),
        case(
            "a municipality that sets 0 days: due the same day",
            D(2025, 3, 3),
            RuleSettings(assessment_target_days=0),
            D(2025, 3, 3),
        ),
    ],
)
def test_assessment_due_without_delay(known_on: date, settings: RuleSettings | None, expected: date) -> None:
    assert rules.assessment_due(known_on, settings) == expected


def test_without_delay_is_the_municipalitys_own_target_not_the_laws() -> None:
    assert RuleSettings().assessment_target_days == 14
    assert "own target" in (rules.assessment_due.__doc__ or "")


# --- §20: the plan and the services ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_permit", "expected"),
    [
        case("first permit 31.1.2024 -> plan at the latest 31.1.2027", D(2024, 1, 31), D(2027, 1, 31)),
        case("first permit on leap day 29.2.2024 -> plan by 28.2.2027", D(2024, 2, 29), D(2027, 2, 28)),
        case("first permit 1.9.2024 -> plan by 1.9.2027", D(2024, 9, 1), D(2027, 9, 1)),
    ],
)
def test_plan_deadline_three_years_from_the_first_permit(first_permit: date, expected: date) -> None:
    assert rules.plan_deadline(first_permit) == expected


@pytest.mark.parametrize(
    ("planned", "assessed", "first_permit", "expected"),
    [
        case(
            "assessed 6.3.2025, plan agreed for 20.3.2025 -> due 20.3.2025",
            D(2025, 3, 20),
            D(2025, 3, 6),
            D(2024, 9, 1),
            D(2025, 3, 20),
        ),
        case(
            "no plan date agreed -> due on the assessment day itself (without delay)",
            None,
            D(2025, 3, 6),
            D(2024, 9, 1),
            D(2025, 3, 6),
        ),
        case(
            "plan agreed for 15.4.2025 but the three years end 1.4.2025 -> the limit wins",
            D(2025, 4, 15),
            D(2025, 3, 1),
            D(2022, 4, 1),
            D(2025, 4, 1),
        ),
        case(
            "first permit unknown -> the agreed date",
            D(2025, 5, 2),
            D(2025, 4, 2),
            None,
            D(2025, 5, 2),
        ),
    ],
)
def test_plan_due_after_the_assessment(
    planned: date | None, assessed: date, first_permit: date | None, expected: date
) -> None:
    assert rules.plan_due(planned, assessed, first_permit) == expected


@pytest.mark.parametrize(
    ("first_permit", "settings", "expected"),
    [
        case(
            "first permit 1.9.2024 -> limit 1.9.2027, warned from 3.6.2027 (90 days)",
            D(2024, 9, 1),
            None,
            D(2027, 6, 3),
        ),
        case(
            "first permit 29.2.2024 -> limit 28.2.2027, warned from 30.11.2026",
            D(2024, 2, 29),
            None,
            D(2026, 11, 30),
        ),
        case(
            "a municipality warning 30 days ahead: permit 1.9.2024 -> from 2.8.2027",
            D(2024, 9, 1),
            RuleSettings(three_year_warning_days=30),
            D(2027, 8, 2),
        ),
    ],
)
def test_three_year_limit_warning(first_permit: date, settings: RuleSettings | None, expected: date) -> None:
    assert rules.three_year_warning_starts(first_permit, settings) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        case("on 3.6.2027 the permits up to 1.9.2024 are warned about", D(2027, 6, 3), D(2024, 9, 1)),
        case("on 2.6.2027 only up to 31.8.2024", D(2027, 6, 2), D(2024, 8, 31)),
        case(
            "on 30.11.2026 both 28.2. and 29.2.2024 (limit 28.2.2027) are warned about",
            D(2026, 11, 30),
            D(2024, 2, 29),
        ),
    ],
)
def test_first_permits_warned_on(on: date, expected: date) -> None:
    assert rules.first_permits_warned_on(on) == expected


@given(DATES, DATES, st.integers(0, 200))
def test_the_database_bound_for_warnings_matches_the_rule(permit: date, on: date, days: int) -> None:
    settings = RuleSettings(three_year_warning_days=days)
    warned = rules.three_year_warning_starts(permit, settings) <= on
    assert warned == (permit <= rules.first_permits_warned_on(on, settings))


@pytest.mark.parametrize(
    ("plan_made", "expected"),
    [
        case("plan 31.1.2026 -> services referred by 28.2.2026", D(2026, 1, 31), D(2026, 2, 28)),
        case("plan 31.1.2028 -> by 29.2.2028 (leap year)", D(2028, 1, 31), D(2028, 2, 29)),
        case("plan 15.12.2025 -> by 15.1.2026", D(2025, 12, 15), D(2026, 1, 15)),
    ],
)
def test_services_are_referred_within_one_month_of_the_plan(plan_made: date, expected: date) -> None:
    assert rules.service_guidance_deadline(plan_made) == expected


# --- §22: reviews ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        case("plan 2.1.2026 -> review by 2.7.2026", D(2026, 1, 2), D(2026, 7, 2)),
        case("review 31.8.2026 -> next by 28.2.2027", D(2026, 8, 31), D(2027, 2, 28)),
        case("review 31.8.2027 -> next by 29.2.2028 (leap year)", D(2027, 8, 31), D(2028, 2, 29)),
    ],
)
def test_review_at_least_every_six_months(last: date, expected: date) -> None:
    assert rules.next_review_due(last) == expected


@pytest.mark.parametrize(
    ("cutoff", "expected"),
    [
        case("reviews due by 28.2.2027: plans started up to 31.8.2026", D(2027, 2, 28), D(2026, 8, 31)),
        case("reviews due by 2.7.2026: plans started up to 2.1.2026", D(2026, 7, 2), D(2026, 1, 2)),
    ],
)
def test_plan_starts_whose_first_review_is_due(cutoff: date, expected: date) -> None:
    assert rules.plan_starts_review_due_by(cutoff) == expected


@pytest.mark.parametrize(
    ("months", "cutoff", "expected"),
    [
        case("36 months to 28.2.2027: 29.2.2024 is the last start", 36, D(2027, 2, 28), D(2024, 2, 29)),
        case("1 month to 30.4.2025: 31.3.2025 is the last start", 1, D(2025, 4, 30), D(2025, 3, 31)),
        case("6 months to 15.7.2026: 15.1.2026", 6, D(2026, 7, 15), D(2026, 1, 15)),
    ],
)
def test_latest_start_within(months: int, cutoff: date, expected: date) -> None:
    assert rules.latest_start_within(months, cutoff) == expected


@given(DATES, DATES, st.integers(0, 60))
def test_latest_start_within_inverts_add_months(start: date, cutoff: date, months: int) -> None:
    assert (rules.add_months(start, months) <= cutoff) == (start <= rules.latest_start_within(months, cutoff))


@pytest.mark.parametrize(
    ("rule", "on", "expected"),
    [
        case(
            "reviews due by 31.3.2026 are listed on 1.3.2026",
            rules.review_horizon,
            D(2026, 3, 1),
            D(2026, 3, 31),
        ),
        case(
            "plans ending by 14.1.2026 are listed on 15.12.2025",
            rules.plan_ending_horizon,
            D(2025, 12, 15),
            D(2026, 1, 14),
        ),
    ],
)
def test_worklist_horizons_are_30_days(rule: Any, on: date, expected: date) -> None:
    assert rules.REVIEW_HORIZON_DAYS == rules.PLAN_ENDING_HORIZON_DAYS == 30
    assert rule(on) == expected


@pytest.mark.parametrize(
    ("due", "on", "expected"),
    [
        case("due 10.3., today 9.3. -> not overdue", D(2026, 3, 10), D(2026, 3, 9), False),
        case("due 10.3., today 10.3. -> still in time", D(2026, 3, 10), D(2026, 3, 10), False),
        case("due 10.3., today 11.3. -> overdue", D(2026, 3, 10), D(2026, 3, 11), True),
    ],
)
def test_overdue_once_the_due_day_has_passed(due: date, on: date, expected: bool) -> None:
    assert rules.is_overdue(due, on) is expected


# --- §23, §31: how long plans last -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        case("first plan from 4.5.2026 -> ends at the latest 4.5.2027", D(2026, 5, 4), D(2027, 5, 4)),
        case("first plan from leap day 29.2.2024 -> at the latest 28.2.2025", D(2024, 2, 29), D(2025, 2, 28)),
    ],
)
def test_first_plan_lasts_at_most_one_year(start: date, expected: date) -> None:
    assert rules.first_plan_latest_end(start) == expected


@pytest.mark.parametrize(
    ("start", "options", "expected"),
    [
        case(
            "first plan 10.1.2025 -> all plans end by 10.1.2027 (two years)",
            D(2025, 1, 10),
            {},
            D(2027, 1, 10),
        ),
        case(
            "first plan on leap day 29.2.2024 -> all plans by 28.2.2026",
            D(2024, 2, 29),
            {},
            D(2026, 2, 28),
        ),
        case(
            "extended by 1 year for a statutory reason -> 10.1.2028",
            D(2025, 1, 10),
            {"extension_years": 1},
            D(2028, 1, 10),
        ),
        case(
            "extended by the maximum 2 years -> 10.1.2029",
            D(2025, 1, 10),
            {"extension_years": 2},
            D(2029, 1, 10),
        ),
        case(
            "a 30-day pause (illness) adds its length -> 9.2.2027",
            D(2025, 1, 10),
            {"pause_days": 30},
            D(2027, 2, 9),
        ),
        case(
            "under 25 in self-study gets +1 year (section 31) -> 10.1.2028",
            D(2025, 1, 10),
            {"under_25_self_study": True},
            D(2028, 1, 10),
        ),
        case(
            "everything at once: 2 + 2 + 1 years and a 60-day pause -> 11.3.2030",
            D(2025, 1, 10),
            {"extension_years": 2, "under_25_self_study": True, "pause_days": 60},
            D(2030, 3, 11),
        ),
        case(
            "extension in one-year steps (the seed's unverified rule, as a setting) -> 10.1.2029",
            D(2025, 1, 10),
            {"extension_years": 2, "settings": RuleSettings(extension_step_years=1)},
            D(2029, 1, 10),
        ),
    ],
)
def test_plans_together_last_at_most_two_years_plus_extensions(
    start: date, options: dict[str, Any], expected: date
) -> None:
    assert rules.plans_latest_end(start, **options) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        case("an extension of 3 years is more than section 23 allows", {"extension_years": 3}, "0–2 years"),
        case("a negative extension is no extension", {"extension_years": -1}, "0–2 years"),
        case("a pause cannot be negative", {"pause_days": -1}, "negative"),
        case(
            "with two-year steps configured, a one-year extension is refused",
            {"extension_years": 1, "settings": RuleSettings(extension_step_years=2)},
            "at a time",
        ),
    ],
)
def test_plan_duration_refuses_what_the_law_does_not_allow(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.plans_latest_end(date(2025, 1, 10), **options)


@pytest.mark.parametrize(
    ("ends_on", "reason", "options", "expected"),
    [
        case(
            "first plan 10.1.2025, plans until 10.1.2027 -> allowed without a reason",
            D(2027, 1, 10),
            False,
            {},
            True,
        ),
        case("until 11.1.2027 without a statutory reason -> refused", D(2027, 1, 11), False, {}, False),
        case(
            "until 11.1.2027 with a statutory reason -> allowed (extension)", D(2027, 1, 11), True, {}, True
        ),
        case("with a reason, until 10.1.2029 (two more years) -> allowed", D(2029, 1, 10), True, {}, True),
        case(
            "with a reason, until 11.1.2029 -> more than two more years, refused",
            D(2029, 1, 11),
            True,
            {},
            False,
        ),
        case(
            "no reason, but a 30-day pause: until 9.2.2027 -> allowed",
            D(2027, 2, 9),
            False,
            {"pause_days": 30},
            True,
        ),
        case(
            "no reason, under 25 in self-study: until 10.1.2028 -> allowed",
            D(2028, 1, 10),
            False,
            {"under_25_self_study": True},
            True,
        ),
    ],
)
def test_extension_only_with_a_statutory_reason_and_by_at_most_two_years(
    ends_on: date, reason: bool, options: dict[str, Any], expected: bool
) -> None:
    assert rules.plans_end_allowed(ends_on, D(2025, 1, 10), extension_reason=reason, **options) is expected


@pytest.mark.parametrize(
    ("born", "on", "expected"),
    [
        case("born 10.3.2001, on 9.3.2026 -> 24, under 25", D(2001, 3, 10), D(2026, 3, 9), True),
        case(
            "born 10.3.2001, on 10.3.2026 -> turns 25, no longer under 25",
            D(2001, 3, 10),
            D(2026, 3, 10),
            False,
        ),
        case("date of birth unknown -> not shown to be under 25", None, D(2026, 3, 9), False),
    ],
)
def test_under_25_for_the_self_study_year(born: date | None, on: date, expected: bool) -> None:
    assert rules.under_25(born, on) is expected


# --- §32a: the missed-appointment fee --------------------------------------------------------------


@pytest.mark.parametrize(
    ("announced", "born", "appointment", "expected"),
    [
        case(
            "announced, born 1.6.2008, 17 on 31.5.2026 -> never to under-18s",
            True,
            D(2008, 6, 1),
            D(2026, 5, 31),
            False,
        ),
        case("announced, born 1.6.2008, 18 on 1.6.2026 -> allowed", True, D(2008, 6, 1), D(2026, 6, 1), True),
        case(
            "an adult, but not announced when booking -> no fee", False, D(1990, 1, 1), D(2030, 1, 1), False
        ),
        case("age unknown -> no fee (it could be a minor)", True, None, D(2030, 1, 1), False),
    ],
)
def test_no_show_fee(announced: bool, born: date | None, appointment: date, expected: bool) -> None:
    assert rules.no_show_fee_allowed(announced, born, appointment) is expected


def test_no_show_fee_is_at_most_56_euros_70() -> None:
    assert Decimal("56.70") == rules.NO_SHOW_FEE_MAX


# --- Chapter 8: compensation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrived", "quota", "expected"),
    [
        case(
            "first municipality 1.4.2025 -> compensated until 1.4.2027 (two years)",
            D(2025, 4, 1),
            False,
            D(2027, 4, 1),
        ),
        case(
            "quota refugee family, 1.4.2025 -> until 1.4.2028 (three years)",
            D(2025, 4, 1),
            True,
            D(2028, 4, 1),
        ),
        case("arrived on leap day 29.2.2024 -> until 28.2.2026", D(2024, 2, 29), False, D(2026, 2, 28)),
    ],
)
def test_calculated_compensation_window(arrived: date, quota: bool, expected: date) -> None:
    assert rules.compensation_window_ends(arrived, quota_refugee_family=quota) == expected


@pytest.mark.parametrize(
    ("arrived", "expected"),
    [
        case(
            "first municipality 1.4.2025 -> social assistance compensated until 1.4.2026",
            D(2025, 4, 1),
            D(2026, 4, 1),
        ),
        case("leap day 29.2.2024 -> until 28.2.2025", D(2024, 2, 29), D(2025, 2, 28)),
    ],
)
def test_social_assistance_compensation_for_one_year(arrived: date, expected: date) -> None:
    assert rules.social_assistance_compensation_ends(arrived) == expected


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        case("activity 2.1.2025 -> claim reaches KEHA by 31.12.2027", D(2025, 1, 2), D(2027, 12, 31)),
        case("activity 31.12.2025 -> the same 31.12.2027", D(2025, 12, 31), D(2027, 12, 31)),
        case("activity 1.1.2026 -> a year later, 31.12.2028", D(2026, 1, 1), D(2028, 12, 31)),
        case("activity on leap day 29.2.2024 -> 31.12.2026", D(2024, 2, 29), D(2026, 12, 31)),
    ],
)
def test_claim_deadline_end_of_the_second_following_calendar_year(activity: date, expected: date) -> None:
    assert rules.claim_deadline(activity) == expected


# --- §77: retention --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ended", "expected"),
    [
        case("client relationship ended 31.1.2026 -> data deleted 31.1.2030", D(2026, 1, 31), D(2030, 1, 31)),
        case("ended 31.12.2025 -> deleted 31.12.2029", D(2025, 12, 31), D(2029, 12, 31)),
        case(
            "ended on leap day 29.2.2024 -> deleted 29.2.2028 (again a leap year)",
            D(2024, 2, 29),
            D(2028, 2, 29),
        ),
    ],
)
def test_client_data_is_deleted_four_years_after_the_relationship_ends(ended: date, expected: date) -> None:
    assert rules.deletion_due(ended) == expected


# --- transfers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transferred", "settings", "expected"),
    [
        case(
            "transferred 31.1.2026 -> the receiver reviews by 28.2.2026", D(2026, 1, 31), None, D(2026, 2, 28)
        ),
        case("transferred 15.12.2025 -> by 15.1.2026", D(2025, 12, 15), None, D(2026, 1, 15)),
        case(
            "a municipality allowing 2 months: 15.11.2025 -> by 15.1.2026",
            D(2025, 11, 15),
            RuleSettings(transfer_review_months=2),
            D(2026, 1, 15),
        ),
    ],
)
def test_transfer_review_due(transferred: date, settings: RuleSettings | None, expected: date) -> None:
    assert rules.transfer_review_due(transferred, settings) == expected
