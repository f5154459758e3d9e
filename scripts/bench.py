"""`make bench`: the app at scale (issue 8), beside a bare Litestar endpoint on the same server.

The database (BENCH_DB, default kotopolku_bench) holds SCALE clients (default 100 000) and, in issue 8's
proportions, 0.6 plans, 10 appointments, 3 messages and 50 audit events per client and a knowledge base of
one article per 200 clients (`kotopolku generate --full`), plus the dashboards' other data (feedback, costs, claims, guidance visits: scripts/bench_reports.py's
SQL). It is built once and reused; `--fresh` rebuilds it.

Both apps run as production does: uvicorn with WORKERS processes (default: the CPU count), RUN_WORKER=0 (the
outbox worker is a process of its own in production), no access log, loopback only. wrk (2 threads) drives
each target after a warm-up: the migrant's plan page (/me/plan, a client session made as a passkey sign-in
makes it), an officer's client page, the htmx client-search fragment and the public knowledge-base search at
32 connections; both searches and the manager's dashboard (/officer/reports) for one user. Each run starts
from idle servers, and the servers' and PostgreSQL's CPU time per request is counted beside req/s and
latency. Each page is also requested once in-process to count its SQL statements. A measurement, not a
test: it exits 0 and prints PASS/FAIL against the targets (docs/PERFORMANCE.md).
Usage: .venv/bin/python scripts/bench.py [--fresh]
       (env SCALE, BENCH_DB, QUERY, KB_QUERY, DURATION, WORKERS override the defaults)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from litestar import Litestar, get

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"  # loopback only, always
DB_NAME = os.environ.get("BENCH_DB", "kotopolku_bench")
ADMIN_URL = f"postgresql://postgres@{HOST}:5432/postgres"
DB_URL = f"postgresql://postgres@{HOST}:5432/{DB_NAME}"
APP_PORT, BARE_PORT = 8701, 8702
PUBLIC_URL = f"http://{HOST}:{APP_PORT}"
SECRET_KEY = "bench-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
OFFICER, MANAGER = "aino.virtanen@esimerkkila.fi", "leena.laine@esimerkkila.fi"  # the demo officer, team lead
PASSWORD = "demo-Kotopolku-2026"  # noqa: S105 (the demo accounts' password)
MUNICIPALITY = "Esimerkkilän kaupunki"
WORKERS = int(os.environ.get("WORKERS", str(os.cpu_count() or 2)))
CONNECTIONS, THREADS, WARMUP_S = 32, 2, 3
SERVER_LOG = ROOT / "var" / "bench-server.log"
BARE, PLAN, CLIENT, SEARCH, KB, DASHBOARD = (
    "bare endpoint", "plan page (/me/plan)", "client page", "search fragment", "knowledge-base search",
    "dashboard",
)  # fmt: skip
FLOOR_READ, FLOOR_APPEND = "floor: one SELECT", "floor: one SELECT + INSERT, commit"
ONE_USER = ", one user"
PAGE_RATIO, SEARCH_RATIO, P99_MS, SEARCH_P95_MS, DASHBOARD_MS = 0.10, 0.20, 50.0, 50.0, 500.0


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


# Two floors beside the baseline, to tell what the targets ask of any page: the least a page that reads the
# database does (one round trip through SQLAlchemy's async pool), and the least a view of client data does
# (that read, plus one row appended and committed, as every audited view appends its audit event). No
# templates, no session, no access policy: an app can only be slower than these.
FLOOR_TABLE = "bench_floor_event"
_floor: dict[str, Any] = {}


async def floor_engine() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    # The app's pool (app/db/engine.py), on the same database.
    _floor["engine"] = create_async_engine(
        DB_URL.replace("postgresql://", "postgresql+asyncpg://"), pool_size=10, max_overflow=10
    )


async def floor_dispose() -> None:
    await _floor["engine"].dispose()


@get("/floor/read")
async def floor_read() -> dict[str, int]:
    from sqlalchemy import text

    async with _floor["engine"].connect() as conn:
        return {"n": (await conn.execute(text("SELECT 1"))).scalar_one()}


@get("/floor/read-and-append")
async def floor_append() -> dict[str, int]:
    from sqlalchemy import text

    async with _floor["engine"].begin() as conn:
        n = (await conn.execute(text("SELECT 1"))).scalar_one()
        await conn.execute(text(f"INSERT INTO {FLOOR_TABLE} (at) VALUES (now())"))  # noqa: S608 (a constant)
        return {"n": n}


# The baseline: served by uvicorn as `bench:bare_app` (with --app-dir scripts), like the app.
bare_app = Litestar(
    [hello, floor_read, floor_append], on_startup=[floor_engine], on_shutdown=[floor_dispose],
    logging_config=None,
)  # fmt: skip


@dataclass
class Result:
    name: str
    requests: int
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    connections: int = CONNECTIONS
    queries: str = ""
    cpu_ms: float = 0.0  # CPU time of the servers and PostgreSQL per request: what load does not change


def env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": DB_URL, "PUBLIC_URL": PUBLIC_URL, "SECRET_KEY": SECRET_KEY,
            "RUN_WORKER": "0", "PUBLIC_ORGANISATION": MUNICIPALITY,
            "STAFF_SECOND_FACTOR": "0"}  # the officers sign in with the password alone  # fmt: skip


def sql(url: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def count(statement: str, *params: object) -> int:
    return int(sql(DB_URL, statement, *params)[0][0])


# --- the data set ------------------------------------------------------------------------------------

SIZES = {
    "clients": "SELECT count(*) FROM client c JOIN organisation o ON o.id = c.organisation_id WHERE o.name = %s",
    "plans": "SELECT count(*) FROM integration_plan p JOIN organisation o ON o.id = p.organisation_id "
             "WHERE o.name = %s",
    "appointments": "SELECT count(*) FROM appointment a JOIN organisation o ON o.id = a.organisation_id "
                    "WHERE o.name = %s",
    "messages": "SELECT count(*) FROM message m JOIN message_thread t ON t.id = m.thread_id "
                "JOIN organisation o ON o.id = t.organisation_id WHERE o.name = %s",
    "audit events": "SELECT count(*) FROM audit_event WHERE %s::text IS NOT NULL",  # the whole log
    "knowledge-base articles": "SELECT count(*) FROM knowledge_article a JOIN organisation o "
                               "ON o.id = a.organisation_id WHERE o.name = %s AND a.status = 'published'",
}  # fmt: skip


def sizes() -> dict[str, int]:
    return {name: count(statement, MUNICIPALITY) for name, statement in SIZES.items()}


def database_exists() -> bool:
    return bool(sql(ADMIN_URL, "SELECT 1 FROM pg_database WHERE datname = %s", DB_NAME))


def complete(scale: int) -> bool:
    """Whether the database holds the whole data set for `scale` clients (and the dashboards' extras)."""
    from app.domain.synthetic_activity import Volumes

    try:
        found = sizes()
        extras = sql(DB_URL, "SELECT 1 FROM cost WHERE accounting_code = %s LIMIT 1", reports_marker())
    except Exception:  # not migrated yet
        return False
    wanted = Volumes.full(scale)
    return bool(extras) and found["clients"] == scale and found["plans"] >= wanted.plans and (
        found["appointments"] >= wanted.appointments and found["messages"] >= wanted.messages
        and found["audit events"] >= wanted.audit_events and found["knowledge-base articles"] >= wanted.articles
    )  # fmt: skip


def reports_marker() -> str:
    import bench_reports

    return bench_reports.MARKER


def client_count() -> int:
    try:
        return count(SIZES["clients"], MUNICIPALITY)
    except Exception:  # not migrated yet
        return 0


def prepare_database(scale: int, fresh: bool) -> None:
    """Reuse the database if it holds the data set; else make what is missing (`generate` only adds what
    is missing); drop it first with --fresh or when it holds more clients than SCALE."""
    if database_exists() and (fresh or client_count() > scale):
        sql(ADMIN_URL, f"DROP DATABASE {DB_NAME} WITH (FORCE)")
    if database_exists() and complete(scale):
        print(f"Database {DB_NAME} holds the data set already (--fresh rebuilds it): {describe(sizes())}.")
        subprocess.run(
            [BIN / "kotopolku", "migrate"], cwd=ROOT, env=env(), check=True, stdout=subprocess.DEVNULL
        )
        return
    if not database_exists():
        sql(ADMIN_URL, f"CREATE DATABASE {DB_NAME}")
    started = time.monotonic()
    for command in (["migrate"], ["demo", "--if-empty"], ["generate", "--scale", str(scale), "--full"]):
        subprocess.run([BIN / "kotopolku", *command], cwd=ROOT, env=env(), check=True)
    generated = time.monotonic() - started
    dashboard_extras(scale)
    extras = time.monotonic() - started - generated
    sql(DB_URL, "VACUUM ANALYZE")
    total = time.monotonic() - started
    print(f"Database ready in {total:.0f} s (migrate, demo, generate {generated:.0f} s; dashboards' extras "
          f"{extras:.0f} s; VACUUM ANALYZE {total - generated - extras:.0f} s): {describe(sizes())}; "
          f"{sql(DB_URL, 'SELECT pg_size_pretty(pg_database_size(current_database()))')[0][0]} on disk.")  # fmt: skip


def dashboard_extras(scale: int) -> None:
    """The dashboards' panels beyond the path: final language tests, feedback, costs, claims, anonymised
    clients and guidance visits, by scripts/bench_reports.py's own SQL (its statements that make the path
    itself are left out: `generate --full` made that)."""
    import bench_reports

    bench_reports.DB_URL = DB_URL  # its helpers read the module's DB_URL
    if sql(DB_URL, "SELECT 1 FROM cost WHERE accounting_code = %s LIMIT 1", bench_reports.MARKER):
        return
    org = sql(DB_URL, "SELECT id FROM organisation WHERE name = %s", MUNICIPALITY)[0][0]
    officers = [r[0] for r in sql(DB_URL, "SELECT s.id FROM staff s JOIN staff_role r ON r.staff_id = s.id "
                                          "WHERE s.organisation_id = %s AND r.role = 'integration_officer' "
                                          "ORDER BY s.email", org)]  # fmt: skip
    programme = [r[0] for r in sql(DB_URL, "SELECT id FROM programme_service WHERE organisation_id = %s "
                                           "ORDER BY id", org)]  # fmt: skip
    params = {
        "org": org, "officers": officers, "programme": programme, "n": scale, "marker": bench_reports.MARKER,
        "feedback": scale // 2, "costs": scale // 2, "anonymised": scale // 12,
    }  # fmt: skip
    wanted = (
        "final_language_test",
        "feedback",
        "cost",
        "compensation_claim",
        "claim_line",
        "anonymised_client",
    )
    for statement in bench_reports.PATH_SQL:
        made = re.search(r"INSERT INTO (\w+)", statement)
        if made and made.group(1) in wanted:
            bench_reports.sql(DB_URL, statement, params)
    bench_reports.add_visits(org, officers, scale)


def describe(found: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {name}".replace(",", " ") for name, n in found.items())


# --- servers and sessions ---------------------------------------------------------------------------


def cpu_busy(seconds: float = 2.0) -> float:
    """Share of CPU time spent outside idle and iowait over a short interval (Linux /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values), values[3] + values[4]

    total, idle = sample()
    time.sleep(seconds)
    total2, idle2 = sample()
    return 1 - (idle2 - idle) / max(1, total2 - total)


def start_server(app: str, port: int, log: IO[bytes], *extra: str) -> subprocess.Popen[bytes]:
    command = [str(BIN / "uvicorn"), app, *extra, "--host", HOST, "--port", str(port), "--workers", str(WORKERS),
               "--no-access-log", "--no-server-header", "--log-level", "warning"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env(), stdout=log, stderr=log, start_new_session=True)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_up(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"Server at {url} did not start.")


def sign_in(email: str) -> tuple[str, str]:
    """Password sign-in through the real endpoints (once: argon2 is slow and sign-in is rate-limited);
    the Cookie header and the CSRF token."""
    import httpx

    with httpx.Client(base_url=PUBLIC_URL, timeout=30) as http:
        page = http.get("/officer/sign-in")
        match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert match, "no CSRF token on the sign-in page"
        token = match.group(1)
        done = http.post(
            "/officer/sign-in", data={"_csrf_token": token, "email": email, "password": PASSWORD}
        )
        if done.status_code not in (302, 303) or "kp_session" not in http.cookies:
            raise SystemExit(f"Sign-in of {email} failed with HTTP {done.status_code}.")
        return f"kp_session={http.cookies['kp_session']}; kp_csrf={http.cookies['kp_csrf']}", token


def client_session(client_id: Any) -> str:
    """A migrant-app session of the client, as a passkey sign-in makes it (a row holding the SHA-256 of a
    random token; app.domain.client_auth): the token for the kp_me cookie. Removed after the run."""
    token = secrets.token_urlsafe(32)
    sql(DB_URL, "INSERT INTO client_session (token_hash, client_id, created_at, last_seen_at, expires_at) "
                "VALUES (%s, %s, now(), now(), now() + interval '1 day')",
        hashlib.sha256(token.encode()).hexdigest(), client_id)  # fmt: skip
    return token


def end_client_session(token: str) -> None:
    sql(
        DB_URL, "DELETE FROM client_session WHERE token_hash = %s", hashlib.sha256(token.encode()).hexdigest()
    )


# --- wrk ---------------------------------------------------------------------------------------------

LUA = """
wrk.method = %(method)s
wrk.body = %(body)s
wrk.headers = %(headers)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body) if status < 200 or status > 299 then bad = bad + 1 end end
function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do bad_total = bad_total + t:get("bad") end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%.0f %%.0f %%.0f %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), bad_total,
    e.connect + e.read + e.write + e.timeout))
end
"""


def lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()) + "}"


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    connections: int = CONNECTIONS


def cpu_ticks(servers: list[subprocess.Popen[bytes]]) -> dict[int, int]:
    """CPU time (user + system, in clock ticks) used so far by the servers' processes and their children
    (uvicorn's workers) and by the PostgreSQL backends of the bench database (Linux /proc)."""
    stats: dict[int, tuple[int, int]] = {}  # pid: (parent, ticks)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    wanted = {s.pid for s in servers}
    wanted |= {pid for pid, (parent, _) in stats.items() if parent in wanted}
    wanted |= {r[0] for r in sql(ADMIN_URL, "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                                            "AND backend_type = 'client backend'", DB_NAME)}  # fmt: skip
    return {pid: stats[pid][1] for pid in wanted if pid in stats}


def settle(servers: list[subprocess.Popen[bytes]], timeout: float = 60.0) -> dict[int, int]:
    """Wait until the servers and PostgreSQL are idle (under a tenth of a CPU for half a second): a server
    goes on with the requests of connections wrk closed, and they must not be timed in the next run."""
    ticks = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    last = cpu_ticks(servers)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_ticks(servers)
        if sum(t - last.get(pid, 0) for pid, t in now.items()) < 0.05 * ticks:
            return now
        last = now
    return last


def wrk(target: Target, duration: int, servers: list[subprocess.Popen[bytes]]) -> Result:
    """A warm-up run, then the measured run, each from idle servers; latencies in ms, non-2xx and socket
    errors counted, and the CPU time the servers and PostgreSQL spent per request: from the start of the
    measured run until they are idle again, over the requests answered plus the one each connection had
    outstanding when wrk stopped."""
    script = LUA % {"method": json.dumps(target.method), "body": json.dumps(target.body),
                    "headers": lua_table(target.headers)}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    threads = min(THREADS, target.connections)
    try:
        for seconds in (WARMUP_S, duration):
            command = ["wrk", f"-t{threads}", f"-c{target.connections}", f"-d{seconds}s", "--timeout", "10s",
                       "-s", file.name, target.url]  # fmt: skip
            before = settle(servers)
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        after = settle(servers)
    finally:
        os.unlink(file.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, duration_us, p50, p95, p99, bad, socket = (float(x) for x in line.split()[1:])
    rps = requests / (duration_us / 1e6)
    cpu_ms = sum(t - before.get(pid, 0) for pid, t in after.items()) * 1000 / os.sysconf("SC_CLK_TCK")
    return Result(target.name, int(requests), rps, p50 / 1000, p95 / 1000, p99 / 1000, int(bad + socket),
                  target.connections, cpu_ms=cpu_ms / (requests + target.connections))  # fmt: skip


def probe(targets: list[Target]) -> dict[str, str]:
    """One request per target in-process, on the same database and cookies: SQL statements, or the status."""
    import logging

    from litestar.testing import TestClient
    from sqlalchemy import event

    from app.main import create_app
    from app.settings import Settings

    logging.disable(logging.ERROR)  # a failing page is reported with its status, not as a traceback
    app = create_app(Settings(database_url=DB_URL, secret_key=SECRET_KEY, public_url=PUBLIC_URL,
                              public_organisation=MUNICIPALITY, staff_second_factor=False))  # fmt: skip
    statements: list[str] = []
    event.listen(app.state["alchemy"].engine_instance.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # fmt: skip
    found = {}
    with TestClient(app, base_url=PUBLIC_URL) as http:
        for t in targets:
            http.request(t.method, t.url, content=t.body or None, headers=t.headers)  # caches warm
            statements.clear()
            response = http.request(t.method, t.url, content=t.body or None, headers=t.headers)
            found[t.name] = (
                str(len(statements)) if response.status_code == 200 else f"HTTP {response.status_code}"
            )
    logging.disable(logging.NOTSET)
    return found


# --- the report --------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    results: dict[str, Result], found: dict[str, int], query: str, matches: int, kb_query: str
) -> None:
    bare = results[BARE].rps
    print(f"\nKotopolku bench: PostgreSQL {DB_NAME}: {describe(found)}.\nuvicorn {WORKERS} workers, wrk "
          f"{THREADS} threads, {os.cpu_count()} CPUs; client search q={query!r} matches {matches} active "
          f"clients; knowledge-base search q={kb_query!r}.")  # fmt: skip
    print(f"{'target':<36}{'conns':>6}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'vs bare':>9}{'SQL/req':>9}{'CPU ms/req':>12}{'CPU vs bare':>13}")  # fmt: skip
    for r in results.values():
        print(f"{r.name:<36}{r.connections:>6}{r.rps:>8.0f}{r.p50:>9.1f}{r.p95:>9.1f}{r.p99:>9.1f}{r.errors:>8}"
              f"{r.rps / bare:>9.1%}{r.queries or '–':>9}{r.cpu_ms:>12.2f}"
              f"{results[BARE].cpu_ms / r.cpu_ms if r.cpu_ms else 0:>13.1%}")  # fmt: skip
    print("CPU ms/req: user + system time of the server processes and PostgreSQL backends per request in the "
          "measured run (not wrk's);\nCPU vs bare: the bare endpoint's CPU per request over the target's, the "
          "req/s ratio the target would reach if the CPUs were all the servers'.")  # fmt: skip
    floor = results[FLOOR_APPEND]
    print(f"\nThe floors: a page that only reads the database reaches {results[FLOOR_READ].rps / bare:.1%} of the "
          f"bare endpoint's req/s, one that also appends a row and commits (as every audited view does) "
          f"{floor.rps / bare:.1%}, p99 {floor.p99:.1f} ms. Each page against its floor (the audited one for "
          f"views and searches of client data):")  # fmt: skip
    for name, against in ((PLAN, floor), (CLIENT, floor), (SEARCH, floor), (KB, results[FLOOR_READ])):
        print(f"  {name:<34}{results[name].rps / against.rps:>8.1%} of {against.name!r}")
    print("\nTargets (a target with errors, or without a single answer, fails):")
    checks: list[tuple[str, str, bool]] = []
    for name in (PLAN, CLIENT):
        r = results[name]
        checks.append(
            (f"{name} >= {PAGE_RATIO:.0%} of bare req/s", f"{r.rps / bare:.1%}", r.rps / bare >= PAGE_RATIO)
        )
        checks.append(
            (f"{name} p99 <= {P99_MS:.0f} ms at {r.connections}", f"{r.p99:.1f} ms", r.p99 <= P99_MS)
        )
    r = results[SEARCH]
    checks.append(
        (f"{SEARCH} >= {SEARCH_RATIO:.0%} of bare req/s", f"{r.rps / bare:.1%}", r.rps / bare >= SEARCH_RATIO)
    )
    for name in (SEARCH, KB, SEARCH + ONE_USER, KB + ONE_USER):
        r = results[name]
        checks.append((f"{name} p95 <= {SEARCH_P95_MS:.0f} ms at {r.connections}", f"{r.p95:.1f} ms",
                       r.p95 <= SEARCH_P95_MS))  # fmt: skip
    r = results[DASHBOARD + ONE_USER]
    checks.append(
        (f"{DASHBOARD} p95 <= {DASHBOARD_MS:.0f} ms (one user)", f"{r.p95:.0f} ms", r.p95 <= DASHBOARD_MS)
    )
    errors = sum(r.errors for r in results.values())
    for label, figure, ok in checks:
        failed = next(
            (r for r in results.values() if label.startswith(r.name + " ") and (r.errors or not r.requests)),
            None,
        )
        print(f"  {label:<56}{figure:>10}  {verdict(ok and failed is None)}")
    print(f"  {'zero errors':<56}{errors:>10}  {verdict(not errors)}")
    for r in results.values():
        if r.errors or not r.requests or (r.queries and not r.queries.isdigit()):
            print(f"  {r.name}: {r.errors} of {r.requests} requests failed ({r.queries or 'see log'}); "
                  f"server log: {SERVER_LOG.relative_to(ROOT)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the bench database")
    args = parser.parse_args()
    scale = int(os.environ.get("SCALE", "100000"))
    query = os.environ.get("QUERY", "shev")
    kb_query = os.environ.get("KB_QUERY", "kela")
    duration = int(os.environ.get("DURATION", "15"))
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    prepare_database(scale, args.fresh)
    found = sizes()
    if (busy := cpu_busy()) > 0.15:  # figures are only comparable on an otherwise idle machine
        print(f"WARNING: the CPUs were {busy:.0%} busy just before the run: something else is running.")
    # The client page of the demo client with the most family members (generated clients have none); the
    # plan page of the active client whose plan in force has the most goals, services and versions.
    client_id = sql(DB_URL, "SELECT c.id FROM client c JOIN organisation o ON o.id = c.organisation_id "
                            "LEFT JOIN family_link f ON f.client_id = c.id WHERE o.name = %s "
                            "GROUP BY c.id ORDER BY count(f.id) DESC, c.id LIMIT 1", MUNICIPALITY)[0][0]  # fmt: skip
    plan_client = sql(DB_URL, "SELECT p.client_id FROM integration_plan p JOIN client c ON c.id = p.client_id "
                              "WHERE p.status = 'in_force' AND c.status = 'active' ORDER BY "
                              "(SELECT count(*) FROM plan_version v WHERE v.plan_id = p.id) DESC, "
                              "(SELECT count(*) FROM plan_goal g WHERE g.plan_id = p.id) + "
                              "(SELECT count(*) FROM plan_service s WHERE s.plan_id = p.id) DESC, "
                              "p.client_id LIMIT 1")[0][0]  # fmt: skip
    matches = count("SELECT count(*) FROM client WHERE search_text LIKE %s AND status = 'active'",
                    f"%{query.casefold()}%")  # fmt: skip
    (ROOT / "var").mkdir(exist_ok=True)
    me_token = client_session(plan_client)
    sql(
        DB_URL,
        f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL)",
    )
    try:
        with SERVER_LOG.open("wb") as log:
            servers = [start_server("app.asgi:app", APP_PORT, log, "--proxy-headers"),
                       start_server("bench:bare_app", BARE_PORT, log, "--app-dir", "scripts")]  # fmt: skip
            try:
                wait_until_up(f"{PUBLIC_URL}/health")
                wait_until_up(f"http://{HOST}:{BARE_PORT}/")
                officer, token = sign_in(OFFICER)
                manager, _ = sign_in(MANAGER)
                htmx_form = {"Cookie": officer, "HX-Request": "true",
                             "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
                search = Target(SEARCH, f"{PUBLIC_URL}/officer/clients/search", "POST",
                                urlencode({"_csrf_token": token, "q": query}), htmx_form)  # fmt: skip
                kb = Target(KB, f"{PUBLIC_URL}/guidance/search?{urlencode({'q': kb_query})}",
                            headers={"Accept-Language": "fi"})  # fmt: skip
                dashboard = Target(DASHBOARD, f"{PUBLIC_URL}/officer/reports", headers={"Cookie": manager})
                targets = [
                    Target(BARE, f"http://{HOST}:{BARE_PORT}/"),
                    Target(FLOOR_READ, f"http://{HOST}:{BARE_PORT}/floor/read"),
                    Target(FLOOR_APPEND, f"http://{HOST}:{BARE_PORT}/floor/read-and-append"),
                    Target(PLAN, f"{PUBLIC_URL}/me/plan", headers={"Cookie": f"kp_me={me_token}"}),
                    Target(CLIENT, f"{PUBLIC_URL}/officer/clients/{client_id}", headers={"Cookie": officer}),
                    search,
                    kb,
                    replace(search, name=SEARCH + ONE_USER, connections=1),
                    replace(kb, name=KB + ONE_USER, connections=1),
                    replace(dashboard, name=DASHBOARD + ONE_USER, connections=1),
                ]
                queries = probe(
                    [t for t in targets if t.connections == CONNECTIONS and t.url.startswith(PUBLIC_URL)]
                    + [dashboard]
                )
                results = {}
                for target in targets:
                    result = wrk(target, duration, servers)
                    result.queries = queries.get(target.name.removesuffix(ONE_USER), "")
                    results[target.name] = result
            finally:
                for server in servers:
                    stop_server(server)
    finally:
        end_client_session(me_token)
        sql(DB_URL, f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
    report(results, found, query, matches, kb_query)
    print(f"Load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
