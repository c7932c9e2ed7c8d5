"""Operational records that belong to no business app."""

from __future__ import annotations

from django.db import models


class SchedulerLease(models.Model):
    """Who runs the scheduler: only one process at a time holds the lease, and
    it renews it on every tick. A crashed holder's lease simply runs out."""

    name = models.CharField(max_length=50, unique=True)
    holder = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder}"
