"""Background tasks: each fetches by id and calls automation, nothing else."""

from __future__ import annotations

from django_tasks import task


@task()
def webhook_send_task(delivery_id: int) -> str:
    from goodwill.automation.models import WebhookDelivery
    from goodwill.automation.webhooks import webhook_send

    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    webhook_send(delivery)
    delivery.refresh_from_db()
    return delivery.status


@task()
def time_rules_task(case_ids: list[int]) -> int:
    from goodwill.automation.timed import time_rules_fire

    return time_rules_fire(case_ids)


@task()
def sla_check_task(case_ids: list[int]) -> int:
    from goodwill.automation.sla import sla_check

    return sla_check(case_ids)


@task()
def schedule_rebuild_task(job_id: int | None = None) -> int:
    """After a time rule changes: recompute every active case's next due time.

    Without a job id (a task queued before the jobs existed) it runs unreported."""
    from goodwill.automation.models import ScheduleRebuild
    from goodwill.automation.timed import schedule_rebuild

    if job_id is None:
        return schedule_rebuild()
    job = ScheduleRebuild.objects.filter(pk=job_id).first()
    if job is None:
        return 0
    return schedule_rebuild(job=job)
