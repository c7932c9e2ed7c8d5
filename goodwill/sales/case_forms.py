"""Forms of the "Time and products" panel of a case and of invoicing closed requests."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from goodwill.cases.models import CaseType, Section
from goodwill.lib.forms import PeriodDateField
from goodwill.partners.forms import IdChoiceField, PartnerChoiceField
from goodwill.sales.document_forms import ProductField
from goodwill.sales.models import WorkRecord


class WorkRecordForm(forms.Form):
    kind = forms.ChoiceField(choices=WorkRecord.Kind.choices, initial=WorkRecord.Kind.TIME)
    product = ProductField(required=False, help_text="For time, the service it is billed as.")
    description = forms.CharField(max_length=500, required=False)
    quantity = forms.DecimalField(
        label="Quantity (hours for time)",
        max_digits=18,
        decimal_places=4,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    billable = forms.BooleanField(required=False, initial=True)
    work_date = PeriodDateField(label="Date")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["work_date"].initial = timezone.localdate()

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "product": data.get("product"),
            "description": data.get("description") or "",
            "quantity": data["quantity"],
            "billable": bool(data.get("billable")),
            "work_date": data["work_date"],
        }


class SupplierForm(forms.Form):
    supplier = PartnerChoiceField()


class RequestInvoicingForm(forms.Form):
    """iDempiere's "Invoice closed billable requests": the period and what to narrow it to."""

    date_from = PeriodDateField(label="Closed from")
    date_to = PeriodDateField(label="Closed until")
    section = IdChoiceField(queryset=Section.objects.filter(active=True), required=False)
    case_type = IdChoiceField(
        queryset=CaseType.objects.filter(active=True, billable=True),
        required=False,
        label="Case type",
    )
    partner = PartnerChoiceField(required=False)
    invoice_date = PeriodDateField(
        required=False, help_text="Blank: the day each invoice is posted."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        first = today.replace(day=1)
        self.fields["date_from"].initial = first
        self.fields["date_to"].initial = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The period ends before it starts.")
        return data

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "section_id": data["section"].pk if data.get("section") else None,
            "case_type_id": data["case_type"].pk if data.get("case_type") else None,
            "partner_id": data["partner"].pk if data.get("partner") else None,
            "invoice_date": data.get("invoice_date"),
        }
