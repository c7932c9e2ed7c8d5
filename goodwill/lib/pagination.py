"""Keyset ("seek") pagination: pages cost the same at row 50 and at row 5,000,000.

A cursor carries the sort value and id of the row at a page's edge, and the
1-based position of the page's first row, so the page can say "51–100 of many"
without ever counting the table.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

M = TypeVar("M", bound=models.Model)


class BadCursor(ValueError):
    """The cursor in the URL was not one we made (edited, truncated, or stale)."""


@dataclass
class Page(Generic[M]):
    items: list[M]
    start: int  # 1-based position of the first item
    next_cursor: str | None = None
    prev_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.start + len(self.items) - 1

    @property
    def is_complete(self) -> bool:
        """True when this one page holds the whole result, so its size is the total."""
        return self.start == 1 and self.next_cursor is None


def _encode(value: Any, pk: int, position: int, direction: str) -> str:
    if isinstance(value, datetime.datetime):
        value = value.isoformat()
    payload = {"v": value, "i": pk, "p": position, "d": direction}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_INVALID = "This page link is no longer valid."


def _decode(cursor: str, field: models.Field) -> tuple[Any, int, int, str]:
    """Read a cursor, converting its value to the sort field's type. Anything off raises
    BadCursor, so a hand-edited link never reaches the database (or a 500 page)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        pk, position, direction = int(payload["i"]), int(payload["p"]), payload["d"]
        value = payload["v"]
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise TypeError
        if isinstance(field, models.DateTimeField) and not isinstance(value, str):
            raise TypeError
        value = field.to_python(value)
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, ValidationError):
        raise BadCursor(_INVALID) from None
    if value is None or direction not in {"next", "prev"} or position < 1:
        raise BadCursor(_INVALID)
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        raise BadCursor(_INVALID)
    return value, pk, position, direction


def _after(field_name: str, value: Any, pk: int, descending: bool) -> Q:
    """Rows strictly after (value, pk) in the given order.

    The redundant ``field >= value`` bound lets the database seek the
    (field, id) index instead of filtering the whole table.
    """
    if descending:
        return Q(**{f"{field_name}__lte": value}) & (
            Q(**{f"{field_name}__lt": value}) | Q(**{field_name: value, "pk__lt": pk})
        )
    return Q(**{f"{field_name}__gte": value}) & (
        Q(**{f"{field_name}__gt": value}) | Q(**{field_name: value, "pk__gt": pk})
    )


def keyset_page(
    queryset: models.QuerySet[M],
    *,
    sort: str,
    cursor: str | None,
    limit: int,
) -> Page[M]:
    """One page of *queryset* ordered by *sort* (a field name, "-" for descending), then id.

    Raises ``BadCursor`` if the cursor cannot be read.
    """
    descending = sort.startswith("-")
    field_name = sort.lstrip("-")
    order = [f"-{field_name}", "-pk"] if descending else [field_name, "pk"]
    reverse = [f"{field_name}", "pk"] if descending else [f"-{field_name}", "-pk"]

    if not cursor:
        rows = list(queryset.order_by(*order)[: limit + 1])
        items = rows[:limit]
        return _page(items, field_name, start=1, has_next=len(rows) > limit, has_prev=False)

    field = queryset.model._meta.get_field(field_name)
    assert isinstance(field, models.Field)  # noqa: S101 - a programming error, not input
    value, pk, position, direction = _decode(cursor, field)
    if direction == "next":
        rows = list(
            queryset.filter(_after(field_name, value, pk, descending)).order_by(*order)[: limit + 1]
        )
        items = rows[:limit]
        return _page(items, field_name, start=position, has_next=len(rows) > limit, has_prev=True)

    rows = list(
        queryset.filter(_after(field_name, value, pk, not descending)).order_by(*reverse)[
            : limit + 1
        ]
    )
    items = list(reversed(rows[:limit]))
    start = max(1, position - len(items))
    has_prev = len(rows) > limit
    return _page(
        items, field_name, start=1 if not has_prev else start, has_next=True, has_prev=has_prev
    )


def _page(
    items: list[M], field_name: str, *, start: int, has_next: bool, has_prev: bool
) -> Page[M]:
    page: Page[M] = Page(items=items, start=start)
    if items and has_next:
        last = items[-1]
        page.next_cursor = _encode(getattr(last, field_name), last.pk, start + len(items), "next")
    if items and has_prev:
        first = items[0]
        page.prev_cursor = _encode(getattr(first, field_name), first.pk, start, "prev")
    return page
