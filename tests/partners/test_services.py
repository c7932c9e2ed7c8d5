from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from goodwill.accounts.models import User
from goodwill.lib import events
from goodwill.partners import services
from goodwill.partners.models import Membership, Partner, PartnerEmail, TimelineEntry
from goodwill.partners.services import AddressInput, EmailInput, MembershipInput, PhoneInput
from tests.factories import CategoryFactory, PartnerFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured_events() -> list[events.Event]:
    seen: list[events.Event] = []
    handler = seen.append
    events.subscribe("*")(handler)
    yield seen
    events.unsubscribe("*", handler)


def test_create_normalises_emails_phones_and_fills_search_columns(bob: User) -> None:
    """Emails are lower-cased, phones become E.164 in the address's country, and the
    list columns (primary email/phone, city, country, search text) are filled."""
    partner = services.partner_create(
        by=bob,
        kind="company",
        name="  Müller   Maschinenbau GmbH ",
        emails=[EmailInput("Info@Mueller.DE"), EmailInput("sales@mueller.de", primary=True)],
        phones=[PhoneInput("030 1234567")],
        addresses=[AddressInput(kind="invoice", street="Hauptstr. 1", city="Berlin", country="de")],
    )
    assert partner.name == "Müller Maschinenbau GmbH"
    assert list(partner.emails.values_list("email", "is_primary")) == [
        ("sales@mueller.de", True),
        ("info@mueller.de", False),
    ]
    assert partner.phone == "+49301234567"
    assert partner.email == "sales@mueller.de"
    assert (partner.city, str(partner.country)) == ("Berlin", "DE")
    assert "muller maschinenbau" in partner.search_text
    assert "0301234567" in partner.search_text
    assert partner.name_key == "muller maschinenbau"


def test_create_writes_the_created_entry_and_emits_after_commit(
    bob: User, captured_events: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    """The timeline starts with "created" by the author; the event fires on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        partner = services.partner_create(by=bob, kind="person", name="Ana Luíza")
    entry = partner.timeline.get()
    assert (entry.action, entry.author, entry.kind) == ("created", bob, "system")
    assert [e.name for e in captured_events] == ["partner.created"]
    assert captured_events[0].payload == {"partner_id": partner.pk, "by_id": bob.pk}


def test_no_event_when_the_transaction_rolls_back(
    bob: User, captured_events: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    """A service whose transaction fails announces nothing."""
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.partner_create(by=bob, kind="company", name="")
    assert captured_events == []


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"name": "   "}, "name", "A partner needs a name."),
        ({"name": "x" * 201}, "name", "Keep the name to 200 characters"),
        ({"kind": "robot"}, "kind", "Choose company or person."),
        ({"website": "not a url"}, "website", "is not a web address"),
        ({"currency": "XYZ"}, "currency", "XYZ is not a currency"),
        ({"language": "tlh"}, "language", "tlh is not a language"),
        ({"state_of_mind": "1.5"}, "state_of_mind", "from 0 to 1"),
        ({"emails": [EmailInput("no-at-sign")]}, "emails", "is not a valid email address"),
        ({"phones": [PhoneInput("12")]}, "phones", "not a"),
        ({"addresses": [AddressInput(country="ZZ", city="X")]}, "addresses", "ZZ is not a country"),
        ({"addresses": [AddressInput(country="FR")]}, "addresses", "at least a street"),
    ],
)
def test_create_refuses_bad_input_with_a_message_per_field(
    bob: User, kwargs: dict, field: str, message: str
) -> None:
    """Each bad value is reported against its field, and nothing is saved."""
    data = {"kind": "company", "name": "Valid Name", **kwargs}
    with pytest.raises(ValidationError) as info:
        services.partner_create(by=bob, **data)
    assert message in " ".join(info.value.message_dict[field])
    assert not Partner.objects.exists()


def test_create_reports_all_bad_fields_at_once(bob: User) -> None:
    """Several mistakes come back together, so the form can show them all."""
    with pytest.raises(ValidationError) as info:
        services.partner_create(
            by=bob,
            kind="company",
            name="",
            emails=[EmailInput("bad")],
            phones=[PhoneInput("abc")],
        )
    assert set(info.value.message_dict) == {"name", "emails", "phones"}


def test_a_person_cannot_have_a_parent_company(bob: User) -> None:
    """Persons link to companies through memberships, not the parent field."""
    group = PartnerFactory(name="Group")
    with pytest.raises(ValidationError) as info:
        services.partner_create(by=bob, kind="person", name="Pat", parent=group)
    assert "Only a company has a parent company" in info.value.message_dict["parent"][0]


def test_parent_loops_are_refused(bob: User) -> None:
    """A company cannot become the parent of its own parent."""
    top = PartnerFactory(name="Top")
    middle = PartnerFactory(name="Middle", parent=top)
    with pytest.raises(ValidationError) as info:
        services.partner_update(partner=top, by=bob, parent=middle)
    assert "loop" in info.value.message_dict["parent"][0]


def test_update_records_field_old_and_new_with_the_author(bob: User) -> None:
    """Each changed field appears on the timeline as label, old value and new value."""
    partner = PartnerFactory(name="Initech", vat="")
    services.partner_update(
        partner=partner, by=bob, name="Initech Ltd", vat="gb 123 456 789", is_customer=True
    )
    entry = partner.timeline.filter(action="updated").get()
    assert entry.author == bob
    assert entry.changes == [
        {"label": "Name", "old": "Initech", "new": "Initech Ltd"},
        {"label": "VAT / tax id", "old": "", "new": "GB123456789"},
        {"label": "Customer", "old": "no", "new": "yes"},
    ]


def test_update_without_changes_writes_nothing(bob: User) -> None:
    """Saving a form unchanged adds no timeline entry."""
    partner = PartnerFactory(name="Same", emails=["a@same.example"])
    services.partner_update(
        partner=partner, by=bob, name="Same", emails=[EmailInput("a@same.example", primary=True)]
    )
    assert not partner.timeline.filter(action="updated").exists()


def test_update_replaces_collections_and_summarises_them(bob: User) -> None:
    """Changing the emails lists the old and new sets; the primary email follows."""
    partner = PartnerFactory(name="Mail", emails=["old@mail.example"])
    services.partner_update(partner=partner, by=bob, emails=[EmailInput("new@mail.example")])
    partner.refresh_from_db()
    assert partner.email == "new@mail.example"
    change = partner.timeline.get(action="updated").changes[0]
    assert change == {
        "label": "Emails",
        "old": "old@mail.example (primary)",
        "new": "new@mail.example (primary)",
    }
    assert "old@mail.example" not in partner.search_text


def test_update_categories_and_state_of_mind(bob: User) -> None:
    """Categories are replaced as a set, and state of mind is kept to two decimals."""
    gold, silver = CategoryFactory(name="Gold"), CategoryFactory(name="Silver")
    partner = PartnerFactory(name="Cat", categories=[silver])
    services.partner_update(partner=partner, by=bob, categories=[gold], state_of_mind="0.756")
    partner.refresh_from_db()
    assert list(partner.categories.all()) == [gold]
    assert partner.state_of_mind == Decimal("0.76")


def test_kind_cannot_change_when_links_depend_on_it(bob: User) -> None:
    """A company with contacts stays a company."""
    company = PartnerFactory(name="Has contacts")
    PersonFactory(name="Pat", companies=[MembershipInput(company=company)])
    with pytest.raises(ValidationError) as info:
        services.partner_update(partner=company, by=bob, kind="person")
    assert "must stay a company" in info.value.message_dict["kind"][0]


def test_archive_and_restore_write_the_timeline(maria: User) -> None:
    """Archiving hides, restoring shows again, both on the timeline; twice is an error."""
    partner = PartnerFactory(name="Sleepy")
    services.partner_archive(partner=partner, by=maria)
    partner.refresh_from_db()
    assert partner.active is False
    with pytest.raises(ValidationError, match="already archived"):
        services.partner_archive(partner=partner, by=maria)
    services.partner_restore(partner=partner, by=maria)
    partner.refresh_from_db()
    assert partner.active is True
    assert list(partner.timeline.values_list("action", flat=True)[:2]) == ["restored", "archived"]


def test_membership_links_person_and_company_both_ways(bob: User) -> None:
    """A person can be a contact of two companies; each side's timeline says so."""
    acme, globex = PartnerFactory(name="Acme"), PartnerFactory(name="Globex", country="")
    person = PersonFactory(
        name="Søren Kierkegaard",
        companies=[MembershipInput(company=acme, job_title="Buyer", work_email="SK@acme.example")],
    )
    services.membership_add(person=person, company=globex, by=bob, job_title="Advisor")
    assert set(person.memberships.values_list("company__name", flat=True)) == {"Acme", "Globex"}
    assert acme.members.get().work_email == "sk@acme.example"
    assert "sk@acme.example" in Partner.objects.get(pk=person.pk).search_text
    assert globex.timeline.filter(action="contact_added", body__contains="Søren").exists()
    with pytest.raises(ValidationError, match="already a contact"):
        services.membership_add(person=person, company=acme, by=bob)


def test_membership_needs_a_person_and_a_company(bob: User) -> None:
    """Two companies cannot be linked as contact and company."""
    a, b = PartnerFactory(name="A Co"), PartnerFactory(name="B Co")
    with pytest.raises(ValidationError):
        services.membership_add(person=a, company=b, by=bob)


def test_membership_update_and_remove(bob: User) -> None:
    """Editing the job shows the diff on the person's timeline; removing unlinks."""
    acme = PartnerFactory(name="Acme")
    person = PersonFactory(name="Pat", companies=[MembershipInput(company=acme)])
    membership = Membership.objects.get()
    services.membership_update(
        membership=membership,
        by=bob,
        job_title="CTO",
        department="",
        work_email="",
        work_phone="+44 20 7946 0958",
    )
    membership.refresh_from_db()
    assert membership.work_phone == "+442079460958"
    assert person.timeline.filter(action="contact_updated").exists()
    services.membership_remove(membership=membership, by=bob)
    assert not Membership.objects.exists()
    assert acme.timeline.filter(action="contact_removed").exists()


def test_merge_moves_everything_and_archives_the_duplicate(maria: User) -> None:
    """The kept partner gains the duplicate's emails, phones, addresses, categories,
    contacts, subsidiaries and history; the duplicate points to it."""
    gold = CategoryFactory(name="Gold")
    keep = PartnerFactory(name="Acme", emails=["info@acme.example"])
    drop = PartnerFactory(
        name="ACME Ltd",
        emails=["info@acme.example", "sales@acme.example"],
        phones=["+44 20 7946 0958"],
        city="London",
        country="GB",
        categories=[gold],
        is_supplier=True,
        vat="GB1",
    )
    PersonFactory(name="Contact", companies=[MembershipInput(company=drop)])
    PartnerFactory(name="Subsidiary", parent=drop)
    services.partner_note_add(partner=drop, by=maria, body="Met at the fair")

    services.partner_merge(keep=keep, drop=drop, by=maria)

    keep.refresh_from_db()
    drop.refresh_from_db()
    assert sorted(keep.emails.values_list("email", flat=True)) == [
        "info@acme.example",
        "sales@acme.example",
    ]
    assert keep.phone == "+442079460958"
    assert keep.city == "London"
    assert list(keep.categories.all()) == [gold]
    assert keep.is_supplier
    assert keep.vat == "GB1"
    assert keep.members.get().person.name == "Contact"
    assert keep.subsidiaries.get().name == "Subsidiary"
    assert keep.timeline.filter(body="Met at the fair").exists()
    assert (drop.active, drop.merged_into) == (False, keep)
    assert PartnerEmail.objects.filter(partner=drop).count() == 1  # the duplicate address stayed
    with pytest.raises(ValidationError, match="already merged"):
        services.partner_merge(keep=keep, drop=drop, by=maria)
    with pytest.raises(ValidationError, match="merged into another"):
        services.partner_restore(partner=drop, by=maria)


def test_merge_refuses_different_kinds_and_itself(maria: User) -> None:
    company, person = PartnerFactory(name="Co"), PersonFactory(name="Pe")
    with pytest.raises(ValidationError, match="same kind"):
        services.partner_merge(keep=company, drop=person, by=maria)
    with pytest.raises(ValidationError, match="two different"):
        services.partner_merge(keep=company, drop=company, by=maria)


def test_note_needs_text_and_is_internal(bob: User) -> None:
    """Notes are internal by default; empty or oversized notes are refused."""
    partner = PartnerFactory()
    entry = services.partner_note_add(partner=partner, by=bob, body="  Called, will call back. ")
    assert (entry.body, entry.visibility, entry.kind) == (
        "Called, will call back.",
        TimelineEntry.Visibility.INTERNAL,
        "note",
    )
    with pytest.raises(ValidationError):
        services.partner_note_add(partner=partner, by=bob, body="   ")
    with pytest.raises(ValidationError, match="at most"):
        services.partner_note_add(partner=partner, by=bob, body="x" * 20_001)


def test_bulk_categorise_skips_partners_that_have_it(bob: User) -> None:
    """Only partners lacking the category change, each with a timeline entry."""
    gold = CategoryFactory(name="Gold")
    has = PartnerFactory(categories=[gold])
    lacks = [PartnerFactory(), PartnerFactory()]
    count = services.partners_categorise(partners=[has, *lacks], category=gold, by=bob)
    assert count == 2
    assert all(gold in p.categories.all() for p in lacks)
    assert TimelineEntry.objects.filter(action="updated", partner__in=lacks).count() == 2
    assert not has.timeline.filter(action="updated").exists()


def test_bulk_archive_counts_only_active_ones(maria: User) -> None:
    active = [PartnerFactory(), PartnerFactory()]
    gone = PartnerFactory()
    services.partner_archive(partner=gone, by=maria)
    assert services.partners_archive(partners=[*active, gone], by=maria) == 2
    assert not Partner.objects.filter(active=True).exists()


def test_bulk_actions_have_a_ceiling(bob: User) -> None:
    gold = CategoryFactory()
    fake = [Partner(pk=i) for i in range(1, services.BULK_MAX + 2)]
    with pytest.raises(ValidationError, match="at most"):
        services.partners_categorise(partners=fake, category=gold, by=bob)


def test_category_save_refuses_loops_duplicates_and_slashes(alice: User) -> None:
    top = services.category_save(
        category=CategoryFactory.build(), by=alice, name="Top", parent=None
    )
    child = services.category_save(
        category=CategoryFactory.build(), by=alice, name="Child", parent=top
    )
    with pytest.raises(ValidationError, match="inside itself"):
        services.category_save(category=top, by=alice, name="Top", parent=child)
    with pytest.raises(ValidationError, match="already exists"):
        services.category_save(category=CategoryFactory.build(), by=alice, name="child", parent=top)
    with pytest.raises(ValidationError, match="cannot contain"):
        services.category_save(category=CategoryFactory.build(), by=alice, name="a/b", parent=None)
