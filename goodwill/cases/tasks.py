"""Background tasks: each fetches by id and calls a service, nothing else."""

from __future__ import annotations

from django_tasks import task

from goodwill.cases import services
from goodwill.partners.models import Partner


@task()
def cases_search_refresh_run(partner_id: int) -> int:
    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        return 0
    return services.cases_search_refresh(partner=partner)
