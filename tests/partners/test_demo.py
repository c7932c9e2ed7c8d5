"""The demo partners of ``goodwill demo``: deterministic, multilingual, saved by the services."""

from __future__ import annotations

import unicodedata

import phonenumbers
import pytest
from django.db.models import Count

from goodwill.accounts.demo import demo_users_load
from goodwill.lib.emailaddr import email_normalise
from goodwill.partners.demo import (
    OWN_COMPANY,
    DemoPlan,
    demo_partners_load,
    demo_partners_plan,
    demo_partners_present,
)
from goodwill.partners.models import (
    Category,
    Membership,
    Partner,
    PartnerEmail,
    PartnerPhone,
    TimelineEntry,
)

SEED = 2026


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return demo_partners_plan(seed=SEED)


def _is_cjk(name: str) -> bool:
    return any(unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH") for char in name)


def _has_accent(name: str) -> bool:
    return any(
        unicodedata.decomposition(char) or char in "łŁøØæßđ" for char in name if char.isalpha()
    )


def test_same_seed_gives_the_same_partners(plan: DemoPlan) -> None:
    """A seed always gives the same plan, down to emails and phone numbers; another
    seed gives other partners."""
    assert demo_partners_plan(seed=SEED) == plan
    other = demo_partners_plan(seed=SEED + 1)
    assert [p.name for p in other.partners] != [p.name for p in plan.partners]


def test_plan_is_international(plan: DemoPlan) -> None:
    """Companies come from at least twelve countries; people have native names, with
    accents and in Chinese or Japanese script."""
    companies = [p for p in plan.partners if p.kind == Partner.Kind.COMPANY]
    assert len({p.addresses[0].country for p in companies}) >= 12
    names = [p.name for p in plan.partners if p.kind == Partner.Kind.PERSON]
    assert sum(_has_accent(name) for name in names) >= 50
    assert sum(_is_cjk(name) for name in names) >= 20
    assert any(_is_cjk(p.name) for p in companies)


def test_plan_contact_details_are_valid(plan: DemoPlan) -> None:
    """Every phone number is valid and unique; every email is valid and ASCII."""
    numbers = [phone.number for p in plan.partners for phone in p.phones]
    assert len(numbers) == len(set(numbers))
    for number in numbers:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
    emails = [e.email for p in plan.partners for e in p.emails]
    emails += [job.work_email for p in plan.partners for job in p.jobs if job.work_email]
    for email in emails:
        assert email.isascii()
        assert email_normalise(email) == email


@pytest.mark.django_db
def test_load_saves_the_plan_through_the_services(plan: DemoPlan) -> None:
    """Loading stores about 200 companies and 600 people with exactly the planned
    names, valid phones, hierarchical categories, contacts of two companies, groups,
    notes by several people, edits and archived partners; afterwards the demo data
    count as present."""
    users = demo_users_load()
    assert demo_partners_present() is False

    demo_partners_load(users=users, seed=SEED)

    assert demo_partners_present() is True
    assert 190 <= Partner.objects.filter(kind=Partner.Kind.COMPANY).count() <= 210
    assert 570 <= Partner.objects.filter(kind=Partner.Kind.PERSON).count() <= 630
    assert sorted(Partner.objects.values_list("name", flat=True)) == sorted(
        p.name for p in plan.partners
    )

    stored_phones = list(PartnerPhone.objects.values_list("number", flat=True))
    stored_phones += Membership.objects.exclude(work_phone="").values_list("work_phone", flat=True)
    assert stored_phones
    for number in stored_phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
    assert PartnerEmail.objects.filter(email="maria@demo.goodwill.example").exists()

    two_companies = Partner.objects.annotate(companies=Count("memberships")).filter(
        companies__gte=2
    )
    assert two_companies.count() >= 30
    assert Partner.objects.filter(parent__isnull=False).count() >= 10
    assert Partner.objects.filter(is_employee=True, memberships__company__name=OWN_COMPANY).exists()
    assert Category.objects.filter(parent__parent__isnull=False).exists()  # three levels
    assert Partner.objects.filter(categories__name="Automotive").exists()

    notes = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.NOTE)
    assert notes.count() >= 200
    assert set(notes.values_list("author__username", flat=True)) == {
        "alice",
        "maria",
        "bob",
        "chen",
    }
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.FIELD_CHANGE).count() >= 20
    assert 1 <= Partner.objects.filter(active=False).count() <= 20
