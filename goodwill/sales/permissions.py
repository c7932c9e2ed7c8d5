"""Who may see and change commercial master data, and the objects the sales pages load.

Agents see products, price lists, payment terms, exchange rates and partners'
terms; managers and administrators also change them. The role is checked
before any lookup, so an outsider cannot probe which ids exist.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404

from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.sales.models import (
    ExchangeRate,
    PaymentTerm,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    ProductCategory,
)

ACTIONS = ("view", "add", "change", "delete")
M = TypeVar("M", bound=models.Model)


def can_sales(user: Any, what: str, action: str = "view") -> bool:
    """Whether *user* may *action* (view, add, change, delete) records of model *what*."""
    try:
        check_sales(user, what, action)
    except PermissionDenied:
        return False
    return True


def check_sales(user: Any, what: str, action: str = "view") -> None:
    """*what* is a sales model name (product, pricelist, …)."""
    if action not in ACTIONS:
        raise ValueError(action)
    if not can_use_staff_ui(user):
        raise PermissionDenied("Your account has no access to the staff interface.")
    if not user.has_perm(f"sales.{action}_{what}"):
        if action == "view":
            raise PermissionDenied("Your role does not allow you to see this.")
        raise PermissionDenied("Only managers and administrators can change this.")


def _get(user: Any, model: type[M], pk: int, action: str, label: str, **related: Any) -> M:
    check_sales(user, model._meta.model_name or "", action)
    queryset = model._default_manager.all()
    if related.get("select"):
        queryset = queryset.select_related(*related["select"])
    try:
        return queryset.get(pk=pk)
    except ObjectDoesNotExist:
        raise Http404(f"No such {label}.") from None


def get_product_for_user(user: Any, pk: int, *, action: str = "view") -> Product:
    return _get(user, Product, pk, action, "product", select=["category"])


def get_category_for_user(user: Any, pk: int, *, action: str = "view") -> ProductCategory:
    return _get(user, ProductCategory, pk, action, "product category", select=["parent"])


def get_payment_term_for_user(user: Any, pk: int, *, action: str = "view") -> PaymentTerm:
    return _get(user, PaymentTerm, pk, action, "payment term")


def get_rate_for_user(user: Any, pk: int, *, action: str = "view") -> ExchangeRate:
    return _get(user, ExchangeRate, pk, action, "exchange rate")


def get_price_list_for_user(
    user: Any, pk: int, *, what: str = "pricelist", action: str = "view"
) -> PriceList:
    """Price list *pk*; *what*/*action* name the change being made (adding a
    version to a list needs ``pricelistversion``/``add``)."""
    check_sales(user, what, action)
    try:
        return PriceList.objects.get(pk=pk)
    except PriceList.DoesNotExist:
        raise Http404("No such price list.") from None


def get_version_for_user(
    user: Any, pk: int, *, what: str = "pricelistversion", action: str = "view"
) -> PriceListVersion:
    check_sales(user, what, action)
    try:
        return PriceListVersion.objects.select_related("price_list").get(pk=pk)
    except PriceListVersion.DoesNotExist:
        raise Http404("No such price list version.") from None


def get_rule_for_user(user: Any, pk: int, *, action: str = "view") -> PriceRule:
    return _get(user, PriceRule, pk, action, "price rule", select=["version__price_list"])
