"""goodwill.urls plus the outbox pages, until goodwill.urls includes them."""

from django.urls import include, path

from goodwill.urls import handler400, handler403, handler404, handler500
from goodwill.urls import urlpatterns as base

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

urlpatterns = [*base, path("mail/", include("goodwill.mailgate.outbox_urls"))]
