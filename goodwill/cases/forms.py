"""Case forms: they parse and check input, then views hand the values to the
services. No form saves a model."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from goodwill.accounts.models import User
from goodwill.accounts.selectors import staff_users
from goodwill.campaigns.models import Campaign
from goodwill.cases.models import (
    Case,
    CaseCategory,
    CaseState,
    CaseType,
    Priority,
    Section,
    Stage,
)
from goodwill.cases.permissions import visible_cases, visible_sections
from goodwill.cases.selectors import BUILTIN_FILTERS, SORTS, CaseFilters
from goodwill.cases.services import EDITABLE_FIELDS
from goodwill.lib.ids import is_valid_id
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.partners.forms import IdChoiceField, PartnerChoiceField
from goodwill.partners.models import Address, Partner

BLANK = [("", "—")]
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PartnerMultipleWidget(forms.SelectMultiple):
    """A multi-select that renders only the chosen partners; others load by autocomplete."""

    def __init__(self, *, kind: str = "") -> None:
        super().__init__(attrs={"data-autocomplete": "partners", "data-kind": kind})

    def optgroups(self, name: str, value: list[Any], attrs: dict[str, Any] | None = None) -> Any:
        chosen = [v for v in value if is_valid_id(v)]
        partners = Partner.objects.filter(pk__in=chosen) if chosen else []
        options = [
            self.create_option(name, str(p.pk), p.name, True, index)
            for index, p in enumerate(partners)
        ]
        return [(None, options, 0)]


class UserChoiceField(IdChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class CaseChoiceWidget(forms.Select):
    """Renders only the chosen case; the rest load by autocomplete."""

    def __init__(self, *, cases: QuerySet[Case], attrs: dict[str, Any] | None = None) -> None:
        base = {"data-autocomplete": "cases", "data-url": "/cases/autocomplete/"}
        super().__init__(attrs={**base, **(attrs or {})})
        self.cases = cases  # what the user may see: a private case is never printed

    def optgroups(self, name: str, value: list[Any], attrs: dict[str, Any] | None = None) -> Any:
        chosen = [v for v in value if is_valid_id(v)]
        cases = {str(c.pk): c for c in self.cases.filter(pk__in=chosen)} if chosen else {}
        options = [self.create_option(name, "", "—", not chosen, 0)]
        for index, pk in enumerate(chosen, start=1):
            case = cases.get(str(pk))
            if case is not None:
                options.append(self.create_option(name, str(pk), str(case), True, index))
        return [(None, options, 0)]


class CaseChoiceField(IdChoiceField):
    """Another case, among those the user can see (numbers of private cases do not exist)."""

    def __init__(self, *, user: Any, **kwargs: Any) -> None:
        cases = visible_cases(user)
        super().__init__(queryset=cases, widget=CaseChoiceWidget(cases=cases), **kwargs)

    def label_from_instance(self, obj: Case) -> str:
        return str(obj)


class CaseFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    filter = forms.ChoiceField(
        required=False, choices=[("", "All visible"), *BUILTIN_FILTERS.items()]
    )
    section = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    case_type = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Type")
    state = forms.ChoiceField(required=False, choices=BLANK + list(CaseState.choices))
    priority = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=BLANK + list(Priority.choices)
    )
    responsible = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    partner = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in SORTS])

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Other apps add filters at start-up (automation: "SLA breached").
        cast(forms.ChoiceField, self.fields["filter"]).choices = [
            ("", "All visible"),
            *BUILTIN_FILTERS.items(),
        ]
        sections = self.fields["section"]
        assert isinstance(sections, forms.ChoiceField)  # noqa: S101 - declared above
        sections.choices = BLANK + [(s.pk, s.name) for s in visible_sections(user)]
        types = self.fields["case_type"]
        assert isinstance(types, forms.ChoiceField)  # noqa: S101
        types.choices = BLANK + [(t.pk, t.name) for t in CaseType.objects.all()]
        people = self.fields["responsible"]
        assert isinstance(people, forms.ChoiceField)  # noqa: S101
        people.choices = BLANK + [(u.pk, u.display_name) for u in staff_users()]

    def filters(self) -> CaseFilters:
        """The valid part of the query; an invalid field is ignored, not fatal."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        partner = data.get("partner")
        return CaseFilters(
            q=data.get("q") or "",
            filter=data.get("filter") or "",
            section=data.get("section"),
            case_type=data.get("case_type"),
            state=data.get("state") or "",
            priority=data.get("priority"),
            responsible=data.get("responsible"),
            partner=partner if partner and is_valid_id(partner) else None,
            sort=data.get("sort") or "updated",
        )


class CaseForm(forms.Form):
    """Every editable field; the template shows the groups the case type asks for."""

    subject = forms.CharField(max_length=250)
    case_type = forms.ModelChoiceField(queryset=CaseType.objects.filter(active=True), label="Type")
    section = forms.ModelChoiceField(queryset=Section.objects.none(), required=False)
    category = IdChoiceField(queryset=CaseCategory.objects.filter(active=True), required=False)
    stage = IdChoiceField(queryset=Stage.objects.all(), required=False)
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int, initial=Priority.NORMAL)
    responsible = UserChoiceField(queryset=User.objects.none(), required=False)
    partner = PartnerChoiceField(required=False)
    contact = PartnerChoiceField(kind=Partner.Kind.PERSON, required=False)
    requester_email = forms.CharField(max_length=254, required=False, label="Requester email")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    deadline = forms.DateTimeField(required=False, widget=DATETIME_WIDGET)
    next_action_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, label="Next action on"
    )
    next_action = forms.CharField(max_length=200, required=False, label="Next action")
    channel = forms.ChoiceField(choices=BLANK + list(Case.Channel.choices), required=False)
    campaign = IdChoiceField(
        queryset=Campaign.objects.order_by("-active", "name"),
        required=False,
        help_text="The campaign that brought this request or lead.",
    )
    related = IdChoiceField(queryset=Case.objects.none(), required=False, label="Related case")
    # Opportunity
    planned_revenue = forms.DecimalField(
        max_digits=14, decimal_places=2, required=False, label="Expected revenue"
    )
    planned_cost = forms.DecimalField(max_digits=14, decimal_places=2, required=False, label="Cost")
    probability = forms.IntegerField(
        min_value=0, max_value=100, required=False, label="Probability (%)"
    )
    expected_close = forms.DateField(required=False, widget=DATE_WIDGET, label="Expected close")
    currency = forms.ChoiceField(choices=BLANK + list(CURRENCY_CHOICES), required=False)
    # Claim
    claim_subject = forms.ChoiceField(
        choices=BLANK + list(Case.ClaimSubject.choices), required=False, label="Claim against"
    )
    claim_product = forms.CharField(max_length=200, required=False, label="Product concerned")
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    corrective_action = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    preventive_action = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    # Service visit, meeting, call
    location_address = IdChoiceField(
        queryset=Address.objects.none(), required=False, label="Address"
    )
    location_text = forms.CharField(max_length=250, required=False, label="Location (free text)")
    scheduled_start = forms.DateTimeField(required=False, widget=DATETIME_WIDGET, label="Start")
    scheduled_end = forms.DateTimeField(required=False, widget=DATETIME_WIDGET, label="End")
    technician = UserChoiceField(queryset=User.objects.none(), required=False)
    attendees = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        label="People attending",
        widget=PartnerMultipleWidget(kind=Partner.Kind.PERSON),
    )
    attendee_users = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Staff attending",
        widget=forms.SelectMultiple(attrs={"data-tags": "users"}),
    )
    # Expense
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False)

    # Panels of type-specific fields: (label, fields, the field groups that show it).
    # A field appears in one panel only, so the form never posts it twice.
    PANELS = (
        ("Opportunity", ("planned_revenue", "planned_cost", "probability", "expected_close"),
         ("opportunity",)),
        ("Expense", ("amount",), ("expense",)),
        ("Money", ("currency",), ("opportunity", "expense")),
        ("Claim", ("claim_subject", "claim_product", "root_cause", "corrective_action",
                   "preventive_action"), ("claim",)),
        ("Schedule", ("scheduled_start", "scheduled_end", "location_text"),
         ("service", "meeting")),
        ("Service visit", ("location_address", "technician"), ("service",)),
        ("Attendees", ("attendee_users", "attendees"), ("meeting",)),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any, case: Case | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["section"].queryset = visible_sections(user).filter(active=True)  # type: ignore[attr-defined]
        people = staff_users()
        for name in ("responsible", "technician", "attendee_users"):
            self.fields[name].queryset = people  # type: ignore[attr-defined]
        cases = visible_cases(user)
        self.fields["related"].queryset = cases  # type: ignore[attr-defined]
        self.fields["related"].widget = CaseChoiceWidget(cases=cases)
        if case is not None and case.related_id and not cases.filter(pk=case.related_id).exists():
            # Related to a case this user may not see: keep the link, do not show it.
            del self.fields["related"]
        sections = visible_sections(user)
        self.fields["category"].queryset = CaseCategory.objects.filter(  # type: ignore[attr-defined]
            active=True, section__in=sections
        )
        self.fields["stage"].queryset = Stage.objects.filter(section__in=sections)  # type: ignore[attr-defined]
        self.visible_section_ids = set(sections.values_list("pk", flat=True))
        partner_ids = [p for p in (self._raw("partner"), self._raw("contact")) if p]
        if case is not None:
            partner_ids += [pid for pid in (case.partner_id, case.contact_id) if pid]
        self.fields["location_address"].queryset = Address.objects.filter(  # type: ignore[attr-defined]
            partner_id__in=[p for p in partner_ids if is_valid_id(p)]
        )
        self.fields["attendees"].queryset = Partner.objects.all()  # type: ignore[attr-defined]
        if case is not None:
            self.fields["case_type"].queryset = CaseType.objects.all()  # type: ignore[attr-defined]
            self.fields["section"].queryset = visible_sections(user)  # type: ignore[attr-defined]

    def _raw(self, name: str) -> Any:
        return self.data.get(name) if self.is_bound else self.initial.get(name)

    def group_fields(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(space-separated field groups, label, fields) for the type-specific panels."""
        return [
            (" ".join(groups), label, [self[name] for name in names])
            for label, names, groups in self.PANELS
        ]

    def values(self, *, only_changed: bool) -> dict[str, Any]:
        names = [
            n for n in (*EDITABLE_FIELDS, "attendee_users", "attendees") if n in self.cleaned_data
        ]
        if only_changed:
            names = [n for n in names if n in self.changed_data]
        values = {name: self.cleaned_data[name] for name in names}
        for name in ("channel", "currency", "claim_subject"):
            if name in values and values[name] is None:
                values[name] = ""
        return values

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        case_type = data.get("case_type")
        if (
            case_type is not None
            and self.case is None
            and not data.get("section")
            and case_type.default_section_id is None
        ):
            self.add_error("section", f"Choose a section: {case_type} has no default section.")
        elif (
            case_type is not None
            and self.case is None
            and not data.get("section")
            and case_type.default_section_id not in self.visible_section_ids
        ):
            self.add_error("section", "Choose a section.")
        return data


def case_initial(case: Case) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        field = Case._meta.get_field(name)
        initial[name] = getattr(case, field.attname)  # type: ignore[union-attr]
    initial["attendee_users"] = [u.pk for u in case.attendee_users.all()]
    initial["attendees"] = [p.pk for p in case.attendees.all()]
    return initial


class NoteForm(forms.Form):
    """The files come from ``request.FILES.getlist("files")``; the service checks them."""

    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=100_000)


class ReplyForm(NoteForm):
    to = forms.CharField(max_length=1000, required=False)
    cc = forms.CharField(max_length=1000, required=False, label="Cc")

    def addresses(self, name: str) -> list[str]:
        raw = self.cleaned_data.get(name) or ""
        return [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]


class WatcherForm(forms.Form):
    user = UserChoiceField(queryset=User.objects.none(), required=False)
    email = forms.CharField(max_length=254, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff_users()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("user") and not (data.get("email") or "").strip():
            raise ValidationError("Pick a user or type an email address.")
        return data


class LinkForm(forms.Form):
    kind = forms.ChoiceField(choices=[("case", "Case"), ("partner", "Partner")])
    case = IdChoiceField(queryset=Case.objects.none(), required=False)
    partner = PartnerChoiceField(required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cases = visible_cases(user)
        self.fields["case"].queryset = cases  # type: ignore[attr-defined]
        self.fields["case"].widget = CaseChoiceWidget(cases=cases)

    def target(self) -> Any:
        kind = self.cleaned_data["kind"]
        target = self.cleaned_data.get(kind)
        if target is None:
            raise ValidationError({kind: f"Choose the {kind} to link."})
        return target


class MergeForm(forms.Form):
    into = IdChoiceField(queryset=Case.objects.none(), label="Merge into case")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cases = visible_cases(user).filter(merged_into__isnull=True)
        self.fields["into"].queryset = cases  # type: ignore[attr-defined]
        self.fields["into"].widget = CaseChoiceWidget(cases=cases)


class SplitForm(forms.Form):
    subject = forms.CharField(max_length=250, required=False)


class StateForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=10_000
    )


class ExpenseDecisionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5_000
    )


class BulkForm(forms.Form):
    ACTIONS = [
        ("assign", "Assign to"),
        ("state", "Change state"),
        ("priority", "Set priority"),
        ("merge", "Merge into the oldest"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    responsible = UserChoiceField(queryset=User.objects.none(), required=False)
    state = forms.ChoiceField(
        required=False, choices=BLANK + [(k, v) for k, v in (
            ("open", "Open"), ("pending", "Pending"), ("close", "Close"),
            ("cancel", "Cancel"), ("reset", "Reset to draft"),
        )]
    )  # fmt: skip
    priority = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=BLANK + list(Priority.choices)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = staff_users()  # type: ignore[attr-defined]
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        ids = self.fields["ids"]
        assert isinstance(ids, forms.ChoiceField)  # noqa: S101
        ids.choices = [(v, v) for v in raw if is_valid_id(v)]


class SavedFilterForm(forms.Form):
    name = forms.CharField(max_length=60)
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)
