"""Payments: allocation to invoices, credit left on the partner, and balances
with their aging."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from goodwill.partners.models import Partner
from goodwill.sales import invoicing, payments
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import Invoice, Payment
from goodwill.sales.payments import Allocation
from tests.factories import PartnerFactory

D = Decimal
TODAY = datetime.date(2026, 6, 30)


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR")


def _posted(
    partner: Partner,
    total: str,
    *,
    due: datetime.date,
    kind: str = Invoice.Kind.CUSTOMER_INVOICE,
    currency: str = "EUR",
) -> Invoice:
    draft = invoicing.invoice_create(
        by=None,
        kind=kind,
        partner=partner,
        currency=currency,
        lines=[LineInput(description="Work", unit_price=D(total), tax_rate=D(0))],
    )
    return invoicing.invoice_post(invoice=draft, by=None, on=due)  # no terms: due that day


def _pay(partner: Partner, amount: str, **kwargs: object) -> Payment:
    kwargs.setdefault("direction", Payment.Direction.INBOUND)
    kwargs.setdefault("currency", "EUR")
    return payments.payment_register(
        by=None,
        partner=partner,
        amount=D(amount),
        payment_date=TODAY,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_partial_payment_leaves_the_rest_open(acme: Partner) -> None:
    invoice = _posted(acme, "100.00", due=TODAY)
    payment = _pay(acme, "40.00", allocations=[Allocation(invoice, D("40.00"))])
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_paid, invoice.amount_residual) == (
        "partial",
        D("40.00"),
        D("60.00"),
    )
    assert payment.amount_unallocated == 0
    _pay(acme, "60.00", allocations=[Allocation(invoice, D("60.00"))])
    invoice.refresh_from_db()
    assert invoice.state == "paid"


def test_without_allocations_the_oldest_due_invoices_are_settled_first(acme: Partner) -> None:
    newer = _posted(acme, "50.00", due=datetime.date(2026, 6, 1))
    older = _posted(acme, "30.00", due=datetime.date(2026, 5, 1))
    payment = _pay(acme, "100.00")
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.state, newer.state) == ("paid", "paid")
    assert payment.amount_unallocated == D("20.00")
    [balance] = payments.partner_balances(partner=acme, on=TODAY)
    assert (balance.receivable, balance.credit, balance.open_balance) == (0, D("20.00"), D("-20"))


@pytest.mark.parametrize(
    ("amount", "allocated", "message"),
    [
        ("50.00", "60.00", "has 50.00 EUR left to pay; 60.00 EUR is too much"),
        ("10.00", "20.00", "more than the payment"),
        ("10.001", "10.00", "more decimals than EUR allows"),
        ("0", "0", "more than zero"),
    ],
)
def test_allocations_that_do_not_fit_save_nothing(
    acme: Partner, amount: str, allocated: str, message: str
) -> None:
    invoice = _posted(acme, "50.00", due=TODAY)
    with pytest.raises(ValidationError, match=message):
        _pay(acme, amount, allocations=[Allocation(invoice, D(allocated))])
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0


def test_only_open_invoices_of_the_partner_currency_and_side(acme: Partner) -> None:
    other = PartnerFactory(name="Other")
    theirs = _posted(other, "10.00", due=TODAY)
    dollars = _posted(acme, "10.00", due=TODAY, currency="USD")
    bill = _posted(acme, "10.00", due=TODAY, kind=Invoice.Kind.VENDOR_BILL)
    for invoice in (theirs, dollars, bill):
        with pytest.raises(ValidationError, match="is not an open customer invoice of Acme in EUR"):
            _pay(acme, "10.00", allocations=[Allocation(invoice, D("10.00"))])
    paid = _pay(acme, "10.00", direction=Payment.Direction.OUTBOUND)
    bill.refresh_from_db()
    assert (paid.amount_allocated, bill.state) == (D("10.00"), "paid")


def test_balance_and_aging_buckets(acme: Partner) -> None:
    def days_ago(n: int) -> datetime.date:
        return TODAY - datetime.timedelta(days=n)

    _posted(acme, "1.00", due=days_ago(-5))  # not due yet
    _posted(acme, "10.00", due=days_ago(1))
    _posted(acme, "100.00", due=days_ago(30))
    _posted(acme, "1000.00", due=days_ago(31))
    _posted(acme, "10000.00", due=days_ago(75))
    _posted(acme, "100000.00", due=days_ago(91))
    credit = _posted(acme, "0.50", due=days_ago(2), kind=Invoice.Kind.CUSTOMER_CREDIT)
    _posted(acme, "7.00", due=days_ago(3), kind=Invoice.Kind.VENDOR_BILL)
    [balance] = payments.partner_balances(partner=acme, on=TODAY)
    assert balance.aging == {
        "not_due": D("1.00"),
        "days_0_30": D("109.50"),  # 10 + 100 − the 0.50 credit note
        "days_31_60": D("1000.00"),
        "days_61_90": D("10000.00"),
        "days_90_plus": D("100000.00"),
    }
    assert balance.receivable == D("111110.50")
    assert balance.payable == D("7.00")
    assert balance.overdue == D("111109.50")
    assert credit.state == "posted"


def test_balances_are_per_currency_and_ignore_drafts(acme: Partner) -> None:
    _posted(acme, "5.00", due=TODAY, currency="USD")
    invoicing.invoice_create(
        by=None,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=acme,
        lines=[LineInput(description="Draft", unit_price=D(99))],
    )
    balances = payments.partner_balances(partner=acme, on=TODAY)
    assert [(b.currency, b.receivable) for b in balances] == [("USD", D("5.00"))]
