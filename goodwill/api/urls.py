from django.urls import path
from drf_spectacular.views import SpectacularAPIView

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.api import partners

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("partners/", partners.partner_collection, name="partner_list"),
    path("partners/<id:pk>/", partners.partner_detail, name="partner_detail"),
    path("partners/<id:pk>/archive/", partners.partner_archive, name="partner_archive"),
    path("partners/<id:pk>/restore/", partners.partner_restore, name="partner_restore"),
    path("partners/<id:pk>/merge/", partners.partner_merge, name="partner_merge"),
    path("partners/<id:pk>/timeline/", partners.partner_timeline, name="partner_timeline"),
    path("partners/<id:pk>/notes/", partners.partner_note_add, name="partner_notes"),
    path("categories/", partners.category_list, name="category_list"),
]
