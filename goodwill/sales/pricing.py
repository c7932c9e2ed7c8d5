"""Prices and currency conversion.

``price_for`` answers "which unit price does partner P pay for product X at
quantity Q on date D", and ``convert`` turns an amount of one currency into
another at a date. Both only read: they never change state.

Resolution, in order:

1. the price list given explicitly, else the partner's default price list
   (``PartnerTerms.price_list``), else the product's list price in the company
   currency (``settings.COMPANY_CURRENCY``);
2. within a price list, the active version valid on the date (``valid_from <=
   date <= valid_to``, a missing bound is open); when several are valid, the
   one with the latest ``valid_from`` wins, then the most recently created;
3. within that version, the first rule by ``(sequence, id)`` that applies to
   the product (its product is this product, or its category is the product's
   category or one of its ancestors, or it names neither) and whose
   ``min_quantity`` is at most the quantity;
4. the rule's base: the list price converted to the list's currency at the
   date, the product's price on another price list (resolved the same way for
   the same quantity and date, then converted), or the rule's fixed price (in
   the list's currency);
5. ``base × (1 − discount / 100) + surcharge``, rounded half up to the list's
   currency (``goodwill.lib.money.money_round``). Fixed prices and surcharges
   are in the list's currency; a negative discount is a markup.

A price list with no valid version, or whose version has no rule for the
product and quantity, prices at the list price converted to its currency; the
quote says so with ``rule=None``. A rule that would give a negative price is
an error in the price list, not something to hide: it raises ``ValidationError``
rather than being clamped to zero. So do price lists that refer to each other
in a cycle, and missing exchange rates.

``PriceList.active`` is not looked at here: it decides which lists are offered
for new choices, while a list already set on a partner or named by a rule keeps
pricing until it is replaced.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Q

from goodwill.lib.money import minor_units, money_format, money_round
from goodwill.partners.models import Partner
from goodwill.sales.models import (
    ExchangeRate,
    PartnerTerms,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    ProductCategory,
)

# Conversions divide by a rate; they run with this many significant digits,
# whatever the calling thread's decimal context says.
CONVERSION_PRECISION = 28


@dataclass(frozen=True)
class PriceQuote:
    """The unit price of a product, and how it was found.

    ``unit_price`` is rounded to ``currency``. ``base_price`` is the base the
    rule started from (or the converted list price when no rule applied), in
    ``currency`` and not rounded, before discount and surcharge.
    ``price_list`` is None when the product's list price was used directly;
    ``version`` is None when the price list had no version valid on the date;
    ``rule`` is None when no rule applied and the list price was used.
    """

    unit_price: Decimal
    currency: str
    price_list: PriceList | None
    version: PriceListVersion | None
    rule: PriceRule | None
    base_price: Decimal


def exchange_rate(*, currency: str, on: date) -> Decimal:
    """Units of *currency* per unit of the company currency on *on*: the latest
    rate that starts on or before that day. The company currency's rate is 1."""
    minor_units(currency)  # refuses an unknown currency with ValueError
    if currency == settings.COMPANY_CURRENCY:
        return Decimal(1)
    rate = (
        ExchangeRate.objects.filter(currency=currency, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ValidationError(
            f"No exchange rate for {currency} on or before {on.isoformat()}.",
            code="no_exchange_rate",
        )
    return rate


def convert(*, amount: Decimal, from_currency: str, to_currency: str, on: date) -> Decimal:
    """*amount* of *from_currency* in *to_currency* at the rates of *on*.

    It goes through the company currency: ``amount / rate(from) × rate(to)``,
    with one query per currency other than the company's. The result is not
    rounded (callers round with ``money_round`` once they have their total)
    but carries ``CONVERSION_PRECISION`` significant digits, far more than any
    amount's minor units need.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"convert() takes a Decimal amount, not {type(amount).__name__}.")
    minor_units(from_currency)
    minor_units(to_currency)
    if from_currency == to_currency:
        return amount
    with decimal.localcontext() as context:
        context.prec = CONVERSION_PRECISION
        in_company = amount
        if from_currency != settings.COMPANY_CURRENCY:
            in_company = amount / exchange_rate(currency=from_currency, on=on)
        if to_currency == settings.COMPANY_CURRENCY:
            return in_company
        return in_company * exchange_rate(currency=to_currency, on=on)


def price_for(
    *,
    product: Product,
    quantity: Decimal,
    on: date,
    partner: Partner | None = None,
    price_list: PriceList | None = None,
) -> PriceQuote:
    """The unit price of *product* at *quantity* on *on*, for *partner* or on
    *price_list* (which wins over the partner's default list).

    Raises ``ValidationError`` for a negative quantity, a missing exchange
    rate, price lists that refer to each other in a cycle, and a rule that is
    incomplete or gives a negative price.
    """
    if not isinstance(quantity, Decimal):
        raise TypeError(f"price_for() takes a Decimal quantity, not {type(quantity).__name__}.")
    if quantity < 0:
        raise ValidationError("The quantity cannot be negative.", code="negative_quantity")
    if price_list is None and partner is not None:
        terms = PartnerTerms.objects.filter(partner=partner).select_related("price_list").first()
        price_list = terms.price_list if terms is not None else None
    if price_list is None:
        company = settings.COMPANY_CURRENCY
        list_price = _list_price(product)
        return PriceQuote(
            unit_price=money_round(list_price, company),
            currency=company,
            price_list=None,
            version=None,
            rule=None,
            base_price=list_price,
        )
    return _Resolution(product=product, quantity=quantity, on=on).quote(price_list)


def _list_price(product: Product) -> Decimal:
    """The product's list price as a Decimal: a product just created without
    one still holds the field's default, the int 0, until it is read back."""
    if isinstance(product.list_price, float):
        raise TypeError(f"The list price of {product} is a float; it must be a Decimal.")
    return Decimal(product.list_price)


@dataclass
class _Resolution:
    """One call of ``price_for``: what nested price lists share."""

    product: Product
    quantity: Decimal
    on: date
    chain: list[PriceList] = field(default_factory=list)
    _categories: list[int] | None = None

    def quote(self, price_list: PriceList) -> PriceQuote:
        if any(seen.pk == price_list.pk for seen in self.chain):
            names = " → ".join(p.name for p in [*self.chain, price_list])
            raise ValidationError(
                f"Price lists refer to each other in a cycle: {names}.", code="price_list_cycle"
            )
        self.chain.append(price_list)
        try:
            return self._quote(price_list)
        finally:
            self.chain.pop()

    def _quote(self, price_list: PriceList) -> PriceQuote:
        currency = price_list.currency
        version = self._version(price_list)
        rule = self._rule(version) if version is not None else None
        if rule is None:
            base = self._list_price_in(currency)
            return PriceQuote(
                unit_price=money_round(base, currency),
                currency=currency,
                price_list=price_list,
                version=version,
                rule=None,
                base_price=base,
            )
        base = self._base(rule, currency)
        price = base * (1 - rule.discount_percent / 100) + rule.surcharge
        if price < 0:
            raise ValidationError(
                f"{rule} gives a negative price ({money_format(price, currency)}) "
                f"for {self.product}.",
                code="negative_price",
            )
        return PriceQuote(
            unit_price=money_round(price, currency),
            currency=currency,
            price_list=price_list,
            version=version,
            rule=rule,
            base_price=base,
        )

    def _version(self, price_list: PriceList) -> PriceListVersion | None:
        return (
            PriceListVersion.objects.filter(price_list=price_list, active=True)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=self.on))
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=self.on))
            .order_by(F("valid_from").desc(nulls_last=True), "-id")
            .first()
        )

    def _rule(self, version: PriceListVersion) -> PriceRule | None:
        applies = Q(product=self.product) | Q(product__isnull=True, category__isnull=True)
        categories = self._category_and_ancestors()
        if categories:
            applies |= Q(category__in=categories)
        return (
            PriceRule.objects.filter(applies, version=version, min_quantity__lte=self.quantity)
            .select_related("version__price_list", "base_price_list")
            .order_by("sequence", "id")
            .first()
        )

    def _category_and_ancestors(self) -> list[int]:
        """The product's category and its ancestors, nearest first, from one
        query over all categories (they are few), made at most once per call."""
        if self._categories is None:
            self._categories = []
            category_id = self.product.category_id
            if category_id is not None:
                parents = dict(ProductCategory.objects.values_list("id", "parent_id"))
                while category_id is not None and category_id not in self._categories:
                    self._categories.append(category_id)
                    category_id = parents.get(category_id)
        return self._categories

    def _list_price_in(self, currency: str) -> Decimal:
        return convert(
            amount=_list_price(self.product),
            from_currency=settings.COMPANY_CURRENCY,
            to_currency=currency,
            on=self.on,
        )

    def _base(self, rule: PriceRule, currency: str) -> Decimal:
        if rule.base == PriceRule.Base.FIXED:
            if rule.fixed_price is None:
                raise ValidationError(
                    f"{rule} is a fixed price but has no price.", code="rule_without_price"
                )
            return rule.fixed_price
        if rule.base == PriceRule.Base.OTHER_LIST:
            if rule.base_price_list is None:
                raise ValidationError(
                    f"{rule} starts from another price list but names none.",
                    code="rule_without_price_list",
                )
            other = self.quote(rule.base_price_list)
            return convert(
                amount=other.unit_price,
                from_currency=other.currency,
                to_currency=currency,
                on=self.on,
            )
        return self._list_price_in(currency)
