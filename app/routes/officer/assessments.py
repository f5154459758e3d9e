"""Assessment of competence and integration service needs (service 2; §14, decree 869/2024).

A draft is saved as the officer goes (htmx autosave, or the Save draft button without JavaScript); a
completed assessment is read-only and changes only through an amendment, a new version. Every id in a URL
is loaded joined to its client under client_scope(actor): another organisation's assessment is a 404.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.assessment import (
    Assessment,
    AssessmentStatus,
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
from app.db.client import Client
from app.domain import assessments, audit
from app.domain.assessments import INFORMATION_POINTS, MEASURE_TARGET, StaleEdit
from app.domain.audit import Action
from app.domain.forms import FormErrors, text, today
from app.domain.policy import Actor, Permission, load_client, may_write_client
from app.i18n import LOCAL_TIME, _
from app.web import requires, staff_guard

PAGE = "officer/assessments/page.html"
STATUS_FRAGMENT = "officer/assessments/_autosave.html"
REPEATED = (
    "data_sources",
    "edu_level",
    "edu_field",
    "edu_years",
    "edu_country",
    "edu_completed",
    "work_occupation",
    "work_years",
    "work_country",
)
# Where the page continues after a measure's result was taken into a field of the draft.
ITEM_ANCHORS = {
    "literacy_note": "#item-1",
    "language_note": "#item-2",
    "study_and_work_skills": "#item-3",
    "other_needs_and_goals": "#item-9",
}
BLANK_EDUCATION = {"level": "", "field": "", "years": "", "country": "", "completed": "yes"}
BLANK_WORK = {"occupation": "", "years": "", "country": ""}
ENUMS = {
    "literacy_options": Literacy,
    "cefr_options": Cefr,
    "skills": list(LanguageSkill),
    "education_levels": EducationLevel,
    "data_source_options": list(DataSource),
    "plan_needs": list(PlanNeed),
    "measure_types": RefiningMeasureType,
    "result_statuses": [MeasureStatus.DONE, MeasureStatus.CANCELLED],
}


def _stale_message() -> str:
    return _(
        "Someone else saved this assessment after you opened it. Your changes have not been saved: they are "
        "still in the form. Check the differences listed below, then save again."
    )


def _completed_message() -> str:
    return _("This assessment is completed and cannot be changed. Make an amendment instead.")


async def _read(request: HTMXRequest) -> tuple[dict[str, Any], dict[str, list[str]]]:
    form = await request.form()
    data: dict[str, Any] = {k: form.get(k) for k in form if k not in REPEATED}
    lists = {k: [str(v) for v in form.getall(k, [])] for k in REPEATED}
    data["data_sources"] = lists["data_sources"]
    return data, lists


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


def _with_blank(rows: list[dict[str, str]], blank: dict[str, str], extra: bool) -> list[dict[str, str]]:
    """Always one empty row at the end (to add one without JavaScript), and another on request."""
    rows = list(rows)

    def filled(row: dict[str, str]) -> bool:
        return any(value.strip() for key, value in row.items() if key != "completed")

    if not rows or filled(rows[-1]):
        rows.append(dict(blank))
    if extra and len(rows) < assessments.MAX_ROWS:
        rows.append(dict(blank))
    return rows


async def _load(db: AsyncSession, actor: Actor, assessment_id: uuid.UUID) -> tuple[Assessment, Client]:
    found = await assessments.load(db, actor, assessment_id)
    if found is None:
        raise NotFoundException
    return found


async def _writable(db: AsyncSession, actor: Actor, assessment_id: uuid.UUID) -> tuple[Assessment, Client]:
    assessment, client = await _load(db, actor, assessment_id)
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return assessment, client


async def _page(
    db: AsyncSession,
    actor: Actor,
    assessment: Assessment,
    client: Client,
    status: int = 200,
    **overrides: Any,
) -> Template:
    """The assessment page: the draft form for writers, otherwise the read-only record; refining
    measures; the version history. `overrides` carry typed input, errors and messages."""
    everything = await assessments.history(db, client.id)
    versions = assessments.chain(assessment, everything)
    measures = await assessments.measures(db, [a.id for a in versions])
    names = await assessments.staff_names(
        db,
        [a.officer_id for a in everything]
        + [a.completed_by_id for a in everything]
        + [a.created_by_id for a in everything]
        + [m.ordered_by_id for m in measures],
    )
    may_write = may_write_client(actor, client)
    editing = may_write and assessment.status == AssessmentStatus.DRAFT
    results: dict[str, list[RefiningMeasure]] = {}
    for measure in measures:
        if measure.status == MeasureStatus.DONE:
            results.setdefault(MEASURE_TARGET[measure.measure_type], []).append(measure)
    form = overrides.pop("form", None)
    if form is None:
        form = assessments.form_values(assessment)
        education = assessments.stored_education_rows(assessment)
        work = assessments.stored_work_rows(assessment)
    else:
        education = overrides.pop("education_rows", [])
        work = overrides.pop("work_rows", [])
    add_row = overrides.pop("add_row", "")
    context: dict[str, Any] = {
        "actor": actor,
        "client": client,
        "assessment": assessment,
        "everything": everything,
        "versions": versions,
        "previous": next((a for a in everything if a.id == assessment.previous_id), None),
        "replaced_by": next((a for a in everything if a.previous_id == assessment.id), None),
        "draft": next((a for a in everything if a.status == AssessmentStatus.DRAFT), None),
        "names": names,
        "measures": measures,
        "provider_names": await assessments.organisation_names(db, [m.provider_id for m in measures]),
        "results": results,
        "may_write": may_write,
        "editing": editing,
        "form": form,
        "education_rows": _with_blank(education, BLANK_EDUCATION, add_row == "education"),
        "work_rows": _with_blank(work, BLANK_WORK, add_row == "work"),
        "errors": FormErrors(),
        "officers": await assessments.officers(db, actor, assessment.officer_id) if editing else [],
        "providers": await assessments.providers(db) if may_write else [],
        "measure_form": {"ordered_on": today().isoformat()},
        "measure_errors": FormErrors(),
        "result_form": {},
        "result_errors": {},
        "amend_form": {},
        "amend_errors": FormErrors(),
        "conflict": None,
        "notice": None,
        "information_points": INFORMATION_POINTS,
        "languages": assessments.LANGUAGES,
        "skill_key": assessments.skill_key,
        "field_name": assessments.field_name,
        "today": today().isoformat(),
        **ENUMS,
    }
    context.update(overrides)
    return Template(PAGE, context=context, status_code=status)


def _status(status: int, **context: Any) -> Template:
    """The autosave answer: a short message for the live region (and the new version on success)."""
    context.setdefault("errors", FormErrors())
    context.setdefault("version", None)
    return Template(STATUS_FRAGMENT, context=context, status_code=status)


def _differences(
    fresh: Assessment, data: dict[str, Any], lists: dict[str, list[str]]
) -> list[tuple[str, Any]]:
    """The fields whose saved value differs from what the user typed, with the saved value (None for
    the child rows, which are named only)."""
    saved = assessments.form_values(fresh)
    found: list[tuple[str, Any]] = []
    for name in (*assessments.CONTENT_FIELDS, "amendment_reason"):
        typed = data.get(name) or ""
        value = saved.get(name) or ""
        differs = (
            sorted(typed) != sorted(value)
            if name == "data_sources"
            else str(typed).strip() != str(value).strip()
        )
        if differs:
            found.append((name, getattr(fresh, name)))
    skill_keys = [assessments.skill_key(lang, s) for lang in assessments.LANGUAGES for s in LanguageSkill]
    if any((data.get(k) or "") != (saved.get(k) or "") for k in skill_keys):
        found.append(("language_skills", None))

    def rows(found_rows: list[dict[str, str]], keys: tuple[str, ...]) -> list[tuple[str, ...]]:
        return [tuple(r[k].strip() for k in keys) for r in found_rows if any(r[k].strip() for k in keys)]

    education_keys = ("level", "field", "country")
    if rows(assessments.education_rows(lists), education_keys) != rows(
        assessments.stored_education_rows(fresh), education_keys
    ):
        found.append(("education", None))
    work_keys = ("occupation", "country")
    if rows(assessments.work_rows(lists), work_keys) != rows(assessments.stored_work_rows(fresh), work_keys):
        found.append(("work", None))
    return found


# --- start ----------------------------------------------------------------------------------------


@post("/clients/{client_id:uuid}/assessments", guards=[requires(Permission.CLIENT_WRITE)])
async def start_assessment(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Redirect:
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    assessment, _created = await assessments.start(db_session, actor, client)
    return Redirect(f"/officer/assessments/{assessment.id}", status_code=303)


# --- view -----------------------------------------------------------------------------------------


@get("/assessments/{assessment_id:uuid}", guards=[requires(Permission.CLIENT_READ)])
async def assessment_page(db_session: AsyncSession, actor: Actor, assessment_id: uuid.UUID) -> Template:
    assessment, client = await _load(db_session, actor, assessment_id)
    page = await _page(db_session, actor, assessment, client)
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="assessment",
        object_id=assessment.id,
        fields=assessments.VIEW_FIELDS,
    )
    return page


# --- save a draft ---------------------------------------------------------------------------------


@post("/assessments/{assessment_id:uuid}", guards=[requires(Permission.CLIENT_WRITE)])
async def save_assessment(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, assessment_id: uuid.UUID
) -> Template | Redirect:
    assessment, client = await _writable(db_session, actor, assessment_id)
    data, lists = await _read(request)
    autosave = bool(request.htmx and not request.htmx.boosted)
    if assessment.status != AssessmentStatus.DRAFT:
        if autosave:
            return _status(409, message=_completed_message())
        return await _page(db_session, actor, assessment, client, 409, notice=_completed_message())
    outcome = await _save(db_session, actor, assessment, client, data, lists, autosave)
    if outcome is not None:
        return outcome
    if autosave:
        saved_at = datetime.now(LOCAL_TIME).strftime("%H:%M")
        return _status(
            200, message=_("Draft saved at %(time)s") % {"time": saved_at}, version=assessment.version
        )
    add_row = str(data.get("add_row") or "")
    if add_row in ("education", "work"):
        return await _page(
            db_session,
            actor,
            assessment,
            client,
            form={**data, "version": assessment.version},
            education_rows=assessments.education_rows(lists),
            work_rows=assessments.work_rows(lists),
            add_row=add_row,
        )
    anchor = ITEM_ANCHORS.get(str(data.get("_taken") or ""), "")
    return Redirect(f"/officer/assessments/{assessment.id}{anchor}", status_code=303)


async def _save(
    db: AsyncSession,
    actor: Actor,
    assessment: Assessment,
    client: Client,
    data: dict[str, Any],
    lists: dict[str, list[str]],
    autosave: bool,
) -> Template | None:
    """Save the posted draft; a response when it could not be saved (422 or 409), else None."""
    assessment_id = assessment.id  # still readable after a rollback expires the instance
    officer_ids = {i for i, _name in await assessments.officers(db, actor, assessment.officer_id)}
    parsed = assessments.read_form(data, lists, officer_ids)
    taken = str(data.get("take_result") or "")
    if taken and not parsed.errors:
        measure = await _measure_of_client(db, client, taken)
        if measure is not None:
            target = assessments.take_result(parsed, measure)
            data["_taken"] = MEASURE_TARGET[measure.measure_type]
            if target:
                data[target] = parsed.values[target]
    if parsed.errors:
        if autosave:
            return _status(422, message=_("Not saved: check these fields."), errors=parsed.errors)
        return await _page(
            db,
            actor,
            assessment,
            client,
            422,
            form=data,
            education_rows=assessments.education_rows(lists),
            work_rows=assessments.work_rows(lists),
            errors=parsed.errors,
        )
    try:
        await assessments.save_draft(db, actor, assessment, _version(data), parsed)
    except StaleEdit:
        await db.rollback()
        if autosave:
            # Never overwrite silently: the version in the form stays old until the user saves knowingly.
            return _status(
                409,
                message=_(
                    "Not saved: someone else saved this assessment after you opened it. Press Save draft "
                    "to see the differences; what you typed stays in the form."
                ),
            )
        fresh, fresh_client = await _writable(db, actor, assessment_id)
        return await _page(
            db,
            actor,
            fresh,
            fresh_client,
            409,
            form={**data, "version": fresh.version},
            education_rows=assessments.education_rows(lists),
            work_rows=assessments.work_rows(lists),
            conflict=_differences(fresh, data, lists),
            notice=_stale_message(),
        )
    except assessments.NotDraft:
        if autosave:
            return _status(409, message=_completed_message())
        return await _page(db, actor, assessment, client, 409, notice=_completed_message())
    return None


async def _measure_of_client(db: AsyncSession, client: Client, raw_id: str) -> RefiningMeasure | None:
    try:
        measure_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    return await db.scalar(
        select(RefiningMeasure)
        .join(Assessment, Assessment.id == RefiningMeasure.assessment_id)
        .where(RefiningMeasure.id == measure_id, Assessment.client_id == client.id)
    )


# --- complete and amend ---------------------------------------------------------------------------


@post("/assessments/{assessment_id:uuid}/complete", guards=[requires(Permission.CLIENT_WRITE)])
async def complete_assessment(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, assessment_id: uuid.UUID
) -> Template | Redirect:
    assessment, client = await _writable(db_session, actor, assessment_id)
    if assessment.status != AssessmentStatus.DRAFT:
        return await _page(
            db_session, actor, assessment, client, 409, notice=_("This assessment is already completed.")
        )
    data, lists = await _read(request)
    typed: dict[str, Any] = {}
    if data.get("assessment_form"):  # the whole form came along: save it first
        outcome = await _save(db_session, actor, assessment, client, data, lists, autosave=False)
        if outcome is not None:
            return outcome
        typed = {
            "form": {**data, "version": assessment.version},
            "education_rows": assessments.education_rows(lists),
            "work_rows": assessments.work_rows(lists),
        }
    missing = assessments.missing_for_completion(assessment)
    if missing:
        await db_session.commit()  # the draft as typed is kept; only the completion is refused
        return await _page(db_session, actor, assessment, client, 422, errors=missing, **typed)
    if not typed and _version(data) and _version(data) != assessment.version:
        return await _page(db_session, actor, assessment, client, 409, notice=_stale_message(), conflict=[])
    try:
        await assessments.complete(db_session, actor, assessment)
    except StaleEdit:
        await db_session.rollback()
        fresh, fresh_client = await _writable(db_session, actor, assessment_id)
        return await _page(db_session, actor, fresh, fresh_client, 409, notice=_stale_message(), conflict=[])
    return Redirect(f"/officer/assessments/{assessment.id}", status_code=303)


@post("/assessments/{assessment_id:uuid}/amend", guards=[requires(Permission.CLIENT_WRITE)])
async def amend_assessment(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, assessment_id: uuid.UUID
) -> Template | Redirect:
    assessment, client = await _writable(db_session, actor, assessment_id)
    draft = await assessments.draft_of(db_session, client.id)
    if draft is not None:  # one draft at a time: continue the one that is open
        return Redirect(f"/officer/assessments/{draft.id}", status_code=303)
    if assessment.status != AssessmentStatus.COMPLETED:
        return await _page(
            db_session,
            actor,
            assessment,
            client,
            409,
            notice=_("Only the assessment in force can be amended: open the latest version."),
        )
    form = dict((await request.form()).items())
    errors = FormErrors()
    reason = text(form, "amendment_reason", assessments.TEXT_MAX, errors)
    if not reason:
        errors["amendment_reason"] = _("Say why the assessment is amended.")
    if errors or not reason:
        return await _page(db_session, actor, assessment, client, 422, amend_form=form, amend_errors=errors)
    copy = await assessments.amend(db_session, actor, assessment, reason)
    return Redirect(f"/officer/assessments/{copy.id}", status_code=303)


# --- refining measures ----------------------------------------------------------------------------


@post("/assessments/{assessment_id:uuid}/measures", guards=[requires(Permission.CLIENT_WRITE)])
async def order_measure(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, assessment_id: uuid.UUID
) -> Template | Redirect:
    assessment, client = await _writable(db_session, actor, assessment_id)
    if assessment.status == AssessmentStatus.SUPERSEDED:
        return await _page(
            db_session,
            actor,
            assessment,
            client,
            409,
            notice=_(
                "This version has been replaced by an amendment: order the measure on the latest version."
            ),
        )
    form = dict((await request.form()).items())
    provider_ids = {i for i, _name in await assessments.providers(db_session)}
    parsed = assessments.read_measure_form(form, provider_ids)
    if parsed.errors:
        return await _page(
            db_session, actor, assessment, client, 422, measure_form=form, measure_errors=parsed.errors
        )
    await assessments.order_measure(db_session, actor, assessment, parsed)
    return Redirect(f"/officer/assessments/{assessment.id}#measures", status_code=303)


@post(
    "/assessments/{assessment_id:uuid}/measures/{measure_id:uuid}", guards=[requires(Permission.CLIENT_WRITE)]
)
async def record_measure_result(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    assessment_id: uuid.UUID,
    measure_id: uuid.UUID,
) -> Template | Redirect:
    assessment, client = await _writable(db_session, actor, assessment_id)
    measure = await _measure_of_client(db_session, client, str(measure_id))
    if measure is None:
        raise NotFoundException
    form = dict((await request.form()).items())
    parsed = assessments.read_result_form(form, measure)
    if parsed.errors:
        return await _page(
            db_session,
            actor,
            assessment,
            client,
            422,
            result_form={str(measure.id): form},
            result_errors={str(measure.id): parsed.errors},
        )
    try:
        await assessments.record_result(db_session, actor, client.id, measure, _version(form), parsed)
    except (StaleEdit, assessments.NotDraft):
        await db_session.rollback()
        fresh, fresh_client = await _writable(db_session, actor, assessment_id)
        return await _page(
            db_session,
            actor,
            fresh,
            fresh_client,
            409,
            notice=_(
                "The result of this measure was recorded by someone else after you opened the page. "
                "Check the saved result below."
            ),
        )
    return Redirect(f"/officer/assessments/{assessment.id}#measure-{measure.id}", status_code=303)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        start_assessment,
        assessment_page,
        save_assessment,
        complete_assessment,
        amend_assessment,
        order_measure,
        record_measure_result,
    ],
)
