"""§14 eligibility on the outreach worklist (rules.section_14_eligibility) against worked examples of the
law (RULES.md, "Who must get an assessment"): the three-year window from the first permit, its last day,
the trafficking exception (§14(6)) and the employment authority's jobseekers (§3)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import rules
from app.domain.rules import AssessmentGround as G
from app.domain.rules import Section14 as V

D = date
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2080, 12, 31))


def case(story: str, *values: object) -> object:
    return pytest.param(*values, id=story)


@pytest.mark.parametrize(
    ("first_permit", "grounds", "on", "verdict", "window_ends", "days_left"),
    [
        case(
            "social assistance, permit 15.3.2024, on the last day 15.3.2027 -> must assess, 0 days left",
            D(2024, 3, 15), {G.SOCIAL_ASSISTANCE}, D(2027, 3, 15), V.MUST_ASSESS, D(2027, 3, 15), 0,
        ),
        case(
            "social assistance, permit 15.3.2024, one day later 16.3.2027 -> the window has ended",
            D(2024, 3, 15), {G.SOCIAL_ASSISTANCE}, D(2027, 3, 16), V.WINDOW_ENDED, D(2027, 3, 15), -1,
        ),
        case(
            "home-care allowance, permit 1.9.2025, on 1.10.2025 -> must assess, window to 1.9.2028",
            D(2025, 9, 1), {G.CHILD_HOME_CARE_ALLOWANCE}, D(2025, 10, 1), V.MUST_ASSESS, D(2028, 9, 1), 1066,
        ),
        case(
            "international protection, permit on leap day 29.2.2024 -> last day 28.2.2027",
            D(2024, 2, 29), {G.INTERNATIONAL_PROTECTION}, D(2027, 2, 28), V.MUST_ASSESS, D(2027, 2, 28), 0,
        ),
        case(
            "international protection, permit 29.2.2024, on 1.3.2027 -> the window has ended",
            D(2024, 2, 29), {G.INTERNATIONAL_PROTECTION}, D(2027, 3, 1), V.WINDOW_ENDED, D(2027, 2, 28), -1,
        ),
        case(
            "trafficking victim, permit 1.1.2015, on 1.1.2026 -> assessed also after three years (14(6))",
            D(2015, 1, 1), {G.TRAFFICKING_VICTIM}, D(2026, 1, 1), V.TRAFFICKING_NO_LIMIT, D(2018, 1, 1), -2922,
        ),
        case(
            "trafficking victim without a known permit date -> assessed (14(6))",
            None, {G.TRAFFICKING_VICTIM}, D(2026, 1, 1), V.TRAFFICKING_NO_LIMIT, None, None,
        ),
        case(
            "trafficking victim who also gets social assistance, old permit -> no time limit still",
            D(2010, 5, 5), {G.TRAFFICKING_VICTIM, G.SOCIAL_ASSISTANCE}, D(2026, 1, 1),
            V.TRAFFICKING_NO_LIMIT, D(2013, 5, 5), -4624,
        ),
        case(
            "a ground but no first permit date -> the three years cannot be shown: find it out",
            None, {G.SOCIAL_ASSISTANCE}, D(2026, 1, 1), V.PERMIT_DATE_UNKNOWN, None, None,
        ),
        case(
            "moved in, no ground on record -> no duty (the service may still be offered)",
            D(2025, 1, 1), set(), D(2025, 6, 1), V.NO_GROUND, D(2028, 1, 1), 944,
        ),
        case(
            "only an unemployed jobseeker, recent permit -> the employment authority assesses (section 3)",
            D(2025, 1, 1), {G.UNEMPLOYED_JOBSEEKER}, D(2025, 6, 1), V.EMPLOYMENT_AUTHORITY, D(2028, 1, 1), 944,
        ),
        case(
            "jobseeker who also gets social assistance -> the municipality must assess",
            D(2025, 1, 1), {G.UNEMPLOYED_JOBSEEKER, G.SOCIAL_ASSISTANCE}, D(2025, 6, 1),
            V.MUST_ASSESS, D(2028, 1, 1), 944,
        ),
        case(
            "jobseeker, permit over three years old -> nobody must assess",
            D(2020, 1, 1), {G.UNEMPLOYED_JOBSEEKER}, D(2025, 6, 1), V.WINDOW_ENDED, D(2023, 1, 1), -882,
        ),
        case(
            "referred by another authority (section 9), permit 1.6.2025 -> must assess",
            D(2025, 6, 1), {G.REQUEST_OR_REFERRAL}, D(2025, 9, 1), V.MUST_ASSESS, D(2028, 6, 1), 1004,
        ),
    ],
)  # fmt: skip
def test_section_14_eligibility(
    first_permit: date | None,
    grounds: set[G],
    on: date,
    verdict: V,
    window_ends: date | None,
    days_left: int | None,
) -> None:
    found = rules.section_14_eligibility(first_permit, grounds, on)
    assert found.verdict is verdict
    assert found.window_ends == window_ends
    assert found.days_left == days_left


@given(
    first_permit=st.none() | DATES,
    grounds=st.sets(st.sampled_from(list(G))),
    on=DATES,
)
def test_section_14_agrees_with_must_assess(first_permit: date | None, grounds: set[G], on: date) -> None:
    """The worklist's verdict and the statutory-path rule never disagree on whether someone is assessed."""
    assert rules.section_14_eligibility(first_permit, grounds, on).must_assess is rules.must_assess(
        first_permit, grounds, on
    )


@given(
    first_permit=DATES,
    grounds=st.sets(st.sampled_from([g for g in G if g != G.TRAFFICKING_VICTIM]), min_size=1),
)
def test_the_window_closes_exactly_the_day_after_its_last_day(first_permit: date, grounds: set[G]) -> None:
    last = rules.assessment_window_ends(first_permit)
    assert rules.section_14_eligibility(first_permit, grounds, last).must_assess
    after = rules.section_14_eligibility(first_permit, grounds, rules.add_days(last, 1))
    assert after.verdict is V.WINDOW_ENDED
    assert not after.must_assess
