"""What the statement of account endpoint accepts and returns.

A statement reads as on paper: per side of the account (receivable or payable)
and currency, the opening balance, each movement with its running balance,
the closing balance, and the aging of what was open on the last day. Amounts
are strings with the decimals of the section's currency.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from goodwill.api.partner_serializers import PartnerRefSerializer
from goodwill.api.sales_serializers import AgingSerializer, AmountField, api_url
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.sales.payments import BUCKETS
from goodwill.sales.statement_views import MAX_DAYS, default_period
from goodwill.sales.statements import StatementLine, StatementSection

FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(9998, 12, 31)


def period_day(value: datetime.date) -> None:
    """Refuse a day so far away that counting days from it leaves the calendar."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise serializers.ValidationError(
            f"Choose a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."
        )


class StatementQuerySerializer(serializers.Serializer):
    """The query parameters, over the defaults of the statement page: the last
    12 months, every currency, subsidiaries included."""

    date_from = serializers.DateField(required=False, validators=[period_day])
    date_to = serializers.DateField(required=False, validators=[period_day])
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    include_children = serializers.BooleanField(default=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = default_period(timezone.localdate())
        attrs.setdefault("date_from", start)
        attrs.setdefault("date_to", end)
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError(
                {"date_from": ["The period must start before it ends."]}
            )
        if (attrs["date_to"] - attrs["date_from"]).days > MAX_DAYS:
            raise serializers.ValidationError(
                {"date_from": ["Choose a period of at most 20 years."]}
            )
        return attrs


class StatementLineSerializer(serializers.Serializer):
    """One movement; amounts in the currency of its section."""

    date = serializers.DateField(read_only=True)
    kind = serializers.CharField(
        read_only=True,
        help_text="`out_invoice`, `out_refund`, `in_invoice`, `in_refund`, or `payment`.",
    )
    label = serializers.CharField(  # type: ignore[assignment]  # not Field.label
        read_only=True, help_text='"Invoice", "Payment received", …'
    )
    number = serializers.CharField(read_only=True, help_text="For a payment, its reference.")
    partner = serializers.IntegerField(source="partner_id", read_only=True)
    partner_name = serializers.CharField(read_only=True)
    due_date = serializers.DateField(read_only=True, allow_null=True)
    debit = AmountField()
    credit = AmountField()
    balance = AmountField(help_text="The running balance after this line.")
    open_amount = AmountField(
        allow_null=True, help_text="What was left to pay on the last day; null for payments."
    )
    overdue = serializers.BooleanField(read_only=True)
    invoice = serializers.IntegerField(source="invoice_id", read_only=True, allow_null=True)
    payment = serializers.IntegerField(source="payment_id", read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, line: StatementLine) -> str:
        """The document or payment in the API."""
        request = self.context.get("request")
        if line.invoice_id is not None:
            return api_url("sales_invoice_detail", line.invoice_id, request)
        return api_url("sales_payment_detail", line.payment_id or 0, request)


class StatementSectionSerializer(serializers.Serializer):
    side = serializers.CharField(
        read_only=True,
        help_text="`receivable` (what the partner owes us) or `payable` (what we owe it).",
    )
    title = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    opening = AmountField(currency_from="currency", help_text="The balance on the first day.")
    total_debit = AmountField(currency_from="currency")
    total_credit = AmountField(currency_from="currency")
    closing = AmountField(currency_from="currency", help_text="The balance on the last day.")
    lines = serializers.SerializerMethodField()
    aging = serializers.SerializerMethodField()
    open_items = AmountField(currency_from="currency", help_text="The sum of the aging.")
    overdue = AmountField(currency_from="currency")
    unallocated = AmountField(
        currency_from="currency",
        help_text="Payments that settled no document: the aging less this is the closing balance.",
    )

    @extend_schema_field(StatementLineSerializer(many=True))
    def get_lines(self, section: StatementSection) -> list[Any]:
        context = {**self.context, "currency": section.currency}
        return list(StatementLineSerializer(section.lines, many=True, context=context).data)

    @extend_schema_field(AgingSerializer)
    def get_aging(self, section: StatementSection) -> dict[str, Any]:
        """What was open on the last day, by days past the due date."""
        aging = {"currency": section.currency, **{b: section.aging[b] for b in BUCKETS}}
        return dict(AgingSerializer(aging).data)


class StatementSerializer(serializers.Serializer):
    partner = PartnerRefSerializer(read_only=True)
    date_from = serializers.DateField(read_only=True)
    date_to = serializers.DateField(read_only=True)
    currency = serializers.CharField(
        read_only=True, allow_null=True, help_text="Null: every currency."
    )
    include_children = serializers.BooleanField(read_only=True)
    partners = serializers.ListField(
        child=serializers.IntegerField(),
        source="partner_ids",
        read_only=True,
        help_text="The partners counted: this one, and its subsidiaries when included.",
    )
    sections = StatementSectionSerializer(many=True, read_only=True)
