"""Domain events: what services announce after their transaction commits.

A service calls ``emit("partner.updated", partner_id=..., by_id=..., changes=[...])``
inside its transaction; the handlers run only once the transaction has committed,
so they never see a change that was rolled back. Automation (rules, webhooks,
notifications) subscribes here instead of hooking into model signals.

Handlers run synchronously in the process that committed; a handler with slow
work enqueues a task. A failing handler is logged and does not affect the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Event], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for events called *name* ("*" for every event)."""

    def register(handler: Handler) -> Handler:
        if handler not in _handlers[name]:
            _handlers[name].append(handler)
        return handler

    return register


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


def emit(name: str, **payload: Any) -> None:
    """Dispatch the event once the current transaction commits."""
    event = Event(name=name, payload=payload)
    transaction.on_commit(lambda: _dispatch(event), robust=True)


def _dispatch(event: Event) -> None:
    for handler in [*_handlers.get(event.name, ()), *_handlers.get("*", ())]:
        try:
            handler(event)
        except Exception:
            logger.exception("event handler %r failed on %s", handler, event.name)
