"""Statements of account: what a partner was billed and paid over a period.

``partner_statement`` reads, per side and currency, the opening balance on the
first day, every movement of the period in date order with a running balance,
the closing balance on the last day, and the aging of what was still open that
day. The customer side (receivable) holds customer invoices, credit notes and
payments received; the supplier side (payable) vendor bills, vendor refunds and
payments made. Company statements include the subsidiaries by default.

Balances read from the partner's account in our books: on the receivable side
an invoice is a debit and a credit note or a payment a credit, and the balance
is what the partner owes us; on the payable side a bill is a credit and a
refund or a payment a debit, and the balance is what we owe the partner. A
payment counts in full on its date; whatever part of it settled no invoice is
shown as unallocated credit next to the aging, so that the aging total minus
that credit is the closing balance.

The statement runs a fixed handful of queries however many documents the
partner has: two sums for the opening balances, one read each for the
invoices and the payments of the period, one for allocations made by payments
dated after the period (usually none), one grouped aging query and one sum of
unallocated payments.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from goodwill.lib.money import CURRENCIES
from goodwill.partners.models import Partner
from goodwill.sales.models import Invoice, Payment, PaymentAllocation
from goodwill.sales.payments import BUCKETS, OPEN_STATES, aging_sums
from goodwill.sales.selectors import partner_family

RECEIVABLE = "receivable"
PAYABLE = "payable"
SIDES = (RECEIVABLE, PAYABLE)
SIDE_TITLES = {RECEIVABLE: "Customer account (receivable)", PAYABLE: "Supplier account (payable)"}
BILLED = (Invoice.State.POSTED, Invoice.State.PARTIAL, Invoice.State.PAID)
# Which side a document or payment belongs to, and whether it raises the balance.
KIND_SIDE: dict[str, tuple[str, int]] = {
    Invoice.Kind.CUSTOMER_INVOICE: (RECEIVABLE, 1),
    Invoice.Kind.CUSTOMER_CREDIT: (RECEIVABLE, -1),
    Invoice.Kind.VENDOR_BILL: (PAYABLE, 1),
    Invoice.Kind.VENDOR_REFUND: (PAYABLE, -1),
}
DIRECTION_SIDE: dict[str, str] = {
    Payment.Direction.INBOUND: RECEIVABLE,
    Payment.Direction.OUTBOUND: PAYABLE,
}
PAYMENT_LABELS: dict[str, str] = {
    Payment.Direction.INBOUND: "Payment received",
    Payment.Direction.OUTBOUND: "Payment made",
}
KIND_LABELS: dict[str, str] = dict(Invoice.Kind.choices)
MONEY = DecimalField(max_digits=20, decimal_places=4)
ZERO = Decimal(0)


@dataclass(slots=True)
class StatementLine:
    """One movement: a posted document or a payment."""

    date: datetime.date
    kind: str  # an Invoice.Kind, or "payment"
    label: str
    number: str
    partner_id: int
    partner_name: str
    due_date: datetime.date | None
    debit: Decimal
    credit: Decimal
    balance: Decimal
    open_amount: Decimal | None = None  # what was left to pay on the last day (documents)
    overdue: bool = False
    invoice_id: int | None = None
    payment_id: int | None = None


@dataclass
class StatementSection:
    """One side of the account in one currency."""

    side: str
    currency: str
    opening: Decimal = ZERO
    lines: list[StatementLine] = field(default_factory=list)
    closing: Decimal = ZERO
    aging: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    unallocated: Decimal = ZERO  # payments not (yet) set against a document

    @property
    def title(self) -> str:
        return SIDE_TITLES[self.side]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def open_items(self) -> Decimal:
        return sum(self.aging.values(), ZERO)

    @property
    def overdue(self) -> Decimal:
        return sum((self.aging[b] for b in BUCKETS[1:]), ZERO)

    def is_empty(self) -> bool:
        return not (self.opening or self.lines or self.open_items or self.unallocated)


@dataclass
class Statement:
    partner: Partner
    date_from: datetime.date
    date_to: datetime.date
    currency: str | None
    include_children: bool
    partner_ids: list[int]
    sections: list[StatementSection]

    def section(self, side: str, currency: str) -> StatementSection | None:
        return next((s for s in self.sections if s.side == side and s.currency == currency), None)


def _sign(side: str, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(debit, credit) of a signed movement: + raises the balance of *side*."""
    raises = amount > 0
    value = abs(amount)
    if side == RECEIVABLE:
        return (value, ZERO) if raises else (ZERO, value)
    return (ZERO, value) if raises else (value, ZERO)


def partner_statement(
    *,
    partner: Partner,
    date_from: datetime.date,
    date_to: datetime.date,
    currency: str | None = None,
    include_children: bool = True,
) -> Statement:
    """The statement of account of *partner* (and of its subsidiaries when
    *include_children*) from *date_from* to *date_to*, both included, in every
    currency or in *currency* only. Raises ``ValidationError`` on a bad period
    or an unknown currency."""
    if date_from > date_to:
        raise ValidationError({"date_from": "The period must start before it ends."})
    if currency:
        currency = currency.upper()
        if currency not in CURRENCIES:
            raise ValidationError({"currency": f"Unknown currency {currency!r}."})
    else:
        currency = None
    family = partner_family(partner) if include_children else [partner.pk]
    invoices = Invoice.objects.filter(partner_id__in=family, state__in=BILLED)
    payments = Payment.objects.filter(partner_id__in=family)
    if currency:
        invoices = invoices.filter(currency=currency)
        payments = payments.filter(currency=currency)
    sections: dict[tuple[str, str], StatementSection] = {}

    def section(side: str, code: str) -> StatementSection:
        key = (side, code)
        if key not in sections:
            sections[key] = StatementSection(side=side, currency=code)
        return sections[key]

    # Opening balances: everything dated before the period.
    for row in (
        invoices.filter(invoice_date__lt=date_from)
        .values("currency", "kind")
        .annotate(total=Sum("amount_total"))
        .order_by()
    ):
        side, sign = KIND_SIDE[Invoice.Kind(row["kind"])]
        section(side, row["currency"]).opening += sign * row["total"]
    for before in (
        payments.filter(payment_date__lt=date_from)
        .values("currency", "direction")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        side = DIRECTION_SIDE[Payment.Direction(before["direction"])]
        section(side, before["currency"]).opening -= before["total"]

    # What payments dated after the period settled: still open on its last day.
    late_allocations = PaymentAllocation.objects.filter(
        payment__partner_id__in=family, payment__payment_date__gt=date_to
    )
    late: dict[int, Decimal] = dict(
        late_allocations.values("invoice_id")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("invoice_id", "total")
    )

    # The movements of the period, documents before payments on the same day.
    movements: list[tuple[Any, ...]] = []
    for (
        pk,
        kind,
        number,
        day,
        due,
        code,
        total,
        paid,
        owner_id,
        owner_name,
    ) in (
        invoices.filter(invoice_date__gte=date_from, invoice_date__lte=date_to)
        .order_by("invoice_date", "id")
        .values_list(
            "id",
            "kind",
            "number",
            "invoice_date",
            "due_date",
            "currency",
            "amount_total",
            "amount_paid",
            "partner_id",
            "partner__name",
        )
    ):
        side, sign = KIND_SIDE[kind]
        left = total - paid + late.get(pk, ZERO)
        movements.append(
            (
                day,
                0,
                pk,
                side,
                code,
                sign * total,
                {
                    "kind": kind,
                    "label": KIND_LABELS[kind],
                    "number": number,
                    "partner_id": owner_id,
                    "partner_name": owner_name,
                    "due_date": due,
                    "open_amount": left,
                    "overdue": sign > 0 and left > 0 and due is not None and due < date_to,
                    "invoice_id": pk,
                },
            )
        )
    for pk, direction, day, code, amount, reference, owner_id, owner_name in (
        payments.filter(payment_date__gte=date_from, payment_date__lte=date_to)
        .order_by("payment_date", "id")
        .values_list(
            "id",
            "direction",
            "payment_date",
            "currency",
            "amount",
            "reference",
            "partner_id",
            "partner__name",
        )
    ):
        movements.append(
            (
                day,
                1,
                pk,
                DIRECTION_SIDE[direction],
                code,
                -amount,
                {
                    "kind": "payment",
                    "label": PAYMENT_LABELS[direction],
                    "number": reference,
                    "partner_id": owner_id,
                    "partner_name": owner_name,
                    "due_date": None,
                    "payment_id": pk,
                },
            )
        )
    movements.sort(key=lambda m: (m[0], m[1], m[2]))
    running: dict[tuple[str, str], Decimal] = {}
    for day, _, _, side, code, amount, extra in movements:
        target = section(side, code)
        balance = running.get((side, code), target.opening) + amount
        running[(side, code)] = balance
        debit, credit = _sign(side, amount)
        target.lines.append(
            StatementLine(date=day, debit=debit, credit=credit, balance=balance, **extra)
        )

    # The aging of what was open on the last day.
    residual = F("amount_total") - F("amount_paid")
    candidates = invoices.filter(invoice_date__lte=date_to)
    if late:
        settled_later = (
            late_allocations.filter(invoice_id=OuterRef("pk"))
            .values("invoice_id")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        residual = residual + Coalesce(
            Subquery(settled_later, output_field=MONEY), Value(ZERO, output_field=MONEY)
        )
        candidates = candidates.filter(
            Q(state__in=OPEN_STATES) | Q(pk__in=late_allocations.values("invoice_id"))
        )
    else:
        candidates = candidates.filter(state__in=OPEN_STATES)
    signed = _signed(residual)
    annotations: dict[str, Any] = {}
    for side in SIDES:
        kinds = [kind for kind, (s, _) in KIND_SIDE.items() if s == side]
        annotations |= aging_sums(
            on=date_to, amount=signed, where=Q(kind__in=kinds), prefix=f"{side}_"
        )
    aging_rows: Any = candidates.values("currency").annotate(**annotations).order_by()
    for aged in aging_rows:
        for side in SIDES:
            aging = {bucket: aged[f"{side}_{bucket}"] for bucket in BUCKETS}
            if any(aging.values()) or (side, aged["currency"]) in sections:
                section(side, aged["currency"]).aging = aging

    # Payments of the period or before that settled nothing (yet).
    for spare in (
        payments.filter(payment_date__lte=date_to, amount__gt=F("amount_allocated"))
        .values("currency", "direction")
        .annotate(left=Sum(F("amount") - F("amount_allocated")))
        .order_by()
    ):
        side = DIRECTION_SIDE[Payment.Direction(spare["direction"])]
        section(side, spare["currency"]).unallocated = spare["left"]

    result = []
    for side in SIDES:
        for code in sorted(c for s, c in sections if s == side):
            found = sections[(side, code)]
            found.closing = running.get((side, code), found.opening)
            if not found.is_empty():
                result.append(found)
    return Statement(
        partner=partner,
        date_from=date_from,
        date_to=date_to,
        currency=currency,
        include_children=include_children,
        partner_ids=family,
        sections=result,
    )


def _signed(residual: Any) -> Any:
    """+ for invoices and bills, − for credit notes and refunds."""
    return Case(
        When(kind__in=[Invoice.Kind.CUSTOMER_CREDIT, Invoice.Kind.VENDOR_REFUND], then=-residual),
        default=residual,
        output_field=MONEY,
    )
