"""The sales pages: managers change master data, agents read it, outsiders are refused."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from goodwill.partners.models import Partner, TimelineEntry
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

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "versions"}


def _product(code: str, **values: Any) -> Product:
    return services.product_save(by=None, values={"code": code, "name": f"Item {code}", **values})


def _list(name: str = "Retail") -> PriceList:
    return services.price_list_save(by=None, values={"name": name, "currency": "EUR"})


def _version(price_list: PriceList, name: str = "2026", **values: Any) -> PriceListVersion:
    return services.price_list_version_save(
        by=None, price_list=price_list, values={"name": name, **values}
    )


@pytest.fixture
def data() -> dict[str, Any]:
    category = services.product_category_save(by=None, values={"name": "Machines"})
    product = _product("GR-200", category=category, list_price="120")
    retail = _list()
    version = _version(retail, valid_from=datetime.date(2026, 1, 1))
    rule = services.price_rule_save(
        by=None, version=version, values={"product": product, "discount_percent": "5"}
    )
    term = services.payment_term_save(by=None, values={"name": "Net 30"})
    rate = services.exchange_rate_save(
        by=None, values={"currency": "USD", "valid_from": "2026-01-01", "rate": "1.08"}
    )
    return {
        "category": category,
        "product": product,
        "price_list": retail,
        "version": version,
        "rule": rule,
        "term": term,
        "rate": rate,
        "partner": PartnerFactory(name="Acme"),
    }


def _pages(data: dict[str, Any]) -> list[str]:
    """Every read page of the sales app."""
    return [
        reverse("sales:product_list"),
        reverse("sales:category_list"),
        reverse("sales:payment_term_list"),
        reverse("sales:rate_list"),
        reverse("sales:price_list_list"),
        reverse("sales:price_list_detail", args=[data["price_list"].pk]),
        reverse("sales:partner_terms", args=[data["partner"].pk]),
        reverse("sales:autocomplete") + "?q=gr",
    ]


def _edit_pages(data: dict[str, Any]) -> list[str]:
    """Every page that changes something (GET shows a form or a confirmation)."""
    return [
        reverse("sales:product_create"),
        reverse("sales:product_edit", args=[data["product"].pk]),
        reverse("sales:category_create"),
        reverse("sales:category_edit", args=[data["category"].pk]),
        reverse("sales:payment_term_create"),
        reverse("sales:payment_term_edit", args=[data["term"].pk]),
        reverse("sales:rate_delete", args=[data["rate"].pk]),
        reverse("sales:price_list_create"),
        reverse("sales:price_list_edit", args=[data["price_list"].pk]),
        reverse("sales:version_edit", args=[data["version"].pk]),
        reverse("sales:version_delete", args=[data["version"].pk]),
        reverse("sales:rule_add", args=[data["version"].pk]),
        reverse("sales:rule_edit", args=[data["rule"].pk]),
        reverse("sales:rule_delete", args=[data["rule"].pk]),
        reverse("sales:partner_terms_edit", args=[data["partner"].pk]),
    ]


def _post_only(data: dict[str, Any]) -> list[str]:
    return [
        reverse("sales:rate_add"),
        reverse("sales:version_add", args=[data["price_list"].pk]),
    ]


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (
            Product,
            ProductCategory,
            PaymentTerm,
            ExchangeRate,
            PriceList,
            PriceListVersion,
            PriceRule,
            PartnerTerms,
        )
    )


# --------------------------------------------------------------------------
# Who gets in


def test_managers_reach_every_page(maria_client: Client, data: dict[str, Any]) -> None:
    for url in _pages(data) + _edit_pages(data):
        assert maria_client.get(url).status_code == 200, url


def test_agents_read_but_cannot_change(bob_client: Client, data: dict[str, Any]) -> None:
    """Bob sees the lists and the price list page, without any edit link; every page
    or post that changes something is a 403, and nothing changes."""
    for url in _pages(data):
        response = bob_client.get(url)
        assert response.status_code == 200, url
        assert b"/edit/" not in response.content, url
        assert b"New product" not in response.content
    before = _counts()
    for url in _edit_pages(data):
        assert bob_client.get(url).status_code == 403, url
        assert bob_client.post(url, {"name": "X"}).status_code == 403, url
    for url in _post_only(data):
        assert bob_client.post(url, {"version-name": "X"}).status_code == 403, url
    assert _counts() == before


@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused(
    persona: str, request: pytest.FixtureRequest, data: dict[str, Any]
) -> None:
    client: Client = request.getfixturevalue(f"{persona}_client")
    before = _counts()
    for url in _pages(data) + _edit_pages(data):
        assert client.get(url).status_code == 403, url
    for url in _edit_pages(data) + _post_only(data):
        assert client.post(url, {"name": "X"}).status_code == 403, url
    assert _counts() == before


def test_anonymous_visitors_must_log_in(data: dict[str, Any]) -> None:
    client = Client()
    for url in _pages(data) + _edit_pages(data):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_the_sidebar_offers_sales_to_staff(bob_client: Client, charlie_client: Client) -> None:
    page = bob_client.get(reverse("partners:list")).content.decode()
    assert '<div class="section">Sales</div>' in page
    for name in ("product_list", "price_list_list", "payment_term_list", "rate_list"):
        assert reverse(f"sales:{name}") in page


# --------------------------------------------------------------------------
# Products


def test_product_list_searches_and_filters(bob_client: Client, data: dict[str, Any]) -> None:
    _product("AB-1", kind="service", name="Assembly hour")
    _product("OLD-1", active=False)
    url = reverse("sales:product_list")
    assert b"GR-200" in bob_client.get(url, {"q": "gr"}).content
    page = bob_client.get(url, {"q": "assembly"}).content
    assert b"AB-1" in page
    assert b"GR-200" not in page
    page = bob_client.get(url, {"kind": "service"}).content
    assert b"AB-1" in page
    assert b"GR-200" not in page
    page = bob_client.get(url, {"category": data["category"].pk}).content
    assert b"GR-200" in page
    assert b"AB-1" not in page
    assert b"OLD-1" not in bob_client.get(url).content
    assert b"OLD-1" in bob_client.get(url, {"status": "inactive"}).content
    page = bob_client.get(url, {"q": "nothing-like-it"}).content
    assert b"No product matches these filters." in page
    # The htmx search answers only the results.
    fragment = bob_client.get(
        url, {"q": "gr"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="product-results"
    )
    assert b"<html" not in fragment.content
    assert b"GR-200" in fragment.content


def test_product_list_pages_by_keyset(bob_client: Client) -> None:
    for n in range(55):
        _product(f"P-{n:03d}")
    url = reverse("sales:product_list")
    first = bob_client.get(url)
    assert first.context["page"].items[-1].code == "P-049"
    cursor = first.context["page"].next_cursor
    second = bob_client.get(url, {"cursor": cursor})
    assert [p.code for p in second.context["page"].items] == [f"P-{n:03d}" for n in range(50, 55)]
    bad = bob_client.get(url, {"cursor": "not-a-cursor"})
    assert bad.status_code == 302


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_product_list_queries_do_not_grow_with_products(bob_client: Client) -> None:
    category = services.product_category_save(by=None, values={"name": "Tools"})
    for n in range(3):
        _product(f"A-{n}", category=category)
    url = reverse("sales:product_list")
    few = _queries(bob_client, url)
    for n in range(3, 30):
        _product(f"A-{n}", category=category)
    assert _queries(bob_client, url) == few


def test_price_list_page_queries_do_not_grow_with_rules(bob_client: Client) -> None:
    retail = _list()
    other = _list("Wholesale")
    version = _version(retail)
    category = services.product_category_save(by=None, values={"name": "Tools"})
    for n in range(3):
        services.price_rule_save(
            by=None,
            version=version,
            values={"product": _product(f"A-{n}"), "base": "pricelist", "base_price_list": other},
        )
    url = reverse("sales:price_list_detail", args=[retail.pk])
    few = _queries(bob_client, url)
    for n in range(3, 30):
        services.price_rule_save(
            by=None,
            version=version,
            values={"category": category} if n % 2 else {"product": _product(f"A-{n}")},
        )
    assert _queries(bob_client, url) == few


def test_manager_creates_and_edits_a_product(maria_client: Client, data: dict[str, Any]) -> None:
    url = reverse("sales:product_create")
    form = {
        "code": "ab 12",
        "name": "Arm",
        "kind": "product",
        "category": data["category"].pk,
        "unit": "unit",
        "list_price": "99.5",
        "cost": "40",
        "tax_rate": "20",
        "active": "on",
    }
    response = maria_client.post(url, form)
    assert response.status_code == 302
    product = Product.objects.get(code="AB12")
    assert product.list_price == Decimal("99.5")
    # Errors come back next to their fields.
    response = maria_client.post(url, {**form, "code": "AB12", "list_price": "-3"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["code"] == ["The code AB12 already belongs to Arm."]
    assert errors["list_price"] == ["Enter a list price of 0 or more."]
    edit = reverse("sales:product_edit", args=[product.pk])
    assert maria_client.get(edit).context["form"].initial["code"] == "AB12"
    response = maria_client.post(edit, {**form, "code": "AB12", "name": "Arm 2"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "Arm 2"


def test_product_autocomplete(bob_client: Client, data: dict[str, Any]) -> None:
    response = bob_client.get(reverse("sales:autocomplete"), {"q": "gr-"})
    assert response.json() == {
        "results": [{"value": data["product"].pk, "text": "[GR-200] Item GR-200", "where": ""}]
    }
    assert bob_client.get(reverse("sales:autocomplete")).json() == {"results": []}


# --------------------------------------------------------------------------
# Categories, payment terms and rates


def test_category_pages(maria_client: Client, data: dict[str, Any]) -> None:
    response = maria_client.post(
        reverse("sales:category_create"), {"name": "Robots", "parent": data["category"].pk}
    )
    assert response.status_code == 302
    robots = ProductCategory.objects.get(name="Robots")
    page = maria_client.get(reverse("sales:category_list")).content.decode()
    assert "Machines / Robots" in page
    # Moving Machines inside Robots would make a loop.
    response = maria_client.post(
        reverse("sales:category_edit", args=[data["category"].pk]),
        {"name": "Machines", "parent": robots.pk},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["parent"] == [
        "Machines cannot go inside Machines / Robots: that is one of its own subcategories, "
        "which would make a loop."
    ]
    # A category is not offered as its own parent.
    form = maria_client.get(reverse("sales:category_edit", args=[robots.pk])).context["form"]
    assert robots.pk not in [pk for pk, _ in form.fields["parent"].choices]


def test_payment_term_pages(maria_client: Client, data: dict[str, Any]) -> None:
    response = maria_client.post(
        reverse("sales:payment_term_create"),
        {"name": "Half now", "upfront_percent": "50", "net_days": "30", "active": "on"},
    )
    assert response.status_code == 302
    assert PaymentTerm.objects.filter(name="Half now", upfront_percent=50).exists()
    response = maria_client.post(
        reverse("sales:payment_term_edit", args=[data["term"].pk]),
        {"name": "Net 30", "upfront_percent": "150", "net_days": "30"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["upfront_percent"] == [
        "Enter a percentage from 0 to 100."
    ]
    assert b"Half now" in maria_client.get(reverse("sales:payment_term_list")).content


def test_rate_pages(maria_client: Client, data: dict[str, Any], settings: Any) -> None:
    settings.COMPANY_CURRENCY = "EUR"
    add = reverse("sales:rate_add")
    response = maria_client.post(
        add, {"currency": "USD", "valid_from": "2026-02-01", "rate": "1.1"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:rate_list") + "?currency=USD"
    response = maria_client.post(add, {"currency": "USD", "valid_from": "2026-02-01", "rate": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors["valid_from"] == [
        "There is already a USD rate for 2026-02-01 (1.1000000000); change or delete that "
        "one instead."
    ]
    page = maria_client.get(reverse("sales:rate_list"), {"currency": "USD"})
    assert [r.valid_from.isoformat() for r in page.context["page"].items] == [
        "2026-02-01",
        "2026-01-01",
    ]
    # The company currency is not offered.
    assert "EUR" not in dict(page.context["form"].fields["currency"].choices)
    delete = reverse("sales:rate_delete", args=[data["rate"].pk])
    assert b"Delete the USD rate of 2026-01-01?" in maria_client.get(delete).content
    assert maria_client.post(delete).status_code == 302
    assert not ExchangeRate.objects.filter(pk=data["rate"].pk).exists()


def test_rate_list_is_empty_without_rates(bob_client: Client) -> None:
    page = bob_client.get(reverse("sales:rate_list")).content
    assert b"No exchange rates yet." in page
    assert b"Add a rate" not in page


# --------------------------------------------------------------------------
# Price lists, versions and rules


def test_manager_creates_a_price_list(maria_client: Client) -> None:
    response = maria_client.post(
        reverse("sales:price_list_create"), {"name": "Export", "currency": "USD", "active": "on"}
    )
    price_list = PriceList.objects.get(name="Export")
    assert response["Location"] == reverse("sales:price_list_detail", args=[price_list.pk])
    page = maria_client.get(response["Location"]).content.decode()
    assert "No versions yet." in page
    assert "Add a version" in page
    response = maria_client.post(
        reverse("sales:price_list_edit", args=[price_list.pk]),
        {"name": "Export", "currency": "GBP", "active": ""},
    )
    price_list.refresh_from_db()
    assert (price_list.currency, price_list.active) == ("GBP", False)


def test_price_list_page_shows_versions_and_rules_in_order(
    bob_client: Client, data: dict[str, Any]
) -> None:
    services.price_rule_save(
        by=None,
        version=data["version"],
        values={"category": data["category"], "min_quantity": "10", "surcharge": "2"},
    )
    services.price_rule_save(
        by=None, version=data["version"], values={"sequence": 5, "base": "fixed", "fixed_price": 7}
    )
    page = bob_client.get(
        reverse("sales:price_list_detail", args=[data["price_list"].pk])
    ).content.decode()
    assert "2026-01-01 to no end" in page
    fixed = page.index("All products")
    product = page.index("[GR-200] Item GR-200")
    category = page.index("Machines (and subcategories), from 10")
    assert fixed < product < category
    assert "7.00 EUR" in page
    assert "List price − 5 %" in page
    assert "List price + 2.00" in page
    assert "Add a rule" not in page
    assert "Add a version" not in page


def test_versions_are_added_and_edited_in_place(maria_client: Client, data: dict[str, Any]) -> None:
    add = reverse("sales:version_add", args=[data["price_list"].pk])
    response = maria_client.post(
        add, {"version-name": "Promo", "version-valid_from": "2026-06-01"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="panel" id="versions"')
    assert (
        "These dates overlap the active version 2026 (2026-01-01 to no end). End one before "
        "the other starts, or make one inactive." in html
    )
    response = maria_client.post(
        add,
        {
            "version-name": "Promo",
            "version-valid_from": "2025-06-01",
            "version-valid_to": "2025-12-31",
        },
        **HTMX,
    )
    assert "The version Promo was added." in response.content.decode()
    promo = PriceListVersion.objects.get(name="Promo")

    edit = reverse("sales:version_edit", args=[promo.pk])
    form = maria_client.get(edit, **HTMX).content.decode()
    assert "Edit the version Promo" in form
    response = maria_client.post(
        edit,
        {
            "edit-version-name": "Promo",
            "edit-version-valid_from": "2025-12-31",
            "edit-version-valid_to": "2025-06-01",
            "edit-version-active": "on",
        },
        **HTMX,
    )
    assert (
        "The version cannot end (2025-06-01) before it starts (2025-12-31)."
        in response.content.decode()
    )
    response = maria_client.post(
        edit,
        {
            "edit-version-name": "Promo 25",
            "edit-version-valid_from": "2025-06-01",
            "edit-version-valid_to": "2025-12-31",
        },
    )
    assert response.status_code == 302
    promo.refresh_from_db()
    assert (promo.name, promo.active) == ("Promo 25", False)

    delete = reverse("sales:version_delete", args=[promo.pk])
    assert b"Its 0 rules will be deleted with it." in maria_client.get(delete).content
    response = maria_client.post(delete, **HTMX)
    assert "The version Promo 25 was deleted." in response.content.decode()
    assert not PriceListVersion.objects.filter(pk=promo.pk).exists()


def test_rules_are_added_edited_and_deleted_in_place(
    maria_client: Client, data: dict[str, Any]
) -> None:
    version = data["version"]
    add = reverse("sales:rule_add", args=[version.pk])
    form = maria_client.get(add, **HTMX).content.decode()
    assert "Add a rule" in form
    assert 'name="rule-product"' in form
    fields = {
        "rule-min_quantity": "0",
        "rule-base": "pricelist",
        "rule-discount_percent": "0",
        "rule-surcharge": "0",
    }
    response = maria_client.post(add, fields, **HTMX)
    assert (
        "Choose the price list this rule&#x27;s prices are based on." in response.content.decode()
    )
    other = _list("Wholesale")
    response = maria_client.post(
        add,
        {**fields, "rule-base_price_list": other.pk, "rule-category": data["category"].pk},
        **HTMX,
    )
    assert "A rule was added to 2026." in response.content.decode()
    rule = PriceRule.objects.get(base_price_list=other)
    assert (rule.sequence, rule.category) == (20, data["category"])

    edit = reverse("sales:rule_edit", args=[rule.pk])
    assert "Edit the rule" in maria_client.get(edit, **HTMX).content.decode()
    response = maria_client.post(
        edit,
        {**fields, "rule-base": "fixed", "rule-fixed_price": "", "rule-sequence": "1"},
        **HTMX,
    )
    assert "Enter the fixed price." in response.content.decode()
    response = maria_client.post(
        edit,
        {**fields, "rule-base": "fixed", "rule-fixed_price": "12.5", "rule-sequence": "1"},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.sequence, rule.base, rule.fixed_price, rule.category) == (
        1,
        "fixed",
        Decimal("12.5"),
        None,
    )

    delete = reverse("sales:rule_delete", args=[rule.pk])
    response = maria_client.post(delete, **HTMX)
    assert "The rule 1 was deleted." in response.content.decode()
    assert list(PriceRule.objects.values_list("pk", flat=True)) == [data["rule"].pk]


def test_rule_add_refuses_a_product_and_a_category(
    maria_client: Client, data: dict[str, Any]
) -> None:
    response = maria_client.post(
        reverse("sales:rule_add", args=[data["version"].pk]),
        {
            "rule-product": data["product"].pk,
            "rule-category": data["category"].pk,
            "rule-min_quantity": "0",
            "rule-base": "list",
            "rule-discount_percent": "0",
            "rule-surcharge": "0",
        },
    )
    assert response.status_code == 400
    assert response.context["rule_form"].errors["category"] == [
        "A rule applies to a product or to a category, not both: clear one of them "
        "(clear both to apply it to every product)."
    ]


# --------------------------------------------------------------------------
# The partner page's panel


def test_partner_page_loads_the_terms_panel(bob_client: Client, data: dict[str, Any]) -> None:
    partner: Partner = data["partner"]
    page = bob_client.get(reverse("partners:detail", args=[partner.pk])).content.decode()
    assert reverse("sales:partner_terms", args=[partner.pk]) in page
    assert "Commercial terms" in page
    panel = bob_client.get(reverse("sales:partner_terms", args=[partner.pk])).content.decode()
    assert "No commercial terms" in panel
    assert "Edit" not in panel


def test_manager_edits_the_terms_and_the_timeline_records_it(
    maria_client: Client, data: dict[str, Any], settings: Any
) -> None:
    settings.COMPANY_CURRENCY = "EUR"
    partner: Partner = data["partner"]
    panel_url = reverse("sales:partner_terms", args=[partner.pk])
    edit = reverse("sales:partner_terms_edit", args=[partner.pk])
    assert edit in maria_client.get(panel_url).content.decode()
    response = maria_client.post(
        edit,
        {
            "price_list": data["price_list"].pk,
            "payment_term": data["term"].pk,
            "credit_limit": "2500",
            "external_id": "ERP-9",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:detail", args=[partner.pk])

    panel = maria_client.get(panel_url).content.decode()
    assert "Retail (EUR)" in panel
    assert "Net 30" in panel
    assert "2,500.00 EUR" in panel
    assert "ERP-9" in panel

    page = maria_client.get(reverse("partners:detail", args=[partner.pk])).content.decode()
    assert "terms updated" in page
    assert "Credit limit" in page
    assert "2,500.00 EUR" in page
    entry = TimelineEntry.objects.get(partner=partner, action="terms_updated")
    assert entry.author is not None
    assert entry.author.username == "maria"


def test_terms_form_shows_the_services_errors(maria_client: Client, data: dict[str, Any]) -> None:
    other = PartnerFactory(name="Globex")
    services.partner_terms_save(by=None, partner=other, values={"external_id": "ERP-1"})
    response = maria_client.post(
        reverse("sales:partner_terms_edit", args=[data["partner"].pk]),
        {"external_id": "ERP-1", "credit_limit": "-5"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["external_id"] == ["Globex already has the ERP id ERP-1."]
    assert errors["credit_limit"] == ["Enter a credit limit of 0 or more."]


# --------------------------------------------------------------------------
# The admin


def test_admin_lists_and_saves_through_the_services(
    alice_client: Client, data: dict[str, Any]
) -> None:
    """Administrators see every sales model in the admin; a save runs the service's
    checks (errors next to the fields) and its normalisation."""
    for model in (
        "product",
        "productcategory",
        "paymentterm",
        "exchangerate",
        "pricelist",
        "pricelistversion",
        "pricerule",
        "partnerterms",
    ):
        assert alice_client.get(f"/admin/sales/{model}/").status_code == 200, model
    form = {
        "code": "gr-200",
        "name": "Copy",
        "kind": "product",
        "unit": "unit",
        "list_price": "1",
        "cost": "0",
        "tax_rate": "0",
        "active": "on",
    }
    response = alice_client.post("/admin/sales/product/add/", form)
    assert response.status_code == 200
    assert "The code GR-200 already belongs to Item GR-200." in response.content.decode()
    response = alice_client.post("/admin/sales/product/add/", {**form, "code": "new 1"})
    assert response.status_code == 302
    assert Product.objects.filter(code="NEW1").exists()
    version = data["version"]
    response = alice_client.post(
        "/admin/sales/pricelistversion/add/",
        {
            "price_list": data["price_list"].pk,
            "name": "Overlap",
            "active": "on",
            "valid_from": "2026-03-01",
            "rules-TOTAL_FORMS": "0",
            "rules-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert f"overlap the active version {version.name}" in response.content.decode()
    assert alice_client.get("/admin/sales/partnerterms/add/").status_code == 403


def test_pages_answer_only_get_and_post(maria_client: Client) -> None:
    """Other methods are refused (405), never treated as a page view."""
    for url in ("/sales/products/new/", "/sales/payment-terms/new/", "/sales/price-lists/new/"):
        assert maria_client.put(url).status_code == 405, url
        assert maria_client.get(url).status_code == 200, url
