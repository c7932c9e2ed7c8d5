"""The commercial document pages, spliced into the "sales" namespace (/sales/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.sales import document_views as views

urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/<id:pk>/", views.order_detail, name="order_detail"),
    path("orders/<id:pk>/edit/", views.order_edit, name="order_edit"),
    path("orders/<id:pk>/invoice/", views.order_invoice, name="order_invoice"),
    path("orders/<id:pk>/<slug:action>/", views.order_state, name="order_state"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/new/", views.invoice_create_view, name="invoice_create"),
    path("invoices/<id:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<id:pk>/edit/", views.invoice_edit, name="invoice_edit"),
    path("invoices/<id:pk>/post/", views.invoice_post_view, name="invoice_post"),
    path("invoices/<id:pk>/cancel/", views.invoice_cancel_view, name="invoice_cancel"),
    path("invoices/<id:pk>/credit-note/", views.invoice_refund_view, name="invoice_refund"),
    path("invoices/<id:pk>/payment/", views.invoice_payment, name="invoice_payment"),
    path("invoices/<id:pk>/apply-credit/", views.invoice_apply_credit, name="invoice_apply_credit"),
    path("partner/<id:pk>/summary/", views.partner_sales, name="partner_sales"),
]
