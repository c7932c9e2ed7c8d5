"""The routing table page's forms: one row per route (a formset that can add,
remove and reorder rows) and the fallback. They turn what was chosen into the
rows :func:`goodwill.automation.routing.route_table_save` checks and compiles;
the service's messages come back next to the field of the row they name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory

from goodwill.accounts.selectors import staff_users
from goodwill.automation.models import RouteTable
from goodwill.automation.routing import MAX_KEYWORDS, MAX_ROUTES, ROUTE_FIELDS, RoutingTable
from goodwill.cases.models import CaseType, Section

Choices = list[tuple[str, str]]

EXTRA_ROUTES = 1
_ROUTE_KEY = re.compile(r"^routes\.(\d+)\.(\w+)$")
_ROUTE_PREFIX = re.compile(r"^Route \d+: ")


@dataclass
class RouteChoices:
    """The options of every row's selects, read once per page (so a table of 2
    routes and one of 40 cost the same queries)."""

    case_types: Choices = field(default_factory=list)
    sections: Choices = field(default_factory=list)
    users: Choices = field(default_factory=list)

    @classmethod
    def load(cls, table: RoutingTable) -> RouteChoices:
        chosen = [r.to_user_id for r in table.routes if r.to_user_id is not None]
        return cls(
            case_types=[
                (str(t.pk), t.name if t.active else f"{t.name} (inactive)")
                for t in CaseType.objects.order_by("sequence", "name")
            ],
            sections=[
                (str(s.pk), s.name if s.active else f"{s.name} (inactive)")
                for s in Section.objects.exclude(pk=table.section.pk).order_by("name", "id")
            ],
            users=[(str(u.pk), u.display_name) for u in staff_users(also=chosen)],
        )


def _select(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(choices=[], required=False, label=label)


class RouteForm(forms.Form):
    """One route: when (a type and/or keywords), then where (a section and/or a person)."""

    case_type = _select("Case type")
    keywords = forms.CharField(
        max_length=MAX_KEYWORDS,
        required=False,
        label="Keywords",
        help_text="In the subject, any case; separated by commas.",
        widget=forms.TextInput(attrs={"placeholder": "invoice, billing, payment"}),
    )
    to_section = _select("Move to section")
    to_user = _select("Assign to")

    def __init__(self, *args: Any, choices: RouteChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = choices or RouteChoices()
        for name, blank, options in (
            ("case_type", "any type", choices.case_types),
            ("to_section", "— stay —", choices.sections),
            ("to_user", "— nobody —", choices.users),
        ):
            cast(forms.ChoiceField, self.fields[name]).choices = [("", blank), *options]

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) for name in ROUTE_FIELDS)

    def route(self) -> dict[str, Any]:
        """The row as the service takes it: ids (or None) and the keywords."""
        data = self.cleaned_data
        row: dict[str, Any] = {"keywords": data.get("keywords", "")}
        for name in ("case_type", "to_section", "to_user"):
            row[name] = int(data[name]) if data.get(name) else None
        return row


class BaseRouteFormSet(BaseFormSet):
    """The rows in the order their numbers give; blank and removed rows are skipped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service_errors: list[str] = []

    def filled(self) -> list[RouteForm]:
        return [
            cast(RouteForm, form)
            for form in self.ordered_forms
            if isinstance(form, RouteForm) and not form.is_blank()
        ]

    def routes(self) -> list[dict[str, Any]]:
        return [form.route() for form in self.filled()]

    def service_error(self, key: str, message: str) -> bool:
        """Put the service's message keyed "routes.<row>.<field>" on that field of
        that row (without its "Route 2: ", the row shows where); False if it names
        no row of this formset."""
        match = _ROUTE_KEY.match(key)
        filled = self.filled()
        if match is None or not 1 <= int(match.group(1)) <= len(filled):
            return False
        form = filled[int(match.group(1)) - 1]
        name = match.group(2)
        text = _ROUTE_PREFIX.sub("", message)
        text = text[:1].upper() + text[1:]
        form.add_error(name if name in form.fields else None, text)
        return True


RouteFormSet = formset_factory(
    RouteForm,
    formset=BaseRouteFormSet,
    extra=EXTRA_ROUTES,
    can_order=True,
    can_delete=True,
    max_num=MAX_ROUTES,
    validate_max=True,
)


def route_formset(
    data: Any = None, *, table: RoutingTable, choices: RouteChoices
) -> BaseRouteFormSet:
    initial = [
        {
            "case_type": str(r.case_type_id or ""),
            "keywords": r.keywords,
            "to_section": str(r.to_section_id or ""),
            "to_user": str(r.to_user_id or ""),
            "ORDER": r.sequence,
        }
        for r in table.routes
    ]
    return cast(
        BaseRouteFormSet,
        RouteFormSet(data, prefix="routes", initial=initial, form_kwargs={"choices": choices}),
    )


class FallbackForm(forms.Form):
    fallback = forms.ChoiceField(
        choices=RouteTable.Fallback.choices,
        label="When no route matches",
        help_text="A new case no route took, and that nobody is responsible for yet.",
    )


def apply_route_errors(
    error: ValidationError, *, formset: BaseRouteFormSet, fallback_form: FallbackForm
) -> None:
    """Each of the service's messages next to what it is about."""
    if not hasattr(error, "error_dict"):
        formset.service_errors.extend(error.messages)
        return
    for key, messages in error.message_dict.items():
        for message in messages:
            if formset.service_error(key, message):
                continue
            if key == "fallback":
                fallback_form.add_error("fallback", message)
            else:
                formset.service_errors.append(message)
