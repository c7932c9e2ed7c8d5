"""Forms of the campaign pages: they parse what a person typed; the services
in ``goodwill.campaigns.services`` check and save."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from goodwill.campaigns.models import Campaign
from goodwill.lib.forms import PeriodDateField

AMOUNT: dict[str, Any] = {"max_digits": 18, "decimal_places": 2, "min_value": 0}


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class CampaignFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    channel = forms.ChoiceField(
        required=False, choices=[("", "Any channel"), *Campaign.Channel.choices]
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Active"), ("inactive", "Inactive"), ("all", "All")]
    )
    running = forms.BooleanField(required=False, label="Running now")

    def filters(self) -> dict[str, str]:
        """The valid, non-empty filters, as strings for the page's links."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        found: dict[str, str] = {}
        for key, value in data.items():
            if key == "running":
                if value:
                    found["running"] = "1"
            elif value:
                text = " ".join(str(value).split())
                if text:
                    found[key] = text
        return found


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=150)
    code = forms.CharField(
        max_length=40,
        help_text="Short and unique, e.g. spring-fair-2026: letters, digits, '-' and '_'.",
    )
    channel = forms.ChoiceField(choices=Campaign.Channel.choices, initial=Campaign.Channel.EMAIL)
    start_date = PeriodDateField(required=False)
    end_date = PeriodDateField(required=False)
    budget = forms.DecimalField(
        initial=0, error_messages={"min_value": "The budget cannot be negative."}, **AMOUNT
    )
    actual_cost = forms.DecimalField(
        label="Actual costs",
        initial=0,
        error_messages={"min_value": "The actual costs cannot be negative."},
        **AMOUNT,
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = settings.COMPANY_CURRENCY
        self.fields["budget"].help_text = f"In {currency}."
        self.fields["actual_cost"].help_text = f"In {currency}, spent so far."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The campaign cannot end before it starts.")
        return data

    @staticmethod
    def initial_for(campaign: Campaign) -> dict[str, Any]:
        return {
            "name": campaign.name,
            "code": campaign.code,
            "channel": campaign.channel,
            "start_date": campaign.start_date,
            "end_date": campaign.end_date,
            "budget": _plain(campaign.budget),
            "actual_cost": _plain(campaign.actual_cost),
            "description": campaign.description,
            "active": campaign.active,
        }
