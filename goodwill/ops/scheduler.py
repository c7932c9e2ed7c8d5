"""The scheduler loop: one process per site enqueues the periodic jobs.

Only the holder of the ``scheduler`` lease runs jobs. It renews the lease on
every tick; if it dies, the lease runs out and another ``goodwill scheduler``
(started on any machine, as a standby) takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from goodwill.lib.schedule import JOBS
from goodwill.ops.models import SchedulerLease

logger = logging.getLogger(__name__)

LEASE = "scheduler"


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def lease_take(holder: str, *, seconds: float) -> bool:
    """Take or renew the lease; False while another live process holds it."""
    now = timezone.now()
    expires = now + timedelta(seconds=seconds)
    taken = SchedulerLease.objects.filter(
        Q(holder=holder) | Q(expires_at__lt=now), name=LEASE
    ).update(holder=holder, expires_at=expires)
    if taken:
        return True
    try:
        with transaction.atomic():
            SchedulerLease.objects.create(name=LEASE, holder=holder, expires_at=expires)
    except IntegrityError:
        return False
    return True


def lease_release(holder: str) -> None:
    SchedulerLease.objects.filter(name=LEASE, holder=holder).delete()


class Scheduler:
    def __init__(self, *, tick: float = 1.0, holder: str | None = None) -> None:
        self.tick = tick
        self.holder = holder or holder_name()
        self.last_run: dict[str, float] = {}

    def run_due(self) -> list[str]:
        """Run the jobs that are due now; the names of those that ran."""
        if not lease_take(self.holder, seconds=max(30.0, self.tick * 10)):
            return []
        ran = []
        now = time.monotonic()
        for job in list(JOBS.values()):
            if now - self.last_run.get(job.name, float("-inf")) < job.seconds:
                continue
            self.last_run[job.name] = now
            try:
                job.run()
            except Exception:  # one failing job must not stop the others
                logger.exception("scheduled job %s failed", job.name)
            ran.append(job.name)
        return ran

    def forever(self, *, stop: list[bool]) -> None:
        while not stop:
            try:
                self.run_due()
            except Exception:  # the database may be away for a moment
                logger.exception("scheduler tick failed; retrying")
            time.sleep(self.tick)
        lease_release(self.holder)
