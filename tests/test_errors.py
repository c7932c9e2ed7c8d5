"""Error pages keep the site's look, and an htmx request gets a small fragment."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import include, path


def boom(request: object) -> None:
    raise RuntimeError("deliberate failure for the 500 page")


urlpatterns = [path("boom/", boom), path("", include("goodwill.urls"))]
handler500 = "goodwill.lib.sitepages.server_error"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.test_errors")
def test_a_crash_shows_the_500_page_in_the_site_look(bob_client: Client) -> None:
    bob_client.raise_request_exception = False
    response = bob_client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "deliberate failure" not in html  # no internals leak
    assert 'rel="icon"' in html


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.test_errors")
def test_a_crash_under_htmx_returns_a_fragment(bob_client: Client) -> None:
    bob_client.raise_request_exception = False
    response = bob_client.get("/boom/", HTTP_HX_REQUEST="true")
    assert response.status_code == 500
    assert response.content.decode().startswith('<div class="alert alert-error"')


def test_404_and_403_pages(bob_client: Client, charlie_client: Client) -> None:
    missing = bob_client.get("/no/such/page/")
    assert missing.status_code == 404
    assert "There is nothing here" in missing.content.decode()
    refused = charlie_client.get("/partners/")
    assert refused.status_code == 403
    assert "no access to the staff interface" in refused.content.decode()


def test_favicon_and_health_check(db: None) -> None:
    assert Client().get("/favicon.ico")["Location"].endswith("goodwill/favicon.svg")
    assert Client().get("/healthz").json() == {"status": "ok"}


def test_pages_forbid_inline_scripts(bob_client: Client) -> None:
    """Scripts come only from our origin; the pages themselves carry no inline script."""
    response = bob_client.get("/partners/new/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    html = response.content.decode()
    assert "<script>" not in html
    assert response["X-Frame-Options"] == "DENY"
