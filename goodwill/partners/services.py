"""Every change to partners, their contacts and their timeline.

Each service validates its input (raising ``ValidationError`` with messages a
user can act on), runs in one transaction, writes the timeline, and emits a
domain event after commit. The UI, the API, imports and later the email
gateway all call these functions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import models, transaction
from django.utils import timezone
from django_countries import countries

from goodwill.lib import events
from goodwill.lib.actor import current_actor
from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.jobs import JobStatus, job_claim, job_finish, job_progress
from goodwill.lib.money import CURRENCIES
from goodwill.lib.phones import phone_normalise, phone_search_terms
from goodwill.lib.spreadsheets import cell_text
from goodwill.lib.text import fold, name_key
from goodwill.partners.models import (
    LANGUAGE_CHOICES,
    Address,
    Category,
    Membership,
    Partner,
    PartnerEmail,
    PartnerExport,
    PartnerPhone,
    TimelineEntry,
)

if TYPE_CHECKING:
    from goodwill.accounts.models import User

NOTE_MAX_LENGTH = 20_000
BULK_MAX = 500

# Fields a person may set through partner_create / partner_update.
EDITABLE_FIELDS = (
    "kind",
    "name",
    "parent",
    "is_customer",
    "is_supplier",
    "is_employee",
    "is_prospect",
    "website",
    "vat",
    "language",
    "currency",
    "channel",
    "state_of_mind",
    "notes",
)
_LANGUAGES = {code for code, _ in LANGUAGE_CHOICES}
_ADDRESS_KIND_ORDER: list[str] = [
    Address.Kind.CONTACT,
    Address.Kind.INVOICE,
    Address.Kind.DELIVERY,
    Address.Kind.OTHER,
]


@dataclass(frozen=True)
class EmailInput:
    email: str
    kind: str = PartnerEmail.Kind.WORK
    primary: bool = False


@dataclass(frozen=True)
class PhoneInput:
    number: str
    kind: str = PartnerPhone.Kind.WORK
    primary: bool = False


@dataclass(frozen=True)
class AddressInput:
    kind: str = Address.Kind.CONTACT
    street: str = ""
    street2: str = ""
    zip: str = ""
    city: str = ""
    state: str = ""
    country: str = ""


@dataclass(frozen=True)
class MembershipInput:
    company: Partner
    job_title: str = ""
    department: str = ""
    work_email: str = ""
    work_phone: str = ""


# Steps other apps add (in their AppConfig.ready) to move their own records when
# two partners are merged. Each runs inside the merge's transaction.
MERGE_STEPS: list[Callable[[Partner, Partner], None]] = []


# --------------------------------------------------------------------------
# Timeline


def timeline_add(
    *,
    subject: models.Model,
    partner: Partner | None,
    kind: str,
    author: User | None,
    body: str = "",
    action: str = "",
    changes: Sequence[dict[str, Any]] = (),
    visibility: str = TimelineEntry.Visibility.INTERNAL,
) -> TimelineEntry:
    """Append an entry to *subject*'s timeline, shown on *partner*'s page too."""
    entry = timeline_build(
        subject=subject,
        partner=partner,
        kind=kind,
        author=author,
        body=body,
        action=action,
        changes=changes,
        visibility=visibility,
    )
    entry.save(force_insert=True)
    return entry


def timeline_build(
    *,
    subject: models.Model,
    partner: Partner | None,
    kind: str,
    author: User | None,
    body: str = "",
    action: str = "",
    changes: Sequence[dict[str, Any]] = (),
    visibility: str = TimelineEntry.Visibility.INTERNAL,
) -> TimelineEntry:
    """A validated, unsaved timeline entry (for callers that insert in bulk)."""
    if kind not in TimelineEntry.Kind.values:
        raise ValidationError(f"Unknown timeline entry kind {kind!r}.")
    if visibility not in TimelineEntry.Visibility.values:
        raise ValidationError(f"Unknown visibility {visibility!r}.")
    return TimelineEntry(
        via=current_actor() if author is None else "",
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        partner=partner,
        kind=kind,
        action=action,
        author=author,
        body=body,
        changes=list(changes),
        visibility=visibility,
    )


@transaction.atomic
def partner_note_add(
    *,
    partner: Partner,
    by: User,
    body: str,
    visibility: str = TimelineEntry.Visibility.INTERNAL,
) -> TimelineEntry:
    text = (body or "").strip()
    if not text:
        raise ValidationError({"body": "Write something before adding the note."})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {
                "body": f"A note can be at most {NOTE_MAX_LENGTH:,} characters; "
                f"this one has {len(text):,}."
            }
        )
    entry = timeline_add(
        subject=partner,
        partner=partner,
        kind=TimelineEntry.Kind.NOTE,
        action="note",
        author=by,
        body=text,
        visibility=visibility,
    )
    events.emit("partner.note_added", partner_id=partner.pk, entry_id=entry.pk, by_id=by.pk)
    return entry


# --------------------------------------------------------------------------
# Validation and normalisation

_T = TypeVar("_T")


class _Errors:
    """Collects field errors from several validation steps, to report them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def collect(self, step: Callable[[], _T], fallback: _T) -> _T:
        try:
            return step()
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        self.add(field, message)
            else:
                for message in exc.messages:
                    self.add("__all__", message)
            return fallback

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _clean_fields(values: dict[str, Any], *, partner: Partner | None) -> dict[str, Any]:
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown partner fields: {', '.join(sorted(unknown))}.")
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for field, value in values.items():
        try:
            cleaned[field] = _CLEANERS.get(field, _clean_passthrough)(value)
        except ValidationError as exc:
            errors[field] = exc.messages[0]
    kind = cleaned.get("kind", partner.kind if partner else Partner.Kind.COMPANY)
    parent = cleaned.get("parent", partner.parent if partner else None)
    if "parent" not in errors and parent is not None:
        error = _parent_error(partner=partner, kind=kind, parent=parent)
        if error:
            errors["parent"] = error
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_passthrough(value: Any) -> Any:
    return value


def _clean_kind(value: Any) -> str:
    if value not in Partner.Kind.values:
        raise ValidationError("Choose company or person.")
    return str(value)


def _clean_name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise ValidationError("A partner needs a name.")
    if len(name) > 200:
        raise ValidationError(f"Keep the name to 200 characters (it has {len(name)}).")
    return name


def _clean_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Must be true or false.")
    return value


def _clean_website(value: Any) -> str:
    url = str(value or "").strip()
    if not url:
        return ""
    if "://" not in url:
        url = f"https://{url}"
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(f"{value} is not a web address.") from None
    if len(url) > 300:
        raise ValidationError("Keep the web address to 300 characters.")
    return url


def _clean_vat(value: Any) -> str:
    vat = "".join(str(value or "").split()).upper()
    if len(vat) > 32:
        raise ValidationError("A VAT or tax id has at most 32 characters.")
    return vat


def _clean_language(value: Any) -> str:
    code = str(value or "").strip()
    if code and code not in _LANGUAGES:
        raise ValidationError(f"{code} is not a language Goodwill knows.")
    return code


def _clean_currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if code and code not in CURRENCIES:
        raise ValidationError(f"{code} is not a currency Goodwill knows (use ISO 4217 codes).")
    return code


def _clean_channel(value: Any) -> str:
    code = str(value or "").strip()
    if code and code not in Partner.Channel.values:
        raise ValidationError(f"{code} is not a channel.")
    return code


def _clean_state_of_mind(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("State of mind is a number from 0 to 1.") from None
    if not Decimal(0) <= number <= Decimal(1):
        raise ValidationError("State of mind is a number from 0 to 1.")
    return number.quantize(Decimal("0.01"))


def _clean_notes(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError(f"Notes can be at most {NOTE_MAX_LENGTH:,} characters.")
    return text


def _clean_parent(value: Any) -> Partner | None:
    if value is None or value == "":
        return None
    if not isinstance(value, Partner):
        raise ValidationError("Choose a company as the parent.")
    return value


_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "kind": _clean_kind,
    "name": _clean_name,
    "is_customer": _clean_bool,
    "is_supplier": _clean_bool,
    "is_employee": _clean_bool,
    "is_prospect": _clean_bool,
    "website": _clean_website,
    "vat": _clean_vat,
    "language": _clean_language,
    "currency": _clean_currency,
    "channel": _clean_channel,
    "state_of_mind": _clean_state_of_mind,
    "notes": _clean_notes,
    "parent": _clean_parent,
}


def _parent_error(*, partner: Partner | None, kind: str, parent: Partner) -> str | None:
    if kind != Partner.Kind.COMPANY:
        return "Only a company has a parent company; link a person to companies as a contact."
    if parent.kind != Partner.Kind.COMPANY:
        return f"{parent.name} is a person; a parent company must be a company."
    if partner is None:
        return None
    seen: set[int] = set()
    node: Partner | None = parent
    while node is not None and node.pk not in seen:
        if node.pk == partner.pk:
            return f"{parent.name} is part of {partner.name}'s own group; that would make a loop."
        seen.add(node.pk)
        node = node.parent
    return None


def _clean_emails(emails: Iterable[EmailInput]) -> list[EmailInput]:
    rows: list[EmailInput] = []
    errors: list[str] = []
    seen: set[str] = set()
    for item in emails:
        if not (item.email or "").strip():
            continue
        try:
            address = email_normalise(item.email)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if item.kind not in PartnerEmail.Kind.values:
            errors.append(f"{item.kind} is not a kind of email address.")
            continue
        if address in seen:
            continue
        seen.add(address)
        rows.append(EmailInput(email=address, kind=item.kind, primary=item.primary))
    if errors:
        raise ValidationError({"emails": errors})
    return _one_primary(rows)


def _clean_phones(phones: Iterable[PhoneInput], *, region: str | None) -> list[PhoneInput]:
    rows: list[PhoneInput] = []
    errors: list[str] = []
    seen: set[str] = set()
    for item in phones:
        if not (item.number or "").strip():
            continue
        try:
            number = phone_normalise(item.number, region=region)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if item.kind not in PartnerPhone.Kind.values:
            errors.append(f"{item.kind} is not a kind of phone number.")
            continue
        if number in seen:
            continue
        seen.add(number)
        rows.append(PhoneInput(number=number, kind=item.kind, primary=item.primary))
    if errors:
        raise ValidationError({"phones": errors})
    return _one_primary(rows)


_Row = TypeVar("_Row", EmailInput, PhoneInput)


def _one_primary(rows: list[_Row]) -> list[_Row]:
    """Exactly one row is primary: the first one marked, else the first one."""
    if not rows:
        return rows
    chosen = next((i for i, row in enumerate(rows) if row.primary), 0)
    return [type(row)(**{**row.__dict__, "primary": i == chosen}) for i, row in enumerate(rows)]


def _clean_addresses(addresses: Iterable[AddressInput]) -> list[AddressInput]:
    rows: list[AddressInput] = []
    errors: list[str] = []
    for item in addresses:
        fields = {
            name: " ".join(str(getattr(item, name) or "").split())
            for name in ("street", "street2", "zip", "city", "state")
        }
        country = str(item.country or "").strip().upper()
        if not any(fields.values()) and not country:
            continue
        if item.kind not in Address.Kind.values:
            errors.append(f"{item.kind} is not a kind of address.")
            continue
        if country and country not in countries:
            errors.append(f"{country} is not a country code (use ISO 3166, e.g. DE or FR).")
            continue
        if not (fields["street"] or fields["city"] or fields["zip"]):
            errors.append("An address needs at least a street, a postcode or a city.")
            continue
        rows.append(AddressInput(kind=item.kind, country=country, **fields))
    if errors:
        raise ValidationError({"addresses": errors})
    return rows


def _clean_categories(categories: Iterable[Category]) -> list[Category]:
    unique: dict[int, Category] = {}
    for category in categories:
        if not isinstance(category, Category) or category.pk is None:
            raise ValidationError({"categories": "Choose existing categories."})
        unique[category.pk] = category
    return list(unique.values())


def _phone_region(addresses: Sequence[AddressInput], partner: Partner | None) -> str:
    for address in addresses:
        if address.country:
            return address.country
    if partner is not None and partner.country:
        return str(partner.country)
    return settings.PHONE_DEFAULT_REGION


# --------------------------------------------------------------------------
# Denormalised columns


def _refresh_denormalised(partner: Partner) -> None:
    """Recompute the columns that lists and search read without joins."""
    emails = list(partner.emails.order_by("-is_primary", "id").values_list("email", flat=True))
    phones = list(partner.phones.order_by("-is_primary", "id").values_list("number", flat=True))
    addresses = list(partner.addresses.all())
    addresses.sort(key=lambda a: (_ADDRESS_KIND_ORDER.index(a.kind), a.pk))
    work = list(partner.memberships.values_list("work_email", "work_phone"))
    main = addresses[0] if addresses else None

    terms = [partner.name, partner.vat, *emails]
    terms += [email for email, _ in work if email]
    for number in [*phones, *(phone for _, phone in work if phone)]:
        terms += phone_search_terms(number)
    terms += [a.city for a in addresses if a.city]

    partner.email = emails[0] if emails else ""
    partner.phone = phones[0] if phones else ""
    partner.city = main.city if main else ""
    partner.country = main.country if main else ""
    partner.name_key = name_key(partner.name)[:200]
    partner.search_text = fold(" ".join(t for t in terms if t))
    partner.save(update_fields=["email", "phone", "city", "country", "name_key", "search_text"])


# --------------------------------------------------------------------------
# Display values for timeline diffs


def _display(partner: Partner, field: str, value: Any) -> str:
    model_field = Partner._meta.get_field(field)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, models.Model):
        return str(value)
    choices = getattr(model_field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    return str(value)


def _label(field: str) -> str:
    name = str(cast(models.Field, Partner._meta.get_field(field)).verbose_name)
    return name[:1].upper() + name[1:]


def _change(label: str, old: str, new: str) -> dict[str, str]:
    return {"label": label, "old": old, "new": new}


def _email_summary(rows: Iterable[Any]) -> str:
    return ", ".join(f"{r.email}{' (primary)' if _primary(r) else ''}" for r in rows)


def _phone_summary(rows: Iterable[Any]) -> str:
    return ", ".join(f"{r.number}{' (primary)' if _primary(r) else ''}" for r in rows)


def _primary(row: Any) -> bool:
    return bool(getattr(row, "is_primary", getattr(row, "primary", False)))


def _address_summary(rows: Iterable[Any]) -> str:
    parts = []
    for row in rows:
        text = ", ".join(
            p
            for p in (row.street, row.street2, row.zip, row.city, row.state, str(row.country))
            if p
        )
        parts.append(f"{row.kind}: {text}")
    return "; ".join(parts)


# --------------------------------------------------------------------------
# Partners


@transaction.atomic
def partner_create(
    *,
    by: User | None,
    kind: str,
    name: str,
    emails: Sequence[EmailInput] = (),
    phones: Sequence[PhoneInput] = (),
    addresses: Sequence[AddressInput] = (),
    categories: Sequence[Category] = (),
    companies: Sequence[MembershipInput] = (),
    **fields: Any,
) -> Partner:
    """Create a company or a person with its emails, phones, addresses and categories.

    ``companies`` makes a person a contact of those companies in the same step.
    *by* is None when Goodwill itself creates the partner (the email gateway's
    prospects).
    """
    errors = _Errors()
    values: dict[str, Any] = errors.collect(
        lambda: _clean_fields({"kind": kind, "name": name, **fields}, partner=None), {}
    )
    address_rows: list[AddressInput] = errors.collect(lambda: _clean_addresses(addresses), [])
    region = _phone_region(address_rows, None)
    email_rows: list[EmailInput] = errors.collect(lambda: _clean_emails(emails), [])
    phone_rows: list[PhoneInput] = errors.collect(lambda: _clean_phones(phones, region=region), [])
    if companies and values.get("kind", kind) != Partner.Kind.PERSON:
        errors.add("companies", "Only a person can be a contact of a company.")
    errors.raise_if_any()
    category_rows = _clean_categories(categories)

    now = timezone.now()
    partner = Partner.objects.create(created_by=by, created_at=now, updated_at=now, **values)
    PartnerEmail.objects.bulk_create(
        PartnerEmail(partner=partner, email=r.email, kind=r.kind, is_primary=r.primary)
        for r in email_rows
    )
    PartnerPhone.objects.bulk_create(
        PartnerPhone(partner=partner, number=r.number, kind=r.kind, is_primary=r.primary)
        for r in phone_rows
    )
    Address.objects.bulk_create(Address(partner=partner, **r.__dict__) for r in address_rows)
    partner.categories.set(category_rows)
    timeline_add(
        subject=partner,
        partner=partner,
        kind=TimelineEntry.Kind.SYSTEM,
        action="created",
        author=by,
        body=f"{partner.get_kind_display()} created",
    )
    try:
        for link in companies:
            _membership_add(person=partner, by=by, link=link, refresh=False)
    except ValidationError as exc:
        # Reported where the caller sent them: under "companies".
        raise ValidationError({"companies": exc.messages}) from None
    _refresh_denormalised(partner)
    events.emit("partner.created", partner_id=partner.pk, by_id=getattr(by, "pk", None))
    return partner


@transaction.atomic
def partner_update(
    *,
    partner: Partner,
    by: User,
    emails: Sequence[EmailInput] | None = None,
    phones: Sequence[PhoneInput] | None = None,
    addresses: Sequence[AddressInput] | None = None,
    categories: Sequence[Category] | None = None,
    **fields: Any,
) -> Partner:
    """Change the given fields and collections; the timeline gets field → old → new."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.merged_into_id:
        raise ValidationError(
            f"{partner.name} was merged into another partner and cannot be edited."
        )
    if "kind" in fields and fields["kind"] != partner.kind:
        _check_kind_change(partner, fields["kind"])

    errors = _Errors()
    values: dict[str, Any] = errors.collect(lambda: _clean_fields(fields, partner=partner), {})
    address_rows: list[AddressInput] | None = None
    email_rows: list[EmailInput] | None = None
    phone_rows: list[PhoneInput] | None = None
    if addresses is not None:
        address_rows = errors.collect(lambda: _clean_addresses(addresses), list[AddressInput]())
    region = _phone_region(address_rows or [], partner)
    if emails is not None:
        email_rows = errors.collect(lambda: _clean_emails(emails), list[EmailInput]())
    if phones is not None:
        phone_rows = errors.collect(
            lambda: _clean_phones(phones, region=region), list[PhoneInput]()
        )
    errors.raise_if_any()

    changes: list[dict[str, str]] = []
    for field, new in values.items():
        old = getattr(partner, field)
        if old != new:
            changes.append(
                _change(_label(field), _display(partner, field, old), _display(partner, field, new))
            )
            setattr(partner, field, new)

    if email_rows is not None:
        current = list(partner.emails.all())
        if [(r.email, r.kind, r.is_primary) for r in current] != [
            (r.email, r.kind, r.primary) for r in email_rows
        ]:
            changes.append(_change("Emails", _email_summary(current), _email_summary(email_rows)))
            partner.emails.all().delete()
            PartnerEmail.objects.bulk_create(
                PartnerEmail(partner=partner, email=r.email, kind=r.kind, is_primary=r.primary)
                for r in email_rows
            )
    if phone_rows is not None:
        current_phones = list(partner.phones.all())
        if [(r.number, r.kind, r.is_primary) for r in current_phones] != [
            (r.number, r.kind, r.primary) for r in phone_rows
        ]:
            changes.append(
                _change("Phones", _phone_summary(current_phones), _phone_summary(phone_rows))
            )
            partner.phones.all().delete()
            PartnerPhone.objects.bulk_create(
                PartnerPhone(partner=partner, number=r.number, kind=r.kind, is_primary=r.primary)
                for r in phone_rows
            )
    if address_rows is not None:
        current_addresses = list(partner.addresses.all())
        old_summary = _address_summary(current_addresses)
        new_summary = _address_summary(address_rows)
        if old_summary != new_summary:
            changes.append(_change("Addresses", old_summary, new_summary))
            partner.addresses.all().delete()
            Address.objects.bulk_create(
                Address(partner=partner, **r.__dict__) for r in address_rows
            )
    if categories is not None:
        new_categories = _clean_categories(categories)
        old_categories = list(partner.categories.all())
        if {c.pk for c in old_categories} != {c.pk for c in new_categories}:
            changes.append(
                _change(
                    "Categories",
                    ", ".join(sorted(c.name for c in old_categories)),
                    ", ".join(sorted(c.name for c in new_categories)),
                )
            )
            partner.categories.set(new_categories)

    if not changes:
        return partner
    partner.updated_at = timezone.now()
    partner.save()
    _refresh_denormalised(partner)
    timeline_add(
        subject=partner,
        partner=partner,
        kind=TimelineEntry.Kind.FIELD_CHANGE,
        action="updated",
        author=by,
        changes=changes,
    )
    events.emit(
        "partner.updated",
        partner_id=partner.pk,
        by_id=by.pk,
        changes=[c["label"] for c in changes],
    )
    return partner


def _check_kind_change(partner: Partner, kind: str) -> None:
    if kind == Partner.Kind.PERSON and (partner.members.exists() or partner.subsidiaries.exists()):
        raise ValidationError(
            {"kind": f"{partner.name} has contacts or subsidiaries, so it must stay a company."}
        )
    if kind == Partner.Kind.COMPANY and partner.memberships.exists():
        raise ValidationError(
            {"kind": f"{partner.name} is a contact of companies, so it must stay a person."}
        )


@transaction.atomic
def partner_archive(*, partner: Partner, by: User) -> Partner:
    """Hide a partner from lists and searches; its history stays."""
    return _partner_set_active(partner=partner, by=by, active=False)


@transaction.atomic
def partner_restore(*, partner: Partner, by: User) -> Partner:
    """Bring an archived partner back; merged partners cannot come back."""
    return _partner_set_active(partner=partner, by=by, active=True)


def _partner_set_active(*, partner: Partner, by: User, active: bool) -> Partner:
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if active and partner.merged_into_id:
        raise ValidationError(
            f"{partner.name} was merged into another partner; open that one instead."
        )
    if partner.active == active:
        state = "not archived" if active else "already archived"
        raise ValidationError(f"{partner.name} is {state}.")
    old, new = ("archived", "active") if active else ("active", "archived")
    action = "restored" if active else "archived"
    partner.active = active
    partner.updated_at = timezone.now()
    partner.save(update_fields=["active", "updated_at"])
    timeline_add(
        subject=partner,
        partner=partner,
        kind=TimelineEntry.Kind.STATE_CHANGE,
        action=action,
        author=by,
        body=action.capitalize(),
        changes=[_change("Status", old, new)],
    )
    events.emit(f"partner.{action}", partner_id=partner.pk, by_id=by.pk)
    return partner


_MERGE_FILL_FIELDS = ("website", "vat", "language", "currency", "channel", "parent")
_MERGE_ROLE_FIELDS = ("is_customer", "is_supplier", "is_employee", "is_prospect")


@transaction.atomic
def partner_merge(*, keep: Partner, drop: Partner, by: User) -> Partner:
    """Fold *drop* into *keep*: its emails, phones, addresses, categories, contacts,
    subsidiaries and timeline move over; *drop* is archived and points to *keep*."""
    if keep.pk == drop.pk:
        raise ValidationError("Choose two different partners to merge.")
    locked = {
        p.pk: p for p in Partner.objects.select_for_update().filter(pk__in=[keep.pk, drop.pk])
    }
    keep, drop = locked[keep.pk], locked[drop.pk]
    if drop.merged_into_id or keep.merged_into_id:
        raise ValidationError("One of these partners was already merged into another.")
    if keep.kind != drop.kind:
        raise ValidationError(
            f"{keep.name} is a {keep.get_kind_display().lower()} and {drop.name} is a "
            f"{drop.get_kind_display().lower()}; only partners of the same kind can be merged."
        )

    changes: list[dict[str, str]] = []
    for field in _MERGE_FILL_FIELDS:
        if (
            not getattr(keep, field)
            and getattr(drop, field)
            and not (field == "parent" and drop.parent_id == keep.pk)
        ):
            changes.append(_change(_label(field), "", _display(keep, field, getattr(drop, field))))
            setattr(keep, field, getattr(drop, field))
    for field in _MERGE_ROLE_FIELDS:
        if getattr(drop, field) and not getattr(keep, field):
            changes.append(_change(_label(field), "no", "yes"))
            setattr(keep, field, True)
    if drop.notes:
        keep.notes = "\n\n".join(n for n in (keep.notes, drop.notes) if n)

    kept_emails = set(keep.emails.values_list("email", flat=True))
    drop.emails.exclude(email__in=kept_emails).update(partner=keep, is_primary=False)
    kept_phones = set(keep.phones.values_list("number", flat=True))
    drop.phones.exclude(number__in=kept_phones).update(partner=keep, is_primary=False)
    drop.addresses.update(partner=keep)
    keep.categories.add(*drop.categories.all())

    kept_companies = set(keep.memberships.values_list("company_id", flat=True)) | {keep.pk}
    drop.memberships.exclude(company_id__in=kept_companies).update(person=keep)
    kept_people = set(keep.members.values_list("person_id", flat=True)) | {keep.pk}
    drop.members.exclude(person_id__in=kept_people).update(company=keep)
    Partner.objects.filter(parent=drop).exclude(pk=keep.pk).update(parent=keep)
    if keep.parent_id == drop.pk:
        keep.parent = None

    TimelineEntry.objects.filter(partner=drop).update(partner=keep)
    for step in MERGE_STEPS:
        step(keep, drop)

    now = timezone.now()
    keep.updated_at = now
    keep.save()
    drop.active = False
    drop.merged_into = keep
    drop.updated_at = now
    drop.save(update_fields=["active", "merged_into", "updated_at"])
    _refresh_denormalised(keep)
    _refresh_denormalised(drop)
    timeline_add(
        subject=keep,
        partner=keep,
        kind=TimelineEntry.Kind.SYSTEM,
        action="merged",
        author=by,
        body=f"{drop.name} (#{drop.pk}) was merged into this partner.",
        changes=changes,
    )
    timeline_add(
        subject=drop,
        partner=drop,
        kind=TimelineEntry.Kind.SYSTEM,
        action="merged",
        author=by,
        body=f"Merged into {keep.name} (#{keep.pk}); its history moved there.",
    )
    events.emit("partner.merged", keep_id=keep.pk, drop_id=drop.pk, by_id=by.pk)
    return keep


@transaction.atomic
def partners_categorise(*, partners: Sequence[Partner], category: Category, by: User) -> int:
    """Add *category* to each partner that lacks it; returns how many changed."""
    if len(partners) > BULK_MAX:
        raise ValidationError(f"Select at most {BULK_MAX} partners at a time.")
    through = Partner.categories.through
    have = set(
        through.objects.filter(
            category=category, partner_id__in=[p.pk for p in partners]
        ).values_list("partner_id", flat=True)
    )
    todo = [p for p in partners if p.pk not in have]
    if not todo:
        return 0
    through.objects.bulk_create(through(partner_id=p.pk, category_id=category.pk) for p in todo)
    now = timezone.now()
    Partner.objects.filter(pk__in=[p.pk for p in todo]).update(updated_at=now)
    content_type = ContentType.objects.get_for_model(Partner)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            subject_type=content_type,
            subject_id=p.pk,
            partner_id=p.pk,
            kind=TimelineEntry.Kind.FIELD_CHANGE,
            action="updated",
            author=by,
            created_at=now,
            changes=[_change("Categories", "", f"+ {category.name}")],
        )
        for p in todo
    )
    events.emit(
        "partner.bulk_categorised",
        partner_ids=[p.pk for p in todo],
        category_id=category.pk,
        by_id=by.pk,
    )
    return len(todo)


@transaction.atomic
def partners_archive(*, partners: Sequence[Partner], by: User) -> int:
    """Archive the active partners among *partners*; returns how many were archived."""
    if len(partners) > BULK_MAX:
        raise ValidationError(f"Select at most {BULK_MAX} partners at a time.")
    ids = list(
        Partner.objects.filter(pk__in=[p.pk for p in partners], active=True).values_list(
            "pk", flat=True
        )
    )
    if not ids:
        return 0
    now = timezone.now()
    Partner.objects.filter(pk__in=ids).update(active=False, updated_at=now)
    content_type = ContentType.objects.get_for_model(Partner)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            subject_type=content_type,
            subject_id=pk,
            partner_id=pk,
            kind=TimelineEntry.Kind.STATE_CHANGE,
            action="archived",
            author=by,
            body="Archived",
            created_at=now,
            changes=[_change("Status", "active", "archived")],
        )
        for pk in ids
    )
    for pk in ids:
        events.emit("partner.archived", partner_id=pk, by_id=by.pk)
    return len(ids)


# --------------------------------------------------------------------------
# Contacts of companies


def _clean_membership_contact(
    *, work_email: str, work_phone: str, region: str | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    cleaned = {"work_email": "", "work_phone": ""}
    if (work_email or "").strip():
        try:
            cleaned["work_email"] = email_normalise(work_email)
        except ValidationError as exc:
            errors["work_email"] = exc.messages[0]
    if (work_phone or "").strip():
        try:
            cleaned["work_phone"] = phone_normalise(work_phone, region=region)
        except ValidationError as exc:
            errors["work_phone"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _short(value: str, limit: int = 120) -> str:
    return " ".join((value or "").split())[:limit]


def _membership_add(
    *, person: Partner, by: User | None, link: MembershipInput, refresh: bool = True
) -> Membership:
    company = link.company
    if person.kind != Partner.Kind.PERSON:
        raise ValidationError({"person": f"{person.name} is a company; only people are contacts."})
    if company.kind != Partner.Kind.COMPANY:
        raise ValidationError({"company": f"{company.name} is a person, not a company."})
    if Membership.objects.filter(person=person, company=company).exists():
        raise ValidationError({"company": f"{person.name} is already a contact of {company.name}."})
    contact = _clean_membership_contact(
        work_email=link.work_email,
        work_phone=link.work_phone,
        region=str(company.country) or settings.PHONE_DEFAULT_REGION,
    )
    membership = Membership.objects.create(
        person=person,
        company=company,
        job_title=_short(link.job_title),
        department=_short(link.department),
        **contact,
    )
    role = f" ({membership.job_title})" if membership.job_title else ""
    timeline_add(
        subject=person,
        partner=person,
        kind=TimelineEntry.Kind.SYSTEM,
        action="contact_added",
        author=by,
        body=f"Became a contact of {company.name}{role}.",
    )
    timeline_add(
        subject=company,
        partner=company,
        kind=TimelineEntry.Kind.SYSTEM,
        action="contact_added",
        author=by,
        body=f"{person.name} became a contact{role}.",
    )
    if refresh:
        _refresh_denormalised(person)
    events.emit("membership.created", membership_id=membership.pk, by_id=getattr(by, "pk", None))
    return membership


@transaction.atomic
def membership_add(
    *,
    person: Partner,
    company: Partner,
    by: User,
    job_title: str = "",
    department: str = "",
    work_email: str = "",
    work_phone: str = "",
) -> Membership:
    """Make *person* a contact of *company*, with their job there."""
    return _membership_add(
        person=person,
        by=by,
        link=MembershipInput(
            company=company,
            job_title=job_title,
            department=department,
            work_email=work_email,
            work_phone=work_phone,
        ),
    )


@transaction.atomic
def membership_update(
    *,
    membership: Membership,
    by: User,
    job_title: str,
    department: str,
    work_email: str,
    work_phone: str,
) -> Membership:
    contact = _clean_membership_contact(
        work_email=work_email,
        work_phone=work_phone,
        region=str(membership.company.country) or settings.PHONE_DEFAULT_REGION,
    )
    new = {"job_title": _short(job_title), "department": _short(department), **contact}
    labels = {
        "job_title": "Job title",
        "department": "Department",
        "work_email": "Work email",
        "work_phone": "Work phone",
    }
    changes = [
        _change(f"{labels[f]} at {membership.company.name}", getattr(membership, f), v)
        for f, v in new.items()
        if getattr(membership, f) != v
    ]
    if not changes:
        return membership
    for field, value in new.items():
        setattr(membership, field, value)
    membership.save()
    timeline_add(
        subject=membership.person,
        partner=membership.person,
        kind=TimelineEntry.Kind.FIELD_CHANGE,
        action="contact_updated",
        author=by,
        changes=changes,
    )
    _refresh_denormalised(membership.person)
    events.emit("membership.updated", membership_id=membership.pk, by_id=by.pk)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by: User) -> None:
    person, company = membership.person, membership.company
    membership.delete()
    timeline_add(
        subject=person,
        partner=person,
        kind=TimelineEntry.Kind.SYSTEM,
        action="contact_removed",
        author=by,
        body=f"No longer a contact of {company.name}.",
    )
    timeline_add(
        subject=company,
        partner=company,
        kind=TimelineEntry.Kind.SYSTEM,
        action="contact_removed",
        author=by,
        body=f"{person.name} is no longer a contact.",
    )
    _refresh_denormalised(person)
    events.emit("membership.removed", person_id=person.pk, company_id=company.pk, by_id=by.pk)


# --------------------------------------------------------------------------
# Categories


@transaction.atomic
def category_save(
    *,
    category: Category,
    by: User | None,
    name: str,
    parent: Category | None,
    description: str = "",
) -> Category:
    """Create or rename/move a category, refusing loops in the hierarchy."""
    clean_name = " ".join((name or "").split())
    if not clean_name:
        raise ValidationError({"name": "A category needs a name."})
    if "/" in clean_name:
        raise ValidationError({"name": "A category name cannot contain '/'; it separates levels."})
    node = parent
    while node is not None:
        if category.pk and node.pk == category.pk:
            raise ValidationError({"parent": "A category cannot sit inside itself."})
        node = node.parent
    duplicate = Category.objects.filter(parent=parent, name__iexact=clean_name)
    if category.pk:
        duplicate = duplicate.exclude(pk=category.pk)
    if duplicate.exists():
        raise ValidationError({"name": f"{clean_name} already exists at this level."})
    category.name, category.parent, category.description = clean_name, parent, description.strip()
    category.save()
    events.emit("category.saved", category_id=category.pk, by_id=by.pk if by else None)
    return category


# --------------------------------------------------------------------------
# Export


@transaction.atomic
def partner_export_request(*, by: User, filters: dict[str, Any], fmt: str) -> PartnerExport:
    """Queue an export of the partners that *filters* select; the worker builds it."""
    from goodwill.partners.tasks import partner_export_run, partner_exports_prune

    if fmt not in PartnerExport.Format.values:
        raise ValidationError({"format": "Choose CSV or XLSX."})
    export = PartnerExport.objects.create(created_by=by, format=fmt, filters=filters)
    transaction.on_commit(lambda: partner_export_run.enqueue(export_id=export.pk))
    # Old files go as new ones are made; no schedule needed for that.
    transaction.on_commit(lambda: partner_exports_prune.enqueue())
    return export


EXPORT_COLUMNS = (
    "id",
    "kind",
    "name",
    "parent company",
    "customer",
    "supplier",
    "employee",
    "prospect",
    "categories",
    "email",
    "phone",
    "city",
    "country",
    "website",
    "vat",
    "language",
    "currency",
    "channel",
    "state of mind",
    "active",
    "created",
)
EXPORT_CHUNK = 2000


def partner_export_build(*, export: PartnerExport) -> PartnerExport:
    """Write the export's file, reporting progress as it goes.

    Runs in the worker. Rows are read in keyset-ordered chunks so memory stays flat
    whatever the size of the selection.
    """
    from goodwill.partners.selectors import PartnerFilters, category_paths, partner_queryset

    if not job_claim(export):
        return export
    try:
        filters = PartnerFilters.from_dict(export.filters)
        queryset = partner_queryset(filters)
        total = queryset.count()
        job_progress(export, done=0, total=total)
        paths = category_paths()
        writer = _CsvSink() if export.format == PartnerExport.Format.CSV else _XlsxSink()
        writer.row(list(EXPORT_COLUMNS))
        done = 0
        last_id = 0
        base = queryset.order_by("pk").select_related("parent")
        while True:
            chunk = list(base.filter(pk__gt=last_id).prefetch_related("categories")[:EXPORT_CHUNK])
            if not chunk:
                break
            for partner in chunk:
                writer.row(_export_row(partner, paths))
            done += len(chunk)
            last_id = chunk[-1].pk
            job_progress(export, done=done)
        content = writer.finish()
        export.file.save(export.filename, ContentFile(content), save=False)
        job_finish(export, file=export.file.name, row_count=done)
    except Exception as exc:
        job_finish(export, error=f"The export failed: {exc}")
        raise
    return export


def _export_row(partner: Partner, paths: dict[int, str]) -> list[Any]:
    return [
        partner.pk,
        partner.get_kind_display(),
        partner.name,
        partner.parent.name if partner.parent else "",
        partner.is_customer,
        partner.is_supplier,
        partner.is_employee,
        partner.is_prospect,
        "; ".join(sorted(paths.get(c.pk, c.name) for c in partner.categories.all())),
        partner.email,
        partner.phone,
        partner.city,
        str(partner.country) if partner.country else "",
        partner.website,
        partner.vat,
        partner.language,
        partner.currency,
        partner.get_channel_display() if partner.channel else "",
        float(partner.state_of_mind) if partner.state_of_mind is not None else "",
        partner.active,
        timezone.localtime(partner.created_at).replace(tzinfo=None),
    ]


class _CsvSink:
    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def row(self, values: list[Any]) -> None:
        out = []
        for value in values:
            if isinstance(value, bool):
                value = "yes" if value else "no"
            elif hasattr(value, "isoformat"):
                value = value.isoformat(sep=" ", timespec="seconds")
            out.append(cell_text(value))
        self.writer.writerow(out)

    def finish(self) -> bytes:
        # A byte-order mark lets spreadsheet programs detect UTF-8.
        return self.buffer.getvalue().encode("utf-8-sig")


class _XlsxSink:
    def __init__(self) -> None:
        from openpyxl import Workbook

        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet("Partners")

    def row(self, values: list[Any]) -> None:
        self.sheet.append([cell_text(v) for v in values])

    def finish(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()


def partner_exports_prune(*, older_than_days: int) -> int:
    """Delete finished exports (and their files) older than the retention period."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = PartnerExport.objects.filter(created_at__lt=cutoff).exclude(
        status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    )
    rows = list(old.only("pk", "file"))
    for export in rows:  # files live in storage, one call each; the rows go in one query
        if export.file:
            export.file.delete(save=False)
    PartnerExport.objects.filter(pk__in=[e.pk for e in rows]).delete()
    return len(rows)
