"""Client register (service 1): validation, create/update with optimistic locking, search, duplicates."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import utcnow
from app.db.client import (
    Client,
    ClientLanguage,
    ClientStatus,
    Consent,
    ConsentPurpose,
    EndReason,
    FamilyLink,
    FamilyRelation,
    HealthInformation,
    KnownHow,
    LanguageLevel,
    PermitType,
)
from app.db.guidance import GuidancePlanEndReason
from app.db.organisation import Role, Staff, StaffRole
from app.domain import audit, guidance_plans, identity_code, phone, text
from app.domain.audit import Action
from app.domain.forms import FormErrors, birth_and_identity_code, checkbox, choice, date_field, email_field
from app.domain.forms import text as text_field
from app.domain.policy import Actor, client_scope
from app.i18n import _

PAGE_SIZE = 20
MAX_LANGUAGES = 5
# The client page's sections loaded on demand, in page order (app/routes/officer/client_sections.py
# defines them): a link into one opens the page with it (page_url).
ON_DEMAND_SECTIONS = (
    "messages",
    "interpretations",
    "cooperation",
    "compensation",
    "benefits",
    "guidance-plan",
    "guidance-visits",
    "family",
    "consents",
    "notifications",
    "retention",
    "health",
)


def page_url(client_id: uuid.UUID | str, section: str | None = None, anchor: str | None = None) -> str:
    """The client page; with a section, scrolled to it (or to an anchor inside it), and a section loaded
    on demand comes open (?open= names only the section: no personal data in the address)."""
    url = f"/officer/clients/{client_id}"
    if section in ON_DEMAND_SECTIONS:
        url = f"{url}?open={section}"
    target = anchor or section
    return f"{url}#{target}" if target else url


# Basic-data fields an officer edits; the audit log names the ones that changed.
BASIC_FIELDS = (
    "segment",
    "known_on",
    "known_how",
    "first_names",
    "last_name",
    "native_name",
    "date_of_birth",
    "identity_code",
    "temporary_identifier",
    "citizenship",
    "mother_tongue",
    "interpreter_needed",
    "interpreter_language",
    "phone",
    "email",
    "street_address",
    "postal_code",
    "post_office",
    "municipality_of_residence",
    "first_permit_date",
    "permit_type",
    "first_residence_on",  # compensation (§§61–62) counts from it
    "unaccompanied_minor",  # §69
)


class StaleEdit(Exception):
    """Someone saved the record after this form was opened."""


@dataclass
class ClientInput:
    values: dict[str, Any]
    languages: list[tuple[str, LanguageLevel]]
    errors: FormErrors = field(default_factory=FormErrors)


def read_client_form(data: Mapping[str, Any], language_rows: Sequence[tuple[str, str]]) -> ClientInput:
    errors = FormErrors()
    v: dict[str, Any] = {}
    segment = str(data.get("segment") or "")
    if segment not in ("1", "2", "3"):
        errors["segment"] = _("Choose the segment.")
    else:
        v["segment"] = int(segment)
    v["known_on"] = date_field(data, "known_on", errors, required=True)
    v["known_how"] = choice(data, "known_how", KnownHow, errors)
    v["first_names"] = text_field(data, "first_names", 200, errors)
    v["last_name"] = text_field(data, "last_name", 200, errors)
    if not v["first_names"]:
        errors["first_names"] = _("Enter the first names.")
    if not v["last_name"]:
        errors["last_name"] = _("Enter the last name.")
    v["native_name"] = text_field(data, "native_name", 400, errors)
    v["date_of_birth"], v["identity_code"] = birth_and_identity_code(data, errors)
    v["temporary_identifier"] = (text_field(data, "temporary_identifier", 40, errors) or "").upper() or None

    v["citizenship"] = (text_field(data, "citizenship", 3, errors) or "").upper() or None
    v["mother_tongue"] = text_field(data, "mother_tongue", 12, errors)
    v["interpreter_needed"] = checkbox(data, "interpreter_needed")
    v["interpreter_language"] = text_field(data, "interpreter_language", 12, errors)
    if v["interpreter_needed"] and not v["interpreter_language"]:
        errors["interpreter_language"] = _("Choose the language the interpreter should speak.")

    v["phone"] = None
    raw_phone = text_field(data, "phone", 40, errors)
    if raw_phone:
        v["phone"] = phone.to_e164(raw_phone)
        if v["phone"] is None:
            errors["phone"] = _("Enter a phone number like 040 123 4567 or +358 40 123 4567.")
    v["email"] = email_field(data, "email", errors)
    v["street_address"] = text_field(data, "street_address", 200, errors)
    v["postal_code"] = text_field(data, "postal_code", 10, errors)
    if v["postal_code"] and not re.fullmatch(r"\d{5}", v["postal_code"]):
        errors["postal_code"] = _("A Finnish postal code has five digits.")
    v["post_office"] = text_field(data, "post_office", 100, errors)
    v["municipality_of_residence"] = text_field(data, "municipality_of_residence", 100, errors)
    v["first_permit_date"] = date_field(data, "first_permit_date", errors)
    v["permit_type"] = choice(data, "permit_type", PermitType, errors, required=False)
    v["first_residence_on"] = date_field(data, "first_residence_on", errors)
    v["unaccompanied_minor"] = checkbox(data, "unaccompanied_minor")

    languages: list[tuple[str, LanguageLevel]] = []
    for code, level in language_rows[:MAX_LANGUAGES]:
        code = code.strip()
        if not code:
            continue
        try:
            languages.append((code[:12], LanguageLevel(level)))
        except ValueError:
            errors["languages"] = _("Choose a level for each language.")
    if len({c for c, _level in languages}) != len(languages):
        errors["languages"] = _("Each language can be listed once.")
    return ClientInput(values=v, languages=languages, errors=errors)


def _apply(client: Client, data: ClientInput) -> list[str]:
    changed = []
    for name in BASIC_FIELDS:
        new = data.values.get(name)
        if getattr(client, name) != new:
            setattr(client, name, new)
            changed.append(name)
    client.search_text = text.search_text(client.first_names, client.last_name, client.native_name)
    return changed


def new_temporary_identifier() -> str:
    return "TMP-" + secrets.token_hex(4).upper()


async def identity_code_taken(
    db: AsyncSession, organisation_id: uuid.UUID, code: str | None, exclude: uuid.UUID | None = None
) -> bool:
    if not code:
        return False
    query = select(Client.id).where(Client.organisation_id == organisation_id, Client.identity_code == code)
    if exclude:
        query = query.where(Client.id != exclude)
    return (await db.scalar(query)) is not None


async def create(db: AsyncSession, actor: Actor, data: ClientInput) -> Client:
    client = Client(organisation_id=actor.organisation_id, status=ClientStatus.ACTIVE)
    if Role.INTEGRATION_OFFICER in actor.roles:
        client.responsible_officer_id = actor.staff_id  # on the registering officer's worklist
    _apply(client, data)
    if not client.identity_code and not client.temporary_identifier:
        client.temporary_identifier = new_temporary_identifier()
    client.languages = [ClientLanguage(language=c, level=lvl) for c, lvl in data.languages]
    db.add(client)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        # What was stored, including a generated temporary identifier.
        fields=[n for n in BASIC_FIELDS if getattr(client, n) is not None]
        + (["languages"] if data.languages else []),
    )
    return client


async def update(
    db: AsyncSession, actor: Actor, client: Client, seen_version: int, data: ClientInput
) -> list[str]:
    """Apply the form if nobody saved in between; raises StaleEdit otherwise."""
    if seen_version != client.version:
        raise StaleEdit
    changed = _apply(client, data)
    current = {(lang.language, lang.level) for lang in client.languages}
    if current != set(data.languages):
        # Keep the row of a language that stays (its level may change): a new row for it would be
        # inserted before the old one is deleted and break UNIQUE (client_id, language).
        wanted = dict(data.languages)
        kept = [lang for lang in client.languages if lang.language in wanted]
        for lang in kept:
            lang.level = wanted.pop(lang.language)
        client.languages = kept + [ClientLanguage(language=c, level=lvl) for c, lvl in wanted.items()]
        changed.append("languages")
        client.updated_at = utcnow()  # bump the version: the languages belong to the client record
    if not client.identity_code and not client.temporary_identifier:
        client.temporary_identifier = new_temporary_identifier()
    try:
        await db.flush()
    except StaleDataError as error:  # saved by someone else between our read and our write
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=client.id,
            object_type="client",
            object_id=client.id,
            fields=changed,
        )
    return changed


async def load_for_edit(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client | None:
    return await db.scalar(
        select(Client)
        .options(selectinload(Client.languages))
        .where(Client.id == client_id, client_scope(actor))
    )


async def end_relationship(
    db: AsyncSession,
    actor: Actor,
    client: Client,
    seen_version: int,
    ended_on: date,
    reason: EndReason,
    note: str | None,
) -> None:
    await set_relationship(db, actor, client, seen_version, ended_on, reason, note)


async def set_relationship(
    db: AsyncSession,
    actor: Actor,
    client: Client,
    seen_version: int,
    ended_on: date | None,
    reason: EndReason | None = None,
    note: str | None = None,
) -> None:
    """End the relationship (an end date) or continue it (None), version-checked and audited."""
    if seen_version != client.version:
        raise StaleEdit
    client.status = ClientStatus.ACTIVE if ended_on is None else ClientStatus.ENDED
    client.ended_on = ended_on
    client.end_reason = reason
    client.end_note = note
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=["status", "ended_on", "end_reason", "end_note"],
    )
    if ended_on is not None:  # 3.4.6: initial guidance ends with the relationship
        await guidance_plans.end_active(db, actor, client.id, ended_on, GuidancePlanEndReason.CLIENT_ENDED)


# --- search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str  # name, identity_code, date_of_birth, phone, empty
    clients: list[Client]
    page: int
    has_next: bool


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(query: str) -> tuple[str, ColumnElement[bool] | None]:
    q = query.strip()
    if not q:
        return "empty", None
    if identity_code.looks_like(q):
        return "identity_code", Client.identity_code == identity_code.normalise(q)
    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2}", q):
        from app.domain.forms import parse_date

        born = parse_date(q)
        return "date_of_birth", (Client.date_of_birth == born) if born else None
    if re.fullmatch(r"\+?[\d\s\-()]{7,}", q):
        number = phone.to_e164(q)
        return "phone", (Client.phone == number) if number else None
    tokens = text.fold(q).split()[:5]
    name_match = and_(*(Client.search_text.like(f"%{_like_escape(t)}%", escape="\\") for t in tokens))
    return "name", or_(name_match, Client.temporary_identifier == q.upper())


async def search(
    db: AsyncSession, actor: Actor, query: str, page: int = 1, include_ended: bool = False
) -> SearchResult:
    mode, condition = search_condition(query)
    page = max(1, page)
    if condition is None:
        return SearchResult(query, mode, [], page, False)
    matching = select(Client.id, Client.last_name, Client.first_names).where(condition, client_scope(actor))
    if not include_ended:
        matching = matching.where(Client.status == ClientStatus.ACTIVE)
    # Find the matches first (trigram index), then sort them. Left to itself, PostgreSQL walks the name
    # index in order and filters every row, which is slow exactly when the match sorts late.
    matches = matching.cte("matches").prefix_with("MATERIALIZED", dialect="postgresql")
    rows = (
        await db.scalars(
            select(Client)
            .join(matches, matches.c.id == Client.id)
            .order_by(matches.c.last_name, matches.c.first_names, matches.c.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    ).all()
    await audit.record(db, Action.SEARCH, actor=actor, object_type="client", fields=[mode])
    return SearchResult(query, mode, list(rows[:PAGE_SIZE]), page, len(rows) > PAGE_SIZE)


async def probable_duplicates(
    db: AsyncSession, actor: Actor, values: Mapping[str, Any], exclude: uuid.UUID | None = None
) -> list[Client]:
    """Clients the new record probably repeats: same identity code, phone or e-mail, or the same date of
    birth with a matching first or last name (folded, so 'Mohammad' and 'Mohammád' meet)."""
    conditions: list[ColumnElement[bool]] = []
    if values.get("identity_code"):
        conditions.append(Client.identity_code == values["identity_code"])
    if values.get("phone"):
        conditions.append(Client.phone == values["phone"])
    if values.get("email"):
        conditions.append(func.lower(Client.email) == values["email"])
    if values.get("date_of_birth"):
        names = [
            t
            for t in text.fold(f"{values.get('first_names') or ''} {values.get('last_name') or ''}").split()
            if len(t) > 1
        ]
        if names:
            conditions.append(
                and_(
                    Client.date_of_birth == values["date_of_birth"],
                    or_(*(Client.search_text.like(f"%{_like_escape(t)}%", escape="\\") for t in names)),
                )
            )
    if not conditions:
        return []
    statement = select(Client).where(or_(*conditions), client_scope(actor))
    if exclude:
        statement = statement.where(Client.id != exclude)
    return list((await db.scalars(statement.order_by(Client.last_name).limit(5))).all())


# --- family and consents --------------------------------------------------------------------------

RECIPROCAL = {
    FamilyRelation.GUARDIAN: FamilyRelation.CHILD,
    FamilyRelation.CHILD: FamilyRelation.GUARDIAN,
    FamilyRelation.SPOUSE: FamilyRelation.SPOUSE,
}


async def add_family_link(
    db: AsyncSession, actor: Actor, client: Client, related: Client, relation: FamilyRelation
) -> None:
    """Store the link both ways, so each family member's page shows it."""
    for a, b, rel in ((client, related, relation), (related, client, RECIPROCAL[relation])):
        existing = await db.scalar(
            select(FamilyLink).where(FamilyLink.client_id == a.id, FamilyLink.related_client_id == b.id)
        )
        if existing:
            existing.relation = rel
        else:
            db.add(FamilyLink(client_id=a.id, related_client_id=b.id, relation=rel))
        await audit.record(
            db,
            Action.CREATE,
            actor=actor,
            client_id=a.id,
            object_type="family_link",
            object_id=b.id,
            fields=["relation"],
        )


async def remove_family_link(db: AsyncSession, actor: Actor, client: Client, related: Client) -> bool:
    """Remove the link both ways (a link recorded by mistake); False when there was none."""
    links = (
        await db.scalars(
            select(FamilyLink).where(
                or_(
                    and_(FamilyLink.client_id == client.id, FamilyLink.related_client_id == related.id),
                    and_(FamilyLink.client_id == related.id, FamilyLink.related_client_id == client.id),
                )
            )
        )
    ).all()
    for link in links:
        await db.delete(link)
        await audit.record(
            db,
            Action.DELETE,
            actor=actor,
            client_id=link.client_id,
            object_type="family_link",
            object_id=link.related_client_id,
            fields=["relation"],
        )
    return bool(links)


async def family(db: AsyncSession, actor: Actor, client: Client) -> list[tuple[FamilyLink, Client]]:
    rows = await db.execute(
        select(FamilyLink, Client)
        .join(Client, Client.id == FamilyLink.related_client_id)
        .where(FamilyLink.client_id == client.id, client_scope(actor))
        .order_by(Client.date_of_birth)
    )
    return [(r[0], r[1]) for r in rows]


async def record_consent(
    db: AsyncSession,
    actor: Actor,
    client: Client,
    purpose: ConsentPurpose,
    given: bool,
    decided_on: date,
    note: str | None,
) -> None:
    db.add(
        Consent(
            client_id=client.id,
            purpose=purpose,
            given=given,
            decided_on=decided_on,
            recorded_by_id=actor.staff_id,
            note=note,
        )
    )
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="consent",
        object_id=purpose.value,
        fields=["given", "decided_on"] + (["note"] if note else []),
    )


async def add_health_information(
    db: AsyncSession, actor: Actor, client: Client, body: str, source: str
) -> None:
    """§73: only what affects integration and is necessary; the source and the recorder are kept."""
    entry = HealthInformation(client_id=client.id, text=body, source=source, recorded_by_id=actor.staff_id)
    db.add(entry)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="health_information",
        object_id=entry.id,
        fields=["text", "source"],
    )


@dataclass(frozen=True)
class OfficerName:
    """An officer as a choice of the responsible officer: no roles or organisation loaded."""

    id: uuid.UUID
    full_name: str


async def officers(db: AsyncSession, organisation_id: uuid.UUID) -> list[OfficerName]:
    """Active integration officers of an organisation (id and name): who can be responsible for a client."""
    rows = await db.execute(
        select(Staff.id, Staff.full_name)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(
            Staff.organisation_id == organisation_id,
            Staff.active.is_(True),
            StaffRole.role == Role.INTEGRATION_OFFICER,
        )
        .order_by(Staff.full_name)
    )
    return [OfficerName(row.id, row.full_name) for row in rows]


async def set_responsible(
    db: AsyncSession, actor: Actor, client: Client, officer_id: uuid.UUID | None
) -> None:
    if client.responsible_officer_id == officer_id:
        return
    client.responsible_officer_id = officer_id
    await db.flush()
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=["responsible_officer_id"],
    )


async def consents(db: AsyncSession, client: Client) -> list[Consent]:
    """Every consent decision, newest first; the first per purpose is in force."""
    return list(
        (
            await db.scalars(
                select(Consent).where(Consent.client_id == client.id).order_by(Consent.recorded_at.desc())
            )
        ).all()
    )
