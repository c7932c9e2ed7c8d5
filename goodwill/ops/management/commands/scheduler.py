"""``goodwill scheduler``: enqueue the periodic jobs (mailbox polling, outbox
retries…) for the workers. Run one per site; extra ones wait as standbys."""

from __future__ import annotations

import signal
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from goodwill.lib.schedule import JOBS
from goodwill.ops.scheduler import Scheduler


class Command(BaseCommand):
    help = "Run the periodic jobs: one scheduler per site (a second one waits as a standby)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tick", type=float, default=1.0, help="seconds between checks")
        parser.add_argument("--once", action="store_true", help="run what is due, then exit")

    def handle(self, *args: Any, tick: float, once: bool, **options: Any) -> None:
        scheduler = Scheduler(tick=tick)
        if once:
            ran = scheduler.run_due()
            self.stdout.write(
                "ran: " + (", ".join(ran) or "nothing (another scheduler holds the lease)")
            )
            return
        names = ", ".join(f"{job.name} every {job.seconds:g}s" for job in JOBS.values())
        self.stdout.write(f"Scheduler {scheduler.holder}: {names}")
        stop: list[bool] = []

        def request_stop(signum: int, frame: Any) -> None:
            stop.append(True)

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        scheduler.forever(stop=stop)
