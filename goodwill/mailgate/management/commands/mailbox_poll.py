"""``goodwill mailbox_poll``: poll the IMAP mailboxes that are due, once.

    goodwill mailbox_poll [--mailbox ID] [--limit N]

The scheduler does this every few seconds through ``mailbox_poll_task``; the
command is for trying a mailbox by hand. A mailbox that fails is reported, and
recorded on the mailbox, but does not make the command fail.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from goodwill.mailgate.imap import mailbox_poll, mailboxes_due
from goodwill.mailgate.models import Mailbox


class Command(BaseCommand):
    help = "Fetch new mail from the IMAP mailboxes that are due (or from one)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--mailbox", type=int, metavar="ID", help="Poll this mailbox now, due or not."
        )
        parser.add_argument(
            "--limit", type=int, default=200, help="At most this many messages per mailbox."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError(f"--limit must be at least 1; got {options['limit']}")
        if options["mailbox"] is not None:
            mailbox = (
                Mailbox.objects.select_related("section").filter(pk=options["mailbox"]).first()
            )
            if mailbox is None:
                raise CommandError(f"There is no mailbox with id {options['mailbox']}.")
            mailboxes = [mailbox]
        else:
            mailboxes = mailboxes_due(timezone.now())
            if not mailboxes:
                self.stdout.write("No mailbox is due.")
                return
        for mailbox in mailboxes:
            result = mailbox_poll(mailbox, limit=options["limit"])
            line = f"{mailbox.name} (#{mailbox.pk}): {result}"
            self.stdout.write(self.style.ERROR(line) if result.error else line)
