"""The rules engine: which rules an event on a case triggers, whether their
conditions hold, and their actions, through the case services.

Semantics (docs/automation.md):

- The case services emit events after their transaction commits; each event
  runs the active rules of its trigger once, in sequence order, on the case as
  it is then. A rule whose conditions hold runs its actions in order, each
  through a case service, so the timeline shows "Rule 'X'" as the actor.
- A rule marked "stop here" that fires ends the evaluation of that event.
- Actions emit events of their own (a state change runs the state rules again).
  Such nesting goes 5 deep at most: the sixth level runs nothing and writes a
  warning on the case's timeline.
- Every evaluation that had candidate rules is logged (:class:`RuleLog`): for
  each rule whether it matched and, if not, the first condition that failed.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Field
from django.utils import timezone

from goodwill.automation import actions
from goodwill.automation.models import Rule, RuleLog
from goodwill.cases.models import Case
from goodwill.lib import events
from goodwill.lib.actor import acting_as
from goodwill.lib.forms import error_text
from goodwill.partners.models import TimelineEntry

logger = logging.getLogger(__name__)

MAX_DEPTH = 5
RULES_TTL = 30.0


# --------------------------------------------------------------------------
# The active rules, read once per RULES_TTL seconds per process


@dataclass
class _Rules:
    rules: list[Rule]
    loaded_at: float


_rules: _Rules | None = None


def rules_clear(**_kwargs: Any) -> None:
    global _rules
    _rules = None


def active_rules() -> list[Rule]:
    global _rules
    if _rules is None or time.monotonic() - _rules.loaded_at > RULES_TTL:
        rows = list(Rule.objects.filter(active=True).select_related("section", "case_type"))
        _rules = _Rules(rows, time.monotonic())
    return _rules.rules


# --------------------------------------------------------------------------
# What happened


@dataclass(frozen=True)
class Happening:
    """An event as the rules see it."""

    trigger: str
    event: str
    old_state: str = ""
    new_state: str = ""
    action: str = ""
    fields: tuple[str, ...] = ()
    text: str = ""  # the message's text, for keyword conditions
    key: str = ""  # for time rules: the due time that fired


def happening_of(event: events.Event) -> Happening | None:
    payload = event.payload
    name = event.name
    if name == "case.created":
        return Happening(Rule.Trigger.CREATED, name)
    if name == "case.state_changed":
        return Happening(
            Rule.Trigger.STATE,
            name,
            old_state=str(payload.get("old", "")),
            new_state=str(payload.get("new", "")),
            action=str(payload.get("action", "")),
        )
    if name == "case.updated":
        return Happening(Rule.Trigger.FIELD, name, fields=tuple(payload.get("fields", ())))
    if name == "message.received":
        return Happening(Rule.Trigger.MESSAGE_IN, name)
    if name in ("sla.at_risk", "sla.breached"):
        return Happening(Rule.Trigger.SLA, name, action=name.split(".", 1)[1])
    if name == "message.queued" and payload.get("entry_id"):
        # A reply (automatic messages have no timeline entry).
        return Happening(Rule.Trigger.MESSAGE_OUT, name)
    return None


def trigger_matches(rule: Rule, happening: Happening) -> bool:
    if rule.trigger != happening.trigger:
        return False
    if rule.trigger == Rule.Trigger.STATE:
        if rule.from_state and rule.from_state != happening.old_state:
            return False
        if rule.to_state == "escalated":
            return happening.action == "escalated"
        return not rule.to_state or (
            rule.to_state == happening.new_state and happening.action != "escalated"
        )
    if rule.trigger == Rule.Trigger.FIELD:
        return rule.field_name in happening.fields
    if rule.trigger == Rule.Trigger.SLA:
        return not rule.sla_event or rule.sla_event == happening.action
    return True


def on_event(event: events.Event) -> None:
    happening = happening_of(event)
    case_id = event.payload.get("case_id")
    if happening is None or not case_id:
        return
    text = ""
    entry_id = event.payload.get("entry_id")
    if entry_id and happening.trigger in (Rule.Trigger.MESSAGE_IN, Rule.Trigger.MESSAGE_OUT):
        candidates = [r for r in active_rules() if trigger_matches(r, happening)]
        if candidates and any(r.conditions.get("pattern") for r in candidates):
            text = (
                TimelineEntry.objects.filter(pk=entry_id).values_list("body", flat=True).first()
                or ""
            )
    rules_run(case_id=int(case_id), happening=Happening(**{**happening.__dict__, "text": text}))


# --------------------------------------------------------------------------
# Running


@dataclass
class Result:
    rule: Rule
    matched: bool
    failed: str = ""
    done: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_log(self) -> dict[str, Any]:
        """The log's record of this rule (empty parts left out: a log row holds
        every candidate rule of an event, so it stays small)."""
        row: dict[str, Any] = {
            "rule": self.rule.pk,
            "name": self.rule.name,
            "matched": self.matched,
        }
        if self.failed:
            row["failed"] = self.failed
        if self.done:
            row["actions"] = self.done
        if self.errors:
            row["errors"] = self.errors
        return row


def rules_run(
    *, case_id: int, happening: Happening, only: list[Rule] | None = None
) -> list[Result]:
    """Run the rules *happening* triggers on the case (or just *only*)."""
    rules = [r for r in (only or active_rules()) if trigger_matches(r, happening)]
    if not rules:
        return []
    depth = events.depth()
    case = _case(case_id, for_conditions=True)
    if case is None:
        return []
    if depth >= MAX_DEPTH:
        _too_deep(case, happening)
        return []
    results: list[Result] = []
    with events.deeper():
        for rule in rules:
            failed = condition_failed(rule, case, happening)
            if failed:
                results.append(Result(rule, matched=False, failed=failed))
                continue
            result = Result(rule, matched=True)
            results.append(result)
            _fire(rule, case, result)
            refreshed = _case(case_id)
            if refreshed is None:
                break
            case = refreshed
            if rule.stop:
                break
    _log_write(case.pk, happening.event, depth, [r.as_log() for r in results])
    return results


#: The columns the conditions read (a case has some sixty; loading them all
#: costs more than evaluating fifty rules). Anything else loads when read.
CONDITION_FIELDS = (
    "id",
    "number",
    "subject",
    "description",
    "section",
    "case_type",
    "category",
    "stage",
    "state",
    "priority",
    "channel",
    "responsible",
    "partner",
    "contact",
    "message_count",
)


# Every event with rules to run reads its case and writes a log row. Those two
# statements are written out once instead of compiled by the ORM each time:
# on a small server compiling them cost more than running them (2 ms against
# 0.5 for the read), and they are most of what rules add to a request.


@functools.cache
def _condition_select() -> tuple[str, tuple[str, ...]]:
    """The SELECT of the condition columns of one case, and their attnames."""
    # In the model's order: Model.from_db assigns the values in that order.
    fields = [f for f in Case._meta.concrete_fields if f.name in CONDITION_FIELDS]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    table, pk = quote(Case._meta.db_table), quote(str(cast(Field, Case._meta.pk).column))
    # Identifiers from the model's metadata, quoted; the id is a bound parameter.
    select = f"SELECT {columns} FROM {table} WHERE {pk} = %s"  # noqa: S608
    return select, tuple(f.attname for f in fields)


@functools.cache
def _log_insert() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ("created_at", "case_id", "event", "depth", "results"))
    table = quote(RuleLog._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608


def _log_write(case_id: int | None, event: str, depth: int, results: list[dict[str, Any]]) -> None:
    """One rule-log row (what ``RuleLog.objects.create`` would write)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _log_insert(),
            [
                connection.ops.adapt_datetimefield_value(timezone.now()),
                case_id,
                event[:50],
                depth,
                json.dumps(results),
            ],
        )


def _case(case_id: int, *, for_conditions: bool = False) -> Case | None:
    """The case, whole (less its search text), or only the columns the
    conditions read (the others load when read). No joins: an action or a
    partner-category condition loads a relation when it needs one."""
    if not for_conditions:
        return Case.objects.defer("search_text").filter(pk=case_id).first()
    sql, names = _condition_select()
    with connection.cursor() as cursor:
        cursor.execute(sql, [case_id])
        row = cursor.fetchone()
    return None if row is None else Case.from_db(connection.alias, list(names), row)


def _fire(rule: Rule, case: Case, result: Result) -> None:
    with acting_as(f"Rule '{rule.name}'"):
        for number, action in enumerate(rule.actions):
            # Each action gets the whole case (not the columns the conditions
            # read), as the previous one left it.
            if number or case.get_deferred_fields() - {"search_text"}:
                refreshed = _case(case.pk)
                if refreshed is None:
                    return
                case = refreshed
            label = actions.describe(action)
            try:
                with transaction.atomic():
                    actions.apply(action, case=case, rule=rule)
                result.done.append(label)
            except ValidationError as exc:
                result.errors.append(f"{label}: {error_text(exc)}")
            except Exception as exc:
                logger.exception("rule %s action %s failed", rule.pk, action.get("type"))
                result.errors.append(f"{label}: {type(exc).__name__}: {exc}")
    Rule.objects.filter(pk=rule.pk).update(
        fire_count=F("fire_count") + 1, last_fired_at=timezone.now()
    )


def fires_in_bulk(rule: Rule) -> bool:
    """Whether every action of *rule* sets one field to a fixed value, so that
    :func:`rule_fire_many` can do it to many cases at once."""
    return bool(rule.actions) and all(a.get("type") in actions.BULK_ACTIONS for a in rule.actions)


def rule_fire_many(rule: Rule, cases: list[Case], happening: Happening) -> int:
    """Fire *rule* (see :func:`fires_in_bulk`) on *cases*, which match it, in a
    few statements per action instead of a service call per case: the timeline,
    the events (at one level deeper), the fire count and one log row per case
    are as :func:`rules_run` leaves them. Returns how many cases it fired on."""
    if not cases:
        return 0
    depth = events.depth()
    results = {case.pk: Result(rule, matched=True) for case in cases}
    with events.deeper(), acting_as(f"Rule '{rule.name}'"), transaction.atomic():
        ids = list(results)
        for action in rule.actions:
            label = actions.describe(action)
            try:
                with transaction.atomic():
                    refused = actions.apply_many(action, case_ids=ids)
            except ValidationError as exc:
                refused = dict.fromkeys(ids, error_text(exc))
            for pk, result in results.items():
                if pk in refused:
                    result.errors.append(f"{label}: {refused[pk]}")
                else:
                    result.done.append(label)
        Rule.objects.filter(pk=rule.pk).update(
            fire_count=F("fire_count") + len(cases), last_fired_at=timezone.now()
        )
        RuleLog.objects.bulk_create(
            RuleLog(
                case=case, event=happening.event, depth=depth, results=[results[case.pk].as_log()]
            )
            for case in cases
        )
    return len(cases)


def _too_deep(case: Case, happening: Happening) -> None:
    with acting_as("Rules"):
        from goodwill.partners.services import timeline_add

        timeline_add(
            subject=case,
            partner=case.partner,
            kind=TimelineEntry.Kind.SYSTEM,
            author=None,
            action="rules_stopped",
            body=(
                f"Rules stopped: {happening.event} came {MAX_DEPTH} rule actions deep. "
                "Two rules probably undo each other; check the rule log."
            ),
        )
    RuleLog.objects.create(
        case=case,
        event=happening.event,
        depth=MAX_DEPTH,
        results=[{"rule": None, "name": "", "matched": False, "failed": "depth limit"}],
    )


# --------------------------------------------------------------------------
# Conditions


def condition_failed(rule: Rule, case: Case, happening: Happening) -> str:
    """ "" when the rule applies to *case*; else the first condition that fails."""
    if rule.section_id and rule.section_id != case.section_id:
        return f"the section is not {rule.section}"
    if rule.case_type_id and rule.case_type_id != case.case_type_id:
        return f"the type is not {rule.case_type}"
    for key, check in _CHECKS:
        if key in rule.conditions:
            failed = check(rule.conditions, case, happening)
            if failed:
                return failed
    return ""


def _in(key: str, attribute: str, label: str) -> Callable[[dict[str, Any], Case, Happening], str]:
    def check(conditions: dict[str, Any], case: Case, _happening: Happening) -> str:
        wanted = conditions[key]
        value = getattr(case, attribute)
        if wanted and value not in wanted:
            return f"the {label} is not one of those chosen"
        return ""

    return check


def _responsible(conditions: dict[str, Any], case: Case, _happening: Happening) -> str:
    wanted = conditions["responsibles"]
    value = case.responsible_id or "none"
    return "the responsible is not one of those chosen" if wanted and value not in wanted else ""


def _partner_category(conditions: dict[str, Any], case: Case, _happening: Happening) -> str:
    wanted = set(conditions["partner_categories"])
    if not wanted:
        return ""
    if case.partner is None:
        return "the case has no partner"
    if not wanted & set(case.partner.categories.values_list("id", flat=True)):
        return "the partner is in none of the chosen categories"
    return ""


def _priority(conditions: dict[str, Any], case: Case, _happening: Happening) -> str:
    low, high = conditions.get("priority_min", 1), conditions.get("priority_max", 5)
    if not low <= case.priority <= high:
        return f"the priority is not between {low} and {high}"
    return ""


def _messages(conditions: dict[str, Any], case: Case, _happening: Happening) -> str:
    if case.message_count < conditions["min_messages"]:
        return f"fewer than {conditions['min_messages']} messages"
    return ""


def _pattern(conditions: dict[str, Any], case: Case, happening: Happening) -> str:
    pattern = conditions["pattern"]
    if not pattern:
        return ""
    where = conditions.get("pattern_in", "both")
    texts = []
    if where in ("subject", "both"):
        texts.append(case.subject)
    if where in ("body", "both"):
        texts.append(happening.text or case.description)
    text = "\n".join(texts)
    if conditions.get("pattern_regex"):
        found = re.search(pattern, text, re.IGNORECASE) is not None
    else:
        words = [w.strip().lower() for w in re.split(r"[,\n]", pattern) if w.strip()]
        found = any(w in text.lower() for w in words)
    return "" if found else f"no match for {pattern!r}"


def _sla(conditions: dict[str, Any], case: Case, _happening: Happening) -> str:
    from goodwill.automation.models import CaseSla

    wanted = conditions["sla_status"]
    if not wanted:
        return ""
    status = CaseSla.objects.filter(case=case).values_list("status", flat=True).first() or ""
    return "" if status in wanted else "the SLA status is not one of those chosen"


def _known(conditions: dict[str, Any], case: Case, _happening: Happening) -> str:
    known = case.contact_id is not None or case.partner_id is not None
    if known != conditions["requester_known"]:
        return "the requester is " + ("not " if not known else "") + "a known contact"
    return ""


_CHECKS: list[tuple[str, Callable[[dict[str, Any], Case, Happening], str]]] = [
    ("sections", _in("sections", "section_id", "section")),
    ("case_types", _in("case_types", "case_type_id", "type")),
    ("categories", _in("categories", "category_id", "category")),
    ("stages", _in("stages", "stage_id", "stage")),
    ("states", _in("states", "state", "state")),
    ("responsibles", _responsible),
    ("partners", _in("partners", "partner_id", "partner")),
    ("partner_categories", _partner_category),
    ("priority_min", _priority),
    ("priority_max", _priority),
    ("channels", _in("channels", "channel", "channel")),
    ("min_messages", _messages),
    ("pattern", _pattern),
    ("sla_status", _sla),
    ("requester_known", _known),
]


def install() -> None:
    from django.db.models.signals import post_delete, post_save

    for name in (
        "case.created",
        "case.state_changed",
        "case.updated",
        "message.received",
        "message.queued",
        "sla.at_risk",
        "sla.breached",
    ):
        events.subscribe(name)(on_event)
    post_save.connect(rules_clear, sender=Rule, dispatch_uid="automation-rules-save")
    post_delete.connect(rules_clear, sender=Rule, dispatch_uid="automation-rules-delete")
    from goodwill.automation.models import BusinessCalendar, SlaPolicy
    from goodwill.automation.sla import policies_clear

    for model in (SlaPolicy, BusinessCalendar):
        post_save.connect(policies_clear, sender=model, dispatch_uid=f"automation-sla-{model}")
        post_delete.connect(policies_clear, sender=model, dispatch_uid=f"automation-sla-d-{model}")
