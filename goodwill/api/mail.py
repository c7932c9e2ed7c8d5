"""The email gateway's API: the log of received messages, the outbox, and the
suppressed (bouncing) addresses.

Who sees what
    The same rules as the gateway's pages. The log is for users who may read it
    (``mailgate.view_inboundmessage``, managers and administrators), less the
    messages on cases out of their sight; a reader of a case may open the
    messages on it. A message on a case in a members-only section is a 404 for
    everyone else, exactly like an id that does not exist. Retrying needs
    ``mailgate.change_inboundmessage``, submitting a message
    ``mailgate.add_inboundmessage``. The outbox needs
    ``cases.view_outboundmessage`` (retrying ``cases.change_outboundmessage``)
    and shows the messages of the cases the user can see; the suppressions need
    the ``mailgate`` suppression permissions.

Endpoints (the OpenAPI schema is at ``/api/schema/``)
    ``GET    /api/mail/inbound/``              the log, newest first; ``status`` ``q``
    ``POST   /api/mail/inbound/``              ``{"raw": base64, "section"?, "process"?}``
                                              or a ``message/rfc822`` body: store (and
                                              process) one message; 201, or 200 with
                                              ``"created": false`` for a message stored before
    ``GET    /api/mail/inbound/{id}/``         one message with its text and HTML
    ``GET    /api/mail/inbound/{id}/raw/``     the original bytes (``message/rfc822``)
    ``POST   /api/mail/inbound/{id}/retry/``   process a quarantined message again
    ``GET    /api/mail/outbox/``               what Goodwill sent or will send; ``status`` ``kind``
    ``GET    /api/mail/outbox/{id}/``          one outgoing message with its text
    ``POST   /api/mail/outbox/{id}/retry/``    queue a failed message again
    ``GET    /api/mail/suppressions/``         addresses no automatic mail goes to; ``q``
    ``POST   /api/mail/suppressions/``         ``{"email": "…"}``: suppress an address; 201
    ``DELETE /api/mail/suppressions/{id}/``    mail the address again; 204

Errors
    As elsewhere in the API. Retrying a message that is not quarantined (or, in
    the outbox, not failed) is a 409 saying what state it is in. A submitted
    message that is not base64, empty, too large or not an email is a 400 on
    ``raw`` and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.http.response import HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from goodwill.accounts.permissions import require_perm
from goodwill.api.cases import _download
from goodwill.api.mail_serializers import (
    InboundDetailSerializer,
    InboundFilterSerializer,
    InboundPageSerializer,
    InboundStoredSerializer,
    InboundSubmitOptionsSerializer,
    InboundSubmitSerializer,
    InboundSubmittedSerializer,
    OutboxDetailSerializer,
    OutboxFilterSerializer,
    OutboxPageSerializer,
    SuppressionAddSerializer,
    SuppressionFilterSerializer,
    SuppressionPageSerializer,
    SuppressionSerializer,
    max_message_size,
    raw_message_check,
)
from goodwill.api.pagination import page_links
from goodwill.api.permissions import staff_user
from goodwill.api.serializers import ErrorSerializer
from goodwill.cases.models import OutboundMessage
from goodwill.lib.pagination import keyset_page
from goodwill.mailgate.inbound import inbound_raw_response, inbound_receive
from goodwill.mailgate.models import InboundMessage, Suppression
from goodwill.mailgate.outbound import outbox_retry
from goodwill.mailgate.outbox_views import VIEW_PERM, get_outbound_for_user, visible_outbox
from goodwill.mailgate.parsing import normalise_message_id
from goodwill.mailgate.permissions import can_retry, get_inbound_for_user, visible_inbound
from goodwill.mailgate.pipeline import inbound_process
from goodwill.mailgate.setup_services import (
    suppression_add,
    suppression_clear,
    suppressions_for_setup,
)
from goodwill.mailgate.setup_views import check, get_suppression_for_setup

TAGS = ["mail"]
PAGE_SIZE = 50
REFUSED = {403: ErrorSerializer}
MISSING = {403: ErrorSerializer, 404: ErrorSerializer}
INVALID = {400: ErrorSerializer}
CONFLICT = {409: ErrorSerializer}

ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
CURSOR = OpenApiParameter(
    "cursor",
    OpenApiTypes.STR,
    description="Where a page starts; take it from the `next` or `previous` link.",
)


class Conflict(APIException):
    """The object is not in a state that allows the action (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the object."
    default_code = "conflict"


class RawMessageParser(BaseParser):
    """A ``message/rfc822`` body: the message's bytes, read up to one byte past the
    size limit (so a larger message is refused without being read whole)."""

    media_type = "message/rfc822"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return b""
        return bytes(stream.read(max_message_size() + 1))


def _params(request: Request) -> dict[str, Any]:
    return {key: value for key, value in request.query_params.items() if value != ""}


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "user": request.user}


# --------------------------------------------------------------------------
# Received messages


@extend_schema(
    methods=["GET"],
    operation_id="mail_inbound_list",
    summary="The mail log",
    description="One page of the received messages you may see, newest first; follow `next` "
    "for more. `q` finds a sender or subject containing the words, or a message by its exact "
    "Message-ID. The message's text is not in the list.",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=InboundMessage.Status.values),
        OpenApiParameter("q", OpenApiTypes.STR, description="Sender, subject or Message-ID."),
        CURSOR,
    ],
    responses={200: InboundPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="mail_inbound_create",
    summary="Submit a received message",
    description="Stores a message exactly as given (source `web`) and, unless `process` is "
    "false, runs it through the gateway at once: the answer shows what became of it (a new "
    "case, a reply on one, quarantined…). Send JSON with the message base64-encoded in "
    "`raw`, or the message itself with `Content-Type: message/rfc822` (then `section` and "
    "`process` go in the query string). The same message stored before is not stored again: "
    'the answer is then a 200 with `"created": false`. A message that ends on a case you '
    "cannot see answers only its id and status.",
    parameters=[
        OpenApiParameter(
            "section",
            OpenApiTypes.STR,
            description="With a message/rfc822 body: deliver to the section with this code.",
        ),
        OpenApiParameter(
            "process",
            OpenApiTypes.BOOL,
            description="With a message/rfc822 body: false leaves it to the worker.",
        ),
    ],
    request={
        "application/json": InboundSubmitSerializer,
        "message/rfc822": OpenApiTypes.BINARY,
    },
    responses={
        (201, "application/json"): PolymorphicProxySerializer(
            component_name="InboundSubmitAnswer",
            serializers=[InboundSubmittedSerializer, InboundStoredSerializer],
            resource_type_field_name=None,
        ),
        **INVALID,
        **REFUSED,
        415: ErrorSerializer,
    },
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser, RawMessageParser])
def inbound_collection(request: Request) -> Response:
    if request.method == "POST":
        return _inbound_submit(request)
    rows = visible_inbound(request.user)
    serializer = InboundFilterSerializer(data=_params(request))
    serializer.is_valid(raise_exception=True)
    filters = serializer.validated_data
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    query = filters.get("q", "").strip()
    if query:
        matches = Q(from_email__icontains=query) | Q(subject__icontains=query)
        message_id = normalise_message_id(query)
        if message_id:
            matches |= Q(message_id=message_id)
        rows = rows.filter(matches)
    rows = rows.select_related("case").defer("body_text", "body_html")
    page = keyset_page(
        rows, sort="-id", cursor=request.query_params.get("cursor") or None, limit=PAGE_SIZE
    )
    echo = {key: value for key, value in _params(request).items() if key in {"status", "q"}}
    data = {"results": page.items, **page_links(request, page, echo)}
    return Response(InboundPageSerializer(data, context={"request": request}).data)


def _inbound_submit(request: Request) -> Response:
    if not request.user.has_perm("mailgate.add_inboundmessage"):
        raise PermissionDenied("You may not submit received messages.")
    if request.content_type.split(";")[0].strip().lower() == RawMessageParser.media_type:
        # An empty body is not parsed at all: request.data is then an empty form.
        raw = request.data if isinstance(request.data, bytes) else b""
        options = InboundSubmitOptionsSerializer(data=_params(request), context=_context(request))
        options.is_valid(raise_exception=True)
        values = dict(options.validated_data)
        try:
            values["raw"] = raw_message_check(raw)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"raw": exc.detail}) from None
    else:
        body = InboundSubmitSerializer(data=request.data, context=_context(request))
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
    process = values["process"]
    received = inbound_receive(
        values["raw"],
        via=InboundMessage.Source.WEB,
        section=values.get("section"),
        enqueue=not process,
    )
    message = received.message
    if received.created and process:
        message = inbound_process(message)
    code = status.HTTP_201_CREATED if received.created else status.HTTP_200_OK
    try:
        shown = get_inbound_for_user(request.user, message.pk)
    except Http404:
        stored = {"id": message.pk, "status": message.status, "created": received.created}
        return Response(InboundStoredSerializer(stored).data, status=code)
    context = {"request": request, "created": received.created}
    data = InboundSubmittedSerializer(shown, context=context).data
    location = request.build_absolute_uri(reverse("api:mail_inbound_detail", args=[message.pk]))
    headers = {"Location": location} if received.created else None
    return Response(data, status=code, headers=headers)


@extend_schema(
    operation_id="mail_inbound_retrieve",
    summary="Show a received message",
    description="With its text, its sanitised HTML, its SMTP recipients and where to "
    "download the original.",
    parameters=[ID],
    responses={200: InboundDetailSerializer, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def inbound_detail(request: Request, pk: int) -> Response:
    message = get_inbound_for_user(request.user, pk)
    return Response(InboundDetailSerializer(message, context={"request": request}).data)


@extend_schema(
    operation_id="mail_inbound_raw",
    summary="Download a received message's original",
    description="The bytes exactly as they arrived, as an attachment (`message/rfc822`).",
    parameters=[ID],
    responses={(200, "message/rfc822"): OpenApiTypes.BINARY, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
@_download
def inbound_raw(request: Request, pk: int) -> HttpResponseBase:
    return inbound_raw_response(get_inbound_for_user(request.user, pk))


@extend_schema(
    operation_id="mail_inbound_retry",
    summary="Process a quarantined message again",
    description="After the cause was fixed (a section's address, a mailbox's settings…). "
    "The answer is the message with its new outcome; it may be quarantined again, with the "
    "reason. A message that is not quarantined is a 409.",
    parameters=[ID],
    request=None,
    responses={200: InboundDetailSerializer, **MISSING, **CONFLICT},
    tags=TAGS,
)
@api_view(["POST"])
def inbound_retry(request: Request, pk: int) -> Response:
    message = get_inbound_for_user(request.user, pk)
    if not can_retry(request.user):
        raise PermissionDenied("You may not retry received messages.")
    if message.status != InboundMessage.Status.QUARANTINED:
        raise Conflict(
            f"Only a quarantined message can be retried; this one is "
            f"{message.get_status_display().lower()}."
        )
    inbound_process(message)
    message = get_inbound_for_user(request.user, pk)
    return Response(InboundDetailSerializer(message, context={"request": request}).data)


# --------------------------------------------------------------------------
# The outbox


@extend_schema(
    operation_id="mail_outbox_list",
    summary="The outbox",
    description="One page of the messages Goodwill sent or will send for the cases you can "
    "see, newest first. The message's text is not in the list.",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=OutboundMessage.Status.values),
        OpenApiParameter("kind", OpenApiTypes.STR, enum=OutboundMessage.Kind.values),
        CURSOR,
    ],
    responses={200: OutboxPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET"])
def outbox_list(request: Request) -> Response:
    require_perm(request.user, VIEW_PERM)
    serializer = OutboxFilterSerializer(data=_params(request))
    serializer.is_valid(raise_exception=True)
    filters = {key: value for key, value in serializer.validated_data.items() if value}
    rows = visible_outbox(request.user).filter(**filters).select_related("case").defer("body_text")
    page = keyset_page(
        rows, sort="-id", cursor=request.query_params.get("cursor") or None, limit=PAGE_SIZE
    )
    data = {"results": page.items, **page_links(request, page, filters)}
    return Response(OutboxPageSerializer(data, context={"request": request}).data)


@extend_schema(
    operation_id="mail_outbox_retrieve",
    summary="Show an outgoing message",
    parameters=[ID],
    responses={200: OutboxDetailSerializer, **MISSING},
    tags=TAGS,
)
@api_view(["GET"])
def outbox_detail(request: Request, pk: int) -> Response:
    message = get_outbound_for_user(request.user, pk)
    return Response(OutboxDetailSerializer(message).data)


@extend_schema(
    operation_id="mail_outbox_retry",
    summary="Queue a failed message again",
    description="Due now, with a fresh set of attempts. A message that has not failed is a 409.",
    parameters=[ID],
    request=None,
    responses={200: OutboxDetailSerializer, **MISSING, **CONFLICT},
    tags=TAGS,
)
@api_view(["POST"])
def outbox_retry_view(request: Request, pk: int) -> Response:
    message = get_outbound_for_user(request.user, pk, action="change")
    try:
        outbox_retry(message, by=staff_user(request))
    except ValidationError as exc:
        raise Conflict(exc.messages[0]) from None
    message = get_outbound_for_user(request.user, pk)
    return Response(OutboxDetailSerializer(message).data)


# --------------------------------------------------------------------------
# Suppressions


@extend_schema(
    methods=["GET"],
    operation_id="mail_suppressions_list",
    summary="Suppressed addresses",
    description="The addresses no automatic mail (acknowledgements, notifications, relays) "
    "goes to, because they bounced or were added by hand; most recent bounce first.",
    parameters=[
        OpenApiParameter("q", OpenApiTypes.STR, description="Part of the address."),
        CURSOR,
    ],
    responses={200: SuppressionPageSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@extend_schema(
    methods=["POST"],
    operation_id="mail_suppressions_create",
    summary="Suppress an address",
    description="No automatic mail goes to it until the suppression is deleted. An address "
    "already suppressed is a 400.",
    request=SuppressionAddSerializer,
    responses={201: SuppressionSerializer, **INVALID, **REFUSED},
    tags=TAGS,
)
@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def suppression_collection(request: Request) -> Response:
    check(request.user, "view_suppression")
    if request.method == "POST":
        check(request.user, "add_suppression")
        body = SuppressionAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = suppression_add(by=staff_user(request), email=body.validated_data["email"])
        return Response(SuppressionSerializer(row).data, status=status.HTTP_201_CREATED)
    serializer = SuppressionFilterSerializer(data=_params(request))
    serializer.is_valid(raise_exception=True)
    query = serializer.validated_data.get("q", "")
    page = keyset_page(
        suppressions_for_setup(query),
        sort="-last_bounce_at",
        cursor=request.query_params.get("cursor") or None,
        limit=PAGE_SIZE,
    )
    data = {"results": page.items, **page_links(request, page, {"q": query} if query else {})}
    return Response(SuppressionPageSerializer(data, context={"request": request}).data)


@extend_schema(
    operation_id="mail_suppressions_destroy",
    summary="Mail a suppressed address again",
    parameters=[ID],
    request=None,
    responses={204: None, **MISSING},
    tags=TAGS,
)
@api_view(["DELETE"])
def suppression_detail(request: Request, pk: int) -> Response:
    suppression: Suppression = get_suppression_for_setup(request.user, pk)
    suppression_clear(by=staff_user(request), suppression=suppression)
    return Response(status=status.HTTP_204_NO_CONTENT)
