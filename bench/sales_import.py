"""ERP import: how fast 100,000 invoice lines import, next to a plain COPY.

    python -m bench.sales_import --database postgres             # 20,000 × 5 lines
    python -m bench.sales_import --database sqlite --invoices 2000

1. The script creates ``--partners`` partners with ERP ids and ``--products``
   products (once; a rerun reuses them) and writes a CSV of ``--invoices``
   invoices of ``--lines`` lines each, the header columns repeated on every
   line, as ERPs export them.
2. **Import:** ``goodwill.sales.imports`` reads the file and imports it as the
   worker does (batches of 2,000 rows, each its own transaction, partners
   matched by ERP id, products by code, totals computed and checked against
   the total column, a timeline entry per document). Target: 5,000 rows/s.
3. **Re-import:** the same file again; every row must come back unchanged,
   with nothing written.
4. **Baseline (PostgreSQL):** ``COPY … FROM STDIN`` of the same lines, already
   computed, into a staging table of the invoice line table's shape (its
   columns, defaults, identity and indexes; ``LIKE … INCLUDING ALL``, which
   leaves out foreign keys): the fastest the database takes these rows, with
   no parsing, matching or checks.

The data live in a database of their own: ``goodwill_bench_sales_import`` on
PostgreSQL or ``var/bench-sales-import.sqlite3``. Imported invoices are deleted
before each run.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import time
import warnings
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bench.common import PG_HOST, PG_PORT, PG_USER, ensure_pg_database, server_version

DB_NAME = "goodwill_bench_sales_import"
PREFIX = "BENCH-"
TARGET_ROWS_PER_S = 5_000
CENT = Decimal("0.01")
COLUMNS = (
    "number",
    "type",
    "partner_external_id",
    "date",
    "currency",
    "state",
    "total",
    "line_description",
    "product_code",
    "quantity",
    "unit_price",
    "discount",
    "tax_rate",
)


def _setup(database: str) -> str:
    if database == "sqlite":
        os.makedirs("var", exist_ok=True)
        url = "sqlite:///var/bench-sales-import.sqlite3"
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


def _master_data(partners: int, products: int) -> tuple[list[str], list[tuple[str, Decimal]]]:
    """Partners with ERP ids and products, created in bulk on the first run."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from goodwill.lib.text import name_key
    from goodwill.partners.models import Partner
    from goodwill.sales.models import PartnerTerms, Product

    call_command("migrate", verbosity=0, interactive=False)
    ids = [f"ERP-{n:05d}" for n in range(partners)]
    with transaction.atomic():
        have = set(
            PartnerTerms.objects.filter(external_id__in=ids).values_list("external_id", flat=True)
        )
        missing = [i for i in ids if i not in have]
        if missing:
            now = timezone.now()
            made = Partner.objects.bulk_create(
                Partner(
                    name=f"Bench customer {i}",
                    name_key=name_key(f"Bench customer {i}"),
                    is_customer=True,
                    currency="EUR",
                    created_at=now,
                    updated_at=now,
                )
                for i in missing
            )
            PartnerTerms.objects.bulk_create(
                PartnerTerms(partner=p, external_id=i) for p, i in zip(made, missing, strict=True)
            )
        codes = [f"BP-{n:04d}" for n in range(products)]
        known = set(Product.objects.filter(code__in=codes).values_list("code", flat=True))
        Product.objects.bulk_create(
            Product(
                code=code,
                name=f"Bench product {code}",
                list_price=Decimal(10 + n % 90),
                tax_rate=Decimal(20),
            )
            for n, code in enumerate(codes)
            if code not in known
        )
    prices = [(code, Decimal(10 + n % 90)) for n, code in enumerate(codes)]
    return ids, prices


def _clear() -> None:
    """Remove the invoices (and their lines and timeline entries) a previous run imported."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from goodwill.partners.models import TimelineEntry
    from goodwill.sales.models import Invoice, InvoiceLine

    invoice_type = ContentType.objects.get_for_model(Invoice)
    with transaction.atomic(), connection.cursor() as cursor:
        invoices = Invoice._meta.db_table
        lines = InvoiceLine._meta.db_table
        timeline = TimelineEntry._meta.db_table
        cursor.execute(
            f"DELETE FROM {timeline} WHERE subject_type_id = %s AND subject_id IN "
            f"(SELECT id FROM {invoices} WHERE number LIKE %s)",
            [invoice_type.pk, PREFIX + "%"],
        )
        cursor.execute(
            f"DELETE FROM {lines} WHERE invoice_id IN "
            f"(SELECT id FROM {invoices} WHERE number LIKE %s)",
            [PREFIX + "%"],
        )
        cursor.execute(f"DELETE FROM {invoices} WHERE number LIKE %s", [PREFIX + "%"])


def _csv(
    invoices: int, lines: int, partners: list[str], products: list[tuple[str, Decimal]]
) -> tuple[bytes, int]:
    rng = random.Random(20261201)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    start = date(2025, 1, 1)
    rows = 0
    for n in range(invoices):
        partner = rng.choice(partners)
        day = (start + timedelta(days=n % 540)).isoformat()
        chosen = [rng.choice(products) for _ in range(lines)]
        quantities = [rng.randint(1, 20) for _ in range(lines)]
        discounts = [rng.choice((0, 0, 0, 5, 10)) for _ in range(lines)]
        untaxed = Decimal(0)
        tax = Decimal(0)
        for (_, price), quantity, discount in zip(chosen, quantities, discounts, strict=True):
            subtotal = (quantity * price * (100 - discount) / Decimal(100)).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
            untaxed += subtotal
            tax += (subtotal * Decimal("0.20")).quantize(CENT, rounding=ROUND_HALF_UP)
        total = untaxed + tax
        for index, ((code, price), quantity, discount) in enumerate(
            zip(chosen, quantities, discounts, strict=True)
        ):
            writer.writerow(
                (
                    f"{PREFIX}{n:07d}",
                    "invoice",
                    partner,
                    day,
                    "EUR",
                    "posted" if n % 3 else "paid",
                    total,
                    f"Line {index + 1}",
                    code,
                    quantity,
                    price,
                    discount,
                    20,
                )
            )
            rows += 1
    return out.getvalue().encode("utf-8"), rows


def _copy_baseline() -> tuple[float, int] | None:
    """COPY the imported lines, as stored, into a staging table of the same shape."""
    from django.db import connection, transaction

    from goodwill.sales.models import InvoiceLine

    if connection.vendor != "postgresql":
        return None
    fields = [
        f.column for f in InvoiceLine._meta.concrete_fields if not f.primary_key
    ]  # invoice_id, sequence, product_id, description, quantity, …
    rows = list(
        InvoiceLine.objects.filter(invoice__number__startswith=PREFIX)
        .order_by("id")
        .values_list(*[f.attname for f in InvoiceLine._meta.concrete_fields if not f.primary_key])
    )
    table = InvoiceLine._meta.db_table
    names = ", ".join(fields)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE bench_line_staging (LIKE {table} INCLUDING ALL) ON COMMIT DROP"
        )
        started = time.perf_counter()
        with cursor.copy(f"COPY bench_line_staging ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_line_staging")
        count = cursor.fetchone()[0]
    return seconds, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=5, help="lines per invoice")
    parser.add_argument("--partners", type=int, default=2_000)
    parser.add_argument("--products", type=int, default=500)
    args = parser.parse_args()
    url = _setup(args.database)

    from goodwill.sales import imports
    from goodwill.sales.models import SalesImport

    print(f"ERP import benchmark on {args.database}{server_version()} ({url.rsplit('/', 1)[-1]})")
    partners, products = _master_data(args.partners, args.products)
    _clear()
    content, rows = _csv(args.invoices, args.lines, partners, products)
    print(
        f"File: {args.invoices:,} invoices × {args.lines} lines = {rows:,} rows, "
        f"{len(content) / 1024 / 1024:.1f} MB"
    )

    def import_once(label: str) -> tuple[float, Any]:
        started = time.perf_counter()
        tables = imports.read_files(
            kind=SalesImport.Kind.INVOICES, content=content, file_name="bench.csv"
        )
        read = time.perf_counter() - started
        result = imports.import_tables(
            tables,
            kind=SalesImport.Kind.INVOICES,
            options=imports.Options(by=None, file_name="bench.csv"),
        )
        seconds = time.perf_counter() - started
        c = result.counts
        print(
            f"{label:<22} {seconds:7.1f} s  {rows / seconds:9,.0f} rows/s   (reading "
            f"{read:.1f} s; created {c['created']:,}, updated {c['updated']:,}, "
            f"unchanged {c['unchanged']:,}, rejected {c['rejected']:,})"
        )
        return seconds, result

    seconds, result = import_once("import")
    if result.counts["rejected"]:
        print("Rejected:", result.messages[:5])
    _, second = import_once("re-import (unchanged)")
    baseline = _copy_baseline()
    if baseline is None:
        print("COPY baseline: PostgreSQL only.")
    else:
        copy_seconds, copied = baseline
        print(
            f"{'COPY baseline':<22} {copy_seconds:7.1f} s  {copied / copy_seconds:9,.0f} rows/s   "
            f"(the same {copied:,} lines into a staging table of the same shape)"
        )
        print(f"Import / COPY: {seconds / copy_seconds:.1f} × the time of a bare COPY")
    ok = (
        rows / seconds >= TARGET_ROWS_PER_S
        and not result.counts["rejected"]
        and second.counts["unchanged"] == rows
    )
    print(
        f"Target ≥ {TARGET_ROWS_PER_S:,} rows/s: {'OK' if ok else 'MISSED'} "
        f"({rows / seconds:,.0f} rows/s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
