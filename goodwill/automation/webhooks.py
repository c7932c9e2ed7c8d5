"""Rule webhooks: a JSON POST about a case, signed, retried, logged.

The body is the case as JSON. The ``X-Goodwill-Signature`` header is
``sha256=`` and the HMAC-SHA256 of the exact body bytes with the rule's secret,
so the receiver can check it came from us. A delivery that does not get a 2xx
answer is retried after 1, 5, 15, 60 and 240 minutes, then marked failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from goodwill.automation.models import Rule, WebhookDelivery
from goodwill.cases.models import Case

logger = logging.getLogger(__name__)

BACKOFF_MINUTES = (1, 5, 15, 60, 240)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
TIMEOUT_SECONDS = 10


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def webhook_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def case_payload(case: Case, *, rule: Rule | None) -> dict[str, Any]:
    return {
        "event": "rule.fired",
        "rule": {"id": rule.pk, "name": rule.name} if rule else None,
        "case": {
            "id": case.pk,
            "number": case.number,
            "reference": case.reference,
            "subject": case.subject,
            "state": case.state,
            "priority": case.priority,
            "section": case.section.code,
            "type": case.case_type.code,
            "partner": case.partner.name if case.partner_id and case.partner else None,
            "requester_email": case.requester_email,
            "responsible": case.responsible.email if case.responsible_id else None,  # type: ignore[union-attr]
            "url": settings.SITE_URL + reverse("cases:detail", args=[case.number]),
        },
        "sent_at": timezone.now().isoformat(),
    }


def webhook_queue(*, case: Case, rule: Rule | None, url: str, secret: str) -> WebhookDelivery:
    """Record the delivery and send it from the worker once this transaction commits."""
    payload = case_payload(case, rule=rule)
    delivery = WebhookDelivery.objects.create(
        rule=rule,
        case=case,
        url=url,
        payload=payload,
        signature=webhook_signature(webhook_body(payload), secret) if secret else "",
    )
    from goodwill.automation.tasks import webhook_send_task

    pk = delivery.pk
    transaction.on_commit(lambda: webhook_send_task.enqueue(pk), robust=True)
    return delivery


def webhook_send(delivery: WebhookDelivery) -> bool:
    """POST *delivery* once (if it is still pending and due); True when it is sent."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + timedelta(minutes=30))
    if not claimed:
        return False
    delivery.refresh_from_db()
    body = webhook_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Goodwill-Webhook/1",
        "X-Goodwill-Delivery": str(delivery.pk),
    }
    if delivery.signature:
        headers["X-Goodwill-Signature"] = delivery.signature
    request = urllib.request.Request(delivery.url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only (spec)
    status: int | None = None
    text = ""
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
            text = response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status = exc.code
        text = exc.read(2000).decode("utf-8", "replace")
        error = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc))
    delivery.response_status = status
    delivery.response_body = text
    if status is not None and 200 <= status < 300:
        delivery.status = WebhookDelivery.Status.SENT
        delivery.sent_at = timezone.now()
        delivery.error = ""
    else:
        delivery.error = error or f"HTTP {status}"
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            wait = BACKOFF_MINUTES[delivery.attempts - 1]
            delivery.next_attempt_at = timezone.now() + timedelta(minutes=wait)
        logger.info("webhook %s to %s: %s", delivery.pk, delivery.url, delivery.error)
    delivery.save(
        update_fields=[
            "status",
            "sent_at",
            "error",
            "response_status",
            "response_body",
            "next_attempt_at",
        ]
    )
    return delivery.status == WebhookDelivery.Status.SENT


def webhooks_due() -> int:
    """Scheduler job: enqueue the deliveries whose retry is due."""
    from goodwill.automation.tasks import webhook_send_task

    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:200]
    )
    for pk in due:
        webhook_send_task.enqueue(pk)
    return len(due)
