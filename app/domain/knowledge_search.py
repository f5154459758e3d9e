"""Full-text search of the knowledge base in the visitor's language (service 21).

Both databases search the same thing: the folded words of each published article as a visitor in one
locale sees it (knowledge_search_doc, written on publishing). Folding is app.domain.text.fold — case,
diacritics, Arabic harakat and hamza forms, Persian and Arabic yeh/kaf — so "kayttaja" finds "käyttäjä"
and Arabic typed without vowel marks finds the text written with them. The words are cut by one rule
(letters and digits, app-side) and stored space-separated, so the database's own tokenizer has nothing
left to decide.

- SQLite: an FTS5 table (knowledge_fts, external content, kept in step by triggers), ranked with bm25
  (a word in the title weighs ten times one in the text).
- PostgreSQL: a tsvector column of the 'simple' configuration (title weight A, text weight B) with a
  GIN index, ranked with ts_rank.

One function builds the query for the dialect in use; everything else (parsing, loading, snippets) is
shared. Every word must be found; the last one also as the start of a longer word, so results come while
typing. Snippets are cut from the stored plain text and highlighted after escaping it: a <mark> is the only
markup a result can hold.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, column, delete, func, insert, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.db.knowledge import ArticleTopic, KnowledgeSearchDoc
from app.domain.text import fold

MAX_QUERY = 200  # characters of a search that are read
MAX_TERMS = 8
PREFIX_MIN = 2  # the last word is also a prefix once it has this many letters
RESULTS = 20
SNIPPET = 180  # characters around the first match
TITLE_WEIGHT = 10.0

# A word of folded text: letters and digits (no underscore: FTS5 and PostgreSQL split on it).
WORD = re.compile(r"[^\W_]+")
# A word of the original text: letters and digits with the combining marks inside it (Arabic harakat,
# Latin accents written as separate marks), which folding removes.
_MARKS = "".join(chr(c) for c in range(0x300, 0x10000) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me"))
ORIGINAL_WORD = re.compile(f"(?:[^\\W_]|[{re.escape(_MARKS)}])+")
_FTS = table("knowledge_fts", column("rowid"))
# PostgreSQL: the 'simple' configuration (no stemming, no stop words: the words are folded already), as a
# literal, since a bound parameter would arrive as a string, not a regconfig.
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


def words(value: str) -> list[str]:
    """The folded words of a text, in order."""
    return WORD.findall(fold(value))


def folded(value: str) -> str:
    """The folded words as the index stores them: separated by single spaces."""
    return " ".join(words(value))


@dataclass(frozen=True)
class Query:
    terms: tuple[str, ...]
    prefix: bool  # the last term also matches the start of a longer word

    def matches(self, word: str) -> bool:
        """Whether a folded word is one of the terms (the last one also as a prefix)."""
        return word in self.terms or (self.prefix and word.startswith(self.terms[-1]))


def parse(value: str | None) -> Query | None:
    """The words of a search; None when there are none."""
    terms = words((value or "")[:MAX_QUERY])[:MAX_TERMS]
    if not terms:
        return None
    unique = tuple(dict.fromkeys(terms))
    return Query(terms=unique, prefix=len(unique[-1]) >= PREFIX_MIN)


def fts5_expression(query: Query) -> str:
    """FTS5 MATCH syntax: every term as a quoted string (words hold no quotes), the last one a prefix."""
    quoted = [f'"{term}"' for term in query.terms]
    if query.prefix:
        quoted[-1] += "*"
    return " ".join(quoted)


def tsquery_expression(query: Query) -> str:
    """to_tsquery syntax: every term ANDed (words hold no operators), the last one a prefix."""
    terms = list(query.terms)
    if query.prefix:
        terms[-1] += ":*"
    return " & ".join(terms)


def _match(dialect: str, query: Query) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The WHERE clause and the ordering key (best first) for the database in use."""
    if dialect == "sqlite":
        where = literal_column("knowledge_fts").bool_op("MATCH")(fts5_expression(query))
        return where, literal_column(f"bm25(knowledge_fts, {TITLE_WEIGHT}, 1.0)")
    tsquery = func.to_tsquery(_SIMPLE, tsquery_expression(query))
    where = KnowledgeSearchDoc.search_vector.bool_op("@@")(tsquery)
    return where, -func.ts_rank(KnowledgeSearchDoc.search_vector, tsquery)


@dataclass(frozen=True)
class Hit:
    doc: KnowledgeSearchDoc
    title: Markup  # escaped, the matching words in <mark>
    snippet: Markup


async def search(
    db: AsyncSession, organisation_id: uuid.UUID, locale: str, value: str | None, limit: int = RESULTS
) -> list[Hit]:
    """Published articles of the organisation, in `locale`, that contain every word searched for."""
    query = parse(value)
    if query is None:
        return []
    where, rank = _match(db.get_bind().dialect.name, query)
    stmt = select(KnowledgeSearchDoc).where(
        where, KnowledgeSearchDoc.organisation_id == organisation_id, KnowledgeSearchDoc.locale == locale
    )
    if db.get_bind().dialect.name == "sqlite":
        stmt = stmt.join(_FTS, _FTS.c.rowid == KnowledgeSearchDoc.id)
    stmt = stmt.options(defer(KnowledgeSearchDoc.search_vector), defer(KnowledgeSearchDoc.title_folded))
    docs = (await db.scalars(stmt.order_by(rank, KnowledgeSearchDoc.title).limit(limit))).all()
    return [
        Hit(
            doc=doc,
            title=highlight(doc.title, query),
            snippet=snippet(doc.summary + "\n" + doc.text, query, folded_words=doc.body_folded.split()),
        )
        for doc in docs
    ]


# --- snippets -------------------------------------------------------------------------------------


def _is_match(word: str, query: Query) -> bool:
    """Whether a word of the original text is (folded) one of the words searched for."""
    return any(query.matches(w) for w in words(word))


def _first_match(
    originals: Sequence[re.Match[str]], query: Query, folded_words: Sequence[str] | None
) -> int | None:
    """The index of the first original word that matches. The stored folded words are compared when they
    line up one to one with the original words (almost always), so only a handful of words is folded
    here; otherwise each original word is folded in turn."""
    if folded_words is not None and len(folded_words) == len(originals):
        return next((i for i, word in enumerate(folded_words) if query.matches(word)), None)
    return next((i for i, found in enumerate(originals) if _is_match(found.group(), query)), None)


def _marked(value: str, originals: Sequence[re.Match[str]], query: Query, start: int, end: int) -> Markup:
    """value[start:end], escaped, its matching words in <mark>."""
    out = Markup()
    position = start
    for found in originals:
        if found.start() < start or found.end() > end or not _is_match(found.group(), query):
            continue
        out += escape(value[position : found.start()]) + Markup("<mark>%s</mark>") % found.group()
        position = found.end()
    return out + escape(value[position:end])


def highlight(value: str, query: Query) -> Markup:
    """The whole text, escaped, with the matching words marked."""
    return _marked(value, list(ORIGINAL_WORD.finditer(value)), query, 0, len(value))


def snippet(
    value: str, query: Query, width: int = SNIPPET, folded_words: Sequence[str] | None = None
) -> Markup:
    """About `width` characters around the first matching word (else the start), cut at spaces, escaped,
    the matching words marked. `folded_words`: the text's words as the index holds them, if known."""
    value = " ".join(value.split())
    originals = list(ORIGINAL_WORD.finditer(value))
    first = _first_match(originals, query, folded_words)
    anchor = originals[first].start() if first is not None else 0
    start = max(0, anchor - width // 3)
    end = min(len(value), start + width)
    if start > 0:
        space = value.find(" ", start)
        start = space + 1 if 0 <= space < anchor else start
    if end < len(value):
        space = value.rfind(" ", start, end)
        end = space if space > start else end
    window = [found for found in originals if found.start() >= start and found.end() <= end]
    marked = _marked(value, window, query, start, end)
    return (Markup("…") if start > 0 else Markup()) + marked + (Markup("…") if end < len(value) else Markup())


# --- the index ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """What a visitor in `locale` is shown of a published article."""

    locale: str
    language: str
    title: str
    summary: str
    text: str  # plain text of the body
    stale: bool


async def replace_documents(
    db: AsyncSession,
    article_id: uuid.UUID,
    organisation_id: uuid.UUID,
    topic: ArticleTopic,
    slug: str,
    documents: Sequence[Document],
) -> None:
    """The article's documents become exactly these (one per locale)."""
    await remove_documents(db, article_id)
    postgresql = db.get_bind().dialect.name == "postgresql"
    for doc in documents:
        title_words = folded(doc.title)
        body_words = folded(doc.summary + "\n" + doc.text)
        vector: Any = None
        if postgresql:
            vector = func.setweight(func.to_tsvector(_SIMPLE, title_words), literal_column("'A'")).op("||")(
                func.setweight(func.to_tsvector(_SIMPLE, body_words), literal_column("'B'"))
            )
        await db.execute(
            insert(KnowledgeSearchDoc).values(
                article_id=article_id,
                organisation_id=organisation_id,
                locale=doc.locale,
                language=doc.language,
                topic=topic,
                slug=slug,
                title=doc.title,
                summary=doc.summary,
                text=doc.text,
                stale=doc.stale,
                title_folded=title_words,
                body_folded=body_words,
                search_vector=vector,
            )
        )


async def remove_documents(db: AsyncSession, article_id: uuid.UUID) -> None:
    await db.execute(delete(KnowledgeSearchDoc).where(KnowledgeSearchDoc.article_id == article_id))
