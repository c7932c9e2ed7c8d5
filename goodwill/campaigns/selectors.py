"""Campaign reads that other apps share: the choices of a campaign picker and
the filtered campaign list. This module reads only the campaign table, so the
apps below sales (cases) may use it too."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from goodwill.campaigns.models import Campaign


def campaign_options() -> QuerySet[Campaign]:
    """The active campaigns, by name: the choices of a campaign select box
    (``forms.ModelChoiceField(queryset=campaign_options())``)."""
    return Campaign.objects.filter(active=True).order_by("name", "id")


def running_q(today: datetime.date) -> Q:
    """Campaigns that have started (a start date on or before *today*) and not ended."""
    return Q(start_date__lte=today) & (Q(end_date__isnull=True) | Q(end_date__gte=today))


def is_running(campaign: Campaign, today: datetime.date) -> bool:
    """The same test as ``running_q``, for a campaign already loaded."""
    started = campaign.start_date is not None and campaign.start_date <= today
    return started and (campaign.end_date is None or campaign.end_date >= today)


def campaign_queryset(
    filters: dict[str, Any], *, today: datetime.date | None = None
) -> QuerySet[Campaign]:
    """Campaigns matching the list filters: ``q`` (name or code), ``channel``,
    ``status`` ("" for active, "inactive" or "all") and ``running``."""
    today = today or timezone.localdate()
    campaigns = Campaign.objects.all()
    status = filters.get("status", "")
    if status == "":
        campaigns = campaigns.filter(active=True)
    elif status == "inactive":
        campaigns = campaigns.filter(active=False)
    if filters.get("channel"):
        campaigns = campaigns.filter(channel=filters["channel"])
    if filters.get("running"):
        campaigns = campaigns.filter(running_q(today))
    q = " ".join(str(filters.get("q", "")).split())
    if q:
        campaigns = campaigns.filter(Q(name__icontains=q) | Q(code__istartswith=q))
    return campaigns
