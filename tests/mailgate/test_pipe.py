"""``goodwill mailgate``: one message on stdin, stored once, with sysexits codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError

from goodwill.mailgate import inbound, pipe
from goodwill.mailgate.models import InboundMessage
from tests.factories import SectionFactory
from tests.mailgate.mail import make_mail

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], raw: bytes) -> int:
    return pipe.main(args, stdin=io.BytesIO(raw))


@pytest.mark.django_db
def test_direct_mode_stores_the_message_for_its_section() -> None:
    section = SectionFactory(code="SUPPORT", email="support@acme.example")
    raw = make_mail().as_bytes()
    assert _run(["--section", "SUPPORT"], raw) == pipe.EX_OK
    message = InboundMessage.objects.get()
    assert message.source == InboundMessage.Source.PIPE
    assert message.section == section
    assert message.raw.open("rb").read() == raw
    # Delivered again (the MTA retried): stored once.
    assert _run(["--section", "SUPPORT"], raw) == pipe.EX_OK
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_an_unknown_section_still_stores_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--section", "NOPE"], make_mail().as_bytes()) == pipe.EX_OK
    assert InboundMessage.objects.get().section is None
    assert "no section has the code 'NOPE'" in capsys.readouterr().err


def test_empty_input_is_a_data_error() -> None:
    assert _run([], b"  \n") == pipe.EX_DATAERR


def test_a_bad_option_is_a_usage_error() -> None:
    assert _run(["--bogus"], b"x") == pipe.EX_USAGE


@pytest.mark.django_db
def test_a_database_outage_is_a_temporary_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(inbound, "inbound_receive", down)
    assert _run([], make_mail().as_bytes()) == pipe.EX_TEMPFAIL
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_url_mode_posts_to_the_web_server(live_server: object, settings: object) -> None:
    settings.MAILGATE_TOKEN = "s3cret-token"  # type: ignore[attr-defined]
    SectionFactory(code="SUPPORT", email="support@acme.example")
    raw = make_mail().as_bytes()
    url = str(live_server)
    env_token = {"GOODWILL_MAILGATE_TOKEN": "s3cret-token"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env_token.items():
            patch.setenv(key, value)
        assert _run(["--url", url, "--section", "SUPPORT"], raw) == pipe.EX_OK
        message = InboundMessage.objects.get()
        assert message.raw.open("rb").read() == raw
        assert message.section is not None
        patch.setenv("GOODWILL_MAILGATE_TOKEN", "wrong")
        assert _run(["--url", url], raw) == pipe.EX_CONFIG
    # No web server there: the MTA must retry.
    assert _run(["--url", "http://127.0.0.1:9/", "--token-file", "/dev/null"], raw) in {
        pipe.EX_CONFIG,
        pipe.EX_TEMPFAIL,
    }


@pytest.mark.django_db(transaction=True)
def test_url_mode_server_down_is_temporary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOODWILL_MAILGATE_TOKEN", "t")
    assert _run(["--url", "http://127.0.0.1:9/"], make_mail().as_bytes()) == pipe.EX_TEMPFAIL


@pytest.mark.django_db
def test_the_web_door_wants_the_token(client: object, settings: object) -> None:
    settings.MAILGATE_TOKEN = ""  # type: ignore[attr-defined]
    response = client.post(  # type: ignore[attr-defined]
        "/mail/inbound/pipe/", data=b"x", content_type="message/rfc822"
    )
    assert response.status_code == 404
    settings.MAILGATE_TOKEN = "abc"  # type: ignore[attr-defined]
    response = client.post(  # type: ignore[attr-defined]
        "/mail/inbound/pipe/",
        data=b"x",
        content_type="message/rfc822",
        HTTP_AUTHORIZATION="Bearer nope",
    )
    assert response.status_code == 401
    assert not InboundMessage.objects.exists()


def test_the_pipe_starts_without_django() -> None:
    """An MTA runs one process per message: the pipe must not import Django."""
    code = (
        "import sys, io; from goodwill.mailgate import pipe; "
        "rc = pipe.main(['--url', 'http://127.0.0.1:9/'], stdin=io.BytesIO(b'')); "
        "assert 'django' not in sys.modules, 'django imported'; print(rc)"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == str(pipe.EX_DATAERR)
