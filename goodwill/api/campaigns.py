"""The campaigns API: the list, one campaign with what it brought, and creating,
changing and deleting campaigns.

Who may do what
    As on the campaign pages (``goodwill.campaigns.permissions``): agents see
    campaigns; managers and administrators also create, change and delete
    them. Portal users and users with no role are refused (403). The role is
    checked before any lookup; an unknown id is a 404.

Endpoints (the OpenAPI schema is at ``/api/schema/``)
    ``GET|POST          /api/campaigns/``       list; q channel status running; create; 201
    ``GET|PATCH|DELETE  /api/campaigns/{id}/``  one campaign with its revenue against its
                                              costs; change the keys sent; delete (204)

Every change goes through ``goodwill.campaigns.services``; what it refuses (a
code in use, a period that ends before it starts, deleting a campaign that
documents or cases carry) is a 400 with its message.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.api import common
from goodwill.api.campaign_serializers import (
    STATUS_CHOICES,
    CampaignDetailSerializer,
    CampaignFilterSerializer,
    CampaignPageSerializer,
    CampaignWriteSerializer,
    selector_filters,
)
from goodwill.api.common import CURSOR, ID, INVALID, MISSING, REFUSED
from goodwill.api.permissions import staff_user
from goodwill.campaigns import services
from goodwill.campaigns.models import Campaign
from goodwill.campaigns.permissions import check_campaign_action, get_campaign_for_user
from goodwill.campaigns.results import campaign_results
from goodwill.campaigns.selectors import campaign_queryset

TAGS = ["campaigns"]


def _campaign_context(request: Request, **extra: Any) -> dict[str, Any]:
    return common.context(
        request, currency=settings.COMPANY_CURRENCY, today=timezone.localdate(), **extra
    )


def _campaign_response(
    request: Request, pk: int, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """Campaign *pk* with its results as *request*'s user may see them; the caller
    checked the permission."""
    campaign = Campaign.objects.select_related("created_by").get(pk=pk)
    results = campaign_results(campaign=campaign, user=request.user)
    context = _campaign_context(request, results=results)
    return common.respond(CampaignDetailSerializer(campaign, context=context).data, status_code)


@extend_schema(
    methods=["GET"],
    operation_id="campaigns_list",
    summary="List campaigns",
    description="By name, one page at a time; active ones unless `status` says otherwise. "
    "`running=true` keeps those that have started and not ended today.",
    parameters=[
        OpenApiParameter(
            "q", OpenApiTypes.STR, description="Part of the name, or the start of the code."
        ),
        OpenApiParameter("channel", OpenApiTypes.STR, enum=Campaign.Channel.values),
        OpenApiParameter("status", OpenApiTypes.STR, enum=[value for value, _ in STATUS_CHOICES]),
        OpenApiParameter("running", OpenApiTypes.BOOL),
        CURSOR,
    ],
    responses={200: CampaignPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="campaigns_create",
    summary="Create a campaign",
    description="Managers and administrators. `name` and `code` are required; the code is "
    "stored lower-cased and must be unique.",
    request=CampaignWriteSerializer,
    responses={201: CampaignDetailSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def campaign_collection(request: Request) -> Response:
    if request.method == "POST":
        check_campaign_action(request.user, "add")
        values = common.body(request, CampaignWriteSerializer)
        campaign = services.campaign_save(by=staff_user(request), values=values)
        return _campaign_response(request, campaign.pk, status_code=status.HTTP_201_CREATED)
    check_campaign_action(request.user)
    filters = common.filters(request, CampaignFilterSerializer)
    today = timezone.localdate()
    return common.page_response(
        request,
        campaign_queryset(selector_filters(filters.validated_data), today=today),
        filters=filters,
        sort="name",
        page_serializer=CampaignPageSerializer,
        context=_campaign_context(request),
    )


@extend_schema(
    methods=["GET"],
    operation_id="campaigns_retrieve",
    summary="Show a campaign",
    description="With `results`: its revenue (net invoiced, untaxed, in the company "
    "currency) against its actual costs, and the counts and latest of the orders, invoices "
    "and cases that carry it, as far as your role may see them.",
    parameters=[ID],
    responses={200: CampaignDetailSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="campaigns_partial_update",
    summary="Change a campaign",
    description="Managers and administrators; changes the keys sent.",
    parameters=[ID],
    request=CampaignWriteSerializer,
    responses={200: CampaignDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["DELETE"],
    operation_id="campaigns_destroy",
    summary="Delete a campaign",
    description="Managers and administrators. A campaign that orders, invoices or cases "
    "carry cannot be deleted (a 400): make it inactive instead, so that its results stay.",
    parameters=[ID],
    request=None,
    responses={204: None, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH", "DELETE"])
@parser_classes([JSONParser])
def campaign_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        campaign = get_campaign_for_user(request.user, pk, action="change")
        values = common.body(request, CampaignWriteSerializer, partial=True)
        services.campaign_save(by=staff_user(request), campaign=campaign, values=values)
        return _campaign_response(request, campaign.pk)
    if request.method == "DELETE":
        campaign = get_campaign_for_user(request.user, pk, action="delete")
        services.campaign_delete(by=staff_user(request), campaign=campaign)
        return Response(status=status.HTTP_204_NO_CONTENT)
    campaign = get_campaign_for_user(request.user, pk)
    return _campaign_response(request, campaign.pk)
