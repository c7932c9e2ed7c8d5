"""The requests → documents pages, spliced into the "sales" namespace (/sales/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.sales import case_views as views

urlpatterns = [
    path("cases/<id:number>/work/", views.work_panel, name="work_panel"),
    path("work/<id:pk>/edit/", views.work_edit, name="work_edit"),
    path("work/<id:pk>/delete/", views.work_delete, name="work_delete"),
    path("cases/<id:number>/quotation/", views.quotation_from_case, name="case_quotation"),
    path("cases/<id:number>/invoice/", views.invoice_from_case, name="case_invoice"),
    path(
        "cases/<id:number>/purchase-order/",
        views.purchase_order_from_case,
        name="case_purchase_order",
    ),
    path("cases/<id:number>/expense-bill/", views.expense_bill, name="case_expense_bill"),
    path("invoices/from-requests/", views.invoice_requests, name="invoice_requests"),
    path(
        "invoices/from-requests/<id:pk>/",
        views.invoice_requests_run,
        name="invoice_requests_run",
    ),
]
