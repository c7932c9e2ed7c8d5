"""Statements of account: opening and closing balances, running balance,
currencies, subsidiaries, aging, the page, the CSV, and who may see them."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from goodwill.partners.models import Partner
from goodwill.sales import invoicing, payments
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import ExchangeRate, Invoice, Payment, PaymentTerm
from goodwill.sales.payments import Allocation
from goodwill.sales.statement_views import default_period
from goodwill.sales.statements import PAYABLE, RECEIVABLE, partner_statement
from tests.factories import PartnerFactory

D = Decimal
JAN_1 = datetime.date(2026, 1, 1)
JUN_30 = datetime.date(2026, 6, 30)


def day(month: int, dom: int) -> datetime.date:
    return datetime.date(2026, month, dom)


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR")


@pytest.fixture
def net30(db: None) -> PaymentTerm:
    return PaymentTerm.objects.create(name="30 days", net_days=30)


def _posted(
    partner: Partner,
    total: str,
    *,
    on: datetime.date,
    kind: str = Invoice.Kind.CUSTOMER_INVOICE,
    currency: str = "EUR",
    term: PaymentTerm | None = None,
) -> Invoice:
    draft = invoicing.invoice_create(
        by=None,
        kind=kind,
        partner=partner,
        currency=currency,
        payment_term=term,
        lines=[LineInput(description="Work", unit_price=D(total), tax_rate=D(0))],
    )
    return invoicing.invoice_post(invoice=draft, by=None, on=on)


def _pay(
    partner: Partner,
    amount: str,
    *,
    on: datetime.date,
    to: Invoice | None = None,
    share: str | None = None,
    direction: str = Payment.Direction.INBOUND,
    currency: str = "EUR",
) -> Payment:
    return payments.payment_register(
        by=None,
        direction=direction,
        partner=partner,
        amount=D(amount),
        currency=currency,
        payment_date=on,
        allocations=[Allocation(to, D(share or amount))] if to is not None else [],
    )


def _statement(partner: Partner, **kwargs: object) -> object:
    kwargs.setdefault("date_from", JAN_1)
    kwargs.setdefault("date_to", JUN_30)
    return partner_statement(partner=partner, **kwargs)  # type: ignore[arg-type]


def test_running_balance_over_invoices_credit_notes_and_payments(
    acme: Partner, net30: PaymentTerm
) -> None:
    """The opening balance holds what was dated before the period; each movement
    moves the running balance; an overpayment stays as unallocated credit."""
    old = _posted(acme, "100.00", on=datetime.date(2025, 12, 1), term=net30)
    _pay(acme, "30.00", on=datetime.date(2025, 12, 20), to=old)
    big = _posted(acme, "500.00", on=day(2, 1), term=net30)
    _posted(acme, "50.00", on=day(3, 1), kind=Invoice.Kind.CUSTOMER_CREDIT)
    _pay(acme, "200.00", on=day(3, 15), to=big)  # partial
    _pay(acme, "80.00", on=day(4, 1), to=old, share="70.00")  # 10.00 left as credit
    _posted(acme, "999.00", on=day(7, 1))  # after the period

    statement = _statement(acme)
    [section] = statement.sections  # type: ignore[attr-defined]
    assert (section.side, section.currency) == (RECEIVABLE, "EUR")
    assert section.opening == D("70.00")
    rows = [(ln.label, ln.debit, ln.credit, ln.balance) for ln in section.lines]
    assert rows == [
        ("Customer invoice", D("500.00"), 0, D("570.00")),
        ("Credit note", 0, D("50.00"), D("520.00")),
        ("Payment received", 0, D("200.00"), D("320.00")),
        ("Payment received", 0, D("80.00"), D("240.00")),
    ]
    assert section.closing == D("240.00")
    assert (section.total_debit, section.total_credit) == (D("500.00"), D("330.00"))
    # Open on June 30: 300.00 of the big invoice (due March 3) less the credit
    # note (due March 1), both over 90 days.
    assert section.aging == {
        "not_due": 0,
        "days_0_30": 0,
        "days_31_60": 0,
        "days_61_90": 0,
        "days_90_plus": D("250.00"),
    }
    assert section.unallocated == D("10.00")
    assert section.open_items - section.unallocated == section.closing
    assert section.lines[0].open_amount == D("300.00")
    assert section.lines[0].overdue
    assert not section.lines[1].overdue  # a credit note is never overdue


def test_the_closing_balance_matches_the_open_balance_of_today(
    acme: Partner, net30: PaymentTerm
) -> None:
    """Up to today, the statement agrees with ``partner_balances``."""
    today = JUN_30
    invoice = _posted(acme, "120.00", on=day(5, 1), term=net30)
    _posted(acme, "20.00", on=day(5, 2), kind=Invoice.Kind.CUSTOMER_CREDIT)
    _pay(acme, "150.00", on=day(6, 1), to=invoice, share="40.00")
    [balance] = payments.partner_balances(partner=acme, on=today)
    [section] = _statement(acme, date_to=today).sections  # type: ignore[attr-defined]
    assert section.closing == balance.open_balance == D("-50.00")
    assert section.aging == balance.aging


def test_currencies_are_kept_apart(acme: Partner) -> None:
    _posted(acme, "10.00", on=day(2, 1))
    _posted(acme, "7.00", on=day(2, 2), currency="USD")
    _pay(acme, "3.00", on=day(2, 3), currency="USD")
    statement = _statement(acme)
    assert [(s.currency, s.closing) for s in statement.sections] == [  # type: ignore[attr-defined]
        ("EUR", D("10.00")),
        ("USD", D("4.00")),
    ]
    only = _statement(acme, currency="usd")
    assert [s.currency for s in only.sections] == ["USD"]  # type: ignore[attr-defined]


def test_supplier_side_is_a_separate_section(acme: Partner) -> None:
    """Bills are credits and payments made debits; the balance is what we owe."""
    _posted(acme, "10.00", on=day(2, 1))
    bill = _posted(acme, "40.00", on=day(2, 1), kind=Invoice.Kind.VENDOR_BILL)
    _posted(acme, "5.00", on=day(2, 2), kind=Invoice.Kind.VENDOR_REFUND)
    _pay(acme, "15.00", on=day(2, 3), to=bill, direction=Payment.Direction.OUTBOUND)
    statement = _statement(acme)
    receivable = statement.section(RECEIVABLE, "EUR")  # type: ignore[attr-defined]
    payable = statement.section(PAYABLE, "EUR")  # type: ignore[attr-defined]
    assert receivable.closing == D("10.00")
    assert [(ln.debit, ln.credit, ln.balance) for ln in payable.lines] == [
        (0, D("40.00"), D("40.00")),
        (D("5.00"), 0, D("35.00")),
        (D("15.00"), 0, D("20.00")),
    ]
    assert payable.open_items == D("20.00")  # 25.00 left on the bill, −5.00 refund


def test_subsidiaries_are_included_unless_asked_not_to(acme: Partner) -> None:
    child = PartnerFactory(name="Acme Lyon", parent=acme)
    grandchild = PartnerFactory(name="Acme Lyon Sud", parent=child)
    other = PartnerFactory(name="Other")
    _posted(acme, "1.00", on=day(2, 1))
    _posted(child, "10.00", on=day(2, 2))
    _posted(grandchild, "100.00", on=day(2, 3))
    _posted(other, "1000.00", on=day(2, 4))
    [section] = _statement(acme).sections  # type: ignore[attr-defined]
    assert section.closing == D("111.00")
    assert [ln.partner_name for ln in section.lines] == ["Acme", "Acme Lyon", "Acme Lyon Sud"]
    [own] = _statement(acme, include_children=False).sections  # type: ignore[attr-defined]
    assert own.closing == D("1.00")


def test_aging_on_a_past_date_counts_payments_made_later_as_open(
    acme: Partner, net30: PaymentTerm
) -> None:
    """What a payment dated after the period settled was still open on its last day."""

    def days_before(n: int) -> datetime.date:
        return JUN_30 - datetime.timedelta(days=n)

    _posted(acme, "1.00", on=days_before(10), term=net30)  # due in 20 days
    _posted(acme, "10.00", on=days_before(40), term=net30)  # 10 days late
    _posted(acme, "100.00", on=days_before(75), term=net30)  # 45 days late
    _posted(acme, "1000.00", on=days_before(110), term=net30)  # 80 days late
    oldest = _posted(acme, "10000.00", on=days_before(200), term=net30)  # 170 days late
    _pay(acme, "10000.00", on=day(7, 15), to=oldest)  # after the period
    assert Invoice.objects.get(pk=oldest.pk).state == "paid"
    [section] = _statement(acme, date_from=datetime.date(2025, 7, 1)).sections  # type: ignore[attr-defined]
    assert section.aging == {
        "not_due": D("1.00"),
        "days_0_30": D("10.00"),
        "days_31_60": D("100.00"),
        "days_61_90": D("1000.00"),
        "days_90_plus": D("10000.00"),
    }
    assert section.overdue == D("11110.00")
    assert section.closing == D("11111.00")
    assert section.lines[0].open_amount == D("10000.00")  # the oldest, listed first


def test_drafts_and_cancelled_documents_are_left_out(acme: Partner) -> None:
    invoicing.invoice_create(
        by=None,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=acme,
        invoice_date=day(2, 1),
        lines=[LineInput(description="Draft", unit_price=D(5))],
    )
    assert _statement(acme).sections == []  # type: ignore[attr-defined]


def test_bad_input_is_refused(acme: Partner) -> None:
    with pytest.raises(ValidationError, match="start before it ends"):
        _statement(acme, date_from=JUN_30, date_to=JAN_1)
    with pytest.raises(ValidationError, match="Unknown currency"):
        _statement(acme, currency="XXX")


def test_query_count_does_not_grow_with_the_documents(acme: Partner) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            _statement(acme)
        return len(captured.captured_queries)

    invoice = _posted(acme, "10.00", on=day(2, 1))
    _pay(acme, "5.00", on=day(8, 1), to=invoice)  # a payment after the period
    few = count()
    for n in range(15):
        more = _posted(acme, "10.00", on=day(3, n + 1))
        _pay(acme, "4.00", on=day(4, n + 1), to=more)
        _pay(acme, "4.00", on=day(9, n + 1), to=more)
        _posted(acme, "10.00", on=day(3, n + 1), kind=Invoice.Kind.VENDOR_BILL, currency="USD")
    assert count() == few <= 8


def test_default_period_is_the_last_twelve_months() -> None:
    assert default_period(JUN_30) == (datetime.date(2025, 7, 1), JUN_30)
    leap = datetime.date(2028, 2, 29)
    assert default_period(leap) == (datetime.date(2027, 3, 1), leap)


# --------------------------------------------------------------------------
# The page and the CSV


def _url(partner: Partner, query: str = "") -> str:
    return f"/sales/partner/{partner.pk}/statement/" + (f"?{query}" if query else "")


def test_page_shows_the_sections_and_highlights_overdue_rows(
    maria_client: Client, acme: Partner, net30: PaymentTerm
) -> None:
    _posted(acme, "100.00", on=day(1, 10), term=net30)
    _posted(acme, "40.00", on=day(6, 20), term=net30)
    response = maria_client.get(_url(acme, "date_from=2026-01-01&date_to=2026-06-30"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Customer account (receivable) · EUR" in page
    assert page.count("data-overdue ") + page.count("data-overdue>") == 1
    assert "100.00 EUR overdue on 2026-06-30" in page
    assert "@media print" in page
    assert "data-closing>140.00<" in page


def test_page_defaults_to_the_last_twelve_months(maria_client: Client, acme: Partner) -> None:
    response = maria_client.get(_url(acme))
    assert response.status_code == 200
    start, end = response.context["statement"].date_from, response.context["statement"].date_to
    assert (start, end) == default_period(end)
    assert "No invoices, credit notes or payments" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("date_from=2026-06-30&date_to=2026-01-01", "date_from", "start before it ends"),
        ("date_from=yesterday", "date_from", "Enter a valid date"),
        ("currency=XXX", "currency", "Select a valid choice"),
        ("date_from=1900-01-01&date_to=2026-01-01", "date_from", "at most 20 years"),
    ],
)
def test_bad_filters_are_shown_next_to_their_field(
    maria_client: Client, acme: Partner, query: str, field: str, message: str
) -> None:
    response = maria_client.get(_url(acme, query + "&format=csv"))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert message in " ".join(response.context["form"].errors[field])


def test_csv_download(maria_client: Client, acme: Partner, net30: PaymentTerm) -> None:
    evil = PartnerFactory(name="=HYPERLINK(1)", parent=acme)
    invoice = _posted(evil, "100.00", on=day(1, 10), term=net30)
    _pay(evil, "30.00", on=day(2, 1), to=invoice)
    response = maria_client.get(_url(acme, "date_from=2026-01-01&date_to=2026-06-30&format=csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"statement-{acme.pk}-20260101-20260630.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["account", "currency", "date"]
    body = [(r[3], r[5], r[7], r[8], r[9], r[10], r[11]) for r in rows[1:]]
    assert body == [
        ("Opening balance", "", "", "", "0.00", "", ""),
        ("Customer invoice", "'=HYPERLINK(1)", "100.00", "", "100.00", "70.00", "yes"),
        ("Payment received", "'=HYPERLINK(1)", "", "30.00", "70.00", "", ""),
        ("Closing balance", "", "100.00", "30.00", "70.00", "70.00", "70.00"),
    ]


@pytest.mark.parametrize("persona", ["alice", "maria", "bob"])
def test_staff_who_see_invoices_see_statements(
    persona: str, request: pytest.FixtureRequest, acme: Partner
) -> None:
    client: Client = request.getfixturevalue(f"{persona}_client")
    _posted(acme, "10.00", on=day(2, 1))
    assert client.get(_url(acme)).status_code == 200
    assert client.get(_url(acme, "format=csv")).status_code == 200
    assert client.get("/sales/partner/999999/statement/").status_code == 404
    panel = client.get(f"/sales/partner/{acme.pk}/summary/").content.decode()
    assert f'href="{_url(acme)}" data-link="statement"' in panel


@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused(persona: str, request: pytest.FixtureRequest, acme: Partner) -> None:
    client: Client = request.getfixturevalue(f"{persona}_client")
    assert client.get(_url(acme)).status_code == 403
    assert client.get(_url(acme, "format=csv")).status_code == 403
    assert client.get("/sales/partner/999999/statement/").status_code == 403  # no probing


def test_anonymous_visitors_log_in_first(acme: Partner) -> None:
    response = Client().get(_url(acme))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_page_query_count_is_flat(maria_client: Client, acme: Partner) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert (
                maria_client.get(_url(acme, "date_from=2026-01-01&date_to=2026-06-30")).status_code
                == 200
            )
        return len(captured.captured_queries)

    _posted(acme, "10.00", on=day(2, 1))
    few = count()
    for n in range(10):
        invoice = _posted(acme, "10.00", on=day(3, n + 1))
        _pay(acme, "5.00", on=day(3, n + 2), to=invoice)
    assert count() == few


# --------------------------------------------------------------------------
# The partner page's sales panel with many documents


def test_sales_panel_query_count_is_flat_and_lists_are_short(
    maria_client: Client, acme: Partner
) -> None:
    """The panel aggregates in SQL and shows the latest five documents, however
    many there are, also in another currency."""
    ExchangeRate.objects.create(currency="USD", valid_from=datetime.date(2025, 1, 1), rate=D(2))
    url = f"/sales/partner/{acme.pk}/summary/"

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert maria_client.get(url).status_code == 200
        return len(captured.captured_queries)

    _posted(acme, "10.00", on=day(2, 1))
    _posted(acme, "10.00", on=day(2, 1), currency="USD")
    few = count()
    for n in range(12):
        _posted(acme, "10.00", on=day(3, n + 1), currency="USD" if n % 2 else "EUR")
        _pay(acme, "1.00", on=day(4, n + 1))
    assert count() == few
    response = maria_client.get(url)
    assert len(response.context["summary"].invoices) == 5
    assert response.context["summary"].turnover_all_time == D("105.00")  # 70 EUR + 70 USD / 2


def test_sales_panel_survives_a_missing_exchange_rate(maria_client: Client, acme: Partner) -> None:
    _posted(acme, "10.00", on=day(2, 1))
    _posted(acme, "99.00", on=day(2, 1), currency="GBP")
    response = maria_client.get(f"/sales/partner/{acme.pk}/summary/")
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.turnover_all_time, summary.unconverted) == (D("10.00"), ["GBP"])
    assert b"Left out of the turnover: amounts in GBP" in response.content


def test_a_period_outside_the_calendar_is_a_form_error(maria_client: Client, acme: Partner) -> None:
    url = f"/sales/partner/{acme.pk}/statement/"
    response = maria_client.get(url, {"date_from": "0001-01-01", "date_to": "0001-01-02"})
    assert response.status_code == 400
    assert b"Enter a date between 1900 and 9998" in response.content
    response = maria_client.get(url, {"date_from": "2026-01-01", "date_to": "9999-12-31"})
    assert response.status_code == 400
