"""Compensation to the municipality (681/2023 §§59–71; decree 872/2024): who is within compensation, for
which period, and the calculated compensation of a period, worked by hand.

Each table row is one story; its id says what the law (as RULES.md summarises it) requires.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.db.costs import CostCategory, RateKind
from app.domain import rules
from app.domain.rules import Basis, CompensationPerson, Eligibility, RuleSettings, Why

D = date
YES, NO, CANNOT = Eligibility.YES, Eligibility.NO, Eligibility.CANNOT_TELL
ARRIVED = D(2025, 3, 1)  # the first municipality of residence in every story unless told otherwise
RATES_2025 = [
    rules.Rate(rules.RATE_UNDER_7, D(2025, 1, 1), Decimal("2741.00")),
    rules.Rate(rules.RATE_7_AND_OVER, D(2025, 1, 1), Decimal("2052.00")),
    rules.Rate(rules.RATE_FIRST_YEAR_ADULT, D(2025, 1, 1), Decimal("7741.00")),
]


def case(story: str, *values: Any) -> Any:
    return pytest.param(*values, id=story)


def person(**fields: Any) -> CompensationPerson:
    values: dict[str, Any] = {
        "segment": 2,
        "permit_type": "international_protection",
        "first_residence_on": ARRIVED,
        "date_of_birth": D(1990, 5, 5),
    }
    values.update(fields)
    return CompensationPerson(**values)


PROTECTED = person()
QUOTA = person(segment=3, permit_type=None)
TRAFFICKED = person(permit_type="trafficking_victim")
UNACCOMPANIED = person(unaccompanied_minor=True, date_of_birth=D(2008, 6, 15))


# --- whether a day is compensated ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "basis", "day", "expected", "why"),
    [
        # §§61–62: calculated compensation, two years from the first municipality of residence
        case("protection: the first day is compensated", PROTECTED, Basis.CALCULATED, ARRIVED, YES, None),
        case("protection: the last day of two years, 28.2.2027", PROTECTED, Basis.CALCULATED, D(2027, 2, 28), YES, None),
        case("protection: 1.3.2027 is past two years", PROTECTED, Basis.CALCULATED, D(2027, 3, 1), NO, Why.AFTER_WINDOW),
        case("protection: the day before arrival is not", PROTECTED, Basis.CALCULATED, D(2025, 2, 28), NO, Why.BEFORE_WINDOW),
        case("temporary protection: two years", person(permit_type="temporary_protection"), Basis.CALCULATED,
             D(2027, 2, 28), YES, None),
        case("trafficking victim: two years", TRAFFICKED, Basis.CALCULATED, D(2027, 3, 1), NO, Why.AFTER_WINDOW),
        # three years for quota refugees and their families
        case("quota refugee (segment 3): the last day of three years, 29.2.2028", QUOTA, Basis.CALCULATED,
             D(2028, 2, 29), YES, None),
        case("quota refugee: 1.3.2028 is past three years", QUOTA, Basis.CALCULATED, D(2028, 3, 1), NO, Why.AFTER_WINDOW),
        case("permit type quota refugee in segment 1: three years", person(segment=1, permit_type="quota_refugee"),
             Basis.CALCULATED, D(2028, 2, 29), YES, None),
        case("family member linked to a quota refugee: three years",
             person(permit_type="family", family_of_quota_refugee=True), Basis.CALCULATED, D(2028, 2, 29), YES, None),
        case("family member linked to a protected person: two years",
             person(permit_type="family", family_of_protected=True), Basis.CALCULATED, D(2028, 2, 29), NO,
             Why.AFTER_WINDOW),
        case("family ties without a link: cannot tell (whom did they join?)", person(permit_type="family"),
             Basis.CALCULATED, D(2025, 6, 1), CANNOT, Why.FAMILY_LINK_MISSING),
        # not compensated
        case("work permit: not compensated", person(permit_type="work"), Basis.CALCULATED, D(2025, 6, 1), NO,
             Why.NOT_COMPENSATED_PERMIT),
        case("study permit: not compensated", person(permit_type="study"), Basis.SPECIAL_COSTS, D(2025, 6, 1), NO,
             Why.NOT_COMPENSATED_PERMIT),
        case("EU registration: not compensated", person(permit_type="eu_registration"), Basis.CALCULATED,
             D(2025, 6, 1), NO, Why.NOT_COMPENSATED_PERMIT),
        case("work permit without a first residence date: still no", person(permit_type="work", first_residence_on=None),
             Basis.CALCULATED, D(2025, 6, 1), NO, Why.NOT_COMPENSATED_PERMIT),
        # cannot tell, never "no", when the data is missing
        case("no first municipality of residence: cannot tell", person(first_residence_on=None), Basis.CALCULATED,
             D(2025, 6, 1), CANNOT, Why.NO_FIRST_RESIDENCE),
        case("no first municipality of residence, special costs: cannot tell", person(first_residence_on=None),
             Basis.SPECIAL_COSTS, D(2025, 6, 1), CANNOT, Why.NO_FIRST_RESIDENCE),
        case("no permit type: cannot tell", person(permit_type=None), Basis.CALCULATED, D(2025, 6, 1), CANNOT,
             Why.NO_PERMIT_TYPE),
        case("permit type other: cannot tell", person(permit_type="other"), Basis.CALCULATED, D(2025, 6, 1), CANNOT,
             Why.OTHER_PERMIT),
        # §63 social assistance at most one year
        case("§63 social assistance: the last day of the year, 28.2.2026", PROTECTED, Basis.SOCIAL_ASSISTANCE,
             D(2026, 2, 28), YES, None),
        case("§63 social assistance: 1.3.2026 is past one year", PROTECTED, Basis.SOCIAL_ASSISTANCE, D(2026, 3, 1),
             NO, Why.AFTER_WINDOW),
        # §64 reception preparation: four months before arrival, eight for a good reason, up to arrival
        case("§64 four months before arrival, 1.11.2024", QUOTA, Basis.RECEPTION_PREPARATION, D(2024, 11, 1), YES, None),
        case("§64 the arrival day itself", QUOTA, Basis.RECEPTION_PREPARATION, ARRIVED, YES, None),
        case("§64 after arrival: not preparation", QUOTA, Basis.RECEPTION_PREPARATION, D(2025, 3, 2), NO,
             Why.AFTER_WINDOW),
        case("§64 31.10.2024 is more than four months before", QUOTA, Basis.RECEPTION_PREPARATION, D(2024, 10, 31),
             NO, Why.BEFORE_WINDOW),
        case("§64 only for quota refugees (unverified: a setting)", PROTECTED, Basis.RECEPTION_PREPARATION,
             D(2025, 1, 1), NO, Why.NOT_QUOTA_REFUGEE),
        # §65 special costs up to ten years
        case("§65 special costs: the last day of ten years, 28.2.2035", PROTECTED, Basis.SPECIAL_COSTS,
             D(2035, 2, 28), YES, None),
        case("§65 special costs: 1.3.2035 is past ten years", PROTECTED, Basis.SPECIAL_COSTS, D(2035, 3, 1), NO,
             Why.AFTER_WINDOW),
        # §68 trafficking victims' special-need services
        case("§68 trafficking victim: no time limit named (a setting)", TRAFFICKED, Basis.TRAFFICKING_VICTIM,
             D(2040, 1, 1), YES, None),
        case("§68 only for a victim of trafficking", PROTECTED, Basis.TRAFFICKING_VICTIM, D(2025, 6, 1), NO,
             Why.NOT_TRAFFICKING_VICTIM),
        case("§68 permit type unknown: cannot tell", person(permit_type=None), Basis.TRAFFICKING_VICTIM,
             D(2025, 6, 1), CANNOT, Why.NO_PERMIT_TYPE),
        # §69 unaccompanied minors until 23
        case("§69 the day before the 23rd birthday, 14.6.2031", UNACCOMPANIED, Basis.UNACCOMPANIED_MINOR,
             D(2031, 6, 14), YES, None),
        case("§69 the 23rd birthday ends it", UNACCOMPANIED, Basis.UNACCOMPANIED_MINOR, D(2031, 6, 15), NO,
             Why.AFTER_WINDOW),
        case("§69 only for one who came as an unaccompanied minor", PROTECTED, Basis.UNACCOMPANIED_MINOR,
             D(2025, 6, 1), NO, Why.NOT_UNACCOMPANIED),
        case("§69 no date of birth: cannot tell", replace(UNACCOMPANIED, date_of_birth=None),
             Basis.UNACCOMPANIED_MINOR, D(2025, 6, 1), CANNOT, Why.NO_DATE_OF_BIRTH),
        # interpretation and other costs (no section in RULES.md: settings)
        case("interpretation: no time limit named", PROTECTED, Basis.INTERPRETATION, D(2045, 1, 1), YES, None),
        case("other costs follow the calculated window", PROTECTED, Basis.OTHER, D(2027, 3, 1), NO, Why.AFTER_WINDOW),
        # a client who moved away: calculated compensation is the new municipality's from then on
        case("moved away 30.6.2025: compensated until that day", person(left_on=D(2025, 6, 30)), Basis.CALCULATED,
             D(2025, 6, 30), YES, None),
        case("moved away 30.6.2025: not after it", person(left_on=D(2025, 6, 30)), Basis.CALCULATED, D(2025, 7, 1),
             NO, Why.AFTER_WINDOW),
        case("moved away: special costs still follow their own period", person(left_on=D(2025, 6, 30)),
             Basis.SPECIAL_COSTS, D(2025, 7, 1), YES, None),
    ],
)  # fmt: skip
def test_eligibility_on_a_day(
    who: CompensationPerson, basis: Basis, day: date, expected: Eligibility, why: Why | None
) -> None:
    assert rules.eligible_on(who, basis, day) == (expected, why)


@pytest.mark.parametrize(
    ("story", "settings", "who", "basis", "day", "longer", "expected"),
    [
        ("§64 eight months for a good reason: 1.7.2024", RuleSettings(), QUOTA, Basis.RECEPTION_PREPARATION,
         D(2024, 7, 1), True, YES),
        ("§64 with a good reason, 30.6.2024 is more than eight months", RuleSettings(), QUOTA,
         Basis.RECEPTION_PREPARATION, D(2024, 6, 30), True, NO),
        ("§64 for every compensated group when configured",
         RuleSettings(reception_preparation_quota_only=False), PROTECTED, Basis.RECEPTION_PREPARATION,
         D(2025, 1, 1), False, YES),
        ("§68 services limited to three years when configured", RuleSettings(trafficking_services_years=3),
         TRAFFICKED, Basis.TRAFFICKING_VICTIM, D(2028, 3, 1), False, NO),
        ("interpretation limited to two years when configured", RuleSettings(interpretation_cost_years=2),
         PROTECTED, Basis.INTERPRETATION, D(2027, 3, 1), False, NO),
        ("other costs never automatic when configured", RuleSettings(other_costs_in_calculated_window=False),
         PROTECTED, Basis.OTHER, D(2025, 6, 1), False, CANNOT),
    ],
)  # fmt: skip
def test_unverified_items_are_settings(
    story: str,
    settings: RuleSettings,
    who: CompensationPerson,
    basis: Basis,
    day: date,
    longer: bool,
    expected: Eligibility,
) -> None:
    assert rules.eligible_on(who, basis, day, settings, longer_preparation=longer)[0] is expected, story


@pytest.mark.parametrize(
    ("who", "group"),
    [
        case("segment 3 is a quota refugee whatever the permit", person(segment=3, permit_type="family"),
             rules.CompensationGroup.QUOTA_REFUGEE),
        case("family ties follow the quota refugee before the protected", person(
            permit_type="family", family_of_quota_refugee=True, family_of_protected=True),
             rules.CompensationGroup.QUOTA_REFUGEE),
        case("residence card (an EU citizen's family): not compensated", person(permit_type="residence_card"),
             rules.CompensationGroup.NOT_COMPENSATED),
        case("a family link does not make a work permit compensated",
             person(permit_type="work", family_of_quota_refugee=True), rules.CompensationGroup.NOT_COMPENSATED),
    ],
)  # fmt: skip
def test_compensation_group(who: CompensationPerson, group: rules.CompensationGroup) -> None:
    assert rules.compensation_group(who)[0] is group


def test_window_end_dates_are_the_last_compensated_days() -> None:
    windows = {w.basis: w for w in rules.compensation_windows(QUOTA)}
    assert windows[Basis.CALCULATED].first_day == ARRIVED
    assert windows[Basis.CALCULATED].last_day == D(2028, 2, 29)
    assert windows[Basis.SOCIAL_ASSISTANCE].last_day == D(2026, 2, 28)
    assert (
        windows[Basis.RECEPTION_PREPARATION].first_day,
        windows[Basis.RECEPTION_PREPARATION].last_day,
    ) == (
        D(2024, 11, 1),
        ARRIVED,
    )
    assert windows[Basis.SPECIAL_COSTS].last_day == D(2035, 2, 28)
    assert windows[Basis.TRAFFICKING_VICTIM].eligibility is NO
    assert windows[Basis.UNACCOMPANIED_MINOR].eligibility is NO
    # the windows agree with the older rules of the module: the first day no longer compensated
    assert rules.add_days(windows[Basis.CALCULATED].last_day, 1) == rules.compensation_window_ends(
        ARRIVED, True
    )


def test_leap_day_arrival_ends_the_day_before_28_2() -> None:
    window = rules.compensation_window(person(first_residence_on=D(2024, 2, 29)), Basis.CALCULATED)
    assert window.last_day == D(2026, 2, 27)


def test_the_bases_are_the_cost_categories_and_the_rates_the_rate_kinds() -> None:
    assert {c.value for c in CostCategory} | {"calculated"} == {b.value for b in Basis}
    assert {k.value for k in RateKind} == {
        rules.RATE_UNDER_7,
        rules.RATE_7_AND_OVER,
        rules.RATE_FIRST_YEAR_ADULT,
    }


# --- calculated compensation, worked by hand -----------------------------------------------------


def calculate(who: CompensationPerson, first: date, last: date, rates: list[rules.Rate] = RATES_2025,
              settings: RuleSettings | None = None) -> rules.Calculation:  # fmt: skip
    window = rules.compensation_window(who, Basis.CALCULATED)
    assert who.date_of_birth is not None
    return rules.calculated_compensation(window, who.date_of_birth, first, last, rates, settings)


def lines(calculation: rules.Calculation) -> list[tuple[int, str, str, date, date, int, str]]:
    return [
        (line.activity_year, line.rate_kind, str(line.rate), line.first_day, line.last_day, line.days, str(line.amount))
        for line in calculation.lines
    ]  # fmt: skip


def test_an_adult_from_arrival_to_the_end_of_the_year() -> None:
    """1.3.–31.12.2025 is 306 days: 2052 × 306 / 365 = 1720.306… → 1720.31, and the first-year supplement
    7741 × 306 / 365 = 6489.715… → 6489.72."""
    result = calculate(PROTECTED, D(2025, 1, 1), D(2025, 12, 31))
    assert lines(result) == [
        (2025, "rate_7_and_over", "2052.00", D(2025, 3, 1), D(2025, 12, 31), 306, "1720.31"),
        (2025, "rate_first_year_adult", "7741.00", D(2025, 3, 1), D(2025, 12, 31), 306, "6489.72"),
    ]
    assert result.days == 306 and result.days_without_rate == 0
    assert result.total == Decimal("8210.03")


def test_a_leap_year_divides_by_366() -> None:
    """Quota refugee from 1.7.2027: all 366 days of 2028 at 2052 × 366 / 366 = 2052.00; the first year ends
    30.6.2028, so the supplement is 182 days: 7741 × 182 / 366 = 3849.349… → 3849.35."""
    result = calculate(person(segment=3, first_residence_on=D(2027, 7, 1)), D(2028, 1, 1), D(2028, 12, 31))
    assert lines(result) == [
        (2028, "rate_7_and_over", "2052.00", D(2028, 1, 1), D(2028, 12, 31), 366, "2052.00"),
        (2028, "rate_first_year_adult", "7741.00", D(2028, 1, 1), D(2028, 6, 30), 182, "3849.35"),
    ]


def test_a_fixed_365_day_year_when_configured() -> None:
    """2052 × 366 / 365 = 2057.621… → 2057.62 when every year is divided by 365."""
    result = calculate(
        person(segment=3, first_residence_on=D(2026, 1, 1)), D(2028, 1, 1), D(2028, 12, 31),
        settings=RuleSettings(compensation_days_per_year=365),
    )  # fmt: skip
    assert lines(result) == [
        (2028, "rate_7_and_over", "2052.00", D(2028, 1, 1), D(2028, 12, 31), 366, "2057.62")
    ]


def test_a_seventh_birthday_splits_the_period() -> None:
    """Born 10.4.2018: under 7 for 1.1.–9.4.2025 (99 days: 2741 × 99 / 365 = 743.449… → 743.45), 7 and over
    from the birthday to 30.6. (82 days: 2052 × 82 / 365 = 460.997… → 461.00); no supplement for a child."""
    child = person(date_of_birth=D(2018, 4, 10), first_residence_on=D(2024, 9, 1))
    result = calculate(child, D(2025, 1, 1), D(2025, 6, 30))
    assert lines(result) == [
        (2025, "rate_under_7", "2741.00", D(2025, 1, 1), D(2025, 4, 9), 99, "743.45"),
        (2025, "rate_7_and_over", "2052.00", D(2025, 4, 10), D(2025, 6, 30), 82, "461.00"),
    ]


def test_an_eighteenth_birthday_in_the_first_year_starts_the_supplement() -> None:
    """Born 1.5.2007, arrived 1.3.2025: the supplement from 1.5.2025 (245 days to 31.12.: 7741 × 245 / 365 =
    5196.013… → 5196.01)."""
    result = calculate(person(date_of_birth=D(2007, 5, 1)), D(2025, 1, 1), D(2025, 12, 31))
    assert lines(result)[1] == (
        2025,
        "rate_first_year_adult",
        "7741.00",
        D(2025, 5, 1),
        D(2025, 12, 31),
        245,
        "5196.01",
    )


def test_a_new_rate_row_splits_the_period() -> None:
    """A (hypothetical) decree raises the 7-and-over rate to 2100 from 1.7.2025: 181 days at 2052
    (1017.567… → 1017.57) and 184 days at 2100 (1058.630… → 1058.63). The first year ended in 2023."""
    rates = [*RATES_2025, rules.Rate(rules.RATE_7_AND_OVER, D(2025, 7, 1), Decimal("2100.00"))]
    result = calculate(
        person(segment=3, first_residence_on=D(2023, 1, 1)), D(2025, 1, 1), D(2025, 12, 31), rates
    )
    assert lines(result) == [
        (2025, "rate_7_and_over", "2052.00", D(2025, 1, 1), D(2025, 6, 30), 181, "1017.57"),
        (2025, "rate_7_and_over", "2100.00", D(2025, 7, 1), D(2025, 12, 31), 184, "1058.63"),
    ]


def test_a_period_over_new_year_gives_a_line_per_year_with_its_own_divisor() -> None:
    """Arrived 1.10.2027: 1.11.–31.12.2027 is 61 days of a 365-day year (342.94 and 1293.70), 1.1.–29.2.2028
    60 days of a 366-day year (336.39 and 1269.02)."""
    rates = [rules.Rate(r.kind, D(2027, 1, 1), r.amount_per_year) for r in RATES_2025]
    result = calculate(person(first_residence_on=D(2027, 10, 1)), D(2027, 11, 1), D(2028, 2, 29), rates)
    assert [(row[0], row[1], row[5], row[6]) for row in lines(result)] == [
        (2027, "rate_7_and_over", 61, "342.94"),
        (2027, "rate_first_year_adult", 61, "1293.70"),
        (2028, "rate_7_and_over", 60, "336.39"),
        (2028, "rate_first_year_adult", 60, "1269.02"),
    ]  # fmt: skip


def test_days_before_the_first_rate_row_are_counted_not_calculated() -> None:
    result = calculate(person(first_residence_on=D(2024, 7, 1)), D(2024, 7, 1), D(2025, 1, 31))
    assert result.days == 215
    assert result.days_without_rate == 184  # 1.7.–31.12.2024: no row before 1.1.2025
    assert {line.activity_year for line in result.lines} == {2025}


def test_outside_the_window_nothing_is_calculated() -> None:
    assert calculate(PROTECTED, D(2027, 3, 1), D(2027, 12, 31)).lines == []
    closed = rules.compensation_window(person(permit_type="work"), Basis.CALCULATED)
    assert (
        rules.calculated_compensation(closed, D(1990, 1, 1), D(2025, 1, 1), D(2025, 12, 31), RATES_2025).lines
        == []
    )


def test_rounding_is_half_up_to_the_cent() -> None:
    assert rules.pro_rata(Decimal("1.825"), 1, 2025) == Decimal("0.01")  # exactly 0.005
    assert rules.pro_rata(Decimal("1.824"), 1, 2025) == Decimal("0.00")


# --- no day twice, and the §70 deadline ------------------------------------------------------------


@pytest.mark.parametrize(
    ("covered", "expected"),
    [
        case("nothing claimed yet", [], [(D(2025, 1, 1), D(2025, 12, 31))]),
        case("the first half claimed", [(D(2025, 1, 1), D(2025, 6, 30))], [(D(2025, 7, 1), D(2025, 12, 31))]),
        case("a hole in the middle", [(D(2025, 3, 1), D(2025, 3, 31)), (D(2024, 1, 1), D(2024, 12, 31))],
             [(D(2025, 1, 1), D(2025, 2, 28)), (D(2025, 4, 1), D(2025, 12, 31))]),
        case("everything claimed", [(D(2024, 12, 1), D(2026, 1, 31))], []),
    ],
)  # fmt: skip
def test_uncovered_days(covered: list[tuple[date, date]], expected: list[tuple[date, date]]) -> None:
    assert rules.uncovered(D(2025, 1, 1), D(2025, 12, 31), covered) == expected


@pytest.mark.parametrize(
    ("on", "days", "expected"),
    [
        case("1.9.2027, 120 days ahead is 30.12.: 2025's deadline 31.12.2027 not yet near", D(2027, 9, 1), 120, []),
        case("2.9.2027: 2025's deadline is exactly 120 days ahead", D(2027, 9, 2), 120, [2025]),
        case("3.9.2027: and within them", D(2027, 9, 3), 120, [2025]),
        case("31.12.2027: the deadline day itself still warns", D(2027, 12, 31), 120, [2025]),
        case("1.1.2028: 2025's deadline passed, 2026's is a year away", D(2028, 1, 1), 120, []),
        case("a year's warning: 1.1.2027 warns of 2025", D(2027, 1, 1), 365, [2025]),
    ],
)  # fmt: skip
def test_claim_years_warned(on: date, days: int, expected: list[int]) -> None:
    assert list(rules.claim_years_warned(on, RuleSettings(claim_deadline_warning_days=days))) == expected
    for year in expected:
        assert rules.claim_deadline_of_year(year) == rules.claim_deadline(D(year, 6, 1))
