"""What a synthetic register's clients have done, for the benchmarks at scale (issue 8; PostgreSQL only):
first permits and responsible officers, assessments and plans with goals and services, appointments,
message threads, audit events that form valid hash chains, and a knowledge base of copies of the starter
articles.

The issue's data set is `Volumes.full(100_000)`: 60 000 plans, 1 000 000 appointments, 300 000
messages, 5 000 000 audit events and 500 articles. Set-based SQL on the server (INSERT … SELECT
generate_series) makes the plans, appointments and messages; the articles are published as an editor
publishes them; the audit events are hashed here, chain by chain exactly as app.domain.audit
does it, and COPied in (asyncpg's binary COPY), with the table's secondary indexes dropped during the load
and rebuilt after it. Every part counts what the organisation (the audit log: the database) holds already
and adds only what is missing, so a run that stopped can be repeated; each part is one transaction.

Test data: nothing here is audited, and it is never run against a real register.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.base import TextOrigin
from app.db.knowledge import ArticleStatus, KnowledgeArticle, KnowledgeArticleText
from app.domain import knowledge
from app.domain.audit import GENESIS_HASH
from app.domain.starter_articles import SOURCE_LANGUAGE, seed_starter_articles, starter_articles
from app.domain.synthetic import copy_records, is_postgresql

AUDIT_CHUNK = 50_000  # audit events hashed and copied at a time
AUDIT_YEARS = 3  # the audit events are spread evenly over this many years up to now
APPOINTMENT_DAYS_PAST, APPOINTMENT_DAYS_AHEAD = 730, 60
MESSAGES_PER_THREAD = 5
BULK_INDEX_ROWS = 200_000  # from this many rows a load drops the secondary indexes and rebuilds them

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Volumes:
    """Totals to reach in the organisation (the audit log: in the whole database)."""

    plans: int = 0
    appointments: int = 0
    messages: int = 0
    audit_events: int = 0
    articles: int = 0  # published knowledge-base articles, each in the eight languages

    @classmethod
    def full(cls, clients: int) -> Volumes:
        """Issue 8's proportions: 100 000 clients, 1 000 000 appointments, 5 000 000 audit events; and a
        knowledge base of 500 articles (the ten starter articles and copies of them)."""
        return cls(plans=clients * 6 // 10, appointments=clients * 10, messages=clients * 3,
                   audit_events=clients * 50, articles=max(10, clients // 200))  # fmt: skip

    def any(self) -> bool:
        return any((self.plans, self.appointments, self.messages, self.audit_events, self.articles))


@dataclass(frozen=True)
class Register:
    """What every part needs to know about the organisation."""

    organisation_id: uuid.UUID
    officers: list[uuid.UUID]  # its integration officers
    staff: list[tuple[uuid.UUID, str]]  # everyone with a role there: id and roles as the audit log has them
    programme: list[uuid.UUID]  # its integration programme's services
    clients: int


async def register(db: AsyncSession, organisation_id: uuid.UUID) -> Register:
    officers = await db.scalars(
        text(
            "SELECT s.id FROM staff s JOIN staff_role r ON r.staff_id = s.id "
            "WHERE s.organisation_id = :org AND r.role = 'integration_officer' ORDER BY s.email"
        ),
        {"org": organisation_id},
    )
    staff = await db.execute(
        text(
            "SELECT s.id, string_agg(r.role, ',' ORDER BY r.role) FROM staff s "
            "JOIN staff_role r ON r.staff_id = s.id WHERE s.organisation_id = :org GROUP BY s.id ORDER BY s.id"
        ),
        {"org": organisation_id},
    )
    programme = await db.scalars(
        text("SELECT id FROM programme_service WHERE organisation_id = :org ORDER BY id"),
        {"org": organisation_id},
    )
    clients = await db.scalar(
        text("SELECT count(*) FROM client WHERE organisation_id = :org"), {"org": organisation_id}
    )
    found = Register(
        organisation_id, list(officers), [(r[0], r[1]) for r in staff], list(programme), int(clients or 0)
    )
    if not found.officers:
        raise ValueError("the organisation has no integration officers (run `kotopolku demo` first)")
    return found


Part = Callable[[AsyncSession, Register, int, Progress], Awaitable[int]]


async def run(
    session: async_sessionmaker[AsyncSession],
    organisation_id: uuid.UUID,
    volumes: Volumes,
    progress: Progress,
) -> dict[str, int]:
    """Every part in its own transaction; the rows each added."""
    parts: list[tuple[str, int, Part]] = [
        ("plans", volumes.plans, add_plans),
        ("appointments", volumes.appointments, add_appointments),
        ("messages", volumes.messages, add_messages),
        ("audit events", volumes.audit_events, add_audit_events),
        ("knowledge-base articles", volumes.articles, add_articles),
    ]
    added: dict[str, int] = {}
    for name, target, part in parts:
        if not target:
            continue
        async with session() as db, db.begin():
            if not is_postgresql(db):
                raise ValueError(
                    "appointments, plans, messages and audit events are generated on PostgreSQL only"
                )
            await db.execute(text("SET LOCAL synchronous_commit = off"))
            await db.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            added[name] = await part(db, await register(db, organisation_id), target, progress)
    return added


def _params(reg: Register, **more: Any) -> dict[str, Any]:
    return {"org": reg.organisation_id, "officers": reg.officers, "n_officers": len(reg.officers), **more}


async def _count(db: AsyncSession, statement: str, reg: Register) -> int:
    return int(await db.scalar(text(statement), {"org": reg.organisation_id}) or 0)


# --- the path: first permits, officers, assessments, plans ----------------------------------------

GOALS = (
    ("employment_goal", "Työllistyminen omaa osaamista vastaavaan työhön."),
    ("upper_secondary_education", "Ammatillisen tutkinnon suorittaminen."),
    ("working_life_readiness", "Työelämätaitojen vahvistaminen ja työkokeilu."),
    ("entrepreneurship", "Oman yrityksen perustaminen."),
    ("other_goal", "Arjen asioiden hoitaminen itsenäisesti."),
)
PERIOD_GOAL = "Suomen kielen taito tasolle B1.1 suullisesti ja kirjallisesti."

PLAN_SQL = [
    # First permits and responsible officers, where the register has none (the deadlines panels).
    """
    UPDATE client SET first_permit_date = known_on - floor(random() * 300)::int,
      responsible_officer_id = (CAST(:officers AS uuid[]))[1 + floor(random() * CAST(:n_officers AS int))::int]
    WHERE organisation_id = CAST(:org AS uuid) AND first_permit_date IS NULL AND responsible_officer_id IS NULL
    """,
    """
    CREATE TEMP TABLE syn_plan ON COMMIT DROP AS
    SELECT c.id AS client_id, gen_random_uuid() AS assessment_id, gen_random_uuid() AS plan_id,
      coalesce(c.responsible_officer_id, (CAST(:officers AS uuid[]))[1]) AS officer_id,
      c.known_on + floor(random() * 20)::int AS assessed_on
    FROM client c
    WHERE c.organisation_id = CAST(:org AS uuid) AND c.status = 'active' AND c.known_on < current_date - 30
      AND NOT EXISTS (SELECT 1 FROM integration_plan p WHERE p.client_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM assessment a WHERE a.client_id = c.id)
    ORDER BY random() LIMIT CAST(:count AS int)
    """,
    """
    INSERT INTO assessment (id, client_id, organisation_id, number, status, assessed_on, created_by_id,
      officer_id, county_takes_part, data_sources, told_service_goals, told_planning, told_rights_and_duties,
      told_data_processing, version, plan_need, planned_plan_date, completed_at, completed_by_id,
      literacy, service_needs, strengths)
    SELECT assessment_id, client_id, CAST(:org AS uuid), 1, 'completed', assessed_on, officer_id, officer_id, false,
      '["client_interview"]'::json, true, true, true, true, 1, 'plan_needed', assessed_on + 14,
      assessed_on::timestamptz, officer_id, 'literate_latin',
      'Suomen kielen opinnot ja ohjaus työelämään.', 'Työkokemus omalta alalta, motivaatio oppia kieltä.'
    FROM syn_plan
    """,
    """
    INSERT INTO integration_plan (id, client_id, organisation_id, assessment_id, number, status, officer_id,
      starts_on, ends_on, under_25_self_study, multi_sector, duties_explained, version, next_review_on,
      ended_on, end_reason, language_studies, guidance, rationale)
    SELECT p.plan_id, p.client_id, CAST(:org AS uuid), p.assessment_id, 1,
      CASE WHEN d.ends_on >= current_date THEN 'in_force' ELSE 'ended' END, p.officer_id, d.starts_on,
      d.ends_on, false, false, true, 1,
      CASE WHEN d.ends_on >= current_date THEN GREATEST(d.starts_on + 180, current_date - 20)
                                               + floor(random() * 60)::int END,
      CASE WHEN d.ends_on < current_date THEN d.ends_on END,
      CASE WHEN d.ends_on < current_date THEN 'period_ended' END,
      'Kotoutumiskoulutus, suomen kieli.', 'Ohjaus kerran kuukaudessa.',
      'Kielitaito ja työelämätaidot tukevat työllistymistä.'
    FROM syn_plan p CROSS JOIN LATERAL (
      SELECT LEAST(current_date, p.assessed_on + 10 + floor(random() * 30)::int) AS starts_on) s
    CROSS JOIN LATERAL (SELECT s.starts_on, s.starts_on + 365 AS ends_on) d
    """,
    """
    INSERT INTO plan_goal (id, plan_id, position, kind, goal_type, text, attainment)
    SELECT gen_random_uuid(), p.id, g.position, g.kind, g.goal_type, g.text,
      CASE WHEN p.status = 'ended' THEN (ARRAY['goal_achieved','goal_partly_achieved','goal_not_achieved'])
        [1 + floor(random() * 3)::int] END
    FROM syn_plan s JOIN integration_plan p ON p.id = s.plan_id
    CROSS JOIN LATERAL (
      SELECT 1 AS position, 'long_term' AS kind, (CAST(:goal_types AS text[]))[k] AS goal_type,
             (CAST(:goal_texts AS text[]))[k] AS text
      FROM (SELECT 1 + floor(random() * cardinality(CAST(:goal_types AS text[])))::int + 0 * p.number AS k) r
      UNION ALL SELECT 2, 'plan_period', 'language_skills_goal', CAST(:period_goal AS text)) g
    """,
    """
    INSERT INTO plan_service (id, plan_id, position, kind, programme_service_id, name, status, referred_on,
      started_on, completed_on, version, note)
    SELECT gen_random_uuid(), x.plan_id, x.position, x.kind, x.programme_service_id, x.name,
      CASE WHEN x.started_on > current_date THEN 'referred'
           WHEN x.completed_on <= current_date THEN 'completed' ELSE 'started' END,
      x.starts_on + 3, CASE WHEN x.started_on <= current_date THEN x.started_on END,
      CASE WHEN x.completed_on <= current_date THEN x.completed_on END, 1, NULL
    FROM (
      SELECT p.id AS plan_id, p.starts_on, g AS position,
        CASE WHEN g = 1 AND CAST(:n_programme AS int) > 0 THEN 'programme' ELSE 'ngo' END AS kind,
        CASE WHEN g = 1 AND CAST(:n_programme AS int) > 0
          THEN (CAST(:programme AS uuid[]))[1 + floor(random() * CAST(:n_programme AS int))::int] END AS programme_service_id,
        CASE WHEN g = 1 AND CAST(:n_programme AS int) > 0 THEN NULL ELSE 'Kotoutumista tukeva kerhotoiminta' END AS name,
        p.starts_on + 5 + floor(random() * 40)::int AS started_on,
        p.starts_on + 120 + floor(random() * 300)::int AS completed_on
      FROM syn_plan s JOIN integration_plan p ON p.id = s.plan_id CROSS JOIN generate_series(1, 2) g
    ) x
    """,
]


async def add_plans(db: AsyncSession, reg: Register, target: int, progress: Progress) -> int:
    have = await _count(
        db, "SELECT count(*) FROM integration_plan WHERE organisation_id = CAST(:org AS uuid)", reg
    )
    if have >= target:
        return 0
    params = _params(
        reg, count=target - have, programme=reg.programme, n_programme=len(reg.programme),
        goal_types=[g[0] for g in GOALS], goal_texts=[g[1] for g in GOALS], period_goal=PERIOD_GOAL,
    )  # fmt: skip
    for statement in PLAN_SQL:
        await db.execute(text(statement), params)
    added = await _count(db, "SELECT count(*) FROM syn_plan", reg)
    progress(f"plans: {added} added (assessments, two goals and two services each)")
    return added


# --- appointments ----------------------------------------------------------------------------------

CLIENTS_SQL = """
    CREATE TEMP TABLE syn_client ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) AS rn, id,
      coalesce(responsible_officer_id, (CAST(:officers AS uuid[]))[1]) AS officer_id,
      coalesce(mother_tongue, 'en') AS language
    FROM client WHERE organisation_id = CAST(:org AS uuid)
"""

APPOINTMENT_SQL = [
    CLIENTS_SQL,
    # Office hours (Helsinki time) on every weekday from two years back to two months ahead.
    """
    CREATE TEMP TABLE syn_appointment ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, c.id AS client_id, c.officer_id, c.language, s.starts_at,
      (ARRAY['assessment_meeting','plan_meeting','review_meeting','guidance_meeting','guidance_meeting',
             'other_meeting'])[1 + floor(random() * 6)::int] AS purpose,
      random() < 0.08 AS cancelled, random() < 0.3 AS interpreted, random() AS answer
    FROM (
      SELECT 1 + floor(random() * CAST(:clients AS int))::int AS rn,
        ((current_date - CAST(:past AS int) + floor(random() * CAST(:days AS int))::int) + time '08:00'
          + floor(random() * 16) * interval '30 minutes') AT TIME ZONE 'Europe/Helsinki' AS starts_at
      FROM generate_series(1, CAST(:count AS int))
    ) s JOIN syn_client c ON c.rn = s.rn
    """,
    """
    INSERT INTO appointment (id, organisation_id, purpose, starts_at, ends_at, status, street_address, room,
      what_to_bring, interpreter_language, interpreter_mode, interpreter_name, created_by_id, cancelled_at,
      cancel_reason, client_told_of_cancellation, version)
    SELECT id, CAST(:org AS uuid), purpose, starts_at, starts_at + interval '45 minutes',
      CASE WHEN cancelled THEN 'cancelled' ELSE 'booked' END, 'Kauppakatu 1',
      'Huone ' || (1 + abs(hashtext(officer_id::text)) % 20),
      CASE WHEN purpose = 'plan_meeting' THEN 'Oleskelulupa ja todistukset.' END,
      CASE WHEN interpreted THEN language END,
      CASE WHEN interpreted THEN (ARRAY['on_site','phone','video'])[1 + floor(random() * 3)::int] END,
      CASE WHEN interpreted THEN 'Tulkkauspalvelu Sana Oy' END, officer_id,
      CASE WHEN cancelled THEN starts_at - interval '2 days' END,
      CASE WHEN cancelled THEN 'Asiakas sairastui.' END, cancelled, 1
    FROM syn_appointment ORDER BY starts_at
    """,
    """
    INSERT INTO appointment_client (appointment_id, client_id, response, responded_at)
    SELECT id, client_id,
      CASE WHEN answer < 0.55 THEN 'confirmed' WHEN answer < 0.6 THEN 'new_time_requested'
           ELSE 'no_response' END,
      CASE WHEN answer < 0.6 THEN starts_at - interval '3 days' END
    FROM syn_appointment ORDER BY starts_at
    """,
    """
    INSERT INTO appointment_staff (appointment_id, staff_id)
    SELECT id, officer_id FROM syn_appointment ORDER BY starts_at
    """,
]


async def add_appointments(db: AsyncSession, reg: Register, target: int, progress: Progress) -> int:
    have = await _count(
        db, "SELECT count(*) FROM appointment WHERE organisation_id = CAST(:org AS uuid)", reg
    )
    if have >= target or not reg.clients:
        return 0
    params = _params(
        reg,
        count=target - have,
        clients=reg.clients,
        past=APPOINTMENT_DAYS_PAST,
        days=APPOINTMENT_DAYS_PAST + APPOINTMENT_DAYS_AHEAD,
    )
    await db.execute(text(APPOINTMENT_SQL[0]), params)
    await db.execute(text(APPOINTMENT_SQL[1]), params)
    tables = ("appointment", "appointment_client", "appointment_staff")
    async with _indexes_rebuilt_after(db, tables, target - have):
        for statement in APPOINTMENT_SQL[2:]:
            await db.execute(text(statement), params)
    progress(f"appointments: {target - have} added (one client and one officer each)")
    return target - have


# --- messages --------------------------------------------------------------------------------------

STAFF_TEXTS = (
    "Hei! Muistathan huomisen tapaamisen kello 10. Ota oleskelulupa mukaan.",
    "Kotoutumiskoulutuksen paikka on vahvistettu. Koulutus alkaa maanantaina.",
    "Kiitos viestistä. Soitan sinulle torstaina iltapäivällä.",
)
CLIENT_TEXTS = (
    "Kiitos, tulen paikalle.",
    "Voinko siirtää tapaamista? Lapsi on sairas.",
    "Milloin kielikurssi alkaa?",
)

MESSAGE_SQL = [
    CLIENTS_SQL,
    """
    CREATE TEMP TABLE syn_thread ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, c.id AS client_id, c.officer_id, c.language,
      now() - interval '700 days' + random() * interval '690 days' AS started_at
    FROM syn_client c
    WHERE NOT EXISTS (SELECT 1 FROM message_thread t WHERE t.client_id = c.id)
    ORDER BY random() LIMIT CAST(:threads AS int)
    """,
    """
    INSERT INTO message_thread (id, client_id, organisation_id, subject, last_message_at, client_read_at,
      staff_read_at, version)
    SELECT id, client_id, CAST(:org AS uuid),
      (ARRAY['Tapaaminen','Kotoutumiskoulutus','Kysymys asumisesta','Asiakirjat'])[1 + floor(random() * 4)::int],
      started_at + (CAST(:per_thread AS int) - 1) * interval '1 day', started_at + (CAST(:per_thread AS int) - 1) * interval '1 day',
      started_at + (CAST(:per_thread AS int) - 1) * interval '1 day', 1
    FROM syn_thread
    """,
    """
    INSERT INTO message (id, thread_id, author_kind, author_staff_id, language, body, created_at)
    SELECT gen_random_uuid(), t.id, CASE WHEN g % 2 = 1 THEN 'staff_author' ELSE 'client_author' END,
      CASE WHEN g % 2 = 1 THEN t.officer_id END, CASE WHEN g % 2 = 1 THEN 'fi' ELSE t.language END,
      CASE WHEN g % 2 = 1 THEN (CAST(:staff_texts AS text[]))[1 + floor(random() * 3)::int]
           ELSE (CAST(:client_texts AS text[]))[1 + floor(random() * 3)::int] END,
      t.started_at + (g - 1) * interval '1 day'
    FROM syn_thread t CROSS JOIN generate_series(1, CAST(:per_thread AS int)) g
    """,
]


async def add_messages(db: AsyncSession, reg: Register, target: int, progress: Progress) -> int:
    have = await _count(
        db,
        "SELECT count(*) FROM message m JOIN message_thread t ON t.id = m.thread_id WHERE t.organisation_id = CAST(:org AS uuid)",
        reg,
    )
    if have >= target:
        return 0
    threads = -(-(target - have) // MESSAGES_PER_THREAD)
    params = _params(
        reg, threads=threads, per_thread=MESSAGES_PER_THREAD, staff_texts=list(STAFF_TEXTS),
        client_texts=list(CLIENT_TEXTS),
    )  # fmt: skip
    for statement in MESSAGE_SQL:
        await db.execute(text(statement), params)
    made = await _count(db, "SELECT count(*) FROM syn_thread", reg)
    progress(f"messages: {made * MESSAGES_PER_THREAD} added in {made} threads")
    return made * MESSAGES_PER_THREAD


# --- audit events ----------------------------------------------------------------------------------

CLIENT_SECTIONS = [
    "appointments",
    "assessments",
    "basic",
    "consents",
    "family",
    "languages",
    "plans",
    "tasks",
]
# (weight, actor kind, action, object type, fields, whether it concerns a client)
AUDIT_KINDS: tuple[tuple[int, str, str, str | None, list[str], bool], ...] = (
    (40, "staff", "view", "client", CLIENT_SECTIONS, True),
    (8, "staff", "view", "integration_plan", ["goals", "services"], True),
    (8, "staff", "search", "client", ["duplicates"], False),
    (6, "staff", "update", "client", ["phone", "street_address"], True),
    (5, "staff", "create", "appointment", ["purpose", "starts_at"], True),
    (4, "staff", "update", "integration_plan", ["goals"], True),
    (4, "staff", "create", "message", ["body"], True),
    (3, "staff", "sign_in", "staff", ["password"], False),
    (12, "client", "view", "integration_plan", ["goals", "pauses", "plan", "services", "translations"], True),
    (6, "client", "view", "client", ["appointments", "messages", "plan"], True),
    (4, "client", "create", "message", ["body"], True),
)


def audit_digest(
    chain: int, seq: int, at: datetime, actor_id: str | None, actor_kind: str, actor_organisation_id: str | None,
    actor_roles: str, action: str, client_id: str | None, object_type: str | None, object_id: str | None,
    fields: Sequence[str], prev_hash: str,
) -> str:  # fmt: skip
    """app.domain.audit's event hash, from plain values (tests/unit/test_synthetic.py keeps them equal)."""
    body = [chain, seq, at.isoformat(), actor_id, actor_kind, actor_organisation_id, actor_roles, action,
            client_id, object_type, object_id, sorted(fields), prev_hash]  # fmt: skip
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


AUDIT_COLUMNS = ("chain", "seq", "at", "actor_id", "actor_kind", "actor_organisation_id", "actor_roles",
                 "action", "client_id", "object_type", "object_id", "fields", "prev_hash", "hash")  # fmt: skip


async def add_audit_events(db: AsyncSession, reg: Register, target: int, progress: Progress) -> int:
    """Events spread evenly over AUDIT_YEARS up to now, dealt to the chains in turn; each continues its
    chain from the head (locked meanwhile) and the heads are moved to the new ends."""
    have = int(await db.scalar(text("SELECT count(*) FROM audit_event")) or 0)
    count = target - have
    if count <= 0:
        return 0
    heads = (
        await db.execute(text("SELECT id, seq, hash FROM audit_chain_head ORDER BY id FOR UPDATE"))
    ).all()
    seqs, hashes = [int(h.seq) for h in heads], [str(h.hash or GENESIS_HASH) for h in heads]
    client_ids = [
        str(c)
        for c in await db.scalars(
            text("SELECT id FROM client WHERE organisation_id = CAST(:org AS uuid) ORDER BY id"),
            {"org": reg.organisation_id},
        )
    ]
    staff = [(str(s), roles) for s, roles in reg.staff if "integration_officer" in roles.split(",")]
    organisation = str(reg.organisation_id)
    kinds = [k for k in AUDIT_KINDS for _ in range(k[0])]
    kind_fields = {id(k): (sorted(k[4]), json.dumps(sorted(k[4]))) for k in AUDIT_KINDS}
    rng = random.Random(target)  # noqa: S311 (test data)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=365 * AUDIT_YEARS)
    step_us = (end - start) // timedelta(microseconds=1) // count
    async with _indexes_rebuilt_after(db, ("audit_event",), count):
        batch: list[tuple[Any, ...]] = []
        for i in range(count):
            c = i % len(heads)
            seqs[c] += 1
            kind = rng.choice(kinds)
            _weight, actor_kind, action, object_type, _fields, about_client = kind
            fields, fields_json = kind_fields[id(kind)]
            client_id = rng.choice(client_ids) if about_client and client_ids else None
            if actor_kind == "staff":
                actor_id, roles = rng.choice(staff)
                actor_org: str | None = organisation
            else:
                actor_id, roles, actor_org = client_id or rng.choice(client_ids), "", None
            object_id = (
                client_id if object_type == "client" else str(uuid.UUID(int=rng.getrandbits(128), version=4))
            )
            if action == "sign_in":
                object_id = actor_id
            at = start + timedelta(microseconds=i * step_us + rng.randrange(step_us or 1))
            digest = audit_digest(heads[c].id, seqs[c], at, actor_id, actor_kind, actor_org, roles, action,
                                  client_id, object_type, object_id, fields, hashes[c])  # fmt: skip
            batch.append((heads[c].id, seqs[c], at, actor_id, actor_kind, actor_org, roles, action, client_id,
                          object_type, object_id, fields_json, hashes[c], digest))  # fmt: skip
            hashes[c] = digest
            if len(batch) >= AUDIT_CHUNK:
                await copy_records(db, "audit_event", AUDIT_COLUMNS, batch)
                batch = []
                if (i + 1) % (AUDIT_CHUNK * 10) == 0:
                    progress(f"audit events: {i + 1} of {count}")
        if batch:
            await copy_records(db, "audit_event", AUDIT_COLUMNS, batch)
        for head, seq, digest in zip(heads, seqs, hashes, strict=True):
            await db.execute(
                text("UPDATE audit_chain_head SET seq = :seq, hash = :hash WHERE id = :id"),
                {"seq": seq, "hash": digest, "id": head.id},
            )
    progress(f"audit events: {count} added in {len(heads)} chains")
    return count


# --- the knowledge base ----------------------------------------------------------------------------


async def add_articles(db: AsyncSession, reg: Register, target: int, progress: Progress) -> int:
    """Copies of the starter articles (app/content/articles) under addresses of their own, published the
    way an editor publishes (versions and search documents), until the organisation has `target`."""
    await seed_starter_articles(db, reg.organisation_id)
    have = await _count(db, "SELECT count(*) FROM knowledge_article WHERE organisation_id = :org", reg)
    added, copy = 0, 1
    starters = starter_articles()
    while have + added < target:
        for starter in starters:
            if have + added >= target:
                break
            slug = f"{starter.slug}-{copy}"
            if await db.scalar(
                text("SELECT 1 FROM knowledge_article WHERE organisation_id = :org AND slug = :slug"),
                {"org": reg.organisation_id, "slug": slug},
            ):
                continue
            source = starter.texts[0]
            source_hash = knowledge.hash_of(
                {"title": source.title, "summary": source.summary, "body": source.body}
            )
            article = KnowledgeArticle(
                organisation_id=reg.organisation_id, topic=starter.topic, slug=slug, status=ArticleStatus.DRAFT,
                source_language=SOURCE_LANGUAGE,
                texts=[
                    KnowledgeArticleText(
                        language=t.language, title=t.title, summary=t.summary, body=t.body,
                        origin=TextOrigin.ORIGINAL if t.language == SOURCE_LANGUAGE else TextOrigin.TRANSLATOR,
                        source_hash=source_hash,
                    )
                    for t in starter.texts
                ],
            )  # fmt: skip
            db.add(article)
            await db.flush()
            await knowledge.publish(db, None, article, knowledge.state_token(article))
            added += 1
        copy += 1
    progress(f"knowledge-base articles: {added} added (copies of the starter articles)")
    return added


# --- bulk loads ------------------------------------------------------------------------------------


@asynccontextmanager
async def _indexes_rebuilt_after(db: AsyncSession, tables: Sequence[str], rows: int) -> AsyncIterator[None]:
    """For a large load, drop the tables' secondary indexes (not primary keys, not unique constraints)
    and build them again after it, in the same transaction: building an index once is far cheaper than
    inserting millions of random keys into it."""
    definitions: list[str] = []
    if rows >= BULK_INDEX_ROWS:
        for table in tables:
            found = await db.execute(
                text(
                    "SELECT format('DROP INDEX %I', i.indexname), i.indexdef FROM pg_indexes i "
                    "WHERE i.schemaname = current_schema() AND i.tablename = :t AND NOT EXISTS ("
                    "SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname "
                    "AND k.conrelid = CAST(:t AS regclass))"
                ),
                {"t": table},
            )
            for drop, definition in found.all():
                await db.execute(text(drop))
                definitions.append(definition)
    yield
    for definition in definitions:
        await db.execute(text(definition))
