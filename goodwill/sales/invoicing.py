"""Invoices, credit notes, vendor bills and refunds: drafting, totals, posting
with gapless numbers, and corrections.

- Lines are priced by ``pricing.price_for`` unless a price is given; the tax
  rate defaults to the product's. Each line's subtotal and tax are rounded to
  the invoice currency (``money_round``), and the totals are their sums, so the
  document always adds up as printed.
- Posting gives the number (``INV/2026/00042``; see ``PREFIXES``) from a
  ``DocumentSequence`` row locked for the posting's transaction: concurrent
  postings wait for each other, and a rolled-back posting gives its number
  back, so posted documents have no gaps. It also sets the date and the due
  date (from the payment terms), and freezes the document.
- Posted documents never change; a mistake is corrected with a credit note
  (or a vendor refund) made by ``invoice_refund``.

Each service runs in one transaction, writes the partner's timeline and emits
an event after commit (``invoice.created``, ``invoice.updated``,
``invoice.posted``, ``invoice.cancelled``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from goodwill.lib import events
from goodwill.lib.money import CURRENCIES, money_format, money_round
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import timeline_add
from goodwill.sales.models import (
    CreditAllocation,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Order,
    PartnerTerms,
    PaymentTerm,
    Product,
    WorkRecord,
)
from goodwill.sales.pricing import price_for

if TYPE_CHECKING:
    from goodwill.accounts.models import User
    from goodwill.campaigns.models import Campaign
    from goodwill.cases.models import Case

PREFIXES = {
    Invoice.Kind.CUSTOMER_INVOICE: "INV",
    Invoice.Kind.CUSTOMER_CREDIT: "RINV",
    Invoice.Kind.VENDOR_BILL: "BILL",
    Invoice.Kind.VENDOR_REFUND: "RBILL",
}
REFUND_KIND = {
    Invoice.Kind.CUSTOMER_INVOICE: Invoice.Kind.CUSTOMER_CREDIT,
    Invoice.Kind.VENDOR_BILL: Invoice.Kind.VENDOR_REFUND,
}
MAX_LINES = 1000
HEADER_FIELDS = (
    "partner",
    "currency",
    "invoice_date",
    "payment_term",
    "reference",
    "notes",
    "campaign",
)


@dataclass(frozen=True)
class LineInput:
    """One line to put on a draft. Without ``unit_price`` the price comes from
    the partner's price list on the invoice date; without ``tax_rate`` it is
    the product's."""

    description: str = ""
    product: Product | None = None
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    discount_percent: Decimal = Decimal(0)
    tax_rate: Decimal | None = None


def line_amounts(
    *,
    quantity: Decimal,
    unit_price: Decimal,
    discount_percent: Decimal,
    tax_rate: Decimal,
    currency: str,
) -> tuple[Decimal, Decimal]:
    """(subtotal, tax) of one line, each rounded to the currency."""
    gross = quantity * unit_price * (Decimal(100) - discount_percent) / Decimal(100)
    subtotal = money_round(gross, currency)
    return subtotal, money_round(subtotal * tax_rate / Decimal(100), currency)


def due_date_for(term: PaymentTerm | None, invoice_date: datetime.date) -> datetime.date:
    """When the last part is due: ``net_days`` after the invoice date (the
    upfront share, if any, is due on the invoice date itself)."""
    if term is None:
        return invoice_date
    return invoice_date + datetime.timedelta(days=term.net_days)


def partner_terms(partner: Partner) -> PartnerTerms | None:
    return PartnerTerms.objects.filter(partner=partner).select_related("payment_term").first()


def _check_draft(invoice: Invoice) -> None:
    if invoice.state != Invoice.State.DRAFT:
        raise ValidationError(
            f"{invoice} is {invoice.get_state_display().lower()}: posted documents do not "
            "change; correct them with a credit note."
        )


@dataclass(frozen=True)
class PricedLine:
    """A line checked, priced and totalled: the fields of an invoice or order line."""

    sequence: int
    product: Product | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_rate: Decimal
    subtotal: Decimal
    tax_amount: Decimal

    def as_kwargs(self) -> dict[str, Any]:
        """The values as keyword arguments for a line model (no deep copies)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def price_lines(
    lines: Sequence[LineInput],
    *,
    partner: Partner,
    currency: str,
    on: datetime.date,
    purchase: bool = False,
) -> list[PricedLine]:
    """Check and price *lines* for a document of *partner* in *currency*.

    A line without a price takes the partner's price list (for purchases, its
    supplier price list, else the product's cost); the tax rate defaults to
    the product's. Errors name the line: "Line 2: …".
    """
    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": f"A document can have at most {MAX_LINES} lines."})
    terms = partner_terms(partner) if purchase else None
    built: list[PricedLine] = []
    for index, line in enumerate(lines, start=1):
        where = f"Line {index}"
        if not isinstance(line.quantity, Decimal) or line.quantity <= 0:
            raise ValidationError({"lines": f"{where}: the quantity must be more than zero."})
        if not Decimal(0) <= line.discount_percent <= Decimal(100):
            raise ValidationError({"lines": f"{where}: the discount goes from 0 to 100 %."})
        description = (line.description or "").strip() or (
            line.product.name if line.product else ""
        )
        if not description:
            raise ValidationError({"lines": f"{where}: describe the line or pick a product."})
        unit_price = line.unit_price
        if unit_price is None:
            if line.product is None:
                raise ValidationError({"lines": f"{where}: give a price or pick a product."})
            if purchase and (terms is None or terms.supplier_price_list is None):
                quote_price, quote_currency = line.product.cost, settings.COMPANY_CURRENCY
            else:
                quote = price_for(
                    product=line.product,
                    quantity=line.quantity,
                    on=on,
                    partner=None if purchase else partner,
                    price_list=terms.supplier_price_list if purchase and terms else None,
                )
                quote_price, quote_currency = quote.unit_price, quote.currency
            if quote_currency != currency:
                raise ValidationError(
                    {
                        "lines": f"{where}: the price is in {quote_currency}, "
                        f"the document in {currency}; give the price."
                    }
                )
            unit_price = quote_price
        if unit_price < 0:
            raise ValidationError(
                {"lines": f"{where}: a price cannot be negative; use a credit note."}
            )
        tax_rate = line.tax_rate
        if tax_rate is None:
            tax_rate = line.product.tax_rate if line.product else Decimal(0)
        if not Decimal(0) <= tax_rate <= Decimal(100):
            raise ValidationError({"lines": f"{where}: the tax rate goes from 0 to 100 %."})
        subtotal, tax = line_amounts(
            quantity=line.quantity,
            unit_price=unit_price,
            discount_percent=line.discount_percent,
            tax_rate=tax_rate,
            currency=currency,
        )
        built.append(
            PricedLine(
                sequence=index * 10,
                product=line.product,
                description=description[:500],
                quantity=line.quantity,
                unit_price=unit_price,
                discount_percent=line.discount_percent,
                tax_rate=tax_rate,
                subtotal=subtotal,
                tax_amount=tax,
            )
        )
    return built


def _clean_lines(
    lines: Sequence[LineInput], *, partner: Partner, currency: str, on: datetime.date, kind: str
) -> list[InvoiceLine]:
    purchase = kind in {Invoice.Kind.VENDOR_BILL, Invoice.Kind.VENDOR_REFUND}
    priced = price_lines(lines, partner=partner, currency=currency, on=on, purchase=purchase)
    return [InvoiceLine(**line.as_kwargs()) for line in priced]


def _store_lines(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    invoice.lines.all().delete()
    for line in lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(lines)
    untaxed = sum((line.subtotal for line in lines), Decimal(0))
    tax = sum((line.tax_amount for line in lines), Decimal(0))
    invoice.amount_untaxed = untaxed
    invoice.amount_tax = tax
    invoice.amount_total = untaxed + tax


def _note(invoice: Invoice, *, by: User | None, action: str, body: str) -> None:
    timeline_add(
        subject=invoice,
        partner=invoice.partner,
        kind=TimelineEntry.Kind.SYSTEM,
        author=by,
        action=action,
        body=body,
    )


@transaction.atomic
def invoice_create(
    *,
    by: User | None,
    kind: str,
    partner: Partner,
    lines: Sequence[LineInput] = (),
    currency: str = "",
    invoice_date: datetime.date | None = None,
    payment_term: PaymentTerm | None = None,
    reference: str = "",
    notes: str = "",
    order: Order | None = None,
    campaign: Campaign | None = None,
    cases: Sequence[Case] = (),
) -> Invoice:
    """A draft in the partner's currency (else the company's), with the
    partner's payment terms unless others are given; *order* is the order it
    bills, *campaign* the campaign that brought it and *cases* the requests it bills."""
    if kind not in PREFIXES:
        raise ValidationError({"kind": f"Unknown kind of invoice {kind!r}."})
    currency = (currency or partner.currency or settings.COMPANY_CURRENCY).upper()
    if currency not in CURRENCIES:
        raise ValidationError({"currency": f"Unknown currency {currency!r}."})
    terms = partner_terms(partner)
    invoice = Invoice(
        kind=kind,
        partner=partner,
        currency=currency,
        invoice_date=invoice_date,
        payment_term=payment_term or (terms.payment_term if terms else None),
        reference=(reference or "").strip()[:100],
        notes=(notes or "").strip(),
        order=order,
        campaign=campaign,
        created_by=by,
    )
    invoice.save()
    if cases:
        invoice.cases.add(*cases)
    on = invoice_date or timezone.localdate()
    _store_lines(invoice, _clean_lines(lines, partner=partner, currency=currency, on=on, kind=kind))
    invoice.save()
    _note(
        invoice,
        by=by,
        action="created",
        body=f"Draft {invoice.get_kind_display().lower()}: "
        f"{money_format(invoice.amount_total, currency)}",
    )
    events.emit(
        "invoice.created",
        invoice_id=invoice.pk,
        order_id=invoice.order_id,
        by_id=getattr(by, "pk", None),
    )
    return invoice


@transaction.atomic
def invoice_update(
    *,
    invoice: Invoice,
    by: User | None,
    values: Mapping[str, Any] | None = None,
    lines: Sequence[LineInput] | None = None,
) -> Invoice:
    """Change a draft's header (*values*) and/or replace its lines."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",)).select_related("partner").get(pk=invoice.pk)
    )
    _check_draft(invoice)
    values = dict(values or {})
    unknown = set(values) - set(HEADER_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set: {', '.join(sorted(unknown))}.")
    for name, value in values.items():
        setattr(invoice, name, value)
    if invoice.currency not in CURRENCIES:
        raise ValidationError({"currency": f"Unknown currency {invoice.currency!r}."})
    if lines is not None:
        on = invoice.invoice_date or timezone.localdate()
        _store_lines(
            invoice,
            _clean_lines(
                lines,
                partner=invoice.partner,
                currency=invoice.currency,
                on=on,
                kind=invoice.kind,
            ),
        )
    invoice.updated_at = timezone.now()
    invoice.save()
    events.emit("invoice.updated", invoice_id=invoice.pk, by_id=getattr(by, "pk", None))
    return invoice


def next_document_number(prefix: str, year: int) -> str:
    sequence, _ = DocumentSequence.objects.select_for_update().get_or_create(
        prefix=prefix, year=year
    )
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}/{year}/{sequence.last:05d}"


@transaction.atomic
def invoice_post(*, invoice: Invoice, by: User | None, on: datetime.date | None = None) -> Invoice:
    """Number, date and freeze a draft."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("partner", "payment_term")
        .get(pk=invoice.pk)
    )
    _check_draft(invoice)
    if not invoice.lines.exists():
        raise ValidationError("Add at least one line before posting.")
    invoice_date = on or invoice.invoice_date or timezone.localdate()
    invoice.invoice_date = invoice_date
    invoice.due_date = due_date_for(invoice.payment_term, invoice_date)
    invoice.number = next_document_number(PREFIXES[Invoice.Kind(invoice.kind)], invoice_date.year)
    invoice.state = Invoice.State.POSTED
    invoice.posted_at = invoice.updated_at = timezone.now()
    invoice.save()
    _note(
        invoice,
        by=by,
        action="posted",
        body=f"{invoice.get_kind_display()} {invoice.number} posted: "
        f"{money_format(invoice.amount_total, invoice.currency)}, due {invoice.due_date}",
    )
    events.emit("invoice.posted", invoice_id=invoice.pk, by_id=getattr(by, "pk", None))
    # A credit note for an invoice still open settles it at once, as far as it goes.
    if invoice.is_refund and invoice.origin_id is not None:
        origin = Invoice.objects.filter(pk=invoice.origin_id, state__in=OPEN_STATES).first()
        if origin is not None:
            credit_note_apply(credit_note=invoice, invoice=origin, by=by)
            invoice.refresh_from_db()
    return invoice


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, by: User | None) -> Invoice:
    """Cancel a draft. A posted document is corrected with a credit note instead."""
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    _check_draft(invoice)
    invoice.state = Invoice.State.CANCELLED
    invoice.updated_at = timezone.now()
    invoice.save(update_fields=["state", "updated_at"])
    # What the draft billed from cases can be billed again.
    WorkRecord.objects.filter(invoice=invoice).update(invoice=None)
    _note(invoice, by=by, action="cancelled", body=f"{invoice} cancelled")
    events.emit("invoice.cancelled", invoice_id=invoice.pk, by_id=getattr(by, "pk", None))
    return invoice


@transaction.atomic
def invoice_refund(*, invoice: Invoice, by: User | None) -> Invoice:
    """A draft credit note (or vendor refund) for a posted invoice, with its lines."""
    if invoice.state not in {Invoice.State.POSTED, Invoice.State.PARTIAL, Invoice.State.PAID}:
        raise ValidationError("Only a posted invoice or bill can be credited.")
    if invoice.kind not in REFUND_KIND:
        raise ValidationError("A credit note cannot itself be credited; post a new invoice.")
    lines = [
        LineInput(
            description=line.description,
            product=line.product,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
        )
        for line in invoice.lines.select_related("product")
    ]
    refund = invoice_create(
        by=by,
        kind=REFUND_KIND[Invoice.Kind(invoice.kind)],
        partner=invoice.partner,
        lines=lines,
        currency=invoice.currency,
        payment_term=invoice.payment_term,
        reference=invoice.number,
        campaign=invoice.campaign,
        cases=list(invoice.cases.all()),
    )
    refund.origin = invoice
    refund.save(update_fields=["origin"])
    return refund


# --------------------------------------------------------------------------
# Setting credit notes off against invoices

OPEN_STATES = (Invoice.State.POSTED, Invoice.State.PARTIAL)
CREDITED_KIND = {refund: kind for kind, refund in REFUND_KIND.items()}


def _settle(document: Invoice, amount: Decimal) -> None:
    document.amount_paid += amount
    document.state = (
        Invoice.State.PAID
        if document.amount_paid >= document.amount_total
        else Invoice.State.PARTIAL
    )
    document.updated_at = timezone.now()
    document.save(update_fields=["amount_paid", "state", "updated_at"])


@transaction.atomic
def credit_note_apply(
    *, credit_note: Invoice, invoice: Invoice, by: User | None, amount: Decimal | None = None
) -> CreditAllocation:
    """Set (part of) a posted credit note off against a posted invoice of the
    same partner and currency (a vendor refund against a vendor bill). Without
    *amount*, as much as both have open. Both documents count it as paid."""
    locked = {
        doc.pk: doc
        for doc in Invoice.objects.select_for_update()
        .filter(pk__in=[credit_note.pk, invoice.pk])
        .order_by("pk")
    }
    credit_note, invoice = locked[credit_note.pk], locked[invoice.pk]
    if credit_note.kind not in CREDITED_KIND:
        raise ValidationError(f"{credit_note} is not a credit note or a vendor refund.")
    if invoice.kind != CREDITED_KIND[Invoice.Kind(credit_note.kind)]:
        raise ValidationError(
            f"A {credit_note.get_kind_display().lower()} settles a "
            f"{Invoice.Kind(CREDITED_KIND[Invoice.Kind(credit_note.kind)]).label.lower()}, "
            f"not a {invoice.get_kind_display().lower()}."
        )
    if credit_note.partner_id != invoice.partner_id:
        raise ValidationError("The credit note and the invoice belong to different partners.")
    if credit_note.currency != invoice.currency:
        raise ValidationError(
            f"{credit_note} is in {credit_note.currency} and {invoice} in {invoice.currency}."
        )
    for document in (credit_note, invoice):
        if document.state not in OPEN_STATES:
            raise ValidationError(
                f"{document} is {document.get_state_display().lower()}; "
                "only posted documents with something open can be set off."
            )
    room = min(
        credit_note.amount_total - credit_note.amount_paid,
        invoice.amount_total - invoice.amount_paid,
    )
    if amount is None:
        amount = room
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": "The amount must be more than zero."})
    if money_round(amount, invoice.currency) != amount:
        raise ValidationError({"amount": f"Too many decimals for {invoice.currency}: {amount}."})
    if amount > room:
        raise ValidationError(
            {"amount": f"At most {money_format(room, invoice.currency)} can be set off here."}
        )
    allocation = CreditAllocation.objects.create(
        credit_note=credit_note, invoice=invoice, amount=amount, created_by=by
    )
    _settle(credit_note, amount)
    _settle(invoice, amount)
    _note(
        invoice,
        by=by,
        action="credited",
        body=f"{credit_note} set off against {invoice}: {money_format(amount, invoice.currency)}",
    )
    events.emit(
        "invoice.credited",
        credit_note_id=credit_note.pk,
        invoice_id=invoice.pk,
        by_id=getattr(by, "pk", None),
    )
    return allocation


def credit_targets(credit_note: Invoice) -> list[Invoice]:
    """The open documents a posted credit note could settle, oldest due first."""
    if credit_note.kind not in CREDITED_KIND or credit_note.state not in OPEN_STATES:
        return []
    return list(
        Invoice.objects.filter(
            partner_id=credit_note.partner_id,
            currency=credit_note.currency,
            kind=CREDITED_KIND[Invoice.Kind(credit_note.kind)],
            state__in=OPEN_STATES,
        ).order_by("due_date", "id")[:50]
    )
