"""Starter content of the knowledge base: ten plain-language articles, written in Finnish (the original)
and translated into Swedish, English, Arabic, Farsi, Russian, Ukrainian and Somali (origin "translator",
made from the Finnish text as it is, so every translation is fresh).

The texts are files, one directory per article and one file per language
(app/content/articles/<slug>/<language>.md): a few header lines (`title:`, `summary:`, and in the Finnish
file `topic:`), a line `---`, then the body in the knowledge base's markup. They keep to general facts
and link to the official sources (InfoFinland, Kela, DVV, Migri, Vero, 112.fi) rather than give opening
hours, prices or phone numbers (other than 112 and 116 117).

`seed_starter_articles` publishes them for an organisation (by default the deployment's public one) and
is idempotent: an article whose address the organisation already uses is left as it is, so re-running
it, or running it after editors have changed the texts, changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import TextOrigin
from app.db.knowledge import ArticleStatus, ArticleTopic, KnowledgeArticle, KnowledgeArticleText
from app.domain import knowledge
from app.settings import Settings, get_settings

CONTENT = Path(__file__).resolve().parents[1] / "content" / "articles"
SOURCE_LANGUAGE = "fi"


@dataclass(frozen=True)
class StarterText:
    language: str
    title: str
    summary: str
    body: str


@dataclass(frozen=True)
class StarterArticle:
    slug: str
    topic: ArticleTopic
    texts: tuple[StarterText, ...]  # the Finnish original first


def _read(path: Path) -> tuple[dict[str, str], str]:
    header, separator, body = path.read_text(encoding="utf-8").partition("\n---\n")
    if not separator:
        raise ValueError(f"{path}: no '---' line after the header")
    fields = {}
    for line in header.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields[name.strip()] = value.strip()
    return fields, body.strip()


@cache
def starter_articles() -> tuple[StarterArticle, ...]:
    """Every article of app/content/articles, in the order of their topics, then by address."""
    articles = []
    for folder in sorted(p for p in CONTENT.iterdir() if p.is_dir()):
        texts = []
        topic: ArticleTopic | None = None
        for language in knowledge.LANGUAGES:
            path = folder / f"{language}.md"
            if not path.exists():
                continue
            fields, body = _read(path)
            if language == SOURCE_LANGUAGE:
                topic = ArticleTopic(fields["topic"])
            texts.append(StarterText(language, fields["title"], fields.get("summary", ""), body))
        if topic is None:
            raise ValueError(f"{folder}: no Finnish original with a topic")
        articles.append(StarterArticle(folder.name, topic, tuple(texts)))
    order = {t: i for i, t in enumerate(ArticleTopic)}
    return tuple(sorted(articles, key=lambda a: (order[a.topic], a.slug)))


async def seed_starter_articles(
    db: AsyncSession, organisation_id: uuid.UUID | None = None, settings: Settings | None = None
) -> int:
    """Publish the starter articles for the organisation (default: the deployment's public organisation,
    app.domain.knowledge.public_organisation). Returns how many were added; 0 when there is no such
    organisation or every address is taken already. The caller commits."""
    if organisation_id is None:
        organisation_id = await knowledge.public_organisation(db, settings or get_settings())
        if organisation_id is None:
            return 0
    taken = set(
        (
            await db.scalars(
                select(KnowledgeArticle.slug).where(KnowledgeArticle.organisation_id == organisation_id)
            )
        ).all()
    )
    added = 0
    for starter in starter_articles():
        if starter.slug in taken:
            continue
        article = KnowledgeArticle(
            organisation_id=organisation_id,
            topic=starter.topic,
            slug=starter.slug,
            status=ArticleStatus.DRAFT,
            source_language=SOURCE_LANGUAGE,
            texts=[],
        )
        source = starter.texts[0]
        source_hash = knowledge.hash_of(
            {"title": source.title, "summary": source.summary, "body": source.body}
        )
        for text in starter.texts:
            article.texts.append(
                KnowledgeArticleText(
                    language=text.language,
                    title=text.title,
                    summary=text.summary,
                    body=text.body,
                    origin=TextOrigin.ORIGINAL if text.language == SOURCE_LANGUAGE else TextOrigin.TRANSLATOR,
                    source_hash=source_hash,
                )
            )
        db.add(article)
        await db.flush()
        await knowledge.publish(db, None, article, knowledge.state_token(article))
        added += 1
    return added
