"""The business-partner master: companies and people, and what we know of them.

Models hold data and small derived properties only. Every change goes through
``goodwill.partners.services``; reads that views share are in ``selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.conf.global_settings import LANGUAGES
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField

from goodwill.lib.jobs import BackgroundJob
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.lib.phones import phone_display

LANGUAGE_CHOICES = sorted(LANGUAGES, key=lambda item: item[1])


class Category(models.Model):
    """A hierarchical label: "Industry / Manufacturing / Automotive"."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="partners_category_unique_name_in_parent",
                nulls_distinct=False,
                violation_error_message="A category with this name already exists here.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """A company or a person that the business deals with."""

    class Kind(models.TextChoices):
        COMPANY = "company", "Company"
        PERSON = "person", "Person"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        WEB = "web", "Website"
        REFERRAL = "referral", "Referral"
        CAMPAIGN = "campaign", "Campaign"
        EVENT = "event", "Event or fair"
        SOCIAL = "social", "Social media"
        PARTNER = "partner", "Reseller or partner"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
        verbose_name="parent company",
    )
    is_customer = models.BooleanField("customer", default=False)
    is_supplier = models.BooleanField("supplier", default=False)
    is_employee = models.BooleanField("employee", default=False)
    is_prospect = models.BooleanField("prospect", default=False)
    categories = models.ManyToManyField(Category, blank=True, related_name="partners")
    website = models.URLField(max_length=300, blank=True)
    vat = models.CharField("VAT / tax id", max_length=32, blank=True)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    state_of_mind = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="0 (unhappy) to 1 (delighted); computed by segmentation.",
    )
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Kept up to date by the services, so lists and search need no joins.
    email = models.CharField("primary email", max_length=254, blank=True)
    phone = models.CharField("primary phone", max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = CountryField(blank=True)
    name_key = models.CharField(max_length=200, blank=True, db_index=True)
    search_text = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("archive_partner", "Can archive and restore partners"),
            ("merge_partner", "Can merge partners"),
            ("export_partner", "Can export partners"),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="partner_name_id"),
            models.Index(fields=["created_at", "id"], name="partner_created_id"),
            models.Index(fields=["updated_at", "id"], name="partner_updated_id"),
            models.Index(fields=["country", "name", "id"], name="partner_country_name"),
            models.Index(fields=["email"], name="partner_email"),
            models.Index(fields=["phone"], name="partner_phone"),
            # Rare flags: without these, a filter that matches few rows walks the
            # whole name index (1 s at 1M partners for an empty result).
            models.Index(
                fields=["name", "id"], condition=Q(is_employee=True), name="partner_employee_name"
            ),
            models.Index(
                fields=["name", "id"], condition=Q(active=False), name="partner_archived_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_company(self) -> bool:
        return self.kind == self.Kind.COMPANY

    @property
    def roles(self) -> list[str]:
        flags = [
            ("customer", self.is_customer),
            ("supplier", self.is_supplier),
            ("employee", self.is_employee),
            ("prospect", self.is_prospect),
        ]
        return [name for name, on in flags if on]

    @property
    def phone_display(self) -> str:
        return phone_display(self.phone) if self.phone else ""


class PartnerEmail(models.Model):
    class Kind(models.TextChoices):
        WORK = "work", "Work"
        HOME = "home", "Home"
        BILLING = "billing", "Billing"
        OTHER = "other", "Other"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(max_length=254, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORK)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "email"], name="partner_email_unique")
        ]

    def __str__(self) -> str:
        return self.email


class PartnerPhone(models.Model):
    class Kind(models.TextChoices):
        WORK = "work", "Work"
        MOBILE = "mobile", "Mobile"
        HOME = "home", "Home"
        FAX = "fax", "Fax"
        OTHER = "other", "Other"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, db_index=True, help_text="E.164")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORK)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "number"], name="partner_phone_unique")
        ]

    def __str__(self) -> str:
        return phone_display(self.number)

    @property
    def display(self) -> str:
        return phone_display(self.number)


class Address(models.Model):
    class Kind(models.TextChoices):
        CONTACT = "contact", "Contact"
        INVOICE = "invoice", "Invoice"
        DELIVERY = "delivery", "Delivery"
        OTHER = "other", "Other"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CONTACT)
    street = models.CharField(max_length=200, blank=True)
    street2 = models.CharField(max_length=200, blank=True)
    zip = models.CharField("postcode", max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state / region", max_length=100, blank=True)
    country = CountryField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return ", ".join(self.lines) or "(empty address)"

    @property
    def lines(self) -> list[str]:
        city_line = " ".join(part for part in (self.zip, self.city) if part)
        parts = [self.street, self.street2, city_line, self.state]
        if self.country:
            parts.append(str(self.country.name))  # type: ignore[attr-defined]
        return [p for p in parts if p]


class Membership(models.Model):
    """A person's place at a company: the person is one of the company's contacts."""

    person = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="members")
    job_title = models.CharField(max_length=120, blank=True)
    department = models.CharField(max_length=120, blank=True)
    work_email = models.CharField(max_length=254, blank=True)
    work_phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "company"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["company", "person"], name="membership_company_person")]

    def __str__(self) -> str:
        return f"{self.person} at {self.company}"

    @property
    def work_phone_display(self) -> str:
        return phone_display(self.work_phone) if self.work_phone else ""


class TimelineEntry(models.Model):
    """One event in the append-only history of a subject (a partner, later a case).

    ``partner`` is the partner whose page shows the entry: for a partner's own
    entries it is the subject itself; a case's entries carry the case's partner.
    """

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        EMAIL_IN = "email_in", "Email received"
        EMAIL_OUT = "email_out", "Email sent"
        STATE_CHANGE = "state_change", "State change"
        FIELD_CHANGE = "field_change", "Change"
        SYSTEM = "system", "System"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal only"

    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="timeline"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    action = models.CharField(
        max_length=40, blank=True, help_text="What happened, e.g. created, archived, merged."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(blank=True)
    changes = models.JSONField(default=list, blank=True)
    via = models.CharField(
        max_length=150,
        blank=True,
        default="",
        db_default="",
        help_text="What acted when no user did, e.g. a rule.",
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [
            models.Index(fields=["partner", "-created_at", "-id"], name="timeline_partner"),
            models.Index(
                fields=["subject_type", "subject_id", "-created_at", "-id"],
                name="timeline_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def action_label(self) -> str:
        """A short phrase for the entry's meta line: "edited", "contact added"."""
        labels = {
            "updated": "edited",
            "contact_updated": "contact edited",
            "open": "opened",
            "pending": "set pending",
            "close": "closed",
            "cancel": "cancelled",
            "reset": "reset to draft",
            "reply": "replied",
            "expense_submitted": "submitted for approval",
            "expense_approved": "approved the expense",
            "expense_rejected": "rejected the expense",
        }
        if self.action:
            return labels.get(self.action, self.action.replace("_", " "))
        return self.get_kind_display().lower()


class PartnerExport(BackgroundJob):
    """A CSV or XLSX file of partners, built in the worker from a list's filters."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    format = models.CharField(max_length=4, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Partner export #{self.pk} ({self.format})"

    @property
    def filename(self) -> str:
        stamp = timezone.localtime(self.created_at).strftime("%Y%m%d-%H%M")
        return f"partners-{stamp}.{self.format}"
