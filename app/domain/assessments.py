"""Assessment of competence and integration service needs (service 2; §14, decree 869/2024).

Drafts are saved as the officer goes, partially filled; only completion checks that the assessment holds
what the law asks (the nine items, who took part, data sources, the four things the client was told, the
outcome). A completed assessment is never edited in place: an amendment is a new draft (number + 1) with a
copy of the content, and completing it marks the one it amends SUPERSEDED. Refining measures (decree
869/2024 §3) are ordered from a third party and their results recorded, and can be taken into a draft.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.assessment import (
    Assessment,
    AssessmentEducation,
    AssessmentLanguageSkill,
    AssessmentStatus,
    AssessmentWork,
    Cefr,
    DataSource,
    EducationLevel,
    LanguageSkill,
    Literacy,
    MeasureStatus,
    PlanNeed,
    RefiningMeasure,
    RefiningMeasureType,
)
from app.db.base import utcnow
from app.db.client import Client
from app.db.organisation import Organisation, OrganisationType, Role, Staff, StaffRole
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, as_input, checkbox, choice, date_field, text, today, too_long
from app.domain.policy import Actor, client_scope
from app.i18n import N_, _, format_date, gettext
from app.labels import label

LANGUAGES = ("fi", "sv")  # item 2: Finnish or Swedish
MAX_ROWS = 20  # education and work rows each
TEXT_MAX = 8000
ROW_TEXT_MAX = 200  # an education row's field, a work row's occupation

# Free-text columns and their longest accepted input.
TEXT_FIELDS: dict[str, int] = {
    "literacy_note": TEXT_MAX,
    "language_note": TEXT_MAX,
    "study_and_work_skills": TEXT_MAX,
    "service_needs": TEXT_MAX,
    "service_goals": TEXT_MAX,
    "strengths": TEXT_MAX,
    "no_plan_reason": TEXT_MAX,
    "life_situation": TEXT_MAX,
    "life_situation_needs": TEXT_MAX,
    "other_needs_and_goals": TEXT_MAX,
    "county_mental_health_rehabilitation": TEXT_MAX,
    "county_employment_education": TEXT_MAX,
    "county_social_health": TEXT_MAX,
    "county_other": TEXT_MAX,
    "interpreter_name": 200,
    "county_representative": 200,
    "other_participants": 400,
}
INFORMATION_POINTS = ("told_service_goals", "told_planning", "told_rights_and_duties", "told_data_processing")

# The columns of an assessment's content, in the order of the form; an amendment copies them.
CONTENT_FIELDS = (
    "assessed_on",
    "literacy",
    "literacy_note",
    "language_note",
    "study_and_work_skills",
    "service_needs",
    "service_goals",
    "strengths",
    "plan_need",
    "no_plan_reason",
    "life_situation",
    "life_situation_needs",
    "other_needs_and_goals",
    "officer_id",
    "interpreter_language",
    "interpreter_name",
    "county_takes_part",
    "county_representative",
    "other_participants",
    "data_sources",
    *INFORMATION_POINTS,
    "planned_plan_date",
    "county_mental_health_rehabilitation",
    "county_employment_education",
    "county_social_health",
    "county_other",
)
CHILD_FIELDS = ("language_skills", "education", "work")
# What a view of an assessment shows (for the audit log: names only).
VIEW_FIELDS = (*CONTENT_FIELDS, *CHILD_FIELDS, "amendment_reason", "refining_measures", "history")

# Names of the fields, for messages and for the list of differences after a conflicting save.
FIELD_LABELS: dict[str, str] = {
    "assessed_on": N_("Date of the assessment interview"),
    "literacy": N_("1. Literacy"),
    "literacy_note": N_("Notes on literacy"),
    "language_skills": N_("2. Finnish or Swedish skills"),
    "language_note": N_("Notes on Finnish or Swedish skills"),
    "study_and_work_skills": N_("3. Study and working-life skills and readiness"),
    "service_needs": N_("4. Need for employment and education services"),
    "service_goals": N_("4. Employment and education goals"),
    "education": N_("5. Earlier education"),
    "work": N_("5. Work experience"),
    "strengths": N_("6. Special skills and other strengths"),
    "plan_need": N_("7. Need for an integration plan"),
    "no_plan_reason": N_("Why no integration plan is needed"),
    "life_situation": N_("8. Life situation"),
    "life_situation_needs": N_("8. Service needs the life situation causes"),
    "other_needs_and_goals": N_("9. Other integration needs and goals"),
    "officer_id": N_("Officer"),
    "interpreter_language": N_("Interpreter's language"),
    "interpreter_name": N_("Interpreter's name"),
    "county_takes_part": N_("The wellbeing services county takes part"),
    "county_representative": N_("The county's representative"),
    "other_participants": N_("Other participants"),
    "data_sources": N_("Data sources"),
    "told_service_goals": N_("Told the goals of the integration services"),
    "told_planning": N_("Told how integration planning works"),
    "told_rights_and_duties": N_("Told that the plan binds: the client's rights and duties"),
    "told_data_processing": N_("Told how the client's personal data is processed"),
    "planned_plan_date": N_("Planned date of the integration plan"),
    "county_mental_health_rehabilitation": N_("Mental-health and rehabilitation needs"),
    "county_employment_education": N_("Employment and education service needs"),
    "county_social_health": N_("Social and health service needs"),
    "county_other": N_("Other needs, wishes and goals"),
    "amendment_reason": N_("Reason for the amendment"),
}

# Where a refining measure's result belongs in the form: the field it is taken into.
MEASURE_TARGET: dict[RefiningMeasureType, str] = {
    RefiningMeasureType.LITERACY_CHECK: "literacy_note",
    RefiningMeasureType.LANGUAGE_LEVEL_TEST: "language_note",
    RefiningMeasureType.RECOGNITION_OF_COMPETENCE: "study_and_work_skills",
    RefiningMeasureType.STUDY_SKILLS: "study_and_work_skills",
    RefiningMeasureType.WORKING_LIFE_SKILLS: "study_and_work_skills",
    RefiningMeasureType.OTHER_MEASURE: "other_needs_and_goals",
}
PROVIDER_TYPES = (OrganisationType.SERVICE_PROVIDER, OrganisationType.WELLBEING_COUNTY)


def field_name(name: str) -> str:
    return gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name


class StaleEdit(Exception):
    """Someone saved the assessment after this form was opened."""


class NotDraft(Exception):
    """A completed or superseded assessment is not changed in place."""


# --- reading the form -----------------------------------------------------------------------------


@dataclass
class AssessmentInput:
    values: dict[str, Any]
    skills: dict[tuple[str, LanguageSkill], Cefr]
    education: list[tuple[EducationLevel, str | None, Decimal | None, str | None, bool]]
    work: list[tuple[str, Decimal | None, str | None]]
    errors: FormErrors = field(default_factory=FormErrors)


def skill_key(language: str, skill: LanguageSkill | str) -> str:
    return f"skill_{language}_{getattr(skill, 'value', skill)}"


def _years(raw: str, errors: FormErrors, key: str) -> Decimal | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value >= 100:
        errors[key] = _("Enter the years as a number, for example 3 or 2.5.")
        return None
    return value.quantize(Decimal("0.1"))


def _country(raw: str) -> str | None:
    value = raw.strip().upper()[:3]
    return value or None


def _column(lists: Mapping[str, Sequence[str]], name: str, length: int) -> list[str]:
    values = [str(v) for v in lists.get(name, [])]
    return values + [""] * (length - len(values))


def education_rows(lists: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """The posted education rows as strings, empty ones included (to show the form again)."""
    names = ("level", "field", "years", "country", "completed")
    length = max((len(lists.get(f"edu_{n}", [])) for n in names), default=0)
    columns = {n: _column(lists, f"edu_{n}", length) for n in names}
    return [{n: columns[n][i] for n in names} for i in range(min(length, MAX_ROWS))]


def work_rows(lists: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    names = ("occupation", "years", "country")
    length = max((len(lists.get(f"work_{n}", [])) for n in names), default=0)
    columns = {n: _column(lists, f"work_{n}", length) for n in names}
    return [{n: columns[n][i] for n in names} for i in range(min(length, MAX_ROWS))]


def read_form(
    data: Mapping[str, Any], lists: Mapping[str, Sequence[str]], officer_ids: Collection[uuid.UUID]
) -> AssessmentInput:
    """A draft's input: anything may be empty; only the format of what was typed is checked."""
    errors = FormErrors()
    v: dict[str, Any] = {}
    v["assessed_on"] = date_field(data, "assessed_on", errors, not_future=False)
    if v["assessed_on"] is None and "assessed_on" not in errors:
        errors["assessed_on"] = _("Enter the date of the assessment interview. A draft keeps a date too.")
    v["literacy"] = choice(data, "literacy", Literacy, errors, required=False)
    for name, length in TEXT_FIELDS.items():
        v[name] = text(data, name, length, errors)
    v["plan_need"] = choice(data, "plan_need", PlanNeed, errors, required=False)
    v["planned_plan_date"] = date_field(data, "planned_plan_date", errors, not_future=False)
    v["interpreter_language"] = text(data, "interpreter_language", 12, errors)
    v["county_takes_part"] = checkbox(data, "county_takes_part")
    for name in INFORMATION_POINTS:
        v[name] = checkbox(data, name)
    known = {s.value for s in DataSource}
    chosen = {str(s) for s in lists.get("data_sources", [])}
    if chosen - known:
        errors["data_sources"] = _("Choose data sources from the list.")
    v["data_sources"] = [s.value for s in DataSource if s.value in chosen]
    v["officer_id"] = None
    raw_officer = str(data.get("officer_id") or "").strip()
    if raw_officer:
        try:
            officer = uuid.UUID(raw_officer)
        except ValueError:
            officer = None
        if officer is None or officer not in officer_ids:
            errors["officer_id"] = _("Choose the officer from the list.")
        else:
            v["officer_id"] = officer
    if "amendment_reason" in data:
        v["amendment_reason"] = text(data, "amendment_reason", TEXT_MAX, errors)

    skills: dict[tuple[str, LanguageSkill], Cefr] = {}
    for language in LANGUAGES:
        for skill in LanguageSkill:
            key = skill_key(language, skill)
            level = choice(data, key, Cefr, errors, required=False)
            if level is not None:
                skills[(language, skill)] = level

    education: list[tuple[EducationLevel, str | None, Decimal | None, str | None, bool]] = []
    for index, row in enumerate(education_rows(lists), start=1):
        if not any(row[n].strip() for n in ("level", "field", "years", "country")):
            continue
        education_level = None
        try:
            education_level = EducationLevel(row["level"])
        except ValueError:
            errors[f"edu-{index}-level"] = _("Choose the level of education on each education row.")
        years = _years(row["years"], errors, f"edu-{index}-years")
        field_of_study = row["field"].strip()
        if len(field_of_study) > ROW_TEXT_MAX:
            errors[f"edu-{index}-field"] = too_long(ROW_TEXT_MAX, len(field_of_study))
        if education_level is not None:
            education.append(
                (
                    education_level,
                    field_of_study or None,
                    years,
                    _country(row["country"]),
                    row["completed"] != "no",
                )
            )
    work: list[tuple[str, Decimal | None, str | None]] = []
    for index, row in enumerate(work_rows(lists), start=1):
        if not any(row[n].strip() for n in ("occupation", "years", "country")):
            continue
        occupation = row["occupation"].strip()
        if not occupation:
            errors[f"work-{index}-occupation"] = _("Enter the occupation on each work experience row.")
        elif len(occupation) > ROW_TEXT_MAX:
            errors[f"work-{index}-occupation"] = too_long(ROW_TEXT_MAX, len(occupation))
        years = _years(row["years"], errors, f"work-{index}-years")
        if occupation:
            work.append((occupation, years, _country(row["country"])))
    return AssessmentInput(values=v, skills=skills, education=education, work=work, errors=errors)


def form_values(assessment: Assessment) -> dict[str, Any]:
    """The stored assessment as form input strings (children need selectinload)."""
    values: dict[str, Any] = {
        "version": assessment.version,
        **as_input(assessment, (*CONTENT_FIELDS, "amendment_reason")),
    }
    for row in assessment.language_skills:
        values[skill_key(row.language, row.skill)] = row.level.value
    return values


def _years_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def stored_education_rows(assessment: Assessment) -> list[dict[str, str]]:
    return [
        {
            "level": row.level.value,
            "field": row.field or "",
            "years": _years_text(row.years),
            "country": row.country or "",
            "completed": "yes" if row.completed else "no",
        }
        for row in assessment.education
    ]


def stored_work_rows(assessment: Assessment) -> list[dict[str, str]]:
    return [
        {"occupation": row.occupation, "years": _years_text(row.years), "country": row.country or ""}
        for row in assessment.work
    ]


# --- loading --------------------------------------------------------------------------------------

_CHILDREN = (
    selectinload(Assessment.language_skills),
    selectinload(Assessment.education),
    selectinload(Assessment.work),
)


async def load(
    db: AsyncSession, actor: Actor, assessment_id: uuid.UUID, *, children: bool = True
) -> tuple[Assessment, Client] | None:
    """The assessment and its client if the actor may read the client, else None (404)."""
    statement = (
        select(Assessment, Client)
        .join(Client, Client.id == Assessment.client_id)
        .where(Assessment.id == assessment_id, client_scope(actor))
    )
    if children:
        statement = statement.options(*_CHILDREN)
    row = (await db.execute(statement)).one_or_none()
    return (row[0], row[1]) if row else None


async def history(db: AsyncSession, client_id: uuid.UUID) -> list[Assessment]:
    """Every assessment of the client, newest first (without child rows)."""
    return list(
        (
            await db.scalars(
                select(Assessment).where(Assessment.client_id == client_id).order_by(Assessment.number.desc())
            )
        ).all()
    )


async def staff_names(db: AsyncSession, ids: Collection[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


async def for_client(db: AsyncSession, client: Client) -> list[Assessment]:
    """The client's assessments, newest first, each with `officer_name` set (for the client page)."""
    found = await history(db, client.id)
    names = await staff_names(db, [a.officer_id for a in found])
    for assessment in found:
        setattr(assessment, "officer_name", names.get(assessment.officer_id, ""))  # noqa: B010 - not a column
    return found


async def current(db: AsyncSession, client_id: uuid.UUID) -> Assessment | None:
    """The assessment in force: the latest completed one (an amended one is SUPERSEDED)."""
    return await db.scalar(
        select(Assessment)
        .options(*_CHILDREN)
        .where(Assessment.client_id == client_id, Assessment.status == AssessmentStatus.COMPLETED)
        .order_by(Assessment.number.desc())
        .limit(1)
    )


async def draft_of(db: AsyncSession, client_id: uuid.UUID) -> Assessment | None:
    return await db.scalar(
        select(Assessment)
        .where(Assessment.client_id == client_id, Assessment.status == AssessmentStatus.DRAFT)
        .order_by(Assessment.number.desc())
        .limit(1)
    )


async def officers(
    db: AsyncSession, actor: Actor, also: uuid.UUID | None = None
) -> list[tuple[uuid.UUID, str]]:
    """Who can be named as the officer: the organisation's active integration officers (and the one
    already named, even if no longer active)."""
    rows = (
        await db.execute(
            select(Staff.id, Staff.full_name)
            .join(StaffRole, StaffRole.staff_id == Staff.id)
            .where(
                Staff.organisation_id == actor.organisation_id,
                Staff.active.is_(True),
                StaffRole.role == Role.INTEGRATION_OFFICER,
            )
            .distinct()
            .order_by(Staff.full_name)
        )
    ).all()
    found = [(row[0], row[1]) for row in rows]
    ids = {i for i, _name in found}
    for extra in (actor.staff_id, also):
        if extra and extra not in ids:
            name = (await staff_names(db, [extra])).get(extra)
            if name:
                found.append((extra, name))
                ids.add(extra)
    return found


async def providers(db: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    rows = await db.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.type.in_(PROVIDER_TYPES))
        .order_by(Organisation.name)
    )
    return [(row[0], row[1]) for row in rows]


async def measures(db: AsyncSession, assessment_ids: Collection[uuid.UUID]) -> list[RefiningMeasure]:
    if not assessment_ids:
        return []
    return list(
        (
            await db.scalars(
                select(RefiningMeasure)
                .where(RefiningMeasure.assessment_id.in_(list(assessment_ids)))
                .order_by(RefiningMeasure.ordered_on, RefiningMeasure.created_at)
            )
        ).all()
    )


async def organisation_names(db: AsyncSession, ids: Collection[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def chain(assessment: Assessment, everything: Sequence[Assessment]) -> list[Assessment]:
    """The assessment and the earlier versions it amends, newest first."""
    by_id = {a.id: a for a in everything}
    found = [assessment]
    previous = assessment.previous_id
    while previous and previous in by_id and len(found) < len(everything):
        found.append(by_id[previous])
        previous = by_id[previous].previous_id
    return found


# --- changing -------------------------------------------------------------------------------------


async def start(db: AsyncSession, actor: Actor, client: Client) -> tuple[Assessment, bool]:
    """A new draft, or the client's existing draft (False: nothing was created)."""
    existing = await draft_of(db, client.id)
    if existing is not None:
        return existing, False
    number = (
        await db.scalar(select(func.max(Assessment.number)).where(Assessment.client_id == client.id))
    ) or 0
    assessment = Assessment(
        client_id=client.id,
        organisation_id=client.organisation_id,
        number=number + 1,
        status=AssessmentStatus.DRAFT,
        assessed_on=today(),
        created_by_id=actor.staff_id,
        officer_id=actor.staff_id,
        data_sources=[],
        interpreter_language=client.interpreter_language if client.interpreter_needed else None,
    )
    try:
        async with db.begin_nested():  # flushes; a concurrent start may have taken the number
            db.add(assessment)
    except IntegrityError:
        existing = await draft_of(db, client.id)
        if existing is None:
            raise
        return existing, False
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="assessment",
        object_id=assessment.id,
        fields=["number", "status", "assessed_on", "officer_id"]
        + (["interpreter_language"] if assessment.interpreter_language else []),
    )
    return assessment, True


def _skill_rows_changed(assessment: Assessment, skills: Mapping[tuple[str, LanguageSkill], Cefr]) -> bool:
    """Update the language-skill rows in place (the (language, skill) pair is unique)."""
    existing = {(row.language, row.skill): row for row in assessment.language_skills}
    changed = False
    for key, row in existing.items():
        if key not in skills:
            assessment.language_skills.remove(row)
            changed = True
        elif row.level != skills[key]:
            row.level = skills[key]
            changed = True
    for (language, skill), level in skills.items():
        if (language, skill) not in existing:
            assessment.language_skills.append(
                AssessmentLanguageSkill(language=language, skill=skill, level=level)
            )
            changed = True
    return changed


def _apply(assessment: Assessment, data: AssessmentInput, actor: Actor) -> list[str]:
    changed: list[str] = []
    values = dict(data.values)
    if values.get("officer_id") is None:
        values["officer_id"] = assessment.officer_id or actor.staff_id
    for name in (*CONTENT_FIELDS, "amendment_reason"):
        if name not in values:
            continue
        if name == "amendment_reason" and assessment.previous_id is None:
            continue
        new = values[name]
        if name == "assessed_on" and new is None:
            continue
        if getattr(assessment, name) != new:
            setattr(assessment, name, new)
            changed.append(name)
    if _skill_rows_changed(assessment, data.skills):
        changed.append("language_skills")
    current_education = [
        (row.level, row.field, row.years, row.country, row.completed) for row in assessment.education
    ]
    if current_education != data.education:
        assessment.education = [
            AssessmentEducation(level=lvl, field=fld, years=yrs, country=ctry, completed=done)
            for lvl, fld, yrs, ctry, done in data.education
        ]
        changed.append("education")
    current_work = [(row.occupation, row.years, row.country) for row in assessment.work]
    if current_work != data.work:
        assessment.work = [
            AssessmentWork(occupation=occ, years=yrs, country=ctry) for occ, yrs, ctry in data.work
        ]
        changed.append("work")
    return changed


async def save_draft(
    db: AsyncSession, actor: Actor, assessment: Assessment, seen_version: int, data: AssessmentInput
) -> list[str]:
    """Apply the form to a draft if nobody saved in between; the changed field names come back."""
    if assessment.status != AssessmentStatus.DRAFT:
        raise NotDraft
    if seen_version != assessment.version:
        raise StaleEdit
    changed = _apply(assessment, data, actor)
    if changed:
        assessment.updated_at = utcnow()  # bump the version: child rows belong to the assessment too
    try:
        await db.flush()
    except StaleDataError as error:  # saved by someone else between our read and our write
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=assessment.client_id,
            object_type="assessment",
            object_id=assessment.id,
            fields=changed,
        )
    return changed


def missing_for_completion(assessment: Assessment) -> FormErrors:
    """What the law asks of a completed assessment (§14(2); decree 869/2024 §2; decree 874/2024), each
    missing item with its own message. Keys are the ids of the form fields the message points to."""
    errors = FormErrors()
    if assessment.assessed_on > today():
        errors["assessed_on"] = _("The date of the assessment interview cannot be in the future.")
    if assessment.literacy is None:
        errors["literacy"] = _("Item 1: record the client's literacy.")
    recorded = {(row.language, row.skill) for row in assessment.language_skills}
    if not any(all((lang, skill) in recorded for skill in LanguageSkill) for lang in LANGUAGES):
        errors["language_skills"] = _(
            "Item 2: record all four skills (reading, writing, listening and speaking) in Finnish or in "
            "Swedish. “No skills yet” is also an answer."
        )
    if not assessment.data_sources:
        errors["data_sources"] = _("Choose at least one data source.")
    told = {
        "told_service_goals": _("Record that the client was told the goals of the integration services."),
        "told_planning": _("Record that the client was told how integration planning works."),
        "told_rights_and_duties": _(
            "Record that the client was told that the plan binds them: their rights and duties."
        ),
        "told_data_processing": _("Record that the client was told how their personal data is processed."),
    }
    for name, message in told.items():
        if not getattr(assessment, name):
            errors[name] = message
    if assessment.plan_need is None:
        errors["plan_need"] = _("Item 7: record whether the client needs an integration plan.")
    elif assessment.plan_need == PlanNeed.NOT_NEEDED:
        if not assessment.no_plan_reason:
            errors["no_plan_reason"] = _("Say why no integration plan is needed.")
    elif assessment.planned_plan_date is None:
        errors["planned_plan_date"] = _("Enter the planned date of the integration plan.")
    elif assessment.planned_plan_date < assessment.assessed_on:
        errors["planned_plan_date"] = _(
            "The integration plan cannot be planned for a date before the assessment interview."
        )
    if assessment.county_takes_part and not assessment.county_representative:
        errors["county_representative"] = _("Name the wellbeing services county's representative.")
    if assessment.previous_id is not None and not assessment.amendment_reason:
        errors["amendment_reason"] = _("Say why the assessment is amended.")
    return errors


async def complete(db: AsyncSession, actor: Actor, assessment: Assessment) -> Assessment | None:
    """Mark a complete draft COMPLETED; the version it amends becomes SUPERSEDED (returned)."""
    if assessment.status != AssessmentStatus.DRAFT:
        raise NotDraft
    assessment.status = AssessmentStatus.COMPLETED
    assessment.completed_at = utcnow()
    assessment.completed_by_id = actor.staff_id
    replaced = None
    if assessment.previous_id is not None:
        replaced = await db.scalar(
            select(Assessment).where(
                Assessment.id == assessment.previous_id, Assessment.client_id == assessment.client_id
            )
        )
        if replaced is not None and replaced.status == AssessmentStatus.COMPLETED:
            replaced.status = AssessmentStatus.SUPERSEDED
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=assessment.client_id,
        object_type="assessment",
        object_id=assessment.id,
        fields=["status", "completed_at", "completed_by_id"],
    )
    if replaced is not None:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=replaced.client_id,
            object_type="assessment",
            object_id=replaced.id,
            fields=["status"],
        )
    return replaced


async def amend(db: AsyncSession, actor: Actor, assessment: Assessment, reason: str) -> Assessment:
    """A new draft that copies the completed assessment's content (children need selectinload)."""
    if assessment.status != AssessmentStatus.COMPLETED:
        raise NotDraft
    number = (
        await db.scalar(
            select(func.max(Assessment.number)).where(Assessment.client_id == assessment.client_id)
        )
    ) or assessment.number
    copy = Assessment(
        client_id=assessment.client_id,
        organisation_id=assessment.organisation_id,
        number=number + 1,
        previous_id=assessment.id,
        status=AssessmentStatus.DRAFT,
        amendment_reason=reason,
        created_by_id=actor.staff_id,
        **{name: getattr(assessment, name) for name in CONTENT_FIELDS if name != "data_sources"},
        data_sources=list(assessment.data_sources or []),
    )
    copy.language_skills = [
        AssessmentLanguageSkill(language=row.language, skill=row.skill, level=row.level)
        for row in assessment.language_skills
    ]
    copy.education = [
        AssessmentEducation(
            level=row.level, field=row.field, years=row.years, country=row.country, completed=row.completed
        )
        for row in assessment.education
    ]
    copy.work = [
        AssessmentWork(occupation=row.occupation, years=row.years, country=row.country)
        for row in assessment.work
    ]
    db.add(copy)
    await db.flush()
    filled = [
        name
        for name in CONTENT_FIELDS
        if getattr(copy, name) not in (None, "", [], False) or name in INFORMATION_POINTS
    ]
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=copy.client_id,
        object_type="assessment",
        object_id=copy.id,
        fields=["number", "status", "previous_id", "amendment_reason", *filled, *CHILD_FIELDS],
    )
    return copy


# --- refining measures ----------------------------------------------------------------------------


@dataclass
class MeasureInput:
    measure_type: RefiningMeasureType | None
    provider_id: uuid.UUID | None
    provider_name: str | None
    ordered_on: date | None
    errors: FormErrors


def read_measure_form(data: Mapping[str, Any], provider_ids: Collection[uuid.UUID]) -> MeasureInput:
    errors = FormErrors()
    measure_type = choice(data, "measure_type", RefiningMeasureType, errors)
    provider_id = None
    raw = str(data.get("provider_id") or "").strip()
    if raw:
        try:
            provider_id = uuid.UUID(raw)
        except ValueError:
            provider_id = None
        if provider_id not in provider_ids:
            errors["provider_id"] = _("Choose the provider from the list.")
            provider_id = None
    provider_name = text(data, "provider_name", 200, errors)
    if not raw and not provider_name:
        errors["provider_id"] = _("Choose the provider or write its name.")
    ordered_on = date_field(data, "ordered_on", errors, required=True)
    return MeasureInput(measure_type, provider_id, provider_name, ordered_on, errors)


async def order_measure(
    db: AsyncSession, actor: Actor, assessment: Assessment, data: MeasureInput
) -> RefiningMeasure:
    if assessment.status == AssessmentStatus.SUPERSEDED:
        raise NotDraft
    assert data.measure_type is not None
    assert data.ordered_on is not None
    measure = RefiningMeasure(
        assessment_id=assessment.id,
        measure_type=data.measure_type,
        provider_id=data.provider_id,
        provider_name=data.provider_name,
        ordered_on=data.ordered_on,
        ordered_by_id=actor.staff_id,
        status=MeasureStatus.ORDERED,
    )
    db.add(measure)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=assessment.client_id,
        object_type="refining_measure",
        object_id=measure.id,
        fields=["measure_type", "ordered_on", "status"]
        + (["provider_id"] if data.provider_id else [])
        + (["provider_name"] if data.provider_name else []),
    )
    return measure


@dataclass
class ResultInput:
    status: MeasureStatus | None
    result_on: date | None
    result: str | None
    errors: FormErrors


def read_result_form(data: Mapping[str, Any], measure: RefiningMeasure) -> ResultInput:
    errors = FormErrors()
    status = choice(data, "status", MeasureStatus, errors)
    if status == MeasureStatus.ORDERED:
        errors["status"] = _("Choose whether the measure was done or cancelled.")
    result_on = date_field(data, "result_on", errors, required=True)
    if result_on is not None and result_on < measure.ordered_on:
        errors["result_on"] = _("The date of the result cannot be before the date the measure was ordered.")
    result = text(data, "result", TEXT_MAX, errors)
    if status == MeasureStatus.DONE and not result:
        errors["result"] = _("Write the result of the measure.")
    return ResultInput(status, result_on, result, errors)


async def record_result(
    db: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    measure: RefiningMeasure,
    seen_version: int,
    data: ResultInput,
) -> None:
    if seen_version != measure.version:
        raise StaleEdit
    if measure.status != MeasureStatus.ORDERED:
        raise NotDraft
    assert data.status is not None
    measure.status = data.status
    measure.result_on = data.result_on
    measure.result = data.result
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client_id,
        object_type="refining_measure",
        object_id=measure.id,
        fields=["status", "result_on"] + (["result"] if data.result else []),
    )


def take_result(data: AssessmentInput, measure: RefiningMeasure) -> str | None:
    """Copy a done measure's result into the field of the draft it belongs to; the field's name comes
    back (None when the result is already there or there is none). Nothing is cut: a field that grows
    too long gets an error."""
    if measure.status != MeasureStatus.DONE or not measure.result:
        return None
    target = MEASURE_TARGET[measure.measure_type]
    current_text = data.values.get(target) or ""
    entry = f"{label(measure.measure_type)} ({format_date(measure.result_on, 'short')}): {measure.result}"
    if entry in current_text:
        return None
    data.values[target] = f"{current_text}\n\n{entry}" if current_text else entry
    if len(data.values[target]) > TEXT_MAX:
        data.errors[target] = too_long(TEXT_MAX, len(data.values[target]))
    return target
