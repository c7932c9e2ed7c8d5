"""The gateway's parsing layer: raw bytes in, a ParsedMessage out, never an exception."""

from __future__ import annotations

import io
import os
import re
import tracemalloc
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodwill.lib.html import html_to_text, sanitize_email_html
from goodwill.mailgate.parsing import (
    ParsedMessage,
    normalise_message_id,
    parse_message,
    peek_message_id,
    strip_quoted,
)

LIMIT = 25_000_000


def parse(raw: bytes | EmailMessage, limit: int = LIMIT) -> ParsedMessage:
    if isinstance(raw, EmailMessage):
        raw = raw.as_bytes()
    return parse_message(raw, attachment_max_bytes=limit)


def simple(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Alice Example <alice@example.com>")
    msg["To"] = headers.pop("To", "help@example.org")
    msg["Subject"] = headers.pop("Subject", "Printer on fire")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("The printer is on fire.\n")
    return msg


# ---------------------------------------------------------------------------
# Headers and addresses


def test_basic_fields() -> None:
    """Addresses are lower-cased addr-specs; the date is aware; display headers are kept."""
    msg = simple(
        From="Alice Example <Alice@Example.COM>",
        To="help@example.org, Bob <BOB@example.org>",
        Cc="carol@example.net",
        Reply_To="replies@example.com",
        Sender="Bulk Robot <robot@example.com>",
        Date="Tue, 10 Jul 2012 06:06:08 +0200",
        Message_ID="<abc@example.com>",
        Delivered_To="Inbox@Example.org",
        X_Original_To="help@example.org",
    )
    parsed = parse(msg)
    assert parsed.from_name == "Alice Example"
    assert parsed.from_email == "alice@example.com"
    assert parsed.sender_email == "robot@example.com"
    assert parsed.to == ["help@example.org", "bob@example.org"]
    assert parsed.cc == ["carol@example.net"]
    assert parsed.reply_to == ["replies@example.com"]
    assert parsed.envelope_to == ["inbox@example.org", "help@example.org"]
    assert parsed.date == datetime(2012, 7, 10, 4, 6, 8, tzinfo=UTC)
    assert parsed.message_id == "<abc@example.com>"
    assert parsed.text == "The printer is on fire.\n"
    assert parsed.visible_text == "The printer is on fire."
    assert parsed.headers["Subject"] == "Printer on fire"
    assert parsed.headers["Message-ID"] == "<abc@example.com>"
    assert parsed.auto_reason == ""
    assert parsed.report is None


def test_unparseable_from_gives_empty_email() -> None:
    """A From without an address gives "" rather than garbage."""
    parsed = parse(b"From: just a name\r\nSubject: x\r\n\r\nbody\r\n")
    assert parsed.from_email == ""
    assert parsed.subject == "x"


def test_naive_date_is_read_as_utc() -> None:
    """A "-0000" date (zone unknown) is taken as UTC, never left naive."""
    parsed = parse(b"Date: Thu, 7 Jul 1994 17:16:05 -0000\r\n\r\nx")
    assert parsed.date == datetime(1994, 7, 7, 17, 16, 5, tzinfo=UTC)


def test_garbage_date_is_none() -> None:
    assert parse(b"Date: the day after tomorrow\r\n\r\nx").date is None


def test_rfc2047_subject_and_from_name() -> None:
    raw = (
        b"From: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@example.com>\r\n"
        b"Subject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
        b"  and   more\r\n\r\nHallo\r\n"
    )
    parsed = parse(raw)
    assert parsed.subject == "Grüße aus Köln and more"
    assert parsed.from_name == "Zoë Müller"
    assert parsed.from_email == "zoe@example.com"


def test_raw_8bit_headers_are_decoded() -> None:
    """Unencoded UTF-8 and Latin-1 header bytes become text, never surrogates."""
    parsed = parse("Subject: Grüße\r\nFrom: Zoë <zoe@example.com>\r\n\r\nx".encode())
    assert parsed.subject == "Grüße"
    assert parsed.from_name == "Zoë"
    latin = parse("Subject: Grüße\r\n\r\nx".encode("latin-1"))
    assert latin.subject == "Grüße"
    latin.subject.encode("utf-8")  # storable


def test_broken_encoded_word_in_subject_does_not_raise() -> None:
    parsed = parse(b"Subject: =?x-unknown?q?caf=E9?= =?utf-8?b?!!!?=\r\n\r\nbody")
    assert isinstance(parsed.subject, str)
    assert parsed.text == "body"


# ---------------------------------------------------------------------------
# Message-IDs and threading


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.com>", "<abc@example.com>"),
        ("  <abc@example.com>  ", "<abc@example.com>"),
        ("abc@example.com", "<abc@example.com>"),
        ("<abc@exa\r\n mple.com>", "<abc@example.com>"),
        ("junk <abc@example.com> (comment)", "<abc@example.com>"),
        ("<12345.ABC>", "<12345.ABC>"),
        ("<>", ""),
        ("", ""),
        ("no id here", ""),
    ],
)
def test_normalise_message_id(value: str, expected: str) -> None:
    assert normalise_message_id(value) == expected


def test_references_in_order_without_repeats() -> None:
    raw = (
        b"References: <a@x>\r\n <b@x> <a@x>\r\n\t<c@x>\r\n"
        b"In-Reply-To: <c@x> (the last one) <d@x>\r\n\r\nbody\r\n"
    )
    parsed = parse(raw)
    assert parsed.references == ["<a@x>", "<b@x>", "<c@x>"]
    assert parsed.in_reply_to == ["<c@x>", "<d@x>"]


def test_alternative_message_ids() -> None:
    """Ids from rewriting services are kept, except a copy of the Message-ID."""
    msg = simple(
        Message_ID="<ses-1@amazonses.com>",
        X_Google_Original_Message_ID="<orig@mail.gmail.com>",
        X_Microsoft_Original_Message_ID="<ses-1@amazonses.com>",
        X_Original_Message_ID="orig2@example.com",
    )
    parsed = parse(msg)
    assert parsed.message_id == "<ses-1@amazonses.com>"
    assert parsed.alt_message_ids == ["<orig@mail.gmail.com>", "<orig2@example.com>"]


def test_garbage_message_id_is_empty() -> None:
    assert parse(b"Message-ID: <>\r\n\r\nx").message_id == ""


def test_peek_message_id_reads_only_the_head() -> None:
    raw = b"Subject: hi\r\nMessage-Id: <peek@example.com>\r\n\r\nMessage-ID: <body@x>\r\n"
    assert peek_message_id(raw) == "<peek@example.com>"
    assert peek_message_id(b"Subject: none\n\n") == ""
    assert peek_message_id(b"") == ""
    assert isinstance(peek_message_id(os.urandom(2000)), str)


# ---------------------------------------------------------------------------
# Bodies and charsets


def test_latin1_body() -> None:
    raw = (
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n"
    )
    assert parse(raw).text.strip() == "Grüße"


@pytest.mark.parametrize("charset", ["x-unknown", "unicode-1-1-utf-7", "zlib", "base64", "\x00"])
def test_unknown_or_unusable_charset_is_read_with_replacements(charset: str) -> None:
    raw = (
        f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + "café ok\r\n".encode()
    parsed = parse(raw)
    assert "ok" in parsed.text
    parsed.text.encode("utf-8")


def test_wrong_declared_charset_does_not_raise() -> None:
    """Declared us-ascii but sent as Latin-1: read, with a defect noted."""
    raw = (
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9 au lait\r\n"
    )
    parsed = parse(raw)
    assert parsed.text.strip() == "café au lait"
    assert any("ascii" in defect.lower() for defect in parsed.defects)


def test_declared_utf8_with_invalid_bytes_gets_replacement_characters() -> None:
    raw = (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"//5oaSB0aGVyZQ==\r\n"
    )
    parsed = parse(raw)
    assert "hi there" in parsed.text
    parsed.text.encode("utf-8")


def test_html_only_message_gets_text() -> None:
    msg = EmailMessage()
    msg["Subject"] = "html"
    msg.set_content(
        "<html><head><style>p {}</style></head><body><p>Hello&nbsp;<b>there</b></p>"
        "<p>Second &amp; last</p><script>alert(1)</script></body></html>",
        subtype="html",
    )
    parsed = parse(msg)
    assert parsed.text == "Hello there\n\nSecond & last"
    assert "<script" not in parsed.html
    assert "<p>Hello" in parsed.html


def test_alternative_prefers_plain_text_and_keeps_sanitised_html() -> None:
    msg = simple()
    msg.add_alternative('<p onclick="x()">The <i>printer</i></p><script>x</script>', subtype="html")
    parsed = parse(msg)
    assert parsed.text == "The printer is on fire.\n"
    assert parsed.html.strip() == "<p>The <i>printer</i></p>"
    assert parsed.attachments == []


def test_a_second_text_part_is_kept_as_an_attachment() -> None:
    """Nothing is dropped silently: a body part that is not the body is an attachment."""
    msg = simple()
    msg.add_attachment("more text", disposition="inline")
    parsed = parse(msg)
    assert parsed.text == "The printer is on fire.\n"
    assert [a.content_type for a in parsed.attachments] == ["text/plain"]
    assert parsed.attachments[0].data == b"more text\n"


# ---------------------------------------------------------------------------
# The HTML sanitiser and renderer


def test_sanitiser_removes_active_content() -> None:
    html = (
        "<style>body{background:url(http://evil/x)}</style>"
        '<script>alert(1)</script><p onmouseover="alert(1)">Hi</p>'
        '<img src="x" onerror="alert(1)">'
        '<a href="javascript:alert(1)">a</a><a href="JaVaScRiPt:alert(1)">b</a>'
        '<a href="data:text/html,<script>alert(1)</script>">c</a>'
        '<a href="https://example.com/?a=1&b=2">d</a><a href="mailto:x@example.com">e</a>'
        '<iframe src="https://evil.example/"></iframe><form action="x"><input></form>'
    )
    clean = sanitize_email_html(html)
    lowered = clean.lower()
    for forbidden in ("<script", "<style", "onmouseover", "onerror", "javascript:", "data:"):
        assert forbidden not in lowered
    for tag in ("<iframe", "<form", "<input"):
        assert tag not in lowered
    assert (
        '<a href="https://example.com/?a=1&amp;b=2" target="_blank" '
        'rel="noopener noreferrer nofollow">d</a>'
    ) in clean
    assert 'href="mailto:x@example.com"' in clean


def test_sanitiser_keeps_table_formatting() -> None:
    clean = sanitize_email_html('<table><tr><td colspan="2" rowspan="1">x</td></tr></table>')
    assert '<td colspan="2" rowspan="1">x</td>' in clean


def test_remote_images_wait_for_a_click() -> None:
    html = (
        '<img src="https://tracker.example/p.gif?u=1&amp;m=2" alt="logo">'
        '<IMG SRC="HTTP://EXAMPLE.COM/A.PNG">'
        '<img src="//evil.example/p.gif"><img src="/relative.png">'
        '<img src="data:image/png;base64,AAAA"><img src="cid:logo@example.com">'
        '<img srcset="https://x.example/1.png 1x"><img src=" https://spaces.example/x.png ">'
    )
    clean = sanitize_email_html(html)
    assert not re.search(r"(?<![-\w])src\s*=", clean, re.IGNORECASE)
    assert "srcset" not in clean
    assert 'data-remote-src="https://tracker.example/p.gif?u=1&amp;m=2"' in clean
    assert 'data-remote-src="HTTP://EXAMPLE.COM/A.PNG"' in clean
    assert 'data-remote-src="https://spaces.example/x.png"' in clean
    assert 'data-cid="logo@example.com"' in clean
    assert "data:image" not in clean
    assert "evil.example" not in clean
    assert "relative" not in clean


def test_image_addresses_from_the_sender_are_not_trusted() -> None:
    """A sender cannot smuggle in their own data-remote-src or data-cid."""
    clean = sanitize_email_html('<img data-remote-src="javascript:alert(1)" data-cid="x">')
    assert clean == "<img>"


def test_html_to_text_blocks_lists_and_entities() -> None:
    html = (
        "<div>One<br>Two</div><ul><li>a</li><li>b</li></ul>"
        "<p>caf&eacute;   &lt;tag&gt;</p><pre>  keep\n    this</pre>"
        "<table><tr><td>x</td><td>y</td></tr></table>"
    )
    assert html_to_text(html) == "One\nTwo\n\n- a\n- b\n\ncafé <tag>\n\n  keep\n    this\n\nx y"


# ---------------------------------------------------------------------------
# Attachments


def test_attachment_size_limit() -> None:
    msg = simple()
    msg.add_attachment(b"x" * 2000, maintype="application", subtype="pdf", filename="big.pdf")
    msg.add_attachment(b"y" * 10, maintype="application", subtype="pdf", filename="small.pdf")
    parsed = parse(msg, limit=1000)
    big, small = parsed.attachments
    assert big.filename == "big.pdf"
    assert big.size == 2000
    assert big.data is None
    assert big.dropped_reason == "larger than the 0.0 MB limit (0.0 MB)"
    assert small.data == b"y" * 10
    assert small.dropped_reason == ""


def test_dropped_reason_names_the_sizes() -> None:
    msg = simple()
    msg.add_attachment(b"x" * 1_600_000, maintype="image", subtype="png", filename="a.png")
    parsed = parse(msg, limit=1_000_000)
    assert parsed.attachments[0].dropped_reason == "larger than the 1.0 MB limit (1.6 MB)"


def test_inline_image_has_its_content_id() -> None:
    msg = simple()
    msg.add_alternative('<p>Logo: <img src="cid:logo123@example.com"></p>', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(
        b"\x89PNG fake", maintype="image", subtype="png", cid="<logo123@example.com>"
    )
    parsed = parse(msg)
    (image,) = parsed.attachments
    assert image.content_id == "logo123@example.com"
    assert image.inline is True
    assert image.content_type == "image/png"
    assert image.filename == "attachment-1.png"
    assert 'data-cid="logo123@example.com"' in parsed.html


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("re\x00port\x07.pdf", "report.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("..", "attachment-2.pdf"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_filenames_are_sanitised(filename: str, expected: str) -> None:
    msg = simple()
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="first.pdf")
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename=filename)
    assert parse(msg).attachments[1].filename == expected


def test_encoded_filenames_are_decoded() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf\r\n"
        b"\r\nJVBERg==\r\n--b\r\n"
        b'Content-Type: application/pdf; name="=?utf-8?q?R=C3=A9sum=C3=A9.pdf?="\r\n'
        b"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\nJVBERg==\r\n--b--\r\n"
    )
    parsed = parse(raw)
    assert [a.filename for a in parsed.attachments] == ["Grüße.pdf", "Résumé.pdf"]
    assert parsed.attachments[1].data == b"%PDF"


def test_forwarded_message_is_an_attachment_not_the_body() -> None:
    inner = simple(Subject="Original question")
    inner.set_content("Inner body.\n")
    outer = simple(Subject="Fwd: Original question")
    outer.set_content("See below.\n")
    outer.add_attachment(inner)
    parsed = parse(outer)
    assert parsed.text == "See below.\n"
    (attachment,) = parsed.attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.filename == "Original question.eml"
    assert attachment.data is not None
    assert b"Inner body." in attachment.data
    assert attachment.size == len(attachment.data)


def test_large_message_from_a_file_is_not_held_many_times() -> None:
    """A ~25 MB message parsed from a file peaks below 4x its size."""
    msg = simple()
    for number in range(3):
        msg.add_attachment(
            os.urandom(6_000_000),
            maintype="application",
            subtype="octet-stream",
            filename=f"part{number}.bin",
        )
    raw = msg.as_bytes()
    del msg
    assert len(raw) > 24_000_000
    tracemalloc.start()
    try:
        parsed = parse_message(io.BytesIO(raw), attachment_max_bytes=LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ratio = peak / len(raw)
    print(f"tracemalloc peak = {ratio:.2f} x message size")  # shown with -s
    assert ratio < 4
    assert [a.size for a in parsed.attachments] == [6_000_000] * 3
    assert all(a.data is not None for a in parsed.attachments)


# ---------------------------------------------------------------------------
# Automatic mail


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, "Auto-Submitted: auto-generated"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "List"}, "Precedence: list"),
        ({"Precedence": "junk"}, "Precedence: junk"),
        ({"X-Autoreply": "yes"}, "X-Autoreply"),
        ({"X-Autorespond": "Out of office"}, "X-Autorespond"),
        ({"List-Id": "<news.example.com>"}, "List-Id"),
        ({"List-Unsubscribe": "<mailto:unsub@example.com>"}, "List-Unsubscribe"),
        ({"From": "MAILER-DAEMON@example.com"}, "from MAILER-DAEMON"),
        ({"From": "Mail System <PostMaster@example.com>"}, "from postmaster"),
        ({"Return-Path": "<>"}, "Return-Path: <> (null sender)"),
    ],
)
def test_auto_reason(headers: dict[str, str], reason: str) -> None:
    msg = simple(**{name.replace("-", "_"): value for name, value in headers.items()})
    assert parse(msg).auto_reason.startswith(reason)


def test_auto_submitted_no_is_a_human() -> None:
    assert parse(simple(Auto_Submitted="no", Precedence="first-class")).auto_reason == ""


# ---------------------------------------------------------------------------
# Delivery reports


def rfc3464(action: str, status: str) -> bytes:
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        b"To: help@example.org\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
        b"--r\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; <Gone@Example.net>\r\n"
        b"Action: " + action.encode() + b"\r\nStatus: " + status.encode() + b"\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>:\r\n"
        b"  Recipient address rejected\r\n\r\n"
        b"Final-Recipient: rfc822; fine@example.net\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
        b"\r\n--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <sent-by-us@example.org>\r\nTo: gone@example.net\r\n\r\n--r--\r\n"
    )


def test_rfc3464_failure() -> None:
    parsed = parse(rfc3464("failed", "5.1.1"))
    assert parsed.report is not None
    assert parsed.report.failed_recipients == ["gone@example.net"]
    assert parsed.report.status == "5.1.1"
    assert parsed.report.diagnostic == "550 5.1.1 <gone@example.net>: Recipient address rejected"
    assert parsed.report.original_message_id == "<sent-by-us@example.org>"
    assert parsed.report.delayed is False
    assert parsed.auto_reason == "from MAILER-DAEMON"
    assert parsed.text == "Sorry."


def test_rfc3464_delay_is_a_warning() -> None:
    parsed = parse(rfc3464("delayed", "4.4.7"))
    assert parsed.report is not None
    assert parsed.report.delayed is True
    assert parsed.report.failed_recipients == []
    assert parsed.report.status == "4.4.7"


def test_nonstandard_bounce_with_x_failed_recipients() -> None:
    raw = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        b"X-Failed-Recipients: Someone@Example.com\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\n\r\n"
        b"Delivery to the following recipient failed permanently:\r\n\r\n"
        b"     someone@example.com\r\n\r\n"
        b"550 5.1.1 The email account does not exist.\r\n\r\n"
        b"----- Original message -----\r\n\r\n"
        b"Message-ID: <ours@example.org>\r\nTo: someone@example.com\r\nSubject: Hi\r\n\r\nHi\r\n"
    )
    parsed = parse(raw)
    assert parsed.report is not None
    assert parsed.report.failed_recipients == ["someone@example.com"]
    assert parsed.report.original_message_id == "<ours@example.org>"
    assert parsed.report.status == "5.1.1"


def test_postmaster_without_bounce_subject_is_not_a_report() -> None:
    parsed = parse(simple(From="postmaster@example.com", Subject="New spam policy"))
    assert parsed.report is None
    assert parsed.auto_reason == "from postmaster"


# ---------------------------------------------------------------------------
# Quoted replies and signatures


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, done.\n\nOn Tue, Jul 10, 2012 at 6:06 AM, Bob <bob@example.com> wrote:\n> old\n",
        "Thanks, done.\n\nOn Tue, Jul 10, 2012 at 6:06 AM, Bob Example\n<bob@example.com> wrote:\n"
        "> old\n> older\n",
        "Thanks, done.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n\nold text\n",
        "Thanks, done.\n\n________________________________\nFrom: Bob <bob@example.com>\n"
        "Sent: Monday, July 9, 2012 10:00 AM\nTo: Alice\nSubject: Re: x\n\nold text\n",
        "Thanks, done.\n\nFrom: Bob <bob@example.com>\nDate: Monday, 9 July 2012\n"
        "Subject: x\n\nold text\n",
        "Thanks, done.\n\nAm 10.07.2012 um 06:06 schrieb Bob Example <bob@example.com>:\n\n> alt\n",
        "Thanks, done.\n\nLe 10 juil. 2012 à 06:06, Bob <bob@example.com> a écrit :\n> ancien\n",
        "Thanks, done.\n\nLe mar. 10 juil. 2012 à 06:06, Bob Example <bob@example.com>\na écrit :\n"
        "> ancien\n",
        "Thanks, done.\n\n> old\n> older\n\n",
        "Thanks, done.\n\n-- \nAlice Example\nACME Ltd.\n",
        "Thanks, done.\n--\nAlice\n",
        "Thanks, done.\n\nSent from my iPhone\n\n> On 9 Jul, Bob wrote:\n> old\n",
        "Thanks, done.\n\nGet Outlook for iOS\n________________________________\nFrom: Bob\n",
    ],
)
def test_strip_quoted_patterns(text: str) -> None:
    assert strip_quoted(text) == "Thanks, done."


def test_strip_quoted_keeps_interleaved_answers() -> None:
    text = (
        "Hi Bob,\n\nOn Mon, Bob <bob@example.com> wrote:\n"
        "> Can you come on Tuesday?\n"
        "Yes, at ten.\n"
        "> And bring the invoice?\n"
        "Attached.\n\n"
        "> Thanks\n> Bob\n\n-- \nAlice\n"
    )
    result = strip_quoted(text)
    assert "Yes, at ten." in result
    assert "Attached." in result
    assert "> Can you come on Tuesday?" in result
    assert "> Thanks" not in result
    assert "Alice" not in result.split("Attached.")[1]


def test_strip_quoted_never_returns_empty() -> None:
    assert strip_quoted("> only a quote\n> here\n") == "> only a quote\n> here"
    assert strip_quoted("-- \nonly a signature") == "-- \nonly a signature"
    assert strip_quoted("") == ""


def test_strip_quoted_keeps_text_that_merely_mentions_from() -> None:
    text = "From: the start, this was broken.\nPlease fix.\n"
    assert strip_quoted(text) == "From: the start, this was broken.\nPlease fix."


def test_visible_text_of_a_reply() -> None:
    msg = simple()
    msg.set_content("Fixed now.\n\nOn Mon, 9 Jul 2012, Help <help@example.org> wrote:\n> Is it?\n")
    parsed = parse(msg)
    assert parsed.visible_text == "Fixed now."
    assert "> Is it?" in parsed.text


# ---------------------------------------------------------------------------
# Never raises


def test_empty_input() -> None:
    parsed = parse(b"")
    assert parsed.message_id == ""
    assert parsed.text == ""
    assert parsed.attachments == []


def test_no_headers_at_all() -> None:
    parsed = parse(b"\r\nJust a body, no headers.\r\n")
    assert parsed.subject == ""
    assert parsed.from_email == ""
    assert "Just a body" in parsed.text
    assert parsed.visible_text == "Just a body, no headers."


def test_body_without_blank_line_is_read() -> None:
    parsed = parse(b"this is not a header line at all\nsecond line\n")
    assert isinstance(parsed.text, str)


def test_binary_garbage_never_raises() -> None:
    for _ in range(20):
        parsed = parse(os.urandom(4096))
        assert len(parsed.defects) <= 20
        parsed.text.encode("utf-8")
        parsed.subject.encode("utf-8")


def test_broken_multipart_keeps_other_parts() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nfirst\r\n--b\r\n"
        b'Content-Type: application/octet-stream; name="x.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64@@@\r\n--b\r\n"
        b"Content-Type: image/png\r\nContent-Disposition: attachment; filename=ok.png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n"
    )  # no closing boundary either
    parsed = parse(raw)
    assert parsed.text.strip() == "first"
    assert "ok.png" in [a.filename for a in parsed.attachments]
    assert parsed.defects


def test_defects_are_capped() -> None:
    parts = b"".join(
        b"--b\r\nContent-Type: text/plain; charset=bogus-%d\r\n"
        b"Content-Disposition: attachment\r\n\r\n\xff\r\n" % number
        for number in range(40)
    )
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + parts
    parsed = parse(raw)
    assert 0 < len(parsed.defects) <= 20
    assert len(parsed.defects) == len(set(parsed.defects))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_parse_never_raises_on_any_bytes(raw: bytes) -> None:
    parse_message(raw, attachment_max_bytes=1000)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_strip_quoted_keeps_something(text: str) -> None:
    result = strip_quoted(text)
    if text.strip():
        assert result
