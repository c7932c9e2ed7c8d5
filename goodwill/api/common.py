"""What the sales, shipment, campaign, casework and statement endpoints share:
reading a request's body and filters, answering with one object or one page of
a list, and the schema pieces every endpoint repeats."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, Serializer

from goodwill.api.pagination import page_links
from goodwill.api.serializers import ErrorSerializer
from goodwill.lib.pagination import keyset_page

PAGE_SIZE = 50
REFUSED = {403: ErrorSerializer}
MISSING = {403: ErrorSerializer, 404: ErrorSerializer}
INVALID = {400: ErrorSerializer}

ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
CURSOR = OpenApiParameter(
    "cursor",
    OpenApiTypes.STR,
    description="Where a page starts; take it from the `next` or `previous` link.",
)

M = TypeVar("M", bound=Model)


def params(request: Request) -> dict[str, Any]:
    """The query parameters that were sent with a value."""
    return {key: value for key, value in request.query_params.items() if value != ""}


def context(request: Request, **extra: Any) -> dict[str, Any]:
    """A serializer context with the request, its user and *extra*."""
    return {"request": request, "user": request.user, **extra}


def body(
    request: Request, serializer_class: type[Serializer], *, partial: bool = False
) -> dict[str, Any]:
    """The request body, checked by *serializer_class*; a 400 if it is wrong."""
    checked = serializer_class(data=request.data, partial=partial, context=context(request))
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)


def filters(request: Request, serializer_class: type[Serializer]) -> Serializer:
    """The query parameters, checked by *serializer_class*; a 400 if one is wrong."""
    checked = serializer_class(data=params(request), context=context(request))
    checked.is_valid(raise_exception=True)
    return checked


def exact_filters(rows: QuerySet[M], values: Mapping[str, Any], **fields: str) -> QuerySet[M]:
    """*rows* narrowed to each filter of *values* named in *fields*, on the field
    it maps to (``partner="partner_id"``); a filter not sent is left out."""
    for name, field in fields.items():
        if values.get(name):
            rows = rows.filter(**{field: values[name]})
    return rows


def flag_filter(rows: QuerySet[M], flag: bool | None, condition: Q) -> QuerySet[M]:
    """*rows* that meet *condition* when *flag* is true, those that do not when it
    is false, and all of them when it was not sent."""
    if flag is True:
        return rows.filter(condition)
    if flag is False:
        return rows.exclude(condition)
    return rows


def page_response(
    request: Request,
    rows: QuerySet[M],
    *,
    filters: Serializer,
    sort: str,
    page_serializer: type[BaseSerializer[Any]],
    context: dict[str, Any],
) -> Response:
    """One page of *rows*; its links repeat the *filters* that were sent."""
    cursor = request.query_params.get("cursor") or None
    page = keyset_page(rows, sort=sort, cursor=cursor, limit=PAGE_SIZE)
    echo = {key: value for key, value in params(request).items() if key in filters.fields}
    data = {"results": page.items, **page_links(request, page, echo)}
    return Response(page_serializer(data, context=context).data)


def respond(data: Mapping[str, Any], status_code: int) -> Response:
    """*data* with *status_code*; a 201 says where the new object is."""
    headers = {"Location": data["url"]} if status_code == status.HTTP_201_CREATED else None
    return Response(data, status=status_code, headers=headers)


def action_schema(
    *,
    tags: list[str],
    operation_id: str,
    summary: str,
    description: str,
    response: type[Serializer],
    request: type[Serializer] | None = None,
    created: bool = False,
) -> Callable[[Any], Any]:
    """The schema of a POST that acts on one object and answers with *response*."""
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        parameters=[ID],
        request=request,
        responses={code: response, **INVALID, **MISSING},
        tags=tags,
    )
