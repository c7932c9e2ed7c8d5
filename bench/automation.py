"""Automation: what rules cost when a case is created, and how fast a scheduler
tick fires the time rules that are due.

    python -m bench.automation --database sqlite                 # 20,000 cases
    python -m bench.automation --database postgres --cases 1000000

1. **Rules on create:** the median time to create a case (``case_create`` and
   the events it emits, as in a request) with no rules, then with 50 active
   rules on the "created" trigger whose conditions do not hold (the cost of
   evaluating and logging them), then with 5 of the 50 matching and setting the
   priority. Target: 50 rules add under 5 ms to the median.
2. **Scheduler tick:** every case is reopened (the target speaks of open
   cases; merged ones stay as they are) and has a schedule row; a tenth are due
   (``--due``). One time rule ("1 hour after creation: set the priority") is
   active. The tick claims the due cases through the ``next_due_at`` index and
   workers fire them in batches of 500, as ``goodwill scheduler`` and the
   tasks do, for ``--seconds`` seconds: one worker process, then two (one per
   core of a small server; each claims its own batches). It prints due cases
   processed per second and the plan of the claim query three times: with a
   rule every due
   case matches that only sets fields (the batch changes its cases in a few
   statements through ``cases_set``), with a keyword condition few cases meet,
   and with a rule every case matches whose action (an internal note) runs case
   by case through the services. Target: 1,000 due cases/s on PostgreSQL.

The data are the benchmark generator's (10,000 partners, then ``--cases``
cases) in a database of their own: ``goodwill_bench_automation`` on
PostgreSQL or ``var/bench-automation.sqlite3``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
import warnings
from datetime import timedelta
from typing import Any

from bench.common import PG_HOST, PG_PORT, PG_USER, ensure_pg_database

DB_NAME = "goodwill_bench_automation"


def _setup(database: str) -> str:
    if database == "sqlite":
        url = "sqlite:///var/bench-automation.sqlite3"
    else:
        ensure_pg_database(DB_NAME)
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{DB_NAME}"
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="goodwill.settings",
        DEBUG="0",
        ALLOWED_HOSTS="testserver,localhost",
        EMAIL_URL="dummy:",
        LOG_LEVEL="ERROR",
    )
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    return url


def _load(cases: int) -> None:
    from django.core.management import call_command

    from bench.generate import generate
    from bench.generate_cases import generate_cases
    from goodwill.cases.models import Case
    from goodwill.partners.models import Partner

    call_command("migrate", verbosity=0, interactive=False)
    if Partner.objects.count() != 10_000:
        generate(size=10_000)
    if Case.objects.count() < cases:
        report = generate_cases(cases=cases, entries=cases * 3 + 1000)
        print(f"Loaded {cases:,} cases in {report.seconds:.0f} s")


def _clear_automation() -> None:
    from goodwill.automation import engine
    from goodwill.automation.models import CaseSchedule, CaseSla, Rule, RuleFiring, RuleLog

    for model in (RuleFiring, RuleLog, CaseSchedule, CaseSla, Rule):
        model.objects.all().delete()
    engine.rules_clear()


def _create_median(count: int, section: Any, case_type: Any) -> float:
    from goodwill.cases.services import case_create

    times = []
    for n in range(count):
        started = time.perf_counter()
        case_create(
            by=None,
            values={
                "case_type": case_type,
                "section": section,
                "subject": f"Benchmark case {n}: the pump leaks",
                "requester_email": f"bench{n}@customer.example",
            },
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def rules_on_create(count: int) -> None:
    from goodwill.automation.services import rule_save
    from goodwill.cases.models import CaseType, Section

    _clear_automation()
    section = Section.objects.order_by("id").first()
    case_type = CaseType.objects.get(code="helpdesk")
    _create_median(20, section, case_type)  # warm up
    bare = _create_median(count, section, case_type)
    for n in range(50):
        rule_save(
            rule=None,
            by=None,  # type: ignore[arg-type]
            values={
                "name": f"Rule {n}",
                "sequence": n,
                "trigger": "created",
                "conditions": {
                    "pattern": f"keyword{n}",
                    "priority_min": 1,
                    "priority_max": 4,
                    "channels": ["email", "phone", "web"] if n % 2 else [],
                },
                "actions": [{"type": "set_priority", "value": 2}],
            },
        )
    failing = _create_median(count, section, case_type)
    from goodwill.automation.models import Rule

    for rule in Rule.objects.order_by("sequence")[:5]:
        rule_save(rule=rule, by=None, values={"conditions": {"pattern": "pump"}})  # type: ignore[arg-type]
    matching = _create_median(count, section, case_type)
    print("Rules on create (median of", count, "cases)")
    print(f"  no rules                      {bare:7.2f} ms")
    print(f"  50 rules, none matching       {failing:7.2f} ms   (+{failing - bare:.2f} ms)")
    print(f"  50 rules, 5 matching          {matching:7.2f} ms   (+{matching - bare:.2f} ms)")
    verdict = "OK" if failing - bare < 5 else "SLOW"
    print(f"  verdict                       {verdict} (target: 50 rules add < 5 ms)")


def tick(
    due_share: float,
    seconds: float,
    *,
    conditions: dict[str, Any] | None = None,
    actions: list[dict[str, Any]] | None = None,
    label: str,
    workers_list: tuple[int, ...] = (1, 2),
) -> None:
    from django.db import connection
    from django.utils import timezone

    from goodwill.automation.models import CaseSchedule, Rule
    from goodwill.automation.services import rule_save
    from goodwill.cases.models import ACTIVE_STATES, Case

    _clear_automation()
    rule_save(
        rule=None,
        by=None,  # type: ignore[arg-type]
        values={
            "name": "An hour after creation",
            "trigger": "time",
            "time_amount": 1,
            "time_unit": "hours",
            "time_base": "created",
            "conditions": conditions or {},
            "actions": actions or [{"type": "set_priority", "value": 1}],
        },
    )
    now = timezone.now()
    # The target speaks of a million open cases: every case is reopened (once).
    reopened = (
        Case.objects.exclude(state__in=ACTIVE_STATES)
        .filter(merged_into__isnull=True)
        .update(state="open", final=False, closed_at=None)
    )
    if reopened:
        print(f"\nReopened {reopened:,} closed cases")
    # Every open case is scheduled; the due ones are due since the last hour.
    open_ids = list(
        Case.objects.filter(state__in=ACTIVE_STATES).order_by("pk").values_list("pk", flat=True)
    )
    step = max(1, round(1 / due_share))
    # Every case was created over an hour ago, so the rule is due on each; the
    # schedule rows say which ones the tick claims now.
    started = time.perf_counter()
    rows = [
        CaseSchedule(
            case_id=pk,
            next_due_at=now - timedelta(hours=1) if n % step == 0 else now + timedelta(hours=1),
        )
        for n, pk in enumerate(open_ids)
    ]
    CaseSchedule.objects.bulk_create(rows, batch_size=5000)
    if connection.vendor == "postgresql":
        # What the set-up rewrote, vacuumed as autovacuum would (it may be off).
        with connection.cursor() as cursor:
            for table in ("automation_caseschedule", "automation_rulefiring", "cases_case"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    due = CaseSchedule.objects.filter(next_due_at__lte=now).count()
    print()
    print(
        f"Scheduler tick, {label}: {len(open_ids):,} open cases scheduled, {due:,} due "
        f"(schedule rows written in {time.perf_counter() - started:.0f} s)"
    )
    claim = CaseSchedule.objects.filter(next_due_at__lte=now).order_by("next_due_at")[:5000]
    print("  plan of the claim query:")
    for line in claim.values_list("case_id", flat=True).explain().splitlines():
        print(f"    {line}")
    from goodwill.automation.models import RuleFiring

    if connection.vendor != "postgresql":
        workers_list = (1,)  # SQLite takes one writer at a time
    for workers in workers_list:
        before = RuleFiring.objects.count()
        fired_before = Rule.objects.get().fire_count
        fired, took = _fire_for(seconds, workers)
        processed = RuleFiring.objects.count() - before
        rate = processed / took if took else 0.0
        print(
            f"  {workers} worker{'s' if workers > 1 else ''}: processed {processed:,} due cases "
            f"in {took:.1f} s: {rate:,.0f} cases/s (target >= 1,000); "
            f"the rule's actions ran on {fired:,}"
        )
        recorded = Rule.objects.get().fire_count - fired_before
        if recorded != fired:
            raise SystemExit(f"The rule records {recorded} firings, the tick counted {fired}.")


def _work(seconds: float) -> int:
    """One worker: claim a batch of due cases and fire it, until time is up."""
    from goodwill.automation import timed

    fired = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        ids = timed.schedule_claim(limit=timed.BATCH)
        if not ids:
            break
        fired += timed.time_rules_fire(ids)
    return fired


def _fire_for(seconds: float, workers: int) -> tuple[int, float]:
    """(firings, seconds taken) of *workers* processes working the due cases, as
    ``goodwill worker`` processes do with the scheduler's batches."""
    if workers == 1:
        started = time.perf_counter()
        return _work(seconds), time.perf_counter() - started
    from django.db import connections

    connections.close_all()  # each process opens its own
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        fired = sum(pool.map(_work, [seconds] * workers))
    return fired, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--due", type=float, default=0.1, help="share of open cases due")
    parser.add_argument("--create-count", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the tick runs")
    parser.add_argument("--part", choices=["all", "create", "tick"], default="all")
    args = parser.parse_args()
    url = _setup(args.database)
    print(f"Automation benchmark on {args.database} ({url.rsplit('/', 1)[-1]})")
    _load(args.cases)
    if args.part in ("all", "create"):
        rules_on_create(args.create_count)
    if args.part == "create":
        return
    tick(args.due, args.seconds, label="every due case matches, it sets the priority (in bulk)")
    # A rule that applies to part of what is due: cases about gaskets.
    tick(args.due, args.seconds, conditions={"pattern": "gasket"}, label="a keyword condition")
    tick(
        args.due,
        args.seconds,
        actions=[{"type": "note", "body": "An hour without news on {{ case.reference }}"}],
        label="every due case matches, a note each (case by case)",
    )


if __name__ == "__main__":
    main()
