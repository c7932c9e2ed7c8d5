"""Background tasks: each fetches by id and calls a service, nothing else."""

from __future__ import annotations

from django.conf import settings
from django_tasks import task

from goodwill.partners import services
from goodwill.partners.models import PartnerExport


@task()
def partner_export_run(export_id: int) -> None:
    export = PartnerExport.objects.get(pk=export_id)
    services.partner_export_build(export=export)


@task()
def partner_exports_prune() -> int:
    return services.partner_exports_prune(older_than_days=settings.EXPORT_RETENTION_DAYS)
