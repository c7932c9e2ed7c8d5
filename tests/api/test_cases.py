"""The cases REST API: /api/cases/, /api/sections/ and /api/case-types/."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.cases import selectors, services
from goodwill.cases.models import Case, OutboundMessage, Section, Watcher
from goodwill.partners.models import TimelineEntry
from tests.api.test_partners import _json_schema
from tests.factories import (
    CaseFactory,
    PartnerFactory,
    PersonFactory,
    SectionFactory,
    UserFactory,
    case_type,
)

pytestmark = pytest.mark.django_db

HUGE = 2**70


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def alice_api(alice: User) -> APIClient:
    return api(alice)


@pytest.fixture
def maria_api(maria: User) -> APIClient:
    return api(maria)


@pytest.fixture
def bob_api(bob: User) -> APIClient:
    return api(bob)


@pytest.fixture
def support() -> Section:
    return SectionFactory(name="Support", code="SUPPORT", email="support@example.com")


@pytest.fixture
def private() -> Section:
    """A members-only section that bob is not a member of."""
    return SectionFactory(name="Board", code="BOARD", visibility=Section.Visibility.MEMBERS)


def subjects(response: Any) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["subject"] for row in response.json()["results"]]


def timeline(client: APIClient, case: Case) -> list[dict[str, Any]]:
    response = client.get(f"/api/cases/{case.number}/timeline/")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def post(client: APIClient, url: str, body: Any = None) -> Any:
    return client.post(url, body, format="json")


# --------------------------------------------------------------------------
# Create


def test_create_by_codes_and_open_at_once(bob_api: APIClient, bob: User, support: Section) -> None:
    """A POST with type and section codes creates the case through the service; open: true
    opens it, which makes bob responsible; the requester defaults to the contact's email."""
    acme = PartnerFactory(name="Acme")
    pat = PersonFactory(name="Pat", emails=["pat@acme.example"])
    deadline = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    response = post(
        bob_api,
        "/api/cases/",
        {
            "subject": "  Printer on fire ",
            "case_type": "helpdesk",
            "section": "support",
            "partner": acme.pk,
            "contact": pat.pk,
            "priority": 2,
            "description": "Smoke everywhere.",
            "deadline": deadline.isoformat(),
            "open": True,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    case = Case.objects.get(number=body["number"])
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/cases/{case.number}/")
    assert body["reference"] == f"#{case.number}"
    assert body["subject"] == "Printer on fire"
    assert body["case_type"]["code"] == "helpdesk"
    assert body["section"] == {"id": support.pk, "code": "SUPPORT", "name": "Support"}
    assert body["stage"]["name"] == "New"
    assert body["state"] == "open"
    assert body["priority"] == 2
    assert body["responsible"]["username"] == "bob"
    assert body["partner"]["id"] == acme.pk
    assert body["contact"]["name"] == "Pat"
    assert body["requester_email"] == "pat@acme.example"
    assert body["deadline"] is not None
    assert case.deadline == deadline
    assert body["created_by"]["username"] == "bob"
    assert body["allowed"] == {
        "change": True,
        "merge": False,
        "states": ["pending", "close", "cancel", "reset"],
    }
    assert [e["action"] for e in timeline(bob_api, case)] == ["open", "created"]


def test_create_by_ids_with_the_type_specific_fields(
    bob_api: APIClient, bob: User, maria: User, support: Section
) -> None:
    """Ids work as well as codes; an opportunity and a meeting keep their own fields."""
    acme = PartnerFactory(name="Acme")
    pat = PersonFactory(name="Pat")

    opportunity = post(
        bob_api,
        "/api/cases/",
        {
            "subject": "Big deal",
            "case_type": case_type("opportunity").pk,
            "section": support.pk,
            "partner": acme.pk,
            "planned_revenue": "1234.50",
            "planned_cost": 200,
            "probability": 40,
            "expected_close": "2031-03-01",
            "currency": "EUR",
            "responsible": maria.pk,
        },
    )
    meeting = post(
        bob_api,
        "/api/cases/",
        {
            "subject": "Kick-off",
            "case_type": "meeting",
            "section": "SUPPORT",
            "partner": acme.pk,
            "scheduled_start": "2031-03-01T10:00:00Z",
            "scheduled_end": "2031-03-01T11:30:00Z",
            "location_text": "Room 4",
            "attendees": [pat.pk],
            "attendee_users": [bob.pk, maria.pk],
        },
    )

    assert opportunity.status_code == 201, opportunity.json()
    deal = opportunity.json()
    assert deal["state"] == "draft"
    assert deal["planned_revenue"] == "1234.50"
    assert deal["planned_cost"] == "200.00"
    assert deal["probability"] == 40
    assert deal["weighted_revenue"] == "493.80"
    assert deal["expected_close"] == "2031-03-01"
    assert deal["currency"] == "EUR"
    assert deal["responsible"]["username"] == "maria"
    assert meeting.status_code == 201, meeting.json()
    visit = meeting.json()
    assert visit["scheduled_start"].startswith("2031-03-01T")
    assert visit["location_text"] == "Room 4"
    assert [p["name"] for p in visit["attendees"]] == ["Pat"]
    assert {u["username"] for u in visit["attendee_users"]} == {"bob", "maria"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"case_type": "helpdesk"}, "subject"),
        ({"subject": "X"}, "case_type"),
        ({"subject": "", "case_type": "helpdesk"}, "subject"),
        ({"subject": ["a"], "case_type": "helpdesk"}, "subject"),
        ({"subject": "X", "case_type": "nope"}, "case_type"),
        ({"subject": "X", "case_type": True}, "case_type"),
        ({"subject": "X", "case_type": HUGE}, "case_type"),
        ({"subject": "X", "case_type": {"code": "helpdesk"}}, "case_type"),
        ({"subject": "X", "case_type": "helpdesk", "section": "NOPE"}, "section"),
        ({"subject": "X", "case_type": "helpdesk", "section": 999999}, "section"),
        ({"subject": "X", "case_type": "helpdesk", "section": str(HUGE)}, "section"),
        ({"subject": "X", "case_type": "helpdesk", "section": None}, "section"),
        ({"subject": "X", "case_type": "helpdesk", "partner": HUGE}, "partner"),
        ({"subject": "X", "case_type": "helpdesk", "partner": "abc"}, "partner"),
        ({"subject": "X", "case_type": "helpdesk", "partner": 999999}, "partner"),
        ({"subject": "X", "case_type": "helpdesk", "responsible": -3}, "responsible"),
        ({"subject": "X", "case_type": "helpdesk", "priority": 9}, "priority"),
        ({"subject": "X", "case_type": "helpdesk", "priority": "high"}, "priority"),
        ({"subject": "X", "case_type": "helpdesk", "probability": 101}, "probability"),
        ({"subject": "X", "case_type": "helpdesk", "planned_revenue": "-1"}, "planned_revenue"),
        ({"subject": "X", "case_type": "helpdesk", "amount": "1e400"}, "amount"),
        ({"subject": "X", "case_type": "helpdesk", "deadline": "tomorrow"}, "deadline"),
        ({"subject": "X", "case_type": "helpdesk", "attendees": [HUGE]}, "attendees"),
        ({"subject": "X", "case_type": "helpdesk", "attendees": "1"}, "attendees"),
        ({"subject": "X", "case_type": "helpdesk", "attendee_users": [999999]}, "attendee_users"),
        ({"subject": "X", "case_type": "helpdesk", "related": HUGE}, "related"),
        ({"subject": "X", "case_type": "helpdesk", "related": 999999}, "related"),
        ({"subject": "X", "case_type": "helpdesk", "channel": "pigeon"}, "channel"),
        ({"subject": "X", "case_type": "helpdesk", "open": "maybe"}, "open"),
        (
            {"subject": "X", "case_type": "helpdesk", "requester_email": "nobody@"},
            "requester_email",
        ),
        ({"subject": "X", "case_type": "helpdesk", "sbuject": "typo"}, "sbuject"),
        ({"subject": "X", "case_type": "helpdesk", "state": "open"}, "state"),
        ({"subject": "X", "case_type": "helpdesk", "number": 5}, "number"),
        (
            {
                "subject": "X",
                "case_type": "meeting",
                "scheduled_start": "2031-03-01T10:00:00Z",
                "scheduled_end": "2031-03-01T09:00:00Z",
            },
            "scheduled_end",
        ),
    ],
)
def test_create_refuses_bad_payloads(
    bob_api: APIClient, support: Section, payload: dict[str, Any], field: str
) -> None:
    """Wrong types, out-of-range or unknown ids and codes, and what the service refuses are a
    400 naming the field (never a 500); nothing is saved."""
    payload = {"section": "SUPPORT", **payload} if "section" not in payload else payload

    response = post(bob_api, "/api/cases/", payload)

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["detail"]
    assert field in body["errors"], body
    assert not Case.objects.exists()


def test_create_reports_the_service_s_judgement_on_its_field(
    bob_api: APIClient, support: Section
) -> None:
    """A company as contact and a category of another section are refused by the service,
    with its words, on their fields."""
    acme = PartnerFactory(name="Acme")
    other = SectionFactory(name="Sales")
    category = other.categories.create(name="Hardware")

    response = post(
        bob_api,
        "/api/cases/",
        {
            "subject": "X",
            "case_type": "helpdesk",
            "section": "SUPPORT",
            "contact": acme.pk,
            "category": category.pk,
        },
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["contact"] == ["The contact must be a person, not a company."]
    assert errors["category"] == ["The category Hardware belongs to another section than Support."]
    assert not Case.objects.exists()


def test_create_needs_a_section_when_the_type_has_none(bob_api: APIClient) -> None:
    """Without a section, and no default section on the type, the service asks for one."""
    response = post(bob_api, "/api/cases/", {"subject": "X", "case_type": "bug"})

    assert response.status_code == 400
    assert response.json()["errors"]["section"] == [
        "Choose a section: the type Bug has no default section."
    ]


def test_create_refuses_sections_out_of_sight(bob_api: APIClient, private: Section) -> None:
    """Bob cannot create a case in a members-only section he is not in: by code or by id
    it reads as a section that does not exist."""
    by_code = post(bob_api, "/api/cases/", {"subject": "X", "case_type": "bug", "section": "BOARD"})
    by_id = post(
        bob_api, "/api/cases/", {"subject": "X", "case_type": "bug", "section": private.pk}
    )

    assert by_code.status_code == 400
    assert by_code.json()["errors"]["section"] == ["No section has the id or code BOARD."]
    assert by_id.status_code == 400
    assert by_id.json()["errors"]["section"] == [f"No section has the id or code {private.pk}."]
    assert not Case.objects.exists()


def test_create_refuses_a_body_that_is_not_an_object(bob_api: APIClient) -> None:
    response = post(bob_api, "/api/cases/", ["subject"])

    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]


# --------------------------------------------------------------------------
# List


def test_list_shows_visible_cases_newest_first(
    bob_api: APIClient, bob: User, support: Section, private: Section
) -> None:
    """The list holds the cases bob may see, most recently updated first, with their
    summary; the members-only section's cases are not there."""
    acme = PartnerFactory(name="Acme")
    CaseFactory(subject="Older", section=support)
    CaseFactory(subject="Secret", section=private)
    newer = CaseFactory(subject="Newer", section=support, partner=acme, state="open", by=bob)

    response = bob_api.get("/api/cases/")

    assert subjects(response) == ["Newer", "Older"]
    body = response.json()
    assert body["next"] is None
    assert body["previous"] is None
    row = body["results"][0]
    assert row["number"] == newer.number
    assert row["reference"] == f"#{newer.number}"
    assert row["url"].endswith(f"/api/cases/{newer.number}/")
    assert row["state"] == "open"
    assert row["section"]["code"] == "SUPPORT"
    assert row["case_type"]["code"] == "helpdesk"
    assert row["stage"]["name"] == "New"
    assert row["responsible"]["username"] == "bob"
    assert row["partner"]["name"] == "Acme"
    assert row["is_late"] is False


def test_list_filters_like_the_case_list_page(
    bob_api: APIClient, bob: User, maria: User, support: Section
) -> None:
    """filter, q, section (id or code), case_type, state, priority, responsible and
    partner narrow the list as on the case list page."""
    sales = SectionFactory(name="Sales", code="SALES")
    acme = PartnerFactory(name="Acme")
    mine = CaseFactory(subject="Mine open", section=support, state="open", by=bob, priority=1)
    CaseFactory(subject="Maria's", section=support, state="open", by=maria)
    CaseFactory(subject="Deal with Acme", section=sales, type="opportunity", partner=acme)
    CaseFactory(subject="Pending one", section=support, state="pending", by=bob)

    assert subjects(bob_api.get("/api/cases/", {"filter": "my_open"})) == ["Mine open"]
    assert subjects(bob_api.get("/api/cases/", {"filter": "my_pending"})) == ["Pending one"]
    assert subjects(bob_api.get("/api/cases/", {"q": "acme"})) == ["Deal with Acme"]
    assert subjects(bob_api.get("/api/cases/", {"q": f"#{mine.number}"})) == ["Mine open"]
    assert subjects(bob_api.get("/api/cases/", {"section": "SALES"})) == ["Deal with Acme"]
    assert subjects(bob_api.get("/api/cases/", {"section": sales.pk})) == ["Deal with Acme"]
    assert subjects(bob_api.get("/api/cases/", {"case_type": "opportunity"})) == ["Deal with Acme"]
    assert subjects(bob_api.get("/api/cases/", {"state": "pending"})) == ["Pending one"]
    assert subjects(bob_api.get("/api/cases/", {"priority": 1})) == ["Mine open"]
    assert subjects(bob_api.get("/api/cases/", {"responsible": maria.pk})) == ["Maria's"]
    assert subjects(bob_api.get("/api/cases/", {"partner": acme.pk})) == ["Deal with Acme"]
    assert subjects(bob_api.get("/api/cases/", {"sort": "number", "section": "SUPPORT"}))[0] == (
        "Pending one"
    )
    assert len(subjects(bob_api.get("/api/cases/", {"section": "", "q": ""}))) == 4


def test_list_refuses_bad_filter_values(bob_api: APIClient, private: Section) -> None:
    """A filter value that is not valid is a 400 naming each such filter, never a 500;
    a section out of sight is as unknown as a section that does not exist."""
    response = bob_api.get(
        "/api/cases/",
        {
            "filter": "mine",
            "section": "BOARD",
            "case_type": "robot",
            "state": "lost",
            "priority": "9",
            "responsible": str(HUGE),
            "partner": "abc",
            "sort": "colour",
        },
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "filter",
        "section",
        "case_type",
        "state",
        "priority",
        "responsible",
        "partner",
        "sort",
    }


def test_list_pages_with_cursors(
    bob_api: APIClient, support: Section, monkeypatch: pytest.MonkeyPatch
) -> None:
    """next and previous carry a cursor and the filters; following them walks every case once."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    for n in range(5):
        CaseFactory(subject=f"Case {n}", section=support)
    CaseFactory(subject="Elsewhere")

    first = bob_api.get("/api/cases/", {"section": "SUPPORT", "sort": "number"}).json()
    assert [r["subject"] for r in first["results"]] == ["Case 4", "Case 3"]
    assert first["previous"] is None
    assert f"section={support.pk}" in first["next"]
    second = bob_api.get(first["next"]).json()
    assert [r["subject"] for r in second["results"]] == ["Case 2", "Case 1"]
    third = bob_api.get(second["next"]).json()
    assert [r["subject"] for r in third["results"]] == ["Case 0"]
    assert third["next"] is None
    assert bob_api.get(third["previous"]).json()["results"] == second["results"]


@pytest.mark.parametrize("cursor", ["garbage", "eyJ2IjoxfQ", "%%%"])
def test_list_refuses_a_bad_cursor(bob_api: APIClient, cursor: str) -> None:
    response = bob_api.get("/api/cases/", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["errors"]["cursor"] == ["This page link is no longer valid."]


def test_list_leaves_merged_cases_out(maria_api: APIClient, support: Section) -> None:
    keep = CaseFactory(subject="Keep", section=support)
    drop = CaseFactory(subject="Drop", section=support)
    post(maria_api, f"/api/cases/{drop.number}/merge/", {"into": keep.number})

    assert subjects(maria_api.get("/api/cases/")) == ["Keep"]


# --------------------------------------------------------------------------
# Private sections


def test_private_section_is_invisible_to_bob(
    bob_api: APIClient, maria_api: APIClient, private: Section
) -> None:
    """A case in a members-only section bob is not in is missing for him everywhere, with
    the same 404 as a number that does not exist; maria (a manager) sees it."""
    secret = CaseFactory(subject="Secret", section=private)
    url = f"/api/cases/{secret.number}/"
    missing = bob_api.get("/api/cases/999999/")

    assert subjects(bob_api.get("/api/cases/")) == []
    assert subjects(bob_api.get("/api/cases/", {"q": "secret"})) == []
    for response in (
        bob_api.get(url),
        bob_api.get(f"{url}timeline/"),
        bob_api.get(f"{url}watchers/"),
        bob_api.patch(url, {"subject": "Mine now"}, format="json"),
        post(bob_api, f"{url}state/", {"action": "open"}),
        post(bob_api, f"{url}notes/", {"body": "Peek"}),
        post(bob_api, f"{url}replies/", {"body": "Peek"}),
    ):
        assert response.status_code == 404
        assert response.json() == missing.json() == {"detail": "No such case."}
    assert subjects(maria_api.get("/api/cases/")) == ["Secret"]
    assert maria_api.get(url).status_code == 200
    secret.refresh_from_db()
    assert secret.subject == "Secret"
    assert secret.state == "draft"


def test_members_and_assignees_see_private_cases(
    bob_api: APIClient, bob: User, private: Section, support: Section
) -> None:
    """Bob sees a private case once it is assigned to him, and every case of a private
    section once he is a member."""
    mine = CaseFactory(subject="Assigned to bob", section=private, responsible=bob)
    CaseFactory(subject="Not yet", section=private)

    assert subjects(bob_api.get("/api/cases/")) == ["Assigned to bob"]
    assert bob_api.get(f"/api/cases/{mine.number}/timeline/").status_code == 200

    private.members.add(bob)
    assert sorted(subjects(api(User.objects.get(pk=bob.pk)).get("/api/cases/"))) == [
        "Assigned to bob",
        "Not yet",
    ]


def test_a_related_case_out_of_sight_is_not_shown(
    bob_api: APIClient, maria: User, private: Section, support: Section
) -> None:
    """The detail names a related case only if the reader may see it."""
    secret = CaseFactory(subject="Secret", section=private)
    case = CaseFactory(subject="Public", section=support, related=secret)

    assert bob_api.get(f"/api/cases/{case.number}/").json()["related"] is None
    related = api(maria).get(f"/api/cases/{case.number}/").json()["related"]
    assert related["number"] == secret.number
    assert related["subject"] == "Secret"


# --------------------------------------------------------------------------
# Detail and update


def test_detail_shows_everything(bob_api: APIClient, bob: User, support: Section) -> None:
    pat = PersonFactory(name="Pat", emails=["pat@example.com"])
    case = CaseFactory(
        subject="Broken",
        section=support,
        contact=pat,
        description="It broke.",
        state="open",
        by=bob,
    )
    services.watcher_add(case=case, by=bob, email="boss@example.com")

    response = bob_api.get(f"/api/cases/{case.number}/")

    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "Broken"
    assert body["description"] == "It broke."
    assert body["contact"]["name"] == "Pat"
    assert body["requester_email"] == "pat@example.com"
    assert body["opened_at"] is not None
    assert body["closed_at"] is None
    assert body["final"] is False
    assert body["merged_into"] is None
    assert body["approval"] == ""
    assert [w["email"] for w in body["watchers"]] == ["boss@example.com"]
    assert body["allowed"]["states"] == ["pending", "close", "cancel", "reset"]


@pytest.mark.parametrize("number", ["999999", "99999999999999999999", "abc", "-1", "0"])
def test_detail_of_a_missing_number_is_404(bob_api: APIClient, number: str) -> None:
    """Numbers that do not exist, or are not numbers at all, are a 404, never a 500."""
    response = bob_api.get(f"/api/cases/{number}/")

    assert response.status_code == 404


def test_patch_changes_only_the_keys_sent(bob_api: APIClient, bob: User, support: Section) -> None:
    """A PATCH changes the given fields through case_update; the timeline has old → new."""
    case = CaseFactory(subject="Old subject", section=support, description="Keep me", priority=3)
    doing = support.stages.get(name="Doing")

    response = bob_api.patch(
        f"/api/cases/{case.number}/",
        {"subject": "New subject", "priority": 1, "stage": doing.pk, "responsible": bob.pk},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["subject"] == "New subject"
    assert body["priority"] == 1
    assert body["stage"]["name"] == "Doing"
    assert body["responsible"]["username"] == "bob"
    assert body["description"] == "Keep me"
    entry = timeline(bob_api, case)[0]
    assert entry["kind"] == "field_change"
    assert entry["action"] == "updated"
    assert entry["author"]["username"] == "bob"
    assert {"label": "Subject", "old": "Old subject", "new": "New subject"} in entry["changes"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"subject": ""}, "subject", None),
        ({"subject": None}, "subject", None),
        ({"priority": 0}, "priority", None),
        ({"stage": HUGE}, "stage", None),
        ({"colour": "red", "size": 3}, "colour", "Unknown field."),
        ({"state": "done"}, "state", None),
        ({"open": True}, "open", None),
        ({"id": 4}, "id", "Unknown field."),
    ],
)
def test_patch_refuses_bad_payloads(
    bob_api: APIClient, support: Section, payload: dict[str, Any], field: str, message: str | None
) -> None:
    """A bad PATCH is a 400 naming the fields (the state's own endpoint is pointed to);
    the case is unchanged."""
    case = CaseFactory(subject="Untouched", section=support)

    response = bob_api.patch(f"/api/cases/{case.number}/", payload, format="json")

    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert set(errors) >= set(payload) - {"subject", "priority", "stage"}
    if field == "state":
        assert "/state/" in errors["state"][0]
    case.refresh_from_db()
    assert case.subject == "Untouched"
    assert [e["action"] for e in timeline(bob_api, case)] == ["created"]


def test_patch_of_a_stage_of_another_section(bob_api: APIClient, support: Section) -> None:
    case = CaseFactory(subject="X", section=support)
    other = SectionFactory(name="Sales").stages.first()
    assert other is not None

    response = bob_api.patch(f"/api/cases/{case.number}/", {"stage": other.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["stage"] == [
        f"The stage {other.name} belongs to another section than Support."
    ]


def test_a_case_closed_for_good_cannot_change(bob_api: APIClient, support: Section) -> None:
    """A claim that is done is final: edits are a 400 with the service's message."""
    claim = CaseFactory(subject="Claim", section=support, type="claim", state="done")

    response = bob_api.patch(f"/api/cases/{claim.number}/", {"subject": "Again"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"Case #{claim.number} is closed for good (final close) and can no longer be changed."
    )
    detail = bob_api.get(f"/api/cases/{claim.number}/").json()
    assert detail["final"] is True
    assert detail["allowed"] == {"change": False, "merge": False, "states": []}


# --------------------------------------------------------------------------
# State, escalation, assignment


def test_state_actions_walk_the_life_cycle(bob_api: APIClient, bob: User, support: Section) -> None:
    """open, pending, close, reset go through case_set_state; each is on the timeline."""
    case = CaseFactory(subject="Life", section=support)
    url = f"/api/cases/{case.number}/state/"

    opened = post(bob_api, url, {"action": "open"})
    assert opened.status_code == 200, opened.json()
    assert opened.json()["state"] == "open"
    assert opened.json()["responsible"]["username"] == "bob"
    assert post(bob_api, url, {"action": "pending"}).json()["state"] == "pending"
    closed = post(bob_api, url, {"action": "close"}).json()
    assert closed["state"] == "done"
    assert closed["closed_at"] is not None
    assert closed["allowed"]["states"] == ["open", "reset"]
    reset = post(bob_api, url, {"action": "reset"}).json()
    assert reset["state"] == "draft"
    assert reset["closed_at"] is None
    actions = [e["action"] for e in timeline(bob_api, case)]
    assert actions == ["reset", "close", "pending", "open", "created"]
    state_entry = timeline(bob_api, case)[1]
    assert state_entry["kind"] == "state_change"
    assert state_entry["changes"] == [{"label": "State", "old": "Pending", "new": "Done"}]


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        ("done", "close", "is done; it cannot be closed from there."),
        ("draft", "reset", "is draft; it cannot be reset to draft from there."),
        ("cancel", "pending", "is cancelled; it cannot be set pending from there."),
    ],
)
def test_illegal_transitions_are_refused(
    bob_api: APIClient, support: Section, state: str, action: str, message: str
) -> None:
    """An action the case's state does not allow is a 400 with the service's message."""
    case = CaseFactory(subject="X", section=support, state=state)

    response = post(bob_api, f"/api/cases/{case.number}/state/", {"action": action})

    assert response.status_code == 400
    assert response.json()["detail"] == f"Case #{case.number} {message}"
    case.refresh_from_db()
    assert case.state == state


@pytest.mark.parametrize("body", [{"action": "explode"}, {}, {"action": 1}, {"action": ["open"]}])
def test_unknown_state_actions_are_refused(
    bob_api: APIClient, support: Section, body: dict[str, Any]
) -> None:
    case = CaseFactory(subject="X", section=support)

    response = post(bob_api, f"/api/cases/{case.number}/state/", body)

    assert response.status_code == 400
    assert "action" in response.json()["errors"]


def test_escalate_hands_the_case_to_the_parent_section(
    bob_api: APIClient, maria: User, support: Section
) -> None:
    """Escalation moves the case to the parent section and its responsible user."""
    level2 = SectionFactory(name="Level 2", code="L2", responsible=maria, stages=["Triage"])
    support.parent = level2
    support.save()
    case = CaseFactory(subject="Hard one", section=support, state="open")

    response = post(bob_api, f"/api/cases/{case.number}/escalate/", {"note": "Beyond me."})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["section"]["code"] == "L2"
    assert body["stage"]["name"] == "Triage"
    assert body["responsible"]["username"] == "maria"
    entry = timeline(bob_api, case)[0]
    assert entry["action"] == "escalated"
    assert entry["body"] == "Beyond me."


def test_escalate_at_the_top_is_refused(bob_api: APIClient, support: Section) -> None:
    case = CaseFactory(subject="X", section=support, state="open")

    response = post(bob_api, f"/api/cases/{case.number}/escalate/")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Support is at the top of the escalation chain: it has no parent section."
    )


def test_assign_and_unassign(bob_api: APIClient, maria: User, support: Section) -> None:
    case = CaseFactory(subject="X", section=support)
    url = f"/api/cases/{case.number}/assign/"

    assigned = post(bob_api, url, {"responsible": maria.pk})
    assert assigned.status_code == 200, assigned.json()
    assert assigned.json()["responsible"]["username"] == "maria"
    unassigned = post(bob_api, url, {"responsible": None})
    assert unassigned.status_code == 200
    assert unassigned.json()["responsible"] is None
    assert [e["action"] for e in timeline(bob_api, case)][:2] == ["updated", "updated"]


@pytest.mark.parametrize("who", ["charlie", "missing", "huge", "text", "absent"])
def test_assign_refuses_bad_users(
    bob_api: APIClient, charlie: User, support: Section, who: str
) -> None:
    """Assigning someone without a staff role, an unknown id or no key at all is a 400."""
    case = CaseFactory(subject="X", section=support)
    body = {
        "charlie": {"responsible": charlie.pk},
        "missing": {"responsible": 999999},
        "huge": {"responsible": HUGE},
        "text": {"responsible": "bob"},
        "absent": {},
    }[who]

    response = post(bob_api, f"/api/cases/{case.number}/assign/", body)

    assert response.status_code == 400
    assert "responsible" in response.json()["errors"]
    case.refresh_from_db()
    assert case.responsible is None


# --------------------------------------------------------------------------
# Merge


def test_agents_cannot_merge(bob_api: APIClient, support: Section) -> None:
    """Merging needs cases.merge_case: 403 for an agent, even for a number that does not
    exist, and nothing changes."""
    keep = CaseFactory(subject="Keep", section=support)
    drop = CaseFactory(subject="Drop", section=support)

    response = post(bob_api, f"/api/cases/{drop.number}/merge/", {"into": keep.number})

    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this on cases."}
    assert post(bob_api, "/api/cases/999999/merge/", {"into": 1}).status_code == 403
    drop.refresh_from_db()
    assert drop.merged_into is None


def test_manager_merges_a_case_into_another(maria_api: APIClient, support: Section) -> None:
    """The case is folded into "into": the answer is that case, the timeline moved over,
    and the merged case points there."""
    keep = CaseFactory(subject="Keep", section=support)
    drop = CaseFactory(subject="Drop", section=support, requester_email="drop@example.com")
    post(maria_api, f"/api/cases/{drop.number}/notes/", {"body": "From the duplicate"})

    response = post(maria_api, f"/api/cases/{drop.number}/merge/", {"into": keep.number})

    assert response.status_code == 200, response.json()
    assert response.json()["number"] == keep.number
    assert "drop@example.com" in [w["email"] for w in response.json()["watchers"]]
    bodies = [e["body"] for e in timeline(maria_api, keep)]
    assert "From the duplicate" in bodies
    dropped = maria_api.get(f"/api/cases/{drop.number}/").json()
    assert dropped["state"] == "cancel"
    assert dropped["merged_into"]["number"] == keep.number
    assert dropped["allowed"]["change"] is False
    again = maria_api.patch(f"/api/cases/{drop.number}/", {"subject": "X"}, format="json")
    assert again.status_code == 400
    assert again.json()["detail"] == (
        f"Case #{drop.number} was merged into #{keep.number}; work on that case instead."
    )


@pytest.mark.parametrize(
    ("into", "field"),
    [
        ("self", "non_field_errors"),
        (999999, "into"),
        (HUGE, "into"),
        ("abc", "into"),
        (None, "into"),
        ("private", "into"),
    ],
)
def test_merge_refuses_bad_targets(
    support: Section, private: Section, into: Any, field: str
) -> None:
    """Merging into the case itself, an unknown number, or a case out of the user's sight
    is a 400; nothing is merged."""
    viewer = UserFactory(username="lead", roles=[Role.AGENT])
    viewer.user_permissions.add(Permission.objects.get(codename="merge_case"))
    viewer = User.objects.get(pk=viewer.pk)
    case = CaseFactory(subject="X", section=support)
    secret = CaseFactory(subject="Secret", section=private)
    target = {"self": case.number, "private": secret.number}.get(into, into)

    response = post(api(viewer), f"/api/cases/{case.number}/merge/", {"into": target})

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Case.objects.filter(merged_into__isnull=False).exists()


# --------------------------------------------------------------------------
# Timeline, notes, replies


def test_notes_are_internal_and_on_the_timeline(bob_api: APIClient, support: Section) -> None:
    case = CaseFactory(subject="X", section=support)

    response = post(bob_api, f"/api/cases/{case.number}/notes/", {"body": "  Called them.  "})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "note"
    assert body["body"] == "Called them."
    assert body["visibility"] == "internal"
    assert body["message"] is None
    assert body["author"]["username"] == "bob"
    assert timeline(bob_api, case)[0]["id"] == body["id"]
    assert Case.objects.get(pk=case.pk).message_count == 1


@pytest.mark.parametrize(
    "payload",
    [{"body": "   "}, {}, {"body": "x" * 100_001}, {"body": 5.5}, {"body": "x", "to": []}],
)
def test_bad_notes_are_refused(bob_api: APIClient, support: Section, payload: Any) -> None:
    case = CaseFactory(subject="X", section=support)

    response = post(bob_api, f"/api/cases/{case.number}/notes/", payload)

    if payload == {"body": 5.5}:  # a number is read as its text, like any string field
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.json()
    assert set(response.json()["errors"]) & {"body", "to"}
    assert not TimelineEntry.objects.filter(kind="note").exists()


def test_reply_is_queued_with_the_case_tag(bob_api: APIClient, bob: User, support: Section) -> None:
    """A reply goes to the outbox (queued) addressed to the requester, watchers in Cc, with
    the [#N] tag and a threading Message-ID; the timeline shows it with its status."""
    case = CaseFactory(subject="Printer", section=support, requester_email="pat@example.com")
    services.watcher_add(case=case, by=bob, email="boss@example.com")

    response = post(bob_api, f"/api/cases/{case.number}/replies/", {"body": "On our way."})

    assert response.status_code == 201, response.json()
    message = response.json()
    assert message["status"] == "queued"
    assert message["message_id"].startswith(f"<gw.c{case.number}.")
    assert message["subject"] == f"[#{case.number}] Printer"
    assert message["to"] == ["pat@example.com"]
    assert message["cc"] == ["boss@example.com"]
    assert message["from_email"] == "Support <support@example.com>"
    assert message["reply_to"] == f"support+c{case.number}@example.com"
    assert message["body"] == "On our way."
    entry = timeline(bob_api, case)[0]
    assert entry["kind"] == "email_out"
    assert entry["visibility"] == "public"
    assert entry["message"]["status"] == "queued"
    assert entry["message"]["message_id"] == message["message_id"]

    # The email gateway's sender marks it sent; the timeline says so.
    OutboundMessage.objects.filter(pk=message["id"]).update(status="sent", sent_at=timezone.now())
    assert timeline(bob_api, case)[0]["message"]["status"] == "sent"


def test_reply_to_and_cc_can_be_given(bob_api: APIClient, bob: User, support: Section) -> None:
    case = CaseFactory(subject="X", section=support, requester_email="pat@example.com")
    services.watcher_add(case=case, by=bob, email="boss@example.com")

    response = post(
        bob_api,
        f"/api/cases/{case.number}/replies/",
        {"body": "Hi", "to": ["Someone <Other@Example.com>"], "cc": []},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["to"] == ["other@example.com"]
    assert response.json()["cc"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "Hi", "to": ["not an address"]}, "to"),
        ({"body": "Hi", "to": "pat@example.com"}, "to"),
        ({"body": "Hi", "cc": ["nobody@"]}, "cc"),
        ({"body": "Hi", "bcc": ["x@example.com"]}, "bcc"),
    ],
)
def test_bad_replies_are_refused(
    bob_api: APIClient, support: Section, payload: dict[str, Any], field: str
) -> None:
    case = CaseFactory(subject="X", section=support, requester_email="pat@example.com")

    response = post(bob_api, f"/api/cases/{case.number}/replies/", payload)

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not OutboundMessage.objects.exists()


def test_reply_without_a_requester_is_refused(bob_api: APIClient, support: Section) -> None:
    case = CaseFactory(subject="X", section=support)

    response = post(bob_api, f"/api/cases/{case.number}/replies/", {"body": "Hi"})

    assert response.status_code == 400
    assert response.json()["errors"]["to"] == [
        "This case has no requester email; add one (or a contact) before replying."
    ]


def test_timeline_pages_newest_first(
    bob_api: APIClient, support: Section, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "TIMELINE_PAGE_SIZE", 2)
    case = CaseFactory(subject="X", section=support)
    for n in range(1, 4):
        post(bob_api, f"/api/cases/{case.number}/notes/", {"body": f"Note {n}"})

    first = bob_api.get(f"/api/cases/{case.number}/timeline/").json()
    assert [e["body"] for e in first["results"]] == ["Note 3", "Note 2"]
    assert first["previous"] is None
    second = bob_api.get(first["next"]).json()
    assert [e["action"] for e in second["results"]] == ["note", "created"]
    assert second["next"] is None
    assert bob_api.get(second["previous"]).json()["results"] == first["results"]
    bad = bob_api.get(f"/api/cases/{case.number}/timeline/", {"cursor": "nonsense"})
    assert bad.status_code == 400
    assert "cursor" in bad.json()["errors"]


# --------------------------------------------------------------------------
# Watchers


def test_watchers_are_listed_added_and_removed(
    bob_api: APIClient, maria: User, support: Section
) -> None:
    case = CaseFactory(subject="X", section=support)
    url = f"/api/cases/{case.number}/watchers/"

    user = post(bob_api, url, {"user": maria.pk})
    email = post(bob_api, url, {"email": "Boss@Example.com"})

    assert user.status_code == 201, user.json()
    assert user.json()["user"]["username"] == "maria"
    assert email.status_code == 201, email.json()
    assert email.json()["email"] == "boss@example.com"
    listed = bob_api.get(url).json()["results"]
    assert [(w["user"] or {}).get("username") or w["email"] for w in listed] == [
        "maria",
        "boss@example.com",
    ]

    removed = bob_api.delete(f"{url}{user.json()['id']}/")
    assert removed.status_code == 204
    assert [w["email"] for w in bob_api.get(url).json()["results"]] == ["boss@example.com"]
    changes = [e["changes"][0] for e in timeline(bob_api, case)[:3]]
    assert [c["new"] for c in changes[:2]] == ["(removed)", "+ boss@example.com"]
    assert changes[0]["old"] == changes[2]["new"][2:]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "non_field_errors"),
        ({"email": "not-an-email"}, "email"),
        ({"user": 999999}, "user"),
        ({"user": HUGE}, "user"),
        ({"user": "charlie"}, "user"),
        ({"user": "charlie-id"}, "user"),
        ({"email": "dup@example.com"}, "non_field_errors"),
    ],
)
def test_bad_watchers_are_refused(
    bob_api: APIClient, bob: User, charlie: User, support: Section, payload: Any, field: str
) -> None:
    """Neither user nor email, a bad address, an unknown id, someone without a staff role
    or a watcher already there is a 400."""
    case = CaseFactory(subject="X", section=support)
    services.watcher_add(case=case, by=bob, email="dup@example.com")
    if payload.get("user") == "charlie-id":
        payload = {"user": charlie.pk}

    response = post(bob_api, f"/api/cases/{case.number}/watchers/", payload)

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert Watcher.objects.count() == 1


def test_removing_a_watcher_of_another_case_is_404(
    bob_api: APIClient, bob: User, support: Section
) -> None:
    case = CaseFactory(subject="X", section=support)
    other = CaseFactory(subject="Y", section=support)
    watcher = services.watcher_add(case=other, by=bob, email="w@example.com")

    assert bob_api.delete(f"/api/cases/{case.number}/watchers/{watcher.pk}/").status_code == 404
    assert bob_api.delete(f"/api/cases/{case.number}/watchers/999999/").status_code == 404
    assert Watcher.objects.filter(pk=watcher.pk).exists()


# --------------------------------------------------------------------------
# Sections and case types


def test_sections_are_those_the_user_sees(
    bob_api: APIClient, maria_api: APIClient, bob: User, support: Section, private: Section
) -> None:
    """Bob gets the public sections and those he is a member of, with stages and
    categories; a parent out of his sight is null. Maria gets them all."""
    team = SectionFactory(
        name="Team", code="TEAM", visibility=Section.Visibility.MEMBERS, members=[bob]
    )
    support.parent = private
    support.save()
    support.categories.create(name="Printers", default_probability=None)

    results = bob_api.get("/api/sections/").json()["results"]

    assert [s["code"] for s in results] == ["SUPPORT", "TEAM"]
    first = results[0]
    assert first["parent"] is None
    assert [s["name"] for s in first["stages"]] == ["New", "Doing"]
    assert [c["name"] for c in first["categories"]] == ["Printers"]
    assert results[1]["id"] == team.pk
    everything = maria_api.get("/api/sections/").json()["results"]
    assert [s["code"] for s in everything] == ["BOARD", "SUPPORT", "TEAM"]
    assert everything[1]["parent"] == private.pk


def test_case_types_are_listed(bob_api: APIClient) -> None:
    results = bob_api.get("/api/case-types/").json()["results"]

    assert [t["code"] for t in results] == [
        "helpdesk",
        "claim",
        "lead",
        "opportunity",
        "bug",
        "service",
        "expense",
        "call",
        "meeting",
    ]
    meeting = results[-1]
    assert meeting["field_groups"] == ["meeting"]
    assert meeting["is_scheduled"] is True
    assert results[1]["final_close"] is True
    assert results[0]["default_section"] is None


# --------------------------------------------------------------------------
# Who may call the API


ENDPOINTS: list[tuple[str, str, Callable[[Case, Watcher], str]]] = [
    ("get", "list", lambda c, w: "/api/cases/"),
    ("post", "create", lambda c, w: "/api/cases/"),
    ("get", "detail", lambda c, w: f"/api/cases/{c.number}/"),
    ("patch", "update", lambda c, w: f"/api/cases/{c.number}/"),
    ("post", "state", lambda c, w: f"/api/cases/{c.number}/state/"),
    ("post", "escalate", lambda c, w: f"/api/cases/{c.number}/escalate/"),
    ("post", "assign", lambda c, w: f"/api/cases/{c.number}/assign/"),
    ("post", "merge", lambda c, w: f"/api/cases/{c.number}/merge/"),
    ("get", "timeline", lambda c, w: f"/api/cases/{c.number}/timeline/"),
    ("post", "notes", lambda c, w: f"/api/cases/{c.number}/notes/"),
    ("post", "replies", lambda c, w: f"/api/cases/{c.number}/replies/"),
    ("get", "watchers", lambda c, w: f"/api/cases/{c.number}/watchers/"),
    ("post", "watch", lambda c, w: f"/api/cases/{c.number}/watchers/"),
    ("delete", "unwatch", lambda c, w: f"/api/cases/{c.number}/watchers/{w.pk}/"),
    ("get", "sections", lambda c, w: "/api/sections/"),
    ("get", "case_types", lambda c, w: "/api/case-types/"),
]
ENDPOINT_IDS = [name for _, name, _ in ENDPOINTS]
BODIES = {
    "create": {"subject": "Sneaky", "case_type": "helpdesk", "section": "SUPPORT"},
    "update": {"subject": "Sneaky"},
    "state": {"action": "open"},
    "assign": {"responsible": None},
    "merge": {"into": 1},
    "notes": {"body": "Sneaky"},
    "replies": {"body": "Sneaky"},
    "watch": {"email": "sneaky@example.com"},
}


def _snapshot() -> tuple[Any, ...]:
    return (
        list(Case.objects.values_list("subject", "state", "responsible_id", "section_id")),
        TimelineEntry.objects.count(),
        Watcher.objects.count(),
        OutboundMessage.objects.count(),
    )


@pytest.fixture
def target(support: Section) -> tuple[Case, Watcher]:
    parent = SectionFactory(name="Up", code="UP")
    support.parent = parent
    support.save()
    case = CaseFactory(subject="Target", section=support, requester_email="pat@example.com")
    watcher = services.watcher_add(case=case, by=None, email="w@example.com")
    return case, watcher


@pytest.mark.parametrize("persona", ["charlie", "paula"])
@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_users_without_a_staff_role_are_refused(
    request: pytest.FixtureRequest,
    target: tuple[Case, Watcher],
    persona: str,
    method: str,
    name: str,
    url: Callable,
) -> None:
    """Charlie (no role) and Paula (portal) get 403 from every endpoint; nothing changes."""
    user = request.getfixturevalue(persona)
    before = _snapshot()

    response = getattr(api(user), method)(url(*target), BODIES.get(name), format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Your account has no access to the staff API."}
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_anonymous_requests_are_refused(
    target: tuple[Case, Watcher], method: str, name: str, url: Callable
) -> None:
    before = _snapshot()

    response = getattr(api(), method)(url(*target), BODIES.get(name), format="json")

    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_agents_reach_every_endpoint_but_merge(
    bob_api: APIClient, target: tuple[Case, Watcher], method: str, name: str, url: Callable
) -> None:
    """Bob the agent uses every endpoint (guards the lists above): all but merge succeed."""
    response = getattr(bob_api, method)(url(*target), BODIES.get(name), format="json")

    expected = 403 if name == "merge" else {"get": 200, "delete": 204}.get(method, (200, 201))
    assert response.status_code in (expected if isinstance(expected, tuple) else (expected,)), (
        response.content
    )


# --------------------------------------------------------------------------
# Query counts


def count_queries(user: User, url: str) -> int:
    """Queries for one GET by a freshly loaded user (so no permission cache carries over)."""
    client = api(User.objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def _cases_with_everything(n: int, section: Section, by: User) -> None:
    for _ in range(n):
        CaseFactory(section=section, partner=PartnerFactory(), responsible=by, state="open", by=by)


@pytest.mark.parametrize("persona", ["bob", "maria"])
def test_list_query_count_does_not_grow_with_rows(
    request: pytest.FixtureRequest, persona: str, support: Section, private: Section
) -> None:
    """The list takes as many queries for 30 cases (with partners, stages and responsible
    users) as for 3, and never counts."""
    user = request.getfixturevalue(persona)
    _cases_with_everything(3, support, user)
    few = count_queries(user, "/api/cases/")
    _cases_with_everything(27, support, user)

    client = api(User.objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/cases/")

    assert len(response.json()["results"]) == 30
    assert len(queries.captured_queries) == few
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_detail_and_timeline_query_counts_do_not_grow(bob: User, support: Section) -> None:
    """The detail with 3 or 30 watchers and attendees, and the timeline with 3 or 30
    replies, take the same number of queries."""

    def case_with(n: int) -> Case:
        people = PersonFactory.create_batch(n)
        case = CaseFactory(section=support, type="meeting", requester_email="p@example.com")
        services.case_update(case=case, by=bob, values={"attendees": people})
        for i in range(n):
            services.watcher_add(case=case, by=bob, email=f"w{i}@example.com")
        for i in range(n):
            services.case_reply(case=case, by=bob, body=f"Reply {i}")
        return case

    small, large = case_with(3), case_with(30)
    assert count_queries(bob, f"/api/cases/{large.number}/") == count_queries(
        bob, f"/api/cases/{small.number}/"
    )
    assert count_queries(bob, f"/api/cases/{large.number}/timeline/") == count_queries(
        bob, f"/api/cases/{small.number}/timeline/"
    )


# --------------------------------------------------------------------------
# The schema


CASE_PATHS = {
    "/api/cases/",
    "/api/cases/{number}/",
    "/api/cases/{number}/state/",
    "/api/cases/{number}/escalate/",
    "/api/cases/{number}/assign/",
    "/api/cases/{number}/merge/",
    "/api/cases/{number}/timeline/",
    "/api/cases/{number}/notes/",
    "/api/cases/{number}/replies/",
    "/api/cases/{number}/watchers/",
    "/api/cases/{number}/watchers/{id}/",
    "/api/sections/",
    "/api/case-types/",
}


def test_schema_lists_the_case_endpoints_without_warnings(alice_api: APIClient) -> None:
    """The schema is valid OpenAPI with every case endpoint, and generating it raises no
    warning or error (enum names that collide with the partners' would)."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        generated = SchemaGenerator().get_schema(request=None, public=True)
    complaints = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    assert not complaints, complaints
    assert set(generated["paths"]) >= CASE_PATHS

    served = alice_api.get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    schema = json.loads(served.content)
    validate_schema(schema)
    assert set(schema["paths"]) >= CASE_PATHS
    assert {"get", "patch"} <= set(schema["paths"]["/api/cases/{number}/"])
    assert set(schema["paths"]["/api/cases/{number}/watchers/{id}/"]) == {"delete"}


def test_case_responses_match_the_schema(
    alice_api: APIClient, bob_api: APIClient, bob: User, support: Section, private: Section
) -> None:
    """What each case endpoint returns, errors included, is what the schema says."""
    schema = alice_api.get("/api/schema/", {"format": "json"}).json()
    components = {"components": _json_schema(schema["components"])}
    up = SectionFactory(name="Up", code="UP")
    support.parent = up
    support.save()
    acme = PartnerFactory(name="Acme", city="Paris", country="FR")
    pat = PersonFactory(name="Pat")
    secret = CaseFactory(subject="Secret", section=private)
    case = CaseFactory(
        subject="Deal",
        section=support,
        type="opportunity",
        partner=acme,
        contact=pat,
        requester_email="pat@example.com",
        planned_revenue=1000,
        probability=50,
        related=secret,
        location_address=acme.addresses.first(),
    )
    other = CaseFactory(subject="Other", section=support)
    post(alice_api, f"/api/cases/{case.number}/replies/", {"body": "Hello"})
    watcher = services.watcher_add(case=case, by=bob, email="w@example.com")
    n = f"/api/cases/{case.number}"
    calls = [
        (bob_api, "get", "/api/cases/", "/api/cases/", None),
        (bob_api, "get", "/api/cases/", "/api/cases/", {"state": "nope"}),
        (bob_api, "post", "/api/cases/", "/api/cases/", {"subject": "S", "case_type": "call"}),
        (bob_api, "post", "/api/cases/", "/api/cases/", {"subject": "S", "section": "UP"}),
        (bob_api, "get", "/api/cases/{number}/", f"{n}/", None),
        (alice_api, "get", "/api/cases/{number}/", f"{n}/", None),
        (bob_api, "get", "/api/cases/{number}/", f"/api/cases/{secret.number}/", None),
        (bob_api, "patch", "/api/cases/{number}/", f"{n}/", {"probability": 60}),
        (bob_api, "post", "/api/cases/{number}/state/", f"{n}/state/", {"action": "open"}),
        (bob_api, "post", "/api/cases/{number}/state/", f"{n}/state/", {"action": "open"}),
        (bob_api, "post", "/api/cases/{number}/assign/", f"{n}/assign/", {"responsible": None}),
        (bob_api, "post", "/api/cases/{number}/escalate/", f"{n}/escalate/", {}),
        (bob_api, "get", "/api/cases/{number}/timeline/", f"{n}/timeline/", None),
        (bob_api, "post", "/api/cases/{number}/notes/", f"{n}/notes/", {"body": "Hi"}),
        (bob_api, "post", "/api/cases/{number}/replies/", f"{n}/replies/", {"body": "Hi"}),
        (bob_api, "get", "/api/cases/{number}/watchers/", f"{n}/watchers/", None),
        (bob_api, "post", "/api/cases/{number}/watchers/", f"{n}/watchers/", {"email": "x@y.z"}),
        (bob_api, "post", "/api/cases/{number}/merge/", f"{n}/merge/", {"into": 1}),
        (
            alice_api,
            "post",
            "/api/cases/{number}/merge/",
            f"/api/cases/{other.number}/merge/",
            {"into": case.number},
        ),
        (bob_api, "get", "/api/sections/", "/api/sections/", None),
        (bob_api, "get", "/api/case-types/", "/api/case-types/", None),
    ]
    seen = set()
    for client, method, path, url, body in calls:
        if method == "get":
            response = client.get(url, body)
        else:
            data = json.dumps(body) if body is not None else ""
            response = client.generic(method.upper(), url, data, content_type="application/json")
        documented = schema["paths"][path][method]["responses"]
        status = str(response.status_code)
        assert status in documented, (method, url, status, response.content)
        expected = documented[status]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft7Validator({**components, **_json_schema(expected)})
        errors = [error.message for error in validator.iter_errors(response.json())]
        assert not errors, (method, url, errors)
        seen.add(status)
    removed = bob_api.delete(f"{n}/watchers/{watcher.pk}/")
    assert (
        str(removed.status_code)
        in schema["paths"]["/api/cases/{number}/watchers/{id}/"]["delete"]["responses"]
    )
    assert seen == {"200", "201", "400", "403", "404"}
