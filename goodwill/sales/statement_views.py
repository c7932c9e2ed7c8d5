"""The statement of account of a partner: a page with a period and currency
filter, a printable layout, and the same figures as a CSV download.

Whoever may see invoices may see the statement of any partner they may see
(the same checks as the partner page's "Sales and balance" panel).
"""

from __future__ import annotations

import csv
import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.views.decorators.http import require_GET

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.lib.forms import PeriodDateField, apply_errors
from goodwill.lib.money import CURRENCY_CHOICES, minor_units
from goodwill.lib.spreadsheets import cell_text
from goodwill.partners.permissions import get_partner_for_user
from goodwill.sales.document_permissions import check_invoice_action
from goodwill.sales.statements import Statement, partner_statement

SCOPE_ALL = "all"
SCOPE_OWN = "own"
MAX_DAYS = 366 * 20  # a longer period is a typo, not a statement


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last 12 months up to *today*: from the day after the same day a year ago."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + datetime.timedelta(days=1), today


class StatementForm(forms.Form):
    date_from = PeriodDateField(label="From")
    date_to = PeriodDateField(label="To")
    currency = forms.ChoiceField(
        choices=[("", "All currencies"), *CURRENCY_CHOICES], required=False
    )
    scope = forms.ChoiceField(
        label="Companies",
        choices=[(SCOPE_ALL, "With its subsidiaries"), (SCOPE_OWN, "This partner only")],
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_from", "The period must start before it ends.")
            elif (end - start).days > MAX_DAYS:
                self.add_error("date_from", "Choose a period of at most 20 years.")
        return data


def _form_data(query: QueryDict, today: datetime.date) -> dict[str, Any]:
    """The query string over the defaults: the last 12 months, every currency,
    subsidiaries included."""
    start, end = default_period(today)
    data: dict[str, Any] = {
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "currency": "",
        "scope": SCOPE_ALL,
    }
    for name in data:
        if name in query:
            data[name] = query.get(name, "")
    return data


def _amount(value: Decimal, currency: str = "") -> str:
    return f"{value:.{minor_units(currency) if currency else 2}f}"


def _display_rows(statement: Statement) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each section's lines as ready-made text, per (side, currency).

    A statement can have thousands of lines; formatting them here once is many
    times faster than running template filters and ``{% url %}`` per cell."""
    decimal_sep = str(get_format("DECIMAL_SEPARATOR"))
    thousand_sep = str(get_format("THOUSAND_SEPARATOR"))
    swap = str.maketrans({",": thousand_sep, ".": decimal_sep})

    head, tail = reverse("sales:invoice_detail", args=[1]).rsplit("/1/", 1)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for section in statement.sections:
        places = minor_units(section.currency)

        def number(value: Decimal | None, places: int = places) -> str:
            return f"{value:,.{places}f}".translate(swap) if value else ""

        zero = f"{Decimal(0):,.{places}f}".translate(swap)
        rows[(section.side, section.currency)] = [
            {
                "line": line,
                "url": f"{head}/{line.invoice_id}/{tail}" if line.invoice_id else "",
                "date": line.date.isoformat(),
                "due": line.due_date.isoformat() if line.due_date else "",
                "debit": number(line.debit),
                "credit": number(line.credit),
                "balance": number(line.balance) or zero,
                "open": number(line.open_amount),
            }
            for line in section.lines
        ]
    return rows


def _csv(statement: Statement) -> HttpResponse:
    """One row per movement, with an opening and a closing row per section."""
    name = (
        f"statement-{statement.partner.pk}-{statement.date_from:%Y%m%d}-{statement.date_to:%Y%m%d}"
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "account",
            "currency",
            "date",
            "type",
            "number",
            "partner",
            "due date",
            "debit",
            "credit",
            "balance",
            "open",
            "overdue",
        ]
    )
    for section in statement.sections:
        head = [section.side, section.currency]
        blank = [""] * 5  # number, partner, due date, debit, credit
        opening = _amount(section.opening, section.currency)
        writer.writerow(
            [*head, statement.date_from.isoformat(), "Opening balance", *blank, opening, "", ""]
        )
        for line in section.lines:
            writer.writerow(
                [
                    *head,
                    line.date.isoformat(),
                    line.label,
                    cell_text(line.number),
                    cell_text(line.partner_name),
                    line.due_date.isoformat() if line.due_date else "",
                    _amount(line.debit, section.currency) if line.debit else "",
                    _amount(line.credit, section.currency) if line.credit else "",
                    _amount(line.balance, section.currency),
                    _amount(line.open_amount, section.currency) if line.open_amount else "",
                    "yes" if line.overdue else "",
                ]
            )
        writer.writerow(
            [
                *head,
                statement.date_to.isoformat(),
                "Closing balance",
                "",
                "",
                "",
                _amount(section.total_debit, section.currency),
                _amount(section.total_credit, section.currency),
                _amount(section.closing, section.currency),
                _amount(section.open_items, section.currency),
                _amount(section.overdue, section.currency) if section.overdue else "",
            ]
        )
    return response


@require_GET
@staff_required
def partner_statement_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The statement of account of a partner; ``?format=csv`` downloads it."""
    check_invoice_action(request.user)
    partner = get_partner_for_user(request.user, pk)
    today = timezone.localdate()
    form = StatementForm(_form_data(request.GET, today))
    statement = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            statement = partner_statement(
                partner=partner,
                date_from=data["date_from"],
                date_to=data["date_to"],
                currency=data["currency"] or None,
                include_children=data["scope"] != SCOPE_OWN,
            )
        except ValidationError as exc:
            apply_errors(exc, form)
    if statement is not None and request.GET.get("format") == "csv":
        return _csv(statement)
    sections: list[tuple[Any, list[dict[str, Any]]]] = []
    if statement is not None:
        rows = _display_rows(statement)
        sections = [(s, rows[(s.side, s.currency)]) for s in statement.sections]
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "sales/statements/statement.html",
        {
            "partner": partner,
            "form": form,
            "statement": statement,
            "sections": sections,
            "today": today,
            "csv_query": query.urlencode() + ("&" if query else "") + "format=csv",
        },
        status=200 if statement is not None else 400,
    )
