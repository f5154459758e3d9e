"""The public referral form for other authorities (service 20, §9) at /referral: no account. The rules,
what is stored and what is e-mailed: app.domain.referrals.

CSRF-protected like every form; a hidden honeypot field catches form-filling robots (they get the
thank-you page, nothing is stored); REFERRALS_PER_ADDRESS per address within the sign-in window, then 429
with Retry-After. Bad input shows the form again with the errors and everything typed (422). After sending
the browser is redirected to /referral/sent, whose address and page hold nothing about the referral.
Without a municipality in the deployment the page says referrals are not received here (404).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.organisation import Organisation
from app.domain import referrals
from app.domain.forms import FormErrors, today
from app.settings import Settings
from app.web import client_address, form_of, page

SENT = "/referral/sent"


def _page(
    choices: list[Organisation],
    form: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    *,
    too_many: str | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        "public/referral.html",
        context={
            "municipalities": [(str(o.id), o.name) for o in choices],
            "form": form,
            "errors": errors,
            "too_many": too_many,
            "honeypot": referrals.HONEYPOT,
            "reason_max": referrals.REASON_MAX,
            "today": today().isoformat(),
        },
        status_code=status,
        headers=headers,
    )


def _closed() -> Template:
    return page("public/referral_closed.html", status_code=404)


@get("/referral")
async def referral_page(db_session: AsyncSession, settings: Settings) -> Template:
    choices = await referrals.municipalities(db_session)
    if not choices:
        return _closed()
    chosen = await referrals.default_municipality(db_session, settings, choices)
    return _page(choices, {"organisation_id": str(chosen) if chosen else ""}, FormErrors())


@post("/referral")
async def send_referral(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    choices = await referrals.municipalities(db_session)
    if not choices:
        return _closed()
    form = await form_of(request)
    key = referrals.address_key(settings, client_address(request))
    if wait := await referrals.retry_after(db_session, settings, key):
        return _page(
            choices, form, FormErrors(), 429, too_many=referrals.too_many_message(wait),
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    if referrals.is_robot(form):
        await referrals.count_sending(db_session, settings, key)
        return Redirect(SENT, status_code=303)
    parsed = referrals.read_referral_form(form, choices)
    if parsed.errors:
        return _page(choices, form, parsed.errors, 422)
    await referrals.receive(db_session, parsed, i18n.get_locale())
    await referrals.count_sending(db_session, settings, key)
    return Redirect(SENT, status_code=303)


@get("/referral/sent", sync_to_thread=False)
def referral_sent() -> Template:
    return page("public/referral_sent.html")


router = Router(
    path="/", include_in_schema=False, route_handlers=[referral_page, send_referral, referral_sent]
)
