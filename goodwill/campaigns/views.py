"""The campaign pages: the list with its filters, creating and editing, and a
campaign's results (its orders, invoices and cases, and revenue against costs).

Views parse the request, ask the permission helper, call a service or a
selector, and render. Agents see campaigns; managers change them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.campaigns import services
from goodwill.campaigns.forms import CampaignFilterForm, CampaignForm
from goodwill.campaigns.permissions import (
    can_campaign,
    check_campaign_action,
    get_campaign_for_user,
)
from goodwill.campaigns.results import campaign_results
from goodwill.campaigns.selectors import campaign_queryset, is_running
from goodwill.lib.forms import apply_errors, error_text
from goodwill.lib.pagination import BadCursor, keyset_page

PAGE_SIZE = 50


def _status(request: AuthenticatedHttpRequest) -> int:
    return 400 if request.method == "POST" else 200


@require_GET
@staff_required
def campaign_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_campaign_action(request.user)
    form = CampaignFilterForm(request.GET)
    filters = form.filters()
    today = timezone.localdate()
    query = urlencode(filters)
    try:
        page = keyset_page(
            campaign_queryset(filters, today=today),
            sort="name",
            cursor=request.GET.get("cursor"),
            limit=PAGE_SIZE,
        )
    except BadCursor as exc:
        messages.warning(request, str(exc))
        return redirect(f"{reverse('campaigns:list')}?{query}")
    for campaign in page.items:
        campaign.is_running = is_running(campaign, today)  # type: ignore[attr-defined]
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": query,
        "currency": settings.COMPANY_CURRENCY,
        "can_add": can_campaign(request.user, "add"),
    }
    if request.htmx and request.htmx.target == "campaign-results":
        return render(request, "campaigns/_results.html", context)
    return render(request, "campaigns/campaign_list.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
def campaign_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_campaign_action(request.user, "add")
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_save(by=request.user, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The campaign {campaign.name} was created.")
            return redirect("campaigns:detail", campaign.pk)
    return render(
        request,
        "campaigns/campaign_form.html",
        {"form": form, "campaign": None},
        status=_status(request),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def campaign_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_for_user(request.user, pk, action="change")
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                services.campaign_save(by=request.user, campaign=campaign, values=form.cleaned_data)
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(request, f"The campaign {campaign.name} was saved.")
                return redirect("campaigns:detail", campaign.pk)
    else:
        form = CampaignForm(initial=CampaignForm.initial_for(campaign))
    return render(
        request,
        "campaigns/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=_status(request),
    )


@require_GET
@staff_required
def campaign_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_for_user(request.user, pk)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "results": campaign_results(campaign=campaign, user=request.user),
            "is_running": is_running(campaign, timezone.localdate()),
            "can_change": can_campaign(request.user, "change"),
            "can_delete": can_campaign(request.user, "delete"),
        },
    )


@require_POST
@staff_required
def campaign_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_for_user(request.user, pk, action="delete")
    try:
        services.campaign_delete(by=request.user, campaign=campaign)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("campaigns:detail", campaign.pk)
    messages.success(request, f"The campaign {campaign.name} was deleted.")
    return redirect("campaigns:list")
