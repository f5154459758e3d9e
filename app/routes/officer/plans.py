"""Integration plans (services 3 and 12): draft, edit, services, approval, reviews, pauses, end, print,
and moving a client between the municipality and the employment authority.

Each form on the plan page posts to its own route; bad input shows the same page again with that
section's errors and everything typed kept (422), a stale edit answers 409.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import i18n
from app.db.assessment import Cefr, LanguageSkill
from app.db.client import Client
from app.db.organisation import Staff
from app.db.plan import (
    ApprovalMethod,
    ExtensionReason,
    GoalAttainment,
    GoalKind,
    GoalType,
    IntegrationPlan,
    PauseReason,
    PlanEndReason,
    PlanService,
    PlanServiceKind,
    PlanServiceStatus,
    ReviewKind,
)
from app.db.programme import ProgrammeService
from app.domain import audit, benefits, client_passkeys, family_overview, plans, programme, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, as_input, text, today
from app.domain.policy import Actor, Permission, load_client, may_write_client
from app.domain.translations import content_hash
from app.i18n import _
from app.web import requires, staff_guard

CHOICES = {
    "goal_kinds": GoalKind,
    "goal_types": GoalType,
    "extension_reasons": ExtensionReason,
    "service_kinds": PlanServiceKind,
    "service_statuses": PlanServiceStatus,
    "next_statuses": plans.NEXT_STATUSES,
    "review_kinds": ReviewKind,
    "pause_reasons": PauseReason,
    "end_reasons": PlanEndReason,
    "goal_attainments": GoalAttainment,
    "approval_methods": [m for m in ApprovalMethod if m != ApprovalMethod.PASSKEY],
    "cefr_levels": Cefr,
    "skills": LanguageSkill,
}


async def _plan_or_404(db: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> tuple[IntegrationPlan, Client]:
    found = await plans.load_plan(db, actor, plan_id)
    if found is None:
        raise NotFoundException
    return found


async def _writable(db: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> tuple[IntegrationPlan, Client]:
    plan, client = await _plan_or_404(db, actor, plan_id)
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return plan, client


async def _service_texts(
    db: AsyncSession, services: list[PlanService], locale: str
) -> dict[uuid.UUID, programme.ServiceText]:
    ids = {s.programme_service_id for s in services if s.programme_service_id}
    if not ids:
        return {}
    found = (
        await db.scalars(
            select(ProgrammeService)
            .options(selectinload(ProgrammeService.texts))
            .where(ProgrammeService.id.in_(ids))
        )
    ).all()
    return {s.id: programme.display_text(s, locale) for s in found}


async def _page(
    db: AsyncSession,
    actor: Actor,
    plan: IntegrationPlan,
    client: Client,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Template:
    """The plan page; `section` names the form whose input and errors are shown again."""
    versions = await plans.versions(db, plan)
    latest = versions[0][0] if versions else None
    approved = next((v for v, approvals in versions if approvals), None)
    current_hash = content_hash(plans.content_of(plan))
    names = await db.execute(
        select(Staff.id, Staff.full_name).where(
            Staff.organisation_id.in_({plan.organisation_id, actor.organisation_id})
        )
    )
    staff_names = {row.id: row.full_name for row in names}
    catalogue = (
        await programme.catalogue(db, actor.organisation_id, active_only=True)
        if may_write_client(actor, client)
        else []
    )
    context = {
        "plan": plan,
        "client": client,
        "actor": actor,
        "may_write": may_write_client(actor, client) and plan.status in plans.OPEN_STATUSES,
        "versions": versions,
        "latest_version": latest,
        "approved_version": approved,
        "changed_since_presented": latest is not None and latest.content_hash != current_hash,
        "changed_since_approved": approved is not None and approved.content_hash != current_hash,
        "completeness": plans.check_complete(plan),
        "reviews": await plans.reviews(db, plan),
        "service_texts": await _service_texts(db, plan.services, i18n.get_locale()),
        "programme_types": await plans.programme_types(db, plan.services),
        "catalogue": [(s, programme.display_text(s, i18n.get_locale())) for s in catalogue],
        "staff_names": staff_names,
        # Passkey approvals are verified again on every display (the template passes the app's settings).
        "passkey_check": client_passkeys.approval_check,
        "section": section,
        "form": form or {},
        "errors": errors or FormErrors(),
        "today": today(),
        "referral_by": rules.service_guidance_deadline(plan.starts_on),
        # §24: participation binds a client who receives unemployment benefit or social assistance.
        "binding": await benefits.binding(db, client.id, today()),
        **CHOICES,
    }
    return Template("officer/plans/detail.html", context=context, status_code=status)


async def _audit_view(db: AsyncSession, actor: Actor, plan: IntegrationPlan, fields: list[str]) -> None:
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=plan.client_id,
        object_type="integration_plan",
        object_id=plan.id,
        fields=fields,
    )


# --- start and view ---------------------------------------------------------------------------------


@post("/clients/{client_id:uuid}/plans", guards=[requires(Permission.CLIENT_WRITE)])
async def start_plan(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template | Redirect:
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    try:
        plan = await plans.start_draft(db_session, actor, client)
    except plans.PlanRuleError as problem:
        return Template(
            "officer/plans/cannot_start.html",
            context={"client": client, "errors": problem.errors, "actor": actor},
            status_code=422,
        )
    return Redirect(f"/officer/plans/{plan.id}", status_code=303)


@get("/plans/{plan_id:uuid}", guards=[requires(Permission.CLIENT_READ)])
async def plan_page(db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> Template:
    plan, client = await _plan_or_404(db_session, actor, plan_id)
    await _audit_view(db_session, actor, plan, ["plan", "services", "reviews", "approvals"])
    return await _page(db_session, actor, plan, client)


def _plan_form_values(plan: IntegrationPlan) -> dict[str, Any]:
    return as_input(plan, plans.CONTENT_FIELDS)


def _edit_page(
    plan: IntegrationPlan,
    client: Client,
    actor: Actor,
    form: dict[str, Any],
    goals: list[tuple[str, str, str]],
    limits: plans.Limits,
    errors: FormErrors | None = None,
    conflict: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "officer/plans/form.html",
        context={
            "plan": plan,
            "client": client,
            "actor": actor,
            "form": form,
            "goals": goals,
            "limits": limits,
            "errors": errors or FormErrors(),
            "conflict": conflict,
            **CHOICES,
        },
        status_code=status,
    )


@get("/plans/{plan_id:uuid}/edit", guards=[requires(Permission.CLIENT_WRITE)])
async def edit_plan(db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> Template:
    plan, client = await _writable(db_session, actor, plan_id)
    if plan.status not in plans.OPEN_STATUSES:
        raise PermissionDeniedException(_("An ended plan is not changed any more."))
    await _audit_view(db_session, actor, plan, ["plan"])
    limits = await plans.limits_for(db_session, client, plan, plan.starts_on, plan.under_25_self_study)
    goals = [(g.kind.value, g.goal_type.value, g.text) for g in plan.goals]
    return _edit_page(
        plan, client, actor, {**_plan_form_values(plan), "version": plan.version}, goals, limits
    )


@post("/plans/{plan_id:uuid}", guards=[requires(Permission.CLIENT_WRITE)])
async def save_plan(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    form = await request.form()
    data = {k: form.get(k) for k in form}
    goals = [
        (str(a), str(b), str(c))
        for a, b, c in zip(
            form.getall("goal_kind", []),
            form.getall("goal_type", []),
            form.getall("goal_text", []),
            strict=False,
        )
    ]
    if data.get("add_goal"):
        goals.append(("plan_period", "", ""))
    parsed = plans.read_plan_form(data, goals)
    starts = parsed.values.get("starts_on") or plan.starts_on
    limits = await plans.limits_for(
        db_session, client, plan, starts, bool(parsed.values["under_25_self_study"])
    )
    if parsed.errors or data.get("add_goal"):
        return _edit_page(
            plan, client, actor, data, goals, limits, parsed.errors, status=422 if parsed.errors else 200
        )
    try:
        await plans.save(db_session, actor, plan, client, int(data.get("version") or 0), parsed)
    except plans.PlanRuleError as problem:  # raised before anything changed
        return _edit_page(plan, client, actor, data, goals, limits, problem.errors, status=422)
    except plans.StaleEdit:
        await db_session.rollback()
        fresh, client = await _writable(db_session, actor, plan_id)
        return _edit_page(
            fresh,
            client,
            actor,
            {**data, "version": fresh.version},
            goals,
            limits,
            FormErrors(
                version=_(
                    "Someone else saved this plan after you opened it. Your text is kept below; the saved "
                    "values are shown beside the fields. Save again to keep yours."
                )
            ),
            conflict=_plan_form_values(fresh),
            status=409,
        )
    return Redirect(f"/officer/plans/{plan.id}", status_code=303)


# --- services ---------------------------------------------------------------------------------------


@post("/plans/{plan_id:uuid}/services", guards=[requires(Permission.CLIENT_WRITE)])
async def add_service(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    data = dict((await request.form()).items())
    errors = FormErrors()
    chosen = await plans.read_service_form(db_session, actor, data, errors)
    if chosen is None:
        return await _page(
            db_session, actor, plan, client, section="services", form=data, errors=errors, status=422
        )
    try:
        await plans.add_service(db_session, actor, plan, client, chosen)
    except plans.PlanRuleError as problem:
        return await _page(
            db_session, actor, plan, client, section="services", form=data, errors=problem.errors, status=422
        )
    return Redirect(f"/officer/plans/{plan.id}#services", status_code=303)


@post("/plans/{plan_id:uuid}/services/{service_id:uuid}/status", guards=[requires(Permission.CLIENT_WRITE)])
async def service_status(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID, service_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    service = next((s for s in plan.services if s.id == service_id), None)
    if service is None:
        raise NotFoundException
    data = dict((await request.form()).items())
    section = f"service-{service.id}"
    try:
        await plans.change_service_status(db_session, actor, plan, client, service, data)
    except plans.PlanRuleError as problem:
        await db_session.rollback()
        plan, client = await _writable(db_session, actor, plan_id)
        return await _page(
            db_session, actor, plan, client, section=section, form=data, errors=problem.errors, status=422
        )
    except plans.StaleEdit:
        await db_session.rollback()
        plan, client = await _writable(db_session, actor, plan_id)
        errors = FormErrors(
            status=_("Someone else updated this service after you opened the page. Check it and try again.")
        )
        return await _page(
            db_session, actor, plan, client, section=section, form=data, errors=errors, status=409
        )
    return Redirect(f"/officer/plans/{plan.id}#service-{service.id}", status_code=303)


@post("/plans/{plan_id:uuid}/services/{service_id:uuid}/delete", guards=[requires(Permission.CLIENT_WRITE)])
async def remove_service(
    db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID, service_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    service = next((s for s in plan.services if s.id == service_id), None)
    if service is None:
        raise NotFoundException
    try:
        await plans.remove_service(db_session, actor, plan, client, service)
    except plans.PlanRuleError as problem:
        return await _page(
            db_session,
            actor,
            plan,
            client,
            section=f"service-{service.id}",
            errors=problem.errors,
            status=422,
        )
    return Redirect(f"/officer/plans/{plan.id}#services", status_code=303)


# --- approval ----------------------------------------------------------------------------------------


@post("/plans/{plan_id:uuid}/present", guards=[requires(Permission.CLIENT_WRITE)])
async def present_plan(db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    try:
        await plans.present(db_session, actor, plan, client)
    except plans.PlanRuleError as problem:
        return await _page(
            db_session, actor, plan, client, section="approval", errors=problem.errors, status=422
        )
    return Redirect(f"/officer/plans/{plan.id}#approval", status_code=303)


@post("/plans/{plan_id:uuid}/approvals", guards=[requires(Permission.CLIENT_WRITE)])
async def record_approval(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    data = dict((await request.form()).items())
    errors = FormErrors()
    try:
        method = ApprovalMethod(str(data.get("method") or ""))
    except ValueError:
        errors["method"] = _("Choose how the client approved the plan.")
    try:
        version_id = uuid.UUID(str(data.get("version_id") or ""))
    except ValueError:
        errors["plan"] = _("Approve the latest presented version of the plan.")
    witness = text(data, "witness", 200, errors)
    if not errors:
        try:
            await plans.approve_in_person(db_session, actor, plan, client, version_id, method, witness)
        except plans.PlanRuleError as problem:
            errors = problem.errors
    if errors:
        await db_session.rollback()
        plan, client = await _writable(db_session, actor, plan_id)
        return await _page(
            db_session, actor, plan, client, section="approval", form=data, errors=errors, status=422
        )
    return Redirect(f"/officer/plans/{plan.id}#approval", status_code=303)


# --- reviews, pauses, end --------------------------------------------------------------------------


@post("/plans/{plan_id:uuid}/reviews", guards=[requires(Permission.CLIENT_WRITE)])
async def add_review(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    data = dict((await request.form()).items())
    try:
        await plans.add_review(db_session, actor, plan, client, data)
    except plans.PlanRuleError as problem:
        return await _page(
            db_session, actor, plan, client, section="reviews", form=data, errors=problem.errors, status=422
        )
    return Redirect(f"/officer/plans/{plan.id}#reviews", status_code=303)


@post("/plans/{plan_id:uuid}/pauses", guards=[requires(Permission.CLIENT_WRITE)])
async def add_pause(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    data = dict((await request.form()).items())
    try:
        await plans.add_pause(db_session, actor, plan, client, data)
    except plans.PlanRuleError as problem:
        await db_session.rollback()
        plan, client = await _writable(db_session, actor, plan_id)
        return await _page(
            db_session, actor, plan, client, section="pauses", form=data, errors=problem.errors, status=422
        )
    return Redirect(f"/officer/plans/{plan.id}#pauses", status_code=303)


@post("/plans/{plan_id:uuid}/end", guards=[requires(Permission.CLIENT_WRITE)])
async def end_plan(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID
) -> Template | Redirect:
    plan, client = await _writable(db_session, actor, plan_id)
    data = dict((await request.form()).items())
    try:
        await plans.end_plan(db_session, actor, plan, client, data)
    except plans.PlanRuleError as problem:
        return await _page(
            db_session, actor, plan, client, section="end", form=data, errors=problem.errors, status=422
        )
    except plans.StaleEdit:
        await db_session.rollback()
        plan, client = await _writable(db_session, actor, plan_id)
        errors = FormErrors(
            plan=_("Someone else changed this plan after you opened the page. Check it and try again.")
        )
        return await _page(
            db_session, actor, plan, client, section="end", form=data, errors=errors, status=409
        )
    return Redirect(f"/officer/plans/{plan.id}", status_code=303)


# --- print -------------------------------------------------------------------------------------------


@get("/plans/{plan_id:uuid}/print", guards=[requires(Permission.CLIENT_READ)])
async def print_plan(
    db_session: AsyncSession, actor: Actor, plan_id: uuid.UUID, lang: str | None = None, finnish: bool = False
) -> Template:
    """The plan on A4 in the client's language, optionally with Finnish side by side."""
    plan, client = await _plan_or_404(db_session, actor, plan_id)
    languages = [code for code, _name in i18n.language_choices() if code in i18n.PUBLIC_LOCALES]
    preferred = client.preferred_locale or client.mother_tongue or i18n.DEFAULT_LOCALE
    chosen = (
        lang if lang in i18n.PUBLIC_LOCALES else (preferred if preferred in i18n.PUBLIC_LOCALES else "fi")
    )
    columns = [chosen] + (["fi"] if finnish and chosen != "fi" else [])
    await _audit_view(db_session, actor, plan, ["plan", "services", "print"])
    officer = await db_session.scalar(select(Staff.full_name).where(Staff.id == plan.officer_id))
    texts = {code: await _service_texts(db_session, plan.services, code) for code in columns}
    return Template(
        "officer/plans/print.html",
        context={
            "plan": plan,
            "client": client,
            "actor": actor,
            "columns": columns,
            "chosen": chosen,
            "finnish": finnish,
            "languages": sorted(set(languages) | set(i18n.PUBLIC_LOCALES)),
            "texts": texts,
            "officer": officer,
            "approved_version": await plans.approved_version(db_session, plan),
            "interface_locale": i18n.get_locale(),
        },
    )


# --- transfer ----------------------------------------------------------------------------------------


@post("/clients/{client_id:uuid}/transfer", guards=[requires(Permission.CLIENT_WRITE)])
async def transfer_client(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    data = dict((await request.form()).items())
    try:
        await plans.transfer(db_session, actor, client, data)
    except (plans.PlanRuleError, plans.StaleEdit) as problem:
        errors = (
            problem.errors
            if isinstance(problem, plans.PlanRuleError)
            else FormErrors(
                version=_("Someone else changed this client after you opened the page. Try again.")
            )
        )
        await db_session.rollback()
        client = await load_client(db_session, actor, client_id)
        return Template(
            "officer/plans/transfer.html",
            context={
                "client": client,
                "actor": actor,
                "form": data,
                "errors": errors,
                "targets": await plans.transfer_targets(db_session, actor),
            },
            status_code=409 if isinstance(problem, plans.StaleEdit) else 422,
        )
    # The client now belongs to the other authority: this organisation no longer sees them.
    return Redirect("/officer/clients?transferred=1", status_code=303)


# --- family overview ---------------------------------------------------------------------------------


@post("/clients/{client_id:uuid}/family-overview", guards=[requires(Permission.CLIENT_WRITE)])
async def create_family_overview(
    db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await load_client(db_session, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    try:
        overview = await family_overview.create(db_session, actor, client)
    except plans.PlanRuleError as problem:
        return Template(
            "officer/plans/cannot_start.html",
            context={"client": client, "errors": problem.errors, "actor": actor, "anchor": "family"},
            status_code=422,
        )
    return Redirect(f"/officer/family-overviews/{overview.id}", status_code=303)


async def _overview_page(
    db: AsyncSession, actor: Actor, found: family_overview.Overview, **extra: Any
) -> Template:
    status = extra.pop("status", 200)
    return Template(
        "officer/plans/family_overview.html",
        context={
            "found": found,
            "actor": actor,
            "may_write": all(may_write_client(actor, m.client) for m in found.members),
            "form": extra.pop("form", None)
            or {
                "shared_goals": found.overview.shared_goals or "",
                "family_needs": found.overview.family_needs or "",
            },
            "errors": extra.pop("errors", FormErrors()),
            **extra,
        },
        status_code=status,
    )


@get("/family-overviews/{overview_id:uuid}", guards=[requires(Permission.CLIENT_READ)])
async def family_overview_page(db_session: AsyncSession, actor: Actor, overview_id: uuid.UUID) -> Template:
    found = await family_overview.load(db_session, actor, overview_id)
    if found is None:
        raise NotFoundException
    for member in found.members:
        await audit.record(
            db_session,
            Action.VIEW,
            actor=actor,
            client_id=member.client.id,
            object_type="family_overview",
            object_id=overview_id,
        )
    return await _overview_page(db_session, actor, found)


@post("/family-overviews/{overview_id:uuid}", guards=[requires(Permission.CLIENT_WRITE)])
async def save_family_overview(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, overview_id: uuid.UUID
) -> Template | Redirect:
    found = await family_overview.load(db_session, actor, overview_id)
    if found is None:
        raise NotFoundException
    if not all(may_write_client(actor, m.client) for m in found.members):
        raise PermissionDeniedException
    data = dict((await request.form()).items())
    try:
        await family_overview.update(db_session, actor, found, data)
    except plans.PlanRuleError as problem:
        return await _overview_page(db_session, actor, found, form=data, errors=problem.errors, status=422)
    except plans.StaleEdit:
        await db_session.rollback()
        fresh = await family_overview.load(db_session, actor, overview_id)
        if fresh is None:
            raise NotFoundException from None
        errors = FormErrors(
            version=_(
                "Someone else saved this overview after you opened it. Your text is kept below; save again to keep it."
            )
        )
        return await _overview_page(db_session, actor, fresh, form=data, errors=errors, status=409)
    return Redirect(f"/officer/family-overviews/{overview_id}", status_code=303)


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        start_plan,
        plan_page,
        edit_plan,
        save_plan,
        add_service,
        service_status,
        remove_service,
        present_plan,
        record_approval,
        add_review,
        add_pause,
        end_plan,
        print_plan,
        transfer_client,
        create_family_overview,
        family_overview_page,
        save_family_overview,
    ],
)
