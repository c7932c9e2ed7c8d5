"""End to end: an invoice question by email is routed, acknowledged, breaches
its SLA and is escalated, and every email is read back from a real SMTP server.

Mail comes in through the gateway's pipeline; rules route it to Billing and
acknowledge it with a template; Billing's SLA gives a first answer one
business hour; nobody answers, the scheduler's check finds the breach, and the
breach rule escalates the case to the parent section, whose manager is told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.automation import sla
from goodwill.automation.models import BusinessCalendar, CaseSla, SlaPolicy, SlaStatus
from goodwill.automation.services import rule_save, template_save
from goodwill.cases.models import Section
from goodwill.mailgate.models import InboundMessage, SectionMail
from goodwill.mailgate.outbound import outbox_flush
from tests.factories import SectionFactory, UserFactory
from tests.mailgate.mail import deliver, make_mail
from tests.mailgate.smtp_sink import SmtpSink, smtp_sink  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def maria(db: None) -> User:
    return UserFactory(username="maria", first_name="Maria", roles=[Role.MANAGER])


@pytest.fixture
def sections(maria: User) -> dict[str, Section]:
    management = SectionFactory(name="Customer care", code="CARE")
    management.responsible = maria
    management.save()
    support = SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")
    billing = SectionFactory(name="Billing", code="BILLING", email="billing@acme.example")
    for section in (support, billing):
        section.parent = management
        section.save()
    # The gateway's own acknowledgement is off: a rule sends it once routed.
    SectionMail.objects.create(section=support, acknowledge=False, notify=False)
    return {"care": management, "support": support, "billing": billing}


def test_invoice_mail_is_routed_acknowledged_and_escalated_on_breach(
    maria: User,
    sections: dict[str, Section],
    smtp_sink: SmtpSink,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks: Any,
) -> None:
    billing, care = sections["billing"], sections["care"]
    template_save(
        template=None,
        by=maria,
        values={
            "code": "billing-ack",
            "name": "Billing acknowledgement",
            "subject": "We have your invoice question ({{ case.reference }})",
            "body_text": "Dear {{ requester.name }},\n\n{{ section.name }} answers within a "
            "business hour.\n",
        },
    )
    template_save(
        template=None,
        by=maria,
        values={
            "code": "escalated",
            "name": "Escalated",
            "subject": "Escalated: {{ case.subject }}",
            "body_text": "{{ case.reference }} missed its SLA and is now in {{ case.section }}.\n"
            "{{ case.link }}",
        },
    )
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Invoices to Billing",
            "sequence": 1,
            "trigger": "created",
            "conditions": {"pattern": "invoice", "pattern_in": "subject"},
            "actions": [
                {"type": "set_section", "value": billing.pk},
                {"type": "email", "template": "billing-ack", "to": ["requester"]},
            ],
        },
    )
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Escalate breaches",
            "trigger": "sla",
            "sla_event": "breached",
            "actions": [
                {"type": "escalate"},
                {"type": "email", "template": "escalated", "to": ["responsible"]},
            ],
        },
    )
    calendar = BusinessCalendar.objects.create(
        name="Office",
        timezone="Europe/Paris",
        hours=[{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
    )
    SlaPolicy.objects.create(
        name="Billing", section=billing, calendar=calendar, first_response_hours=Decimal(1)
    )

    arrived = datetime(2026, 11, 30, 16, 30, tzinfo=PARIS)  # a Monday
    with time_machine.travel(arrived, tick=False), django_capture_on_commit_callbacks(execute=True):
        message = deliver(make_mail(subject="Question about invoice 2026-118"))
    assert message.status == InboundMessage.Status.PROCESSED
    case = message.case
    assert case is not None
    case.refresh_from_db()
    assert case.section == billing
    clocks = CaseSla.objects.get(case=case)
    # Half an hour on Monday and half an hour on Tuesday morning.
    assert clocks.first_response_due == datetime(2026, 12, 1, 9, 30, tzinfo=PARIS)

    with time_machine.travel(arrived + timedelta(minutes=1), tick=False):
        assert outbox_flush() == 1
    (ack,) = smtp_sink.wait_for(1)
    assert ack.rcpt_tos == ["pat@customer.example"]
    assert ack.message["Subject"] == (
        f"[#{case.number}] We have your invoice question (#{case.number})"
    )
    assert "Billing answers within a business hour." in ack.message.get_content()
    assert ack.message["Auto-Submitted"] == "auto-generated"

    # Nobody answers. Tuesday 09:31: the scheduler's check finds the breach.
    with (
        time_machine.travel(datetime(2026, 12, 1, 9, 31, tzinfo=PARIS), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sla.sla_check(sla.sla_due_claim())
    case.refresh_from_db()
    assert CaseSla.objects.get(case=case).status == SlaStatus.BREACHED
    assert case.section == care
    assert case.responsible == maria

    with time_machine.travel(datetime(2026, 12, 1, 9, 32, tzinfo=PARIS), tick=False):
        assert outbox_flush() == 1
    escalated = smtp_sink.wait_for(2)[-1]
    assert escalated.rcpt_tos == [maria.email]
    assert escalated.message["Subject"] == f"[#{case.number}] Escalated: {case.subject}"
    assert "missed its SLA and is now in Customer care" in escalated.message.get_content()
    assert escalated.message["In-Reply-To"] is not None


@pytest.mark.parametrize("batched", [False, True])
def test_the_gateway_acknowledges_with_the_sections_template_in_the_customers_language(
    maria: User, sections: dict[str, Section], batched: bool
) -> None:
    from goodwill.cases.models import OutboundMessage
    from goodwill.mailgate.batch import inbound_process_many
    from goodwill.mailgate.inbound import inbound_receive
    from goodwill.partners.services import EmailInput, partner_create

    default = template_save(
        template=None,
        by=maria,
        values={
            "code": "ack",
            "name": "Ack",
            "subject": "Received: {{ case.subject }}",
            "body_text": "Case {{ case.reference }}.",
            "body_html": "<p>{{ case.subject }}</p>",
        },
    )
    template_save(
        template=None,
        by=maria,
        values={
            "code": "ack",
            "language": "fr",
            "name": "Accusé",
            "subject": "Reçu : {{ case.subject }}",
            "body_text": "Dossier {{ case.reference }}.",
        },
    )
    SectionMail.objects.filter(section=sections["support"]).update(
        acknowledge=True, ack_template=default
    )
    partner_create(
        by=None,
        kind="person",
        name="Anne Client",
        language="fr",
        emails=[EmailInput(email="anne@client.example", primary=True)],
    )
    mails = [
        make_mail(sender="Anne <anne@client.example>", subject="Pompe <cassée>"),
        make_mail(sender="Pat <pat@elsewhere.example>", subject="Pump <broken>"),
    ]
    if batched:
        stored = [inbound_receive(m.as_bytes(), via="pipe", enqueue=False).message for m in mails]
        inbound_process_many(stored)
    else:
        for mail in mails:
            deliver(mail)
    french, english = (
        OutboundMessage.objects.get(kind="ack", to=[a])
        for a in ("anne@client.example", "pat@elsewhere.example")
    )
    assert french.subject.endswith("Reçu : Pompe <cassée>")
    assert french.body_text.startswith("Dossier #")
    assert french.body_html == ""
    assert english.subject.endswith("Received: Pump <broken>")
    assert english.body_html == "<p>Pump &lt;broken&gt;</p>"
