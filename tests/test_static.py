"""Production serves static files from a hashed manifest (whitenoise). Every file a
template names must be in it, or the page fails with a 500 in production only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from tests.factories import PartnerFactory

MANIFEST = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.mark.django_db
def test_pages_render_with_the_production_manifest(tmp_path: Path, bob_client: Client) -> None:
    partner = PartnerFactory(name="Acme")
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=MANIFEST, WHITENOISE_USE_FINDERS=False):
        # (Django resets the cached storage when STORAGES changes.)
        call_command("collectstatic", interactive=False, verbosity=0)
        assert (tmp_path / "staticfiles.json").exists()
        for url in ("/partners/", f"/partners/{partner.pk}/", "/partners/new/"):
            response = bob_client.get(url)
            assert response.status_code == 200, url
            assert re.search(r"/static/goodwill/app\.[0-9a-f]{12}\.css", response.content.decode())
        assert Client().get("/accounts/login/").status_code == 200


def test_vendored_libraries_are_recorded() -> None:
    """Each vendored library has its licence beside it and a line in the README."""
    vendor = Path(__file__).resolve().parents[1] / "goodwill" / "static" / "vendor"
    readme = (vendor / "README.md").read_text()
    for library in (p for p in vendor.iterdir() if p.is_dir()):
        assert (library / "LICENSE").exists(), library.name
        assert f"`{library.name}/" in readme, library.name
