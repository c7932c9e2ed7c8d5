"""``{{ amount|money:currency }}``: an amount with its currency's decimals
(0 for JPY, 2 for EUR …) and thousands separators, as ``floatformat`` writes
them (``1,234.50``, ``1,235``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import floatformat

from goodwill.lib.money import minor_units

register = template.Library()


@register.filter
def money(value: Any, currency: str) -> str:
    if value is None or value == "":
        return ""
    try:
        decimals = minor_units(currency)
    except ValueError:
        decimals = 2
    return floatformat(value, f"{decimals}g")
