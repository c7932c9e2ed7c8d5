"""Configuration in the admin: categories. Partners themselves are edited in the app,
where every change goes through the services and the timeline."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from goodwill.partners import services
from goodwill.partners.models import Category, PartnerExport, TimelineEntry


class CategoryAdminForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "parent", "description"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        node = data.get("parent")
        while node is not None:
            if self.instance.pk and node.pk == self.instance.pk:
                raise ValidationError({"parent": "A category cannot sit inside itself."})
            node = node.parent
        return data


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryAdminForm
    list_display = ("name", "parent")
    search_fields = ("name",)
    list_select_related = ("parent",)

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        services.category_save(
            category=obj,
            by=request.user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
            parent=form.cleaned_data["parent"],
            description=form.cleaned_data.get("description", ""),
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "partner", "kind", "action", "author")
    list_filter = ("kind",)
    list_select_related = ("partner", "author")
    raw_id_fields = ("partner",)
    show_full_result_count = False


@admin.register(PartnerExport)
class PartnerExportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "created_by", "format", "status", "row_count")
    list_filter = ("status", "format")
