"""SLA clocks on a business calendar, and time rules, with frozen time.

Time is set with time-machine; the scheduler's part (claiming what is due) and
the worker's part (checking or firing) are called as the tasks call them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.automation import engine, sla, timed
from goodwill.automation.models import (
    BusinessCalendar,
    CaseSchedule,
    CaseSla,
    Rule,
    RuleFiring,
    SlaPolicy,
    SlaStatus,
)
from goodwill.automation.services import rule_save, template_save
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, OutboundMessage, Section
from goodwill.partners.models import TimelineEntry
from tests.factories import CaseFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
Run = Any


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.fixture
def maria(db: None) -> User:
    return UserFactory(username="maria", roles=[Role.MANAGER])


@pytest.fixture
def agent(db: None) -> User:
    return UserFactory(username="agent", roles=[Role.AGENT])


@pytest.fixture
def support(maria: User, agent: User) -> Section:
    management = SectionFactory(name="Support management", code="SUPMGMT")
    management.responsible = maria
    management.save()
    section = SectionFactory(name="Support", code="SUPPORT", email="support@acme.example")
    section.parent = management
    section.save()
    section.members.set([agent])
    return section


@pytest.fixture
def policy(support: Section) -> SlaPolicy:
    calendar = BusinessCalendar.objects.create(
        name="Paris office",
        timezone="Europe/Paris",
        hours=[{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        holidays=[{"date": "2026-12-25", "name": "Christmas"}],
    )
    return SlaPolicy.objects.create(
        name="Support",
        section=support,
        calendar=calendar,
        first_response_hours=Decimal(2),
        resolution_hours=Decimal(8),
        at_risk_percent=50,
    )


def create(support: Section, run: Run, **values: Any) -> Case:
    with run(execute=True):
        case = CaseFactory(section=support, **values)
    case.refresh_from_db()
    return case


def test_the_clocks_count_business_hours_pause_while_pending_and_stop_on_reply(
    policy: SlaPolicy, support: Section, agent: User, django_capture_on_commit_callbacks: Run
) -> None:
    with time_machine.travel(paris(2026, 11, 27, 16, 0), tick=False):  # a Friday
        case = create(
            support,
            django_capture_on_commit_callbacks,
            state="open",
            requester_email="pat@customer.example",
        )
    clocks = CaseSla.objects.get(case=case)
    assert clocks.policy == policy
    assert clocks.first_response_due == paris(2026, 11, 30, 10, 0)
    assert clocks.first_response_risk_at == paris(2026, 11, 27, 17, 0)
    assert clocks.resolution_due == paris(2026, 11, 30, 16, 0)
    assert clocks.status == SlaStatus.ON_TRACK
    assert clocks.next_check_at == paris(2026, 11, 27, 17, 0)

    with (
        time_machine.travel(paris(2026, 11, 30, 9, 30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case_services.case_set_state(case=case, by=agent, action="pending")
    with (
        time_machine.travel(paris(2026, 11, 30, 10, 30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case_services.case_set_state(case=case, by=agent, action="open")
    clocks.refresh_from_db()
    # An hour paused in business time: both clocks move on by an hour.
    assert clocks.first_response_due == paris(2026, 11, 30, 11, 0)
    assert clocks.resolution_due == paris(2026, 11, 30, 17, 0)

    with (
        time_machine.travel(paris(2026, 11, 30, 10, 45), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case_services.case_reply(case=case, by=agent, body="Looking into it.")
    clocks.refresh_from_db()
    assert clocks.first_response_at == paris(2026, 11, 30, 10, 45)
    assert clocks.first_response_status == SlaStatus.MET


def test_a_breach_fires_the_sla_rules_that_escalate_and_notify_the_manager(
    policy: SlaPolicy, support: Section, maria: User, django_capture_on_commit_callbacks: Run
) -> None:
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Escalate breaches",
            "trigger": "sla",
            "sla_event": "breached",
            "actions": [{"type": "escalate"}, {"type": "remind", "who": "responsible"}],
        },
    )
    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        case = create(support, django_capture_on_commit_callbacks, state="open")
    with time_machine.travel(paris(2026, 11, 30, 9, 59), tick=False):
        assert sla.sla_due_claim() == []  # nothing due before 10:00 (at risk)
    with (
        time_machine.travel(paris(2026, 11, 30, 10, 1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ids = sla.sla_due_claim()
        assert ids == [case.pk]
        assert sla.sla_due_claim() == []  # claimed: the next tick does not take it again
        sla.sla_check(ids)
    assert CaseSla.objects.get(case=case).status == SlaStatus.AT_RISK
    case.refresh_from_db()
    assert case.section == support  # at risk is not a breach
    with (
        time_machine.travel(paris(2026, 11, 30, 11, 5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sla.sla_check([case.pk])
    case.refresh_from_db()
    assert CaseSla.objects.get(case=case).status == SlaStatus.BREACHED
    assert case.section == support.parent
    assert case.responsible == maria  # the parent section's responsible takes it
    assert OutboundMessage.objects.filter(case=case, to=[maria.email]).exists()


def test_no_policy_no_clocks(support: Section, django_capture_on_commit_callbacks: Run) -> None:
    case = create(support, django_capture_on_commit_callbacks)
    assert not CaseSla.objects.filter(case=case).exists()


# ---- time rules


@pytest.fixture
def nudge(maria: User) -> Rule:
    return rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Nudge",
            "trigger": "time",
            "time_amount": 2,
            "time_unit": "hours",
            "time_base": "created",
            "conditions": {"states": ["open"]},
            "actions": [{"type": "note", "body": "Two hours without news"}],
        },
    )


def notes(case: Case) -> int:
    return TimelineEntry.objects.filter(subject_id=case.pk, action="note").count()


def fire_due() -> None:
    timed.time_rules_fire(timed.schedule_claim())


def test_a_time_rule_fires_once_when_due(
    nudge: Rule, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    start = paris(2026, 11, 30, 9, 0)
    with time_machine.travel(start, tick=False):
        case = create(support, django_capture_on_commit_callbacks, state="open")
    assert CaseSchedule.objects.get(case=case).next_due_at == paris(2026, 11, 30, 11, 0)
    with (
        time_machine.travel(paris(2026, 11, 30, 10, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fire_due()
    assert notes(case) == 0
    with (
        time_machine.travel(paris(2026, 11, 30, 11, 1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert timed.time_rules_due() == 1  # the scheduler enqueues one batch for the worker
        assert DBTaskResult.objects.filter(task_path__endswith="time_rules_task").count() == 1
        timed.time_rules_fire([case.pk])
    assert notes(case) == 1
    assert CaseSchedule.objects.get(case=case).next_due_at is None
    with (
        time_machine.travel(paris(2026, 11, 30, 15, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        timed.time_rules_fire([case.pk])
    assert notes(case) == 1
    assert RuleFiring.objects.filter(rule=nudge, case=case).count() == 1


def test_after_downtime_each_due_rule_fires_once(
    nudge: Rule, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        cases = [
            create(support, django_capture_on_commit_callbacks, state="open") for _ in range(3)
        ]
    with (
        time_machine.travel(paris(2026, 12, 3, 9, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fire_due()
        fire_due()
    assert [notes(c) for c in cases] == [1, 1, 1]


def test_a_case_closed_before_its_rule_is_due_does_not_fire(
    nudge: Rule, support: Section, agent: User, django_capture_on_commit_callbacks: Run
) -> None:
    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        case = create(support, django_capture_on_commit_callbacks, state="open")
    with (
        time_machine.travel(paris(2026, 11, 30, 10, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case_services.case_set_state(case=case, by=agent, action="close")
    assert CaseSchedule.objects.get(case=case).next_due_at is None
    with (
        time_machine.travel(paris(2026, 11, 30, 12, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        timed.time_rules_fire([case.pk])
    assert notes(case) == 0


def test_a_moved_deadline_is_a_new_due_time(
    maria: User, support: Section, agent: User, django_capture_on_commit_callbacks: Run
) -> None:
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Overdue",
            "trigger": "time",
            "time_amount": 0,
            "time_unit": "minutes",
            "time_base": "deadline",
            "actions": [{"type": "set_priority", "value": 1}],
        },
    )
    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        case = create(
            support,
            django_capture_on_commit_callbacks,
            state="open",
            deadline=paris(2026, 11, 30, 12, 0),
        )
    with (
        time_machine.travel(paris(2026, 11, 30, 12, 30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fire_due()
    case.refresh_from_db()
    assert case.priority == 1
    with (
        time_machine.travel(paris(2026, 11, 30, 13, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case_services.case_update(
            case=case, by=agent, values={"priority": 3, "deadline": paris(2026, 12, 1, 12, 0)}
        )
    with (
        time_machine.travel(paris(2026, 12, 1, 12, 5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fire_due()
    case.refresh_from_db()
    assert case.priority == 1
    assert RuleFiring.objects.filter(case=case).count() == 2


def test_due_cases_whose_conditions_fail_are_logged_in_one_go(
    nudge: Rule,
    support: Section,
    agent: User,
    django_capture_on_commit_callbacks: Run,
    django_assert_max_num_queries: Any,
) -> None:
    from goodwill.automation.models import RuleLog

    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        cases = [
            create(support, django_capture_on_commit_callbacks, state="pending") for _ in range(3)
        ]
        more = [
            create(support, django_capture_on_commit_callbacks, state="pending") for _ in range(20)
        ]
    with (
        time_machine.travel(paris(2026, 11, 30, 12, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        with django_assert_max_num_queries(12) as few:
            timed.time_rules_fire([c.pk for c in cases])
        with django_assert_max_num_queries(len(few.captured_queries)):
            timed.time_rules_fire([c.pk for c in more])
    assert [notes(c) for c in cases] == [0, 0, 0]  # the rule wants open cases
    assert RuleFiring.objects.filter(rule=nudge).count() == 23
    (log,) = RuleLog.objects.filter(case=cases[0])
    assert log.results == [
        {
            "rule": nudge.pk,
            "name": "Nudge",
            "matched": False,
            "failed": "the state is not one of those chosen",
        }
    ]


def test_saving_a_time_rule_schedules_the_cases_already_open(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    from goodwill.automation.tasks import schedule_rebuild_task

    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        cases = [
            create(support, django_capture_on_commit_callbacks, state="open") for _ in range(3)
        ]
        closed = create(support, django_capture_on_commit_callbacks, state="done")
    assert not CaseSchedule.objects.exists()  # no time rule yet: nothing to schedule
    with django_capture_on_commit_callbacks(execute=True):
        rule_save(
            rule=None,
            by=maria,
            values={
                "name": "Day old",
                "trigger": "time",
                "time_amount": 1,
                "time_unit": "days",
                "time_base": "created",
                "actions": [{"type": "note", "body": "A day old"}],
            },
        )
    queued = DBTaskResult.objects.filter(task_path__endswith="schedule_rebuild_task")
    assert queued.count() == 1
    assert schedule_rebuild_task.call() == 3
    assert {s.case_id: s.next_due_at for s in CaseSchedule.objects.all()} == {
        c.pk: paris(2026, 12, 1, 9, 0) for c in cases
    }
    assert not CaseSchedule.objects.filter(case=closed).exists()


def test_the_rule_log_is_purged_after_its_days(
    support: Section, settings: Any, django_capture_on_commit_callbacks: Run
) -> None:
    from goodwill.automation.hooks import rule_log_purge
    from goodwill.automation.models import RuleLog

    settings.AUTOMATION_LOG_DAYS = 30
    case = create(support, django_capture_on_commit_callbacks)
    now = timezone.now()
    old = RuleLog.objects.create(
        case=case, event="case.created", created_at=now - timedelta(days=31)
    )
    kept = RuleLog.objects.create(
        case=case, event="case.created", created_at=now - timedelta(days=29)
    )
    assert rule_log_purge() == 1
    assert list(RuleLog.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not RuleLog.objects.filter(pk=old.pk).exists()


def test_a_rule_email_gives_the_sla_due_times_and_the_latest_public_message(
    policy: SlaPolicy,
    support: Section,
    maria: User,
    agent: User,
    django_capture_on_commit_callbacks: Run,
) -> None:
    template_save(
        template=None,
        by=maria,
        values={
            "code": "new-message",
            "name": "New message",
            "subject": "{{ case.reference }}",
            "body_text": "{{ message.author }}: {{ message.text }} "
            '(due {{ sla.resolution_due|date:"j F H:i" }})',
        },
    )
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Tell the responsible",
            "trigger": "message_in",
            "actions": [{"type": "email", "template": "new-message", "to": ["responsible"]}],
        },
    )
    agent.email = "agent@acme.example"
    agent.save()
    with time_machine.travel(paris(2026, 11, 27, 10, 0), tick=False):  # a Friday
        case = create(support, django_capture_on_commit_callbacks, responsible=agent)
        with django_capture_on_commit_callbacks(execute=True):
            case_services.case_note_add(case=case, by=maria, body="Secret margin: 40%")
            case_services.case_email_in(
                case=case, author=None, sender="pat@customer.example", body="Any news?"
            )
    mail = OutboundMessage.objects.get(case=case, kind=OutboundMessage.Kind.AUTO)
    # 8 business hours from Friday 10:00 in Paris: Monday 10:00 there, shown in
    # the site's time zone (UTC in the tests).
    assert mail.body_text == "pat@customer.example: Any news? (due 30 November 09:00)"
    assert "Secret" not in mail.body_text


def test_a_field_setting_time_rule_fires_on_the_batch_at_once_as_one_by_one(
    maria: User,
    support: Section,
    agent: User,
    django_capture_on_commit_callbacks: Run,
    django_assert_max_num_queries: Any,
) -> None:
    """A rule that only sets fields changes the due cases in a few statements,
    with what the case services write one case at a time: the timeline entry
    "Rule 'X': priority", the events (another rule reacts to the change), the
    fire count and a log row per case; a case it may not change is logged."""
    from goodwill.automation.models import RuleLog

    urgent = rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Two hours old",
            "trigger": "time",
            "time_amount": 2,
            "time_unit": "hours",
            "time_base": "created",
            "actions": [
                {"type": "set_priority", "value": 1},
                {"type": "set_responsible", "value": agent.pk},
            ],
        },
    )
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Highest priority is watched",
            "trigger": "field",
            "field_name": "priority",
            "conditions": {"priority_max": 1},
            "actions": [{"type": "add_watchers", "emails": ["lead@acme.example"]}],
        },
    )
    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        cases = [
            create(support, django_capture_on_commit_callbacks, state="open", priority=3)
            for _ in range(6)
        ]
        more = [
            create(support, django_capture_on_commit_callbacks, state="open", priority=3)
            for _ in range(30)
        ]
    Case.objects.filter(pk=cases[-1].pk).update(final=True)  # closed for good: not changed
    with (
        time_machine.travel(paris(2026, 11, 30, 12, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert timed.time_rules_fire([c.pk for c in cases]) == 6
    for case in cases[:-1]:
        case.refresh_from_db()
        assert (case.priority, case.responsible) == (1, agent)
        (entry,) = TimelineEntry.objects.filter(
            subject_id=case.pk, action="updated", changes__0__label="Priority"
        )
        assert entry.via == "Rule 'Two hours old'"
        assert entry.changes == [{"label": "Priority", "old": "3 Normal", "new": "1 Highest"}]
        assert case.watchers.filter(email="lead@acme.example").exists()
        (log,) = RuleLog.objects.filter(case=case, event="time: Two hours old")
        assert log.results[0]["actions"] == [
            "Set the priority: 1 Highest",
            f"Set the responsible: {agent.display_name}",
        ]
    final = Case.objects.get(pk=cases[-1].pk)
    assert final.priority == 3
    (log,) = RuleLog.objects.filter(case=final, event="time: Two hours old")
    assert "closed for good" in log.results[0]["errors"][0]
    urgent.refresh_from_db()
    assert urgent.fire_count == 6
    # The statements do not grow with the batch (the reacting rule's run per
    # case aside, which is why it is not active for this part).
    Rule.objects.filter(trigger="field").update(active=False)
    engine.rules_clear()
    with (
        time_machine.travel(paris(2026, 11, 30, 12, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
        django_assert_max_num_queries(40),
    ):
        assert timed.time_rules_fire([c.pk for c in more]) == 30
    assert set(Case.objects.filter(pk__in=[c.pk for c in more]).values_list("priority")) == {(1,)}


def test_a_time_rule_with_a_long_name_still_logs_its_firing(
    maria: User, support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    """The log's event column holds 50 characters; a rule's name holds 150."""
    from goodwill.automation.models import RuleLog

    name = "Remind the responsible person of every case that waited two hours " * 2
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": name.strip()[:150],
            "trigger": "time",
            "time_amount": 2,
            "time_unit": "hours",
            "time_base": "created",
            "conditions": {"states": ["pending"]},
            "actions": [{"type": "note", "body": "Two hours"}],
        },
    )
    with time_machine.travel(paris(2026, 11, 30, 9, 0), tick=False):
        cases = [
            create(support, django_capture_on_commit_callbacks, state=s) for s in ("open",) * 2
        ]
    with (
        time_machine.travel(paris(2026, 11, 30, 12, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        timed.time_rules_fire([c.pk for c in cases])
    events = set(RuleLog.objects.filter(case__in=cases).values_list("event", flat=True))
    assert events == {f"time: {name}"[:50]}
