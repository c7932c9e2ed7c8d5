"""Cases: everything a business follows up with a partner, in one model.

A helpdesk request, a claim, a lead or opportunity, a bug, a service visit, an
expense claim, a call or a meeting is a ``Case``; its ``CaseType`` decides which
groups of fields its form shows. Cases live in ``Section``s (teams, queues) whose
parent chain is the escalation path. Models hold data only: every change goes
through ``goodwill.cases.services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.partners.models import Address, Partner, TimelineEntry


class Section(models.Model):
    """A team or queue. Its parent is where its cases escalate to."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Whole staff"
        MEMBERS = "members", "Members only"

    name = models.CharField(max_length=100)
    code = models.CharField(
        max_length=30,
        unique=True,
        help_text="Short unique code, e.g. SUPPORT; the email gateway routes by it.",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name="escalates to",
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Receives escalations and approves expense claims.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="case_sections"
    )
    email = models.EmailField(
        "inbound / reply-to address",
        blank=True,
        help_text="Mail to this address opens cases here; replies go out from it.",
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CaseType(models.Model):
    """What kind of case this is, and which groups of fields its form shows."""

    class FieldGroup(models.TextChoices):
        CLAIM = "claim", "Claim (root cause, corrective and preventive action)"
        OPPORTUNITY = "opportunity", "Opportunity (revenue, cost, probability)"
        SERVICE = "service", "Service visit (location, schedule, technician)"
        EXPENSE = "expense", "Expense (amount, receipts, approval)"
        MEETING = "meeting", "Meeting or call (start, end, attendees)"

    name = models.CharField(max_length=60, unique=True)
    code = models.SlugField(max_length=30, unique=True)
    field_groups = models.JSONField(default=list, blank=True)
    default_section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    billable = models.BooleanField(default=False)
    final_close = models.BooleanField(
        "done is final",
        default=False,
        help_text="A done case of this type is read-only for good (final close).",
    )
    sequence = models.PositiveIntegerField(default=10)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sequence", "name"]

    def __str__(self) -> str:
        return self.name

    def has(self, group: str) -> bool:
        return group in (self.field_groups or [])

    @property
    def is_scheduled(self) -> bool:
        """Shown on the calendar: service visits, meetings and calls."""
        return self.has(self.FieldGroup.SERVICE) or self.has(self.FieldGroup.MEETING)


class CaseCategory(models.Model):
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=100)
    default_probability = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Copied to a case's probability (%) when the category is chosen.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "case categories"
        constraints = [
            models.UniqueConstraint(
                fields=["section", "name"],
                name="cases_category_unique_name",
                violation_error_message="This section already has a category with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """A step of a section's pipeline: a kanban column."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=60)
    sequence = models.PositiveIntegerField(default=10)
    probability = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    folded = models.BooleanField(default=False, help_text="Shown collapsed on the kanban.")

    class Meta:
        ordering = ["sequence", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "name"],
                name="cases_stage_unique_name",
                violation_error_message="This section already has a stage with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CaseState(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    CANCEL = "cancel", "Cancelled"


CLOSED_STATES = (CaseState.DONE, CaseState.CANCEL)
ACTIVE_STATES = (CaseState.DRAFT, CaseState.OPEN, CaseState.PENDING)


class Priority(models.IntegerChoices):
    HIGHEST = 1, "1 Highest"
    HIGH = 2, "2 High"
    NORMAL = 3, "3 Normal"
    LOW = 4, "4 Low"
    LOWEST = 5, "5 Lowest"


class Case(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        WEB = "web", "Website"
        PORTAL = "portal", "Portal"
        CHAT = "chat", "Chat"
        IN_PERSON = "in_person", "In person"
        OTHER = "other", "Other"

    class ClaimSubject(models.TextChoices):
        CUSTOMER = "customer", "Customer claim"
        SUPPLIER = "supplier", "Supplier claim"

    class Approval(models.TextChoices):
        NONE = "", "Not submitted"
        REQUESTED = "requested", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    number = models.PositiveBigIntegerField(unique=True, editable=False)
    subject = models.CharField(max_length=250)
    description = models.TextField(blank=True)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="cases")
    category = models.ForeignKey(
        CaseCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    state = models.CharField(max_length=10, choices=CaseState.choices, default=CaseState.DRAFT)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases_responsible",
    )
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    contact = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases_as_contact"
    )
    requester_email = models.CharField(max_length=254, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    next_action_at = models.DateTimeField("next action", null=True, blank=True)
    next_action = models.CharField("next action (what)", max_length=200, blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        help_text="The campaign that brought this request or lead.",
    )
    related = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="related case",
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    final = models.BooleanField(default=False, help_text="Final-closed: read-only.")

    # Opportunity (and any billable case).
    planned_revenue = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    planned_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    expected_close = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True)

    # Claim (ISO 9001 corrective and preventive action).
    claim_subject = models.CharField(max_length=10, choices=ClaimSubject.choices, blank=True)
    claim_product = models.CharField("product concerned", max_length=200, blank=True)
    root_cause = models.TextField(blank=True)
    corrective_action = models.TextField(blank=True)
    preventive_action = models.TextField(blank=True)

    # Service visit, meeting and call.
    location_address = models.ForeignKey(
        Address, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    location_text = models.CharField("location", max_length=250, blank=True)
    scheduled_start = models.DateTimeField("start", null=True, blank=True)
    scheduled_end = models.DateTimeField("end", null=True, blank=True)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    attendees = models.ManyToManyField(Partner, blank=True, related_name="meetings")
    attendee_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="meetings"
    )

    # Expense claim.
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    approval = models.CharField(
        max_length=10, choices=Approval.choices, blank=True, default=Approval.NONE
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    # Kept up to date by the services.
    message_count = models.PositiveIntegerField(default=0)
    search_text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("view_all_cases", "Can see the cases of every section"),
            ("merge_case", "Can merge cases"),
            ("view_case_reports", "Can see case reports"),
        ]
        indexes = [
            models.Index(fields=["updated_at", "id"], name="case_updated_id"),
            models.Index(fields=["created_at", "id"], name="case_created_id"),
            models.Index(
                fields=["responsible", "state", "updated_at", "id"], name="case_resp_state"
            ),
            models.Index(
                fields=["section", "state", "updated_at", "id"], name="case_section_state"
            ),
            models.Index(fields=["state", "closed_at"], name="case_state_closed"),
            models.Index(fields=["partner", "updated_at", "id"], name="case_partner"),
            models.Index(
                fields=["section", "case_type", "stage"],
                name="case_kanban",
                condition=Q(state__in=["draft", "open", "pending"]),
            ),
            models.Index(
                fields=["scheduled_start"],
                name="case_scheduled",
                condition=Q(scheduled_start__isnull=False),
            ),
            models.Index(
                fields=["deadline"], name="case_deadline", condition=Q(deadline__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def reference(self) -> str:
        return f"#{self.number}"

    @property
    def is_closed(self) -> bool:
        return self.state in CLOSED_STATES

    @property
    def is_late(self) -> bool:
        return bool(self.deadline and not self.is_closed and self.deadline < timezone.now())

    @property
    def weighted_revenue(self) -> object:
        if self.planned_revenue is None or self.probability is None:
            return None
        return self.planned_revenue * self.probability / 100

    @property
    def duration(self) -> object:
        if self.scheduled_start and self.scheduled_end:
            return self.scheduled_end - self.scheduled_start
        return None


class CaseNumber(models.Model):
    """The case-number counter on SQLite (PostgreSQL uses a sequence).

    SQLite transactions are serialised (BEGIN IMMEDIATE), so one row updated
    with RETURNING is safe there.
    """

    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)


class Watcher(models.Model):
    """Someone who follows a case: a user, or a free email address (Cc)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="watchers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="watching",
    )
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "user"], condition=Q(user__isnull=False), name="watcher_user"
            ),
            models.UniqueConstraint(
                fields=["case", "email"], condition=~Q(email=""), name="watcher_email"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(email=""), name="watcher_user_or_email"
            ),
        ]

    def __str__(self) -> str:
        return self.user.display_name if self.user else self.email


class CaseLink(models.Model):
    """A link from a case to any other record (a partner, a case, later an order)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    target_id = models.PositiveBigIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "target_type", "target_id"], name="caselink_unique"
            )
        ]
        indexes = [models.Index(fields=["target_type", "target_id"], name="caselink_target")]

    def __str__(self) -> str:
        return f"{self.case} → {self.target_type.model} {self.target_id}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"cases/{instance.case.number}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    entry = models.ForeignKey(
        TimelineEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to=_attachment_path, max_length=300)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["entry"], name="attachment_entry")]

    def __str__(self) -> str:
        return self.name


class OutboundMessage(models.Model):
    """The outbox: replies, acknowledgements, notifications and relays waiting
    for the email gateway's sender (goodwill.mailgate.outbound).

    The sender claims a row with a conditional update on ``status``, so two
    workers never send the same message.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outbound")
    entry = models.ForeignKey(
        TimelineEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message_id = models.CharField(max_length=250, unique=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.TextField(blank=True)
    from_email = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254, blank=True)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, default="", db_default="")
    attachments: models.ManyToManyField[Attachment, Any] = models.ManyToManyField(
        "Attachment", blank=True, related_name="+"
    )

    class Kind(models.TextChoices):
        REPLY = "reply", "Reply"
        ACK = "ack", "Acknowledgement"
        NOTIFY = "notify", "Notification"
        RELAY = "relay", "Relay"
        ERROR = "error", "Error report"
        AUTO = "auto", "Rule email"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REPLY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_due"),
            models.Index(fields=["entry"], name="outbound_entry"),
        ]

    def __str__(self) -> str:
        return self.message_id


class SavedFilter(models.Model):
    """A user's own named case search (the built-in ones are in selectors)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_filters"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                name="savedfilter_unique_name",
                violation_error_message="You already have a filter with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name
