from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """``{{ paths|get_item:category.pk }}``: a dictionary lookup by a variable key."""
    if not mapping:
        return ""
    return mapping.get(key, "")
