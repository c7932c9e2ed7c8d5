"""Price-list resolution and currency conversion (goodwill.sales.pricing).

One catalogue serves the table-driven test; the company currency is EUR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import factory
import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from goodwill.lib.money import money_round
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
from goodwill.sales.pricing import PriceQuote, convert, exchange_rate, price_for
from tests.factories import PartnerFactory

D = Decimal
LIST, OTHER, FIXED = PriceRule.Base.LIST_PRICE, PriceRule.Base.OTHER_LIST, PriceRule.Base.FIXED


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.LazyAttribute(lambda p: f"Product {p.code}")
    list_price = D("10.00")


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"List {n}")
    currency = "EUR"


class VersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListVersion

    price_list = factory.SubFactory(PriceListFactory)
    name = factory.Sequence(lambda n: f"Version {n}")
    valid_from = None
    valid_to = None


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceRule

    version = factory.SubFactory(VersionFactory)
    sequence = 10
    base = LIST


@pytest.fixture(autouse=True)
def _company_currency(settings: Any) -> None:
    settings.COMPANY_CURRENCY = "EUR"


@dataclass
class Catalogue:
    products: dict[str, Product]
    lists: dict[str, PriceList]
    versions: dict[str, PriceListVersion]
    rules: dict[str, PriceRule]
    partners: dict[str, Partner]


@pytest.fixture
def catalogue(db: None) -> Catalogue:
    """Categories Machines / Robots / Grippers and Tools; five products; rates
    for USD (1.10 from 2026-01-01, 1.20 from 2026-07-01) and JPY; and these lists:

    - Retail (EUR): 2025 (open start, to 2025-12-31): 5 % off everything;
      2026 (whole year): hammer fixed at 17.50, Machines 10 % off, everything
      else 5 % off; a July sale overlapping 2026: 25 % off; an inactive draft
      from 2026-06-01: 50 % off; 2027 on (open end): 20 % off.
    - Wholesale (EUR): 10 % off Retail.  Wholesale USD: Wholesale, in dollars.
    - Tiers (EUR): bolts 10/20/30 % off from 1/10/100; hammer rules whose
      sequence disagrees with their creation order; two robot rules with the
      same sequence.
    - Dollars (USD): Tools at list price plus a 2.00 surcharge, nothing else.
    - Yen (JPY): 3 % off everything.
    - Archive (EUR): one version, in 2020 only.
    """
    machines = ProductCategory.objects.create(name="Machines")
    robots = ProductCategory.objects.create(name="Robots", parent=machines)
    grippers = ProductCategory.objects.create(name="Grippers", parent=robots)
    tools = ProductCategory.objects.create(name="Tools")
    products = {
        "gripper": ProductFactory(code="GRIP", category=grippers, list_price=D("100.00")),
        "robot": ProductFactory(code="ROBOT", category=robots, list_price=D("1000.00")),
        "hammer": ProductFactory(code="HAMMER", category=tools, list_price=D("20.00")),
        "bolt": ProductFactory(code="BOLT", category=None, list_price=D("0.50")),
    }
    ExchangeRate.objects.create(currency="USD", valid_from=date(2026, 1, 1), rate=D("1.10"))
    ExchangeRate.objects.create(currency="USD", valid_from=date(2026, 7, 1), rate=D("1.20"))
    ExchangeRate.objects.create(currency="JPY", valid_from=date(2026, 1, 1), rate=D("160.123"))

    lists = {
        name: PriceListFactory(name=name, currency=currency)
        for name, currency in [
            ("Retail", "EUR"),
            ("Wholesale", "EUR"),
            ("Wholesale USD", "USD"),
            ("Tiers", "EUR"),
            ("Dollars", "USD"),
            ("Yen", "JPY"),
            ("Archive", "EUR"),
        ]
    }

    def version(name: str, price_list: str, **kwargs: Any) -> PriceListVersion:
        return VersionFactory(name=name, price_list=lists[price_list], **kwargs)

    versions = {
        "retail 2025": version("2025", "Retail", valid_to=date(2025, 12, 31)),
        "retail 2026": version(
            "2026", "Retail", valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31)
        ),
        "retail sale": version(
            "Sale", "Retail", valid_from=date(2026, 7, 1), valid_to=date(2026, 7, 31)
        ),
        "retail draft": version("Draft", "Retail", valid_from=date(2026, 6, 1), active=False),
        "retail 2027": version("2027", "Retail", valid_from=date(2027, 1, 1)),
        "wholesale": version("Always", "Wholesale"),
        "wholesale usd": version("Always", "Wholesale USD"),
        "tiers": version("Always", "Tiers"),
        "dollars": version("Always", "Dollars"),
        "yen": version("Always", "Yen"),
        "archive": version(
            "2020", "Archive", valid_from=date(2020, 1, 1), valid_to=date(2020, 12, 31)
        ),
    }

    def rule(version_key: str, **kwargs: Any) -> PriceRule:
        return RuleFactory(version=versions[version_key], **kwargs)

    h, b, r = (products[k] for k in ("hammer", "bolt", "robot"))
    rules = {
        "retail 2025 all": rule("retail 2025", discount_percent=5),
        "retail hammer": rule(
            "retail 2026", sequence=10, product=h, base=FIXED, fixed_price=D("17.50")
        ),
        "retail machines": rule("retail 2026", sequence=20, category=machines, discount_percent=10),
        "retail all": rule("retail 2026", sequence=30, discount_percent=5),
        "retail sale": rule("retail sale", discount_percent=25),
        "retail draft": rule("retail draft", discount_percent=50),
        "retail 2027": rule("retail 2027", discount_percent=20),
        "wholesale": rule(
            "wholesale", base=OTHER, base_price_list=lists["Retail"], discount_percent=10
        ),
        "wholesale usd": rule("wholesale usd", base=OTHER, base_price_list=lists["Wholesale"]),
        "bolt 100": rule("tiers", sequence=10, product=b, min_quantity=100, discount_percent=30),
        "bolt 10": rule("tiers", sequence=20, product=b, min_quantity=10, discount_percent=20),
        "bolt 1": rule("tiers", sequence=30, product=b, min_quantity=1, discount_percent=10),
        # Created first, but its higher sequence makes it lose to the next one.
        "hammer 50": rule("tiers", sequence=50, product=h, discount_percent=50),
        "hammer 40": rule("tiers", sequence=40, product=h, discount_percent=40),
        # Same sequence: the older rule wins.
        "robot first": rule("tiers", sequence=60, product=r, discount_percent=10),
        "robot second": rule("tiers", sequence=60, product=r, discount_percent=20),
        "dollars tools": rule("dollars", category=tools, surcharge=D("2.00")),
        "yen all": rule("yen", discount_percent=3),
        "archive all": rule("archive", discount_percent=50),
    }

    with_terms = PartnerFactory(name="Wholesale Customer Ltd")
    PartnerTerms.objects.create(partner=with_terms, price_list=lists["Wholesale"])
    without_list = PartnerFactory(name="Terms Without List Ltd")
    PartnerTerms.objects.create(partner=without_list, credit_limit=D(1000))
    partners = {
        "wholesale customer": with_terms,
        "terms without list": without_list,
        "no terms": PartnerFactory(name="Walk-in Customer"),
    }
    return Catalogue(products, lists, versions, rules, partners)


@dataclass(frozen=True)
class Case:
    """One row of the table: what is asked, and the quote expected."""

    product: str
    on: date
    price: str
    currency: str = "EUR"
    quantity: str = "1"
    price_list: str | None = None
    partner: str | None = None
    expect_list: str | None = None  # defaults to price_list
    version: str | None = None
    rule: str | None = None
    base: str | None = None


MARCH, JULY_1, AUGUST = date(2026, 3, 1), date(2026, 7, 1), date(2026, 8, 1)

CASES = {
    "fixed price for a product": Case(
        "hammer", MARCH, "17.50", price_list="Retail", version="retail 2026", rule="retail hammer"
    ),
    "% off the list price, rounded half up": Case(
        "bolt", MARCH, "0.48", price_list="Retail", version="retail 2026", rule="retail all"
    ),
    "category rule matches a sub-subcategory": Case(
        "gripper", MARCH, "90.00", price_list="Retail", version="retail 2026",
        rule="retail machines", base="100.00",
    ),
    "category rule matches a subcategory": Case(
        "robot", MARCH, "900.00", price_list="Retail", version="retail 2026",
        rule="retail machines",
    ),
    "% off another price list": Case(
        "gripper", MARCH, "81.00", price_list="Wholesale", version="wholesale",
        rule="wholesale", base="90.00",
    ),
    "another price list in another currency": Case(
        "gripper", MARCH, "89.10", "USD", price_list="Wholesale USD", version="wholesale usd",
        rule="wholesale usd", base="89.1000",
    ),
    "quantity below every tier: list price": Case(
        "bolt", MARCH, "0.50", quantity="0.5", price_list="Tiers", version="tiers"
    ),
    "quantity tier 1": Case(
        "bolt", MARCH, "0.45", quantity="1", price_list="Tiers", version="tiers", rule="bolt 1"
    ),
    "quantity tier 10": Case(
        "bolt", MARCH, "0.40", quantity="10", price_list="Tiers", version="tiers", rule="bolt 10"
    ),
    "quantity just below tier 100": Case(
        "bolt", MARCH, "0.40", quantity="99.99", price_list="Tiers", version="tiers",
        rule="bolt 10",
    ),
    "quantity tier 100": Case(
        "bolt", MARCH, "0.35", quantity="100", price_list="Tiers", version="tiers",
        rule="bolt 100",
    ),
    "the lower sequence wins over creation order": Case(
        "hammer", MARCH, "12.00", price_list="Tiers", version="tiers", rule="hammer 40"
    ),
    "same sequence: the older rule wins": Case(
        "robot", MARCH, "900.00", price_list="Tiers", version="tiers", rule="robot first"
    ),
    "no rule for the product: list price": Case(
        "gripper", MARCH, "100.00", price_list="Tiers", version="tiers", base="100.00"
    ),
    "version with an open start": Case(
        "gripper", date(2025, 6, 1), "95.00", price_list="Retail", version="retail 2025",
        rule="retail 2025 all",
    ),
    "last day of a version": Case(
        "gripper", date(2025, 12, 31), "95.00", price_list="Retail", version="retail 2025",
        rule="retail 2025 all",
    ),
    "inactive version is ignored": Case(
        "gripper", date(2026, 6, 15), "90.00", price_list="Retail", version="retail 2026",
        rule="retail machines",
    ),
    "overlapping versions: the latest start wins": Case(
        "gripper", date(2026, 7, 15), "75.00", price_list="Retail", version="retail sale",
        rule="retail sale",
    ),
    "version with an open end": Case(
        "gripper", date(2031, 2, 1), "80.00", price_list="Retail", version="retail 2027",
        rule="retail 2027",
    ),
    "no valid version: list price": Case("gripper", MARCH, "100.00", price_list="Archive"),
    "partner's default price list": Case(
        "gripper", MARCH, "81.00", partner="wholesale customer", expect_list="Wholesale",
        version="wholesale", rule="wholesale",
    ),
    "explicit price list over the partner's": Case(
        "gripper", MARCH, "90.00", partner="wholesale customer", price_list="Retail",
        version="retail 2026", rule="retail machines",
    ),
    "partner whose terms name no list: list price": Case(
        "gripper", MARCH, "100.00", partner="terms without list", base="100.00"
    ),
    "partner without terms: list price": Case("gripper", MARCH, "100.00", partner="no terms"),
    "no partner, no list: list price": Case("bolt", MARCH, "0.50"),
    "list price converted at the date, plus a surcharge": Case(
        "hammer", MARCH, "24.00", "USD", price_list="Dollars", version="dollars",
        rule="dollars tools", base="22.0000",
    ),
    "the new rate applies from its first day": Case(
        "hammer", JULY_1, "26.00", "USD", price_list="Dollars", version="dollars",
        rule="dollars tools", base="24.0000",
    ),
    "the rate of the date, not the latest": Case(
        "hammer", AUGUST, "26.00", "USD", price_list="Dollars", version="dollars",
        rule="dollars tools",
    ),
    "no rule in another currency: converted list price": Case(
        "gripper", MARCH, "110.00", "USD", price_list="Dollars", version="dollars"
    ),
    "yen are rounded to whole units": Case(
        "gripper", MARCH, "15532", "JPY", price_list="Yen", version="yen", rule="yen all",
        base="16012.3000",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_price_for(catalogue: Catalogue, case: Case) -> None:
    """Each row names the price, the currency, and the list, version and rule
    that produced it (None where the list price was used)."""
    quote = price_for(
        product=catalogue.products[case.product],
        quantity=D(case.quantity),
        on=case.on,
        partner=catalogue.partners[case.partner] if case.partner else None,
        price_list=catalogue.lists[case.price_list] if case.price_list else None,
    )
    expected_list = case.expect_list or case.price_list
    assert str(quote.unit_price) == case.price
    assert quote.currency == case.currency
    assert quote.price_list == (catalogue.lists[expected_list] if expected_list else None)
    assert quote.version == (catalogue.versions[case.version] if case.version else None)
    assert quote.rule == (catalogue.rules[case.rule] if case.rule else None)
    if case.base is not None:
        assert quote.base_price == D(case.base)


def test_a_dated_version_wins_over_an_open_one_and_the_newest_over_its_twin(
    catalogue: Catalogue,
) -> None:
    """An open-start version loses to one that starts on a date, on that date
    and after; of two versions that start on the same day, the newer wins."""
    promo = PriceListFactory(name="Promo")
    always = VersionFactory(price_list=promo, name="Always")
    RuleFactory(version=always, discount_percent=10)
    june = VersionFactory(price_list=promo, name="June", valid_from=date(2026, 6, 1))
    RuleFactory(version=june, discount_percent=20)
    june_fix = VersionFactory(price_list=promo, name="June, fixed", valid_from=date(2026, 6, 1))
    RuleFactory(version=june_fix, discount_percent=30)
    hammer = catalogue.products["hammer"]

    def on(day: date) -> PriceQuote:
        return price_for(product=hammer, quantity=D(1), on=day, price_list=promo)

    assert (on(date(2026, 5, 31)).version, on(date(2026, 5, 31)).unit_price) == (always, D(18))
    assert (on(date(2026, 6, 1)).version, on(date(2026, 6, 1)).unit_price) == (june_fix, D(14))
    assert on(date(2040, 1, 1)).version == june_fix


def test_the_quote_is_frozen(catalogue: Catalogue) -> None:
    quote = price_for(product=catalogue.products["bolt"], quantity=D(1), on=MARCH)
    assert quote == PriceQuote(
        unit_price=D("0.50"),
        currency="EUR",
        price_list=None,
        version=None,
        rule=None,
        base_price=D("0.50"),
    )
    with pytest.raises(AttributeError):
        quote.unit_price = D(0)  # type: ignore[misc]


def test_queries_stay_few(catalogue: Catalogue, django_assert_num_queries: Any) -> None:
    """One query for the version, one for the categories, one for the rule, and
    one per exchange rate; a partner's terms cost one more."""
    gripper, hammer = catalogue.products["gripper"], catalogue.products["hammer"]
    with django_assert_num_queries(3):
        price_for(product=gripper, quantity=D(1), on=MARCH, price_list=catalogue.lists["Retail"])
    with django_assert_num_queries(4):
        price_for(product=hammer, quantity=D(1), on=MARCH, price_list=catalogue.lists["Dollars"])
    with django_assert_num_queries(2):  # a product without a category
        price_for(
            product=catalogue.products["bolt"],
            quantity=D(1),
            on=MARCH,
            price_list=catalogue.lists["Tiers"],
        )
    with django_assert_num_queries(1):
        price_for(product=gripper, quantity=D(1), on=MARCH, partner=catalogue.partners["no terms"])
    # Wholesale USD → Wholesale → Retail: the categories are read once.
    with django_assert_num_queries(1 + 3 * 2 + 1):
        price_for(
            product=gripper,
            quantity=D(1),
            on=MARCH,
            price_list=catalogue.lists["Wholesale USD"],
        )


def test_price_lists_in_a_cycle_are_refused(catalogue: Catalogue) -> None:
    """A list based on a list based on the first is named in the error."""
    first = PriceListFactory(name="First")
    second = PriceListFactory(name="Second")
    RuleFactory(version__price_list=first, base=OTHER, base_price_list=second)
    RuleFactory(version__price_list=second, base=OTHER, base_price_list=first)
    with pytest.raises(ValidationError) as raised:
        price_for(product=catalogue.products["bolt"], quantity=D(1), on=MARCH, price_list=first)
    assert raised.value.messages == [
        "Price lists refer to each other in a cycle: First → Second → First."
    ]
    assert raised.value.code == "price_list_cycle"


def test_a_list_based_on_itself_is_refused(catalogue: Catalogue) -> None:
    selfish = PriceListFactory(name="Selfish")
    RuleFactory(version__price_list=selfish, base=OTHER, base_price_list=selfish)
    with pytest.raises(ValidationError, match="in a cycle: Selfish → Selfish"):
        price_for(product=catalogue.products["bolt"], quantity=D(1), on=MARCH, price_list=selfish)


def test_lists_based_on_lists_are_resolved_in_depth(catalogue: Catalogue) -> None:
    """Top → Left → Base is no cycle, and each level rounds its own price: Base
    is 0.25, Left 10 % off it (0.225 → 0.23); Top reaches Left from 10 units
    and Base below. Reaching Base twice in a row of calls is no cycle either."""
    base = PriceListFactory(name="Base")
    RuleFactory(version__price_list=base, discount_percent=50)
    left = PriceListFactory(name="Left")
    RuleFactory(version__price_list=left, base=OTHER, base_price_list=base, discount_percent=10)
    top = PriceListFactory(name="Top")
    top_version = VersionFactory(price_list=top)
    RuleFactory(version=top_version, min_quantity=10, base=OTHER, base_price_list=left)
    RuleFactory(version=top_version, sequence=20, base=OTHER, base_price_list=base)
    bolt = catalogue.products["bolt"]
    many = price_for(product=bolt, quantity=D(10), on=MARCH, price_list=top)
    one = price_for(product=bolt, quantity=D(1), on=MARCH, price_list=top)
    assert (many.unit_price, many.base_price) == (D("0.23"), D("0.23"))
    assert (one.unit_price, one.base_price) == (D("0.25"), D("0.25"))


def test_a_missing_exchange_rate_is_named(catalogue: Catalogue) -> None:
    """The dollar has no rate before 2026: the error names the currency and the day."""
    with pytest.raises(ValidationError) as raised:
        price_for(
            product=catalogue.products["hammer"],
            quantity=D(1),
            on=date(2025, 12, 31),
            price_list=catalogue.lists["Dollars"],
        )
    assert raised.value.messages == ["No exchange rate for USD on or before 2025-12-31."]
    assert raised.value.code == "no_exchange_rate"


def test_a_negative_price_is_refused(catalogue: Catalogue) -> None:
    """A surcharge larger than the discounted price is a mistake in the list."""
    credit = PriceListFactory(name="Credit")
    RuleFactory(version__price_list=credit, sequence=7, surcharge=D("-0.60"))
    with pytest.raises(ValidationError) as raised:
        price_for(product=catalogue.products["bolt"], quantity=D(1), on=MARCH, price_list=credit)
    assert raised.value.messages == [
        f"Rule 7 of Credit / {credit.versions.get().name} gives a negative price (-0.10 EUR) "
        "for [BOLT] Product BOLT."
    ]


def test_a_markup_is_a_negative_discount(catalogue: Catalogue) -> None:
    markup = PriceListFactory(name="Markup")
    RuleFactory(version__price_list=markup, discount_percent=-25)
    quote = price_for(
        product=catalogue.products["hammer"], quantity=D(1), on=MARCH, price_list=markup
    )
    assert quote.unit_price == D("25.00")


def test_incomplete_rules_are_refused(catalogue: Catalogue) -> None:
    fixed = PriceListFactory(name="Fixed")
    RuleFactory(version__price_list=fixed, base=FIXED, fixed_price=None)
    other = PriceListFactory(name="Other")
    RuleFactory(version__price_list=other, base=OTHER, base_price_list=None)
    bolt = catalogue.products["bolt"]
    with pytest.raises(ValidationError, match="is a fixed price but has no price"):
        price_for(product=bolt, quantity=D(1), on=MARCH, price_list=fixed)
    with pytest.raises(ValidationError, match="starts from another price list but names none"):
        price_for(product=bolt, quantity=D(1), on=MARCH, price_list=other)


def test_quantity_must_be_a_non_negative_decimal(catalogue: Catalogue) -> None:
    bolt = catalogue.products["bolt"]
    with pytest.raises(TypeError, match="takes a Decimal quantity, not float"):
        price_for(product=bolt, quantity=1.0, on=MARCH)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"^\['The quantity cannot be negative\.'\]$"):
        price_for(product=bolt, quantity=D(-1), on=MARCH)
    assert price_for(product=bolt, quantity=D(0), on=MARCH).unit_price == D("0.50")


def test_a_product_created_without_a_list_price_costs_nothing(catalogue: Catalogue) -> None:
    """The instance still holds the field's default (the int 0), not a Decimal."""
    freebie = Product.objects.create(code="FREE", name="Sticker")
    assert price_for(product=freebie, quantity=D(1), on=MARCH).unit_price == D("0.00")
    quote = price_for(
        product=freebie, quantity=D(1), on=MARCH, price_list=catalogue.lists["Dollars"]
    )
    assert (quote.unit_price, quote.currency) == (D("0.00"), "USD")


def test_the_company_currency_is_read_at_call_time(catalogue: Catalogue, settings: Any) -> None:
    """List prices are in whatever COMPANY_CURRENCY says, rounded to it."""
    settings.COMPANY_CURRENCY = "JPY"
    quote = price_for(product=catalogue.products["bolt"], quantity=D(1), on=MARCH)
    assert (quote.unit_price, quote.currency) == (D("1"), "JPY")


# Conversion


@pytest.fixture
def rates(db: None) -> None:
    ExchangeRate.objects.create(currency="USD", valid_from=date(2026, 1, 1), rate=D("1.10"))
    ExchangeRate.objects.create(currency="USD", valid_from=date(2026, 7, 1), rate=D("1.20"))
    ExchangeRate.objects.create(currency="GBP", valid_from=date(2026, 1, 1), rate=D("0.80"))
    ExchangeRate.objects.create(currency="JPY", valid_from=date(2025, 1, 1), rate=D("160"))


@pytest.mark.parametrize(
    ("amount", "source", "target", "on", "expected"),
    [
        ("100", "EUR", "USD", MARCH, "110.00"),
        ("100", "EUR", "USD", date(2026, 6, 30), "110.00"),
        ("100", "EUR", "USD", JULY_1, "120.00"),
        ("120", "USD", "EUR", AUGUST, "100"),
        ("110", "USD", "GBP", MARCH, "80.0"),  # through the euro
        ("1", "GBP", "JPY", MARCH, "200.0"),
        ("12.345", "USD", "USD", date(1999, 1, 1), "12.345"),  # no rate needed
        ("7", "EUR", "EUR", date(1999, 1, 1), "7"),
    ],
)
def test_convert(
    rates: None, amount: str, source: str, target: str, on: date, expected: str
) -> None:
    result = convert(amount=D(amount), from_currency=source, to_currency=target, on=on)
    assert result == D(expected)


def test_convert_is_not_rounded(rates: None) -> None:
    """Callers round once they have their total; 28 significant digits are kept."""
    result = convert(amount=D(1), from_currency="USD", to_currency="EUR", on=MARCH)
    assert result == D("0.9090909090909090909090909091")
    assert money_round(result, "EUR") == D("0.91")


def test_convert_refuses_floats_and_unknown_currencies(rates: None) -> None:
    with pytest.raises(TypeError, match="takes a Decimal amount, not float"):
        convert(amount=1.5, from_currency="EUR", to_currency="USD", on=MARCH)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown currency 'XXX'"):
        convert(amount=D(1), from_currency="XXX", to_currency="USD", on=MARCH)


def test_convert_names_the_missing_rate(rates: None) -> None:
    with pytest.raises(
        ValidationError, match=r"^\['No exchange rate for USD on or before 2025-12-31.'\]$"
    ):
        convert(amount=D(1), from_currency="USD", to_currency="EUR", on=date(2025, 12, 31))
    with pytest.raises(
        ValidationError, match=r"No exchange rate for CHF on or before 2026-03-01\."
    ):
        convert(amount=D(1), from_currency="EUR", to_currency="CHF", on=MARCH)


def test_exchange_rate_of_the_company_currency_is_one(db: None) -> None:
    assert exchange_rate(currency="EUR", on=date(1900, 1, 1)) == 1


# Rounding invariants of price_for


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    base=st.decimals(min_value=0, max_value=10**7, places=4),
    discount=st.decimals(min_value=0, max_value=100, places=4),
    surcharge=st.decimals(min_value=0, max_value=10**4, places=4),
    currency=st.sampled_from(["EUR", "USD", "JPY", "KRW", "CHF"]),
    fixed=st.booleans(),
)
def test_a_discount_never_raises_the_price_nor_makes_it_negative(
    db: None, base: Decimal, discount: Decimal, surcharge: Decimal, currency: str, fixed: bool
) -> None:
    """With a discount in [0, 100] and non-negative base and surcharge, the
    price lies between 0 and the base plus surcharge (rounded the same way)."""
    with transaction.atomic():
        product = ProductFactory(list_price=base)
        price_list = PriceListFactory(currency=currency if fixed else "EUR")
        RuleFactory(
            version__price_list=price_list,
            base=FIXED if fixed else LIST,
            fixed_price=base if fixed else None,
            discount_percent=discount,
            surcharge=surcharge,
        )
        quote = price_for(product=product, quantity=D(1), on=MARCH, price_list=price_list)
        transaction.set_rollback(True)
    assert quote.base_price == base
    assert D(0) <= quote.unit_price <= money_round(base + surcharge, quote.currency)
    assert quote.unit_price == money_round(quote.unit_price, quote.currency)
