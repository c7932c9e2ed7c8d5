from __future__ import annotations

import base64
import json

import pytest

from goodwill.lib.pagination import BadCursor, keyset_page
from goodwill.partners.models import Partner
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at"])
def test_walking_forward_then_back_visits_every_row_once(sort: str) -> None:
    """Ties in the sort column are broken by id, so no row is skipped or repeated."""
    for i in range(23):
        PartnerFactory(name=f"Name {i % 4}")  # many equal names
    expected = list(Partner.objects.order_by(sort, "pk" if not sort.startswith("-") else "-pk"))
    seen, cursor, pages = [], None, []
    while True:
        page = keyset_page(Partner.objects.all(), sort=sort, cursor=cursor, limit=5)
        pages.append(page)
        seen.extend(page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert [p.start for p in pages] == [1, 6, 11, 16, 21]
    back = keyset_page(Partner.objects.all(), sort=sort, cursor=pages[-1].prev_cursor, limit=5)
    assert back.items == pages[-2].items
    assert back.start == 16
    first = keyset_page(Partner.objects.all(), sort=sort, cursor=pages[1].prev_cursor, limit=5)
    assert first.items == pages[0].items
    assert (first.start, first.prev_cursor) == (1, None)


def _cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJ4IjoxfQ", "eyJ2IjpbXSwiaSI6MSwicCI6MSwiZCI6Im5leHQifQ"]
)
def test_unreadable_cursors_raise_bad_cursor(cursor: str) -> None:
    with pytest.raises(BadCursor):
        keyset_page(Partner.objects.all(), sort="name", cursor=cursor, limit=5)
