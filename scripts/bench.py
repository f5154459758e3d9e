"""`make bench`: requests/s and latency of the client page and the search fragment on PostgreSQL with a
generated register (SCALE clients, default 100000), beside a bare Litestar endpoint on the same server.

Both apps run under uvicorn with 2 workers on loopback; wrk (32 connections, 2 threads) drives each target
after a warm-up. A measurement, not a test: it exits 0 and prints PASS/FAIL against the targets.
Usage: .venv/bin/python scripts/bench.py [--fresh]   (env SCALE, QUERY, DURATION override the defaults)
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
DB_NAME = "kotopolku_bench"
ADMIN_URL = f"postgresql://postgres@{HOST}:5432/postgres"
DB_URL = f"postgresql://postgres@{HOST}:5432/{DB_NAME}"
APP_PORT, BARE_PORT = 8701, 8702
PUBLIC_URL = f"http://{HOST}:{APP_PORT}"
SECRET_KEY = "bench-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
EMAIL, PASSWORD = "aino.virtanen@esimerkkila.fi", "demo-Kotopolku-2026"  # the demo officer
MUNICIPALITY = "Esimerkkilän kaupunki"
WORKERS, CONNECTIONS, THREADS, WARMUP_S = 2, 32, 2, 3
SERVER_LOG = ROOT / "var" / "bench-server.log"
SINGLE = "search, one user"
PAGE_RATIO_TARGET, SEARCH_P95_TARGET_MS = 0.10, 50.0


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


# The baseline: served by uvicorn as `bench:bare_app` (with --app-dir scripts), like the app.
bare_app = Litestar([hello], logging_config=None)


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


def env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": DB_URL, "PUBLIC_URL": PUBLIC_URL, "SECRET_KEY": SECRET_KEY}


def sql(url: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def client_count() -> int | None:
    if not sql(ADMIN_URL, "SELECT 1 FROM pg_database WHERE datname = %s", DB_NAME):
        return None
    try:
        rows = sql(DB_URL, "SELECT count(*) FROM client c JOIN organisation o ON o.id = c.organisation_id "
                           "WHERE o.name = %s", MUNICIPALITY)  # fmt: skip
    except Exception:  # not migrated yet
        return 0
    return int(rows[0][0])


def prepare_database(scale: int, fresh: bool) -> None:
    count = client_count()
    if count is not None and (fresh or count > scale):
        sql(ADMIN_URL, f"DROP DATABASE {DB_NAME} WITH (FORCE)")
        count = None
    if count == scale:
        print(f"Database {DB_NAME} already holds {scale} clients (--fresh rebuilds it).")
        return
    if count is None:
        sql(ADMIN_URL, f"CREATE DATABASE {DB_NAME}")
    started = time.monotonic()
    for command in (["migrate"], ["demo", "--if-empty"], ["generate", "--scale", str(scale)]):
        subprocess.run([BIN / "kotopolku", *command], cwd=ROOT, env=env(), check=True)
    sql(DB_URL, "VACUUM ANALYZE")
    print(f"Database ready in {time.monotonic() - started:.0f} s.")


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


def sign_in() -> tuple[dict[str, str], str]:
    """Password sign-in through the real endpoints (once: argon2 is slow and sign-in is rate-limited)."""
    import httpx

    with httpx.Client(base_url=PUBLIC_URL, timeout=30) as http:
        page = http.get("/officer/sign-in")
        match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert match, "no CSRF token on the sign-in page"
        token = match.group(1)
        form = {"_csrf_token": token, "email": EMAIL, "password": PASSWORD}
        done = http.post("/officer/sign-in", data=form)
        if done.status_code not in (302, 303) or "kp_session" not in http.cookies:
            raise SystemExit(f"Sign-in failed with HTTP {done.status_code}.")
        return {"kp_session": http.cookies["kp_session"], "kp_csrf": http.cookies["kp_csrf"]}, token


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


def wrk(target: Target, duration: int) -> Result:
    """A warm-up run, then the measured run; latencies in ms, non-2xx and socket errors counted."""
    script = LUA % {"method": json.dumps(target.method), "body": json.dumps(target.body),
                    "headers": lua_table(target.headers)}  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    threads = min(THREADS, target.connections)
    try:
        for seconds in (WARMUP_S, duration):
            command = ["wrk", f"-t{threads}", f"-c{target.connections}", f"-d{seconds}s", "--timeout", "10s",
                       "-s", file.name, target.url]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(file.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, duration_us, p50, p95, p99, bad, socket = (float(x) for x in line.split()[1:])
    rps = requests / (duration_us / 1e6)
    return Result(target.name, int(requests), rps, p50 / 1000, p95 / 1000, p99 / 1000, int(bad + socket))


def probe(targets: list[Target]) -> dict[str, str]:
    """One request per target in-process, on the same database and cookies: SQL statements, or the status."""
    import logging

    from litestar.testing import TestClient
    from sqlalchemy import event

    from app.main import create_app
    from app.settings import Settings

    logging.disable(logging.ERROR)  # a failing page is reported with its status, not as a traceback
    app = create_app(Settings(database_url=DB_URL, secret_key=SECRET_KEY, public_url=PUBLIC_URL))
    statements: list[str] = []
    event.listen(app.state["alchemy"].engine_instance.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # fmt: skip
    found = {}
    with TestClient(app, base_url=PUBLIC_URL) as http:
        for t in targets:
            statements.clear()
            response = http.request(t.method, t.url, content=t.body or None, headers=t.headers)
            found[t.name] = (
                str(len(statements)) if response.status_code == 200 else f"HTTP {response.status_code}"
            )
    logging.disable(logging.NOTSET)
    return found


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: dict[str, Result], scale: int, query: str, matches: int) -> None:
    bare = results["bare endpoint"].rps
    print(f"\nKotopolku bench: PostgreSQL, {scale} clients, uvicorn {WORKERS} workers, wrk {THREADS} threads, "
          f"{os.cpu_count()} CPUs; search q={query!r} matches {matches} active clients")  # fmt: skip
    print(f"{'target':<24}{'conns':>6}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'vs bare':>9}{'queries':>9}")  # fmt: skip
    for r in results.values():
        print(f"{r.name:<24}{r.connections:>6}{r.rps:>8.0f}{r.p50:>9.1f}{r.p95:>9.1f}{r.p99:>9.1f}{r.errors:>8}"
              f"{r.rps / bare:>9.1%}{r.queries:>9}")  # fmt: skip
    page, search, single = results["client page"], results["search fragment"], results[SINGLE]
    print("\nTargets (a target with errors fails: its figures would time error responses):")
    ratio = page.rps / bare
    print(f"  client page >= {PAGE_RATIO_TARGET:.0%} of bare req/s: {ratio:.1%}  "
          f"{verdict(ratio >= PAGE_RATIO_TARGET and not page.errors)}")  # fmt: skip
    for r in (search, single):
        print(f"  search p95 <= {SEARCH_P95_TARGET_MS:.0f} ms at {r.connections} connection(s): {r.p95:.1f} ms  "
              f"{verdict(r.p95 <= SEARCH_P95_TARGET_MS and not r.errors)}")  # fmt: skip
    errors = sum(r.errors for r in results.values())
    print(f"  zero errors: {errors}  {verdict(not errors)}")
    for r in results.values():
        if r.errors or (r.queries and not r.queries.isdigit()):
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
    duration = int(os.environ.get("DURATION", "15"))
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    prepare_database(scale, args.fresh)
    if (busy := cpu_busy()) > 0.15:  # figures are only comparable on an otherwise idle machine
        print(f"WARNING: the CPUs were {busy:.0%} busy just before the run: something else is running.")
    # The client page of the demo client with the most family members (generated clients have none).
    client_id = sql(DB_URL, "SELECT c.id FROM client c JOIN organisation o ON o.id = c.organisation_id "
                            "LEFT JOIN family_link f ON f.client_id = c.id WHERE o.name = %s "
                            "GROUP BY c.id ORDER BY count(f.id) DESC, c.id LIMIT 1", MUNICIPALITY)[0][0]  # fmt: skip
    matches = sql(DB_URL, "SELECT count(*) FROM client WHERE search_text LIKE %s AND status = 'active'",
                  f"%{query.casefold()}%")[0][0]  # fmt: skip
    (ROOT / "var").mkdir(exist_ok=True)
    with SERVER_LOG.open("wb") as log:
        servers = [start_server("app.asgi:app", APP_PORT, log, "--proxy-headers"),
                   start_server("bench:bare_app", BARE_PORT, log, "--app-dir", "scripts")]  # fmt: skip
        try:
            wait_until_up(f"{PUBLIC_URL}/health")
            wait_until_up(f"http://{HOST}:{BARE_PORT}/")
            cookies, token = sign_in()
            signed_in = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
            htmx_form = {
                **signed_in,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            search = Target("search fragment", f"{PUBLIC_URL}/officer/clients/search", "POST",
                            urlencode({"_csrf_token": token, "q": query}), htmx_form)  # fmt: skip
            targets = [
                Target("bare endpoint", f"http://{HOST}:{BARE_PORT}/"),
                Target("client page", f"{PUBLIC_URL}/officer/clients/{client_id}", headers=signed_in),
                search,
                replace(search, name=SINGLE, connections=1),
            ]
            queries = probe(targets[1:3])
            results = {}
            for target in targets:
                results[target.name] = replace(wrk(target, duration), connections=target.connections,
                                               queries=queries.get(target.name, ""))  # fmt: skip
            results[SINGLE].queries = results[search.name].queries
        finally:
            for server in servers:
                stop_server(server)
    report(results, scale, query, int(matches))


if __name__ == "__main__":
    main()
