"""The whole round trip through real servers, once per door.

A customer writes (through the pipe, the SMTP listener or an IMAP mailbox in a
real Dovecot); the gateway opens a case and the acknowledgement reaches an SMTP
sink; the customer answers the acknowledgement and the answer lands on the same
case; staff answer, in the web UI's service or by email with a command, and the
answer reaches the customer threaded under their last message.
"""

from __future__ import annotations

import email.policy
import io
import re
import smtplib
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import cast

import pytest
from django_tasks_db.models import DBTaskResult

from goodwill.accounts.models import User
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, CaseState, OutboundMessage, Section
from goodwill.cases.selectors import case_timeline_page
from goodwill.mailgate import pipe
from goodwill.mailgate.imap import mailbox_poll
from goodwill.mailgate.models import InboundMessage, Mailbox
from goodwill.mailgate.outbound import outbox_flush
from goodwill.mailgate.pipeline import inbound_process
from goodwill.mailgate.smtpd import smtpd_controller
from goodwill.mailgate.tasks import inbound_process_task
from goodwill.partners.models import TimelineEntry
from tests.factories import SectionFactory
from tests.mailgate.dovecot import Dovecot
from tests.mailgate.mail import make_mail
from tests.mailgate.smtp_sink import Received, SmtpSink, free_port

Status = InboundMessage.Status
CUSTOMER = "pat@customer.example"
SUPPORT = "support@acme.example"

# One door: takes a message's bytes, returns the stored (not yet processed) row.
Door = Callable[[bytes], InboundMessage]


@pytest.fixture
def support(bob: User) -> Section:
    bob.email = "bob@acme.example"
    bob.save()
    return cast(
        Section, SectionFactory(name="Support", code="SUPPORT", email=SUPPORT, responsible=bob)
    )


def crlf(message: EmailMessage) -> bytes:
    """The bytes as they travel over SMTP and come back from IMAP (CRLF line ends)."""
    return message.as_bytes(policy=email.policy.SMTP)


def question() -> EmailMessage:
    return make_mail(
        sender=f"Pat Customer <{CUSTOMER}>",
        to=SUPPORT,
        subject="The pump is leaking",
        body="Hello,\n\nour pump leaks since Monday.\n\nPat",
        message_id=f"<q-{uuid.uuid4().hex[:8]}@customer.example>",
    )


def to(received: list[Received], address: str) -> list[Received]:
    return [r for r in received if r.rcpt_tos == [address]]


def email_in_bodies(case: Case) -> list[str]:
    """The case's received messages, as its timeline shows them, oldest first."""
    entries = case_timeline_page(case=case, cursor=None).items
    return [e.body for e in reversed(entries) if e.kind == TimelineEntry.Kind.EMAIL_IN]


def customer_writes_and_is_acknowledged(
    door: Door, sink: SmtpSink
) -> tuple[Case, EmailMessage, Received]:
    """The first message opens a case; its acknowledgement reaches the customer."""
    first = question()
    raw = crlf(first)
    stored = door(raw)
    assert stored.status == Status.RECEIVED
    assert stored.raw.open("rb").read() == raw
    message = inbound_process(stored)
    assert message.status == Status.PROCESSED, message.reason
    case = message.case
    assert case is not None
    assert (case.subject, case.requester_email) == ("The pump is leaking", CUSTOMER)

    assert outbox_flush() == 2  # the acknowledgement, and bob's notice
    (ack,) = to(sink.wait_for(2), CUSTOMER)
    mail = ack.message
    n = case.number
    assert mail["To"] == CUSTOMER
    assert mail["Subject"].startswith(f"[#{n}] ")
    assert re.fullmatch(rf"<gw\.c{n}\.[0-9a-f]+@[^<>@\s]+>", mail["Message-ID"])
    assert mail["Reply-To"] == f"support+c{n}@acme.example"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["In-Reply-To"] == first["Message-ID"]
    assert OutboundMessage.objects.get(case=case, kind="ack").message_id == mail["Message-ID"]
    return case, first, ack


def customer_answers(ack: Received, body: str) -> EmailMessage:
    """The customer's mail program answers the acknowledgement (to its Reply-To)."""
    return make_mail(
        sender=f"Pat Customer <{CUSTOMER}>",
        to=ack.message["Reply-To"],
        subject="Re: " + ack.message["Subject"],
        body=body,
        in_reply_to=ack.message["Message-ID"],
        references=ack.message["Message-ID"],
        message_id=f"<a-{uuid.uuid4().hex[:8]}@customer.example>",
    )


def answer_lands_on_the_case(door: Door, case: Case, ack: Received) -> EmailMessage:
    answer = customer_answers(ack, "It is the seal at the front.\n\nPat")
    message = inbound_process(door(crlf(answer)))
    assert message.status == Status.PROCESSED, message.reason
    assert message.case == case
    assert Case.objects.count() == 1
    bodies = email_in_bodies(case)
    assert len(bodies) == 2
    assert "our pump leaks since Monday" in bodies[0]
    assert "It is the seal at the front" in bodies[1]
    return answer


def staff_answer_reaches_the_customer(
    sink: SmtpSink, case: Case, first: EmailMessage, ack: Received, answer: EmailMessage
) -> Received:
    """The staff reply goes to the customer, under their last message, with the thread."""
    before = len(sink.messages)
    sent = outbox_flush()
    assert sent >= 1
    received = to(sink.wait_for(before + sent), CUSTOMER)
    assert len(received) == 2, [r.message["Subject"] for r in received]
    reply = received[-1].message
    assert reply["To"] == CUSTOMER
    assert reply["Subject"] == f"[#{case.number}] The pump is leaking"
    assert reply["Auto-Submitted"] is None
    assert reply["In-Reply-To"] == answer["Message-ID"]
    references = reply["References"].split()
    for message_id in (first["Message-ID"], ack.message["Message-ID"], answer["Message-ID"]):
        assert message_id in references
    assert references[-1] == answer["Message-ID"]
    return received[-1]


# --------------------------------------------------------------------------
# The pipe


@pytest.mark.django_db(transaction=True)
def test_round_trip_through_the_pipe(smtp_sink: SmtpSink, support: Section, bob: User) -> None:
    """Pipe → task → case and acknowledgement → the customer's answer threads
    back → a reply written in Goodwill reaches the customer under that answer."""

    def door(raw: bytes) -> InboundMessage:
        before = set(InboundMessage.objects.values_list("pk", flat=True))
        assert pipe.main(["--section", "SUPPORT"], stdin=io.BytesIO(raw)) == pipe.EX_OK
        (stored,) = InboundMessage.objects.exclude(pk__in=before)
        assert (stored.source, stored.section) == (InboundMessage.Source.PIPE, support)
        # Its processing is queued for the worker.
        assert DBTaskResult.objects.filter(
            task_path__endswith="inbound_process_task", args_kwargs__args=[stored.pk]
        ).exists()
        return stored

    def door_and_task(raw: bytes) -> InboundMessage:
        stored = door(raw)
        assert inbound_process_task.call(stored.pk) == Status.PROCESSED
        stored.refresh_from_db()
        return stored

    case, first, ack = customer_writes_and_is_acknowledged(door, smtp_sink)
    answer = answer_lands_on_the_case(door_and_task, case, ack)

    case_services.case_reply(case=case, by=bob, body="A technician comes on Friday.")
    reply = staff_answer_reaches_the_customer(smtp_sink, case, first, ack, answer)
    body = reply.message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "A technician comes on Friday."


# --------------------------------------------------------------------------
# The SMTP listener


@pytest.fixture
def smtp_door(transactional_db: None) -> Iterator[int]:
    port = free_port()
    controller = smtpd_controller("127.0.0.1", port, max_size=10_000_000)
    controller.start()
    yield port
    controller.stop()


@pytest.mark.django_db(transaction=True)
def test_round_trip_through_the_smtp_listener(
    smtp_sink: SmtpSink, support: Section, bob: User, smtp_door: int
) -> None:
    """SMTP → case and acknowledgement → the customer's answer threads back →
    bob answers by email with a command; the answer reaches the customer."""

    def door(raw: bytes) -> InboundMessage:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        recipient = str(parsed["To"])
        before = set(InboundMessage.objects.values_list("pk", flat=True))
        with smtplib.SMTP("127.0.0.1", smtp_door, timeout=10) as client:
            refused = client.sendmail(str(parsed["From"]), [recipient], raw)
        assert refused == {}
        (stored,) = InboundMessage.objects.exclude(pk__in=before)
        assert stored.source == InboundMessage.Source.SMTP
        assert stored.envelope_to == [recipient.lower()]
        return stored

    case, first, ack = customer_writes_and_is_acknowledged(door, smtp_sink)
    answer = answer_lands_on_the_case(door, case, ack)

    # bob answers the notice he received about the customer's answer.
    assert outbox_flush() == 1
    notices = to(smtp_sink.wait_for(3), "bob@acme.example")
    assert len(notices) == 2
    notice = notices[-1].message
    assert notice["In-Reply-To"] == answer["Message-ID"]
    staff_mail = make_mail(
        sender="Bob <bob@acme.example>",
        to=notice["Reply-To"],
        subject="Re: " + notice["Subject"],
        body="Set-State: pending\n\nA technician comes on Friday.\n\nBob",
        in_reply_to=notice["Message-ID"],
        message_id=f"<bob-{uuid.uuid4().hex[:8]}@acme.example>",
    )
    message = inbound_process(door(crlf(staff_mail)))
    assert message.status == Status.PROCESSED, message.reason
    assert message.case == case
    assert "1 of 1 commands applied" in message.reason
    case.refresh_from_db()
    assert case.state == CaseState.PENDING

    reply = staff_answer_reaches_the_customer(smtp_sink, case, first, ack, answer)
    assert staff_mail["Message-ID"] not in reply.message["References"]
    body = reply.message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "A technician comes on Friday." in body.get_content()
    assert "Set-State" not in body.get_content()


# --------------------------------------------------------------------------
# IMAP


@pytest.mark.django_db(transaction=True)
def test_round_trip_through_an_imap_mailbox(
    smtp_sink: SmtpSink, support: Section, bob: User, dovecot: Dovecot
) -> None:
    """IMAP (a real Dovecot) → case and acknowledgement → the customer's answer,
    also fetched from the mailbox, threads back → a reply reaches the customer."""
    folder = f"R{uuid.uuid4().hex[:12]}"
    mailbox = Mailbox.objects.create(
        name="Support inbox",
        host=dovecot.host,
        port=dovecot.port,
        security=Mailbox.Security.NONE,
        username=dovecot.user,
        password=dovecot.password,
        folder=folder,
        section=support,
        after=Mailbox.After.FLAG,
    )

    def door(raw: bytes) -> InboundMessage:
        dovecot.append(raw, folder)
        result = mailbox_poll(mailbox)
        assert (result.fetched, result.duplicates) == (1, 0), result
        stored = InboundMessage.objects.filter(mailbox=mailbox).latest("pk")
        assert (stored.source, stored.section) == (InboundMessage.Source.IMAP, support)
        return stored

    case, first, ack = customer_writes_and_is_acknowledged(door, smtp_sink)
    answer = answer_lands_on_the_case(door, case, ack)

    case_services.case_reply(case=case, by=bob, body="A technician comes on Friday.")
    staff_answer_reaches_the_customer(smtp_sink, case, first, ack, answer)
    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 2
