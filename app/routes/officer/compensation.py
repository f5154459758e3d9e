"""Costs and compensation claims to the KEHA centre (process 3.4.12; 681/2023 §§59–71; decree 872/2024).

Every route needs Permission.COMPENSATION (integration officers and managers) and works on the actor's own
organisation only: another organisation's client, cost or claim answers 404. Bad input shows the form
again with the errors and every value kept (422); a stale edit or a claim that moved on answers 409 with
the input kept. A cost outside the compensated window of its category is saved with a warning, never
refused (the officer may know better than the data, e.g. a date that still has to be corrected).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.costs import ClaimStatus, CompensationClaim, Cost, CostCategory
from app.domain import audit, compensation, rules
from app.domain.audit import Action
from app.domain.clients import page_url as client_page_url
from app.domain.compensation import Frozen, StaleEdit, Step, Taken
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, Permission, load_client
from app.i18n import N_, _
from app.web import form_of, requires, staff_guard

GUARD = [requires(Permission.COMPENSATION)]
STALE_COST = N_(
    "Someone else saved changes to this cost after you opened the form. Your changes have not been saved; "
    "they are still in the form. The saved values are shown below it: save again to replace them."
)


def _context(actor: Actor, **context: Any) -> dict[str, Any]:
    return {
        "actor": actor,
        "euros": compensation.euros,
        "basis_label": compensation.basis_label,
        "categories": CostCategory,
        "today": today().isoformat(),
        **context,
    }


def _organisation(actor: Actor) -> None:
    """The compensation pages are an organisation's own (municipality or employment authority)."""
    if not compensation.may_manage(actor):
        raise PermissionDeniedException


async def _client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None or not compensation.may_manage(actor, client.organisation_id):
        raise NotFoundException
    return client


async def _cost(db: AsyncSession, actor: Actor, cost_id: uuid.UUID) -> tuple[Cost, Client | None]:
    found = await compensation.load_cost(db, actor, cost_id)
    if found is None:
        raise NotFoundException
    return found


async def _claim(db: AsyncSession, actor: Actor, claim_id: uuid.UUID) -> CompensationClaim:
    claim = await compensation.load_claim(db, actor, claim_id)
    if claim is None:
        raise NotFoundException
    return claim


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


def _client_url(client_id: uuid.UUID | None) -> str:
    return client_page_url(client_id, "compensation") if client_id else "/officer/compensation"


# --- the organisation's costs ---------------------------------------------------------------------


@get("/compensation", guards=GUARD)
async def cost_list(
    db_session: AsyncSession,
    actor: Actor,
    start: str | None = None,
    end: str | None = None,
    category: str | None = None,
    page: int = 1,
) -> Template:
    _organisation(actor)
    form = {"start": start or "", "end": end or "", "category": category or "", "page": str(page)}
    chosen, errors = compensation.read_cost_filter(form)
    found = await compensation.cost_list(db_session, actor, chosen)
    await db_session.commit()
    return Template(
        "officer/compensation/costs.html",
        context=_context(actor, form=form, errors=errors, found=found, chosen=chosen),
        status_code=422 if errors else 200,
    )


# --- a client's costs -----------------------------------------------------------------------------


async def _cost_form(
    db: AsyncSession,
    actor: Actor,
    client: Client | None,
    *,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    cost: Cost | None = None,
    conflict: dict[str, Any] | None = None,
    notice: str | None = None,
    locked: bool = False,
    status: int = 200,
) -> Template:
    windows = None
    if client is not None:
        windows = compensation.window_rows(await compensation.person(db, client))
    return Template(
        "officer/compensation/cost_form.html",
        context=_context(
            actor,
            client=client,
            cost=cost,
            form=form,
            errors=errors or FormErrors(),
            windows=windows,
            conflict=conflict,
            notice=notice,
            locked=locked,
        ),
        status_code=status,
    )


@get("/compensation/clients/{client_id:uuid}/costs/new", guards=GUARD)
async def new_cost(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template:
    client = await _client(db_session, actor, client_id)
    await audit.record(
        db_session, Action.VIEW, actor=actor, client_id=client.id, object_type="cost", fields=["compensation"]
    )
    return await _cost_form(db_session, actor, client, form={"incurred_on": today().isoformat()})


@post("/compensation/clients/{client_id:uuid}/costs", guards=GUARD)
async def create_cost(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _client(db_session, actor, client_id)
    data = await form_of(request)
    parsed = compensation.read_cost_form(data)
    if parsed.errors:
        return await _cost_form(db_session, actor, client, form=data, errors=parsed.errors, status=422)
    await compensation.create_cost(db_session, actor, client, parsed)
    return Redirect(_client_url(client.id), status_code=303)


@get("/compensation/costs/{cost_id:uuid}/edit", guards=GUARD)
async def edit_cost(db_session: AsyncSession, actor: Actor, cost_id: uuid.UUID) -> Template:
    cost, client = await _cost(db_session, actor, cost_id)
    status = await compensation.claim_status_of(db_session, cost)
    await audit.record(
        db_session, Action.VIEW, actor=actor, client_id=cost.client_id, object_type="cost", object_id=cost.id,
        fields=list(compensation.COST_FIELDS),
    )  # fmt: skip
    return await _cost_form(
        db_session,
        actor,
        client,
        form=compensation.cost_input(cost),
        cost=cost,
        locked=status is not None and status is not ClaimStatus.DRAFT,
    )


@post("/compensation/costs/{cost_id:uuid}", guards=GUARD)
async def update_cost(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, cost_id: uuid.UUID
) -> Template | Redirect:
    cost, client = await _cost(db_session, actor, cost_id)
    data = await form_of(request)
    parsed = compensation.read_cost_form(data)
    if parsed.errors:
        return await _cost_form(
            db_session, actor, client, form=data, errors=parsed.errors, cost=cost, status=422
        )
    try:
        await compensation.update_cost(db_session, actor, cost, _version(data), parsed)
    except Frozen:
        await db_session.rollback()
        cost, client = await _cost(db_session, actor, cost_id)
        return await _cost_form(
            db_session, actor, client, form=data, cost=cost, locked=True, status=409,
            notice=_("This cost is in a claim that has been sent to KEHA: it can no longer be changed."),
        )  # fmt: skip
    except StaleEdit:
        await db_session.rollback()
        cost, client = await _cost(db_session, actor, cost_id)
        saved = compensation.cost_input(cost)
        return await _cost_form(
            db_session, actor, client, form={**data, "version": saved["version"]}, cost=cost,
            conflict=saved, notice=_(STALE_COST), status=409,
        )  # fmt: skip
    return Redirect(_client_url(cost.client_id), status_code=303)


@post("/compensation/costs/{cost_id:uuid}/delete", guards=GUARD)
async def delete_cost(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, cost_id: uuid.UUID
) -> Template | Redirect:
    cost, client = await _cost(db_session, actor, cost_id)
    data = await form_of(request)
    client_id = cost.client_id
    try:
        await compensation.delete_cost(db_session, actor, cost, _version(data))
    except (Frozen, StaleEdit) as error:
        await db_session.rollback()
        cost, client = await _cost(db_session, actor, cost_id)
        notice = (
            _("This cost is in a claim that has been sent to KEHA: it can no longer be removed.")
            if isinstance(error, Frozen)
            else _("Someone else changed this cost after you opened the page. Check it and try again.")
        )
        return await _cost_form(
            db_session, actor, client, form=compensation.cost_input(cost), cost=cost,
            locked=isinstance(error, Frozen), notice=notice, status=409,
        )  # fmt: skip
    return Redirect(_client_url(client_id), status_code=303)


# --- claims ---------------------------------------------------------------------------------------


async def _claims_page(
    db: AsyncSession, actor: Actor, form: dict[str, Any], errors: FormErrors, status: int = 200
) -> Template:
    return Template(
        "officer/compensation/claims.html",
        context=_context(actor, claims=await compensation.claims(db, actor), form=form, errors=errors),
        status_code=status,
    )


@get("/compensation/claims", guards=GUARD)
async def claims_page(db_session: AsyncSession, actor: Actor) -> Template:
    _organisation(actor)
    year = today().year - 1
    form = {"period_start": f"{year}-01-01", "period_end": f"{year}-12-31"}
    return await _claims_page(db_session, actor, form, FormErrors())


@post("/compensation/claims", guards=GUARD)
async def create_claim(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    _organisation(actor)
    data = await form_of(request)
    values, errors = compensation.read_claim_form(data)
    if errors:
        return await _claims_page(db_session, actor, data, errors, 422)
    claim = await compensation.create_claim(db_session, actor, values)
    return Redirect(f"/officer/compensation/claims/{claim.id}", status_code=303)


async def _claim_page(
    db: AsyncSession,
    actor: Actor,
    claim: CompensationClaim,
    *,
    step: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    lines = await compensation.claim_lines(db, claim, compensation.CLAIM_PAGE_LINES)
    draft = claim.status is ClaimStatus.DRAFT
    unknown, unknown_count = await compensation.cannot_tell(db, claim) if draft else ([], 0)
    not_included = await compensation.costs_not_included(db, claim) if draft else []
    if lines or unknown or not_included:
        await audit.record(
            db, Action.VIEW, actor=actor, object_type="compensation_claim", object_id=claim.id,
            fields=["claim_lines"] if lines else ["not_included"],
        )  # fmt: skip
    await db.commit()
    return Template(
        "officer/compensation/claim.html",
        context=_context(
            actor,
            claim=claim,
            summary=await compensation.summary(db, claim),
            lines=lines,
            lines_limit=compensation.CLAIM_PAGE_LINES,
            unknown=unknown,
            unknown_count=unknown_count,
            not_included=not_included,
            steps=[s.value for s in compensation.next_steps(claim)],
            step=step,
            form=form or {},
            errors=errors or FormErrors(),
            notice=notice,
            deadline=rules.claim_deadline_of_year(claim.period_start.year),
        ),
        status_code=status,
    )


@get("/compensation/claims/{claim_id:uuid}", guards=GUARD)
async def claim_page(db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID) -> Template:
    claim = await _claim(db_session, actor, claim_id)
    return await _claim_page(db_session, actor, claim)


CLAIM_CHANGED = N_(
    "Someone else changed this claim after you opened the page. Nothing was saved; the claim is shown as "
    "it is now. Check it and try again."
)


@post("/compensation/claims/{claim_id:uuid}/package", guards=GUARD)
async def prepare_package(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID
) -> Template | Redirect:
    claim = await _claim(db_session, actor, claim_id)
    data = await form_of(request)
    try:
        await compensation.prepare_package(db_session, actor, claim, _version(data))
    except (Frozen, StaleEdit, Taken) as error:
        await db_session.rollback()
        claim = await _claim(db_session, actor, claim_id)
        notice = {
            Frozen: _("The claim has been sent: its lines no longer change."),
            StaleEdit: _(CLAIM_CHANGED),
            Taken: _("Another claim took some of the costs at the same moment. Prepare the package again."),
        }[type(error)]
        return await _claim_page(db_session, actor, claim, notice=notice, status=409)
    return Redirect(f"/officer/compensation/claims/{claim.id}#package", status_code=303)


@post("/compensation/claims/{claim_id:uuid}/status", guards=GUARD)
async def change_status(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID
) -> Template | Redirect:
    claim = await _claim(db_session, actor, claim_id)
    data = await form_of(request)
    step = str(data.get("step") or "")
    if _version(data) != claim.version:
        return await _claim_page(
            db_session, actor, claim, step=step, form=data, notice=_(CLAIM_CHANGED), status=409
        )
    parsed = compensation.read_step_form(claim, data)
    if (
        parsed.step is Step.SEND
        and not parsed.errors
        and not await compensation.line_count(db_session, claim)
    ):
        parsed.errors["sent_on"] = _("The claim has no lines: prepare the package first.")
    if parsed.errors:
        return await _claim_page(
            db_session, actor, claim, step=step, form=data, errors=parsed.errors, status=422
        )
    try:
        await compensation.take_step(db_session, actor, claim, _version(data), parsed)
    except StaleEdit:
        await db_session.rollback()
        claim = await _claim(db_session, actor, claim_id)
        return await _claim_page(
            db_session, actor, claim, step=step, form=data, notice=_(CLAIM_CHANGED), status=409
        )
    return Redirect(f"/officer/compensation/claims/{claim.id}#status", status_code=303)


@post("/compensation/claims/{claim_id:uuid}/delete", guards=GUARD)
async def delete_claim(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID
) -> Template | Redirect:
    claim = await _claim(db_session, actor, claim_id)
    data = await form_of(request)
    try:
        await compensation.delete_claim(db_session, actor, claim, _version(data))
    except (Frozen, StaleEdit) as error:
        await db_session.rollback()
        claim = await _claim(db_session, actor, claim_id)
        notice = _("Only a draft claim can be removed.") if isinstance(error, Frozen) else _(CLAIM_CHANGED)
        return await _claim_page(db_session, actor, claim, notice=notice, status=409)
    return Redirect("/officer/compensation/claims", status_code=303)


@get("/compensation/claims/{claim_id:uuid}/package.csv", guards=GUARD)
async def package_csv(db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID) -> Response[bytes]:
    """The claim package for KEHA: it identifies the persons, so the download is audited, not cached and
    named without names."""
    claim = await _claim(db_session, actor, claim_id)
    rows = await compensation.claim_lines(db_session, claim)
    await audit.record(
        db_session, Action.EXPORT, actor=actor, object_type="compensation_claim", object_id=claim.id,
        fields=[name for name, _title in compensation.CSV_COLUMNS],
    )  # fmt: skip
    return Response(
        content=compensation.package_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{compensation.package_file_name(claim)}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@get("/compensation/claims/{claim_id:uuid}/summary", guards=GUARD)
async def claim_summary(db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID) -> Template:
    """A printable summary: totals per basis and rate, the number of persons, no names."""
    claim = await _claim(db_session, actor, claim_id)
    return Template(
        "officer/compensation/summary.html",
        context=_context(
            actor,
            claim=claim,
            summary=await compensation.summary(db_session, claim),
            organisation=await compensation.organisation_name(db_session, claim.organisation_id),
            printed=today(),
        ),
    )


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        cost_list,
        new_cost,
        create_cost,
        edit_cost,
        update_cost,
        delete_cost,
        claims_page,
        create_claim,
        claim_page,
        prepare_package,
        change_status,
        delete_claim,
        package_csv,
        claim_summary,
    ],
)
