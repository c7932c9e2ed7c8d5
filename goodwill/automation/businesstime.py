"""Business-hours arithmetic for SLA clocks: "2 working hours after Friday 16:00".

A :class:`BusinessCalendar` says when work happens: weekly working hours given
in the local wall-clock time of one IANA time zone, minus whole-day holidays.
It answers four questions about real instants:

* :meth:`~BusinessCalendar.is_open` — is this instant inside working time?
* :meth:`~BusinessCalendar.next_open` — when does working time next begin?
* :meth:`~BusinessCalendar.add` — when will this much working time have elapsed?
* :meth:`~BusinessCalendar.between` — how much working time lies between two instants?

How the local wall-clock intervals become real time:

* Each local date that is neither a holiday nor a day without hours gets the
  intervals of its weekday; overlapping or touching intervals of a weekday are
  merged first. An ``end`` of ``time(0)`` means midnight at the end of the day
  (24:00), so round-the-clock calendars can be written.
* A boundary is converted to a real instant with :mod:`zoneinfo`. A wall-clock
  time that does not exist (in the spring-forward gap) becomes the first real
  instant after the gap; an ambiguous one (repeated on fall-back) takes the
  earlier instant (``fold=0``), for starts and ends alike. The conversion never
  goes backwards, so intervals never have a negative length (those squeezed to
  nothing inside a gap are dropped) and never overlap. An interval keeps its
  real length across a change: 00:00-06:00 lasts 5 hours on a spring-forward
  night and 7 hours on a fall-back one.
* All arithmetic is on real elapsed time, with intervals half-open: ``[start, end)``.

Every search walks day by day and gives up after ten years (``HORIZON_DAYS``),
raising :class:`CalendarError`, so a calendar with no working time (every day a
holiday) cannot loop for ever. Inputs must be timezone-aware; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "HORIZON_DAYS",
    "BusinessCalendar",
    "CalendarError",
    "WorkingHours",
    "calendar_default",
]

#: How far (in local days) a search may look ahead before giving up: ten years.
HORIZON_DAYS = 3653

_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Offsets from local midnight of one working interval, and the real instants of one.
_Span = tuple[timedelta, timedelta]
_Interval = tuple[datetime, datetime]


class CalendarError(ValueError):
    """The calendar cannot answer: it has no (valid) working hours, a datetime is
    naive, a duration to add is negative, or there is not enough working time
    within ten years."""


@dataclass(frozen=True)
class WorkingHours:
    """One working interval of a weekday, in local wall-clock time.

    ``weekday`` is 0 for Monday … 6 for Sunday. ``end`` must be after ``start``;
    ``time(0)`` as ``end`` means midnight at the end of the day (24:00). Both
    times are naive: the calendar's zone gives them their meaning.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        """Refuse a weekday outside 0-6, aware times, and an end not after the start."""
        if isinstance(self.weekday, bool) or not isinstance(self.weekday, int):
            raise CalendarError(f"Weekday must be an int from 0 to 6, not {self.weekday!r}")
        if not 0 <= self.weekday <= 6:
            raise CalendarError(
                f"Weekday must be from 0 (Monday) to 6 (Sunday), not {self.weekday}"
            )
        for name, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, time):
                raise CalendarError(f"Working hours {name} must be a time, not {value!r}")
            if value.tzinfo is not None:
                raise CalendarError(
                    f"Working hours {name} must be a naive local time, not {value.isoformat()}"
                )
        start, end = self._span()
        if end <= start:
            raise CalendarError(
                f"Working hours must end after they start: {self.start.isoformat()}"
                f"-{self.end.isoformat()}"
            )

    def _span(self) -> tuple[timedelta, timedelta]:
        """The interval as offsets from local midnight; an end of 00:00 counts as 24:00."""
        start = _since_midnight(self.start)
        end = _since_midnight(self.end)
        return start, (_DAY if end == _ZERO else end)


@dataclass(frozen=True)
class BusinessCalendar:
    """When work happens: weekly working hours in one time zone, minus holidays.

    ``timezone`` is an IANA name such as ``"Europe/Paris"``; ``hours`` lists the
    working intervals (several per weekday allowed, overlaps merged);
    ``holidays`` holds the local dates with no working time at all. The
    calendar is immutable and hashable; it caches each day's real intervals.
    """

    timezone: str
    hours: tuple[WorkingHours, ...]
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _week: tuple[tuple[_Span, ...], ...] = field(init=False, repr=False, compare=False)
    _days: dict[date, tuple[_Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Check the zone, hours and holidays, and merge each weekday's intervals."""
        if not isinstance(self.timezone, str):
            raise CalendarError(f"Time zone must be an IANA name, not {self.timezone!r}")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise CalendarError(f"Unknown time zone {self.timezone!r}") from error
        hours = tuple(self.hours)
        if not hours:
            raise CalendarError("A business calendar needs at least one working interval")
        for entry in hours:
            if not isinstance(entry, WorkingHours):
                raise CalendarError(f"Working hours must be WorkingHours, not {entry!r}")
        holidays = frozenset(self.holidays)
        for day in holidays:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise CalendarError(f"Holidays must be dates, not {day!r}")
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(
            self,
            "_week",
            tuple(_merge([h._span() for h in hours if h.weekday == wd]) for wd in range(7)),
        )

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in a working interval (start included, end excluded)."""
        instant = _as_utc(moment, "moment")
        day = self._local_date(instant)
        for offset in (-1, 0, 1):
            for start, end in self._intervals_on(day + offset * _DAY):
                if start <= instant < end:
                    return True
        return False

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself (in UTC) if open, else the start of the next working interval.

        Raises :class:`CalendarError` if no working time begins within ten years.
        """
        instant = _as_utc(moment, "moment")
        for start, _end in self._intervals_after(instant):
            return max(start, instant)
        raise CalendarError(f"No working time within ten years after {moment.isoformat()}")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant ``t`` (in UTC) with ``between(start, t) == duration``.

        A zero duration gives ``start`` itself (in UTC), even outside working
        hours. A positive one always ends inside a working interval, possibly
        exactly at its end, never in a holiday or outside working hours.
        Raises :class:`CalendarError` for a negative duration or when ten years
        hold less working time than ``duration``.
        """
        instant = _as_utc(start, "start")
        if not isinstance(duration, timedelta):
            raise CalendarError(f"Duration must be a timedelta, not {duration!r}")
        if duration < _ZERO:
            raise CalendarError(f"Cannot add a negative duration ({duration})")
        if duration == _ZERO:
            return instant
        remaining = duration
        for interval_start, interval_end in self._intervals_after(instant):
            begin = max(interval_start, instant)
            available = interval_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise CalendarError(
            f"Less than {duration} of working time within ten years after {start.isoformat()}"
        )

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The working time in ``[start, end)``; minus ``between(end, start)`` if end < start.

        Raises :class:`CalendarError` if the two are more than ten years apart.
        """
        first = _as_utc(start, "start")
        last = _as_utc(end, "end")
        if last < first:
            return -self.between(last, first)
        total = _ZERO
        if last == first:
            return total
        for interval_start, interval_end in self._intervals_after(first):
            if interval_start >= last:
                return total
            total += min(interval_end, last) - max(interval_start, first)
        if last <= self._horizon_end(first):
            return total
        raise CalendarError(
            f"Cannot measure working time over more than ten years "
            f"({start.isoformat()} to {end.isoformat()})"
        )

    # Internals -----------------------------------------------------------------

    def _local_date(self, instant: datetime) -> date:
        """The calendar-zone date of an instant."""
        return instant.astimezone(self._zone).date()

    def _intervals_after(self, instant: datetime) -> Iterator[_Interval]:
        """The working intervals that end after ``instant``, in order, up to the horizon.

        Starts a day early: a day's intervals never reach past the next local
        midnight, so nothing earlier can still be running at ``instant``.
        """
        day = self._local_date(instant) - _DAY
        for _ in range(HORIZON_DAYS + 2):
            for interval in self._intervals_on(day):
                if interval[1] > instant:
                    yield interval
            try:
                day += _DAY
            except OverflowError:
                return

    def _horizon_end(self, instant: datetime) -> datetime:
        """The instant past which :meth:`_intervals_after` no longer looks."""
        last_day = self._local_date(instant) + HORIZON_DAYS * _DAY
        return self._to_instant(datetime.combine(last_day, time()) + _DAY)

    def _intervals_on(self, day: date) -> tuple[_Interval, ...]:
        """The real (UTC) working intervals of a local date, empty for holidays."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        spans = self._week[day.weekday()]
        intervals: list[_Interval] = []
        if spans and day not in self.holidays:
            midnight = datetime.combine(day, time())
            for start, end in spans:
                real_start = self._to_instant(midnight + start)
                real_end = self._to_instant(midnight + end)
                if real_end > real_start:
                    intervals.append((real_start, real_end))
        result = tuple(intervals)
        self._days[day] = result
        return result

    def _to_instant(self, wall: datetime) -> datetime:
        """The real instant (in UTC) of a naive local wall-clock time.

        An ambiguous time takes its earlier instant (``fold=0``); a time in a
        spring-forward gap takes the first instant after the gap.
        """
        zone = self._zone
        instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            return instant
        # ``wall`` was skipped. Its two readings straddle the transition: binary
        # search the first whole second after it (tz transitions fall on seconds).
        other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        low = (min(instant, other) - _EPOCH) // _SECOND
        high = -((_EPOCH - max(instant, other)) // _SECOND)
        while high - low > 1:
            middle = (low + high) // 2
            reading = (_EPOCH + middle * _SECOND).astimezone(zone).replace(tzinfo=None)
            if reading > wall:
                high = middle
            else:
                low = middle
        return _EPOCH + high * _SECOND


def calendar_default(timezone: str = "UTC") -> BusinessCalendar:
    """Monday to Friday, 09:00-17:00 in ``timezone``, no holidays."""
    return BusinessCalendar(
        timezone=timezone,
        hours=tuple(WorkingHours(weekday, time(9), time(17)) for weekday in range(5)),
    )


def _since_midnight(value: time) -> timedelta:
    """A wall-clock time as an offset from midnight."""
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _merge(spans: list[_Span]) -> tuple[_Span, ...]:
    """Sort intervals and merge those that overlap or touch."""
    merged: list[_Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _as_utc(moment: datetime, name: str) -> datetime:
    """``moment`` converted to UTC; refuses naive datetimes."""
    if not isinstance(moment, datetime):
        raise CalendarError(f"{name} must be a datetime, not {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError(f"{name} must be timezone-aware, not naive ({moment.isoformat()})")
    return moment.astimezone(UTC)
