"""Case reports: the figures against hand-computed values, who sees which rows,
the CSV download, bad filters and the query count."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.cases import report_views
from goodwill.cases.models import Case, CaseCategory, Section
from goodwill.cases.report_forms import period_range
from goodwill.cases.reports import (
    ReportFilters,
    activity_report,
    aggregate_memory,
    sections_report,
)
from goodwill.cases.services import case_note_add, case_set_state
from tests.factories import CaseFactory, SectionFactory, UserFactory, case_type

pytestmark = pytest.mark.django_db

ACTIVITY = "/cases/reports/activity/"
SECTIONS = "/cases/reports/sections/"
INDEX = "/cases/reports/"
UTC = datetime.UTC


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def make_case(
    section: Section,
    *,
    by: User,
    responsible: User,
    created: datetime.datetime,
    state: str,
    closed: datetime.datetime | None = None,
    notes: int = 0,
    type: str = "opportunity",
    **values: Any,
) -> Case:
    """A case made through the services, then dated: the services stamp now()."""
    case = CaseFactory(
        section=section, type=type, state="open", by=by, responsible=responsible, **values
    )
    for n in range(notes):
        case_note_add(case=case, by=by, body=f"Note {n + 1}")
    action = {"open": None, "pending": "pending", "done": "close", "cancel": "cancel"}[state]
    if action:
        case = case_set_state(case=case, by=by, action=action)
    Case.objects.filter(pk=case.pk).update(created_at=created, closed_at=closed)
    case.refresh_from_db()
    assert case.state == state
    assert case.message_count == notes
    return case


@pytest.fixture
def world(maria: User, bob: User) -> dict[str, Any]:
    """Six cases over three sections (one members-only), two responsibles and
    four months (March 2020 has none)::

        c1 Sales/Hardware  bob    2020-01-10  done    1000 / 400 / 50 %  10 days  2 notes
        c2 Sales/Hardware  bob    2020-01-15  done    3000 / 1000 / 100 % 4.5 days
        c3 Sales/Software  maria  2020-01-31  open    2000 / – / 25 %             1 note
        c4 Sales/–         bob    2020-02-03  cancel   500 / – / –        2 days
        c5 Support/–       maria  2020-02-10  pending (helpdesk)                  3 notes
        c6 Board room/Takeover maria 2020-04-05 done  9999 / 0 / 10 %   1.5 days  1 note
    """
    sales = SectionFactory(name="Sales")
    support = SectionFactory(name="Support")
    board = SectionFactory(
        name="Board room", visibility=Section.Visibility.MEMBERS, members=[maria]
    )
    hardware = CaseCategory.objects.create(section=sales, name="Hardware")
    software = CaseCategory.objects.create(section=sales, name="Software")
    takeover = CaseCategory.objects.create(section=board, name="Takeover")
    opportunity = {"by": maria}
    cases = [
        make_case(
            sales,
            **opportunity,
            responsible=bob,
            created=at(2020, 1, 10, 9),
            state="done",
            closed=at(2020, 1, 20, 9),
            notes=2,
            category=hardware,
            planned_revenue=Decimal("1000"),
            planned_cost=Decimal("400"),
            probability=50,
        ),
        make_case(
            sales,
            **opportunity,
            responsible=bob,
            created=at(2020, 1, 15),
            state="done",
            closed=at(2020, 1, 19, 12),
            category=hardware,
            planned_revenue=Decimal("3000"),
            planned_cost=Decimal("1000"),
            probability=100,
        ),
        make_case(
            sales,
            **opportunity,
            responsible=maria,
            created=at(2020, 1, 31, 23, 30),
            state="open",
            notes=1,
            category=software,
            planned_revenue=Decimal("2000"),
            probability=25,
        ),
        make_case(
            sales,
            **opportunity,
            responsible=bob,
            created=at(2020, 2, 3),
            state="cancel",
            closed=at(2020, 2, 5),
            planned_revenue=Decimal("500"),
        ),
        make_case(
            support,
            **opportunity,
            type="helpdesk",
            responsible=maria,
            created=at(2020, 2, 10),
            state="pending",
            notes=3,
        ),
        make_case(
            board,
            **opportunity,
            responsible=maria,
            created=at(2020, 4, 5),
            state="done",
            closed=at(2020, 4, 6, 12),
            notes=1,
            category=takeover,
            planned_revenue=Decimal("9999"),
            planned_cost=Decimal("0"),
            probability=10,
        ),
    ]
    return {"sales": sales, "support": support, "board": board, "cases": cases}


def chart_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', html)
    assert match, "the page carries its chart data"
    return json.loads(match.group(1))


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.content.decode())))


# --------------------------------------------------------------------------
# Activity figures


def _rows(user: User, **filters: Any) -> dict[tuple[str, str, str, str], Any]:
    report = activity_report(user, ReportFilters(**filters))
    return {(f"{r.month:%Y-%m}", r.responsible, r.section, r.state): r for r in report.rows}


def test_activity_groups_by_user_section_month_and_state(
    world: dict[str, Any], maria: User, bob: User
) -> None:
    """Each (responsible, section, month, state) is one row with its count, sums,
    weighted revenue, mean probability and mean days to close."""
    rows = _rows(maria)
    assert set(rows) == {
        ("2020-04", maria.display_name, "Board room", "done"),
        ("2020-02", bob.display_name, "Sales", "cancel"),
        ("2020-02", maria.display_name, "Support", "pending"),
        ("2020-01", bob.display_name, "Sales", "done"),
        ("2020-01", maria.display_name, "Sales", "open"),
    }
    won = rows[("2020-01", bob.display_name, "Sales", "done")]
    assert won.count == 2
    assert won.planned_revenue == Decimal("4000.00")
    assert won.planned_cost == Decimal("1400.00")
    assert won.weighted_revenue == Decimal("3500.00")  # 1000 × 50 % + 3000 × 100 %
    assert won.avg_probability == 75.0
    assert won.avg_close_days == 7.25  # (10 + 4.5) / 2

    lost = rows[("2020-02", bob.display_name, "Sales", "cancel")]
    assert (lost.count, lost.planned_revenue, lost.weighted_revenue) == (1, Decimal("500.00"), 0)
    assert lost.avg_probability is None  # no probability set
    assert lost.avg_close_days == 2.0

    still_open = rows[("2020-01", maria.display_name, "Sales", "open")]
    assert still_open.weighted_revenue == Decimal("500.00")
    assert still_open.avg_close_days is None

    board = rows[("2020-04", maria.display_name, "Board room", "done")]
    assert board.weighted_revenue == Decimal("999.90")
    assert board.avg_close_days == 1.5


def test_activity_totals_are_exact_over_all_rows(world: dict[str, Any], maria: User) -> None:
    """Totals weigh each case once: averages are not averages of the rows'."""
    total = activity_report(maria, ReportFilters()).total
    assert total.count == 6
    assert total.planned_revenue == Decimal("16499.00")
    assert total.planned_cost == Decimal("1400.00")
    assert total.weighted_revenue == Decimal("4999.90")
    assert total.avg_probability == 46.25  # (50 + 100 + 25 + 10) / 4
    assert total.avg_close_days == 4.5  # (10 + 4.5 + 2 + 1.5) / 4


def test_activity_months_fill_gaps_for_the_charts(world: dict[str, Any], maria: User) -> None:
    report = activity_report(maria, ReportFilters())
    months = [(f"{m.month:%Y-%m}", m.count) for m in report.months]
    assert months == [("2020-01", 3), ("2020-02", 2), ("2020-03", 0), ("2020-04", 1)]
    charts = report.chart_data()["charts"]
    states = {d["key"]: d["data"] for d in charts["states"]["datasets"]}
    assert charts["states"]["labels"] == ["Jan 2020", "Feb 2020", "Mar 2020", "Apr 2020"]
    assert states == {
        "draft": [0, 0, 0, 0],
        "open": [1, 0, 0, 0],
        "pending": [0, 1, 0, 0],
        "done": [2, 0, 0, 1],
        "cancel": [0, 1, 0, 0],
    }
    revenue = {d["key"]: d["data"] for d in charts["revenue"]["datasets"]}
    assert revenue == {
        "planned": [6000.0, 500.0, 0.0, 9999.0],
        "weighted": [4000.0, 0.0, 0.0, 999.9],
    }


def test_activity_months_follow_the_current_time_zone(world: dict[str, Any], maria: User) -> None:
    """2020-01-31 23:30 UTC is already February in Paris."""
    with timezone.override("Europe/Paris"):
        rows = _rows(maria)
    assert ("2020-02", maria.display_name, "Sales", "open") in rows
    assert ("2020-01", maria.display_name, "Sales", "open") not in rows


def test_activity_filters(world: dict[str, Any], maria: User, bob: User) -> None:
    feb = _rows(maria, date_from=datetime.date(2020, 2, 1), date_to=datetime.date(2020, 2, 29))
    assert {key[3] for key in feb} == {"cancel", "pending"}
    # The end date is included up to its last second.
    jan = _rows(maria, date_to=datetime.date(2020, 1, 31))
    assert sum(r.count for r in jan.values()) == 3
    sales = _rows(maria, section=world["sales"])
    assert {key[2] for key in sales} == {"Sales"}
    assert sum(r.count for r in sales.values()) == 4
    helpdesk = _rows(maria, case_type=case_type("helpdesk"))
    assert list(helpdesk) == [("2020-02", maria.display_name, "Support", "pending")]
    bobs = _rows(maria, responsible=bob)
    assert {key[3] for key in bobs} == {"done", "cancel"}


def test_agents_do_not_see_members_only_sections_in_activity(
    world: dict[str, Any], bob: User
) -> None:
    report = activity_report(bob, ReportFilters())
    assert "Board room" not in {r.section for r in report.rows}
    assert report.total.count == 5
    assert report.total.planned_revenue == Decimal("6500.00")
    assert report.total.weighted_revenue == Decimal("4000.00")
    assert report.total.avg_probability == 58.33  # (50 + 100 + 25) / 3
    assert report.total.avg_close_days == 5.5  # (10 + 4.5 + 2) / 3


def test_merged_cases_are_left_out(world: dict[str, Any], maria: User) -> None:
    """A case merged into another is a duplicate, not a cancelled case."""
    Case.objects.filter(pk=world["cases"][3].pk).update(merged_into=world["cases"][0])
    assert activity_report(maria, ReportFilters()).total.count == 5


# --------------------------------------------------------------------------
# Sections figures


def test_sections_report_by_section_and_category(world: dict[str, Any], maria: User) -> None:
    report = sections_report(maria, ReportFilters())
    assert [s.section for s in report.sections] == ["Board room", "Sales", "Support"]
    board, sales, support = report.sections

    assert (sales.count, sales.active, sales.done, sales.cancelled) == (4, 1, 2, 1)
    assert (sales.pct_done, sales.pct_cancelled) == (50.0, 25.0)
    assert (sales.messages, sales.avg_messages) == (3, 0.75)
    categories = {c.category: c for c in sales.categories}
    assert [c.category for c in sales.categories] == ["Hardware", "Software", "No category"]
    assert (categories["Hardware"].count, categories["Hardware"].pct_done) == (2, 100.0)
    assert categories["Hardware"].avg_messages == 1.0
    assert categories["No category"].pct_cancelled == 100.0

    assert (support.count, support.pct_done, support.pct_cancelled) == (1, 0.0, 0.0)
    assert support.avg_messages == 3.0
    assert (board.pct_done, board.avg_messages) == (100.0, 1.0)

    total = report.total
    assert (total.count, total.done, total.cancelled, total.messages) == (6, 3, 1, 7)
    assert (total.pct_done, total.pct_cancelled, total.avg_messages) == (50.0, 16.67, 1.17)

    rates = report.chart_data()["charts"]["rates"]
    assert rates["labels"] == ["Board room", "Sales", "Support"]
    assert [d["data"] for d in rates["datasets"]] == [[100.0, 50.0, 0.0], [0.0, 25.0, 0.0]]


def test_agents_do_not_see_members_only_sections_in_sections(
    world: dict[str, Any], bob: User
) -> None:
    report = sections_report(bob, ReportFilters())
    assert [s.section for s in report.sections] == ["Sales", "Support"]
    assert (report.total.count, report.total.pct_done, report.total.pct_cancelled) == (
        5,
        40.0,
        20.0,
    )
    assert report.total.avg_messages == 1.2


def test_period_presets() -> None:
    today = datetime.date(2026, 2, 14)
    assert period_range("month", today) == (datetime.date(2026, 2, 1), today)
    assert period_range("3months", today) == (datetime.date(2025, 12, 1), today)
    assert period_range("year", today) == (datetime.date(2026, 1, 1), today)
    assert period_range("", today) == (None, None)


# --------------------------------------------------------------------------
# Pages


def test_index_links_both_reports(bob_client: Client) -> None:
    html = bob_client.get(INDEX).content.decode()
    assert 'href="/cases/reports/activity/"' in html
    assert 'href="/cases/reports/sections/"' in html


def test_activity_page_shows_table_chart_and_csv_link(
    world: dict[str, Any], maria_client: Client, maria: User
) -> None:
    response = maria_client.get(ACTIVITY)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-chart="states"' in html
    assert 'data-chart="revenue"' in html
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert "/static/goodwill/charts.js" in html
    assert "<script>" not in html  # the CSP allows no inline script
    assert chart_data(html)["charts"]["states"]["labels"][0] == "Jan 2020"
    assert "4,000.00" in html  # Jan, bob, Sales, done
    assert "16,499.00" in html  # the totals row
    assert "46.3 %" in html  # 46.25 shown to one decimal
    assert 'href="?format=csv"' in html
    assert "All time" in html


def test_sections_page_shows_table_and_chart(world: dict[str, Any], maria_client: Client) -> None:
    response = maria_client.get(SECTIONS)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-chart="rates"' in html
    assert chart_data(html)["charts"]["rates"]["labels"] == ["Board room", "Sales", "Support"]
    assert "Takeover" in html
    assert "16.7 %" in html  # cancelled overall
    assert "1.17" in html  # messages per case overall


def test_members_only_section_never_reaches_bob(world: dict[str, Any], bob_client: Client) -> None:
    """Not as a row, not as a category, not as a filter choice, not in the CSV."""
    for url in (ACTIVITY, SECTIONS, f"{ACTIVITY}?format=csv", f"{SECTIONS}?format=csv"):
        body = bob_client.get(url).content.decode()
        assert "Board room" not in body, url
        assert "Takeover" not in body, url
        assert "9999" not in body, url
        assert "9,999" not in body, url
    board = world["board"].pk
    response = bob_client.get(f"{ACTIVITY}?section={board}")
    assert response.status_code == 400
    assert "Board room" not in response.content.decode()


def test_members_only_section_is_there_for_maria(
    world: dict[str, Any], maria_client: Client
) -> None:
    for url in (ACTIVITY, SECTIONS):
        html = maria_client.get(url).content.decode()
        assert f'<option value="{world["board"].pk}">Board room</option>' in html
        assert "<td>Board room</td>" in html or '<th scope="row">Board room</th>' in html


def test_filters_narrow_the_page(world: dict[str, Any], maria_client: Client) -> None:
    sales = world["sales"].pk
    html = maria_client.get(f"{ACTIVITY}?from=2020-02-01&to=2020-02-29&section={sales}").content
    text = html.decode()
    assert "1 Feb 2020 – 29 Feb 2020" in text
    assert chart_data(text)["charts"]["states"]["labels"] == ["Feb 2020"]
    assert 'href="?from=2020-02-01&amp;to=2020-02-29&amp;section=' in text


def test_a_preset_period_wins_over_dates(
    world: dict[str, Any], maria_client: Client, maria: User
) -> None:
    """The "this month" preset covers the cases created this month, whatever the dates say."""
    CaseFactory(section=world["sales"], by=maria, state="open")  # created now
    response = maria_client.get(f"{ACTIVITY}?period=month&from=2020-01-01&to=2020-01-31")
    assert response.status_code == 200
    data = chart_data(response.content.decode())
    assert data["charts"]["states"]["labels"] == [timezone.localdate().strftime("%b %Y")]


def test_empty_state(maria_client: Client) -> None:
    for url in (ACTIVITY, SECTIONS):
        response = maria_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "No cases match these filters." in html
        assert 'id="report-data"' not in html
        assert "Download CSV" not in html


@pytest.mark.parametrize(
    "query",
    [
        "from=garbage",
        "to=2020-02-30",
        "from=2020-03-01&to=2020-02-01",
        "from=0001-01-01",
        "to=9999-12-31",
        "section=abc",
        "section=99999999999999999999999",
        "section=-1",
        "case_type=0",
        "responsible=x",
        "period=decade",
        "from=garbage&format=csv",
    ],
)
def test_bad_filters_are_form_errors(query: str, maria_client: Client) -> None:
    response = maria_client.get(f"{ACTIVITY}?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist' in html
    assert "Some filters are not valid" in html
    assert response["Content-Type"].startswith("text/html")


def test_bad_section_filter_on_sections_page(maria_client: Client) -> None:
    response = maria_client.get(f"{SECTIONS}?from=2020-13-01")
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


@pytest.mark.parametrize("url", [INDEX, ACTIVITY, SECTIONS, f"{ACTIVITY}?format=csv"])
@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused(url: str, persona: str, request: pytest.FixtureRequest) -> None:
    client: Client = request.getfixturevalue(f"{persona}_client")
    assert client.get(url).status_code == 403


def test_anonymous_visitors_must_log_in() -> None:
    response = Client().get(ACTIVITY)
    assert response.status_code == 302
    assert "/login" in response["Location"]


@pytest.mark.parametrize("url", [INDEX, ACTIVITY, SECTIONS])
def test_the_reports_permission_is_required(url: str, bob_client: Client) -> None:
    """An agent whose role lost ``cases.view_case_reports`` is refused."""
    perm = Permission.objects.get(codename="view_case_reports")
    Group.objects.get(name=Role.AGENT).permissions.remove(perm)
    assert bob_client.get(url).status_code == 403


# --------------------------------------------------------------------------
# CSV


def test_activity_csv(world: dict[str, Any], maria_client: Client, bob: User) -> None:
    rows = read_csv(maria_client.get(f"{ACTIVITY}?format=csv"))
    assert rows[0] == report_views.ACTIVITY_HEADER
    assert ["2020-01", bob.display_name, "Sales", "Done", "2", "4000.00", "1400.00"] == rows[4][:7]
    assert rows[4][7:] == ["3500.00", "75.0", "7.25"]
    assert rows[2][:4] == ["2020-02", bob.display_name, "Sales", "Cancelled"]
    assert rows[2][8] == ""  # no probability: empty, not zero
    assert rows[-1] == ["Total", "", "", "", "6", "16499.00", "1400.00", "4999.90", "46.25", "4.5"]
    assert len(rows) == 1 + 5 + 1


def test_sections_csv(world: dict[str, Any], maria_client: Client) -> None:
    rows = read_csv(maria_client.get(f"{SECTIONS}?format=csv"))
    assert rows[0] == report_views.SECTIONS_HEADER
    assert ["Sales", "All categories", "4", "1", "2", "1", "50.0", "25.0", "3", "0.75"] in rows
    assert ["Sales", "Hardware", "2", "0", "2", "0", "100.0", "0.0", "2", "1.0"] in rows
    assert rows[-1] == ["Total", "", "6", "2", "3", "1", "50.0", "16.67", "7", "1.17"]


def test_csv_follows_the_filters(world: dict[str, Any], maria_client: Client) -> None:
    rows = read_csv(maria_client.get(f"{ACTIVITY}?from=2020-02-01&to=2020-02-29&format=csv"))
    assert {row[0] for row in rows[1:-1]} == {"2020-02"}
    assert rows[-1][4] == "2"


def test_csv_neutralises_formulas_in_text_cells(maria: User, maria_client: Client) -> None:
    evil_section = SectionFactory(name='=HYPERLINK("http://evil.example")')
    evil_user = UserFactory(first_name="+Eve", last_name="", roles=[Role.AGENT])
    category = CaseCategory.objects.create(section=evil_section, name="@SUM(A1)")
    make_case(
        evil_section,
        by=maria,
        responsible=evil_user,
        created=at(2020, 1, 1),
        state="open",
        category=category,
        planned_revenue=Decimal("10"),
    )
    activity = read_csv(maria_client.get(f"{ACTIVITY}?format=csv"))
    assert activity[1][1:3] == ["'+Eve", '\'=HYPERLINK("http://evil.example")']
    assert activity[1][5] == "10.00"  # numbers stay numbers
    sections = read_csv(maria_client.get(f"{SECTIONS}?format=csv"))
    assert sections[2][:2] == ['\'=HYPERLINK("http://evil.example")', "'@SUM(A1)"]


def test_long_tables_are_cut_on_the_page_but_not_in_the_csv(
    world: dict[str, Any], maria_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_views, "TABLE_LIMIT", 2)
    html = maria_client.get(ACTIVITY).content.decode()
    assert "The page shows the first 2; the CSV download has all of them." in html
    assert html.count('<span class="report-state ') == 2
    assert len(read_csv(maria_client.get(f"{ACTIVITY}?format=csv"))) == 1 + 5 + 1


# --------------------------------------------------------------------------
# Query counts


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def _aggregate_overhead() -> int:
    """On PostgreSQL the aggregate runs in its own transaction with a larger
    work_mem: inside a test's transaction that is SAVEPOINT, SET LOCAL, RELEASE."""
    return 3 if connection.vendor == "postgresql" else 0


# Five for the session, the user and the role's permissions; one for the
# sections an agent may see; then the aggregate, its labels and the filter choices.
@pytest.mark.parametrize(
    ("url", "expected", "aggregates"),
    [
        (INDEX, 5, 0),
        (ACTIVITY, 12, 1),  # + aggregate, user and section labels, 3 filter choice lists
        (SECTIONS, 11, 1),  # + aggregate, section and category labels, 2 filter choice lists
        (f"{ACTIVITY}?format=csv", 9, 1),  # no choice lists
        (f"{SECTIONS}?format=csv", 9, 1),
    ],
)
def test_report_pages_run_a_fixed_number_of_queries(
    url: str,
    expected: int,
    aggregates: int,
    world: dict[str, Any],
    maria: User,
    bob: User,
    bob_client: Client,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    """More cases, more users, more sections and categories: the same queries."""
    expected += aggregates * _aggregate_overhead()
    assert _count_queries(bob_client, url) == expected
    for n in range(3):
        section = SectionFactory(name=f"Extra {n}")
        category = CaseCategory.objects.create(section=section, name=f"Extra category {n}")
        agent = UserFactory(roles=[Role.AGENT])
        for month in (5, 6):
            make_case(
                section,
                by=maria,
                responsible=agent,
                created=at(2020, month, 1),
                state="done",
                closed=at(2020, month, 3),
                category=category,
                planned_revenue=Decimal("5"),
                probability=20,
            )
    with django_assert_num_queries(expected):
        assert bob_client.get(url).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_the_aggregate_gets_room_to_hash_in_memory_on_postgresql() -> None:
    def work_mem() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            return str(cursor.fetchone()[0])

    assert work_mem() != "32MB"
    with aggregate_memory():
        assert work_mem() == "32MB"
