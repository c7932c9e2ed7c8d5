"""Who may see and change campaigns, and the campaign the pages load.

Agents see campaigns; managers and administrators also create, change and
delete them. The role is checked before any lookup, so an outsider cannot
probe which ids exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.campaigns.models import Campaign

ACTIONS = {
    "view": ("campaigns.view_campaign", "Your role does not allow you to see campaigns."),
    "add": ("campaigns.add_campaign", "Only managers and administrators can create campaigns."),
    "change": (
        "campaigns.change_campaign",
        "Only managers and administrators can change campaigns.",
    ),
    "delete": (
        "campaigns.delete_campaign",
        "Only managers and administrators can delete campaigns.",
    ),
}


def check_campaign_action(user: Any, action: str = "view") -> None:
    """*action* is view, add, change or delete."""
    if action not in ACTIONS:
        raise ValueError(action)
    if not can_use_staff_ui(user):
        raise PermissionDenied("Your account has no access to the staff interface.")
    perm, refusal = ACTIONS[action]
    if not user.has_perm(perm):
        raise PermissionDenied(refusal)


def can_campaign(user: Any, action: str = "view") -> bool:
    try:
        check_campaign_action(user, action)
    except PermissionDenied:
        return False
    return True


def get_campaign_for_user(user: Any, pk: int, *, action: str = "view") -> Campaign:
    check_campaign_action(user, action)
    try:
        return Campaign.objects.get(pk=pk)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign.") from None
