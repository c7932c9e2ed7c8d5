"""The REST API of shipments, campaigns, statements of account, the work
recorded on cases, the documents made from a case, and invoicing closed
requests."""

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
from goodwill.cases import services as case_services
from goodwill.cases.models import Case, Section
from goodwill.partners.models import Partner
from goodwill.sales import casework, invoicing, orders, payments, shipments
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import (
    Invoice,
    Order,
    OrderLine,
    Product,
    RequestInvoicing,
    Shipment,
    WorkRecord,
)
from tests.api.conftest import api
from tests.api.test_partners import _json_schema
from tests.factories import CaseFactory, PartnerFactory, SectionFactory

# The API on its own: these tests do not depend on the pages' URLs.
urlpatterns = [path("api/", include("goodwill.api.urls"))]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

D = Decimal
TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR", is_customer=True)


@pytest.fixture
def parts(db: None) -> Partner:
    return PartnerFactory(name="Parts Ltd", currency="EUR", is_supplier=True)


@pytest.fixture
def robot(db: None) -> Product:
    return Product.objects.create(
        code="R1", name="Robot arm", list_price=D(1000), cost=D(600), tax_rate=D(20)
    )


@pytest.fixture
def hour(db: None) -> Product:
    return Product.objects.create(
        code="SUP-H",
        name="Support hour",
        kind=Product.Kind.SERVICE,
        unit=Product.Unit.HOUR,
        list_price=D(80),
        cost=D(30),
        tax_rate=D(20),
    )


@pytest.fixture
def section(bob: User) -> Section:
    return SectionFactory(name="Field service", responsible=bob)


@pytest.fixture
def private() -> Section:
    """A members-only section that bob is not a member of."""
    return SectionFactory(name="Board", code="BOARD", visibility=Section.Visibility.MEMBERS)


@pytest.fixture
def spring(db: None) -> Campaign:
    return Campaign.objects.create(
        name="Spring fair", code="spring", channel="event", actual_cost=D(100)
    )


def errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content)
    return dict(response.json()["errors"])


def _order(partner: Partner, product: Product, *, kind: str = "sale", quantity: int = 3) -> Order:
    order = orders.order_create(
        by=None,
        partner=partner,
        kind=kind,
        lines=[LineInput(product=product, quantity=D(quantity))],
    )
    return orders.order_set_state(order=order, by=None, action="confirm")


def _shipment(partner: Partner, product: Product, **kwargs: Any) -> Shipment:
    kind = "purchase" if partner.is_supplier else "sale"
    return shipments.shipment_create_from_order(
        order=_order(partner, product, kind=kind), by=None, **kwargs
    )


def _case(section: Section, partner: Partner | None, **values: Any) -> Case:
    return CaseFactory(section=section, partner=partner, type="service", **values)


def _closed_with_work(section: Section, partner: Partner, hour: Product, by: User) -> Case:
    case = _case(section, partner, state="open")
    casework.work_record_add(case=case, by=by, quantity=D(2), product=hour)
    return case_services.case_set_state(case=case, by=None, action="close")


# --------------------------------------------------------------------------
# Who may do what


ENDPOINTS = [
    ("get", "/api/sales/shipments/"),
    ("get", "/api/sales/shipments/{shipment}/"),
    ("patch", "/api/sales/shipments/{shipment}/"),
    ("post", "/api/sales/shipments/{shipment}/state/"),
    ("post", "/api/sales/orders/{order}/shipments/"),
    ("get", "/api/partners/{partner}/on-time/"),
    ("get", "/api/partners/{partner}/statement/"),
    ("get", "/api/campaigns/"),
    ("post", "/api/campaigns/"),
    ("get", "/api/campaigns/{campaign}/"),
    ("patch", "/api/campaigns/{campaign}/"),
    ("delete", "/api/campaigns/{campaign}/"),
    ("get", "/api/cases/{case}/work/"),
    ("post", "/api/cases/{case}/work/"),
    ("get", "/api/sales/work/{record}/"),
    ("patch", "/api/sales/work/{record}/"),
    ("delete", "/api/sales/work/{record}/"),
    ("post", "/api/cases/{case}/quotation/"),
    ("post", "/api/cases/{case}/invoice/"),
    ("post", "/api/cases/{case}/purchase-order/"),
    ("post", "/api/cases/{case}/expense-bill/"),
    ("post", "/api/sales/invoices/from-requests/"),
    ("get", "/api/sales/invoices/from-requests/{run}/"),
]


@pytest.fixture
def ids(
    acme: Partner, robot: Product, hour: Product, section: Section, spring: Campaign, maria: User
) -> dict[str, int]:
    case = _case(section, acme)
    record = casework.work_record_add(case=case, by=None, quantity=D(1), product=hour)
    run = casework.request_invoicing_start(by=maria, date_from=TODAY, date_to=TODAY)
    return {
        "shipment": _shipment(acme, robot).pk,
        "order": _order(acme, robot).pk,
        "partner": acme.pk,
        "campaign": spring.pk,
        "case": case.number,
        "record": record.pk,
        "run": run.pk,
    }


def _counts() -> tuple[int, ...]:
    return (
        Shipment.objects.count(),
        Campaign.objects.count(),
        WorkRecord.objects.count(),
        Order.objects.count(),
        Invoice.objects.count(),
        RequestInvoicing.objects.count(),
    )


@pytest.mark.parametrize("persona", ["charlie", "paula", None])
def test_outsiders_are_refused_everywhere(
    request: pytest.FixtureRequest, persona: str | None, ids: dict[str, int]
) -> None:
    """Users without a role, portal users and anonymous requests get a 403 from every
    endpoint, and nothing changes."""
    client = api(request.getfixturevalue(persona) if persona else None)
    before = _counts()
    for method, url in ENDPOINTS:
        response = getattr(client, method)(url.format(**ids), {}, format="json")
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.json()["detail"]
    assert _counts() == before


def test_unknown_ids_are_404(maria_api: APIClient, ids: dict[str, int]) -> None:
    """A manager naming an id or case number that does not exist gets a 404 everywhere."""
    missing = dict.fromkeys(ids, 999_999)
    for method, url in ENDPOINTS:
        if "{" not in url:
            continue
        response = getattr(maria_api, method)(url.format(**missing), {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)


AGENT_REFUSED = [
    ("post", "/api/campaigns/"),
    ("patch", "/api/campaigns/{campaign}/"),
    ("delete", "/api/campaigns/{campaign}/"),
    ("post", "/api/cases/{case}/invoice/"),
    ("post", "/api/cases/{case}/expense-bill/"),
    ("post", "/api/sales/invoices/from-requests/"),
    ("get", "/api/sales/invoices/from-requests/{run}/"),
]


def test_agents_read_and_work_but_campaigns_and_billing_are_for_managers(
    bob_api: APIClient, ids: dict[str, int]
) -> None:
    """An agent reads shipments, campaigns, statements and work records; changing
    campaigns, invoicing a case, billing an expense claim and invoicing closed requests
    are a 403 even for an id that does not exist."""
    for method, url in ENDPOINTS:
        if method == "get" and "from-requests" not in url:
            response = bob_api.get(url.format(**ids))
            assert response.status_code == 200, (url, response.content)
    before = _counts()
    for method, url in AGENT_REFUSED:
        for values in (ids, dict.fromkeys(ids, 999_999)):
            response = getattr(bob_api, method)(url.format(**values), {}, format="json")
            assert response.status_code == 403, (method, url, response.status_code)
    assert _counts() == before
    # Quotations and shipments are theirs to make.
    response = bob_api.post(f"/api/cases/{ids['case']}/quotation/")
    assert response.status_code == 201, response.content
    response = bob_api.post(f"/api/sales/orders/{ids['order']}/shipments/")
    assert response.status_code == 201, response.content


def test_a_case_the_agent_cannot_see_is_not_found(
    bob_api: APIClient, maria_api: APIClient, private: Section, acme: Partner, hour: Product
) -> None:
    """Its work, its records and the documents made from it are a 404 for the agent,
    exactly like a case that does not exist; the manager sees them."""
    case = _case(private, acme)
    record = casework.work_record_add(case=case, by=None, quantity=D(1), product=hour)
    for method, url in [
        ("get", "/api/cases/{case}/work/"),
        ("post", "/api/cases/{case}/work/"),
        ("get", "/api/sales/work/{record}/"),
        ("patch", "/api/sales/work/{record}/"),
        ("delete", "/api/sales/work/{record}/"),
        ("post", "/api/cases/{case}/quotation/"),
        ("post", "/api/cases/{case}/purchase-order/"),
    ]:
        send = getattr(bob_api, method)
        response = send(url.format(case=case.number, record=record.pk), {"quantity": "1"})
        assert response.status_code == 404, (method, url, response.status_code)
        unknown = send(url.format(case=999_999, record=999_999), {"quantity": "1"})
        assert response.json() == unknown.json(), (method, url)
        expected = "No such record." if "{record}" in url else "No such case."
        assert response.json()["detail"] == expected, (method, url)
    assert WorkRecord.objects.count() == 1
    assert not Order.objects.exists()
    assert maria_api.get(f"/api/cases/{case.number}/work/").status_code == 200


# --------------------------------------------------------------------------
# Shipments


def test_shipments_list_filters(
    bob_api: APIClient, acme: Partner, parts: Partner, robot: Product
) -> None:
    """kind, state, partner, order and late narrow the list, newest first."""
    late_delivery = _shipment(acme, robot, promised_date=days(-3))
    receipt = _shipment(parts, robot, promised_date=days(5))
    shipments.shipment_set_state(shipment=receipt, by=None, action="ready")

    def numbers(**params: Any) -> list[str]:
        response = bob_api.get("/api/sales/shipments/", params)
        assert response.status_code == 200, response.content
        return [row["number"] for row in response.json()["results"]]

    assert numbers() == [receipt.number, late_delivery.number]
    assert numbers(kind="delivery") == [late_delivery.number]
    assert numbers(state="ready") == [receipt.number]
    assert numbers(partner=parts.pk) == [receipt.number]
    assert numbers(order=late_delivery.order_id) == [late_delivery.number]
    assert numbers(late="true") == [late_delivery.number]
    assert numbers(late="false") == [receipt.number]
    row = bob_api.get("/api/sales/shipments/", {"kind": "receipt"}).json()["results"][0]
    assert row["kind"] == "receipt"
    assert row["partner"]["name"] == "Parts Ltd"
    assert row["order"]["kind"] == "purchase"
    assert row["promised_date"] == str(days(5))
    assert (row["late"], row["on_time"]) == (False, None)
    assert "state" in errors(bob_api.get("/api/sales/shipments/", {"state": "lost"}))
    assert "late" in errors(bob_api.get("/api/sales/shipments/", {"late": "maybe"}))
    assert "cursor" in errors(bob_api.get("/api/sales/shipments/", {"cursor": "nonsense"}))


def test_shipping_an_order_and_its_state_machine(
    bob_api: APIClient, acme: Partner, robot: Product
) -> None:
    """A delivery is drafted from a confirmed order (201), changed, marked ready and done,
    which counts the goods on the order; a done shipment cannot be cancelled."""
    order = _order(acme, robot, quantity=3)
    url = f"/api/sales/orders/{order.pk}/shipments/"
    response = bob_api.post(url, {"promised_date": str(days(2))})
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["url"]
    assert (body["kind"], body["state"], body["promised_date"]) == (
        "delivery",
        "draft",
        str(days(2)),
    )
    line = body["lines"][0]
    assert (line["quantity"], line["ordered"], line["delivered"]) == ("3.0000", "3.0000", "0.0000")
    assert body["allowed"] == {"change": True, "states": ["ready", "done", "cancel"]}
    # Everything left is on the open shipment now.
    assert "already on an open shipment" in bob_api.post(url).json()["detail"]

    detail = body["url"]
    changed = bob_api.patch(
        detail,
        {
            "carrier": "DHL",
            "tracking_reference": "  JD 0001 ",
            "lines": [{"id": line["id"], "quantity": "2"}],
        },
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["carrier"], changed.json()["tracking_reference"]) == ("DHL", "JD 0001")
    assert changed.json()["lines"][0]["quantity"] == "2.0000"

    state = f"{detail}state/"
    ready = bob_api.post(state, {"action": "ready"})
    assert ready.json()["state"] == "ready"
    assert ready.json()["allowed"]["states"] == ["done", "cancel"]
    assert (
        bob_api.post(state, {"action": "ready"})
        .json()["detail"]
        .endswith("is ready; it cannot be marked ready from there.")
    )
    assert errors(bob_api.post(state, {"action": "done", "actual_date": str(days(1))})) == {
        "actual_date": ["The actual date cannot be in the future."]
    }
    done = bob_api.post(state, {"action": "done", "actual_date": str(days(0))})
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["actual_date"], done.json()["on_time"]) == (
        "done",
        str(TODAY),
        True,
    )
    assert done.json()["allowed"] == {"change": False, "states": []}
    assert done.json()["lines"][0]["delivered"] == "2.0000"
    assert OrderLine.objects.get(order=order).quantity_delivered == D(2)
    assert (
        "cannot be cancelled"
        in errors(bob_api.post(state, {"action": "cancel"}))["non_field_errors"][0]
    )
    assert (
        "only a draft or ready shipment can change"
        in bob_api.patch(detail, {"carrier": "UPS"}).json()["detail"]
    )
    # What is left goes on a second delivery.
    second = bob_api.post(url).json()
    assert second["lines"][0]["quantity"] == "1.0000"


def test_shipment_input_is_checked(bob_api: APIClient, acme: Partner, robot: Product) -> None:
    """Unknown keys, negative or excessive quantities, lines of another shipment, an actual
    date on another action and an unknown action are 400s; nothing changes."""
    shipment = _shipment(acme, robot)
    line = shipment.lines.get()
    url = f"/api/sales/shipments/{shipment.pk}/"
    assert errors(bob_api.patch(url, {"colour": "red"})) == {"colour": ["Unknown field."]}
    assert errors(bob_api.patch(url, {"lines": [{"id": line.pk, "quantity": "-1"}]})) == {
        "lines": {"0": {"quantity": ["The quantity cannot be negative."]}}
    }
    assert errors(bob_api.patch(url, {"lines": [{"id": line.pk, "quantity": 1.5}]}))["lines"]
    assert errors(bob_api.patch(url, {"lines": [{"id": line.pk, "quantity": "4"}]})) == {
        f"quantity_{line.pk}": ["Robot arm: only 3 left to ship; 4 is too much."]
    }
    assert (
        "is not on"
        in bob_api.patch(url, {"lines": [{"id": 999_999, "quantity": "1"}]}).json()["detail"]
    )
    twice = [{"id": line.pk, "quantity": "1"}, {"id": line.pk, "quantity": "2"}]
    assert errors(bob_api.patch(url, {"lines": twice})) == {
        "lines": [f"Line {line.pk} is named twice."]
    }
    assert errors(bob_api.post(f"{url}state/", {"action": "ready", "actual_date": str(TODAY)})) == {
        "actual_date": ["Only marking a shipment done takes an actual date."]
    }
    assert "action" in errors(bob_api.post(f"{url}state/", {"action": "lose"}))
    line.refresh_from_db()
    shipment.refresh_from_db()
    assert (line.quantity, shipment.state) == (D(3), "draft")
    draft = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    response = bob_api.post(f"/api/sales/orders/{draft.pk}/shipments/")
    assert "confirm it before you deliver it" in errors(response)["non_field_errors"][0]
    assert errors(
        bob_api.post(f"/api/sales/orders/{draft.pk}/shipments/", {"promised_date": "soon"})
    )["promised_date"]
    assert Shipment.objects.count() == 1


def test_on_time_delivery_of_a_supplier(bob_api: APIClient, parts: Partner, robot: Product) -> None:
    """Done receipts with a promised date are judged: on time, late, rate, days late."""
    for promised, actual in ((-10, -10), (-10, -8), (-10, -6)):
        receipt = _shipment(parts, robot, promised_date=days(promised))
        shipments.shipment_set_state(
            shipment=receipt, by=None, action="done", actual_date=days(actual)
        )
    url = f"/api/partners/{parts.pk}/on-time/"
    body = bob_api.get(url).json()
    assert body["partner"]["id"] == parts.pk
    assert (body["receipts"], body["on_time"], body["late"]) == (3, 1, 2)
    assert (body["rate"], body["average_days_late"], body["since"]) == ("33.3", "3.0", None)
    recent = bob_api.get(url, {"since": str(days(-7))}).json()
    assert (recent["receipts"], recent["rate"]) == (1, "0.0")
    nobody = bob_api.get(f"/api/partners/{PartnerFactory().pk}/on-time/").json()
    assert (nobody["receipts"], nobody["rate"], nobody["average_days_late"]) == (0, None, None)
    assert "since" in errors(bob_api.get(url, {"since": "yesterday"}))


# --------------------------------------------------------------------------
# Campaigns


def test_campaign_list_filters(bob_api: APIClient, spring: Campaign) -> None:
    """Active campaigns by name; q, channel, status and running narrow the list."""
    Campaign.objects.create(
        name="Autumn mailing", code="autumn", channel="email", start_date=days(-5), end_date=days(5)
    )
    Campaign.objects.create(name="Old fair", code="fair-2020", channel="event", active=False)

    def codes(**params: Any) -> list[str]:
        response = bob_api.get("/api/campaigns/", params)
        assert response.status_code == 200, response.content
        return [row["code"] for row in response.json()["results"]]

    assert codes() == ["autumn", "spring"]
    assert codes(q="spr") == ["spring"]
    assert codes(q="mailing") == ["autumn"]
    assert codes(channel="event") == ["spring"]
    assert codes(status="inactive") == ["fair-2020"]
    assert codes(status="all", channel="event") == ["fair-2020", "spring"]
    assert codes(running="true") == ["autumn"]
    row = bob_api.get("/api/campaigns/", {"q": "autumn"}).json()["results"][0]
    assert (row["running"], row["budget"], row["currency"]) == (True, "0.00", "EUR")
    assert "channel" in errors(bob_api.get("/api/campaigns/", {"channel": "radio"}))


def test_campaign_detail_shows_its_revenue(
    bob_api: APIClient, spring: Campaign, acme: Partner, robot: Product, section: Section
) -> None:
    """Revenue is the net invoiced of the documents that carry it, against its costs."""
    invoice = _posted(acme, "250", on=TODAY, campaign=spring)
    _case(section, acme, campaign=spring)
    body = bob_api.get(f"/api/campaigns/{spring.pk}/").json()
    results = body["results"]
    assert (results["revenue"], results["cost"], results["margin"]) == (
        "250.00",
        "100.00",
        "150.00",
    )
    assert results["return_percent"] == "150.0"
    assert (results["invoices_count"], results["orders_count"], results["cases_count"]) == (1, 0, 1)
    assert results["invoices"][0]["id"] == invoice.pk
    assert results["cases"][0]["subject"]
    assert body["channel"] == "event"


def test_managers_create_change_and_delete_campaigns(
    maria_api: APIClient, spring: Campaign, acme: Partner, section: Section
) -> None:
    """A campaign is created (201), changed key by key, and deleted unless something
    carries it."""
    response = maria_api.post(
        "/api/campaigns/",
        {
            "name": "Summer webinar",
            "code": "Summer-2026",
            "channel": "web",
            "start_date": "2026-06-01",
            "end_date": "2026-06-30",
            "budget": "1500.50",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["url"]
    assert (body["code"], body["budget"], body["actual_cost"]) == ("summer-2026", "1500.50", "0.00")
    assert body["results"]["revenue"] == "0.00"

    changed = maria_api.patch(body["url"], {"actual_cost": "99.99", "active": False})
    assert changed.status_code == 200, changed.content
    campaign = Campaign.objects.get(pk=body["id"])
    assert (campaign.actual_cost, campaign.active, campaign.name) == (
        D("99.99"),
        False,
        "Summer webinar",
    )

    assert maria_api.delete(body["url"]).status_code == 204
    assert not Campaign.objects.filter(pk=body["id"]).exists()
    _case(section, acme, campaign=spring)
    refused = maria_api.delete(f"/api/campaigns/{spring.pk}/")
    assert "make it inactive instead" in errors(refused)["non_field_errors"][0]
    assert Campaign.objects.filter(pk=spring.pk).exists()


def test_campaign_input_is_checked(maria_api: APIClient, spring: Campaign) -> None:
    """A taken or malformed code, a period ending before it starts, floats, too many
    decimals and unknown keys are 400s naming the field; nothing is saved."""
    url = "/api/campaigns/"
    assert errors(maria_api.post(url, {"name": "Copy", "code": "SPRING"}))["code"] == [
        "The code spring already belongs to Spring fair."
    ]
    assert (
        "Use only letters" in errors(maria_api.post(url, {"name": "X", "code": "a b"}))["code"][0]
    )
    assert errors(
        maria_api.post(
            url, {"name": "X", "code": "x", "start_date": "2026-05-02", "end_date": "2026-05-01"}
        )
    ) == {"end_date": ["The campaign cannot end before it starts."]}
    assert errors(maria_api.post(url, {"name": "X", "code": "x", "budget": 9.5}))["budget"] == [
        'Send decimals as strings, e.g. "12.50", so that no cent is lost.'
    ]
    assert "budget" in errors(maria_api.post(url, {"name": "X", "code": "x", "budget": "1.005"}))
    assert "budget" in errors(maria_api.post(url, {"name": "X", "code": "x", "budget": "-1"}))
    assert errors(maria_api.post(url, {"name": "X", "code": "x", "colour": "red"})) == {
        "colour": ["Unknown field."]
    }
    assert set(errors(maria_api.post(url, {}))) == {"name", "code"}
    assert errors(
        maria_api.patch(
            f"{url}{spring.pk}/", {"end_date": "2000-01-01", "start_date": "2001-01-01"}
        )
    )["end_date"]
    assert Campaign.objects.count() == 1


# --------------------------------------------------------------------------
# Statements


def _posted(partner: Partner, total: str, *, on: datetime.date, **kwargs: Any) -> Invoice:
    draft = invoicing.invoice_create(
        by=None,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=partner,
        lines=[LineInput(description="Work", unit_price=D(total), tax_rate=D(0))],
        **kwargs,
    )
    return invoicing.invoice_post(invoice=draft, by=None, on=on)


def test_statement_of_account(bob_api: APIClient, acme: Partner) -> None:
    """Opening balance, movements with a running balance, closing balance and aging; the
    subsidiaries are included unless told otherwise."""
    start = datetime.date(2026, 1, 1)
    _posted(acme, "100", on=datetime.date(2025, 12, 1))
    _posted(acme, "250", on=datetime.date(2026, 1, 10))
    payments.payment_register(
        by=None,
        direction="in",
        partner=acme,
        amount=D(50),
        currency="EUR",
        payment_date=datetime.date(2026, 1, 20),
        allocations=[],
    )
    child = PartnerFactory(name="Acme Sub", parent=acme, currency="EUR")
    _posted(child, "30", on=datetime.date(2026, 1, 15))
    url = f"/api/partners/{acme.pk}/statement/"
    params = {"date_from": str(start), "date_to": "2026-01-31"}
    body = bob_api.get(url, params).json()
    assert (body["date_from"], body["date_to"], body["currency"]) == (
        "2026-01-01",
        "2026-01-31",
        None,
    )
    assert sorted(body["partners"]) == sorted([acme.pk, child.pk])
    [section] = body["sections"]
    assert (section["side"], section["currency"]) == ("receivable", "EUR")
    assert (section["opening"], section["closing"]) == ("100.00", "330.00")
    assert [
        (line["label"], line["debit"], line["credit"], line["balance"]) for line in section["lines"]
    ] == [
        ("Customer invoice", "250.00", "0.00", "350.00"),
        ("Customer invoice", "30.00", "0.00", "380.00"),
        ("Payment received", "0.00", "50.00", "330.00"),
    ]
    assert section["lines"][0]["url"].endswith(
        f"/api/sales/invoices/{section['lines'][0]['invoice']}/"
    )
    assert section["lines"][2]["url"].endswith(
        f"/api/sales/payments/{section['lines'][2]['payment']}/"
    )
    assert (section["unallocated"], section["open_items"]) == ("50.00", "380.00")
    assert set(section["aging"]) == {
        "not_due",
        "days_0_30",
        "days_31_60",
        "days_61_90",
        "days_90_plus",
    }

    own = bob_api.get(url, {**params, "include_children": "false"}).json()
    assert own["partners"] == [acme.pk]
    assert own["sections"][0]["closing"] == "300.00"
    assert bob_api.get(url, {**params, "currency": "USD"}).json()["sections"] == []
    default = bob_api.get(url).json()
    assert default["date_to"] == str(TODAY)


def test_statement_query_is_checked(bob_api: APIClient, acme: Partner) -> None:
    url = f"/api/partners/{acme.pk}/statement/"
    assert errors(bob_api.get(url, {"date_from": "2026-02-01", "date_to": "2026-01-01"})) == {
        "date_from": ["The period must start before it ends."]
    }
    assert errors(bob_api.get(url, {"date_from": "1990-01-01", "date_to": "2026-01-01"})) == {
        "date_from": ["Choose a period of at most 20 years."]
    }
    assert errors(bob_api.get(url, {"date_from": "0001-01-01", "date_to": "0001-01-02"})) == {
        "date_from": ["Choose a day from 1900-01-01 to 9998-12-31."],
        "date_to": ["Choose a day from 1900-01-01 to 9998-12-31."],
    }
    assert "currency" in errors(bob_api.get(url, {"currency": "XXX"}))
    assert "date_to" in errors(bob_api.get(url, {"date_to": "31/01/2026"}))


# --------------------------------------------------------------------------
# Work recorded on cases


def test_recording_changing_and_removing_work(
    bob_api: APIClient, section: Section, acme: Partner, hour: Product
) -> None:
    """Records are added (201), listed with the totals, changed key by key and removed."""
    case = _case(section, acme)
    url = f"/api/cases/{case.number}/work/"
    response = bob_api.post(url, {"quantity": "1.5", "product": hour.pk, "description": "Remote"})
    assert response.status_code == 201, response.content
    record = response.json()
    assert response["Location"] == record["url"]
    assert (record["kind"], record["quantity"], record["billable"]) == ("time", "1.5000", True)
    assert (record["product"]["code"], record["work_date"], record["user"]["username"]) == (
        "SUP-H",
        str(TODAY),
        "bob",
    )
    assert record["case"]["number"] == case.number
    bob_api.post(url, {"quantity": "0.25", "billable": False, "description": "Phone call"})

    listed = bob_api.get(url).json()
    assert [row["description"] for row in listed["results"]] == ["Remote", "Phone call"]
    assert listed["summary"] == {"hours": "1.7500", "billable_hours": "1.5000", "unbilled": 1}

    changed = bob_api.patch(record["url"], {"quantity": "2", "work_date": str(days(-1))})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["quantity"], changed.json()["description"]) == ("2.0000", "Remote")
    assert changed.json()["work_date"] == str(days(-1))
    assert bob_api.delete(record["url"]).status_code == 204
    assert list(WorkRecord.objects.values_list("description", flat=True)) == ["Phone call"]


def test_work_input_is_checked(
    bob_api: APIClient, maria: User, section: Section, acme: Partner, hour: Product
) -> None:
    """The services' and the serializer's refusals are 400s naming the field; a billed
    record neither changes nor goes away."""
    case = _case(section, acme)
    url = f"/api/cases/{case.number}/work/"
    assert errors(bob_api.post(url, {"quantity": "1", "description": "Work"})) == {
        "product": ["A billable record needs the product or service it is billed as."]
    }
    assert errors(bob_api.post(url, {"quantity": "0", "product": hour.pk})) == {
        "quantity": ["The quantity must be more than zero."]
    }
    assert errors(bob_api.post(url, {"quantity": "200000", "product": hour.pk})) == {
        "quantity": ["The quantity cannot exceed 100000."]
    }
    assert errors(bob_api.post(url, {"kind": "product", "quantity": "1"})) == {
        "product": ["Pick the product that was used."]
    }
    assert errors(bob_api.post(url, {"quantity": "1", "product": 999_999})) == {
        "product": ["No product has id 999999."]
    }
    assert "kind" in errors(bob_api.post(url, {"quantity": "1", "kind": "travel"}))
    assert errors(bob_api.post(url, {"quantity": "1", "hours": 2})) == {"hours": ["Unknown field."]}
    assert not WorkRecord.objects.exists()

    record = casework.work_record_add(case=case, by=None, quantity=D(1), product=hour)
    casework.invoice_from_case(case=case, by=maria)
    detail = f"/api/sales/work/{record.pk}/"
    assert "billed on" in errors(bob_api.patch(detail, {"quantity": "3"}))["non_field_errors"][0]
    assert "billed on" in errors(bob_api.delete(detail))["non_field_errors"][0]
    record.refresh_from_db()
    assert record.quantity == D(1)


# --------------------------------------------------------------------------
# Documents from a case


def test_documents_from_a_case(
    maria_api: APIClient,
    bob_api: APIClient,
    section: Section,
    acme: Partner,
    parts: Partner,
    hour: Product,
    robot: Product,
    spring: Campaign,
) -> None:
    """A quotation, a purchase order and an invoice come back as their detail (201), linked
    to the case; the invoice bills the records once."""
    case = _case(section, acme, campaign=spring)
    casework.work_record_add(case=case, by=None, quantity=D(2), product=hour)
    casework.work_record_add(case=case, by=None, kind="product", product=robot, quantity=D(1))

    quotation = bob_api.post(f"/api/cases/{case.number}/quotation/")
    assert quotation.status_code == 201, quotation.content
    assert quotation["Location"] == quotation.json()["url"]
    assert (quotation.json()["kind"], quotation.json()["campaign"]) == ("sale", spring.pk)
    assert quotation.json()["cases"] == [case.pk]
    assert len(quotation.json()["lines"]) == 2

    url = f"/api/cases/{case.number}/purchase-order/"
    assert errors(bob_api.post(url, {})) == {"supplier": ["This field is required."]}
    assert errors(bob_api.post(url, {"supplier": 999_999})) == {
        "supplier": ["No partner has id 999999."]
    }
    purchase = bob_api.post(url, {"supplier": parts.pk})
    assert purchase.status_code == 201, purchase.content
    assert (purchase.json()["kind"], purchase.json()["partner"]["id"]) == ("purchase", parts.pk)
    assert [line["quantity"] for line in purchase.json()["lines"]] == ["1.0000"]

    invoice = maria_api.post(f"/api/cases/{case.number}/invoice/")
    assert invoice.status_code == 201, invoice.content
    assert invoice["Location"] == invoice.json()["url"]
    assert (invoice.json()["kind"], invoice.json()["state"]) == ("out_invoice", "draft")
    assert invoice.json()["amount_total"] == "1392.00"
    again = maria_api.post(f"/api/cases/{case.number}/invoice/")
    assert "Nothing billable is left" in errors(again)["non_field_errors"][0]
    nobody = _case(section, None)
    assert (
        "has no partner"
        in errors(bob_api.post(f"/api/cases/{nobody.number}/quotation/"))["non_field_errors"][0]
    )


def test_an_expense_claim_is_billed_to_the_employee(
    maria_api: APIClient, bob: User, maria: User
) -> None:
    section = SectionFactory(name="Expenses", responsible=maria)
    employee = PartnerFactory(name="Bob Agent", kind="person", is_employee=True, currency="EUR")
    case = CaseFactory(
        section=section, partner=employee, type="expense", amount=D("84.20"), currency="EUR"
    )
    url = f"/api/cases/{case.number}/expense-bill/"
    assert "not approved" in errors(maria_api.post(url))["non_field_errors"][0]
    case = case_services.case_expense_submit(case=case, by=bob)
    case_services.case_expense_decide(case=case, by=maria, approve=True)
    response = maria_api.post(url)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["partner"]["id"], body["amount_total"]) == (
        "in_invoice",
        employee.pk,
        "84.20",
    )
    assert "billed already" in errors(maria_api.post(url))["non_field_errors"][0]


# --------------------------------------------------------------------------
# Invoicing closed requests


def test_invoicing_closed_requests(
    maria_api: APIClient, bob: User, maria: User, section: Section, acme: Partner, hour: Product
) -> None:
    """A preview answers the counts and amounts and changes nothing; a run is queued (202
    with its URL), and once the worker ran it says what it made."""
    case = _closed_with_work(section, acme, hour, bob)
    url = "/api/sales/invoices/from-requests/"
    period = {"date_from": str(TODAY), "date_to": str(TODAY)}
    preview = maria_api.post(url, {**period, "preview": True})
    assert preview.status_code == 200, preview.content
    assert preview.json() == {
        "partners": 1,
        "cases": 1,
        "records": 1,
        "amounts": [{"currency": "EUR", "amount": "192.00"}],
        "without_partner": [],
        "errors": [],
    }
    assert not Invoice.objects.exists()
    assert not RequestInvoicing.objects.exists()

    started = maria_api.post(url, {**period, "section": section.pk, "partner": acme.pk})
    assert started.status_code == 202, started.content
    job = RequestInvoicing.objects.get()
    body = started.json()
    assert started["Location"] == body["url"]
    assert body["url"].endswith(f"{url}{job.pk}/")
    assert (body["status"], body["invoices"], body["section"], body["partner"]) == (
        "queued",
        [],
        section.pk,
        acme.pk,
    )
    assert body["report"] == {"amounts": {}, "errors": [], "without_partner": []}

    casework.request_invoicing_run(job=job)

    done = maria_api.get(body["url"]).json()
    invoice = Invoice.objects.get()
    assert (done["status"], done["partners"], done["cases"], done["records"]) == ("done", 1, 1, 1)
    assert [row["id"] for row in done["invoices"]] == [invoice.pk]
    assert done["report"]["amounts"] == {"EUR": "192.00"}
    assert done["percent"] == 100
    assert list(invoice.cases.all()) == [case]


def test_invoicing_closed_requests_input_is_checked(maria_api: APIClient) -> None:
    url = "/api/sales/invoices/from-requests/"
    assert set(errors(maria_api.post(url, {}))) == {"date_from", "date_to"}
    assert errors(maria_api.post(url, {"date_from": "2026-02-01", "date_to": "2026-01-01"})) == {
        "date_to": ["The period ends before it starts."]
    }
    period = {"date_from": "2026-01-01", "date_to": "2026-01-31"}
    assert errors(maria_api.post(url, {**period, "section": 999_999})) == {
        "section": ["No section has id 999999."]
    }
    assert errors(maria_api.post(url, {**period, "partner": 999_999})) == {
        "partner": ["No partner has id 999999."]
    }
    assert "preview" in errors(maria_api.post(url, {**period, "preview": "perhaps"}))
    assert "date_to" in errors(maria_api.post(url, {**period, "date_to": "9999-12-31"}))
    assert not RequestInvoicing.objects.exists()


# --------------------------------------------------------------------------
# Query counts


def _rows(kind: str, n: int, acme: Partner, robot: Product, case: Case) -> None:
    for i in range(n):
        if kind == "shipments":
            _shipment(acme, robot, promised_date=days(-i))
        elif kind == "campaigns":
            Campaign.objects.create(name=f"Campaign {i}", code=f"c-{Campaign.objects.count()}")
        else:
            casework.work_record_add(case=case, by=None, quantity=D(1), product=robot)


@pytest.mark.parametrize("persona", ["maria", "bob"])
@pytest.mark.parametrize("kind", ["shipments", "campaigns", "work"])
def test_lists_keep_a_flat_number_of_queries(
    request: pytest.FixtureRequest,
    django_assert_num_queries: Any,
    persona: str,
    kind: str,
    acme: Partner,
    robot: Product,
    section: Section,
) -> None:
    """A list of 1 row and a list of 6 rows take the same queries."""
    user = request.getfixturevalue(persona)
    case = _case(section, acme)
    url = {
        "shipments": "/api/sales/shipments/",
        "campaigns": "/api/campaigns/",
        "work": f"/api/cases/{case.number}/work/",
    }[kind]

    def count() -> tuple[int, int]:
        client = api(User.objects.get(pk=user.pk))  # no permission cache carried over
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries), len(response.json()["results"])

    _rows(kind, 1, acme, robot, case)
    few, one_row = count()
    assert one_row == 1
    _rows(kind, 5, acme, robot, case)
    many, six_rows = count()
    assert six_rows == 6
    assert many == few
    client = api(User.objects.get(pk=user.pk))
    with django_assert_num_queries(few):
        client.get(url)


# --------------------------------------------------------------------------
# The schema


def test_responses_match_the_schema(
    alice_api: APIClient,
    bob_api: APIClient,
    maria_api: APIClient,
    maria: User,
    acme: Partner,
    parts: Partner,
    robot: Product,
    hour: Product,
    section: Section,
    spring: Campaign,
) -> None:
    """What these endpoints return, errors included, is what the schema says."""
    schema = alice_api.get("/api/schema/", {"format": "json"}).json()
    components = {"components": _json_schema(schema["components"])}
    shipment = _shipment(acme, robot, promised_date=days(-1))
    receipt = _shipment(parts, robot, promised_date=days(-2))
    shipments.shipment_set_state(shipment=receipt, by=None, action="done")
    order = _order(acme, robot)
    case = _case(section, acme, campaign=spring)
    record = casework.work_record_add(case=case, by=None, quantity=D(1), product=hour)
    _posted(acme, "100", on=days(-40))
    closed = _closed_with_work(section, acme, hour, maria)
    run = casework.request_invoicing_start(by=maria, date_from=TODAY, date_to=TODAY)
    casework.request_invoicing_run(job=run)
    assert closed.invoices.exists()
    period = {"date_from": str(TODAY), "date_to": str(TODAY)}
    calls = [
        (bob_api, "get", "/api/sales/shipments/", "/api/sales/shipments/", None),
        (bob_api, "get", "/api/sales/shipments/", "/api/sales/shipments/?late=x", None),
        (
            bob_api,
            "get",
            "/api/sales/shipments/{id}/",
            f"/api/sales/shipments/{shipment.pk}/",
            None,
        ),
        (bob_api, "get", "/api/sales/shipments/{id}/", "/api/sales/shipments/999999/", None),
        (
            bob_api,
            "patch",
            "/api/sales/shipments/{id}/",
            f"/api/sales/shipments/{shipment.pk}/",
            {"carrier": "DHL"},
        ),
        (
            bob_api,
            "post",
            "/api/sales/shipments/{id}/state/",
            f"/api/sales/shipments/{shipment.pk}/state/",
            {"action": "ready"},
        ),
        (
            bob_api,
            "post",
            "/api/sales/orders/{id}/shipments/",
            f"/api/sales/orders/{order.pk}/shipments/",
            {"promised_date": str(TODAY)},
        ),
        (bob_api, "get", "/api/partners/{id}/on-time/", f"/api/partners/{parts.pk}/on-time/", None),
        (
            bob_api,
            "get",
            "/api/partners/{id}/statement/",
            f"/api/partners/{acme.pk}/statement/",
            None,
        ),
        (bob_api, "get", "/api/campaigns/", "/api/campaigns/", None),
        (bob_api, "get", "/api/campaigns/{id}/", f"/api/campaigns/{spring.pk}/", None),
        (bob_api, "post", "/api/campaigns/", "/api/campaigns/", {"name": "X", "code": "x"}),
        (maria_api, "post", "/api/campaigns/", "/api/campaigns/", {"name": "X", "code": "x"}),
        (
            maria_api,
            "patch",
            "/api/campaigns/{id}/",
            f"/api/campaigns/{spring.pk}/",
            {"budget": "10"},
        ),
        (bob_api, "get", "/api/cases/{number}/work/", f"/api/cases/{case.number}/work/", None),
        (
            bob_api,
            "post",
            "/api/cases/{number}/work/",
            f"/api/cases/{case.number}/work/",
            {"quantity": "1", "product": hour.pk},
        ),
        (bob_api, "get", "/api/sales/work/{id}/", f"/api/sales/work/{record.pk}/", None),
        (
            bob_api,
            "patch",
            "/api/sales/work/{id}/",
            f"/api/sales/work/{record.pk}/",
            {"quantity": "2"},
        ),
        (
            bob_api,
            "post",
            "/api/cases/{number}/quotation/",
            f"/api/cases/{case.number}/quotation/",
            None,
        ),
        (
            maria_api,
            "post",
            "/api/cases/{number}/invoice/",
            f"/api/cases/{case.number}/invoice/",
            None,
        ),
        (
            maria_api,
            "post",
            "/api/sales/invoices/from-requests/",
            "/api/sales/invoices/from-requests/",
            {**period, "preview": True},
        ),
        (
            maria_api,
            "post",
            "/api/sales/invoices/from-requests/",
            "/api/sales/invoices/from-requests/",
            period,
        ),
        (
            maria_api,
            "get",
            "/api/sales/invoices/from-requests/{id}/",
            f"/api/sales/invoices/from-requests/{run.pk}/",
            None,
        ),
    ]
    seen = set()
    for client, method, route, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        status = str(response.status_code)
        documented = schema["paths"][route][method]["responses"]
        assert status in documented, (method, url, status, response.content)
        expected = documented[status]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft7Validator({**components, **_json_schema(expected)})
        problems = [error.message for error in validator.iter_errors(response.json())]
        assert not problems, (method, url, problems)
        seen.add(status)
    assert seen == {"200", "201", "202", "400", "403", "404"}


PATHS = {
    "/api/sales/shipments/": {"get"},
    "/api/sales/shipments/{id}/": {"get", "patch"},
    "/api/sales/shipments/{id}/state/": {"post"},
    "/api/sales/orders/{id}/shipments/": {"post"},
    "/api/partners/{id}/on-time/": {"get"},
    "/api/partners/{id}/statement/": {"get"},
    "/api/campaigns/": {"get", "post"},
    "/api/campaigns/{id}/": {"get", "patch", "delete"},
    "/api/cases/{number}/work/": {"get", "post"},
    "/api/sales/work/{id}/": {"get", "patch", "delete"},
    "/api/cases/{number}/quotation/": {"post"},
    "/api/cases/{number}/invoice/": {"post"},
    "/api/cases/{number}/purchase-order/": {"post"},
    "/api/cases/{number}/expense-bill/": {"post"},
    "/api/sales/invoices/from-requests/": {"post"},
    "/api/sales/invoices/from-requests/{id}/": {"get"},
}


def test_the_schema_lists_these_endpoints_without_warnings(alice: User) -> None:
    """Every endpoint here is in the schema with its methods, generated without warnings."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        generated = SchemaGenerator().get_schema(request=None, public=True)
    complaints = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    assert not complaints, complaints
    validate_schema(generated)
    for route, methods in PATHS.items():
        assert set(generated["paths"][route]) == methods, route
