"""Messaging (service 8, process 3.4.5): threads with a client, group messages and campaigns, templates,
translations with their origin and source hash, translation requests, stakeholder e-mail."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, TextOrigin, UUIDPrimaryKey, Versioned, utcnow
from app.db.organisation import enum_column


class AuthorKind(enum.StrEnum):
    STAFF = "staff_author"
    CLIENT = "client_author"
    SYSTEM = "system_author"


class Thread(UUIDPrimaryKey, Versioned, Base):
    """A conversation between one client and the officers of the client's organisation (as a team)."""

    __tablename__ = "message_thread"
    __table_args__ = (
        Index("ix_message_thread_organisation_id_last_message_at", "organisation_id", "last_message_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    subject: Mapped[str] = mapped_column(String(200))
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    client_read_at: Mapped[datetime | None]  # the client has read everything before this
    staff_read_at: Mapped[datetime | None]  # someone of the team has read everything before this


class Message(UUIDPrimaryKey, Base):
    """A message as written: its original language and text never change."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_thread_id_created_at", "thread_id", "created_at"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message_thread.id", ondelete="CASCADE"))
    author_kind: Mapped[AuthorKind] = mapped_column(enum_column(AuthorKind, "author_kind"))
    author_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    language: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    group_message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("group_message.id", ondelete="SET NULL"), index=True
    )

    translations: Mapped[list[MessageTranslation]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="MessageTranslation.language"
    )


class MessageTranslation(UUIDPrimaryKey, Versioned, Base):
    """A message in another language: origin (officer, interpreter, machine, translator), the hash of the
    source it was made from, and who checked machine output (until then it is labelled as machine)."""

    __tablename__ = "message_translation"
    __table_args__ = (UniqueConstraint("message_id", "language"),)

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    origin: Mapped[TextOrigin] = mapped_column(enum_column(TextOrigin, "text_origin"))
    source_hash: Mapped[str] = mapped_column(String(64))
    translated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    checked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    checked_at: Mapped[datetime | None]


class TranslationStatus(enum.StrEnum):
    REQUESTED = "requested"
    TRANSLATED = "translated"
    CHECKED = "checked"


class TranslationRequest(UUIDPrimaryKey, Versioned, Base):
    """Service 15: a text to be translated by a person: requested → translated → checked."""

    __tablename__ = "translation_request"
    __table_args__ = (Index("ix_translation_request_organisation_id_status", "organisation_id", "status"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    source_language: Mapped[str] = mapped_column(String(12))
    target_language: Mapped[str] = mapped_column(String(12))
    source_text: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[TranslationStatus] = mapped_column(
        enum_column(TranslationStatus, "translation_status"), default=TranslationStatus.REQUESTED
    )
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    translator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    translator_name: Mapped[str | None] = mapped_column(String(200))
    translated_text: Mapped[str | None] = mapped_column(Text)
    translated_at: Mapped[datetime | None]
    checked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    checked_at: Mapped[datetime | None]


class GroupKind(enum.StrEnum):
    GROUP = "group_message"  # a chosen set of clients
    CAMPAIGN = "campaign"  # a target group (3.4.5)


class GroupMessage(UUIDPrimaryKey, Versioned, Base):
    """One message to many clients, written per language; each recipient gets it in a thread of their own."""

    __tablename__ = "group_message"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[GroupKind] = mapped_column(enum_column(GroupKind, "group_kind"))
    title: Mapped[str] = mapped_column(String(200))  # staff-facing name and the threads' subject
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # how the recipients were chosen
    source_language: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    sent_at: Mapped[datetime | None]
    recipient_count: Mapped[int] = mapped_column(default=0)

    texts: Mapped[list[GroupMessageText]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="GroupMessageText.language"
    )


class GroupMessageText(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "group_message_text"
    __table_args__ = (UniqueConstraint("group_message_id", "language"),)

    group_message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_message.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    origin: Mapped[TextOrigin] = mapped_column(enum_column(TextOrigin, "text_origin"))
    source_hash: Mapped[str] = mapped_column(String(64))


class MessageTemplate(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "message_template"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source_language: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(default=True)

    texts: Mapped[list[MessageTemplateText]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="MessageTemplateText.language"
    )


class MessageTemplateText(UUIDPrimaryKey, Versioned, Base):
    __tablename__ = "message_template_text"
    __table_args__ = (UniqueConstraint("template_id", "language"),)

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message_template.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    origin: Mapped[TextOrigin] = mapped_column(enum_column(TextOrigin, "text_origin"))
    source_hash: Mapped[str] = mapped_column(String(64))


class StakeholderContact(UUIDPrimaryKey, Versioned, Base):
    """A service provider's contact person, for stakeholder e-mail."""

    __tablename__ = "stakeholder_contact"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisation.id"), index=True
    )  # whose list
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    provider_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True)


class StakeholderMessage(UUIDPrimaryKey, Base):
    __tablename__ = "stakeholder_message"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipient_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # StakeholderContact ids
