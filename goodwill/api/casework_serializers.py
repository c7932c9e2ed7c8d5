"""What the endpoints of requests → documents accept and return: the time and
products recorded on a case, and invoicing the closed billable requests.

Quantities go out as strings with four decimals (hours for time); amounts with
the decimals of their currency. ``goodwill.sales.casework`` decides what the
values mean.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from goodwill.api.case_serializers import CaseRefSerializer, PlainChoiceField
from goodwill.api.partner_serializers import partner_id_field
from goodwill.api.sales_serializers import (
    POSITIVE,
    AmountField,
    DecimalStringField,
    DocumentRefSerializer,
    _decimal,
    _pick,
    _products,
    api_url,
)
from goodwill.api.serializers import StrictSerializer, UserRefSerializer
from goodwill.api.statement_serializers import period_day
from goodwill.cases.models import CaseType, Section
from goodwill.sales.models import RequestInvoicing, WorkRecord


def _sections(user: Any) -> QuerySet[Section]:
    return Section.objects.filter(active=True)


def _billable_types(user: Any) -> QuerySet[CaseType]:
    return CaseType.objects.filter(active=True, billable=True)


# --------------------------------------------------------------------------
# Work records


class ProductRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class WorkRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    case = CaseRefSerializer(read_only=True)
    kind = serializers.CharField(
        read_only=True, help_text="`time` (hours spent) or `product` (a product used)."
    )
    product = ProductRefSerializer(
        read_only=True, allow_null=True, help_text="For time, the service it is billed as."
    )
    description = serializers.CharField(read_only=True)
    quantity = _decimal(help_text="Hours for time.")
    billable = serializers.BooleanField(read_only=True)
    work_date = serializers.DateField(read_only=True)
    user = UserRefSerializer(read_only=True, allow_null=True, help_text="Who recorded it.")
    invoice = DocumentRefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The invoice that billed it; a billed record no longer changes.",
    )
    created_at = serializers.DateTimeField(read_only=True)

    def get_url(self, record: WorkRecord) -> str:
        return api_url("sales_work_detail", record.pk, self.context.get("request"))


class WorkSummarySerializer(serializers.Serializer):
    hours = _decimal(help_text="Time recorded, in hours.")
    billable_hours = _decimal()
    unbilled = serializers.IntegerField(
        read_only=True, help_text="Billable records not invoiced yet."
    )


class WorkRecordListSerializer(serializers.Serializer):
    case = CaseRefSerializer(read_only=True)
    summary = WorkSummarySerializer(read_only=True)
    results = WorkRecordSerializer(many=True, read_only=True, help_text="By date.")


class WorkRecordWriteSerializer(StrictSerializer):
    """A record (``quantity`` required), or the keys of one to change."""

    kind = PlainChoiceField(choices=WorkRecord.Kind.choices, default=WorkRecord.Kind.TIME)
    product = _pick(
        _products,
        "product",
        help_text="Required for a product, and for billable time (the service it is billed as).",
    )
    description = serializers.CharField(max_length=500, allow_blank=True, default="")
    quantity = DecimalStringField(
        min_value=POSITIVE,
        error_messages={"min_value": "The quantity must be more than zero."},
        help_text="Hours for time.",
    )
    billable = serializers.BooleanField(default=True)
    work_date = serializers.DateField(required=False, help_text="Default: today.")


# --------------------------------------------------------------------------
# Documents from a case


class SupplierSerializer(StrictSerializer):
    supplier = partner_id_field(help_text="The partner the purchase order goes to.")


# --------------------------------------------------------------------------
# Invoicing closed requests


class RequestInvoicingSerializer(StrictSerializer):
    date_from = serializers.DateField(
        validators=[period_day], help_text="Requests closed on or after this day."
    )
    date_to = serializers.DateField(
        validators=[period_day], help_text="Requests closed on or before this day."
    )
    section = _pick(_sections, "section", help_text="Only the requests of this section.")
    case_type = _pick(
        _billable_types, "billable case type", help_text="Only requests of this type."
    )
    partner = partner_id_field(
        required=False, allow_null=True, help_text="Only the requests of this partner."
    )
    invoice_date = serializers.DateField(
        required=False, allow_null=True, help_text="Default: the day each invoice is posted."
    )
    preview = serializers.BooleanField(
        default=False, help_text="true: say what would be invoiced, and change nothing."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["The period ends before it starts."]})
        return attrs

    def options(self) -> dict[str, Any]:
        """The arguments of ``casework.invoice_closed_requests`` and
        ``casework.request_invoicing_start``."""
        data = self.validated_data
        return {
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "section_id": data["section"].pk if data.get("section") else None,
            "case_type_id": data["case_type"].pk if data.get("case_type") else None,
            "partner_id": data["partner"].pk if data.get("partner") else None,
            "invoice_date": data.get("invoice_date"),
        }


class CurrencyAmountSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    amount = AmountField(currency_from="currency")


class RequestInvoicingPreviewSerializer(serializers.Serializer):
    partners = serializers.IntegerField(read_only=True, help_text="Invoices it would draft.")
    cases = serializers.IntegerField(read_only=True)
    records = serializers.IntegerField(read_only=True)
    amounts = CurrencyAmountSerializer(
        many=True, read_only=True, help_text="The totals, tax included, per currency."
    )
    without_partner = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="The numbers of the requests left out because they have no partner.",
    )
    errors = serializers.ListField(  # type: ignore[assignment]  # not Serializer.errors
        child=serializers.CharField(),
        read_only=True,
        help_text="Partners that could not be invoiced, and why.",
    )


class RequestInvoicingReportSerializer(serializers.Serializer):
    amounts = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text='The totals invoiced per currency, e.g. {"EUR": "192.00"}.',
    )
    errors = serializers.ListField(  # type: ignore[assignment]  # not Serializer.errors
        child=serializers.CharField(), read_only=True
    )
    without_partner = serializers.ListField(child=serializers.IntegerField(), read_only=True)


class RequestInvoicingJobSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    status = serializers.CharField(
        read_only=True, help_text="`queued`, `running`, `done` or `failed`."
    )
    progress_done = serializers.IntegerField(read_only=True, help_text="Partners done so far.")
    progress_total = serializers.IntegerField(read_only=True, allow_null=True)
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True, help_text="Why a failed run stopped.")
    date_from = serializers.DateField(read_only=True)
    date_to = serializers.DateField(read_only=True)
    section = serializers.IntegerField(source="section_id", read_only=True, allow_null=True)
    case_type = serializers.IntegerField(source="case_type_id", read_only=True, allow_null=True)
    partner = serializers.IntegerField(source="partner_id", read_only=True, allow_null=True)
    invoice_date = serializers.DateField(read_only=True, allow_null=True)
    partners = serializers.IntegerField(read_only=True, help_text="Invoices drafted.")
    cases = serializers.IntegerField(read_only=True)
    records = serializers.IntegerField(read_only=True)
    invoices = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField()
    created_by = UserRefSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_url(self, job: RequestInvoicing) -> str:
        return api_url("sales_invoice_requests_run", job.pk, self.context.get("request"))

    @extend_schema_field(DocumentRefSerializer(many=True))
    def get_invoices(self, job: RequestInvoicing) -> list[Any]:
        """The draft invoices it made; empty until it is finished."""
        invoices = self.context.get("invoices", [])
        return list(DocumentRefSerializer(invoices, many=True, context=self.context).data)

    @extend_schema_field(RequestInvoicingReportSerializer)
    def get_report(self, job: RequestInvoicing) -> dict[str, Any]:
        report = job.report or {}
        data = {
            "amounts": report.get("amounts", {}),
            "errors": report.get("errors", []),
            "without_partner": report.get("without_partner", []),
        }
        return dict(RequestInvoicingReportSerializer(data).data)


def preview_data(outcome: Any) -> dict[str, Any]:
    """A ``casework.RequestInvoicingOutcome`` of a preview, as the serializer reads it."""
    return {
        "partners": outcome.partners,
        "cases": outcome.cases,
        "records": outcome.records,
        "amounts": [
            {"currency": code, "amount": Decimal(amount)}
            for code, amount in sorted(outcome.amounts.items())
        ],
        "without_partner": outcome.without_partner,
        "errors": outcome.errors,
    }
