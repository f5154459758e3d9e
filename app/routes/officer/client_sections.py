"""The client page's sections loaded on demand.

The client page (`clients.client_page`) shows at once what an officer needs at a glance: basic data and
languages, status, assessments and plans, appointments and tasks. Every other section is a closed
`<details>` whose opening loads it with htmx from its own route, `GET /officer/clients/{id}/sections/<name>`:
the same permission and client scope as the page, its own audit event naming what it shows. Without
JavaScript, and after a form in a section was saved, the page opens with the section in place
(`?open=<name>`, see `clients.page_url`); a section's address opened as a page shows it on a page of
its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client, ConsentPurpose, FamilyRelation, HealthInformation
from app.domain import (
    appointments,
    audit,
    benefits,
    clients,
    compensation,
    cooperation,
    deliveries,
    family_overview,
    guidance_plans,
    guidance_visits,
    messaging,
    retention,
)
from app.domain.audit import Action
from app.domain.forms import today
from app.domain.policy import (
    Actor,
    Permission,
    load_client,
    may_read_health,
    may_write_client,
    may_write_health,
    of_responsible_organisation,
)
from app.i18n import N_
from app.web import requires

Visible = Callable[[AsyncSession, Actor, Client], Awaitable[bool]]
Loader = Callable[[AsyncSession, Actor, Client], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Section:
    name: str  # the route's last segment, the element's id and the ?open= value
    title: str  # marked with N_, translated where shown
    template: str  # the section's content, without its heading (the page's <summary> holds that)
    fields: tuple[str, ...]  # what the section's audit event names
    visible: Visible  # whether the actor sees the section of this client (no query unless needed)
    load: Loader  # the template's context; the domain functions audit their own records as before


async def _always(_db: AsyncSession, _actor: Actor, _client: Client) -> bool:
    return True


async def _responsible(_db: AsyncSession, actor: Actor, client: Client) -> bool:
    """Staff of the organisation responsible for the client, not county staff reading through a grant."""
    return of_responsible_organisation(actor, client)


async def _messages_visible(_db: AsyncSession, actor: Actor, client: Client) -> bool:
    return actor.has(Permission.MESSAGES) and client.organisation_id == actor.organisation_id


async def _cooperation_visible(_db: AsyncSession, actor: Actor, client: Client) -> bool:
    return of_responsible_organisation(actor, client) or actor.uses_grants


async def _compensation_visible(_db: AsyncSession, actor: Actor, client: Client) -> bool:
    return compensation.may_manage(actor, client.organisation_id)


async def _notifications_visible(_db: AsyncSession, actor: Actor, client: Client) -> bool:
    return deliveries.may_see(actor, client)


async def _messages(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"threads": await messaging.client_section(db, actor, client)}


async def _interpretations(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    with_form = may_write_client(actor, client) and actor.has(Permission.TRANSLATION_WORK)
    found = await appointments.interpretations_for_client(db, client, with_form=with_form)
    return {"interpretations": found, "may_record_interpretation": with_form}


async def _cooperation(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"cooperation": await cooperation.client_section(db, actor, client)}


async def _compensation(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"compensation": await compensation.client_section(db, actor, client)}


async def _benefits(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"benefits": await benefits.client_section(db, actor, client)}


async def _guidance_plan(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"guidance_plan": await guidance_plans.client_section(db, actor, client)}


async def _guidance_visits(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"guidance_visits": await guidance_visits.client_section(db, actor, client)}


async def _family(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {
        "family": await clients.family(db, actor, client),
        "overviews": await family_overview.for_client(db, client),
        "relations": FamilyRelation,
    }


async def _consents(db: AsyncSession, _actor: Actor, client: Client) -> dict[str, Any]:
    return {"consents": await clients.consents(db, client), "consent_purposes": ConsentPurpose}


async def _notifications(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"deliveries": await deliveries.client_section(db, actor, client)}


async def _retention(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    return {"retention": await retention.client_section(db, actor, client)}


async def _health(db: AsyncSession, actor: Actor, client: Client) -> dict[str, Any]:
    rows = await db.scalars(
        select(HealthInformation)
        .where(HealthInformation.client_id == client.id)
        .order_by(HealthInformation.created_at)
    )
    return {"health": rows.all(), "may_write_health": may_write_health(actor, client)}


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        Section(
            "messages", N_("Messages"), "officer/messages/_client_section.html", ("messages",),
            _messages_visible, _messages,
        ),
        Section(
            "interpretations", N_("Interpretations"), "officer/calendar/_interpretations_section.html",
            ("interpretations",), _always, _interpretations,
        ),
        Section(
            "cooperation", N_("Cooperation with the wellbeing services county"),
            "officer/cooperation/_client_section.html", ("cooperation",), _cooperation_visible, _cooperation,
        ),
        Section(
            "compensation", N_("Costs and compensation"), "officer/compensation/_client_section.html",
            ("compensation",), _compensation_visible, _compensation,
        ),
        Section(
            "benefits", N_("Benefits"), "officer/outreach/_benefits_section.html", ("benefits",), _always,
            _benefits,
        ),
        Section(
            "guidance-plan", N_("Initial guidance"), "officer/guidance/_plan_section.html",
            ("guidance_plan",), _always, _guidance_plan,
        ),
        Section(
            "guidance-visits", N_("Guidance and counselling visits"), "officer/guidance/_visits_section.html",
            ("guidance_visits",), _responsible, _guidance_visits,
        ),
        Section(
            "family", N_("Family"), "officer/clients/_family_section.html", ("family", "family_overview"),
            _always, _family,
        ),
        Section(
            "consents", N_("Consents"), "officer/clients/_consents_section.html", ("consents",), _always,
            _consents,
        ),
        Section(
            "notifications", N_("Notifications"), "officer/deliveries/_client_section.html",
            ("notifications",), _notifications_visible, _notifications,
        ),
        Section(
            "retention", N_("Retention of the data"), "officer/retention/_client_section.html",
            ("retention",), _responsible, _retention,
        ),
        Section(
            "health", N_("Health and functional capacity"), "officer/clients/_health_section.html",
            ("health",), may_read_health, _health,
        ),
    )
}  # fmt: skip
assert tuple(SECTIONS) == clients.ON_DEMAND_SECTIONS, "clients.ON_DEMAND_SECTIONS names these, in order"


def base_context(actor: Actor, client: Client) -> dict[str, Any]:
    """What every section's template may use besides its own data."""
    return {
        "client": client,
        "actor": actor,
        "may_write": may_write_client(actor, client),
        "today": today().isoformat(),
    }


async def visible_sections(db: AsyncSession, actor: Actor, client: Client) -> list[Section]:
    return [s for s in SECTIONS.values() if await s.visible(db, actor, client)]


async def load(db: AsyncSession, actor: Actor, client: Client, section: Section) -> dict[str, Any]:
    """The section's context, and its view recorded in the audit log (in the request's transaction)."""
    context = await section.load(db, actor, client)
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        fields=list(section.fields),
    )
    return context


def _handler(section: Section) -> HTTPRouteHandler:
    async def show_section(
        request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
    ) -> Template:
        client = await load_client(db_session, actor, client_id)  # the page's client scope
        if client is None or not await section.visible(db_session, actor, client):
            raise NotFoundException
        context = {**base_context(actor, client), **await load(db_session, actor, client, section)}
        await db_session.commit()
        if request.htmx and not request.htmx.boosted:  # into the page's <details>
            return Template(section.template, context=context)
        return Template("officer/clients/section.html", context={**context, "section": section})

    show_section.__name__ = show_section.__qualname__ = f"client_section_{section.name.replace('-', '_')}"
    return get(
        f"/clients/{{client_id:uuid}}/sections/{section.name}",
        guards=[requires(Permission.CLIENT_READ)],
        name=f"client-section-{section.name}",
    )(show_section)


route_handlers = [_handler(section) for section in SECTIONS.values()]
