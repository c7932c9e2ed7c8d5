"""Reads that case views and the API share: querysets with their joins applied,
the built-in saved filters, the list, kanban, calendar and timeline pages.

Every function takes the viewing user and filters through
``permissions.visible_cases``, so members-only sections never leak.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from goodwill.cases.models import (
    ACTIVE_STATES,
    Attachment,
    Case,
    CaseLink,
    CaseState,
    CaseType,
    OutboundMessage,
    Section,
    Stage,
    Watcher,
)
from goodwill.cases.permissions import visible_cases
from goodwill.lib.pagination import Page, keyset_page
from goodwill.lib.text import fold
from goodwill.partners.models import Partner, TimelineEntry

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 50
KANBAN_COLUMN_SIZE = 30
SORTS = {
    "updated": "-updated_at",
    "-updated": "updated_at",
    "created": "-created_at",
    "-created": "created_at",
    "number": "-number",
    "-number": "number",
    "priority": "priority",
    "-priority": "-priority",
}
_NUMBER = re.compile(r"^\s*#?\s*(\d{1,18})\s*$")

# The built-in filters (OpenERP's section menus): key → label.
BUILTIN_FILTERS = {
    "my_open": "My open",
    "my_pending": "My pending",
    "my_late": "My late",
    "unassigned": "Unassigned",
    "open": "All open",
    "closed_week": "Closed this week",
    "all": "All cases",
}


@dataclass
class CaseFilters:
    q: str = ""
    filter: str = ""
    section: int | None = None
    case_type: int | None = None
    state: str = ""
    priority: int | None = None
    responsible: int | None = None
    partner: int | None = None
    sort: str = "updated"

    def as_query(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) not in (None, "", "updated")
        }


def week_start(now: datetime.datetime | None = None) -> datetime.datetime:
    local = timezone.localtime(now or timezone.now())
    monday = local - datetime.timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


# Filters and list relations other apps add (automation: "SLA at risk").
EXTRA_FILTERS: dict[str, Callable[[Any], Q]] = {}
LIST_RELATED: list[str] = []


def _builtin(key: str, user: Any) -> Q:
    if key in EXTRA_FILTERS:
        return EXTRA_FILTERS[key](user)
    now = timezone.now()
    active = Q(state__in=ACTIVE_STATES)
    if key == "my_open":
        return Q(responsible_id=user.pk, state=CaseState.OPEN)
    if key == "my_pending":
        return Q(responsible_id=user.pk, state=CaseState.PENDING)
    if key == "my_late":
        return Q(responsible_id=user.pk, deadline__lt=now) & active
    if key == "unassigned":
        return Q(responsible__isnull=True) & active
    if key == "open":
        return Q(state=CaseState.OPEN)
    if key == "closed_week":
        return Q(state=CaseState.DONE, closed_at__gte=week_start(now))
    return Q()


def search_q(q: str) -> Q:
    """A number ("1042", "#1042") finds that case; otherwise every word must
    appear in the subject, the partner's name or the requester's email."""
    match = _NUMBER.match(q)
    if match:
        number = int(match.group(1))
        if q.strip().startswith("#"):
            return Q(number=number)  # "#1042" is that case, not #10421
        text = fold(q.strip())
        return (
            Q(number=number) | Q(search_text__contains=text) if len(text) >= 4 else Q(number=number)
        )
    condition = Q()
    for term in fold(q).split()[:8]:
        condition &= Q(search_text__contains=term)
    return condition


def case_queryset(user: Any, filters: CaseFilters) -> QuerySet[Case]:
    cases = visible_cases(user).filter(merged_into__isnull=True)
    if filters.filter:
        cases = cases.filter(_builtin(filters.filter, user))
    if filters.q.strip():
        cases = cases.filter(search_q(filters.q))
    if filters.section:
        cases = cases.filter(section_id=filters.section)
    if filters.case_type:
        cases = cases.filter(case_type_id=filters.case_type)
    if filters.state:
        cases = cases.filter(state=filters.state)
    if filters.priority:
        cases = cases.filter(priority=filters.priority)
    if filters.responsible:
        cases = cases.filter(responsible_id=filters.responsible)
    if filters.partner:
        cases = cases.filter(partner_id=filters.partner)
    return cases.select_related(
        "case_type", "section", "stage", "responsible", "partner", *LIST_RELATED
    )


def case_list_page(*, user: Any, filters: CaseFilters, cursor: str | None) -> Page[Case]:
    sort = SORTS.get(filters.sort, SORTS["updated"])
    if filters.filter == "closed_week" and filters.sort == "updated":
        sort = "-updated_at"
    return keyset_page(case_queryset(user, filters), sort=sort, cursor=cursor, limit=PAGE_SIZE)


def case_detail_queryset() -> QuerySet[Case]:
    return Case.objects.select_related(
        "case_type",
        "section",
        "section__parent",
        "section__responsible",
        "category",
        "stage",
        "responsible",
        "partner",
        "contact",
        "related",
        "merged_into",
        "technician",
        "location_address",
        "approved_by",
        "created_by",
    ).prefetch_related(
        Prefetch("watchers", queryset=Watcher.objects.select_related("user")),
        "attendees",
        "attendee_users",
    )


# Apps that add to a case's timeline entries (the email gateway links a received
# message to its full text and raw original): each gets the page's entries and
# may set ``entry.extra_links``, a list of (label, url).
TIMELINE_DECORATORS: list[Callable[[list[TimelineEntry]], None]] = []


def case_timeline_page(*, case: Case, cursor: str | None) -> Page[TimelineEntry]:
    """Newest first; each entry carries its attachments and outbox message."""
    entries = TimelineEntry.objects.filter(
        subject_type=ContentType.objects.get_for_model(Case), subject_id=case.pk
    ).select_related("author")
    page = keyset_page(entries, sort="-created_at", cursor=cursor, limit=TIMELINE_PAGE_SIZE)
    ids = [e.pk for e in page.items]
    files: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(entry_id__in=ids).order_by("id"):
        files.setdefault(attachment.entry_id or 0, []).append(attachment)
    messages = {m.entry_id: m for m in OutboundMessage.objects.filter(entry_id__in=ids)}
    for entry in page.items:
        entry.files = files.get(entry.pk, [])  # type: ignore[attr-defined]
        entry.outbound = messages.get(entry.pk)  # type: ignore[attr-defined]
        entry.extra_links = []  # type: ignore[attr-defined]
    for decorate in TIMELINE_DECORATORS:
        decorate(page.items)
    return page


@dataclass
class LinkView:
    link: CaseLink
    label: str
    url: str


def case_links(*, case: Case, user: Any) -> list[LinkView]:
    """The case's links, each resolved to a label and a URL; links to cases the
    user may not see are left out (private sections never leak)."""
    from django.urls import reverse

    links = list(case.links.select_related("target_type"))
    case_ct = ContentType.objects.get_for_model(Case)
    partner_ct = ContentType.objects.get_for_model(Partner)
    case_ids = [link.target_id for link in links if link.target_type_id == case_ct.pk]
    partner_ids = [link.target_id for link in links if link.target_type_id == partner_ct.pk]
    cases = {c.pk: c for c in visible_cases(user).filter(pk__in=case_ids)}
    partners = {p.pk: p for p in Partner.objects.filter(pk__in=partner_ids)}
    shown: list[LinkView] = []
    for link in links:
        if link.target_type_id == case_ct.pk:
            target = cases.get(link.target_id)
            if target is not None:
                shown.append(
                    LinkView(
                        link,
                        f"{target.reference} {target.subject}",
                        reverse("cases:detail", args=[target.number]),
                    )
                )
        elif link.target_type_id == partner_ct.pk:
            partner = partners.get(link.target_id)
            if partner is not None:
                shown.append(
                    LinkView(link, partner.name, reverse("partners:detail", args=[partner.pk]))
                )
        else:
            model = link.target_type.model_class()
            record = model._default_manager.filter(pk=link.target_id).first() if model else None
            if record is not None:
                url = getattr(record, "get_absolute_url", lambda: "")()
                shown.append(LinkView(link, str(record), url))
    return shown


def partner_other_cases(*, case: Case, user: Any, limit: int = 8) -> list[Case]:
    if not case.partner_id:
        return []
    return list(
        visible_cases(user)
        .filter(partner_id=case.partner_id, merged_into__isnull=True)
        .exclude(pk=case.pk)
        .select_related("case_type")
        .order_by("-updated_at", "-id")[:limit]
    )


def partner_cases(*, partner: Partner, user: Any, limit: int = 15) -> tuple[list[Case], int]:
    """The partner's latest cases (including its contacts' cases as contact), and
    how many are still open."""
    cases = visible_cases(user).filter(
        Q(partner=partner) | Q(contact=partner), merged_into__isnull=True
    )
    latest = list(
        cases.select_related("case_type", "responsible", "section").order_by("-updated_at", "-id")[
            :limit
        ]
    )
    open_count = cases.filter(state__in=ACTIVE_STATES).count() if len(latest) else 0
    return latest, open_count


# --------------------------------------------------------------------------
# Kanban


@dataclass
class KanbanColumn:
    stage: Stage | None
    count: int = 0
    revenue: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)

    @property
    def key(self) -> str:
        return str(self.stage.pk) if self.stage else "none"


def kanban_queryset(
    *, user: Any, section: Section, case_type: CaseType | None, q: str = "", mine: bool = False
) -> QuerySet[Case]:
    cases = visible_cases(user).filter(
        section=section, state__in=ACTIVE_STATES, merged_into__isnull=True
    )
    if case_type is not None:
        cases = cases.filter(case_type=case_type)
    if q.strip():
        cases = cases.filter(search_q(q))
    if mine:
        cases = cases.filter(responsible_id=user.pk)
    return cases


def kanban_columns(cases: QuerySet[Case], section: Section) -> list[KanbanColumn]:
    """One column per stage of the section, with the count, the expected
    revenue and the weighted revenue, from one aggregate query."""
    weighted = ExpressionWrapper(
        F("planned_revenue") * Coalesce(F("probability"), Value(0)) / Value(100),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    totals: dict[int | None, Any] = {
        row["stage_id"]: row
        for row in cases.order_by()
        .values("stage_id")
        .annotate(count=Count("id"), revenue=Sum("planned_revenue"), weighted=Sum(weighted))
    }
    columns = []
    stages = list(section.stages.all())
    for stage in [*stages, None]:
        row = totals.get(stage.pk if stage else None)
        if stage is None and row is None:
            continue
        columns.append(
            KanbanColumn(
                stage=stage,
                count=row["count"] if row else 0,
                revenue=Decimal(row["revenue"] or 0) if row else Decimal(0),
                weighted=Decimal(row["weighted"] or 0).quantize(Decimal("0.01"))
                if row
                else Decimal(0),
            )
        )
    return columns


def kanban_cards(cases: QuerySet[Case], *, stage: Stage | None, cursor: str | None) -> Page[Case]:
    column = cases.filter(stage=stage) if stage is not None else cases.filter(stage__isnull=True)
    return keyset_page(
        column.select_related("responsible", "partner", "case_type"),
        sort="-updated_at",
        cursor=cursor,
        limit=KANBAN_COLUMN_SIZE,
    )


# --------------------------------------------------------------------------
# Calendar


def calendar_cases(
    *,
    user: Any,
    start: datetime.datetime,
    end: datetime.datetime,
    section: int | None = None,
    mine: bool = False,
) -> list[Case]:
    """Meetings, calls and service visits that overlap [start, end)."""
    scheduled_types = [t.pk for t in CaseType.objects.all() if t.is_scheduled]
    cases = (
        visible_cases(user)
        .filter(
            case_type_id__in=scheduled_types,
            scheduled_start__lt=end,
            merged_into__isnull=True,
        )
        .filter(
            Q(scheduled_end__gte=start) | Q(scheduled_end__isnull=True, scheduled_start__gte=start)
        )
    )
    if section:
        cases = cases.filter(section_id=section)
    if mine:
        cases = cases.filter(Q(responsible_id=user.pk) | Q(technician_id=user.pk))
    return list(
        cases.exclude(state=CaseState.CANCEL)
        .select_related("case_type", "partner", "responsible")
        .order_by("scheduled_start", "id")[:2000]
    )
