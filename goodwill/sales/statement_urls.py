"""The statement pages, spliced into the "sales" namespace (/sales/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.sales import statement_views as views

urlpatterns = [
    path("partner/<id:pk>/statement/", views.partner_statement_view, name="partner_statement"),
]
