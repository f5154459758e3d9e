"""Statutory date and eligibility rules (681/2023 as amended by 322/2024 and 1100/2024; decrees 869/2024,
872/2024, 874/2024), in one pure module: no database, no HTTP, no clock — callers pass the dates.

Each function names its section. Items the specification marks *unverified* are parameters with
defaults, not constants buried in code (see RuleSettings).
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any


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


class Section14(StrEnum):
    """What §14 says of one person on a given day (the outreach worklist's eligibility column)."""

    MUST_ASSESS = "must_assess"  # a ground applies and the first permit is at most three years old
    TRAFFICKING_NO_LIMIT = "trafficking_no_limit"  # §14(6): a trafficking victim, at any time
    EMPLOYMENT_AUTHORITY = "employment_authority"  # §3: an unemployed jobseeker, assessed by the TE office
    WINDOW_ENDED = "window_ended"  # a ground applies, but the first permit is over three years old
    PERMIT_DATE_UNKNOWN = "permit_date_unknown"  # a ground applies; the three years cannot be shown yet
    NO_GROUND = "no_ground"  # nothing on record obliges the municipality (it may still offer the service)


@dataclass(frozen=True)
class Section14Eligibility:
    verdict: Section14
    window_ends: date | None  # the last day the first permit is at most three years old (§14(1))
    days_left: int | None  # days from `on` to window_ends (0 on the last day); None without a window

    @property
    def must_assess(self) -> bool:
        """The municipality (or, for a jobseeker, the employment authority) must assess the person."""
        return self.verdict in (
            Section14.MUST_ASSESS,
            Section14.TRAFFICKING_NO_LIMIT,
            Section14.EMPLOYMENT_AUTHORITY,
        )


def section_14_eligibility(
    first_permit: date | None, grounds: Iterable[AssessmentGround], on: date
) -> Section14Eligibility:
    """§14(1), §14(6), §3 and §9: whether someone on the outreach list must be assessed on `on`.

    A trafficking victim is assessed also after three years (§14(6)). Every other ground — international
    protection or another §2(3–4) person, child home-care allowance, non-temporary social assistance, an
    unaccompanied minor, a request or a referral by another authority (§9) — applies while the first
    residence permit, card or registration is at most three years old: up to and including the day three
    calendar years after it (assessment_window_ends). An unemployed jobseeker is assessed by the employment
    authority (§3), so that ground alone is not the municipality's duty. The same answer as must_assess(),
    with the reason and the window's last day for the worklist."""
    found = set(grounds)
    window_ends = assessment_window_ends(first_permit) if first_permit is not None else None
    days_left = (window_ends - on).days if window_ends is not None else None
    if AssessmentGround.TRAFFICKING_VICTIM in found:
        return Section14Eligibility(Section14.TRAFFICKING_NO_LIMIT, window_ends, days_left)
    if not found:
        return Section14Eligibility(Section14.NO_GROUND, window_ends, days_left)
    if window_ends is None:
        return Section14Eligibility(Section14.PERMIT_DATE_UNKNOWN, None, None)
    if on > window_ends:
        return Section14Eligibility(Section14.WINDOW_ENDED, window_ends, days_left)
    if found == {AssessmentGround.UNEMPLOYED_JOBSEEKER}:
        return Section14Eligibility(Section14.EMPLOYMENT_AUTHORITY, window_ends, days_left)
    return Section14Eligibility(Section14.MUST_ASSESS, window_ends, days_left)


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
    # --- compensation (§§59–71): what RULES.md does not settle (see the compensation block below) ---
    # §64: reception preparation is compensated for quota refugees and their families (the seed describes
    # it in the quota-refugee process); False extends it to every compensated group.
    reception_preparation_quota_only: bool = True
    # §68: RULES.md names no period for trafficking victims' special-need services (None: no time limit).
    trafficking_services_years: int | None = None
    # Interpretation costs: RULES.md names neither a section nor a period (None: no time limit).
    interpretation_cost_years: int | None = None
    # Costs of the category "other" follow the calculated-compensation window (False: never included in a
    # claim automatically; the officer decides with KEHA).
    other_costs_in_calculated_window: bool = True
    # Calculated compensation per day is the yearly rate divided by the days of that calendar year (365 or
    # 366); a number here divides by it every year instead (e.g. 365).
    compensation_days_per_year: int | None = None
    # §70: the worklist warns this many days before a calendar year's claim deadline (our own choice).
    claim_deadline_warning_days: int = 120


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


# --- Compensation to the municipality (Chapter 8, §§59–71; decree 872/2024) -------------------------
# Costs and compensation claims (process 3.4.12). Who is within compensation, for which period, and the
# calculated compensation of a period. The periods count from the first municipality of residence
# (client.first_residence_on). A window's last_day is the last compensated day: "two years from
# 1.4.2025" is 1.4.2025–31.3.2027 (compensation_window_ends above gives 1.4.2027, the first day no longer
# compensated). Who belongs to which group (§2(3–4) as RULES.md summarises it), decided here:
#   * quota refugees — segment 3 or the permit type quota_refugee — 3 years (§§61–62);
#   * a family member of a quota refugee — permit type "family ties" and a family link (either way,
#     any relation) to a quota refugee client — 3 years, like the family they joined;
#   * international or temporary protection, victims of trafficking, and a family member (permit type
#     "family ties") linked to one of them — 2 years;
#   * work, study, EU registration, residence card (EU citizen's family) — not compensated;
#   * no permit type, the type "other", or "family ties" without such a link — cannot tell (check UMA).
# Unverified items are RuleSettings parameters (reception_preparation_quota_only,
# trafficking_services_years, interpretation_cost_years, other_costs_in_calculated_window,
# compensation_days_per_year, claim_deadline_warning_days).


class Basis(StrEnum):
    """What is compensated: calculated compensation, or an actual cost of a category (the values are those
    of app.db.costs.CostCategory; this module names them without importing the models)."""

    CALCULATED = "calculated"  # §§61–62
    SOCIAL_ASSISTANCE = "cost_social_assistance"  # §63
    RECEPTION_PREPARATION = "cost_reception_preparation"  # §64
    SPECIAL_COSTS = "cost_special"  # §65
    TRAFFICKING_VICTIM = "cost_trafficking_victim"  # §68
    UNACCOMPANIED_MINOR = "cost_unaccompanied_minor"  # §69
    INTERPRETATION = "cost_interpretation"  # no section in RULES.md
    OTHER = "cost_other"  # no section


BASIS_SECTIONS: dict[Basis, str | None] = {
    Basis.CALCULATED: "61–62",
    Basis.SOCIAL_ASSISTANCE: "63",
    Basis.RECEPTION_PREPARATION: "64",
    Basis.SPECIAL_COSTS: "65",
    Basis.TRAFFICKING_VICTIM: "68",
    Basis.UNACCOMPANIED_MINOR: "69",
    Basis.INTERPRETATION: None,
    Basis.OTHER: None,
}


class CompensationGroup(StrEnum):
    QUOTA_REFUGEE = "quota_refugee"  # and their families: 3 years (§§61–62)
    PROTECTION = "protection"  # international or temporary protection, and their families: 2 years
    TRAFFICKING_VICTIM = "trafficking_victim"  # 2 years; special-need services (§68)
    NOT_COMPENSATED = "not_compensated"  # work, study, EU registration, residence card
    UNKNOWN = "unknown"


class Eligibility(StrEnum):
    YES = "yes"
    NO = "no"
    CANNOT_TELL = "cannot_tell"


class Why(StrEnum):
    """Why a window is closed or cannot be told (the domain names each in a translated message)."""

    NO_FIRST_RESIDENCE = "no_first_residence"
    NO_PERMIT_TYPE = "no_permit_type"
    OTHER_PERMIT = "other_permit"
    FAMILY_LINK_MISSING = "family_link_missing"
    NOT_COMPENSATED_PERMIT = "not_compensated_permit"
    NO_DATE_OF_BIRTH = "no_date_of_birth"
    NOT_UNACCOMPANIED = "not_unaccompanied"
    NOT_TRAFFICKING_VICTIM = "not_trafficking_victim"
    NOT_QUOTA_REFUGEE = "not_quota_refugee"
    NO_SECTION = "no_section"
    BEFORE_WINDOW = "before_window"
    AFTER_WINDOW = "after_window"
    MOVED_AWAY = "moved_away"


QUOTA_REFUGEE_SEGMENT = 3
PROTECTION_PERMITS = frozenset({"international_protection", "temporary_protection"})
TRAFFICKING_PERMIT = "trafficking_victim"
FAMILY_PERMIT = "family"
NOT_COMPENSATED_PERMITS = frozenset({"work", "study", "eu_registration", "residence_card"})
QUOTA_REFUGEE_YEARS = 3  # §§61–62
CALCULATED_YEARS = 2  # §§61–62
SOCIAL_ASSISTANCE_YEARS = 1  # §63
RECEPTION_PREPARATION_MONTHS = 4  # §64
RECEPTION_PREPARATION_LONGER_MONTHS = 8  # §64, for a good reason
SPECIAL_COSTS_YEARS = 10  # §65
UNACCOMPANIED_UNTIL_AGE = 23  # §69


@dataclass(frozen=True)
class CompensationPerson:
    """What the compensation rules need to know of a client (no names)."""

    segment: int
    permit_type: str | None  # a PermitType value
    first_residence_on: date | None
    date_of_birth: date | None = None
    unaccompanied_minor: bool = False
    # A family link (either way) to a quota refugee client / to a client with international or temporary
    # protection or a victim of trafficking.
    family_of_quota_refugee: bool = False
    family_of_protected: bool = False
    # The last day the person lived in the municipality, when they moved away or died (calculated
    # compensation is the municipality of residence's): the end date of such a client relationship.
    left_on: date | None = None


def is_quota_refugee(segment: int, permit_type: str | None) -> bool:
    """§§61–62: a quota refugee is segment 3 (the reference architecture's quota-refugee path) or holds
    the permit type quota_refugee."""
    return segment == QUOTA_REFUGEE_SEGMENT or permit_type == "quota_refugee"


def is_protected(permit_type: str | None) -> bool:
    """§2(3): international or temporary protection, or a victim of trafficking (for the family rule)."""
    return permit_type in PROTECTION_PERMITS or permit_type == TRAFFICKING_PERMIT


def compensation_group(person: CompensationPerson) -> tuple[CompensationGroup, Why | None]:
    """§§61–62 and §2(3–4): which compensated group the person belongs to, or why it cannot be told.
    A family member (permit type "family ties") follows the person they joined, known by a family link."""
    permit = person.permit_type
    if is_quota_refugee(person.segment, permit):
        return CompensationGroup.QUOTA_REFUGEE, None
    if permit in PROTECTION_PERMITS:
        return CompensationGroup.PROTECTION, None
    if permit == TRAFFICKING_PERMIT:
        return CompensationGroup.TRAFFICKING_VICTIM, None
    if permit == FAMILY_PERMIT:
        if person.family_of_quota_refugee:
            return CompensationGroup.QUOTA_REFUGEE, None
        if person.family_of_protected:
            return CompensationGroup.PROTECTION, None
        return CompensationGroup.UNKNOWN, Why.FAMILY_LINK_MISSING
    if permit in NOT_COMPENSATED_PERMITS:
        return CompensationGroup.NOT_COMPENSATED, Why.NOT_COMPENSATED_PERMIT
    if permit is None:
        return CompensationGroup.UNKNOWN, Why.NO_PERMIT_TYPE
    return CompensationGroup.UNKNOWN, Why.OTHER_PERMIT


@dataclass(frozen=True)
class Window:
    """The compensated period of one basis for one person. YES: from first_day to last_day (None: no
    end); NO and CANNOT_TELL say why."""

    basis: Basis
    eligibility: Eligibility
    first_day: date | None = None
    last_day: date | None = None
    why: Why | None = None

    @property
    def section(self) -> str | None:
        return BASIS_SECTIONS[self.basis]

    def on(self, day: date) -> tuple[Eligibility, Why | None]:
        """Whether `day` is compensated under this window."""
        if self.eligibility is not Eligibility.YES:
            return self.eligibility, self.why
        if self.first_day is not None and day < self.first_day:
            return Eligibility.NO, Why.BEFORE_WINDOW
        if self.last_day is not None and day > self.last_day:
            return Eligibility.NO, Why.AFTER_WINDOW
        return Eligibility.YES, None


def _years_window(start: date, years: int | None) -> date | None:
    """The last day of `years` years from `start` (None: no end)."""
    return None if years is None else add_days(add_years(start, years), -1)


def _category_rule(
    person: CompensationPerson, basis: Basis, group: CompensationGroup, settings: RuleSettings
) -> Window | None:
    """A category's own condition on the person, checked before the dates (None: it is met or pends)."""
    if basis is Basis.UNACCOMPANIED_MINOR and not person.unaccompanied_minor:
        return Window(basis, Eligibility.NO, why=Why.NOT_UNACCOMPANIED)
    if basis is Basis.TRAFFICKING_VICTIM and group is not CompensationGroup.TRAFFICKING_VICTIM:
        if group is CompensationGroup.UNKNOWN and person.permit_type != FAMILY_PERMIT:
            return None  # the permit type is not known: cannot tell (below)
        return Window(basis, Eligibility.NO, why=Why.NOT_TRAFFICKING_VICTIM)
    if (
        basis is Basis.RECEPTION_PREPARATION
        and settings.reception_preparation_quota_only
        and group not in (CompensationGroup.QUOTA_REFUGEE, CompensationGroup.UNKNOWN)
    ):
        return Window(basis, Eligibility.NO, why=Why.NOT_QUOTA_REFUGEE)
    if basis is Basis.OTHER and not settings.other_costs_in_calculated_window:
        return Window(basis, Eligibility.CANNOT_TELL, why=Why.NO_SECTION)
    return None


def compensation_window(
    person: CompensationPerson,
    basis: Basis,
    settings: RuleSettings | None = None,
    *,
    longer_preparation: bool = False,
) -> Window:
    """The compensated period of `basis` for the person:
    §§61–62 calculated compensation 2 years from the first municipality of residence, 3 for quota
    refugees and their families (ending earlier when the person moved away); §63 social assistance at
    most 1 year; §64 reception preparation at most 4 months before arrival, 8 for a good reason
    (`longer_preparation`), up to the arrival day; §65 special costs up to 10 years; §68 trafficking
    victims' special-need services (RuleSettings.trafficking_services_years); §69 unaccompanied minors
    until they turn 23; interpretation (RuleSettings.interpretation_cost_years); other costs as
    calculated compensation (RuleSettings.other_costs_in_calculated_window). A missing first municipality
    of residence is "cannot tell", never "no"."""
    settings = settings or RuleSettings()
    group, why = compensation_group(person)
    if group is CompensationGroup.NOT_COMPENSATED:
        return Window(basis, Eligibility.NO, why=why)
    special = _category_rule(person, basis, group, settings)
    if special is not None:
        return special
    if group is CompensationGroup.UNKNOWN:
        return Window(basis, Eligibility.CANNOT_TELL, why=why)
    first = person.first_residence_on
    if first is None:
        return Window(basis, Eligibility.CANNOT_TELL, why=Why.NO_FIRST_RESIDENCE)
    calculated_years = QUOTA_REFUGEE_YEARS if group is CompensationGroup.QUOTA_REFUGEE else CALCULATED_YEARS
    last: date | None
    if basis in (Basis.CALCULATED, Basis.OTHER):
        last = _years_window(first, calculated_years)
        if basis is Basis.CALCULATED and person.left_on is not None and last is not None:
            if person.left_on < first:
                return Window(basis, Eligibility.NO, why=Why.MOVED_AWAY)
            last = min(last, person.left_on)
    elif basis is Basis.SOCIAL_ASSISTANCE:
        last = _years_window(first, SOCIAL_ASSISTANCE_YEARS)
    elif basis is Basis.RECEPTION_PREPARATION:
        months = RECEPTION_PREPARATION_LONGER_MONTHS if longer_preparation else RECEPTION_PREPARATION_MONTHS
        return Window(basis, Eligibility.YES, add_months(first, -months), first)
    elif basis is Basis.SPECIAL_COSTS:
        last = _years_window(first, SPECIAL_COSTS_YEARS)
    elif basis is Basis.TRAFFICKING_VICTIM:
        last = _years_window(first, settings.trafficking_services_years)
    elif basis is Basis.UNACCOMPANIED_MINOR:
        if person.date_of_birth is None:
            return Window(basis, Eligibility.CANNOT_TELL, why=Why.NO_DATE_OF_BIRTH)
        last = add_days(add_years(person.date_of_birth, UNACCOMPANIED_UNTIL_AGE), -1)
    else:  # interpretation
        last = _years_window(first, settings.interpretation_cost_years)
    if last is not None and last < first:
        return Window(basis, Eligibility.NO, why=Why.AFTER_WINDOW)
    return Window(basis, Eligibility.YES, first, last)


def compensation_windows(person: CompensationPerson, settings: RuleSettings | None = None) -> list[Window]:
    """Every basis's window, in the order of the sections (§64 with the four-month limit)."""
    return [compensation_window(person, basis, settings) for basis in Basis]


def eligible_on(
    person: CompensationPerson,
    basis: Basis,
    day: date,
    settings: RuleSettings | None = None,
    *,
    longer_preparation: bool = False,
) -> tuple[Eligibility, Why | None]:
    """Whether `day` is compensated for the person under `basis` (see compensation_window)."""
    return compensation_window(person, basis, settings, longer_preparation=longer_preparation).on(day)


# Calculated compensation (§61, decree 872/2024): euros per year, paid per day in the window, by the age
# on each day; an adult gets the first-year supplement in the first 12 months of the window.
RATE_UNDER_7 = "rate_under_7"  # values of app.db.costs.RateKind
RATE_7_AND_OVER = "rate_7_and_over"
RATE_FIRST_YEAR_ADULT = "rate_first_year_adult"
BASE_RATES = (RATE_UNDER_7, RATE_7_AND_OVER)
CHILD_RATE_AGE = 7
ADULT_AGE = 18
FIRST_YEAR_MONTHS = 12
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Rate:
    kind: str  # RATE_UNDER_7, RATE_7_AND_OVER or RATE_FIRST_YEAR_ADULT
    valid_from: date
    amount_per_year: Decimal


@dataclass(frozen=True)
class CalculatedLine:
    """Days of one calendar year at one rate (one rate row of one kind), consecutive."""

    activity_year: int
    rate_kind: str
    rate: Decimal  # euros per year
    rate_valid_from: date
    first_day: date
    last_day: date
    days: int
    amount: Decimal


@dataclass(frozen=True)
class Calculation:
    lines: list[CalculatedLine]
    days: int  # days of the period within the window
    days_without_rate: int  # days no rate row covers (nothing is calculated for them)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def days_in_year(year: int, settings: RuleSettings | None = None) -> int:
    settings = settings or RuleSettings()
    return settings.compensation_days_per_year or (366 if calendar.isleap(year) else 365)


def pro_rata(rate_per_year: Decimal, days: int, year: int, settings: RuleSettings | None = None) -> Decimal:
    """§61: a yearly rate for `days` days of `year`, to the cent (half up)."""
    return (rate_per_year * days / days_in_year(year, settings)).quantize(CENT, rounding=ROUND_HALF_UP)


def rate_on(rates: Sequence[Rate], kind: str, day: date) -> Rate | None:
    """The rate of `kind` in force on `day`: the row with the latest valid_from on or before it."""
    valid = [r for r in rates if r.kind == kind and r.valid_from <= day]
    return max(valid, key=lambda r: r.valid_from) if valid else None


def calculated_compensation(
    window: Window,
    date_of_birth: date,
    period_first: date,
    period_last: date,
    rates: Sequence[Rate],
    settings: RuleSettings | None = None,
) -> Calculation:
    """§61 and decree 872/2024: the calculated compensation of the days of [period_first, period_last]
    inside the (YES) calculated-compensation window, per calendar year and rate: the under-7 or the
    7-and-over rate by the age on each day (a birthday splits the period), plus the first-year supplement
    for each day an adult (18 or over) is in the first 12 months of the window; the rate row in force on
    each day (a new row splits the period). Each line is rate × days / days of its year, rounded to the
    cent half up."""
    if window.eligibility is not Eligibility.YES or window.first_day is None:
        return Calculation([], 0, 0)
    start = max(window.first_day, period_first)
    end = period_last if window.last_day is None else min(window.last_day, period_last)
    if start > end:
        return Calculation([], 0, 0)
    after = add_days(end, 1)
    seventh, adult = add_years(date_of_birth, CHILD_RATE_AGE), add_years(date_of_birth, ADULT_AGE)
    first_year_ends = add_months(window.first_day, FIRST_YEAR_MONTHS)  # the first day after it
    cuts = {start, after, seventh, adult, first_year_ends, *(r.valid_from for r in rates)}
    cuts.update(date(year, 1, 1) for year in range(start.year + 1, end.year + 1))
    points = sorted(c for c in cuts if start <= c <= after)
    spans: dict[tuple[int, str, date], list[Any]] = {}  # (year, kind, valid_from) → [rate, first, last, days]
    missing = 0
    for a, following in itertools.pairwise(points):
        days = following.toordinal() - a.toordinal()
        kinds = [RATE_7_AND_OVER if a >= seventh else RATE_UNDER_7]
        if adult <= a < first_year_ends:
            kinds.append(RATE_FIRST_YEAR_ADULT)
        found = [rate_on(rates, kind, a) for kind in kinds]
        if any(rate is None for rate in found):
            missing += days
        for rate in found:
            if rate is None:
                continue
            key = (a.year, rate.kind, rate.valid_from)
            if key in spans:
                spans[key][2] = add_days(following, -1)
                spans[key][3] += days
            else:
                spans[key] = [rate.amount_per_year, a, add_days(following, -1), days]
    order = {RATE_UNDER_7: 0, RATE_7_AND_OVER: 0, RATE_FIRST_YEAR_ADULT: 1}
    lines = [
        CalculatedLine(
            year, kind, amount, valid_from, first, last, days, pro_rata(amount, days, year, settings)
        )
        for (year, kind, valid_from), (amount, first, last, days) in spans.items()
    ]
    lines.sort(key=lambda line: (line.activity_year, order[line.rate_kind], line.first_day))
    return Calculation(lines, after.toordinal() - start.toordinal(), missing)


def uncovered(first: date, last: date, covered: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """The parts of [first, last] outside every covered (first, last) range: the days of a period not yet
    in another claim, so that no day is claimed twice."""
    parts: list[tuple[date, date]] = []
    cursor = first
    for a, b in sorted(covered):
        if b < cursor or a > last:
            continue
        if a > cursor:
            parts.append((cursor, add_days(a, -1)))
        cursor = max(cursor, add_days(b, 1))
        if cursor > last:
            return parts
    if cursor <= last:
        parts.append((cursor, last))
    return parts


def claim_deadline_of_year(activity_year: int) -> date:
    """§70: the claim for a calendar year's activity reaches KEHA at the latest two years after the end
    of that year (claim_deadline for a day)."""
    return date(activity_year + 2, 12, 31)


def claim_years_warned(on: date, settings: RuleSettings | None = None) -> range:
    """§70: the calendar years whose claim deadline has not passed on `on` but falls within
    RuleSettings.claim_deadline_warning_days (120 unless configured): the worklist warns of what of them
    is not yet in a sent claim. Years whose deadline passed are left out: nothing can be claimed."""
    settings = settings or RuleSettings()
    horizon = add_days(on, settings.claim_deadline_warning_days)
    latest = horizon.year - 2 if (horizon.month, horizon.day) == (12, 31) else horizon.year - 3
    return range(on.year - 2, latest + 1)
