"""The knowledge base for editors (service 21): articles of the officer's own organisation — drafts,
publishing (each publication a frozen version, the history readable), the texts in eight languages with
their origin and freshness, machine translation when a server is configured — and visitors' anonymous
questions: answer (by e-mail if the visitor asked for it; the address is then deleted), dismiss, or
turn into a draft article.

Who: KNOWLEDGE_EDIT (integration officers and managers). Another organisation's article or question is
not found (404). Bad input shows the form again with every value kept (422); a stale edit answers 409
with the input kept and the saved values shown. The articles are not client data; changes are audited
(object types knowledge_article and guidance_question).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import TextOrigin
from app.db.knowledge import ArticleStatus, ArticleTopic, GuidanceQuestion, KnowledgeArticle, QuestionStatus
from app.domain import knowledge, knowledge_questions, machine_translation, messaging
from app.domain.forms import FormErrors
from app.domain.policy import Actor, Permission
from app.domain.programme import TRANSLATION_ORIGINS
from app.i18n import N_, _
from app.settings import Settings
from app.web import form_of, requires, staff_guard

EDIT = [requires(Permission.KNOWLEDGE_EDIT)]
ARTICLE = "/articles/{article_id:uuid}"
QUESTION = "/articles/questions/{question_id:uuid}"
# Messages after a redirect (?done=…): what just happened, in words.
DONE = {
    "created": N_("The draft was saved. It is not on the public pages until you publish it."),
    "saved": N_("The changes were saved. Publish to put them on the public pages."),
    "published": N_("The article was published."),
    "nothing": N_("Nothing has changed since the published version."),
    "withdrawn": N_("The article was taken off the public pages. Its versions are kept."),
    "translation": N_("The translation was saved. Publish to put it on the public pages."),
    "machine": N_("The machine translation was saved. Check it before you publish."),
}
ARTICLE_FIELDS = {
    "topic": N_("Topic"),
    "slug": N_("Address"),
    "title": N_("Title"),
    "summary": N_("Summary"),
    "body": N_("Text"),
}


def _common(actor: Actor, **context: Any) -> dict[str, Any]:
    return {
        "actor": actor,
        "topics": ArticleTopic,
        "languages": knowledge.LANGUAGES,
        "translation_origins": TRANSLATION_ORIGINS,
        "article_fields": ARTICLE_FIELDS,
        **context,
    }


async def _article(db: AsyncSession, actor: Actor, article_id: uuid.UUID) -> KnowledgeArticle:
    article = await knowledge.load_article(db, actor.organisation_id, article_id)
    if article is None:
        raise NotFoundException
    return article


async def _question(db: AsyncSession, actor: Actor, question_id: uuid.UUID) -> GuidanceQuestion:
    question = await knowledge_questions.load_question(db, actor.organisation_id, question_id)
    if question is None:
        raise NotFoundException
    return question


def _int(value: Any) -> int | None:
    raw = str(value or "").strip()
    return int(raw) if raw.isdigit() else None


# --- the list -------------------------------------------------------------------------------------


@get("/articles", guards=EDIT)
async def articles_page(db_session: AsyncSession, actor: Actor) -> Template:
    articles = await knowledge.articles_of(db_session, actor.organisation_id)
    published = await knowledge.published_hashes(db_session, [a.id for a in articles])
    rows = [
        {
            "article": a,
            "source": knowledge.source_text(a),
            "languages": knowledge.freshness(a),
            "unpublished": a.id in published and published[a.id] != knowledge.state_token(a),
        }
        for a in articles
    ]
    open_questions = await knowledge_questions.open_question_count(db_session, actor.organisation_id)
    return Template(
        "officer/articles/list.html", context=_common(actor, rows=rows, open_questions=open_questions)
    )


# --- create and edit ------------------------------------------------------------------------------


def _form_page(actor: Actor, status: int = 200, **context: Any) -> Template:
    context.setdefault("errors", FormErrors())
    context.setdefault("conflict", None)
    context.setdefault("article", None)
    context.setdefault("question", None)
    return Template("officer/articles/form.html", context=_common(actor, **context), status_code=status)


async def _asked(db: AsyncSession, actor: Actor, value: Any) -> GuidanceQuestion | None:
    """The question a new article is made from (the form's hidden field), if it is the organisation's."""
    try:
        question_id = uuid.UUID(str(value))
    except ValueError:
        return None
    return await knowledge_questions.load_question(db, actor.organisation_id, question_id)


@get("/articles/new", guards=EDIT)
async def new_article(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    question = await _asked(db_session, actor, request.query_params.get("question"))
    form = knowledge_questions.draft_from_question(question) if question else {"source_language": "fi"}
    return _form_page(actor, form=form, question=question)


@post("/articles", guards=EDIT)
async def create_article(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data = await form_of(request)
    question = await _asked(db_session, actor, data.get("question"))
    parsed = knowledge.read_article_form(data)
    await knowledge.check_slug(db_session, actor.organisation_id, parsed)
    if parsed.errors:
        return _form_page(actor, 422, form=data, errors=parsed.errors, question=question)
    article = await knowledge.create_article(db_session, actor, parsed, question)
    return Redirect(f"/officer/articles/{article.id}?done=created", status_code=303)


@get(ARTICLE + "/edit", guards=EDIT)
async def edit_article(db_session: AsyncSession, actor: Actor, article_id: uuid.UUID) -> Template:
    article = await _article(db_session, actor, article_id)
    return _form_page(actor, form=knowledge.article_form_values(article), article=article)


@post(ARTICLE, guards=EDIT)
async def update_article(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, article_id: uuid.UUID
) -> Template | Redirect:
    article = await _article(db_session, actor, article_id)
    data = await form_of(request)
    parsed = knowledge.read_article_form(data, article)
    await knowledge.check_slug(db_session, actor.organisation_id, parsed, other_than=article.id)
    if parsed.errors:
        return _form_page(actor, 422, form=data, errors=parsed.errors, article=article)
    try:
        await knowledge.update_article(db_session, actor, article, _int(data.get("version")) or 0, parsed)
    except knowledge.StaleEdit:
        await db_session.rollback()
        fresh = await _article(db_session, actor, article_id)
        saved = knowledge.article_form_values(fresh)
        # Keep what the user typed; show what is saved now; the next save is a conscious overwrite.
        return _form_page(actor, 409, form={**data, "version": fresh.version}, article=fresh, conflict=saved)
    return Redirect(f"/officer/articles/{article.id}?done=saved", status_code=303)


# --- one article: texts, versions, publishing -----------------------------------------------------


async def _detail(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    article: KnowledgeArticle,
    status: int = 200,
    *,
    done: str | None = None,
    problem: str | None = None,
) -> Template:
    versions = await knowledge.versions_of(db, article.id)
    names = await messaging.staff_names(
        db, [v.published_by_id for v in versions] + [t.edited_by_id for t in article.texts]
    )
    latest = versions[0] if versions else None
    return Template(
        "officer/articles/detail.html",
        context=_common(
            actor,
            article=article,
            source=knowledge.source_text(article),
            languages=knowledge.freshness(article),
            versions=versions,
            names=names,
            state=knowledge.state_token(article),
            unpublished=latest is None or latest.content_hash != knowledge.state_token(article),
            mt_on=machine_translation.is_on(settings),
            render_body=knowledge.render_body,
            done=_(DONE[done]) if done in DONE else None,
            problem=problem,
        ),
        status_code=status,
    )


@get(ARTICLE, guards=EDIT)
async def article_page(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings, article_id: uuid.UUID
) -> Template:
    article = await _article(db_session, actor, article_id)
    return await _detail(db_session, actor, settings, article, done=request.query_params.get("done"))


@post(ARTICLE + "/publish", guards=EDIT)
async def publish_article(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings, article_id: uuid.UUID
) -> Template | Redirect:
    article = await _article(db_session, actor, article_id)
    data = await form_of(request)
    try:
        await knowledge.publish(db_session, actor, article, str(data.get("state") or ""))
    except knowledge.NothingToPublish:
        return Redirect(f"/officer/articles/{article.id}?done=nothing", status_code=303)
    except knowledge.NotReady as reason:
        return await _detail(db_session, actor, settings, article, 422, problem=reason.message)
    except knowledge.StaleEdit:
        await db_session.rollback()
        fresh = await _article(db_session, actor, article_id)
        message = _("The texts changed after you opened this page. Check them, then publish again.")
        return await _detail(db_session, actor, settings, fresh, 409, problem=message)
    return Redirect(f"/officer/articles/{article.id}?done=published", status_code=303)


@post(ARTICLE + "/withdraw", guards=EDIT)
async def withdraw_article(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings, article_id: uuid.UUID
) -> Template | Redirect:
    article = await _article(db_session, actor, article_id)
    data = await form_of(request)
    if article.status != ArticleStatus.PUBLISHED:
        return Redirect(f"/officer/articles/{article.id}", status_code=303)
    try:
        await knowledge.withdraw(db_session, actor, article, _int(data.get("version")) or 0)
    except knowledge.StaleEdit:
        await db_session.rollback()
        fresh = await _article(db_session, actor, article_id)
        message = _("The article changed after you opened this page. Check it, then try again.")
        return await _detail(db_session, actor, settings, fresh, 409, problem=message)
    return Redirect(f"/officer/articles/{article.id}?done=withdrawn", status_code=303)


@get(ARTICLE + "/versions/{number:int}", guards=EDIT)
async def version_page(
    db_session: AsyncSession, actor: Actor, article_id: uuid.UUID, number: int
) -> Template:
    article = await _article(db_session, actor, article_id)
    version = await knowledge.version_of(db_session, article.id, number)
    if version is None:
        raise NotFoundException
    names = await messaging.staff_names(db_session, [version.published_by_id])
    texts = version.content.get("texts") or {}
    shown = {
        code: knowledge.shown_text(version.content, code, exact=True)
        for code in knowledge.LANGUAGES
        if code in texts
    }
    return Template(
        "officer/articles/version.html",
        context=_common(actor, article=article, version=version, shown=shown, names=names),
    )


# --- translations ---------------------------------------------------------------------------------


def _language(article: KnowledgeArticle, language: str) -> str:
    found = knowledge.translation_language(article, language)
    if found is None:
        raise NotFoundException
    return found


def _text_page(
    actor: Actor,
    settings: Settings,
    article: KnowledgeArticle,
    language: str,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
    *,
    conflict: bool = False,
    problem: str | None = None,
) -> Template:
    row = knowledge.text_in(article, language)
    return Template(
        "officer/articles/text_form.html",
        context=_common(
            actor,
            article=article,
            language=language,
            source=knowledge.source_text(article),
            translation=row,
            stale=row is not None and knowledge.translation_is_stale(article, row),
            form=form,
            errors=errors or FormErrors(),
            conflict=conflict,
            problem=problem,
            mt_on=machine_translation.is_on(settings),
        ),
        status_code=status,
    )


@get(ARTICLE + "/texts/{language:str}", guards=EDIT)
async def edit_text(
    db_session: AsyncSession, actor: Actor, settings: Settings, article_id: uuid.UUID, language: str
) -> Template:
    article = await _article(db_session, actor, article_id)
    language = _language(article, language)
    row = knowledge.text_in(article, language)
    if row is None:
        form: dict[str, Any] = {"origin": TextOrigin.OFFICER.value, "version": ""}
    else:
        form = {"title": row.title, "summary": row.summary, "body": row.body, "origin": row.origin.value}
        form["version"] = row.version
    return _text_page(actor, settings, article, language, form)


@post(ARTICLE + "/texts/{language:str}", guards=EDIT)
async def save_text(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    article_id: uuid.UUID,
    language: str,
) -> Template | Redirect:
    article = await _article(db_session, actor, article_id)
    language = _language(article, language)
    data = await form_of(request)
    parsed = knowledge.read_translation_form(data)
    if parsed.errors:
        return _text_page(actor, settings, article, language, data, parsed.errors, 422)
    try:
        await knowledge.save_translation(
            db_session, actor, article, language, _int(data.get("version")), parsed
        )
    except knowledge.StaleEdit:
        await db_session.rollback()
        fresh = await _article(db_session, actor, article_id)
        row = knowledge.text_in(fresh, language)
        form = {**data, "version": row.version if row else ""}
        return _text_page(actor, settings, fresh, language, form, status=409, conflict=True)
    return Redirect(f"/officer/articles/{article.id}?done=translation#texts", status_code=303)


@post(ARTICLE + "/texts/{language:str}/machine", guards=EDIT)
async def machine_translate(
    db_session: AsyncSession, actor: Actor, settings: Settings, article_id: uuid.UUID, language: str
) -> Template | Redirect:
    article = await _article(db_session, actor, article_id)
    language = _language(article, language)
    try:
        await knowledge.translate_by_machine(db_session, actor, settings, article, language)
    except (
        machine_translation.MachineTranslationOff,
        machine_translation.MachineTranslationError,
    ) as failure:
        # Off: "not in use" (409), as for plan texts and messages; a failed call: 422 with its reason.
        off = isinstance(failure, machine_translation.MachineTranslationOff)
        await db_session.rollback()
        fresh = await _article(db_session, actor, article_id)
        row = knowledge.text_in(fresh, language)
        form = {"origin": TextOrigin.OFFICER.value, "version": ""}
        if row is not None:
            form = {"title": row.title, "summary": row.summary, "body": row.body, "origin": row.origin.value}
            form["version"] = str(row.version)
        problem = _("Machine translation is not in use.") if off else str(getattr(failure, "message", ""))
        return _text_page(actor, settings, fresh, language, form, status=409 if off else 422, problem=problem)
    return Redirect(f"/officer/articles/{article.id}?done=machine#texts", status_code=303)


# --- visitors' questions --------------------------------------------------------------------------


@get("/articles/questions", guards=EDIT)
async def questions_page(db_session: AsyncSession, actor: Actor) -> Template:
    await knowledge_questions.tidy_questions(db_session, actor.organisation_id)
    waiting = await knowledge_questions.questions_of(db_session, actor.organisation_id, QuestionStatus.OPEN)
    answered = await knowledge_questions.questions_of(
        db_session, actor.organisation_id, QuestionStatus.ANSWERED, 20
    )
    dismissed = await knowledge_questions.questions_of(
        db_session, actor.organisation_id, QuestionStatus.DISMISSED, 20
    )
    names = await messaging.staff_names(db_session, [q.answered_by_id for q in answered + dismissed])
    return Template(
        "officer/articles/questions.html",
        context=_common(actor, waiting=waiting, handled=answered + dismissed, names=names),
    )


async def _question_page(
    db: AsyncSession,
    actor: Actor,
    question: GuidanceQuestion,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
    *,
    problem: str | None = None,
) -> Template:
    article = await db.get(KnowledgeArticle, question.article_id) if question.article_id else None
    draft = await db.get(KnowledgeArticle, question.draft_article_id) if question.draft_article_id else None
    names = await messaging.staff_names(db, [question.answered_by_id])
    return Template(
        "officer/articles/question.html",
        context=_common(
            actor,
            question=question,
            asked_from=article if article and article.organisation_id == actor.organisation_id else None,
            draft=draft if draft and draft.organisation_id == actor.organisation_id else None,
            names=names,
            form=form or {"version": question.version},
            errors=errors or FormErrors(),
            problem=problem,
        ),
        status_code=status,
    )


@get(QUESTION, guards=EDIT)
async def question_page(db_session: AsyncSession, actor: Actor, question_id: uuid.UUID) -> Template:
    return await _question_page(db_session, actor, await _question(db_session, actor, question_id))


@post(QUESTION + "/answer", guards=EDIT)
async def answer_question(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, question_id: uuid.UUID
) -> Template | Redirect:
    question = await _question(db_session, actor, question_id)
    data = await form_of(request)
    reply, errors = knowledge_questions.read_answer(data)
    if errors:
        return await _question_page(db_session, actor, question, data, errors, 422)
    try:
        await knowledge_questions.answer(db_session, actor, question, _int(data.get("version")) or 0, reply)
    except knowledge.StaleEdit:
        await db_session.rollback()
        fresh = await _question(db_session, actor, question_id)
        message = _(
            "Someone else handled this question after you opened it. Your answer was not saved; it is still below."
        )
        return await _question_page(
            db_session, actor, fresh, {**data, "version": fresh.version}, status=409, problem=message
        )
    return Redirect(f"/officer/articles/questions/{question.id}", status_code=303)


@post(QUESTION + "/dismiss", guards=EDIT)
async def dismiss_question(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, question_id: uuid.UUID
) -> Template | Redirect:
    question = await _question(db_session, actor, question_id)
    data = await form_of(request)
    try:
        await knowledge_questions.dismiss(db_session, actor, question, _int(data.get("version")) or 0)
    except knowledge.StaleEdit:
        await db_session.rollback()
        fresh = await _question(db_session, actor, question_id)
        message = _("Someone else handled this question after you opened it.")
        return await _question_page(db_session, actor, fresh, status=409, problem=message)
    return Redirect("/officer/articles/questions", status_code=303)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        articles_page,
        new_article,
        create_article,
        edit_article,
        update_article,
        article_page,
        publish_article,
        withdraw_article,
        version_page,
        edit_text,
        save_text,
        machine_translate,
        questions_page,
        question_page,
        answer_question,
        dismiss_question,
    ],
)
