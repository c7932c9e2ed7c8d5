"""Creating, changing and deleting campaigns.

The campaign pages and the admin call these. Each checks its input (raising a
field-keyed ``ValidationError`` a person can act on), runs in one transaction
and emits a domain event after commit (``campaign.saved``,
``campaign.deleted``). ``values`` holds only the keys being set: on an
update, a key left out keeps its current value.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from goodwill.campaigns.models import Campaign
from goodwill.lib import events

if TYPE_CHECKING:
    from goodwill.accounts.models import User

CAMPAIGN_FIELDS = (
    "name",
    "code",
    "channel",
    "start_date",
    "end_date",
    "budget",
    "actual_cost",
    "description",
    "active",
)
MAX_AMOUNT = Decimal("9999999999999999.99")  # 18 digits, 2 of them decimals
DESCRIPTION_MAX_LENGTH = 5_000
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _text(value: Any, *, label: str, max_length: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise ValidationError(f"Enter a {label}.")
    if len(text) > max_length:
        raise ValidationError(f"Keep the {label} to {max_length} characters (it has {len(text)}).")
    return text


def _code(value: Any) -> str:
    code = str(value or "").strip().lower()
    if not code:
        raise ValidationError("Enter a code, e.g. spring-fair-2026.")
    if len(code) > 40:
        raise ValidationError(f"Keep the code to 40 characters (it has {len(code)}).")
    if not _CODE.fullmatch(code):
        raise ValidationError(
            "Use only letters a to z, digits, '-' and '_', starting with a letter or a digit "
            "(e.g. spring-fair-2026)."
        )
    return code


def _channel(value: Any) -> str:
    if value not in Campaign.Channel.values:
        raise ValidationError("Choose a channel from the list.")
    return str(value)


def _date(label: str) -> Callable[[Any], datetime.date | None]:
    def clean(value: Any) -> datetime.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, datetime.datetime):
            raise ValidationError(f"Enter the {label} as a date, without a time.")
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(f"Enter the {label} as a date (YYYY-MM-DD).") from None

    return clean


def _amount(label: str) -> Callable[[Any], Decimal]:
    def clean(value: Any) -> Decimal:
        message = f"Enter the {label} as an amount of 0 or more."
        if value is None or value == "":
            return Decimal(0)
        if isinstance(value, bool | float):
            raise ValidationError(message)
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(message) from None
        if not number.is_finite() or number < 0:
            raise ValidationError(message)
        if number > MAX_AMOUNT:
            raise ValidationError(f"The {label} is too large.")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise ValidationError(f"Give the {label} with at most 2 decimals.")
        return number

    return clean


def _description(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            f"Keep the description to {DESCRIPTION_MAX_LENGTH:,} characters (it has {len(text):,})."
        )
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Must be true or false.")
    return value


CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=150),
    "code": _code,
    "channel": _channel,
    "start_date": _date("start date"),
    "end_date": _date("end date"),
    "budget": _amount("budget"),
    "actual_cost": _amount("actual costs"),
    "description": _description,
    "active": _bool,
}


def campaign_clean(*, campaign: Campaign | None, values: dict[str, Any]) -> dict[str, Any]:
    """Check *values* for *campaign* (None: a new one) without saving anything."""
    unknown = set(values) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown campaign fields: {', '.join(sorted(unknown))}.")
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        try:
            cleaned[name] = CLEANERS[name](value)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)
    if campaign is None:
        for name in ("name", "code"):
            if name not in values:
                errors.setdefault(name, []).append(f"A campaign needs a {name}.")
    code = cleaned.get("code")
    if code:
        others = (
            Campaign.objects.all() if campaign is None else Campaign.objects.exclude(pk=campaign.pk)
        )
        taken = others.filter(code__iexact=code).first()
        if taken is not None:
            errors.setdefault("code", []).append(
                f"The code {code} already belongs to {taken.name}."
            )
    start = cleaned.get("start_date", campaign.start_date if campaign else None)
    end = cleaned.get("end_date", campaign.end_date if campaign else None)
    if start and end and end < start and "end_date" not in errors:
        errors.setdefault("end_date", []).append("The campaign cannot end before it starts.")
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def campaign_save(
    *, by: User | None, campaign: Campaign | None = None, values: dict[str, Any]
) -> Campaign:
    """Create a campaign (``campaign=None``) or update one."""
    cleaned = campaign_clean(campaign=campaign, values=values)
    creating = campaign is None
    target = Campaign(created_by=by) if campaign is None else campaign
    changes = [] if creating else [f for f, v in cleaned.items() if getattr(target, f) != v]
    for name, value in cleaned.items():
        setattr(target, name, value)
    target.updated_at = timezone.now()
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        # Another save took the code between the check above and this one.
        raise ValidationError(
            {"code": f"The code {target.code} already belongs to another campaign."}
        ) from None
    events.emit(
        "campaign.saved",
        campaign_id=target.pk,
        created=creating,
        changes=changes,
        by_id=getattr(by, "pk", None),
    )
    return target


@transaction.atomic
def campaign_delete(*, by: User | None, campaign: Campaign) -> None:
    """Delete a campaign that no order, invoice or case carries; one in use is
    made inactive instead, so its results stay."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    used = campaign.orders.exists() or campaign.invoices.exists() or campaign.cases.exists()
    if used:
        raise ValidationError(
            f"Orders, invoices or cases carry {campaign.name}; make it inactive instead of "
            "deleting it, so that its results stay."
        )
    pk = campaign.pk
    campaign.delete()
    events.emit("campaign.deleted", campaign_id=pk, by_id=getattr(by, "pk", None))
