"""The document pages: quotations and orders, invoices, payments, and the
partner page's "Sales and balance" panel, per persona."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, include, path
from django.utils import timezone

from goodwill import urls as root_urls
from goodwill.campaigns.models import Campaign
from goodwill.partners.models import Partner
from goodwill.sales import document_urls, invoicing, orders
from goodwill.sales.document_views import install_partner_panel
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import Invoice, Order, Payment, PaymentTerm, Product
from tests.factories import PartnerFactory

D = Decimal


def _with_document_pages() -> list[Any]:
    """The site's URLs, with the document pages in the "sales" namespace even
    before ``goodwill/sales/urls.py`` lists them (a no-op once it does)."""
    patterns: list[Any] = []
    for entry in root_urls.urlpatterns:
        if isinstance(entry, URLResolver) and entry.namespace == "sales":
            names = {getattr(p, "name", None) for p in entry.url_patterns}
            if "order_list" not in names:
                sales = [*entry.url_patterns, *document_urls.urlpatterns]
                entry = path(str(entry.pattern), include((sales, "sales")))
        patterns.append(entry)
    return patterns


urlpatterns = _with_document_pages()
pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR")


@pytest.fixture
def robot(db: None) -> Product:
    return Product.objects.create(
        code="R1", name="Robot arm", list_price=D(1000), cost=D(600), tax_rate=D(20)
    )


def _lines(*rows: dict[str, str], total: int | None = None) -> dict[str, str]:
    """Formset data for line rows (keys: product, description, quantity, …)."""
    count = total if total is not None else len(rows)
    data = {
        "lines-TOTAL_FORMS": str(count),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{index}-{key}"] = value
    return data


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _invoice(partner: Partner, product: Product, *, post: bool = True, **kwargs: Any) -> Invoice:
    invoice = invoicing.invoice_create(
        by=None,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=partner,
        lines=[LineInput(product=product, quantity=D(1))],
        **kwargs,
    )
    return invoicing.invoice_post(invoice=invoice, by=None) if post else invoice


# --------------------------------------------------------------------------
# The journey


def test_quotation_to_paid_invoice_and_the_partner_panel(
    maria_client: Client, acme: Partner, robot: Product
) -> None:
    """A quotation is created, sent, confirmed and invoiced; the invoice is
    posted and partly paid, and the partner panel shows what is still open."""
    net30 = PaymentTerm.objects.create(name="Net 30", net_days=30)
    page = maria_client.get(f"/sales/orders/new/?partner={acme.pk}")
    assert page.status_code == 200
    assert f'<option value="{acme.pk}" selected>Acme</option>' in page.content.decode()

    response = maria_client.post(
        "/sales/orders/new/",
        {
            "kind": "sale",
            "partner": str(acme.pk),
            "order_date": "2026-03-01",
            "payment_term": str(net30.pk),
            **_lines(
                {"product": str(robot.pk), "quantity": "2"},
                {"description": "Installation", "quantity": "1", "unit_price": "150"},
                {},
                total=3,
            ),
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/sales/orders/{order.pk}/"
    assert order.amount_untaxed == D("2150.00")
    assert order.amount_total == D("2550.00")  # tax 20 % on the robot, none on the service
    detail = maria_client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert "Robot arm" in detail
    assert "Installation" in detail
    assert 'data-action="send"' in detail
    assert 'data-action="confirm"' in detail
    assert 'data-action="invoice"' not in detail

    for action, state in (("send", "sent"), ("confirm", "confirmed")):
        response = maria_client.post(f"/sales/orders/{order.pk}/{action}/", follow=True)
        order.refresh_from_db()
        assert order.state == state
        assert f"{order.number} is now {state}." in _messages(response)
    detail = maria_client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert 'data-action="invoice"' in detail
    assert 'data-action="send"' not in detail

    response = maria_client.post(f"/sales/orders/{order.pk}/invoice/")
    invoice = Invoice.objects.get()
    assert response["Location"] == f"/sales/invoices/{invoice.pk}/"
    assert invoice.state == "draft"
    assert invoice.order == order
    assert invoice.amount_total == D("2550.00")

    response = maria_client.post(f"/sales/invoices/{invoice.pk}/post/", follow=True)
    invoice.refresh_from_db()
    assert invoice.state == "posted"
    assert invoice.number.startswith("INV/")
    assert invoice.due_date == invoice.invoice_date + datetime.timedelta(days=30)  # type: ignore[operator]

    form = maria_client.get(f"/sales/invoices/{invoice.pk}/payment/").content.decode()
    assert 'value="2550"' in form  # the amount defaults to what is left to pay
    response = maria_client.post(
        f"/sales/invoices/{invoice.pk}/payment/",
        {"amount": "1000", "payment_date": "2026-03-10", "method": "bank", "reference": "TX1"},
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.state == "partial"
    assert invoice.amount_paid == D("1000")
    payment = Payment.objects.get()
    assert (payment.direction, payment.amount_allocated) == ("in", D("1000"))
    detail = maria_client.get(f"/sales/invoices/{invoice.pk}/").content.decode()
    assert "TX1" in detail
    assert "1,550.00 EUR" in detail

    panel = maria_client.get(f"/sales/partner/{acme.pk}/summary/").content.decode()
    assert "Sales and balance" in panel
    assert 'data-currency="EUR"' in panel
    assert "1,550.00" in panel  # the open balance, not yet due
    assert invoice.number in panel
    assert order.number in panel
    assert "New quotation" in panel
    assert "New invoice" in panel


def test_the_panel_ages_an_overdue_balance(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    """An invoice due 45 days ago sits in the 31–60 bucket, highlighted as overdue."""
    term = PaymentTerm.objects.create(name="Net 10", net_days=10)
    invoice = _invoice(acme, robot, payment_term=term, post=False)
    invoicing.invoice_post(
        invoice=invoice, by=None, on=timezone.localdate() - datetime.timedelta(days=55)
    )
    response = bob_client.get(f"/sales/partner/{acme.pk}/summary/")
    panel = response.content.decode()
    [balance] = response.context["balances"]
    assert balance.aging["days_31_60"] == 1200
    assert sum(balance.aging.values()) == 1200
    assert '<td class="num overdue">1,200.00</td>' in panel
    assert "1,200.00 EUR overdue" in panel
    assert "New quotation" in panel
    assert "New invoice" not in panel  # agents do not draft invoices
    detail = bob_client.get(f"/sales/invoices/{invoice.pk}/").content.decode()
    assert "doc-overdue" in detail


def test_the_panel_is_registered_on_the_partner_page(bob_client: Client, acme: Partner) -> None:
    install_partner_panel()
    install_partner_panel()  # idempotent
    page = bob_client.get(f"/partners/{acme.pk}/").content.decode()
    assert page.count(f'hx-get="/sales/partner/{acme.pk}/summary/"') == 1


# --------------------------------------------------------------------------
# Forms


def test_bad_lines_are_shown_next_to_their_fields(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    """A zero quantity, a discount over 100 and a line with neither a price
    nor a product come back as a 400 with the errors beside the fields."""
    response = bob_client.post(
        "/sales/orders/new/",
        {
            "kind": "sale",
            "partner": str(acme.pk),
            "order_date": "2026-03-01",
            **_lines(
                {"product": str(robot.pk), "quantity": "0"},
                {"product": str(robot.pk), "quantity": "1", "discount_percent": "150"},
                {"description": "Travel", "quantity": "abc"},
                {"description": "Consulting", "quantity": "1"},
            ),
        },
    )
    assert response.status_code == 400
    formset = response.context["formset"]
    assert formset.forms[0].errors["quantity"] == ["The quantity must be more than zero."]
    assert formset.forms[1].errors["discount_percent"] == [
        "Ensure this value is less than or equal to 100."
    ]
    assert formset.forms[2].errors["quantity"] == ["Enter a number."]
    assert formset.forms[3].errors["unit_price"] == ["Give a price or pick a product."]
    assert Order.objects.count() == 0


def test_an_order_needs_a_partner_and_a_line(bob_client: Client) -> None:
    response = bob_client.post(
        "/sales/orders/new/", {"kind": "sale", "order_date": "2026-03-01", **_lines({}, total=1)}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["partner"] == ["This field is required."]
    assert "Add at least one line" in response.content.decode()


def test_a_service_error_lands_on_its_line(
    maria_client: Client, acme: Partner, robot: Product
) -> None:
    """A price the price list cannot give in the document's currency is named on that line."""
    response = maria_client.post(
        "/sales/invoices/new/",
        {
            "kind": "out_invoice",
            "partner": str(acme.pk),
            "currency": "USD",
            **_lines(
                {"description": "Fee", "quantity": "1", "unit_price": "5"},
                {"product": str(robot.pk), "quantity": "1"},
            ),
        },
    )
    assert response.status_code == 400
    errors = response.context["formset"].forms[1].errors["unit_price"]
    assert errors == ["The price is in EUR, the document in USD; give the price."]


def test_a_payment_above_the_residual_is_refused(
    maria_client: Client, acme: Partner, robot: Product
) -> None:
    invoice = _invoice(acme, robot)
    response = maria_client.post(
        f"/sales/invoices/{invoice.pk}/payment/",
        {"amount": "5000", "payment_date": "2026-03-10", "method": "bank"},
    )
    assert response.status_code == 400
    assert "left to pay" in response.context["form"].errors["amount"][0]
    response = maria_client.post(
        f"/sales/invoices/{invoice.pk}/payment/",
        {"amount": "-1", "payment_date": "", "method": "gold"},
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"amount", "payment_date", "method"}
    assert Payment.objects.count() == 0


def test_editing_lines_of_a_quotation_and_of_a_draft_invoice(
    maria_client: Client, acme: Partner, robot: Product
) -> None:
    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    page = maria_client.get(f"/sales/orders/{order.pk}/edit/").content.decode()
    assert 'value="1000"' in page
    spring = Campaign.objects.create(name="Spring", code="spring")
    header = {
        "partner": str(acme.pk),
        "order_date": str(order.order_date),
        "valid_until": str(order.order_date + datetime.timedelta(days=30)),
        "currency": "EUR",
        "reference": "RFQ-12",
        "campaign": str(spring.pk),
    }
    response = maria_client.post(
        f"/sales/orders/{order.pk}/edit/",
        {**header, **_lines({"product": str(robot.pk), "quantity": "3"})},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.amount_untaxed == D("3000.00")
    assert (order.reference, order.campaign) == ("RFQ-12", spring)
    assert order.valid_until == order.order_date + datetime.timedelta(days=30)
    # A header error shows on the form and saves nothing.
    bad = {**header, "valid_until": str(order.order_date - datetime.timedelta(days=1))}
    response = maria_client.post(
        f"/sales/orders/{order.pk}/edit/",
        {**bad, **_lines({"product": str(robot.pk), "quantity": "5"})},
    )
    assert response.status_code == 400
    assert b"cannot expire before its date" in response.content
    order.refresh_from_db()
    assert order.amount_untaxed == D("3000.00")
    # Once confirmed, the order no longer changes.
    orders.order_set_state(order=order, by=None, action="confirm")
    response = maria_client.post(f"/sales/orders/{order.pk}/edit/", header, follow=True)
    assert b"it cannot change" in response.content

    invoice = _invoice(acme, robot, post=False)
    response = maria_client.post(
        f"/sales/invoices/{invoice.pk}/edit/",
        {
            "partner": str(acme.pk),
            "currency": "EUR",
            "reference": "PO-77",
            **_lines({"description": "Service", "quantity": "2", "unit_price": "50"}),
        },
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.reference, invoice.amount_total) == ("PO-77", D("100.00"))


def test_credit_note_and_cancelled_draft(
    maria_client: Client, acme: Partner, robot: Product
) -> None:
    invoice = _invoice(acme, robot)
    response = maria_client.post(f"/sales/invoices/{invoice.pk}/credit-note/")
    refund = Invoice.objects.get(origin=invoice)
    assert response["Location"] == f"/sales/invoices/{refund.pk}/"
    assert (refund.kind, refund.state) == ("out_refund", "draft")
    maria_client.post(f"/sales/invoices/{refund.pk}/cancel/")
    refund.refresh_from_db()
    assert refund.state == "cancelled"
    response = maria_client.post(f"/sales/invoices/{invoice.pk}/cancel/", follow=True)
    invoice.refresh_from_db()
    assert invoice.state == "posted"
    assert any("correct them with a credit note" in m for m in _messages(response))


def test_a_wrong_state_move_is_a_message_not_an_error(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    order = orders.order_create(by=None, partner=acme)
    response = bob_client.post(f"/sales/orders/{order.pk}/confirm/", follow=True)
    assert response.status_code == 200
    assert "Add at least one line before confirming." in _messages(response)
    assert bob_client.post(f"/sales/orders/{order.pk}/explode/").status_code == 404


def test_a_purchase_order_becomes_a_vendor_bill_paid_outwards(
    maria_client: Client, acme: Partner, robot: Product
) -> None:
    """Purchases take the product's cost; the bill is paid to the supplier."""
    order = orders.order_create(
        by=None, partner=acme, kind="purchase", lines=[LineInput(product=robot)]
    )
    orders.order_set_state(order=order, by=None, action="confirm")
    response = maria_client.post(f"/sales/orders/{order.pk}/invoice/")
    bill = Invoice.objects.get(order=order)
    assert response["Location"] == f"/sales/invoices/{bill.pk}/"
    assert bill.kind == "in_invoice"
    assert bill.amount_untaxed == D("600.00")
    maria_client.post(f"/sales/invoices/{bill.pk}/post/")
    page = maria_client.get(f"/sales/invoices/{bill.pk}/").content.decode()
    assert "Vendor refund" in page
    response = maria_client.post(
        f"/sales/invoices/{bill.pk}/payment/",
        {"amount": "720", "payment_date": "2026-03-10", "method": "cheque"},
    )
    assert response.status_code == 302
    bill.refresh_from_db()
    assert bill.state == "paid"
    assert Payment.objects.get().direction == "out"
    response = maria_client.get(f"/sales/invoices/{bill.pk}/payment/", follow=True)
    assert any("nothing left to pay" in m for m in _messages(response))


# --------------------------------------------------------------------------
# Permissions


def test_agents_draft_orders_but_cannot_post_or_take_payments(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    draft = _invoice(acme, robot, post=False)
    posted = _invoice(acme, robot)
    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    orders.order_set_state(order=order, by=None, action="confirm")
    assert (
        'data-action="invoice"' not in bob_client.get(f"/sales/orders/{order.pk}/").content.decode()
    )
    assert bob_client.post(f"/sales/orders/{order.pk}/invoice/").status_code == 403
    assert bob_client.get(f"/sales/invoices/{posted.pk}/").status_code == 200
    assert bob_client.get("/sales/orders/new/").status_code == 200
    assert bob_client.post(f"/sales/invoices/{draft.pk}/post/").status_code == 403
    assert bob_client.post(f"/sales/invoices/{draft.pk}/cancel/").status_code == 403
    assert bob_client.get(f"/sales/invoices/{posted.pk}/payment/").status_code == 403
    assert (
        bob_client.post(
            f"/sales/invoices/{posted.pk}/payment/",
            {"amount": "1", "payment_date": "2026-03-10", "method": "bank"},
        ).status_code
        == 403
    )
    assert bob_client.get("/sales/invoices/new/").status_code == 403
    assert bob_client.post(f"/sales/invoices/{posted.pk}/credit-note/").status_code == 403
    draft.refresh_from_db()
    assert draft.state == "draft"
    assert Payment.objects.count() == 0
    page = bob_client.get(f"/sales/invoices/{posted.pk}/").content.decode()
    assert "Register payment" not in page
    assert 'data-action="post"' not in page


@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused(
    persona: str, request: pytest.FixtureRequest, acme: Partner, robot: Product
) -> None:
    client: Client = request.getfixturevalue(f"{persona}_client")
    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    invoice = _invoice(acme, robot)
    for url in (
        "/sales/orders/",
        "/sales/orders/new/",
        f"/sales/orders/{order.pk}/",
        "/sales/invoices/",
        f"/sales/invoices/{invoice.pk}/",
        f"/sales/invoices/{invoice.pk}/payment/",
        f"/sales/partner/{acme.pk}/summary/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/sales/orders/{order.pk}/send/").status_code == 403
    assert client.post(f"/sales/orders/{999999}/send/").status_code == 403  # no probing
    order.refresh_from_db()
    assert order.state == "draft"


def test_anonymous_visitors_log_in_first(db: None) -> None:
    response = Client().get("/sales/invoices/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_missing_documents_are_404(maria_client: Client) -> None:
    assert maria_client.get("/sales/orders/999999/").status_code == 404
    assert maria_client.get("/sales/invoices/999999/").status_code == 404


# --------------------------------------------------------------------------
# Lists


def test_lists_filter_search_and_show_an_empty_state(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    other = PartnerFactory(name="Globex", currency="EUR")
    mine = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    theirs = orders.order_create(
        by=None, partner=other, lines=[LineInput(product=robot)], kind="purchase"
    )
    page = bob_client.get("/sales/orders/?kind=purchase").content.decode()
    assert theirs.number in page
    assert mine.number not in page
    page = bob_client.get(f"/sales/orders/?partner={acme.pk}").content.decode()
    assert mine.number in page
    assert theirs.number not in page
    page = bob_client.get("/sales/orders/?q=glob").content.decode()
    assert theirs.number in page
    assert mine.number not in page
    page = bob_client.get("/sales/orders/?state=confirmed&kind=bogus").content.decode()
    assert "No quotation or order matches these filters." in page
    invoice = _invoice(acme, robot)
    page = bob_client.get(f"/sales/invoices/?q={invoice.number}").content.decode()
    assert f"/sales/invoices/{invoice.pk}/" in page
    page = bob_client.get("/sales/invoices/?state=paid").content.decode()
    assert "No invoice matches these filters." in page
    response = bob_client.get("/sales/invoices/?cursor=garbage")
    assert response.status_code == 302


def test_list_pages_cost_the_same_for_3_and_20_documents(
    bob_client: Client, acme: Partner, robot: Product
) -> None:
    def make(count: int) -> None:
        for _ in range(count):
            orders.order_create(by=None, partner=PartnerFactory(), lines=[LineInput(product=robot)])
            _invoice(acme, robot)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bob_client.get(url).status_code == 200
        return len(captured)

    make(3)
    few = (queries("/sales/orders/"), queries("/sales/invoices/"))
    make(17)
    assert (queries("/sales/orders/"), queries("/sales/invoices/")) == few


def test_pages_walk_forward_and_back(
    bob_client: Client, acme: Partner, robot: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("goodwill.sales.document_views.PAGE_SIZE", 2)
    made = [
        orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
        for _ in range(5)
    ]
    first = bob_client.get("/sales/orders/")
    page = first.context["page"]
    assert [o.pk for o in page.items] == [made[4].pk, made[3].pk]
    second = bob_client.get(f"/sales/orders/?cursor={page.next_cursor}").context["page"]
    assert [o.pk for o in second.items] == [made[2].pk, made[1].pk]
    back = bob_client.get(f"/sales/orders/?cursor={second.prev_cursor}").context["page"]
    assert [o.pk for o in back.items] == [made[4].pk, made[3].pk]
    fragment = bob_client.get(
        "/sales/orders/", headers={"HX-Request": "true", "HX-Target": "document-results"}
    )
    assert "<h1>" not in fragment.content.decode()


def test_administrators_get_the_create_buttons(alice_client: Client) -> None:
    """Administrators see the document lists with their create buttons."""
    assert "New quotation" in alice_client.get("/sales/orders/").content.decode()
    assert "New invoice" in alice_client.get("/sales/invoices/").content.decode()


def test_the_partner_timeline_links_documents_and_hides_them_from_whom_may_not_see_them(
    bob_client: Client, acme: Partner, robot: Product, db: None
) -> None:
    from django.contrib.auth.models import Group, Permission

    from tests.conftest import login
    from tests.factories import UserFactory

    order = orders.order_create(by=None, partner=acme, lines=[LineInput(product=robot)])
    invoice = _invoice(acme, robot)
    page = bob_client.get(f"/partners/{acme.pk}/").content.decode()
    assert f'href="/sales/orders/{order.pk}/">{order.number}</a>' in page
    assert f'href="/sales/invoices/{invoice.pk}/">{invoice.number}</a>' in page

    # A role that sees partners but no commercial documents does not see their entries.
    readers = Group.objects.create(name="Partner readers")
    readers.permissions.add(
        *Permission.objects.filter(codename__in=["access_staff_ui", "view_partner"])
    )
    reader = UserFactory(username="reader", roles=[])
    reader.groups.add(readers)
    page = login(reader).get(f"/partners/{acme.pk}/").content.decode()
    assert order.number not in page
    assert invoice.number not in page


def test_amounts_show_their_currencys_decimals(maria_client: Client, db: None) -> None:
    tokyo = PartnerFactory(name="Tokyo KK", currency="JPY")
    invoice = invoicing.invoice_create(
        by=None,
        kind=Invoice.Kind.CUSTOMER_INVOICE,
        partner=tokyo,
        lines=[LineInput(description="Part", quantity=D(3), unit_price=D(4115), tax_rate=D(10))],
    )
    invoicing.invoice_post(invoice=invoice, by=None)
    page = maria_client.get(f"/sales/invoices/{invoice.pk}/").content.decode()
    assert "13,580 JPY" in page  # 12,345 + 1,235 tax, no ".00"
    assert "13,580.00" not in page
    statement = maria_client.get(f"/sales/partner/{tokyo.pk}/statement/").content.decode()
    assert "13,580" in statement
    assert "13,580.00" not in statement
    panel = maria_client.get(f"/sales/partner/{tokyo.pk}/summary/").content.decode()
    assert "13,580.00" not in panel
