"""Rule webhooks against a real HTTP server on 127.0.0.1: signed, retried, logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.automation import engine
from goodwill.automation.models import WebhookDelivery
from goodwill.automation.services import rule_save
from goodwill.automation.webhooks import MAX_ATTEMPTS, webhook_send, webhooks_due
from tests.factories import CaseFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP endpoint that records what it is sent and answers *status*."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"thanks")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    engine.rules_clear()
    server = Receiver()
    yield server
    server.close()
    engine.rules_clear()


@pytest.fixture
def maria(db: None) -> User:
    return UserFactory(username="maria", roles=[Role.MANAGER])


def fire(maria: User, url: str, run: Any) -> WebhookDelivery:
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Tell the ERP",
            "trigger": "created",
            "actions": [{"type": "webhook", "url": url, "secret": "s3cret"}],
        },
    )
    with run(execute=True):
        case = CaseFactory(section=SectionFactory(code="SUPPORT"), subject="Webhook me")
    delivery = WebhookDelivery.objects.get(case=case)
    assert DBTaskResult.objects.filter(
        task_path__endswith="webhook_send_task", args_kwargs__args=[delivery.pk]
    ).exists()
    return delivery


def test_the_post_is_signed_with_the_secret(
    maria: User, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = fire(maria, receiver.url, django_capture_on_commit_callbacks)
    assert webhook_send(delivery)
    ((headers, body),) = receiver.requests
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Goodwill-Signature"] == expected
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["case"]["subject"] == "Webhook me"
    assert payload["rule"]["name"] == "Tell the ERP"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status, delivery.attempts) == ("sent", 200, 1)
    assert not webhook_send(delivery)  # sent once, never again
    assert len(receiver.requests) == 1


def test_a_failing_endpoint_is_retried_with_backoff_then_marked_failed(
    maria: User, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.status = 500
    delivery = fire(maria, receiver.url, django_capture_on_commit_callbacks)
    assert not webhook_send(delivery)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.error == "HTTP 500"
    assert delivery.response_body == "thanks"
    assert timedelta(seconds=50) < delivery.next_attempt_at - timezone.now() <= timedelta(minutes=1)
    assert not webhook_send(delivery)  # not due yet: nothing sent
    assert len(receiver.requests) == 1
    moment = timezone.now()
    for _ in range(MAX_ATTEMPTS - 1):
        moment += timedelta(hours=5)
        with time_machine.travel(moment, tick=False):
            assert webhooks_due() == 1
            webhook_send(delivery)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == MAX_ATTEMPTS
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_an_unreachable_endpoint_records_the_error(
    maria: User, django_capture_on_commit_callbacks: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine.rules_clear()
    delivery = fire(maria, f"http://127.0.0.1:{port}/hook", django_capture_on_commit_callbacks)
    assert not webhook_send(delivery)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert "refused" in delivery.error.lower()
