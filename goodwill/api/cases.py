"""The cases API: cases, their states, timeline, notes, replies, watchers, links,
files, expense claims, splitting and bulk actions; sections and case types.

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
    ``POST   /api/cases/bulk/``                    ``{"action": "assign|state|priority|merge",
                                                  "numbers": [...], …}``: many cases at once
    ``POST   /api/cases/{number}/state/``          ``{"action": "open|pending|close|cancel|reset",
                                                  "note"?}``
    ``POST   /api/cases/{number}/escalate/``       to the parent section (``{"note": "…"}``)
    ``POST   /api/cases/{number}/assign/``         ``{"responsible": user id or null}``
    ``POST   /api/cases/{number}/merge/``          ``{"into": number}``: fold this case into
                                                  that one (managers and administrators)
    ``GET    /api/cases/{number}/timeline/``       the history, newest first
    ``POST   /api/cases/{number}/notes/``          ``{"body": "…"}``: an internal note; 201
    ``POST   /api/cases/{number}/replies/``        ``{"body", "to"?, "cc"?}``: a reply to the
                                                  requester, queued in the outbox; 201
                                                  (both also as multipart with ``files``)
    ``GET    /api/cases/{number}/watchers/``       who follows the case
    ``POST   /api/cases/{number}/watchers/``       ``{"user": id}`` or ``{"email": "…"}``; 201
    ``DELETE /api/cases/{number}/watchers/{id}/``  stop watching; 204
    ``GET    /api/cases/{number}/links/``          the cases and partners it is linked to
    ``POST   /api/cases/{number}/links/``          ``{"case": number}`` or ``{"partner": id}``; 201
    ``DELETE /api/cases/{number}/links/{id}/``     remove a link; 204
    ``GET    /api/cases/{number}/attachments/``    its files
    ``POST   /api/cases/{number}/attachments/``    multipart ``files`` (and ``note``); 201
    ``GET    /api/cases/attachments/{id}/``        download a file
    ``POST   /api/cases/{number}/expense/``        ``{"decision": "submit|approve|reject",
                                                  "reason"?}``
    ``POST   /api/cases/{number}/split/``          ``{"entry": id, "subject"?}``: that entry
                                                  into a new case; 201
    ``GET    /api/sections/``                      the sections you can see, with stages and
                                                  categories
    ``GET    /api/case-types/``                    every case type

Errors
    As in the partners API: ``{"detail": "…"}``, and for a 400 ``"errors":
    {"field": ["…"]}``. A transition that the case's state does not allow, or a
    change to a case that is closed for good or merged, is a 400 with the
    service's message in ``detail``. Nothing is saved when a request is refused.
    Links to cases out of the user's sight are left out of a case's links, and a
    case out of sight named in a request body reads as a case that does not exist
    (``"No case #1042."``); in a bulk action it is reported as ``"#1042: not
    found"`` and left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.api.case_serializers import (
    MAX_FILES,
    AssignSerializer,
    CaseAttachmentListSerializer,
    CaseAttachSerializer,
    CaseBulkResultSerializer,
    CaseBulkSerializer,
    CaseDetailSerializer,
    CaseExpenseSerializer,
    CaseFilterSerializer,
    CaseLinkAddSerializer,
    CaseLinkListSerializer,
    CaseLinkSerializer,
    CaseMergeSerializer,
    CaseNoteSerializer,
    CasePageSerializer,
    CaseSplitSerializer,
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
from goodwill.cases.models import (
    Attachment,
    Case,
    CaseCategory,
    CaseState,
    CaseType,
    Priority,
    Watcher,
)
from goodwill.cases.permissions import (
    can_case,
    check_case_action,
    get_attachment_for_user,
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
UNSUPPORTED = {415: ErrorSerializer}
# Notes and replies take JSON, or multipart/form-data when they carry files.
WITH_FILES: list[type[BaseParser]] = [JSONParser, MultiPartParser]

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


def _form_data(request: Request) -> Any:
    """``request.data`` of a request that may be multipart/form-data: Django's limits on
    forms (``DATA_UPLOAD_MAX_NUMBER_FILES`` and the like) are a 400 in JSON, not Django's
    HTML error page."""
    try:
        return request.data
    except TooManyFilesSent:
        raise ParseError(f"Too many files in one request; send at most {MAX_FILES}.") from None
    except TooManyFieldsSent:
        raise ParseError("Too many form fields.") from None
    except RequestDataTooBig:
        raise ParseError("The form's text fields are too large; send long text as JSON.") from None


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
    values = serializer.service_values()
    case_type = values.get("case_type")
    if (
        not values.get("section")
        and case_type is not None
        and case_type.default_section_id is not None
        and not visible_sections(request.user).filter(pk=case_type.default_section_id).exists()
    ):
        # The type's default section is out of the caller's sight: say nothing about it.
        raise ValidationError({"section": ["Choose a section."]})
    case = services.case_create(
        by=staff_user(request),
        values=values,
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
    "Opening a case without a responsible assigns you. A `note` (pending, close and cancel) "
    "goes on the timeline with the change. An action the current state does not allow is a "
    "400 saying why.",
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
    data = serializer.validated_data
    services.case_set_state(
        case=case, by=staff_user(request), action=data["action"], note=data.get("note")
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
    description="JSON, or multipart/form-data to attach `files` to the note.",
    parameters=[NUMBER],
    request={
        "application/json": CaseNoteSerializer,
        "multipart/form-data": CaseNoteSerializer,
    },
    responses={201: CaseTimelineEntrySerializer, **INVALID, **MISSING, **UNSUPPORTED},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes(WITH_FILES)
def case_note_add(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = CaseNoteSerializer(data=_form_data(request))
    serializer.is_valid(raise_exception=True)
    entry = services.case_note_add(
        case=case,
        by=staff_user(request),
        body=serializer.validated_data["body"],
        files=serializer.validated_data.get("files", []),
    )
    entry.files = list(Attachment.objects.filter(entry=entry).order_by("id"))  # type: ignore[attr-defined]
    data = CaseTimelineEntrySerializer(entry, context={"request": request}).data
    return Response(data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="cases_replies_create",
    summary="Reply to the requester",
    description="Queues an email in the outbox (status `queued`); the email gateway sends "
    "it. It goes to the requester (or `to`), with the watchers' addresses in Cc (or `cc`). "
    "The subject carries the case tag and the Message-ID threads answers back here. Send "
    "multipart/form-data to attach `files`; they are on the reply's timeline entry.",
    parameters=[NUMBER],
    request={"application/json": ReplySerializer, "multipart/form-data": ReplySerializer},
    responses={201: OutboundMessageSerializer, **INVALID, **MISSING, **UNSUPPORTED},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes(WITH_FILES)
def case_reply(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = ReplySerializer(data=_form_data(request))
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    message = services.case_reply(
        case=case,
        by=staff_user(request),
        body=data["body"],
        to=data.get("to") or (),
        cc=data.get("cc"),
        files=data.get("files", []),
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
# Links


LINK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Link id.")


def _link_list(request: Request, case: Case) -> list[selectors.LinkView]:
    """The case's links that the user may see: links to cases out of sight are left out."""
    return selectors.case_links(case=case, user=request.user)


def _links_context(request: Request, links: list[selectors.LinkView]) -> dict[str, Any]:
    """``CaseLinkSerializer``'s context: the number of each linked case (one query)."""
    case_ids = [v.link.target_id for v in links if v.link.target_type.model_class() is Case]
    numbers = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "number"))
    return {"request": request, "numbers": numbers}


@extend_schema(
    methods=["GET"],
    operation_id="cases_links_list",
    summary="A case's links",
    description="The cases and partners (and later other records) linked to the case. "
    "Links to cases you cannot see are left out.",
    parameters=[NUMBER],
    responses={200: CaseLinkListSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="cases_links_create",
    summary="Link a case to another case or a partner",
    description='`{"case": number}` or `{"partner": id}`. A case you cannot see reads as a '
    "case that does not exist.",
    parameters=[NUMBER],
    request=CaseLinkAddSerializer,
    responses={201: CaseLinkSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def case_links(request: Request, number: int) -> Response:
    if request.method == "POST":
        case = get_case_for_user(request.user, number, action="change")
        serializer = CaseLinkAddSerializer(data=request.data, context=_writer_context(request))
        serializer.is_valid(raise_exception=True)
        link = services.case_link_add(case=case, by=staff_user(request), target=serializer.target())
        shown = [v for v in _link_list(request, case) if v.link.pk == link.pk]
        data = CaseLinkSerializer(shown[0], context=_links_context(request, shown)).data
        return Response(data, status=status.HTTP_201_CREATED)
    case = get_case_for_user(request.user, number)
    links = _link_list(request, case)
    context = _links_context(request, links)
    return Response(CaseLinkListSerializer({"results": links}, context=context).data)


@extend_schema(
    operation_id="cases_links_destroy",
    summary="Remove a link",
    parameters=[NUMBER, LINK_ID],
    request=None,
    responses={204: None, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["DELETE"])
def case_link_remove(request: Request, number: int, pk: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    shown = [v.link for v in _link_list(request, case) if v.link.pk == pk]
    if not shown:
        raise Http404("No such link.")
    services.case_link_remove(link=shown[0], by=staff_user(request))
    return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------
# Attachments


@extend_schema(
    methods=["GET"],
    operation_id="cases_attachments_list",
    summary="A case's files",
    description="Every file attached to the case, oldest first, with the timeline entry it "
    "came with and where to download it.",
    parameters=[NUMBER],
    responses={200: CaseAttachmentListSerializer, **MISSING},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="cases_attachments_create",
    summary="Attach files to a case",
    description="multipart/form-data with one or more `files` (repeat the key) and an "
    "optional `note`; one timeline entry records them. A file over the size limit is a 400 "
    "and nothing is attached.",
    parameters=[NUMBER],
    request={"multipart/form-data": CaseAttachSerializer},
    responses={
        201: CaseAttachmentListSerializer,
        **INVALID,
        **MISSING,
        **UNSUPPORTED,
    },
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser])
def case_attachments(request: Request, number: int) -> Response:
    context = {"request": request}
    if request.method == "POST":
        case = get_case_for_user(request.user, number, action="change")
        serializer = CaseAttachSerializer(data=_form_data(request))
        serializer.is_valid(raise_exception=True)
        stored = services.case_attach(
            case=case,
            by=staff_user(request),
            files=serializer.validated_data["files"],
            note=serializer.validated_data.get("note", ""),
        )
        data = CaseAttachmentListSerializer({"results": stored}, context=context).data
        return Response(data, status=status.HTTP_201_CREATED)
    case = get_case_for_user(request.user, number)
    files = case.attachments.select_related("uploaded_by").order_by("created_at", "id")
    return Response(CaseAttachmentListSerializer({"results": files}, context=context).data)


class _DownloadNegotiation(DefaultContentNegotiation):
    """A download answers with the file whatever the client accepts, and with JSON
    when it is refused: an ``Accept: application/octet-stream`` is not a 406."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


View = TypeVar("View", bound=Callable[..., Any])


def _download(view: View) -> View:
    """Like DRF's ``@renderer_classes``: read by ``@api_view``."""
    view.content_negotiation_class = _DownloadNegotiation  # type: ignore[attr-defined]
    return view


@extend_schema(
    operation_id="cases_attachments_download",
    summary="Download a file",
    description="The file as an attachment (`application/octet-stream`, never shown "
    "inline), if you can see its case.",
    parameters=[
        OpenApiParameter(
            "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Attachment id."
        )
    ],
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
@_download
def attachment_download(request: Request, pk: int) -> HttpResponseBase:
    attachment = get_attachment_for_user(request.user, pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.name)
    response["Content-Type"] = "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------
# Expense claims, splitting


@extend_schema(
    operation_id="cases_expense",
    summary="Submit, approve or reject an expense claim",
    description="`submit` asks the section's responsible user to approve the claim (it needs "
    "an amount and a currency); that user, or an administrator, then `approve`s or "
    "`reject`s it (a rejection needs a `reason`). Anyone else deciding is a 403.",
    parameters=[NUMBER],
    request=CaseExpenseSerializer,
    responses={200: CaseDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_expense(request: Request, number: int) -> Response:
    case = get_case_for_user(request.user, number, action="change")
    serializer = CaseExpenseSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    decision = serializer.validated_data["decision"]
    user = staff_user(request)
    if decision == "submit":
        services.case_expense_submit(case=case, by=user)
        return _detail(request, case)
    if not services.can_approve_expense(case, user):
        responsible = case.section.responsible
        approver = responsible.display_name if responsible else "the section's responsible user"
        raise PermissionDenied(f"Only {approver} or an administrator can decide on this claim.")
    services.case_expense_decide(
        case=case,
        by=user,
        approve=decision == "approve",
        reason=serializer.validated_data.get("reason", ""),
    )
    return _detail(request, case)


@extend_schema(
    operation_id="cases_split",
    summary="Split an entry off into a new case",
    description="Moves one note or email of this case's timeline (with its files) into a new "
    "case with the same type, section, partner and requester, related to this one. Returns "
    "the new case.",
    parameters=[NUMBER],
    request=CaseSplitSerializer,
    responses={201: CaseDetailSerializer, **INVALID, **MISSING},
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_split(request: Request, number: int) -> Response:
    check_case_action(request.user, "create")
    case = get_case_for_user(request.user, number, action="change")
    serializer = CaseSplitSerializer(data=request.data, context={"case": case})
    serializer.is_valid(raise_exception=True)
    new = services.case_split(
        entry=serializer.validated_data["entry"],
        by=staff_user(request),
        subject=serializer.validated_data.get("subject", ""),
    )
    return _detail(request, new, status_code=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------
# Bulk


@extend_schema(
    operation_id="cases_bulk",
    summary="Assign, change the state or the priority of many cases, or merge them",
    description="Each case is changed on its own: the answer counts those `done` and says "
    "why each other one was not (a number you cannot see is `#N: not found`). `merge` folds "
    "every case into the oldest and answers that case, or changes nothing and answers a 400.",
    request=CaseBulkSerializer,
    responses={
        200: PolymorphicProxySerializer(
            component_name="CaseBulkAnswer",
            serializers=[CaseBulkResultSerializer, CaseDetailSerializer],
            resource_type_field_name=None,
        ),
        **INVALID,
        **REFUSED,
    },
    tags=TAGS,
)
@api_view(["POST"])
@parser_classes([JSONParser])
def case_bulk(request: Request) -> Response:
    check_case_action(request.user, "change")
    serializer = CaseBulkSerializer(data=request.data, context=_writer_context(request))
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    action, numbers, user = data["action"], data["numbers"], staff_user(request)
    if action == "merge":
        check_case_action(request.user, "merge")
    found = {
        case.number: case
        for case in visible_cases(request.user)
        .filter(number__in=numbers)
        .select_related("case_type")
    }
    cases = [found[n] for n in numbers if n in found]
    missing = [f"#{n}: not found" for n in numbers if n not in found]
    if action == "merge":
        if missing:
            raise ValidationError({"numbers": missing})
        return _detail(request, services.cases_merge(cases=cases, by=user))
    if action == "assign":
        result = services.cases_assign(cases=cases, by=user, responsible=data["responsible"])
    elif action == "state":
        result = services.cases_set_state(cases=cases, by=user, action=data["state"])
    else:
        result = services.cases_set_priority(cases=cases, by=user, priority=data["priority"])
    answer = {"done": result.done, "errors": missing + result.errors}
    return Response(CaseBulkResultSerializer(answer).data)


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
