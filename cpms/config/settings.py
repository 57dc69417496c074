"""Django settings. Every value comes from the environment through `cpms.config.env.load`."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cpms.config import env

try:
    CONFIG = env.load(os.environ)
except env.ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from exc

if CONFIG.generated_keys:
    print(
        "CPMS generated local keys (mode 0600): " + ", ".join(CONFIG.generated_keys),
        file=sys.stderr,
    )

BASE_DIR = env.PROJECT_DIR
DATA_DIR = CONFIG.data_dir
DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key
CPMS_MASTER_KEY = CONFIG.master_key
CPMS_MASTER_KEYS_RETIRED = CONFIG.master_keys_retired  # only for `cpms keys rotate`
ALLOWED_HOSTS = CONFIG.allowed_hosts
CPMS_PORT = CONFIG.port
CPMS_BIND = CONFIG.bind

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "ninja",
    "csp",
    "cpms.core",
    "cpms.users",
    "cpms.audit",
    "cpms.access",
    "cpms.privacy",
    "cpms.approvals",
    "cpms.notifications",
    "cpms.customers",
    "cpms.holdings",
    "cpms.custody",
    "cpms.documents",
    "cpms.retail",
    "cpms.quality",
    "cpms.dataio",
    "cpms.ledger",
    "cpms.points",
    "cpms.loans",
    "cpms.portfolios",
    "cpms.reconciliation",
    "cpms.console",
    *CONFIG.extra_apps,  # test and benchmark fixture apps only (CPMS_EXTRA_APPS)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cpms.core.middleware.RequestIdMiddleware",
    "cpms.core.middleware.ApiErrorFormatMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cpms.core.middleware.NulCharacterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "cpms.config.urls"
WSGI_APPLICATION = "cpms.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "cpms" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "cpms.console.context_processors.console",
            ],
        },
    },
]

DATABASES = {"default": CONFIG.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "console:login"

# Internationalisation: Chinese first, English complete.
LANGUAGE_CODE = CONFIG.language
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "cpms" / "locale"]
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True

# Static files: vendored under each app's static/, served by WhiteNoise (no CDN, no internet).
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
CPMS_UPLOAD_MAX_BYTES = CONFIG.upload_max_bytes
CPMS_INCIDENT_NOTIFY_HOURS = CONFIG.incident_notify_hours
CPMS_AUDIT_WITNESS_FILE = CONFIG.audit_witness_file  # docs/audit.md, "The external witness"
CPMS_TRUSTED_PROXIES = CONFIG.trusted_proxies  # X-Forwarded-For is read only from these
DATA_UPLOAD_MAX_MEMORY_SIZE = CONFIG.upload_max_bytes + 1024 * 1024

# E-mail: SMTP when CPMS_SMTP_HOST is set, otherwise one file per message under var/mail/
# (tests use Django's in-memory outbox).
DEFAULT_FROM_EMAIL = CONFIG.email_from
if CONFIG.smtp_host:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = CONFIG.smtp_host
    EMAIL_PORT = CONFIG.smtp_port
    EMAIL_HOST_USER = CONFIG.smtp_user
    EMAIL_HOST_PASSWORD = CONFIG.smtp_password
    EMAIL_USE_TLS = CONFIG.smtp_tls
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "mail"
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root

# Caches: per process by default, shared through Redis when REDIS_URL is set.
if CONFIG.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CONFIG.redis_url,
            "KEY_PREFIX": "cpms",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Jobs: huey, SQLite storage by default, Redis when REDIS_URL is set.
if CONFIG.redis_url:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "cpms",
        "url": CONFIG.redis_url,
        "immediate": CONFIG.jobs_immediate,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "cpms",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": CONFIG.jobs_immediate,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# Security: safe by default; the local (debug) mode relaxes only what plain HTTP needs.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "cpms.core.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # The TLS-terminating proxy in front must set (and overwrite) this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "cpms.core.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

CPMS_DEMO_PASSWORD = os.environ.get("CPMS_DEMO_PASSWORD") or "cpms-demo-2026"

# Sign-in security (cpms.users): idle sessions end after CPMS_SESSION_IDLE_MINUTES (default 30).
CPMS_SESSION_IDLE_MINUTES = int(os.environ.get("CPMS_SESSION_IDLE_MINUTES") or 30)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "cpms.users.middleware.IdleSessionMiddleware",
)
