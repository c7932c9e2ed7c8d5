"""The import pages, spliced into the "sales" namespace (/sales/)."""

from django.urls import URLPattern, path

from goodwill.sales import import_views

urlpatterns: list[URLPattern] = [
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/new/", import_views.import_create, name="import_create"),
    path("imports/templates/<slug:kind>.csv", import_views.import_template, name="import_template"),
    path("imports/<id:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<id:pk>/rejected.csv", import_views.import_rejected, name="import_rejected"),
    path("imports/<id:pk>/repeat/", import_views.import_repeat, name="import_repeat"),
]
