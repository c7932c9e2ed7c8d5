"""Routes of this part of the cases app (included by goodwill/cases/urls.py)."""

from django.urls import URLPattern, path

from goodwill.cases import report_views

urlpatterns: list[URLPattern] = [
    path("reports/", report_views.reports_index, name="reports"),
    path("reports/activity/", report_views.report_activity, name="report_activity"),
    path("reports/sections/", report_views.report_sections, name="report_sections"),
]
