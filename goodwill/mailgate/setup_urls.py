"""The email gateway's setup pages, for managers and administrators (mounted at /mail/setup/)."""

from django.urls import path

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.mailgate import setup_views as views

app_name = "mailgate_setup"

urlpatterns = [
    path("mailboxes/", views.mailbox_list, name="mailbox_list"),
    path("mailboxes/new/", views.mailbox_create, name="mailbox_create"),
    path("mailboxes/<id:pk>/", views.mailbox_detail, name="mailbox_detail"),
    path("mailboxes/<id:pk>/edit/", views.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<id:pk>/test/", views.mailbox_test, name="mailbox_test"),
    path("mailboxes/<id:pk>/poll/", views.mailbox_poll, name="mailbox_poll"),
    path("mailboxes/<id:pk>/active/", views.mailbox_set_active, name="mailbox_set_active"),
    path("mailboxes/<id:pk>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("sections/", views.section_list, name="section_list"),
    path("sections/<id:pk>/", views.section_detail, name="section_detail"),
    path("sections/<id:pk>/addresses/", views.address_add, name="address_add"),
    path("addresses/<id:pk>/remove/", views.address_remove, name="address_remove"),
    path("suppressions/", views.suppression_list, name="suppression_list"),
    path("suppressions/add/", views.suppression_add, name="suppression_add"),
    path("suppressions/<id:pk>/clear/", views.suppression_clear, name="suppression_clear"),
    path("simulate/", views.simulate, name="simulate"),
]
