"""How cases plug into the partner app without the partner app knowing them.

- A partner merge moves the dropped partner's cases (as partner and contact).
- The partner page's timeline hides the entries of cases the viewer may not
  see (members-only sections), and links each case entry to its case.
- The partner page gets a lazily loaded "Cases" panel.
- Renaming a partner refreshes what case search looks in (in the worker).
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.urls import reverse

from goodwill.lib.events import Event, subscribe
from goodwill.partners.models import Partner, TimelineEntry


def _hide_invisible_case_entries(
    user: Any, entries: QuerySet[TimelineEntry], partner: Partner
) -> QuerySet[TimelineEntry]:
    from goodwill.cases.models import Case
    from goodwill.cases.permissions import can_case, case_visibility_q, visible_section_ids

    case_type = ContentType.objects.get_for_model(Case)
    if user is None or not can_case(user, "view"):
        return entries.exclude(subject_type=case_type)
    if visible_section_ids(user) is None:
        return entries  # managers and administrators see every case
    hidden = Case.objects.filter(partner=partner).exclude(case_visibility_q(user)).values("pk")
    return entries.exclude(subject_type=case_type, subject_id__in=hidden)


def _link_case_entries(entries: list[TimelineEntry]) -> None:
    from goodwill.cases.models import Case

    case_type = ContentType.objects.get_for_model(Case)
    ids = {e.subject_id for e in entries if e.subject_type_id == case_type.pk}
    if not ids:
        return
    numbers = dict(Case.objects.filter(pk__in=ids).values_list("pk", "number"))
    for entry in entries:
        if entry.subject_type_id == case_type.pk and entry.subject_id in numbers:
            number = numbers[entry.subject_id]
            entry.subject_link = (reverse("cases:detail", args=[number]), f"case #{number}")  # type: ignore[attr-defined]


def _partner_renamed(event: Event) -> None:
    if "Name" not in event.payload.get("changes", ()):
        return
    from goodwill.cases.models import Case
    from goodwill.cases.tasks import cases_search_refresh_run

    partner_id = event.payload["partner_id"]
    if Case.objects.filter(partner_id=partner_id).exists():
        cases_search_refresh_run.enqueue(partner_id)


def install() -> None:
    from goodwill.cases.permissions import can_case
    from goodwill.cases.services import partner_merge_step
    from goodwill.partners import selectors as partner_selectors
    from goodwill.partners import services as partner_services
    from goodwill.partners import views as partner_views

    if partner_merge_step not in partner_services.MERGE_STEPS:
        partner_services.MERGE_STEPS.append(partner_merge_step)
    if _hide_invisible_case_entries not in partner_selectors.TIMELINE_FILTERS:
        partner_selectors.TIMELINE_FILTERS.append(_hide_invisible_case_entries)
    if _link_case_entries not in partner_selectors.TIMELINE_LINKERS:
        partner_selectors.TIMELINE_LINKERS.append(_link_case_entries)
    subscribe("partner.updated")(_partner_renamed)
    panel = ("Cases", "cases:partner_cases", lambda user: can_case(user, "view"))
    if not any(p[1] == panel[1] for p in partner_views.PARTNER_PANELS):
        partner_views.PARTNER_PANELS.append(panel)
