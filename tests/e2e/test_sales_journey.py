"""The sales journey in a real Chromium: a quotation for a partner, confirmed,
invoiced, posted, partly paid, and the open balance on the partner page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from goodwill.sales.models import Invoice, Order
from tests.factories import PartnerFactory

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
