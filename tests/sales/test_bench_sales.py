"""The sales benchmark at a tiny size on the test database: the generator leaves
invoices and payments as the services would, and every case runs."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F, Q, Sum
from django.test import Client

from bench import common
from bench.generate import generate
from bench.generate_sales import END, generate_sales, heavy_size
from bench.sales import facts, run_cases
from goodwill.sales.models import Invoice, InvoiceLine, Payment, PaymentAllocation
from goodwill.sales.payments import partner_balances
from goodwill.sales.statements import partner_statement


@pytest.fixture
def loaded(db: None) -> None:
    if connection.vendor != "sqlite":
        # The loaders VACUUM on PostgreSQL, which cannot run inside a test's
        # transaction; ``python -m bench.sales --database postgres`` covers it.
        pytest.skip("the smoke test runs on SQLite")
    generate(size=400, out=io.StringIO())
    report = generate_sales(invoices=600, out=io.StringIO())
    assert report.rows["sales_invoice"] == 600


def test_the_generated_documents_add_up(loaded: None) -> None:
    """Totals are the sums of their lines, paid amounts the sums of their
    allocations, and states follow from them."""
    assert InvoiceLine.objects.count() > 3 * 600
    assert 0.2 * 600 < Payment.objects.count() < 0.6 * 600
    lines = dict(
        InvoiceLine.objects.values("invoice_id")
        .annotate(total=Sum(F("subtotal") + F("tax_amount")))
        .values_list("invoice_id", "total")
    )
    allocated = dict(
        PaymentAllocation.objects.values("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    for pk, total, paid, untaxed, tax, state in Invoice.objects.values_list(
        "pk", "amount_total", "amount_paid", "amount_untaxed", "amount_tax", "state"
    ):
        assert lines[pk] == total == untaxed + tax
        assert allocated.get(pk, Decimal(0)) == paid <= total
        expected = "paid" if paid == total else "partial" if paid else "posted"
        assert state == expected, pk
    by_payment = dict(
        PaymentAllocation.objects.values("payment_id")
        .annotate(total=Sum("amount"))
        .values_list("payment_id", "total")
    )
    for pk, amount, allocated_amount in Payment.objects.values_list(
        "pk", "amount", "amount_allocated"
    ):
        assert by_payment[pk] == allocated_amount <= amount
    assert not Payment.objects.filter(payment_date__gt=END).exists()
    assert not Invoice.objects.filter(
        Q(allocations__payment__payment_date__lt=F("invoice_date"))
    ).exists()
    assert len(set(Invoice.objects.values_list("kind", "number"))) == 600


def test_the_heavy_customer_statement_matches_its_balance(loaded: None) -> None:
    found = facts()
    assert found.heavy_invoices == heavy_size(600)
    heavy = Invoice.objects.filter(partner_id=found.heavy_id).first()
    assert heavy is not None
    statement = partner_statement(
        partner=heavy.partner, date_from=found.date_from, date_to=END, include_children=False
    )
    balances = {b.currency: b for b in partner_balances(partner=heavy.partner, on=END)}
    for section in statement.sections:
        if section.side == "receivable":
            assert section.closing == balances[section.currency].open_balance
            assert section.aging == balances[section.currency].aging


def test_every_case_runs(loaded: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "RUNS", 2)
    monkeypatch.setattr(common, "WARMUPS", 0)
    client = Client()
    client.force_login(common.bench_superuser())
    results, failures = run_cases(client, facts(), runs=2)
    assert failures == []
    assert len(results) == 7
    assert all(r.median_ms > 0 and r.queries > 0 for r in results)
