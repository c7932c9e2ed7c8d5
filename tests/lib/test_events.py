from __future__ import annotations

import pytest
from django.db import transaction

from goodwill.lib import events

pytestmark = pytest.mark.django_db


def test_handlers_run_after_commit_and_a_failing_one_does_not_stop_others(
    django_capture_on_commit_callbacks,
) -> None:
    seen: list[str] = []

    def broken(event: events.Event) -> None:
        raise RuntimeError("boom")

    def record(event: events.Event) -> None:
        seen.append(f"{event.name}:{event.payload['n']}")

    events.subscribe("thing.done")(broken)
    events.subscribe("thing.done")(record)
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            events.emit("thing.done", n=1)
            assert seen == []  # not before commit
        assert seen == ["thing.done:1"]
    finally:
        events.unsubscribe("thing.done", broken)
        events.unsubscribe("thing.done", record)
