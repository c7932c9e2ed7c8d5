"""Demo mail: a few real messages through the real gateway, so that the mail log,
the quarantine, a bouncing address and an email thread exist from the start.

Each message is built as an RFC 5322 message, stored raw and processed by the
pipeline, exactly as if it had come through ``goodwill mailgate``.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.cases.models import OutboundMessage, Section
from goodwill.mailgate.inbound import inbound_receive
from goodwill.mailgate.models import InboundMessage
from goodwill.mailgate.pipeline import inbound_process
from goodwill.partners.models import Partner, PartnerEmail


def demo_mail_present() -> bool:
    return InboundMessage.objects.exists()


def _message(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or "demo")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def _deliver(message: EmailMessage | bytes) -> InboundMessage:
    raw = message if isinstance(message, bytes) else message.as_bytes()
    received = inbound_receive(raw, via=InboundMessage.Source.PIPE, enqueue=False)
    return inbound_process(received.message)


def _customer(own_domain: str) -> tuple[str, str]:
    """(name, address) of a demo contact who works for a customer."""
    row = (
        PartnerEmail.objects.filter(
            partner__kind=Partner.Kind.PERSON,
            partner__memberships__company__is_customer=True,
        )
        .exclude(email__iendswith="@" + own_domain)
        .exclude(email__in=User.objects.exclude(email="").values("email"))
        .select_related("partner")
        .order_by("id")
        .first()
    )
    if row is None:
        return "Pat Example", "pat@customer.example"
    return row.partner.name, row.email


def demo_mail_load(*, users: dict[str, User]) -> None:
    support = Section.objects.filter(code="SUPPORT").first()
    if support is None or not support.email:
        return
    name, address = _customer(support.email.partition("@")[2])
    first = _deliver(
        _message(
            sender=f"{name} <{address}>",
            to=support.email,
            subject="Label printer prints blank pages",
            body=(
                "Hello,\n\nsince this morning our label printer in the warehouse only "
                "prints blank pages. We changed the ribbon already.\n\nCan you help?\n\n"
                f"{name}"
            ),
        )
    )
    case = first.case
    if case is None:
        return
    ack = OutboundMessage.objects.filter(case=case, kind=OutboundMessage.Kind.ACK).first()
    if ack is not None:
        _deliver(
            _message(
                sender=f"{name} <{address}>",
                to=ack.reply_to or support.email,
                subject=f"Re: {ack.subject}",
                body=(
                    "One more thing: the display shows error E-204.\n\n"
                    f"> {ack.body_text.splitlines()[0] if ack.body_text else ''}"
                ),
                in_reply_to=ack.message_id,
            )
        )
    bob = users.get("bob")
    if bob is not None and bob.email:
        local, _, domain = support.email.partition("@")
        _deliver(
            _message(
                sender=f"{bob.display_name} <{bob.email}>",
                to=f"{local}+c{case.number}@{domain}",
                subject=f"Re: [#{case.number}] {case.subject}",
                body=(
                    "Set-State: pending\nSet-Priority: 2\n\n"
                    "Error E-204 means the print head is too cold. Please switch the "
                    "printer off for ten minutes, then print a test page and tell me "
                    "what you see."
                ),
            )
        )
    _deliver(
        _message(
            sender=f"{name} <{address}>",
            to=support.email,
            subject="Automatic reply: Label printer prints blank pages",
            body="I am out of the office until Monday and will read your message then.",
            headers={"Auto-Submitted": "auto-replied"},
            in_reply_to=first.message_id,
        )
    )
    _deliver(
        _message(
            sender="Someone <someone@unknown.example>",
            to=f"sales-old@{support.email.partition('@')[2]}",
            subject="Old address: please send me a price list",
            body=(
                "This went to an address no section answers, so it waits in the "
                "quarantine: add the address to a section and press Retry."
            ),
        )
    )
