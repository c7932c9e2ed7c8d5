from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from goodwill.lib.env import (
    database_from_url,
    email_from_url,
    envbool,
    envint,
    envsecret,
    secret_key_from_file,
)


def test_envbool_reads_common_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in [("1", True), ("yes", True), ("On", True), ("0", False), ("", False)]:
        monkeypatch.setenv("GW_FLAG", raw)
        assert envbool("GW_FLAG", not expected) is expected
    monkeypatch.delenv("GW_FLAG")
    assert envbool("GW_FLAG", True) is True


def test_envbool_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="GW_FLAG must be one of"):
        envbool("GW_FLAG", False)


def test_envint_checks_type_and_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_N", "12")
    assert envint("GW_N", 1) == 12
    monkeypatch.setenv("GW_N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="GW_N must be an integer; got 'twelve'"):
        envint("GW_N", 1)
    monkeypatch.setenv("GW_N", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        envint("GW_N", 1, minimum=0)


def test_envsecret_reads_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("GW_SECRET_FILE", str(secret))
    assert envsecret("GW_SECRET") == "s3cret"
    monkeypatch.setenv("GW_SECRET", "also")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        envsecret("GW_SECRET")
    monkeypatch.delenv("GW_SECRET")
    monkeypatch.setenv("GW_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        envsecret("GW_SECRET")


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    key = secret_key_from_file(path)
    assert len(key) >= 50
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert secret_key_from_file(path) == key


def test_sqlite_url_turns_on_wal_and_immediate_transactions(tmp_path: Path) -> None:
    config = database_from_url(f"sqlite:///{tmp_path}/db.sqlite3", conn_max_age=60)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["TEST"]["NAME"].endswith(f"db-test-{os.getpid()}.sqlite3")


def test_postgres_url(tmp_path: Path) -> None:
    config = database_from_url("postgres://u:p@db.example:6543/crm", conn_max_age=60)
    assert (config["NAME"], config["HOST"], config["PORT"], config["USER"]) == (
        "crm",
        "db.example",
        6543,
        "u",
    )


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "postgres://host:5432/", "nonsense"])
def test_bad_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url, conn_max_age=0)


def test_email_urls() -> None:
    smtp = email_from_url("smtp+tls://me%40x.example:p%40ss@mail.example:2525?timeout=5")
    assert smtp["EMAIL_HOST"] == "mail.example"
    assert (smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"], smtp["EMAIL_USE_SSL"]) == (2525, True, False)
    assert (smtp["EMAIL_HOST_USER"], smtp["EMAIL_HOST_PASSWORD"]) == ("me@x.example", "p@ss")
    assert smtp["EMAIL_TIMEOUT"] == 5
    assert email_from_url("smtps://mail.example")["EMAIL_PORT"] == 465
    assert email_from_url("file:///srv/outbox")["EMAIL_FILE_PATH"] == "/srv/outbox"
    assert email_from_url("console:")["EMAIL_BACKEND"].endswith("console.EmailBackend")


@pytest.mark.parametrize("url", ["pigeon://coop", "smtp://", "smtp://host:port", "file://"])
def test_bad_email_urls_are_refused(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        email_from_url(url)


def _goodwill(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "goodwill.cli", *args],
        env={"PATH": os.environ["PATH"], **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "perhaps", "DEBUG must be one of"),
        ("DATABASE_URL", "oracle://db/x", "DATABASE_URL must start with"),
        ("TIME_ZONE", "Mars/Olympus", "TIME_ZONE is not a known time zone"),
        ("SITE_URL", "ftp://x", "SITE_URL must be an http(s) URL"),
        ("EMAIL_URL", "smtp://", "EMAIL_URL needs a host"),
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 50 characters"),
    ],
)
def test_bad_settings_stop_startup_with_a_clear_message(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = _goodwill("check", env={"VAR_DIR": str(tmp_path), variable: value}, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_in_production_settings(tmp_path: Path) -> None:
    """With an https SITE_URL and a real key, the deployment checklist has nothing to say."""
    env = {
        "VAR_DIR": str(tmp_path),
        "SITE_URL": "https://crm.example.com",
        "SECRET_KEY": "k" * 20 + "x9!Qz" * 10,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    result = _goodwill("check", "--deploy", "--fail-level", "WARNING", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_command_explains_itself(tmp_path: Path) -> None:
    result = _goodwill("--help", env={}, cwd=tmp_path)
    assert result.returncode == 0
    assert "demo" in result.stdout
    assert "worker" in result.stdout
