"""Routing tables (mounted at /automation/routes/): the sections with their
routes, and one section's table to edit. Saving calls
:func:`goodwill.automation.routing.route_table_save`, which compiles the table
to rules; the permissions are those of the rules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.automation.models import RouteTable
from goodwill.automation.route_forms import (
    FallbackForm,
    RouteChoices,
    apply_route_errors,
    route_formset,
)
from goodwill.automation.routing import route_table_of, route_table_save
from goodwill.automation.views import can, check
from goodwill.cases.models import Section

#: Saving a table creates, changes and deletes rules.
SAVE_PERMS = ("add_rule", "change_rule", "delete_rule")


def get_section_for_routing(user: Any, pk: int, *, edit: bool = False) -> Section:
    """Section *pk*, for a user who may see (or, with *edit*, change) the rules."""
    check(user, "view_rule")
    if edit:
        for perm in SAVE_PERMS:
            check(user, perm)
    try:
        return Section.objects.select_related("responsible").get(pk=pk)
    except Section.DoesNotExist:
        raise Http404("No such section.") from None


@require_GET
@staff_required
def route_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check(request.user, "view_rule")
    sections = list(
        Section.objects.select_related("route_table")
        .annotate(route_count=Count("routes"))
        .order_by("-active", "name", "id")
    )
    rows = []
    for section in sections:
        table: RouteTable | None = getattr(section, "route_table", None)
        fallback = table.fallback if table is not None else RouteTable.Fallback.NONE
        rows.append((section, RouteTable.Fallback(fallback)))
    return render(
        request,
        "automation/route_list.html",
        {
            "rows": rows,
            "can_change": all(can(request.user, perm) for perm in SAVE_PERMS),
            "none": RouteTable.Fallback.NONE,
            "tab": "routes",
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def route_edit(request: AuthenticatedHttpRequest, section_id: int) -> HttpResponse:
    section = get_section_for_routing(request.user, section_id, edit=True)
    table = route_table_of(section)
    choices = RouteChoices.load(table)
    if request.method == "POST":
        formset = route_formset(request.POST, table=table, choices=choices)
        fallback_form = FallbackForm(request.POST)
        valid = fallback_form.is_valid()
        valid = formset.is_valid() and valid
        if valid:
            try:
                saved = route_table_save(
                    section=section,
                    routes=formset.routes(),
                    fallback=fallback_form.cleaned_data["fallback"],
                    by=request.user,
                )
            except ValidationError as exc:
                apply_route_errors(exc, formset=formset, fallback_form=fallback_form)
            else:
                count = len(saved)
                messages.success(
                    request,
                    f"The routing table of {section.name} was saved: "
                    f"{count} route{'s' if count != 1 else ''}.",
                )
                return redirect("automation:route_edit", section_id=section.pk)
    else:
        formset = route_formset(table=table, choices=choices)
        fallback_form = FallbackForm(initial={"fallback": table.fallback})
    return render(
        request,
        "automation/route_form.html",
        {
            "section": section,
            "table": table,
            "formset": formset,
            # The rows, then the empty one the "Add a route" button copies.
            "rows": [(form, False) for form in formset] + [(formset.empty_form, True)],
            "fallback_form": fallback_form,
            "tab": "routes",
        },
    )
