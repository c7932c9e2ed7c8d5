"""Checking the values a service is given, field by field.

A service takes a ``values`` dictionary of the fields being set. It rejects
unknown keys (``check_keys``), runs each value through the cleaner of its field
and collects every error, not just the first (``clean_all``), adds its own
checks, then raises them together, keyed by field (``raise_if``), so that a page
or the API can show each message next to its field. The cleaners here take a
raw value (from a form, the API or an import) and return the value to store, or
raise a ``ValidationError`` a person can act on.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

DESCRIPTION_MAX_LENGTH = 5_000

Cleaners = dict[str, Callable[[Any], Any]]
Errors = dict[str, list[str]]


# --------------------------------------------------------------------------
# A dictionary of values


def check_keys(values: dict[str, Any], allowed: Iterable[str], what: str) -> None:
    """Refuse keys that are not fields of *what* (a caller's mistake, not a person's)."""
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError(f"Unknown {what} fields: {', '.join(sorted(unknown))}.")


def clean_all(values: dict[str, Any], cleaners: Cleaners) -> tuple[dict[str, Any], Errors]:
    """Run each value through its cleaner; collect every error, not just the first."""
    cleaned: dict[str, Any] = {}
    errors: Errors = {}
    for field, value in values.items():
        try:
            cleaned[field] = cleaners[field](value)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    return cleaned, errors


def require(values: dict[str, Any], fields: Iterable[str], what: str, errors: Errors) -> None:
    """Add an error for each of *fields* missing from *values* (*what*: "A product")."""
    for field in fields:
        if field not in values:
            errors.setdefault(field, []).append(f"{what} needs a {field.replace('_', ' ')}.")


def raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def changes(instance: models.Model, cleaned: dict[str, Any]) -> list[str]:
    """The fields of *cleaned* whose value differs from *instance*'s."""
    return [field for field, value in cleaned.items() if getattr(instance, field) != value]


def save_unique(target: models.Model, field: str, message: str) -> None:
    """Save; a race past the uniqueness checks ends as the same error on *field*, not a 500."""
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ValidationError({field: message}) from None


# --------------------------------------------------------------------------
# One value


def text(value: Any, *, label: str, max_length: int, required: bool = True) -> str:
    """One line of text, its white space folded."""
    folded = " ".join(str(value or "").split())
    if required and not folded:
        raise ValidationError(f"Enter a {label}.")
    if len(folded) > max_length:
        raise ValidationError(
            f"Keep the {label} to {max_length} characters (it has {len(folded)})."
        )
    return folded


def description(value: Any) -> str:
    """Free text of up to ``DESCRIPTION_MAX_LENGTH`` characters; it may be empty."""
    stripped = str(value or "").strip()
    if len(stripped) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            f"Keep the description to {DESCRIPTION_MAX_LENGTH:,} characters "
            f"(it has {len(stripped):,})."
        )
    return stripped


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Must be true or false.")
    return value


def choice(value: Any, choices: type[models.TextChoices], label: str) -> str:
    if value not in choices.values:
        raise ValidationError(f"Choose a {label}.")
    return str(value)


def date(value: Any, *, label: str, required: bool = True) -> datetime.date | None:
    """A date, or an ISO 8601 text of one; a datetime is refused."""
    if value is None or value == "":
        if required:
            raise ValidationError(f"Enter the {label}.")
        return None
    if isinstance(value, datetime.datetime):
        raise ValidationError(f"Enter the {label} as a date, without a time.")
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"Enter the {label} as a date (YYYY-MM-DD).") from None


def decimal(
    value: Any,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal,
    places: int,
    message: str,
    too_large: str | None = None,
    too_precise: str | None = None,
) -> Decimal:
    """A Decimal within [minimum, maximum] with at most *places* decimals.

    Anything else, an empty value included, raises *message*; a number above
    *maximum* raises *too_large* and one with more decimals *too_precise*, where
    given. Floats are refused: they would bring binary rounding with them."""
    if value is None or value == "" or isinstance(value, bool | float):
        raise ValidationError(message)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(message) from None
    if not number.is_finite() or (minimum is not None and number < minimum):
        raise ValidationError(message)
    if number > maximum:
        raise ValidationError(too_large or message)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ValidationError(too_precise or f"Use at most {places} decimals.")
    return number
