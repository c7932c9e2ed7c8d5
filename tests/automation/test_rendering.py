"""The sandboxed renderer of managers' email templates (goodwill.automation.rendering)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from goodwill.accounts.roles import Role
from goodwill.automation.rendering import (
    PLACEHOLDERS,
    TemplateProblem,
    case_context,
    template_check,
    template_render,
)
from tests.factories import CaseFactory, PartnerFactory, PersonFactory, SectionFactory, UserFactory

DEADLINE = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)


def context(**case: Any) -> dict[str, Any]:
    """A hand-made context shaped like case_context's, with *case* overrides."""
    return {
        "case": {
            "number": 1042,
            "reference": "#1042",
            "subject": "Printer on fire",
            "state": "Open",
            "priority": "3 Normal",
            "link": "http://goodwill.test/cases/1042/",
            "section": "Support",
            "type": "Helpdesk",
            "deadline": DEADLINE,
            "created_at": DEADLINE,
            **case,
        },
        "requester": {"name": "Ada", "email": "ada@example.com"},
        "partner": {"name": "Acme"},
        "responsible": {"name": "Bob Agent", "email": "bob@example.com"},
        "section": {"name": "Support", "email": "support@example.com"},
        "sla": {"first_response_due": None, "resolution_due": None},
        "portal": {"link": "http://goodwill.test/portal/"},
        "site": {"name": "Goodwill"},
    }


# --- Rendering -----------------------------------------------------------------------


def test_placeholders_render() -> None:
    """Each placeholder renders its value."""
    text = "{{ case.reference }} {{ case.subject }} for {{ requester.name }} ({{ site.name }})"
    assert template_render(text, context()) == "#1042 Printer on fire for Ada (Goodwill)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ case.subject|upper }}", "PRINTER ON FIRE"),
        ("{{ case.subject|lower }}", "printer on fire"),
        ("{{ case.subject|title }}", "Printer On Fire"),
        ("{{ case.subject|truncatechars:8 }}", "Printer…"),
        ("{{ case.subject|truncatewords:1 }}", "Printer …"),
        ("{{ case.subject|length }}", "15"),
        ("{{ case.subject|first }}", "P"),
        ('{{ case.deadline|date:"Y-m-d" }}', "2025-03-14"),
        ('{{ case.deadline|time:"H:i" }}', "09:30"),
        ('{{ sla.resolution_due|default:"no deadline" }}', "no deadline"),
        ('{{ sla.resolution_due|default_if_none:"none" }}', "none"),
        ("[{{ sla.resolution_due }}]", "[]"),
        ("{% if sla.resolution_due == None %}unset{% endif %}", "unset"),
        ('{{ case.number|yesno:"yes,no" }}', "yes"),
        ("{{ case.number|floatformat:2 }}", "1042.00"),
        ("{{ case.number }} case{{ case.number|pluralize }}", "1042 cases"),
        ("{{ missing.value }}|{{ case.nothing }}", "|"),
    ],
)
def test_filters_render(text: str, expected: str) -> None:
    """The whitelisted filters work as in Django; missing values render as ""."""
    assert template_render(text, context()) == expected


def test_tags_render() -> None:
    """if/elif/else, for (with forloop and empty), with, firstof, now and comment work."""
    text = (
        "{% if case.state == 'Open' %}open{% elif case %}other{% else %}none{% endif %}|"
        "{% for word in words %}{{ forloop.counter }}{{ word }}{% empty %}-{% endfor %}|"
        "{% with who=requester.name %}{{ who|upper }}{% endwith %}|"
        "{% firstof partner.missing requester.name %}|"
        "{% comment %}{{ case.subject }}{% endcomment %}"
        '{% now "Y" as year %}{{ year|length }}'
    )
    values = {**context(), "words": ["a", "b"]}
    assert template_render(text, values) == "open|1a2b|ADA|Ada|4"


def test_floatformat_places_are_capped() -> None:
    """A huge floatformat argument cannot build a huge string."""
    assert len(template_render('{{ case.number|floatformat:"1000000" }}', context())) < 50


def test_html_mode_escapes_and_text_mode_does_not() -> None:
    """A case subject's markup is escaped in HTML templates, kept as is in text ones."""
    values = context(subject="<script>alert(1)</script>")
    html = template_render("<p>{{ case.subject }}</p>", values, html=True)
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert template_render("{{ case.subject }}", values) == "<script>alert(1)</script>"
    multiline = template_render("{{ text|linebreaksbr }}", {"text": "a<b>\nc"}, html=True)
    assert multiline == "a&lt;b&gt;<br>c"


# --- Refused tags and filters --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{% load static %}",
        '{% include "base.html" %}',
        '{% extends "base.html" %}',
        '{% url "cases:detail" 1 %}',
        "{% debug %}",
        "{% csrf_token %}",
        '{% ssi "/etc/passwd" %}',
        "{% templatetag openblock %}",
        "{% block content %}x{% endblock %}",
        "{% cycle 'a' 'b' %}",
        "{% widthratio 1 2 3 %}",
        "{% lorem %}",
        "{% autoescape off %}x{% endautoescape %}",
        "{% filter upper %}x{% endfilter %}",
    ],
)
@pytest.mark.parametrize("html", [False, True])
def test_forbidden_tags_are_refused(text: str, html: bool) -> None:
    """Tags outside the whitelist do not exist: check and render both say so, with
    the line and the tag's name."""
    tag = text.split()[1]
    template = f"Hello\n{text}"
    problems = template_check(template, html=html)
    assert len(problems) == 1
    assert problems[0].startswith(f"Line 2: Invalid block tag '{tag}'")
    assert "not allowed" in problems[0]
    with pytest.raises(TemplateProblem) as caught:
        template_render(template, context(), html=html)
    assert caught.value.messages == problems


@pytest.mark.parametrize("name", ["urlize", "safe", "escape", "pprint", "slugify"])
def test_filters_outside_the_whitelist_are_refused(name: str) -> None:
    """``safe`` and the rest cannot be used, so nothing bypasses escaping."""
    problems = template_check(f"{{{{ case.subject|{name} }}}}", html=True)
    assert problems == [
        f"Line 1: Invalid filter '{name}': it does not exist or is not allowed here "
        "(allowed filters: capfirst, date, default, default_if_none, first, floatformat, "
        "join, last, length, linebreaksbr, lower, pluralize, time, title, truncatechars, "
        "truncatewords, upper, yesno)."
    ]
    with pytest.raises(TemplateProblem):
        template_render(f"{{{{ case.subject|{name} }}}}", context(), html=True)


# --- Checking ------------------------------------------------------------------------


def test_a_good_template_has_no_problems() -> None:
    """Every documented placeholder is accepted, and so are prefixes of them."""
    text = "\n".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)
    text += "{% if case and sla %}{{ 'literal' }}{{ 3 }}{% endif %}"
    assert template_check(text) == []
    assert template_check(text, html=True) == []


def test_unknown_placeholder_suggests_the_closest() -> None:
    """An unknown placeholder is reported once, with its line and a suggestion."""
    text = "Hello {{ requester.name }}\nCase {{ case.nmber }} {{ case.nmber|upper }}"
    assert template_check(text) == [
        "Line 2: Unknown placeholder {{ case.nmber }}: did you mean case.number?"
    ]


def test_unknown_placeholder_without_a_close_match() -> None:
    """With nothing close, the message just says the placeholder is unknown."""
    assert template_check("{{ zzz }}") == ["Line 1: Unknown placeholder {{ zzz }}."]


@pytest.mark.parametrize(
    "text",
    [
        "{% if case.subjet %}x{% endif %}",
        "{% if not case.subjet %}x{% endif %}",
        "{% if case and case.subjet == 'x' %}x{% endif %}",
        "{% for x in case.subjet %}{% endfor %}",
        "{% with x=case.subjet %}{% endwith %}",
        "{% firstof case.subjet 'x' %}",
        "{{ case.subject|default:case.subjet }}",
        "{% spaceless %}{{ case.subjet }}{% endspaceless %}",
        "{% for x in case.subject %}{% empty %}{{ case.subjet }}{% endfor %}",
    ],
)
def test_unknown_placeholders_are_found_everywhere(text: str) -> None:
    """Conditions, loops, with, firstof, filter arguments and nested blocks are checked."""
    assert template_check(text) == [
        "Line 1: Unknown placeholder {{ case.subjet }}: did you mean case.subject?"
    ]


def test_loop_and_with_variables_are_accepted() -> None:
    """Loop variables and forloop inside their loop, with names inside their block,
    ``as`` names after their tag."""
    text = (
        "{% for key in case %}{{ key }}{{ forloop.counter }}"
        "{% for x in case.subject %}{{ forloop.parentloop.first }}{{ x }}{% endfor %}"
        "{% endfor %}"
        "{% with who=requester.name mail=requester.email %}{{ who }} {{ mail }}{% endwith %}"
        "{% firstof partner.name requester.name as name %}{{ name }}"
        '{% now "Y" as year %}{{ year }}{% if case.number == None %}{% endif %}'
    )
    assert template_check(text) == []
    assert template_render(text, context()).startswith("number1")


def test_loop_and_with_variables_do_not_leak() -> None:
    """Outside their block, loop and with names are unknown again."""
    text = (
        "{% for x in case.subject %}{% endfor %}{{ x }}{{ forloop.counter }}"
        "{% with who=requester.name %}{% endwith %}{{ who }}"
    )
    problems = template_check(text)
    assert [p.split("{{ ")[1].split(" }}")[0] for p in problems] == ["x", "forloop.counter", "who"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a\nb\n{% if case %}",
            "Line 3: Unclosed tag: 'if'. Looking for one of: elif, else, endif.",
        ),
        ("a\n{% endif %}", "Line 2: Invalid block tag: 'endif'."),
        ("a\n\n{{ case.subject|date:'x' 'y' }}", "Line 3: Could not parse the remainder"),
        ("{% if case == %}x{% endif %}", "Line 1: Unexpected end of expression in if tag."),
        ("a\n{{ }}", "Line 2: Empty variable tag"),
        ("{% for x in %}{% endfor %}", "Line 1: 'for' statements should have at least four words"),
    ],
)
def test_syntax_errors_report_the_line(text: str, expected: str) -> None:
    """A syntax error is reported alone, with its line, and render raises it."""
    problems = template_check(text)
    assert len(problems) == 1
    assert problems[0].startswith(expected)
    with pytest.raises(TemplateProblem) as caught:
        template_render(text, context())
    assert caught.value.messages == problems
    assert str(caught.value) == problems[0]


def test_rendering_errors_become_template_problems() -> None:
    """A template that compiles but fails while rendering raises TemplateProblem."""
    with pytest.raises(TemplateProblem, match="could not be rendered"):
        template_render("{% for x in case.number %}{% endfor %}", context())


# --- The sandbox ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{ case.__class__ }}",
        "{{ case.subject.__class__ }}",
        "{{ case.subject.__class__.__mro__ }}",
        "{{ _private }}",
        "{% if case.__class__ %}x{% endif %}",
    ],
)
def test_underscore_attributes_are_unknown_and_never_render(text: str) -> None:
    """Python internals are out of reach: check reports them as unknown placeholders
    and render refuses the template instead of showing anything."""
    problems = template_check(text)
    assert len(problems) == 1
    assert problems[0].startswith("Line 1: Unknown placeholder {{ ")
    assert "underscore" in problems[0]
    with pytest.raises(TemplateProblem):
        template_render(text, context())


@pytest.mark.parametrize(
    "text",
    [
        "{{ case.clear }}{{ case.subject }}",
        "{{ case.popitem }}{{ case.subject }}",
        "{{ case.items }}{{ case.values }}{{ case.keys }}{{ case.subject }}",
        "{{ words.clear }}{{ words.pop }}{{ case.subject }}",
    ],
)
def test_methods_of_the_context_are_unreachable(text: str) -> None:
    """Dict and list methods render nothing and change nothing, in the template or
    the caller's context; check reports them as unknown."""
    values = {**context(), "words": ["a"]}
    assert template_render(text, values) == "Printer on fire"
    assert values["case"]["subject"] == "Printer on fire"
    assert len(values["case"]) == 10
    assert values["words"] == ["a"]
    assert template_check(text)[0].startswith("Line 1: Unknown placeholder")


def test_string_methods_are_reported_as_unknown() -> None:
    """Attribute-style access beyond a placeholder is reported, even when harmless."""
    problems = template_check("{{ case.subject.upper }}{{ case.deadline.tzinfo }}")
    assert len(problems) == 2


# --- case_context --------------------------------------------------------------------

PLAIN = (dict, list, str, int, float, bool, dt.datetime, dt.date, Decimal, type(None))


def assert_plain(value: Any, path: str = "context") -> None:
    """Every value in the tree is a plain dict, list or scalar: no model instance."""
    assert type(value) in PLAIN, f"{path} is a {type(value).__name__}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            assert_plain(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_plain(item, f"{path}[{index}]")


def lookup(values: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        values = values[part]
    return values


@pytest.mark.django_db
def test_case_context_is_plain_data_matching_the_placeholders() -> None:
    """Every placeholder has a value; nothing in the context is a model instance."""
    agent = UserFactory(
        first_name="Bob", last_name="Agent", email="bob@example.com", roles=[Role.AGENT]
    )
    section = SectionFactory(name="Support", email="support@example.com")
    partner = PartnerFactory(name="Acme", emails=["info@acme.example"])
    contact = PersonFactory(name="Ada Lovelace", emails=["ada@acme.example"])
    deadline = timezone.now() + dt.timedelta(days=2)
    case = CaseFactory(
        subject="Printer on fire",
        section=section,
        partner=partner,
        contact=contact,
        responsible=agent,
        deadline=deadline,
        state="open",
    )
    due = timezone.now() + dt.timedelta(hours=4)
    values = case_context(case, sla={"first_response_due": due})

    assert_plain(values)
    for name in PLACEHOLDERS:
        lookup(values, name)  # raises KeyError when missing
    assert values["case"] == {
        "number": case.number,
        "reference": f"#{case.number}",
        "subject": "Printer on fire",
        "state": "Open",
        "priority": "3 Normal",
        "link": settings.SITE_URL + reverse("cases:detail", args=[case.number]),
        "section": "Support",
        "type": "Helpdesk request",
        "deadline": deadline,
        "created_at": case.created_at,
    }
    assert values["requester"] == {"name": "Ada Lovelace", "email": "ada@acme.example"}
    assert values["partner"] == {"name": "Acme"}
    assert values["responsible"] == {"name": "Bob Agent", "email": "bob@example.com"}
    assert values["section"] == {"name": "Support", "email": "support@example.com"}
    assert values["sla"] == {"first_response_due": due, "resolution_due": None}
    assert values["portal"] == {"link": settings.SITE_URL + "/portal/"}
    assert values["site"] == {"name": getattr(settings, "SITE_NAME", "Goodwill")}
    assert deadline.tzinfo is not None

    text = "{{ case.reference }} for {{ requester.name }} at {{ partner.name }}"
    assert template_render(text, values) == f"#{case.number} for Ada Lovelace at Acme"


@pytest.mark.django_db
def test_case_context_without_partner_or_responsible() -> None:
    """A bare case: partner and responsible are None, the requester named by the
    local part of the address, the SLA values None; templates render them empty."""
    case = CaseFactory(requester_email="jane.doe@example.com")
    values = case_context(case)
    assert_plain(values)
    assert values["partner"] is None
    assert values["responsible"] is None
    assert values["requester"] == {"name": "jane.doe", "email": "jane.doe@example.com"}
    assert values["sla"] == {"first_response_due": None, "resolution_due": None}
    assert values["case"]["deadline"] is None
    text = "[{{ partner.name }}][{{ responsible.email }}][{{ sla.resolution_due }}]"
    assert template_render(text, values) == "[][][]"
    assert template_render("{% if partner %}x{% else %}none{% endif %}", values) == "none"


@pytest.mark.django_db
def test_requester_named_after_the_partner_it_writes_from() -> None:
    """Without a contact, a requester writing from the partner's address gets its name;
    from another address, the local part of that address."""
    partner = PartnerFactory(name="Acme", emails=["info@acme.example", "sales@acme.example"])
    case = CaseFactory(partner=partner, requester_email="Sales@Acme.example")
    assert case_context(case)["requester"]["name"] == "Acme"
    other = CaseFactory(partner=partner, requester_email="someone@elsewhere.example")
    assert case_context(other)["requester"]["name"] == "someone"


@pytest.mark.django_db
def test_case_context_site_name(settings: Any) -> None:
    """site.name comes from SITE_NAME, "Goodwill" without it."""
    case = CaseFactory()
    settings.SITE_NAME = "Acme Support"
    assert case_context(case)["site"] == {"name": "Acme Support"}
    del settings.SITE_NAME
    assert case_context(case)["site"] == {"name": "Goodwill"}


@pytest.mark.django_db
def test_html_rendering_of_a_real_case_escapes_its_subject() -> None:
    """A hostile subject typed by a customer cannot inject markup into HTML emails."""
    case = CaseFactory(subject="<script>alert('x')</script>")
    values = case_context(case)
    html = template_render("<h1>{{ case.subject }}</h1>", values, html=True)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<script>" in template_render("{{ case.subject }}", values)
