"""The shipment pages: the list of deliveries and receipts, a shipment with its
lines and state buttons, editing a draft or ready one, and making one from an
order.

Views parse the request, ask the permission helper, call a service of
``goodwill.sales.shipments`` (or a selector), and render. Agents see, make and
change shipments (``sales.*_shipment``); the role is checked before any lookup,
so an outsider cannot probe which ids exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.lib.forms import apply_errors, error_text
from goodwill.lib.pagination import BadCursor, keyset_page
from goodwill.partners.models import Partner
from goodwill.partners.permissions import can_partner
from goodwill.sales import shipments as services
from goodwill.sales.document_permissions import (
    Actions,
    can_act,
    check_action,
    get_for_user,
    get_order_for_user,
)
from goodwill.sales.models import Shipment
from goodwill.sales.shipment_forms import (
    ShipmentCreateForm,
    ShipmentDoneForm,
    ShipmentFilterForm,
    ShipmentForm,
)

PAGE_SIZE = 50
ACTIONS: Actions = {
    "view": ("sales.view_shipment", "Your role does not allow you to see shipments."),
    "add": ("sales.add_shipment", "Your role does not allow you to make shipments."),
    "change": ("sales.change_shipment", "Your role does not allow you to change shipments."),
}
STATE_LABELS = {"ready": "Mark ready", "done": "Mark done", "cancel": "Cancel"}


# --------------------------------------------------------------------------
# Permissions


def check_shipment_action(user: Any, action: str = "view") -> None:
    """*action* is view, add or change."""
    check_action(user, ACTIONS, action)


def can_ship(user: Any, action: str = "view") -> bool:
    return can_act(user, ACTIONS, action)


def get_shipment_for_user(user: Any, pk: int, *, action: str = "view") -> Shipment:
    return get_for_user(
        user,
        services.shipment_queryset(),
        pk,
        actions=ACTIONS,
        action=action,
        missing="No such shipment.",
    )


def _status(request: AuthenticatedHttpRequest) -> int:
    return 400 if request.method == "POST" else 200


# --------------------------------------------------------------------------
# Pages


@require_GET
@staff_required
def shipment_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_shipment_action(request.user)
    form = ShipmentFilterForm(request.GET)
    filters = form.filters()
    today = timezone.localdate()
    query = urlencode(filters)
    try:
        page = keyset_page(
            services.shipment_list_queryset(filters, today=today),
            sort="-id",
            cursor=request.GET.get("cursor"),
            limit=PAGE_SIZE,
        )
    except BadCursor as exc:
        messages.warning(request, str(exc))
        return redirect(f"{reverse('sales:shipment_list')}?{query}")
    partner = None
    if filters.get("partner") and can_partner(request.user, "view"):
        partner = Partner.objects.filter(pk=int(filters["partner"])).first()
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": query,
        "partner": partner,
        "today": today,
    }
    if request.htmx and request.htmx.target == "shipment-results":
        return render(request, "sales/shipments/_results.html", context)
    return render(request, "sales/shipments/shipment_list.html", context)


@require_GET
@staff_required
def shipment_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    shipment = get_shipment_for_user(request.user, pk)
    can_change = can_ship(request.user, "change")
    actions = [
        (action, label)
        for action, label in STATE_LABELS.items()
        if shipment.state in services.TRANSITIONS[action][0]
    ]
    today = timezone.localdate()
    return render(
        request,
        "sales/shipments/shipment_detail.html",
        {
            "shipment": shipment,
            "lines": list(shipment.lines.select_related("order_line", "product")),
            "state_actions": actions if can_change else [],
            "can_edit": can_change and shipment.state in services.EDITABLE_STATES,
            "done_form": ShipmentDoneForm(),
            "overdue": shipment.state in services.OPEN_STATES
            and shipment.promised_date is not None
            and shipment.promised_date < today,
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def shipment_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Change the dates, carrier, notes and quantities of a draft or ready shipment."""
    shipment = get_shipment_for_user(request.user, pk, action="change")
    if shipment.state not in services.EDITABLE_STATES:
        state = shipment.get_state_display().lower()
        messages.error(request, f"{shipment} is {state}; it cannot change.")
        return redirect("sales:shipment_detail", shipment.pk)
    lines = list(shipment.lines.select_related("order_line", "product"))
    if request.method == "POST":
        form = ShipmentForm(request.POST, lines=lines)
        if form.is_valid():
            try:
                services.shipment_update(
                    shipment=shipment,
                    by=request.user,
                    values=form.values(),
                    quantities=form.quantities(),
                )
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(request, f"Saved {shipment}.")
                return redirect("sales:shipment_detail", shipment.pk)
    else:
        form = ShipmentForm(initial=ShipmentForm.initial_for(shipment, lines), lines=lines)
    return render(
        request,
        "sales/shipments/shipment_form.html",
        {"form": form, "shipment": shipment},
        status=_status(request),
    )


@require_POST
@staff_required
def shipment_state(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    shipment = get_shipment_for_user(request.user, pk, action="change")
    if action not in STATE_LABELS:
        raise Http404("No such shipment action.")
    actual_date = None
    if action == "done":
        form = ShipmentDoneForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Enter the actual date as a date (YYYY-MM-DD).")
            return redirect("sales:shipment_detail", shipment.pk)
        actual_date = form.cleaned_data["actual_date"]
    try:
        shipment = services.shipment_set_state(
            shipment=shipment, by=request.user, action=action, actual_date=actual_date
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"{shipment} is now {shipment.get_state_display().lower()}.")
    return redirect("sales:shipment_detail", shipment.pk)


@require_POST
@staff_required
def shipment_from_order(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Draft the delivery (or receipt) of what is left on order *pk*."""
    check_shipment_action(request.user, "add")
    order = get_order_for_user(request.user, pk)
    form = ShipmentCreateForm(request.POST)
    promised = form.cleaned_data["promised_date"] if form.is_valid() else None
    try:
        shipment = services.shipment_create_from_order(
            order=order, by=request.user, promised_date=promised
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("sales:order_detail", order.pk)
    messages.success(
        request, f"Drafted {shipment.get_kind_display().lower()} {shipment} from {order}."
    )
    return redirect("sales:shipment_detail", shipment.pk)
