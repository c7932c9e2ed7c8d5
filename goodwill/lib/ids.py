"""Database ids as they arrive in URLs and forms.

An id is a positive integer that fits a 64-bit signed column. Anything longer is
refused before it reaches the database: SQLite raises OverflowError on a bigger
integer, which would otherwise surface as a 500 page.
"""

from __future__ import annotations

from typing import Any

from django.urls import register_converter

MAX_ID = 2**63 - 1


def is_valid_id(value: Any) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= 19 and 0 < int(text) <= MAX_ID


class IdConverter:
    """``<id:pk>`` in URL patterns: digits that fit an id column, else the URL is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        if not is_valid_id(value):
            raise ValueError(value)
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


# Registered once, when the first URL module that uses ``<id:…>`` imports this one.
register_converter(IdConverter, "id")
