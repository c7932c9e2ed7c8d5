"""The partners API: companies and people, their timeline, and categories.

Authentication
    Send a token, ``Authorization: Token <key>``, or use the session cookie of a
    logged-in browser (which then also needs the CSRF token on writes). An
    administrator creates tokens in the admin (``/admin/``, *Auth Token › Tokens*,
    one per user); a token acts as its user, with that user's role. Deleting the
    token revokes it. Portal users and users with
    no role are refused (403) everywhere, and so is a request without valid
    credentials (403: session authentication comes first, and it sends no
    ``WWW-Authenticate`` challenge that a 401 would need).

Endpoints (the OpenAPI schema is at ``/api/schema/``)
    ``GET    /api/partners/``                list; filters q kind role category country status sort
    ``POST   /api/partners/``                create; 201 with the partner
    ``GET    /api/partners/{id}/``           everything about one partner
    ``PATCH  /api/partners/{id}/``           change the keys sent; a list sent replaces the old one
    ``POST   /api/partners/{id}/archive/``   archive (managers and administrators)
    ``POST   /api/partners/{id}/restore/``   restore an archived partner (idem)
    ``POST   /api/partners/{id}/merge/``     ``{"drop": id}``: fold that partner into this (idem)
    ``GET    /api/partners/{id}/timeline/``  the history, newest first
    ``POST   /api/partners/{id}/notes/``     ``{"body": "…"}``: add a note; 201 with the entry
    ``GET    /api/categories/``              every category, with its full path

Lists
    Lists are paginated with cursors, never counted: a page is
    ``{"results": [...], "next": url or null, "previous": url or null}``; follow
    ``next`` until it is null. A cursor that was edited or truncated gets a 400.
    ``q`` searches names, email addresses, phone numbers (any notation), VAT ids
    and cities; ``status`` is ``active`` (default), ``archived`` or ``all``;
    ``sort`` is ``name``, ``created`` or ``updated``, ``-`` first for descending.
    A filter value that is not valid is a 400, not ignored.

Writing
    Send JSON. A partner is created with at least ``kind`` and ``name``::

        curl -H "Authorization: Token $TOKEN" -H "Content-Type: application/json" \\
             -d '{"kind": "company", "name": "Initech", "is_customer": true,
                  "emails": [{"email": "sales@initech.example"}],
                  "phones": [{"number": "+44 20 7946 0958", "kind": "work"}],
                  "addresses": [{"city": "London", "country": "GB"}],
                  "categories": [3]}' \\
             https://crm.example.com/api/partners/

    A phone number without its +country code is read as a number of the country
    of the partner's first address. Phones come back in E.164 (``number``) and
    for display (``display``). A person can be linked to companies on creation
    with ``"companies": [{"company": 12, "job_title": "Buyer"}]``. Every change is
    recorded on the partner's timeline with the old and new values. A partner's
    ``allowed`` says which of change, note, archive and merge your role may do.

Errors
    Every error is ``{"detail": "…"}``; a 400 adds ``"errors": {"field": ["…"]}``
    (``non_field_errors`` for the request as a whole). Nothing is saved when a
    request is refused. 403: your role may not do this; 404: no such partner.
    Keys that a body does not know are refused, so a misspelt field is an error.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.api.pagination import page_links
from goodwill.api.partner_serializers import (
    CategoryListSerializer,
    MergeSerializer,
    NoteSerializer,
    PartnerDetailSerializer,
    PartnerPageSerializer,
    PartnerWriteSerializer,
    TimelineEntrySerializer,
    TimelinePageSerializer,
)
from goodwill.api.permissions import staff_user
from goodwill.api.serializers import ErrorSerializer
from goodwill.partners import selectors, services
from goodwill.partners.forms import PartnerFilterForm
from goodwill.partners.models import Category, Partner
from goodwill.partners.permissions import (
    can_partner,
    check_partner_action,
    get_partner_for_user,
)

TAGS = ["partners"]
REFUSED = {403: ErrorSerializer}
MISSING = {403: ErrorSerializer, 404: ErrorSerializer}
INVALID = {400: ErrorSerializer}

CURSOR = OpenApiParameter(
    "cursor",
    OpenApiTypes.STR,
    description="Where a page starts; take it from the `next` or `previous` link.",
)
FILTERS = [
    OpenApiParameter(
        "q", OpenApiTypes.STR, description="Words of the name, an email, a phone number, a VAT id."
    ),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Partner.Kind.values),
    OpenApiParameter("role", OpenApiTypes.STR, enum=list(selectors.ROLE_FIELDS)),
    OpenApiParameter(
        "category", OpenApiTypes.INT, description="A category id; its subcategories count too."
    ),
    OpenApiParameter("country", OpenApiTypes.STR, description="ISO 3166 code, e.g. DE."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=list(selectors.STATUSES), default="active"),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(selectors.SORTS), default="name"),
    CURSOR,
]
# What the detail tells the client it may do next (``can_partner``'s actions).
DETAIL_ACTIONS = ("change", "note", "archive", "merge")


def _detail(request: Request, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    """The partner *pk*, read again with everything its representation shows.

    Only called once the permission helper has let the request through.
    """
    partner = selectors.partner_detail_queryset().get(pk=pk)
    data = PartnerDetailSerializer(partner, context=_detail_context(request)).data
    headers = {"Location": data["url"]} if status_code == status.HTTP_201_CREATED else None
    return Response(data, status=status_code, headers=headers)


def _detail_context(request: Request) -> dict[str, Any]:
    return {
        "request": request,
        "category_paths": selectors.category_paths(),
        "allowed": {action: can_partner(request.user, action) for action in DETAIL_ACTIONS},
    }


# --------------------------------------------------------------------------
# List and create


@extend_schema(
    methods=["GET"],
    operation_id="partners_list",
    summary="List partners",
    description="One page of partners matching the filters; follow `next` for more.",
    parameters=FILTERS,
    responses={200: PartnerPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="partners_create",
    summary="Create a partner",
    request=PartnerWriteSerializer,
    responses={201: PartnerDetailSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def partner_collection(request: Request) -> Response:
    if request.method == "POST":
        return _partner_create(request)
    check_partner_action(request.user, "view")
    paths = selectors.category_paths()
    choices = selectors.category_choices(paths)
    form = PartnerFilterForm(request.query_params, categories=choices)
    filters = form.filters()
    if form.errors:
        raise serializers.ValidationError({k: [str(m) for m in v] for k, v in form.errors.items()})
    page = selectors.partner_list_page(
        filters=filters, cursor=request.query_params.get("cursor") or None
    )
    context = {"request": request, "category_paths": paths}
    data = {"results": page.items, **page_links(request, page, filters.to_dict())}
    return Response(PartnerPageSerializer(data, context=context).data)


def _partner_create(request: Request) -> Response:
    check_partner_action(request.user, "create")
    serializer = PartnerWriteSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    partner = services.partner_create(by=staff_user(request), **serializer.service_kwargs())
    return _detail(request, partner.pk, status_code=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Detail and update


PK = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Partner id.")


@extend_schema(
    methods=["GET"],
    operation_id="partners_retrieve",
    summary="Show a partner",
    parameters=[PK],
    responses={200: PartnerDetailSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="partners_partial_update",
    summary="Change a partner",
    description="Changes the keys sent and nothing else. A list that is sent (emails, "
    "phones, addresses, categories) replaces the partner's whole list. The timeline "
    "records each change with its old and new value.",
    parameters=[PK],
    request=PartnerWriteSerializer,
    responses={200: PartnerDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def partner_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        partner = get_partner_for_user(request.user, pk, action="change")
        serializer = PartnerWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.partner_update(
            partner=partner, by=staff_user(request), **serializer.service_kwargs()
        )
        return _detail(request, partner.pk)
    partner = get_partner_for_user(request.user, pk, queryset=selectors.partner_detail_queryset())
    return Response(PartnerDetailSerializer(partner, context=_detail_context(request)).data)


# --------------------------------------------------------------------------
# Archive, restore, merge


@extend_schema(
    operation_id="partners_archive",
    summary="Archive a partner",
    description="Archived partners leave the default list; their history stays.",
    parameters=[PK],
    request=None,
    responses={200: PartnerDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def partner_archive(request: Request, pk: int) -> Response:
    partner = get_partner_for_user(request.user, pk, action="archive")
    services.partner_archive(partner=partner, by=staff_user(request))
    return _detail(request, partner.pk)


@extend_schema(
    operation_id="partners_restore",
    summary="Restore an archived partner",
    parameters=[PK],
    request=None,
    responses={200: PartnerDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def partner_restore(request: Request, pk: int) -> Response:
    partner = get_partner_for_user(request.user, pk, action="archive")
    services.partner_restore(partner=partner, by=staff_user(request))
    return _detail(request, partner.pk)


@extend_schema(
    operation_id="partners_merge",
    summary="Merge another partner into this one",
    description="The other partner's emails, phones, addresses, categories, contacts and "
    "history move to this one; it is archived and its `merged_into` points here.",
    parameters=[PK],
    request=MergeSerializer,
    responses={200: PartnerDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def partner_merge(request: Request, pk: int) -> Response:
    keep = get_partner_for_user(request.user, pk, action="merge")
    serializer = MergeSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    services.partner_merge(
        keep=keep, drop=serializer.validated_data["drop"], by=staff_user(request)
    )
    return _detail(request, keep.pk)


# --------------------------------------------------------------------------
# Timeline and notes


@extend_schema(
    operation_id="partners_timeline",
    summary="A partner's timeline",
    description="Notes, changes and events, newest first, a page at a time.",
    parameters=[PK, CURSOR],
    responses={200: TimelinePageSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def partner_timeline(request: Request, pk: int) -> Response:
    partner = get_partner_for_user(request.user, pk)
    page = selectors.partner_timeline_page(
        partner=partner, cursor=request.query_params.get("cursor") or None, user=request.user
    )
    data = {"results": page.items, **page_links(request, page, {})}
    return Response(TimelinePageSerializer(data, context={"request": request}).data)


@extend_schema(
    operation_id="partners_notes_create",
    summary="Add a note to a partner",
    parameters=[PK],
    request=NoteSerializer,
    responses={201: TimelineEntrySerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def partner_note_add(request: Request, pk: int) -> Response:
    partner = get_partner_for_user(request.user, pk, action="note")
    serializer = NoteSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    entry = services.partner_note_add(
        partner=partner, by=staff_user(request), **serializer.validated_data
    )
    return Response(TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Categories


@extend_schema(
    operation_id="categories_list",
    summary="List categories",
    description="Every category (they are few), sorted by path.",
    responses={200: CategoryListSerializer, **REFUSED},
    tags=["categories"],
)
@api_view(["GET"])
def category_list(request: Request) -> Response:
    check_partner_action(request.user, "view")
    paths = selectors.category_paths()
    categories = sorted(
        Category.objects.only("id", "name", "parent_id"),
        key=lambda c: paths.get(c.pk, c.name).casefold(),
    )
    context = {"request": request, "category_paths": paths}
    return Response(CategoryListSerializer({"results": categories}, context=context).data)
