"""Low-threshold guidance (service 21) at /guidance: anyone, without signing in, browses and searches the
knowledge base by topic in eight languages, listens to an article, reads the articles already opened
without the internet, and asks a question anonymously.

The pages hold no personal data: the service worker (/guidance/sw.js, scope /guidance/) keeps copies of
the topic and article pages read, never a search, a form answer or anything outside /guidance/. The
search is a GET (public content, anonymous visitors); its words are never logged (app/asgi.py redacts
/guidance/search?… from the access log) and never stored.

Questions: CSRF-protected like every form, a honeypot field for robots (they get the thank-you page and
nothing is stored), QUESTIONS_PER_ADDRESS per address within the sign-in window, counted under a keyed
hash of the address (then 429 with Retry-After); the text is kept on every error. Which organisation's
articles are shown and who receives the questions: app.domain.knowledge (the deployment's organisation).
"""

from __future__ import annotations

import hashlib
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Request, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.knowledge import ArticleTopic, KnowledgeArticle
from app.domain import knowledge, knowledge_questions, knowledge_search
from app.domain.forms import FormErrors
from app.routes.me import pwa as me_pwa
from app.settings import Settings
from app.web import CONTENT_SECURITY_POLICY, client_address, form_of, page

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "public" / "guidance"
OFFLINE_PAGES = TEMPLATES.parents[1] / "me" / "_offline_pages.html"  # the offline page's list of copies
SENT = "/guidance/questions/sent"


def _common(**context: Any) -> dict[str, Any]:
    return {
        "topics": list(ArticleTopic),
        "languages": knowledge.LANGUAGES,
        "honeypot": knowledge_questions.HONEYPOT,
        **context,
    }


def _closed() -> Template:
    return page("public/guidance/closed.html", status_code=404)


async def _organisation(db: AsyncSession, settings: Settings) -> uuid.UUID | None:
    return await knowledge.public_organisation(db, settings)


def _ask_defaults(topic: ArticleTopic | None = None, article: str = "") -> dict[str, Any]:
    return {"language": i18n.get_locale(), "topic": topic.value if topic else "", "article": article}


@get("/")
async def index(db_session: AsyncSession, settings: Settings) -> Template:
    organisation = await _organisation(db_session, settings)
    if organisation is None:
        return _closed()
    counts = await knowledge.topic_counts(db_session, organisation, i18n.get_locale())
    return Template("public/guidance/index.html", context=_common(counts=counts))


@get("/topics/{topic:str}")
async def topic_page(db_session: AsyncSession, settings: Settings, topic: str) -> Template:
    organisation = await _organisation(db_session, settings)
    if organisation is None:
        return _closed()
    chosen = knowledge.topic_from(topic)
    if chosen is None:
        raise NotFoundException
    docs = await knowledge.topic_articles(db_session, organisation, i18n.get_locale(), chosen)
    return Template(
        "public/guidance/topic.html",
        context=_common(topic=chosen, docs=docs, form=_ask_defaults(chosen), errors=FormErrors()),
    )


async def _article_page(db: AsyncSession, settings: Settings, slug: str, language: str | None) -> Template:
    organisation = await _organisation(db, settings)
    if organisation is None:
        return _closed()
    found = await knowledge.published(db, organisation, slug)
    if found is None:
        raise NotFoundException
    article, version = found
    locale = i18n.get_locale()
    shown = knowledge.shown_text(version.content, language or locale, exact=language is not None)
    if shown is None:
        raise NotFoundException
    texts = version.content.get("texts") or {}
    related = [
        d
        for d in await knowledge.topic_articles(db, organisation, locale, article.topic)
        if d.article_id != article.id
    ]
    return Template(
        "public/guidance/article.html",
        context=_common(
            article=article,
            shown=shown,
            asked_for=language,
            other_languages=[
                code for code in knowledge.LANGUAGES if code in texts and code != shown.language
            ],
            related=related,
            form=_ask_defaults(article.topic, article.slug),
            errors=FormErrors(),
        ),
    )


@get("/articles/{slug:str}")
async def article_page(db_session: AsyncSession, settings: Settings, slug: str) -> Template:
    """The article in the visitor's language, else in its source language (marked as such)."""
    return await _article_page(db_session, settings, slug, None)


@get("/articles/{slug:str}/{language:str}")
async def article_in(db_session: AsyncSession, settings: Settings, slug: str, language: str) -> Template:
    """The article's text in one language (e.g. the original, from a note on an older translation)."""
    if language not in knowledge.LANGUAGES:
        raise NotFoundException
    return await _article_page(db_session, settings, slug, language)


@get("/search")
async def search(request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings) -> Template:
    organisation = await _organisation(db_session, settings)
    if organisation is None:
        return _closed()
    query = str(request.query_params.get("q") or "")[: knowledge_search.MAX_QUERY]
    hits = await knowledge_search.search(db_session, organisation, i18n.get_locale(), query)
    return Template(
        "public/guidance/search.html",
        context=_common(q=query, searched=bool(query.strip()), hits=hits),
    )


def _ask_page(
    form: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    *,
    too_many: str | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        "public/guidance/ask.html",
        context=_common(
            form=form, errors=errors, too_many=too_many, topic=knowledge.topic_from(form.get("topic"))
        ),
        status_code=status,
        headers=headers,
    )


@get("/ask")
async def ask_page(request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings) -> Template:
    if await _organisation(db_session, settings) is None:
        return _closed()
    topic = knowledge.topic_from(str(request.query_params.get("topic") or ""))
    return _ask_page(_ask_defaults(topic), FormErrors())


async def _asked_from(db: AsyncSession, organisation: uuid.UUID, slug: Any) -> KnowledgeArticle | None:
    found = await knowledge.published(db, organisation, str(slug)) if slug else None
    return found[0] if found else None


@post("/questions")
async def send_question(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> Template | Redirect:
    organisation = await _organisation(db_session, settings)
    if organisation is None:
        return _closed()
    form = await form_of(request)
    key = knowledge_questions.question_key(settings, client_address(request))
    if wait := await knowledge_questions.retry_after(db_session, settings, key):
        return _ask_page(
            form,
            FormErrors(),
            429,
            too_many=knowledge_questions.too_many_message(wait),
            headers={"Retry-After": str(wait)},
        )
    if knowledge_questions.is_robot(form):
        await knowledge_questions.count_question(db_session, settings, key)
        return Redirect(SENT, status_code=303)
    parsed = knowledge_questions.read_question_form(form, i18n.get_locale())
    if parsed.errors:
        return _ask_page(form, parsed.errors, 422)
    article = await _asked_from(db_session, organisation, form.get("article"))
    await knowledge_questions.ask(db_session, organisation, parsed, article)
    await knowledge_questions.count_question(db_session, settings, key)
    return Redirect(SENT, status_code=303)


@get("/questions/sent", sync_to_thread=False)
def question_sent() -> Template:
    return page("public/guidance/question_sent.html")


# --- offline reading ------------------------------------------------------------------------------


def precache_urls() -> list[str]:
    """What the guidance worker keeps from its installation on: the offline page and the same static files
    as the migrant app's worker (the pages use the same CSS and scripts), at their versioned addresses."""
    return ["/guidance/offline", *(url for url in me_pwa.precache_urls() if url.startswith("/static/"))]


@lru_cache(maxsize=8)
def _version(precache: tuple[str, ...], *templates: bytes) -> str:
    digest = hashlib.sha256("\n".join(precache).encode())
    for content in templates:
        digest.update(b"\0" + content)
    return digest.hexdigest()[:16]


def worker_version() -> str:
    """Changes with any precached static file (their addresses carry content hashes), the worker or the
    offline page, so browsers install the new worker."""
    return _version(
        tuple(precache_urls()),
        *(path.read_bytes() for path in (TEMPLATES / "sw.js", TEMPLATES / "offline.html", OFFLINE_PAGES)),
    )


@get("/sw.js", sync_to_thread=False)
def service_worker() -> Template:
    config = {
        "version": worker_version(),
        "precache": precache_urls(),
        "offline": "/guidance/offline",
        "csp": CONTENT_SECURITY_POLICY,
    }
    return Template(
        template_name="public/guidance/sw.js", context={"config": config}, media_type="text/javascript"
    )


@get("/offline", sync_to_thread=False)
def offline() -> Template:
    """Shown by the worker for a page it has no copy of; me.js lists the copies it has."""
    return page("public/guidance/offline.html")


router = Router(
    path="/guidance",
    include_in_schema=False,
    route_handlers=[
        index,
        topic_page,
        article_page,
        article_in,
        search,
        ask_page,
        send_question,
        question_sent,
        service_worker,
        offline,
    ],
)
