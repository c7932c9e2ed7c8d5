"""A mail backend for demo mode (``EMAIL_URL=local:``): nothing leaves the machine.

Each message is kept as a :class:`~goodwill.mailgate.models.LocalMail` row, raw
bytes included, so administrators can read it under /mail/local/.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from goodwill.mailgate.models import LocalMail

logger = logging.getLogger(__name__)


class LocalMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        stored = 0
        for email in email_messages:
            recipients = email.recipients()
            if not recipients:
                continue
            try:
                built = email.message()
                LocalMail.objects.create(
                    from_email=str(email.from_email)[:254],
                    to=list(recipients),
                    subject=str(email.subject)[:300],
                    message_id=str(built["Message-ID"] or "")[:250],
                    raw=built.as_bytes(),
                )
            except Exception:
                if not self.fail_silently:
                    raise
                logger.exception("could not store a local mail")
                continue
            stored += 1
        return stored
