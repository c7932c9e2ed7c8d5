"""Creating, changing and deleting campaigns.

The campaign pages and the admin call these. Each checks its input (raising a
field-keyed ``ValidationError`` a person can act on), runs in one transaction
and emits a domain event after commit (``campaign.saved``,
``campaign.deleted``). ``values`` holds only the keys being set: on an
update, a key left out keeps its current value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from goodwill.campaigns.models import Campaign
from goodwill.lib import cleaning, events

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
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")


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


def _amount(label: str) -> Callable[[Any], Decimal]:
    """An amount of 0 or more with at most 2 decimals; empty is 0."""

    def clean(value: Any) -> Decimal:
        if value is None or value == "":
            return Decimal(0)
        return cleaning.decimal(
            value,
            minimum=Decimal(0),
            maximum=MAX_AMOUNT,
            places=2,
            message=f"Enter the {label} as an amount of 0 or more.",
            too_large=f"The {label} is too large.",
            too_precise=f"Give the {label} with at most 2 decimals.",
        )

    return clean


CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: cleaning.text(v, label="name", max_length=150),
    "code": _code,
    "channel": lambda v: cleaning.choice(v, Campaign.Channel, "channel from the list"),
    "start_date": lambda v: cleaning.date(v, label="start date", required=False),
    "end_date": lambda v: cleaning.date(v, label="end date", required=False),
    "budget": _amount("budget"),
    "actual_cost": _amount("actual costs"),
    "description": cleaning.description,
    "active": cleaning.boolean,
}


def campaign_clean(*, campaign: Campaign | None, values: dict[str, Any]) -> dict[str, Any]:
    """Check *values* for *campaign* (None: a new one) without saving anything."""
    cleaning.check_keys(values, CAMPAIGN_FIELDS, "campaign")
    cleaned, errors = cleaning.clean_all(values, CLEANERS)
    if campaign is None:
        cleaning.require(values, ("name", "code"), "A campaign", errors)
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
    cleaning.raise_if(errors)
    return cleaned


@transaction.atomic
def campaign_save(
    *, by: User | None, campaign: Campaign | None = None, values: dict[str, Any]
) -> Campaign:
    """Create a campaign (``campaign=None``) or update one."""
    cleaned = campaign_clean(campaign=campaign, values=values)
    creating = campaign is None
    target = Campaign(created_by=by) if campaign is None else campaign
    changes = [] if creating else cleaning.changes(target, cleaned)
    for name, value in cleaned.items():
        setattr(target, name, value)
    target.updated_at = timezone.now()
    cleaning.save_unique(
        target, "code", f"The code {target.code} already belongs to another campaign."
    )
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
