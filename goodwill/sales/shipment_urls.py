"""The shipment pages, spliced into the "sales" namespace (/sales/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.sales import shipment_views as views

urlpatterns = [
    path("shipments/", views.shipment_list, name="shipment_list"),
    path("shipments/<id:pk>/", views.shipment_detail, name="shipment_detail"),
    path("shipments/<id:pk>/edit/", views.shipment_edit, name="shipment_edit"),
    path("shipments/<id:pk>/<slug:action>/", views.shipment_state, name="shipment_state"),
    path("shipments/from-order/<id:pk>/", views.shipment_from_order, name="shipment_from_order"),
]
