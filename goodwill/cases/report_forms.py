"""The filter form of the case reports: it turns the query string into
``ReportFilters``. Section choices are only the sections the user may see, so a
members-only section never shows up as a choice for an outsider."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from goodwill.accounts.selectors import staff_users
from goodwill.cases.models import CaseType
from goodwill.cases.permissions import visible_sections
from goodwill.cases.reports import ReportFilters
from goodwill.partners.forms import IdChoiceField

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Dates outside this range would overflow the datetime arithmetic of the query.
EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(9000, 12, 31)
PERIODS = [
    ("", "All time"),
    ("month", "This month"),
    ("3months", "Last 3 months"),
    ("year", "This year"),
    ("custom", "Custom"),
]


def period_range(
    period: str, today: datetime.date | None = None
) -> tuple[datetime.date | None, datetime.date | None]:
    """The dates a preset period covers, in whole months up to *today*."""
    today = today or timezone.localdate()
    if period == "month":
        return today.replace(day=1), today
    if period == "3months":
        first = today.replace(day=1)
        for _ in range(2):
            first = (first - datetime.timedelta(days=1)).replace(day=1)
        return first, today
    if period == "year":
        return today.replace(month=1, day=1), today
    return None, None


def report_users() -> QuerySet[Any]:
    """Staff users, the choices of the \"Responsible\" filter."""
    return staff_users()


class UserChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.username)


class ReportFilterForm(forms.Form):
    """?period=&from=&to=&section=&case_type= (and &responsible= with *responsible*).

    A preset period wins over the dates; otherwise the dates (either may be
    left open) give the period; nothing at all is all time."""

    period = forms.ChoiceField(choices=PERIODS, required=False)

    def __init__(self, data: Any, *, user: Any, responsible: bool = False) -> None:
        super().__init__(data)
        self.fields["from"] = forms.DateField(required=False, label="From", widget=DATE_WIDGET)
        self.fields["to"] = forms.DateField(required=False, label="To", widget=DATE_WIDGET)
        self.fields["section"] = IdChoiceField(
            queryset=visible_sections(user).order_by("name", "id"),
            required=False,
            empty_label="All sections",
        )
        self.fields["case_type"] = IdChoiceField(
            queryset=CaseType.objects.order_by("sequence", "name"),
            required=False,
            empty_label="All types",
            label="Case type",
        )
        if responsible:
            self.fields["responsible"] = UserChoiceField(
                queryset=report_users(), required=False, empty_label="Everyone"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        period = data.get("period") or ""
        if period in {"month", "3months", "year"}:
            data["from"], data["to"] = period_range(period)
        for name in ("from", "to"):
            day = data.get(name)
            if day is not None and not EARLIEST <= day <= LATEST:
                self.add_error(name, f"Choose a date between {EARLIEST.year} and {LATEST.year}.")
                data.pop(name, None)
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        return data

    def filters(self) -> ReportFilters:
        """The filters of a valid form."""
        data = self.cleaned_data
        return ReportFilters(
            date_from=data.get("from"),
            date_to=data.get("to"),
            section=data.get("section"),
            case_type=data.get("case_type"),
            responsible=data.get("responsible"),
        )

    def period_text(self) -> str:
        """The period in words: "1 Jan 2025 – 31 Mar 2025", "Since …", "Until …" or "All time"."""
        data = self.cleaned_data
        start, end = data.get("from"), data.get("to")
        if start and end:
            return f"{_day(start)} – {_day(end)}"
        if start:
            return f"Since {_day(start)}"
        if end:
            return f"Until {_day(end)}"
        return "All time"


def _day(day: datetime.date) -> str:
    return f"{day.day} {day:%b %Y}"
