"""The client's own message threads in the migrant app (/me/messages): which text of a message the
client reads, the unread markers from the client's side, and the languages offered for a reply.

Threads, messages, replies and read markers are app.domain.messaging; this module only decides what
the client is shown. Which text: the first language of the client's reading order (the interface
language, then `messaging.reading_languages`: the language chosen for the app, the mother tongue, other
languages at B1 or better) in which the message exists — as its original or as a translation. A
message in none of them is shown in its original with "not yet translated". The client's own messages
are always shown as they wrote them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from babel import Locale, UnknownLocaleError
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client, ClientLanguage
from app.db.messaging import AuthorKind, Message, MessageTranslation, Thread
from app.db.organisation import Organisation
from app.domain import messaging

# Offered in the reply's language select besides the client's own languages.
REPLY_EXTRA = ("fi", "sv", "en")


async def client_languages(db: AsyncSession, client: Client) -> list[ClientLanguage]:
    return list((await db.scalars(select(ClientLanguage).where(ClientLanguage.client_id == client.id))).all())


def reading_order(client: Client, interface: str, languages: Sequence[ClientLanguage] = ()) -> list[str]:
    """The languages the client reads, best first: the interface language, then their own ones."""
    order = [messaging.primary_language(interface) or interface]
    for code in messaging.reading_languages(client, languages):
        if code not in order:
            order.append(code)
    return order


async def unread_thread_ids(db: AsyncSession, client: Client) -> set[uuid.UUID]:
    """The client's threads with a message from the team (or the system) the client has not read: one
    query. (messaging.threads_for_client's `unread` is the team's flag, not the client's.)"""
    newer = exists(
        select(Message.id).where(
            Message.thread_id == Thread.id,
            Message.author_kind != AuthorKind.CLIENT,
            or_(Thread.client_read_at.is_(None), Message.created_at > Thread.client_read_at),
        )
    )
    return set((await db.scalars(select(Thread.id).where(and_(Thread.client_id == client.id, newer)))).all())


async def load_thread(db: AsyncSession, client: Client, thread_id: uuid.UUID) -> Thread | None:
    """The client's own thread, or None (another client's id: the app answers 404)."""
    return await db.scalar(
        select(Thread)
        .where(Thread.id == thread_id, Thread.client_id == client.id)
        .execution_options(populate_existing=True)
    )


async def team_name(db: AsyncSession, thread: Thread) -> str | None:
    """The name of the organisation whose team writes in the thread."""
    return await db.scalar(select(Organisation.name).where(Organisation.id == thread.organisation_id))


@dataclass(frozen=True)
class Shown:
    """One message as the client reads it."""

    message: Message
    mine: bool  # written by the client
    language: str  # the language of the text shown
    text: str
    translation: MessageTranslation | None  # the translation shown, if one is
    new: bool  # arrived after the client last read the thread

    @property
    def translated(self) -> bool:
        return self.translation is not None

    @property
    def machine(self) -> bool:
        """Machine output no person has checked yet."""
        return self.translation is not None and messaging.needs_check(self.translation)

    @property
    def stale(self) -> bool:
        return self.translation is not None and messaging.translation_is_stale(self.message, self.translation)

    @property
    def untranslated(self) -> bool:
        """Shown in its original, which is not a language the client reads."""
        return self.translation is None and not self.mine and not self.readable

    readable: bool = True  # the original is in a language the client reads


def shown(message: Message, order: Sequence[str], read_until: datetime | None = None) -> Shown:
    """Which text of `message` the client reads (see the module docstring)."""
    new = message.author_kind != AuthorKind.CLIENT and (read_until is None or message.created_at > read_until)
    mine = message.author_kind == AuthorKind.CLIENT
    original = messaging.primary_language(message.language) or message.language
    if not mine:
        for code in order:
            if code == original:
                break
            row = messaging.translation_of(message, code)
            if row is not None:
                return Shown(message, mine, row.language, row.body, row, new)
    return Shown(message, mine, message.language, message.body, None, new, readable=mine or original in order)


def shown_all(
    messages: Sequence[Message], order: Sequence[str], read_until: datetime | None = None
) -> list[Shown]:
    return [shown(m, order, read_until) for m in messages]


def native_name(code: str) -> str:
    """A language's name in that language ('العربية'), else in the interface language."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, UnknownLocaleError):
        name = None
    return (name[:1].upper() + name[1:]) if name else i18n.language_name(code)


def reply_languages(order: Sequence[str]) -> list[tuple[str, str]]:
    """A short list for the reply's language: the client's own languages first, then fi, sv, en."""
    codes: list[str] = []
    for code in [*order, *REPLY_EXTRA]:
        if code and code not in codes and messaging.known_language(code):
            codes.append(code)
    return [(code, native_name(code)) for code in codes]
