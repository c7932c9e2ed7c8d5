"""Who may change the case setup, and the objects the setup pages load.

Managers and administrators configure sections, case types, categories and
stages; agents only use them (403). The role is checked before any lookup, so
an outsider cannot probe which ids exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from goodwill.cases.models import CaseCategory, CaseType, Section, Stage
from goodwill.cases.permissions import check_config, visible_sections

ACTIONS = ("add", "change", "delete")


def can_setup(user: Any, what: str, action: str = "change") -> bool:
    try:
        check_setup(user, what, action)
    except PermissionDenied:
        return False
    return True


def check_setup(user: Any, what: str, action: str = "change") -> None:
    """*what* is section, casetype, casecategory or stage; *action* add, change or delete."""
    check_config(user, what)
    if action not in ACTIONS:
        raise ValueError(action)
    if action != "change" and not user.has_perm(f"cases.{action}_{what}"):
        raise PermissionDenied(f"Your role does not allow you to {action} this.")


def get_section_for_setup(
    user: Any, pk: int, *, what: str = "section", action: str = "change"
) -> Section:
    """Section *pk* for the setup pages; *what*/*action* name the change being made
    (adding a stage to a section needs ``stage``/``add``, not a section permission)."""
    check_setup(user, what, action)
    try:
        return visible_sections(user).select_related("parent", "responsible").get(pk=pk)
    except Section.DoesNotExist:
        raise Http404("No such section.") from None


def get_case_type_for_user(user: Any, pk: int) -> CaseType:
    check_setup(user, "casetype")
    try:
        return CaseType.objects.select_related("default_section").get(pk=pk)
    except CaseType.DoesNotExist:
        raise Http404("No such case type.") from None


def get_category_for_user(user: Any, pk: int, *, action: str = "change") -> CaseCategory:
    check_setup(user, "casecategory", action)
    try:
        return CaseCategory.objects.select_related("section").get(
            pk=pk, section__in=visible_sections(user)
        )
    except CaseCategory.DoesNotExist:
        raise Http404("No such category.") from None


def get_stage_for_user(user: Any, pk: int, *, action: str = "change") -> Stage:
    check_setup(user, "stage", action)
    try:
        return Stage.objects.select_related("section").get(
            pk=pk, section__in=visible_sections(user)
        )
    except Stage.DoesNotExist:
        raise Http404("No such stage.") from None
