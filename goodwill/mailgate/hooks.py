"""How the gateway plugs into the rest of Goodwill (installed from apps.ready):
received Message-IDs thread the case's replies, and the scheduler polls the
mailboxes, retries the outbox and picks up messages left unprocessed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from goodwill.cases import selectors as case_selectors
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, Section
from goodwill.lib import events, schedule
from goodwill.partners.models import TimelineEntry

STUCK_AFTER = timedelta(minutes=2)


def _received_ids(case: Case, limit: int) -> list[tuple[datetime, str]]:
    from goodwill.mailgate.models import MessageRef

    return list(
        MessageRef.objects.filter(case=case)
        .order_by("-created_at", "-id")
        .values_list("created_at", "message_id")[:limit]
    )


def link_received_messages(entries: list[TimelineEntry]) -> None:
    """A received message on a case's timeline links to its full text, its HTML
    and its raw original."""
    from goodwill.mailgate.models import InboundMessage

    ids = [e.pk for e in entries if e.kind == TimelineEntry.Kind.EMAIL_IN]
    if not ids:
        return
    received = {
        m.entry_id: m
        for m in InboundMessage.objects.filter(entry_id__in=ids).only("pk", "entry_id", "body_html")
    }
    for entry in entries:
        message = received.get(entry.pk)
        if message is None:
            continue
        detail = reverse("mailgate:inbound_detail", args=[message.pk])
        links = [("Show the full message", detail)]
        if message.body_html:
            links.append(("as HTML", f"{detail}?view=html"))
        links.append(("Download the original", reverse("mailgate:inbound_raw", args=[message.pk])))
        entry.extra_links = [*getattr(entry, "extra_links", []), *links]  # type: ignore[attr-defined]


def poll_due_mailboxes() -> int:
    from goodwill.mailgate.imap import mailboxes_due
    from goodwill.mailgate.tasks import mailbox_poll_task

    due = mailboxes_due(timezone.now())
    for mailbox in due:
        mailbox_poll_task.enqueue(mailbox.pk)
    return len(due)


def flush_due_outbox() -> int:
    from goodwill.cases.models import OutboundMessage
    from goodwill.mailgate.tasks import outbox_flush_task

    due = OutboundMessage.objects.filter(
        status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now()
    ).exists()
    if due:
        outbox_flush_task.enqueue()
    return int(due)


def requeue_stuck_inbound() -> int:
    """Messages stored but never processed (a worker died, the queue was lost)."""
    from goodwill.mailgate.models import InboundMessage
    from goodwill.mailgate.tasks import inbound_process_task

    stuck = list(
        InboundMessage.objects.filter(
            status=InboundMessage.Status.RECEIVED,
            received_at__lt=timezone.now() - STUCK_AFTER,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    for pk in stuck:
        inbound_process_task.enqueue(pk)
    return len(stuck)


def _on_note_added(event: events.Event) -> None:
    from goodwill.mailgate.pipeline import notify_note

    notify_note(
        case_id=event.payload["case_id"],
        entry_id=event.payload["entry_id"],
        by_id=event.payload.get("by_id"),
    )


def _auto_mail_filter(recipients: list[str], kind: str) -> list[str]:
    """Automatic mail from elsewhere (the rules) obeys the gateway's limits:
    no bouncing address, at most MAILGATE_AUTO_PER_HOUR per address."""
    from goodwill.mailgate.models import AutoMessageLog
    from goodwill.mailgate.pipeline import auto_mail_allowed

    allowed = [a for a in recipients if auto_mail_allowed(a)]
    AutoMessageLog.objects.bulk_create(AutoMessageLog(email=a, kind=kind) for a in allowed)
    return allowed


def install() -> None:
    from goodwill.mailgate import outbound

    if link_received_messages not in case_selectors.TIMELINE_DECORATORS:
        case_selectors.TIMELINE_DECORATORS.append(link_received_messages)
    if _received_ids not in case_services.THREAD_SOURCES:
        case_services.THREAD_SOURCES.append(_received_ids)
    outbound.install()
    if _auto_mail_filter not in case_services.AUTO_MAIL_FILTERS:
        case_services.AUTO_MAIL_FILTERS.append(_auto_mail_filter)
    events.subscribe("case.note_added")(_on_note_added)
    from goodwill.partners import views as partner_views
    from goodwill.partners.permissions import can_partner

    panel = ("Email delivery", "mailgate:partner_panel", lambda user: can_partner(user, "view"))
    if not any(p[1] == panel[1] for p in partner_views.PARTNER_PANELS):
        partner_views.PARTNER_PANELS.append(panel)
    from django.db.models.signals import post_delete, post_save

    from goodwill.mailgate.models import InboundAddress, SectionMail
    from goodwill.mailgate.pipeline import config_clear

    for model in (Section, InboundAddress, SectionMail):
        post_save.connect(config_clear, sender=model, dispatch_uid=f"mailgate-config-{model}")
        post_delete.connect(config_clear, sender=model, dispatch_uid=f"mailgate-config-d-{model}")
    schedule.every(5, "mail.mailboxes", poll_due_mailboxes)
    schedule.every(30, "mail.outbox", flush_due_outbox)
    schedule.every(120, "mail.stuck_inbound", requeue_stuck_inbound)
