"""An SMTP server in the test process that keeps what it receives.

``smtp_sink`` starts aiosmtpd on 127.0.0.1 and a free port, points Django's
SMTP backend at it, and exposes the envelopes it received::

    def test_it_sends(smtp_sink: SmtpSink) -> None:
        ...
        (received,) = smtp_sink.wait_for(1)
        assert received.message["Subject"] == "Hello"
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.lock = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if not raw and isinstance(envelope.content, bytes):
            raw = envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        received = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=parsed,
        )
        with self.lock:
            self.messages.append(received)
            self.lock.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, controller: Controller, recorder: _Recorder, port: int) -> None:
        self.controller = controller
        self.recorder = recorder
        self.host = "127.0.0.1"
        self.port = port

    @property
    def messages(self) -> list[Received]:
        with self.recorder.lock:
            return list(self.recorder.messages)

    def wait_for(self, n: int, timeout: float = 5) -> list[Received]:
        """The received messages once there are at least *n* (AssertionError after *timeout*)."""
        deadline = time.monotonic() + timeout
        with self.recorder.lock:
            while len(self.recorder.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the SMTP sink received {len(self.recorder.messages)} message(s), "
                        f"not {n}, within {timeout} s"
                    )
                self.recorder.lock.wait(left)
            return list(self.recorder.messages)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    recorder = _Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield SmtpSink(controller, recorder, port)
    finally:
        controller.stop()
