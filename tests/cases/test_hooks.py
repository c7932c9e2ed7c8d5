"""How cases follow what happens to partners."""

from __future__ import annotations

from typing import Any

from goodwill.accounts.models import User
from goodwill.cases.models import Case
from goodwill.cases.selectors import CaseFilters, case_queryset
from goodwill.partners import services as partner_services
from tests.factories import CaseFactory, PartnerFactory


def test_renaming_a_partner_makes_its_cases_findable_by_the_new_name(
    alice: User, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    acme = PartnerFactory(name="Acme")
    case = CaseFactory(subject="Broken gear", partner=acme)
    with django_capture_on_commit_callbacks(execute=True):
        partner_services.partner_update(partner=acme, by=alice, name="Zenith Gears")
    found = case_queryset(alice, CaseFilters(q="zenith"))
    assert list(found) == [case]
    assert not case_queryset(alice, CaseFilters(q="acme")).exists()
    assert Case.objects.get(pk=case.pk).search_text.endswith("zenith gears")
