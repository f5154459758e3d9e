"""The public knowledge base (service 21): articles by topic in eight languages, edited by officers
(draft, publish, versions), read by anyone at /guidance without signing in; anonymous questions.

Whose articles. Every article belongs to the organisation of the officer who wrote it; the public pages
show the articles of the deployment's organisation — the same one anonymous feedback goes to
(Settings.public_organisation, else the only municipality; app.domain.feedback.public_organisation).
Without one the public pages say the guidance pages are not in use here (404).

Texts. One row per language (KnowledgeArticleText). The source-language row is the original; every other
row is a translation keeping the hash of the source text it was made from (`source_hash`: the
content_hash of title, summary and body). When the source changes, translations made from the older
source are stale: editors see a flag per language, readers a note "may be out of date" with a link to
the source-language text.

Publishing freezes the topic, the address and every text as a new KnowledgeArticleVersion (JSON and its
SHA-256); the public pages read only the latest published version, so edits are invisible until the
next publication, and editors can read every earlier version. Publishing also writes the search
documents (app.domain.knowledge_search): one per interface locale, the text that locale is shown.
Withdrawing takes the article off the public pages (versions are kept).

Body text is plain text with a little markup, always escaped: a blank line between paragraphs, "## " and
"### " for headings, "- " or "1. " for list items, [text](https://…) for links (https, http, mailto, tel
and /paths only), **bold**.

Questions from visitors: app.domain.knowledge_questions.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.base import TextOrigin, utcnow
from app.db.knowledge import (
    ArticleStatus,
    ArticleTopic,
    GuidanceQuestion,
    KnowledgeArticle,
    KnowledgeArticleText,
    KnowledgeArticleVersion,
    KnowledgeSearchDoc,
)
from app.domain import audit, feedback, knowledge_search, machine_translation
from app.domain.audit import Action
from app.domain.forms import FormErrors, choice, text
from app.domain.policy import Actor
from app.domain.programme import TRANSLATION_ORIGINS
from app.domain.translations import content_hash, is_stale
from app.i18n import N_, PUBLIC_LOCALES, _, language_name
from app.settings import Settings

LANGUAGES: tuple[str, ...] = PUBLIC_LOCALES  # the languages articles are written and translated in
TITLE_MAX = 200
SUMMARY_MAX = 500
BODY_MAX = 20000
SLUG_MAX = 80
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class StaleEdit(Exception):
    """Someone saved after the form was opened."""


class NothingToPublish(Exception):
    """The texts are the same as in the published version."""


class NotReady(Exception):
    """The article cannot be published yet; `message` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def topic_from(value: str | None) -> ArticleTopic | None:
    try:
        return ArticleTopic(value or "")
    except ValueError:
        return None


# --- body markup ----------------------------------------------------------------------------------

_INLINE = re.compile(
    r"\[(?P<label>[^\]\n]{1,300})\]\((?P<url>[^()\s]{1,1000})\)|\*\*(?P<bold>[^*\n]{1,300})\*\*"
)
_LINK_TARGET = re.compile(r"\[[^\]\n]{1,300}\]\(([^)\s]*)")
_ORDERED = re.compile(r"^\d{1,3}[.)]\s+")
_WRAP = {
    "h2": Markup("<h2>%s</h2>"),
    "h3": Markup("<h3>%s</h3>"),
    "ul": Markup("<ul>%s</ul>"),
    "ol": Markup("<ol>%s</ol>"),
    "p": Markup("<p>%s</p>"),
}


def allowed_url(url: str) -> bool:
    """Links go to web pages, e-mail, phone numbers or a path of this site — never javascript: or data:."""
    if url.startswith("/"):
        # "//host" and "/\host" (browsers read a backslash as a slash) would leave the site.
        return not url.startswith(("//", "/\\"))
    return url.lower().startswith(("https://", "http://", "mailto:", "tel:"))


def _inline(line: str) -> Markup:
    out = Markup()
    position = 0
    for found in _INLINE.finditer(line):
        out += escape(line[position : found.start()])
        if found.group("bold") is not None:
            out += Markup("<strong>%s</strong>") % found.group("bold")
        elif allowed_url(found.group("url")):
            out += Markup('<a href="%s">%s</a>') % (found.group("url"), found.group("label"))
        else:
            out += escape(found.group(0))
        position = found.end()
    return out + escape(line[position:])


def _inline_text(line: str) -> str:
    return _INLINE.sub(lambda m: m.group("bold") if m.group("bold") is not None else m.group("label"), line)


@dataclass(frozen=True)
class Block:
    kind: str  # "h2", "h3", "p", "ul", "ol"
    lines: tuple[str, ...]


def blocks(body: str) -> list[Block]:
    """The body's headings, paragraphs and lists, line by line (a blank line ends a paragraph or list)."""
    out: list[Block] = []
    kind = ""
    lines: list[str] = []

    def close() -> None:
        nonlocal kind, lines
        if lines:
            out.append(Block(kind, tuple(lines)))
        kind, lines = "", []

    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            close()
        elif line.startswith(("## ", "### ")):
            close()
            level, _space, heading = line.partition(" ")
            out.append(Block("h2" if level == "##" else "h3", (heading.strip(),)))
        elif line.startswith(("- ", "* ")) or _ORDERED.match(line):
            item_kind = "ol" if _ORDERED.match(line) else "ul"
            if kind != item_kind:
                close()
                kind = item_kind
            lines.append(_ORDERED.sub("", line) if item_kind == "ol" else line[2:].strip())
        else:
            if kind != "p":
                close()
                kind = "p"
            lines.append(line)
    close()
    return out


def render_body(body: str) -> Markup:
    """The body as HTML: every piece of text escaped, only the markup above produces tags."""
    out = Markup()
    for block in blocks(body):
        if block.kind in ("h2", "h3"):
            inner = _inline(block.lines[0])
        elif block.kind in ("ul", "ol"):
            inner = Markup("").join(Markup("<li>%s</li>") % _inline(line) for line in block.lines)
        else:
            inner = Markup("<br>").join(_inline(line) for line in block.lines)
        out += _WRAP[block.kind] % inner
    return out


def plain_text(body: str) -> str:
    """The body without markup (link texts kept, addresses dropped): for search and snippets."""
    return "\n".join(" ".join(_inline_text(line) for line in block.lines) for block in blocks(body))


def body_errors(body: str) -> str | None:
    """A link whose target would not become a link (javascript:, data:, a relative path …), named."""
    for target in _LINK_TARGET.findall(body):
        if not allowed_url(target) or _INLINE.search(f"[x]({target})") is None:
            return _("A link must start with https://, http://, mailto:, tel: or /. Check: %(link)s") % {
                "link": target
            }
    return None


# --- texts and freshness --------------------------------------------------------------------------


def text_content(title: str, summary: str, body: str) -> dict[str, str]:
    """What a translation is made from: the three texts, nothing else."""
    return {"title": title, "summary": summary, "body": body}


def hash_of(row: KnowledgeArticleText | Mapping[str, Any]) -> str:
    if isinstance(row, KnowledgeArticleText):
        return content_hash(text_content(row.title, row.summary, row.body))
    return content_hash(text_content(row["title"], row["summary"], row["body"]))


def source_text(article: KnowledgeArticle) -> KnowledgeArticleText | None:
    return next((t for t in article.texts if t.language == article.source_language), None)


def text_in(article: KnowledgeArticle, language: str) -> KnowledgeArticleText | None:
    return next((t for t in article.texts if t.language == language), None)


def current_source_hash(article: KnowledgeArticle) -> str | None:
    source = source_text(article)
    return hash_of(source) if source else None


def translation_is_stale(article: KnowledgeArticle, row: KnowledgeArticleText) -> bool:
    if row.language == article.source_language:
        return False
    current = current_source_hash(article)
    return current is not None and is_stale(row.source_hash, current)


FRESHNESS_LABELS = {
    "original": N_("Original"),
    "current": N_("Up to date"),
    "machine": N_("Machine translation, not checked"),
    "stale": N_("Stale – translated from an older version"),
    "missing": N_("Not translated"),
}


@dataclass(frozen=True)
class LanguageState:
    language: str
    state: str  # a key of FRESHNESS_LABELS
    row: KnowledgeArticleText | None

    @property
    def label(self) -> str:
        return _(FRESHNESS_LABELS[self.state])


def freshness(article: KnowledgeArticle) -> list[LanguageState]:
    """Each language's state for editors: original, up to date, machine (unchecked), stale or missing."""
    out = []
    for language in LANGUAGES:
        row = text_in(article, language)
        if row is None:
            state = "missing"
        elif language == article.source_language:
            state = "original"
        elif translation_is_stale(article, row):
            state = "stale"
        elif row.origin == TextOrigin.MACHINE:
            state = "machine"
        else:
            state = "current"
        out.append(LanguageState(language, state, row))
    return out


def current_content(article: KnowledgeArticle) -> dict[str, Any]:
    """What publishing now would freeze."""
    return {
        "topic": article.topic.value,
        "slug": article.slug,
        "source_language": article.source_language,
        "texts": {
            row.language: {
                "title": row.title,
                "summary": row.summary,
                "body": row.body,
                "origin": row.origin.value,
                "source_hash": row.source_hash,
            }
            for row in article.texts
        },
    }


def state_token(article: KnowledgeArticle) -> str:
    """A hash of the texts as a page shows them: publishing checks nobody changed them meanwhile."""
    return content_hash(current_content(article))


# --- what a reader is shown -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A published article in one language as a reader sees it.

    language: the language of the text (the locale asked for, or the source language as a fallback);
    stale: a translation made from an older source; fallback: no text in the language asked for."""

    title: str
    summary: str
    body: str
    language: str
    origin: TextOrigin
    stale: bool
    fallback: bool
    source_language: str

    @property
    def translated(self) -> bool:
        return self.language != self.source_language

    @property
    def html(self) -> Markup:
        return render_body(self.body)


def _primary(locale: str) -> str:
    return locale.replace("_", "-").split("-")[0].lower()


def shown_text(content: Mapping[str, Any], locale: str, *, exact: bool = False) -> Shown | None:
    """The text of a frozen version for `locale`, else (unless `exact`) the source language's."""
    texts: Mapping[str, Mapping[str, str]] = content.get("texts") or {}
    source_language = str(content.get("source_language") or "fi")
    source = texts.get(source_language)
    wanted = _primary(locale)
    language = wanted if wanted in texts else (None if exact else source_language)
    row = texts.get(language) if language else None
    if row is None or language is None:
        return None
    stale = (
        language != source_language and source is not None and is_stale(row["source_hash"], hash_of(source))
    )
    return Shown(
        title=row["title"],
        summary=row.get("summary") or "",
        body=row.get("body") or "",
        language=language,
        origin=TextOrigin(row.get("origin") or TextOrigin.ORIGINAL.value),
        stale=stale,
        fallback=language != wanted,
        source_language=source_language,
    )


public_organisation = feedback.public_organisation


async def latest_version(db: AsyncSession, article_id: uuid.UUID) -> KnowledgeArticleVersion | None:
    return await db.scalar(
        select(KnowledgeArticleVersion)
        .where(KnowledgeArticleVersion.article_id == article_id)
        .order_by(KnowledgeArticleVersion.number.desc())
        .limit(1)
    )


async def published(
    db: AsyncSession, organisation_id: uuid.UUID, slug: str
) -> tuple[KnowledgeArticle, KnowledgeArticleVersion] | None:
    """A published article of the organisation by its address, with the version on the public pages."""
    article = await db.scalar(
        select(KnowledgeArticle).where(
            KnowledgeArticle.organisation_id == organisation_id,
            KnowledgeArticle.slug == slug[:SLUG_MAX],
            KnowledgeArticle.status == ArticleStatus.PUBLISHED,
        )
    )
    version = await latest_version(db, article.id) if article else None
    return (article, version) if article and version else None


async def topic_counts(db: AsyncSession, organisation_id: uuid.UUID, locale: str) -> dict[ArticleTopic, int]:
    rows = await db.execute(
        select(KnowledgeSearchDoc.topic, func.count())
        .where(KnowledgeSearchDoc.organisation_id == organisation_id, KnowledgeSearchDoc.locale == locale)
        .group_by(KnowledgeSearchDoc.topic)
    )
    return {key: value for key, value in rows.all()}  # noqa: C416 - rows, not pairs, to dict()


async def topic_articles(
    db: AsyncSession, organisation_id: uuid.UUID, locale: str, topic: ArticleTopic | None = None
) -> list[KnowledgeSearchDoc]:
    """The published articles (as `locale` sees them) of a topic, or of every topic, by title."""
    stmt = select(KnowledgeSearchDoc).where(
        KnowledgeSearchDoc.organisation_id == organisation_id, KnowledgeSearchDoc.locale == locale
    )
    if topic is not None:
        stmt = stmt.where(KnowledgeSearchDoc.topic == topic)
    return list((await db.scalars(stmt.order_by(KnowledgeSearchDoc.title))).all())


def documents_for(content: Mapping[str, Any]) -> list[knowledge_search.Document]:
    """One search document per interface locale: what a visitor in it is shown."""
    out = []
    for locale in LANGUAGES:
        shown = shown_text(content, locale)
        if shown is None:
            continue
        out.append(
            knowledge_search.Document(
                locale=locale,
                language=shown.language,
                title=shown.title,
                summary=shown.summary,
                text=plain_text(shown.body),
                stale=shown.stale,
            )
        )
    return out


# --- editing --------------------------------------------------------------------------------------


@dataclass
class ArticleInput:
    topic: ArticleTopic | None = None
    slug: str = ""
    source_language: str = "fi"
    title: str = ""
    summary: str = ""
    body: str = ""
    errors: FormErrors = field(default_factory=FormErrors)


def slug_from(title: str) -> str:
    """An address from a title in the Latin alphabet ("Kela – perusasiat" → "kela-perusasiat")."""
    ascii_words = [w for w in knowledge_search.words(title) if w.isascii()]
    return "-".join(ascii_words)[:SLUG_MAX].strip("-")


def _texts(data: Mapping[str, Any], errors: FormErrors, *, title_message: str) -> tuple[str, str, str]:
    title = text(data, "title", TITLE_MAX, errors) or ""
    summary = text(data, "summary", SUMMARY_MAX, errors) or ""
    body = str(data.get("body") or "").strip()
    if not title:
        errors["title"] = title_message
    if len(body) > BODY_MAX:
        errors["body"] = _("The text is too long: at most %(num)d characters.") % {"num": BODY_MAX}
    elif problem := body_errors(body):
        errors["body"] = problem
    return title, summary, body


def read_article_form(data: Mapping[str, Any], article: KnowledgeArticle | None = None) -> ArticleInput:
    """The article form: topic, address, (for a new article) the source language, and the source texts."""
    parsed = ArticleInput()
    parsed.topic = choice(data, "topic", ArticleTopic, parsed.errors)
    if article is not None:
        parsed.source_language = article.source_language
    else:
        language = str(data.get("source_language") or "")
        if language not in LANGUAGES:
            parsed.errors["source_language"] = _("Choose one of the options.")
        parsed.source_language = language
    parsed.title, parsed.summary, parsed.body = _texts(data, parsed.errors, title_message=_("Write a title."))
    slug = (text(data, "slug", SLUG_MAX, parsed.errors) or "").lower() or slug_from(parsed.title)
    if not slug or not SLUG.match(slug):
        parsed.errors["slug"] = _(
            "Write the address with the letters a–z, digits and hyphens, for example kela-basics."
        )
    parsed.slug = slug
    return parsed


async def slug_taken(
    db: AsyncSession, organisation_id: uuid.UUID, slug: str, other_than: uuid.UUID | None = None
) -> bool:
    stmt = select(KnowledgeArticle.id).where(
        KnowledgeArticle.organisation_id == organisation_id, KnowledgeArticle.slug == slug
    )
    if other_than is not None:
        stmt = stmt.where(KnowledgeArticle.id != other_than)
    return await db.scalar(stmt.limit(1)) is not None


async def check_slug(
    db: AsyncSession, organisation_id: uuid.UUID, parsed: ArticleInput, other_than: uuid.UUID | None = None
) -> None:
    """An address is the organisation's article's alone."""
    if "slug" not in parsed.errors and await slug_taken(db, organisation_id, parsed.slug, other_than):
        parsed.errors["slug"] = _("Another article already has this address. Choose another one.")


def article_form_values(article: KnowledgeArticle) -> dict[str, Any]:
    source = source_text(article)
    return {
        "topic": article.topic.value,
        "slug": article.slug,
        "source_language": article.source_language,
        "title": source.title if source else "",
        "summary": source.summary if source else "",
        "body": source.body if source else "",
        "version": article.version,
    }


async def load_article(
    db: AsyncSession, organisation_id: uuid.UUID, article_id: uuid.UUID
) -> KnowledgeArticle | None:
    """The organisation's article with its texts; another organisation's is not found."""
    return await db.scalar(
        select(KnowledgeArticle)
        .where(KnowledgeArticle.id == article_id, KnowledgeArticle.organisation_id == organisation_id)
        .options(selectinload(KnowledgeArticle.texts))
        .execution_options(populate_existing=True)
    )


async def articles_of(db: AsyncSession, organisation_id: uuid.UUID) -> list[KnowledgeArticle]:
    stmt = (
        select(KnowledgeArticle)
        .where(KnowledgeArticle.organisation_id == organisation_id)
        .options(selectinload(KnowledgeArticle.texts))
    )
    articles = list((await db.scalars(stmt)).all())
    order = {t: i for i, t in enumerate(ArticleTopic)}
    articles.sort(key=lambda a: (order[a.topic], title_of(a).casefold()))
    return articles


def title_of(article: KnowledgeArticle) -> str:
    source = source_text(article)
    return source.title if source else article.slug


async def published_hashes(db: AsyncSession, article_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each article's latest published content hash (to tell editors about unpublished changes)."""
    if not article_ids:
        return {}
    latest = (
        select(KnowledgeArticleVersion.article_id, func.max(KnowledgeArticleVersion.number).label("number"))
        .where(KnowledgeArticleVersion.article_id.in_(article_ids))
        .group_by(KnowledgeArticleVersion.article_id)
        .subquery()
    )
    rows = await db.execute(
        select(KnowledgeArticleVersion.article_id, KnowledgeArticleVersion.content_hash).join(
            latest,
            (latest.c.article_id == KnowledgeArticleVersion.article_id)
            & (latest.c.number == KnowledgeArticleVersion.number),
        )
    )
    return {key: value for key, value in rows.all()}  # noqa: C416 - rows, not pairs, to dict()


async def create_article(
    db: AsyncSession, actor: Actor, parsed: ArticleInput, question: GuidanceQuestion | None = None
) -> KnowledgeArticle:
    """A new draft with its source text (the caller checked parsed.errors and that the address is free).
    `question`: the visitor's question the article was made from."""
    assert parsed.topic is not None
    article = KnowledgeArticle(
        organisation_id=actor.organisation_id,
        topic=parsed.topic,
        slug=parsed.slug,
        status=ArticleStatus.DRAFT,
        source_language=parsed.source_language,
        created_by_id=actor.staff_id,
        texts=[],
    )
    source = KnowledgeArticleText(
        language=parsed.source_language,
        title=parsed.title,
        summary=parsed.summary,
        body=parsed.body,
        origin=TextOrigin.ORIGINAL,
        source_hash="",
        edited_by_id=actor.staff_id,
    )
    source.source_hash = hash_of(source)
    article.texts.append(source)
    db.add(article)
    await db.flush()
    if question is not None:
        question.draft_article_id = article.id
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="knowledge_article",
        object_id=article.id,
        fields=["topic", "slug", "source_language", "title", "summary", "body"]
        + (["question"] if question is not None else []),
    )
    return article


async def update_article(
    db: AsyncSession, actor: Actor, article: KnowledgeArticle, seen_version: int, parsed: ArticleInput
) -> list[str]:
    """Topic, address and the source text, if nobody saved in between (StaleEdit otherwise)."""
    if seen_version != article.version:
        raise StaleEdit
    assert parsed.topic is not None
    changed = [name for name in ("topic", "slug") if getattr(article, name) != getattr(parsed, name)]
    article.topic, article.slug = parsed.topic, parsed.slug
    source = source_text(article)
    if source is None:
        source = KnowledgeArticleText(
            language=article.source_language, origin=TextOrigin.ORIGINAL, source_hash=""
        )
        article.texts.append(source)
    for name in ("title", "summary", "body"):
        if getattr(source, name) != getattr(parsed, name):
            setattr(source, name, getattr(parsed, name))
            changed.append(name)
    if changed:
        source.source_hash = hash_of(source)
        source.edited_by_id = actor.staff_id
        article.updated_at = utcnow()  # the texts belong to the article: its version moves on
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="knowledge_article",
            object_id=article.id,
            fields=changed,
        )
    return changed


@dataclass
class TranslationInput:
    title: str = ""
    summary: str = ""
    body: str = ""
    origin: TextOrigin | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_translation_form(data: Mapping[str, Any]) -> TranslationInput:
    parsed = TranslationInput()
    parsed.title, parsed.summary, parsed.body = _texts(
        data, parsed.errors, title_message=_("Write the title in this language.")
    )
    origin = choice(data, "origin", TextOrigin, parsed.errors)
    if origin is not None and origin not in TRANSLATION_ORIGINS:
        parsed.errors["origin"] = _("Choose one of the options.")
        origin = None
    parsed.origin = origin
    return parsed


def translation_language(article: KnowledgeArticle, language: str) -> str | None:
    """A language a translation can be written in: an article language other than the source."""
    return language if language in LANGUAGES and language != article.source_language else None


async def _save_text(
    db: AsyncSession,
    actor: Actor,
    article: KnowledgeArticle,
    language: str,
    texts: TranslationInput,
    origin: TextOrigin,
    row: KnowledgeArticleText | None,
) -> KnowledgeArticleText:
    current = current_source_hash(article)
    if current is None:
        raise ValueError("a translation needs a source text")
    action = Action.UPDATE if row else Action.CREATE
    if row is None:
        row = KnowledgeArticleText(language=language, origin=origin, source_hash=current)
        article.texts.append(row)
    row.title, row.summary, row.body = texts.title, texts.summary, texts.body
    row.origin = origin
    row.source_hash = current  # whoever saves it vouches that it matches the current source
    row.edited_by_id = actor.staff_id if origin != TextOrigin.MACHINE else None
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        action,
        actor=actor,
        object_type="knowledge_article",
        object_id=article.id,
        fields=[f"text_{language}", "origin"],
    )
    return row


async def save_translation(
    db: AsyncSession,
    actor: Actor,
    article: KnowledgeArticle,
    language: str,
    seen_version: int | None,
    parsed: TranslationInput,
) -> KnowledgeArticleText:
    """Create or replace the translation, made from the source as it is now. seen_version is the
    translation's version the form showed (None for a new one): StaleEdit when it no longer matches."""
    if parsed.origin is None:
        raise ValueError("a validated form is needed")
    row = text_in(article, language)
    if (row.version if row else None) != seen_version:
        raise StaleEdit
    return await _save_text(db, actor, article, language, parsed, parsed.origin, row)


async def translate_by_machine(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    article: KnowledgeArticle,
    language: str,
    *,
    service: machine_translation.LibreTranslate | None = None,
) -> KnowledgeArticleText:
    """Machine-translate the source text into `language`, saved as unchecked machine output.

    Refuses (MachineTranslationOff) without a configured server, and (MachineTranslationError) when a
    person made the translation into that language: machine output never replaces a person's work."""
    provider = service or machine_translation.provider(settings)
    if provider is None:
        raise machine_translation.MachineTranslationOff
    source = source_text(article)
    if source is None:
        raise machine_translation.MachineTranslationError(_("Write the text in the source language first."))
    row = text_in(article, language)
    if row is not None and row.origin != TextOrigin.MACHINE:
        raise machine_translation.MachineTranslationError(
            _("There is already a translation into %(language)s by a person; it is kept.")
            % {"language": language_name(language)}
        )
    pieces = [source.title, source.summary, source.body]
    translated = [
        await machine_translation.translate_text(provider, piece, article.source_language, language)
        if piece
        else ""
        for piece in pieces
    ]
    texts = TranslationInput(
        title=translated[0][:TITLE_MAX], summary=translated[1][:SUMMARY_MAX], body=translated[2]
    )
    return await _save_text(db, actor, article, language, texts, TextOrigin.MACHINE, row)


async def publish(
    db: AsyncSession, actor: Actor | None, article: KnowledgeArticle, seen_state: str
) -> KnowledgeArticleVersion:
    """Freeze the texts as a new version and put it on the public pages (search documents included).

    seen_state is state_token() as the page showed it: StaleEdit when the texts changed meanwhile.
    Publishing unchanged texts again puts a withdrawn article back without a new version;
    NothingToPublish when it is already on the public pages as it is."""
    if seen_state != state_token(article):
        raise StaleEdit
    source = source_text(article)
    if source is None or not source.body.strip():
        raise NotReady(_("Write the text in the source language before publishing."))
    content = current_content(article)
    digest = content_hash(content)
    latest = await latest_version(db, article.id)
    if latest is not None and latest.content_hash == digest:
        if article.status == ArticleStatus.PUBLISHED:
            raise NothingToPublish
        version = latest
    else:
        version = KnowledgeArticleVersion(
            article_id=article.id,
            number=(latest.number + 1) if latest else 1,
            content=content,
            content_hash=digest,
            published_by_id=actor.staff_id if actor else None,
        )
        db.add(version)
    article.status = ArticleStatus.PUBLISHED
    article.published_at = utcnow()
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await knowledge_search.replace_documents(
        db, article.id, article.organisation_id, article.topic, article.slug, documents_for(content)
    )
    if actor is not None:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="knowledge_article",
            object_id=article.id,
            fields=["status", f"version_{version.number}"],
        )
    return version


async def withdraw(db: AsyncSession, actor: Actor, article: KnowledgeArticle, seen_version: int) -> None:
    """Take the article off the public pages (its versions are kept)."""
    if seen_version != article.version:
        raise StaleEdit
    article.status = ArticleStatus.DRAFT
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await knowledge_search.remove_documents(db, article.id)
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        object_type="knowledge_article",
        object_id=article.id,
        fields=["status"],
    )


async def versions_of(db: AsyncSession, article_id: uuid.UUID) -> list[KnowledgeArticleVersion]:
    stmt = (
        select(KnowledgeArticleVersion)
        .where(KnowledgeArticleVersion.article_id == article_id)
        .order_by(KnowledgeArticleVersion.number.desc())
    )
    return list((await db.scalars(stmt)).all())


async def version_of(db: AsyncSession, article_id: uuid.UUID, number: int) -> KnowledgeArticleVersion | None:
    return await db.scalar(
        select(KnowledgeArticleVersion).where(
            KnowledgeArticleVersion.article_id == article_id, KnowledgeArticleVersion.number == number
        )
    )
