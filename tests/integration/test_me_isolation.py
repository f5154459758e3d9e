"""A client can never reach another client's data (issue 4): every route of the migrant app, every method,
tried by client A with client B's ids.

The routes are read from the application itself, so a route added later is tried too; a path parameter
this test does not know fails it loudly until someone says here which of B's records it names. For every
route A gets 404 (or a redirect or an error that reveals nothing), never a page with B's data, and none of
B's records changes. A's own ids on the same GET routes are not 404, so the 404s are not an accident.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.exceptions import NotFoundException
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db.appointment import AppointmentClient, ClientResponse
from app.db.client import Client
from app.db.client_app import ClientInvitation, ClientPasskey, ClientSession, Feedback
from app.db.messaging import Message, Thread
from app.db.organisation import OrganisationType, Role
from app.db.outbox import PushSubscription
from app.db.plan import IntegrationPlan, PlanApproval, PlanVersion
from app.main import create_app
from app.settings import Settings
from app.web import client_guard
from tests.conftest import BASE_URL, AppTestClient, Factory, csrf_token, sign_in_client
from tests.integration.test_me_data import World, populate

SKIPPED_METHODS = {"OPTIONS", "HEAD"}
NOT_AN_ID = "not-an-id"


def _is_app_route(path: str) -> bool:
    return path == "/me" or path.startswith("/me/")


# Which of a client's records a path parameter names, by the parameter's name: every value is tried.
# "strict": B's own record ids — only 404, an error or a redirect elsewhere is acceptable, never 200.
# A new parameter name must be added here (the test fails until it is), so no route is forgotten.
Values = Callable[[World, str], list[str]]
ID_PARAMETERS: dict[str, Values] = {
    "appointment_id": lambda w, _p: [str(w.appointment_id), str(w.upcoming_id)],
    "thread_id": lambda w, _p: [str(w.thread_id)],
    "message_id": lambda w, _p: [str(w.message_id)],
    "plan_id": lambda w, _p: [str(w.plan_id)],
    "version_id": lambda w, _p: [str(w.version_id), str(w.approved_version_id)],
    "plan_version_id": lambda w, _p: [str(w.version_id), str(w.approved_version_id)],
    "goal_id": lambda w, _p: [str(w.goal_id)],
    "service_id": lambda w, _p: [str(w.plan_service_id)],
    "plan_service_id": lambda w, _p: [str(w.plan_service_id)],
    "passkey_id": lambda w, _p: [str(w.passkey_id)],
    "invitation_id": lambda w, _p: [str(w.invitation_id)],
    "subscription_id": lambda w, _p: [str(w.subscription_id)],
    "feedback_id": lambda w, _p: [str(w.feedback_id)],
    # /me/appointments/{ref}: an appointment's id, or the id with ".ics" for the calendar file.
    "ref": lambda w, path: (
        [str(w.appointment_id), f"{w.appointment_id}.ics", str(w.upcoming_id), f"{w.upcoming_id}.ics"]
        if path.startswith("/me/appointments/")
        else _unknown("ref", path)
    ),
}
# Parameters that are not ids of a client's records: tried with B's value and with a made-up one; the
# answer may be a page (an invitation link says it is not valid), but never with B's data.
OTHER_PARAMETERS: dict[str, Values] = {
    "token": lambda w, _p: [w.invitation_token, "x" * 32],
}


# Form and JSON fields a POST may read ids from: all of them carry B's records.
def _body(w: World) -> dict[str, str]:
    return {
        "appointment_id": str(w.appointment_id),
        "appointment": str(w.appointment_id),
        "thread_id": str(w.thread_id),
        "message_id": str(w.message_id),
        "plan_id": str(w.plan_id),
        "version_id": str(w.version_id),
        "plan_version_id": str(w.version_id),
        "passkey_id": str(w.passkey_id),
        "credential_id": str(w.passkey_id),
        "subscription_id": str(w.subscription_id),
        "feedback_id": str(w.feedback_id),
        "about": f"appointment:{w.appointment_id}",
        "rating": "3",
        "response": ClientResponse.CANCELLED.value,
        "answer": "cancel",
        "note": "isolation probe",
        "body": "isolation probe",
        "comment": "isolation probe",
        "language": "fi",
        "endpoint": w.subscription_endpoint,
    }


def _unknown(name: str, path: str) -> list[str]:
    raise AssertionError(
        f"{path}: the path parameter {name!r} has no mapping in tests/integration/test_me_isolation.py — "
        "say which of a client's records it names, so that another client's id is tried there"
    )


@dataclass(frozen=True)
class Probe:
    method: str
    template: str  # the route's path with {name:type} parameters
    url: str
    strict: bool  # the path names one of B's records
    guarded: bool  # needs a signed-in client (client_guard)


def app_routes(app: Litestar) -> list[tuple[str, HTTPRoute, dict[str, bool]]]:
    """(path, route, {method: guarded}) for every route of the migrant app."""
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and _is_app_route(route.path):
            methods = {
                method: client_guard in handler.resolve_guards()
                for handler in route.route_handlers
                for method in handler.http_methods
                if method not in SKIPPED_METHODS
            }
            if methods:
                found.append((route.path, route, methods))
    return sorted(found, key=lambda r: r[0])


def probes(app: Litestar, world: World) -> Iterator[Probe]:
    for path, route, methods in app_routes(app):
        names = list(route.path_parameters)
        options: list[list[tuple[str, str]]] = []
        for name in names:
            if name in ID_PARAMETERS:
                values = ID_PARAMETERS[name](world, path)
            elif name in OTHER_PARAMETERS:
                values = OTHER_PARAMETERS[name](world, path)
            else:
                values = _unknown(name, path)
            options.append([(name, v) for v in values])
        strict = any(n in ID_PARAMETERS for n in names)
        for combination in product(*options):
            url = path
            for name, value in combination:
                definition = route.path_parameters[name]
                url = url.replace("{" + definition.full + "}", value)
            assert "{" not in url, url
            for method, guarded in sorted(methods.items()):
                yield Probe(method, path, url, strict, guarded)


def _query(w: World) -> str:
    """Ids in the query string too (?appointment= preselects feedback, for instance)."""
    return (
        f"appointment={w.appointment_id}&thread={w.thread_id}&version={w.version_id}"
        f"&plan={w.plan_id}&passkey={w.passkey_id}"
    )


def _send(client: TestClient[Any], probe: Probe, b: World, as_json: bool) -> Any:
    if probe.method == "GET":
        separator = "&" if "?" in probe.url else "?"
        return client.get(probe.url + separator + _query(b), follow_redirects=False)
    token = csrf_token(client)
    if as_json:
        return client.request(
            probe.method,
            probe.url,
            content=json.dumps(_body(b)),
            headers={"content-type": "application/json", "x-csrftoken": token},
            follow_redirects=False,
        )
    return client.request(
        probe.method, probe.url, data={"_csrf_token": token, **_body(b)}, follow_redirects=False
    )


@dataclass
class Snapshot:
    """B's records that a request by A must never change."""

    messages: int
    answers: list[tuple[str, str | None]]
    approvals: int
    versions: int
    passkeys: int
    sessions: int
    invitations: list[tuple[Any, Any]]
    feedback: int
    subscriptions: int
    client_version: int
    plan_versions: list[int]


def snapshot(db: Session, w: World) -> Snapshot:
    db.expire_all()
    me = w.client.id
    return Snapshot(
        messages=db.scalar(
            select(func.count()).select_from(Message).join(Thread).where(Thread.client_id == me)
        )
        or 0,
        answers=[
            (a.response.value, a.response_note)
            for a in db.scalars(
                select(AppointmentClient)
                .where(AppointmentClient.client_id == me)
                .order_by(AppointmentClient.id)
            )
        ],
        approvals=db.scalar(
            select(func.count()).select_from(PlanApproval).where(PlanApproval.client_id == me)
        )
        or 0,
        versions=db.scalar(
            select(func.count()).select_from(PlanVersion).where(PlanVersion.plan_id == w.plan_id)
        )
        or 0,
        passkeys=db.scalar(
            select(func.count()).select_from(ClientPasskey).where(ClientPasskey.client_id == me)
        )
        or 0,
        sessions=db.scalar(
            select(func.count()).select_from(ClientSession).where(ClientSession.client_id == me)
        )
        or 0,
        invitations=[
            (i.used_at, i.revoked_at)
            for i in db.scalars(select(ClientInvitation).where(ClientInvitation.client_id == me))
        ],
        feedback=db.scalar(select(func.count()).select_from(Feedback)) or 0,
        subscriptions=db.scalar(
            select(func.count()).select_from(PushSubscription).where(PushSubscription.client_id == me)
        )
        or 0,
        client_version=db.scalar(select(Client.version).where(Client.id == me)) or 0,
        plan_versions=[
            p.version for p in db.scalars(select(IntegrationPlan).where(IntegrationPlan.client_id == me))
        ],
    )


@pytest.fixture
def clients(db: Session, factory: Factory) -> tuple[World, World]:
    home = factory.organisation("Kotikunta", OrganisationType.MUNICIPALITY)
    officer = factory.staff(home, Role.INTEGRATION_OFFICER)
    a = populate(db, factory, home, officer, "Aino")
    b = populate(db, factory, home, officer, "Bertil")  # the same organisation: the hardest case
    return a, b


def test_every_app_route_has_a_mapping_for_its_parameters(
    app: Litestar, clients: tuple[World, World]
) -> None:
    found = list(probes(app, clients[1]))
    templates = {p.template for p in found}
    # The routes this module's author knew of must be there; others are tried as they appear.
    for known in ("/me/data", "/me/data.json", "/me/data/views", "/me/feedback", "/me/feedback/thanks"):
        assert known in templates, known


def find_leaks(
    client: TestClient[Any], app: Litestar, factory: Factory, a: World, b: World
) -> tuple[int, list[str]]:
    """Every probe as A with B's ids: (how many requests, what went wrong)."""
    markers = [m for m in b.markers if m]
    own_ids = {str(v) for v in vars(b).values() if isinstance(v, uuid.UUID)}
    failures: list[str] = []
    tried = 0
    for probe in probes(app, b):
        for as_json in (False, True) if probe.method != "GET" else (False,):
            sign_in_client(client, factory, a.client)  # afresh: a sign-out route ends the session
            response = _send(client, probe, b, as_json)
            tried += 1
            where = f"{probe.method} {probe.url}{' (JSON)' if as_json else ''} → {response.status_code}"
            status = response.status_code
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            leaked = [m for m in markers if m in response.text or m in headers]
            if leaked:
                failures.append(f"{where}: B's data in the response: {leaked}")
            if status >= 500:
                failures.append(f"{where}: server error")
            if status == 403:
                failures.append(f"{where}: 403 tells that the record exists; answer 404")
            if 300 <= status < 400:
                location = response.headers.get("location", "")
                if any(i in location for i in own_ids):
                    failures.append(f"{where}: redirects to B's record ({location})")
                if probe.guarded and location.startswith("/me/sign-in"):
                    failures.append(f"{where}: A's session was not accepted — the probe proves nothing")
            if not probe.strict:
                continue
            if 200 <= status < 300:
                failures.append(f"{where}: answered with a page for B's record")
            # B's record must look exactly like one that does not exist (no existence oracle).
            made_up = probe.url
            for own in own_ids:
                made_up = made_up.replace(own, str(uuid.uuid4()))
            sign_in_client(client, factory, a.client)
            control = _send(
                client, Probe(probe.method, probe.template, made_up, True, probe.guarded), b, as_json
            )
            if control.status_code != status:
                failures.append(f"{where}, but {control.status_code} for an id that does not exist")
    return tried, failures


def test_a_client_never_reaches_another_clients_data(
    client: TestClient[Any], app: Litestar, db: Session, factory: Factory, clients: tuple[World, World]
) -> None:
    a, b = clients
    before = snapshot(db, b)
    tried, failures = find_leaks(client, app, factory, a, b)
    assert tried > 0
    assert not failures, "\n".join(failures)
    after = snapshot(db, b)
    assert after == before, f"B's records changed:\n{before}\n{after}"


def test_the_same_get_routes_answer_a_with_a_own_ids(
    client: TestClient[Any], app: Litestar, factory: Factory, clients: tuple[World, World]
) -> None:
    """The 404s above are about whose record it is: A's own ids open the same GET routes."""
    a, _b = clients
    sign_in_client(client, factory, a.client)
    refused = []
    for probe in probes(app, a):
        if probe.method != "GET" or not probe.strict:
            continue
        response = client.get(probe.url, follow_redirects=False)
        if response.status_code == 404 or response.status_code >= 500:
            refused.append(f"GET {probe.url} → {response.status_code}")
    assert not refused, "\n".join(refused)


# --- the probe itself finds a leak, and a new parameter ----------------------------------------------


@get("/me/leaky/{thread_id:uuid}", guards=[client_guard])
async def leaky_thread(db_session: AsyncSession, thread_id: uuid.UUID) -> str:
    """A handler that forgot to filter on the signed-in client."""
    thread = await db_session.get(Thread, thread_id)
    if thread is None:
        raise NotFoundException
    return thread.subject


@get("/me/mystery/{widget_id:uuid}", guards=[client_guard])
async def mystery(widget_id: uuid.UUID) -> str:
    return "?"


@pytest.fixture
def probed_app(settings: Settings) -> Litestar:
    """An app of the test's own: the probes below register routes on it (the shared one stays as built)."""
    return create_app(settings)


def test_the_probe_finds_a_handler_that_forgot_the_client(
    probed_app: Litestar, factory: Factory, clients: tuple[World, World]
) -> None:
    a, b = clients
    probed_app.register(leaky_thread)
    with AppTestClient(probed_app, base_url=BASE_URL) as client:
        _tried, failures = find_leaks(client, probed_app, factory, a, b)
    assert any("/me/leaky/" in f and "B's data in the response" in f for f in failures), failures
    assert any("/me/leaky/" in f and "answered with a page" in f for f in failures), failures


def test_a_parameter_without_a_mapping_fails_loudly(
    probed_app: Litestar, clients: tuple[World, World]
) -> None:
    probed_app.register(mystery)
    with pytest.raises(AssertionError, match="'widget_id' has no mapping"):
        list(probes(probed_app, clients[1]))
