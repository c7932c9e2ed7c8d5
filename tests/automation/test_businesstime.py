"""Business-hours arithmetic: worked examples, DST edges, errors, and properties."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from goodwill.automation.businesstime import (
    BusinessCalendar,
    CalendarError,
    WorkingHours,
    calendar_default,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
MICROSECOND = timedelta(microseconds=1)
WEEKDAYS = range(5)

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
]
# Zones whose offset does not change in 2024-2037: wall-clock checks are exact there.
FIXED_ZONES = ["UTC", "Asia/Kolkata", "America/Sao_Paulo"]
# Local dates of the 2024-2025 clock changes, to steer examples onto them.
TRANSITIONS = {
    "Europe/Paris": [date(2024, 3, 31), date(2024, 10, 27), date(2025, 3, 30), date(2025, 10, 26)],
    "America/New_York": [date(2024, 3, 10), date(2024, 11, 3), date(2025, 3, 9), date(2025, 11, 2)],
    "Australia/Lord_Howe": [
        date(2024, 4, 7),
        date(2024, 10, 6),
        date(2025, 4, 6),
        date(2025, 10, 5),
    ],
}

PROPERTY = settings(max_examples=300, deadline=None)


def paris(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """A Paris wall-clock datetime."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=PARIS)


def every_day(start: time, end: time, timezone: str) -> BusinessCalendar:
    """A calendar open from ``start`` to ``end`` on all seven days."""
    return BusinessCalendar(timezone, tuple(WorkingHours(wd, start, end) for wd in range(7)))


# Worked examples ------------------------------------------------------------------


def test_friday_afternoon_plus_two_hours_is_monday_morning() -> None:
    """Friday 16:00 + 2 business hours (Mon-Fri 9-17) is Monday 10:00, returned in UTC."""
    calendar = calendar_default("Europe/Paris")
    result = calendar.add(paris(2024, 3, 15, 16), 2 * HOUR)
    assert result == paris(2024, 3, 18, 10)
    assert result.tzinfo is UTC


def test_a_monday_holiday_pushes_to_tuesday() -> None:
    """With the Monday a holiday, Friday 16:00 + 2h is Tuesday 10:00."""
    calendar = BusinessCalendar(
        "Europe/Paris", calendar_default().hours, frozenset({date(2024, 3, 18)})
    )
    assert calendar.add(paris(2024, 3, 15, 16), 2 * HOUR) == paris(2024, 3, 19, 10)
    assert not calendar.is_open(paris(2024, 3, 18, 10))
    assert calendar.next_open(paris(2024, 3, 16, 12)) == paris(2024, 3, 19, 9)


def test_lunch_break_is_not_counted() -> None:
    """With 9-12 and 13-17, Monday 11:00 + 2h is 14:00, and 12:30 is closed."""
    hours = tuple(
        WorkingHours(wd, start, end)
        for wd in WEEKDAYS
        for start, end in ((time(9), time(12)), (time(13), time(17)))
    )
    calendar = BusinessCalendar("Europe/Paris", hours)
    assert calendar.add(paris(2024, 3, 18, 11), 2 * HOUR) == paris(2024, 3, 18, 14)
    assert calendar.between(paris(2024, 3, 18, 11), paris(2024, 3, 18, 14)) == 2 * HOUR
    assert calendar.between(paris(2024, 3, 18), paris(2024, 3, 19)) == 7 * HOUR
    assert not calendar.is_open(paris(2024, 3, 18, 12, 30))
    assert calendar.next_open(paris(2024, 3, 18, 12, 30)) == paris(2024, 3, 18, 13)
    # Ending exactly at noon stays at noon rather than jumping to 13:00.
    assert calendar.add(paris(2024, 3, 18, 11), HOUR) == paris(2024, 3, 18, 12)


def test_intervals_are_half_open() -> None:
    """09:00 is open, 17:00 is not; next_open returns an open moment unchanged."""
    calendar = calendar_default("Europe/Paris")
    assert calendar.is_open(paris(2024, 3, 18, 9))
    assert not calendar.is_open(paris(2024, 3, 18, 17))
    assert calendar.is_open(paris(2024, 3, 18, 16, 59, 59, 999999))
    assert calendar.next_open(paris(2024, 3, 18, 15)) == paris(2024, 3, 18, 15)
    assert calendar.next_open(paris(2024, 3, 18, 17)) == paris(2024, 3, 19, 9)


def test_overlapping_intervals_are_merged() -> None:
    """9-13 and 11-17 on the same day make one 8-hour day, not 10 hours."""
    hours = (WorkingHours(0, time(9), time(13)), WorkingHours(0, time(11), time(17)))
    calendar = BusinessCalendar("UTC", hours)
    monday = datetime(2024, 3, 18, tzinfo=UTC)
    assert calendar.between(monday, monday + 24 * HOUR) == 8 * HOUR


def test_a_saturday_start_counts_from_monday_nine() -> None:
    """Starting on Saturday, the clock only starts on Monday 09:00."""
    calendar = calendar_default("Europe/Paris")
    saturday = paris(2024, 3, 16, 10)
    assert calendar.next_open(saturday) == paris(2024, 3, 18, 9)
    assert calendar.add(saturday, HOUR) == paris(2024, 3, 18, 10)
    assert calendar.between(saturday, paris(2024, 3, 18, 10)) == HOUR


def test_between_across_a_weekend() -> None:
    """Friday 15:00 to Monday 11:00 holds 4 business hours; backwards it is -4h."""
    calendar = calendar_default("Europe/Paris")
    friday, monday = paris(2024, 3, 15, 15), paris(2024, 3, 18, 11)
    assert calendar.between(friday, monday) == 4 * HOUR
    assert calendar.between(monday, friday) == -4 * HOUR
    assert calendar.between(friday, friday) == timedelta(0)


def test_zero_duration_returns_the_start_even_when_closed() -> None:
    """Adding nothing gives back the start instant, in UTC, whether open or not."""
    calendar = calendar_default("Europe/Paris")
    saturday = paris(2024, 3, 16, 10)
    assert calendar.add(saturday, timedelta(0)) == saturday
    assert calendar.add(saturday, timedelta(0)).tzinfo is UTC


def test_two_thousand_hours_is_fifty_working_weeks() -> None:
    """2,000 business hours from Monday 2024-01-01 09:00 end on Friday 2024-12-13 17:00,
    computed day by day rather than hour by hour."""
    calendar = calendar_default()
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    began = clock.perf_counter()
    result = calendar.add(start, 2000 * HOUR)
    elapsed = clock.perf_counter() - began
    assert result == datetime(2024, 12, 13, 17, tzinfo=UTC)
    assert calendar.between(start, result) == 2000 * HOUR
    assert elapsed < 1.0


def test_round_the_clock_calendar_counts_real_time() -> None:
    """An end of 00:00 means midnight: 00:00-24:00 every day is real elapsed time,
    DST nights included."""
    calendar = every_day(time(0), time(0), "Europe/Paris")
    start, end = paris(2024, 3, 30, 12), paris(2024, 10, 28, 12)
    assert calendar.between(start, end) == end - start
    assert calendar.add(start, end - start) == end


# Daylight-saving time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "day", "length"),
    [
        ("Europe/Paris", date(2024, 3, 31), 5 * HOUR),
        ("Europe/Paris", date(2024, 10, 27), 7 * HOUR),
        ("Europe/Paris", date(2024, 3, 30), 6 * HOUR),
        ("America/New_York", date(2024, 3, 10), 5 * HOUR),
        ("America/New_York", date(2024, 11, 3), 7 * HOUR),
        ("America/New_York", date(2024, 11, 2), 6 * HOUR),
    ],
)
def test_night_interval_has_its_real_length_across_dst(
    timezone: str, day: date, length: timedelta
) -> None:
    """00:00-06:00 lasts 5 real hours on a spring-forward night, 7 on a fall-back one."""
    zone = ZoneInfo(timezone)
    calendar = every_day(time(0), time(6), timezone)
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    six = datetime.combine(day, time(6), tzinfo=zone)
    # Same-zone subtraction is wall-clock time (6h): compare real instants instead.
    assert six.astimezone(UTC) - midnight.astimezone(UTC) == length
    assert calendar.between(midnight, six) == length
    assert calendar.add(midnight, length) == six
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    assert calendar.add(midnight, length + timedelta(seconds=1)) == next_midnight + timedelta(
        seconds=1
    )


def test_a_start_in_the_spring_forward_gap_opens_after_the_gap() -> None:
    """02:30 does not exist on 2024-03-31 in Paris: 02:30-04:00 opens at 03:00 CEST."""
    calendar = every_day(time(2, 30), time(4), "Europe/Paris")
    assert calendar.next_open(paris(2024, 3, 31)) == datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert calendar.between(paris(2024, 3, 31), paris(2024, 4, 1)) == HOUR
    new_york = every_day(time(2, 30), time(4), "America/New_York")
    start = datetime(2024, 3, 10, tzinfo=NEW_YORK)
    assert new_york.next_open(start) == datetime(2024, 3, 10, 7, tzinfo=UTC)
    assert new_york.between(start, start + 24 * HOUR) == HOUR


def test_ambiguous_boundaries_take_the_earlier_instant() -> None:
    """On the Paris fall-back night, 02:30 means 02:30 CEST for a start and for an end."""
    starts = every_day(time(2, 30), time(5), "Europe/Paris")
    assert starts.next_open(paris(2024, 10, 27)) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert starts.between(paris(2024, 10, 27), paris(2024, 10, 28)) == 3.5 * HOUR
    ends = every_day(time(1), time(2, 30), "Europe/Paris")
    assert ends.between(paris(2024, 10, 27), paris(2024, 10, 28)) == 1.5 * HOUR
    assert ends.add(paris(2024, 10, 27), 1.5 * HOUR) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def test_an_interval_inside_the_gap_vanishes_that_day() -> None:
    """02:15-02:45 never happens on 2024-03-31 in Paris, so the clock skips that day."""
    calendar = every_day(time(2, 15), time(2, 45), "Europe/Paris")
    assert calendar.between(paris(2024, 3, 31), paris(2024, 4, 1)) == timedelta(0)
    assert calendar.add(paris(2024, 3, 30, 2, 45), timedelta(minutes=1)) == paris(2024, 4, 1, 2, 16)


# Errors ---------------------------------------------------------------------------


def test_a_calendar_without_hours_is_refused() -> None:
    """No working hours at all is a CalendarError (a ValueError)."""
    with pytest.raises(CalendarError, match="at least one working interval"):
        BusinessCalendar("Europe/Paris", ())
    assert issubclass(CalendarError, ValueError)


@pytest.mark.parametrize(
    ("weekday", "start", "end"),
    [
        (7, time(9), time(17)),
        (-1, time(9), time(17)),
        (0, time(17), time(9)),
        (0, time(9), time(9)),
        (0, time(9, tzinfo=UTC), time(17)),
    ],
)
def test_invalid_working_hours_are_refused(weekday: int, start: time, end: time) -> None:
    """A weekday outside 0-6, an end not after the start, or an aware time is refused."""
    with pytest.raises(CalendarError):
        WorkingHours(weekday, start, end)


def test_an_unknown_time_zone_is_refused() -> None:
    """The zone must be a known IANA name."""
    with pytest.raises(CalendarError, match="Unknown time zone"):
        calendar_default("Mars/Olympus_Mons")


def test_naive_datetimes_are_refused() -> None:
    """Every method refuses naive datetimes rather than guessing a zone."""
    calendar = calendar_default("Europe/Paris")
    naive = datetime(2024, 3, 18, 10)  # noqa: DTZ001
    aware = paris(2024, 3, 18, 10)
    for call in (
        lambda: calendar.is_open(naive),
        lambda: calendar.next_open(naive),
        lambda: calendar.add(naive, HOUR),
        lambda: calendar.between(naive, aware),
        lambda: calendar.between(aware, naive),
    ):
        with pytest.raises(CalendarError, match="timezone-aware"):
            call()


def test_a_negative_duration_cannot_be_added() -> None:
    """add() only moves forward."""
    with pytest.raises(CalendarError, match="negative"):
        calendar_default().add(datetime(2024, 3, 18, tzinfo=UTC), -HOUR)


def test_a_calendar_where_every_day_is_a_holiday_gives_up() -> None:
    """With no working day within ten years, the searches stop with a CalendarError."""
    first = date(2023, 12, 1)
    holidays = frozenset(first + timedelta(days=n) for n in range(366 * 11))
    calendar = BusinessCalendar("Europe/Paris", calendar_default().hours, holidays)
    start = paris(2024, 3, 18, 10)
    with pytest.raises(CalendarError, match="ten years"):
        calendar.next_open(start)
    with pytest.raises(CalendarError, match="ten years"):
        calendar.add(start, HOUR)
    assert not calendar.is_open(start)
    assert calendar.between(start, paris(2025, 3, 18)) == timedelta(0)


def test_between_refuses_spans_beyond_ten_years() -> None:
    """Measuring over more than the ten-year horizon is a CalendarError."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(CalendarError, match="ten years"):
        calendar_default().between(start, start + timedelta(days=3700))


# Properties -----------------------------------------------------------------------


def quarter(index: int) -> time:
    """The wall-clock time of quarter-hour ``index`` (0-96); 96 is midnight at day end."""
    return time((index // 4) % 24, (index % 4) * 15)


@st.composite
def calendars(draw: st.DrawFn, zones: list[str] = ZONES) -> BusinessCalendar:
    """Random weekdays with one or two (maybe overlapping) quarter-hour intervals each,
    random holidays in 2024-2027 (scattered dates plus an optional block), random zone."""
    timezone = draw(st.sampled_from(zones))
    hours = []
    for weekday in sorted(draw(st.sets(st.integers(0, 6), min_size=1))):
        for _ in range(draw(st.integers(1, 2))):
            start = draw(st.integers(0, 95))
            end = draw(st.integers(start + 1, 96))
            hours.append(WorkingHours(weekday, quarter(start), quarter(end)))
    dates = st.dates(date(2024, 1, 1), date(2027, 12, 31))
    holidays = set(draw(st.lists(dates, max_size=40)))
    block = draw(st.none() | st.tuples(dates, st.integers(1, 30)))
    if block is not None:
        holidays |= {block[0] + timedelta(days=n) for n in range(block[1])}
    return BusinessCalendar(timezone, tuple(hours), frozenset(holidays))


instants = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 (bounds are read in the drawn zone)
    max_value=datetime(2027, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, *(ZoneInfo(name) for name in ZONES)]),
)
durations = st.one_of(st.integers(0, 8 * 3600), st.integers(0, 500 * 3600)).map(
    lambda seconds: timedelta(seconds=seconds)
)


def add_or_skip(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """calendar.add(), skipping the example when a sparse calendar cannot fit the duration
    in ten years — after checking that it indeed cannot."""
    try:
        return calendar.add(start, duration)
    except CalendarError:
        assert calendar.between(start, start + timedelta(days=3650)) < duration
        assume(False)
        raise


@PROPERTY
@given(calendars(), instants, durations)
def test_add_then_between_gives_the_duration_back(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    """Adding business time then measuring it back gives the same duration."""
    result = add_or_skip(calendar, start, duration)
    assert result.tzinfo is UTC
    assert calendar.between(start, result) == duration
    assert calendar.between(result, start) == -duration


@PROPERTY
@given(calendars(), instants, durations.filter(bool))
def test_add_ends_inside_working_time(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    """A positive duration ends in (interval start, interval end] of a working interval,
    on a local date that is not a holiday, and strictly after the start."""
    result = add_or_skip(calendar, start, duration)
    just_before = result - MICROSECOND
    assert result > start
    assert calendar.is_open(just_before)
    assert just_before.astimezone(ZoneInfo(calendar.timezone)).date() not in calendar.holidays
    # Nothing shorter would do: a microsecond earlier, not all of it has elapsed.
    assert calendar.between(start, just_before) == duration - MICROSECOND


@PROPERTY
@given(calendars(), instants, durations, durations)
def test_add_is_monotonic_in_the_duration(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    """A longer duration never ends earlier; a strictly longer one ends strictly later."""
    shorter, longer = sorted((first, second))
    early = add_or_skip(calendar, start, shorter)
    late = add_or_skip(calendar, start, longer)
    assert early <= late
    if shorter < longer:
        assert early < late


@PROPERTY
@given(calendars(), instants, instants, instants)
def test_between_is_additive(
    calendar: BusinessCalendar, first: datetime, second: datetime, third: datetime
) -> None:
    """Splitting a span at any point splits its business time: (a, c) = (a, b) + (b, c)."""
    a, b, c = sorted((first, second, third))
    whole = calendar.between(a, c)
    assert whole == calendar.between(a, b) + calendar.between(b, c)
    assert timedelta(0) <= whole <= c - a
    assert calendar.between(c, a) == -whole


@PROPERTY
@given(calendars(), instants)
def test_next_open_is_open_and_nothing_is_skipped(
    calendar: BusinessCalendar, moment: datetime
) -> None:
    """next_open() is open, not before the moment, with no business time in between."""
    opening = calendar.next_open(moment)
    assert opening >= moment
    assert calendar.is_open(opening)
    assert calendar.between(moment, opening) == timedelta(0)
    # In UTC: a local time in a DST gap never compares equal to another zone's
    # (PEP 495), though it names the same instant.
    assert calendar.is_open(moment) == (opening == moment.astimezone(UTC))


@PROPERTY
@given(st.data())
def test_between_counts_open_quarter_hours(data: st.DataObject) -> None:
    """All boundaries of these zones fall on the UTC quarter-hour grid, so between() over
    a grid span is 15 minutes per open quarter — DST transitions included."""
    calendar = data.draw(calendars())
    if calendar.timezone in TRANSITIONS:
        day = data.draw(st.sampled_from(TRANSITIONS[calendar.timezone]))
        base = datetime.combine(day - timedelta(days=1), time(0), tzinfo=UTC)
    else:
        base = datetime(2024, 1, 1, tzinfo=UTC)
        base += data.draw(st.integers(0, 3 * 365)) * timedelta(days=1)
    start = base + data.draw(st.integers(0, 4 * 24)) * QUARTER
    count = data.draw(st.integers(0, 4 * 24 * 2))
    open_quarters = sum(calendar.is_open(start + n * QUARTER) for n in range(count))
    assert calendar.between(start, start + count * QUARTER) == open_quarters * QUARTER


@PROPERTY
@given(calendars(FIXED_ZONES), st.dates(date(2024, 1, 1), date(2026, 12, 31)), st.data())
def test_is_open_matches_the_wall_clock_without_dst(
    calendar: BusinessCalendar, day: date, data: st.DataObject
) -> None:
    """Where the offset never changes, open means: not a holiday, and the local time is in
    one of that weekday's intervals (checked on and between quarter-hour boundaries)."""
    zone = ZoneInfo(calendar.timezone)
    wall = datetime.combine(day, quarter(data.draw(st.integers(0, 95))), tzinfo=zone)
    wall += data.draw(st.sampled_from([timedelta(0), -MICROSECOND, timedelta(minutes=7)]))
    since_midnight = wall - datetime.combine(wall.date(), time(0), tzinfo=zone)
    expected = wall.date() not in calendar.holidays and any(
        hours.weekday == wall.weekday()
        and offset(hours.start) <= since_midnight < (offset(hours.end) or 24 * HOUR)
        for hours in calendar.hours
    )
    assert calendar.is_open(wall) == expected


def offset(moment: time) -> timedelta:
    """A wall-clock time as a duration since midnight."""
    return timedelta(
        hours=moment.hour,
        minutes=moment.minute,
        seconds=moment.second,
        microseconds=moment.microsecond,
    )
