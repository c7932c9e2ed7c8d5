"""Changes to commercial master data: products and their categories, payment
terms, exchange rates, price lists (versions and rules) and partners' terms.

Managers change these through the sales pages and administrators through the
admin; both call the services here. Each validates its input (raising a
field-keyed ``ValidationError`` a person can act on), runs in one transaction
and emits a domain event after commit.

``values`` dictionaries hold only the keys being set: on an update, a key left
out keeps its current value. Related records are passed as model instances or
as their ids.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from goodwill.lib import cleaning, events
from goodwill.lib.cleaning import boolean as _bool
from goodwill.lib.cleaning import changes as _changes
from goodwill.lib.cleaning import check_keys as _check_keys
from goodwill.lib.cleaning import choice as _choice
from goodwill.lib.cleaning import clean_all as _clean_all
from goodwill.lib.cleaning import date as _date
from goodwill.lib.cleaning import description as _description
from goodwill.lib.cleaning import raise_if as _raise_if
from goodwill.lib.cleaning import require as _require
from goodwill.lib.cleaning import save_unique as _save
from goodwill.lib.cleaning import text as _text
from goodwill.lib.ids import is_valid_id
from goodwill.lib.money import CURRENCIES
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import timeline_add
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

if TYPE_CHECKING:
    from goodwill.accounts.models import User

PRODUCT_FIELDS = (
    "code",
    "name",
    "kind",
    "category",
    "unit",
    "list_price",
    "cost",
    "tax_rate",
    "active",
    "description",
)
PRODUCT_CATEGORY_FIELDS = ("name", "parent")
PAYMENT_TERM_FIELDS = ("name", "upfront_percent", "net_days", "active")
EXCHANGE_RATE_FIELDS = ("currency", "valid_from", "rate")
PRICE_LIST_FIELDS = ("name", "currency", "active", "description")
VERSION_FIELDS = ("name", "valid_from", "valid_to", "active")
RULE_FIELDS = (
    "sequence",
    "product",
    "category",
    "min_quantity",
    "base",
    "base_price_list",
    "fixed_price",
    "discount_percent",
    "surcharge",
)
TERMS_FIELDS = ("price_list", "supplier_price_list", "payment_term", "credit_limit", "external_id")

SEQUENCE_STEP = 10
MAX_NET_DAYS = 3_650
# AMOUNT columns hold 18 digits, 4 of them decimals.
MAX_AMOUNT = Decimal("99999999999999.9999")
MAX_RATE = Decimal("9999999999.9999999999")

_PRODUCT_CODE = re.compile(r"[A-Z0-9][A-Z0-9._/-]*")


# --------------------------------------------------------------------------
# Cleaning helpers (the general ones come from ``goodwill.lib.cleaning``)


def _decimal(
    value: Any,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal = MAX_AMOUNT,
    places: int = 4,
    message: str,
    allow_empty: bool = False,
) -> Decimal | None:
    """A Decimal within [minimum, maximum] with at most *places* decimals."""
    if allow_empty and (value is None or value == ""):
        return None
    return cleaning.decimal(value, minimum=minimum, maximum=maximum, places=places, message=message)


def _amount(label: str, *, allow_empty: bool = False) -> Callable[[Any], Decimal | None]:
    return lambda v: _decimal(
        v,
        minimum=Decimal(0),
        message=f"Enter a {label} of 0 or more.",
        allow_empty=allow_empty,
    )


def _percent(value: Any) -> Decimal | None:
    return _decimal(
        value,
        minimum=Decimal(0),
        maximum=Decimal(100),
        message="Enter a percentage from 0 to 100.",
    )


def _whole(value: Any, *, maximum: int, message: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(message)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(message) from None
    if not 0 <= number <= maximum:
        raise ValidationError(message)
    return number


def _currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if code not in CURRENCIES:
        raise ValidationError("Choose a currency from the list (an ISO 4217 code such as EUR).")
    return code


def _instance(value: Any, model: type[models.Model], label: str) -> Any:
    """A model instance from an instance or an id; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        if value.pk is None:
            raise ValidationError(f"Save the {label} first.")
        return value
    if is_valid_id(value):
        found = model._default_manager.filter(pk=int(value)).first()
        if found is not None:
            return found
    raise ValidationError(f"Choose an existing {label}.")


def _by_id(by: User | None) -> int | None:
    return by.pk if by is not None else None


def _date_text(day: datetime.date | None, open_end: str) -> str:
    return day.isoformat() if day else open_end


# --------------------------------------------------------------------------
# Products


def _clean_product_code(value: Any) -> str:
    code = "".join(str(value or "").split()).upper()
    if not code:
        raise ValidationError("Enter a code, e.g. GR-200.")
    if len(code) > 40:
        raise ValidationError(f"Keep the code to 40 characters (it has {len(code)}).")
    if not _PRODUCT_CODE.fullmatch(code):
        raise ValidationError(
            "Start the code with a letter or a digit, and use only letters A to Z, digits, "
            "'.', '_', '/' and '-'."
        )
    return code


_PRODUCT_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "code": _clean_product_code,
    "name": lambda v: _text(v, label="name", max_length=200),
    "kind": lambda v: _choice(v, Product.Kind, "kind (product or service)"),
    "category": lambda v: _instance(v, ProductCategory, "product category"),
    "unit": lambda v: _choice(v, Product.Unit, "unit of measure"),
    "list_price": _amount("list price"),
    "cost": _amount("cost"),
    "tax_rate": lambda v: _decimal(
        v,
        minimum=Decimal(0),
        maximum=Decimal(100),
        message="Enter a tax rate from 0 to 100 (%).",
    ),
    "active": _bool,
    "description": _description,
}


def product_clean(*, product: Product | None, values: dict[str, Any]) -> dict[str, Any]:
    """Check *values* for *product* (None: a new one) without saving anything."""
    _check_keys(values, PRODUCT_FIELDS, "product")
    cleaned, errors = _clean_all(values, _PRODUCT_CLEANERS)
    if product is None:
        _require(values, ("code", "name"), "A product", errors)
    code = cleaned.get("code")
    if code:
        others = (
            Product.objects.all() if product is None else Product.objects.exclude(pk=product.pk)
        )
        taken = others.filter(code__iexact=code).first()
        if taken is not None:
            errors.setdefault("code", []).append(
                f"The code {code} already belongs to {taken.name}."
            )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def product_save(
    *, by: User | None, product: Product | None = None, values: dict[str, Any]
) -> Product:
    """Create a product (``product=None``) or update one."""
    cleaned = product_clean(product=product, values=values)
    creating = product is None
    target = Product() if product is None else product
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    target.updated_at = timezone.now()
    _save(target, "code", f"The code {target.code} already belongs to another product.")
    events.emit(
        "product.saved", product_id=target.pk, created=creating, changes=changes, by_id=_by_id(by)
    )
    return target


# --------------------------------------------------------------------------
# Product categories


def category_path(category: ProductCategory) -> str:
    """ "Machines / Robots / Grippers" (stops at a loop, which the services prevent)."""
    names = [category.name]
    seen = {category.pk}
    node = category.parent
    while node is not None and node.pk not in seen:
        names.append(node.name)
        seen.add(node.pk)
        node = node.parent
    return " / ".join(reversed(names))


def category_paths() -> dict[int, str]:
    """Every product category's path, by id, from one query."""
    rows = {
        pk: (name, parent)
        for pk, name, parent in ProductCategory.objects.values_list("pk", "name", "parent_id")
    }
    paths: dict[int, str] = {}
    for pk in rows:
        names: list[str] = []
        seen: set[int] = set()
        node: int | None = pk
        while node is not None and node not in seen and node in rows:
            seen.add(node)
            names.append(rows[node][0])
            node = rows[node][1]
        paths[pk] = " / ".join(reversed(names))
    return paths


_CATEGORY_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=100),
    "parent": lambda v: _instance(v, ProductCategory, "parent category"),
}


def product_category_clean(
    *, category: ProductCategory | None, values: dict[str, Any]
) -> dict[str, Any]:
    _check_keys(values, PRODUCT_CATEGORY_FIELDS, "product category")
    cleaned, errors = _clean_all(values, _CATEGORY_CLEANERS)
    if category is None:
        _require(values, ("name",), "A category", errors)
    parent = cleaned.get("parent", category.parent if category else None)
    if parent is not None and category is not None:
        if parent.pk == category.pk:
            errors.setdefault("parent", []).append("A category cannot be inside itself.")
        else:
            node: ProductCategory | None = parent
            seen: set[int] = set()
            while node is not None and node.pk not in seen:
                if node.pk == category.pk:
                    errors.setdefault("parent", []).append(
                        f"{category.name} cannot go inside {category_path(parent)}: that is one "
                        f"of its own subcategories, which would make a loop."
                    )
                    break
                seen.add(node.pk)
                node = node.parent
    name = cleaned.get("name", category.name if category else None)
    if name and not errors:
        siblings = ProductCategory.objects.filter(parent=parent, name__iexact=name)
        if category is not None:
            siblings = siblings.exclude(pk=category.pk)
        if siblings.exists():
            where = f"in {category_path(parent)}" if parent else "at the top level"
            errors.setdefault("name", []).append(
                f"There is already a category called {name} {where}."
            )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def product_category_save(
    *, by: User | None, category: ProductCategory | None = None, values: dict[str, Any]
) -> ProductCategory:
    """Create a product category (``category=None``) or update one (rename, move)."""
    cleaned = product_category_clean(category=category, values=values)
    creating = category is None
    target = ProductCategory() if category is None else category
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    _save(target, "name", f"There is already a category called {target.name} here.")
    events.emit(
        "product_category.saved",
        category_id=target.pk,
        created=creating,
        changes=changes,
        by_id=_by_id(by),
    )
    return target


# --------------------------------------------------------------------------
# Payment terms


_PAYMENT_TERM_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=100),
    "upfront_percent": _percent,
    "net_days": lambda v: _whole(
        v, maximum=MAX_NET_DAYS, message=f"Enter a number of days from 0 to {MAX_NET_DAYS:,}."
    ),
    "active": _bool,
}


def payment_term_clean(*, term: PaymentTerm | None, values: dict[str, Any]) -> dict[str, Any]:
    _check_keys(values, PAYMENT_TERM_FIELDS, "payment term")
    cleaned, errors = _clean_all(values, _PAYMENT_TERM_CLEANERS)
    if term is None:
        _require(values, ("name",), "A payment term", errors)
    name = cleaned.get("name")
    if name:
        others = (
            PaymentTerm.objects.all() if term is None else PaymentTerm.objects.exclude(pk=term.pk)
        )
        if others.filter(name__iexact=name).exists():
            errors.setdefault("name", []).append(f"There is already a payment term called {name}.")
    _raise_if(errors)
    return cleaned


@transaction.atomic
def payment_term_save(
    *, by: User | None, term: PaymentTerm | None = None, values: dict[str, Any]
) -> PaymentTerm:
    """Create a payment term (``term=None``) or update one."""
    cleaned = payment_term_clean(term=term, values=values)
    creating = term is None
    target = PaymentTerm() if term is None else term
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    _save(target, "name", f"There is already a payment term called {target.name}.")
    events.emit(
        "payment_term.saved", term_id=target.pk, created=creating, changes=changes, by_id=_by_id(by)
    )
    return target


# --------------------------------------------------------------------------
# Exchange rates


def _clean_rate_currency(value: Any) -> str:
    code = _currency(value)
    if code == settings.COMPANY_CURRENCY:
        raise ValidationError(
            f"{code} is the company currency: its rate is always 1, so it needs no entry."
        )
    return code


_RATE_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "currency": _clean_rate_currency,
    "valid_from": lambda v: _date(v, label="date the rate applies from"),
    "rate": lambda v: _rate(v),
}


def _rate(value: Any) -> Decimal | None:
    number = _decimal(
        value,
        maximum=MAX_RATE,
        places=10,
        message="Enter a rate greater than 0 (units of the currency for one unit of the "
        "company currency).",
    )
    if number is not None and number <= 0:
        raise ValidationError(
            "Enter a rate greater than 0 (units of the currency for one unit of the "
            "company currency)."
        )
    return number


def exchange_rate_clean(*, rate: ExchangeRate | None, values: dict[str, Any]) -> dict[str, Any]:
    _check_keys(values, EXCHANGE_RATE_FIELDS, "exchange rate")
    cleaned, errors = _clean_all(values, _RATE_CLEANERS)
    if rate is None:
        _require(values, EXCHANGE_RATE_FIELDS, "An exchange rate", errors)
    currency = cleaned.get("currency", rate.currency if rate else None)
    day = cleaned.get("valid_from", rate.valid_from if rate else None)
    if currency and day and "currency" not in errors and "valid_from" not in errors:
        others = ExchangeRate.objects.filter(currency=currency, valid_from=day)
        if rate is not None:
            others = others.exclude(pk=rate.pk)
        existing = others.first()
        if existing is not None:
            errors.setdefault("valid_from", []).append(
                f"There is already a {currency} rate for {day.isoformat()} ({existing.rate}); "
                "change or delete that one instead."
            )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def exchange_rate_save(
    *, by: User | None, rate: ExchangeRate | None = None, values: dict[str, Any]
) -> ExchangeRate:
    """Record the rate of a currency from a day (``rate=None``), or correct one."""
    cleaned = exchange_rate_clean(rate=rate, values=values)
    creating = rate is None
    target = ExchangeRate() if rate is None else rate
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    _save(target, "valid_from", "There is already a rate for this currency on this day.")
    events.emit(
        "exchange_rate.saved",
        rate_id=target.pk,
        currency=target.currency,
        created=creating,
        changes=changes,
        by_id=_by_id(by),
    )
    return target


@transaction.atomic
def exchange_rate_delete(*, by: User | None, rate: ExchangeRate) -> None:
    """Delete a rate; conversions on its days fall back to the rate before it."""
    pk, currency, day = rate.pk, rate.currency, rate.valid_from
    rate.delete()
    events.emit(
        "exchange_rate.deleted",
        rate_id=pk,
        currency=currency,
        valid_from=day.isoformat(),
        by_id=_by_id(by),
    )


# --------------------------------------------------------------------------
# Price lists


_PRICE_LIST_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=100),
    "currency": _currency,
    "active": _bool,
    "description": _description,
}


def price_list_clean(*, price_list: PriceList | None, values: dict[str, Any]) -> dict[str, Any]:
    _check_keys(values, PRICE_LIST_FIELDS, "price list")
    cleaned, errors = _clean_all(values, _PRICE_LIST_CLEANERS)
    if price_list is None:
        _require(values, ("name", "currency"), "A price list", errors)
    name = cleaned.get("name")
    if name:
        others = (
            PriceList.objects.all()
            if price_list is None
            else PriceList.objects.exclude(pk=price_list.pk)
        )
        if others.filter(name__iexact=name).exists():
            errors.setdefault("name", []).append(f"There is already a price list called {name}.")
    _raise_if(errors)
    return cleaned


@transaction.atomic
def price_list_save(
    *, by: User | None, price_list: PriceList | None = None, values: dict[str, Any]
) -> PriceList:
    """Create a price list (``price_list=None``) or update one."""
    cleaned = price_list_clean(price_list=price_list, values=values)
    creating = price_list is None
    target = PriceList() if price_list is None else price_list
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    _save(target, "name", f"There is already a price list called {target.name}.")
    events.emit(
        "price_list.saved",
        price_list_id=target.pk,
        created=creating,
        changes=changes,
        by_id=_by_id(by),
    )
    return target


# --------------------------------------------------------------------------
# Price list versions


_VERSION_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=100),
    "valid_from": lambda v: _date(v, label="start date", required=False),
    "valid_to": lambda v: _date(v, label="end date", required=False),
    "active": _bool,
}


def _overlaps(
    a_from: datetime.date | None,
    a_to: datetime.date | None,
    b_from: datetime.date | None,
    b_to: datetime.date | None,
) -> bool:
    """Whether two date ranges share a day (None: open-ended on that side)."""
    return (a_to is None or b_from is None or b_from <= a_to) and (
        b_to is None or a_from is None or a_from <= b_to
    )


def version_period(version: PriceListVersion) -> str:
    if version.valid_from is None and version.valid_to is None:
        return "always"
    return (
        f"{_date_text(version.valid_from, 'the beginning')} to "
        f"{_date_text(version.valid_to, 'no end')}"
    )


def price_list_version_clean(
    *, version: PriceListVersion | None, price_list: PriceList, values: dict[str, Any]
) -> dict[str, Any]:
    _check_keys(values, VERSION_FIELDS, "price list version")
    if version is not None and version.price_list_id != price_list.pk:
        raise ValidationError("This version belongs to another price list.")
    cleaned, errors = _clean_all(values, _VERSION_CLEANERS)
    if version is None:
        _require(values, ("name",), "A version", errors)
    if errors:
        _raise_if(errors)

    def current(field: str, default: Any) -> Any:
        if field in cleaned:
            return cleaned[field]
        return getattr(version, field) if version is not None else default

    valid_from, valid_to = current("valid_from", None), current("valid_to", None)
    active = current("active", True)
    if valid_from and valid_to and valid_to < valid_from:
        errors.setdefault("valid_to", []).append(
            f"The version cannot end ({valid_to.isoformat()}) before it starts "
            f"({valid_from.isoformat()})."
        )
    name = current("name", "")
    others = PriceListVersion.objects.filter(price_list=price_list)
    if version is not None:
        others = others.exclude(pk=version.pk)
    if name and others.filter(name__iexact=name).exists():
        errors.setdefault("name", []).append(
            f"{price_list.name} already has a version called {name}."
        )
    if active and not errors:
        for other in others.filter(active=True).order_by("valid_from", "id"):
            if _overlaps(valid_from, valid_to, other.valid_from, other.valid_to):
                errors.setdefault("valid_from", []).append(
                    f"These dates overlap the active version {other.name} "
                    f"({version_period(other)}). End one before the other starts, "
                    "or make one inactive."
                )
                break
    _raise_if(errors)
    return cleaned


@transaction.atomic
def price_list_version_save(
    *,
    by: User | None,
    version: PriceListVersion | None = None,
    price_list: PriceList,
    values: dict[str, Any],
) -> PriceListVersion:
    """Create a version of *price_list* (``version=None``) or update one.

    Two active versions of a list may not share a day, so that a date always
    has one set of rules.
    """
    # Lock the list: two managers adding versions at once cannot both pass the
    # overlap check.
    PriceList.objects.select_for_update().filter(pk=price_list.pk).first()
    cleaned = price_list_version_clean(version=version, price_list=price_list, values=values)
    creating = version is None
    target = PriceListVersion(price_list=price_list) if version is None else version
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    _save(target, "valid_to", "A version cannot end before it starts.")
    events.emit(
        "price_list_version.saved",
        version_id=target.pk,
        price_list_id=price_list.pk,
        created=creating,
        changes=changes,
        by_id=_by_id(by),
    )
    return target


@transaction.atomic
def price_list_version_delete(*, by: User | None, version: PriceListVersion) -> None:
    """Delete a version and its rules."""
    pk, price_list_id, name = version.pk, version.price_list_id, version.name
    version.delete()
    events.emit(
        "price_list_version.deleted",
        version_id=pk,
        price_list_id=price_list_id,
        label=name,
        by_id=_by_id(by),
    )


# --------------------------------------------------------------------------
# Price rules


_RULE_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "sequence": lambda v: _whole(
        v, maximum=2_000_000_000, message="Enter a whole number (0 or more)."
    ),
    "product": lambda v: _instance(v, Product, "product"),
    "category": lambda v: _instance(v, ProductCategory, "product category"),
    "min_quantity": _amount("minimum quantity"),
    "base": lambda v: _choice(v, PriceRule.Base, "base (list price, another list, or fixed)"),
    "base_price_list": lambda v: _instance(v, PriceList, "price list"),
    "fixed_price": _amount("fixed price", allow_empty=True),
    "discount_percent": lambda v: _decimal(
        v,
        minimum=Decimal(-1000),
        maximum=Decimal(100),
        message="Enter a discount of at most 100 % (a negative discount is a markup, "
        "down to -1000 %).",
    ),
    "surcharge": lambda v: _decimal(
        v, minimum=-MAX_AMOUNT, message="Enter an amount (negative to take off)."
    ),
}


def _based_on(price_list_id: int) -> set[int]:
    """The lists whose prices *price_list_id* is computed from, directly or not."""
    edges: dict[int, set[int]] = {}
    rows = PriceRule.objects.filter(
        base=PriceRule.Base.OTHER_LIST, base_price_list__isnull=False
    ).values_list("version__price_list_id", "base_price_list_id")
    for own, base in rows:
        edges.setdefault(own, set()).add(base)
    found: set[int] = set()
    todo = [price_list_id]
    while todo:
        for base in edges.get(todo.pop(), ()):
            if base not in found:
                found.add(base)
                todo.append(base)
    return found


def price_rule_clean(
    *, rule: PriceRule | None, version: PriceListVersion, values: dict[str, Any]
) -> dict[str, Any]:
    _check_keys(values, RULE_FIELDS, "price rule")
    if rule is not None and rule.version_id != version.pk:
        raise ValidationError("This rule belongs to another version.")
    cleaned, errors = _clean_all(values, _RULE_CLEANERS)
    if errors:
        _raise_if(errors)

    def current(field: str, default: Any = None) -> Any:
        if field in cleaned:
            return cleaned[field]
        return getattr(rule, field) if rule is not None else default

    if current("product") is not None and current("category") is not None:
        errors.setdefault("category", []).append(
            "A rule applies to a product or to a category, not both: "
            "clear one of them (clear both to apply it to every product)."
        )
    base = current("base", PriceRule.Base.LIST_PRICE)
    own = version.price_list
    if base == PriceRule.Base.OTHER_LIST:
        base_list = current("base_price_list")
        if base_list is None:
            errors.setdefault("base_price_list", []).append(
                "Choose the price list this rule's prices are based on."
            )
        elif base_list.pk == own.pk:
            errors.setdefault("base_price_list", []).append(
                f"A rule of {own.name} cannot be based on {own.name} itself; "
                "choose another price list."
            )
        elif own.pk in _based_on(base_list.pk):
            errors.setdefault("base_price_list", []).append(
                f"{base_list.name} is already based on {own.name}, so {own.name} cannot be "
                f"based on {base_list.name}: the prices would go round in a circle."
            )
    else:
        cleaned["base_price_list"] = None
    if base == PriceRule.Base.FIXED:
        if current("fixed_price") is None:
            errors.setdefault("fixed_price", []).append("Enter the fixed price.")
    elif "fixed_price" in cleaned or (rule is not None and rule.fixed_price is not None):
        cleaned["fixed_price"] = None
    _raise_if(errors)
    return cleaned


@transaction.atomic
def price_rule_save(
    *,
    by: User | None,
    rule: PriceRule | None = None,
    version: PriceListVersion,
    values: dict[str, Any],
) -> PriceRule:
    """Create a rule of *version* (``rule=None``; it goes last) or update one."""
    cleaned = price_rule_clean(rule=rule, version=version, values=values)
    creating = rule is None
    target = PriceRule(version=version) if rule is None else rule
    changes = [] if creating else _changes(target, cleaned)
    if creating and "sequence" not in cleaned:
        last = PriceRule.objects.filter(version=version).aggregate(last=models.Max("sequence"))
        cleaned["sequence"] = (last["last"] or 0) + SEQUENCE_STEP
    for field, value in cleaned.items():
        setattr(target, field, value)
    _save(target, "category", "A rule applies to a product or to a category, not both.")
    events.emit(
        "price_rule.saved",
        rule_id=target.pk,
        version_id=version.pk,
        price_list_id=version.price_list_id,
        created=creating,
        changes=changes,
        by_id=_by_id(by),
    )
    return target


@transaction.atomic
def price_rule_delete(*, by: User | None, rule: PriceRule) -> None:
    pk, version_id = rule.pk, rule.version_id
    rule.delete()
    events.emit("price_rule.deleted", rule_id=pk, version_id=version_id, by_id=_by_id(by))


# --------------------------------------------------------------------------
# Partners' commercial terms


TERMS_LABELS = {
    "price_list": "Price list",
    "supplier_price_list": "Supplier price list",
    "payment_term": "Payment term",
    "credit_limit": "Credit limit",
    "external_id": "ERP id",
}


def _clean_external_id(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > 100:
        raise ValidationError(f"Keep the ERP id to 100 characters (it has {len(text)}).")
    return text


_TERMS_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "price_list": lambda v: _instance(v, PriceList, "price list"),
    "supplier_price_list": lambda v: _instance(v, PriceList, "price list"),
    "payment_term": lambda v: _instance(v, PaymentTerm, "payment term"),
    "credit_limit": _amount("credit limit", allow_empty=True),
    "external_id": _clean_external_id,
}


def partner_terms_clean(*, partner: Partner, values: dict[str, Any]) -> dict[str, Any]:
    _check_keys(values, TERMS_FIELDS, "commercial terms")
    cleaned, errors = _clean_all(values, _TERMS_CLEANERS)
    external_id = cleaned.get("external_id")
    if external_id:
        taken = (
            PartnerTerms.objects.filter(external_id=external_id)
            .exclude(partner=partner)
            .select_related("partner")
            .first()
        )
        if taken is not None:
            errors.setdefault("external_id", []).append(
                f"{taken.partner.name} already has the ERP id {external_id}."
            )
    _raise_if(errors)
    return cleaned


def _terms_text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field == "credit_limit":
        return f"{value:,.2f} {settings.COMPANY_CURRENCY}"
    return str(value)


@transaction.atomic
def partner_terms_save(
    *, by: User | None, partner: Partner, values: dict[str, Any]
) -> PartnerTerms:
    """Set *partner*'s commercial terms; the partner's timeline records old → new."""
    cleaned = partner_terms_clean(partner=partner, values=values)
    terms = PartnerTerms.objects.select_for_update().filter(
        partner=partner
    ).first() or PartnerTerms(partner=partner)
    changes = []
    for field, value in cleaned.items():
        old = getattr(terms, field)
        if old != value:
            changes.append(
                {
                    "label": TERMS_LABELS[field],
                    "old": _terms_text(field, old),
                    "new": _terms_text(field, value),
                }
            )
        setattr(terms, field, value)
    if not changes and terms.pk is not None:
        return terms
    terms.updated_at = timezone.now()
    terms.updated_by = by
    _save(terms, "external_id", "Another partner already has this ERP id.")
    if changes:
        timeline_add(
            subject=partner,
            partner=partner,
            kind=TimelineEntry.Kind.FIELD_CHANGE,
            action="terms_updated",
            author=by,
            changes=changes,
        )
        events.emit(
            "partner.terms_updated",
            partner_id=partner.pk,
            changes=[c["label"] for c in changes],
            by_id=_by_id(by),
        )
    return terms
