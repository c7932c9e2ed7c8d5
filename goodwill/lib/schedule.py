"""Periodic jobs: what ``goodwill scheduler`` enqueues, and how often.

An app registers a job from its ``AppConfig.ready``::

    schedule.every(30, "mail.outbox", enqueue_outbox_flush)

The job function must be quick: it only decides what is due and enqueues tasks
for the workers (DESIGN.md: the scheduler only enqueues).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    seconds: float
    run: Callable[[], object]


JOBS: dict[str, Job] = {}


def every(seconds: float, name: str, run: Callable[[], object]) -> None:
    """Run *run* every *seconds* in the scheduler (registering twice replaces)."""
    JOBS[name] = Job(name=name, seconds=seconds, run=run)
