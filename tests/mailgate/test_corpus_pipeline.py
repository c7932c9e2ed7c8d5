"""The whole inbound pipeline against public mail corpora: store, then process.

Every message of CPython's email test messages, flanker's fixtures and two
SpamAssassin folders is stored through the pipe door and processed: none makes
the gateway raise, each ends processed, ignored or quarantined (the last two
with a reason), its stored bytes are the bytes that came in, and each distinct
message is stored exactly once. flanker's bounces are delivery reports, and in
the easy ham a reply lands on the case of the message it answers.

The corpora sit next to the checkout in ``../shared/corpora/email``; the tests
skip when they are absent. One test per folder keeps a failure's report short.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from goodwill.cases.models import Case, Section
from goodwill.mailgate.inbound import inbound_receive
from goodwill.mailgate.models import InboundMessage, Suppression
from goodwill.mailgate.pipeline import inbound_process
from tests.factories import SectionFactory

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "email"

pytestmark = [
    pytest.mark.skipif(
        not CORPORA.is_dir(),
        reason=f"../shared/corpora/email is absent: no corpus at {CORPORA}",
    ),
    pytest.mark.django_db,
]

Status = InboundMessage.Status

FOLDERS: dict[str, list[str]] = {
    "cpython": ["cpython/msg_*.txt"],
    "flanker": ["flanker/**/*.eml"],
    "easy-ham-1": ["spamassassin/easy-ham-1/*"],
    "spam-1": ["spamassassin/spam-1/*"],
}
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def folder_files(folder: str) -> list[Path]:
    """The folder's messages in file order (the SpamAssassin order is roughly
    chronological)."""
    files = [path for pattern in FOLDERS[folder] for path in sorted(CORPORA.glob(pattern))]
    return [path for path in files if path.is_file() and not path.name.startswith("LICENSE")]


@dataclass
class Run:
    """What became of one folder's messages, in file order."""

    paths: list[Path]
    inputs: dict[Path, bytes]
    messages: dict[Path, InboundMessage]
    errors: dict[str, str]
    cases_before: dict[Path, int]
    cases_after: dict[Path, int]


@pytest.fixture
def section(settings: Any) -> Section:
    # Attachments are kept whole: the corpus has a few big ones.
    settings.CASE_ATTACHMENT_MAX_MB = 100
    return cast(
        Section, SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")
    )


def run_folder(folder: str, section: Section) -> Run:
    paths = folder_files(folder)
    assert paths, f"no messages in {folder}"
    run = Run(paths=paths, inputs={}, messages={}, errors={}, cases_before={}, cases_after={})
    for path in paths:
        raw = path.read_bytes()
        run.inputs[path] = raw
        run.cases_before[path] = Case.objects.count()
        try:
            received = inbound_receive(
                raw, via=InboundMessage.Source.PIPE, section=section, enqueue=False
            )
            run.messages[path] = inbound_process(received.message)
        except Exception:
            run.errors[str(path.relative_to(CORPORA))] = traceback.format_exc(limit=-3)
        run.cases_after[path] = Case.objects.count()
    return run


def read_raw(message: InboundMessage) -> bytes:
    with message.raw.open("rb") as handle:
        return handle.read()


def check_every_message(run: Run) -> None:
    """No exception; an outcome for each; the same bytes back; one row per distinct message."""
    assert run.errors == {}
    for path, message in run.messages.items():
        name = str(path.relative_to(CORPORA))
        message.refresh_from_db()
        assert message.status in {Status.PROCESSED, Status.IGNORED, Status.QUARANTINED}, name
        if message.status == Status.PROCESSED:
            assert message.case_id is not None, name
        else:
            assert message.reason.strip(), name
        assert read_raw(message) == run.inputs[path], name
    # Identical bytes have the same Message-ID, so a distinct message is a
    # distinct SHA-256.
    distinct = {hashlib.sha256(raw).hexdigest() for raw in run.inputs.values()}
    assert InboundMessage.objects.count() == len(distinct)
    assert len({m.pk for m in run.messages.values()}) == len(distinct)


@pytest.mark.parametrize("folder", ["cpython", "spam-1"])
def test_every_message_ends_with_an_outcome(folder: str, section: Section) -> None:
    """Each message is stored byte for byte, once, and processed, ignored or
    quarantined with a reason, without an exception escaping."""
    check_every_message(run_folder(folder, section))


def test_flanker_bounces_are_delivery_reports(section: Section) -> None:
    """Besides the checks above, every bounce is recorded as a delivery report
    (or marks an address as bouncing) and opens no case."""
    run = run_folder("flanker", section)
    check_every_message(run)
    bounces = [p for p in run.paths if p.parent.name == "bounce"]
    assert len(bounces) >= 9
    for path in bounces:
        message = run.messages[path]
        marked = Suppression.objects.filter(report=message).exists()
        assert message.reason.startswith("Delivery") or marked, (path.name, message.reason)
        assert run.cases_after[path] == run.cases_before[path], f"{path.name} opened a case"


def message_ids(raw: bytes, *names: str) -> list[str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    found: list[str] = []
    for name in names:
        for value in parsed.get_all(name) or []:
            found.extend(MESSAGE_ID.findall(str(value)))
    return found


def test_easy_ham_replies_land_on_their_parents_case(section: Section) -> None:
    """Besides the checks above: a reply whose parent (a Message-ID in its
    In-Reply-To or References) was processed earlier lands on the parent's case."""
    run = run_folder("easy-ham-1", section)
    check_every_message(run)
    pairs = 0
    misplaced: list[str] = []
    case_of: dict[str, int | None] = {}
    for path in run.paths:
        raw = run.inputs[path]
        message = run.messages[path]
        parents = [
            case_of[i]
            for i in message_ids(raw, "In-Reply-To", "References")
            if i in case_of and case_of[i] is not None
        ]
        if parents and len(set(parents)) == 1:
            pairs += 1
            if message.case_id != parents[0]:
                misplaced.append(f"{path.name}: on {message.case_id}, parent on {parents[0]}")
        own = message_ids(raw, "Message-ID")
        for i in own[:1]:
            case_of.setdefault(i, message.case_id)
    assert pairs > 100
    assert misplaced == []
