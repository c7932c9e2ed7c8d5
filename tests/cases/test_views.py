"""The case pages: list, search, create and edit, the case page and its actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from goodwill.accounts.models import User
from goodwill.cases import services
from goodwill.cases.models import Case, OutboundMessage, SavedFilter, Section, Stage
from goodwill.partners.models import TimelineEntry
from tests.factories import CaseFactory, PartnerFactory, PersonFactory, SectionFactory, case_type

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def support(maria: User) -> Section:
    top = SectionFactory(name="Management", code="MGMT", responsible=maria)
    return SectionFactory(name="Support", code="SUPPORT", parent=top, responsible=maria)


@pytest.fixture
def private(maria: User) -> Section:
    return SectionFactory(
        name="Quality", code="QUALITY", visibility=Section.Visibility.MEMBERS, members=[maria]
    )


def _html(response: Any) -> str:
    return response.content.decode()


# --------------------------------------------------------------------------
# List and search


def test_the_list_opens_on_my_open_cases(bob: User, bob_client: Client, support: Section) -> None:
    mine = CaseFactory(subject="Mine and open", section=support, state="open", by=bob)
    CaseFactory(subject="Someone else's", section=support, state="open")
    CaseFactory(subject="Mine but draft", section=support, responsible=bob)
    html = _html(bob_client.get("/cases/"))
    assert mine.subject in html
    assert "Someone else&#x27;s" not in html
    assert "Someone else's" not in html
    assert "Mine but draft" not in html


def test_builtin_filters_and_search(bob: User, bob_client: Client, support: Section) -> None:
    late = CaseFactory(subject="Overdue invoice", section=support, state="open", by=bob)
    services.case_update(case=late, by=bob, values={"deadline": late.created_at.replace(year=2020)})
    CaseFactory(subject="Nobody's printer", section=support, state="open")
    unassigned = CaseFactory(subject="Unowned toaster", section=support)
    assert "Overdue invoice" in _html(bob_client.get("/cases/?filter=my_late"))
    assert "Unowned toaster" in _html(bob_client.get("/cases/?filter=unassigned"))
    by_number = _html(bob_client.get(f"/cases/?filter=all&q=%23{unassigned.number}"))
    assert "Unowned toaster" in by_number
    assert "Overdue invoice" not in by_number
    by_subject = _html(bob_client.get("/cases/?filter=all&q=toast"))
    assert "Unowned toaster" in by_subject
    assert "Overdue invoice" not in by_subject


def test_private_sections_never_show_in_bobs_list_search_or_autocomplete(
    bob_client: Client, maria_client: Client, private: Section
) -> None:
    CaseFactory(subject="Secret supplier audit", section=private, state="open")
    for url in ("/cases/?filter=all", "/cases/?filter=all&q=secret", "/cases/?filter=open"):
        assert "Secret supplier audit" not in _html(bob_client.get(url))
    assert bob_client.get("/cases/autocomplete/?q=secret").json() == {"results": []}
    assert "Secret supplier audit" in _html(maria_client.get("/cases/?filter=all&q=secret"))


def test_a_bad_cursor_or_filter_is_a_message_not_an_error(bob_client: Client) -> None:
    response = bob_client.get("/cases/?filter=all&cursor=garbage&priority=9&section=x")
    assert response.status_code == 200
    assert "no longer valid" in _html(response)


def test_list_query_count_is_flat(
    bob: User, bob_client: Client, support: Section, django_assert_num_queries: Any
) -> None:
    """Rows do not add queries: no per-row lookups of partner, section or user."""
    partner = PartnerFactory()
    for _ in range(3):
        CaseFactory(section=support, partner=partner, state="open", by=bob)
    bob_client.get("/cases/?filter=all")
    with CaptureQueriesContext(connection) as small:
        bob_client.get("/cases/?filter=all")
    for _ in range(25):
        CaseFactory(section=support, partner=PartnerFactory(), state="open", by=bob)
    with django_assert_num_queries(len(small.captured_queries)):
        bob_client.get("/cases/?filter=all")


def test_saved_filters_are_personal(bob_client: Client, maria: User, maria_client: Client) -> None:
    response = bob_client.post(
        "/cases/filters/save/", {"name": "Urgent", "query": "filter=open&priority=1"}
    )
    assert response.status_code == 302
    saved = SavedFilter.objects.get(name="Urgent")
    assert 'href="?filter=open&amp;priority=1">★ Urgent' in _html(bob_client.get("/cases/"))
    assert "★ Urgent" not in _html(maria_client.get("/cases/"))
    assert maria_client.post(f"/cases/filters/{saved.pk}/delete/").status_code == 404
    assert bob_client.post(f"/cases/filters/{saved.pk}/delete/").status_code == 302
    assert not SavedFilter.objects.exists()


def test_bulk_assign_state_and_merge(
    bob: User, maria: User, maria_client: Client, support: Section
) -> None:
    cases = [CaseFactory(section=support, state="open") for _ in range(3)]
    ids = [c.pk for c in cases]
    maria_client.post("/cases/bulk/", {"action": "assign", "ids": ids, "responsible": bob.pk})
    assert set(Case.objects.filter(pk__in=ids).values_list("responsible", flat=True)) == {bob.pk}
    maria_client.post("/cases/bulk/", {"action": "state", "ids": ids[:2], "state": "close"})
    assert Case.objects.filter(pk__in=ids, state="done").count() == 2
    response = maria_client.post(
        "/cases/bulk/", {"action": "state", "ids": ids, "state": "pending"}, follow=True
    )
    assert "cannot be set pending" in _html(response)  # the two done ones, reported
    assert Case.objects.get(pk=ids[2]).state == "pending"
    response = maria_client.post("/cases/bulk/", {"action": "merge", "ids": ids})
    survivor = min(cases, key=lambda c: c.number)
    assert response["Location"] == f"/cases/{survivor.number}/"
    assert Case.objects.filter(merged_into=survivor).count() == 2


# --------------------------------------------------------------------------
# Create and edit


def test_create_from_a_partner_page_prefills_the_partner(
    bob: User, bob_client: Client, support: Section
) -> None:
    acme = PartnerFactory(name="Acme", emails=["help@acme.example"])
    form = _html(bob_client.get(f"/cases/new/?partner={acme.pk}&type=opportunity"))
    assert "Acme" in form
    assert "help@acme.example" in form
    response = bob_client.post(
        "/cases/new/",
        {
            "subject": "Forklift fleet renewal",
            "case_type": case_type("opportunity").pk,
            "section": support.pk,
            "priority": 2,
            "partner": acme.pk,
            "requester_email": "help@acme.example",
            "planned_revenue": "120000.00",
            "probability": "40",
            "open_now": "1",
        },
    )
    case = Case.objects.get(subject="Forklift fleet renewal")
    assert response["Location"] == f"/cases/{case.number}/"
    assert (case.state, case.responsible, case.partner) == ("open", bob, acme)
    assert case.weighted_revenue == 48000


def test_create_shows_errors_next_to_fields(bob_client: Client, support: Section) -> None:
    response = bob_client.post(
        "/cases/new/",
        {
            "subject": "",
            "case_type": case_type().pk,
            "section": support.pk,
            "priority": 3,
            "requester_email": "not an address",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["subject"] == ["This field is required."]
    response = bob_client.post(
        "/cases/new/",
        {
            "subject": "Printer",
            "case_type": case_type().pk,
            "section": support.pk,
            "priority": 3,
            "requester_email": "not an address",
        },
    )
    assert response.status_code == 400
    [message] = response.context["form"].errors["requester_email"]
    assert "not an address is not a valid email address" in message
    assert not Case.objects.exists()


def test_edit_writes_field_diffs_to_the_timeline(
    bob: User, bob_client: Client, support: Section
) -> None:
    case = CaseFactory(subject="Old subject", section=support, state="open", by=bob)
    data = {
        "subject": "New subject",
        "case_type": case.case_type_id,
        "section": support.pk,
        "priority": 1,
        "stage": case.stage_id,
    }
    assert bob_client.post(f"/cases/{case.number}/edit/", data).status_code == 302
    html = _html(bob_client.get(f"/cases/{case.number}/"))
    assert '<span class="old">Old subject</span>' in html
    assert '<span class="new">1 Highest</span>' in html


# --------------------------------------------------------------------------
# The case page and its actions


def test_detail_query_count_is_flat(
    bob: User, bob_client: Client, support: Section, django_assert_num_queries: Any
) -> None:
    """Timeline entries, watchers, links and attachments do not add queries."""
    case = CaseFactory(section=support, state="open", by=bob, partner=PartnerFactory())
    services.case_link_add(case=case, by=bob, target=CaseFactory(section=support))
    bob_client.get(f"/cases/{case.number}/")
    with CaptureQueriesContext(connection) as small:
        bob_client.get(f"/cases/{case.number}/")
    for i in range(60):
        services.case_note_add(case=case, by=bob, body=f"Note {i}")
    services.watcher_add(case=case, by=bob, email="a@b.example")
    for _ in range(3):
        services.case_link_add(case=case, by=bob, target=CaseFactory(section=support))
    services.case_attach(case=case, by=bob, files=[ContentFile(b"x", name="x.txt")])
    with django_assert_num_queries(len(small.captured_queries)):
        response = bob_client.get(f"/cases/{case.number}/")
    assert "Show older entries" in _html(response)


def test_close_with_htmx_returns_the_refreshed_case(
    bob: User, bob_client: Client, support: Section
) -> None:
    case = CaseFactory(section=support, state="open", by=bob)
    response = bob_client.post(f"/cases/{case.number}/state/close/", **HX)
    html = _html(response)
    assert response.status_code == 200
    assert "is now done" in html
    assert 'data-state="done"' in html
    assert 'data-action="reset"' in html
    assert 'data-action="close"' not in html


def test_an_illegal_transition_is_a_message(
    bob: User, bob_client: Client, support: Section
) -> None:
    case = CaseFactory(section=support, state="done", by=bob)
    response = bob_client.post(f"/cases/{case.number}/state/pending/", **HX)
    assert response.status_code == 200
    assert "cannot be set pending from there" in _html(response)
    assert bob_client.post(f"/cases/{case.number}/state/explode/").status_code == 404


def test_escalate_and_the_top_of_the_chain(
    bob: User, maria: User, bob_client: Client, support: Section
) -> None:
    case = CaseFactory(section=support, state="open", by=bob)
    html = _html(bob_client.post(f"/cases/{case.number}/escalate/", **HX))
    assert "Escalated to Management" in html
    case.refresh_from_db()
    assert (case.section.code, case.responsible) == ("MGMT", maria)
    response = bob_client.post(f"/cases/{case.number}/escalate/", follow=True)
    assert "top of the escalation chain" in _html(response)


def test_note_is_internal_and_reply_is_queued(
    bob: User, bob_client: Client, support: Section
) -> None:
    case = CaseFactory(
        section=support, state="open", by=bob, requester_email="pat@customer.example"
    )
    bob_client.post(f"/cases/{case.number}/note/", {"body": "Looked into it"}, **HX)
    html = _html(bob_client.post(f"/cases/{case.number}/reply/", {"body": "Fixed!"}, **HX))
    assert "queued for sending" in html
    assert 'class="badge outbox-queued"' in html
    message = OutboundMessage.objects.get()
    assert message.to == ["pat@customer.example"]
    assert message.subject.startswith(f"[#{case.number}]")
    note = TimelineEntry.objects.get(kind="note", subject_id=case.pk)
    assert note.visibility == "internal"


def test_a_reply_without_requester_keeps_the_text(
    bob: User, bob_client: Client, support: Section
) -> None:
    case = CaseFactory(section=support, state="open", by=bob)
    response = bob_client.post(f"/cases/{case.number}/reply/", {"body": "Draft words"}, **HX)
    html = _html(response)
    assert "no requester email" in html
    assert "Draft words" in html
    assert not OutboundMessage.objects.exists()


def test_attachments_respect_the_size_limit_and_permissions(
    bob: User,
    bob_client: Client,
    maria_client: Client,
    support: Section,
    private: Section,
    settings: Any,
) -> None:
    settings.CASE_ATTACHMENT_MAX_MB = 1
    case = CaseFactory(section=support, state="open", by=bob)
    big = SimpleUploadedFile("big.bin", b"x" * (1024 * 1024 + 1))
    html = _html(bob_client.post(f"/cases/{case.number}/attach/", {"files": big}, **HX))
    assert "big.bin is 1.0 MB; files can be at most 1 MB." in html
    small = SimpleUploadedFile("report.html", b"<script>alert(1)</script>")
    bob_client.post(f"/cases/{case.number}/attach/", {"files": small}, **HX)
    attachment = case.attachments.get()
    response = bob_client.get(f"/cases/attachments/{attachment.pk}/")
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    secret = CaseFactory(section=private)
    hidden = services.case_attach(
        case=secret, by=None, files=[ContentFile(b"x", name="audit.pdf")]
    )[0]
    assert bob_client.get(f"/cases/attachments/{hidden.pk}/").status_code == 404
    assert maria_client.get(f"/cases/attachments/{hidden.pk}/").status_code == 200


def test_watchers_and_links(
    bob: User, bob_client: Client, support: Section, private: Section
) -> None:
    case = CaseFactory(section=support, state="open", by=bob)
    other = CaseFactory(subject="The other one", section=support)
    secret = CaseFactory(section=private)
    bob_client.post(f"/cases/{case.number}/watchers/", {"email": "cc@x.example"}, **HX)
    html = _html(bob_client.post(f"/cases/{case.number}/watchers/", {"email": "bad"}, **HX))
    assert "not a valid email address" in html
    watcher = case.watchers.get()
    bob_client.post(f"/cases/{case.number}/links/", {"kind": "case", "case": other.pk}, **HX)
    assert "The other one" in _html(bob_client.get(f"/cases/{case.number}/"))
    html = _html(
        bob_client.post(f"/cases/{case.number}/links/", {"kind": "case", "case": secret.pk}, **HX)
    )
    assert "Choose a case or a partner to link." in html
    assert case.links.count() == 1
    bob_client.post(f"/cases/{case.number}/watchers/{watcher.pk}/remove/", **HX)
    assert not case.watchers.exists()


def test_outsiders_and_private_cases(
    bob_client: Client, charlie_client: Client, paula_client: Client, private: Section
) -> None:
    secret = CaseFactory(section=private)
    assert bob_client.get(f"/cases/{secret.number}/").status_code == 404
    assert bob_client.post(f"/cases/{secret.number}/note/", {"body": "x"}).status_code == 404
    for client in (charlie_client, paula_client):
        assert client.get(f"/cases/{secret.number}/").status_code == 403
        assert client.get("/cases/").status_code == 403


def test_merge_and_split_pages(bob: User, maria_client: Client, support: Section) -> None:
    keep = CaseFactory(subject="Keep me", section=support, state="open")
    drop = CaseFactory(subject="Drop me", section=support, state="open")
    entry = services.case_note_add(case=drop, by=bob, body="Second problem: the scanner")
    response = maria_client.post(f"/cases/{drop.number}/split/{entry.pk}/", {"subject": ""})
    new = Case.objects.get(related=drop)
    assert new.subject == "Second problem: the scanner"
    assert response["Location"] == f"/cases/{new.number}/"
    response = maria_client.post(f"/cases/{drop.number}/merge/", {"into": keep.pk})
    assert response["Location"] == f"/cases/{keep.number}/"
    drop.refresh_from_db()
    assert drop.merged_into == keep
    assert drop.state == "cancel"


def test_merge_needs_the_merge_permission(bob_client: Client, support: Section) -> None:
    case = CaseFactory(section=support)
    assert bob_client.get(f"/cases/{case.number}/merge/").status_code == 403


def test_expense_approval_by_the_section_responsible(
    bob: User, bob_client: Client, maria_client: Client, support: Section
) -> None:
    case = CaseFactory(
        section=support, type="expense", amount="42.50", currency="EUR", state="open", by=bob
    )
    bob_client.post(f"/cases/{case.number}/expense/submit/", **HX)
    html = _html(bob_client.post(f"/cases/{case.number}/expense/approve/", **HX))
    assert "can decide on this claim" in html
    assert Case.objects.get(pk=case.pk).approval == "requested"
    maria_client.post(f"/cases/{case.number}/expense/approve/", **HX)
    case.refresh_from_db()
    assert case.approval == "approved"


def test_the_partner_page_lists_cases_without_private_ones(
    bob_client: Client, maria_client: Client, support: Section, private: Section
) -> None:
    acme = PartnerFactory(name="Acme")
    CaseFactory(subject="Public complaint", section=support, partner=acme)
    CaseFactory(subject="Secret audit", section=private, partner=acme)
    panel = _html(bob_client.get(f"/cases/partner/{acme.pk}/"))
    assert "Public complaint" in panel
    assert "Secret audit" not in panel
    timeline = _html(bob_client.get(f"/partners/{acme.pk}/"))
    assert "Public complaint" in timeline
    assert "Secret audit" not in timeline
    assert "Secret audit" in _html(maria_client.get(f"/partners/{acme.pk}/"))


def test_a_person_partner_prefills_contact_and_company(bob_client: Client) -> None:
    acme = PartnerFactory(name="Acme Corp")
    from goodwill.partners.services import MembershipInput

    pat = PersonFactory(name="Pat Doe", companies=[MembershipInput(company=acme)])
    html = _html(bob_client.get(f"/cases/new/?partner={pat.pk}"))
    assert "Pat Doe" in html
    assert "Acme Corp" in html


def test_odd_digits_in_a_partner_id_do_not_break_the_form(bob_client: Client) -> None:
    assert bob_client.get("/cases/new/?partner=%C2%B2").status_code == 200


def test_a_cc_that_is_not_an_address_is_refused(
    bob: User, bob_client: Client, support: Section
) -> None:
    case = CaseFactory(section=support, state="open", by=bob, requester_email="a@b.example")
    html = _html(
        bob_client.post(f"/cases/{case.number}/reply/", {"body": "Hi", "cc": "nobody@"}, **HX)
    )
    assert "not a valid email address" in html
    assert not OutboundMessage.objects.exists()


def test_changing_an_approved_amount_withdraws_the_approval(
    bob: User, maria: User, support: Section
) -> None:
    case = CaseFactory(
        section=support, type="expense", amount="10.00", currency="EUR", state="open", by=bob
    )
    services.case_expense_submit(case=case, by=bob)
    services.case_expense_decide(case=case, by=maria, approve=True)
    case = services.case_update(case=case, by=bob, values={"amount": "99.00"})
    assert case.approval == ""
    assert case.approved_by is None


def test_a_members_only_case_cannot_be_merged_into_another_section(
    maria: User, support: Section, private: Section
) -> None:
    secret = CaseFactory(section=private)
    public = CaseFactory(section=support)
    with pytest.raises(ValidationError, match="members-only section Quality"):
        services.case_merge(keep=public, drop=secret, by=maria)


def test_links_to_a_merged_case_follow_it(maria: User, support: Section) -> None:
    keep, drop, other = (CaseFactory(section=support) for _ in range(3))
    services.case_link_add(case=other, by=maria, target=drop)
    services.case_merge(keep=keep, drop=drop, by=maria)
    assert list(other.links.values_list("target_id", flat=True)) == [keep.pk]


def test_hash_number_search_is_exact(alice: User, support: Section) -> None:
    from goodwill.cases.selectors import CaseFilters, case_queryset

    first = CaseFactory(section=support)
    found = case_queryset(alice, CaseFilters(q=f"#{first.number}"))
    assert list(found) == [first]
    # "#100" is in the search text of #1001…#1009 but is no case's number.
    prefix = f"#{first.number // 10}"
    assert f"{prefix}" in first.search_text
    assert not case_queryset(alice, CaseFilters(q=prefix)).exists()


def test_a_technician_sees_the_visit_in_a_private_section(
    bob: User, bob_client: Client, private: Section
) -> None:
    visit = CaseFactory(section=private, type="service", technician=bob)
    assert bob_client.get(f"/cases/{visit.number}/").status_code == 200


def test_bulk_never_sends_you_to_another_site(maria_client: Client, support: Section) -> None:
    case = CaseFactory(section=support, state="open")
    for target in ("//evil.example/", "https://evil.example/"):
        response = maria_client.post(
            "/cases/bulk/",
            {"action": "priority", "ids": [case.pk], "priority": 1, "next": target},
        )
        assert response["Location"] == "/cases/"


def test_linking_a_private_case_does_not_name_it_on_a_public_timeline(
    maria: User, bob_client: Client, support: Section, private: Section
) -> None:
    public = CaseFactory(section=support)
    secret = CaseFactory(subject="Supplier audit findings", section=private)
    services.case_link_add(case=public, by=maria, target=secret)
    html = _html(bob_client.get(f"/cases/{public.number}/"))
    assert "a case in a members-only section" in html
    assert "Supplier audit findings" not in html
    assert secret.reference not in html


def test_a_state_change_can_carry_a_note(bob: User, bob_client: Client, support: Section) -> None:
    case = CaseFactory(section=support, state="open", by=bob)
    html = _html(
        bob_client.post(
            f"/cases/{case.number}/state/pending/", {"note": "Waiting for the serial number"}, **HX
        )
    )
    assert "Waiting for the serial number" in html
    assert TimelineEntry.objects.filter(action="pending", body="Waiting for the serial number")


def test_the_top_search_opens_a_case_by_number(
    bob_client: Client, support: Section, private: Section
) -> None:
    case = CaseFactory(section=support)
    secret = CaseFactory(section=private)
    assert bob_client.get(f"/cases/jump/?q=%23{case.number}")["Location"] == (
        f"/cases/{case.number}/"
    )
    assert bob_client.get(f"/cases/jump/?q=%23{secret.number}")["Location"].startswith(
        "/cases/?filter=all"
    )
    assert bob_client.get("/cases/jump/?q=acme")["Location"] == "/partners/?q=acme"
    assert 'action="/cases/jump/"' in _html(bob_client.get("/cases/"))


def test_the_case_form_knows_which_panels_each_type_shows(bob_client: Client) -> None:
    """The form carries each type's field groups for the script that shows panels."""
    response = bob_client.get("/cases/new/")
    groups = response.context["types"]
    assert groups[str(case_type("opportunity").pk)] == ["opportunity"]
    assert groups[str(case_type("helpdesk").pk)] == []
    html = _html(response)
    assert 'id="case-type-groups"' in html
    assert 'data-field-group="opportunity expense"' in html


def test_a_related_private_case_is_not_named_and_survives_an_edit(
    bob: User, maria: User, bob_client: Client, support: Section, private: Section
) -> None:
    secret = CaseFactory(subject="Audit of supplier X", section=private)
    public = CaseFactory(subject="Late delivery", section=support, state="open")
    services.case_update(case=public, by=maria, values={"related": secret})
    for url in (f"/cases/{public.number}/", f"/cases/{public.number}/edit/"):
        html = _html(bob_client.get(url))
        assert "Audit of supplier X" not in html
        assert secret.reference not in html
    data = {
        "subject": "Late delivery, again",
        "case_type": public.case_type_id,
        "section": support.pk,
        "priority": 3,
        "stage": public.stage_id,
    }
    assert bob_client.post(f"/cases/{public.number}/edit/", data).status_code == 302
    public.refresh_from_db()
    assert (public.subject, public.related) == ("Late delivery, again", secret)


def test_a_default_section_the_user_cannot_see_is_not_used(
    bob_client: Client, private: Section
) -> None:
    claim = case_type("claim")
    claim.default_section = private
    claim.save()
    response = bob_client.post(
        "/cases/new/", {"subject": "Broken part", "case_type": claim.pk, "priority": 3}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["section"] == ["Choose a section."]
    assert not Case.objects.exists()


def test_stages_of_hidden_sections_are_not_choices(
    bob: User, bob_client: Client, support: Section, private: Section
) -> None:
    case = CaseFactory(section=support, state="open", by=bob)
    hidden = Stage.objects.create(section=private, name="Confidential review", sequence=99)
    data = {
        "subject": case.subject,
        "case_type": case.case_type_id,
        "section": support.pk,
        "priority": 3,
        "stage": hidden.pk,
    }
    response = bob_client.post(f"/cases/{case.number}/edit/", data)
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["stage"][0]
    assert "Confidential review" not in _html(response)
