"""The managers' dashboards on PostgreSQL with a generated register of SCALE clients (default 100000):
how long the dashboard takes (the domain function, the HTML page and the CSV exports through the app
in-process), p50/p95 over RUNS runs, and the SQL statements each runs. Target: 500 ms.

The database `kotopolku_bench_reports` is built once and reused: `kotopolku migrate`, `demo`,
`generate --scale` (which makes clients only), then this script adds the rest of the integration path
in set-based SQL (first permits, responsible officers, ended relationships, assessments, plans, their
services with starts and completions, final language tests, feedback, costs, claims with lines and
anonymised clients, plan goals with their attainment, guidance visits with topics and referrals), and
VACUUM ANALYZE. `--fresh` rebuilds it; env BENCH_DB names another database (e.g. a small trial);
`--explain` prints EXPLAIN ANALYZE of every panel's query (env PLANS=1: the whole plans).
Usage: make bench-reports [BENCH_ARGS="--fresh --explain"], or
       .venv/bin/python scripts/bench_reports.py [--fresh] [--explain]   (env SCALE, RUNS, PLANS)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"  # loopback only
DB_NAME = os.environ.get("BENCH_DB", "kotopolku_bench_reports")
ADMIN_URL = f"postgresql://postgres@{HOST}:5432/postgres"
DB_URL = f"postgresql://postgres@{HOST}:5432/{DB_NAME}"
PUBLIC_URL = "http://testserver.local"
SECRET_KEY = "bench-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
MANAGER, PASSWORD = "leena.laine@esimerkkila.fi", "demo-Kotopolku-2026"  # the demo team lead
MUNICIPALITY = "Esimerkkilän kaupunki"
MARKER = "BENCH-REPORTS"  # the accounting code of generated costs: the rest of the path is in place
TARGET_MS = 500.0


def env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": DB_URL, "PUBLIC_URL": PUBLIC_URL, "SECRET_KEY": SECRET_KEY}


def sql(url: str, statement: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def exists() -> bool:
    return bool(sql(ADMIN_URL, "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": DB_NAME}))


def client_count() -> int:
    try:
        rows = sql(DB_URL, "SELECT count(*) FROM client c JOIN organisation o ON o.id = c.organisation_id "
                           "WHERE o.name = %(m)s", {"m": MUNICIPALITY})  # fmt: skip
    except Exception:  # not migrated yet
        return 0
    return int(rows[0][0])


# The rest of the path, in set-based SQL. Dates are relative to today, so "this year" always has data.
PATH_SQL = [
    # First permits, a responsible officer for nine in ten, and one in seven relationships ended.
    """
    UPDATE client SET
      first_permit_date = known_on - floor(random() * 500)::int,
      responsible_officer_id = CASE WHEN random() < 0.9
        THEN (%(officers)s::uuid[])[1 + floor(random() * cardinality(%(officers)s::uuid[]))::int] END,
      status = CASE WHEN random() < 0.15 THEN 'ended' ELSE 'active' END
    WHERE organisation_id = %(org)s AND first_permit_date IS NULL
    """,
    """
    UPDATE client SET ended_on = LEAST(current_date, known_on + 30 + floor(random() * 600)::int),
      end_reason = 'moved_away'
    WHERE organisation_id = %(org)s AND status = 'ended' AND ended_on IS NULL
    """,
    # A first assessment for most clients, mostly within a few weeks of becoming known.
    """
    INSERT INTO assessment (id, client_id, organisation_id, number, status, assessed_on, created_by_id,
      officer_id, county_takes_part, data_sources, told_service_goals, told_planning, told_rights_and_duties,
      told_data_processing, version, plan_need, planned_plan_date, completed_at, completed_by_id)
    SELECT gen_random_uuid(), c.id, c.organisation_id, 1, 'completed', d.assessed_on, d.officer, d.officer,
      false, '["client_interview"]'::json, true, true, true, true, 1,
      CASE WHEN random() < 0.8 THEN 'plan_needed' ELSE 'plan_not_needed' END,
      d.assessed_on + floor(random() * 30)::int, d.assessed_on::timestamptz, d.officer
    FROM client c CROSS JOIN LATERAL (
      SELECT LEAST(current_date, c.known_on + floor(random() * 40)::int) AS assessed_on,
             coalesce(c.responsible_officer_id, (%(officers)s::uuid[])[1]) AS officer) d
    WHERE c.organisation_id = %(org)s AND c.known_on < current_date - 5 AND random() < 0.85
      AND NOT EXISTS (SELECT 1 FROM assessment a WHERE a.client_id = c.id)
    """,
    # A first plan from each assessment that found one needed; reviews due or overdue.
    """
    INSERT INTO integration_plan (id, client_id, organisation_id, assessment_id, number, status, officer_id,
      starts_on, ends_on, under_25_self_study, multi_sector, duties_explained, version, next_review_on,
      ended_on, end_reason)
    SELECT gen_random_uuid(), a.client_id, a.organisation_id, a.id, 1,
      CASE WHEN c.status = 'ended' THEN 'ended' ELSE 'in_force' END, a.officer_id, s.starts_on,
      s.starts_on + 365, false, false, true, 1,
      CASE WHEN random() < 0.2 THEN current_date - floor(random() * 150)::int
           ELSE current_date + floor(random() * 180)::int END,
      CASE WHEN c.status = 'ended' THEN GREATEST(s.starts_on, c.ended_on) END,
      CASE WHEN c.status = 'ended' THEN 'moved_away' END
    FROM assessment a JOIN client c ON c.id = a.client_id CROSS JOIN LATERAL (
      SELECT LEAST(current_date, a.planned_plan_date + floor(random() * 20)::int - 8) AS starts_on) s
    WHERE a.organisation_id = %(org)s AND a.plan_need = 'plan_needed' AND a.assessed_on < current_date - 3
      AND NOT EXISTS (SELECT 1 FROM integration_plan p WHERE p.client_id = a.client_id)
    """,
    # Two services per plan: referred, started or completed.
    """
    INSERT INTO plan_service (id, plan_id, position, kind, programme_service_id, status, referred_on,
      started_on, completed_on, version, note)
    SELECT gen_random_uuid(), x.plan_id, x.position, x.kind, x.programme_service_id,
      CASE WHEN x.started_on > current_date THEN 'referred'
           WHEN x.completed_on <= current_date AND x.completes THEN 'completed' ELSE 'started' END,
      x.starts_on + 3,
      CASE WHEN x.started_on <= current_date THEN x.started_on END,
      CASE WHEN x.completed_on <= current_date AND x.completes AND x.started_on <= current_date
           THEN x.completed_on END,
      1, 'synthetic'
    FROM (
      SELECT p.id AS plan_id, p.starts_on, g AS position,
        CASE WHEN cardinality(%(programme)s::uuid[]) > 0 THEN 'programme' ELSE 'ngo' END AS kind,
        (%(programme)s::uuid[])[1 + floor(random() * cardinality(%(programme)s::uuid[]))::int]
          AS programme_service_id,
        s.started_on, s.started_on + 60 + floor(random() * 200)::int AS completed_on,
        random() < 0.6 AS completes
      FROM integration_plan p CROSS JOIN generate_series(1, 2) g
      CROSS JOIN LATERAL (SELECT p.starts_on + 5 + floor(random() * 40)::int + 0 * g AS started_on) s
      WHERE p.organisation_id = %(org)s
        AND NOT EXISTS (SELECT 1 FROM plan_service ps WHERE ps.plan_id = p.id)
    ) x
    """,
    # Final language tests (four skills) of completed integration training.
    """
    INSERT INTO final_language_test (plan_service_id, language, skill, level, tested_on)
    SELECT ps.id, 'fi', skill, (ARRAY['none','A1','A2','B1','B2','C1'])[1 + floor(random() * 6)::int],
      ps.completed_on
    FROM plan_service ps JOIN programme_service s ON s.id = ps.programme_service_id
    CROSS JOIN unnest(ARRAY['reading','writing','listening','speaking']) skill
    WHERE ps.status = 'completed' AND s.service_type IN ('integration_training', 'literacy_training')
      AND NOT EXISTS (SELECT 1 FROM final_language_test t WHERE t.plan_service_id = ps.id)
    """,
    # Feedback (a third anonymous), costs and anonymised clients, spread over about three years.
    """
    INSERT INTO feedback (id, organisation_id, client_id, subject, rating, language, created_at)
    SELECT gen_random_uuid(), %(org)s, CASE WHEN random() < 0.67 THEN cl.id END,
      (ARRAY['appointment','service','app'])[1 + floor(random() * 3)::int],
      LEAST(5, 2 + floor(random() * 4)::int + (random() < 0.3)::int),
      (ARRAY['fi','fi','en','ar','ar','ru','uk','so','fa','sv'])[1 + floor(random() * 10)::int],
      now() - random() * interval '1000 days'
    FROM (SELECT g, 1 + floor(random() * %(n)s)::int AS r FROM generate_series(1, %(feedback)s) g) s
    JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM client WHERE organisation_id = %(org)s) cl
      ON cl.rn = s.r
    """,
    """
    INSERT INTO cost (id, organisation_id, client_id, category, amount, incurred_on, accounting_code,
      recorded_by_id, version)
    SELECT gen_random_uuid(), %(org)s, cl.id,
      (ARRAY['cost_social_assistance','cost_reception_preparation','cost_special','cost_trafficking_victim',
             'cost_unaccompanied_minor','cost_interpretation','cost_other'])[1 + floor(random() * 7)::int],
      round((50 + random() * 4950)::numeric, 2), current_date - floor(random() * 1000)::int,
      %(marker)s, (%(officers)s::uuid[])[1], 1
    FROM (SELECT g, 1 + floor(random() * %(n)s)::int AS r FROM generate_series(1, %(costs)s) g) s
    JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM client WHERE organisation_id = %(org)s) cl
      ON cl.rn = s.r
    """,
    """
    INSERT INTO compensation_claim (id, organisation_id, period_start, period_end, status, created_by_id,
      version, decided_amount, paid_amount)
    SELECT gen_random_uuid(), %(org)s, make_date(y, h * 6 - 5, 1),
      (make_date(y, h * 6 - 5, 1) + interval '6 months' - interval '1 day')::date,
      (ARRAY['claim_paid','claim_decided','claim_more_information_requested','claim_sent','claim_draft'])
        [1 + (h + y) %% 5],
      (%(officers)s::uuid[])[1], 1, 250000, 240000
    FROM generate_series(extract(year FROM current_date)::int - 3, extract(year FROM current_date)::int) y
    CROSS JOIN generate_series(1, 2) h
    """,
    """
    INSERT INTO claim_line (id, claim_id, kind, activity_year, amount, created_at)
    SELECT gen_random_uuid(), c.id, 'calculated', extract(year FROM c.period_start)::int,
      round((100 + random() * 3000)::numeric, 2), now()
    FROM compensation_claim c CROSS JOIN generate_series(1, 2000)
    WHERE c.organisation_id = %(org)s
    """,
    """
    INSERT INTO anonymised_client (organisation_id, segment, known_month, ended_month, end_reason, age_group,
      mother_tongue, had_assessment, had_plan, anonymised_at)
    SELECT %(org)s, 1 + floor(random() * 3)::int, date_trunc('month', k)::date,
      date_trunc('month', k + interval '200 days' + random() * interval '500 days')::date, 'moved_away',
      (ARRAY['0-6','7-17','18-29','30-44','45-64','65+'])[1 + floor(random() * 6)::int],
      (ARRAY['ar','ru','uk','so','fa','ti','vi','en'])[1 + floor(random() * 8)::int], true, random() < 0.8, now()
    FROM (SELECT current_date - interval '6 years' + random() * interval '4 years' AS k
          FROM generate_series(1, %(anonymised)s)) s
    """,
]


# Goals of every plan (one to three), their attainment recorded for most goals of the plans that ended.
# Run on its own when missing, so that a database built before goals were reported gets them too.
GOALS_SQL = """
    INSERT INTO plan_goal (id, plan_id, position, kind, goal_type, text, attainment)
    SELECT gen_random_uuid(), p.id, g, CASE WHEN g = 1 THEN 'long_term' ELSE 'plan_period' END,
      (ARRAY['employment_goal','entrepreneurship','working_life_readiness','upper_secondary_education',
             'language_skills_goal','other_goal'])[1 + floor(random() * 6)::int],
      %(marker)s,
      CASE WHEN p.ended_on IS NOT NULL AND random() < 0.85
        THEN (ARRAY['goal_achieved','goal_partly_achieved','goal_not_achieved'])[1 + floor(random() * 3)::int]
      END
    FROM integration_plan p
    CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 3)::int + 0 * p.number) g
    WHERE p.organisation_id = %(org)s AND NOT EXISTS (SELECT 1 FROM plan_goal pg WHERE pg.plan_id = p.id)
"""


# Guidance and counselling visits (service 4): a quarter as many as clients over about three years, one in
# seven identified (under a consent to guidance records of a client), one or two topics each, referrals in
# four of ten. Run on its own when missing, so that a database built before visits were reported gets them.
VISITS_SQL = [
    # The topics, unless the organisation has some already (the demo makes them): eleven in use, one retired.
    """
    INSERT INTO guidance_topic (id, organisation_id, name_fi, name_sv, name_en, active, position, version)
    SELECT gen_random_uuid(), %(org)s, 'Aihe ' || g, 'Ämne ' || g, 'Topic ' || g, g <= 11, g, 1
    FROM generate_series(1, 12) g
    WHERE NOT EXISTS (SELECT 1 FROM guidance_topic t WHERE t.organisation_id = %(org)s)
    """,
    """
    INSERT INTO consent (id, client_id, purpose, given, decided_on, recorded_at, recorded_by_id, note, version)
    SELECT gen_random_uuid(), c.id, 'guidance_records', true, c.known_on, c.known_on::timestamptz,
      (%(officers)s::uuid[])[1], %(marker)s, 1
    FROM client c WHERE c.organisation_id = %(org)s AND random() < 0.05
    """,
    """
    INSERT INTO guidance_visit (id, organisation_id, client_id, consent_id, visited_on, channel,
      duration_minutes, language, interpreter_used, recorded_by_id, recorded_at, version)
    SELECT gen_random_uuid(), %(org)s, CASE WHEN s.identified THEN c.client_id END,
      CASE WHEN s.identified THEN c.id END, s.day,
      (ARRAY['walk_in','walk_in','walk_in','phone','phone','chat','email'])[1 + floor(random() * 7)::int],
      5 + floor(random() * 55)::int,
      (ARRAY['ar','ar','ar','uk','uk','ru','so','fa','prs','ti','en','fi','sv','vi','ku','tr'])
        [1 + floor(random() * 16)::int],
      random() < 0.3, (%(officers)s::uuid[])[1 + floor(random() * cardinality(%(officers)s::uuid[]))::int],
      s.day::timestamptz, 1
    FROM (SELECT g, current_date - floor(random() * 1000)::int AS day, random() < 0.15 AS identified,
                 1 + floor(random() * %(consents)s)::int AS r
          FROM generate_series(1, %(visits)s) g) s
    JOIN (SELECT id, client_id, row_number() OVER (ORDER BY id) AS rn FROM consent WHERE note = %(marker)s) c
      ON c.rn = s.r
    """,
    """
    INSERT INTO guidance_visit_topic (visit_id, topic_id)
    SELECT v.id, t.id FROM guidance_visit v
    CROSS JOIN LATERAL (
      SELECT id FROM guidance_topic WHERE organisation_id = v.organisation_id
      ORDER BY random() + 0 * v.duration_minutes LIMIT 1 + (random() < 0.3)::int) t
    WHERE v.organisation_id = %(org)s
      AND NOT EXISTS (SELECT 1 FROM guidance_visit_topic x WHERE x.visit_id = v.id)
    """,
    """
    INSERT INTO guidance_visit_referral (visit_id, referral)
    SELECT v.id, (ARRAY['to_kela','to_employment_services','to_wellbeing_county','to_population_register',
                        'to_immigration_service','to_education','to_housing','to_organisation','to_other'])
                   [1 + floor(random() * 9)::int]
    FROM guidance_visit v
    WHERE v.organisation_id = %(org)s AND random() < 0.4
      AND NOT EXISTS (SELECT 1 FROM guidance_visit_referral x WHERE x.visit_id = v.id)
    """,
]


def add_visits(org: Any, officers: list[Any], scale: int) -> bool:
    """The guidance visits, unless made already (the demo's sixty do not count); whether they were added."""
    rows = sql(DB_URL, "SELECT count(*) FROM guidance_visit WHERE organisation_id = %(o)s", {"o": org})
    if int(rows[0][0]) >= 1000:
        return False
    params: dict[str, Any] = {"org": org, "officers": officers, "marker": MARKER, "visits": scale // 4}
    sql(DB_URL, VISITS_SQL[0], params)
    sql(DB_URL, VISITS_SQL[1], params)
    consents = sql(DB_URL, "SELECT count(*) FROM consent WHERE note = %(m)s", {"m": MARKER})[0][0]
    params["consents"] = max(1, int(consents))
    for statement in VISITS_SQL[2:]:
        sql(DB_URL, statement, params)
    return True


def add_goals(org: Any) -> bool:
    """The plans' goals, unless already made; whether they were added now."""
    if sql(DB_URL, "SELECT 1 FROM plan_goal WHERE text = %(m)s LIMIT 1", {"m": MARKER}):
        return False
    sql(DB_URL, GOALS_SQL, {"org": org, "marker": MARKER})
    return True


def prepare_database(scale: int, fresh: bool) -> None:
    if exists() and (fresh or client_count() > scale):
        sql(ADMIN_URL, f"DROP DATABASE {DB_NAME} WITH (FORCE)")
    if not exists():
        sql(ADMIN_URL, f"CREATE DATABASE {DB_NAME}")
    started = time.monotonic()
    if client_count() < scale:
        for command in (["migrate"], ["demo", "--if-empty"], ["generate", "--scale", str(scale)]):
            subprocess.run([BIN / "kotopolku", *command], cwd=ROOT, env=env(), check=True)
    else:
        subprocess.run([BIN / "kotopolku", "migrate"], cwd=ROOT, env=env(), check=True)  # new indexes
    org = sql(DB_URL, "SELECT id FROM organisation WHERE name = %(m)s", {"m": MUNICIPALITY})[0][0]
    officers = [r[0] for r in sql(DB_URL, "SELECT s.id FROM staff s JOIN staff_role r ON r.staff_id = s.id "
                                          "WHERE s.organisation_id = %(o)s AND r.role = 'integration_officer' "
                                          "ORDER BY s.email", {"o": org})]  # fmt: skip
    if sql(DB_URL, "SELECT 1 FROM cost WHERE accounting_code = %(m)s LIMIT 1", {"m": MARKER}):
        print(f"Database {DB_NAME} already holds {scale} clients and their path (--fresh rebuilds it).")
        if add_goals(org):
            print("Added the plans' goals.")
            sql(DB_URL, "VACUUM ANALYZE plan_goal")
        if add_visits(org, officers, scale):
            print("Added the guidance visits.")
            sql(
                DB_URL,
                "VACUUM ANALYZE guidance_visit, guidance_visit_topic, guidance_visit_referral, consent",
            )
        sql(DB_URL, "ANALYZE")
        return
    programme = [r[0] for r in sql(DB_URL, "SELECT id FROM programme_service WHERE organisation_id = %(o)s "
                                           "ORDER BY id", {"o": org})]  # fmt: skip
    params = {
        "org": org, "officers": officers, "programme": programme, "n": scale, "marker": MARKER,
        "feedback": scale // 2, "costs": scale // 2, "anonymised": scale // 12,
    }  # fmt: skip
    sql(DB_URL, "SELECT setseed(0.42)")
    for statement in PATH_SQL:
        sql(DB_URL, statement, params)
    add_goals(org)
    add_visits(org, officers, scale)
    sql(DB_URL, "VACUUM ANALYZE")
    print(f"Database ready in {time.monotonic() - started:.0f} s.")


def volumes() -> str:
    tables = ("client", "anonymised_client", "assessment", "integration_plan", "plan_service",
              "final_language_test", "plan_goal", "feedback", "cost", "compensation_claim", "claim_line",
              "guidance_visit", "guidance_visit_topic")  # fmt: skip
    counts = [f"{t} {sql(DB_URL, f'SELECT count(*) FROM {t}')[0][0]}" for t in tables]  # noqa: S608
    return ", ".join(counts)


def cpu_busy(seconds: float = 2.0) -> float:
    """Share of CPU time spent outside idle and iowait over a short interval (Linux /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values), values[3] + values[4]

    total, idle = sample()
    time.sleep(seconds)
    total2, idle2 = sample()
    return 1 - (idle2 - idle) / max(1, total2 - total)


def summary(name: str, times: list[float], queries: int | str) -> tuple[str, float, float]:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
    print(f"{name:<46}{p50:>9.1f}{p95:>9.1f}{queries!s:>9}  {verdict}")
    return name, p50, p95


async def time_domain(runs: int, explain: bool) -> None:
    from sqlalchemy import event, select, text
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app import i18n
    from app.db.engine import make_engine
    from app.db.organisation import Organisation, Staff
    from app.domain import reports, rules
    from app.domain.forms import today
    from app.settings import Settings

    engine = make_engine(Settings(database_url=DB_URL, secret_key=SECRET_KEY, public_url=PUBLIC_URL))
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    i18n.set_locale("fi")
    on = today()
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        org = await db.scalar(select(Organisation.id).where(Organisation.name == MUNICIPALITY))
        officer = await db.scalar(select(Staff.id).where(Staff.email == "aino.virtanen@esimerkkila.fi"))
        assert org is not None
        year = reports.default_filters(on)
        cases: list[tuple[str, reports.Filters]] = [
            ("dashboard, this year (domain)", year),
            ("dashboard, last three years (domain)", reports.Filters(date(on.year - 2, 1, 1), year.end, on)),
            ("dashboard, segment 2 (domain)", reports.Filters(year.start, year.end, on, segment=2)),
            (
                "dashboard, one officer (domain)",
                reports.Filters(year.start, year.end, on, officer_id=officer),
            ),
        ]
        for name, filters in cases:
            await reports.dashboard(db, org, filters)  # warm-up
            times = []
            for _run in range(runs):
                statements.clear()
                started = time.perf_counter()
                await reports.dashboard(db, org, filters)
                times.append((time.perf_counter() - started) * 1000)
            summary(name, times, len(statements))
        times = []
        for _run in range(runs):
            statements.clear()
            started = time.perf_counter()
            await reports.national_csv(db, org, on.year - 1, on)
            times.append((time.perf_counter() - started) * 1000)
        summary("national statistics, last year (domain)", times, len(statements))
    await engine.dispose()
    await cpu_per_dashboard(runs)
    engine = make_engine(Settings(database_url=DB_URL, secret_key=SECRET_KEY, public_url=PUBLIC_URL))
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        if explain:
            settings = rules.RuleSettings()
            await db.execute(reports._SET_REPORT_SETTINGS)  # as the dashboard runs them
            builders: dict[str, Callable[[], Any]] = {
                "clients": lambda: reports._clients_statement(org, year),
                **{
                    f"path: {item} (deadlines, throughput)": (
                        lambda item=item: reports._path_statements(org, year, settings)[item]
                    )
                    for item in reports.PATH_STEPS
                },
                "reviews": lambda: reports._reviews_statement(org, year),
                "services": lambda: reports._services_statement(org, year),
                "language_tests": lambda: reports._language_tests_statement(org, year),
                "visits": lambda: reports._visits_statement(org, year),
                "visits: topics": lambda: reports._visit_topics_statement(org, year),
                "feedback": lambda: reports._feedback_statement(org, year),
                "costs": lambda: reports._costs_statement(org, year),
                "claims": lambda: reports._claims_statement(org, year),
                "goal_attainment": lambda: reports._goals_statement(org, year),
                "national": lambda: reports._national_statement(org, on.year - 1, on, settings),
            }
            for name, build in builders.items():
                compiled = build().compile(
                    dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
                    compile_kwargs={"literal_binds": True},
                )
                plan = (await db.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))).scalars().all()
                print(f"\n--- EXPLAIN ANALYZE {name}: {plan[-1]}")
                if os.environ.get("PLANS"):
                    print("\n".join(plan))
    await engine.dispose()


def backend_cpu_ms() -> float:
    """CPU time used so far by the PostgreSQL backends serving this benchmark's database (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = sql(DB_URL, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")  # fmt: skip
    for (pid,) in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * 1000 / ticks


async def cpu_per_dashboard(runs: int) -> None:
    """The dashboard's CPU cost, which other load on the machine does not change: the PostgreSQL
    backends' CPU time (parallel workers off, so that all of it is in the backends) and this process's."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.db.engine import make_engine
    from app.db.organisation import Organisation
    from app.domain import reports
    from app.domain.forms import today
    from app.settings import Settings

    engine = make_engine(
        Settings(database_url=DB_URL, secret_key=SECRET_KEY, public_url=PUBLIC_URL),
        connect_args={"server_settings": {"max_parallel_workers_per_gather": "0"}},
    )
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        org = await db.scalar(select(Organisation.id).where(Organisation.name == MUNICIPALITY))
        assert org is not None
        filters = reports.default_filters(today())
        await reports.dashboard(db, org, filters)  # warm-up: opens the connections
        backends, python = backend_cpu_ms(), time.process_time()
        for _run in range(runs):
            await reports.dashboard(db, org, filters)
        backends = (backend_cpu_ms() - backends) / runs
        python = (time.process_time() - python) * 1000 / runs
    await engine.dispose()
    print(f"{'dashboard, this year: CPU ms per dashboard':<46}{backends:>9.0f}{python:>9.0f}"
          "  (PostgreSQL backends, Python; load-independent)")  # fmt: skip


def time_http(runs: int) -> None:
    import re

    from litestar.testing import TestClient
    from sqlalchemy import event

    from app.main import create_app
    from app.settings import Settings

    logging.disable(logging.INFO)
    app = create_app(
        Settings(database_url=DB_URL, secret_key=SECRET_KEY, public_url=PUBLIC_URL, staff_second_factor=False)
    )
    statements: list[str] = []
    event.listen(app.state["alchemy"].engine_instance.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # fmt: skip
    with TestClient(app, base_url=PUBLIC_URL) as http:
        page = http.get("/officer/sign-in")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token, "no CSRF token on the sign-in page"
        done = http.post("/officer/sign-in", data={"_csrf_token": token.group(1), "email": MANAGER,
                                                   "password": PASSWORD}, follow_redirects=False)  # fmt: skip
        if done.status_code != 302:
            raise SystemExit(f"Sign-in failed with HTTP {done.status_code}.")
        targets = [
            ("dashboard page (HTTP, in-process)", "/officer/reports"),
            ("dashboard CSV, all panels (HTTP)", "/officer/reports/export.csv"),
            ("national statistics CSV (HTTP)", "/officer/reports/national.csv"),
        ]
        for name, url in targets:
            response = http.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
            times = []
            for _run in range(runs):
                statements.clear()
                started = time.perf_counter()
                response = http.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            summary(name, times, len(statements))
    logging.disable(logging.NOTSET)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the bench database")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every panel's query")
    args = parser.parse_args()
    scale = int(os.environ.get("SCALE", "100000"))
    runs = int(os.environ.get("RUNS", "20"))
    prepare_database(scale, args.fresh)
    if (busy := cpu_busy()) > 0.15:  # figures are only comparable on an otherwise idle machine
        print(f"WARNING: the CPUs were {busy:.0%} busy just before the run: something else is running.")
    print(f"\nKotopolku reports bench: PostgreSQL, {volumes()}; {runs} runs each, {os.cpu_count()} CPUs")
    print(f"{'target':<46}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}  (target p95 <= {TARGET_MS:.0f} ms)")
    asyncio.run(time_domain(runs, args.explain))
    time_http(runs)
    print(f"Load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
