from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.test import Client

from goodwill.accounts.models import User
from goodwill.accounts.permissions import can_use_staff_ui, is_portal_user
from goodwill.accounts.roles import Role
from goodwill.accounts.services import user_create, user_set_roles
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_with_username_or_email_lands_on_partners(bob: User) -> None:
    for identifier in ("bob", "BOB@example.com"):
        client = Client()
        response = client.post(
            "/accounts/login/", {"username": identifier, "password": PASSWORD}, follow=True
        )
        assert response.redirect_chain[-1][0] == "/partners/"


def test_wrong_password_is_explained_without_saying_which_part(bob: User) -> None:
    response = Client().post("/accounts/login/", {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()


def test_logout_is_a_post_and_ends_the_session(bob_client: Client) -> None:
    response = bob_client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert bob_client.get("/partners/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)
def test_password_reset_by_email_round_trip(bob: User, settings) -> None:
    """The worker sends the email; it links to SITE_URL; the link sets a new
    password that works."""
    settings.SITE_URL = "https://crm.example.com"
    client = Client()
    client.post("/accounts/password/reset/", {"email": "bob@example.com"})
    assert mail.outbox == []  # not sent inside the request
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bob@example.com"]
    assert "Reset your Goodwill password" in message.subject
    link = re.search(r"https://crm\.example\.com(/accounts/password/reset/\S+/)", message.body)
    assert link, message.body
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-better-passphrase", "new_password2": "a-much-better-passphrase"},
        follow=True,
    )
    assert "Your password is set" in response.content.decode()
    assert Client().login(username="bob", password="a-much-better-passphrase")


@pytest.mark.django_db(transaction=True)
def test_password_reset_for_an_unknown_address_says_the_same(db: None) -> None:
    """No account enumeration: the page reads the same, and no mail leaves."""
    response = Client().post(
        "/accounts/password/reset/", {"email": "nobody@x.example"}, follow=True
    )
    assert "Check your email" in response.content.decode()
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    assert mail.outbox == []


def test_roles_exist_with_their_permissions(db: None) -> None:
    names = set(Group.objects.values_list("name", flat=True))
    assert {r.value for r in Role} <= names
    agent = Group.objects.get(name=Role.AGENT)
    codenames = set(agent.permissions.values_list("codename", flat=True))
    assert {"view_partner", "change_partner", "export_partner"} <= codenames
    assert "archive_partner" not in codenames
    assert Group.objects.get(name=Role.PORTAL).permissions.count() == 0


def test_role_checks(alice: User, bob: User, charlie: User, paula: User) -> None:
    assert can_use_staff_ui(alice)
    assert can_use_staff_ui(bob)
    assert not can_use_staff_ui(charlie)
    assert not can_use_staff_ui(paula)
    assert is_portal_user(paula)
    assert alice.is_staff
    assert not bob.is_staff


def test_a_portal_role_wins_over_a_staff_role(db: None) -> None:
    """An account that is both agent and portal user is kept out of the staff UI."""
    user = UserFactory(roles=[Role.AGENT, Role.PORTAL])
    assert not can_use_staff_ui(User.objects.get(pk=user.pk))


def test_user_set_roles_replaces_roles(bob: User) -> None:
    user_set_roles(user=bob, roles=[Role.MANAGER])
    fresh = User.objects.get(pk=bob.pk)
    assert sorted(fresh.groups.values_list("name", flat=True)) == ["Manager"]
    assert fresh.has_perm("partners.archive_partner")


def test_user_create_refuses_duplicates(bob: User) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="taken"):
        user_create(username="BOB", password="x")
    with pytest.raises(ValidationError, match="already has"):
        user_create(username="bobby", password="x", email="Bob@Example.com")


def test_profile_and_password_change(bob_client: Client) -> None:
    assert "Agent" in bob_client.get("/accounts/profile/").content.decode()
    response = bob_client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response["Location"] == "/accounts/password/change/done/"
