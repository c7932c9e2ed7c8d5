"""Every change to cases: creation, edits, assignment, the states, escalation,
merging and splitting, watchers, notes and replies, links and attachments.

Each service validates its input (raising ``ValidationError`` with a message a
user can act on), runs in one transaction, writes the case's timeline (which the
partner page shows too), and emits a domain event after commit for automation:

- ``case.created``, ``case.updated`` (with ``changes``), ``case.assigned``;
- ``case.state_changed`` with ``old`` and ``new`` state and the ``action``
  (``open``, ``pending``, ``close``, ``cancel``, ``reset``, ``escalated``);
- ``case.escalated``, ``case.merged``, ``case.split``;
- ``case.note_added``, ``message.queued`` (a reply in the outbox);
- ``case.watcher_added``, ``case.watcher_removed``, ``case.linked``,
  ``case.attached``, ``case.expense_submitted``, ``case.expense_decided``.

State semantics follow OpenERP's crm.case: draft → open ↔ pending → done or
cancel; reset returns a case to draft. Opening a case that has no responsible
assigns whoever opened it; closing stamps the close date. A case type can make
"done" final (iDempiere's Final Close): the case is read-only from then on.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from goodwill.accounts.permissions import can_use_staff_ui, is_administrator
from goodwill.cases.models import (
    ACTIVE_STATES,
    Attachment,
    Case,
    CaseLink,
    CaseNumber,
    CaseState,
    CaseType,
    OutboundMessage,
    Priority,
    SavedFilter,
    Section,
    Stage,
    Watcher,
)
from goodwill.lib import events
from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.text import fold
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import timeline_add, timeline_build

if TYPE_CHECKING:
    from goodwill.accounts.models import User

BODY_MAX_LENGTH = 100_000
BULK_MAX = 500

# Fields a person may set through case_create / case_update, in form order.
EDITABLE_FIELDS = (
    "subject",
    "description",
    "case_type",
    "section",
    "category",
    "stage",
    "priority",
    "responsible",
    "partner",
    "contact",
    "requester_email",
    "deadline",
    "next_action_at",
    "next_action",
    "channel",
    "campaign",
    "related",
    "planned_revenue",
    "planned_cost",
    "probability",
    "expected_close",
    "currency",
    "claim_subject",
    "claim_product",
    "root_cause",
    "corrective_action",
    "preventive_action",
    "location_address",
    "location_text",
    "scheduled_start",
    "scheduled_end",
    "technician",
    "amount",
)
M2M_FIELDS = ("attendees", "attendee_users")

# Which action moves a case from which states to which.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "open": (
        (CaseState.DRAFT, CaseState.PENDING, CaseState.DONE, CaseState.CANCEL),
        CaseState.OPEN,
    ),
    "pending": ((CaseState.DRAFT, CaseState.OPEN), CaseState.PENDING),
    "close": (ACTIVE_STATES, CaseState.DONE),
    "cancel": (ACTIVE_STATES, CaseState.CANCEL),
    "reset": (
        (CaseState.OPEN, CaseState.PENDING, CaseState.DONE, CaseState.CANCEL),
        CaseState.DRAFT,
    ),
}
ACTION_LABELS = {
    "open": "Open",
    "pending": "Set pending",
    "close": "Close",
    "cancel": "Cancel",
    "reset": "Reset to draft",
}
_ACTION_PAST = {
    "open": "opened",
    "pending": "set pending",
    "close": "closed",
    "cancel": "cancelled",
    "reset": "reset to draft",
}


# --------------------------------------------------------------------------
# Helpers


def case_search_text(*, number: int, subject: str, requester_email: str, partner_name: str) -> str:
    """What substring search on cases looks in (``search_text``, trigram-indexed)."""
    return fold(" ".join([f"#{number}", subject, requester_email, partner_name]))


def _refresh_search_text(case: Case) -> None:
    partner_name = case.partner.name if case.partner_id and case.partner else ""
    case.search_text = case_search_text(
        number=case.number,
        subject=case.subject,
        requester_email=case.requester_email,
        partner_name=partner_name,
    )


def _next_number() -> int:
    """A new case number: unique, increasing, gaps allowed (see migration 0002)."""
    return case_numbers_next(1)[0]


def case_numbers_next(count: int) -> list[int]:
    """*count* new case numbers, increasing, in one query (two on SQLite)."""
    if count <= 0:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval('cases_case_number_seq') FROM generate_series(1, %s)", [count]
            )
            return sorted(int(row[0]) for row in cursor.fetchall())
    if not CaseNumber.objects.filter(pk=1).update(value=F("value") + count):
        highest = Case.objects.aggregate(models.Max("number"))["number__max"] or 1000
        CaseNumber.objects.create(pk=1, value=highest + count)
    last = int(CaseNumber.objects.values_list("value", flat=True).get(pk=1))
    return list(range(last - count + 1, last + 1))


def _check_writable(case: Case) -> None:
    if case.merged_into_id:
        merged = Case.objects.filter(pk=case.merged_into_id).values_list("number", flat=True)
        raise ValidationError(
            f"Case #{case.number} was merged into #{merged.first()}; work on that case instead."
        )
    if case.final:
        raise ValidationError(
            f"Case #{case.number} is closed for good (final close) and can no longer be changed."
        )


def _check_staff(user: Any, what: str) -> None:
    if user is not None and not (user.is_active and can_use_staff_ui(user)):
        raise ValidationError({what: f"{user} is not an active staff user."})


def _display(field_name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, models.Model):
        if isinstance(value, Case):
            return value.reference
        return str(getattr(value, "display_name", value))
    model_field = Case._meta.get_field(field_name)
    choices = getattr(model_field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _label(field_name: str) -> str:
    name = str(cast(models.Field, Case._meta.get_field(field_name)).verbose_name)
    return name[:1].upper() + name[1:]


def _change(label: str, old: str, new: str) -> dict[str, str]:
    return {"label": label, "old": old, "new": new}


def _entry(
    case: Case,
    *,
    kind: str,
    by: User | None,
    action: str,
    body: str = "",
    changes: Sequence[dict[str, Any]] = (),
    visibility: str = TimelineEntry.Visibility.INTERNAL,
) -> TimelineEntry:
    return timeline_add(
        subject=case,
        partner=case.partner,
        kind=kind,
        author=by,
        body=body,
        action=action,
        changes=changes,
        visibility=visibility,
    )


def _touch(case: Case, *fields: str) -> None:
    case.updated_at = timezone.now()
    case.save(update_fields=[*fields, "updated_at"])


def _clean_body(body: str, *, what: str = "message") -> str:
    text = (body or "").replace("\x00", "").strip()
    if not text:
        raise ValidationError({"body": f"Write something before adding the {what}."})
    if len(text) > BODY_MAX_LENGTH:
        raise ValidationError(
            {
                "body": f"A {what} can be at most {BODY_MAX_LENGTH:,} characters; "
                f"this one has {len(text):,}."
            }
        )
    return text


# --------------------------------------------------------------------------
# Validation of the editable fields


def _clean_values(case: Case, values: Mapping[str, Any]) -> dict[str, Any]:
    """Assign *values* to *case* (unsaved) and validate them with the model's own
    field validation plus the rules between fields. Returns what changed."""
    unknown = set(values) - set(EDITABLE_FIELDS) - set(M2M_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set: {', '.join(sorted(unknown))}.")
    before = {name: _raw(case, name) for name in EDITABLE_FIELDS}
    # Related objects already loaded (select_related), kept for the old → new display.
    cached = {
        name: field.get_cached_value(case)  # type: ignore[union-attr]
        for name in EDITABLE_FIELDS
        if (field := Case._meta.get_field(name)).is_relation and field.is_cached(case)  # type: ignore[union-attr]
    }
    for name, value in values.items():
        if name in M2M_FIELDS:
            continue
        if isinstance(value, str) and name not in {"description"}:
            value = value.replace("\x00", "").strip()
        if name == "requester_email" and value:
            try:
                value = email_normalise(value)
            except ValidationError as exc:
                raise ValidationError({"requester_email": exc.messages}) from None
        setattr(case, name, value)

    # A related object handed over as a saved instance exists: its field skips
    # the existence query Django's validation would run (the foreign key
    # constraint still guards the insert).
    loaded = [
        name
        for name, value in values.items()
        if isinstance(value, models.Model) and not value._state.adding and value.pk is not None
    ]
    # A relation of a saved case that this change leaves alone was valid when
    # stored (and the constraint keeps it so): no existence query for it either.
    kept = (
        [
            field.name
            for field in Case._meta.concrete_fields
            if field.is_relation and field.name not in values
        ]
        if case.pk is not None
        else []
    )
    errors: dict[str, list[str]] = {}
    try:
        case.full_clean(
            exclude=["number", "search_text", "message_count", *M2M_FIELDS, *loaded, *kept],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)

    case_type: CaseType | None = case.case_type if case.case_type_id else None
    section: Section | None = case.section if case.section_id else None
    if case_type is not None and not case_type.active and "case_type" in values:
        errors.setdefault("case_type", []).append(f"The case type {case_type} is no longer in use.")
    if section is not None and not section.active and "section" in values:
        errors.setdefault("section", []).append(f"The section {section} is archived.")
    if case.stage_id and case.stage and case.stage.section_id != case.section_id:
        errors.setdefault("stage", []).append(
            f"The stage {case.stage} belongs to another section than {section}."
        )
    if case.category_id and case.category and case.category.section_id != case.section_id:
        errors.setdefault("category", []).append(
            f"The category {case.category} belongs to another section than {section}."
        )
    if case.contact_id and case.contact and case.contact.kind != Partner.Kind.PERSON:
        errors.setdefault("contact", []).append("The contact must be a person, not a company.")
    if case.related_id and case.pk and case.related_id == case.pk:
        errors.setdefault("related", []).append("A case cannot be related to itself.")
    if case.scheduled_start and case.scheduled_end and case.scheduled_end < case.scheduled_start:
        errors.setdefault("scheduled_end", []).append("The end must come after the start.")
    if case.location_address_id and case.location_address:
        allowed = {case.partner_id, case.contact_id} - {None}
        if case.location_address.partner_id not in allowed:
            errors.setdefault("location_address", []).append(
                "Pick an address of the case's partner or contact."
            )
    for name in ("responsible", "technician"):
        user = getattr(case, name)
        if name in values and user is not None and not (user.is_active and can_use_staff_ui(user)):
            errors.setdefault(name, []).append(f"{user} is not an active staff user.")
    for name in ("planned_revenue", "planned_cost", "amount"):
        value = getattr(case, name)
        # A value that full_clean refused is still the raw input: skip it.
        if name not in errors and value is not None and Decimal(value) < 0:
            errors.setdefault(name, []).append("Enter an amount of zero or more.")
    if errors:
        raise ValidationError(errors)

    # OpenERP: choosing a category copies its default probability.
    if (
        "category" in values
        and case.category_id
        and case.category
        and case.category.default_probability is not None
        and before["category"] != case.category_id
        and values.get("probability") is None  # a blank form field gives no probability
    ):
        case.probability = case.category.default_probability
    changed = {}
    for name in EDITABLE_FIELDS:
        new = _raw(case, name)
        if new == before[name]:
            continue
        field = Case._meta.get_field(name)
        if field.is_relation:
            old_id = before[name]
            old = cached.get(name)
            if old is None and old_id is not None:
                old = field.related_model._default_manager.filter(pk=old_id).first()  # type: ignore[union-attr]
            changed[name] = (old, getattr(case, name) if new is not None else None)
        else:
            changed[name] = (before[name], new)
    return changed


def _raw(case: Case, name: str) -> Any:
    """A field's stored value: for a relation, the id (no query)."""
    return getattr(case, Case._meta.get_field(name).attname)  # type: ignore[union-attr]


def _changes_list(changed: Mapping[str, tuple[Any, Any]], case: Case) -> list[dict[str, str]]:
    rows = []
    for name, (old, new) in changed.items():
        if name == "description":
            rows.append(_change(_label(name), "…" if old else "", "(edited)"))
            continue
        if name == "related":
            # Named as links are: a members-only case stays anonymous here.
            rows.append(
                _change(
                    _label(name),
                    link_target_label(old, seen_from=case) if old else "",
                    link_target_label(new, seen_from=case) if new else "",
                )
            )
            continue
        rows.append(_change(_label(name), _display(name, old), _display(name, new)))
    return rows


def _first_stage(section: Section) -> Stage | None:
    return Stage.objects.filter(section=section).order_by("sequence", "id").first()


# --------------------------------------------------------------------------
# Create and edit


def case_created_text(case: Case) -> str:
    """The body of a new case's first ("created") timeline entry."""
    return f"{case.case_type} {case.reference} created in {case.section}: {case.subject}"


def case_first_stage(section: Section) -> Stage | None:
    """Where a new case of *section* starts."""
    return _first_stage(section)


FIRST_STAGE = object()  # case_build's default: look the section's first stage up


def case_build(
    *, by: User | None, values: Mapping[str, Any], stage: Stage | object | None = FIRST_STAGE
) -> Case:
    """A new case, validated and unsaved, without its number (see :func:`case_create`).

    *stage*, when given, is the section's first stage already looked up (None
    for a section without stages; the email gateway's batch passes it).
    """
    values = dict(values)
    case_type = values.get("case_type")
    if case_type is None:
        raise ValidationError({"case_type": "Choose the type of case."})
    if not values.get("section"):
        if case_type.default_section_id is None:
            raise ValidationError(
                {"section": f"Choose a section: the type {case_type} has no default section."}
            )
        values["section"] = case_type.default_section
    values.setdefault("subject", "")
    if not str(values["subject"]).strip():
        raise ValidationError({"subject": "Give the case a subject."})
    values.setdefault("priority", 3)

    case = Case(created_by=by, state=CaseState.DRAFT, number=0)
    _clean_values(case, values)
    if case.stage_id is None:
        case.stage = (
            _first_stage(case.section) if stage is FIRST_STAGE else cast(Stage | None, stage)
        )
    if not case.requester_email:
        person = case.contact or case.partner
        if person is not None and person.email:
            case.requester_email = person.email
    now = timezone.now()
    case.created_at = case.updated_at = now
    return case


def case_number(case: Case, number: int) -> None:
    """Give an unsaved case its number (and the search text that holds it)."""
    case.number = number
    _refresh_search_text(case)


@transaction.atomic
def case_create(
    *,
    by: User | None,
    values: Mapping[str, Any],
    open_now: bool = False,
    watchers: Iterable[User | str] = (),
) -> Case:
    """Create a case in draft (or open it at once with *open_now*).

    The section defaults to the case type's default section; the stage to the
    section's first stage; the requester email to the contact's or partner's.
    """
    values = dict(values)
    attendees = values.pop("attendees", None)
    attendee_users = values.pop("attendee_users", None)
    case = case_build(by=by, values=values)
    case_number(case, _next_number())
    case.save()
    if attendees:
        case.attendees.set(attendees)
    if attendee_users:
        case.attendee_users.set(attendee_users)
    for watcher in watchers:
        if isinstance(watcher, str):
            try:
                address = email_normalise(watcher)
            except ValidationError as exc:
                raise ValidationError({"watchers": exc.messages}) from None
            _watcher_add(case, user=None, email=address)
        else:
            _check_staff(watcher, "watchers")
            _watcher_add(case, user=watcher, email="")
    _entry(
        case,
        kind=TimelineEntry.Kind.SYSTEM,
        by=by,
        action="created",
        body=case_created_text(case),
    )
    events.emit("case.created", case_id=case.pk, by_id=getattr(by, "pk", None))
    if open_now:
        _transition(case, by=by, action="open")
    return case


@transaction.atomic
def case_update(*, case: Case, by: User | None, values: Mapping[str, Any]) -> Case:
    """Edit fields; the timeline records each change as old → new.

    Moving the case to another section drops a stage or category of the old
    section (the first stage of the new one is taken).
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    _check_writable(case)
    values = dict(values)
    attendees = values.pop("attendees", None)
    attendee_users = values.pop("attendee_users", None)
    old_section_id = case.section_id
    if "section" in values and values["section"] is not None:
        section = values["section"]
        if section.pk != old_section_id:
            if "stage" not in values or (
                values["stage"] is not None and values["stage"].section_id != section.pk
            ):
                values["stage"] = _first_stage(section)
            if (
                values.get("category") is not None and values["category"].section_id != section.pk
            ) or ("category" not in values and case.category_id):
                values["category"] = None
    old_partner_id = case.partner_id
    changed = _clean_values(case, values)
    rows = _changes_list(changed, case)
    if {"amount", "currency"} & set(changed) and case.approval in {
        Case.Approval.REQUESTED,
        Case.Approval.APPROVED,
    }:
        # What was approved (or is being looked at) is no longer what is claimed.
        rows.append(_change("Approval", case.get_approval_display(), "Not submitted"))
        case.approval = Case.Approval.NONE
        case.approved_by = None
        case.approved_at = None
    if attendees is not None:
        old = set(case.attendees.values_list("pk", flat=True))
        new = {p.pk for p in attendees}
        if old != new:
            case.attendees.set(attendees)
            rows.append(_change("Attendees", f"{len(old)} people", ", ".join(map(str, attendees))))
    if attendee_users is not None:
        old = set(case.attendee_users.values_list("pk", flat=True))
        new = {u.pk for u in attendee_users}
        if old != new:
            case.attendee_users.set(attendee_users)
            rows.append(
                _change(
                    "Staff attending",
                    f"{len(old)} people",
                    ", ".join(u.display_name for u in attendee_users),
                )
            )
    if not rows:
        return case
    _refresh_search_text(case)
    case.updated_at = timezone.now()
    case.save()
    if case.partner_id != old_partner_id:
        # The case's whole history follows it to the new partner's page.
        TimelineEntry.objects.filter(
            subject_type=ContentType.objects.get_for_model(Case), subject_id=case.pk
        ).update(partner=case.partner_id)
    _entry(case, kind=TimelineEntry.Kind.FIELD_CHANGE, by=by, action="updated", changes=rows)
    events.emit(
        "case.updated",
        case_id=case.pk,
        by_id=getattr(by, "pk", None),
        fields=sorted(changed),
        changes=rows,
    )
    if "responsible" in changed:
        events.emit(
            "case.assigned",
            case_id=case.pk,
            by_id=getattr(by, "pk", None),
            responsible_id=case.responsible_id,
        )
    return case


#: The fields :func:`cases_set` changes on many cases at once.
BULK_FIELDS = ("priority", "responsible", "stage", "category")


def _bulk_value_check(field_name: str, value: Any) -> None:
    if field_name not in BULK_FIELDS:
        raise ValidationError(f"{field_name} cannot be set on many cases at once.")
    if field_name == "priority" and value not in Priority.values:
        raise ValidationError({"priority": "The priority must be 1 to 5."})
    if field_name == "responsible":
        _check_staff(value, "responsible")


@transaction.atomic
def cases_set(
    *, case_ids: Sequence[int], by: User | None, field: str, value: Any
) -> tuple[list[int], dict[int, str]]:
    """Set *field* (one of :data:`BULK_FIELDS`) to *value* on many cases in a
    few statements, as :func:`case_update` would one case at a time: the same
    checks, an "old → new" timeline entry on each case that changed, and its
    ``case.updated`` (and ``case.assigned``) events. What a time rule does to a
    batch of due cases.

    Returns the ids of the cases that changed and, by case id, why a case was
    left alone; a value that is wrong for every case raises ValidationError."""
    _bulk_value_check(field, value)
    attname = cast(models.Field, Case._meta.get_field(field)).attname
    new_id = value.pk if isinstance(value, models.Model) else value
    query = (
        Case.objects.filter(pk__in=list(case_ids))
        .only("id", "number", "partner", "section", "merged_into", "final", field)
        .order_by("pk")
    )
    if field != "priority":
        query = query.select_related(field)
    if connection.features.has_select_for_update_of:
        query = query.select_for_update(of=("self",))
    refused: dict[int, str] = {}
    changed: list[Case] = []
    for case in query:
        try:
            _check_writable(case)
        except ValidationError as exc:
            refused[case.pk] = " ".join(exc.messages)
            continue
        if (
            field in ("stage", "category")
            and value is not None
            and value.section_id != case.section_id
        ):
            refused[case.pk] = (
                f"The {field} {value} belongs to another section than case {case.reference}."
            )
            continue
        if getattr(case, attname) != new_id:
            changed.append(case)
    if not changed:
        return [], refused
    now = timezone.now()
    ids = [case.pk for case in changed]
    Case.objects.filter(pk__in=ids).update(**{field: value, "updated_at": now})
    label, shown = _label(field), _display(field, value)
    entries = []
    for case in changed:
        old = getattr(case, field)
        rows = [_change(label, _display(field, old), shown)]
        entry = timeline_build(
            subject=case,
            partner=None,
            kind=TimelineEntry.Kind.FIELD_CHANGE,
            author=by,
            action="updated",
            changes=rows,
        )
        entry.partner_id = case.partner_id
        entries.append(entry)
        events.emit(
            "case.updated",
            case_id=case.pk,
            by_id=getattr(by, "pk", None),
            fields=[field],
            changes=rows,
        )
        if field == "responsible":
            events.emit(
                "case.assigned",
                case_id=case.pk,
                by_id=getattr(by, "pk", None),
                responsible_id=new_id,
            )
    TimelineEntry.objects.bulk_create(entries)
    return ids, refused


def case_assign(*, case: Case, by: User | None, responsible: User | None) -> Case:
    return case_update(case=case, by=by, values={"responsible": responsible})


def case_set_stage(*, case: Case, by: User | None, stage: Stage) -> Case:
    """Move a case to another stage of its section (the kanban's drag and drop)."""
    if stage.section_id != case.section_id:
        raise ValidationError(
            {"stage": f"The stage {stage} belongs to another section than case {case.reference}."}
        )
    return case_update(case=case, by=by, values={"stage": stage})


def case_set_priority(*, case: Case, by: User | None, priority: int) -> Case:
    return case_update(case=case, by=by, values={"priority": priority})


def case_reschedule(
    *, case: Case, by: User | None, start: datetime, end: datetime | None = None
) -> Case:
    """Move a meeting, call or service visit; without *end*, the duration is kept."""
    if not case.case_type.is_scheduled:
        raise ValidationError(f"A {case.case_type} has no schedule to move.")
    if end is None:
        length = (
            case.scheduled_end - case.scheduled_start
            if case.scheduled_start and case.scheduled_end
            else timedelta(hours=1)
        )
        end = start + length
    return case_update(case=case, by=by, values={"scheduled_start": start, "scheduled_end": end})


# --------------------------------------------------------------------------
# States


def _transition(case: Case, *, by: User | None, action: str, note: str | None = None) -> Case:
    allowed_from, target = TRANSITIONS[action]
    _check_writable(case)
    if case.state not in allowed_from:
        raise ValidationError(
            f"Case {case.reference} is {case.get_state_display().lower()}; "
            f"it cannot be {_ACTION_PAST[action]} from there."
        )
    old_state = case.state
    now = timezone.now()
    rows = [_change("State", case.get_state_display(), CaseState(target).label)]
    fields = ["state"]
    case.state = target
    if action == "open":
        if case.opened_at is None:
            case.opened_at = now
            fields.append("opened_at")
        if case.closed_at is not None:
            case.closed_at = None
            fields.append("closed_at")
        if case.responsible_id is None and by is not None and can_use_staff_ui(by):
            case.responsible = by
            fields.append("responsible")
            rows.append(_change("Responsible", "", by.display_name))
    elif action in {"close", "cancel"}:
        case.closed_at = now
        fields.append("closed_at")
        if action == "close" and case.case_type.final_close:
            case.final = True
            fields.append("final")
    elif action == "reset":
        case.closed_at = None
        fields.append("closed_at")
    _touch(case, *fields)
    _entry(
        case,
        kind=TimelineEntry.Kind.STATE_CHANGE,
        by=by,
        action=action,
        body=(note or "").strip(),
        changes=rows,
    )
    events.emit(
        "case.state_changed",
        case_id=case.pk,
        by_id=getattr(by, "pk", None),
        action=action,
        old=old_state,
        new=target,
    )
    if "responsible" in fields:
        events.emit(
            "case.assigned",
            case_id=case.pk,
            by_id=getattr(by, "pk", None),
            responsible_id=case.responsible_id,
        )
    return case


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("case_type", "section", "partner")
        .get(pk=case.pk)
    )


@transaction.atomic
def case_open(*, case: Case, by: User | None) -> Case:
    return _transition(_locked(case), by=by, action="open")


@transaction.atomic
def case_pending(*, case: Case, by: User | None, note: str | None = None) -> Case:
    return _transition(_locked(case), by=by, action="pending", note=note)


@transaction.atomic
def case_close(*, case: Case, by: User | None, note: str | None = None) -> Case:
    return _transition(_locked(case), by=by, action="close", note=note)


@transaction.atomic
def case_cancel(*, case: Case, by: User | None, note: str | None = None) -> Case:
    return _transition(_locked(case), by=by, action="cancel", note=note)


@transaction.atomic
def case_reset(*, case: Case, by: User | None) -> Case:
    return _transition(_locked(case), by=by, action="reset")


STATE_SERVICES = {
    "open": case_open,
    "pending": case_pending,
    "close": case_close,
    "cancel": case_cancel,
    "reset": case_reset,
}


def case_state_actions(case: Case) -> list[str]:
    """The state actions that apply to *case* now, in button order."""
    if case.final or case.merged_into_id:
        return []
    return [action for action, (allowed, _) in TRANSITIONS.items() if case.state in allowed]


def case_set_state(*, case: Case, by: User | None, action: str, note: str | None = None) -> Case:
    """Apply the state *action* ("open", "pending", "close", "cancel", "reset")."""
    if action == "open":
        return case_open(case=case, by=by)
    if action == "reset":
        return case_reset(case=case, by=by)
    if action == "pending":
        return case_pending(case=case, by=by, note=note)
    if action == "close":
        return case_close(case=case, by=by, note=note)
    if action == "cancel":
        return case_cancel(case=case, by=by, note=note)
    raise ValidationError(f"Unknown state action {action!r}.")


@transaction.atomic
def case_escalate(*, case: Case, by: User | None, note: str | None = None) -> Case:
    """Hand the case up to the parent section and that section's responsible user."""
    case = _locked(case)
    _check_writable(case)
    if case.is_closed:
        raise ValidationError(f"Case {case.reference} is closed; reopen it before escalating.")
    section = case.section
    if section.parent_id is None:
        raise ValidationError(
            f"{section} is at the top of the escalation chain: it has no parent section."
        )
    parent = Section.objects.select_related("responsible").get(pk=section.parent_id)
    if not parent.active:
        raise ValidationError(f"{section} escalates to {parent}, which is archived.")
    rows = [_change("Section", str(section), str(parent))]
    old_responsible = case.responsible
    case.section = parent
    heir = parent.responsible
    if heir is not None and heir.is_active and can_use_staff_ui(heir):
        case.responsible = heir
    if case.responsible != old_responsible:
        rows.append(
            _change(
                "Responsible",
                _display("responsible", old_responsible),
                _display("responsible", case.responsible),
            )
        )
    case.stage = _first_stage(parent)
    case.category = None
    _touch(case, "section", "responsible", "stage", "category")
    _entry(
        case,
        kind=TimelineEntry.Kind.STATE_CHANGE,
        by=by,
        action="escalated",
        body=(note or "").strip(),
        changes=rows,
    )
    payload = {"case_id": case.pk, "by_id": getattr(by, "pk", None)}
    events.emit("case.escalated", **payload, from_section_id=section.pk, to_section_id=parent.pk)
    events.emit("case.state_changed", **payload, action="escalated", old=case.state, new=case.state)
    if case.responsible != old_responsible:
        events.emit("case.assigned", **payload, responsible_id=case.responsible_id)
    return case


# --------------------------------------------------------------------------
# Merge and split


def _case_ct() -> ContentType:
    return ContentType.objects.get_for_model(Case)


@transaction.atomic
def case_merge(*, keep: Case, drop: Case, by: User | None) -> Case:
    """Fold *drop* into *keep*: its timeline, watchers, links, attachments and
    outbox move over; *drop* is cancelled and points to *keep*."""
    if keep.pk == drop.pk:
        raise ValidationError("Pick two different cases to merge.")
    first, second = sorted([keep.pk, drop.pk])
    locked = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[first, second])}
    keep, drop = locked[keep.pk], locked[drop.pk]
    _check_writable(keep)
    _check_writable(drop)
    if drop.section_id != keep.section_id:
        private = Section.objects.filter(
            pk=drop.section_id, visibility=Section.Visibility.MEMBERS
        ).first()
        if private is not None:
            raise ValidationError(
                f"{drop.reference} is in the members-only section {private}; merging it into "
                f"a case of another section would show its history to people outside it. "
                f"Move one of the cases first."
            )
    ct = _case_ct()
    # Links that other cases hold to the dropped case now point to the survivor.
    pointing = CaseLink.objects.filter(target_type=ct, target_id=drop.pk).exclude(case=keep)
    already = set(
        CaseLink.objects.filter(target_type=ct, target_id=keep.pk).values_list("case_id", flat=True)
    )
    pointing.exclude(case_id__in=already).update(target_id=keep.pk)
    moved = TimelineEntry.objects.filter(subject_type=ct, subject_id=drop.pk).update(
        subject_id=keep.pk, partner=keep.partner_id
    )
    existing_users = set(keep.watchers.exclude(user=None).values_list("user_id", flat=True))
    existing_emails = set(keep.watchers.exclude(email="").values_list("email", flat=True))
    # Watchers and links move in one statement each; ones keep already has stay behind.
    drop.watchers.exclude(user_id__in=existing_users).exclude(email__in=existing_emails).update(
        case=keep
    )
    for person in filter(None, [drop.responsible]):
        if person.pk not in existing_users and person.pk != keep.responsible_id:
            Watcher.objects.get_or_create(case=keep, user=person)
    if drop.requester_email and drop.requester_email != keep.requester_email:
        Watcher.objects.get_or_create(case=keep, email=drop.requester_email)
    duplicate = Q(pk__in=[])
    for target_type_id, target_id in keep.links.values_list("target_type_id", "target_id"):
        duplicate |= Q(target_type_id=target_type_id, target_id=target_id)
    drop.links.exclude(duplicate).exclude(target_type=ct, target_id=keep.pk).update(case=keep)
    Attachment.objects.filter(case=drop).update(case=keep)
    OutboundMessage.objects.filter(case=drop).update(case=keep)
    CaseLink.objects.get_or_create(case=keep, target_type=ct, target_id=drop.pk)
    keep.message_count += drop.message_count
    keep.updated_at = timezone.now()
    keep.save(update_fields=["message_count", "updated_at"])
    old_state = drop.state
    now = timezone.now()
    Case.objects.filter(pk=drop.pk).update(
        merged_into=keep,
        state=CaseState.CANCEL,
        closed_at=drop.closed_at or now,
        message_count=0,
        updated_at=now,
    )
    drop.refresh_from_db()
    _entry(
        keep,
        kind=TimelineEntry.Kind.SYSTEM,
        by=by,
        action="merged",
        body=f"{drop.reference} ({drop.subject}) was merged into this case; "
        f"{moved} timeline entries moved over.",
    )
    _entry(
        drop,
        kind=TimelineEntry.Kind.STATE_CHANGE,
        by=by,
        action="merged",
        body=f"Merged into {keep.reference}.",
        changes=[_change("State", CaseState(old_state).label, CaseState.CANCEL.label)],
    )
    payload = {"by_id": getattr(by, "pk", None)}
    events.emit("case.merged", case_id=keep.pk, merged_id=drop.pk, **payload)
    if old_state != CaseState.CANCEL:
        events.emit(
            "case.state_changed",
            case_id=drop.pk,
            action="merged",
            old=old_state,
            new=CaseState.CANCEL,
            **payload,
        )
    return keep


@transaction.atomic
def case_split(
    *, entry: TimelineEntry, by: User | None, subject: str = "", section: Section | None = None
) -> Case:
    """Move one timeline entry (with its attachments) into a new case.

    The new case takes the original's type, section, partner, contact and
    requester, and is related to it; both timelines say what happened.
    """
    ct = _case_ct()
    if entry.subject_type_id != ct.pk:
        raise ValidationError("Only entries of a case can be split off into a new case.")
    original = Case.objects.select_for_update().get(pk=entry.subject_id)
    _check_writable(original)
    if entry.kind not in {
        TimelineEntry.Kind.NOTE,
        TimelineEntry.Kind.EMAIL_IN,
        TimelineEntry.Kind.EMAIL_OUT,
    }:
        raise ValidationError("Only notes and messages can be split off into a new case.")
    title = (subject or "").strip() or entry_subject_line(entry.body) or original.subject
    new = case_create(
        by=by,
        values={
            "subject": title[:250],
            "description": entry.body,
            "case_type": original.case_type,
            "section": section or original.section,
            "priority": original.priority,
            "partner": original.partner,
            "contact": original.contact,
            "requester_email": original.requester_email,
            "channel": original.channel,
            "related": original,
        },
    )
    TimelineEntry.objects.filter(pk=entry.pk).update(subject_id=new.pk, partner=new.partner_id)
    Attachment.objects.filter(entry=entry).update(case=new)
    OutboundMessage.objects.filter(entry=entry).update(case=new)
    if _counts_as_message(entry.kind):
        Case.objects.filter(pk=original.pk, message_count__gt=0).update(
            message_count=F("message_count") - 1
        )
        Case.objects.filter(pk=new.pk).update(message_count=F("message_count") + 1)
    _entry(
        original,
        kind=TimelineEntry.Kind.SYSTEM,
        by=by,
        action="split",
        body=f"An entry was split off into {new.reference}: {new.subject}",
    )
    _entry(
        new,
        kind=TimelineEntry.Kind.SYSTEM,
        by=by,
        action="split",
        body=f"Split off from {original.reference}: {original.subject}",
    )
    events.emit(
        "case.split", case_id=original.pk, new_case_id=new.pk, by_id=getattr(by, "pk", None)
    )
    new.refresh_from_db()
    return new


def entry_subject_line(body: str) -> str:
    for line in (body or "").splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def _counts_as_message(kind: str) -> bool:
    return kind in {
        TimelineEntry.Kind.NOTE,
        TimelineEntry.Kind.EMAIL_IN,
        TimelineEntry.Kind.EMAIL_OUT,
    }


# --------------------------------------------------------------------------
# Watchers


def _watcher_add(case: Case, *, user: User | None, email: str) -> Watcher | None:
    if user is not None:
        watcher, created = Watcher.objects.get_or_create(case=case, user=user)
    else:
        watcher, created = Watcher.objects.get_or_create(case=case, email=email)
    return watcher if created else None


def watcher_entry_build(case: Case, *, by: User | None, label: str) -> TimelineEntry:
    """The unsaved timeline entry that says *label* now watches *case*."""
    return timeline_build(
        subject=case,
        partner=case.partner,
        kind=TimelineEntry.Kind.FIELD_CHANGE,
        author=by,
        action="watcher_added",
        changes=[_change("Watchers", "", f"+ {label}")],
    )


@transaction.atomic
def watcher_add(
    *, case: Case, by: User | None, user: User | None = None, email: str = ""
) -> Watcher:
    """Add a user, or a free email address (Cc), to the case's watchers."""
    case = _locked(case)
    _check_writable(case)
    if (user is None) == (not (email or "").strip()):
        raise ValidationError("Give either a user or an email address to add as a watcher.")
    if user is not None:
        _check_staff(user, "user")
        label = user.display_name
        address = ""
    else:
        try:
            address = email_normalise(email)
        except ValidationError as exc:
            raise ValidationError({"email": exc.messages}) from None
        label = address
    watcher = _watcher_add(case, user=user, email=address)
    if watcher is None:
        raise ValidationError(f"{label} already watches {case.reference}.")
    watcher_entry_build(case, by=by, label=label).save(force_insert=True)
    events.emit(
        "case.watcher_added", case_id=case.pk, watcher_id=watcher.pk, by_id=getattr(by, "pk", None)
    )
    return watcher


@transaction.atomic
def watcher_remove(*, watcher: Watcher, by: User | None) -> None:
    case = _locked(watcher.case)
    _check_writable(case)
    label = str(watcher)
    watcher.delete()
    _entry(
        case,
        kind=TimelineEntry.Kind.FIELD_CHANGE,
        by=by,
        action="watcher_removed",
        changes=[_change("Watchers", label, "(removed)")],
    )
    events.emit("case.watcher_removed", case_id=case.pk, by_id=getattr(by, "pk", None))


# --------------------------------------------------------------------------
# Notes, replies and attachments


def _attachment_limit() -> int:
    return int(settings.CASE_ATTACHMENT_MAX_MB) * 1024 * 1024


def _check_files(files: Sequence[File]) -> None:
    limit = _attachment_limit()
    for upload in files:
        size = upload.size or 0
        if size > limit:
            raise ValidationError(
                {
                    "files": f"{upload.name} is {size / 1024 / 1024:.1f} MB; files can be at most "
                    f"{settings.CASE_ATTACHMENT_MAX_MB} MB."
                }
            )


def case_files_store(
    case: Case, files: Sequence[File], *, entry: TimelineEntry | None
) -> list[Attachment]:
    """Store received files on *case* (checked by the caller), under *entry*."""
    return _store_files(case, files, by=None, entry=entry)


def _store_files(
    case: Case, files: Sequence[File], *, by: User | None, entry: TimelineEntry | None
) -> list[Attachment]:
    stored = []
    for upload in files:
        name = (upload.name or "file").rsplit("/", 1)[-1].replace("\x00", "")[:200] or "file"
        content_type = getattr(upload, "content_type", "") or (
            mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        attachment = Attachment(
            case=case,
            entry=entry,
            name=name,
            size=upload.size or 0,
            content_type=content_type[:100],
            uploaded_by=by,
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        stored.append(attachment)
    return stored


@transaction.atomic
def case_attach(
    *, case: Case, by: User | None, files: Sequence[File], note: str = ""
) -> list[Attachment]:
    """Attach files to the case (through Django's storage API), with a timeline entry."""
    case = _locked(case)
    _check_writable(case)
    if not files:
        raise ValidationError({"files": "Choose at least one file."})
    _check_files(files)
    names = ", ".join((f.name or "file").rsplit("/", 1)[-1] for f in files)
    entry = _entry(
        case,
        kind=TimelineEntry.Kind.SYSTEM,
        by=by,
        action="attached",
        body=(note or "").strip() or f"Attached {names}",
    )
    stored = _store_files(case, files, by=by, entry=entry)
    _touch(case)
    events.emit(
        "case.attached",
        case_id=case.pk,
        attachment_ids=[a.pk for a in stored],
        by_id=getattr(by, "pk", None),
    )
    return stored


@transaction.atomic
def case_note_add(
    *, case: Case, by: User | None, body: str, files: Sequence[File] = ()
) -> TimelineEntry:
    """An internal note: it never leaves the staff interface."""
    case = _locked(case)
    _check_writable(case)
    text = _clean_body(body, what="note")
    _check_files(files)
    entry = _entry(
        case,
        kind=TimelineEntry.Kind.NOTE,
        by=by,
        action="note",
        body=text,
        visibility=TimelineEntry.Visibility.INTERNAL,
    )
    _store_files(case, files, by=by, entry=entry)
    case.message_count += 1
    _touch(case, "message_count")
    events.emit(
        "case.note_added", case_id=case.pk, entry_id=entry.pk, by_id=getattr(by, "pk", None)
    )
    return entry


def case_subject_tag(case: Case) -> str:
    return f"[{settings.CASE_TAG_PREFIX}{case.number}]"


def _message_id(case: Case) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<gw.c{case.number}.{secrets.token_hex(8)}@{domain}>"


def _reply_addresses(case: Case) -> tuple[str, str]:
    """(From, Reply-To): the section's address, plus-addressed with the case number."""
    section_email = case.section.email
    if not section_email:
        return settings.DEFAULT_FROM_EMAIL, ""
    local, _, domain = section_email.partition("@")
    reply_to = f"{local}+c{case.number}@{domain}"
    return f"{case.section.name} <{section_email}>", reply_to


def _clean_addresses(raw: Iterable[str], what: str) -> list[str]:
    """Each entry ("Pat <pat@x.example>", or several separated by commas) parsed
    and validated; an entry that holds no readable address is an error, never
    silently dropped."""
    found: list[str] = []
    for entry in raw:
        text = (entry or "").strip()
        if not text:
            continue
        addresses = [address for _name, address in getaddresses([text]) if address]
        if not addresses:
            raise ValidationError({what: f"{text} is not a valid email address."})
        for address in addresses:
            try:
                normalised = email_normalise(address)
            except ValidationError as exc:
                raise ValidationError({what: exc.messages}) from None
            if normalised not in found:
                found.append(normalised)
    return found


# Where else a case's thread comes from: the email gateway adds the Message-IDs
# it received, as (received at, Message-ID) pairs, newest first, at most *limit*.
CUSTOMER_KINDS = (
    OutboundMessage.Kind.REPLY,
    OutboundMessage.Kind.ACK,
    OutboundMessage.Kind.RELAY,
    OutboundMessage.Kind.AUTO,
)
THREAD_SOURCES: list[Callable[[Case, int], list[tuple[datetime, str]]]] = []


def _queue_outbound(
    case: Case,
    *,
    kind: str,
    entry: TimelineEntry | None,
    by: User | None,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    body: str,
    in_reply_to: str = "",
) -> OutboundMessage:
    """One row in the outbox, threaded after what the case sent before (or
    under *in_reply_to*, a message it received)."""
    # The latest 20 of the thread, sent and received, oldest first: In-Reply-To
    # is the newest of them.
    # Only what the customer saw: notifications and error reports go to staff.
    thread = list(
        OutboundMessage.objects.filter(case=case, kind__in=CUSTOMER_KINDS)
        .order_by("-created_at", "-id")
        .values_list("created_at", "message_id")[:20]
    )
    for source in THREAD_SOURCES:
        thread.extend(source(case, 20))
    thread.sort(key=lambda row: row[0])
    previous = list(dict.fromkeys(message_id for _at, message_id in thread[-20:]))
    message = outbound_build(
        case,
        kind=kind,
        entry=entry,
        by=by,
        to=to,
        cc=cc,
        subject=subject,
        body=body,
        previous=previous,
        in_reply_to=in_reply_to,
    )
    message.save(force_insert=True)
    return message


def outbound_build(
    case: Case,
    *,
    kind: str,
    entry: TimelineEntry | None,
    by: User | None,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    body: str,
    previous: Sequence[str],
    in_reply_to: str = "",
) -> OutboundMessage:
    """An unsaved outbox row threaded after *previous* (the thread's Message-IDs,
    oldest first), or under *in_reply_to* when given."""
    previous = list(previous)
    if in_reply_to:
        previous = [*[r for r in previous if r != in_reply_to], in_reply_to]
    from_email, reply_to = _reply_addresses(case)
    tag = case_subject_tag(case)
    return OutboundMessage(
        case=case,
        entry=entry,
        kind=kind,
        message_id=_message_id(case),
        in_reply_to=previous[-1] if previous else "",
        references=" ".join(previous),
        from_email=from_email,
        reply_to=reply_to,
        to=list(to),
        cc=list(cc),
        subject=(subject if tag in subject else f"{tag} {subject}")[:300],
        body_text=body,
        created_by=by,
    )


# Filters on the recipients of automatic mail that other apps add (the email
# gateway drops bouncing addresses and those over their hourly share).
AUTO_MAIL_FILTERS: list[Callable[[list[str], str], list[str]]] = []


def auto_mail_recipients(to: Sequence[str], *, kind: str) -> list[str]:
    """Those of *to* that may get an automatic message of *kind* now."""
    recipients = list(dict.fromkeys(a.lower() for a in to if a))
    for keep in AUTO_MAIL_FILTERS:
        recipients = keep(recipients, kind)
    return recipients


def case_mail_queue(
    *,
    case: Case,
    kind: str,
    to: Sequence[str],
    subject: str,
    body: str,
    cc: Sequence[str] = (),
    by: User | None = None,
    in_reply_to: str = "",
    body_html: str = "",
    attachments: Sequence[Attachment] = (),
) -> OutboundMessage:
    """Queue an automatic message about *case* (acknowledgement, notification,
    relay, error report). It is not a reply, so it writes no timeline entry and
    does not count as a message; *in_reply_to* threads it under a received one."""
    message = _queue_outbound(
        case,
        kind=kind,
        entry=None,
        by=by,
        to=to,
        cc=cc,
        subject=subject,
        body=body,
        in_reply_to=in_reply_to,
    )
    if body_html:
        message.body_html = body_html
        message.save(update_fields=["body_html"])
    if attachments:
        message.attachments.set(attachments)
    events.emit(
        "message.queued",
        case_id=case.pk,
        message_id=message.pk,
        entry_id=None,
        by_id=getattr(by, "pk", None),
    )
    return message


def email_in_entry_build(
    case: Case, *, author: User | None, sender: str, body: str
) -> TimelineEntry:
    """The unsaved public timeline entry of a message received on *case*."""
    text = (body or "").replace("\x00", "").strip()[:BODY_MAX_LENGTH] or "(no text)"
    return timeline_build(
        subject=case,
        partner=case.partner,
        kind=TimelineEntry.Kind.EMAIL_IN,
        author=author,
        body=f"From {sender}\n\n{text}" if author is None else text,
        action="email_in",
        visibility=TimelineEntry.Visibility.PUBLIC,
    )


@transaction.atomic
def case_email_in(
    *,
    case: Case,
    author: User | None,
    sender: str,
    body: str,
    files: Sequence[File] = (),
    reopen: bool = True,
) -> TimelineEntry:
    """A message received by email, on the case's public timeline.

    A customer's message (*author* None, or not staff) reopens a pending or
    closed case; a final-closed case refuses it (the gateway opens a new one).
    """
    case = _locked(case)
    _check_writable(case)
    entry = email_in_entry_build(case, author=author, sender=sender, body=body)
    entry.save(force_insert=True)
    _store_files(case, files, by=author, entry=entry)
    case.message_count += 1
    _touch(case, "message_count")
    if reopen and case.state in {CaseState.PENDING, CaseState.DONE, CaseState.CANCEL}:
        _transition(case, by=None, action="open", note="Reopened by an email from " + sender)
    events.emit(
        "message.received",
        case_id=case.pk,
        entry_id=entry.pk,
        by_id=getattr(author, "pk", None),
        sender=sender,
    )
    return entry


@transaction.atomic
def case_reply(
    *,
    case: Case,
    by: User | None,
    body: str,
    files: Sequence[File] = (),
    to: Sequence[str] = (),
    cc: Sequence[str] | None = None,
) -> OutboundMessage:
    """A public reply to the requester, queued in the outbox for the email gateway.

    Goes to the requester (or *to*), with the email watchers in Cc unless *cc*
    is given. The subject carries the case tag; the Message-ID and references
    let the gateway thread the answer back onto this case.
    """
    case = _locked(case)
    _check_writable(case)
    text = _clean_body(body, what="reply")
    _check_files(files)
    recipients = _clean_addresses(to or [case.requester_email], "to")
    if not recipients:
        raise ValidationError(
            {"to": "This case has no requester email; add one (or a contact) before replying."}
        )
    if cc is None:
        cc_list = [w.email for w in case.watchers.exclude(email="") if w.email not in recipients]
    else:
        cc_list = [a for a in _clean_addresses(cc, "cc") if a not in recipients]
    entry = _entry(
        case,
        kind=TimelineEntry.Kind.EMAIL_OUT,
        by=by,
        action="reply",
        body=text,
        visibility=TimelineEntry.Visibility.PUBLIC,
    )
    _store_files(case, files, by=by, entry=entry)
    message = _queue_outbound(
        case,
        kind=OutboundMessage.Kind.REPLY,
        entry=entry,
        by=by,
        to=recipients,
        cc=cc_list,
        subject=case.subject,
        body=text,
    )
    case.message_count += 1
    _touch(case, "message_count")
    events.emit(
        "message.queued",
        case_id=case.pk,
        message_id=message.pk,
        entry_id=entry.pk,
        by_id=getattr(by, "pk", None),
    )
    return message


# --------------------------------------------------------------------------
# Links


def link_target_label(target: models.Model, *, seen_from: Case | None = None) -> str:
    """How a link's target is named. Seen from another case's timeline, a case of
    a members-only section stays anonymous: that timeline may have other readers."""
    if isinstance(target, Case):
        if (
            seen_from is not None
            and target.section_id != seen_from.section_id
            and Section.objects.filter(
                pk=target.section_id, visibility=Section.Visibility.MEMBERS
            ).exists()
        ):
            return "a case in a members-only section"
        return f"{target.reference} {target.subject}"
    return str(target)


@transaction.atomic
def case_link_add(*, case: Case, by: User | None, target: models.Model) -> CaseLink:
    """Link the case to any record: a partner, another case, later an order."""
    case = _locked(case)
    _check_writable(case)
    if isinstance(target, Case) and target.pk == case.pk:
        raise ValidationError("A case cannot be linked to itself.")
    target_type = ContentType.objects.get_for_model(target)
    link, created = CaseLink.objects.get_or_create(
        case=case, target_type=target_type, target_id=target.pk, defaults={"created_by": by}
    )
    if not created:
        raise ValidationError(f"{case.reference} is already linked to {link_target_label(target)}.")
    _entry(
        case,
        kind=TimelineEntry.Kind.FIELD_CHANGE,
        by=by,
        action="linked",
        changes=[_change("Links", "", f"+ {link_target_label(target, seen_from=case)}")],
    )
    events.emit("case.linked", case_id=case.pk, link_id=link.pk, by_id=getattr(by, "pk", None))
    return link


@transaction.atomic
def case_link_remove(*, link: CaseLink, by: User | None) -> None:
    case = _locked(link.case)
    _check_writable(case)
    model = link.target_type.model_class()
    target = model._default_manager.filter(pk=link.target_id).first() if model else None
    label = (
        link_target_label(target, seen_from=case)
        if target is not None
        else f"record {link.target_id}"
    )
    link.delete()
    _entry(
        case,
        kind=TimelineEntry.Kind.FIELD_CHANGE,
        by=by,
        action="unlinked",
        changes=[_change("Links", label, "(removed)")],
    )


# --------------------------------------------------------------------------
# Expense claims


@transaction.atomic
def case_expense_submit(*, case: Case, by: User | None) -> Case:
    """Ask the section's responsible user to approve an expense claim."""
    case = _locked(case)
    _check_writable(case)
    if not case.case_type.has(CaseType.FieldGroup.EXPENSE):
        raise ValidationError(f"A {case.case_type} has no expense to approve.")
    if case.amount is None or case.amount <= 0:
        raise ValidationError({"amount": "Enter the amount before submitting the claim."})
    if not case.currency:
        raise ValidationError({"currency": "Choose the currency before submitting the claim."})
    if case.approval == Case.Approval.REQUESTED:
        raise ValidationError("This claim is already awaiting approval.")
    if case.approval == Case.Approval.APPROVED:
        raise ValidationError("This claim is already approved.")
    if case.section.responsible_id is None:
        raise ValidationError(
            f"The section {case.section} has no responsible user to approve expense claims."
        )
    old = case.get_approval_display()
    case.approval = Case.Approval.REQUESTED
    case.approved_by = None
    case.approved_at = None
    _touch(case, "approval", "approved_by", "approved_at")
    _entry(
        case,
        kind=TimelineEntry.Kind.STATE_CHANGE,
        by=by,
        action="expense_submitted",
        changes=[_change("Approval", old, case.get_approval_display())],
    )
    events.emit(
        "case.expense_submitted",
        case_id=case.pk,
        by_id=getattr(by, "pk", None),
        approver_id=case.section.responsible_id,
    )
    return case


def can_approve_expense(case: Case, user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and (user.pk == case.section.responsible_id or is_administrator(user))
    )


@transaction.atomic
def case_expense_decide(*, case: Case, by: User, approve: bool, reason: str = "") -> Case:
    """The section's responsible user approves or rejects a submitted claim."""
    case = _locked(case)
    _check_writable(case)
    if case.approval != Case.Approval.REQUESTED:
        raise ValidationError("Only a claim awaiting approval can be approved or rejected.")
    if not can_approve_expense(case, by):
        raise ValidationError(
            f"Only {case.section.responsible or 'the section responsible'} "
            "can decide on this claim."
        )
    if not approve and not (reason or "").strip():
        raise ValidationError({"reason": "Say why the claim is rejected."})
    old = case.get_approval_display()
    case.approval = Case.Approval.APPROVED if approve else Case.Approval.REJECTED
    case.approved_by = by
    case.approved_at = timezone.now()
    _touch(case, "approval", "approved_by", "approved_at")
    _entry(
        case,
        kind=TimelineEntry.Kind.STATE_CHANGE,
        by=by,
        action="expense_approved" if approve else "expense_rejected",
        body=(reason or "").strip(),
        changes=[_change("Approval", old, case.get_approval_display())],
    )
    events.emit("case.expense_decided", case_id=case.pk, by_id=by.pk, approved=approve)
    return case


# --------------------------------------------------------------------------
# Bulk


@dataclass
class BulkResult:
    done: int = 0
    errors: list[str] = field(default_factory=list)


def _bulk(cases: Sequence[Case], apply: Any) -> BulkResult:
    if len(cases) > BULK_MAX:
        raise ValidationError(f"Select at most {BULK_MAX} cases at a time.")
    result = BulkResult()
    for case in cases:
        try:
            apply(case)
        except ValidationError as exc:
            result.errors.append(f"{case.reference}: {' '.join(exc.messages)}")
        else:
            result.done += 1
    return result


def cases_assign(*, cases: Sequence[Case], by: User | None, responsible: User | None) -> BulkResult:
    """Assign each case; cases that cannot change are reported, not fatal."""
    _check_staff(responsible, "responsible")
    return _bulk(cases, lambda c: case_assign(case=c, by=by, responsible=responsible))


def cases_set_state(*, cases: Sequence[Case], by: User | None, action: str) -> BulkResult:
    if action not in STATE_SERVICES:
        raise ValidationError(f"Unknown state action {action!r}.")
    return _bulk(cases, lambda c: case_set_state(case=c, by=by, action=action))


def cases_set_priority(*, cases: Sequence[Case], by: User | None, priority: int) -> BulkResult:
    if priority not in {1, 2, 3, 4, 5}:
        raise ValidationError({"priority": "Priorities go from 1 (highest) to 5 (lowest)."})
    return _bulk(cases, lambda c: case_set_priority(case=c, by=by, priority=priority))


@transaction.atomic
def cases_merge(*, cases: Sequence[Case], by: User | None, keep: Case | None = None) -> Case:
    """Merge all *cases* into *keep* (by default the oldest of them)."""
    cases = list({case.pk: case for case in cases}.values())
    if len(cases) < 2:
        raise ValidationError("Select at least two cases to merge.")
    if len(cases) > BULK_MAX:
        raise ValidationError(f"Select at most {BULK_MAX} cases at a time.")
    survivor = keep or min(cases, key=lambda c: c.number)
    for case in cases:
        if case.pk != survivor.pk:
            survivor = case_merge(keep=survivor, drop=case, by=by)
    return survivor


# --------------------------------------------------------------------------
# Saved filters


@transaction.atomic
def saved_filter_save(*, user: User, name: str, query: str) -> SavedFilter:
    label = (name or "").strip()
    if not label:
        raise ValidationError({"name": "Name the filter."})
    if len(label) > 60:
        raise ValidationError({"name": "Use at most 60 characters."})
    query = (query or "").lstrip("?")[:1000]
    saved, _ = SavedFilter.objects.update_or_create(
        user=user, name=label, defaults={"query": query}
    )
    return saved


def saved_filter_delete(*, saved: SavedFilter) -> None:
    saved.delete()


# --------------------------------------------------------------------------
# Partner merge: the dropped partner's cases follow the kept one.


def partner_merge_step(keep: Partner, drop: Partner) -> None:
    Case.objects.filter(contact=drop).update(contact=keep)
    moved = list(
        Case.objects.filter(partner=drop).only("pk", "number", "subject", "requester_email")
    )
    for case in moved:
        case.partner = keep
        _refresh_search_text(case)
    Case.objects.bulk_update(moved, ["partner", "search_text"], batch_size=500)


def cases_search_refresh(*, partner: Partner) -> int:
    """Recompute ``search_text`` of the partner's cases (after a rename)."""
    done = 0
    cases = Case.objects.filter(partner=partner).only("pk", "number", "subject", "requester_email")
    batch: list[Case] = []
    for case in cases.iterator(chunk_size=1000):
        case.partner = partner
        _refresh_search_text(case)
        batch.append(case)
        if len(batch) == 1000:
            done += Case.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        done += Case.objects.bulk_update(batch, ["search_text"])
    return done
