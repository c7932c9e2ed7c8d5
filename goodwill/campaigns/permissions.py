"""Who may see and change campaigns, and the campaign the pages load.

Agents see campaigns; managers and administrators also create, change and
delete them. The role is checked before any lookup, so an outsider cannot
probe which ids exist.
"""

from __future__ import annotations

from typing import Any

from goodwill.campaigns.models import Campaign
from goodwill.sales.document_permissions import Actions, can_act, check_action, get_for_user

ACTIONS: Actions = {
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
    check_action(user, ACTIONS, action)


def can_campaign(user: Any, action: str = "view") -> bool:
    return can_act(user, ACTIONS, action)


def get_campaign_for_user(user: Any, pk: int, *, action: str = "view") -> Campaign:
    return get_for_user(
        user,
        Campaign.objects.all(),
        pk,
        actions=ACTIONS,
        action=action,
        missing="No such campaign.",
    )
