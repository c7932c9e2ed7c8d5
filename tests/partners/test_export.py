"""The partner export runs in the real worker (django-tasks-db's), not inline."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from goodwill.accounts.models import User
from goodwill.lib.jobs import JobStatus
from goodwill.partners import services
from goodwill.partners.models import PartnerExport
from tests.factories import CategoryFactory, PartnerFactory, PersonFactory

# The worker commits and closes connections like in production, so these tests
# run outside the usual test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)


def test_csv_export_of_the_filtered_list_through_the_worker(bob_client: Client, bob: User) -> None:
    """The button queues a job; the worker writes the file with progress; the
    owner downloads exactly the filtered partners, formula cells neutralised."""
    gold = CategoryFactory(name="Gold")
    PartnerFactory(name="Müller AG", is_customer=True, categories=[gold], emails=["a@m.example"])
    PartnerFactory(name="=HYPERLINK(evil)", is_customer=True)
    PartnerFactory(name="Supplier Only", is_supplier=True)

    response = bob_client.post(
        "/partners/exports/new/", {"format": "csv", "role": "customer", "sort": "name"}
    )
    export = PartnerExport.objects.get()
    assert response["Location"] == f"/partners/exports/{export.pk}/"
    assert export.status == JobStatus.QUEUED
    assert "Waiting for the worker" in bob_client.get(response["Location"]).content.decode()

    run_worker()

    export.refresh_from_db()
    assert export.status == JobStatus.DONE
    assert (export.row_count, export.progress_done, export.progress_total) == (2, 2, 2)
    page = bob_client.get(f"/partners/exports/{export.pk}/", HTTP_HX_REQUEST="true")
    assert "Ready: 2 rows." in page.content.decode()
    assert "hx-trigger" not in page.content.decode()  # polling stops when finished

    download = bob_client.get(f"/partners/exports/{export.pk}/download/")
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="partners-' in download["Content-Disposition"]
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["id", "kind", "name"]
    names = sorted(row[2] for row in rows[1:])
    assert names == ["'=HYPERLINK(evil)", "Müller AG"]
    muller = next(row for row in rows if row[2] == "Müller AG")
    assert muller[8] == "Gold"
    assert muller[9] == "a@m.example"


def test_xlsx_export_opens_in_a_spreadsheet(bob_client: Client, bob: User) -> None:
    PersonFactory(name="Zoë Ångström")
    services.partner_export_request(by=bob, filters={"kind": "person"}, fmt="xlsx")
    run_worker()
    export = PartnerExport.objects.get()
    download = bob_client.get(f"/partners/exports/{export.pk}/download/")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][2] == "name"
    assert values[1][2] == "Zoë Ångström"
    assert values[1][1] == "Person"


def test_exports_are_private_to_their_owner(bob: User, maria_client: Client) -> None:
    """Another agent cannot see or download someone else's export (404, not 403)."""
    export = services.partner_export_request(by=bob, filters={}, fmt="csv")
    run_worker()
    assert maria_client.get(f"/partners/exports/{export.pk}/").status_code == 404
    assert maria_client.get(f"/partners/exports/{export.pk}/download/").status_code == 404


def test_export_list_shows_the_users_exports(bob_client: Client, bob: User) -> None:
    services.partner_export_request(by=bob, filters={}, fmt="xlsx")
    html = bob_client.get("/partners/exports/").content.decode()
    assert "Excel (XLSX)" in html
    assert "Queued" in html


def test_a_failed_export_shows_its_error(bob: User, bob_client: Client) -> None:
    """A broken job ends as failed with its message on the page."""
    export = services.partner_export_request(by=bob, filters={"sort": "name"}, fmt="csv")
    PartnerExport.objects.filter(pk=export.pk).update(filters={"category": "not-a-number"})
    run_worker()
    export.refresh_from_db()
    assert export.status == JobStatus.FAILED
    assert "The export failed" in bob_client.get(f"/partners/exports/{export.pk}/").content.decode()


def test_a_job_is_built_once_even_if_enqueued_twice(bob: User) -> None:
    """The second run finds the job claimed and leaves it alone."""
    PartnerFactory()
    export = services.partner_export_request(by=bob, filters={}, fmt="csv")
    run_worker()
    export.refresh_from_db()
    first_file = export.file.name
    services.partner_export_build(export=export)
    export.refresh_from_db()
    assert export.file.name == first_file
    assert export.status == JobStatus.DONE


def test_bad_format_is_refused(bob_client: Client) -> None:
    response = bob_client.post("/partners/exports/new/", {"format": "pdf"}, follow=True)
    assert "Choose CSV or XLSX." in response.content.decode()
    assert not PartnerExport.objects.exists()


def test_old_exports_are_pruned_with_their_files(bob: User) -> None:
    """A new export clears finished exports past the retention period, files included."""
    old = services.partner_export_request(by=bob, filters={}, fmt="csv")
    run_worker()
    old.refresh_from_db()
    path = old.file.path
    PartnerExport.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=30))
    services.partner_export_request(by=bob, filters={}, fmt="csv")
    run_worker()
    assert not PartnerExport.objects.filter(pk=old.pk).exists()
    assert not Path(path).exists()
    assert PartnerExport.objects.count() == 1
