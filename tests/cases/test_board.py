"""The kanban board and the calendar: goodwill/cases/board_views.py."""

from __future__ import annotations

import datetime
import json
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.cases import board_views
from goodwill.cases.models import Case, Section, Stage
from goodwill.partners.models import TimelineEntry
from tests.factories import CaseFactory, PartnerFactory, SectionFactory, case_type

pytestmark = pytest.mark.django_db

KANBAN = reverse("cases:kanban")
MOVE = reverse("cases:kanban_move")
CALENDAR = reverse("cases:calendar")
CAL_MOVE = reverse("cases:calendar_move")
JSON = {"HTTP_ACCEPT": "application/json"}
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def column_url(section: Section, stage: Stage | str, **params: Any) -> str:
    key = stage if isinstance(stage, str) else str(stage.pk)
    query = "&".join(f"{k}={v}" for k, v in {"section": section.pk, **params}.items())
    return f"{reverse('cases:kanban_column', args=[key])}?{query}"


@pytest.fixture
def pipeline() -> Section:
    return SectionFactory(name="Sales", code="SALES", stages=["New", "Qualified", "Won"])


def stage(section: Section, name: str) -> Stage:
    return section.stages.get(name=name)


def opportunity(
    section: Section, stage_name: str, revenue: str, probability: int, **kw: Any
) -> Case:
    values: dict[str, Any] = {"type": "opportunity", "state": "open", **kw}
    return CaseFactory(
        section=section,
        stage=stage(section, stage_name),
        planned_revenue=Decimal(revenue),
        probability=probability,
        **values,
    )


def payload(response: Any) -> dict[str, Any]:
    return json.loads(response.content)


# --------------------------------------------------------------------------
# The kanban page


def test_kanban_shows_a_column_per_stage_with_counts_and_weighted_revenue(
    maria_client: Client, pipeline: Section
) -> None:
    """Each stage is a column with its number of open cases, their expected revenue
    and their weighted revenue (revenue × probability); closed cases, other sections
    and other types are left out."""
    opportunity(pipeline, "New", "1000", 50)
    opportunity(pipeline, "New", "3000", 10)
    opportunity(pipeline, "Qualified", "2000", 25)
    opportunity(pipeline, "Qualified", "9000", 90, state="done")
    CaseFactory(section=pipeline, type="helpdesk", state="open", stage=stage(pipeline, "Won"))
    opportunity(SectionFactory(stages=["New"]), "New", "7000", 100)

    response = maria_client.get(KANBAN, {"section": pipeline.pk, "type": "opportunity"})

    assert response.status_code == 200
    columns = response.context["columns"]
    assert [c.stage.name for c in columns] == ["New", "Qualified", "Won"]
    assert [c.count for c in columns] == [2, 1, 0]
    assert [c.revenue for c in columns] == [Decimal(4000), Decimal(2000), Decimal(0)]
    assert [c.weighted for c in columns] == [Decimal(800), Decimal(500), Decimal(0)]
    html = response.content.decode()
    assert "weighted 800" in html
    assert "weighted 500" in html
    for column in columns:
        assert f'hx-get="{column_url(pipeline, column.stage, type="opportunity")}"' in html.replace(
            "&amp;", "&"
        )
    assert 'hx-trigger="load"' in html


def test_kanban_counts_every_type_without_a_type_filter_and_hides_zero_revenue(
    maria_client: Client, pipeline: Section
) -> None:
    """Without a type, all open cases count; revenue only shows where there is some."""
    CaseFactory(section=pipeline, type="helpdesk", state="open", stage=stage(pipeline, "New"))
    opportunity(pipeline, "Qualified", "2000", 25)

    response = maria_client.get(KANBAN, {"section": pipeline.pk})

    assert [c.count for c in response.context["columns"]] == [1, 1, 0]
    html = response.content.decode()
    assert html.count("kanban-totals") == 1
    assert "weighted 500" in html


def test_kanban_defaults_to_the_first_section_with_stages(
    maria_client: Client, pipeline: Section
) -> None:
    """A section without stages is skipped when choosing the board to show."""
    empty = SectionFactory(name="Aaa first by name", code="AAA")
    empty.stages.all().delete()

    response = maria_client.get(KANBAN)

    assert response.context["section"] == pipeline
    html = response.content.decode()
    assert "Aaa first by name (no stages)" in html


def test_a_section_without_stages_shows_an_empty_state(
    maria_client: Client, bob_client: Client
) -> None:
    """Managers get a link to the setup; agents are told to ask a manager."""
    empty = SectionFactory(name="Triage", code="TRIAGE")
    empty.stages.all().delete()

    html = maria_client.get(KANBAN, {"section": empty.pk}).content.decode()
    assert "Triage has no stages yet." in html
    assert reverse("cases_setup:section_detail", args=[empty.pk]) in html

    html = bob_client.get(KANBAN, {"section": empty.pk}).content.decode()
    assert "Triage has no stages yet." in html
    assert "Ask a manager" in html
    assert reverse("cases_setup:section_detail", args=[empty.pk]) not in html


def test_without_any_section_the_board_says_so(maria_client: Client) -> None:
    response = maria_client.get(KANBAN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no section to show." in html
    assert reverse("cases_setup:section_list") in html


def test_search_and_mine_narrow_the_counts_and_the_cards(
    maria: User, maria_client: Client, pipeline: Section
) -> None:
    """?q= and ?mine=1 apply to the totals and to the columns' cards alike."""
    robots = opportunity(pipeline, "New", "1000", 50, subject="Warehouse robots", responsible=maria)
    opportunity(pipeline, "New", "2000", 50, subject="Spare parts")

    response = maria_client.get(KANBAN, {"section": pipeline.pk, "q": "robots"})
    assert [c.count for c in response.context["columns"]] == [1, 0, 0]
    response = maria_client.get(KANBAN, {"section": pipeline.pk, "mine": 1})
    assert [c.count for c in response.context["columns"]] == [1, 0, 0]
    html = maria_client.get(column_url(pipeline, stage(pipeline, "New"), mine=1)).content.decode()
    assert f"#{robots.number}" in html
    assert "Spare parts" not in html


def test_folded_stages_load_their_cards_only_when_unfolded(
    maria_client: Client, pipeline: Section
) -> None:
    """A folded stage is drawn collapsed and waits for the unfold event."""
    Stage.objects.filter(section=pipeline, name="Won").update(folded=True)

    html = maria_client.get(KANBAN, {"section": pipeline.pk}).content.decode()

    assert html.count('hx-trigger="load"') == 2
    assert html.count('hx-trigger="kanban-expand once"') == 1
    assert "kanban-column is-folded" in html


def test_bad_kanban_parameters_are_explained_not_a_500(
    maria_client: Client, pipeline: Section
) -> None:
    """A section that is not a number, or an unknown type, is ignored with a message."""
    response = maria_client.get(KANBAN, {"section": "abc", "type": "nope"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "The section “abc” is not a number. It is ignored." in html
    assert "There is no case type “nope”. It is ignored." in html
    assert response.context["section"] == pipeline
    assert maria_client.get(KANBAN, {"section": 999999}).status_code == 404


# --------------------------------------------------------------------------
# The lazily loaded columns


def test_a_column_returns_its_cards_and_a_load_more_button(
    maria: User, maria_client: Client, pipeline: Section
) -> None:
    """The first 30 cards, newest change first, then "Load more" with a cursor that
    brings the rest."""
    acme = PartnerFactory(name="Acme Robotics")
    late = timezone.now() - datetime.timedelta(days=2)
    first = opportunity(
        pipeline, "New", "1250", 40, partner=acme, responsible=maria, deadline=late, priority=1
    )
    for _ in range(34):
        opportunity(pipeline, "New", "10", 10)

    response = maria_client.get(column_url(pipeline, stage(pipeline, "New"), type="opportunity"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="kanban-card') == 30
    assert "Load more" in html
    page = response.context["page"]
    assert page.next_cursor
    more = maria_client.get(
        column_url(pipeline, stage(pipeline, "New"), type="opportunity", cursor=page.next_cursor)
    )
    html_more = more.content.decode()
    assert html_more.count('class="kanban-card') == 5
    assert "Load more" not in html_more
    # The oldest card is on the second page, with everything a card shows.
    assert f"#{first.number}" in html_more
    assert first.subject in html_more
    assert "Acme Robotics" in html_more
    assert f'title="Responsible: {maria.display_name}">{maria.initials}<' in html_more
    assert "is-late" in html_more
    assert "Highest" in html_more
    assert "1,250 · 40%" in html_more
    assert reverse("cases:detail", args=[first.number]) in html_more


def test_a_column_of_cases_without_a_stage(maria_client: Client, pipeline: Section) -> None:
    """Cases whose stage was deleted gather in a "No stage" column that takes no drops."""
    case = opportunity(pipeline, "Won", "100", 10)
    Stage.objects.filter(section=pipeline, name="Won").delete()

    html = maria_client.get(KANBAN, {"section": pipeline.pk}).content.decode()
    assert 'data-stage="none" data-accept="false"' in html

    html = maria_client.get(column_url(pipeline, "none")).content.decode()
    assert f"#{case.number}" in html


def test_bad_column_requests_are_refused_cleanly(maria_client: Client, pipeline: Section) -> None:
    """A stage of another section is a 404; a bad cursor or section is a 400."""
    other = SectionFactory(stages=["Elsewhere"])
    assert maria_client.get(column_url(pipeline, stage(other, "Elsewhere"))).status_code == 404
    assert maria_client.get(column_url(pipeline, "abc")).status_code == 400
    response = maria_client.get(column_url(pipeline, stage(pipeline, "New"), cursor="garbage"))
    assert response.status_code == 400
    assert "This page link is no longer valid." in response.content.decode()
    no_section = reverse("cases:kanban_column", args=[stage(pipeline, "New").pk])
    assert maria_client.get(no_section).status_code == 400


# --------------------------------------------------------------------------
# Moving cards


def test_moving_a_card_persists_the_stage_and_writes_the_timeline(
    maria: User, maria_client: Client, pipeline: Section
) -> None:
    """The drop saves the stage through the service (a timeline entry with old → new)
    and answers the column headers with their new totals."""
    case = opportunity(pipeline, "New", "1000", 50)
    opportunity(pipeline, "New", "3000", 10)
    won = stage(pipeline, "Won")

    response = maria_client.post(
        MOVE,
        {"number": case.number, "stage": won.pk, "section": pipeline.pk, "type": "opportunity"},
        **JSON,
    )

    assert response.status_code == 200
    data = payload(response)
    assert data["ok"] is True
    assert data["message"] == f"#{case.number} moved to Won."
    case.refresh_from_db()
    assert case.stage == won
    entry = TimelineEntry.objects.filter(
        subject_type=ContentType.objects.get_for_model(Case), subject_id=case.pk
    ).latest("id")
    assert entry.author == maria
    assert {"label": "Stage", "old": "New", "new": "Won"} in entry.changes
    new_header = data["headers"][str(stage(pipeline, "New").pk)]
    won_header = data["headers"][str(won.pk)]
    assert ">1</span>" in new_header
    assert "weighted 300" in new_header
    assert ">1</span>" in won_header
    assert "weighted 500" in won_header
    assert "none" in data["headers"]


def test_the_move_form_without_script_redirects_back_with_a_message(
    maria_client: Client, pipeline: Section
) -> None:
    """The card's "Move…" form works as a plain POST."""
    case = opportunity(pipeline, "New", "1000", 50)
    back = f"{KANBAN}?section={pipeline.pk}"

    response = maria_client.post(
        MOVE,
        {"number": case.number, "stage": stage(pipeline, "Qualified").pk, "next": back},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == back
    assert f"#{case.number} moved to Qualified." in response.content.decode()
    case.refresh_from_db()
    assert case.stage.name == "Qualified"
    response = maria_client.post(
        MOVE, {"number": case.number, "stage": 1, "next": "https://evil.example/"}
    )
    assert response["Location"] == KANBAN


def test_a_stage_of_another_section_is_refused(maria_client: Client, pipeline: Section) -> None:
    """400 with a clear message, and the case stays where it was."""
    case = opportunity(pipeline, "New", "1000", 50)
    foreign = stage(SectionFactory(stages=["Foreign"]), "Foreign")

    response = maria_client.post(MOVE, {"number": case.number, "stage": foreign.pk}, **JSON)

    assert response.status_code == 400
    assert payload(response) == {
        "ok": False,
        "error": f"Case #{case.number} cannot go to that stage: "
        "it is not a stage of the section Sales.",
    }
    case.refresh_from_db()
    assert case.stage.name == "New"
    missing = maria_client.post(MOVE, {"number": case.number, "stage": 10**9}, **JSON)
    assert missing.status_code == 400
    response = maria_client.post(MOVE, {"number": "x", "stage": foreign.pk}, **JSON)
    assert response.status_code == 400
    assert payload(response)["error"] == "The case number “x” is not a number."


def test_a_final_closed_case_cannot_be_moved(maria_client: Client, pipeline: Section) -> None:
    """A claim closed for good is read-only: the move is refused with the reason."""
    claim = CaseFactory(section=pipeline, type="claim", state="done")
    assert claim.final

    response = maria_client.post(
        MOVE, {"number": claim.number, "stage": stage(pipeline, "Won").pk}, **JSON
    )

    assert response.status_code == 409
    assert payload(response)["error"] == (
        f"Case #{claim.number} is closed for good (final close) and can no longer be changed."
    )
    claim.refresh_from_db()
    assert claim.stage.name == "New"


def test_members_only_sections_do_not_leak_to_agents(
    maria: User, bob_client: Client, maria_client: Client
) -> None:
    """Bob is not a member: the board, its columns and the move are all 404 for him."""
    private = SectionFactory(
        name="Board room", visibility=Section.Visibility.MEMBERS, members=[maria]
    )
    case = opportunity(private, "New", "1000", 50)
    doing = stage(private, "Doing")

    assert bob_client.get(KANBAN, {"section": private.pk}).status_code == 404
    assert bob_client.get(column_url(private, stage(private, "New"))).status_code == 404
    assert "Board room" not in bob_client.get(KANBAN).content.decode()
    response = bob_client.post(MOVE, {"number": case.number, "stage": doing.pk}, **JSON)
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.stage.name == "New"
    # A member (here a manager) can.
    assert maria_client.get(KANBAN, {"section": private.pk}).status_code == 200


@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused_everywhere(
    persona: str, pipeline: Section, request: pytest.FixtureRequest
) -> None:
    """No staff role: 403 on the board, the columns, the calendar and both moves."""
    client: Client = request.getfixturevalue(f"{persona}_client")
    case = opportunity(pipeline, "New", "1000", 50)
    won = stage(pipeline, "Won")
    assert client.get(KANBAN).status_code == 403
    assert client.get(column_url(pipeline, won)).status_code == 403
    assert client.get(CALENDAR).status_code == 403
    assert client.post(MOVE, {"number": case.number, "stage": won.pk}).status_code == 403
    start = "2030-01-01T10:00"
    assert client.post(CAL_MOVE, {"number": case.number, "start": start}).status_code == 403
    case.refresh_from_db()
    assert case.stage.name == "New"


def test_the_moves_are_post_only(maria_client: Client) -> None:
    assert maria_client.get(MOVE).status_code == 405
    assert maria_client.get(CAL_MOVE).status_code == 405


# --------------------------------------------------------------------------
# The calendar


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def paris(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Paris"


def meeting(start: datetime.datetime, minutes: int = 60, kind: str = "meeting", **kw: Any) -> Case:
    values: dict[str, Any] = {"state": "open", **kw}
    return CaseFactory(
        type=kind,
        scheduled_start=start,
        scheduled_end=start + datetime.timedelta(minutes=minutes),
        **values,
    )


def test_the_month_view_shows_the_events_of_its_weeks(paris: None, maria_client: Client) -> None:
    """March 2025 runs Monday 24 February to Sunday 6 April; each event sits on its
    local day with its local time; other types and other months are left out."""
    standup = meeting(at(2025, 3, 10, 14, 30), subject="Steering committee")
    call = meeting(at(2025, 4, 3, 9, 0), kind="call", subject="Call back Acme")
    late_night = meeting(at(2025, 3, 31, 23, 30), subject="Late review")  # 21:30 UTC
    meeting(at(2025, 4, 15, 10), subject="Too late for the grid")
    CaseFactory(type="helpdesk", state="open", scheduled_start=at(2025, 3, 12, 10))

    response = maria_client.get(CALENDAR, {"date": "2025-03-18"})

    assert response.status_code == 200
    days = response.context["days"]
    assert (days[0].date, days[-1].date) == (datetime.date(2025, 2, 24), datetime.date(2025, 4, 6))
    shown = {
        cell.date: [(e.case.number, e.time_value) for e in cell.events]
        for cell in days
        if cell.events
    }
    assert shown == {
        datetime.date(2025, 3, 10): [(standup.number, "14:30")],
        datetime.date(2025, 3, 31): [(late_night.number, "23:30")],
        datetime.date(2025, 4, 3): [(call.number, "09:00")],
    }
    assert response.context["title"] == "March 2025"
    html = response.content.decode()
    assert "Steering committee" in html
    assert "ev-call" in html
    assert "Too late for the grid" not in html
    assert "date=2025-02-01" in html  # previous
    assert "date=2025-04-01" in html  # next


def test_the_week_view_puts_events_in_their_hour_rows(paris: None, maria_client: Client) -> None:
    """The week runs Monday to Sunday; 07:00–19:00 have a row each, earlier and later
    events have their own rows."""
    afternoon = meeting(at(2025, 3, 12, 14, 30))
    early = meeting(at(2025, 3, 16, 6, 15))
    evening = meeting(at(2025, 3, 10, 21, 0))
    meeting(at(2025, 3, 17, 9, 0))  # the next Monday

    response = maria_client.get(CALENDAR, {"view": "week", "date": "2025-03-12"})

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.label for r in rows][:3] == ["Before 07:00", "07:00", "08:00"]
    assert rows[-1].label == "From 20:00"
    placed = {
        (row.label, cell.date.day): [e.case.number for e in cell.events]
        for row in rows
        for cell in row.cells
        if cell.events
    }
    assert placed == {
        ("14:00", 12): [afternoon.number],
        ("Before 07:00", 16): [early.number],
        ("From 20:00", 10): [evening.number],
    }
    assert response.context["title"] == "10–16 March 2025"
    assert 'data-date="2025-03-12" data-hour="14"' in response.content.decode()


def test_the_calendar_filters_by_section_and_mine(
    paris: None, maria: User, maria_client: Client
) -> None:
    """?section= and ?mine=1 narrow the events."""
    team = SectionFactory(name="Field team")
    mine = meeting(at(2025, 3, 10, 9), section=team, responsible=maria)
    other = meeting(at(2025, 3, 11, 9))

    def numbers(**params: Any) -> set[int]:
        response = maria_client.get(CALENDAR, {"date": "2025-03-10", **params})
        return {e.case.number for cell in response.context["days"] for e in cell.events}

    assert numbers() == {mine.number, other.number}
    assert numbers(section=team.pk) == {mine.number}
    assert numbers(mine=1) == {mine.number}


def test_moving_an_event_to_another_day_keeps_its_time_and_duration(
    paris: None, maria_client: Client
) -> None:
    """The month view sends the new day with the event's own time of day."""
    case = meeting(at(2025, 3, 10, 14, 30), minutes=75)

    response = maria_client.post(
        CAL_MOVE, {"number": case.number, "start": "2025-03-13T14:30"}, **JSON
    )

    assert response.status_code == 200
    assert payload(response) == {
        "ok": True,
        "message": f"#{case.number} moved to 2025-03-13 14:30.",
        "date": "2025-03-13",
        "time": "14:30",
        "end_time": "15:45",
    }
    case.refresh_from_db()
    assert case.scheduled_start == at(2025, 3, 13, 14, 30)
    assert case.scheduled_end == at(2025, 3, 13, 15, 45)


def test_moving_an_event_to_an_hour_slot_sets_day_and_hour(
    paris: None, maria_client: Client
) -> None:
    """The week view's slot sets the day and the hour; across a DST change the
    duration in real time stays the same."""
    case = meeting(at(2025, 3, 28, 10, 0), minutes=90)

    response = maria_client.post(
        CAL_MOVE, {"number": case.number, "start": "2025-03-31T08:00"}, **JSON
    )

    assert response.status_code == 200
    case.refresh_from_db()
    assert case.scheduled_start == at(2025, 3, 31, 8)
    assert case.scheduled_end - case.scheduled_start == datetime.timedelta(minutes=90)
    assert payload(response)["end_time"] == "09:30"


def test_the_move_form_sends_date_and_time_and_comes_back(
    paris: None, maria_client: Client
) -> None:
    """The "Move…" fallback posts a date and a time, then returns to the calendar."""
    case = meeting(at(2025, 3, 10, 14, 30), minutes=30)
    back = f"{CALENDAR}?view=week&date=2025-03-10"

    response = maria_client.post(
        CAL_MOVE,
        {"number": case.number, "date": "2025-03-11", "time": "16:00", "next": back},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == back
    assert f"#{case.number} moved to 2025-03-11 16:00." in response.content.decode()
    case.refresh_from_db()
    assert (case.scheduled_start, case.scheduled_end) == (
        at(2025, 3, 11, 16),
        at(2025, 3, 11, 16, 30),
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date": "2025-13-45"}, "“2025-13-45” is not a date; use the form YYYY-MM-DD."),
        ({"date": "0001-01-01"}, "Choose a date between 1900-01-01 and 2999-12-31."),
        ({"view": "year"}, "There is no “year” view; choose month or week."),
        ({"section": "x"}, "The section “x” is not a number."),
    ],
)
def test_bad_calendar_parameters_are_a_400_with_a_message(
    maria_client: Client, params: dict[str, str], message: str
) -> None:
    response = maria_client.get(CALENDAR, params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "soon"}, "“soon” is not a date and time; use the form YYYY-MM-DD HH:MM."),
        ({"start": "2025-02-30T10:00"}, "“2025-02-30T10:00” is not a date and time"),
        ({"start": "0001-01-01T00:00"}, "Choose a date between 1900-01-01 and 2999-12-31."),
        ({"date": "2025-03-10"}, "Give the new date and time."),
        ({"number": "", "start": "2025-03-10T10:00"}, "Say which case to move."),
    ],
)
def test_bad_calendar_moves_are_a_400_with_a_message(
    paris: None, maria_client: Client, data: dict[str, str], message: str
) -> None:
    case = meeting(at(2025, 3, 10, 14, 30))
    response = maria_client.post(CAL_MOVE, {"number": case.number, **data}, **JSON)
    assert response.status_code == 400
    assert message in payload(response)["error"]
    case.refresh_from_db()
    assert case.scheduled_start == at(2025, 3, 10, 14, 30)


def test_a_case_without_a_schedule_cannot_be_rescheduled(maria_client: Client) -> None:
    """The service's refusal comes back as a 400 with its message."""
    case = CaseFactory(type="helpdesk", state="open")
    response = maria_client.post(
        CAL_MOVE, {"number": case.number, "start": "2025-03-10T10:00"}, **JSON
    )
    assert response.status_code == 400
    assert payload(response)["error"] == "A Helpdesk request has no schedule to move."


def test_agents_cannot_see_or_move_events_of_a_members_only_section(
    paris: None, maria: User, bob_client: Client
) -> None:
    private = SectionFactory(visibility=Section.Visibility.MEMBERS, members=[maria])
    case = meeting(at(2025, 3, 10, 14, 30), section=private, subject="Secret board meeting")

    response = bob_client.get(CALENDAR, {"date": "2025-03-10"})
    assert "Secret board meeting" not in response.content.decode()
    assert bob_client.get(CALENDAR, {"section": private.pk}).status_code == 404
    response = bob_client.post(
        CAL_MOVE, {"number": case.number, "start": "2025-03-11T10:00"}, **JSON
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.scheduled_start == at(2025, 3, 10, 14, 30)


# --------------------------------------------------------------------------
# Query counts: flat, whatever the number of cases


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner and partial indexes")
@pytest.mark.parametrize("persona", ["maria", "bob"])
def test_the_board_queries_use_the_kanban_partial_index(
    persona: str, pipeline: Section, request: pytest.FixtureRequest
) -> None:
    """The totals and a column's cards are read through ``case_kanban`` (section,
    type, stage WHERE active), which SQLite only uses when it sees the states."""
    user: User = request.getfixturevalue(persona)
    opportunity(pipeline, "New", "100", 50)
    filters = board_views.BoardFilters(section=pipeline, case_type=case_type("opportunity"))
    cases = board_views._board_cases(user, filters)
    totals = cases.order_by().values("stage_id").annotate(n=Count("id"))
    assert "case_kanban" in totals.explain()
    cards = cases.filter(stage=stage(pipeline, "New")).order_by("-updated_at", "-id")[:31]
    assert "case_kanban" in cards.explain()


@pytest.mark.parametrize("count", [5, 40])
def test_the_kanban_page_runs_a_fixed_number_of_queries(
    count: int,
    maria: User,
    maria_client: Client,
    pipeline: Section,
    django_assert_num_queries: Any,
) -> None:
    for n in range(count):
        opportunity(pipeline, ["New", "Qualified", "Won"][n % 3], "100", 50, responsible=maria)
    # session, user, permissions (2), groups; sections, case types, the aggregate, stages
    with django_assert_num_queries(9):
        response = maria_client.get(KANBAN, {"section": pipeline.pk, "type": "opportunity"})
    assert sum(c.count for c in response.context["columns"]) == count


@pytest.mark.parametrize("count", [5, 40])
def test_a_kanban_column_runs_a_fixed_number_of_queries(
    count: int,
    maria: User,
    maria_client: Client,
    pipeline: Section,
    django_assert_num_queries: Any,
) -> None:
    partner = PartnerFactory()
    for _ in range(count):
        opportunity(pipeline, "New", "100", 50, responsible=maria, partner=partner)
    url = column_url(pipeline, stage(pipeline, "New"), type="opportunity")
    # session, user, permissions (2), groups; section, stage, case types, cards, stages
    with django_assert_num_queries(10):
        response = maria_client.get(url)
    assert len(response.context["page"].items) == min(count, 30)


@pytest.mark.parametrize("count", [5, 40])
def test_the_calendar_runs_a_fixed_number_of_queries(
    count: int, paris: None, maria_client: Client, django_assert_num_queries: Any
) -> None:
    section = SectionFactory()
    partner = PartnerFactory()
    for n in range(count):
        meeting(at(2025, 3, 1 + n % 28, 8 + n % 10), section=section, partner=partner)
    # session, user, permissions (2), groups; sections, scheduled types, the events,
    # the types for the legend
    with django_assert_num_queries(9):
        response = maria_client.get(CALENDAR, {"date": "2025-03-10"})
    assert response.context["event_count"] == count
