"""Routing tables: the rows are checked, compile to rules that route new cases
(first match wins, then the fallback), saving again replaces those rules, and
the pages to see and edit the tables.

Cases are created inside ``django_capture_on_commit_callbacks(execute=True)`` so
the compiled rules run when the block ends, as in test_engine.py.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.automation.models import Route, RouteTable, Rule
from goodwill.automation.routing import route_table_of, route_table_save
from goodwill.automation.services import rule_save
from goodwill.cases.models import Case, Section
from tests.factories import CaseFactory, SectionFactory, UserFactory, case_type

pytestmark = pytest.mark.django_db

Run = Any  # the django_capture_on_commit_callbacks fixture


@pytest.fixture
def agents(db: None) -> list[User]:
    return [UserFactory(username=f"agent{n}", roles=[Role.AGENT]) for n in range(3)]


@pytest.fixture
def support(agents: list[User]) -> Section:
    section = cast(Section, SectionFactory(name="Support", code="SUPPORT"))
    section.members.set(agents)
    return section


@pytest.fixture
def billing(agents: list[User]) -> Section:
    section = cast(Section, SectionFactory(name="Billing", code="BILLING"))
    section.members.set(agents[:1])
    return section


@pytest.fixture
def engineering() -> Section:
    return cast(Section, SectionFactory(name="Engineering", code="ENG"))


def case_in(section: Section, run: Run, **values: Any) -> Case:
    with run(execute=True):
        case = cast(Case, CaseFactory(section=section, **values))
    case.refresh_from_db()
    return case


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --------------------------------------------------------------------------
# Routing new cases


def test_a_keyword_in_the_subject_routes_a_new_case_in_any_case(
    maria: User, support: Section, billing: Section, django_capture_on_commit_callbacks: Run
) -> None:
    route_table_save(
        section=support,
        routes=[{"keywords": "invoice, billing\npayment", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    shouted = case_in(support, django_capture_on_commit_callbacks, subject="Wrong INVOICE")
    paid = case_in(support, django_capture_on_commit_callbacks, subject="Payment failed")
    assert (shouted.section, paid.section) == (billing, billing)


def test_keywords_are_looked_for_in_the_subject_only(
    maria: User, support: Section, billing: Section, django_capture_on_commit_callbacks: Run
) -> None:
    route_table_save(
        section=support,
        routes=[{"keywords": "invoice", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    case = case_in(
        support,
        django_capture_on_commit_callbacks,
        subject="The pump leaks",
        description="See the attached invoice.",
    )
    assert case.section == support


def test_a_type_routes_and_assigns_to_a_member_of_the_target_section(
    maria: User,
    agents: list[User],
    support: Section,
    billing: Section,
    engineering: Section,
    django_capture_on_commit_callbacks: Run,
) -> None:
    engineering.members.set(agents[1:2])
    route_table_save(
        section=support,
        routes=[{"case_type": case_type("bug"), "to_section": engineering, "to_user": agents[1]}],
        fallback="none",
        by=maria,
    )
    bug = case_in(support, django_capture_on_commit_callbacks, type="bug", subject="Crash")
    question = case_in(support, django_capture_on_commit_callbacks, subject="Crash")
    assert (bug.section, bug.responsible) == (engineering, agents[1])
    assert (question.section, question.responsible) == (support, None)


def test_a_route_with_a_type_and_keywords_needs_both(
    maria: User, support: Section, billing: Section, django_capture_on_commit_callbacks: Run
) -> None:
    route_table_save(
        section=support,
        routes=[{"case_type": case_type("bug"), "keywords": "invoice", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    helpdesk = case_in(support, django_capture_on_commit_callbacks, subject="Invoice")
    bug = case_in(support, django_capture_on_commit_callbacks, type="bug", subject="Crash")
    both = case_in(support, django_capture_on_commit_callbacks, type="bug", subject="Invoice bug")
    assert (helpdesk.section, bug.section, both.section) == (support, support, billing)


def test_the_first_matching_route_wins_and_stops_the_rules_after_it(
    maria: User, agents: list[User], support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    route_table_save(
        section=support,
        routes=[
            {"keywords": "invoice", "to_user": agents[0]},
            {"keywords": "crash", "to_user": agents[1]},
        ],
        fallback="round_robin",
        by=maria,
    )
    rule_save(
        rule=None,
        by=maria,
        values={"name": "Everything urgent", "actions": [{"type": "set_priority", "value": 1}]},
    )
    both = case_in(support, django_capture_on_commit_callbacks, subject="Invoice crash")
    crash = case_in(support, django_capture_on_commit_callbacks, subject="Crash")
    assert (both.responsible, crash.responsible) == (agents[0], agents[1])
    assert both.priority != 1  # the ordinary rule after the routes did not run


def test_unmatched_cases_get_the_fallback_and_the_rules_after_it_still_run(
    maria: User, agents: list[User], support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    route_table_save(
        section=support,
        routes=[{"keywords": "invoice", "to_user": agents[0]}],
        fallback="round_robin",
        by=maria,
    )
    rule_save(
        rule=None,
        by=maria,
        values={"name": "Everything urgent", "actions": [{"type": "set_priority", "value": 1}]},
    )
    first = case_in(support, django_capture_on_commit_callbacks, subject="Pump leaks")
    second = case_in(support, django_capture_on_commit_callbacks, subject="Pump leaks again")
    assert (first.responsible, second.responsible) == (agents[0], agents[1])
    assert first.priority == 1


def test_the_fallback_leaves_a_case_with_a_responsible_alone(
    maria: User, agents: list[User], support: Section, django_capture_on_commit_callbacks: Run
) -> None:
    support.responsible = agents[2]
    support.save()
    route_table_save(section=support, routes=[], fallback="section_responsible", by=maria)
    taken = case_in(
        support, django_capture_on_commit_callbacks, subject="Mine", responsible=agents[1]
    )
    free = case_in(support, django_capture_on_commit_callbacks, subject="Nobody's")
    assert (taken.responsible, free.responsible) == (agents[1], agents[2])


def test_routes_apply_to_their_own_section_only(
    maria: User, support: Section, billing: Section, django_capture_on_commit_callbacks: Run
) -> None:
    elsewhere = cast(Section, SectionFactory(name="Sales"))
    route_table_save(
        section=support,
        routes=[{"keywords": "invoice", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    case = case_in(elsewhere, django_capture_on_commit_callbacks, subject="Invoice")
    assert case.section == elsewhere


# --------------------------------------------------------------------------
# What the table compiles to


def test_each_route_compiles_to_a_readable_stopping_rule_before_ordinary_rules(
    maria: User, support: Section, billing: Section
) -> None:
    routes = route_table_save(
        section=support,
        routes=[{"keywords": " Invoice ,billing,, invoice", "to_section": billing.pk}],
        fallback="least_loaded",
        by=maria,
    )
    assert [r.keywords for r in routes] == ["Invoice, billing"]
    rule = routes[0].rule
    assert rule is not None
    assert rule.name == "Route 1 of Support: “Invoice, billing” → Billing"
    assert "routing table of Support" in rule.description
    assert (rule.trigger, rule.section, rule.case_type, rule.stop) == (
        "created",
        support,
        None,
        True,
    )
    assert rule.conditions == {"pattern": "Invoice, billing", "pattern_in": "subject"}
    assert rule.actions == [{"type": "set_section", "value": billing.pk}]
    assert rule.sequence < Rule._meta.get_field("sequence").get_default()
    fallback = RouteTable.objects.get(section=support).fallback_rule
    assert fallback is not None
    assert fallback.conditions == {"responsibles": ["none"]}
    assert fallback.actions == [{"type": "assign", "method": "least_loaded"}]
    assert fallback.stop is False
    assert list(Rule.objects.all()) == [rule, fallback]


def test_saving_again_replaces_the_routes_and_their_rules(
    maria: User, support: Section, billing: Section, engineering: Section
) -> None:
    route_table_save(
        section=support,
        routes=[
            {"keywords": "invoice", "to_section": billing},
            {"keywords": "crash", "to_section": engineering},
        ],
        fallback="round_robin",
        by=maria,
    )
    unrelated = rule_save(rule=None, by=maria, values={"name": "Someone else's"})
    route_table_save(
        section=support,
        routes=[{"keywords": "refund", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    table = route_table_of(support)
    assert [(r.sequence, r.keywords) for r in table.routes] == [(1, "refund")]
    assert table.fallback == "none"
    assert table.fallback_rule is None
    assert set(Rule.objects.all()) == {table.routes[0].rule, unrelated}
    route_table_save(section=support, routes=[], fallback="none", by=maria)
    assert list(Rule.objects.all()) == [unrelated]
    assert not Route.objects.exists()


def test_a_section_without_a_table_has_no_routes_and_no_fallback(support: Section) -> None:
    table = route_table_of(support)
    assert (table.routes, table.fallback, table.fallback_rule) == ([], "none", None)


# --------------------------------------------------------------------------
# Checking the rows


def test_each_bad_row_is_named_with_its_field(
    maria: User, agents: list[User], support: Section, billing: Section
) -> None:
    outsider = UserFactory(username="outsider", roles=[Role.AGENT])
    with pytest.raises(ValidationError) as exc:
        route_table_save(
            section=support,
            routes=[
                {"keywords": "invoice", "to_section": billing},
                {"keywords": "  , ", "to_section": billing},
                {"keywords": "crash"},
                {"case_type": 999_999, "to_section": billing},
                {"keywords": "refund", "to_section": support},
                {"keywords": "late", "to_section": billing, "to_user": agents[2]},
                {"keywords": "lost", "to_user": outsider},
            ],
            fallback="none",
            by=maria,
        )
    errors = errors_of(exc)
    assert errors == {
        "routes.2.keywords": ["Route 2: give keywords or choose a case type."],
        "routes.3.to_section": ["Route 3: choose a section to move to or a person to assign."],
        "routes.4.case_type": ["Route 4: there is no case type #999999."],
        "routes.5.to_section": [
            "Route 5: new cases are in Support already; choose another section or only a person."
        ],
        "routes.6.to_user": [f"Route 6: {agents[2].display_name} is not a member of Billing."],
        "routes.7.to_user": [f"Route 7: {outsider.display_name} is not a member of Support."],
    }
    assert not Route.objects.exists()
    assert not Rule.objects.exists()


def test_a_target_user_must_be_active_staff(
    maria: User, agents: list[User], support: Section, charlie: User
) -> None:
    support.members.add(charlie)
    agents[0].is_active = False
    agents[0].save()
    with pytest.raises(ValidationError) as exc:
        route_table_save(
            section=support,
            routes=[
                {"keywords": "a", "to_user": charlie.pk},
                {"keywords": "b", "to_user": agents[0]},
            ],
            fallback="none",
            by=maria,
        )
    assert set(errors_of(exc)) == {"routes.1.to_user", "routes.2.to_user"}
    assert "is not an active staff member" in errors_of(exc)["routes.1.to_user"][0]


def test_a_route_an_earlier_one_always_takes_is_refused(
    maria: User, support: Section, billing: Section, engineering: Section
) -> None:
    with pytest.raises(ValidationError) as exc:
        route_table_save(
            section=support,
            routes=[
                {"keywords": "bill", "to_section": billing},
                {"keywords": "BILLING, overbilled", "to_section": engineering},
                {"case_type": str(case_type("bug").pk), "to_section": billing},
                {"keywords": "payment", "to_section": engineering},
            ],
            fallback="none",
            by=maria,
        )
    assert errors_of(exc) == {
        "routes.2.keywords": [
            "Route 2: route 1 already takes every case this one would: it would never match."
        ]
    }


def test_the_fallback_is_checked(maria: User, support: Section) -> None:
    with pytest.raises(ValidationError) as unknown:
        route_table_save(section=support, routes=[], fallback="random", by=maria)
    assert "fallback" in errors_of(unknown)
    with pytest.raises(ValidationError) as nobody:
        route_table_save(section=support, routes=[], fallback="section_responsible", by=maria)
    assert errors_of(nobody)["fallback"] == [
        "Support has no active responsible person: choose another fallback."
    ]
    empty = cast(Section, SectionFactory(name="Empty"))
    with pytest.raises(ValidationError) as no_members:
        route_table_save(section=empty, routes=[], fallback="round_robin", by=maria)
    assert "no active staff members" in errors_of(no_members)["fallback"][0]


def test_a_bad_save_keeps_the_table_as_it_was(
    maria: User, support: Section, billing: Section
) -> None:
    route_table_save(
        section=support,
        routes=[{"keywords": "invoice", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    before = list(Rule.objects.values_list("pk", flat=True))
    with pytest.raises(ValidationError):
        route_table_save(section=support, routes=[{"keywords": "x"}], fallback="none", by=maria)
    assert list(Rule.objects.values_list("pk", flat=True)) == before
    assert [r.keywords for r in route_table_of(support).routes] == ["invoice"]


# --------------------------------------------------------------------------
# The pages


def _url(name: str, *args: Any) -> str:
    return reverse(f"automation:{name}", args=args)


def _post_data(*rows: dict[str, Any], fallback: str = "none", initial: int = 0) -> dict[str, Any]:
    """What the page posts: one block per row, plus the empty row it shows."""
    data: dict[str, Any] = {
        "routes-TOTAL_FORMS": str(len(rows) + 1),
        "routes-INITIAL_FORMS": str(initial),
        "routes-MIN_NUM_FORMS": "0",
        "routes-MAX_NUM_FORMS": "100",
        "fallback": fallback,
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"routes-{index}-{key}"] = value
    return data


def test_agents_and_users_without_a_role_are_refused(
    bob_client: Client, charlie_client: Client, support: Section
) -> None:
    for client in (bob_client, charlie_client):
        assert client.get(_url("route_list")).status_code == 403
        assert client.get(_url("route_edit", support.pk)).status_code == 403
        assert client.post(_url("route_edit", support.pk), _post_data()).status_code == 403
    assert not RouteTable.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client: Client, support: Section) -> None:
    response = client.get(_url("route_edit", support.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_unknown_section_is_a_404(maria_client: Client) -> None:
    assert maria_client.get(_url("route_edit", 999_999)).status_code == 404


def test_the_list_shows_each_section_with_its_routes_and_fallback(
    maria_client: Client, maria: User, support: Section, billing: Section
) -> None:
    route_table_save(
        section=support,
        routes=[
            {"keywords": "invoice", "to_section": billing},
            {"keywords": "refund", "to_section": billing},
        ],
        fallback="round_robin",
        by=maria,
    )
    html = maria_client.get(_url("route_list")).content.decode()
    assert f'href="{_url("route_list")}" aria-current="page">Routing</a>' in html
    assert f'href="{_url("route_edit", support.pk)}"' in html
    assert "Round robin (each member in turn)" in html
    assert "<td>2</td>" in html


def test_the_list_costs_the_same_queries_with_more_sections(
    maria_client: Client,
    maria: User,
    support: Section,
    billing: Section,
    django_assert_max_num_queries: Any,
) -> None:
    route_table_save(
        section=support,
        routes=[{"keywords": "a", "to_section": billing}],
        fallback="round_robin",
        by=maria,
    )
    with CaptureQueriesContext(connection) as few:
        maria_client.get(_url("route_list"))
    for n in range(6):
        section = cast(Section, SectionFactory(name=f"More {n}"))
        section.members.add(maria)
        route_table_save(
            section=section,
            routes=[{"keywords": "x", "to_section": support}],
            fallback="round_robin",
            by=maria,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = maria_client.get(_url("route_list"))
    assert response.content.decode().count("Round robin (each member in turn)") == 7


def test_a_manager_sees_the_table_of_a_section(
    maria_client: Client, maria: User, support: Section, billing: Section
) -> None:
    route_table_save(
        section=support,
        routes=[{"keywords": "invoice, billing", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    response = maria_client.get(_url("route_edit", support.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="invoice, billing"' in html
    assert f'<option value="{billing.pk}" selected>Billing</option>' in html
    assert 'id="routes-empty"' in html
    assert (
        f'<option value="{support.pk}"'
        not in html.split('name="routes-0-to_section"')[1].split("</select>")[0]
    )
    assert "Route 1 of Support" in html  # the compiled rules, linked


def test_a_manager_saves_the_table_and_it_compiles(
    maria_client: Client, agents: list[User], support: Section, billing: Section
) -> None:
    data = _post_data(
        {"keywords": "crash", "to_user": str(agents[1].pk), "ORDER": "2"},
        {"keywords": "invoice", "to_section": str(billing.pk), "ORDER": "1"},
        {"keywords": "ignored", "to_section": str(billing.pk), "ORDER": "3", "DELETE": "on"},
        fallback="round_robin",
    )
    response = maria_client.post(_url("route_edit", support.pk), data)
    assert response.status_code == 302
    assert response["Location"] == _url("route_edit", support.pk)
    table = route_table_of(support)
    assert [(r.sequence, r.keywords) for r in table.routes] == [(1, "invoice"), (2, "crash")]
    assert table.fallback == "round_robin"
    assert Rule.objects.count() == 3
    page = maria_client.get(response["Location"]).content.decode()
    assert "The routing table of Support was saved: 2 routes." in page


def test_a_bad_row_shows_its_error_next_to_it_and_saves_nothing(
    maria_client: Client, support: Section, billing: Section
) -> None:
    data = _post_data(
        {"keywords": "invoice", "to_section": str(billing.pk)},
        {"keywords": "refund"},
        {"keywords": "late", "to_section": str(support.pk)},  # not among the choices
        {
            "case_type": "nonsense",
            "to_user": "99999999999999999999999",
            "to_section": str(billing.pk),
        },
    )
    response = maria_client.post(_url("route_edit", support.pk), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in html
    assert not RouteTable.objects.exists()
    assert not Rule.objects.exists()
    response = maria_client.post(
        _url("route_edit", support.pk),
        _post_data({"keywords": "invoice", "to_section": str(billing.pk)}, {"keywords": "refund"}),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose a section to move to or a person to assign." in html
    assert "Route 2:" not in html  # the message sits on its row
    assert not Rule.objects.exists()


def test_a_bad_management_form_or_fallback_is_not_a_500(
    maria_client: Client, support: Section
) -> None:
    url = _url("route_edit", support.pk)
    assert maria_client.post(url, {"fallback": "none"}).status_code == 200
    response = maria_client.post(url, _post_data(fallback="dice"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not RouteTable.objects.exists()


def test_the_fallback_error_of_the_service_shows_next_to_the_fallback(
    maria_client: Client, support: Section
) -> None:
    response = maria_client.post(
        _url("route_edit", support.pk), _post_data(fallback="section_responsible")
    )
    assert response.status_code == 200
    assert "Support has no active responsible person" in response.content.decode()


def test_a_compiled_rule_says_where_it_comes_from_and_its_editor_sends_to_the_table(
    maria_client: Client, maria: User, support: Section, billing: Section
) -> None:
    routes = route_table_save(
        section=support,
        routes=[{"keywords": "invoice", "to_section": billing}],
        fallback="round_robin",
        by=maria,
    )
    rule = routes[0].rule
    fallback = RouteTable.objects.get().fallback_rule
    assert rule is not None
    assert fallback is not None
    table_url = _url("route_edit", support.pk)
    listed = maria_client.get(_url("rule_list")).content.decode()
    assert listed.count(f'From the routing table of <a href="{table_url}">Support</a>') == 2
    detail = maria_client.get(_url("rule_detail", rule.pk)).content.decode()
    assert f'From the routing table of <a href="{table_url}">Support</a>' in detail
    for compiled in (rule, fallback):
        response = maria_client.get(_url("rule_edit", compiled.pk))
        assert response.status_code == 302
        assert response["Location"] == table_url
        posted = maria_client.post(_url("rule_edit", compiled.pk), {"name": "Hacked"})
        assert posted["Location"] == table_url
    page = maria_client.get(table_url).content.decode()
    assert "is compiled from the routing table of Support" in page
    assert Rule.objects.get(pk=rule.pk).name.startswith("Route 1 of Support")


def test_an_ordinary_rule_is_still_edited_in_the_rule_editor(
    maria_client: Client, maria: User
) -> None:
    rule = rule_save(rule=None, by=maria, values={"name": "Plain"})
    response = maria_client.get(_url("rule_edit", rule.pk))
    assert response.status_code == 200
    assert (
        "From the routing table"
        not in maria_client.get(_url("rule_detail", rule.pk)).content.decode()
    )


def test_a_deleted_compiled_rule_is_flagged_and_compiled_again_on_save(
    maria_client: Client, maria: User, support: Section, billing: Section
) -> None:
    routes = route_table_save(
        section=support,
        routes=[{"keywords": "invoice", "to_section": billing}],
        fallback="none",
        by=maria,
    )
    assert routes[0].rule is not None
    routes[0].rule.delete()
    url = _url("route_edit", support.pk)
    assert "Save the table to compile it again" in maria_client.get(url).content.decode()
    data = _post_data(
        {"keywords": "invoice", "to_section": str(billing.pk), "ORDER": "1"}, initial=1
    )
    assert maria_client.post(url, data).status_code == 302
    assert route_table_of(support).routes[0].rule is not None


def test_the_sidebar_leads_managers_to_the_routing_tables(
    maria_client: Client, bob_client: Client
) -> None:
    link = f'href="{_url("route_list")}"'
    assert link in maria_client.get(reverse("cases:list")).content.decode()
    assert link not in bob_client.get(reverse("cases:list")).content.decode()
