"""Settings parsing: every rule of cpms.config.env, exercised without reloading Django."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cpms.config import env

VALID_MASTER = env.new_master_key()
VALID_SECRET = "s" * 40


def production_environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {
        "CPMS_DATA_DIR": str(tmp_path),
        "CPMS_SECRET_KEY": VALID_SECRET,
        "CPMS_MASTER_KEY": VALID_MASTER,
        "CPMS_ALLOWED_HOSTS": "cpms.example.cn",
    }
    base.update(extra)
    return base


def test_load__local_defaults(tmp_path):
    # when
    config = env.load({"CPMS_DEBUG": "1", "CPMS_DATA_DIR": str(tmp_path)})
    # then
    assert config.debug is True
    assert config.port == 8000
    assert config.bind == "127.0.0.1"
    assert config.time_zone == "Asia/Shanghai"
    assert config.language == "zh-hans"
    assert config.redis_url is None
    assert config.allowed_hosts == ["127.0.0.1", "localhost", "[::1]"]
    assert config.database["ENGINE"] == "django.db.backends.sqlite3"
    assert config.database["NAME"] == str(tmp_path / "cpms.sqlite3")


def test_load__sqlite_takes_write_lock_up_front_with_wal_and_busy_timeout(tmp_path):
    config = env.load({"CPMS_DEBUG": "1", "CPMS_DATA_DIR": str(tmp_path)})
    options = config.database["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] == 30
    assert "PRAGMA journal_mode=WAL" in options["init_command"]
    assert "PRAGMA busy_timeout=30000" in options["init_command"]
    assert "PRAGMA foreign_keys=ON" in options["init_command"]


def test_load__local_keys_generated_once_with_mode_0600(tmp_path):
    # given nothing in the environment
    first = env.load({"CPMS_DEBUG": "1", "CPMS_DATA_DIR": str(tmp_path)})
    # when loaded again
    second = env.load({"CPMS_DEBUG": "1", "CPMS_DATA_DIR": str(tmp_path)})
    # then the same keys are reused, and the files are private
    assert sorted(first.generated_keys) == sorted(
        [str(tmp_path / "secret_key"), str(tmp_path / "master_key")]
    )
    assert second.generated_keys == []
    assert first.secret_key == second.secret_key
    assert first.master_key == second.master_key
    assert len(first.master_key) == 32
    for name in ("secret_key", "master_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, name


def test_load__environment_keys_win_over_files(tmp_path):
    config = env.load(
        {
            "CPMS_DEBUG": "1",
            "CPMS_DATA_DIR": str(tmp_path),
            "CPMS_SECRET_KEY": VALID_SECRET,
            "CPMS_MASTER_KEY": VALID_MASTER,
        }
    )
    assert config.secret_key == VALID_SECRET
    assert config.generated_keys == []
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("missing", ["CPMS_SECRET_KEY", "CPMS_MASTER_KEY"])
def test_load__production_refuses_to_start_without_keys(tmp_path, missing):
    environ = production_environ(tmp_path)
    del environ[missing]
    with pytest.raises(env.ConfigError, match=missing):
        env.load(environ)
    assert not (tmp_path / "secret_key").exists()
    assert not (tmp_path / "master_key").exists()


def test_load__production_is_the_default_mode(tmp_path):
    config = env.load(production_environ(tmp_path))
    assert config.debug is False
    assert config.production is True
    assert config.allowed_hosts == ["cpms.example.cn"]


def test_load__production_needs_allowed_hosts(tmp_path):
    environ = production_environ(tmp_path)
    del environ["CPMS_ALLOWED_HOSTS"]
    with pytest.raises(env.ConfigError, match="CPMS_ALLOWED_HOSTS"):
        env.load(environ)


def test_load__postgres_url(tmp_path):
    config = env.load(
        production_environ(tmp_path, DATABASE_URL="postgres://cpms:pw@db.internal:6543/cpms_prod")
    )
    database = config.database
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        6543,
        "cpms_prod",
    )
    assert database["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CPMS_DEBUG", "maybe", "not a boolean"),
        ("CPMS_PORT", "http", "not a TCP port"),
        ("CPMS_PORT", "70000", "not a TCP port"),
        ("CPMS_TIME_ZONE", "Mars/Olympus", "not an IANA time zone"),
        ("CPMS_LANGUAGE", "fr", "not supported"),
        ("CPMS_MASTER_KEY", "dG9vLXNob3J0", "must decode to 32 bytes"),
        ("CPMS_SECRET_KEY", "short", "at least 32 characters"),
        ("DATABASE_URL", "mysql://root@localhost/cpms", "unsupported database"),
        ("CPMS_UPLOAD_MAX_MB", "lots", "whole number"),
        ("CPMS_UPLOAD_MAX_MB", "0", "between 1 and 1024"),
        ("CPMS_SMTP_PORT", "smtp", "not a TCP port"),
    ],
)
def test_load__malformed_values_name_the_variable(tmp_path, name, value, message):
    environ = production_environ(tmp_path, **{name: value})
    with pytest.raises(env.ConfigError, match=message) as caught:
        env.load(environ)
    assert name in str(caught.value) or name == "CPMS_MASTER_KEY"


def test_load__values_from_environment(tmp_path):
    config = env.load(
        production_environ(
            tmp_path,
            CPMS_PORT="8123",
            CPMS_TIME_ZONE="Europe/Berlin",
            CPMS_LANGUAGE="en",
            REDIS_URL="redis://127.0.0.1:6379/3",
            CPMS_ALLOWED_HOSTS="a.example, b.example ,",
            CPMS_JOBS_IMMEDIATE="yes",
        )
    )
    assert config.port == 8123
    assert config.time_zone == "Europe/Berlin"
    assert config.language == "en"
    assert config.redis_url == "redis://127.0.0.1:6379/3"
    assert config.allowed_hosts == ["a.example", "b.example"]
    assert config.jobs_immediate is True


def _django_settings(environ: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    code = (
        "import django; from django.conf import settings; django.setup(); "
        f"print(repr({expression}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CPMS_", "REDIS_URL"))}
    clean.update(environ, DJANGO_SETTINGS_MODULE="cpms.config.settings")
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60
    )


def test_settings__production_mode_is_secure(tmp_path):
    result = _django_settings(
        production_environ(tmp_path),
        "(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_HSTS_SECONDS, settings.X_FRAME_OPTIONS, "
        "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(False, True, True, 31536000, 'DENY', [\"'self'\"])"


def test_settings__production_without_keys_exits_with_the_reason(tmp_path):
    environ = production_environ(tmp_path)
    del environ["CPMS_SECRET_KEY"]
    result = _django_settings(environ, "settings.DEBUG")
    assert result.returncode != 0
    assert "refuses to start without CPMS_SECRET_KEY" in result.stderr


def test_settings__redis_url_switches_jobs_and_cache_to_redis(tmp_path):
    result = _django_settings(
        production_environ(tmp_path, REDIS_URL="redis://127.0.0.1:6379/5"),
        "(settings.HUEY['huey_class'], settings.CACHES['default']['BACKEND'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "('huey.RedisHuey', 'django.core.cache.backends.redis.RedisCache')"
    )


def test_settings__sqlite_jobs_by_default(tmp_path):
    result = _django_settings(
        production_environ(tmp_path), "(settings.HUEY['huey_class'], settings.HUEY['filename'])"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(("huey.SqliteHuey", str(tmp_path / "huey.sqlite3")))


def test_load__mail_and_upload_settings(tmp_path):
    config = env.load(production_environ(tmp_path))
    assert config.smtp_host is None
    assert config.upload_max_bytes == 20 * 1024 * 1024
    config = env.load(
        production_environ(
            tmp_path,
            CPMS_SMTP_HOST="smtp.example.cn",
            CPMS_SMTP_PORT="465",
            CPMS_SMTP_TLS="false",
            CPMS_EMAIL_FROM="客户财产 <noreply@example.cn>",
            CPMS_UPLOAD_MAX_MB="5",
        )
    )
    assert (config.smtp_host, config.smtp_port, config.smtp_tls) == ("smtp.example.cn", 465, False)
    assert config.email_from == "客户财产 <noreply@example.cn>"
    assert config.upload_max_bytes == 5 * 1024 * 1024


def test_load__incident_notify_hours(tmp_path):
    assert env.load(production_environ(tmp_path)).incident_notify_hours == 24
    config = env.load(production_environ(tmp_path, CPMS_INCIDENT_NOTIFY_HOURS="48"))
    assert config.incident_notify_hours == 48
    for raw, message in (("soon", "whole number"), ("0", "between 1 and 720")):
        with pytest.raises(env.ConfigError, match=message):
            env.load(production_environ(tmp_path, CPMS_INCIDENT_NOTIFY_HOURS=raw))
