"""Payments, their allocation to invoices, and what partners owe.

A payment received from a customer settles customer invoices; a payment made
to a supplier settles vendor bills. It is allocated to one or more posted
invoices of the same partner and currency, partially or fully; without
explicit allocations it settles the oldest due invoices first. What is left
stays on the partner as credit (``Payment.amount_unallocated``).

``partner_balances`` reads the open balance and its aging (0–30, 31–60,
61–90 and 90+ days overdue) per currency, in one aggregate query.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from goodwill.lib import events
from goodwill.lib.money import CURRENCIES, money_format, money_round
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import timeline_add
from goodwill.sales.models import Invoice, Payment, PaymentAllocation

if TYPE_CHECKING:
    from goodwill.accounts.models import User

OPEN_STATES = (Invoice.State.POSTED, Invoice.State.PARTIAL)
SETTLES = {
    Payment.Direction.INBOUND: Invoice.Kind.CUSTOMER_INVOICE,
    Payment.Direction.OUTBOUND: Invoice.Kind.VENDOR_BILL,
}


@dataclass(frozen=True)
class Allocation:
    invoice: Invoice
    amount: Decimal


def _clean_amount(amount: Decimal, currency: str, what: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationError({what: "Enter an amount."})
    if amount <= 0:
        raise ValidationError({what: "The amount must be more than zero."})
    if money_round(amount, currency) != amount:
        raise ValidationError({what: f"{amount} has more decimals than {currency} allows."})
    return amount


@transaction.atomic
def payment_register(
    *,
    by: User | None,
    direction: str,
    partner: Partner,
    amount: Decimal,
    currency: str,
    payment_date: datetime.date,
    method: str = Payment.Method.BANK,
    reference: str = "",
    allocations: Sequence[Allocation] | None = None,
) -> Payment:
    """Record a payment and settle invoices with it (the oldest due first when
    *allocations* is None). Raises ``ValidationError`` without saving anything
    when an allocation does not fit."""
    if direction not in SETTLES:
        raise ValidationError({"direction": f"Unknown direction {direction!r}."})
    currency = (currency or "").upper()
    if currency not in CURRENCIES:
        raise ValidationError({"currency": f"Unknown currency {currency!r}."})
    if method not in Payment.Method.values:
        raise ValidationError({"method": f"Unknown payment method {method!r}."})
    amount = _clean_amount(amount, currency, "amount")
    kind = SETTLES[Payment.Direction(direction)]
    open_invoices = Invoice.objects.select_for_update(of=("self",)).filter(
        partner=partner, kind=kind, currency=currency, state__in=OPEN_STATES
    )
    if allocations is None:
        plan: list[tuple[Invoice, Decimal]] = []
        left = amount
        for invoice in open_invoices.order_by("due_date", "invoice_date", "id"):
            if left <= 0:
                break
            share = min(left, invoice.amount_total - invoice.amount_paid)
            if share > 0:
                plan.append((invoice, share))
                left -= share
    else:
        wanted = {a.invoice.pk for a in allocations}
        if len(wanted) != len(allocations):
            raise ValidationError({"allocations": "Allocate to each invoice once."})
        locked = {i.pk: i for i in open_invoices.filter(pk__in=wanted).order_by("pk")}
        plan = []
        for allocation in allocations:
            found = locked.get(allocation.invoice.pk)
            label = str(allocation.invoice)
            if found is None:
                raise ValidationError(
                    {
                        "allocations": f"{label} is not an open "
                        f"{Invoice.Kind(kind).label.lower()} of {partner} in {currency}."
                    }
                )
            share = _clean_amount(allocation.amount, currency, "allocations")
            residual = found.amount_total - found.amount_paid
            if share > residual:
                raise ValidationError(
                    {
                        "allocations": f"{label} has {money_format(residual, currency)} "
                        f"left to pay; {money_format(share, currency)} is too much."
                    }
                )
            plan.append((found, share))
        allocated = sum((share for _, share in plan), Decimal(0))
        if allocated > amount:
            raise ValidationError(
                {
                    "allocations": "The allocations add up to "
                    f"{money_format(allocated, currency)}, more than the payment "
                    f"({money_format(amount, currency)})."
                }
            )
    payment = Payment.objects.create(
        direction=direction,
        partner=partner,
        amount=amount,
        currency=currency,
        payment_date=payment_date,
        method=method,
        reference=(reference or "").strip()[:100],
        amount_allocated=sum((share for _, share in plan), Decimal(0)),
        created_by=by,
    )
    now = timezone.now()
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice=invoice, amount=share) for invoice, share in plan
    )
    for invoice, share in plan:
        invoice.amount_paid += share
        invoice.state = (
            Invoice.State.PAID
            if invoice.amount_paid >= invoice.amount_total
            else Invoice.State.PARTIAL
        )
        invoice.updated_at = now
    Invoice.objects.bulk_update(
        [invoice for invoice, _ in plan], ["amount_paid", "state", "updated_at"]
    )
    settled = ", ".join(
        f"{invoice.number} ({money_format(share, currency)})" for invoice, share in plan
    )
    timeline_add(
        subject=payment,
        partner=partner,
        kind=TimelineEntry.Kind.SYSTEM,
        author=by,
        action="payment",
        body=f"{payment.get_direction_display()} {money_format(amount, currency)}"
        + (f" for {settled}" if settled else "")
        + (
            f"; {money_format(payment.amount - payment.amount_allocated, currency)} left as credit"
            if payment.amount_allocated < amount
            else ""
        ),
    )
    events.emit(
        "payment.registered",
        payment_id=payment.pk,
        invoice_ids=[invoice.pk for invoice, _ in plan],
        by_id=getattr(by, "pk", None),
    )
    return payment


# --------------------------------------------------------------------------
# Balances


BUCKETS = ("not_due", "days_0_30", "days_31_60", "days_61_90", "days_90_plus")


@dataclass
class Balance:
    """What a partner owes us (receivable) or we owe them (payable), in one currency."""

    currency: str
    receivable: Decimal = Decimal(0)
    payable: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)  # unallocated payments received
    aging: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, Decimal(0)))

    @property
    def overdue(self) -> Decimal:
        return sum((self.aging[b] for b in BUCKETS[1:]), Decimal(0))

    @property
    def open_balance(self) -> Decimal:
        return self.receivable - self.credit


def aging_sums(
    *, on: datetime.date, amount: Any, where: Q | None = None, prefix: str = ""
) -> dict[str, Coalesce]:
    """Aggregates that spread *amount* over the aging BUCKETS by days past the
    due date on *on* (not yet due, 1–30, 31–60, 61–90, over 90), counting only
    the rows *where* matches; the keys are *prefix* + the bucket name. Shared by
    ``partner_balances`` and the statements of account."""
    money = DecimalField(max_digits=18, decimal_places=4)
    zero = Value(Decimal(0), output_field=money)
    base = where if where is not None else Q()

    def within(window: Q) -> Coalesce:
        return Coalesce(
            Sum(Case(When(base & window, then=amount), default=zero, output_field=money)), zero
        )

    def overdue_between(low: int, high: int | None) -> Coalesce:
        window = Q(due_date__lt=on - datetime.timedelta(days=low))
        if high is not None:
            window &= Q(due_date__gte=on - datetime.timedelta(days=high))
        return within(window)

    return {
        f"{prefix}not_due": within(Q(due_date__gte=on)),
        f"{prefix}days_0_30": overdue_between(0, 30),
        f"{prefix}days_31_60": overdue_between(30, 60),
        f"{prefix}days_61_90": overdue_between(60, 90),
        f"{prefix}days_90_plus": overdue_between(90, None),
    }


def partner_balances(*, partner: Partner, on: datetime.date | None = None) -> list[Balance]:
    """The partner's open balance per currency, with the receivable's aging by
    days past the due date on *on* (today by default): one query for the
    invoices and one for the unallocated payments."""
    today = on or timezone.localdate()
    money = DecimalField(max_digits=18, decimal_places=4)
    residual = F("amount_total") - F("amount_paid")
    zero = Value(Decimal(0), output_field=money)
    signed = Case(
        When(kind=Invoice.Kind.CUSTOMER_CREDIT, then=-residual),
        When(kind=Invoice.Kind.VENDOR_REFUND, then=-residual),
        default=residual,
        output_field=money,
    )
    receivable_kinds = [Invoice.Kind.CUSTOMER_INVOICE, Invoice.Kind.CUSTOMER_CREDIT]

    rows = (
        Invoice.objects.filter(partner=partner, state__in=OPEN_STATES)
        .values("currency")
        .annotate(
            receivable=Coalesce(
                Sum(Case(When(kind__in=receivable_kinds, then=signed), default=zero)), zero
            ),
            payable=Coalesce(
                Sum(Case(When(~Q(kind__in=receivable_kinds), then=signed), default=zero)), zero
            ),
            **aging_sums(on=today, amount=signed, where=Q(kind__in=receivable_kinds)),
        )
        .order_by("currency")
    )
    balances: dict[str, Balance] = {}
    for row in rows:
        values: dict[str, Decimal] = dict(row)  # type: ignore[arg-type]
        balances[row["currency"]] = Balance(
            currency=row["currency"],
            receivable=values["receivable"],
            payable=values["payable"],
            aging={bucket: values[bucket] for bucket in BUCKETS},
        )
    credits = (
        Payment.objects.filter(partner=partner, direction=Payment.Direction.INBOUND)
        .filter(amount__gt=F("amount_allocated"))
        .values("currency")
        .annotate(credit=Sum(F("amount") - F("amount_allocated")))
    )
    for credit in credits:
        balance = balances.setdefault(credit["currency"], Balance(currency=credit["currency"]))
        balance.credit = credit["credit"]
    return [balances[currency] for currency in sorted(balances)]
