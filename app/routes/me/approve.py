"""Migrant app: approve my plan (service 12) — the exact presented version, approved with a fresh passkey
assertion whose challenge is bound to the version's content hash (see app/domain/client_passkeys.py).

The version id in the paths is looked up among the signed-in client's own plans only; another client's
version, or one that is no longer the version waiting for approval, gets 404 on the page and 409 on the
passkey endpoints.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from litestar import Request, Router, get, post
from litestar.response import Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import i18n
from app.db.base import TextOrigin
from app.db.client import Client
from app.db.client_app import PlanTextTranslation
from app.db.plan import PlanVersion
from app.db.programme import ProgrammeService
from app.domain import audit, client_passkeys, programme
from app.domain.audit import Action
from app.domain.translations import content_hash
from app.i18n import _
from app.labels import label
from app.settings import Settings
from app.web import client_guard, current_client, page

SOURCE_LANGUAGE = "fi"  # officers write plans in Finnish (app/domain/plan_translations.py)
TEXT_FIELDS = ("language_studies", "guidance", "rationale", "duties_note", "extension_justification")


@dataclass(frozen=True)
class Text:
    """An officer-written text of the version, and its translation into the client's language if one
    was made from exactly this text."""

    id: str
    original: str
    translation: str | None = None
    translation_language: str | None = None
    machine: bool = False


@dataclass
class VersionView:
    number: int
    plan_number: int
    presented_at: Any
    starts_on: date | None
    ends_on: date | None
    next_review_on: date | None
    extension_reason: str | None
    goals: list[tuple[str, Text]] = field(default_factory=list)  # (kind and type, text)
    services: list[tuple[str, str, date | None, date | None, str]] = field(default_factory=list)
    texts: list[tuple[str, Text]] = field(default_factory=list)  # (title, text)
    fingerprint: str = ""


def _field_title(name: str) -> str:
    return {
        "language_studies": _("Finnish or Swedish studies"),
        "guidance": _("Guidance and counselling"),
        "rationale": _("Why these services fit your goals"),
        "duties_note": _("Your rights and duties"),
        "extension_justification": _("Why your plan is longer"),
    }.get(name, name)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def _view(db: AsyncSession, client: Client, plan_number: int, version: PlanVersion) -> VersionView:
    content = version.content
    locale = i18n.get_locale()
    rows = (
        await db.scalars(
            select(PlanTextTranslation).where(
                PlanTextTranslation.plan_id == version.plan_id, PlanTextTranslation.language == locale
            )
        )
    ).all()
    by_hash = {row.source_hash: row for row in rows}

    def text(anchor: str, original: str) -> Text:
        row = by_hash.get(content_hash(original)) if locale != SOURCE_LANGUAGE else None
        if row is None:
            return Text(anchor, original)
        return Text(
            anchor,
            original,
            row.text,
            row.language,
            row.origin == TextOrigin.MACHINE and row.checked_at is None,
        )

    service_ids = []
    for s in content.get("services") or []:
        try:
            if s.get("programme_service_id"):
                service_ids.append(uuid.UUID(str(s["programme_service_id"])))
        except ValueError:
            continue
    catalogue = {
        s.id: programme.display_text(s, locale)
        for s in (
            await db.scalars(
                select(ProgrammeService)
                .options(selectinload(ProgrammeService.texts))
                .where(ProgrammeService.id.in_(service_ids))
            )
        ).all()
    } if service_ids else {}  # fmt: skip
    view = VersionView(
        number=version.number,
        plan_number=int(content.get("number") or plan_number),
        presented_at=version.created_at,
        starts_on=_date(content.get("starts_on")),
        ends_on=_date(content.get("ends_on")),
        next_review_on=_date(content.get("next_review_on")),
        extension_reason=label(content["extension_reason"]) if content.get("extension_reason") else None,
        fingerprint=version.content_hash,
    )
    for i, goal in enumerate(content.get("goals") or []):
        title = f"{label(goal.get('kind'))}: {label(goal.get('type'))}"
        view.goals.append((title, text(f"goal-{i}", str(goal.get("text") or ""))))
    for s in content.get("services") or []:
        shown = (
            catalogue.get(uuid.UUID(str(s["programme_service_id"])))
            if s.get("programme_service_id")
            else None
        )
        name, language = (
            (shown.name, shown.language)
            if shown and shown.name
            else (str(s.get("name") or ""), SOURCE_LANGUAGE)
        )
        view.services.append(
            (name, language, _date(s.get("planned_start")), _date(s.get("planned_end")), label(s.get("kind")))
        )
    for name in TEXT_FIELDS:
        if content.get(name):
            view.texts.append((_field_title(name), text(name.replace("_", "-"), str(content[name]))))
    return view


@get("/me/plan/approve", guards=[client_guard])
async def approve_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    client = current_client(request).client
    pending = await client_passkeys.pending_approval(db_session, client)
    context: dict[str, Any] = {"me": client, "section": "plan", "pending": None, "done": None, "view": None}
    if pending is not None:
        context["pending"] = pending.version
        context["view"] = await _view(db_session, client, pending.plan.number, pending.version)
        context["has_passkey"] = bool(await client_passkeys.passkeys_of(db_session, client.id))
        await audit.record(
            db_session,
            Action.VIEW,
            actor_kind="client",
            actor_id=client.id,
            client_id=client.id,
            object_type="plan_version",
            object_id=pending.version.id,
            fields=["content"],
        )
    else:
        context["done"] = done = await client_passkeys.last_passkey_approval(db_session, client)
        if done is not None:
            await audit.record(
                db_session,
                Action.VIEW,
                actor_kind="client",
                actor_id=client.id,
                client_id=client.id,
                object_type="plan_approval",
                object_id=done[0].id,
                fields=["approved_at", "plan_version.number"],
            )
    return page("me/approve.html", **context)


def _conflict() -> Response[Any]:
    return Response(
        {
            "error": _(
                "This version of your plan is no longer waiting for your approval. Your officer may have "
                "changed it. Open the page again to see the plan as it is now."
            )
        },
        status_code=409,
    )


@post("/me/plan/approve/{version_id:uuid}/options", guards=[client_guard])
async def approve_options(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, version_id: uuid.UUID
) -> Response[Any]:
    client = current_client(request).client
    try:
        options = await client_passkeys.approval_options(db_session, settings, client, version_id)
    except client_passkeys.NotPending:
        return _conflict()
    except client_passkeys.PasskeyError:
        return Response(
            {"error": _("You have no passkey. Ask your officer for a new invitation.")}, status_code=409
        )
    return Response(content=json.loads(options))


@post("/me/plan/approve/{version_id:uuid}", guards=[client_guard])
async def approve(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, version_id: uuid.UUID
) -> Response[Any]:
    client = current_client(request).client
    try:
        credential = json.loads(await request.body())
        await client_passkeys.approve(db_session, settings, client, version_id, credential)
    except client_passkeys.NotPending:
        return _conflict()
    except (client_passkeys.PasskeyError, ValueError, TypeError, KeyError, AttributeError):
        await audit.record(
            db_session,
            Action.SIGN_IN_FAILED,
            actor_kind="client",
            actor_id=client.id,
            client_id=client.id,
            object_type="plan_approval",
            fields=["passkey"],
        )
        await db_session.commit()  # the challenge stays used; the failure is on record
        return Response({"error": _("Your passkey was not accepted. Try again.")}, status_code=400)
    return Response({"redirect": "/me/plan/approve"})


router = Router(path="/", include_in_schema=False, route_handlers=[approve_page, approve_options, approve])
