"""The texts of notifications, rendered at delivery in the recipient's language from the ids in the
outbox row's payload.

Push and SMS texts are generic on purpose: they pass through third parties (the browser vendor's push
service, the SMS gateway and the operator) and show on lock screens, so they carry no names, phone
numbers, addresses, times, places or message content — only what kind of thing happened and where to
look. E-mail goes to the recipient's own mailbox and carries an appointment's local time and place;
the content of messages is never e-mailed (it is read in Kotopolku).

Payload keys read here (written by the code that queues the notification through app.domain.outbox):
  appointment_booked / _changed / _cancelled / _reminder: ``appointment_id``
  new_message: ``thread_id`` (optional)
  stakeholder_message: ``stakeholder_message_id``
  guidance_answer: ``question_id`` (e-mail only, to the address the visitor gave)
  referral_acknowledgement: ``referral_id`` and ``event`` ("received" or "decision"; e-mail only, to the
    referring authority's contact: the reference and the day, never the person's data)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from babel import dates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db.appointment import Appointment, AppointmentClient, AppointmentStatus
from app.db.client import Client
from app.db.knowledge import GuidanceQuestion
from app.db.messaging import StakeholderMessage
from app.db.organisation import Organisation, Staff
from app.db.outbox import NotificationKind, OutboxMessage
from app.db.outreach import AuthorityReferral, ReferralStatus
from app.domain import referrals
from app.domain.outbox import client_locale
from app.i18n import LOCAL_TIME, PUBLIC_LOCALES, _
from app.labels import label
from app.settings import Settings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
APPOINTMENT_KINDS = frozenset(
    {
        NotificationKind.APPOINTMENT_BOOKED,
        NotificationKind.APPOINTMENT_CHANGED,
        NotificationKind.APPOINTMENT_CANCELLED,
        NotificationKind.APPOINTMENT_REMINDER,
    }
)
# Where the migrant app shows what a notification is about (paths only: no ids, no personal data).
APP_PATHS = {
    NotificationKind.NEW_MESSAGE: "/me/messages",
    NotificationKind.APPOINTMENT_BOOKED: "/me/appointments",
    NotificationKind.APPOINTMENT_CHANGED: "/me/appointments",
    NotificationKind.APPOINTMENT_CANCELLED: "/me/appointments",
    NotificationKind.APPOINTMENT_REMINDER: "/me/appointments",
    NotificationKind.STAKEHOLDER: "/me/",
    NotificationKind.GUIDANCE_ANSWER: "/me/",  # e-mail only: a visitor of /guidance has no app
    NotificationKind.REFERRAL_ACKNOWLEDGEMENT: "/me/",  # e-mail only: to another authority
}


class Moot(Exception):
    """The notification no longer makes sense (a reminder of a cancelled or past appointment): the
    worker cancels the row. `reason` is a short code, shown to officers in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ShortText:
    """A push notification or text message: no personal data."""

    title: str
    body: str
    path: str


@dataclass(frozen=True)
class EmailText:
    subject: str
    text: str
    html: str
    locale: str
    reply_to: str | None = None


@dataclass
class _EmailContent:
    """What the e-mail templates lay out; every string is already translated."""

    subject: str
    paragraphs: list[str]
    details: list[tuple[str, str]] = field(default_factory=list)
    action: tuple[str, str] | None = None  # (link text, absolute URL)
    footer: list[str] = field(default_factory=list)


@contextmanager
def in_locale(code: str) -> Iterator[None]:
    """gettext and Babel formatting in `code` for the duration (the locale is a context variable, so
    concurrent deliveries in other tasks are not affected)."""
    previous = i18n.get_locale()
    i18n.set_locale(code if code in PUBLIC_LOCALES else i18n.DEFAULT_LOCALE)
    try:
        yield
    finally:
        i18n.set_locale(previous)


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


# --- short texts (push, SMS) ----------------------------------------------------------------------


def short_text(kind: NotificationKind, locale: str, *, day: str | None = None) -> ShortText:
    """The push/SMS text for `kind` in `locale`. `day` ("today", "tomorrow" or None) only for reminders."""
    with in_locale(locale):
        if kind == NotificationKind.NEW_MESSAGE:
            body = _("You have a new message in Kotopolku.")
        elif kind == NotificationKind.APPOINTMENT_BOOKED:
            body = _("You have a new appointment. Open Kotopolku to see it.")
        elif kind == NotificationKind.APPOINTMENT_CHANGED:
            body = _("Your appointment has changed. Open Kotopolku to see it.")
        elif kind == NotificationKind.APPOINTMENT_CANCELLED:
            body = _("Your appointment has been cancelled. Open Kotopolku to see it.")
        elif kind == NotificationKind.APPOINTMENT_REMINDER:
            if day == "today":
                body = _("Reminder: you have an appointment today. Open Kotopolku.")
            elif day == "tomorrow":
                body = _("Reminder: you have an appointment tomorrow. Open Kotopolku.")
            else:
                body = _("Reminder: you have an appointment soon. Open Kotopolku.")
        else:
            body = _("You have a new message in Kotopolku.")
        return ShortText(title="Kotopolku", body=body, path=APP_PATHS[kind])


def sms_text(short: ShortText, settings: Settings) -> str:
    """A text message: the short text and the address of the app (no personal data in either)."""
    return f"{short.body} {settings.public_url}{short.path}"


def _reminder_day(starts_at: datetime, now: datetime) -> str | None:
    days = (starts_at.astimezone(LOCAL_TIME).date() - now.astimezone(LOCAL_TIME).date()).days
    return {0: "today", 1: "tomorrow"}.get(days)


# --- loading what a row is about ------------------------------------------------------------------


def _uuid(payload: dict[str, Any], key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError):
        return None


async def _appointment(db: AsyncSession, row: OutboxMessage, now: datetime) -> Appointment:
    """The appointment a row is about; Moot when reminding of it makes no sense any more."""
    appointment_id = _uuid(row.payload, "appointment_id")
    appointment = await db.get(Appointment, appointment_id) if appointment_id else None
    if appointment is None:
        raise Moot("appointment_gone")
    if row.kind != NotificationKind.APPOINTMENT_CANCELLED:
        if appointment.status == AppointmentStatus.CANCELLED:
            raise Moot("appointment_cancelled")
        if row.client_id is not None and not await db.scalar(
            select(AppointmentClient.id).where(
                AppointmentClient.appointment_id == appointment.id,
                AppointmentClient.client_id == row.client_id,
            )
        ):
            raise Moot("not_participant")
    if row.kind == NotificationKind.APPOINTMENT_REMINDER and appointment.starts_at <= now:
        raise Moot("appointment_past")
    return appointment


async def render_short(db: AsyncSession, row: OutboxMessage, locale: str, now: datetime) -> ShortText:
    day = None
    if row.kind in APPOINTMENT_KINDS:
        appointment = await _appointment(db, row, now)
        day = _reminder_day(appointment.starts_at, now)
    return short_text(row.kind, locale, day=day)


async def render_email(
    db: AsyncSession, row: OutboxMessage, locale: str, settings: Settings, now: datetime
) -> EmailText:
    """The e-mail for a row in `locale` (subject, plain text and HTML)."""
    reply_to = None
    if row.kind in APPOINTMENT_KINDS:
        appointment = await _appointment(db, row, now)
        with in_locale(locale):
            content = _appointment_email(row.kind, appointment, settings)
    elif row.kind == NotificationKind.STAKEHOLDER:
        message_id = _uuid(row.payload, "stakeholder_message_id")
        message = await db.get(StakeholderMessage, message_id) if message_id else None
        if message is None:
            raise Moot("message_gone")
        organisation = await db.get(Organisation, message.organisation_id)
        sender = await db.get(Staff, message.sent_by_id)  # get(): one load per batch, not per row
        reply_to = sender.email if sender else None
        with in_locale(locale):
            content = _stakeholder_email(message, organisation.name if organisation else "")
    elif row.kind == NotificationKind.GUIDANCE_ANSWER:
        question_id = _uuid(row.payload, "question_id")
        question = await db.get(GuidanceQuestion, question_id) if question_id else None
        if question is None or not question.answer:
            raise Moot("question_gone")
        organisation = await db.get(Organisation, question.organisation_id)
        with in_locale(locale):
            content = _guidance_answer_email(question, organisation.name if organisation else "", settings)
    elif row.kind == NotificationKind.REFERRAL_ACKNOWLEDGEMENT:
        referral_id = _uuid(row.payload, "referral_id")
        referral = await db.get(AuthorityReferral, referral_id) if referral_id else None
        if referral is None:
            raise Moot("referral_gone")
        organisation = await db.get(Organisation, referral.organisation_id)
        with in_locale(locale):
            content = _referral_email(
                str(row.payload.get("event")), referral, organisation.name if organisation else ""
            )
    else:
        with in_locale(locale):
            content = _message_email(settings)
    with in_locale(locale):
        info = i18n.locale_info(i18n.get_locale())
        context = {"c": content, "lang": info.code, "dir": info.direction}
        return EmailText(
            subject=content.subject,
            text=_env.get_template("notification.txt").render(context),
            html=_env.get_template("notification.html").render(context),
            locale=info.code,
            reply_to=reply_to,
        )


def _when(appointment: Appointment) -> str:
    locale = i18n.get_locale()
    start = appointment.starts_at.astimezone(LOCAL_TIME)
    end = appointment.ends_at.astimezone(LOCAL_TIME)
    day = dates.format_date(start.date(), format="full", locale=locale)
    times = "{}–{}".format(
        dates.format_time(start, format="short", locale=locale),
        dates.format_time(end, format="short", locale=locale),
    )
    return _("%(date)s, %(time)s (Finnish time)") % {"date": day, "time": times}


def _appointment_email(kind: NotificationKind, appointment: Appointment, settings: Settings) -> _EmailContent:
    when = _when(appointment)
    day = i18n.format_date(appointment.starts_at.astimezone(LOCAL_TIME).date(), "short")
    if kind == NotificationKind.APPOINTMENT_BOOKED:
        subject = _("Appointment on %(date)s") % {"date": day}
        lead = _("An appointment has been booked for you.")
    elif kind == NotificationKind.APPOINTMENT_CHANGED:
        subject = _("Your appointment has changed: %(date)s") % {"date": day}
        lead = _("Your appointment has changed. Here are the new details.")
    elif kind == NotificationKind.APPOINTMENT_CANCELLED:
        subject = _("Appointment cancelled: %(date)s") % {"date": day}
        lead = _("Your appointment has been cancelled. You do not need to come.")
    else:
        subject = _("Reminder: appointment on %(date)s") % {"date": day}
        lead = _("This is a reminder of your appointment.")
    what = label(appointment.purpose) + (f" – {appointment.title}" if appointment.title else "")
    details = [(_("Time"), when), (_("Subject"), what)]
    if kind != NotificationKind.APPOINTMENT_CANCELLED:
        place = ", ".join(p for p in (appointment.street_address, appointment.room) if p)
        if place:
            details.append((_("Place"), place))
        if appointment.remote_link:
            details.append((_("Remote meeting link"), appointment.remote_link))
        if appointment.interpreter_language:
            interpreter = i18n.language_name(appointment.interpreter_language)
            if appointment.interpreter_mode:
                interpreter += f" ({label(appointment.interpreter_mode)})"
            details.append((_("Interpreter"), interpreter))
        if appointment.what_to_bring:
            details.append((_("Bring with you"), appointment.what_to_bring))
    paragraphs = [lead]
    if kind in (NotificationKind.APPOINTMENT_BOOKED, NotificationKind.APPOINTMENT_CHANGED):
        paragraphs.append(
            _("Please confirm the time in Kotopolku, or cancel it or ask for another time there.")
        )
    return _EmailContent(
        subject=subject,
        paragraphs=paragraphs,
        details=details,
        action=(_("Open Kotopolku"), settings.public_url + APP_PATHS[kind]),
        footer=_client_footer(),
    )


def _message_email(settings: Settings) -> _EmailContent:
    return _EmailContent(
        subject=_("New message in Kotopolku"),
        paragraphs=[
            _("You have a new message from your integration services."),
            _("For your privacy the message is not sent by e-mail. Read it and reply in Kotopolku."),
        ],
        action=(_("Read the message"), settings.public_url + APP_PATHS[NotificationKind.NEW_MESSAGE]),
        footer=_client_footer(),
    )


def _stakeholder_email(message: StakeholderMessage, organisation: str) -> _EmailContent:
    paragraphs = [p.strip() for p in message.body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return _EmailContent(
        subject=message.subject,
        paragraphs=paragraphs,
        footer=[_("Sent by %(organisation)s through Kotopolku.") % {"organisation": organisation}],
    )


def _guidance_answer_email(
    question: GuidanceQuestion, organisation: str, settings: Settings
) -> _EmailContent:
    """The answer to a visitor's anonymous question: the question, the answer, where to read more."""
    answer = [p.strip() for p in (question.answer or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
    return _EmailContent(
        subject=_("Answer to your question"),
        paragraphs=[_("You asked the guidance service:"), question.text, _("Our answer:"), *answer],
        action=(_("Read more guidance"), settings.public_url + "/guidance/"),
        footer=[
            _("Sent by %(organisation)s through Kotopolku.") % {"organisation": organisation},
            _(
                "Your e-mail address is deleted once this answer has been sent. Please do not reply to this message."
            ),
        ],
    )


def _referral_email(event: str, referral: AuthorityReferral, organisation: str) -> _EmailContent:
    """To the authority that referred a person (app.domain.referrals): the referral's reference and the
    day it arrived — nothing about the person, and not the reason of a decline."""
    names = {
        "organisation": organisation,
        "reference": referrals.reference(referral),
        "date": i18n.format_date(referrals.received_on(referral)),
    }
    if event == "received":
        subject = _("We received your referral %(reference)s") % names
        paragraphs = [
            _("%(organisation)s has received your referral of a person who needs an initial assessment.")
            % names,
            _("An integration officer decides on it. You will get another e-mail when it has been decided."),
        ]
    elif referral.status == ReferralStatus.ACCEPTED:
        subject = _("Your referral %(reference)s has been accepted") % names
        paragraphs = [
            _("%(organisation)s has accepted your referral of %(date)s.") % names,
            _("The integration services will contact the person about an initial assessment."),
        ]
    elif referral.status == ReferralStatus.DECLINED:
        subject = _("Your referral %(reference)s was not accepted") % names
        paragraphs = [
            _("%(organisation)s has not accepted your referral of %(date)s.") % names,
            _("To hear why, contact the integration services of %(organisation)s and give the reference.")
            % names,
        ]
    else:
        raise Moot("referral_undecided")
    paragraphs.append(_("For the person's privacy, this message does not repeat their details."))
    return _EmailContent(
        subject=subject,
        paragraphs=paragraphs,
        details=[(_("Reference"), names["reference"]), (_("Received"), names["date"])],
        footer=[
            _("Sent by %(organisation)s through Kotopolku.") % names,
            _("This message was sent automatically. Please do not reply to it."),
        ],
    )


def _client_footer() -> list[str]:
    return [
        _("This message was sent automatically. Please do not reply to it."),
        _("You can ask your integration officer to change how you are notified."),
    ]


def recipient_locale(row: OutboxMessage, client: Client | None) -> str:
    """The client's language now (it may have changed since the row was queued), else the row's."""
    return client_locale(client) if client is not None else row.locale


def message_id(row_id: int, settings: Settings) -> str:
    """The e-mail's Message-ID, the same for every attempt of one outbox row: a resend after a crash is
    recognised by the receiver as the same message (RFC 5322 §3.6.4)."""
    host = settings.rp_id or "localhost"
    return f"<outbox-{row_id}@kotopolku.{host}>"


def remaining(now: datetime, until: datetime) -> timedelta:
    return max(until - now, timedelta(0))
