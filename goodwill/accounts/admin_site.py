from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from goodwill.accounts.permissions import is_administrator


class GoodwillAdminSite(admin.AdminSite):
    """The Django admin, for configuration, open to administrators only."""

    site_header = "Goodwill administration"
    site_title = "Goodwill admin"
    index_title = "Configuration"

    def has_permission(self, request: HttpRequest) -> bool:
        return is_administrator(request.user)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # One login page for the whole site; a logged-in non-administrator is refused
        # rather than sent to log in again (which would loop).
        if request.user.is_authenticated:
            raise PermissionDenied("The administration is for administrators only.")
        return redirect_to_login(request.GET.get("next", self.index_url()))

    def index_url(self) -> str:
        from django.urls import reverse

        return reverse("admin:index", current_app=self.name)
