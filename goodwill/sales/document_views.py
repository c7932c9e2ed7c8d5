"""The commercial document pages: quotations and orders, invoices and credit
notes, registering a payment, and the partner page's "Sales and balance" panel.

Views parse the request, ask the permission helper, call a service of
``orders``, ``invoicing`` or ``payments`` (or a selector), and render; nothing
else happens here. Every action is a plain form post that redirects back.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases.permissions import can_case, visible_cases
from goodwill.lib.forms import apply_errors, error_text
from goodwill.lib.ids import is_valid_id
from goodwill.lib.pagination import BadCursor, keyset_page
from goodwill.partners.models import Partner
from goodwill.partners.permissions import can_partner, get_partner_for_user
from goodwill.sales import invoicing
from goodwill.sales import orders as order_services
from goodwill.sales import payments as payment_services
from goodwill.sales.document_forms import (
    CreditApplyForm,
    DocumentFilterForm,
    InvoiceForm,
    OrderForm,
    PaymentForm,
    line_formset,
    plain_amount,
)
from goodwill.sales.document_permissions import (
    can_invoice,
    can_order,
    check_invoice_action,
    check_order_action,
    get_invoice_for_user,
    get_order_for_user,
)
from goodwill.sales.invoicing import (
    credit_targets,
    invoice_cancel,
    invoice_create,
    invoice_post,
    invoice_refund,
    invoice_update,
)
from goodwill.sales.models import CreditAllocation, Invoice, Order, Payment
from goodwill.sales.selectors import partner_sales_summary
from goodwill.sales.shipments import supplier_figures

PAGE_SIZE = 50
ORDER_ACTION_LABELS = {"send": "Mark as sent", "confirm": "Confirm", "cancel": "Cancel"}
PAYABLE = {
    Invoice.Kind.CUSTOMER_INVOICE: Payment.Direction.INBOUND,
    Invoice.Kind.VENDOR_BILL: Payment.Direction.OUTBOUND,
}
OPEN_STATES = (Invoice.State.POSTED, Invoice.State.PARTIAL)


def _apply_errors(error: ValidationError, form: Any, formset: Any = None) -> None:
    """A service's ValidationError next to the matching field or line, else on top."""
    claim = formset.apply_service_error if formset is not None else None
    apply_errors(error, form, claim=claim)


def _status(request: AuthenticatedHttpRequest) -> int:
    return 400 if request.method == "POST" else 200


def linked_cases(user: Any, document: Order | Invoice) -> list[Any]:
    """The cases *document* answers that *user* may see (the others are not named)."""
    if not can_case(user, "view"):
        return []
    return list(visible_cases(user, document.cases.all()).only("number", "subject"))


def _visible_partner(user: Any, value: Any) -> Partner | None:
    """The partner with id *value*, if *user* may see partners at all."""
    if not is_valid_id(value) or not can_partner(user, "view"):
        return None
    return Partner.objects.filter(pk=int(value)).first()


def _partner_from_query(request: AuthenticatedHttpRequest) -> Partner | None:
    return _visible_partner(request.user, request.GET.get("partner", ""))


def _list(
    request: AuthenticatedHttpRequest,
    *,
    queryset: QuerySet[Any],
    form: DocumentFilterForm,
    sort: str,
    list_url: str,
) -> tuple[dict[str, Any], HttpResponse | None]:
    filters = form.filters()
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("partner"):
        queryset = queryset.filter(partner_id=int(filters["partner"]))
    if filters.get("q"):
        q = filters["q"]
        queryset = queryset.filter(Q(number__icontains=q) | Q(partner__name__icontains=q))
    query = urlencode(filters)
    try:
        page = keyset_page(queryset, sort=sort, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except BadCursor as exc:
        messages.warning(request, str(exc))
        return {}, redirect(f"{list_url}?{query}")
    partner = _visible_partner(request.user, filters.get("partner"))
    return {
        "form": form,
        "filters": filters,
        "page": page,
        "query": query,
        "partner": partner,
        "today": timezone.localdate(),
    }, None


# --------------------------------------------------------------------------
# Orders


@require_GET
@staff_required
def order_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_order_action(request.user)
    form = DocumentFilterForm(request.GET, kinds=Order.Kind.choices, states=Order.State.choices)
    context, bounce = _list(
        request,
        queryset=Order.objects.select_related("partner"),
        form=form,
        sort="-id",
        list_url=reverse("sales:order_list"),
    )
    if bounce is not None:
        return bounce
    context["can_add"] = can_order(request.user, "add")
    if request.htmx and request.htmx.target == "document-results":
        return render(request, "sales/documents/_order_results.html", context)
    return render(request, "sales/documents/order_list.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
def order_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_order_action(request.user, "add")
    if request.method == "POST":
        form = OrderForm(request.POST)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                order = order_services.order_create(
                    by=request.user,
                    partner=data["partner"],
                    lines=formset.lines(),
                    kind=data["kind"],
                    currency=data["currency"],
                    order_date=data["order_date"],
                    valid_until=data["valid_until"],
                    payment_term=data["payment_term"],
                    reference=data["reference"],
                    notes=data["notes"],
                    campaign=data["campaign"],
                )
            except ValidationError as exc:
                _apply_errors(exc, form, formset)
            else:
                messages.success(request, f"Created {order.get_kind_display().lower()} {order}.")
                return redirect("sales:order_detail", order.pk)
    else:
        initial: dict[str, Any] = {}
        partner = _partner_from_query(request)
        if partner is not None:
            initial["partner"] = partner.pk
        if request.GET.get("kind") in Order.Kind.values:
            initial["kind"] = request.GET["kind"]
        form = OrderForm(initial=initial)
        formset = line_formset()
    return render(
        request,
        "sales/documents/order_form.html",
        {"form": form, "formset": formset, "order": None},
        status=_status(request),
    )


@require_GET
@staff_required
def order_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    order = get_order_for_user(request.user, pk)
    can_change = can_order(request.user, "change")
    actions = [
        (action, label)
        for action, label in ORDER_ACTION_LABELS.items()
        if order.state in order_services.TRANSITIONS[action][0]
    ]
    credit, credit_error = None, ""
    if can_change and order.state in {Order.State.DRAFT, Order.State.SENT}:
        try:
            credit = order_services.credit_check(order)
        except ValidationError as exc:
            credit_error = error_text(exc)
    return render(
        request,
        "sales/documents/order_detail.html",
        {
            "order": order,
            "credit": credit if credit is not None and credit.exceeded else None,
            "credit_error": credit_error,
            "can_override_credit": can_invoice(request.user, "post"),
            "lines": list(order.lines.select_related("product")),
            "invoices": list(order.invoices.order_by("-id")),
            "linked_cases": linked_cases(request.user, order),
            "state_actions": actions if can_change else [],
            "can_edit": can_change and order.state in {Order.State.DRAFT, Order.State.SENT},
            "can_invoice": order.state == Order.State.CONFIRMED
            and can_order(request.user, "invoice"),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_required
def order_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Change the header and the lines of a draft or sent quotation."""
    order = get_order_for_user(request.user, pk, action="change")
    if order.state not in {Order.State.DRAFT, Order.State.SENT}:
        state = order.get_state_display().lower()
        messages.error(request, f"{order} is {state}; it cannot change.")
        return redirect("sales:order_detail", order.pk)
    if request.method == "POST":
        form = OrderForm(request.POST, creating=False)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            values = dict(form.cleaned_data)
            if values["payment_term"] is None:
                values["payment_term"] = order.payment_term
            try:
                order_services.order_update(
                    order=order, by=request.user, values=values, lines=formset.lines()
                )
            except ValidationError as exc:
                _apply_errors(exc, form, formset)
            else:
                messages.success(request, f"Saved {order}.")
                return redirect("sales:order_detail", order.pk)
    else:
        form = OrderForm(initial=OrderForm.initial_for(order), creating=False)
        formset = line_formset(lines=list(order.lines.all()))
    return render(
        request,
        "sales/documents/order_form.html",
        {"form": form, "formset": formset, "order": order},
        status=_status(request),
    )


@require_POST
@staff_required
def order_state(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    order = get_order_for_user(request.user, pk, action="change")
    if action not in ORDER_ACTION_LABELS:
        raise Http404("No such order action.")
    over_limit = action == "confirm" and request.POST.get("over_credit_limit") == "1"
    if over_limit and not can_invoice(request.user, "post"):
        raise PermissionDenied(
            "Only managers can confirm an order over the customer's credit limit."
        )
    try:
        order = order_services.order_set_state(
            order=order, by=request.user, action=action, over_credit_limit=over_limit
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"{order} is now {order.get_state_display().lower()}.")
    return redirect("sales:order_detail", order.pk)


@require_POST
@staff_required
def order_invoice(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    order = get_order_for_user(request.user, pk, action="invoice")
    try:
        invoice = order_services.order_invoice(order=order, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("sales:order_detail", order.pk)
    messages.success(request, f"Drafted {invoice} from {order}; check it and post it.")
    return redirect("sales:invoice_detail", invoice.pk)


# --------------------------------------------------------------------------
# Invoices


@require_GET
@staff_required
def invoice_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_invoice_action(request.user)
    form = DocumentFilterForm(request.GET, kinds=Invoice.Kind.choices, states=Invoice.State.choices)
    context, bounce = _list(
        request,
        queryset=Invoice.objects.select_related("partner"),
        form=form,
        sort="-id",
        list_url=reverse("sales:invoice_list"),
    )
    if bounce is not None:
        return bounce
    context["can_add"] = can_invoice(request.user, "add")
    if request.htmx and request.htmx.target == "document-results":
        return render(request, "sales/documents/_invoice_results.html", context)
    return render(request, "sales/documents/invoice_list.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
def invoice_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_invoice_action(request.user, "add")
    if request.method == "POST":
        form = InvoiceForm(request.POST)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                invoice = invoice_create(
                    by=request.user,
                    kind=data["kind"],
                    partner=data["partner"],
                    lines=formset.lines(),
                    currency=data["currency"],
                    invoice_date=data["invoice_date"],
                    payment_term=data["payment_term"],
                    reference=data["reference"],
                    notes=data["notes"],
                    campaign=data["campaign"],
                )
            except ValidationError as exc:
                _apply_errors(exc, form, formset)
            else:
                messages.success(request, f"Created {invoice}.")
                return redirect("sales:invoice_detail", invoice.pk)
    else:
        initial: dict[str, Any] = {}
        partner = _partner_from_query(request)
        if partner is not None:
            initial["partner"] = partner.pk
        if request.GET.get("kind") in Invoice.Kind.values:
            initial["kind"] = request.GET["kind"]
        form = InvoiceForm(initial=initial)
        formset = line_formset()
    return render(
        request,
        "sales/documents/invoice_form.html",
        {"form": form, "formset": formset, "invoice": None},
        status=_status(request),
    )


@require_GET
@staff_required
def invoice_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request.user, pk)
    today = timezone.localdate()
    is_open = invoice.state in OPEN_STATES
    return render(
        request,
        "sales/documents/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.select_related("product")),
            "allocations": list(invoice.allocations.select_related("payment").order_by("id")),
            "credits": list(
                CreditAllocation.objects.filter(Q(credit_note=invoice) | Q(invoice=invoice))
                .select_related("credit_note", "invoice")
                .order_by("id")
            ),
            "credit_targets": credit_targets(invoice)
            if invoice.is_refund and can_invoice(request.user, "pay")
            else [],
            "refunds": list(invoice.refunds.order_by("id")),
            "linked_cases": linked_cases(request.user, invoice),
            # A credit note is owed by us: it is never "overdue".
            "overdue": is_open
            and not invoice.is_refund
            and invoice.due_date is not None
            and invoice.due_date < today,
            "is_draft": invoice.state == Invoice.State.DRAFT,
            "can_change": invoice.state == Invoice.State.DRAFT
            and can_invoice(request.user, "change"),
            "can_post": invoice.state == Invoice.State.DRAFT and can_invoice(request.user, "post"),
            "can_refund": invoice.state in {*OPEN_STATES, Invoice.State.PAID}
            and not invoice.is_refund
            and can_invoice(request.user, "add"),
            "can_pay": is_open and invoice.kind in PAYABLE and can_invoice(request.user, "pay"),
        },
    )


@require_POST
@staff_required
def invoice_apply_credit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Set a posted credit note off against one of the partner's open invoices."""
    credit_note = get_invoice_for_user(request.user, pk, action="pay")
    form = CreditApplyForm(request.POST, targets=credit_targets(credit_note))
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("sales:invoice_detail", credit_note.pk)
    try:
        invoicing.credit_note_apply(
            credit_note=credit_note,
            invoice=form.cleaned_data["invoice"],
            amount=form.cleaned_data["amount"],
            by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Set {credit_note} off against {form.cleaned_data['invoice']}.")
    return redirect("sales:invoice_detail", credit_note.pk)


@require_http_methods(["GET", "POST"])
@staff_required
def invoice_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request.user, pk, action="change")
    if invoice.state != Invoice.State.DRAFT:
        messages.error(request, f"{invoice} is posted; correct it with a credit note.")
        return redirect("sales:invoice_detail", invoice.pk)
    if request.method == "POST":
        form = InvoiceForm(request.POST, creating=False)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "kind"}
            try:
                invoice_update(
                    invoice=invoice, by=request.user, values=values, lines=formset.lines()
                )
            except ValidationError as exc:
                _apply_errors(exc, form, formset)
            else:
                messages.success(request, f"Saved {invoice}.")
                return redirect("sales:invoice_detail", invoice.pk)
    else:
        form = InvoiceForm(initial=InvoiceForm.initial_for(invoice), creating=False)
        formset = line_formset(lines=list(invoice.lines.all()))
    return render(
        request,
        "sales/documents/invoice_form.html",
        {"form": form, "formset": formset, "invoice": invoice},
        status=_status(request),
    )


@require_POST
@staff_required
def invoice_post_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request.user, pk, action="post")
    try:
        invoice = invoice_post(invoice=invoice, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Posted {invoice}, due {invoice.due_date}.")
    return redirect("sales:invoice_detail", invoice.pk)


@require_POST
@staff_required
def invoice_cancel_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request.user, pk, action="post")
    try:
        invoice = invoice_cancel(invoice=invoice, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Cancelled {invoice}.")
    return redirect("sales:invoice_detail", invoice.pk)


@require_POST
@staff_required
def invoice_refund_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    invoice = get_invoice_for_user(request.user, pk, action="add")
    try:
        refund = invoice_refund(invoice=invoice, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("sales:invoice_detail", invoice.pk)
    messages.success(request, f"Drafted {refund} for {invoice}; check it and post it.")
    return redirect("sales:invoice_detail", refund.pk)


@require_http_methods(["GET", "POST"])
@staff_required
def invoice_payment(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Register a payment of this invoice (all of it goes to this invoice)."""
    invoice = get_invoice_for_user(request.user, pk, action="pay")
    if invoice.state not in OPEN_STATES or invoice.kind not in PAYABLE:
        messages.error(request, f"{invoice} has nothing left to pay.")
        return redirect("sales:invoice_detail", invoice.pk)
    residual = invoice.amount_total - invoice.amount_paid
    if request.method == "POST":
        form = PaymentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                payment_services.payment_register(
                    by=request.user,
                    direction=PAYABLE[Invoice.Kind(invoice.kind)],
                    partner=invoice.partner,
                    amount=data["amount"],
                    currency=invoice.currency,
                    payment_date=data["payment_date"],
                    method=data["method"],
                    reference=data["reference"],
                    allocations=[
                        payment_services.Allocation(invoice=invoice, amount=data["amount"])
                    ],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "allocations" in exc.error_dict:
                    exc = ValidationError({"amount": exc.message_dict["allocations"]})
                _apply_errors(exc, form)
            else:
                messages.success(request, f"Registered the payment of {invoice}.")
                return redirect("sales:invoice_detail", invoice.pk)
    else:
        form = PaymentForm(initial={"amount": plain_amount(residual)})
    return render(
        request,
        "sales/documents/payment_form.html",
        {"form": form, "invoice": invoice, "residual": residual},
        status=_status(request),
    )


# --------------------------------------------------------------------------
# The partner page's panel


@require_GET
@staff_required
def partner_sales(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The "Sales and balance" panel of a partner page (loaded by htmx)."""
    check_invoice_action(request.user)
    partner = get_partner_for_user(request.user, pk)
    summary = partner_sales_summary(partner=partner, latest=5)
    today = timezone.localdate()
    return render(
        request,
        "sales/documents/_partner_sales.html",
        {
            "partner": partner,
            "summary": summary,
            "balances": payment_services.partner_balances(partner=partner, on=today),
            "today": today,
            "can_quote": can_order(request.user, "add"),
            "can_bill": can_invoice(request.user, "add"),
            "supplier": supplier_figures(partner=partner, today=today)
            if partner.is_supplier
            else None,
        },
    )


def _may_see_sales(user: Any) -> bool:
    try:
        check_invoice_action(user)
    except PermissionDenied:
        return False
    return True


def install_partner_panel() -> None:
    """Add the "Sales and balance" panel to the partner page (idempotent)."""
    from goodwill.partners import views as partner_views

    panel = ("Sales and balance", "sales:partner_sales", _may_see_sales)
    if not any(p[1] == panel[1] for p in partner_views.PARTNER_PANELS):
        partner_views.PARTNER_PANELS.append(panel)
