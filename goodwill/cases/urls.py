from django.urls import path

from goodwill.cases import board_urls, report_urls, views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_create, name="create"),
    path("bulk/", views.case_bulk, name="bulk"),
    path("autocomplete/", views.case_autocomplete, name="autocomplete"),
    path("jump/", views.quick_search, name="jump"),
    path("filters/save/", views.filter_save, name="filter_save"),
    path("filters/<id:pk>/delete/", views.filter_delete, name="filter_delete"),
    path("attachments/<id:pk>/", views.attachment_download, name="attachment"),
    path("partner/<id:pk>/", views.partner_cases, name="partner_cases"),
    path("<id:number>/", views.case_detail, name="detail"),
    path("<id:number>/edit/", views.case_edit, name="edit"),
    path("<id:number>/timeline/", views.case_timeline, name="timeline"),
    path("<id:number>/state/<slug:action>/", views.case_state, name="state"),
    path("<id:number>/escalate/", views.case_escalate, name="escalate"),
    path("<id:number>/assign/", views.case_assign, name="assign"),
    path("<id:number>/note/", views.case_note, name="note"),
    path("<id:number>/reply/", views.case_reply, name="reply"),
    path("<id:number>/attach/", views.case_attach, name="attach"),
    path("<id:number>/watchers/", views.watcher_add, name="watcher_add"),
    path("<id:number>/watchers/<id:pk>/remove/", views.watcher_remove, name="watcher_remove"),
    path("<id:number>/links/", views.link_add, name="link_add"),
    path("<id:number>/links/<id:pk>/remove/", views.link_remove, name="link_remove"),
    path("<id:number>/expense/<slug:decision>/", views.case_expense, name="expense"),
    path("<id:number>/merge/", views.case_merge, name="merge"),
    path("<id:number>/split/<id:pk>/", views.case_split, name="split"),
    *board_urls.urlpatterns,
    *report_urls.urlpatterns,
]
