"""What the CRM reads from the commercial documents: a partner's sales summary
and everyone's turnover, each as one set-based query.

Turnover is net invoiced: customer invoices minus credit notes, posted or
(partly) paid, untaxed, in the company currency. Documents in another currency
are converted at the rate of their date, both in one partner's summary and in
the all-partners query that segments and campaigns call
(``turnover_by_partner``).
"""

from __future__ import annotations

import datetime
import decimal
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from goodwill.partners.models import Partner
from goodwill.sales.models import ExchangeRate, Invoice, Order, Payment
from goodwill.sales.pricing import CONVERSION_PRECISION

BILLED = (Invoice.State.POSTED, Invoice.State.PARTIAL, Invoice.State.PAID)
SALES_KINDS = (Invoice.Kind.CUSTOMER_INVOICE, Invoice.Kind.CUSTOMER_CREDIT)
MONEY = DecimalField(max_digits=20, decimal_places=4)


def net_untaxed() -> Case:
    """+ untaxed for an invoice, − for a credit note."""
    return Case(
        When(kind=Invoice.Kind.CUSTOMER_CREDIT, then=-F("amount_untaxed")),
        default=F("amount_untaxed"),
        output_field=MONEY,
    )


def billed_invoices() -> QuerySet[Invoice]:
    """The documents that count as turnover: customer invoices and credit notes,
    posted or (partly) paid."""
    return Invoice.objects.filter(kind__in=SALES_KINDS, state__in=BILLED)


def partner_family(partner: Partner) -> list[int]:
    """The partner and its subsidiaries (two levels down), for company pages."""
    ids = [partner.pk]
    children = list(Partner.objects.filter(parent=partner).values_list("pk", flat=True))
    ids += children
    if children:
        ids += list(Partner.objects.filter(parent__in=children).values_list("pk", flat=True))
    return ids


@dataclass
class SalesSummary:
    currency: str
    turnover_12_months: Decimal = Decimal(0)
    turnover_all_time: Decimal = Decimal(0)
    first_sale: datetime.date | None = None
    last_sale: datetime.date | None = None
    invoices: list[Invoice] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    unconverted: list[str] = field(default_factory=list)  # currencies without a rate

    @property
    def lifetime_value(self) -> Decimal:
        """The actual lifetime value: everything invoiced, net of credit notes."""
        return self.turnover_all_time


def _rates(
    currencies: set[str], until: datetime.date | None
) -> dict[str, tuple[list[datetime.date], list[Decimal]]]:
    """The exchange rates of *currencies* (up to *until*, if given), by date, in one query."""
    rates: dict[str, tuple[list[datetime.date], list[Decimal]]] = {c: ([], []) for c in currencies}
    found = ExchangeRate.objects.filter(currency__in=currencies)
    if until is not None:
        found = found.filter(valid_from__lte=until)
    for code, valid_from, rate in found.order_by("currency", "valid_from").values_list(
        "currency", "valid_from", "rate"
    ):
        rates[code][0].append(valid_from)
        rates[code][1].append(rate)
    return rates


@dataclass
class Converted:
    days: list[tuple[datetime.date, Decimal]]  # (invoice date, net in the company currency)
    unconverted: list[str]  # currencies without a rate on some day, those amounts left out


def converted_by_day(
    billed: QuerySet[Invoice], currencies: set[str], *, until: datetime.date | None = None
) -> Converted:
    """The net untaxed of *billed* in *currencies* (not the company's), summed
    per currency and day and converted at that day's rate (as
    ``pricing.convert`` does), in two queries: the rates (up to *until*, if
    given) and the totals per day."""
    rates = _rates(currencies, until)
    days: list[tuple[datetime.date, Decimal]] = []
    unconverted: set[str] = set()
    with decimal.localcontext() as context:
        context.prec = CONVERSION_PRECISION
        for code, day, net in (
            billed.filter(currency__in=currencies)
            .values("currency", "invoice_date")
            .annotate(net=Sum(net_untaxed()))
            .order_by()
            .values_list("currency", "invoice_date", "net")
        ):
            known_days, values = rates[code]
            assert day is not None  # noqa: S101 - posted documents always have a date
            at = bisect_right(known_days, day) - 1
            if at < 0:
                unconverted.add(code)
                continue
            days.append((day, net / values[at]))
    return Converted(days=days, unconverted=sorted(unconverted))


def partner_sales_summary(
    *, partner: Partner, today: datetime.date | None = None, latest: int = 10
) -> SalesSummary:
    """Turnover (12 months and all time), first and last sale, and the latest
    documents of *partner* and its subsidiaries, in the company currency.

    One grouped query gives the totals per currency; documents in another
    currency are then summed per day and converted at that day's rate, with
    the rates read in one query. Amounts in a currency without a rate on their
    day are left out and the currency is listed in ``unconverted``."""
    today = today or timezone.localdate()
    year_ago = today - datetime.timedelta(days=365)
    company = settings.COMPANY_CURRENCY
    family = partner_family(partner)
    billed = billed_invoices().filter(partner_id__in=family)
    sale = Q(kind=Invoice.Kind.CUSTOMER_INVOICE)
    totals: Any = list(
        billed.values("currency")
        .annotate(
            all_time=Sum(net_untaxed()),
            recent=Sum(net_untaxed(), filter=Q(invoice_date__gt=year_ago)),
            first=Min("invoice_date", filter=sale),
            last=Max("invoice_date", filter=sale),
        )
        .order_by()
    )
    summary = SalesSummary(currency=company)
    firsts = [row["first"] for row in totals if row["first"] is not None]
    lasts = [row["last"] for row in totals if row["last"] is not None]
    summary.first_sale = min(firsts, default=None)
    summary.last_sale = max(lasts, default=None)
    foreign = {row["currency"] for row in totals if row["currency"] != company}
    for row in totals:
        if row["currency"] == company:
            summary.turnover_all_time += row["all_time"] or 0
            summary.turnover_12_months += row["recent"] or 0
    if foreign:
        converted = converted_by_day(billed, foreign, until=today)
        for day, amount in converted.days:
            summary.turnover_all_time += amount
            if day > year_ago:
                summary.turnover_12_months += amount
        summary.unconverted = converted.unconverted
    summary.invoices = list(
        Invoice.objects.filter(partner_id__in=family)
        .select_related("partner")
        .order_by("-invoice_date", "-id")[:latest]
    )
    summary.orders = list(
        Order.objects.filter(partner_id__in=family)
        .select_related("partner")
        .order_by("-order_date", "-id")[:latest]
    )
    summary.payments = list(
        Payment.objects.filter(partner_id__in=family)
        .select_related("partner")
        .order_by("-payment_date", "-id")[:latest]
    )
    return summary


def _rate_at_document_date() -> Subquery:
    """The rate of the row's currency on its invoice date (the latest that
    starts on or before it), as a correlated subquery on the rates' unique
    (currency, valid_from) index."""
    return Subquery(
        ExchangeRate.objects.filter(
            currency=OuterRef("currency"), valid_from__lte=OuterRef("invoice_date")
        )
        .order_by("-valid_from")
        .values("rate")[:1],
        output_field=DecimalField(max_digits=20, decimal_places=10),
    )


def turnover_by_partner(
    *, since: datetime.date, until: datetime.date | None = None
) -> QuerySet[Any, dict[str, Any]]:
    """Net invoiced (untaxed) per partner between two dates, in the company
    currency, as ONE grouped query: rows of ``{"partner_id": …, "turnover": …}``.
    Segmentation and campaigns filter or join on it instead of looping over
    partners.

    A document in another currency is converted at the rate of its date; one
    in a currency with no rate on its date counts as nothing (as in
    ``partner_sales_summary``, which names such currencies)."""
    billed = billed_invoices().filter(invoice_date__gte=since)
    if until is not None:
        billed = billed.filter(invoice_date__lte=until)
    converted = Case(
        When(currency=settings.COMPANY_CURRENCY, then=net_untaxed()),
        default=ExpressionWrapper(net_untaxed() / _rate_at_document_date(), output_field=MONEY),
        output_field=MONEY,
    )
    rows: QuerySet[Any, dict[str, Any]] = (
        billed.values("partner_id")  # type: ignore[assignment]
        .annotate(turnover=Coalesce(Sum(converted), Value(Decimal(0), output_field=MONEY)))
        .order_by()
    )
    return rows
