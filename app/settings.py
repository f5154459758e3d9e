"""Settings read once from the environment into a frozen dataclass."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT / "var"


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept under var/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _vapid_private_key() -> str:
    """VAPID_PRIVATE_KEY from the environment (PEM, or the base64url private number that
    `vapid --gen`/web-push tools print), else a P-256 key generated once into var/vapid_private.pem."""
    if key := os.environ.get("VAPID_PRIVATE_KEY"):
        return key.replace("\\n", "\n").strip()  # a PEM pasted into one line with \n escapes
    path = VAR_DIR / "vapid_private.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        VAR_DIR.mkdir(exist_ok=True)
        try:  # O_EXCL: two processes starting at once keep the one key written first
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    return path.read_text().strip()


def load_vapid_key(private_key: str) -> Any:
    """The VAPID key (a P-256 EllipticCurvePrivateKey) from PEM or a base64url private number."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if "-----BEGIN" in private_key:
        key = serialization.load_pem_private_key(private_key.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("VAPID_PRIVATE_KEY is not an elliptic-curve key")
        return key
    raw = private_key.strip()
    number = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return ec.derive_private_key(int.from_bytes(number, "big"), ec.SECP256R1())


@lru_cache(maxsize=4)
def vapid_public_key(private_key: str) -> str:
    """The application server key the browser subscribes with: base64url of the uncompressed point."""
    import base64

    from cryptography.hazmat.primitives import serialization

    point = (
        load_vapid_key(private_key)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def async_database_url(url: str) -> str:
    """The SQLAlchemy URL with the async driver the app uses."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


def sync_database_url(url: str) -> str:
    """The SQLAlchemy URL with a blocking driver, for tools and tests."""
    if url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite+aiosqlite:///"):
        return "sqlite:///" + url.removeprefix("sqlite+aiosqlite:///")
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: f"sqlite:///{VAR_DIR / 'kotopolku.db'}")
    secret_key: str = field(default_factory=_secret_key, repr=False)
    # The address people use; its origin is the WebAuthn origin and its host the relying-party id.
    public_url: str = "http://localhost:8000"
    # The back office on a host name of its own (ASVS 3.5.4), e.g. https://virkailija.kotopolku.fi: /officer
    # and the officers' calendar feeds answer only there, and officers' passkeys belong to that host; the
    # public pages and the migrants' app answer only at PUBLIC_URL. Unset: everything on one host.
    office_url: str | None = None
    session_idle_minutes: int = 30
    # Officers signing in with a password need a second factor (an authenticator app or a passkey) before
    # they reach anything but their profile (ASVS 6.3.2). STAFF_SECOND_FACTOR=0 turns this off (a demo).
    staff_second_factor: bool = True
    session_absolute_hours: int = 10
    # Migrants sign in on their own phone with a passkey; signing a plan always asks for a fresh one.
    client_session_days: int = 30
    # Server-generated speech (espeak-ng) for languages the phone has no voice for.
    espeak_command: str = "espeak-ng"
    # Sign-in rate limit: failures allowed per account and per address within the window.
    sign_in_window_minutes: int = 15
    sign_in_max_failures_per_account: int = 5
    sign_in_max_failures_per_address: int = 30
    # argon2id cost; the defaults are RFC 9106's second recommended option.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # The accessibility feedback channel the law asks for (306/2019 §10): the municipality's address.
    accessibility_email: str = "saavutettavuus@esimerkkila.fi"
    # Anonymous feedback at /feedback (service 10) goes to one organisation: PUBLIC_ORGANISATION names it
    # by its code (the municipality code) or its exact name. Unset: the deployment's municipality when
    # there is exactly one; otherwise (none, or several and none named) /feedback says it is not in use.
    public_organisation: str | None = None
    # Anonymous feedback allowed per address (keyed hash) within the sign-in window; then 429.
    public_feedback_per_address: int = 10
    debug: bool = False
    sql_echo: bool = False
    # Notifications (app/jobs/): SMTP for e-mail, VAPID for Web Push, an SMS backend.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025  # a local relay or the development SMTP server
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    mail_from: str = "Kotopolku <kotopolku@esimerkkila.fi>"
    vapid_subject: str = "mailto:kotopolku@esimerkkila.fi"
    vapid_private_key: str = field(default_factory=_vapid_private_key, repr=False)
    sms_backend: str = "log"  # "log" (development: writes to the log) or "http" (a gateway)
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = field(default=None, repr=False)
    reminder_lead_hours: tuple[int, ...] = (24, 2)
    # From the environment: on unless RUN_WORKER=0 (`serve` runs a worker in-process); off in Settings().
    run_worker: bool = False
    # Machine translation: off unless a LibreTranslate-compatible server is configured.
    machine_translation_url: str | None = None
    machine_translation_key: str | None = field(default=None, repr=False)
    # Contract attachments (service 11): stored outside the web root (never under static/), at most this big.
    attachments_dir: Path = VAR_DIR / "attachments"
    attachment_max_bytes: int = 10 * 1024 * 1024
    # Logs also to a separate log system (app/logs.py): tls://host:6514, tcp://host:514 or udp://host:514.
    syslog_url: str | None = None
    syslog_ca_file: str | None = None  # the collector's CA for tls:// (default: the system's CAs)

    @property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)

    @property
    def sync_database_url(self) -> str:
        return sync_database_url(self.database_url)

    @property
    def vapid_public_key(self) -> str:
        """For the migrant app's pushManager.subscribe(applicationServerKey=…)."""
        return vapid_public_key(self.vapid_private_key)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def rp_id(self) -> str:
        return urlsplit(self.public_url).hostname or "localhost"

    @property
    def office_base(self) -> str:
        """Where the back office is: OFFICE_URL, or PUBLIC_URL when it shares the host."""
        return self.office_url or self.public_url

    @property
    def office_origin(self) -> str:
        parts = urlsplit(self.office_base)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def office_rp_id(self) -> str:
        """The relying-party id of officers' passkeys: the back office's own host."""
        return urlsplit(self.office_base).hostname or "localhost"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        kwargs: dict[str, object] = {}
        if url := env.get("DATABASE_URL"):
            kwargs["database_url"] = url
        if url := env.get("PUBLIC_URL"):
            kwargs["public_url"] = url.rstrip("/")
        if url := env.get("OFFICE_URL"):
            kwargs["office_url"] = url.rstrip("/")
        elif port := env.get("PORT"):  # `PORT=8080 make run`: the printed address and passkeys follow
            kwargs["public_url"] = f"http://localhost:{int(port)}"
        for name in (
            "session_idle_minutes",
            "session_absolute_hours",
            "client_session_days",
            "sign_in_max_failures_per_account",
            "sign_in_max_failures_per_address",
            "argon2_time_cost",
            "argon2_memory_kib",
        ):
            if value := env.get(name.upper()):
                kwargs[name] = int(value)
        if email := env.get("ACCESSIBILITY_EMAIL"):
            kwargs["accessibility_email"] = email
        if value := env.get("PUBLIC_ORGANISATION"):
            kwargs["public_organisation"] = value.strip()
        if value := env.get("PUBLIC_FEEDBACK_PER_ADDRESS"):
            kwargs["public_feedback_per_address"] = int(value)
        for name in ("smtp_host", "smtp_username", "smtp_password", "mail_from", "vapid_subject", "sms_backend",
                     "sms_gateway_url", "sms_gateway_token", "machine_translation_url",
                     "machine_translation_key", "syslog_url", "syslog_ca_file"):  # fmt: skip
            if value := env.get(name.upper()):
                kwargs[name] = value
        if value := env.get("SMTP_PORT"):
            kwargs["smtp_port"] = int(value)
        kwargs["smtp_starttls"] = env.get("SMTP_STARTTLS", "") == "1"
        if value := env.get("REMINDER_LEAD_HOURS"):
            kwargs["reminder_lead_hours"] = tuple(int(h) for h in value.split(",") if h.strip())
        if value := env.get("ATTACHMENTS_DIR"):
            kwargs["attachments_dir"] = Path(value).expanduser().resolve()
        if value := env.get("ATTACHMENT_MAX_BYTES"):
            kwargs["attachment_max_bytes"] = int(value)
        kwargs["staff_second_factor"] = env.get("STAFF_SECOND_FACTOR", "1") != "0"
        kwargs["run_worker"] = env.get("RUN_WORKER", "1") != "0"
        kwargs["debug"] = env.get("DEBUG", "") == "1"
        kwargs["sql_echo"] = env.get("SQL_ECHO", "") == "1"
        return cls(**kwargs)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
