"""`make audit-ui`: the migrant app's budgets (issue 4), measured and printed with the command that made them.

Starts the app as production does (`kotopolku serve`, uvicorn) on a free loopback port over a throwaway
SQLite database (migrated, demo data loaded), gives a demo client everything the /me/ pages show
(scripts/me_sample.py) and a migrant-app session, then measures:

  1. first-visit transfer: every byte the page loads over the network (HTML, CSS, JS, images; headers
     included) in a fresh Chromium profile at 360×740, plus what the service worker it registers fetches
     to install (its precache) — budget 50 KB per page — and that no web font is loaded. `/` and every
     /me/ page (found from the app's routes: scripts/ui_pages.py);
  2. Lighthouse 12 (mobile defaults, Debian Chromium): performance ≥ 95, accessibility 100,
     best practices 100 on `/` and `/me/` (signed in);
  3. axe-core (WCAG 2.1 A/AA, tests/browser/test_accessibility.py's rules): zero violations on every
     /me/ page in Finnish and in Arabic.

Prints each figure against its budget with PASS/FAIL and exits 1 if any budget fails.
Usage: .venv/bin/python scripts/audit_ui.py [--skip-lighthouse] [--lighthouse-runs N] [--json PATH] [--verbose]
       [--keep]     (`make audit-ui AUDIT_ARGS="--lighthouse-runs 3"`)
Needs: Debian's chromium (`make chromium`) and Lighthouse in .tools/lighthouse (`make lighthouse`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.browser.test_accessibility (the axe helpers) and scripts.*

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from scripts.me_sample import MeSample  # noqa: E402
from scripts.ui_pages import UiPage, me_pages  # noqa: E402

BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"  # loopback only
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIGHTHOUSE = ROOT / ".tools" / "lighthouse" / "node_modules" / "lighthouse" / "cli" / "index.js"
LIGHTHOUSE_INSTALL = "npm install --prefix .tools/lighthouse --no-audit --no-fund lighthouse@12"
TRANSFER_BUDGET_KB = 50.0
LIGHTHOUSE_BUDGETS = {"performance": 95, "accessibility": 100, "best-practices": 100}
AXE_LANGUAGES = ("fi", "ar")
FONT_URL = re.compile(r"\.(woff2?|ttf|otf|eot)(\?|$)", re.IGNORECASE)
TEXT_TYPES = ("Document", "Stylesheet", "Script", "XHR", "Fetch", "Manifest", "Other")
COMPRESSION_HINT = (
    'add `compression_config=CompressionConfig(backend="gzip", minimum_size=500)` to Litestar(...) in '
    "app/main.py (from litestar.config.compression import CompressionConfig)"
)
# Resolves when the page's service worker (if it registered one) has installed, or after 10 s.
SERVICE_WORKER_READY = """async () => {
  if (!navigator.serviceWorker || !(await navigator.serviceWorker.getRegistration())) return false;
  return Promise.race([navigator.serviceWorker.ready.then(() => true),
                       new Promise((resolve) => setTimeout(() => resolve(false), 10000))]);
}"""
SERVER_LOG = ROOT / "var" / "audit-ui-server.log"


# --- results --------------------------------------------------------------------------------------------


@dataclass
class Line:
    section: str
    what: str
    value: str
    budget: str
    ok: bool
    note: str = ""


@dataclass
class Resource:
    url: str
    kind: str
    status: int
    encoded: int  # bytes on the wire, headers included
    decoded: int  # body bytes after decompression
    encoding: str


@dataclass
class Load:
    url: str
    status: int
    resources: list[Resource] = field(default_factory=list)
    service_worker_bytes: int = 0
    service_worker_requests: int = 0
    service_worker_urls: list[str] = field(default_factory=list)

    @property
    def page_bytes(self) -> int:
        return sum(r.encoded for r in self.resources)

    @property
    def total(self) -> int:
        """The first visit: the page and what its service worker fetched to install."""
        return self.page_bytes + self.service_worker_bytes

    @property
    def fonts(self) -> list[str]:
        """Web fonts the page or its service worker fetched (there should be none)."""
        found = [r.url for r in self.resources if r.kind == "Font" or FONT_URL.search(r.url)]
        return found + [url for url in self.service_worker_urls if FONT_URL.search(url)]

    def uncompressed(self) -> list[Resource]:
        return [
            r
            for r in self.resources
            if r.kind in TEXT_TYPES
            and r.decoded > 1024
            and r.encoding in ("", "identity")
            and r.status == 200
        ]


@dataclass
class Visit:
    """A page as the audit opens it: `label` in the table, `url` in the browser, with the session cookie
    for signed-in pages and the cookies its prelude set (the invitation link, for enrolment pages)."""

    label: str
    url: str
    signed_in: bool
    cookies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, line: Line) -> None:
        self.lines.append(line)
        mark = "PASS" if line.ok else "FAIL"
        print(f"  {mark}  {line.section}: {line.what} {line.value}", file=sys.stderr, flush=True)

    @property
    def failed(self) -> list[Line]:
        return [line for line in self.lines if not line.ok]


def kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


# --- the app ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{shlex.join(command)} failed:\n{result.stdout}{result.stderr}")


def prepare_database(env: dict[str, str]) -> None:
    """Migrate and load the demo data, with the commands an operator uses."""
    run([str(BIN / "kotopolku"), "migrate"], env)
    run([str(BIN / "kotopolku"), "demo"], env)


def sample_client(database_url: str) -> tuple[MeSample, str]:
    """The demo's migrant-app client (the one `kotopolku serve` printed an invitation for), else the demo
    client with the most of a plan in force, appointments and messages (Arabic-speaking if a tie), topped
    up with what the /me/ pages show that the demo lacks (scripts/me_sample.py); a signed-in session."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from app.db.appointment import AppointmentClient
    from app.db.client import Client
    from app.db.client_app import ClientInvitation
    from app.db.messaging import Thread
    from app.db.organisation import Staff
    from app.db.plan import IntegrationPlan, PlanStatus
    from app.settings import sync_database_url
    from scripts import me_sample

    engine = create_engine(sync_database_url(database_url))
    try:
        with Session(engine, expire_on_commit=False) as db:
            plans = select(func.count()).where(
                IntegrationPlan.client_id == Client.id, IntegrationPlan.status == PlanStatus.IN_FORCE
            )
            appointments = select(func.count()).where(AppointmentClient.client_id == Client.id)
            threads = select(func.count()).where(Thread.client_id == Client.id)
            invited = select(func.count()).where(
                ClientInvitation.client_id == Client.id, ClientInvitation.revoked_at.is_(None)
            )
            score = (
                invited.scalar_subquery() * 100
                + plans.scalar_subquery() * 4
                + appointments.scalar_subquery() * 2
                + threads.scalar_subquery() * 2
            )
            candidates = db.execute(
                select(Client, score.label("score")).where(Client.responsible_officer_id.is_not(None))
            ).all()
            if not candidates:
                sys.exit("The demo data has no client with a responsible officer.")
            best = max(candidates, key=lambda row: (row[1], row[0].mother_tongue == "ar", str(row[0].id)))
            client: Client = best[0]
            counts = [db.scalar(q.where(Client.id == client.id)) for q in (plans, appointments, threads)]
            had = "{} plan(s) in force, {} appointment(s), {} message thread(s)".format(*counts)
            which = "the demo's migrant-app client" if best[1] >= 100 else "demo client"
            officer = db.get_one(Staff, client.responsible_officer_id)
            client.preferred_locale = "fi"
            sample = me_sample.build(db, client, officer)
            db.commit()
            described = (
                f"{which} {client.id} (mother tongue {client.mother_tongue}; in the demo data {had}; "
                "topped up by scripts/me_sample.py)"
            )
            return sample, described
    finally:
        engine.dispose()


def forget_demo_accounts(database_url: str) -> None:
    """`kotopolku demo` notes its accounts in var/ for `serve` to print; this database is gone."""
    from app.cli import demo_accounts_file
    from app.settings import Settings

    settings = Settings(database_url=database_url, secret_key="only-a-file-name", vapid_private_key="-")  # noqa: S106
    demo_accounts_file(settings).unlink(missing_ok=True)


class Server:
    """`kotopolku serve` on a free loopback port; the address is localhost (as passkeys need)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = {**env, "PUBLIC_URL": self.url}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        SERVER_LOG.parent.mkdir(exist_ok=True)
        with SERVER_LOG.open("wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "kotopolku"), "serve", "--host", HOST, "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if healthy(self.url):
                return self
            time.sleep(0.1)
        self.__exit__()
        sys.exit(f"the app did not start on {self.url}:\n{SERVER_LOG.read_text(errors='replace')[-3000:]}")

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- 1. first-load transfer -----------------------------------------------------------------------------


def measure_load(browser: Any, base_url: str, visit: Visit) -> Load:
    """One page in a fresh profile; bytes from Chromium's network log (Network.loadingFinished).
    What a service worker fetches after the page has loaded (its install) is counted apart."""
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fi-FI",
        timezone_id="Europe/Helsinki",
    )
    if visit.cookies:
        context.add_cookies(visit.cookies)
    sw_requests: list[Any] = []
    context.on(
        "requestfinished", lambda request: sw_requests.append(request) if request.service_worker else None
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    responses: dict[str, dict[str, Any]] = {}
    finished: dict[str, int] = {}
    decoded: dict[str, int] = {}
    cdp.on("Network.responseReceived", lambda event: responses.__setitem__(event["requestId"], event))
    cdp.on("Network.loadingFinished",
           lambda event: finished.__setitem__(event["requestId"], int(event["encodedDataLength"])))  # fmt: skip
    cdp.on("Network.dataReceived",
           lambda event: decoded.__setitem__(event["requestId"],
                                             decoded.get(event["requestId"], 0) + int(event["dataLength"])))  # fmt: skip
    cdp.send("Network.enable")
    response = page.goto(visit.url, wait_until="load")
    with contextlib.suppress(PlaywrightError):  # a page that keeps a connection open has loaded all the same
        page.wait_for_load_state("networkidle", timeout=5000)
    with contextlib.suppress(
        PlaywrightError
    ):  # a service worker's install (precache) belongs to the first visit
        page.evaluate(SERVICE_WORKER_READY)
    page.wait_for_timeout(500)
    load = Load(url=visit.url, status=response.status if response else 0)
    for request_id, size in finished.items():
        event = responses.get(request_id)
        if event is None or event["response"]["url"].startswith("data:"):
            continue
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        load.resources.append(
            Resource(
                url=event["response"]["url"].removeprefix(base_url),
                kind=event.get("type", "Other"),
                status=int(event["response"]["status"]),
                encoded=size,
                decoded=decoded.get(request_id, 0),
                encoding=headers.get("content-encoding", ""),
            )
        )
    for request in sw_requests:
        sizes = request.sizes()
        load.service_worker_requests += 1
        load.service_worker_bytes += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        load.service_worker_urls.append(request.url.removeprefix(base_url))
    context.close()
    return load


def transfer_section(report: Report, browser: Any, base_url: str, visits: list[Visit], verbose: bool) -> None:
    print("first-load transfer …", file=sys.stderr, flush=True)
    fonts: list[str] = []
    uncompressed: dict[str, int] = {}
    loads = []
    for visit in visits:
        load = measure_load(browser, base_url, visit)
        loads.append(load)
        path = visit.label
        if verbose:
            for r in sorted(load.resources, key=lambda r: -r.encoded):
                print(f"    {path}: {r.kind:<10} {r.status} {kb(r.encoded):>9} on the wire, {kb(r.decoded):>9} "
                      f"decoded, {r.encoding or 'not compressed'}  {r.url}", file=sys.stderr)  # fmt: skip
            for url in load.service_worker_urls:
                print(f"    {path}: service worker fetched {url}", file=sys.stderr)
        kinds: dict[str, int] = {}
        for r in load.resources:
            kinds[r.kind] = kinds.get(r.kind, 0) + r.encoded
        parts = ", ".join(
            f"{k.lower()} {v / 1024:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])
        )
        note = f"page {kb(load.page_bytes)} in {len(load.resources)} requests ({parts})"
        if load.service_worker_requests:
            note += f" + service worker install {kb(load.service_worker_bytes)} in {load.service_worker_requests} requests"
        ok = load.status == 200 and load.total <= TRANSFER_BUDGET_KB * 1024
        value = kb(load.total) + ("" if load.status == 200 else f" (HTTP {load.status})")
        report.add(Line("transfer", path, value, f"≤ {TRANSFER_BUDGET_KB:.0f} KB", ok, note))
        fonts += [f"{path}: {url}" for url in load.fonts]
        for r in load.uncompressed():
            uncompressed[r.url] = max(uncompressed.get(r.url, 0), r.decoded)
    report.add(Line("transfer", "web fonts loaded", str(len(fonts)), "0", not fonts, "; ".join(fonts[:5])))
    if uncompressed:
        listed = ", ".join(
            f"{u} ({kb(s)})" for u, s in sorted(uncompressed.items(), key=lambda kv: -kv[1])[:8]
        )
        report.notes.append(
            f"Responses over 1 KB sent without Content-Encoding although Chromium accepts gzip, br: {listed}. "
            f"To compress: {COMPRESSION_HINT}."
        )
    else:
        report.notes.append("Text responses over 1 KB are sent compressed (Content-Encoding).")


# --- 2. Lighthouse --------------------------------------------------------------------------------------


def lighthouse_version() -> str:
    package = LIGHTHOUSE.parent.parent / "package.json"
    return json.loads(package.read_text())["version"] if package.exists() else "not installed"


@dataclass
class LighthouseRun:
    scores: dict[str, int]  # category id → 0…100
    failing: dict[str, list[str]]  # category id → its audits that did not pass
    metrics: dict[str, str]  # performance metrics as Lighthouse shows them


METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
           "cumulative-layout-shift", "speed-index")  # fmt: skip


def _audit_summary(audit_id: str, audit: dict[str, Any]) -> str:
    """An audit that did not pass, with the first few things it found (say, the console errors)."""
    items = (audit.get("details") or {}).get("items") or []
    found = []
    for item in items[:3]:
        node = item.get("node") if isinstance(item.get("node"), dict) else {}
        text = item.get("description") or node.get("snippet") or item.get("url") or item.get("source") or ""
        where = item.get("sourceLocation", {}).get("url") or item.get("url") or ""
        found.append(f"{text} {where}".strip()[:200])
    return f"{audit_id} ({audit['title']})" + (f": {' / '.join(found)}" if found else "")


def run_lighthouse(url: str, token: str | None, output: Path) -> LighthouseRun:
    command = [
        shutil.which("node") or "node",
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={output}",
        "--only-categories=performance,accessibility,best-practices",
        "--chrome-flags=--headless --no-sandbox --disable-gpu",
        "--quiet",
    ]
    if token:
        command.append("--extra-headers=" + json.dumps({"Cookie": f"kp_me={token}"}))
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0 or not output.exists():
        raise RuntimeError(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    data = json.loads(output.read_text())
    audits = data["audits"]
    failing = {
        name: [
            _audit_summary(ref["id"], audits[ref["id"]])
            for ref in category["auditRefs"]
            if ref.get("weight", 0) > 0
            and audits[ref["id"]].get("score") is not None
            and audits[ref["id"]]["score"] < 1
        ]
        for name, category in data["categories"].items()
    }
    return LighthouseRun(
        scores={name: round((c["score"] or 0) * 100) for name, c in data["categories"].items()},
        failing=failing,
        metrics={k: audits[k]["displayValue"] for k in METRICS if "displayValue" in audits.get(k, {})},
    )


def lighthouse_section(report: Report, base_url: str, token: str, runs: int, workdir: Path) -> None:
    print("Lighthouse …", file=sys.stderr, flush=True)
    if not LIGHTHOUSE.exists():
        hint = f"run `make lighthouse` ({LIGHTHOUSE_INSTALL})"
        report.add(Line("lighthouse", "installed", "no", "yes", False, hint))
        return
    for path, cookie in (("/", None), ("/me/", token)):
        results: list[LighthouseRun] = []
        for number in range(runs):
            try:
                results.append(run_lighthouse(base_url + path, cookie, workdir / f"lighthouse-{number}.json"))
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                report.add(Line("lighthouse", path, "error", "a report", False, str(error)[-300:]))
                break
        if not results:
            continue
        for category, budget in LIGHTHOUSE_BUDGETS.items():
            score = statistics.median(r.scores.get(category, 0) for r in results)
            notes = ["median of " + str(len(results))] if len(results) > 1 else []
            if category == "performance":
                notes.append(", ".join(f"{k.replace('-', ' ')} {v}" for k, v in results[-1].metrics.items()))
            if score < budget:
                notes.append("; ".join(sorted({a for r in results for a in r.failing.get(category, [])})))
            report.add(Line("lighthouse", f"{path} {category}", f"{score:.0f}", f"≥ {budget}", score >= budget,
                            " ".join(notes)))  # fmt: skip


# --- 3. axe-core ----------------------------------------------------------------------------------------


def with_lang(url: str, lang: str) -> str:
    return url + ("&" if "?" in url else "?") + f"lang={lang}"


def axe_section(report: Report, browser: Any, base_url: str, visits: list[Visit]) -> None:
    from tests.browser.test_accessibility import AXE, violations

    print("axe-core …", file=sys.stderr, flush=True)
    tabs = {}
    for signed_in in (True, False):
        context = browser.new_context(base_url=base_url, viewport={"width": 360, "height": 740},
                                      locale="fi-FI", timezone_id="Europe/Helsinki")  # fmt: skip
        context.add_init_script(AXE)  # by DevTools: the page's CSP stays as it is
        for visit in visits:
            if visit.signed_in == signed_in and visit.cookies:
                context.add_cookies(visit.cookies)
        tabs[signed_in] = context.new_page()
    for lang in AXE_LANGUAGES:  # Finnish first: ?lang=ar is remembered on the client's profile
        for visit in visits:
            page = tabs[visit.signed_in]
            url = with_lang(visit.url, lang)
            response = page.goto(url)
            landed = urlsplit(page.url).path
            if landed != urlsplit(url).path and landed != "/me/sign-in":  # the invitation link → enrolment
                response = page.goto(with_lang(landed, lang))
            status = response.status if response else 0
            found = violations(page) if status == 200 else []
            ok = status == 200 and not found and not (visit.signed_in and landed == "/me/sign-in")
            value = f"{len(found)}" + ("" if status == 200 else f" (HTTP {status})")
            if visit.signed_in and landed == "/me/sign-in":
                value += " (signed out)"
            report.add(Line("axe", f"{visit.label} [{lang}]", value, "0", ok, " | ".join(found)))
    for page in tabs.values():
        page.context.close()


def prelude_cookies(base_url: str, pages: list[UiPage], values: dict[str, str]) -> list[dict[str, Any]]:
    """The cookies a visitor has after opening the invitation link (an HTTP GET, no browser, no cache)."""
    cookies: list[dict[str, Any]] = []
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    for page in pages:
        if page.signed_in or "token" not in page.parameters:
            continue
        try:
            response = opener.open(base_url + page.url(values), timeout=10)
        except urllib.error.HTTPError as redirect:  # NoRedirect turns the 30x into an HTTPError
            response = redirect
        for header in response.headers.get_all("set-cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            cookies += [
                {"name": name, "value": morsel.value, "url": base_url} for name, morsel in jar.items()
            ]
    return cookies


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


# --- main -------------------------------------------------------------------------------------------------


def git_description() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "chromium missing"
    return out.strip().splitlines()[-1] if out.strip() else "chromium"


def print_table(report: Report, command: str, context: list[str]) -> None:
    print(f"$ {command}")
    for about in context:
        print(f"# {about}")
    print()
    sections = {"transfer": "First visit, compressed transfer: the page + what its service worker fetches to install "
                "(fresh profile, 360×740, Finnish)",
                "lighthouse": "Lighthouse (mobile defaults)", "axe": "axe-core, WCAG 2.1 A/AA violations"}  # fmt: skip
    what = max([len(line.what) for line in report.lines] + [4])
    value = max([len(line.value) for line in report.lines] + [6])
    budget = max([len(line.budget) for line in report.lines] + [6])
    for section, title in sections.items():
        lines = [line for line in report.lines if line.section == section]
        if not lines:
            continue
        print(title)
        print(f"  {'page':<{what}}  {'result':>{value}}  {'budget':>{budget}}  verdict")
        for line in lines:
            verdict = "PASS" if line.ok else "FAIL"
            note = f"   {line.note}" if line.note else ""
            print(f"  {line.what:<{what}}  {line.value:>{value}}  {line.budget:>{budget}}  {verdict}{note}")
        print()
    for note in report.notes:
        print(f"Note: {note}")
    failed = report.failed
    print(f"\n{len(report.lines) - len(failed)} passed, {len(failed)} failed")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-lighthouse", action="store_true", help="transfer and axe only")
    parser.add_argument("--lighthouse-runs", type=int, default=1, help="median of N runs per page")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--verbose", action="store_true", help="list every resource of every page (stderr)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database under var/")
    args = parser.parse_args()
    command = "make audit-ui" if os.environ.get("MAKELEVEL") else shlex.join(
        [os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable,
         os.path.relpath(__file__, ROOT), *sys.argv[1:]])  # fmt: skip
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: run `make chromium`.")

    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="audit-ui-", dir=ROOT / "var"))
    database_url = f"sqlite:///{workdir / 'audit.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PYTHONDONTWRITEBYTECODE": "1",
        "STAFF_SECOND_FACTOR": "0",  # the demo officers sign in with the password alone
    }
    for name in ("DEBUG", "PUBLIC_URL", "PORT"):
        env.pop(name, None)
    report = Report()
    try:
        print("database: migrate, demo data …", file=sys.stderr, flush=True)
        prepare_database(env)
        pages = me_pages()
        with Server(env) as server, sync_playwright() as playwright:
            # After the start: `serve` makes a fresh demo invitation and revokes older ones.
            sample, described = sample_client(database_url)
            values = sample.values()
            unknown = {p.id: p.missing(values) for p in pages if p.missing(values)}
            for page_id, names in unknown.items():
                hint = f"no sample value for {names}: add it to MeSample.values() in scripts/me_sample.py"
                report.add(Line("transfer", "/" + page_id, "not measured", "measured", False, hint))
            measurable = [p for p in pages if not p.missing(values)]
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                session = {"name": "kp_me", "value": sample.session_token, "url": server.url}
                visitor = prelude_cookies(server.url, measurable, values)
                visits = [
                    Visit("/" + p.id + ("/" if p.id == "me" else ""), p.url(values), p.signed_in,
                          [session] if p.signed_in else visitor)
                    for p in measurable
                ]  # fmt: skip
                transfer_section(report, browser, server.url, [Visit("/", "/", False), *visits], args.verbose)
                if not args.skip_lighthouse:
                    lighthouse_section(
                        report, server.url, sample.session_token, args.lighthouse_runs, workdir
                    )
                axe_section(report, browser, server.url, visits)
            finally:
                browser.close()
        context = [
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {git_description()}, {os.cpu_count()} CPU cores",
            f"{chromium_version()}; Lighthouse {lighthouse_version()}; axe-core 4.14.1; app under "
            f"`kotopolku serve` (uvicorn) on loopback, SQLite with `kotopolku demo` data",
            f"signed-in pages as {described}",
            f"pages found from the routes: {', '.join(p.id for p in pages) or 'none'}",
        ]
        print_table(report, command, context)
        if args.json:
            args.json.write_text(json.dumps({"command": command, "context": context,
                                             "lines": [asdict(line) for line in report.lines],
                                             "notes": report.notes}, indent=2, ensure_ascii=False))  # fmt: skip
    finally:
        forget_demo_accounts(database_url)
        if args.keep:
            print(f"kept {workdir} (database, Lighthouse reports) and {SERVER_LOG}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
