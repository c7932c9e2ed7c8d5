"""The shipments API: deliveries to customers and receipts from suppliers, and
a supplier's on-time delivery.

Who may do what
    As on the shipment pages (``goodwill.sales.shipment_views``): agents,
    managers and administrators see, make and change shipments; portal users
    and users with no role are refused (403). The role is checked before any
    lookup; an unknown id is a 404.

Endpoints (the OpenAPI schema is at ``/api/schema/``)
    ``GET        /api/sales/shipments/``             list; kind state partner order late
    ``GET|PATCH  /api/sales/shipments/{id}/``        one shipment with its lines; change the
                                                   dates, carrier, notes and quantities
    ``POST       /api/sales/shipments/{id}/state/``  ``{"action": "ready|done|cancel",
                                                   "actual_date"?}``
    ``POST       /api/sales/orders/{id}/shipments/`` draft the delivery or receipt of what
                                                   is left on an order; 201
    ``GET        /api/partners/{id}/on-time/``       a supplier's on-time delivery

Every change goes through ``goodwill.sales.shipments``; what it refuses is a
400 with its message, keyed by field where it names one.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.api import common
from goodwill.api.common import CURSOR, ID, INVALID, MISSING, REFUSED
from goodwill.api.permissions import staff_user
from goodwill.api.sales import PARTNER, TAGS
from goodwill.api.shipment_serializers import (
    OnTimeQuerySerializer,
    OnTimeSerializer,
    ShipmentCreateSerializer,
    ShipmentDetailSerializer,
    ShipmentFilterSerializer,
    ShipmentPageSerializer,
    ShipmentStateSerializer,
    ShipmentUpdateSerializer,
)
from goodwill.partners.permissions import get_partner_for_user
from goodwill.sales import shipments
from goodwill.sales.document_permissions import get_order_for_user
from goodwill.sales.models import Shipment, ShipmentLine
from goodwill.sales.shipment_views import can_ship, check_shipment_action, get_shipment_for_user


def _allowed(user: Any, shipment: Shipment) -> dict[str, Any]:
    may_change = can_ship(user, "change")
    return {
        "change": may_change and shipment.state in shipments.EDITABLE_STATES,
        "states": [
            action
            for action, (sources, _) in shipments.TRANSITIONS.items()
            if may_change and shipment.state in sources
        ],
    }


def _shipment_response(
    request: Request, pk: int, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """Shipment *pk* with its lines; the caller checked the permission."""
    shipment = (
        shipments.shipment_queryset()
        .select_related("created_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("order_line").order_by(
                    "sequence", "id"
                ),
            )
        )
        .get(pk=pk)
    )
    context = common.context(
        request, today=timezone.localdate(), allowed=_allowed(request.user, shipment)
    )
    return common.respond(ShipmentDetailSerializer(shipment, context=context).data, status_code)


@extend_schema(
    operation_id="sales_shipments_list",
    summary="List deliveries and receipts",
    description="Newest first, one page at a time. `late=true` keeps the shipments done "
    "after their promised date or still open past it; `late=false` the others.",
    parameters=[
        OpenApiParameter("kind", OpenApiTypes.STR, enum=Shipment.Kind.values),
        OpenApiParameter("state", OpenApiTypes.STR, enum=Shipment.State.values),
        OpenApiParameter("partner", OpenApiTypes.INT, description="A partner id."),
        OpenApiParameter("order", OpenApiTypes.INT, description="An order id."),
        OpenApiParameter("late", OpenApiTypes.BOOL),
        CURSOR,
    ],
    responses={200: ShipmentPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET"])
def shipment_list(request: Request) -> Response:
    check_shipment_action(request.user)
    filters = common.filters(request, ShipmentFilterSerializer)
    values = filters.validated_data
    today = timezone.localdate()
    rows = common.exact_filters(
        shipments.shipment_queryset(),
        values,
        kind="kind",
        state="state",
        partner="partner_id",
        order="order_id",
    )
    rows = common.flag_filter(rows, values.get("late"), shipments.late_q(today))
    return common.page_response(
        request,
        rows,
        filters=filters,
        sort="-id",
        page_serializer=ShipmentPageSerializer,
        context=common.context(request, today=today),
    )


@extend_schema(
    methods=["GET"],
    operation_id="sales_shipments_retrieve",
    summary="Show a delivery or receipt",
    description="With its lines (and how much of each order line is delivered so far) and "
    "what you may do with it now.",
    parameters=[ID],
    responses={200: ShipmentDetailSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="sales_shipments_partial_update",
    summary="Change a draft or ready shipment",
    description="Changes the keys sent: `promised_date`, `carrier`, `tracking_reference`, "
    "`notes`, and in `lines` the quantity of each line named by its id. A quantity is 0 or "
    "more and at most what is left on its order line; an error about one is keyed "
    "`quantity_<line id>`. A done or cancelled shipment does not change (a 400).",
    parameters=[ID],
    request=ShipmentUpdateSerializer,
    responses={200: ShipmentDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def shipment_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        shipment = get_shipment_for_user(request.user, pk, action="change")
        values = common.body(request, ShipmentUpdateSerializer, partial=True)
        rows = values.pop("lines", None) or []
        shipments.shipment_update(
            shipment=shipment,
            by=staff_user(request),
            values=values,
            quantities={row["id"]: row["quantity"] for row in rows},
        )
        return _shipment_response(request, shipment.pk)
    shipment = get_shipment_for_user(request.user, pk)
    return _shipment_response(request, shipment.pk)


@common.action_schema(
    tags=TAGS,
    operation_id="sales_shipments_state",
    summary="Mark a shipment ready or done, or cancel it",
    description="`ready`: draft → ready; `done`: draft or ready → done, on `actual_date` "
    "(today unless given; never in the future), adding the quantities to the order's lines; "
    "`cancel`: draft or ready → cancelled. A done shipment cannot be cancelled, and a move "
    "the state does not allow is a 400 that says why.",
    request=ShipmentStateSerializer,
    response=ShipmentDetailSerializer,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def shipment_state(request: Request, pk: int) -> Response:
    shipment = get_shipment_for_user(request.user, pk, action="change")
    values = common.body(request, ShipmentStateSerializer)
    shipments.shipment_set_state(
        shipment=shipment,
        by=staff_user(request),
        action=values["action"],
        actual_date=values.get("actual_date"),
    )
    return _shipment_response(request, shipment.pk)


@common.action_schema(
    tags=TAGS,
    operation_id="sales_orders_shipments_create",
    summary="Ship an order",
    description="A draft delivery (for a sales order) or receipt (for a purchase order) of "
    "what is left: each line's quantity less what was delivered and what other open "
    "shipments plan; service products are not shipped. The order must be confirmed (or "
    "done). The answer is the shipment.",
    request=ShipmentCreateSerializer,
    response=ShipmentDetailSerializer,
    created=True,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def order_shipment_create(request: Request, pk: int) -> Response:
    check_shipment_action(request.user, "add")
    order = get_order_for_user(request.user, pk)
    values = common.body(request, ShipmentCreateSerializer)
    shipment = shipments.shipment_create_from_order(
        order=order, by=staff_user(request), promised_date=values.get("promised_date")
    )
    return _shipment_response(request, shipment.pk, status_code=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="partners_on_time_retrieve",
    summary="A supplier's on-time delivery",
    description="Of the supplier's done receipts that had a promised date (those done on or "
    "after `since`, if given): how many came on time and how many late, the share on time "
    "in percent, and how many days late the late ones were on average. Counted in one query.",
    parameters=[
        PARTNER,
        OpenApiParameter("since", OpenApiTypes.DATE, description="Default: every receipt."),
    ],
    responses={200: OnTimeSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def partner_on_time(request: Request, pk: int) -> Response:
    check_shipment_action(request.user)
    partner = get_partner_for_user(request.user, pk)
    since = common.filters(request, OnTimeQuerySerializer).validated_data.get("since")
    figures = shipments.on_time_rate(partner, since=since)
    data = {
        "partner": partner,
        "since": since,
        "receipts": figures.receipts,
        "on_time": figures.on_time,
        "late": figures.late,
        "rate": figures.rate,
        "average_days_late": figures.average_days_late,
    }
    return Response(OnTimeSerializer(data, context=common.context(request)).data)
