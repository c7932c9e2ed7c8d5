"""The statement of account of a partner over the API.

Who may see it
    As on the statement page (``goodwill.sales.statement_views``): whoever may
    see invoices may see the statement of any partner they may see. Portal
    users and users with no role are refused (403); an unknown partner is a 404.

Endpoint (the OpenAPI schema is at ``/api/schema/``)
    ``GET /api/partners/{id}/statement/``  date_from date_to currency include_children

The figures are ``goodwill.sales.statements.partner_statement``'s, read in a
fixed handful of queries however many documents the partner has.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.api import common
from goodwill.api.common import INVALID, MISSING
from goodwill.api.sales import PARTNER, TAGS
from goodwill.api.statement_serializers import StatementQuerySerializer, StatementSerializer
from goodwill.partners.permissions import get_partner_for_user
from goodwill.sales.document_permissions import check_invoice_action
from goodwill.sales.statements import partner_statement


@extend_schema(
    operation_id="partners_statement_retrieve",
    summary="A partner's statement of account",
    description="Per side (`receivable`, `payable`) and currency: the opening balance on "
    "`date_from`, every posted document and payment of the period in date order with the "
    "running balance, the closing balance on `date_to`, and the aging of what was still "
    "open that day. Default: the last 12 months, every currency, with the subsidiaries of "
    "a company (`include_children=false` leaves them out). A period of more than 20 years, "
    "or one that ends before it starts, is a 400.",
    parameters=[
        PARTNER,
        OpenApiParameter("date_from", OpenApiTypes.DATE, description="The first day."),
        OpenApiParameter("date_to", OpenApiTypes.DATE, description="The last day."),
        OpenApiParameter("currency", OpenApiTypes.STR, description="Only this currency."),
        OpenApiParameter("include_children", OpenApiTypes.BOOL, description="Default: true."),
    ],
    responses={200: StatementSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def partner_statement_view(request: Request, pk: int) -> Response:
    check_invoice_action(request.user)
    partner = get_partner_for_user(request.user, pk)
    values = common.filters(request, StatementQuerySerializer).validated_data
    statement = partner_statement(
        partner=partner,
        date_from=values["date_from"],
        date_to=values["date_to"],
        currency=values.get("currency") or None,
        include_children=values["include_children"],
    )
    return Response(StatementSerializer(statement, context=common.context(request)).data)
