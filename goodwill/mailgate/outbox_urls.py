from django.urls import path

from goodwill.mailgate import outbox_views as views

app_name = "mailgate_outbox"

urlpatterns = [
    path("outbox/", views.outbox_list, name="list"),
    path("outbox/<id:pk>/", views.outbox_detail, name="detail"),
    path("outbox/<id:pk>/retry/", views.outbox_retry_view, name="retry"),
    path("local/", views.localmail_list, name="local_list"),
    path("local/<id:pk>/", views.localmail_detail, name="local_detail"),
    path("local/<id:pk>/raw/", views.localmail_download, name="local_download"),
]
