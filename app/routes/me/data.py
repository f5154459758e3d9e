"""Migrant app: my data (readable and as a JSON download), who has viewed my data, feedback (service 10).

Every handler works on current_client(request).client only; an id from the request (the appointment a
feedback is about) is accepted only when it is among that client's own records.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Router, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.domain import assessments, audit, my_data
from app.domain import feedback as client_feedback
from app.domain.audit import Action
from app.domain.forms import FormErrors, parse_date, today
from app.web import client_guard, current_client, form_of, page

# What the page shows, for the audit log (names only).
SECTIONS = [
    "personal_details",
    "family_links",
    "consents",
    "health_information",
    "assessments",
    "plans",
    "transfers",
    "appointments",
    "message_threads",
    "tasks",
    "interpretations",
    "family_overviews",
    "access_grants",
    "notification_preferences",
    "push_subscriptions",
    "notifications",
    "passkeys",
    "signed_in_devices",
    "invitations",
    "feedback",
]


@get("/me/data", guards=[client_guard])
async def my_data_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    client = current_client(request).client
    data = await my_data.collect(db_session, client, i18n.get_locale())
    await audit.record(
        db_session,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=SECTIONS,
    )
    return page(
        "me/data.html",
        me=client,
        section="data",
        data=data,
        assessment_label=assessments.field_name,
        assessment_texts=my_data.ASSESSMENT_TEXTS,
        rating_text=client_feedback.rating_text,
        parse_date=parse_date,
    )


@get("/me/data.json", guards=[client_guard])
async def my_data_download(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[bytes]:
    client = current_client(request).client
    data = await my_data.collect(db_session, client, i18n.get_locale())
    body = json.dumps(my_data.as_json(data), ensure_ascii=False, indent=2).encode()
    await audit.record(
        db_session,
        Action.EXPORT,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=SECTIONS,
    )
    return Response(
        content=body,
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{my_data.download_name(today())}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@get("/me/data/views", guards=[client_guard])
async def who_has_viewed(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    client = current_client(request).client
    raw = request.query_params.get("page") or "1"
    number = int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1
    result = await my_data.views(db_session, client, number)
    await audit.record(
        db_session,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="access_history",
    )
    return page("me/data_views.html", me=client, section="data", result=result)


# --- feedback (service 10) ------------------------------------------------------------------------


def _feedback_page(
    client: Any,
    choices: client_feedback.Choices,
    surveys: dict[str, Any],
    form: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    *,
    questions_changed: bool = False,
) -> Template:
    """The form; the survey shown is the one for what the feedback is about (when chosen and active)."""
    return page(
        "me/feedback.html",
        status_code=status,
        me=client,
        section=None,
        choices=choices,
        ratings=client_feedback.ratings(),
        survey=surveys.get(str(form.get("about") or "")),
        has_surveys=bool(surveys),
        questions_changed=questions_changed,
        form=form,
        errors=errors,
    )


@get("/me/feedback", guards=[client_guard])
async def feedback_form(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    client = current_client(request).client
    choices = await client_feedback.choices(db_session, client, i18n.get_locale())
    surveys = await client_feedback.surveys_for(db_session, choices, i18n.get_locale())
    chosen = client_feedback.preselected(choices, request.query_params.get("appointment"))
    await audit.record(
        db_session,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="appointment",
        fields=["purpose", "starts_at"],
    )
    return _feedback_page(client, choices, surveys, {"about": chosen}, FormErrors())


@post("/me/feedback", guards=[client_guard])
async def give_feedback(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template | Redirect:
    client = current_client(request).client
    form = await form_of(request)
    choices = await client_feedback.choices(db_session, client, i18n.get_locale())
    surveys = await client_feedback.surveys_for(db_session, choices, i18n.get_locale())
    survey = surveys.get(str(form.get("about") or ""))
    if form.get("show"):  # "Show the questions" (without JavaScript): the same form with them, nothing saved
        return _feedback_page(client, choices, surveys, form, FormErrors())
    if form.get("survey_id") and survey is not None and not client_feedback.shown_survey(form, survey):
        # The questions shown were for something else than what was finally chosen: show the right ones.
        return _feedback_page(client, choices, surveys, form, FormErrors(), questions_changed=True)
    parsed = client_feedback.read_form(form, choices, surveys)
    if parsed.errors:
        return _feedback_page(client, choices, surveys, form, parsed.errors, 422)
    await client_feedback.give(db_session, client, parsed, i18n.get_locale())
    return Redirect("/me/feedback/thanks", status_code=303)


@get("/me/feedback/thanks", guards=[client_guard])
async def feedback_thanks(request: Request[Any, Any, Any]) -> Template:
    return page("me/feedback_thanks.html", me=current_client(request).client, section=None)


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        my_data_page,
        my_data_download,
        who_has_viewed,
        feedback_form,
        give_feedback,
        feedback_thanks,
    ],
)
