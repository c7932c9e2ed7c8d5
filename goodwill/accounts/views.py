from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from goodwill.accounts.forms import QueuedPasswordResetForm
from goodwill.accounts.permissions import can_use_staff_ui


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The landing page after login: staff go to their work; others learn why not."""
    if can_use_staff_ui(request.user):
        return redirect("partners:list")
    return render(request, "accounts/no_access.html", status=403)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    groups = [g.name for g in request.user.groups.all()]
    return render(request, "accounts/profile.html", {"roles": groups})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset view, with links built from SITE_URL rather than the Host header."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/emails/password_reset-body.txt"
    html_email_template_name = "accounts/emails/password_reset-body.html"
    subject_template_name = "accounts/emails/password_reset-subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    form_class = QueuedPasswordResetForm

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        site = urlsplit(settings.SITE_URL)
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            html_email_template_name=self.html_email_template_name,
            extra_email_context={"site_name": settings.SITE_NAME},
            request=self.request,
        )
        return HttpResponseRedirect(self.get_success_url())
