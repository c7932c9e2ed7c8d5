"""Shared fixtures: the personas, and the switches for real services.

Personas (healthchecks-style): alice is an administrator, maria a manager,
bob an agent, charlie a logged-in user with no role, paula a portal user.
"""

from __future__ import annotations

import tempfile

import pytest
from django.test import Client

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from tests.factories import PASSWORD, UserFactory


def pytest_configure(config: pytest.Config) -> None:
    """Serve static files from the source tree (no collectstatic), and keep files
    the tests write out of the checkout. tests/test_static.py checks that the
    production manifest storage builds."""
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="goodwill-test-media-")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Hashing persona passwords with the production hasher costs ~0.3 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(username="alice", first_name="Alice", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def maria(db: None) -> User:
    return UserFactory(username="maria", first_name="Maria", roles=[Role.MANAGER])


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(username="bob", first_name="Bob", roles=[Role.AGENT])


@pytest.fixture
def charlie(db: None) -> User:
    return UserFactory(username="charlie", first_name="Charlie", roles=[])


@pytest.fixture
def paula(db: None) -> User:
    return UserFactory(username="paula", first_name="Paula", roles=[Role.PORTAL])


def login(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def alice_client(alice: User) -> Client:
    return login(alice)


@pytest.fixture
def maria_client(maria: User) -> Client:
    return login(maria)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return login(bob)


@pytest.fixture
def charlie_client(charlie: User) -> Client:
    return login(charlie)


@pytest.fixture
def paula_client(paula: User) -> Client:
    return login(paula)


@pytest.fixture(autouse=True)
def _seeded_case_types(request: pytest.FixtureRequest) -> None:
    """Transactional tests (browser tests among them) empty every table after they
    run, the rows migrations seeded included; put the seeded case types back."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from goodwill.cases.seed import case_types_ensure

    case_types_ensure()


@pytest.fixture(autouse=True)
def _fresh_mail_config() -> None:
    """The gateway caches its configuration per process; a test's rolled-back
    sections must not outlive it."""
    from goodwill.mailgate.pipeline import config_clear

    config_clear()


@pytest.fixture(autouse=True)
def _fresh_automation_caches() -> None:
    """Rules and SLA policies are cached per process too; a test's rolled-back
    rules must not fire in the next test."""
    from goodwill.automation.engine import rules_clear
    from goodwill.automation.sla import policies_clear

    rules_clear()
    policies_clear()
