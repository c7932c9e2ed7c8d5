"""The mail log: every received message, its outcome, its raw original, and a
retry for the quarantined ones; and the web side of ``goodwill mailgate --url``."""

from __future__ import annotations

import base64
import hmac
import json
import re
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases.models import Section
from goodwill.lib.security import CONTENT_SECURITY_POLICY
from goodwill.mailgate.inbound import inbound_raw_response, inbound_receive
from goodwill.mailgate.models import InboundMessage, Suppression
from goodwill.mailgate.permissions import (
    can_read_log,
    can_retry,
    get_inbound_for_user,
    visible_inbound,
)
from goodwill.partners.permissions import get_partner_for_user

PAGE_SIZE = 100
_REMOTE_SRC = re.compile(r'(<img\b[^>]*?\s)data-remote-src="(https?://[^"]*)"', re.IGNORECASE)


_CID = re.compile(r'(<img\b[^>]*?\s)data-cid="([^"]*)"', re.IGNORECASE)
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
INLINE_MAX_BYTES = 2 * 1024 * 1024


def with_inline_images(html: str, message: InboundMessage) -> str:
    """The sanitised HTML with its inline (cid:) images shown, as data: URLs
    read from the original message (images only, up to 2 MB each)."""
    if "data-cid=" not in html:
        return html
    from goodwill.mailgate.parsing import parse_message

    try:
        with message.raw.open("rb") as raw:
            parsed = parse_message(cast(BinaryIO, raw), attachment_max_bytes=INLINE_MAX_BYTES)
    except OSError:
        return html
    images = {
        a.content_id: f"data:{a.content_type};base64,{base64.b64encode(a.data).decode()}"
        for a in parsed.attachments
        if a.content_id and a.data is not None and a.content_type.lower() in INLINE_TYPES
    }

    def inline(match: re.Match[str]) -> str:
        url = images.get(match.group(2))
        return f'{match.group(1)}src="{url}"' if url else match.group(0)

    return _CID.sub(inline, html)


def with_remote_images(html: str) -> str:
    """The sanitised HTML with its remote images switched back on (the
    sanitiser parks their address in data-remote-src)."""
    return _REMOTE_SRC.sub(r'\1src="\2"', html)


STATUSES = [choice for choice, _label in InboundMessage.Status.choices]


@require_GET
@staff_required
def inbound_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Newest first, a hundred at a time (keyset on the id: no COUNT)."""
    rows = visible_inbound(request.user).select_related("case", "mailbox")
    status = request.GET.get("status", "")
    if status in STATUSES:
        rows = rows.filter(status=status)
    else:
        status = ""
    query = request.GET.get("q", "").strip()[:200]
    if query:
        rows = (
            rows.filter(from_email__icontains=query)
            | rows.filter(subject__icontains=query)
            | rows.filter(message_id=query)
        )
    before = request.GET.get("before", "")
    if before.isdigit():
        rows = rows.filter(pk__lt=int(before))
    page = list(rows.order_by("-pk").defer("body_text", "body_html")[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return render(
        request,
        "mailgate/inbound_list.html",
        {
            "rows": page,
            "status": status,
            "statuses": InboundMessage.Status.choices,
            "query": query,
            "next_before": page[-1].pk if more else None,
            "can_retry": can_retry(request.user),
        },
    )


@require_GET
@staff_required
def inbound_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    message = get_inbound_for_user(request.user, pk)
    show_html = request.GET.get("view") == "html" and bool(message.body_html)
    images = show_html and request.GET.get("images") == "1"
    response = render(
        request,
        "mailgate/inbound_detail.html",
        {
            "message": message,
            "can_retry": can_retry(request.user)
            and message.status in {InboundMessage.Status.QUARANTINED},
            "log_reader": can_read_log(request.user),
            "show_html": show_html,
            "images": images,
            "html": _html_for_display(message, remote_images=images) if show_html else "",
        },
    )
    if images:
        # The reader asked for the remote images: this one page may load them.
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", "img-src 'self' data: https: http:"
        )
    return response


def _html_for_display(message: InboundMessage, *, remote_images: bool) -> str:
    html = with_inline_images(message.body_html, message)
    return with_remote_images(html) if remote_images else html


@require_GET
@staff_required
def inbound_raw(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """The original bytes, exactly as they arrived."""
    return inbound_raw_response(get_inbound_for_user(request.user, pk))


@require_POST
@staff_required
def inbound_retry(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    from goodwill.mailgate.pipeline import inbound_process

    message = get_inbound_for_user(request.user, pk)
    if not can_retry(request.user):
        raise PermissionDenied("You may not retry received messages.")
    if message.status != InboundMessage.Status.QUARANTINED:
        messages.error(request, "Only a quarantined message can be retried.")
        return redirect("mailgate:inbound_detail", pk=message.pk)
    message = inbound_process(message)
    if message.status == InboundMessage.Status.QUARANTINED:
        messages.error(request, f"Still quarantined: {message.reason}")
    else:
        messages.success(request, f"{message.get_status_display()}: {message.reason}")
    return redirect("mailgate:inbound_detail", pk=message.pk)


# --------------------------------------------------------------------------
# The pipe's web door


def _token_ok(request: HttpRequest) -> bool:
    expected = settings.MAILGATE_TOKEN
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt
@require_POST
def pipe_receive(request: HttpRequest) -> HttpResponse:
    """Store one message posted by ``goodwill mailgate --url``; 503 tells the
    pipe to make its MTA retry."""
    if not settings.MAILGATE_TOKEN:
        return JsonResponse({"error": "MAILGATE_TOKEN is not set on the server."}, status=404)
    if not _token_ok(request):
        return JsonResponse({"error": "Wrong or missing token."}, status=401)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) == 0:
        return JsonResponse({"error": "The message is empty."}, status=400)
    code = request.GET.get("section", "").strip()
    try:
        section = Section.objects.filter(code__iexact=code).first() if code else None
        # Read as a stream: request.body would refuse messages past Django's
        # in-memory upload limit.
        received = inbound_receive(
            cast(BinaryIO, request), via=InboundMessage.Source.PIPE, section=section
        )
    except (DatabaseError, OSError) as exc:
        return JsonResponse({"error": f"Cannot store the message now: {exc}"}, status=503)
    body: dict[str, Any] = {"id": received.message.pk, "created": received.created}
    if code and section is None:
        body["warning"] = f"No section has the code {code!r}; routed by recipient."
    return HttpResponse(json.dumps(body), content_type="application/json", status=201)


# --------------------------------------------------------------------------
# The partner page's panel


@require_GET
@staff_required
def partner_panel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The partner's addresses and whether mail to them bounces."""
    partner = get_partner_for_user(request.user, pk)
    addresses = list(
        dict.fromkeys(
            [
                *(e.lower() for e in partner.emails.values_list("email", flat=True)),
                *(
                    e.lower()
                    for e in partner.memberships.exclude(work_email="").values_list(
                        "work_email", flat=True
                    )
                ),
            ]
        )
    )
    bouncing = {s.email: s for s in Suppression.objects.filter(email__in=addresses)}
    return render(
        request,
        "mailgate/_partner_panel.html",
        {
            "rows": [(address, bouncing.get(address)) for address in addresses],
            "can_clear": request.user.has_perm("mailgate.delete_suppression"),
        },
    )
