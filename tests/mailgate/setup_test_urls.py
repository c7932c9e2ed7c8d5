"""The site's URLs plus the email gateway's setup pages, until goodwill/urls.py mounts them."""

from django.urls import include, path

import goodwill.urls

urlpatterns = [
    *goodwill.urls.urlpatterns,
    path("mail/setup/", include("goodwill.mailgate.setup_urls")),
]
