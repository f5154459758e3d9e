from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import rules
from app.domain.rules import AssessmentGround as G


def test_months_end_on_the_last_day_when_the_day_does_not_exist() -> None:
    assert rules.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert rules.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert rules.add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert rules.add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 120))
def test_adding_months_never_goes_backwards_or_overshoots(day: date, months: int) -> None:
    later = rules.add_months(day, months)
    assert later >= day
    assert (later.year - day.year) * 12 + later.month - day.month == months


def test_assessment_duty_lasts_three_years_from_the_first_permit() -> None:
    permit = date(2024, 3, 15)
    assert rules.must_assess(permit, {G.SOCIAL_ASSISTANCE}, date(2027, 3, 15))
    assert not rules.must_assess(permit, {G.SOCIAL_ASSISTANCE}, date(2027, 3, 16))
    assert not rules.must_assess(permit, set(), date(2024, 4, 1))  # no ground, no duty
    assert not rules.must_assess(None, {G.INTERNATIONAL_PROTECTION}, date(2024, 4, 1))


def test_victims_of_trafficking_are_assessed_also_after_three_years() -> None:
    assert rules.must_assess(date(2015, 1, 1), {G.TRAFFICKING_VICTIM}, date(2026, 1, 1))


def test_plan_deadlines() -> None:
    assert rules.plan_deadline(date(2024, 2, 29)) == date(2027, 2, 28)
    assert rules.service_guidance_deadline(date(2026, 1, 31)) == date(2026, 2, 28)
    assert rules.next_review_due(date(2026, 8, 31)) == date(2027, 2, 28)
    assert rules.first_plan_latest_end(date(2026, 5, 4)) == date(2027, 5, 4)


def test_plan_duration_with_extension_pause_and_self_study() -> None:
    start = date(2025, 1, 10)
    assert rules.plans_latest_end(start) == date(2027, 1, 10)
    assert rules.plans_latest_end(start, extension_years=2) == date(2029, 1, 10)
    assert rules.plans_latest_end(start, pause_days=30) == date(2027, 2, 9)
    assert rules.plans_latest_end(start, under_25_self_study=True) == date(2028, 1, 10)
    with pytest.raises(ValueError, match="0–2 years"):
        rules.plans_latest_end(start, extension_years=3)


def test_the_unverified_one_year_step_is_a_setting() -> None:
    stepped = rules.RuleSettings(extension_step_years=1)
    assert rules.plans_latest_end(date(2025, 1, 1), extension_years=2, settings=stepped) == date(2029, 1, 1)
    with pytest.raises(ValueError, match="at a time"):
        rules.plans_latest_end(
            date(2025, 1, 1), extension_years=1, settings=rules.RuleSettings(extension_step_years=2)
        )


def test_no_show_fee_only_when_announced_and_never_to_minors() -> None:
    assert Decimal("56.70") == rules.NO_SHOW_FEE_MAX
    born = date(2008, 6, 1)
    assert not rules.no_show_fee_allowed(True, born, date(2026, 5, 31))  # 17 on the day
    assert rules.no_show_fee_allowed(True, born, date(2026, 6, 1))  # 18 that day
    assert not rules.no_show_fee_allowed(False, born, date(2030, 1, 1))  # not announced
    assert not rules.no_show_fee_allowed(True, None, date(2030, 1, 1))  # age unknown: no fee


def test_compensation_windows_and_the_claim_deadline() -> None:
    arrived = date(2025, 4, 1)
    assert rules.compensation_window_ends(arrived, quota_refugee_family=False) == date(2027, 4, 1)
    assert rules.compensation_window_ends(arrived, quota_refugee_family=True) == date(2028, 4, 1)
    assert rules.social_assistance_compensation_ends(arrived) == date(2026, 4, 1)
    assert rules.claim_deadline(date(2025, 1, 2)) == date(2027, 12, 31)
    assert rules.claim_deadline(date(2025, 12, 31)) == date(2027, 12, 31)


def test_client_data_is_deleted_four_years_after_the_relationship_ends() -> None:
    assert rules.deletion_due(date(2026, 1, 31)) == date(2030, 1, 31)
