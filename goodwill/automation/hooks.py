"""What automation plugs into: the case events, and the scheduler's jobs."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from goodwill.lib import events, schedule


def _lifecycle(event: events.Event) -> None:
    """Keep SLA clocks and time-rule schedules up to date (before the rules run)."""
    from goodwill.automation import sla, timed
    from goodwill.cases.models import Case

    case_id = event.payload.get("case_id")
    if not case_id:
        return
    name = event.name
    if name == "case.created":
        case = Case.objects.select_related("partner").filter(pk=case_id).first()
        if case is not None:
            sla.sla_start(case)
    elif name == "case.state_changed" and event.payload.get("old") != event.payload.get("new"):
        case = Case.objects.filter(pk=case_id).first()
        if case is not None:
            sla.sla_state_changed(
                case, old=str(event.payload.get("old")), new=str(event.payload.get("new"))
            )
    elif name == "case.updated" and {"section", "case_type", "priority"} & set(
        event.payload.get("fields", ())
    ):
        case = Case.objects.select_related("partner").filter(pk=case_id).first()
        if case is not None:
            sla.sla_reapply(case)
    elif name == "message.queued" and event.payload.get("entry_id") and event.payload.get("by_id"):
        case = Case.objects.filter(pk=case_id).first()
        if case is not None:
            sla.sla_first_response(case)
    if timed.time_rules():
        timed.schedule_touch(int(case_id))


def sla_due() -> int:
    from goodwill.automation.sla import sla_due_claim
    from goodwill.automation.tasks import sla_check_task

    ids = sla_due_claim()
    for start in range(0, len(ids), 500):
        sla_check_task.enqueue(ids[start : start + 500])
    return len(ids)


def rule_log_purge() -> int:
    from goodwill.automation.models import RuleLog

    days = int(getattr(settings, "AUTOMATION_LOG_DAYS", 30))
    deleted, _ = RuleLog.objects.filter(
        created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted


def install() -> None:
    from goodwill.automation import engine, timed, webhooks

    for name in (
        "case.created",
        "case.state_changed",
        "case.updated",
        "message.received",
        "message.queued",
    ):
        events.subscribe(name)(_lifecycle)
    engine.install()
    schedule.every(60, "automation.time_rules", timed.time_rules_due)
    schedule.every(60, "automation.sla", sla_due)
    schedule.every(60, "automation.webhooks", webhooks.webhooks_due)
    schedule.every(3600, "automation.rule_log_purge", rule_log_purge)
