"""Family integration overview — the seed's family plan, repealed as a statutory document by 1100/2024.

It links the family members' own plans, exists only with the guardians' recorded consent (Consent,
purpose family_overview) and lapses when no member has a plan in force or a consent is withdrawn.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.client import Client, Consent, ConsentPurpose, FamilyLink
from app.db.plan import FamilyOverview, FamilyOverviewMember, IntegrationPlan, PlanStatus
from app.domain import audit, rules
from app.domain.audit import Action
from app.domain.forms import FormErrors, text, today
from app.domain.plans import PlanRuleError, StaleEdit
from app.domain.policy import Actor, client_scope
from app.i18n import _


@dataclass(frozen=True)
class Member:
    client: Client
    plan: IntegrationPlan | None  # the member's plan in force
    consent: bool | None  # the latest family-overview decision; None when never asked
    adult: bool


@dataclass(frozen=True)
class Overview:
    overview: FamilyOverview
    members: list[Member]

    @property
    def missing_consent(self) -> list[Client]:
        return [m.client for m in self.members if m.adult and m.consent is not True]

    @property
    def lapsed(self) -> bool:
        return not any(m.plan for m in self.members) or bool(self.missing_consent)


def _adult(client: Client, on: date) -> bool:
    # Without a date of birth we cannot tell: ask for the person's own consent, as for an adult.
    return client.date_of_birth is None or rules.add_years(client.date_of_birth, 18) <= on


async def _latest_consents(db: AsyncSession, client_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
    rows = (
        await db.execute(
            select(Consent.client_id, Consent.given)
            .where(Consent.client_id.in_(client_ids), Consent.purpose == ConsentPurpose.FAMILY_OVERVIEW)
            .order_by(Consent.recorded_at)
        )
    ).all()
    return {row.client_id: row.given for row in rows}  # later rows win


async def _members(db: AsyncSession, actor: Actor, clients: list[Client]) -> list[Member]:
    ids = [c.id for c in clients]
    consents = await _latest_consents(db, ids)
    plans = {
        p.client_id: p
        for p in (
            await db.scalars(
                select(IntegrationPlan).where(
                    IntegrationPlan.client_id.in_(ids), IntegrationPlan.status == PlanStatus.IN_FORCE
                )
            )
        ).all()
    }
    on = today()
    return [Member(c, plans.get(c.id), consents.get(c.id), _adult(c, on)) for c in clients]


async def family_of(db: AsyncSession, actor: Actor, client: Client) -> list[Client]:
    """The client and the family members linked to them that the actor may see."""
    related = (
        await db.scalars(
            select(Client)
            .join(FamilyLink, FamilyLink.related_client_id == Client.id)
            .where(FamilyLink.client_id == client.id, client_scope(actor))
            .order_by(Client.date_of_birth)
        )
    ).all()
    return [client, *related]


async def for_client(db: AsyncSession, client: Client) -> list[FamilyOverview]:
    return list(
        (
            await db.scalars(
                select(FamilyOverview)
                .join(FamilyOverviewMember, FamilyOverviewMember.overview_id == FamilyOverview.id)
                .where(FamilyOverviewMember.client_id == client.id)
            )
        ).all()
    )


async def create(db: AsyncSession, actor: Actor, client: Client) -> FamilyOverview:
    clients = await family_of(db, actor, client)
    if len(clients) < 2:
        raise PlanRuleError(
            FormErrors(family=_("Link the family members first: the overview covers a family."))
        )
    members = await _members(db, actor, clients)
    missing = [m.client for m in members if m.adult and m.consent is not True]
    if missing:
        names = ", ".join(f"{c.first_names} {c.last_name}" for c in missing)
        raise PlanRuleError(
            FormErrors(
                family=_(
                    "The family overview needs the consent of the guardians and adult members. Record it under "
                    "Consents first for: %(names)s."
                )
                % {"names": names}
            )
        )
    if await for_client(db, client):
        raise PlanRuleError(FormErrors(family=_("The client already belongs to a family overview.")))
    overview = FamilyOverview(
        organisation_id=actor.organisation_id,
        created_by_id=actor.staff_id,
        members=[FamilyOverviewMember(client_id=c.id) for c in clients],
    )
    db.add(overview)
    await db.flush()
    for c in clients:
        await audit.record(
            db,
            Action.CREATE,
            actor=actor,
            client_id=c.id,
            object_type="family_overview",
            object_id=overview.id,
        )
    return overview


async def load(db: AsyncSession, actor: Actor, overview_id: uuid.UUID) -> Overview | None:
    """The overview when the actor may see every member; otherwise None (404)."""
    overview = await db.scalar(
        select(FamilyOverview)
        .options(selectinload(FamilyOverview.members))
        .where(FamilyOverview.id == overview_id)
    )
    if overview is None or not overview.members:  # no members: nobody's overview to see
        return None
    ids = [m.client_id for m in overview.members]
    clients = (
        await db.scalars(
            select(Client).where(Client.id.in_(ids), client_scope(actor)).order_by(Client.date_of_birth)
        )
    ).all()
    if len(clients) != len(ids):
        return None
    return Overview(overview, await _members(db, actor, list(clients)))


async def update(db: AsyncSession, actor: Actor, found: Overview, data: Mapping[str, Any]) -> None:
    """PlanRuleError (nothing changed) when a text is too long."""
    overview = found.overview
    if str(data.get("version") or "") != str(overview.version):
        raise StaleEdit
    errors = FormErrors()
    shared_goals = text(data, "shared_goals", 4000, errors)
    family_needs = text(data, "family_needs", 4000, errors)
    if errors:
        raise PlanRuleError(errors)
    overview.shared_goals, overview.family_needs = shared_goals, family_needs
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    for member in found.members:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            client_id=member.client.id,
            object_type="family_overview",
            object_id=overview.id,
            fields=["shared_goals", "family_needs"],
        )
