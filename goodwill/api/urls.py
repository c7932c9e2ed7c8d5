from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from goodwill.api import partners

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("partners/", partners.partner_collection, name="partner_list"),
    path("partners/<int:pk>/", partners.partner_detail, name="partner_detail"),
    path("partners/<int:pk>/archive/", partners.partner_archive, name="partner_archive"),
    path("partners/<int:pk>/restore/", partners.partner_restore, name="partner_restore"),
    path("partners/<int:pk>/merge/", partners.partner_merge, name="partner_merge"),
    path("partners/<int:pk>/timeline/", partners.partner_timeline, name="partner_timeline"),
    path("partners/<int:pk>/notes/", partners.partner_note_add, name="partner_notes"),
    path("categories/", partners.category_list, name="category_list"),
]
