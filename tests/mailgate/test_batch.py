"""The batch pipeline gives what the single-message pipeline gives.

The same messages are stored and processed twice in one test: once message by
message (``inbound_process``) and once in batches (``inbound_process_many``),
each time rolled back afterwards. What each run wrote (outcomes, cases, their
timelines, watchers, outbox, threading references, prospects, automatic-mail
log and the events) is compared as a whole, with case numbers and our own
Message-IDs replaced by their order of creation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from goodwill.accounts.models import User
from goodwill.cases import services as case_services
from goodwill.cases.models import Attachment, Case, OutboundMessage, Section, Watcher
from goodwill.lib import events
from goodwill.mailgate import batch
from goodwill.mailgate.batch import inbound_drain, inbound_process_many
from goodwill.mailgate.inbound import inbound_receive
from goodwill.mailgate.models import AutoMessageLog, InboundMessage, MessageRef
from goodwill.mailgate.pipeline import inbound_process
from goodwill.mailgate.tasks import inbound_process_task
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import MembershipInput
from tests.factories import PartnerFactory, PersonFactory, SectionFactory
from tests.mailgate.mail import deliver, make_mail

pytestmark = pytest.mark.django_db

Status = InboundMessage.Status
CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "email"
_OURS = re.compile(r"<gw\.c\d+\.[0-9a-f]+@[^>]+>")
_NUMBER = re.compile(r"(#|\+c|/cases/)(\d+)")


def snapshot(stored: Sequence[InboundMessage], emitted: list[tuple[str, Any]]) -> dict[str, Any]:
    """Everything the pipeline wrote, with numbers that differ between runs normalised."""
    cases = list(Case.objects.select_related("partner", "contact", "section").order_by("pk"))
    by_number = {c.number: n for n, c in enumerate(cases)}
    by_pk = {c.pk: n for n, c in enumerate(cases)}

    def norm(text: str) -> str:
        text = _OURS.sub("<ours>", text)
        return _NUMBER.sub(lambda m: f"{m[1]}{by_number.get(int(m[2]), m[2])}", text)

    case_type = ContentType.objects.get_for_model(Case)
    messages = []
    for message in stored:
        message.refresh_from_db()
        messages.append(
            (
                message.status,
                norm(message.reason),
                by_pk.get(message.case_id),  # type: ignore[arg-type]
                message.entry.kind if message.entry_id else None,
                message.attempts,
                message.from_email,
                message.subject,
            )
        )
    described = []
    for case in cases:
        entries = TimelineEntry.objects.filter(subject_type=case_type, subject_id=case.pk)
        described.append(
            {
                "case": (
                    norm(case.subject),
                    case.state,
                    case.message_count,
                    case.partner.name if case.partner else None,
                    case.contact.name if case.contact else None,
                    case.requester_email,
                    case.section.code,
                    case.priority,
                    case.stage_id,
                    by_pk.get(case.related_id),  # type: ignore[arg-type]
                    norm(case.search_text),
                    norm(case.description),
                ),
                "entries": [
                    (e.kind, e.action, norm(e.body), e.changes, e.visibility, e.author_id)
                    for e in entries.order_by("pk")
                ],
                "watchers": sorted(
                    (w.email, w.user_id or 0) for w in Watcher.objects.filter(case=case)
                ),
                "outbox": [
                    (
                        o.kind,
                        o.to,
                        o.cc,
                        norm(o.subject),
                        norm(o.in_reply_to),
                        norm(o.references),
                        norm(o.body_text),
                        o.from_email,
                        norm(o.reply_to),
                    )
                    for o in OutboundMessage.objects.filter(case=case).order_by("pk")
                ],
                "refs": sorted(
                    MessageRef.objects.filter(case=case).values_list("message_id", flat=True)
                ),
                "files": sorted(
                    Attachment.objects.filter(case=case).values_list("name", "size", "entry__kind")
                ),
            }
        )
    return {
        "messages": messages,
        "cases": described,
        "partners": sorted(
            Partner.objects.values_list("name", "kind", "is_prospect", "email", "parent__name")
        ),
        "auto": sorted(AutoMessageLog.objects.values_list("email", "kind")),
        "events": sorted(
            Counter((name, by_pk.get(case_id, case_id)) for name, case_id in emitted).items()
        ),
    }


def run(
    raws: Sequence[bytes],
    process: Callable[[list[InboundMessage]], object],
    monkeypatch: pytest.MonkeyPatch,
    section: Section | None = None,
) -> dict[str, Any]:
    """Store *raws*, process them with *process*, describe the result, roll back."""
    emitted: list[tuple[str, Any]] = []
    emit = events.emit

    def recording(name: str, **payload: Any) -> None:
        emitted.append((name, payload.get("case_id")))
        emit(name, **payload)

    monkeypatch.setattr(events, "emit", recording)
    with transaction.atomic():
        stored = [
            inbound_receive(
                raw, via=InboundMessage.Source.PIPE, section=section, enqueue=False
            ).message
            for raw in raws
        ]
        process(stored)
        described = snapshot(stored, emitted)
        transaction.set_rollback(True)
    monkeypatch.setattr(events, "emit", emit)
    return described


def one_by_one(stored: list[InboundMessage]) -> None:
    for message in stored:
        inbound_process(message)


def assert_same(single: dict[str, Any], batched: dict[str, Any]) -> None:
    for key in single:
        if key == "cases":
            assert len(single[key]) == len(batched[key])
            for number, (a, b) in enumerate(zip(single[key], batched[key], strict=True)):
                assert a == b, f"case {number} differs"
        else:
            assert single[key] == batched[key], key


@pytest.fixture
def world(bob: User, settings: Any) -> dict[str, Any]:
    """Two sections (Sales has a responsible, so personal mail there notifies),
    a customer company with a contact, and an open and a pending case."""
    settings.MAILGATE_AUTO_PER_HOUR = 2
    support = SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")
    sales = SectionFactory(name="Sales", code="SALES", email="sales@acme.example")
    sales.responsible = bob
    sales.save()
    company = PartnerFactory(name="Customer Ltd")
    PersonFactory(
        name="Pat Customer",
        emails=["pat@customer.example"],
        companies=[MembershipInput(company=company)],
    )
    open_case = deliver(make_mail(subject="Open one", message_id="<open@customer.example>")).case
    pending = deliver(make_mail(subject="Pending one", message_id="<pending@customer.example>"))
    case_services.case_set_state(case=pending.case, by=bob, action="open")
    case_services.case_set_state(case=pending.case, by=bob, action="pending")
    return {"support": support, "sales": sales, "open": open_case, "bob": bob}


def scenario(world: dict[str, Any]) -> list[bytes]:
    """Every road through the router, in an order where later mail depends on earlier."""
    bob = world["bob"]
    number = world["open"].number
    listed = {"List-Id": "<devel.lists.example>", "Precedence": "list"}
    mails = [
        make_mail(
            sender="Devel <devel@lists.example>",
            subject="Release",
            headers=listed,
            message_id="<list-1@lists.example>",
        ),
        make_mail(
            subject="New pump",
            cc="Kim <kim@customer.example>",
            message_id="<pat-1@customer.example>",
        ),
        make_mail(
            sender="Kim <kim@customer.example>",
            subject="Re: New pump",
            cc="pat@customer.example",
            in_reply_to="<pat-1@customer.example>",
        ),
        make_mail(
            subject="Re: Open one",
            in_reply_to="<open@customer.example>",
            cc="Lee <lee@customer.example>",
        ),
        make_mail(subject="Re: Pending one", in_reply_to="<pending@customer.example>"),
        make_mail(sender="support@acme.example", subject="Looping"),
        make_mail(sender="New Person <new@stranger.example>", subject="Hello there"),
        make_mail(
            subject="With a photo",
            message_id="<pat-2@customer.example>",
            attachments=[("photo.png", "image/png", b"\x89PNG fake image bytes")],
        ),
        make_mail(
            sender=f"Bob <{bob.email}>",
            subject="Re: New pump",
            in_reply_to="<pat-1@customer.example>",
            body="Set-Priority: 1\n\nOn it.",
        ),
        make_mail(
            sender="Devel <devel@lists.example>",
            subject="Re: Release",
            headers=listed,
            in_reply_to="<list-1@lists.example>",
        ),
        make_mail(to="sales@acme.example", subject="A quote, please"),
        make_mail(to=f"support+c{number}@acme.example", subject="By the plus address"),
        make_mail(subject=f"Re: [#{number}] about the tag"),
        make_mail(subject="Third new one: over the hourly limit of acknowledgements"),
        make_mail(
            sender="Devel <devel@lists.example>",
            subject="Release 2",
            headers=listed,
            references="<list-1@lists.example> <unknown@lists.example>",
        ),
        b"this is not an email at all",
    ]
    return [m if isinstance(m, bytes) else m.as_bytes() for m in mails]


def test_batches_write_what_single_messages_write(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = scenario(world)
    single = run(raws, one_by_one, monkeypatch)
    batched = run(raws, inbound_process_many, monkeypatch)
    assert_same(single, batched)
    # The scenario does reach every road it is meant to.
    outcomes = Counter(status for status, *_rest in single["messages"])
    assert outcomes == {Status.PROCESSED: 14, Status.IGNORED: 1, Status.QUARANTINED: 1}, outcomes
    states = [c["case"][1] for c in single["cases"]]
    assert "open" in states  # the pending case reopened
    assert any(c["watchers"] for c in single["cases"])
    assert any(c["files"] for c in single["cases"])
    assert Counter(kind for c in single["cases"] for kind, *_ in c["outbox"])["ack"] >= 2


def test_small_batches_and_slow_messages_between_them(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = scenario(world)
    monkeypatch.setattr(batch, "BATCH_SIZE", 3)
    single = run(raws, one_by_one, monkeypatch)
    batched = run(raws, inbound_process_many, monkeypatch)
    assert_same(single, batched)


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"no corpus at {CORPORA}")
@pytest.mark.parametrize(("folder", "count"), [("easy-ham-1", 400), ("spam-1", 150)])
def test_corpus_batches_write_what_single_messages_write(
    folder: str, count: int, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.CASE_ATTACHMENT_MAX_MB = 100
    section = SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")
    paths = sorted(p for p in (CORPORA / "spamassassin" / folder).iterdir() if p.is_file())
    raws = [p.read_bytes() for p in paths[:count]]
    single = run(raws, one_by_one, monkeypatch, section)
    batched = run(raws, inbound_process_many, monkeypatch, section)
    assert_same(single, batched)
    assert len(single["cases"]) > count // 4


def test_a_failing_batch_hands_its_messages_to_the_single_pipeline(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = scenario(world)
    single = run(raws, one_by_one, monkeypatch)

    def broken(self: Any) -> None:
        raise RuntimeError("a defect in the batch")

    monkeypatch.setattr(batch._Batch, "flush", broken)
    fallen_back = run(raws, inbound_process_many, monkeypatch)
    assert_same(single, fallen_back)


def test_the_task_drains_what_is_waiting_oldest_first(world: dict[str, Any]) -> None:
    stored = [
        inbound_receive(
            make_mail(subject=f"Waiting {n}").as_bytes(), via="pipe", enqueue=False
        ).message
        for n in range(5)
    ]
    assert inbound_process_task.call(stored[2].pk) == Status.PROCESSED
    for message in stored:
        message.refresh_from_db()
    assert {m.status for m in stored} == {Status.PROCESSED}
    numbers = [m.case.number for m in stored]  # type: ignore[union-attr]
    assert numbers == sorted(numbers)
    # A task whose message a drain took finds it done.
    assert inbound_process_task.call(stored[4].pk) == "gone or already done"


def test_a_batch_of_list_mail_costs_the_same_queries_at_any_size(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    def store(count: int, start: int) -> list[InboundMessage]:
        return [
            inbound_receive(
                make_mail(
                    sender=f"Poster {n} <poster{n}@lists.example>",
                    subject=f"Post {n}",
                    headers={"List-Id": "<devel.lists.example>"},
                ).as_bytes(),
                via="pipe",
                enqueue=False,
            ).message
            for n in range(start, start + count)
        ]

    small, large = store(5, 0), store(60, 100)
    with django_assert_max_num_queries(20) as small_run:
        assert inbound_process_many(small) == 5
    # SQLite splits a bulk insert of many wide rows into a few statements.
    with django_assert_max_num_queries(len(small_run.captured_queries) + 4):
        assert inbound_process_many(large) == 60


def test_drain_skips_messages_already_processed(world: dict[str, Any]) -> None:
    message = deliver(make_mail(subject="Done already"))
    assert inbound_drain(message.pk) == 0
    message.refresh_from_db()
    assert message.attempts == 1
