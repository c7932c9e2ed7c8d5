"""What the case endpoints accept and return.

Input serializers check types and shape, and turn ids, codes and case numbers
into objects the viewing user may use (a members-only section the user cannot
see does not exist here); ``goodwill.cases.services`` decide whether the values
make sense together. Output serializers render cases read through
``goodwill.cases.selectors``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.utils import getaddresses
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from goodwill.accounts.models import User
from goodwill.api.partner_serializers import ChangeSerializer, PartnerRefSerializer
from goodwill.api.serializers import StrictSerializer, UserRefSerializer
from goodwill.cases.models import (
    Attachment,
    Case,
    CaseCategory,
    CaseState,
    CaseType,
    OutboundMessage,
    Priority,
    Section,
    Stage,
)
from goodwill.cases.permissions import visible_cases, visible_sections
from goodwill.cases.selectors import BUILTIN_FILTERS, SORTS, CaseFilters
from goodwill.cases.services import BULK_MAX, STATE_SERVICES
from goodwill.lib.ids import MAX_ID, is_valid_id
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.partners.models import Address, Partner, TimelineEntry
from goodwill.partners.permissions import can_partner

MAX_ATTENDEES = 200
MAX_RECIPIENTS = 50
MAX_FILES = 20

# A queryset of what the requesting user (``context["user"]``) may pick.
Choices = Callable[[Any], QuerySet[Any]]


def _sections(user: Any) -> QuerySet[Section]:
    return visible_sections(user)


def _case_types(user: Any) -> QuerySet[CaseType]:
    return CaseType.objects.all()


def _categories(user: Any) -> QuerySet[CaseCategory]:
    return CaseCategory.objects.filter(section__in=visible_sections(user))


def _stages(user: Any) -> QuerySet[Stage]:
    return Stage.objects.filter(section__in=visible_sections(user))


def _partners(user: Any) -> QuerySet[Partner]:
    return Partner.objects.all()


def _people(user: Any) -> QuerySet[Partner]:
    return Partner.objects.all()


def _users(user: Any) -> QuerySet[User]:
    return User.objects.all()


def _addresses(user: Any) -> QuerySet[Address]:
    return Address.objects.all()


def _cases(user: Any) -> QuerySet[Case]:
    return visible_cases(user)


def _linkable_partners(user: Any) -> QuerySet[Partner]:
    return Partner.objects.all() if can_partner(user, "view") else Partner.objects.none()


def _absolute(path: str, request: Any) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def case_url(number: int, request: Any) -> str:
    return _absolute(reverse("api:case_detail", args=[number]), request)


def attachment_url(pk: int, request: Any) -> str:
    return _absolute(reverse("api:case_attachment", args=[pk]), request)


# --------------------------------------------------------------------------
# Fields


def _as_id(data: Any) -> int | None:
    """*data* as an id if it is a whole number (or its digits), else None."""
    if isinstance(data, bool):
        return None
    if isinstance(data, int):
        return data
    if isinstance(data, str):
        text = data.strip()
        if text.isascii() and text.isdigit():
            return int(text)
    return None


class ObjectIdField(serializers.IntegerField):
    """An id in (``"number"`` for cases), the object out.

    The object is looked up among what the requesting user may pick, so an id
    that exists but is out of reach reads exactly like one that does not exist.
    Numbers too large for a database column are refused before any query.
    """

    default_error_messages = {"missing": "No {noun} has id {value}."}

    def __init__(
        self, *, choices: Choices, noun: str, key: str = "pk", missing: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        # For the schema only: the range is checked before the lookup, and the
        # validators that these would add cannot compare the object it returns.
        self.min_value, self.max_value = 1, MAX_ID
        self.choices, self.noun, self.key = choices, noun, key
        if missing:
            self.error_messages["missing"] = missing

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not is_valid_id(value):
            self.fail("missing", noun=self.noun, value=value)
        found = self.choices(self.context.get("user")).filter(**{self.key: value}).first()
        if found is None:
            self.fail("missing", noun=self.noun, value=value)
        return found

    def to_representation(self, value: Any) -> Any:
        return getattr(value, self.key, value)


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class ObjectIdsField(serializers.ListField):
    """A list of ids in, the objects out, loaded in one query."""

    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def __init__(self, *, choices: Choices, noun: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices, self.noun = choices, noun

    def to_internal_value(self, data: Any) -> list[Model]:
        ids = list(dict.fromkeys(super().to_internal_value(data)))
        found = self.choices(self.context.get("user")).in_bulk(ids)
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(f"No {self.noun} has id {', '.join(missing)}.")
        return [found[pk] for pk in ids]


@extend_schema_field(
    {
        "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}],
        "description": "An id or a code.",
    }
)
class IdOrCodeField(serializers.Field):
    """An id (``3``, ``"3"``) or a code (``"SUPPORT"``, ``"helpdesk"``) in, the object out.

    A code made only of digits is read as an id. Codes match exactly, or else
    ignoring case.
    """

    default_error_messages = {
        "invalid": "Give an id (a number) or a code (a word).",
        "missing": "No {noun} has the id or code {value}.",
    }

    def __init__(self, *, choices: Choices, noun: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices, self.noun = choices, noun

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        if not text or len(text) > 100:
            self.fail("invalid")
        candidates = self.choices(self.context.get("user"))
        pk = _as_id(data)
        if pk is not None:
            found = candidates.filter(pk=pk).first() if is_valid_id(pk) else None
        else:
            found = (
                candidates.filter(code=text).first()
                or candidates.filter(code__iexact=text).order_by("pk").first()
            )
        if found is None:
            self.fail("missing", noun=self.noun, value=text)
        return found

    def to_representation(self, value: Any) -> Any:
        return getattr(value, "pk", value)


@extend_schema_field({"type": "string"})
class PlainChoiceField(serializers.ChoiceField):
    """A choice that the schema describes in words rather than as a named enum.

    drf-spectacular names an enum after its field; another set of choices under a
    name the partners API already uses (``channel``, ``kind``, ``visibility``)
    would rename the partners' enum components and warn about the collision.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        values = ", ".join(f"`{value}`" for value in self.choices)
        self.help_text = f"{self.help_text or ''} One of {values}.".strip()


# --------------------------------------------------------------------------
# The list's filters (query parameters)


class CaseFilterSerializer(serializers.Serializer):
    """The list's query parameters, the same as the case list page's; unknown
    parameters are ignored, values that are not valid are a 400."""

    filter = serializers.ChoiceField(choices=list(BUILTIN_FILTERS.items()), required=False)
    q = serializers.CharField(max_length=200, required=False)
    section = IdOrCodeField(choices=_sections, noun="section", required=False)
    case_type = IdOrCodeField(choices=_case_types, noun="case type", required=False)
    state = serializers.ChoiceField(choices=CaseState.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    responsible = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    partner = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    sort = serializers.ChoiceField(choices=list(SORTS), required=False)

    def filters(self) -> CaseFilters:
        data = self.validated_data
        section, case_type = data.get("section"), data.get("case_type")
        return CaseFilters(
            q=data.get("q", ""),
            filter=data.get("filter", ""),
            section=section.pk if section is not None else None,
            case_type=case_type.pk if case_type is not None else None,
            state=data.get("state", ""),
            priority=data.get("priority"),
            responsible=data.get("responsible"),
            partner=data.get("partner"),
            sort=data.get("sort", "updated"),
        )


# --------------------------------------------------------------------------
# Writing cases


def _text(max_length: int | None = None, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, allow_blank=True, required=False, **kwargs)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, allow_null=True, required=False, **kwargs
    )


def _when(**kwargs: Any) -> serializers.DateTimeField:
    return serializers.DateTimeField(allow_null=True, required=False, **kwargs)


def _pick(choices: Choices, noun: str, **kwargs: Any) -> ObjectIdField:
    return ObjectIdField(choices=choices, noun=noun, allow_null=True, required=False, **kwargs)


# Keys a client may expect to send, and where they are handled instead.
ELSEWHERE = {
    "number": "The number is given when the case is created.",
    "state": 'Change the state with POST /api/cases/{number}/state/ {"action": "…"}.',
    "watchers": "Add watchers with POST /api/cases/{number}/watchers/.",
}


class CaseWriteSerializer(StrictSerializer):
    """The body of a create (POST) or of a partial update (PATCH).

    Ids for the related records (category, stage, partner, contact, users,
    address), an id or a code for the case type and the section, and the case
    number for a related case. A PATCH changes only the keys it sends.
    """

    subject = serializers.CharField(max_length=250)
    case_type = IdOrCodeField(
        choices=_case_types, noun="case type", help_text='An id or a code, e.g. "helpdesk".'
    )
    section = IdOrCodeField(
        choices=_sections,
        noun="section",
        required=False,
        help_text="An id or a code; by default the case type's default section.",
    )
    description = _text(trim_whitespace=False)
    category = _pick(_categories, "category", help_text="A category of the case's section.")
    stage = _pick(
        _stages, "stage", help_text="A stage of the case's section; by default its first."
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices,
        required=False,
        help_text="1 (highest) to 5 (lowest); 3 by default.",
    )
    responsible = _pick(_users, "user", help_text="The id of an active staff user.")
    partner = _pick(_partners, "partner")
    contact = _pick(_people, "partner", help_text="The id of a person.")
    requester_email = _text(254, help_text="By default the contact's or the partner's email.")
    deadline = _when()
    next_action_at = _when()
    next_action = _text(200)
    channel = PlainChoiceField(choices=Case.Channel.choices, allow_blank=True, required=False)
    related = _pick(
        _cases, "case", key="number", missing="No case #{value}.", help_text="A case number."
    )
    planned_revenue = _money(help_text="Opportunities.")
    planned_cost = _money()
    probability = serializers.IntegerField(
        min_value=0, max_value=100, allow_null=True, required=False, help_text="Percent."
    )
    expected_close = serializers.DateField(allow_null=True, required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, allow_blank=True, required=False)
    claim_subject = serializers.ChoiceField(
        choices=Case.ClaimSubject.choices, allow_blank=True, required=False, help_text="Claims."
    )
    claim_product = _text(200)
    root_cause = _text()
    corrective_action = _text()
    preventive_action = _text()
    location_address = _pick(
        _addresses, "address", help_text="An address of the case's partner or contact."
    )
    location_text = _text(250)
    scheduled_start = _when(help_text="Service visits, meetings and calls.")
    scheduled_end = _when()
    technician = _pick(_users, "user", help_text="The id of an active staff user.")
    attendees = ObjectIdsField(
        choices=_partners, noun="partner", max_length=MAX_ATTENDEES, required=False
    )
    attendee_users = ObjectIdsField(
        choices=_users, noun="user", max_length=MAX_ATTENDEES, required=False
    )
    amount = _money(help_text="Expense claims.")
    open = serializers.BooleanField(
        default=False,
        write_only=True,
        help_text="When creating: open the case at once instead of leaving it in draft.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            hints = dict(ELSEWHERE)
            if self.partial:
                hints["open"] = (
                    'Open the case with POST /api/cases/{number}/state/ {"action": "open"}.'
                )
            misplaced = {key: [hints[key]] for key in sorted(set(data) & set(hints))}
            if misplaced:
                raise serializers.ValidationError(misplaced)
        return super().to_internal_value(data)

    def service_values(self) -> dict[str, Any]:
        """The validated fields as the *values* of ``case_create``/``case_update``."""
        return {k: v for k, v in self.validated_data.items() if k != "open"}


class StateSerializer(StrictSerializer):
    action = serializers.ChoiceField(
        choices=list(STATE_SERVICES),
        help_text="open, pending, close, cancel or reset (back to draft).",
    )
    note = _text(
        10_000,
        help_text="Why, for the timeline: kept with pending, close and cancel; "
        "open and reset take no note and ignore it.",
    )


class EscalateSerializer(StrictSerializer):
    note = _text(2000, help_text="Why, for the timeline.")


class AssignSerializer(StrictSerializer):
    responsible = ObjectIdField(
        choices=_users,
        noun="user",
        allow_null=True,
        help_text="The id of an active staff user, or null to unassign.",
    )


class CaseMergeSerializer(StrictSerializer):
    into = ObjectIdField(
        choices=_cases,
        noun="case",
        key="number",
        missing="No case #{value}.",
        help_text="The number of the case that this one is folded into.",
    )


def _files(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        max_length=MAX_FILES,
        **kwargs,
    )


class CaseNoteSerializer(StrictSerializer):
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="Up to 100,000 characters."
    )
    files = _files(
        required=False,
        help_text=f"Files attached to the note (multipart/form-data only; up to {MAX_FILES}).",
    )


class AddressField(serializers.CharField):
    """One email address, bare or with a name ("Pat <pat@example.com>").

    The service checks and normalises the address; this refuses what it could
    not even read as one address, which it would otherwise skip.
    """

    default_error_messages = {"address": "{value} is not one email address."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=254, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        found = [address for _name, address in getaddresses([value]) if address]
        if len(found) != 1 or "@" not in found[0]:
            self.fail("address", value=value)
        return value


class RecipientsField(serializers.ListField):
    """A list of addresses. In a multipart form the key is repeated once per address,
    and a key sent with only empty values is the empty list (``cc=`` for no Cc)."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return [value for value in dictionary.getlist(self.field_name) if value.strip()]
        return super().get_value(dictionary)


class ReplySerializer(StrictSerializer):
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="Up to 100,000 characters."
    )
    to = RecipientsField(
        child=AddressField(),
        max_length=MAX_RECIPIENTS,
        required=False,
        help_text="By default the requester.",
    )
    cc = RecipientsField(
        child=AddressField(),
        max_length=MAX_RECIPIENTS,
        allow_null=True,
        required=False,
        help_text="By default the watchers' email addresses; [] for none "
        "(in a multipart form: one empty `cc`).",
    )
    files = _files(
        required=False,
        help_text=f"Files sent with the reply (multipart/form-data only; up to {MAX_FILES}).",
    )


class WatcherAddSerializer(StrictSerializer):
    user = ObjectIdField(
        choices=_users, noun="user", required=False, help_text="A staff user's id, or …"
    )
    email = serializers.CharField(
        max_length=254, required=False, help_text="… an email address (kept in Cc of replies)."
    )


class CaseLinkAddSerializer(StrictSerializer):
    """What to link the case to: exactly one of a case and a partner."""

    case = ObjectIdField(
        choices=_cases,
        noun="case",
        key="number",
        missing="No case #{value}.",
        required=False,
        help_text="The number of a case, or …",
    )
    partner = ObjectIdField(
        choices=_linkable_partners, noun="partner", required=False, help_text="… a partner id."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError("Give either a case number or a partner id to link.")
        return attrs

    def target(self) -> Model:
        return next(iter(self.validated_data.values()))


class CaseAttachSerializer(StrictSerializer):
    files = _files(
        allow_empty=False,
        help_text=f"One or more files (up to {MAX_FILES}).",
        error_messages={
            "required": "Choose at least one file.",
            "empty": "Choose at least one file.",
        },
    )
    note = _text(2000, help_text='For the timeline; by default "Attached <names>".')


EXPENSE_DECISIONS = {
    "submit": "ask the section's responsible user to approve the claim",
    "approve": "approve a claim awaiting approval",
    "reject": "reject it (with a reason)",
}


class CaseExpenseSerializer(StrictSerializer):
    decision = PlainChoiceField(
        choices=list(EXPENSE_DECISIONS),
        help_text="; ".join(f"`{key}`: {text}" for key, text in EXPENSE_DECISIONS.items()) + ".",
    )
    reason = _text(5000, help_text="Why: required to reject, optional to approve.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["decision"] == "submit" and attrs.get("reason", "").strip():
            raise serializers.ValidationError(
                {"reason": ["A reason goes with an approval or a rejection, not a submission."]}
            )
        return attrs


class CaseSplitSerializer(StrictSerializer):
    """The context holds the ``case`` whose timeline the entry must be on."""

    entry = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        help_text="The id of a note or an email on this case's timeline.",
    )
    subject = _text(250, help_text="The new case's subject; by default the entry's first line.")

    def validate_entry(self, value: int) -> TimelineEntry:
        case: Case = self.context["case"]
        entry = TimelineEntry.objects.filter(
            pk=value,
            subject_type=ContentType.objects.get_for_model(Case),
            subject_id=case.pk,
        ).first()
        if entry is None:
            raise serializers.ValidationError(f"Case {case.reference} has no entry {value}.")
        return entry


BULK_ACTIONS = {
    "assign": "responsible",
    "state": "state",
    "priority": "priority",
    "merge": None,
}


class CaseBulkSerializer(StrictSerializer):
    action = PlainChoiceField(
        choices=list(BULK_ACTIONS),
        help_text="`assign` (with `responsible`), `state` (with `state`), `priority` (with "
        "`priority`), or `merge` (all into the oldest; managers and administrators).",
    )
    numbers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=BULK_MAX,
        help_text=f"Case numbers, at most {BULK_MAX}.",
    )
    responsible = ObjectIdField(
        choices=_users,
        noun="user",
        allow_null=True,
        required=False,
        help_text="For assign: the id of an active staff user, or null to unassign.",
    )
    state = PlainChoiceField(
        choices=list(STATE_SERVICES),
        required=False,
        help_text="For state: the state action to apply.",
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, help_text="For priority: 1 to 5."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = BULK_ACTIONS[attrs["action"]]
        errors: dict[str, list[str]] = {}
        if needed is not None and needed not in attrs:
            errors[needed] = [f"The {attrs['action']} action needs this."]
        for key in set(BULK_ACTIONS.values()) - {needed, None}:
            if key in attrs:
                errors[key] = [f"Only the {key} action takes this."]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["numbers"] = list(dict.fromkeys(attrs["numbers"]))
        return attrs


# --------------------------------------------------------------------------
# Reading cases


class CodeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class AddressRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    label = serializers.CharField(  # type: ignore[assignment]  # not Field.label
        source="__str__", read_only=True, help_text="The address on one line."
    )


class CaseRefSerializer(serializers.Serializer):
    """Another case, named where it is mentioned."""

    number = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True, help_text='"#1042"')
    subject = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    def get_url(self, case: Case) -> str:
        return case_url(case.number, self.context.get("request"))


class WatcherSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    user = UserRefSerializer(read_only=True, allow_null=True)
    email = serializers.CharField(read_only=True, help_text="Empty for a user.")
    created_at = serializers.DateTimeField(read_only=True)


class CaseSummarySerializer(serializers.Serializer):
    """A row of the case list."""

    number = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True, help_text='"#1042"')
    url = serializers.SerializerMethodField()
    subject = serializers.CharField(read_only=True)
    case_type = CodeRefSerializer(read_only=True)
    section = CodeRefSerializer(read_only=True)
    stage = NamedRefSerializer(read_only=True, allow_null=True)
    state = serializers.ChoiceField(choices=CaseState.choices, read_only=True)
    priority = serializers.IntegerField(read_only=True, help_text="1 (highest) to 5 (lowest).")
    responsible = UserRefSerializer(read_only=True, allow_null=True)
    partner = PartnerRefSerializer(read_only=True, allow_null=True)
    deadline = serializers.DateTimeField(read_only=True, allow_null=True)
    is_late = serializers.BooleanField(read_only=True, help_text="Past its deadline, still active.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_url(self, case: Case) -> str:
        return case_url(case.number, self.context.get("request"))


class CaseActionsSerializer(serializers.Serializer):
    """What the requesting user may do with this case now."""

    change = serializers.BooleanField(
        read_only=True, help_text="Edit, assign, escalate, note, reply, watchers."
    )
    merge = serializers.BooleanField(read_only=True)
    states = serializers.ListField(
        child=PlainChoiceField(choices=list(STATE_SERVICES)),
        read_only=True,
        help_text="The state actions that apply now.",
    )


class CaseDetailSerializer(CaseSummarySerializer):
    """Everything about one case.

    The context holds ``allowed`` (``CaseActionsSerializer``'s keys) and
    ``visible_case_ids``: a related or merged-into case in a section the
    requesting user cannot see is shown as null.
    """

    description = serializers.CharField(read_only=True)
    category = NamedRefSerializer(read_only=True, allow_null=True)
    contact = PartnerRefSerializer(read_only=True, allow_null=True)
    requester_email = serializers.CharField(read_only=True)
    next_action_at = serializers.DateTimeField(read_only=True, allow_null=True)
    next_action = serializers.CharField(read_only=True)
    channel = serializers.CharField(read_only=True)
    related = serializers.SerializerMethodField()
    merged_into = serializers.SerializerMethodField()
    final = serializers.BooleanField(read_only=True, help_text="Closed for good: read-only.")
    planned_revenue = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )
    planned_cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )
    probability = serializers.IntegerField(read_only=True, allow_null=True)
    weighted_revenue = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="Planned revenue × probability.",
    )
    expected_close = serializers.DateField(read_only=True, allow_null=True)
    currency = serializers.CharField(read_only=True)
    claim_subject = serializers.CharField(read_only=True)
    claim_product = serializers.CharField(read_only=True)
    root_cause = serializers.CharField(read_only=True)
    corrective_action = serializers.CharField(read_only=True)
    preventive_action = serializers.CharField(read_only=True)
    location_address = AddressRefSerializer(read_only=True, allow_null=True)
    location_text = serializers.CharField(read_only=True)
    scheduled_start = serializers.DateTimeField(read_only=True, allow_null=True)
    scheduled_end = serializers.DateTimeField(read_only=True, allow_null=True)
    technician = UserRefSerializer(read_only=True, allow_null=True)
    attendees = PartnerRefSerializer(source="attendees.all", many=True, read_only=True)
    attendee_users = UserRefSerializer(source="attendee_users.all", many=True, read_only=True)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )
    approval = serializers.ChoiceField(choices=Case.Approval.choices, read_only=True)
    approved_by = UserRefSerializer(read_only=True, allow_null=True)
    approved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    message_count = serializers.IntegerField(read_only=True)
    opened_at = serializers.DateTimeField(read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    watchers = WatcherSerializer(source="watchers.all", many=True, read_only=True)
    allowed = serializers.SerializerMethodField()

    def _visible_ref(self, case: Case | None) -> dict[str, Any] | None:
        if case is None or case.pk not in self.context["visible_case_ids"]:
            return None
        return dict(CaseRefSerializer(case, context=self.context).data)

    @extend_schema_field(CaseRefSerializer(allow_null=True))
    def get_related(self, case: Case) -> dict[str, Any] | None:
        return self._visible_ref(case.related)

    @extend_schema_field(CaseRefSerializer(allow_null=True))
    def get_merged_into(self, case: Case) -> dict[str, Any] | None:
        return self._visible_ref(case.merged_into)

    @extend_schema_field(CaseActionsSerializer)
    def get_allowed(self, case: Case) -> dict[str, Any]:
        return dict(self.context["allowed"])


class OutboundMessageSerializer(serializers.Serializer):
    """A reply in the outbox; the email gateway sends it and sets its status."""

    id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(
        choices=OutboundMessage.Status.choices, read_only=True, help_text="queued until sent."
    )
    message_id = serializers.CharField(read_only=True, help_text="<gw.c1042.…@domain>")
    in_reply_to = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True, help_text='Carries the case tag, "[#1042]".')
    from_email = serializers.CharField(read_only=True)
    reply_to = serializers.CharField(read_only=True)
    to = serializers.ListField(child=serializers.CharField(), read_only=True)
    cc = serializers.ListField(child=serializers.CharField(), read_only=True)
    body = serializers.CharField(source="body_text", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="Bytes.")
    content_type = serializers.CharField(read_only=True, help_text="As the uploader declared it.")
    url = serializers.SerializerMethodField(help_text="Where to download it.")

    @extend_schema_field(serializers.URLField())
    def get_url(self, attachment: Attachment) -> str:
        return attachment_url(attachment.pk, self.context.get("request"))


class CaseAttachmentSerializer(AttachmentSerializer):
    """A file attached to a case, and the timeline entry it came with."""

    created_at = serializers.DateTimeField(read_only=True)
    uploaded_by = UserRefSerializer(read_only=True, allow_null=True)
    entry = serializers.IntegerField(
        source="entry_id", read_only=True, allow_null=True, help_text="The timeline entry's id."
    )


class CaseTimelineEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = PlainChoiceField(choices=TimelineEntry.Kind.choices, read_only=True)
    action = serializers.CharField(
        read_only=True, help_text="created, updated, open, close, escalated, note, reply, …"
    )
    author = UserRefSerializer(read_only=True, allow_null=True)
    body = serializers.CharField(read_only=True)
    changes = ChangeSerializer(many=True, read_only=True, help_text="Field, old → new.")
    visibility = PlainChoiceField(choices=TimelineEntry.Visibility.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    message = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    @extend_schema_field(OutboundMessageSerializer(allow_null=True))
    def get_message(self, entry: TimelineEntry) -> dict[str, Any] | None:
        """For an email sent from the case (kind email_out): the outbox message."""
        message = getattr(entry, "outbound", None)
        return dict(OutboundMessageSerializer(message).data) if message is not None else None

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, entry: TimelineEntry) -> list[dict[str, Any]]:
        files: list[Attachment] = getattr(entry, "files", [])
        return list(AttachmentSerializer(files, many=True, context=self.context).data)


class CaseLinkSerializer(serializers.Serializer):
    """A link from the case to another record (a ``selectors.LinkView``).

    The context holds ``numbers``: the case number of each linked case's id.
    """

    id = serializers.IntegerField(source="link.pk", read_only=True)
    target_type = serializers.SerializerMethodField(
        help_text='"case", "partner", or the record\'s model as "app_label.model".'
    )
    target_id = serializers.IntegerField(source="link.target_id", read_only=True)
    number = serializers.SerializerMethodField(help_text="For a case: its number.")
    label = serializers.CharField(  # type: ignore[assignment]  # not Field.label
        read_only=True, help_text='"#1042 Printer on fire", a partner\'s name, …'
    )
    url = serializers.SerializerMethodField(help_text="The case or partner in this API.")
    created_at = serializers.DateTimeField(source="link.created_at", read_only=True)

    def get_target_type(self, view: Any) -> str:
        target_type: ContentType = view.link.target_type
        if (target_type.app_label, target_type.model) in {
            ("cases", "case"),
            ("partners", "partner"),
        }:
            return str(target_type.model)
        return f"{target_type.app_label}.{target_type.model}"

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_number(self, view: Any) -> int | None:
        numbers: dict[int, int] = self.context["numbers"]
        if self.get_target_type(view) != "case":
            return None
        return numbers.get(view.link.target_id)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, view: Any) -> str | None:
        kind, request = self.get_target_type(view), self.context.get("request")
        if kind == "case":
            number = self.get_number(view)
            return case_url(number, request) if number is not None else None
        if kind == "partner":
            return _absolute(reverse("api:partner_detail", args=[view.link.target_id]), request)
        return None


class StageSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    sequence = serializers.IntegerField(read_only=True)
    probability = serializers.IntegerField(read_only=True, allow_null=True)
    folded = serializers.BooleanField(read_only=True)


class CaseCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    default_probability = serializers.IntegerField(read_only=True, allow_null=True)
    active = serializers.BooleanField(read_only=True)


class SectionSerializer(serializers.Serializer):
    """A section the requesting user can see, with its stages and categories.

    The context holds ``visible_section_ids`` (None for all): a parent section
    out of the user's sight is shown as null.
    """

    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    parent = serializers.SerializerMethodField(  # type: ignore[assignment]  # not Field.parent
        help_text="The id of the section cases escalate to."
    )
    visibility = PlainChoiceField(choices=Section.Visibility.choices, read_only=True)
    active = serializers.BooleanField(read_only=True)
    email = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    responsible = UserRefSerializer(read_only=True, allow_null=True)
    stages = StageSerializer(source="stages.all", many=True, read_only=True)
    categories = CaseCategorySerializer(source="categories.all", many=True, read_only=True)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_parent(self, section: Section) -> int | None:
        visible: list[int] | None = self.context.get("visible_section_ids")
        if section.parent_id is None or (visible is not None and section.parent_id not in visible):
            return None
        return section.parent_id


class CaseTypeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    field_groups = serializers.ListField(
        child=serializers.ChoiceField(choices=CaseType.FieldGroup.choices),
        read_only=True,
        help_text="Which groups of fields this type uses.",
    )
    default_section = serializers.SerializerMethodField()
    billable = serializers.BooleanField(read_only=True)
    final_close = serializers.BooleanField(read_only=True, help_text="Done is final: read-only.")
    is_scheduled = serializers.BooleanField(read_only=True, help_text="Shown on the calendar.")
    active = serializers.BooleanField(read_only=True)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_default_section(self, case_type: CaseType) -> int | None:
        visible: list[int] | None = self.context.get("visible_section_ids")
        section_id = case_type.default_section_id
        if section_id is None or (visible is not None and section_id not in visible):
            return None
        return section_id


# --------------------------------------------------------------------------
# Pages and lists


class _Page(serializers.Serializer):
    next = serializers.URLField(
        read_only=True, allow_null=True, help_text="The next page, or null on the last one."
    )
    previous = serializers.URLField(
        read_only=True, allow_null=True, help_text="The previous page, or null on the first."
    )


class CasePageSerializer(_Page):
    results = CaseSummarySerializer(many=True, read_only=True)


class CaseTimelinePageSerializer(_Page):
    results = CaseTimelineEntrySerializer(many=True, read_only=True)


class WatcherListSerializer(serializers.Serializer):
    results = WatcherSerializer(many=True, read_only=True)


class CaseLinkListSerializer(serializers.Serializer):
    results = CaseLinkSerializer(many=True, read_only=True)


class CaseAttachmentListSerializer(serializers.Serializer):
    results = CaseAttachmentSerializer(many=True, read_only=True)


class CaseBulkResultSerializer(serializers.Serializer):
    done = serializers.IntegerField(read_only=True, help_text="How many cases were changed.")
    errors = serializers.ListField(  # type: ignore[assignment]  # not Serializer.errors
        child=serializers.CharField(),
        read_only=True,
        help_text='One line per case left unchanged, e.g. "#1042: not found".',
    )


class SectionListSerializer(serializers.Serializer):
    results = SectionSerializer(many=True, read_only=True)


class CaseTypeListSerializer(serializers.Serializer):
    results = CaseTypeSerializer(many=True, read_only=True)
