from django.contrib import admin
from django.urls import include, path

from goodwill.accounts import views as account_views
from goodwill.lib import sitepages

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("goodwill.accounts.urls")),
    path("partners/", include("goodwill.partners.urls")),
    path("cases/setup/", include("goodwill.cases.setup_urls")),
    path("cases/", include("goodwill.cases.urls")),
    path("sales/", include("goodwill.sales.urls")),
    path("campaigns/", include("goodwill.campaigns.urls")),
    path("mail/setup/", include("goodwill.mailgate.setup_urls")),
    path("mail/", include("goodwill.mailgate.urls")),
    path("mail/", include("goodwill.mailgate.outbox_urls")),
    path("automation/", include("goodwill.automation.urls")),
    path("api/", include("goodwill.api.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", sitepages.favicon),
    path("healthz", sitepages.healthz, name="healthz"),
]

handler400 = "goodwill.lib.sitepages.bad_request"
handler403 = "goodwill.lib.sitepages.permission_denied"
handler404 = "goodwill.lib.sitepages.page_not_found"
handler500 = "goodwill.lib.sitepages.server_error"
