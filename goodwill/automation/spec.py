"""What a rule's conditions and actions may say, checked when the rule is saved.

Conditions are one JSON object; every key is optional and all given ones must
hold::

    {"sections": [3], "categories": [7], "case_types": [1], "stages": [9],
     "states": ["open"], "responsibles": [4, "none"], "partners": [12],
     "partner_categories": [5], "priority_min": 1, "priority_max": 2,
     "channels": ["email"], "min_messages": 3,
     "pattern": "invoice|billing", "pattern_regex": true, "pattern_in": "subject",
     "sla_status": ["at_risk", "breached"], "requester_known": false}

Actions are a list, applied in order::

    [{"type": "set_priority", "value": 1},
     {"type": "assign", "method": "round_robin"},
     {"type": "email", "template": "escalated", "to": ["responsible"], "addresses": []},
     {"type": "webhook", "url": "https://hooks.example.com/x", "secret": "…"}]
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from goodwill.cases.models import CaseState, Priority
from goodwill.lib.emailaddr import email_normalise

ID_LISTS = ("sections", "categories", "case_types", "stages", "partners", "partner_categories")
SLA_STATUSES = ("on_track", "at_risk", "breached", "met")
STATE_ACTIONS = ("open", "pending", "close", "cancel", "reset")
RECIPIENTS = ("responsible", "requester", "watchers")
ASSIGN_METHODS = ("round_robin", "least_loaded", "section_responsible")

ACTION_LABELS = {
    "set_state": "Set the state",
    "set_priority": "Set the priority",
    "set_section": "Move to a section",
    "set_responsible": "Set the responsible",
    "set_stage": "Set the stage",
    "set_category": "Set the category",
    "add_watchers": "Add watchers",
    "assign": "Assign within the section",
    "escalate": "Escalate",
    "email": "Send a templated email",
    "remind": "Send a reminder",
    "note": "Log an internal note",
    "follow_up": "Create a follow-up case",
    "webhook": "Call a webhook",
}


def _ids(value: Any, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValidationError(f"{what} must be a list of ids.")
    return value


def conditions_clean(conditions: Any) -> dict[str, Any]:
    """*conditions*, checked; raises ValidationError naming what is wrong."""
    if conditions in (None, ""):
        return {}
    if not isinstance(conditions, dict):
        raise ValidationError("Conditions must be an object.")
    known = {
        *ID_LISTS,
        "states",
        "responsibles",
        "priority_min",
        "priority_max",
        "channels",
        "min_messages",
        "pattern",
        "pattern_regex",
        "pattern_in",
        "sla_status",
        "requester_known",
    }
    unknown = set(conditions) - known
    if unknown:
        raise ValidationError(f"Unknown conditions: {', '.join(sorted(unknown))}.")
    for key in ID_LISTS:
        if key in conditions:
            _ids(conditions[key], key)
    states = conditions.get("states", [])
    if not isinstance(states, list) or set(states) - set(CaseState.values):
        raise ValidationError(f"states must be among {', '.join(CaseState.values)}.")
    responsibles = conditions.get("responsibles", [])
    if not isinstance(responsibles, list) or not all(
        r == "none" or (isinstance(r, int) and r > 0) for r in responsibles
    ):
        raise ValidationError('responsibles must be user ids or "none".')
    for key in ("priority_min", "priority_max"):
        if key in conditions and conditions[key] not in Priority.values:
            raise ValidationError(f"{key} must be 1 to 5.")
    if conditions.get("priority_min", 1) > conditions.get("priority_max", 5):
        raise ValidationError("priority_min must not be above priority_max.")
    if "min_messages" in conditions and (
        not isinstance(conditions["min_messages"], int) or conditions["min_messages"] < 0
    ):
        raise ValidationError("min_messages must be a whole number.")
    if not isinstance(conditions.get("channels", []), list):
        raise ValidationError("channels must be a list.")
    pattern = conditions.get("pattern", "")
    if not isinstance(pattern, str):
        raise ValidationError("pattern must be text.")
    if pattern and conditions.get("pattern_regex"):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValidationError(f"The regular expression is invalid: {exc}.") from None
    if conditions.get("pattern_in", "both") not in ("subject", "body", "both"):
        raise ValidationError("pattern_in must be subject, body or both.")
    statuses = conditions.get("sla_status", [])
    if not isinstance(statuses, list) or set(statuses) - set(SLA_STATUSES):
        raise ValidationError(f"sla_status must be among {', '.join(SLA_STATUSES)}.")
    if "requester_known" in conditions and not isinstance(conditions["requester_known"], bool):
        raise ValidationError("requester_known must be true or false.")
    return conditions


def actions_clean(actions: Any) -> list[dict[str, Any]]:
    """*actions*, checked; raises ValidationError naming the bad action."""
    if actions in (None, ""):
        return []
    if not isinstance(actions, list):
        raise ValidationError("Actions must be a list.")
    for number, action in enumerate(actions, start=1):
        try:
            _action_clean(action)
        except ValidationError as exc:
            raise ValidationError(f"Action {number}: {' '.join(exc.messages)}") from None
    return actions


def _action_clean(action: Any) -> None:
    if not isinstance(action, dict) or action.get("type") not in ACTION_LABELS:
        raise ValidationError(f"the type must be one of {', '.join(ACTION_LABELS)}.")
    kind = action["type"]
    value = action.get("value")
    if kind == "set_state" and value not in STATE_ACTIONS:
        raise ValidationError(f"the state action must be one of {', '.join(STATE_ACTIONS)}.")
    if kind == "set_priority" and value not in Priority.values:
        raise ValidationError("the priority must be 1 to 5.")
    if kind in ("set_section", "set_stage", "set_category") and not (
        isinstance(value, int) and value > 0
    ):
        raise ValidationError("choose what to set.")
    if kind == "set_responsible" and not (value is None or (isinstance(value, int) and value > 0)):
        raise ValidationError("choose a user, or nobody.")
    if kind == "add_watchers":
        _ids(action.get("users", []), "users")
        _emails(action.get("emails", []))
    if kind == "assign" and action.get("method") not in ASSIGN_METHODS:
        raise ValidationError(f"the method must be one of {', '.join(ASSIGN_METHODS)}.")
    if kind == "email":
        if not isinstance(action.get("template"), str) or not action["template"]:
            raise ValidationError("choose a template.")
        to = action.get("to", [])
        if not isinstance(to, list) or set(to) - set(RECIPIENTS):
            raise ValidationError(f"recipients must be among {', '.join(RECIPIENTS)}.")
        if not to and not _emails(action.get("addresses", [])):
            raise ValidationError("say who receives it.")
    if kind == "remind" and action.get("who") not in ("responsible", "requester"):
        raise ValidationError("remind the responsible or the requester.")
    if kind == "note" and not str(action.get("body", "")).strip():
        raise ValidationError("write the note.")
    if kind == "follow_up":
        for key in ("case_type", "section"):
            if not (isinstance(action.get(key), int) and action[key] > 0):
                raise ValidationError(f"choose the follow-up's {key.replace('_', ' ')}.")
    if kind == "webhook":
        try:
            URLValidator(schemes=["http", "https"])(action.get("url", ""))
        except ValidationError:
            raise ValidationError("the webhook needs an http(s) URL.") from None
        if not isinstance(action.get("secret", ""), str):
            raise ValidationError("the secret must be text.")


def _emails(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationError("addresses must be a list.")
    return [email_normalise(str(v)) for v in value]
