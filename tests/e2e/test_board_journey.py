"""The kanban journey, in a real Chromium against the live server."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from goodwill.accounts.models import User
from goodwill.cases.models import Case
from tests.factories import CaseFactory, PartnerFactory, SectionFactory

pytestmark = pytest.mark.e2e


def drag(page: Page, card: Locator, target: Locator) -> None:
    """Drag with real pointer moves (SortableJS follows the pointer, step by step)."""
    start = card.bounding_box()
    assert start is not None
    x, y = start["x"] + start["width"] / 2, start["y"] + 12
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y + 12, steps=4)
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40, steps=15)
    # The columns can shift while the card travels; aim once more at the target.
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40, steps=4)
    page.mouse.up()


def test_a_manager_drags_a_card_to_the_next_stage_and_it_stays_there(
    manager_page: Page, manager: User
) -> None:
    """Dropping a card on another column saves the stage: the headers' totals update
    at once, and after a reload the card is still in its new column."""
    page = manager_page
    section = SectionFactory(name="Sales", code="SALES", stages=["New", "Proposal", "Won"])
    acme = PartnerFactory(name="Acme Robotics")
    case = CaseFactory(
        subject="Warehouse robots",
        section=section,
        type="opportunity",
        state="open",
        partner=acme,
        planned_revenue=Decimal("40000"),
        probability=25,
        by=manager,
    )
    CaseFactory(subject="Spare parts", section=section, type="opportunity", state="open")

    page.goto(f"/cases/kanban/?section={section.pk}&type=opportunity")
    expect(page.get_by_role("heading", name="Kanban", exact=True, level=1)).to_be_visible()
    page.wait_for_load_state("load")
    stages = {stage.name: stage.pk for stage in section.stages.all()}
    new = page.locator(f'.kanban-column[data-column="{stages["New"]}"]')
    proposal = page.locator(f'.kanban-column[data-column="{stages["Proposal"]}"]')
    card = new.locator(f'.kanban-card[data-number="{case.number}"]')
    expect(card).to_contain_text("Warehouse robots")
    expect(card).to_contain_text("Acme Robotics")
    expect(new.locator(".kanban-count")).to_have_text("2")
    expect(proposal.locator(".kanban-empty")).to_be_visible()

    drag(page, card, proposal.locator(".kanban-cards"))

    expect(page.locator("[data-board-status]")).to_have_text(f"#{case.number} moved to Proposal.")
    expect(proposal.locator(".kanban-count")).to_have_text("1")
    expect(new.locator(".kanban-count")).to_have_text("1")
    expect(proposal.locator(".kanban-totals")).to_contain_text("weighted 10,000")
    case.refresh_from_db()
    assert case.stage_id == stages["Proposal"]

    page.reload()
    page.wait_for_load_state("load")
    moved = proposal.locator(f'.kanban-card[data-number="{case.number}"]')
    expect(moved).to_contain_text("Warehouse robots")
    expect(new.locator(f'.kanban-card[data-number="{case.number}"]')).to_have_count(0)

    # A click on the card opens the case.
    moved.locator(".kc-subject").click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.number}/$"))
    assert Case.objects.get(pk=case.pk).stage_id == stages["Proposal"]
