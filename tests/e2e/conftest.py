"""Browser tests: a real Chromium, driven through Playwright, against the live server.

Chromium is Debian's (``apt-get install chromium``), found at ``/usr/bin/chromium``
or at the path in the ``CHROMIUM`` environment variable; Playwright's own browser
downloads are never used. Without Chromium the browser tests are skipped, with a
banner at the end of the run saying so, unless ``GOODWILL_REQUIRE_BROWSER=1`` (CI)
is set: then each browser test fails with the reason.

The export runs in the background worker, so a real ``db_worker`` loop runs in a
thread next to the live server while a test asks for ``task_worker``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from tests.factories import PASSWORD, UserFactory

if TYPE_CHECKING:
    from django_tasks_db.management.commands.db_worker import Worker
    from playwright.sync_api import Browser, BrowserContext, Page
    from pytest_django.live_server_helper import LiveServer

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Keep Chromium off the internet: no update checks, no component downloads.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The login form would otherwise ask an autofill service about its fields.
    "--disable-features=AutofillServerCommunication",
]
# Generous for a loaded CI machine; a passing run waits far less.
TIMEOUT_MS = 15_000
SKIP_MARK = "BROWSER TESTS SKIPPED"
FAIL_MARK = "BROWSER TESTS CANNOT RUN"

_missing_key = pytest.StashKey[str | None]()
_chromium_key = pytest.StashKey["_Chromium"]()
_failed_key = pytest.StashKey[bool]()


def chromium_path() -> str:
    return os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM


def browser_required() -> bool:
    return os.environ.get("GOODWILL_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    path = chromium_path()
    resolved = shutil.which(path) if os.sep not in path else path
    if not resolved or not os.path.isfile(resolved) or not os.access(resolved, os.X_OK):
        return f"chromium not found at {path}; install it with apt-get install chromium"
    return None


def is_e2e(item: pytest.Item) -> bool:
    return item.get_closest_marker("e2e") is not None


# --------------------------------------------------------------------------
# Skip, or fail, when there is no browser


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e = [item for item in items if is_e2e(item)]
    reason = why_no_browser() if e2e else None
    config.stash[_missing_key] = reason
    if reason is None or browser_required():
        return
    skip = pytest.mark.skip(reason=f"{SKIP_MARK}: {reason}")
    for item in e2e:
        item.add_marker(skip)


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = item.config.stash.get(_missing_key, None)
    if reason and browser_required() and is_e2e(item):
        pytest.fail(f"{FAIL_MARK}: {reason} (GOODWILL_REQUIRE_BROWSER is set)", pytrace=False)


def _reports_with(terminalreporter: Any, category: str, mark: str) -> int:
    return sum(
        1
        for report in terminalreporter.stats.get(category, [])
        if mark in str(getattr(report, "longrepr", "") or "")
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reason = config.stash.get(_missing_key, None)
    if not reason:
        return
    skipped = _reports_with(terminalreporter, "skipped", SKIP_MARK)
    failed = _reports_with(terminalreporter, "error", FAIL_MARK) + _reports_with(
        terminalreporter, "failed", FAIL_MARK
    )
    if not skipped and not failed:
        return
    if failed:
        title = f"{FAIL_MARK}: {failed} FAILED"
        detail = "GOODWILL_REQUIRE_BROWSER is set, so a missing browser fails the run."
    else:
        title = f"{SKIP_MARK}: {skipped} NOT RUN"
        detail = "The rest of the suite ran; the browser journeys were NOT tested."
    write = terminalreporter.write_line
    terminalreporter.write_sep("#", title, red=True, bold=True)
    write("#", red=True, bold=True)
    write(f"#   {title}: {reason}", red=True, bold=True)
    write(f"#   {detail}", red=True, bold=True)
    write("#   Set CHROMIUM=/path/to/chromium if it is installed elsewhere.", red=True, bold=True)
    write("#", red=True, bold=True)
    terminalreporter.write_sep("#", title, red=True, bold=True)


# --------------------------------------------------------------------------
# The browser


class _Chromium:
    """One Chromium for a run of consecutive browser tests.

    Playwright's sync API keeps an asyncio loop marked as running on the main
    thread for as long as it is started, and Django refuses database access from
    a thread with a running loop. So Django's check is relaxed only while the
    browser is up, and the browser is stopped as soon as the next test is not a
    browser test (pytest-django runs the transactional tests together, so in a
    normal run this is once per session).
    """

    ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Browser | None = None
        self._saved: str | None = None

    def get(self) -> Browser:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._saved = os.environ.get(self.ASYNC_UNSAFE)
            os.environ[self.ASYNC_UNSAFE] = "true"
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
            )
        return self._browser

    def stop(self) -> None:
        if self._playwright is None:
            return
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._playwright.stop()
            self._playwright = self._browser = None
            if self._saved is None:
                os.environ.pop(self.ASYNC_UNSAFE, None)
            else:
                os.environ[self.ASYNC_UNSAFE] = self._saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        return (yield)
    finally:
        chromium = item.config.stash.get(_chromium_key, None)
        if chromium is not None and (nextitem is None or not is_e2e(nextitem)):
            chromium.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    chromium = session.config.stash.get(_chromium_key, None)
    if chromium is not None:
        chromium.stop()


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Browser:
    config = request.config
    if _chromium_key not in config.stash:
        config.stash[_chromium_key] = _Chromium()
    return config.stash[_chromium_key].get()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, pointed at the live server."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_failed_key] = report.failed
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest, context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any uncaught JavaScript error.

    When the test fails, a screenshot and the HTML of the page are left in
    test-results/e2e/ for the post-mortem.
    """
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    if request.node.stash.get(_failed_key, False):
        out = request.config.rootpath / "test-results" / "e2e"
        out.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=out / f"{stem}.png", full_page=True)
        (out / f"{stem}.html").write_text(page.content(), encoding="utf-8")
        print(f"The failing page ({page.url}) is saved in {out}/{stem}.png and .html")
    assert not errors, f"JavaScript errors on the page: {errors}"


# --------------------------------------------------------------------------
# People and the worker


@pytest.fixture
def manager(transactional_db: None) -> User:
    return UserFactory(username="maria", first_name="Maria", roles=[Role.MANAGER])


def log_in(page: Page, user: User) -> None:
    """Log in through the login form, as a person would."""
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
    page.wait_for_load_state("load")


@pytest.fixture
def manager_page(page: Page, manager: User) -> Page:
    log_in(page, manager)
    return page


@pytest.fixture
def task_worker(transactional_db: None) -> Iterator[Worker]:
    """A real django-tasks-db worker, polling in a thread while the test runs.

    It lives for one test rather than the session: between tests pytest-django
    blocks database access process-wide and empties the tables, and a worker
    polling then would crash or race the flush.
    """
    from django.db import connections
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=["*"],
        interval=0.2,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="e2e",
        excluded_queue_names=[],
    )
    crashed: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except BaseException as exc:
            crashed.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="e2e-task-worker", daemon=True)
    thread.start()
    yield worker
    worker.running = False
    thread.join(timeout=30)
    assert not thread.is_alive(), "the task worker did not stop within 30 s"
    assert not crashed, f"the task worker crashed: {crashed[0]!r}"
