from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from goodwill.accounts.permissions import can_use_staff_ui, is_administrator


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the page shell needs: the site name and whether to show the staff navigation."""
    user = getattr(request, "user", None)
    return {
        "site_name": settings.SITE_NAME,
        "demo_mode": settings.DEMO,
        "show_staff_nav": bool(user is not None and can_use_staff_ui(user)),
        "show_admin_link": bool(user is not None and is_administrator(user)),
    }
