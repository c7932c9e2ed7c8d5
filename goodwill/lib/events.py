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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    # How many handlers deep the emitting code ran: an event emitted by a rule's
    # action is one deeper than the event that ran the rule, whether the
    # handlers run at once or after an outer transaction commits.
    depth: int = 0


_depth: ContextVar[int] = ContextVar("events_depth", default=0)


def depth() -> int:
    """The depth of the event being handled (0 outside any handler)."""
    return _depth.get()


@contextmanager
def deeper() -> Iterator[None]:
    """Events emitted inside are one level deeper than the current one."""
    token = _depth.set(_depth.get() + 1)
    try:
        yield
    finally:
        _depth.reset(token)


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
    event = Event(name=name, payload=payload, depth=_depth.get())
    transaction.on_commit(lambda: _dispatch(event), robust=True)


def _dispatch(event: Event) -> None:
    token = _depth.set(event.depth)
    try:
        for handler in [*_handlers.get(event.name, ()), *_handlers.get("*", ())]:
            try:
                handler(event)
            except Exception:
                logger.exception("event handler %r failed on %s", handler, event.name)
    finally:
        _depth.reset(token)
