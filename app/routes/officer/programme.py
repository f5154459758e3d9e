"""Integration programme (service 7, §13): the organisation's catalogue of services, their texts in several
languages and their intakes.

The catalogue is not client data: the list filters travel as GET query parameters. Changes are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import TextOrigin
from app.db.programme import ProgrammePeriod, ProgrammeService, ServiceType
from app.domain import programme
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, Permission
from app.i18n import N_, _, format_date, get_locale, language_name
from app.web import requires, staff_guard

STATUS_FILTERS = {"active": True, "inactive": False}
# Field names of the service form, for the conflict view (translated where shown).
SERVICE_FIELDS = {
    "service_type": N_("Type of service"),
    "provider_id": N_("Provider"),
    "provider_name": N_("Provider's name"),
    "source_language": N_("Language of the texts"),
    "remote": N_("Can be taken remotely"),
    "place": N_("Place"),
    "hours": N_("Hours of teaching"),
    "active": N_("Active"),
    "name": N_("Name"),
    "description": N_("Description"),
    "eligibility": N_("Who can take part"),
}
PERIOD_FIELDS = {
    "starts_on": N_("Starts on"),
    "ends_on": N_("Ends on"),
    "capacity": N_("Places"),
    "language": N_("Teaching language"),
    "note": N_("Note"),
}


@dataclass(frozen=True)
class Row:
    """One service as the catalogue list shows it."""

    service: ProgrammeService
    text: programme.ServiceText
    provider: str
    organisation: str
    next_period: ProgrammePeriod | None
    places_left: int | None
    stale: list[str]
    below_minimum: bool


def _common(actor: Actor, **context: Any) -> dict[str, Any]:
    return {
        "actor": actor,
        "service_types": ServiceType,
        "text_languages": programme.TEXT_LANGUAGES,
        "text_language_choices": [(code, language_name(code)) for code in programme.TEXT_LANGUAGES],
        "translation_origins": programme.TRANSLATION_ORIGINS,
        "minimum_hours": programme.CIVIC_ORIENTATION_MIN_HOURS,
        "service_fields": SERVICE_FIELDS,
        "period_fields": PERIOD_FIELDS,
        "may_manage": actor.has(Permission.PROGRAMME_MANAGE),
        **context,
    }


async def _readable(db: AsyncSession, actor: Actor, service_id: uuid.UUID) -> ProgrammeService:
    ids = await programme.readable_organisation_ids(db, actor)
    service = await programme.load_service(db, ids, service_id)
    if service is None:
        raise NotFoundException
    return service


async def _manageable(db: AsyncSession, actor: Actor, service_id: uuid.UUID) -> ProgrammeService:
    """Only the own organisation's catalogue is changed (the route guard asks for PROGRAMME_MANAGE)."""
    service = await programme.load_service(db, actor.organisation_id, service_id)
    if service is None:
        raise NotFoundException
    return service


def _period_or_404(service: ProgrammeService, period_id: uuid.UUID) -> ProgrammePeriod:
    period = programme.period_of(service, period_id)
    if period is None:
        raise NotFoundException
    return period


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


# --- the list -------------------------------------------------------------------------------------


@get("/programme", guards=[requires(Permission.PROGRAMME_READ)])
async def catalogue_page(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    query = request.query_params
    filters = {
        "type": str(query.get("type") or ""),
        "language": str(query.get("language") or "")[:12],
        "status": str(query.get("status") or ""),
    }
    service_type = ServiceType(filters["type"]) if filters["type"] in set(ServiceType) else None
    organisation_ids = await programme.readable_organisation_ids(db_session, actor)
    services = await programme.catalogue_of(
        db_session,
        organisation_ids,
        active=STATUS_FILTERS.get(filters["status"]),
        service_type=service_type,
        language=filters["language"] or None,
    )
    names = await programme.organisation_names(
        db_session, [s.provider_id for s in services] + list(organisation_ids)
    )
    on = today()
    upcoming = {s.id: programme.next_period(s, on) for s in services}
    taken = await programme.places_taken(db_session, [p.id for p in upcoming.values() if p])
    locale = get_locale()
    rows = [
        Row(
            service=s,
            text=programme.display_text(s, locale),
            provider=programme.provider_label(s, names),
            organisation=names.get(s.organisation_id, ""),
            next_period=upcoming[s.id],
            places_left=programme.places_left(p, taken) if (p := upcoming[s.id]) else None,
            stale=programme.stale_languages(s),
            below_minimum=programme.below_civic_minimum(s),
        )
        for s in services
    ]
    offered = sorted({lang.language for s in services for lang in s.languages} | {filters["language"]} - {""})
    return Template(
        "officer/programme/list.html",
        context=_common(
            actor,
            rows=rows,
            filters=filters,
            offered_languages=offered,
            several_organisations=len(organisation_ids) > 1,
        ),
    )


# --- create and edit ------------------------------------------------------------------------------


async def _form_page(db: AsyncSession, actor: Actor, status: int = 200, **context: Any) -> Template:
    context.setdefault("errors", FormErrors())
    context.setdefault("conflict", None)
    context.setdefault("service", None)
    return Template(
        "officer/programme/form.html",
        context=_common(actor, providers=await programme.provider_choices(db, actor), **context),
        status_code=status,
    )


async def _service_form(request: HTMXRequest) -> tuple[dict[str, Any], list[str]]:
    form = await request.form()
    data = {k: form.get(k) for k in form}
    return data, [str(code) for code in form.getall("languages", [])]


@get("/programme/new", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def new_service(db_session: AsyncSession, actor: Actor) -> Template:
    return await _form_page(db_session, actor, form={"source_language": "fi", "active": "on"}, languages=[])


@post("/programme", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def create_service(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data, languages = await _service_form(request)
    providers = await programme.provider_choices(db_session, actor)
    parsed = programme.read_service_form(data, languages, providers)
    if parsed.errors:
        return await _form_page(db_session, actor, 422, form=data, languages=languages, errors=parsed.errors)
    service = await programme.create_service(db_session, actor, parsed)
    return Redirect(f"/officer/programme/{service.id}", status_code=303)


@get("/programme/{service_id:uuid}", guards=[requires(Permission.PROGRAMME_READ)])
async def service_page(db_session: AsyncSession, actor: Actor, service_id: uuid.UUID) -> Template:
    service = await _readable(db_session, actor, service_id)
    return await _detail(db_session, actor, service)


async def _detail(
    db: AsyncSession, actor: Actor, service: ProgrammeService, status: int = 200, **context: Any
) -> Template:
    names = await programme.organisation_names(db, [service.provider_id, service.organisation_id])
    taken = await programme.places_taken(db, [p.id for p in service.periods])
    on = today()
    texts = {t.language: t for t in service.texts}
    context.setdefault("period_form", {})
    context.setdefault("period_errors", FormErrors())
    context.setdefault("period_message", None)
    return Template(
        "officer/programme/detail.html",
        context=_common(
            actor,
            service=service,
            shown=programme.display_text(service, get_locale()),
            source=programme.source_text(service),
            texts=texts,
            stale=programme.stale_languages(service),
            provider=programme.provider_label(service, names),
            organisation=names.get(service.organisation_id, ""),
            below_minimum=programme.below_civic_minimum(service),
            taken=taken,
            places_left={p.id: programme.places_left(p, taken) for p in service.periods},
            next_period=programme.next_period(service, on),
            today=on,
            may_manage=actor.has(Permission.PROGRAMME_MANAGE)
            and service.organisation_id == actor.organisation_id,
            **context,
        ),
        status_code=status,
    )


@get("/programme/{service_id:uuid}/edit", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def edit_service(db_session: AsyncSession, actor: Actor, service_id: uuid.UUID) -> Template:
    service = await _manageable(db_session, actor, service_id)
    return await _form_page(
        db_session,
        actor,
        form={**programme.service_form_values(service), "version": service.version},
        languages=[lang.language for lang in service.languages],
        service=service,
    )


@post("/programme/{service_id:uuid}", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def update_service(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, service_id: uuid.UUID
) -> Template | Redirect:
    service = await _manageable(db_session, actor, service_id)
    data, languages = await _service_form(request)
    providers = await programme.provider_choices(db_session, actor)
    parsed = programme.read_service_form(data, languages, providers)
    programme.check_source_change(service, parsed)
    if parsed.errors:
        return await _form_page(
            db_session, actor, 422, form=data, languages=languages, errors=parsed.errors, service=service
        )
    try:
        await programme.update_service(db_session, actor, service, _version(data), parsed)
    except programme.StaleEdit:
        await db_session.rollback()
        fresh = await _manageable(db_session, actor, service_id)
        # Keep what the user typed; show what is saved now; the next save is a conscious overwrite.
        return await _form_page(
            db_session,
            actor,
            409,
            form={**data, "version": fresh.version},
            languages=languages,
            service=fresh,
            conflict=programme.service_form_values(fresh),
            conflict_languages=[lang.language for lang in fresh.languages],
        )
    return Redirect(f"/officer/programme/{service.id}", status_code=303)


# --- translations ---------------------------------------------------------------------------------


def _translation_language(service: ProgrammeService, language: str) -> str:
    """A language a translation can be written in: a text language other than the source."""
    if language not in programme.TEXT_LANGUAGES or language == service.source_language:
        raise NotFoundException
    return language


def _text_page(
    actor: Actor,
    service: ProgrammeService,
    language: str,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
    conflict: bool = False,
) -> Template:
    row = programme.translation_of(service, language)
    return Template(
        "officer/programme/text_form.html",
        context=_common(
            actor,
            service=service,
            language=language,
            source=programme.source_text(service),
            translation=row,
            stale=row is not None and programme.translation_is_stale(service, row),
            form=form,
            errors=errors or FormErrors(),
            conflict=conflict,
        ),
        status_code=status,
    )


@get("/programme/{service_id:uuid}/texts/{language:str}", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def edit_text(db_session: AsyncSession, actor: Actor, service_id: uuid.UUID, language: str) -> Template:
    service = await _manageable(db_session, actor, service_id)
    language = _translation_language(service, language)
    row = programme.translation_of(service, language)
    if row is None:
        form: dict[str, Any] = {"origin": TextOrigin.OFFICER.value, "version": ""}
    else:
        form = {**programme.text_content(row), "origin": row.origin.value, "version": row.version}
    return _text_page(actor, service, language, form)


@post("/programme/{service_id:uuid}/texts/{language:str}", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def save_text(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, service_id: uuid.UUID, language: str
) -> Template | Redirect:
    service = await _manageable(db_session, actor, service_id)
    language = _translation_language(service, language)
    data = dict((await request.form()).items())
    parsed = programme.read_translation_form(data)
    if parsed.errors:
        return _text_page(actor, service, language, data, parsed.errors, 422)
    raw = str(data.get("version") or "").strip()
    seen = int(raw) if raw.isdigit() else None
    try:
        await programme.save_translation(db_session, actor, service, language, seen, parsed)
    except programme.StaleEdit:
        await db_session.rollback()
        fresh = await _manageable(db_session, actor, service_id)
        row = programme.translation_of(fresh, language)
        form = {**data, "version": row.version if row else ""}
        return _text_page(actor, fresh, language, form, status=409, conflict=True)
    return Redirect(f"/officer/programme/{service.id}#texts", status_code=303)


@post(
    "/programme/{service_id:uuid}/texts/{language:str}/delete",
    guards=[requires(Permission.PROGRAMME_MANAGE)],
)
async def delete_text(
    db_session: AsyncSession, actor: Actor, service_id: uuid.UUID, language: str
) -> Redirect:
    service = await _manageable(db_session, actor, service_id)
    language = _translation_language(service, language)
    if not await programme.delete_translation(db_session, actor, service, language):
        raise NotFoundException
    return Redirect(f"/officer/programme/{service.id}#texts", status_code=303)


# --- periods --------------------------------------------------------------------------------------


def _period_page(
    actor: Actor,
    service: ProgrammeService,
    period: ProgrammePeriod | None,
    form: dict[str, Any],
    errors: FormErrors,
    status: int,
    conflict: dict[str, Any] | None = None,
) -> Template:
    return Template(
        "officer/programme/period_form.html",
        context=_common(
            actor,
            service=service,
            shown=programme.display_text(service, get_locale()),
            period=period,
            form=form,
            errors=errors,
            conflict=conflict,
        ),
        status_code=status,
    )


@post("/programme/{service_id:uuid}/periods", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def add_period(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, service_id: uuid.UUID
) -> Template | Redirect:
    service = await _manageable(db_session, actor, service_id)
    data = dict((await request.form()).items())
    parsed = programme.read_period_form(data)
    if parsed.errors:
        return _period_page(actor, service, None, data, parsed.errors, 422)
    await programme.add_period(db_session, actor, service, parsed)
    return Redirect(f"/officer/programme/{service.id}#periods", status_code=303)


@get(
    "/programme/{service_id:uuid}/periods/{period_id:uuid}/edit",
    guards=[requires(Permission.PROGRAMME_MANAGE)],
)
async def edit_period(
    db_session: AsyncSession, actor: Actor, service_id: uuid.UUID, period_id: uuid.UUID
) -> Template:
    service = await _manageable(db_session, actor, service_id)
    period = _period_or_404(service, period_id)
    return _period_page(actor, service, period, programme.period_form_values(period), FormErrors(), 200)


@post("/programme/{service_id:uuid}/periods/{period_id:uuid}", guards=[requires(Permission.PROGRAMME_MANAGE)])
async def update_period(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, service_id: uuid.UUID, period_id: uuid.UUID
) -> Template | Redirect:
    service = await _manageable(db_session, actor, service_id)
    period = _period_or_404(service, period_id)
    data = dict((await request.form()).items())
    parsed = programme.read_period_form(data)
    if parsed.errors:
        return _period_page(actor, service, period, data, parsed.errors, 422)
    try:
        await programme.update_period(db_session, actor, service, period, _version(data), parsed)
    except programme.StaleEdit:
        await db_session.rollback()
        fresh = await _manageable(db_session, actor, service_id)
        fresh_period = _period_or_404(fresh, period_id)
        saved = programme.period_form_values(fresh_period)
        return _period_page(
            actor, fresh, fresh_period, {**data, "version": fresh_period.version}, FormErrors(), 409, saved
        )
    return Redirect(f"/officer/programme/{service.id}#periods", status_code=303)


@post(
    "/programme/{service_id:uuid}/periods/{period_id:uuid}/delete",
    guards=[requires(Permission.PROGRAMME_MANAGE)],
)
async def delete_period(
    db_session: AsyncSession, actor: Actor, service_id: uuid.UUID, period_id: uuid.UUID
) -> Template | Redirect:
    service = await _manageable(db_session, actor, service_id)
    period = _period_or_404(service, period_id)
    try:
        await programme.delete_period(db_session, actor, service, period)
    except programme.PeriodInUse:
        message = _(
            "The intake starting on %(date)s cannot be deleted: integration plans refer to it. "
            "Change the plans first, or mark the service inactive."
        ) % {"date": format_date(period.starts_on)}
        return await _detail(db_session, actor, service, 409, period_message=message)
    return Redirect(f"/officer/programme/{service.id}#periods", status_code=303)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        catalogue_page,
        new_service,
        create_service,
        service_page,
        edit_service,
        update_service,
        edit_text,
        save_text,
        delete_text,
        add_period,
        edit_period,
        update_period,
        delete_period,
    ],
)
