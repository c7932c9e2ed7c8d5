"""Invoices: lines and totals, posting with gapless numbers, immutability and
credit notes."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from goodwill.accounts.models import User
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.sales import invoicing
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import DocumentSequence, Invoice, PartnerTerms, PaymentTerm, Product
from tests.factories import PartnerFactory

D = Decimal
OUT = Invoice.Kind.CUSTOMER_INVOICE


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR")


@pytest.fixture
def robot(db: None) -> Product:
    return Product.objects.create(code="R1", name="Robot arm", list_price=D("1000"), tax_rate=D(20))


def _draft(partner: Partner, *lines: LineInput, kind: str = OUT, **kwargs: Any) -> Invoice:
    return invoicing.invoice_create(by=None, kind=kind, partner=partner, lines=lines, **kwargs)


def test_lines_are_priced_taxed_and_rounded_per_line(acme: Partner, robot: Product) -> None:
    invoice = _draft(
        acme,
        LineInput(product=robot, quantity=D(2), discount_percent=D("12.5")),
        LineInput(description="Setup, 3 h", quantity=D(3), unit_price=D("33.333"), tax_rate=D(7)),
    )
    first, second = invoice.lines.all()
    assert (first.unit_price, first.subtotal, first.tax_amount) == (D("1000"), D("1750"), D("350"))
    assert first.description == "Robot arm"
    assert (second.subtotal, second.tax_amount) == (D("100.00"), D("7.00"))
    assert invoice.amount_untaxed == D("1850.00")
    assert invoice.amount_tax == D("357.00")
    assert invoice.amount_total == D("2207.00")
    assert invoice.currency == "EUR"


def test_yen_invoices_round_to_whole_yen(db: None) -> None:
    tokyo = PartnerFactory(name="Tokyo KK", currency="JPY")
    invoice = _draft(
        tokyo, LineInput(description="Part", quantity=D(3), unit_price=D("333.5"), tax_rate=D(10))
    )
    line = invoice.lines.get()
    assert (line.subtotal, line.tax_amount) == (D("1001"), D("100"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (LineInput(description="x", quantity=D(0), unit_price=D(1)), "more than zero"),
        (LineInput(description="x", unit_price=D(-1)), "cannot be negative"),
        (LineInput(description="x", unit_price=D(1), discount_percent=D(101)), "0 to 100"),
        (LineInput(description="x", unit_price=D(1), tax_rate=D(120)), "0 to 100"),
        (LineInput(unit_price=D(1)), "describe the line"),
        (LineInput(description="x"), "give a price or pick a product"),
    ],
)
def test_bad_lines_are_refused_with_the_line_number(
    acme: Partner, line: LineInput, message: str
) -> None:
    with pytest.raises(ValidationError, match=f"Line 1: .*{message}"):
        _draft(acme, line)
    assert not Invoice.objects.exists()


def test_posting_numbers_dates_and_freezes(acme: Partner, robot: Product) -> None:
    term = PaymentTerm.objects.create(name="Net 30", net_days=30)
    PartnerTerms.objects.create(partner=acme, payment_term=term)
    invoice = _draft(acme, LineInput(product=robot))
    assert invoice.payment_term == term
    posted = invoicing.invoice_post(invoice=invoice, by=None, on=datetime.date(2026, 3, 1))
    assert posted.number == "INV/2026/00001"
    assert posted.state == "posted"
    assert posted.due_date == datetime.date(2026, 3, 31)
    with pytest.raises(ValidationError, match="posted documents do not change"):
        invoicing.invoice_update(invoice=posted, by=None, values={"reference": "x"})
    with pytest.raises(ValidationError, match="posted documents do not change"):
        invoicing.invoice_cancel(invoice=posted, by=None)
    assert TimelineEntry.objects.filter(partner=acme, action="posted").exists()


def test_numbers_follow_each_kind_and_year(acme: Partner, robot: Product) -> None:
    def post(kind: str, day: datetime.date) -> str:
        invoice = _draft(acme, LineInput(product=robot), kind=kind)
        return invoicing.invoice_post(invoice=invoice, by=None, on=day).number

    assert post(OUT, datetime.date(2026, 1, 5)) == "INV/2026/00001"
    assert post(OUT, datetime.date(2026, 1, 6)) == "INV/2026/00002"
    assert post(Invoice.Kind.VENDOR_BILL, datetime.date(2026, 1, 6)) == "BILL/2026/00001"
    assert post(OUT, datetime.date(2027, 1, 1)) == "INV/2027/00001"


def test_a_rolled_back_posting_leaves_no_gap(acme: Partner, robot: Product) -> None:
    first = _draft(acme, LineInput(product=robot))
    second = _draft(acme, LineInput(product=robot))
    day = datetime.date(2026, 5, 1)

    def post_then_fail() -> None:
        with transaction.atomic():
            invoicing.invoice_post(invoice=first, by=None, on=day)
            raise RuntimeError("the rest of the transaction failed")

    with pytest.raises(RuntimeError):
        post_then_fail()
    assert invoicing.invoice_post(invoice=second, by=None, on=day).number == "INV/2026/00001"
    assert invoicing.invoice_post(invoice=first, by=None, on=day).number == "INV/2026/00002"


def test_an_empty_draft_cannot_be_posted(acme: Partner) -> None:
    with pytest.raises(ValidationError, match="at least one line"):
        invoicing.invoice_post(invoice=_draft(acme), by=None)


def test_a_credit_note_copies_the_lines_and_points_back(acme: Partner, robot: Product) -> None:
    invoice = invoicing.invoice_post(invoice=_draft(acme, LineInput(product=robot)), by=None)
    credit = invoicing.invoice_refund(invoice=invoice, by=None)
    assert (credit.kind, credit.state, credit.origin) == ("out_refund", "draft", invoice)
    assert credit.amount_total == invoice.amount_total
    assert credit.reference == invoice.number
    posted = invoicing.invoice_post(invoice=credit, by=None)
    assert posted.number.startswith("RINV/")
    with pytest.raises(ValidationError, match="cannot itself be credited"):
        invoicing.invoice_refund(invoice=posted, by=None)
    with pytest.raises(ValidationError, match="Only a posted invoice"):
        invoicing.invoice_refund(invoice=_draft(acme, LineInput(product=robot)), by=None)


def test_drafts_can_change_and_be_cancelled(acme: Partner, robot: Product) -> None:
    invoice = _draft(acme, LineInput(product=robot))
    invoice = invoicing.invoice_update(
        invoice=invoice, by=None, lines=[LineInput(product=robot, quantity=D(3))]
    )
    assert invoice.amount_untaxed == D("3000")
    assert invoice.lines.count() == 1
    with pytest.raises(ValidationError, match="cannot be set: number"):
        invoicing.invoice_update(invoice=invoice, by=None, values={"number": "INV/1"})
    assert invoicing.invoice_cancel(invoice=invoice, by=None).state == "cancelled"


def _post_many(
    ids: list[int], start: threading.Barrier, numbers: list[str], errors: list[BaseException]
) -> None:
    try:
        start.wait(timeout=30)
        for pk in ids:
            invoice = Invoice.objects.get(pk=pk)
            posted = invoicing.invoice_post(invoice=invoice, by=None, on=datetime.date(2026, 6, 1))
            numbers.append(posted.number)
    except BaseException as exc:
        errors.append(exc)
        start.abort()
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_get_consecutive_numbers(bob: User) -> None:
    """Threads post at once, each with its own connection: every number from 1
    to N is given exactly once (no duplicates, no gaps)."""
    threads, per_thread = (6, 8) if connection.vendor == "postgresql" else (3, 5)
    acme = PartnerFactory(name="Acme", currency="EUR")
    line = LineInput(description="Work", unit_price=D(10))
    drafts = [_draft(acme, line).pk for _ in range(threads * per_thread)]
    start = threading.Barrier(threads)
    numbers: list[str] = []
    errors: list[BaseException] = []
    workers = [
        threading.Thread(
            target=_post_many,
            args=(drafts[i * per_thread : (i + 1) * per_thread], start, numbers, errors),
        )
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    expected = [f"INV/2026/{n:05d}" for n in range(1, threads * per_thread + 1)]
    assert sorted(numbers) == expected
    assert DocumentSequence.objects.get(prefix="INV", year=2026).last == len(expected)


# --------------------------------------------------------------------------
# Setting credit notes off against invoices


def _posted(partner: Partner, amount: str, *, kind: str = OUT) -> Invoice:
    draft = _draft(
        partner,
        LineInput(description="Work", unit_price=D(amount), tax_rate=D(0)),
        kind=kind,
    )
    return invoicing.invoice_post(invoice=draft, by=None, on=datetime.date(2026, 3, 1))


def test_posting_a_credit_note_settles_the_invoice_it_corrects(acme: Partner) -> None:
    invoice = _posted(acme, "500")
    refund = invoicing.invoice_refund(invoice=invoice, by=None)
    refund = invoicing.invoice_post(invoice=refund, by=None)
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_paid) == ("paid", D(500))
    assert (refund.state, refund.amount_paid) == ("paid", D(500))
    allocation = refund.credits_given.get()
    assert (allocation.invoice, allocation.amount) == (invoice, D(500))


def test_a_credit_note_is_set_off_partly_and_against_several_invoices(acme: Partner) -> None:
    first, second = _posted(acme, "300"), _posted(acme, "200")
    credit = _posted(acme, "400", kind=Invoice.Kind.CUSTOMER_CREDIT)

    invoicing.credit_note_apply(credit_note=credit, invoice=first, by=None, amount=D(100))
    invoicing.credit_note_apply(credit_note=credit, invoice=second, by=None)
    for doc in (first, second, credit):
        doc.refresh_from_db()
    assert (first.state, first.amount_paid) == ("partial", D(100))
    assert (second.state, second.amount_paid) == ("paid", D(200))
    assert (credit.state, credit.amount_paid) == ("partial", D(300))
    assert invoicing.credit_targets(credit) == [first]

    with pytest.raises(ValidationError, match=r"At most 100\.00"):
        invoicing.credit_note_apply(credit_note=credit, invoice=first, by=None, amount=D(150))
    with pytest.raises(ValidationError, match="Too many decimals"):
        invoicing.credit_note_apply(credit_note=credit, invoice=first, by=None, amount=D("1.001"))
    with pytest.raises(ValidationError, match="more than zero"):
        invoicing.credit_note_apply(credit_note=credit, invoice=first, by=None, amount=D(0))
    first.refresh_from_db()
    assert first.amount_paid == D(100)


def test_set_off_needs_matching_documents(acme: Partner) -> None:
    other = PartnerFactory(name="Other", currency="EUR")
    credit = _posted(acme, "50", kind=Invoice.Kind.CUSTOMER_CREDIT)
    with pytest.raises(ValidationError, match="different partners"):
        invoicing.credit_note_apply(credit_note=credit, invoice=_posted(other, "80"), by=None)
    bill = _posted(acme, "80", kind=Invoice.Kind.VENDOR_BILL)
    with pytest.raises(ValidationError, match="settles a customer invoice"):
        invoicing.credit_note_apply(credit_note=credit, invoice=bill, by=None)
    invoice = _posted(acme, "80")
    with pytest.raises(ValidationError, match="not a credit note"):
        invoicing.credit_note_apply(credit_note=invoice, invoice=credit, by=None)
    dollars = _draft(acme, LineInput(description="x", unit_price=D(9)), currency="USD")
    dollars = invoicing.invoice_post(invoice=dollars, by=None)
    with pytest.raises(ValidationError, match="is in EUR"):
        invoicing.credit_note_apply(credit_note=credit, invoice=dollars, by=None)
    draft = _draft(acme, LineInput(description="y", unit_price=D(9)))
    with pytest.raises(ValidationError, match="only posted documents"):
        invoicing.credit_note_apply(credit_note=credit, invoice=draft, by=None)
    refund = invoicing.invoice_refund(invoice=bill, by=None)
    refund = invoicing.invoice_post(invoice=refund, by=None)
    bill.refresh_from_db()
    assert bill.state == "paid"  # a vendor refund settles its bill the same way


def test_the_set_off_page(maria_client: Any, bob_client: Any, acme: Partner) -> None:
    invoice = _posted(acme, "300")
    credit = _posted(acme, "120", kind=Invoice.Kind.CUSTOMER_CREDIT)
    page = maria_client.get(f"/sales/invoices/{credit.pk}/")
    assert b'data-action="apply-credit"' in page.content
    url = f"/sales/invoices/{credit.pk}/apply-credit/"
    assert bob_client.post(url, {"invoice": invoice.pk}).status_code == 403
    bad = maria_client.post(url, {"invoice": 999999}, follow=True)
    assert b"Select a valid choice" in bad.content
    done = maria_client.post(url, {"invoice": invoice.pk, "amount": "20"}, follow=True)
    assert done.status_code == 200
    invoice.refresh_from_db()
    assert invoice.amount_paid == D(20)
    shown = maria_client.get(f"/sales/invoices/{invoice.pk}/").content.decode()
    assert credit.number in shown
