"""Inbound mail, parsed: the pure layer of the gateway (no database, no settings).

:func:`parse_message` turns raw bytes into a :class:`ParsedMessage` and never
raises: mail is written by every program ever made, and a broken header or an
unknown charset in one part must not lose the rest of the message. What could
not be read is listed in ``defects`` instead.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesFeedParser, BytesHeaderParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import BinaryIO, TypeVar

from goodwill.lib.html import html_to_text, sanitize_email_html

_T = TypeVar("_T")

CHUNK_SIZE = 64 * 1024
MAX_DEFECTS = 20
MAX_FILENAME = 200
MAX_IDS = 100  # References lists longer than this are truncated, keeping the newest ids
MAX_DEPTH = 30  # MIME nesting deeper than this is not read
MAX_PARTS = 500

# ---------------------------------------------------------------------------
# Results


@dataclass
class ParsedAttachment:
    """A part that is not a message body, with its decoded bytes."""

    filename: str
    content_type: str
    size: int
    content_id: str
    inline: bool
    data: bytes | None
    dropped_reason: str = ""


@dataclass
class DeliveryReport:
    """What a bounce (a delivery status notification) says went wrong."""

    failed_recipients: list[str] = field(default_factory=list)
    original_message_id: str = ""
    status: str = ""
    diagnostic: str = ""
    delayed: bool = False


@dataclass
class ParsedMessage:
    """Everything the gateway needs from one message."""

    message_id: str = ""
    alt_message_ids: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_email: str = ""
    sender_email: str = ""
    reply_to: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    envelope_to: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""
    visible_text: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reason: str = ""
    report: DeliveryReport | None = None
    defects: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


class _Defects:
    """Collects human-readable problems, each once, at most ``MAX_DEFECTS``."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        text = text.strip()[:300]
        if text and text not in self.items and len(self.items) < MAX_DEFECTS:
            self.items.append(text)

    def guard(self, what: str, func: Callable[[], _T], default: _T) -> _T:
        """Return ``func()``, or ``default`` after noting what failed."""
        try:
            return func()
        except Exception as exc:
            self.add(f"could not read {what}: {type(exc).__name__}: {exc}")
            return default


# ---------------------------------------------------------------------------
# Strings and headers

_WS = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _fix_text(value: str) -> str:
    """Return ``value`` as storable text: undecodable bytes re-read, NUL removed.

    The email package keeps 8-bit bytes it could not decode as lone surrogates;
    those are read as UTF-8 when they are, and as Windows-1252 otherwise.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "replace")
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("windows-1252", "replace")
    return value.replace("\x00", "")


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a raw header value, never raising."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _header(msg: Message, name: str, defects: _Defects | None = None) -> str:
    """The decoded value of the first ``name`` header, or ""; never raises.

    ``policy.default`` parses a header when it is read, and some broken
    values make that parser raise: the raw value is decoded by hand then.
    """
    if _has_8bit(msg, name):
        values = _header_all(msg, name)
        return values[0] if values else ""
    try:
        value = msg.get(name)
        if value is not None:
            for defect in getattr(value, "defects", ()):
                if defects is not None:
                    defects.add(f"{name}: {_describe_defect(defect)}")
            return _fix_text(str(value))
    except Exception as exc:
        if defects is not None:
            defects.add(f"{name}: unreadable header ({type(exc).__name__})")
    for raw_value in _raw_index(msg).get(name.lower(), ()):
        return _fix_text(_decode_words(_fix_text(raw_value)))
    return ""


def _header_all(msg: Message, name: str) -> list[str]:
    """The raw values of every ``name`` header, decoded, never raising."""
    return [
        _fix_text(_decode_words(_fix_text(value)))
        for value in _raw_index(msg).get(name.lower(), ())
    ]


def _has_8bit(msg: Message, name: str) -> bool:
    """Whether a ``name`` header came with raw 8-bit bytes (kept as surrogates)."""
    return any(_SURROGATES.search(value) for value in _raw_index(msg).get(name.lower(), ()))


def _raw_index(msg: Message) -> dict[str, list[str]]:
    """The raw header values by lower-cased name, built once per message part
    (the parser asks for many headers; scanning them all each time was slow)."""
    index: dict[str, list[str]] | None = getattr(msg, "_goodwill_raw_headers", None)
    if index is None:
        index = {}
        for name, value in _raw_items(msg):
            index.setdefault(name.lower(), []).append(value)
        msg._goodwill_raw_headers = index  # type: ignore[attr-defined]
    return index


def _raw_items(msg: Message) -> list[tuple[str, str]]:
    try:
        return [(str(name), str(value)) for name, value in msg.raw_items()]
    except Exception:
        return []


def _one_line(value: str) -> str:
    return _WS.sub(" ", value).strip()


# ---------------------------------------------------------------------------
# Message-IDs

_BRACKETED = re.compile(r"<([^<>]*)>")
_BARE_ID = re.compile(r"[^\s<>@\"(),;]+@[^\s<>@\"(),;]+")


def _clean_id(inner: str) -> str:
    inner = _WS.sub("", inner)
    if not inner or len(inner) > 900 or any(unicodedata.category(ch) == "Cc" for ch in inner):
        return ""
    return f"<{inner}>"


def normalise_message_id(value: str) -> str:
    """Return the Message-ID in ``value`` as ``"<id>"``, or "" when there is none.

    Folding whitespace inside the brackets is removed; a bare ``id@host`` gets
    its brackets. Empty brackets, and text with neither brackets nor an ``@``,
    are garbage.
    """
    value = _fix_text(value or "").strip()
    match = _BRACKETED.search(value)
    if match:
        return _clean_id(match.group(1))
    bare = _BARE_ID.search(value)
    return _clean_id(bare.group(0)) if bare else ""


def _message_ids(value: str) -> list[str]:
    """Every ``<id>`` in ``value``, in order, without repeats (bare ids if none)."""
    found = [_clean_id(inner) for inner in _BRACKETED.findall(value)]
    if not found:
        found = [_clean_id(bare) for bare in _BARE_ID.findall(value)]
    unique = list(dict.fromkeys(item for item in found if item))
    return unique[-MAX_IDS:]


def peek_message_id(raw_head: bytes) -> str:
    """Read only the header block of ``raw_head`` and return its normalised Message-ID.

    Stops at the first blank line, so it is cheap on a whole message too.
    Returns "" when there is none; never raises.
    """
    try:
        head = bytes(raw_head)
        ends = [pos for pos in (head.find(b"\n\n"), head.find(b"\r\n\r\n")) if pos >= 0]
        if ends:
            head = head[: min(ends) + 2]
        msg = BytesHeaderParser(policy=policy.default).parsebytes(head)
        return normalise_message_id(_header(msg, "message-id"))
    except Exception:
        return ""


# ---------------------------------------------------------------------------
# Addresses


def _valid_addr(addr: str) -> str:
    addr = _fix_text(addr).strip().strip("<>").strip().lower()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or _WS.search(addr) or "<" in addr or ">" in addr:
        return ""
    return addr


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) pairs of every ``name`` header."""
    pairs: list[tuple[str, str]] = []
    try:
        values = [] if _has_8bit(msg, name) else msg.get_all(name) or []
        for value in values:
            for address in getattr(value, "addresses", ()):
                pairs.append((str(address.display_name), str(address.addr_spec)))
    except Exception:
        pairs = []
    if not pairs:
        raw = _header_all(msg, name)
        if raw:
            try:
                pairs = getaddresses(raw)
            except Exception:
                pairs = []
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    for display, addr in pairs:
        clean = _valid_addr(addr)
        if clean and clean not in seen:
            seen.add(clean)
            result.append((_one_line(_fix_text(display)), clean))
    return result


def _emails(msg: Message, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        found.extend(addr for _, addr in _addresses(msg, name))
    return list(dict.fromkeys(found))


def _date(msg: Message) -> datetime | None:
    try:
        value = msg.get("date")
        when = getattr(value, "datetime", None)
    except Exception:
        when = None
    if not isinstance(when, datetime):
        raw = _header(msg, "date")
        try:
            when = parsedate_to_datetime(raw) if raw else None
        except Exception:
            when = None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # "-0000": the zone is unknown, UTC is the best guess
    return when


# ---------------------------------------------------------------------------
# Bodies and charsets

_CHARSET_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "x-sjis": "shift_jis",
    "utf8": "utf-8",
    "ascii": "us-ascii",
}


def _codec(charset: str) -> str | None:
    """The Python codec for a declared charset, or None for unknown or non-text ones."""
    name = _CHARSET_ALIASES.get(charset.strip().lower(), charset.strip().lower())
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # "base64", "zlib", "rot13" and the like are codecs too, but not text encodings.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _decode_bytes(data: bytes, charset: str, defects: _Defects, where: str) -> str:
    codec = _codec(charset) if charset else "ascii"
    if charset and codec is None:
        defects.add(f"{where}: unknown charset {charset[:40]!r}, read as UTF-8")
    if codec:
        try:
            return _fix_text(data.decode(codec))
        except (UnicodeError, LookupError, ValueError):
            pass
    try:
        return _fix_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if codec and codec != "ascii":
        defects.add(f"{where}: text is not valid {charset[:40]}, undecodable bytes replaced")
        try:
            return _fix_text(data.decode(codec, "replace"))
        except (UnicodeError, LookupError, ValueError):
            pass
    defects.add(f"{where}: text is not valid {charset[:40] or 'ASCII'}, read as Windows-1252")
    try:
        return _fix_text(data.decode("windows-1252", "replace"))
    except UnicodeError:
        return _fix_text(data.decode("latin-1"))


def _part_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return b""


def _charset(part: Message) -> str:
    try:
        return str(part.get_param("charset", "") or "")
    except Exception:
        return ""


# ---------------------------------------------------------------------------
# Attachments

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _decoded_filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        try:
            name = str(part.get_param("name", "") or "")
        except Exception:
            name = ""
    if isinstance(name, tuple):  # an RFC 2231 value that the policy left undecoded
        try:
            name = str(name[2]) if len(name) == 3 else ""
        except Exception:
            name = ""
    return _decode_words(_fix_text(str(name)))


def _clean_filename(name: str, *, number: int, content_type: str) -> str:
    """A file name safe to store and offer: no directories, no control characters.

    Falls back to ``attachment-<number><extension>`` when nothing usable is left.
    """
    name = _fix_text(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = _CONTROL.sub("", name).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME]
    if name:
        return name
    if content_type in ("message/rfc822", "message/global"):
        ext = ".eml"
    else:
        ext = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return f"attachment-{number}{ext}"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _content_id(part: Message) -> str:
    return _one_line(_header(part, "content-id")).strip("<>").strip()


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


# ---------------------------------------------------------------------------
# Walking the MIME tree


class _Walker:
    """Sorts the parts of one message into bodies, attachments and report parts."""

    def __init__(self, *, attachment_max_bytes: int, defects: _Defects) -> None:
        self.max_bytes = attachment_max_bytes
        self.defects = defects
        self.text: str | None = None
        self.html: str | None = None
        self.attachments: list[ParsedAttachment] = []
        self.status_parts: list[Message] = []
        self.returned: list[Message] = []  # the bounced message or its headers
        self.parts_seen = 0

    def walk(self, part: Message, depth: int = 0) -> None:
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS:
            self.defects.add(f"more than {MAX_PARTS} MIME parts; the rest was not read")
            return
        if depth > MAX_DEPTH:
            self.defects.add(f"MIME parts nested deeper than {MAX_DEPTH}; not read")
            return
        where = f"part {self.parts_seen}"
        try:
            ctype = part.get_content_type().lower()
        except Exception:
            ctype = "text/plain"
        payload = _children(part)
        try:
            if ctype == "message/delivery-status":
                self.status_parts.append(part)
            elif payload is not None and ctype.startswith("multipart/"):
                for child in payload:
                    if isinstance(child, Message):
                        self.walk(child, depth + 1)
            elif payload is not None:
                self._message_part(part, ctype, payload, where)
            else:
                self._leaf(part, ctype, where)
        except Exception as exc:
            self.defects.add(f"{where} ({ctype}): not read: {type(exc).__name__}: {exc}")

    def _message_part(self, part: Message, ctype: str, payload: list[Message], where: str) -> None:
        """A whole message inside this one (forwarded or bounced): an attachment."""
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
        if inner is not None and ctype in ("message/rfc822", "message/global"):
            self.returned.append(inner)
        data = b""
        if inner is not None:
            data = self._message_bytes(inner, where)
        name = _decoded_filename(part)
        if not name and inner is not None:
            subject = _one_line(_header(inner, "subject"))[:100]
            name = f"{subject}.eml" if subject else ""
        self._attach(part, ctype, data, name)

    def _message_bytes(self, inner: Message, where: str) -> bytes:
        problem: Exception | None = None
        for generator_policy in (policy.default, policy.compat32):
            try:
                return inner.as_bytes(policy=generator_policy)
            except Exception as exc:
                problem = exc
        self.defects.add(f"{where}: enclosed message could not be re-read ({problem})")
        return b""

    def _leaf(self, part: Message, ctype: str, where: str) -> None:
        disposition = _disposition(part)
        name = _decoded_filename(part)
        is_text = ctype in ("text/plain", "text/html") or ctype.startswith("multipart/")
        if is_text and disposition != "attachment" and not name:
            if ctype == "text/html" and self.html is None:
                raw = _decode_bytes(_part_bytes(part), _charset(part), self.defects, where)
                self.html = raw
                return
            if ctype != "text/html" and self.text is None:
                if ctype.startswith("multipart/"):
                    self.defects.add(f"{where}: {ctype} without parts, read as text")
                text = _decode_bytes(_part_bytes(part), _charset(part), self.defects, where)
                self.text = text.replace("\r\n", "\n")
                return
        data = _part_bytes(part)
        if ctype == "text/rfc822-headers":
            parser = BytesHeaderParser(policy=policy.default)
            returned = self.defects.guard("returned headers", lambda: parser.parsebytes(data), None)
            if returned is not None:
                self.returned.append(returned)
        if not data and not name:
            return
        self._attach(part, ctype, data, name)
        try:
            part.set_payload("")  # the decoded copy is all we keep
        except Exception:
            self.defects.add(f"{where}: payload could not be released")

    def _attach(self, part: Message, ctype: str, data: bytes, name: str) -> None:
        number = len(self.attachments) + 1
        content_id = _content_id(part)
        disposition = _disposition(part)
        size = len(data)
        attachment = ParsedAttachment(
            filename=_clean_filename(name, number=number, content_type=ctype),
            content_type=ctype,
            size=size,
            content_id=content_id,
            inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
            data=data,
        )
        if size > self.max_bytes:
            attachment.data = None
            attachment.dropped_reason = (
                f"larger than the {_megabytes(self.max_bytes)} limit ({_megabytes(size)})"
            )
        self.attachments.append(attachment)


def _children(part: Message) -> list[Message] | None:
    """The sub-parts of a multipart or message/* part; None for a leaf.

    Never calls ``get_payload()`` on a leaf: with 8-bit text that decodes it
    with the declared charset, and a charset name with a NUL in it raises.
    """
    if not part.is_multipart():
        return None
    payload = part.get_payload()
    if not isinstance(payload, list):
        return None
    return [child for child in payload if isinstance(child, Message)]


def _walk_defects(msg: Message) -> Iterator[str]:
    """The stdlib's defects of every part, described."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    count = 0
    while stack and count < MAX_PARTS:
        part, depth = stack.pop()
        count += 1
        for defect in getattr(part, "defects", ()):
            yield _describe_defect(defect)
        children = _children(part)
        if children and depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(children))


def _describe_defect(defect: object) -> str:
    name = type(defect).__name__.removesuffix("Defect")
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()
    detail = str(defect).strip()
    return f"{words}: {detail}" if detail and detail.lower() != words else words


# ---------------------------------------------------------------------------
# Delivery reports

_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|delivery status notification|delivery failure|"
    r"mail delivery failed|failure notice|could not be delivered|delivery has failed|"
    r"delivery problem|nondeliverable|non-deliverable|delayed mail|delivery delayed|"
    r"warning: could not send",
    re.IGNORECASE,
)
_DELAY_SUBJECT = re.compile(r"delay|warning|still being retried|will retry", re.IGNORECASE)
_ORIGINAL_MARKER = re.compile(
    r"^[\s>-]*(original message|message follows|returned message|"
    r"undelivered message|below this line is a copy|this is a copy of the message|"
    r"message headers follow|original message follows|headers of the original)",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD_LINE = re.compile(r"^[!-9;-~]+:")


def _recipient(value: str) -> str:
    """The address of ``rfc822; <user@example.com>``."""
    addr = value.split(";", 1)[1] if ";" in value else value
    return _valid_addr(addr)


def _status_blocks(part: Message, defects: _Defects) -> list[Message]:
    blocks = _children(part)
    if blocks is not None:
        return blocks
    # A delivery-status part the parser left as text (encoded, or malformed).
    text = _decode_bytes(_part_bytes(part), _charset(part), defects, "delivery status")
    parser = HeaderParser(policy=policy.default)
    return [parser.parsestr(block) for block in re.split(r"\n\s*\n", text.replace("\r", ""))]


def _rfc3464_report(status_parts: list[Message], defects: _Defects) -> DeliveryReport:
    report = DeliveryReport()
    failed: list[tuple[str, str, str]] = []
    delayed: list[tuple[str, str, str]] = []
    others: list[tuple[str, str, str]] = []
    for part in status_parts:
        for block in _status_blocks(part, defects):
            if not report.original_message_id:
                report.original_message_id = normalise_message_id(
                    _header(block, "original-message-id")
                )
            recipient = _recipient(_header(block, "final-recipient")) or _recipient(
                _header(block, "original-recipient")
            )
            if not recipient:
                continue
            action = _header(block, "action").strip().lower()
            status_match = _STATUS.search(_header(block, "status"))
            status = status_match.group(1) if status_match else ""
            diagnostic = _header(block, "diagnostic-code")
            if ";" in diagnostic:
                diagnostic = diagnostic.split(";", 1)[1]
            entry = (recipient, status, _one_line(diagnostic)[:1000])
            if action.startswith("failed"):
                failed.append(entry)
            elif action.startswith("delayed"):
                delayed.append(entry)
            else:
                others.append(entry)
    report.failed_recipients = list(dict.fromkeys(addr for addr, _, _ in failed))
    report.delayed = bool(delayed) and not failed
    first = (failed or delayed or others or [("", "", "")])[0]
    report.status, report.diagnostic = first[1], first[2]
    return report


def _inline_original(text: str) -> Message | None:
    """The headers of the bounced message when a bounce quotes it in its text."""
    marker = _ORIGINAL_MARKER.search(text)
    if marker is None:
        return None
    rest = text[marker.end() :].split("\n", 1)[-1].lstrip("\n\r -")
    lines = rest[:65536].splitlines()
    head: list[str] = []
    for line in lines:
        if not line.strip():
            if head:
                break
            continue
        if not head and not _FIELD_LINE.match(line):
            return None
        head.append(line)
    return HeaderParser(policy=policy.default).parsestr("\n".join(head) + "\n\n")


def _nonstandard_report(
    msg: Message, text: str, returned: list[Message], subject: str
) -> DeliveryReport:
    report = DeliveryReport()
    failed: list[str] = []
    for value in _header_all(msg, "x-failed-recipients"):
        failed.extend(_valid_addr(addr) for _, addr in getaddresses([value]))
    explanation = text
    marker = _ORIGINAL_MARKER.search(text)
    if marker is not None:
        explanation = text[: marker.start()]
    if not [addr for addr in failed if addr]:
        # The bounced message's recipients that the bounce's own text names.
        lowered = explanation.lower()
        for original in returned:
            for addr in _emails(original, "to", "cc"):
                if addr in lowered:
                    failed.append(addr)
    report.failed_recipients = list(dict.fromkeys(addr for addr in failed if addr))
    status = _STATUS.search(explanation)
    if status:
        report.status = status.group(1)
        line_start = explanation.rfind("\n", 0, status.start()) + 1
        line_end = explanation.find("\n", status.end())
        line = explanation[line_start : line_end if line_end >= 0 else None]
        report.diagnostic = _one_line(line)[:1000]
    report.delayed = bool(_DELAY_SUBJECT.search(subject)) and not report.status.startswith("5")
    if report.delayed and not report.status.startswith("4"):
        report.failed_recipients = []
    return report


def _looks_like_bounce(msg: Message, from_email: str, subject: str) -> bool:
    if _header(msg, "x-failed-recipients").strip():
        return True
    local = from_email.partition("@")[0]
    null_sender = any(
        value.strip() == "<>"
        for name in ("return-path", "x-envelope-from")
        for value in _header_all(msg, name)
    )
    from_daemon = local in ("mailer-daemon", "postmaster") or null_sender
    return from_daemon and bool(_BOUNCE_SUBJECT.search(subject))


def _returned_message_id(returned: list[Message]) -> str:
    for original in returned:
        found = normalise_message_id(_header(original, "message-id"))
        if found:
            return found
    return ""


# ---------------------------------------------------------------------------
# Automatic mail

_LIST_HEADERS = (("list-id", "List-Id"), ("list-unsubscribe", "List-Unsubscribe"))


def _auto_reason(msg: Message, from_email: str, sender_email: str) -> str:
    auto_submitted = _one_line(_header(msg, "auto-submitted"))
    keyword = auto_submitted.split(";", 1)[0].strip().lower()
    if keyword and keyword != "no":
        return f"Auto-Submitted: {auto_submitted[:100]}"
    for name, label in (
        ("x-autoreply", "X-Autoreply"),
        ("x-autorespond", "X-Autorespond"),
        ("x-autoresponder", "X-Autoresponder"),
    ):
        value = _one_line(_header(msg, name)).lower()
        if value and value not in ("no", "false", "0"):
            return label
    precedence = _one_line(_header(msg, "precedence")).lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    for name, label in _LIST_HEADERS:
        if _header(msg, name).strip():
            return label
    for address in (from_email, sender_email):
        local = address.partition("@")[0]
        if local == "mailer-daemon":
            return "from MAILER-DAEMON"
        if local == "postmaster":
            return "from postmaster"
    if any(value.strip() == "<>" for value in _header_all(msg, "return-path")):
        return "Return-Path: <> (null sender)"
    try:
        if msg.get_content_type() == "multipart/report":
            kind = str(msg.get_param("report-type", "") or "")
            return f"multipart/report; report-type={kind[:40]}" if kind else "multipart/report"
    except Exception:
        return ""
    return ""


# ---------------------------------------------------------------------------
# Quoted replies and signatures

_ON_WROTE = re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE)
_AM_SCHRIEB = re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$")
_LE_ECRIT = re.compile(r"^\s*Le\b.{0,300}\ba\s+écrit\s*:\s*$", re.IGNORECASE)
_TWO_LINE_OPENERS = (
    (re.compile(r"^\s*On\s", re.IGNORECASE), _ON_WROTE),
    (re.compile(r"^\s*Am\s"), _AM_SCHRIEB),
    (re.compile(r"^\s*Le\s", re.IGNORECASE), _LE_ECRIT),
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale|oorspronkelijk bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De|Van|Da)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(
    r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Verzonden|Inviato|Enviado)\s*:\*?\s*\S",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_SIGNATURE = re.compile(r"^(-- ?|—)$")
_MOBILE = re.compile(r"^\s*(sent from my |sent from outlook|get outlook for )", re.IGNORECASE)


def _reply_header_at(lines: list[str], index: int) -> bool:
    """Whether a reply header ("On … wrote:", an Outlook block, …) starts at ``index``."""
    line = lines[index]
    if _ON_WROTE.match(line) or _AM_SCHRIEB.match(line) or _LE_ECRIT.match(line):
        return True
    if _ORIGINAL_MESSAGE.match(line):
        return True
    following = lines[index + 1] if index + 1 < len(lines) else ""
    for opener, whole in _TWO_LINE_OPENERS:
        if opener.match(line) and following.strip() and whole.match(f"{line} {following.strip()}"):
            return True
    if _UNDERSCORES.match(line) and _OUTLOOK_FROM.match(following):
        return True
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_SENT.match(later) for later in lines[index + 1 : index + 5])
    return False


def _interleaved(lines: list[str]) -> bool:
    """Whether reply lines follow quoted ones (answers written between quotes)."""
    seen_quote = False
    for line in lines:
        if line.lstrip().startswith(">"):
            seen_quote = True
        elif seen_quote and line.strip():
            return True
    return False


def strip_quoted(text: str) -> str:
    """Return the new part of a reply: no quoted message, no signature.

    Cuts at the first reply header ("On … wrote:", also over two lines,
    "-----Original Message-----", Outlook's "From: … Sent: …" block, German
    "Am … schrieb …:", French "Le … a écrit :"), at a signature delimiter
    ("-- " or "--") and at "Sent from my iPhone"/"Get Outlook for …", then
    drops trailing ``>`` quotes. Answers written between quotes are kept, with
    the quotes they answer. If nothing would be left, returns ``text`` stripped.
    """
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = len(lines)
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line.rstrip("\n")) or _MOBILE.match(line):
            end = index
            break
    for index in range(end):
        if _reply_header_at(lines, index):
            if not _interleaved(lines[index + 1 : end]):
                end = index
            break
    kept = lines[:end]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    # An "On … wrote:" left behind by the quote it introduced.
    if kept and _reply_header_at(kept, len(kept) - 1):
        kept.pop()
    elif len(kept) >= 2 and _reply_header_at(kept, len(kept) - 2):
        del kept[-2:]
    result = "\n".join(line.rstrip() for line in kept).strip()
    return result or text.strip()


# ---------------------------------------------------------------------------
# The whole message

_ALT_ID_HEADERS = (
    "x-google-original-message-id",
    "x-original-message-id",
    "x-microsoft-original-message-id",
    "x-ses-message-id",
)
_DISPLAY_HEADERS = ("Subject", "From", "To", "Cc", "Date", "Message-ID")


def _read(source: bytes | BinaryIO, defects: _Defects) -> Message:
    parser = BytesFeedParser(policy=policy.default)
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            view = memoryview(source)
            for start in range(0, len(view), CHUNK_SIZE):
                parser.feed(bytes(view[start : start + CHUNK_SIZE]))
        else:
            while chunk := source.read(CHUNK_SIZE):
                parser.feed(chunk)
    except Exception as exc:
        defects.add(f"message could not be read to the end: {type(exc).__name__}: {exc}")
    try:
        msg = parser.close()
    except Exception as exc:
        defects.add(f"message structure unreadable: {type(exc).__name__}: {exc}")
        return Message(policy=policy.default)
    return msg if isinstance(msg, Message) else Message(policy=policy.default)


def parse_message(source: bytes | BinaryIO, *, attachment_max_bytes: int) -> ParsedMessage:
    """Parse one raw message (bytes or a binary file) into a :class:`ParsedMessage`.

    Never raises. Attachments above ``attachment_max_bytes`` keep their metadata
    only (``data`` is None, ``dropped_reason`` says why). A file object is read
    in 64 KiB chunks, so a large message is not held twice.
    """
    defects = _Defects()
    result = ParsedMessage()
    msg = _read(source, defects)
    guard = defects.guard

    result.message_id = guard(
        "Message-ID", lambda: normalise_message_id(_header(msg, "message-id", defects)), ""
    )
    alt_ids: list[str] = []
    for name in _ALT_ID_HEADERS:
        for value in _header_all(msg, name):
            found = normalise_message_id(value)
            if found and found != result.message_id and found not in alt_ids:
                alt_ids.append(found)
    result.alt_message_ids = alt_ids
    result.in_reply_to = guard(
        "In-Reply-To", lambda: _message_ids(" ".join(_header_all(msg, "in-reply-to"))), []
    )
    result.references = guard(
        "References", lambda: _message_ids(" ".join(_header_all(msg, "references"))), []
    )
    result.subject = _one_line(_header(msg, "subject", defects))

    from_pairs: list[tuple[str, str]] = guard("From", lambda: _addresses(msg, "from"), [])
    if from_pairs:
        result.from_name, result.from_email = from_pairs[0]
    sender: list[str] = guard("Sender", lambda: _emails(msg, "sender"), [])
    result.sender_email = sender[0] if sender else ""
    result.reply_to = guard("Reply-To", lambda: _emails(msg, "reply-to"), [])
    result.to = guard("To", lambda: _emails(msg, "to"), [])
    result.cc = guard("Cc", lambda: _emails(msg, "cc"), [])
    envelope: list[str] = []
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        for value in _header_all(msg, name):
            envelope.extend(_valid_addr(addr) for _, addr in getaddresses([value]))
    result.envelope_to = list(dict.fromkeys(addr for addr in envelope if addr))
    result.date = guard("Date", lambda: _date(msg), None)
    raw_values = {name: _header_all(msg, name) for name in _DISPLAY_HEADERS}
    result.headers = {
        name: _one_line(values[0])[:2000] for name, values in raw_values.items() if values
    }

    walker = _Walker(attachment_max_bytes=attachment_max_bytes, defects=defects)
    guard("MIME structure", lambda: walker.walk(msg), None)
    raw_html = walker.html or ""
    result.html = guard("HTML body", lambda: sanitize_email_html(raw_html), "")
    if walker.text is not None:
        result.text = walker.text
    elif raw_html:
        result.text = guard("HTML body as text", lambda: html_to_text(raw_html), "")
    result.visible_text = guard("quoted text", lambda: strip_quoted(result.text), result.text)
    if result.text.strip() and not result.visible_text:
        result.visible_text = result.text.strip()
    result.attachments = walker.attachments

    result.report = guard("delivery report", lambda: _report(msg, walker, result, defects), None)
    result.auto_reason = guard(
        "automatic-mail headers",
        lambda: _auto_reason(msg, result.from_email, result.sender_email),
        "",
    )
    if result.report is not None and not result.auto_reason:
        result.auto_reason = "delivery status notification"

    no_defects: list[str] = []
    for description in guard("defects", lambda: list(_walk_defects(msg)), no_defects):
        defects.add(description)
    result.defects = defects.items
    return result


def _report(
    msg: Message, walker: _Walker, result: ParsedMessage, defects: _Defects
) -> DeliveryReport | None:
    if walker.status_parts:
        report = _rfc3464_report(walker.status_parts, defects)
    elif _looks_like_bounce(msg, result.from_email, result.subject):
        returned = list(walker.returned)
        inline = _inline_original(result.text)
        if inline is not None:
            returned.append(inline)
        report = _nonstandard_report(msg, result.text, returned, result.subject)
        walker.returned = returned
    else:
        return None
    if not report.original_message_id:
        report.original_message_id = _returned_message_id(walker.returned)
    if not report.original_message_id and walker.status_parts:
        inline = _inline_original(result.text)
        if inline is not None:
            report.original_message_id = _returned_message_id([inline])
    return report
