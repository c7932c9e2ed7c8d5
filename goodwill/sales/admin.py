"""Commercial master data in the admin, for administrators. Saves and deletes go
through ``goodwill.sales.services``, like the sales pages; the forms ask the
same checks first, so errors show next to their fields. Partners' terms are
edited from the partner page (their timeline records each change): here they
are a read-only list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest

from goodwill.sales import services
from goodwill.sales.models import (
    ExchangeRate,
    PartnerTerms,
    PaymentTerm,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    ProductCategory,
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


def _stored(obj: Any) -> Any:
    """The record as stored (the form has already copied its values onto *obj*)."""
    return type(obj)._default_manager.get(pk=obj.pk) if obj.pk else None


class _ServiceForm(forms.ModelForm):
    """Runs the service's checks in ``clean`` (the service itself saves later)."""

    service_fields: tuple[str, ...] = ()

    def check(self, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def _post_clean(self) -> None:
        # The service's checks replace the model's own validation: their
        # messages say more. They run against the instance as stored.
        if not self.errors:
            try:
                self.check(_values(self, self.service_fields))
            except ValidationError as exc:
                _add_errors(self, exc)
        opts = self._meta
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)


class ProductAdminForm(_ServiceForm):
    service_fields = services.PRODUCT_FIELDS

    class Meta:
        model = Product
        fields = list(services.PRODUCT_FIELDS)

    def check(self, values: dict[str, Any]) -> None:
        services.product_clean(product=self.instance if self.instance.pk else None, values=values)


class ProductCategoryAdminForm(_ServiceForm):
    service_fields = services.PRODUCT_CATEGORY_FIELDS

    class Meta:
        model = ProductCategory
        fields = list(services.PRODUCT_CATEGORY_FIELDS)

    def check(self, values: dict[str, Any]) -> None:
        services.product_category_clean(
            category=self.instance if self.instance.pk else None, values=values
        )


class PaymentTermAdminForm(_ServiceForm):
    service_fields = services.PAYMENT_TERM_FIELDS

    class Meta:
        model = PaymentTerm
        fields = list(services.PAYMENT_TERM_FIELDS)

    def check(self, values: dict[str, Any]) -> None:
        services.payment_term_clean(term=self.instance if self.instance.pk else None, values=values)


class ExchangeRateAdminForm(_ServiceForm):
    service_fields = services.EXCHANGE_RATE_FIELDS

    class Meta:
        model = ExchangeRate
        fields = list(services.EXCHANGE_RATE_FIELDS)

    def check(self, values: dict[str, Any]) -> None:
        services.exchange_rate_clean(
            rate=self.instance if self.instance.pk else None, values=values
        )


class PriceListAdminForm(_ServiceForm):
    service_fields = services.PRICE_LIST_FIELDS

    class Meta:
        model = PriceList
        fields = list(services.PRICE_LIST_FIELDS)

    def check(self, values: dict[str, Any]) -> None:
        services.price_list_clean(
            price_list=self.instance if self.instance.pk else None, values=values
        )


class VersionAdminForm(_ServiceForm):
    service_fields = services.VERSION_FIELDS

    class Meta:
        model = PriceListVersion
        fields = ["price_list", *services.VERSION_FIELDS]

    def check(self, values: dict[str, Any]) -> None:
        price_list = self.cleaned_data["price_list"]
        version = self.instance if self.instance.pk else None
        if version is not None and version.price_list_id != price_list.pk:
            raise ValidationError(
                {"price_list": "A version stays in its price list; add a new one there instead."}
            )
        services.price_list_version_clean(version=version, price_list=price_list, values=values)


class RuleAdminForm(_ServiceForm):
    service_fields = services.RULE_FIELDS

    class Meta:
        model = PriceRule
        fields = ["version", *services.RULE_FIELDS]

    def check(self, values: dict[str, Any]) -> None:
        version = self.cleaned_data["version"]
        rule = self.instance if self.instance.pk else None
        if rule is not None and rule.version_id != version.pk:
            raise ValidationError(
                {"version": "A rule stays in its version; add a new one there instead."}
            )
        services.price_rule_clean(rule=rule, version=version, values=values)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ("code", "name", "kind", "category", "list_price", "active")
    list_filter = ("active", "kind")
    search_fields = ("code", "name")
    list_select_related = ("category",)
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        saved = services.product_save(
            by=request.user,  # type: ignore[arg-type]
            product=_stored(obj) if change else None,
            values=_values(form, services.PRODUCT_FIELDS),
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # make it inactive: documents and rules refer to it


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    form = ProductCategoryAdminForm
    list_display = ("name", "parent")
    search_fields = ("name",)
    list_select_related = ("parent",)

    def save_model(
        self, request: HttpRequest, obj: ProductCategory, form: Any, change: bool
    ) -> None:
        saved = services.product_category_save(
            by=request.user,  # type: ignore[arg-type]
            category=_stored(obj) if change else None,
            values=_values(form, services.PRODUCT_CATEGORY_FIELDS),
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PaymentTerm)
class PaymentTermAdmin(admin.ModelAdmin):
    form = PaymentTermAdminForm
    list_display = ("name", "upfront_percent", "net_days", "active")
    list_filter = ("active",)

    def save_model(self, request: HttpRequest, obj: PaymentTerm, form: Any, change: bool) -> None:
        saved = services.payment_term_save(
            by=request.user,  # type: ignore[arg-type]
            term=_stored(obj) if change else None,
            values=_values(form, services.PAYMENT_TERM_FIELDS),
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    form = ExchangeRateAdminForm
    list_display = ("currency", "valid_from", "rate")
    list_filter = ("currency",)
    date_hierarchy = "valid_from"

    def save_model(self, request: HttpRequest, obj: ExchangeRate, form: Any, change: bool) -> None:
        saved = services.exchange_rate_save(
            by=request.user,  # type: ignore[arg-type]
            rate=_stored(obj) if change else None,
            values=_values(form, services.EXCHANGE_RATE_FIELDS),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ExchangeRate) -> None:
        services.exchange_rate_delete(by=request.user, rate=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ExchangeRate]) -> None:
        for rate in queryset:
            services.exchange_rate_delete(by=request.user, rate=rate)  # type: ignore[arg-type]


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _VersionInline(_ReadOnlyInline):
    model = PriceListVersion
    fields = ("name", "valid_from", "valid_to", "active")


class _RuleInline(_ReadOnlyInline):
    model = PriceRule
    fk_name = "version"
    fields = ("sequence", "product", "category", "min_quantity", "base", "discount_percent")


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    form = PriceListAdminForm
    list_display = ("name", "currency", "active")
    list_filter = ("active", "currency")
    search_fields = ("name",)
    inlines = [_VersionInline]

    def save_model(self, request: HttpRequest, obj: PriceList, form: Any, change: bool) -> None:
        saved = services.price_list_save(
            by=request.user,  # type: ignore[arg-type]
            price_list=_stored(obj) if change else None,
            values=_values(form, services.PRICE_LIST_FIELDS),
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # make it inactive: partners and documents refer to it


@admin.register(PriceListVersion)
class PriceListVersionAdmin(admin.ModelAdmin):
    form = VersionAdminForm
    list_display = ("name", "price_list", "valid_from", "valid_to", "active")
    list_filter = ("active", "price_list")
    list_select_related = ("price_list",)
    inlines = [_RuleInline]

    def save_model(
        self, request: HttpRequest, obj: PriceListVersion, form: Any, change: bool
    ) -> None:
        saved = services.price_list_version_save(
            by=request.user,  # type: ignore[arg-type]
            version=_stored(obj) if change else None,
            price_list=form.cleaned_data["price_list"],
            values=_values(form, services.VERSION_FIELDS),
        )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:  # read-only inlines: nothing to save but the admin's log
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: PriceListVersion) -> None:
        services.price_list_version_delete(by=request.user, version=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PriceListVersion]) -> None:
        for version in queryset:
            services.price_list_version_delete(by=request.user, version=version)  # type: ignore[arg-type]


@admin.register(PriceRule)
class PriceRuleAdmin(admin.ModelAdmin):
    form = RuleAdminForm
    list_display = ("version", "sequence", "product", "category", "min_quantity", "base")
    list_filter = ("base",)
    list_select_related = ("version__price_list", "product", "category")
    raw_id_fields = ("product",)
    ordering = ("version", "sequence", "id")

    def save_model(self, request: HttpRequest, obj: PriceRule, form: Any, change: bool) -> None:
        saved = services.price_rule_save(
            by=request.user,  # type: ignore[arg-type]
            rule=_stored(obj) if change else None,
            version=form.cleaned_data["version"],
            values=_values(form, services.RULE_FIELDS),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: PriceRule) -> None:
        services.price_rule_delete(by=request.user, rule=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PriceRule]) -> None:
        for rule in queryset:
            services.price_rule_delete(by=request.user, rule=rule)  # type: ignore[arg-type]


@admin.register(PartnerTerms)
class PartnerTermsAdmin(admin.ModelAdmin):
    list_display = ("partner", "price_list", "payment_term", "credit_limit", "external_id")
    search_fields = ("external_id", "partner__name")
    list_select_related = ("partner", "price_list", "payment_term")
    raw_id_fields = ("partner",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
