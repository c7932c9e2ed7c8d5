"""The ERP import pages: upload a file, follow the job, read its report,
download the rejected rows, and run a dry run for real.

Managers and administrators only (``sales.add_salesimport`` to start an
import, ``sales.view_salesimport`` to see them); the role is checked before any
lookup. The work happens in the worker (``goodwill.sales.tasks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.lib.forms import apply_errors
from goodwill.lib.jobs import JobStatus
from goodwill.sales import imports
from goodwill.sales.import_forms import ImportForm, max_upload_mb
from goodwill.sales.models import SalesImport
from goodwill.sales.permissions import can_sales, check_sales

LIST_SIZE = 50
# The stored files and the rejected rows can be large: pages never load them.
HEAVY = ("content", "lines_content", "rejected_csv")


def _imports(*, load: Sequence[str] = ()) -> QuerySet[SalesImport]:
    """Imports without their heavy fields, except those in *load*."""
    heavy = [name for name in HEAVY if name not in load]
    return SalesImport.objects.select_related("created_by").defer(*heavy)


def get_import_for_user(
    user: Any, pk: int, *, action: str = "view", load: Sequence[str] = ()
) -> SalesImport:
    """Import *pk*, once *user* may *action* (view, add) imports; *load* names
    the heavy fields the caller reads."""
    check_sales(user, "salesimport", action)
    try:
        return _imports(load=load).get(pk=pk)
    except SalesImport.DoesNotExist:
        raise Http404("No such import.") from None


@require_GET
@staff_required
def import_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "salesimport")
    jobs = list(_imports()[:LIST_SIZE])
    return render(
        request,
        "sales/imports/list.html",
        {"jobs": jobs, "can_add": can_sales(request.user, "salesimport", "add")},
    )


@require_http_methods(["GET", "POST"])
@staff_required
def import_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_sales(request.user, "salesimport", "add")
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            file_name, lines_name = form.file_names()
            data = form.cleaned_data
            try:
                job = imports.sales_import_request(
                    by=request.user,
                    kind=data["kind"],
                    file_name=file_name,
                    content=data["file"],
                    lines_file_name=lines_name,
                    lines_content=data.get("lines_file"),
                    dry_run=data["dry_run"],
                    all_or_nothing=data["all_or_nothing"],
                    create_partners=data["create_partners"],
                )
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                return redirect("sales:import_detail", pk=job.pk)
    else:
        form = ImportForm(initial={"kind": request.GET.get("kind", ""), "dry_run": True})
    return render(
        request,
        "sales/imports/form.html",
        {
            "form": form,
            "max_mb": max_upload_mb(),
            "kinds": SalesImport.Kind.choices,
            "columns": _column_help(),
        },
        status=400 if request.method == "POST" else 200,
    )


def _column_help() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(kind, label, [(column, aliases)]) for the form's reference panel."""
    rows = []
    for kind, label in SalesImport.Kind.choices:
        columns = [
            (name, ", ".join(a for a in aliases if a != name))
            for name, aliases in imports.COLUMNS[kind].items()
        ]
        rows.append((kind, label, columns))
    return rows


@require_GET
@staff_required
def import_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request.user, pk)
    context = {"job": job, "can_add": can_sales(request.user, "salesimport", "add")}
    if request.htmx:
        return render(request, "sales/imports/_status.html", context)
    return render(request, "sales/imports/detail.html", context)


@require_GET
@staff_required
def import_rejected(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request.user, pk, load=["rejected_csv"])
    if not job.rejected_csv:
        raise Http404("This import has no rejected rows.")
    response = HttpResponse(
        job.rejected_csv.encode("utf-8-sig"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


@require_POST
@staff_required
def import_repeat(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request.user, pk, action="add", load=["content", "lines_content"])
    if not job.dry_run or job.status != JobStatus.DONE:
        messages.error(request, "Only a finished dry run can be imported for real.")
        return redirect("sales:import_detail", pk=job.pk)
    again = imports.sales_import_repeat(job=job, by=request.user)
    messages.success(request, "The import is queued, for real this time.")
    return redirect("sales:import_detail", pk=again.pk)


@require_GET
@staff_required
def import_template(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    check_sales(request.user, "salesimport")
    if kind not in imports.TEMPLATES:
        raise Http404("No such kind of import.")
    response = HttpResponse(
        imports.template_csv(kind).encode("utf-8-sig"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="goodwill-{kind}.csv"'
    return response
