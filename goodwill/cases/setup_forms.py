"""Forms of the case setup pages: they parse what a manager typed; the services in
``goodwill.cases.configuration`` decide and save."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from goodwill.accounts.selectors import staff_users
from goodwill.cases.configuration import Pipeline
from goodwill.cases.models import CaseCategory, CaseType, Section, Stage
from goodwill.lib.ids import is_valid_id
from goodwill.partners.forms import IdChoiceField


class UserChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.username)


class UsersField(forms.ModelMultipleChoiceField):
    def clean(self, value: Any) -> Any:
        for item in value or []:
            if not is_valid_id(item):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": item},
                )
        return super().clean(value)

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.username)


class SectionChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Section) -> str:
        label = f"{obj.name} ({obj.code})"
        return label if obj.active else f"{label}, inactive"


class SectionForm(forms.Form):
    name = forms.CharField(max_length=100)
    code = forms.CharField(
        max_length=30,
        help_text="Short and unique, e.g. SUPPORT: letters A–Z, digits, _ and -. "
        "The email gateway routes by it.",
    )
    parent = SectionChoiceField(
        queryset=Section.objects.all(),
        required=False,
        label="Escalates to",
        help_text="Where this section's cases go when they are escalated.",
    )
    responsible = UserChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        help_text="Receives escalations and approves expense claims.",
    )
    members = UsersField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"data-tags": "users"}),
    )
    email = forms.CharField(
        max_length=254,
        required=False,
        label="Inbound / reply-to address",
        help_text="Mail to this address opens cases here; replies go out from it.",
    )
    visibility = forms.ChoiceField(
        choices=Section.Visibility.choices,
        widget=forms.RadioSelect,
        initial=Section.Visibility.PUBLIC,
        help_text="Members only: the section and its cases are hidden from other agents.",
    )
    active = forms.BooleanField(required=False, initial=True)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    pipeline = forms.ChoiceField(
        choices=Pipeline.choices,
        widget=forms.RadioSelect,
        initial=Pipeline.SERVICE,
        label="Starting stages",
        help_text="You can rename, reorder and remove them afterwards.",
    )

    def __init__(self, *args: Any, section: Section | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section
        kept = [section.responsible_id] if section and section.responsible_id else []
        members = list(section.members.values_list("pk", flat=True)) if section else []
        cast(UserChoiceField, self.fields["responsible"]).queryset = staff_users(also=kept)
        cast(UsersField, self.fields["members"]).queryset = staff_users(also=members)
        if section is not None:
            del self.fields["pipeline"]
            cast(SectionChoiceField, self.fields["parent"]).queryset = Section.objects.exclude(
                pk=section.pk
            )

    @staticmethod
    def initial_for(section: Section) -> dict[str, Any]:
        return {
            "name": section.name,
            "code": section.code,
            "parent": section.parent_id,
            "responsible": section.responsible_id,
            "members": list(section.members.values_list("pk", flat=True)),
            "email": section.email,
            "visibility": section.visibility,
            "active": section.active,
            "description": section.description,
        }

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("pipeline", None)
        data["members"] = list(data["members"])
        return data


class CaseTypeForm(forms.Form):
    name = forms.CharField(max_length=60)
    code = forms.CharField(
        max_length=30,
        help_text="Lower case, e.g. helpdesk: letters a–z, digits, _ and -. "
        "Imports and the API refer to types by code.",
    )
    field_groups = forms.MultipleChoiceField(
        choices=CaseType.FieldGroup.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Extra fields",
        help_text="The groups of fields the case form shows for this type.",
    )
    default_section = SectionChoiceField(
        queryset=Section.objects.all(),
        required=False,
        help_text="New cases of this type go here unless someone chooses otherwise.",
    )
    billable = forms.BooleanField(required=False)
    final_close = forms.BooleanField(
        required=False,
        label="Done is final",
        help_text="A done case of this type becomes read-only for good.",
    )
    sequence = forms.IntegerField(
        min_value=0, max_value=2_000_000_000, initial=10, help_text="Lower comes first in menus."
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, case_type: CaseType | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        condition = Q(active=True)
        if case_type is not None and case_type.default_section_id:
            condition |= Q(pk=case_type.default_section_id)
        cast(SectionChoiceField, self.fields["default_section"]).queryset = Section.objects.filter(
            condition
        )

    @staticmethod
    def initial_for(case_type: CaseType) -> dict[str, Any]:
        return {
            "name": case_type.name,
            "code": case_type.code,
            "field_groups": list(case_type.field_groups or []),
            "default_section": case_type.default_section_id,
            "billable": case_type.billable,
            "final_close": case_type.final_close,
            "sequence": case_type.sequence,
            "active": case_type.active,
        }


class CategoryForm(forms.Form):
    name = forms.CharField(max_length=100)
    default_probability = forms.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        label="Probability (%)",
        help_text="Copied to a case when this category is chosen.",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, adding: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if adding:
            del self.fields["active"]

    @staticmethod
    def initial_for(category: CaseCategory) -> dict[str, Any]:
        return {
            "name": category.name,
            "default_probability": category.default_probability,
            "active": category.active,
        }


class StageForm(forms.Form):
    name = forms.CharField(max_length=60)
    probability = forms.IntegerField(
        min_value=0, max_value=100, required=False, label="Probability (%)"
    )
    folded = forms.BooleanField(required=False, help_text="Shown collapsed on the kanban.")

    @staticmethod
    def initial_for(stage: Stage) -> dict[str, Any]:
        return {"name": stage.name, "probability": stage.probability, "folded": stage.folded}


class ReorderForm(forms.Form):
    """The stages in their new order, and optionally one stage to move one step."""

    stage_ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    move = forms.CharField(required=False, max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = cast(forms.TypedMultipleChoiceField, self.fields["stage_ids"])
        ids.valid_value = is_valid_id  # type: ignore[method-assign]
        ids.error_messages["required"] = "The new order lists no stage."

    def clean_move(self) -> tuple[int, str] | None:
        value = self.cleaned_data["move"]
        if not value:
            return None
        match = re.fullmatch(r"([0-9]{1,19}):(up|down)", value)
        if not match or not is_valid_id(match.group(1)):
            raise ValidationError("Move a stage up or down.")
        return int(match.group(1)), match.group(2)

    def order(self) -> list[int]:
        """The ids in their new order, with the move (if any) applied."""
        ids = list(self.cleaned_data["stage_ids"])
        move = self.cleaned_data.get("move")
        if move and move[0] in ids:
            index = ids.index(move[0])
            other = index - 1 if move[1] == "up" else index + 1
            if 0 <= other < len(ids):
                ids[index], ids[other] = ids[other], ids[index]
        return ids


class SeedForm(forms.Form):
    pipeline = forms.ChoiceField(
        choices=[(Pipeline.SERVICE.value, "Service"), (Pipeline.SALES.value, "Sales")]
    )
