"""Translations for the client (services 15 and 19): the officer-written texts of a plan (goals, guidance,
language studies, rationale, the note on rights and duties, names of services outside the programme) in
the languages the client reads, with their origin, freshness and — for machine output — a check by a
person. The migrant app shows them on "My plan" (app.domain.my_plan).

Guarded like the plan's own forms: the permission to change clients, the client in the actor's scope and
of the actor's own organisation (another organisation's client or plan answers 404), and the plan must
be that client's. Bad input shows the page again with the error at the form and the text kept (422); a
stale edit or an original changed since the page was opened answers 409 with the text kept.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.plan import IntegrationPlan
from app.domain import audit, machine_translation, messaging, plan_translations, plans
from app.domain.audit import Action
from app.domain.forms import FormErrors
from app.domain.plan_translations import SourceChanged, StaleEdit
from app.domain.policy import Actor, Permission, may_write_client
from app.i18n import _, language_name
from app.settings import Settings
from app.web import form_of, requires, staff_guard

WRITE = [requires(Permission.CLIENT_WRITE)]
BASE = "/clients/{client_id:uuid}/plans/{plan_id:uuid}/translations"


async def _load(
    db: AsyncSession, actor: Actor, client_id: uuid.UUID, plan_id: uuid.UUID
) -> tuple[IntegrationPlan, Client]:
    """The plan and its client, under the actor's client scope; 404 for anything else."""
    found = await plans.load_plan(db, actor, plan_id)
    if found is None or found[1].id != client_id:
        raise NotFoundException
    plan, client = found
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return plan, client


def _url(plan: IntegrationPlan, anchor: str | None = None) -> str:
    url = f"/officer/clients/{plan.client_id}/plans/{plan.id}/translations"
    return f"{url}#{anchor}" if anchor else url


async def _page(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    plan: IntegrationPlan,
    client: Client,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    lost_text: str | None = None,
    status: int = 200,
) -> Template:
    """The page; `section` ("<source key>|<language>") names the form whose input and errors are shown."""
    rows = await plan_translations.translations_of(db, plan.id)
    languages = plan_translations.target_languages(
        client, await plan_translations.client_languages(db, client), rows
    )
    sources = plan_translations.source_texts(plan)
    found = plan_translations.index(sources, rows)
    if section and form and lost_text is None:
        shown = {f"{s.key}|{code}" for s in sources for code in languages}
        if section not in shown:  # no form on the page for it: the typed text is shown with the message
            lost_text = str(form.get("text") or "") or None
    names = await messaging.staff_names(
        db, [r.translated_by_id for r in found.values()] + [r.checked_by_id for r in found.values()]
    )
    return Template(
        "officer/plans/translations.html",
        context={
            "plan": plan,
            "client": client,
            "actor": actor,
            "sources": sources,
            "languages": languages,
            "found": found,
            "names": names,
            "human_origins": plan_translations.HUMAN_ORIGINS,
            "origin_label": plan_translations.origin_label,
            "needs_check": plan_translations.needs_check,
            "is_stale": plan_translations.translation_is_stale,
            "mt_on": machine_translation.is_on(settings),
            "source_language": plan_translations.SOURCE_LANGUAGE,
            "section": section,
            "form": form or {},
            "errors": errors or FormErrors(),
            "notice": notice,
            "lost_text": lost_text,
        },
        status_code=status,
    )


def _anchor(data: dict[str, Any]) -> str:
    key, language = plan_translations.read_target(data)
    return f"{key.replace(':', '-')}-{language}"


@get(BASE, guards=WRITE)
async def translations_page(
    db_session: AsyncSession, actor: Actor, settings: Settings, client_id: uuid.UUID, plan_id: uuid.UUID
) -> Template:
    plan, client = await _load(db_session, actor, client_id, plan_id)
    await audit.record(
        db_session,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="integration_plan",
        object_id=plan.id,
        fields=["goals", "services", "translations"],
    )
    return await _page(db_session, actor, settings, plan, client)


@post(BASE, guards=WRITE)
async def save_translation(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    client_id: uuid.UUID,
    plan_id: uuid.UUID,
) -> Template | Redirect:
    plan, client = await _load(db_session, actor, client_id, plan_id)
    data = await form_of(request)
    parsed = plan_translations.read_form(data)
    section = f"{parsed.source_key}|{parsed.language}"
    if parsed.errors:
        return await _page(
            db_session,
            actor,
            settings,
            plan,
            client,
            section=section,
            form=data,
            errors=parsed.errors,
            status=422,
        )
    rows = await plan_translations.translations_of(db_session, plan.id)
    try:
        await plan_translations.save(db_session, actor, plan, client, rows, parsed)
    except SourceChanged:
        await db_session.rollback()
        plan, client = await _load(db_session, actor, client_id, plan_id)
        still_there = plan_translations.source_of(plan_translations.source_texts(plan), parsed.source_key)
        notice = (
            _(
                "The original text changed after you opened the page. Your translation has not been saved; "
                "it is still in the form. Check it against the text as it is now and save again."
            )
            if still_there
            else _(
                "The original text was removed from the plan after you opened the page. Nothing was saved."
            )
        )
        return await _page(
            db_session, actor, settings, plan, client, section=section, form=data, notice=notice,
            lost_text=None if still_there else parsed.text, status=409,
        )  # fmt: skip
    except StaleEdit:
        await db_session.rollback()
        plan, client = await _load(db_session, actor, client_id, plan_id)
        notice = _(
            "Someone saved a translation of this text into %(language)s after you opened the page. Your "
            "translation has not been saved; it is still in the form. The saved one is shown above it: save "
            "again to replace it."
        ) % {"language": language_name(parsed.language)}
        return await _page(
            db_session, actor, settings, plan, client, section=section, form=data, notice=notice, status=409
        )
    return Redirect(_url(plan, _anchor(data)), status_code=303)


@post(BASE + "/check", guards=WRITE)
async def check_translation(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    client_id: uuid.UUID,
    plan_id: uuid.UUID,
) -> Template | Redirect:
    plan, client = await _load(db_session, actor, client_id, plan_id)
    data = await form_of(request)
    rows = await plan_translations.translations_of(db_session, plan.id)
    try:
        await plan_translations.check(db_session, actor, plan, client, rows, data)
    except (SourceChanged, StaleEdit, plan_translations.NotAllowed) as problem:
        await db_session.rollback()
        plan, client = await _load(db_session, actor, client_id, plan_id)
        notice = (
            problem.message
            if isinstance(problem, plan_translations.NotAllowed)
            else _(
                "The text or its translation changed after you opened the page. Nothing was saved; check the "
                "translation as it is now."
            )
        )
        return await _page(db_session, actor, settings, plan, client, notice=notice, status=409)
    return Redirect(_url(plan, _anchor(data)), status_code=303)


@post(BASE + "/machine", guards=WRITE)
async def machine_translate(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    client_id: uuid.UUID,
    plan_id: uuid.UUID,
) -> Template | Redirect:
    plan, client = await _load(db_session, actor, client_id, plan_id)
    data = await form_of(request)
    key, language = plan_translations.read_target(data)
    section = f"{key}|{language}"
    rows = await plan_translations.translations_of(db_session, plan.id)
    try:
        await plan_translations.translate_by_machine(db_session, actor, settings, plan, client, rows, data)
    except machine_translation.MachineTranslationOff:
        return await _page(
            db_session,
            actor,
            settings,
            plan,
            client,
            notice=_("Machine translation is not in use."),
            status=409,
        )
    except SourceChanged:
        await db_session.rollback()
        plan, client = await _load(db_session, actor, client_id, plan_id)
        notice = _("The original text changed after you opened the page. Nothing was saved.")
        return await _page(db_session, actor, settings, plan, client, notice=notice, status=409)
    except machine_translation.MachineTranslationError as problem:
        await db_session.rollback()
        plan, client = await _load(db_session, actor, client_id, plan_id)
        return await _page(
            db_session, actor, settings, plan, client, section=section,
            errors=FormErrors(machine=problem.message), status=422,
        )  # fmt: skip
    return Redirect(_url(plan, _anchor(data)), status_code=303)


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[translations_page, save_translation, check_translation, machine_translate],
)
