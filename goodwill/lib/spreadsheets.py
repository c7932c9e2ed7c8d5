"""Cells of the CSV and XLSX files Goodwill writes."""

from __future__ import annotations

from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any) -> Any:
    """Text a spreadsheet will not run as a formula (CSV injection); others as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
