from __future__ import annotations

import pytest
from django.test import Client

from goodwill.accounts.models import User
from goodwill.partners import services
from goodwill.partners.models import Membership, Partner, TimelineEntry
from tests.factories import CategoryFactory, PartnerFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _management(prefix: str, total: int = 1) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _create_data(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "company",
        "name": "Globex Corporation",
        **_management("emails"),
        **_management("phones"),
        **_management("addresses"),
        "emails-0-email": "info@globex.example",
        "emails-0-kind": "work",
        "phones-0-number": "+1 212 555 0123",
        "phones-0-kind": "work",
        "addresses-0-kind": "contact",
        "addresses-0-city": "Springfield",
        "addresses-0-country": "US",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------
# List


def test_list_shows_partners_with_their_facts(bob_client: Client) -> None:
    PartnerFactory(name="Initech", emails=["hello@initech.example"], is_customer=True)
    html = bob_client.get("/partners/").content.decode()
    assert "Initech" in html
    assert "hello@initech.example" in html
    assert "badge-customer" in html
    assert "1–1 of 1" in html


def test_list_empty_state_invites_to_create(bob_client: Client) -> None:
    html = bob_client.get("/partners/").content.decode()
    assert "No partners yet." in html
    assert "Add your first company" in html


def test_list_no_match_offers_to_clear_filters(bob_client: Client) -> None:
    PartnerFactory(name="Initech")
    html = bob_client.get("/partners/?q=zzzz").content.decode()
    assert "No partner matches these filters." in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=mull", {"Müller AG"}),
        ("q=MÜLLER", {"Müller AG"}),
        ("q=sales@glob", {"Globex"}),
        ("q=0301234", {"Müller AG"}),
        ("q=%2B49 30 123", {"Müller AG"}),
        ("role=supplier", {"Globex"}),
        ("kind=person", {"Zoë Person"}),
        ("country=DE", {"Müller AG"}),
        ("status=archived", {"Old Co"}),
        ("status=all&kind=company", {"Müller AG", "Globex", "Old Co"}),
    ],
)
def test_list_filters_and_search(
    bob_client: Client, maria: User, query: str, expected: set
) -> None:
    """Search finds substrings of names (without accents or case), emails and phones;
    filters narrow by role, kind, country and status."""
    PartnerFactory(name="Müller AG", phones=["030 1234567"], city="Berlin", country="DE")
    PartnerFactory(name="Globex", emails=["sales@globex.example"], is_supplier=True)
    PersonFactory(name="Zoë Person")
    services.partner_archive(partner=PartnerFactory(name="Old Co"), by=maria)
    response = bob_client.get(f"/partners/?{query}")
    names = {p.name for p in response.context["page"].items}
    assert names == expected


def test_list_category_filter_includes_subcategories(bob_client: Client) -> None:
    industry = CategoryFactory(name="Industry")
    auto = CategoryFactory(name="Automotive", parent=industry)
    PartnerFactory(name="Carmaker", categories=[auto])
    PartnerFactory(name="Bakery")
    response = bob_client.get(f"/partners/?category={industry.pk}")
    assert [p.name for p in response.context["page"].items] == ["Carmaker"]


def test_list_sorts_and_paginates_by_keyset(bob_client: Client) -> None:
    """Fifty-five partners make two pages; next and previous links round-trip."""
    for i in range(55):
        PartnerFactory(name=f"P{i:02d}")
    first = bob_client.get("/partners/?sort=-name")
    page = first.context["page"]
    assert [p.name for p in page.items[:2]] == ["P54", "P53"]
    assert "1–50 of many" in first.content.decode()
    second = bob_client.get(f"/partners/?sort=-name&cursor={page.next_cursor}")
    page2 = second.context["page"]
    assert [p.name for p in page2.items] == ["P04", "P03", "P02", "P01", "P00"]
    assert "51–55 of 55" in second.content.decode()
    back = bob_client.get(f"/partners/?sort=-name&cursor={page2.prev_cursor}")
    assert [p.name for p in back.context["page"].items] == [p.name for p in page.items]


def test_list_with_a_tampered_cursor_starts_over(bob_client: Client) -> None:
    """A broken cursor is explained and the list starts from the top, not a 500."""
    response = bob_client.get("/partners/?q=x&cursor=not-base64!!", follow=True)
    assert response.status_code == 200
    assert "no longer valid" in response.content.decode()


def test_list_ignores_bad_filters_with_a_warning(bob_client: Client) -> None:
    PartnerFactory(name="Initech")
    response = bob_client.get("/partners/?category=abc&sort=nope&country=XX")
    assert response.status_code == 200
    assert "Initech" in response.content.decode()
    assert "Some filters were not understood" in response.content.decode()


def test_list_htmx_request_returns_only_the_results(bob_client: Client) -> None:
    PartnerFactory(name="Initech")
    response = bob_client.get(
        "/partners/?q=init", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="partner-results"
    )
    html = response.content.decode()
    assert "Initech" in html
    assert "<html" not in html


def test_list_query_count_does_not_grow_with_rows(
    bob_client: Client, django_assert_num_queries
) -> None:
    """The list costs the same number of queries for 3 partners and for 40."""
    gold = CategoryFactory(name="Gold")
    for _ in range(3):
        PartnerFactory(categories=[gold])
    bob_client.get("/partners/")  # warm the session
    with django_assert_num_queries(8) as small:
        bob_client.get("/partners/")
    for _ in range(37):
        PartnerFactory(categories=[gold])
    with django_assert_num_queries(len(small.captured_queries)):
        bob_client.get("/partners/")


def test_list_never_counts_the_table(bob_client: Client, django_assert_max_num_queries) -> None:
    PartnerFactory()
    with django_assert_max_num_queries(10) as captured:
        bob_client.get("/partners/?role=customer&q=part")
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)


# --------------------------------------------------------------------------
# Create


def test_create_company_with_contacts_and_address(bob_client: Client, bob: User) -> None:
    response = bob_client.post("/partners/new/", _create_data())
    partner = Partner.objects.get(name="Globex Corporation")
    assert response["Location"] == f"/partners/{partner.pk}/"
    assert partner.email == "info@globex.example"
    assert partner.phone == "+12125550123"
    assert partner.city == "Springfield"
    assert partner.created_by == bob


def test_create_person_as_contact_of_a_company(bob_client: Client) -> None:
    acme = PartnerFactory(name="Acme")
    data = _create_data(kind="person", name="Łukasz Nowak", **{"link-company": str(acme.pk)})
    data["link-job_title"] = "Buyer"
    response = bob_client.post("/partners/new/", data)
    assert response.status_code == 302
    membership = Membership.objects.get()
    assert (membership.person.name, membership.company, membership.job_title) == (
        "Łukasz Nowak",
        acme,
        "Buyer",
    )


def test_create_shows_errors_next_to_fields_and_keeps_input(bob_client: Client) -> None:
    """Bad input comes back as 400 with each message beside its field; nothing saved."""
    data = _create_data(name="", **{"emails-0-email": "not-an-email", "phones-0-number": "12"})
    response = bob_client.post("/partners/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "not-an-email is not a valid email address" in html
    assert "12 is not a valid phone number." in html
    assert 'value="not-an-email"' in html
    assert not Partner.objects.exists()


def test_create_warns_about_duplicates_and_continues_on_request(bob_client: Client) -> None:
    """A partner with the same email is shown; ticking "create anyway" creates it."""
    existing = PartnerFactory(name="Globex Inc", emails=["info@globex.example"])
    response = bob_client.post("/partners/new/", _create_data())
    assert response.status_code == 400
    html = response.content.decode()
    assert "Already in Goodwill?" in html
    assert f"/partners/{existing.pk}/" in html
    assert "email info@globex.example" in html
    assert Partner.objects.count() == 1
    response = bob_client.post("/partners/new/", _create_data(ignore_duplicates="1"))
    assert response.status_code == 302
    assert Partner.objects.count() == 2


def test_duplicates_panel_matches_name_email_and_phone(bob_client: Client) -> None:
    """The live panel finds a same-name company despite case, accents and legal form."""
    PartnerFactory(name="Müller GmbH", phones=["+49 30 1234567"])
    response = bob_client.post("/partners/new/duplicates/", {"name": "MULLER"})
    assert "Müller GmbH" in response.content.decode()
    response = bob_client.post(
        "/partners/new/duplicates/", {"name": "Other", "phones-0-number": "+49301234567"}
    )
    assert "phone +49301234567" in response.content.decode()
    response = bob_client.post("/partners/new/duplicates/", {"name": "Nobody"})
    assert "Already in Goodwill?" not in response.content.decode()


def test_create_form_prefills_the_company_for_a_new_contact(bob_client: Client) -> None:
    acme = PartnerFactory(name="Acme")
    html = bob_client.get(f"/partners/new/?kind=person&company={acme.pk}").content.decode()
    assert f'<option value="{acme.pk}" selected>Acme</option>' in html


# --------------------------------------------------------------------------
# Detail, edit and timeline


def test_detail_shows_contacts_on_both_sides(bob_client: Client) -> None:
    acme = PartnerFactory(name="Acme")
    person = PersonFactory(
        name="Pat Doe",
        companies=[services.MembershipInput(company=acme, job_title="Head of Purchasing")],
    )
    company_html = bob_client.get(f"/partners/{acme.pk}/").content.decode()
    assert "Pat Doe" in company_html
    assert "Head of Purchasing" in company_html
    person_html = bob_client.get(f"/partners/{person.pk}/").content.decode()
    assert "Acme" in person_html
    assert "Head of Purchasing" in person_html


def test_detail_query_count_is_flat(bob_client: Client, django_assert_num_queries) -> None:
    """Contacts, emails and timeline entries do not add queries. (The 16th asks
    which case sections bob may see, to hide private cases' entries.)"""
    acme = PartnerFactory(name="Acme", emails=["a@acme.example"])
    bob_client.get(f"/partners/{acme.pk}/")
    with django_assert_num_queries(16) as small:
        bob_client.get(f"/partners/{acme.pk}/")
    for i in range(12):
        PersonFactory(companies=[services.MembershipInput(company=acme, job_title=f"Job {i}")])
    with django_assert_num_queries(len(small.captured_queries)):
        bob_client.get(f"/partners/{acme.pk}/")


def test_missing_partner_is_404_in_the_site_look(bob_client: Client) -> None:
    response = bob_client.get("/partners/999999/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_edit_saves_and_the_timeline_shows_the_change(bob_client: Client) -> None:
    partner = PartnerFactory(name="Initech", emails=["a@initech.example"])
    form = bob_client.get(f"/partners/{partner.pk}/edit/")
    assert 'value="a@initech.example"' in form.content.decode()
    data = _create_data(name="Initech Ltd", vat="GB 999")
    data.update({"emails-0-email": "a@initech.example", "emails-0-primary": "on"})
    response = bob_client.post(f"/partners/{partner.pk}/edit/", data)
    assert response.status_code == 302
    html = bob_client.get(f"/partners/{partner.pk}/").content.decode()
    assert "Initech Ltd" in html
    assert '<span class="old">Initech</span>' in html
    assert '<span class="new">GB999</span>' in html


def test_edit_with_bad_input_is_400_and_saves_nothing(bob_client: Client) -> None:
    partner = PartnerFactory(name="Initech")
    data = _create_data(name="Renamed", website="ht!tp://bad url")
    response = bob_client.post(f"/partners/{partner.pk}/edit/", data)
    assert response.status_code == 400
    assert "is not a web address" in response.content.decode()
    partner.refresh_from_db()
    assert partner.name == "Initech"


def test_note_added_with_htmx_returns_the_entry_and_a_fresh_form(bob_client: Client) -> None:
    partner = PartnerFactory()
    response = bob_client.post(
        f"/partners/{partner.pk}/notes/", {"body": "Called <b>Pat</b>"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Called &lt;b&gt;Pat&lt;/b&gt;" in html
    assert 'hx-swap-oob="afterbegin:#timeline"' in html
    assert partner.timeline.filter(kind="note").count() == 1


def test_empty_note_is_refused_in_place(bob_client: Client) -> None:
    partner = PartnerFactory()
    response = bob_client.post(
        f"/partners/{partner.pk}/notes/", {"body": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not partner.timeline.filter(kind="note").exists()


def test_note_without_javascript_redirects_back(bob_client: Client) -> None:
    partner = PartnerFactory()
    response = bob_client.post(f"/partners/{partner.pk}/notes/", {"body": "Plain form"})
    assert response["Location"] == f"/partners/{partner.pk}/"


def test_timeline_loads_older_entries(bob_client: Client, bob: User) -> None:
    partner = PartnerFactory()
    for i in range(40):
        services.partner_note_add(partner=partner, by=bob, body=f"note {i:02d}")
    detail = bob_client.get(f"/partners/{partner.pk}/")
    timeline = detail.context["timeline"]
    assert len(timeline.items) == 30
    older = bob_client.get(f"/partners/{partner.pk}/timeline/?cursor={timeline.next_cursor}")
    html = older.content.decode()
    assert "note 09" in html
    assert "note 00" in html
    assert "created" in html
    assert "note 10" not in html


# --------------------------------------------------------------------------
# Archive, restore, merge, bulk


def test_agents_cannot_archive(bob_client: Client) -> None:
    partner = PartnerFactory()
    assert bob_client.post(f"/partners/{partner.pk}/archive/").status_code == 403
    partner.refresh_from_db()
    assert partner.active


def test_archive_asks_first_then_archives(maria_client: Client) -> None:
    partner = PartnerFactory(name="Sleepy")
    confirm = maria_client.get(f"/partners/{partner.pk}/archive/")
    assert "Archive Sleepy?" in confirm.content.decode()
    maria_client.post(f"/partners/{partner.pk}/archive/")
    partner.refresh_from_db()
    assert not partner.active
    maria_client.post(f"/partners/{partner.pk}/restore/")
    partner.refresh_from_db()
    assert partner.active


def test_merge_reviews_then_merges(maria_client: Client) -> None:
    keep = PartnerFactory(name="Acme")
    drop = PartnerFactory(name="ACME Ltd", emails=["x@acme.example"])
    review = maria_client.get(f"/partners/{keep.pk}/merge/?other={drop.pk}")
    assert "Merge ACME Ltd into Acme" in review.content.decode()
    response = maria_client.post(f"/partners/{keep.pk}/merge/", {"other": drop.pk, "confirm": "on"})
    assert response["Location"] == f"/partners/{keep.pk}/"
    drop.refresh_from_db()
    assert drop.merged_into == keep


def test_merge_refuses_a_person_into_a_company(maria_client: Client) -> None:
    keep = PartnerFactory(name="Acme")
    person = PersonFactory(name="Pat")
    response = maria_client.get(f"/partners/{keep.pk}/merge/?other={person.pk}")
    assert "Select a valid choice" in response.content.decode()


def test_bulk_add_category(bob_client: Client) -> None:
    gold = CategoryFactory(name="Gold")
    partners = [PartnerFactory(), PartnerFactory()]
    response = bob_client.post(
        "/partners/bulk/",
        {"action": "categorise", "category": gold.pk, "ids": [p.pk for p in partners]},
        follow=True,
    )
    assert "Added Gold to 2 partners." in response.content.decode()


def test_bulk_without_selection_explains(bob_client: Client) -> None:
    response = bob_client.post("/partners/bulk/", {"action": "archive"}, follow=True)
    assert "Select at least one partner." in response.content.decode()


def test_bulk_archive_needs_the_manager_role(bob_client: Client, maria_client: Client) -> None:
    partner = PartnerFactory()
    assert (
        bob_client.post("/partners/bulk/", {"action": "archive", "ids": [partner.pk]}).status_code
        == 403
    )
    maria_client.post("/partners/bulk/", {"action": "archive", "ids": [partner.pk]})
    partner.refresh_from_db()
    assert not partner.active


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_bulk_ignores_an_offsite_next(bob_client: Client, target: str) -> None:
    response = bob_client.post("/partners/bulk/", {"action": "archive", "next": target})
    assert response["Location"] == "/partners/"


def test_bulk_returns_to_the_filtered_list(bob_client: Client) -> None:
    response = bob_client.post("/partners/bulk/", {"action": "archive", "next": "/partners/?q=x"})
    assert response["Location"] == "/partners/?q=x"


# --------------------------------------------------------------------------
# Contacts of companies


def test_add_edit_and_remove_a_contact(bob_client: Client) -> None:
    acme = PartnerFactory(name="Acme", country="")
    person = PersonFactory(name="Pat")
    response = bob_client.post(
        f"/partners/{acme.pk}/contacts/add/",
        {"other": person.pk, "job_title": "CTO", "work_email": "PAT@acme.example"},
    )
    assert response["Location"] == f"/partners/{acme.pk}/"
    membership = Membership.objects.get()
    assert membership.work_email == "pat@acme.example"
    response = bob_client.post(
        f"/partners/contacts/{membership.pk}/edit/?from=person",
        {"job_title": "CEO", "department": "", "work_email": "", "work_phone": "nonsense"},
    )
    assert response.status_code == 400
    assert "nonsense is not a phone number" in response.content.decode()
    bob_client.post(
        f"/partners/contacts/{membership.pk}/edit/?from=person",
        {"job_title": "CEO", "department": "", "work_email": "", "work_phone": ""},
    )
    membership.refresh_from_db()
    assert membership.job_title == "CEO"
    assert (
        "Remove Pat from Acme?"
        in bob_client.get(f"/partners/contacts/{membership.pk}/remove/").content.decode()
    )
    bob_client.post(f"/partners/contacts/{membership.pk}/remove/")
    assert not Membership.objects.exists()


def test_adding_the_same_contact_twice_is_explained(bob_client: Client) -> None:
    acme = PartnerFactory(name="Acme")
    person = PersonFactory(name="Pat", companies=[services.MembershipInput(company=acme)])
    response = bob_client.post(f"/partners/{acme.pk}/contacts/add/", {"other": person.pk})
    assert response.status_code == 400
    assert "already a contact of Acme" in response.content.decode()


def test_autocomplete_returns_matches_of_the_asked_kind(bob_client: Client) -> None:
    PartnerFactory(name="Acme Corp", city="Paris", country="FR")
    PersonFactory(name="Acme Person")
    data = bob_client.get("/partners/autocomplete/?q=acme&kind=company").json()
    assert data["results"] == [
        {
            "value": data["results"][0]["value"],
            "text": "Acme Corp",
            "kind": "company",
            "where": "Paris, France",
        }
    ]


def test_timeline_entries_are_internal_and_attributed(bob_client: Client, bob: User) -> None:
    partner = PartnerFactory()
    bob_client.post(f"/partners/{partner.pk}/notes/", {"body": "hello"})
    entry = TimelineEntry.objects.get(kind="note")
    assert (entry.author, entry.visibility) == (bob, "internal")


def test_ids_too_large_for_the_database_are_refused_not_crashed(
    bob_client: Client, maria_client: Client
) -> None:
    """SQLite overflows on integers beyond 64 bits; every door turns them away first."""
    big = str(10**30)
    assert bob_client.get(f"/partners/{big}/").status_code == 404
    assert bob_client.get(f"/partners/{big}/timeline/").status_code == 404
    assert bob_client.get(f"/partners/exports/{big}/").status_code == 404
    assert bob_client.get(f"/api/partners/{big}/").status_code == 404
    assert bob_client.get(f"/partners/?category={big}").status_code == 200
    response = maria_client.post("/partners/bulk/", {"action": "archive", "ids": [big]})
    assert response.status_code == 302
    data = _create_data(kind="person", name="Pat", parent=big, **{"link-company": big})
    response = bob_client.post("/partners/new/", data)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    acme = PartnerFactory(name="Acme")
    response = maria_client.get(f"/partners/{acme.pk}/merge/?other={big}")
    assert response.status_code == 200


def test_nul_characters_in_searches_are_harmless(bob_client: Client) -> None:
    """PostgreSQL refuses NUL in text; the search, autocomplete and duplicate check drop it."""
    PartnerFactory(name="Acme")
    assert (
        bob_client.get("/partners/autocomplete/?q=ac%00me").json()["results"][0]["text"] == "Acme"
    )
    response = bob_client.post("/partners/new/duplicates/", {"name": "Ac\x00me"})
    assert "Acme" in response.content.decode()
    assert bob_client.get("/partners/?q=a%00c").status_code == 200


def test_a_merged_partner_points_to_the_survivor_and_cannot_be_edited(
    maria_client: Client, maria: User
) -> None:
    keep, drop = PartnerFactory(name="Acme"), PartnerFactory(name="ACME Ltd")
    services.partner_merge(keep=keep, drop=drop, by=maria)
    html = maria_client.get(f"/partners/{drop.pk}/").content.decode()
    assert f'Merged into <a href="/partners/{keep.pk}/">Acme</a>' in html
    assert f"/partners/{drop.pk}/edit/" not in html
    assert 'id="note-form"' not in html
    response = maria_client.get(f"/partners/{drop.pk}/edit/", follow=True)
    assert "was merged into another partner" in response.content.decode()


def test_a_person_can_be_linked_to_a_company_from_the_person_page(bob_client: Client) -> None:
    person = PersonFactory(name="Pat")
    acme = PartnerFactory(name="Acme")
    form = bob_client.get(f"/partners/{person.pk}/contacts/add/").content.decode()
    assert "Make Pat a contact of a company" in form
    assert 'data-kind="company"' in form
    response = bob_client.post(
        f"/partners/{person.pk}/contacts/add/", {"other": acme.pk, "job_title": "Buyer"}
    )
    assert response["Location"] == f"/partners/{person.pk}/"
    assert Membership.objects.get().company == acme
    # A person offered as the "company" is refused.
    other = PersonFactory(name="Sam")
    response = bob_client.post(f"/partners/{person.pk}/contacts/add/", {"other": other.pk})
    assert response.status_code == 400
