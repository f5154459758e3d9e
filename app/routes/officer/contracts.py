"""Contracts with service providers (service 11): the list, create and edit, renewal decisions, and
attachments (upload, download, removal).

Every route needs the contracts permission; a contract (or attachment) of another organisation answers
404. Bad input shows the form again with every value and translated errors (422); a stale save answers
409 with the input kept and the saved values shown. The contract data itself is not personal data, so
the list's filters travel in the query string; the client search for a housing lease is a POST.

Uploads: Litestar stops reading a body above `uploads.MAX_ATTACHMENT_BYTES` for this route
(`request_max_body_size`), and `UploadLimit` — the route's own middleware, which runs before the CSRF
check parses the multipart body — stops at the configured ATTACHMENT_MAX_BYTES (plus the form's own few
kilobytes): an announced Content-Length above it is refused before anything is read, a body without one
is cut off where it passes the limit. Both answer 413 with a translated page.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
from litestar import Request, Response, Router, get, post
from litestar.datastructures import Headers, UploadFile
from litestar.exceptions import NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.middleware import ASGIMiddleware
from litestar.plugins.htmx import HTMXRequest
from litestar.response import File, Redirect, Template
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.contracts import Contract, ContractKind
from app.domain import clients as client_register
from app.domain import contracts, uploads
from app.domain.forms import FormErrors, today
from app.domain.policy import Actor, Permission, load_client
from app.i18n import _
from app.settings import Settings
from app.web import form_of, requires, settings_of, staff_guard

GUARD = [requires(Permission.CONTRACTS)]


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


async def _contract_or_404(db: AsyncSession, actor: Actor, contract_id: uuid.UUID) -> Contract:
    contract = await contracts.load(db, actor, contract_id)
    if contract is None:
        raise NotFoundException
    return contract


def _max_bytes(settings: Settings) -> int:
    return min(settings.attachment_max_bytes, uploads.MAX_ATTACHMENT_BYTES)


# --- the list -------------------------------------------------------------------------------------


@get("/contracts", guards=GUARD)
async def contracts_page(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    filters = contracts.Filters.read(request.query_params)
    on = today()
    rows = await contracts.listing(db_session, actor, filters, on)
    return Template(
        "officer/contracts/list.html",
        context={
            "actor": actor,
            "rows": rows,
            "filters": filters.as_form(),
            "filtered": bool(filters.kind or filters.status or filters.query),
            "kinds": ContractKind,
            "statuses": contracts.Status,
            "euros": contracts.euros,
            "today": on,
        },
    )


# --- create and edit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientOption:
    value: str
    name: str
    born: Any = None
    elsewhere: bool = False  # linked, but no longer a client the actor may see (e.g. transferred)


async def _client_options(
    db: AsyncSession,
    actor: Actor,
    contract: Contract | None,
    chosen: str,
    candidates: list[Client] | None = None,
) -> list[ClientOption]:
    """The radio options of the client link: the one linked now, the one chosen in the form, results."""
    options: list[ClientOption] = []
    seen: set[str] = set()

    def add(client: Client) -> None:
        if str(client.id) not in seen and client.organisation_id == actor.organisation_id:
            seen.add(str(client.id))
            options.append(ClientOption(str(client.id), f"{client.last_name}, {client.first_names}",
                                        client.date_of_birth))  # fmt: skip

    for raw in (str(contract.client_id) if contract and contract.client_id else "", chosen):
        if not raw or raw in seen:
            continue
        try:
            found = await load_client(db, actor, uuid.UUID(raw))
        except ValueError:
            continue
        if found is not None and found.organisation_id == actor.organisation_id:
            add(found)
        elif contract is not None and raw == str(contract.client_id):
            seen.add(raw)
            options.append(ClientOption(raw, "", elsewhere=True))
    for client in candidates or []:
        add(client)
    return options


async def _form_page(
    db: AsyncSession,
    actor: Actor,
    contract: Contract | None,
    form: dict[str, Any],
    status: int = 200,
    *,
    errors: FormErrors | None = None,
    candidates: list[Client] | None = None,
    searched: bool = False,
    conflict: list[tuple[str, str]] | None = None,
) -> Template:
    staff = await contracts.staff_choices(db, actor, contract.responsible_staff_id if contract else None)
    options = await _client_options(db, actor, contract, str(form.get("client_id") or ""), candidates)
    found = len([c for c in candidates or [] if c.organisation_id == actor.organisation_id])
    if contract is not None and contract.client_id is not None:
        await contracts.record_view(db, actor, contract)
    return Template(
        "officer/contracts/form.html",
        context={
            "actor": actor,
            "contract": contract,
            "form": form,
            "errors": errors or FormErrors(),
            "kinds": ContractKind,
            "staff": [(str(s.id), s.full_name) for s in staff],
            "client_options": options,
            "searched": searched,
            "found": found,
            "may_search_clients": actor.has(Permission.CLIENT_READ),
            "conflict": conflict,
            "default_notice_days": contracts.DEFAULT_NOTICE_DAYS,
        },
        status_code=status,
    )


async def _chosen_client(
    db: AsyncSession, actor: Actor, raw: str, current: uuid.UUID | None, errors: FormErrors
) -> tuple[uuid.UUID | None, Client | None]:
    """The client the form links (none, the one linked already, or one of the actor's organisation's
    clients found by the access policy); an error on `client_id` for anything else."""
    if not raw:
        return None, None
    try:
        client_id = uuid.UUID(raw)
    except ValueError:
        errors["client_id"] = _("Choose the client from the search results.")
        return None, None
    client = await load_client(db, actor, client_id)
    if client is not None and client.organisation_id == actor.organisation_id:
        return client_id, client
    if client_id == current:  # linked before and no longer visible (transferred): the link stays as it was
        return client_id, None
    errors["client_id"] = _("Choose the client from the search results.")
    return None, None


async def _staff_ids(db: AsyncSession, actor: Actor, contract: Contract | None) -> set[str]:
    staff = await contracts.staff_choices(db, actor, contract.responsible_staff_id if contract else None)
    return {str(s.id) for s in staff}


@get("/contracts/new", guards=GUARD)
async def new_contract(db_session: AsyncSession, actor: Actor) -> Template:
    return await _form_page(db_session, actor, None, contracts.new_form())


@post("/contracts", guards=GUARD)
async def create_contract(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor
) -> Template | Redirect:
    data = await form_of(request)
    parsed = contracts.read_form(data, await _staff_ids(db_session, actor, None))
    _client_id, client = await _chosen_client(
        db_session, actor, str(data.get("client_id") or ""), None, parsed.errors
    )
    if parsed.errors:
        return await _form_page(db_session, actor, None, data, 422, errors=parsed.errors)
    contract = await contracts.create(db_session, actor, parsed, client)
    return Redirect(f"/officer/contracts/{contract.id}", status_code=303)


async def _find_clients(
    request: HTMXRequest, db: AsyncSession, actor: Actor
) -> tuple[dict[str, Any], list[Client]]:
    """The client search of the form (a POST: names never go into addresses); the search is audited."""
    data = await form_of(request)
    query = str(data.get("client_query") or "")[:100]
    if not actor.has(Permission.CLIENT_READ) or not query.strip():
        return data, []
    result = await client_register.search(db, actor, query)
    return data, [c for c in result.clients if c.organisation_id == actor.organisation_id]


@post("/contracts/new/find-client", guards=GUARD)
async def find_client_new(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    data, found = await _find_clients(request, db_session, actor)
    return await _form_page(db_session, actor, None, data, candidates=found, searched=True)


@get("/contracts/{contract_id:uuid}/edit", guards=GUARD)
async def edit_contract(db_session: AsyncSession, actor: Actor, contract_id: uuid.UUID) -> Template:
    contract = await _contract_or_404(db_session, actor, contract_id)
    return await _form_page(db_session, actor, contract, contracts.form_values(contract))


@post("/contracts/{contract_id:uuid}/find-client", guards=GUARD)
async def find_client_edit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, contract_id: uuid.UUID
) -> Template:
    contract = await _contract_or_404(db_session, actor, contract_id)
    data, found = await _find_clients(request, db_session, actor)
    return await _form_page(db_session, actor, contract, data, candidates=found, searched=True)


@post("/contracts/{contract_id:uuid}", guards=GUARD)
async def update_contract(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, contract_id: uuid.UUID
) -> Template | Redirect:
    contract = await _contract_or_404(db_session, actor, contract_id)
    data = await form_of(request)
    parsed = contracts.read_form(data, await _staff_ids(db_session, actor, contract))
    client_id, _client = await _chosen_client(
        db_session, actor, str(data.get("client_id") or ""), contract.client_id, parsed.errors
    )
    if parsed.errors:
        return await _form_page(db_session, actor, contract, data, 422, errors=parsed.errors)
    try:
        await contracts.update(db_session, actor, contract, _version(data), parsed, client_id)
    except contracts.StaleEdit:
        await db_session.rollback()
        fresh = await _contract_or_404(db_session, actor, contract_id)
        # Keep what the user typed; show what is saved now; the next save is a conscious overwrite.
        return await _form_page(
            db_session,
            actor,
            fresh,
            {**data, "version": fresh.version},
            409,
            conflict=contracts.differences(
                fresh, data, await contracts.staff_names(db_session, [fresh.responsible_staff_id])
            ),
        )
    return Redirect(f"/officer/contracts/{contract.id}", status_code=303)


# --- the contract's page --------------------------------------------------------------------------


async def _detail(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    contract: Contract,
    status: int = 200,
    **context: Any,
) -> Template:
    on = today()
    attachments = await contracts.attachments_of(db, contract)
    names = await contracts.staff_names(
        db, [contract.responsible_staff_id, *(a.uploaded_by_id for a in attachments)]
    )
    client = await load_client(db, actor, contract.client_id) if contract.client_id else None
    if client is not None and client.organisation_id != actor.organisation_id:
        client = None
    await contracts.record_view(db, actor, contract)
    context.setdefault("upload_errors", FormErrors())
    context.setdefault("renewal_errors", FormErrors())
    context.setdefault("renewal_form", {})
    context.setdefault("notice", None)
    return Template(
        "officer/contracts/detail.html",
        context={
            "actor": actor,
            "contract": contract,
            "status": contracts.status_of(contract, on),
            "notice_from": contracts.notice_from(contract),
            "notice_days": contracts.notice_days(contract),
            "reminder_open": contracts.reminder_open(contract, on),
            "attachments": attachments,
            "names": names,
            "client": client,
            "euros": contracts.euros,
            "size_label": uploads.size_label,
            "max_size": uploads.size_label(_max_bytes(settings)),
            "allowed_types": uploads.ALLOWED_TYPES_TEXT,
            "accept": ",".join(ext for t in uploads.TYPES for ext in t.extensions),
            "today": on,
            **context,
        },
        status_code=status,
    )


@get("/contracts/{contract_id:uuid}", guards=GUARD)
async def contract_page(
    db_session: AsyncSession, actor: Actor, settings: Settings, contract_id: uuid.UUID
) -> Template:
    contract = await _contract_or_404(db_session, actor, contract_id)
    return await _detail(db_session, actor, settings, contract)


@post("/contracts/{contract_id:uuid}/renewal", guards=GUARD)
async def record_renewal(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings, contract_id: uuid.UUID
) -> Template | Redirect:
    contract = await _contract_or_404(db_session, actor, contract_id)
    data = await form_of(request)
    decision, new_end, errors = contracts.read_decision(data, contract)
    if errors or decision is None:
        return await _detail(
            db_session, actor, settings, contract, 422, renewal_errors=errors, renewal_form=data
        )
    try:
        await contracts.decide(db_session, actor, contract, _version(data), decision, new_end, today())
    except contracts.StaleEdit:
        await db_session.rollback()
        fresh = await _contract_or_404(db_session, actor, contract_id)
        notice = _(
            "Someone saved changes to this contract after you opened the page. Nothing was saved. Check the "
            "contract as it is now and record the decision again if it is still needed."
        )
        return await _detail(db_session, actor, settings, fresh, 409, renewal_form=data, notice=notice)
    return Redirect(f"/officer/contracts/{contract.id}#renewal", status_code=303)


# --- attachments ----------------------------------------------------------------------------------


class UploadLimit(ASGIMiddleware):
    """Stops reading an upload body past the configured limit (see the module's docstring)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        settings: Settings = scope["litestar_app"].state["settings"]
        limit = _max_bytes(settings) + uploads.FORM_OVERHEAD_BYTES
        announced = Headers.from_scope(scope).get("content-length")
        if announced is not None and announced.isdigit() and int(announced) > limit:
            raise RequestEntityTooLarge
        received = 0

        async def counted() -> ReceiveMessage:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestEntityTooLarge
            return message

        await next_app(scope, counted, send)


def too_large_page(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    """413 for an upload cut off by a limit: a translated page pointing back to the contract."""
    contract_id = request.path_params.get("contract_id")
    return Template(
        "officer/contracts/too_large.html",
        context={
            "limit": uploads.size_label(_max_bytes(settings_of(request))),
            "back": f"/officer/contracts/{contract_id}#attachments" if contract_id else "/officer/contracts",
        },
        status_code=413,
    )


@post(
    "/contracts/{contract_id:uuid}/attachments",
    guards=GUARD,
    request_max_body_size=uploads.MAX_ATTACHMENT_BYTES + uploads.FORM_OVERHEAD_BYTES,
    middleware=[UploadLimit()],
    exception_handlers={413: too_large_page},
)
async def upload_attachment(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, settings: Settings, contract_id: uuid.UUID
) -> Template | Redirect:
    contract = await _contract_or_404(db_session, actor, contract_id)
    form = await request.form()
    upload = form.get("file")
    errors = FormErrors()
    if not isinstance(upload, UploadFile):
        errors["file"] = _("Choose a file to attach.")
        return await _detail(db_session, actor, settings, contract, 422, upload_errors=errors)
    try:
        stored = await anyio.to_thread.run_sync(uploads.store, settings, upload.file, upload.filename or "")
    except uploads.Rejected as problem:
        errors["file"] = uploads.message(problem, _max_bytes(settings))
        return await _detail(db_session, actor, settings, contract, problem.status_code, upload_errors=errors)
    finally:
        await upload.close()
    try:
        await contracts.add_attachment(db_session, actor, contract, stored)
        await db_session.commit()
    except BaseException:
        await anyio.to_thread.run_sync(uploads.remove, settings, stored.storage_name)
        raise
    return Redirect(f"/officer/contracts/{contract.id}#attachments", status_code=303)


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback in `filename`, the real name in `filename*` (RFC 8187, UTF-8)."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\%;' else "_"
        for ch in unicodedata.normalize("NFKD", filename)
        if not unicodedata.combining(ch)  # "Ä" → "A", a letter without an ASCII base → "_"
    ).strip()
    stem, dot, ext = fallback.rpartition(".")
    if not dot:
        stem, ext = fallback, ""
    if not stem.strip("_ "):  # nothing readable left, e.g. a name in Arabic script
        fallback = "attachment" + (f".{ext}" if ext else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@get("/contracts/{contract_id:uuid}/attachments/{attachment_id:uuid}", guards=GUARD)
async def download_attachment(
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    contract_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> File:
    contract = await _contract_or_404(db_session, actor, contract_id)
    attachment = await contracts.load_attachment(db_session, contract, attachment_id)
    if attachment is None:
        raise NotFoundException
    path = uploads.path_of(settings, attachment.storage_name)
    if not await anyio.Path(path).is_file():
        raise NotFoundException
    await contracts.record_download(db_session, actor, contract, attachment)
    await db_session.commit()  # the download is on record before its bytes leave
    return File(
        path=path,
        media_type=attachment.content_type,
        content_disposition_type="attachment",
        headers={
            "content-disposition": content_disposition(attachment.filename),
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )


@post("/contracts/{contract_id:uuid}/attachments/{attachment_id:uuid}/delete", guards=GUARD)
async def delete_attachment(
    db_session: AsyncSession,
    actor: Actor,
    settings: Settings,
    contract_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> Redirect:
    contract = await _contract_or_404(db_session, actor, contract_id)
    attachment = await contracts.load_attachment(db_session, contract, attachment_id)
    if attachment is None:
        raise NotFoundException
    storage_name = await contracts.delete_attachment(db_session, actor, contract, attachment)
    # The row goes first: a file left without a row is harmless, a row without its file is not.
    await db_session.commit()
    await anyio.to_thread.run_sync(uploads.remove, settings, storage_name)
    return Redirect(f"/officer/contracts/{contract.id}#attachments", status_code=303)


router = Router(
    include_in_schema=False,
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        contracts_page,
        new_contract,
        create_contract,
        find_client_new,
        edit_contract,
        find_client_edit,
        update_contract,
        contract_page,
        record_renewal,
        upload_attachment,
        download_attachment,
        delete_attachment,
    ],
)
