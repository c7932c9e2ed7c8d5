"""The one way in: store the raw bytes first, then hand the message to the pipeline.

Every door (the pipe, IMAP polling, the SMTP/LMTP listener, the "simulate
incoming mail" page) calls :func:`inbound_receive`. It never parses more than the
Message-ID, so a message that the parser would choke on is still kept.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from django.core.files import File
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404

from goodwill.cases.models import Section
from goodwill.mailgate.models import InboundMessage, Mailbox

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Past this, the spool that hashes the message goes to disk instead of memory.
SPOOL_IN_MEMORY = 1024 * 1024
HEAD_LIMIT = 256 * 1024


@dataclass(frozen=True)
class Received:
    message: InboundMessage
    created: bool  # False when the same message (Message-ID and bytes) was already stored


def _header_block(head: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = head.find(separator)
        if end != -1:
            return head[: end + len(separator)]
    return head


_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def peek_message_id(head: bytes) -> str:
    """The Message-ID of the header block, or "" (cheap: one regular expression
    over the headers, no parsing; the pipeline parses properly later)."""
    from goodwill.mailgate.parsing import normalise_message_id

    match = _MESSAGE_ID.search(_header_block(head))
    if match is None:
        return ""
    value = match.group(1).decode("ascii", "replace")
    return normalise_message_id(" ".join(value.split()))


def inbound_receive(
    source: bytes | BinaryIO,
    *,
    via: str,
    mailbox: Mailbox | None = None,
    section: Section | None = None,
    envelope_to: Iterable[str] = (),
    enqueue: bool = True,
) -> Received:
    """Store one message exactly as it arrived, once, and queue its processing.

    The same message arriving twice (same Message-ID and same bytes, say from
    two workers polling one mailbox) is stored once; the second call returns
    the first row with ``created=False``.
    """
    digest = hashlib.sha256()
    size = 0
    head = b""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            digest.update(data)
            size = len(data)
            head = data[:HEAD_LIMIT]
            spool.write(data)
        else:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if len(head) < HEAD_LIMIT:
                    head += chunk[: HEAD_LIMIT - len(head)]
                spool.write(chunk)
        sha256 = digest.hexdigest()
        message_id = peek_message_id(head)[:250]
        spool.seek(0)
        message = InboundMessage(
            size=size,
            sha256=sha256,
            message_id=message_id,
            source=via,
            mailbox=mailbox,
            section=section,
            envelope_to=[address.lower() for address in envelope_to][:50],
        )
        message.raw.save(f"{sha256}.eml", File(spool), save=False)
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            # Stored already (the same Message-ID and bytes): the first copy stays.
            message.raw.delete(save=False)
            existing = InboundMessage.objects.get(sha256=sha256, message_id=message_id)
            return Received(existing, created=False)
    finally:
        spool.close()
    if enqueue:
        inbound_enqueue(message)
    return Received(message, created=True)


def inbound_enqueue(message: InboundMessage) -> None:
    """Queue the pipeline for *message* once the current transaction commits."""
    from goodwill.mailgate.tasks import inbound_process_task

    pk = message.pk
    transaction.on_commit(lambda: inbound_process_task.enqueue(pk), robust=True)


def inbound_raw_response(message: InboundMessage) -> FileResponse:
    """The original bytes as a download (the UI and the API serve the same)."""
    try:
        handle = message.raw.open("rb")
    except FileNotFoundError:
        raise Http404("The raw message is missing from storage.") from None
    response = FileResponse(handle, as_attachment=True, filename=f"inbound-{message.pk}.eml")
    response["Content-Type"] = "message/rfc822"
    response["X-Content-Type-Options"] = "nosniff"
    return response
