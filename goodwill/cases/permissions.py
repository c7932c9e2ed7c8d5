"""Who may see and change which cases: the one place views and the API ask.

Agents see the cases of public sections and of the sections they belong to,
plus every case assigned to them (as responsible or as the visit's
technician). Managers and administrators (the ``cases.view_all_cases``
permission) see everything. A members-only section is
invisible to everyone else, everywhere: lists, search, kanban, calendar,
reports, links and the partner page all filter through ``visible_cases``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.cases.models import Attachment, Case, SavedFilter, Section

CASE_ACTIONS = {
    "view": "cases.view_case",
    "create": "cases.add_case",
    "change": "cases.change_case",
    "merge": "cases.merge_case",
    "reports": "cases.view_case_reports",
}
CONFIG_PERMS = {
    "section": "cases.change_section",
    "casetype": "cases.change_casetype",
    "casecategory": "cases.change_casecategory",
    "stage": "cases.change_stage",
}


def can_case(user: Any, action: str) -> bool:
    return can_use_staff_ui(user) and user.has_perm(CASE_ACTIONS[action])


def check_case_action(user: Any, action: str) -> None:
    if not can_use_staff_ui(user):
        raise PermissionDenied("Your account has no access to the staff interface.")
    if not user.has_perm(CASE_ACTIONS[action]):
        raise PermissionDenied("Your role does not allow this on cases.")


def check_config(user: Any, what: str) -> None:
    if not can_use_staff_ui(user) or not user.has_perm(CONFIG_PERMS[what]):
        raise PermissionDenied("Only managers and administrators can change the case setup.")


def sees_all_cases(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("cases.view_all_cases"))


def visible_section_ids(user: Any) -> list[int] | None:
    """Ids of the sections whose cases *user* sees, or None for "all of them"."""
    if sees_all_cases(user):
        return None
    cache = getattr(user, "_goodwill_sections", None)
    if cache is None:
        cache = list(
            Section.objects.filter(
                Q(visibility=Section.Visibility.PUBLIC) | Q(members=user) | Q(responsible=user)
            )
            .values_list("id", flat=True)
            .distinct()
        )
        user._goodwill_sections = cache
    return cache


def visible_sections(user: Any) -> QuerySet[Section]:
    ids = visible_section_ids(user)
    sections = Section.objects.all()
    return sections if ids is None else sections.filter(id__in=ids)


def case_visibility_q(user: Any, prefix: str = "") -> Q:
    """The condition on cases (or on rows that reach a case through *prefix*)."""
    ids = visible_section_ids(user)
    if ids is None:
        return Q()
    return (
        Q(**{f"{prefix}section_id__in": ids})
        | Q(**{f"{prefix}responsible_id": user.pk})
        | Q(**{f"{prefix}technician_id": user.pk})
    )


def visible_cases(user: Any, queryset: QuerySet[Case] | None = None) -> QuerySet[Case]:
    cases = queryset if queryset is not None else Case.objects.all()
    if not can_use_staff_ui(user) or not user.has_perm(CASE_ACTIONS["view"]):
        return cases.none()
    return cases.filter(case_visibility_q(user))


def get_case_for_user(
    user: Any, number: int, *, action: str = "view", queryset: QuerySet[Case] | None = None
) -> Case:
    """Case *number* if *user* may *action* it: 403 if the role may not, 404 if it
    does not exist or sits in a section the user cannot see (so private
    sections do not reveal which numbers exist)."""
    check_case_action(user, action)
    try:
        return visible_cases(user, queryset).get(number=number)
    except Case.DoesNotExist:
        raise Http404("No such case.") from None


def get_attachment_for_user(user: Any, pk: int) -> Attachment:
    check_case_action(user, "view")
    try:
        return Attachment.objects.select_related("case").get(
            pk=pk, case__in=visible_cases(user).values("pk")
        )
    except Attachment.DoesNotExist:
        raise Http404("No such attachment.") from None


def get_saved_filter_for_user(user: Any, pk: int) -> SavedFilter:
    check_case_action(user, "view")
    try:
        return SavedFilter.objects.get(pk=pk, user=user)
    except SavedFilter.DoesNotExist:
        raise Http404("No such saved filter.") from None


def get_section_for_user(user: Any, pk: int, *, action: str = "view") -> Section:
    """A section for the setup pages (change) or for browsing (view)."""
    if action == "change":
        check_config(user, "section")
    else:
        check_case_action(user, "view")
    try:
        return visible_sections(user).get(pk=pk)
    except Section.DoesNotExist:
        raise Http404("No such section.") from None
