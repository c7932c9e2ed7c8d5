"""The pipeline: routing, threading, acknowledgements, staff commands, loops and bounces."""

from __future__ import annotations

from decimal import Decimal

import pytest

from goodwill.accounts.models import User
from goodwill.automation.models import EmailTemplate
from goodwill.automation.services import template_save
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, CaseState, OutboundMessage, Section, Watcher
from goodwill.mailgate.models import (
    InboundAddress,
    InboundMessage,
    MessageRef,
    SectionMail,
    Suppression,
)
from goodwill.mailgate.pipeline import inbound_process, split_commands
from goodwill.partners.models import Partner, TimelineEntry
from tests.factories import CaseFactory, SectionFactory
from tests.mailgate.mail import deliver, make_mail

pytestmark = pytest.mark.django_db

Status = InboundMessage.Status


@pytest.fixture
def support(bob: User) -> Section:
    section = SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")
    section.responsible = bob
    section.save()
    return section


def _ack(case: Case) -> OutboundMessage:
    return OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.ACK)


def test_new_message_opens_a_case_thanks_the_sender_and_records_a_prospect(
    support: Section, bob: User
) -> None:
    bob.email = "bob@acme.example"
    bob.save()
    message = deliver(make_mail())
    assert message.status == Status.PROCESSED, message.reason
    case = message.case
    assert case is not None
    assert case.section == support
    assert case.subject == "The pump is leaking"
    assert case.requester_email == "pat@customer.example"
    assert case.channel == Case.Channel.EMAIL
    prospect = Partner.objects.get(email="pat@customer.example")
    assert prospect.is_prospect
    assert prospect.name == "Pat Customer"
    assert case.partner == prospect
    entry = message.entry
    assert entry.kind == TimelineEntry.Kind.EMAIL_IN
    assert "our pump leaks since Monday" in entry.body
    ack = _ack(case)
    assert ack.to == ["pat@customer.example"]
    assert f"[#{case.number}]" in ack.subject
    assert f"#{case.number}" in ack.body_text
    assert ack.in_reply_to == message.message_id
    # The responsible person hears of it.
    notify = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.NOTIFY)
    assert notify.to == ["bob@acme.example"]
    assert MessageRef.objects.filter(case=case, message_id=message.message_id).exists()


def test_the_same_message_twice_is_stored_once(support: Section) -> None:
    mail = make_mail()
    first = deliver(mail)
    second = deliver(mail)
    assert first.pk == second.pk
    assert InboundMessage.objects.count() == 1
    assert Case.objects.count() == 1


def test_a_reply_to_the_acknowledgement_threads_back(support: Section) -> None:
    first = deliver(make_mail())
    ack = _ack(first.case)
    reply = deliver(
        make_mail(subject="Re: something else entirely", in_reply_to=ack.message_id, body="More")
    )
    assert reply.case == first.case
    assert Case.objects.count() == 1


def test_a_reply_referencing_a_received_message_threads_back(support: Section) -> None:
    first = deliver(make_mail(message_id="<original@customer.example>"))
    follow = deliver(
        make_mail(subject="forgot", references="<original@customer.example>", body="Also this")
    )
    assert follow.case == first.case


def test_a_rewritten_message_id_is_recognised(support: Section) -> None:
    first = deliver(
        make_mail(
            message_id="<rewritten@mail.gmail.example>",
            headers={"X-Google-Original-Message-ID": "<the-original@customer.example>"},
        )
    )
    follow = deliver(make_mail(in_reply_to="<the-original@customer.example>", body="Ping"))
    assert follow.case == first.case


def test_the_plus_address_threads(support: Section) -> None:
    case = CaseFactory(section=support, requester_email="pat@customer.example")
    message = deliver(make_mail(to=f"support+c{case.number}@acme.example", subject="new words"))
    assert message.case == case


def test_the_subject_tag_threads_only_for_people_the_case_knows(support: Section) -> None:
    case = CaseFactory(section=support, requester_email="pat@customer.example")
    known = deliver(make_mail(subject=f"Re: [#{case.number}] hello"))
    assert known.case == case
    stranger = deliver(
        make_mail(sender="eve@evil.example", subject=f"[#{case.number}] give me the data")
    )
    assert stranger.case != case
    assert stranger.case.requester_email == "eve@evil.example"


def test_someone_in_cc_becomes_a_watcher(support: Section) -> None:
    first = deliver(make_mail(cc="Lee <lee@customer.example>"))
    assert Watcher.objects.filter(case=first.case, email="lee@customer.example").exists()
    # Lee answers from Cc, with only the tag to go by (Outlook dropped In-Reply-To).
    lee = deliver(
        make_mail(sender="lee@customer.example", subject=f"RE: [#{first.case.number}] pump")
    )
    assert lee.case == first.case


def test_a_customer_reply_reopens_a_closed_case(support: Section) -> None:
    case = CaseFactory(section=support, requester_email="pat@customer.example", state="pending")
    deliver(make_mail(to=f"support+c{case.number}@acme.example"))
    case.refresh_from_db()
    assert case.state == CaseState.OPEN


def test_a_reply_to_a_final_closed_case_opens_a_linked_new_one(support: Section) -> None:
    case = CaseFactory(
        section=support, requester_email="pat@customer.example", type="claim", state="open"
    )
    case = case_services.case_close(case=case, by=None)
    assert case.final
    message = deliver(make_mail(to=f"support+c{case.number}@acme.example"))
    assert message.case != case
    assert message.case.related == case
    assert "closed for good" in message.reason


def test_staff_reply_by_mail_is_relayed_and_commands_apply(
    support: Section, bob: User, maria: User
) -> None:
    bob.email = "bob@acme.example"
    bob.save()
    maria.email = "maria@acme.example"
    maria.save()
    case = CaseFactory(
        section=support, requester_email="pat@customer.example", type="opportunity", state="open"
    )
    body = (
        "Set-State: pending\nSet-Priority: 1\nSet-User: maria@acme.example\n"
        "Set-Revenue: 1,200.50\nSet-Probability: 40%\n\nDear Pat, the part is on its way."
    )
    message = deliver(
        make_mail(
            sender="Bob <bob@acme.example>", to=f"support+c{case.number}@acme.example", body=body
        )
    )
    assert message.status == Status.PROCESSED, message.reason
    case.refresh_from_db()
    assert case.state == CaseState.PENDING
    assert case.priority == 1
    assert case.responsible == maria
    assert case.planned_revenue == Decimal("1200.50")
    assert case.probability == 40
    reply = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.REPLY)
    assert reply.to == ["pat@customer.example"]
    assert reply.created_by == bob
    assert reply.body_text.startswith("Dear Pat")
    assert "Set-State" not in reply.body_text


def test_a_bad_command_gets_an_error_reply_and_the_rest_is_kept(
    support: Section, bob: User
) -> None:
    bob.email = "bob@acme.example"
    bob.save()
    case = CaseFactory(section=support, requester_email="pat@customer.example", state="open")
    body = "Set-Priority: 9\nSet-Section: NOPE\nSet-State: pending\n\nOn it."
    deliver(
        make_mail(sender="bob@acme.example", to=f"support+c{case.number}@acme.example", body=body)
    )
    case.refresh_from_db()
    assert case.state == CaseState.PENDING
    error = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.ERROR)
    assert error.to == ["bob@acme.example"]
    assert "Set-Priority" in error.body_text
    assert "NOPE" in error.body_text
    assert (
        OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.REPLY).body_text
        == "On it."
    )


def test_split_commands_stops_at_the_first_text_line() -> None:
    commands, rest = split_commands("set-state: done\n\nHello\nSet-Priority: 1")
    assert commands == [("Set-State", "done")]
    assert rest == "Hello\nSet-Priority: 1"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"List-Id": "<users.lists.example>"},
    ],
)
def test_no_acknowledgement_for_automatic_mail(support: Section, headers: dict[str, str]) -> None:
    message = deliver(make_mail(headers=headers))
    assert message.case is not None
    assert not OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ACK).exists()


def test_mail_from_our_own_address_is_ignored_as_a_loop(support: Section) -> None:
    message = deliver(make_mail(sender="support@acme.example"))
    assert message.status == Status.IGNORED
    assert "Loop" in message.reason
    assert not Case.objects.exists()


def test_automatic_mail_per_address_is_limited(support: Section, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAILGATE_AUTO_PER_HOUR = 3
    for n in range(5):
        deliver(make_mail(subject=f"Problem {n}"))
    assert Case.objects.count() == 5
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ACK).count() == 3


def test_a_delivery_report_marks_the_address_and_lands_on_the_case(support: Section) -> None:
    case = CaseFactory(section=support, requester_email="gone@customer.example", state="open")
    sent = case_services.case_reply(case=case, by=None, body="Here is your answer")
    report = f"""From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>
To: support@acme.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.acme.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.example

Final-Recipient: rfc822; gone@customer.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B
Content-Type: text/rfc822-headers

Message-ID: {sent.message_id}
Subject: {sent.subject}

--B--
""".replace("\n", "\r\n").encode()
    message = deliver(report)
    assert message.status == Status.PROCESSED, message.reason
    assert message.case == case
    suppressed = Suppression.objects.get(email="gone@customer.example")
    assert suppressed.status == "5.1.1"
    assert Case.objects.count() == 1
    # The bounced address gets no more automatic mail.
    deliver(make_mail(sender="gone@customer.example", subject="another"))
    assert not OutboundMessage.objects.filter(
        kind=OutboundMessage.Kind.ACK, to=["gone@customer.example"]
    ).exists()


def test_no_section_quarantines_and_a_retry_after_the_fix_processes(support: Section) -> None:
    message = deliver(make_mail(to="unknown@acme.example"))
    assert message.status == Status.QUARANTINED
    assert "unknown@acme.example" in message.reason
    InboundAddress.objects.create(address="unknown@acme.example", section=support)
    message = inbound_process(message)
    assert message.status == Status.PROCESSED
    assert message.case.section == support


def test_garbage_is_quarantined_or_processed_never_raised(support: Section) -> None:
    message = deliver(b"\x00\xff\xfe not a mail at all \r\n\r\n\x00", section=support)
    assert message.status in {Status.PROCESSED, Status.QUARANTINED, Status.IGNORED}
    assert message.raw.open("rb").read() == b"\x00\xff\xfe not a mail at all \r\n\r\n\x00"


def test_attachments_are_stored_and_oversized_ones_noted(support: Section, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CASE_ATTACHMENT_MAX_MB = 1
    message = deliver(
        make_mail(
            attachments=[
                ("photo.png", "image/png", b"\x89PNG" + b"0" * 100),
                ("huge.bin", "application/octet-stream", b"x" * (1024 * 1024 + 10)),
            ]
        )
    )
    names = list(message.case.attachments.values_list("name", flat=True))
    assert names == ["photo.png"]
    assert "huge.bin" in message.entry.body
    assert "dropped" in message.entry.body


def test_section_settings_turn_off_acknowledgements_and_contacts(support: Section) -> None:
    SectionMail.objects.create(section=support, acknowledge=False, create_contacts=False)
    message = deliver(make_mail())
    assert message.case.partner is None
    assert not Partner.objects.exists()
    assert not OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ACK).exists()


def test_relay_goes_to_the_other_participants(support: Section) -> None:
    SectionMail.objects.create(section=support, relay=True)
    case = CaseFactory(section=support, requester_email="pat@customer.example", state="open")
    case_services.watcher_add(case=case, by=None, email="lee@customer.example")
    deliver(make_mail(sender="lee@customer.example", to=f"support+c{case.number}@acme.example"))
    relay = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.RELAY)
    assert relay.to == ["pat@customer.example"]


def test_a_reply_from_the_ui_threads_under_the_received_message(support: Section) -> None:
    first = deliver(make_mail(message_id="<question@customer.example>"))
    reply = case_services.case_reply(case=first.case, by=None, body="Answer")
    assert "<question@customer.example>" in reply.references.split()


def test_a_message_over_the_size_limit_keeps_its_text_and_drops_its_attachments(
    support: Section,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.MAILGATE_MAX_MESSAGE_MB = 1
    message = deliver(
        make_mail(
            body="See the two scans.",
            attachments=[
                ("a.pdf", "application/pdf", b"a" * 600_000),
                ("b.pdf", "application/pdf", b"b" * 600_000),
            ],
        )
    )
    assert message.status == Status.PROCESSED
    assert not message.case.attachments.exists()
    assert "See the two scans." in message.entry.body
    assert "a.pdf" in message.entry.body
    assert "over the 1 MB limit" in message.entry.body
    # The original is kept whole.
    assert message.raw.open("rb").read() == InboundMessage.objects.get().raw.open("rb").read()
    assert message.size > 1024 * 1024


def test_an_internal_note_notifies_the_other_staff(
    support: Section,
    bob: User,
    maria: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    maria.email = "maria@acme.example"
    maria.save()
    bob.email = "bob@acme.example"
    bob.save()
    case = CaseFactory(section=support, requester_email="pat@customer.example", state="open")
    case_services.case_assign(case=case, by=maria, responsible=maria)
    case_services.watcher_add(case=case, by=maria, user=bob)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_note_add(case=case, by=bob, body="Customer is on holiday until Monday")
    notify = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.NOTIFY)
    assert notify.to == ["maria@acme.example"]  # not bob, who wrote it
    assert "on holiday" in notify.body_text
    # The customer never sees an internal note.
    assert all(
        "pat@customer.example" not in m.to + m.cc for m in OutboundMessage.objects.filter(case=case)
    )


def test_a_staff_reply_by_mail_threads_under_the_customers_messages(
    support: Section, bob: User
) -> None:
    bob.email = "bob@acme.example"
    bob.save()
    first = deliver(make_mail(message_id="<question-1@customer.example>"))
    case = first.case
    deliver(
        make_mail(
            sender="bob@acme.example",
            to=f"support+c{case.number}@acme.example",
            body="Please restart it.",
            message_id="<bob-1@acme.example>",
        )
    )
    reply = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.REPLY)
    # The thread the customer saw: their question and our acknowledgement;
    # never the staff member's own mail to Goodwill.
    ack = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.ACK)
    assert reply.in_reply_to == ack.message_id
    assert "<question-1@customer.example>" in reply.references.split()
    assert "<bob-1@acme.example>" not in reply.references


@pytest.mark.parametrize(
    "sender",
    ["father.time@xcar.wooster.local", '"rite1@reset.jp"@p6044-ipbf.ocn.ne.jp'],
)
def test_a_sender_address_we_cannot_write_to_still_opens_a_case(
    support: Section, sender: str
) -> None:
    message = deliver(make_mail(sender=sender))
    assert message.status == Status.PROCESSED, message.reason
    assert message.case.requester_email == ""
    assert not OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ACK).exists()


# ---- notifications and relays through email templates


def _template(maria: User, code: str, subject: str, text: str, html: str = "") -> EmailTemplate:
    return template_save(
        template=None,
        by=maria,
        values={
            "code": code,
            "name": code,
            "subject": subject,
            "body_text": text,
            "body_html": html,
        },
    )


def test_staff_notifications_use_the_sections_template(
    support: Section, bob: User, maria: User
) -> None:
    bob.email = "bob@acme.example"
    bob.save()
    SectionMail.objects.create(
        section=support,
        notify_template=_template(
            maria,
            "staff-new-message",
            "{{ case.reference }} from {{ message.author }}",
            "{{ message.text }}\n--\n{{ case.link }}",
            "<p>{{ message.text }}</p>",
        ),
    )
    message = deliver(make_mail(body="<b>our pump</b> leaks"))
    notify = OutboundMessage.objects.get(case=message.case, kind=OutboundMessage.Kind.NOTIFY)
    # The case tag is added for threading, as to every automatic mail.
    number = message.case.number
    assert notify.subject == f"[#{number}] #{number} from Pat Customer <pat@customer.example>"
    assert notify.body_text.startswith("<b>our pump</b> leaks")
    assert f"/cases/{message.case.number}/" in notify.body_text
    # The HTML part escapes what the customer wrote.
    assert "<p>&lt;b&gt;our pump&lt;/b&gt; leaks" in notify.body_html


def test_an_internal_note_notification_says_it_is_internal_through_the_template(
    support: Section,
    bob: User,
    maria: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    maria.email = "maria@acme.example"
    maria.save()
    SectionMail.objects.create(
        section=support,
        notify_template=_template(
            maria,
            "staff-note",
            "{% if message.internal %}Internal: {% endif %}{{ case.subject }}",
            "{{ message.author }}: {{ message.text }}",
        ),
    )
    case = CaseFactory(section=support, subject="Pump", state="open")
    case_services.case_assign(case=case, by=maria, responsible=maria)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_note_add(case=case, by=bob, body="On holiday until Monday")
    notify = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.NOTIFY)
    assert notify.subject == f"[#{case.number}] Internal: Pump"
    assert notify.body_text == f"{bob.display_name}: On holiday until Monday"


def test_relays_use_the_sections_relay_template(support: Section, maria: User) -> None:
    SectionMail.objects.create(
        section=support,
        relay=True,
        relay_template=_template(
            maria,
            "relay",
            "Re: {{ case.subject }} {{ case.reference }}",
            "{{ message.author }} wrote:\n{{ message.text }}",
        ),
    )
    case = CaseFactory(
        section=support, subject="Pump", requester_email="pat@customer.example", state="open"
    )
    case_services.watcher_add(case=case, by=None, email="lee@customer.example")
    deliver(
        make_mail(
            sender="lee@customer.example",
            to=f"support+c{case.number}@acme.example",
            body="Same here.",
        )
    )
    relay = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.RELAY)
    assert relay.to == ["pat@customer.example"]
    assert relay.subject == f"[#{case.number}] Re: Pump #{case.number}"
    assert relay.body_text.startswith("lee@customer.example wrote:\nSame here.")


def test_without_templates_the_built_in_texts_are_sent(support: Section, bob: User) -> None:
    bob.email = "bob@acme.example"
    bob.save()
    message = deliver(make_mail())
    notify = OutboundMessage.objects.get(case=message.case, kind=OutboundMessage.Kind.NOTIFY)
    assert notify.subject.endswith("New message: The pump is leaking")
    assert "wrote on" in notify.body_text
    assert notify.body_html == ""
