"""PDFs of quotations, orders, invoices, credit notes, vendor bills, delivery
notes and goods received notes.

``document_pdf(document)`` renders ``templates/sales/pdf/order.html``,
``invoice.html`` or ``shipment.html`` (all extend ``pdf/base.html``: A4, the
company's letterhead and colours from the document layout, page numbers,
table headers repeated on every page) and turns the HTML into PDF with
WeasyPrint. Delivery notes show quantities and never prices.

WeasyPrint draws text with the system's Pango library. It is imported only
when a PDF is wanted, so Goodwill starts and works without it; asking for a
PDF then raises ``PdfUnavailableError``, whose message names the Debian
packages to install. The renderer never fetches anything over the network:
its URL fetcher accepts ``data:`` URIs (the embedded logo) and refuses every
other URL.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import functools
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.utils import timezone

from goodwill.lib.money import minor_units
from goodwill.partners.models import Address, Partner
from goodwill.sales.invoicing import line_amounts
from goodwill.sales.layout import (
    COLOUR,
    DEFAULT_PRIMARY,
    DEFAULT_SECONDARY,
    layout_get,
    layout_logo,
)
from goodwill.sales.models import (
    DocumentLayout,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    PaymentTerm,
    Shipment,
    ShipmentLine,
)
from goodwill.sales.shipments import quantity_text

# What WeasyPrint needs from Debian (or Ubuntu) to draw text.
PDF_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core")

INVOICE_TITLES = {
    Invoice.Kind.CUSTOMER_INVOICE: "Invoice",
    Invoice.Kind.CUSTOMER_CREDIT: "Credit note",
    Invoice.Kind.VENDOR_BILL: "Vendor bill",
    Invoice.Kind.VENDOR_REFUND: "Vendor refund",
}
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class PdfUnavailableError(Exception):
    """WeasyPrint, or a system library it needs, is not installed."""


def _weasyprint() -> Any:
    """The weasyprint module, imported on first use."""
    try:
        # WeasyPrint prints a hint to stdout when a library is missing; the
        # exception below says it better, and in our words.
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint
        # Its progress log says seven things about every document.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    except (ImportError, OSError) as exc:
        raise PdfUnavailableError(
            "PDFs cannot be made on this server: WeasyPrint or the Pango libraries it "
            "draws text with are missing. On Debian or Ubuntu, install them with "
            f"`apt-get install {' '.join(PDF_PACKAGES)}` and restart Goodwill "
            f"(the error was: {exc})."
        ) from exc
    return weasyprint


def pdf_available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailableError:
        return False
    return True


@functools.cache
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        """Fetches ``data:`` URIs and refuses every other URL, so a document
        never makes a request; the URLs it refused are kept in ``refused``."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                self.refused.append(url)
                raise ValueError(f"Documents embed their images; refused to fetch {url}")
            return super().fetch(url, headers)

    return DataOnlyFetcher


def url_fetcher() -> Any:
    """A WeasyPrint URL fetcher that only accepts ``data:`` URIs."""
    _weasyprint()
    return _fetcher_class()()


def html_to_pdf(html: str, *, fetcher: Any = None) -> bytes:
    """The PDF of *html*, fetching nothing but ``data:`` URIs (unless told to
    use another *fetcher*)."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=html, url_fetcher=fetcher or url_fetcher())
    pdf: bytes = document.write_pdf()
    return pdf


# --------------------------------------------------------------------------
# Formatting


def _decimals(currency: str) -> int:
    try:
        return minor_units(currency)
    except ValueError:
        return 2


def money(amount: Decimal, currency: str) -> str:
    """*amount* with the currency's decimals and thousands separators, then the
    code, as the document pages show it: ``1,234.50 EUR``, ``1,235 JPY``."""
    return f"{floatformat(amount, f'{_decimals(currency)}g')} {currency}"


def _unit_price(amount: Decimal, currency: str) -> str:
    """The currency's decimals, or up to four when the price has them."""
    exponent = amount.normalize().as_tuple().exponent
    decimals = _decimals(currency)
    if isinstance(exponent, int) and -exponent > decimals:
        decimals = min(-exponent, 4)
    return str(floatformat(amount, f"{decimals}g"))


def _percent(value: Decimal) -> str:
    return f"{floatformat(value, '-2')} %"


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


@dataclass(frozen=True)
class PdfLine:
    code: str
    description: str
    quantity: str
    unit_price: str
    discount: str
    tax: str
    subtotal: str


@dataclass(frozen=True)
class TaxRow:
    rate: str
    base: str
    tax: str


def _lines_and_taxes(
    lines: Sequence[InvoiceLine | OrderLine], currency: str
) -> tuple[list[PdfLine], list[TaxRow]]:
    rows = []
    rates: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        rows.append(
            PdfLine(
                code=line.product.code if line.product_id and line.product else "",
                description=line.description,
                quantity=str(floatformat(line.quantity, "-4")),
                unit_price=_unit_price(line.unit_price, currency),
                discount=_percent(line.discount_percent) if line.discount_percent else "",
                tax=_percent(line.tax_rate),
                subtotal=money(line.subtotal, currency),
            )
        )
        sums = rates.setdefault(line.tax_rate, [Decimal(0), Decimal(0)])
        sums[0] += line.subtotal
        sums[1] += line.tax_amount
    taxes = [
        TaxRow(rate=_percent(rate), base=money(base, currency), tax=money(tax, currency))
        for rate, (base, tax) in sorted(rates.items())
    ]
    return rows, taxes


def _colour(value: str, default: str) -> str:
    return value if COLOUR.fullmatch(value or "") else default


def _layout_context(layout: DocumentLayout) -> dict[str, Any]:
    logo = layout_logo(layout)
    logo_uri = ""
    if logo is not None:
        content, media_type = logo
        logo_uri = f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"
    return {
        "layout": layout,
        "logo_uri": logo_uri,
        "primary": _colour(layout.primary_colour, DEFAULT_PRIMARY),
        "secondary": _colour(layout.secondary_colour, DEFAULT_SECONDARY),
        "address_lines": [line for line in layout.address.splitlines() if line.strip()],
    }


def _address_lines(partner: Partner, kinds: Sequence[str]) -> list[str]:
    """The lines of the partner's first address of the first of *kinds* it has,
    else of its first address (none if it has no address); one query."""
    addresses = list(Address.objects.filter(partner=partner).order_by("id"))
    for kind in kinds:
        for address in addresses:
            if address.kind == kind:
                return address.lines
    return addresses[0].lines if addresses else []


def partner_address_lines(partner: Partner) -> list[str]:
    """The lines of the partner's invoice address, else of its contact address,
    else of its first address (none if it has no address)."""
    return _address_lines(partner, (Address.Kind.INVOICE, Address.Kind.CONTACT))


def partner_delivery_lines(partner: Partner) -> list[str]:
    """The lines of the partner's delivery address, else of its contact (main)
    address, else of its first address (none if it has no address)."""
    return _address_lines(partner, (Address.Kind.DELIVERY, Address.Kind.CONTACT))


def _document_context(
    document: Order | Invoice,
    *,
    lines: Sequence[InvoiceLine | OrderLine],
    partner_lines: list[str],
    layout: DocumentLayout,
) -> dict[str, Any]:
    currency = document.currency
    rows, taxes = _lines_and_taxes(lines, currency)
    return {
        **_layout_context(layout),
        "document": document,
        "partner": document.partner,
        "partner_lines": partner_lines,
        "lines": rows,
        "taxes": taxes,
        "untaxed": money(document.amount_untaxed, currency),
        "tax": money(document.amount_tax, currency),
        "total": money(document.amount_total, currency),
        "currency": currency,
    }


def order_context(
    order: Order,
    *,
    lines: Sequence[OrderLine],
    partner_lines: list[str],
    layout: DocumentLayout,
) -> dict[str, Any]:
    """What ``sales/pdf/order.html`` shows."""
    if order.kind == Order.Kind.PURCHASE:
        title, partner_label = "Purchase order", "Supplier"
    elif order.state in {Order.State.DRAFT, Order.State.SENT, Order.State.CANCELLED}:
        title, partner_label = "Quotation", "Customer"
    else:
        title, partner_label = "Sales order", "Customer"
    facts = [("Number", order.number), ("Order date", _day(order.order_date))]
    if order.valid_until and title == "Quotation":
        facts.append(("Valid until", _day(order.valid_until)))
    if order.payment_term is not None:
        facts.append(("Payment terms", str(order.payment_term)))
    if order.reference:
        facts.append(("Your reference", order.reference))
    return {
        **_document_context(order, lines=lines, partner_lines=partner_lines, layout=layout),
        "title": title,
        "number": order.number,
        "partner_label": partner_label,
        "facts": facts,
        "stamp": "Cancelled" if order.state == Order.State.CANCELLED else "",
    }


def invoice_context(
    invoice: Invoice,
    *,
    lines: Sequence[InvoiceLine],
    partner_lines: list[str],
    layout: DocumentLayout,
) -> dict[str, Any]:
    """What ``sales/pdf/invoice.html`` shows."""
    currency = invoice.currency
    kind_title = INVOICE_TITLES.get(Invoice.Kind(invoice.kind), "Invoice")
    draft = invoice.state == Invoice.State.DRAFT
    vendor = invoice.kind in {Invoice.Kind.VENDOR_BILL, Invoice.Kind.VENDOR_REFUND}
    facts = [
        ("Number", invoice.number or "Not numbered until posted"),
        ("Invoice date", _day(invoice.invoice_date) or "Set when posted"),
    ]
    if invoice.due_date:
        facts.append(("Due date", _day(invoice.due_date)))
    if invoice.payment_term is not None:
        facts.append(("Payment terms", str(invoice.payment_term)))
    if invoice.reference:
        facts.append(("Reference", invoice.reference))
    if invoice.order_id and invoice.order:
        facts.append(("Order", invoice.order.number))
    if invoice.origin_id and invoice.origin:
        facts.append(("Corrects", str(invoice.origin)))
    residual = invoice.amount_total - invoice.amount_paid
    pay_note = ""
    if invoice.kind == Invoice.Kind.CUSTOMER_INVOICE and not draft and residual > 0:
        when = f" by {_day(invoice.due_date)}" if invoice.due_date else ""
        if invoice.state != Invoice.State.CANCELLED:
            pay_note = f"Please pay {money(residual, currency)}{when}, quoting {invoice.number}."
    stamp = ""
    if draft:
        stamp = "Draft"
    elif invoice.state == Invoice.State.CANCELLED:
        stamp = "Cancelled"
    elif invoice.state == Invoice.State.PAID:
        stamp = "Paid"
    return {
        **_document_context(invoice, lines=lines, partner_lines=partner_lines, layout=layout),
        "title": f"Draft {kind_title.lower()}" if draft else kind_title,
        "number": invoice.number,
        "draft": draft,
        "partner_label": "Vendor" if vendor else "Bill to",
        "facts": facts,
        "stamp": stamp,
        "paid": money(invoice.amount_paid, currency),
        "due": money(residual, currency),
        "pay_note": pay_note,
        "show_bank": invoice.kind == Invoice.Kind.CUSTOMER_INVOICE
        and bool(layout.bank_details.strip()),
    }


@dataclass(frozen=True)
class ShipmentPdfLine:
    code: str
    description: str
    ordered: str
    quantity: str
    left: str


def _still_to_ship(line: ShipmentLine, state: str) -> Decimal | None:
    """What is left on the line's order line once this shipment is through:
    a done shipment is already in ``quantity_delivered``; an open one is
    counted on top of it; a cancelled one does not count."""
    order_line = line.order_line
    if order_line is None:
        return None
    left = order_line.quantity - order_line.quantity_delivered
    if state in {Shipment.State.DRAFT, Shipment.State.READY}:
        left -= line.quantity
    return max(left, Decimal(0))


def shipment_context(
    shipment: Shipment,
    layout: DocumentLayout,
    *,
    lines: Sequence[ShipmentLine] | None = None,
    partner_lines: list[str] | None = None,
) -> dict[str, Any]:
    """What ``sales/pdf/shipment.html`` shows: a delivery note for a delivery,
    a goods received note for a receipt. *lines* (with their order lines and
    products) and *partner_lines* are loaded when not given."""
    if lines is None:
        lines = list(
            shipment.lines.select_related("order_line", "product").order_by("sequence", "id")
        )
    delivery = shipment.kind == Shipment.Kind.DELIVERY
    if partner_lines is None:
        # Goods go to the customer's delivery address; a supplier is named with
        # its main address.
        partner_lines = (
            partner_delivery_lines(shipment.partner)
            if delivery
            else _address_lines(shipment.partner, (Address.Kind.CONTACT,))
        )
    state = shipment.state
    order = shipment.order if shipment.order_id else None
    facts = [("Number", shipment.number)]
    if order is not None:
        facts.append(("Order", order.number))
        if order.reference:
            facts.append(("Your reference" if delivery else "Reference", order.reference))
    facts.append(("Promised date", _day(shipment.promised_date) or "Not set"))
    if shipment.actual_date:
        facts.append(("Delivered on" if delivery else "Received on", _day(shipment.actual_date)))
    elif state != Shipment.State.CANCELLED:
        facts.append(("Delivered on" if delivery else "Received on", "Not yet"))
    if shipment.carrier:
        facts.append(("Carrier", shipment.carrier))
    if shipment.tracking_reference:
        facts.append(("Tracking reference", shipment.tracking_reference))
    facts.append(("Status", shipment.get_state_display()))
    rows = []
    for line in lines:
        left = _still_to_ship(line, state)
        rows.append(
            ShipmentPdfLine(
                code=line.product.code if line.product_id and line.product else "",
                description=line.description,
                ordered=quantity_text(line.order_line.quantity) if line.order_line else "",
                quantity=quantity_text(line.quantity),
                left="" if left is None else quantity_text(left),
            )
        )
    stamp = ""
    state_note = ""
    if state == Shipment.State.DRAFT:
        stamp = "Draft"
        state_note = "Draft: not yet ready to ship" if delivery else "Draft: not yet received"
    elif state == Shipment.State.CANCELLED:
        stamp = "Cancelled"
        state_note = "Cancelled: these goods will not be shipped"
    return {
        **_layout_context(layout),
        "document": shipment,
        "shipment": shipment,
        "delivery": delivery,
        "title": "Delivery note" if delivery else "Goods received note",
        "number": shipment.number,
        "partner": shipment.partner,
        "partner_label": "Deliver to" if delivery else "Received from",
        "partner_lines": partner_lines,
        "facts": facts,
        "lines": rows,
        "left_label": "Still to deliver" if delivery else "Still to receive",
        "quantity_label": "This delivery" if delivery else "This receipt",
        "stamp": stamp,
        "state_note": state_note,
    }


def document_pdf(
    document: Order | Invoice | Shipment, *, layout: DocumentLayout | None = None
) -> bytes:
    """The PDF of a quotation, order, invoice, credit note, vendor bill, refund,
    delivery note or goods received note."""
    layout = layout if layout is not None else layout_get()
    if isinstance(document, Shipment):
        context = shipment_context(document, layout)
        return html_to_pdf(render_to_string("sales/pdf/shipment.html", context))
    partner_lines = partner_address_lines(document.partner)
    if isinstance(document, Invoice):
        invoice_lines = list(document.lines.select_related("product").order_by("sequence", "id"))
        context = invoice_context(
            document, lines=invoice_lines, partner_lines=partner_lines, layout=layout
        )
        template = "sales/pdf/invoice.html"
    else:
        order_lines = list(document.lines.select_related("product").order_by("sequence", "id"))
        context = order_context(
            document, lines=order_lines, partner_lines=partner_lines, layout=layout
        )
        template = "sales/pdf/order.html"
    return html_to_pdf(render_to_string(template, context))


def pdf_filename(document: Order | Invoice | Shipment) -> str:
    """``INV-2026-00042.pdf`` for INV/2026/00042 (``OUT-2026-00001.pdf`` for a
    delivery); drafts without a number get ``draft-invoice-<id>.pdf``."""
    if document.number:
        stem = _UNSAFE_FILENAME.sub("-", document.number).strip("-.")
    else:
        title = "document"
        if isinstance(document, Invoice):
            title = INVOICE_TITLES.get(Invoice.Kind(document.kind), "invoice")
        stem = _UNSAFE_FILENAME.sub("-", f"draft-{title}-{document.pk}".lower())
    return f"{stem or 'document'}.pdf"


# --------------------------------------------------------------------------
# The layout preview

SAMPLE_LINES = (
    ("Consulting, March", Decimal(12), Decimal(95), Decimal(0), Decimal(20)),
    ("Robot arm, model R1", Decimal(2), Decimal(1250), Decimal(5), Decimal(20)),
    ("Operator's manual (printed)", Decimal(2), Decimal("14.50"), Decimal(0), Decimal(5)),
)


def sample_pdf(*, layout: DocumentLayout) -> bytes:
    """A made-up invoice in the company currency, drawn with *layout*: what the
    layout page's preview shows. Nothing is saved."""
    currency = settings.COMPANY_CURRENCY
    today = timezone.localdate()
    partner = Partner(name="Example Customer Ltd")
    lines = []
    for sequence, (description, quantity, price, discount, rate) in enumerate(SAMPLE_LINES):
        subtotal, tax = line_amounts(
            quantity=quantity,
            unit_price=price,
            discount_percent=discount,
            tax_rate=rate,
            currency=currency,
        )
        lines.append(
            InvoiceLine(
                sequence=sequence,
                description=description,
                quantity=quantity,
                unit_price=price,
                discount_percent=discount,
                tax_rate=rate,
                subtotal=subtotal,
                tax_amount=tax,
            )
        )
    untaxed = sum((line.subtotal for line in lines), Decimal(0))
    tax = sum((line.tax_amount for line in lines), Decimal(0))
    invoice = Invoice(
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        state=Invoice.State.POSTED,
        number=f"INV/{today.year}/00042",
        partner=partner,
        currency=currency,
        invoice_date=today,
        due_date=today + datetime.timedelta(days=30),
        payment_term=PaymentTerm(name="30 days net", net_days=30),
        reference="PO 7781",
        amount_untaxed=untaxed,
        amount_tax=tax,
        amount_total=untaxed + tax,
        amount_paid=Decimal(0),
    )
    context = invoice_context(
        invoice,
        lines=lines,
        partner_lines=["4 Sample Road", "75001 Paris", "France"],
        layout=layout,
    )
    return html_to_pdf(render_to_string("sales/pdf/invoice.html", context))
