"""Background tasks of the sales app: each fetches by id and calls a service."""

from __future__ import annotations

from django_tasks import task

from goodwill.sales import casework, imports
from goodwill.sales.models import RequestInvoicing, SalesImport


@task()
def sales_import_run_task(import_id: int) -> None:
    job = SalesImport.objects.get(pk=import_id)
    imports.sales_import_run(job=job)


@task()
def request_invoicing_task(job_id: int) -> None:
    job = RequestInvoicing.objects.select_related("created_by").get(pk=job_id)
    casework.request_invoicing_run(job=job)
