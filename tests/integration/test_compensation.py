"""Costs and compensation claims (process 3.4.12, §§59–71) through HTTP: the client's compensated periods,
costs with access and audit, claims whose package holds only what is compensated and never a cost twice,
the status flow with stale edits, the CSV for KEHA, the printable summary and the §70 worklist warning."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.db.audit import AuditEvent
from app.db.client import (
    Client,
    ClientAccessGrant,
    ClientStatus,
    DataCategory,
    EndReason,
    FamilyLink,
    FamilyRelation,
    PermitType,
)
from app.db.costs import (
    ClaimLine,
    ClaimStatus,
    CompensationClaim,
    CompensationRate,
    Cost,
    CostCategory,
    RateKind,
)
from app.db.engine import make_engine
from app.db.organisation import Organisation, OrganisationType, Role, Staff
from app.domain import worklist
from app.domain.policy import Actor
from app.settings import Settings
from tests.conftest import Factory, client_section, post, sign_in

T = TypeVar("T")
D = date
EN = {"Accept-Language": "en"}
YEAR_2025 = {"period_start": "2025-01-01", "period_end": "2025-12-31"}


# --- helpers --------------------------------------------------------------------------------------


def seed_rates(db: Session) -> None:
    """The 1.1.2025 rates the migration seeds (the tests empty every table before they run)."""
    for kind, amount in (
        (RateKind.UNDER_7, "2741.00"),
        (RateKind.AGED_7_AND_OVER, "2052.00"),
        (RateKind.FIRST_YEAR_ADULT, "7741.00"),
    ):
        db.add(CompensationRate(kind=kind, valid_from=D(2025, 1, 1), amount_per_year=Decimal(amount),
                                source="Government decree 872/2024"))  # fmt: skip
    db.commit()


class World:
    def __init__(self, factory: Factory, db: Session) -> None:
        seed_rates(db)
        self.db = db
        self.factory = factory
        self.home = factory.organisation("Kotikunta")
        self.officer = factory.staff(self.home, Role.INTEGRATION_OFFICER)
        self.manager = factory.staff(self.home, Role.MANAGER)
        # Protected, arrived 1.3.2025: compensated 1.3.2025–28.2.2027.
        self.amina = factory.client(
            self.home, first_names="Amina", last_name="Yusuf", segment=2,
            permit_type=PermitType.INTERNATIONAL_PROTECTION, first_residence_on=D(2025, 3, 1),
            date_of_birth=D(1990, 5, 5), identity_code="050590-123T", temporary_identifier=None,
        )  # fmt: skip
        # A work permit: never compensated.
        self.pavel = factory.client(
            self.home, first_names="Pavel", last_name="Sedykh", permit_type=PermitType.WORK,
            first_residence_on=D(2025, 2, 1), date_of_birth=D(1985, 1, 1),
        )  # fmt: skip
        # Protected, but the first municipality of residence is not recorded: cannot tell.
        self.hamid = factory.client(
            self.home, first_names="Hamid", last_name="Rahimi", segment=2,
            permit_type=PermitType.INTERNATIONAL_PROTECTION, date_of_birth=D(1988, 8, 8),
        )  # fmt: skip

    def cost(
        self, client: Client, category: CostCategory, day: date, amount: str = "100.00", **kw: Any
    ) -> Cost:
        kw.setdefault("accounting_code", "4390")
        cost = Cost(
            organisation_id=client.organisation_id, client_id=client.id, category=category,
            amount=Decimal(amount), incurred_on=day, recorded_by_id=self.officer.id, **kw,
        )  # fmt: skip
        self.db.add(cost)
        self.db.commit()
        return cost

    def lines(self, claim_id: uuid.UUID) -> list[ClaimLine]:
        self.db.expire_all()
        return list(self.db.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim_id)))


@pytest.fixture
def world(factory: Factory, db: Session) -> World:
    return World(factory, db)


def claim_id_of(response: Any) -> uuid.UUID:
    assert response.status_code == 303, response.text
    return uuid.UUID(response.headers["location"].rsplit("/", 1)[-1])


def version_of(db: Session, model: Any, object_id: uuid.UUID) -> int:
    db.expire_all()
    return int(db.get(model, object_id).version)


def new_claim(client: TestClient[Any], period: dict[str, str] = YEAR_2025) -> uuid.UUID:
    return claim_id_of(post(client, "/officer/compensation/claims", period))


def prepare(client: TestClient[Any], db: Session, claim_id: uuid.UUID) -> Any:
    version = version_of(db, CompensationClaim, claim_id)
    return post(client, f"/officer/compensation/claims/{claim_id}/package", {"version": str(version)})


def step(client: TestClient[Any], db: Session, claim_id: uuid.UUID, name: str, **fields: str) -> Any:
    version = version_of(db, CompensationClaim, claim_id)
    return post(
        client, f"/officer/compensation/claims/{claim_id}/status",
        {"step": name, "version": str(version), **fields}, headers=EN,
    )  # fmt: skip


def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def runner() -> T:
        engine = make_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def actor_of(staff: Staff, organisation: Organisation, *roles: Role) -> Actor:
    return Actor(staff.id, organisation.id, organisation.type, frozenset(roles), staff.full_name)


# --- the client page and the client form ----------------------------------------------------------


def test_the_client_page_shows_the_compensated_periods_with_their_last_days(client, world):
    sign_in(client, world.officer)
    page = client_section(client, world.amina.id, "compensation", headers=EN)
    assert page.status_code == 200
    section = page.text
    assert "Calculated compensation" in section
    assert "Feb 28, 2027" in section  # two years from 1.3.2025, the last day
    assert "Feb 28, 2026" in section  # §63 social assistance, one year
    assert "Feb 28, 2035" in section  # §65 special costs, ten years
    assert f'href="/officer/compensation/clients/{world.amina.id}/costs/new"' in section

    missing = client_section(client, world.hamid.id, "compensation", headers=EN).text
    section = missing
    calculated = section.split("Calculated compensation", 1)[1].split("</tr>", 1)[0]
    # missing data is never a "no"
    assert "Cannot tell: The date of the first municipality of residence is not recorded" in calculated
    assert "Not compensated" not in calculated

    work = client_section(client, world.pavel.id, "compensation", headers=EN).text
    assert "Not compensated: the permit is for work, study or an EU citizen." in work


def test_the_client_form_records_the_first_municipality_of_residence_and_an_unaccompanied_minor(
    client, world, db
):
    sign_in(client, world.officer)
    form = client.get(f"/officer/clients/{world.hamid.id}/edit", headers=EN).text
    assert 'name="first_residence_on"' in form and 'name="unaccompanied_minor"' in form
    response = post(
        client,
        f"/officer/clients/{world.hamid.id}",
        {
            "version": str(version_of(db, Client, world.hamid.id)), "segment": "2", "known_on": "2025-03-01",
            "known_how": "client_contact", "first_names": "Hamid", "last_name": "Rahimi",
            "date_of_birth": "1988-08-08", "permit_type": "international_protection",
            "first_residence_on": "2025-04-01", "unaccompanied_minor": "on",
        },
    )  # fmt: skip
    assert response.status_code == 303, response.text
    db.expire_all()
    saved = db.get(Client, world.hamid.id)
    assert saved.first_residence_on == D(2025, 4, 1) and saved.unaccompanied_minor is True
    page = client_section(client, world.hamid.id, "compensation", headers=EN).text
    assert "Mar 31, 2027" in page


def test_a_quota_refugees_family_member_gets_three_years_through_the_family_link(client, world, factory, db):
    father = factory.client(world.home, first_names="Omar", last_name="Haddad", segment=3,
                            permit_type=PermitType.QUOTA_REFUGEE, first_residence_on=D(2025, 3, 1))  # fmt: skip
    joined = factory.client(world.home, first_names="Lina", last_name="Haddad", segment=2,
                            permit_type=PermitType.FAMILY, first_residence_on=D(2025, 3, 1))  # fmt: skip
    sign_in(client, world.officer)
    before = client_section(client, joined.id, "compensation", headers=EN).text
    assert "record the family link to the person they joined" in before
    db.add_all([
        FamilyLink(client_id=father.id, related_client_id=joined.id, relation=FamilyRelation.SPOUSE),
        FamilyLink(client_id=joined.id, related_client_id=father.id, relation=FamilyRelation.SPOUSE),
    ])  # fmt: skip
    db.commit()
    after = client_section(client, joined.id, "compensation", headers=EN).text
    assert "Quota refugee or a family member: three years" in after
    assert "Feb 29, 2028" in after


# --- costs ----------------------------------------------------------------------------------------


COST = {
    "category": "cost_special",
    "amount": "1 250,50",
    "incurred_on": "2025-05-02",
    "accounting_code": "4390-KOTO",
    "invoice_reference": "INV-77",
    "description": "Päivähoidon erityiskulut",
}


def test_an_officer_records_a_cost_and_it_is_audited(client, world, db):
    sign_in(client, world.officer)
    form = client.get(f"/officer/compensation/clients/{world.amina.id}/costs/new", headers=EN)
    assert form.status_code == 200 and 'name="accounting_code"' in form.text
    response = post(client, f"/officer/compensation/clients/{world.amina.id}/costs", COST)
    assert response.status_code == 303
    assert response.headers["location"] == f"/officer/clients/{world.amina.id}?open=compensation#compensation"
    cost = db.scalar(select(Cost).where(Cost.client_id == world.amina.id))
    assert cost is not None
    assert (cost.amount, cost.incurred_on, cost.category) == (
        Decimal("1250.50"),
        D(2025, 5, 2),
        CostCategory.SPECIAL_COSTS,
    )
    assert cost.organisation_id == world.home.id and cost.recorded_by_id == world.officer.id
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.object_type == "cost")
    )
    assert event is not None and event.client_id == world.amina.id and "amount" in event.fields
    assert "1250" not in str(event.fields)  # names of fields only
    page = client_section(client, world.amina.id, "compensation", headers=EN).text
    section = page
    assert "€1,250.50" in section and "Outside the compensated period" not in section
    viewed = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.object_type == "cost")
    )
    assert viewed is not None and viewed.client_id == world.amina.id


def test_a_manager_records_costs_too(client, world, db):
    sign_in(client, world.manager)
    assert post(client, f"/officer/compensation/clients/{world.amina.id}/costs", COST).status_code == 303


def test_a_cost_outside_its_window_is_saved_with_a_warning(client, world, db):
    sign_in(client, world.officer)
    # §63: social assistance only for one year (to 28.2.2026)
    outside = {**COST, "category": "cost_social_assistance", "incurred_on": "2026-03-01"}
    assert post(client, f"/officer/compensation/clients/{world.amina.id}/costs", outside).status_code == 303
    assert db.scalar(select(Cost).where(Cost.client_id == world.amina.id)) is not None
    page = client_section(client, world.amina.id, "compensation", headers=EN).text
    assert "Outside the compensated period" in page
    assert "The date is after the compensated period." in page
    listed = client.get("/officer/compensation", headers=EN).text
    assert "Outside the compensated period" in listed


def test_bad_cost_input_is_shown_again_with_every_value_kept(client, world, db):
    sign_in(client, world.officer)
    bad = {**COST, "amount": "12,345", "accounting_code": "", "incurred_on": "31.2.2025"}
    response = post(client, f"/officer/compensation/clients/{world.amina.id}/costs", bad, headers=EN)
    assert response.status_code == 422
    assert "Enter the amount in euros and cents" in response.text
    assert "Enter the accounting code" in response.text
    assert "Enter the date as dd.mm.yyyy" in response.text
    assert 'value="12,345"' in response.text and 'value="INV-77"' in response.text
    assert db.scalar(select(Cost)) is None


def test_editing_a_cost_is_version_checked(client, world, db):
    cost = world.cost(
        world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "1250.50", invoice_reference="INV-77",
        description="Päivähoidon erityiskulut",
        accounting_code="4390-KOTO",
    )  # fmt: skip
    sign_in(client, world.officer)
    form = client.get(f"/officer/compensation/costs/{cost.id}/edit", headers=EN)
    assert form.status_code == 200 and 'name="version" value="1"' in form.text
    changed = {**COST, "amount": "200,00", "version": "1"}
    assert post(client, f"/officer/compensation/costs/{cost.id}", changed).status_code == 303
    db.expire_all()
    assert db.get(Cost, cost.id).amount == Decimal("200.00")
    stale = {**COST, "amount": "300,00", "version": "1"}
    response = post(client, f"/officer/compensation/costs/{cost.id}", stale, headers=EN)
    assert response.status_code == 409
    assert "Someone else saved changes to this cost" in response.text
    assert 'value="300,00"' in response.text  # the user's input is kept
    db.expire_all()
    assert db.get(Cost, cost.id).amount == Decimal("200.00")
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.object_type == "cost")
    )
    assert event is not None and event.fields == ["amount"]


def test_a_description_over_its_limit_is_refused_and_kept_whole(client, world, db):
    """Nothing typed is cut: the form comes back with an error and all the text; the saved cost is as it was."""
    cost = world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), description="Päivähoito")
    sign_in(client, world.officer)
    typed = "Päivähoidon erityiskulut kuntoutusjaksolta. " * 9 + "LOPPU"  # 401 characters
    assert len(typed) == 401
    response = post(
        client,
        f"/officer/compensation/costs/{cost.id}",
        {**COST, "description": typed, "version": "1"},
        headers=EN,
    )
    assert response.status_code == 422
    assert "Shorten this to at most 400 characters (now 401)." in response.text
    assert re.search(r'<textarea id="description"[^>]*>' + re.escape(typed) + "</textarea>", response.text)
    db.expire_all()
    saved = db.get(Cost, cost.id)
    assert (saved.description, saved.version, saved.invoice_reference) == ("Päivähoito", 1, None)
    # A new cost with the same text is not recorded either.
    new = post(
        client, f"/officer/compensation/clients/{world.amina.id}/costs", {**COST, "description": typed}
    )
    assert new.status_code == 422 and typed in new.text
    assert db.scalar(select(func.count()).select_from(Cost)) == 1


def test_removing_a_cost_recorded_by_mistake(client, world, db):
    cost_id = world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2)).id
    sign_in(client, world.officer)
    stale = post(client, f"/officer/compensation/costs/{cost_id}/delete", {"version": "0"}, headers=EN)
    assert stale.status_code == 409 and "Someone else changed this cost" in stale.text
    assert post(client, f"/officer/compensation/costs/{cost_id}/delete", {"version": "1"}).status_code == 303
    db.expire_all()
    assert db.get(Cost, cost_id) is None
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "delete", AuditEvent.object_type == "cost")
    )
    assert event is not None and event.client_id == world.amina.id and event.object_id == str(cost_id)


def test_another_organisation_finds_nothing_and_county_staff_may_not_enter(client, world, factory, db):
    cost = world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2))
    claim = CompensationClaim(organisation_id=world.home.id, period_start=D(2025, 1, 1),
                              period_end=D(2025, 12, 31), created_by_id=world.officer.id)  # fmt: skip
    db.add(claim)
    db.commit()
    elsewhere = factory.organisation("Muukunta")
    for role in (Role.INTEGRATION_OFFICER, Role.MANAGER):
        stranger = factory.staff(elsewhere, role)
        client.cookies.clear()
        sign_in(client, stranger)
        assert client.get(f"/officer/compensation/clients/{world.amina.id}/costs/new").status_code == 404
        assert post(client, f"/officer/compensation/clients/{world.amina.id}/costs", COST).status_code == 404
        assert client.get(f"/officer/compensation/costs/{cost.id}/edit").status_code == 404
        assert (
            post(client, f"/officer/compensation/costs/{cost.id}", {**COST, "version": "1"}).status_code
            == 404
        )
        assert (
            post(client, f"/officer/compensation/costs/{cost.id}/delete", {"version": "1"}).status_code == 404
        )
        assert client.get(f"/officer/compensation/claims/{claim.id}").status_code == 404
        assert (
            post(client, f"/officer/compensation/claims/{claim.id}/package", {"version": "1"}).status_code
            == 404
        )
        assert client.get(f"/officer/compensation/claims/{claim.id}/package.csv").status_code == 404
        assert client.get(f"/officer/compensation/claims/{claim.id}/summary").status_code == 404
        listed = client.get("/officer/compensation")
        assert listed.status_code == 200 and "4390" not in listed.text
        page = client.get(f"/officer/clients/{world.amina.id}")
        assert page.status_code == 404
    county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    member = factory.staff(county, Role.COUNTY_TEAM_MEMBER)
    client.cookies.clear()
    sign_in(client, member)
    assert client.get("/officer/compensation").status_code == 403
    assert client.get(f"/officer/compensation/clients/{world.amina.id}/costs/new").status_code == 403
    assert client.get(f"/officer/compensation/costs/{cost.id}/edit").status_code == 403
    assert client.get(f"/officer/compensation/claims/{claim.id}").status_code == 403
    assert client.get(f"/officer/compensation/claims/{claim.id}/package.csv").status_code == 403
    db.expire_all()
    assert db.get(Cost, cost.id).amount == Decimal("100.00")


def test_the_organisations_cost_list_filters_by_period_and_category(client, world, db):
    world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "111.00")
    world.cost(world.amina, CostCategory.INTERPRETATION, D(2025, 6, 2), "222.00")
    world.cost(world.pavel, CostCategory.SPECIAL_COSTS, D(2024, 6, 2), "333.00")
    sign_in(client, world.officer)
    everything = client.get("/officer/compensation", headers=EN).text
    assert all(amount in everything for amount in ("€111.00", "€222.00", "€333.00"))
    assert "total €666.00" in everything
    chosen = client.get(
        "/officer/compensation?start=2025-01-01&end=2025-12-31&category=cost_special", headers=EN
    ).text
    assert "€111.00" in chosen and "€222.00" not in chosen and "€333.00" not in chosen
    assert "Yusuf, Amina" in chosen
    wrong = client.get("/officer/compensation?start=2025-12-31&end=2025-01-01", headers=EN)
    assert wrong.status_code == 422 and "The end of the period cannot be before its start." in wrong.text
    assert db.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "cost", AuditEvent.fields.is_not(None))
    )


# --- claims ---------------------------------------------------------------------------------------


def test_the_package_holds_only_what_is_compensated(client, world, db):
    special = world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "500.00")
    minor = world.cost(world.amina, CostCategory.UNACCOMPANIED_MINOR, D(2025, 5, 3), "50.00")  # not one
    work = world.cost(world.pavel, CostCategory.SPECIAL_COSTS, D(2025, 5, 4), "70.00")  # work permit
    unknown = world.cost(world.hamid, CostCategory.SPECIAL_COSTS, D(2025, 5, 5), "80.00")  # cannot tell
    later = world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2026, 1, 5), "90.00")  # after the period
    sign_in(client, world.officer)
    claim_id = new_claim(client)
    assert prepare(client, db, claim_id).status_code == 303
    lines = world.lines(claim_id)
    calculated = sorted(
        (line.rate_kind, line.days, line.amount) for line in lines if line.kind == "calculated"
    )
    assert calculated == [
        (RateKind.AGED_7_AND_OVER, 306, Decimal("1720.31")),  # 1.3.–31.12.2025, 2052 × 306 / 365
        (RateKind.FIRST_YEAR_ADULT, 306, Decimal("6489.72")),  # the first-year supplement
    ]
    assert {line.client_id for line in lines} == {world.amina.id}
    assert [line.cost_id for line in lines if line.cost_id] == [special.id]
    db.expire_all()
    assert db.get(Cost, special.id).claim_id == claim_id
    assert all(db.get(Cost, c.id).claim_id is None for c in (minor, work, unknown, later))
    page = client.get(f"/officer/compensation/claims/{claim_id}", headers=EN).text
    assert "€8,710.03" in page  # 1720.31 + 6489.72 + 500.00
    not_included = page.split('id="not-included"', 1)[1].split("</section>", 1)[0]
    assert "Only for a client who came as an unaccompanied minor." in not_included
    assert "Not compensated: the permit is for work" in not_included
    cannot = page.split('id="cannot-tell"', 1)[1].split("</section>", 1)[0]
    assert "Rahimi, Hamid" in cannot and "first municipality of residence is not recorded" in cannot
    assert "Sedykh" not in cannot
    assert db.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "compensation_claim", AuditEvent.action == "view")
    )


def test_a_cost_or_a_day_is_never_claimed_twice(client, world, db):
    special = world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "500.00")
    sign_in(client, world.officer)
    first = new_claim(client, {"period_start": "2025-01-01", "period_end": "2025-06-30"})
    assert prepare(client, db, first).status_code == 303
    # preparing again rebuilds the draft: the same lines, the cost still its own
    assert prepare(client, db, first).status_code == 303
    first_lines = world.lines(first)
    assert sum(line.days or 0 for line in first_lines if line.rate_kind == RateKind.AGED_7_AND_OVER) == 122
    assert [line.cost_id for line in first_lines if line.cost_id] == [special.id]

    # an overlapping claim for the whole year takes only the days and costs not yet claimed
    extra = world.cost(world.amina, CostCategory.INTERPRETATION, D(2025, 3, 10), "40.00")
    second = new_claim(client)
    assert prepare(client, db, second).status_code == 303
    second_lines = world.lines(second)
    base = [line for line in second_lines if line.rate_kind == RateKind.AGED_7_AND_OVER]
    assert [(line.first_day, line.last_day, line.days) for line in base] == [
        (D(2025, 7, 1), D(2025, 12, 31), 184)
    ]
    assert [line.cost_id for line in second_lines if line.cost_id] == [extra.id]
    db.expire_all()
    assert db.get(Cost, special.id).claim_id == first

    # removing the first draft frees its cost and days for the second
    assert post(client, f"/officer/compensation/claims/{first}/delete",
                {"version": str(version_of(db, CompensationClaim, first))}).status_code == 303  # fmt: skip
    assert prepare(client, db, second).status_code == 303
    db.expire_all()
    assert db.get(Cost, special.id).claim_id == second
    assert (
        sum(line.days or 0 for line in world.lines(second) if line.rate_kind == RateKind.AGED_7_AND_OVER)
        == 306
    )


def test_the_status_flow_and_frozen_lines(client, world, db):
    cost = world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "500.00")
    sign_in(client, world.officer)
    claim_id = new_claim(client)
    empty = step(client, db, claim_id, "send", sent_on="2026-01-15")
    assert empty.status_code == 422 and "prepare the package first" in empty.text
    assert prepare(client, db, claim_id).status_code == 303

    stale_version = version_of(db, CompensationClaim, claim_id)
    assert (
        step(client, db, claim_id, "send", sent_on="2026-01-15", keha_reference="KEHA/123/2026").status_code
        == 303
    )
    stale = post(client, f"/officer/compensation/claims/{claim_id}/status",
                 {"step": "decide", "version": str(stale_version), "decided_on": "2026-03-01",
                  "decided_amount": "8000"}, headers=EN)  # fmt: skip
    assert stale.status_code == 409 and "Someone else changed this claim" in stale.text
    assert 'value="8000"' in stale.text  # the input is kept
    db.expire_all()
    claim = db.get(CompensationClaim, claim_id)
    assert claim.status == ClaimStatus.SENT and claim.sent_on == D(2026, 1, 15)
    assert claim.keha_reference == "KEHA/123/2026"

    # sent: the lines and the cost are frozen
    assert prepare(client, db, claim_id).status_code == 409
    edit = post(client, f"/officer/compensation/costs/{cost.id}", {**COST, "version": "1"}, headers=EN)
    assert edit.status_code == 409 and "can no longer be changed" in edit.text
    assert post(client, f"/officer/compensation/costs/{cost.id}/delete", {"version": "1"}).status_code == 409
    db.expire_all()
    assert db.get(Cost, cost.id).amount == Decimal("500.00")

    missing = step(client, db, claim_id, "request_information", information_requested_on="2026-02-01")
    assert missing.status_code == 422 and "Write what KEHA asked for." in missing.text
    assert step(client, db, claim_id, "pay", paid_on="2026-02-01", paid_amount="1").status_code == 422
    assert step(client, db, claim_id, "request_information", information_requested_on="2026-02-01",
                information_request="Invoices for the special costs").status_code == 303  # fmt: skip
    early = step(client, db, claim_id, "send_again", information_sent_on="2026-01-20")
    assert early.status_code == 422 and "before it was requested" in early.text
    assert step(client, db, claim_id, "send_again", information_sent_on="2026-02-10").status_code == 303
    # a further request keeps the first one, and needs its own answer
    assert step(client, db, claim_id, "request_information", information_requested_on="2026-02-15",
                information_request="The receipt of the day-care fee").status_code == 303  # fmt: skip
    assert (
        step(client, db, claim_id, "decide", decided_on="2026-03-01", decided_amount="1").status_code == 422
    )
    assert step(client, db, claim_id, "send_again", information_sent_on="2026-02-20").status_code == 303
    assert (
        step(client, db, claim_id, "decide", decided_on="2026-03-01", decided_amount="8 700,00").status_code
        == 303
    )
    assert step(client, db, claim_id, "pay", paid_on="2026-03-20", paid_amount="8700").status_code == 303
    db.expire_all()
    claim = db.get(CompensationClaim, claim_id)
    assert claim.status == ClaimStatus.PAID
    assert (claim.information_requested_on, claim.information_sent_on) == (D(2026, 2, 15), D(2026, 2, 20))
    assert claim.information_request.startswith("The receipt of the day-care fee")
    assert "(2026-02-01) Invoices for the special costs" in claim.information_request
    assert (claim.decided_amount, claim.paid_amount) == (Decimal("8700.00"), Decimal("8700.00"))
    page = client.get(f"/officer/compensation/claims/{claim_id}", headers=EN).text
    assert "Invoices for the special costs" in page and 'name="step"' not in page
    assert post(client, f"/officer/compensation/claims/{claim_id}/delete",
                {"version": str(version_of(db, CompensationClaim, claim_id))}).status_code == 409  # fmt: skip


def test_the_csv_package_for_keha(client, world, db):
    world.cost(
        world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "1250.50", invoice_reference="=HYPERLINK()"
    )
    sign_in(client, world.officer)
    claim_id = new_claim(client)
    prepare(client, db, claim_id)
    response = client.get(f"/officer/compensation/claims/{claim_id}/package.csv", headers=EN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "Yusuf" not in disposition and "Amina" not in disposition
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark, for Excel
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    header, data = rows[0], rows[1:]
    assert header[:4] == ["Line type", "Section", "Year of activity", "Personal identity code"]
    assert len(data) == 3 and all(len(row) == len(header) for row in data)
    record = dict(zip(header, data[0], strict=True))
    assert record["Personal identity code"] == "050590-123T"
    assert (record["Last name"], record["First names"], record["Date of birth"]) == (
        "Yusuf",
        "Amina",
        "5.5.1990",
    )
    amounts = sorted(dict(zip(header, row, strict=True))["Amount (EUR)"] for row in data)
    assert amounts == ["1250,50", "1720,31", "6489,72"]  # decimal comma
    cost_row = next(dict(zip(header, row, strict=True)) for row in data if row[0] == "Special costs (§ 65)")
    assert cost_row["Section"] == "65" and cost_row["Invoice reference"] == "'=HYPERLINK()"
    assert cost_row["Accounting code"] == "4390"
    calculated = next(dict(zip(header, row, strict=True)) for row in data if "7 years and over" in row[0])
    assert (calculated["First day"], calculated["Last day"], calculated["Days"]) == (
        "1.3.2025",
        "31.12.2025",
        "306",
    )
    assert calculated["Rate per year (EUR)"] == "2052,00" and calculated["Section"] == "61–62"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert (
        event is not None and event.object_type == "compensation_claim" and event.object_id == str(claim_id)
    )
    assert event.actor_id == world.officer.id


def test_the_printable_summary_has_totals_and_no_names(client, world, factory, db):
    world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "500.00")
    child = factory.client(world.home, first_names="Noor", last_name="Saleh", segment=3,
                           permit_type=PermitType.QUOTA_REFUGEE, first_residence_on=D(2024, 1, 1),
                           date_of_birth=D(2020, 1, 1))  # fmt: skip
    sign_in(client, world.officer)
    claim_id = new_claim(client)
    prepare(client, db, claim_id)
    page = client.get(f"/officer/compensation/claims/{claim_id}/summary", headers=EN)
    assert page.status_code == 200
    text = page.text
    assert "Kotikunta" in text and "Jan 1, 2025" in text and "Dec 31, 2025" in text
    assert "Yusuf" not in text and "Saleh" not in text and "050590" not in text
    assert "2 persons" in text
    assert "Calculated compensation, under 7 years" in text and "€2,741.00" in text  # Noor, all 365 days
    assert "Special costs (§ 65)" in text and "€500.00" in text
    assert "€11,451.03" in text  # 1720.31 + 6489.72 + 2741.00 + 500.00
    assert "Dec 31, 2027" in text  # §70: the deadline for 2025's activity
    assert child.id


def test_a_client_who_moved_away_is_compensated_until_the_end(client, world, db):
    world.db.get(Client, world.amina.id).status = ClientStatus.ENDED
    world.db.get(Client, world.amina.id).ended_on = D(2025, 3, 31)
    world.db.get(Client, world.amina.id).end_reason = EndReason.MOVED_AWAY
    db.commit()
    sign_in(client, world.officer)
    claim_id = new_claim(client)
    prepare(client, db, claim_id)
    assert sorted(line.days for line in world.lines(claim_id)) == [31, 31]  # March 2025


# --- the §70 worklist warning -----------------------------------------------------------------------


def test_the_worklist_warns_before_the_claim_deadline_of_a_year(client, world, settings, db):
    """§70: 2025's activity must reach KEHA by 31.12.2027; with 120 days' warning the item appears on
    2.9.2027 and goes when a sent claim holds the year."""
    sign_in(client, world.officer)
    cost = world.cost(world.pavel, CostCategory.SPECIAL_COSTS, D(2025, 5, 2))  # not compensated: no warning
    actor = actor_of(world.officer, world.home, Role.INTEGRATION_OFFICER)

    def items(on: date) -> list[worklist.Item]:
        found = in_session(settings, lambda session: worklist.collect(session, actor, on))
        return [i for i in found if i.kind == worklist.Kind.COMPENSATION_CLAIM]

    assert items(D(2027, 9, 1)) == []
    warned = items(D(2027, 9, 2))
    assert [(i.client_id, i.due, i.overdue, i.link) for i in warned] == [
        (
            world.amina.id,
            D(2027, 12, 31),
            False,
            f"/officer/clients/{world.amina.id}?open=compensation#compensation",
        )
    ]
    assert warned[0].section == "70" and cost.id

    # a draft is not enough; a sent claim for the whole year is
    claim_id = new_claim(client)
    prepare(client, db, claim_id)
    assert [i.client_id for i in items(D(2027, 9, 2))] == [world.amina.id]
    assert step(client, db, claim_id, "send", sent_on="2026-01-15").status_code == 303
    assert items(D(2027, 9, 2)) == []

    # a compensated cost of 2025 recorded after the claim was sent brings the warning back
    world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 11, 2))
    again = items(D(2027, 10, 1))
    assert [(i.client_id, i.count) for i in again] == [(world.amina.id, 1)]
    assert items(D(2028, 1, 1)) == []  # the deadline has passed: nothing can be claimed any more


def test_the_worklist_page_shows_the_warning(client, world, db, monkeypatch):
    from app.routes.officer import worklist as worklist_routes

    monkeypatch.setattr(worklist_routes, "today", lambda: D(2027, 10, 1))
    sign_in(client, world.officer)
    page = client.get("/officer/worklist", headers=EN).text
    assert "Compensation to claim before the deadline" in page
    assert re.search(r"Costs or calculated compensation of 2025 not yet in a sent claim", page)
    assert "Yusuf, Amina" in page


def test_reception_preparation_counts_eight_months_back_only_with_a_good_reason(client, world, factory, db):
    """§64: preparing a quota refugee's reception is compensated for four months before arrival, eight
    with a good reason recorded with the cost."""
    family = factory.client(world.home, first_names="Rasha", last_name="Nasser", segment=3,
                            permit_type=PermitType.QUOTA_REFUGEE, first_residence_on=D(2025, 9, 1),
                            date_of_birth=D(1992, 2, 2))  # fmt: skip
    sign_in(client, world.officer)
    url = f"/officer/compensation/clients/{family.id}/costs"
    early = {**COST, "category": "cost_reception_preparation", "incurred_on": "2025-02-01", "amount": "900"}
    assert post(client, url, early).status_code == 303  # seven months before arrival, no reason
    reason = "The flat had to be rented when it became free; the arrival date moved."
    assert (
        post(client, url, {**early, "amount": "800", "longer_preparation_reason": reason}).status_code == 303
    )
    # the reason is kept only for reception preparation
    assert post(client, url, {**COST, "longer_preparation_reason": reason}).status_code == 303
    saved = {c.amount: c for c in db.scalars(select(Cost).where(Cost.client_id == family.id))}
    assert saved[Decimal("800.00")].longer_preparation_reason == reason
    assert saved[Decimal("1250.50")].longer_preparation_reason is None
    claim_id = new_claim(client)
    assert prepare(client, db, claim_id).status_code == 303
    included = {line.amount for line in world.lines(claim_id) if line.cost_id}
    assert Decimal("800.00") in included and Decimal("900.00") not in included
    page = client_section(client, family.id, "compensation", headers=EN).text
    assert "The date is before the compensated period." in page


def test_the_claims_page_lists_claims_and_refuses_a_bad_period(client, world, db):
    sign_in(client, world.officer)
    page = client.get("/officer/compensation/claims", headers=EN)
    assert page.status_code == 200 and "No claims yet." in page.text
    assert 'value="2025-01-01"' in page.text  # the previous calendar year is offered
    bad = post(client, "/officer/compensation/claims", {"period_start": "2025-12-31", "period_end": "2025-01-01"},
               headers=EN)  # fmt: skip
    assert bad.status_code == 422 and "The end of the period cannot be before its start." in bad.text
    assert 'value="2025-12-31"' in bad.text
    assert db.scalar(select(CompensationClaim)) is None
    claim_id = new_claim(client)
    prepare(client, db, claim_id)
    listed = client.get("/officer/compensation/claims", headers=EN).text
    assert f'href="/officer/compensation/claims/{claim_id}"' in listed
    assert "€8,210.03" in listed and "Draft" in listed


def test_county_staff_reading_a_client_see_no_costs(client, world, factory, db):
    world.cost(world.amina, CostCategory.SPECIAL_COSTS, D(2025, 5, 2), "500.00")
    county = factory.organisation("Hyvinvointialue", OrganisationType.WELLBEING_COUNTY)
    member = factory.staff(county, Role.COUNTY_TEAM_MEMBER)
    db.add(ClientAccessGrant(client_id=world.amina.id, staff_id=member.id, category=DataCategory.BASIC,
                             granted_by_id=world.officer.id, reason="Monialainen yhteistyö"))  # fmt: skip
    db.commit()
    sign_in(client, member)
    page = client.get(f"/officer/clients/{world.amina.id}", headers=EN)
    assert page.status_code == 200
    assert 'id="compensation"' not in page.text and "€500.00" not in page.text
    assert client_section(client, world.amina.id, "compensation").status_code == 404
    assert client.get(f"/officer/compensation/clients/{world.amina.id}/costs/new").status_code == 403
