"""Goodwill settings, read from the environment.

Every value has a safe default for a single-machine install with the embedded
SQLite database; production deployments set at least SECRET_KEY (or let one be
generated under VAR_DIR), ALLOWED_HOSTS, SITE_URL, DATABASE_URL and EMAIL_URL.
See docs/configuration.md for the full list.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from goodwill.lib.env import (
    database_from_url,
    email_from_url,
    envbool,
    envint,
    envlist,
    envsecret,
    envstr,
    secret_key_from_file,
)

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(envstr("VAR_DIR", "var")).resolve()

# Demo mode (``goodwill demo``) turns DEBUG on by default and relaxes hosts.
DEMO = envbool("GOODWILL_DEMO", False)
DEBUG = envbool("DEBUG", DEMO)

SECRET_KEY = envsecret("SECRET_KEY") or secret_key_from_file(VAR_DIR / "secret_key")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long")

SITE_URL = envstr("SITE_URL", "http://localhost:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an http(s) URL; got {SITE_URL!r}")
SITE_NAME = envstr("SITE_NAME", "Goodwill")
SITE_HTTPS = _site.scheme == "https"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [_site.hostname, "localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [f"{_site.scheme}://{_site.netloc}"])

TIME_ZONE = envstr("TIME_ZONE", "UTC")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE is not a known time zone; got {TIME_ZONE!r}") from None
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = envstr("LANGUAGE_CODE", "en")

# Phone numbers written without a country code are read in this region.
PHONE_DEFAULT_REGION = envstr("PHONE_DEFAULT_REGION", "US").upper()

INSTALLED_APPS = [
    "goodwill.accounts.apps.GoodwillAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_countries",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "goodwill.accounts",
    "goodwill.partners",
    "goodwill.campaigns",
    "goodwill.cases",
    "goodwill.sales",
    "goodwill.mailgate",
    "goodwill.automation",
    "goodwill.api",
    "goodwill.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "goodwill.lib.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "goodwill.urls"
WSGI_APPLICATION = "goodwill.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "goodwill.accounts.context_processors.shell",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'goodwill.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["goodwill.accounts.backends.EmailOrUsernameBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600, minimum=300)

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
# Uploaded and generated files are never served directly: views check permission first.
MEDIA_URL = "/files/"
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
WHITENOISE_USE_FINDERS = DEBUG

_email = email_from_url(
    envstr("EMAIL_URL", "local:" if DEMO else "console:" if DEBUG else "smtp://localhost:25")
)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT", 30)
if "EMAIL_FILE_PATH" in _email:
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", f"Goodwill <noreply@{_site.hostname}>")
SERVER_EMAIL = envstr("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Security. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1.
SESSION_COOKIE_SECURE = SITE_HTTPS
CSRF_COOKIE_SECURE = SITE_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=300)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", SITE_HTTPS)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if SITE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SITE_HTTPS)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", SITE_HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if envbool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = envlist("SILENCED_SYSTEM_CHECKS", [])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["goodwill.api.permissions.IsStaffRole"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "goodwill.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Goodwill API",
    "DESCRIPTION": "Partners, cases and the rest of Goodwill, over HTTP.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["goodwill.api.permissions.IsStaffRole"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# Partner export and other generated files.
EXPORT_RETENTION_DAYS = envint("EXPORT_RETENTION_DAYS", 7, minimum=1)
# ERP imports (Sales > Import from ERP): the largest file one may upload.
SALES_IMPORT_MAX_MB = envint("SALES_IMPORT_MAX_MB", 50, minimum=1)

# The currency the company keeps its books in: list prices are in it, and
# reports convert documents to it at their date.
COMPANY_CURRENCY = envstr("COMPANY_CURRENCY", "EUR").upper()
from goodwill.lib.money import CURRENCIES  # noqa: E402 - a plain table, no Django import

if COMPANY_CURRENCY not in CURRENCIES:
    raise ImproperlyConfigured(
        f"COMPANY_CURRENCY must be an ISO 4217 code Goodwill knows; got {COMPANY_CURRENCY!r}"
    )

# Cases: the largest file one may attach, and the subject tag ("[#1042]").
CASE_ATTACHMENT_MAX_MB = envint("CASE_ATTACHMENT_MAX_MB", 25, minimum=1)
CASE_TAG_PREFIX = envstr("CASE_TAG_PREFIX", "#")
if not CASE_TAG_PREFIX or any(ch in CASE_TAG_PREFIX for ch in "[] \t"):
    raise ImproperlyConfigured(
        f"CASE_TAG_PREFIX must be a short word without spaces or brackets; got {CASE_TAG_PREFIX!r}"
    )

# The email gateway: the largest message the SMTP door accepts (larger ones
# arriving by pipe or IMAP are stored with their attachments dropped), how many
# automatic messages one address may receive per hour, and the shared secret of
# `goodwill mailgate --url` (empty: the pipe must open the database itself).
MAILGATE_MAX_MESSAGE_MB = envint("MAILGATE_MAX_MESSAGE_MB", 25, minimum=1)
MAILGATE_AUTO_PER_HOUR = envint("MAILGATE_AUTO_PER_HOUR", 5, minimum=0)
MAILGATE_TOKEN = envstr("MAILGATE_TOKEN", "")
# Sending attempts (1, 5, 15, 60, 240 minutes apart) before a message is failed.
OUTBOX_MAX_ATTEMPTS = envint("OUTBOX_MAX_ATTEMPTS", 6, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.utils.autoreload": {"level": "WARNING"},
    },
}
