"""Rules: each trigger, condition and action, the log, the dry run and the depth limit.

The case services emit their events after commit; each test wraps what it does
in ``django_capture_on_commit_callbacks(execute=True)`` so the rules run (and
the events their actions emit, recursively) when the block ends.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.automation import engine
from goodwill.automation.models import EmailTemplate, Rule, RuleLog
from goodwill.automation.services import rule_dry_run, rule_save, template_save
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, CaseCategory, OutboundMessage, Section, Stage, Watcher
from goodwill.partners.models import TimelineEntry
from tests.factories import CaseFactory, PartnerFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db

Run = Any  # the django_capture_on_commit_callbacks fixture


@pytest.fixture
def maria(db: None) -> User:
    return UserFactory(username="maria", first_name="Maria", roles=[Role.MANAGER])


@pytest.fixture
def agents(db: None) -> list[User]:
    return [UserFactory(username=f"agent{n}", roles=[Role.AGENT]) for n in range(3)]


@pytest.fixture
def support(agents: list[User]) -> Section:
    parent = SectionFactory(name="Support management", code="SUPMGMT")
    section = SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")
    section.parent = parent
    section.save()
    section.members.set(agents)
    return section


@pytest.fixture
def billing() -> Section:
    return SectionFactory(name="Billing", code="BILLING")


def make_rule(maria: User, **values: Any) -> Rule:
    values.setdefault("name", "A rule")
    return rule_save(rule=None, by=maria, values=values)


def case_in(section: Section, run: Run, **values: Any) -> Case:
    with run(execute=True):
        case = CaseFactory(section=section, **values)
    case.refresh_from_db()
    return case


def entries(case: Case, action: str) -> list[TimelineEntry]:
    return [
        e
        for e in TimelineEntry.objects.order_by("pk")
        if e.subject_id == case.pk and e.action == action
    ]


# ---- triggers


def test_on_create_a_keyword_routes_to_billing_and_the_timeline_names_the_rule(
    maria: User, support: Section, billing: Section, django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria,
        name="Invoices to Billing",
        trigger="created",
        conditions={"pattern": "invoice, billing", "pattern_in": "subject"},
        actions=[
            {"type": "set_section", "value": billing.pk},
            {"type": "set_priority", "value": 1},
        ],
    )
    case = case_in(support, django_capture_on_commit_callbacks, subject="Wrong INVOICE amount")
    other = case_in(support, django_capture_on_commit_callbacks, subject="The pump leaks")
    assert (case.section, case.priority) == (billing, 1)
    assert other.section == support
    changed = entries(case, "updated") + entries(case, "priority")
    assert changed
    assert {e.via for e in changed} == {"Rule 'Invoices to Billing'"}
    rule = Rule.objects.get()
    assert rule.fire_count == 1
    assert rule.last_fired_at is not None
    failed = RuleLog.objects.filter(case=other).get().results[0]
    assert failed["matched"] is False
    assert "no match for" in failed["failed"]


def test_a_state_change_from_open_to_pending_logs_a_note(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria,
        trigger="state",
        from_state="open",
        to_state="pending",
        actions=[{"type": "note", "body": "Waiting on {{ requester.email }}"}],
    )
    case = case_in(
        support,
        django_capture_on_commit_callbacks,
        state="open",
        requester_email="pat@customer.example",
    )
    assert not entries(case, "note")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_set_state(case=case, by=None, action="pending")
    (note,) = entries(case, "note")
    assert note.body == "Waiting on pat@customer.example"


def test_escalation_is_a_state_trigger_of_its_own(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria, trigger="state", to_state="escalated", actions=[{"type": "set_priority", "value": 1}]
    )
    case = case_in(support, django_capture_on_commit_callbacks, state="open")
    assert case.priority == 3
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_escalate(case=case, by=None)
    case.refresh_from_db()
    assert case.section == support.parent
    assert case.priority == 1


def test_a_received_message_adds_watchers(
    maria: User, support: Section, agents: list[User], django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria,
        trigger="message_in",
        conditions={"pattern": "urgent"},
        actions=[
            {"type": "add_watchers", "users": [agents[2].pk], "emails": ["boss@customer.example"]}
        ],
    )
    case = case_in(support, django_capture_on_commit_callbacks, state="open")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_email_in(
            case=case,
            author=None,
            sender="pat@customer.example",
            body="Not urgent at all? It IS urgent.",
        )
        case_services.case_email_in(
            case=case, author=None, sender="pat@customer.example", body="Urgent again"
        )
    assert set(Watcher.objects.filter(case=case).values_list("user_id", "email")) == {
        (agents[2].pk, ""),
        (None, "boss@customer.example"),
    }


def test_a_staff_reply_is_an_outgoing_message_trigger(
    maria: User, support: Section, agents: list[User], django_capture_on_commit_callbacks: Run
) -> None:
    stage = Stage.objects.filter(section=support).order_by("sequence").last()
    make_rule(maria, trigger="message_out", actions=[{"type": "set_stage", "value": stage.pk}])
    case = case_in(
        support,
        django_capture_on_commit_callbacks,
        state="open",
        requester_email="pat@customer.example",
    )
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_reply(case=case, by=agents[0], body="Here is the fix.")
    case.refresh_from_db()
    assert case.stage == stage


def test_a_field_change_trigger_watches_only_its_field(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria,
        trigger="field",
        field_name="priority",
        actions=[{"type": "note", "body": "Priority moved"}],
    )
    case = case_in(support, django_capture_on_commit_callbacks, state="open")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_update(case=case, by=None, values={"subject": "Renamed"})
    assert not entries(case, "note")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_set_priority(case=case, by=None, priority=2)
    assert len(entries(case, "note")) == 1


# ---- conditions


@pytest.mark.parametrize(
    ("conditions", "failure"),
    [
        ({"states": ["pending"]}, "the state is not one of those chosen"),
        ({"priority_min": 1, "priority_max": 2}, "the priority is not between 1 and 2"),
        ({"channels": ["phone"]}, "the channel is not one of those chosen"),
        ({"min_messages": 2}, "fewer than 2 messages"),
        ({"responsibles": ["none"]}, "the responsible is not one of those chosen"),
        ({"pattern": "^refund", "pattern_regex": True}, "no match for '^refund'"),
        ({"requester_known": True}, "the requester is not a known contact"),
        ({"sla_status": ["breached"]}, "the SLA status is not one of those chosen"),
    ],
)
def test_the_log_names_the_first_condition_that_failed(
    maria: User,
    support: Section,
    agents: list[User],
    django_capture_on_commit_callbacks: Run,
    conditions: dict[str, Any],
    failure: str,
) -> None:
    make_rule(
        maria,
        trigger="created",
        conditions=conditions,
        actions=[{"type": "set_priority", "value": 5}],
    )
    case = case_in(
        support,
        django_capture_on_commit_callbacks,
        subject="A refund please",
        channel="email",
        responsible=agents[0],
    )
    assert case.priority == 3
    (log,) = RuleLog.objects.filter(case=case)
    assert log.results[0]["failed"] == failure


def test_conditions_that_hold_together_fire(
    maria: User, support: Section, agents: list[User], django_capture_on_commit_callbacks: Run
) -> None:
    partner = PartnerFactory(name="Known Customer Ltd")
    make_rule(
        maria,
        trigger="created",
        section=support,
        conditions={
            "states": ["draft"],
            "priority_min": 2,
            "priority_max": 3,
            "channels": ["email"],
            "responsibles": [agents[0].pk],
            "partners": [partner.pk],
            "pattern": "^re(fund|turn)",
            "pattern_regex": True,
            "requester_known": True,
        },
        actions=[{"type": "set_priority", "value": 1}],
    )
    case = case_in(
        support,
        django_capture_on_commit_callbacks,
        subject="Refund please",
        channel="email",
        responsible=agents[0],
        partner=partner,
    )
    assert case.priority == 1


def test_a_rule_that_says_stop_ends_the_evaluation(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria,
        name="first",
        sequence=1,
        trigger="created",
        stop=True,
        actions=[{"type": "set_priority", "value": 2}],
    )
    make_rule(
        maria,
        name="second",
        sequence=2,
        trigger="created",
        actions=[{"type": "set_priority", "value": 5}],
    )
    case = case_in(support, django_capture_on_commit_callbacks)
    assert case.priority == 2
    assert [r["name"] for r in RuleLog.objects.get(case=case).results] == ["first"]


def test_rules_that_undo_each_other_stop_at_the_depth_limit_with_a_warning(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria,
        name="ping",
        trigger="state",
        to_state="pending",
        actions=[{"type": "set_state", "value": "open"}],
    )
    make_rule(
        maria,
        name="pong",
        trigger="state",
        to_state="open",
        actions=[{"type": "set_state", "value": "pending"}],
    )
    case = case_in(support, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_set_state(case=case, by=None, action="open")
    (warning,) = entries(case, "rules_stopped")
    assert "5 rule actions deep" in warning.body
    assert RuleLog.objects.filter(case=case).count() == engine.MAX_DEPTH + 1


# ---- actions


def test_round_robin_takes_the_members_in_turn_and_least_loaded_the_idlest(
    maria: User, support: Section, agents: list[User], django_capture_on_commit_callbacks: Run
) -> None:
    rule = make_rule(
        maria, trigger="created", actions=[{"type": "assign", "method": "round_robin"}]
    )
    picked = [case_in(support, django_capture_on_commit_callbacks).responsible for _ in range(4)]
    assert picked == [agents[0], agents[1], agents[2], agents[0]]
    rule_save(
        rule=rule, by=maria, values={"actions": [{"type": "assign", "method": "least_loaded"}]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        for case in Case.objects.filter(responsible=agents[1]):
            case_services.case_set_state(case=case, by=None, action="cancel")
    assert case_in(support, django_capture_on_commit_callbacks).responsible == agents[1]


def test_assigning_to_the_section_responsible_needs_an_active_one(
    maria: User, support: Section, agents: list[User], django_capture_on_commit_callbacks: Run
) -> None:
    make_rule(
        maria, trigger="created", actions=[{"type": "assign", "method": "section_responsible"}]
    )
    support.responsible = agents[2]
    support.save(update_fields=["responsible"])
    assert case_in(support, django_capture_on_commit_callbacks).responsible == agents[2]
    agents[2].is_active = False
    agents[2].save(update_fields=["is_active"])
    case = case_in(support, django_capture_on_commit_callbacks)
    assert case.responsible is None
    log = RuleLog.objects.filter(case=case).latest("id")
    assert "no active responsible" in str(log.results)


def test_the_email_action_renders_the_template_in_the_partners_language(
    maria: User, support: Section, agents: list[User], django_capture_on_commit_callbacks: Run
) -> None:
    template_save(
        template=None,
        by=maria,
        values={
            "code": "hello",
            "name": "Hello",
            "subject": "About {{ case.subject }}",
            "body_text": "Dear {{ requester.name }}, case {{ case.reference }}.",
        },
    )
    template_save(
        template=None,
        by=maria,
        values={
            "code": "hello",
            "language": "fr",
            "name": "Bonjour",
            "subject": "Au sujet de {{ case.subject }}",
            "body_text": "Bonjour, dossier {{ case.reference }}.",
            "body_html": "<p>Bonjour {{ case.subject }}</p>",
        },
    )
    french = PartnerFactory(name="Client SA", language="fr")
    make_rule(
        maria,
        trigger="created",
        actions=[
            {
                "type": "email",
                "template": "hello",
                "to": ["requester", "responsible"],
                "addresses": ["audit@acme.example"],
            }
        ],
    )
    case = case_in(
        support,
        django_capture_on_commit_callbacks,
        subject="<b>Pump</b>",
        partner=french,
        requester_email="anne@client.example",
        responsible=agents[0],
    )
    (mail,) = OutboundMessage.objects.filter(case=case)
    assert mail.kind == OutboundMessage.Kind.AUTO
    assert mail.to == ["anne@client.example", agents[0].email, "audit@acme.example"]
    assert mail.subject == f"[#{case.number}] Au sujet de <b>Pump</b>"
    assert mail.body_text == f"Bonjour, dossier #{case.number}."
    assert mail.body_html == "<p>Bonjour &lt;b&gt;Pump&lt;/b&gt;</p>"


def test_templates_are_checked_when_saved(maria: User) -> None:
    with pytest.raises(ValidationError) as caught:
        template_save(
            template=None,
            by=maria,
            values={
                "code": "bad",
                "name": "Bad",
                "subject": "{{ case.nmber }}",
                "body_text": "{% load static %}",
            },
        )
    errors = caught.value.message_dict
    assert "case.number" in " ".join(errors["subject"])
    assert "load" in " ".join(errors["body_text"])
    assert not EmailTemplate.objects.exists()


def test_remind_escalate_follow_up_category_and_responsible(
    maria: User, support: Section, agents: list[User], django_capture_on_commit_callbacks: Run
) -> None:
    category = CaseCategory.objects.create(section=support.parent, name="Escalated")
    make_rule(
        maria,
        trigger="created",
        conditions={"case_types": [case_type_id("helpdesk")]},
        actions=[
            {"type": "set_responsible", "value": agents[1].pk},
            {"type": "remind", "who": "responsible"},
            {"type": "escalate"},
            {"type": "set_category", "value": category.pk},
            {
                "type": "follow_up",
                "case_type": case_type_id("call"),
                "section": support.pk,
                "subject": "Call back",
            },
        ],
    )
    case = case_in(support, django_capture_on_commit_callbacks, subject="Broken", state="open")
    assert case.section == support.parent
    assert case.category == category
    reminder = OutboundMessage.objects.get(case=case, subject__contains="Reminder")
    assert reminder.to == [agents[1].email]
    follow_up = Case.objects.get(related=case)
    assert follow_up.subject == "Call back: Broken"
    assert follow_up.section == support


def case_type_id(code: str) -> int:
    from tests.factories import case_type

    return case_type(code).pk


# ---- saving, dry run


def test_bad_conditions_and_actions_are_refused_with_the_reason(maria: User) -> None:
    with pytest.raises(ValidationError) as caught:
        make_rule(
            maria,
            trigger="created",
            conditions={"pattern": "(", "pattern_regex": True},
            actions=[{"type": "set_priority", "value": 9}],
        )
    errors = caught.value.message_dict
    assert "regular expression is invalid" in errors["conditions"][0]
    assert errors["actions"] == ["Action 1: the priority must be 1 to 5."]
    with pytest.raises(ValidationError, match="Choose the field"):
        make_rule(maria, trigger="field")


def test_the_dry_run_says_what_would_happen_and_changes_nothing(
    maria: User, support: Section, billing: Section, django_capture_on_commit_callbacks: Run
) -> None:
    case = case_in(support, django_capture_on_commit_callbacks, subject="An invoice question")
    rule = make_rule(
        maria,
        trigger="message_in",
        conditions={"pattern": "invoice"},
        actions=[
            {"type": "set_section", "value": billing.pk},
            {"type": "email", "template": "missing", "to": ["requester"]},
        ],
    )
    result = rule_dry_run(rule=rule, case=case)
    assert result.matched
    assert result.would == [
        "Move to a section: Billing",
        "Send a templated email 'missing' to requester",
    ]
    assert result.problems == ["There is no email template 'missing'."]
    case.refresh_from_db()
    assert case.section == support
    other = rule_dry_run(
        rule=make_rule(maria, trigger="created", conditions={"states": ["done"]}), case=case
    )
    assert not other.matched
    assert other.failed == "the state is not one of those chosen"


def test_rule_email_skips_bouncing_addresses_and_says_so_in_the_log(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    from goodwill.mailgate.models import AutoMessageLog, Suppression

    Suppression.objects.create(email="gone@customer.example", reason="550 user unknown")
    template_save(
        template=None,
        by=maria,
        values={"code": "hi", "name": "Hi", "subject": "Hi", "body_text": "Hello."},
    )
    make_rule(
        maria,
        trigger="created",
        actions=[
            {
                "type": "email",
                "template": "hi",
                "to": ["requester"],
                "addresses": ["audit@acme.example"],
            }
        ],
    )
    case = case_in(
        support, django_capture_on_commit_callbacks, requester_email="gone@customer.example"
    )
    (mail,) = OutboundMessage.objects.filter(case=case)
    assert mail.to == ["audit@acme.example"]
    assert list(AutoMessageLog.objects.values_list("email", flat=True)) == ["audit@acme.example"]
    make_rule(
        maria,
        name="Only the bouncer",
        trigger="created",
        actions=[{"type": "email", "template": "hi", "to": ["requester"]}],
    )
    other = case_in(
        support, django_capture_on_commit_callbacks, requester_email="gone@customer.example"
    )
    result = next(
        r for r in RuleLog.objects.get(case=other).results if r["name"] == "Only the bouncer"
    )
    assert "gone@customer.example bounced before" in result["errors"][0]
