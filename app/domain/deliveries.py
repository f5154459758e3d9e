"""What officers see of notifications: each one's channel, kind and status, every attempt in plain
words ("Delivered by push at 14:02", "Text message failed: the gateway answered 503 — retrying at
14:10"), and the client's channels and quiet hours, which officers may change for the client.

Who sees it: officers and managers of the client's own organisation (the people who message the
client); county staff reading a client through a grant do not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time

from babel import dates
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.db.client import Client
from app.db.outbox import Channel, ContactPreference, OutboxAttempt, OutboxMessage, OutboxStatus
from app.domain import audit
from app.domain.audit import Action
from app.domain.forms import FormErrors, checkbox
from app.domain.policy import Actor, may_write_client
from app.i18n import LOCAL_TIME, N_, _, get_locale

PAGE_SIZE = 10
PREFERENCE_FIELDS = ("push", "email", "sms", "quiet_from", "quiet_until")


class StaleEdit(Exception):
    """Someone saved the preferences after this form was opened."""


def may_see(actor: Actor, client: Client) -> bool:
    return actor.sees_own_organisation and client.organisation_id == actor.organisation_id


@dataclass
class Delivery:
    row: OutboxMessage
    lines: list[str]  # the attempts (and what happens next) in plain words, oldest first


@dataclass
class DeliverySection:
    client_id: uuid.UUID
    rows: list[Delivery]
    page: int
    has_more: bool
    preference: ContactPreference | None
    may_write: bool


async def client_section(
    db: AsyncSession, actor: Actor, client: Client, page: int = 1
) -> DeliverySection | None:
    """The client page's notification section (None when the actor may not see it). Audited."""
    if not may_see(actor, client):
        return None
    page = max(1, page)
    rows = list(
        (
            await db.scalars(
                select(OutboxMessage)
                .options(selectinload(OutboxMessage.attempts_log))
                .where(OutboxMessage.client_id == client.id)
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE + 1)
            )
        ).all()
    )
    preference = await db.get(ContactPreference, client.id)
    await audit.record(
        db,
        Action.VIEW,
        actor=actor,
        client_id=client.id,
        object_type="outbox_message",
        fields=["notifications", "contact_preference"],
    )
    return DeliverySection(
        client_id=client.id,
        rows=[Delivery(row, describe(row)) for row in rows[:PAGE_SIZE]],
        page=page,
        has_more=len(rows) > PAGE_SIZE,
        preference=preference,
        may_write=may_write_client(actor, client),
    )


# --- plain words ----------------------------------------------------------------------------------


def _at(value: datetime, now: datetime | None = None) -> str:
    """14:02 today, else 3.3.2026 14.02 (in the interface language)."""
    local = value.astimezone(LOCAL_TIME)
    today = (now or datetime.now(LOCAL_TIME)).astimezone(LOCAL_TIME).date()
    if local.date() == today:
        return dates.format_time(local, format="short", locale=get_locale())
    return dates.format_datetime(local, format="short", tzinfo=LOCAL_TIME, locale=get_locale())


def reason(channel: Channel, detail: str | None) -> str:
    """An attempt's stored detail (an error class or status code) as words."""
    detail = detail or ""
    kind, _sep, rest = detail.partition(" ")
    code = rest.split(" ")[0]
    if kind == "http" and channel == Channel.PUSH and code in ("404", "410"):
        return _("the device no longer accepts notifications (%(code)s)") % {"code": code}
    if kind == "http" and channel == Channel.PUSH:
        return _("the push service answered %(code)s") % {"code": code}
    if kind == "http":
        return _("the gateway answered %(code)s") % {"code": code}
    if kind == "smtp" and "authentication" in rest:
        return _("the mail server refused our sign-in (%(code)s)") % {"code": code}
    if kind == "smtp":
        return _("the mail server answered %(code)s") % {"code": code}
    if kind == "error" and rest == "TimeoutError":
        return _("no answer in time")
    if kind == "error" and ("Connect" in rest or rest in ("OSError", "SMTPServerDisconnected")):
        return _("could not connect")
    if kind == "cancelled":
        return _(CANCEL_REASONS[rest]) if rest in CANCEL_REASONS else rest
    return {
        "no address": _("no e-mail address"),
        "no phone number": _("no phone number"),
        "no push subscription": _("no device has turned notifications on"),
        "push refused": _("the push service refused it"),
    }.get(detail) or _("technical error (%(name)s)") % {"name": rest or detail or "?"}


CANCEL_REASONS = {
    "channel_off": N_("the client turned this channel off"),
    "appointment_cancelled": N_("the appointment was cancelled"),
    "appointment_past": N_("the appointment had already begun"),
    "appointment_gone": N_("the appointment was deleted"),
    "not_participant": N_("the client is no longer in the appointment"),
    "recipient_gone": N_("the recipient no longer exists"),
    "message_gone": N_("the message was deleted"),
}


def _delivered(channel: Channel, at: str) -> str:
    if channel == Channel.PUSH:
        return _("Delivered by push at %(time)s") % {"time": at}
    if channel == Channel.EMAIL:
        return _("Delivered by e-mail at %(time)s") % {"time": at}
    return _("Delivered by text message at %(time)s") % {"time": at}


def _failed(channel: Channel, at: str, why: str) -> str:
    if channel == Channel.PUSH:
        return _("Push notification failed at %(time)s: %(reason)s") % {"time": at, "reason": why}
    if channel == Channel.EMAIL:
        return _("E-mail failed at %(time)s: %(reason)s") % {"time": at, "reason": why}
    return _("Text message failed at %(time)s: %(reason)s") % {"time": at, "reason": why}


def describe(row: OutboxMessage, now: datetime | None = None) -> list[str]:
    """Every attempt of a row in words, oldest first, and what happens next."""
    lines: list[str] = []
    attempts: list[OutboxAttempt] = list(row.attempts_log)
    for index, attempt in enumerate(attempts):
        at = _at(attempt.at, now)
        if attempt.ok:
            line = _delivered(row.channel, at)
            if attempt.detail:  # "1 of 2 browsers"
                line += " " + _("(not on every device)")
        elif (attempt.detail or "").startswith("cancelled"):
            line = _("Not sent: %(reason)s") % {"reason": reason(row.channel, attempt.detail)}
        else:
            line = _failed(row.channel, at, reason(row.channel, attempt.detail))
            if index == len(attempts) - 1:
                if row.status == OutboxStatus.PENDING:
                    line += " — " + _("retrying at %(time)s") % {"time": _at(row.next_attempt_at, now)}
                elif row.status == OutboxStatus.FAILED:
                    line += " — " + _("no more attempts")
        lines.append(line)
    if not attempts:
        if row.status == OutboxStatus.PENDING:
            lines.append(_("Waiting: to be sent at %(time)s") % {"time": _at(row.next_attempt_at, now)})
        elif row.status == OutboxStatus.SENDING:
            lines.append(_("Being sent now"))
        elif row.status == OutboxStatus.CANCELLED:
            lines.append(_("Cancelled before it was sent"))
    return lines


# --- channels and quiet hours ---------------------------------------------------------------------


def preference_input(preference: ContactPreference | None) -> dict[str, str]:
    """The form's values for the stored preferences (the defaults when there are none)."""
    if preference is None:
        return {"push": "on", "email": "on", "sms": "", "quiet_from": "", "quiet_until": "", "version": "0"}
    return {
        "push": "on" if preference.push else "",
        "email": "on" if preference.email else "",
        "sms": "on" if preference.sms else "",
        "quiet_from": preference.quiet_from.strftime("%H:%M") if preference.quiet_from else "",
        "quiet_until": preference.quiet_until.strftime("%H:%M") if preference.quiet_until else "",
        "version": str(preference.version),
    }


def _time(form: dict[str, str], name: str, errors: FormErrors) -> time | None:
    raw = str(form.get(name) or "").strip().replace(".", ":")
    if not raw:
        return None
    try:
        hours, minutes = raw.split(":")[:2]
        return time(int(hours), int(minutes))
    except ValueError:
        errors[name] = _("Enter the time as hh:mm, for example 21:00.")
        return None


@dataclass
class PreferenceInput:
    push: bool
    email: bool
    sms: bool
    quiet_from: time | None
    quiet_until: time | None
    errors: FormErrors


def read_preference_form(form: dict[str, str]) -> PreferenceInput:
    errors = FormErrors()
    quiet_from = _time(form, "quiet_from", errors)
    quiet_until = _time(form, "quiet_until", errors)
    if not errors and (quiet_from is None) != (quiet_until is None):
        errors["quiet_from" if quiet_from is None else "quiet_until"] = _(
            "Give both the start and the end of the quiet hours, or neither."
        )
    elif quiet_from is not None and quiet_from == quiet_until:
        errors["quiet_until"] = _("The quiet hours cannot start and end at the same time.")
    return PreferenceInput(
        push=checkbox(form, "push"),
        email=checkbox(form, "email"),
        sms=checkbox(form, "sms"),
        quiet_from=quiet_from,
        quiet_until=quiet_until,
        errors=errors,
    )


async def save_preference(
    db: AsyncSession, actor: Actor, client: Client, seen_version: int, values: PreferenceInput
) -> ContactPreference:
    """Create or update the client's preferences; StaleEdit when someone saved in between. Audited."""
    preference = await db.get(ContactPreference, client.id)
    current = preference.version if preference else 0
    if seen_version != current:
        raise StaleEdit
    new = {name: getattr(values, name) for name in PREFERENCE_FIELDS}
    if preference is None:
        preference = ContactPreference(client_id=client.id, **new)
        db.add(preference)
        changed = list(PREFERENCE_FIELDS)
        action = Action.CREATE
    else:
        changed = [name for name in PREFERENCE_FIELDS if getattr(preference, name) != new[name]]
        for name in changed:
            setattr(preference, name, new[name])
        action = Action.UPDATE
    try:
        await db.flush()
    except (StaleDataError, IntegrityError) as error:
        raise StaleEdit from error
    if changed:
        await audit.record(
            db,
            action,
            actor=actor,
            client_id=client.id,
            object_type="contact_preference",
            object_id=client.id,
            fields=changed,
        )
    return preference
