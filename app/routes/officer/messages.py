"""Messaging (service 8) and translation work (service 15): the team's inbox and threads with clients,
translations of messages (by hand, by a translator on request, or by machine when configured), group
messages and campaigns, templates, and e-mail to partners' contacts.

Another organisation's thread, message, template, group message, contact or request answers 404; bad
input shows the same page again with the errors and everything typed (422); a stale edit answers 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import TextOrigin
from app.db.client import Client, ClientStatus, PermitType
from app.db.messaging import (
    GroupMessage,
    Message,
    MessageTemplate,
    StakeholderContact,
    Thread,
    TranslationRequest,
    TranslationStatus,
)
from app.domain import audit, machine_translation, messaging
from app.domain.audit import Action
from app.domain.forms import FormErrors
from app.domain.policy import Actor, Permission, load_client, may_write_client
from app.i18n import OFFICER_LOCALES, PUBLIC_LOCALES, _, language_name
from app.settings import Settings
from app.web import requires, staff_guard

MESSAGES = [requires(Permission.MESSAGES)]
TRANSLATION_WORK = [requires(Permission.TRANSLATION_WORK)]


async def _form(request: HTMXRequest) -> dict[str, Any]:
    form = await request.form()
    return {k: form.get(k) for k in form}


def _insert(body: str, addition: str) -> str:
    """A template's text put into what was typed (after it, when something was typed)."""
    return f"{body.rstrip()}\n\n{addition}" if body.strip() else addition


def _stay(page: Template) -> Template:
    """A form shown again after "insert a template": the address bar stays where it was (the form's
    action has no page of its own)."""
    page.headers["HX-Push-Url"] = "false"
    return page


def _common(actor: Actor, **context: Any) -> dict[str, Any]:
    return {
        "actor": actor,
        "human_origins": messaging.HUMAN_ORIGINS,
        "origin_label": messaging.origin_label,
        "needs_check": messaging.needs_check,
        **context,
    }


# --- inbox and threads ----------------------------------------------------------------------------


@get("/messages", guards=MESSAGES)
async def inbox_page(
    db_session: AsyncSession, actor: Actor, mine: bool = False, unread: bool = False, page: int = 1
) -> Template:
    found = await messaging.inbox(db_session, actor, mine=mine, unread_only=unread, page=page)
    # The list names clients and subjects: one view event for the page.
    await audit.record(db_session, Action.VIEW, actor=actor, object_type="message_thread", fields=["inbox"])
    return Template(
        "officer/messages/inbox.html",
        context=_common(actor, inbox=found, mine=mine, unread=unread),
    )


async def _thread_or_404(db: AsyncSession, actor: Actor, thread_id: uuid.UUID) -> tuple[Thread, Client]:
    found = await messaging.load_thread(db, actor, thread_id)
    if found is None:
        raise NotFoundException
    return found


async def _writable_thread(
    db: AsyncSession, actor: Actor, thread_id: uuid.UUID
) -> tuple[Thread, Client, list[Message]]:
    thread, client = await _thread_or_404(db, actor, thread_id)
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return thread, client, await messaging.messages_of(db, thread.id)


def _message_or_404(messages: list[Message], message_id: uuid.UUID) -> Message:
    message = messaging.message_of(messages, message_id)
    if message is None:
        raise NotFoundException
    return message


async def _thread_page(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    thread: Thread,
    client: Client,
    messages: list[Message] | None = None,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    """The thread page; `section` names the form whose input and errors are shown again."""
    messages = messages if messages is not None else await messaging.messages_of(db, thread.id)
    ids = [m.id for m in messages]
    requests = (
        (
            await db.scalars(
                select(TranslationRequest)
                .where(TranslationRequest.message_id.in_(ids))
                .order_by(TranslationRequest.requested_at)
            )
        ).all()
        if ids
        else []
    )
    names = await messaging.staff_names(
        db,
        [m.author_staff_id for m in messages]
        + [t.translated_by_id for m in messages for t in m.translations]
        + [t.checked_by_id for m in messages for t in m.translations],
    )
    reading = messaging.reading_languages(client)
    may_write = may_write_client(actor, client)
    last_staff = next((m for m in reversed(messages) if m.author_staff_id), None)
    form = form or {}
    if section != "reply":
        form = {**form, "reply": {"language": last_staff.language if last_staff else "fi"}}
    return Template(
        "officer/messages/thread.html",
        context=_common(
            actor,
            thread=thread,
            client=client,
            messages=messages,
            requests={m: [r for r in requests if r.message_id == m] for m in ids},
            names=names,
            reading=reading,
            may_write=may_write,
            may_check=messaging.may_check,
            is_stale=messaging.translation_is_stale,
            mt_on=machine_translation.is_on(settings),
            templates=await messaging.templates(db, actor, active_only=True) if may_write else [],
            translators=await messaging.translator_choices(db, actor) if may_write else [],
            section=section,
            form=form,
            errors=errors or FormErrors(),
            notice=notice,
        ),
        status_code=status,
    )


@get("/messages/{thread_id:uuid}", guards=MESSAGES)
async def thread_page(
    db_session: AsyncSession, actor: Actor, settings: Settings, thread_id: uuid.UUID
) -> Template:
    thread, client = await _thread_or_404(db_session, actor, thread_id)
    messages = await messaging.messages_of(db_session, thread.id)
    await messaging.open_thread(db_session, actor, thread, client, messages)
    return await _thread_page(db_session, actor, settings, thread, client, messages)


async def _template_text(
    db: AsyncSession, actor: Actor, data: dict[str, Any], language: str, errors: FormErrors
) -> tuple[str, str] | None:
    """The chosen template's (id, text in `language` or its source language), or None with an error."""
    template_id = messaging.parse_uuid(data.get("template_choice"))
    template = await messaging.load_template(db, actor, template_id) if template_id else None
    if template is None or not template.active:
        errors["template_choice"] = _("Choose a template.")
        return None
    _code, body = messaging.template_body(template, language or template.source_language)
    return str(template.id), body


@post("/messages/{thread_id:uuid}", guards=MESSAGES)
async def reply(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings, thread_id: uuid.UUID
) -> Template | Redirect:
    thread, client, messages = await _writable_thread(db_session, actor, thread_id)
    data = await _form(request)
    if data.get("action") == "insert":
        errors = FormErrors()
        found = await _template_text(db_session, actor, data, str(data.get("language") or ""), errors)
        if found:
            data["template_id"], text = found
            data["body"] = _insert(str(data.get("body") or ""), text)
        return _stay(await _thread_page(
            db_session, actor, settings, thread, client, messages, section="reply",
            form={"reply": data}, errors=errors, status=422 if errors else 200,
        ))  # fmt: skip
    parsed = messaging.read_message_form(data, with_subject=False)
    if parsed.errors:
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, section="reply",
            form={"reply": data}, errors=parsed.errors, status=422,
        )  # fmt: skip
    message = await messaging.reply(db_session, actor, thread, client, parsed)
    return Redirect(f"/officer/messages/{thread.id}#message-{message.id}", status_code=303)


async def _client_or_404(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None or client.organisation_id != actor.organisation_id:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


async def _new_thread_page(
    db: AsyncSession, actor: Actor, client: Client, form: dict[str, Any], errors: FormErrors, status: int
) -> Template:
    return Template(
        "officer/messages/new_thread.html",
        context=_common(
            actor,
            client=client,
            form=form,
            errors=errors,
            templates=await messaging.templates(db, actor, active_only=True),
            reading=messaging.reading_languages(client),
        ),
        status_code=status,
    )


@get("/clients/{client_id:uuid}/threads/new", guards=MESSAGES)
async def new_thread(db_session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Template:
    client = await _client_or_404(db_session, actor, client_id)
    return await _new_thread_page(db_session, actor, client, {"language": "fi"}, FormErrors(), 200)


@post("/clients/{client_id:uuid}/threads", guards=MESSAGES)
async def create_thread(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _client_or_404(db_session, actor, client_id)
    data = await _form(request)
    if data.get("action") == "insert":
        errors = FormErrors()
        found = await _template_text(db_session, actor, data, str(data.get("language") or ""), errors)
        if found:
            data["template_id"], text = found
            data["body"] = _insert(str(data.get("body") or ""), text)
        return _stay(await _new_thread_page(db_session, actor, client, data, errors, 422 if errors else 200))
    parsed = messaging.read_message_form(data, with_subject=True)
    if parsed.errors:
        return await _new_thread_page(db_session, actor, client, data, parsed.errors, 422)
    thread = await messaging.start_thread(db_session, actor, client, parsed)
    return Redirect(f"/officer/messages/{thread.id}", status_code=303)


# --- translations of a message ------------------------------------------------------------------


@post("/messages/{thread_id:uuid}/messages/{message_id:uuid}/translations", guards=MESSAGES)
async def save_translation(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    thread_id: uuid.UUID,
    message_id: uuid.UUID,
) -> Template | Redirect:
    thread, client, messages = await _writable_thread(db_session, actor, thread_id)
    message = _message_or_404(messages, message_id)
    data = await _form(request)
    section = f"translation-{message.id}"
    parsed = messaging.read_translation_form(data, message.language)
    if parsed.errors:
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, section=section,
            form={section: data}, errors=parsed.errors, status=422,
        )  # fmt: skip
    try:
        await messaging.save_message_translation(db_session, actor, client, message, parsed)
    except messaging.StaleEdit:
        await db_session.rollback()
        thread, client, messages = await _writable_thread(db_session, actor, thread_id)
        fresh = messaging.translation_of(_message_or_404(messages, message_id), parsed.language)
        notice = _(
            "Someone saved a translation into %(language)s after you opened the page. Your text has not "
            "been saved; it is still in the form. The saved translation is shown with the message: save "
            "again to replace it."
        ) % {"language": language_name(parsed.language)}
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, section=section,
            form={section: {**data, "version": fresh.version if fresh else ""}}, notice=notice, status=409,
        )  # fmt: skip
    return Redirect(f"/officer/messages/{thread.id}#message-{message.id}", status_code=303)


@post("/messages/{thread_id:uuid}/translations/{translation_id:uuid}/check", guards=MESSAGES)
async def check_translation(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    thread_id: uuid.UUID,
    translation_id: uuid.UUID,
) -> Template | Redirect:
    thread, client, messages = await _writable_thread(db_session, actor, thread_id)
    found = next(((m, t) for m in messages for t in m.translations if t.id == translation_id), None)
    if found is None:
        raise NotFoundException
    message, row = found
    data = await _form(request)
    section = f"check-{row.id}"
    errors = FormErrors()
    corrected = messaging.read_body(data, "body", errors, required=False)
    if errors:
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, section=section,
            form={section: data}, errors=errors, status=422,
        )  # fmt: skip
    try:
        await messaging.check_translation(
            db_session, actor, client, message, row, corrected or None, messaging.read_version(data)
        )
    except messaging.NotAllowed as problem:
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, notice=problem.message, status=409
        )
    except messaging.StaleEdit:
        await db_session.rollback()
        thread, client, messages = await _writable_thread(db_session, actor, thread_id)
        notice = _(
            "Someone changed or checked this translation after you opened the page. Nothing was saved; "
            "the translation as it is now is shown below."
        )
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, notice=notice, status=409
        )
    return Redirect(f"/officer/messages/{thread.id}#message-{message.id}", status_code=303)


@post("/messages/{thread_id:uuid}/messages/{message_id:uuid}/machine-translation", guards=MESSAGES)
async def machine_translate(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    thread_id: uuid.UUID,
    message_id: uuid.UUID,
) -> Template | Redirect:
    thread, client, messages = await _writable_thread(db_session, actor, thread_id)
    message = _message_or_404(messages, message_id)
    data = await _form(request)
    section = f"machine-{message.id}"
    errors = FormErrors()
    target = messaging.read_language(data, "language", errors)
    if errors:
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, section=section,
            form={section: data}, errors=errors, status=422,
        )  # fmt: skip
    try:
        await machine_translation.translate_message(db_session, actor, settings, client, message, target)
    except machine_translation.MachineTranslationOff:
        return await _thread_page(
            db_session, actor, settings, thread, client, messages,
            notice=_("Machine translation is not in use."), status=409,
        )  # fmt: skip
    except machine_translation.MachineTranslationError as problem:
        await db_session.rollback()
        thread, client, messages = await _writable_thread(db_session, actor, thread_id)
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, section=section,
            form={section: data}, errors=FormErrors(language=problem.message), status=422,
        )  # fmt: skip
    return Redirect(f"/officer/messages/{thread.id}#message-{message.id}", status_code=303)


@post("/messages/{thread_id:uuid}/messages/{message_id:uuid}/translation-requests", guards=MESSAGES)
async def ask_translation(
    request: HTMXRequest,
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    thread_id: uuid.UUID,
    message_id: uuid.UUID,
) -> Template | Redirect:
    thread, client, messages = await _writable_thread(db_session, actor, thread_id)
    message = _message_or_404(messages, message_id)
    data = await _form(request)
    section = f"request-{message.id}"
    translators = await messaging.translator_choices(db_session, actor)
    parsed = messaging.read_request_form(data, message.language, translators)
    if not parsed.errors:
        try:
            await messaging.request_translation(db_session, actor, client, message, parsed)
        except messaging.NotAllowed as problem:
            parsed.errors["language"] = problem.message
    if parsed.errors:
        return await _thread_page(
            db_session, actor, settings, thread, client, messages, section=section,
            form={section: data}, errors=parsed.errors, status=422,
        )  # fmt: skip
    return Redirect(f"/officer/messages/{thread.id}#message-{message.id}", status_code=303)


# --- translation requests (service 15) ----------------------------------------------------------


@get("/translation-requests", guards=TRANSLATION_WORK)
async def requests_page(db_session: AsyncSession, actor: Actor, status: str = "") -> Template:
    chosen = next((s for s in TranslationStatus if s.value == status), None)
    rows = await messaging.translation_requests(db_session, actor, chosen)
    return Template(
        "officer/messages/requests.html",
        context=_common(actor, rows=rows, status=status, statuses=list(TranslationStatus)),
    )


async def _request_or_404(
    db: AsyncSession, actor: Actor, request_id: uuid.UUID
) -> tuple[TranslationRequest, Message | None, uuid.UUID | None]:
    found = await messaging.load_request(db, actor, request_id)
    if found is None:
        raise NotFoundException
    return found


async def _request_page(
    db: AsyncSession,
    actor: Actor,
    request: TranslationRequest,
    message: Message | None,
    client_id: uuid.UUID | None,
    *,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    names = await messaging.staff_names(
        db, [request.requested_by_id, request.translator_id, request.checked_by_id]
    )
    thread_id = message.thread_id if message is not None else None
    return Template(
        "officer/messages/request.html",
        context=_common(
            actor,
            job=request,  # "request" is Litestar's own in templates
            names=names,
            thread_id=thread_id if actor.has(Permission.MESSAGES) else None,
            may_translate=messaging.may_translate(actor, request),
            may_check=messaging.may_check_request(actor, request),
            form=form or {"body": request.translated_text or "", "translator_name": request.translator_name},
            errors=errors or FormErrors(),
            notice=notice,
        ),
        status_code=status,
    )


async def _relationship_ended(db: AsyncSession, client_id: uuid.UUID | None) -> str | None:
    """Why a translation of this client's message cannot be saved: the relationship has ended, and an
    ended relationship is read-only (§77). None when it can."""
    if client_id is None:
        return None
    status = await db.scalar(select(Client.status).where(Client.id == client_id))
    if status != ClientStatus.ENDED:
        return None
    return _(
        "The client relationship has ended: its messages are kept as they are, without new translations."
    )


@get("/translation-requests/{request_id:uuid}", guards=TRANSLATION_WORK)
async def request_page(db_session: AsyncSession, actor: Actor, request_id: uuid.UUID) -> Template:
    found, message, client_id = await _request_or_404(db_session, actor, request_id)
    await messaging.audit_request_view(db_session, actor, found, client_id)
    return await _request_page(db_session, actor, found, message, client_id)


@post("/translation-requests/{request_id:uuid}", guards=TRANSLATION_WORK)
async def write_translation(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, request_id: uuid.UUID
) -> Template | Redirect:
    found, message, client_id = await _request_or_404(db_session, actor, request_id)
    data = await _form(request)
    if ended := await _relationship_ended(db_session, client_id):
        return await _request_page(
            db_session, actor, found, message, client_id, form=data, notice=ended, status=409
        )
    parsed = messaging.read_request_translation_form(data)
    if parsed.errors:
        return await _request_page(
            db_session, actor, found, message, client_id, form=data, errors=parsed.errors, status=422
        )
    try:
        await messaging.write_request_translation(db_session, actor, found, message, client_id, parsed)
    except messaging.NotAllowed as problem:
        return await _request_page(
            db_session, actor, found, message, client_id, form=data, notice=problem.message, status=409
        )
    except messaging.StaleEdit:
        await db_session.rollback()
        found, message, client_id = await _request_or_404(db_session, actor, request_id)
        notice = _(
            "Someone saved this translation after you opened the page. Your text has not been saved; it "
            "is still in the form. Save again to replace the saved one."
        )
        return await _request_page(
            db_session, actor, found, message, client_id,
            form={**data, "version": found.version}, notice=notice, status=409,
        )  # fmt: skip
    return Redirect(f"/officer/translation-requests/{found.id}", status_code=303)


@post("/translation-requests/{request_id:uuid}/check", guards=MESSAGES)
async def check_request(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, request_id: uuid.UUID
) -> Template | Redirect:
    found, message, client_id = await _request_or_404(db_session, actor, request_id)
    data = await _form(request)
    if ended := await _relationship_ended(db_session, client_id):
        return await _request_page(db_session, actor, found, message, client_id, notice=ended, status=409)
    errors = FormErrors()
    corrected = messaging.read_body(data, "checked_body", errors, required=False)
    if errors:
        return await _request_page(db_session, actor, found, message, client_id, errors=errors, status=422)
    if corrected == (found.translated_text or ""):
        corrected = ""
    try:
        await messaging.check_request(
            db_session, actor, found, message, client_id, corrected or None, messaging.read_version(data)
        )
    except messaging.NotAllowed as problem:
        return await _request_page(
            db_session, actor, found, message, client_id, notice=problem.message, status=409
        )
    except messaging.StaleEdit:
        await db_session.rollback()
        found, message, client_id = await _request_or_404(db_session, actor, request_id)
        notice = _("Someone changed this translation after you opened the page. Check it again.")
        return await _request_page(db_session, actor, found, message, client_id, notice=notice, status=409)
    return Redirect(f"/officer/translation-requests/{found.id}", status_code=303)


# --- templates ------------------------------------------------------------------------------------


async def _template_or_404(db: AsyncSession, actor: Actor, template_id: uuid.UUID) -> MessageTemplate:
    template = await messaging.load_template(db, actor, template_id)
    if template is None:
        raise NotFoundException
    return template


def _language_or_404(language: str) -> str:
    if not messaging.known_language(language):
        raise NotFoundException
    return language


def _text_rows(holder: messaging.TextHolder, extra: list[str]) -> list[tuple[str, Any]]:
    """(language, text or None): the source first, then the texts, then suggested languages."""
    codes = [holder.source_language]
    for code in [t.language for t in holder.texts] + extra:
        if code not in codes:
            codes.append(code)
    return [(code, messaging.text_in(holder, code)) for code in codes]


@get("/messages/templates", guards=MESSAGES)
async def templates_page(db_session: AsyncSession, actor: Actor) -> Template:
    found = await messaging.templates(db_session, actor)
    return Template(
        "officer/messages/templates.html",
        context=_common(actor, templates=found, stale={t.id: messaging.stale_languages(t) for t in found}),
    )


def _template_form_page(
    actor: Actor,
    template: MessageTemplate | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
    conflict: bool = False,
) -> Template:
    return Template(
        "officer/messages/template_form.html",
        context=_common(
            actor, template=template, form=form, errors=errors or FormErrors(), conflict=conflict
        ),
        status_code=status,
    )


@get("/messages/templates/new", guards=MESSAGES)
async def new_template(actor: Actor) -> Template:
    return _template_form_page(actor, None, {"source_language": "fi", "active": "on"})


@post("/messages/templates", guards=MESSAGES)
async def create_template(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor
) -> Template | Redirect:
    data = await _form(request)
    parsed = messaging.read_template_form(data, new=True)
    if parsed.errors:
        return _template_form_page(actor, None, data, parsed.errors, 422)
    template = await messaging.create_template(db_session, actor, parsed)
    return Redirect(f"/officer/messages/templates/{template.id}", status_code=303)


@get("/messages/templates/{template_id:uuid}", guards=MESSAGES)
async def template_page(db_session: AsyncSession, actor: Actor, template_id: uuid.UUID) -> Template:
    template = await _template_or_404(db_session, actor, template_id)
    return Template(
        "officer/messages/template.html",
        context=_common(
            actor,
            template=template,
            rows=_text_rows(template, list(PUBLIC_LOCALES)),
            stale=messaging.stale_languages(template),
        ),
    )


def _template_values(template: MessageTemplate) -> dict[str, Any]:
    source = messaging.source_text(template)
    return {
        "name": template.name,
        "source_language": template.source_language,
        "body": source.body if source else "",
        "active": "on" if template.active else "",
        "version": template.version,
    }


@get("/messages/templates/{template_id:uuid}/edit", guards=MESSAGES)
async def edit_template(db_session: AsyncSession, actor: Actor, template_id: uuid.UUID) -> Template:
    template = await _template_or_404(db_session, actor, template_id)
    return _template_form_page(actor, template, _template_values(template))


@post("/messages/templates/{template_id:uuid}", guards=MESSAGES)
async def update_template(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, template_id: uuid.UUID
) -> Template | Redirect:
    template = await _template_or_404(db_session, actor, template_id)
    data = await _form(request)
    parsed = messaging.read_template_form(data, new=False)
    if parsed.errors:
        return _template_form_page(actor, template, data, parsed.errors, 422)
    try:
        await messaging.update_template(db_session, actor, template, parsed)
    except messaging.StaleEdit:
        await db_session.rollback()
        fresh = await _template_or_404(db_session, actor, template_id)
        return _template_form_page(
            actor, fresh, {**data, "version": fresh.version}, status=409, conflict=True
        )
    return Redirect(f"/officer/messages/templates/{template.id}", status_code=303)


def _text_page(
    actor: Actor,
    holder: messaging.TextHolder,
    language: str,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Template:
    row = messaging.text_in(holder, language)
    is_group = isinstance(holder, GroupMessage)
    return Template(
        "officer/messages/text_form.html",
        context=_common(
            actor,
            holder=holder,
            base=f"/officer/messages/{'groups' if is_group else 'templates'}/{holder.id}",
            title=holder.title if isinstance(holder, GroupMessage) else holder.name,
            language=language,
            source=messaging.source_text(holder),
            text=row,
            stale=row is not None and messaging.text_is_stale(holder, row),
            origins=[*messaging.HUMAN_ORIGINS, TextOrigin.MACHINE],
            form=form,
            errors=errors or FormErrors(),
            notice=notice,
        ),
        status_code=status,
    )


def _text_values(holder: messaging.TextHolder, language: str) -> dict[str, Any]:
    row = messaging.text_in(holder, language)
    if row is None:
        return {"origin": TextOrigin.OFFICER.value, "version": ""}
    return {"body": row.body, "origin": row.origin.value, "version": row.version}


@get("/messages/templates/{template_id:uuid}/texts", guards=MESSAGES)
async def choose_template_text(
    db_session: AsyncSession, actor: Actor, template_id: uuid.UUID, language: str = ""
) -> Redirect:
    template = await _template_or_404(db_session, actor, template_id)
    return Redirect(f"/officer/messages/templates/{template.id}/texts/{_language_or_404(language)}")


@get("/messages/templates/{template_id:uuid}/texts/{language:str}", guards=MESSAGES)
async def template_text(
    db_session: AsyncSession, actor: Actor, template_id: uuid.UUID, language: str
) -> Template | Redirect:
    template = await _template_or_404(db_session, actor, template_id)
    language = _language_or_404(language)
    if language == template.source_language:
        return Redirect(f"/officer/messages/templates/{template.id}/edit")
    return _text_page(actor, template, language, _text_values(template, language))


async def _save_text(
    request: HTMXRequest,
    db: AsyncSession,
    actor: Actor,
    owner: Any,
    language: str,
    *,
    save: Callable[..., Awaitable[Any]],
    reload: Callable[[], Awaitable[Any]],
    back: str,
) -> Template | Redirect:
    """Save a translation of a template's or a group message's text (not its source language)."""
    language = _language_or_404(language)
    if language == owner.source_language:
        raise NotFoundException
    data = await _form(request)
    parsed = messaging.read_text_form(data, is_source=False)
    if parsed.errors:
        return _text_page(actor, owner, language, data, parsed.errors, 422)
    try:
        await save(db, actor, owner, language, parsed)
    except messaging.StaleEdit:
        await db.rollback()
        fresh = await reload()
        row = messaging.text_in(fresh, language)
        return _text_page(
            actor, fresh, language, {**data, "version": row.version if row else ""}, status=409,
            notice=_("Someone else saved this text after you opened the form. Your text has not been saved; "
                     "it is still in the form. Save again to replace the saved one."),
        )  # fmt: skip
    return Redirect(back, status_code=303)


@post("/messages/templates/{template_id:uuid}/texts/{language:str}", guards=MESSAGES)
async def save_template_text(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, template_id: uuid.UUID, language: str
) -> Template | Redirect:
    template = await _template_or_404(db_session, actor, template_id)
    return await _save_text(
        request,
        db_session,
        actor,
        template,
        language,
        save=messaging.save_template_text,
        reload=lambda: _template_or_404(db_session, actor, template_id),
        back=f"/officer/messages/templates/{template.id}#texts",
    )


@post("/messages/templates/{template_id:uuid}/texts/{language:str}/delete", guards=MESSAGES)
async def delete_template_text(
    db_session: AsyncSession, actor: Actor, template_id: uuid.UUID, language: str
) -> Redirect:
    template = await _template_or_404(db_session, actor, template_id)
    if not await messaging.delete_template_text(db_session, actor, template, language):
        raise NotFoundException
    return Redirect(f"/officer/messages/templates/{template.id}#texts", status_code=303)


# --- group messages and campaigns ---------------------------------------------------------------


async def _group_or_404(db: AsyncSession, actor: Actor, group_id: uuid.UUID) -> GroupMessage:
    group = await messaging.load_group(db, actor, group_id)
    if group is None:
        raise NotFoundException
    return group


@get("/messages/groups", guards=MESSAGES)
async def groups_page(db_session: AsyncSession, actor: Actor) -> Template:
    found = await messaging.group_messages(db_session, actor)
    return Template("officer/messages/groups.html", context=_common(actor, groups=found))


async def _group_form_page(
    db: AsyncSession,
    actor: Actor,
    group: GroupMessage | None,
    form: dict[str, Any],
    chosen: list[str],
    errors: FormErrors | None = None,
    status: int = 200,
    conflict: bool = False,
) -> Template:
    own = await messaging.my_clients(db, actor)
    # The form lists the officer's own clients by name.
    await audit.record(
        db, Action.SEARCH, actor=actor, object_type="client", fields=["responsible_officer_id"]
    )
    return Template(
        "officer/messages/group_form.html",
        context=_common(
            actor,
            group=group,
            form=form,
            chosen=chosen,
            errors=errors or FormErrors(),
            conflict=conflict,
            periods=await messaging.period_choices(db, actor),
            own_clients=own,
            templates=await messaging.templates(db, actor, active_only=True),
            permit_types=PermitType,
        ),
        status_code=status,
    )


async def _group_input(
    request: HTMXRequest, db: AsyncSession, actor: Actor, *, new: bool
) -> tuple[dict[str, Any], list[str], messaging.GroupInput]:
    form = await request.form()
    data = {k: form.get(k) for k in form}
    chosen = [str(c) for c in form.getall("client_ids", [])]
    periods = await messaging.period_choices(db, actor)
    own = await messaging.my_clients(db, actor)
    return data, chosen, messaging.read_group_form(data, chosen, periods, own, new=new)


@get("/messages/groups/new", guards=MESSAGES)
async def new_group(db_session: AsyncSession, actor: Actor) -> Template:
    return await _group_form_page(
        db_session, actor, None, {"source_language": "fi", "recipients": "intake"}, []
    )


async def _insert_into_group_form(
    db: AsyncSession, actor: Actor, data: dict[str, Any], language: str
) -> FormErrors:
    errors = FormErrors()
    found = await _template_text(db, actor, data, language, errors)
    if found:
        data["template_id"], text = found
        data["body"] = _insert(str(data.get("body") or ""), text)
    return errors


@post("/messages/groups", guards=MESSAGES)
async def create_group(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data, chosen, parsed = await _group_input(request, db_session, actor, new=True)
    if data.get("action") == "insert":
        errors = await _insert_into_group_form(
            db_session, actor, data, str(data.get("source_language") or "")
        )
        return _stay(
            await _group_form_page(db_session, actor, None, data, chosen, errors, 422 if errors else 200)
        )
    if parsed.errors:
        return await _group_form_page(db_session, actor, None, data, chosen, parsed.errors, 422)
    group = await messaging.create_group(db_session, actor, parsed)
    return Redirect(f"/officer/messages/groups/{group.id}", status_code=303)


async def _group_page(
    db: AsyncSession, actor: Actor, group: GroupMessage, notice: str | None = None, status: int = 200
) -> Template:
    periods = dict(await messaging.period_choices(db, actor))
    shown = await messaging.preview(db, actor, group) if group.sent_at is None else None
    wanted = [code for code, _count in shown.wanted] if shown else []
    return Template(
        "officer/messages/group.html",
        context=_common(
            actor,
            group=group,
            criteria=messaging.describe_criteria(group, periods),
            rows=_text_rows(group, wanted + [c for c in PUBLIC_LOCALES if group.sent_at is None]),
            stale=messaging.stale_languages(group),
            preview=shown,
            names=await messaging.staff_names(db, [group.created_by_id]),
            notice=notice,
        ),
        status_code=status,
    )


@get("/messages/groups/{group_id:uuid}", guards=MESSAGES)
async def group_page(db_session: AsyncSession, actor: Actor, group_id: uuid.UUID) -> Template:
    group = await _group_or_404(db_session, actor, group_id)
    return await _group_page(db_session, actor, group)


def _draft(group: GroupMessage) -> GroupMessage:
    if group.sent_at is not None:
        raise PermissionDeniedException(_("The group message has been sent; it is not changed any more."))
    return group


@get("/messages/groups/{group_id:uuid}/edit", guards=MESSAGES)
async def edit_group(db_session: AsyncSession, actor: Actor, group_id: uuid.UUID) -> Template:
    group = _draft(await _group_or_404(db_session, actor, group_id))
    chosen = [str(c) for c in (group.criteria or {}).get("client_ids", [])]
    return await _group_form_page(db_session, actor, group, messaging.group_form_values(group), chosen)


@post("/messages/groups/{group_id:uuid}", guards=MESSAGES)
async def update_group(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, group_id: uuid.UUID
) -> Template | Redirect:
    group = _draft(await _group_or_404(db_session, actor, group_id))
    data, chosen, parsed = await _group_input(request, db_session, actor, new=False)
    if data.get("action") == "insert":
        errors = await _insert_into_group_form(db_session, actor, data, group.source_language)
        return _stay(
            await _group_form_page(db_session, actor, group, data, chosen, errors, 422 if errors else 200)
        )
    if parsed.errors:
        return await _group_form_page(db_session, actor, group, data, chosen, parsed.errors, 422)
    try:
        await messaging.update_group(db_session, actor, group, parsed)
    except messaging.StaleEdit:
        await db_session.rollback()
        fresh = await _group_or_404(db_session, actor, group_id)
        return await _group_form_page(
            db_session, actor, fresh, {**data, "version": fresh.version}, chosen, status=409, conflict=True
        )
    return Redirect(f"/officer/messages/groups/{group.id}", status_code=303)


@get("/messages/groups/{group_id:uuid}/texts", guards=MESSAGES)
async def choose_group_text(
    db_session: AsyncSession, actor: Actor, group_id: uuid.UUID, language: str = ""
) -> Redirect:
    group = await _group_or_404(db_session, actor, group_id)
    return Redirect(f"/officer/messages/groups/{group.id}/texts/{_language_or_404(language)}")


@get("/messages/groups/{group_id:uuid}/texts/{language:str}", guards=MESSAGES)
async def group_text(
    db_session: AsyncSession, actor: Actor, group_id: uuid.UUID, language: str
) -> Template | Redirect:
    group = _draft(await _group_or_404(db_session, actor, group_id))
    language = _language_or_404(language)
    if language == group.source_language:
        return Redirect(f"/officer/messages/groups/{group.id}/edit")
    return _text_page(actor, group, language, _text_values(group, language))


@post("/messages/groups/{group_id:uuid}/texts/{language:str}", guards=MESSAGES)
async def save_group_text(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, group_id: uuid.UUID, language: str
) -> Template | Redirect:
    group = _draft(await _group_or_404(db_session, actor, group_id))
    return await _save_text(
        request,
        db_session,
        actor,
        group,
        language,
        save=messaging.save_group_text,
        reload=lambda: _group_or_404(db_session, actor, group_id),
        back=f"/officer/messages/groups/{group.id}#texts",
    )


@post("/messages/groups/{group_id:uuid}/texts/{language:str}/delete", guards=MESSAGES)
async def delete_group_text(
    db_session: AsyncSession, actor: Actor, group_id: uuid.UUID, language: str
) -> Redirect:
    group = _draft(await _group_or_404(db_session, actor, group_id))
    if not await messaging.delete_group_text(db_session, actor, group, language):
        raise NotFoundException
    return Redirect(f"/officer/messages/groups/{group.id}#texts", status_code=303)


@post("/messages/groups/{group_id:uuid}/send", guards=MESSAGES)
async def send_group(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, group_id: uuid.UUID
) -> Template | Redirect:
    group = await _group_or_404(db_session, actor, group_id)
    data = await _form(request)
    raw = str(data.get("expected") or "")
    try:
        await messaging.send_group(db_session, actor, group, int(raw) if raw.isdigit() else None)
    except messaging.NotAllowed as problem:
        await db_session.rollback()
        fresh = await _group_or_404(db_session, actor, group_id)
        return await _group_page(db_session, actor, fresh, notice=problem.message, status=409)
    except messaging.RecipientsChanged as changed:
        await db_session.rollback()
        fresh = await _group_or_404(db_session, actor, group_id)
        notice = _(
            "The recipients have changed since the preview: the message would now go to %(count)s clients. "
            "Check the numbers and send again."
        ) % {"count": changed.count}
        return await _group_page(db_session, actor, fresh, notice=notice, status=409)
    return Redirect(f"/officer/messages/groups/{group.id}", status_code=303)


@post("/messages/groups/{group_id:uuid}/delete", guards=MESSAGES)
async def delete_group(db_session: AsyncSession, actor: Actor, group_id: uuid.UUID) -> Template | Redirect:
    group = await _group_or_404(db_session, actor, group_id)
    try:
        await messaging.delete_group(db_session, actor, group)
    except messaging.NotAllowed as problem:
        return await _group_page(db_session, actor, group, notice=problem.message, status=409)
    return Redirect("/officer/messages/groups", status_code=303)


# --- partners' contacts and stakeholder e-mail ----------------------------------------------------


async def _stakeholders_page(
    db: AsyncSession,
    actor: Actor,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    chosen: list[str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Template:
    found = await messaging.contacts(db, actor)
    return Template(
        "officer/messages/stakeholders.html",
        context=_common(
            actor,
            contacts=found,
            providers=await messaging.provider_choices(db),
            provider_names=await messaging.provider_names(db, [c.provider_id for c in found]),
            sent=await messaging.stakeholder_messages(db, actor),
            locales=OFFICER_LOCALES,
            section=section,
            form=form or {},
            chosen=chosen or [],
            errors=errors or FormErrors(),
        ),
        status_code=status,
    )


@get("/messages/stakeholders", guards=MESSAGES)
async def stakeholders_page(db_session: AsyncSession, actor: Actor) -> Template:
    return await _stakeholders_page(db_session, actor)


@post("/messages/stakeholders/contacts", guards=MESSAGES)
async def create_contact(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data = await _form(request)
    parsed = messaging.read_contact_form(data, await messaging.provider_choices(db_session))
    if parsed.errors:
        return await _stakeholders_page(
            db_session, actor, section="contact", form=data, errors=parsed.errors, status=422
        )
    await messaging.save_contact(db_session, actor, None, parsed)
    return Redirect("/officer/messages/stakeholders#contacts", status_code=303)


async def _contact_or_404(db: AsyncSession, actor: Actor, contact_id: uuid.UUID) -> StakeholderContact:
    contact = await messaging.load_contact(db, actor, contact_id)
    if contact is None:
        raise NotFoundException
    return contact


async def _contact_page(
    db: AsyncSession,
    actor: Actor,
    contact: StakeholderContact,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
    conflict: bool = False,
) -> Template:
    return Template(
        "officer/messages/contact_form.html",
        context=_common(
            actor,
            contact=contact,
            providers=await messaging.provider_choices(db),
            form=form,
            errors=errors or FormErrors(),
            conflict=conflict,
        ),
        status_code=status,
    )


@get("/messages/stakeholders/contacts/{contact_id:uuid}/edit", guards=MESSAGES)
async def edit_contact(db_session: AsyncSession, actor: Actor, contact_id: uuid.UUID) -> Template:
    contact = await _contact_or_404(db_session, actor, contact_id)
    return await _contact_page(db_session, actor, contact, messaging.contact_form_values(contact))


@post("/messages/stakeholders/contacts/{contact_id:uuid}", guards=MESSAGES)
async def update_contact(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, contact_id: uuid.UUID
) -> Template | Redirect:
    contact = await _contact_or_404(db_session, actor, contact_id)
    data = await _form(request)
    parsed = messaging.read_contact_form(data, await messaging.provider_choices(db_session))
    if parsed.errors:
        return await _contact_page(db_session, actor, contact, data, parsed.errors, 422)
    try:
        await messaging.save_contact(db_session, actor, contact, parsed)
    except messaging.StaleEdit:
        await db_session.rollback()
        fresh = await _contact_or_404(db_session, actor, contact_id)
        return await _contact_page(
            db_session, actor, fresh, {**data, "version": fresh.version}, status=409, conflict=True
        )
    return Redirect("/officer/messages/stakeholders#contacts", status_code=303)


@post("/messages/stakeholders/contacts/{contact_id:uuid}/delete", guards=MESSAGES)
async def delete_contact(db_session: AsyncSession, actor: Actor, contact_id: uuid.UUID) -> Redirect:
    contact = await _contact_or_404(db_session, actor, contact_id)
    await messaging.delete_contact(db_session, actor, contact)
    return Redirect("/officer/messages/stakeholders#contacts", status_code=303)


@post("/messages/stakeholders/messages", guards=MESSAGES)
async def send_stakeholder_message(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor
) -> Template | Redirect:
    form = await request.form()
    data = {k: form.get(k) for k in form}
    chosen = [str(c) for c in form.getall("contact_ids", [])]
    available = await messaging.contacts(db_session, actor, active_only=True)
    parsed = messaging.read_stakeholder_form(data, chosen, available)
    if parsed.errors:
        return await _stakeholders_page(
            db_session, actor, section="message", form=data, chosen=chosen, errors=parsed.errors, status=422
        )
    message = await messaging.send_stakeholder_message(db_session, actor, parsed)
    return Redirect(f"/officer/messages/stakeholders/messages/{message.id}", status_code=303)


@get("/messages/stakeholders/messages/{message_id:uuid}", guards=MESSAGES)
async def stakeholder_message_page(db_session: AsyncSession, actor: Actor, message_id: uuid.UUID) -> Template:
    message = await messaging.load_stakeholder_message(db_session, actor, message_id)
    if message is None:
        raise NotFoundException
    return Template(
        "officer/messages/stakeholder_message.html",
        context=_common(
            actor,
            message=message,
            deliveries=await messaging.deliveries(db_session, message),
            names=await messaging.staff_names(db_session, [message.sent_by_id]),
        ),
    )


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        inbox_page,
        thread_page,
        reply,
        new_thread,
        create_thread,
        save_translation,
        check_translation,
        machine_translate,
        ask_translation,
        requests_page,
        request_page,
        write_translation,
        check_request,
        templates_page,
        new_template,
        create_template,
        template_page,
        edit_template,
        update_template,
        choose_template_text,
        template_text,
        save_template_text,
        delete_template_text,
        groups_page,
        new_group,
        create_group,
        group_page,
        edit_group,
        update_group,
        choose_group_text,
        group_text,
        save_group_text,
        delete_group_text,
        send_group,
        delete_group,
        stakeholders_page,
        create_contact,
        edit_contact,
        update_contact,
        delete_contact,
        send_stakeholder_message,
        stakeholder_message_page,
    ],
)
