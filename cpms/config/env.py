"""Configuration read from the environment, and nothing else.

`load(environ)` is a pure function from a mapping of environment variables to a `Config`, so
every rule here is testable without reloading Django. `settings.py` calls it once with
`os.environ`. Every variable is documented in the README's configuration table.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url

PROJECT_DIR = Path(__file__).resolve().parents[2]

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
SUPPORTED_LANGUAGES = ("zh-hans", "en")
SQLITE_BUSY_TIMEOUT_SECONDS = 30
MASTER_KEY_BYTES = 32


class ConfigError(Exception):
    """A variable is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class Config:
    debug: bool
    data_dir: Path
    secret_key: str
    master_key: bytes
    database: dict[str, Any]
    redis_url: str | None
    allowed_hosts: list[str]
    port: int
    bind: str
    time_zone: str
    language: str
    jobs_immediate: bool
    extra_apps: list[str] = field(default_factory=list)
    generated_keys: list[str] = field(default_factory=list)
    master_keys_retired: list[bytes] = field(default_factory=list)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: bool = True
    email_from: str = "CPMS <cpms@localhost>"
    upload_max_bytes: int = 20 * 1024 * 1024
    incident_notify_hours: int = 24
    audit_witness_file: Path | None = None
    trusted_proxies: list[str] = field(default_factory=list)

    @property
    def production(self) -> bool:
        return not self.debug


def parse_bool(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def parse_port(environ: Mapping[str, str], name: str, *, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name}={raw!r} is not a TCP port (1-65535).")
    return int(raw)


def parse_list(environ: Mapping[str, str], name: str, *, default: list[str]) -> list[str]:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_config(url: str) -> dict[str, Any]:
    """Django DATABASES['default'] for a URL; SQLite gets WAL, a busy timeout and IMMEDIATE
    transactions so a writer takes the lock when its transaction begins, never halfway."""
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:  # the library raises several types for malformed URLs
        raise ConfigError(f"DATABASE_URL={url!r} cannot be parsed: {exc}") from exc
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000};"
            ),
        }
        config["CONN_MAX_AGE"] = 0
    elif engine == "django.db.backends.postgresql":
        config["CONN_MAX_AGE"] = 60
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ConfigError(
            f"DATABASE_URL={url!r} uses an unsupported database; use sqlite:/// or postgres://."
        )
    config["ATOMIC_REQUESTS"] = False
    return config


def _read_or_generate(path: Path, make: Any) -> tuple[str, bool]:
    """Return the content of a key file, creating it with mode 0600 if it does not exist."""
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value, True


def decode_master_key(raw: str, *, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.strip() + "=" * (-len(raw.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{source} is not base64: {exc}") from exc
    if len(key) != MASTER_KEY_BYTES:
        raise ConfigError(
            f"{source} must decode to {MASTER_KEY_BYTES} bytes (AES-256); it has {len(key)}. "
            'Generate one with: python -c "import secrets,base64;'
            'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
        )
    return key


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode()


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def load(environ: Mapping[str, str]) -> Config:
    debug = parse_bool(environ, "CPMS_DEBUG", default=False)
    data_dir = Path(environ.get("CPMS_DATA_DIR") or PROJECT_DIR / "var").resolve()
    if not debug:
        check_data_dir(data_dir, given="CPMS_DATA_DIR" in environ)
    generated: list[str] = []

    secret_key, master_key = _keys(environ, debug=debug, data_dir=data_dir, generated=generated)

    database_url = environ.get("DATABASE_URL", "").strip() or (
        f"sqlite:///{data_dir / 'cpms.sqlite3'}"
    )

    time_zone, language = _time_zone_and_language(environ)

    default_hosts = ["127.0.0.1", "localhost", "[::1]"] if debug else []
    allowed_hosts = parse_list(environ, "CPMS_ALLOWED_HOSTS", default=default_hosts)
    if not debug and not allowed_hosts:
        raise ConfigError(
            "Production mode needs CPMS_ALLOWED_HOSTS (comma-separated host names served)."
        )

    return Config(
        debug=debug,
        data_dir=data_dir,
        secret_key=secret_key,
        master_key=master_key,
        database=database_config(database_url),
        redis_url=environ.get("REDIS_URL", "").strip() or None,
        allowed_hosts=allowed_hosts,
        port=parse_port(environ, "CPMS_PORT", default=8000),
        bind=environ.get("CPMS_BIND", "").strip() or "127.0.0.1",
        time_zone=time_zone,
        language=language,
        jobs_immediate=parse_bool(environ, "CPMS_JOBS_IMMEDIATE", default=False),
        extra_apps=parse_list(environ, "CPMS_EXTRA_APPS", default=[]),
        generated_keys=generated,
        master_keys_retired=parse_retired_master_keys(environ, current=master_key),
        smtp_host=environ.get("CPMS_SMTP_HOST", "").strip() or None,
        smtp_port=parse_port(environ, "CPMS_SMTP_PORT", default=587),
        smtp_user=environ.get("CPMS_SMTP_USER", "").strip(),
        smtp_password=environ.get("CPMS_SMTP_PASSWORD", ""),
        smtp_tls=parse_bool(environ, "CPMS_SMTP_TLS", default=True),
        email_from=environ.get("CPMS_EMAIL_FROM", "").strip() or "CPMS <cpms@localhost>",
        upload_max_bytes=parse_upload_limit(environ),
        incident_notify_hours=parse_incident_notify_hours(environ),
        audit_witness_file=parse_audit_witness_file(environ, data_dir=data_dir),
        trusted_proxies=parse_trusted_proxies(environ),
    )


def _keys(
    environ: Mapping[str, str], *, debug: bool, data_dir: Path, generated: list[str]
) -> tuple[str, bytes]:
    """The secret key and the master key: from the environment, or (local runs only) generated
    once under the data directory; production refuses to start without both."""
    secret_key = environ.get("CPMS_SECRET_KEY", "").strip()
    master_raw = environ.get("CPMS_MASTER_KEY", "").strip()
    if not debug:
        missing = [
            name
            for name, value in (("CPMS_SECRET_KEY", secret_key), ("CPMS_MASTER_KEY", master_raw))
            if not value
        ]
        if missing:
            raise ConfigError(
                "Production mode (CPMS_DEBUG off) refuses to start without "
                + " and ".join(missing)
                + ". Set them in the environment, or set CPMS_DEBUG=1 for a local run."
            )
    if not secret_key:
        secret_key, created = _read_or_generate(data_dir / "secret_key", new_secret_key)
        if created:
            generated.append(str(data_dir / "secret_key"))
    if len(secret_key) < 32:
        raise ConfigError("CPMS_SECRET_KEY must be at least 32 characters long.")
    master_source = "CPMS_MASTER_KEY"
    if not master_raw:
        master_raw, created = _read_or_generate(data_dir / "master_key", new_master_key)
        master_source = str(data_dir / "master_key")
        if created:
            generated.append(master_source)
    master_key = decode_master_key(master_raw, source=master_source)
    return secret_key, master_key


def _time_zone_and_language(environ: Mapping[str, str]) -> tuple[str, str]:
    time_zone = environ.get("CPMS_TIME_ZONE", "").strip() or "Asia/Shanghai"
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"CPMS_TIME_ZONE={time_zone!r} is not an IANA time zone.") from exc

    language = (environ.get("CPMS_LANGUAGE", "").strip() or "zh-hans").lower()
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(
            f"CPMS_LANGUAGE={language!r} is not supported; use one of "
            + ", ".join(SUPPORTED_LANGUAGES)
            + "."
        )
    return time_zone, language


def check_data_dir(data_dir: Path, *, given: bool) -> None:
    """Production mode does not create its data directory: a missing or read-only one is a
    start-up error that names the variable, not an opaque database error later."""
    source = "CPMS_DATA_DIR" if given else "CPMS_DATA_DIR (unset, so the default)"
    if not data_dir.is_dir():
        raise ConfigError(
            f"{source} is {data_dir}, which does not exist. Create the directory (it holds "
            "uploaded files, the job queue and, without DATABASE_URL, the SQLite database) "
            "or point CPMS_DATA_DIR at one."
        )
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{source} is {data_dir}, which this process cannot write. Give the CPMS user "
            "write access to it."
        )


def parse_trusted_proxies(environ: Mapping[str, str]) -> list[str]:
    """CPMS_TRUSTED_PROXIES: comma-separated addresses or networks (CIDR) of the reverse proxies
    in front of CPMS. Only a request arriving from one of them has its client address taken
    from X-Forwarded-For; from anywhere else the header is ignored (clients can forge it)."""
    networks: list[str] = []
    for raw in parse_list(environ, "CPMS_TRUSTED_PROXIES", default=[]):
        try:
            networks.append(str(ipaddress.ip_network(raw, strict=False)))
        except ValueError:
            raise ConfigError(
                f"CPMS_TRUSTED_PROXIES item {raw!r} is not an IP address or network "
                "(e.g. 10.0.0.5 or 10.0.0.0/24)."
            ) from None
    return networks


def parse_audit_witness_file(environ: Mapping[str, str], *, data_dir: Path) -> Path | None:
    """CPMS_AUDIT_WITNESS_FILE: the file every new audit checkpoint is appended to (relative
    paths are under CPMS_DATA_DIR); unset means no witness (docs/audit.md)."""
    raw = environ.get("CPMS_AUDIT_WITNESS_FILE", "").strip()
    if not raw:
        return None
    return (data_dir / Path(raw).expanduser()).resolve()


def parse_upload_limit(environ: Mapping[str, str]) -> int:
    """CPMS_UPLOAD_MAX_MB: the largest document or photo accepted, in MiB (default 20)."""
    raw = environ.get("CPMS_UPLOAD_MAX_MB", "").strip()
    if not raw:
        return 20 * 1024 * 1024
    try:
        megabytes = int(raw)
    except ValueError:
        raise ConfigError(f"CPMS_UPLOAD_MAX_MB={raw!r} is not a whole number of MiB.") from None
    if not 1 <= megabytes <= 1024:
        raise ConfigError("CPMS_UPLOAD_MAX_MB must be between 1 and 1024.")
    return megabytes * 1024 * 1024


def parse_incident_notify_hours(environ: Mapping[str, str]) -> int:
    """CPMS_INCIDENT_NOTIFY_HOURS: hours within which a customer must be notified of an incident
    on an item in custody (default 24)."""
    raw = environ.get("CPMS_INCIDENT_NOTIFY_HOURS", "").strip()
    if not raw:
        return 24
    try:
        hours = int(raw)
    except ValueError:
        raise ConfigError(
            f"CPMS_INCIDENT_NOTIFY_HOURS={raw!r} is not a whole number of hours."
        ) from None
    if not 1 <= hours <= 720:
        raise ConfigError("CPMS_INCIDENT_NOTIFY_HOURS must be between 1 and 720.")
    return hours


def parse_retired_master_keys(environ: Mapping[str, str], *, current: bytes) -> list[bytes]:
    """CPMS_MASTER_KEYS_RETIRED: comma-separated former master keys, kept only so that
    `cpms keys rotate` can unwrap data keys still wrapped by them (see docs/privacy.md)."""
    keys: list[bytes] = []
    for position, raw in enumerate(parse_list(environ, "CPMS_MASTER_KEYS_RETIRED", default=[])):
        key = decode_master_key(raw, source=f"CPMS_MASTER_KEYS_RETIRED item {position + 1}")
        if key != current and key not in keys:
            keys.append(key)
    return keys
