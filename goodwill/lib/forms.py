"""Showing a service's ValidationError on the forms a view rendered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError


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
