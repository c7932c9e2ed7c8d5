"""Case report pages and their CSV downloads. Views parse the filters, ask the
permission helper, call a report selector (``goodwill.cases.reports``) and
render; the figures come from one aggregate query per report."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases import reports
from goodwill.cases.permissions import check_case_action
from goodwill.cases.report_forms import ReportFilterForm
from goodwill.lib.spreadsheets import cell_text

# The page shows this many rows of the activity table; the CSV has them all.
TABLE_LIMIT = 500


def csv_text(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (CSV injection)."""
    return str(cell_text(value))


def csv_number(value: int | float | Decimal | None) -> str:
    """A plain number: no thousands separator, no currency; empty when unknown."""
    if value is None:
        return ""
    return str(value)


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    stamp = timezone.localdate().strftime("%Y%m%d")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _csv_query(request: AuthenticatedHttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


def _wants_csv(request: AuthenticatedHttpRequest) -> bool:
    return request.GET.get("format") == "csv"


@require_GET
@staff_required
def reports_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_case_action(request.user, "reports")
    return render(request, "cases/reports.html")


# --------------------------------------------------------------------------
# Activity


ACTIVITY_HEADER = [
    "Month",
    "Responsible",
    "Section",
    "State",
    "Cases",
    "Planned revenue",
    "Planned cost",
    "Weighted revenue",
    "Average probability (%)",
    "Average days to close",
]


def _activity_figures(figures: reports.ActivityFigures) -> list[str]:
    return [
        csv_number(figures.count),
        csv_number(figures.planned_revenue),
        csv_number(figures.planned_cost),
        csv_number(figures.weighted_revenue),
        csv_number(figures.avg_probability),
        csv_number(figures.avg_close_days),
    ]


def _activity_csv(report: reports.ActivityReport) -> HttpResponse:
    rows: list[list[str]] = [
        [
            f"{row.month:%Y-%m}",
            csv_text(row.responsible),
            csv_text(row.section),
            row.state_label,
            *_activity_figures(row),
        ]
        for row in report.rows
    ]
    if report.rows:
        rows.append(["Total", "", "", "", *_activity_figures(report.total)])
    return csv_response("case-activity", ACTIVITY_HEADER, rows)


@require_GET
@staff_required
def report_activity(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Cases by responsible × section × month × state (OpenERP's report_crm)."""
    check_case_action(request.user, "reports")
    form = ReportFilterForm(request.GET, user=request.user, responsible=True)
    if not form.is_valid():
        return render(request, "cases/reports_activity.html", {"form": form}, status=400)
    report = reports.activity_report(request.user, form.filters())
    if _wants_csv(request):
        return _activity_csv(report)
    return render(
        request,
        "cases/reports_activity.html",
        {
            "form": form,
            "report": report,
            "rows": report.rows[:TABLE_LIMIT],
            "row_count": len(report.rows),
            "truncated": len(report.rows) > TABLE_LIMIT,
            "data": report.chart_data(),
            "csv_query": _csv_query(request),
            "period": form.period_text(),
        },
    )


# --------------------------------------------------------------------------
# Sections


SECTIONS_HEADER = [
    "Section",
    "Category",
    "Cases",
    "Active",
    "Done",
    "Cancelled",
    "% done",
    "% cancelled",
    "Messages",
    "Messages per case",
]
ALL_CATEGORIES = "All categories"


def _section_figures(figures: reports.SectionFigures) -> list[str]:
    return [
        csv_number(figures.count),
        csv_number(figures.active),
        csv_number(figures.done),
        csv_number(figures.cancelled),
        csv_number(figures.pct_done),
        csv_number(figures.pct_cancelled),
        csv_number(figures.messages),
        csv_number(figures.avg_messages),
    ]


def _sections_csv(report: reports.SectionsReport) -> HttpResponse:
    rows: list[list[str]] = []
    for block in report.sections:
        section = csv_text(block.section)
        rows.append([section, ALL_CATEGORIES, *_section_figures(block)])
        rows.extend(
            [section, csv_text(row.category), *_section_figures(row)] for row in block.categories
        )
    if report.sections:
        rows.append(["Total", "", *_section_figures(report.total)])
    return csv_response("case-sections", SECTIONS_HEADER, rows)


@require_GET
@staff_required
def report_sections(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Cases by section × category: share done and cancelled, messages per case."""
    check_case_action(request.user, "reports")
    form = ReportFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "cases/reports_sections.html", {"form": form}, status=400)
    report = reports.sections_report(request.user, form.filters())
    if _wants_csv(request):
        return _sections_csv(report)
    return render(
        request,
        "cases/reports_sections.html",
        {
            "form": form,
            "report": report,
            "data": report.chart_data(),
            "csv_query": _csv_query(request),
            "period": form.period_text(),
        },
    )
