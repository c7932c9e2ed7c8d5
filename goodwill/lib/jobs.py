"""Background jobs that users wait for: a status, a progress bar and an outcome.

Long work (exports, imports, segment computation, campaign sends) is modelled as a
concrete subclass of :class:`BackgroundJob` owned by its app; the task that does
the work reports progress through :func:`job_progress`, and the page polls the
job's status fragment (``templates/includes/job_progress.html``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BackgroundJob(models.Model):
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.DONE, JobStatus.FAILED}

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.status == JobStatus.DONE else None
        return min(100, round(100 * self.progress_done / self.progress_total))


def job_claim(job: BackgroundJob) -> bool:
    """Move a queued job to running; False if another worker already has it."""
    model: Any = type(job)
    now = timezone.now()
    claimed = model.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now
    )
    if claimed == 1:
        job.status, job.started_at = JobStatus.RUNNING, now
    return claimed == 1


def job_progress(job: BackgroundJob, *, done: int, total: int | None = None) -> None:
    """Record progress; written with an UPDATE so the page sees it at once."""
    model: Any = type(job)
    fields: dict[str, Any] = {"progress_done": done}
    if total is not None:
        fields["progress_total"] = total
    model.objects.filter(pk=job.pk).update(**fields)
    job.progress_done = done
    if total is not None:
        job.progress_total = total


def job_finish(job: BackgroundJob, *, error: str = "", **fields: Any) -> None:
    model: Any = type(job)
    values: dict[str, Any] = {
        "status": JobStatus.FAILED if error else JobStatus.DONE,
        "error": error,
        "finished_at": timezone.now(),
        **fields,
    }
    model.objects.filter(pk=job.pk).update(**values)
    for name, value in values.items():
        setattr(job, name, value)
