"""Requests → documents: the "Time and products" panel of a case, the
documents made from a case, and invoicing the closed billable requests.

Every view checks the role first, then loads the case through the cases app's
visibility rules (a case in a section the user cannot see is a 404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases.models import Case, CaseType
from goodwill.cases.permissions import can_case, get_case_for_user
from goodwill.lib.forms import apply_errors, error_text
from goodwill.sales import casework
from goodwill.sales.case_forms import RequestInvoicingForm, SupplierForm, WorkRecordForm
from goodwill.sales.document_permissions import check_invoice_action, check_order_action
from goodwill.sales.models import RequestInvoicing, WorkRecord
from goodwill.sales.permissions import check_sales


def work_panel_context(case: Case) -> dict[str, Any] | None:
    """The case page's "Time and products" panel: records, totals, linked documents."""
    records = list(
        WorkRecord.objects.filter(case=case).select_related("product", "user", "invoice")
    )
    expense = case.case_type.has(CaseType.FieldGroup.EXPENSE)
    return {
        "records": records,
        "summary": casework.work_summary(records),
        "orders": list(case.orders.all().order_by("-id")[:20]),
        "invoices": list(case.invoices.all().order_by("-id")[:20]),
        "expense_billable": expense
        and case.approval == Case.Approval.APPROVED
        and casework.expense_claim_billed(case) is None,
        "form": WorkRecordForm(auto_id="id_work_%s"),
    }


def _panel(
    request: AuthenticatedHttpRequest, case: Case, form: WorkRecordForm | None = None
) -> HttpResponse:
    context = work_panel_context(case) or {}
    if form is not None:
        context["form"] = form
    return render(
        request,
        "sales/casework/_work_panel.html",
        {"panel": context, "case": case, "can_change": _can_change(request, case)},
        status=400 if form is not None and form.errors else 200,
    )


def _can_change(request: AuthenticatedHttpRequest, case: Case) -> bool:
    """As on the case page: the case may change (the template checks the record permissions)."""
    return can_case(request.user, "change") and not case.final and not case.merged_into_id


@require_http_methods(["GET", "POST"])
@staff_required
def work_panel(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """GET: the panel; POST: record time or a product, then the panel again."""
    check_sales(request.user, "workrecord", "add" if request.method == "POST" else "view")
    case = get_case_for_user(request.user, number, action="view")
    if request.method == "GET":
        return _panel(request, case)
    form = WorkRecordForm(request.POST, auto_id="id_work_%s")
    if form.is_valid():
        try:
            casework.work_record_add(case=case, by=request.user, **form.values())
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            if not request.htmx:
                messages.success(request, "Recorded.")
                return redirect("cases:detail", case.number)
            return _panel(request, case)
    if not request.htmx:
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Not recorded: {errors}")
        return redirect("cases:detail", case.number)
    return _panel(request, case, form)


def _record_for(request: AuthenticatedHttpRequest, pk: int, action: str) -> WorkRecord:
    check_sales(request.user, "workrecord", action)
    record = WorkRecord.objects.select_related("case", "product").filter(pk=pk).first()
    if record is None:
        raise Http404("No such record.")
    # The case must be one the user may see, else the record does not exist for them.
    get_case_for_user(request.user, record.case.number, action="view")
    return record


@require_http_methods(["GET", "POST"])
@staff_required
def work_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    record = _record_for(request, pk, "change")
    case = record.case
    if request.method == "POST":
        form = WorkRecordForm(request.POST)
        if form.is_valid():
            try:
                casework.work_record_update(record=record, by=request.user, **form.values())
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(request, "Saved the record.")
                return redirect("cases:detail", case.number)
    else:
        form = WorkRecordForm(
            initial={
                "kind": record.kind,
                "product": record.product_id,
                "description": record.description,
                "quantity": record.quantity.normalize(),
                "billable": record.billable,
                "work_date": record.work_date,
            }
        )
    return render(
        request,
        "sales/casework/work_form.html",
        {"form": form, "record": record, "case": case},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@staff_required
def work_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    record = _record_for(request, pk, "delete")
    case = record.case
    try:
        casework.work_record_delete(record=record, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "Removed the record.")
    return redirect("cases:detail", case.number)


# --------------------------------------------------------------------------
# Documents from a case


def _done(request: AuthenticatedHttpRequest, document: Any, url: str) -> HttpResponse:
    label = document.get_kind_display().lower()
    messages.success(request, f"Created {label} {document} from the case.")
    return redirect(url, document.pk)


@require_POST
@staff_required
def quotation_from_case(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    check_order_action(request.user, "add")
    case = get_case_for_user(request.user, number, action="view")
    try:
        order = casework.quotation_from_case(case=case, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("cases:detail", case.number)
    return _done(request, order, "sales:order_detail")


@require_POST
@staff_required
def invoice_from_case(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    check_invoice_action(request.user, "add")
    case = get_case_for_user(request.user, number, action="view")
    try:
        invoice = casework.invoice_from_case(case=case, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("cases:detail", case.number)
    return _done(request, invoice, "sales:invoice_detail")


@require_http_methods(["GET", "POST"])
@staff_required
def purchase_order_from_case(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """Pick the supplier (the case's partner when it is one), then the draft order."""
    check_order_action(request.user, "add")
    case = get_case_for_user(request.user, number, action="view")
    if request.method == "POST":
        form = SupplierForm(request.POST)
        if form.is_valid():
            try:
                order = casework.purchase_order_from_case(
                    case=case, by=request.user, supplier=form.cleaned_data["supplier"]
                )
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                return _done(request, order, "sales:order_detail")
    else:
        initial = {"supplier": case.partner_id} if case.partner and case.partner.is_supplier else {}
        form = SupplierForm(initial=initial)
    products = WorkRecord.objects.filter(case=case, kind=WorkRecord.Kind.PRODUCT).select_related(
        "product"
    )
    return render(
        request,
        "sales/casework/purchase_order_form.html",
        {"form": form, "case": case, "products": list(products)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@staff_required
def expense_bill(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    check_invoice_action(request.user, "add")
    case = get_case_for_user(request.user, number, action="view")
    try:
        bill = casework.expense_claim_bill(case=case, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("cases:detail", case.number)
    return _done(request, bill, "sales:invoice_detail")


# --------------------------------------------------------------------------
# Invoice closed billable requests


@require_http_methods(["GET", "POST"])
@staff_required
def invoice_requests(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: the form and the latest runs; POST with "preview": what would be
    invoiced (read only, here); POST: queue the run for the worker."""
    check_invoice_action(request.user, "add")
    outcome = None
    preview = "preview" in request.POST
    form = RequestInvoicingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if preview:
                outcome = casework.invoice_closed_requests(
                    by=request.user, preview=True, **form.options()
                )
            else:
                job = casework.request_invoicing_start(by=request.user, **form.options())
                return redirect("sales:invoice_requests_run", job.pk)
        except ValidationError as exc:
            apply_errors(exc, form)
    return render(
        request,
        "sales/casework/invoice_requests.html",
        {
            "form": form,
            "outcome": outcome,
            "preview": preview,
            "runs": list(
                RequestInvoicing.objects.select_related("created_by", "section", "partner")[:10]
            ),
        },
        status=400 if form.errors else 200,
    )


@require_GET
@staff_required
def invoice_requests_run(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A run's progress (polled while it works) and then what it made."""
    check_invoice_action(request.user, "add")
    job = (
        RequestInvoicing.objects.select_related("created_by", "section", "case_type", "partner")
        .filter(pk=pk)
        .first()
    )
    if job is None:
        raise Http404("No such run.")
    context = {
        "job": job,
        "invoices": list(job.invoices.select_related("partner").order_by("id"))
        if job.is_finished
        else [],
    }
    if request.htmx:
        return render(request, "sales/casework/_run_status.html", context)
    return render(request, "sales/casework/invoice_requests_run.html", context)
