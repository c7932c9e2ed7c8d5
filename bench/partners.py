"""Server time of the partner pages at a given size, on SQLite or PostgreSQL.

    python -m bench.partners --size 10000 --database sqlite
    python -m bench.partners --size 1000000 --database postgres [--reuse] [--explain]

The script points Django at a dedicated database (``var/bench-<N>.sqlite3`` or
``goodwill_bench_<N>`` on the local PostgreSQL), migrates it, loads N generated
partners with ``bench.generate`` unless the database already holds N partners,
then times each page through Django's test client, logged in as a superuser:
the median and 90th percentile of 20 requests after 2 warm-ups, and the number
of queries one request runs. Output is plain text.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

TARGET_MS = 150.0
RUNS = 20
WARMUPS = 2
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
# Search terms: a 5-letter piece of a surname, and a piece of email local parts
# ("anna.lindqvist@…", "a.lindqvist@…") that no name contains.
NAME_TERM = "lindq"
EMAIL_TERM = "a.lindqvist"
EXPLAIN_MIN_MS = 2.0


@dataclass(frozen=True)
class Case:
    label: str
    url: str
    informative: bool = False  # an --extra case: reported, but no part of the verdict


@dataclass(frozen=True)
class Result:
    case: Case
    median_ms: float
    p90_ms: float
    queries: int

    @property
    def ok(self) -> bool:
        return self.median_ms <= TARGET_MS

    @property
    def verdict(self) -> str:
        text = "OK" if self.ok else "SLOW"
        return f"{text} (info)" if self.case.informative else text


def _database_name(size: int) -> str:
    return f"goodwill_bench_{size}"


def _ensure_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}")


def _configure(size: int, database: str) -> str:
    """Point the settings at the benchmark database; returns its description."""
    if database == "sqlite":
        url = f"sqlite:///var/bench-{size}.sqlite3"
    else:
        _ensure_pg_database(_database_name(size))
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{_database_name(size)}"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "goodwill.settings"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["DEBUG"] = "0"
    # WhiteNoise warns that STATIC_ROOT does not exist; static files are not measured.
    warnings.filterwarnings("ignore", message="No directory at")

    import django

    django.setup()
    return url


def _use_plain_static_storage() -> Any:
    """Serve {% static %} URLs without a manifest.

    With DEBUG off, the settings pick WhiteNoise's manifest storage, which needs
    ``collectstatic`` to have run, or every page fails on a missing manifest entry.
    Static files are not what these benchmarks measure, and collectstatic would
    write into the shared ``var/`` tree, so the plain storage is used instead:
    it builds the same kind of URL without reading a manifest.
    """
    from django.conf import settings
    from django.test.utils import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override = override_settings(STORAGES=storages)
    override.enable()
    return override


def _load_state_path(size: int, database: str) -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / f"bench-{size}-{database}.json"


def _prepare_data(*, size: int, database: str, reuse: bool, regenerate: bool) -> str:
    """Migrate and load the data if needed; returns a line about the load time."""
    from django.core.management import call_command

    from bench.generate import generate
    from goodwill.partners.models import Partner

    state = _load_state_path(size, database)
    if not reuse:
        call_command("migrate", verbosity=0, interactive=False)
        count = Partner.objects.count()
        if regenerate or count != size:
            if count:
                print(f"The database holds {count:,} partners; loading {size:,} afresh.")
            report = generate(size=size)
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(
                json.dumps(
                    {
                        "size": size,
                        "seconds": round(report.seconds, 1),
                        "phases": {k: round(v, 1) for k, v in report.phases.items()},
                        "rows": report.rows,
                        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    },
                    indent=2,
                )
            )
            return f"Generator load time: {report.seconds:.1f} s (this run)"
        print(f"The database already holds {size:,} partners; reusing them.")
    if state.exists():
        saved = json.loads(state.read_text())
        return (
            f"Generator load time: {saved['seconds']:.1f} s "
            f"(loaded {saved['loaded_at']}, reused now)"
        )
    return "Generator load time: unknown (data loaded by an earlier run)"


def _cases() -> list[Case]:
    from bench.generate import HEAVY_NAME
    from goodwill.lib.text import name_key
    from goodwill.partners.models import Category, Partner
    from goodwill.partners.selectors import PartnerFilters, partner_list_page

    heavy = Partner.objects.filter(name_key=name_key(HEAVY_NAME)).order_by("pk").first()
    category = Category.objects.filter(name="Industry", parent=None).first()
    if heavy is None or category is None:
        raise SystemExit("The database holds no generated data: run without --reuse.")
    defaults = urlencode(PartnerFilters().to_dict())
    cursor = partner_list_page(filters=PartnerFilters(), cursor=None).next_cursor
    if cursor is None:
        raise SystemExit("The partner list has a single page; use a larger --size.")
    return [
        Case("list, first page", "/partners/"),
        Case(
            f"filter supplier + category {category.name}",
            f"/partners/?role=supplier&category={category.pk}",
        ),
        Case("filter customer", "/partners/?role=customer"),
        Case(f"search name '{NAME_TERM}'", f"/partners/?q={NAME_TERM}"),
        Case(f"search email '{EMAIL_TERM}'", f"/partners/?q={EMAIL_TERM}"),
        Case(f"detail of #{heavy.pk} (heavy)", f"/partners/{heavy.pk}/"),
        Case("list, second page (cursor)", f"/partners/?{defaults}&cursor={cursor}"),
    ]


def _extra_cases() -> list[Case]:
    """Filters whose matches are rare or absent, beyond the seven main cases.

    The list walks the (name, id) index and filters as it goes, so the fewer rows
    match, the more of the table it reads before it has a page (or gives up).
    """
    from goodwill.partners.models import Category

    leaf = Category.objects.filter(name="Charity").exclude(parent=None).first()
    if leaf is None:
        raise SystemExit("The database holds no generated data: run without --reuse.")
    cases = [
        ("search common word 'anna'", "/partners/?q=anna"),
        ("filter employee + category Charity", f"/partners/?role=employee&category={leaf.pk}"),
        ("filter archived + employee", "/partners/?status=archived&role=employee"),
        ("filter employee + company (no match)", "/partners/?role=employee&kind=company"),
    ]
    return [Case(label, url, informative=True) for label, url in cases]


def _search_counts() -> dict[str, int]:
    """How many partners each search finds (untimed), to read the search figures by."""
    from goodwill.partners.selectors import PartnerFilters, partner_queryset

    return {
        term: partner_queryset(PartnerFilters(q=term)).count() for term in (NAME_TERM, EMAIL_TERM)
    }


def _measure(client: Any, case: Case, *, explain: bool) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get() -> None:
        response = client.get(case.url)
        if response.status_code != 200:
            raise SystemExit(f"{case.url} answered {response.status_code}, not 200")

    for _ in range(WARMUPS):
        get()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        get()
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        get()
    if explain:
        _explain(case, captured.captured_queries)
    return Result(
        case=case,
        median_ms=statistics.median(timings),
        p90_ms=statistics.quantiles(timings, n=10)[-1],
        queries=len(captured.captured_queries),
    )


def _explain(case: Case, queries: list[dict[str, str]]) -> None:
    """Print the plan of every query of *case* that took more than a few milliseconds."""
    from django.db import connection

    print(f"\n== {case.label}: {len(queries)} queries")
    for query in queries:
        ms = float(query["time"]) * 1000
        print(f"-- {ms:7.1f} ms  {query['sql'][:300]}")
        if ms < EXPLAIN_MIN_MS or not query["sql"].lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            prefix = (
                "EXPLAIN (ANALYZE, BUFFERS) "
                if connection.vendor == "postgresql"
                else "EXPLAIN QUERY PLAN "
            )
            cursor.execute(prefix + query["sql"])
            for row in cursor.fetchall():
                print("     " + " | ".join(str(col) for col in row))


def _print_table(results: list[Result], *, title: str, load_line: str) -> None:
    width = max(len(r.case.label) for r in results)
    header = (
        f"{'case':<{width}}  {'median ms':>9}  {'p90 ms':>7}  {'target':>6}  {'queries':>7}  result"
    )
    print()
    print(title)
    print(load_line)
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.case.label:<{width}}  {r.median_ms:>9.1f}  {r.p90_ms:>7.1f}  "
            f"{TARGET_MS:>6.0f}  {r.queries:>7}  {r.verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.partners", description=__doc__)
    parser.add_argument("--size", type=int, default=10_000, help="number of partners")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data already loaded: no migrate, no size check, no load",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="load the data afresh even if it is there"
    )
    parser.add_argument(
        "--extra",
        action="store_true",
        help="also time filters with rare or no matches (reported, not judged)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each case's queries, and the plan of those slower than 2 ms",
    )
    args = parser.parse_args(argv)
    if args.size < 100:
        parser.error("--size must be at least 100")

    url = _configure(args.size, args.database)
    override = _use_plain_static_storage()
    try:
        from django.db import connection
        from django.test import Client

        from goodwill.accounts.models import User

        load_line = _prepare_data(
            size=args.size, database=args.database, reuse=args.reuse, regenerate=args.regenerate
        )
        user = User.objects.filter(username="bench").first()
        if user is None:
            user = User.objects.create_superuser(username="bench", email="bench@example.com")
        client = Client()
        client.force_login(user)
        cases = _cases() + (_extra_cases() if args.extra else [])
        counts = _search_counts()
        results = [_measure(client, case, explain=args.explain) for case in cases]
        version = ""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                version = f" {cursor.fetchone()[0]}"
        title = (
            f"Partner pages, {args.size:,} partners, {connection.vendor}{version} "
            f"({url}); {RUNS} runs after {WARMUPS} warm-ups"
        )
        _print_table(results, title=title, load_line=load_line)
        print(
            "Search matches: "
            + ", ".join(f"'{term}' {count:,} partners" for term, count in counts.items())
        )
        return 0 if all(r.ok for r in results if not r.case.informative) else 1
    finally:
        override.disable()


if __name__ == "__main__":
    sys.exit(main())
