"""Anonymous feedback at /feedback (service 10): anyone — someone at a guidance desk, a visitor without
an account — rates the service from 1 to 5, answers the organisation's active public survey if it has one,
and may comment. Nothing personal is asked, the comment warns not to write personal details, and the
feedback keeps no time finer than the day.

It goes to the deployment's organisation (Settings.public_organisation, else the only municipality);
without one the page says feedback is not received here (404). CSRF-protected like every form; a hidden
honeypot field catches form-filling robots (they get the thank-you page, nothing is stored); each address
may send Settings.public_feedback_per_address times within the sign-in window, then 429 with Retry-After
(counted under a keyed hash of the address, app.domain.feedback).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.quality import SurveyAudience
from app.domain import feedback, quality
from app.domain.forms import FormErrors
from app.domain.quality import AskedSurvey
from app.settings import Settings
from app.web import client_address, form_of, page

THANKS = "/feedback/thanks"


def _page(
    survey: AskedSurvey | None,
    form: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    *,
    questions_changed: bool = False,
    too_many: str | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        "public/feedback.html",
        context={
            "survey": survey,
            "ratings": feedback.ratings(),
            "form": form,
            "errors": errors,
            "questions_changed": questions_changed,
            "too_many": too_many,
            "honeypot": feedback.HONEYPOT,
            "comment_max": feedback.COMMENT_MAX,
        },
        status_code=status,
        headers=headers,
    )


def _closed() -> Template:
    return page("public/feedback_closed.html", status_code=404)


@get("/feedback")
async def feedback_page(db_session: AsyncSession, settings: Settings) -> Template:
    organisation = await feedback.public_organisation(db_session, settings)
    if organisation is None:
        return _closed()
    survey = await quality.active_survey(db_session, organisation, SurveyAudience.PUBLIC, i18n.get_locale())
    return _page(survey, {}, FormErrors())


@post("/feedback")
async def send_feedback(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    organisation = await feedback.public_organisation(db_session, settings)
    if organisation is None:
        return _closed()
    form = await form_of(request)
    survey = await quality.active_survey(db_session, organisation, SurveyAudience.PUBLIC, i18n.get_locale())
    key = feedback.address_key(settings, client_address(request))
    if wait := await feedback.retry_after(db_session, settings, key):
        return _page(
            survey, form, FormErrors(), 429, too_many=feedback.too_many_message(wait),
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    if feedback.is_robot(form):
        await feedback.count_sending(db_session, settings, key)
        return Redirect(THANKS, status_code=303)
    if form.get("survey_id") and survey is not None and not feedback.shown_survey(form, survey):
        # The survey changed while the page was open: show the questions asked now.
        return _page(survey, form, FormErrors(), questions_changed=True)
    parsed = feedback.read_public_form(form, survey)
    if parsed.errors:
        return _page(survey, form, parsed.errors, 422)
    await feedback.give_public(db_session, organisation, parsed, i18n.get_locale())
    await feedback.count_sending(db_session, settings, key)
    return Redirect(THANKS, status_code=303)


@get("/feedback/thanks", sync_to_thread=False)
def feedback_thanks() -> Template:
    return page("public/feedback_thanks.html")


router = Router(
    path="/", include_in_schema=False, route_handlers=[feedback_page, send_feedback, feedback_thanks]
)
