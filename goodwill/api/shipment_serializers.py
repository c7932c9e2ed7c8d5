"""What the shipment endpoints accept and return.

Quantities go out as strings with four decimals (``"2.0000"``) and come in as
strings or whole numbers, like everywhere in the sales API; the services in
``goodwill.sales.shipments`` decide whether they make sense.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from goodwill.api.case_serializers import PlainChoiceField
from goodwill.api.partner_serializers import PartnerRefSerializer
from goodwill.api.sales_serializers import (
    DecimalStringField,
    DocumentRefSerializer,
    _decimal,
    _id_filter,
    _PageSerializer,
    api_url,
)
from goodwill.api.serializers import StrictSerializer, UserRefSerializer, WholeItemsListField
from goodwill.lib.ids import MAX_ID
from goodwill.sales.models import Shipment
from goodwill.sales.shipments import OPEN_STATES, TRANSITIONS

MAX_SHIPMENT_LINES = 500


def shipment_late(shipment: Shipment, today: datetime.date) -> bool:
    """The test of ``shipments.late_q`` for one shipment already loaded: done
    after its promised date, or still open past it."""
    if shipment.promised_date is None:
        return False
    if shipment.state == Shipment.State.DONE:
        return shipment.actual_date is not None and shipment.actual_date > shipment.promised_date
    return shipment.state in OPEN_STATES and shipment.promised_date < today


# --------------------------------------------------------------------------
# Reading


class ShipmentFilterSerializer(serializers.Serializer):
    """The list's query parameters; unknown ones are ignored."""

    kind = PlainChoiceField(choices=Shipment.Kind.choices, required=False)
    state = PlainChoiceField(choices=Shipment.State.choices, required=False)
    partner = _id_filter()
    order = _id_filter()
    late = serializers.BooleanField(required=False, allow_null=True, default=None)


class ShipmentSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    number = serializers.CharField(read_only=True, help_text='"OUT/2026/00001", "IN/2026/00001".')
    kind = serializers.CharField(read_only=True, help_text="`delivery` or `receipt`.")
    state = serializers.CharField(
        read_only=True, help_text="`draft`, `ready`, `done` or `cancelled`."
    )
    partner = PartnerRefSerializer(read_only=True)
    order = DocumentRefSerializer(read_only=True, allow_null=True)
    promised_date = serializers.DateField(read_only=True, allow_null=True)
    actual_date = serializers.DateField(read_only=True, allow_null=True)
    carrier = serializers.CharField(read_only=True)
    tracking_reference = serializers.CharField(read_only=True)
    on_time = serializers.BooleanField(
        read_only=True,
        allow_null=True,
        help_text="Done by the promised date; null until done, or without a promised date.",
    )
    late = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_url(self, shipment: Shipment) -> str:
        return api_url("sales_shipment_detail", shipment.pk, self.context.get("request"))

    def get_late(self, shipment: Shipment) -> bool:
        """Done after its promised date, or still open past it."""
        return shipment_late(shipment, self.context["today"])


class ShipmentPageSerializer(_PageSerializer):
    results = ShipmentSummarySerializer(many=True, read_only=True)


class ShipmentLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sequence = serializers.IntegerField(read_only=True)
    order_line = serializers.IntegerField(source="order_line_id", read_only=True, allow_null=True)
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    description = serializers.CharField(read_only=True)
    quantity = _decimal(help_text="What this shipment moves.")
    ordered = _decimal(
        source="order_line.quantity", allow_null=True, help_text="On the order line."
    )
    delivered = _decimal(
        source="order_line.quantity_delivered",
        allow_null=True,
        help_text="Delivered (or received) on the order line so far, by done shipments.",
    )


class ShipmentActionsSerializer(serializers.Serializer):
    change = serializers.BooleanField(
        read_only=True, help_text="Change the dates, carrier and quantities."
    )
    states = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The state actions open now: ready, done, cancel.",
    )


class ShipmentDetailSerializer(ShipmentSummarySerializer):
    notes = serializers.CharField(read_only=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    lines = ShipmentLineSerializer(many=True, read_only=True, source="lines.all")
    allowed = serializers.SerializerMethodField()

    @extend_schema_field(ShipmentActionsSerializer)
    def get_allowed(self, shipment: Shipment) -> dict[str, Any]:
        return dict(self.context["allowed"])


class OnTimeSerializer(serializers.Serializer):
    partner = PartnerRefSerializer(read_only=True)
    since = serializers.DateField(
        read_only=True, allow_null=True, help_text="Receipts done on or after this day; null: all."
    )
    receipts = serializers.IntegerField(
        read_only=True, help_text="Done receipts that had a promised date."
    )
    on_time = serializers.IntegerField(read_only=True)
    late = serializers.IntegerField(read_only=True)
    rate = _decimal(
        max_digits=5,
        decimal_places=1,
        allow_null=True,
        help_text="Percent on time; null without receipts to judge.",
    )
    average_days_late = _decimal(
        max_digits=12,
        decimal_places=1,
        allow_null=True,
        help_text="How late the late receipts were, in days; null without late ones.",
    )


class OnTimeQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="Default: every receipt.")


# --------------------------------------------------------------------------
# Writing


class ShipmentLineInputSerializer(StrictSerializer):
    id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="A line of this shipment."
    )
    quantity = DecimalStringField(
        min_value=Decimal(0),
        error_messages={"min_value": "The quantity cannot be negative."},
        help_text="0 leaves the line out.",
    )


class ShipmentUpdateSerializer(StrictSerializer):
    """The keys of a draft or ready shipment to change."""

    promised_date = serializers.DateField(required=False, allow_null=True)
    carrier = serializers.CharField(max_length=100, allow_blank=True, required=False)
    tracking_reference = serializers.CharField(max_length=100, allow_blank=True, required=False)
    notes = serializers.CharField(allow_blank=True, max_length=20000, required=False)
    lines = WholeItemsListField(
        child=ShipmentLineInputSerializer(),
        max_length=MAX_SHIPMENT_LINES,
        required=False,
        help_text="New quantities of the lines named; lines left out keep theirs.",
    )

    def validate_lines(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[int] = set()
        for row in rows:
            if row["id"] in seen:
                raise serializers.ValidationError(f"Line {row['id']} is named twice.")
            seen.add(row["id"])
        return rows


class ShipmentCreateSerializer(StrictSerializer):
    promised_date = serializers.DateField(
        required=False, allow_null=True, help_text="The date agreed with the partner."
    )


class ShipmentStateSerializer(StrictSerializer):
    action = PlainChoiceField(
        choices=[(action, action) for action in TRANSITIONS],
        help_text="ready (draft → ready), done (draft or ready → done), cancel (draft or "
        "ready → cancelled).",
    )
    actual_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="For done: the day the goods moved; default today, never in the future.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("actual_date") is not None and attrs["action"] != "done":
            raise serializers.ValidationError(
                {"actual_date": ["Only marking a shipment done takes an actual date."]}
            )
        return attrs
