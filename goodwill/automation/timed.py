"""Time rules: "N hours after the deadline", fired once per case and due time.

Each active case has a :class:`CaseSchedule` row whose indexed ``next_due_at``
is the earliest time a time rule becomes due on it and has not fired yet. The
scheduler claims the rows that are due (never scanning the cases), and
:func:`time_rules_fire` runs each due rule once: a :class:`RuleFiring` row,
unique per (rule, case, due time), records it, so catching up after downtime
fires each one once. A closed case has no schedule and fires nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.automation.engine import (
    CONDITION_FIELDS,
    Happening,
    Result,
    active_rules,
    condition_failed,
    fires_in_bulk,
    rule_fire_many,
    rules_clear,
    rules_run,
)
from goodwill.automation.models import (
    CaseSchedule,
    CaseSla,
    Rule,
    RuleFiring,
    RuleLog,
    ScheduleRebuild,
)
from goodwill.cases.models import ACTIVE_STATES, Case
from goodwill.lib import events
from goodwill.lib.jobs import JobStatus, job_claim, job_finish, job_progress

CLAIM_MINUTES = 10
#: The columns the time bases read (with the conditions', what a batch loads).
TIME_BASE_FIELDS = ("created_at", "updated_at", "deadline", "next_action_at")
BATCH = 500
# While time_rules_fire runs, the cases its actions touch are refreshed once at
# its end rather than after every action.
_deferred: ContextVar[set[int] | None] = ContextVar("schedule_deferred", default=None)


def schedule_touch(case_id: int) -> None:
    """A case changed: refresh its schedule now, or at the end of the firing batch."""
    deferred = _deferred.get()
    if deferred is not None:
        deferred.add(case_id)
    else:
        schedule_refresh([case_id])


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _offset(rule: Rule, base: datetime) -> datetime:
    amount = rule.time_amount
    if rule.time_unit == Rule.TimeUnit.MONTHS:
        return add_months(base, amount)
    unit = {"minutes": 60, "hours": 3600, "days": 86400}[rule.time_unit]
    return base + timedelta(seconds=amount * unit)


def _base(rule: Rule, case: Case, sla: CaseSla | None) -> datetime | None:
    base = rule.time_base
    if base == Rule.TimeBase.CREATED:
        return case.created_at
    if base == Rule.TimeBase.LAST_ACTION:
        return case.updated_at
    if base == Rule.TimeBase.DEADLINE:
        return case.deadline
    if base == Rule.TimeBase.NEXT_ACTION:
        return case.next_action_at
    if sla is None:
        return None
    if base == Rule.TimeBase.SLA_RESOLUTION:
        return sla.resolution_due if sla.resolved_at is None else None
    if base == Rule.TimeBase.SLA_RESPONSE:
        return sla.first_response_due if sla.first_response_at is None else None
    return None


def due(rule: Rule, case: Case, sla: CaseSla | None) -> tuple[str, datetime] | None:
    """(key, when) of *rule* on *case*: the key names the base time, so a
    moved deadline is a new due time that fires again."""
    base = _base(rule, case, sla)
    if base is None:
        return None
    return f"{rule.time_base}:{base.isoformat()}", _offset(rule, base)


def time_rules() -> list[Rule]:
    return [r for r in active_rules() if r.trigger == Rule.Trigger.TIME and r.time_base]


def _in_scope(rule: Rule, case: Case) -> bool:
    return (not rule.section_id or rule.section_id == case.section_id) and (
        not rule.case_type_id or rule.case_type_id == case.case_type_id
    )


def schedule_refresh(case_ids: Iterable[int]) -> None:
    """Recompute when each case's next time rule is due (in bulk)."""
    ids = list(case_ids)
    rules = time_rules()
    if not ids:
        return
    if not rules:
        CaseSchedule.objects.filter(case_id__in=ids).update(next_due_at=None)
        return
    cases = Case.objects.filter(pk__in=ids).only(
        "id",
        "state",
        "section_id",
        "case_type_id",
        "created_at",
        "updated_at",
        "deadline",
        "next_action_at",
    )
    slas = {s.case_id: s for s in CaseSla.objects.filter(case_id__in=ids)}
    fired = set(
        RuleFiring.objects.filter(case_id__in=ids, rule__in=rules).values_list(
            "rule_id", "case_id", "key"
        )
    )
    rows = []
    for case in cases:
        nexts = []
        if case.state in ACTIVE_STATES:
            for rule in rules:
                if not _in_scope(rule, case):
                    continue
                found = due(rule, case, slas.get(case.pk))
                if found and (rule.pk, case.pk, found[0]) not in fired:
                    nexts.append(found[1])
        rows.append(CaseSchedule(case_id=case.pk, next_due_at=min(nexts) if nexts else None))
    CaseSchedule.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["case"], update_fields=["next_due_at"]
    )


def schedule_claim(limit: int = 5000) -> list[int]:
    """Scheduler: the cases with a time rule due now, claimed for a while so
    the next tick does not take them again before a worker has."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            CaseSchedule.objects.filter(next_due_at__lte=now)
            .order_by("next_due_at")
            .values_list("case_id", flat=True)[:limit]
        )
        CaseSchedule.objects.filter(case_id__in=ids).update(
            next_due_at=now + timedelta(minutes=CLAIM_MINUTES)
        )
    return ids


def time_rules_fire(case_ids: Sequence[int]) -> int:
    """Fire the due, not yet fired time rules of these cases; returns how many fired."""
    rules = time_rules()
    now = timezone.now()
    count = 0
    touched: set[int] = set()
    token = _deferred.set(touched)
    try:
        count = _fire_all(rules, case_ids, now)
    finally:
        _deferred.reset(token)
    schedule_refresh({*case_ids, *touched})
    return count


def _load(case_ids: Iterable[int]) -> dict[int, Case]:
    return {
        case.pk: case
        for case in Case.objects.only(*CONDITION_FIELDS, *TIME_BASE_FIELDS).filter(
            pk__in=list(case_ids), state__in=ACTIVE_STATES
        )
    }


def _fire_all(rules: list[Rule], case_ids: Sequence[int], now: datetime) -> int:
    """Record every due firing of the batch at once, then rule by rule (in
    sequence order): evaluate its conditions on the cases as they are now, log
    the misses in one insert, and fire it on the cases it matches, all at once
    when its actions allow (see :func:`engine.fires_in_bulk`), else one case at
    a time through the services."""
    cases = _load(case_ids)
    slas = {s.case_id: s for s in CaseSla.objects.filter(case_id__in=case_ids)}
    due_now: list[tuple[Rule, Case, str]] = []
    for case in cases.values():
        for rule in rules:
            if not _in_scope(rule, case):
                continue
            found = due(rule, case, slas.get(case.pk))
            if found is not None and found[1] <= now:
                due_now.append((rule, case, found[0]))
    if not due_now:
        return 0
    fired = set(
        RuleFiring.objects.filter(case__in=list(cases), rule__in=rules).values_list(
            "rule_id", "case_id", "key"
        )
    )
    fresh = _record([(r, c, k) for r, c, k in due_now if (r.pk, c.pk, k) not in fired])
    count = 0
    changed = False
    for rule in rules:
        keyed = [(c.pk, k) for r, c, k in fresh if r is rule]
        if not keyed:
            continue
        if changed:  # an earlier rule of this batch acted: see what it did
            cases = _load(pk for pk, _key in keyed)
        # The log's event holds 50 characters; a rule's name may be longer.
        happening = Happening(Rule.Trigger.TIME, f"time: {rule.name}"[:50])
        misses: list[RuleLog] = []
        matching: list[tuple[Case, str]] = []
        for pk, key in keyed:
            current = cases.get(pk)
            if current is None:
                continue  # closed by an earlier rule of the batch
            failed = condition_failed(rule, current, happening)
            if failed:
                misses.append(
                    RuleLog(
                        case=current,
                        event=happening.event,
                        depth=events.depth(),
                        results=[Result(rule, matched=False, failed=failed).as_log()],
                    )
                )
            else:
                matching.append((current, key))
        RuleLog.objects.bulk_create(misses)
        if not matching:
            continue
        changed = True
        if fires_in_bulk(rule) and len(matching) > 1:
            count += rule_fire_many(rule, [case for case, _key in matching], happening)
            continue
        for case, key in matching:
            results = rules_run(
                case_id=case.pk,
                happening=Happening(Rule.Trigger.TIME, happening.event, key=key),
                only=[rule],
            )
            count += sum(1 for r in results if r.matched)
    return count


def _record(due_now: list[tuple[Rule, Case, str]]) -> list[tuple[Rule, Case, str]]:
    """Record the firings; returns those this call recorded (another worker
    may have taken some in the meantime: the unique constraint decides)."""
    try:
        with transaction.atomic():
            RuleFiring.objects.bulk_create(
                RuleFiring(rule=rule, case=case, key=key) for rule, case, key in due_now
            )
        return due_now
    except IntegrityError:
        pass
    recorded = []
    for rule, case, key in due_now:
        try:
            with transaction.atomic():
                RuleFiring.objects.create(rule=rule, case=case, key=key)
        except IntegrityError:
            continue  # fired by another worker
        recorded.append((rule, case, key))
    return recorded


def time_rules_due() -> int:
    """Scheduler job: enqueue the due cases in batches."""
    from goodwill.automation.tasks import time_rules_task

    if not time_rules():
        return 0
    ids = schedule_claim()
    for start in range(0, len(ids), BATCH):
        time_rules_task.enqueue(ids[start : start + BATCH])
    return len(ids)


def schedule_rebuild_request(*, rule: Rule, by: User | None) -> ScheduleRebuild:
    """A time rule was saved: have every active case's schedule recomputed.

    A rebuild queued in the last minutes and not started yet will read the rules
    as they are when it starts, so it covers this save too and is reused; otherwise (none, or
    one already running on the rules as they were) a new one is queued. Call it
    inside the saving transaction: the queued job stays locked until the commit,
    so a worker cannot start it on the rules from before this save.
    """
    from goodwill.automation.tasks import schedule_rebuild_task

    # Only a recent one: a job whose task was lost (the queue was down when it
    # was enqueued) must not swallow every later save.
    queued = (
        ScheduleRebuild.objects.select_for_update()
        .filter(
            status=JobStatus.QUEUED,
            created_at__gte=timezone.now() - timedelta(minutes=CLAIM_MINUTES),
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if queued is not None:
        return queued
    job = ScheduleRebuild.objects.create(created_by=by, rule=rule)
    transaction.on_commit(lambda: schedule_rebuild_task.enqueue(job_id=job.pk), robust=True)
    return job


def schedule_rebuild_current() -> ScheduleRebuild | None:
    """The latest rebuild if it is still queued or running (for the rules pages)."""
    latest = ScheduleRebuild.objects.order_by("-created_at", "-id").first()
    return None if latest is None or latest.is_finished else latest


def schedule_rebuild(*, job: ScheduleRebuild | None = None) -> int:
    """Every active case's schedule, in batches (after a time rule changed).

    With *job*, claims it first (another worker may have it: then nothing is
    done), counts the cases, and reports the progress after each batch.
    Returns how many cases were scheduled.
    """
    if job is not None and not job_claim(job):
        return 0
    # Read the rules as committed now, not as this process cached them.
    rules_clear()
    active = Case.objects.filter(state__in=ACTIVE_STATES)
    done = 0
    last = 0
    try:
        if job is not None:
            job_progress(job, done=0, total=active.count())
        while True:
            ids = list(
                active.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[: BATCH * 4]
            )
            if not ids:
                break
            schedule_refresh(ids)
            done += len(ids)
            last = ids[-1]
            if job is not None:
                job_progress(job, done=done)
    except Exception as exc:
        if job is not None:
            job_finish(job, error=f"Scheduling the open cases failed: {exc}")
        raise
    if job is not None:
        # Cases opened or closed during the walk: the total is what was walked.
        job_finish(job, progress_total=done)
    return done
