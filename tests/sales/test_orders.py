"""Quotations and orders: pricing from the partner's terms, the states, and
invoicing what is not yet invoiced."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from goodwill.partners.models import Partner
from goodwill.sales import invoicing, orders
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import (
    Invoice,
    Order,
    PartnerTerms,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
)
from tests.factories import PartnerFactory

D = Decimal
DAY = datetime.date(2026, 4, 1)


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR")


@pytest.fixture
def robot(db: None) -> Product:
    return Product.objects.create(
        code="R1", name="Robot arm", list_price=D(1000), cost=D(600), tax_rate=D(20)
    )


def test_a_quotation_is_priced_from_the_partners_price_list(acme: Partner, robot: Product) -> None:
    dealers = PriceList.objects.create(name="Dealers", currency="EUR")
    version = PriceListVersion.objects.create(price_list=dealers, name="2026")
    PriceRule.objects.create(version=version, discount_percent=D(10))
    PartnerTerms.objects.create(partner=acme, price_list=dealers)
    quote = orders.order_create(
        by=None, partner=acme, lines=[LineInput(product=robot, quantity=D(2))], order_date=DAY
    )
    assert quote.number == "SO/2026/00001"
    assert quote.price_list == dealers
    line = quote.lines.get()
    assert (line.unit_price, line.subtotal, line.tax_amount) == (
        D("900.00"),
        D("1800.00"),
        D("360.00"),
    )
    assert quote.amount_total == D("2160.00")


def test_purchase_orders_take_the_cost_without_a_supplier_list(
    acme: Partner, robot: Product
) -> None:
    po = orders.order_create(
        by=None,
        partner=acme,
        kind=Order.Kind.PURCHASE,
        lines=[LineInput(product=robot)],
        order_date=DAY,
    )
    assert po.number == "PO/2026/00001"
    assert po.lines.get().unit_price == D(600)


def test_the_quotation_to_invoice_journey(acme: Partner, robot: Product) -> None:
    quote = orders.order_create(
        by=None, partner=acme, lines=[LineInput(product=robot)], order_date=DAY
    )
    with pytest.raises(ValidationError, match="Confirm SO/2026/00001 before invoicing it"):
        orders.order_invoice(order=quote, by=None)
    orders.order_set_state(order=quote, by=None, action="send")
    confirmed = orders.order_set_state(order=quote, by=None, action="confirm")
    assert confirmed.confirmed_at is not None
    with pytest.raises(ValidationError, match="only a draft or sent quotation can change"):
        orders.order_update_lines(order=quote, by=None, lines=[LineInput(product=robot)])
    invoice = orders.order_invoice(order=quote, by=None)
    assert (invoice.kind, invoice.state, invoice.order, invoice.reference) == (
        "out_invoice",
        "draft",
        quote,
        "SO/2026/00001",
    )
    assert invoice.amount_total == quote.amount_total
    quote.refresh_from_db()
    assert quote.state == "done"
    with pytest.raises(ValidationError, match="it cannot be cancelled from there"):
        orders.order_set_state(order=quote, by=None, action="cancel")
    posted = invoicing.invoice_post(invoice=invoice, by=None, on=DAY)
    assert posted.number == "INV/2026/00001"


@pytest.mark.parametrize(
    ("path", "action", "message"),
    [
        ([], "done", "is draft; it cannot be marked done from there"),
        (["send"], "send", "is sent; it cannot be sent from there"),
        (["cancel"], "confirm", "is cancelled; it cannot be confirmed from there"),
    ],
)
def test_illegal_order_moves(
    acme: Partner, robot: Product, path: list[str], action: str, message: str
) -> None:
    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    for step in path:
        orders.order_set_state(order=order, by=None, action=step)
    with pytest.raises(ValidationError, match=message):
        orders.order_set_state(order=order, by=None, action=action)


def test_an_empty_quotation_cannot_be_confirmed(acme: Partner) -> None:
    order = orders.order_create(by=None, partner=acme)
    with pytest.raises(ValidationError, match="at least one line"):
        orders.order_set_state(order=order, by=None, action="confirm")


def test_an_invoiced_order_cannot_be_cancelled_until_credited(
    acme: Partner, robot: Product
) -> None:
    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    orders.order_set_state(order=order, by=None, action="confirm")
    invoice = orders.order_invoice(order=order, by=None)
    Order.objects.filter(pk=order.pk).update(state=Order.State.CONFIRMED)
    with pytest.raises(ValidationError, match="has invoices"):
        orders.order_set_state(order=order, by=None, action="cancel")
    invoicing.invoice_cancel(invoice=invoice, by=None)
    assert orders.order_set_state(order=order, by=None, action="cancel").state == "cancelled"
    assert Invoice.objects.get(pk=invoice.pk).state == "cancelled"


def test_updating_a_quotations_header(acme: Partner, robot: Product) -> None:
    from goodwill.campaigns.models import Campaign
    from goodwill.partners.models import TimelineEntry

    spring = Campaign.objects.create(name="Spring", code="spring")
    order = orders.order_create(
        by=None, partner=acme, lines=[LineInput(product=robot)], order_date=DAY
    )
    orders.order_update(order=order, by=None, values={"reference": "RFQ-9", "campaign": spring})
    order.refresh_from_db()
    assert order.reference == "RFQ-9"
    assert order.campaign == spring
    assert order.lines.count() == 1  # lines untouched when none are given
    note = TimelineEntry.objects.filter(action="updated").latest("id")
    assert "reference: — → RFQ-9" in note.body

    usd = PriceList.objects.create(name="USD list", currency="USD")
    with pytest.raises(ValidationError, match="is in USD"):
        orders.order_update(order=order, by=None, values={"price_list": usd})
    with pytest.raises(ValidationError, match="cannot be set"):
        orders.order_update(order=order, by=None, values={"state": "done"})
    with pytest.raises(ValidationError, match="expire before"):
        orders.order_update(
            order=order, by=None, values={"valid_until": DAY - datetime.timedelta(days=1)}
        )
    order.refresh_from_db()
    assert order.price_list is None
    assert order.valid_until is None


def test_the_campaign_and_cases_follow_the_order_onto_its_invoice(
    acme: Partner, robot: Product
) -> None:
    from goodwill.campaigns.models import Campaign
    from tests.factories import CaseFactory

    spring = Campaign.objects.create(name="Spring", code="spring")
    case = CaseFactory(partner=acme)
    order = orders.order_create(
        by=None, partner=acme, lines=[LineInput(product=robot)], campaign=spring, cases=[case]
    )
    orders.order_set_state(order=order, by=None, action="confirm")
    invoice = orders.order_invoice(order=order, by=None)
    assert invoice.campaign == spring
    assert list(invoice.cases.all()) == [case]
    with pytest.raises(ValidationError, match="only a draft or sent quotation can change"):
        orders.order_update(order=order, by=None, values={"partner": PartnerFactory()})


def test_confirming_over_the_credit_limit_needs_a_managers_word(
    acme: Partner, robot: Product
) -> None:
    from goodwill.sales.models import ExchangeRate

    PartnerTerms.objects.create(partner=acme, credit_limit=D(3000))
    unpaid = invoicing.invoice_create(
        by=None,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=acme,
        lines=[LineInput(description="Old", unit_price=D(500), tax_rate=D(0))],
    )
    invoicing.invoice_post(invoice=unpaid, by=None)
    ExchangeRate.objects.create(currency="USD", valid_from=DAY, rate=D(2))
    dollars = orders.order_create(
        by=None,
        partner=acme,
        currency="USD",
        lines=[LineInput(description="US job", unit_price=D(1000), tax_rate=D(0))],
    )
    orders.order_set_state(order=dollars, by=None, action="confirm")  # 500 + 500: fine

    big = orders.order_create(
        by=None, partner=acme, lines=[LineInput(product=robot, quantity=D(2))]
    )
    check = orders.credit_check(big)
    assert check is not None
    assert (check.open_invoices, check.open_orders, check.this_order) == (D(500), D(500), D(2400))
    assert check.exceeded
    with pytest.raises(ValidationError, match="over Acme's credit limit") as error:
        orders.order_set_state(order=big, by=None, action="confirm")
    assert error.value.code == "credit_limit"
    big.refresh_from_db()
    assert big.state == Order.State.DRAFT

    orders.order_set_state(order=big, by=None, action="confirm", over_credit_limit=True)
    big.refresh_from_db()
    assert big.state == Order.State.CONFIRMED
    # Purchases and customers without a limit are not checked.
    purchase = orders.order_create(by=None, partner=acme, kind=Order.Kind.PURCHASE)
    assert orders.credit_check(purchase) is None


def test_the_order_page_warns_and_only_managers_override(
    maria_client: Any, bob_client: Any, acme: Partner, robot: Product
) -> None:
    PartnerTerms.objects.create(partner=acme, credit_limit=D(100))
    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    page = bob_client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert "Over the credit limit" in page
    assert "A manager can confirm it over the limit" in page
    refused = bob_client.post(f"/sales/orders/{order.pk}/confirm/", follow=True)
    assert "credit limit" in refused.content.decode()
    url = f"/sales/orders/{order.pk}/confirm/"
    assert bob_client.post(url, {"over_credit_limit": "1"}).status_code == 403
    order.refresh_from_db()
    assert order.state == Order.State.DRAFT
    assert (
        'data-action="confirm-over-limit"'
        in maria_client.get(f"/sales/orders/{order.pk}/").content.decode()
    )
    maria_client.post(url, {"over_credit_limit": "1"})
    order.refresh_from_db()
    assert order.state == Order.State.CONFIRMED
