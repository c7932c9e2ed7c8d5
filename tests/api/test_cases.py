"""The cases REST API: /api/cases/, /api/sections/ and /api/case-types/."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
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
from goodwill.cases.models import Attachment, Case, CaseLink, OutboundMessage, Section, Watcher
from goodwill.partners.models import Partner, TimelineEntry
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


def upload(name: str, content: bytes = b"data", content_type: str = "text/plain") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


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
# State notes


def test_a_state_change_carries_its_note(bob_api: APIClient, support: Section) -> None:
    """pending, close and cancel keep the note on the timeline entry of the change; open and
    reset take none and ignore it."""
    case = CaseFactory(subject="X", section=support)
    url = f"/api/cases/{case.number}/state/"

    opened = post(bob_api, url, {"action": "open", "note": "Ignored"})
    closed = post(bob_api, url, {"action": "close", "note": "  Fixed the toner.  "})

    assert opened.status_code == 200, opened.json()
    assert closed.status_code == 200, closed.json()
    assert closed.json()["state"] == "done"
    entries = timeline(bob_api, case)
    assert [(e["action"], e["body"]) for e in entries[:2]] == [
        ("close", "Fixed the toner."),
        ("open", ""),
    ]


@pytest.mark.parametrize("note", [["a"], {"a": 1}, "x" * 10_001])
def test_a_bad_state_note_is_refused(bob_api: APIClient, support: Section, note: Any) -> None:
    case = CaseFactory(subject="X", section=support, state="open")

    response = post(bob_api, f"/api/cases/{case.number}/state/", {"action": "close", "note": note})

    assert response.status_code == 400
    assert "note" in response.json()["errors"]
    case.refresh_from_db()
    assert case.state == "open"


# --------------------------------------------------------------------------
# Links


def test_links_are_listed_added_and_removed(bob_api: APIClient, support: Section) -> None:
    """A case links to another case (by number) and to a partner (by id); the list names
    each with its type, id, label and API address; removing one is a 204. The timeline
    records both."""
    case = CaseFactory(subject="Printer", section=support)
    other = CaseFactory(subject="Toner order", section=support)
    acme = PartnerFactory(name="Acme")
    url = f"/api/cases/{case.number}/links/"

    to_case = post(bob_api, url, {"case": other.number})
    to_partner = post(bob_api, url, {"partner": acme.pk})

    assert to_case.status_code == 201, to_case.json()
    link = to_case.json()
    assert link["target_type"] == "case"
    assert link["target_id"] == other.pk
    assert link["number"] == other.number
    assert link["label"] == f"#{other.number} Toner order"
    assert link["url"].endswith(f"/api/cases/{other.number}/")
    assert to_partner.status_code == 201, to_partner.json()
    assert to_partner.json()["target_type"] == "partner"
    assert to_partner.json()["target_id"] == acme.pk
    assert to_partner.json()["number"] is None
    assert to_partner.json()["label"] == "Acme"
    assert to_partner.json()["url"].endswith(f"/api/partners/{acme.pk}/")
    listed = bob_api.get(url).json()["results"]
    assert listed == [link, to_partner.json()]

    removed = bob_api.delete(f"{url}{link['id']}/")

    assert removed.status_code == 204
    assert [row["label"] for row in bob_api.get(url).json()["results"]] == ["Acme"]
    changes = [e["changes"][0] for e in timeline(bob_api, case)[:3]]
    assert changes == [
        {"label": "Links", "old": f"#{other.number} Toner order", "new": "(removed)"},
        {"label": "Links", "old": "", "new": "+ Acme"},
        {"label": "Links", "old": "", "new": f"+ #{other.number} Toner order"},
    ]


def test_links_to_cases_out_of_sight_are_left_out(
    bob_api: APIClient, maria: User, support: Section, private: Section
) -> None:
    """Maria links a public case to a members-only one: bob's list leaves that link out,
    and he cannot remove it (404, as for a link that does not exist); maria sees it."""
    case = CaseFactory(subject="Public", section=support)
    secret = CaseFactory(subject="Secret", section=private)
    hidden = services.case_link_add(case=case, by=maria, target=secret)
    services.case_link_add(case=case, by=maria, target=PartnerFactory(name="Acme"))
    url = f"/api/cases/{case.number}/links/"

    assert [row["label"] for row in bob_api.get(url).json()["results"]] == ["Acme"]
    refused = bob_api.delete(f"{url}{hidden.pk}/")
    assert refused.status_code == 404
    assert refused.json() == bob_api.delete(f"{url}999999/").json() == {"detail": "No such link."}
    assert CaseLink.objects.filter(pk=hidden.pk).exists()
    labels = [row["label"] for row in api(maria).get(url).json()["results"]]
    assert labels == [f"#{secret.number} Secret", "Acme"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "non_field_errors"),
        ({"case": "other", "partner": "acme"}, "non_field_errors"),
        ({"case": "self"}, "non_field_errors"),
        ({"case": "linked"}, "non_field_errors"),
        ({"case": "secret"}, "case"),
        ({"case": 999999}, "case"),
        ({"case": HUGE}, "case"),
        ({"case": "abc"}, "case"),
        ({"case": None}, "case"),
        ({"case": [1]}, "case"),
        ({"partner": 999999}, "partner"),
        ({"partner": HUGE}, "partner"),
        ({"partner": True}, "partner"),
        ({"order": 3}, "order"),
    ],
)
def test_bad_links_are_refused(
    bob_api: APIClient, support: Section, private: Section, payload: dict[str, Any], field: str
) -> None:
    """Neither or both targets, the case itself, a link already there, an unknown or
    unseen case, an unknown partner or a wrong type is a 400 naming the field; a case bob
    cannot see reads exactly like one that does not exist."""
    case = CaseFactory(subject="X", section=support)
    other = CaseFactory(subject="Other", section=support)
    secret = CaseFactory(subject="Secret", section=private)
    acme = PartnerFactory(name="Acme")
    services.case_link_add(case=case, by=None, target=other)
    names = {
        "self": case.number,
        "other": other.number,
        "linked": other.number,
        "secret": secret.number,
        "acme": acme.pk,
    }
    body = {
        key: names.get(value, value) if isinstance(value, str) else value
        for key, value in payload.items()
    }

    response = post(bob_api, f"/api/cases/{case.number}/links/", body)

    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors, errors
    if payload.get("case") == "secret":
        assert errors["case"] == [f"No case #{secret.number}."]
    assert CaseLink.objects.count() == 1


def test_a_link_of_another_case_cannot_be_removed(bob_api: APIClient, support: Section) -> None:
    case = CaseFactory(subject="X", section=support)
    other = CaseFactory(subject="Y", section=support)
    link = services.case_link_add(case=other, by=None, target=PartnerFactory())

    assert bob_api.delete(f"/api/cases/{case.number}/links/{link.pk}/").status_code == 404
    assert CaseLink.objects.filter(pk=link.pk).exists()


# --------------------------------------------------------------------------
# Attachments


def test_files_are_attached_listed_and_downloaded(bob_api: APIClient, support: Section) -> None:
    """A multipart POST attaches every file in one timeline entry; the list shows each with
    its size, type, uploader, entry and download address; the download is the file, as an
    attachment that browsers do not sniff, whatever the client accepts."""
    case = CaseFactory(subject="X", section=support)
    url = f"/api/cases/{case.number}/attachments/"

    response = bob_api.post(
        url,
        {
            "files": [upload("photo.png", b"\x89PNG....", "image/png"), upload("log.txt")],
            "note": "The photo and the log.",
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    stored = response.json()["results"]
    assert [(a["name"], a["size"], a["content_type"]) for a in stored] == [
        ("photo.png", 8, "image/png"),
        ("log.txt", 4, "text/plain"),
    ]
    entry = timeline(bob_api, case)[0]
    assert entry["action"] == "attached"
    assert entry["body"] == "The photo and the log."
    assert [a["id"] for a in entry["attachments"]] == [a["id"] for a in stored]
    assert {a["entry"] for a in stored} == {entry["id"]}
    assert stored[0]["uploaded_by"]["username"] == "bob"
    assert bob_api.get(url).json()["results"] == stored
    assert stored[0]["url"].endswith(f"/api/cases/attachments/{stored[0]['id']}/")

    for accept in ("*/*", "application/octet-stream"):
        download = bob_api.get(stored[0]["url"], HTTP_ACCEPT=accept)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == b"\x89PNG...."
        assert download["Content-Type"] == "application/octet-stream"
        assert download["X-Content-Type-Options"] == "nosniff"
        assert download["Content-Disposition"] == 'attachment; filename="photo.png"'


def test_attaching_needs_a_file(bob_api: APIClient, support: Section) -> None:
    """No file is a 400 on files; a body that is not multipart is a 415; text where a file
    belongs is a 400. Nothing is attached."""
    case = CaseFactory(subject="X", section=support)
    url = f"/api/cases/{case.number}/attachments/"

    empty = bob_api.post(url, {"note": "Nothing"}, format="multipart")
    as_json = post(bob_api, url, {"files": ["a.txt"]})
    as_text = bob_api.post(url, {"files": "a.txt"}, format="multipart")
    too_many = bob_api.post(
        url, {"files": [upload(f"{n}.txt") for n in range(21)]}, format="multipart"
    )
    unknown = bob_api.post(url, {"files": [upload("a.txt")], "colour": "red"}, format="multipart")
    # Beyond Django's DATA_UPLOAD_MAX_NUMBER_FILES (100): its 400, but in JSON.
    flood = bob_api.post(
        url, {"files": [upload(f"{n}.txt") for n in range(101)]}, format="multipart"
    )

    assert empty.status_code == 400
    assert empty.json()["errors"] == {"files": ["Choose at least one file."]}
    assert as_json.status_code == 415
    assert as_text.status_code == 400
    assert "files" in as_text.json()["errors"]
    assert too_many.status_code == 400
    assert "files" in too_many.json()["errors"]
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"colour": ["Unknown field."]}
    assert flood.status_code == 400
    assert flood.json() == {"detail": "Too many files in one request; send at most 20."}
    assert not Attachment.objects.exists()


def test_a_file_over_the_limit_is_refused(
    bob_api: APIClient, support: Section, settings: Any
) -> None:
    """The service's size limit is a 400 with its message on files; none of the files is
    kept."""
    settings.CASE_ATTACHMENT_MAX_MB = 1
    case = CaseFactory(subject="X", section=support)

    response = bob_api.post(
        f"/api/cases/{case.number}/attachments/",
        {"files": [upload("small.txt"), upload("big.bin", b"x" * (1024 * 1024 + 1))]},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"files": ["big.bin is 1.0 MB; files can be at most 1 MB."]}
    assert not Attachment.objects.exists()
    assert [e["action"] for e in timeline(bob_api, case)] == ["created"]


def test_files_of_a_private_case_are_out_of_sight(
    bob_api: APIClient, maria: User, private: Section
) -> None:
    """Bob cannot list or download the files of a members-only case: the same 404s as for
    a case or a file that does not exist. Maria can."""
    secret = CaseFactory(subject="Secret", section=private)
    attachment = services.case_attach(case=secret, by=maria, files=[upload("plan.txt")])[0]
    url = f"/api/cases/attachments/{attachment.pk}/"

    refused = bob_api.get(url)

    assert refused.status_code == 404
    assert refused.json() == bob_api.get("/api/cases/attachments/999999/").json()
    assert refused.json() == {"detail": "No such attachment."}
    assert bob_api.get(f"/api/cases/{secret.number}/attachments/").status_code == 404
    assert api(maria).get(url).status_code == 200


def test_a_file_missing_from_storage_is_404(bob_api: APIClient, support: Section) -> None:
    case = CaseFactory(subject="X", section=support)
    attachment = services.case_attach(case=case, by=None, files=[upload("gone.txt")])[0]
    attachment.file.delete(save=False)

    response = bob_api.get(f"/api/cases/attachments/{attachment.pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "The file is missing from storage."}


def test_notes_and_replies_can_carry_files(bob_api: APIClient, bob: User, support: Section) -> None:
    """A multipart note or reply stores its files on its timeline entry; a multipart reply
    names each recipient with its own key, and an empty cc means no Cc."""
    case = CaseFactory(subject="X", section=support, requester_email="pat@example.com")
    services.watcher_add(case=case, by=bob, email="boss@example.com")

    note = bob_api.post(
        f"/api/cases/{case.number}/notes/",
        {"body": "See the scan.", "files": [upload("scan.pdf", b"%PDF", "application/pdf")]},
        format="multipart",
    )
    reply = bob_api.post(
        f"/api/cases/{case.number}/replies/",
        {
            "body": "Here is the quote.",
            "to": ["pat@example.com", "Sam <sam@example.com>"],
            "cc": "",
            "files": [upload("quote.pdf", b"%PDF-1", "application/pdf")],
        },
        format="multipart",
    )

    assert note.status_code == 201, note.json()
    assert [(a["name"], a["size"]) for a in note.json()["attachments"]] == [("scan.pdf", 4)]
    assert note.json()["attachments"][0]["url"].endswith("/")
    assert reply.status_code == 201, reply.json()
    assert reply.json()["to"] == ["pat@example.com", "sam@example.com"]
    assert reply.json()["cc"] == []
    entries = timeline(bob_api, case)
    assert [a["name"] for a in entries[0]["attachments"]] == ["quote.pdf"]
    assert entries[0]["message"]["id"] == reply.json()["id"]
    assert [a["name"] for a in entries[1]["attachments"]] == ["scan.pdf"]
    names = [
        a["name"] for a in bob_api.get(f"/api/cases/{case.number}/attachments/").json()["results"]
    ]
    assert names == ["scan.pdf", "quote.pdf"]


def test_files_in_json_are_refused(bob_api: APIClient, support: Section) -> None:
    """Files come only as multipart; a JSON "files" key is a 400 and nothing is added."""
    case = CaseFactory(subject="X", section=support)

    response = post(bob_api, f"/api/cases/{case.number}/notes/", {"body": "Hi", "files": ["x"]})

    assert response.status_code == 400
    assert "files" in response.json()["errors"]
    assert not TimelineEntry.objects.filter(kind="note").exists()


# --------------------------------------------------------------------------
# Expense claims


@pytest.fixture
def claims(maria: User) -> Section:
    """Maria approves this section's expense claims."""
    return SectionFactory(name="Claims", code="CLAIMS", responsible=maria)


def test_an_expense_claim_is_submitted_and_decided(
    bob_api: APIClient, maria_api: APIClient, claims: Section
) -> None:
    """Bob submits his claim; only maria (the section's responsible user) decides on it: bob
    approving is a 403, a rejection needs a reason, an approval keeps its reason."""
    claim = CaseFactory(subject="Taxi", section=claims, type="expense", amount=42, currency="EUR")
    url = f"/api/cases/{claim.number}/expense/"

    submitted = post(bob_api, url, {"decision": "submit"})
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["approval"] == "requested"

    self_approved = post(bob_api, url, {"decision": "approve"})
    assert self_approved.status_code == 403
    assert self_approved.json() == {
        "detail": f"Only {claims.responsible.display_name} or an administrator can decide "
        "on this claim."
    }
    no_reason = post(maria_api, url, {"decision": "reject"})
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"] == {"reason": ["Say why the claim is rejected."]}

    approved = post(maria_api, url, {"decision": "approve", "reason": "Receipt attached."})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["approval"] == "approved"
    assert approved.json()["approved_by"]["username"] == "maria"
    assert approved.json()["approved_at"] is not None
    entries = timeline(bob_api, claim)
    assert [(e["action"], e["body"]) for e in entries[:2]] == [
        ("expense_approved", "Receipt attached."),
        ("expense_submitted", ""),
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": ["submit"]}, "decision"),
        ({"decision": "submit", "reason": "Please"}, "reason"),
        ({"decision": "reject", "reason": 5 * "x" * 1001}, "reason"),
        ({"decision": "approve"}, "non_field_errors"),
        ({"decision": "submit", "amount": 3}, "amount"),
    ],
)
def test_bad_expense_decisions_are_refused(
    maria_api: APIClient, claims: Section, payload: dict[str, Any], field: str
) -> None:
    """Unknown decisions, a reason with a submission, and deciding on a claim that was
    never submitted are a 400; the claim is unchanged."""
    claim = CaseFactory(subject="Taxi", section=claims, type="expense", amount=42, currency="EUR")

    response = post(maria_api, f"/api/cases/{claim.number}/expense/", payload)

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    claim.refresh_from_db()
    assert claim.approval == ""


def test_a_case_without_an_expense_cannot_be_submitted(
    bob_api: APIClient, support: Section
) -> None:
    case = CaseFactory(subject="X", section=support)

    response = post(bob_api, f"/api/cases/{case.number}/expense/", {"decision": "submit"})

    assert response.status_code == 400
    assert response.json()["detail"] == "A Helpdesk request has no expense to approve."


# --------------------------------------------------------------------------
# Split


def test_an_entry_is_split_off_into_a_new_case(bob_api: APIClient, support: Section) -> None:
    """The note moves to a new case (201, with its address) related to the original, which
    keeps a trace of it."""
    acme = PartnerFactory(name="Acme")
    case = CaseFactory(subject="Printer", section=support, partner=acme, priority=2)
    note = post(bob_api, f"/api/cases/{case.number}/notes/", {"body": "Also: the fax is dead."})

    response = post(
        bob_api,
        f"/api/cases/{case.number}/split/",
        {"entry": note.json()["id"], "subject": "Fax"},
    )

    assert response.status_code == 201, response.json()
    new = response.json()
    assert response["Location"] == new["url"]
    assert new["subject"] == "Fax"
    assert new["number"] != case.number
    assert new["related"]["number"] == case.number
    assert new["partner"]["name"] == "Acme"
    assert new["priority"] == 2
    assert new["section"]["code"] == "SUPPORT"
    moved = [e["body"] for e in timeline(bob_api, Case.objects.get(number=new["number"]))]
    assert "Also: the fax is dead." in moved
    kept = timeline(bob_api, case)
    assert "Also: the fax is dead." not in [e["body"] for e in kept]
    assert kept[0]["body"] == f"An entry was split off into #{new['number']}: Fax"


@pytest.mark.parametrize("entry", ["other", "secret", "created", 999999, HUGE, "abc", None, -1])
def test_split_refuses_entries_not_on_the_case(
    bob_api: APIClient, bob: User, support: Section, private: Section, entry: Any
) -> None:
    """An entry of another case (a members-only one included), an unknown or malformed id
    is a 400 on entry; an entry that is not a note or a message is the service's 400."""
    case = CaseFactory(subject="X", section=support)
    other = CaseFactory(subject="Y", section=support)
    secret = CaseFactory(subject="Secret", section=private)
    ids = {
        "other": services.case_note_add(case=other, by=bob, body="Theirs").pk,
        "secret": services.case_note_add(case=secret, by=None, body="Hidden").pk,
        "created": timeline(bob_api, case)[0]["id"],
    }
    before = Case.objects.count()

    response = post(bob_api, f"/api/cases/{case.number}/split/", {"entry": ids.get(entry, entry)})

    assert response.status_code == 400, response.json()
    body = response.json()
    if entry == "created":
        assert body["detail"] == "Only notes and messages can be split off into a new case."
    else:
        assert "entry" in body["errors"]
    if entry in ("other", "secret"):
        assert body["errors"]["entry"] == [f"Case #{case.number} has no entry {ids[entry]}."]
    assert Case.objects.count() == before


# --------------------------------------------------------------------------
# Bulk


def test_bulk_assign_state_and_priority(
    bob_api: APIClient, maria: User, support: Section, private: Section
) -> None:
    """Each visible case is changed; a number out of sight or unknown is reported as not
    found and left alone; a case the service refuses is reported with its message."""
    first = CaseFactory(subject="First", section=support, state="open")
    second = CaseFactory(subject="Second", section=support, state="done")
    secret = CaseFactory(subject="Secret", section=private, state="open")
    numbers = [first.number, second.number, secret.number, 999999, first.number]

    assigned = post(
        bob_api,
        "/api/cases/bulk/",
        {"action": "assign", "numbers": numbers, "responsible": maria.pk},
    )
    closed = post(
        bob_api, "/api/cases/bulk/", {"action": "state", "numbers": numbers, "state": "close"}
    )
    urgent = post(
        bob_api, "/api/cases/bulk/", {"action": "priority", "numbers": numbers, "priority": 1}
    )

    assert assigned.status_code == 200, assigned.json()
    not_found = [f"#{secret.number}: not found", "#999999: not found"]
    assert assigned.json() == {"done": 2, "errors": not_found}
    assert closed.json() == {
        "done": 1,
        "errors": [
            *not_found,
            f"#{second.number}: Case #{second.number} is done; it cannot be closed from there.",
        ],
    }
    assert urgent.json() == {"done": 2, "errors": not_found}
    first.refresh_from_db()
    assert (first.responsible, first.state, first.priority) == (maria, "done", 1)
    assert Case.objects.filter(pk=secret.pk).values_list(
        "responsible_id", "state", "priority"
    ).get() == (secret.responsible_id, "open", 3)


def test_bulk_merge_answers_the_survivor(
    maria_api: APIClient, bob_api: APIClient, support: Section
) -> None:
    """A manager merges cases into the oldest and gets it back; an agent is refused."""
    oldest = CaseFactory(subject="Oldest", section=support)
    others = [CaseFactory(subject=f"Dup {n}", section=support) for n in range(2)]
    numbers = [c.number for c in [*others, oldest]]

    refused = post(bob_api, "/api/cases/bulk/", {"action": "merge", "numbers": numbers})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Your role does not allow this on cases."}
    assert not Case.objects.filter(merged_into__isnull=False).exists()

    merged = post(maria_api, "/api/cases/bulk/", {"action": "merge", "numbers": numbers})

    assert merged.status_code == 200, merged.json()
    assert merged.json()["number"] == oldest.number
    assert set(Case.objects.filter(merged_into=oldest).values_list("number", flat=True)) == {
        c.number for c in others
    }


def test_bulk_merge_with_a_case_out_of_sight_merges_nothing(
    support: Section, private: Section
) -> None:
    """A number the user cannot see makes a merge a 400 that reports it as not found;
    nothing is merged."""
    lead = UserFactory(username="lead", roles=[Role.AGENT])
    lead.user_permissions.add(Permission.objects.get(codename="merge_case"))
    lead = User.objects.get(pk=lead.pk)
    case = CaseFactory(subject="X", section=support)
    secret = CaseFactory(subject="Secret", section=private)

    response = post(
        api(lead), "/api/cases/bulk/", {"action": "merge", "numbers": [case.number, secret.number]}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"numbers": [f"#{secret.number}: not found"]}
    assert not Case.objects.filter(merged_into__isnull=False).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"numbers": ["case"]}, "action"),
        ({"action": "explode", "numbers": ["case"]}, "action"),
        ({"action": "priority", "priority": 1}, "numbers"),
        ({"action": "priority", "numbers": [], "priority": 1}, "numbers"),
        ({"action": "priority", "numbers": "case", "priority": 1}, "numbers"),
        ({"action": "priority", "numbers": ["abc"], "priority": 1}, "numbers"),
        ({"action": "priority", "numbers": [HUGE], "priority": 1}, "numbers"),
        ({"action": "priority", "numbers": [None], "priority": 1}, "numbers"),
        ({"action": "priority", "numbers": list(range(1, 502)), "priority": 1}, "numbers"),
        ({"action": "priority", "numbers": ["case"]}, "priority"),
        ({"action": "priority", "numbers": ["case"], "priority": 9}, "priority"),
        ({"action": "priority", "numbers": ["case"], "priority": 1, "state": "open"}, "state"),
        ({"action": "state", "numbers": ["case"]}, "state"),
        ({"action": "state", "numbers": ["case"], "state": "explode"}, "state"),
        ({"action": "assign", "numbers": ["case"]}, "responsible"),
        ({"action": "assign", "numbers": ["case"], "responsible": HUGE}, "responsible"),
        ({"action": "assign", "numbers": ["case"], "responsible": "charlie"}, "responsible"),
        ({"action": "merge", "numbers": ["case"]}, "non_field_errors"),
        ({"action": "merge", "numbers": ["case"], "responsible": None}, "responsible"),
        ({"action": "priority", "numbers": ["case"], "priority": 1, "ids": [1]}, "ids"),
    ],
)
def test_bad_bulk_requests_are_refused(
    maria_api: APIClient, charlie: User, support: Section, payload: dict[str, Any], field: str
) -> None:
    """Unknown actions, missing or malformed numbers, more than 500 of them, a value the
    action needs missing or one it does not take, and what the service refuses are a 400
    naming the field; nothing changes."""
    case = CaseFactory(subject="X", section=support)
    values = {"case": case.number, "charlie": charlie.pk}
    body = {
        key: [values.get(v, v) for v in value]
        if isinstance(value, list)
        else values.get(value, value)
        for key, value in payload.items()
    }
    before = _snapshot()

    response = post(maria_api, "/api/cases/bulk/", body)

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert _snapshot() == before


def test_private_cases_are_missing_from_every_new_endpoint(
    bob_api: APIClient, private: Section
) -> None:
    """Links, files, expense and split of a members-only case are the 404 of a number that
    does not exist, for reading and for writing alike."""
    secret = CaseFactory(
        subject="Secret", section=private, type="expense", amount=5, currency="EUR"
    )
    note = services.case_note_add(case=secret, by=None, body="Hidden")
    acme = PartnerFactory(name="Acme")
    url = f"/api/cases/{secret.number}"
    before = _snapshot()

    for response in (
        bob_api.get(f"{url}/links/"),
        post(bob_api, f"{url}/links/", {"partner": acme.pk}),
        bob_api.get(f"{url}/attachments/"),
        bob_api.post(f"{url}/attachments/", {"files": [upload("a.txt")]}, format="multipart"),
        post(bob_api, f"{url}/expense/", {"decision": "submit"}),
        post(bob_api, f"{url}/split/", {"entry": note.pk}),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "No such case."}
    assert _snapshot() == before


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


@dataclass
class Target:
    """A case with one of everything the endpoints act on."""

    case: Case
    watcher: Watcher
    link: CaseLink
    attachment: Attachment
    entry: TimelineEntry
    expense: Case
    partner: Partner


ENDPOINTS: list[tuple[str, str, Callable[[Target], str]]] = [
    ("get", "list", lambda t: "/api/cases/"),
    ("post", "create", lambda t: "/api/cases/"),
    ("get", "detail", lambda t: f"/api/cases/{t.case.number}/"),
    ("patch", "update", lambda t: f"/api/cases/{t.case.number}/"),
    ("post", "state", lambda t: f"/api/cases/{t.case.number}/state/"),
    ("post", "escalate", lambda t: f"/api/cases/{t.case.number}/escalate/"),
    ("post", "assign", lambda t: f"/api/cases/{t.case.number}/assign/"),
    ("post", "merge", lambda t: f"/api/cases/{t.case.number}/merge/"),
    ("get", "timeline", lambda t: f"/api/cases/{t.case.number}/timeline/"),
    ("post", "notes", lambda t: f"/api/cases/{t.case.number}/notes/"),
    ("post", "replies", lambda t: f"/api/cases/{t.case.number}/replies/"),
    ("get", "watchers", lambda t: f"/api/cases/{t.case.number}/watchers/"),
    ("post", "watch", lambda t: f"/api/cases/{t.case.number}/watchers/"),
    ("delete", "unwatch", lambda t: f"/api/cases/{t.case.number}/watchers/{t.watcher.pk}/"),
    ("get", "links", lambda t: f"/api/cases/{t.case.number}/links/"),
    ("post", "link", lambda t: f"/api/cases/{t.case.number}/links/"),
    ("delete", "unlink", lambda t: f"/api/cases/{t.case.number}/links/{t.link.pk}/"),
    ("get", "attachments", lambda t: f"/api/cases/{t.case.number}/attachments/"),
    ("post", "attach", lambda t: f"/api/cases/{t.case.number}/attachments/"),
    ("get", "download", lambda t: f"/api/cases/attachments/{t.attachment.pk}/"),
    ("post", "expense", lambda t: f"/api/cases/{t.expense.number}/expense/"),
    ("post", "split", lambda t: f"/api/cases/{t.case.number}/split/"),
    ("post", "bulk", lambda t: "/api/cases/bulk/"),
    ("get", "sections", lambda t: "/api/sections/"),
    ("get", "case_types", lambda t: "/api/case-types/"),
]
ENDPOINT_IDS = [name for _, name, _ in ENDPOINTS]
BODIES: dict[str, Callable[[Target], Any]] = {
    "create": lambda t: {"subject": "Sneaky", "case_type": "helpdesk", "section": "SUPPORT"},
    "update": lambda t: {"subject": "Sneaky"},
    "state": lambda t: {"action": "open", "note": "Sneaky"},
    "assign": lambda t: {"responsible": None},
    "merge": lambda t: {"into": 1},
    "notes": lambda t: {"body": "Sneaky"},
    "replies": lambda t: {"body": "Sneaky"},
    "watch": lambda t: {"email": "sneaky@example.com"},
    "link": lambda t: {"partner": t.partner.pk},
    "attach": lambda t: {"files": [upload("sneaky.txt")]},
    "expense": lambda t: {"decision": "submit"},
    "split": lambda t: {"entry": t.entry.pk},
    "bulk": lambda t: {"action": "priority", "numbers": [t.case.number], "priority": 1},
}
MULTIPART = {"attach"}


def call(client: APIClient, method: str, name: str, url: str, target: Target) -> Any:
    body = BODIES[name](target) if name in BODIES else None
    fmt = "multipart" if name in MULTIPART else "json"
    return getattr(client, method)(url, body, format=fmt)


def _snapshot() -> tuple[Any, ...]:
    return (
        list(
            Case.objects.order_by("pk").values_list(
                "subject", "state", "responsible_id", "section_id", "priority", "approval"
            )
        ),
        TimelineEntry.objects.count(),
        Watcher.objects.count(),
        OutboundMessage.objects.count(),
        CaseLink.objects.count(),
        Attachment.objects.count(),
    )


@pytest.fixture
def target(support: Section) -> Target:
    parent = SectionFactory(name="Up", code="UP")
    support.parent = parent
    support.save()
    case = CaseFactory(subject="Target", section=support, requester_email="pat@example.com")
    approver = UserFactory(username="approver", roles=[Role.MANAGER])
    claims = SectionFactory(name="Claims", code="CLAIMS", responsible=approver)
    expense = CaseFactory(subject="Taxi", section=claims, type="expense", amount=12, currency="EUR")
    acme = PartnerFactory(name="Acme")
    other = PartnerFactory(name="Other")
    return Target(
        case=case,
        watcher=services.watcher_add(case=case, by=None, email="w@example.com"),
        link=services.case_link_add(case=case, by=None, target=other),
        attachment=services.case_attach(case=case, by=None, files=[upload("a.txt")])[0],
        entry=services.case_note_add(case=case, by=None, body="Split me"),
        expense=expense,
        partner=acme,
    )


@pytest.mark.parametrize("persona", ["charlie", "paula"])
@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_users_without_a_staff_role_are_refused(
    request: pytest.FixtureRequest,
    target: Target,
    persona: str,
    method: str,
    name: str,
    url: Callable,
) -> None:
    """Charlie (no role) and Paula (portal) get 403 from every endpoint; nothing changes."""
    user = request.getfixturevalue(persona)
    before = _snapshot()

    response = call(api(user), method, name, url(target), target)

    assert response.status_code == 403
    assert response.json() == {"detail": "Your account has no access to the staff API."}
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_anonymous_requests_are_refused(
    target: Target, method: str, name: str, url: Callable
) -> None:
    before = _snapshot()

    response = call(api(), method, name, url(target), target)

    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_agents_reach_every_endpoint_but_merge(
    bob_api: APIClient, target: Target, method: str, name: str, url: Callable
) -> None:
    """Bob the agent uses every endpoint (guards the lists above): all but merge succeed."""
    response = call(bob_api, method, name, url(target), target)

    expected = 403 if name == "merge" else {"get": 200, "delete": 204}.get(method, (200, 201))
    assert response.status_code in (expected if isinstance(expected, tuple) else (expected,)), (
        response.content if name != "download" else response.status_code
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


def test_links_and_files_query_counts_do_not_grow(bob: User, support: Section) -> None:
    """The links (to cases and partners) and the files of a case take as many queries for
    30 as for 3."""

    def case_with(n: int) -> Case:
        case = CaseFactory(section=support)
        for _ in range(n):
            services.case_link_add(case=case, by=bob, target=CaseFactory(section=support))
            services.case_link_add(case=case, by=bob, target=PartnerFactory())
        services.case_attach(case=case, by=bob, files=[upload(f"{i}.txt") for i in range(n)])
        return case

    small, large = case_with(3), case_with(30)
    for tail in ("links/", "attachments/"):
        assert count_queries(bob, f"/api/cases/{large.number}/{tail}") == count_queries(
            bob, f"/api/cases/{small.number}/{tail}"
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
    "/api/cases/{number}/links/",
    "/api/cases/{number}/links/{id}/",
    "/api/cases/{number}/attachments/",
    "/api/cases/attachments/{id}/",
    "/api/cases/{number}/expense/",
    "/api/cases/{number}/split/",
    "/api/cases/bulk/",
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
    alice: User,
    alice_api: APIClient,
    bob_api: APIClient,
    bob: User,
    support: Section,
    private: Section,
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
    dups = [CaseFactory(subject=f"Dup {i}", section=support).number for i in range(2)]
    claim = CaseFactory(
        subject="Taxi",
        section=SectionFactory(name="Claims", code="CLAIMS", responsible=alice),
        type="expense",
        amount=12,
        currency="EUR",
    )
    post(alice_api, f"/api/cases/{case.number}/replies/", {"body": "Hello"})
    watcher = services.watcher_add(case=case, by=bob, email="w@example.com")
    link = services.case_link_add(case=case, by=bob, target=PersonFactory())
    services.case_link_add(case=case, by=alice, target=secret)
    entry = services.case_note_add(case=case, by=bob, body="Split me")
    attachment = services.case_attach(case=case, by=bob, files=[upload("a.txt")])[0]
    n = f"/api/cases/{case.number}"
    c = f"/api/cases/{claim.number}"
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
        (
            bob_api,
            "post",
            "/api/cases/{number}/state/",
            f"{n}/state/",
            {"action": "pending", "note": "Waiting"},
        ),
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
        (bob_api, "get", "/api/cases/{number}/links/", f"{n}/links/", None),
        (alice_api, "get", "/api/cases/{number}/links/", f"{n}/links/", None),
        (bob_api, "post", "/api/cases/{number}/links/", f"{n}/links/", {"partner": acme.pk}),
        (bob_api, "post", "/api/cases/{number}/links/", f"{n}/links/", {"case": secret.number}),
        (bob_api, "get", "/api/cases/{number}/attachments/", f"{n}/attachments/", None),
        (bob_api, "post", "/api/cases/{number}/attachments/", f"{n}/attachments/", {}),
        (bob_api, "post", "/api/cases/{number}/expense/", f"{c}/expense/", {"decision": "submit"}),
        (
            bob_api,
            "post",
            "/api/cases/{number}/expense/",
            f"{c}/expense/",
            {"decision": "approve"},
        ),
        (
            alice_api,
            "post",
            "/api/cases/{number}/expense/",
            f"{c}/expense/",
            {"decision": "reject"},
        ),
        (bob_api, "post", "/api/cases/{number}/split/", f"{n}/split/", {"entry": entry.pk}),
        (bob_api, "post", "/api/cases/{number}/split/", f"{n}/split/", {"entry": entry.pk}),
        (
            bob_api,
            "post",
            "/api/cases/bulk/",
            "/api/cases/bulk/",
            {"action": "priority", "numbers": [case.number, 999999], "priority": 2},
        ),
        (
            bob_api,
            "post",
            "/api/cases/bulk/",
            "/api/cases/bulk/",
            {"action": "merge", "numbers": dups},
        ),
        (
            alice_api,
            "post",
            "/api/cases/bulk/",
            "/api/cases/bulk/",
            {"action": "merge", "numbers": dups},
        ),
        (bob_api, "post", "/api/cases/bulk/", "/api/cases/bulk/", {"action": "sort"}),
        (bob_api, "get", "/api/sections/", "/api/sections/", None),
        (bob_api, "get", "/api/case-types/", "/api/case-types/", None),
    ]
    seen = set()

    def check(response: Any, method: str, path: str) -> None:
        documented = schema["paths"][path][method]["responses"]
        status = str(response.status_code)
        assert status in documented, (method, path, status, response.content)
        content = documented[status].get("content", {})
        if "application/octet-stream" in content:
            assert response["Content-Type"] == "application/octet-stream"
        else:
            expected = content["application/json"]["schema"]
            validator = jsonschema.Draft7Validator({**components, **_json_schema(expected)})
            errors = [error.message for error in validator.iter_errors(response.json())]
            assert not errors, (method, path, errors)
        seen.add(status)

    for client, method, path, url, body in calls:
        if method == "get":
            response = client.get(url, body)
        else:
            data = json.dumps(body) if body is not None else ""
            response = client.generic(method.upper(), url, data, content_type="application/json")
        check(response, method, path)

    files = "/api/cases/{number}/attachments/"
    download = "/api/cases/attachments/{id}/"
    check(bob_api.post(f"{n}/attachments/", {"files": [upload("b.txt")]}), "post", files)
    check(bob_api.post(f"{n}/attachments/", {"note": "No file"}), "post", files)
    multipart_note = {"body": "With a file", "files": [upload("c.txt")]}
    check(bob_api.post(f"{n}/notes/", multipart_note), "post", "/api/cases/{number}/notes/")
    check(bob_api.get(f"/api/cases/attachments/{attachment.pk}/"), "get", download)
    check(bob_api.get("/api/cases/attachments/999999/"), "get", download)
    assert schema["paths"][files]["post"]["requestBody"]["content"].keys() == {
        "multipart/form-data"
    }
    for path, removed in (
        ("/api/cases/{number}/watchers/{id}/", bob_api.delete(f"{n}/watchers/{watcher.pk}/")),
        ("/api/cases/{number}/links/{id}/", bob_api.delete(f"{n}/links/{link.pk}/")),
    ):
        assert removed.status_code == 204
        assert "204" in schema["paths"][path]["delete"]["responses"]
    assert seen == {"200", "201", "400", "403", "404", "415"}


def test_a_default_section_out_of_sight_is_not_used(bob: User, maria: User) -> None:
    """An agent creating a case of a type whose default section he cannot see
    must name a section; the case is not slipped into the private one."""
    from rest_framework.test import APIClient

    from goodwill.cases.models import Case, CaseType, Section
    from tests.factories import SectionFactory

    private = SectionFactory(
        name="Quality", code="QUAL", visibility=Section.Visibility.MEMBERS, members=[maria]
    )
    CaseType.objects.filter(code="claim").update(default_section=private)
    client = APIClient()
    client.force_authenticate(bob)
    response = client.post("/api/cases/", {"subject": "Bent", "case_type": "claim"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["section"] == ["Choose a section."]
    assert not Case.objects.exists()
