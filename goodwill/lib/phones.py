"""Phone numbers, validated and stored in E.164 form ("+4930123456")."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError

_NOT_DIGITS = re.compile(r"\D")
PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]{4,}$")


def phone_normalise(raw: str, *, region: str | None) -> str:
    """Return *raw* in E.164 form, or raise ``ValidationError``.

    A number without a leading + or 00 is read as a number of *region*
    (an ISO 3166 country code such as "DE").
    """
    value = (raw or "").strip()
    if not value:
        raise ValidationError("Enter a phone number.", code="required")
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            f"{value} is not a phone number. "
            "Write it with its country code, e.g. +44 20 7946 0958.",
            code="invalid",
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"{value} is not a valid phone number.", code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """The international format for display: "+49 30 123456"."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search_terms(e164: str) -> list[str]:
    """Digit strings a user might type to find this number: international and national."""
    digits = _NOT_DIGITS.sub("", e164)
    terms = [digits]
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return terms
    national = _NOT_DIGITS.sub(
        "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    )
    if national and national not in digits:
        terms.append(national)
    return terms


def phone_query_digits(query: str) -> str | None:
    """If *query* looks like a phone number, its digits; otherwise None."""
    if not PHONE_QUERY.match(query.strip()):
        return None
    digits = _NOT_DIGITS.sub("", query)
    return digits if len(digits) >= 4 else None
