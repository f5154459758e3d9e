"""The public knowledge base (service 21): articles by topic in several languages, their published
versions, the per-locale search index, and anonymous questions from visitors.

An article belongs to one organisation (the public site shows the deployment's organisation's, see
app/domain/knowledge.py). Its texts keep one row per language with the origin and the hash of the source
text each translation was made from (as ProgrammeServiceText does); publishing freezes every text as a
version (JSON with a SHA-256), and the public pages read only published versions.

knowledge_search_doc is the public read model: one row per published article and interface locale, holding
the text a visitor in that locale is shown (the translation, or the source language as a marked
fallback), its folded words for search and, on PostgreSQL, a weighted tsvector with a GIN index. On
SQLite an FTS5 table (knowledge_fts, made by the migration, kept in step by triggers) indexes the same
folded words.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, TextOrigin, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class ArticleTopic(enum.StrEnum):
    """The managed list of topics (the order is the order on the public pages)."""

    REGISTRATION = "registration"  # registering an address, residence permits and rights
    LANGUAGE_COURSES = "language_courses"
    KELA = "kela"  # Kela and money
    HOUSING = "housing"
    HEALTH = "health"
    SCHOOLS = "schools"  # schools and day care
    WORK_TAXES = "work_taxes"
    HELP = "help"  # where to get help, emergencies


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"  # never published, or withdrawn: not on the public pages
    PUBLISHED = "published"  # the latest version is on the public pages


class QuestionStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"  # closed without an answer (empty, abusive, a duplicate)


class KnowledgeArticle(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "knowledge_article"
    __table_args__ = (
        UniqueConstraint("organisation_id", "slug"),
        Index("ix_knowledge_article_organisation_id_status_topic", "organisation_id", "status", "topic"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    topic: Mapped[ArticleTopic] = mapped_column(enum_column(ArticleTopic, "article_topic"))
    slug: Mapped[str] = mapped_column(String(80))  # the public address: /guidance/articles/<slug>
    status: Mapped[ArticleStatus] = mapped_column(
        enum_column(ArticleStatus, "article_status"), default=ArticleStatus.DRAFT
    )
    source_language: Mapped[str] = mapped_column(String(12), default="fi")
    published_at: Mapped[datetime | None]  # the latest publication
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    texts: Mapped[list[KnowledgeArticleText]] = relationship(
        cascade="all, delete-orphan", order_by="KnowledgeArticleText.language", lazy="raise"
    )


class KnowledgeArticleText(UUIDPrimaryKey, Versioned, Base):
    """The article in one language as it is being edited. The source-language row has origin "original";
    a translation keeps source_hash, the hash of the source text it was made from (stale when different)."""

    __tablename__ = "knowledge_article_text"
    __table_args__ = (UniqueConstraint("article_id", "language"),)

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("knowledge_article.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[TextOrigin] = mapped_column(enum_column(TextOrigin, "text_origin"))
    source_hash: Mapped[str] = mapped_column(String(64))
    edited_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


class KnowledgeArticleVersion(UUIDPrimaryKey, Base):
    """What one publication put on the public pages: topic, address and every text, frozen as JSON."""

    __tablename__ = "knowledge_article_version"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("knowledge_article.id", ondelete="CASCADE"))
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))  # None: starter content


class KnowledgeSearchDoc(Base):
    """A published article as a visitor in `locale` sees it (`language` is the language of the text)."""

    __tablename__ = "knowledge_search_doc"
    __table_args__ = (
        UniqueConstraint("article_id", "locale"),
        Index("ix_knowledge_search_doc_organisation_id_locale_topic", "organisation_id", "locale", "topic"),
        Index("ix_knowledge_search_doc_search_vector", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the FTS5 rowid on SQLite
    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("knowledge_article.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    locale: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(12))
    topic: Mapped[ArticleTopic] = mapped_column(enum_column(ArticleTopic, "article_topic"))
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text, default="")  # the body as plain text, for snippets
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # Folded words (app.domain.text.fold), space-separated: what both databases' full-text search index.
    title_folded: Mapped[str] = mapped_column(Text, default="")
    body_folded: Mapped[str] = mapped_column(Text, default="")
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))


class GuidanceQuestion(UUIDPrimaryKey, Versioned, Base):
    """A visitor's anonymous question. No account and no address are kept: created_at is the day only,
    and the optional e-mail address is deleted when the question is answered or dismissed."""

    __tablename__ = "guidance_question"
    __table_args__ = (
        Index(
            "ix_guidance_question_organisation_id_status_created_at",
            "organisation_id",
            "status",
            "created_at",
        ),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    language: Mapped[str] = mapped_column(String(12))  # the language the visitor chose for the answer
    topic: Mapped[ArticleTopic | None] = mapped_column(enum_column(ArticleTopic, "article_topic"))
    article_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("knowledge_article.id", ondelete="SET NULL")
    )  # the article the question was asked from
    text: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[QuestionStatus] = mapped_column(
        enum_column(QuestionStatus, "question_status"), default=QuestionStatus.OPEN
    )
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    answered_at: Mapped[datetime | None]
    answer_emailed: Mapped[bool] = mapped_column(Boolean, default=False)
    draft_article_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("knowledge_article.id", ondelete="SET NULL")
    )  # the article made from the question
