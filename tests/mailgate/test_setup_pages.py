"""The email gateway's setup pages: mailboxes, section mail settings and
addresses, suppressed addresses, and simulated incoming mail."""

from __future__ import annotations

import socket
from typing import Any, cast

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.cases.models import Section
from goodwill.mailgate.models import (
    InboundAddress,
    InboundMessage,
    Mailbox,
    SectionMail,
    Suppression,
)
from tests.factories import SectionFactory

MANAGER_PERMISSIONS = [
    "view_mailbox",
    "add_mailbox",
    "change_mailbox",
    "delete_mailbox",
    "view_sectionmail",
    "change_sectionmail",
    "add_inboundaddress",
    "delete_inboundaddress",
    "view_suppression",
    "add_suppression",
    "delete_suppression",
    "add_inboundmessage",
    "view_inboundmessage",
]
SECRET = "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def _managers_set_up_mail(db: None) -> None:
    """Managers hold the mail setup permissions (a no-op once the role has them)."""
    group, _ = Group.objects.get_or_create(name=Role.MANAGER.value)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="mailgate", codename__in=MANAGER_PERMISSIONS
        )
    )


@pytest.fixture
def section() -> Section:
    return _section(name="Support", code="SUPPORT", email="support@example.com")


@pytest.fixture
def mailbox(section: Section) -> Mailbox:
    return Mailbox.objects.create(
        name="Support inbox",
        host="imap.example.com",
        username="support",
        password=SECRET,
        section=section,
    )


def _section(**values: Any) -> Section:
    return cast(Section, SectionFactory(**values))


def _url(name: str, *args: Any) -> str:
    return reverse(f"mailgate_setup:{name}", args=args)


def _mailbox_data(section: Section, **changes: Any) -> dict[str, Any]:
    data = {
        "name": "Sales inbox",
        "host": "imap.example.org",
        "port": "993",
        "security": "tls",
        "username": "sales@example.org",
        "password": SECRET,
        "folder": "INBOX",
        "section": str(section.pk),
        "after": "flag",
        "move_to": "",
        "interval": "60",
        "active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _flashes(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------
# Who may use the pages

PAGES = [
    ("mailbox_list", False),
    ("mailbox_create", False),
    ("mailbox_detail", "mailbox"),
    ("mailbox_edit", "mailbox"),
    ("mailbox_delete", "mailbox"),
    ("section_list", False),
    ("section_detail", "section"),
    ("suppression_list", False),
    ("simulate", False),
]


def _page_url(name: str, needs: str | bool, mailbox: Mailbox) -> str:
    if needs == "mailbox":
        return _url(name, mailbox.pk)
    if needs == "section":
        return _url(name, mailbox.section_id)
    return _url(name)


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_managers_see_the_page(
    maria_client: Client, mailbox: Mailbox, name: str, needs: str | bool
) -> None:
    assert maria_client.get(_page_url(name, needs, mailbox)).status_code == 200


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_agents_are_refused(
    bob_client: Client, mailbox: Mailbox, name: str, needs: str | bool
) -> None:
    assert bob_client.get(_page_url(name, needs, mailbox)).status_code == 403


@pytest.mark.parametrize(("name", "needs"), PAGES)
def test_anonymous_visitors_are_sent_to_log_in(
    client: Client, mailbox: Mailbox, name: str, needs: str | bool
) -> None:
    url = _page_url(name, needs, mailbox)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_agents_cannot_post_to_any_action(bob_client: Client, mailbox: Mailbox) -> None:
    """Every state-changing endpoint refuses an agent and changes nothing."""
    address = InboundAddress.objects.create(address="help@example.com", section=mailbox.section)
    suppression = Suppression.objects.create(email="gone@example.com")
    urls = [
        _url("mailbox_create"),
        _url("mailbox_edit", mailbox.pk),
        _url("mailbox_test", mailbox.pk),
        _url("mailbox_poll", mailbox.pk),
        _url("mailbox_set_active", mailbox.pk),
        _url("mailbox_delete", mailbox.pk),
        _url("section_detail", mailbox.section_id),
        _url("address_add", mailbox.section_id),
        _url("address_remove", address.pk),
        _url("suppression_add"),
        _url("suppression_clear", suppression.pk),
        _url("simulate"),
    ]
    for url in urls:
        assert bob_client.post(url, {"active": "0"}).status_code == 403, url
    assert Mailbox.objects.filter(pk=mailbox.pk, active=True).exists()
    assert InboundAddress.objects.filter(pk=address.pk).exists()
    assert Suppression.objects.filter(pk=suppression.pk).exists()


def test_an_unknown_mailbox_is_a_404(maria_client: Client) -> None:
    assert maria_client.get(_url("mailbox_detail", 999_999)).status_code == 404


# --------------------------------------------------------------------------
# Mailboxes


def test_the_list_shows_the_last_error_prominently(maria_client: Client, mailbox: Mailbox) -> None:
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_error="The server imap.example.com:993 answered: LOGIN failed",
        fetched_count=7,
    )
    html = maria_client.get(_url("mailbox_list")).content.decode()
    assert "Support inbox" in html
    assert "imap.example.com:993" in html
    assert "LOGIN failed" in html
    assert 'class="setup-danger"' in html


def test_the_list_has_an_empty_state(maria_client: Client) -> None:
    assert "No mailboxes yet." in maria_client.get(_url("mailbox_list")).content.decode()


def test_creating_a_mailbox_stores_the_password_without_showing_it(
    maria_client: Client, section: Section
) -> None:
    response = maria_client.post(_url("mailbox_create"), _mailbox_data(section))
    mailbox = Mailbox.objects.get(name="Sales inbox")
    assert response.status_code == 302
    assert response["Location"] == _url("mailbox_detail", mailbox.pk)
    assert (mailbox.password, mailbox.section, mailbox.interval) == (SECRET, section, 60)
    for url in (_url("mailbox_detail", mailbox.pk), _url("mailbox_edit", mailbox.pk)):
        html = maria_client.get(url).content.decode()
        assert SECRET not in html
    edit = maria_client.get(_url("mailbox_edit", mailbox.pk)).content.decode()
    assert "Leave empty to keep the stored password" in edit


def test_an_empty_password_keeps_the_stored_one(maria_client: Client, mailbox: Mailbox) -> None:
    data = _mailbox_data(mailbox.section, name="Renamed", password="")
    response = maria_client.post(_url("mailbox_edit", mailbox.pk), data)
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.password) == ("Renamed", SECRET)


def test_a_new_password_replaces_the_stored_one(maria_client: Client, mailbox: Mailbox) -> None:
    data = _mailbox_data(mailbox.section, password="another-one")
    assert maria_client.post(_url("mailbox_edit", mailbox.pk), data).status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.password == "another-one"


def test_a_form_with_errors_does_not_echo_the_password(
    maria_client: Client, section: Section
) -> None:
    response = maria_client.post(_url("mailbox_create"), _mailbox_data(section, port="0"))
    assert response.status_code == 400
    assert SECRET not in response.content.decode()


def test_pointing_a_mailbox_elsewhere_forgets_what_was_read(
    maria_client: Client, mailbox: Mailbox
) -> None:
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=5, last_uid=42)
    data = _mailbox_data(mailbox.section, host=mailbox.host, folder="Support", password="")
    assert maria_client.post(_url("mailbox_edit", mailbox.pk), data).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.folder, mailbox.uidvalidity, mailbox.last_uid) == ("Support", None, 0)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"port": "0"}, "port", "Enter a port from 1 to 65535"),
        ({"port": "70000"}, "port", "Enter a port from 1 to 65535"),
        ({"interval": "5"}, "interval", "Poll at most every 10 seconds"),
        ({"after": "move", "move_to": ""}, "move_to", "Name the folder processed messages"),
        ({"after": "move", "move_to": "INBOX"}, "move_to", "another folder"),
        ({"host": "imap example com"}, "host", "without spaces"),
    ],
)
def test_invalid_mailbox_settings_are_shown_next_to_their_field(
    maria_client: Client, section: Section, changes: dict[str, str], field: str, message: str
) -> None:
    response = maria_client.post(_url("mailbox_create"), _mailbox_data(section, **changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert not Mailbox.objects.exists()


def test_a_mailbox_cannot_be_created_in_an_inactive_section(
    maria_client: Client, section: Section
) -> None:
    Section.objects.filter(pk=section.pk).update(active=False)
    response = maria_client.post(_url("mailbox_create"), _mailbox_data(section))
    assert response.status_code == 400
    assert not Mailbox.objects.exists()


def test_a_failed_connection_test_is_a_flash_not_a_500(
    maria_client: Client, mailbox: Mailbox
) -> None:
    Mailbox.objects.filter(pk=mailbox.pk).update(
        host="127.0.0.1", port=_closed_port(), security=Mailbox.Security.NONE
    )
    response = maria_client.post(_url("mailbox_test", mailbox.pk), follow=True)
    assert response.status_code == 200
    flashes = _flashes(response)
    assert len(flashes) == 1
    assert flashes[0].startswith("The connection test failed: ")
    assert SECRET not in response.content.decode()


def test_poll_now_queues_a_poll(
    maria_client: Client,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tasks = pytest.importorskip("goodwill.mailgate.tasks")
    if not hasattr(tasks, "mailbox_poll_task"):
        pytest.skip("goodwill.mailgate.tasks.mailbox_poll_task is not written yet")
    queued: list[int] = []

    class Recorder:
        enqueue = staticmethod(queued.append)

    monkeypatch.setattr(tasks, "mailbox_poll_task", Recorder())
    with django_capture_on_commit_callbacks(execute=True):
        response = maria_client.post(_url("mailbox_poll", mailbox.pk), follow=True)
    assert queued == [mailbox.pk]
    assert any(flash.startswith("Polling queued") for flash in _flashes(response))


def test_deactivating_a_mailbox_keeps_it(maria_client: Client, mailbox: Mailbox) -> None:
    response = maria_client.post(_url("mailbox_set_active", mailbox.pk), {"active": "0"})
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.active is False


def test_a_mailbox_without_messages_can_be_deleted(maria_client: Client, mailbox: Mailbox) -> None:
    assert (
        "Delete the mailbox"
        in maria_client.get(_url("mailbox_delete", mailbox.pk)).content.decode()
    )
    response = maria_client.post(_url("mailbox_delete", mailbox.pk))
    assert response["Location"] == _url("mailbox_list")
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()


def test_a_mailbox_with_messages_is_not_deleted(maria_client: Client, mailbox: Mailbox) -> None:
    InboundMessage.objects.create(
        size=1, sha256="0" * 64, source=InboundMessage.Source.IMAP, mailbox=mailbox
    )
    response = maria_client.post(_url("mailbox_delete", mailbox.pk), follow=True)
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert any("deactivate it instead" in flash for flash in _flashes(response))


# --------------------------------------------------------------------------
# Section mail settings and addresses


def _section_mail_data(**changes: Any) -> dict[str, Any]:
    data = {
        "case_type": "",
        "acknowledge": "on",
        "ack_subject": "Got it: {subject}",
        "ack_body": "Hello {name},\n\ncase #{number} in {section}.",
        "notify": "on",
        "create_contacts": "",
    }
    data.update(changes)
    return data


def test_the_section_list_shows_addresses_and_settings(
    maria_client: Client, section: Section
) -> None:
    _section(name="Dormant", code="DORMANT", active=False)
    InboundAddress.objects.create(address="help@example.com", section=section)
    html = maria_client.get(_url("section_list")).content.decode()
    assert "support@example.com" in html
    assert "help@example.com" in html
    assert "Dormant" not in html


def test_saving_section_settings_creates_the_row(maria_client: Client, section: Section) -> None:
    response = maria_client.post(_url("section_detail", section.pk), _section_mail_data())
    assert response.status_code == 302
    row = SectionMail.objects.get(section=section)
    assert (row.ack_subject, row.notify, row.relay, row.create_contacts) == (
        "Got it: {subject}",
        True,
        False,
        False,
    )
    html = maria_client.get(_url("section_detail", section.pk)).content.decode()
    assert "Got it: The printer on floor 3 is jammed" in html
    assert "case #1042 in Support." in html


def test_the_notification_and_relay_templates_are_chosen_on_the_section_page(
    maria_client: Client, maria: User, section: Section
) -> None:
    from goodwill.automation.services import template_save

    notify, relay = (
        template_save(
            template=None,
            by=maria,
            values={"code": code, "name": code, "subject": "{{ case.subject }}", "body_text": "x"},
        )
        for code in ("staff-note", "relay")
    )
    html = maria_client.get(_url("section_detail", section.pk)).content.decode()
    assert "Notification template" in html
    assert "Relay template" in html
    response = maria_client.post(
        _url("section_detail", section.pk),
        _section_mail_data(notify_template=str(notify.pk), relay_template=str(relay.pk)),
    )
    assert response.status_code == 302
    row = SectionMail.objects.get(section=section)
    assert (row.notify_template, row.relay_template) == (notify, relay)
    response = maria_client.post(
        _url("section_detail", section.pk), _section_mail_data(relay_template="999999")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["relay_template"]
    assert SectionMail.objects.get(section=section).relay_template == relay


def test_an_unknown_placeholder_is_a_form_error(maria_client: Client, section: Section) -> None:
    response = maria_client.post(
        _url("section_detail", section.pk), _section_mail_data(ack_body="Dear {customer}")
    )
    assert response.status_code == 400
    assert "Unknown placeholder {customer}" in " ".join(response.context["form"].errors["ack_body"])
    assert not SectionMail.objects.exists()


def test_an_address_is_added_in_lower_case(maria_client: Client, section: Section) -> None:
    response = maria_client.post(
        _url("address_add", section.pk), {"address-address": " Help@Example.COM "}
    )
    assert response.status_code == 302
    assert list(InboundAddress.objects.values_list("address", "section")) == [
        ("help@example.com", section.pk)
    ]


def test_another_sections_address_is_refused(maria_client: Client, section: Section) -> None:
    other = _section(name="Sales", code="SALES")
    response = maria_client.post(
        _url("address_add", other.pk), {"address-address": "SUPPORT@example.com"}
    )
    assert response.status_code == 400
    errors = response.context["address_form"].errors["address"]
    assert "already the address of the section Support" in errors[0]
    assert not InboundAddress.objects.exists()


def test_an_invalid_address_is_refused(maria_client: Client, section: Section) -> None:
    response = maria_client.post(_url("address_add", section.pk), {"address-address": "nope"})
    assert response.status_code == 400
    assert not InboundAddress.objects.exists()


def test_an_address_is_removed(maria_client: Client, section: Section) -> None:
    address = InboundAddress.objects.create(address="help@example.com", section=section)
    response = maria_client.post(_url("address_remove", address.pk))
    assert response["Location"] == _url("section_detail", section.pk)
    assert not InboundAddress.objects.exists()


# --------------------------------------------------------------------------
# Suppressions


def test_suppressions_are_listed_and_searched(maria_client: Client) -> None:
    report = InboundMessage.objects.create(size=1, sha256="1" * 64, source="pipe")
    Suppression.objects.create(email="gone@example.com", status="5.1.1", report=report)
    Suppression.objects.create(email="full@example.org", status="4.2.2")
    html = maria_client.get(_url("suppression_list")).content.decode()
    assert "gone@example.com" in html
    assert "5.1.1" in html
    assert f"/mail/inbound/{report.pk}/" in html
    found = maria_client.get(_url("suppression_list"), {"q": "example.org"}).content.decode()
    assert "full@example.org" in found
    assert "gone@example.com" not in found


def test_an_address_is_suppressed_by_hand(maria_client: Client, maria: User) -> None:
    response = maria_client.post(_url("suppression_add"), {"email": "Someone@Example.com"})
    assert response.status_code == 302
    row = Suppression.objects.get()
    assert row.email == "someone@example.com"
    assert row.reason == f"added by {maria.get_full_name()}"
    again = maria_client.post(_url("suppression_add"), {"email": "someone@example.com"})
    assert again.status_code == 400
    assert "already suppressed" in again.content.decode()


def test_a_suppression_is_cleared(maria_client: Client) -> None:
    row = Suppression.objects.create(email="gone@example.com")
    response = maria_client.post(_url("suppression_clear", row.pk), follow=True)
    assert not Suppression.objects.exists()
    assert "Automatic mail goes to gone@example.com again." in _flashes(response)


# --------------------------------------------------------------------------
# Simulated incoming mail


def test_the_simulate_form_offers_every_address(maria_client: Client, section: Section) -> None:
    InboundAddress.objects.create(address="help@example.com", section=section)
    _section(name="Dormant", code="DORMANT", email="dormant@example.com", active=False)
    response = maria_client.get(_url("simulate"), {"in_reply_to": "<abc@example.com>"})
    form = response.context["form"]
    assert [value for value, _ in form.fields["to"].choices] == [
        "help@example.com",
        "support@example.com",
    ]
    assert form.initial["in_reply_to"] == "<abc@example.com>"


def test_simulated_mail_is_received_and_processed(maria_client: Client, section: Section) -> None:
    response = maria_client.post(
        _url("simulate"),
        {
            "from_name": "Jane Doe",
            "from_email": "jane@customer.example",
            "to": "support@example.com",
            "cc": "",
            "subject": "The printer is jammed",
            "body": "It makes a noise.",
            "in_reply_to": "",
        },
    )
    message = InboundMessage.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("mailgate:inbound_detail", args=[message.pk])
    assert message.source == InboundMessage.Source.WEB
    assert message.envelope_to == ["support@example.com"]
    assert message.message_id.endswith("@simulated.invalid>")
    raw = message.raw.open("rb").read()
    assert b"From: Jane Doe <jane@customer.example>" in raw
    assert message.status == InboundMessage.Status.PROCESSED, message.reason
    assert message.case is not None
    assert (message.case.section, message.case.subject) == (section, "The printer is jammed")
    flashes = [str(m) for m in get_messages(response.wsgi_request)]
    assert flashes == [
        f"The simulated message was processed on case {message.case.reference}: {message.reason}"
    ]


def test_a_simulated_reply_carries_its_threading_headers(
    maria_client: Client, section: Section
) -> None:
    maria_client.post(
        _url("simulate"),
        {
            "from_email": "jane@customer.example",
            "to": "support@example.com",
            "subject": "Re: your case",
            "body": "Thanks.",
            "in_reply_to": "gw.c1.abc@example.com",
        },
    )
    raw = InboundMessage.objects.get().raw.open("rb").read()
    assert b"In-Reply-To: <gw.c1.abc@example.com>" in raw
    assert b"References: <gw.c1.abc@example.com>" in raw


def test_simulated_mail_needs_a_gateway_address(maria_client: Client, section: Section) -> None:
    response = maria_client.post(
        _url("simulate"),
        {"from_email": "jane@customer.example", "to": "x@elsewhere.example", "subject": "Hi"},
    )
    assert response.status_code == 400
    assert "to" in response.context["form"].errors
    assert not InboundMessage.objects.exists()


# --------------------------------------------------------------------------
# Query counts


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["mailbox_list", "section_list", "suppression_list"])
def test_list_pages_use_a_fixed_number_of_queries(
    maria_client: Client, section: Section, name: str
) -> None:
    """Ten more rows cost no more queries."""

    def add_rows(start: int) -> None:
        for n in range(start, start + 10):
            other = _section(name=f"S{n}", code=f"Q{n}", email=f"s{n}@example.com")
            InboundAddress.objects.create(address=f"extra{n}@example.com", section=other)
            SectionMail.objects.create(section=other)
            Mailbox.objects.create(name=f"M{n}", host="h", username="u", section=other)
            Suppression.objects.create(email=f"gone{n}@example.com")

    add_rows(0)
    before = _queries(maria_client, _url(name))
    add_rows(10)
    assert _queries(maria_client, _url(name)) == before
