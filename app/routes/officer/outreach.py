"""Outreach (process 3.4.4) and benefit data (etuustiedot), the staff side.

Staff with the outreach permission import the lists (upload → preview, nothing written → confirm), work
the outreach worklist and an item's page: contact attempts, status, benefits, and the person becoming a
client (or linked to one). Another organisation's item or import answers 404; staff without the
permission (county staff, administrators) get 403.

The client page's benefit section posts here too: adding, editing and ending a client's benefit needs the
permission to change clients and the policy's may_write_client (the client out of scope: 404; read-only,
e.g. an ended relationship: 403).

Bad input shows the form again with translated errors and every typed value (422); a change to something
saved meanwhile is refused with the input kept and a translated message (409).

The file travels twice: uploaded for the preview (at most MAX_IMPORT_BYTES; Litestar stops reading a
larger body, answered with a translated 413 page), then posted back base64-encoded in the confirming
form, where it is read and validated again — the preview itself stores nothing.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.client import Client
from app.db.outreach import (
    BenefitStatus,
    BenefitType,
    ContactChannel,
    ContactOutcome,
    ImportMode,
    ImportSource,
    OutreachItem,
    OutreachReason,
    OutreachStatus,
)
from app.domain import benefits, outreach, outreach_imports
from app.domain.clients import page_url as client_page_url
from app.domain.forms import FormErrors, date_field, today
from app.domain.outreach_imports import MAX_IMPORT_BYTES, AlreadyImported, HasErrors, Parsed
from app.domain.policy import Actor, Permission, load_client, may_write_client
from app.i18n import _
from app.web import form_of, requires, staff_guard

OUTREACH = [requires(Permission.OUTREACH)]
WRITE = [requires(Permission.CLIENT_WRITE)]
# The confirming form carries the file base64-encoded (4/3 of its size) and a few fields.
CONFIRM_BODY_BYTES = MAX_IMPORT_BYTES * 4 // 3 + outreach_imports.FORM_OVERHEAD_BYTES
UPLOAD_BODY_BYTES = MAX_IMPORT_BYTES + outreach_imports.FORM_OVERHEAD_BYTES


def _version(data: dict[str, Any]) -> int:
    try:
        return int(data.get("version") or 0)
    except ValueError:
        return 0


def _stale_message() -> str:
    return _(
        "Someone else changed this person's outreach data after you opened the page (or a newer list was "
        "imported). Check the data as it is now and make your change again."
    )


# --- imports ---------------------------------------------------------------------------------------


async def _imports_page(
    db: AsyncSession,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "officer/outreach/imports.html",
        context={
            "actor": actor,
            "formats": outreach_imports.FORMATS,
            "sources": ImportSource,
            "recent": await outreach_imports.recent(db, actor),
            "form": form or {},
            "errors": errors or FormErrors(),
            "max_mb": MAX_IMPORT_BYTES // (1024 * 1024),
        },
        status_code=status,
    )


@get("/outreach/imports", guards=OUTREACH)
async def imports_page(db_session: AsyncSession, actor: Actor) -> Template:
    return await _imports_page(db_session, actor)


def too_large_page(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    """413 for an upload past the limit: a translated page pointing back to the import form."""
    return Template(
        "officer/outreach/too_large.html",
        context={"message": outreach_imports.too_large_message()},
        status_code=413,
    )


def _source(value: Any, errors: FormErrors) -> ImportSource | None:
    try:
        return ImportSource(str(value or ""))
    except ValueError:
        errors["source"] = _("Choose who sent the list.")
        return None


async def _preview_page(
    db: AsyncSession,
    actor: Actor,
    parsed: Parsed,
    content: bytes,
    *,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    previous = await outreach_imports.previous_import(db, actor.organisation_id, parsed.source, parsed.sha256)
    return Template(
        "officer/outreach/preview.html",
        context={
            "actor": actor,
            "parsed": parsed,
            "format": outreach_imports.FORMATS[parsed.source],
            "rows": parsed.rows[: outreach_imports.MAX_ROWS_SHOWN],
            "row_errors": parsed.errors[: outreach_imports.MAX_ERRORS_SHOWN],
            "content": base64.b64encode(content).decode("ascii"),
            "previous": previous,
            "notice": notice,
        },
        status_code=status,
    )


@post(
    "/outreach/imports/preview",
    guards=OUTREACH,
    request_max_body_size=UPLOAD_BODY_BYTES,
    exception_handlers={413: too_large_page},
)
async def preview_import(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template:
    """Read and check the uploaded list; nothing is written."""
    form = await request.form()
    errors = FormErrors()
    source = _source(form.get("source"), errors)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = _("Choose the file to import.")
    if errors or source is None or not isinstance(upload, UploadFile):
        return await _imports_page(
            db_session, actor, form={"source": str(form.get("source") or "")}, errors=errors, status=422
        )
    try:
        content = await upload.read(MAX_IMPORT_BYTES + 1)
    finally:
        await upload.close()
    if len(content) > MAX_IMPORT_BYTES:
        errors["file"] = outreach_imports.too_large_message()
        return await _imports_page(
            db_session, actor, form={"source": source.value}, errors=errors, status=413
        )
    parsed = outreach_imports.read(content, source, upload.filename or "", today())
    if not parsed.readable:
        errors["file"] = " ".join(parsed.file_errors)
        return await _imports_page(
            db_session, actor, form={"source": source.value}, errors=errors, status=422
        )
    return await _preview_page(db_session, actor, parsed, content)


@post("/outreach/imports", guards=OUTREACH, request_max_body_size=CONFIRM_BODY_BYTES)
async def confirm_import(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    """Import the previewed file: all rows, or — the officer's explicit choice — only the valid ones."""
    data = await form_of(request)
    errors = FormErrors()
    source = _source(data.get("source"), errors)
    try:
        content = base64.b64decode(str(data.get("content") or ""), validate=True)
    except (binascii.Error, ValueError):
        content = b""
    try:
        mode = ImportMode(str(data.get("mode") or ""))
    except ValueError:
        mode = None
    if source is None or not content or mode is None:
        errors["file"] = _("The file did not come through. Upload it again.")
        return await _imports_page(db_session, actor, errors=errors, status=422)
    parsed = outreach_imports.read(content, source, str(data.get("file_name") or ""), today())
    if not parsed.readable:
        errors["file"] = " ".join(parsed.file_errors)
        return await _imports_page(
            db_session, actor, form={"source": source.value}, errors=errors, status=422
        )
    try:
        record = await outreach_imports.run(db_session, actor, parsed, mode)
    except HasErrors:
        return await _preview_page(
            db_session, actor, parsed, content, status=422,
            notice=_(
                "Nothing was imported: %(count)s rows have errors. Correct the file and upload it again, or "
                "choose to import only the valid rows."
            ) % {"count": parsed.rejected},
        )  # fmt: skip
    except IntegrityError:  # another import added the same people or the same file at this moment
        await db_session.rollback()
        return await _preview_page(
            db_session, actor, parsed, content, status=409,
            notice=_("Nothing was imported: another import added some of these people at the same moment. "
                     "Import the file again."),
        )  # fmt: skip
    except AlreadyImported as already:  # nothing was written
        found = await outreach_imports.load(db_session, actor, already.previous_id)
        assert found is not None
        return Template(
            "officer/outreach/import_done.html",
            context={"actor": actor, "view": found, "already": True},
        )
    return Redirect(f"/officer/outreach/imports/{record.id}", status_code=303)


@get("/outreach/imports/{import_id:uuid}", guards=OUTREACH)
async def import_page(db_session: AsyncSession, actor: Actor, import_id: uuid.UUID) -> Template:
    found = await outreach_imports.load(db_session, actor, import_id)
    if found is None:
        raise NotFoundException
    return Template(
        "officer/outreach/import_done.html", context={"actor": actor, "view": found, "already": False}
    )


# --- the worklist --------------------------------------------------------------------------------


@get("/outreach", guards=OUTREACH)
async def worklist_page(
    db_session: AsyncSession, actor: Actor, status: str | None = None, page: int = 1
) -> Template:
    chosen: OutreachStatus | None = None
    if status:
        try:
            chosen = OutreachStatus(status)
        except ValueError:
            chosen = None
    found = await outreach.worklist(db_session, actor, chosen, page, today())
    return Template(
        "officer/outreach/worklist.html",
        context={
            "actor": actor,
            "worklist": found,
            "statuses": OutreachStatus,
            "short": outreach.eligibility_short,
            "explain": outreach.eligibility_text,
        },
    )


def _item_form_page(
    actor: Actor,
    form: dict[str, Any],
    errors: FormErrors,
    *,
    item: OutreachItem | None = None,
    notice: str | None = None,
    existing_id: uuid.UUID | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "officer/outreach/item_form.html",
        context={
            "actor": actor,
            "item": item,
            "form": form,
            "errors": errors,
            "notice": notice,
            "existing_id": existing_id,
            "reasons": OutreachReason,
        },
        status_code=status,
    )


@get("/outreach/new", guards=OUTREACH)
async def new_item_page(actor: Actor) -> Template:
    return _item_form_page(actor, {"reason": OutreachReason.OTHER.value}, FormErrors())


@post("/outreach", guards=OUTREACH)
async def add_item(request: HTMXRequest, db_session: AsyncSession, actor: Actor) -> Template | Redirect:
    data = await form_of(request)
    parsed = outreach.read_item_form(data)
    if parsed.errors:
        return _item_form_page(actor, data, parsed.errors, status=422)
    try:
        item = await outreach.add_item(db_session, actor, parsed)
    except outreach.AlreadyListed as listed:
        errors = FormErrors(identity_code=_("This person is already on the outreach list."))
        return _item_form_page(actor, data, errors, existing_id=listed.item_id, status=409)
    return Redirect(f"/officer/outreach/{item.id}", status_code=303)


# --- one item --------------------------------------------------------------------------------------


async def _item_or_404(db: AsyncSession, actor: Actor, item_id: uuid.UUID) -> OutreachItem:
    item = await outreach.load(db, actor, item_id)
    if item is None:
        raise NotFoundException
    return item


async def _item_page(
    db: AsyncSession,
    actor: Actor,
    item: OutreachItem,
    *,
    section: str | None = None,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    """The item's page; `section` ("status", "contact", "benefit", "client") names the form whose input
    and errors are shown again."""
    on = today()
    page = await outreach.page_of(db, actor, item, on)
    return Template(
        "officer/outreach/item.html",
        context={
            "actor": actor,
            "page": page,
            "item": item,
            "explain": outreach.eligibility_text(page.eligibility),
            "short": outreach.eligibility_short(page.eligibility),
            "known_how": outreach.known_how(item),
            "statuses": OutreachStatus,
            "channels": ContactChannel,
            "outcomes": ContactOutcome,
            "benefit_types": BenefitType,
            "benefit_statuses": BenefitStatus,
            "current": lambda b: benefits.is_current(b, on),
            "type_text": benefits.type_text,
            "source_text": benefits.source_text,
            "may_create_client": actor.has(Permission.CLIENT_WRITE),
            "section": section,
            "form": form or {},
            "errors": errors or FormErrors(),
            "notice": notice,
            "today": on.isoformat(),
        },
        status_code=status,
    )


@get("/outreach/{item_id:uuid}", guards=OUTREACH)
async def item_page(db_session: AsyncSession, actor: Actor, item_id: uuid.UUID) -> Template:
    item = await _item_or_404(db_session, actor, item_id)
    return await _item_page(db_session, actor, item)


async def _reload(db: AsyncSession, actor: Actor, item_id: uuid.UUID) -> OutreachItem:
    await db.rollback()
    return await _item_or_404(db, actor, item_id)


@get("/outreach/{item_id:uuid}/edit", guards=OUTREACH)
async def edit_item_page(db_session: AsyncSession, actor: Actor, item_id: uuid.UUID) -> Template:
    item = await _item_or_404(db_session, actor, item_id)
    return _item_form_page(actor, outreach.as_form(item), FormErrors(), item=item)


@post("/outreach/{item_id:uuid}", guards=OUTREACH)
async def save_item(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> Template | Redirect:
    item = await _item_or_404(db_session, actor, item_id)
    data = await form_of(request)
    parsed = outreach.read_item_form(data)
    if parsed.errors:
        return _item_form_page(actor, data, parsed.errors, item=item, status=422)
    try:
        await outreach.update_item(db_session, actor, item, _version(data), parsed)
    except outreach.StaleItem:
        item = await _reload(db_session, actor, item_id)
        return _item_form_page(actor, data, FormErrors(), item=item, notice=_stale_message(), status=409)
    except outreach.AlreadyListed as listed:
        errors = FormErrors(identity_code=_("Another person on the outreach list has this identity code."))
        return _item_form_page(actor, data, errors, item=item, existing_id=listed.item_id, status=409)
    return Redirect(f"/officer/outreach/{item.id}", status_code=303)


@post("/outreach/{item_id:uuid}/status", guards=OUTREACH)
async def change_status(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> Template | Redirect:
    item = await _item_or_404(db_session, actor, item_id)
    data = await form_of(request)
    try:
        status = OutreachStatus(str(data.get("status") or ""))
    except ValueError:
        errors = FormErrors(status=_("Choose one of the options."))
        return await _item_page(
            db_session, actor, item, section="status", form=data, errors=errors, status=422
        )
    try:
        await outreach.set_status(db_session, actor, item, _version(data), status)
    except outreach.StaleItem:
        item = await _reload(db_session, actor, item_id)
        return await _item_page(
            db_session, actor, item, section="status", form=data, notice=_stale_message(), status=409
        )
    return Redirect(f"/officer/outreach/{item.id}#status", status_code=303)


@post("/outreach/{item_id:uuid}/contacts", guards=OUTREACH)
async def add_contact(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> Template | Redirect:
    item = await _item_or_404(db_session, actor, item_id)
    data = await form_of(request)
    parsed = outreach.read_contact_form(data)
    if parsed.errors:
        return await _item_page(
            db_session, actor, item, section="contact", form=data, errors=parsed.errors, status=422
        )
    await outreach.add_contact(db_session, actor, item, parsed)
    return Redirect(f"/officer/outreach/{item.id}#contacts", status_code=303)


@post(
    "/outreach/{item_id:uuid}/client",
    guards=[requires(Permission.OUTREACH), requires(Permission.CLIENT_WRITE)],
)
async def create_client(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> Template | Redirect:
    """The person becomes a client from the item's data (or is linked to the client with the same code)."""
    item = await _item_or_404(db_session, actor, item_id)
    data = await form_of(request)
    try:
        client, _created = await outreach.create_client(db_session, actor, item, _version(data))
    except (outreach.StaleItem, outreach.AlreadyLinked):
        item = await _reload(db_session, actor, item_id)
        return await _item_page(
            db_session, actor, item, section="client", form=data, notice=_stale_message(), status=409
        )
    return Redirect(f"/officer/clients/{client.id}", status_code=303)


@post(
    "/outreach/{item_id:uuid}/link", guards=[requires(Permission.OUTREACH), requires(Permission.CLIENT_WRITE)]
)
async def link_client(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> Template | Redirect:
    """Link the item to an existing client of the organisation (one of the probable matches)."""
    item = await _item_or_404(db_session, actor, item_id)
    data = await form_of(request)
    try:
        client_id = uuid.UUID(str(data.get("client_id") or ""))
    except ValueError:
        client_id = None
    client = await outreach.linkable_client(db_session, actor, client_id) if client_id else None
    if client is None:
        errors = FormErrors(client_id=_("Choose one of the clients in the list."))
        return await _item_page(
            db_session, actor, item, section="client", form=data, errors=errors, status=422
        )
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    try:
        await outreach.link_client(db_session, actor, item, _version(data), client)
    except (outreach.StaleItem, outreach.AlreadyLinked):
        item = await _reload(db_session, actor, item_id)
        return await _item_page(
            db_session, actor, item, section="client", form=data, notice=_stale_message(), status=409
        )
    return Redirect(f"/officer/outreach/{item.id}", status_code=303)


# --- benefits ---------------------------------------------------------------------------------------


def _benefit_page(
    actor: Actor,
    *,
    back: str,
    action: str,
    title: str,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    notice: str | None = None,
    benefit: Any = None,
    end_action: str | None = None,
    status: int = 200,
) -> Template:
    """A benefit's form on a page of its own: editing, or adding/ending again with the errors."""
    return Template(
        "officer/outreach/benefit_form.html",
        context={
            "actor": actor,
            "back": back,
            "action": action,
            "end_action": end_action,
            "title": title,
            "form": form,
            "errors": errors or FormErrors(),
            "notice": notice,
            "benefit": benefit,
            "types": BenefitType,
            "statuses": BenefitStatus,
            "source_text": benefits.source_text,
            "names": {},
            "today": today().isoformat(),
        },
        status_code=status,
    )


def _benefit_stale() -> str:
    return _(
        "Someone else changed this benefit after you opened the form. Its saved data is below; make your "
        "change again."
    )


def _duplicate_benefit() -> FormErrors:
    return FormErrors(type=_("This benefit from the same day is already recorded for the person."))


def _client_title(client: Client) -> str:
    return _("Benefits: %(name)s") % {"name": f"{client.last_name}, {client.first_names}"}


def _item_title(item: OutreachItem) -> str:
    return _("Benefits: %(name)s") % {"name": f"{item.last_name}, {item.first_names}"}


def _not_linked(item: OutreachItem) -> None:
    """Once the person is a client, their benefits are kept on the client page."""
    if item.client_id is not None:
        raise PermissionDeniedException


@post("/outreach/{item_id:uuid}/benefits", guards=OUTREACH)
async def add_item_benefit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, item_id: uuid.UUID
) -> Template | Redirect:
    item = await _item_or_404(db_session, actor, item_id)
    _not_linked(item)
    data = await form_of(request)
    parsed = benefits.read_form(data)
    back = f"/officer/outreach/{item.id}#benefits"
    if parsed.errors:
        return _benefit_page(
            actor, back=back, action=f"/officer/outreach/{item.id}/benefits", title=_item_title(item),
            form=data, errors=parsed.errors, status=422,
        )  # fmt: skip
    try:
        await benefits.add(db_session, actor, parsed, item=item)
    except benefits.DuplicateBenefit:
        return _benefit_page(
            actor, back=back, action=f"/officer/outreach/{item.id}/benefits", title=_item_title(item),
            form=data, errors=_duplicate_benefit(), status=409,
        )  # fmt: skip
    return Redirect(back, status_code=303)


async def _item_benefit(
    db: AsyncSession, actor: Actor, item_id: uuid.UUID, benefit_id: uuid.UUID
) -> tuple[OutreachItem, Any]:
    item = await _item_or_404(db, actor, item_id)
    benefit = await benefits.load_for_item(db, item, benefit_id)
    if benefit is None:
        raise NotFoundException
    _not_linked(item)
    return item, benefit


@get("/outreach/{item_id:uuid}/benefits/{benefit_id:uuid}/edit", guards=OUTREACH)
async def edit_item_benefit_page(
    db_session: AsyncSession, actor: Actor, item_id: uuid.UUID, benefit_id: uuid.UUID
) -> Template:
    item, benefit = await _item_benefit(db_session, actor, item_id, benefit_id)
    return _benefit_page(
        actor, back=f"/officer/outreach/{item.id}#benefits", title=_item_title(item), benefit=benefit,
        action=f"/officer/outreach/{item.id}/benefits/{benefit.id}", form=benefits.as_form(benefit),
    )  # fmt: skip


@post("/outreach/{item_id:uuid}/benefits/{benefit_id:uuid}", guards=OUTREACH)
async def save_item_benefit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, item_id: uuid.UUID, benefit_id: uuid.UUID
) -> Template | Redirect:
    item, benefit = await _item_benefit(db_session, actor, item_id, benefit_id)
    data = await form_of(request)
    action = f"/officer/outreach/{item.id}/benefits/{benefit.id}"
    back = f"/officer/outreach/{item.id}#benefits"
    parsed = benefits.read_form(data)
    if parsed.errors:
        return _benefit_page(
            actor, back=back, action=action, title=_item_title(item), benefit=benefit, form=data,
            errors=parsed.errors, status=422,
        )  # fmt: skip
    try:
        await benefits.update(db_session, actor, benefit, _version(data), parsed)
    except benefits.StaleBenefit:
        await db_session.rollback()
        item, benefit = await _item_benefit(db_session, actor, item_id, benefit_id)
        return _benefit_page(
            actor, back=back, action=action, title=_item_title(item), benefit=benefit,
            form={**data, "version": str(benefit.version)}, notice=_benefit_stale(), status=409,
        )  # fmt: skip
    except benefits.DuplicateBenefit:
        return _benefit_page(
            actor, back=back, action=action, title=_item_title(item), benefit=benefit, form=data,
            errors=_duplicate_benefit(), status=409,
        )  # fmt: skip
    return Redirect(back, status_code=303)


async def _writable_client(db: AsyncSession, actor: Actor, client_id: uuid.UUID) -> Client:
    client = await load_client(db, actor, client_id)
    if client is None:
        raise NotFoundException
    if not may_write_client(actor, client):
        raise PermissionDeniedException
    return client


@post("/clients/{client_id:uuid}/benefits", guards=WRITE)
async def add_client_benefit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID
) -> Template | Redirect:
    client = await _writable_client(db_session, actor, client_id)
    data = await form_of(request)
    parsed = benefits.read_form(data)
    back = client_page_url(client.id, "benefits")
    action = f"/officer/clients/{client.id}/benefits"
    if parsed.errors:
        return _benefit_page(
            actor, back=back, action=action, title=_client_title(client), form=data, errors=parsed.errors,
            status=422,
        )  # fmt: skip
    try:
        await benefits.add(db_session, actor, parsed, client=client)
    except benefits.DuplicateBenefit:
        return _benefit_page(
            actor, back=back, action=action, title=_client_title(client), form=data,
            errors=_duplicate_benefit(), status=409,
        )  # fmt: skip
    return Redirect(back, status_code=303)


async def _client_benefit(
    db: AsyncSession, actor: Actor, client_id: uuid.UUID, benefit_id: uuid.UUID
) -> tuple[Client, Any]:
    client = await _writable_client(db, actor, client_id)
    benefit = await benefits.load_for_client(db, client, benefit_id)
    if benefit is None:
        raise NotFoundException
    return client, benefit


@get("/clients/{client_id:uuid}/benefits/{benefit_id:uuid}/edit", guards=WRITE)
async def edit_client_benefit_page(
    db_session: AsyncSession, actor: Actor, client_id: uuid.UUID, benefit_id: uuid.UUID
) -> Template:
    client, benefit = await _client_benefit(db_session, actor, client_id, benefit_id)
    return _benefit_page(
        actor, back=client_page_url(client.id, "benefits"), title=_client_title(client), benefit=benefit,
        action=f"/officer/clients/{client.id}/benefits/{benefit.id}", form=benefits.as_form(benefit),
        end_action=f"/officer/clients/{client.id}/benefits/{benefit.id}/end",
    )  # fmt: skip


@post("/clients/{client_id:uuid}/benefits/{benefit_id:uuid}", guards=WRITE)
async def save_client_benefit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID, benefit_id: uuid.UUID
) -> Template | Redirect:
    client, benefit = await _client_benefit(db_session, actor, client_id, benefit_id)
    data = await form_of(request)
    back = client_page_url(client.id, "benefits")
    action = f"/officer/clients/{client.id}/benefits/{benefit.id}"
    end_action = f"{action}/end"
    parsed = benefits.read_form(data)
    if parsed.errors:
        return _benefit_page(
            actor, back=back, action=action, end_action=end_action, title=_client_title(client),
            benefit=benefit, form=data, errors=parsed.errors, status=422,
        )  # fmt: skip
    try:
        await benefits.update(db_session, actor, benefit, _version(data), parsed)
    except benefits.StaleBenefit:
        await db_session.rollback()
        client, benefit = await _client_benefit(db_session, actor, client_id, benefit_id)
        return _benefit_page(
            actor, back=back, action=action, end_action=end_action, title=_client_title(client),
            benefit=benefit, form={**data, "version": str(benefit.version)}, notice=_benefit_stale(),
            status=409,
        )  # fmt: skip
    except benefits.DuplicateBenefit:
        return _benefit_page(
            actor, back=back, action=action, end_action=end_action, title=_client_title(client),
            benefit=benefit, form=data, errors=_duplicate_benefit(), status=409,
        )  # fmt: skip
    return Redirect(back, status_code=303)


@post("/clients/{client_id:uuid}/benefits/{benefit_id:uuid}/end", guards=WRITE)
async def end_client_benefit(
    request: HTMXRequest, db_session: AsyncSession, actor: Actor, client_id: uuid.UUID, benefit_id: uuid.UUID
) -> Template | Redirect:
    client, benefit = await _client_benefit(db_session, actor, client_id, benefit_id)
    data = await form_of(request)
    back = client_page_url(client.id, "benefits")
    action = f"/officer/clients/{client.id}/benefits/{benefit.id}"
    errors = FormErrors()
    ends_on = date_field(data, "end_ends_on", errors, required=True, not_future=False)
    if ends_on and benefit.starts_on and ends_on < benefit.starts_on:
        errors["end_ends_on"] = _("The benefit cannot end before it starts.")
    if errors or ends_on is None:
        return _benefit_page(
            actor, back=back, action=action, end_action=f"{action}/end", title=_client_title(client),
            benefit=benefit, form={**benefits.as_form(benefit), **data}, errors=errors, status=422,
        )  # fmt: skip
    try:
        await benefits.end(db_session, actor, benefit, _version(data), ends_on)
    except benefits.StaleBenefit:
        await db_session.rollback()
        client, benefit = await _client_benefit(db_session, actor, client_id, benefit_id)
        return _benefit_page(
            actor, back=back, action=action, end_action=f"{action}/end", title=_client_title(client),
            benefit=benefit, form={**benefits.as_form(benefit), "end_ends_on": data.get("end_ends_on")},
            notice=_benefit_stale(), status=409,
        )  # fmt: skip
    return Redirect(back, status_code=303)


router = Router(
    include_in_schema=False,  # pages, not an API
    path="/officer",
    guards=[staff_guard],
    route_handlers=[
        imports_page,
        preview_import,
        confirm_import,
        import_page,
        worklist_page,
        new_item_page,
        add_item,
        item_page,
        edit_item_page,
        save_item,
        change_status,
        add_contact,
        create_client,
        link_client,
        add_item_benefit,
        edit_item_benefit_page,
        save_item_benefit,
        add_client_benefit,
        edit_client_benefit_page,
        save_client_benefit,
        end_client_benefit,
    ],
)
