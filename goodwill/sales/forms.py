"""Forms of the sales pages: they parse what a manager typed; the services in
``goodwill.sales.services`` decide and save. Numbers are parsed here but their
limits are the services' to check, so the messages are the same everywhere."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy

from goodwill.lib.ids import is_valid_id
from goodwill.lib.money import CURRENCY_CHOICES
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
from goodwill.sales.services import category_paths


class IdChoiceField(forms.ModelChoiceField):
    """A model choice that refuses ids no database column could hold (not a 500)."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not is_valid_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class CategoryChoiceField(IdChoiceField):
    """A product category, labelled with its path ("Machines / Robots")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=ProductCategory.objects.all(), **kwargs)
        self.paths: dict[int, str] = {}

    def label_from_instance(self, obj: ProductCategory) -> str:
        return self.paths.get(obj.pk, obj.name)

    def use_paths(self, paths: dict[int, str], *, exclude: int | None = None) -> None:
        """Offer the categories sorted by path (the paths come from one query)."""
        self.paths = paths
        order = sorted((p for p in paths if p != exclude), key=lambda p: paths[p].lower())
        self.choices = [("", "—"), *((pk, paths[pk]) for pk in order)]


class PriceListChoiceField(IdChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=PriceList.objects.all(), empty_label="—", **kwargs)

    def label_from_instance(self, obj: PriceList) -> str:
        label = f"{obj.name} ({obj.currency})"
        return label if obj.active else f"{label}, inactive"


class ProductChoiceWidget(forms.Select):
    """Renders only the chosen product; the others load by autocomplete."""

    def __init__(self) -> None:
        super().__init__(
            attrs={"data-autocomplete": "products", "data-url": reverse_lazy("sales:autocomplete")}
        )

    def optgroups(self, name: str, value: list[Any], attrs: dict[str, Any] | None = None) -> Any:
        chosen = [v for v in value if is_valid_id(v)]
        products = Product.objects.filter(pk__in=chosen) if chosen else []
        options = [self.create_option(name, "", "—", not chosen, 0)]
        options += [
            self.create_option(name, str(p.pk), str(p), True, index)
            for index, p in enumerate(products, start=1)
        ]
        return [(None, options, 0)]


def _plain(value: Decimal | None) -> str | None:
    """A stored decimal as a person would type it: 10, not 10.0000."""
    if value is None:
        return None
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _decimal(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=30, decimal_places=10, **kwargs)


# --------------------------------------------------------------------------
# Products


class ProductFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    category = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Product.Kind.choices])
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Active"), ("inactive", "Inactive"), ("all", "All")],
    )

    def __init__(self, *args: Any, paths: dict[int, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        order = sorted(paths, key=lambda p: paths[p].lower())
        field = cast(forms.TypedChoiceField, self.fields["category"])
        field.choices = [("", "Any category"), *((pk, paths[pk]) for pk in order)]

    def filters(self) -> dict[str, Any]:
        """The valid filters; a value not understood is left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            key: data[key]
            for key in ("q", "category", "kind", "status")
            if key in data and data[key] not in (None, "")
        }


class ProductForm(forms.Form):
    code = forms.CharField(
        max_length=40, help_text="Unique, e.g. GR-200: letters, digits, '.', '_', '/' and '-'."
    )
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Product.Kind.choices, initial=Product.Kind.PRODUCT)
    category = CategoryChoiceField(required=False)
    unit = forms.ChoiceField(
        choices=Product.Unit.choices, initial=Product.Unit.UNIT, label="Unit of measure"
    )
    list_price = _decimal("List price", initial=0)
    cost = _decimal("Cost", initial=0)
    tax_rate = _decimal("Tax rate (%)", initial=0)
    active = forms.BooleanField(required=False, initial=True)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(CategoryChoiceField, self.fields["category"]).use_paths(category_paths())
        currency = settings.COMPANY_CURRENCY
        self.fields["list_price"].help_text = f"In {currency}, before tax."
        self.fields["cost"].help_text = f"In {currency}."

    @staticmethod
    def initial_for(product: Product) -> dict[str, Any]:
        return {
            "code": product.code,
            "name": product.name,
            "kind": product.kind,
            "category": product.category_id,
            "unit": product.unit,
            "list_price": _plain(product.list_price),
            "cost": _plain(product.cost),
            "tax_rate": _plain(product.tax_rate),
            "active": product.active,
            "description": product.description,
        }


class ProductCategoryForm(forms.Form):
    name = forms.CharField(max_length=100)
    parent = CategoryChoiceField(
        required=False, label="Inside", help_text="Leave empty for a top-level category."
    )

    def __init__(self, *args: Any, category: ProductCategory | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(CategoryChoiceField, self.fields["parent"]).use_paths(
            category_paths(), exclude=category.pk if category else None
        )

    @staticmethod
    def initial_for(category: ProductCategory) -> dict[str, Any]:
        return {"name": category.name, "parent": category.parent_id}


# --------------------------------------------------------------------------
# Payment terms and exchange rates


class PaymentTermForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. Net 30, or 30 % now, rest in 60 days.")
    upfront_percent = _decimal(
        "Due at once (%)", initial=0, help_text="The share payable on the invoice date."
    )
    net_days = forms.IntegerField(
        label="Rest due after (days)", initial=30, help_text="Days after the invoice date."
    )
    active = forms.BooleanField(required=False, initial=True)

    @staticmethod
    def initial_for(term: PaymentTerm) -> dict[str, Any]:
        return {
            "name": term.name,
            "upfront_percent": _plain(term.upfront_percent),
            "net_days": term.net_days,
            "active": term.active,
        }


class ExchangeRateForm(forms.Form):
    currency = forms.ChoiceField()
    valid_from = forms.DateField(label="From", widget=_date_widget())
    rate = _decimal("Rate")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = settings.COMPANY_CURRENCY
        field = cast(forms.ChoiceField, self.fields["currency"])
        field.choices = [("", "—"), *((c, n) for c, n in CURRENCY_CHOICES if c != company)]
        self.fields["rate"].help_text = f"Units of the currency that 1 {company} buys."

    @staticmethod
    def initial_for(rate: ExchangeRate) -> dict[str, Any]:
        return {"currency": rate.currency, "valid_from": rate.valid_from, "rate": rate.rate}


# --------------------------------------------------------------------------
# Price lists, versions and rules


class PriceListForm(forms.Form):
    name = forms.CharField(max_length=100)
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    active = forms.BooleanField(required=False, initial=True)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = settings.COMPANY_CURRENCY

    @staticmethod
    def initial_for(price_list: PriceList) -> dict[str, Any]:
        return {
            "name": price_list.name,
            "currency": price_list.currency,
            "active": price_list.active,
            "description": price_list.description,
        }


class VersionForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. 2026, or Spring promotion.")
    valid_from = forms.DateField(required=False, label="From", widget=_date_widget())
    valid_to = forms.DateField(required=False, label="Until", widget=_date_widget())
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, adding: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if adding:
            del self.fields["active"]  # a new version is active

    @staticmethod
    def initial_for(version: PriceListVersion) -> dict[str, Any]:
        return {
            "name": version.name,
            "valid_from": version.valid_from,
            "valid_to": version.valid_to,
            "active": version.active,
        }


class RuleForm(forms.Form):
    sequence = forms.IntegerField(
        required=False, help_text="Lower goes first; empty puts the rule last."
    )
    product = IdChoiceField(
        queryset=Product.objects.all(), required=False, widget=ProductChoiceWidget()
    )
    category = CategoryChoiceField(required=False, help_text="With its subcategories.")
    min_quantity = _decimal("From quantity", initial=0)
    base = forms.ChoiceField(
        choices=PriceRule.Base.choices, initial=PriceRule.Base.LIST_PRICE, label="Price from"
    )
    base_price_list = PriceListChoiceField(required=False, label="Other price list")
    fixed_price = _decimal("Fixed price", required=False)
    discount_percent = _decimal("Discount (%)", initial=0)
    surcharge = _decimal("Surcharge", initial=0)

    def __init__(self, *args: Any, price_list: PriceList, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(CategoryChoiceField, self.fields["category"]).use_paths(category_paths())
        base_list = cast(PriceListChoiceField, self.fields["base_price_list"])
        base_list.queryset = PriceList.objects.exclude(pk=price_list.pk)

    @staticmethod
    def initial_for(rule: PriceRule) -> dict[str, Any]:
        return {
            "sequence": rule.sequence,
            "product": rule.product_id,
            "category": rule.category_id,
            "min_quantity": _plain(rule.min_quantity),
            "base": rule.base,
            "base_price_list": rule.base_price_list_id,
            "fixed_price": _plain(rule.fixed_price),
            "discount_percent": _plain(rule.discount_percent),
            "surcharge": _plain(rule.surcharge),
        }

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.get("sequence") is None:
            data.pop("sequence", None)
        return data


# --------------------------------------------------------------------------
# Partners' terms


class PartnerTermsForm(forms.Form):
    price_list = PriceListChoiceField(
        required=False, label="Sales price list", help_text="Prices when selling to this partner."
    )
    supplier_price_list = PriceListChoiceField(
        required=False,
        label="Purchase price list",
        help_text="Prices when buying from this partner (a supplier).",
    )
    payment_term = IdChoiceField(
        queryset=PaymentTerm.objects.all(), required=False, empty_label="—"
    )
    credit_limit = _decimal("Credit limit", required=False)
    external_id = forms.CharField(
        max_length=100,
        required=False,
        label="ERP id",
        help_text="This partner's id in the ERP, to match imported documents.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "credit_limit"
        ].help_text = f"In {settings.COMPANY_CURRENCY}; empty for no limit."

    @staticmethod
    def initial_for(terms: PartnerTerms | None) -> dict[str, Any]:
        if terms is None:
            return {}
        return {
            "price_list": terms.price_list_id,
            "supplier_price_list": terms.supplier_price_list_id,
            "payment_term": terms.payment_term_id,
            "credit_limit": _plain(terms.credit_limit),
            "external_id": terms.external_id,
        }
