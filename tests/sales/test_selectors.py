"""A partner's sales summary and everyone's turnover."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from goodwill.partners.models import Partner
from goodwill.sales import invoicing, selectors
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import ExchangeRate, Invoice
from tests.factories import PartnerFactory

D = Decimal
TODAY = datetime.date(2026, 6, 30)


def _billed(
    partner: Partner,
    untaxed: str,
    day: datetime.date,
    *,
    kind: str = "out_invoice",
    currency: str = "EUR",
) -> Invoice:
    draft = invoicing.invoice_create(
        by=None, kind=kind, partner=partner, currency=currency,
        lines=[LineInput(description="Work", unit_price=D(untaxed), tax_rate=D(20))],
    )  # fmt: skip
    return invoicing.invoice_post(invoice=draft, by=None, on=day)


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR")


def test_summary_counts_net_untaxed_turnover_of_the_group(acme: Partner, settings: object) -> None:
    subsidiary = PartnerFactory(name="Acme Iberia", parent=acme)
    _billed(acme, "100.00", datetime.date(2024, 1, 10))
    _billed(acme, "200.00", datetime.date(2026, 3, 1))
    _billed(subsidiary, "50.00", datetime.date(2026, 5, 1))
    _billed(acme, "30.00", datetime.date(2026, 6, 1), kind="out_refund")
    _billed(acme, "999.00", datetime.date(2026, 6, 1), kind="in_invoice")  # a purchase
    invoicing.invoice_create(
        by=None, kind="out_invoice", partner=acme,
        lines=[LineInput(description="Draft", unit_price=D(5))],
    )  # fmt: skip
    summary = selectors.partner_sales_summary(partner=acme, today=TODAY)
    assert summary.turnover_12_months == D("220.00")
    assert summary.turnover_all_time == summary.lifetime_value == D("320.00")
    assert (summary.first_sale, summary.last_sale) == (
        datetime.date(2024, 1, 10),
        datetime.date(2026, 5, 1),
    )
    assert len(summary.invoices) == 6
    sub = selectors.partner_sales_summary(partner=subsidiary, today=TODAY)
    assert sub.turnover_all_time == D("50.00")


def test_other_currencies_are_converted_at_the_invoice_date(acme: Partner) -> None:
    ExchangeRate.objects.create(currency="USD", valid_from=datetime.date(2026, 1, 1), rate=D(2))
    ExchangeRate.objects.create(currency="USD", valid_from=datetime.date(2026, 4, 1), rate=D(4))
    _billed(acme, "100.00", datetime.date(2026, 2, 1), currency="USD")  # 50 EUR
    _billed(acme, "100.00", datetime.date(2026, 5, 1), currency="USD")  # 25 EUR
    _billed(acme, "10.00", datetime.date(2026, 5, 2))
    summary = selectors.partner_sales_summary(partner=acme, today=TODAY)
    assert summary.turnover_all_time == D("85")


def test_turnover_by_partner_is_one_grouped_query(
    acme: Partner, django_assert_num_queries: object
) -> None:
    other = PartnerFactory(name="Other")
    _billed(acme, "10.00", datetime.date(2026, 1, 5))
    _billed(acme, "5.00", datetime.date(2026, 2, 5), kind="out_refund")
    _billed(other, "7.00", datetime.date(2025, 1, 5))
    with django_assert_num_queries(1):  # type: ignore[operator]
        rows = list(selectors.turnover_by_partner(since=datetime.date(2025, 7, 1)))
    assert rows == [{"partner_id": acme.pk, "turnover": D("5.00")}]


def test_turnover_by_partner_converts_at_each_documents_date(
    acme: Partner, django_assert_num_queries: object
) -> None:
    other = PartnerFactory(name="Other")
    ExchangeRate.objects.create(currency="USD", valid_from=datetime.date(2026, 1, 1), rate=D(2))
    ExchangeRate.objects.create(currency="USD", valid_from=datetime.date(2026, 4, 1), rate=D(4))
    _billed(acme, "100.00", datetime.date(2026, 2, 1), currency="USD")  # 50 EUR
    _billed(acme, "100.00", datetime.date(2026, 5, 1), currency="USD")  # 25 EUR
    _billed(acme, "20.00", datetime.date(2026, 5, 2), currency="USD", kind="out_refund")  # -5
    _billed(acme, "10.00", datetime.date(2026, 5, 2))
    _billed(other, "30.00", datetime.date(2026, 3, 1), currency="GBP")  # no GBP rate
    with django_assert_num_queries(1):  # type: ignore[operator]
        rows = {
            row["partner_id"]: row["turnover"]
            for row in selectors.turnover_by_partner(since=datetime.date(2026, 1, 1))
        }
    assert rows[acme.pk] == D(80)
    assert rows[other.pk] == D(0)  # no GBP rate on its date: counted as nothing
    summary = selectors.partner_sales_summary(partner=acme, today=TODAY)
    assert summary.turnover_all_time == rows[acme.pk]
