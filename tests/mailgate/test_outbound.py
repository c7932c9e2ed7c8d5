"""The outbox sender (goodwill.mailgate.outbound), the local mail backend, and
the outbox and local mailbox pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.cases import services
from goodwill.cases.models import Case, OutboundMessage, Section
from goodwill.lib import events
from goodwill.lib.env import email_from_url
from goodwill.mailgate import outbound
from goodwill.mailgate.backends import LocalMailBackend
from goodwill.mailgate.models import LocalMail
from goodwill.mailgate.outbound import (
    INTERRUPTED,
    outbound_build,
    outbox_cancel,
    outbox_claim,
    outbox_flush,
    outbox_retry,
    outbox_send,
)
from goodwill.mailgate.tasks import outbox_send_task
from tests.factories import CaseFactory, SectionFactory
from tests.mailgate.smtp_sink import SmtpSink, free_port

Status = OutboundMessage.Status


def make_section(**kwargs: Any) -> Section:
    return cast(Section, SectionFactory(**kwargs))


def make_case(**kwargs: Any) -> Case:
    return cast(Case, CaseFactory(**kwargs))


@pytest.fixture
def section(db: None) -> Section:
    return make_section(name="Support", email="support@example.com")


@pytest.fixture
def case(alice: User, section: Section) -> Case:
    return make_case(
        section=section,
        state="open",
        by=alice,
        subject="Printer on fire",
        requester_email="ana@example.com",
    )


def reply(case: Case, by: User, body: str = "We are on it.", **kwargs: Any) -> OutboundMessage:
    message = services.case_reply(case=case, by=by, body=body, **kwargs)
    return OutboundMessage.objects.select_related("case").get(pk=message.pk)


def fresh(message: OutboundMessage) -> OutboundMessage:
    return OutboundMessage.objects.select_related("case").get(pk=message.pk)


def smtp_down(settings: Any) -> int:
    """Point Django at a port where nothing listens; return the port."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = 5
    return port


# --------------------------------------------------------------------------
# Building and sending


def test_a_reply_arrives_threaded_with_its_cc_and_attachments(
    smtp_sink: SmtpSink, alice: User, case: Case
) -> None:
    """The sink gets the stored Message-ID, the plus-addressed Reply-To, the tagged
    subject, the watchers in Cc and the reply's files; the second reply answers
    the first."""
    services.watcher_add(case=case, by=alice, email="boss@example.com")
    files = [
        SimpleUploadedFile("notes.txt", b"line one\n", content_type="text/plain"),
        SimpleUploadedFile("scan.pdf", b"%PDF-1.4\x00\xff\r\n", content_type="application/pdf"),
    ]
    first = reply(case, alice, "First answer", files=files)

    assert outbox_send(first) is True
    (received,) = smtp_sink.wait_for(1)
    mail = received.message
    assert mail["Message-ID"] == first.message_id
    assert mail["Reply-To"] == f"support+c{case.number}@example.com"
    assert mail["From"] == "Support <support@example.com>"
    assert mail["To"] == "ana@example.com"
    assert mail["Cc"] == "boss@example.com"
    assert mail["Subject"] == f"{services.case_subject_tag(case)} Printer on fire"
    assert mail["X-Goodwill-Case"] == str(case.number)
    assert mail["Auto-Submitted"] is None
    assert sorted(received.rcpt_tos) == ["ana@example.com", "boss@example.com"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "First answer"
    # Text travels with CRLF line ends (RFC 5322); other files byte for byte.
    assert [(a.get_filename(), a.get_content()) for a in mail.iter_attachments()] == [
        ("notes.txt", "line one\r\n"),
        ("scan.pdf", b"%PDF-1.4\x00\xff\r\n"),
    ]
    first = fresh(first)
    assert (first.status, first.attempts, first.last_error) == (Status.SENT, 1, "")
    assert first.sent_at is not None

    second = reply(case, alice, "Second answer")
    assert outbox_send(second) is True
    mail = smtp_sink.wait_for(2)[1].message
    assert mail["Message-ID"] == second.message_id
    assert mail["In-Reply-To"] == first.message_id
    assert first.message_id in mail["References"].split()
    assert list(mail.iter_attachments()) == []


@pytest.mark.parametrize(
    ("kind", "auto_submitted"),
    [
        (OutboundMessage.Kind.ACK, "auto-replied"),
        (OutboundMessage.Kind.NOTIFY, "auto-generated"),
        (OutboundMessage.Kind.RELAY, "auto-generated"),
        (OutboundMessage.Kind.ERROR, "auto-generated"),
    ],
)
def test_automatic_messages_say_so(case: Case, kind: str, auto_submitted: str) -> None:
    """Acknowledgements are auto-replied, the other automatic kinds auto-generated
    (RFC 3834), and all of them ask Exchange not to answer."""
    message = services.case_mail_queue(
        case=case, kind=kind, to=["ana@example.com"], subject="Automatic", body="Hello"
    )
    built = outbound_build(fresh(message)).message()
    assert built["Auto-Submitted"] == auto_submitted
    assert built["X-Auto-Response-Suppress"] == "All"
    assert built["Precedence"] is None


def test_a_message_is_claimed_once(alice: User, case: Case) -> None:
    """The second claim of the same row gets nothing, even through a stale copy."""
    message = reply(case, alice)
    stale = fresh(message)
    assert outbox_claim(message) is True
    assert outbox_claim(stale) is False
    assert outbox_claim(message) is False
    message = fresh(message)
    assert (message.status, message.attempts) == (Status.SENDING, 1)
    assert message.claimed_at is not None


def test_a_message_that_is_not_due_is_not_claimed(alice: User, case: Case) -> None:
    message = reply(case, alice)
    OutboundMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert outbox_claim(fresh(message)) is False
    assert fresh(message).status == Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_a_message_once(
    smtp_sink: SmtpSink, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads sending the same row at once: the sink receives it once."""
    monkeypatch.setattr(outbound, "_enqueue_send", lambda pk: None)  # no background send
    section = make_section(email="support@example.com")
    case = make_case(section=section, state="open", by=alice, requester_email="a@example.com")
    message = reply(case, alice)
    copies = [fresh(message), fresh(message)]
    start = threading.Barrier(2)
    results: list[bool] = []

    def work(copy: OutboundMessage) -> None:
        try:
            start.wait(timeout=5)
            results.append(outbox_send(copy))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(copy,)) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert len(smtp_sink.messages) == 1
    assert fresh(message).status == Status.SENT


def test_smtp_down_queues_the_message_again(settings: Any, alice: User, case: Case) -> None:
    """A refused connection is recorded, counted, and retried later; nothing raises."""
    port = smtp_down(settings)
    message = reply(case, alice)
    before = timezone.now()
    assert outbox_send(message) is False
    message = fresh(message)
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.next_attempt_at >= before + timedelta(minutes=1)
    assert message.last_error.startswith(
        f"SMTP server 127.0.0.1:{port} refused the connection: is it running?"
    )
    assert message.sent_at is None


def test_the_wait_grows_with_each_attempt() -> None:
    assert [outbound.backoff(n) for n in range(1, 8)] == [
        timedelta(minutes=m) for m in (1, 5, 15, 60, 240, 240, 240)
    ]


def test_after_the_last_attempt_the_message_fails(settings: Any, alice: User, case: Case) -> None:
    """With OUTBOX_MAX_ATTEMPTS=2 the second failure is final; flushing does not resend it."""
    smtp_down(settings)
    settings.OUTBOX_MAX_ATTEMPTS = 2
    message = reply(case, alice)
    assert outbox_send(message) is False
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_send(fresh(message)) is False
    message = fresh(message)
    assert (message.status, message.attempts) == (Status.FAILED, 2)
    assert message.last_error.endswith("(gave up after 2 attempts)")
    assert outbox_flush() == 0
    assert fresh(message).attempts == 2


def test_a_refused_recipient_fails_at_once(settings: Any, alice: User, case: Case) -> None:
    """A 5xx refusal of every recipient is permanent: no retry."""
    settings.EMAIL_BACKEND = "tests.mailgate.test_outbound.RefusingBackend"
    message = reply(case, alice)
    assert outbox_send(message) is False
    message = fresh(message)
    assert message.status == Status.FAILED
    assert message.last_error == (
        "SMTP server mx.example:25 refused every recipient: ana@example.com: 550 No such user"
    )


class RefusingBackend(LocalMailBackend):
    host, port = "mx.example", 25

    def send_messages(self, email_messages: Any) -> int:
        import smtplib

        raise smtplib.SMTPRecipientsRefused({"ana@example.com": (550, b"No such user")})


def test_flush_sends_what_is_due_and_fails_what_is_stuck(
    smtp_sink: SmtpSink, alice: User, case: Case
) -> None:
    """A row left in "sending" for more than 15 minutes is failed, not resent; a row
    claimed a minute ago is left alone; a row not yet due waits."""
    due = reply(case, alice, "Due")
    later = reply(case, alice, "Later")
    stuck = reply(case, alice, "Stuck")
    busy = reply(case, alice, "Busy")
    now = timezone.now()
    OutboundMessage.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(hours=1))
    OutboundMessage.objects.filter(pk=stuck.pk).update(
        status=Status.SENDING, claimed_at=now - timedelta(minutes=16), attempts=1
    )
    OutboundMessage.objects.filter(pk=busy.pk).update(
        status=Status.SENDING, claimed_at=now - timedelta(minutes=1), attempts=1
    )

    assert outbox_flush() == 1
    assert [r.message["Message-ID"] for r in smtp_sink.wait_for(1)] == [due.message_id]
    assert fresh(due).status == Status.SENT
    assert fresh(later).status == Status.QUEUED
    stuck = fresh(stuck)
    assert (stuck.status, stuck.last_error) == (Status.FAILED, INTERRUPTED)
    assert fresh(busy).status == Status.SENDING
    assert outbox_flush() == 0
    assert len(smtp_sink.messages) == 1


def test_the_send_task_sends_once(smtp_sink: SmtpSink, alice: User, case: Case) -> None:
    message = reply(case, alice)
    assert outbox_send_task.call(message.pk) == "sent"
    assert outbox_send_task.call(message.pk) == "sent"
    assert outbox_send_task.call(0) == "gone"
    assert len(smtp_sink.wait_for(1)) == 1


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The sender subscribed to "message.queued", with enqueueing recorded."""
    queued: list[int] = []
    monkeypatch.setattr(outbound, "_enqueue_send", queued.append)
    was_installed = outbound.on_message_queued in events._handlers["message.queued"]
    outbound.install()
    yield queued
    if not was_installed:
        events.unsubscribe("message.queued", outbound.on_message_queued)


def test_a_queued_reply_is_sent_in_the_background(
    installed: list[int], alice: User, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    """After the reply commits, its sending task is enqueued."""
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(case, alice)
    assert installed == [message.pk]


def test_retry_and_cancel(alice: User, case: Case) -> None:
    message = reply(case, alice)
    with pytest.raises(ValidationError) as exc:
        outbox_retry(message, by=alice)
    assert exc.value.messages == ["Only a failed message can be retried; this one is Queued."]
    outbox_cancel(message, by=alice)
    message = fresh(message)
    assert (message.status, message.last_error) == (
        Status.FAILED,
        f"Cancelled by {alice.display_name}",
    )
    outbox_retry(message, by=alice)
    message = fresh(message)
    assert (message.status, message.attempts) == (Status.QUEUED, 0)
    assert message.next_attempt_at <= timezone.now()


# --------------------------------------------------------------------------
# Local mail (demo mode)


def test_local_scheme_selects_the_local_backend() -> None:
    assert email_from_url("local:") == {
        "EMAIL_BACKEND": "goodwill.mailgate.backends.LocalMailBackend"
    }


@pytest.fixture
def local_mail(settings: Any, alice: User, case: Case) -> LocalMail:
    settings.EMAIL_BACKEND = "goodwill.mailgate.backends.LocalMailBackend"
    services.watcher_add(case=case, by=alice, email="boss@example.com")
    message = reply(case, alice, "Kept <here> & safe")
    assert outbox_send(message) is True
    return LocalMail.objects.get()


def test_the_local_backend_keeps_the_message(local_mail: LocalMail, case: Case) -> None:
    message = OutboundMessage.objects.get()
    assert local_mail.message_id == message.message_id
    assert local_mail.to == ["ana@example.com", "boss@example.com"]
    assert local_mail.from_email == "Support <support@example.com>"
    assert local_mail.subject == message.subject
    assert f"Message-ID: {message.message_id}".encode() in bytes(local_mail.raw)


def test_administrators_read_the_local_mailbox(alice_client: Client, local_mail: LocalMail) -> None:
    """The list, the page (raw message escaped) and the .eml download."""
    response = alice_client.get(reverse("mailgate_outbox:local_list"))
    assert response.status_code == 200
    assert local_mail.subject in response.content.decode()

    response = alice_client.get(reverse("mailgate_outbox:local_detail", args=[local_mail.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kept &lt;here&gt; &amp; safe" in page
    assert "Kept <here>" not in page
    escaped_id = local_mail.message_id.replace("<", "&lt;").replace(">", "&gt;")
    assert f"Message-ID: {escaped_id}" in page
    assert "<dt>To</dt><dd>ana@example.com</dd><dt>Cc</dt><dd>boss@example.com</dd>" in page

    response = alice_client.get(reverse("mailgate_outbox:local_download", args=[local_mail.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == (
        f'attachment; filename="local-mail-{local_mail.pk}.eml"'
    )
    assert response.content == bytes(local_mail.raw)


@pytest.mark.parametrize("name", ["local_list", "local_detail", "local_download"])
def test_agents_cannot_read_the_local_mailbox(
    bob_client: Client, local_mail: LocalMail, name: str
) -> None:
    args = [] if name == "local_list" else [local_mail.pk]
    response = bob_client.get(reverse(f"mailgate_outbox:{name}", args=args))
    assert response.status_code == 403
    assert local_mail.subject not in response.content.decode()


# --------------------------------------------------------------------------
# Outbox pages


def grant(user: User, *codenames: str) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="cases", codename__in=codenames)
    )


def test_the_outbox_hides_cases_of_members_only_sections(
    client: Client, alice: User, bob: User, maria: User, case: Case
) -> None:
    """A non-member agent allowed to read the outbox sees the public case's
    message, not the members-only one; its page is a 404."""
    private_section = make_section(
        name="HR", visibility=Section.Visibility.MEMBERS, members=[maria]
    )
    private_case = make_case(
        section=private_section,
        state="open",
        by=alice,
        subject="Salary talk",
        requester_email="x@example.com",
    )
    public = reply(case, alice)
    private = reply(private_case, alice)
    grant(bob, "view_outboundmessage")
    client.force_login(bob)

    page = client.get(reverse("mailgate_outbox:list")).content.decode()
    assert "Printer on fire" in page
    assert "Salary talk" not in page
    assert client.get(reverse("mailgate_outbox:detail", args=[public.pk])).status_code == 200
    assert client.get(reverse("mailgate_outbox:detail", args=[private.pk])).status_code == 404

    client.force_login(alice)
    page = client.get(reverse("mailgate_outbox:list")).content.decode()
    assert "Printer on fire" in page
    assert "Salary talk" in page


def test_the_outbox_needs_its_permission(bob_client: Client, charlie_client: Client) -> None:
    """Agents (without the outbox permission) and users without a role are refused."""
    url = reverse("mailgate_outbox:list")
    assert bob_client.get(url).status_code == 403
    assert charlie_client.get(url).status_code == 403
    response = Client().get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_outbox_lists_by_status_with_errors_and_retry(
    settings: Any, alice_client: Client, alice: User, case: Case
) -> None:
    smtp_down(settings)
    settings.OUTBOX_MAX_ATTEMPTS = 1
    failed = reply(case, alice, "Will fail")
    assert outbox_send(failed) is False
    queued = reply(case, alice, "Waiting")

    page = alice_client.get(reverse("mailgate_outbox:list") + "?status=failed").content.decode()
    assert f'action="{reverse("mailgate_outbox:retry", args=[failed.pk])}"' in page
    assert "refused the connection" in page
    assert page.count('data-status="failed"') == 1
    assert 'data-status="queued"' not in page

    page = alice_client.get(reverse("mailgate_outbox:list") + "?status=queued").content.decode()
    assert page.count('data-status="queued"') == 1
    assert reverse("mailgate_outbox:retry", args=[queued.pk]) not in page


def test_the_outbox_list_costs_the_same_for_more_rows(
    alice_client: Client, alice: User, case: Case
) -> None:
    url = reverse("mailgate_outbox:list")
    reply(case, alice)
    alice_client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as one:
        assert alice_client.get(url).status_code == 200
    other = make_case(section=case.section, state="open", by=alice, requester_email="b@x.example")
    for _ in range(3):
        reply(other, alice)
    with CaptureQueriesContext(connection) as four:
        page = alice_client.get(url).content.decode()
    assert page.count("data-status=") == 4
    assert len(four) == len(one)


def test_the_outbox_page_shows_the_message_as_sent(
    alice_client: Client, alice: User, case: Case
) -> None:
    message = reply(case, alice, "Body <b>bold</b>")
    page = alice_client.get(reverse("mailgate_outbox:detail", args=[message.pk])).content.decode()
    escaped_id = message.message_id.replace("<", "&lt;").replace(">", "&gt;")
    assert f"Message-ID: {escaped_id}" in page
    assert f"X-Goodwill-Case: {case.number}" in page
    assert "Body &lt;b&gt;bold&lt;/b&gt;" in page


def test_retry_from_the_outbox_page(
    settings: Any, client: Client, alice: User, bob: User, case: Case
) -> None:
    """A failed message is queued again by a POST from someone who may change the
    outbox; reading it is not enough, and a GET does nothing."""
    smtp_down(settings)
    settings.OUTBOX_MAX_ATTEMPTS = 1
    message = reply(case, alice)
    assert outbox_send(message) is False
    assert fresh(message).status == Status.FAILED
    url = reverse("mailgate_outbox:retry", args=[message.pk])

    grant(bob, "view_outboundmessage")
    client.force_login(bob)
    assert client.post(url).status_code == 403
    assert fresh(message).status == Status.FAILED

    client.force_login(alice)
    assert client.get(url).status_code == 405
    response = client.post(url, {"next": reverse("mailgate_outbox:list") + "?status=failed"})
    assert response.status_code == 302
    assert response["Location"] == reverse("mailgate_outbox:list") + "?status=failed"
    message = fresh(message)
    assert (message.status, message.attempts) == (Status.QUEUED, 0)

    response = client.post(url, {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("mailgate_outbox:detail", args=[message.pk])
    assert "Only a failed message can be retried; this one is Queued." in (
        response.content.decode()
    )
