"""Referrals by another authority (service 20, §9), the officers' side: the inbox at /officer/referrals,
one referral's page, accepting (a new client or a link to an existing one, and an outreach item) and
declining with a reason. The outreach permission; accepting also needs the right to change clients.
Only the officer's own organisation's referrals exist for them (another's id answers 404).

Bad input shows the page again with the errors and every value kept (422); a decision on a referral that
was decided or changed meanwhile is refused with the input kept and a translated message (409). The
rules: app.domain.referrals.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.outreach import AuthorityReferral, ReferralStatus
from app.domain import referrals
from app.domain.forms import FormErrors
from app.domain.policy import Actor, Permission, load_client
from app.domain.referrals import Candidates, CannotLink, ClientConflict, StaleReferral
from app.i18n import _
from app.settings import Settings
from app.web import form_of, requires, staff_guard

READ = [requires(Permission.OUTREACH)]
DECIDE = [requires(Permission.OUTREACH), requires(Permission.CLIENT_WRITE)]


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


def _url(referral: AuthorityReferral) -> str:
    return f"/officer/referrals/{referral.id}"


@get("/referrals", guards=READ)
async def inbox_page(db_session: AsyncSession, actor: Actor, settings: Settings) -> Template:
    found = await referrals.inbox(db_session, actor)
    return Template(
        "officer/referrals/inbox.html",
        context={
            "actor": actor,
            "inbox": found,
            "reference": referrals.reference,
            "form_url": settings.public_url + "/referral",
        },
    )


async def _referral(db: AsyncSession, actor: Actor, referral_id: uuid.UUID) -> AuthorityReferral:
    found = await referrals.load(db, actor, referral_id)
    if found is None:
        raise NotFoundException
    return found


async def _page(
    db: AsyncSession,
    actor: Actor,
    referral: AuthorityReferral,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    offered: Candidates | None = None,
    status: int = 200,
) -> Template:
    """One referral: its data, the decision or the forms that take it. `section` ("accept", "decline")
    names the form whose input and errors are shown again."""
    if offered is None:
        undecided = referral.status == ReferralStatus.RECEIVED
        offered = await referrals.candidates(db, actor, referral) if undecided else Candidates([], None)
    return Template(
        "officer/referrals/referral.html",
        context={
            "actor": actor,
            "referral": referral,
            "reference": referrals.reference(referral),
            "decision": await referrals.decision(db, actor, referral),
            "offered": offered,
            "section": section,
            "form": form or {},
            "errors": errors or FormErrors(),
            "notice": notice,
        },
        status_code=status,
    )


@get("/referrals/{referral_id:uuid}", guards=READ)
async def referral_page(db_session: AsyncSession, actor: Actor, referral_id: uuid.UUID) -> Template:
    referral = await _referral(db_session, actor, referral_id)
    await referrals.audit_view(db_session, actor, referral)
    return await _page(db_session, actor, referral)


async def _stale(
    db: AsyncSession, actor: Actor, referral_id: uuid.UUID, section: str, data: dict[str, Any]
) -> Template:
    await db.rollback()
    referral = await referrals.load(db, actor, referral_id)
    if referral is None:
        raise NotFoundException
    return await _page(
        db, actor, referral, section=section, form=data, notice=referrals.stale_message(referral), status=409
    )


@post("/referrals/{referral_id:uuid}/accept", guards=DECIDE)
async def accept_referral(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, referral_id: uuid.UUID
) -> Template | Redirect:
    referral = await _referral(db_session, actor, referral_id)
    data = await form_of(request)
    if referral.status != ReferralStatus.RECEIVED or _version(data) != referral.version:
        return await _stale(db_session, actor, referral_id, "accept", data)
    offered = await referrals.candidates(db_session, actor, referral)
    chosen, errors = referrals.read_accept_form(data, offered)
    existing = await load_client(db_session, actor, chosen) if chosen else None
    if chosen and existing is None:
        errors["client"] = _("Choose one of the options.")
    if errors:
        return await _page(
            db_session,
            actor,
            referral,
            section="accept",
            form=data,
            errors=errors,
            offered=offered,
            status=422,
        )
    try:
        await referrals.accept(db_session, actor, referral, _version(data), existing)
    except StaleReferral:
        return await _stale(db_session, actor, referral_id, "accept", data)
    except CannotLink as error:
        return await _page(
            db_session, actor, referral, section="accept", form=data, offered=offered, status=422,
            errors=FormErrors(client=error.message),
        )  # fmt: skip
    except ClientConflict:
        await db_session.rollback()
        referral = await _referral(db_session, actor, referral_id)
        conflict = FormErrors(
            client=_(
                "A client with this personal identity code is already registered: link the referral to them."
            )
        )
        return await _page(
            db_session, actor, referral, section="accept", form=data, errors=conflict, status=409
        )
    return Redirect(_url(referral), status_code=303)


@post("/referrals/{referral_id:uuid}/decline", guards=READ)
async def decline_referral(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, referral_id: uuid.UUID
) -> Template | Redirect:
    referral = await _referral(db_session, actor, referral_id)
    data = await form_of(request)
    reason, errors = referrals.read_decline(data)
    if errors or reason is None:
        return await _page(
            db_session, actor, referral, section="decline", form=data, errors=errors, status=422
        )
    try:
        await referrals.decline(db_session, actor, referral, _version(data), reason)
    except StaleReferral:
        return await _stale(db_session, actor, referral_id, "decline", data)
    return Redirect(_url(referral), status_code=303)


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[inbox_page, referral_page, accept_referral, decline_referral],
)
