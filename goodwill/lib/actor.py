"""Who is acting when no user is: "Rule 'Escalate VIP'" rather than "System".

The rules engine wraps its actions in :func:`acting_as`; the timeline records
the label on every entry written meanwhile, and shows it in place of an author.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_actor: ContextVar[str] = ContextVar("goodwill_actor", default="")


@contextmanager
def acting_as(label: str) -> Iterator[None]:
    token = _actor.set(label[:150])
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> str:
    return _actor.get()
