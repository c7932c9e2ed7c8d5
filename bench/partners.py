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
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from bench.common import (
    RUNS,
    WARMUPS,
    BadResponse,
    Probe,
    Result,
    bench_superuser,
    configure,
    measure,
    print_table,
    server_version,
    use_plain_static_storage,
)

TARGET_MS = 150.0
# Search terms: a 5-letter piece of a surname, and a piece of email local parts
# ("anna.lindqvist@…", "a.lindqvist@…") that no name contains.
NAME_TERM = "lindq"
EMAIL_TERM = "a.lindqvist"


def _load_state_path(size: int, database: str) -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / f"bench-{size}-{database}.json"


def prepare_data(*, size: int, database: str, reuse: bool, regenerate: bool) -> str:
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


def _cases() -> list[Probe]:
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
    cases = [
        ("list, first page", "/partners/"),
        (
            f"filter supplier + category {category.name}",
            f"/partners/?role=supplier&category={category.pk}",
        ),
        ("filter customer", "/partners/?role=customer"),
        (f"search name '{NAME_TERM}'", f"/partners/?q={NAME_TERM}"),
        (f"search email '{EMAIL_TERM}'", f"/partners/?q={EMAIL_TERM}"),
        (f"detail of #{heavy.pk} (heavy)", f"/partners/{heavy.pk}/"),
        ("list, second page (cursor)", f"/partners/?{defaults}&cursor={cursor}"),
    ]
    return [Probe(label, url, TARGET_MS) for label, url in cases]


def _extra_cases() -> list[Probe]:
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
    return [Probe(label, url, TARGET_MS, informative=True) for label, url in cases]


def _search_counts() -> dict[str, int]:
    """How many partners each search finds (untimed), to read the search figures by."""
    from goodwill.partners.selectors import PartnerFilters, partner_queryset

    return {
        term: partner_queryset(PartnerFilters(q=term)).count() for term in (NAME_TERM, EMAIL_TERM)
    }


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

    url = configure(args.size, args.database)
    override = use_plain_static_storage()
    try:
        from django.db import connection
        from django.test import Client

        load_line = prepare_data(
            size=args.size, database=args.database, reuse=args.reuse, regenerate=args.regenerate
        )
        client = Client()
        client.force_login(bench_superuser())
        cases = _cases() + (_extra_cases() if args.extra else [])
        counts = _search_counts()
        results: list[Result] = []
        for case in cases:
            try:
                results.append(measure(client, case, explain=args.explain))
            except BadResponse as exc:
                raise SystemExit(str(exc)) from None
        title = (
            f"Partner pages, {args.size:,} partners, {connection.vendor}{server_version()} "
            f"({url}); {RUNS} runs after {WARMUPS} warm-ups"
        )
        print_table(results, title=title, load_line=load_line)
        print(
            "Search matches: "
            + ", ".join(f"'{term}' {count:,} partners" for term, count in counts.items())
        )
        return 0 if all(r.ok for r in results if not r.probe.informative) else 1
    finally:
        override.disable()


if __name__ == "__main__":
    sys.exit(main())
