"""API clients for the personas, shared by the API tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from goodwill.accounts.models import User


def api(user: User | None = None) -> APIClient:
    """A JSON client, logged in as *user* (anonymous without one)."""
    client = APIClient()
    client.default_format = "json"
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def alice_api(alice: User) -> APIClient:
    return api(alice)


@pytest.fixture
def maria_api(maria: User) -> APIClient:
    return api(maria)


@pytest.fixture
def bob_api(bob: User) -> APIClient:
    return api(bob)
