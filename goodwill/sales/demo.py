"""Demo data for sales and purchases, saved through the services.

Products and services, two price lists, payment terms and exchange rates;
commercial terms for a dozen customers; fourteen months of quotations,
orders, invoices, a credit note and payments (some paid late, some still
overdue) so that the partner pages, balances and statements have something to
show; purchase orders and vendor bills for three suppliers; and time and
products recorded on the demo's service requests, part of it invoiced, part
of it waiting for "Invoice closed requests".

Deterministic: the same seed gives the same documents.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from goodwill.campaigns.models import Campaign
from goodwill.campaigns.services import campaign_save
from goodwill.cases.models import Case, CaseState
from goodwill.lib.money import money_round
from goodwill.partners.models import Partner
from goodwill.sales import casework, invoicing, orders, payments, services, shipments
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import Invoice, Order, Payment, Product, Shipment, WorkRecord
from goodwill.sales.pricing import convert

if TYPE_CHECKING:
    from goodwill.accounts.models import User

D = Decimal

# code, name, kind, unit, category path, list price, cost, tax rate
PRODUCTS = [
    ("SUP-H", "Support hour", "service", "hour", "Services", "80", "35", "20"),
    ("VISIT", "On-site visit", "service", "unit", "Services", "150", "60", "20"),
    ("TRAIN-D", "Training day", "service", "day", "Services", "950", "400", "20"),
    ("R-200", "Robot arm R-200", "product", "unit", "Hardware / Robots", "12000", "7800", "20"),
    ("R-80", "Robot arm R-80", "product", "unit", "Hardware / Robots", "6900", "4300", "20"),
    ("GRIP-K", "Gripper kit", "product", "unit", "Hardware / Spare parts", "450", "210", "20"),
    ("CBL-S", "Sensor cable", "product", "unit", "Hardware / Spare parts", "12.50", "4", "20"),
    ("SERVO", "Servo motor", "product", "unit", "Hardware / Spare parts", "380", "190", "20"),
]


# Units of each currency per euro (the demo's company currency), from a year back.
RATES = [
    ("USD", "1.0850"),
    ("GBP", "0.8570"),
    ("CHF", "0.9440"),
    ("BRL", "5.9500"),
    ("JPY", "162.50"),
    ("PLN", "4.3000"),
    ("SEK", "11.250"),
    ("DKK", "7.4600"),
    ("CNY", "7.8500"),
    ("INR", "90.200"),
]


# What a customer orders at once.
QUANTITIES = {
    "VISIT": (1, 2, 3),
    "TRAIN-D": (1, 2, 5),
    "R-200": (1, 1, 2),
    "R-80": (1, 2, 3),
    "GRIP-K": (2, 4, 10),
    "CBL-S": (10, 25, 50),
    "SERVO": (2, 5, 10),
}


def demo_sales_present() -> bool:
    return Product.objects.exists()


def _categories(by: User) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted({p[4] for p in PRODUCTS}):
        parent = None
        parts = [part.strip() for part in path.split("/")]
        for depth in range(len(parts)):
            key = " / ".join(parts[: depth + 1])
            if key not in found:
                found[key] = services.product_category_save(
                    by=by, values={"name": parts[depth], "parent": parent}
                )
            parent = found[key]
    return found


def _master_data(by: User, today: datetime.date) -> dict[str, object]:
    categories = _categories(by)
    products = {
        code: services.product_save(
            by=by,
            values={
                "code": code,
                "name": name,
                "kind": kind,
                "unit": unit,
                "category": categories[path],
                "list_price": D(price),
                "cost": D(cost),
                "tax_rate": D(tax),
            },
        )
        for code, name, kind, unit, path, price, cost, tax in PRODUCTS
    }
    net30 = services.payment_term_save(by=by, values={"name": "Net 30", "net_days": 30})
    split = services.payment_term_save(
        by=by,
        values={"name": "30 % now, rest in 60 days", "upfront_percent": D(30), "net_days": 60},
    )
    start = today.replace(month=1, day=1) - datetime.timedelta(days=366)
    for currency, rate in RATES:
        services.exchange_rate_save(
            by=by, values={"currency": currency, "valid_from": start, "rate": D(rate)}
        )
    retail = services.price_list_save(
        by=by, values={"name": "Retail EUR", "currency": "EUR", "description": "Our list prices."}
    )
    version = services.price_list_version_save(
        by=by, price_list=retail, values={"name": "Current", "valid_from": start}
    )
    services.price_rule_save(
        by=by,
        version=version,
        values={
            "product": products["SUP-H"],
            "min_quantity": D(10),
            "base": "fixed",
            "fixed_price": D(72),
        },
    )
    services.price_rule_save(
        by=by,
        version=version,
        values={
            "category": categories["Hardware / Spare parts"],
            "min_quantity": D(20),
            "base": "list",
            "discount_percent": D(8),
        },
    )
    services.price_rule_save(by=by, version=version, values={"base": "list"})
    export = services.price_list_save(
        by=by,
        values={
            "name": "Export USD",
            "currency": "USD",
            "description": "List prices converted to dollars, 5 % off.",
        },
    )
    export_version = services.price_list_version_save(
        by=by, price_list=export, values={"name": "Current", "valid_from": start}
    )
    services.price_rule_save(
        by=by, version=export_version, values={"base": "list", "discount_percent": D(5)}
    )
    return {"products": products, "net30": net30, "split": split, "retail": retail}


def _campaigns(by: User, today: datetime.date) -> list[Campaign]:
    fair = campaign_save(
        by=by,
        values={
            "name": "Automation fair",
            "code": "automation-fair",
            "channel": Campaign.Channel.EVENT,
            "start_date": today - datetime.timedelta(days=300),
            "end_date": today - datetime.timedelta(days=240),
            "budget": D(18000),
            "actual_cost": D(16450),
            "description": "Our stand at the regional automation fair, with live demos.",
        },
    )
    newsletter = campaign_save(
        by=by,
        values={
            "name": "Spare parts newsletter",
            "code": "parts-newsletter",
            "channel": Campaign.Channel.EMAIL,
            "start_date": today - datetime.timedelta(days=120),
            "budget": D(2500),
            "actual_cost": D(900),
        },
    )
    return [fair, newsletter]


def _invoice_order(
    order: Order, *, by: User, on: datetime.date, rng: random.Random, today: datetime.date
) -> Invoice:
    orders.order_set_state(order=order, by=by, action="confirm")
    invoice = orders.order_invoice(order=order, by=by)
    invoice = invoicing.invoice_post(invoice=invoice, by=by, on=on)
    # Old invoices are paid (a few late or partly); recent ones are still open.
    age = (today - on).days
    if age > 75 or (age > 35 and rng.random() < 0.6):
        share = D(1) if rng.random() < 0.85 else D("0.5")
        amount = (invoice.amount_total * share).quantize(D("0.01"))
        paid_on = min(today, on + datetime.timedelta(days=rng.randint(10, 45)))
        payments.payment_register(
            by=by,
            direction=Payment.Direction.INBOUND,
            partner=invoice.partner,
            amount=amount,
            currency=invoice.currency,
            payment_date=paid_on,
            reference=f"Transfer {invoice.number}",
            allocations=[payments.Allocation(invoice=invoice, amount=amount)],
        )
    return invoice


def _customers(by: User, master: dict[str, object], rng: random.Random) -> list[Partner]:
    customers = list(
        Partner.objects.filter(
            is_customer=True, kind=Partner.Kind.COMPANY, merged_into__isnull=True, active=True
        ).order_by("id")[:12]
    )
    for index, customer in enumerate(customers):
        services.partner_terms_save(
            by=by,
            partner=customer,
            values={
                "price_list": master["retail"] if customer.currency in ("", "EUR") else None,
                "payment_term": master["split"] if index % 4 == 3 else master["net30"],
                "credit_limit": D(rng.choice((200000, 300000, 500000))),
                "external_id": f"ERP-C{1000 + index}",
            },
        )
    return customers


def _sales_history(
    by: User,
    customers: list[Partner],
    products: dict[str, Product],
    rng: random.Random,
    today: datetime.date,
    campaigns: list[Campaign],
) -> None:
    catalogue = [p for code, p in products.items() if code != "SUP-H"]
    for index, customer in enumerate(customers):
        for _ in range(1 + index % 4):
            day = today - datetime.timedelta(days=rng.randint(5, 420))
            picks = rng.sample(catalogue, rng.randint(1, 3))
            currency = "EUR" if customer.currency in ("", "EUR") else customer.currency
            lines = [
                LineInput(
                    product=p,
                    quantity=D(rng.choice(QUANTITIES[p.code])),
                    unit_price=None
                    if currency == "EUR"
                    else money_round(
                        convert(
                            amount=p.list_price, from_currency="EUR", to_currency=currency, on=day
                        ),
                        currency,
                    ),
                )
                for p in picks
            ]
            order = orders.order_create(
                by=by,
                partner=customer,
                lines=lines,
                order_date=day,
                currency=currency,
                campaign=campaigns[index % 3] if index % 3 < len(campaigns) else None,
            )
            if day > today - datetime.timedelta(days=12):
                orders.order_set_state(order=order, by=by, action="send")
                continue  # a quotation still waiting for an answer
            on = min(today, day + datetime.timedelta(days=rng.randint(2, 10)))
            _invoice_order(order, by=by, on=on, rng=rng, today=today)
            _ship(order, by=by, promised=day + datetime.timedelta(days=7), late=index % 5 == 4)


def _credit_note(by: User) -> None:
    """A customer sent goods back: the credit note settles the unpaid invoice."""
    invoice = (
        Invoice.objects.filter(kind=Invoice.Kind.CUSTOMER_INVOICE, state=Invoice.State.POSTED)
        .order_by("invoice_date", "id")
        .first()
    )
    if invoice is None or invoice.invoice_date is None:
        return
    refund = invoicing.invoice_refund(invoice=invoice, by=by)
    on = min(timezone.localdate(), invoice.invoice_date + datetime.timedelta(days=5))
    invoicing.invoice_post(invoice=refund, by=by, on=on)


def _ship(order: Order, *, by: User, promised: datetime.date, late: bool) -> Shipment | None:
    """Deliver (or receive) what the order holds: on the promised day, or four days late."""
    if not shipments.order_left_to_ship(order):
        return None
    shipment = shipments.shipment_create_from_order(order=order, by=by, promised_date=promised)
    done = promised + datetime.timedelta(days=4 if late else 0)
    return shipments.shipment_set_state(
        shipment=shipment, by=by, action="done", actual_date=min(done, timezone.localdate())
    )


def _over_credit_limit(by: User, customer: Partner, products: dict[str, Product]) -> None:
    """A customer with a tight credit limit and a quotation that would pass it:
    its page warns, and only a manager can confirm it."""
    services.partner_terms_save(by=by, partner=customer, values={"credit_limit": D(5000)})
    quotation = orders.order_create(
        by=by,
        partner=customer,
        lines=[LineInput(product=products["R-80"], quantity=D(1))],
        reference="Second line, Hall B",
    )
    orders.order_set_state(order=quotation, by=by, action="send")


def _purchases(
    by: User, products: dict[str, Product], rng: random.Random, today: datetime.date
) -> None:
    suppliers = Partner.objects.filter(
        is_supplier=True, kind=Partner.Kind.COMPANY, merged_into__isnull=True
    ).order_by("id")[:3]
    parts = [products["GRIP-K"], products["CBL-S"], products["SERVO"]]
    for position, supplier in enumerate(suppliers):
        day = today - datetime.timedelta(days=rng.randint(20, 200))
        order = orders.order_create(
            by=by,
            partner=supplier,
            kind=Order.Kind.PURCHASE,
            order_date=day,
            currency="EUR",
            lines=[LineInput(product=p, quantity=D(rng.choice((20, 50, 100)))) for p in parts],
        )
        orders.order_set_state(order=order, by=by, action="confirm")
        _ship(order, by=by, promised=day + datetime.timedelta(days=14), late=position == 0)
        bill = orders.order_invoice(order=order, by=by)
        bill = invoicing.invoice_post(invoice=bill, by=by, on=day + datetime.timedelta(days=7))
        payments.payment_register(
            by=by,
            direction=Payment.Direction.OUTBOUND,
            partner=supplier,
            amount=bill.amount_total,
            currency=bill.currency,
            payment_date=min(today, day + datetime.timedelta(days=30)),
            reference=f"Our transfer for {bill.number}",
        )


def _work_on_cases(
    users: dict[str, User], products: dict[str, Product], rng: random.Random
) -> None:
    """Time and parts on the service requests; the older half is invoiced already."""
    service = list(
        Case.objects.filter(case_type__code="service", partner__isnull=False, final=False)
        .exclude(state=CaseState.CANCEL)
        .select_related("partner", "technician", "responsible")
        .order_by("number")
    )
    for position, case in enumerate(service):
        who = case.technician or case.responsible or users["bob"]
        casework.work_record_add(
            case=case,
            by=who,
            quantity=D(rng.choice(("1", "1.5", "2", "3.5"))),
            product=products["SUP-H"],
            description="Diagnosis and repair",
            work_date=case.created_at.date(),
        )
        if position % 2 == 0:
            casework.work_record_add(
                case=case,
                by=who,
                kind=WorkRecord.Kind.PRODUCT,
                product=products["CBL-S"],
                quantity=D(rng.randint(1, 4)),
                work_date=case.created_at.date(),
            )
        casework.work_record_add(
            case=case,
            by=who,
            quantity=D("0.5"),
            billable=False,
            description="Travel",
            work_date=case.created_at.date(),
        )
        in_euros = case.partner is not None and case.partner.currency in ("", "EUR")
        if case.state == CaseState.DONE and position % 3 == 0 and in_euros:
            invoice = casework.invoice_from_case(case=case, by=users["maria"])
            invoicing.invoice_post(invoice=invoice, by=users["maria"])


def _backdate() -> None:
    """Date the documents' timeline entries on the days the documents carry,
    in office hours, as if they had been written then."""
    from django.contrib.contenttypes.models import ContentType

    from goodwill.partners.models import TimelineEntry

    now = timezone.now()
    dated = (
        (Order, "order_date"),
        (Invoice, "invoice_date"),
        (Payment, "payment_date"),
        (Shipment, "actual_date"),
    )
    for model, field in dated:
        days = dict(model._default_manager.exclude(**{field: None}).values_list("pk", field))
        entries = list(
            TimelineEntry.objects.filter(
                subject_type=ContentType.objects.get_for_model(model), subject_id__in=list(days)
            )
        )
        for entry in entries:
            ten = datetime.datetime.combine(days[entry.subject_id], datetime.time(10, 0))
            moment = timezone.make_aware(ten) + datetime.timedelta(minutes=entry.pk % 240)
            entry.created_at = min(moment, now)
        TimelineEntry.objects.bulk_update(entries, ["created_at"], batch_size=500)
    # The work recorded on cases, on the day it was done, in the afternoon.
    from goodwill.cases.models import Case

    work_days = dict(
        WorkRecord.objects.values_list("case_id", "work_date").order_by("case_id", "work_date")
    )
    notes = list(
        TimelineEntry.objects.filter(
            subject_type=ContentType.objects.get_for_model(Case),
            subject_id__in=list(work_days),
            action__in=("work recorded", "document created"),
        )
    )
    opened = dict(Case.objects.filter(pk__in=list(work_days)).values_list("pk", "created_at"))
    for entry in notes:
        afternoon = datetime.datetime.combine(work_days[entry.subject_id], datetime.time(15, 0))
        moment = max(timezone.make_aware(afternoon), opened[entry.subject_id])
        entry.created_at = min(moment + datetime.timedelta(minutes=30 + entry.pk % 60), now)
    TimelineEntry.objects.bulk_update(notes, ["created_at"], batch_size=500)


def demo_sales_load(*, users: dict[str, User], seed: int = 2026) -> None:
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    by = users["maria"]
    today = timezone.localdate()
    with transaction.atomic():
        master = _master_data(by, today)
        products: dict[str, Product] = master["products"]  # type: ignore[assignment]
        customers = _customers(by, master, rng)
        campaigns = _campaigns(by, today)
        _sales_history(by, customers, products, rng, today, campaigns)
        _purchases(by, products, rng, today)
        _credit_note(by)
        _over_credit_limit(by, customers[1], products)
        _work_on_cases(users, products, rng)
        _backdate()
