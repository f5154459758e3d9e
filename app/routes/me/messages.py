"""Migrant app: messages (see app/routes/me/__init__.py).

GET  /me/messages                        the client's threads: subject, last message, unread marker
GET  /me/messages/<thread_id>            the messages in the client's language, the original one tap away;
                                         opening marks the thread read
POST /me/messages/<thread_id>/reply      the client's reply (POST/redirect/GET; 422 keeps the text)

A thread is looked up only among the signed-in client's own threads: anyone else's id answers 404.
Every view is audited as the client's (opening a thread through messaging.mark_read_by_client).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.client import Client
from app.db.messaging import Thread
from app.domain import audit, messaging, my_messages
from app.domain.audit import Action
from app.domain.forms import FormErrors
from app.i18n import _
from app.web import client_guard, current_client, form_of, page

GUARDS = [client_guard]


@get("/me/messages", guards=GUARDS)
async def threads_page(request: HTMXRequest, db_session: AsyncSession) -> Template:
    client = current_client(request).client
    threads = await messaging.threads_for_client(db_session, client)
    unread = await my_messages.unread_thread_ids(db_session, client) if threads else set()
    if threads:
        await audit.record(
            db_session,
            Action.VIEW,
            actor_kind="client",
            actor_id=client.id,
            client_id=client.id,
            object_type="message_thread",
            fields=["subject"],
        )
    return page("me/messages.html", me=client, section="messages", threads=threads, unread=unread)


async def _thread_or_404(db: AsyncSession, client: Client, thread_id: uuid.UUID) -> Thread:
    thread = await my_messages.load_thread(db, client, thread_id)
    if thread is None:
        raise NotFoundException
    return thread


async def _thread_page(
    db: AsyncSession,
    client: Client,
    thread: Thread,
    *,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Template:
    """The thread as the client reads it; the view marks it read and is audited (mark_read_by_client)."""
    read_until = thread.client_read_at
    messages = await messaging.messages_of(db, thread.id)
    order = my_messages.reading_order(
        client, i18n.get_locale(), await my_messages.client_languages(db, client)
    )
    await messaging.mark_read_by_client(db, client, thread.id)
    choices = my_messages.reply_languages(order)
    form = form or {"language": order[0] if order else i18n.get_locale()}
    return page(
        "me/thread.html",
        status_code=status,
        me=client,
        section="messages",
        thread=thread,
        team=await my_messages.team_name(db, thread),
        shown=my_messages.shown_all(messages, order, read_until),
        languages=choices,
        form=form,
        errors=errors or FormErrors(),
    )


@get("/me/messages/{thread_id:uuid}", guards=GUARDS)
async def thread_page(request: HTMXRequest, db_session: AsyncSession, thread_id: uuid.UUID) -> Template:
    client = current_client(request).client
    thread = await _thread_or_404(db_session, client, thread_id)
    return await _thread_page(db_session, client, thread)


@post("/me/messages/{thread_id:uuid}/reply", guards=GUARDS)
async def reply(request: HTMXRequest, db_session: AsyncSession, thread_id: uuid.UUID) -> Template | Redirect:
    client = current_client(request).client
    thread = await _thread_or_404(db_session, client, thread_id)
    data = await form_of(request)
    body = str(data.get("body") or "")
    language = str(data.get("language") or "")
    known = await my_messages.client_languages(db_session, client)
    order = my_messages.reading_order(client, i18n.get_locale(), known)
    offered = {code for code, _name in my_messages.reply_languages(order)}
    errors = FormErrors()
    if language not in offered:
        errors["language"] = _("Choose one of the options.")
    if not errors:
        try:
            message = await messaging.client_reply(db_session, client, thread.id, body, language)
        except messaging.InvalidMessage as problem:
            errors = problem.errors
        except messaging.ThreadNotFound:
            raise NotFoundException from None
    if errors:
        return await _thread_page(db_session, client, thread, form=data, errors=errors, status=422)
    return Redirect(f"/me/messages/{thread.id}#message-{message.id}", status_code=303)


router = Router(path="/", route_handlers=[threads_page, thread_page, reply])
