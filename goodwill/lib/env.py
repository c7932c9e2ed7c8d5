"""Typed readers for settings that come from the environment.

Each reader raises ``ImproperlyConfigured`` with the variable's name and the
offending value, so that a bad deployment stops at start-up with a message a
person can act on, instead of failing later in a request.

Secrets may also be given as ``<NAME>_FILE``, the path of a file holding the
value (the Docker and systemd-credentials convention).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envsecret(name: str) -> str | None:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if value and path:
        raise ImproperlyConfigured(f"set either {name} or {name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return value or None


def secret_key_from_file(path: Path) -> str:
    """Return the key stored at *path*, creating it (mode 0600) on first use."""
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
        return key
    if len(key) < 50:
        raise ImproperlyConfigured(f"the secret key in {path} is shorter than 50 characters")
    return key


def database_from_url(url: str, *, conn_max_age: int) -> dict[str, Any]:
    """Translate DATABASE_URL into a Django DATABASES entry.

    Supported: ``sqlite:///relative/path.sqlite3``, ``sqlite:////absolute/path``
    and ``postgres://user:password@host:port/name``. SQLite runs in WAL mode with
    immediate transactions, so that the web server and the worker can share it.
    """
    import dj_database_url

    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with sqlite:// or postgres://; got {url!r}"
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=conn_max_age))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not valid: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = str(config.get("NAME") or "")
        if not name or name == ":memory:":
            raise ImproperlyConfigured("DATABASE_URL must name an SQLite file, not memory")
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        # Tests use a file too (not memory), so that the live server, the browser
        # and a worker thread all see the same database; one per test process, so
        # that two test runs on one machine do not collide.
        test_name = Path(name).with_name(f"{Path(name).stem}-test-{os.getpid()}.sqlite3")
        config["TEST"] = {"NAME": str(test_name)}
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
            ),
        }
    else:
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"DATABASE_URL must name the database; got {url!r}")
        config["CONN_HEALTH_CHECKS"] = True
    return config


_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
    "local": "goodwill.mailgate.backends.LocalMailBackend",
}


def email_from_url(url: str) -> dict[str, Any]:
    """Translate EMAIL_URL into Django's EMAIL_* settings.

    ``smtp://user:pass@host:25``, ``smtp+tls://…:587`` (STARTTLS), ``smtps://…:465``,
    ``file:///var/mail/outbox`` (one file per message), ``console:``, ``locmem:``,
    ``dummy:`` and ``local:`` (demo mode: kept in the database for administrators
    to read under /mail/local/). A ``?timeout=10`` query sets the SMTP timeout.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _EMAIL_BACKENDS:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme must be one of {', '.join(sorted(_EMAIL_BACKENDS))}; got {url!r}"
        )
    config: dict[str, Any] = {"EMAIL_BACKEND": _EMAIL_BACKENDS[scheme]}
    if scheme == "file":
        path = unquote(parts.path)
        if not path:
            raise ImproperlyConfigured(f"EMAIL_URL file:// needs a directory; got {url!r}")
        config["EMAIL_FILE_PATH"] = path
        return config
    if not scheme.startswith("smtp"):
        return config
    if not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL needs a host; got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL has a bad port; got {url!r}") from None
    default_port = {"smtp": 25, "smtp+tls": 587, "smtps": 465}[scheme]
    config.update(
        EMAIL_HOST=parts.hostname,
        EMAIL_PORT=port or default_port,
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_TLS=scheme == "smtp+tls",
        EMAIL_USE_SSL=scheme == "smtps",
    )
    query = parse_qs(parts.query)
    if "timeout" in query:
        try:
            config["EMAIL_TIMEOUT"] = int(query["timeout"][0])
        except ValueError:
            raise ImproperlyConfigured(
                f"EMAIL_URL timeout must be an integer; got {url!r}"
            ) from None
    return config
