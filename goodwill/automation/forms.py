"""Forms of the automation setup pages. They turn what a manager chose into the
values the services in ``goodwill.automation.services`` check and save: a rule's
conditions and actions become the JSON of ``goodwill.automation.spec`` here, so
nobody writes JSON or field names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, BoundField, formset_factory

from goodwill.accounts.selectors import staff_users
from goodwill.automation.models import BusinessCalendar, EmailTemplate, Rule, SlaPolicy
from goodwill.automation.services import WEEKDAYS, holidays_parse, hours_parse
from goodwill.automation.spec import ACTION_LABELS
from goodwill.cases.models import Case, CaseCategory, CaseState, CaseType, Priority, Section, Stage
from goodwill.lib.emailaddr import email_normalise
from goodwill.partners.forms import IdChoiceField
from goodwill.partners.models import LANGUAGE_CHOICES, Category
from goodwill.partners.selectors import category_choices

Choices = list[tuple[str, str]]

NONE_CHOSEN = ("", "—")

#: The case fields a "field changes" rule may watch (state changes have their own trigger).
WATCHED_FIELDS: Choices = [
    ("priority", "Priority"),
    ("responsible", "Responsible"),
    ("section", "Section"),
    ("stage", "Stage"),
    ("category", "Category"),
    ("deadline", "Deadline"),
    ("case_type", "Case type"),
    ("subject", "Subject"),
    ("partner", "Partner"),
    ("contact", "Contact"),
    ("channel", "Channel"),
    ("next_action_at", "Next action (when)"),
    ("next_action", "Next action (what)"),
    ("expected_close", "Expected closing"),
    ("probability", "Probability"),
    ("amount", "Amount"),
]
WATCHED_LABELS = dict(WATCHED_FIELDS)

STATE_LABELS: dict[str, str] = {value: str(label).lower() for value, label in CaseState.choices}
TO_STATES: Choices = [("", "any state"), *STATE_LABELS.items(), ("escalated", "escalated")]
FROM_STATES: Choices = [("", "any state"), *STATE_LABELS.items()]
SLA_EVENTS: Choices = [
    ("", "at risk or breached"),
    ("at_risk", "at risk"),
    ("breached", "breached"),
]
SLA_STATUS_LABELS: dict[str, str] = {
    "on_track": "On track",
    "at_risk": "At risk",
    "breached": "Breached",
    "met": "Met",
}
PATTERN_IN: Choices = [
    ("both", "Subject and text"),
    ("subject", "Subject only"),
    ("body", "Text only"),
]
REQUESTER_KNOWN: Choices = [("", "Either"), ("yes", "Known contact"), ("no", "Unknown sender")]
PRIORITIES: Choices = [(str(value), str(label)) for value, label in Priority.choices]

STATE_ACTION_LABELS: dict[str, str] = {
    "open": "Open",
    "pending": "Set pending (waiting on the customer)",
    "close": "Close as done",
    "cancel": "Cancel",
    "reset": "Reset to draft",
}
ASSIGN_METHODS: Choices = [
    ("round_robin", "Round robin (each member in turn)"),
    ("least_loaded", "Least loaded (fewest open cases)"),
    ("section_responsible", "The section's responsible person"),
]
RECIPIENT_LABELS: dict[str, str] = {
    "responsible": "The responsible",
    "requester": "The requester",
    "watchers": "The watchers",
}
REMIND_WHO: Choices = [("responsible", "The responsible"), ("requester", "The requester")]

#: Which action types each field of an action row serves (the page shows only those).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "state": ("set_state",),
    "priority": ("set_priority",),
    "section": ("set_section", "follow_up"),
    "stage": ("set_stage",),
    "category": ("set_category",),
    "responsible": ("set_responsible",),
    "users": ("add_watchers",),
    "emails": ("add_watchers",),
    "method": ("assign",),
    "template": ("email",),
    "recipients": ("email",),
    "addresses": ("email",),
    "attachments": ("email",),
    "who": ("remind",),
    "body": ("note",),
    "case_type": ("follow_up",),
    "subject": ("follow_up",),
    "url": ("webhook",),
    "secret": ("webhook",),
}
#: The row field where a service message about an action of that type belongs.
ACTION_MAIN_FIELD: dict[str, str] = {
    "set_state": "state",
    "set_priority": "priority",
    "set_section": "section",
    "set_stage": "stage",
    "set_category": "category",
    "set_responsible": "responsible",
    "add_watchers": "users",
    "assign": "method",
    "email": "template",
    "remind": "who",
    "note": "body",
    "follow_up": "section",
    "webhook": "url",
}
#: A word in a service message → the row field it is about.
ACTION_MESSAGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("secret", "secret"),
    ("template", "template"),
    ("recipient", "recipients"),
    ("receives", "recipients"),
    ("address", "addresses"),
    ("users", "users"),
    ("case type", "case_type"),
    ("url", "url"),
)
#: A word in a service message about the conditions → the field it is about.
CONDITION_MESSAGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("regular expression", "pattern"),
    ("pattern", "pattern"),
    ("partner_categories", "partner_categories"),
    ("case_types", "case_types"),
    ("categories", "categories"),
    ("sections", "sections"),
    ("stages", "stages"),
    ("states", "states"),
    ("responsibles", "responsibles"),
    ("priority", "priority_max"),
    ("min_messages", "min_messages"),
    ("channels", "channels"),
    ("sla_status", "sla_status"),
    ("requester_known", "requester_known"),
)
#: The conditions the rule form edits; others (set through the API) are kept as they are.
FORM_CONDITIONS = frozenset(
    {
        "sections",
        "case_types",
        "categories",
        "stages",
        "states",
        "responsibles",
        "partner_categories",
        "channels",
        "priority_min",
        "priority_max",
        "min_messages",
        "pattern",
        "pattern_regex",
        "pattern_in",
        "sla_status",
        "requester_known",
    }
)
LANGUAGES: Choices = [("", "Default (any other language)"), *LANGUAGE_CHOICES]
EXTRA_ACTIONS = 2
MAX_ACTIONS = 50
_SPLIT = re.compile(r"[\s,;]+")


# --------------------------------------------------------------------------
# What a rule may point at, read once per page


@dataclass
class RuleChoices:
    """The options of the rule form's selects, read once for the form and all
    its action rows (so the page costs the same with 2 actions or 20)."""

    sections: Choices = field(default_factory=list)
    case_types: Choices = field(default_factory=list)
    categories: Choices = field(default_factory=list)
    stages: Choices = field(default_factory=list)
    users: Choices = field(default_factory=list)
    partner_categories: Choices = field(default_factory=list)
    templates: Choices = field(default_factory=list)

    @classmethod
    def load(cls, rule: Rule | None = None) -> RuleChoices:
        chosen = _chosen_users(rule)
        return cls(
            sections=[
                (str(s.pk), s.name if s.active else f"{s.name} (inactive)")
                for s in Section.objects.order_by("name", "id")
            ],
            case_types=[
                (str(t.pk), t.name if t.active else f"{t.name} (inactive)")
                for t in CaseType.objects.order_by("sequence", "name")
            ],
            categories=[
                (str(c.pk), f"{c.section.name} / {c.name}")
                for c in CaseCategory.objects.select_related("section").order_by(
                    "section__name", "name", "id"
                )
            ],
            stages=[
                (str(s.pk), f"{s.section.name} / {s.name}")
                for s in Stage.objects.select_related("section").order_by(
                    "section__name", "sequence", "id"
                )
            ],
            users=[(str(u.pk), u.display_name) for u in staff_users(also=chosen)],
            partner_categories=[(str(pk), path) for pk, path in category_choices()],
            templates=_template_choices(rule),
        )

    def label(self, kind: str, value: Any) -> str:
        """The name of id *value* among the *kind* choices ("(deleted #7)" if gone)."""
        wanted = str(value)
        for key, label in getattr(self, kind):
            if key == wanted:
                return label
        return f"(deleted #{value})"


def _chosen_users(rule: Rule | None) -> list[int]:
    """Users a rule names, so they stay choosable when they lost their role."""
    if rule is None:
        return []
    ids = [r for r in rule.conditions.get("responsibles", []) if isinstance(r, int)]
    for action in rule.actions:
        if action.get("type") == "set_responsible" and isinstance(action.get("value"), int):
            ids.append(action["value"])
        if action.get("type") == "add_watchers":
            ids.extend(u for u in action.get("users", []) if isinstance(u, int))
    return ids


def _template_choices(rule: Rule | None) -> Choices:
    names: dict[str, str] = {}
    for code, name in EmailTemplate.objects.order_by("code", "language").values_list(
        "code", "name"
    ):
        names.setdefault(code, f"{name} ({code})")
    for action in rule.actions if rule is not None else []:
        code = action.get("template")
        if action.get("type") == "email" and isinstance(code, str) and code not in names:
            names[code] = f"{code} (no such template)"
    return list(names.items())


def _ids(values: Any) -> list[int]:
    return [int(v) for v in values or []]


def _addresses(text: str) -> list[str]:
    """Addresses separated by commas, spaces or lines, normalised (ValidationError if bad)."""
    found = []
    for part in filter(None, _SPLIT.split(text or "")):
        found.append(email_normalise(part))
    return list(dict.fromkeys(found))


def _multiple(choices: Choices, label: str, **kwargs: Any) -> forms.MultipleChoiceField:
    """A tag picker (a plain multiple select without JavaScript)."""
    return forms.MultipleChoiceField(
        choices=choices,
        required=False,
        label=label,
        widget=forms.SelectMultiple(attrs={"data-tags": "", "size": 4}),
        **kwargs,
    )


def _checks(choices: Choices, label: str, **kwargs: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=choices,
        required=False,
        label=label,
        widget=forms.CheckboxSelectMultiple,
        **kwargs,
    )


def _select(choices: Choices, label: str, *, blank: str = "—", **kwargs: Any) -> forms.ChoiceField:
    return forms.ChoiceField(choices=[("", blank), *choices], required=False, label=label, **kwargs)


# --------------------------------------------------------------------------
# Rules: When / If / Then


class RuleForm(forms.Form):
    """The rule itself, its trigger (When) and its conditions (If)."""

    name = forms.CharField(max_length=150)
    sequence = forms.IntegerField(
        min_value=0,
        max_value=2_000_000_000,
        initial=10,
        help_text="Rules run in this order, lowest first.",
    )
    active = forms.BooleanField(required=False, initial=True, help_text="Inactive rules never run.")
    stop = forms.BooleanField(
        required=False,
        label="Stop here",
        help_text="When this rule fires, the rules after it do not run for the same event.",
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For the people who maintain the rules: why it exists.",
    )
    section = IdChoiceField(
        queryset=Section.objects.none(),
        required=False,
        empty_label="Every section",
        label="Only in section",
    )
    case_type = IdChoiceField(
        queryset=CaseType.objects.none(),
        required=False,
        empty_label="Every type",
        label="Only for case type",
    )

    # When
    trigger = forms.ChoiceField(choices=Rule.Trigger.choices, label="When")
    from_state = forms.ChoiceField(choices=FROM_STATES, required=False, label="From")
    to_state = forms.ChoiceField(choices=TO_STATES, required=False, label="To")
    field_name = forms.ChoiceField(
        choices=[NONE_CHOSEN, *WATCHED_FIELDS], required=False, label="Field"
    )
    time_amount = forms.IntegerField(
        min_value=0, max_value=100_000, required=False, initial=1, label="How long"
    )
    time_unit = forms.ChoiceField(
        choices=Rule.TimeUnit.choices, initial=Rule.TimeUnit.HOURS, label="Unit"
    )
    time_base = forms.ChoiceField(
        choices=[NONE_CHOSEN, *Rule.TimeBase.choices], required=False, label="After"
    )
    sla_event = forms.ChoiceField(choices=SLA_EVENTS, required=False, label="The clock is")

    # If
    sections = _multiple([], "Section is one of")
    case_types = _multiple([], "Case type is one of")
    categories = _multiple([], "Category is one of")
    stages = _multiple([], "Stage is one of")
    states = _checks(list(STATE_LABELS.items()), "State is one of")
    responsibles = _multiple([], "Responsible is one of")
    partner_categories = _multiple([], "Partner is in one of the categories")
    channels = _checks(
        [(str(v), str(label)) for v, label in Case.Channel.choices], "Came in through"
    )
    priority_min = _select(PRIORITIES, "Priority from", blank="any")
    priority_max = _select(PRIORITIES, "Priority up to", blank="any")
    min_messages = forms.IntegerField(
        min_value=0, max_value=1_000_000, required=False, label="At least this many messages"
    )
    pattern = forms.CharField(
        max_length=500,
        required=False,
        label="Contains",
        help_text="Words or phrases separated by commas: any of them matches, ignoring case.",
    )
    pattern_regex = forms.BooleanField(
        required=False, label="It is a regular expression (e.g. invoice|billing)"
    )
    pattern_in = forms.ChoiceField(
        choices=PATTERN_IN, initial="both", label="Look in", widget=forms.RadioSelect
    )
    sla_status = _checks(list(SLA_STATUS_LABELS.items()), "SLA status is one of")
    requester_known = forms.ChoiceField(
        choices=REQUESTER_KNOWN,
        required=False,
        initial="",
        label="Requester",
        widget=forms.RadioSelect,
    )

    #: Which "When" sub-fields each trigger uses.
    TRIGGER_PARTS: dict[str, tuple[str, ...]] = {
        "from_state": ("state",),
        "to_state": ("state",),
        "field_name": ("field",),
        "time_amount": ("time",),
        "time_unit": ("time",),
        "time_base": ("time",),
        "sla_event": ("sla",),
    }

    def __init__(
        self,
        *args: Any,
        rule: Rule | None = None,
        choices: RuleChoices | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        self.condition_errors: list[str] = []
        choices = choices or RuleChoices()
        cast(IdChoiceField, self.fields["section"]).queryset = Section.objects.order_by("name")
        cast(IdChoiceField, self.fields["case_type"]).queryset = CaseType.objects.order_by(
            "sequence", "name"
        )
        for name in ("sections", "case_types", "categories", "stages", "partner_categories"):
            cast(forms.ChoiceField, self.fields[name]).choices = getattr(choices, name)
        responsibles = cast(forms.ChoiceField, self.fields["responsibles"])
        responsibles.choices = [("none", "Nobody (unassigned)"), *choices.users]
        watched = rule.field_name if rule is not None else ""
        if watched and watched not in WATCHED_LABELS:
            field_name = cast(forms.ChoiceField, self.fields["field_name"])
            field_name.choices = [NONE_CHOSEN, *WATCHED_FIELDS, (watched, watched)]

    @staticmethod
    def initial_for(rule: Rule) -> dict[str, Any]:
        conditions = rule.conditions or {}
        known = conditions.get("requester_known")
        initial: dict[str, Any] = {
            "name": rule.name,
            "sequence": rule.sequence,
            "active": rule.active,
            "stop": rule.stop,
            "description": rule.description,
            "section": rule.section_id,
            "case_type": rule.case_type_id,
            "trigger": rule.trigger,
            "from_state": rule.from_state,
            "to_state": rule.to_state,
            "field_name": rule.field_name,
            "time_amount": rule.time_amount,
            "time_unit": rule.time_unit,
            "time_base": rule.time_base,
            "sla_event": rule.sla_event,
            "pattern": conditions.get("pattern", ""),
            "pattern_regex": bool(conditions.get("pattern_regex")),
            "pattern_in": conditions.get("pattern_in", "both"),
            "min_messages": conditions.get("min_messages"),
            "priority_min": conditions.get("priority_min", ""),
            "priority_max": conditions.get("priority_max", ""),
            "requester_known": "" if known is None else ("yes" if known else "no"),
        }
        for name in (
            "sections",
            "case_types",
            "categories",
            "stages",
            "states",
            "responsibles",
            "partner_categories",
            "channels",
            "sla_status",
        ):
            initial[name] = [str(v) for v in conditions.get(name, [])]
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("priority_min"), data.get("priority_max")
        if low and high and int(low) > int(high):
            self.add_error("priority_max", "Choose a priority from the first one down.")
        return data

    def when_parts(self) -> list[tuple[BoundField, str]]:
        """The "When" sub-fields with the triggers they belong to."""
        return [(self[name], " ".join(parts)) for name, parts in self.TRIGGER_PARTS.items()]

    def values(self) -> dict[str, Any]:
        """The rule's fields for ``rule_save``; sub-fields of other triggers are cleared."""
        data = self.cleaned_data
        trigger = data["trigger"]
        is_state, is_time = trigger == Rule.Trigger.STATE, trigger == Rule.Trigger.TIME
        return {
            "name": data["name"].strip(),
            "sequence": data["sequence"],
            "active": data["active"],
            "stop": data["stop"],
            "description": data["description"].strip(),
            "section": data["section"],
            "case_type": data["case_type"],
            "trigger": trigger,
            "from_state": data["from_state"] if is_state else "",
            "to_state": data["to_state"] if is_state else "",
            "field_name": data["field_name"] if trigger == Rule.Trigger.FIELD else "",
            "time_amount": (data["time_amount"] or 0) if is_time else 0,
            "time_unit": data["time_unit"],
            "time_base": data["time_base"] if is_time else "",
            "sla_event": data["sla_event"] if trigger == Rule.Trigger.SLA else "",
            "conditions": self.conditions(),
        }

    def conditions(self) -> dict[str, Any]:
        """The chosen conditions as the rule's JSON (only those that say something)."""
        data = self.cleaned_data
        kept = self.rule.conditions if self.rule is not None else {}
        conditions: dict[str, Any] = {
            key: value for key, value in (kept or {}).items() if key not in FORM_CONDITIONS
        }
        for name in ("sections", "case_types", "categories", "stages", "partner_categories"):
            if data.get(name):
                conditions[name] = _ids(data[name])
        for name in ("states", "channels", "sla_status"):
            if data.get(name):
                conditions[name] = list(data[name])
        if data.get("responsibles"):
            conditions["responsibles"] = [
                "none" if value == "none" else int(value) for value in data["responsibles"]
            ]
        for name in ("priority_min", "priority_max"):
            if data.get(name):
                conditions[name] = int(data[name])
        if data.get("min_messages"):
            conditions["min_messages"] = data["min_messages"]
        pattern = (data.get("pattern") or "").strip()
        if pattern:
            conditions["pattern"] = pattern
            if data.get("pattern_regex"):
                conditions["pattern_regex"] = True
            if data.get("pattern_in", "both") != "both":
                conditions["pattern_in"] = data["pattern_in"]
        if data.get("requester_known"):
            conditions["requester_known"] = data["requester_known"] == "yes"
        return conditions

    def condition_error(self, message: str) -> None:
        """Put a service message about the conditions next to the field it names."""
        for word, name in CONDITION_MESSAGE_FIELDS:
            if word in message:
                self.add_error(name, message)
                return
        self.condition_errors.append(message)


class ActionForm(forms.Form):
    """One "Then" row: the type, and the fields that type needs."""

    type = forms.ChoiceField(
        choices=[("", "— choose an action —"), *ACTION_LABELS.items()],
        required=False,
        label="Do",
    )
    state = _select(list(STATE_ACTION_LABELS.items()), "State")
    priority = _select(PRIORITIES, "Priority")
    section = _select([], "Section")
    stage = _select([], "Stage")
    category = _select([], "Category")
    responsible = _select([], "Responsible")
    users = _multiple([], "Staff watchers")
    emails = forms.CharField(
        max_length=2000,
        required=False,
        label="Other watchers (addresses)",
        help_text="Separated by commas.",
    )
    method = _select(ASSIGN_METHODS, "How")
    template = _select([], "Email template")
    recipients = _checks(list(RECIPIENT_LABELS.items()), "To")
    addresses = forms.CharField(
        max_length=2000,
        required=False,
        label="Also to (addresses)",
        help_text="Separated by commas.",
    )
    attachments = forms.BooleanField(required=False, label="Attach the case's files")
    who = _select(REMIND_WHO, "Remind")
    body = forms.CharField(
        required=False,
        max_length=10_000,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Placeholders such as {{ case.reference }} are filled in.",
    )
    case_type = _select([], "Case type")
    subject = forms.CharField(
        max_length=200,
        required=False,
        label="Subject",
        help_text='Empty: "Follow-up of #1042". The subject of the case is added.',
    )
    url = forms.CharField(
        max_length=500, required=False, label="URL", help_text="https://… receives a signed POST."
    )
    secret = forms.CharField(
        max_length=200,
        required=False,
        strip=False,
        label="Secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Signs each request. Leave empty to keep the stored one.",
    )

    def __init__(self, *args: Any, choices: RuleChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = choices or RuleChoices()
        for name, options in (
            ("section", choices.sections),
            ("stage", choices.stages),
            ("category", choices.categories),
            ("case_type", choices.case_types),
            ("template", choices.templates),
            ("users", choices.users),
        ):
            blank = [] if name == "users" else [NONE_CHOSEN]
            cast(forms.ChoiceField, self.fields[name]).choices = [*blank, *options]
        cast(forms.ChoiceField, self.fields["responsible"]).choices = [
            NONE_CHOSEN,
            ("none", "Nobody (unassign)"),
            *choices.users,
        ]
        self.fields["type"].widget.attrs["data-action-type"] = ""

    @staticmethod
    def initial_for(action: dict[str, Any]) -> dict[str, Any]:
        kind = action.get("type", "")
        value = action.get("value")
        initial: dict[str, Any] = {"type": kind}
        simple = {
            "set_state": "state",
            "set_priority": "priority",
            "set_section": "section",
            "set_stage": "stage",
            "set_category": "category",
        }
        if kind in simple:
            initial[simple[kind]] = "" if value is None else str(value)
        elif kind == "set_responsible":
            initial["responsible"] = "none" if value is None else str(value)
        elif kind == "add_watchers":
            initial["users"] = [str(u) for u in action.get("users", [])]
            initial["emails"] = ", ".join(action.get("emails", []))
        elif kind == "assign":
            initial["method"] = action.get("method", "")
        elif kind == "email":
            initial["template"] = action.get("template", "")
            initial["recipients"] = list(action.get("to", []))
            initial["addresses"] = ", ".join(action.get("addresses", []))
            initial["attachments"] = bool(action.get("attachments"))
        elif kind == "remind":
            initial["who"] = action.get("who", "")
        elif kind == "note":
            initial["body"] = action.get("body", "")
        elif kind == "follow_up":
            initial["case_type"] = str(action.get("case_type", ""))
            initial["section"] = str(action.get("section", ""))
            initial["subject"] = action.get("subject", "")
        elif kind == "webhook":
            initial["url"] = action.get("url", "")
        return initial

    def is_blank(self) -> bool:
        return not getattr(self, "cleaned_data", {}).get("type")

    def parts(self) -> list[tuple[BoundField, str]]:
        """The fields after the type, each with the action types that use it."""
        return [(self[name], " ".join(kinds)) for name, kinds in ACTION_FIELDS.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("type")
        if not kind and any(data.get(name) for name in ACTION_FIELDS):
            self.add_error("type", "Choose what this action does, or empty the row.")
        required = {
            "set_state": ("state", "Choose the state."),
            "set_priority": ("priority", "Choose the priority."),
            "set_section": ("section", "Choose the section."),
            "set_stage": ("stage", "Choose the stage."),
            "set_category": ("category", "Choose the category."),
            "set_responsible": ("responsible", "Choose a user, or nobody."),
            "email": ("template", "Choose the template."),
            "remind": ("who", "Choose whom to remind."),
            "note": ("body", "Write the note."),
            "webhook": ("url", "Give the address to call."),
        }
        if kind in required:
            name, message = required[kind]
            if not str(data.get(name) or "").strip() and name not in self.errors:
                self.add_error(name, message)
        if kind == "follow_up":
            for name, message in (
                ("case_type", "Choose the type of the follow-up."),
                ("section", "Choose the section of the follow-up."),
            ):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        for name in ("emails", "addresses"):
            if kind in ACTION_FIELDS[name] and name not in self.errors:
                try:
                    data[name] = _addresses(data.get(name, ""))
                except ValidationError as exc:
                    self.add_error(name, exc)
        nobody = not any(data.get(n) or n in self.errors for n in ("emails", "addresses"))
        if kind == "add_watchers" and not data.get("users") and nobody:
            self.add_error("users", "Choose staff watchers or give addresses.")
        if kind == "email" and not data.get("recipients") and nobody:
            self.add_error("recipients", "Say who receives it.")
        return data

    def action(self, *, secrets: dict[str, str] | None = None) -> dict[str, Any]:
        """The row as one action of the rule's JSON list."""
        data = self.cleaned_data
        kind = data["type"]
        action: dict[str, Any] = {"type": kind}
        if kind == "set_state":
            action["value"] = data["state"]
        elif kind == "set_priority":
            action["value"] = int(data["priority"])
        elif kind in ("set_section", "set_stage", "set_category"):
            action["value"] = int(data[kind.removeprefix("set_")])
        elif kind == "set_responsible":
            chosen = data["responsible"]
            action["value"] = None if chosen == "none" else int(chosen)
        elif kind == "add_watchers":
            action["users"] = _ids(data.get("users"))
            action["emails"] = data.get("emails") or []
        elif kind == "assign":
            action["method"] = data.get("method") or "round_robin"
        elif kind == "email":
            action["template"] = data["template"]
            action["to"] = list(data.get("recipients") or [])
            action["addresses"] = data.get("addresses") or []
            if data.get("attachments"):
                action["attachments"] = True
        elif kind == "remind":
            action["who"] = data["who"]
        elif kind == "note":
            action["body"] = data["body"].strip()
        elif kind == "follow_up":
            action["case_type"] = int(data["case_type"])
            action["section"] = int(data["section"])
            if data.get("subject", "").strip():
                action["subject"] = data["subject"].strip()
        elif kind == "webhook":
            url = data["url"].strip()
            action["url"] = url
            secret = data.get("secret") or (secrets or {}).get(url, "")
            if secret:
                action["secret"] = secret
        return action


class BaseActionFormSet(BaseFormSet):
    """The "Then" rows, in the order their numbers give; blank rows are skipped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service_errors: list[str] = []

    def filled(self) -> list[ActionForm]:
        return [
            cast(ActionForm, form)
            for form in self.ordered_forms
            if isinstance(form, ActionForm) and not form.is_blank()
        ]

    def actions(self, *, keep: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The actions, in order. A webhook left without a secret keeps the one it had
        for the same URL in *keep* (the secret is never sent to the browser)."""
        secrets = {
            str(a.get("url")): str(a.get("secret"))
            for a in keep or []
            if a.get("type") == "webhook" and a.get("secret")
        }
        return [form.action(secrets=secrets) for form in self.filled()]

    def service_error(self, message: str) -> None:
        """Put the service's "Action 2: …" next to the field of that row it is about."""
        match = re.match(r"Action (\d+): (.*)", message, re.DOTALL)
        filled = self.filled() if self.is_bound and self.is_valid() else []
        if not match or not 1 <= int(match.group(1)) <= len(filled):
            self.service_errors.append(message)
            return
        form = filled[int(match.group(1)) - 1]
        text = match.group(2)
        kind = form.cleaned_data.get("type", "")
        name = next(
            (
                name
                for word, name in ACTION_MESSAGE_FIELDS
                if word in text and kind in ACTION_FIELDS.get(name, ())
            ),
            ACTION_MAIN_FIELD.get(kind, "type"),
        )
        form.add_error(name, text[:1].upper() + text[1:])


ActionFormSet = formset_factory(
    ActionForm,
    formset=BaseActionFormSet,
    extra=EXTRA_ACTIONS,
    can_order=True,
    can_delete=True,
    max_num=MAX_ACTIONS,
    validate_max=True,
)


def action_formset(
    data: Any = None, *, rule: Rule | None, choices: RuleChoices
) -> BaseActionFormSet:
    initial = [ActionForm.initial_for(a) for a in rule.actions] if rule is not None else None
    return cast(
        BaseActionFormSet,
        ActionFormSet(data, prefix="actions", initial=initial, form_kwargs={"choices": choices}),
    )


class DryRunForm(forms.Form):
    case = forms.CharField(max_length=24, label="Case number")

    def number(self) -> str:
        return str(self.cleaned_data["case"]).strip().lstrip("#").strip()


# --------------------------------------------------------------------------
# Email templates


class TemplateForm(forms.Form):
    code = forms.SlugField(
        max_length=50,
        help_text="What rules name, e.g. escalated. Letters, digits, - and _.",
    )
    language = forms.ChoiceField(
        choices=LANGUAGES,
        required=False,
        help_text="Partners with this language get this version.",
    )
    name = forms.CharField(max_length=100)
    subject = forms.CharField(max_length=300)
    body_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}), strip=False, label="Text"
    )
    body_html = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        strip=False,
        required=False,
        label="HTML (optional)",
        help_text="Sent alongside the text for mail programs that show HTML.",
    )

    def __init__(self, *args: Any, template: EmailTemplate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if template is not None and template.language not in dict(LANGUAGES):
            language = cast(forms.ChoiceField, self.fields["language"])
            language.choices = [*LANGUAGES, (template.language, template.language)]

    @staticmethod
    def initial_for(template: EmailTemplate) -> dict[str, Any]:
        return {
            "code": template.code,
            "language": template.language,
            "name": template.name,
            "subject": template.subject,
            "body_text": template.body_text,
            "body_html": template.body_html,
        }

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class PreviewForm(forms.Form):
    case = forms.CharField(
        max_length=24,
        required=False,
        label="Preview with case",
        help_text="The number of a case, e.g. 1042.",
    )

    def number(self) -> str:
        return str(self.cleaned_data.get("case") or "").strip().lstrip("#").strip()


# --------------------------------------------------------------------------
# Business calendars


def _hours_field(weekday: int) -> forms.CharField:
    return forms.CharField(
        max_length=200,
        required=False,
        label=WEEKDAYS[weekday],
        widget=forms.TextInput(attrs={"placeholder": "closed"}),
    )


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=100)
    timezone = forms.CharField(
        max_length=64, initial="UTC", label="Time zone", help_text="e.g. Europe/Paris."
    )
    hours_0 = _hours_field(0)
    hours_1 = _hours_field(1)
    hours_2 = _hours_field(2)
    hours_3 = _hours_field(3)
    hours_4 = _hours_field(4)
    hours_5 = _hours_field(5)
    hours_6 = _hours_field(6)
    holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "2026-12-25 Christmas"}),
        help_text="One a line: the date, then its name. The clocks stop on these days.",
    )

    HOUR_FIELDS = tuple(f"hours_{weekday}" for weekday in range(7))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hours_errors: list[str] = []

    @staticmethod
    def initial_for(calendar: BusinessCalendar) -> dict[str, Any]:
        days: dict[int, list[str]] = {weekday: [] for weekday in range(7)}
        for span in calendar.hours or []:
            days.setdefault(int(span["weekday"]), []).append(f"{span['start']}-{span['end']}")
        initial: dict[str, Any] = {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "holidays": "\n".join(
                f"{h['date']} {h.get('name', '')}".strip() for h in calendar.holidays or []
            ),
        }
        for weekday in range(7):
            initial[f"hours_{weekday}"] = ", ".join(days.get(weekday, []))
        return initial

    def hour_fields(self) -> list[BoundField]:
        return [self[name] for name in self.HOUR_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        hours: list[dict[str, Any]] = []
        for weekday, name in enumerate(self.HOUR_FIELDS):
            if name in self.errors:
                continue
            try:
                hours.extend(hours_parse({weekday: data.get(name, "")}))
            except ValidationError as exc:
                self.add_error(name, exc)
        data["hours"] = hours
        if "holidays" not in self.errors:
            try:
                data["holiday_list"] = holidays_parse(data.get("holidays", ""))
            except ValidationError as exc:
                self.add_error("holidays", exc)
        return data

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "timezone": data["timezone"].strip(),
            "hours": data["hours"],
            "holidays": data["holiday_list"],
        }


# --------------------------------------------------------------------------
# SLA policies


class SlaPolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    sequence = forms.IntegerField(
        min_value=0,
        max_value=2_000_000_000,
        initial=10,
        help_text="The first active policy that fits a case applies, lowest first.",
    )
    active = forms.BooleanField(required=False, initial=True)
    section = IdChoiceField(
        queryset=Section.objects.none(), required=False, empty_label="Any section"
    )
    case_type = IdChoiceField(
        queryset=CaseType.objects.none(), required=False, empty_label="Any type"
    )
    priority = forms.TypedChoiceField(
        choices=[("", "Any priority"), *PRIORITIES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    partner_category = forms.TypedChoiceField(
        choices=[],
        coerce=int,
        empty_value=None,
        required=False,
        label="Partner category",
        help_text="Only cases of partners in this category.",
    )
    calendar = IdChoiceField(
        queryset=BusinessCalendar.objects.none(),
        required=False,
        empty_label="Around the clock",
        label="Business calendar",
        help_text="The clocks count only its working hours.",
    )
    first_response_hours = forms.DecimalField(
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        label="First response within (hours)",
    )
    resolution_hours = forms.DecimalField(
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        label="Resolution within (hours)",
    )
    pause_when_pending = forms.BooleanField(
        required=False,
        initial=True,
        label="Pause while pending",
        help_text="Stop the clocks while the case waits on the customer.",
    )
    at_risk_percent = forms.IntegerField(
        min_value=1,
        max_value=100,
        initial=80,
        label="At risk from (%)",
        help_text="A clock is at risk once this share of its target is used.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(IdChoiceField, self.fields["section"]).queryset = Section.objects.order_by("name")
        cast(IdChoiceField, self.fields["case_type"]).queryset = CaseType.objects.order_by(
            "sequence", "name"
        )
        cast(forms.ChoiceField, self.fields["partner_category"]).choices = [
            ("", "Any partner"),
            *((str(pk), path) for pk, path in category_choices()),
        ]
        cast(IdChoiceField, self.fields["calendar"]).queryset = BusinessCalendar.objects.all()

    @staticmethod
    def initial_for(policy: SlaPolicy) -> dict[str, Any]:
        return {
            "name": policy.name,
            "sequence": policy.sequence,
            "active": policy.active,
            "section": policy.section_id,
            "case_type": policy.case_type_id,
            "priority": policy.priority,
            "partner_category": policy.partner_category_id,
            "calendar": policy.calendar_id,
            "first_response_hours": policy.first_response_hours,
            "resolution_hours": policy.resolution_hours,
            "pause_when_pending": policy.pause_when_pending,
            "at_risk_percent": policy.at_risk_percent,
        }

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["name"] = data["name"].strip()
        chosen = data["partner_category"]
        data["partner_category"] = (
            Category.objects.filter(pk=chosen).first() if chosen is not None else None
        )
        return data
