"""The IMAP door: poll a mailbox, store each new message raw, then flag or move it.

:func:`mailbox_poll` never raises: whatever goes wrong (the network, TLS, the
login, a missing folder) ends up as a sentence in ``Mailbox.last_error`` that an
administrator can act on. New messages are found by UID (``last_uid``, reset when
the folder's UIDVALIDITY changes); a message fetched twice (after a crash, or by
two workers) is still stored once, because :func:`inbound_receive` deduplicates.

Two workers polling the same mailbox: each claims the poll with a conditional
update of ``last_poll_at``; the one that loses skips. A poll counts as running
while its ``last_poll_at`` is newer than both its ``last_success_at`` and its
``last_error_at`` (and for at most :data:`POLL_LEASE`, in case a worker died).

Folder names are sent as quoted ASCII strings; non-ASCII names (modified UTF-7)
are not supported.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone

from goodwill.mailgate.inbound import Received, inbound_receive
from goodwill.mailgate.models import InboundMessage, Mailbox

logger = logging.getLogger(__name__)

TIMEOUT = 30  # seconds, for connecting and for each command
MIN_INTERVAL = 10  # seconds between two polls of one mailbox, whatever it says
# A poll that has not finished after this long is taken to have died with its worker.
POLL_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class PollResult:
    fetched: int = 0  # new messages stored
    duplicates: int = 0  # messages already stored (a refetch, or another door got them)
    error: str = ""  # what went wrong, in words; "" on success
    skipped: bool = False  # another worker was polling this mailbox

    @property
    def ok(self) -> bool:
        return not self.error and not self.skipped

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: another worker is polling this mailbox"
        text = f"{self.fetched} new, {self.duplicates} already stored"
        return f"{text}; error: {self.error}" if self.error else text


@dataclass
class _Counts:
    fetched: int = 0
    duplicates: int = 0


class MailboxError(Exception):
    """A failure explained in words for the administrator."""


def ssl_context() -> ssl.SSLContext:
    """The TLS context for TLS and STARTTLS: the system's CAs, hostname checked."""
    return ssl.create_default_context()


# --------------------------------------------------------------------------
# Selectors


def mailboxes_due(now: datetime) -> list[Mailbox]:
    """Active mailboxes whose last poll started at least their interval ago."""
    # Mailboxes are a handful of rows: SQL narrows by the shortest interval, and
    # each row's own interval is compared here (duration arithmetic on an integer
    # column differs between SQLite and PostgreSQL).
    candidates = Mailbox.objects.filter(active=True).filter(
        Q(last_poll_at__isnull=True) | Q(last_poll_at__lte=now - timedelta(seconds=MIN_INTERVAL))
    )
    return [
        mailbox
        for mailbox in candidates
        if mailbox.last_poll_at is None
        or mailbox.last_poll_at <= now - timedelta(seconds=max(mailbox.interval, MIN_INTERVAL))
    ]


# --------------------------------------------------------------------------
# Services


def mailbox_poll(mailbox: Mailbox, *, limit: int = 200) -> PollResult:
    """Fetch up to *limit* new messages from *mailbox*, store them, flag or move them.

    Records the outcome on the mailbox (``last_poll_at``, ``last_success_at``,
    ``last_error``…) and returns it; never raises.
    """
    now = timezone.now()
    if not _poll_claim(mailbox, now):
        logger.info("mailbox %s: another worker is polling it, skipped", mailbox.pk)
        return PollResult(skipped=True)
    counts = _Counts()
    try:
        _poll(mailbox, limit=limit, counts=counts)
    except MailboxError as exc:
        return _poll_failed(mailbox, str(exc), counts)
    except Exception as exc:
        logger.exception("mailbox %s: unexpected error while polling", mailbox.pk)
        return _poll_failed(mailbox, f"Unexpected error while polling: {exc!r}", counts)
    done = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_success_at=done, last_error="", last_error_at=None
    )
    mailbox.last_success_at, mailbox.last_error, mailbox.last_error_at = done, "", None
    return PollResult(fetched=counts.fetched, duplicates=counts.duplicates)


def mailbox_test(mailbox: Mailbox) -> str:
    """Connect, log in and open the folder; say what was found, or raise a
    ValidationError that says what failed. Changes nothing on the server."""
    try:
        with _session(mailbox) as conn:
            exists = _select(conn, mailbox, readonly=True)
            typ, data = conn.search(None, "UNSEEN")
            unseen = len(data[0].split()) if typ == "OK" and data and data[0] else 0
            status = (
                f"Connected to {_where(mailbox)} as {mailbox.username}: the folder "
                f"{mailbox.folder} holds {exists} message{'s' if exists != 1 else ''} "
                f"({unseen} unseen)."
            )
            if mailbox.after == Mailbox.After.MOVE:
                if not mailbox.move_to:
                    raise MailboxError("Processed messages are to be moved, but no folder is set.")
                if not _folder_exists(conn, mailbox.move_to):
                    status += f" The folder {mailbox.move_to} will be created on the first move."
            return status
    except MailboxError as exc:
        raise ValidationError(str(exc)) from None
    except Exception as exc:
        logger.exception("mailbox %s: unexpected error while testing", mailbox.pk)
        raise ValidationError(f"Unexpected error: {exc!r}") from None


# --------------------------------------------------------------------------
# The poll


def _poll_claim(mailbox: Mailbox, now: datetime) -> bool:
    mailbox.refresh_from_db(
        fields=["last_poll_at", "last_success_at", "last_error_at", "last_uid", "uidvalidity"]
    )
    previous = mailbox.last_poll_at
    if previous is not None and now - previous < POLL_LEASE:
        finished = [t for t in (mailbox.last_success_at, mailbox.last_error_at) if t is not None]
        if not finished or max(finished) < previous:
            return False  # the previous poll is still running
    claimed = Mailbox.objects.filter(pk=mailbox.pk, last_poll_at=previous).update(last_poll_at=now)
    if claimed != 1:
        return False
    mailbox.last_poll_at = now
    return True


def _poll_failed(mailbox: Mailbox, error: str, counts: _Counts) -> PollResult:
    logger.warning("mailbox %s (%s): %s", mailbox.pk, mailbox.name, error)
    when = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_error=error, last_error_at=when)
    mailbox.last_error, mailbox.last_error_at = error, when
    return PollResult(fetched=counts.fetched, duplicates=counts.duplicates, error=error)


def _poll(mailbox: Mailbox, *, limit: int, counts: _Counts) -> None:
    if mailbox.after == Mailbox.After.MOVE and not mailbox.move_to:
        raise MailboxError("Processed messages are to be moved, but no folder is set.")
    with _session(mailbox) as conn:
        _select(conn, mailbox, readonly=False)
        uidvalidity = _uidvalidity(conn)
        if uidvalidity is not None and uidvalidity != mailbox.uidvalidity:
            if mailbox.uidvalidity is not None:
                logger.info(
                    "mailbox %s: UIDVALIDITY changed from %s to %s, reading it again",
                    mailbox.pk,
                    mailbox.uidvalidity,
                    uidvalidity,
                )
            Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
            mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        uids = _new_uids(conn, mailbox)[:limit]
        if uids and mailbox.after == Mailbox.After.MOVE:
            _folder_ensure(conn, mailbox.move_to)
        for uid in uids:
            raw = _fetch(conn, mailbox, uid)
            created = False
            if raw is not None:
                received = _store(mailbox, uid, raw)
                created = received.created
                if created:
                    counts.fetched += 1
                else:
                    counts.duplicates += 1
                _after(conn, mailbox, uid)
            Mailbox.objects.filter(pk=mailbox.pk).update(
                last_uid=uid, fetched_count=F("fetched_count") + int(created)
            )
            mailbox.last_uid = uid
            mailbox.fetched_count += int(created)
        if (
            uids
            and mailbox.after == Mailbox.After.MOVE
            and not _can_move(conn)
            and "UIDPLUS" not in conn.capabilities
        ):
            _check(conn.expunge(), mailbox, "remove the moved messages from")


def _store(mailbox: Mailbox, uid: int, raw: bytes) -> Received:
    try:
        return inbound_receive(
            raw, via=InboundMessage.Source.IMAP, mailbox=mailbox, section=mailbox.section
        )
    except Exception as exc:
        logger.exception("mailbox %s: could not store message %s", mailbox.pk, uid)
        raise MailboxError(
            f"Could not store message {uid} of {mailbox.folder}: {exc!r}; "
            "it stays on the server and is fetched again on the next poll."
        ) from exc


def _new_uids(conn: imaplib.IMAP4, mailbox: Mailbox) -> list[int]:
    criteria = f"UID {mailbox.last_uid + 1}:*"
    if mailbox.after == Mailbox.After.FLAG:
        # In this mode \Seen is what marks a message as processed.
        criteria += " UNSEEN"
    data = _check(conn.uid("SEARCH", criteria), mailbox, "search")
    found = {int(token) for line in data if line for token in bytes(line).split()}
    # "n:*" always matches the last message, even when its UID is below n.
    return sorted(uid for uid in found if uid > mailbox.last_uid)


def _fetch(conn: imaplib.IMAP4, mailbox: Mailbox, uid: int) -> bytes | None:
    """The message's bytes as the server holds them, or None if it is gone."""
    data = _check(conn.uid("FETCH", str(uid), "(BODY.PEEK[])"), mailbox, f"fetch message {uid}")
    for item in data:
        if isinstance(item, tuple) and b"BODY[]" in item[0].upper():
            return bytes(item[1])
    return None  # expunged meanwhile (by a person, or by another worker's move)


def _after(conn: imaplib.IMAP4, mailbox: Mailbox, uid: int) -> None:
    if mailbox.after == Mailbox.After.FLAG:
        _check(conn.uid("STORE", str(uid), "+FLAGS", r"(\Seen)"), mailbox, "flag")
        return
    target = _quote(mailbox.move_to)
    if _can_move(conn):
        _check(conn.uid("MOVE", str(uid), target), mailbox, f"move to {mailbox.move_to}")
        return
    _check(conn.uid("COPY", str(uid), target), mailbox, f"copy to {mailbox.move_to}")
    _check(conn.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)"), mailbox, "delete")
    if "UIDPLUS" in conn.capabilities:
        # Only this message: a plain EXPUNGE (at the end of the poll) would also
        # remove whatever else someone marked as deleted.
        _check(conn.uid("EXPUNGE", str(uid)), mailbox, "remove the moved message from")


def _can_move(conn: imaplib.IMAP4) -> bool:
    return "MOVE" in conn.capabilities


# --------------------------------------------------------------------------
# The session


def _where(mailbox: Mailbox) -> str:
    return f"{mailbox.host}:{mailbox.port}"


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    """A logged-in connection; every failure becomes a MailboxError in words."""
    conn = _connect(mailbox)
    try:
        try:
            _login(conn, mailbox)
            yield conn
        except (imaplib.IMAP4.abort, OSError) as exc:
            raise MailboxError(f"Lost the connection to {_where(mailbox)}: {_reason(exc)}") from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"The server {_where(mailbox)} answered: {_reason(exc)}") from exc
    finally:
        with suppress(imaplib.IMAP4.error, OSError):
            conn.logout()


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    where = _where(mailbox)
    try:
        if mailbox.security == Mailbox.Security.TLS:
            return imaplib.IMAP4_SSL(
                mailbox.host, mailbox.port, ssl_context=ssl_context(), timeout=TIMEOUT
            )
        conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT)
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(
            f"The certificate of {where} could not be verified: {exc.verify_message}"
        ) from exc
    except ssl.SSLError as exc:
        raise MailboxError(f"TLS with {where} failed: {_reason(exc)}") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"Could not connect to {where}: {_reason(exc)}") from exc
    if mailbox.security == Mailbox.Security.STARTTLS:
        try:
            conn.starttls(ssl_context=ssl_context())
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(conn)
            raise MailboxError(
                f"The certificate of {where} could not be verified: {exc.verify_message}"
            ) from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            _quietly_close(conn)
            raise MailboxError(f"STARTTLS with {where} failed: {_reason(exc)}") from exc
    return conn


def _quietly_close(conn: imaplib.IMAP4) -> None:
    with suppress(OSError):
        conn.shutdown()


def _login(conn: imaplib.IMAP4, mailbox: Mailbox) -> None:
    try:
        if (mailbox.username + mailbox.password).isascii():
            conn.login(mailbox.username, mailbox.password)
        else:
            # LOGIN only takes ASCII; AUTHENTICATE PLAIN takes UTF-8.
            secret = f"\0{mailbox.username}\0{mailbox.password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: secret)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise MailboxError(
            f"The server {_where(mailbox)} refused the login for user "
            f"{mailbox.username}: {_reason(exc)}"
        ) from exc
    # The capabilities may change once logged in (MOVE, UIDPLUS).
    typ, data = conn.capability()
    if typ == "OK" and data and data[0]:
        conn.capabilities = tuple(bytes(data[0]).decode("ascii", "replace").upper().split())


def _select(conn: imaplib.IMAP4, mailbox: Mailbox, *, readonly: bool) -> int:
    typ, data = conn.select(_quote(mailbox.folder), readonly=readonly)
    if typ != "OK":
        raise MailboxError(
            f"Could not open the folder {mailbox.folder} on {_where(mailbox)}: {_text(data)}"
        )
    try:
        return int(data[0] or 0)
    except (TypeError, ValueError):
        return 0


def _uidvalidity(conn: imaplib.IMAP4) -> int | None:
    _name, data = conn.response("UIDVALIDITY")
    for value in reversed(data):
        if value:
            try:
                return int(value)
            except ValueError:
                continue
    return None


def _folder_exists(conn: imaplib.IMAP4, folder: str) -> bool:
    typ, data = conn.list('""', _quote(folder))
    return typ == "OK" and any(item is not None for item in data)


def _folder_ensure(conn: imaplib.IMAP4, folder: str) -> None:
    if _folder_exists(conn, folder):
        return
    typ, data = conn.create(_quote(folder))
    if typ != "OK" and not _folder_exists(conn, folder):  # another worker may have made it
        raise MailboxError(f"Could not create the folder {folder}: {_text(data)}")


def _check(response: tuple[str, list], mailbox: Mailbox, doing: str) -> list:
    typ, data = response
    if typ != "OK":
        raise MailboxError(
            f"The server {_where(mailbox)} would not {doing} in {mailbox.folder}: {_text(data)}"
        )
    return data


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list) -> str:
    parts = [
        bytes(item).decode("utf-8", "replace") if isinstance(item, bytes | bytearray) else ""
        for item in data
    ]
    return " ".join(part for part in parts if part).strip() or "no reason given"


_BRACKETS = re.compile(r"^b'(.*)'$|^b\"(.*)\"$")


def _reason(exc: BaseException) -> str:
    """The human part of an exception from imaplib, ssl or socket."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ssl.SSLError):
        return exc.strerror
    text = str(exc).strip()
    match = _BRACKETS.match(text)  # imaplib puts the server's bytes in an f-string
    if match:
        text = match.group(1) or match.group(2) or ""
    return text or type(exc).__name__
