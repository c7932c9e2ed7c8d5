"""Automation's setup pages, for managers and administrators (mounted at /automation/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.automation import route_views, views

app_name = "automation"

urlpatterns = [
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<id:pk>/", views.rule_detail, name="rule_detail"),
    path("rules/<id:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<id:pk>/active/", views.rule_set_active, name="rule_set_active"),
    path("rules/<id:pk>/delete/", views.rule_delete, name="rule_delete"),
    path(
        "rules/schedule-rebuilds/<id:pk>/",
        views.schedule_rebuild_status,
        name="schedule_rebuild_status",
    ),
    path("routes/", route_views.route_list, name="route_list"),
    path("routes/<id:section_id>/", route_views.route_edit, name="route_edit"),
    path("log/", views.rule_log, name="rule_log"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<id:pk>/edit/", views.template_edit, name="template_edit"),
    path("templates/<id:pk>/delete/", views.template_delete, name="template_delete"),
    path("calendars/", views.calendar_list, name="calendar_list"),
    path("calendars/new/", views.calendar_create, name="calendar_create"),
    path("calendars/<id:pk>/edit/", views.calendar_edit, name="calendar_edit"),
    path("sla-policies/", views.sla_list, name="sla_list"),
    path("sla-policies/new/", views.sla_create, name="sla_create"),
    path("sla-policies/<id:pk>/edit/", views.sla_edit, name="sla_edit"),
    path("sla-policies/<id:pk>/delete/", views.sla_delete, name="sla_delete"),
]
