"""Showing a service's ValidationError on the forms a view rendered, and form
fields shared by the apps."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(9998, 12, 31)


class PeriodDateField(forms.DateField):
    """A date for a report's period or a document: 1900 to 9998, so that date
    arithmetic on it (a day after, a year before) cannot overflow."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValidationError(
                f"Enter a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}.",
                code="out_of_range",
            )


def error_text(error: ValidationError) -> str:
    """All of the error's messages in one line, for a flash message."""
    if hasattr(error, "error_dict"):
        return " ".join(message for messages in error.message_dict.values() for message in messages)
    return " ".join(error.messages)


def apply_errors(
    error: ValidationError, *forms: Any, claim: Callable[[str], bool] | None = None
) -> None:
    """Put each message next to the field it names, on the first of *forms* that
    has that field; others go on top of the first form, prefixed with the field
    ("Currency: …"). *claim* may take a message first (a formset placing it on
    the line it names) by returning True."""
    main = forms[0]
    if hasattr(error, "error_dict"):
        items = [(field, m) for field, messages in error.message_dict.items() for m in messages]
    else:
        items = [("__all__", m) for m in error.messages]
    for field, message in items:
        if claim is not None and claim(message):
            continue
        target = next((f for f in forms if field in getattr(f, "fields", {})), None)
        if target is not None:
            target.add_error(field, message)
        elif field == "__all__":
            main.add_error(None, message)
        else:
            main.add_error(None, f"{field.replace('_', ' ').capitalize()}: {message}")
