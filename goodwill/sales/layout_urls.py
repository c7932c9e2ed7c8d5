"""The PDFs and the layout pages, spliced into the "sales" namespace (/sales/).

``goodwill/sales/urls.py`` lists these before the document and shipment
pages, whose ``orders/<id>/<action>/`` and ``shipments/<id>/<action>/`` would
otherwise take ``orders/<id>/pdf/`` and ``shipments/<id>/pdf/``.
"""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.sales import layout_views as views

urlpatterns = [
    path("orders/<id:pk>/pdf/", views.order_pdf, name="order_pdf"),
    path("invoices/<id:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("shipments/<id:pk>/pdf/", views.shipment_pdf, name="shipment_pdf"),
    path("layout/", views.layout_edit, name="layout"),
    path("layout/preview/", views.layout_preview, name="layout_preview"),
]
