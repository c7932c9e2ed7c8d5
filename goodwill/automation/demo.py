"""Demo automation: office hours, an SLA for Support, templates, Support's routing
table and a few rules.

Loaded after the demo cases and mail, so the rules act on what people do in
the demo from then on, not on the history.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from goodwill.accounts.models import User
from goodwill.automation.models import BusinessCalendar, RouteTable, Rule, SlaPolicy
from goodwill.automation.routing import route_table_save
from goodwill.automation.services import rule_save, template_save
from goodwill.cases.models import Section
from goodwill.mailgate.setup_services import section_mail_save


def demo_automation_present() -> bool:
    return Rule.objects.exists()


def demo_automation_load(*, users: dict[str, User]) -> None:
    maria = users.get("maria") or next(iter(users.values()))
    sections = {s.code: s for s in Section.objects.filter(code__in=["SUPPORT", "FINANCE"])}
    support, finance = sections.get("SUPPORT"), sections.get("FINANCE")
    if support is None:
        return
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name="Office hours",
        defaults={
            "timezone": settings.TIME_ZONE,
            "hours": [
                {"weekday": day, "start": start, "end": end}
                for day in range(5)
                for start, end in (("08:30", "12:30"), ("13:30", "17:30"))
            ],
            "holidays": [
                {"date": "2026-12-25", "name": "Christmas Day"},
                {"date": "2027-01-01", "name": "New Year's Day"},
            ],
        },
    )
    SlaPolicy.objects.get_or_create(
        name="Support standard",
        defaults={
            "section": support,
            "calendar": calendar,
            "first_response_hours": Decimal(4),
            "resolution_hours": Decimal(24),
            "at_risk_percent": 75,
        },
    )
    template_save(
        template=None,
        by=maria,
        values={
            "code": "escalated",
            "name": "Escalated to you",
            "subject": "Escalated: {{ case.subject }}",
            "body_text": (
                "{{ case.reference }} ({{ case.subject }}) missed its service level and is "
                "now yours in {{ case.section }}.\n\nRequester: {{ requester.name }} "
                "<{{ requester.email }}>\n{{ case.link }}\n"
            ),
        },
    )
    template_save(
        template=None,
        by=maria,
        values={
            "code": "billing-received",
            "name": "Billing question received",
            "subject": "Your billing question ({{ case.reference }})",
            "body_text": (
                "Dear {{ requester.name }},\n\nour accounts team has your question about "
                '"{{ case.subject }}" and answers within one working day.\n\n'
                "{{ site.name }}\n"
            ),
        },
    )
    notify = template_save(
        template=None,
        by=maria,
        values={
            "code": "staff-new-message",
            "name": "Staff notification",
            "subject": "{% if message.internal %}Note{% else %}New message{% endif %} on "
            "{{ case.reference }}: {{ case.subject }}",
            "body_text": (
                "{{ message.author }} "
                "{% if message.internal %}added an internal note{% else %}wrote{% endif %} "
                "on {{ case.reference }} ({{ case.subject }}):\n\n{{ message.text }}\n\n"
                "{% if sla.resolution_due %}To be resolved by "
                '{{ sla.resolution_due|date:"D j M H:i" }}.\n{% endif %}'
                "{{ case.link }}\n"
                "{% if message.internal %}\nThis note is internal: do not forward it.\n"
                "{% endif %}"
            ),
        },
    )
    # Support's staff hear of new messages through that template.
    section_mail_save(by=maria, section=support, values={"notify_template": notify})
    if finance is not None:
        # Support's routing table (iDempiere's request routes): billing questions
        # go to Finance; whatever no route takes goes round robin in Support.
        route_table_save(
            section=support,
            routes=[{"keywords": "invoice, billing, payment", "to_section": finance}],
            fallback=RouteTable.Fallback.ROUND_ROBIN,
            by=maria,
        )
        rule_save(
            rule=None,
            by=maria,
            values={
                "name": "Acknowledge billing questions moved to Finance",
                "sequence": 10,
                "trigger": "field",
                "field_name": "section",
                "section": finance,
                "conditions": {"pattern": "invoice, billing, payment", "pattern_in": "subject"},
                "actions": [
                    {"type": "email", "template": "billing-received", "to": ["requester"]},
                ],
            },
        )
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Escalate SLA breaches",
            "sequence": 20,
            "trigger": "sla",
            "sla_event": "breached",
            "actions": [
                {"type": "escalate"},
                {"type": "email", "template": "escalated", "to": ["responsible"]},
            ],
        },
    )
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Urgent mail is top priority",
            "sequence": 30,
            "trigger": "message_in",
            "conditions": {"pattern": r"\b(urgent|asap|down)\b", "pattern_regex": True},
            "actions": [{"type": "set_priority", "value": 1}],
        },
    )
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Remind the responsible of a quiet pending case",
            "sequence": 40,
            "trigger": "time",
            "time_amount": 3,
            "time_unit": "days",
            "time_base": "last_action",
            "conditions": {"states": ["pending"]},
            "actions": [{"type": "remind", "who": "responsible"}],
        },
    )
