"""What automation plugs into: the case events, and the scheduler's jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

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
    if name == "case.created" and sla.active_policies():
        case = Case.objects.select_related("partner").filter(pk=case_id).first()
        if case is not None:
            sla.sla_start(case)
    elif name == "case.state_changed" and event.payload.get("old") != event.payload.get("new"):
        case = Case.objects.filter(pk=case_id).first()
        if case is not None:
            sla.sla_state_changed(
                case, old=str(event.payload.get("old")), new=str(event.payload.get("new"))
            )
    elif (
        name == "case.updated"
        and {"section", "case_type", "priority"} & set(event.payload.get("fields", ()))
        and sla.active_policies()
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
    from django.db.models import Q

    from goodwill.cases import selectors as case_selectors
    from goodwill.cases import views as case_views
    from goodwill.cases.models import ACTIVE_STATES

    def sla_filter(status: str) -> Callable[[Any], Q]:
        return lambda _user: Q(sla__status=status, state__in=ACTIVE_STATES)

    for key, label, status in (
        ("sla_at_risk", "SLA at risk", "at_risk"),
        ("sla_breached", "SLA breached", "breached"),
    ):
        case_selectors.BUILTIN_FILTERS[key] = label
        case_selectors.EXTRA_FILTERS[key] = sla_filter(status)
    if "sla" not in case_selectors.LIST_RELATED:
        case_selectors.LIST_RELATED.append("sla")
    panel = ("automation/_case_sla.html", _sla_panel)
    if not any(p[0] == panel[0] for p in case_views.CASE_PANELS):
        case_views.CASE_PANELS.append(panel)


def _sla_panel(case: Any) -> dict[str, Any] | None:
    """The SLA clocks for the case page: due times, business time left, status."""
    from goodwill.automation.models import CaseSla, SlaStatus
    from goodwill.automation.sla import calendar_of

    row = CaseSla.objects.select_related("policy__calendar").filter(case=case).first()
    if row is None:
        return None
    calendar = calendar_of(row.policy.calendar if row.policy else None)
    now = row.paused_at or timezone.now()
    clocks = []
    for label, due, done, status in (
        (
            "First response",
            row.first_response_due,
            row.first_response_at,
            row.first_response_status,
        ),
        ("Resolution", row.resolution_due, row.resolved_at, row.resolution_status),
    ):
        if due is None:
            continue
        left = ""
        if done is None and due > now:
            remaining = calendar.between(now, due) if calendar else due - now
            hours, rest = divmod(int(remaining.total_seconds()), 3600)
            left = f"{hours} h {rest // 60:02d} min"
        clocks.append(
            {
                "label": label,
                "due": due,
                "done": done,
                "left": left,
                "status": status,
                "status_label": SlaStatus(status).label if status else "",
            }
        )
    return {"sla": row, "clocks": clocks}
