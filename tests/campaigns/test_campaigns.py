"""Campaigns: the services' checks, the picker's choices, the results a
campaign brought, and the pages per persona."""

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

from goodwill.accounts.models import User
from goodwill.campaigns import services
from goodwill.campaigns.models import Campaign
from goodwill.campaigns.results import campaign_results, campaign_revenue
from goodwill.campaigns.selectors import campaign_options
from goodwill.cases.models import Case, Section
from goodwill.partners.models import Partner
from goodwill.sales import invoicing, orders
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import ExchangeRate, Invoice, Order
from tests.factories import CaseFactory, PartnerFactory, SectionFactory

D = Decimal
TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def _campaign(**values: Any) -> Campaign:
    values.setdefault("name", "Spring fair")
    values.setdefault("code", "spring-fair")
    return services.campaign_save(by=None, values=values)


@pytest.fixture
def fair(db: None) -> Campaign:
    return _campaign(
        channel="event", start_date=days(-10), end_date=days(10), budget="5000", actual_cost="300"
    )


@pytest.fixture
def acme(db: None) -> Partner:
    return PartnerFactory(name="Acme", currency="EUR")


def _invoice(
    partner: Partner,
    amount: str,
    *,
    campaign: Campaign | None,
    kind: str = Invoice.Kind.CUSTOMER_INVOICE,
    currency: str = "EUR",
    post: bool = True,
) -> Invoice:
    invoice = invoicing.invoice_create(
        by=None,
        kind=kind,
        partner=partner,
        currency=currency,
        lines=[LineInput(description="Work", unit_price=D(amount), tax_rate=D(20))],
    )
    if post:
        invoice = invoicing.invoice_post(invoice=invoice, by=None)
    Invoice.objects.filter(pk=invoice.pk).update(campaign=campaign)
    return invoice


def _order(partner: Partner, campaign: Campaign | None) -> Order:
    order = orders.order_create(
        by=None, partner=partner, lines=[LineInput(description="Robot", unit_price=D(10))]
    )
    Order.objects.filter(pk=order.pk).update(campaign=campaign)
    return order


# --------------------------------------------------------------------------
# Services


def test_a_campaign_is_created_with_a_clean_code(db: None) -> None:
    campaign = _campaign(name="  Spring   fair ", code=" Spring-Fair_26 ", budget=D("1200.50"))
    assert (campaign.name, campaign.code, campaign.budget) == (
        "Spring fair",
        "spring-fair_26",
        D("1200.50"),
    )
    assert (campaign.channel, campaign.active, campaign.actual_cost) == ("email", True, D(0))


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"code": "spring fair"}, "code", "Use only letters a to z"),
        ({"code": ""}, "code", "Enter a code"),
        ({"code": "x" * 41}, "code", "Keep the code to 40 characters"),
        ({"name": " "}, "name", "Enter a name."),
        ({"budget": "-1"}, "budget", "Enter the budget as an amount of 0 or more."),
        ({"actual_cost": "-0.01"}, "actual_cost", "amount of 0 or more"),
        ({"budget": "1.001"}, "budget", "at most 2 decimals"),
        ({"budget": "lots"}, "budget", "amount of 0 or more"),
        ({"channel": "pigeon"}, "channel", "Choose a channel"),
        ({"start_date": "2026-13-01"}, "start_date", "as a date (YYYY-MM-DD)"),
        (
            {"start_date": "2026-05-10", "end_date": "2026-05-09"},
            "end_date",
            "cannot end before it starts",
        ),
    ],
)
def test_bad_values_are_refused_with_a_field_error(
    db: None, values: dict[str, Any], field: str, message: str
) -> None:
    values = {"name": "Fair", "code": "fair", **values}
    with pytest.raises(ValidationError) as caught:
        services.campaign_save(by=None, values=values)
    assert message in " ".join(caught.value.message_dict[field])
    assert not Campaign.objects.exists()


def test_codes_are_unique_whatever_their_case(fair: Campaign) -> None:
    with pytest.raises(ValidationError) as caught:
        _campaign(name="Other", code="SPRING-FAIR")
    assert caught.value.message_dict == {
        "code": ["The code spring-fair already belongs to Spring fair."]
    }
    services.campaign_save(by=None, campaign=fair, values={"code": "spring-fair"})  # its own


def test_an_update_keeps_what_it_does_not_set_and_checks_the_period(fair: Campaign) -> None:
    services.campaign_save(by=None, campaign=fair, values={"actual_cost": "450"})
    fair.refresh_from_db()
    assert (fair.actual_cost, fair.budget, fair.channel) == (D(450), D(5000), "event")
    with pytest.raises(ValidationError, match="cannot end before it starts"):
        services.campaign_save(by=None, campaign=fair, values={"end_date": days(-11)})
    with pytest.raises(ValidationError, match="Unknown campaign fields: created_by"):
        services.campaign_save(by=None, campaign=fair, values={"created_by": None})


def test_a_campaign_in_use_is_not_deleted(fair: Campaign, acme: Partner) -> None:
    spare = _campaign(name="Spare", code="spare")
    services.campaign_delete(by=None, campaign=spare)
    assert not Campaign.objects.filter(pk=spare.pk).exists()
    _order(acme, fair)
    with pytest.raises(ValidationError, match="make it inactive instead"):
        services.campaign_delete(by=None, campaign=fair)
    assert Campaign.objects.filter(pk=fair.pk).exists()


def test_campaign_options_are_the_active_campaigns_by_name(db: None) -> None:
    zeta = _campaign(name="Zeta", code="zeta")
    alpha = _campaign(name="Alpha", code="alpha")
    _campaign(name="Old", code="old", active=False)
    assert list(campaign_options()) == [alpha, zeta]


# --------------------------------------------------------------------------
# Results


def test_revenue_is_net_invoiced_untaxed(fair: Campaign, acme: Partner, maria: User) -> None:
    """Customer invoices minus credit notes, posted or paid, untaxed; drafts,
    vendor bills and other campaigns do not count."""
    _invoice(acme, "1000", campaign=fair)
    _invoice(acme, "200", campaign=fair, kind=Invoice.Kind.CUSTOMER_CREDIT)
    _invoice(acme, "999", campaign=fair, post=False)
    _invoice(acme, "777", campaign=fair, kind=Invoice.Kind.VENDOR_BILL)
    _invoice(acme, "555", campaign=None)
    results = campaign_results(campaign=fair, user=maria)
    assert results.revenue == D(800)
    assert (results.cost, results.margin, results.return_percent) == (D(300), D(500), D("166.7"))
    assert results.invoices_count == 4


def test_revenue_in_another_currency_is_converted_at_its_date(
    fair: Campaign, acme: Partner, maria: User, django_assert_max_num_queries: Any
) -> None:
    """Each day's total at that day's rate; without a rate it is left out and named."""
    _invoice(acme, "100", campaign=fair)
    _invoice(acme, "220", campaign=fair, currency="USD")
    results = campaign_results(campaign=fair, user=maria)
    assert (results.revenue, results.unconverted) == (D(100), ["USD"])
    ExchangeRate.objects.create(currency="USD", valid_from=days(-30), rate=D("1.1"))
    ExchangeRate.objects.create(currency="USD", valid_from=days(1), rate=D("2"))  # not yet
    with django_assert_max_num_queries(3):
        revenue = campaign_revenue(fair)
    assert (revenue.amount, revenue.unconverted) == (D(300), [])


def test_cases_follow_what_the_user_may_see(fair: Campaign, bob: User, maria: User) -> None:
    CaseFactory(subject="Visit our stand", campaign=fair)
    hidden = SectionFactory(name="Board", visibility=Section.Visibility.MEMBERS)
    CaseFactory(subject="Board only", campaign=fair, section=hidden)
    CaseFactory(subject="Unrelated")
    assert campaign_results(campaign=fair, user=maria).cases_count == 2
    seen = campaign_results(campaign=fair, user=bob)
    assert seen.cases_count == 1
    assert [c.subject for c in seen.cases] == ["Visit our stand"]
    assert Case.objects.filter(campaign=fair).count() == 2


# --------------------------------------------------------------------------
# Pages


def test_managers_create_edit_and_delete_campaigns(maria_client: Client) -> None:
    page = maria_client.get("/campaigns/").content.decode()
    assert "New campaign" in page
    assert "No active campaigns." in page
    response = maria_client.post(
        "/campaigns/new/",
        {
            "name": "Spring fair",
            "code": "spring-fair",
            "channel": "event",
            "start_date": days(-1).isoformat(),
            "end_date": days(5).isoformat(),
            "budget": "5000",
            "actual_cost": "120.50",
            "active": "on",
        },
    )
    campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.actual_cost == D("120.50")
    detail = maria_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert '<b data-figure="cost">120.50 EUR</b>' in detail
    assert "running" in detail
    form = maria_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="120.5"' in form
    response = maria_client.post(
        f"/campaigns/{campaign.pk}/edit/",
        {
            "name": "Spring fair 2026",
            "code": "spring-fair",
            "channel": "event",
            "budget": "10",
            "actual_cost": "0",
        },
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.active, campaign.start_date) == (
        "Spring fair 2026",
        False,
        None,
    )
    response = maria_client.post(f"/campaigns/{campaign.pk}/delete/")
    assert response["Location"] == "/campaigns/"
    assert not Campaign.objects.exists()


def test_form_errors_are_shown_next_to_their_fields(maria_client: Client, fair: Campaign) -> None:
    response = maria_client.post(
        "/campaigns/new/",
        {
            "name": "",
            "code": "SPRING-FAIR",
            "channel": "event",
            "start_date": "2026-05-10",
            "end_date": "2026-05-01",
            "budget": "-5",
            "actual_cost": "abc",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    assert errors["end_date"] == ["The campaign cannot end before it starts."]
    assert errors["budget"] == ["The budget cannot be negative."]
    assert errors["actual_cost"] == ["Enter a number."]
    response = maria_client.post(
        "/campaigns/new/",
        {
            "name": "Again",
            "code": "SPRING-FAIR",
            "channel": "event",
            "budget": "0",
            "actual_cost": "0",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["code"] == [
        "The code spring-fair already belongs to Spring fair."
    ]
    assert "already belongs to Spring fair" in response.content.decode()
    assert Campaign.objects.count() == 1


def test_deleting_a_campaign_in_use_is_a_message(
    maria_client: Client, fair: Campaign, acme: Partner
) -> None:
    _invoice(acme, "100", campaign=fair)
    response = maria_client.post(f"/campaigns/{fair.pk}/delete/", follow=True)
    assert any("make it inactive instead" in str(m) for m in response.context["messages"])
    assert Campaign.objects.filter(pk=fair.pk).exists()


def test_agents_only_see_campaigns(bob_client: Client, fair: Campaign, acme: Partner) -> None:
    order = _order(acme, fair)
    invoice = _invoice(acme, "1000", campaign=fair)
    CaseFactory(subject="Met at the fair", campaign=fair)
    page = bob_client.get("/campaigns/").content.decode()
    assert "Spring fair" in page
    assert "New campaign" not in page
    assert "Campaigns</a>" in page  # the sidebar link
    detail = bob_client.get(f"/campaigns/{fair.pk}/").content.decode()
    assert order.number in detail
    assert invoice.number in detail
    assert "Met at the fair" in detail
    assert '<span class="muted small" data-count="orders">1</span>' in detail
    assert '<b data-figure="revenue">1,000.00 EUR</b>' in detail
    assert '<b data-figure="margin">700.00 EUR</b>' in detail
    assert 'data-action="delete"' not in detail
    assert f"/campaigns/{fair.pk}/edit/" not in detail
    assert bob_client.get("/campaigns/new/").status_code == 403
    assert bob_client.post("/campaigns/new/", {"name": "X", "code": "x"}).status_code == 403
    assert bob_client.get(f"/campaigns/{fair.pk}/edit/").status_code == 403
    assert bob_client.post(f"/campaigns/{fair.pk}/delete/").status_code == 403
    assert Campaign.objects.filter(pk=fair.pk).exists()


@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused(
    persona: str, request: pytest.FixtureRequest, fair: Campaign
) -> None:
    client: Client = request.getfixturevalue(f"{persona}_client")
    for url in (
        "/campaigns/",
        "/campaigns/new/",
        f"/campaigns/{fair.pk}/",
        f"/campaigns/{fair.pk}/edit/",
        "/campaigns/999999/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/campaigns/{fair.pk}/delete/").status_code == 403
    assert client.post("/campaigns/new/", {"name": "X", "code": "x"}).status_code == 403
    assert Campaign.objects.filter(pk=fair.pk).exists()
    assert not Campaign.objects.filter(code="x").exists()


def test_anonymous_visitors_log_in_first(fair: Campaign) -> None:
    """Every campaign page sends a visitor to the login page and changes nothing."""
    anonymous = Client()
    for response in (
        anonymous.get("/campaigns/"),
        anonymous.get(f"/campaigns/{fair.pk}/"),
        anonymous.get("/campaigns/new/"),
        anonymous.get(f"/campaigns/{fair.pk}/edit/"),
        anonymous.post(f"/campaigns/{fair.pk}/delete/"),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert Campaign.objects.filter(pk=fair.pk).exists()


def test_missing_campaigns_are_404(maria_client: Client) -> None:
    assert maria_client.get("/campaigns/999999/").status_code == 404
    assert maria_client.get("/campaigns/999999/edit/").status_code == 404


def test_the_list_searches_and_filters(bob_client: Client, fair: Campaign) -> None:
    _campaign(name="Newsletter", code="news-may", channel="email", start_date=days(5))
    _campaign(
        name="Old ads",
        code="old-ads",
        channel="search",
        active=False,
        start_date=days(-90),
        end_date=days(-60),
    )
    _campaign(name="Summer ads", code="summer", channel="search", start_date=days(-3))

    def names(query: str) -> list[str]:
        response = bob_client.get(f"/campaigns/?{query}")
        assert response.status_code == 200
        return [c.name for c in response.context["page"].items]

    assert names("") == ["Newsletter", "Spring fair", "Summer ads"]
    assert names("status=all") == ["Newsletter", "Old ads", "Spring fair", "Summer ads"]
    assert names("status=inactive") == ["Old ads"]
    assert names("channel=search&status=all") == ["Old ads", "Summer ads"]
    assert names("running=1") == ["Spring fair", "Summer ads"]
    assert names("q=news") == ["Newsletter"]
    assert names("q=SUMM") == ["Summer ads"]
    assert names("channel=pigeon&status=weird") == ["Newsletter", "Spring fair", "Summer ads"]
    page = bob_client.get("/campaigns/?q=nothing").content.decode()
    assert "No campaign matches these filters." in page
    assert bob_client.get("/campaigns/?cursor=garbage").status_code == 302
    fragment = bob_client.get(
        "/campaigns/", headers={"HX-Request": "true", "HX-Target": "campaign-results"}
    )
    assert "<h1>" not in fragment.content.decode()


def test_the_list_costs_the_same_for_3_and_20_campaigns(bob_client: Client) -> None:
    def make(start: int, count: int) -> None:
        for n in range(start, start + count):
            _campaign(name=f"Campaign {n}", code=f"c-{n}", start_date=days(-n))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bob_client.get("/campaigns/?running=1").status_code == 200
        return len(captured)

    make(1, 3)
    few = queries()
    make(4, 17)
    assert queries() == few
