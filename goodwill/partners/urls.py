from django.urls import path

from goodwill.partners import views

app_name = "partners"

urlpatterns = [
    path("", views.partner_list, name="list"),
    path("new/", views.partner_create, name="create"),
    path("new/duplicates/", views.partner_duplicates, name="duplicates"),
    path("bulk/", views.partner_bulk, name="bulk"),
    path("autocomplete/", views.partner_autocomplete, name="autocomplete"),
    path("<int:pk>/", views.partner_detail, name="detail"),
    path("<int:pk>/edit/", views.partner_edit, name="edit"),
    path("<int:pk>/timeline/", views.partner_timeline, name="timeline"),
    path("<int:pk>/notes/", views.partner_note_add, name="note_add"),
    path("<int:pk>/archive/", views.partner_archive, name="archive"),
    path("<int:pk>/restore/", views.partner_restore, name="restore"),
    path("<int:pk>/merge/", views.partner_merge, name="merge"),
    path("<int:pk>/contacts/add/", views.membership_add, name="membership_add"),
    path("contacts/<int:pk>/edit/", views.membership_edit, name="membership_edit"),
    path("contacts/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/new/", views.export_create, name="export_create"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
