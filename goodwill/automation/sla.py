"""SLA clocks: a first-response and a resolution target in business hours.

A new case gets the first matching :class:`SlaPolicy` (sequence order). Each
clock has a due time and an at-risk time (the policy's share of the target),
both counted on the policy's business calendar. While the case is pending the
clocks pause (if the policy says so); on resuming, both times move on by the
business time spent paused. The first public staff reply stops the first-
response clock; closing or cancelling stops the resolution clock. Each clock
ends met or breached.

``CaseSla.next_check_at`` is the next at-risk or due time; the scheduler
claims the due rows and :func:`sla_check` moves them on, emitting
``sla.at_risk`` and ``sla.breached`` (rules with the SLA trigger run on them).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import monotonic
from typing import Any

from django.db import transaction
from django.utils import timezone

from goodwill.automation.businesstime import BusinessCalendar as Calendar
from goodwill.automation.businesstime import WorkingHours
from goodwill.automation.models import BusinessCalendar, CaseSla, SlaPolicy, SlaStatus
from goodwill.cases.models import CLOSED_STATES, Case, CaseState
from goodwill.lib import events

CLAIM_MINUTES = 10


def calendar_of(row: BusinessCalendar | None) -> Calendar | None:
    """The arithmetic calendar of *row* (None: around the clock)."""
    if row is None:
        return None
    hours = tuple(
        WorkingHours(
            weekday=int(h["weekday"]),
            start=time.fromisoformat(h["start"]),
            end=time.fromisoformat(h["end"]),
        )
        for h in row.hours
    )
    holidays = frozenset(date.fromisoformat(h["date"]) for h in row.holidays)
    return Calendar(timezone=row.timezone, hours=hours, holidays=holidays)


def _add(calendar: Calendar | None, start: datetime, hours: Decimal | float) -> datetime:
    duration = timedelta(seconds=round(float(hours) * 3600))
    return calendar.add(start, duration) if calendar else start + duration


def _between(calendar: Calendar | None, start: datetime, end: datetime) -> timedelta:
    return calendar.between(start, end) if calendar else end - start


POLICIES_TTL = 30.0
_policies: tuple[float, list[SlaPolicy]] | None = None


def policies_clear(**_kwargs: Any) -> None:
    global _policies
    _policies = None


def active_policies() -> list[SlaPolicy]:
    """The active policies in order, read once per POLICIES_TTL seconds per
    process (and again at once when one is saved here)."""
    global _policies
    if _policies is None or monotonic() - _policies[0] > POLICIES_TTL:
        rows = list(SlaPolicy.objects.filter(active=True).select_related("calendar"))
        _policies = (monotonic(), rows)
    return _policies[1]


def policy_for(case: Case) -> SlaPolicy | None:
    categories: set[int] | None = None
    for policy in active_policies():
        if policy.section_id and policy.section_id != case.section_id:
            continue
        if policy.case_type_id and policy.case_type_id != case.case_type_id:
            continue
        if policy.priority and policy.priority != case.priority:
            continue
        if policy.partner_category_id:
            if categories is None:
                categories = (
                    set(case.partner.categories.values_list("id", flat=True))
                    if case.partner
                    else set()
                )
            if policy.partner_category_id not in categories:
                continue
        if policy.first_response_hours is None and policy.resolution_hours is None:
            continue
        return policy
    return None


def _set_targets(sla: CaseSla, policy: SlaPolicy) -> None:
    """The due and at-risk times of *policy*, counted from the clocks' start
    (None for a target the policy does not set)."""
    calendar = calendar_of(policy.calendar)
    share = Decimal(policy.at_risk_percent) / 100
    for hours, due, risk in (
        (policy.first_response_hours, "first_response_due", "first_response_risk_at"),
        (policy.resolution_hours, "resolution_due", "resolution_risk_at"),
    ):
        setattr(sla, due, _add(calendar, sla.started_at, hours) if hours is not None else None)
        setattr(
            sla, risk, _add(calendar, sla.started_at, hours * share) if hours is not None else None
        )


def sla_start(case: Case) -> CaseSla | None:
    """Give a new case its clocks (none when no policy applies)."""
    policy = policy_for(case)
    if policy is None:
        return None
    sla = CaseSla(case=case, policy=policy, started_at=case.created_at)
    _set_targets(sla, policy)
    _refresh(sla, timezone.now())
    sla.save()
    return sla


def sla_reapply(case: Case) -> CaseSla | None:
    """After a change of section, type or priority: the policy that now
    applies, its due times counted from the case's start (what was already
    met or breached stays so). No policy any more: no clocks."""
    policy = policy_for(case)
    if policy is None and not active_policies():
        # No policy at all: nothing to start, and clocks of a removed policy stay.
        return None
    current = CaseSla.objects.select_related("policy").filter(case=case).first()
    if current is None:
        return sla_start(case) if policy is not None else None
    if policy is None:
        current.delete()
        return None
    if current.policy_id == policy.pk:
        return current
    current.policy = policy
    _set_targets(current, policy)
    _emit(current, _refresh(current, timezone.now()))
    current.save()
    return current


def _clock(
    due: datetime | None, risk: datetime | None, done: datetime | None, now: datetime
) -> str:
    if due is None:
        return SlaStatus.NONE
    if done is not None:
        return SlaStatus.MET if done <= due else SlaStatus.BREACHED
    if now >= due:
        return SlaStatus.BREACHED
    if risk is not None and now >= risk:
        return SlaStatus.AT_RISK
    return SlaStatus.ON_TRACK


_WORST = [SlaStatus.BREACHED, SlaStatus.AT_RISK, SlaStatus.ON_TRACK, SlaStatus.MET]


def _refresh(sla: CaseSla, now: datetime) -> list[str]:
    """Recompute the statuses and the next check; returns the events to emit."""
    before = {sla.first_response_status, sla.resolution_status}
    previous = (sla.first_response_status, sla.resolution_status)
    sla.first_response_status = _clock(
        sla.first_response_due, sla.first_response_risk_at, sla.first_response_at, now
    )
    sla.resolution_status = _clock(sla.resolution_due, sla.resolution_risk_at, sla.resolved_at, now)
    if sla.paused_at is not None:
        # A paused clock keeps its status: it neither runs on nor breaches.
        if sla.first_response_at is None and sla.first_response_due is not None:
            sla.first_response_status = previous[0] or SlaStatus.ON_TRACK
        if sla.resolved_at is None and sla.resolution_due is not None:
            sla.resolution_status = previous[1] or SlaStatus.ON_TRACK
    statuses = [s for s in (sla.first_response_status, sla.resolution_status) if s]
    sla.status = next((s for s in _WORST if s in statuses), SlaStatus.NONE)
    upcoming: list[datetime] = []
    if sla.paused_at is None:
        for due, risk, done in (
            (sla.first_response_due, sla.first_response_risk_at, sla.first_response_at),
            (sla.resolution_due, sla.resolution_risk_at, sla.resolved_at),
        ):
            if due is None or done is not None:
                continue
            upcoming.extend(t for t in (risk, due) if t is not None and t > now)
    sla.next_check_at = min(upcoming) if upcoming else None
    fired = []
    for status, event in ((SlaStatus.AT_RISK, "at_risk"), (SlaStatus.BREACHED, "breached")):
        now_in = status in (sla.first_response_status, sla.resolution_status)
        if now_in and status not in before:
            fired.append(event)
    return fired


def _emit(sla: CaseSla, fired: list[str]) -> None:
    for name in fired:
        events.emit(f"sla.{name}", case_id=sla.case_id, status=sla.status)


def sla_state_changed(case: Case, *, old: str, new: str) -> None:
    """Pause, resume, stop or restart the clocks on a state change."""
    sla = CaseSla.objects.select_related("policy__calendar").filter(case=case).first()
    if sla is None:
        return
    now = timezone.now()
    pauses = sla.policy is not None and sla.policy.pause_when_pending
    if new == CaseState.PENDING and pauses and sla.paused_at is None:
        sla.paused_at = now
    elif new != CaseState.PENDING and sla.paused_at is not None:
        calendar = calendar_of(sla.policy.calendar if sla.policy else None)
        paused = _between(calendar, sla.paused_at, now)
        hours = Decimal(paused.total_seconds()) / 3600
        for due_name, risk_name, done_name in (
            ("first_response_due", "first_response_risk_at", "first_response_at"),
            ("resolution_due", "resolution_risk_at", "resolved_at"),
        ):
            if getattr(sla, done_name) is not None:
                continue
            for name in (due_name, risk_name):
                value = getattr(sla, name)
                if value is not None:
                    setattr(sla, name, _add(calendar, value, hours))
        sla.paused_at = None
    if new in CLOSED_STATES and sla.resolved_at is None:
        sla.resolved_at = now
    elif new not in CLOSED_STATES and old in CLOSED_STATES:
        sla.resolved_at = None
    _emit(sla, _refresh(sla, now))
    sla.save()


def sla_first_response(case: Case) -> None:
    """The first public staff reply: the first-response clock stops."""
    updated = CaseSla.objects.filter(
        case=case, first_response_at__isnull=True, first_response_due__isnull=False
    )
    sla = updated.first()
    if sla is None:
        return
    sla.first_response_at = timezone.now()
    _emit(sla, _refresh(sla, sla.first_response_at))
    sla.save()


def sla_due_claim(limit: int = 1000) -> list[int]:
    """Scheduler: the cases whose SLA needs a look now, claimed for a while
    (the check sets the real next time) so a second tick does not take them."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            CaseSla.objects.filter(next_check_at__lte=now)
            .order_by("next_check_at")
            .values_list("case_id", flat=True)[:limit]
        )
        CaseSla.objects.filter(case_id__in=ids).update(
            next_check_at=now + timedelta(minutes=CLAIM_MINUTES)
        )
    return ids


def sla_check(case_ids: list[int]) -> int:
    """Move the clocks of these cases on; returns how many changed status."""
    changed = 0
    now = timezone.now()
    for sla in CaseSla.objects.filter(case_id__in=case_ids):
        with transaction.atomic():
            status = sla.status
            fired = _refresh(sla, now)
            sla.save()
            _emit(sla, fired)
        changed += status != sla.status
    return changed
