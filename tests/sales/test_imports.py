"""Importing commercial data from an ERP: every kind, idempotency, rejected rows,
dry runs, all-or-nothing, partner matching, file formats, the pages and the worker."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from goodwill.accounts.models import User
from goodwill.lib.jobs import JobStatus
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.sales import imports, services
from goodwill.sales.imports import ImportResult, Kind
from goodwill.sales.models import (
    DocumentSequence,
    Invoice,
    InvoiceLine,
    PartnerTerms,
    Payment,
    PaymentTerm,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    ProductCategory,
    SalesImport,
)
from tests.factories import PartnerFactory

D = Decimal


def run(
    kind: str,
    text: str | bytes,
    *,
    by: User | None = None,
    lines: str | None = None,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    create_partners: bool = False,
) -> tuple[ImportResult, list[imports.Table]]:
    content = text.encode() if isinstance(text, str) else text
    tables = imports.read_files(
        kind=kind,
        content=content,
        file_name="erp.csv",
        lines_content=lines.encode() if lines else None,
        lines_file_name="lines.csv",
    )
    result = imports.import_tables(
        tables,
        kind=kind,
        options=imports.Options(by=by, file_name="erp.csv", create_partners=create_partners),
        dry_run=dry_run,
        all_or_nothing=all_or_nothing,
    )
    return result, tables


def counts(result: ImportResult) -> tuple[int, int, int, int]:
    c = result.counts
    return c["created"], c["updated"], c["unchanged"], c["rejected"]


def writes(captured: CaptureQueriesContext) -> list[str]:
    """The INSERT, UPDATE and DELETE statements run (savepoints are not writes)."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]


PRODUCTS = """code,name,kind,category,unit,list_price,cost,tax_rate,active
gr-200,Gripper 200,product,Machines / Grippers,unit,1250.00,800,20,yes
SRV-H,Service hour,service,Services,hours,95,0,20,yes
"""


@pytest.fixture
def products(db: None) -> dict[str, Product]:
    run(Kind.PRODUCTS, PRODUCTS)
    return {p.code: p for p in Product.objects.all()}


@pytest.fixture
def acme(db: None) -> Partner:
    partner = PartnerFactory(name="Acme GmbH", currency="EUR", is_customer=True, vat="DE111")
    PartnerTerms.objects.create(partner=partner, external_id="C-1")
    return partner


# --------------------------------------------------------------------------
# Products


def test_products_are_created_with_their_category_path(db: None) -> None:
    result, _ = run(Kind.PRODUCTS, PRODUCTS)
    assert counts(result) == (2, 0, 0, 0)
    gripper = Product.objects.select_related("category__parent").get(code="GR-200")
    assert (gripper.name, gripper.list_price, gripper.tax_rate) == ("Gripper 200", D(1250), D(20))
    assert gripper.category is not None
    assert gripper.category.name == "Grippers"
    assert gripper.category.parent is not None
    assert gripper.category.parent.name == "Machines"
    assert Product.objects.get(code="SRV-H").unit == Product.Unit.HOUR


def test_reimporting_the_same_file_changes_nothing_and_writes_nothing(
    products: dict[str, Product],
) -> None:
    """The second import reports every row unchanged, runs no INSERT or UPDATE,
    and stays within a few queries whatever the number of rows."""
    stamps = dict(Product.objects.values_list("code", "updated_at"))
    with CaptureQueriesContext(connection) as captured:
        result, _ = run(Kind.PRODUCTS, PRODUCTS)
    assert counts(result) == (0, 0, 2, 0)
    assert writes(captured) == []
    assert len(captured.captured_queries) <= 5
    assert dict(Product.objects.values_list("code", "updated_at")) == stamps
    assert ProductCategory.objects.count() == 3


def test_an_edited_row_is_updated_and_the_others_stay(products: dict[str, Product]) -> None:
    edited = PRODUCTS.replace("1250.00,800", "1300.00,800")
    before = Product.objects.get(code="SRV-H").updated_at
    result, _ = run(Kind.PRODUCTS, edited)
    assert counts(result) == (0, 1, 1, 0)
    assert Product.objects.get(code="GR-200").list_price == D(1300)
    assert Product.objects.get(code="SRV-H").updated_at == before


def test_bad_rows_are_rejected_with_reasons_and_good_ones_imported(db: None) -> None:
    text = (
        "code,name,list_price,tax_rate\n"
        "A-1,Good one,10,20\n"
        "A-2,Bad price,ten,20\n"
        ",No code,1,0\n"
        "A-3,Bad tax,1,120\n"
        "A-1,Repeated,11,20\n"
        "NEW-1,,1,0\n"
    )
    result, tables = run(Kind.PRODUCTS, text)
    assert counts(result) == (1, 0, 0, 5)
    assert list(Product.objects.values_list("code", flat=True)) == ["A-1"]
    rows = list(csv.DictReader(io.StringIO(imports.rejected_csv(tables, result.rejected_rows))))
    assert [r["row"] for r in rows] == ["3", "4", "5", "6", "7"]
    assert rows[0]["code"] == "A-2"
    assert "“ten” is not a number" in rows[0]["error"]
    assert "Enter a code" in rows[1]["error"]
    assert "tax_rate" in rows[2]["error"]
    assert "same record as row 2" in rows[3]["error"]
    assert "a new product needs a name" in rows[4]["error"]
    assert result.messages[0] == "Row 3: list_price: “ten” is not a number of 0 or more."


# --------------------------------------------------------------------------
# Price lists


PRICE_LISTS = """price_list,currency,version,valid_from,valid_to,product_code,category,min_quantity,base,fixed_price,discount
Dealers,EUR,2026,2026-01-01,2026-12-31,GR-200,,0,fixed,1100,
Dealers,EUR,2026,2026-01-01,2026-12-31,GR-200,,10,fixed,1050,
Dealers,EUR,2026,2026-01-01,2026-12-31,,Services,0,list,,10
"""  # noqa: E501 - a CSV file's header


def test_price_lists_versions_and_rules(products: dict[str, Product]) -> None:
    result, _ = run(Kind.PRICE_LISTS, PRICE_LISTS)
    assert counts(result) == (3, 0, 0, 0)
    dealers = PriceList.objects.get(name="Dealers")
    version = PriceListVersion.objects.get(price_list=dealers)
    assert version.valid_from == datetime.date(2026, 1, 1)
    rules = list(PriceRule.objects.filter(version=version).order_by("sequence"))
    assert [(r.base, r.fixed_price, r.min_quantity) for r in rules][:2] == [
        ("fixed", D(1100), D(0)),
        ("fixed", D(1050), D(10)),
    ]
    assert rules[2].category is not None
    assert rules[2].discount_percent == D(10)

    again, _ = run(Kind.PRICE_LISTS, PRICE_LISTS)
    assert counts(again) == (0, 0, 3, 0)
    edited, _ = run(Kind.PRICE_LISTS, PRICE_LISTS.replace("fixed,1050", "fixed,1000"))
    assert counts(edited) == (0, 1, 2, 0)
    assert PriceRule.objects.filter(fixed_price=D(1000)).count() == 1


def test_price_list_rows_with_unknown_products_or_overlaps_are_rejected(
    products: dict[str, Product],
) -> None:
    run(Kind.PRICE_LISTS, PRICE_LISTS)
    text = (
        "price_list,currency,valid_from,product_code,fixed_price\n"
        "Dealers,EUR,2026-06-01,GR-200,900\n"
        "Dealers,EUR,2026-01-01,NOPE,1\n"
        "New list,,2026-01-01,GR-200,1\n"
    )
    result, _ = run(Kind.PRICE_LISTS, text)
    assert counts(result) == (0, 0, 0, 3)
    errors = [error for _, error in result.rejected_rows]
    assert "overlap the version 2026" in errors[0]
    assert "there is no product NOPE" in errors[1]
    assert "needs a currency" in errors[2]


def test_an_end_date_and_a_currency_are_imported_onto_existing_lists(db: None) -> None:
    """A known version gets the end date the file gives it, and a list without
    rules takes the file's currency; both are saved as the price list pages
    save them."""
    dealers = services.price_list_save(by=None, values={"name": "Dealers", "currency": "EUR"})
    services.price_list_version_save(
        by=None,
        price_list=dealers,
        values={"name": "2026", "valid_from": datetime.date(2026, 1, 1)},
    )
    text = "price_list,currency,valid_from,valid_to,discount\nDealers,USD,2026-01-01,2026-06-30,5\n"
    result, _ = run(Kind.PRICE_LISTS, text)
    assert counts(result) == (1, 0, 0, 0)
    dealers.refresh_from_db()
    assert dealers.currency == "USD"
    version = PriceListVersion.objects.get(price_list=dealers)
    assert version.valid_to == datetime.date(2026, 6, 30)
    assert PriceRule.objects.get(version=version).discount_percent == D(5)


# --------------------------------------------------------------------------
# Partners' terms and partner matching


def test_partner_terms_by_name_of_price_list_and_payment_term(acme: Partner) -> None:
    PriceList.objects.create(name="Dealers", currency="EUR")
    PaymentTerm.objects.create(name="Net 30", net_days=30)
    text = (
        "external_id,name,price_list,payment_term,credit_limit\nC-1,Acme GmbH,dealers,Net 30,5000\n"
    )
    result, _ = run(Kind.PARTNERS, text)
    assert counts(result) == (0, 1, 0, 0)
    terms = PartnerTerms.objects.get(partner=acme)
    assert terms.price_list is not None
    assert terms.price_list.name == "Dealers"
    assert terms.credit_limit == D(5000)
    entry = TimelineEntry.objects.get(partner=acme, action="terms_updated")
    assert {c["label"] for c in entry.changes} == {"Price list", "Payment term", "Credit limit"}

    again, _ = run(Kind.PARTNERS, text)
    assert counts(again) == (0, 0, 1, 0)
    bad, _ = run(Kind.PARTNERS, "external_id,payment_term\nC-1,Net 99\n")
    assert bad.rejected_rows[0][1] == "payment_term: there is no payment term called “Net 99”."


def test_partner_matching_order(db: None) -> None:
    """ERP id beats VAT, VAT beats email, email beats name."""
    by_ext = PartnerFactory(name="By Ext")
    PartnerTerms.objects.create(partner=by_ext, external_id="E-1")
    by_vat = PartnerFactory(name="By Vat", vat="FR999")
    by_email = PartnerFactory(name="By Email", emails=["buyer@example.com"])
    by_name = PartnerFactory(name="Named Ltd")
    text = (
        "partner_external_id,partner_vat,partner_email,partner_name,credit_limit\n"
        "E-1,FR999,buyer@example.com,Named Ltd,1\n"
        ",fr 999,buyer@example.com,Named Ltd,2\n"
        ",,BUYER@example.com,Named Ltd,3\n"
        ",,,NAMED,4\n"
    )
    result, _ = run(Kind.PARTNERS, text)
    assert counts(result)[3] == 0
    limits = dict(PartnerTerms.objects.values_list("partner_id", "credit_limit"))
    assert limits[by_ext.pk] == D(1)
    assert limits[by_vat.pk] == D(2)
    assert limits[by_email.pk] == D(3)
    assert limits[by_name.pk] == D(4)


def test_unmatched_partners_are_reported_or_created(db: None) -> None:
    text = "partner_external_id,partner_vat,partner_name,credit_limit\nX-9,BE42,Nowhere NV,100\n"
    reported, _ = run(Kind.PARTNERS, text)
    assert counts(reported) == (0, 0, 0, 1)
    assert reported.as_report()["unmatched_partners"] == ["ERP id X-9, VAT BE42, Nowhere NV"]
    assert not Partner.objects.filter(name="Nowhere NV").exists()

    created, _ = run(Kind.PARTNERS, text, create_partners=True)
    assert counts(created) == (1, 0, 0, 0)
    partner = Partner.objects.get(name="Nowhere NV")
    assert partner.vat == "BE42"
    assert PartnerTerms.objects.get(partner=partner).external_id == "X-9"
    again, _ = run(Kind.PARTNERS, text, create_partners=True)
    assert counts(again) == (0, 0, 1, 0)
    assert Partner.objects.filter(name="Nowhere NV").count() == 1


def test_a_partner_key_shared_by_several_partners_is_rejected(db: None) -> None:
    PartnerFactory(name="Twin", vat="NL1")
    PartnerFactory(name="Twin", vat="NL1")
    result, _ = run(Kind.PARTNERS, "partner_vat,credit_limit\nNL1,5\n")
    assert "2 partners have the VAT number NL1" in result.rejected_rows[0][1]


# --------------------------------------------------------------------------
# Invoices


INVOICES = """number,type,partner_external_id,partner_name,date,due_date,currency,state,total,line_description,product_code,quantity,unit_price,discount,tax_rate
F-1,invoice,C-1,Acme GmbH,2026-03-31,2026-04-30,EUR,posted,1590.00,Gripper,GR-200,1,1250.00,0,20
F-1,invoice,C-1,Acme GmbH,2026-03-31,2026-04-30,EUR,posted,1590.00,,SRV-H,1,75,0,20
F-2,invoice,C-1,Acme GmbH,2026-04-02,,EUR,paid,,Hours,SRV-H,2,95,10,20
C-1,credit_note,C-1,Acme GmbH,2026-04-03,,EUR,posted,,Refund,,1,10,,
"""  # noqa: E501 - a CSV file's header


def test_invoices_keep_their_number_and_state_and_do_not_use_the_numbering(
    acme: Partner, products: dict[str, Product], maria: User
) -> None:
    result, _ = run(Kind.INVOICES, INVOICES, by=maria)
    assert counts(result) == (4, 0, 0, 0)
    assert result.documents == {"created": 3}
    first = Invoice.objects.get(number="F-1")
    assert (first.kind, first.state, first.partner_id) == ("out_invoice", "posted", acme.pk)
    assert (first.amount_untaxed, first.amount_tax, first.amount_total) == (
        D(1325),
        D(265),
        D(1590),
    )
    assert first.due_date == datetime.date(2026, 4, 30)
    lines = list(first.lines.order_by("sequence"))
    assert [line.description for line in lines] == ["Gripper", "Service hour"]
    paid = Invoice.objects.get(number="F-2")
    assert (paid.state, paid.amount_total, paid.amount_paid) == ("paid", D("205.20"), D("205.20"))
    assert paid.due_date == datetime.date(2026, 4, 2)
    credit = Invoice.objects.get(number="C-1")
    assert (credit.kind, credit.amount_total) == ("out_refund", D(10))
    assert not DocumentSequence.objects.exists()
    assert TimelineEntry.objects.filter(partner=acme, action="imported").count() == 3


def test_reimporting_invoices_is_unchanged_and_an_edited_line_updates_its_document(
    acme: Partner, products: dict[str, Product]
) -> None:
    run(Kind.INVOICES, INVOICES)
    line_ids = set(InvoiceLine.objects.values_list("pk", flat=True))
    stamps = dict(Invoice.objects.values_list("number", "updated_at"))
    with CaptureQueriesContext(connection) as captured:
        again, _ = run(Kind.INVOICES, INVOICES)
    assert counts(again) == (0, 0, 4, 0)
    assert len(captured.captured_queries) <= 10
    assert writes(captured) == []
    assert set(InvoiceLine.objects.values_list("pk", flat=True)) == line_ids
    assert dict(Invoice.objects.values_list("number", "updated_at")) == stamps

    edited = INVOICES.replace("Hours,SRV-H,2,95", "Hours,SRV-H,3,95")
    result, _ = run(Kind.INVOICES, edited)
    assert counts(result) == (0, 1, 3, 0)
    assert result.documents == {"updated": 1, "unchanged": 2}
    assert Invoice.objects.get(number="F-2").amount_total == D("307.80")
    assert InvoiceLine.objects.get(invoice__number="F-2").quantity == D(3)


def test_a_total_that_does_not_add_up_rejects_the_whole_document(
    acme: Partner, products: dict[str, Product]
) -> None:
    wrong = INVOICES.replace("1590.00", "1600.00")
    result, tables = run(Kind.INVOICES, wrong)
    assert counts(result) == (2, 0, 0, 2)
    assert not Invoice.objects.filter(number="F-1").exists()
    assert Invoice.objects.filter(number__in=["F-2", "C-1"]).count() == 2
    rows = list(csv.DictReader(io.StringIO(imports.rejected_csv(tables, result.rejected_rows))))
    assert [r["row"] for r in rows] == ["2", "3"]
    assert (
        "the lines add up to 1,590.00 EUR, but the total column says 1,600.00 EUR"
        in (rows[0]["error"])
    )
    assert rows[0]["number"] == "F-1"


def test_rows_of_one_document_must_agree_and_products_must_exist(
    acme: Partner, products: dict[str, Product]
) -> None:
    text = (
        "number,partner_external_id,date,unit_price,product_code\n"
        "A,C-1,2026-01-01,1,GR-200\n"
        "A,C-1,2026-01-02,1,GR-200\n"
        "B,C-1,2026-01-02,1,NOPE\n"
        "C,C-9,2026-01-02,1,GR-200\n"
    )
    result, _ = run(Kind.INVOICES, text)
    assert counts(result) == (0, 0, 0, 4)
    errors = [e for _, e in result.rejected_rows]
    assert "date: row 3 gives “2026-01-02” but row 2 gives “2026-01-01”" in errors[0]
    assert "there is no product NOPE" in errors[2]
    assert errors[3] == "No partner matches ERP id C-9."


def test_all_or_nothing_rolls_back_when_a_row_is_rejected(
    acme: Partner, products: dict[str, Product]
) -> None:
    wrong = INVOICES.replace("1590.00", "1600.00")
    result, _ = run(Kind.INVOICES, wrong, all_or_nothing=True)
    assert result.rolled_back
    assert counts(result) == (2, 0, 0, 2)
    assert not Invoice.objects.exists()
    ok, _ = run(Kind.INVOICES, INVOICES, all_or_nothing=True)
    assert not ok.rolled_back
    assert Invoice.objects.count() == 3


def test_a_dry_run_writes_nothing_but_reports_exact_counts(
    acme: Partner, products: dict[str, Product]
) -> None:
    text = INVOICES.replace("C-1,Acme GmbH,2026-04-03", "C-7,New Customer,2026-04-03")
    result, _ = run(Kind.INVOICES, text, dry_run=True, create_partners=True)
    assert counts(result) == (4, 0, 0, 0)
    assert result.partners_created == 1
    assert not Invoice.objects.exists()
    assert not InvoiceLine.objects.exists()
    assert not Partner.objects.filter(name="New Customer").exists()


def test_invoices_in_two_files_joined_by_number_and_type(
    acme: Partner, products: dict[str, Product]
) -> None:
    headers = (
        "number,type,customer_code,invoice_date,state,amount_total\n"
        "B-1,bill,C-1,2026-05-01,posted,120\n"
        "B-2,bill,C-1,2026-05-02,posted,\n"
    )
    lines = "number,type,description,qty,price,tax\nB-1,bill,Parts,2,50,20\nB-9,bill,Orphan,1,1,0\n"
    result, tables = run(Kind.INVOICES, headers, lines=lines)
    assert counts(result) == (2, 0, 0, 2)
    bill = Invoice.objects.get(number="B-1")
    assert (bill.kind, bill.amount_total) == ("in_invoice", D(120))
    errors = {(r.source, r.number): e for r, e in result.rejected_rows}
    assert errors[("", 3)] == "The document B-2 has no lines."
    assert errors[("Lines file", 3)] == "No row of the headers file is the document B-9."
    rejected = imports.rejected_csv(tables, result.rejected_rows)
    assert rejected.splitlines()[0].endswith("file,row,error")
    assert "lines.csv" in rejected


def test_semicolon_csv_with_bom_and_decimal_commas(
    acme: Partner, products: dict[str, Product]
) -> None:
    text = (
        "\ufeffNumber;Partner VAT;Date;Description;Quantity;Unit Price;Tax %\n"
        "S-1;DE111;31/03/2026;Work;1,5;1.000,50;19\n"
    )
    result, _ = run(Kind.INVOICES, text.encode("utf-8"))
    assert counts(result) == (1, 0, 0, 0)
    invoice = Invoice.objects.get(number="S-1")
    line = invoice.lines.get()
    assert (line.quantity, line.unit_price, line.tax_rate) == (D("1.5"), D("1000.50"), D(19))
    assert invoice.invoice_date == datetime.date(2026, 3, 31)
    assert invoice.amount_total == D("1500.75") + D("285.14")


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_files_are_read_with_typed_cells(db: None) -> None:
    content = _xlsx(
        [
            ["Code", "Name", "List price", "Tax rate", "Active"],
            ["X-1", "Excel product", 12.5, 20, True],
            ["X-2", "Whole", 3, 0, False],
        ]
    )
    result, _ = run(Kind.PRODUCTS, content)
    assert counts(result) == (2, 0, 0, 0)
    assert Product.objects.get(code="X-1").list_price == D("12.5")
    assert Product.objects.get(code="X-2").active is False
    again, _ = run(Kind.PRODUCTS, content)
    assert counts(again) == (0, 0, 2, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary", "not a CSV file"),
        (b"code;name\n", "no rows to import"),
        (b"name,price\nA,1\n", "The file has no code column"),
        ("code,name\nA,\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"PK\x03\x04broken", "not an XLSX file"),
        (b"code,sku\nA,B\n", "both give the code"),
    ],
)
def test_unreadable_files_raise_a_clear_error(content: bytes, message: str) -> None:
    with pytest.raises(imports.ImportFileError, match=message):
        imports.read_files(kind=Kind.PRODUCTS, content=content, file_name="f.csv")


# --------------------------------------------------------------------------
# Payments


def test_payments_settle_the_invoices_given_and_leave_the_rest_as_credit(
    acme: Partner, products: dict[str, Product]
) -> None:
    run(Kind.INVOICES, INVOICES.replace(",paid,", ",posted,"))
    text = (
        "reference,partner_external_id,date,amount,currency,direction,method,invoices\n"
        "BANK-1,C-1,2026-05-01,1700.00,EUR,received,transfer,F-1\n"
        "BANK-2,C-1,2026-05-02,100,EUR,in,cash,F-2\n"
        "BANK-3,C-1,2026-05-03,5,EUR,in,,F-404\n"
    )
    result, _ = run(Kind.PAYMENTS, text)
    assert counts(result) == (2, 0, 0, 1)
    assert "there is no customer invoice F-404" in result.rejected_rows[0][1]
    first = Payment.objects.get(reference="BANK-1")
    assert (first.amount_allocated, first.method) == (D("1590.00"), "bank")
    assert Invoice.objects.get(number="F-1").state == "paid"
    partial = Invoice.objects.get(number="F-2")
    assert (partial.state, partial.amount_paid) == ("partial", D(100))

    again, _ = run(Kind.PAYMENTS, text)
    assert counts(again) == (0, 0, 2, 1)
    assert Payment.objects.count() == 2
    edited, _ = run(Kind.PAYMENTS, text.replace("in,cash", "in,card"))
    assert counts(edited) == (0, 1, 1, 1)
    assert Payment.objects.get(reference="BANK-2").method == "card"


def test_reimporting_invoices_keeps_what_payments_settled(
    acme: Partner, products: dict[str, Product]
) -> None:
    """An invoice posted in the ERP and paid by an imported payment stays
    partly paid when its file is imported again."""
    posted = INVOICES.replace(",paid,", ",posted,")
    run(Kind.INVOICES, posted)
    run(Kind.PAYMENTS, "reference,partner_vat,date,amount,invoices\nP,DE111,2026-05-01,50,F-2\n")
    result, _ = run(Kind.INVOICES, posted)
    assert counts(result) == (0, 0, 4, 0)
    assert Invoice.objects.get(number="F-2").state == "partial"


# --------------------------------------------------------------------------
# Pages


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.mark.parametrize(
    ("persona", "status"),
    [("bob_client", 403), ("charlie_client", 403), ("paula_client", 403)],
)
def test_only_managers_reach_the_import_pages(
    persona: str, status: int, request: pytest.FixtureRequest, maria: User
) -> None:
    client: Client = request.getfixturevalue(persona)
    job = SalesImport.objects.create(created_by=maria, kind=Kind.PRODUCTS, content=b"x")
    for url in (
        "/sales/imports/",
        "/sales/imports/new/",
        f"/sales/imports/{job.pk}/",
        f"/sales/imports/{job.pk}/rejected.csv",
        "/sales/imports/templates/products.csv",
    ):
        assert client.get(url).status_code == status, url
    assert client.post(f"/sales/imports/{job.pk}/repeat/").status_code == status


def test_anonymous_users_are_sent_to_log_in(client: Client, maria: User) -> None:
    """Every import page sends an anonymous visitor to the login page, and the
    repeat button queues nothing."""
    job = SalesImport.objects.create(
        created_by=maria, kind=Kind.PRODUCTS, content=b"x", dry_run=True, status=JobStatus.DONE
    )
    for url in (
        "/sales/imports/",
        "/sales/imports/new/",
        f"/sales/imports/{job.pk}/",
        f"/sales/imports/{job.pk}/rejected.csv",
        "/sales/imports/templates/products.csv",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response["Location"], url
    response = client.post(f"/sales/imports/{job.pk}/repeat/")
    assert response.status_code == 302
    assert "/login" in response["Location"]
    assert SalesImport.objects.count() == 1


def test_an_unknown_import_is_not_found(maria_client: Client, maria: User) -> None:
    """A manager gets 404 for an import that does not exist, and for the
    rejected rows of an import that rejected none."""
    job = SalesImport.objects.create(created_by=maria, kind=Kind.PRODUCTS, content=b"x")
    missing = job.pk + 1000
    assert maria_client.get(f"/sales/imports/{missing}/").status_code == 404
    assert maria_client.get(f"/sales/imports/{missing}/rejected.csv").status_code == 404
    assert maria_client.post(f"/sales/imports/{missing}/repeat/").status_code == 404
    assert maria_client.get(f"/sales/imports/{job.pk}/rejected.csv").status_code == 404
    assert SalesImport.objects.count() == 1


@pytest.mark.parametrize(
    ("dry_run", "status"),
    [(False, JobStatus.DONE), (True, JobStatus.QUEUED), (True, JobStatus.FAILED)],
)
def test_only_a_finished_dry_run_can_be_imported_for_real(
    maria_client: Client, maria: User, dry_run: bool, status: str
) -> None:
    """A real import, or a dry run that has not finished well, is not queued
    again: the page says why."""
    job = SalesImport.objects.create(
        created_by=maria, kind=Kind.PRODUCTS, content=b"x", dry_run=dry_run, status=status
    )
    response = maria_client.post(f"/sales/imports/{job.pk}/repeat/", follow=True)
    assert response.redirect_chain == [(f"/sales/imports/{job.pk}/", 302)]
    assert "Only a finished dry run can be imported for real." in response.content.decode()
    assert SalesImport.objects.count() == 1


def test_upload_queues_a_dry_run_and_the_page_shows_the_report(
    maria_client: Client, maria: User
) -> None:
    response = maria_client.post(
        "/sales/imports/new/",
        {"kind": "products", "file": _upload("p.csv", PRODUCTS.encode()), "dry_run": "on"},
    )
    job = SalesImport.objects.get()
    assert response["Location"] == f"/sales/imports/{job.pk}/"
    assert (job.dry_run, job.file_name, job.status) == (True, "p.csv", JobStatus.QUEUED)
    page = maria_client.get(response["Location"]).content.decode()
    assert "Waiting for the worker" in page
    assert 'hx-trigger="every 1s"' in page

    imports.sales_import_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.created, job.progress_done, job.progress_total) == ("done", 2, 2, 2)
    assert not Product.objects.exists()
    fragment = maria_client.get(f"/sales/imports/{job.pk}/", HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert "Dry run finished" in html
    assert "hx-trigger" not in html
    assert "Import for real" in html

    again = maria_client.post(f"/sales/imports/{job.pk}/repeat/")
    real = SalesImport.objects.exclude(pk=job.pk).get()
    assert again["Location"] == f"/sales/imports/{real.pk}/"
    assert real.dry_run is False
    assert bytes(real.content) == PRODUCTS.encode()
    imports.sales_import_run(job=real)
    assert Product.objects.count() == 2


def test_rejected_rows_download(maria_client: Client, maria: User) -> None:
    job = imports.sales_import_request(
        by=maria,
        kind=Kind.PRODUCTS,
        file_name="p.csv",
        content=b"code,name\n=cmd,Evil\nOK-1,Fine\n",
        dry_run=False,
    )
    imports.sales_import_run(job=job)
    job.refresh_from_db()
    assert (job.created, job.rejected) == (1, 1)
    page = maria_client.get(f"/sales/imports/{job.pk}/").content.decode()
    assert "Download rejected rows" in page
    download = maria_client.get(f"/sales/imports/{job.pk}/rejected.csv")
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["code", "name", "row", "error"]
    assert rows[1][0] == "'=cmd"  # neutralised for spreadsheets
    assert rows[1][2] == "2"
    assert "Start the code with a letter" in rows[1][3]


@pytest.mark.parametrize(
    ("files", "field", "message"),
    [
        ({"file": ("x.png", b"\x89PNG\x00\x00")}, "file", "neither a CSV nor an XLSX"),
        ({"file": ("x.csv", b"")}, "file", "The submitted file is empty"),
        (
            {"file": ("x.csv", b"code\nA\n"), "lines_file": ("l.csv", b"number\n1\n")},
            "lines_file",
            "Only invoices",
        ),
    ],
)
def test_bad_uploads_are_form_errors(
    maria_client: Client, files: dict[str, tuple[str, bytes]], field: str, message: str
) -> None:
    data: dict[str, Any] = {"kind": "products"}
    for key, (name, content) in files.items():
        data[key] = _upload(name, content)
    response = maria_client.post("/sales/imports/new/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SalesImport.objects.exists()


def test_a_file_too_large_is_refused(maria_client: Client, settings: Any) -> None:
    settings.SALES_IMPORT_MAX_MB = 1
    big = b"code,name\n" + b"A,B\n" * 300_000
    response = maria_client.post(
        "/sales/imports/new/", {"kind": "products", "file": _upload("big.csv", big)}
    )
    assert response.status_code == 400
    assert "the limit is 1 MB" in response.content.decode()


def test_a_malformed_file_ends_as_a_failed_job_with_its_reason(
    maria_client: Client, maria: User
) -> None:
    job = imports.sales_import_request(
        by=maria, kind=Kind.INVOICES, file_name="i.csv", content=b"foo,bar\n1,2\n"
    )
    imports.sales_import_run(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The file has no number and no unit_price column")
    page = maria_client.get(f"/sales/imports/{job.pk}/")
    assert page.status_code == 200
    assert "The file has no number and no unit_price column" in page.content.decode()


def test_the_list_runs_a_flat_number_of_queries(
    maria_client: Client, maria: User, alice: User
) -> None:
    for by in (maria, alice, maria):
        SalesImport.objects.create(created_by=by, kind=Kind.PAYMENTS, content=b"x", file_name="f")
    maria_client.get("/sales/imports/")
    with CaptureQueriesContext(connection) as few:
        maria_client.get("/sales/imports/")
    for _ in range(5):
        SalesImport.objects.create(created_by=alice, kind=Kind.PRODUCTS, content=b"y")
    with CaptureQueriesContext(connection) as many:
        html = maria_client.get("/sales/imports/").content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert html.count("<tr>") == 9


def test_the_form_lists_columns_and_example_files(maria_client: Client) -> None:
    html = maria_client.get("/sales/imports/new/").content.decode()
    assert "partner_external_id" in html
    assert 'name="dry_run" id="id_dry_run" checked' in html
    example = maria_client.get("/sales/imports/templates/invoices.csv")
    header = example.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("number,type,partner_external_id")
    assert maria_client.get("/sales/imports/templates/nothing.csv").status_code == 404


def test_the_sidebar_links_managers_to_imports(maria_client: Client, bob_client: Client) -> None:
    assert "Import from ERP" in maria_client.get("/sales/imports/").content.decode()
    assert "Import from ERP" not in bob_client.get("/sales/products/").content.decode()


# --------------------------------------------------------------------------
# The command line and the worker


def test_the_command_imports_and_prints_the_report(
    tmp_path: Any, acme: Partner, products: dict[str, Product], capsys: Any
) -> None:
    path = tmp_path / "invoices.csv"
    path.write_text(INVOICES.replace("1590.00", "1600.00"))
    rejected = tmp_path / "rejected.csv"
    call_command(
        "sales_import", str(path), "--kind", "invoices", "--dry-run", "--rejected", str(rejected)
    )
    out = capsys.readouterr().out
    assert "Dry run (nothing saved): 4 rows" in out
    assert "created           2   (2 documents)" in out
    assert "rejected          2   (1 documents)" in out
    assert "total column says" in rejected.read_text(encoding="utf-8-sig")
    assert not Invoice.objects.exists()
    call_command("sales_import", str(path), "--kind", "invoices")
    assert Invoice.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_import(maria: User) -> None:
    """The task runs in the real worker: the job is claimed, the file imported
    with progress, and the outcome recorded."""
    job = imports.sales_import_request(
        by=maria, kind=Kind.PRODUCTS, file_name="p.csv", content=PRODUCTS.encode(), dry_run=False
    )
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.created, job.unchanged, job.progress_done, job.progress_total) == (2, 0, 2, 2)
    assert job.report["counts"]["created"] == 2
    assert Product.objects.count() == 2
    services.category_paths()  # the categories it made are whole
