"""Who sees which cases: per persona, through every selector, and on the partner
page. Members-only sections never leak to agents who are not members."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.http import Http404
from django.utils import timezone

from goodwill.accounts.models import User
from goodwill.cases import selectors, services
from goodwill.cases.models import Case, Section
from goodwill.cases.permissions import (
    get_attachment_for_user,
    get_case_for_user,
    visible_cases,
    visible_sections,
)
from goodwill.cases.selectors import CaseFilters, case_queryset, week_start
from goodwill.partners.models import Partner
from goodwill.partners.selectors import partner_timeline_page
from tests.factories import PartnerFactory, SectionFactory, case_type

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def make(by: User | None, section: Section, subject: str = "A case", **values: Any) -> Case:
    return services.case_create(
        by=by,
        values={
            "subject": subject,
            "case_type": case_type("helpdesk"),
            "section": section,
            **values,
        },
    )


@dataclass
class World:
    acme: Partner
    public: Section
    team: Section
    secret: Section
    led: Section
    public_case: Case
    team_case: Case
    secret_case: Case
    assigned_case: Case
    led_case: Case

    @property
    def everything(self) -> set[int]:
        return {
            c.pk
            for c in (
                self.public_case,
                self.team_case,
                self.secret_case,
                self.assigned_case,
                self.led_case,
            )
        }


@pytest.fixture
def world(maria: User, bob: User) -> World:
    """A public section; members-only sections: one bob belongs to, one he leads,
    and one he has nothing to do with (where one case is still assigned to him)."""
    acme = PartnerFactory(name="Acme", emails=["office@acme.com"])
    public = SectionFactory(name="Front desk")
    team = SectionFactory(name="Team", visibility=Section.Visibility.MEMBERS, members=[bob])
    secret = SectionFactory(name="HR", visibility=Section.Visibility.MEMBERS, members=[maria])
    led = SectionFactory(name="Led", visibility=Section.Visibility.MEMBERS, responsible=bob)
    public_case = make(maria, public, "Printer jammed", partner=acme)
    services.case_note_add(case=public_case, by=maria, body="Public note about toner")
    secret_case = make(maria, secret, "Salary review for Ana", partner=acme)
    services.case_note_add(case=secret_case, by=maria, body="Confidential salary figures")
    services.case_attach(case=secret_case, by=maria, files=[ContentFile(b"x", name="pay.pdf")])
    assigned_case = make(maria, secret, "Onboarding laptop", responsible=bob, partner=acme)
    return World(
        acme=acme,
        public=public,
        team=team,
        secret=secret,
        led=led,
        public_case=public_case,
        team_case=make(maria, team, "Team matter"),
        secret_case=secret_case,
        assigned_case=assigned_case,
        led_case=make(maria, led, "Led matter"),
    )


def pks(queryset: Any) -> set[int]:
    return {c.pk for c in queryset}


# --------------------------------------------------------------------------
# visible_cases and get_case_for_user


def test_administrators_and_managers_see_every_case(alice: User, maria: User, world: World) -> None:
    assert pks(visible_cases(alice)) == world.everything
    assert pks(visible_cases(maria)) == world.everything
    assert set(visible_sections(maria)) == {world.public, world.team, world.secret, world.led}


def test_agents_see_public_sections_their_sections_and_their_cases(bob: User, world: World) -> None:
    assert pks(visible_cases(bob)) == {
        world.public_case.pk,
        world.team_case.pk,  # he is a member
        world.led_case.pk,  # he is the section's responsible
        world.assigned_case.pk,  # assigned to him in a section he cannot see
    }
    assert set(visible_sections(bob)) == {world.public, world.team, world.led}


def test_people_without_a_staff_role_see_no_case(charlie: User, paula: User, world: World) -> None:
    assert not visible_cases(charlie).exists()
    assert not visible_cases(paula).exists()
    assert not visible_cases(AnonymousUser()).exists()


def test_get_case_for_user_is_404_for_invisible_and_missing_cases(
    bob: User, maria: User, world: World
) -> None:
    assert get_case_for_user(bob, world.public_case.number) == world.public_case
    assert get_case_for_user(bob, world.assigned_case.number) == world.assigned_case
    assert get_case_for_user(maria, world.secret_case.number) == world.secret_case
    for number in (world.secret_case.number, 999_999, 2**63 - 1, 2**64):
        with pytest.raises(Http404):
            get_case_for_user(bob, number)


def test_get_case_for_user_is_403_for_people_without_a_staff_role(
    charlie: User, paula: User, world: World
) -> None:
    for outsider in (charlie, paula, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            get_case_for_user(outsider, world.public_case.number)


def test_get_case_for_user_checks_the_action(bob: User, maria: User, world: World) -> None:
    """Agents may not merge; managers may."""
    with pytest.raises(PermissionDenied) as exc:
        get_case_for_user(bob, world.public_case.number, action="merge")
    assert str(exc.value) == "Your role does not allow this on cases."
    assert get_case_for_user(maria, world.public_case.number, action="merge") == world.public_case


def test_attachments_of_invisible_cases_are_404(bob: User, maria: User, world: World) -> None:
    attachment = world.secret_case.attachments.get()
    with pytest.raises(Http404):
        get_attachment_for_user(bob, attachment.pk)
    assert get_attachment_for_user(maria, attachment.pk) == attachment


# --------------------------------------------------------------------------
# The partner page


def _case_entries(page: Any) -> dict[int, list[str]]:
    case_ct = ContentType.objects.get_for_model(Case)
    found: dict[int, list[str]] = {}
    for entry in page.items:
        if entry.subject_type_id == case_ct.pk:
            found.setdefault(entry.subject_id, []).append(entry.body)
    return found


def test_partner_timeline_hides_entries_of_members_only_cases(
    bob: User, maria: User, world: World
) -> None:
    seen_by_bob = _case_entries(partner_timeline_page(partner=world.acme, cursor=None, user=bob))
    assert set(seen_by_bob) == {world.public_case.pk, world.assigned_case.pk}
    assert not any("salary" in body.lower() for bodies in seen_by_bob.values() for body in bodies)

    seen_by_maria = _case_entries(
        partner_timeline_page(partner=world.acme, cursor=None, user=maria)
    )
    assert set(seen_by_maria) == {
        world.public_case.pk,
        world.secret_case.pk,
        world.assigned_case.pk,
    }
    assert "Confidential salary figures" in seen_by_maria[world.secret_case.pk]


def test_partner_timeline_shows_no_case_entry_to_outsiders(charlie: User, world: World) -> None:
    for user in (None, charlie):
        page = partner_timeline_page(partner=world.acme, cursor=None, user=user)
        assert _case_entries(page) == {}
        assert [e.action for e in page.items] == ["created"]  # the partner's own entry


def test_partner_timeline_follows_a_case_into_a_private_section(
    bob: User, maria: User, world: World
) -> None:
    """Moving a case into a members-only section hides its whole history."""
    services.case_update(case=world.public_case, by=maria, values={"section": world.secret})
    seen = _case_entries(partner_timeline_page(partner=world.acme, cursor=None, user=bob))
    assert world.public_case.pk not in seen


def test_partner_cases_panel_leaves_out_private_cases(bob: User, world: World) -> None:
    latest, open_count = selectors.partner_cases(partner=world.acme, user=bob)
    assert pks(latest) == {world.public_case.pk, world.assigned_case.pk}
    assert open_count == 2


# --------------------------------------------------------------------------
# Search and the other selectors


def test_search_never_returns_private_cases_to_agents(bob: User, maria: User, world: World) -> None:
    for q in (
        "salary",
        "Salary review",
        str(world.secret_case.number),
        f"#{world.secret_case.number}",
    ):
        assert not case_queryset(bob, CaseFilters(q=q)).exists(), q
        assert pks(case_queryset(maria, CaseFilters(q=q))) == {world.secret_case.pk}, q
    assert pks(case_queryset(bob, CaseFilters(q="acme"))) == {
        world.public_case.pk,
        world.assigned_case.pk,
    }
    assert pks(case_queryset(bob, CaseFilters(section=world.secret.pk))) == {world.assigned_case.pk}
    assert pks(case_queryset(bob, CaseFilters(filter="all"))) == pks(visible_cases(bob))


def test_kanban_and_calendar_leave_out_private_cases(bob: User, maria: User, world: World) -> None:
    start = timezone.now() + datetime.timedelta(days=1)
    meeting = services.case_create(
        by=maria,
        values={
            "subject": "Board meeting",
            "case_type": case_type("meeting"),
            "section": world.secret,
            "scheduled_start": start,
            "scheduled_end": start + datetime.timedelta(hours=1),
        },
    )
    board = selectors.kanban_queryset(user=bob, section=world.secret, case_type=None)
    assert pks(board) == {world.assigned_case.pk}
    window = (start - datetime.timedelta(days=2), start + datetime.timedelta(days=2))
    assert meeting not in selectors.calendar_cases(user=bob, start=window[0], end=window[1])
    assert meeting in selectors.calendar_cases(user=maria, start=window[0], end=window[1])


def test_links_to_private_cases_are_not_shown(bob: User, maria: User, world: World) -> None:
    services.case_link_add(case=world.public_case, by=maria, target=world.secret_case)
    services.case_link_add(case=world.public_case, by=maria, target=world.acme)
    assert [v.label for v in selectors.case_links(case=world.public_case, user=bob)] == ["Acme"]
    assert [v.label for v in selectors.case_links(case=world.public_case, user=maria)] == [
        f"#{world.secret_case.number} Salary review for Ana",
        "Acme",
    ]


# --------------------------------------------------------------------------
# The built-in filters


def _filtered(user: User, key: str) -> set[int]:
    return pks(case_queryset(user, CaseFilters(filter=key)))


def test_builtin_filters_my_open_my_pending_my_late_unassigned_open(bob: User, maria: User) -> None:
    desk = SectionFactory(name="Desk")
    past = timezone.now() - datetime.timedelta(days=1)
    future = timezone.now() + datetime.timedelta(days=1)

    def case(
        state: str, responsible: User | None, deadline: datetime.datetime | None = None
    ) -> Case:
        made = make(maria, desk, responsible=responsible, deadline=deadline)
        for action in {"draft": [], "open": ["open"], "pending": ["pending"], "done": ["close"]}[
            state
        ]:
            made = services.case_set_state(case=made, by=None, action=action)
        return made

    mine_open = case("open", bob, future)
    mine_pending = case("pending", bob)
    mine_draft_late = case("draft", bob, past)
    mine_open_late = case("open", bob, past)
    mine_pending_late = case("pending", bob, past)
    mine_done_late = case("done", bob, past)
    theirs_open_late = case("open", maria, past)
    nobody_draft = case("draft", None)
    nobody_open = case("open", None)
    nobody_done = case("done", None)

    assert _filtered(bob, "my_open") == {mine_open.pk, mine_open_late.pk}
    assert _filtered(bob, "my_pending") == {mine_pending.pk, mine_pending_late.pk}
    assert _filtered(bob, "my_late") == {
        mine_draft_late.pk,
        mine_open_late.pk,
        mine_pending_late.pk,
    }
    assert _filtered(maria, "my_late") == {theirs_open_late.pk}
    assert _filtered(bob, "unassigned") == {nobody_draft.pk, nobody_open.pk}
    assert _filtered(bob, "open") == {
        mine_open.pk,
        mine_open_late.pk,
        theirs_open_late.pk,
        nobody_open.pk,
    }
    assert {nobody_done.pk, mine_done_late.pk} <= _filtered(bob, "closed_week")


def test_closed_this_week_starts_on_monday_at_midnight_local_time(
    bob: User, maria: User, settings: Any
) -> None:
    """A case closed at 00:30 on Monday in Berlin is this week's, though it is
    still Sunday in UTC; one closed half an hour before Monday is not."""
    settings.TIME_ZONE = "Europe/Berlin"
    desk = SectionFactory(name="Desk")
    monday = week_start()
    assert (monday.weekday(), monday.hour, monday.minute) == (0, 0, 0)
    assert str(monday.tzinfo) == "Europe/Berlin"

    def closed_at(when: datetime.datetime, action: str = "close") -> Case:
        made = services.case_set_state(case=make(maria, desk), by=maria, action=action)
        Case.objects.filter(pk=made.pk).update(closed_at=when)
        return made

    monday_night = closed_at(monday + datetime.timedelta(minutes=30))
    at_midnight = closed_at(monday)
    today = closed_at(timezone.now())
    sunday_night = closed_at(monday - datetime.timedelta(minutes=30))
    cancelled = closed_at(timezone.now(), action="cancel")
    assert _filtered(bob, "closed_week") == {monday_night.pk, at_midnight.pk, today.pk}
    assert sunday_night.pk not in _filtered(bob, "closed_week")
    assert cancelled.pk not in _filtered(bob, "closed_week")  # closed means done


@pytest.mark.parametrize(
    ("now", "monday"),
    [
        # Monday 00:30 in Berlin is still Sunday in UTC.
        (
            datetime.datetime(2024, 3, 3, 23, 30, tzinfo=UTC),
            datetime.datetime(2024, 3, 3, 23, 0, tzinfo=UTC),
        ),
        # Sunday 23:30 in Berlin belongs to the week that began six days before.
        (
            datetime.datetime(2024, 3, 10, 22, 30, tzinfo=UTC),
            datetime.datetime(2024, 3, 3, 23, 0, tzinfo=UTC),
        ),
        # The week after the spring clock change: Monday 00:00 is in summer time (UTC+2).
        (
            datetime.datetime(2024, 4, 2, 10, 0, tzinfo=UTC),
            datetime.datetime(2024, 3, 31, 22, 0, tzinfo=UTC),
        ),
        # The week that ends with it: Monday 00:00 was still in winter time (UTC+1).
        (
            datetime.datetime(2024, 3, 31, 12, 0, tzinfo=UTC),
            datetime.datetime(2024, 3, 24, 23, 0, tzinfo=UTC),
        ),
    ],
)
def test_week_start_is_monday_midnight_in_the_local_time_zone(
    settings: Any, now: datetime.datetime, monday: datetime.datetime
) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    start = week_start(now)
    assert start == monday
    assert (start.weekday(), start.hour, start.minute, str(start.tzinfo)) == (
        0,
        0,
        0,
        "Europe/Berlin",
    )
    assert start <= now < start + datetime.timedelta(days=7)
