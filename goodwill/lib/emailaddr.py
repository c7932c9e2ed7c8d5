"""Email addresses as Goodwill stores them: validated, and lower-cased whole."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email


def email_normalise(raw: str) -> str:
    """Return the address in its stored form, or raise ``ValidationError``.

    The domain is checked for syntax only (no DNS lookups: Goodwill must work
    offline), internationalised domains are kept in Unicode, and the whole
    address is lower-cased, since no mail system in practice treats the local
    part's case as significant.
    """
    value = (raw or "").strip()
    if not value:
        raise ValidationError("Enter an email address.", code="required")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(
            f"{value} is not a valid email address: {exc}", code="invalid"
        ) from None
    return result.normalized.lower()
