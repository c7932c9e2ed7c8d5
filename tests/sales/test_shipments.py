"""Deliveries and receipts: making them from orders, partial deliveries, the
states, on-time delivery, and their pages per persona."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goodwill.partners.models import Partner, TimelineEntry
from goodwill.sales import invoicing, orders, shipments
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import Invoice, Order, OrderLine, Product, Shipment
from tests.factories import PartnerFactory

D = Decimal
TODAY = timezone.localdate()
YEAR = TODAY.year


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
def setup_fee(db: None) -> Product:
    return Product.objects.create(
        code="SETUP", name="Set-up", kind=Product.Kind.SERVICE, list_price=D(100)
    )


def _order(partner: Partner, *lines: LineInput, kind: str = "sale", confirm: bool = True) -> Order:
    order = orders.order_create(by=None, partner=partner, kind=kind, lines=list(lines))
    if confirm:
        order = orders.order_set_state(order=order, by=None, action="confirm")
    return order


def _receipt(
    supplier: Partner, product: Product, *, promised: datetime.date, actual: datetime.date
) -> Shipment:
    order = _order(supplier, LineInput(product=product, quantity=D(1)), kind="purchase")
    receipt = shipments.shipment_create_from_order(order=order, by=None, promised_date=promised)
    return shipments.shipment_set_state(
        shipment=receipt, by=None, action="done", actual_date=actual
    )


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --------------------------------------------------------------------------
# Services


def test_a_delivery_takes_what_is_left_on_a_sales_order(
    acme: Partner, robot: Product, setup_fee: Product
) -> None:
    """A line per order line of goods, for the quantity not yet delivered;
    services are not shipped; numbers run per kind and year."""
    order = _order(
        acme,
        LineInput(product=robot, quantity=D(3)),
        LineInput(product=setup_fee, quantity=D(1)),
        LineInput(description="Spare gripper", quantity=D(2), unit_price=D(50)),
    )
    delivery = shipments.shipment_create_from_order(order=order, by=None, promised_date=days(5))
    assert delivery.number == f"OUT/{YEAR}/00001"
    assert (delivery.kind, delivery.state, delivery.partner) == ("delivery", "draft", acme)
    assert delivery.promised_date == days(5)
    assert [(line.description, line.quantity) for line in delivery.lines.all()] == [
        ("Robot arm", D(3)),
        ("Spare gripper", D(2)),
    ]
    purchase = _order(acme, LineInput(product=robot, quantity=D(1)), kind="purchase")
    receipt = shipments.shipment_create_from_order(order=purchase, by=None)
    assert (receipt.kind, receipt.number) == ("receipt", f"IN/{YEAR}/00001")
    other = _order(acme, LineInput(product=robot, quantity=D(1)))
    assert shipments.shipment_create_from_order(order=other, by=None).number == (
        f"OUT/{YEAR}/00002"
    )


@pytest.mark.parametrize("action", [None, "cancel"])
def test_an_order_that_is_not_confirmed_is_refused(
    acme: Partner, robot: Product, action: str | None
) -> None:
    order = _order(acme, LineInput(product=robot), confirm=False)
    if action:
        orders.order_set_state(order=order, by=None, action=action)
    with pytest.raises(ValidationError, match="confirm it before you deliver it"):
        shipments.shipment_create_from_order(order=order, by=None)
    assert not Shipment.objects.exists()


def test_partial_deliveries_add_up_and_the_order_notes_when_all_is_delivered(
    acme: Partner, robot: Product
) -> None:
    order = _order(acme, LineInput(product=robot, quantity=D(3)))
    first = shipments.shipment_create_from_order(order=order, by=None)
    line = first.lines.get()
    shipments.shipment_update(shipment=first, by=None, quantities={line.pk: D(1)})
    edit = TimelineEntry.objects.get(action="updated", subject_id=first.pk)
    assert edit.body == f"{first.number}: Robot arm: 3 → 1"
    shipments.shipment_update(shipment=first, by=None, quantities={line.pk: D(1)})
    assert TimelineEntry.objects.filter(action="updated").count() == 1  # nothing changed
    shipments.shipment_set_state(shipment=first, by=None, action="ready")
    assert TimelineEntry.objects.filter(action="ready", subject_id=first.pk).exists()
    first = shipments.shipment_set_state(shipment=first, by=None, action="done")
    assert first.actual_date == TODAY
    assert OrderLine.objects.get(order=order).quantity_delivered == D(1)
    assert not TimelineEntry.objects.filter(action="fully_delivered").exists()

    second = shipments.shipment_create_from_order(order=order, by=None)
    assert second.lines.get().quantity == D(2)
    with pytest.raises(ValidationError, match="already on an open shipment"):
        shipments.shipment_create_from_order(order=order, by=None)
    shipments.shipment_set_state(shipment=second, by=None, action="done", actual_date=days(-1))
    assert OrderLine.objects.get(order=order).quantity_delivered == D(3)
    note = TimelineEntry.objects.get(action="fully_delivered")
    assert note.partner == acme
    assert note.subject_id == order.pk
    assert f"{order.number} fully delivered" in note.body
    with pytest.raises(ValidationError, match="Nothing is left to deliver"):
        shipments.shipment_create_from_order(order=order, by=None)
    done_entries = TimelineEntry.objects.filter(partner=acme, action="done")
    assert {e.subject_id for e in done_entries} == {first.pk, second.pk}


def test_over_delivery_is_refused(acme: Partner, robot: Product) -> None:
    order = _order(acme, LineInput(product=robot, quantity=D(3)))
    first = shipments.shipment_create_from_order(order=order, by=None)
    line = first.lines.get()
    with pytest.raises(ValidationError) as caught:
        shipments.shipment_update(shipment=first, by=None, quantities={line.pk: D(4)})
    assert caught.value.message_dict == {
        f"quantity_{line.pk}": ["Robot arm: only 3 left to ship; 4 is too much."]
    }
    shipments.shipment_update(shipment=first, by=None, quantities={line.pk: D(1)})
    second = shipments.shipment_create_from_order(order=order, by=None)
    with pytest.raises(ValidationError, match="only 1 left to ship; 3 is too much"):
        # The second shipment plans 2 of the 3, so the first may take 1 at most.
        shipments.shipment_update(shipment=first, by=None, quantities={line.pk: D(3)})
    other = second.lines.get()
    for bad, message in (("-1", "cannot be negative"), ("lots", "enter a quantity")):
        with pytest.raises(ValidationError, match=message):
            shipments.shipment_update(shipment=second, by=None, quantities={other.pk: bad})
    with pytest.raises(ValidationError, match="is not on"):
        shipments.shipment_update(shipment=second, by=None, quantities={line.pk: D(1)})


def test_done_checks_the_order_again_under_lock_and_changes_nothing_on_refusal(
    acme: Partner, robot: Product
) -> None:
    """Something delivered meanwhile (another process) makes the done step refuse."""
    order = _order(acme, LineInput(product=robot, quantity=D(3)))
    delivery = shipments.shipment_create_from_order(order=order, by=None)
    OrderLine.objects.filter(order=order).update(quantity_delivered=D(2))
    with pytest.raises(ValidationError, match="only 1 left to ship on the order; 3 is too much"):
        shipments.shipment_set_state(shipment=delivery, by=None, action="done")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.actual_date) == ("draft", None)
    assert OrderLine.objects.get(order=order).quantity_delivered == D(2)


def test_state_rules(acme: Partner, robot: Product) -> None:
    order = _order(acme, LineInput(product=robot, quantity=D(2)))
    delivery = shipments.shipment_create_from_order(order=order, by=None)
    line = delivery.lines.get()
    shipments.shipment_update(shipment=delivery, by=None, quantities={line.pk: D(0)})
    with pytest.raises(ValidationError, match="every quantity is zero"):
        shipments.shipment_set_state(shipment=delivery, by=None, action="done")
    with pytest.raises(ValidationError, match="cannot be in the future"):
        shipments.shipment_set_state(shipment=delivery, by=None, action="done", actual_date=days(1))
    shipments.shipment_update(shipment=delivery, by=None, quantities={line.pk: D(2)})
    delivery = shipments.shipment_set_state(shipment=delivery, by=None, action="ready")
    with pytest.raises(ValidationError, match="is ready; it cannot be marked ready"):
        shipments.shipment_set_state(shipment=delivery, by=None, action="ready")
    delivery = shipments.shipment_set_state(shipment=delivery, by=None, action="done")
    with pytest.raises(ValidationError, match="is done: its goods have moved"):
        shipments.shipment_set_state(shipment=delivery, by=None, action="cancel")
    with pytest.raises(ValidationError, match="only a draft or ready shipment can change"):
        shipments.shipment_update(shipment=delivery, by=None, values={"carrier": "DHL"})
    with pytest.raises(ValidationError, match="Unknown shipment action"):
        shipments.shipment_set_state(shipment=delivery, by=None, action="explode")

    other = _order(acme, LineInput(product=robot))
    draft = shipments.shipment_create_from_order(order=other, by=None)
    draft = shipments.shipment_set_state(shipment=draft, by=None, action="cancel")
    assert draft.state == "cancelled"
    with pytest.raises(ValidationError, match="is cancelled; it cannot be marked done"):
        shipments.shipment_set_state(shipment=draft, by=None, action="done")
    # A cancelled shipment plans nothing: the order can be shipped again.
    assert shipments.shipment_create_from_order(order=other, by=None).lines.get().quantity == D(1)


def test_header_fields_are_checked(acme: Partner, robot: Product) -> None:
    delivery = shipments.shipment_create_from_order(
        order=_order(acme, LineInput(product=robot)), by=None
    )
    with pytest.raises(ValidationError) as caught:
        shipments.shipment_update(
            shipment=delivery,
            by=None,
            values={"promised_date": "tomorrow", "carrier": "x" * 101},
        )
    assert set(caught.value.message_dict) == {"promised_date", "carrier"}
    with pytest.raises(ValidationError, match="cannot be set: state"):
        shipments.shipment_update(shipment=delivery, by=None, values={"state": "done"})
    shipments.shipment_update(
        shipment=delivery,
        by=None,
        values={"promised_date": days(3), "carrier": "  DHL  Express ", "notes": " Gate 4 "},
    )
    delivery.refresh_from_db()
    assert (delivery.promised_date, delivery.carrier, delivery.notes) == (
        days(3),
        "DHL Express",
        "Gate 4",
    )


# --------------------------------------------------------------------------
# On-time delivery


def test_on_time_rate_of_a_supplier(parts: Partner, robot: Product) -> None:
    _receipt(parts, robot, promised=days(-10), actual=days(-10))  # on time
    _receipt(parts, robot, promised=days(-10), actual=days(-12))  # early counts as on time
    _receipt(parts, robot, promised=days(-10), actual=days(-8))  # 2 days late
    _receipt(parts, robot, promised=days(-10), actual=days(-6))  # 4 days late
    undated = _order(parts, LineInput(product=robot), kind="purchase")
    shipments.shipment_set_state(
        shipment=shipments.shipment_create_from_order(order=undated, by=None),
        by=None,
        action="done",
    )  # no promised date: not judged
    open_order = _order(parts, LineInput(product=robot), kind="purchase")
    shipments.shipment_create_from_order(order=open_order, by=None, promised_date=days(-30))

    figures = shipments.on_time_rate(parts)
    assert (figures.receipts, figures.on_time, figures.late) == (4, 2, 2)
    assert figures.rate == D("50.0")
    assert figures.average_days_late == D("3.0")
    recent = shipments.on_time_rate(parts, since=days(-9))
    assert (recent.receipts, recent.late, recent.average_days_late) == (2, 2, D("3.0"))
    nobody = shipments.on_time_rate(PartnerFactory())
    assert (nobody.receipts, nobody.rate, nobody.average_days_late) == (0, None, None)


def test_the_grouped_query_agrees_with_the_per_supplier_one(
    parts: Partner, acme: Partner, robot: Product, django_assert_num_queries: Any
) -> None:
    other = PartnerFactory(name="Bolts Inc", is_supplier=True)
    _receipt(parts, robot, promised=days(-5), actual=days(-5))
    _receipt(parts, robot, promised=days(-5), actual=days(-1))
    _receipt(other, robot, promised=days(-20), actual=days(-13))
    _receipt(other, robot, promised=days(-20), actual=days(-10))
    _receipt(other, robot, promised=days(-20), actual=days(-30))
    # Deliveries to customers are not supplier quality.
    sale = _order(acme, LineInput(product=robot))
    delivery = shipments.shipment_create_from_order(order=sale, by=None, promised_date=days(-9))
    shipments.shipment_set_state(shipment=delivery, by=None, action="done")

    with django_assert_num_queries(1):
        grouped = shipments.on_time_by_supplier()
    assert set(grouped) == {parts.pk, other.pk}
    for supplier in (parts, other):
        assert grouped[supplier.pk] == shipments.on_time_rate(supplier)
    assert (grouped[other.pk].late, grouped[other.pk].days_late) == (2, 17)
    since = days(-12)
    assert shipments.on_time_by_supplier(since=since) == {
        p.pk: shipments.on_time_rate(p, since=since) for p in (parts, other)
    }


# --------------------------------------------------------------------------
# Pages


def test_agents_deliver_an_order_from_its_page(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    order = _order(acme, LineInput(product=robot, quantity=D(3)))
    page = bob_client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert 'data-action="ship"' in page
    assert ">Deliver<" in page
    assert 'data-section="shipments"' in page
    assert "Nothing delivered yet." in page

    response = bob_client.post(
        f"/sales/shipments/from-order/{order.pk}/", {"promised_date": days(2).isoformat()}
    )
    delivery = Shipment.objects.get()
    assert response["Location"] == f"/sales/shipments/{delivery.pk}/"
    assert delivery.promised_date == days(2)
    line = delivery.lines.get()

    form = bob_client.get(f"/sales/shipments/{delivery.pk}/edit/").content.decode()
    assert f'name="quantity_{line.pk}"' in form
    response = bob_client.post(
        f"/sales/shipments/{delivery.pk}/edit/",
        {"promised_date": days(4).isoformat(), "carrier": "DHL", f"quantity_{line.pk}": "2"},
    )
    assert response.status_code == 302
    response = bob_client.post(f"/sales/shipments/{delivery.pk}/ready/", follow=True)
    assert f"{delivery.number} is now ready." in _messages(response)
    response = bob_client.post(
        f"/sales/shipments/{delivery.pk}/done/",
        {"actual_date": days(-1).isoformat()},
        follow=True,
    )
    assert f"{delivery.number} is now done." in _messages(response)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.actual_date, delivery.carrier) == ("done", days(-1), "DHL")
    assert OrderLine.objects.get(order=order).quantity_delivered == D(2)
    detail = response.content.decode()
    assert 'data-on-time="on-time"' in detail
    assert 'data-action="cancel"' not in detail
    page = bob_client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert delivery.number in page

    response = bob_client.post(f"/sales/shipments/{delivery.pk}/cancel/", follow=True)
    assert any("cannot be cancelled" in m for m in _messages(response))
    assert bob_client.post(f"/sales/shipments/{delivery.pk}/explode/").status_code == 404


def test_a_purchase_order_is_received_and_a_late_receipt_is_flagged(
    maria_client: Client, parts: Partner, robot: Product
) -> None:
    order = _order(parts, LineInput(product=robot), kind="purchase")
    assert ">Receive<" in maria_client.get(f"/sales/orders/{order.pk}/").content.decode()
    maria_client.post(
        f"/sales/shipments/from-order/{order.pk}/", {"promised_date": days(-3).isoformat()}
    )
    receipt = Shipment.objects.get()
    assert receipt.kind == "receipt"
    detail = maria_client.get(f"/sales/shipments/{receipt.pk}/").content.decode()
    assert 'data-on-time="overdue"' in detail
    maria_client.post(f"/sales/shipments/{receipt.pk}/done/", {"actual_date": ""})
    detail = maria_client.get(f"/sales/shipments/{receipt.pk}/").content.decode()
    assert 'data-on-time="late"' in detail
    receipt.refresh_from_db()
    assert receipt.actual_date == TODAY


def test_shipping_an_unconfirmed_order_is_a_message(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    order = _order(acme, LineInput(product=robot), confirm=False)
    assert 'data-action="ship"' not in bob_client.get(f"/sales/orders/{order.pk}/").content.decode()
    response = bob_client.post(f"/sales/shipments/from-order/{order.pk}/", follow=True)
    assert response.status_code == 200
    assert any("confirm it before you deliver it" in m for m in _messages(response))
    assert not Shipment.objects.exists()
    assert bob_client.post("/sales/shipments/from-order/999999/").status_code == 404


def test_form_errors_are_shown_next_to_their_fields(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    order = _order(acme, LineInput(product=robot, quantity=D(3)))
    delivery = shipments.shipment_create_from_order(order=order, by=None)
    line = delivery.lines.get()
    url = f"/sales/shipments/{delivery.pk}/edit/"
    response = bob_client.post(url, {"promised_date": "31/02/2026", f"quantity_{line.pk}": "-1"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["promised_date"] == ["Enter a valid date."]
    assert errors[f"quantity_{line.pk}"] == ["The quantity cannot be negative."]
    response = bob_client.post(url, {"promised_date": "0001-01-01", f"quantity_{line.pk}": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors["promised_date"] == [
        "Enter a date between 1900 and 9998."
    ]
    response = bob_client.post(url, {f"quantity_{line.pk}": "5"})
    assert response.status_code == 400
    assert response.context["form"].errors[f"quantity_{line.pk}"] == [
        "Robot arm: only 3 left to ship; 5 is too much."
    ]
    assert "only 3 left to ship" in response.content.decode()
    response = bob_client.post(url, {f"quantity_{line.pk}": ""})
    assert response.status_code == 400
    assert response.context["form"].errors[f"quantity_{line.pk}"] == [
        "Enter a quantity (0 to leave the line out)."
    ]
    response = bob_client.post(
        f"/sales/shipments/{delivery.pk}/done/", {"actual_date": "soon"}, follow=True
    )
    assert "Enter the actual date as a date (YYYY-MM-DD)." in _messages(response)
    delivery.refresh_from_db()
    assert delivery.state == "draft"
    assert delivery.lines.get().quantity == D(3)


def test_a_done_shipment_cannot_be_edited(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    delivery = shipments.shipment_create_from_order(
        order=_order(acme, LineInput(product=robot)), by=None
    )
    shipments.shipment_set_state(shipment=delivery, by=None, action="done")
    response = bob_client.get(f"/sales/shipments/{delivery.pk}/edit/", follow=True)
    assert any("it cannot change" in m for m in _messages(response))


@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused(
    persona: str, request: pytest.FixtureRequest, acme: Partner, robot: Product
) -> None:
    client: Client = request.getfixturevalue(f"{persona}_client")
    order = _order(acme, LineInput(product=robot))
    delivery = shipments.shipment_create_from_order(order=order, by=None)
    for url in (
        "/sales/shipments/",
        f"/sales/shipments/{delivery.pk}/",
        f"/sales/shipments/{delivery.pk}/edit/",
        "/sales/shipments/999999/",  # no probing
    ):
        assert client.get(url).status_code == 403, url
    for action in ("ready", "done", "cancel"):
        assert client.post(f"/sales/shipments/{delivery.pk}/{action}/").status_code == 403
    edit = client.post(f"/sales/shipments/{delivery.pk}/edit/", {"carrier": "Intruder"})
    assert edit.status_code == 403
    assert client.post(f"/sales/shipments/from-order/{order.pk}/").status_code == 403
    delivery.refresh_from_db()
    assert delivery.state == "draft"
    assert delivery.carrier == ""
    assert Shipment.objects.count() == 1


def test_anonymous_visitors_log_in_first(acme: Partner, robot: Product) -> None:
    """Every shipment page sends a visitor to the login page and changes nothing."""
    order = _order(acme, LineInput(product=robot))
    delivery = shipments.shipment_create_from_order(order=order, by=None)
    anonymous = Client()
    for response in (
        anonymous.get("/sales/shipments/"),
        anonymous.get(f"/sales/shipments/{delivery.pk}/"),
        anonymous.get(f"/sales/shipments/{delivery.pk}/edit/"),
        anonymous.post(f"/sales/shipments/{delivery.pk}/done/"),
        anonymous.post(f"/sales/shipments/from-order/{order.pk}/"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    delivery.refresh_from_db()
    assert delivery.state == "draft"
    assert Shipment.objects.count() == 1


def test_the_list_filters_and_has_an_empty_state(
    bob_client: Client, acme: Partner, parts: Partner, robot: Product
) -> None:
    page = bob_client.get("/sales/shipments/").content.decode()
    assert "No shipments or receipts yet." in page
    assert "Shipments and receipts</a>" in page  # the sidebar link
    delivery = shipments.shipment_create_from_order(
        order=_order(acme, LineInput(product=robot)), by=None, promised_date=days(-2)
    )
    late = _receipt(parts, robot, promised=days(-5), actual=days(-1))
    on_time = _receipt(parts, robot, promised=days(-5), actual=days(-6))

    def numbers(query: str) -> set[str]:
        response = bob_client.get(f"/sales/shipments/?{query}")
        assert response.status_code == 200
        return {s.number for s in response.context["page"].items}

    assert numbers("") == {delivery.number, late.number, on_time.number}
    assert numbers("kind=receipt") == {late.number, on_time.number}
    assert numbers("state=draft") == {delivery.number}
    assert numbers(f"partner={parts.pk}") == {late.number, on_time.number}
    assert numbers("late=1") == {delivery.number, late.number}  # overdue or done late
    assert numbers(f"kind=receipt&late=1&partner={parts.pk}") == {late.number}
    assert numbers("q=acme") == {delivery.number}
    assert numbers("kind=bogus&state=nope&partner=abc") == {
        delivery.number,
        late.number,
        on_time.number,
    }
    page = bob_client.get("/sales/shipments/?state=cancelled").content.decode()
    assert "No shipment matches these filters." in page
    assert bob_client.get("/sales/shipments/?cursor=garbage").status_code == 302
    fragment = bob_client.get(
        "/sales/shipments/", headers={"HX-Request": "true", "HX-Target": "shipment-results"}
    )
    assert "<h1>" not in fragment.content.decode()


def test_the_list_costs_the_same_for_3_and_20_shipments(
    bob_client: Client, parts: Partner, robot: Product
) -> None:
    def make(count: int) -> None:
        for _ in range(count):
            _receipt(PartnerFactory(), robot, promised=days(-3), actual=days(-1))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bob_client.get("/sales/shipments/?late=1").status_code == 200
        return len(captured)

    make(3)
    few = queries()
    make(17)
    assert queries() == few


def test_the_supplier_panel_shows_on_time_delivery_and_purchases(
    bob_client: Client, parts: Partner, robot: Product
) -> None:
    """On-time rate, late receipts and purchase figures, for a constant number
    of queries however many receipts and bills the supplier has."""

    def bill(amount: str, kind: str = Invoice.Kind.VENDOR_BILL) -> Invoice:
        draft = invoicing.invoice_create(
            by=None,
            kind=kind,
            partner=parts,
            lines=[LineInput(description="Parts", unit_price=D(amount), tax_rate=D(0))],
        )
        return invoicing.invoice_post(invoice=draft, by=None)

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = bob_client.get(f"/sales/partner/{parts.pk}/summary/")
        assert response.status_code == 200
        return len(captured), response.content.decode()

    late = _receipt(parts, robot, promised=days(-10), actual=days(-7))
    _receipt(parts, robot, promised=days(-10), actual=days(-10))
    bill("500")
    bill("100", kind=Invoice.Kind.VENDOR_REFUND)
    few, panel = queries()
    assert 'data-section="supplier"' in panel
    assert '<b data-figure="on-time-rate">50 %</b>' in panel
    assert '<b data-figure="late-receipts">1</b>' in panel
    assert "3 days late on average" in panel
    assert '<b data-figure="billed-EUR">400.00 EUR</b>' in panel
    assert '<b data-figure="payable-EUR">400.00 EUR</b>' in panel
    assert "Purchase orders (2)" in panel
    assert late.number in panel

    for _ in range(4):
        _receipt(parts, robot, promised=days(-10), actual=days(-9))
        bill("50")
    many, panel = queries()
    assert many == few
    assert '<b data-figure="on-time-rate">16.7 %</b>' in panel
    assert '<b data-figure="billed-EUR">600.00 EUR</b>' in panel

    customer = PartnerFactory(is_customer=True)
    panel = bob_client.get(f"/sales/partner/{customer.pk}/summary/").content.decode()
    assert 'data-section="supplier"' not in panel
