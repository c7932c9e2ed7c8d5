"""PDFs of quotations, orders, invoices, delivery notes and goods received
notes, and the managers' document layout page.

A PDF is for whoever may see the document or the shipment (the permission
helpers check the role before the lookup). ``?download=1`` asks the browser to save it;
otherwise it opens inline. When the server lacks WeasyPrint's system
libraries, the PDF pages answer 503 with a page naming what to install.
"""

from __future__ import annotations

import base64

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.lib.forms import apply_errors
from goodwill.sales.document_permissions import get_invoice_for_user, get_order_for_user
from goodwill.sales.layout import layout_get, layout_logo, layout_save
from goodwill.sales.layout_forms import DocumentLayoutForm
from goodwill.sales.models import Invoice, Order, Shipment
from goodwill.sales.pdf import (
    PDF_PACKAGES,
    PdfUnavailableError,
    document_pdf,
    pdf_available,
    pdf_filename,
    sample_pdf,
)
from goodwill.sales.permissions import check_sales
from goodwill.sales.shipment_views import get_shipment_for_user


def _pdf_response(request: AuthenticatedHttpRequest, content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") in {"1", "true", "yes"} else "inline"
    # pdf_filename keeps to letters, digits, dots, dashes and underscores.
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-cache"
    return response


def _unavailable(request: AuthenticatedHttpRequest, error: PdfUnavailableError) -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "status": 503,
            "title": "PDFs are not available on this server",
            "text": "PDFs cannot be made on this server.",
            "detail": str(error),
        },
        status=503,
    )


def _document_pdf(
    request: AuthenticatedHttpRequest, document: Order | Invoice | Shipment
) -> HttpResponse:
    try:
        content = document_pdf(document)
    except PdfUnavailableError as exc:
        return _unavailable(request, exc)
    return _pdf_response(request, content, pdf_filename(document))


@require_GET
@staff_required
def order_pdf(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _document_pdf(request, get_order_for_user(request.user, pk))


@require_GET
@staff_required
def invoice_pdf(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _document_pdf(request, get_invoice_for_user(request.user, pk))


@require_GET
@staff_required
def shipment_pdf(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The delivery note of a delivery, or the goods received note of a receipt."""
    return _document_pdf(request, get_shipment_for_user(request.user, pk))


@require_http_methods(["GET", "POST"])
@staff_required
def layout_edit(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The company's letterhead, logo and colours for every document."""
    check_sales(request.user, "documentlayout", "change")
    layout = layout_get()
    if request.method == "POST":
        form = DocumentLayoutForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                layout_save(
                    by=request.user,
                    values=form.layout_values(),
                    logo=form.cleaned_data["logo"],
                    remove_logo=form.cleaned_data["remove_logo"],
                )
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(request, "The document layout was saved.")
                return redirect("sales:layout")
    else:
        form = DocumentLayoutForm(initial=DocumentLayoutForm.initial_for(layout))
    logo = layout_logo(layout)
    logo_uri = ""
    if logo is not None:
        logo_uri = f"data:{logo[1]};base64,{base64.b64encode(logo[0]).decode('ascii')}"
    return render(
        request,
        "sales/layout/layout_form.html",
        {
            "form": form,
            "layout": layout,
            "logo_uri": logo_uri,
            "pdf_available": pdf_available(),
            "pdf_packages": " ".join(PDF_PACKAGES),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@staff_required
def layout_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A made-up invoice drawn with the saved layout."""
    check_sales(request.user, "documentlayout", "view")
    try:
        content = sample_pdf(layout=layout_get())
    except PdfUnavailableError as exc:
        return _unavailable(request, exc)
    return _pdf_response(request, content, "layout-preview.pdf")
