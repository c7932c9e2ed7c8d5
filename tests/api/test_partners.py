"""The partners REST API: /api/partners/ and /api/categories/."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import yaml
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from goodwill.accounts.models import User
from goodwill.partners import selectors
from goodwill.partners.models import Membership, Partner, TimelineEntry
from tests.factories import CategoryFactory, PartnerFactory, PersonFactory

pytestmark = pytest.mark.django_db


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


def names(response: Any) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def timeline(client: APIClient, partner: Partner) -> list[dict[str, Any]]:
    response = client.get(f"/api/partners/{partner.pk}/timeline/")
    assert response.status_code == 200
    return response.json()["results"]


# --------------------------------------------------------------------------
# List, filters, search, pagination


def test_list_shows_active_partners_by_name(bob_api: APIClient) -> None:
    """The list holds active partners sorted by name, with their primary contact data."""
    PartnerFactory(name="Umbrella", emails=["info@umbrella.example"], phones=["+44 20 7946 0958"])
    PartnerFactory(name="Acme")
    archived = PartnerFactory(name="Buried")
    Partner.objects.filter(pk=archived.pk).update(active=False)

    response = bob_api.get("/api/partners/")

    assert response.status_code == 200
    body = response.json()
    assert names(response) == ["Acme", "Umbrella"]
    assert body["next"] is None
    assert body["previous"] is None
    umbrella = body["results"][1]
    assert umbrella["email"] == "info@umbrella.example"
    assert umbrella["phone"] == "+442079460958"
    assert umbrella["phone_display"] == "+44 20 7946 0958"
    assert umbrella["kind"] == "company"
    assert umbrella["url"].endswith(f"/api/partners/{umbrella['id']}/")


def test_list_filters_like_the_html_list(bob_api: APIClient) -> None:
    """kind, role, category (with subcategories), country and status filter the list."""
    industry = CategoryFactory(name="Industry")
    cars = CategoryFactory(name="Cars", parent=industry)
    PartnerFactory(name="Autoco", categories=[cars], is_customer=True, city="Lyon", country="FR")
    PartnerFactory(name="Supplyco", is_supplier=True, city="Berlin", country="DE")
    PersonFactory(name="Pat Person")
    gone = PartnerFactory(name="Oldco")
    Partner.objects.filter(pk=gone.pk).update(active=False)

    assert names(bob_api.get("/api/partners/", {"kind": "person"})) == ["Pat Person"]
    assert names(bob_api.get("/api/partners/", {"role": "supplier"})) == ["Supplyco"]
    assert names(bob_api.get("/api/partners/", {"category": industry.pk})) == ["Autoco"]
    assert names(bob_api.get("/api/partners/", {"country": "DE"})) == ["Supplyco"]
    assert names(bob_api.get("/api/partners/", {"status": "archived"})) == ["Oldco"]
    assert len(names(bob_api.get("/api/partners/", {"status": "all"}))) == 4
    assert names(bob_api.get("/api/partners/", {"sort": "-name", "kind": "company"})) == [
        "Supplyco",
        "Autoco",
    ]


def test_list_categories_carry_their_path(bob_api: APIClient) -> None:
    """A listed partner's categories show their full path."""
    industry = CategoryFactory(name="Industry")
    cars = CategoryFactory(name="Cars", parent=industry)
    PartnerFactory(name="Autoco", categories=[cars])

    row = bob_api.get("/api/partners/").json()["results"][0]

    assert row["categories"] == [{"id": cars.pk, "name": "Cars", "path": "Industry / Cars"}]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("initech", ["Initech"]),
        ("sales@initech", ["Initech"]),
        ("020 7946 0958", ["Initech"]),
        ("+44 20 7946 0958", ["Initech"]),
        ("zzz", []),
    ],
)
def test_list_searches_names_emails_and_phones(
    bob_api: APIClient, q: str, expected: list[str]
) -> None:
    """q finds a partner by a word of its name, its email, or its phone in any notation."""
    PartnerFactory(name="Initech", emails=["sales@initech.example"], phones=["+44 20 7946 0958"])
    PartnerFactory(name="Globex")

    assert names(bob_api.get("/api/partners/", {"q": q})) == expected


def test_list_refuses_bad_filter_values(bob_api: APIClient) -> None:
    """A filter value that is not valid is a 400 naming the filter, not silently ignored."""
    response = bob_api.get("/api/partners/", {"kind": "robot", "sort": "colour"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"kind", "sort"}


def test_list_pages_with_cursors(bob_api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """next and previous carry a cursor and the filters; following them walks every row once."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    for name in ["A", "B", "C", "D", "E"]:
        PartnerFactory(name=f"{name} company")
    PersonFactory(name="A person")

    first = bob_api.get("/api/partners/", {"kind": "company"}).json()
    assert [r["name"] for r in first["results"]] == ["A company", "B company"]
    assert first["previous"] is None
    assert "cursor=" in first["next"]
    assert "kind=company" in first["next"]

    second = bob_api.get(first["next"]).json()
    assert [r["name"] for r in second["results"]] == ["C company", "D company"]
    third = bob_api.get(second["next"]).json()
    assert [r["name"] for r in third["results"]] == ["E company"]
    assert third["next"] is None

    back = bob_api.get(third["previous"]).json()
    assert [r["name"] for r in back["results"]] == ["C company", "D company"]
    assert [r["name"] for r in bob_api.get(back["previous"]).json()["results"]] == [
        "A company",
        "B company",
    ]


def test_list_does_not_count(bob_api: APIClient) -> None:
    """Listing never runs a COUNT: lists stay fast on millions of rows."""
    PartnerFactory.create_batch(3)

    with CaptureQueriesContext(connection) as queries:
        assert bob_api.get("/api/partners/").status_code == 200

    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize("cursor", ["garbage", "eyJ2IjoxfQ", "%%%"])
def test_list_refuses_a_bad_cursor(bob_api: APIClient, cursor: str) -> None:
    """A cursor that was not made by the API is a 400 with a message, not a 500."""
    response = bob_api.get("/api/partners/", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["errors"]["cursor"] == ["This page link is no longer valid."]


def forged_cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_list_refuses_a_cursor_of_the_wrong_type(bob_api: APIClient) -> None:
    """A well-formed cursor carrying a number for a date sort is a 400, like any bad cursor."""
    PartnerFactory(name="Initech")
    bob_api.raise_request_exception = False
    cursor = forged_cursor({"v": 1, "i": 1, "p": 1, "d": "next"})

    response = bob_api.get("/api/partners/", {"sort": "-created", "cursor": cursor})

    assert response.status_code == 400


# --------------------------------------------------------------------------
# Create


def test_create_company_with_everything(bob_api: APIClient, bob: User) -> None:
    """A POST creates the partner through the service and returns its full representation."""
    industry = CategoryFactory(name="Industry")
    cars = CategoryFactory(name="Cars", parent=industry)
    group = PartnerFactory(name="Initech Group")

    response = bob_api.post(
        "/api/partners/",
        {
            "kind": "company",
            "name": "  Initech   Ltd ",
            "parent": group.pk,
            "is_customer": True,
            "website": "initech.example",
            "vat": "gb 123 456 789",
            "language": "en",
            "currency": "GBP",
            "channel": "web",
            "state_of_mind": 0.75,
            "notes": "Met at the fair.",
            "emails": [
                {"email": "Sales@Initech.example", "kind": "work"},
                {"email": "billing@initech.example", "kind": "billing", "primary": True},
            ],
            "phones": [{"number": "020 7946 0958"}],
            "addresses": [
                {"kind": "invoice", "street": "1 Main St", "city": "London", "country": "GB"}
            ],
            "categories": [cars.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    partner = Partner.objects.get(name="Initech Ltd")
    assert response["Location"] == body["url"]
    assert body["id"] == partner.pk
    assert body["parent"]["id"] == group.pk
    assert body["roles"] == ["customer"]
    assert body["website"] == "https://initech.example"
    assert body["vat"] == "GB123456789"
    assert body["state_of_mind"] == 0.75
    assert body["email"] == "billing@initech.example"
    assert body["emails"] == [
        {"email": "billing@initech.example", "kind": "billing", "primary": True},
        {"email": "sales@initech.example", "kind": "work", "primary": False},
    ]
    # Without a country code, the number is read in the address's country.
    assert body["phones"] == [
        {"number": "+442079460958", "display": "+44 20 7946 0958", "kind": "work", "primary": True}
    ]
    assert body["addresses"][0]["city"] == "London"
    assert body["addresses"][0]["country"] == "GB"
    assert body["categories"] == [{"id": cars.pk, "name": "Cars", "path": "Industry / Cars"}]
    assert body["created_by"]["username"] == "bob"
    assert body["active"] is True
    assert body["merged_into"] is None
    assert timeline(bob_api, partner)[0]["action"] == "created"


def test_create_person_linked_to_a_company(bob_api: APIClient) -> None:
    """companies makes a new person a contact of companies, shown on both partners."""
    initech = PartnerFactory(name="Initech")

    response = bob_api.post(
        "/api/partners/",
        {
            "kind": "person",
            "name": "Peter Gibbons",
            "companies": [
                {
                    "company": initech.pk,
                    "job_title": "Programmer",
                    "work_email": "peter@initech.example",
                    "work_phone": "+1 212 555 0100",
                }
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    membership = response.json()["memberships"][0]
    assert membership["company"]["id"] == initech.pk
    assert membership["job_title"] == "Programmer"
    assert membership["work_phone"] == "+12125550100"
    assert membership["work_phone_display"] == "+1 212-555-0100"
    company = bob_api.get(f"/api/partners/{initech.pk}/").json()
    assert [m["person"]["name"] for m in company["members"]] == ["Peter Gibbons"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "No kind"}, "kind"),
        ({"kind": "company"}, "name"),
        ({"kind": "robot", "name": "X"}, "kind"),
        ({"kind": "company", "name": ["a", "list"]}, "name"),
        ({"kind": "company", "name": "X", "is_customer": "maybe"}, "is_customer"),
        ({"kind": "company", "name": "X", "state_of_mind": 3}, "state_of_mind"),
        ({"kind": "company", "name": "X", "emails": "a@b.example"}, "emails"),
        ({"kind": "company", "name": "X", "emails": [{"email": "not an email"}]}, "emails"),
        ({"kind": "company", "name": "X", "emails": [{"kind": "work"}]}, "emails"),
        ({"kind": "company", "name": "X", "phones": [{"number": "12"}]}, "phones"),
        ({"kind": "company", "name": "X", "phones": [{"number": "call me"}]}, "phones"),
        ({"kind": "company", "name": "X", "addresses": [{"country": "FR"}]}, "addresses"),
        ({"kind": "company", "name": "X", "categories": [999999]}, "categories"),
        ({"kind": "company", "name": "X", "categories": ["one"]}, "categories"),
        ({"kind": "company", "name": "X", "parent": 999999}, "parent"),
        ({"kind": "company", "name": "X", "parent": "abc"}, "parent"),
        ({"kind": "company", "name": "X", "website": "not a url"}, "website"),
        ({"kind": "company", "name": "X", "nmae": "typo"}, "nmae"),
        ({"kind": "person", "name": "X", "companies": [{"company": 999999}]}, "companies"),
        ({"kind": "company", "name": "X", "companies": []}, None),
    ],
)
def test_create_refuses_bad_payloads(
    bob_api: APIClient, payload: dict[str, Any], field: str | None
) -> None:
    """Wrong types, invalid values and unknown ids are a 400 naming the field; nothing is saved."""
    before = Partner.objects.count()

    response = bob_api.post("/api/partners/", payload, format="json")

    if field is None:  # an empty list of companies is fine
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["detail"]
    assert field in body["errors"], body
    assert Partner.objects.count() == before


def test_create_reports_service_errors_on_their_fields(bob_api: APIClient) -> None:
    """What only the service can judge (a person as parent, a person's company that is a
    person) comes back as field errors too, and nothing is saved."""
    pat = PersonFactory(name="Pat")
    before = Partner.objects.count()

    parent = bob_api.post(
        "/api/partners/", {"kind": "company", "name": "X", "parent": pat.pk}, format="json"
    )
    company = bob_api.post(
        "/api/partners/",
        {"kind": "person", "name": "Y", "companies": [{"company": pat.pk}]},
        format="json",
    )
    not_a_person = bob_api.post(
        "/api/partners/",
        {"kind": "company", "name": "Z", "companies": [{"company": pat.pk}]},
        format="json",
    )

    assert parent.status_code == 400
    assert parent.json()["errors"]["parent"] == [
        "Pat is a person; a parent company must be a company."
    ]
    assert company.status_code == 400
    assert company.json()["errors"]["companies"] == ["Pat is a person, not a company."]
    assert not_a_person.status_code == 400
    assert "companies" in not_a_person.json()["errors"]
    assert Partner.objects.count() == before


def test_create_reports_every_invalid_field_at_once(bob_api: APIClient) -> None:
    """An invalid email and an invalid phone are both reported, with the service's words."""
    response = bob_api.post(
        "/api/partners/",
        {
            "kind": "company",
            "name": "X",
            "emails": [{"email": "nobody@"}],
            "phones": [{"number": "+1 000"}],
        },
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["emails"][0].startswith("nobody@ is not a valid email address")
    assert errors["phones"] == ["+1 000 is not a valid phone number."]


def test_create_refuses_a_body_that_is_not_an_object(bob_api: APIClient) -> None:
    """A JSON list instead of an object is a 400 for the request as a whole."""
    response = bob_api.post("/api/partners/", [{"kind": "company", "name": "X"}], format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_create_refuses_form_encoded_bodies(bob_api: APIClient) -> None:
    """Bodies are JSON; anything else is a 415."""
    response = bob_api.post("/api/partners/", {"kind": "company", "name": "X"})

    assert response.status_code == 415
    assert not Partner.objects.filter(name="X").exists()


# --------------------------------------------------------------------------
# Detail


def test_detail_shows_everything(bob_api: APIClient) -> None:
    """The detail has fields, collections, categories with paths, contacts and timestamps."""
    industry = CategoryFactory(name="Industry")
    initech = PartnerFactory(
        name="Initech",
        emails=["info@initech.example"],
        phones=["+49 30 123456"],
        city="Berlin",
        country="DE",
        categories=[industry],
    )
    subsidiary = PartnerFactory(name="Initech Labs", parent=initech)
    peter = PersonFactory(name="Peter")
    Membership.objects.create(person=peter, company=initech, job_title="Programmer")

    response = bob_api.get(f"/api/partners/{initech.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Initech"
    assert body["phones"] == [
        {"number": "+4930123456", "display": "+49 30 123456", "kind": "work", "primary": True}
    ]
    assert body["emails"][0]["email"] == "info@initech.example"
    assert body["addresses"][0]["country"] == "DE"
    assert body["country"] == "DE"
    assert body["categories"] == [{"id": industry.pk, "name": "Industry", "path": "Industry"}]
    assert body["members"][0]["person"]["name"] == "Peter"
    assert body["members"][0]["job_title"] == "Programmer"
    assert body["memberships"] == []
    assert body["subsidiaries"][0]["id"] == subsidiary.pk
    assert body["parent"] is None
    assert body["created_at"]
    assert body["updated_at"]
    person = bob_api.get(f"/api/partners/{peter.pk}/").json()
    assert person["memberships"][0]["company"]["name"] == "Initech"


def test_detail_says_what_the_role_allows(bob_api: APIClient, maria_api: APIClient) -> None:
    """allowed mirrors the role: an agent may change and note, a manager also archive and merge."""
    partner = PartnerFactory(name="Initech")

    bob = bob_api.get(f"/api/partners/{partner.pk}/").json()["allowed"]
    maria = maria_api.get(f"/api/partners/{partner.pk}/").json()["allowed"]

    assert bob == {"change": True, "note": True, "archive": False, "merge": False}
    assert maria == {"change": True, "note": True, "archive": True, "merge": True}


def test_detail_of_a_missing_partner_is_404(bob_api: APIClient) -> None:
    """An id that does not exist is a 404 with a message."""
    response = bob_api.get("/api/partners/999999/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such partner."}


def test_permission_is_checked_before_the_lookup(bob_api: APIClient) -> None:
    """A role without the permission gets 403 even for an id that does not exist,
    so it cannot probe which ids exist."""
    assert bob_api.post("/api/partners/999999/archive/").status_code == 403


# --------------------------------------------------------------------------
# Update


def test_patch_changes_only_the_keys_sent(bob_api: APIClient) -> None:
    """A PATCH changes the given fields; the others and the collections stay."""
    partner = PartnerFactory(
        name="Initech", emails=["info@initech.example"], phones=["+49 30 123456"]
    )
    partner.vat = "DE1"
    partner.save()

    response = bob_api.patch(
        f"/api/partners/{partner.pk}/",
        {"name": "Initech Ltd", "is_supplier": True},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "Initech Ltd"
    assert body["roles"] == ["supplier"]
    assert body["vat"] == "DE1"
    assert [e["email"] for e in body["emails"]] == ["info@initech.example"]
    assert [p["number"] for p in body["phones"]] == ["+4930123456"]


def test_patch_diff_is_on_the_timeline(bob_api: APIClient, bob: User) -> None:
    """The timeline endpoint shows the change with its old and new values and its author."""
    partner = PartnerFactory(name="Initech")

    bob_api.patch(f"/api/partners/{partner.pk}/", {"name": "Initrode"}, format="json")

    entry = timeline(bob_api, partner)[0]
    assert entry["kind"] == "field_change"
    assert entry["action"] == "updated"
    assert entry["author"]["username"] == "bob"
    assert entry["changes"] == [{"label": "Name", "old": "Initech", "new": "Initrode"}]


def test_patch_replaces_collections_that_are_sent(bob_api: APIClient) -> None:
    """A collection in a PATCH replaces the old one entirely; an empty list clears it."""
    cat_a, cat_b = CategoryFactory(name="A"), CategoryFactory(name="B")
    partner = PartnerFactory(
        name="Initech",
        emails=["old@initech.example", "other@initech.example"],
        phones=["+49 30 123456"],
        categories=[cat_a],
    )

    response = bob_api.patch(
        f"/api/partners/{partner.pk}/",
        {"emails": [{"email": "new@initech.example"}], "phones": [], "categories": [cat_b.pk]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["emails"] == [{"email": "new@initech.example", "kind": "work", "primary": True}]
    assert body["phones"] == []
    assert body["phone"] == ""
    assert [c["name"] for c in body["categories"]] == ["B"]
    labels = [c["label"] for c in timeline(bob_api, partner)[0]["changes"]]
    assert labels == ["Emails", "Phones", "Categories"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"is_customer": "perhaps"}, "is_customer"),
        ({"emails": [{"kind": "work"}]}, "emails"),
        ({"emails": [{"email": "bad@"}]}, "emails"),
        ({"phones": [{"number": "nope"}]}, "phones"),
        ({"categories": [999999]}, "categories"),
        ({"companies": []}, "companies"),
        ({"id": 5}, "id"),
    ],
)
def test_patch_refuses_bad_payloads(
    bob_api: APIClient, payload: dict[str, Any], field: str
) -> None:
    """A bad PATCH is a 400 naming the field, and the partner is unchanged."""
    partner = PartnerFactory(name="Initech", emails=["info@initech.example"])

    response = bob_api.patch(f"/api/partners/{partner.pk}/", payload, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    partner.refresh_from_db()
    assert partner.name == "Initech"
    assert partner.email == "info@initech.example"
    assert [e["action"] for e in timeline(bob_api, partner)] == ["created"]


def test_patch_of_a_merged_partner_is_refused(maria_api: APIClient) -> None:
    """A partner merged into another cannot be edited: 400 with the service's message."""
    keep, drop = PartnerFactory(name="Keep"), PartnerFactory(name="Drop")
    maria_api.post(f"/api/partners/{keep.pk}/merge/", {"drop": drop.pk}, format="json")

    response = maria_api.patch(f"/api/partners/{drop.pk}/", {"name": "Again"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Drop was merged into another partner and cannot be edited."
    )


# --------------------------------------------------------------------------
# Timeline and notes


def test_notes_are_added_to_the_timeline(bob_api: APIClient) -> None:
    """POST notes/ adds a note (201) that the timeline then shows first."""
    partner = PartnerFactory(name="Initech")

    response = bob_api.post(
        f"/api/partners/{partner.pk}/notes/",
        {"body": "  Called about the TPS reports.  "},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["body"] == "Called about the TPS reports."
    assert response.json()["visibility"] == "internal"
    entries = timeline(bob_api, partner)
    assert entries[0]["kind"] == "note"
    assert entries[0]["body"] == "Called about the TPS reports."


@pytest.mark.parametrize(
    "payload", [{"body": "   "}, {}, {"body": "x" * 20_001}, {"body": "x", "visibility": "loud"}]
)
def test_bad_notes_are_refused(bob_api: APIClient, payload: dict[str, Any]) -> None:
    """An empty, missing or too long note, or an unknown visibility, is a 400; nothing is added."""
    partner = PartnerFactory(name="Initech")

    response = bob_api.post(f"/api/partners/{partner.pk}/notes/", payload, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) & {"body", "visibility"}
    assert not TimelineEntry.objects.filter(partner=partner, kind="note").exists()


def test_timeline_pages_newest_first(bob_api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeline is newest first and pages with cursors like the list."""
    monkeypatch.setattr(selectors, "TIMELINE_PAGE_SIZE", 2)
    partner = PartnerFactory(name="Initech")
    for n in range(1, 4):
        bob_api.post(f"/api/partners/{partner.pk}/notes/", {"body": f"Note {n}"}, format="json")

    first = bob_api.get(f"/api/partners/{partner.pk}/timeline/").json()
    assert [e["body"] for e in first["results"]] == ["Note 3", "Note 2"]
    assert first["previous"] is None
    second = bob_api.get(first["next"]).json()
    assert [e["body"] for e in second["results"]] == ["Note 1", "Company created"]
    assert second["next"] is None
    assert bob_api.get(second["previous"]).json()["results"] == first["results"]


def test_timeline_refuses_a_bad_cursor(bob_api: APIClient) -> None:
    partner = PartnerFactory(name="Initech")

    response = bob_api.get(f"/api/partners/{partner.pk}/timeline/", {"cursor": "nonsense"})

    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


# --------------------------------------------------------------------------
# Archive, restore, merge


def test_agent_cannot_archive_restore_or_merge(bob_api: APIClient) -> None:
    """Bob the agent may not archive, restore or merge: 403, and nothing changes."""
    keep, drop = PartnerFactory(name="Keep"), PartnerFactory(name="Drop")

    assert bob_api.post(f"/api/partners/{keep.pk}/archive/").status_code == 403
    assert bob_api.post(f"/api/partners/{keep.pk}/restore/").status_code == 403
    merge = bob_api.post(f"/api/partners/{keep.pk}/merge/", {"drop": drop.pk}, format="json")
    assert merge.status_code == 403
    assert merge.json() == {"detail": "Your role does not allow this on partners."}
    assert Partner.objects.filter(active=True).count() == 2


def test_manager_archives_and_restores(maria_api: APIClient) -> None:
    """Maria archives a partner (it leaves the list), cannot archive it twice, and restores it."""
    partner = PartnerFactory(name="Initech")

    archived = maria_api.post(f"/api/partners/{partner.pk}/archive/")
    assert archived.status_code == 200
    assert archived.json()["active"] is False
    assert names(maria_api.get("/api/partners/")) == []

    again = maria_api.post(f"/api/partners/{partner.pk}/archive/")
    assert again.status_code == 400
    assert again.json()["detail"] == "Initech is already archived."

    restored = maria_api.post(f"/api/partners/{partner.pk}/restore/")
    assert restored.status_code == 200
    assert restored.json()["active"] is True
    assert [e["action"] for e in timeline(maria_api, partner)][:2] == ["restored", "archived"]


def test_manager_merges(maria_api: APIClient) -> None:
    """Merging moves the other partner's emails here and archives it, pointing here."""
    keep = PartnerFactory(name="Initech", emails=["a@initech.example"])
    drop = PartnerFactory(name="Initech Ltd", emails=["b@initech.example"])

    response = maria_api.post(f"/api/partners/{keep.pk}/merge/", {"drop": drop.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert [e["email"] for e in response.json()["emails"]] == [
        "a@initech.example",
        "b@initech.example",
    ]
    dropped = maria_api.get(f"/api/partners/{drop.pk}/").json()
    assert dropped["active"] is False
    assert dropped["merged_into"]["id"] == keep.pk


@pytest.mark.parametrize(
    ("drop", "field"),
    [
        ("missing", "drop"),
        ("self", "non_field_errors"),
        ("person", "non_field_errors"),
        (None, "drop"),
    ],
)
def test_merge_refuses_bad_choices(maria_api: APIClient, drop: str | None, field: str) -> None:
    """Merging an unknown id, the partner itself or another kind of partner is a 400."""
    keep = PartnerFactory(name="Initech")
    person = PersonFactory(name="Pat")
    ids = {"missing": 999999, "self": keep.pk, "person": person.pk, None: None}

    response = maria_api.post(f"/api/partners/{keep.pk}/merge/", {"drop": ids[drop]}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Partner.objects.filter(merged_into__isnull=False).count() == 0


# --------------------------------------------------------------------------
# Categories


def test_categories_list_with_paths(bob_api: APIClient) -> None:
    """Categories come sorted by path, with their parent and path."""
    industry = CategoryFactory(name="Industry")
    cars = CategoryFactory(name="Cars", parent=industry)
    agency = CategoryFactory(name="Agency")

    response = bob_api.get("/api/categories/")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": agency.pk, "name": "Agency", "parent": None, "path": "Agency"},
        {"id": industry.pk, "name": "Industry", "parent": None, "path": "Industry"},
        {"id": cars.pk, "name": "Cars", "parent": industry.pk, "path": "Industry / Cars"},
    ]


# --------------------------------------------------------------------------
# Who may call the API


ENDPOINTS: list[tuple[str, str, Callable[[Partner], str]]] = [
    ("get", "list", lambda p: "/api/partners/"),
    ("post", "create", lambda p: "/api/partners/"),
    ("get", "detail", lambda p: f"/api/partners/{p.pk}/"),
    ("patch", "update", lambda p: f"/api/partners/{p.pk}/"),
    ("post", "archive", lambda p: f"/api/partners/{p.pk}/archive/"),
    ("post", "restore", lambda p: f"/api/partners/{p.pk}/restore/"),
    ("post", "merge", lambda p: f"/api/partners/{p.pk}/merge/"),
    ("get", "timeline", lambda p: f"/api/partners/{p.pk}/timeline/"),
    ("post", "notes", lambda p: f"/api/partners/{p.pk}/notes/"),
    ("get", "categories", lambda p: "/api/categories/"),
]
ENDPOINT_IDS = [name for _, name, _ in ENDPOINTS]
BODIES = {
    "create": {"kind": "company", "name": "Sneaky"},
    "update": {"name": "Sneaky"},
    "merge": {"drop": 1},
    "notes": {"body": "Sneaky"},
}


@pytest.mark.parametrize("persona", ["charlie", "paula"])
@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_users_without_a_staff_role_are_refused(
    request: pytest.FixtureRequest, persona: str, method: str, name: str, url: Callable
) -> None:
    """Charlie (no role) and Paula (portal) get 403 from every endpoint; nothing changes."""
    user = request.getfixturevalue(persona)
    partner = PartnerFactory(name="Initech")

    response = getattr(api(user), method)(url(partner), BODIES.get(name), format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Your account has no access to the staff API."}
    partner.refresh_from_db()
    assert partner.name == "Initech"
    assert partner.active
    assert Partner.objects.count() == 1
    assert not TimelineEntry.objects.filter(kind="note").exists()


@pytest.mark.parametrize(("method", "name", "url"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_anonymous_requests_are_refused(method: str, name: str, url: Callable) -> None:
    """Without credentials every endpoint refuses (403: the session comes first)."""
    partner = PartnerFactory(name="Initech")

    response = getattr(api(), method)(url(partner), BODIES.get(name), format="json")

    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert Partner.objects.count() == 1


def test_token_authentication(bob: User) -> None:
    """A token from the admin authenticates as its user; a wrong one is refused.

    DRF answers 403 rather than 401 because session authentication comes first
    in the settings and has no WWW-Authenticate challenge to offer."""
    token = Token.objects.create(user=bob)
    PartnerFactory(name="Initech")
    client = APIClient()

    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    listed = client.get("/api/partners/")
    created = client.post("/api/partners/", {"kind": "company", "name": "Globex"}, format="json")
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    refused = client.get("/api/partners/")

    assert listed.status_code == 200
    assert names(listed) == ["Initech"]
    assert created.status_code == 201
    assert created.json()["created_by"]["username"] == "bob"
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Invalid token."}


def test_administrators_create_tokens_in_the_admin(alice_client: Client, bob: User) -> None:
    """Tokens are made in the admin (Auth Token › Tokens), as the API's docs say."""
    page = alice_client.get("/admin/authtoken/tokenproxy/add/")
    created = alice_client.post("/admin/authtoken/tokenproxy/add/", {"user": bob.pk})

    assert page.status_code == 200
    assert created.status_code == 302
    assert Token.objects.filter(user=bob).exists()


def test_token_of_a_portal_user_is_refused(paula: User) -> None:
    """A token does not widen its user's access: a portal user's token gets 403."""
    token = Token.objects.create(user=paula)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.get("/api/partners/").status_code == 403


# --------------------------------------------------------------------------
# Query counts


def count_queries(user: User, url: str) -> int:
    """Queries for one GET by a freshly loaded user (so no permission cache carries over)."""
    client = api(User.objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_list_query_count_does_not_grow_with_rows(
    bob: User, django_assert_max_num_queries: Callable
) -> None:
    """The list takes as many queries for 30 partners (with categories) as for 5."""
    categories = CategoryFactory.create_batch(3)
    PartnerFactory.create_batch(5, categories=categories, emails=["x@y.example"])
    few = count_queries(bob, "/api/partners/")
    PartnerFactory.create_batch(25, categories=categories, emails=["x@y.example"])

    client = api(User.objects.get(pk=bob.pk))
    with django_assert_max_num_queries(few):
        response = client.get("/api/partners/")

    assert len(response.json()["results"]) == 30
    assert count_queries(bob, "/api/partners/") == few


def test_detail_query_count_does_not_grow_with_rows(
    bob: User, django_assert_num_queries: Callable
) -> None:
    """The detail takes as many queries with 30 emails, phones, categories, contacts and
    subsidiaries as with 5."""

    def partner_with(n: int) -> Partner:
        company = PartnerFactory(
            categories=CategoryFactory.create_batch(n),
            emails=[f"e{i}@example.com" for i in range(n)],
            phones=[f"+1 212 555 01{i:02d}" for i in range(n)],
        )
        for _ in range(n):
            Membership.objects.create(person=PersonFactory(), company=company)
            PartnerFactory(parent=company)
        return company

    few = count_queries(bob, f"/api/partners/{partner_with(5).pk}/")
    many = partner_with(30)

    client = api(User.objects.get(pk=bob.pk))
    with django_assert_num_queries(few):
        response = client.get(f"/api/partners/{many.pk}/")

    body = response.json()
    assert len(body["emails"]) == 30
    assert len(body["phones"]) == 30
    assert len(body["members"]) == 30
    assert len(body["subsidiaries"]) == 30


# --------------------------------------------------------------------------
# The schema


def test_schema_is_valid_openapi(alice_api: APIClient) -> None:
    """/api/schema/ serves a valid OpenAPI 3 document, as YAML and as JSON, that lists
    the partner endpoints."""
    as_yaml = alice_api.get("/api/schema/")
    as_json = alice_api.get("/api/schema/", {"format": "json"})

    assert as_yaml.status_code == 200
    assert as_json.status_code == 200
    from_yaml = yaml.safe_load(as_yaml.content)
    from_json = json.loads(as_json.content)
    assert from_yaml == from_json
    validate_schema(from_json)
    assert from_json["openapi"].startswith("3.")
    assert {
        "/api/partners/",
        "/api/partners/{id}/",
        "/api/partners/{id}/archive/",
        "/api/partners/{id}/restore/",
        "/api/partners/{id}/merge/",
        "/api/partners/{id}/timeline/",
        "/api/partners/{id}/notes/",
        "/api/categories/",
    } <= set(from_json["paths"])
    assert {"get", "patch"} <= set(from_json["paths"]["/api/partners/{id}/"])


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` and boolean exclusive bounds spelt as JSON Schema
    (draft 7), so that jsonschema can check responses."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    for bound, exclusive in (("maximum", "exclusiveMaximum"), ("minimum", "exclusiveMinimum")):
        if converted.get(exclusive) is True:
            converted[exclusive] = converted.pop(bound)
        elif converted.get(exclusive) is False:
            del converted[exclusive]
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_responses_match_the_schema(alice_api: APIClient, bob_api: APIClient) -> None:
    """What each endpoint returns, errors included, is what the schema says it returns."""
    schema = alice_api.get("/api/schema/", {"format": "json"}).json()
    components = {"components": _json_schema(schema["components"])}
    industry = CategoryFactory(name="Industry")
    initech = PartnerFactory(
        name="Initech",
        emails=["info@initech.example"],
        phones=["+49 30 123456"],
        city="Berlin",
        country="DE",
        categories=[CategoryFactory(name="Cars", parent=industry)],
    )
    PartnerFactory(name="Initech Labs", parent=initech)
    Membership.objects.create(person=PersonFactory(name="Peter"), company=initech)
    other = PartnerFactory(name="Initrode")
    detail = f"/api/partners/{initech.pk}/"
    calls = [
        (alice_api, "get", "/api/partners/", "/api/partners/", None),
        (alice_api, "post", "/api/partners/", "/api/partners/", {"kind": "person", "name": "P"}),
        (alice_api, "post", "/api/partners/", "/api/partners/", {"kind": "x"}),
        (alice_api, "get", "/api/partners/{id}/", detail, None),
        (alice_api, "get", "/api/partners/{id}/", "/api/partners/999999/", None),
        (alice_api, "patch", "/api/partners/{id}/", detail, {"state_of_mind": "0.5"}),
        (alice_api, "post", "/api/partners/{id}/notes/", f"{detail}notes/", {"body": "Hi"}),
        (alice_api, "get", "/api/partners/{id}/timeline/", f"{detail}timeline/", None),
        (alice_api, "post", "/api/partners/{id}/merge/", f"{detail}merge/", {"drop": other.pk}),
        (bob_api, "post", "/api/partners/{id}/archive/", f"{detail}archive/", None),
        (alice_api, "post", "/api/partners/{id}/archive/", f"{detail}archive/", None),
        (alice_api, "post", "/api/partners/{id}/archive/", f"{detail}archive/", None),
        (alice_api, "post", "/api/partners/{id}/restore/", f"{detail}restore/", None),
        (alice_api, "get", "/api/categories/", "/api/categories/", None),
    ]
    seen = set()
    for client, method, path, url, body in calls:
        data = json.dumps(body) if body is not None else ""
        response = client.generic(method.upper(), url, data, content_type="application/json")
        documented = schema["paths"][path][method]["responses"]
        status = str(response.status_code)
        assert status in documented, (method, url, status)
        expected = documented[status]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft7Validator({**components, **_json_schema(expected)})
        errors = [error.message for error in validator.iter_errors(response.json())]
        assert not errors, (method, url, errors)
        seen.add(status)
    assert seen == {"200", "201", "400", "403", "404"}
