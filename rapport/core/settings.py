"""One typed settings object, read from the environment (``RAPPORT_*``) and an optional ``.env``.

A bad setting stops start-up with one sentence naming it (:class:`SettingsError`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import threading
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.clock import parse_instant, pin
from models.feed import switch_off, switch_on

SUPPORTED_LOCALES = ("zh-CN", "en")
SECRET_FILE_NAME = "secret_key"
MAX_WORKERS = 64  # `rapport serve --workers`: far more than a machine this app runs on has cores
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off", ""})
# Placeholder values people copy from examples; production refuses them like an empty key.
KNOWN_DEFAULT_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}


class SettingsError(Exception):
    """A setting is wrong; the message is one sentence naming it."""


class Environment(StrEnum):
    development = "development"
    production = "production"


class LogFormat(StrEnum):
    text = "text"  # one readable line per record, for a person at a terminal
    json = "json"  # one JSON object per line, for a log collector


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAPPORT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("data")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8550
    public_url: str = ""
    locale: str = "zh-CN"
    env: Environment = Environment.development
    secret_key: str = ""
    log_format: LogFormat = LogFormat.text
    # Backups kept by `rapport backup` and the nightly job: the newest BACKUP_KEEP always stay; older
    # ones go, unless BACKUP_KEEP_DAYS is above 0 and they are younger than that many days.
    backup_keep: int = 14
    backup_keep_days: int = 0
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto headers are believed (comma-separated
    # addresses or networks). Empty: no proxy is trusted and every client is the address it came from.
    forwarded_allow_ips: str = ""
    # Server processes sharing the port (`rapport serve --workers N`; docs/OPERATIONS.md "Several worker
    # processes"). 1: one process, as before.
    workers: int = 1
    # Per-message deflate on the screens' websockets (docs/OPERATIONS.md "Sizing"). Off:
    # each open kiosk or admin screen costs about 50 KB less (the zlib state of its socket), for about
    # twice the bytes on the wire (a kiosk journey: 13 KB instead of 6 KB). On: for phones on slow
    # links where those few KB matter more than the server's memory.
    ws_compression: bool = False
    # Run the clock from this instant (ISO-8601 with offset) instead of the system's: for the browser
    # tests and for trying a policy on a given day. Empty: the system clock. Production refuses it.
    clock_at: str = ""
    # The provincial 好差评 feed (docs/OPERATIONS.md "The provincial 好差评 feed"): where each counted
    # rating is posted, the bearer token the platform gave this hall (empty: none sent), the hall's
    # 6- or 12-digit 行政区划代码 and its implementing department's code and name. Empty URL: no feed,
    # nothing is queued and the intake pays nothing for it.
    feed_url: str = ""
    feed_token: str = ""
    feed_region_code: str = ""
    feed_department_code: str = ""
    feed_department_name: str = ""

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, v: int) -> int:
        if not 1 <= v <= 65535:
            raise ValueError("must be between 1 and 65535")
        return v

    @field_validator("workers")
    @classmethod
    def _workers_in_range(cls, v: int) -> int:
        if not 1 <= v <= MAX_WORKERS:
            raise ValueError(f"must be a whole number of processes from 1 to {MAX_WORKERS}")
        return v

    @field_validator("ws_compression", mode="before")
    @classmethod
    def _on_or_off(cls, v: Any) -> Any:
        if isinstance(v, str):
            word = v.strip().lower()
            if word in _ON or word in _OFF:
                return word in _ON
            raise ValueError(f"{v!r} is neither on nor off; use 1 or 0 (or true/false, yes/no, on/off)")
        return v

    @field_validator("backup_keep")
    @classmethod
    def _keep_some(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be a whole number of at least 1 (how many backups to keep)")
        return v

    @field_validator("backup_keep_days")
    @classmethod
    def _days_not_negative(cls, v: int) -> int:
        if v < 0:
            raise ValueError("must be 0 (keep by count only) or a whole number of days")
        return v

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, v: str) -> str:
        items = [item.strip() for item in v.split(",") if item.strip()]
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an address or network; list the proxies, e.g. 127.0.0.1,10.0.0.0/8"
                ) from None
        return ",".join(items)

    @field_validator("clock_at")
    @classmethod
    def _instant(cls, v: str) -> str:
        if v.strip():
            try:
                parse_instant(v)
            except ValueError:
                raise ValueError(
                    f"{v!r} is not an ISO-8601 time with its offset, e.g. 2026-11-18T10:30:00+08:00"
                ) from None
        return v.strip()

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        if v not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return v

    @field_validator("feed_url")
    @classmethod
    def _feed_url(cls, v: str) -> str:
        v = v.strip()
        if v and not _FEED_URL.fullmatch(v):
            raise ValueError(
                f"{v!r} is not the http:// or https:// address of the platform's intake, "
                "e.g. https://hcp.example.gov.cn/api/evaluations"
            )
        return v

    @field_validator("feed_region_code")
    @classmethod
    def _region_code(cls, v: str) -> str:
        v = v.strip()
        if v and not (v.isascii() and v.isdigit() and len(v) in (6, 12)):
            raise ValueError(f"{v!r} is not a 6- or 12-digit 行政区划代码, e.g. 440304")
        return v

    @field_validator("feed_department_code")
    @classmethod
    def _department_code(cls, v: str) -> str:
        v = v.strip()
        if v and not (v.isascii() and v.isalnum() and len(v) <= 64):
            raise ValueError(f"{v!r} is not a department code (letters and digits, e.g. 11440300MB2C12345X)")
        return v

    @field_validator("feed_token")
    @classmethod
    def _token(cls, v: str) -> str:
        v = v.strip()
        if v and not (v.isascii() and v.isprintable() and " " not in v):
            raise ValueError("must be printable ASCII without spaces (it is sent as a bearer token)")
        return v

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if v and not (v.startswith("http://") or v.startswith("https://")):
            raise ValueError("must start with http:// or https://")
        return v

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'rapport.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def feed_on(self) -> bool:
        return bool(self.feed_url)


# scheme://host[:port][/path][?query]: no spaces, no user:password@ (the token is its own setting).
_FEED_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s#@]*)?")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's report into one sentence naming the setting."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "RAPPORT_" + str(err["loc"][0]).upper() if err["loc"] else "a RAPPORT_ setting"
        msg = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"Setting {name} is invalid: {msg}.") from None


def check_database_url(url: str) -> None:
    if not (url.startswith("sqlite://") or url.startswith("postgresql+psycopg://")):
        raise SettingsError(
            "Setting RAPPORT_DATABASE_URL is invalid: use sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/dbname."
        )


def prepare_data_dir(settings: Settings) -> Path:
    """Create the data directory and prove it is writable."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        # One probe per process and thread: two servers starting together on one directory must not
        # delete each other's probe and conclude the directory is unwritable.
        probe = path / f".write-test-{os.getpid()}-{threading.get_ident()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise SettingsError(
            f"Setting RAPPORT_DATA_DIR is invalid: {path} is not a writable directory "
            f"({exc.strerror or exc})."
        ) from None
    return path


def resolve_secret_key(settings: Settings) -> str:
    """Return the secret key; generate and keep one in the data directory in development.

    Production refuses to start without a real key of at least 32 characters.
    """
    key = settings.secret_key.strip()
    if settings.is_production:
        if key.lower() in KNOWN_DEFAULT_SECRETS or len(key) < 32:
            raise SettingsError(
                "Setting RAPPORT_SECRET_KEY is required in production: "
                "set it to a random value of at least 32 characters."
            )
        return key
    if key:
        return key
    path = settings.data_dir / SECRET_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def apply_clock(settings: Settings) -> None:
    """Pin this process's clock when RAPPORT_CLOCK_AT is set (never in production)."""
    if not settings.clock_at:
        return
    if settings.is_production:
        raise SettingsError(
            "Setting RAPPORT_CLOCK_AT is for tests and demonstrations only: "
            "unset it, production runs on the system clock."
        )
    pin(parse_instant(settings.clock_at))


def apply_feed(settings: Settings) -> None:
    """Turn this process's provincial feed on (RAPPORT_FEED_URL set, with the codes it needs) or off:
    with it on, every counted rating stored from now on queues its record (models/feed.py)."""
    if not settings.feed_on:
        switch_off()
        return
    for name, value, what in (
        ("RAPPORT_FEED_REGION_CODE", settings.feed_region_code, "the hall's 6- or 12-digit 行政区划代码"),
        ("RAPPORT_FEED_DEPARTMENT_CODE", settings.feed_department_code, "the implementing department's code"),
    ):
        if not value:
            raise SettingsError(f"Setting {name} is required with RAPPORT_FEED_URL: set it to {what}.")
    switch_on(settings.feed_department_code)


def checked_settings(**overrides: Any) -> tuple[Settings, str]:
    """Everything start-up needs to refuse a bad configuration: settings, clock, feed, data dir,
    secret."""
    settings = load_settings(**overrides)
    check_database_url(settings.effective_database_url)
    apply_clock(settings)
    apply_feed(settings)
    prepare_data_dir(settings)
    return settings, resolve_secret_key(settings)
