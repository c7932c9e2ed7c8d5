"""The SMTP/LMTP door: aiosmtpd on a free port, smtplib as the client.

The server runs in its own thread with its own database connection, so these
tests use transactional databases. Also here: section_for_address, which the
door asks at RCPT time, and the ``goodwill smtpd`` command.
"""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from goodwill.cases.models import Section
from goodwill.mailgate import smtpd
from goodwill.mailgate.addresses import section_for_address
from goodwill.mailgate.models import InboundAddress, InboundMessage
from goodwill.mailgate.smtpd import smtpd_controller
from tests.factories import SectionFactory

ROOT = Path(__file__).resolve().parents[2]
MAX_SIZE = 20_000

RAW = (
    b"From: Ann Example <ann@example.com>\r\n"
    b"To: help@example.org\r\n"
    b"Subject: Printer on fire\r\n"
    b"Message-ID: <fire.1@example.com>\r\n"
    b"Date: Tue, 04 Mar 2025 10:00:00 +0000\r\n"
    b"\r\n"
    b"Hello,\r\n"
    b".a line that starts with a dot survives SMTP's dot-stuffing\r\n"
    b"  trailing spaces too  \r\n"
    b"Bye\r\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_raw(message: InboundMessage) -> bytes:
    with message.raw.open("rb") as handle:
        return handle.read()


@pytest.fixture
def help_section(transactional_db: None) -> Section:
    return SectionFactory(code="HELP", email="help@example.org")


@pytest.fixture
def smtp_port(transactional_db: None) -> Iterator[int]:
    port = free_port()
    controller = smtpd_controller("127.0.0.1", port, max_size=MAX_SIZE)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def lmtp_port(transactional_db: None) -> Iterator[int]:
    port = free_port()
    controller = smtpd_controller("127.0.0.1", port, lmtp=True, max_size=MAX_SIZE)
    controller.start()
    yield port
    controller.stop()


def send(port: int, to: list[str], raw: bytes = RAW) -> dict[str, Any]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail("ann@example.com", to, raw)


# --------------------------------------------------------------------------
# SMTP


def test_unknown_recipient_is_refused_at_rcpt(help_section: Section, smtp_port: int) -> None:
    """A recipient of no section: 550 5.1.1, and nothing is stored."""
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_port, ["nobody@example.org"])

    code, text = refused.value.recipients["nobody@example.org"]
    assert code == 550
    assert text == b"5.1.1 <nobody@example.org>: no such recipient here"
    assert not InboundMessage.objects.exists()


def test_message_is_stored_byte_for_byte(help_section: Section, smtp_port: int) -> None:
    """An accepted message is stored exactly as sent (CRLFs, leading dots, trailing
    spaces), from SMTP, in the recipient's section."""
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("ann@example.com")
        client.rcpt("help@example.org")
        code, text = client.data(RAW)

    message = InboundMessage.objects.get()
    assert (code, text) == (250, f"2.0.0 Stored as inbound #{message.pk}".encode())
    assert read_raw(message) == RAW
    assert message.source == InboundMessage.Source.SMTP
    assert message.section == help_section
    assert message.envelope_to == ["help@example.org"]
    assert message.message_id == "<fire.1@example.com>"


def test_plus_address_and_case_are_accepted(help_section: Section, smtp_port: int) -> None:
    """help+c1042@ and HELP@EXAMPLE.ORG both reach the help section."""
    assert send(smtp_port, ["Help+c1042@Example.org", "HELP@EXAMPLE.ORG"]) == {}

    message = InboundMessage.objects.get()
    assert message.section == help_section
    assert message.envelope_to == ["help+c1042@example.org", "help@example.org"]


def test_inbound_address_is_accepted(help_section: Section, smtp_port: int) -> None:
    """An InboundAddress delivers to its section."""
    sales = SectionFactory(code="SALES")
    InboundAddress.objects.create(address="orders@example.org", section=sales)

    send(smtp_port, ["orders@example.org"])

    assert InboundMessage.objects.get().section == sales


def test_good_and_bad_recipients_together(help_section: Section, smtp_port: int) -> None:
    """The unknown recipient is refused, the message is stored for the known one."""
    refused = send(smtp_port, ["help@example.org", "nobody@example.org"])

    assert refused["nobody@example.org"][0] == 550
    assert InboundMessage.objects.get().envelope_to == ["help@example.org"]


def test_same_message_twice_is_stored_once(help_section: Section, smtp_port: int) -> None:
    """A retry of the same message (same bytes and Message-ID) is accepted, not duplicated."""
    send(smtp_port, ["help@example.org"])
    send(smtp_port, ["help@example.org"])

    assert InboundMessage.objects.count() == 1


def test_oversize_announced_in_mail_from_is_refused(help_section: Section, smtp_port: int) -> None:
    """A client that announces SIZE over the limit is refused with 552 at MAIL FROM."""
    big = RAW + (b"x" * 78 + b"\r\n") * (MAX_SIZE // 80 + 1)

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(smtp_port, ["help@example.org"], big)

    assert refused.value.smtp_code == 552
    assert not InboundMessage.objects.exists()


def test_oversize_data_is_refused(help_section: Section, smtp_port: int) -> None:
    """A client that does not announce the size gets 552 after its DATA."""
    big = RAW + (b"x" * 78 + b"\r\n") * (MAX_SIZE // 80 + 1)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("ann@example.com")
        client.rcpt("help@example.org")
        code, _text = client.data(big)

    assert code == 552
    assert not InboundMessage.objects.exists()


def test_storage_failure_is_a_temporary_error(
    help_section: Section, smtp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the message cannot be stored, the client hears 451 4.3.0 and keeps it."""

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(smtpd, "inbound_receive", broken)

    with pytest.raises(smtplib.SMTPDataError) as failed:
        send(smtp_port, ["help@example.org"])

    assert failed.value.smtp_code == 451
    assert failed.value.smtp_error == b"4.3.0 Temporary failure, try again later"
    assert not InboundMessage.objects.exists()


def test_recipient_lookup_failure_is_a_temporary_error(
    help_section: Section, smtp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the recipient cannot be looked up (database down), RCPT gets 451, not 550."""

    def broken(address: str) -> None:
        raise RuntimeError("database is down")

    monkeypatch.setattr(smtpd, "section_for_address", broken)

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_port, ["help@example.org"])

    assert refused.value.recipients["help@example.org"][0] == 451


# --------------------------------------------------------------------------
# LMTP


def test_lmtp_stores_a_message(help_section: Section, lmtp_port: int) -> None:
    """Over LMTP the message is stored the same way, byte for byte."""
    with smtplib.LMTP("127.0.0.1", lmtp_port) as client:
        assert client.sendmail("ann@example.com", ["help@example.org"], RAW) == {}

    message = InboundMessage.objects.get()
    assert read_raw(message) == RAW
    assert message.source == InboundMessage.Source.SMTP
    assert message.section == help_section


def test_lmtp_answers_once_per_recipient(help_section: Section, lmtp_port: int) -> None:
    """LMTP gives one reply per accepted recipient after DATA (RFC 2033)."""
    with smtplib.LMTP("127.0.0.1", lmtp_port) as client:
        client.ehlo_or_helo_if_needed()
        client.mail("ann@example.com")
        client.rcpt("help@example.org")
        client.rcpt("help+x@example.org")
        first = client.data(RAW)
        second = client.getreply()

    pk = InboundMessage.objects.get().pk
    assert first == second == (250, f"2.0.0 Stored as inbound #{pk}".encode())


def test_lmtp_refuses_unknown_recipients(help_section: Section, lmtp_port: int) -> None:
    """LMTP refuses unknown recipients like SMTP does."""
    with (
        smtplib.LMTP("127.0.0.1", lmtp_port) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.sendmail("ann@example.com", ["nobody@example.org"], RAW)


# --------------------------------------------------------------------------
# section_for_address


@pytest.mark.django_db
def test_section_for_address() -> None:
    """Lower-cased, +token removed, section emails and inbound addresses, active only."""
    helpdesk = SectionFactory(email="Help@Example.org")
    sales = SectionFactory(email="")
    InboundAddress.objects.create(address="orders@example.org", section=sales)
    SectionFactory(email="old@example.org", active=False)

    assert section_for_address("help@example.org") == helpdesk
    assert section_for_address("HELP@EXAMPLE.ORG") == helpdesk
    assert section_for_address("help+c1042@example.org") == helpdesk
    assert section_for_address("<help+c1042@example.org>") == helpdesk
    assert section_for_address("Orders+eu@Example.org") == sales
    assert section_for_address("old@example.org") is None
    assert section_for_address("help@example.com") is None
    assert section_for_address("") is None
    assert section_for_address("help") is None


@pytest.mark.django_db
def test_an_exact_plus_address_wins_over_its_base() -> None:
    """An inbound address with a +token of its own beats the base address's section."""
    helpdesk = SectionFactory(email="help@example.org")
    billing = SectionFactory()
    InboundAddress.objects.create(address="help+billing@example.org", section=billing)

    assert section_for_address("help+billing@example.org") == billing
    assert section_for_address("help+other@example.org") == helpdesk


# --------------------------------------------------------------------------
# goodwill smtpd


@pytest.mark.parametrize(
    ("bind", "message"),
    [
        ("2525", "--bind must be HOST:PORT"),
        (":2525", "--bind must be HOST:PORT"),
        ("127.0.0.1:smtp", "the port must be a number"),
        ("127.0.0.1:70000", "the port must be between 1 and 65535"),
    ],
)
def test_smtpd_command_refuses_a_bad_bind(bind: str, message: str) -> None:
    """A malformed --bind is a usage error that says what is expected."""
    with pytest.raises(CommandError, match=message):
        call_command("smtpd", bind=bind)


def test_smtpd_command_refuses_a_bad_max_size() -> None:
    """--max-size must be at least 1 MB."""
    with pytest.raises(CommandError, match="--max-size must be at least 1"):
        call_command("smtpd", bind="127.0.0.1:2525", max_size=0)


def test_smtpd_command_reports_a_busy_port() -> None:
    """A port already taken is a usage error naming it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Could not listen on 127.0.0.1:{port}"):
            call_command("smtpd", bind=f"127.0.0.1:{port}")


def test_smtpd_command_listens_until_sigterm() -> None:
    """The command says where it listens, answers SMTP, and stops cleanly on SIGTERM."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "goodwill.cli", "smtpd", "--bind", f"127.0.0.1:{port}", "--lmtp"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or (not lines[-1].startswith("Listening") and len(lines) < 20):
            lines.append(process.stdout.readline().decode())  # aiosmtpd logs first
        assert lines[-1].startswith(f"Listening for LMTP on 127.0.0.1:{port} (messages up to ")
        with smtplib.LMTP("127.0.0.1", port) as client:
            assert client.ehlo()[0] == 250
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert output.decode().strip().endswith("Stopped.")
