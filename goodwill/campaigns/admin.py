"""Campaigns in the admin, for administrators. Saves and deletes go through
``goodwill.campaigns.services``, like the campaign pages; the form asks the
same checks first, so errors show next to their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.http import HttpRequest

from goodwill.campaigns import services
from goodwill.campaigns.models import Campaign
from goodwill.lib.forms import apply_errors


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = list(services.CAMPAIGN_FIELDS)

    def _post_clean(self) -> None:
        # The service's checks replace the model's own validation; they run
        # against the campaign as stored.
        if not self.errors:
            values = {
                f: self.cleaned_data[f] for f in services.CAMPAIGN_FIELDS if f in self.cleaned_data
            }
            stored = self.instance if self.instance.pk else None
            try:
                services.campaign_clean(campaign=stored, values=values)
            except ValidationError as exc:
                apply_errors(exc, self)
        opts = self._meta
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = (
        "name",
        "code",
        "channel",
        "start_date",
        "end_date",
        "budget",
        "actual_cost",
        "active",
    )
    list_filter = ("active", "channel")
    search_fields = ("name", "code")
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        stored = Campaign.objects.get(pk=obj.pk) if change else None
        values = {
            f: form.cleaned_data[f] for f in services.CAMPAIGN_FIELDS if f in form.cleaned_data
        }
        saved = services.campaign_save(
            by=request.user,  # type: ignore[arg-type]
            campaign=stored,
            values=values,
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # delete from the campaign page, which refuses a campaign in use
