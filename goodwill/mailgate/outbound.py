"""The outbox's sender: build each queued message, claim it, send it once.

A row of :class:`~goodwill.cases.models.OutboundMessage` is claimed with a
conditional update (queued and due → sending), so two workers never send the
same message. A failure puts it back in the queue with a growing delay; after
``OUTBOX_MAX_ATTEMPTS`` attempts (or a permanent refusal) it is marked failed
and waits for a person to retry it from the outbox page.

A row left in "sending" (the worker died in the middle of the SMTP dialogue)
is never sent again automatically: the server may have accepted it already.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from goodwill.cases.models import Attachment, OutboundMessage
from goodwill.lib import events

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status
Kind = OutboundMessage.Kind

# Minutes to wait after the 1st, 2nd, … failed attempt; the last value repeats.
BACKOFF_MINUTES = (1, 5, 15, 60, 240)
DEFAULT_MAX_ATTEMPTS = 6
STUCK_AFTER = timedelta(minutes=15)
INTERRUPTED = "Interrupted while sending; check the recipient's mailbox before retrying"
AUTOMATIC_KINDS = frozenset({Kind.ACK, Kind.NOTIFY, Kind.RELAY, Kind.ERROR, Kind.AUTO})


def max_attempts() -> int:
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def backoff(attempts: int) -> timedelta:
    """How long to wait after the *attempts*-th failed attempt (1-based)."""
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    return timedelta(minutes=BACKOFF_MINUTES[index])


# --------------------------------------------------------------------------
# Building


def outbound_build(message: OutboundMessage, *, connection: Any = None) -> EmailMessage:
    """The email for *message*: its addresses, threading headers, body and the
    files attached to its timeline entry. The Message-ID is the stored one, so
    a reply to it threads back onto the case."""
    headers = {"Message-ID": message.message_id, "X-Goodwill-Case": str(message.case.number)}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if message.references:
        headers["References"] = message.references
    if message.kind in AUTOMATIC_KINDS:
        # RFC 3834: an acknowledgement answers a message; the others are generated.
        headers["Auto-Submitted"] = "auto-replied" if message.kind == Kind.ACK else "auto-generated"
        # Keeps Exchange and Outlook from answering with their own auto-replies.
        headers["X-Auto-Response-Suppress"] = "All"
    email_class = EmailMultiAlternatives if message.body_html else EmailMessage
    email = email_class(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(message.to),
        cc=list(message.cc or []),
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
        connection=connection,
    )
    if message.entry_id is not None:
        for attachment in Attachment.objects.filter(entry_id=message.entry_id).order_by("id"):
            with attachment.file.open("rb") as handle:
                content = handle.read()
            email.attach(attachment.name, content, attachment.content_type or None)
    for attachment in message.attachments.order_by("id"):
        with attachment.file.open("rb") as handle:
            content = handle.read()
        email.attach(attachment.name, content, attachment.content_type or None)
    if isinstance(email, EmailMultiAlternatives):
        email.attach_alternative(message.body_html, "text/html")
    return email


# --------------------------------------------------------------------------
# Sending


def outbox_claim(message: OutboundMessage) -> bool:
    """Take *message* for sending: True only for the one caller whose
    conditional update changed the row (queued and due → sending)."""
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(
        pk=message.pk, status=Status.QUEUED, next_attempt_at__lte=now
    ).update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return False
    message.refresh_from_db(fields=["status", "claimed_at", "attempts"])
    return True


def _where(connection: Any) -> str:
    host = getattr(connection, "host", None)
    port = getattr(connection, "port", None)
    if host:
        return f"{host}:{port}" if port else str(host)
    return type(connection).__name__ if connection is not None else "the mail backend"


def _smtp_text(code: int, text: bytes | str) -> str:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {detail}".strip()


def _describe(exc: BaseException, connection: Any) -> tuple[str, bool]:
    """(a message a person can act on, whether retrying cannot help)."""
    where = _where(connection)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address}: {_smtp_text(code, text)}"
            for address, (code, text) in exc.recipients.items()
        )
        permanent = all(code >= 500 for code, _text in exc.recipients.values())
        return f"SMTP server {where} refused every recipient: {refused}", permanent
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return (
            f"SMTP server {where} refused the sender {exc.sender}: "
            f"{_smtp_text(exc.smtp_code, exc.smtp_error)}",
            exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"SMTP server {where} did not accept the user name and password "
            f"(check EMAIL_URL): {_smtp_text(exc.smtp_code, exc.smtp_error)}",
            False,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return (
            f"SMTP server {where} answered {_smtp_text(exc.smtp_code, exc.smtp_error)}",
            exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"SMTP server {where} closed the connection: {exc}", False
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP error from {where}: {exc}", False
    if isinstance(exc, ConnectionRefusedError):
        return f"SMTP server {where} refused the connection: is it running? ({exc})", False
    if isinstance(exc, socket.gaierror):
        return f"SMTP server {where} could not be found: {exc}", False
    if isinstance(exc, TimeoutError):
        return f"SMTP server {where} did not answer in time", False
    if isinstance(exc, OSError):
        return f"Could not talk to the SMTP server {where}: {exc}", False
    return f"Could not send through {where}: {type(exc).__name__}: {exc}", False


def outbox_send(message: OutboundMessage) -> bool:
    """Send *message* if this process can claim it; True once it is sent.

    Never raises for mail server or network trouble: the row goes back to the
    queue with a later ``next_attempt_at`` and a readable ``last_error``, or to
    "failed" after the last attempt. Call it outside a transaction: the claim
    must be committed before the SMTP dialogue starts.
    """
    if not outbox_claim(message):
        return False
    connection: Any = None
    try:
        connection = get_connection()
        email = outbound_build(message, connection=connection)
        if connection.send_messages([email]) != 1:
            raise RuntimeError("the mail backend did not accept the message")
    except Exception as exc:
        text, permanent = _describe(exc, connection)
        _record_failure(message, text, permanent=permanent)
        return False
    now = timezone.now()
    OutboundMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=now, last_error=""
    )
    message.status, message.sent_at, message.last_error = Status.SENT, now, ""
    logger.info("sent %s (case %s) to %s", message.message_id, message.case_id, message.to)
    return True


def _record_failure(message: OutboundMessage, text: str, *, permanent: bool) -> None:
    now = timezone.now()
    limit = max_attempts()
    if permanent or message.attempts >= limit:
        status = Status.FAILED
        if not permanent:
            text = f"{text} (gave up after {message.attempts} attempts)"
        next_attempt_at = message.next_attempt_at
        logger.warning("outbound %s failed: %s", message.message_id, text)
    else:
        status = Status.QUEUED
        next_attempt_at = now + backoff(message.attempts)
        logger.info(
            "outbound %s attempt %s failed, next at %s: %s",
            message.message_id,
            message.attempts,
            next_attempt_at.isoformat(),
            text,
        )
    OutboundMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=status, next_attempt_at=next_attempt_at, last_error=text
    )
    message.status, message.next_attempt_at, message.last_error = status, next_attempt_at, text


def outbox_fail_stuck() -> int:
    """Mark rows left in "sending" for too long as failed (never resent by itself:
    the server may have taken the message before the worker died)."""
    return OutboundMessage.objects.filter(
        status=Status.SENDING, claimed_at__lt=timezone.now() - STUCK_AFTER
    ).update(status=Status.FAILED, last_error=INTERRUPTED)


def outbox_flush(*, limit: int = 100) -> int:
    """Send up to *limit* due messages, longest due first; how many went out."""
    stuck = outbox_fail_stuck()
    if stuck:
        logger.warning("%s outbound message(s) were interrupted while sending", stuck)
    due = list(
        OutboundMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=timezone.now())
        .select_related("case")
        .order_by("next_attempt_at", "id")[:limit]
    )
    return sum(1 for message in due if outbox_send(message))


# --------------------------------------------------------------------------
# People's actions


def _enqueue_send(pk: int) -> None:
    from goodwill.mailgate.tasks import outbox_send_task

    outbox_send_task.enqueue(pk)


@transaction.atomic
def outbox_retry(message: OutboundMessage, *, by: Any) -> None:
    """Put a failed message back in the queue, due now, with a fresh set of attempts."""
    now = timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=Status.FAILED).update(
        status=Status.QUEUED, next_attempt_at=now, attempts=0, claimed_at=None
    )
    if changed != 1:
        message.refresh_from_db(fields=["status"])
        raise ValidationError(
            f"Only a failed message can be retried; this one is {message.get_status_display()}."
        )
    message.refresh_from_db(fields=["status", "next_attempt_at", "attempts", "claimed_at"])
    logger.info("outbound %s retried by %s", message.message_id, getattr(by, "pk", None))
    events.emit(
        "message.retried",
        case_id=message.case_id,
        message_id=message.pk,
        by_id=getattr(by, "pk", None),
    )
    pk = message.pk
    transaction.on_commit(lambda: _enqueue_send(pk), robust=True)


@transaction.atomic
def outbox_cancel(message: OutboundMessage, *, by: Any) -> None:
    """Stop a queued (or failed) message from being sent: it is marked failed."""
    name = getattr(by, "display_name", None) or getattr(by, "username", None) or "the system"
    changed = OutboundMessage.objects.filter(
        pk=message.pk, status__in=[Status.QUEUED, Status.FAILED]
    ).update(status=Status.FAILED, last_error=f"Cancelled by {name}")
    if changed != 1:
        message.refresh_from_db(fields=["status"])
        raise ValidationError(
            f"Only a queued or failed message can be cancelled; this one is "
            f"{message.get_status_display()}."
        )
    message.refresh_from_db(fields=["status", "last_error"])


# --------------------------------------------------------------------------
# Wiring


def on_message_queued(event: events.Event) -> None:
    """A service queued a message (after its commit): send it in the background."""
    pk = event.payload.get("message_id")
    if pk is not None:
        _enqueue_send(int(pk))


def install() -> None:
    """Subscribe the sender to "message.queued" (called from hooks.install)."""
    events.subscribe("message.queued")(on_message_queued)
