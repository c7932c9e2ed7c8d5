"""The case services: every write, every state transition (legal and not), the
timeline each one writes and the events each one emits after commit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.cases import services
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
from goodwill.lib import events
from goodwill.partners.models import Partner, TimelineEntry
from goodwill.partners.services import partner_merge
from tests.factories import (
    CaseFactory,
    PartnerFactory,
    PersonFactory,
    SectionFactory,
    UserFactory,
    case_type,
)

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------
# Helpers


@pytest.fixture
def captured() -> Iterator[list[events.Event]]:
    """Every event dispatched during the test (they dispatch only on commit)."""
    seen: list[events.Event] = []
    handler = seen.append
    events.subscribe("*")(handler)
    yield seen
    events.unsubscribe("*", handler)


@pytest.fixture
def section(maria: User) -> Section:
    return SectionFactory(
        name="Support", code="SUPPORT", responsible=maria, email="support@example.com"
    )


def create(by: User | None, section: Section, **values: Any) -> Case:
    values.setdefault("subject", "Printer on fire")
    values.setdefault("case_type", case_type("helpdesk"))
    values.setdefault("section", section)
    return services.case_create(by=by, values=values)


def entries(case: Case) -> list[TimelineEntry]:
    return list(
        TimelineEntry.objects.filter(
            subject_type=ContentType.objects.get_for_model(Case), subject_id=case.pk
        ).order_by("created_at", "id")
    )


def actions(case: Case) -> list[str]:
    return [e.action for e in entries(case)]


def last_entry(case: Case) -> TimelineEntry:
    return entries(case)[-1]


def names(seen: list[events.Event]) -> list[str]:
    return [e.name for e in seen]


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def final_message(case: Case) -> str:
    return f"Case #{case.number} is closed for good (final close) and can no longer be changed."


def upload(name: str, content: bytes) -> ContentFile:
    return ContentFile(content, name=name)


# --------------------------------------------------------------------------
# case_create


def test_create_numbers_cases_increasingly_and_starts_in_draft(bob: User, section: Section) -> None:
    """Each case gets a new, higher number; it starts in draft, made by its author,
    with a search text that holds the number and the subject."""
    first = create(bob, section, subject="Première panne")
    second = create(bob, section)
    third = create(bob, section)
    assert first.number > 1000
    assert first.number < second.number < third.number
    assert (first.state, first.created_by, first.priority) == ("draft", bob, 3)
    assert first.reference == f"#{first.number}"
    assert f"#{first.number}" in first.search_text
    assert "premiere panne" in first.search_text
    assert first.opened_at is None
    assert first.closed_at is None


def test_create_takes_the_types_default_section(bob: User, section: Section) -> None:
    """Without a section, the case type's default section is used."""
    helpdesk = case_type("helpdesk")
    helpdesk.default_section = section
    helpdesk.save()
    case = services.case_create(by=bob, values={"subject": "Hello", "case_type": helpdesk})
    assert case.section == section
    assert case.stage is not None
    assert case.stage.name == "New"


def test_create_without_section_or_default_section_is_refused(bob: User) -> None:
    with pytest.raises(ValidationError) as exc:
        services.case_create(
            by=bob, values={"subject": "Hello", "case_type": case_type("lead"), "section": None}
        )
    assert exc.value.message_dict == {
        "section": ["Choose a section: the type Lead has no default section."]
    }


def test_create_without_type_or_subject_is_refused(bob: User, section: Section) -> None:
    with pytest.raises(ValidationError) as exc:
        services.case_create(by=bob, values={"subject": "Hello", "section": section})
    assert exc.value.message_dict == {"case_type": ["Choose the type of case."]}
    with pytest.raises(ValidationError) as exc:
        create(bob, section, subject="   ")
    assert exc.value.message_dict == {"subject": ["Give the case a subject."]}
    assert not Case.objects.exists()


def test_create_takes_the_sections_first_stage(bob: User) -> None:
    """The first stage is the lowest sequence, not the first one made."""
    section = SectionFactory(stages=["New", "Doing"])
    triage = Stage.objects.create(section=section, name="Triage", sequence=5)
    assert create(bob, section).stage == triage
    doing = section.stages.get(name="Doing")
    assert create(bob, section, stage=doing).stage == doing


def test_create_without_stages_leaves_the_stage_empty(bob: User) -> None:
    section = SectionFactory(stages=[])
    Stage.objects.filter(section=section).delete()
    assert create(bob, section).stage is None


def test_create_takes_the_requester_email_from_the_contact_then_the_partner(
    bob: User, section: Section
) -> None:
    company = PartnerFactory(name="Acme", emails=["Office@Acme.example"])
    person = PersonFactory(name="Ana", emails=["Ana@Acme.example"])
    assert create(bob, section, partner=company, contact=person).requester_email == (
        "ana@acme.example"
    )
    assert create(bob, section, partner=company).requester_email == "office@acme.example"
    given = create(bob, section, partner=company, requester_email=" Boss@Acme.Example ")
    assert given.requester_email == "boss@acme.example"
    assert create(bob, section).requester_email == ""


def test_create_copies_the_categorys_default_probability(bob: User, section: Section) -> None:
    """Choosing a category copies its probability, unless a probability is given."""
    hot = CaseCategory.objects.create(section=section, name="Hot", default_probability=70)
    case = create(bob, section, case_type=case_type("opportunity"), category=hot)
    assert case.probability == 70
    given = create(bob, section, case_type=case_type("opportunity"), category=hot, probability=10)
    assert given.probability == 10
    blank = create(bob, section, case_type=case_type("opportunity"), category=hot, probability=None)
    assert blank.probability == 70  # what the create form sends when the field is left empty
    plain = CaseCategory.objects.create(section=section, name="Plain")
    assert create(bob, section, category=plain).probability is None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"planned_revenue": Decimal("-1")}, "planned_revenue", "Enter an amount of zero or more."),
        ({"planned_cost": Decimal("-0.01")}, "planned_cost", "Enter an amount of zero or more."),
        ({"amount": Decimal("-5")}, "amount", "Enter an amount of zero or more."),
        ({"probability": 101}, "probability", "Ensure this value is less than or equal to 100."),
        ({"priority": 9}, "priority", "Value 9 is not a valid choice."),
    ],
)
def test_create_refuses_bad_numbers(
    bob: User, section: Section, values: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        create(bob, section, **values)
    assert exc.value.message_dict == {field: [message]}
    assert not Case.objects.exists()


def test_create_refuses_an_amount_that_is_not_a_number(bob: User, section: Section) -> None:
    """A non-numeric amount is a field error like any other, not a crash."""
    with pytest.raises(ValidationError) as exc:
        create(bob, section, amount="a lot")
    assert exc.value.message_dict == {"amount": ["“a lot” value must be a decimal number."]}


def test_create_refuses_an_invalid_requester_email(bob: User, section: Section) -> None:
    with pytest.raises(ValidationError) as exc:
        create(bob, section, requester_email="not-an-email")
    assert list(exc.value.message_dict) == ["requester_email"]
    assert exc.value.message_dict["requester_email"][0].startswith(
        "not-an-email is not a valid email address"
    )


def test_create_refuses_a_stage_or_category_of_another_section(bob: User, section: Section) -> None:
    other = SectionFactory(name="Sales")
    with pytest.raises(ValidationError) as exc:
        create(bob, section, stage=other.stages.get(name="New"))
    assert exc.value.message_dict == {
        "stage": ["The stage New belongs to another section than Support."]
    }
    leads = CaseCategory.objects.create(section=other, name="Leads")
    with pytest.raises(ValidationError) as exc:
        create(bob, section, category=leads)
    assert exc.value.message_dict == {
        "category": ["The category Leads belongs to another section than Support."]
    }


def test_create_refuses_a_company_as_contact(bob: User, section: Section) -> None:
    with pytest.raises(ValidationError) as exc:
        create(bob, section, contact=PartnerFactory(name="Acme"))
    assert exc.value.message_dict == {"contact": ["The contact must be a person, not a company."]}


def test_create_refuses_an_end_before_the_start(bob: User, section: Section) -> None:
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        create(
            bob,
            section,
            case_type=case_type("meeting"),
            scheduled_start=start,
            scheduled_end=start - timedelta(minutes=1),
        )
    assert exc.value.message_dict == {"scheduled_end": ["The end must come after the start."]}


@pytest.mark.parametrize("field", ["responsible", "technician"])
def test_create_refuses_a_user_who_is_not_active_staff(
    bob: User, charlie: User, paula: User, section: Section, field: str
) -> None:
    for outsider in (charlie, paula):
        with pytest.raises(ValidationError) as exc:
            create(bob, section, **{field: outsider})
        assert exc.value.message_dict == {field: [f"{outsider} is not an active staff user."]}
    gone = UserFactory(username="gone", roles=[Role.AGENT])
    gone.is_active = False
    gone.save()
    with pytest.raises(ValidationError) as exc:
        create(bob, section, **{field: gone})
    assert exc.value.message_dict == {field: [f"{gone} is not an active staff user."]}


def test_create_refuses_fields_that_cannot_be_set(bob: User, section: Section) -> None:
    with pytest.raises(ValidationError) as exc:
        create(bob, section, number=5, final=True)
    assert exc.value.messages == ["These fields cannot be set: final, number."]


def test_create_refuses_an_archived_section(bob: User, section: Section) -> None:
    section.active = False
    section.save()
    with pytest.raises(ValidationError) as exc:
        create(bob, section)
    assert exc.value.message_dict == {"section": ["The section Support is archived."]}


def test_create_writes_the_created_entry(bob: User, section: Section) -> None:
    partner = PartnerFactory(name="Acme")
    case = create(bob, section, partner=partner)
    [entry] = entries(case)
    assert (entry.action, entry.kind, entry.author, entry.partner) == (
        "created",
        "system",
        bob,
        partner,
    )
    assert entry.body == f"Helpdesk request #{case.number} created in Support: Printer on fire"
    assert entry.visibility == "internal"


def test_open_now_opens_and_assigns_the_creator(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_create(
            by=bob,
            values={"subject": "Now", "case_type": case_type("helpdesk"), "section": section},
            open_now=True,
        )
    case = fresh(case)
    assert (case.state, case.responsible) == ("open", bob)
    assert case.opened_at is not None
    assert actions(case) == ["created", "open"]
    assert names(captured) == ["case.created", "case.state_changed", "case.assigned"]


def test_open_now_keeps_a_given_responsible(bob: User, maria: User, section: Section) -> None:
    case = services.case_create(
        by=bob,
        values={
            "subject": "Now",
            "case_type": case_type("helpdesk"),
            "section": section,
            "responsible": maria,
        },
        open_now=True,
    )
    assert fresh(case).responsible == maria


def test_create_emits_case_created_after_commit_only(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    """Nothing is dispatched before the commit; a rolled-back creation emits nothing."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        create(bob, section)
    assert len(callbacks) == 1
    assert captured == []

    def create_then_fail() -> None:
        with transaction.atomic():
            create(bob, section)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        create_then_fail()
    assert captured == []

    with django_capture_on_commit_callbacks(execute=True):
        case = create(bob, section)
    assert [(e.name, e.payload) for e in captured] == [
        ("case.created", {"case_id": case.pk, "by_id": bob.pk})
    ]


def test_create_adds_watchers(bob: User, maria: User, section: Section) -> None:
    case = services.case_create(
        by=bob,
        values={"subject": "Cc", "case_type": case_type("helpdesk"), "section": section},
        watchers=[maria, "boss@example.com"],
    )
    assert {(w.user, w.email) for w in case.watchers.all()} == {
        (maria, ""),
        (None, "boss@example.com"),
    }


def test_create_normalises_watcher_emails_and_refuses_bad_ones(bob: User, section: Section) -> None:
    """Watcher addresses given at creation are stored like any other address."""
    case = services.case_create(
        by=bob,
        values={"subject": "Cc", "case_type": case_type("helpdesk"), "section": section},
        watchers=[" Boss@Example.COM "],
    )
    assert list(case.watchers.values_list("email", flat=True)) == ["boss@example.com"]
    with pytest.raises(ValidationError) as exc:
        services.case_create(
            by=bob,
            values={"subject": "Cc", "case_type": case_type("helpdesk"), "section": section},
            watchers=["nobody"],
        )
    assert list(exc.value.message_dict) == ["watchers"]
    assert exc.value.message_dict["watchers"][0].startswith("nobody is not a valid email address")


def test_create_refuses_a_watcher_who_is_not_staff(
    bob: User, charlie: User, section: Section
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.case_create(
            by=bob,
            values={"subject": "Cc", "case_type": case_type("helpdesk"), "section": section},
            watchers=[charlie],
        )
    assert exc.value.message_dict == {"watchers": [f"{charlie} is not an active staff user."]}
    assert not Case.objects.exists()


# --------------------------------------------------------------------------
# case_update


def test_update_records_each_change_old_to_new(
    bob: User,
    maria: User,
    section: Section,
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    case = create(bob, section, subject="Old subject")
    deadline = datetime(2031, 1, 2, 9, 30, tzinfo=timezone.get_current_timezone())
    with django_capture_on_commit_callbacks(execute=True):
        updated = services.case_update(
            case=case,
            by=bob,
            values={
                "subject": "New subject",
                "priority": 1,
                "responsible": maria,
                "deadline": deadline,
                "channel": "phone",
                "description": "Long story",
            },
        )
    assert (updated.subject, updated.priority, updated.responsible) == ("New subject", 1, maria)
    assert "new subject" in fresh(case).search_text
    entry = last_entry(case)
    assert (entry.action, entry.kind, entry.author) == ("updated", "field_change", bob)
    assert entry.changes == [
        {"label": "Subject", "old": "Old subject", "new": "New subject"},
        {"label": "Description", "old": "", "new": "(edited)"},
        {"label": "Priority", "old": "3 Normal", "new": "1 Highest"},
        {"label": "Responsible", "old": "", "new": maria.display_name},
        {"label": "Deadline", "old": "", "new": "2031-01-02 09:30"},
        {"label": "Channel", "old": "", "new": "Phone"},
    ]
    assert names(captured) == ["case.updated", "case.assigned"]
    assert captured[0].payload == {
        "case_id": case.pk,
        "by_id": bob.pk,
        "fields": ["channel", "deadline", "description", "priority", "responsible", "subject"],
        "changes": entry.changes,
    }
    assert captured[1].payload == {"case_id": case.pk, "by_id": bob.pk, "responsible_id": maria.pk}


def test_update_without_a_change_writes_nothing(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    case = create(bob, section, subject="Same", planned_revenue=Decimal("10.00"))
    before = fresh(case).updated_at
    with django_capture_on_commit_callbacks(execute=True):
        services.case_update(
            case=case,
            by=bob,
            values={
                "subject": " Same ",
                "priority": 3,
                "stage": case.stage,
                "planned_revenue": Decimal("10"),
                "responsible": None,
            },
        )
    assert actions(case) == ["created"]
    assert fresh(case).updated_at == before
    assert captured == []


def test_update_to_another_section_resets_stage_and_category(bob: User, section: Section) -> None:
    hardware = CaseCategory.objects.create(section=section, name="Hardware")
    case = create(bob, section, category=hardware, stage=section.stages.get(name="Doing"))
    sales = SectionFactory(name="Sales", stages=["Lead", "Won"])
    updated = services.case_update(case=case, by=bob, values={"section": sales})
    assert updated.section == sales
    assert updated.stage == sales.stages.get(name="Lead")
    assert updated.category is None
    assert last_entry(case).changes == [
        {"label": "Section", "old": "Support", "new": "Sales"},
        {"label": "Category", "old": "Hardware", "new": ""},
        {"label": "Stage", "old": "Doing", "new": "Lead"},
    ]


def test_update_to_another_section_keeps_a_stage_and_category_of_that_section(
    bob: User, section: Section
) -> None:
    """A form sends every field: the old section's stage is replaced, the new one's kept."""
    case = create(bob, section)
    sales = SectionFactory(name="Sales", stages=["Lead", "Won"])
    won = sales.stages.get(name="Won")
    big = CaseCategory.objects.create(section=sales, name="Big")
    updated = services.case_update(
        case=case, by=bob, values={"section": sales, "stage": won, "category": big}
    )
    assert (updated.stage, updated.category) == (won, big)
    again = services.case_update(
        case=updated, by=bob, values={"section": section, "stage": won, "category": big}
    )
    assert again.stage == section.stages.get(name="New")
    assert again.category is None


def test_update_choosing_a_category_copies_its_probability(bob: User, section: Section) -> None:
    hot = CaseCategory.objects.create(section=section, name="Hot", default_probability=80)
    case = create(bob, section, case_type=case_type("opportunity"), probability=20)
    assert services.case_update(case=case, by=bob, values={"category": hot}).probability == 80
    cold = CaseCategory.objects.create(section=section, name="Cold", default_probability=5)
    updated = services.case_update(case=case, by=bob, values={"category": cold, "probability": 50})
    assert updated.probability == 50


def test_update_partner_moves_the_case_history_to_the_new_partner(
    bob: User, section: Section
) -> None:
    acme = PartnerFactory(name="Acme")
    globex = PartnerFactory(name="Globex")
    case = create(bob, section, partner=acme)
    services.case_note_add(case=case, by=bob, body="Called them")
    case_ct = ContentType.objects.get_for_model(Case)

    services.case_update(case=case, by=bob, values={"partner": globex})

    assert {e.partner_id for e in entries(case)} == {globex.pk}
    assert not TimelineEntry.objects.filter(partner=acme, subject_type=case_ct).exists()
    assert TimelineEntry.objects.filter(partner=acme, action="created").exists()  # its own
    assert "globex" in fresh(case).search_text
    assert last_entry(case).changes == [{"label": "Partner", "old": "Acme", "new": "Globex"}]


def test_update_refuses_bad_values_and_changes_nothing(bob: User, section: Section) -> None:
    case = create(bob, section, subject="Kept")
    with pytest.raises(ValidationError) as exc:
        services.case_update(
            case=case, by=bob, values={"subject": "Changed", "contact": PartnerFactory()}
        )
    assert exc.value.message_dict == {"contact": ["The contact must be a person, not a company."]}
    assert fresh(case).subject == "Kept"
    assert actions(case) == ["created"]


def test_update_refuses_relating_a_case_to_itself(bob: User, section: Section) -> None:
    case = create(bob, section)
    with pytest.raises(ValidationError) as exc:
        services.case_update(case=case, by=bob, values={"related": case})
    assert exc.value.message_dict == {"related": ["A case cannot be related to itself."]}


def test_update_attendees(bob: User, maria: User, section: Section) -> None:
    ana = PersonFactory(name="Ana")
    case = create(bob, section, case_type=case_type("meeting"))
    services.case_update(case=case, by=bob, values={"attendees": [ana], "attendee_users": [maria]})
    assert list(case.attendees.all()) == [ana]
    assert list(case.attendee_users.all()) == [maria]
    assert last_entry(case).changes == [
        {"label": "Attendees", "old": "0 people", "new": "Ana"},
        {"label": "Staff attending", "old": "0 people", "new": maria.display_name},
    ]


def test_set_stage_of_another_section_is_refused(bob: User, section: Section) -> None:
    case = create(bob, section)
    other = SectionFactory(name="Sales")
    with pytest.raises(ValidationError) as exc:
        services.case_set_stage(case=case, by=bob, stage=other.stages.first())
    assert exc.value.message_dict == {
        "stage": [f"The stage New belongs to another section than case #{case.number}."]
    }
    doing = section.stages.get(name="Doing")
    assert services.case_set_stage(case=case, by=bob, stage=doing).stage == doing


def test_assign_and_set_priority(bob: User, maria: User, section: Section) -> None:
    case = create(bob, section)
    assert services.case_assign(case=case, by=bob, responsible=maria).responsible == maria
    assert services.case_set_priority(case=case, by=bob, priority=5).priority == 5
    assert services.case_assign(case=case, by=bob, responsible=None).responsible is None
    assert [e.changes for e in entries(case)[1:]] == [
        [{"label": "Responsible", "old": "", "new": maria.display_name}],
        [{"label": "Priority", "old": "3 Normal", "new": "5 Lowest"}],
        [{"label": "Responsible", "old": maria.display_name, "new": ""}],
    ]


def test_reschedule_keeps_the_duration(bob: User, section: Section) -> None:
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    case = create(
        bob,
        section,
        case_type=case_type("meeting"),
        scheduled_start=start,
        scheduled_end=start + timedelta(minutes=45),
    )
    moved = services.case_reschedule(case=case, by=bob, start=start + timedelta(days=2))
    assert moved.scheduled_start == start + timedelta(days=2)
    assert moved.scheduled_end == start + timedelta(days=2, minutes=45)
    unscheduled = create(bob, section, case_type=case_type("call"))
    moved = services.case_reschedule(case=unscheduled, by=bob, start=start)
    assert moved.scheduled_end == start + timedelta(hours=1)


def test_reschedule_a_case_without_schedule_is_refused(bob: User, section: Section) -> None:
    case = create(bob, section)
    with pytest.raises(ValidationError) as exc:
        services.case_reschedule(case=case, by=bob, start=timezone.now())
    assert exc.value.messages == ["A Helpdesk request has no schedule to move."]


# --------------------------------------------------------------------------
# States


def test_open_a_draft_assigns_whoever_opens_it(
    bob: User,
    maria: User,
    section: Section,
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    case = create(bob, section)
    with django_capture_on_commit_callbacks(execute=True):
        opened = services.case_open(case=case, by=maria)
    assert (opened.state, opened.responsible) == ("open", maria)
    assert opened.opened_at is not None
    assert opened.closed_at is None
    entry = last_entry(case)
    assert (entry.action, entry.kind, entry.author) == ("open", "state_change", maria)
    assert entry.changes == [
        {"label": "State", "old": "Draft", "new": "Open"},
        {"label": "Responsible", "old": "", "new": maria.display_name},
    ]
    assert [(e.name, e.payload) for e in captured] == [
        (
            "case.state_changed",
            {
                "case_id": case.pk,
                "by_id": maria.pk,
                "action": "open",
                "old": "draft",
                "new": "open",
            },
        ),
        ("case.assigned", {"case_id": case.pk, "by_id": maria.pk, "responsible_id": maria.pk}),
    ]


def test_open_keeps_the_responsible(bob: User, maria: User, section: Section) -> None:
    case = create(bob, section, responsible=bob)
    assert services.case_open(case=case, by=maria).responsible == bob


def test_open_by_the_system_assigns_nobody(bob: User, section: Section) -> None:
    case = create(None, section)
    opened = services.case_open(case=case, by=None)
    assert (opened.state, opened.responsible) == ("open", None)


def test_open_pending_open_keeps_the_first_opening_date(bob: User, section: Section) -> None:
    case = services.case_open(case=create(bob, section), by=bob)
    opened_at = case.opened_at
    pending = services.case_pending(case=case, by=bob, note="Waiting for the customer")
    assert pending.state == "pending"
    assert last_entry(case).body == "Waiting for the customer"
    reopened = services.case_open(case=case, by=bob)
    assert (reopened.state, reopened.opened_at) == ("open", opened_at)
    assert actions(case) == ["created", "open", "pending", "open"]


def test_close_stamps_closed_at_and_reopen_clears_it(bob: User, section: Section) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    closed = services.case_close(case=case, by=bob, note="Fixed")
    assert closed.state == "done"
    assert closed.closed_at is not None
    assert closed.final is False
    assert last_entry(case).changes == [{"label": "State", "old": "Open", "new": "Done"}]
    reopened = services.case_open(case=case, by=bob)
    assert (reopened.state, reopened.closed_at) == ("open", None)


def test_cancel_stamps_closed_at_and_reset_clears_it(bob: User, section: Section) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    cancelled = services.case_cancel(case=case, by=bob, note="Duplicate")
    assert cancelled.state == "cancel"
    assert cancelled.closed_at is not None
    reset = services.case_reset(case=case, by=bob)
    assert (reset.state, reset.closed_at) == ("draft", None)
    assert last_entry(case).changes == [{"label": "State", "old": "Cancelled", "new": "Draft"}]


def test_state_change_event_carries_old_new_and_action(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_set_state(case=case, by=bob, action="pending")
        services.case_set_state(case=case, by=bob, action="close")
    assert [(e.payload["action"], e.payload["old"], e.payload["new"]) for e in captured] == [
        ("pending", "open", "pending"),
        ("close", "pending", "done"),
    ]
    assert names(captured) == ["case.state_changed", "case.state_changed"]


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        ("done", "pending", "is done; it cannot be set pending from there."),
        ("cancel", "pending", "is cancelled; it cannot be set pending from there."),
        ("pending", "pending", "is pending; it cannot be set pending from there."),
        ("cancel", "close", "is cancelled; it cannot be closed from there."),
        ("done", "close", "is done; it cannot be closed from there."),
        ("done", "cancel", "is done; it cannot be cancelled from there."),
        ("cancel", "cancel", "is cancelled; it cannot be cancelled from there."),
        ("draft", "reset", "is draft; it cannot be reset to draft from there."),
        ("open", "open", "is open; it cannot be opened from there."),
    ],
)
def test_illegal_transitions_are_refused(
    bob: User, section: Section, state: str, action: str, message: str
) -> None:
    case = CaseFactory(section=section, state=state, by=bob)
    count = len(entries(case))
    with pytest.raises(ValidationError) as exc:
        services.case_set_state(case=case, by=bob, action=action)
    assert exc.value.messages == [f"Case #{case.number} {message}"]
    assert fresh(case).state == state
    assert len(entries(case)) == count


def test_unknown_state_action_is_refused(bob: User, section: Section) -> None:
    case = create(bob, section)
    with pytest.raises(ValidationError) as exc:
        services.case_set_state(case=case, by=bob, action="fly")
    assert exc.value.messages == ["Unknown state action 'fly'."]


@pytest.mark.parametrize(
    ("state", "buttons"),
    [
        ("draft", ["open", "pending", "close", "cancel"]),
        ("open", ["pending", "close", "cancel", "reset"]),
        ("pending", ["open", "close", "cancel", "reset"]),
        ("done", ["open", "reset"]),
        ("cancel", ["open", "reset"]),
    ],
)
def test_state_actions_list_what_applies(
    bob: User, section: Section, state: str, buttons: list[str]
) -> None:
    case = CaseFactory(section=section, state=state, by=bob)
    assert services.case_state_actions(case) == buttons
    for action in buttons:  # each listed button really works
        sid = transaction.savepoint()
        services.case_set_state(case=case, by=bob, action=action)
        transaction.savepoint_rollback(sid)


@pytest.mark.parametrize("code", ["claim", "expense"])
def test_final_close_makes_the_case_read_only(
    bob: User, maria: User, section: Section, code: str
) -> None:
    """Closing a claim or an expense claim is final: no state action remains, and
    every write service refuses with the same message."""
    other = CaseFactory(section=section, state="open", by=bob)
    case = CaseFactory(
        section=section, type=code, state="open", by=bob, requester_email="c@example.com"
    )
    note = services.case_note_add(case=case, by=bob, body="Before the end")
    watcher = services.watcher_add(case=case, by=bob, email="w@example.com")
    link = services.case_link_add(case=case, by=bob, target=other)
    closed = services.case_close(case=case, by=bob)
    assert (closed.state, closed.final) == ("done", True)
    assert services.case_state_actions(closed) == []
    case = fresh(case)
    count = len(entries(case))
    png = upload("a.png", b"png")
    attempts: list[Callable[[], object]] = [
        lambda: services.case_update(case=case, by=bob, values={"subject": "Changed"}),
        lambda: services.case_assign(case=case, by=bob, responsible=maria),
        lambda: services.case_set_priority(case=case, by=bob, priority=1),
        lambda: services.case_set_stage(case=case, by=bob, stage=section.stages.last()),
        lambda: services.case_open(case=case, by=bob),
        lambda: services.case_reset(case=case, by=bob),
        lambda: services.case_cancel(case=case, by=bob),
        lambda: services.case_escalate(case=case, by=bob),
        lambda: services.case_merge(keep=case, drop=other, by=bob),
        lambda: services.case_merge(keep=other, drop=case, by=bob),
        lambda: services.case_split(entry=note, by=bob),
        lambda: services.watcher_add(case=case, by=bob, email="x@example.com"),
        lambda: services.watcher_remove(watcher=watcher, by=bob),
        lambda: services.case_note_add(case=case, by=bob, body="After"),
        lambda: services.case_reply(case=case, by=bob, body="After"),
        lambda: services.case_attach(case=case, by=bob, files=[png]),
        lambda: services.case_link_add(case=case, by=bob, target=PartnerFactory()),
        lambda: services.case_link_remove(link=link, by=bob),
        lambda: services.case_expense_submit(case=case, by=bob),
        lambda: services.case_expense_decide(case=case, by=maria, approve=True),
    ]
    for number, attempt in enumerate(attempts):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert (number, exc.value.messages) == (number, [final_message(case)])
    assert len(entries(case)) == count
    assert fresh(case).subject == case.subject
    assert Watcher.objects.filter(pk=watcher.pk).exists()
    assert CaseLink.objects.filter(pk=link.pk).exists()


def test_bulk_reports_final_closed_cases(bob: User, maria: User, section: Section) -> None:
    closed = CaseFactory(section=section, type="claim", state="done", by=bob)
    open_case = CaseFactory(section=section, state="open", by=bob)
    result = services.cases_assign(cases=[closed, open_case], by=bob, responsible=maria)
    assert result.done == 1
    assert result.errors == [f"#{closed.number}: {final_message(closed)}"]


def test_done_is_not_final_for_other_types(bob: User, section: Section) -> None:
    case = CaseFactory(section=section, type="helpdesk", state="done", by=bob)
    assert case.final is False
    assert services.case_update(case=case, by=bob, values={"subject": "Late edit"}).subject == (
        "Late edit"
    )


# --------------------------------------------------------------------------
# case_escalate


@pytest.fixture
def chain(maria: User) -> tuple[Section, Section]:
    top = SectionFactory(name="Management", responsible=maria, stages=["Inbox", "Review"])
    level2 = SectionFactory(name="Level 2", parent=top, stages=["Queue", "Work"])
    return level2, top


def test_escalate_moves_the_case_up_to_the_parent_and_its_responsible(
    bob: User,
    maria: User,
    chain: tuple[Section, Section],
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    level2, top = chain
    category = CaseCategory.objects.create(section=level2, name="Network")
    case = CaseFactory(
        section=level2, state="open", by=bob, category=category, stage=level2.stages.last()
    )
    with django_capture_on_commit_callbacks(execute=True):
        escalated = services.case_escalate(case=case, by=bob, note="Too hard for us")
    assert escalated.section == top
    assert escalated.responsible == maria
    assert escalated.stage == top.stages.get(name="Inbox")
    assert escalated.category is None
    assert escalated.state == "open"
    stored = fresh(case)
    assert (stored.section, stored.responsible, stored.stage) == (top, maria, escalated.stage)
    entry = last_entry(case)
    assert (entry.action, entry.kind, entry.body) == (
        "escalated",
        "state_change",
        "Too hard for us",
    )
    assert entry.changes == [
        {"label": "Section", "old": "Level 2", "new": "Management"},
        {"label": "Responsible", "old": bob.display_name, "new": maria.display_name},
    ]
    assert names(captured) == ["case.escalated", "case.state_changed", "case.assigned"]
    assert captured[0].payload["to_section_id"] == top.pk
    assert captured[1].payload["action"] == "escalated"


def test_escalate_to_a_parent_without_responsible_keeps_the_responsible(bob: User) -> None:
    top = SectionFactory(name="Top")
    level2 = SectionFactory(name="Below", parent=top)
    case = CaseFactory(section=level2, state="open", by=bob)
    escalated = services.case_escalate(case=case, by=bob)
    assert (escalated.section, escalated.responsible) == (top, bob)
    assert last_entry(case).changes == [{"label": "Section", "old": "Below", "new": "Top"}]


def test_escalate_at_the_top_of_the_chain_is_refused(
    bob: User, chain: tuple[Section, Section]
) -> None:
    _, top = chain
    case = CaseFactory(section=top, state="open", by=bob)
    with pytest.raises(ValidationError) as exc:
        services.case_escalate(case=case, by=bob)
    assert exc.value.messages == [
        "Management is at the top of the escalation chain: it has no parent section."
    ]


def test_escalate_a_closed_case_is_refused(bob: User, chain: tuple[Section, Section]) -> None:
    level2, _ = chain
    for state in ("done", "cancel"):
        case = CaseFactory(section=level2, state=state, by=bob)
        with pytest.raises(ValidationError) as exc:
            services.case_escalate(case=case, by=bob)
        assert exc.value.messages == [
            f"Case #{case.number} is closed; reopen it before escalating."
        ]


def test_escalate_to_an_archived_parent_is_refused(
    bob: User, chain: tuple[Section, Section]
) -> None:
    level2, top = chain
    top.active = False
    top.save()
    case = CaseFactory(section=level2, state="open", by=bob)
    with pytest.raises(ValidationError) as exc:
        services.case_escalate(case=case, by=bob)
    assert exc.value.messages == ["Level 2 escalates to Management, which is archived."]
    assert fresh(case).section == level2


# --------------------------------------------------------------------------
# Merge and split


def test_merge_moves_everything_and_cancels_the_dropped_case(
    bob: User,
    maria: User,
    alice: User,
    section: Section,
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    acme = PartnerFactory(name="Acme")
    umbrella = PartnerFactory(name="Umbrella")
    shared = PartnerFactory(name="Shared")
    keep = CaseFactory(
        section=section, state="open", by=bob, partner=acme, requester_email="k@example.com"
    )
    drop = CaseFactory(
        section=section, state="open", by=maria, requester_email="d@example.com", subject="Dup"
    )
    services.watcher_add(case=keep, by=bob, user=alice)
    services.watcher_add(case=keep, by=bob, email="cc@example.com")
    services.watcher_add(case=drop, by=bob, user=alice)
    services.watcher_add(case=drop, by=bob, email="cc@example.com")
    services.watcher_add(case=drop, by=bob, email="x@example.com")
    services.case_link_add(case=keep, by=bob, target=shared)
    services.case_link_add(case=drop, by=bob, target=shared)
    services.case_link_add(case=drop, by=bob, target=umbrella)
    services.case_link_add(case=drop, by=bob, target=keep)
    services.case_note_add(case=keep, by=bob, body="Keep's note")
    note = services.case_note_add(
        case=drop, by=maria, body="Drop's note", files=[upload("log.txt", b"log")]
    )
    message = services.case_reply(case=drop, by=maria, body="Drop's reply")
    drop_entries = {e.pk for e in entries(drop)}

    with django_capture_on_commit_callbacks(execute=True):
        kept = services.case_merge(keep=keep, drop=drop, by=bob)

    assert kept.pk == keep.pk
    assert drop_entries <= {e.pk for e in entries(keep)}
    assert {e.partner_id for e in entries(keep)} == {acme.pk}
    assert actions(drop) == ["merged"]
    assert set(keep.watchers.exclude(user=None).values_list("user__username", flat=True)) == {
        "alice",
        "maria",  # the dropped case's responsible keeps following it
    }
    assert sorted(keep.watchers.exclude(email="").values_list("email", flat=True)) == [
        "cc@example.com",
        "d@example.com",  # the dropped case's requester
        "x@example.com",
    ]
    case_ct = ContentType.objects.get_for_model(Case)
    partner_ct = ContentType.objects.get_for_model(Partner)
    assert sorted(keep.links.values_list("target_type_id", "target_id")) == sorted(
        [(partner_ct.pk, shared.pk), (partner_ct.pk, umbrella.pk), (case_ct.pk, drop.pk)]
    )
    assert Attachment.objects.get(entry=note).case_id == keep.pk
    assert OutboundMessage.objects.get(pk=message.pk).case_id == keep.pk
    kept = fresh(keep)
    dropped = fresh(drop)
    assert kept.message_count == 3
    assert (dropped.state, dropped.merged_into, dropped.message_count) == ("cancel", kept, 0)
    assert dropped.closed_at is not None
    assert last_entry(keep).body == (
        f"#{drop.number} (Dup) was merged into this case; {len(drop_entries)} timeline entries "
        "moved over."
    )
    assert last_entry(drop).body == f"Merged into #{keep.number}."
    assert last_entry(drop).changes == [{"label": "State", "old": "Open", "new": "Cancelled"}]
    assert names(captured) == ["case.merged", "case.state_changed"]
    assert captured[1].payload == {
        "case_id": drop.pk,
        "action": "merged",
        "old": "open",
        "new": "cancel",
        "by_id": bob.pk,
    }


def test_merge_into_itself_is_refused(bob: User, section: Section) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    with pytest.raises(ValidationError) as exc:
        services.case_merge(keep=case, drop=case, by=bob)
    assert exc.value.messages == ["Pick two different cases to merge."]


def test_merged_case_is_read_only(bob: User, section: Section) -> None:
    keep = CaseFactory(section=section, state="open", by=bob)
    drop = CaseFactory(section=section, state="open", by=bob)
    services.case_merge(keep=keep, drop=drop, by=bob)
    message = f"Case #{drop.number} was merged into #{keep.number}; work on that case instead."
    drop = fresh(drop)
    assert services.case_state_actions(drop) == []
    for attempt in (
        lambda: services.case_note_add(case=drop, by=bob, body="Hi"),
        lambda: services.case_open(case=drop, by=bob),
        lambda: services.case_update(case=drop, by=bob, values={"subject": "x"}),
        lambda: services.case_merge(keep=keep, drop=drop, by=bob),
        lambda: services.watcher_add(case=drop, by=bob, email="a@example.com"),
    ):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert exc.value.messages == [message]


def test_merge_of_a_cancelled_case_emits_no_state_change(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    keep = CaseFactory(section=section, state="open", by=bob)
    drop = CaseFactory(section=section, state="cancel", by=bob)
    closed_at = drop.closed_at
    with django_capture_on_commit_callbacks(execute=True):
        services.case_merge(keep=keep, drop=drop, by=bob)
    assert names(captured) == ["case.merged"]
    assert fresh(drop).closed_at == closed_at


def test_cases_merge_keeps_the_oldest_by_default(bob: User, section: Section) -> None:
    first, second, third = (CaseFactory(section=section, state="open", by=bob) for _ in range(3))
    for case in (first, second, third):
        services.case_note_add(case=case, by=bob, body="note")
    kept = services.cases_merge(cases=[third, first, second], by=bob)
    assert kept.pk == first.pk
    assert fresh(first).message_count == 3
    assert {fresh(c).merged_into_id for c in (second, third)} == {first.pk}
    chosen = CaseFactory(section=section, state="open", by=bob)
    other = CaseFactory(section=section, state="open", by=bob)
    assert services.cases_merge(cases=[chosen, other], by=bob, keep=other).pk == other.pk


def test_cases_merge_needs_two_to_500_cases(bob: User, section: Section) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    with pytest.raises(ValidationError) as exc:
        services.cases_merge(cases=[case], by=bob)
    assert exc.value.messages == ["Select at least two cases to merge."]
    others = [Case(pk=100_000 + i, number=100_000 + i) for i in range(500)]
    with pytest.raises(ValidationError) as exc:
        services.cases_merge(cases=[case, *others], by=bob)
    assert exc.value.messages == ["Select at most 500 cases at a time."]


def test_split_moves_the_entry_and_its_files_to_a_new_related_case(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    acme = PartnerFactory(name="Acme")
    original = CaseFactory(
        section=section,
        state="open",
        by=bob,
        partner=acme,
        requester_email="r@example.com",
        priority=2,
        channel="email",
    )
    services.case_note_add(case=original, by=bob, body="Stays here")
    note = services.case_note_add(
        case=original,
        by=bob,
        body="\nAlso the scanner is broken\nDetails follow.",
        files=[upload("scan.pdf", b"%PDF")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        new = services.case_split(entry=note, by=bob)
    assert new.subject == "Also the scanner is broken"
    assert (new.related, new.section, new.partner) == (original, section, acme)
    assert (new.requester_email, new.priority, new.channel) == ("r@example.com", 2, "email")
    assert (new.state, new.case_type) == ("draft", original.case_type)
    assert TimelineEntry.objects.get(pk=note.pk).subject_id == new.pk
    assert Attachment.objects.get(entry=note).case_id == new.pk
    assert (fresh(original).message_count, new.message_count) == (1, 1)
    assert actions(original)[-1] == "split"
    assert last_entry(original).body == (
        f"An entry was split off into #{new.number}: Also the scanner is broken"
    )
    assert actions(new) == ["note", "created", "split"]  # the note is older than the case
    assert last_entry(new).body == f"Split off from #{original.number}: {original.subject}"
    assert names(captured) == ["case.created", "case.split"]


def test_split_a_reply_takes_its_outbound_message(bob: User, section: Section) -> None:
    original = CaseFactory(section=section, state="open", by=bob, requester_email="r@example.com")
    message = services.case_reply(case=original, by=bob, body="Answer")
    other = SectionFactory(name="Other")
    new = services.case_split(entry=message.entry, by=bob, subject="Own case", section=other)
    assert (new.subject, new.section) == ("Own case", other)
    assert OutboundMessage.objects.get(pk=message.pk).case_id == new.pk


def test_split_only_notes_and_messages(bob: User, section: Section) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    created = entries(case)[0]
    with pytest.raises(ValidationError) as exc:
        services.case_split(entry=created, by=bob)
    assert exc.value.messages == ["Only notes and messages can be split off into a new case."]
    partner = PartnerFactory()
    partner_entry = TimelineEntry.objects.get(
        subject_type=ContentType.objects.get_for_model(Partner), subject_id=partner.pk
    )
    with pytest.raises(ValidationError) as exc:
        services.case_split(entry=partner_entry, by=bob)
    assert exc.value.messages == ["Only entries of a case can be split off into a new case."]
    assert Case.objects.count() == 1


# --------------------------------------------------------------------------
# Watchers


def test_watcher_add_a_user_or_an_email(
    bob: User,
    maria: User,
    section: Section,
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    case = create(bob, section)
    with django_capture_on_commit_callbacks(execute=True):
        by_user = services.watcher_add(case=case, by=bob, user=maria)
        by_email = services.watcher_add(case=case, by=bob, email=" Boss@Example.com ")
    assert (by_user.user, by_user.email) == (maria, "")
    assert (by_email.user, by_email.email) == (None, "boss@example.com")
    assert [e.changes for e in entries(case)[1:]] == [
        [{"label": "Watchers", "old": "", "new": f"+ {maria.display_name}"}],
        [{"label": "Watchers", "old": "", "new": "+ boss@example.com"}],
    ]
    assert names(captured) == ["case.watcher_added", "case.watcher_added"]


def test_watcher_add_refuses_duplicates(bob: User, maria: User, section: Section) -> None:
    case = create(bob, section)
    services.watcher_add(case=case, by=bob, user=maria)
    services.watcher_add(case=case, by=bob, email="boss@example.com")
    with pytest.raises(ValidationError) as exc:
        services.watcher_add(case=case, by=bob, user=maria)
    assert exc.value.messages == [f"{maria.display_name} already watches #{case.number}."]
    with pytest.raises(ValidationError) as exc:
        services.watcher_add(case=case, by=bob, email="BOSS@example.com")
    assert exc.value.messages == [f"boss@example.com already watches #{case.number}."]
    assert case.watchers.count() == 2


def test_watcher_add_refuses_bad_input(
    bob: User, maria: User, charlie: User, section: Section
) -> None:
    case = create(bob, section)
    either = "Give either a user or an email address to add as a watcher."
    with pytest.raises(ValidationError) as exc:
        services.watcher_add(case=case, by=bob)
    assert exc.value.messages == [either]
    with pytest.raises(ValidationError) as exc:
        services.watcher_add(case=case, by=bob, email="   ")
    assert exc.value.messages == [either]
    with pytest.raises(ValidationError) as exc:
        services.watcher_add(case=case, by=bob, user=maria, email="a@example.com")
    assert exc.value.messages == [either]
    with pytest.raises(ValidationError) as exc:
        services.watcher_add(case=case, by=bob, email="nobody@")
    assert list(exc.value.message_dict) == ["email"]
    assert exc.value.message_dict["email"][0].startswith("nobody@ is not a valid email address")
    with pytest.raises(ValidationError) as exc:
        services.watcher_add(case=case, by=bob, user=charlie)
    assert exc.value.message_dict == {"user": [f"{charlie} is not an active staff user."]}
    assert not case.watchers.exists()


def test_watcher_remove(bob: User, maria: User, section: Section) -> None:
    case = create(bob, section)
    watcher = services.watcher_add(case=case, by=bob, user=maria)
    services.watcher_remove(watcher=watcher, by=bob)
    assert not case.watchers.exists()
    assert last_entry(case).changes == [
        {"label": "Watchers", "old": maria.display_name, "new": "(removed)"}
    ]


# --------------------------------------------------------------------------
# Notes, replies and attachments


def test_note_is_internal_and_counts_as_a_message(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    case = create(bob, section)
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.case_note_add(case=case, by=bob, body="  Checked the logs  ")
    assert (entry.kind, entry.visibility, entry.body, entry.author) == (
        "note",
        "internal",
        "Checked the logs",
        bob,
    )
    assert fresh(case).message_count == 1
    # Nothing goes to the customer; at most the other staff hear of it.
    assert not OutboundMessage.objects.exclude(kind=OutboundMessage.Kind.NOTIFY).exists()
    for message in OutboundMessage.objects.all():
        assert case.requester_email not in message.to + message.cc
    assert [(e.name, e.payload) for e in captured if e.name != "message.queued"] == [
        ("case.note_added", {"case_id": case.pk, "entry_id": entry.pk, "by_id": bob.pk})
    ]


def test_messages_are_counted_on_the_stored_case(bob: User, section: Section) -> None:
    """Notes and replies add to the stored count, even through a stale copy of the case."""
    case = create(bob, section, requester_email="ana@example.com")
    services.case_reply(case=case, by=bob, body="One")
    services.case_note_add(case=case, by=bob, body="Two")
    services.case_reply(case=case, by=bob, body="Three")
    services.case_note_add(case=case, by=bob, body="Four")
    assert fresh(case).message_count == 4


def test_note_must_say_something_and_not_too_much(bob: User, section: Section) -> None:
    case = create(bob, section)
    with pytest.raises(ValidationError) as exc:
        services.case_note_add(case=case, by=bob, body=" \x00 ")
    assert exc.value.message_dict == {"body": ["Write something before adding the note."]}
    with pytest.raises(ValidationError) as exc:
        services.case_note_add(case=case, by=bob, body="x" * 100_001)
    assert exc.value.message_dict == {
        "body": ["A note can be at most 100,000 characters; this one has 100,001."]
    }
    assert actions(case) == ["created"]


def test_note_files_are_stored_through_the_storage_api(bob: User, section: Section) -> None:
    case = create(bob, section)
    entry = services.case_note_add(
        case=case, by=bob, body="See attached", files=[upload("dir/report.txt", b"hello")]
    )
    [attachment] = Attachment.objects.filter(case=case)
    assert attachment.entry == entry
    assert (attachment.name, attachment.size, attachment.content_type) == (
        "report.txt",
        5,
        "text/plain",
    )
    assert attachment.uploaded_by == bob
    assert attachment.file.name.startswith(f"cases/{case.number}/")
    assert default_storage.exists(attachment.file.name)
    with default_storage.open(attachment.file.name) as stored:
        assert stored.read() == b"hello"


@pytest.fixture
def from_email(settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Goodwill <noreply@goodwill.example>"


def test_reply_queues_an_outbound_message(
    bob: User,
    section: Section,
    from_email: None,
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    case = create(bob, section, subject="Invoice missing", requester_email="ana@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        message = services.case_reply(case=case, by=bob, body="Here it is.")
    entry = last_entry(case)
    assert (entry.kind, entry.visibility, entry.action, entry.body) == (
        "email_out",
        "public",
        "reply",
        "Here it is.",
    )
    assert message.entry == entry
    assert message.status == "queued"
    assert message.to == ["ana@example.com"]
    assert message.cc == []
    assert message.subject == f"[#{case.number}] Invoice missing"
    assert re.fullmatch(
        rf"<gw\.c{case.number}\.[0-9a-f]{{16}}@goodwill\.example>", message.message_id
    )
    assert (message.in_reply_to, message.references) == ("", "")
    assert message.from_email == "Support <support@example.com>"
    assert message.reply_to == f"support+c{case.number}@example.com"
    assert (message.body_text, message.created_by) == ("Here it is.", bob)
    assert fresh(case).message_count == 1
    assert [(e.name, e.payload) for e in captured] == [
        (
            "message.queued",
            {"case_id": case.pk, "message_id": message.pk, "entry_id": entry.pk, "by_id": bob.pk},
        )
    ]


def test_reply_threads_on_earlier_messages(bob: User, section: Section, from_email: None) -> None:
    case = create(bob, section, requester_email="ana@example.com")
    first = services.case_reply(case=case, by=bob, body="One")
    second = services.case_reply(case=case, by=bob, body="Two")
    third = services.case_reply(case=case, by=bob, body="Three")
    assert second.in_reply_to == first.message_id
    assert second.references == first.message_id
    assert third.in_reply_to == second.message_id
    assert third.references == f"{first.message_id} {second.message_id}"
    assert len({first.message_id, second.message_id, third.message_id}) == 3


def test_reply_in_a_long_thread_answers_the_latest_message(
    bob: User, section: Section, from_email: None
) -> None:
    """In-Reply-To is the newest earlier message, even past the references limit."""
    case = create(bob, section, requester_email="ana@example.com")
    sent = [services.case_reply(case=case, by=bob, body=f"Reply {n}") for n in range(22)]
    latest = services.case_reply(case=case, by=bob, body="Latest")
    assert latest.in_reply_to == sent[-1].message_id
    references = latest.references.split()
    assert references[-1] == sent[-1].message_id
    assert len(references) <= 20


def test_reply_copies_email_watchers(bob: User, maria: User, section: Section) -> None:
    case = create(bob, section, requester_email="ana@example.com")
    services.watcher_add(case=case, by=bob, user=maria)
    services.watcher_add(case=case, by=bob, email="boss@example.com")
    services.watcher_add(case=case, by=bob, email="ana@example.com")
    message = services.case_reply(case=case, by=bob, body="Hello")
    assert message.cc == ["boss@example.com"]
    explicit = services.case_reply(
        case=case, by=bob, body="Hello", to=["Other <Other@Example.com>"], cc=["c@example.com"]
    )
    assert (explicit.to, explicit.cc) == (["other@example.com"], ["c@example.com"])


def test_reply_keeps_an_existing_subject_tag(bob: User, section: Section) -> None:
    case = create(bob, section, requester_email="ana@example.com")
    services.case_update(case=case, by=bob, values={"subject": f"Re: [#{case.number}] Invoice"})
    message = services.case_reply(case=case, by=bob, body="Hello")
    assert message.subject == f"Re: [#{case.number}] Invoice"


def test_reply_without_section_address_uses_the_default_sender(bob: User, from_email: None) -> None:
    section = SectionFactory(name="No mail")
    case = create(bob, section, requester_email="ana@example.com")
    message = services.case_reply(case=case, by=bob, body="Hello")
    assert (message.from_email, message.reply_to) == ("Goodwill <noreply@goodwill.example>", "")


def test_reply_without_requester_email_is_refused(bob: User, section: Section) -> None:
    case = create(bob, section)
    with pytest.raises(ValidationError) as exc:
        services.case_reply(case=case, by=bob, body="Hello")
    assert exc.value.message_dict == {
        "to": ["This case has no requester email; add one (or a contact) before replying."]
    }
    with pytest.raises(ValidationError) as exc:
        services.case_reply(case=case, by=bob, body="Hello", to=["bad@"])
    assert list(exc.value.message_dict) == ["to"]
    assert not OutboundMessage.objects.exists()
    assert actions(case) == ["created"]


def test_reply_with_a_file_too_large_is_refused(bob: User, section: Section, settings: Any) -> None:
    settings.CASE_ATTACHMENT_MAX_MB = 1
    case = create(bob, section, requester_email="ana@example.com")
    big = upload("big.bin", b"x" * (3 * 1024 * 1024 // 2))
    with pytest.raises(ValidationError) as exc:
        services.case_reply(case=case, by=bob, body="Hello", files=[big])
    assert exc.value.message_dict == {"files": ["big.bin is 1.5 MB; files can be at most 1 MB."]}
    assert not OutboundMessage.objects.exists()
    assert not Attachment.objects.exists()
    exact = upload("exact.bin", b"x" * (1024 * 1024))
    message = services.case_reply(case=case, by=bob, body="Hello", files=[exact])
    assert Attachment.objects.get().entry == message.entry


def test_attach_stores_files_with_an_entry(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    case = create(bob, section)
    with django_capture_on_commit_callbacks(execute=True):
        stored = services.case_attach(
            case=case, by=bob, files=[upload("a.txt", b"a"), upload("b.csv", b"b,c")]
        )
    assert [a.name for a in stored] == ["a.txt", "b.csv"]
    entry = last_entry(case)
    assert (entry.action, entry.body) == ("attached", "Attached a.txt, b.csv")
    assert {a.entry_id for a in stored} == {entry.pk}
    assert fresh(case).message_count == 0
    assert [(e.name, e.payload["attachment_ids"]) for e in captured] == [
        ("case.attached", [a.pk for a in stored])
    ]
    services.case_attach(case=case, by=bob, files=[upload("c.txt", b"c")], note="The contract")
    assert last_entry(case).body == "The contract"


def test_attach_refuses_no_files_and_files_too_large(
    bob: User, section: Section, settings: Any
) -> None:
    settings.CASE_ATTACHMENT_MAX_MB = 2
    case = create(bob, section)
    with pytest.raises(ValidationError) as exc:
        services.case_attach(case=case, by=bob, files=[])
    assert exc.value.message_dict == {"files": ["Choose at least one file."]}
    with pytest.raises(ValidationError) as exc:
        services.case_attach(
            case=case,
            by=bob,
            files=[upload("ok.txt", b"ok"), upload("huge.iso", b"\0" * (3 * 1024 * 1024))],
        )
    assert exc.value.message_dict == {"files": ["huge.iso is 3.0 MB; files can be at most 2 MB."]}
    assert not Attachment.objects.exists()
    assert actions(case) == ["created"]


# --------------------------------------------------------------------------
# Links


def test_link_a_partner_and_another_case(
    bob: User, section: Section, captured: list[events.Event], django_capture_on_commit_callbacks
) -> None:
    case = create(bob, section)
    other = create(bob, section, subject="Other one")
    acme = PartnerFactory(name="Acme")
    with django_capture_on_commit_callbacks(execute=True):
        to_partner = services.case_link_add(case=case, by=bob, target=acme)
        to_case = services.case_link_add(case=case, by=bob, target=other)
    assert (to_partner.target_id, to_partner.created_by) == (acme.pk, bob)
    assert to_case.target_type == ContentType.objects.get_for_model(Case)
    assert [e.changes for e in entries(case)[1:]] == [
        [{"label": "Links", "old": "", "new": "+ Acme"}],
        [{"label": "Links", "old": "", "new": f"+ #{other.number} Other one"}],
    ]
    assert names(captured) == ["case.linked", "case.linked"]


def test_link_to_itself_or_twice_is_refused(bob: User, section: Section) -> None:
    case = create(bob, section)
    acme = PartnerFactory(name="Acme")
    with pytest.raises(ValidationError) as exc:
        services.case_link_add(case=case, by=bob, target=case)
    assert exc.value.messages == ["A case cannot be linked to itself."]
    services.case_link_add(case=case, by=bob, target=acme)
    with pytest.raises(ValidationError) as exc:
        services.case_link_add(case=case, by=bob, target=acme)
    assert exc.value.messages == [f"#{case.number} is already linked to Acme."]
    assert case.links.count() == 1


def test_link_remove(bob: User, section: Section) -> None:
    case = create(bob, section)
    link = services.case_link_add(case=case, by=bob, target=PartnerFactory(name="Acme"))
    services.case_link_remove(link=link, by=bob)
    assert not case.links.exists()
    assert last_entry(case).changes == [{"label": "Links", "old": "Acme", "new": "(removed)"}]


def test_link_remove_when_the_target_is_gone(bob: User, section: Section) -> None:
    """A link whose target was deleted can still be removed."""
    case = create(bob, section)
    acme = PartnerFactory(name="Acme")
    link = services.case_link_add(case=case, by=bob, target=acme)
    target_id = acme.pk
    acme.delete()
    services.case_link_remove(link=link, by=bob)
    assert not case.links.exists()
    assert last_entry(case).changes == [
        {"label": "Links", "old": f"record {target_id}", "new": "(removed)"}
    ]


# --------------------------------------------------------------------------
# Expense claims


@pytest.fixture
def expense(bob: User, section: Section) -> Case:
    return CaseFactory(
        section=section,
        type="expense",
        state="open",
        by=bob,
        amount=Decimal("42.50"),
        currency="EUR",
    )


def test_expense_submit_asks_the_section_responsible(
    bob: User,
    maria: User,
    expense: Case,
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submitted = services.case_expense_submit(case=expense, by=bob)
    assert submitted.approval == "requested"
    entry = last_entry(expense)
    assert entry.action == "expense_submitted"
    assert entry.changes == [
        {"label": "Approval", "old": "Not submitted", "new": "Awaiting approval"}
    ]
    assert [(e.name, e.payload) for e in captured] == [
        (
            "case.expense_submitted",
            {"case_id": expense.pk, "by_id": bob.pk, "approver_id": maria.pk},
        )
    ]
    with pytest.raises(ValidationError) as exc:
        services.case_expense_submit(case=expense, by=bob)
    assert exc.value.messages == ["This claim is already awaiting approval."]


def test_expense_submit_only_for_expense_types(bob: User, section: Section) -> None:
    case = CaseFactory(section=section, state="open", by=bob, amount=Decimal(1), currency="EUR")
    with pytest.raises(ValidationError) as exc:
        services.case_expense_submit(case=case, by=bob)
    assert exc.value.messages == ["A Helpdesk request has no expense to approve."]


def test_expense_submit_needs_amount_currency_and_approver(bob: User, section: Section) -> None:
    no_amount = CaseFactory(section=section, type="expense", by=bob, currency="EUR")
    with pytest.raises(ValidationError) as exc:
        services.case_expense_submit(case=no_amount, by=bob)
    assert exc.value.message_dict == {"amount": ["Enter the amount before submitting the claim."]}
    zero = CaseFactory(section=section, type="expense", by=bob, amount=0, currency="EUR")
    with pytest.raises(ValidationError) as exc:
        services.case_expense_submit(case=zero, by=bob)
    assert exc.value.message_dict == {"amount": ["Enter the amount before submitting the claim."]}
    no_currency = CaseFactory(section=section, type="expense", by=bob, amount=Decimal(3))
    with pytest.raises(ValidationError) as exc:
        services.case_expense_submit(case=no_currency, by=bob)
    assert exc.value.message_dict == {
        "currency": ["Choose the currency before submitting the claim."]
    }
    nobody = SectionFactory(name="Travel")
    orphan = CaseFactory(section=nobody, type="expense", by=bob, amount=Decimal(3), currency="EUR")
    with pytest.raises(ValidationError) as exc:
        services.case_expense_submit(case=orphan, by=bob)
    assert exc.value.messages == [
        "The section Travel has no responsible user to approve expense claims."
    ]


def test_expense_decide_only_by_the_responsible_or_an_administrator(
    bob: User, maria: User, alice: User, expense: Case
) -> None:
    services.case_expense_submit(case=expense, by=bob)
    with pytest.raises(ValidationError) as exc:
        services.case_expense_decide(case=expense, by=bob, approve=True)
    assert exc.value.messages == [f"Only {maria} can decide on this claim."]
    approved = services.case_expense_decide(case=expense, by=alice, approve=True)
    assert (approved.approval, approved.approved_by) == ("approved", alice)
    assert approved.approved_at is not None
    with pytest.raises(ValidationError) as exc:
        services.case_expense_submit(case=expense, by=bob)
    assert exc.value.messages == ["This claim is already approved."]
    with pytest.raises(ValidationError) as exc:
        services.case_expense_decide(case=expense, by=maria, approve=False, reason="No")
    assert exc.value.messages == ["Only a claim awaiting approval can be approved or rejected."]


def test_expense_rejection_needs_a_reason_and_allows_resubmitting(
    bob: User,
    maria: User,
    expense: Case,
    captured: list[events.Event],
    django_capture_on_commit_callbacks,
) -> None:
    services.case_expense_submit(case=expense, by=bob)
    with pytest.raises(ValidationError) as exc:
        services.case_expense_decide(case=expense, by=maria, approve=False, reason="  ")
    assert exc.value.message_dict == {"reason": ["Say why the claim is rejected."]}
    with django_capture_on_commit_callbacks(execute=True):
        rejected = services.case_expense_decide(
            case=expense, by=maria, approve=False, reason="No receipt"
        )
    assert (rejected.approval, rejected.approved_by) == ("rejected", maria)
    entry = last_entry(expense)
    assert (entry.action, entry.body, entry.author) == ("expense_rejected", "No receipt", maria)
    assert entry.changes == [{"label": "Approval", "old": "Awaiting approval", "new": "Rejected"}]
    assert [(e.name, e.payload) for e in captured] == [
        ("case.expense_decided", {"case_id": expense.pk, "by_id": maria.pk, "approved": False})
    ]
    again = services.case_expense_submit(case=expense, by=bob)
    assert (again.approval, again.approved_by, again.approved_at) == ("requested", None, None)
    approved = services.case_expense_decide(case=expense, by=maria, approve=True)
    assert approved.approval == "approved"
    assert last_entry(expense).action == "expense_approved"


def test_expense_decide_before_submitting_is_refused(maria: User, expense: Case) -> None:
    with pytest.raises(ValidationError) as exc:
        services.case_expense_decide(case=expense, by=maria, approve=True)
    assert exc.value.messages == ["Only a claim awaiting approval can be approved or rejected."]


# --------------------------------------------------------------------------
# Bulk


def test_bulk_assign_reports_per_case_errors(bob: User, maria: User, section: Section) -> None:
    first = CaseFactory(section=section, state="open", by=bob)
    merged = CaseFactory(section=section, state="open", by=bob)
    last = CaseFactory(section=section, state="open", by=bob)
    services.case_merge(keep=first, drop=merged, by=bob)
    result = services.cases_assign(cases=[first, merged, last], by=bob, responsible=maria)
    assert result.done == 2
    assert result.errors == [
        f"#{merged.number}: Case #{merged.number} was merged into #{first.number}; "
        "work on that case instead."
    ]
    assert fresh(first).responsible == maria
    assert fresh(last).responsible == maria


def test_bulk_assign_refuses_a_non_staff_responsible(
    bob: User, charlie: User, section: Section
) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    with pytest.raises(ValidationError) as exc:
        services.cases_assign(cases=[case], by=bob, responsible=charlie)
    assert exc.value.message_dict == {"responsible": [f"{charlie} is not an active staff user."]}
    assert fresh(case).responsible == bob


def test_bulk_set_state_reports_per_case_errors(bob: User, section: Section) -> None:
    done = CaseFactory(section=section, state="done", by=bob)
    opened = CaseFactory(section=section, state="open", by=bob)
    pending = CaseFactory(section=section, state="pending", by=bob)
    result = services.cases_set_state(cases=[done, opened, pending], by=bob, action="close")
    assert result.done == 2
    assert result.errors == [
        f"#{done.number}: Case #{done.number} is done; it cannot be closed from there."
    ]
    assert {fresh(c).state for c in (opened, pending)} == {"done"}
    with pytest.raises(ValidationError) as exc:
        services.cases_set_state(cases=[opened], by=bob, action="explode")
    assert exc.value.messages == ["Unknown state action 'explode'."]


def test_bulk_set_priority(bob: User, section: Section) -> None:
    closed = CaseFactory(section=section, type="claim", state="done", by=bob)
    cases = [CaseFactory(section=section, state="open", by=bob) for _ in range(2)]
    result = services.cases_set_priority(cases=[*cases, closed], by=bob, priority=1)
    assert result.done == 2
    assert result.errors == [f"#{closed.number}: {final_message(closed)}"]
    assert [fresh(c).priority for c in cases] == [1, 1]
    with pytest.raises(ValidationError) as exc:
        services.cases_set_priority(cases=cases, by=bob, priority=0)
    assert exc.value.message_dict == {"priority": ["Priorities go from 1 (highest) to 5 (lowest)."]}


def test_bulk_refuses_more_than_500_cases(bob: User, maria: User, section: Section) -> None:
    case = CaseFactory(section=section, state="open", by=bob)
    too_many = [case] * 501
    for attempt in (
        lambda: services.cases_assign(cases=too_many, by=bob, responsible=maria),
        lambda: services.cases_set_state(cases=too_many, by=bob, action="close"),
        lambda: services.cases_set_priority(cases=too_many, by=bob, priority=2),
    ):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert exc.value.messages == ["Select at most 500 cases at a time."]
    assert fresh(case).state == "open"
    assert services.cases_set_priority(cases=[case] * 500, by=bob, priority=2).done == 500


# --------------------------------------------------------------------------
# Saved filters


def test_saved_filter_save_replaces_by_name_and_delete(bob: User, maria: User) -> None:
    saved = services.saved_filter_save(user=bob, name=" Mine ", query="?filter=my_open&q=printer")
    assert (saved.name, saved.query) == ("Mine", "filter=my_open&q=printer")
    again = services.saved_filter_save(user=bob, name="Mine", query="filter=open")
    assert again.pk == saved.pk
    assert again.query == "filter=open"
    services.saved_filter_save(user=maria, name="Mine", query="filter=all")
    assert SavedFilter.objects.filter(name="Mine").count() == 2
    services.saved_filter_delete(saved=again)
    assert list(SavedFilter.objects.values_list("user__username", flat=True)) == ["maria"]


def test_saved_filter_needs_a_short_name(bob: User) -> None:
    with pytest.raises(ValidationError) as exc:
        services.saved_filter_save(user=bob, name="  ", query="q=x")
    assert exc.value.message_dict == {"name": ["Name the filter."]}
    with pytest.raises(ValidationError) as exc:
        services.saved_filter_save(user=bob, name="x" * 61, query="q=x")
    assert exc.value.message_dict == {"name": ["Use at most 60 characters."]}
    long_query = services.saved_filter_save(user=bob, name="Long", query="q=" + "a" * 2000)
    assert len(long_query.query) == 1000


# --------------------------------------------------------------------------
# Partner merge


def test_partner_merge_moves_cases_and_contacts(maria: User, bob: User, section: Section) -> None:
    keep = PartnerFactory(name="Acme Corporation")
    drop = PartnerFactory(name="ACME Corp (old)")
    keep_person = PersonFactory(name="Ana Lima")
    drop_person = PersonFactory(name="Ana L.")
    as_partner = create(bob, section, partner=drop, subject="Broken")
    as_contact = create(bob, section, partner=keep, contact=drop_person, subject="Quote")
    untouched = create(bob, section, subject="Other")

    partner_merge(keep=keep, drop=drop, by=maria)
    as_partner = fresh(as_partner)
    assert as_partner.partner == keep
    assert "acme corporation" in as_partner.search_text
    assert "old" not in as_partner.search_text
    assert {e.partner_id for e in entries(as_partner)} == {keep.pk}

    partner_merge(keep=keep_person, drop=drop_person, by=maria)
    assert fresh(as_contact).contact == keep_person
    assert fresh(untouched).partner is None


# --------------------------------------------------------------------------
# cases_set: one field on many cases


def test_cases_set_writes_what_case_update_writes_one_case_at_a_time(
    bob: User,
    maria: User,
    section: Section,
    captured: list[events.Event],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    one, two, same = (create(bob, section, priority=3) for _ in range(3))
    services.case_set_priority(case=same, by=bob, priority=1)
    captured.clear()
    with django_capture_on_commit_callbacks(execute=True):
        changed, refused = services.cases_set(
            case_ids=[one.pk, two.pk, same.pk], by=maria, field="priority", value=1
        )
    assert (sorted(changed), refused) == (sorted([one.pk, two.pk]), {})
    assert fresh(one).priority == fresh(two).priority == 1
    for case in (one, two):
        entry = last_entry(case)
        assert (entry.action, entry.author, entry.partner_id) == ("updated", maria, case.partner_id)
        assert entry.changes == [{"label": "Priority", "old": "3 Normal", "new": "1 Highest"}]
    assert fresh(one).updated_at > one.updated_at
    assert [(e.name, e.payload["case_id"], e.payload["fields"]) for e in captured] == [
        ("case.updated", one.pk, ["priority"]),
        ("case.updated", two.pk, ["priority"]),
    ]


def test_cases_set_leaves_alone_the_cases_it_may_not_change_and_says_why(
    bob: User, maria: User, section: Section
) -> None:
    other = SectionFactory(name="Sales", code="SALES")
    here = Stage.objects.create(section=section, name="Waiting on parts", sequence=99)
    fine, elsewhere, final = (create(bob, section) for _ in range(3))
    services.case_update(case=elsewhere, by=bob, values={"section": other})
    Case.objects.filter(pk=final.pk).update(final=True)
    changed, refused = services.cases_set(
        case_ids=[fine.pk, elsewhere.pk, final.pk], by=None, field="stage", value=here
    )
    assert changed == [fine.pk]
    assert fresh(fine).stage == here
    assert "belongs to another section" in refused[elsewhere.pk]
    assert refused[final.pk] == final_message(final)
    with pytest.raises(ValidationError, match="1 to 5"):
        services.cases_set(case_ids=[fine.pk], by=None, field="priority", value=9)
    with pytest.raises(ValidationError, match="cannot be set on many"):
        services.cases_set(case_ids=[fine.pk], by=None, field="subject", value="x")
    outsider = UserFactory(username="outsider", roles=[])
    with pytest.raises(ValidationError, match="not an active staff user"):
        services.cases_set(case_ids=[fine.pk], by=None, field="responsible", value=outsider)
