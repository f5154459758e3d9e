"""Statutory date and eligibility rules (681/2023 as amended by 322/2024 and 1100/2024; decrees 869/2024,
872/2024, 874/2024), in one pure module: no database, no HTTP, no clock — callers pass the dates.

Each function names its section. Items the specification marks *unverified* are parameters with
defaults, not constants buried in code (see RuleSettings).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


def add_months(day: date, months: int) -> date:
    """Calendar months; the 31st becomes the month's last day (31.1. + 1 month = 28./29.2.)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


class AssessmentGround(StrEnum):
    """Why the municipality must assess someone (§14(1), §14(6), §9)."""

    UNEMPLOYED_JOBSEEKER = "unemployed_jobseeker"  # the employment authority assesses (§3)
    INTERNATIONAL_PROTECTION = "international_protection"  # and other §2(3–4) persons
    CHILD_HOME_CARE_ALLOWANCE = "child_home_care_allowance"
    SOCIAL_ASSISTANCE = "social_assistance"  # non-temporary
    UNACCOMPANIED_MINOR = "unaccompanied_minor"  # §2(6)
    TRAFFICKING_VICTIM = "trafficking_victim"  # also after three years, §14(6)
    REQUEST_OR_REFERRAL = "request_or_referral"  # asks, or referred by another authority (§9), and needs it


ELIGIBILITY_YEARS = 3  # §14(1): the first permit, card or registration is at most three years old


def assessment_window_ends(first_permit: date) -> date:
    """§14(1): the last day on which the first residence permit / card / registration is ≤ 3 years old."""
    return add_years(first_permit, ELIGIBILITY_YEARS)


def must_assess(first_permit: date | None, grounds: set[AssessmentGround], on: date) -> bool:
    """§14(1) and §14(6): a ground applies and the permit is recent — trafficking victims at any time."""
    if AssessmentGround.TRAFFICKING_VICTIM in grounds:
        return True
    if not grounds or first_permit is None:
        return False
    return on <= assessment_window_ends(first_permit)


def plan_deadline(first_permit: date) -> date:
    """§20: a plan is drawn up without delay after the assessment and at the latest three years from
    the first permit, card or registration."""
    return add_years(first_permit, 3)


def service_guidance_deadline(plan_made: date) -> date:
    """§20: the client is guided to each agreed service within one month of the plan."""
    return add_months(plan_made, 1)


def next_review_due(plan_or_last_review: date) -> date:
    """§22: the plan is reviewed at least every six months (and on a material change or on request)."""
    return add_months(plan_or_last_review, 6)


@dataclass(frozen=True)
class RuleSettings:
    """Parameters the specification could not confirm from the law's text (*unverified*), and the
    municipality's own targets where the law names no number (defaults, not law)."""

    # §23: the seed says an extension is granted "one year at a time"; the act only caps the total.
    extension_step_years: int | None = None
    # §14(2) says "without delay" and names no number of days: this is the municipality's own target.
    assessment_target_days: int = 14
    # §20: how long before the three-year limit the worklist starts warning (the municipality's choice).
    three_year_warning_days: int = 90
    # A transferred client's plan is reviewed by the receiving authority; the law sets no time limit.
    transfer_review_months: int = 1


MAX_FIRST_PLAN_YEARS = 1  # §23
MAX_PLANS_YEARS = 2  # §23: all plans together, from the start of the first plan
MAX_EXTENSION_YEARS = (
    2  # §23: low education, multi-sector needs, part-time while on child home-care allowance
)
SELF_STUDY_UNDER_25_YEARS = 1  # §31


def first_plan_latest_end(start: date) -> date:
    """§23: the first plan lasts at most one year."""
    return add_years(start, MAX_FIRST_PLAN_YEARS)


def plans_latest_end(
    first_plan_start: date,
    extension_years: int = 0,
    pause_days: int = 0,
    under_25_self_study: bool = False,
    settings: RuleSettings | None = None,
) -> date:
    """§23 (and §31): plans end at most two years from the first plan's start; extendable by at most two
    more years for a justified reason, plus the length of temporary pauses (illness, disability,
    pregnancy or parental leave); under-25s in self-study get one more year."""
    settings = settings or RuleSettings()
    if not 0 <= extension_years <= MAX_EXTENSION_YEARS:
        raise ValueError(f"an extension is 0–{MAX_EXTENSION_YEARS} years (§23)")
    if settings.extension_step_years and extension_years % settings.extension_step_years:
        raise ValueError(f"extensions are granted {settings.extension_step_years} year(s) at a time")
    if pause_days < 0:
        raise ValueError("a pause cannot be negative")
    years = MAX_PLANS_YEARS + extension_years + (SELF_STUDY_UNDER_25_YEARS if under_25_self_study else 0)
    return date.fromordinal(add_years(first_plan_start, years).toordinal() + pause_days)


NO_SHOW_FEE_MAX = Decimal("56.70")  # §32a


def no_show_fee_allowed(announced_when_booked: bool, born: date | None, appointment: date) -> bool:
    """§32a: a fee for a missed appointment only if it was announced when booking, never to under-18s."""
    if not announced_when_booked or born is None:
        return False
    return add_years(born, 18) <= appointment


def compensation_window_ends(first_municipality_of_residence: date, quota_refugee_family: bool) -> date:
    """§§61–62: calculated compensation for two years from the first municipality of residence, three
    years for quota refugees and their families."""
    return add_years(first_municipality_of_residence, 3 if quota_refugee_family else 2)


def social_assistance_compensation_ends(first_municipality_of_residence: date) -> date:
    """§63: social assistance is compensated for at most one year."""
    return add_years(first_municipality_of_residence, 1)


def claim_deadline(activity_day: date) -> date:
    """§70: the claim must reach KEHA at the latest two years after the end of the calendar year in which
    the activity took place."""
    return date(activity_day.year + 2, 12, 31)


RETENTION_YEARS = 4  # §77


def deletion_due(relationship_ended: date) -> date:
    """§77: client data is deleted four years after the client relationship ends, unless it is still
    needed for a pending matter (the caller decides that)."""
    return add_years(relationship_ended, RETENTION_YEARS)


# --- Deadlines on the officers' worklists ---------------------------------------------------------
# The worklists (app/domain/worklist.py) show every item below with its due date; a due date that has
# passed makes the item overdue. Where the law says "without delay" or names no time at all, the number
# is the municipality's own target from RuleSettings, and the docstring says so.

REVIEW_HORIZON_DAYS = 30  # §22: reviews falling due within this many days are listed (and overdue ones)
PLAN_ENDING_HORIZON_DAYS = 30  # §23: plans ending within this many days are listed


def add_days(day: date, days: int) -> date:
    return date.fromordinal(day.toordinal() + days)


def is_overdue(due: date, on: date) -> bool:
    """A deadline is missed once its day has passed; on the due day itself there is still time."""
    return due < on


def assessment_due(known_on: date, settings: RuleSettings | None = None) -> date:
    """§14(2): the assessment starts without delay once the municipality learns of the person. The law
    names no number of days: the due date is the municipality's own target
    (RuleSettings.assessment_target_days, 14 days unless configured), not a statutory limit."""
    settings = settings or RuleSettings()
    return add_days(known_on, settings.assessment_target_days)


def plan_due(planned_plan_date: date | None, assessed_on: date, first_permit: date | None) -> date:
    """§20: the plan is drawn up without delay after the assessment — by the plan date agreed in the
    assessment, or at once when none was agreed — and at the latest three years from the first permit."""
    due = planned_plan_date or assessed_on
    if first_permit is not None:
        due = min(due, plan_deadline(first_permit))
    return due


def three_year_warning_starts(first_permit: date, settings: RuleSettings | None = None) -> date:
    """§20: the plan is drawn up at the latest three years from the first permit, card or registration;
    the worklist warns RuleSettings.three_year_warning_days (90 unless configured) before that day."""
    settings = settings or RuleSettings()
    return add_days(plan_deadline(first_permit), -settings.three_year_warning_days)


def latest_start_within(months: int, cutoff: date) -> date:
    """The last day d with add_months(d, months) <= cutoff: turns a deadline rule into a bound that a
    database query can compare a stored start date with. Month ends make several starts share one
    deadline (29.2.2024 and 28.2.2024 + 36 months are both 28.2.2027), so it steps past those."""
    day = add_months(cutoff, -months)
    while add_months(add_days(day, 1), months) <= cutoff:
        day = add_days(day, 1)
    return day


def first_permits_warned_on(on: date, settings: RuleSettings | None = None) -> date:
    """§20: the latest first-permit date whose three-year limit is already within the warning period on
    `on` (or passed): exactly the permits p with three_year_warning_starts(p) <= on."""
    settings = settings or RuleSettings()
    return latest_start_within(36, add_days(on, settings.three_year_warning_days))


def plan_starts_review_due_by(cutoff: date) -> date:
    """§22: the latest plan start whose first six-monthly review (next_review_due) falls on or before
    `cutoff`; for a plan in force whose next review date was never recorded."""
    return latest_start_within(6, cutoff)


def review_horizon(on: date) -> date:
    """§22: reviews due on or before this day are on the worklist (REVIEW_HORIZON_DAYS ahead)."""
    return add_days(on, REVIEW_HORIZON_DAYS)


def plan_ending_horizon(on: date) -> date:
    """§23: plans ending on or before this day are on the worklist (PLAN_ENDING_HORIZON_DAYS ahead), so a
    follow-up plan, an extension with a statutory reason, or the ending can be prepared in time."""
    return add_days(on, PLAN_ENDING_HORIZON_DAYS)


def transfer_review_due(transferred_on: date, settings: RuleSettings | None = None) -> date:
    """RULES.md §§16–24 (transfers): when a client moves between the municipality and the employment
    authority, the receiving authority reviews the plan. The law sets no time limit: the due date
    (RuleSettings.transfer_review_months, one month unless configured) is the municipality's own target."""
    settings = settings or RuleSettings()
    return add_months(transferred_on, settings.transfer_review_months)


# --- Eligibility tests of plan duration (§23, §31), for the plan forms -----------------------------


def under_25(born: date | None, on: date) -> bool:
    """§31: the extra year for self-directed studies is for clients under 25 (on the day it applies).
    An unknown date of birth does not show the client is under 25."""
    return born is not None and on < add_years(born, 25)


def plans_end_allowed(
    ends_on: date,
    first_plan_start: date,
    *,
    extension_reason: bool,
    pause_days: int = 0,
    under_25_self_study: bool = False,
) -> bool:
    """§23: plans end at most two years from the first plan's start (plus pauses and the §31 year);
    beyond that only with a statutory reason for an extension, and by at most two more years."""
    years = MAX_EXTENSION_YEARS if extension_reason else 0
    return ends_on <= plans_latest_end(first_plan_start, years, pause_days, under_25_self_study)
