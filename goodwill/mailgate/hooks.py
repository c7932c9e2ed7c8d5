"""How the gateway plugs into the rest of Goodwill (installed from apps.ready)."""

from __future__ import annotations

from datetime import datetime

from goodwill.cases import services as case_services
from goodwill.cases.models import Case


def _received_ids(case: Case, limit: int) -> list[tuple[datetime, str]]:
    from goodwill.mailgate.models import MessageRef

    return list(
        MessageRef.objects.filter(case=case)
        .order_by("-created_at", "-id")
        .values_list("created_at", "message_id")[:limit]
    )


def install() -> None:
    if _received_ids not in case_services.THREAD_SOURCES:
        case_services.THREAD_SOURCES.append(_received_ids)
