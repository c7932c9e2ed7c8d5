from django.urls import path

from goodwill.mailgate import views

app_name = "mailgate"

urlpatterns = [
    path("inbound/", views.inbound_list, name="inbound_list"),
    path("inbound/pipe/", views.pipe_receive, name="pipe"),
    path("inbound/<id:pk>/", views.inbound_detail, name="inbound_detail"),
    path("inbound/<id:pk>/raw/", views.inbound_raw, name="inbound_raw"),
    path("inbound/<id:pk>/retry/", views.inbound_retry, name="inbound_retry"),
    path("partners/<id:pk>/", views.partner_panel, name="partner_panel"),
]
