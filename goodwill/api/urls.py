from django.urls import path
from drf_spectacular.views import SpectacularAPIView

import goodwill.lib.ids  # noqa: F401 - registers the <id:…> converter
from goodwill.api import cases, mail, partners

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
    path("cases/", cases.case_collection, name="case_list"),
    path("cases/bulk/", cases.case_bulk, name="case_bulk"),
    path("cases/attachments/<id:pk>/", cases.attachment_download, name="case_attachment"),
    path("cases/<id:number>/", cases.case_detail, name="case_detail"),
    path("cases/<id:number>/state/", cases.case_state, name="case_state"),
    path("cases/<id:number>/escalate/", cases.case_escalate, name="case_escalate"),
    path("cases/<id:number>/assign/", cases.case_assign, name="case_assign"),
    path("cases/<id:number>/merge/", cases.case_merge, name="case_merge"),
    path("cases/<id:number>/timeline/", cases.case_timeline, name="case_timeline"),
    path("cases/<id:number>/notes/", cases.case_note_add, name="case_notes"),
    path("cases/<id:number>/replies/", cases.case_reply, name="case_replies"),
    path("cases/<id:number>/watchers/", cases.case_watchers, name="case_watchers"),
    path(
        "cases/<id:number>/watchers/<id:pk>/",
        cases.case_watcher_remove,
        name="case_watcher_remove",
    ),
    path("cases/<id:number>/links/", cases.case_links, name="case_links"),
    path("cases/<id:number>/links/<id:pk>/", cases.case_link_remove, name="case_link_remove"),
    path("cases/<id:number>/attachments/", cases.case_attachments, name="case_attachments"),
    path("cases/<id:number>/expense/", cases.case_expense, name="case_expense"),
    path("cases/<id:number>/split/", cases.case_split, name="case_split"),
    path("sections/", cases.section_list, name="section_list"),
    path("case-types/", cases.case_type_list, name="case_type_list"),
    path("mail/inbound/", mail.inbound_collection, name="mail_inbound_list"),
    path("mail/inbound/<id:pk>/", mail.inbound_detail, name="mail_inbound_detail"),
    path("mail/inbound/<id:pk>/raw/", mail.inbound_raw, name="mail_inbound_raw"),
    path("mail/inbound/<id:pk>/retry/", mail.inbound_retry, name="mail_inbound_retry"),
    path("mail/outbox/", mail.outbox_list, name="mail_outbox_list"),
    path("mail/outbox/<id:pk>/", mail.outbox_detail, name="mail_outbox_detail"),
    path("mail/outbox/<id:pk>/retry/", mail.outbox_retry_view, name="mail_outbox_retry"),
    path("mail/suppressions/", mail.suppression_collection, name="mail_suppression_list"),
    path("mail/suppressions/<id:pk>/", mail.suppression_detail, name="mail_suppression_detail"),
]
