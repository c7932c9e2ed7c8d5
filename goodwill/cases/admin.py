"""The case setup in the admin, for administrators. Saves and deletes of sections,
case types, categories and stages go through ``goodwill.cases.configuration``,
like the setup pages; the forms ask the same checks first, so errors show next
to their fields. Cases and their mail are edited in the app: here they are
read-only lists."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest

from goodwill.cases import configuration
from goodwill.cases.models import (
    Attachment,
    Case,
    CaseCategory,
    CaseType,
    OutboundMessage,
    Section,
    Stage,
)


def _add_errors(form: forms.ModelForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        for message in messages:
            if field in form.fields:
                form.add_error(field, message)
            else:
                form.add_error(None, message if field == "__all__" else f"{field}: {message}")


def _values(form: forms.ModelForm, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: form.cleaned_data[f] for f in fields if f in form.cleaned_data}


class _ServiceForm(forms.ModelForm):
    """Runs the service's checks in ``clean`` (the service itself saves later)."""

    service_fields: tuple[str, ...] = ()

    def check(self, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def _post_clean(self) -> None:
        # The service's checks replace the model's own validation (unique,
        # choices): their messages say more. They run against the instance as
        # stored, before the form's values are copied onto it.
        if not self.errors:
            try:
                self.check(_values(self, self.service_fields))
            except ValidationError as exc:
                _add_errors(self, exc)
        opts = self._meta
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)


class SectionAdminForm(_ServiceForm):
    service_fields = configuration.SECTION_FIELDS

    class Meta:
        model = Section
        fields = list(configuration.SECTION_FIELDS)

    def check(self, values: dict[str, Any]) -> None:
        values["members"] = list(values.get("members") or [])
        configuration.section_clean(
            section=self.instance if self.instance.pk else None, values=values
        )


class CaseTypeAdminForm(_ServiceForm):
    service_fields = configuration.CASE_TYPE_FIELDS
    field_groups = forms.MultipleChoiceField(
        choices=CaseType.FieldGroup.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = CaseType
        fields = list(configuration.CASE_TYPE_FIELDS)

    def check(self, values: dict[str, Any]) -> None:
        configuration.case_type_clean(
            case_type=self.instance if self.instance.pk else None, values=values
        )


class CaseCategoryAdminForm(_ServiceForm):
    service_fields = configuration.CATEGORY_FIELDS

    class Meta:
        model = CaseCategory
        fields = ["section", *configuration.CATEGORY_FIELDS]

    def check(self, values: dict[str, Any]) -> None:
        section = self.cleaned_data["section"]
        category = self.instance if self.instance.pk else None
        if category is not None and category.section_id != section.pk:
            raise ValidationError(
                {"section": "A category stays in its section; add a new one there instead."}
            )
        configuration.category_clean(category=category, section=section, values=values)


class StageAdminForm(_ServiceForm):
    service_fields = configuration.STAGE_FIELDS

    class Meta:
        model = Stage
        fields = ["section", *configuration.STAGE_FIELDS]

    def check(self, values: dict[str, Any]) -> None:
        section = self.cleaned_data["section"]
        stage = self.instance if self.instance.pk else None
        if stage is not None and stage.section_id != section.pk:
            raise ValidationError(
                {"section": "A stage stays in its section; add a new one there instead."}
            )
        configuration.stage_clean(stage=stage, section=section, values=values)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _StageInline(_ReadOnlyInline):
    model = Stage
    fields = ("name", "sequence", "probability", "folded")


class _CategoryInline(_ReadOnlyInline):
    model = CaseCategory
    fields = ("name", "default_probability", "active")


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    form = SectionAdminForm
    list_display = ("name", "code", "parent", "visibility", "email", "active")
    list_filter = ("active", "visibility")
    search_fields = ("name", "code", "email")
    list_select_related = ("parent",)
    filter_horizontal = ("members",)
    inlines = [_StageInline, _CategoryInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # archive with "active" instead: cases keep their history

    def save_model(self, request: HttpRequest, obj: Section, form: Any, change: bool) -> None:
        values = _values(form, configuration.SECTION_FIELDS)
        values["members"] = list(values.get("members") or [])
        saved = configuration.section_save(
            by=request.user,  # type: ignore[arg-type]
            section=Section.objects.get(pk=obj.pk) if change else None,
            values=values,
        )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The service has set the members (no form.save_m2m()); the inlines are
        # read-only, so saving them records nothing but keeps the admin's log whole.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    form = CaseTypeAdminForm
    list_display = ("name", "code", "default_section", "billable", "final_close", "active")
    list_filter = ("active", "billable", "final_close")
    search_fields = ("name", "code")
    list_select_related = ("default_section",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # archive with "active" instead: cases keep their history

    def save_model(self, request: HttpRequest, obj: CaseType, form: Any, change: bool) -> None:
        saved = configuration.case_type_save(
            by=request.user,  # type: ignore[arg-type]
            case_type=CaseType.objects.get(pk=obj.pk) if change else None,
            values=_values(form, configuration.CASE_TYPE_FIELDS),
        )
        obj.pk = saved.pk


@admin.register(CaseCategory)
class CaseCategoryAdmin(admin.ModelAdmin):
    form = CaseCategoryAdminForm
    list_display = ("name", "section", "default_probability", "active")
    list_filter = ("active", "section")
    search_fields = ("name",)
    list_select_related = ("section",)

    def save_model(self, request: HttpRequest, obj: CaseCategory, form: Any, change: bool) -> None:
        section = form.cleaned_data["section"]
        category = CaseCategory.objects.get(pk=obj.pk) if change else None
        saved = configuration.category_save(
            by=request.user,  # type: ignore[arg-type]
            category=category,
            section=section,
            values=_values(form, configuration.CATEGORY_FIELDS),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: CaseCategory) -> None:
        configuration.category_delete(by=request.user, category=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CaseCategory]) -> None:
        for category in queryset:
            configuration.category_delete(by=request.user, category=category)  # type: ignore[arg-type]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    form = StageAdminForm
    list_display = ("name", "section", "sequence", "probability", "folded")
    list_filter = ("section",)
    search_fields = ("name",)
    list_select_related = ("section",)
    ordering = ("section__name", "sequence", "id")

    def save_model(self, request: HttpRequest, obj: Stage, form: Any, change: bool) -> None:
        section = form.cleaned_data["section"]
        stage = Stage.objects.get(pk=obj.pk) if change else None
        saved = configuration.stage_save(
            by=request.user,  # type: ignore[arg-type]
            stage=stage,
            section=section,
            values=_values(form, configuration.STAGE_FIELDS),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Stage) -> None:
        configuration.stage_delete(by=request.user, stage=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Stage]) -> None:
        for stage in queryset:
            configuration.stage_delete(by=request.user, stage=stage)  # type: ignore[arg-type]


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("number", "subject", "case_type", "section", "state", "priority", "updated_at")
    list_filter = ("state", "case_type", "section")
    search_fields = ("=number", "subject")
    list_select_related = ("case_type", "section")
    raw_id_fields = ("partner", "contact", "related", "merged_into", "location_address")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "subject", "status", "attempts", "sent_at")
    list_filter = ("status",)
    list_select_related = ("case",)
    raw_id_fields = ("case",)


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "case", "name", "size", "content_type")
    list_select_related = ("case",)
    raw_id_fields = ("case",)
