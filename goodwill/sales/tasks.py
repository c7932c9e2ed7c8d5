"""Background tasks of the sales app: each fetches by id and calls a service."""

from __future__ import annotations

from django_tasks import task

from goodwill.sales import imports
from goodwill.sales.models import SalesImport


@task()
def sales_import_run_task(import_id: int) -> None:
    job = SalesImport.objects.get(pk=import_id)
    imports.sales_import_run(job=job)
