"""The case setup pages, for managers and administrators (mounted at /cases/setup/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.cases import setup_views as views

app_name = "cases_setup"

urlpatterns = [
    path("", views.section_list, name="section_list"),
    path("sections/new/", views.section_create, name="section_create"),
    path("sections/<id:pk>/", views.section_detail, name="section_detail"),
    path("sections/<id:pk>/edit/", views.section_edit, name="section_edit"),
    path("sections/<id:pk>/categories/", views.category_add, name="category_add"),
    path("sections/<id:pk>/stages/", views.stage_add, name="stage_add"),
    path("sections/<id:pk>/stages/order/", views.stages_reorder, name="stages_reorder"),
    path("sections/<id:pk>/stages/seed/", views.section_seed_stages, name="section_seed_stages"),
    path("categories/<id:pk>/edit/", views.category_edit, name="category_edit"),
    path("categories/<id:pk>/delete/", views.category_delete, name="category_delete"),
    path("stages/<id:pk>/edit/", views.stage_edit, name="stage_edit"),
    path("stages/<id:pk>/delete/", views.stage_delete, name="stage_delete"),
    path("types/", views.case_type_list, name="case_type_list"),
    path("types/new/", views.case_type_create, name="case_type_create"),
    path("types/<id:pk>/edit/", views.case_type_edit, name="case_type_edit"),
]
