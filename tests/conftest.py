"""Test fixtures: a migrated database per xdist worker (SQLite or PostgreSQL by TEST_DATABASE_URL),
emptied before every test, the app through Litestar's test client with real CSRF and sessions."""

from __future__ import annotations

import atexit
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from anyio.from_thread import BlockingPortal, start_blocking_portal
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from app import i18n
from app.db.audit import AUDIT_CHAINS
from app.db.client import Client, KnownHow
from app.db.client_app import ClientSession
from app.db.models import Base
from app.db.organisation import Organisation, OrganisationType, Role, Staff, StaffRole
from app.domain import auth
from app.domain import text as text_folding
from app.main import create_app
from app.settings import ROOT, Settings, async_database_url, sync_database_url

PASSWORD = "correct horse battery staple"
BASE_URL = "http://testserver.local"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A fresh database for this worker, migrated with Alembic (never create_all)."""
    target = os.environ.get("TEST_DATABASE_URL", "sqlite")
    if target == "sqlite":
        path = ROOT / "var" / f"test-{_worker()}.db"
        path.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        name = f"kotopolku_test_{_worker()}"
        server = target.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = re.sub(r"/[^/]*$", f"/{name}", server)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = async_database_url(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(sync_database_url(database_url))
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def clean_database(request: pytest.FixtureRequest) -> None:
    if "engine" not in request.fixturenames and "client" not in request.fixturenames:
        return
    empty_database(request.getfixturevalue("engine"))


def empty_database(engine: Engine) -> None:
    """Every table emptied and the audit chains back at their start, in one transaction. DELETE, children
    first, on both databases: on PostgreSQL a TRUNCATE of every table takes 15 times as long with the few
    rows a test leaves."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A request left open in a transaction by an earlier test fails this one, rather than hanging it.
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(
            text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (:id, 0, :h)"),
            [{"id": chain, "h": "0" * 64} for chain in range(1, AUDIT_CHAINS + 1)],
        )


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-with-enough-entropy-0123456789",
        public_url=BASE_URL,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        staff_second_factor=False,  # tests sign officers in with a password; test_second_factor.py turns it on
    )


class AppTestClient(TestClient[Litestar]):
    """Litestar's test client, on one event loop per test worker instead of one per client. asyncpg
    connections belong to the loop that opened them; with every client on one loop, the app that tests share
    keeps its connection pool from one client (and test) to the next, even with two clients open at once."""

    @contextmanager
    def portal(self) -> Iterator[BlockingPortal]:
        global _PORTAL
        if _PORTAL is None:
            _PORTAL = _PORTAL_EXIT.enter_context(start_blocking_portal(backend="asyncio"))
        yield _PORTAL


_PORTAL: BlockingPortal | None = None
_PORTAL_EXIT = ExitStack()
atexit.register(_PORTAL_EXIT.close)

_APPS: dict[int, tuple[Settings, Litestar]] = {}


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """One app per settings object: building Litestar's routes takes most of a second, and the app keeps no
    state between requests that a test could leave behind (the database is emptied before each test, and a
    client's shutdown closes the engine's pooled connections). Clients are AppTestClients, on one event loop.
    A test that changes the app's state or settings builds its own with create_app."""
    if id(settings) not in _APPS:  # the settings stay referenced here, so their id is not reused
        _APPS[id(settings)] = (settings, create_app(settings))
    return _APPS[id(settings)][1]


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with AppTestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(autouse=True)
def finnish_locale() -> None:
    i18n.set_locale("fi")


# --- factories ------------------------------------------------------------------------------------


class Factory:
    def __init__(self, db: Session, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def organisation(
        self, name: str | None = None, type: OrganisationType = OrganisationType.MUNICIPALITY
    ) -> Organisation:
        org = Organisation(name=name or f"Org {uuid.uuid4().hex[:8]}", type=type)
        self.db.add(org)
        self.db.commit()
        return org

    def staff(
        self, organisation: Organisation, *roles: Role, email: str | None = None, password: str = PASSWORD
    ) -> Staff:
        person = Staff(
            organisation_id=organisation.id,
            email=email or f"{uuid.uuid4().hex[:10]}@example.fi",
            full_name=f"Test {roles[0].value if roles else 'person'} {uuid.uuid4().hex[:6]}",
            password_hash=auth.hash_password(self.settings, password),
            roles=[StaffRole(role=r) for r in roles],
        )
        self.db.add(person)
        self.db.commit()
        return person

    def client(self, organisation: Organisation, **fields: Any) -> Client:
        values: dict[str, Any] = {
            "segment": 1,
            "known_on": date(2025, 3, 1),
            "known_how": KnownHow.CLIENT_CONTACT,
            "first_names": "Test",
            "last_name": "Client",
            "temporary_identifier": "TMP-" + uuid.uuid4().hex[:8].upper(),
        }
        values.update(fields)
        record = Client(organisation_id=organisation.id, search_text="", **values)
        record.search_text = text_folding.search_text(
            record.first_names, record.last_name, record.native_name
        )
        self.db.add(record)
        self.db.commit()
        return record

    def client_session(self, record: Client, device: str | None = None, confirmed: bool = True) -> str:
        """A signed-in migrant-app session for the client (what a passkey sign-in creates, which counts as
        a fresh confirmation unless `confirmed` is False); the token."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        self.db.add(
            ClientSession(
                token_hash=auth.token_hash(token),
                client_id=record.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(days=self.settings.client_session_days),
                device=device,
                confirmed_at=now if confirmed else None,
            )
        )
        self.db.commit()
        return token


@pytest.fixture
def factory(db: Session, settings: Settings) -> Factory:
    return Factory(db, settings)


# --- HTTP helpers ---------------------------------------------------------------------------------


def csrf_token(client: TestClient[Any]) -> str:
    """The token a page would embed; GET any page first so the cookie exists."""
    token = client.cookies.get("kp_csrf")
    if token is None:
        client.get("/officer/sign-in")
        token = client.cookies.get("kp_csrf")
    assert token
    return token


def post(
    client: TestClient[Any],
    url: str,
    data: dict[str, Any] | list[tuple[str, str]] | None = None,
    **kwargs: Any,
) -> Any:
    """A form POST carrying the CSRF token the way a browser form does."""
    token = csrf_token(client)
    body: dict[str, Any] = {"_csrf_token": token}
    if isinstance(data, list):  # repeated fields, e.g. several roles
        for key, value in data:
            body.setdefault(key, []).append(value)
    else:
        body.update(data or {})
    return client.post(url, data=body, follow_redirects=False, **kwargs)


def client_section(
    client: TestClient[Any], client_id: Any, name: str, headers: dict[str, str] | None = None
) -> Any:
    """A section of the officer's client page loaded on demand, as htmx asks for it when it is opened
    (app/routes/officer/client_sections.py)."""
    return client.get(
        f"/officer/clients/{client_id}/sections/{name}", headers={"HX-Request": "true", **(headers or {})}
    )


def sign_in_client(client: TestClient[Any], factory: Factory, record: Client) -> None:
    """The test client becomes the migrant app of `record` (cookie kp_me)."""
    client.cookies.set("kp_me", factory.client_session(record))


def sign_in(client: TestClient[Any], staff: Staff, password: str = PASSWORD) -> None:
    response = post(client, "/officer/sign-in", {"email": staff.email, "password": password})
    assert response.status_code == 302, response.text


@pytest.fixture
def https_settings(settings: Settings) -> Settings:
    return replace(settings, public_url="https://kotopolku.example.fi")
