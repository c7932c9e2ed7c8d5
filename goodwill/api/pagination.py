"""Links between the pages of a keyset-paginated list (``goodwill.lib.pagination``)."""

from __future__ import annotations

from typing import Any

from django.utils.http import urlencode
from rest_framework.request import Request

from goodwill.lib.pagination import Page


def page_links(request: Request, page: Page[Any], query: dict[str, Any]) -> dict[str, str | None]:
    """``next`` and ``previous`` as absolute URLs: *query* plus the page's ``cursor``."""
    base = request.build_absolute_uri(request.path)

    def link(cursor: str | None) -> str | None:
        if not cursor:
            return None
        return f"{base}?{urlencode({**query, 'cursor': cursor})}"

    return {"next": link(page.next_cursor), "previous": link(page.prev_cursor)}
