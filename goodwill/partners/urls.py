from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.partners import views

app_name = "partners"

urlpatterns = [
    path("", views.partner_list, name="list"),
    path("new/", views.partner_create, name="create"),
    path("new/duplicates/", views.partner_duplicates, name="duplicates"),
    path("bulk/", views.partner_bulk, name="bulk"),
    path("autocomplete/", views.partner_autocomplete, name="autocomplete"),
    path("<id:pk>/", views.partner_detail, name="detail"),
    path("<id:pk>/edit/", views.partner_edit, name="edit"),
    path("<id:pk>/timeline/", views.partner_timeline, name="timeline"),
    path("<id:pk>/notes/", views.partner_note_add, name="note_add"),
    path("<id:pk>/archive/", views.partner_archive, name="archive"),
    path("<id:pk>/restore/", views.partner_restore, name="restore"),
    path("<id:pk>/merge/", views.partner_merge, name="merge"),
    path("<id:pk>/contacts/add/", views.membership_add, name="membership_add"),
    path("contacts/<id:pk>/edit/", views.membership_edit, name="membership_edit"),
    path("contacts/<id:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/new/", views.export_create, name="export_create"),
    path("exports/<id:pk>/", views.export_detail, name="export_detail"),
    path("exports/<id:pk>/download/", views.export_download, name="export_download"),
]
