"""Translations of officer-written plan text for the client (services 15 and 19).

An officer writes a plan's goals, guidance, language studies, rationale, the note on rights and duties and
the names of services outside the programme in Finnish (SOURCE_LANGUAGE). The client reads the plan in
the migrant app in their own language: each such text can have one `PlanTextTranslation` per language,
keyed by `source_key`:

    "goal:<PlanGoal.id>", "service:<PlanService.id>" (a service outside the programme: its name),
    "guidance", "language_studies", "rationale", "duties_note"

A translation keeps its origin (officer, translator, interpreter — chosen by the person who enters it —
or machine), the hash of the original it was made from (`content_hash(text)`) and, for machine output,
who checked it. A translation whose hash differs from the original's current hash is stale: editors see
a flag, the client sees "may be out of date". Machine output is labelled "not yet checked" until a
person checks it. Programme services are not here: their texts live in the programme catalogue.

Saving the plan replaces all goal rows when one goal changes (new ids). A goal translation whose key no
longer names a goal is still used for a goal whose current text has exactly the hash it was made from
(`index`), and saving a translation of that goal moves the row to the goal's new key; translations of
goals whose text changed are then simply missing ("not yet translated"), never shown for the wrong text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import TextOrigin, utcnow
from app.db.client import Client, ClientLanguage
from app.db.client_app import PlanTextTranslation
from app.db.plan import IntegrationPlan, PlanGoal, PlanService
from app.domain import audit, machine_translation
from app.domain.audit import Action
from app.domain.forms import FormErrors
from app.domain.messaging import known_language, primary_language, reading_languages
from app.domain.policy import Actor
from app.domain.translations import content_hash, is_stale
from app.i18n import _, language_name
from app.labels import label
from app.settings import Settings

# The language officers write plans in.
SOURCE_LANGUAGE = "fi"
# Plan fields written by the officer that the client reads (in this order on the pages).
PLAN_FIELDS = ("language_studies", "guidance", "rationale", "duties_note")
# Origins a person gives a translation by hand; "machine" comes only from the provider.
HUMAN_ORIGINS = (TextOrigin.OFFICER, TextOrigin.TRANSLATOR, TextOrigin.INTERPRETER)
MAX_TEXT = 10000
OBJECT_TYPE = "plan_text_translation"


class StaleEdit(Exception):
    """Someone saved or checked the translation after the form was opened."""


class SourceChanged(Exception):
    """The original text changed (or was removed) after the form was opened."""


class NotAllowed(Exception):
    """The action is not possible for this translation; `message` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the texts of a plan ---------------------------------------------------------------------------


def goal_key(goal_id: uuid.UUID) -> str:
    return f"goal:{goal_id}"


def service_key(service_id: uuid.UUID) -> str:
    return f"service:{service_id}"


def source_hash(text: str) -> str:
    """What a translation of a plan text is made from: the text itself."""
    return content_hash(text)


def translatable_service(service: PlanService) -> bool:
    """A service whose name the officer wrote (outside the programme: its texts are in the catalogue)."""
    return service.programme_service_id is None and bool(service.name)


@dataclass(frozen=True)
class SourceText:
    """One officer-written text of the plan, as it is now."""

    key: str
    kind: str  # "goal", "service" or one of PLAN_FIELDS
    text: str
    hash: str
    goal: PlanGoal | None = None
    service: PlanService | None = None

    @property
    def anchor(self) -> str:
        """An id for HTML (no colon)."""
        return self.key.replace(":", "-")

    def title(self) -> str:
        """What the text is, in the interface language (for the officer's page)."""
        if self.goal is not None:
            return f"{label(self.goal.kind)}: {label(self.goal.goal_type)}"
        if self.service is not None:
            return f"{_('Service')}: {label(self.service.kind)}"
        return field_title(self.kind)


def field_title(name: str) -> str:
    return {
        "language_studies": _("Finnish or Swedish studies"),
        "guidance": _("Guidance and counselling"),
        "rationale": _("Why the services fit the client's goals"),
        "duties_note": _("Rights and duties"),
    }.get(name, name)


def source_texts(plan: IntegrationPlan) -> list[SourceText]:
    """Every non-empty officer-written text of the plan (goals, services and plan fields loaded)."""
    found = [
        SourceText(goal_key(g.id), "goal", g.text, source_hash(g.text), goal=g) for g in plan.goals if g.text
    ]
    for name in PLAN_FIELDS:
        value = getattr(plan, name)
        if value:
            found.append(SourceText(name, name, value, source_hash(value)))
    found += [
        SourceText(service_key(s.id), "service", s.name or "", source_hash(s.name or ""), service=s)
        for s in plan.services
        if translatable_service(s)
    ]
    return found


# --- translations as they are ----------------------------------------------------------------------


async def translations_of(
    db: AsyncSession, plan_id: uuid.UUID, languages: Iterable[str] | None = None
) -> list[PlanTextTranslation]:
    """The plan's translations (optionally only into `languages`), in one query."""
    stmt = select(PlanTextTranslation).where(PlanTextTranslation.plan_id == plan_id)
    if languages is not None:
        wanted = sorted(set(languages))
        if not wanted:
            return []
        stmt = stmt.where(PlanTextTranslation.language.in_(wanted))
    return list((await db.scalars(stmt.order_by(PlanTextTranslation.source_key))).all())


def index(
    sources: Sequence[SourceText], rows: Sequence[PlanTextTranslation]
) -> dict[tuple[str, str], PlanTextTranslation]:
    """(source key, language) → the translation of that text. A goal translation whose key names no goal
    any more serves a goal whose current text is exactly the one it was made from (see the docstring)."""
    found = {(r.source_key, r.language): r for r in rows}
    keys = {s.key for s in sources}
    orphans = [r for r in rows if r.source_key.startswith("goal:") and r.source_key not in keys]
    for source in sources:
        if source.kind != "goal":
            continue
        for row in orphans:
            if (source.key, row.language) not in found and row.source_hash == source.hash:
                found[(source.key, row.language)] = row
    return {key: row for key, row in found.items() if key[0] in keys}


def translation_is_stale(source: SourceText, row: PlanTextTranslation) -> bool:
    return is_stale(row.source_hash, source.hash)


def needs_check(row: PlanTextTranslation) -> bool:
    """Machine output no person has checked yet."""
    return row.origin == TextOrigin.MACHINE and row.checked_at is None


def origin_label(row: PlanTextTranslation) -> str:
    """How a translation is labelled for officers (the same words as for messages)."""
    if row.origin == TextOrigin.MACHINE:
        if row.checked_at is None:
            return label(TextOrigin.MACHINE)  # "Machine translation, not checked"
        return _("Machine translation, checked by a person")
    if row.origin == TextOrigin.INTERPRETER:
        return _("Translated by an interpreter")
    return label(row.origin)


async def client_languages(db: AsyncSession, client: Client) -> list[ClientLanguage]:
    return list(
        (
            await db.scalars(
                select(ClientLanguage)
                .where(ClientLanguage.client_id == client.id)
                .order_by(ClientLanguage.id)
            )
        ).all()
    )


def target_languages(
    client: Client, languages: Sequence[ClientLanguage], rows: Iterable[PlanTextTranslation] = ()
) -> list[str]:
    """The languages to translate into: the client's reading languages (the app language they chose,
    mother tongue, others at B1 or better), then any other language a translation exists in; never the
    source language."""
    codes = [*reading_languages(client, languages), *sorted({r.language for r in rows})]
    seen: list[str] = []
    for code in codes:
        primary = primary_language(code)
        if primary and primary != SOURCE_LANGUAGE and primary not in seen:
            seen.append(primary)
    return seen


# --- the officer's form ----------------------------------------------------------------------------


@dataclass
class TranslationInput:
    source_key: str = ""
    language: str = ""
    text: str = ""
    origin: TextOrigin | None = None
    version: int | None = None
    seen_hash: str = ""
    errors: FormErrors = field(default_factory=FormErrors)


def read_version(data: Mapping[str, Any]) -> int | None:
    raw = str(data.get("version") or "").strip()
    return int(raw) if raw.isdigit() else None


def read_target(data: Mapping[str, Any]) -> tuple[str, str]:
    """(source key, language) named by a form."""
    return str(data.get("source_key") or "").strip(), str(data.get("language") or "").strip()


def read_form(data: Mapping[str, Any]) -> TranslationInput:
    parsed = TranslationInput()
    parsed.source_key, parsed.language = read_target(data)
    if not parsed.language or not known_language(parsed.language):
        parsed.errors["language"] = _("Choose one of the options.")
    elif parsed.language == SOURCE_LANGUAGE:
        parsed.errors["language"] = _("Choose a language other than the original's.")
    parsed.text = str(data.get("text") or "").replace("\r\n", "\n").strip()
    if not parsed.text:
        parsed.errors["text"] = _("Write the translation.")
    elif len(parsed.text) > MAX_TEXT:
        parsed.errors["text"] = _("The text is too long: at most %(count)s characters.") % {"count": MAX_TEXT}
    raw = str(data.get("origin") or "")
    parsed.origin = next((o for o in HUMAN_ORIGINS if o.value == raw), None)
    if parsed.origin is None:
        parsed.errors["origin"] = _("Choose who made the translation.")
    parsed.version = read_version(data)
    parsed.seen_hash = str(data.get("source_hash") or "").strip()
    return parsed


def source_of(sources: Sequence[SourceText], key: str) -> SourceText | None:
    return next((s for s in sources if s.key == key), None)


def _row_for(
    sources: Sequence[SourceText], rows: Sequence[PlanTextTranslation], key: str, language: str
) -> PlanTextTranslation | None:
    return index(sources, rows).get((key, language))


async def save(
    db: AsyncSession,
    actor: Actor,
    plan: IntegrationPlan,
    client: Client,
    rows: Sequence[PlanTextTranslation],
    parsed: TranslationInput,
) -> PlanTextTranslation:
    """Create or replace the translation of one text into one language, made from the original as it is
    now. Raises SourceChanged when the original is not the one the form showed, StaleEdit when the
    translation is not the version the form showed (someone saved it in between)."""
    if parsed.origin is None:
        raise ValueError("a validated form is needed")
    sources = source_texts(plan)
    source = source_of(sources, parsed.source_key)
    if source is None or source.hash != parsed.seen_hash:
        raise SourceChanged
    row = _row_for(sources, rows, source.key, parsed.language)
    if (row.version if row else None) != parsed.version:
        raise StaleEdit
    action = Action.UPDATE if row else Action.CREATE
    if row is None:
        row = PlanTextTranslation(
            plan_id=plan.id, source_key=source.key, language=parsed.language, origin=parsed.origin
        )
        db.add(row)
    row.source_key = source.key  # an adopted goal translation moves to the goal's current key
    row.text = parsed.text
    row.origin = parsed.origin
    row.source_hash = source.hash  # whoever saves it vouches that it matches the original as it is now
    row.translated_by_id = actor.staff_id
    row.translated_at = utcnow()
    row.checked_by_id = None
    row.checked_at = None
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        action,
        actor=actor,
        client_id=client.id,
        object_type=OBJECT_TYPE,
        object_id=row.id,
        fields=["text", "origin", "language"],
    )
    return row


async def check(
    db: AsyncSession,
    actor: Actor,
    plan: IntegrationPlan,
    client: Client,
    rows: Sequence[PlanTextTranslation],
    data: Mapping[str, Any],
) -> PlanTextTranslation:
    """A person has compared a machine translation with the original as it is now and vouches for it."""
    key, language = read_target(data)
    sources = source_texts(plan)
    source = source_of(sources, key)
    if source is None or source.hash != str(data.get("source_hash") or ""):
        raise SourceChanged
    row = _row_for(sources, rows, key, language)
    if row is None or row.version != read_version(data):
        raise StaleEdit
    if not needs_check(row):
        raise NotAllowed(_("Only a machine translation that nobody has checked yet is marked as checked."))
    row.source_key = source.key
    row.source_hash = source.hash
    row.checked_by_id = actor.staff_id
    row.checked_at = utcnow()
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type=OBJECT_TYPE,
        object_id=row.id,
        fields=["checked_by", "checked_at"],
    )
    return row


def _server_code(code: str, available: Iterable[str]) -> str | None:
    """Our ISO 639 code as the server names it ("zh" may be "zh-Hans" there)."""
    codes = sorted(available)
    if code in codes:
        return code
    return next((c for c in codes if c.split("-")[0].lower() == code), None)


async def translate_by_machine(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    plan: IntegrationPlan,
    client: Client,
    rows: Sequence[PlanTextTranslation],
    data: Mapping[str, Any],
    *,
    service: machine_translation.LibreTranslate | None = None,
) -> PlanTextTranslation:
    """Machine-translate one text into one language and save it as unchecked machine output.

    Refuses (MachineTranslationOff) when no provider is configured, and (MachineTranslationError) when a
    person has made or checked a translation into that language: machine output never replaces that. The
    text goes only to the configured server; nothing is saved when it fails."""
    provider = service or machine_translation.provider(settings)
    if provider is None:
        raise machine_translation.MachineTranslationOff
    key, language = read_target(data)
    sources = source_texts(plan)
    source = source_of(sources, key)
    if source is None or source.hash != str(data.get("source_hash") or ""):
        raise SourceChanged
    if not known_language(language) or language == SOURCE_LANGUAGE:
        raise machine_translation.MachineTranslationError(_("Choose a language other than the original's."))
    row = _row_for(sources, rows, key, language)
    if row is not None and not needs_check(row):
        raise machine_translation.MachineTranslationError(
            _("There is already a translation into %(language)s by a person; it is kept.")
            % {"language": language_name(language)}
        )
    pairs = await provider.languages()
    source_code = _server_code(SOURCE_LANGUAGE, pairs)
    target_code = _server_code(language, pairs[source_code]) if source_code else None
    if source_code is None or target_code is None:
        raise machine_translation.MachineTranslationError(
            _("The machine translation service does not translate from %(source)s into %(target)s.")
            % {"source": language_name(SOURCE_LANGUAGE), "target": language_name(language)}
        )
    translated = await provider.translate(source.text, source_code, target_code)
    action = Action.UPDATE if row else Action.CREATE
    if row is None:
        row = PlanTextTranslation(plan_id=plan.id, language=language, origin=TextOrigin.MACHINE)
        db.add(row)
    row.source_key = source.key
    row.text = translated
    row.origin = TextOrigin.MACHINE
    row.source_hash = source.hash
    row.translated_by_id = None  # a machine made it; the audit event names who asked
    row.translated_at = utcnow()
    row.checked_by_id = None
    row.checked_at = None
    await db.flush()
    await audit.record(
        db,
        action,
        actor=actor,
        client_id=client.id,
        object_type=OBJECT_TYPE,
        object_id=row.id,
        fields=["text", "origin", "language"],
    )
    return row
