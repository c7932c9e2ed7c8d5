"""Forms of the shipment pages: they parse what a person typed; the services
in ``goodwill.sales.shipments`` decide and save."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from goodwill.lib.forms import PeriodDateField
from goodwill.lib.ids import is_valid_id
from goodwill.sales.models import Shipment, ShipmentLine
from goodwill.sales.shipments import quantity_text

QUANTITY: dict[str, Any] = {"max_digits": 18, "decimal_places": 4}


class ShipmentFilterForm(forms.Form):
    """Filters of the shipment list; values not understood are left out."""

    q = forms.CharField(required=False, max_length=200)
    kind = forms.ChoiceField(
        required=False, choices=[("", "Deliveries and receipts"), *Shipment.Kind.choices]
    )
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *Shipment.State.choices])
    partner = forms.CharField(required=False, max_length=20)
    late = forms.BooleanField(required=False, label="Late only")

    def clean_partner(self) -> str:
        value = self.cleaned_data["partner"].strip()
        return value if is_valid_id(value) else ""

    def filters(self) -> dict[str, str]:
        """The valid, non-empty filters, as strings for the page's links."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        found: dict[str, str] = {}
        for key, value in data.items():
            if key == "late":
                if value:
                    found["late"] = "1"
            elif value:
                text = " ".join(str(value).split())
                if text:
                    found[key] = text
        return found


class ShipmentForm(forms.Form):
    """The header of a draft or ready shipment, and a quantity per line
    (fields ``quantity_<line id>``)."""

    promised_date = PeriodDateField(required=False, help_text="The date agreed with the partner.")
    carrier = forms.CharField(max_length=100, required=False)
    tracking_reference = forms.CharField(max_length=100, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, lines: list[ShipmentLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"quantity_{line.pk}"] = forms.DecimalField(
                label=line.description,
                min_value=0,
                error_messages={
                    "min_value": "The quantity cannot be negative.",
                    "required": "Enter a quantity (0 to leave the line out).",
                },
                **QUANTITY,
            )

    @staticmethod
    def initial_for(shipment: Shipment, lines: list[ShipmentLine]) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "promised_date": shipment.promised_date,
            "carrier": shipment.carrier,
            "tracking_reference": shipment.tracking_reference,
            "notes": shipment.notes,
        }
        for line in lines:
            initial[f"quantity_{line.pk}"] = quantity_text(line.quantity)
        return initial

    def rows(self) -> list[tuple[ShipmentLine, forms.BoundField]]:
        """Each line with its quantity field, for the template."""
        return [(line, self[f"quantity_{line.pk}"]) for line in self.lines]

    def values(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in ("promised_date", "carrier", "tracking_reference", "notes")
        }

    def quantities(self) -> dict[int, Decimal]:
        return {line.pk: self.cleaned_data[f"quantity_{line.pk}"] for line in self.lines}


class ShipmentDoneForm(forms.Form):
    actual_date = PeriodDateField(required=False, label="Actual date", help_text="Blank: today.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actual_date"].initial = timezone.localdate()


class ShipmentCreateForm(forms.Form):
    promised_date = PeriodDateField(required=False)
