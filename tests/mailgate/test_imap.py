"""The IMAP door against a real Dovecot (see tests/mailgate/dovecot.py).

Each test works in a folder of its own, so that the session's one server serves
them all. Messages are written with CRLF line endings, which is how Dovecot
hands them back; a message appended with bare LFs comes back with CRLFs (see
test_bare_lf_comes_back_as_crlf).
"""

from __future__ import annotations

import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connections

from goodwill.mailgate import imap
from goodwill.mailgate.imap import PollResult, mailbox_poll, mailbox_test, mailboxes_due
from goodwill.mailgate.models import InboundMessage, Mailbox
from goodwill.mailgate.tasks import mailbox_poll_task
from tests.factories import SectionFactory
from tests.mailgate.dovecot import Dovecot


def raw_message(n: int, tag: str) -> bytes:
    return (
        "From: Ann Example <ann@example.com>\r\n"
        "To: help@example.org\r\n"
        f"Subject: Question {n}\r\n"
        f"Message-ID: <{tag}.{n}@example.com>\r\n"
        "Date: Tue, 04 Mar 2025 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Hello, this is message {n}.\r\n"
    ).encode()


def make_mailbox(dovecot: Dovecot, folder: str, **fields: object) -> Mailbox:
    values: dict[str, object] = {
        "name": f"Box {folder}",
        "host": dovecot.host,
        "port": dovecot.port,
        "security": Mailbox.Security.NONE,
        "username": dovecot.user,
        "password": dovecot.password,
        "folder": folder,
        "section": SectionFactory(),
        "after": Mailbox.After.FLAG,
    }
    values.update(fields)
    return Mailbox.objects.create(**values)


def read_raw(message: InboundMessage) -> bytes:
    with message.raw.open("rb") as handle:
        return handle.read()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def folder() -> str:
    return f"T{uuid.uuid4().hex[:12]}"


@pytest.mark.django_db
def test_poll_stores_each_new_message_once_and_flags_it(dovecot: Dovecot, folder: str) -> None:
    """Three appended messages become three IMAP inbound rows with the mailbox's
    section and the exact bytes; they are flagged \\Seen; a second poll finds nothing."""
    raws = [raw_message(n, folder) for n in range(3)]
    uids = [dovecot.append(raw, folder) for raw in raws]
    mailbox = make_mailbox(dovecot, folder)

    result = mailbox_poll(mailbox)

    assert result == PollResult(fetched=3, duplicates=0)
    messages = list(InboundMessage.objects.filter(mailbox=mailbox).order_by("id"))
    assert [read_raw(m) for m in messages] == raws
    assert {m.source for m in messages} == {InboundMessage.Source.IMAP}
    assert {m.section_id for m in messages} == {mailbox.section_id}
    assert [m.message_id for m in messages] == [f"<{folder}.{n}@example.com>" for n in range(3)]
    assert dovecot.uids(folder, "UNSEEN") == []
    assert dovecot.uids(folder, "SEEN") == uids
    mailbox.refresh_from_db()
    assert mailbox.last_uid == max(uids)
    assert mailbox.uidvalidity is not None
    assert mailbox.fetched_count == 3
    assert mailbox.last_error == ""
    assert mailbox.last_success_at is not None
    assert mailbox.last_poll_at is not None

    again = mailbox_poll(mailbox)

    assert again == PollResult(fetched=0, duplicates=0)
    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 3


@pytest.mark.django_db
def test_poll_fetches_only_what_arrived_since(dovecot: Dovecot, folder: str) -> None:
    """A message appended after a poll is the only one the next poll fetches."""
    dovecot.append(raw_message(1, folder), folder)
    mailbox = make_mailbox(dovecot, folder)
    assert mailbox_poll(mailbox).fetched == 1
    later = raw_message(2, folder)
    dovecot.append(later, folder)

    assert mailbox_poll(mailbox) == PollResult(fetched=1)
    assert read_raw(InboundMessage.objects.filter(mailbox=mailbox).latest("id")) == later


@pytest.mark.django_db
def test_poll_respects_the_limit(dovecot: Dovecot, folder: str) -> None:
    """At most `limit` messages per poll; the rest come with the next one."""
    for n in range(3):
        dovecot.append(raw_message(n, folder), folder)
    mailbox = make_mailbox(dovecot, folder)

    assert mailbox_poll(mailbox, limit=2).fetched == 2
    assert mailbox_poll(mailbox, limit=2).fetched == 1
    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 3


@pytest.mark.django_db
def test_bare_lf_comes_back_as_crlf(dovecot: Dovecot, folder: str) -> None:
    """Dovecot stores what it is given but serves it with CRLF line endings: a
    message appended with bare LFs is stored with CRLFs, the bytes otherwise equal."""
    raw = raw_message(1, folder).replace(b"\r\n", b"\n")
    dovecot.append(raw, folder)
    mailbox = make_mailbox(dovecot, folder)

    assert mailbox_poll(mailbox).fetched == 1
    stored = read_raw(InboundMessage.objects.get(mailbox=mailbox))
    assert stored == raw.replace(b"\n", b"\r\n")


@pytest.mark.django_db
def test_move_puts_messages_in_the_target_folder(dovecot: Dovecot, folder: str) -> None:
    """With MOVE, fetched messages leave the folder for the target, created if missing."""
    for n in range(2):
        dovecot.append(raw_message(n, folder), folder)
    target = f"{folder}-done"
    mailbox = make_mailbox(dovecot, folder, after=Mailbox.After.MOVE, move_to=target)

    assert mailbox_poll(mailbox) == PollResult(fetched=2)
    assert dovecot.uids(folder) == []
    assert len(dovecot.uids(target)) == 2
    assert mailbox_poll(mailbox) == PollResult()


@pytest.mark.django_db
def test_move_without_the_move_extension_copies_and_deletes(
    dovecot: Dovecot, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server without MOVE gets COPY, \\Deleted and a UID EXPUNGE of that message."""
    monkeypatch.setattr(imap, "_can_move", lambda conn: False)
    dovecot.append(raw_message(1, folder), folder)
    target = f"{folder}-done"
    mailbox = make_mailbox(dovecot, folder, after=Mailbox.After.MOVE, move_to=target)
    assert mailbox_poll(mailbox) == PollResult(fetched=1)
    assert dovecot.uids(folder) == []
    assert len(dovecot.uids(target)) == 1


@pytest.mark.django_db
def test_move_needs_a_target_folder(dovecot: Dovecot, folder: str) -> None:
    """MOVE without a target folder is an error in words; nothing is fetched."""
    dovecot.append(raw_message(1, folder), folder)
    mailbox = make_mailbox(dovecot, folder, after=Mailbox.After.MOVE, move_to="")

    result = mailbox_poll(mailbox)

    assert result.error == "Processed messages are to be moved, but no folder is set."
    assert not InboundMessage.objects.filter(mailbox=mailbox).exists()


@pytest.mark.django_db
def test_uidvalidity_change_reads_the_folder_again(dovecot: Dovecot, folder: str) -> None:
    """When the folder is recreated (new UIDVALIDITY), a message whose UID is below
    last_uid is fetched all the same."""
    for n in range(3):
        dovecot.append(raw_message(n, folder), folder)
    mailbox = make_mailbox(dovecot, folder)
    assert mailbox_poll(mailbox).fetched == 3
    mailbox.refresh_from_db()
    old_validity, old_last_uid = mailbox.uidvalidity, mailbox.last_uid
    dovecot.delete_folder(folder)
    fresh = raw_message(9, folder)
    assert dovecot.append(fresh, folder) < old_last_uid

    assert mailbox_poll(mailbox) == PollResult(fetched=1)
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != old_validity
    assert mailbox.last_uid == 1
    assert read_raw(InboundMessage.objects.filter(mailbox=mailbox).latest("id")) == fresh


@pytest.mark.django_db
def test_refetch_after_a_lost_last_uid_stores_nothing_twice(dovecot: Dovecot, folder: str) -> None:
    """If last_uid is lost (a crash before it was saved), the messages fetched again
    are recognised as already stored."""
    for n in range(2):
        dovecot.append(raw_message(n, folder), folder)
    mailbox = make_mailbox(dovecot, folder, after=Mailbox.After.MOVE, move_to=f"{folder}-x")
    assert mailbox_poll(mailbox).fetched == 2
    for n in range(2):  # the same messages again, as a crash would leave them
        dovecot.append(raw_message(n, folder), folder)
    Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=0)

    assert mailbox_poll(mailbox) == PollResult(fetched=0, duplicates=2)
    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_pollers_at_once_store_each_message_once(dovecot: Dovecot, folder: str) -> None:
    """Two workers polling one mailbox at the same moment: one claims the poll and
    the other skips, and every message is stored once."""
    for n in range(5):
        dovecot.append(raw_message(n, folder), folder)
    mailbox = make_mailbox(dovecot, folder)
    results = run_concurrently(mailbox.pk, 2)

    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 5
    assert sum(r.fetched for r in results) == 5
    assert all(not r.error for r in results)


@pytest.mark.django_db(transaction=True)
def test_two_pollers_without_the_claim_still_store_each_message_once(
    dovecot: Dovecot, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if both pollers fetch the same messages (the claim bypassed), the
    storage deduplicates: five messages, five rows."""
    monkeypatch.setattr(imap, "_poll_claim", lambda mailbox, now: True)
    for n in range(5):
        dovecot.append(raw_message(n, folder), folder)
    mailbox = make_mailbox(dovecot, folder, after=Mailbox.After.MOVE, move_to=f"{folder}-x")
    results = run_concurrently(mailbox.pk, 3)

    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 5
    assert sum(r.fetched for r in results) == 5


def run_concurrently(mailbox_pk: int, workers: int) -> list[PollResult]:
    barrier = threading.Barrier(workers)
    results: list[PollResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            mailbox = Mailbox.objects.select_related("section").get(pk=mailbox_pk)
            barrier.wait(timeout=10)
            results.append(mailbox_poll(mailbox))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == workers
    return results


@pytest.mark.django_db
def test_a_poll_in_progress_is_not_started_again(dovecot: Dovecot, folder: str) -> None:
    """A poll that started a minute ago and has not finished makes the next one skip."""
    dovecot.append(raw_message(1, folder), folder)
    now = datetime.now(UTC)
    mailbox = make_mailbox(dovecot, folder)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_poll_at=now - timedelta(minutes=1), last_success_at=now - timedelta(minutes=2)
    )

    assert mailbox_poll(mailbox) == PollResult(skipped=True)
    assert not InboundMessage.objects.filter(mailbox=mailbox).exists()


@pytest.mark.django_db
def test_a_poll_that_died_long_ago_is_taken_over(dovecot: Dovecot, folder: str) -> None:
    """A poll that started an hour ago and never finished does not block forever."""
    dovecot.append(raw_message(1, folder), folder)
    now = datetime.now(UTC)
    mailbox = make_mailbox(dovecot, folder)
    Mailbox.objects.filter(pk=mailbox.pk).update(last_poll_at=now - timedelta(hours=1))

    assert mailbox_poll(mailbox) == PollResult(fetched=1)


@pytest.mark.django_db
def test_wrong_password_is_recorded_not_raised(dovecot: Dovecot, folder: str) -> None:
    """A refused login ends up in last_error, in words, and leaves last_success_at."""
    before = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    mailbox = make_mailbox(dovecot, folder, password="wrong")
    Mailbox.objects.filter(pk=mailbox.pk).update(last_success_at=before)

    result = mailbox_poll(mailbox)

    assert result.error.startswith(
        f"The server {dovecot.host}:{dovecot.port} refused the login for user goodwill: "
    )
    assert "Authentication failed" in result.error
    mailbox.refresh_from_db()
    assert mailbox.last_error == result.error
    assert mailbox.last_error_at is not None
    assert mailbox.last_success_at == before


@pytest.mark.django_db
def test_success_clears_the_last_error(dovecot: Dovecot, folder: str) -> None:
    """A good poll after a bad one clears last_error."""
    mailbox = make_mailbox(dovecot, folder, password="wrong")
    assert mailbox_poll(mailbox).error
    Mailbox.objects.filter(pk=mailbox.pk).update(password=dovecot.password)
    mailbox.refresh_from_db()
    dovecot.append(raw_message(1, folder), folder)

    assert mailbox_poll(mailbox) == PollResult(fetched=1)
    mailbox.refresh_from_db()
    assert (mailbox.last_error, mailbox.last_error_at) == ("", None)


@pytest.mark.django_db
def test_unreachable_server_is_a_connection_error() -> None:
    """Nothing listening on the port: "Could not connect to host:port: Connection refused"."""
    port = free_port()
    mailbox = Mailbox.objects.create(
        name="Nowhere",
        host="127.0.0.1",
        port=port,
        security=Mailbox.Security.NONE,
        username="x",
        password="y",
        section=SectionFactory(),
    )

    result = mailbox_poll(mailbox)

    assert result.error == f"Could not connect to 127.0.0.1:{port}: Connection refused"
    mailbox.refresh_from_db()
    assert mailbox.last_error == result.error
    assert mailbox.last_success_at is None


@pytest.mark.django_db
def test_missing_folder_is_named(dovecot: Dovecot, folder: str) -> None:
    """A folder that does not exist is reported by name."""
    mailbox = make_mailbox(dovecot, folder)

    result = mailbox_poll(mailbox)

    assert result.error.startswith(f"Could not open the folder {folder} on ")


@pytest.mark.django_db
def test_mailbox_test_reports_what_it_found(dovecot: Dovecot, folder: str) -> None:
    """The connection test says where it logged in and what the folder holds,
    and changes nothing."""
    dovecot.append(raw_message(1, folder), folder)
    mailbox = make_mailbox(dovecot, folder, after=Mailbox.After.MOVE, move_to=f"{folder}-x")

    status = mailbox_test(mailbox)

    assert status == (
        f"Connected to {dovecot.host}:{dovecot.port} as goodwill: the folder {folder} "
        f"holds 1 message (1 unseen). The folder {folder}-x will be created on the first move."
    )
    assert dovecot.uids(folder, "UNSEEN") != []
    assert not InboundMessage.objects.filter(mailbox=mailbox).exists()


@pytest.mark.django_db
def test_mailbox_test_raises_a_validation_error_on_a_refused_login(
    dovecot: Dovecot, folder: str
) -> None:
    """A refused login is a ValidationError with the server's reason."""
    mailbox = make_mailbox(dovecot, folder, password="wrong")

    with pytest.raises(ValidationError, match="refused the login for user goodwill"):
        mailbox_test(mailbox)


@pytest.mark.django_db
def test_task_polls_one_mailbox(dovecot: Dovecot, folder: str) -> None:
    """The task fetches the mailbox by id and reports the poll in words."""
    dovecot.append(raw_message(1, folder), folder)
    mailbox = make_mailbox(dovecot, folder)

    assert mailbox_poll_task.call(mailbox.pk) == "1 new, 0 already stored"
    assert mailbox_poll_task.call(mailbox.pk + 1000) == "gone or inactive"


@pytest.mark.django_db
def test_mailboxes_due() -> None:
    """Due: active, and never polled or polled at least `interval` seconds ago."""
    now = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    section = SectionFactory()

    def box(name: str, **fields: object) -> Mailbox:
        values: dict[str, object] = {"interval": 60, **fields}
        return Mailbox.objects.create(name=name, host="h", username="u", section=section, **values)

    never = box("never")
    old = box("old", last_poll_at=now - timedelta(seconds=61))
    box("recent", last_poll_at=now - timedelta(seconds=30))
    box("inactive", active=False)
    slow = box("slow", interval=600, last_poll_at=now - timedelta(seconds=300))
    floor = box("floor", interval=1, last_poll_at=now - timedelta(seconds=5))

    due = mailboxes_due(now)

    assert {m.name for m in due} == {never.name, old.name}
    assert slow not in due
    assert floor not in due


# --------------------------------------------------------------------------
# goodwill mailbox_poll


@pytest.mark.django_db
def test_mailbox_poll_command_refuses_an_unknown_mailbox() -> None:
    """--mailbox with an id that does not exist is a usage error."""
    with pytest.raises(CommandError, match="There is no mailbox with id 4242"):
        call_command("mailbox_poll", mailbox=4242)


@pytest.mark.django_db
def test_mailbox_poll_command_says_when_nothing_is_due(capsys: pytest.CaptureFixture[str]) -> None:
    """With no mailbox due it says so and succeeds."""
    call_command("mailbox_poll")

    assert capsys.readouterr().out == "No mailbox is due.\n"


@pytest.mark.django_db
def test_mailbox_poll_command_polls_and_reports(
    dovecot: Dovecot, folder: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each due mailbox is polled and its outcome printed; a failing one does not
    make the command fail."""
    dovecot.append(raw_message(1, folder), folder)
    good = make_mailbox(dovecot, folder)
    bad = make_mailbox(dovecot, f"{folder}-missing")

    call_command("mailbox_poll")

    out = capsys.readouterr().out
    assert f"{good.name} (#{good.pk}): 1 new, 0 already stored\n" in out
    assert f"{bad.name} (#{bad.pk}): 0 new, 0 already stored; error: Could not open" in out
