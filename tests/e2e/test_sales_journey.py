"""The sales journeys in a real Chromium: a quotation (typed in, or made from
the time recorded on a case), confirmed, invoiced, posted, partly paid, and
the open balance on the partner page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from goodwill.accounts.models import User
from goodwill.sales.models import Invoice, Order, Product
from tests.factories import CaseFactory, PartnerFactory

pytestmark = pytest.mark.e2e


def test_a_manager_goes_from_quotation_to_a_partial_payment(manager_page: Page) -> None:
    page = manager_page
    page.on("dialog", lambda dialog: dialog.accept())
    acme = PartnerFactory(name="Acme Robotics", currency="EUR")

    page.goto(f"/sales/orders/new/?partner={acme.pk}")
    expect(page.get_by_role("heading", name="New quotation or order", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    page.locator("[name=lines-0-description]").fill("Gripper retrofit")
    page.locator("[name=lines-0-quantity]").fill("2")
    page.locator("[name=lines-0-unit_price]").fill("500")
    page.locator("[name=lines-0-tax_rate]").fill("20")
    page.get_by_role("button", name="Create").click()

    expect(page).to_have_url(re.compile(r"/sales/orders/\d+/$"))
    order = Order.objects.get(partner=acme)
    assert order.amount_total == 1200
    page.locator("[data-action=confirm]").click()
    expect(page.locator("[data-action=invoice]")).to_be_visible()
    page.locator("[data-action=invoice]").click()

    expect(page).to_have_url(re.compile(r"/sales/invoices/\d+/$"))
    page.locator("[data-action=post]").click()
    invoice = Invoice.objects.get(order=order)
    expect(page.get_by_text(re.compile(r"INV/\d{4}/00001")).first).to_be_visible()
    page.get_by_role("link", name="Register payment").click()
    page.get_by_label("Amount").fill("400")
    page.get_by_role("button", name="Register").click()

    expect(page).to_have_url(re.compile(rf"/sales/invoices/{invoice.pk}/$"))
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_paid) == ("partial", 400)

    page.goto(f"/partners/{acme.pk}/")
    panel = page.get_by_role("region", name="Sales and balance")
    expect(panel.locator("[data-balance]")).to_have_text(re.compile(r"^800\.00"))


def test_from_a_case_to_a_partial_payment(manager_page: Page, manager: User) -> None:
    """Time recorded on a service request becomes a quotation, an order, an
    invoice and a partial payment; the partner page shows what is still open."""
    page = manager_page
    page.on("dialog", lambda dialog: dialog.accept())
    acme = PartnerFactory(name="Acme Robotics", currency="EUR")
    Product.objects.create(
        code="SUP-H",
        name="Support hour",
        kind=Product.Kind.SERVICE,
        unit=Product.Unit.HOUR,
        list_price=Decimal(80),
        tax_rate=Decimal(20),
    )
    case = CaseFactory(
        subject="Robot arm recalibration", partner=acme, type="service", state="open", by=manager
    )

    page.goto(f"/cases/{case.number}/")
    panel = page.locator("#work-panel")
    expect(panel.get_by_role("heading", name="Time and products")).to_be_visible()
    panel.get_by_text("Record time or a product").click()
    picker = panel.locator(".ts-control").first
    picker.click()
    page.keyboard.type("support")
    panel.locator(".ts-dropdown .option", has_text="Support hour").click()
    panel.get_by_label("Quantity (hours for time)").fill("2.5")
    panel.get_by_role("button", name="Record").click()
    expect(page.locator("#work-panel td.num", has_text="2.5 h")).to_be_visible()

    page.locator("#work-panel").get_by_role("button", name="Create quotation").click()
    expect(page).to_have_url(re.compile(r"/sales/orders/\d+/$"))
    order = Order.objects.get(partner=acme)
    assert order.amount_total == 240  # 2.5 h × 80, plus 20 % tax
    expect(page.get_by_role("link", name=re.compile(rf"#{case.number} Robot arm"))).to_be_visible()
    page.locator("[data-action=confirm]").click()
    expect(page.locator("[data-action=invoice]")).to_be_visible()
    page.locator("[data-action=invoice]").click()

    expect(page).to_have_url(re.compile(r"/sales/invoices/\d+/$"))
    page.locator("[data-action=post]").click()
    invoice = Invoice.objects.get(order=order)
    assert list(invoice.cases.all()) == [case]
    page.get_by_role("link", name="Register payment").click()
    page.get_by_label("Amount").fill("100")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(rf"/sales/invoices/{invoice.pk}/$"))

    page.goto(f"/partners/{acme.pk}/")
    balance = page.get_by_role("region", name="Sales and balance")
    expect(balance.locator("[data-balance]")).to_have_text(re.compile(r"^140\.00"))
    # The case tells where its work went.
    page.goto(f"/cases/{case.number}/")
    expect(page.locator("#work-panel a", has_text=order.number)).to_be_visible()
