"""Stored XSS (issue 8): script payloads in the free-text fields of every area are rendered inert.

The demo data set (`kotopolku demo`: clients with assessments, plans, messages, appointments, tasks, county
cooperation and notes, contracts, costs, feedback, the knowledge base, guidance, outreach, referrals and
arrivals) is loaded into the test database, and every column in FIELDS is overwritten in every row with
a payload numbered after the field — `<script>`, an attribute break-out `"'><img onerror>`, `<svg onload>`,
`javascript:` links in HTML and Markdown, a Markdown link that tries to break out of its href, `<iframe
srcdoc>`, `<base>` and `<style>` — cut to the column's length. Then Chromium walks the pages each kind of
user reaches from their start page (officers, a manager, an administrator, a county team member, an
interpreter, an employment-authority officer, a migrant in the app, an anonymous visitor), and on each:

- no element carrying the payloads' `data-x` attribute exists (markup would have been parsed, not shown),
- no `javascript:`/`data:`/`vbscript:` address sits in an href, src, action or formaction, no srcdoc,
- the payloads' `__xss()` never ran (it reports to Python), no dialog opened,
- no Content-Security-Policy violation was reported (`securitypolicyviolation` events), no page error,
- no server error.

The control: every field's number must be found in some page's HTML (escaped), so a field that is not
shown anywhere fails the test instead of passing unseen; FIELDS says where each one is rendered.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import Engine, String, Table, UniqueConstraint, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.auth import StaffSession
from app.db.client import Client, HealthInformation
from app.db.client_app import ClientSession
from app.db.knowledge import GuidanceQuestion, QuestionStatus
from app.db.models import Base
from app.db.organisation import Staff
from app.db.plan import IntegrationPlan, PlanService, PlanServiceKind
from app.domain import auth
from app.domain import text as text_folding
from app.settings import ROOT, Settings
from tests.browser.conftest import INIT_SCRIPT, LiveServer, wait_for_htmx

pytestmark = pytest.mark.browser

# (table, column, where the app shows it). Every row of the table gets the field's payload.
FIELDS: list[tuple[str, str, str]] = [
    # the client register
    ("client", "first_names", "client page, search results, lists, /me"),
    ("client", "last_name", "client page, search results, lists, /me"),
    ("client", "native_name", "client page, search results"),
    ("client", "street_address", "client page, /me/data"),
    ("client", "post_office", "client page, /me/data"),
    ("client", "municipality_of_residence", "client page"),
    ("client", "end_note", "client page"),
    ("consent", "note", "client page: consents"),
    ("health_information", "text", "client page: health"),
    ("health_information", "source", "client page: health"),
    ("client_access_grant", "reason", "subject access, /me/data"),
    # staff and organisations
    ("staff", "full_name", "header, admin's staff list, calendar, messages"),
    # the statutory path
    ("assessment", "life_situation", "assessment page"),
    ("assessment", "strengths", "assessment page"),
    ("assessment", "service_needs", "assessment page"),
    ("assessment", "service_goals", "assessment page"),
    ("assessment", "study_and_work_skills", "assessment page"),
    ("assessment", "literacy_note", "assessment page"),
    ("assessment", "language_note", "assessment page"),
    ("assessment", "other_participants", "assessment page"),
    ("assessment", "other_needs_and_goals", "assessment page"),
    ("assessment", "county_social_health", "assessment page"),
    ("assessment_education", "field", "assessment page"),
    ("assessment_work", "occupation", "assessment page"),
    ("integration_plan", "language_studies", "plan page, /me/plan"),
    ("integration_plan", "guidance", "plan page, /me/plan"),
    ("integration_plan", "rationale", "plan page"),
    ("integration_plan", "duties_note", "plan page, /me/plan"),
    ("plan_goal", "text", "plan page, /me/plan"),
    ("plan_service", "name", "plan page (services outside the programme), /me/plan"),
    ("plan_service", "note", "plan page"),
    ("plan_review", "progress", "plan page: reviews"),
    ("plan_review", "obstacles", "plan page: reviews"),
    ("plan_review", "participants", "plan page: reviews"),
    ("plan_approval", "witness", "plan page"),
    # contact
    ("message_thread", "subject", "messages, /me/messages"),
    ("message", "body", "message thread, /me/messages"),
    ("message_translation", "body", "message thread"),
    ("appointment", "title", "calendar, client page, /me/appointments"),
    ("appointment", "street_address", "appointment, /me/appointments"),
    ("appointment", "room", "appointment, /me/appointments"),
    ("appointment", "what_to_bring", "appointment, /me/appointments"),
    ("task", "title", "worklist, tasks"),
    ("task", "note", "tasks"),
    # the county
    ("county_cooperation", "reason", "cooperation pages"),
    ("county_cooperation", "contact_details", "cooperation pages"),
    ("county_note", "text", "county notes"),
    # money, contracts and quality
    ("contract", "subject", "contracts"),
    ("contract", "provider_name", "contracts"),
    ("contract", "provider_contact", "contract page"),
    ("contract", "notes", "contract page"),
    ("cost", "description", "costs"),
    ("feedback", "comment", "subject access, /me/data (managers see no comments)"),
    ("feedback_answer", "text", "quality: survey answers"),
    ("survey", "name", "quality: surveys"),
    ("retention_hold", "reason", "retention"),
    ("programme_service_text", "name", "integration programme, plan"),
    ("programme_service_text", "description", "integration programme"),
    ("programme_service", "provider_name", "integration programme"),
    ("programme_service", "place", "integration programme"),
    # the knowledge base and public guidance
    ("knowledge_article_text", "title", "articles (officer), /guidance"),
    ("knowledge_article_text", "summary", "articles, /guidance"),
    ("knowledge_article_text", "body", "article page (Markdown), /guidance article"),
    ("knowledge_search_doc", "title", "/guidance/search results"),
    ("knowledge_search_doc", "text", "/guidance/search snippets"),
    ("guidance_question", "text", "articles: questions"),
    ("guidance_question", "answer", "articles: a question's page"),
    # issue 7: guidance visits and plans, outreach, referrals, arrivals
    ("guidance_topic", "name_fi", "guidance visits"),
    ("guidance_visit", "note", "guidance visits"),
    ("guidance_plan", "note", "initial guidance plans"),
    ("guidance_task", "description", "initial guidance plans"),
    ("outreach_item", "first_names", "outreach"),
    ("outreach_item", "last_name", "outreach"),
    ("outreach_item", "note", "outreach"),
    ("outreach_contact", "note", "outreach"),
    ("outreach_import", "file_name", "outreach imports"),
    ("authority_referral", "first_names", "referrals"),
    ("authority_referral", "last_name", "referrals"),
    ("authority_referral", "reason", "referrals"),
    ("authority_referral", "contact_name", "referrals"),
    ("arrival", "sender", "arrivals"),
    ("arrival", "housing_address", "arrivals"),
    ("arrival", "decision_note", "arrival page, once decided"),
    ("arrival_person", "first_names", "arrivals"),
    ("arrival_person", "last_name", "arrivals"),
    ("arrival_person", "special_needs", "arrivals"),
    ("arrival_checklist_item", "note", "arrivals"),
    ("arrival_consultation", "question", "arrivals"),
]

# Who walks the app, from where, and how far (pages; at most PER_SHAPE pages of one address shape).
WALKERS = {
    "aino.virtanen@esimerkkila.fi": ("/officer/", 170),  # integration officer (12 client-page sections)
    "leena.laine@esimerkkila.fi": ("/officer/", 90),  # manager and officer
    "admin@esimerkkila.fi": ("/officer/", 30),  # administrator
    "sari.niemi@hyvinvointialue.example.fi": ("/officer/", 30),  # county team member
    "hassan.ali@sana.example.fi": ("/officer/", 15),  # interpreter
    "jari.makinen@te.example.fi": ("/officer/", 15),  # employment authority officer
}
PER_SHAPE = 2
SKIP = re.compile(
    r"/sign-out|/sign-in|\.(csv|ics|json|pdf|xlsx|webmanifest)(\?|$)|/attachments/"
    r"|/static/|/speech|[?&]lang="
)
LANGUAGE = re.compile(r"/texts/[a-z]{2,3}\b")  # one translation page of a text is enough
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

XSS_INIT = """
(() => {
  window.__xss = (n) => { window.__kpXss(String(n)); };
})();
"""
CHECK = """
() => {
  const bad = /^\\s*(javascript|data|vbscript):/i;
  const injected = [...document.querySelectorAll("[data-x], base, iframe, object, embed")]
    .map((e) => e.outerHTML.slice(0, 160));
  const addresses = [];
  for (const e of document.querySelectorAll("[href], [action], [formaction], [srcdoc], iframe[src]")) {
    for (const name of ["href", "action", "formaction", "src"]) {
      const value = e.getAttribute(name);
      if (value && bad.test(value)) addresses.push(`${e.tagName} ${name}=${value.slice(0, 80)}`);
    }
    if (e.hasAttribute("srcdoc")) addresses.push(`${e.tagName} srcdoc`);
  }
  return { injected, addresses };
}
"""


def marker(number: int) -> str:
    return f"XSS{number:03d}"


def payload(number: int, length: int | None) -> str:
    """The field's marker and as many attack pieces as its column holds."""
    n = number
    pieces = [
        f"\"'><img data-x src=x onerror=__xss({n})>",
        f"<script data-x>__xss({n})</script>",
        f"<svg data-x onload=__xss({n})>",
        f"[a](javascript:__xss({n}))",
        '[b](/x"data-x="1)',  # a Markdown link that tries to leave its href
        f"<a data-x href=javascript:__xss({n})>c</a>",
        f"<iframe data-x srcdoc='<script>parent.__xss({n})</script>'></iframe>",
        "<base data-x href=//evil.example/><style data-x>*{color:red}</style>",
        f"**<b data-x>{n}</b>**",
    ]
    out = marker(number)
    for piece in pieces:
        if length is None or len(out) + len(piece) <= length:
            out += piece
    return out


def _unique(table: Table, column: str) -> bool:
    if table.columns[column].unique:
        return True
    constraints = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    indexes = [i for i in table.indexes if i.unique]
    return any(column in [c.name for c in group.columns] for group in (*constraints, *indexes))


def inject(engine: Engine) -> dict[str, int]:
    """Every FIELDS column of every row gets its payload; returns the rows changed per field."""
    changed: dict[str, int] = {}
    with engine.begin() as conn:
        for number, (table_name, column, _where) in enumerate(FIELDS):
            table = Base.metadata.tables[table_name]
            kind = table.columns[column].type
            value = payload(number, kind.length if isinstance(kind, String) else None)
            if _unique(table, column):
                keys = list(table.primary_key.columns)
                rows = conn.execute(select(*keys)).all()
                for index, row in enumerate(rows):
                    suffix = f"#{index}"
                    condition = [key == row[i] for i, key in enumerate(keys)]
                    conn.execute(update(table).where(*condition).values({column: value[: 200 - 4] + suffix}))
                changed[f"{table_name}.{column}"] = len(rows)
            else:
                try:  # every row; where a CHECK allows the text only in some states, the rows that have it
                    with conn.begin_nested():
                        result = conn.execute(update(table).values({column: value}))
                except IntegrityError:
                    result = conn.execute(
                        update(table).where(table.columns[column].is_not(None)).values({column: value})
                    )
                changed[f"{table_name}.{column}"] = result.rowcount
        # Search finds the clients by their (now hostile) names.
        folded = text_folding.search_text(payload(0, 200), payload(1, 200), payload(2, 400))
        conn.execute(update(Client.__table__).values(search_text=folded[:1000]))
    return changed


def load_demo(database_url: str, settings: Settings) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.secret_key,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    seen_markers: set[str] = field(default_factory=set)
    pages: Counter[str] = field(default_factory=Counter)  # walker → pages opened

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")


def new_context(browser: Browser, base_url: str, findings: Findings, who: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, locale="fi-FI", timezone_id="Europe/Helsinki")
    context.set_default_timeout(10000)
    context.expose_binding(
        "__kpReportCsp", lambda _source, report: findings.add(who, f"CSP violation {report}")
    )
    context.expose_binding(
        "__kpXss", lambda source, n: findings.add(who, f"__xss({n}) ran on {source['page'].url}")
    )
    context.add_init_script(INIT_SCRIPT)
    context.add_init_script(XSS_INIT)
    return context


def watch(page: Page, findings: Findings, who: str) -> None:
    def on_dialog(dialog: Any) -> None:
        findings.add(who, f"dialog {dialog.type} {dialog.message!r} on {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: findings.add(who, f"page error {error} on {page.url}"))
    page.on(
        "console",
        lambda message: (
            findings.add(who, f"console: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )


def inspect(page: Page, findings: Findings, who: str) -> None:
    wait_for_htmx(page)
    result = page.evaluate(CHECK)
    for element in result["injected"]:
        findings.add(who, f"injected element on {page.url}: {element}")
    for address in result["addresses"]:
        findings.add(who, f"script address on {page.url}: {address}")
    html = page.content()
    findings.seen_markers.update(re.findall(r"XSS\d{3}", html))


def shape(url: str) -> str:
    parts = urlsplit(url)
    # The client page's ?open= names the section it comes with: a page of its own shape per section.
    keys = sorted(
        pair if pair.startswith("open=") else pair.split("=", 1)[0] for pair in parts.query.split("&") if pair
    )
    path = LANGUAGE.sub("/texts/{language}", UUID.sub("{id}", parts.path))
    return path + ("?" + "&".join(keys) if keys else "")


def walk(
    page: Page,
    base_url: str,
    starts: Iterable[str],
    prefixes: tuple[str, ...],
    budget: int,
    findings: Findings,
    who: str,
    check: Callable[[Page, Findings, str], None] | None = None,
) -> None:
    """Breadth-first over the links of the pages, at most PER_SHAPE pages of one address shape; each page
    is checked by `check` (by default: for injected script, `inspect`)."""
    check = check or inspect
    queue = deque(starts)
    visited: set[str] = set()
    shapes: Counter[str] = Counter()
    while queue and findings.pages[who] < budget:
        url = queue.popleft()
        if url in visited or shapes[shape(url)] >= PER_SHAPE:
            continue
        visited.add(url)
        shapes[shape(url)] += 1
        try:
            response = page.goto(url)
        except PlaywrightError as error:  # a file to download (the form of a page, not its address)
            if "Download is starting" not in str(error):
                raise
            continue
        findings.pages[who] += 1
        if response is not None and response.status >= 500:
            findings.add(who, f"server error {response.status} on {url}")
            continue
        check(page, findings, who)
        hrefs = page.eval_on_selector_all(
            "a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            target = urljoin(page.url, href.split("#", 1)[0])
            parts = urlsplit(target)
            if not target.startswith(base_url) or not parts.path.startswith(prefixes) or SKIP.search(target):
                continue
            relative = parts.path + (f"?{parts.query}" if parts.query else "")
            if relative not in visited:
                queue.append(relative)


def staff_cookie(db: Session, email: str, base_url: str) -> dict[str, Any]:
    staff = db.scalar(select(Staff).where(Staff.email == email))
    assert staff is not None, email
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.add(StaffSession(token_hash=auth.token_hash(token), staff_id=staff.id, created_at=now,
                        last_seen_at=now, expires_at=now + timedelta(hours=8), method="password"))  # fmt: skip
    db.commit()
    return {"name": "kp_session", "value": token, "url": base_url}


def client_cookie(db: Session, client_id: Any, base_url: str) -> dict[str, Any]:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.add(ClientSession(token_hash=auth.token_hash(token), client_id=client_id, created_at=now,
                         last_seen_at=now, expires_at=now + timedelta(days=1)))  # fmt: skip
    db.commit()
    return {"name": "kp_me", "value": token, "url": base_url}


def pages_of_rare_rows(db: Session) -> list[str]:
    """Pages the walk might not reach first, for fields shown only there."""
    tables = Base.metadata.tables
    service, arrival, grant = tables["plan_service"], tables["arrival"], tables["client_access_grant"]
    feedback, question, review = tables["feedback"], tables["guidance_question"], tables["plan_review"]
    contact = tables["outreach_contact"]
    plan = db.scalar(select(service.c.plan_id).where(service.c.programme_service_id.is_(None)).limit(1))
    reviewed = db.scalar(select(review.c.plan_id).limit(1))
    decided = db.scalar(select(arrival.c.id).where(arrival.c.decision_on.is_not(None)).limit(1))
    granted = db.scalar(select(grant.c.client_id).limit(1))
    gave_feedback = db.scalar(select(feedback.c.client_id).where(feedback.c.client_id.is_not(None)).limit(1))
    contacted = db.scalar(select(contact.c.item_id).limit(1))
    asked = db.scalar(select(question.c.id).where(question.c.status == QuestionStatus.ANSWERED).limit(1))
    return [
        f"/officer/plans/{plan}",
        f"/officer/plans/{reviewed}",
        f"/officer/arrivals/{decided}",
        f"/officer/clients/{granted}/subject-access",
        f"/officer/clients/{gave_feedback}/subject-access",
        f"/officer/articles/questions/{asked}",
        f"/officer/outreach/{contacted}",
    ]


def richest_client(db: Session) -> Any:
    """The demo client with the most of the path: plans, assessments, threads, appointments."""
    counts = Counter[Any]()
    for table in ("integration_plan", "assessment", "message_thread", "appointment_client", "task"):
        column = Base.metadata.tables[table].c.client_id
        rows = db.execute(select(column, func.count()).group_by(column)).all()
        for client_id, number in rows:
            counts[client_id] += number
    return counts.most_common(1)[0][0]


@pytest.fixture
def hostile(
    base_url: str, database_url: str, settings: Settings, engine: Engine, db: Session
) -> Iterator[Any]:
    load_demo(database_url, settings)
    person = richest_client(db)
    officer = db.scalar(select(Staff.id).where(Staff.email == "aino.virtanen@esimerkkila.fi"))
    # What the demo has none of: health data, a service outside the programme, an answered question.
    db.add(HealthInformation(client_id=person, text="x", source="x", recorded_by_id=officer))
    plan = db.scalar(select(IntegrationPlan.id).where(IntegrationPlan.client_id == person).limit(1))
    db.add(PlanService(plan_id=plan, position=99, kind=PlanServiceKind.NGO, name="x"))
    question = db.scalars(select(GuidanceQuestion).limit(1)).one()
    question.status, question.answer, question.answered_at = QuestionStatus.ANSWERED, "x", datetime.now(UTC)
    db.commit()
    changed = inject(engine)
    empty = sorted(name for name, rows in changed.items() if rows == 0)
    assert not empty, f"the demo data has no rows for: {empty}"
    return person


def test_payloads_in_every_free_text_field_stay_inert_on_every_page(
    browser: Browser, base_url: str, hostile: Any, db: Session, live_server: LiveServer
) -> None:
    findings = Findings()
    person = str(hostile)
    search_word = "xss"
    for email, (start, budget) in WALKERS.items():
        context = new_context(browser, base_url, findings, email)
        context.add_cookies([staff_cookie(db, email, base_url)])
        page = context.new_page()
        watch(page, findings, email)
        starts = [start]
        if email == "aino.virtanen@esimerkkila.fi":
            # The client page's sections load when opened: its ?open= links bring each with the page.
            starts = [f"/officer/clients/{person}", *pages_of_rare_rows(db), start]
            # The live search (POST, htmx) lists the clients by their names.
            page.goto("/officer/clients")
            page.locator("input[name=q]").fill(search_word)
            page.locator("input[name=q]").press("Enter")
            page.wait_for_timeout(500)
            inspect(page, findings, email)
        walk(page, base_url, starts, ("/officer",), budget, findings, email)
        context.close()

    # The migrant app, as the richest client.
    context = new_context(browser, base_url, findings, "client")
    context.add_cookies([client_cookie(db, hostile, base_url)])
    page = context.new_page()
    watch(page, findings, "client")
    walk(page, base_url, ["/me/"], ("/me",), 40, findings, "client")
    context.close()

    # Anyone: the public guidance, an article, a search, feedback.
    context = new_context(browser, base_url, findings, "visitor")
    page = context.new_page()
    watch(page, findings, "visitor")
    walk(
        page,
        base_url,
        ["/", "/guidance/", "/guidance/search?q=kurssi"],
        ("/guidance", "/feedback", "/accessibility"),
        40,
        findings,
        "visitor",
    )
    context.close()

    unseen = [
        (marker(n), table, column)
        for n, (table, column, _w) in enumerate(FIELDS)
        if marker(n) not in findings.seen_markers
    ]
    assert not findings.problems, "\n".join(findings.problems[:50])
    assert not unseen, f"fields never shown on a visited page: {unseen}"
    assert live_server.process.poll() is None
