"""PDFs of quotations, orders and invoices, the document layout page and its
preview, per persona.

The rendering tests need WeasyPrint and the Pango libraries. Without them they
are skipped with a message saying what to install, unless
``GOODWILL_REQUIRE_PDF=1`` (CI), where they run and fail.
"""

from __future__ import annotations

import datetime
import http.server
import io
import os
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from goodwill.partners.models import Address, Partner
from goodwill.sales import invoicing, orders, shipments
from goodwill.sales.invoicing import LineInput
from goodwill.sales.layout import (
    MAX_LOGO_BYTES,
    colour_clean,
    layout_get,
    layout_save,
    logo_type,
)
from goodwill.sales.models import (
    DocumentLayout,
    Invoice,
    Order,
    PaymentTerm,
    Product,
    Shipment,
)
from goodwill.sales.pdf import (
    PDF_PACKAGES,
    PdfUnavailableError,
    document_pdf,
    html_to_pdf,
    money,
    pdf_available,
    pdf_filename,
    shipment_context,
    url_fetcher,
)
from tests.factories import PartnerFactory

D = Decimal

_REQUIRED = os.environ.get("GOODWILL_REQUIRE_PDF", "").strip().lower() in {"1", "true", "yes"}
needs_pdf = pytest.mark.skipif(
    not _REQUIRED and not pdf_available(),
    reason=(
        "PDF tests skipped: WeasyPrint cannot load its system libraries; install the "
        f"Debian packages {' '.join(PDF_PACKAGES)} to run them"
    ),
)


def _png(size: tuple[int, int] = (60, 30), colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _images(pdf: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return sum(len(page.images) for page in reader.pages)


@pytest.fixture
def acme(db: None) -> Partner:
    partner = PartnerFactory(name="Acme Robotics", currency="EUR")
    Address.objects.create(partner=partner, kind="delivery", street="9 Dock Road", city="Hull")
    Address.objects.create(
        partner=partner, kind="invoice", street="1 Ledger Lane", zip="75002", city="Paris"
    )
    return partner


@pytest.fixture
def robot(db: None) -> Product:
    return Product.objects.create(
        code="R1", name="Robot arm", list_price=D(1000), cost=D(600), tax_rate=D(20)
    )


def _invoice(partner: Partner, product: Product, *, post: bool = True, lines: int = 1) -> Invoice:
    invoice = invoicing.invoice_create(
        by=None,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=partner,
        lines=[
            LineInput(product=product, quantity=D(1)),
            *[
                LineInput(description=f"Service hour {n}", unit_price=D(50), tax_rate=D(10))
                for n in range(lines - 1)
            ],
        ],
        payment_term=PaymentTerm.objects.get_or_create(name="Net 30", net_days=30)[0],
        reference="PO-778",
    )
    return invoicing.invoice_post(invoice=invoice, by=None) if post else invoice


def _order(partner: Partner, product: Product, **kwargs: Any) -> Order:
    return orders.order_create(
        by=None,
        partner=partner,
        lines=[LineInput(product=product, quantity=D(2))],
        order_date=datetime.date(2026, 3, 1),
        valid_until=datetime.date(2026, 3, 31),
        **kwargs,
    )


# --------------------------------------------------------------------------
# The documents


@needs_pdf
def test_a_posted_invoice_prints_its_number_partner_lines_and_totals(
    acme: Partner, robot: Product
) -> None:
    """The PDF reads as a PDF and shows the number, the partner and its invoice
    address (not the delivery one), the lines, the tax summary and what is due."""
    layout_save(
        by=None,
        values={
            "company_name": "Goodwill Trading",
            "address": "5 Main Street\nLeeds",
            "vat": "GB1",
        },
    )
    invoice = _invoice(acme, robot, lines=2)
    text = _text(document_pdf(invoice))
    assert invoice.number.startswith("INV/")
    assert invoice.number in text
    assert "Acme Robotics" in text
    assert "1 Ledger Lane" in text
    assert "9 Dock Road" not in text
    assert "Goodwill Trading" in text
    assert "5 Main Street" in text
    assert "Robot arm" in text
    assert "Service hour 0" in text
    assert "Total 1,255.00 EUR" in text  # 1000 + 20 % and 50 + 10 %
    assert "Amount due 1,255.00 EUR" in text
    assert "20 % 1,000.00 EUR 200.00 EUR" in text  # the tax summary, per rate
    assert "10 % 50.00 EUR 5.00 EUR" in text
    assert "Net 30" in text
    assert "PO-778" in text
    assert "Draft" not in text
    assert "Page 1 of 1" in text


@needs_pdf
def test_a_draft_invoice_says_it_is_a_draft(acme: Partner, robot: Product) -> None:
    invoice = _invoice(acme, robot, post=False)
    text = _text(document_pdf(invoice))
    assert "Draft invoice" in text
    assert "not a valid invoice until it is posted" in text
    assert "Not numbered until posted" in text
    assert "1,200.00 EUR" in text


@needs_pdf
def test_a_quotation_becomes_a_sales_order_and_a_purchase_order_says_so(
    acme: Partner, robot: Product
) -> None:
    quotation = _order(acme, robot)
    text = _text(document_pdf(quotation))
    assert "Quotation" in text
    assert quotation.number in text
    assert "Valid until 2026-03-31" in text
    assert "Total 2,400.00 EUR" in text
    assert "Amount due" not in text

    for action in ("send", "confirm"):
        quotation = orders.order_set_state(order=quotation, by=None, action=action)
    text = _text(document_pdf(quotation))
    assert "Sales order" in text
    assert "Quotation" not in text

    purchase = _order(acme, robot, kind=Order.Kind.PURCHASE)
    text = _text(document_pdf(purchase))
    assert "Purchase order" in text
    assert "SUPPLIER" in text  # the label is set in capitals


@needs_pdf
def test_the_logo_is_embedded_as_an_image(acme: Partner, robot: Product) -> None:
    invoice = _invoice(acme, robot)
    assert _images(document_pdf(invoice)) == 0
    layout_save(by=None, values={}, logo=_png())
    assert _images(document_pdf(invoice)) == 1


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A server on the loopback that records every path asked of it."""
    hits: list[str] = []
    body = _png()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@needs_pdf
def test_documents_never_fetch_network_urls(web_server: tuple[str, list[str]]) -> None:
    """An image, a stylesheet and an @import that point at a server are refused;
    the same HTML with WeasyPrint's own fetcher does reach it (so the server
    would have seen a request)."""
    base, hits = web_server
    html = (
        f'<html><head><link rel="stylesheet" href="{base}/style.css">'
        f"<style>@import url({base}/import.css);</style></head>"
        f'<body><p>Hello</p><img src="{base}/logo.png"></body></html>'
    )
    fetcher = url_fetcher()
    pdf = html_to_pdf(html, fetcher=fetcher)
    assert pdf.startswith(b"%PDF-")
    assert hits == []
    assert {f"{base}/logo.png", f"{base}/style.css", f"{base}/import.css"} <= set(fetcher.refused)
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch("file:///etc/passwd")

    from weasyprint.urls import URLFetcher

    html_to_pdf(f'<img src="{base}/logo.png">', fetcher=URLFetcher())
    assert hits == ["/logo.png"]


@needs_pdf
def test_an_svg_logo_that_points_at_a_server_fetches_nothing(
    acme: Partner, robot: Product, web_server: tuple[str, list[str]]
) -> None:
    base, hits = web_server
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="40" height="20"><image href="{base}/inner.png" xlink:href="{base}/x.png" '
        'width="40" height="20"/><rect width="10" height="10" fill="red"/></svg>'
    ).encode()
    layout_save(by=None, values={}, logo=svg)
    assert _text(document_pdf(_invoice(acme, robot)))
    assert hits == []


# --------------------------------------------------------------------------
# Formatting


def test_money_uses_the_currency_decimals() -> None:
    assert money(D("1234.5"), "EUR") == "1,234.50 EUR"
    assert money(D("1234.5"), "JPY") == "1,235 JPY"
    assert money(D("-0.5"), "USD") == "-0.50 USD"


def test_the_file_is_named_after_the_number(acme: Partner, robot: Product) -> None:
    invoice = _invoice(acme, robot, post=False)
    assert pdf_filename(invoice) == f"draft-invoice-{invoice.pk}.pdf"
    invoice = invoicing.invoice_post(invoice=invoice, by=None)
    assert pdf_filename(invoice) == invoice.number.replace("/", "-") + ".pdf"
    assert pdf_filename(_order(acme, robot)).startswith("SO-")


# --------------------------------------------------------------------------
# The PDF pages, per persona


@needs_pdf
def test_agents_get_the_pdf_of_documents_they_may_see(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    invoice = _invoice(acme, robot)
    response = bob_client.get(f"/sales/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    filename = invoice.number.replace("/", "-") + ".pdf"
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    assert invoice.number in _text(response.content)

    response = bob_client.get(f"/sales/invoices/{invoice.pk}/pdf/?download=1")
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'

    order = _order(acme, robot)
    response = bob_client.get(f"/sales/orders/{order.pk}/pdf/")
    assert response.status_code == 200
    assert order.number in _text(response.content)


def test_outsiders_get_no_pdf_and_unknown_ids_are_not_found(
    bob_client: Client,
    charlie_client: Client,
    paula_client: Client,
    acme: Partner,
    robot: Product,
) -> None:
    invoice = _invoice(acme, robot)
    order = _order(acme, robot)
    for client in (charlie_client, paula_client):
        assert client.get(f"/sales/invoices/{invoice.pk}/pdf/").status_code == 403
        assert client.get(f"/sales/orders/{order.pk}/pdf/").status_code == 403
        # Refused before the lookup: an unknown id is no different.
        assert client.get("/sales/invoices/999999/pdf/").status_code == 403
    assert bob_client.get("/sales/invoices/999999/pdf/").status_code == 404
    assert bob_client.get("/sales/orders/999999/pdf/").status_code == 404
    response = Client().get(f"/sales/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@needs_pdf
def test_the_pdf_costs_the_same_queries_for_many_lines(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    small = _invoice(acme, robot, lines=1)
    large = _invoice(acme, robot, lines=25)
    counts = []
    for invoice in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert bob_client.get(f"/sales/invoices/{invoice.pk}/pdf/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_without_pango_the_pdf_page_says_what_to_install(
    bob_client: Client, acme: Partner, robot: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server without WeasyPrint answers 503 with the packages to install."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # the import now fails
    invoice = _invoice(acme, robot)
    response = bob_client.get(f"/sales/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "PDFs are not available on this server" in page
    assert "libpango-1.0-0 libpangoft2-1.0-0" in page
    with pytest.raises(PdfUnavailableError):
        document_pdf(invoice)


def test_the_detail_pages_link_to_the_pdf(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    invoice = _invoice(acme, robot)
    order = _order(acme, robot)
    page = bob_client.get(f"/sales/invoices/{invoice.pk}/").content.decode()
    assert f'href="/sales/invoices/{invoice.pk}/pdf/"' in page
    page = bob_client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert f'href="/sales/orders/{order.pk}/pdf/"' in page


# --------------------------------------------------------------------------
# The layout page


def _layout_data(**changes: Any) -> dict[str, Any]:
    data = {
        "company_name": "Goodwill Trading",
        "address": "5 Main Street\nLeeds",
        "vat": "GB 1",
        "email": "sales@goodwill.example",
        "phone": "+44 1",
        "website": "goodwill.example",
        "bank_details": "IBAN GB00 0000",
        "footer": "Registered in England",
        "primary_colour": "#AA3300",
        "secondary_colour": "#eeeeee",
    }
    data.update(changes)
    return data


def test_managers_save_the_layout_with_a_logo(maria_client: Client, maria: Any) -> None:
    page = maria_client.get("/sales/layout/")
    assert page.status_code == 200
    assert 'href="/sales/layout/"' in page.content.decode()  # the sidebar link
    logo = SimpleUploadedFile("whatever.bin", _png(), content_type="application/octet-stream")
    response = maria_client.post("/sales/layout/", _layout_data(logo=logo))
    assert response.status_code == 302
    layout = layout_get()
    assert layout.company_name == "Goodwill Trading"
    assert layout.address == "5 Main Street\nLeeds"
    assert layout.primary_colour == "#aa3300"
    assert layout.logo_type == "image/png"  # judged by its content, not its name
    assert bytes(layout.logo or b"") == _png()
    assert "data:image/png;base64," in maria_client.get("/sales/layout/").content.decode()

    # Saving without a file keeps the logo; "remove the logo" drops it.
    assert maria_client.post("/sales/layout/", _layout_data()).status_code == 302
    assert layout_get().logo_type == "image/png"
    assert maria_client.post("/sales/layout/", _layout_data(remove_logo="on")).status_code == 302
    layout = layout_get()
    assert (layout.logo, layout.logo_type) == (None, "")
    assert DocumentLayout.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"primary_colour": "red"}, "primary_colour", "six hexadecimal digits"),
        ({"secondary_colour": "#12345"}, "secondary_colour", "six hexadecimal digits"),
        ({"email": "not an address"}, "email", "valid email address"),
        (
            {"logo": SimpleUploadedFile("logo.png", b"just text, named like a picture")},
            "logo",
            "must be a PNG, JPEG or SVG image",
        ),
        (
            {"logo": SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_LOGO_BYTES)},
            "logo",
            "keep it to 1 MB at most",
        ),
        (
            {"logo": SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n broken")},
            "logo",
            "cannot be read",
        ),
        (
            {"logo": SimpleUploadedFile("l.png", _png()), "remove_logo": "on"},
            "remove_logo",
            "not both",
        ),
    ],
)
def test_the_layout_form_refuses_bad_values(
    maria_client: Client, changes: dict[str, Any], field: str, message: str
) -> None:
    response = maria_client.post("/sales/layout/", _layout_data(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors[field]), errors
    assert not DocumentLayout.objects.exists()


def test_agents_and_outsiders_cannot_open_the_layout(
    bob_client: Client, charlie_client: Client, paula_client: Client
) -> None:
    for client in (bob_client, charlie_client, paula_client):
        assert client.get("/sales/layout/").status_code == 403
        assert client.post("/sales/layout/", _layout_data()).status_code == 403
        assert client.get("/sales/layout/preview/").status_code == 403
    for response in (
        Client().get("/sales/layout/"),
        Client().post("/sales/layout/", _layout_data()),
        Client().get("/sales/layout/preview/"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert 'href="/sales/layout/"' not in bob_client.get("/sales/orders/").content.decode()
    assert not DocumentLayout.objects.exists()


@needs_pdf
def test_the_preview_draws_a_sample_with_the_saved_layout(maria_client: Client) -> None:
    layout_save(by=None, values={"company_name": "Preview Trading Ltd"}, logo=_png())
    response = maria_client.get("/sales/layout/preview/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _text(response.content)
    assert "Preview Trading Ltd" in text
    assert "Example Customer Ltd" in text
    assert _images(response.content) == 1
    assert not Invoice.objects.exists()  # nothing was saved


# --------------------------------------------------------------------------
# The layout rules


def test_colours_and_logos_are_judged_by_their_content() -> None:
    assert colour_clean(" #A1B2C3 ") == "#a1b2c3"
    with pytest.raises(ValidationError):
        colour_clean("#a1b2c3; background: url(http://x)")
    assert logo_type(_png()) == "image/png"
    jpeg = io.BytesIO()
    Image.new("RGB", (10, 10)).save(jpeg, "JPEG")
    assert logo_type(jpeg.getvalue()) == "image/jpeg"
    svg = b'<?xml version="1.0"?>\n<!-- logo -->\n<svg xmlns="http://www.w3.org/2000/svg"></svg>\n'
    assert logo_type(svg) == "image/svg+xml"
    for bad in (
        b"",
        b"<html><svg></svg></html>",
        b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>',
        b"GIF89a\x01\x00\x01\x00",
    ):
        with pytest.raises(ValidationError):
            logo_type(bad)


def test_saving_the_layout_announces_it(db: None, django_capture_on_commit_callbacks: Any) -> None:
    from goodwill.lib import events

    seen: list[events.Event] = []
    events.subscribe("document_layout.saved")(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            layout_save(by=None, values={"company_name": "A"})
    finally:
        events.unsubscribe("document_layout.saved", seen.append)
    assert [event.payload["changes"] for event in seen] == [["company_name"]]


def test_without_pango_the_layout_page_still_works_and_warns(
    maria_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    page = maria_client.get("/sales/layout/")
    assert page.status_code == 200
    assert "PDFs cannot be made on this server" in page.content.decode()
    assert maria_client.get("/sales/layout/preview/").status_code == 503
    assert maria_client.post("/sales/layout/", _layout_data()).status_code == 302


# --------------------------------------------------------------------------
# Delivery notes and goods received notes


def _words(pdf: bytes) -> str:
    """The PDF's text with every run of spaces and line breaks made one space."""
    return " ".join(_text(pdf).split())


def _shipment(
    partner: Partner,
    product: Product,
    *,
    kind: str = Order.Kind.SALE,
    ordered: int | str = 5,
    shipped: int | str = 3,
    extra_lines: int = 0,
) -> Shipment:
    """A draft shipment of *shipped* out of *ordered* of *product*, from a
    confirmed order, with a carrier, a tracking reference and notes."""
    order = orders.order_create(
        by=None,
        partner=partner,
        kind=kind,
        lines=[
            LineInput(product=product, quantity=D(ordered)),
            *[
                LineInput(description=f"Spare part {n}", unit_price=D(7), quantity=D(1))
                for n in range(extra_lines)
            ],
        ],
        reference="PO-4411",
    )
    order = orders.order_set_state(order=order, by=None, action="confirm")
    shipment = shipments.shipment_create_from_order(
        order=order, by=None, promised_date=datetime.date(2026, 4, 10)
    )
    line = shipment.lines.get(product=product)
    return shipments.shipment_update(
        shipment=shipment,
        by=None,
        values={"carrier": "Fast Freight", "tracking_reference": "TRK-889", "notes": "Ring twice"},
        quantities={line.pk: D(shipped)},
    )


@needs_pdf
def test_a_draft_delivery_note_shows_the_goods_and_no_prices(acme: Partner, robot: Product) -> None:
    """A delivery note names the shipment, the order and its reference, the
    partner's delivery address (not the invoice one), our address, the dates,
    the carrier, the lines with ordered / shipped / still to deliver, the notes
    and a signature box; a draft says so; no price or total appears."""
    layout_save(by=None, values={"company_name": "Goodwill Trading", "address": "5 Main Street"})
    shipment = _shipment(acme, robot)
    text = _words(document_pdf(shipment))
    assert shipment.number.startswith("OUT/")
    assert shipment.number in text
    assert "Delivery note" in text
    assert "Draft: not yet ready to ship" in text
    assert "Acme Robotics" in text
    assert "9 Dock Road" in text
    assert "1 Ledger Lane" not in text
    assert "Goodwill Trading" in text
    assert "5 Main Street" in text
    assert shipment.order is not None
    assert shipment.order.number in text
    assert "PO-4411" in text
    assert "Promised date 2026-04-10" in text
    assert "Delivered on Not yet" in text
    assert "Fast Freight" in text
    assert "TRK-889" in text
    assert "R1" in text
    assert "Robot arm 5 3 2" in text  # ordered, in this delivery, still to deliver
    assert "Ring twice" in text
    assert "Received in good order" in text
    for price in ("1,000", "1000", "EUR", "Total", "Unit price", "Subtotal", "Tax"):
        assert price not in text


@needs_pdf
def test_done_cancelled_and_received_shipments_say_what_they_are(
    acme: Partner, robot: Product
) -> None:
    """A done delivery is not marked draft and counts itself in what was
    delivered; a cancelled one is marked; a receipt is a goods received note
    without a signature box."""
    shipment = _shipment(acme, robot)
    shipment = shipments.shipment_set_state(
        shipment=shipment, by=None, action="done", actual_date=datetime.date(2026, 4, 9)
    )
    text = _words(document_pdf(shipment))
    assert "Delivery note" in text
    assert "Draft" not in text
    assert "Delivered on 2026-04-09" in text
    assert "Robot arm 5 3 2" in text

    assert shipment.order is not None
    rest = shipments.shipment_create_from_order(order=shipment.order, by=None)
    rest = shipments.shipment_set_state(shipment=rest, by=None, action="cancel")
    text = _words(document_pdf(rest))
    assert "Cancelled: these goods will not be shipped" in text
    assert "Robot arm 5 2 2" in text  # cancelled: nothing more leaves

    receipt = _shipment(acme, robot, kind=Order.Kind.PURCHASE, shipped=5)
    assert receipt.number.startswith("IN/")
    text = _words(document_pdf(receipt))
    assert "Goods received note" in text
    assert "Delivery note" not in text
    assert "Received on Not yet" in text
    assert "Robot arm 5 5 0" in text
    assert "Received in good order" not in text
    assert "1 Ledger Lane" not in text  # a supplier goes by its main address


def test_the_shipment_context_counts_what_is_left_per_state(acme: Partner, robot: Product) -> None:
    shipment = _shipment(acme, robot, ordered="2.5", shipped=1)
    context = shipment_context(shipment, layout_get())
    assert context["title"] == "Delivery note"
    assert context["stamp"] == "Draft"
    assert [(row.ordered, row.quantity, row.left) for row in context["lines"]] == [
        ("2.5", "1", "1.5")
    ]
    assert context["partner_lines"] == ["9 Dock Road", "Hull"]
    assert "1000" not in str(context["lines"])


def test_a_shipment_file_is_named_after_its_number(acme: Partner, robot: Product) -> None:
    shipment = _shipment(acme, robot)
    assert pdf_filename(shipment) == shipment.number.replace("/", "-") + ".pdf"
    assert pdf_filename(shipment).startswith("OUT-")


@needs_pdf
def test_agents_get_the_delivery_note_at_a_flat_query_count(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    small = _shipment(acme, robot)
    large = _shipment(acme, robot, extra_lines=20)
    counts = []
    for shipment in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = bob_client.get(f"/sales/shipments/{shipment.pk}/pdf/")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert response["Content-Type"] == "application/pdf"
    filename = large.number.replace("/", "-") + ".pdf"
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    text = _words(response.content)
    assert large.number in text
    assert "Spare part 19" in text

    response = bob_client.get(f"/sales/shipments/{small.pk}/pdf/?download=1")
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{small.number.replace("/", "-")}.pdf"'
    )


def test_outsiders_get_no_delivery_note_and_unknown_ids_are_not_found(
    bob_client: Client,
    charlie_client: Client,
    paula_client: Client,
    acme: Partner,
    robot: Product,
) -> None:
    shipment = _shipment(acme, robot)
    for client in (charlie_client, paula_client):
        assert client.get(f"/sales/shipments/{shipment.pk}/pdf/").status_code == 403
        assert client.get("/sales/shipments/999999/pdf/").status_code == 403
    assert bob_client.get("/sales/shipments/999999/pdf/").status_code == 404
    assert bob_client.post(f"/sales/shipments/{shipment.pk}/pdf/").status_code == 405
    response = Client().get(f"/sales/shipments/{shipment.pk}/pdf/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # The state buttons' shipments/<id>/<action>/ did not take the PDF's address.
    assert Shipment.objects.get(pk=shipment.pk).state == Shipment.State.DRAFT
    page = bob_client.get(f"/sales/shipments/{shipment.pk}/").content.decode()
    assert f'href="/sales/shipments/{shipment.pk}/pdf/"' in page


def test_without_pango_the_delivery_note_says_what_to_install(
    bob_client: Client, acme: Partner, robot: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipment = _shipment(acme, robot)
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    response = bob_client.get(f"/sales/shipments/{shipment.pk}/pdf/")
    assert response.status_code == 503
    assert "libpango-1.0-0" in response.content.decode()
