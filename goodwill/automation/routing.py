"""Routing tables: per section, a short list of routes that compile to rules.

A route (iDempiere's R_RequestProcessor_Route) says: a new case of this type
and/or with one of these keywords in its subject moves to that section and/or
goes to that person. :func:`route_table_save` checks every row, then replaces
the section's routes and the rules they compile to, in one transaction:

- one rule per route: trigger "A case is created", limited to the section (and
  to the route's case type), the keyword condition on the subject only, the
  actions "Move to a section" and/or "Set the responsible", and "stop here", so
  the first route that matches wins and nothing after it runs;
- one more rule for the fallback, when there is one: a case still without a
  responsible is assigned within the section (round robin, least loaded, or the
  section's responsible person). It does not stop the rules after it.

Compiled rules have sequence 0, so they run before every rule of sequence 1 and
up (the default is 10); among themselves they run in the order they were
created, which is the table's order. They are created and deleted through
:func:`goodwill.automation.services.rule_save` and ``rule_delete`` like any
rule; the rule pages send whoever wants to edit one to the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models, transaction

from goodwill.accounts.models import User
from goodwill.accounts.permissions import can_use_staff_ui
from goodwill.automation.models import Route, RouteTable, Rule
from goodwill.automation.services import rule_delete, rule_save
from goodwill.cases.models import CaseType, Section
from goodwill.lib.forms import error_text
from goodwill.lib.ids import is_valid_id

MAX_ROUTES = 100
MAX_KEYWORDS = 2000
ROUTE_SEQUENCE = 0
NAME_LENGTH = 150
FALLBACKS = tuple(RouteTable.Fallback.values)
ROUTE_FIELDS = ("case_type", "keywords", "to_section", "to_user")

_KEYWORD_SPLIT = re.compile(r"[,\n]")


@dataclass
class RoutingTable:
    """A section's table as the pages show it (nothing saved yet: no routes and
    no fallback)."""

    section: Section
    fallback: str = RouteTable.Fallback.NONE
    fallback_rule: Rule | None = None
    routes: list[Route] = field(default_factory=list)

    @property
    def fallback_label(self) -> str:
        return str(RouteTable.Fallback(self.fallback).label)

    @property
    def stale(self) -> bool:
        """A compiled rule was deleted by hand: saving the table compiles it again."""
        missing_fallback = self.fallback != RouteTable.Fallback.NONE and self.fallback_rule is None
        return missing_fallback or any(route.rule_id is None for route in self.routes)


def route_table_of(section: Section) -> RoutingTable:
    """*section*'s routes in order, with their targets and rules, and its fallback."""
    table = RouteTable.objects.select_related("fallback_rule").filter(section=section).first()
    routes = list(
        Route.objects.filter(section=section)
        .select_related("case_type", "to_section", "to_user", "rule")
        .order_by("sequence", "id")
    )
    if table is None:
        return RoutingTable(section=section, routes=routes)
    return RoutingTable(
        section=section, fallback=table.fallback, fallback_rule=table.fallback_rule, routes=routes
    )


def routing_section(rule: Rule) -> Section | None:
    """The section whose routing table compiled *rule*; None for an ordinary rule.
    (Select ``route__section`` and ``fallback_of__section`` to read it without queries.)"""
    for name in ("route", "fallback_of"):
        try:
            compiled = getattr(rule, name)
        except ObjectDoesNotExist:
            continue
        if compiled is not None:
            return compiled.section
    return None


def keywords_clean(text: str) -> str:
    """ "Invoice,  billing\\n\\nINVOICE" → "Invoice, billing": once each (any case), in order."""
    seen: dict[str, str] = {}
    for word in _KEYWORD_SPLIT.split(text or ""):
        word = word.strip()
        if word and word.lower() not in seen:
            seen[word.lower()] = word
    return ", ".join(seen.values())


# --------------------------------------------------------------------------
# Checking the rows


@dataclass
class _Row:
    number: int
    case_type: CaseType | None
    keywords: str
    to_section: Section | None
    to_user: User | None


class _Errors:
    """Messages keyed "routes.<row>.<field>", "fallback" or "__all__"; each
    message about a row starts with "Route <row>: "."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, number: int, name: str, message: str) -> None:
        self.found.setdefault(f"routes.{number}.{name}", []).append(f"Route {number}: {message}")

    def add_to(self, key: str, message: str) -> None:
        self.found.setdefault(key, []).append(message)

    def raise_any(self) -> None:
        if self.found:
            raise ValidationError(self.found)


def _id_of(value: Any) -> Any:
    """An instance's pk, an id given as digits as a number, else the value as
    given ("" and None are nothing)."""
    if isinstance(value, models.Model):
        return value.pk
    if value in (None, ""):
        return None
    if not isinstance(value, bool) and isinstance(value, int | str) and is_valid_id(value):
        return int(value)
    return value


def _fetch(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], key: str
) -> dict[Any, Any]:
    """The rows' *key* ids that exist, by id (one query)."""
    ids = {_id_of(row.get(key)) for row in rows}
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    return model._default_manager.in_bulk(wanted) if wanted else {}


def _member_ids(sections: set[int]) -> dict[int, set[int]]:
    """For each section id, the ids of its members and of its responsible person."""
    found: dict[int, set[int]] = {pk: set() for pk in sections}
    through = Section.members.through
    for section_id, user_id in through.objects.filter(section_id__in=sections).values_list(
        "section_id", "user_id"
    ):
        found[section_id].add(user_id)
    for pk, responsible_id in Section.objects.filter(pk__in=sections).values_list(
        "pk", "responsible_id"
    ):
        if responsible_id is not None:
            found[pk].add(responsible_id)
    return found


def _rows_clean(
    section: Section, routes: Sequence[Mapping[str, Any]], errors: _Errors
) -> list[_Row]:
    if len(routes) > MAX_ROUTES:
        errors.add_to("__all__", f"A routing table holds at most {MAX_ROUTES} routes.")
        return []
    case_types = _fetch(CaseType, routes, "case_type")
    sections = _fetch(Section, routes, "to_section")
    users = _fetch(User, routes, "to_user")
    rows: list[_Row] = []
    for number, route in enumerate(routes, start=1):
        unknown = set(route) - set(ROUTE_FIELDS)
        if unknown:
            errors.add_to(
                "__all__", f"Route {number}: unknown fields {', '.join(sorted(unknown))}."
            )
            continue
        row = _Row(number, None, "", None, None)
        for key, found, what in (
            ("case_type", case_types, "case type"),
            ("to_section", sections, "section"),
            ("to_user", users, "user"),
        ):
            wanted = _id_of(route.get(key))
            if wanted is None:
                continue
            if wanted not in found:
                errors.add(number, key, f"there is no {what} #{wanted}.")
                continue
            setattr(row, key, found[wanted])
        text = route.get("keywords") or ""
        if not isinstance(text, str):
            errors.add(number, "keywords", "the keywords must be text.")
            continue
        row.keywords = keywords_clean(text)
        if len(row.keywords) > MAX_KEYWORDS:
            errors.add(number, "keywords", f"at most {MAX_KEYWORDS} characters of keywords.")
        rows.append(row)
    members = _member_ids(
        {(row.to_section or section).pk for row in rows if row.to_user is not None}
    )
    for index, row in enumerate(rows):
        _row_check(section, row, members, errors)
        earlier = next((e for e in rows[:index] if _shadows(e, row)), None)
        if earlier is not None:
            errors.add(
                row.number,
                "keywords" if row.keywords else "case_type",
                f"route {earlier.number} already takes every case this one would: "
                "it would never match.",
            )
    return rows


def _words(keywords: str) -> list[str]:
    return [w.strip().lower() for w in _KEYWORD_SPLIT.split(keywords) if w.strip()]


def _shadows(earlier: _Row, later: _Row) -> bool:
    """Whether every case *later* matches is matched by *earlier* first (the
    engine matches a keyword anywhere in the subject: "bill" takes "billing")."""
    if earlier.case_type is None and not earlier.keywords:
        return False  # an invalid row, reported as such
    if earlier.case_type is not None and earlier.case_type != later.case_type:
        return False
    if not earlier.keywords:
        return True
    found = _words(earlier.keywords)
    wanted = _words(later.keywords)
    return bool(wanted) and all(any(e in w for e in found) for w in wanted)


def _row_check(
    section: Section, row: _Row, members: Mapping[int, set[int]], errors: _Errors
) -> None:
    number = row.number
    key = f"routes.{number}."
    if row.case_type is None and not row.keywords and key + "case_type" not in errors.found:
        errors.add(number, "keywords", "give keywords or choose a case type.")
    target_errors = key + "to_section" in errors.found or key + "to_user" in errors.found
    if row.to_section is None and row.to_user is None and not target_errors:
        errors.add(number, "to_section", "choose a section to move to or a person to assign.")
    if row.to_section is not None:
        if row.to_section.pk == section.pk:
            errors.add(
                number,
                "to_section",
                f"new cases are in {section.name} already; choose another section "
                "or only a person.",
            )
        elif not row.to_section.active:
            errors.add(number, "to_section", f"the section {row.to_section.name} is inactive.")
    user = row.to_user
    if user is not None:
        lands_in = row.to_section or section
        if not can_use_staff_ui(user):
            errors.add(number, "to_user", f"{user.display_name} is not an active staff member.")
        elif user.pk not in members.get(lands_in.pk, set()):
            errors.add(
                number, "to_user", f"{user.display_name} is not a member of {lands_in.name}."
            )


def _fallback_check(section: Section, fallback: str, errors: _Errors) -> None:
    if fallback not in FALLBACKS:
        errors.add_to("fallback", f"The fallback must be one of {', '.join(FALLBACKS)}.")
    elif fallback == RouteTable.Fallback.SECTION_RESPONSIBLE:
        responsible = section.responsible
        if responsible is None or not responsible.is_active:
            errors.add_to(
                "fallback",
                f"{section.name} has no active responsible person: choose another fallback.",
            )
    elif fallback != RouteTable.Fallback.NONE and not any(
        can_use_staff_ui(u) for u in section.members.filter(is_active=True)
    ):
        errors.add_to("fallback", f"{section.name} has no active staff members to assign cases to.")


# --------------------------------------------------------------------------
# Compiling


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _route_name(section: Section, row: _Row) -> str:
    when = [f"type {row.case_type.name}"] if row.case_type is not None else []
    if row.keywords:
        when.append(f"“{_clip(row.keywords, 60)}”")
    then = [row.to_section.name] if row.to_section is not None else []
    if row.to_user is not None:
        then.append(row.to_user.display_name)
    name = f"Route {row.number} of {section.name}: {' and '.join(when)} → {', '.join(then)}"
    return _clip(name, NAME_LENGTH)


def _route_rule_values(section: Section, row: _Row) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    if row.keywords:
        conditions = {"pattern": row.keywords, "pattern_in": "subject"}
    actions: list[dict[str, Any]] = []
    if row.to_section is not None:
        actions.append({"type": "set_section", "value": row.to_section.pk})
    if row.to_user is not None:
        actions.append({"type": "set_responsible", "value": row.to_user.pk})
    return {
        "name": _route_name(section, row),
        "sequence": ROUTE_SEQUENCE,
        "active": True,
        "stop": True,
        "trigger": Rule.Trigger.CREATED,
        "section": section,
        "case_type": row.case_type,
        "conditions": conditions,
        "actions": actions,
        "description": (
            f"Compiled from the routing table of {section.name} (route {row.number}). "
            "Edit the routing table, not this rule: saving the table replaces it."
        ),
    }


def _fallback_rule_values(section: Section, fallback: str, after: int) -> dict[str, Any]:
    label = str(RouteTable.Fallback(fallback).label)
    return {
        "name": _clip(f"Routing fallback of {section.name}: {label[:1].lower()}{label[1:]}", 150),
        "sequence": ROUTE_SEQUENCE,
        "active": True,
        "stop": False,
        "trigger": Rule.Trigger.CREATED,
        "section": section,
        "case_type": None,
        "conditions": {"responsibles": ["none"]},
        "actions": [{"type": "assign", "method": fallback}],
        "description": (
            f"Compiled from the routing table of {section.name}: a new case that none of "
            f"its {after} route{'s' if after != 1 else ''} matched, and that has nobody "
            "responsible, is assigned within the section. Edit the routing table, not this rule."
        ),
    }


def _compiled(*, number: int | None, by: User, values: Mapping[str, Any]) -> Rule:
    try:
        return rule_save(rule=None, by=by, values=values)
    except ValidationError as exc:  # pragma: no cover - the rows were checked above
        where = f"Route {number}" if number is not None else "The fallback"
        raise ValidationError(f"{where} does not compile to a rule: {error_text(exc)}") from None


@transaction.atomic
def route_table_save(
    *, section: Section, routes: list[dict[str, Any]], fallback: str, by: User
) -> list[Route]:
    """Replace *section*'s routing table with *routes* (in order; each a dict of
    ``case_type``, ``keywords``, ``to_section`` and ``to_user``, as instances or
    ids) and *fallback*, and the rules they compile to.

    Every row is checked first; a ValidationError keys its messages
    ``routes.<row>.<field>`` (rows count from 1), ``fallback`` or ``__all__``."""
    errors = _Errors()
    rows = _rows_clean(section, routes, errors)
    _fallback_check(section, fallback, errors)
    errors.raise_any()

    table, _ = RouteTable.objects.select_for_update().get_or_create(section=section)
    old_routes = list(Route.objects.filter(section=section).select_related("rule"))
    old_rules = [r.rule for r in old_routes if r.rule is not None]
    if table.fallback_rule is not None:
        old_rules.append(table.fallback_rule)
    Route.objects.filter(pk__in=[r.pk for r in old_routes]).delete()
    for rule in old_rules:
        rule_delete(rule=rule, by=by)

    saved: list[Route] = []
    for row in rows:
        rule = _compiled(number=row.number, by=by, values=_route_rule_values(section, row))
        saved.append(
            Route.objects.create(
                section=section,
                sequence=row.number,
                case_type=row.case_type,
                keywords=row.keywords,
                to_section=row.to_section,
                to_user=row.to_user,
                rule=rule,
            )
        )
    table.fallback = fallback
    table.fallback_rule = None
    if fallback != RouteTable.Fallback.NONE:
        table.fallback_rule = _compiled(
            number=None, by=by, values=_fallback_rule_values(section, fallback, len(rows))
        )
    table.save()
    return saved
