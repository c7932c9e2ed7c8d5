"""Background tasks: each fetches by id and calls the gateway, nothing else."""

from __future__ import annotations

from django_tasks import task

from goodwill.mailgate.models import InboundMessage


@task()
def inbound_process_task(message_id: int) -> str:
    """Process this message, and with it what else is waiting (oldest first, in
    one batch): under a burst of mail, the tasks queued after this one find
    their message done."""
    from goodwill.mailgate.batch import inbound_drain

    waiting = InboundMessage.objects.filter(pk=message_id, status=InboundMessage.Status.RECEIVED)
    if not waiting.exists():
        return "gone or already done"
    inbound_drain(message_id)
    return str(InboundMessage.objects.values_list("status", flat=True).get(pk=message_id))


@task()
def outbox_send_task(message_id: int) -> str:
    from goodwill.cases.models import OutboundMessage
    from goodwill.mailgate.outbound import outbox_send

    message = OutboundMessage.objects.select_related("case").filter(pk=message_id).first()
    if message is None:
        return "gone"
    if outbox_send(message):
        return "sent"
    return message.status


@task()
def outbox_flush_task() -> int:
    from goodwill.mailgate.outbound import outbox_flush

    return outbox_flush()


@task()
def mailbox_poll_task(mailbox_id: int) -> str:
    from goodwill.mailgate.imap import mailbox_poll
    from goodwill.mailgate.models import Mailbox

    mailbox = Mailbox.objects.select_related("section").filter(pk=mailbox_id).first()
    if mailbox is None or not mailbox.active:
        return "gone or inactive"
    return str(mailbox_poll(mailbox))
