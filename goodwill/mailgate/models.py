"""The email gateway's records: what came in, where from, and who bounces.

The outbox itself (:class:`goodwill.cases.models.OutboundMessage`) lives with
the cases, since replies are queued by the case services; the gateway sends it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from goodwill.cases.models import Case, CaseType, Section
from goodwill.partners.models import TimelineEntry


def _raw_path(instance: InboundMessage, filename: str) -> str:
    now = timezone.now()
    return f"mail/inbound/{now:%Y/%m/%d}/{instance.sha256[:2]}/{instance.sha256}.eml"


class SectionMail(models.Model):
    """How the gateway treats mail for one section."""

    section = models.OneToOneField(Section, on_delete=models.CASCADE, related_name="mail")
    case_type = models.ForeignKey(
        CaseType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The type of the cases that mail opens (default: Helpdesk request).",
    )
    acknowledge = models.BooleanField(
        "acknowledge new cases",
        default=True,
        help_text="Thank the sender of a new case with its number.",
    )
    ack_subject = models.CharField(
        "acknowledgement subject",
        max_length=200,
        default="We received your request: {subject}",
        help_text="Placeholders: {number}, {subject}, {section}, {name}. The tag is added.",
    )
    ack_body = models.TextField(
        "acknowledgement text",
        default=(
            "Hello {name},\n\n"
            "Thank you for writing to us. Your request is now case #{number} "
            "({subject}).\n\n"
            "Reply to this message to add to it; keep the case number in the subject.\n\n"
            "{section}"
        ),
        help_text="Placeholders: {number}, {subject}, {section}, {name}.",
    )
    ack_template = models.ForeignKey(
        "automation.EmailTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A named email template for the acknowledgement, in the customer's "
        "language; when set, it replaces the subject and text above.",
    )
    notify = models.BooleanField(
        "notify staff",
        default=True,
        help_text="Mail the responsible person and the staff watchers when a message arrives.",
    )
    relay = models.BooleanField(
        "relay messages",
        default=False,
        help_text="Forward each incoming message to the case's other participants "
        "(requester and watchers not already in From, To or Cc).",
    )
    notify_template = models.ForeignKey(
        "automation.EmailTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A named email template for staff notifications (new messages and "
        "internal notes); empty: the built-in text.",
    )
    relay_template = models.ForeignKey(
        "automation.EmailTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A named email template for relayed messages, in the participant's "
        "language; empty: the message as written.",
    )
    create_contacts = models.BooleanField(
        "unknown senders become contacts",
        default=True,
        help_text="Create a prospect for a sender with an address Goodwill does not know.",
    )

    def __str__(self) -> str:
        return f"Mail settings of {self.section}"


class InboundAddress(models.Model):
    """An address whose mail opens cases in a section (besides the section's own)."""

    address = models.CharField(max_length=254, unique=True)
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="inbound_addresses")

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class Mailbox(models.Model):
    """An IMAP mailbox that the scheduler polls."""

    class Security(models.TextChoices):
        TLS = "tls", "TLS (port 993)"
        STARTTLS = "starttls", "STARTTLS (port 143)"
        NONE = "none", "None (trusted networks only)"

    class After(models.TextChoices):
        MOVE = "move", "Move to a folder"
        FLAG = "flag", "Flag as seen"

    name = models.CharField(max_length=100)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.TLS)
    username = models.CharField(max_length=255)
    password = models.CharField(max_length=255, blank=True)
    folder = models.CharField(max_length=255, default="INBOX")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="mailboxes")
    after = models.CharField(
        "after processing", max_length=10, choices=After.choices, default=After.FLAG
    )
    move_to = models.CharField("move to folder", max_length=255, blank=True)
    interval = models.PositiveIntegerField(
        "poll every (seconds)", default=60, help_text="At least 10."
    )
    active = models.BooleanField(default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_poll_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    fetched_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.name


class InboundMessage(models.Model):
    """One message as it arrived: the raw bytes first, then what became of it."""

    class Source(models.TextChoices):
        PIPE = "pipe", "Pipe (MTA)"
        IMAP = "imap", "IMAP"
        SMTP = "smtp", "SMTP/LMTP"
        WEB = "web", "Simulated in the UI"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        QUARANTINED = "quarantined", "Quarantined"

    raw = models.FileField(upload_to=_raw_path, max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    message_id = models.CharField(max_length=250, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    section = models.ForeignKey(
        Section,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The section the door delivered to (pipe --section, mailbox, SMTP recipient).",
    )
    envelope_to = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(blank=True, help_text="Why it was ignored or quarantined.")
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Filled by the parser, for lists and the case page.
    from_email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitised.")
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    entry = models.ForeignKey(
        TimelineEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["sha256", "message_id"], name="inbound_once"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status"),
            models.Index(fields=["message_id"], name="inbound_message_id"),
            models.Index(fields=["entry"], name="inbound_entry"),
        ]

    def __str__(self) -> str:
        return self.message_id or f"inbound #{self.pk}"


class MessageRef(models.Model):
    """A Message-ID a case has received (or that a relay rewrote), for threading.

    Sent Message-IDs are the outbox's own; received ones, and the aliases that
    Gmail or SES put in X-*-Original-Message-ID, are recorded here.
    """

    message_id = models.CharField(max_length=250)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["message_id"], name="messageref_id")]

    def __str__(self) -> str:
        return self.message_id


class Suppression(models.Model):
    """An address that bounces: no automatic mail goes to it until it is cleared."""

    email = models.CharField(max_length=254, unique=True)
    reason = models.CharField(max_length=300, blank=True)
    status = models.CharField("DSN status", max_length=20, blank=True)
    bounce_count = models.PositiveIntegerField(default=1)
    report = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_bounce_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_bounce_at", "id"]

    def __str__(self) -> str:
        return self.email


class AutoMessageLog(models.Model):
    """One automatic message (acknowledgement, notification, relay) to an address,
    for the per-address hourly limit."""

    email = models.CharField(max_length=254)
    kind = models.CharField(max_length=10)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["email", "created_at"], name="automessage_rate")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.email}"


class LocalMail(models.Model):
    """A message "sent" in demo mode (EMAIL_URL=local:): kept for administrators
    to read in the UI instead of leaving the machine."""

    from_email = models.CharField(max_length=254)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    message_id = models.CharField(max_length=250, blank=True)
    raw = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject
