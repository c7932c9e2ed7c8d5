"""The outbox pages (what Goodwill sent or will send) and demo mode's local mailbox.

The outbox shows only messages of cases the user may see; the local mailbox
holds every message the demo "sent", so it is for administrators only.
"""

from __future__ import annotations

import email
import email.policy
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from goodwill.accounts.permissions import (
    AuthenticatedHttpRequest,
    is_administrator,
    require_perm,
    staff_required,
)
from goodwill.cases.models import OutboundMessage
from goodwill.cases.permissions import can_case, case_visibility_q
from goodwill.lib.forms import error_text
from goodwill.lib.pagination import BadCursor, Page, keyset_page
from goodwill.mailgate.models import LocalMail
from goodwill.mailgate.outbound import outbound_build, outbox_retry

PAGE_SIZE = 100
# The detail page shows at most this much of the built message (attachments
# are base64 and can be large).
SHOWN_LIMIT = 256 * 1024
STATUS_TABS = [("", "All"), *OutboundMessage.Status.choices]
VIEW_PERM = "cases.view_outboundmessage"
CHANGE_PERM = "cases.change_outboundmessage"


# --------------------------------------------------------------------------
# Access: one helper per object type


def visible_outbox(user: Any) -> QuerySet[OutboundMessage]:
    """The outbox rows *user* may see: those of the cases they may see."""
    rows = OutboundMessage.objects.all()
    if not user.has_perm(VIEW_PERM) or not can_case(user, "view"):
        return rows.none()
    visibility = case_visibility_q(user, prefix="case__")
    return rows.filter(visibility) if visibility != Q() else rows


def get_outbound_for_user(user: Any, pk: int, *, action: str = "view") -> OutboundMessage:
    """Outbox row *pk*: 403 if the role may not *action* the outbox, 404 if it
    does not exist or belongs to a case the user cannot see."""
    require_perm(user, VIEW_PERM)
    if action == "change":
        require_perm(user, CHANGE_PERM)
    try:
        return visible_outbox(user).select_related("case", "created_by").get(pk=pk)
    except OutboundMessage.DoesNotExist:
        raise Http404("No such message in the outbox.") from None


def check_local_mail(user: Any) -> None:
    if not is_administrator(user):
        raise PermissionDenied("Only administrators can read the local mailbox.")


def get_local_mail_for_user(user: Any, pk: int) -> LocalMail:
    check_local_mail(user)
    try:
        return LocalMail.objects.get(pk=pk)
    except LocalMail.DoesNotExist:
        raise Http404("No such message in the local mailbox.") from None


def _page(request: AuthenticatedHttpRequest, rows: QuerySet[Any]) -> Page[Any]:
    """Newest first, PAGE_SIZE at a time (the first page again for a bad cursor)."""
    cursor = request.GET.get("cursor")
    try:
        return keyset_page(rows, sort="-id", cursor=cursor, limit=PAGE_SIZE)
    except BadCursor as exc:
        messages.warning(request, str(exc))
        return keyset_page(rows, sort="-id", cursor=None, limit=PAGE_SIZE)


# --------------------------------------------------------------------------
# Outbox


@require_GET
@staff_required
def outbox_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_perm(request.user, VIEW_PERM)
    status = request.GET.get("status", "")
    if status not in OutboundMessage.Status.values:
        status = ""
    rows = visible_outbox(request.user).select_related("case")
    if status:
        rows = rows.filter(status=status)
    page = _page(request, rows)
    context = {
        "page": page,
        "status": status,
        "tabs": STATUS_TABS,
        "query": f"status={status}" if status else "",
        "can_retry": request.user.has_perm(CHANGE_PERM),
    }
    return render(request, "mailgate/outbox_list.html", context)


@require_GET
@staff_required
def outbox_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    message = get_outbound_for_user(request.user, pk)
    build_error = ""
    source = ""
    truncated = False
    try:
        source = outbound_build(message).message().as_string()
    except (OSError, ValueError) as exc:
        build_error = f"The message cannot be built: {exc}"
    if len(source) > SHOWN_LIMIT:
        source, truncated = source[:SHOWN_LIMIT], True
    context = {
        "message": message,
        "source": source,
        "truncated": truncated,
        "build_error": build_error,
        "can_retry": request.user.has_perm(CHANGE_PERM),
    }
    return render(request, "mailgate/outbox_detail.html", context)


@require_POST
@staff_required
def outbox_retry_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    message = get_outbound_for_user(request.user, pk, action="change")
    try:
        outbox_retry(message, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"The message to {', '.join(message.to)} is queued again.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("mailgate_outbox:detail", message.pk)


# --------------------------------------------------------------------------
# Local mailbox (demo mode)


@require_GET
@staff_required
def localmail_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_local_mail(request.user)
    rows = LocalMail.objects.defer("raw")
    page = _page(request, rows)
    return render(request, "mailgate/localmail_list.html", {"page": page})


@require_GET
@staff_required
def localmail_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    mail = get_local_mail_for_user(request.user, pk)
    raw = bytes(mail.raw)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    context = {
        "mail": mail,
        "headers": [
            ("From", str(parsed.get("From", ""))),
            ("To", str(parsed.get("To", ""))),
            ("Cc", str(parsed.get("Cc", ""))),
            ("Subject", str(parsed.get("Subject", ""))),
            ("Date", str(parsed.get("Date", ""))),
            ("Message-ID", str(parsed.get("Message-ID", ""))),
        ],
        "source": raw[:SHOWN_LIMIT].decode("utf-8", "replace"),
        "truncated": len(raw) > SHOWN_LIMIT,
    }
    return render(request, "mailgate/localmail_detail.html", context)


@require_GET
@staff_required
def localmail_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    mail = get_local_mail_for_user(request.user, pk)
    response = HttpResponse(bytes(mail.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="local-mail-{mail.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
