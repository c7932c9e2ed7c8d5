"""Every staff page refuses outsiders: users without a role, portal users and
anonymous visitors. The list of pages comes from the URL configuration itself,
so a new view is covered the moment it is routed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from goodwill.accounts.models import User
from goodwill.cases import services as case_services
from goodwill.cases.models import (
    Attachment,
    Case,
    CaseCategory,
    CaseLink,
    OutboundMessage,
    SavedFilter,
    Section,
    Stage,
    Watcher,
)
from goodwill.partners import services
from goodwill.partners.models import Membership, Partner, PartnerExport, TimelineEntry
from goodwill.sales.models import Invoice, Order, Payment, PriceList, Product
from tests.factories import CaseFactory, PartnerFactory, PersonFactory, SectionFactory

# Open to every logged-in account by design: their own password and profile,
# logging out, and the login/reset flow itself. The schema lists no data.
PUBLIC_OR_SELF = {
    "home",
    "healthz",
    "accounts:login",
    "accounts:logout",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "accounts:password_change",
    "accounts:password_change_done",
    "accounts:profile",
    # The machine door of `goodwill mailgate --url`: a bearer token, not a
    # login (tests/mailgate/test_pipe.py).
    "mailgate:pipe",
}


def _named_routes() -> list[tuple[str, str]]:
    """(name, route pattern) for every named URL outside the Django admin."""
    found: list[tuple[str, str]] = []

    def walk(patterns: list[Any], namespace: str, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.app_name == "admin":
                    continue
                ns = entry.namespace or namespace
                walk(entry.url_patterns, ns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.append((name, prefix + str(entry.pattern)))

    walk(get_resolver().url_patterns, "", "")
    return found


STAFF_ROUTES = [(n, r) for n, r in _named_routes() if n not in PUBLIC_OR_SELF]


@pytest.fixture
def objects(alice: User) -> dict[str, Any]:
    company = PartnerFactory(name="Acme")
    PersonFactory(name="Pat", companies=[services.MembershipInput(company=company)])
    export = services.partner_export_request(by=alice, filters={}, fmt="csv")
    section = SectionFactory(parent=SectionFactory())
    case = CaseFactory(
        section=section, partner=company, requester_email="pat@acme.example", state="open"
    )
    note = case_services.case_note_add(case=case, by=alice, body="A note")
    watcher = case_services.watcher_add(case=case, by=alice, email="cc@acme.example")
    link = case_services.case_link_add(case=case, by=alice, target=company)
    attachment = case_services.case_attach(
        case=case, by=alice, files=[ContentFile(b"data", name="a.txt")]
    )[0]
    saved = case_services.saved_filter_save(user=alice, name="Mine", query="filter=my_open")
    return {
        "pk": company.pk,
        "membership": Membership.objects.get().pk,
        "export": export.pk,
        "number": case.number,
        "entry": note.pk,
        "watcher": watcher.pk,
        "link": link.pk,
        "attachment": attachment.pk,
        "saved_filter": saved.pk,
        "section": section.pk,
        "stage": section.stages.first().pk,  # type: ignore[union-attr]
        "category": CaseCategory.objects.create(section=section, name="General").pk,
        "case_type": case.case_type_id,
    }


def _state() -> tuple[int, ...]:
    return (
        Partner.objects.filter(active=True).count(),
        TimelineEntry.objects.count(),
        Membership.objects.count(),
        PartnerExport.objects.count(),
        Case.objects.filter(state="open").count(),
        Section.objects.count(),
        Stage.objects.count(),
        OutboundMessage.objects.count(),
        SavedFilter.objects.count(),
        Watcher.objects.count(),
        CaseLink.objects.count(),
        Attachment.objects.count(),
        Product.objects.count(),
        PriceList.objects.count(),
        Order.objects.count(),
        Invoice.objects.count(),
        Payment.objects.count(),
    )


_PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")
# Which object a "<id:pk>" stands for, by the path segment before it.
_PK_BY_SEGMENT = {
    "contacts": "membership",
    "exports": "export",
    "filters": "saved_filter",
    "attachments": "attachment",
    "watchers": "watcher",
    "links": "link",
    "split": "entry",
    "sections": "section",
    "types": "case_type",
    "categories": "category",
    "stages": "stage",
}
# Other placeholders, by name.
_BY_NAME = {"number": "number", "stage": "stage", "action": "close", "decision": "submit"}


def _url(route: str, objects: dict[str, Any]) -> str:
    """The route with each placeholder replaced by a real object's key."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "pk":
            segment = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            return str(objects[_PK_BY_SEGMENT.get(segment, "pk")])
        key = _BY_NAME.get(name, "pk")
        return str(objects.get(key, key))

    return "/" + _PLACEHOLDER.sub(value, route)


def test_the_route_list_is_not_empty() -> None:
    """The enumeration finds the partner pages and the API (guards the test itself)."""
    names = {name for name, _ in STAFF_ROUTES}
    assert {"partners:list", "partners:detail", "partners:export_download"} <= names
    assert len(STAFF_ROUTES) >= 15


@pytest.mark.parametrize(("name", "route"), STAFF_ROUTES, ids=[n for n, _ in STAFF_ROUTES])
@pytest.mark.parametrize("persona", ["charlie", "paula"])
def test_outsiders_are_refused(
    name: str, route: str, persona: str, objects: dict[str, int], request: pytest.FixtureRequest
) -> None:
    """A user without a staff role gets 403 on GET and on POST, and nothing changes."""
    client: Client = request.getfixturevalue(f"{persona}_client")
    url = _url(route, objects)
    before = _state()
    statuses = {method: getattr(client, method)(url).status_code for method in ("get", "post")}
    # Each method is refused, or not offered at all; at least one is a real refusal.
    assert set(statuses.values()) <= {401, 403, 405}, (url, statuses)
    assert {401, 403} & set(statuses.values()), (url, statuses)
    assert _state() == before


@pytest.mark.parametrize(("name", "route"), STAFF_ROUTES, ids=[n for n, _ in STAFF_ROUTES])
def test_anonymous_visitors_must_log_in(name: str, route: str, objects: dict[str, int]) -> None:
    """Pages send anonymous visitors to the login page; the API answers 401/403.
    Whichever of GET and POST the view offers is the one checked."""
    client = Client()
    response = client.get(_url(route, objects))
    if response.status_code == 405:
        response = client.post(_url(route, objects))
    if route.startswith("api/"):
        assert response.status_code in {401, 403}
    else:
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/accounts/login/")


def test_portal_users_and_outsiders_are_kept_out_of_the_admin(
    charlie_client: Client, paula_client: Client, bob_client: Client, alice_client: Client
) -> None:
    """Only administrators reach the Django admin; other accounts get a 403, never a
    login loop, and anonymous visitors are sent to the one login page."""
    for client in (charlie_client, paula_client, bob_client):
        response = client.get("/admin/", follow=True)
        assert response.status_code == 403
        assert "for administrators only" in response.content.decode()
    response = Client().get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"
    assert alice_client.get("/admin/").status_code == 200


def test_home_tells_outsiders_why(charlie_client: Client, bob_client: Client) -> None:
    """Staff land on their work; an account without a role sees an explanation (403)."""
    assert bob_client.get("/")["Location"] == "/partners/"
    response = charlie_client.get("/")
    assert response.status_code == 403
    assert "no access to the staff interface" in response.content.decode()
