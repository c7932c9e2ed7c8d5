from __future__ import annotations

import pytest
from django.core.management import call_command

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.partners.models import Partner


@pytest.mark.django_db
def test_createsuperuser_without_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-passphrase")
    call_command("createsuperuser", username="root", email="root@example.com", interactive=False)
    user = User.objects.get(username="root")
    assert user.is_superuser
    assert user.check_password("a-long-admin-passphrase")


@pytest.mark.django_db
def test_demo_load_only_twice_reuses_the_data(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo loads its users and partners once; a second run keeps them."""
    call_command("demo", "--load-only")
    first = capsys.readouterr().out
    assert "Demo data loaded" in first
    assert "alice    administrator" in first
    count = Partner.objects.count()
    assert 750 <= count <= 850
    assert User.objects.get(username="bob").groups.get().name == Role.AGENT
    # Automation: an SLA for Support, templates, and rules that validate.
    from goodwill.automation.models import Rule, SlaPolicy

    assert SlaPolicy.objects.filter(section__code="SUPPORT").exists()
    # Support's staff notifications go through the demo's template.
    from goodwill.mailgate.models import SectionMail

    row = SectionMail.objects.select_related("notify_template").get(section__code="SUPPORT")
    assert row.notify_template is not None
    assert row.notify_template.code == "staff-new-message"
    assert Rule.objects.count() == 6
    # Sales: documents with a history, open balances, and work on service requests.
    from goodwill.sales.models import Invoice, Order, Payment, WorkRecord
    from goodwill.sales.payments import partner_balances

    assert Order.objects.filter(kind="purchase").count() == 3
    posted = Invoice.objects.filter(kind="out_invoice", state__in=["posted", "partial", "paid"])
    assert posted.count() >= 12
    assert Invoice.objects.filter(kind="out_refund", state__in=["posted", "paid"]).exists()
    from goodwill.sales.models import CreditAllocation

    assert CreditAllocation.objects.exists()  # the credit note settled its invoice
    assert Payment.objects.filter(direction="in").exists()
    owing = list(posted.values_list("partner", flat=True).distinct())
    assert any(b.open_balance > 0 for pk in owing for b in partner_balances(partner=Partner(pk=pk)))
    assert WorkRecord.objects.filter(invoice__isnull=False).exists()
    assert WorkRecord.objects.filter(billable=True, invoice__isnull=True).exists()
    from goodwill.campaigns.models import Campaign
    from goodwill.sales.models import Shipment
    from goodwill.sales.shipments import on_time_by_supplier

    assert Campaign.objects.count() == 2
    assert Order.objects.filter(campaign__isnull=False).exists()
    assert Shipment.objects.filter(kind="receipt", state="done").count() == 3
    assert any(figures.late for figures in on_time_by_supplier().values())
    # A quotation waits over its customer's tight credit limit.
    from goodwill.sales.orders import credit_check

    tight = Order.objects.get(partner__terms__credit_limit=5000, state="sent")
    check = credit_check(tight)
    assert check is not None
    assert check.exceeded
    call_command("demo", "--load-only")
    assert "reusing it" in capsys.readouterr().out
    assert Partner.objects.count() == count
    assert Rule.objects.count() == 6
    assert Order.objects.filter(kind="purchase").count() == 3
