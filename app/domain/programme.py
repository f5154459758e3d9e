"""The integration programme (service 7; §13 of 681/2023, decree 576/2024): the municipality's catalogue of
services, their texts in several languages, and their periods (intakes) with capacity.

Texts: the source-language row has origin "original"; every other language is a translation that keeps
the hash of the source text it was made from (`content_hash` of name, description and eligibility). When
the source changes, translations made from the older source are stale: editors see a flag, readers (the
migrant app, the plan) get `ServiceText.stale` and show a note.

The catalogue belongs to one organisation (ProgrammeService.organisation_id). Programme changes are not
client data, but they are audited (object_type "programme_service", no client) so the log shows who
changed the catalogue.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import TextOrigin, utcnow
from app.db.client import Client, ClientAccessGrant
from app.db.organisation import Organisation, OrganisationType
from app.db.plan import PlanService, PlanServiceStatus
from app.db.programme import (
    ProgrammePeriod,
    ProgrammeService,
    ProgrammeServiceLanguage,
    ProgrammeServiceText,
    ServiceType,
)
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, choice, date_field, text
from app.domain.policy import Actor
from app.domain.translations import content_hash, is_stale
from app.i18n import COMMON_LANGUAGES, PUBLIC_LOCALES, _

# Decree 576/2024: multilingual civic orientation has at least 70 hours of teaching (plus independent study).
CIVIC_ORIENTATION_MIN_HOURS = Decimal(70)
# Languages in which names and descriptions are written: the public and migrant-app languages.
TEXT_LANGUAGES: tuple[str, ...] = PUBLIC_LOCALES
# Plan services that hold a place in a period.
TAKES_A_PLACE = (PlanServiceStatus.REFERRED, PlanServiceStatus.STARTED)
# Origins a person can give a translation; "original" belongs to the source-language row only.
TRANSLATION_ORIGINS = (TextOrigin.OFFICER, TextOrigin.TRANSLATOR, TextOrigin.MACHINE)
MAX_HOURS = Decimal(10000)
MAX_CAPACITY = 10000


class StaleEdit(Exception):
    """Someone saved the record after the form was opened."""


class PeriodInUse(Exception):
    """Plan services refer to the period, so it cannot be deleted."""


# --- texts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceText:
    """A service's texts as a reader sees them in one locale.

    language: the language the text is in (the locale asked for, or the source language as a fallback);
    translated: the text is a translation, not the original; stale: a translation made from an older
    version of the source; fallback: no text in the locale asked for, so the source language is shown."""

    name: str
    description: str
    eligibility: str
    language: str
    origin: TextOrigin
    stale: bool
    translated: bool
    fallback: bool = False


def text_content(row: ProgrammeServiceText) -> dict[str, str]:
    """What a translation is made from: the three texts, nothing else."""
    return {"name": row.name, "description": row.description or "", "eligibility": row.eligibility or ""}


def source_text(service: ProgrammeService) -> ProgrammeServiceText | None:
    return next((t for t in service.texts if t.language == service.source_language), None)


def current_source_hash(service: ProgrammeService) -> str | None:
    source = source_text(service)
    return content_hash(text_content(source)) if source else None


def translation_is_stale(service: ProgrammeService, row: ProgrammeServiceText) -> bool:
    """A translation (not the source row) made from a source that has changed since."""
    if row.language == service.source_language:
        return False
    current = current_source_hash(service)
    return current is not None and is_stale(row.source_hash, current)


def stale_languages(service: ProgrammeService) -> list[str]:
    return [t.language for t in service.texts if translation_is_stale(service, t)]


def _primary(locale: str) -> str:
    return locale.replace("_", "-").split("-")[0].lower()


def display_text(service: ProgrammeService, locale: str) -> ServiceText:
    """The service's texts in `locale`; without a text in it, the source language (fallback=True).

    A stale translation is still returned (it is usually better than none), flagged stale=True so the
    reader is told it may not match the current description."""
    wanted = _primary(locale)
    row = next((t for t in service.texts if t.language == wanted), None)
    fallback = row is None
    if row is None:
        row = source_text(service) or (service.texts[0] if service.texts else None)
    if row is None:
        return ServiceText(
            name="",
            description="",
            eligibility="",
            language=service.source_language,
            origin=TextOrigin.ORIGINAL,
            stale=False,
            translated=False,
            fallback=True,
        )
    translated = row.language != service.source_language
    return ServiceText(
        name=row.name,
        description=row.description or "",
        eligibility=row.eligibility or "",
        language=row.language,
        origin=row.origin,
        stale=translation_is_stale(service, row),
        translated=translated,
        fallback=fallback,
    )


def below_civic_minimum(service: ProgrammeService) -> bool:
    """Civic orientation with fewer than the 70 hours of decree 576/2024 (or no hours recorded)."""
    return service.service_type == ServiceType.CIVIC_ORIENTATION and (
        service.hours is None or service.hours < CIVIC_ORIENTATION_MIN_HOURS
    )


def next_period(service: ProgrammeService, on: date) -> ProgrammePeriod | None:
    """The next intake: the first period starting on or after `on`."""
    return next((p for p in service.periods if p.starts_on >= on), None)


# --- reading the catalogue ------------------------------------------------------------------------


def _with_children() -> tuple[Any, ...]:
    return (
        selectinload(ProgrammeService.texts),
        selectinload(ProgrammeService.languages),
        selectinload(ProgrammeService.periods),
    )


async def catalogue_of(
    db: AsyncSession,
    organisation_ids: Sequence[uuid.UUID],
    *,
    active: bool | None = None,
    service_type: ServiceType | None = None,
    language: str | None = None,
) -> list[ProgrammeService]:
    """Services of the given organisations' programmes, with texts, languages and periods loaded;
    ordered by type (in the order of ServiceType), then by name in the source language."""
    if not organisation_ids:
        return []
    stmt = (
        select(ProgrammeService)
        .where(ProgrammeService.organisation_id.in_(organisation_ids))
        .options(*_with_children())
    )
    if active is not None:
        stmt = stmt.where(ProgrammeService.active == active)
    if service_type is not None:
        stmt = stmt.where(ProgrammeService.service_type == service_type)
    if language:
        stmt = stmt.where(ProgrammeService.languages.any(ProgrammeServiceLanguage.language == language))
    services = list((await db.scalars(stmt)).all())
    order = {t: i for i, t in enumerate(ServiceType)}

    def key(s: ProgrammeService) -> tuple[int, int, str]:
        source = source_text(s)
        return (0 if s.active else 1, order[s.service_type], (source.name if source else "").casefold())

    return sorted(services, key=key)


async def catalogue(
    db: AsyncSession,
    organisation_id: uuid.UUID,
    *,
    active_only: bool = False,
    service_type: ServiceType | None = None,
    language: str | None = None,
) -> list[ProgrammeService]:
    """One organisation's programme (the plan picks services from catalogue(active_only=True))."""
    return await catalogue_of(
        db,
        [organisation_id],
        active=True if active_only else None,
        service_type=service_type,
        language=language,
    )


async def load_service(
    db: AsyncSession, organisation_id: uuid.UUID | Sequence[uuid.UUID], service_id: uuid.UUID
) -> ProgrammeService | None:
    """The service if it belongs to the organisation('s), with its children; else None (answer 404)."""
    ids = [organisation_id] if isinstance(organisation_id, uuid.UUID) else list(organisation_id)
    return await db.scalar(
        select(ProgrammeService)
        .where(ProgrammeService.id == service_id, ProgrammeService.organisation_id.in_(ids))
        .options(*_with_children())
        .execution_options(populate_existing=True)
    )


async def readable_organisation_ids(db: AsyncSession, actor: Actor) -> list[uuid.UUID]:
    """Whose programme the actor may read: the own organisation's; for county team members also the
    programmes of the organisations whose clients they hold an active grant on (for joint planning)."""
    ids = {actor.organisation_id}
    if actor.uses_grants:
        granted = await db.scalars(
            select(Client.organisation_id)
            .join(ClientAccessGrant, ClientAccessGrant.client_id == Client.id)
            .where(ClientAccessGrant.staff_id == actor.staff_id, ClientAccessGrant.ended_at.is_(None))
            .distinct()
        )
        ids.update(granted)
    return sorted(ids)


async def places_taken(db: AsyncSession, period_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """period id → plan services holding a place in it (referred or started); periods without any → 0."""
    ids = list(period_ids)
    if not ids:
        return {}
    rows = await db.execute(
        select(PlanService.period_id, func.count())
        .where(PlanService.period_id.in_(ids), PlanService.status.in_(TAKES_A_PLACE))
        .group_by(PlanService.period_id)
    )
    taken: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    for period_id, count in rows:
        if period_id is not None:
            taken[period_id] = count
    return taken


def places_left(period: ProgrammePeriod, taken: Mapping[uuid.UUID, int]) -> int | None:
    """Capacity minus places taken (never below zero); None when the period has no capacity set."""
    if period.capacity is None:
        return None
    return max(period.capacity - taken.get(period.id, 0), 0)


async def organisation_names(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted)))
    return {row.id: row.name for row in rows}


async def provider_choices(db: AsyncSession, actor: Actor) -> list[tuple[str, str]]:
    """Organisations that can be a provider: the own organisation and the service providers."""
    rows = await db.execute(
        select(Organisation.id, Organisation.name)
        .where(
            (Organisation.id == actor.organisation_id)
            | (Organisation.type == OrganisationType.SERVICE_PROVIDER)
        )
        .order_by(Organisation.name)
    )
    return [(str(i), n) for i, n in rows]


def provider_label(service: ProgrammeService, names: Mapping[uuid.UUID, str]) -> str:
    if service.provider_id is not None:
        return names.get(service.provider_id, "")
    return service.provider_name or ""


async def references_to_period(db: AsyncSession, period_id: uuid.UUID) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(PlanService).where(PlanService.period_id == period_id)
        )
        or 0
    )


# --- service form ---------------------------------------------------------------------------------


@dataclass
class ServiceInput:
    values: dict[str, Any] = field(default_factory=dict)  # ProgrammeService columns
    languages: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # name, description, eligibility
    errors: FormErrors = field(default_factory=FormErrors)


def _known_language(code: str) -> bool:
    return (
        bool(code) and len(code) <= 12 and (code in COMMON_LANGUAGES or code in Locale.parse("en").languages)
    )


def _decimal(data: Mapping[str, Any], name: str, errors: FormErrors) -> Decimal | None:
    raw = str(data.get(name) or "").strip().replace(",", ".").replace(" ", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors[name] = _("Enter the hours as a number, for example 70 or 37.5.")
        return None
    if not value.is_finite() or value < 0 or value >= MAX_HOURS:
        errors[name] = _("Enter the hours as a number, for example 70 or 37.5.")
        return None
    if value != value.quantize(Decimal("0.1")):
        errors[name] = _("Use at most one decimal, for example 37.5.")
        return None
    return value


def read_service_form(
    data: Mapping[str, Any], languages: Iterable[str], providers: Iterable[tuple[str, str]]
) -> ServiceInput:
    """Validate the service form; every error a translated message under its field's name."""
    parsed = ServiceInput()
    errors = parsed.errors
    values = parsed.values
    values["service_type"] = choice(data, "service_type", ServiceType, errors)
    provider_ids = {value for value, _name in providers}
    provider_id = str(data.get("provider_id") or "").strip()
    provider_name = text(data, "provider_name", 200, errors)
    if provider_id and provider_id not in provider_ids:
        errors["provider_id"] = _("Choose one of the options.")
    elif provider_id and provider_name:
        errors["provider_name"] = _("Choose an organisation or write the provider's name, not both.")
    elif not provider_id and not provider_name:
        errors["provider_id"] = _("Choose the provider or write its name.")
    values["provider_id"] = uuid.UUID(provider_id) if provider_id and "provider_id" not in errors else None
    values["provider_name"] = None if provider_id else provider_name
    source = str(data.get("source_language") or "").strip()
    if source not in TEXT_LANGUAGES:
        errors["source_language"] = _("Choose the language the texts are written in.")
    values["source_language"] = source
    chosen = sorted({str(code).strip() for code in languages if str(code).strip()})
    if not chosen:
        errors["languages"] = _("Choose at least one language in which the service is offered.")
    elif not all(_known_language(code) for code in chosen):
        errors["languages"] = _("Choose one of the options.")
    parsed.languages = chosen
    values["remote"] = checkbox(data, "remote")
    values["place"] = text(data, "place", 300, errors)
    values["hours"] = _decimal(data, "hours", errors)
    values["active"] = checkbox(data, "active")
    name = text(data, "name", 200, errors)
    if not name:
        errors["name"] = _("Write the name of the service.")
    parsed.texts = {
        "name": name or "",
        "description": text(data, "description", 4000, errors) or "",
        "eligibility": text(data, "eligibility", 4000, errors) or "",
    }
    return parsed


def _source_row(service: ProgrammeService, actor: Actor, texts: Mapping[str, str]) -> list[str]:
    """Write the source-language texts; returns the changed field names."""
    row = source_text(service)
    if row is None:
        row = ProgrammeServiceText(
            language=service.source_language,
            name="",
            description="",
            eligibility="",
            origin=TextOrigin.ORIGINAL,
            source_hash="",
        )
        service.texts.append(row)
    changed = [name for name in ("name", "description", "eligibility") if getattr(row, name) != texts[name]]
    for name in changed:
        setattr(row, name, texts[name])
    if row.origin != TextOrigin.ORIGINAL:  # a former translation became the source
        row.origin = TextOrigin.ORIGINAL
        changed.append("origin")
    row.source_hash = content_hash(text_content(row))
    if changed:
        row.edited_by_id = actor.staff_id
    return changed


def _apply(service: ProgrammeService, actor: Actor, parsed: ServiceInput) -> list[str]:
    changed: list[str] = []
    old_source = source_text(service)
    for name, value in parsed.values.items():
        if getattr(service, name) != value:
            setattr(service, name, value)
            changed.append(name)
    if "source_language" in changed and old_source is not None:
        if text_content(old_source) == parsed.texts:
            # Only the language was corrected: the same texts are not kept twice.
            service.texts.remove(old_source)
        else:
            # New texts in the new language: the old ones stay as a text in their language, checked
            # against the new source like any translation (so flagged stale until someone saves them).
            old_source.origin = TextOrigin.OFFICER
    changed += [f"text_{name}" for name in _source_row(service, actor, parsed.texts)]
    if sorted(lang.language for lang in service.languages) != parsed.languages:
        # In place: replacing the list would insert the kept languages again before deleting them.
        for row in [r for r in service.languages if r.language not in parsed.languages]:
            service.languages.remove(row)
        kept = {r.language for r in service.languages}
        service.languages.extend(
            ProgrammeServiceLanguage(language=code) for code in parsed.languages if code not in kept
        )
        changed.append("languages")
    return changed


def check_source_change(service: ProgrammeService, parsed: ServiceInput) -> None:
    """A new source language must not overwrite an existing translation into it."""
    language = parsed.values.get("source_language")
    if language != service.source_language and translation_of(service, str(language)) is not None:
        parsed.errors["source_language"] = _(
            "There is already a translation into this language. Delete it first, then change the "
            "language of the texts."
        )


async def create_service(db: AsyncSession, actor: Actor, parsed: ServiceInput) -> ProgrammeService:
    service = ProgrammeService(organisation_id=actor.organisation_id, texts=[], languages=[], periods=[])
    changed = _apply(service, actor, parsed)
    db.add(service)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="programme_service",
        object_id=service.id,
        fields=changed,
    )
    return service


async def update_service(
    db: AsyncSession, actor: Actor, service: ProgrammeService, seen_version: int, parsed: ServiceInput
) -> list[str]:
    """Apply the form if nobody saved in between; raises StaleEdit otherwise."""
    if seen_version != service.version:
        raise StaleEdit
    changed = _apply(service, actor, parsed)
    if changed:
        service.updated_at = utcnow()  # bump the version: texts and languages belong to the service
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="programme_service",
            object_id=service.id,
            fields=changed,
        )
    return changed


def service_form_values(service: ProgrammeService) -> dict[str, Any]:
    """The service as form input strings, for the edit form and the conflict view."""
    source = source_text(service)
    return {
        "service_type": service.service_type.value,
        "provider_id": str(service.provider_id) if service.provider_id else "",
        "provider_name": service.provider_name or "",
        "source_language": service.source_language,
        "remote": "on" if service.remote else "",
        "place": service.place or "",
        "hours": _hours_text(service.hours),
        "active": "on" if service.active else "",
        "name": source.name if source else "",
        "description": source.description if source else "",
        "eligibility": source.eligibility if source else "",
    }


def _hours_text(hours: Decimal | None) -> str:
    return "" if hours is None else format(hours.normalize(), "f")


# --- translations ---------------------------------------------------------------------------------


@dataclass
class TranslationInput:
    texts: dict[str, str] = field(default_factory=dict)
    origin: TextOrigin | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_translation_form(data: Mapping[str, Any]) -> TranslationInput:
    parsed = TranslationInput()
    name = text(data, "name", 200, parsed.errors)
    if not name:
        parsed.errors["name"] = _("Write the name of the service.")
    parsed.texts = {
        "name": name or "",
        "description": text(data, "description", 4000, parsed.errors) or "",
        "eligibility": text(data, "eligibility", 4000, parsed.errors) or "",
    }
    origin = choice(data, "origin", TextOrigin, parsed.errors)
    if origin is not None and origin not in TRANSLATION_ORIGINS:
        parsed.errors["origin"] = _("Choose one of the options.")
        origin = None
    parsed.origin = origin
    return parsed


def translation_of(service: ProgrammeService, language: str) -> ProgrammeServiceText | None:
    return next((t for t in service.texts if t.language == language), None)


async def save_translation(
    db: AsyncSession,
    actor: Actor,
    service: ProgrammeService,
    language: str,
    seen_version: int | None,
    parsed: TranslationInput,
) -> None:
    """Create or replace the translation into `language`, made from the source as it is now.

    seen_version is the translation's version the form showed (None for a new one); raises StaleEdit when
    it no longer matches (someone saved or added the translation in between)."""
    current = current_source_hash(service)
    if parsed.origin is None or current is None:
        raise ValueError("a translation needs a validated form and a source text")
    row = translation_of(service, language)
    if (row.version if row else None) != seen_version:
        raise StaleEdit
    action = Action.UPDATE if row else Action.CREATE
    if row is None:
        row = ProgrammeServiceText(language=language, origin=parsed.origin, source_hash=current)
        service.texts.append(row)
    for name, value in parsed.texts.items():
        setattr(row, name, value)
    row.origin = parsed.origin
    row.source_hash = current  # whoever saves it vouches that it matches the current source
    row.edited_by_id = actor.staff_id
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        action,
        actor=actor,
        object_type="programme_service",
        object_id=service.id,
        fields=[f"text_{language}"],
    )


async def delete_translation(
    db: AsyncSession, actor: Actor, service: ProgrammeService, language: str
) -> bool:
    row = translation_of(service, language)
    if row is None or language == service.source_language:
        return False
    service.texts.remove(row)
    await db.flush()
    await audit.record(
        db,
        Action.DELETE,
        actor=actor,
        object_type="programme_service",
        object_id=service.id,
        fields=[f"text_{language}"],
    )
    return True


# --- periods --------------------------------------------------------------------------------------


@dataclass
class PeriodInput:
    values: dict[str, Any] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)


def read_period_form(data: Mapping[str, Any]) -> PeriodInput:
    parsed = PeriodInput()
    errors = parsed.errors
    starts_on = date_field(data, "starts_on", errors, required=True, not_future=False)
    ends_on = date_field(data, "ends_on", errors, not_future=False)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = _("The end date cannot be before the start date.")
    raw = str(data.get("capacity") or "").strip()
    capacity: int | None = None
    if raw:
        try:
            capacity = int(raw)
        except ValueError:
            capacity = -1
        if not 0 <= capacity <= MAX_CAPACITY:
            errors["capacity"] = _("Enter the number of places as a whole number, for example 20.")
            capacity = None
    language = str(data.get("language") or "").strip() or None
    if language and not _known_language(language):
        errors["language"] = _("Choose one of the options.")
        language = None
    parsed.values = {
        "starts_on": starts_on,
        "ends_on": ends_on,
        "capacity": capacity,
        "language": language,
        "note": text(data, "note", 400, errors),
    }
    return parsed


def period_form_values(period: ProgrammePeriod) -> dict[str, Any]:
    return {
        "starts_on": period.starts_on.isoformat(),
        "ends_on": period.ends_on.isoformat() if period.ends_on else "",
        "capacity": "" if period.capacity is None else str(period.capacity),
        "language": period.language or "",
        "note": period.note or "",
        "version": period.version,
    }


def period_of(service: ProgrammeService, period_id: uuid.UUID) -> ProgrammePeriod | None:
    return next((p for p in service.periods if p.id == period_id), None)


async def add_period(
    db: AsyncSession, actor: Actor, service: ProgrammeService, parsed: PeriodInput
) -> ProgrammePeriod:
    period = ProgrammePeriod(**parsed.values)
    service.periods.append(period)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="programme_service",
        object_id=service.id,
        fields=["period"],
    )
    return period


async def update_period(
    db: AsyncSession,
    actor: Actor,
    service: ProgrammeService,
    period: ProgrammePeriod,
    seen_version: int,
    parsed: PeriodInput,
) -> list[str]:
    if seen_version != period.version:
        raise StaleEdit
    changed = [name for name, value in parsed.values.items() if getattr(period, name) != value]
    for name in changed:
        setattr(period, name, parsed.values[name])
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="programme_service",
            object_id=service.id,
            fields=[f"period_{name}" for name in changed],
        )
    return changed


async def delete_period(
    db: AsyncSession, actor: Actor, service: ProgrammeService, period: ProgrammePeriod
) -> None:
    """Remove an intake nobody's plan refers to; raises PeriodInUse otherwise."""
    if await references_to_period(db, period.id):
        raise PeriodInUse
    service.periods.remove(period)
    await db.flush()
    await audit.record(
        db,
        Action.DELETE,
        actor=actor,
        object_type="programme_service",
        object_id=service.id,
        fields=["period"],
    )
