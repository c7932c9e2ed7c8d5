"""The sales REST API: /api/sales/… and a partner's /terms/ and /balance/."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from goodwill.accounts.models import User
from goodwill.campaigns.models import Campaign
from goodwill.cases.models import Case, Section
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.sales import invoicing, orders, services
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import (
    ExchangeRate,
    Invoice,
    Order,
    PartnerTerms,
    Payment,
    PaymentTerm,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    ProductCategory,
)
from tests.api.conftest import api
from tests.api.test_partners import _json_schema
from tests.factories import CaseFactory, PartnerFactory, SectionFactory

# The API on its own: these tests do not depend on the pages' URLs.
urlpatterns = [path("api/", include("goodwill.api.urls"))]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

D = Decimal
TODAY = timezone.localdate


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR", is_customer=True)


@pytest.fixture
def supplier(db: None) -> Partner:
    return PartnerFactory(name="Parts Ltd", currency="EUR", is_supplier=True)


@pytest.fixture
def machines(db: None) -> ProductCategory:
    return ProductCategory.objects.create(name="Machines")


@pytest.fixture
def robot(machines: ProductCategory) -> Product:
    robots = ProductCategory.objects.create(name="Robots", parent=machines)
    return Product.objects.create(
        code="R1",
        name="Robot arm",
        category=robots,
        list_price=D(1000),
        cost=D(600),
        tax_rate=D(20),
    )


@pytest.fixture
def resellers(robot: Product) -> PriceList:
    """A price list with one version: 10 % off the robot arm, from 5 pieces 20 % off."""
    price_list = PriceList.objects.create(name="Resellers", currency="EUR")
    version = PriceListVersion.objects.create(price_list=price_list, name="2026")
    PriceRule.objects.create(
        version=version, sequence=5, product=robot, min_quantity=D(5), discount_percent=D(20)
    )
    PriceRule.objects.create(version=version, sequence=10, product=robot, discount_percent=D(10))
    return price_list


@pytest.fixture
def acme_terms(acme: Partner, resellers: PriceList) -> PartnerTerms:
    return services.partner_terms_save(by=None, partner=acme, values={"price_list": resellers})


@pytest.fixture
def private() -> Section:
    """A members-only section that bob is not a member of."""
    return SectionFactory(name="Board", code="BOARD", visibility=Section.Visibility.MEMBERS)


def errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content)
    return dict(response.json()["errors"])


def _order(partner: Partner, product: Product, *, state: str = "draft", **kwargs: Any) -> Order:
    order = orders.order_create(
        by=None, partner=partner, lines=[LineInput(product=product, quantity=D(2))], **kwargs
    )
    for action in {"draft": [], "sent": ["send"], "confirmed": ["confirm"]}[state]:
        order = orders.order_set_state(order=order, by=None, action=action)
    return order


def _invoice(
    partner: Partner,
    product: Product,
    *,
    post: bool = True,
    on: datetime.date | None = None,
    kind: str = Invoice.Kind.CUSTOMER_INVOICE,
    **kwargs: Any,
) -> Invoice:
    invoice = invoicing.invoice_create(
        by=None,
        kind=kind,
        partner=partner,
        lines=[LineInput(product=product, quantity=D(1), unit_price=D(100), tax_rate=D(0))],
        **kwargs,
    )
    return invoicing.invoice_post(invoice=invoice, by=None, on=on) if post else invoice


# --------------------------------------------------------------------------
# Who may do what


ENDPOINTS = [
    ("get", "/api/sales/products/"),
    ("post", "/api/sales/products/"),
    ("get", "/api/sales/products/{product}/"),
    ("patch", "/api/sales/products/{product}/"),
    ("get", "/api/sales/product-categories/"),
    ("get", "/api/sales/price-lists/"),
    ("get", "/api/sales/price-lists/{price_list}/"),
    ("get", "/api/sales/price/?product={product}"),
    ("get", "/api/sales/payment-terms/"),
    ("get", "/api/sales/exchange-rates/"),
    ("post", "/api/sales/exchange-rates/"),
    ("get", "/api/partners/{partner}/terms/"),
    ("patch", "/api/partners/{partner}/terms/"),
    ("get", "/api/partners/{partner}/balance/"),
    ("get", "/api/sales/orders/"),
    ("post", "/api/sales/orders/"),
    ("get", "/api/sales/orders/{order}/"),
    ("patch", "/api/sales/orders/{order}/"),
    ("post", "/api/sales/orders/{order}/state/"),
    ("post", "/api/sales/orders/{order}/invoice/"),
    ("get", "/api/sales/invoices/"),
    ("post", "/api/sales/invoices/"),
    ("get", "/api/sales/invoices/{invoice}/"),
    ("patch", "/api/sales/invoices/{invoice}/"),
    ("post", "/api/sales/invoices/{invoice}/post/"),
    ("post", "/api/sales/invoices/{invoice}/cancel/"),
    ("post", "/api/sales/invoices/{invoice}/credit-note/"),
    ("get", "/api/sales/payments/"),
    ("post", "/api/sales/payments/"),
    ("get", "/api/sales/payments/{payment}/"),
]


@pytest.fixture
def ids(acme: Partner, robot: Product, resellers: PriceList) -> dict[str, int]:
    invoice = _invoice(acme, robot)
    payment = Payment.objects.create(
        direction="in", partner=acme, amount=D(1), currency="EUR", payment_date=TODAY()
    )
    return {
        "product": robot.pk,
        "price_list": resellers.pk,
        "partner": acme.pk,
        "order": _order(acme, robot).pk,
        "invoice": invoice.pk,
        "payment": payment.pk,
    }


@pytest.mark.parametrize("persona", ["charlie", "paula", None])
def test_outsiders_are_refused_everywhere(
    request: pytest.FixtureRequest, persona: str | None, ids: dict[str, int]
) -> None:
    """Users without a role, portal users and anonymous requests get a 403 from every
    sales endpoint, and nothing changes."""
    client = api(request.getfixturevalue(persona) if persona else None)
    before = (Order.objects.count(), Invoice.objects.count(), Payment.objects.count())
    for method, url in ENDPOINTS:
        response = getattr(client, method)(url.format(**ids), {}, format="json")
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.json()["detail"]
    assert (Order.objects.count(), Invoice.objects.count(), Payment.objects.count()) == before


def test_unknown_ids_are_404(maria_api: APIClient, ids: dict[str, int]) -> None:
    """A manager asking for an id that does not exist gets a 404 on every detail and action."""
    missing = dict.fromkeys(ids, 999_999)
    for method, url in ENDPOINTS:
        if "{" not in url or "?" in url:
            continue
        response = getattr(maria_api, method)(url.format(**missing), {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)


AGENT_REFUSED = [
    ("post", "/api/sales/products/"),
    ("patch", "/api/sales/products/{product}/"),
    ("post", "/api/sales/exchange-rates/"),
    ("patch", "/api/partners/{partner}/terms/"),
    ("post", "/api/sales/orders/{order}/invoice/"),
    ("post", "/api/sales/invoices/"),
    ("patch", "/api/sales/invoices/{invoice}/"),
    ("post", "/api/sales/invoices/{invoice}/post/"),
    ("post", "/api/sales/invoices/{invoice}/cancel/"),
    ("post", "/api/sales/invoices/{invoice}/credit-note/"),
    ("post", "/api/sales/payments/"),
]


def test_agents_read_everything_and_change_only_orders(
    bob_api: APIClient, ids: dict[str, int]
) -> None:
    """An agent reads every sales endpoint, but master data, invoices and payments are
    for managers: those writes are a 403 even for an id that does not exist."""
    for method, url in ENDPOINTS:
        if method == "get":
            response = bob_api.get(url.format(**ids))
            assert response.status_code == 200, (url, response.content)
    for method, url in AGENT_REFUSED:
        for values in (ids, dict.fromkeys(ids, 999_999)):
            response = getattr(bob_api, method)(url.format(**values), {}, format="json")
            assert response.status_code == 403, (method, url, response.status_code)
    # Orders are theirs to change.
    response = bob_api.post(f"/api/sales/orders/{ids['order']}/state/", {"action": "send"})
    assert response.status_code == 200
    assert response.json()["state"] == "sent"


# --------------------------------------------------------------------------
# Products, categories, price lists, prices


def test_products_list_filters_and_searches(bob_api: APIClient, robot: Product) -> None:
    """The list holds active products by code; q, status, kind and category narrow it,
    and a category keeps its path."""
    Product.objects.create(code="SVC-1", name="Installation", kind="service", list_price=D(90))
    Product.objects.create(code="OLD", name="Old robot", active=False)

    def codes(**params: Any) -> list[str]:
        response = bob_api.get("/api/sales/products/", params)
        assert response.status_code == 200, response.content
        return [row["code"] for row in response.json()["results"]]

    assert codes() == ["R1", "SVC-1"]
    assert codes(q="robot") == ["R1"]
    assert codes(q="svc") == ["SVC-1"]
    assert codes(status="inactive") == ["OLD"]
    assert codes(status="all", q="robot") == ["OLD", "R1"]
    assert codes(kind="service") == ["SVC-1"]
    assert codes(category=robot.category_id) == ["R1"]
    row = bob_api.get("/api/sales/products/").json()["results"][0]
    assert row["category_path"] == "Machines / Robots"
    assert row["list_price"] == "1000.0000"
    assert row["tax_rate"] == "20.0000"
    assert errors(bob_api.get("/api/sales/products/", {"category": 999_999})) == {
        "category": ["No product category has id 999999."]
    }
    assert "status" in errors(bob_api.get("/api/sales/products/", {"status": "gone"}))


def test_products_are_paginated_with_cursors(bob_api: APIClient) -> None:
    """Following next walks every product once."""
    Product.objects.bulk_create(Product(code=f"P{i:03d}", name=f"Part {i}") for i in range(55))
    first = bob_api.get("/api/sales/products/").json()
    assert len(first["results"]) == 50
    second = bob_api.get(first["next"]).json()
    assert [row["code"] for row in second["results"]] == [f"P{i:03d}" for i in range(50, 55)]
    assert second["next"] is None
    assert bob_api.get("/api/sales/products/", {"cursor": "nonsense"}).status_code == 400


def test_managers_create_and_change_products(
    maria_api: APIClient, machines: ProductCategory
) -> None:
    """A product is created with its code upper-cased and changed key by key."""
    response = maria_api.post(
        "/api/sales/products/",
        {
            "code": "gr-200",
            "name": "Gripper",
            "category": machines.pk,
            "list_price": "249.90",
            "tax_rate": "20",
            "unit": "unit",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "GR-200"
    assert body["list_price"] == "249.9000"
    assert body["category_path"] == "Machines"
    assert response["Location"] == body["url"]

    response = maria_api.patch(
        f"/api/sales/products/{body['id']}/", {"active": False, "cost": "100"}, format="json"
    )
    assert response.status_code == 200
    product = Product.objects.get(pk=body["id"])
    assert (product.active, product.cost, product.name) == (False, D(100), "Gripper")


def test_product_input_is_checked(maria_api: APIClient, robot: Product) -> None:
    """Bad decimals, floats, unknown categories, unknown keys and taken codes are 400s
    that name the field; nothing is saved."""
    url = "/api/sales/products/"
    assert errors(maria_api.post(url, {"code": "X", "name": "X", "list_price": "abc"}))[
        "list_price"
    ] == ["A valid number is required."]
    assert errors(
        maria_api.post(url, {"code": "X", "name": "X", "list_price": 9.99}, format="json")
    )["list_price"] == ['Send decimals as strings, e.g. "12.50", so that no cent is lost.']
    assert "list_price" in errors(
        maria_api.post(url, {"code": "X", "name": "X", "list_price": "1.00001"}, format="json")
    )
    assert errors(maria_api.post(url, {"code": "X", "name": "X", "category": 999_999}))[
        "category"
    ] == ["No product category has id 999999."]
    assert errors(maria_api.post(url, {"code": "X", "name": "X", "colour": "red"}))["colour"] == [
        "Unknown field."
    ]
    assert errors(maria_api.post(url, {"name": "X"}))["code"]
    assert errors(maria_api.post(url, {"code": "r1", "name": "Copy"}, format="json"))["code"] == [
        "The code R1 already belongs to Robot arm."
    ]
    assert Product.objects.count() == 1


def test_product_categories_and_price_lists(bob_api: APIClient, resellers: PriceList) -> None:
    """Categories come with their paths; a price list with its versions and rules."""
    categories = bob_api.get("/api/sales/product-categories/").json()["results"]
    assert [c["path"] for c in categories] == ["Machines", "Machines / Robots"]
    assert categories[1]["parent"] == categories[0]["id"]

    lists = bob_api.get("/api/sales/price-lists/").json()["results"]
    assert [(p["name"], p["currency"]) for p in lists] == [("Resellers", "EUR")]
    detail = bob_api.get(lists[0]["url"]).json()
    assert [v["name"] for v in detail["versions"]] == ["2026"]
    rules = detail["versions"][0]["rules"]
    assert [(r["sequence"], r["min_quantity"], r["discount_percent"]) for r in rules] == [
        (5, "5.0000", "20.0000"),
        (10, "0.0000", "10.0000"),
    ]


def test_price_answers_from_the_partner_terms(
    bob_api: APIClient, acme: Partner, robot: Product, acme_terms: PartnerTerms
) -> None:
    """Without a partner the list price; with one, its price list's rule for the quantity."""
    plain = bob_api.get("/api/sales/price/", {"product": robot.pk}).json()
    assert plain["unit_price"] == "1000.00"
    assert plain["price_list"] is None
    assert plain["rule"] is None

    quote = bob_api.get("/api/sales/price/", {"product": robot.pk, "partner": acme.pk}).json()
    assert quote["unit_price"] == "900.00"
    assert quote["currency"] == "EUR"
    assert quote["price_list"]["name"] == "Resellers"
    assert quote["version"]["name"] == "2026"
    assert quote["rule"]["sequence"] == 10
    assert quote["quantity"] == "1.0000"

    bulk = bob_api.get(
        "/api/sales/price/", {"product": robot.pk, "partner": acme.pk, "quantity": "5"}
    ).json()
    assert bulk["unit_price"] == "800.00"


def test_price_refuses_what_cannot_be_priced(
    bob_api: APIClient, acme: Partner, robot: Product, resellers: PriceList
) -> None:
    """Unknown ids, a missing exchange rate and price lists in a cycle are clear 400s."""
    url = "/api/sales/price/"
    assert errors(bob_api.get(url))["product"] == ["This field is required."]
    assert errors(bob_api.get(url, {"product": 999_999}))["product"] == [
        "No product has id 999999."
    ]
    assert errors(bob_api.get(url, {"product": robot.pk, "partner": 999_999}))["partner"] == [
        "No partner has id 999999."
    ]
    assert "quantity" in errors(bob_api.get(url, {"product": robot.pk, "quantity": "many"}))

    dollars = PriceList.objects.create(name="US", currency="USD")
    response = bob_api.get(
        url, {"product": robot.pk, "price_list": dollars.pk, "date": "2026-01-05"}
    )
    assert errors(response) == {
        "non_field_errors": ["No exchange rate for USD on or before 2026-01-05."]
    }
    ExchangeRate.objects.create(currency="USD", valid_from=datetime.date(2026, 1, 1), rate=D("1.1"))
    response = bob_api.get(
        url, {"product": robot.pk, "price_list": dollars.pk, "date": "2026-01-05"}
    )
    assert response.json()["unit_price"] == "1100.00"

    # Two lists based on each other (the services refuse it; old data may hold it).
    other = PriceList.objects.create(name="Other", currency="EUR")
    for own, base in ((resellers, other), (other, resellers)):
        version = PriceListVersion.objects.create(
            price_list=own, name="Cycle", valid_from=datetime.date(2030, 1, 1)
        )
        PriceRule.objects.create(
            version=version, sequence=1, base="pricelist", base_price_list=base
        )
    response = bob_api.get(
        url, {"product": robot.pk, "price_list": resellers.pk, "date": "2030-02-01"}
    )
    assert errors(response)["non_field_errors"] == [
        "Price lists refer to each other in a cycle: Resellers → Other → Resellers."
    ]


# --------------------------------------------------------------------------
# Payment terms, exchange rates, partners' terms


def test_payment_terms_and_exchange_rates(maria_api: APIClient, bob_api: APIClient) -> None:
    """Terms are listed; a manager adds a rate, and a second one for the same day, or
    one for the company currency, is a 400."""
    PaymentTerm.objects.create(name="Net 30", net_days=30)
    PaymentTerm.objects.create(name="Old", net_days=60, active=False)
    terms = bob_api.get("/api/sales/payment-terms/").json()["results"]
    assert [(t["name"], t["net_days"], t["active"]) for t in terms] == [
        ("Net 30", 30, True),
        ("Old", 60, False),
    ]

    url = "/api/sales/exchange-rates/"
    body = {"currency": "USD", "valid_from": "2026-03-01", "rate": "1.0825"}
    response = maria_api.post(url, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["rate"] == "1.0825000000"
    assert "valid_from" in errors(maria_api.post(url, body, format="json"))
    assert "currency" in errors(maria_api.post(url, {**body, "currency": "EUR"}, format="json"))
    assert "rate" in errors(maria_api.post(url, {**body, "rate": "-1"}, format="json"))
    ExchangeRate.objects.create(
        currency="GBP", valid_from=datetime.date(2026, 1, 1), rate=D("0.85")
    )
    rates = bob_api.get(url).json()["results"]
    assert [(r["currency"], r["valid_from"]) for r in rates] == [
        ("USD", "2026-03-01"),
        ("GBP", "2026-01-01"),
    ]
    assert [r["currency"] for r in bob_api.get(url, {"currency": "GBP"}).json()["results"]] == [
        "GBP"
    ]


def test_partner_terms_are_read_and_changed(
    maria_api: APIClient, bob_api: APIClient, acme: Partner, resellers: PriceList
) -> None:
    """A partner without terms reads as nulls; a manager sets them through the service,
    which records the change on the partner's timeline."""
    url = f"/api/partners/{acme.pk}/terms/"
    empty = bob_api.get(url).json()
    assert empty["price_list"] is None
    assert empty["credit_limit"] is None
    assert empty["updated_at"] is None

    net30 = PaymentTerm.objects.create(name="Net 30", net_days=30)
    response = maria_api.patch(
        url,
        {
            "price_list": resellers.pk,
            "payment_term": net30.pk,
            "credit_limit": "5000",
            "external_id": "C-1",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["price_list"] == {"id": resellers.pk, "name": "Resellers"}
    assert body["payment_term"]["name"] == "Net 30"
    assert body["credit_limit"] == "5000.00"
    assert body["updated_by"]["username"] == "maria"
    entry = TimelineEntry.objects.filter(partner=acme, action="terms_updated").get()
    assert {c["label"] for c in entry.changes} == {
        "Price list",
        "Payment term",
        "Credit limit",
        "ERP id",
    }

    response = maria_api.patch(url, {"credit_limit": None}, format="json")
    assert response.json()["credit_limit"] is None
    assert response.json()["price_list"]["name"] == "Resellers"
    assert errors(maria_api.patch(url, {"price_list": 999_999}, format="json")) == {
        "price_list": ["No price list has id 999999."]
    }
    assert "credit_limit" in errors(maria_api.patch(url, {"credit_limit": "-5"}, format="json"))


# --------------------------------------------------------------------------
# Orders


def test_an_order_is_created_priced_from_the_partner_terms(
    bob_api: APIClient, acme: Partner, robot: Product, acme_terms: PartnerTerms
) -> None:
    """Lines without a price take the partner's price list, lines with one keep it, and
    the totals add up; the answer is the order with what the agent may do next."""
    response = bob_api.post(
        "/api/sales/orders/",
        {
            "partner": acme.pk,
            "order_date": "2026-03-01",
            "reference": "PO 77",
            "lines": [
                {"product": robot.pk, "quantity": "2"},
                {"description": "Installation", "quantity": "1", "unit_price": "150.50"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "SO/2026/00001"
    assert body["kind"] == "sale"
    assert body["state"] == "draft"
    assert body["currency"] == "EUR"
    assert body["price_list"]["name"] == "Resellers"
    assert [
        (line["unit_price"], line["subtotal"], line["tax_amount"]) for line in body["lines"]
    ] == [
        ("900.0000", "1800.00", "360.00"),
        ("150.5000", "150.50", "0.00"),
    ]
    assert (body["amount_untaxed"], body["amount_tax"], body["amount_total"]) == (
        "1950.50",
        "360.00",
        "2310.50",
    )
    assert body["allowed"] == {
        "change": True,
        "states": ["send", "confirm", "cancel"],
        "invoice": False,
    }
    assert response["Location"] == body["url"]
    assert Order.objects.get().created_by is not None


def test_order_input_is_checked(
    bob_api: APIClient, acme: Partner, robot: Product, private: Section
) -> None:
    """Unknown partners, products, campaigns and cases, cases out of sight, bad decimals
    and lines the service refuses are 400s naming the field; nothing is saved."""
    secret = CaseFactory(subject="Secret", section=private)
    url = "/api/sales/orders/"
    line = {"product": robot.pk, "quantity": "1"}

    def post(**body: Any) -> dict[str, Any]:
        return errors(
            bob_api.post(url, {"partner": acme.pk, "lines": [line], **body}, format="json")
        )

    assert post(partner=999_999)["partner"] == ["No partner has id 999999."]
    assert post(lines=[{"product": 999_999}])["lines"] == {
        "0": {"product": ["No product has id 999999."]}
    }
    assert post(lines=[{"product": robot.pk, "quantity": "two"}])["lines"] == {
        "0": {"quantity": ["A valid number is required."]}
    }
    assert post(lines=[{"product": robot.pk, "quantity": "0"}])["lines"] == {
        "0": {"quantity": ["The quantity must be more than zero."]}
    }
    assert post(lines=[line, {"description": "Extra", "quantity": "1"}])["lines"] == [
        "Line 2: give a price or pick a product."
    ]
    assert post(campaign=999_999)["campaign"] == ["No campaign has id 999999."]
    assert post(cases=[secret.pk])["cases"] == [f"No case has id {secret.pk}."]
    assert post(cases=[999_999])["cases"] == ["No case has id 999999."]
    assert post(valid_until="2020-01-01", order_date="2026-01-01")["valid_until"] == [
        "A quotation cannot expire before its date."
    ]
    assert post(kind="rental")["kind"]
    assert Order.objects.count() == 0


def test_orders_carry_campaign_and_cases(
    maria_api: APIClient,
    bob_api: APIClient,
    acme: Partner,
    robot: Product,
    private: Section,
) -> None:
    """The campaign and cases are set on creation and by PATCH; an agent sees only the
    cases in their sight, and replacing the list keeps the cases they cannot see."""
    spring = Campaign.objects.create(name="Spring", code="spring")
    public = CaseFactory(subject="Quote request")
    secret = CaseFactory(subject="Board deal", section=private)
    response = maria_api.post(
        "/api/sales/orders/",
        {
            "partner": acme.pk,
            "lines": [{"product": robot.pk}],
            "campaign": spring.pk,
            "cases": [public.pk, secret.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert response.json()["campaign"] == spring.pk
    assert sorted(response.json()["cases"]) == sorted([public.pk, secret.pk])
    assert set(order.cases.all()) == {public, secret}
    assert order.campaign == spring

    seen = bob_api.get(f"/api/sales/orders/{order.pk}/").json()
    assert seen["cases"] == [public.pk]
    listed = bob_api.get("/api/sales/orders/", {"campaign": spring.pk}).json()["results"]
    assert [row["cases"] for row in listed] == [[public.pk]]

    response = bob_api.patch(
        f"/api/sales/orders/{order.pk}/", {"cases": [], "campaign": None}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["cases"] == []
    assert response.json()["campaign"] is None
    assert list(order.cases.all()) == [secret]
    entry = TimelineEntry.objects.get(action="cases_updated")
    assert entry.changes == [{"label": "Cases", "old": f"#{public.number}", "new": ""}]
    assert TimelineEntry.objects.filter(action="updated", body__contains="Spring").exists()

    # Nothing changed, nothing recorded.
    bob_api.patch(f"/api/sales/orders/{order.pk}/", {"cases": []}, format="json")
    assert TimelineEntry.objects.filter(action="cases_updated").count() == 1


def test_orders_list_filters(
    bob_api: APIClient, acme: Partner, supplier: Partner, robot: Product
) -> None:
    """kind, state, partner, the date range and campaign narrow the list, newest first."""
    spring = Campaign.objects.create(name="Spring", code="spring")
    old = _order(acme, robot, order_date=datetime.date(2025, 6, 1))
    sent = _order(acme, robot, state="sent", order_date=datetime.date(2026, 2, 1))
    purchase = _order(supplier, robot, kind="purchase", order_date=datetime.date(2026, 2, 2))
    Order.objects.filter(pk=sent.pk).update(campaign=spring)

    def numbers(**params: Any) -> list[str]:
        response = bob_api.get("/api/sales/orders/", params)
        assert response.status_code == 200, response.content
        return [row["number"] for row in response.json()["results"]]

    assert numbers() == [purchase.number, sent.number, old.number]
    assert numbers(kind="purchase") == [purchase.number]
    assert numbers(state="sent") == [sent.number]
    assert numbers(partner=acme.pk) == [sent.number, old.number]
    assert numbers(date_from="2026-01-01") == [purchase.number, sent.number]
    assert numbers(date_to="2025-12-31") == [old.number]
    assert numbers(campaign=spring.pk) == [sent.number]
    assert errors(bob_api.get("/api/sales/orders/", {"date_from": "yesterday"}))["date_from"]
    assert errors(
        bob_api.get("/api/sales/orders/", {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    )["date_to"] == ["The range ends before it starts."]
    row = bob_api.get("/api/sales/orders/").json()["results"][0]
    assert row["partner"]["name"] == "Parts Ltd"
    assert row["amount_total"] == "1440.00"


def test_order_lines_are_replaced_while_draft_or_sent(
    bob_api: APIClient, acme: Partner, robot: Product
) -> None:
    """PATCH lines reprices a draft; a confirmed order's lines do not change."""
    order = _order(acme, robot)
    url = f"/api/sales/orders/{order.pk}/"
    response = bob_api.patch(
        url,
        {"lines": [{"product": robot.pk, "quantity": "3", "discount_percent": "10"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [line["quantity"] for line in response.json()["lines"]] == ["3.0000"]
    assert response.json()["amount_untaxed"] == "2700.00"
    assert errors(
        bob_api.patch(
            url, {"lines": [{"product": robot.pk, "discount_percent": "120"}]}, format="json"
        )
    )["lines"] == {"0": {"discount_percent": ["Ensure this value is less than or equal to 100."]}}
    assert errors(bob_api.patch(url, {"kind": "purchase"}, format="json")) == {
        "kind": ["Unknown field."]
    }
    changed = bob_api.patch(url, {"reference": "PO 9", "valid_until": None}, format="json")
    assert changed.json()["reference"] == "PO 9"

    orders.order_set_state(order=order, by=None, action="confirm")
    response = bob_api.patch(url, {"lines": [{"product": robot.pk}]}, format="json")
    assert errors(response)["non_field_errors"] == [
        f"{order.number} is confirmed; only a draft or sent quotation can change."
    ]
    assert response.json()["detail"] == errors(response)["non_field_errors"][0]
    assert Order.objects.get().amount_untaxed == D("2700")


def test_the_order_state_machine_through_the_api(
    bob_api: APIClient, maria_api: APIClient, acme: Partner, robot: Product
) -> None:
    """send → confirm, then a manager invoices it: a draft invoice, and the order is done.
    Moves the state does not allow are 400s that say why."""
    order = _order(acme, robot)
    url = f"/api/sales/orders/{order.pk}/state/"
    assert errors(bob_api.post(url, {"action": "done"}))["non_field_errors"] == [
        f"{order.number} is draft; it cannot be marked done from there."
    ]
    assert errors(bob_api.post(url, {"action": "explode"}))["action"]
    assert bob_api.post(url, {"action": "send"}).json()["state"] == "sent"
    confirmed = bob_api.post(url, {"action": "confirm"}).json()
    assert confirmed["state"] == "confirmed"
    assert confirmed["confirmed_at"] is not None
    assert confirmed["allowed"] == {"change": False, "states": ["done", "cancel"], "invoice": False}
    assert maria_api.get(f"/api/sales/orders/{order.pk}/").json()["allowed"]["invoice"] is True

    assert bob_api.post(f"/api/sales/orders/{order.pk}/invoice/").status_code == 403
    spring = Campaign.objects.create(name="Spring", code="spring")
    Order.objects.filter(pk=order.pk).update(campaign=spring)
    response = maria_api.post(f"/api/sales/orders/{order.pk}/invoice/")
    assert response.status_code == 201, response.content
    invoice = response.json()
    assert invoice["kind"] == "out_invoice"
    assert invoice["state"] == "draft"
    assert invoice["order"] == order.pk
    assert invoice["campaign"] == spring.pk
    assert invoice["amount_total"] == "2400.00"
    detail = bob_api.get(f"/api/sales/orders/{order.pk}/").json()
    assert detail["state"] == "done"
    assert [i["id"] for i in detail["invoices"]] == [invoice["id"]]
    assert [line["quantity_invoiced"] for line in detail["lines"]] == ["2.0000"]
    assert errors(maria_api.post(f"/api/sales/orders/{order.pk}/invoice/"))["non_field_errors"] == [
        f"Confirm {order.number} before invoicing it."
    ]
    assert errors(bob_api.post(url, {"action": "cancel"}))["non_field_errors"] == [
        f"{order.number} is done; it cannot be cancelled from there."
    ]


def test_confirming_needs_a_line_and_cancel_works(bob_api: APIClient, acme: Partner) -> None:
    """An order without lines cannot be confirmed; a draft can be cancelled."""
    response = bob_api.post("/api/sales/orders/", {"partner": acme.pk}, format="json")
    assert response.status_code == 201
    url = f"/api/sales/orders/{response.json()['id']}/state/"
    assert errors(bob_api.post(url, {"action": "confirm"}))["non_field_errors"] == [
        "Add at least one line before confirming."
    ]
    assert bob_api.post(url, {"action": "cancel"}).json()["state"] == "cancelled"


# --------------------------------------------------------------------------
# Invoices


def test_a_draft_invoice_is_created_changed_and_posted(
    maria_api: APIClient, acme: Partner, robot: Product
) -> None:
    """A manager drafts an invoice, changes its header and lines, and posts it: it gets
    its number and due date and no longer changes."""
    net30 = PaymentTerm.objects.create(name="Net 30", net_days=30)
    spring = Campaign.objects.create(name="Spring", code="spring")
    response = maria_api.post(
        "/api/sales/invoices/",
        {
            "partner": acme.pk,
            "lines": [{"product": robot.pk, "quantity": "1"}],
            "campaign": spring.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    draft = response.json()
    assert (draft["number"], draft["state"], draft["kind"]) == ("", "draft", "out_invoice")
    assert draft["amount_total"] == "1200.00"
    assert draft["campaign"] == spring.pk
    assert draft["allowed"] == {
        "change": True,
        "post": True,
        "cancel": True,
        "credit_note": False,
        "pay": False,
    }
    url = f"/api/sales/invoices/{draft['id']}/"
    response = maria_api.patch(
        url,
        {
            "invoice_date": "2026-04-01",
            "payment_term": net30.pk,
            "reference": "Order 55",
            "lines": [{"description": "Consulting", "quantity": "2.5", "unit_price": "80"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    changed = response.json()
    assert changed["reference"] == "Order 55"
    assert changed["payment_term"]["name"] == "Net 30"
    assert [line["description"] for line in changed["lines"]] == ["Consulting"]
    assert changed["amount_total"] == "200.00"

    posted = maria_api.post(f"{url}post/").json()
    assert posted["number"] == "INV/2026/00001"
    assert posted["state"] == "posted"
    assert posted["invoice_date"] == "2026-04-01"
    assert posted["due_date"] == "2026-05-01"
    assert posted["allowed"]["change"] is False
    assert posted["allowed"]["pay"] is True


def test_posted_invoices_do_not_change(maria_api: APIClient, acme: Partner, robot: Product) -> None:
    """A PATCH of a posted invoice, lines or not, and cancelling it, are 400s that say to
    correct it with a credit note; the invoice is unchanged."""
    invoice = _invoice(acme, robot)
    url = f"/api/sales/invoices/{invoice.pk}/"
    message = (
        f"{invoice.number} is posted: posted documents do not change; correct them with a "
        "credit note."
    )
    for body in (
        {"lines": [{"description": "More", "unit_price": "1"}]},
        {"reference": "x"},
        {"cases": []},
    ):
        response = maria_api.patch(url, body, format="json")
        assert response.status_code == 400
        assert response.json()["detail"] == message
    assert errors(maria_api.post(f"{url}cancel/"))["non_field_errors"] == [message]
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_total, invoice.reference) == ("posted", D(100), "")
    assert invoice.lines.count() == 1


def test_a_credit_note_corrects_a_posted_invoice(
    maria_api: APIClient, acme: Partner, robot: Product
) -> None:
    """credit-note drafts a credit note with the invoice's lines, pointing at it."""
    invoice = _invoice(acme, robot)
    response = maria_api.post(f"/api/sales/invoices/{invoice.pk}/credit-note/")
    assert response.status_code == 201, response.content
    refund = response.json()
    assert refund["kind"] == "out_refund"
    assert refund["origin"] == invoice.pk
    assert refund["amount_total"] == "100.00"
    assert refund["reference"] == invoice.number
    detail = maria_api.get(f"/api/sales/invoices/{invoice.pk}/").json()
    assert [r["id"] for r in detail["refunds"]] == [refund["id"]]
    assert errors(maria_api.post(f"/api/sales/invoices/{refund['id']}/credit-note/"))[
        "non_field_errors"
    ] == ["Only a posted invoice or bill can be credited."]
    cancelled = maria_api.post(f"/api/sales/invoices/{refund['id']}/cancel/").json()
    assert cancelled["state"] == "cancelled"


def test_invoices_list_filters(
    bob_api: APIClient, acme: Partner, supplier: Partner, robot: Product
) -> None:
    """kind, state, partner, the date range, overdue and campaign narrow the list."""
    today = TODAY()
    spring = Campaign.objects.create(name="Spring", code="spring")
    late = _invoice(acme, robot, on=today - datetime.timedelta(days=40))
    current = _invoice(acme, robot, on=today)
    draft = _invoice(acme, robot, post=False)
    bill = _invoice(supplier, robot, kind=Invoice.Kind.VENDOR_BILL, on=today)
    Invoice.objects.filter(pk=current.pk).update(campaign=spring)

    def found(**params: Any) -> list[int]:
        response = bob_api.get("/api/sales/invoices/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert found() == [bill.pk, draft.pk, current.pk, late.pk]
    assert found(kind="in_invoice") == [bill.pk]
    assert found(state="draft") == [draft.pk]
    assert found(partner=supplier.pk) == [bill.pk]
    assert found(overdue="true") == [late.pk]
    assert found(overdue="false") == [bill.pk, draft.pk, current.pk]
    assert found(date_to=str(today - datetime.timedelta(days=1))) == [late.pk]
    assert found(date_from=str(today), kind="out_invoice") == [current.pk]
    assert found(campaign=spring.pk) == [current.pk]
    rows = {row["id"]: row for row in bob_api.get("/api/sales/invoices/").json()["results"]}
    assert rows[late.pk]["overdue"] is True
    assert rows[current.pk]["overdue"] is False
    assert rows[late.pk]["amount_residual"] == "100.00"
    assert "overdue" in errors(bob_api.get("/api/sales/invoices/", {"overdue": "maybe"}))


def test_invoice_input_is_checked(maria_api: APIClient, acme: Partner, robot: Product) -> None:
    """Bad decimals, unknown products and line errors of the service are 400s."""
    url = "/api/sales/invoices/"
    assert errors(
        maria_api.post(
            url,
            {"partner": acme.pk, "lines": [{"product": robot.pk, "unit_price": "1,50"}]},
            format="json",
        )
    )["lines"] == {"0": {"unit_price": ["A valid number is required."]}}
    assert errors(
        maria_api.post(url, {"partner": acme.pk, "lines": [{"product": 999_999}]}, format="json")
    )["lines"] == {"0": {"product": ["No product has id 999999."]}}
    assert errors(maria_api.post(url, {"partner": acme.pk, "kind": "gift"}, format="json"))["kind"]
    assert errors(maria_api.post(url, {"partner": acme.pk, "currency": "XXX"}, format="json"))[
        "currency"
    ]
    assert Invoice.objects.count() == 0


# --------------------------------------------------------------------------
# Payments and balances


def test_a_payment_is_allocated_in_part_and_the_rest_is_credit(
    maria_api: APIClient, bob_api: APIClient, acme: Partner, robot: Product
) -> None:
    """A payment allocated to two invoices, one of them in part, leaves the remainder
    as credit on the partner."""
    first = _invoice(acme, robot)
    second = _invoice(acme, robot)
    response = maria_api.post(
        "/api/sales/payments/",
        {
            "direction": "in",
            "partner": acme.pk,
            "amount": "250.00",
            "currency": "EUR",
            "payment_date": "2026-05-02",
            "method": "card",
            "allocations": [
                {"invoice": first.pk, "amount": "100"},
                {"invoice": second.pk, "amount": "40.50"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    payment = response.json()
    assert (payment["amount"], payment["amount_allocated"], payment["amount_unallocated"]) == (
        "250.00",
        "140.50",
        "109.50",
    )
    assert [(a["invoice"]["id"], a["amount"]) for a in payment["allocations"]] == [
        (first.pk, "100.00"),
        (second.pk, "40.50"),
    ]
    assert bob_api.get(f"/api/sales/invoices/{first.pk}/").json()["state"] == "paid"
    partial = bob_api.get(f"/api/sales/invoices/{second.pk}/").json()
    assert (partial["state"], partial["amount_paid"], partial["amount_residual"]) == (
        "partial",
        "40.50",
        "59.50",
    )
    assert [a["amount"] for a in partial["allocations"]] == ["40.50"]
    listed = bob_api.get("/api/sales/payments/", {"partner": acme.pk}).json()["results"]
    assert [row["id"] for row in listed] == [payment["id"]]
    balance = bob_api.get(f"/api/partners/{acme.pk}/balance/").json()["balances"]
    assert [(b["currency"], b["receivable"], b["credit"], b["open_balance"]) for b in balance] == [
        ("EUR", "59.50", "109.50", "-50.00")
    ]


def test_payments_list_filters(bob_api: APIClient, acme: Partner, supplier: Partner) -> None:
    """direction, partner and the date range narrow the payments, newest first."""
    today = TODAY()
    week_ago = today - datetime.timedelta(days=7)

    def paid(direction: str, partner: Partner, day: datetime.date) -> int:
        return Payment.objects.create(
            direction=direction, partner=partner, amount=D(5), currency="EUR", payment_date=day
        ).pk

    received = paid("in", acme, today)
    older = paid("in", acme, week_ago)
    made = paid("out", supplier, today)

    def found(**params: Any) -> list[int]:
        response = bob_api.get("/api/sales/payments/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert found() == [made, older, received]
    assert found(direction="in") == [older, received]
    assert found(direction="out") == [made]
    assert found(partner=supplier.pk) == [made]
    assert found(date_to=str(week_ago)) == [older]
    assert found(direction="in", date_from=str(today)) == [received]
    assert "direction" in errors(bob_api.get("/api/sales/payments/", {"direction": "up"}))


def test_payments_without_allocations_settle_the_oldest_first(
    maria_api: APIClient, acme: Partner, robot: Product
) -> None:
    """Left out, allocations go to the oldest due invoices; [] keeps it all as credit."""
    old = _invoice(acme, robot, on=TODAY() - datetime.timedelta(days=10))
    new = _invoice(acme, robot)
    body = {
        "direction": "in",
        "partner": acme.pk,
        "amount": "150",
        "currency": "EUR",
        "payment_date": "2026-05-02",
    }
    response = maria_api.post("/api/sales/payments/", body, format="json")
    assert response.status_code == 201, response.content
    assert [(a["invoice"]["id"], a["amount"]) for a in response.json()["allocations"]] == [
        (old.pk, "100.00"),
        (new.pk, "50.00"),
    ]
    response = maria_api.post("/api/sales/payments/", {**body, "allocations": []}, format="json")
    assert response.json()["amount_unallocated"] == "150.00"
    assert response.json()["allocations"] == []


def test_payments_that_do_not_fit_are_refused(
    maria_api: APIClient, acme: Partner, supplier: Partner, robot: Product
) -> None:
    """Over-allocating an invoice or the payment, another partner's invoice, a draft,
    bad amounts and too many decimals are 400s, and nothing is saved."""
    invoice = _invoice(acme, robot)
    draft = _invoice(acme, robot, post=False)
    theirs = _invoice(supplier, robot)
    body = {
        "direction": "in",
        "partner": acme.pk,
        "amount": "150",
        "currency": "EUR",
        "payment_date": "2026-05-02",
    }
    url = "/api/sales/payments/"

    def refused(**changes: Any) -> dict[str, Any]:
        return errors(maria_api.post(url, {**body, **changes}, format="json"))

    assert refused(allocations=[{"invoice": invoice.pk, "amount": "120"}])["allocations"] == [
        f"{invoice.number} has 100.00 EUR left to pay; 120.00 EUR is too much."
    ]
    second = _invoice(acme, robot)
    assert refused(
        amount="150",
        allocations=[
            {"invoice": invoice.pk, "amount": "100"},
            {"invoice": second.pk, "amount": "60"},
        ],
    )["allocations"] == [
        "The allocations add up to 160.00 EUR, more than the payment (150.00 EUR)."
    ]
    assert refused(allocations=[{"invoice": theirs.pk, "amount": "10"}])["allocations"] == [
        f"{theirs.number} is not an open customer invoice of Acme in EUR."
    ]
    assert refused(allocations=[{"invoice": draft.pk, "amount": "10"}])["allocations"]
    assert refused(allocations=[{"invoice": 999_999, "amount": "10"}])["allocations"] == {
        "0": {"invoice": ["No invoice has id 999999."]}
    }
    assert refused(amount="0")["amount"] == ["The amount must be more than zero."]
    assert refused(amount="abc")["amount"] == ["A valid number is required."]
    assert refused(amount="10.005")["amount"] == ["10.005 has more decimals than EUR allows."]
    assert refused(direction="sideways")["direction"]
    assert Payment.objects.count() == 0
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_paid) == ("posted", D(0))


def test_the_balance_shows_aging_and_the_sales_summary(
    bob_api: APIClient, acme: Partner, robot: Product
) -> None:
    """Open invoices land in their aging bucket; the summary shows turnover, first and
    last sale and the latest documents."""
    today = TODAY()
    _invoice(acme, robot, on=today - datetime.timedelta(days=100))
    _invoice(acme, robot, on=today - datetime.timedelta(days=45))
    _invoice(acme, robot, on=today)
    _order(acme, robot)
    body = bob_api.get(f"/api/partners/{acme.pk}/balance/").json()
    assert body["partner"]["name"] == "Acme"
    assert body["date"] == str(today)
    [balance] = body["balances"]
    assert balance["receivable"] == "300.00"
    assert balance["overdue"] == "200.00"
    assert balance["aging"] == {
        "not_due": "100.00",
        "days_0_30": "0.00",
        "days_31_60": "100.00",
        "days_61_90": "0.00",
        "days_90_plus": "100.00",
    }
    sales = body["sales"]
    assert (sales["currency"], sales["turnover_12_months"], sales["lifetime_value"]) == (
        "EUR",
        "300.00",
        "300.00",
    )
    assert sales["first_sale"] == str(today - datetime.timedelta(days=100))
    assert sales["last_sale"] == str(today)
    assert len(sales["invoices"]) == 3
    assert [o["kind"] for o in sales["orders"]] == ["sale"]


# --------------------------------------------------------------------------
# Query counts


def _rows(kind: str, n: int, acme: Partner, robot: Product) -> None:
    for _ in range(n):
        if kind == "orders":
            order = _order(acme, robot)
            order.cases.add(CaseFactory())
        elif kind == "invoices":
            _invoice(acme, robot).cases.add(CaseFactory())
        elif kind == "payments":
            Payment.objects.create(
                direction="in", partner=acme, amount=D(5), currency="EUR", payment_date=TODAY()
            )
        else:
            Product.objects.create(
                code=f"Q{Product.objects.count()}", name="Part", category=robot.category
            )


@pytest.mark.parametrize("persona", ["maria", "bob"])
@pytest.mark.parametrize("kind", ["orders", "invoices", "payments", "products"])
def test_lists_keep_a_flat_number_of_queries(
    request: pytest.FixtureRequest,
    django_assert_num_queries: Any,
    persona: str,
    kind: str,
    acme: Partner,
    robot: Product,
) -> None:
    """A list of 1 row and a list of 6 rows (each with a case) take the same queries."""
    user = request.getfixturevalue(persona)
    url = f"/api/sales/{kind}/"

    def count() -> tuple[int, int]:
        client = api(User.objects.get(pk=user.pk))  # no permission cache carried over
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries), len(response.json()["results"])

    _rows(kind, 1 if kind != "products" else 0, acme, robot)
    few, one_row = count()
    assert one_row == 1
    _rows(kind, 5, acme, robot)
    many, six_rows = count()
    assert six_rows == 6
    assert many == few
    client = api(User.objects.get(pk=user.pk))
    with django_assert_num_queries(few):
        client.get(url)


# --------------------------------------------------------------------------
# The schema


SALES_PATHS = {
    "/api/sales/products/",
    "/api/sales/products/{id}/",
    "/api/sales/product-categories/",
    "/api/sales/price-lists/",
    "/api/sales/price-lists/{id}/",
    "/api/sales/price/",
    "/api/sales/payment-terms/",
    "/api/sales/exchange-rates/",
    "/api/partners/{id}/terms/",
    "/api/partners/{id}/balance/",
    "/api/sales/orders/",
    "/api/sales/orders/{id}/",
    "/api/sales/orders/{id}/state/",
    "/api/sales/orders/{id}/invoice/",
    "/api/sales/invoices/",
    "/api/sales/invoices/{id}/",
    "/api/sales/invoices/{id}/post/",
    "/api/sales/invoices/{id}/cancel/",
    "/api/sales/invoices/{id}/credit-note/",
    "/api/sales/payments/",
    "/api/sales/payments/{id}/",
}


def test_the_schema_lists_the_sales_endpoints_without_warnings(alice: User) -> None:
    """The schema is valid OpenAPI with every sales endpoint, generated without warnings."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        generated = SchemaGenerator().get_schema(request=None, public=True)
    complaints = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    assert not complaints, complaints
    assert set(generated["paths"]) >= SALES_PATHS
    validate_schema(generated)
    assert set(generated["paths"]["/api/sales/invoices/{id}/"]) == {"get", "patch"}


def test_sales_responses_match_the_schema(
    alice_api: APIClient,
    bob_api: APIClient,
    acme: Partner,
    robot: Product,
    acme_terms: PartnerTerms,
) -> None:
    """What the sales endpoints return, errors included, is what the schema says."""
    schema = alice_api.get("/api/schema/", {"format": "json"}).json()
    components = {"components": _json_schema(schema["components"])}
    order = _order(acme, robot, state="confirmed")
    invoice = _invoice(acme, robot)
    line = [{"product": robot.pk, "quantity": "1"}]
    calls = [
        (bob_api, "get", "/api/sales/products/", "/api/sales/products/", None),
        (bob_api, "get", "/api/sales/products/{id}/", f"/api/sales/products/{robot.pk}/", None),
        (bob_api, "get", "/api/sales/product-categories/", "/api/sales/product-categories/", None),
        (bob_api, "get", "/api/sales/price-lists/", "/api/sales/price-lists/", None),
        (
            bob_api,
            "get",
            "/api/sales/price-lists/{id}/",
            f"/api/sales/price-lists/{acme_terms.price_list_id}/",
            None,
        ),
        (
            bob_api,
            "get",
            "/api/sales/price/",
            f"/api/sales/price/?product={robot.pk}&partner={acme.pk}",
            None,
        ),
        (bob_api, "get", "/api/sales/price/", "/api/sales/price/", None),
        (bob_api, "get", "/api/sales/payment-terms/", "/api/sales/payment-terms/", None),
        (bob_api, "get", "/api/sales/exchange-rates/", "/api/sales/exchange-rates/", None),
        (bob_api, "get", "/api/partners/{id}/terms/", f"/api/partners/{acme.pk}/terms/", None),
        (bob_api, "get", "/api/partners/{id}/balance/", f"/api/partners/{acme.pk}/balance/", None),
        (bob_api, "get", "/api/sales/orders/", "/api/sales/orders/", None),
        (
            bob_api,
            "post",
            "/api/sales/orders/",
            "/api/sales/orders/",
            {"partner": acme.pk, "lines": line},
        ),
        (bob_api, "get", "/api/sales/orders/{id}/", f"/api/sales/orders/{order.pk}/", None),
        (
            alice_api,
            "post",
            "/api/sales/orders/{id}/invoice/",
            f"/api/sales/orders/{order.pk}/invoice/",
            None,
        ),
        (bob_api, "get", "/api/sales/invoices/", "/api/sales/invoices/", None),
        (bob_api, "get", "/api/sales/invoices/{id}/", f"/api/sales/invoices/{invoice.pk}/", None),
        (
            alice_api,
            "patch",
            "/api/sales/invoices/{id}/",
            f"/api/sales/invoices/{invoice.pk}/",
            {"notes": "x"},
        ),
        (
            bob_api,
            "post",
            "/api/sales/invoices/{id}/post/",
            f"/api/sales/invoices/{invoice.pk}/post/",
            None,
        ),
        (bob_api, "get", "/api/sales/invoices/{id}/", "/api/sales/invoices/999999/", None),
        (
            alice_api,
            "post",
            "/api/sales/payments/",
            "/api/sales/payments/",
            {
                "direction": "in",
                "partner": acme.pk,
                "amount": "10",
                "currency": "EUR",
                "payment_date": "2026-01-01",
            },
        ),
        (bob_api, "get", "/api/sales/payments/", "/api/sales/payments/", None),
    ]
    seen = set()
    for client, method, route, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        status = str(response.status_code)
        documented = schema["paths"][route][method]["responses"]
        assert status in documented, (method, url, status)
        expected = documented[status]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft7Validator({**components, **_json_schema(expected)})
        problems = [error.message for error in validator.iter_errors(response.json())]
        assert not problems, (method, url, problems)
        seen.add(status)
    assert seen == {"200", "201", "400", "403", "404"}
    assert Case.objects.count() == 0


def test_confirming_over_the_credit_limit_through_the_api(
    maria_api: APIClient, bob_api: APIClient, acme: Partner, robot: Product
) -> None:
    from goodwill.sales.models import PartnerTerms

    PartnerTerms.objects.create(partner=acme, credit_limit=D(100))
    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    url = f"/api/sales/orders/{order.pk}/state/"
    refused = maria_api.post(url, {"action": "confirm"})
    assert refused.status_code == 400
    assert "credit limit" in str(refused.json())
    assert bob_api.post(url, {"action": "confirm", "over_credit_limit": True}).status_code == 403
    order.refresh_from_db()
    assert order.state == "draft"
    accepted = maria_api.post(url, {"action": "confirm", "over_credit_limit": True})
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "confirmed"
