"""A deterministic bulk loader of invoices, their lines and payments for the benchmarks.

``generate_sales(invoices=N)`` fills a database that already holds generated
partners (``bench.generate``) with 200 products, four payment terms, N posted
invoices (customer invoices, credit notes, vendor bills and vendor refunds) with
about 4·N lines, and about 0.4·N payments with their allocations, as the
services (``goodwill.sales.invoicing`` and ``payments``) would have left them:
numbers per kind and year, due dates from the payment terms, line subtotals and
taxes adding up to the invoice totals, ``amount_paid`` and the state (posted,
partially paid, paid) matching the allocations, and ``amount_allocated`` on each
payment. At the full size (``--invoices 5000000`` on 1,000,000 partners) that is
5 million invoices, 20 million lines and 2 million payments.

Invoices are generated account by account (a partner on the customer or the
supplier side), in date order over the three years before 2026-11-20; each
account has a currency (mostly EUR) and a payment term. Old invoices are mostly
paid, one to a dozen at a time; a few payments are partial, a few leave credit.
One customer, "Heavyweight Benchmark Holdings AG" from the partner generator,
gets ``HEAVY_INVOICES`` invoices (5,000 at full size) for the partner page and
statement benchmarks.

Rows are written without the ORM: on PostgreSQL with ``COPY … FROM STDIN``, the
secondary indexes and constraints of the loaded tables dropped during the load
and rebuilt after it, then ``VACUUM (ANALYZE)``; on SQLite with ``executemany``
in one transaction, then ``ANALYZE``.

    python -m bench.sales --invoices 500000 --partners 100000 --database postgres
"""

from __future__ import annotations

import random
import sys
import time
from array import array
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TextIO

from django.db import connection, transaction
from django.db.models import NOT_PROVIDED

from bench.bulk import (
    PostgresSink,
    Row,
    Sink,
    SqliteSink,
    pg_reset_sequences,
    pg_restore,
    pg_strip,
    sqlite_truncate_cascade,
)
from bench.generate import HEAVY_NAME
from goodwill.lib.text import name_key
from goodwill.sales.models import (
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    PaymentTerm,
    Product,
)

SEED = 20261127
END = date(2026, 11, 20)  # "today" of the generated history
SPAN_DAYS = 3 * 365
HEAVY_INVOICES = 5_000
LINES_PER_INVOICE = 4  # on average (1 to 7)
PAYMENTS_PER_INVOICE = 0.4
PRODUCTS = 200
CHUNK = 20_000  # invoices buffered before a flush
SUPPLIER_SHARE = 0.1  # of invoices: vendor bills and refunds
REFUND_RATE = 0.06
UNPAID_RATE = 0.06  # of invoices past due that nobody pays
PARTIAL_RATE = 0.08  # of payments: the last invoice only partly
CREDIT_RATE = 0.03  # of payments: more than the invoices, the rest stays as credit
TERMS = ((1, "Immediate", 0), (2, "14 days", 14), (3, "30 days", 30), (4, "60 days", 60))
TERM_DAYS = {pk: days for pk, _, days in TERMS}
CURRENCY_MIX = (("EUR", 0.9), ("USD", 0.06), ("GBP", 0.04))
PREFIX = {
    Invoice.Kind.CUSTOMER_INVOICE: "INV",
    Invoice.Kind.CUSTOMER_CREDIT: "RINV",
    Invoice.Kind.VENDOR_BILL: "BILL",
    Invoice.Kind.VENDOR_REFUND: "RBILL",
}
WORDS = (
    "Gripper", "Servo", "Bearing", "Sensor", "Valve", "Controller", "Cable", "Pump", "Filter",
    "Motor", "Gasket", "Bracket", "Panel", "Relay", "Encoder", "Nozzle", "Spring", "Clamp",
)  # fmt: skip
SIZES = ("S", "M", "L", "XL", "Pro", "Mini", "Max", "HD")

COLUMNS: dict[str, tuple[str, ...]] = {
    "sales_invoice": (
        "id", "kind", "number", "state", "partner_id", "currency", "invoice_date", "due_date",
        "payment_term_id", "reference", "notes", "amount_untaxed", "amount_tax", "amount_total",
        "amount_paid", "created_at", "updated_at", "posted_at",
    ),
    "sales_invoiceline": (
        "id", "invoice_id", "sequence", "product_id", "description", "quantity", "unit_price",
        "discount_percent", "tax_rate", "subtotal", "tax_amount",
    ),
    "sales_payment": (
        "id", "direction", "partner_id", "amount", "currency", "payment_date", "method",
        "reference", "amount_allocated", "created_at",
    ),
    "sales_paymentallocation": ("id", "payment_id", "invoice_id", "amount", "created_at"),
}  # fmt: skip
TABLES = tuple(COLUMNS)
MODELS = {
    "sales_invoice": Invoice,
    "sales_invoiceline": InvoiceLine,
    "sales_payment": Payment,
    "sales_paymentallocation": PaymentAllocation,
}
# Emptied before a load (with whatever points at them).
CLEARED = ("sales_paymentallocation", "sales_payment", "sales_invoiceline", "sales_invoice")
CONFIG = ("sales_product", "sales_paymentterm")


@dataclass
class SalesLoadReport:
    invoices: int
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    heavy_partner_id: int = 0
    heavy_invoices: int = 0

    def print(self, out: TextIO) -> None:
        out.write(f"Loaded {self.invoices:,} invoices in {self.seconds:.1f} s (")
        out.write(", ".join(f"{name} {secs:.1f} s" for name, secs in self.phases.items()))
        out.write(")\n")
        width = max(len(t) for t in self.rows)
        for table, count in self.rows.items():
            out.write(f"  {table:<{width}}  {count:>12,}\n")
        out.write(
            f"  heavy customer: #{self.heavy_partner_id} ({HEAVY_NAME!r}, "
            f"{self.heavy_invoices:,} invoices)\n"
        )


def money(cents: int) -> str:
    """Cents as a decimal string: 12345 → "123.45"."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def heavy_size(invoices: int) -> int:
    """The heavy customer's invoices: 5,000 from 100,000 invoices up, a twentieth below."""
    return min(HEAVY_INVOICES, max(1, invoices // 20))


class _Generator:
    def __init__(self, *, invoices: int, seed: int, sink: Sink, aware: bool, out: TextIO) -> None:
        self.n = invoices
        self.payments_target = int(invoices * PAYMENTS_PER_INVOICE)
        self.rng = random.Random(seed)
        self.sink = sink
        self.out = out
        self.tz = "+00:00" if aware else ""
        self.rows = dict.fromkeys(TABLES, 0)
        self.buffers: dict[str, list[Row]] = {t: [] for t in TABLES}
        self.next_id = dict.fromkeys(TABLES, 1)
        self.sequences: dict[tuple[str, int], int] = {}
        self.start = END - timedelta(days=SPAN_DAYS)
        self.dates = [(self.start + timedelta(days=d)) for d in range(SPAN_DAYS + 1)]
        self.date_text = [d.isoformat() for d in self.dates]
        self.stamps = [f"{d} 10:00:00{self.tz}" for d in self.date_text]
        self.end_index = SPAN_DAYS
        self.started = time.perf_counter()
        self.invoices_done = 0
        self.payments_done = 0

    # -- set-up ------------------------------------------------------------------

    def setup(self) -> None:
        PaymentTerm.objects.bulk_create(
            PaymentTerm(id=pk, name=name, net_days=days) for pk, name, days in TERMS
        )
        rng = random.Random(SEED)
        products = []
        self.products: list[tuple[int, str, int, int]] = []  # id, name, price cents, tax %
        for i in range(1, PRODUCTS + 1):
            name = f"{rng.choice(WORDS)} {rng.choice(SIZES)} {i:03d}"
            price = rng.choice((500, 1250, 2900, 4900, 9900, 19900, 49900, 129900))
            tax = rng.choice((20, 20, 20, 10, 0))
            products.append(
                Product(
                    id=i,
                    code=f"P{i:04d}",
                    name=name,
                    list_price=money(price),
                    cost=money(price * 6 // 10),
                    tax_rate=tax,
                )
            )
            self.products.append((i, f"[P{i:04d}] {name}", price, tax))
        Product.objects.bulk_create(products)

    def load_partners(self) -> None:
        """Active customer and supplier ids, and the heavy customer."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, is_customer, is_supplier, name_key, active FROM partners_partner "
                "WHERE merged_into_id IS NULL ORDER BY id"
            )
            customers, suppliers = array("q"), array("q")
            heavy = 0
            key = name_key(HEAVY_NAME)
            while rows := cursor.fetchmany(20_000):
                for pk, is_customer, is_supplier, partner_key, active in rows:
                    if partner_key == key and not heavy:
                        heavy = pk  # whether archived or not
                        continue
                    if not active:
                        continue
                    if is_customer:
                        customers.append(pk)
                    if is_supplier:
                        suppliers.append(pk)
        if not customers or not suppliers or not heavy:
            raise RuntimeError("the database holds no generated partners: load them first")
        self.customers, self.suppliers, self.heavy = customers, suppliers, heavy

    # -- rows --------------------------------------------------------------------

    def _take(self, table: str) -> int:
        pk = self.next_id[table]
        self.next_id[table] = pk + 1
        return pk

    def _number(self, kind: str, day: date) -> str:
        key = (PREFIX[kind], day.year)
        value = self.sequences.get(key, 0) + 1
        self.sequences[key] = value
        return f"{key[0]}/{key[1]}/{value:05d}"

    def flush(self, *, force: bool = False) -> None:
        if not force and len(self.buffers["sales_invoice"]) < CHUNK:
            return
        for table, rows in self.buffers.items():
            self.sink.write(table, rows)
            self.rows[table] += len(rows)
            rows.clear()
        elapsed = time.perf_counter() - self.started
        self.out.write(
            f"  {self.rows['sales_invoice']:>10,} invoices {self.rows['sales_invoiceline']:>11,}"
            f" lines {self.rows['sales_payment']:>10,} payments  ({elapsed:.0f} s)\n"
        )
        self.out.flush()

    def accounts(self) -> None:
        """Every account's invoices and payments, the heavy customer's first."""
        rng = self.rng
        supplier_total = int(self.n * SUPPLIER_SHARE)
        heavy = heavy_size(self.n)
        customer_total = self.n - supplier_total - heavy
        self.account(self.heavy, heavy, supplier=False)
        for pool, total, supplier in (
            (self.customers, customer_total, False),
            (self.suppliers, supplier_total, True),
        ):
            # Skewed sizes: most accounts have a few invoices, some hundreds.
            mean = max(8.0, total / (0.7 * len(pool)))
            left = total
            order = list(range(len(pool)))
            rng.shuffle(order)
            i = 0
            while left > 0:
                partner = pool[order[i % len(order)]]
                i += 1
                count = min(left, 1 + int(rng.expovariate(1 / (mean - 1))), 2_000)
                self.account(partner, count, supplier=supplier)
                left -= count
                self.flush()
        self.flush(force=True)

    def account(self, partner: int, count: int, *, supplier: bool) -> None:
        rng = self.rng
        currency = "EUR"
        roll = rng.random()
        for code, weight in CURRENCY_MIX:
            if roll < weight:
                currency = code
                break
            roll -= weight
        term = rng.choice((1, 2, 3, 3, 3, 4))
        net_days = TERM_DAYS[term]
        main_kind, refund_kind = (
            (Invoice.Kind.VENDOR_BILL, Invoice.Kind.VENDOR_REFUND)
            if supplier
            else (Invoice.Kind.CUSTOMER_INVOICE, Invoice.Kind.CUSTOMER_CREDIT)
        )
        # An account starts some time in the three years and invoices until the end.
        first = rng.randrange(0, SPAN_DAYS - 30) if count < 200 else rng.randrange(0, 60)
        days = sorted(rng.randrange(first, self.end_index + 1) for _ in range(count))
        # (row in the buffer, day index, due day index, amount to pay in cents)
        payable: list[tuple[int, int, int, int]] = []
        invoice_rows = self.buffers["sales_invoice"]
        line_rows = self.buffers["sales_invoiceline"]
        for index in days:
            day = self.dates[index]
            kind = refund_kind if rng.random() < REFUND_RATE else main_kind
            pk = self._take("sales_invoice")
            untaxed = tax = 0
            for sequence in range(1, rng.randint(1, 2 * LINES_PER_INVOICE - 1) + 1):
                product, label, price, rate = self.products[rng.randrange(PRODUCTS)]
                quantity = rng.randint(1, 20)
                discount = rng.choice((0, 0, 0, 5, 10))
                subtotal = (quantity * price * (100 - discount) + 50) // 100
                line_tax = (subtotal * rate + 50) // 100
                untaxed += subtotal
                tax += line_tax
                line_rows.append(
                    (
                        self._take("sales_invoiceline"),
                        pk,
                        sequence * 10,
                        product,
                        label,
                        f"{quantity}.0000",
                        money(price),
                        f"{discount}.0000",
                        f"{rate}.0000",
                        money(subtotal),
                        money(line_tax),
                    )
                )
            due_index = min(index + net_days, len(self.dates) - 1)
            due = self.dates[index] + timedelta(days=net_days)
            total = untaxed + tax
            invoice_rows.append(
                [
                    pk,
                    kind,
                    self._number(kind, day),
                    Invoice.State.POSTED,
                    partner,
                    currency,
                    self.date_text[index],
                    due.isoformat(),
                    term,
                    "",
                    "",
                    money(untaxed),
                    money(tax),
                    money(total),
                    "0.00",
                    self.stamps[index],
                    self.stamps[index],
                    self.stamps[index],
                ]
            )
            if kind == main_kind:
                payable.append((len(invoice_rows) - 1, index, due_index, total))
        self.invoices_done += count
        self._payments(partner, currency, payable, supplier=supplier)

    def _payments(
        self,
        partner: int,
        currency: str,
        payable: list[tuple[int, int, int, int]],
        *,
        supplier: bool,
    ) -> None:
        """Settle the account's invoices in date order, a batch per payment."""
        rng = self.rng
        # Keep the payments on course for PAYMENTS_PER_INVOICE over the whole load.
        wanted = self.payments_target * self.invoices_done / self.n - self.payments_done
        settled_share = 0.85
        batch_mean = max(1.0, len(payable) * settled_share / max(wanted, 0.5))
        direction = Payment.Direction.OUTBOUND if supplier else Payment.Direction.INBOUND
        invoice_rows = self.buffers["sales_invoice"]
        i = 0
        while i < len(payable):
            size = min(1 + int(rng.expovariate(1 / batch_mean) if batch_mean > 1 else 0), 12)
            batch = payable[i : i + size]
            i += size
            _, invoiced, due, _ = batch[-1]
            pay_index = max(invoiced, due + rng.randint(-10, 45))
            if pay_index > self.end_index or rng.random() < UNPAID_RATE:
                continue  # not paid yet, or never
            shares = [residual for *_, residual in batch]
            if rng.random() < PARTIAL_RATE:
                shares[-1] = max(1, shares[-1] // rng.choice((2, 3, 4)))
            allocated = sum(shares)
            amount = allocated + (
                rng.choice((1000, 5000, 10000)) if rng.random() < CREDIT_RATE else 0
            )
            payment = self._take("sales_payment")
            stamp = self.stamps[pay_index]
            self.buffers["sales_payment"].append(
                (
                    payment,
                    direction,
                    partner,
                    money(amount),
                    currency,
                    self.date_text[pay_index],
                    "bank" if rng.random() < 0.9 else "card",
                    f"Transfer {payment}",
                    money(allocated),
                    stamp,
                )
            )
            self.payments_done += 1
            for (row_index, *_, residual), share in zip(batch, shares, strict=True):
                row = invoice_rows[row_index]
                self.buffers["sales_paymentallocation"].append(
                    (self._take("sales_paymentallocation"), payment, row[0], money(share), stamp)
                )
                row[14] = money(share)
                row[3] = Invoice.State.PAID if share >= residual else Invoice.State.PARTIAL
                row[16] = stamp

    def sequences_rows(self) -> list[DocumentSequence]:
        return [
            DocumentSequence(prefix=prefix, year=year, last=last)
            for (prefix, year), last in sorted(self.sequences.items())
        ]


def _check_columns() -> None:
    """Fail early if a sales model grew a required column the generator does not write."""
    for table, model in MODELS.items():
        known = set(COLUMNS[table])
        missing = [
            str(f.column)
            for f in model._meta.concrete_fields
            if f.column not in known
            and not f.null
            and not f.has_default()
            and f.db_default is NOT_PROVIDED
        ]
        if missing:
            raise RuntimeError(
                f"bench.generate_sales does not fill {table}: {', '.join(missing)}; add them"
            )


def generate_sales(*, invoices: int, seed: int = SEED, out: TextIO = sys.stdout) -> SalesLoadReport:
    """Replace the invoices, payments, products and payment terms of the default
    database with *invoices* generated invoices and their lines and payments;
    the partners must be loaded already."""
    if invoices < 20:
        raise ValueError("invoices must be at least 20")
    _check_columns()
    report = SalesLoadReport(invoices=invoices)
    started = time.perf_counter()
    vendor = connection.vendor
    connection.ensure_connection()
    raw = connection.connection
    with transaction.atomic():
        if vendor == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                cursor.execute(f"TRUNCATE {', '.join(CLEARED + CONFIG)} RESTART IDENTITY CASCADE")
            schema = pg_strip(raw, TABLES)
            sink: Sink = PostgresSink(raw, COLUMNS)
        elif vendor == "sqlite":
            sqlite_truncate_cascade(raw, CLEARED + CONFIG)
            sink = SqliteSink(raw, COLUMNS)
        else:
            raise RuntimeError(f"unsupported database vendor {vendor}")
        DocumentSequence.objects.filter(prefix__in=PREFIX.values()).delete()
        generator = _Generator(
            invoices=invoices, seed=seed, sink=sink, aware=vendor == "postgresql", out=out
        )
        generator.setup()
        generator.load_partners()
        report.phases["set-up"] = time.perf_counter() - started
        out.write(f"Generating {invoices:,} invoices…\n")
        out.flush()
        mark = time.perf_counter()
        generator.accounts()
        DocumentSequence.objects.bulk_create(generator.sequences_rows())
        report.phases["rows"] = time.perf_counter() - mark
        if vendor == "postgresql":
            mark = time.perf_counter()
            out.write("Rebuilding indexes and constraints…\n")
            out.flush()
            pg_restore(raw, schema)
            pg_reset_sequences(raw, TABLES + CONFIG)
            report.phases["indexes and constraints"] = time.perf_counter() - mark
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # Autovacuum may be off: VACUUM sets the visibility map for index-only scans.
            for table in TABLES + CONFIG:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")
    report.phases["analyze"] = time.perf_counter() - mark
    report.seconds = time.perf_counter() - started
    report.rows = generator.rows
    report.heavy_partner_id = generator.heavy
    report.heavy_invoices = heavy_size(invoices)
    report.print(out)
    return report
