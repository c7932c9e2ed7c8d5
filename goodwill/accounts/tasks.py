"""Account mail leaves from the worker, never from inside a request."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django_tasks import task


@task()
def account_mail_send(
    *, subject: str, body: str, to: list[str], from_email: str | None, html: str | None
) -> None:
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
