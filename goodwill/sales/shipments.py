"""Deliveries to customers and receipts from suppliers, and on-time delivery.

A shipment is made from a confirmed order (a delivery for a sales order, a
receipt for a purchase order) with a line per order line for what is still
to deliver or receive; service products are not shipped. It is numbered when
created (``OUT/2026/00001``, ``IN/2026/00001``) with the gap-free document
sequence, and goes draft → ready → done, or is cancelled before it is done.

Marking a shipment done locks its order lines, checks that nothing goes past
what was ordered, and adds the shipped quantities to each line's
``quantity_delivered``, all in one transaction. Once every line of the order
is delivered, the order's timeline says so.

On-time delivery, a supplier-quality figure, compares the promised date of a
done receipt with its actual date: ``on_time_rate`` for one supplier and
``on_time_by_supplier`` for all of them, as one grouped query.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from goodwill.lib import events
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import timeline_add
from goodwill.sales.invoicing import next_document_number
from goodwill.sales.models import Invoice, Order, OrderLine, Product, Shipment, ShipmentLine

if TYPE_CHECKING:
    from goodwill.accounts.models import User

PREFIXES = {Shipment.Kind.DELIVERY: "OUT", Shipment.Kind.RECEIPT: "IN"}
KIND_FOR_ORDER = {
    Order.Kind.SALE: Shipment.Kind.DELIVERY,
    Order.Kind.PURCHASE: Shipment.Kind.RECEIPT,
}
# A done order is fully invoiced; its goods may still be on their way.
SHIPPABLE_ORDER_STATES = (Order.State.CONFIRMED, Order.State.DONE)
OPEN_STATES = (Shipment.State.DRAFT, Shipment.State.READY)
EDITABLE_STATES = OPEN_STATES
HEADER_FIELDS = ("promised_date", "carrier", "tracking_reference", "notes")
MAX_QUANTITY = Decimal("99999999999999.9999")
PAST = {"ready": "marked ready", "done": "marked done", "cancel": "cancelled"}
# action: (from states, to state)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ready": ((Shipment.State.DRAFT,), Shipment.State.READY),
    "done": ((Shipment.State.DRAFT, Shipment.State.READY), Shipment.State.DONE),
    "cancel": ((Shipment.State.DRAFT, Shipment.State.READY), Shipment.State.CANCELLED),
}
MONEY = DecimalField(max_digits=20, decimal_places=4)
ZERO = Value(Decimal(0), output_field=MONEY)


def _note(subject: Shipment | Order, *, by: User | None, action: str, body: str) -> None:
    timeline_add(
        subject=subject,
        partner=subject.partner,
        kind=TimelineEntry.Kind.SYSTEM,
        author=by,
        action=action,
        body=body,
    )


def _shippable_lines(order: Order) -> QuerySet[OrderLine]:
    """The order's lines that carry goods (lines of service products are not shipped)."""
    return order.lines.exclude(product__kind=Product.Kind.SERVICE)


def _planned_elsewhere(line_ids: list[int], *, exclude: int | None = None) -> dict[int, Decimal]:
    """Per order line, the quantity already on open (draft or ready) shipments."""
    rows = ShipmentLine.objects.filter(order_line_id__in=line_ids, shipment__state__in=OPEN_STATES)
    if exclude is not None:
        rows = rows.exclude(shipment_id=exclude)
    return {
        row["order_line_id"]: row["planned"]
        for row in rows.values("order_line_id").annotate(planned=Sum("quantity")).order_by()
    }


def quantity_text(value: Decimal) -> str:
    """A quantity as a person would type it: ``2.5`` for 2.5000, ``3`` for 3.0000."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------
# Services


@transaction.atomic
def shipment_create_from_order(
    *, order: Order, by: User | None, promised_date: datetime.date | None = None
) -> Shipment:
    """A draft delivery (sales order) or receipt (purchase order) of what is
    left to ship: each line's ordered quantity less what was delivered and what
    other open shipments already plan."""
    order = Order.objects.select_for_update(of=("self",)).select_related("partner").get(pk=order.pk)
    kind = KIND_FOR_ORDER[Order.Kind(order.kind)]
    verb = "deliver" if kind == Shipment.Kind.DELIVERY else "receive"
    if order.state not in SHIPPABLE_ORDER_STATES:
        raise ValidationError(
            f"{order.number} is {order.get_state_display().lower()}; confirm it before "
            f"you {verb} it."
        )
    if promised_date is not None and not isinstance(promised_date, datetime.date):
        raise ValidationError({"promised_date": "Enter the promised date as a date."})
    lines = list(_shippable_lines(order).select_related("product").order_by("sequence", "id"))
    planned = _planned_elsewhere([line.pk for line in lines])
    left = [
        (line, line.quantity - line.quantity_delivered - planned.get(line.pk, Decimal(0)))
        for line in lines
    ]
    left = [(line, quantity) for line, quantity in left if quantity > 0]
    if not left:
        if planned:
            raise ValidationError(
                f"Everything left on {order.number} is already on an open shipment."
            )
        raise ValidationError(f"Nothing is left to {verb} on {order.number}.")
    today = timezone.localdate()
    shipment = Shipment.objects.create(
        kind=kind,
        number=next_document_number(PREFIXES[kind], today.year),
        partner=order.partner,
        order=order,
        promised_date=promised_date,
        created_by=by,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(
            shipment=shipment,
            sequence=index * 10,
            order_line=line,
            product=line.product,
            description=line.description,
            quantity=quantity,
        )
        for index, (line, quantity) in enumerate(left, start=1)
    )
    _note(
        shipment,
        by=by,
        action="created",
        body=f"{shipment.get_kind_display()} {shipment.number} drafted from {order.number}",
    )
    events.emit(
        "shipment.created",
        shipment_id=shipment.pk,
        order_id=order.pk,
        by_id=getattr(by, "pk", None),
    )
    return shipment


def _clean_quantity(value: Any, where: str) -> Decimal:
    if isinstance(value, bool | float):
        raise ValidationError(f"{where}: enter a quantity.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(f"{where}: enter a quantity.") from None
    if not number.is_finite():
        raise ValidationError(f"{where}: enter a quantity.")
    if number < 0:
        raise ValidationError(f"{where}: the quantity cannot be negative.")
    if number > MAX_QUANTITY:
        raise ValidationError(f"{where}: the quantity is too large.")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValidationError(f"{where}: use at most 4 decimals.")
    return number


@transaction.atomic
def shipment_update(
    *,
    shipment: Shipment,
    by: User | None,
    values: Mapping[str, Any] | None = None,
    quantities: Mapping[int, Any] | None = None,
) -> Shipment:
    """Change a draft or ready shipment: its header (*values*: promised date,
    carrier, tracking reference, notes) and its lines' quantities (*quantities*:
    shipment line id → quantity). A quantity is 0 or more and at most what is
    left on its order line; errors are keyed ``quantity_<line id>``."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.state not in EDITABLE_STATES:
        raise ValidationError(
            f"{shipment.number} is {shipment.get_state_display().lower()}; only a draft or "
            "ready shipment can change."
        )
    values = dict(values or {})
    unknown = set(values) - set(HEADER_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set: {', '.join(sorted(unknown))}.")
    errors: dict[str, list[str]] = {}
    if "promised_date" in values:
        day = values["promised_date"]
        if day is not None and (
            not isinstance(day, datetime.date) or isinstance(day, datetime.datetime)
        ):
            errors.setdefault("promised_date", []).append("Enter the promised date as a date.")
    for name, limit in (("carrier", 100), ("tracking_reference", 100)):
        if name in values:
            values[name] = " ".join(str(values[name] or "").split())
            if len(values[name]) > limit:
                errors.setdefault(name, []).append(f"Keep it to {limit} characters.")
    if "notes" in values:
        values["notes"] = str(values["notes"] or "").strip()

    lines = {line.pk: line for line in shipment.lines.select_related("order_line")}
    wanted: dict[int, Decimal] = {}
    for pk, raw in (quantities or {}).items():
        line = lines.get(pk)
        if line is None:
            raise ValidationError(f"Line {pk} is not on {shipment.number}.")
        key = f"quantity_{pk}"
        try:
            wanted[pk] = _clean_quantity(raw, line.description)
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
    order_line_ids = [line.order_line_id for line in lines.values() if line.order_line_id]
    planned = _planned_elsewhere(order_line_ids, exclude=shipment.pk)
    for pk, quantity in wanted.items():
        order_line = lines[pk].order_line
        if order_line is None:
            continue
        left = (
            order_line.quantity
            - order_line.quantity_delivered
            - planned.get(order_line.pk, Decimal(0))
        )
        if quantity > left:
            errors.setdefault(f"quantity_{pk}", []).append(
                f"{lines[pk].description}: only {quantity_text(max(left, Decimal(0)))} "
                f"left to ship; {quantity_text(quantity)} is too much."
            )
    if errors:
        raise ValidationError(errors)
    what = [
        f"{getattr(Shipment._meta.get_field(name), 'verbose_name', name)}: "
        f"{getattr(shipment, name) or '—'} → {value or '—'}"
        for name, value in values.items()
        if getattr(shipment, name) != value
    ]
    for name, value in values.items():
        setattr(shipment, name, value)
    changed = []
    for pk, quantity in wanted.items():
        if lines[pk].quantity != quantity:
            what.append(
                f"{lines[pk].description}: {quantity_text(lines[pk].quantity)} → "
                f"{quantity_text(quantity)}"
            )
            lines[pk].quantity = quantity
            changed.append(lines[pk])
    ShipmentLine.objects.bulk_update(changed, ["quantity"])
    shipment.updated_at = timezone.now()
    shipment.save()
    if what:
        _note(shipment, by=by, action="updated", body=f"{shipment.number}: " + "; ".join(what))
    events.emit("shipment.updated", shipment_id=shipment.pk, by_id=getattr(by, "pk", None))
    return shipment


@transaction.atomic
def shipment_set_state(
    *,
    shipment: Shipment,
    by: User | None,
    action: str,
    actual_date: datetime.date | None = None,
) -> Shipment:
    """ready, done or cancel. Done sets the actual date (today unless given)
    and adds the quantities to the order lines; a done shipment cannot be
    cancelled."""
    if action not in TRANSITIONS:
        raise ValidationError(f"Unknown shipment action {action!r}.")
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("partner", "order")
        .get(pk=shipment.pk)
    )
    allowed, target = TRANSITIONS[action]
    if shipment.state not in allowed:
        if action == "cancel" and shipment.state == Shipment.State.DONE:
            raise ValidationError(
                f"{shipment.number} is done: its goods have moved and the order counts them, "
                "so it cannot be cancelled."
            )
        raise ValidationError(
            f"{shipment.number} is {shipment.get_state_display().lower()}; it cannot be "
            f"{PAST[action]} from there."
        )
    old = shipment.get_state_display()
    today = timezone.localdate()
    if action == "done":
        if actual_date is not None and (
            not isinstance(actual_date, datetime.date) or isinstance(actual_date, datetime.datetime)
        ):
            raise ValidationError({"actual_date": "Enter the actual date as a date."})
        if actual_date is not None and actual_date > today:
            raise ValidationError({"actual_date": "The actual date cannot be in the future."})
        _apply_quantities(shipment)
        shipment.actual_date = actual_date or today
    shipment.state = target
    shipment.updated_at = timezone.now()
    shipment.save()
    body = (
        f"{shipment.get_kind_display()} {shipment.number}: {old} → {shipment.get_state_display()}"
    )
    if action == "done":
        late = shipment.on_time is False
        body = (
            f"{shipment.get_kind_display()} {shipment.number} done on {shipment.actual_date}"
            + (f", promised for {shipment.promised_date}" if shipment.promised_date else "")
            + (" (late)" if late else "")
        )
    _note(shipment, by=by, action=action, body=body)
    if action == "done" and shipment.order is not None:
        _note_if_complete(shipment.order, shipment=shipment, by=by)
    events.emit(
        "shipment.state_changed",
        shipment_id=shipment.pk,
        action=action,
        new=target,
        by_id=getattr(by, "pk", None),
    )
    return shipment


def _apply_quantities(shipment: Shipment) -> None:
    lines = list(shipment.lines.all())
    if not any(line.quantity > 0 for line in lines):
        raise ValidationError(f"Nothing to ship on {shipment.number}: every quantity is zero.")
    ids = [line.order_line_id for line in lines if line.order_line_id and line.quantity > 0]
    locked = {
        line.pk: line
        for line in OrderLine.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    for line in lines:
        order_line = locked.get(line.order_line_id or 0)
        if order_line is None:
            continue
        left = order_line.quantity - order_line.quantity_delivered
        if line.quantity > left:
            raise ValidationError(
                f"{line.description}: only {quantity_text(max(left, Decimal(0)))} left to "
                f"ship on the order; {quantity_text(line.quantity)} is too much."
            )
        order_line.quantity_delivered += line.quantity
    OrderLine.objects.bulk_update(list(locked.values()), ["quantity_delivered"])


def _note_if_complete(order: Order, *, shipment: Shipment, by: User | None) -> None:
    pending = _shippable_lines(order).filter(quantity_delivered__lt=F("quantity")).exists()
    if pending:
        return
    done = "delivered" if shipment.kind == Shipment.Kind.DELIVERY else "received"
    _note(
        order,
        by=by,
        action=f"fully_{done}",
        body=f"{order.number} fully {done} ({shipment.number} was the last)",
    )
    events.emit(
        "order.fully_shipped",
        order_id=order.pk,
        shipment_id=shipment.pk,
        by_id=getattr(by, "pk", None),
    )


# --------------------------------------------------------------------------
# Selectors


def shipment_queryset() -> QuerySet[Shipment]:
    return Shipment.objects.select_related("partner", "order")


def late_q(today: datetime.date) -> Q:
    """Shipments done after their promised date, or still open past it."""
    return Q(state=Shipment.State.DONE, actual_date__gt=F("promised_date")) | Q(
        state__in=OPEN_STATES, promised_date__lt=today
    )


def shipment_list_queryset(
    filters: Mapping[str, str], *, today: datetime.date
) -> QuerySet[Shipment]:
    """Shipments matching the list filters: ``kind``, ``state``, ``partner`` (an
    id), ``late`` and ``q`` (number, partner name or order number)."""
    shipments = shipment_queryset()
    if filters.get("kind"):
        shipments = shipments.filter(kind=filters["kind"])
    if filters.get("state"):
        shipments = shipments.filter(state=filters["state"])
    if filters.get("partner"):
        shipments = shipments.filter(partner_id=int(filters["partner"]))
    if filters.get("late"):
        shipments = shipments.filter(late_q(today))
    q = filters.get("q")
    if q:
        shipments = shipments.filter(
            Q(number__icontains=q) | Q(partner__name__icontains=q) | Q(order__number__icontains=q)
        )
    return shipments


def order_left_to_ship(order: Order) -> bool:
    """Whether *order* still has goods that no shipment delivers or plans."""
    lines = list(_shippable_lines(order).values("pk", "quantity", "quantity_delivered"))
    planned = _planned_elsewhere([line["pk"] for line in lines])
    return any(
        line["quantity"] - line["quantity_delivered"] - planned.get(line["pk"], Decimal(0)) > 0
        for line in lines
    )


@dataclass(frozen=True)
class OnTime:
    """On-time delivery of a supplier's done receipts that had a promised date."""

    partner_id: int
    receipts: int = 0
    on_time: int = 0
    late: int = 0
    days_late: int = 0  # summed over the late receipts

    @property
    def rate(self) -> Decimal | None:
        """The share on time, in percent (None without receipts to judge)."""
        if not self.receipts:
            return None
        return (Decimal(self.on_time) * 100 / self.receipts).quantize(Decimal("0.1"))

    @property
    def average_days_late(self) -> Decimal | None:
        """How late the late receipts were, on average, in days."""
        if not self.late:
            return None
        return (Decimal(self.days_late) / self.late).quantize(Decimal("0.1"))

    @classmethod
    def from_row(cls, partner_id: int, row: Mapping[str, Any]) -> OnTime:
        delay = row.get("delay") or datetime.timedelta(0)
        return cls(
            partner_id=partner_id,
            receipts=row["receipts"] or 0,
            on_time=row["on_time"] or 0,
            late=row["late"] or 0,
            days_late=delay.days,
        )


def _judged_receipts(since: datetime.date | None) -> QuerySet[Shipment]:
    receipts = Shipment.objects.filter(
        kind=Shipment.Kind.RECEIPT,
        state=Shipment.State.DONE,
        promised_date__isnull=False,
        actual_date__isnull=False,
    )
    return receipts.filter(actual_date__gte=since) if since is not None else receipts


def _on_time_figures() -> dict[str, Any]:
    late = Q(actual_date__gt=F("promised_date"))
    delay = ExpressionWrapper(F("actual_date") - F("promised_date"), output_field=DurationField())
    return {
        "receipts": Count("id"),
        "on_time": Count("id", filter=~late),
        "late": Count("id", filter=late),
        "delay": Sum(delay, filter=late),
    }


def on_time_rate(partner: Partner, since: datetime.date | None = None) -> OnTime:
    """On-time delivery of one supplier (receipts done on or after *since*), in one query."""
    row = _judged_receipts(since).filter(partner=partner).aggregate(**_on_time_figures())
    return OnTime.from_row(partner.pk, row)


def on_time_by_supplier(since: datetime.date | None = None) -> dict[int, OnTime]:
    """On-time delivery of every supplier with judged receipts, by partner id,
    from ONE grouped query (supplier-quality reports build on it)."""
    rows = (
        _judged_receipts(since)
        .values("partner_id")
        .annotate(**_on_time_figures())
        .order_by("partner_id")
    )
    return {row["partner_id"]: OnTime.from_row(row["partner_id"], row) for row in rows}


@dataclass
class PurchaseFigures:
    """What we buy from a supplier, in one currency (untaxed, except the payable)."""

    currency: str
    orders: int = 0
    ordered: Decimal = Decimal(0)
    billed: Decimal = Decimal(0)  # vendor bills less vendor refunds
    payable: Decimal = Decimal(0)  # what we still owe, tax included


@dataclass
class SupplierFigures:
    on_time: OnTime
    late_receipts: list[Shipment] = field(default_factory=list)
    purchases: list[PurchaseFigures] = field(default_factory=list)


BILLED = (Invoice.State.POSTED, Invoice.State.PARTIAL, Invoice.State.PAID)
OPEN_BILLS = (Invoice.State.POSTED, Invoice.State.PARTIAL)
PURCHASE_KINDS = (Invoice.Kind.VENDOR_BILL, Invoice.Kind.VENDOR_REFUND)


def supplier_figures(
    *, partner: Partner, today: datetime.date | None = None, latest: int = 5
) -> SupplierFigures:
    """The supplier's view for its partner page, in four queries however much
    it sold us: on-time delivery, the latest late receipts, and per currency the
    confirmed purchase orders, the vendor bills net of refunds and the open payable."""
    today = today or timezone.localdate()
    figures = SupplierFigures(on_time=on_time_rate(partner))
    figures.late_receipts = list(
        Shipment.objects.filter(partner=partner, kind=Shipment.Kind.RECEIPT)
        .filter(late_q(today))
        .select_related("order")
        .order_by("-promised_date", "-id")[:latest]
    )
    by_currency: dict[str, PurchaseFigures] = {}
    orders = (
        Order.objects.filter(
            partner=partner,
            kind=Order.Kind.PURCHASE,
            state__in=(Order.State.CONFIRMED, Order.State.DONE),
        )
        .values("currency")
        .annotate(count=Count("id"), ordered=Coalesce(Sum("amount_untaxed"), ZERO))
        .order_by()
    )
    for row in orders:
        found = by_currency.setdefault(row["currency"], PurchaseFigures(row["currency"]))
        found.orders, found.ordered = row["count"], row["ordered"]
    refund = Q(kind=Invoice.Kind.VENDOR_REFUND)
    bills = (
        Invoice.objects.filter(partner=partner, kind__in=PURCHASE_KINDS, state__in=BILLED)
        .values("currency")
        .annotate(
            billed=Coalesce(
                Sum(
                    Case(
                        When(refund, then=-F("amount_untaxed")),
                        default=F("amount_untaxed"),
                        output_field=MONEY,
                    )
                ),
                ZERO,
            ),
            payable=Coalesce(
                Sum(
                    Case(
                        When(refund, then=F("amount_paid") - F("amount_total")),
                        default=F("amount_total") - F("amount_paid"),
                        output_field=MONEY,
                    ),
                    filter=Q(state__in=OPEN_BILLS),
                ),
                ZERO,
            ),
        )
        .order_by()
    )
    for bill in bills:
        found = by_currency.setdefault(bill["currency"], PurchaseFigures(bill["currency"]))
        found.billed, found.payable = bill["billed"], bill["payable"]
    figures.purchases = [by_currency[c] for c in sorted(by_currency)]
    return figures
