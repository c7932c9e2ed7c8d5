"""The case page shows the SLA clocks: due times, business time left, status."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from goodwill.accounts.models import User
from goodwill.automation.models import BusinessCalendar, SlaPolicy
from tests.factories import CaseFactory, SectionFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def test_the_case_page_shows_the_clocks_and_a_case_without_policy_shows_none(
    maria: User, maria_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    support = SectionFactory(code="SUPPORT", name="Support")
    other = SectionFactory(code="OTHER", name="Other")
    calendar = BusinessCalendar.objects.create(
        name="Office",
        timezone="Europe/Paris",
        hours=[{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
    )
    SlaPolicy.objects.create(
        name="Support 4h", section=support, calendar=calendar, first_response_hours=Decimal(4)
    )
    with time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            covered = CaseFactory(section=support, state="open")
            uncovered = CaseFactory(section=other, state="open")
        page = maria_client.get(f"/cases/{covered.number}/").content.decode()
        plain = maria_client.get(f"/cases/{uncovered.number}/").content.decode()
    assert "Service level" in page
    assert "Support 4h" in page
    assert "First response" in page
    assert "4 h 00 min of business time left" in page
    assert "On track" in page
    assert "Service level" not in plain


def test_the_case_list_filters_and_marks_breached_cases(
    maria_client: Client,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    from goodwill.automation.models import CaseSla, SlaStatus

    support = SectionFactory(code="SUPPORT", name="Support")
    SlaPolicy.objects.create(name="Fast", section=support, first_response_hours=Decimal(1))
    with django_capture_on_commit_callbacks(execute=True):
        cases = [CaseFactory(section=support, state="open", subject=f"Case {n}") for n in range(12)]
    CaseSla.objects.filter(case__in=cases[:3]).update(status=SlaStatus.BREACHED)
    with django_assert_max_num_queries(15):
        page = maria_client.get("/cases/?filter=sla_breached").content.decode()
    assert page.count("SLA breached") >= 3
    assert "Case 0" in page
    assert "Case 11" not in page
    everything = maria_client.get("/cases/?filter=all").content.decode()
    assert everything.count("sla-badge sla-breached") == 3
