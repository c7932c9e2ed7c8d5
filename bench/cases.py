"""Server time of the case pages with many cases, on SQLite or PostgreSQL.

    python -m bench.cases --cases 20000 --entries 100000 --database sqlite
    python -m bench.cases --cases 1000000 --entries 10000000 --database postgres
    python -m bench.cases --cases 1000000 --entries 10000000 --database postgres --reuse

The script uses the partner benchmark's database (``var/bench-<P>.sqlite3`` or
``goodwill_bench_<P>``, P partners: 10,000 on SQLite and 1,000,000 on PostgreSQL
unless ``--partners`` says otherwise), migrates it, loads the partners with
``bench.generate`` and the cases with ``bench.generate_cases`` unless they are
already there, then times each page through Django's test client, logged in as
the agent ``lena.berg``: a member of the members-only SALES section, so each
list runs the permission filter an agent gets. The median and 90th percentile
of 20 requests after 2 warm-ups, and the number of queries one request runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
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

LIST_MS = 150.0
DETAIL_MS = 200.0
KANBAN_MS = 300.0
REPORT_MS = 2000.0
DEFAULT_PARTNERS = {"sqlite": 10_000, "postgres": 1_000_000}
AGENT = "agent"
SUPERUSER = "superuser"


def _state_path(partners: int, database: str) -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / f"bench-cases-{partners}-{database}.json"


def _loaded(cases: int, entries: int) -> bool:
    """Whether the database holds exactly this generated case data."""
    from django.contrib.contenttypes.models import ContentType

    from bench.generate_cases import HEAVY_SUBJECT
    from goodwill.cases.models import Case
    from goodwill.partners.models import TimelineEntry

    if Case.objects.count() != cases or not Case.objects.filter(subject=HEAVY_SUBJECT).exists():
        return False
    case_type = ContentType.objects.get_for_model(Case)
    return TimelineEntry.objects.filter(subject_type=case_type).count() == entries


def _prepare_data(
    *, partners: int, cases: int, entries: int, database: str, reuse: bool, regenerate: bool
) -> str:
    """Migrate and load the data if needed; returns a line about the load time."""
    from bench.generate_cases import generate_cases
    from bench.partners import prepare_data as prepare_partners

    state = _state_path(partners, database)
    if not reuse:
        # Migrates, and loads the partners unless they are there (which empties the cases).
        prepare_partners(size=partners, database=database, reuse=False, regenerate=False)
        if regenerate or not _loaded(cases, entries):
            report = generate_cases(cases=cases, entries=entries)
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(
                json.dumps(
                    {
                        "partners": partners,
                        "cases": cases,
                        "entries": entries,
                        "seconds": round(report.seconds, 1),
                        "phases": {k: round(v, 1) for k, v in report.phases.items()},
                        "rows": report.rows,
                        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    },
                    indent=2,
                )
            )
            return f"Case generator load time: {report.seconds:.1f} s (this run)"
        print(f"The database already holds {cases:,} cases and {entries:,} entries; reusing them.")
    if state.exists():
        saved = json.loads(state.read_text())
        return (
            f"Case generator load time: {saved['seconds']:.1f} s for {saved['cases']:,} cases "
            f"and {saved['entries']:,} entries (loaded {saved['loaded_at']}, reused now)"
        )
    return "Case generator load time: unknown (data loaded by an earlier run)"


def _facts(agent: Any) -> dict[str, Any]:
    """What the probes need from the data, and the match counts they are read by."""
    from bench.generate_cases import FIRST_NUMBER, HEAVY_SUBJECT, SALES_CODE, SEARCH_TERM
    from goodwill.cases.models import Case, CaseState, Section, Stage
    from goodwill.cases.permissions import visible_cases
    from goodwill.lib.text import fold

    heavy = Case.objects.filter(subject=HEAVY_SUBJECT).order_by("number").first()
    sales = Section.objects.filter(code=SALES_CODE).first()
    if heavy is None or sales is None:
        raise SystemExit("The database holds no generated cases: run without --reuse.")
    # A number from the middle of the range, in a section every agent sees.
    middle = FIRST_NUMBER + Case.objects.count() // 3
    number = (
        Case.objects.filter(number__gte=middle, section__visibility=Section.Visibility.PUBLIC)
        .exclude(pk=heavy.pk)
        .order_by("number")
        .values_list("number", flat=True)
        .first()
    )
    stages = list(Stage.objects.filter(section=sales).order_by("sequence", "id"))
    visible = visible_cases(agent)
    opportunities = Case.objects.filter(section=sales, case_type__code="opportunity")
    return {
        "heavy": heavy.number,
        "sales": sales.pk,
        "stages": stages,
        "number": number,
        "my_open": Case.objects.filter(responsible=agent, state=CaseState.OPEN).count(),
        "term_matches": visible.filter(search_text__contains=fold(SEARCH_TERM)).count(),
        "kanban_open": opportunities.filter(state=CaseState.OPEN).count(),
        "kanban_columns": {
            stage.pk: opportunities.filter(stage=stage, state__in=["draft", "open", "pending"])
            .order_by()
            .count()
            for stage in stages
        },
    }


def _probes(facts: dict[str, Any]) -> tuple[list[Probe], list[tuple[str, str]]]:
    """The pages to time; and (label, reason) for those whose URL does not exist yet."""
    from django.urls import NoReverseMatch, reverse

    from bench.generate_cases import SEARCH_TERM

    probes: list[Probe] = []
    missing: list[tuple[str, str]] = []
    kanban_query = urlencode({"section": facts["sales"], "type": "opportunity"})

    def add(
        label: str,
        name: str,
        target: float,
        *,
        args: tuple[Any, ...] = (),
        query: str = "",
        user: str = AGENT,
        informative: bool = False,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            missing.append((label, f"MISSING (no URL {name!r} yet)"))
            return
        probes.append(
            Probe(
                label,
                f"{url}?{query}" if query else url,
                target,
                informative=informative,
                user=user,
                headers=headers,
            )
        )

    add(
        f"'My open' list ({facts['my_open']:,} open)", "cases:list", LIST_MS, query="filter=my_open"
    )
    add(f"search number {facts['number']}", "cases:list", LIST_MS, query=f"q={facts['number']}")
    add(
        f"search subject '{SEARCH_TERM}' ({facts['term_matches']:,} matches)",
        "cases:list",
        LIST_MS,
        query=urlencode({"q": SEARCH_TERM}),
    )
    add(
        f"detail #{facts['heavy']} (500 entries)", "cases:detail", DETAIL_MS, args=(facts["heavy"],)
    )
    add(
        f"kanban SALES opportunities ({facts['kanban_open']:,} open)",
        "cases:kanban",
        KANBAN_MS,
        query=kanban_query,
    )
    for stage in facts["stages"]:
        add(
            f"  kanban column {stage.name} ({facts['kanban_columns'][stage.pk]:,})",
            "cases:kanban_column",
            KANBAN_MS,
            args=(stage.pk,),
            query=kanban_query,
            headers=(("HX-Request", "true"),),
        )
    add("report: activity (all cases)", "cases:report_activity", REPORT_MS)
    add("report: sections (all cases)", "cases:report_sections", REPORT_MS)
    add("list as superuser, first page", "cases:list", LIST_MS, user=SUPERUSER, informative=True)
    return probes, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cases", description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000, help="number of cases")
    parser.add_argument(
        "--entries", type=int, default=100_000, help="number of timeline entries on them"
    )
    parser.add_argument(
        "--partners",
        type=int,
        default=None,
        help="number of partners (10,000 on SQLite, 1,000,000 on PostgreSQL)",
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data already loaded: no migrate, no size check, no load",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="load the cases afresh even if they are there"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each case's queries, and the plan of those slower than 2 ms",
    )
    args = parser.parse_args(argv)
    partners = args.partners or DEFAULT_PARTNERS[args.database]
    if args.cases < 100 or partners < 100:
        parser.error("--cases and --partners must be at least 100")

    url = configure(partners, args.database)
    override = use_plain_static_storage()
    try:
        from django.db import connection
        from django.test import Client

        from bench.generate_cases import BENCH_AGENT
        from goodwill.accounts.models import User

        load_line = _prepare_data(
            partners=partners,
            cases=args.cases,
            entries=args.entries,
            database=args.database,
            reuse=args.reuse,
            regenerate=args.regenerate,
        )
        agent = User.objects.filter(username=BENCH_AGENT).first()
        if agent is None:
            raise SystemExit("The database holds no generated cases: run without --reuse.")
        clients: dict[str, Client] = {AGENT: Client(), SUPERUSER: Client()}
        clients[AGENT].force_login(agent)
        clients[SUPERUSER].force_login(bench_superuser())
        facts = _facts(agent)
        probes, failures = _probes(facts)
        results: list[Result] = []
        for probe in probes:
            try:
                results.append(measure(clients[probe.user], probe, explain=args.explain))
            except BadResponse as exc:
                failures.append((probe.label, f"ERROR: {exc}"))
        title = (
            f"Case pages, {args.cases:,} cases, {args.entries:,} entries, {partners:,} partners, "
            f"{connection.vendor}{server_version()} ({url}); as agent {BENCH_AGENT}; "
            f"{RUNS} runs after {WARMUPS} warm-ups"
        )
        print_table(results, title=title, load_line=load_line, failures=failures)
        judged = [r for r in results if not r.probe.informative]
        return 0 if not failures and all(r.ok for r in judged) else 1
    finally:
        override.disable()


if __name__ == "__main__":
    sys.exit(main())
