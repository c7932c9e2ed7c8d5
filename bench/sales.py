"""Sales at scale: the partner page of a customer with thousands of invoices, its
statement of account, and everyone's turnover, on SQLite or PostgreSQL.

    python -m bench.sales --invoices 20000 --partners 10000 --database sqlite
    python -m bench.sales --scale 0.1 --database postgres   # 100k partners, 500k invoices
    python -m bench.sales --scale 1 --database postgres     # 1M partners, 5M invoices
    python -m bench.sales --scale 0.1 --database postgres --reuse --explain

The script points Django at a dedicated database (``var/bench-sales-<P>.sqlite3``,
or ``goodwill_bench_sales`` on the local PostgreSQL), migrates it, loads P
partners with ``bench.generate`` unless it holds exactly P, then the invoices,
lines and payments with ``bench.generate_sales`` unless it holds exactly
``--invoices`` invoices, and times, for the heavy customer (5,000 invoices at
full size):

- its partner page and the page's "Sales and balance" panel, through Django's
  test client (target 200 ms each), and its statement page (informative);
- ``partner_statement`` over the last 12 months of the data, called directly
  (target 100 ms), next to a baseline: a plain count of the same invoices;
- ``turnover_by_partner(since=12 months before)`` over every partner, fully read
  (target 10 s), next to a baseline: a plain count of the same invoices.

The exit status is 1 if a case misses its target or a page does not answer 200.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import common
from bench.common import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    BadResponse,
    Probe,
    Result,
    bench_superuser,
    ensure_pg_database,
    print_table,
    server_version,
    use_plain_static_storage,
)

PAGE_MS = 200.0
STATEMENT_MS = 100.0
TURNOVER_MS = 10_000.0
FULL_PARTNERS = 1_000_000
FULL_INVOICES = 5_000_000
PG_DATABASE = "goodwill_bench_sales"
FUNCTION_RUNS = 20
TURNOVER_RUNS = 3


@dataclass(frozen=True)
class Facts:
    heavy_id: int
    heavy_invoices: int
    date_from: date
    date_to: date
    since: date


def configure(partners: int, database: str) -> str:
    """Point the settings at the sales benchmark database; returns its URL."""
    if database == "sqlite":
        url = f"sqlite:///var/bench-sales-{partners}.sqlite3"
    else:
        ensure_pg_database(PG_DATABASE)
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "goodwill.settings"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["DEBUG"] = "0"
    warnings.filterwarnings("ignore", message="No directory at")

    import django

    django.setup()
    return url


def _state_path(partners: int, database: str) -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / f"bench-sales-{partners}-{database}.json"


def _loaded(invoices: int) -> bool:
    from bench.generate_sales import HEAVY_NAME, heavy_size
    from goodwill.lib.text import name_key
    from goodwill.sales.models import Invoice

    if Invoice.objects.count() != invoices:
        return False
    heavy = Invoice.objects.filter(partner__name_key=name_key(HEAVY_NAME)).count()
    return heavy == heavy_size(invoices)


def prepare_data(
    *, partners: int, invoices: int, database: str, reuse: bool, regenerate: bool
) -> str:
    """Migrate and load what is missing; returns a line about the load time."""
    from django.core.management import call_command

    from bench.generate import generate
    from bench.generate_sales import generate_sales
    from goodwill.partners.models import Partner

    state = _state_path(partners, database)
    if not reuse:
        call_command("migrate", verbosity=0, interactive=False)
        partner_seconds = 0.0
        if Partner.objects.count() != partners:
            partner_seconds = generate(size=partners).seconds
            regenerate = True  # loading partners empties the sales tables
        if regenerate or not _loaded(invoices):
            report = generate_sales(invoices=invoices)
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(
                json.dumps(
                    {
                        "partners": partners,
                        "partner_seconds": round(partner_seconds, 1),
                        "invoices": invoices,
                        "seconds": round(report.seconds, 1),
                        "phases": {k: round(v, 1) for k, v in report.phases.items()},
                        "rows": report.rows,
                        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    },
                    indent=2,
                )
            )
            rows = ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
            return f"Sales generator load time: {report.seconds:.1f} s (this run; {rows})"
        print(f"The database already holds {invoices:,} invoices; reusing them.")
    if state.exists():
        saved = json.loads(state.read_text())
        rows = ", ".join(f"{table} {count:,}" for table, count in saved["rows"].items())
        return (
            f"Sales generator load time: {saved['seconds']:.1f} s "
            f"(loaded {saved['loaded_at']}, reused now; {rows})"
        )
    return "Sales generator load time: unknown (data loaded by an earlier run)"


def facts() -> Facts:
    """The heavy customer and the periods the cases read."""
    from bench.generate_sales import END, HEAVY_NAME
    from goodwill.lib.text import name_key
    from goodwill.partners.models import Partner
    from goodwill.sales.models import Invoice
    from goodwill.sales.statement_views import default_period

    heavy = Partner.objects.filter(name_key=name_key(HEAVY_NAME)).order_by("pk").first()
    if heavy is None:
        raise SystemExit("The database holds no generated data: run without --reuse.")
    date_from, date_to = default_period(END)
    return Facts(
        heavy_id=heavy.pk,
        heavy_invoices=Invoice.objects.filter(partner=heavy).count(),
        date_from=date_from,
        date_to=date_to,
        since=date_to - timedelta(days=365),
    )


def time_call(probe: Probe, call: Callable[[], Any], *, runs: int, warmups: int = 1) -> Result:
    """The median and 90th percentile of *runs* calls after *warmups*, and the
    queries one call runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmups):
        call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        call()
    return Result(
        probe=probe,
        median_ms=statistics.median(timings),
        p90_ms=statistics.quantiles(timings, n=10)[-1] if runs > 1 else timings[0],
        queries=len(captured.captured_queries),
    )


def run_cases(
    client: Any, found: Facts, *, explain: bool = False, runs: int = FUNCTION_RUNS
) -> tuple[list[Result], list[tuple[str, str]]]:
    """Time every case; returns the results and (label, reason) of pages that failed."""
    from django.urls import reverse

    from goodwill.partners.models import Partner
    from goodwill.sales.models import Invoice, Payment
    from goodwill.sales.selectors import turnover_by_partner
    from goodwill.sales.statements import partner_statement

    heavy = Partner.objects.get(pk=found.heavy_id)
    period = f"date_from={found.date_from}&date_to={found.date_to}"
    pages = [
        Probe(
            f"partner page of the heavy customer (#{heavy.pk})",
            reverse("partners:detail", args=[heavy.pk]),
            PAGE_MS,
        ),
        Probe(
            "  its 'Sales and balance' panel (htmx)",
            reverse("sales:partner_sales", args=[heavy.pk]),
            PAGE_MS,
            headers=(("HX-Request", "true"),),
        ),
        Probe(
            "  its statement page, 12 months",
            reverse("sales:partner_statement", args=[heavy.pk]) + "?" + period,
            1000.0,
            informative=True,
        ),
    ]
    results: list[Result] = []
    failures: list[tuple[str, str]] = []
    for probe in pages:
        try:
            results.append(common.measure(client, probe, explain=explain))
        except BadResponse as exc:
            failures.append((probe.label, f"ERROR: {exc}"))

    statement = partner_statement(partner=heavy, date_from=found.date_from, date_to=found.date_to)
    lines = sum(len(s.lines) for s in statement.sections)
    results.append(
        time_call(
            Probe(f"statement of account, 12 months ({lines:,} lines)", "", STATEMENT_MS),
            lambda: partner_statement(
                partner=heavy, date_from=found.date_from, date_to=found.date_to
            ),
            runs=runs,
        )
    )

    def count_period() -> int:
        return (
            Invoice.objects.filter(
                partner=heavy, invoice_date__range=(found.date_from, found.date_to)
            ).count()
            + Payment.objects.filter(
                partner=heavy, payment_date__range=(found.date_from, found.date_to)
            ).count()
        )

    results.append(
        time_call(
            Probe("  baseline: count(*) of its invoices and payments", "", STATEMENT_MS, True),
            count_period,
            runs=runs,
        )
    )
    partners_with_turnover = len(list(turnover_by_partner(since=found.since)))
    results.append(
        time_call(
            Probe(
                f"turnover_by_partner, 12 months ({partners_with_turnover:,} partners)",
                "",
                TURNOVER_MS,
            ),
            lambda: list(turnover_by_partner(since=found.since)),
            runs=max(1, min(runs, TURNOVER_RUNS)),
            warmups=1,
        )
    )
    results.append(
        time_call(
            Probe("  baseline: count(*) of the same invoices", "", TURNOVER_MS, True),
            lambda: Invoice.objects.filter(invoice_date__gte=found.since).count(),
            runs=max(1, min(runs, TURNOVER_RUNS)),
        )
    )
    if explain:
        _explain_functions(heavy, found)
    return results, failures


def _explain_functions(heavy: Any, found: Facts) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from goodwill.sales.selectors import turnover_by_partner
    from goodwill.sales.statements import partner_statement

    with CaptureQueriesContext(connection) as captured:
        partner_statement(partner=heavy, date_from=found.date_from, date_to=found.date_to)
    common.explain_queries(Probe("statement of account", "", 0), captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        list(turnover_by_partner(since=found.since))
    common.explain_queries(Probe("turnover_by_partner", "", 0), captured.captured_queries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sales", description=__doc__)
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="a fraction of the full size (1M partners, 5M invoices); sets both counts",
    )
    parser.add_argument("--invoices", type=int, default=None, help="number of invoices")
    parser.add_argument("--partners", type=int, default=None, help="number of partners")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data already loaded: no migrate, no size check, no load",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="load the sales data afresh even so"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each case's queries, and the plan of those slower than 2 ms",
    )
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else 0.01
    partners = args.partners or int(FULL_PARTNERS * scale)
    invoices = args.invoices or int(FULL_INVOICES * scale)
    if partners < 100 or invoices < 100:
        parser.error("--partners and --invoices must be at least 100")

    url = configure(partners, args.database)
    override = use_plain_static_storage()
    try:
        from django.db import connection
        from django.test import Client

        load_line = prepare_data(
            partners=partners,
            invoices=invoices,
            database=args.database,
            reuse=args.reuse,
            regenerate=args.regenerate,
        )
        client = Client()
        client.force_login(bench_superuser())
        found = facts()
        results, failures = run_cases(client, found, explain=args.explain)
        title = (
            f"Sales, {invoices:,} invoices, {partners:,} partners, heavy customer with "
            f"{found.heavy_invoices:,} invoices, {connection.vendor}{server_version()} ({url}); "
            f"pages: {common.RUNS} runs after {common.WARMUPS} warm-ups; statement "
            f"{FUNCTION_RUNS} calls, turnover {TURNOVER_RUNS}"
        )
        print_table(results, title=title, load_line=load_line, failures=failures)
        judged = [r for r in results if not r.probe.informative]
        return 0 if not failures and all(r.ok for r in judged) else 1
    finally:
        override.disable()


if __name__ == "__main__":
    sys.exit(main())
