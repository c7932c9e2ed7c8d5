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
def schedule_rebuild_task() -> int:
    """After a time rule changes: recompute every active case's next due time."""
    from goodwill.automation.timed import schedule_rebuild

    return schedule_rebuild()
