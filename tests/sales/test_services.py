"""Commercial master data: the services in goodwill.sales.services."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from goodwill.accounts.models import User
from goodwill.lib import events
from goodwill.partners.models import TimelineEntry
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
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def _messages(exc: pytest.ExceptionInfo[ValidationError], field: str) -> list[str]:
    return exc.value.message_dict[field]


@pytest.fixture
def captured() -> Any:
    """Events emitted during the test (they fire on commit)."""
    seen: list[events.Event] = []
    handler = events.subscribe("*")(seen.append)
    yield seen
    events.unsubscribe("*", handler)


def _product(code: str = "GR-200", **values: Any) -> Product:
    return services.product_save(by=None, values={"code": code, "name": f"Item {code}", **values})


def _category(name: str, parent: ProductCategory | None = None) -> ProductCategory:
    return services.product_category_save(by=None, values={"name": name, "parent": parent})


def _list(name: str = "Retail", currency: str = "EUR") -> PriceList:
    return services.price_list_save(by=None, values={"name": name, "currency": currency})


def _version(price_list: PriceList, name: str = "2026", **values: Any) -> PriceListVersion:
    return services.price_list_version_save(
        by=None, price_list=price_list, values={"name": name, **values}
    )


# --------------------------------------------------------------------------
# Products


def test_product_save_normalises_the_code_and_emits(
    maria: User, captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    """The code loses its spaces and is upper-cased; an event follows the commit."""
    with django_capture_on_commit_callbacks(execute=True):
        product = services.product_save(
            by=maria,
            values={
                "code": " gr -200 ",
                "name": "  Gripper   200 ",
                "list_price": "120.50",
                "tax_rate": Decimal("20"),
            },
        )
    product.refresh_from_db()
    assert (product.code, product.name) == ("GR-200", "Gripper 200")
    assert product.list_price == Decimal("120.50")
    assert [(e.name, e.payload["created"], e.payload["by_id"]) for e in captured] == [
        ("product.saved", True, maria.pk)
    ]


def test_product_save_updates_only_the_given_fields(captured: list[events.Event]) -> None:
    product = _product(list_price=10)
    before = product.updated_at
    services.product_save(by=None, product=product, values={"cost": "4"})
    product.refresh_from_db()
    assert (product.list_price, product.cost) == (Decimal(10), Decimal(4))
    assert product.updated_at >= before


def test_product_codes_are_unique_whatever_the_case() -> None:
    _product("GR-200")
    with pytest.raises(ValidationError) as exc:
        _product("gr-200")
    assert _messages(exc, "code") == ["The code GR-200 already belongs to Item GR-200."]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"code": ""}, "code", "Enter a code, e.g. GR-200."),
        (
            {"code": "-AB"},
            "code",
            "Start the code with a letter or a digit, and use only letters A to Z, digits, "
            "'.', '_', '/' and '-'.",
        ),
        ({"code": "A" * 41}, "code", "Keep the code to 40 characters (it has 41)."),
        ({"list_price": "-1"}, "list_price", "Enter a list price of 0 or more."),
        ({"cost": "-0.01"}, "cost", "Enter a cost of 0 or more."),
        ({"list_price": "1.23456"}, "list_price", "Use at most 4 decimals."),
        ({"list_price": "abc"}, "list_price", "Enter a list price of 0 or more."),
        ({"tax_rate": "100.5"}, "tax_rate", "Enter a tax rate from 0 to 100 (%)."),
        ({"tax_rate": "-1"}, "tax_rate", "Enter a tax rate from 0 to 100 (%)."),
        ({"kind": "thing"}, "kind", "Choose a kind (product or service)."),
        ({"unit": "parsec"}, "unit", "Choose a unit of measure."),
        ({"category": 999_999}, "category", "Choose an existing product category."),
        ({"name": " "}, "name", "Enter a name."),
    ],
)
def test_product_save_refuses_bad_values(values: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        services.product_save(by=None, values={"code": "OK-1", "name": "Fine", **values})
    assert _messages(exc, field) == [message]
    assert not Product.objects.exists()


def test_product_save_needs_a_code_and_a_name_and_knows_its_fields() -> None:
    with pytest.raises(ValidationError) as exc:
        services.product_save(by=None, values={})
    assert exc.value.message_dict == {
        "code": ["A product needs a code."],
        "name": ["A product needs a name."],
    }
    with pytest.raises(ValidationError) as exc:
        services.product_save(by=None, values={"code": "X", "name": "X", "colour": "red"})
    assert exc.value.messages == ["Unknown product fields: colour."]


# --------------------------------------------------------------------------
# Product categories


def test_categories_form_a_tree_with_paths(captured: list[events.Event]) -> None:
    machines = _category("Machines")
    robots = _category("Robots", machines)
    grippers = _category("Grippers", robots)
    assert services.category_path(grippers) == "Machines / Robots / Grippers"
    assert services.category_paths() == {
        machines.pk: "Machines",
        robots.pk: "Machines / Robots",
        grippers.pk: "Machines / Robots / Grippers",
    }


def test_a_category_cannot_move_inside_itself_or_its_subcategories() -> None:
    machines = _category("Machines")
    robots = _category("Robots", machines)
    grippers = _category("Grippers", robots)
    with pytest.raises(ValidationError) as exc:
        services.product_category_save(by=None, category=machines, values={"parent": machines})
    assert _messages(exc, "parent") == ["A category cannot be inside itself."]
    with pytest.raises(ValidationError) as exc:
        services.product_category_save(by=None, category=machines, values={"parent": grippers})
    assert _messages(exc, "parent") == [
        "Machines cannot go inside Machines / Robots / Grippers: that is one of its own "
        "subcategories, which would make a loop."
    ]
    machines.refresh_from_db()
    assert machines.parent is None
    # Moving a branch elsewhere is fine.
    services.product_category_save(by=None, category=grippers, values={"parent": machines})
    assert services.category_path(grippers) == "Machines / Grippers"


def test_category_names_are_unique_among_siblings() -> None:
    machines = _category("Machines")
    _category("Robots", machines)
    _category("Robots")  # another level: allowed
    with pytest.raises(ValidationError) as exc:
        _category("robots", machines)
    assert _messages(exc, "name") == ["There is already a category called robots in Machines."]
    with pytest.raises(ValidationError) as exc:
        _category("MACHINES")
    assert _messages(exc, "name") == [
        "There is already a category called MACHINES at the top level."
    ]


# --------------------------------------------------------------------------
# Payment terms


def test_payment_term_save_and_its_limits(captured: list[events.Event]) -> None:
    term = services.payment_term_save(
        by=None, values={"name": "30 % now, rest in 60", "upfront_percent": "30", "net_days": 60}
    )
    assert (term.upfront_percent, term.net_days) == (Decimal(30), 60)
    with pytest.raises(ValidationError) as exc:
        services.payment_term_save(
            by=None, values={"name": "Bad", "upfront_percent": "101", "net_days": -1}
        )
    assert exc.value.message_dict == {
        "upfront_percent": ["Enter a percentage from 0 to 100."],
        "net_days": ["Enter a number of days from 0 to 3,650."],
    }
    with pytest.raises(ValidationError) as exc:
        services.payment_term_save(by=None, values={"name": "30 % NOW, REST IN 60"})
    assert _messages(exc, "name") == [
        "There is already a payment term called 30 % NOW, REST IN 60."
    ]
    services.payment_term_save(by=None, term=term, values={"active": False})
    assert PaymentTerm.objects.get().active is False


# --------------------------------------------------------------------------
# Exchange rates


@override_settings(COMPANY_CURRENCY="EUR")
def test_exchange_rate_save_one_per_currency_per_day(
    captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        rate = services.exchange_rate_save(
            by=None, values={"currency": "usd", "valid_from": "2026-01-01", "rate": "1.0850"}
        )
    assert (rate.currency, rate.valid_from, rate.rate) == ("USD", D(2026, 1, 1), Decimal("1.085"))
    assert captured[0].name == "exchange_rate.saved"
    with pytest.raises(ValidationError) as exc:
        services.exchange_rate_save(
            by=None, values={"currency": "USD", "valid_from": D(2026, 1, 1), "rate": 2}
        )
    assert _messages(exc, "valid_from") == [
        "There is already a USD rate for 2026-01-01 (1.0850000000); change or delete that one "
        "instead."
    ]
    # Correcting the rate itself is allowed.
    services.exchange_rate_save(by=None, rate=rate, values={"rate": "1.09"})
    assert ExchangeRate.objects.get().rate == Decimal("1.09")


@override_settings(COMPANY_CURRENCY="EUR")
@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"currency": "EUR"},
            "currency",
            "EUR is the company currency: its rate is always 1, so it needs no entry.",
        ),
        (
            {"currency": "XXX"},
            "currency",
            "Choose a currency from the list (an ISO 4217 code such as EUR).",
        ),
        (
            {"rate": "0"},
            "rate",
            "Enter a rate greater than 0 (units of the currency for one unit of the company "
            "currency).",
        ),
        (
            {"rate": "-2"},
            "rate",
            "Enter a rate greater than 0 (units of the currency for one unit of the company "
            "currency).",
        ),
        (
            {"valid_from": "01/02/2026"},
            "valid_from",
            "Enter the date the rate applies from as a date (YYYY-MM-DD).",
        ),
        ({"valid_from": None}, "valid_from", "Enter the date the rate applies from."),
    ],
)
def test_exchange_rate_save_refuses_bad_values(
    values: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.exchange_rate_save(
            by=None, values={"currency": "USD", "valid_from": "2026-01-01", "rate": 1, **values}
        )
    assert _messages(exc, field) == [message]


def test_exchange_rate_delete(
    captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    rate = services.exchange_rate_save(
        by=None, values={"currency": "GBP", "valid_from": "2026-01-01", "rate": "0.85"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.exchange_rate_delete(by=None, rate=rate)
    assert not ExchangeRate.objects.exists()
    assert captured[-1].name == "exchange_rate.deleted"
    assert captured[-1].payload["valid_from"] == "2026-01-01"


# --------------------------------------------------------------------------
# Price lists and versions


def test_price_list_save_names_are_unique() -> None:
    retail = _list("Retail", "usd")
    assert retail.currency == "USD"
    with pytest.raises(ValidationError) as exc:
        _list("retail")
    assert _messages(exc, "name") == ["There is already a price list called retail."]
    with pytest.raises(ValidationError) as exc:
        services.price_list_save(by=None, values={"name": "B"})
    assert _messages(exc, "currency") == ["A price list needs a currency."]


def test_version_dates_must_be_in_order() -> None:
    retail = _list()
    with pytest.raises(ValidationError) as exc:
        _version(retail, valid_from="2026-06-01", valid_to="2026-05-31")
    assert _messages(exc, "valid_to") == [
        "The version cannot end (2026-05-31) before it starts (2026-06-01)."
    ]
    version = _version(retail, valid_from="2026-06-01", valid_to="2026-06-01")
    with pytest.raises(ValidationError) as exc:
        services.price_list_version_save(
            by=None, version=version, price_list=retail, values={"valid_from": "2026-07-01"}
        )
    assert _messages(exc, "valid_to") == [
        "The version cannot end (2026-06-01) before it starts (2026-07-01)."
    ]


def test_active_versions_of_a_list_may_not_overlap() -> None:
    retail = _list()
    _version(retail, "2026", valid_from=D(2026, 1, 1), valid_to=D(2026, 12, 31))
    with pytest.raises(ValidationError) as exc:
        _version(retail, "Summer", valid_from=D(2026, 6, 1), valid_to=D(2026, 8, 31))
    assert _messages(exc, "valid_from") == [
        "These dates overlap the active version 2026 (2026-01-01 to 2026-12-31). End one "
        "before the other starts, or make one inactive."
    ]
    with pytest.raises(ValidationError) as exc:
        _version(retail, "Open", valid_from=D(2026, 12, 31))
    assert "overlap the active version 2026" in _messages(exc, "valid_from")[0]
    # Next year, an inactive draft, or another list: all fine.
    _version(retail, "2027", valid_from=D(2027, 1, 1))
    _version(retail, "Draft", valid_from=D(2026, 6, 1), active=False)
    _version(_list("Wholesale"), "2026", valid_from=D(2026, 6, 1))
    # Activating the draft is refused the same way.
    draft = PriceListVersion.objects.get(name="Draft")
    with pytest.raises(ValidationError) as exc:
        services.price_list_version_save(
            by=None, version=draft, price_list=retail, values={"active": True}
        )
    assert "overlap the active version 2026" in _messages(exc, "valid_from")[0]


def test_an_undated_version_overlaps_every_other() -> None:
    retail = _list()
    _version(retail, "Base")
    with pytest.raises(ValidationError) as exc:
        _version(retail, "Later", valid_from=D(2030, 1, 1))
    assert _messages(exc, "valid_from") == [
        "These dates overlap the active version Base (always). End one before the other "
        "starts, or make one inactive."
    ]


def test_version_names_are_unique_in_their_list() -> None:
    retail = _list()
    _version(retail, "2026", valid_to=D(2026, 12, 31))
    with pytest.raises(ValidationError) as exc:
        _version(retail, "2026", valid_from=D(2027, 1, 1))
    assert _messages(exc, "name") == ["Retail already has a version called 2026."]


def test_version_delete_takes_its_rules(
    captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    version = _version(_list())
    services.price_rule_save(by=None, version=version, values={"discount_percent": 5})
    with django_capture_on_commit_callbacks(execute=True):
        services.price_list_version_delete(by=None, version=version)
    assert not PriceListVersion.objects.exists()
    assert not PriceRule.objects.exists()
    assert captured[-1].name == "price_list_version.deleted"


# --------------------------------------------------------------------------
# Price rules


def test_price_rules_go_last_by_default(
    captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    version = _version(_list())
    product = _product()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.price_rule_save(
            by=None, version=version, values={"product": product, "discount_percent": "10"}
        )
        second = services.price_rule_save(by=None, version=version, values={"surcharge": "-2"})
    assert (first.sequence, second.sequence) == (10, 20)
    assert [e.name for e in captured] == ["price_rule.saved", "price_rule.saved"]
    with django_capture_on_commit_callbacks(execute=True):
        services.price_rule_delete(by=None, rule=first)
    assert list(PriceRule.objects.values_list("pk", flat=True)) == [second.pk]
    assert captured[-1].name == "price_rule.deleted"


def test_a_rule_targets_a_product_or_a_category_not_both() -> None:
    version = _version(_list())
    with pytest.raises(ValidationError) as exc:
        services.price_rule_save(
            by=None, version=version, values={"product": _product(), "category": _category("A")}
        )
    assert _messages(exc, "category") == [
        "A rule applies to a product or to a category, not both: clear one of them "
        "(clear both to apply it to every product)."
    ]


def test_a_rule_based_on_another_list_needs_a_different_one() -> None:
    retail = _list("Retail")
    wholesale = _list("Wholesale")
    version = _version(retail)
    with pytest.raises(ValidationError) as exc:
        services.price_rule_save(by=None, version=version, values={"base": "pricelist"})
    assert _messages(exc, "base_price_list") == [
        "Choose the price list this rule's prices are based on."
    ]
    with pytest.raises(ValidationError) as exc:
        services.price_rule_save(
            by=None, version=version, values={"base": "pricelist", "base_price_list": retail}
        )
    assert _messages(exc, "base_price_list") == [
        "A rule of Retail cannot be based on Retail itself; choose another price list."
    ]
    rule = services.price_rule_save(
        by=None, version=version, values={"base": "pricelist", "base_price_list": wholesale}
    )
    assert rule.base_price_list == wholesale
    # Wholesale based on Retail would close a circle.
    with pytest.raises(ValidationError) as exc:
        services.price_rule_save(
            by=None,
            version=_version(wholesale),
            values={"base": "pricelist", "base_price_list": retail},
        )
    assert _messages(exc, "base_price_list") == [
        "Retail is already based on Wholesale, so Wholesale cannot be based on Retail: "
        "the prices would go round in a circle."
    ]
    # Switching the rule to the list price forgets the other list.
    services.price_rule_save(by=None, rule=rule, version=version, values={"base": "list"})
    rule.refresh_from_db()
    assert rule.base_price_list is None


def test_a_fixed_rule_needs_its_price() -> None:
    version = _version(_list())
    with pytest.raises(ValidationError) as exc:
        services.price_rule_save(by=None, version=version, values={"base": "fixed"})
    assert _messages(exc, "fixed_price") == ["Enter the fixed price."]
    rule = services.price_rule_save(
        by=None, version=version, values={"base": "fixed", "fixed_price": "9.90"}
    )
    assert rule.fixed_price == Decimal("9.90")
    services.price_rule_save(by=None, rule=rule, version=version, values={"base": "list"})
    rule.refresh_from_db()
    assert rule.fixed_price is None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"discount_percent": "100.01"},
            "discount_percent",
            "Enter a discount of at most 100 % (a negative discount is a markup, down to -1000 %).",
        ),
        ({"min_quantity": "-1"}, "min_quantity", "Enter a minimum quantity of 0 or more."),
        (
            {"fixed_price": "-1", "base": "fixed"},
            "fixed_price",
            "Enter a fixed price of 0 or more.",
        ),
        ({"sequence": "-5"}, "sequence", "Enter a whole number (0 or more)."),
        ({"base": "magic"}, "base", "Choose a base (list price, another list, or fixed)."),
        ({"product": "abc"}, "product", "Choose an existing product."),
    ],
)
def test_price_rule_save_refuses_bad_values(
    values: dict[str, Any], field: str, message: str
) -> None:
    version = _version(_list())
    with pytest.raises(ValidationError) as exc:
        services.price_rule_save(by=None, version=version, values=values)
    assert _messages(exc, field) == [message]


def test_a_rule_stays_in_its_version() -> None:
    retail = _list()
    version = _version(retail, "2026", valid_to=D(2026, 12, 31))
    other = _version(retail, "2027", valid_from=D(2027, 1, 1))
    rule = services.price_rule_save(by=None, version=version, values={})
    with pytest.raises(ValidationError) as exc:
        services.price_rule_save(by=None, rule=rule, version=other, values={})
    assert exc.value.messages == ["This rule belongs to another version."]


# --------------------------------------------------------------------------
# Partners' terms


@override_settings(COMPANY_CURRENCY="EUR")
def test_partner_terms_save_records_old_and_new_on_the_timeline(
    maria: User, captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    partner = PartnerFactory(name="Acme")
    retail = _list("Retail")
    net30 = services.payment_term_save(by=None, values={"name": "Net 30"})
    with django_capture_on_commit_callbacks(execute=True):
        terms = services.partner_terms_save(
            by=maria,
            partner=partner,
            values={"price_list": retail, "payment_term": net30.pk, "credit_limit": "5000"},
        )
    assert (terms.price_list, terms.payment_term, terms.credit_limit) == (
        retail,
        net30,
        Decimal(5000),
    )
    assert terms.updated_by == maria
    entry = TimelineEntry.objects.filter(partner=partner, action="terms_updated").get()
    assert entry.kind == TimelineEntry.Kind.FIELD_CHANGE
    assert entry.author == maria
    assert entry.changes == [
        {"label": "Price list", "old": "", "new": "Retail (EUR)"},
        {"label": "Payment term", "old": "", "new": "Net 30"},
        {"label": "Credit limit", "old": "", "new": "5,000.00 EUR"},
    ]
    assert [e.name for e in captured if e.name.startswith("partner.")] == ["partner.terms_updated"]

    services.partner_terms_save(
        by=maria, partner=partner, values={"credit_limit": None, "external_id": " C-1 "}
    )
    latest = TimelineEntry.objects.filter(action="terms_updated").order_by("-id").first()
    assert latest is not None
    assert latest.changes == [
        {"label": "Credit limit", "old": "5,000.00 EUR", "new": ""},
        {"label": "ERP id", "old": "", "new": "C-1"},
    ]
    assert PartnerTerms.objects.get().external_id == "C-1"


def test_partner_terms_save_without_a_change_writes_nothing(maria: User) -> None:
    partner = PartnerFactory()
    services.partner_terms_save(by=maria, partner=partner, values={"external_id": "A"})
    count = TimelineEntry.objects.count()
    services.partner_terms_save(by=maria, partner=partner, values={"external_id": "A"})
    assert TimelineEntry.objects.count() == count


def test_partner_terms_refuse_bad_values(maria: User) -> None:
    acme = PartnerFactory(name="Acme")
    other = PartnerFactory(name="Other")
    services.partner_terms_save(by=maria, partner=acme, values={"external_id": "C-1"})
    with pytest.raises(ValidationError) as exc:
        services.partner_terms_save(
            by=maria,
            partner=other,
            values={"external_id": "C-1", "credit_limit": "-1", "payment_term": 987_654},
        )
    assert exc.value.message_dict == {
        "external_id": ["Acme already has the ERP id C-1."],
        "credit_limit": ["Enter a credit limit of 0 or more."],
        "payment_term": ["Choose an existing payment term."],
    }
    assert not PartnerTerms.objects.filter(partner=other).exists()
    with pytest.raises(ValidationError) as exc:
        services.partner_terms_save(by=maria, partner=other, values={"discount": 5})
    assert exc.value.messages == ["Unknown commercial terms fields: discount."]
