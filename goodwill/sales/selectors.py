"""What the CRM reads from the commercial documents: a partner's sales summary
and everyone's turnover, each as one set-based query.

Turnover is net invoiced: customer invoices minus credit notes, posted or
(partly) paid, untaxed, in the company currency. Documents in another currency
are converted at their date when the summary is built for one partner; the
all-partners query reads ``amount_untaxed`` as is and is meant for installations
that invoice in the company currency (segments and campaigns call it; see
``turnover_by_partner``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, DecimalField, F, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from goodwill.partners.models import Partner
from goodwill.sales.models import Invoice, Order, Payment
from goodwill.sales.pricing import convert

BILLED = (Invoice.State.POSTED, Invoice.State.PARTIAL, Invoice.State.PAID)
SALES_KINDS = (Invoice.Kind.CUSTOMER_INVOICE, Invoice.Kind.CUSTOMER_CREDIT)
MONEY = DecimalField(max_digits=20, decimal_places=4)


def _net_untaxed() -> Case:
    """+ untaxed for an invoice, − for a credit note."""
    return Case(
        When(kind=Invoice.Kind.CUSTOMER_CREDIT, then=-F("amount_untaxed")),
        default=F("amount_untaxed"),
        output_field=MONEY,
    )


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

    @property
    def lifetime_value(self) -> Decimal:
        """The actual lifetime value: everything invoiced, net of credit notes."""
        return self.turnover_all_time


def partner_sales_summary(
    *, partner: Partner, today: datetime.date | None = None, latest: int = 10
) -> SalesSummary:
    """Turnover (12 months and all time), first and last sale, and the latest
    documents of *partner* and its subsidiaries, in the company currency."""
    today = today or timezone.localdate()
    year_ago = today - datetime.timedelta(days=365)
    company = settings.COMPANY_CURRENCY
    family = partner_family(partner)
    billed = Invoice.objects.filter(partner_id__in=family, kind__in=SALES_KINDS, state__in=BILLED)
    rows = (
        billed.values("currency", "invoice_date").annotate(net=Sum(_net_untaxed())).order_by()
        if billed.exclude(currency=company).exists()
        else []
    )
    summary = SalesSummary(currency=company)
    if rows:
        # Several currencies: convert each day's total at that day's rate.
        for row in rows:
            day = row["invoice_date"]
            assert day is not None  # noqa: S101 - posted documents always have a date
            amount = convert(
                amount=row["net"], from_currency=row["currency"], to_currency=company, on=day
            )
            summary.turnover_all_time += amount
            if day > year_ago:
                summary.turnover_12_months += amount
    else:
        totals: dict[str, Any] = billed.aggregate(
            all_time=Coalesce(Sum(_net_untaxed()), Value(Decimal(0), output_field=MONEY)),
            recent=Coalesce(
                Sum(_net_untaxed(), filter=Q(invoice_date__gt=year_ago)),
                Value(Decimal(0), output_field=MONEY),
            ),
        )
        summary.turnover_all_time = totals["all_time"]
        summary.turnover_12_months = totals["recent"]
    dates = billed.filter(kind=Invoice.Kind.CUSTOMER_INVOICE).aggregate(
        first=Min("invoice_date"), last=Max("invoice_date")
    )
    summary.first_sale, summary.last_sale = dates["first"], dates["last"]
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


def turnover_by_partner(
    *, since: datetime.date, until: datetime.date | None = None
) -> QuerySet[Any, dict[str, Any]]:
    """Net invoiced (untaxed) per partner between two dates, as ONE grouped
    query: rows of ``{"partner_id": …, "turnover": …}``. Segmentation and
    campaigns filter or join on it instead of looping over partners."""
    billed = Invoice.objects.filter(kind__in=SALES_KINDS, state__in=BILLED, invoice_date__gte=since)
    if until is not None:
        billed = billed.filter(invoice_date__lte=until)
    rows: QuerySet[Any, dict[str, Any]] = (
        billed.values("partner_id").annotate(turnover=Sum(_net_untaxed())).order_by()  # type: ignore[assignment]
    )
    return rows
