"""Shipping the application's logs to a separate log system (ASVS 16.4.3), as syslog (RFC 5424).

SYSLOG_URL names the collector: `tls://host:6514` (RFC 5425; the collector's certificate is checked
against the system's CAs or SYSLOG_CA_FILE), `tcp://host:514` (RFC 6587 octet counting) or
`udp://host:514` (RFC 5426). Every record of the root logger goes there as well as to the process's own
output, which stays the local copy: a collector that is away loses nothing locally, and a request never
waits for it (a queue and a thread of its own send the records). The logs hold no personal data (staff by
id, routes by their template, counts), and the hourly audit checkpoints go out the same way
(app/domain/audit.py: `log_checkpoints`), so a rewrite of the audit log in the database can be noticed
against a copy that the database's administrators cannot reach.

The standard library's SysLogHandler speaks neither RFC 5424 nor TLS, and the one package on PyPI that
does has not been released since 2019; hence this small handler.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from litestar.types import Scope

from app.settings import Settings

APP_NAME = "kotopolku"
FACILITY_LOCAL0 = 16
RETRY_AFTER_S = 10.0  # after a failed connection, records go to the local log only for this long
_SEVERITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def _nil_or(value: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII without spaces, or "-"."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


class SyslogHandler(logging.Handler):
    """One record → one RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`, the logger's
    name as MSGID. TCP and TLS frame it with its length (octet counting); UDP sends one datagram."""

    def __init__(self, url: str, ca_file: str | None = None, timeout: float = 5.0) -> None:
        super().__init__()
        parts = urlsplit(url)
        if parts.scheme not in ("tls", "tcp", "udp") or not parts.hostname:
            raise ValueError("SYSLOG_URL must look like tls://host:6514, tcp://host:514 or udp://host:514")
        self.scheme = parts.scheme
        self.address = (parts.hostname, parts.port or (6514 if parts.scheme == "tls" else 514))
        self.ca_file = ca_file
        self.timeout = timeout
        self.hostname = _nil_or(socket.gethostname(), 255)
        self._socket: socket.socket | None = None
        self._retry_at = 0.0

    def message(self, record: logging.LogRecord) -> bytes:
        pri = FACILITY_LOCAL0 * 8 + _SEVERITY.get(record.levelno, 6)
        at = (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z")
        )
        header = f"<{pri}>1 {at} {self.hostname} {APP_NAME} {os.getpid()} {_nil_or(record.name, 32)} -"
        return f"{header} {self.format(record)}".encode()

    def _connect(self) -> socket.socket:
        if self.scheme == "udp":
            return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        raw = socket.create_connection(self.address, timeout=self.timeout)
        if self.scheme == "tcp":
            return raw
        context = ssl.create_default_context(cafile=self.ca_file)  # verifies the certificate and host name
        return context.wrap_socket(raw, server_hostname=self.address[0])

    def emit(self, record: logging.LogRecord) -> None:
        if time.monotonic() < self._retry_at:
            return  # the collector was away a moment ago; the local log has this record
        try:
            data = self.message(record)
            if self._socket is None:
                self._socket = self._connect()
            if self.scheme == "udp":
                self._socket.sendto(data, self.address)
            else:
                self._socket.sendall(b"%d %s" % (len(data), data))
        except (OSError, ValueError):
            self._drop_socket()
            self._retry_at = time.monotonic() + RETRY_AFTER_S

    def _drop_socket(self) -> None:
        if self._socket is not None:
            with suppress(OSError):
                self._socket.close()
            self._socket = None

    def close(self) -> None:
        """End the connection in order. A TLS collector has sent session tickets that nobody read, and
        closing a socket with unread data sends a reset, which makes the collector's system drop what it
        has not read yet (the last records). Shutting TLS down first reads them."""
        if isinstance(self._socket, ssl.SSLSocket):
            with suppress(OSError, ValueError):
                self._socket.settimeout(2.0)
                self._socket = self._socket.unwrap()
        self._drop_socket()
        super().close()


class _WithoutTraceback(logging.Formatter):
    """The message and, for an exception, its class only: a traceback can quote data (a database error's
    detail names the values of a unique key), so it stays in the local log."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            message += f" ({record.exc_info[0].__name__})"
        return message


def quiet_libraries() -> None:
    """httpx logs every outgoing request's URL at INFO, and a Web Push endpoint's URL is a capability of
    one person's phone: only its warnings and errors are logged."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def ship_logs(settings: Settings) -> logging.handlers.QueueListener | None:
    """With SYSLOG_URL set: the root logger's records (INFO and above) also go to the collector, through a
    queue; the listener's thread sends them. None without SYSLOG_URL. Stop the listener at shutdown."""
    if not settings.syslog_url:
        return None
    handler = SyslogHandler(settings.syslog_url, settings.syslog_ca_file)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    queue_handler = logging.handlers.QueueHandler(records)
    queue_handler.setFormatter(_WithoutTraceback())
    queue_handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(queue_handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    listener = logging.handlers.QueueListener(records, handler)
    listener.start()
    listener.queue_handler = queue_handler  # type: ignore[attr-defined]  # for stop_shipping
    return listener


def stop_shipping(listener: logging.handlers.QueueListener | None) -> None:
    """Send what is queued, then detach (the process is ending)."""
    if listener is None:
        return
    logging.getLogger().removeHandler(listener.queue_handler)  # type: ignore[attr-defined]
    listener.stop()
    for handler in listener.handlers:
        handler.close()


@asynccontextmanager
async def shipped_while_serving(app: Any) -> AsyncIterator[None]:
    """The app's lifespan with SYSLOG_URL set: each server process ships its own records."""
    listener = ship_logs(app.state.settings)
    try:
        yield
    finally:
        stop_shipping(listener)


# --- security events (ASVS 16.3) ---------------------------------------------------------------------

security_log = logging.getLogger("kotopolku.security")


@dataclass
class _Served:
    """What a security event says of the request: strings only, for a context can outlive its request
    (a connection opened during it keeps a copy), and must not keep its scope or session alive."""

    method: str
    route: str
    who: str = "anonymous"


# The request being served, so that code far from it (a form reader, the rate limiter) can say where a
# security event happened: set by the first middleware (app/web.py: LocaleMiddleware), `who` by the guards.
_served: ContextVar[_Served | None] = ContextVar("served", default=None)


@contextmanager
def serving(scope: Scope) -> Iterator[None]:
    route = str(scope.get("path_template") or "(no route)")
    token = _served.set(_Served(str(scope.get("method", "")), route))
    try:
        yield
    finally:
        _served.reset(token)


def identified(who: str) -> None:
    """The guards name who the request is from, as `requester` does."""
    if (served := _served.get()) is not None:
        served.who = who


def requester(scope: Scope) -> str:
    """Who made the request: staff by id, else "a client" or "anonymous" (never a client's id)."""
    state = scope.get("state") or {}
    signed_in = state.get("signed_in")
    if signed_in:
        return f"staff {signed_in.actor.staff_id}"
    return "a client" if state.get("client_signed_in") else "anonymous"


def security_event(what: str) -> None:
    """A warning naming the event, the route's template and who (ASVS 16.3.3). `what` must hold no data
    from the request: field names and counts only."""
    served = _served.get()
    if served is None:  # outside a request (a CLI command, a worker)
        security_log.warning("%s", what)
        return
    security_log.warning("%s on %s %s for %s", what, served.method, served.route, served.who)
