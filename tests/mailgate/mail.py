"""Building test messages and running them through the gateway."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from django.utils import timezone

from goodwill.mailgate.inbound import inbound_receive
from goodwill.mailgate.models import InboundMessage
from goodwill.mailgate.pipeline import inbound_process


def make_mail(
    *,
    sender: str = "Pat Customer <pat@customer.example>",
    to: str = "support@acme.example",
    subject: str = "The pump is leaking",
    body: str = "Hello,\n\nour pump leaks since Monday.\n\nPat",
    cc: str = "",
    in_reply_to: str = "",
    references: str = "",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    html: str = "",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references or in_reply_to:
        message["References"] = references or in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def deliver(message: EmailMessage | bytes, **kwargs: Any) -> InboundMessage:
    """Store and process one message, as the worker would."""
    raw = message if isinstance(message, bytes) else message.as_bytes()
    received = inbound_receive(
        raw, via=kwargs.pop("via", InboundMessage.Source.PIPE), enqueue=False, **kwargs
    )
    return inbound_process(received.message)
