"""What the page benchmarks share: the database set-up, timing and the table.

Each benchmark (``bench.partners``, ``bench.cases``) points Django at a
dedicated database, loads its data, then times pages through Django's test
client: the median and 90th percentile of ``RUNS`` requests after ``WARMUPS``
warm-ups, and the number of queries one request runs.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

RUNS = 20
WARMUPS = 2
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
EXPLAIN_MIN_MS = 2.0


@dataclass(frozen=True)
class Probe:
    """One page to time, and the median it must stay under."""

    label: str
    url: str
    target_ms: float
    informative: bool = False  # reported, but no part of the verdict
    user: str = ""  # which logged-in client requests it, for scripts with several
    headers: tuple[tuple[str, str], ...] = ()  # extra request headers (htmx)


@dataclass(frozen=True)
class Result:
    probe: Probe
    median_ms: float
    p90_ms: float
    queries: int

    @property
    def ok(self) -> bool:
        return self.median_ms <= self.probe.target_ms

    @property
    def verdict(self) -> str:
        text = "OK" if self.ok else "SLOW"
        return f"{text} (info)" if self.probe.informative else text


class BadResponse(Exception):
    """A page answered something else than 200."""


def database_name(size: int) -> str:
    return f"goodwill_bench_{size}"


def ensure_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}")


def configure(size: int, database: str) -> str:
    """Point the settings at the benchmark database of *size* partners; returns its URL."""
    if database == "sqlite":
        url = f"sqlite:///var/bench-{size}.sqlite3"
    else:
        ensure_pg_database(database_name(size))
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{database_name(size)}"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "goodwill.settings"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["DEBUG"] = "0"
    # WhiteNoise warns that STATIC_ROOT does not exist; static files are not measured.
    warnings.filterwarnings("ignore", message="No directory at")

    import django

    django.setup()
    return url


def use_plain_static_storage() -> Any:
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


def bench_superuser() -> Any:
    """The ``bench`` superuser (no password), created on first use."""
    from goodwill.accounts.models import User

    user = User.objects.filter(username="bench").first()
    if user is None:
        user = User.objects.create_superuser(username="bench", email="bench@example.com")
    return user


def server_version() -> str:
    """The server version to print in a title on PostgreSQL ("" on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f" {cursor.fetchone()[0]}"


def measure(client: Any, probe: Probe, *, explain: bool) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = dict(probe.headers)

    def get() -> None:
        response = client.get(probe.url, headers=headers)
        if response.status_code != 200:
            raise BadResponse(f"{probe.url} answered {response.status_code}, not 200")

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
        explain_queries(probe, captured.captured_queries)
    return Result(
        probe=probe,
        median_ms=statistics.median(timings),
        p90_ms=statistics.quantiles(timings, n=10)[-1],
        queries=len(captured.captured_queries),
    )


def explain_queries(probe: Probe, queries: list[dict[str, str]]) -> None:
    """Print the plan of every query of *probe* that took more than a few milliseconds."""
    from django.db import connection

    print(f"\n== {probe.label}: {len(queries)} queries")
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


def print_table(
    results: Sequence[Result],
    *,
    title: str,
    load_line: str,
    failures: Sequence[tuple[str, str]] = (),
) -> None:
    """The figures, one line per probe; *failures* are (label, reason) of probes
    that could not be timed."""
    labels = [r.probe.label for r in results] + [label for label, _ in failures]
    width = max(len(label) for label in labels)
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
            f"{r.probe.label:<{width}}  {r.median_ms:>9.1f}  {r.p90_ms:>7.1f}  "
            f"{r.probe.target_ms:>6.0f}  {r.queries:>7}  {r.verdict}"
        )
    for label, reason in failures:
        print(f"{label:<{width}}  {'-':>9}  {'-':>7}  {'-':>6}  {'-':>7}  {reason}")
