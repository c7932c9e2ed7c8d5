"""Hostile mail in a real Chromium: a manager reads spam with scripts, event
handlers and javascript: links, as HTML and on its case, and nothing runs,
no dialog opens and nothing is fetched from another host.

The spam comes from the SpamAssassin corpus next to the checkout
(``../shared/corpora/email``; the test skips without it), plus one message
written here whose every trick would set ``window.__pwned``.

Requests made inside the sandboxed ``srcdoc`` frame escape Playwright's
``route`` and ``request`` events, so the browser context sends everything that
is not loopback through a recording proxy: whatever the frame fetches from
another host reaches the proxy, and is refused there.
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Dialog, Frame, Page, expect

from goodwill.accounts.models import User
from goodwill.cases.models import Case, Section
from goodwill.mailgate.models import InboundMessage
from tests.e2e.conftest import TIMEOUT_MS, log_in
from tests.factories import CaseFactory, SectionFactory
from tests.mailgate.mail import deliver, make_mail

if TYPE_CHECKING:
    from pytest_django.live_server_helper import LiveServer

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "email"
SPAM = CORPORA / "spamassassin" / "spam-1"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not SPAM.is_dir(), reason=f"no spam corpus at {SPAM}"),
]

# Spam whose HTML carries what a browser would run, and what gives it away.
HOSTILE_SPAM = {
    "00028": re.compile(rb"<script", re.IGNORECASE),
    "00321": re.compile(rb"<script", re.IGNORECASE),
    "00364": re.compile(rb"javascript:", re.IGNORECASE),
    "00173": re.compile(rb"<[^>]+\son(load|error|click|mouseover|unload)\s*=", re.IGNORECASE),
}
PWN = "window.__pwned=1"
HOSTILE_HTML = f"""<html><head><script>{PWN}</script>
<meta http-equiv="refresh" content="0;url=javascript:{PWN}"></head>
<body onload="{PWN}">
<p>Dear customer, <a href="javascript:{PWN}">click here</a>.</p>
<img src=x onerror="{PWN}">
<img src="http://tracker.example/open.gif" alt="tracker">
<svg onload="{PWN}"></svg>
<iframe src="javascript:{PWN}"></iframe>
<form action="javascript:{PWN}"><button>Go</button></form>
</body></html>"""


# Chromium's own services (autofill asks about the login form): the browser's
# traffic, not the page's. They are refused like the rest, and not counted.
BROWSER_SERVICES = re.compile(
    r"^CONNECT (content-autofill|optimizationguide-pa|safebrowsing|update)\.googleapis\.com:443 "
)


class _Recorder(socketserver.StreamRequestHandler):
    """An HTTP proxy that notes each request line (GET http://… or CONNECT
    host:443) and refuses it."""

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1").strip()
        if line and not BROWSER_SERVICES.match(line):
            self.server.requests.append(line)  # type: ignore[attr-defined]
        self.wfile.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )


class RecordingProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    server = RecordingProxy()
    thread = threading.Thread(target=server.serve_forever, name="e2e-proxy", daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def guarded_page(
    browser: Browser, live_server: LiveServer, proxy: RecordingProxy, manager: User
) -> Iterator[Page]:
    """A logged-in manager's page whose every non-loopback request goes to *proxy*."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 800},
        proxy={"server": proxy.url, "bypass": "localhost,127.0.0.1"},
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, manager)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def spam_file(prefix: str) -> Path:
    (path,) = SPAM.glob(f"{prefix}.*")
    return path


def not_pwned(frame: Frame) -> None:
    assert frame.evaluate("() => typeof window.__pwned") == "undefined", frame.url


@pytest.fixture
def messages(manager: User) -> tuple[Case, list[InboundMessage]]:
    """The hostile messages, all delivered onto one case (through its plus address)."""
    section = cast(
        Section,
        SectionFactory(
            name="Support", code="SUPPORT", email="support@acme.example", responsible=manager
        ),
    )
    case = cast(
        Case,
        CaseFactory(
            section=section, state="open", subject="Spam folder", requester_email="pat@example.com"
        ),
    )
    envelope = [f"support+c{case.number}@acme.example"]
    delivered = []
    for prefix, pattern in HOSTILE_SPAM.items():
        raw = spam_file(prefix).read_bytes()
        assert pattern.search(raw), prefix
        delivered.append(deliver(raw, envelope_to=envelope))
    own = make_mail(
        sender="Mallory <mallory@attacker.example>",
        subject="Your invoice",
        body="See the HTML part.",
        html=HOSTILE_HTML,
    )
    delivered.append(deliver(own, envelope_to=envelope))
    for message in delivered:
        assert message.status == InboundMessage.Status.PROCESSED, message.reason
        assert message.case == case
        assert message.body_html, message.subject
    return case, delivered


def test_hostile_html_runs_nothing_and_fetches_nothing(
    guarded_page: Page, proxy: RecordingProxy, messages: tuple[Case, list[InboundMessage]]
) -> None:
    """Each message's HTML view and the case page: no script ran (in the page or
    the frame), no dialog, no request to another host; remote images wait for
    a click on "Load remote images"."""
    page = guarded_page
    case, delivered = messages
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    with_remote_images = 0
    for message in delivered:
        page.goto(reverse("mailgate:inbound_detail", args=[message.pk]) + "?view=html")
        frame = page.locator("iframe.mail-html")
        expect(frame).to_be_visible()
        assert frame.get_attribute("sandbox") == ""
        page.wait_for_load_state("load")
        if "data-remote-src" in message.body_html:
            with_remote_images += 1
            expect(page.get_by_role("link", name="Load remote images")).to_have_attribute(
                "href", "?view=html&images=1"
            )
        assert len(page.frames) == 2  # the page and the message
        for each in page.frames:
            not_pwned(each)
    assert with_remote_images >= 2

    page.goto(reverse("cases:detail", args=[case.number]))
    expect(page.get_by_text("See the HTML part.")).to_be_visible()
    page.wait_for_load_state("load")
    for each in page.frames:
        not_pwned(each)

    assert dialogs == []
    assert proxy.requests == [], "\n".join(proxy.requests)

    # The proxy does see the frame's requests: asked for, the remote images load
    # (the page's load event waits for the frame's images, the refused ones too).
    page.goto(reverse("mailgate:inbound_detail", args=[delivered[-1].pk]) + "?view=html&images=1")
    expect(page.get_by_role("link", name="Load remote images")).to_have_count(0)
    assert proxy.requests == ["GET http://tracker.example/open.gif HTTP/1.1"]
    for each in page.frames:
        not_pwned(each)
    assert dialogs == []
