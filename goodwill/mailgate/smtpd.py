"""The SMTP/LMTP door: an aiosmtpd listener that an MTA (or a sender) delivers to.

Recipients are checked at RCPT time: an address that belongs to no section is
refused with ``550 5.1.1``, so the sending MTA bounces it instead of Goodwill
accepting mail and dropping it. At DATA the bytes are stored exactly as received
(``decode_data=False``) through :func:`inbound_receive`; if that fails the client
gets ``451`` and retries later, so nothing is lost.

aiosmtpd runs an asyncio loop; Django forbids the ORM there, so every database
call runs in the handler's own database thread (one, like ``sync_to_async`` with
``thread_sensitive=True``), whose connection is closed when the listener stops.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import close_old_connections, connections

from goodwill.mailgate.addresses import section_for_address
from goodwill.mailgate.inbound import inbound_receive
from goodwill.mailgate.models import InboundMessage

logger = logging.getLogger(__name__)

T = TypeVar("T")

TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, try again later"


def _with_fresh_connection(function: Callable[..., T], *args: Any) -> T:
    """Run *function* the way a request would: with a usable database connection,
    and closing it afterwards if it is broken or too old."""
    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()


def _rcpt_known(address: str) -> bool:
    return section_for_address(address) is not None


def _store(content: bytes, rcpt_tos: list[str]) -> int:
    section = section_for_address(rcpt_tos[0]) if rcpt_tos else None
    received = inbound_receive(
        content, via=InboundMessage.Source.SMTP, section=section, envelope_to=rcpt_tos
    )
    return received.message.pk


class GatewayHandler:
    """aiosmtpd hooks: refuse unknown recipients, store each message once."""

    def __init__(self, *, max_size: int, lmtp: bool = False) -> None:
        self.max_size = max_size
        self.lmtp = lmtp
        self._executor: ThreadPoolExecutor | None = None

    async def _db(self, function: Callable[..., T], *args: Any) -> T:
        """Run *function* in the database thread, off the event loop."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtpd-db")
        call = functools.partial(_with_fresh_connection, function, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        """Close the database thread's connection, and the thread."""
        if self._executor is not None:
            self._executor.submit(connections.close_all).result()
            self._executor.shutdown()
            self._executor = None

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            known = await self._db(_rcpt_known, address)
        except Exception:
            logger.exception("smtpd: could not look up the recipient %s", address)
            return TEMPORARY_FAILURE
        if not known:
            logger.info("smtpd: refused the recipient %s (no section)", address)
            return f"550 5.1.1 <{address}>: no such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content
        if content is None:
            raw = envelope.content
            content = raw if isinstance(raw, bytes) else (raw or "").encode("utf-8")
        if self.max_size and len(content) > self.max_size:
            return self._reply(envelope, "552 5.3.4 Message too big for this system")
        try:
            pk = await self._db(_store, content, list(envelope.rcpt_tos))
        except Exception:
            logger.exception(
                "smtpd: could not store a message from %s to %s",
                envelope.mail_from,
                ", ".join(envelope.rcpt_tos),
            )
            return self._reply(envelope, TEMPORARY_FAILURE)
        logger.info("smtpd: stored inbound #%s for %s", pk, ", ".join(envelope.rcpt_tos))
        return self._reply(envelope, f"250 2.0.0 Stored as inbound #{pk}")

    def _reply(self, envelope: Envelope, status: str) -> str:
        """SMTP answers DATA once; LMTP once for each accepted recipient (RFC 2033)."""
        if not self.lmtp:
            return status
        return "\r\n".join([status] * max(len(envelope.rcpt_tos), 1))


class GatewayController(Controller):
    """aiosmtpd's threaded controller, closing the handler's database connection
    when it stops."""

    handler: GatewayHandler

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert)
        self.handler.close()


class _LMTPController(GatewayController):
    def factory(self) -> LMTP:
        return LMTP(self.handler, **self.SMTP_kwargs)


def smtpd_controller(host: str, port: int, *, lmtp: bool = False, max_size: int) -> Controller:
    """A listener on *host*:*port* (not started: call ``.start()`` and ``.stop()``).

    *max_size* is in bytes; 0 means no limit.
    """
    handler = GatewayHandler(max_size=max_size, lmtp=lmtp)
    controller_class = _LMTPController if lmtp else GatewayController
    return controller_class(
        handler,
        hostname=host,
        port=port,
        data_size_limit=max_size or None,
        decode_data=False,
        enable_SMTPUTF8=True,
        ident="Goodwill mail gateway",
    )
