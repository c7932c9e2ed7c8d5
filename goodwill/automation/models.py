"""Automation: rules on cases, SLA policies on business calendars, email templates.

Models hold data only; :mod:`goodwill.automation.services` changes them and
:mod:`goodwill.automation.engine` runs the rules. A rule's conditions and
actions are JSON documents checked by :mod:`goodwill.automation.spec` when the
rule is saved, so the engine never meets one it cannot read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from goodwill.cases.models import Case, CaseType, Section
from goodwill.lib.jobs import BackgroundJob
from goodwill.partners.models import Category


class BusinessCalendar(models.Model):
    """Working hours per weekday, holidays and a time zone: what SLA clocks count."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # [{"weekday": 0, "start": "09:00", "end": "17:00"}, …] (0 is Monday)
    hours = models.JSONField(default=list, blank=True)
    # [{"date": "2026-12-25", "name": "Christmas"}, …]
    holidays = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Targets for a first response and a resolution, in business hours.

    The first active policy in sequence order whose criteria all hold applies
    to a case; an empty criterion holds for every case.
    """

    name = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField(default=10)
    active = models.BooleanField(default=True)
    section = models.ForeignKey(Section, null=True, blank=True, on_delete=models.CASCADE)
    case_type = models.ForeignKey(CaseType, null=True, blank=True, on_delete=models.CASCADE)
    priority = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Only cases of this priority (empty: any)."
    )
    partner_category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: the clock runs around the clock.",
    )
    first_response_hours = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True
    )
    resolution_hours = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    pause_when_pending = models.BooleanField(
        default=True, help_text="Stop the clocks while the case waits on the customer."
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        default=80, help_text="A clock is at risk once this share of its target is used."
    )

    class Meta:
        ordering = ["sequence", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SlaStatus(models.TextChoices):
    NONE = "", "No target"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"


class CaseSla(models.Model):
    """The SLA clocks of one case. ``next_check_at`` (indexed) is when the
    scheduler must look at it again: at risk, or at breach."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="sla")
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField()
    first_response_due = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_risk_at = models.DateTimeField(null=True, blank=True)
    first_response_status = models.CharField(
        max_length=10, choices=SlaStatus.choices, blank=True, default=""
    )
    resolution_due = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_risk_at = models.DateTimeField(null=True, blank=True)
    resolution_status = models.CharField(
        max_length=10, choices=SlaStatus.choices, blank=True, default=""
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=SlaStatus.choices, blank=True, default="", db_index=True
    )
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "case SLA"

    def __str__(self) -> str:
        return f"SLA of case {self.case_id}"


class Rule(models.Model):
    """When something happens to a case (or some time after), if conditions
    hold, do actions."""

    class Trigger(models.TextChoices):
        CREATED = "created", "A case is created"
        STATE = "state", "The state changes"
        MESSAGE_IN = "message_in", "A message is received"
        MESSAGE_OUT = "message_out", "A message is sent"
        FIELD = "field", "A field changes"
        TIME = "time", "Some time has passed"
        SLA = "sla", "An SLA clock is at risk or breached"

    class TimeBase(models.TextChoices):
        CREATED = "created", "after creation"
        LAST_ACTION = "last_action", "after the last action"
        DEADLINE = "deadline", "after the deadline"
        NEXT_ACTION = "next_action", "after the next-action time"
        SLA_RESOLUTION = "sla_resolution", "after the SLA resolution due time"
        SLA_RESPONSE = "sla_response", "after the SLA first-response due time"

    class TimeUnit(models.TextChoices):
        MINUTES = "minutes", "minutes"
        HOURS = "hours", "hours"
        DAYS = "days", "days"
        MONTHS = "months", "months"

    name = models.CharField(max_length=150)
    sequence = models.PositiveIntegerField(default=10)
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    stop = models.BooleanField(
        "stop here", default=False, help_text="When this rule fires, evaluate no further rules."
    )
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: every section."
    )
    case_type = models.ForeignKey(
        CaseType, null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: every type."
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.CREATED)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10, blank=True, help_text='A state, or "escalated".')
    field_name = models.CharField(max_length=50, blank=True)
    sla_event = models.CharField(
        max_length=10,
        blank=True,
        choices=[("at_risk", "at risk"), ("breached", "breached")],
        help_text="For the SLA trigger: empty means either.",
    )
    time_amount = models.PositiveIntegerField(default=0)
    time_unit = models.CharField(max_length=10, choices=TimeUnit.choices, default=TimeUnit.HOURS)
    time_base = models.CharField(max_length=20, choices=TimeBase.choices, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list, blank=True)
    fire_count = models.PositiveIntegerField(default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sequence", "id"]

    def __str__(self) -> str:
        return self.name


class RuleFiring(models.Model):
    """A time rule fired on a case for one due time: never again for it."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "case", "key"], name="rulefiring_once")
        ]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on case {self.case_id}: {self.key}"


class RuleLog(models.Model):
    """One evaluation of the rules for an event on a case: which matched, and
    for the others the first condition that failed."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    case = models.ForeignKey(Case, null=True, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=50)
    depth = models.PositiveSmallIntegerField(default=0)
    # [{"rule": id, "name": str, "matched": bool, "failed": str, "actions": [str], "errors": [str]}]
    results = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} on case {self.case_id}"


class CaseSchedule(models.Model):
    """When a time rule may next be due on a case (indexed: the scheduler reads
    only the due ones, never every case)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="+")
    next_due_at = models.DateTimeField(null=True, db_index=True)

    def __str__(self) -> str:
        return f"case {self.case_id} due {self.next_due_at}"


class RoundRobin(models.Model):
    """Who in a section was assigned last by a round-robin action."""

    section = models.OneToOneField(Section, on_delete=models.CASCADE, related_name="+")
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"round robin of section {self.section_id}"


class EmailTemplate(models.Model):
    """A named email, in a language ("" is the default one)."""

    code = models.SlugField(max_length=50)
    language = models.CharField(max_length=10, blank=True)
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code", "language"]
        constraints = [
            models.UniqueConstraint(fields=["code", "language"], name="emailtemplate_code_language")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})" if self.language else self.name


class WebhookDelivery(models.Model):
    """One POST of a rule's webhook: signed, retried with backoff, logged."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="+")
    case = models.ForeignKey(Case, null=True, on_delete=models.SET_NULL, related_name="+")
    url = models.URLField(max_length=500)
    payload = models.JSONField()
    signature = models.CharField(
        max_length=100, blank=True, help_text="sha256=<hex HMAC of the body with the secret>"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.status})"


class RouteTable(models.Model):
    """A section's routing table: its routes (:class:`Route`) and what happens
    to a new case none of them matches. Saved only through
    :func:`goodwill.automation.routing.route_table_save`, which compiles it to rules."""

    class Fallback(models.TextChoices):
        NONE = "none", "Nothing (leave the case unassigned)"
        SECTION_RESPONSIBLE = "section_responsible", "The section's responsible person"
        ROUND_ROBIN = "round_robin", "Round robin (each member in turn)"
        LEAST_LOADED = "least_loaded", "Least loaded (fewest open cases)"

    section = models.OneToOneField(Section, on_delete=models.CASCADE, related_name="route_table")
    fallback = models.CharField(max_length=20, choices=Fallback.choices, default=Fallback.NONE)
    fallback_rule = models.OneToOneField(
        Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="fallback_of"
    )

    def __str__(self) -> str:
        return f"routing table of section {self.section_id}"


class Route(models.Model):
    """One line of a section's routing table (iDempiere's R_RequestProcessor_Route):
    a new case of this type and/or with one of these keywords in its subject
    moves to a section and/or goes to a person. ``rule`` is the rule it compiles to."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="routes")
    sequence = models.PositiveIntegerField()
    case_type = models.ForeignKey(CaseType, null=True, blank=True, on_delete=models.CASCADE)
    keywords = models.TextField(
        blank=True, help_text="Separated by commas or lines; matched in the subject, any case."
    )
    # PROTECT: a compiled rule must never point at a section or user that is gone.
    to_section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rule = models.OneToOneField(
        Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="route"
    )

    class Meta:
        ordering = ["section", "sequence", "id"]
        constraints = [
            models.UniqueConstraint(fields=["section", "sequence"], name="route_section_sequence"),
            models.CheckConstraint(
                condition=models.Q(case_type__isnull=False) | ~models.Q(keywords=""),
                name="route_type_or_keywords",
            ),
            models.CheckConstraint(
                condition=models.Q(to_section__isnull=False) | models.Q(to_user__isnull=False),
                name="route_has_target",
            ),
        ]

    def __str__(self) -> str:
        return f"route {self.sequence} of section {self.section_id}"


class ScheduleRebuild(BackgroundJob):
    """Recomputing every active case's :class:`CaseSchedule` after a time rule
    was saved; the rules pages show its progress while it runs."""

    # Rules can be saved by the system, and the job outlives its user.
    created_by = models.ForeignKey(  # type: ignore[assignment]  # nullable here
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rule = models.ForeignKey(
        Rule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The time rule whose save started the rebuild.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Schedule rebuild #{self.pk} ({self.status})"
