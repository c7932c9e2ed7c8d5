"""The case setup: the services in goodwill.cases.configuration and the setup pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.cases import configuration
from goodwill.cases.models import Case, CaseCategory, CaseType, Section, Stage
from goodwill.lib import events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _section(by: User, code: str, **values: Any) -> Section:
    return configuration.section_save(
        by=by, values={"name": code.title(), "code": code, **values}, pipeline="none"
    )


def _messages(exc: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    return " ".join(exc.value.message_dict[field])


@pytest.fixture
def captured() -> Any:
    """Events emitted during the test (they fire on commit)."""
    seen: list[events.Event] = []
    handler = events.subscribe("*")(seen.append)
    yield seen
    events.unsubscribe("*", handler)


# --------------------------------------------------------------------------
# Sections


def test_section_save_normalises_code_and_email(
    maria: User, bob: User, captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    """The code is stored upper case, the address lower case; members are set."""
    with django_capture_on_commit_callbacks(execute=True):
        section = configuration.section_save(
            by=maria,
            values={
                "name": "  Customer   support ",
                "code": " support-1 ",
                "email": "Support@Example.COM",
                "responsible": maria,
                "members": [bob, maria],
            },
        )
    assert (section.name, section.code, section.email) == (
        "Customer support",
        "SUPPORT-1",
        "support@example.com",
    )
    assert section.responsible == maria
    assert set(section.members.all()) == {bob, maria}
    assert [(e.name, e.payload["created"]) for e in captured] == [("section.saved", True)]


def test_a_new_section_gets_the_service_stages_by_default(maria: User) -> None:
    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    assert list(section.stages.values_list("name", "sequence")) == [
        ("New", 10),
        ("In progress", 20),
        ("Waiting", 30),
        ("Solved", 40),
    ]


def test_a_new_sales_section_gets_the_sales_pipeline(maria: User) -> None:
    section = configuration.section_save(
        by=maria, values={"name": "Sales", "code": "SALES"}, pipeline="sales"
    )
    stages = list(section.stages.all())
    assert [s.name for s in stages] == ["New", "Qualified", "Proposition", "Negotiation", "Won"]
    assert stages[-1].probability == 100
    assert stages[-1].folded


def test_section_seed_stages_refuses_a_section_that_has_stages(maria: User) -> None:
    section = _section(maria, "EMPTY")
    configuration.section_seed_stages(by=maria, section=section, pipeline="sales")
    assert section.stages.count() == 5
    with pytest.raises(ValidationError) as exc:
        configuration.section_seed_stages(by=maria, section=section)
    assert "already has stages" in _messages(exc, "pipeline")


@pytest.mark.parametrize("code", ["SUP PORT", "SUPPÖRT", "SUP.PORT", "", "X" * 31])
def test_section_codes_are_letters_digits_underscore_and_dash(maria: User, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(by=maria, values={"name": "Support", "code": code})
    assert "code" in exc.value.message_dict


def test_section_codes_are_unique_whatever_the_case(maria: User) -> None:
    _section(maria, "SUPPORT")
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(by=maria, values={"name": "Other", "code": "support"})
    assert _messages(exc, "code") == "Another section already has the code SUPPORT."


def test_section_email_is_validated_and_unique(maria: User) -> None:
    _section(maria, "SUPPORT", email="help@example.com")
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(
            by=maria, values={"name": "Sales", "code": "SALES", "email": "not an address"}
        )
    assert "not a valid email address" in _messages(exc, "email")
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(
            by=maria, values={"name": "Sales", "code": "SALES", "email": "HELP@example.com"}
        )
    assert "help@example.com already belongs to the section Support" in _messages(exc, "email")


def test_a_section_cannot_escalate_to_itself(maria: User) -> None:
    section = _section(maria, "L1")
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(by=maria, section=section, values={"parent": section})
    assert _messages(exc, "parent") == "A section cannot escalate to itself."


def test_a_section_cannot_escalate_to_a_section_below_it(maria: User) -> None:
    """The message names the chain that would become a loop."""
    top = _section(maria, "L3")
    middle = _section(maria, "L2", parent=top)
    bottom = _section(maria, "L1", parent=middle)
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(by=maria, section=top, values={"parent": bottom})
    assert _messages(exc, "parent") == (
        "L3 cannot escalate to L1: L1 already escalates to L3 (L1 → L2 → L3), "
        "which would make a loop."
    )
    top.refresh_from_db()
    assert top.parent is None


def test_the_responsible_must_be_an_active_staff_user(
    maria: User, paula: User, charlie: User
) -> None:
    for user in (paula, charlie):
        with pytest.raises(ValidationError) as exc:
            configuration.section_save(
                by=maria, values={"name": "S", "code": "S", "responsible": user}
            )
        assert "cannot use the staff interface" in _messages(exc, "responsible")
    gone = UserFactory(roles=[Role.AGENT])
    gone.is_active = False
    gone.save()
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(by=maria, values={"name": "S", "code": "S", "responsible": gone})
    assert "responsible" in exc.value.message_dict


def test_new_members_must_be_staff(maria: User, paula: User) -> None:
    with pytest.raises(ValidationError) as exc:
        configuration.section_save(
            by=maria, values={"name": "S", "code": "S", "members": [maria, paula]}
        )
    assert "cannot be a member" in _messages(exc, "members")


def test_section_update_keeps_the_values_it_is_not_given(maria: User, bob: User) -> None:
    section = _section(maria, "SUPPORT", email="help@example.com", members=[bob])
    configuration.section_save(by=maria, section=section, values={"name": "Helpdesk"})
    section.refresh_from_db()
    assert (section.name, section.code, section.email) == (
        "Helpdesk",
        "SUPPORT",
        "help@example.com",
    )
    assert list(section.members.all()) == [bob]
    assert section.stages.count() == 0  # stages are seeded on creation only


def test_section_save_refuses_unknown_fields(maria: User) -> None:
    with pytest.raises(ValidationError, match="Unknown section fields: colour"):
        configuration.section_save(by=maria, values={"name": "S", "code": "S", "colour": "red"})


# --------------------------------------------------------------------------
# Case types


def test_case_type_save_creates_and_updates(maria: User) -> None:
    section = _section(maria, "FIELD")
    case_type = configuration.case_type_save(
        by=maria,
        values={
            "name": "Repair",
            "code": "Repair",
            "field_groups": ["service", "expense", "service"],
            "default_section": section,
            "billable": True,
        },
    )
    assert case_type.code == "repair"
    assert case_type.field_groups == ["service", "expense"]
    assert (
        case_type.sequence > CaseType.objects.exclude(pk=case_type.pk).latest("sequence").sequence
    )
    configuration.case_type_save(
        by=maria, case_type=case_type, values={"field_groups": [], "active": False}
    )
    case_type.refresh_from_db()
    assert (case_type.field_groups, case_type.active, case_type.billable) == ([], False, True)


def test_case_type_field_groups_must_be_known(maria: User) -> None:
    helpdesk = CaseType.objects.get(code="helpdesk")
    with pytest.raises(ValidationError) as exc:
        configuration.case_type_save(
            by=maria, case_type=helpdesk, values={"field_groups": ["claim", "teleport"]}
        )
    assert _messages(exc, "field_groups").startswith("Unknown field group: teleport")


def test_case_type_names_and_codes_are_unique(maria: User) -> None:
    with pytest.raises(ValidationError) as exc:
        configuration.case_type_save(by=maria, values={"name": "claim", "code": "HELPDESK"})
    assert _messages(exc, "name") == "Another case type is already called claim."
    assert _messages(exc, "code") == "Another case type already has the code helpdesk."


def test_case_type_default_section_must_be_active(maria: User) -> None:
    closed = _section(maria, "CLOSED", active=False)
    with pytest.raises(ValidationError) as exc:
        configuration.case_type_save(
            by=maria, values={"name": "X", "code": "x", "default_section": closed}
        )
    assert "Closed is inactive" in _messages(exc, "default_section")


# --------------------------------------------------------------------------
# Categories


def _case(section: Section, **kwargs: Any) -> Case:
    number = 5000 + Case.objects.count()
    return Case.objects.create(
        number=number,
        subject="A case",
        case_type=CaseType.objects.get(code="helpdesk"),
        section=section,
        **kwargs,
    )


def test_category_save_and_delete(maria: User) -> None:
    """A deleted category's cases stay, without a category."""
    section = _section(maria, "SALES")
    category = configuration.category_save(
        by=maria, section=section, values={"name": "Big deals", "default_probability": 30}
    )
    case = _case(section, category=category)
    configuration.category_save(
        by=maria, category=category, section=section, values={"active": False}
    )
    category.refresh_from_db()
    assert (category.name, category.default_probability, category.active) == (
        "Big deals",
        30,
        False,
    )
    configuration.category_delete(by=maria, category=category)
    assert not CaseCategory.objects.exists()
    case.refresh_from_db()
    assert case.category is None


def test_category_names_are_unique_per_section(maria: User) -> None:
    one, two = _section(maria, "ONE"), _section(maria, "TWO")
    configuration.category_save(by=maria, section=one, values={"name": "Billing"})
    configuration.category_save(by=maria, section=two, values={"name": "Billing"})
    with pytest.raises(ValidationError) as exc:
        configuration.category_save(by=maria, section=one, values={"name": "billing"})
    assert _messages(exc, "name") == "One already has a category called billing."


@pytest.mark.parametrize("value", [-1, 101, "ten", True])
def test_category_probability_is_a_percentage(maria: User, value: Any) -> None:
    section = _section(maria, "ONE")
    with pytest.raises(ValidationError) as exc:
        configuration.category_save(
            by=maria, section=section, values={"name": "X", "default_probability": value}
        )
    assert "from 0 to 100" in _messages(exc, "default_probability")


# --------------------------------------------------------------------------
# Stages


def test_stage_save_appends_and_updates(maria: User) -> None:
    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    stage = configuration.stage_save(
        by=maria, section=section, values={"name": "Escalated", "probability": 5}
    )
    assert stage.sequence == 50
    configuration.stage_save(by=maria, stage=stage, section=section, values={"folded": True})
    stage.refresh_from_db()
    assert (stage.name, stage.probability, stage.folded) == ("Escalated", 5, True)
    with pytest.raises(ValidationError) as exc:
        configuration.stage_save(by=maria, section=section, values={"name": "new"})
    assert _messages(exc, "name") == "Help already has a stage called new."


def test_stages_reorder_renumbers_in_steps_of_ten(
    maria: User, captured: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    new, doing, waiting, solved = section.stages.all()
    with django_capture_on_commit_callbacks(execute=True):
        configuration.stages_reorder(
            by=maria, section=section, stage_ids=[solved.pk, new.pk, waiting.pk, doing.pk]
        )
    assert list(section.stages.values_list("name", "sequence")) == [
        ("Solved", 10),
        ("New", 20),
        ("Waiting", 30),
        ("In progress", 40),
    ]
    assert [e.name for e in captured] == ["stages.reordered"]


def test_stages_reorder_keeps_unlisted_stages_after_the_listed_ones(maria: User) -> None:
    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    waiting = section.stages.get(name="Waiting")
    configuration.stages_reorder(by=maria, section=section, stage_ids=[waiting.pk])
    assert list(section.stages.values_list("name", flat=True)) == [
        "Waiting",
        "New",
        "In progress",
        "Solved",
    ]


def test_stages_reorder_refuses_the_stages_of_another_section(maria: User) -> None:
    mine = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    other = configuration.section_save(by=maria, values={"name": "Sales", "code": "SALES"})
    foreign = other.stages.first()
    assert foreign is not None
    before = list(Stage.objects.values_list("pk", "sequence"))
    ids = [*mine.stages.values_list("pk", flat=True), foreign.pk]
    with pytest.raises(ValidationError) as exc:
        configuration.stages_reorder(by=maria, section=mine, stage_ids=ids)
    assert _messages(exc, "stage_ids") == (
        f"Help has no stage with the id {foreign.pk}; reload the page and try again."
    )
    with pytest.raises(ValidationError, match="names a stage twice"):
        configuration.stages_reorder(by=maria, section=mine, stage_ids=[ids[0], ids[0]])
    assert list(Stage.objects.values_list("pk", "sequence")) == before


def test_stage_delete_leaves_its_cases_without_a_stage(maria: User) -> None:
    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    stage = section.stages.get(name="Waiting")
    case = _case(section, stage=stage)
    configuration.stage_delete(by=maria, stage=stage)
    case.refresh_from_db()
    assert case.stage is None
    assert case.section == section
    assert section.stages.count() == 3


# --------------------------------------------------------------------------
# Pages: who may use them


@pytest.fixture
def setup_objects(alice: User) -> dict[str, int]:
    section = configuration.section_save(by=alice, values={"name": "Help", "code": "HELP"})
    category = configuration.category_save(by=alice, section=section, values={"name": "Billing"})
    stage = section.stages.all()[0]
    return {
        "section": section.pk,
        "category": category.pk,
        "stage": stage.pk,
        "casetype": CaseType.objects.get(code="helpdesk").pk,
    }


def _urls(objects: dict[str, int]) -> list[tuple[str, str]]:
    """(url, the method the view answers) for every setup page."""
    s, c, st, t = objects["section"], objects["category"], objects["stage"], objects["casetype"]
    return [
        (reverse("cases_setup:section_list"), "get"),
        (reverse("cases_setup:section_create"), "get"),
        (reverse("cases_setup:section_detail", args=[s]), "get"),
        (reverse("cases_setup:section_edit", args=[s]), "get"),
        (reverse("cases_setup:category_add", args=[s]), "post"),
        (reverse("cases_setup:stage_add", args=[s]), "post"),
        (reverse("cases_setup:stages_reorder", args=[s]), "post"),
        (reverse("cases_setup:section_seed_stages", args=[s]), "post"),
        (reverse("cases_setup:category_edit", args=[c]), "get"),
        (reverse("cases_setup:category_delete", args=[c]), "get"),
        (reverse("cases_setup:stage_edit", args=[st]), "get"),
        (reverse("cases_setup:stage_delete", args=[st]), "get"),
        (reverse("cases_setup:case_type_list"), "get"),
        (reverse("cases_setup:case_type_create"), "get"),
        (reverse("cases_setup:case_type_edit", args=[t]), "get"),
    ]


def _state() -> tuple[Any, ...]:
    return (
        list(Section.objects.values_list("pk", "name", "code")),
        list(Stage.objects.values_list("pk", "name", "sequence")),
        list(CaseCategory.objects.values_list("pk", "name")),
        list(CaseType.objects.values_list("pk", "name", "active")),
    )


def test_managers_and_administrators_open_every_setup_page(
    maria_client: Client, alice_client: Client, setup_objects: dict[str, int]
) -> None:
    for client in (maria_client, alice_client):
        for url, method in _urls(setup_objects):
            if method == "get":
                assert client.get(url).status_code == 200, url
            else:
                assert client.get(url).status_code == 405, url


@pytest.mark.parametrize("persona", ["bob", "charlie", "paula"])
def test_agents_and_outsiders_are_refused(
    persona: str, setup_objects: dict[str, int], request: pytest.FixtureRequest
) -> None:
    """Agents use sections but do not configure them: 403 on GET and POST, no change."""
    client: Client = request.getfixturevalue(f"{persona}_client")
    before = _state()
    for url, method in _urls(setup_objects):
        posted = client.post(url, {"name": "Hacked", "code": "HACK"}).status_code
        if method == "get":
            assert client.get(url).status_code == 403, url
            assert posted in {403, 405}, url  # the lists answer GET only
        else:
            assert posted == 403, url
    assert _state() == before


def test_anonymous_visitors_are_sent_to_log_in(setup_objects: dict[str, int]) -> None:
    client = Client()
    for url, method in _urls(setup_objects):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_the_sidebar_links_to_the_setup_for_managers_only(
    maria_client: Client, bob_client: Client
) -> None:
    setup = reverse("cases_setup:section_list")
    assert f'href="{setup}"' in maria_client.get("/partners/").content.decode()
    assert f'href="{setup}"' not in bob_client.get("/partners/").content.decode()


# --------------------------------------------------------------------------
# Pages: what they do


def test_empty_lists_say_so(maria_client: Client) -> None:
    CaseType.objects.all().delete()
    page = maria_client.get(reverse("cases_setup:section_list")).content.decode()
    assert "No sections yet." in page
    page = maria_client.get(reverse("cases_setup:case_type_list")).content.decode()
    assert "No case types." in page


def test_the_section_list_shows_the_escalation_chain(maria: User, maria_client: Client) -> None:
    top = _section(maria, "MGMT", name="Management")
    middle = _section(maria, "L2", name="Second line", parent=top)
    _section(maria, "L1", name="First line", parent=middle, visibility="members", members=[maria])
    page = maria_client.get(reverse("cases_setup:section_list")).content.decode()
    assert "First line" in page
    assert "members only" in page
    row = page[page.index("First line") :]
    assert row.index("Second line") < row.index("Management")


def test_creating_a_section_through_the_form(maria: User, bob: User, maria_client: Client) -> None:
    response = maria_client.post(
        reverse("cases_setup:section_create"),
        {
            "name": "Support",
            "code": "support",
            "email": "Support@Example.com",
            "responsible": maria.pk,
            "members": [bob.pk],
            "visibility": "public",
            "active": "on",
            "pipeline": "sales",
        },
    )
    section = Section.objects.get(code="SUPPORT")
    assert response.status_code == 302
    assert response["Location"] == reverse("cases_setup:section_detail", args=[section.pk])
    assert section.email == "support@example.com"
    assert list(section.members.all()) == [bob]
    assert section.stages.count() == 5
    page = maria_client.get(response["Location"]).content.decode()
    assert "The section Support was created." in page
    assert "Qualified" in page


def test_the_section_form_shows_errors_next_to_the_fields(
    maria: User, maria_client: Client
) -> None:
    top = _section(maria, "TOP")
    _section(maria, "LOW", parent=top)
    low = Section.objects.get(code="LOW")
    response = maria_client.post(
        reverse("cases_setup:section_edit", args=[top.pk]),
        {"name": "Top", "code": "LOW", "parent": low.pk, "visibility": "public", "email": "x@"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["code"] == ["Another section already has the code LOW."]
    assert "would make a loop" in form.errors["parent"][0]
    assert "not a valid email address" in form.errors["email"][0]
    assert "would make a loop" in response.content.decode()


def test_editing_a_case_type(maria: User, maria_client: Client) -> None:
    claim = CaseType.objects.get(code="claim")
    section = _section(maria, "QUALITY")
    url = reverse("cases_setup:case_type_edit", args=[claim.pk])
    page = maria_client.get(url).content.decode()
    assert 'type="checkbox" name="field_groups" value="claim"' in page
    response = maria_client.post(
        url,
        {
            "name": "Quality claim",
            "code": "claim",
            "field_groups": ["claim", "expense"],
            "default_section": section.pk,
            "final_close": "on",
            "sequence": "15",
            "active": "on",
        },
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.name == "Quality claim"
    assert claim.field_groups == ["claim", "expense"]
    assert (claim.default_section, claim.billable, claim.final_close) == (section, False, True)
    response = maria_client.post(
        url, {"name": "Quality claim", "code": "bad code!", "sequence": "15"}
    )
    assert response.status_code == 400
    assert "letters a to z" in response.context["form"].errors["code"][0]


def test_creating_a_case_type(maria_client: Client) -> None:
    response = maria_client.post(
        reverse("cases_setup:case_type_create"),
        {"name": "Return", "code": "return", "sequence": "200", "active": "on"},
    )
    assert response.status_code == 302
    assert CaseType.objects.get(code="return").name == "Return"


def test_adding_a_category_with_htmx_returns_the_panel(maria: User, maria_client: Client) -> None:
    section = _section(maria, "HELP")
    url = reverse("cases_setup:category_add", args=[section.pk])
    response = maria_client.post(
        url,
        {"category-name": "Billing", "category-default_probability": "40"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="panel" id="categories"')
    assert "The category Billing was added." in body
    assert section.categories.get().default_probability == 40
    # A duplicate comes back in the panel with the error beside the field.
    response = maria_client.post(url, {"category-name": "billing"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Help already has a category called billing." in response.content.decode()
    assert section.categories.count() == 1


def test_adding_a_category_without_htmx_redirects_or_shows_the_page(
    maria: User, maria_client: Client
) -> None:
    section = _section(maria, "HELP")
    url = reverse("cases_setup:category_add", args=[section.pk])
    response = maria_client.post(url, {"category-name": "Billing"})
    assert response.status_code == 302
    response = maria_client.post(url, {"category-name": ""})
    assert response.status_code == 400
    assert response.context["category_form"].errors["name"]


def test_editing_and_deleting_a_category(maria: User, maria_client: Client) -> None:
    section = _section(maria, "HELP")
    category = configuration.category_save(by=maria, section=section, values={"name": "Billing"})
    edit = reverse("cases_setup:category_edit", args=[category.pk])
    response = maria_client.get(edit, HTTP_HX_REQUEST="true")
    assert "Edit the category Billing" in response.content.decode()
    response = maria_client.post(
        edit, {"edit-category-name": "Invoices", "edit-category-active": "on"}
    )
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.name, category.active) == ("Invoices", True)

    delete = reverse("cases_setup:category_delete", args=[category.pk])
    page = maria_client.get(delete).content.decode()
    assert "Delete the category Invoices?" in page
    assert CaseCategory.objects.filter(pk=category.pk).exists()
    response = maria_client.post(delete, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "The category Invoices was deleted." in response.content.decode()
    assert not CaseCategory.objects.filter(pk=category.pk).exists()


def test_stage_pages(maria: User, maria_client: Client) -> None:
    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    response = maria_client.post(
        reverse("cases_setup:stage_add", args=[section.pk]),
        {"stage-name": "Escalated", "stage-probability": "", "stage-folded": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert "The stage Escalated was added." in response.content.decode()
    stage = section.stages.get(name="Escalated")
    assert (stage.sequence, stage.folded) == (50, True)

    response = maria_client.post(
        reverse("cases_setup:stage_edit", args=[stage.pk]),
        {"edit-stage-name": "Solved", "edit-stage-probability": "200"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "Help already has a stage called Solved." not in body  # the form stops it first
    assert "Ensure this value is less than or equal to 100." in body
    response = maria_client.post(
        reverse("cases_setup:stage_edit", args=[stage.pk]),
        {"edit-stage-name": "Solved"},
        HTTP_HX_REQUEST="true",
    )
    assert "Help already has a stage called Solved." in response.content.decode()

    response = maria_client.post(reverse("cases_setup:stage_delete", args=[stage.pk]))
    assert response.status_code == 302
    assert not Stage.objects.filter(pk=stage.pk).exists()


def test_reordering_stages_by_drag_and_by_arrow(maria: User, maria_client: Client) -> None:
    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    new, doing, waiting, solved = (s.pk for s in section.stages.all())
    url = reverse("cases_setup:stages_reorder", args=[section.pk])
    response = maria_client.post(
        url, {"stage_ids": [doing, new, waiting, solved]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert list(section.stages.values_list("pk", flat=True)) == [doing, new, waiting, solved]
    response = maria_client.post(
        url, {"stage_ids": [doing, new, waiting, solved], "move": f"{solved}:up"}
    )
    assert response.status_code == 302
    assert list(section.stages.values_list("pk", flat=True)) == [doing, new, solved, waiting]


def test_reordering_with_a_foreign_stage_changes_nothing(maria: User, maria_client: Client) -> None:
    mine = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    other = configuration.section_save(by=maria, values={"name": "Sales", "code": "SALES"})
    before = list(Stage.objects.values_list("pk", "sequence"))
    foreign = other.stages.values_list("pk", flat=True)[0]
    ids = [foreign, *mine.stages.values_list("pk", flat=True)]
    response = maria_client.post(
        reverse("cases_setup:stages_reorder", args=[mine.pk]),
        {"stage_ids": ids},
        HTTP_HX_REQUEST="true",
    )
    assert f"Help has no stage with the id {foreign}" in response.content.decode()
    assert list(Stage.objects.values_list("pk", "sequence")) == before


def test_seeding_stages_from_the_empty_panel(maria: User, maria_client: Client) -> None:
    section = _section(maria, "EMPTY")
    page = maria_client.get(reverse("cases_setup:section_detail", args=[section.pk]))
    assert "No stages yet." in page.content.decode()
    response = maria_client.post(
        reverse("cases_setup:section_seed_stages", args=[section.pk]),
        {"pipeline": "sales"},
        HTTP_HX_REQUEST="true",
    )
    assert "Negotiation" in response.content.decode()
    assert section.stages.count() == 5


def test_objects_that_do_not_exist_are_404(maria_client: Client) -> None:
    for name in ("section_detail", "category_edit", "stage_edit", "case_type_edit"):
        assert maria_client.get(reverse(f"cases_setup:{name}", args=[999999])).status_code == 404


# --------------------------------------------------------------------------
# Admin


def test_the_admin_saves_sections_through_the_service(alice: User, alice_client: Client) -> None:
    """The admin refuses a loop with the service's message, and seeds a new section."""
    response = alice_client.post(
        "/admin/cases/section/add/",
        {
            "name": "Support",
            "code": "support",
            "visibility": "public",
            "active": "on",
            "stages-TOTAL_FORMS": "0",
            "stages-INITIAL_FORMS": "0",
            "categories-TOTAL_FORMS": "0",
            "categories-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    section = Section.objects.get(code="SUPPORT")
    assert section.stages.count() == 4
    response = alice_client.post(
        f"/admin/cases/section/{section.pk}/change/",
        {
            "name": "Support",
            "code": "SUPPORT",
            "parent": section.pk,
            "visibility": "public",
            "stages-TOTAL_FORMS": "0",
            "stages-INITIAL_FORMS": "0",
            "categories-TOTAL_FORMS": "0",
            "categories-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "A section cannot escalate to itself." in response.content.decode()


def test_the_admin_lists_cases_read_only(alice: User, alice_client: Client) -> None:
    section = _section(alice, "HELP")
    case = _case(section)
    assert alice_client.get("/admin/cases/case/").status_code == 200
    assert alice_client.get(f"/admin/cases/case/{case.pk}/change/").status_code == 200
    assert alice_client.get("/admin/cases/case/add/").status_code == 403


def test_setup_pages_render_with_the_production_manifest(
    tmp_path: Any, maria: User, maria_client: Client
) -> None:
    """The stylesheet, SortableJS and the setup script are in the hashed manifest."""
    from django.core.management import call_command
    from django.test import override_settings

    section = configuration.section_save(by=maria, values={"name": "Help", "code": "HELP"})
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages, WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        page = maria_client.get(reverse("cases_setup:section_detail", args=[section.pk]))
        assert page.status_code == 200
        html = page.content.decode()
        for name in ("goodwill/cases-setup.css", "goodwill/cases-setup.js"):
            stem, ext = name.rsplit(".", 1)
            assert re.search(rf"/static/{stem}\.[0-9a-f]{{12}}\.{ext}", html), name
        assert re.search(r"/static/vendor/sortablejs/Sortable\.min\.[0-9a-f]{12}\.js", html)
