"""Who may see which received message.

Managers read the gateway's log (``mailgate.view_inboundmessage``); anyone who
may see a case may read the messages on it, raw original included. A message
on a case in a members-only section stays hidden from everyone else, and one
not yet on any case is for the log's readers only.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.cases.permissions import can_case, visible_cases
from goodwill.mailgate.models import InboundMessage


def can_read_log(user: Any) -> bool:
    return can_use_staff_ui(user) and user.has_perm("mailgate.view_inboundmessage")


def visible_inbound(user: Any) -> QuerySet[InboundMessage]:
    """The received messages *user* may list: the log, less hidden cases."""
    if not can_read_log(user):
        raise PermissionDenied("You do not have permission to read the mail log.")
    return InboundMessage.objects.filter(
        Q(case__isnull=True) | Q(case__in=visible_cases(user).values("pk"))
    )


def get_inbound_for_user(user: Any, pk: int) -> InboundMessage:
    """One message: for the log's readers, or for a reader of its case (404
    otherwise, so hidden cases do not reveal their mail)."""
    if not can_use_staff_ui(user):
        raise PermissionDenied("Your account has no access to the staff interface.")
    message = (
        InboundMessage.objects.select_related("case", "mailbox", "section").filter(pk=pk).first()
    )
    if message is None:
        raise Http404("No such message.")
    if message.case_id is not None:
        if can_case(user, "view") and visible_cases(user).filter(pk=message.case_id).exists():
            return message
        raise Http404("No such message.")
    if can_read_log(user):
        return message
    raise Http404("No such message.")


def can_retry(user: Any) -> bool:
    return can_read_log(user) and user.has_perm("mailgate.change_inboundmessage")
