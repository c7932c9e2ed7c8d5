"""Requests → documents: time and products on cases, the documents made from
a case, invoicing the closed billable requests, and expense claims billed to
the employee."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.campaigns.models import Campaign
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, Section
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.sales import casework, invoicing
from goodwill.sales.models import (
    Invoice,
    Order,
    PartnerTerms,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    RequestInvoicing,
    WorkRecord,
)
from tests.factories import CaseFactory, PartnerFactory, SectionFactory

D = Decimal


@pytest.fixture
def hour(db: None) -> Product:
    return Product.objects.create(
        code="SUP-H",
        name="Support hour",
        kind=Product.Kind.SERVICE,
        unit=Product.Unit.HOUR,
        list_price=D(80),
        cost=D(30),
        tax_rate=D(20),
    )


@pytest.fixture
def cable(db: None) -> Product:
    return Product.objects.create(
        code="CBL", name="Cable", list_price=D("12.50"), cost=D(4), tax_rate=D(20)
    )


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR", is_customer=True)


@pytest.fixture
def spring(db: None) -> Campaign:
    return Campaign.objects.create(name="Spring offer", code="spring")


@pytest.fixture
def section(bob: User) -> Section:
    return SectionFactory(name="Field service", responsible=bob)


def _case(section: Section, partner: Partner | None, **values: object) -> Case:
    return CaseFactory(section=section, partner=partner, type="service", **values)


def _close(case: Case, when: datetime.datetime | None = None) -> Case:
    case = case_services.case_set_state(case=case, by=None, action="close")
    if when is not None:
        Case.objects.filter(pk=case.pk).update(closed_at=when)
        case.refresh_from_db()
    return case


def _case_entries(case: Case) -> list[str]:
    return list(
        TimelineEntry.objects.filter(subject_id=case.pk, subject_type__model="case")
        .order_by("id")
        .values_list("body", flat=True)
    )


# --------------------------------------------------------------------------
# Recording


def test_recording_time_and_products_notes_the_case(
    bob: User, section: Section, acme: Partner, hour: Product, cable: Product
) -> None:
    case = _case(section, acme)
    casework.work_record_add(
        case=case, by=bob, quantity="1,5", product=hour, description="Remote session"
    )
    casework.work_record_add(case=case, by=bob, kind="product", product=cable, quantity=D(2))
    casework.work_record_add(
        case=case, by=bob, quantity=D("0.25"), billable=False, description="Phone call"
    )
    summary = casework.work_summary(list(case.work_records.all()))
    assert summary.hours == D("1.75")
    assert summary.billable_hours == D("1.5")
    assert summary.unbilled == 2
    assert any("1.5 h: Remote session (billable)" in body for body in _case_entries(case))


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"quantity": D(0)}, "quantity", "more than zero"),
        ({"quantity": "lots"}, "quantity", "Enter a number"),
        ({"quantity": D("1.00001")}, "quantity", "four decimal places"),
        ({"quantity": D(1), "kind": "product"}, "product", "Pick the product"),
        ({"quantity": D(1), "description": "Work"}, "product", "needs the product"),
        ({"quantity": D(1), "billable": False}, "description", "Say what was done"),
        ({"quantity": D(1), "kind": "travel"}, "kind", "Unknown kind"),
    ],
)
def test_bad_records_are_refused_with_the_field(
    bob: User, section: Section, acme: Partner, values: dict, field: str, message: str
) -> None:
    case = _case(section, acme)
    with pytest.raises(ValidationError) as error:
        casework.work_record_add(case=case, by=bob, **values)
    assert message in " ".join(error.value.message_dict[field])
    assert not WorkRecord.objects.exists()


# --------------------------------------------------------------------------
# Documents from a case


def test_quotation_from_case_prefills_partner_campaign_and_lines(
    bob: User, section: Section, acme: Partner, hour: Product, cable: Product, spring: Campaign
) -> None:
    euro = PriceList.objects.create(name="Retail EUR", currency="EUR")
    version = PriceListVersion.objects.create(price_list=euro, name="2026")
    PriceRule.objects.create(
        version=version, product=hour, base=PriceRule.Base.FIXED, fixed_price=D(70)
    )
    PartnerTerms.objects.create(partner=acme, price_list=euro)
    case = _case(section, acme, campaign=spring)
    casework.work_record_add(case=case, by=bob, quantity=D(3), product=hour)
    casework.work_record_add(case=case, by=bob, kind="product", product=cable, quantity=D(2))
    casework.work_record_add(case=case, by=bob, quantity=D(1), billable=False, description="x")

    order = casework.quotation_from_case(case=case, by=bob)

    assert order.partner == acme
    assert order.campaign == spring
    assert order.kind == Order.Kind.SALE
    assert order.state == Order.State.DRAFT
    lines = [(line.product, line.quantity, line.unit_price) for line in order.lines.all()]
    assert lines == [(hour, D(3), D(70)), (cable, D(2), D("12.50"))]
    assert order.amount_untaxed == D(235)
    assert list(case.orders.all()) == [order]
    assert list(order.cases.all()) == [case]
    assert any(f"Quotation {order.number} created" in b for b in _case_entries(case))
    # A quotation does not bill the records: its invoice will.
    assert WorkRecord.objects.filter(invoice__isnull=True).count() == 3


def test_quotation_needs_a_partner(bob: User, section: Section) -> None:
    case = _case(section, None)
    with pytest.raises(ValidationError, match="has no partner"):
        casework.quotation_from_case(case=case, by=bob)
    assert not Order.objects.exists()


def test_invoice_from_case_bills_each_record_once(
    maria: User, bob: User, section: Section, acme: Partner, hour: Product, spring: Campaign
) -> None:
    case = _case(section, acme, campaign=spring)
    first = casework.work_record_add(case=case, by=bob, quantity=D(2), product=hour)

    invoice = casework.invoice_from_case(case=case, by=maria)

    assert invoice.kind == Invoice.Kind.CUSTOMER_INVOICE
    assert invoice.campaign == spring
    assert invoice.amount_untaxed == D(160)
    assert invoice.amount_total == D(192)
    first.refresh_from_db()
    assert first.invoice == invoice
    assert list(case.invoices.all()) == [invoice]
    with pytest.raises(ValidationError, match="Nothing billable is left"):
        casework.invoice_from_case(case=case, by=maria)
    # A billed record cannot change or go away.
    with pytest.raises(ValidationError, match="billed on"):
        casework.work_record_delete(record=first, by=bob)

    # Recorded later: only the new record goes on the next invoice.
    casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
    second = casework.invoice_from_case(case=case, by=maria)
    assert second.lines.get().quantity == D(1)

    # Cancelling a draft frees what it billed.
    invoicing.invoice_cancel(invoice=second, by=maria)
    assert WorkRecord.objects.filter(invoice__isnull=True).count() == 1
    third = casework.invoice_from_case(case=case, by=maria)
    assert third.lines.get().quantity == D(1)


def test_purchase_order_from_case_lists_the_products_used(
    bob: User, section: Section, acme: Partner, hour: Product, cable: Product
) -> None:
    supplier = PartnerFactory(name="Cables Ltd", is_supplier=True, currency="EUR")
    case = _case(section, acme)
    casework.work_record_add(case=case, by=bob, quantity=D(2), product=hour)
    casework.work_record_add(case=case, by=bob, kind="product", product=cable, quantity=D(5))

    order = casework.purchase_order_from_case(case=case, by=bob, supplier=supplier)

    assert order.kind == Order.Kind.PURCHASE
    assert order.partner == supplier
    line = order.lines.get()
    assert (line.product, line.quantity, line.unit_price) == (cable, D(5), D(4))
    assert list(order.cases.all()) == [case]


# --------------------------------------------------------------------------
# Invoice closed billable requests


def test_invoicing_closed_requests_makes_one_draft_per_partner(
    maria: User, bob: User, section: Section, acme: Partner, hour: Product, cable: Product
) -> None:
    globex = PartnerFactory(name="Globex", currency="EUR")
    now = timezone.now()
    period = (now.date() - datetime.timedelta(days=30), now.date())
    done_acme_1 = _case(section, acme)
    done_acme_2 = _case(section, acme)
    done_globex = _case(section, globex)
    still_open = _case(section, acme)
    helpdesk = CaseFactory(section=section, partner=acme, type="helpdesk")  # not billable
    long_ago = _case(section, globex)
    for case in (done_acme_1, done_acme_2, done_globex, still_open, helpdesk, long_ago):
        case_services.case_set_state(case=case, by=None, action="open")
        casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
    casework.work_record_add(case=done_acme_2, by=bob, kind="product", product=cable, quantity=D(3))
    casework.work_record_add(
        case=done_acme_2, by=bob, quantity=D(9), billable=False, description="x"
    )
    for case in (done_acme_1, done_acme_2, done_globex, helpdesk):
        _close(case)
    _close(long_ago, now - datetime.timedelta(days=90))

    preview = casework.invoice_closed_requests(
        by=maria, date_from=period[0], date_to=period[1], preview=True
    )
    assert (preview.partners, preview.cases, preview.records) == (2, 3, 4)
    assert preview.amounts == {"EUR": D("333.00")}  # (80 × 3 + 12.50 × 3) × 1.2
    assert not Invoice.objects.exists()

    outcome = casework.invoice_closed_requests(by=maria, date_from=period[0], date_to=period[1])

    assert (outcome.partners, outcome.cases, outcome.records) == (2, 3, 4)
    by_partner = {i.partner.name: i for i in Invoice.objects.all()}
    assert set(by_partner) == {"Acme", "Globex"}
    acme_invoice = by_partner["Acme"]
    assert acme_invoice.state == Invoice.State.DRAFT
    assert acme_invoice.lines.count() == 3
    first_line = acme_invoice.lines.order_by("sequence").first()
    assert first_line is not None
    assert first_line.description.startswith(f"#{done_acme_1.number} {done_acme_1.subject}:")
    assert set(acme_invoice.cases.all()) == {done_acme_1, done_acme_2}
    assert outcome.amounts == {"EUR": D("333.00")}

    # Never twice.
    again = casework.invoice_closed_requests(by=maria, date_from=period[0], date_to=period[1])
    assert again.records == 0
    assert Invoice.objects.count() == 2


def test_invoicing_closed_requests_filters_and_reports(
    maria: User, bob: User, section: Section, acme: Partner, hour: Product
) -> None:
    other_section = SectionFactory(name="Workshop")
    today = timezone.localdate()
    here = _case(section, acme, state="open")
    there = _case(other_section, acme, state="open")
    orphan = _case(section, None, state="open")
    for case in (here, there, orphan):
        casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
        _close(case)

    outcome = casework.invoice_closed_requests(
        by=maria, date_from=today, date_to=today, section_id=section.pk
    )

    assert outcome.cases == 1
    assert list(Invoice.objects.get().cases.all()) == [here]
    assert outcome.without_partner == [orphan.number]
    with pytest.raises(ValidationError, match="ends before it starts"):
        casework.invoice_closed_requests(
            by=maria, date_from=today, date_to=today - datetime.timedelta(days=1)
        )


def test_a_partner_that_cannot_be_invoiced_does_not_stop_the_others(
    maria: User, bob: User, section: Section, acme: Partner, hour: Product
) -> None:
    yen = PartnerFactory(name="Kaisha", currency="JPY")  # the hour is priced in EUR
    today = timezone.localdate()
    for partner in (acme, yen):
        case = _case(section, partner, state="open")
        casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
        _close(case)

    outcome = casework.invoice_closed_requests(by=maria, date_from=today, date_to=today)

    assert [i.partner for i in outcome.invoices] == [acme]
    assert len(outcome.errors) == 1
    assert outcome.errors[0].startswith("Kaisha:")
    assert WorkRecord.objects.filter(invoice__isnull=True).count() == 1


# --------------------------------------------------------------------------
# Expense claims


def test_an_approved_expense_claim_becomes_a_vendor_bill_to_the_employee(
    bob: User, maria: User
) -> None:
    section = SectionFactory(name="Expenses", responsible=maria)
    employee = PartnerFactory(name="Bob Agent", kind="person", is_employee=True, currency="EUR")
    case = CaseFactory(
        section=section, partner=employee, type="expense", amount=D("84.20"), currency="EUR"
    )
    with pytest.raises(ValidationError, match="not approved"):
        casework.expense_claim_bill(case=case, by=maria)
    case = case_services.case_expense_submit(case=case, by=bob)
    case = case_services.case_expense_decide(case=case, by=maria, approve=True)

    bill = casework.expense_claim_bill(case=case, by=maria)

    assert bill.kind == Invoice.Kind.VENDOR_BILL
    assert bill.partner == employee
    assert bill.amount_total == D("84.20")
    assert bill.amount_tax == 0
    assert list(bill.cases.all()) == [case]
    with pytest.raises(ValidationError, match="billed already"):
        casework.expense_claim_bill(case=case, by=maria)
    invoicing.invoice_cancel(invoice=bill, by=maria)
    assert casework.expense_claim_bill(case=case, by=maria).amount_total == D("84.20")


def test_the_employee_is_found_by_the_claimants_email(bob: User, maria: User) -> None:
    bob.email = "bob@example.com"
    bob.save()
    employee = PartnerFactory(
        name="Bob", kind="person", is_employee=True, emails=["bob@example.com"]
    )
    section = SectionFactory(name="Expenses", responsible=maria)
    case = CaseFactory(section=section, type="expense", amount=D(10), currency="EUR", by=bob)
    assert casework.expense_claim_employee(case) == employee
    case.created_by = maria
    assert casework.expense_claim_employee(case) is None


# --------------------------------------------------------------------------
# Pages


def test_the_case_page_shows_the_panel_and_records_by_htmx(
    bob_client: Client, bob: User, section: Section, acme: Partner, hour: Product
) -> None:
    case = _case(section, acme)
    page = bob_client.get(f"/cases/{case.number}/")
    assert page.status_code == 200
    assert b"Time and products" in page.content
    assert b"Create quotation" in page.content
    assert b"Create invoice" not in page.content  # agents do not draft invoices

    response = bob_client.post(
        f"/sales/cases/{case.number}/work/",
        {
            "kind": "time",
            "product": hour.pk,
            "quantity": "2",
            "billable": "on",
            "work_date": "2026-11-20",
            "description": "On site",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"On site" in response.content
    record = WorkRecord.objects.get()
    assert (record.user, record.quantity, record.work_date) == (
        bob,
        D(2),
        datetime.date(2026, 11, 20),
    )

    bad = bob_client.post(
        f"/sales/cases/{case.number}/work/",
        {"kind": "time", "quantity": "-1", "work_date": "2026-11-20"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400
    assert b'role="alert"' in bad.content
    assert WorkRecord.objects.count() == 1


def test_documents_from_the_case_page_per_persona(
    bob_client: Client,
    maria_client: Client,
    charlie_client: Client,
    paula_client: Client,
    bob: User,
    section: Section,
    acme: Partner,
    hour: Product,
) -> None:
    case = _case(section, acme)
    casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
    url = f"/sales/cases/{case.number}/"

    quotation = bob_client.post(url + "quotation/")
    order = Order.objects.get()
    assert quotation.status_code == 302
    assert quotation["Location"] == f"/sales/orders/{order.pk}/"
    assert bob_client.post(url + "invoice/").status_code == 403
    for client in (charlie_client, paula_client):
        assert client.post(url + "quotation/").status_code == 403
        assert client.post(url + "work/", {"quantity": "1"}).status_code == 403
    assert Order.objects.count() == 1
    assert WorkRecord.objects.count() == 1

    invoice = maria_client.post(url + "invoice/")
    assert invoice.status_code == 302
    assert Invoice.objects.count() == 1
    again = maria_client.post(url + "invoice/", follow=True)
    assert b"Nothing billable is left" in again.content
    assert maria_client.post("/sales/cases/999999/invoice/").status_code == 404


def test_a_case_in_a_section_the_agent_cannot_see_is_not_found(
    bob_client: Client, maria: User, acme: Partner, hour: Product
) -> None:
    private = SectionFactory(name="Board", visibility=Section.Visibility.MEMBERS)
    case = _case(private, acme)
    record = casework.work_record_add(case=case, by=maria, quantity=D(1), product=hour)
    assert bob_client.post(f"/sales/cases/{case.number}/quotation/").status_code == 404
    assert bob_client.get(f"/sales/cases/{case.number}/work/").status_code == 404
    assert bob_client.post(f"/sales/work/{record.pk}/delete/").status_code == 404
    assert WorkRecord.objects.filter(pk=record.pk).exists()


def test_editing_and_removing_a_record(
    bob_client: Client, bob: User, section: Section, acme: Partner, hour: Product
) -> None:
    case = _case(section, acme)
    record = casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
    assert bob_client.get(f"/sales/work/{record.pk}/edit/").status_code == 200
    response = bob_client.post(
        f"/sales/work/{record.pk}/edit/",
        {"kind": "time", "product": hour.pk, "quantity": "3", "work_date": "2026-11-21"},
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.quantity == D(3)
    assert not record.billable
    bad = bob_client.post(f"/sales/work/{record.pk}/edit/", {"kind": "time", "quantity": "x"})
    assert bad.status_code == 400
    assert bob_client.post(f"/sales/work/{record.pk}/delete/").status_code == 302
    assert not WorkRecord.objects.exists()


def test_purchase_order_page(
    bob_client: Client, bob: User, section: Section, acme: Partner, cable: Product
) -> None:
    supplier = PartnerFactory(name="Cables Ltd", is_supplier=True, currency="EUR")
    case = _case(section, acme)
    casework.work_record_add(case=case, by=bob, kind="product", product=cable, quantity=D(5))
    url = f"/sales/cases/{case.number}/purchase-order/"
    page = bob_client.get(url)
    assert page.status_code == 200
    assert b"Cable" in page.content
    assert bob_client.post(url, {"supplier": ""}).status_code == 400
    assert bob_client.post(url, {"supplier": "x" * 30}).status_code == 400
    done = bob_client.post(url, {"supplier": supplier.pk})
    assert done.status_code == 302
    assert Order.objects.get().partner == supplier


def test_invoice_requests_page(
    maria_client: Client,
    bob_client: Client,
    bob: User,
    section: Section,
    acme: Partner,
    hour: Product,
) -> None:
    case = _case(section, acme, state="open")
    casework.work_record_add(case=case, by=bob, quantity=D(2), product=hour)
    _close(case)
    today = timezone.localdate().isoformat()
    url = "/sales/invoices/from-requests/"
    assert bob_client.get(url).status_code == 403
    assert maria_client.get(url).status_code == 200

    preview = maria_client.post(url, {"date_from": today, "date_to": today, "preview": "1"})
    assert preview.status_code == 200
    assert b"Would invoice" in preview.content
    assert b"1 record of 1 case for 1 partner: 192.00 EUR" in preview.content
    assert not Invoice.objects.exists()

    started = maria_client.post(url, {"date_from": today, "date_to": today})
    job = RequestInvoicing.objects.get()
    assert started.status_code == 302
    assert started["Location"] == f"{url}{job.pk}/"
    waiting = maria_client.get(f"{url}{job.pk}/")
    assert b"Waiting for the worker" in waiting.content
    assert bob_client.get(f"{url}{job.pk}/").status_code == 403

    casework.request_invoicing_run(job=job)

    invoice = Invoice.objects.get()
    job.refresh_from_db()
    assert (job.status, job.partners, job.records) == ("done", 1, 1)
    assert list(job.invoices.all()) == [invoice]
    done = maria_client.get(f"{url}{job.pk}/", HTTP_HX_REQUEST="true")
    assert b"data-run-done" in done.content
    assert f"/sales/invoices/{invoice.pk}/".encode() in done.content
    assert b"hx-trigger" not in done.content  # the page stops polling
    assert b"Latest runs" in maria_client.get(url).content

    bad = maria_client.post(url, {"date_from": "31/31/2026"})
    assert bad.status_code == 400
    assert RequestInvoicing.objects.count() == 1
    assert maria_client.get(f"{url}999999/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_worker_invoices_closed_requests(
    maria: User, bob: User, section: Section, acme: Partner, hour: Product
) -> None:
    """The run goes through the real worker: claimed, progress, invoices, done."""
    from django.core.management import call_command

    case = _case(section, acme, state="open")
    casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
    _close(case)
    today = timezone.localdate()
    job = casework.request_invoicing_start(by=maria, date_from=today, date_to=today)
    assert job.status == "queued"
    with pytest.raises(ValidationError, match="ends before it starts"):
        casework.request_invoicing_start(
            by=maria, date_from=today, date_to=today - datetime.timedelta(days=1)
        )
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    assert job.status == "done"
    assert (job.progress_done, job.progress_total) == (1, 1)
    assert job.invoices.get().cases.get() == case


def test_invoicing_requests_refuses_dates_outside_the_calendar(maria_client: Client) -> None:
    response = maria_client.post(
        "/sales/invoices/from-requests/", {"date_from": "2026-01-01", "date_to": "9999-12-31"}
    )
    assert response.status_code == 400
    assert b"Enter a date between 1900 and 9998" in response.content
    assert not RequestInvoicing.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "cases/{number}/work/"),
        ("post", "cases/{number}/work/"),
        ("get", "work/{record}/edit/"),
        ("post", "work/{record}/edit/"),
        ("post", "work/{record}/delete/"),
        ("post", "cases/{number}/quotation/"),
        ("post", "cases/{number}/invoice/"),
        ("get", "cases/{number}/purchase-order/"),
        ("post", "cases/{number}/purchase-order/"),
        ("post", "cases/{number}/expense-bill/"),
        ("get", "invoices/from-requests/"),
        ("post", "invoices/from-requests/"),
        ("get", "invoices/from-requests/{run}/"),
    ],
)
def test_outsiders_are_refused_everywhere(
    charlie_client: Client,
    paula_client: Client,
    maria: User,
    bob: User,
    section: Section,
    acme: Partner,
    hour: Product,
    method: str,
    path: str,
) -> None:
    """No role, the portal persona and anonymous visitors reach none of the
    requests → documents pages, and nothing changes."""
    case = _case(section, acme)
    record = casework.work_record_add(case=case, by=bob, quantity=D(1), product=hour)
    today = timezone.localdate()
    run = casework.request_invoicing_start(by=maria, date_from=today, date_to=today)
    url = "/sales/" + path.format(number=case.number, record=record.pk, run=run.pk)
    data = {"quantity": "5", "date_from": today.isoformat(), "date_to": today.isoformat()}
    for client in (charlie_client, paula_client):
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)
        assert response.status_code == 403
    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    record.refresh_from_db()
    assert record.quantity == D(1)
    assert not Order.objects.exists()
    assert not Invoice.objects.exists()
    assert RequestInvoicing.objects.count() == 1
