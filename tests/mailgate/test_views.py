"""The mail log, the raw original, the retry, and the partner's delivery panel."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from goodwill.accounts.models import User
from goodwill.cases.models import Section
from goodwill.mailgate.models import InboundMessage, Suppression
from goodwill.partners.models import Partner
from tests.conftest import login
from tests.factories import SectionFactory
from tests.mailgate.mail import deliver, make_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def support() -> Section:
    return SectionFactory(code="SUPPORT", email="support@acme.example")


def test_the_log_lists_messages_and_hides_members_only_cases(
    support: Section, bob: User, charlie: User
) -> None:
    SectionFactory(
        code="QUALITY", email="quality@acme.example", visibility=Section.Visibility.MEMBERS
    )
    deliver(make_mail(subject="Visible problem"))
    deliver(make_mail(to="quality@acme.example", subject="Secret audit"))
    # Agents have no log...
    assert login(bob).get(reverse("mailgate:inbound_list")).status_code == 403
    # ...until they are given it; members-only cases stay hidden even then.
    bob.user_permissions.add(
        Permission.objects.get(codename="view_inboundmessage", content_type__app_label="mailgate")
    )
    bob = User.objects.get(pk=bob.pk)
    page = login(bob).get(reverse("mailgate:inbound_list")).content.decode()
    assert "Visible problem" in page
    assert "Secret audit" not in page
    secret = InboundMessage.objects.get(subject="Secret audit")
    assert login(bob).get(reverse("mailgate:inbound_raw", args=[secret.pk])).status_code == 404
    assert charlie.pk


def test_a_case_reader_downloads_the_raw_original(support: Section, bob_client: Client) -> None:
    raw = make_mail(subject="Keep me exactly").as_bytes()
    message = deliver(raw)
    response = bob_client.get(reverse("mailgate:inbound_raw", args=[message.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert b"".join(response.streaming_content) == raw
    # And the case's timeline links to it.
    case_page = bob_client.get(reverse("cases:detail", args=[message.case.number])).content
    assert reverse("mailgate:inbound_raw", args=[message.pk]).encode() in case_page


def test_a_quarantined_message_is_retried_after_the_fix(
    support: Section, maria_client: Client
) -> None:
    message = deliver(make_mail(to="nobody@acme.example"))
    assert message.status == InboundMessage.Status.QUARANTINED
    page = maria_client.get(reverse("mailgate:inbound_detail", args=[message.pk])).content.decode()
    assert "nobody@acme.example" in page
    assert "Retry" in page
    support.email = "nobody@acme.example"
    support.save()
    response = maria_client.post(reverse("mailgate:inbound_retry", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.PROCESSED


def test_html_is_shown_sanitised_in_a_sandbox_and_images_on_request(
    support: Section, maria_client: Client
) -> None:
    html = (
        '<p>Hi</p><script>alert(1)</script><img src="https://tracker.example/p.gif" '
        'onerror="alert(2)">'
    )
    message = deliver(make_mail(html=html))
    url = reverse("mailgate:inbound_detail", args=[message.pk])
    page = maria_client.get(url + "?view=html")
    text = page.content.decode()
    assert "<iframe" in text
    assert "sandbox" in text
    assert "alert(" not in text
    assert " src=&quot;https://tracker" not in text
    assert "img-src 'self' data:;" in page["Content-Security-Policy"] + ";"
    with_images = maria_client.get(url + "?view=html&images=1")
    assert "src=&quot;https://tracker.example/p.gif&quot;" in with_images.content.decode()
    assert "https:" in with_images["Content-Security-Policy"]


def test_the_partner_panel_shows_a_bouncing_address(
    support: Section, bob_client: Client, bob: User
) -> None:
    deliver(make_mail(sender="Gone <gone@customer.example>"))
    partner = Partner.objects.get(email="gone@customer.example")
    Suppression.objects.create(email="gone@customer.example", reason="550 user unknown")
    panel = bob_client.get(reverse("mailgate:partner_panel", args=[partner.pk])).content.decode()
    assert "gone@customer.example" in panel
    assert "bouncing" in panel
    assert bob.pk


def test_inline_images_show_in_the_html_view(support: Section, maria_client: Client) -> None:
    mail = make_mail(html='<p>Look:</p><img src="cid:photo1@x">')
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None
    html_part.add_related(png, maintype="image", subtype="png", cid="<photo1@x>")
    message = deliver(mail)
    url = reverse("mailgate:inbound_detail", args=[message.pk])
    page = maria_client.get(url + "?view=html").content.decode()
    assert "src=&quot;data:image/png;base64," in page
