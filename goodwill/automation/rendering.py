"""Sandboxed rendering of the email templates that managers write in the UI.

Templates use Django's template language, compiled by engines of their own (not
the project's ``TEMPLATES`` setting): no loaders, no directories, no loadable
libraries, and a single built-in library holding only the tags and filters in
:data:`ALLOWED_TAGS` and :data:`ALLOWED_FILTERS`. ``{% load %}``, ``{% include %}``,
``{% extends %}``, ``{% url %}``, ``{% debug %}``… do not exist for them, so a
template that uses one fails to compile with a clear message.

Templates are meant to be checked when they are saved (:func:`template_check`):
syntax errors come back with their line, unknown placeholders with a "did you
mean" suggestion. Sending then only renders (:func:`template_render`); a missing
value renders as an empty string.

The context a template sees (:func:`case_context`) is made of plain dicts of
strings, numbers and datetimes, never model instances, so no method or
attribute of the ORM is reachable. When rendering, dicts are further sealed:
a template can read their keys but none of their methods (``{{ case.clear }}``
renders nothing and changes nothing).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, ClassVar

from django.conf import settings
from django.template import (
    Context,
    Engine,
    Library,
    Node,
    NodeList,
    Template,
    defaultfilters,
    defaulttags,
)
from django.template.base import (
    FilterExpression,
    TextNode,
    Variable,
    VariableNode,
    render_value_in_context,
)
from django.template.exceptions import TemplateSyntaxError
from django.urls import reverse

from goodwill.cases.models import Case

__all__ = [
    "ALLOWED_FILTERS",
    "ALLOWED_TAGS",
    "PLACEHOLDERS",
    "TemplateProblem",
    "case_context",
    "template_check",
    "template_render",
]

#: The placeholders templates may use, with what each holds (shown to managers).
PLACEHOLDERS: dict[str, str] = {
    "case.number": "The case number, e.g. 1042.",
    "case.reference": 'The case reference, e.g. "#1042".',
    "case.subject": "The case subject.",
    "case.state": 'The case state as shown to people: "Draft", "Open", "Pending", '
    '"Done" or "Cancelled".',
    "case.priority": 'The case priority as shown to people, e.g. "3 Normal".',
    "case.link": "The address of the case's page in Goodwill (for staff).",
    "case.section": "The name of the case's section.",
    "case.type": "The name of the case's type, e.g. Helpdesk.",
    "case.deadline": "The case deadline (a date and time; empty when none). "
    'Format it with the date filter: {{ case.deadline|date:"j F Y" }}.',
    "case.created_at": "When the case was created (a date and time).",
    "requester.name": "The requester's name: the contact's, else the partner's when the "
    "requester writes from one of its addresses, else the start of the email address.",
    "requester.email": "The requester's email address.",
    "partner.name": "The name of the case's partner (empty when none).",
    "responsible.name": "The name of the person responsible for the case (empty when none).",
    "responsible.email": "The email address of the person responsible (empty when none).",
    "section.name": "The name of the case's section.",
    "section.email": "The section's email address (replies go out from it).",
    "sla.first_response_due": "When a first response is due (a date and time; empty when "
    "no service level applies).",
    "sla.resolution_due": "When the case must be resolved (a date and time; empty when "
    "no service level applies).",
    "message.author": "Who wrote the message this mail is about: a person's name or "
    "an email address (empty when there is none).",
    "message.text": "The text of that message. The gateway's notifications and relays "
    "give the message that just arrived (or the internal note); a rule's email gives "
    "the case's latest message or note.",
    "message.internal": "True when the message is an internal note (staff only): "
    "{% if message.internal %}…{% endif %}.",
    "portal.link": "The address of the customer portal.",
    "site.name": "The name of this Goodwill site.",
}

#: Tags a template may use. The closing and intermediate tags (``endif``,
#: ``else``, ``empty``…) are parsed by these and need no entry of their own.
ALLOWED_TAGS: tuple[str, ...] = (
    "comment",
    "firstof",
    "for",
    "if",
    "now",
    "spaceless",
    "verbatim",
    "with",
)

#: Filters a template may use.
ALLOWED_FILTERS: tuple[str, ...] = (
    "capfirst",
    "date",
    "default",
    "default_if_none",
    "first",
    "floatformat",
    "join",
    "last",
    "length",
    "linebreaksbr",
    "lower",
    "pluralize",
    "time",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "yesno",
)

# Tags that only close or continue an allowed tag: not "unknown" when out of place.
_INNER_TAGS = frozenset(
    {
        "elif",
        "else",
        "empty",
        "endcomment",
        "endfor",
        "endif",
        "endspaceless",
        "endverbatim",
        "endwith",
    }
)
# Names every Django context holds.
_CONTEXT_BUILTINS = frozenset({"True", "False", "None"})
# The most decimal places ``floatformat`` may ask for.
_MAX_FLOAT_PLACES = 20


class TemplateProblem(ValueError):
    """A template that cannot be used; ``messages`` says why, for people."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages: list[str] = list(messages)


def _floatformat(text: Any, arg: str | int = -1) -> str:
    """Django's ``floatformat``, with at most ``_MAX_FLOAT_PLACES`` decimal places.

    An argument such as ``"1000000"`` would otherwise build a million-digit string.
    """
    raw = str(arg)
    suffix = raw.lstrip("+-0123456789")
    number = raw[: len(raw) - len(suffix)]
    try:
        places = int(number)
    except ValueError:
        return defaultfilters.floatformat(text, arg)
    places = max(-_MAX_FLOAT_PLACES, min(_MAX_FLOAT_PLACES, places))
    return defaultfilters.floatformat(text, f"{places}{suffix}")


def _sandbox_library() -> Library:
    """The one library sandboxed templates get: the allowed tags and filters only."""
    library = Library()
    for name in ALLOWED_TAGS:
        library.tags[name] = defaulttags.register.tags[name]
    for name in ALLOWED_FILTERS:
        library.filters[name] = defaultfilters.register.filters[name]
    library.filter("floatformat", _floatformat, is_safe=True)
    return library


_LIBRARY = _sandbox_library()


class _SandboxEngine(Engine):
    """An engine with no loaders, no libraries and only :data:`_LIBRARY` built in."""

    default_builtins: ClassVar[list[str]] = []  # none of Django's

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            dirs=[],
            app_dirs=False,
            context_processors=[],
            debug=False,
            loaders=[],
            string_if_invalid="",
            libraries={},
            builtins=[],
            autoescape=autoescape,
        )
        self.template_builtins = [_LIBRARY]


_TEXT_ENGINE = _SandboxEngine(autoescape=False)
_HTML_ENGINE = _SandboxEngine(autoescape=True)


# --- Compiling ---------------------------------------------------------------------

_ON_LINE = re.compile(r" on line \d+")  # the line comes first instead
_FORGOT = " Did you forget to register or load this tag?"
_UNDERSCORE = re.compile(r"Variables and attributes may not begin with underscores: '(.*)'")
_INVALID_FILTER = re.compile(r"Invalid filter: '(.*)'")


def _syntax_message(exc: TemplateSyntaxError) -> str:
    """A person-readable message for a compile error, starting with its line."""
    token = getattr(exc, "token", None)
    line: int | None = getattr(token, "lineno", None)
    message = _ON_LINE.sub("", str(exc)).replace(_FORGOT, "")
    command = ""
    if token is not None and token.token_type.name == "BLOCK":
        command = (token.contents.split() or [""])[0]
    if match := _UNDERSCORE.fullmatch(message):
        message = (
            f"Unknown placeholder {{{{ {match[1]} }}}}: names starting with an underscore "
            "are not allowed."
        )
    elif match := _INVALID_FILTER.fullmatch(message):
        message = (
            f"Invalid filter '{match[1]}': it does not exist or is not allowed here "
            f"(allowed filters: {', '.join(ALLOWED_FILTERS)})."
        )
    elif (
        message.startswith("Invalid block tag")
        and command
        and command not in ALLOWED_TAGS
        and command not in _INNER_TAGS
    ):
        message = (
            f"Invalid block tag '{command}': it does not exist or is not allowed here "
            f"(allowed tags: {', '.join(ALLOWED_TAGS)})."
        )
    return f"Line {line}: {message}" if line is not None else message


class _BlankNoneVariableNode(VariableNode):
    """``{{ value }}``, rendering ``None`` as ``""`` rather than Django's "None".

    An empty deadline or service level then leaves no "None" in an email, while
    ``default_if_none`` and ``{% if value == None %}`` still see the ``None``.
    """

    def render(self, context: Context) -> str:
        output = self.filter_expression.resolve(context)
        return "" if output is None else str(render_value_in_context(output, context))


@lru_cache(maxsize=256)
def _compile(text: str, html: bool) -> Template:
    """The compiled template; raises :class:`TemplateProblem` on a syntax error."""
    engine = _HTML_ENGINE if html else _TEXT_ENGINE
    try:
        template = engine.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem([_syntax_message(exc)]) from exc
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        node.__class__ = _BlankNoneVariableNode
    return template


# --- Checking placeholders ---------------------------------------------------------


def _is_known(path: str) -> bool:
    """A documented placeholder, or a prefix of one ("case" in ``{% if case %}``)."""
    return path in PLACEHOLDERS or any(known.startswith(path + ".") for known in PLACEHOLDERS)


def _expression_variables(expression: FilterExpression) -> Iterator[Variable]:
    """The variables of ``var|filter:arg``: the value and the filters' arguments."""
    if isinstance(expression.var, Variable):
        yield expression.var
    for _func, args in expression.filters:
        for is_variable, arg in args:
            if is_variable and isinstance(arg, Variable):
                yield arg


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    """The filter expressions of an ``{% if %}`` condition tree."""
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield value
        return
    yield from _condition_expressions(getattr(condition, "first", None))
    yield from _condition_expressions(getattr(condition, "second", None))


class _PlaceholderWalker:
    """Collects the unknown placeholders of a compiled template, in order."""

    def __init__(self) -> None:
        self.unknown: dict[str, int | None] = {}

    def expression(
        self, expression: FilterExpression, names: frozenset[str], line: int | None
    ) -> None:
        for variable in _expression_variables(expression):
            if variable.lookups is None:  # a literal: "text", 3, _("text")
                continue
            path = ".".join(variable.lookups)
            first = variable.lookups[0]
            if first in names or first in _CONTEXT_BUILTINS or _is_known(path):
                continue
            self.unknown.setdefault(path, line)

    def nodelist(self, nodes: Iterable[Any], names: frozenset[str]) -> None:
        for node in nodes:
            names = self.node(node, names)

    def node(self, node: Node, names: frozenset[str]) -> frozenset[str]:
        """Walk *node*; return the names defined for the nodes after it (``as`` vars)."""
        token = getattr(node, "token", None)
        line: int | None = getattr(token, "lineno", None)
        if isinstance(node, TextNode | defaulttags.CommentNode | defaulttags.VerbatimNode):
            return names
        if isinstance(node, VariableNode):
            self.expression(node.filter_expression, names, line)
        elif isinstance(node, defaulttags.IfNode):
            for condition, nodelist in node.conditions_nodelists:
                for expression in _condition_expressions(condition):
                    self.expression(expression, names, line)
                self.nodelist(nodelist, names)
        elif isinstance(node, defaulttags.ForNode):
            if isinstance(node.sequence, FilterExpression):
                self.expression(node.sequence, names, line)
            loopvars = [node.loopvars] if isinstance(node.loopvars, str) else node.loopvars
            inner = names | {"forloop", *loopvars}
            self.nodelist(node.nodelist_loop, inner)
            self.nodelist(node.nodelist_empty, names)
        elif isinstance(node, defaulttags.WithNode):
            for expression in node.extra_context.values():
                self.expression(expression, names, line)
            self.nodelist(node.nodelist, names | set(node.extra_context))
        elif isinstance(node, defaulttags.FirstOfNode):
            for expression in node.vars:
                self.expression(expression, names, line)
            if node.asvar:
                return names | {node.asvar}
        elif isinstance(node, defaulttags.NowNode):
            if node.asvar:
                return names | {node.asvar}
        else:  # spaceless, and any other container: walk its children
            for attribute in node.child_nodelists:
                children = getattr(node, attribute, None)
                if isinstance(children, NodeList):
                    self.nodelist(children, names)
        return names


def _unknown_message(path: str, line: int | None) -> str:
    suggestion = difflib.get_close_matches(path, PLACEHOLDERS, n=1, cutoff=0.6)
    message = f"Unknown placeholder {{{{ {path} }}}}"
    message += f": did you mean {suggestion[0]}?" if suggestion else "."
    return f"Line {line}: {message}" if line is not None else message


def template_check(text: str, *, html: bool = False) -> list[str]:
    """The problems of a template, for people; ``[]`` when it is fine.

    A syntax error (including a tag or filter that is not allowed) comes alone,
    with its line: Django stops at the first one. Otherwise each unknown
    placeholder is reported once, at its first line, with the closest documented
    placeholder as a suggestion. Loop variables (and ``forloop``) are known
    inside their ``{% for %}``, ``{% with %}`` names inside their block, and
    ``as`` names of ``{% firstof %}`` and ``{% now %}`` after their tag.
    """
    try:
        template = _compile(text, html)
    except TemplateProblem as problem:
        return problem.messages
    walker = _PlaceholderWalker()
    walker.nodelist(template.nodelist, frozenset())
    return [_unknown_message(path, line) for path, line in walker.unknown.items()]


# --- Rendering ---------------------------------------------------------------------


class _SealedDict(dict[str, Any]):
    """A dict whose keys templates can read but whose methods they cannot reach.

    Django's variable lookup tries ``value[key]`` first, then ``getattr``: here
    the latter fails for every public name, so ``{{ case.clear }}`` or
    ``{{ case.items }}`` render as empty strings instead of calling the method.
    """

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            return super().__getattribute__(name)
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        # Django re-raises a failed getattr for names that dir() lists.
        return []


def _seal(value: Any) -> Any:
    """A copy of *value* with mappings sealed and lists made tuples, recursively."""
    if isinstance(value, Mapping):
        return _SealedDict({str(key): _seal(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_seal(item) for item in value)
    return value


def template_render(text: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render *text* with *context*; autoescaped when *html*.

    Unknown or missing values, and ``None``, render as ``""``. Raises :class:`TemplateProblem`
    when the template does not compile (see :func:`template_check`) or fails
    while rendering (e.g. looping over a number). The caller's *context* is
    copied, never changed.
    """
    template = _compile(text, html)
    values = {str(key): _seal(value) for key, value in context.items()}
    try:
        return template.render(Context(values, autoescape=html))
    except Exception as exc:
        raise TemplateProblem([f"The template could not be rendered: {exc}"]) from exc


# --- The context of a case ---------------------------------------------------------


def _site_url() -> str:
    return str(settings.SITE_URL).rstrip("/")


def _requester_name(case: Case) -> str:
    """The contact's name, else the partner's if the requester writes from one of
    its addresses, else the local part of the requester's address."""
    if case.contact is not None:
        return case.contact.name
    email = case.requester_email.strip()
    partner = case.partner
    if (
        email
        and partner is not None
        and (
            partner.email.lower() == email.lower()
            or partner.emails.filter(email__iexact=email).exists()
        )
    ):
        return partner.name
    return email.split("@", 1)[0]


def case_context(
    case: Case,
    *,
    sla: Mapping[str, Any] | None = None,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context of *case*, keyed like :data:`PLACEHOLDERS`.

    Plain nested dicts of strings, integers, aware datetimes and ``None`` only:
    no model instance, so templates cannot reach the ORM. ``partner`` and
    ``responsible`` are ``None`` when the case has none (their fields then render
    empty, and ``{% if partner %}`` tests for them). *sla* may give
    ``first_response_due`` and ``resolution_due``; both default to ``None``.
    *message* may give ``author``, ``text`` and ``internal`` (empty when not).
    """
    sla = sla or {}
    site = _site_url()
    responsible = case.responsible
    return {
        "case": {
            "number": case.number,
            "reference": case.reference,
            "subject": case.subject,
            "state": str(case.get_state_display()),
            "priority": str(case.get_priority_display()),
            "link": site + reverse("cases:detail", args=[case.number]),
            "section": case.section.name,
            "type": case.case_type.name,
            "deadline": case.deadline,
            "created_at": case.created_at,
        },
        "requester": {"name": _requester_name(case), "email": case.requester_email},
        "partner": {"name": case.partner.name} if case.partner is not None else None,
        "responsible": (
            {"name": responsible.display_name, "email": responsible.email}
            if responsible is not None
            else None
        ),
        "section": {"name": case.section.name, "email": case.section.email},
        "sla": {
            "first_response_due": sla.get("first_response_due"),
            "resolution_due": sla.get("resolution_due"),
        },
        "message": {
            "author": str((message or {}).get("author", "")),
            "text": str((message or {}).get("text", "")),
            "internal": bool((message or {}).get("internal", False)),
        },
        "portal": {"link": site + "/portal/"},
        "site": {"name": str(getattr(settings, "SITE_NAME", "") or "Goodwill")},
    }
