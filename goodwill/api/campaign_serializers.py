"""What the campaign endpoints accept and return.

Budgets, costs and revenue are in the company currency and go out as strings
with its decimals (``"1500.00"``); they come in as strings or whole numbers,
never as JSON numbers with a fraction. The services in
``goodwill.campaigns.services`` check what the values mean.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from goodwill.api.case_serializers import CaseRefSerializer, PlainChoiceField
from goodwill.api.sales_serializers import (
    AmountField,
    DecimalStringField,
    DocumentRefSerializer,
    _decimal,
    _PageSerializer,
    api_url,
)
from goodwill.api.serializers import StrictSerializer, UserRefSerializer
from goodwill.campaigns.models import Campaign
from goodwill.campaigns.selectors import is_running

STATUS_CHOICES = [("active", "Active"), ("inactive", "Inactive"), ("all", "All")]


def _amount(**kwargs: Any) -> DecimalStringField:
    return DecimalStringField(
        min_value=Decimal(0), max_digits=18, decimal_places=2, required=False, **kwargs
    )


class CampaignFilterSerializer(serializers.Serializer):
    """The list's query parameters; unknown ones are ignored."""

    q = serializers.CharField(
        max_length=200, required=False, help_text="Part of the name, or the start of the code."
    )
    channel = PlainChoiceField(choices=Campaign.Channel.choices, required=False)
    status = PlainChoiceField(choices=STATUS_CHOICES, required=False, help_text="Default: active.")
    running = serializers.BooleanField(
        required=False, help_text="true: only those started and not ended today."
    )


def selector_filters(values: dict[str, Any]) -> dict[str, Any]:
    """The list's filters as ``campaigns.selectors.campaign_queryset`` reads them."""
    found = dict(values)
    state = found.pop("status", "active")
    found["status"] = "" if state == "active" else state
    return found


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    name = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)
    channel = serializers.CharField(
        read_only=True,
        help_text="One of " + ", ".join(f"`{value}`" for value in Campaign.Channel.values) + ".",
    )
    start_date = serializers.DateField(read_only=True, allow_null=True)
    end_date = serializers.DateField(read_only=True, allow_null=True)
    currency = serializers.SerializerMethodField()
    budget = AmountField()
    actual_cost = AmountField(help_text="Spent so far.")
    active = serializers.BooleanField(read_only=True)
    running = serializers.SerializerMethodField()
    description = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_url(self, campaign: Campaign) -> str:
        return api_url("campaign_detail", campaign.pk, self.context.get("request"))

    def get_currency(self, campaign: Campaign) -> str:
        """The company currency: that of the budget, costs and revenue."""
        return str(self.context["currency"])

    def get_running(self, campaign: Campaign) -> bool:
        """Started (on or before today) and not ended."""
        return is_running(campaign, self.context["today"])


class CampaignPageSerializer(_PageSerializer):
    results = CampaignSerializer(many=True, read_only=True)


class CampaignResultsSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True, help_text="The company currency.")
    revenue = AmountField(
        currency_from="currency",
        help_text="Net invoiced, untaxed: customer invoices less credit notes, posted or paid.",
    )
    cost = AmountField(currency_from="currency", help_text="The actual costs.")
    margin = AmountField(currency_from="currency", help_text="Revenue less costs.")
    return_percent = _decimal(
        max_digits=20,
        decimal_places=1,
        allow_null=True,
        help_text="The margin as a share of the costs; null without costs.",
    )
    unconverted = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Currencies left out of the revenue for want of an exchange rate.",
    )
    orders_count = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Null when your role may not see orders."
    )
    orders = DocumentRefSerializer(many=True, read_only=True, help_text="The latest ones.")
    invoices_count = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Null when your role may not see invoices."
    )
    invoices = DocumentRefSerializer(many=True, read_only=True, help_text="The latest ones.")
    cases_count = serializers.IntegerField(read_only=True, help_text="Of the cases you can see.")
    cases = CaseRefSerializer(many=True, read_only=True, help_text="The latest ones.")


class CampaignDetailSerializer(CampaignSerializer):
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    results = serializers.SerializerMethodField()

    @extend_schema_field(CampaignResultsSerializer)
    def get_results(self, campaign: Campaign) -> dict[str, Any]:
        return dict(CampaignResultsSerializer(self.context["results"], context=self.context).data)


class CampaignWriteSerializer(StrictSerializer):
    """A new campaign (``name`` and ``code`` required), or the keys of one to change."""

    name = serializers.CharField(max_length=150)
    code = serializers.CharField(
        max_length=40, help_text="Short and unique: letters, digits, '-' and '_'."
    )
    channel = PlainChoiceField(choices=Campaign.Channel.choices, required=False)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    budget = _amount(help_text="In the company currency.")
    actual_cost = _amount(help_text="In the company currency, spent so far.")
    description = serializers.CharField(
        allow_blank=True, required=False, max_length=5000, trim_whitespace=False
    )
    active = serializers.BooleanField(required=False)
