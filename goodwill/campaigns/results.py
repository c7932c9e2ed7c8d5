"""What a campaign brought: the orders, invoices and cases that carry it, and
its revenue against its actual costs.

Revenue is counted like turnover (``goodwill.sales.selectors``): customer
invoices minus credit notes, posted or (partly) paid, untaxed, in the company
currency. Documents in another currency are converted at their date's rate. This
module reads sales and cases, so it sits above them; the campaign model and
``selectors`` stay below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum

from goodwill.campaigns.models import Campaign
from goodwill.cases.models import Case
from goodwill.cases.permissions import visible_cases
from goodwill.lib.money import money_round
from goodwill.sales.document_permissions import can_invoice, can_order
from goodwill.sales.models import Invoice, Order
from goodwill.sales.selectors import billed_invoices, converted_by_day, net_untaxed


@dataclass
class CampaignResults:
    currency: str
    cost: Decimal
    revenue: Decimal = Decimal(0)
    unconverted: list[str] = field(default_factory=list)  # left out: no exchange rate
    orders_count: int | None = None  # None: the user may not see orders
    orders: list[Order] = field(default_factory=list)
    invoices_count: int | None = None
    invoices: list[Invoice] = field(default_factory=list)
    cases_count: int = 0
    cases: list[Case] = field(default_factory=list)

    @property
    def margin(self) -> Decimal:
        """Revenue less actual costs."""
        return self.revenue - self.cost

    @property
    def return_percent(self) -> Decimal | None:
        """The margin as a share of the costs, in percent (None without costs)."""
        if not self.cost:
            return None
        return (self.margin * 100 / self.cost).quantize(Decimal("0.1"))


@dataclass
class Revenue:
    amount: Decimal
    unconverted: list[str] = field(default_factory=list)  # currencies without a rate


def campaign_revenue(campaign: Campaign) -> Revenue:
    """Net invoiced (untaxed) of the documents that carry *campaign*, in the
    company currency, in at most three queries: the totals per currency, and
    for other currencies the rates and the totals per day, each converted at
    its day's rate. Amounts without a rate on their day are left out and their
    currency listed in ``unconverted``."""
    company = settings.COMPANY_CURRENCY
    billed = billed_invoices().filter(campaign=campaign)
    totals = billed.values("currency").annotate(net=Sum(net_untaxed())).order_by()
    revenue = Revenue(amount=Decimal(0))
    foreign: set[str] = set()
    for row in totals:
        if row["currency"] == company:
            revenue.amount += row["net"] or 0
        else:
            foreign.add(row["currency"])
    if not foreign:
        return revenue
    converted = converted_by_day(billed, foreign)
    for _day, amount in converted.days:
        revenue.amount += amount
    revenue.amount = money_round(revenue.amount, company)
    revenue.unconverted = converted.unconverted
    return revenue


def campaign_results(*, campaign: Campaign, user: Any, latest: int = 5) -> CampaignResults:
    """The campaign's documents and cases that *user* may see (counts and the
    latest few) and its revenue against its costs."""
    results = CampaignResults(currency=settings.COMPANY_CURRENCY, cost=campaign.actual_cost)
    revenue = campaign_revenue(campaign)
    results.revenue, results.unconverted = revenue.amount, revenue.unconverted
    if can_order(user):
        orders = Order.objects.filter(campaign=campaign)
        results.orders_count = orders.count()
        if results.orders_count:
            results.orders = list(
                orders.select_related("partner").order_by("-order_date", "-id")[:latest]
            )
    if can_invoice(user):
        invoices = Invoice.objects.filter(campaign=campaign)
        results.invoices_count = invoices.count()
        if results.invoices_count:
            results.invoices = list(invoices.select_related("partner").order_by("-id")[:latest])
    cases = visible_cases(user).filter(campaign=campaign, merged_into__isnull=True)
    results.cases_count = cases.count()
    if results.cases_count:
        results.cases = list(
            cases.select_related("partner", "case_type").order_by("-created_at", "-id")[:latest]
        )
    return results
