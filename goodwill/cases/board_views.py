"""The kanban board and the calendar of cases.

The kanban shows one section's pipeline: a column per stage, with the count and
the (weighted) revenue of its open cases from one aggregate query, and cards that
each column loads lazily, 30 at a time. Dropping a card on another column moves
the case to that stage through ``services.case_set_stage``.

The calendar shows meetings, calls and service visits by month or by week; an
event dropped on another day (or hour) is rescheduled through
``services.case_reschedule``, which keeps its duration.

Both moves answer JSON to the page's script, and redirect with a message to the
plain "Move…" forms that work without it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Count, Expression, F, QuerySet
from django.http import Http404, HttpResponse, HttpResponseBase, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases import selectors, services
from goodwill.cases.models import ACTIVE_STATES, Case, CaseType, Section, Stage
from goodwill.cases.permissions import (
    can_case,
    check_case_action,
    get_case_for_user,
    get_section_for_user,
    visible_sections,
)
from goodwill.lib.pagination import BadCursor

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

CALENDAR_VIEWS = ("month", "week")
FIRST_HOUR = 7  # the week view's hour rows run from 07:00 …
LAST_HOUR = 20  # … to 20:00; earlier and later events get a row of their own
EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(2999, 12, 31)
_MAX_ID = 2**62


class BadParameter(ValueError):
    """A query or form parameter that cannot be understood; its text is shown."""


def _int(raw: str | None, what: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadParameter(f"The {what} “{raw[:40]}” is not a number.") from None
    if not 0 < value < _MAX_ID:
        raise BadParameter(f"There is no {what} {value}.")
    return value


def _wants_json(request: AuthenticatedHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: AuthenticatedHttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _refuse(
    request: AuthenticatedHttpRequest, message: str, status: int, back: str
) -> HttpResponse:
    """A move that cannot be done: JSON for the page's script, or a message and
    the way back for the plain form."""
    if _wants_json(request):
        return JsonResponse({"ok": False, "error": message}, status=status)
    messages.error(request, message)
    return redirect(back)


# --------------------------------------------------------------------------
# Kanban

_WORD = re.compile(r"[a-z_]+")


class _LiteralIn(Expression):
    """``column IN ('a', 'b')`` with the values written into the SQL, not bound.

    SQLite uses a partial index only when it can prove that the query's
    condition implies the index's, and it cannot see through bound parameters.
    The ``case_kanban`` index is partial on the active states, so the board
    repeats that condition in literal form. The values are the code's own
    constants (checked to be plain words), never user input.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, name: str, values: Iterable[str]) -> None:
        super().__init__()
        self.values = tuple(str(value) for value in values)
        if not all(_WORD.fullmatch(value) for value in self.values):
            raise ValueError(f"Only plain words can be written into SQL: {self.values!r}")
        self.column: Any = F(name)

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        sql, params = compiler.compile(self.column)
        literals = ", ".join(f"'{value}'" for value in self.values)
        return f"{sql} IN ({literals})", params


def _board_cases(user: Any, filters: BoardFilters) -> QuerySet[Case]:
    """The board's cases (``selectors.kanban_queryset``), in a form that lets
    SQLite use the ``case_kanban`` partial index (section, type, stage)."""
    assert filters.section is not None  # noqa: S101 - callers resolve the section first
    return selectors.kanban_queryset(
        user=user,
        section=filters.section,
        case_type=filters.case_type,
        q=filters.q,
        mine=filters.mine,
    ).filter(_LiteralIn("state", ACTIVE_STATES))


@dataclass
class BoardFilters:
    section: Section | None = None
    case_type: CaseType | None = None
    q: str = ""
    mine: bool = False

    def as_dict(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.section is not None:
            query["section"] = self.section.pk
        if self.case_type is not None:
            query["type"] = self.case_type.code
        if self.q:
            query["q"] = self.q
        if self.mine:
            query["mine"] = 1
        return query

    def query(self) -> str:
        return urlencode(self.as_dict())

    @property
    def shows_revenue(self) -> bool:
        return self.case_type is not None and self.case_type.has(CaseType.FieldGroup.OPPORTUNITY)


def _case_type(raw: str | None, types: list[CaseType]) -> CaseType | None:
    """The case type named by *raw* (an id or a code), None for all types."""
    value = (raw or "").strip()
    if not value:
        return None
    for case_type in types:
        if value == case_type.code or value == str(case_type.pk):
            return case_type
    raise BadParameter(f"There is no case type “{value[:40]}”.")


def _board_filters(
    params: QueryDict, *, section: Section | None, types: list[CaseType]
) -> BoardFilters:
    return BoardFilters(
        section=section,
        case_type=_case_type(params.get("type"), types),
        q=params.get("q", "").replace("\x00", "").strip()[:200],
        mine=params.get("mine") == "1",
    )


def _headers_context(
    filters: BoardFilters, columns: list[selectors.KanbanColumn]
) -> list[dict[str, Any]]:
    return [{"column": column, "filters": filters} for column in columns]


@require_GET
@staff_required
def kanban(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One section's pipeline. The columns' cards load lazily (``kanban_column``)."""
    user = request.user
    check_case_action(user, "view")
    sections = list(
        visible_sections(user).annotate(stage_count=Count("stages")).order_by("name", "id")
    )
    types = list(CaseType.objects.order_by("sequence", "name"))
    problems: list[str] = []
    section: Section | None = None
    try:
        wanted = _int(request.GET.get("section"), "section")
    except BadParameter as exc:
        problems.append(str(exc))
        wanted = None
    if wanted is not None:
        section = next((s for s in sections if s.pk == wanted), None)
        if section is None:
            raise Http404("No such section.")
    else:
        active = [s for s in sections if s.active]
        section = next((s for s in active if s.stage_count), active[0] if active else None)
    try:
        filters = _board_filters(request.GET, section=section, types=types)
    except BadParameter as exc:
        problems.append(str(exc))
        filters = BoardFilters(section=section)

    columns: list[selectors.KanbanColumn] = []
    if section is not None and section.stage_count:
        columns = selectors.kanban_columns(_board_cases(user, filters), section)
    for problem in problems:
        messages.warning(request, f"{problem} It is ignored.")
    setup_allowed = user.has_perm("cases.change_stage")
    return render(
        request,
        "cases/kanban.html",
        {
            "sections": [s for s in sections if s.active or s == section],
            "types": [t for t in types if t.active or t == filters.case_type],
            "filters": filters,
            "section": section,
            "columns": columns,
            "headers": _headers_context(filters, columns),
            "can_change": can_case(user, "change"),
            "can_setup": setup_allowed,
        },
        status=400 if problems else 200,
    )


@require_GET
@staff_required
def kanban_column(request: AuthenticatedHttpRequest, stage: str) -> HttpResponse:
    """A column's cards: the first 30, or the 30 after ``cursor``, and "Load more"."""
    user = request.user
    check_case_action(user, "view")
    try:
        section_id = _int(request.GET.get("section"), "section")
        if section_id is None:
            raise BadParameter("Say which section the column belongs to.")
        section = get_section_for_user(user, section_id)
        column_stage: Stage | None = None
        if stage != "none":
            stage_id = _int(stage, "stage") or 0
            column_stage = Stage.objects.filter(pk=stage_id, section=section).first()
            if column_stage is None:
                raise Http404("No such stage in this section.")
        filters = _board_filters(
            request.GET, section=section, types=list(CaseType.objects.order_by("sequence"))
        )
        page = selectors.kanban_cards(
            _board_cases(user, filters), stage=column_stage, cursor=request.GET.get("cursor")
        )
    except (BadParameter, BadCursor) as exc:
        return HttpResponse(
            f'<li class="kanban-error" role="alert">{escape(str(exc))}</li>', status=400
        )
    return render(
        request,
        "cases/_kanban_cards.html",
        {
            "page": page,
            "filters": filters,
            "column_key": column_stage.pk if column_stage else "none",
            "stages": list(section.stages.all()),
            "can_change": can_case(user, "change"),
            "back": f"{reverse('cases:kanban')}?{filters.query()}",
        },
    )


@require_POST
@staff_required
def kanban_move(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Move case ``number`` to ``stage``; answers the board's new column headers."""
    user = request.user
    back = _back(request, reverse("cases:kanban"))
    try:
        number = _int(request.POST.get("number"), "case number")
        stage_id = _int(request.POST.get("stage"), "stage")
        if number is None or stage_id is None:
            raise BadParameter("Say which case goes to which stage.")
    except BadParameter as exc:
        return _refuse(request, str(exc), 400, back)
    case = get_case_for_user(user, number, action="change")
    stage = Stage.objects.filter(pk=stage_id).first()
    if stage is None or stage.section_id != case.section_id:
        return _refuse(
            request,
            f"Case #{case.number} cannot go to that stage: "
            f"it is not a stage of the section {case.section}.",
            400,
            back,
        )
    try:
        case = services.case_set_stage(case=case, by=user, stage=stage)
    except ValidationError as exc:
        return _refuse(request, " ".join(exc.messages), 409, back)
    message = f"#{case.number} moved to {stage}."
    if not _wants_json(request):
        messages.success(request, message)
        return redirect(back)
    try:
        filters = _board_filters(
            request.POST, section=case.section, types=list(CaseType.objects.order_by("sequence"))
        )
    except BadParameter:
        filters = BoardFilters(section=case.section)
    columns = selectors.kanban_columns(_board_cases(user, filters), case.section)
    if not any(column.stage is None for column in columns):
        columns.append(selectors.KanbanColumn(stage=None))
    headers = {
        item["column"].key: render_to_string("cases/_kanban_header.html", item, request=request)
        for item in _headers_context(filters, columns)
    }
    return JsonResponse({"ok": True, "message": message, "stage": stage.pk, "headers": headers})


# --------------------------------------------------------------------------
# Calendar


@dataclass
class CalendarEvent:
    case: Any
    start: datetime.datetime  # local time
    end: datetime.datetime | None
    continued: bool = False  # started before the first day shown

    @property
    def date_value(self) -> str:
        return self.start.date().isoformat()

    @property
    def time_value(self) -> str:
        return self.start.strftime("%H:%M")


@dataclass
class CalendarCell:
    date: datetime.date
    hour: int | None = None  # an hour slot of the week view; None for a whole day
    in_range: bool = True
    is_today: bool = False
    events: list[CalendarEvent] = field(default_factory=list)


@dataclass
class HourRow:
    label: str
    hour: int | None
    cells: list[CalendarCell]


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _month_bounds(anchor: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = anchor.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    last = following - datetime.timedelta(days=1)
    start = first - datetime.timedelta(days=first.weekday())
    end = last + datetime.timedelta(days=7 - last.isoweekday() + 1)
    return start, end  # [start, end)


def _parse_anchor(raw: str | None, today: datetime.date) -> datetime.date:
    value = (raw or "").strip()
    if not value:
        return today
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"“{value[:40]}” is not a date; use the form YYYY-MM-DD.") from None
    if not EARLIEST <= day <= LATEST:
        raise BadParameter(f"Choose a date between {EARLIEST} and {LATEST}.")
    return day


def _calendar_query(**values: Any) -> str:
    return urlencode({k: v for k, v in values.items() if v not in (None, "", False)})


@require_GET
@staff_required
def calendar(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Meetings, calls and service visits by month (default) or week (?view=week)."""
    user = request.user
    check_case_action(user, "view")
    problems: list[str] = []
    today = timezone.localdate()
    view = request.GET.get("view", "").strip() or "month"
    if view not in CALENDAR_VIEWS:
        problems.append(f"There is no “{view[:20]}” view; choose month or week.")
        view = "month"
    try:
        anchor = _parse_anchor(request.GET.get("date"), today)
    except BadParameter as exc:
        problems.append(str(exc))
        anchor = today
    sections = list(visible_sections(user).filter(active=True).order_by("name", "id"))
    try:
        section_id = _int(request.GET.get("section"), "section")
    except BadParameter as exc:
        problems.append(str(exc))
        section_id = None
    if section_id is not None and not any(s.pk == section_id for s in sections):
        get_section_for_user(user, section_id)  # 404 unless visible (then only archived)
    mine = request.GET.get("mine") == "1"

    if view == "month":
        first_day, end_day = _month_bounds(anchor)
        previous = (anchor.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        following = (anchor.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    else:
        first_day = anchor - datetime.timedelta(days=anchor.weekday())
        end_day = first_day + datetime.timedelta(days=7)
        previous = anchor - datetime.timedelta(days=7)
        following = anchor + datetime.timedelta(days=7)
    cases = selectors.calendar_cases(
        user=user,
        start=_local_midnight(first_day),
        end=_local_midnight(end_day),
        section=section_id,
        mine=mine,
    )
    events: list[CalendarEvent] = []
    for case in cases:
        start = timezone.localtime(case.scheduled_start)
        end = timezone.localtime(case.scheduled_end) if case.scheduled_end else None
        events.append(CalendarEvent(case, start, end, continued=start.date() < first_day))

    days = [first_day + datetime.timedelta(days=n) for n in range((end_day - first_day).days)]
    by_day: dict[datetime.date, list[CalendarEvent]] = {day: [] for day in days}
    for event in events:
        by_day[max(event.start.date(), first_day)].append(event)

    context: dict[str, Any] = {
        "view": view,
        "anchor": anchor,
        "today": today,
        "sections": sections,
        "section_id": section_id,
        "mine": mine,
        "days": [
            CalendarCell(
                date=day,
                in_range=view == "week" or day.month == anchor.month,
                is_today=day == today,
                events=by_day[day],
            )
            for day in days
        ],
        "agenda": [(day, by_day[day]) for day in days if by_day[day]],
        "event_count": len(events),
        "prev_query": _calendar_query(
            view=view, date=previous, section=section_id, mine="1" if mine else ""
        ),
        "next_query": _calendar_query(
            view=view, date=following, section=section_id, mine="1" if mine else ""
        ),
        "today_query": _calendar_query(view=view, section=section_id, mine="1" if mine else ""),
        "month_query": _calendar_query(date=anchor, section=section_id, mine="1" if mine else ""),
        "week_query": _calendar_query(
            view="week", date=anchor, section=section_id, mine="1" if mine else ""
        ),
        "can_change": can_case(user, "change"),
        "types": [t for t in CaseType.objects.filter(active=True) if t.is_scheduled],
    }
    if view == "month":
        cells = context["days"]
        context["weeks"] = [cells[i : i + 7] for i in range(0, len(cells), 7)]
        context["title"] = anchor.strftime("%B %Y")
    else:
        context["rows"] = _hour_rows(days, by_day, today)
        last = days[-1]
        context["title"] = (
            f"{days[0].day} {days[0]:%B} – {last.day} {last:%B %Y}"
            if days[0].month != last.month
            else f"{days[0].day}–{last.day} {last:%B %Y}"
        )
    for problem in problems:
        messages.warning(request, f"{problem} Showing {context['title']} instead.")
    return render(request, "cases/calendar.html", context, status=400 if problems else 200)


def _hour_rows(
    days: list[datetime.date],
    by_day: dict[datetime.date, list[CalendarEvent]],
    today: datetime.date,
) -> list[HourRow]:
    """The week view's rows: "earlier", one per hour from 07:00 to 19:00, "later"."""
    rows = [HourRow(f"Before {FIRST_HOUR:02d}:00", None, [])]
    rows += [HourRow(f"{hour:02d}:00", hour, []) for hour in range(FIRST_HOUR, LAST_HOUR)]
    rows.append(HourRow(f"From {LAST_HOUR:02d}:00", None, []))
    for day in days:
        cells = [
            CalendarCell(date=day, hour=row.hour, is_today=day == today, events=[]) for row in rows
        ]
        for event in by_day[day]:
            hour = event.start.hour if not event.continued else FIRST_HOUR
            if hour < FIRST_HOUR:
                index = 0
            elif hour >= LAST_HOUR:
                index = len(rows) - 1
            else:
                index = hour - FIRST_HOUR + 1
            cells[index].events.append(event)
        for row, cell in zip(rows, cells, strict=True):
            row.cells.append(cell)
    return rows


def _parse_start(params: QueryDict) -> datetime.datetime:
    """The new start: ``start`` (an ISO local date and time, as the page's script
    sends it) or ``date`` and ``time`` (as the "Move…" form sends them)."""
    raw = params.get("start", "").strip()
    if not raw:
        date, time = params.get("date", "").strip(), params.get("time", "").strip()
        if not date or not time:
            raise BadParameter("Give the new date and time.")
        raw = f"{date}T{time}"
    try:
        value = datetime.datetime.fromisoformat(raw[:40])
    except ValueError:
        raise BadParameter(
            f"“{raw[:40]}” is not a date and time; use the form YYYY-MM-DD HH:MM."
        ) from None
    if not EARLIEST <= value.date() <= LATEST:
        raise BadParameter(f"Choose a date between {EARLIEST} and {LATEST}.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


@require_POST
@staff_required
def calendar_move(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Reschedule case ``number`` to start at ``start``, keeping its duration."""
    user = request.user
    back = _back(request, reverse("cases:calendar"))
    try:
        number = _int(request.POST.get("number"), "case number")
        if number is None:
            raise BadParameter("Say which case to move.")
        start = _parse_start(request.POST)
    except BadParameter as exc:
        return _refuse(request, str(exc), 400, back)
    case = get_case_for_user(user, number, action="change")
    try:
        case = services.case_reschedule(case=case, by=user, start=start)
    except ValidationError as exc:
        return _refuse(request, " ".join(exc.messages), 400, back)
    local_start = timezone.localtime(case.scheduled_start)
    local_end = timezone.localtime(case.scheduled_end) if case.scheduled_end else None
    message = f"#{case.number} moved to {local_start:%Y-%m-%d %H:%M}."
    if not _wants_json(request):
        messages.success(request, message)
        return redirect(back)
    return JsonResponse(
        {
            "ok": True,
            "message": message,
            "date": local_start.date().isoformat(),
            "time": f"{local_start:%H:%M}",
            "end_time": f"{local_end:%H:%M}" if local_end else "",
        }
    )
