"""Messaging (service 8, process 3.4.5) and human translation (service 15): threads with a client,
translations with their origin, translation requests, group messages and campaigns, templates and
stakeholder e-mail.

Decisions:

- **Threads.** A thread belongs to one client; the officers of the client's organisation answer it as a
  team. Access follows the client like all client data (`client_scope`, and the client must be the
  actor's own organisation's), so after a transfer the receiving team sees the conversation.
  `Thread.organisation_id` records whose team started it.
- **Messages are never edited or deleted**: a correction is a new message. A message keeps its original
  language and text; translations are rows per language with their origin, the hash of the original they
  were made from (`content_hash(body)`), who made them and — for machine output — who checked them.
  Until a person checks it, machine output is labelled "Machine translation, not checked" (`origin_label`).
  A translation is checked by someone other than the person who made it.
- **Read markers.** `staff_read_at` / `client_read_at` hold the time of the newest message the reader has
  seen; unread means a message from the other side after it. Markers and `last_message_at` are written with
  plain UPDATE statements (no version bump): messages are append-only, so two officers opening or answering
  the same thread at once never conflict.
- **Notifications.** A new message to a client queues NEW_MESSAGE through the outbox with the thread id
  only (push and SMS carry no personal data), one dedupe key per message.
- **Group messages and campaigns.** Recipients are the organisation's *active* clients chosen by the
  stored criteria: an intake (plan services referred to or started in a period of the organisation's
  programme), a hand-picked list of the officer's own clients, or — for a campaign — a target group by
  segment, mother tongue, municipality of residence and permit type (at least one). Texts are written per
  language: the source-language text is required, the others are translations with origin and source hash;
  a stale translation blocks sending. Each recipient reads the first of: the language they chose for the
  app, their mother tongue, another language they know at B1 or better — that has a text; else English if
  there is an English text; else the source text. Sending creates a *new* thread per recipient (never
  appended to an older thread with the same subject: replies stay with the topic they answer) whose
  message's original is the source text, and the recipient-language text is kept as a MessageTranslation
  with the group text's origin, so nothing is lost. A group message is sent once (`sent_at`, guarded by
  the version column), with a recipient count the officer confirmed in a preview.
- **Templates** are texts per language like the group texts (origin, source hash, stale flags). Inserting
  one fills the form; if the text is sent unchanged, the template's translation into the recipient's
  language goes with it (with its origin).
- **Translation requests.** Officers ask for a human translation of a message. Officers see their
  organisation's requests. Interpreters have no access to the client register; they see only requests
  assigned to them by name, and unassigned requests of their own organisation (an in-house interpreter).
  The person who writes the translation is recorded (and an outside translator's name when an officer
  enters it); an officer other than the translator checks it.
- **Stakeholder e-mail** goes to the organisation's own list of service providers' contacts through the
  outbox (`notify_address`), one row per contact.
- Group messages, templates and contacts are not client data: their changes are audited without a client
  (like the programme catalogue); every view and change of a client's messages is audited with the client.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from babel import Locale
from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.appointment import Appointment
from app.db.base import TextOrigin, utcnow
from app.db.client import Client, ClientLanguage, ClientStatus, LanguageLevel, PermitType
from app.db.messaging import (
    AuthorKind,
    GroupKind,
    GroupMessage,
    GroupMessageText,
    Message,
    MessageTemplate,
    MessageTemplateText,
    MessageTranslation,
    StakeholderContact,
    StakeholderMessage,
    Thread,
    TranslationRequest,
    TranslationStatus,
)
from app.db.organisation import Organisation, OrganisationType, Role, Staff, StaffRole
from app.db.outbox import Channel, NotificationKind, OutboxMessage
from app.db.plan import IntegrationPlan, PlanService, PlanServiceStatus
from app.db.programme import ProgrammePeriod, ProgrammeService
from app.domain import audit, outbox
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox, email_field, text
from app.domain.policy import Actor, Permission, client_scope
from app.domain.programme import catalogue, display_text
from app.domain.translations import content_hash, is_stale
from app.i18n import COMMON_LANGUAGES, OFFICER_LOCALES, _, format_date, get_locale, language_name
from app.labels import label

MAX_SUBJECT = 200
MAX_BODY = 10000
PAGE_SIZE = 50
MAX_CHOSEN = 500  # hand-picked recipients offered on the group form
# Origins a person gives a translation by hand; "original" is the source, "machine" comes from the provider.
HUMAN_ORIGINS = (TextOrigin.OFFICER, TextOrigin.TRANSLATOR, TextOrigin.INTERPRETER)
# Plan services that make a client part of an intake.
IN_INTAKE = (PlanServiceStatus.REFERRED, PlanServiceStatus.STARTED)
# Levels at which a language is good enough to read a message in (best first).
READABLE_LEVELS = (
    LanguageLevel.NATIVE,
    LanguageLevel.C2,
    LanguageLevel.C1,
    LanguageLevel.B2,
    LanguageLevel.B1,
)
OPEN_REQUEST = (TranslationStatus.REQUESTED, TranslationStatus.TRANSLATED)
CAMPAIGN_FIELDS = ("segment", "mother_tongue", "municipality", "permit_type")


class StaleEdit(Exception):
    """Someone saved the record after the form was opened."""


class NotAllowed(Exception):
    """The action is not possible in the record's state; `message` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ThreadNotFound(LookupError):
    """No such thread for this client (the migrant app answers 404)."""


class InvalidMessage(ValueError):
    """The client's message was empty or too long; `errors` holds the translated messages."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__("invalid message")
        self.errors = errors


# --- small helpers --------------------------------------------------------------------------------


def primary_language(code: str | None) -> str | None:
    return code.replace("_", "-").split("-")[0].lower() if code else None


def known_language(code: str) -> bool:
    return (
        bool(code) and len(code) <= 12 and (code in COMMON_LANGUAGES or code in Locale.parse("en").languages)
    )


def read_language(data: Mapping[str, Any], name: str, errors: FormErrors) -> str:
    code = str(data.get(name) or "").strip()
    if not code:
        errors[name] = _("Choose the language.")
    elif not known_language(code):
        errors[name] = _("Choose one of the options.")
    return code


def read_body(data: Mapping[str, Any], name: str, errors: FormErrors, *, required: bool = True) -> str:
    value = str(data.get(name) or "").replace("\r\n", "\n").strip()
    if not value and required:
        errors[name] = _("Write the message.")
    elif len(value) > MAX_BODY:
        errors[name] = _("The text is too long: at most %(count)s characters.") % {"count": MAX_BODY}
    return value


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def source_hash(message: Message) -> str:
    """What a translation of a message is made from: its original text."""
    return content_hash(message.body)


def origin_label(row: MessageTranslation) -> str:
    """How a translation is labelled wherever it is shown (machine output until a person checks it)."""
    if row.origin == TextOrigin.MACHINE:
        if row.checked_at is None:
            return label(TextOrigin.MACHINE)  # "Machine translation, not checked"
        return _("Machine translation, checked by a person")
    if row.origin == TextOrigin.INTERPRETER:
        return _("Translated by an interpreter")
    return label(row.origin)


def needs_check(row: MessageTranslation) -> bool:
    return row.origin == TextOrigin.MACHINE and row.checked_at is None


def reading_languages(client: Client, languages: Sequence[ClientLanguage] = ()) -> list[str]:
    """The languages the client reads, most preferred first: the app language they chose, their mother
    tongue, then other languages at B1 or better."""
    order = {level: i for i, level in enumerate(READABLE_LEVELS)}
    known = sorted((lang for lang in languages if lang.level in order), key=lambda lang: order[lang.level])
    codes = [primary_language(client.preferred_locale), client.mother_tongue, *(k.language for k in known)]
    seen: list[str] = []
    for code in codes:
        if code and code not in seen:
            seen.append(code)
    return seen


def recipient_language(
    client: Client, available: Iterable[str], source_language: str, languages: Sequence[ClientLanguage] = ()
) -> str:
    """The language a text is given to the client in (see the module docstring)."""
    have = set(available)
    for code in reading_languages(client, languages):
        if code in have:
            return code
    return "en" if "en" in have else source_language


async def staff_names(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(wanted)))
    return {row.id: row.full_name for row in rows}


# --- threads --------------------------------------------------------------------------------------


def thread_scope(actor: Actor) -> ColumnElement[bool]:
    """Threads (joined to their client) the actor's team answers: clients in scope, of the own organisation."""
    if not actor.has(Permission.MESSAGES):
        return false()
    return and_(client_scope(actor), Client.organisation_id == actor.organisation_id)


@dataclass(frozen=True)
class InboxRow:
    thread: Thread
    client_id: uuid.UUID
    client_name: str
    message_count: int
    unread: bool


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    page: int
    has_next: bool


def _unread_for_staff() -> ColumnElement[bool]:
    return exists(
        select(Message.id).where(
            Message.thread_id == Thread.id,
            Message.author_kind == AuthorKind.CLIENT,
            or_(Thread.staff_read_at.is_(None), Message.created_at > Thread.staff_read_at),
        )
    )


def _message_count() -> Any:
    return select(func.count(Message.id)).where(Message.thread_id == Thread.id).scalar_subquery()


async def inbox(
    db: AsyncSession, actor: Actor, *, mine: bool = False, unread_only: bool = False, page: int = 1
) -> InboxPage:
    """The team's threads, unread first, then by the latest message; with counts, in one query."""
    page = max(page, 1)
    unread = _unread_for_staff()
    stmt = (
        select(Thread, Client.first_names, Client.last_name, _message_count().label("n"), unread.label("u"))
        .join(Client, Client.id == Thread.client_id)
        .where(thread_scope(actor))
        .order_by(case((unread, 0), else_=1), Thread.last_message_at.desc(), Thread.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    if mine:
        stmt = stmt.where(Client.responsible_officer_id == actor.staff_id)
    if unread_only:
        stmt = stmt.where(unread)
    rows = (await db.execute(stmt)).all()
    found = [
        InboxRow(
            thread=row[0],
            client_id=row[0].client_id,
            client_name=f"{row.last_name}, {row.first_names}",
            message_count=int(row.n or 0),
            unread=bool(row.u),
        )
        for row in rows[:PAGE_SIZE]
    ]
    return InboxPage(rows=found, page=page, has_next=len(rows) > PAGE_SIZE)


@dataclass(frozen=True)
class ClientThread:
    thread: Thread
    message_count: int
    unread: bool


async def threads_for_client(db: AsyncSession, client: Client) -> list[ClientThread]:
    """The client's threads, newest first, with counts and the team's unread flag (the caller has
    checked the client is in scope)."""
    rows = (
        await db.execute(
            select(Thread, _message_count().label("n"), _unread_for_staff().label("u"))
            .where(Thread.client_id == client.id)
            .order_by(Thread.last_message_at.desc())
        )
    ).all()
    return [ClientThread(thread=r[0], message_count=int(r.n or 0), unread=bool(r.u)) for r in rows]


async def client_section(db: AsyncSession, actor: Actor, client: Client) -> list[ClientThread] | None:
    """The client page's messages section: None without the messaging permission or for another
    organisation's client; otherwise the threads, and the view is audited."""
    if not actor.has(Permission.MESSAGES) or client.organisation_id != actor.organisation_id:
        return None
    threads = await threads_for_client(db, client)
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="message_thread",
        fields=["subject"],
    )
    return threads


async def load_thread(db: AsyncSession, actor: Actor, thread_id: uuid.UUID) -> tuple[Thread, Client] | None:
    """The thread and its client if the actor's team answers it; else None (the caller answers 404)."""
    row = (
        await db.execute(
            select(Thread, Client)
            .join(Client, Client.id == Thread.client_id)
            .where(Thread.id == thread_id, thread_scope(actor))
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def messages_of(db: AsyncSession, thread_id: uuid.UUID) -> list[Message]:
    return list(
        (
            await db.scalars(
                select(Message)
                .where(Message.thread_id == thread_id)
                .options(selectinload(Message.translations))
                .order_by(Message.created_at, Message.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


def message_of(messages: Sequence[Message], message_id: uuid.UUID) -> Message | None:
    return next((m for m in messages if m.id == message_id), None)


async def open_thread(
    db: AsyncSession, actor: Actor, thread: Thread, client: Client, messages: Sequence[Message]
) -> None:
    """The team has read the thread up to its newest message; the view is audited."""
    newest = max((m.created_at for m in messages), default=None)
    if newest is not None and (thread.staff_read_at is None or thread.staff_read_at < newest):
        await db.execute(update(Thread).where(Thread.id == thread.id).values(staff_read_at=newest))
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="message_thread",
        object_id=thread.id,
        fields=["subject", "messages", "translations"],
    )


@dataclass
class MessageInput:
    subject: str = ""
    body: str = ""
    language: str = ""
    template_id: uuid.UUID | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_message_form(data: Mapping[str, Any], *, with_subject: bool) -> MessageInput:
    parsed = MessageInput()
    if with_subject:
        parsed.subject = text(data, "subject", MAX_SUBJECT, parsed.errors) or ""
        if not parsed.subject:
            parsed.errors["subject"] = _("Write the subject.")
    parsed.body = read_body(data, "body", parsed.errors)
    parsed.language = read_language(data, "language", parsed.errors)
    parsed.template_id = parse_uuid(data.get("template_id"))
    return parsed


async def _notify_new_message(db: AsyncSession, client: Client, thread: Thread, message: Message) -> None:
    """Queue "you have a new message": the thread id only, never the text."""
    await outbox.notify_client(
        db,
        client,
        NotificationKind.NEW_MESSAGE,
        {"thread_id": str(thread.id)},
        dedupe_key=f"message:{message.id}",
    )


async def _template_translation(
    db: AsyncSession, actor: Actor, message: Message, client: Client, template_id: uuid.UUID | None
) -> None:
    """A message sent with a template's text unchanged gets the template's translation into the client's
    language, with its origin (only a translation made from the current template text)."""
    if template_id is None:
        return
    template = await load_template(db, actor, template_id)
    if template is None:
        return
    used = text_in(template, message.language)
    if used is None or used.body != message.body or text_is_stale(template, used):
        return
    usable = {
        t.language: t
        for t in template.texts
        if t.language != message.language and not text_is_stale(template, t)
    }
    if not usable:
        return
    target = recipient_language(client, usable, message.language)
    chosen = usable.get(target)
    if chosen is None:
        return
    origin = TextOrigin.OFFICER if chosen.origin == TextOrigin.ORIGINAL else chosen.origin
    message.translations.append(
        MessageTranslation(
            language=chosen.language, body=chosen.body, origin=origin, source_hash=source_hash(message)
        )
    )


async def start_thread(db: AsyncSession, actor: Actor, client: Client, parsed: MessageInput) -> Thread:
    """A new thread with the team's first message; the client is notified."""
    now = utcnow()
    thread = Thread(
        id=uuid.uuid4(),
        client_id=client.id,
        organisation_id=client.organisation_id,
        subject=parsed.subject,
        last_message_at=now,
        staff_read_at=now,
    )
    db.add(thread)
    await db.flush()  # no relationship orders the inserts: the thread goes first
    message = await _staff_message(db, actor, thread, client, parsed, now)
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="message_thread",
        object_id=thread.id,
        fields=["subject", "body", "language", *(["translation"] if message.translations else [])],
    )
    await _notify_new_message(db, client, thread, message)
    return thread


async def _staff_message(
    db: AsyncSession, actor: Actor, thread: Thread, client: Client, parsed: MessageInput, now: datetime
) -> Message:
    """An officer's message in the thread, with the template's translation when it was used as is."""
    message = Message(
        id=uuid.uuid4(),
        thread_id=thread.id,
        author_kind=AuthorKind.STAFF,
        author_staff_id=actor.staff_id,
        language=parsed.language,
        body=parsed.body,
        created_at=now,
        translations=[],
    )
    await _template_translation(db, actor, message, client, parsed.template_id)
    db.add(message)
    await db.flush()
    return message


async def reply(
    db: AsyncSession, actor: Actor, thread: Thread, client: Client, parsed: MessageInput
) -> Message:
    """The team's reply; answering means the team has read the thread. The client is notified."""
    now = utcnow()
    message = await _staff_message(db, actor, thread, client, parsed, now)
    await db.execute(
        update(Thread).where(Thread.id == thread.id).values(last_message_at=now, staff_read_at=now)
    )
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="message",
        object_id=message.id,
        fields=["body", "language", *(["translation"] if message.translations else [])],
    )
    await _notify_new_message(db, client, thread, message)
    return message


# --- the client's side (called by the migrant app) -----------------------------------------------


async def _client_thread(db: AsyncSession, client: Client, thread_id: uuid.UUID) -> Thread:
    thread = await db.scalar(select(Thread).where(Thread.id == thread_id, Thread.client_id == client.id))
    if thread is None:
        raise ThreadNotFound(str(thread_id))
    return thread


async def client_reply(
    db: AsyncSession, client: Client, thread_id: uuid.UUID, body: str, language: str
) -> Message:
    """The client writes in one of their threads. Raises ThreadNotFound for anyone else's thread and
    InvalidMessage for an empty or too long text or an unknown language."""
    thread = await _client_thread(db, client, thread_id)
    errors = FormErrors()
    text_body = read_body({"body": body}, "body", errors)
    code = read_language({"language": language}, "language", errors)
    if errors:
        raise InvalidMessage(errors)
    now = utcnow()
    message = Message(
        id=uuid.uuid4(),
        thread_id=thread.id,
        author_kind=AuthorKind.CLIENT,
        language=code,
        body=text_body,
        created_at=now,
        translations=[],
    )
    db.add(message)
    await db.flush()
    await db.execute(
        update(Thread).where(Thread.id == thread.id).values(last_message_at=now, client_read_at=now)
    )
    await audit.record(
        db,
        Action.CREATE,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="message",
        object_id=message.id,
        fields=["body", "language"],
    )
    return message


async def mark_read_by_client(db: AsyncSession, client: Client, thread_id: uuid.UUID) -> None:
    """The client has read the thread up to its newest message. Raises ThreadNotFound for anyone else's."""
    thread = await _client_thread(db, client, thread_id)
    newest = await db.scalar(select(func.max(Message.created_at)).where(Message.thread_id == thread.id))
    if newest is not None and (thread.client_read_at is None or thread.client_read_at < newest):
        await db.execute(update(Thread).where(Thread.id == thread.id).values(client_read_at=newest))
    await audit.record(
        db,
        Action.VIEW,
        actor_kind="client",
        actor_id=client.id,
        client_id=client.id,
        object_type="message_thread",
        object_id=thread.id,
        fields=["messages"],
    )


# --- translations of messages ---------------------------------------------------------------------


def translation_of(message: Message, language: str) -> MessageTranslation | None:
    return next((t for t in message.translations if t.language == language), None)


def translation_is_stale(message: Message, row: MessageTranslation) -> bool:
    return is_stale(row.source_hash, source_hash(message))


@dataclass
class TranslationInput:
    language: str = ""
    body: str = ""
    origin: TextOrigin | None = None
    version: int | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_version(data: Mapping[str, Any]) -> int | None:
    raw = str(data.get("version") or "").strip()
    return int(raw) if raw.isdigit() else None


def read_translation_form(data: Mapping[str, Any], source_language: str) -> TranslationInput:
    parsed = TranslationInput()
    parsed.language = read_language(data, "language", parsed.errors)
    if parsed.language and parsed.language == source_language and "language" not in parsed.errors:
        parsed.errors["language"] = _("Choose a language other than the original's.")
    parsed.body = read_body(data, "body", parsed.errors)
    raw = str(data.get("origin") or TextOrigin.OFFICER.value)
    parsed.origin = next((o for o in HUMAN_ORIGINS if o.value == raw), None)
    if parsed.origin is None:
        parsed.errors["origin"] = _("Choose one of the options.")
    parsed.version = read_version(data)
    return parsed


async def save_message_translation(
    db: AsyncSession, actor: Actor, client: Client, message: Message, parsed: TranslationInput
) -> MessageTranslation:
    """An officer writes a translation by hand (or enters a translator's or interpreter's). It replaces
    an existing one in that language only if the form showed that version (else StaleEdit)."""
    if parsed.origin is None:
        raise ValueError("a validated form is needed")
    row = translation_of(message, parsed.language)
    if (row.version if row else None) != parsed.version:
        raise StaleEdit
    action = Action.UPDATE if row else Action.CREATE
    if row is None:
        row = MessageTranslation(language=parsed.language, body="", origin=parsed.origin, source_hash="")
        message.translations.append(row)
    row.body = parsed.body
    row.origin = parsed.origin
    row.source_hash = source_hash(message)
    row.translated_by_id = actor.staff_id
    row.checked_by_id = None
    row.checked_at = None
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        action,
        actor=actor,
        client_id=client.id,
        object_type="message_translation",
        object_id=row.id,
        fields=["body", "origin", "language"],
    )
    return row


def may_check(actor: Actor, row: MessageTranslation) -> bool:
    """Unchecked, and made by someone else (machine output has no maker)."""
    return (
        actor.has(Permission.MESSAGES) and row.checked_at is None and row.translated_by_id != actor.staff_id
    )


async def check_translation(
    db: AsyncSession,
    actor: Actor,
    client: Client,
    message: Message,
    row: MessageTranslation,
    corrected: str | None,
    seen_version: int | None,
) -> None:
    """A person checks a translation, optionally correcting it: a corrected machine translation becomes
    the officer's. An open translation request for the same text is checked with it."""
    if seen_version != row.version:
        raise StaleEdit
    if not may_check(actor, row):
        raise NotAllowed(_("A translation is checked by someone other than the person who made it."))
    now = utcnow()
    fields = ["checked_by", "checked_at"]
    if corrected and corrected != row.body:
        row.body = corrected
        if row.origin == TextOrigin.MACHINE:
            row.origin = TextOrigin.OFFICER
            row.translated_by_id = actor.staff_id
        fields += ["body", "origin"]
    row.source_hash = source_hash(message)
    row.checked_by_id = actor.staff_id
    row.checked_at = now
    request = await db.scalar(
        select(TranslationRequest).where(
            TranslationRequest.message_id == message.id,
            TranslationRequest.target_language == row.language,
            TranslationRequest.status == TranslationStatus.TRANSLATED,
        )
    )
    if request is not None:
        request.status = TranslationStatus.CHECKED
        request.checked_by_id = actor.staff_id
        request.checked_at = now
        request.translated_text = row.body
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client.id,
        object_type="message_translation",
        object_id=row.id,
        fields=fields,
    )


# --- translation requests (service 15) ------------------------------------------------------------


def request_scope(actor: Actor) -> ColumnElement[bool]:
    """Requests the actor may see (see the module docstring)."""
    clauses: list[ColumnElement[bool]] = []
    if actor.has(Permission.MESSAGES) and actor.sees_own_organisation:
        clauses.append(TranslationRequest.organisation_id == actor.organisation_id)
    if actor.has(Permission.TRANSLATION_WORK):
        clauses.append(TranslationRequest.translator_id == actor.staff_id)
        clauses.append(
            and_(
                TranslationRequest.translator_id.is_(None),
                TranslationRequest.organisation_id == actor.organisation_id,
            )
        )
    return or_(*clauses) if clauses else false()


async def translator_choices(db: AsyncSession, actor: Actor) -> list[tuple[str, str]]:
    """Interpreters a request can be assigned to: the organisation's own, and those booked for its
    appointments."""
    booked = select(Appointment.interpreter_id).where(
        Appointment.organisation_id == actor.organisation_id, Appointment.interpreter_id.is_not(None)
    )
    rows = await db.execute(
        select(Staff.id, Staff.full_name)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(
            StaffRole.role == Role.INTERPRETER,
            Staff.active.is_(True),
            or_(Staff.organisation_id == actor.organisation_id, Staff.id.in_(booked)),
        )
        .distinct()
        .order_by(Staff.full_name)
    )
    return [(str(r.id), r.full_name) for r in rows]


@dataclass
class RequestInput:
    language: str = ""
    translator_id: uuid.UUID | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_request_form(
    data: Mapping[str, Any], source_language: str, translators: Iterable[tuple[str, str]]
) -> RequestInput:
    parsed = RequestInput()
    parsed.language = read_language(data, "language", parsed.errors)
    if parsed.language == source_language and "language" not in parsed.errors:
        parsed.errors["language"] = _("Choose a language other than the original's.")
    raw = str(data.get("translator_id") or "").strip()
    if raw:
        if raw not in {value for value, _name in translators}:
            parsed.errors["translator_id"] = _("Choose one of the options.")
        else:
            parsed.translator_id = uuid.UUID(raw)
    return parsed


async def request_translation(
    db: AsyncSession, actor: Actor, client: Client, message: Message, parsed: RequestInput
) -> TranslationRequest:
    """Ask for a human translation of the message; one open request per message and language."""
    already = await db.scalar(
        select(TranslationRequest.id).where(
            TranslationRequest.message_id == message.id,
            TranslationRequest.target_language == parsed.language,
            TranslationRequest.status.in_(OPEN_REQUEST),
        )
    )
    if already is not None:
        raise NotAllowed(_("A translation into this language has already been asked for."))
    request = TranslationRequest(
        organisation_id=actor.organisation_id,
        message_id=message.id,
        source_language=message.language,
        target_language=parsed.language,
        source_text=message.body,
        source_hash=source_hash(message),
        status=TranslationStatus.REQUESTED,
        requested_by_id=actor.staff_id,
        requested_at=utcnow(),
        translator_id=parsed.translator_id,
    )
    db.add(request)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        client_id=client.id,
        object_type="translation_request",
        object_id=request.id,
        fields=["target_language", "translator_id"],
    )
    return request


@dataclass(frozen=True)
class RequestRow:
    request: TranslationRequest
    thread_id: uuid.UUID | None
    client_id: uuid.UUID | None


async def translation_requests(
    db: AsyncSession, actor: Actor, status: TranslationStatus | None = None
) -> list[RequestRow]:
    """The requests the actor may see, open ones first, oldest first (no client names: interpreters
    work on texts, not on the register)."""
    stmt = (
        select(TranslationRequest, Thread.id, Thread.client_id)
        .outerjoin(Message, Message.id == TranslationRequest.message_id)
        .outerjoin(Thread, Thread.id == Message.thread_id)
        .where(request_scope(actor))
        .order_by(
            case((TranslationRequest.status == TranslationStatus.CHECKED, 1), else_=0),
            TranslationRequest.requested_at,
        )
        .limit(200)
    )
    if status is not None:
        stmt = stmt.where(TranslationRequest.status == status)
    return [RequestRow(request=r[0], thread_id=r[1], client_id=r[2]) for r in (await db.execute(stmt)).all()]


async def load_request(
    db: AsyncSession, actor: Actor, request_id: uuid.UUID
) -> tuple[TranslationRequest, Message | None, uuid.UUID | None] | None:
    """The request with its message and the message's client id, if the actor may see it; else None."""
    row = (
        await db.execute(
            select(TranslationRequest, Message, Thread.client_id)
            .outerjoin(Message, Message.id == TranslationRequest.message_id)
            .outerjoin(Thread, Thread.id == Message.thread_id)
            .where(TranslationRequest.id == request_id, request_scope(actor))
            .options(selectinload(Message.translations))
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def audit_request_view(
    db: AsyncSession, actor: Actor, request: TranslationRequest, client_id: uuid.UUID | None
) -> None:
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=client_id,
        object_type="translation_request",
        object_id=request.id,
        fields=["source_text", "translated_text"],
    )


@dataclass
class RequestTranslationInput:
    body: str = ""
    translator_name: str | None = None
    version: int | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_request_translation_form(data: Mapping[str, Any]) -> RequestTranslationInput:
    parsed = RequestTranslationInput()
    parsed.body = read_body(data, "body", parsed.errors)
    parsed.translator_name = text(data, "translator_name", 200, parsed.errors)
    parsed.version = read_version(data)
    return parsed


def may_translate(actor: Actor, request: TranslationRequest) -> bool:
    return actor.has(Permission.TRANSLATION_WORK) and request.status in OPEN_REQUEST


def may_check_request(actor: Actor, request: TranslationRequest) -> bool:
    return (
        actor.has(Permission.MESSAGES)
        and actor.sees_own_organisation
        and request.organisation_id == actor.organisation_id
        and request.status == TranslationStatus.TRANSLATED
        and request.translator_id != actor.staff_id
    )


async def write_request_translation(
    db: AsyncSession,
    actor: Actor,
    request: TranslationRequest,
    message: Message | None,
    client_id: uuid.UUID | None,
    parsed: RequestTranslationInput,
) -> None:
    """The translator's text: the request becomes translated and the message gets the translation with
    the translator's or interpreter's origin (it replaces any earlier one in that language)."""
    if parsed.version != request.version:
        raise StaleEdit
    if not may_translate(actor, request):
        raise NotAllowed(_("This translation has already been checked."))
    now = utcnow()
    request.translated_text = parsed.body
    request.translated_at = now
    request.translator_id = actor.staff_id
    request.translator_name = parsed.translator_name
    request.status = TranslationStatus.TRANSLATED
    request.checked_by_id = None
    request.checked_at = None
    if message is not None:
        origin = TextOrigin.INTERPRETER if Role.INTERPRETER in actor.roles else TextOrigin.TRANSLATOR
        row = translation_of(message, request.target_language)
        if row is None:
            row = MessageTranslation(language=request.target_language, body="", origin=origin, source_hash="")
            message.translations.append(row)
        row.body = parsed.body
        row.origin = origin
        row.source_hash = request.source_hash
        row.translated_by_id = actor.staff_id
        row.checked_by_id = None
        row.checked_at = None
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client_id,
        object_type="translation_request",
        object_id=request.id,
        fields=["translated_text", "status", "translator_id", "translator_name"],
    )


async def check_request(
    db: AsyncSession,
    actor: Actor,
    request: TranslationRequest,
    message: Message | None,
    client_id: uuid.UUID | None,
    corrected: str | None,
    seen_version: int | None,
) -> None:
    """An officer other than the translator checks the translation (optionally correcting it)."""
    if seen_version != request.version:
        raise StaleEdit
    if not may_check_request(actor, request):
        raise NotAllowed(_("A translation is checked by someone other than the person who made it."))
    now = utcnow()
    if corrected:
        request.translated_text = corrected
    request.status = TranslationStatus.CHECKED
    request.checked_by_id = actor.staff_id
    request.checked_at = now
    if message is not None:
        row = translation_of(message, request.target_language)
        if row is not None:
            if corrected:
                row.body = corrected
            row.checked_by_id = actor.staff_id
            row.checked_at = now
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    await audit.record(
        db,
        Action.UPDATE,
        actor=actor,
        client_id=client_id,
        object_type="translation_request",
        object_id=request.id,
        fields=["status", "checked_by", *(["translated_text"] if corrected else [])],
    )


# --- texts per language of group messages and templates -------------------------------------------

TextHolder = GroupMessage | MessageTemplate
TextRow = GroupMessageText | MessageTemplateText


def text_in(holder: TextHolder, language: str) -> TextRow | None:
    return next((t for t in holder.texts if t.language == language), None)


def source_text(holder: TextHolder) -> TextRow | None:
    return text_in(holder, holder.source_language)


def current_source_hash(holder: TextHolder) -> str | None:
    source = source_text(holder)
    return content_hash(source.body) if source else None


def text_is_stale(holder: TextHolder, row: TextRow) -> bool:
    """A translation made from a source text that has changed since."""
    if row.language == holder.source_language:
        return False
    current = current_source_hash(holder)
    return current is not None and is_stale(row.source_hash, current)


def stale_languages(holder: TextHolder) -> list[str]:
    return [t.language for t in holder.texts if text_is_stale(holder, t)]


def template_body(template: MessageTemplate, language: str) -> tuple[str, str]:
    """The template's text in `language`, or its source text: (language, body)."""
    row = text_in(template, language) or source_text(template)
    return (row.language, row.body) if row else (template.source_language, "")


@dataclass
class TextInput:
    body: str = ""
    origin: TextOrigin | None = None
    version: int | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_text_form(data: Mapping[str, Any], *, is_source: bool) -> TextInput:
    parsed = TextInput()
    parsed.body = read_body(data, "body", parsed.errors)
    if is_source:
        parsed.origin = TextOrigin.ORIGINAL
    else:
        raw = str(data.get("origin") or "")
        parsed.origin = next((o for o in (*HUMAN_ORIGINS, TextOrigin.MACHINE) if o.value == raw), None)
        if parsed.origin is None:
            parsed.errors["origin"] = _("Choose who made the translation.")
    parsed.version = read_version(data)
    return parsed


def _new_text_row(holder: TextHolder, language: str, body: str, origin: TextOrigin) -> TextRow:
    """A new text row appended to the holder's texts."""
    if isinstance(holder, GroupMessage):
        group_row = GroupMessageText(language=language, body=body, origin=origin, source_hash="")
        holder.texts.append(group_row)
        return group_row
    template_row = MessageTemplateText(language=language, body=body, origin=origin, source_hash="")
    holder.texts.append(template_row)
    return template_row


def _remove_text_row(holder: TextHolder, row: TextRow) -> None:
    if isinstance(holder, GroupMessage) and isinstance(row, GroupMessageText):  # noqa: SIM114 - typed apart
        holder.texts.remove(row)
    elif isinstance(holder, MessageTemplate) and isinstance(row, MessageTemplateText):
        holder.texts.remove(row)


def _put_text(holder: TextHolder, language: str, body: str, origin: TextOrigin) -> list[str]:
    """Write one text (the source keeps its own hash, a translation the current source's); returns
    changed field names."""
    row = text_in(holder, language)
    is_source = language == holder.source_language
    if row is None:
        row = _new_text_row(holder, language, body, origin)
        changed = [f"text_{language}"]
    else:
        changed = [f"text_{language}"] if (row.body, row.origin) != (body, origin) else []
    row.body = body
    row.origin = origin
    if is_source:
        row.source_hash = content_hash(body)
    else:
        current = current_source_hash(holder)
        if current is None:
            raise NotAllowed(_("Write the text in the source language first."))
        row.source_hash = current  # whoever saves it vouches that it matches the current source
    return changed


async def _save_text(
    db: AsyncSession, actor: Actor, holder: TextHolder, language: str, parsed: TextInput, object_type: str
) -> None:
    row = text_in(holder, language)
    if (row.version if row else None) != parsed.version:
        raise StaleEdit
    if parsed.origin is None:
        raise ValueError("a validated form is needed")
    changed = _put_text(holder, language, parsed.body, parsed.origin)
    if changed:
        holder.updated_at = utcnow()  # the texts belong to the holder: bump its version too
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db, Action.UPDATE, actor=actor, object_type=object_type, object_id=holder.id, fields=changed
        )


async def _delete_text(
    db: AsyncSession, actor: Actor, holder: TextHolder, language: str, object_type: str
) -> bool:
    row = text_in(holder, language)
    if row is None or language == holder.source_language:
        return False
    _remove_text_row(holder, row)
    holder.updated_at = utcnow()
    await db.flush()
    await audit.record(
        db,
        Action.DELETE,
        actor=actor,
        object_type=object_type,
        object_id=holder.id,
        fields=[f"text_{language}"],
    )
    return True


# --- templates ------------------------------------------------------------------------------------


def _template_options() -> tuple[Any, ...]:
    return (selectinload(MessageTemplate.texts),)


async def templates(db: AsyncSession, actor: Actor, *, active_only: bool = False) -> list[MessageTemplate]:
    stmt = (
        select(MessageTemplate)
        .where(MessageTemplate.organisation_id == actor.organisation_id)
        .options(*_template_options())
        .order_by(MessageTemplate.active.desc(), MessageTemplate.name)
    )
    if active_only:
        stmt = stmt.where(MessageTemplate.active.is_(True))
    return list((await db.scalars(stmt)).all())


async def load_template(db: AsyncSession, actor: Actor, template_id: uuid.UUID) -> MessageTemplate | None:
    return await db.scalar(
        select(MessageTemplate)
        .where(MessageTemplate.id == template_id, MessageTemplate.organisation_id == actor.organisation_id)
        .options(*_template_options())
        .execution_options(populate_existing=True)
    )


@dataclass
class TemplateInput:
    name: str = ""
    source_language: str = ""
    body: str = ""
    active: bool = True
    version: int | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_template_form(data: Mapping[str, Any], *, new: bool) -> TemplateInput:
    parsed = TemplateInput()
    parsed.name = text(data, "name", MAX_SUBJECT, parsed.errors) or ""
    if not parsed.name:
        parsed.errors["name"] = _("Write a name for the template.")
    if new:
        parsed.source_language = read_language(data, "source_language", parsed.errors)
    parsed.body = read_body(data, "body", parsed.errors)
    parsed.active = checkbox(data, "active")
    parsed.version = read_version(data)
    return parsed


async def create_template(db: AsyncSession, actor: Actor, parsed: TemplateInput) -> MessageTemplate:
    template = MessageTemplate(
        organisation_id=actor.organisation_id,
        name=parsed.name,
        source_language=parsed.source_language,
        active=parsed.active,
        texts=[],
    )
    _put_text(template, parsed.source_language, parsed.body, TextOrigin.ORIGINAL)
    db.add(template)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="message_template",
        object_id=template.id,
        fields=["name", "source_language", f"text_{parsed.source_language}"],
    )
    return template


async def update_template(
    db: AsyncSession, actor: Actor, template: MessageTemplate, parsed: TemplateInput
) -> None:
    """Name, active and the source text (translations made from an older source become stale)."""
    if parsed.version != template.version:
        raise StaleEdit
    changed = [n for n in ("name", "active") if getattr(template, n) != getattr(parsed, n)]
    template.name = parsed.name
    template.active = parsed.active
    changed += _put_text(template, template.source_language, parsed.body, TextOrigin.ORIGINAL)
    if changed:
        template.updated_at = utcnow()
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            Action.UPDATE,
            actor=actor,
            object_type="message_template",
            object_id=template.id,
            fields=changed,
        )


async def save_template_text(
    db: AsyncSession, actor: Actor, template: MessageTemplate, language: str, parsed: TextInput
) -> None:
    await _save_text(db, actor, template, language, parsed, "message_template")


async def delete_template_text(
    db: AsyncSession, actor: Actor, template: MessageTemplate, language: str
) -> bool:
    return await _delete_text(db, actor, template, language, "message_template")


# --- group messages and campaigns ---------------------------------------------------------------


def _group_options() -> tuple[Any, ...]:
    return (selectinload(GroupMessage.texts),)


async def group_messages(db: AsyncSession, actor: Actor) -> list[GroupMessage]:
    return list(
        (
            await db.scalars(
                select(GroupMessage)
                .where(GroupMessage.organisation_id == actor.organisation_id)
                .options(*_group_options())
                .order_by(GroupMessage.sent_at.is_not(None), GroupMessage.created_at.desc())
                .limit(200)
            )
        ).all()
    )


async def load_group(db: AsyncSession, actor: Actor, group_id: uuid.UUID) -> GroupMessage | None:
    return await db.scalar(
        select(GroupMessage)
        .where(GroupMessage.id == group_id, GroupMessage.organisation_id == actor.organisation_id)
        .options(*_group_options())
        .execution_options(populate_existing=True)
    )


async def period_choices(db: AsyncSession, actor: Actor) -> list[tuple[str, str]]:
    """The organisation's intakes: (period id, "service – starts on")."""
    services = await catalogue(db, actor.organisation_id)
    locale = get_locale()
    rows: list[tuple[date, str, str]] = []
    for service in services:
        name = display_text(service, locale).name
        for period in service.periods:
            rows.append((period.starts_on, str(period.id), f"{name} – {format_date(period.starts_on)}"))
    return [(value, text_) for _start, value, text_ in sorted(rows, key=lambda r: (r[0], r[2]), reverse=True)]


async def my_clients(db: AsyncSession, actor: Actor) -> list[tuple[str, str]]:
    """The actor's own active clients, for hand-picking recipients: (id, "Last, First")."""
    rows = await db.execute(
        select(Client.id, Client.last_name, Client.first_names)
        .where(
            client_scope(actor),
            Client.organisation_id == actor.organisation_id,
            Client.responsible_officer_id == actor.staff_id,
            Client.status == ClientStatus.ACTIVE,
        )
        .order_by(Client.last_name, Client.first_names)
        .limit(MAX_CHOSEN)
    )
    return [(str(r.id), f"{r.last_name}, {r.first_names}") for r in rows]


@dataclass
class GroupInput:
    title: str = ""
    source_language: str = ""
    body: str = ""
    kind: GroupKind = GroupKind.GROUP
    criteria: dict[str, Any] = field(default_factory=dict)
    template_id: uuid.UUID | None = None
    version: int | None = None
    errors: FormErrors = field(default_factory=FormErrors)


def read_group_form(
    data: Mapping[str, Any],
    chosen: Sequence[str],
    periods: Iterable[tuple[str, str]],
    own_clients: Iterable[tuple[str, str]],
    *,
    new: bool,
) -> GroupInput:
    """The group message form: title, (source language,) source text, and how recipients are chosen:
    recipients = intake | chosen | criteria (a campaign)."""
    parsed = GroupInput()
    errors = parsed.errors
    parsed.title = text(data, "title", MAX_SUBJECT, errors) or ""
    if not parsed.title:
        errors["title"] = _("Write the subject.")
    if new:
        parsed.source_language = read_language(data, "source_language", errors)
    parsed.body = read_body(data, "body", errors)
    parsed.template_id = parse_uuid(data.get("template_id"))
    parsed.version = read_version(data)
    how = str(data.get("recipients") or "")
    if how == "intake":
        period = str(data.get("period_id") or "")
        if period not in {value for value, _name in periods}:
            errors["period_id"] = _("Choose the intake.")
        parsed.criteria = {"period_id": period}
    elif how == "chosen":
        allowed = {value for value, _name in own_clients}
        picked = sorted({str(c) for c in chosen if str(c) in allowed})
        if not picked:
            errors["client_ids"] = _("Choose at least one client.")
        parsed.criteria = {"client_ids": picked}
    elif how == "criteria":
        parsed.kind = GroupKind.CAMPAIGN
        criteria: dict[str, Any] = {}
        segment = str(data.get("segment") or "").strip()
        if segment:
            if segment in ("1", "2", "3"):
                criteria["segment"] = int(segment)
            else:
                errors["segment"] = _("Choose one of the options.")
        tongue = str(data.get("mother_tongue") or "").strip()
        if tongue:
            if known_language(tongue):
                criteria["mother_tongue"] = tongue
            else:
                errors["mother_tongue"] = _("Choose one of the options.")
        municipality = text(data, "municipality", 100, errors)
        if municipality:
            criteria["municipality"] = municipality
        permit = str(data.get("permit_type") or "").strip()
        if permit:
            if permit in {p.value for p in PermitType}:
                criteria["permit_type"] = permit
            else:
                errors["permit_type"] = _("Choose one of the options.")
        if not criteria and not errors:
            errors["segment"] = _("Choose at least one criterion for the target group.")
        parsed.criteria = criteria
    else:
        errors["recipients"] = _("Choose how the recipients are chosen.")
    return parsed


def group_form_values(group: GroupMessage) -> dict[str, Any]:
    source = source_text(group)
    criteria = group.criteria or {}
    values: dict[str, Any] = {
        "title": group.title,
        "source_language": group.source_language,
        "body": source.body if source else "",
        "version": group.version,
    }
    if group.kind == GroupKind.CAMPAIGN:
        values["recipients"] = "criteria"
        values.update({k: str(criteria.get(k, "")) for k in CAMPAIGN_FIELDS})
    elif "period_id" in criteria:
        values["recipients"] = "intake"
        values["period_id"] = criteria["period_id"]
    else:
        values["recipients"] = "chosen"
    return values


def _recipient_filter(actor: Actor, group: GroupMessage) -> ColumnElement[bool]:
    criteria = group.criteria or {}
    base = and_(
        client_scope(actor),
        Client.organisation_id == actor.organisation_id,
        Client.organisation_id == group.organisation_id,
        Client.status == ClientStatus.ACTIVE,
    )
    if group.kind == GroupKind.CAMPAIGN:
        clauses: list[ColumnElement[bool]] = []
        if "segment" in criteria:
            clauses.append(Client.segment == int(criteria["segment"]))
        if "mother_tongue" in criteria:
            clauses.append(Client.mother_tongue == str(criteria["mother_tongue"]))
        if "municipality" in criteria:
            clauses.append(
                func.lower(Client.municipality_of_residence) == str(criteria["municipality"]).lower()
            )
        if "permit_type" in criteria:
            clauses.append(Client.permit_type == PermitType(criteria["permit_type"]))
        return and_(base, *clauses) if clauses else false()
    if period_id := parse_uuid(criteria.get("period_id")):
        return and_(
            base,
            exists(
                select(PlanService.id)
                .join(IntegrationPlan, IntegrationPlan.id == PlanService.plan_id)
                .join(ProgrammePeriod, ProgrammePeriod.id == PlanService.period_id)
                .join(ProgrammeService, ProgrammeService.id == ProgrammePeriod.service_id)
                .where(
                    IntegrationPlan.client_id == Client.id,
                    PlanService.period_id == period_id,
                    PlanService.status.in_(IN_INTAKE),
                    ProgrammeService.organisation_id == actor.organisation_id,
                )
            ),
        )
    ids = [i for i in (parse_uuid(c) for c in criteria.get("client_ids", [])) if i is not None]
    return and_(base, Client.id.in_(ids)) if ids else false()


async def recipients(db: AsyncSession, actor: Actor, group: GroupMessage) -> list[Client]:
    """The clients the group message goes to now, with their languages loaded."""
    return list(
        (
            await db.scalars(
                select(Client)
                .where(_recipient_filter(actor, group))
                .options(selectinload(Client.languages))
                .order_by(Client.last_name, Client.first_names, Client.id)
            )
        ).all()
    )


@dataclass(frozen=True)
class Preview:
    count: int
    by_language: list[tuple[str, int]]  # (language, recipients) largest first
    not_in_own_language: int  # recipients who get English or the source text instead of their language
    wanted: list[tuple[str, int]]  # each recipient's first reading language, largest first


async def preview(db: AsyncSession, actor: Actor, group: GroupMessage) -> Preview:
    """How many get the message now, in which language; and which languages they would read best."""
    found = await recipients(db, actor, group)
    available = [t.language for t in group.texts]
    counts: Counter[str] = Counter()
    wanted: Counter[str] = Counter()
    fallback = 0
    for client in found:
        code = recipient_language(client, available, group.source_language, client.languages)
        counts[code] += 1
        own = reading_languages(client, client.languages)
        if own:
            wanted[own[0]] += 1
            if code not in own:
                fallback += 1
    return Preview(
        count=len(found),
        by_language=counts.most_common(),
        not_in_own_language=fallback,
        wanted=wanted.most_common(),
    )


def describe_criteria(group: GroupMessage, periods: Mapping[str, str]) -> list[tuple[str, str]]:
    """(what, value) pairs naming how the recipients are chosen, for the group page."""
    criteria = group.criteria or {}
    if group.kind == GroupKind.CAMPAIGN:
        shown: list[tuple[str, str]] = []
        if "segment" in criteria:
            shown.append((_("Segment"), label(int(criteria["segment"]))))
        if "mother_tongue" in criteria:
            shown.append((_("Mother tongue"), language_name(str(criteria["mother_tongue"]))))
        if "municipality" in criteria:
            shown.append((_("Municipality of residence"), str(criteria["municipality"])))
        if "permit_type" in criteria:
            shown.append((_("Permit type"), label(str(criteria["permit_type"]))))
        return shown
    if "period_id" in criteria:
        return [(_("Intake"), periods.get(str(criteria["period_id"]), "–"))]
    return [(_("Chosen clients"), str(len(criteria.get("client_ids", []))))]


async def _template_texts_for_group(
    db: AsyncSession, actor: Actor, group: GroupMessage, template_id: uuid.UUID | None
) -> list[str]:
    """When the group's source text is a template's text unchanged, take the template's other
    (up-to-date) texts as translations with their origins. Returns the languages added."""
    if template_id is None:
        return []
    template = await load_template(db, actor, template_id)
    source = source_text(group)
    if template is None or source is None:
        return []
    used = text_in(template, group.source_language)
    if used is None or used.body != source.body or text_is_stale(template, used):
        return []
    added = []
    for row in template.texts:
        if row.language == group.source_language or text_in(group, row.language) is not None:
            continue
        if text_is_stale(template, row):
            continue
        origin = TextOrigin.OFFICER if row.origin == TextOrigin.ORIGINAL else row.origin
        _put_text(group, row.language, row.body, origin)
        added.append(row.language)
    return added


async def create_group(db: AsyncSession, actor: Actor, parsed: GroupInput) -> GroupMessage:
    group = GroupMessage(
        organisation_id=actor.organisation_id,
        kind=parsed.kind,
        title=parsed.title,
        criteria=parsed.criteria,
        source_language=parsed.source_language,
        created_by_id=actor.staff_id,
        texts=[],
    )
    _put_text(group, parsed.source_language, parsed.body, TextOrigin.ORIGINAL)
    added = await _template_texts_for_group(db, actor, group, parsed.template_id)
    db.add(group)
    await db.flush()
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="group_message",
        object_id=group.id,
        fields=["title", "criteria", f"text_{parsed.source_language}", *(f"text_{c}" for c in added)],
    )
    return group


async def update_group(db: AsyncSession, actor: Actor, group: GroupMessage, parsed: GroupInput) -> None:
    """A draft's subject, recipients and source text (translations from an older source become stale)."""
    if group.sent_at is not None:
        raise NotAllowed(_("The group message has been sent; it is not changed any more."))
    if parsed.version != group.version:
        raise StaleEdit
    changed = [n for n in ("title", "kind", "criteria") if getattr(group, n) != getattr(parsed, n)]
    group.title = parsed.title
    group.kind = parsed.kind
    group.criteria = parsed.criteria
    changed += _put_text(group, group.source_language, parsed.body, TextOrigin.ORIGINAL)
    changed += [f"text_{c}" for c in await _template_texts_for_group(db, actor, group, parsed.template_id)]
    if changed:
        group.updated_at = utcnow()
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db, Action.UPDATE, actor=actor, object_type="group_message", object_id=group.id, fields=changed
        )


async def save_group_text(
    db: AsyncSession, actor: Actor, group: GroupMessage, language: str, parsed: TextInput
) -> None:
    if group.sent_at is not None:
        raise NotAllowed(_("The group message has been sent; it is not changed any more."))
    await _save_text(db, actor, group, language, parsed, "group_message")


async def delete_group_text(db: AsyncSession, actor: Actor, group: GroupMessage, language: str) -> bool:
    if group.sent_at is not None:
        raise NotAllowed(_("The group message has been sent; it is not changed any more."))
    return await _delete_text(db, actor, group, language, "group_message")


async def delete_group(db: AsyncSession, actor: Actor, group: GroupMessage) -> None:
    if group.sent_at is not None:
        raise NotAllowed(_("The group message has been sent; it is not changed any more."))
    await db.delete(group)
    await db.flush()
    await audit.record(db, Action.DELETE, actor=actor, object_type="group_message", object_id=group.id)


class RecipientsChanged(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(str(count))
        self.count = count


async def send_group(db: AsyncSession, actor: Actor, group: GroupMessage, expected: int | None) -> int:
    """Send once: a new thread per recipient with the source text as the message's original and the
    recipient's language as a translation with the text's origin; every recipient notified; audited per
    client. Raises NotAllowed (sent already, stale texts, nobody to send to) or RecipientsChanged (the
    recipients are not the number the officer confirmed)."""
    if group.sent_at is not None:
        raise NotAllowed(_("The group message has been sent already."))
    if stale := stale_languages(group):
        raise NotAllowed(
            _("Some translations were made from an older text: %(languages)s. Update or delete them first.")
            % {"languages": ", ".join(language_name(code) for code in stale)}
        )
    source = source_text(group)
    if source is None:
        raise NotAllowed(_("Write the text in the source language first."))
    found = await recipients(db, actor, group)
    if not found:
        raise NotAllowed(_("Nobody matches the recipients chosen."))
    if expected != len(found):
        raise RecipientsChanged(len(found))
    now = utcnow()
    group.sent_at = now
    group.recipient_count = len(found)
    try:
        await db.flush()  # UPDATE … WHERE version = seen: a second send in parallel fails here
    except StaleDataError as error:
        raise NotAllowed(_("The group message has been sent already.")) from error
    texts = {t.language: t for t in group.texts}
    digest = content_hash(source.body)
    sent: list[tuple[Client, Thread, Message]] = []
    for client in found:
        thread = Thread(
            id=uuid.uuid4(),
            client_id=client.id,
            organisation_id=group.organisation_id,
            subject=group.title,
            last_message_at=now,
            staff_read_at=now,
        )
        message = Message(
            id=uuid.uuid4(),
            thread_id=thread.id,
            author_kind=AuthorKind.STAFF,
            author_staff_id=actor.staff_id,
            language=group.source_language,
            body=source.body,
            created_at=now,
            group_message_id=group.id,
            translations=[],
        )
        code = recipient_language(client, texts, group.source_language, client.languages)
        if code != group.source_language:
            row = texts[code]
            message.translations.append(
                MessageTranslation(language=code, body=row.body, origin=row.origin, source_hash=digest)
            )
        db.add(thread)
        sent.append((client, thread, message))
    await db.flush()  # no relationship orders the inserts: the threads go first
    db.add_all([message for _client, _thread, message in sent])
    await db.flush()
    for client, thread, message in sent:
        await audit.record(
            db,
            Action.CREATE,
            actor=actor,
            client_id=client.id,
            object_type="message_thread",
            object_id=thread.id,
            fields=["group_message", "body", *(["translation"] if message.translations else [])],
        )
        await _notify_new_message(db, client, thread, message)
    await audit.record(
        db, Action.UPDATE, actor=actor, object_type="group_message", object_id=group.id, fields=["sent_at"]
    )
    return len(found)


# --- stakeholder e-mail ---------------------------------------------------------------------------


async def contacts(db: AsyncSession, actor: Actor, *, active_only: bool = False) -> list[StakeholderContact]:
    stmt = (
        select(StakeholderContact)
        .where(StakeholderContact.organisation_id == actor.organisation_id)
        .order_by(StakeholderContact.active.desc(), StakeholderContact.name)
    )
    if active_only:
        stmt = stmt.where(StakeholderContact.active.is_(True))
    return list((await db.scalars(stmt)).all())


async def load_contact(db: AsyncSession, actor: Actor, contact_id: uuid.UUID) -> StakeholderContact | None:
    return await db.scalar(
        select(StakeholderContact).where(
            StakeholderContact.id == contact_id, StakeholderContact.organisation_id == actor.organisation_id
        )
    )


async def provider_choices(db: AsyncSession) -> list[tuple[str, str]]:
    rows = await db.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.type == OrganisationType.SERVICE_PROVIDER)
        .order_by(Organisation.name)
    )
    return [(str(i), n) for i, n in rows]


async def provider_names(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted)))
    return {r.id: r.name for r in rows}


@dataclass
class ContactInput:
    values: dict[str, Any] = field(default_factory=dict)
    version: int | None = None
    errors: FormErrors = field(default_factory=FormErrors)


CONTACT_FIELDS = ("provider_id", "provider_name", "name", "email", "active")


def read_contact_form(data: Mapping[str, Any], providers: Iterable[tuple[str, str]]) -> ContactInput:
    parsed = ContactInput()
    errors = parsed.errors
    provider_id = str(data.get("provider_id") or "").strip()
    provider_name = text(data, "provider_name", 200, errors)
    if provider_id and provider_id not in {value for value, _name in providers}:
        errors["provider_id"] = _("Choose one of the options.")
    elif provider_id and provider_name:
        errors["provider_name"] = _("Choose an organisation or write the provider's name, not both.")
    elif not provider_id and not provider_name:
        errors["provider_id"] = _("Choose the provider or write its name.")
    name = text(data, "name", 200, errors)
    if not name:
        errors["name"] = _("Write the contact person's name.")
    email = email_field(data, "email", errors)
    if not email and "email" not in errors:
        errors["email"] = _("Enter an e-mail address like name@example.fi.")
    parsed.values = {
        "provider_id": uuid.UUID(provider_id) if provider_id and "provider_id" not in errors else None,
        "provider_name": None if provider_id else provider_name,
        "name": name or "",
        "email": email or "",
        "active": checkbox(data, "active"),
    }
    parsed.version = read_version(data)
    return parsed


def contact_form_values(contact: StakeholderContact) -> dict[str, Any]:
    return {
        "provider_id": str(contact.provider_id) if contact.provider_id else "",
        "provider_name": contact.provider_name or "",
        "name": contact.name,
        "email": contact.email,
        "active": "on" if contact.active else "",
        "version": contact.version,
    }


async def save_contact(
    db: AsyncSession, actor: Actor, contact: StakeholderContact | None, parsed: ContactInput
) -> StakeholderContact:
    if contact is None:
        contact = StakeholderContact(organisation_id=actor.organisation_id, **parsed.values)
        db.add(contact)
        changed = list(CONTACT_FIELDS)
        action = Action.CREATE
    else:
        if parsed.version != contact.version:
            raise StaleEdit
        changed = [n for n, v in parsed.values.items() if getattr(contact, n) != v]
        for name in changed:
            setattr(contact, name, parsed.values[name])
        action = Action.UPDATE
    try:
        await db.flush()
    except StaleDataError as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db, action, actor=actor, object_type="stakeholder_contact", object_id=contact.id, fields=changed
        )
    return contact


async def delete_contact(db: AsyncSession, actor: Actor, contact: StakeholderContact) -> None:
    await db.delete(contact)
    await db.flush()
    await audit.record(
        db, Action.DELETE, actor=actor, object_type="stakeholder_contact", object_id=contact.id
    )


@dataclass
class StakeholderInput:
    subject: str = ""
    body: str = ""
    locale: str = "fi"
    contacts: list[StakeholderContact] = field(default_factory=list)
    errors: FormErrors = field(default_factory=FormErrors)


def read_stakeholder_form(
    data: Mapping[str, Any], chosen: Sequence[str], available: Sequence[StakeholderContact]
) -> StakeholderInput:
    parsed = StakeholderInput()
    parsed.subject = text(data, "subject", MAX_SUBJECT, parsed.errors) or ""
    if not parsed.subject:
        parsed.errors["subject"] = _("Write the subject.")
    parsed.body = read_body(data, "body", parsed.errors)
    parsed.locale = str(data.get("locale") or "fi")
    if parsed.locale not in OFFICER_LOCALES:
        parsed.errors["locale"] = _("Choose one of the options.")
    by_id = {str(c.id): c for c in available if c.active}
    parsed.contacts = [by_id[c] for c in dict.fromkeys(str(c) for c in chosen) if c in by_id]
    if not parsed.contacts:
        parsed.errors["contact_ids"] = _("Choose at least one recipient.")
    return parsed


async def send_stakeholder_message(
    db: AsyncSession, actor: Actor, parsed: StakeholderInput
) -> StakeholderMessage:
    """Store the message and queue one e-mail per contact (the worker renders it from the stored text)."""
    message = StakeholderMessage(
        id=uuid.uuid4(),
        organisation_id=actor.organisation_id,
        subject=parsed.subject,
        body=parsed.body,
        sent_by_id=actor.staff_id,
        sent_at=utcnow(),
        recipient_ids=[str(c.id) for c in parsed.contacts],
    )
    db.add(message)
    await db.flush()
    for contact in parsed.contacts:
        await outbox.notify_address(
            db,
            Channel.EMAIL,
            contact.email,
            NotificationKind.STAKEHOLDER,
            payload={"stakeholder_message_id": str(message.id)},
            locale=parsed.locale,
            dedupe_key=f"stakeholder:{message.id}:{contact.id}",
        )
    await audit.record(
        db,
        Action.CREATE,
        actor=actor,
        object_type="stakeholder_message",
        object_id=message.id,
        fields=["subject", "body", "recipient_ids"],
    )
    return message


async def stakeholder_messages(db: AsyncSession, actor: Actor) -> list[StakeholderMessage]:
    return list(
        (
            await db.scalars(
                select(StakeholderMessage)
                .where(StakeholderMessage.organisation_id == actor.organisation_id)
                .order_by(StakeholderMessage.sent_at.desc())
                .limit(100)
            )
        ).all()
    )


async def load_stakeholder_message(
    db: AsyncSession, actor: Actor, message_id: uuid.UUID
) -> StakeholderMessage | None:
    return await db.scalar(
        select(StakeholderMessage).where(
            StakeholderMessage.id == message_id, StakeholderMessage.organisation_id == actor.organisation_id
        )
    )


@dataclass(frozen=True)
class Delivery:
    name: str
    email: str
    status: str | None
    delivered_at: datetime | None


async def deliveries(db: AsyncSession, message: StakeholderMessage) -> list[Delivery]:
    """Each recipient with the state of their e-mail in the outbox."""
    ids = [i for i in (parse_uuid(r) for r in message.recipient_ids) if i is not None]
    people = {
        c.id: c
        for c in (
            await db.scalars(
                select(StakeholderContact).where(
                    StakeholderContact.id.in_(ids),
                    StakeholderContact.organisation_id == message.organisation_id,
                )
            )
        ).all()
    }
    prefix = f"stakeholder:{message.id}:"
    rows = await db.execute(
        select(OutboxMessage.dedupe_key, OutboxMessage.status, OutboxMessage.delivered_at).where(
            OutboxMessage.dedupe_key.like(prefix + "%")
        )
    )
    state = {str(r.dedupe_key).removeprefix(prefix): (r.status, r.delivered_at) for r in rows}
    found = []
    for contact_id in ids:
        contact = people.get(contact_id)
        status, at = state.get(str(contact_id), (None, None))
        found.append(
            Delivery(
                name=contact.name if contact else "–",
                email=contact.email if contact else "–",
                status=status.value if status else None,
                delivered_at=at,
            )
        )
    return found
