"""The cases API: cases, their states, timeline, notes, replies and watchers;
sections and case types.

Who sees what
    The same rules as the case pages (``goodwill.cases.permissions``): agents see
    the cases of public sections, of the sections they belong to, and the cases
    assigned to them; managers and administrators see every case. A case out of
    sight is a 404, exactly like a number that does not exist, so members-only
    sections do not reveal which numbers they hold. Portal users and users with
    no role are refused (403) everywhere, and so is a request without valid
    credentials.

Endpoints (the OpenAPI schema is at ``/api/schema/``)
    ``GET    /api/cases/``                         list; filters filter q section case_type
                                                  state priority responsible partner sort
    ``POST   /api/cases/``                         create; 201 with the case
    ``GET    /api/cases/{number}/``                everything about one case
    ``PATCH  /api/cases/{number}/``                change the keys sent
    ``POST   /api/cases/{number}/state/``          ``{"action": "open|pending|close|cancel|reset"}``
    ``POST   /api/cases/{number}/escalate/``       to the parent section (``{"note": "…"}``)
    ``POST   /api/cases/{number}/assign/``         ``{"responsible": user id or null}``
    ``POST   /api/cases/{number}/merge/``          ``{"into": number}``: fold this case into
                                                  that one (managers and administrators)
    ``GET    /api/cases/{number}/timeline/``       the history, newest first
    ``POST   /api/cases/{number}/notes/``          ``{"body": "…"}``: an internal note; 201
    ``POST   /api/cases/{number}/replies/``        ``{"body", "to"?, "cc"?}``: a reply to the
                                                  requester, queued in the outbox; 201
    ``GET    /api/cases/{number}/watchers/``       who follows the case
    ``POST   /api/cases/{number}/watchers/``       ``{"user": id}`` or ``{"email": "…"}``; 201
    ``DELETE /api/cases/{number}/watchers/{id}/``  stop watching; 204
    ``GET    /api/sections/``                      the sections you can see, with stages and
                                                  categories
    ``GET    /api/case-types/``                    every case type

Errors
    As in the partners API: ``{"detail": "…"}``, and for a 400 ``"errors":
    {"field": ["…"]}``. A transition that the case's state does not allow, or a
    change to a case that is closed for good or merged, is a 400 with the
    service's message in ``detail``. Nothing is saved when a request is refused.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.api.case_serializers import (
    AssignSerializer,
    CaseDetailSerializer,
    CaseFilterSerializer,
    CaseMergeSerializer,
    CaseNoteSerializer,
    CasePageSerializer,
    CaseTimelineEntrySerializer,
    CaseTimelinePageSerializer,
    CaseTypeListSerializer,
    CaseWriteSerializer,
    EscalateSerializer,
    OutboundMessageSerializer,
    ReplySerializer,
    SectionListSerializer,
    StateSerializer,
    WatcherAddSerializer,
    WatcherListSerializer,
    WatcherSerializer,
)
from goodwill.api.pagination import page_links
from goodwill.api.permissions import staff_user
from goodwill.api.serializers import ErrorSerializer
from goodwill.cases import selectors, services
from goodwill.cases.models import Case, CaseCategory, CaseState, CaseType, Priority, Watcher
from goodwill.cases.permissions import (
    can_case,
    check_case_action,
    get_case_for_user,
    visible_cases,
    visible_section_ids,
    visible_sections,
)
from goodwill.cases.selectors import BUILTIN_FILTERS, SORTS

TAGS = ["cases"]
REFUSED = {403: ErrorSerializer}
MISSING = {403: ErrorSerializer, 404: ErrorSerializer}
INVALID = {400: ErrorSerializer}

NUMBER = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description='Case number (1042 for "#1042").'
)
CURSOR = OpenApiParameter(
    "cursor",
    OpenApiTypes.STR,
    description="Where a page starts; take it from the `next` or `previous` link.",
)
FILTERS = [
    OpenApiParameter(
        "filter",
        OpenApiTypes.STR,
        enum=list(BUILTIN_FILTERS),
        description="A built-in filter: "
        + ", ".join(f"`{k}` {v}" for k, v in BUILTIN_FILTERS.items()),
    ),
    OpenApiParameter(
        "q", OpenApiTypes.STR, description='Words of the subject, partner or requester; "#1042".'
    ),
    OpenApiParameter("section", OpenApiTypes.STR, description="A section id or code."),
    OpenApiParameter("case_type", OpenApiTypes.STR, description="A case type id or code."),
    OpenApiParameter("state", OpenApiTypes.STR, enum=CaseState.values),
    OpenApiParameter("priority", OpenApiTypes.INT, enum=Priority.values),
    OpenApiParameter("responsible", OpenApiTypes.INT, description="A user id."),
    OpenApiParameter("partner", OpenApiTypes.INT, description="A partner id."),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(SORTS), default="updated"),
    CURSOR,
]


def _writer_context(request: Request) -> dict[str, Any]:
    return {"request": request, "user": request.user}


def _detail(request: Request, case: Case, *, status_code: int = status.HTTP_200_OK) -> Response:
    """*case* read again with everything its representation shows.

    Only called once the permission helper has let the request through (the
    case may since have moved out of the user's sight, by their own action).
    """
    case = selectors.case_detail_queryset().get(pk=case.pk)
    data = CaseDetailSerializer(case, context=_detail_context(request, case)).data
    headers = {"Location": data["url"]} if status_code == status.HTTP_201_CREATED else None
    return Response(data, status=status_code, headers=headers)


def _detail_context(request: Request, case: Case) -> dict[str, Any]:
    user = request.user
    others = [pk for pk in (case.related_id, case.merged_into_id) if pk is not None]
    visible = set(visible_cases(user).filter(pk__in=others).values_list("pk", flat=True))
    writable = not case.final and case.merged_into_id is None
    return {
        "request": request,
        "visible_case_ids": visible if others else set(),
        "allowed": {
            "change": writable and can_case(user, "change"),
            "merge": writable and can_case(user, "merge"),
            "states": services.case_state_actions(case) if can_case(user, "change") else [],
        },
    }


# --------------------------------------------------------------------------
# List and create


@extend_schema(
    methods=["GET"],
    operation_id="cases_list",
    summary="List cases",
    description="One page of the cases you can see that match the filters, most recently "
    "updated first; follow `next` for more. Merged cases are left out.",
    parameters=FILTERS,
    responses={200: CasePageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="cases_create",
    summary="Create a case",
    description="In draft, or open at once with `open: true`. The section defaults to the "
    "case type's, the stage to the section's first, the requester email to the contact's "
    "or partner's.",
    request=CaseWriteSerializer,
    responses={201: CaseDetailSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def case_collection(request: Request) -> Response:
    if request.method == "POST":
        return _case_create(request)
    check_case_action(request.user, "view")
    params = {key: value for key, value in request.query_params.items() if value != ""}
    serializer = CaseFilterSerializer(data=params, context=_writer_context(request))
    serializer.is_valid(raise_exception=True)
    filters = serializer.filters()
    page = selectors.case_list_page(
        user=request.user, filters=filters, cursor=request.query_params.get("cursor") or None
    )
    data = {"results": page.items, **page_links(request, page, filters.as_query())}
    return Response(CasePageSerializer(data, context={"request": request}).data)


def _case_create(request: Request) -> Response:
    check_case_action(request.user, "create")
    serializer = CaseWriteSerializer(data=request.data, context=_writer_context(request))
    serializer.is_valid(raise_exception=True)
    case = services.case_create(
        by=staff_user(request),
        values=serializer.service_values(),
        open_now=serializer.validated_data["open"],
    )
    return _detail(request, case, status_code=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Detail and update


@extend_schema(
    methods=["GET"],
    operation_id="cases_retrieve",
    summary="Show a case",
    parameters=[NUMBER],
    responses={200: CaseDetailSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["PATCH"],
    operation_id="cases_partial_update",
    summary="Change a case",
    description="Changes the keys sent and nothing else; the timeline records each change "
    "with its old and new value. The state has its own endpoint.",
    parameters=[NUMBER],
    request=CaseWriteSerializer,
    responses={200: CaseDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONParser])
def case_detail(request: Request, number: int) -> Response:
    if request.method == "PATCH":
        case = get_case_for_user(request.user, number, action="change")
        serializer = CaseWriteSerializer(
            data=request.data, partial=True, context=_writer_context(request)
        )
        serializer.is_valid(raise_exception=True)
        services.case_update(case=case, by=staff_user(request), values=serializer.service_values())
        return _detail(request, case)
    case = get_case_for_user(request.user, number, queryset=selectors.case_detail_queryset())
    return Response(CaseDetailSerializer(case, context=_detail_context(request, case)).data)


# --------------------------------------------------------------------------
# State, escalation, assignment, merge


@extend_schema(
    operation_id="cases_state",
    summary="Change a case's state",
    description="draft → open ↔ pending → done or cancelled; reset returns a case to draft. "
    "Opening a case without a responsible assigns you. An action the current state does "
    "not allow is a 400 saying why.",
    parameters=[NUMBER],
    request=StateSerializer,
    responses={200: CaseDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_state(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = StateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    services.case_set_state(
        case=case, by=staff_user(request), action=serializer.validated_data["action"]
    )
    return _detail(request, case)


@extend_schema(
    operation_id="cases_escalate",
    summary="Escalate a case",
    description="Hands the case to the parent section and to that section's responsible user.",
    parameters=[NUMBER],
    request=EscalateSerializer,
    responses={200: CaseDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_escalate(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = EscalateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    services.case_escalate(
        case=case, by=staff_user(request), note=serializer.validated_data.get("note")
    )
    return _detail(request, case)


@extend_schema(
    operation_id="cases_assign",
    summary="Assign a case",
    parameters=[NUMBER],
    request=AssignSerializer,
    responses={200: CaseDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_assign(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = AssignSerializer(data=request.data, context=_writer_context(request))
    serializer.is_valid(raise_exception=True)
    services.case_assign(
        case=case, by=staff_user(request), responsible=serializer.validated_data["responsible"]
    )
    return _detail(request, case)


@extend_schema(
    operation_id="cases_merge",
    summary="Merge this case into another",
    description="This case's timeline, watchers, links, attachments and outbox move to the "
    "case `into`; this one is cancelled and its `merged_into` points there. Returns the "
    "case merged into.",
    parameters=[NUMBER],
    request=CaseMergeSerializer,
    responses={200: CaseDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_merge(request: Request, number: int) -> Response:
    drop = get_case_for_user(request.user, number, action="merge")
    serializer = CaseMergeSerializer(data=request.data, context=_writer_context(request))
    serializer.is_valid(raise_exception=True)
    keep = services.case_merge(
        keep=serializer.validated_data["into"], drop=drop, by=staff_user(request)
    )
    return _detail(request, keep)


# --------------------------------------------------------------------------
# Timeline, notes and replies


@extend_schema(
    operation_id="cases_timeline",
    summary="A case's timeline",
    description="Notes, emails, state and field changes, newest first, a page at a time. "
    "An email sent from the case carries its outbox `message` (status queued, sent, …).",
    parameters=[NUMBER, CURSOR],
    responses={200: CaseTimelinePageSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def case_timeline(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number)
    page = selectors.case_timeline_page(
        case=case, cursor=request.query_params.get("cursor") or None
    )
    data = {"results": page.items, **page_links(request, page, {})}
    return Response(CaseTimelinePageSerializer(data, context={"request": request}).data)


@extend_schema(
    operation_id="cases_notes_create",
    summary="Add an internal note to a case",
    parameters=[NUMBER],
    request=CaseNoteSerializer,
    responses={201: CaseTimelineEntrySerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_note_add(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = CaseNoteSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    entry = services.case_note_add(
        case=case, by=staff_user(request), body=serializer.validated_data["body"]
    )
    return Response(CaseTimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="cases_replies_create",
    summary="Reply to the requester",
    description="Queues an email in the outbox (status `queued`); the email gateway sends "
    "it. It goes to the requester (or `to`), with the watchers' addresses in Cc (or `cc`). "
    "The subject carries the case tag and the Message-ID threads answers back here.",
    parameters=[NUMBER],
    request=ReplySerializer,
    responses={201: OutboundMessageSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_reply(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = ReplySerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    message = services.case_reply(
        case=case,
        by=staff_user(request),
        body=data["body"],
        to=data.get("to") or (),
        cc=data.get("cc"),
    )
    return Response(OutboundMessageSerializer(message).data, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Watchers


@extend_schema(
    methods=["GET"],
    operation_id="cases_watchers_list",
    summary="A case's watchers",
    parameters=[NUMBER],
    responses={200: WatcherListSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="cases_watchers_create",
    summary="Add a watcher",
    description='A staff user (`{"user": id}`) or an email address (`{"email": "…"}`), '
    "which then gets the replies in Cc.",
    parameters=[NUMBER],
    request=WatcherAddSerializer,
    responses={201: WatcherSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def case_watchers(request: Request, number: int) -> Response:
    if request.method == "POST":
        case = get_case_for_user(request.user, number, action="change")
        serializer = WatcherAddSerializer(data=request.data, context=_writer_context(request))
        serializer.is_valid(raise_exception=True)
        watcher = services.watcher_add(
            case=case,
            by=staff_user(request),
            user=serializer.validated_data.get("user"),
            email=serializer.validated_data.get("email", ""),
        )
        return Response(WatcherSerializer(watcher).data, status=status.HTTP_201_CREATED)
    case = get_case_for_user(request.user, number)
    watchers = case.watchers.select_related("user").order_by("id")
    return Response(WatcherListSerializer({"results": watchers}).data)


@extend_schema(
    operation_id="cases_watchers_destroy",
    summary="Remove a watcher",
    parameters=[
        NUMBER,
        OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Watcher id."),
    ],
    request=None,
    responses={204: None, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["DELETE"])
def case_watcher_remove(request: Request, number: int, pk: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    try:
        watcher = Watcher.objects.select_related("case", "user").get(pk=pk, case=case)
    except Watcher.DoesNotExist:
        raise Http404("No such watcher.") from None
    services.watcher_remove(watcher=watcher, by=staff_user(request))
    return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------
# Sections and case types


@extend_schema(
    operation_id="sections_list",
    summary="List sections",
    description="The sections whose cases you can see (they are few), with their stages "
    "and categories.",
    responses={200: SectionListSerializer, **REFUSED},
    tags=["sections"],
)
@api_view(["GET"])
def section_list(request: Request) -> Response:
    check_case_action(request.user, "view")
    sections = (
        visible_sections(request.user)
        .select_related("responsible")
        .prefetch_related("stages", Prefetch("categories", CaseCategory.objects.order_by("name")))
    )
    context = {"request": request, "visible_section_ids": visible_section_ids(request.user)}
    return Response(SectionListSerializer({"results": sections}, context=context).data)


@extend_schema(
    operation_id="case_types_list",
    summary="List case types",
    description="Every case type, in menu order, with the groups of fields it uses.",
    responses={200: CaseTypeListSerializer, **REFUSED},
    tags=["case types"],
)
@api_view(["GET"])
def case_type_list(request: Request) -> Response:
    check_case_action(request.user, "view")
    context = {"request": request, "visible_section_ids": visible_section_ids(request.user)}
    types = CaseType.objects.order_by("sequence", "name")
    return Response(CaseTypeListSerializer({"results": types}, context=context).data)
