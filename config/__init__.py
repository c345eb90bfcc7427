"""Typed, frozen configuration read once from the environment.

Production fails closed: a missing secret is a `ConfigError`, never a default.
Every secret may also come from a file (`NAME_FILE`), which is how Docker
secrets reach the app without showing up in `docker inspect`.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from limits import parse_many

from config.channels import TEMPLATE_VARIABLES, ChannelKind, ChannelTemplateError, check_template

GIB = 1024**3
DEFAULT_MAX_FILE_BYTES = 2 * GIB
DEFAULT_MAX_SUBMISSION_BYTES = 4 * GIB
# The SMTP URL schemes intake.services.mailer speaks, so a typo cannot send in the clear.
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
ONION_ORIGIN = re.compile(r"^https?://[a-z2-7]{56}\.onion/?$")
# Scheme, host and optional port: where staff reach this instance.
BASE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/?$")


Choice = TypeVar("Choice", bound=StrEnum)


class ConfigError(RuntimeError):
    """The environment does not describe a safe, complete configuration."""


class Environment(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"
    TEST = "test"


class KdfProfile(StrEnum):
    PRODUCTION = "production"
    # Cheap Argon2 for the test suite only; production refuses it.
    FAST = "fast"


@dataclass(frozen=True)
class Config:
    environment: Environment
    secret_key: bytes = field(repr=False)
    data_dir: Path
    blob_dir: Path
    database_url: str = field(repr=False)
    # Plain-HTTP cookies are only for development on loopback; .onion
    # services keep Secure cookies because Tor Browser treats .onion as a
    # secure context.
    insecure_cookies: bool
    ratelimit_storage_uri: str
    onion_location: str | None
    # Shown on the landing page: submitters should know who they are writing to.
    organisation_name: str | None
    # Local port of the lawyers' onion; when set, staff pages answer only there.
    staff_port: int | None
    max_file_bytes: int
    max_submission_bytes: int
    kdf_profile: KdfProfile
    # Rate limits in the `limits` library's notation ("20 per hour", "5/minute;100/day"),
    # checked at start so a typo cannot switch throttling off.
    submit_rate_limit: str
    global_submit_rate_limit: str
    login_rate_limit: str
    global_codename_rate_limit: str
    # Chunked (JavaScript) uploads started for everybody together: each holds disk
    # until it is finished or swept, and a client can drop its cookie.
    global_upload_start_rate_limit: str
    # Lawyer logins answered per window for everybody together: a client that
    # drops its cookie escapes the per-client limit, not this one.
    global_login_rate_limit: str
    # Days a closed case is kept after its last activity before `intake sweep`
    # deletes it; None keeps cases forever.
    retention_days: int | None
    # The lawyers' address (INTAKE_BASE_URL) for invitation links, never the
    # request's Host header; None: links are shown as paths.
    base_url: str | None = None
    # Where `intake notify` sends content-free email (see intake.services.mailer); None: no email.
    # It may hold the SMTP password.
    smtp_url: str | None = field(default=None, repr=False)
    notify_sender: str = "intake@localhost"
    # The UTC hour in which digests go out (0-23); None: at the first run of a day with news.
    notify_digest_hour: int | None = None
    # Apprise URL templates of the push channels the operator turned on (config.channels);
    # they may hold tokens.
    notify_channels: dict[ChannelKind, str] = field(default_factory=dict, repr=False)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        environment = _choice(env, "INTAKE_ENV", Environment, Environment.PRODUCTION)
        data_dir = Path(env.get("INTAKE_DATA_DIR", "instance")).resolve()
        blob_dir = Path(env.get("INTAKE_BLOB_DIR", str(data_dir / "blobs"))).resolve()

        secret = _read_secret(env, "SECRET_KEY")
        if secret is None:
            if environment is Environment.PRODUCTION:
                raise ConfigError("SECRET_KEY (or SECRET_KEY_FILE) is required in production")
            secret = _local_development_secret(data_dir)
        if len(secret) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters")

        database_url = _read_secret(env, "DATABASE_URL")
        if database_url is None:
            database_url = f"sqlite:///{data_dir / 'intake.sqlite3'}"

        insecure_cookies = _flag(env, "INTAKE_INSECURE_COOKIES")
        if insecure_cookies and environment is Environment.PRODUCTION:
            raise ConfigError("INTAKE_INSECURE_COOKIES is for development only")
        onion_location = env.get("INTAKE_ONION_LOCATION") or None
        if onion_location is not None and not ONION_ORIGIN.match(onion_location):
            raise ConfigError("INTAKE_ONION_LOCATION must be http(s):// and a v3 .onion address, nothing else")
        kdf_profile = _choice(env, "INTAKE_KDF_PROFILE", KdfProfile, KdfProfile.PRODUCTION)
        if kdf_profile is KdfProfile.FAST and environment is not Environment.TEST:
            raise ConfigError("INTAKE_KDF_PROFILE=fast is allowed only with INTAKE_ENV=test")

        return cls(
            environment=environment,
            secret_key=secret.encode(),
            data_dir=data_dir,
            blob_dir=blob_dir,
            database_url=database_url,
            insecure_cookies=insecure_cookies,
            ratelimit_storage_uri=_read_secret(env, "RATELIMIT_STORAGE_URI") or "memory://",
            onion_location=onion_location,
            organisation_name=(env.get("INTAKE_ORGANISATION_NAME") or "").strip() or None,
            staff_port=_optional_positive_int(env, "INTAKE_STAFF_PORT"),
            max_file_bytes=_optional_positive_int(env, "INTAKE_MAX_FILE_BYTES") or DEFAULT_MAX_FILE_BYTES,
            max_submission_bytes=(
                _optional_positive_int(env, "INTAKE_MAX_SUBMISSION_BYTES") or DEFAULT_MAX_SUBMISSION_BYTES
            ),
            kdf_profile=kdf_profile,
            submit_rate_limit=_rate_limit(env, "INTAKE_SUBMIT_RATE_LIMIT", "20 per hour"),
            global_submit_rate_limit=_rate_limit(env, "INTAKE_GLOBAL_SUBMIT_RATE_LIMIT", "600 per hour"),
            login_rate_limit=_rate_limit(env, "INTAKE_LOGIN_RATE_LIMIT", "30 per hour"),
            global_codename_rate_limit=_rate_limit(env, "INTAKE_GLOBAL_CODENAME_RATE_LIMIT", "600 per hour"),
            global_upload_start_rate_limit=_rate_limit(
                env, "INTAKE_GLOBAL_UPLOAD_START_RATE_LIMIT", "2000 per hour"
            ),
            global_login_rate_limit=_rate_limit(env, "INTAKE_GLOBAL_LOGIN_RATE_LIMIT", "120 per hour"),
            retention_days=_optional_positive_int(env, "INTAKE_RETENTION_DAYS"),
            base_url=_base_url(env),
            smtp_url=_smtp_url(env),
            notify_sender=env.get("INTAKE_NOTIFY_FROM") or "intake@localhost",
            notify_digest_hour=_hour(env, "INTAKE_NOTIFY_DIGEST_HOUR"),
            notify_channels=_notify_channels(env),
        )


def _read_secret(env: Mapping[str, str], name: str) -> str | None:
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"{name}_FILE cannot be read: {error.strerror}") from None
    return env.get(name) or None


def _choice(env: Mapping[str, str], name: str, choices: type[Choice], default: Choice) -> Choice:
    value = env.get(name, default.value)
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(choice.value for choice in choices)
        raise ConfigError(f"{name} must be one of {allowed}") from None


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    """The limit string as given, once the limiter is known to understand it."""
    value = env.get(name, default)
    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed:
        raise ConfigError(f"{name} must be a rate limit such as '30 per hour' or '5/minute;100/day'")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _optional_positive_int(env: Mapping[str, str], name: str) -> int | None:
    if name not in env:
        return None
    try:
        value = int(env[name])
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value


def _local_development_secret(data_dir: Path) -> str:
    """A per-checkout secret kept under instance/, so dev sessions survive restarts."""
    path = data_dir / "dev-secret-key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def _base_url(env: Mapping[str, str]) -> str | None:
    value = env.get("INTAKE_BASE_URL") or None
    if value is not None and not BASE_URL.match(value):
        raise ConfigError("INTAKE_BASE_URL must be http(s)://host[:port], e.g. the lawyers' onion address")
    return value.rstrip("/") if value else None


def _smtp_url(env: Mapping[str, str]) -> str | None:
    value = _read_secret(env, "INTAKE_SMTP_URL")
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme in SMTP_SCHEMES and bool(parts.hostname) and parts.port != 0
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError("INTAKE_SMTP_URL must be smtp://, smtp+starttls:// or smtps:// with a host")
    return value


def _notify_channels(env: Mapping[str, str]) -> dict[ChannelKind, str]:
    channels = {}
    for kind, name in TEMPLATE_VARIABLES.items():
        template = _read_secret(env, name)
        if template is None:
            continue
        try:
            check_template(kind, template)
        except ChannelTemplateError as error:
            raise ConfigError(f"{name} {error}") from None
        channels[kind] = template
    return channels


def _hour(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > 23:
        raise ConfigError(f"{name} must be an hour of the day in UTC, 0 to 23")
    return int(value)
