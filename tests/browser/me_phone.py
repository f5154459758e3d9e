"""Helpers for the migrant-app browser flows (test_me_*_flow.py): a phone (360×740) signed in with a
client session, an app server of a module's own (for settings only the environment can give it), and
one outbox worker pass run from a test."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

from playwright.sync_api import Browser, BrowserContext, Page

from app.jobs.worker import Counts, Worker, WorkerOptions
from app.settings import Settings
from tests.browser.conftest import INIT_SCRIPT, LiveServer, PageProblems, start_server, stop_server
from tests.browser.test_accessibility import AXE

PHONE = {"width": 360, "height": 740}


@contextmanager
def own_server(database_url: str, settings: Settings, **env: str) -> Iterator[LiveServer]:
    """uvicorn on the test database with extra environment (e.g. RUN_WORKER=0, a machine translation
    URL): the shared live server is started from os.environ once per session, so a module that needs
    other settings runs its own (retried once if another process took the port)."""
    with mock.patch.dict(os.environ, env):
        try:
            server = start_server(database_url, settings)
        except RuntimeError:
            server = start_server(database_url, settings)
    try:
        yield server
    finally:
        stop_server(server.process)


def phone(
    browser: Browser, base_url: str, problems: PageProblems, token: str | None = None, *, axe: bool = False
) -> BrowserContext:
    """A cheap phone (360×740, touch, a Finnish browser), signed in to the migrant app with the session
    `token` (cookie kp_me) when one is given; console errors and CSP violations go to `problems` like
    the desktop context's. `axe`: axe-core injected by DevTools, so the page's CSP stays as it is."""
    context = browser.new_context(
        base_url=base_url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fi-FI",
        timezone_id="Europe/Helsinki",
    )
    context.set_default_timeout(5000)
    context.expose_binding("__kpReportCsp", lambda _source, report: problems.csp_violations.append(report))
    context.add_init_script(INIT_SCRIPT)
    if axe:
        context.add_init_script(AXE)
    context.on("console", problems.on_console)
    context.on("weberror", lambda error: problems.page_errors.append(str(error.error)))
    if token:
        context.add_cookies([{"name": "kp_me", "value": token, "url": base_url}])
    return context


def page_width(page: Page) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def deliver_due(settings: Settings) -> Counts:
    """One worker drains what is due now. In a thread of its own: Playwright's sync API owns this
    thread's event loop."""
    result: list[Counts] = []
    failure: list[BaseException] = []

    async def drain() -> Counts:
        options = WorkerOptions(base_delay=timedelta(seconds=60), poll_interval=0.1)
        async with Worker(settings, options=options) as worker:
            return await worker.drain()

    def run() -> None:
        try:
            result.append(asyncio.run(drain()))
        except BaseException as error:  # reported in the test's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if failure:
        raise failure[0]
    assert result, "the outbox worker did not finish"
    return result[0]
