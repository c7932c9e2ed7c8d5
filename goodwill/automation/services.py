"""Changing automation's configuration: rules, templates, calendars, SLA policies.

Each function validates before it writes and raises ValidationError with
messages a manager can act on; :func:`rule_dry_run` shows what a rule would do
to a case without changing anything.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.automation import actions as rule_actions
from goodwill.automation.engine import Happening, condition_failed
from goodwill.automation.models import BusinessCalendar, EmailTemplate, Rule, SlaPolicy
from goodwill.automation.spec import actions_clean, conditions_clean
from goodwill.cases.models import Case, CaseState

RULE_FIELDS = (
    "name",
    "sequence",
    "active",
    "description",
    "stop",
    "section",
    "case_type",
    "trigger",
    "from_state",
    "to_state",
    "field_name",
    "sla_event",
    "time_amount",
    "time_unit",
    "time_base",
    "conditions",
    "actions",
)


@transaction.atomic
def rule_save(*, rule: Rule | None, by: User, values: Mapping[str, Any]) -> Rule:
    """Create (*rule* None) or change a rule; its conditions and actions are checked."""
    rule = rule or Rule()
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set: {', '.join(sorted(unknown))}.")
    for name, value in values.items():
        setattr(rule, name, value)
    errors: dict[str, list[str]] = {}
    for name, clean in (("conditions", conditions_clean), ("actions", actions_clean)):
        try:
            setattr(rule, name, clean(getattr(rule, name)))
        except ValidationError as exc:
            errors[name] = exc.messages
    states = {*CaseState.values, ""}
    if rule.trigger == Rule.Trigger.STATE:
        if rule.from_state not in states:
            errors.setdefault("from_state", []).append("Choose a state.")
        if rule.to_state not in {*states, "escalated"}:
            errors.setdefault("to_state", []).append("Choose a state, or escalated.")
    if rule.trigger == Rule.Trigger.FIELD and not rule.field_name:
        errors.setdefault("field_name", []).append("Choose the field to watch.")
    if rule.trigger == Rule.Trigger.TIME and not rule.time_base:
        errors.setdefault("time_base", []).append("Say after what the time counts.")
    try:
        rule.full_clean(exclude=["conditions", "actions"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    rule.updated_at = timezone.now()
    rule.save()
    if rule.trigger == Rule.Trigger.TIME:
        from goodwill.automation.timed import schedule_rebuild_request

        schedule_rebuild_request(rule=rule, by=by)
    return rule


@dataclass
class DryRun:
    """What a rule would do to a case now."""

    matched: bool
    failed: str = ""
    would: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def rule_dry_run(*, rule: Rule, case: Case) -> DryRun:
    """Evaluate *rule* on *case* and list its actions; nothing is changed."""
    failed = condition_failed(rule, case, Happening(rule.trigger, "dry run"))
    if failed:
        return DryRun(matched=False, failed=failed)
    result = DryRun(matched=True)
    for action in rule.actions:
        result.would.append(rule_actions.describe(action))
        problem = _would_fail(action, case)
        if problem:
            result.problems.append(problem)
    return result


def _would_fail(action: Mapping[str, Any], case: Case) -> str:
    kind = action.get("type")
    if kind == "escalate" and case.section.parent_id is None:
        return f"{case.section} has no section to escalate to."
    if kind == "assign" and not case.section.members.filter(is_active=True).exists():
        return f"{case.section} has no members to assign to."
    if kind == "email":
        try:
            rule_actions.template_for(str(action.get("template")), case)
        except ValidationError as exc:
            return " ".join(exc.messages)
    return ""


@transaction.atomic
def template_save(
    *, template: EmailTemplate | None, by: User, values: Mapping[str, Any]
) -> EmailTemplate:
    """Create or change an email template; placeholders and syntax are checked now."""
    from goodwill.automation.rendering import template_check

    template = template or EmailTemplate()
    for name in ("code", "language", "name", "subject", "body_text", "body_html"):
        if name in values:
            setattr(template, name, values[name])
    errors: dict[str, list[str]] = {}
    for name, html in (("subject", False), ("body_text", False), ("body_html", True)):
        problems = template_check(getattr(template, name) or "", html=html)
        if problems:
            errors[name] = problems
    try:
        template.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    template.updated_at = timezone.now()
    template.save()
    return template


_HOURS = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def hours_parse(lines: Mapping[int, str]) -> list[dict[str, Any]]:
    """{weekday: "09:00-12:00, 13:00-17:00"} → the calendar's hours."""
    hours = []
    for weekday, text in sorted(lines.items()):
        for part in filter(None, (p.strip() for p in (text or "").split(","))):
            match = _HOURS.match(part)
            if match is None:
                raise ValidationError(
                    f"{WEEKDAYS[weekday]}: write hours as 09:00-17:00, not {part!r}."
                )
            start, end = (time.fromisoformat(v.zfill(5)) for v in match.groups())
            if end <= start:
                raise ValidationError(f"{WEEKDAYS[weekday]}: {part} ends before it starts.")
            hours.append({"weekday": weekday, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"})
    return hours


def holidays_parse(text: str) -> list[dict[str, str]]:
    """Lines of "2026-12-25 Christmas" → the calendar's holidays."""
    holidays = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        day, _, name = line.partition(" ")
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise ValidationError(
                f"Holiday line {number}: start with a date like 2026-12-25, not {day!r}."
            ) from None
        holidays.append({"date": parsed.isoformat(), "name": name.strip()})
    return holidays


@transaction.atomic
def calendar_save(
    *, calendar: BusinessCalendar | None, by: User, values: Mapping[str, Any]
) -> BusinessCalendar:
    calendar = calendar or BusinessCalendar()
    for name in ("name", "timezone", "hours", "holidays"):
        if name in values:
            setattr(calendar, name, values[name])
    errors: dict[str, list[str]] = {}
    try:
        zoneinfo.ZoneInfo(calendar.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [f"{calendar.timezone!r} is not a time zone (e.g. Europe/Paris)."]
    if not calendar.hours:
        errors["hours"] = ["Give the calendar some working hours."]
    try:
        calendar.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    calendar.save()
    return calendar


@transaction.atomic
def sla_policy_save(*, policy: SlaPolicy | None, by: User, values: Mapping[str, Any]) -> SlaPolicy:
    policy = policy or SlaPolicy()
    for name, value in values.items():
        setattr(policy, name, value)
    errors: dict[str, list[str]] = {}
    if policy.first_response_hours is None and policy.resolution_hours is None:
        errors["resolution_hours"] = ["Set a first-response or a resolution target."]
    for name in ("first_response_hours", "resolution_hours"):
        value = getattr(policy, name)
        if value is not None and value <= 0:
            errors[name] = ["A target must be more than zero hours."]
    if not 1 <= policy.at_risk_percent <= 100:
        errors["at_risk_percent"] = ["Between 1 and 100."]
    try:
        policy.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    policy.save()
    return policy


@transaction.atomic
def rule_delete(*, rule: Rule, by: User) -> None:
    """Delete a rule; its webhook deliveries keep their rows, without it."""
    rule.delete()


@transaction.atomic
def template_delete(*, template: EmailTemplate, by: User) -> None:
    """Delete a template (rules name templates by code: their email action then
    reports the missing template in the rule log)."""
    template.delete()


@transaction.atomic
def sla_policy_delete(*, policy: SlaPolicy, by: User) -> None:
    """Delete a policy; the cases it applied to keep their clocks, without it."""
    policy.delete()
