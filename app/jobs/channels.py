"""Senders for the three channels: e-mail (SMTP through aiosmtplib), Web Push (pywebpush with VAPID)
and SMS (a development backend that only logs, and a generic HTTP gateway).

A sender returns when the receiving service accepted the message and raises DeliveryError otherwise.
The error's `detail` names the failure (an exception class, an SMTP or HTTP status code) and is stored
with the attempt: it never contains the text, an address or a phone number.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Protocol

import aiohttp
import aiosmtplib
from py_vapid import Vapid02  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]

from app.jobs.render import EmailText, message_id
from app.settings import Settings, load_vapid_key

log = logging.getLogger("kotopolku.outbox")

# Statuses after which trying again cannot help (the address or request itself is wrong).
PERMANENT_HTTP = frozenset({400, 403, 404, 410, 413, 422})
SUBSCRIPTION_GONE = frozenset({404, 410})  # RFC 8030 §7.3: the push subscription has expired


class DeliveryError(Exception):
    def __init__(self, detail: str, *, permanent: bool = False, gone: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail[:300]
        self.permanent = permanent
        self.gone = gone  # a push subscription that no longer exists


def error_detail(exc: BaseException) -> str:
    """An exception as an attempt detail: its class name only (messages may quote addresses)."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "error TimeoutError"
    return f"error {type(exc).__name__}"


# --- e-mail ---------------------------------------------------------------------------------------


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in the raw message, unlike base64


def build_email(row_id: int, settings: Settings, to: str, text: EmailText, now: datetime) -> Message:
    """A multipart/alternative message (text/plain and text/html) with the row's deterministic
    Message-ID, so every attempt of one outbox row is the same message to the receiver.

    (email.mime with the compat32 policy: a third of the CPU time of EmailMessage's header registry,
    which counts when a worker sends hundreds of messages a second.)"""
    message = MIMEMultipart("alternative")
    message["Subject"] = Header(text.subject, "utf-8")  # type: ignore[assignment]
    message["From"] = formataddr(parseaddr(settings.mail_from), charset="utf-8")
    message["To"] = to
    if text.reply_to:
        message["Reply-To"] = text.reply_to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(row_id, settings)
    message["Content-Language"] = text.locale
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
    message.attach(MIMEText(text.text, "plain", _UTF8))  # type: ignore[arg-type]
    message.attach(MIMEText(text.html, "html", _UTF8))  # type: ignore[arg-type]
    return message


@dataclass
class _Connection:
    smtp: aiosmtplib.SMTP
    idle_since: float


class EmailSender:
    """Sends through the configured SMTP server, keeping a few connections open between messages."""

    IDLE_LIMIT = 20.0  # seconds; servers drop idle connections, and a stale one costs an attempt

    def __init__(self, settings: Settings, *, pool_size: int = 4, timeout: float = 30.0) -> None:
        self.settings = settings
        self.pool_size = pool_size
        self.timeout = timeout
        self._idle: list[_Connection] = []

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=self.timeout,
            start_tls=s.smtp_starttls,
            use_tls=False,
        )
        await smtp.connect()
        if s.smtp_username:
            await smtp.login(s.smtp_username, s.smtp_password or "")
        return smtp

    def _take(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.idle_since < self.IDLE_LIMIT and connection.smtp.is_connected:
                return connection.smtp
            connection.smtp.close()
        return None

    def _give_back(self, smtp: aiosmtplib.SMTP) -> None:
        if len(self._idle) < self.pool_size and smtp.is_connected:
            self._idle.append(_Connection(smtp, time.monotonic()))
        else:
            smtp.close()

    async def send(self, message: Message) -> None:
        smtp = self._take()
        reused = smtp is not None
        try:
            if smtp is None:
                smtp = await self._connect()
            try:
                await smtp.send_message(message)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # A kept connection the server had closed: nothing was sent on it; once more, fresh.
                smtp.close()
                smtp = await self._connect()
                await smtp.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            self._discard(smtp)
            code = exc.recipients[0].code if exc.recipients else 550
            raise DeliveryError(f"smtp {code}", permanent=500 <= code < 600) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            self._discard(smtp)
            raise DeliveryError(f"smtp {exc.code} authentication") from None
        except aiosmtplib.SMTPResponseException as exc:
            self._discard(smtp)
            raise DeliveryError(f"smtp {exc.code}", permanent=500 <= exc.code < 600) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            self._discard(smtp)
            raise DeliveryError(error_detail(exc)) from None
        self._give_back(smtp)

    @staticmethod
    def _discard(smtp: aiosmtplib.SMTP | None) -> None:
        if smtp is not None:
            smtp.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await asyncio.wait_for(connection.smtp.quit(), timeout=2)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                connection.smtp.close()


# --- Web Push -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


class PushSender:
    """Web Push (RFC 8030) with VAPID (RFC 8292); payloads encrypted as aes128gcm (RFC 8291)."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession, *, timeout: float = 30.0) -> None:
        self.settings = settings
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.vapid = Vapid02(private_key=load_vapid_key(settings.vapid_private_key))

    async def send(self, subscription: Subscription, data: dict[str, Any], *, ttl: int, urgency: str) -> None:
        try:
            await webpush_async(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=json.dumps(data, ensure_ascii=False),
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.settings.vapid_subject},  # aud and exp are added per endpoint
                ttl=ttl,
                headers={"Urgency": urgency},
                timeout=self.timeout,
                aiohttp_session=self.session,
            )
        except WebPushException as exc:
            status = exc.response.status if exc.response is not None else None
            if status is None:
                raise DeliveryError("push refused") from None
            raise DeliveryError(
                f"http {status}", permanent=status in PERMANENT_HTTP, gone=status in SUBSCRIPTION_GONE
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise DeliveryError(error_detail(exc)) from None


# --- SMS ------------------------------------------------------------------------------------------


class SmsSender(Protocol):
    async def send(self, to: str, text: str, *, reference: str, kind: str) -> None:
        """Send `text` to the phone number `to`. `reference` and `kind` are for the log only."""


class LogSms:
    """Development: writes that a text message would go out — without the number or the text."""

    async def send(self, to: str, text: str, *, reference: str, kind: str) -> None:
        log.info("sms to %s: %s", reference, kind)


class HttpSms:
    """A generic gateway: POST {"to", "text"} as JSON with a bearer token; any 2xx means sent."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession, *, timeout: float = 30.0) -> None:
        if not settings.sms_gateway_url:
            raise ValueError("SMS_BACKEND=http needs SMS_GATEWAY_URL")
        self.url = settings.sms_gateway_url
        self.token = settings.sms_gateway_token
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, to: str, text: str, *, reference: str, kind: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.session.post(
                self.url, json={"to": to, "text": text}, headers=headers, timeout=self.timeout
            ) as response:
                await response.read()
                if not 200 <= response.status < 300:
                    raise DeliveryError(
                        f"http {response.status}", permanent=response.status in PERMANENT_HTTP
                    )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(error_detail(exc)) from None


def sms_sender(settings: Settings, session: aiohttp.ClientSession) -> SmsSender:
    if settings.sms_backend == "http":
        return HttpSms(settings, session)
    if settings.sms_backend != "log":
        raise ValueError(f"Unknown SMS_BACKEND {settings.sms_backend!r}: use log or http")
    return LogSms()
