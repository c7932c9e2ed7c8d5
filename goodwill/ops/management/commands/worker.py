"""``goodwill worker``: run background tasks (exports, later imports and mail).

It is django-tasks-db's ``db_worker`` with Goodwill's defaults: every queue, a
short polling interval, and no auto-reload. Run as many as you like, on any
machine that reaches the database; they claim tasks without stepping on each
other (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL).
"""

from __future__ import annotations

from argparse import ArgumentParser

from django_tasks_db.management.commands import db_worker


class Command(db_worker.Command):
    help = "Run Goodwill's background task worker (exports, imports, mail)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*", interval=0.5, reload=False)
