"""Browser fixtures: the real app under uvicorn (one server per xdist worker, on the worker's test
database) and Debian's Chromium driven through Playwright's sync API.

Every browser test gets a fresh context (cookies, storage) and an empty database (the `engine`
fixture pulls in tests/conftest.py's clean_database). Console errors, uncaught exceptions and
Content-Security-Policy violations are collected per test and fail it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, sync_playwright
from sqlalchemy import Engine

from app.settings import ROOT, Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 30.0

# Runs in every document before the page's own scripts: reports CSP violations to Python and counts
# htmx requests in flight, so a test can wait for the page to be quiet before it acts.
INIT_SCRIPT = """
(() => {
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__kpReportCsp({
      directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber,
      sample: e.sample, url: document.location.href,
    });
  });
  let inflight = 0;
  document.addEventListener("htmx:beforeSend", () => { inflight += 1; });
  // htmx fires afterRequest after the swap, and also on errors, aborts and timeouts.
  document.addEventListener("htmx:afterRequest", () => { inflight = Math.max(0, inflight - 1); });
  window.__kpHtmxInflight = () => inflight;
})();
"""


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


def start_server(database_url: str, settings: Settings, **extra_env: str) -> LiveServer:
    """uvicorn on a free port; `extra_env` may name the port as {port} (OFFICE_URL, say)."""
    port = _free_port()
    url = f"http://localhost:{port}"  # passkeys need the host name localhost, not 127.0.0.1
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_URL": url,
        "SECRET_KEY": settings.secret_key,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "PYTHONDONTWRITEBYTECODE": "1",
        "RUN_WORKER": "0",  # tests deliver the outbox themselves, when they choose
        "STAFF_SECOND_FACTOR": "0",  # officers sign in with a password alone (test_second_factor.py covers it)
        **{name: value.format(port=port) for name, value in extra_env.items()},
    }
    env.pop("DEBUG", None)
    log_path = ROOT / "var" / f"browser-server-{_worker()}{'-' + str(port) if extra_env else ''}.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = LiveServer(url, process, log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _healthy(url):
            return server
        time.sleep(0.1)
    stop_server(process)
    raise RuntimeError(f"uvicorn did not start on {url}:\n{server.log()}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def live_server(database_url: str, settings: Settings) -> Iterator[LiveServer]:
    """uvicorn serving app.asgi:app on a free port; retried once if another process took the port."""
    try:
        server = start_server(database_url, settings)
    except RuntimeError:
        server = start_server(database_url, settings)
    yield server
    stop_server(server.process)


@pytest.fixture
def base_url(live_server: LiveServer, engine: Engine) -> str:
    """The server's address. Requesting `engine` empties the database before the test."""
    if live_server.process.poll() is not None:
        pytest.fail(f"the app server has exited:\n{live_server.log()}")
    return live_server.url


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    """Chromium for this module's tests. Playwright's sync API keeps an asyncio loop running in this
    thread, so it starts after the server (the migration behind database_url calls asyncio.run) and
    stops when the module ends, before other tests of the same worker might call asyncio.run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen in one browser context."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Expect a console error matching the pattern (say, Chromium's note on a deliberate 409)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        # Chromium asks for /favicon.ico by itself; the app has none, and the 404 is not the page's doing.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def unexpected(self) -> list[str]:
        problems = [f"CSP violation: {v}" for v in self.csp_violations]
        problems += [f"console error: {e}" for e in self.console_errors if not self._allowed(e)]
        problems += [f"page error: {e}" for e in self.page_errors]
        return problems

    def _allowed(self, text: str) -> bool:
        if "Content Security Policy" in text:
            return False
        return any(p.search(text) for p in self.allowed)

    def assert_clean(self) -> None:
        problems = self.unexpected()
        assert not problems, "\n".join(problems)


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def context(
    browser: Browser, base_url: str, problems: PageProblems, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    # A browser set up as in Finland: the app answers in Finnish until a page is opened with ?lang=en.
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": 1280, "height": 900},
        locale="fi-FI",
        timezone_id="Europe/Helsinki",
    )
    context.set_default_timeout(5000)
    context.expose_binding("__kpReportCsp", lambda _source, report: problems.csp_violations.append(report))
    context.add_init_script(INIT_SCRIPT)
    context.on("console", problems.on_console)
    context.on("weberror", lambda error: problems.page_errors.append(str(error.error)))
    yield context
    context.close()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.passed:
        problems.assert_clean()
    elif problems.unexpected():
        sys.stderr.write("browser problems:\n" + "\n".join(problems.unexpected()) + "\n")


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps the test's own outcome, so the context fixture reports page problems only on a pass."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def wait_for_htmx(page: Page) -> None:
    """Wait until no htmx request is in flight in the page."""
    try:
        page.wait_for_function("() => window.__kpHtmxInflight() === 0")
    except Error as error:  # a navigation replaced the document: nothing of the old page is in flight
        if "Execution context was destroyed" not in str(error):
            raise
