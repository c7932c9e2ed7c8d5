"""The key case journey, in a real Chromium against the live server: create a case
from a partner page, reply (queued in the outbox), escalate, close, and find it
under "Closed this week"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from goodwill.accounts.models import User
from goodwill.cases.models import Case, OutboundMessage
from tests.factories import PartnerFactory, SectionFactory

pytestmark = pytest.mark.e2e


def test_a_manager_handles_a_case_from_the_partner_page_to_closed_this_week(
    manager_page: Page, manager: User
) -> None:
    page = manager_page
    page.on("dialog", lambda dialog: dialog.accept())
    management = SectionFactory(name="Management", code="MGMT", responsible=manager)
    SectionFactory(name="Support", code="SUPPORT", parent=management)
    acme = PartnerFactory(name="Acme Robotics", emails=["help@acme-robotics.example"])

    # From the partner page's Cases panel to a prefilled form.
    page.goto(f"/partners/{acme.pk}/")
    panel = page.get_by_role("region", name="Cases")
    expect(panel.get_by_text("No cases yet.")).to_be_visible()
    panel.get_by_role("link", name="New case").click()
    expect(page.get_by_role("heading", name="New case", level=1)).to_be_visible()
    expect(page.get_by_label("Requester email")).to_have_value("help@acme-robotics.example")
    page.get_by_label("Subject").fill("Gripper arm stalls under load")
    page.get_by_label("Type").select_option(label="Opportunity")
    expect(page.get_by_label("Expected revenue")).to_be_visible()
    expect(page.get_by_label("Root cause")).to_be_hidden()
    page.get_by_label("Type").select_option(label="Helpdesk request")
    expect(page.get_by_label("Expected revenue")).to_be_hidden()
    page.get_by_label("Section").select_option(label="Support")
    page.get_by_label("Description").fill("Since the last firmware update the arm stops at 4 kg.")
    page.get_by_role("button", name="Create and open").click()

    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get(subject="Gripper arm stalls under load")
    expect(page.locator("[data-state]")).to_have_text("Open")
    expect(page.get_by_text(f"Created case {case.reference}.")).to_be_visible()

    # Reply: queued in the outbox, shown without a reload.
    page.get_by_role("tab", name="Reply to requester").click()
    page.locator("#id_reply_body").fill("We are sending a technician tomorrow morning.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("queued for sending")).to_be_visible()
    expect(page.locator("#timeline .outbox-queued")).to_have_text("queued")
    message = OutboundMessage.objects.get(case=case)
    assert message.to == ["help@acme-robotics.example"]
    assert message.subject == f"[#{case.number}] Gripper arm stalls under load"

    # Escalate to the parent section and its responsible user.
    page.get_by_role("button", name="Escalate to Management").click()
    expect(page.get_by_text("Escalated to Management.")).to_be_visible()
    case.refresh_from_db()
    assert (case.section.code, case.responsible) == ("MGMT", manager)

    # Close.
    page.get_by_role("button", name="Close").click()
    expect(page.locator("[data-state]")).to_have_text("Done")
    expect(page.get_by_role("button", name="Reset to draft")).to_be_visible()

    # And find it under "Closed this week" after a reload of the list.
    page.goto("/cases/")
    page.get_by_role("link", name="Closed this week").click()
    expect(page).to_have_url(re.compile(r"filter=closed_week"))
    expect(page.locator("#case-results").get_by_role("link", name=case.reference)).to_be_visible()
    expect(page.get_by_role("link", name="Closed this week")).to_have_attribute(
        "aria-current", "page"
    )
