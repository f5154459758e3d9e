"""Service quality (service 10): the organisation's feedback surveys — define, activate, copy — and each
survey's results. Managers only (Permission.QUALITY_MANAGE); a survey of another organisation is 404.

Surveys are not client data, so their ids travel in URLs and their changes are audited as ordinary
changes. A stale save answers 409 with the typed input kept (and the saved survey shown); once a survey
has responses its questions are frozen — the form then offers to save the typed questions as a new survey,
and the survey's page offers a copy. Free-text answers may hold personal data: they are shown on the
results page only (its view is audited) and never exported.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.quality import QuestionKind, Survey, SurveyAudience, SurveyQuestion
from app.domain import audit, quality
from app.domain.audit import Action
from app.domain.feedback import ratings
from app.domain.forms import FormErrors, text
from app.domain.policy import Actor, Permission
from app.i18n import _
from app.web import form_of, requires, staff_guard

MANAGE = [requires(Permission.QUALITY_MANAGE)]


def _url(survey: Survey) -> str:
    return f"/officer/surveys/{survey.id}"


async def _survey_or_404(db: AsyncSession, actor: Actor, survey_id: uuid.UUID) -> Survey:
    survey = await quality.load_survey(db, actor, survey_id)
    if survey is None:
        raise NotFoundException
    return survey


async def _form_page(
    db: AsyncSession,
    actor: Actor,
    survey: Survey | None,
    form: dict[str, Any],
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
    saved: list[SurveyQuestion] | None = None,
    typed: bool = False,
    status: int = 200,
) -> Template:
    """The survey's page: the full form, or — when it has responses — its name and the frozen questions
    (`typed`: the form anyway, with what was typed, to be saved as a new survey)."""
    responses = (await quality.response_counts(db, [survey.id])).get(survey.id, 0) if survey else 0
    questions = await quality.questions_of(db, survey.id) if survey else []
    return Template(
        "officer/quality/form.html",
        context={
            "actor": actor,
            "survey": survey,
            "form": form,
            "rows": quality.form_rows(form),
            "errors": errors or FormErrors(),
            "notice": notice,
            "saved": saved,
            "responses": responses,
            "frozen": responses > 0 and not typed,
            "only_as_new": responses > 0 and typed,
            "questions": questions,
            "languages": quality.LANGUAGES,
            "audiences": SurveyAudience,
            "kinds": QuestionKind,
            "shown": lambda texts: quality.question_text(texts, i18n.get_locale()),
        },
        status_code=status,
    )


@get("/surveys", guards=MANAGE)
async def survey_list(db_session: AsyncSession, actor: Actor) -> Template:
    return Template(
        "officer/quality/list.html",
        context={"actor": actor, "rows": await quality.surveys(db_session, actor)},
    )


@get("/surveys/new", guards=MANAGE)
async def new_survey(db_session: AsyncSession, actor: Actor) -> Template:
    return await _form_page(db_session, actor, None, quality.form_values(None, []))


@post("/surveys", guards=MANAGE)
async def create_survey(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    """A new survey — also "Save as a new survey" from an existing survey's form."""
    data = await form_of(request)
    parsed = quality.read_form(data)
    if parsed.errors:
        data.pop("version", None)
        return await _form_page(db_session, actor, None, data, errors=parsed.errors, status=422)
    survey = await quality.create(db_session, actor, parsed)
    return Redirect(_url(survey), status_code=303)


@get("/surveys/{survey_id:uuid}", guards=MANAGE)
async def survey_page(db_session: AsyncSession, actor: Actor, survey_id: uuid.UUID) -> Template:
    survey = await _survey_or_404(db_session, actor, survey_id)
    return await _form_page(
        db_session,
        actor,
        survey,
        quality.form_values(survey, await quality.questions_of(db_session, survey.id)),
    )


@post("/surveys/{survey_id:uuid}", guards=MANAGE)
async def update_survey(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, survey_id: uuid.UUID
) -> Template | Redirect:
    survey = await _survey_or_404(db_session, actor, survey_id)
    data = await form_of(request)
    version = str(data.get("version") or "")
    if "rows" not in data:  # the name-only form of a survey with responses
        return await _rename(db_session, actor, survey, data, version)
    parsed = quality.read_form(data)
    if parsed.errors:
        return await _form_page(
            db_session, actor, survey, quality.with_blank_rows(data), errors=parsed.errors, status=422
        )
    try:
        await quality.update(db_session, actor, survey, parsed, version)
    except quality.StaleEdit:
        await db_session.rollback()
        fresh = await _survey_or_404(db_session, actor, survey_id)
        return await _form_page(
            db_session,
            actor,
            fresh,
            {**data, "version": str(fresh.version)},
            notice=_(
                "Someone else saved this survey after you opened it. Your changes have not been saved: "
                "they are still in the form. The saved questions are listed under the form. Check them, "
                "then save again."
            ),
            saved=await quality.questions_of(db_session, fresh.id),
            status=409,
        )
    except quality.QuestionsFrozen:
        await db_session.rollback()
        fresh = await _survey_or_404(db_session, actor, survey_id)
        return await _form_page(
            db_session,
            actor,
            fresh,
            data,
            notice=_(
                "This survey has answers now, so its questions and audience can no longer change: the "
                "answers must keep meaning what was asked. Your changes have not been saved. Save them as "
                "a new survey instead."
            ),
            typed=True,
            status=409,
        )
    except quality.SurveyRuleError as problem:
        await db_session.rollback()
        fresh = await _survey_or_404(db_session, actor, survey_id)
        return await _form_page(
            db_session, actor, fresh, quality.with_blank_rows(data), errors=problem.errors, status=422
        )
    return Redirect(_url(survey), status_code=303)


async def _rename(
    db: AsyncSession, actor: Actor, survey: Survey, data: dict[str, Any], version: str
) -> Template | Redirect:
    errors = FormErrors()
    name = text(data, "name", quality.NAME_MAX, errors)
    if not name:
        errors["name"] = _("Give the survey a name.")
    if errors or not name:
        values = quality.form_values(survey, await quality.questions_of(db, survey.id))
        return await _form_page(db, actor, survey, {**values, "name": name or ""}, errors=errors, status=422)
    parsed = quality.SurveyInput(
        name,
        survey.audience,
        [quality.QuestionInput(q.kind, dict(q.texts)) for q in await quality.questions_of(db, survey.id)],
    )
    try:
        await quality.update(db, actor, survey, parsed, version)
    except (quality.StaleEdit, quality.QuestionsFrozen):
        await db.rollback()
        fresh = await _survey_or_404(db, actor, survey.id)
        return await _form_page(
            db,
            actor,
            fresh,
            {**quality.form_values(fresh, await quality.questions_of(db, fresh.id)), "name": name},
            notice=_("Someone else saved this survey after you opened it. Check it, then save again."),
            status=409,
        )
    return Redirect(_url(survey), status_code=303)


@post("/surveys/{survey_id:uuid}/copy", guards=MANAGE)
async def copy_survey(db_session: AsyncSession, actor: Actor, survey_id: uuid.UUID) -> Redirect:
    survey = await _survey_or_404(db_session, actor, survey_id)
    copied = await quality.copy(db_session, actor, survey)
    return Redirect(_url(copied), status_code=303)


async def _switch(
    request: HTMXRequest, db: AsyncSession, actor: Actor, survey_id: uuid.UUID, *, on: bool
) -> Template | Redirect:
    survey = await _survey_or_404(db, actor, survey_id)
    version = str((await form_of(request)).get("version") or "")
    try:
        if on:
            await quality.activate(db, actor, survey, version)
        else:
            await quality.deactivate(db, actor, survey, version)
    except quality.StaleEdit:
        await db.rollback()
        fresh = await _survey_or_404(db, actor, survey_id)
        return await _form_page(
            db,
            actor,
            fresh,
            quality.form_values(fresh, await quality.questions_of(db, fresh.id)),
            notice=_("Someone else changed this survey after you opened the page. Check it and try again."),
            status=409,
        )
    except quality.SurveyRuleError as problem:
        await db.rollback()
        fresh = await _survey_or_404(db, actor, survey_id)
        return await _form_page(
            db,
            actor,
            fresh,
            quality.form_values(fresh, await quality.questions_of(db, fresh.id)),
            errors=problem.errors,
            status=422,
        )
    return Redirect("/officer/surveys", status_code=303)


@post("/surveys/{survey_id:uuid}/activate", guards=MANAGE)
async def activate_survey(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, survey_id: uuid.UUID
) -> Template | Redirect:
    return await _switch(request, db_session, actor, survey_id, on=True)


@post("/surveys/{survey_id:uuid}/deactivate", guards=MANAGE)
async def deactivate_survey(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, survey_id: uuid.UUID
) -> Template | Redirect:
    return await _switch(request, db_session, actor, survey_id, on=False)


@get("/surveys/{survey_id:uuid}/results", guards=MANAGE)
async def survey_results(db_session: AsyncSession, actor: Actor, survey_id: uuid.UUID) -> Template:
    survey = await _survey_or_404(db_session, actor, survey_id)
    figures = await quality.survey_figures(db_session, survey.id, free_text=True)
    assert figures is not None
    if any(q.free_texts for q in figures.questions):
        # Free text may name people: who read it is on record (names of the fields only).
        await audit.record(
            db_session, Action.VIEW, actor=actor, object_type="survey", object_id=survey.id,
            fields=["feedback_answer.text"],
        )  # fmt: skip
    return Template(
        "officer/quality/results.html",
        context={
            "actor": actor,
            "survey": survey,
            "figures": figures,
            "ratings": ratings(),
            "shown": lambda texts: quality.question_text(texts, i18n.get_locale()),
        },
    )


router = Router(
    path="/officer",
    guards=[staff_guard],
    include_in_schema=False,
    route_handlers=[
        survey_list,
        new_survey,
        create_survey,
        survey_page,
        update_survey,
        copy_survey,
        activate_survey,
        deactivate_survey,
        survey_results,
    ],
)
