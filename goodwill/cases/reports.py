"""Case reports: the figures behind the report pages and their CSV downloads.

Each report is one aggregate query (GROUP BY in SQL) over the cases the user
may see (``permissions.visible_cases``), plus one small query per kind of label
(user names, section names, category names) for the ids found in the result.
Totals, per-section subtotals and chart series are sums of the aggregated rows,
never of individual cases, so the cost does not grow with the number of cases
beyond the one scan the database does.

Averages are carried as a sum and a count so that subtotals and totals are
exact (an average of averages would not be).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import (
    Count,
    DateField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from goodwill.cases.models import (
    ACTIVE_STATES,
    Case,
    CaseCategory,
    CaseState,
    CaseType,
    Section,
)
from goodwill.cases.permissions import visible_cases

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
STATE_ORDER = [s.value for s in CaseState]
STATE_LABELS = dict(CaseState.choices)
# Wide enough for the sum of a million cases' amounts (14 digits each).
_TOTAL = DecimalField(max_digits=24, decimal_places=2)
_WEIGHTED = DecimalField(max_digits=24, decimal_places=2)
# PostgreSQL's hash aggregate of a report needs about 1.3 kB per group (≈20 MB
# for 15,000 groups); at the default work_mem (4 MB) it spills to disk and takes
# a third longer. Raised for the report's own transaction only.
SET_REPORT_WORK_MEM = "SET LOCAL work_mem = '32MB'"
UNASSIGNED = "Unassigned"
NO_CATEGORY = "No category"


@dataclass(frozen=True)
class ReportFilters:
    """What the report covers: cases created in [date_from, date_to] (local dates,
    both included), optionally in one section, of one type, for one responsible."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    section: Section | None = None
    case_type: CaseType | None = None
    responsible: Any = None  # a User


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def report_cases(user: Any, filters: ReportFilters) -> QuerySet[Case]:
    """The cases a report counts: visible to *user*, not merged away, filtered."""
    cases = visible_cases(user).filter(merged_into__isnull=True)
    if filters.date_from is not None:
        cases = cases.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:
        next_day = filters.date_to + datetime.timedelta(days=1)
        cases = cases.filter(created_at__lt=_day_start(next_day))
    if filters.section is not None:
        cases = cases.filter(section_id=filters.section.pk)
    if filters.case_type is not None:
        cases = cases.filter(case_type_id=filters.case_type.pk)
    if filters.responsible is not None:
        cases = cases.filter(responsible_id=filters.responsible.pk)
    return cases.order_by()


@contextmanager
def aggregate_memory(using: str = "default") -> Iterator[None]:
    """Run a report's aggregate with room to hash its groups in memory (PostgreSQL)."""
    if connections[using].vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(SET_REPORT_WORK_MEM)
        yield


def _user_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    users = get_user_model().objects.filter(pk__in=wanted).order_by()
    names = {}
    for pk, first, last, username in users.values_list("pk", "first_name", "last_name", "username"):
        names[pk] = f"{first} {last}".strip() or username
    return names


def _section_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(Section.objects.filter(pk__in=wanted).order_by().values_list("pk", "name"))


def _category_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    categories = CaseCategory.objects.filter(pk__in=wanted).order_by()
    return dict(categories.values_list("pk", "name"))


def _ratio(part: float | Decimal, whole: int, scale: int = 1) -> float | None:
    if not whole:
        return None
    return round(float(part) * scale / whole, 2)


def month_label(month: datetime.date) -> str:
    return month.strftime("%b %Y")


# --------------------------------------------------------------------------
# Activity: user × section × month × state (OpenERP's report_crm)


@dataclass
class ActivityFigures:
    """Additive figures of a group of cases; the averages derive from them."""

    count: int = 0
    planned_revenue: Decimal = ZERO
    planned_cost: Decimal = ZERO
    weighted_revenue: Decimal = ZERO
    probability_sum: int = 0
    probability_count: int = 0
    close_seconds: float = 0.0
    closed_count: int = 0

    def add(self, other: ActivityFigures) -> None:
        self.count += other.count
        self.planned_revenue += other.planned_revenue
        self.planned_cost += other.planned_cost
        self.weighted_revenue += other.weighted_revenue
        self.probability_sum += other.probability_sum
        self.probability_count += other.probability_count
        self.close_seconds += other.close_seconds
        self.closed_count += other.closed_count

    @property
    def avg_probability(self) -> float | None:
        """Mean probability (%) of the cases that have one."""
        return _ratio(self.probability_sum, self.probability_count)

    @property
    def avg_close_days(self) -> float | None:
        """Mean days from creation to closing, over the closed cases."""
        return _ratio(self.close_seconds, self.closed_count * 86400)


@dataclass
class ActivityRow(ActivityFigures):
    month: datetime.date = datetime.date.min
    responsible_id: int | None = None
    responsible: str = ""
    section_id: int = 0
    section: str = ""
    state: str = ""

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def month_label(self) -> str:
        return month_label(self.month)


@dataclass
class MonthFigures(ActivityFigures):
    month: datetime.date = datetime.date.min
    by_state: dict[str, int] = field(default_factory=dict)


@dataclass
class ActivityReport:
    rows: list[ActivityRow]
    total: ActivityFigures
    months: list[MonthFigures]

    def chart_data(self) -> dict[str, Any]:
        """The chart series, ready for ``json_script`` (numbers, not Decimals)."""
        labels = [month_label(m.month) for m in self.months]
        states = [
            {
                "label": STATE_LABELS[state],
                "key": state,
                "data": [m.by_state.get(state, 0) for m in self.months],
            }
            for state in STATE_ORDER
        ]
        revenue = [
            {
                "label": "Planned revenue",
                "key": "planned",
                "data": [float(m.planned_revenue) for m in self.months],
            },
            {
                "label": "Weighted revenue",
                "key": "weighted",
                "data": [float(m.weighted_revenue) for m in self.months],
            },
        ]
        return {
            "charts": {
                "states": {
                    "type": "bar",
                    "stacked": True,
                    "labels": labels,
                    "datasets": states,
                    "yTitle": "Cases",
                },
                "revenue": {
                    "type": "line",
                    "labels": labels,
                    "datasets": revenue,
                    "yTitle": "Revenue",
                },
            }
        }


def _months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _seconds(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000  # microseconds, where the database has no interval type


def activity_report(user: Any, filters: ReportFilters) -> ActivityReport:
    """Cases by responsible × section × month (of creation) × state, with their
    count, planned revenue and cost, weighted revenue (revenue × probability),
    mean probability and mean delay to close; one GROUP BY query."""
    grouped = (
        report_cases(user, filters)
        # Truncated in the current time zone by the database; a date comes back,
        # so no per-row time zone conversion happens in Python.
        .annotate(month=TruncMonth("created_at", output_field=DateField()))
        .values("month", "responsible_id", "section_id", "state")
        .annotate(
            n=Count("id"),
            revenue=Sum("planned_revenue", output_field=_TOTAL),
            cost=Sum("planned_cost", output_field=_TOTAL),
            weighted=Sum(F("planned_revenue") * F("probability"), output_field=_WEIGHTED),
            probability_sum=Sum("probability"),
            probability_count=Count("probability"),
            close_time=Sum(
                ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
            ),
            closed_count=Count("closed_at"),
        )
    )
    with aggregate_memory(grouped.db):
        raw = list(grouped)
    users = _user_names(r["responsible_id"] for r in raw)
    sections = _section_names(r["section_id"] for r in raw)

    rows: list[ActivityRow] = []
    total = ActivityFigures()
    by_month: dict[datetime.date, MonthFigures] = {}
    for r in raw:
        row = ActivityRow(
            month=r["month"],
            responsible_id=r["responsible_id"],
            responsible=users.get(r["responsible_id"], UNASSIGNED),
            section_id=r["section_id"],
            section=sections.get(r["section_id"], ""),
            state=r["state"],
            count=r["n"],
            planned_revenue=(r["revenue"] or ZERO).quantize(CENT),
            planned_cost=(r["cost"] or ZERO).quantize(CENT),
            weighted_revenue=((r["weighted"] or ZERO) / 100).quantize(CENT),
            probability_sum=int(r["probability_sum"] or 0),
            probability_count=r["probability_count"],
            close_seconds=_seconds(r["close_time"]),
            closed_count=r["closed_count"],
        )
        rows.append(row)
        total.add(row)
        month = by_month.setdefault(row.month, MonthFigures(month=row.month))
        month.add(row)
        month.by_state[row.state] = month.by_state.get(row.state, 0) + row.count

    state_rank = {s: i for i, s in enumerate(STATE_ORDER)}
    rows.sort(
        key=lambda r: (
            -r.month.toordinal(),
            r.responsible_id is None,
            r.responsible.casefold(),
            r.section.casefold(),
            state_rank.get(r.state, 99),
        )
    )
    months: list[MonthFigures] = []
    if by_month:
        for day in _months_between(min(by_month), max(by_month)):
            months.append(by_month.get(day) or MonthFigures(month=day))
    return ActivityReport(rows=rows, total=total, months=months)


# --------------------------------------------------------------------------
# Sections: section × category, with the share of done and cancelled cases


@dataclass
class SectionFigures:
    count: int = 0
    active: int = 0
    done: int = 0
    cancelled: int = 0
    messages: int = 0

    def add(self, other: SectionFigures) -> None:
        self.count += other.count
        self.active += other.active
        self.done += other.done
        self.cancelled += other.cancelled
        self.messages += other.messages

    @property
    def pct_done(self) -> float | None:
        return _ratio(self.done, self.count, 100)

    @property
    def pct_cancelled(self) -> float | None:
        return _ratio(self.cancelled, self.count, 100)

    @property
    def avg_messages(self) -> float | None:
        """Notes and emails per case (``Case.message_count``)."""
        return _ratio(self.messages, self.count)


@dataclass
class CategoryRow(SectionFigures):
    category_id: int | None = None
    category: str = ""


@dataclass
class SectionBlock(SectionFigures):
    section_id: int = 0
    section: str = ""
    categories: list[CategoryRow] = field(default_factory=list)


@dataclass
class SectionsReport:
    sections: list[SectionBlock]
    total: SectionFigures

    def chart_data(self) -> dict[str, Any]:
        labels = [s.section for s in self.sections]
        return {
            "charts": {
                "rates": {
                    "type": "bar",
                    "labels": labels,
                    "datasets": [
                        {
                            "label": "% done",
                            "key": "done",
                            "data": [s.pct_done or 0 for s in self.sections],
                        },
                        {
                            "label": "% cancelled",
                            "key": "cancel",
                            "data": [s.pct_cancelled or 0 for s in self.sections],
                        },
                    ],
                    "yTitle": "% of the section's cases",
                    "percent": True,
                }
            }
        }


def sections_report(user: Any, filters: ReportFilters) -> SectionsReport:
    """Cases by section × category: counts by state group and messages; the
    per-section and overall figures are sums of those rows. One GROUP BY query."""
    grouped = (
        report_cases(user, filters)
        .values("section_id", "category_id")
        .annotate(
            n=Count("id"),
            active=Count("id", filter=Q(state__in=ACTIVE_STATES)),
            done=Count("id", filter=Q(state=CaseState.DONE)),
            cancelled=Count("id", filter=Q(state=CaseState.CANCEL)),
            messages=Sum("message_count"),
        )
    )
    with aggregate_memory(grouped.db):
        raw = list(grouped)
    sections = _section_names(r["section_id"] for r in raw)
    categories = _category_names(r["category_id"] for r in raw)

    blocks: dict[int, SectionBlock] = {}
    total = SectionFigures()
    for r in raw:
        row = CategoryRow(
            category_id=r["category_id"],
            category=categories.get(r["category_id"], NO_CATEGORY),
            count=r["n"],
            active=r["active"],
            done=r["done"],
            cancelled=r["cancelled"],
            messages=int(r["messages"] or 0),
        )
        block = blocks.get(r["section_id"])
        if block is None:
            block = SectionBlock(
                section_id=r["section_id"], section=sections.get(r["section_id"], "")
            )
            blocks[r["section_id"]] = block
        block.categories.append(row)
        block.add(row)
        total.add(row)
    for block in blocks.values():
        block.categories.sort(key=lambda c: (c.category_id is None, c.category.casefold()))
    ordered = sorted(blocks.values(), key=lambda b: (b.section.casefold(), b.section_id))
    return SectionsReport(sections=ordered, total=total)
