"""System clients of the county data-transfer API (service 18) and the data they may fetch.

A wellbeing services county's administrator creates a system client for the county's information system;
the system exchanges its client_id and secret for a 15-minute bearer token (OAuth2 client credentials,
RFC 6749 §4.4) and fetches the shared data of the clients the county cooperates on: a client is shared
with the county while a county_cooperation with county_id = that organisation is accepted. Ending the
cooperation removes the client from the next answer. Health information only when the cooperation's
consent covers it (share_health, §73).

Secrets and tokens are stored as SHA-256 only. Every call is audit-logged with actor_kind "api_client",
the system client's id and the county organisation, so the client's "who has viewed my data" shows the
county (app.domain.my_data.views).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.db.assessment import Assessment, AssessmentStatus
from app.db.base import utcnow
from app.db.client import Client, HealthInformation
from app.db.cooperation import ApiAccessToken, ApiClient, CooperationStatus, CountyCooperation
from app.db.organisation import Organisation, OrganisationType
from app.db.plan import IntegrationPlan, PlanService, PlanStatus
from app.db.programme import ProgrammeService
from app.domain import audit, auth, programme
from app.domain.audit import Action
from app.domain.policy import Actor
from app.settings import Settings

ACTOR_KIND = "api_client"  # audit_event.actor_kind of a system client (the organisation is its county)
ACTOR_ROLE = "information_system"  # audit_event.actor_roles: what the client's access history names
OBJECT_TYPE = "api_client"
TOKEN_LIFETIME = timedelta(minutes=15)
TOUCH_INTERVAL = timedelta(seconds=60)  # last_used_at is written at most once a minute
DEFAULT_PAGE = 50
MAX_PAGE = 100
# Only a wellbeing services county fetches data through the API: shared clients are found by county_id.
API_ORGANISATION_TYPES = frozenset({OrganisationType.WELLBEING_COUNTY})


# --- secrets ------------------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256, not argon2: the secret is 32 random bytes (256 bits) made by us, never chosen by a person,
    so a stolen hash cannot be reversed by guessing and a slow hash would add nothing but cost. argon2's
    64 MiB per attempt would instead let anyone hammering the token endpoint tie up the server's memory.
    Compared in constant time (hmac.compare_digest)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_client_key() -> str:
    return "kp-" + secrets.token_hex(16)


# --- administration (an administrator, own organisation only) ----------------------------------------


async def for_organisation(db: AsyncSession, actor: Actor) -> list[ApiClient]:
    return list(
        (
            await db.scalars(
                select(ApiClient)
                .where(ApiClient.organisation_id == actor.organisation_id)
                .order_by(ApiClient.active.desc(), ApiClient.name, ApiClient.created_at)
            )
        ).all()
    )


async def load(db: AsyncSession, actor: Actor, api_client_id: uuid.UUID) -> ApiClient | None:
    """The system client if it belongs to the actor's organisation, else None (the caller answers 404)."""
    return await db.scalar(
        select(ApiClient).where(
            ApiClient.id == api_client_id, ApiClient.organisation_id == actor.organisation_id
        )
    )


def may_have_api_clients(actor: Actor) -> bool:
    return actor.organisation_type in API_ORGANISATION_TYPES


async def create(db: AsyncSession, actor: Actor, name: str) -> tuple[ApiClient, str]:
    """A new active system client of the actor's organisation, and its secret (shown once, not stored)."""
    secret = new_secret()
    record = ApiClient(
        organisation_id=actor.organisation_id,
        name=name,
        client_key=_new_client_key(),
        secret_hash=hash_secret(secret),
        created_by_id=actor.staff_id,
    )
    db.add(record)
    await db.flush()
    await audit.record(
        db, Action.CREATE, actor=actor, object_type=OBJECT_TYPE, object_id=record.id, fields=["name"]
    )
    return record, secret


async def rotate(db: AsyncSession, actor: Actor, record: ApiClient) -> str:
    """A new secret; the old one and every token issued with it stop working at once."""
    secret = new_secret()
    record.secret_hash = hash_secret(secret)
    await _revoke_tokens(db, record)
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type=OBJECT_TYPE, object_id=record.id, fields=["secret"]
    )
    return secret


async def deactivate(db: AsyncSession, actor: Actor, record: ApiClient) -> None:
    """For good: the client's tokens die now and its secret is refused (a new client replaces it)."""
    if not record.active:
        return
    record.active = False
    await _revoke_tokens(db, record)
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type=OBJECT_TYPE, object_id=record.id, fields=["active"]
    )


async def _revoke_tokens(db: AsyncSession, record: ApiClient) -> None:
    await db.execute(delete(ApiAccessToken).where(ApiAccessToken.api_client_id == record.id))


# --- the token endpoint (RFC 6749 §4.4, client authentication §2.3.1) ---------------------------------


class MalformedCredentials(Exception):
    """An Authorization: Basic header that cannot be decoded."""


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """client_id and secret from `Authorization: Basic …` (each form-urlencoded, §2.3.1); None without
    a Basic header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise MalformedCredentials from error
    user, colon, password = decoded.partition(":")
    if not colon:
        raise MalformedCredentials
    return unquote_plus(user), unquote_plus(password)


def limiter_keys(settings: Settings, client_key: str, address: str | None) -> tuple[str | None, str | None]:
    """The officers' sign-in failure counter (keyed hashes, no ids or addresses stored), with the client
    id in a name space of its own; the address counter is shared with staff sign-in on purpose."""
    return auth.limiter_keys(settings, "api-client:" + client_key[:64] if client_key else None, address)


async def retry_after(db: AsyncSession, settings: Settings, keys: tuple[str | None, str | None]) -> int:
    return await auth.retry_after(db, settings, *keys)


async def authenticate(db: AsyncSession, client_key: str, secret: str) -> ApiClient | None:
    """The active system client with this id and secret, else None (the same work either way)."""
    record = await db.scalar(select(ApiClient).where(ApiClient.client_key == client_key[:64]))
    expected = record.secret_hash if record else hash_secret(secrets.token_urlsafe(32))
    matches = hmac.compare_digest(hash_secret(secret), expected)
    if record is None or not matches or not record.active:
        return None
    return record


async def record_failure(
    db: AsyncSession, settings: Settings, client_key: str, keys: tuple[str | None, str | None]
) -> None:
    """Counted towards the rate limit and audit-logged (the system client, when the id is one)."""
    await auth.record_failure(db, settings, *keys)
    known = await db.scalar(select(ApiClient).where(ApiClient.client_key == client_key[:64]))
    await audit.record(
        db,
        Action.SIGN_IN_FAILED,
        actor_kind=ACTOR_KIND if known else "anonymous",
        actor_id=known.id if known else None,
        actor_organisation_id=known.organisation_id if known else None,
        actor_roles=[ACTOR_ROLE] if known else [],
        object_type=OBJECT_TYPE,
        object_id=known.id if known else None,
        fields=["client_secret"],
    )


async def issue_token(
    db: AsyncSession, record: ApiClient, keys: tuple[str | None, str | None]
) -> tuple[str, int]:
    """A new bearer token (stored as its SHA-256) and its lifetime in seconds; expired tokens are swept."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    await db.execute(delete(ApiAccessToken).where(ApiAccessToken.expires_at < now))
    db.add(
        ApiAccessToken(
            token_hash=auth.token_hash(token),
            api_client_id=record.id,
            created_at=now,
            expires_at=now + TOKEN_LIFETIME,
        )
    )
    # A Core UPDATE: last_used_at is bookkeeping, it must not bump the row's version (an administrator's
    # rotation or deactivation in another transaction is not a conflict).
    await db.execute(update(ApiClient).where(ApiClient.id == record.id).values(last_used_at=now))
    await auth.clear_failures(db, keys[0])
    await audit.record(
        db,
        Action.SIGN_IN,
        actor_kind=ACTOR_KIND,
        actor_id=record.id,
        actor_organisation_id=record.organisation_id,
        actor_roles=[ACTOR_ROLE],
        object_type=OBJECT_TYPE,
        object_id=record.id,
        fields=["client_credentials"],
    )
    return token, int(TOKEN_LIFETIME.total_seconds())


# --- bearer tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemActor:
    """The system client behind a bearer token, acting for its organisation (the county)."""

    api_client_id: uuid.UUID
    organisation_id: uuid.UUID
    name: str


async def resolve_token(db: AsyncSession, token: str | None) -> SystemActor | None:
    """The active system client of an unexpired token, else None."""
    if not token:
        return None
    now = utcnow()
    row = (
        await db.execute(
            select(ApiClient.id, ApiClient.organisation_id, ApiClient.name, ApiClient.last_used_at)
            .join(ApiAccessToken, ApiAccessToken.api_client_id == ApiClient.id)
            .where(
                ApiAccessToken.token_hash == auth.token_hash(token),
                ApiAccessToken.expires_at > now,
                ApiClient.active.is_(True),
            )
        )
    ).one_or_none()
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        await db.execute(update(ApiClient).where(ApiClient.id == row.id).values(last_used_at=now))
    return SystemActor(api_client_id=row.id, organisation_id=row.organisation_id, name=row.name)


async def _audit(
    db: AsyncSession,
    system: SystemActor,
    action: Action | str,
    *,
    client_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: object = None,
    fields: Sequence[str] = (),
) -> None:
    await audit.record(
        db,
        action,
        actor_kind=ACTOR_KIND,
        actor_id=system.api_client_id,
        actor_organisation_id=system.organisation_id,
        actor_roles=[ACTOR_ROLE],
        client_id=client_id,
        object_type=object_type,
        object_id=object_id,
        fields=fields,
    )


# --- the shared data ---------------------------------------------------------------------------------

LIST_SECTIONS = ("basic", "languages", "contact", "cooperation")


@dataclass(frozen=True)
class SharedClient:
    cooperation: CountyCooperation
    since: datetime
    client: Client
    organisation: Organisation  # the responsible organisation


@dataclass(frozen=True)
class SharedPage:
    items: list[SharedClient]
    next_cursor: str | None


class BadCursor(ValueError):
    pass


def _since() -> ColumnElement[datetime]:
    """When the county's part began: the acceptance (the request time if a row lacks it)."""
    return func.coalesce(CountyCooperation.decided_at, CountyCooperation.requested_at)


def _shared_with(system: SystemActor) -> ColumnElement[bool]:
    return and_(
        CountyCooperation.county_id == system.organisation_id,
        CountyCooperation.status == CooperationStatus.ACCEPTED,
    )


def encode_cursor(since: datetime, cooperation_id: uuid.UUID) -> str:
    raw = f"{since.isoformat()}|{cooperation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, ident = raw.partition("|")
        since = datetime.fromisoformat(moment)
        if since.tzinfo is None:
            raise ValueError("naive")
        return since, uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise BadCursor from error


async def shared_clients(db: AsyncSession, system: SystemActor, limit: int, cursor: str | None) -> SharedPage:
    """One page of the county's active cooperations, oldest first (new ones come last, so a system that
    pages to the end sees each once); audit-logged: the call, and a view of each client returned."""
    position = decode_cursor(cursor) if cursor else None
    since = _since()
    statement = (
        select(CountyCooperation, since, Client, Organisation)
        .join(Client, Client.id == CountyCooperation.client_id)
        .join(Organisation, Organisation.id == Client.organisation_id)
        .options(selectinload(Client.languages))
        .where(_shared_with(system))
        .order_by(since, CountyCooperation.id)
        .limit(limit + 1)
    )
    if position:
        statement = statement.where(
            or_(since > position[0], and_(since == position[0], CountyCooperation.id > position[1]))
        )
    rows = (await db.execute(statement)).all()
    items = [SharedClient(r[0], r[1], r[2], r[3]) for r in rows[:limit]]
    next_cursor = (
        encode_cursor(items[-1].since, items[-1].cooperation.id) if len(rows) > limit and items else None
    )
    await _audit(db, system, Action.SEARCH, object_type="client", fields=["cooperation"])
    for item in items:
        await _audit(
            db,
            system,
            Action.VIEW,
            client_id=item.client.id,
            object_type="client",
            object_id=item.client.id,
            fields=LIST_SECTIONS,
        )
    return SharedPage(items=items, next_cursor=next_cursor)


@dataclass(frozen=True)
class ServiceEntry:
    service: PlanService
    name: str | None
    service_type: str | None


@dataclass(frozen=True)
class ClientDetail:
    shared: SharedClient
    share_health: bool
    plan: IntegrationPlan | None
    services: list[ServiceEntry]
    assessment: Assessment | None  # the completed assessment, when the county took part in it
    health: list[HealthInformation] | None  # None: not shared with the county


async def shared_client(
    db: AsyncSession, system: SystemActor, client_id: uuid.UUID, locale: str
) -> ClientDetail | None:
    """A client the county cooperates on, with what the cooperation shares; None for anything else
    (another county's client, an ended or declined cooperation). Audit-logged either way."""
    since = _since()
    rows = (
        await db.execute(
            select(CountyCooperation, since, Client, Organisation)
            .join(Client, Client.id == CountyCooperation.client_id)
            .join(Organisation, Organisation.id == Client.organisation_id)
            .options(selectinload(Client.languages))
            .where(_shared_with(system), CountyCooperation.client_id == client_id)
            .order_by(since.desc(), CountyCooperation.id)
        )
    ).all()
    if not rows:
        # No client data is returned, and no client_id is logged: whether the id exists is not revealed,
        # not even to the client's own "who has viewed my data". The attempt stays in the audit log.
        await _audit(db, system, "access_refused", object_type="client", object_id=client_id)
        return None
    first = rows[0]
    shared = SharedClient(first[0], first[1], first[2], first[3])
    share_health = any(r[0].share_health for r in rows)
    plan = await db.scalar(
        select(IntegrationPlan)
        .options(selectinload(IntegrationPlan.goals), selectinload(IntegrationPlan.services))
        .where(IntegrationPlan.client_id == client_id, IntegrationPlan.status == PlanStatus.IN_FORCE)
        .order_by(IntegrationPlan.number.desc())
        .limit(1)
    )
    services = await _service_entries(db, plan.services if plan else [], locale)
    assessment = await db.scalar(
        select(Assessment)
        .where(Assessment.client_id == client_id, Assessment.status == AssessmentStatus.COMPLETED)
        .order_by(Assessment.number.desc())
        .limit(1)
    )
    if assessment is not None and not _has_multi_sector_items(assessment):
        assessment = None
    health = None
    if share_health:
        health = list(
            (
                await db.scalars(
                    select(HealthInformation)
                    .where(HealthInformation.client_id == client_id)
                    .order_by(HealthInformation.created_at)
                )
            ).all()
        )
    sections = [*LIST_SECTIONS, "plans", "assessments"] + (["health"] if share_health else [])
    await _audit(
        db,
        system,
        Action.VIEW,
        client_id=client_id,
        object_type="client",
        object_id=client_id,
        fields=sections,
    )
    if health is not None:  # a separate event, so the client reads "your health information" in the log
        await _audit(
            db,
            system,
            Action.VIEW,
            client_id=client_id,
            object_type="health_information",
            fields=["text", "source"],
        )
    return ClientDetail(
        shared=shared,
        share_health=share_health,
        plan=plan,
        services=services,
        assessment=assessment,
        health=health,
    )


MULTI_SECTOR_FIELDS = (
    "county_mental_health_rehabilitation",
    "county_employment_education",
    "county_social_health",
    "county_other",
)


def _has_multi_sector_items(assessment: Assessment) -> bool:
    return assessment.county_takes_part or any(getattr(assessment, f) for f in MULTI_SECTOR_FIELDS)


async def _service_entries(
    db: AsyncSession, services: Sequence[PlanService], locale: str
) -> list[ServiceEntry]:
    """Each plan service with its name (a programme service's in `locale`, else as written)."""
    ids = {s.programme_service_id for s in services if s.programme_service_id}
    found: dict[uuid.UUID, ProgrammeService] = {}
    if ids:
        found = {
            p.id: p
            for p in (
                await db.scalars(
                    select(ProgrammeService)
                    .options(selectinload(ProgrammeService.texts))
                    .where(ProgrammeService.id.in_(ids))
                )
            ).all()
        }
    entries = []
    for service in services:
        ref = found.get(service.programme_service_id) if service.programme_service_id else None
        name = (programme.display_text(ref, locale).name or None) if ref else service.name
        entries.append(
            ServiceEntry(
                service=service,
                name=name,
                service_type=ref.service_type.value if ref else None,
            )
        )
    return entries
