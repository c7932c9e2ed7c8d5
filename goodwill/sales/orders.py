"""Quotations, sales orders and purchase orders, and invoicing them.

A sales document starts as a quotation (draft), is sent, then confirmed as a
sales order, and is done once fully invoiced; it can be cancelled until then.
Purchase orders follow the same states. Orders are numbered when created
(``SO/2026/00042``, ``PO/2026/00007``); unlike invoices they may have gaps.

``order_invoice`` makes a draft invoice (or vendor bill) of what is not yet
invoiced, line by line, and links it to the order.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case as SqlCase
from django.db.models import DecimalField, F, Sum, When
from django.utils import timezone

from goodwill.lib import events
from goodwill.lib.money import CURRENCIES, money_format, money_round
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import timeline_add
from goodwill.sales.invoicing import (
    LineInput,
    invoice_create,
    next_document_number,
    partner_terms,
    price_lines,
)
from goodwill.sales.models import Invoice, Order, OrderLine, PaymentTerm, PriceList
from goodwill.sales.pricing import convert

if TYPE_CHECKING:
    from goodwill.accounts.models import User
    from goodwill.campaigns.models import Campaign
    from goodwill.cases.models import Case

PREFIXES = {Order.Kind.SALE: "SO", Order.Kind.PURCHASE: "PO"}
INVOICE_KIND = {
    Order.Kind.SALE: Invoice.Kind.CUSTOMER_INVOICE,
    Order.Kind.PURCHASE: Invoice.Kind.VENDOR_BILL,
}
PAST = {"send": "sent", "confirm": "confirmed", "done": "marked done", "cancel": "cancelled"}
# action: (from states, to state)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "send": ((Order.State.DRAFT,), Order.State.SENT),
    "confirm": ((Order.State.DRAFT, Order.State.SENT), Order.State.CONFIRMED),
    "done": ((Order.State.CONFIRMED,), Order.State.DONE),
    "cancel": ((Order.State.DRAFT, Order.State.SENT, Order.State.CONFIRMED), Order.State.CANCELLED),
}


def _note(order: Order, *, by: User | None, action: str, body: str) -> None:
    timeline_add(
        subject=order,
        partner=order.partner,
        kind=TimelineEntry.Kind.SYSTEM,
        author=by,
        action=action,
        body=body,
    )


def _store_lines(order: Order, lines: Sequence[LineInput]) -> None:
    priced = price_lines(
        lines,
        partner=order.partner,
        currency=order.currency,
        on=order.order_date,
        purchase=order.kind == Order.Kind.PURCHASE,
    )
    order.lines.all().delete()
    OrderLine.objects.bulk_create([OrderLine(order=order, **line.as_kwargs()) for line in priced])
    order.amount_untaxed = sum((line.subtotal for line in priced), Decimal(0))
    order.amount_tax = sum((line.tax_amount for line in priced), Decimal(0))
    order.amount_total = order.amount_untaxed + order.amount_tax


@transaction.atomic
def order_create(
    *,
    by: User | None,
    partner: Partner,
    lines: Sequence[LineInput] = (),
    kind: str = Order.Kind.SALE,
    currency: str = "",
    order_date: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    payment_term: PaymentTerm | None = None,
    price_list: PriceList | None = None,
    reference: str = "",
    notes: str = "",
    campaign: Campaign | None = None,
    cases: Sequence[Case] = (),
) -> Order:
    """A quotation (or purchase order) in draft, priced from the partner's terms.

    *campaign* is the campaign that brought it and *cases* the requests it answers."""
    if kind not in PREFIXES:
        raise ValidationError({"kind": f"Unknown kind of order {kind!r}."})
    terms = partner_terms(partner)
    if price_list is None and terms is not None:
        price_list = terms.supplier_price_list if kind == Order.Kind.PURCHASE else terms.price_list
    currency = (
        currency or (price_list.currency if price_list else "") or partner.currency
    ) or settings.COMPANY_CURRENCY
    if currency not in CURRENCIES:
        raise ValidationError({"currency": f"Unknown currency {currency!r}."})
    day = order_date or timezone.localdate()
    if valid_until is not None and valid_until < day:
        raise ValidationError({"valid_until": "A quotation cannot expire before its date."})
    order = Order.objects.create(
        kind=kind,
        number=next_document_number(PREFIXES[Order.Kind(kind)], day.year),
        partner=partner,
        currency=currency,
        order_date=day,
        valid_until=valid_until,
        payment_term=payment_term or (terms.payment_term if terms else None),
        price_list=price_list,
        reference=(reference or "").strip()[:100],
        notes=(notes or "").strip(),
        campaign=campaign,
        created_by=by,
    )
    _store_lines(order, lines)
    order.save()
    if cases:
        order.cases.add(*cases)
    _note(
        order,
        by=by,
        action="created",
        body=f"{order.get_kind_display()} {order.number}: "
        f"{money_format(order.amount_total, currency)}",
    )
    events.emit("order.created", order_id=order.pk, by_id=getattr(by, "pk", None))
    return order


def _label(name: str) -> str:
    return str(getattr(Order._meta.get_field(name), "verbose_name", name))


def order_update_lines(*, order: Order, by: User | None, lines: Sequence[LineInput]) -> Order:
    return order_update(order=order, by=by, lines=lines)


HEADER_FIELDS = (
    "partner",
    "currency",
    "order_date",
    "valid_until",
    "payment_term",
    "price_list",
    "reference",
    "notes",
    "campaign",
)


@transaction.atomic
def order_update(
    *,
    order: Order,
    by: User | None,
    values: Mapping[str, Any] | None = None,
    lines: Sequence[LineInput] | None = None,
) -> Order:
    """Change a draft or sent quotation's header (*values*) and/or replace its lines.

    Changing the partner, currency or price list does not reprice lines kept as
    they were; pass the lines again (without prices) to reprice them."""
    order = Order.objects.select_for_update(of=("self",)).select_related("partner").get(pk=order.pk)
    if order.state not in {Order.State.DRAFT, Order.State.SENT}:
        raise ValidationError(
            f"{order.number} is {order.get_state_display().lower()}; only a draft or sent "
            "quotation can change."
        )
    values = dict(values or {})
    unknown = set(values) - set(HEADER_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set: {', '.join(sorted(unknown))}.")
    before = {name: getattr(order, name) for name in values}
    for name, value in values.items():
        setattr(order, name, value)
    if order.currency not in CURRENCIES:
        raise ValidationError({"currency": f"Unknown currency {order.currency!r}."})
    if order.price_list is not None and order.price_list.currency != order.currency:
        raise ValidationError(
            {
                "price_list": f"{order.price_list} is in {order.price_list.currency}, "
                f"the order in {order.currency}."
            }
        )
    if order.valid_until is not None and order.valid_until < order.order_date:
        raise ValidationError({"valid_until": "A quotation cannot expire before its date."})
    if lines is not None:
        _store_lines(order, lines)
    order.updated_at = timezone.now()
    order.save()
    changed = [
        f"{_label(name)}: {before[name] or '—'} → {value or '—'}"
        for name, value in values.items()
        if before[name] != value
    ]
    if changed:
        _note(order, by=by, action="updated", body=f"{order.number}: " + "; ".join(changed))
    events.emit("order.updated", order_id=order.pk, by_id=getattr(by, "pk", None))
    return order


@dataclass(frozen=True)
class CreditCheck:
    """A customer's exposure against its credit limit, in the company currency:
    what its posted invoices leave open (less credit notes), what its confirmed
    orders will bill, and the order being confirmed."""

    limit: Decimal
    open_invoices: Decimal
    open_orders: Decimal
    this_order: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.open_invoices + self.open_orders + self.this_order

    @property
    def exceeded(self) -> bool:
        return self.exposure > self.limit

    def text(self) -> str:
        company = settings.COMPANY_CURRENCY
        return (
            f"Confirming it takes the customer to {money_format(self.exposure, company)} "
            f"against a credit limit of {money_format(self.limit, company)} "
            f"(open invoices {money_format(self.open_invoices, company)}, confirmed orders "
            f"{money_format(self.open_orders, company)}, this order "
            f"{money_format(self.this_order, company)})."
        )


def credit_check(order: Order, *, on: datetime.date | None = None) -> CreditCheck | None:
    """The credit check of a sales order's customer; None without a credit limit.

    Amounts in other currencies are converted at *on* (today); a missing rate
    is a ``ValidationError`` with the currency and the day."""
    if order.kind != Order.Kind.SALE:
        return None
    terms = partner_terms(order.partner)
    if terms is None or terms.credit_limit is None:
        return None
    day = on or timezone.localdate()
    company = settings.COMPANY_CURRENCY
    money = DecimalField(max_digits=20, decimal_places=4)
    residual = F("amount_total") - F("amount_paid")
    invoices = (
        Invoice.objects.filter(
            partner=order.partner_id,
            kind__in=(Invoice.Kind.CUSTOMER_INVOICE, Invoice.Kind.CUSTOMER_CREDIT),
            state__in=(Invoice.State.POSTED, Invoice.State.PARTIAL),
        )
        .values("currency")
        .annotate(
            open=Sum(
                SqlCase(
                    When(kind=Invoice.Kind.CUSTOMER_CREDIT, then=-residual),
                    default=residual,
                    output_field=money,
                )
            )
        )
        .order_by()
    )
    orders = (
        Order.objects.filter(
            partner=order.partner_id, kind=Order.Kind.SALE, state=Order.State.CONFIRMED
        )
        .exclude(pk=order.pk)
        .values("currency")
        .annotate(open=Sum("amount_total"))
        .order_by()
    )

    def total(rows: Any) -> Decimal:
        return sum(
            (
                money_round(
                    convert(
                        amount=row["open"],
                        from_currency=row["currency"],
                        to_currency=company,
                        on=day,
                    ),
                    company,
                )
                for row in rows
                if row["open"]
            ),
            Decimal(0),
        )

    return CreditCheck(
        limit=terms.credit_limit,
        open_invoices=total(invoices),
        open_orders=total(orders),
        this_order=total([{"currency": order.currency, "open": order.amount_total}]),
    )


@transaction.atomic
def order_set_state(
    *, order: Order, by: User | None, action: str, over_credit_limit: bool = False
) -> Order:
    """send, confirm, done or cancel; other moves are refused with a clear message.

    Confirming a sales order that takes its customer over the credit limit is
    refused (code ``credit_limit``) unless *over_credit_limit* says a manager
    accepts it; the order's timeline then records that it was confirmed over
    the limit."""
    if action not in TRANSITIONS:
        raise ValidationError(f"Unknown order action {action!r}.")
    order = Order.objects.select_for_update().get(pk=order.pk)
    allowed, target = TRANSITIONS[action]
    if order.state not in allowed:
        raise ValidationError(
            f"{order.number} is {order.get_state_display().lower()}; it cannot be "
            f"{PAST[action]} from there."
        )
    if action == "confirm" and not order.lines.exists():
        raise ValidationError("Add at least one line before confirming.")
    check = credit_check(order) if action == "confirm" else None
    if check is not None and check.exceeded:
        if not over_credit_limit:
            raise ValidationError(
                f"{order.number} is over {order.partner}'s credit limit. {check.text()}",
                code="credit_limit",
            )
        _note(order, by=by, action="over credit limit", body=check.text())
    if action == "cancel" and order.invoices.exclude(state=Invoice.State.CANCELLED).exists():
        raise ValidationError(f"{order.number} has invoices; credit them before cancelling.")
    old = order.get_state_display()
    order.state = target
    order.updated_at = timezone.now()
    if action == "confirm":
        order.confirmed_at = order.updated_at
    order.save()
    _note(order, by=by, action=action, body=f"{order.number}: {old} → {order.get_state_display()}")
    events.emit(
        "order.state_changed",
        order_id=order.pk,
        action=action,
        new=target,
        by_id=getattr(by, "pk", None),
    )
    return order


@transaction.atomic
def order_invoice(*, order: Order, by: User | None) -> Invoice:
    """A draft invoice (vendor bill for a purchase) of what is not yet invoiced."""
    order = Order.objects.select_for_update(of=("self",)).select_related("partner").get(pk=order.pk)
    if order.state != Order.State.CONFIRMED:
        raise ValidationError(f"Confirm {order.number} before invoicing it.")
    pending = [
        line
        for line in order.lines.select_related("product")
        if line.quantity_invoiced < line.quantity
    ]
    if not pending:
        raise ValidationError(f"Everything on {order.number} is invoiced already.")
    invoice = invoice_create(
        by=by,
        kind=INVOICE_KIND[Order.Kind(order.kind)],
        partner=order.partner,
        currency=order.currency,
        payment_term=order.payment_term,
        reference=order.number,
        order=order,
        campaign=order.campaign,
        cases=list(order.cases.all()),
        lines=[
            LineInput(
                description=line.description,
                product=line.product,
                quantity=line.quantity - line.quantity_invoiced,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
            )
            for line in pending
        ],
    )
    for line in pending:
        line.quantity_invoiced = line.quantity
    OrderLine.objects.bulk_update(pending, ["quantity_invoiced"])
    order.state = Order.State.DONE
    order.updated_at = timezone.now()
    order.save(update_fields=["state", "updated_at"])
    _note(order, by=by, action="invoiced", body=f"{order.number} invoiced: {invoice}")
    events.emit(
        "order.invoiced", order_id=order.pk, invoice_id=invoice.pk, by_id=getattr(by, "pk", None)
    )
    return invoice
