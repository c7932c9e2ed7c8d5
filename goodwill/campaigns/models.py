"""Marketing campaigns: the minimal part that documents and cases refer to.

A campaign is a name and a code, a channel, a period, a budget and the costs
incurred so far. Orders, invoices and cases carry the campaign that brought
them, so that what a campaign cost can be set against what it earned.

The model sits low in the app stack on purpose: cases (below sales) and the
commercial documents must be able to point at a campaign, while the parts of
this app that read sales (mailings, attribution reports) sit above sales.
This module imports nothing from the other apps.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Campaign(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEB = "web", "Web"
        SOCIAL = "social", "Social media"
        SEARCH = "search", "Search advertising"
        PHONE = "phone", "Phone"
        EVENT = "event", "Event or trade show"
        PRINT = "print", "Print or direct mail"
        PARTNER = "partner", "Partner or referral"
        OTHER = "other", "Other"

    name = models.CharField(max_length=150)
    code = models.SlugField(
        max_length=40,
        unique=True,
        help_text="Short and unique; imports and tracking links refer to the campaign by it.",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    budget = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    actual_cost = models.DecimalField(
        "actual costs",
        max_digits=18,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="In the company currency.",
    )
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-start_date", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="campaign_period_ordered",
                violation_error_message="The campaign cannot end before it starts.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
