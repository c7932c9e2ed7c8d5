"""The parser against public mail corpora: real-world mess never makes it raise.

The corpora (CPython's email test messages, flanker's fixtures and two
SpamAssassin folders) sit next to the checkout in ``../shared/corpora/email``;
the tests skip when they are absent.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from goodwill.mailgate.parsing import DeliveryReport, ParsedMessage, parse_message

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "email"
NOT_MESSAGES = {".wav", ".png", ".jpg", ".gif", ".pdf"}

pytestmark = pytest.mark.skipif(
    not CORPORA.is_dir(),
    reason=f"../shared/corpora/email is absent: no corpus at {CORPORA}",
)

# Anything that would run script or fetch a remote resource without a click.
UNSAFE_HTML = {
    "<script": re.compile(r"<script", re.IGNORECASE),
    "an on* event handler": re.compile(r"\son\w+\s*=", re.IGNORECASE),
    "javascript:": re.compile(r"javascript:", re.IGNORECASE),
    # data-remote-src="http…" is the click-to-load address, not a src.
    'src="http': re.compile(r"(?<![-\w])src\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE),
}


def corpus_files() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    files = [
        *sorted(CORPORA.glob("cpython/msg_*.txt")),
        *sorted(CORPORA.glob("flanker/**/*.eml")),
        *sorted((CORPORA / "spamassassin" / "easy-ham-1").glob("*")),
        *sorted((CORPORA / "spamassassin" / "spam-1").glob("*")),
    ]
    return [
        path
        for path in files
        if path.is_file()
        and not path.name.upper().startswith("LICENSE")
        and path.suffix.lower() not in NOT_MESSAGES
    ]


@cache
def parsed_corpus() -> dict[Path, ParsedMessage | Exception]:
    """Every corpus message parsed once, shared by the tests below."""
    results: dict[Path, ParsedMessage | Exception] = {}
    for path in corpus_files():
        try:
            results[path] = parse_message(path.read_bytes(), attachment_max_bytes=25_000_000)
        except Exception as exc:  # recorded and reported by the first test
            results[path] = exc
    return results


def test_every_corpus_message_parses() -> None:
    """No message in any corpus makes the parser raise."""
    results = parsed_corpus()
    assert len(results) > 3000
    failures = {
        str(path.relative_to(CORPORA)): repr(result)
        for path, result in results.items()
        if isinstance(result, Exception)
    }
    assert failures == {}


def test_corpus_results_are_storable_text() -> None:
    """Subjects and bodies are valid Unicode without NUL (PostgreSQL would refuse both)."""
    for path, result in parsed_corpus().items():
        assert isinstance(result, ParsedMessage), path
        for value in (result.subject, result.text, result.html, result.from_name):
            value.encode("utf-8")
            assert "\x00" not in value, path
        assert len(result.defects) <= 20, path
        if result.text.strip():
            assert result.visible_text, path


def test_every_bounce_is_a_report() -> None:
    bounces = sorted((CORPORA / "flanker" / "bounce").glob("*.eml"))
    assert bounces
    results = parsed_corpus()
    for path in bounces:
        result = results[path]
        assert isinstance(result, ParsedMessage), path
        assert result.report is not None, path.name
        assert result.auto_reason, path.name


def test_bounce_details() -> None:
    """What the RFC 3464 and the common non-standard bounces in the corpus say."""
    results = parsed_corpus()

    def report(name: str) -> DeliveryReport:
        result = results[CORPORA / "flanker" / "bounce" / name]
        assert isinstance(result, ParsedMessage)
        assert result.report is not None
        return result.report

    full = report("mailbox-full.eml")
    assert full.failed_recipients == ["user@aol.com"]
    assert full.status == "5.2.2"
    assert full.diagnostic == "552 5.2.2 E4.12 user MAILBOX FULL"
    assert full.original_message_id == "<4E326A95.3010907@example.com>"

    no_mx = report("no-mx.eml")
    assert no_mx.delayed is True
    assert no_mx.failed_recipients == []
    assert no_mx.original_message_id == "<19E44CA63F984902B7D654F8FF40F89D@bo>"

    # Both say "Action: failed" (with a 4.x.x status): a failure by RFC 3464.
    assert report("delayed.eml").failed_recipients == ["foo@example.com"]
    assert report("delayed.eml").status == "4.0.0"
    assert report("delayed-broken.eml").failed_recipients == ["demo@example.com"]

    gmail = report("gmail-invalid-address.eml")
    assert gmail.failed_recipients == ["awfawfawfawfawfaw@someserverhere.com"]
    assert gmail.status == "5.1.0"
    assert gmail.original_message_id == (
        "<CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com>"
    )
    assert report("gmail-no-dns.eml").failed_recipients == ["user@example.comm"]
    assert report("broken-mime.eml").failed_recipients == ["info@example.net"]

    office = report("office365.eml")
    assert office.failed_recipients == ["noname@example.com"]
    assert office.status == "5.1.10"
    assert office.original_message_id == "<20171013111011.20866.254C2F3A4D7AA526@ninomail.com>"

    assert report("zed.eml").original_message_id == "<20090708054735.GC7578@example.com>"


def test_ordinary_mail_is_not_a_report() -> None:
    """Only the three real bounces relayed by a list are reports among the easy ham."""
    bounces = []
    for path, result in parsed_corpus().items():
        if "easy-ham-1" in path.parts:
            assert isinstance(result, ParsedMessage)
            if result.report is not None:
                assert result.from_email.split("@")[0] in ("mailer-daemon", "postmaster")
                bounces.append(path.name[:5])
    assert sorted(bounces) == ["01436", "01507", "01542"]


def test_spam_html_is_inert() -> None:
    """The sanitised HTML of every spam message runs nothing and loads nothing."""
    problems: list[str] = []
    for path, result in parsed_corpus().items():
        if "spam-1" not in path.parts or not isinstance(result, ParsedMessage):
            continue
        for label, pattern in UNSAFE_HTML.items():
            if pattern.search(result.html):
                problems.append(f"{path.name}: {label}")
    assert problems == []
