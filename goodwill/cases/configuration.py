"""The case setup: sections, case types, categories and stages.

Managers and administrators change these through the setup pages and the admin;
both call the services here. Each validates its input (raising a field-keyed
``ValidationError`` a person can act on), runs in one transaction and emits a
domain event after commit.

``values`` dictionaries hold only the keys being set: on an update, a key left
out keeps its current value. Related records are passed as model instances or
as their ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.cases.models import CaseCategory, CaseType, Section, Stage
from goodwill.lib import events
from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.ids import is_valid_id

if TYPE_CHECKING:
    from goodwill.accounts.models import User

SECTION_FIELDS = (
    "name",
    "code",
    "parent",
    "responsible",
    "members",
    "email",
    "visibility",
    "active",
    "description",
)
CASE_TYPE_FIELDS = (
    "name",
    "code",
    "field_groups",
    "default_section",
    "billable",
    "final_close",
    "sequence",
    "active",
)
CATEGORY_FIELDS = ("name", "default_probability", "active")
STAGE_FIELDS = ("name", "sequence", "probability", "folded")

DESCRIPTION_MAX_LENGTH = 5_000
SEQUENCE_STEP = 10


class Pipeline(models.TextChoices):
    """The stages a new section starts with."""

    SERVICE = "service", "Service: New, In progress, Waiting, Solved"
    SALES = "sales", "Sales: New, Qualified, Proposition, Negotiation, Won"
    NONE = "none", "None: I will add stages myself"


# name, probability (%), folded on the kanban
DEFAULT_STAGES: dict[str, list[tuple[str, int | None, bool]]] = {
    Pipeline.SERVICE: [
        ("New", None, False),
        ("In progress", None, False),
        ("Waiting", None, False),
        ("Solved", None, True),
    ],
    Pipeline.SALES: [
        ("New", 10, False),
        ("Qualified", 20, False),
        ("Proposition", 50, False),
        ("Negotiation", 75, False),
        ("Won", 100, True),
    ],
    Pipeline.NONE: [],
}

_SECTION_CODE = re.compile(r"[A-Z0-9_-]+")
_CASE_TYPE_CODE = re.compile(r"[a-z0-9_-]+")


# --------------------------------------------------------------------------
# Cleaning helpers shared by the services


def _check_keys(values: dict[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError(f"Unknown {what} fields: {', '.join(sorted(unknown))}.")


def _clean_all(
    values: dict[str, Any], cleaners: dict[str, Callable[[Any], Any]]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Run each value through its cleaner; collect every error, not just the first."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, value in values.items():
        try:
            cleaned[field] = cleaners[field](value)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    return cleaned, errors


def _text(value: Any, *, label: str, max_length: int, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationError(f"Enter a {label}.")
    if len(text) > max_length:
        raise ValidationError(f"Keep the {label} to {max_length} characters (it has {len(text)}).")
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Must be true or false.")
    return value


def _percent(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError("Enter a whole number from 0 to 100.") from None
    if isinstance(value, bool) or not 0 <= number <= 100 or str(number) != str(value).strip():
        raise ValidationError("Enter a whole number from 0 to 100.")
    return number


def _sequence(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError("Enter a whole number (0 or more).") from None
    if isinstance(value, bool) or not 0 <= number <= 2_000_000_000:
        raise ValidationError("Enter a whole number (0 or more).")
    return number


def _description(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            f"Keep the description to {DESCRIPTION_MAX_LENGTH:,} characters (it has {len(text):,})."
        )
    return text


def _instance(value: Any, model: type[models.Model], label: str) -> Any:
    """A model instance from an instance or an id; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        if value.pk is None:
            raise ValidationError(f"Save the {label} first.")
        return value
    if is_valid_id(value):
        found = model._default_manager.filter(pk=int(value)).first()
        if found is not None:
            return found
    raise ValidationError(f"Choose an existing {label}.")


def _staff_user(value: Any, *, role: str) -> Any:
    user = _instance(value, get_user_model(), "user")
    if user is not None and not can_use_staff_ui(user):
        raise ValidationError(
            f"{user.get_full_name() or user.username} cannot use the staff interface "
            f"(inactive, or without a staff role), so cannot be {role}."
        )
    return user


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _changes(instance: models.Model, cleaned: dict[str, Any]) -> list[str]:
    return [
        field
        for field, value in cleaned.items()
        if field != "members" and getattr(instance, field) != value
    ]


# --------------------------------------------------------------------------
# Sections


def section_chain(section: Section) -> list[Section]:
    """*section* and the sections it escalates to, in order (stops at a loop)."""
    chain = [section]
    seen = {section.pk}
    node = section.parent
    while node is not None and node.pk not in seen:
        chain.append(node)
        seen.add(node.pk)
        node = node.parent
    return chain


def _chain_text(sections: Iterable[Section]) -> str:
    return " → ".join(s.code or s.name for s in sections)


def _clean_section_code(value: Any) -> str:
    code = str(value or "").strip().upper()
    if not code:
        raise ValidationError("Enter a code, e.g. SUPPORT.")
    if len(code) > 30:
        raise ValidationError(f"Keep the code to 30 characters (it has {len(code)}).")
    if not _SECTION_CODE.fullmatch(code):
        raise ValidationError(
            "Use only the letters A to Z, digits, '_' and '-' in a code (no spaces or accents)."
        )
    return code


def _clean_section_email(value: Any) -> str:
    text = str(value or "").strip()
    return email_normalise(text) if text else ""


def _clean_members(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("Members are a list of users.")
    users: dict[int, Any] = {}
    for item in value:
        user = _instance(item, get_user_model(), "user")
        if user is not None:
            users[user.pk] = user
    return list(users.values())


def _clean_visibility(value: Any) -> str:
    if value not in Section.Visibility.values:
        raise ValidationError("Choose whole staff or members only.")
    return str(value)


_SECTION_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=100),
    "code": _clean_section_code,
    "parent": lambda v: _instance(v, Section, "section"),
    "responsible": lambda v: _staff_user(v, role="responsible for a section"),
    "members": _clean_members,
    "email": _clean_section_email,
    "visibility": _clean_visibility,
    "active": _bool,
    "description": _description,
}


def section_clean(*, section: Section | None, values: dict[str, Any]) -> dict[str, Any]:
    """Check *values* for *section* (None: a new one) without saving anything.

    Returns the cleaned values; raises a field-keyed ``ValidationError``. The
    admin's form calls this to show the errors next to its fields.
    """
    _check_keys(values, SECTION_FIELDS, "section")
    cleaned, errors = _clean_all(values, _SECTION_CLEANERS)
    if section is None:
        for field in ("name", "code"):
            if field not in values:
                errors.setdefault(field, []).append(f"A section needs a {field}.")

    others = Section.objects.all() if section is None else Section.objects.exclude(pk=section.pk)
    code = cleaned.get("code")
    if code and others.filter(code__iexact=code).exists():
        errors.setdefault("code", []).append(f"Another section already has the code {code}.")
    email = cleaned.get("email")
    if email:
        taken = others.filter(email__iexact=email).first()
        if taken is not None:
            errors.setdefault("email", []).append(
                f"{email} already belongs to the section {taken.name}; "
                "each address leads to one section."
            )
    parent = cleaned.get("parent")
    if parent is not None and section is not None and section.pk is not None:
        if parent.pk == section.pk:
            errors.setdefault("parent", []).append("A section cannot escalate to itself.")
        else:
            chain = section_chain(parent)
            if any(s.pk == section.pk for s in chain):
                loop = chain[: [s.pk for s in chain].index(section.pk) + 1]
                errors.setdefault("parent", []).append(
                    f"{section.code} cannot escalate to {parent.code}: {parent.code} already "
                    f"escalates to {section.code} ({_chain_text(loop)}), "
                    "which would make a loop."
                )
    if "members" in cleaned:
        current = set(section.members.values_list("pk", flat=True)) if section else set()
        for user in cleaned["members"]:
            # Members kept from before are not checked again: a deactivated
            # user stays listed until someone removes them.
            if user.pk not in current and not can_use_staff_ui(user):
                errors.setdefault("members", []).append(
                    f"{user.get_full_name() or user.username} cannot use the staff "
                    "interface, so cannot be a member."
                )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def section_save(
    *,
    by: User | None,
    section: Section | None = None,
    values: dict[str, Any],
    pipeline: str = Pipeline.SERVICE,
) -> Section:
    """Create a section (``section=None``) or update one.

    A new section gets the stages of *pipeline* (service by default; ``"none"``
    for no stages).
    """
    creating = section is None
    if creating and pipeline not in Pipeline.values:
        raise ValidationError({"pipeline": "Choose the stages the section starts with."})
    cleaned = section_clean(section=section, values=values)
    members = cleaned.pop("members", None)
    target = Section() if section is None else section
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ValidationError(
            {"code": f"Another section already has the code {target.code}."}
        ) from None
    if members is not None:
        before = set(target.members.values_list("pk", flat=True))
        target.members.set(members)
        if before != {u.pk for u in members}:
            changes.append("members")
    if creating:
        _seed_stages(section=target, pipeline=pipeline)
    events.emit(
        "section.saved",
        section_id=target.pk,
        created=creating,
        changes=changes,
        by_id=by.pk if by else None,
    )
    return target


def _seed_stages(*, section: Section, pipeline: str) -> list[Stage]:
    return Stage.objects.bulk_create(
        Stage(
            section=section,
            name=name,
            sequence=index * SEQUENCE_STEP,
            probability=probability,
            folded=folded,
        )
        for index, (name, probability, folded) in enumerate(DEFAULT_STAGES[pipeline], start=1)
    )


@transaction.atomic
def section_seed_stages(
    *, by: User | None, section: Section, pipeline: str = Pipeline.SERVICE
) -> list[Stage]:
    """Give a section without stages the default pipeline of *pipeline*."""
    if pipeline not in Pipeline.values or pipeline == Pipeline.NONE:
        raise ValidationError({"pipeline": "Choose the sales or the service pipeline."})
    Section.objects.select_for_update().filter(pk=section.pk).first()
    if Stage.objects.filter(section=section).exists():
        raise ValidationError(
            {"pipeline": f"{section.name} already has stages; add or remove them one by one."}
        )
    stages = _seed_stages(section=section, pipeline=pipeline)
    events.emit(
        "stages.seeded", section_id=section.pk, pipeline=pipeline, by_id=by.pk if by else None
    )
    return stages


# --------------------------------------------------------------------------
# Case types


def _clean_case_type_code(value: Any) -> str:
    code = str(value or "").strip().lower()
    if not code:
        raise ValidationError("Enter a code, e.g. helpdesk.")
    if len(code) > 30:
        raise ValidationError(f"Keep the code to 30 characters (it has {len(code)}).")
    if not _CASE_TYPE_CODE.fullmatch(code):
        raise ValidationError("Use only the letters a to z, digits, '_' and '-' in a code.")
    return code


def _clean_field_groups(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("Field groups are a list.")
    groups = [str(g) for g in value]
    unknown = [g for g in groups if g not in CaseType.FieldGroup.values]
    if unknown:
        known = ", ".join(CaseType.FieldGroup.values)
        raise ValidationError(
            f"Unknown field group{'s' if len(unknown) > 1 else ''}: "
            f"{', '.join(unknown)} (choose from {known})."
        )
    # Stored in the order the choices list them, each once.
    return [g for g in CaseType.FieldGroup.values if g in groups]


_CASE_TYPE_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=60),
    "code": _clean_case_type_code,
    "field_groups": _clean_field_groups,
    "default_section": lambda v: _instance(v, Section, "section"),
    "billable": _bool,
    "final_close": _bool,
    "sequence": _sequence,
    "active": _bool,
}


def case_type_clean(*, case_type: CaseType | None, values: dict[str, Any]) -> dict[str, Any]:
    """Check *values* for *case_type* (None: a new one) without saving anything."""
    _check_keys(values, CASE_TYPE_FIELDS, "case type")
    cleaned, errors = _clean_all(values, _CASE_TYPE_CLEANERS)
    if case_type is None:
        for field in ("name", "code"):
            if field not in values:
                errors.setdefault(field, []).append(f"A case type needs a {field}.")
    others = (
        CaseType.objects.all() if case_type is None else CaseType.objects.exclude(pk=case_type.pk)
    )
    if cleaned.get("name") and others.filter(name__iexact=cleaned["name"]).exists():
        errors.setdefault("name", []).append(
            f"Another case type is already called {cleaned['name']}."
        )
    if cleaned.get("code") and others.filter(code__iexact=cleaned["code"]).exists():
        errors.setdefault("code", []).append(
            f"Another case type already has the code {cleaned['code']}."
        )
    section = cleaned.get("default_section")
    unchanged = (
        case_type is not None
        and section is not None
        and (case_type.default_section_id == section.pk)
    )
    if section is not None and not section.active and not unchanged:
        errors.setdefault("default_section", []).append(
            f"{section.name} is inactive; choose an active section."
        )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def case_type_save(
    *, by: User | None, case_type: CaseType | None = None, values: dict[str, Any]
) -> CaseType:
    """Create a case type (``case_type=None``) or update one."""
    cleaned = case_type_clean(case_type=case_type, values=values)
    creating = case_type is None
    target = CaseType() if case_type is None else case_type
    changes = [] if creating else _changes(target, cleaned)
    if creating and "sequence" not in cleaned:
        last = CaseType.objects.aggregate(last=models.Max("sequence"))["last"] or 0
        cleaned["sequence"] = last + SEQUENCE_STEP
    for field, value in cleaned.items():
        setattr(target, field, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ValidationError(
            {"code": "Another case type already has this name or code."}
        ) from None
    events.emit(
        "case_type.saved",
        case_type_id=target.pk,
        created=creating,
        changes=changes,
        by_id=by.pk if by else None,
    )
    return target


# --------------------------------------------------------------------------
# Categories


_CATEGORY_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=100),
    "default_probability": _percent,
    "active": _bool,
}


def category_clean(
    *, category: CaseCategory | None, section: Section, values: dict[str, Any]
) -> dict[str, Any]:
    _check_keys(values, CATEGORY_FIELDS, "category")
    cleaned, errors = _clean_all(values, _CATEGORY_CLEANERS)
    if category is None and "name" not in values:
        errors.setdefault("name", []).append("A category needs a name.")
    if category is not None and category.section_id != section.pk:
        raise ValidationError("This category belongs to another section.")
    name = cleaned.get("name")
    if name:
        duplicate = CaseCategory.objects.filter(section=section, name__iexact=name)
        if category is not None:
            duplicate = duplicate.exclude(pk=category.pk)
        if duplicate.exists():
            errors.setdefault("name", []).append(
                f"{section.name} already has a category called {name}."
            )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def category_save(
    *,
    by: User | None,
    category: CaseCategory | None = None,
    section: Section,
    values: dict[str, Any],
) -> CaseCategory:
    """Create a category of *section* (``category=None``) or update one."""
    cleaned = category_clean(category=category, section=section, values=values)
    creating = category is None
    target = CaseCategory(section=section) if category is None else category
    changes = [] if creating else _changes(target, cleaned)
    for field, value in cleaned.items():
        setattr(target, field, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ValidationError(
            {"name": f"{section.name} already has a category called {target.name}."}
        ) from None
    events.emit(
        "case_category.saved",
        category_id=target.pk,
        section_id=section.pk,
        created=creating,
        changes=changes,
        by_id=by.pk if by else None,
    )
    return target


@transaction.atomic
def category_delete(*, by: User | None, category: CaseCategory) -> None:
    """Delete a category. Its cases stay, without a category."""
    pk, section_id, name = category.pk, category.section_id, category.name
    category.delete()
    events.emit(
        "case_category.deleted",
        category_id=pk,
        section_id=section_id,
        label=name,
        by_id=by.pk if by else None,
    )


# --------------------------------------------------------------------------
# Stages


_STAGE_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: _text(v, label="name", max_length=60),
    "sequence": _sequence,
    "probability": _percent,
    "folded": _bool,
}


def stage_clean(*, stage: Stage | None, section: Section, values: dict[str, Any]) -> dict[str, Any]:
    _check_keys(values, STAGE_FIELDS, "stage")
    cleaned, errors = _clean_all(values, _STAGE_CLEANERS)
    if stage is None and "name" not in values:
        errors.setdefault("name", []).append("A stage needs a name.")
    if stage is not None and stage.section_id != section.pk:
        raise ValidationError("This stage belongs to another section.")
    name = cleaned.get("name")
    if name:
        duplicate = Stage.objects.filter(section=section, name__iexact=name)
        if stage is not None:
            duplicate = duplicate.exclude(pk=stage.pk)
        if duplicate.exists():
            errors.setdefault("name", []).append(
                f"{section.name} already has a stage called {name}."
            )
    _raise_if(errors)
    return cleaned


@transaction.atomic
def stage_save(
    *, by: User | None, stage: Stage | None = None, section: Section, values: dict[str, Any]
) -> Stage:
    """Create a stage of *section* (``stage=None``; it goes last) or update one."""
    cleaned = stage_clean(stage=stage, section=section, values=values)
    creating = stage is None
    target = Stage(section=section) if stage is None else stage
    changes = [] if creating else _changes(target, cleaned)
    if creating and "sequence" not in cleaned:
        last = Stage.objects.filter(section=section).aggregate(last=models.Max("sequence"))
        cleaned["sequence"] = (last["last"] or 0) + SEQUENCE_STEP
    for field, value in cleaned.items():
        setattr(target, field, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ValidationError(
            {"name": f"{section.name} already has a stage called {target.name}."}
        ) from None
    events.emit(
        "stage.saved",
        stage_id=target.pk,
        section_id=section.pk,
        created=creating,
        changes=changes,
        by_id=by.pk if by else None,
    )
    return target


@transaction.atomic
def stages_reorder(*, by: User | None, section: Section, stage_ids: list[int]) -> list[Stage]:
    """Put *section*'s stages in the order of *stage_ids*, numbered 10, 20, …

    Stages the list leaves out (added meanwhile in another window) keep their
    order after the listed ones.
    """
    if len(set(stage_ids)) != len(stage_ids):
        raise ValidationError({"stage_ids": "The new order names a stage twice."})
    stages = {s.pk: s for s in Stage.objects.select_for_update().filter(section=section)}
    foreign = [pk for pk in stage_ids if pk not in stages]
    if foreign:
        raise ValidationError(
            {
                "stage_ids": f"{section.name} has no stage with the id "
                f"{', '.join(str(pk) for pk in foreign)}; reload the page and try again."
            }
        )
    listed = set(stage_ids)
    rest = sorted(
        (s for pk, s in stages.items() if pk not in listed),
        key=lambda s: (s.sequence, s.pk),
    )
    ordered = [stages[pk] for pk in stage_ids] + rest
    changed = []
    for index, stage in enumerate(ordered, start=1):
        if stage.sequence != index * SEQUENCE_STEP:
            stage.sequence = index * SEQUENCE_STEP
            changed.append(stage)
    Stage.objects.bulk_update(changed, ["sequence"])
    if changed:
        events.emit(
            "stages.reordered",
            section_id=section.pk,
            stage_ids=[s.pk for s in ordered],
            by_id=by.pk if by else None,
        )
    return ordered


@transaction.atomic
def stage_delete(*, by: User | None, stage: Stage) -> None:
    """Delete a stage. Its cases stay in their section, without a stage."""
    pk, section_id, name = stage.pk, stage.section_id, stage.name
    stage.delete()
    events.emit(
        "stage.deleted",
        stage_id=pk,
        section_id=section_id,
        label=name,
        by_id=by.pk if by else None,
    )
