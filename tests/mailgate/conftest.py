"""Fixtures of the email gateway's tests."""

from tests.mailgate.dovecot import dovecot  # noqa: F401
from tests.mailgate.smtp_sink import smtp_sink  # noqa: F401
