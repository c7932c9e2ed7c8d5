"""The demo cases of ``goodwill demo``: deterministic, saved by the services, spread in time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Q
from django.utils import timezone

from goodwill.accounts.demo import demo_users_load
from goodwill.accounts.models import User
from goodwill.cases.demo import (
    SECTIONS,
    TYPE_SECTIONS,
    DemoCasesPlan,
    demo_cases_load,
    demo_cases_plan,
    demo_cases_present,
)
from goodwill.cases.models import (
    Case,
    CaseLink,
    CaseState,
    CaseType,
    OutboundMessage,
    Section,
    Watcher,
)
from goodwill.cases.permissions import visible_cases
from goodwill.cases.selectors import (
    CaseFilters,
    calendar_cases,
    case_queryset,
    kanban_queryset,
    week_start,
)
from goodwill.ops.management.commands.demo import Command
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import MembershipInput
from tests.factories import PartnerFactory, PersonFactory

SEED = 2026


@pytest.fixture(scope="module")
def plan() -> DemoCasesPlan:
    return demo_cases_plan(seed=SEED)


def test_same_seed_gives_the_same_cases(plan: DemoCasesPlan) -> None:
    """A seed always gives the same plan; another seed gives other cases."""
    assert demo_cases_plan(seed=SEED) == plan
    other = demo_cases_plan(seed=SEED + 1)
    assert [c.subject for c in other.cases] != [c.subject for c in plan.cases]


def test_plan_covers_the_setup_and_every_kind_of_case(plan: DemoCasesPlan) -> None:
    """About 300 cases of every seeded type and state; the escalation chains and the
    private QUALITY section are as the demo promises; texts are fully filled in."""
    assert 280 <= len(plan.cases) <= 320
    assert {c.case_type for c in plan.cases} == set(TYPE_SECTIONS)
    sections = {s.code: s for s in plan.sections}
    assert sections["SUPPORT"].parent == "MANAGEMENT"
    assert sections["CLAIMS"].parent == "QUALITY"
    assert sections["QUALITY"].parent == "MANAGEMENT"
    assert sections["QUALITY"].visibility == Section.Visibility.MEMBERS
    assert "bob" not in sections["QUALITY"].members
    assert [s.name for s in sections["SALES"].stages] == [
        "New",
        "Qualified",
        "Proposition",
        "Negotiation",
        "Won",
    ]
    assert [s.name for s in sections["SUPPORT"].stages][2] == "Waiting on customer"
    for case in plan.cases:
        for text in (case.subject, case.description, *(s.text for s in case.steps)):
            assert "{" not in text, text
            assert "}" not in text, text
    assert plan.merges
    assert any(s.action == "escalate" for c in plan.cases for s in c.steps)
    assert any(c.this_week is not None for c in plan.cases)


def _partners() -> None:
    """A small partner base for the picks: customers and prospects with contacts,
    suppliers, a private customer, the staff's own records and the portal contact."""
    for index in range(8):
        flag = "is_customer" if index < 5 else "is_prospect" if index < 7 else "is_supplier"
        company = PartnerFactory(
            name=f"Company {index}",
            emails=[f"info@company{index}.example"],
            city="Lyon",
            country="FR",
            **{flag: True},
        )
        for person in range(2):
            PersonFactory(
                name=f"Contact {index}.{person}",
                emails=[f"contact{person}@company{index}.example"],
                is_customer=True,
                companies=[MembershipInput(company=company)],
            )
        if index == 0:
            PersonFactory(
                name="Paula Portal",
                emails=["paula@demo.goodwill.example"],
                is_customer=True,
                companies=[MembershipInput(company=company)],
            )
    PersonFactory(name="Private Person", emails=["private@mail.example"], is_customer=True)
    for username in ("alice", "bob", "chen", "maria"):
        PersonFactory(
            name=username.title(), emails=[f"{username}@demo.goodwill.example"], is_employee=True
        )


@pytest.mark.django_db
def test_load_saves_the_plan_through_the_services(plan: DemoCasesPlan) -> None:
    """Loading creates the sections through the setup services and every planned case
    through the case services: bob never sees QUALITY, the sales kanban has at least
    40 open opportunities, the calendar has this week's and next week's events,
    bob has open and late cases, several cases closed this week, and the history
    is spread over the past months. A second load changes nothing."""
    users = demo_users_load()
    _partners()
    assert demo_cases_present() is False

    demo_cases_load(users=users, seed=SEED)

    assert demo_cases_present() is True
    assert Case.objects.count() == len(plan.cases)
    assert set(Section.objects.values_list("code", flat=True)) == {s.code for s in SECTIONS}
    defaults = dict(CaseType.objects.values_list("code", "default_section__code"))
    assert defaults == TYPE_SECTIONS
    for code in TYPE_SECTIONS:
        planned = sum(1 for c in plan.cases if c.case_type == code)
        assert Case.objects.filter(case_type__code=code).count() == planned
    assert {s for s, _ in CaseState.choices} == set(Case.objects.values_list("state", flat=True))
    assert set(Case.objects.values_list("priority", flat=True)) == {1, 2, 3, 4, 5}
    assert Case.objects.filter(responsible__isnull=True).exists()
    assert Case.objects.filter(partner__isnull=False, contact__isnull=False).count() >= 150

    bob, chen, maria = users["bob"], users["chen"], users["maria"]
    quality = Case.objects.filter(section__code="QUALITY")
    assert quality.count() >= 5
    assert not visible_cases(bob).filter(section__code="QUALITY").exists()
    assert visible_cases(chen).filter(section__code="QUALITY").count() == quality.count()
    assert visible_cases(bob).count() > 200

    sales = Section.objects.get(code="SALES")
    opportunities = kanban_queryset(
        user=maria, section=sales, case_type=CaseType.objects.get(code="opportunity")
    )
    assert opportunities.filter(state=CaseState.OPEN).count() >= 40
    assert len(set(opportunities.values_list("stage__name", flat=True))) >= 4

    now = timezone.now()
    monday = week_start(now)
    this_week = calendar_cases(user=maria, start=monday, end=monday + timedelta(days=7))
    next_week = calendar_cases(
        user=maria, start=monday + timedelta(days=7), end=monday + timedelta(days=14)
    )
    assert len(this_week) >= 10
    assert len(next_week) >= 8
    assert calendar_cases(user=bob, start=monday, end=monday + timedelta(days=7), mine=True)

    def count(user: User, name: str) -> int:
        return case_queryset(user, CaseFilters(filter=name)).count()

    assert count(bob, "my_open") >= 3
    assert count(bob, "my_late") >= 2
    assert count(maria, "unassigned") >= 5
    assert 5 <= count(maria, "closed_week") <= 60

    # Replies wait in the outbox; watchers, links, a merge and escalations exist.
    assert OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED).count() >= 30
    assert Watcher.objects.filter(user__isnull=False).exists()
    assert Watcher.objects.exclude(email="").exists()
    assert CaseLink.objects.exists()
    assert Case.objects.filter(merged_into__isnull=False).count() == len(plan.merges)
    assert Case.objects.filter(section__code="MANAGEMENT").exists()
    assert Case.objects.filter(case_type__code="claim").exclude(root_cause="").exists()
    expenses = Case.objects.filter(case_type__code="expense")
    assert set(expenses.values_list("currency", flat=True)) == {"EUR", "USD"}
    assert {"requested", "approved", "rejected"} <= set(expenses.values_list("approval", flat=True))
    assert expenses.filter(final=True).exists()

    # The history is spread over the past months, consistently.
    cases = Case.objects.all()
    assert cases.filter(created_at__lt=now - timedelta(days=120)).exists()
    months = {(d.year, d.month) for d in cases.values_list("created_at", flat=True)}
    assert len(months) >= 6
    assert not cases.filter(
        Q(created_at__gt=now) | Q(updated_at__gt=now) | Q(closed_at__gt=now)
    ).exists()
    assert not cases.filter(Q(updated_at__lt=F("created_at")) | Q(closed_at__lt=F("created_at")))
    assert not cases.filter(state__in=[CaseState.DONE, CaseState.CANCEL], closed_at=None)
    assert not cases.filter(opened_at__isnull=False, opened_at__lt=F("created_at"))
    created = list(cases.order_by("number").values_list("created_at", flat=True))
    assert created == sorted(created)  # numbers grow with the creation dates
    entries = TimelineEntry.objects.filter(subject_type=ContentType.objects.get_for_model(Case))
    assert not entries.filter(created_at__gt=now).exists()
    assert entries.filter(created_at__lt=now - timedelta(days=60)).count() >= 100
    for case in cases.filter(merged_into=None).exclude(
        pk__in=cases.exclude(merged_into=None).values("merged_into")
    ):
        stamps = [e.created_at for e in entries if e.subject_id == case.pk]
        assert case.created_at <= min(stamps) <= max(stamps) <= case.updated_at, case

    # Loading again, as a second `goodwill demo` does, adds only what is missing
    # (here the demo mail, which opens a case of its own), then nothing.
    from goodwill.mailgate.demo import demo_mail_present

    assert demo_mail_present() is False
    assert Command().load(seed=SEED) is True
    assert demo_mail_present() is True
    assert Case.objects.count() == len(plan.cases) + 1
    assert Command().load(seed=SEED) is False
    assert Case.objects.count() == len(plan.cases) + 1
    assert Partner.objects.filter(name__startswith="Company").count() == 8


@pytest.mark.django_db
def test_an_existing_case_setup_counts_as_present() -> None:
    """A database whose sections were set up by hand gets no demo cases."""
    assert demo_cases_present() is False
    Section.objects.create(name="Support", code="SUP")
    assert demo_cases_present() is True
