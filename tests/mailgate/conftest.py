"""Fixtures of the email gateway's tests."""

from tests.mailgate.smtp_sink import smtp_sink  # noqa: F401
