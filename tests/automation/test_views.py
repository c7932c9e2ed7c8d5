"""Automation's setup pages: rules (the When / If / Then editor, the rule in words,
its dry run and the rule log), email templates with their preview, business
calendars and SLA policies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.automation import engine
from goodwill.automation.models import BusinessCalendar, EmailTemplate, Rule, RuleLog, SlaPolicy
from goodwill.automation.services import (
    calendar_save,
    rule_save,
    sla_policy_save,
    template_save,
)
from goodwill.cases.models import Case, Section
from tests.factories import CaseFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rules() -> Iterator[None]:
    engine.rules_clear()
    yield
    engine.rules_clear()


@pytest.fixture
def section() -> Section:
    return cast(Section, SectionFactory(name="Support", code="SUPPORT"))


@pytest.fixture
def rule(maria: User, section: Section) -> Rule:
    return rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Invoices first",
            "trigger": "created",
            "conditions": {"pattern": "invoice"},
            "actions": [{"type": "set_priority", "value": 1}],
        },
    )


@pytest.fixture
def template(maria: User) -> EmailTemplate:
    return template_save(
        template=None,
        by=maria,
        values={
            "code": "escalated",
            "name": "Escalated",
            "subject": "About {{ case.subject }}",
            "body_text": "Dear {{ requester.name }}, we are on it.",
        },
    )


@pytest.fixture
def calendar(maria: User) -> BusinessCalendar:
    return calendar_save(
        calendar=None,
        by=maria,
        values={
            "name": "Office",
            "timezone": "Europe/Paris",
            "hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
        },
    )


@pytest.fixture
def policy(maria: User) -> SlaPolicy:
    return sla_policy_save(
        policy=None, by=maria, values={"name": "Standard", "resolution_hours": Decimal(8)}
    )


@pytest.fixture
def objects(
    rule: Rule, template: EmailTemplate, calendar: BusinessCalendar, policy: SlaPolicy
) -> dict[str, Any]:
    return {"rule": rule, "template": template, "calendar": calendar, "policy": policy}


def _url(name: str, *args: Any) -> str:
    return reverse(f"automation:{name}", args=args)


def _case(section: Section, **values: Any) -> Case:
    return cast(Case, CaseFactory(section=section, **values))


def _rule_data(*actions: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What the editor posts: the rule, its conditions, and one row per action
    (plus an empty row, as the page shows)."""
    data: dict[str, Any] = {
        "name": "Invoices first",
        "sequence": "10",
        "active": "on",
        "trigger": "created",
        "time_amount": "1",
        "time_unit": "hours",
        "pattern_in": "both",
        "actions-TOTAL_FORMS": str(len(actions) + 1),
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "50",
    }
    for index, action in enumerate(actions):
        for key, value in action.items():
            data[f"actions-{index}-{key}"] = value
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _errors(response: Any) -> str:
    return response.content.decode()


# --------------------------------------------------------------------------
# Who may use the pages

PAGES = [
    ("rule_list", None),
    ("rule_create", None),
    ("rule_detail", "rule"),
    ("rule_edit", "rule"),
    ("rule_delete", "rule"),
    ("rule_log", None),
    ("template_list", None),
    ("template_create", None),
    ("template_edit", "template"),
    ("template_delete", "template"),
    ("calendar_list", None),
    ("calendar_create", None),
    ("calendar_edit", "calendar"),
    ("sla_list", None),
    ("sla_create", None),
    ("sla_edit", "policy"),
    ("sla_delete", "policy"),
]


def _page_url(name: str, needs: str | None, objects: dict[str, Any]) -> str:
    return _url(name, objects[needs].pk) if needs else _url(name)


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_managers_see_the_page(
    maria_client: Client, objects: dict[str, Any], name: str, needs: str | None
) -> None:
    assert maria_client.get(_page_url(name, needs, objects)).status_code == 200


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_agents_are_refused(
    bob_client: Client, objects: dict[str, Any], name: str, needs: str | None
) -> None:
    assert bob_client.get(_page_url(name, needs, objects)).status_code == 403


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_users_without_a_role_are_refused(
    charlie_client: Client, objects: dict[str, Any], name: str, needs: str | None
) -> None:
    assert charlie_client.get(_page_url(name, needs, objects)).status_code == 403


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_anonymous_visitors_are_sent_to_log_in(
    client: Client, objects: dict[str, Any], name: str, needs: str | None
) -> None:
    response = client.get(_page_url(name, needs, objects))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_agents_cannot_post_to_any_action(bob_client: Client, objects: dict[str, Any]) -> None:
    """Every state-changing endpoint refuses an agent and changes nothing."""
    rule, template, policy = objects["rule"], objects["template"], objects["policy"]
    urls = [
        _url("rule_create"),
        _url("rule_edit", rule.pk),
        _url("rule_set_active", rule.pk),
        _url("rule_delete", rule.pk),
        _url("template_create"),
        _url("template_edit", template.pk),
        _url("template_delete", template.pk),
        _url("calendar_create"),
        _url("calendar_edit", objects["calendar"].pk),
        _url("sla_create"),
        _url("sla_edit", policy.pk),
        _url("sla_delete", policy.pk),
    ]
    for url in urls:
        assert bob_client.post(url, {"active": "0", "name": "Hacked"}).status_code == 403, url
    assert Rule.objects.filter(pk=rule.pk, active=True, name="Invoices first").exists()
    assert EmailTemplate.objects.filter(pk=template.pk).exists()
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()
    assert BusinessCalendar.objects.get().name == "Office"


def test_unknown_ids_are_404s(maria_client: Client) -> None:
    for name in ("rule_detail", "template_edit", "calendar_edit", "sla_edit"):
        assert maria_client.get(_url(name, 999_999)).status_code == 404, name


def test_the_menu_links_the_pages_for_managers_only(
    maria_client: Client, bob_client: Client
) -> None:
    html = maria_client.get(_url("rule_list")).content.decode()
    assert f'href="{_url("rule_list")}" aria-current="page">Rules</a>' in html
    for name in ("template_list", "sla_list", "calendar_list"):
        assert f'href="{_url(name)}"' in html
    assert _url("rule_list") not in bob_client.get(reverse("cases:list")).content.decode()


# --------------------------------------------------------------------------
# The rule list


def test_the_list_says_each_rule_in_words(maria_client: Client, maria: User) -> None:
    rule_save(
        rule=None,
        by=maria,
        values={"name": "Waiting", "trigger": "state", "from_state": "open", "to_state": "pending"},
    )
    late = rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Late",
            "trigger": "time",
            "time_amount": 3,
            "time_unit": "hours",
            "time_base": "deadline",
            "active": False,
        },
    )
    Rule.objects.filter(pk=late.pk).update(
        fire_count=7, last_fired_at=timezone.now() - timedelta(hours=2)
    )
    html = maria_client.get(_url("rule_list")).content.decode()
    assert "State changes open → pending" in html
    assert "3 hours after the deadline" in html
    assert "2\xa0hours ago" in html
    assert "inactive" in html
    assert html.index("Waiting") < html.index("Late")


def test_an_empty_list_offers_a_new_rule(maria_client: Client) -> None:
    html = maria_client.get(_url("rule_list")).content.decode()
    assert "No rules yet." in html
    assert f'href="{_url("rule_create")}"' in html


def test_the_rule_list_costs_the_same_with_thirty_rules(
    maria_client: Client, maria: User, section: Section, django_assert_max_num_queries: Any
) -> None:
    rule_save(rule=None, by=maria, values={"name": "Rule 0", "section": section})
    with CaptureQueriesContext(connection) as one:
        maria_client.get(_url("rule_list"))
    for number in range(1, 30):
        rule_save(rule=None, by=maria, values={"name": f"Rule {number}", "section": section})
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = maria_client.get(_url("rule_list"))
    assert response.content.decode().count("Section Support") == 30


# --------------------------------------------------------------------------
# The rule editor


def test_creating_a_rule_stores_its_json(maria_client: Client, section: Section, bob: User) -> None:
    """Rows run in the order of their step numbers, whatever their place on the page."""
    response = maria_client.post(
        _url("rule_create"),
        _rule_data(
            {"type": "assign", "method": "least_loaded", "ORDER": "2"},
            {"type": "set_priority", "priority": "1", "ORDER": "1"},
            pattern="invoice, billing",
            sections=[str(section.pk)],
            responsibles=["none", str(bob.pk)],
            states=["draft", "open"],
            priority_max="3",
            requester_known="yes",
        ),
    )
    rule = Rule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("rule_detail", rule.pk)
    assert rule.trigger == "created"
    assert rule.conditions == {
        "sections": [section.pk],
        "states": ["draft", "open"],
        "responsibles": ["none", bob.pk],
        "priority_max": 3,
        "pattern": "invoice, billing",
        "requester_known": True,
    }
    assert rule.actions == [
        {"type": "set_priority", "value": 1},
        {"type": "assign", "method": "least_loaded"},
    ]


def test_sub_fields_of_another_trigger_are_not_kept(maria_client: Client) -> None:
    maria_client.post(
        _url("rule_create"),
        _rule_data(trigger="sla", sla_event="breached", from_state="open", field_name="priority"),
    )
    rule = Rule.objects.get()
    assert (rule.sla_event, rule.from_state, rule.field_name) == ("breached", "", "")


def test_an_invalid_regex_is_shown_next_to_the_pattern(maria_client: Client) -> None:
    response = maria_client.post(
        _url("rule_create"),
        _rule_data(
            {"type": "set_priority", "priority": "1"}, pattern="invoice(", pattern_regex="on"
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["pattern"]
    assert "The regular expression is invalid" in errors[0]
    assert "The regular expression is invalid" in _errors(response)
    assert not Rule.objects.exists()


def test_an_action_without_its_value_is_refused(maria_client: Client) -> None:
    response = maria_client.post(
        _url("rule_create"),
        _rule_data({"type": "set_priority"}, {"type": "email", "template": ""}),
    )
    assert response.status_code == 400
    rows = response.context["formset"].forms
    assert rows[0].errors["priority"] == ["Choose the priority."]
    assert rows[1].errors["template"] == ["Choose the template."]
    assert rows[1].errors["recipients"] == ["Say who receives it."]
    assert "Choose the priority." in _errors(response)
    assert not Rule.objects.exists()


def test_a_service_error_on_an_action_goes_to_its_row(maria_client: Client) -> None:
    """The spec's "Action 2: …" message lands on the second action's field."""
    response = maria_client.post(
        _url("rule_create"),
        _rule_data(
            {"type": "escalate"},
            {"type": "webhook", "url": "ftp://hooks.example.com/x"},
        ),
    )
    assert response.status_code == 400
    rows = response.context["formset"].forms
    assert rows[1].errors["url"] == ["The webhook needs an http(s) URL."]
    assert not Rule.objects.exists()


def test_a_missing_watched_field_is_shown_next_to_it(maria_client: Client) -> None:
    response = maria_client.post(_url("rule_create"), _rule_data(trigger="field"))
    assert response.status_code == 400
    assert response.context["form"].errors["field_name"] == ["Choose the field to watch."]


def test_nonsense_input_never_gives_a_500(maria_client: Client) -> None:
    response = maria_client.post(
        _url("rule_create"),
        _rule_data(
            {"type": "set_section", "section": "99999999999999999999999"},
            {"type": "no_such_action"},
            sections=["x", "99999999999999999999999"],
            section="99999999999999999999999",
            priority_min="9",
            min_messages="-3",
            trigger="nope",
            **{"actions-TOTAL_FORMS": "abc"},
        ),
    )
    assert response.status_code == 400
    assert not Rule.objects.exists()


def test_editing_keeps_what_the_form_does_not_show(
    maria_client: Client, maria: User, section: Section
) -> None:
    """A webhook's secret is never sent to the browser, and survives an edit; so
    does a condition set elsewhere (partners)."""
    rule = rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Hook",
            "conditions": {"partners": [12]},
            "actions": [
                {"type": "webhook", "url": "https://hooks.example.com/x", "secret": "s3cr3t"}
            ],
        },
    )
    page = maria_client.get(_url("rule_edit", rule.pk))
    assert "s3cr3t" not in page.content.decode()
    assert "https://hooks.example.com/x" in page.content.decode()
    response = maria_client.post(
        _url("rule_edit", rule.pk),
        _rule_data(
            {"type": "webhook", "url": "https://hooks.example.com/x", "ORDER": "1"},
            {"type": "note", "body": "Sent to the hook.", "ORDER": "2"},
            name="Hook",
            **{"actions-INITIAL_FORMS": "1"},
        ),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.conditions == {"partners": [12]}
    assert rule.actions == [
        {"type": "webhook", "url": "https://hooks.example.com/x", "secret": "s3cr3t"},
        {"type": "note", "body": "Sent to the hook."},
    ]


def test_a_removed_row_is_dropped(maria_client: Client, rule: Rule) -> None:
    response = maria_client.post(
        _url("rule_edit", rule.pk),
        _rule_data(
            {"type": "set_priority", "priority": "1", "DELETE": "on"},
            {"type": "escalate"},
            pattern="invoice",
            **{"actions-INITIAL_FORMS": "1"},
        ),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.actions == [{"type": "escalate"}]


def test_the_editor_shows_the_stored_rule(maria_client: Client, rule: Rule) -> None:
    html = maria_client.get(_url("rule_edit", rule.pk)).content.decode()
    assert 'value="invoice"' in html
    assert '<option value="set_priority" selected>' in html
    assert "<legend>When</legend>" in html
    assert "<legend>Then</legend>" in html


# --------------------------------------------------------------------------
# The rule page: in words, the dry run, activation and deletion


def test_the_rule_page_says_the_rule_in_words(
    maria_client: Client, maria: User, section: Section
) -> None:
    rule = rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Escalations",
            "trigger": "state",
            "to_state": "escalated",
            "section": section,
            "conditions": {"states": ["open"], "priority_min": 1, "priority_max": 2},
            "actions": [
                {"type": "set_section", "value": section.pk},
                {"type": "assign", "method": "round_robin"},
            ],
        },
    )
    html = maria_client.get(_url("rule_detail", rule.pk)).content.decode()
    assert "The case is escalated" in html
    assert "Section Support" in html
    assert "The state is open" in html
    assert "The priority is from 1 Highest to 2 High" in html
    assert "Move to a section: Support" in html
    assert "Assign within the section (round robin)" in html


def test_the_dry_run_says_what_the_rule_would_do(
    maria_client: Client, rule: Rule, section: Section
) -> None:
    case = _case(section, subject="An invoice question")
    response = maria_client.get(_url("rule_detail", rule.pk), {"case": str(case.number)})
    html = response.content.decode()
    link = reverse("cases:detail", args=[case.number])
    assert f'The rule matches case <a href="{link}">' in html
    assert "Would: Set the priority: 1 Highest" in html
    case.refresh_from_db()
    assert case.priority == 3


def test_the_dry_run_names_the_failing_condition(
    maria_client: Client, rule: Rule, section: Section
) -> None:
    case = _case(section, subject="A printer on fire")
    html = maria_client.get(_url("rule_detail", rule.pk), {"case": f"#{case.number}"}).content
    text = html.decode()
    assert "The rule does not match case" in text
    assert "no match for &#x27;invoice&#x27;" in text
    assert "Would:" not in text


def test_the_dry_run_refuses_unknown_cases(maria_client: Client, rule: Rule) -> None:
    for number in ("999999", "abc", "99999999999999999999999", "-1"):
        response = maria_client.get(_url("rule_detail", rule.pk), {"case": number})
        assert response.status_code == 200
        assert "No such case." in response.content.decode(), number


def test_a_rule_is_deactivated_and_activated(maria_client: Client, rule: Rule) -> None:
    response = maria_client.post(_url("rule_set_active", rule.pk), {"active": "0"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert not rule.active
    maria_client.post(_url("rule_set_active", rule.pk), {"active": "1"})
    rule.refresh_from_db()
    assert rule.active


def test_deleting_a_rule_requires_a_post(maria_client: Client, rule: Rule) -> None:
    page = maria_client.get(_url("rule_delete", rule.pk))
    assert page.status_code == 200
    assert "Delete the rule Invoices first?" in page.content.decode()
    assert Rule.objects.filter(pk=rule.pk).exists()
    response = maria_client.post(_url("rule_delete", rule.pk))
    assert response.status_code == 302
    assert response["Location"] == _url("rule_list")
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_the_rule_page_lists_its_own_runs(
    maria_client: Client, rule: Rule, maria: User, section: Section
) -> None:
    other = rule_save(rule=None, by=maria, values={"name": "Other"})
    case = _case(section)
    RuleLog.objects.create(
        case=case,
        event="case.created",
        results=[
            {
                "rule": rule.pk,
                "name": rule.name,
                "matched": False,
                "failed": "no match for 'invoice'",
            }
        ],
    )
    RuleLog.objects.create(
        case=case,
        event="case.updated",
        results=[{"rule": other.pk, "name": "Other", "matched": False, "failed": "elsewhere"}],
    )
    html = maria_client.get(_url("rule_detail", rule.pk)).content.decode()
    assert "no match for &#x27;invoice&#x27;" in html
    assert "elsewhere" not in html


# --------------------------------------------------------------------------
# The rule log


def _log(case: Case | None, rule: Rule, **result: Any) -> RuleLog:
    return RuleLog.objects.create(
        case=case,
        event="case.created",
        results=[{"rule": rule.pk, "name": rule.name, "actions": [], "errors": [], **result}],
    )


def test_the_log_shows_each_rule_result(maria_client: Client, rule: Rule, section: Section) -> None:
    case = _case(section)
    _log(case, rule, matched=True, actions=["Set the priority: 1 Highest"])
    _log(case, rule, matched=False, failed="the state is not one of those chosen")
    _log(None, rule, matched=True, errors=["Escalate: Support has no parent section."])
    html = maria_client.get(_url("rule_log")).content.decode()
    assert reverse("cases:detail", args=[case.number]) in html
    assert "Case created" in html
    assert "✓" in html
    assert "Set the priority: 1 Highest" in html
    assert "the state is not one of those chosen" in html
    assert "Escalate: Support has no parent section." in html
    assert f'href="{_url("rule_detail", rule.pk)}"' in html


def test_the_log_is_paginated_and_costs_the_same_with_sixty_rows(
    maria_client: Client,
    rule: Rule,
    section: Section,
    django_assert_max_num_queries: Any,
) -> None:
    cases = [_case(section) for _ in range(3)]
    _log(cases[0], rule, matched=True)
    with CaptureQueriesContext(connection) as one:
        maria_client.get(_url("rule_log"))
    for number in range(59):
        _log(cases[number % 3], rule, matched=False, failed=f"failure {number}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = maria_client.get(_url("rule_log"))
    page = response.context["page"]
    assert len(page.items) == 50
    assert page.next_cursor
    older = maria_client.get(_url("rule_log"), {"cursor": page.next_cursor})
    assert len(older.context["page"].items) == 10
    assert "failure 0" in older.content.decode()


def test_a_bad_cursor_shows_the_first_page(maria_client: Client, rule: Rule) -> None:
    _log(None, rule, matched=True)
    response = maria_client.get(_url("rule_log"), {"cursor": "garbage"})
    assert response.status_code == 200
    assert len(response.context["page"].items) == 1


def test_an_empty_log_says_so(maria_client: Client) -> None:
    assert "The log is empty." in maria_client.get(_url("rule_log")).content.decode()


# --------------------------------------------------------------------------
# Email templates


def _template_data(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "welcome",
        "language": "",
        "name": "Welcome",
        "subject": "About {{ case.subject }}",
        "body_text": "Dear {{ requester.name }},\nwe got {{ case.reference }}.",
        "body_html": "",
    }
    data.update(changes)
    return data


def test_a_template_is_created(maria_client: Client) -> None:
    response = maria_client.post(_url("template_create"), _template_data())
    assert response.status_code == 302
    template = EmailTemplate.objects.get()
    assert (template.code, template.subject) == ("welcome", "About {{ case.subject }}")


def test_an_unknown_placeholder_is_shown_with_a_suggestion(maria_client: Client) -> None:
    response = maria_client.post(
        _url("template_create"), _template_data(subject="About {{ case.subjet }}")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["subject"]
    assert "did you mean case.subject?" in errors[0]
    assert "did you mean case.subject?" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_the_placeholders_are_listed_beside_the_form(maria_client: Client) -> None:
    html = maria_client.get(_url("template_create")).content.decode()
    assert "{{ requester.name }}" in html
    assert "The case subject." in html


def test_the_preview_fills_in_a_case(maria_client: Client, section: Section) -> None:
    """The HTML version is shown in a sandboxed frame, escaped into its srcdoc."""
    case = _case(section, subject="Printer on fire")
    response = maria_client.post(
        _url("template_create"),
        _template_data(
            body_html='<p class="x">Case <b>{{ case.subject }}</b></p>',
            case=str(case.number),
            preview="1",
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "About Printer on fire" in html
    assert f"we got #{case.number}." in html
    assert (
        'srcdoc="&lt;p class=&quot;x&quot;&gt;Case &lt;b&gt;Printer on fire&lt;/b&gt;&lt;/p&gt;"'
        in html
    )
    assert '<iframe class="preview-html" sandbox' in html
    assert not EmailTemplate.objects.exists()


def test_the_preview_escapes_what_the_template_writes(
    maria_client: Client, section: Section
) -> None:
    case = _case(section, subject="<i>Printer</i>")
    response = maria_client.post(
        _url("template_create"),
        _template_data(
            subject="Re: {{ case.subject }}",
            body_text="<script>alert(1)</script> {{ case.subject }}",
            body_html="<script>alert(1)</script>",
            case=str(case.number),
            preview="1",
        ),
    )
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<i>Printer</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;i&gt;Printer&lt;/i&gt;" in html
    assert 'srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_the_preview_refuses_unknown_cases(maria_client: Client) -> None:
    response = maria_client.post(
        _url("template_create"), _template_data(case="999999", preview="1")
    )
    assert "No such case." in response.content.decode()


def test_a_stored_template_is_previewed_from_its_page(
    maria_client: Client, template: EmailTemplate, section: Section
) -> None:
    case = _case(section, subject="Printer on fire")
    response = maria_client.get(_url("template_edit", template.pk), {"case": str(case.number)})
    assert "About Printer on fire" in response.content.decode()


def test_deleting_a_template_warns_about_its_rules(
    maria_client: Client, template: EmailTemplate, maria: User
) -> None:
    rule_save(
        rule=None,
        by=maria,
        values={
            "name": "Tell them",
            "actions": [{"type": "email", "template": "escalated", "to": ["requester"]}],
        },
    )
    page = maria_client.get(_url("template_delete", template.pk)).content.decode()
    assert "Tell them" in page
    assert EmailTemplate.objects.filter(pk=template.pk).exists()
    response = maria_client.post(_url("template_delete", template.pk))
    assert response.status_code == 302
    assert not EmailTemplate.objects.exists()


# --------------------------------------------------------------------------
# Business calendars


def _calendar_data(**changes: Any) -> dict[str, Any]:
    data = {"name": "Office", "timezone": "Europe/Paris", "holidays": "2026-12-25 Christmas"}
    data.update({f"hours_{day}": "09:00-12:00, 13:00-17:00" for day in range(5)})
    data.update({"hours_5": "", "hours_6": ""})
    data.update(changes)
    return data


def test_a_calendar_is_created(maria_client: Client) -> None:
    response = maria_client.post(_url("calendar_create"), _calendar_data())
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get()
    assert calendar.hours[:2] == [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "17:00"},
    ]
    assert len(calendar.hours) == 10
    assert calendar.holidays == [{"date": "2026-12-25", "name": "Christmas"}]


def test_badly_written_hours_are_shown_next_to_their_day(maria_client: Client) -> None:
    response = maria_client.post(_url("calendar_create"), _calendar_data(hours_2="9-17"))
    assert response.status_code == 400
    assert response.context["form"].errors["hours_2"] == [
        "Wed: write hours as 09:00-17:00, not '9-17'."
    ]
    assert "write hours as 09:00-17:00" in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_calendar_errors_of_the_service_go_next_to_their_fields(maria_client: Client) -> None:
    response = maria_client.post(
        _url("calendar_create"),
        _calendar_data(
            timezone="Mars/Olympus", holidays="Christmas", **{f"hours_{d}": "" for d in range(7)}
        ),
    )
    assert response.status_code == 400
    assert "Holiday line 1" in response.context["form"].errors["holidays"][0]
    response = maria_client.post(
        _url("calendar_create"),
        _calendar_data(timezone="Mars/Olympus", **{f"hours_{d}": "" for d in range(7)}),
    )
    html = response.content.decode()
    assert "is not a time zone" in response.context["form"].errors["timezone"][0]
    assert "Give the calendar some working hours." in html
    assert not BusinessCalendar.objects.exists()


def test_a_calendar_is_edited(maria_client: Client, calendar: BusinessCalendar) -> None:
    page = maria_client.get(_url("calendar_edit", calendar.pk)).content.decode()
    assert 'value="09:00-17:00"' in page
    response = maria_client.post(
        _url("calendar_edit", calendar.pk), _calendar_data(name="Head office")
    )
    assert response.status_code == 302
    calendar.refresh_from_db()
    assert calendar.name == "Head office"


# --------------------------------------------------------------------------
# SLA policies


def _policy_data(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Gold",
        "sequence": "5",
        "active": "on",
        "first_response_hours": "2",
        "resolution_hours": "8.5",
        "pause_when_pending": "on",
        "at_risk_percent": "75",
    }
    data.update(changes)
    return data


def test_a_policy_is_created(
    maria_client: Client, section: Section, calendar: BusinessCalendar
) -> None:
    response = maria_client.post(
        _url("sla_create"),
        _policy_data(section=str(section.pk), calendar=str(calendar.pk), priority="1"),
    )
    assert response.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (policy.section, policy.calendar, policy.priority) == (section, calendar, 1)
    assert policy.resolution_hours == Decimal("8.5")
    html = maria_client.get(_url("sla_list")).content.decode()
    assert "Gold" in html
    assert "8.5 h" in html
    assert "1 Highest" in html


def test_a_policy_without_targets_is_refused(maria_client: Client) -> None:
    response = maria_client.post(
        _url("sla_create"), _policy_data(first_response_hours="", resolution_hours="")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["resolution_hours"] == [
        "Set a first-response or a resolution target."
    ]
    assert "Set a first-response or a resolution target." in response.content.decode()
    assert not SlaPolicy.objects.exists()


def test_deleting_a_policy_requires_a_post(maria_client: Client, policy: SlaPolicy) -> None:
    assert maria_client.get(_url("sla_delete", policy.pk)).status_code == 200
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()
    assert maria_client.post(_url("sla_delete", policy.pk)).status_code == 302
    assert not SlaPolicy.objects.exists()


def test_empty_lists_say_what_to_do(maria_client: Client) -> None:
    assert "No email templates yet." in maria_client.get(_url("template_list")).content.decode()
    assert "No SLA policies yet." in maria_client.get(_url("sla_list")).content.decode()
    assert "No business calendars yet." in maria_client.get(_url("calendar_list")).content.decode()


def test_responsibles_offer_staff_and_nobody(maria_client: Client) -> None:
    agent = cast(User, UserFactory(username="agent7", first_name="Agnes", last_name="Agent"))
    html = maria_client.get(_url("rule_create")).content.decode()
    assert "Nobody (unassigned)" in html
    assert "Maria" in html
    assert agent.display_name not in html  # no staff role
